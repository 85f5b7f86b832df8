//! The budget of one scanned object: how many more bytes, files and how
//! much more time its containers may cost, under [`Limits`].
//!
//! A budget is created per top-level object and passed down through every
//! container reader and back to the scan driver's recursion, so the limits
//! hold for the whole tree, not per archive. Zero in a limit means
//! "unlimited", as in ClamAV's configuration.

use std::time::Instant;

use crate::{FileType, Limits};

/// A limit, by ClamAV's name (also the suffix of the heuristic
/// `Heuristics.Limits.Exceeded.<Name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    /// One object larger than `MaxFileSize`.
    MaxFileSize,
    /// More than `MaxScanSize` bytes extracted in total.
    MaxScanSize,
    /// More than `MaxFiles` objects extracted.
    MaxFiles,
    /// Nesting deeper than `MaxRecursion`.
    MaxRecursion,
    /// More time than `MaxScanTime`.
    MaxScanTime,
}

impl Limit {
    /// ClamAV's name of the limit.
    pub fn name(self) -> &'static str {
        match self {
            Limit::MaxFileSize => "MaxFileSize",
            Limit::MaxScanSize => "MaxScanSize",
            Limit::MaxFiles => "MaxFiles",
            Limit::MaxRecursion => "MaxRecursion",
            Limit::MaxScanTime => "MaxScanTime",
        }
    }
}

/// What one object may still cost.
#[derive(Clone, Debug)]
pub struct Budget {
    limits: Limits,
    scanned: u64,
    files: u32,
    deadline: Option<Instant>,
    exceeded: Vec<Limit>,
    encrypted: Vec<FileType>,
}

impl Budget {
    /// A fresh budget under `limits`, its clock starting now.
    pub fn new(limits: &Limits) -> Budget {
        let secs = limits.max_scan_time;
        Budget {
            limits: limits.clone(),
            scanned: 0,
            files: 0,
            deadline: (!secs.is_zero()).then(|| Instant::now() + secs),
            exceeded: Vec::new(),
            encrypted: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many bytes the next extracted object may have, or the limit that
    /// forbids extracting any more.
    pub fn allowance(&self) -> Result<u64, Limit> {
        let l = &self.limits;
        if l.max_files != 0 && self.files >= l.max_files {
            return Err(Limit::MaxFiles);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Limit::MaxScanTime);
        }
        let by_scan = match l.max_scan_size {
            0 => u64::MAX,
            max if self.scanned >= max => return Err(Limit::MaxScanSize),
            max => max - self.scanned,
        };
        let by_file = if l.max_file_size == 0 {
            u64::MAX
        } else {
            l.max_file_size
        };
        Ok(by_scan.min(by_file))
    }

    /// Bytes the object may still extract in total.
    pub fn scan_left(&self) -> u64 {
        match self.limits.max_scan_size {
            0 => u64::MAX,
            max => max.saturating_sub(self.scanned),
        }
    }

    /// The limit to blame when an object of more than `allowance` bytes
    /// was refused.
    pub fn blame(&self, allowance: u64) -> Limit {
        if self.limits.max_file_size != 0 && allowance == self.limits.max_file_size {
            Limit::MaxFileSize
        } else {
            Limit::MaxScanSize
        }
    }

    /// Count an extracted object of `len` bytes.
    pub fn spend(&mut self, len: u64) {
        self.files = self.files.saturating_add(1);
        self.scanned = self.scanned.saturating_add(len);
    }

    /// Whether an object at `depth` (the top-level object is 0) may be
    /// opened further: its children, at `depth + 1`, must stay below
    /// `MaxRecursion` (measured with clamscan 1.4: `--max-recursion=1` does
    /// not open a zip; the default 17 reaches the test file at depth 16 of
    /// `clam_cache_emax.tgz`).
    pub fn may_descend(&self, depth: u32) -> bool {
        self.limits.max_recursion == 0 || depth + 1 < self.limits.max_recursion
    }

    /// Record that a limit cut the scan short.
    pub fn note(&mut self, limit: Limit) {
        if !self.exceeded.contains(&limit) {
            self.exceeded.push(limit);
        }
    }

    /// The limits that cut the scan short, in the order first met.
    pub fn exceeded(&self) -> &[Limit] {
        &self.exceeded
    }

    /// Record that a container of type `ft` held content that could not
    /// be read because it is encrypted.
    pub fn note_encrypted(&mut self, ft: FileType) {
        if !self.encrypted.contains(&ft) {
            self.encrypted.push(ft);
        }
    }

    /// The types of the containers with encrypted content, in the order
    /// first met.
    pub fn encrypted(&self) -> &[FileType] {
        &self.encrypted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_and_blame() {
        let limits = Limits {
            max_file_size: 100,
            max_scan_size: 250,
            max_files: 3,
            ..Limits::default()
        };
        let mut b = Budget::new(&limits);
        assert_eq!(b.allowance(), Ok(100));
        assert_eq!(b.blame(100), Limit::MaxFileSize);
        b.spend(100);
        b.spend(100);
        assert_eq!(b.allowance(), Ok(50));
        assert_eq!(b.blame(50), Limit::MaxScanSize);
        b.spend(50);
        assert_eq!(b.allowance(), Err(Limit::MaxFiles));
        let unlimited = Limits {
            max_file_size: 0,
            max_scan_size: 0,
            max_files: 0,
            max_recursion: 0,
            max_scan_time: std::time::Duration::ZERO,
            max_script_normalize: 0,
            max_html_normalize: 0,
            max_html_notags: 0,
        };
        let b = Budget::new(&unlimited);
        assert_eq!(b.allowance(), Ok(u64::MAX));
        assert!(b.may_descend(1000));
    }
}
