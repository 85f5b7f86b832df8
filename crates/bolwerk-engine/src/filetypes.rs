//! File type rules from the databases (`.ftm`): they type objects before
//! bolwerk's built-in magic does, so a database can add types and override
//! them (ClamAV replaces its built-in list with a database's; bolwerk keeps
//! its own magic for what the rules do not name).
//!
//! Type-0 rules compare bytes at an offset; as in ClamAV, a rule loaded
//! later is tried first. Type-1 rules are body patterns looked for in the
//! first [`TYPE_BUFFER`] bytes of objects typed as text or binary data,
//! in one pass of the body matcher; the match starting first wins.

use bolwerk_sigs::{Anchor, FtmRule, Magic, NameId, Offset};

use crate::body::{BodyMatcher, ObjectContext, Owner, Pattern};

/// How much of an object type-1 rules look at (ClamAV's type buffer).
pub const TYPE_BUFFER: usize = 1024;

/// The compiled rules.
pub(crate) struct FileTypeRules {
    /// Type-0 rules, last loaded first: (offset, bytes, result type).
    direct: Vec<(u64, Vec<u8>, String)>,
    /// Type-1 rules: (required type, result type), by index.
    patterns: Vec<(String, String)>,
    /// Their patterns, owned by `NameId(index)`.
    matcher: BodyMatcher,
}

impl std::fmt::Debug for FileTypeRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FileTypeRules({} direct, {} patterns)",
            self.direct.len(),
            self.patterns.len()
        )
    }
}

impl FileTypeRules {
    pub(crate) fn build(rules: &[FtmRule]) -> FileTypeRules {
        let mut direct = Vec::new();
        let mut patterns = Vec::new();
        let mut compiled = Vec::new();
        for r in rules.iter().rev() {
            match &r.magic {
                Magic::At { offset, bytes } => {
                    direct.push((*offset, bytes.clone(), r.result.clone()))
                }
                Magic::Pattern { offset, tokens } => {
                    let anchor = offset.map_or(Anchor::Any, Anchor::Start);
                    compiled.push(Pattern {
                        tokens: tokens.clone(),
                        offset: Offset { anchor, float: 0 },
                        target: 0,
                        owner: Owner::Body(NameId(patterns.len() as u32)),
                    });
                    patterns.push((r.required.clone(), r.result.clone()));
                }
            }
        }
        let (matcher, _) = BodyMatcher::build(compiled);
        FileTypeRules {
            direct,
            patterns,
            matcher,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.patterns.is_empty()
    }

    /// The type a rule gives `data`, whose built-in type is `current`
    /// (`CL_TYPE_…`); `text_or_binary` when that is text or binary data,
    /// the only types type-1 rules retype.
    pub(crate) fn retype(&self, data: &[u8], current: &str, text_or_binary: bool) -> Option<&str> {
        let direct = self.direct.iter().find(|(offset, bytes, _)| {
            usize::try_from(*offset)
                .ok()
                .and_then(|o| data.get(o..)?.get(..bytes.len()))
                == Some(bytes.as_slice())
        });
        if let Some((_, _, result)) = direct {
            return Some(result);
        }
        if !text_or_binary || self.patterns.is_empty() {
            return None;
        }
        let head = &data[..data.len().min(TYPE_BUFFER)];
        let hits = self.matcher.scan(head, &ObjectContext::default(), true);
        hits.bodies
            .iter()
            .filter(|(id, _)| {
                let (required, _) = &self.patterns[id.0 as usize];
                required == "CL_TYPE_ANY" || required == current
            })
            .min_by_key(|(id, start)| (*start, id.0))
            .map(|(id, _)| self.patterns[id.0 as usize].1.as_str())
    }
}
