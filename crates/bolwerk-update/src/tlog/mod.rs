//! The transparency log: every published targets metadata is a leaf of an
//! append-only Merkle tree, so a pack made for one victim is visible to all.
//!
//! * [`merkle`]: RFC 6962 hashing, inclusion and consistency proofs.
//! * [`note`]: signed notes, checkpoints, witness cosignatures (C2SP).
//! * [`LogWriter`]: the log kept in a pack repository (`REPO/log/`):
//!   `leaves` (one hex leaf hash per line), `checkpoint` (the signed note of
//!   the current tree, with witness cosignatures appended), and
//!   `consistency/M.json` (a proof from size *M* to the current size, for
//!   every earlier size). `pack publish` appends the canonical JSON of the
//!   targets role it publishes and stores the inclusion proof beside the
//!   metadata as `metadata/N.targets.tlog.json`.
//! * [`witness_cosign`]: what a witness runs: it checks that the log's new
//!   checkpoint is signed and consistent with the last one it cosigned, and
//!   only then adds its cosignature. Two checkpoints of one size with
//!   different roots (a fork) are refused.
//! * [`Policy`] and [`check_policy`]: what `update` can demand: the pack's
//!   inclusion in a checkpoint signed by the log key, *k* witness
//!   cosignatures, and consistency with the checkpoint it accepted last.

pub mod merkle;
pub mod note;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::fsutil;
use crate::keys::{self, KeyPair};
use merkle::Hash;
use note::{Checkpoint, Note, VerifierKey, ALG_ED25519};

/// The most leaves a log may have (one per published pack).
const MAX_LEAVES: usize = 1 << 20;
/// A proof file larger than this is refused.
const MAX_PROOF: u64 = 64 * 1024;
/// Name of the last accepted checkpoint in an update state directory.
pub const SEEN_CHECKPOINT: &str = "checkpoint";

fn log_err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Log, msg)
}

/// An inclusion proof as stored beside the metadata.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index of the leaf.
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// The audit path, hex.
    pub proof: Vec<String>,
}

/// A consistency proof as stored in `log/consistency/M.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof, hex.
    pub proof: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LogConfig {
    origin: String,
    vkey: String,
}

/// The leaf a targets role becomes: its canonical JSON, what signers sign.
pub fn targets_leaf(targets: &tough::schema::Targets) -> Result<Hash> {
    use tough::schema::Role;
    let data = targets
        .canonical_form()
        .map_err(|e| Error::new(ErrorKind::Format, format!("canonical JSON: {e}")))?;
    Ok(merkle::leaf_hash(&data))
}

/// The log kept in a pack repository.
#[derive(Debug, Clone)]
pub struct LogWriter {
    dir: PathBuf,
}

impl LogWriter {
    /// Starts a log named `origin` signed with `key`; returns its verifier key.
    pub fn init(dir: &Path, origin: &str, key: &KeyPair) -> Result<VerifierKey> {
        let vkey = VerifierKey::new(origin, ALG_ED25519, key)?;
        if dir.join("config.json").exists() {
            return Err(Error::new(ErrorKind::Usage, "a log already exists here").with_path(dir));
        }
        std::fs::create_dir_all(dir.join("consistency")).map_err(|e| Error::io(dir, e))?;
        let config = LogConfig {
            origin: origin.to_string(),
            vkey: vkey.to_vkey(),
        };
        let json = serde_json::to_vec_pretty(&config).expect("config serialises");
        fsutil::write_atomic(&dir.join("config.json"), &json)?;
        fsutil::write_atomic(&dir.join("leaves"), b"")?;
        Ok(vkey)
    }

    /// Opens the log in `dir`, if there is one.
    pub fn open(dir: &Path) -> Option<LogWriter> {
        dir.join("config.json").is_file().then(|| LogWriter {
            dir: dir.to_path_buf(),
        })
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> Result<VerifierKey> {
        let cfg: LogConfig = crate::pack::read_json(&self.dir.join("config.json"))?;
        VerifierKey::parse(&cfg.vkey)
    }

    /// Appends a leaf, signs the new checkpoint, and writes the proofs.
    pub fn append(&self, leaf: Hash, key: &KeyPair) -> Result<(InclusionProof, Note)> {
        let vkey = self.verifier()?;
        if VerifierKey::new(&vkey.name, ALG_ED25519, key)? != vkey {
            return Err(Error::new(ErrorKind::Usage, "this is not the log's key"));
        }
        let mut leaves = read_leaves(&self.dir.join("leaves"))?;
        leaves.push(leaf);
        let size = leaves.len();
        let cp = Checkpoint {
            origin: vkey.name.clone(),
            size: size as u64,
            root: merkle::root(&leaves),
        };
        let note = Note::sign(&cp.to_text(), &vkey, key);
        for m in 1..size {
            let proof = ConsistencyProof {
                from: m as u64,
                to: size as u64,
                proof: hexes(&merkle::consistency_proof(m, &leaves)),
            };
            let json = serde_json::to_vec(&proof).expect("proof serialises");
            fsutil::write_atomic(
                &self.dir.join("consistency").join(format!("{m}.json")),
                &json,
            )?;
        }
        let text: String = leaves.iter().map(|l| keys::hex(l) + "\n").collect();
        fsutil::write_atomic(&self.dir.join("leaves"), text.as_bytes())?;
        fsutil::write_atomic(&self.dir.join("checkpoint"), note.to_text().as_bytes())?;
        let inclusion = InclusionProof {
            leaf_index: (size - 1) as u64,
            tree_size: size as u64,
            proof: hexes(&merkle::inclusion_proof(size - 1, &leaves)),
        };
        Ok((inclusion, note))
    }
}

fn read_leaves(path: &Path) -> Result<Vec<Hash>> {
    let data = fsutil::read_bounded(path, (MAX_LEAVES * 65) as u64)?;
    let text =
        String::from_utf8(data).map_err(|_| log_err("leaves file is not text").with_path(path))?;
    text.lines()
        .enumerate()
        .map(|(i, l)| unhex(l).map_err(|e| e.with_path(path).with_line(i + 1)))
        .collect()
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| keys::hex(h)).collect()
}

