//! Container metadata signatures (`.cdb`), matched against what a container
//! records about each member: one `RegexSet` pass over the member's name
//! picks the signatures whose name expression matches, then their numeric
//! conditions are checked. A member that is encrypted is checked too,
//! though its bytes are never read.

use bolwerk_sigs::{ContainerSig, NameId};
use regex::RegexSet;

/// A member of a container, as container metadata signatures see it.
#[derive(Clone, Debug, Default)]
pub struct Member<'a> {
    /// The container's type, as ClamAV names it (`CL_TYPE_ZIP` …).
    pub container: &'a str,
    /// The container's size in bytes.
    pub container_size: u64,
    /// The member's name in the container.
    pub name: Option<&'a str>,
    /// Bytes it takes in the container, when the format records it.
    pub packed_size: Option<u64>,
    /// Its real (extracted) size.
    pub real_size: u64,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// Its position in the container, counting from 1.
    pub position: u64,
    /// The CRC-32 the container records for it.
    pub crc32: Option<u32>,
}

/// The compiled container metadata signatures.
#[derive(Debug, Default)]
pub(crate) struct ContainerMatcher {
    sigs: Vec<ContainerSig>,
    /// Name expressions, and the signature each belongs to.
    names: Option<RegexSet>,
    named: Vec<usize>,
    /// Signatures without a name expression.
    unnamed: Vec<usize>,
}

impl ContainerMatcher {
    /// Compile; returns the matcher and how many signatures were refused
    /// (name expressions the set cannot hold).
    pub(crate) fn build(sigs: Vec<ContainerSig>) -> (ContainerMatcher, u64) {
        let mut patterns = Vec::new();
        let (mut named, mut unnamed) = (Vec::new(), Vec::new());
        for (i, s) in sigs.iter().enumerate() {
            match &s.name_regex {
                Some(r) => {
                    patterns.push(r.clone());
                    named.push(i);
                }
                None => unnamed.push(i),
            }
        }
        let mut refused = 0;
        let names = if patterns.is_empty() {
            None
        } else {
            match RegexSet::new(&patterns) {
                Ok(set) => Some(set),
                Err(_) => {
                    // One expression too large for the set: leave the named
                    // signatures out rather than the whole database.
                    refused = named.len() as u64;
                    named.clear();
                    None
                }
            }
        };
        let m = ContainerMatcher {
            sigs,
            names,
            named,
            unnamed,
        };
        (m, refused)
    }

    pub(crate) fn len(&self) -> usize {
        self.named.len() + self.unnamed.len()
    }

    /// The signatures that match `m`, in signature order; the first only
    /// unless `all`.
    pub(crate) fn scan(&self, m: &Member<'_>, all: bool) -> Vec<NameId> {
        let mut candidates = self.unnamed.clone();
        if let (Some(set), Some(name)) = (&self.names, m.name) {
            candidates.extend(set.matches(name).iter().map(|i| self.named[i]));
        }
        candidates.sort_unstable();
        let mut found = candidates
            .into_iter()
            .map(|i| &self.sigs[i])
            .filter(|s| applies(s, m))
            .map(|s| s.name);
        if all {
            found.collect()
        } else {
            found.next().into_iter().collect()
        }
    }
}

fn applies(s: &ContainerSig, m: &Member<'_>) -> bool {
    let within = |r: Option<(u64, u64)>, v: u64| r.is_none_or(|(lo, hi)| lo <= v && v <= hi);
    // Formats that record no packed size store members as they are.
    let packed = m.packed_size.unwrap_or(m.real_size);
    s.container.as_deref().is_none_or(|c| c == m.container)
        && within(s.container_size, m.container_size)
        && within(s.size_in, packed)
        && within(s.size_real, m.real_size)
        && s.encrypted.is_none_or(|e| e == m.encrypted)
        && within(s.position, m.position)
    // `Res1` (the CRC) is documented for zip and RAR but ClamAV 1.4.6 does
    // not compare it (measured: a wrong CRC still matches); neither does
    // bolwerk, so that the same members are reported.
}
