//! Counting what a scan did, the way clamscan's summary counts it.

use bolwerk_scan::{Event, Outcome, SkipReason};

/// clamscan counts data in 4 KiB blocks, whole blocks only.
const BLOCK: u64 = 4096;

/// Running totals of one scan.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Directories entered.
    pub dirs: u64,
    /// Files scanned (clean, infected, or passed over for their size).
    pub files: u64,
    /// Files with at least one detection.
    pub infected: u64,
    /// Files that could not be read.
    pub errors: u64,
    /// Named paths that do not exist (clamscan warns and does not count them).
    pub missing: u64,
    /// Bytes of the files scanned.
    pub bytes: u64,
    /// Whole 4 KiB blocks of the files scanned.
    pub blocks: u64,
}

impl Tally {
    /// Count one event.
    pub fn record(&mut self, ev: &Event) {
        let file = match ev {
            Event::Directory(_) => {
                self.dirs += 1;
                return;
            }
            Event::File(f) => f,
        };
        match &file.outcome {
            // clamscan counts a file passed over for its size as scanned
            // and read (measured with clamscan 1.4 and --max-filesize).
            Outcome::Clean | Outcome::Infected(_) | Outcome::Skipped(SkipReason::MaxFileSize) => {
                self.files += 1;
                self.bytes += file.size;
                self.blocks += file.size / BLOCK;
            }
            Outcome::NotFound => self.missing += 1,
            Outcome::Error(_) => self.errors += 1,
            Outcome::Empty | Outcome::Skipped(_) => {}
        }
        if matches!(file.outcome, Outcome::Infected(_)) {
            self.infected += 1;
        }
    }

    /// The exit code: 1 when anything was found (that outranks errors),
    /// 2 when anything failed, else 0.
    pub fn exit_code(&self, db_errors: usize) -> u8 {
        if self.infected > 0 {
            1
        } else if self.errors > 0 || self.missing > 0 || db_errors > 0 {
            2
        } else {
            0
        }
    }

    /// Megabytes of whole blocks, as clamscan prints "Data read".
    pub fn read_mb(&self) -> f64 {
        (self.blocks * BLOCK) as f64 / (1024.0 * 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bolwerk_scan::FileReport;

    fn file(size: u64, outcome: Outcome) -> Event {
        Event::File(FileReport {
            path: "x".into(),
            size,
            outcome,
            warnings: Vec::new(),
        })
    }

    #[test]
    fn counts_like_clamscan() {
        let mut t = Tally::default();
        t.record(&Event::Directory(".".into()));
        t.record(&file(100_000, Outcome::Clean));
        t.record(&file(0, Outcome::Empty));
        t.record(&file(5, Outcome::Skipped(SkipReason::MaxFileSize)));
        t.record(&file(0, Outcome::Skipped(SkipReason::SymbolicLink)));
        assert_eq!((t.dirs, t.files, t.infected), (1, 2, 0));
        assert_eq!(format!("{:.2}", t.read_mb()), "0.09");
        assert_eq!(t.exit_code(0), 0);
        t.record(&file(0, Outcome::Error("Permission denied".into())));
        assert_eq!(t.exit_code(0), 2);
        t.record(&file(68, Outcome::Infected(vec![])));
        assert_eq!(t.exit_code(0), 1);
    }
}