fn unhex(s: &str) -> Result<Hash> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(log_err(format!("{s:?} is not a SHA-256 hash in hex")));
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("checked hex");
    }
    Ok(out)
}

fn unhex_all(v: &[String]) -> Result<Vec<Hash>> {
    if v.len() > 64 {
        return Err(log_err("proof longer than any tree allows"));
    }
    v.iter().map(|s| unhex(s)).collect()
}

/// Checks that `new` extends `old` using `proof` (sizes taken from the checkpoints).
pub fn check_consistency(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: Option<&ConsistencyProof>,
) -> Result<()> {
    if new.size < old.size {
        return Err(log_err(format!(
            "the log went back from size {} to {}: refusing a rolled-back log",
            old.size, new.size
        )));
    }
    if new.size == old.size {
        return if new.root == old.root {
            Ok(())
        } else {
            Err(log_err(format!(
                "forked log: two checkpoints of size {} with different roots",
                new.size
            )))
        };
    }
    let proof = proof.ok_or_else(|| {
        log_err(format!(
            "no consistency proof from size {} to {}",
            old.size, new.size
        ))
    })?;
    let hashes = unhex_all(&proof.proof)?;
    if proof.from != old.size
        || proof.to != new.size
        || !merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &hashes)
    {
        return Err(log_err(format!(
            "the log at size {} is not consistent with the checkpoint of size {} seen before (forked or rewritten log)",
            new.size, old.size
        )));
    }
    Ok(())
}

/// Reads and verifies a log checkpoint note.
pub fn read_checkpoint(data: &[u8], log: &VerifierKey) -> Result<(Note, Checkpoint)> {
    let note = Note::parse(data)?;
    if !note.verified_by(log) {
        return Err(log_err(format!(
            "checkpoint is not signed by the log key {}",
            log.name
        )));
    }
    let cp = Checkpoint::parse(&note.text)?;
    if cp.origin != log.name {
        return Err(log_err(format!(
            "checkpoint is for log {:?}, not {:?}",
            cp.origin, log.name
        )));
    }
    Ok((note, cp))
}

/// What a witness runs: verify the log's current checkpoint against the
/// last one this witness cosigned (kept in `state`), then cosign it.
pub fn witness_cosign(
    log_dir: &Path,
    log: &VerifierKey,
    witness: &VerifierKey,
    pair: &KeyPair,
    state: &Path,
    time: u64,
) -> Result<Checkpoint> {
    let path = log_dir.join("checkpoint");
    let data = fsutil::read_bounded(&path, note::MAX_NOTE as u64)?;
    let (mut note, cp) = read_checkpoint(&data, log).map_err(|e| e.with_path(&path))?;
    if let Some(old) = read_seen(state, log)? {
        let proof = if cp.size > old.size {
            Some(read_proof(
                &log_dir
                    .join("consistency")
                    .join(format!("{}.json", old.size)),
            )?)
        } else {
            None
        };
        check_consistency(&old, &cp, proof.as_ref())?;
    }
    note.cosign(witness, pair, time);
    fsutil::write_atomic(&path, note.to_text().as_bytes())?;
    fsutil::write_atomic(state, &data)?;
    Ok(cp)
}

fn read_seen(path: &Path, log: &VerifierKey) -> Result<Option<Checkpoint>> {
    if !path.exists() {
        return Ok(None);
    }
    let data = fsutil::read_bounded(path, note::MAX_NOTE as u64)?;
    read_checkpoint(&data, log)
        .map(|(_, cp)| Some(cp))
        .map_err(|e| e.with_path(path))
}

fn read_proof<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let data = fsutil::read_bounded(path, MAX_PROOF)?;
    serde_json::from_slice(&data).map_err(|e| log_err(format!("bad proof: {e}")).with_path(path))
}

