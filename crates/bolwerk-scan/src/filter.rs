//! Which paths to scan: include and exclude patterns.
//!
//! The native CLI takes globs; clamscan's `--include`/`--exclude` take
//! regular expressions matched anywhere in the path. Both become a
//! [`PathFilter`].

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::RegexSet;

/// One kind of pattern list.
#[derive(Clone, Debug)]
enum Patterns {
    Globs(GlobSet),
    Regexes(RegexSet),
}

impl Patterns {
    fn is_match(&self, path: &Path) -> bool {
        match self {
            Patterns::Globs(g) => {
                g.is_match(path) || path.file_name().is_some_and(|n| g.is_match(n))
            }
            Patterns::Regexes(r) => r.is_match(&path.to_string_lossy()),
        }
    }
}

/// Include and exclude patterns for files, and exclude patterns for
/// directories.
#[derive(Clone, Debug, Default)]
pub struct PathFilter {
    include: Option<Patterns>,
    exclude: Option<Patterns>,
    exclude_dir: Option<Patterns>,
}

/// A pattern that did not compile.
#[derive(Debug)]
pub struct PatternError(pub String);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatternError {}

fn globs(list: &[String]) -> Result<Option<Patterns>, PatternError> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in list {
        b.add(Glob::new(g).map_err(|e| PatternError(format!("glob '{g}': {e}")))?);
    }
    let set = b.build().map_err(|e| PatternError(e.to_string()))?;
    Ok(Some(Patterns::Globs(set)))
}

fn regexes(list: &[String]) -> Result<Option<Patterns>, PatternError> {
    if list.is_empty() {
        return Ok(None);
    }
    let set = RegexSet::new(list).map_err(|e| PatternError(format!("regex: {e}")))?;
    Ok(Some(Patterns::Regexes(set)))
}

impl PathFilter {
    /// A filter from globs (matched against the whole path or the file name).
    pub fn from_globs(include: &[String], exclude: &[String]) -> Result<Self, PatternError> {
        Ok(PathFilter {
            include: globs(include)?,
            exclude: globs(exclude)?,
            exclude_dir: None,
        })
    }

    /// A filter from clamscan-style regular expressions.
    pub fn from_regexes(
        include: &[String],
        exclude: &[String],
        exclude_dir: &[String],
    ) -> Result<Self, PatternError> {
        Ok(PathFilter {
            include: regexes(include)?,
            exclude: regexes(exclude)?,
            exclude_dir: regexes(exclude_dir)?,
        })
    }

    /// Whether a file is to be scanned.
    pub fn allows_file(&self, path: &Path) -> bool {
        let excluded = self.exclude.as_ref().is_some_and(|p| p.is_match(path));
        let included = self.include.as_ref().is_none_or(|p| p.is_match(path));
        included && !excluded
    }

    /// Whether a directory is to be entered.
    pub fn allows_dir(&self, path: &Path) -> bool {
        !self.exclude_dir.as_ref().is_some_and(|p| p.is_match(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_regexes() {
        let f = PathFilter::from_globs(&[], &["*.log".into()]).unwrap();
        assert!(!f.allows_file(Path::new("/var/x/a.log")));
        assert!(f.allows_file(Path::new("/var/x/a.txt")));
        let f = PathFilter::from_globs(&["*.exe".into()], &[]).unwrap();
        assert!(f.allows_file(Path::new("d/clam.exe")));
        assert!(!f.allows_file(Path::new("d/clam.txt")));
        let f = PathFilter::from_regexes(&[], &["eicar".into()], &["^/proc".into()]).unwrap();
        assert!(!f.allows_file(Path::new("./eicar.com")));
        assert!(!f.allows_dir(Path::new("/proc/1")));
        assert!(f.allows_dir(Path::new("/tmp")));
        assert!(PathFilter::from_regexes(&["(".into()], &[], &[]).is_err());
    }
}