/// What `update` demands of the log (from a TOML file).
///
/// ```toml
/// [log]
/// key = "packs.example/log+1a2b3c4d+AQ..."   # the log's verifier key
/// witnesses = ["witness.example/w1+...+BA...", "..."]
/// witness_threshold = 1
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    /// The log's verifier key; its name is the log's origin.
    pub log: VerifierKey,
    /// Witness cosigner keys.
    pub witnesses: Vec<VerifierKey>,
    /// How many distinct witnesses must have cosigned.
    pub witness_threshold: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    log: LogSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    key: String,
    #[serde(default)]
    witnesses: Vec<String>,
    #[serde(default)]
    witness_threshold: usize,
}

impl Policy {
    /// Reads a policy file.
    pub fn read(path: &Path) -> Result<Policy> {
        let data = fsutil::read_bounded(path, 1024 * 1024)?;
        let text = String::from_utf8(data)
            .map_err(|_| Error::new(ErrorKind::Format, "not UTF-8").with_path(path))?;
        Policy::parse(&text).map_err(|e| e.with_path(path))
    }

    /// Parses policy TOML.
    pub fn parse(text: &str) -> Result<Policy> {
        let file: PolicyFile = toml::from_str(text)
            .map_err(|e| Error::new(ErrorKind::Format, format!("policy: {e}")))?;
        let witnesses = file
            .log
            .witnesses
            .iter()
            .map(|w| VerifierKey::parse(w))
            .collect::<Result<Vec<_>>>()?;
        if file.log.witness_threshold > witnesses.len() {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "policy: witness_threshold {} with {} witness key(s)",
                    file.log.witness_threshold,
                    witnesses.len()
                ),
            ));
        }
        Ok(Policy {
            log: VerifierKey::parse(&file.log.key)?,
            witnesses,
            witness_threshold: file.log.witness_threshold,
        })
    }
}

/// A log check that passed: what to report and the checkpoint to keep.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// One line per check.
    pub lines: Vec<String>,
    /// The checkpoint note, to store once the update is committed.
    pub checkpoint: Vec<u8>,
}

/// The files of the log a client reads, already fetched (bounded).
#[derive(Debug, Clone)]
pub struct LogFiles {
    /// `log/checkpoint`.
    pub checkpoint: Vec<u8>,
    /// `metadata/N.targets.tlog.json`, if present.
    pub inclusion: Option<Vec<u8>>,
    /// `log/consistency/M.json` for the size last seen, if needed and present.
    pub consistency: Option<Vec<u8>>,
}

/// Checks `targets` against the policy, given the log files and the
/// checkpoint accepted last (`seen`).
pub fn check_policy(
    policy: &Policy,
    targets: &tough::schema::Targets,
    files: &LogFiles,
    seen: Option<&Checkpoint>,
) -> Result<Accepted> {
    let (note, cp) = read_checkpoint(&files.checkpoint, &policy.log)?;
    let mut lines = vec![format!(
        "checkpoint of {} signed by the log: size {}",
        cp.origin, cp.size
    )];
    let cosigned: Vec<&str> = policy
        .witnesses
        .iter()
        .filter(|w| note.cosigned_by(w).is_some())
        .map(|w| w.name.as_str())
        .collect();
    if cosigned.len() < policy.witness_threshold {
        return Err(log_err(format!(
            "{} of the {} required witness cosignatures on the log checkpoint",
            cosigned.len(),
            policy.witness_threshold
        )));
    }
    if !cosigned.is_empty() {
        lines.push(format!("cosigned by {}", cosigned.join(", ")));
    }
    let version = targets.version;
    let inclusion: InclusionProof = files
        .inclusion
        .as_deref()
        .ok_or_else(|| {
            log_err(format!(
                "targets v{version} has no inclusion proof: the pack is not in the log"
            ))
        })
        .and_then(|d| {
            serde_json::from_slice(d).map_err(|e| log_err(format!("bad inclusion proof: {e}")))
        })?;
    let leaf = targets_leaf(targets)?;
    let proof = unhex_all(&inclusion.proof)?;
    if inclusion.tree_size != cp.size
        || !merkle::verify_inclusion(inclusion.leaf_index, cp.size, &leaf, &proof, &cp.root)
    {
        return Err(log_err(format!(
            "targets v{version} is not in the log at size {}: refusing a pack the log does not show",
            cp.size
        )));
    }
    lines.push(format!(
        "targets v{version} is leaf {} of the log",
        inclusion.leaf_index
    ));
    if let Some(old) = seen {
        let proof: Option<ConsistencyProof> = match &files.consistency {
            Some(d) => Some(
                serde_json::from_slice(d)
                    .map_err(|e| log_err(format!("bad consistency proof: {e}")))?,
            ),
            None => None,
        };
        check_consistency(old, &cp, proof.as_ref())?;
        lines.push(format!(
            "consistent with the checkpoint of size {} seen before",
            old.size
        ));
    }
    Ok(Accepted {
        lines,
        checkpoint: files.checkpoint.clone(),
    })
}

/// The checkpoint accepted by the last update, if any.
pub fn read_seen_checkpoint(state: &Path, log: &VerifierKey) -> Result<Option<Checkpoint>> {
    read_seen(&state.join(SEEN_CHECKPOINT), log)
}
