//! Scan limits, with ClamAV's names and defaults.

use std::time::Duration;

/// Bounds on the work one scanned object may cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Files larger than this are not scanned (ClamAV `MaxFileSize`, 100 MiB).
    pub max_file_size: u64,
    /// Total bytes scanned per object, containers included (`MaxScanSize`, 400 MiB).
    pub max_scan_size: u64,
    /// Container nesting depth (`MaxRecursion`, 17).
    pub max_recursion: u32,
    /// Files scanned inside one object (`MaxFiles`, 10000).
    pub max_files: u32,
    /// Time for one object (`MaxScanTime`, 120 s).
    pub max_scan_time: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_size: 100 << 20,
            max_scan_size: 400 << 20,
            max_recursion: 17,
            max_files: 10_000,
            max_scan_time: Duration::from_secs(120),
        }
    }
}

/// Parse a size as clamscan's options write it: digits with an optional
/// `K` or `M` suffix (`25M`, `512K`, `1048576`).
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, mult) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&text[..text.len() - 1], 1u64 << 20),
        b'g' | b'G' => (&text[..text.len() - 1], 1u64 << 30),
        _ => (text, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("10"), Some(10));
        assert_eq!(super::parse_size("25M"), Some(25 << 20));
        assert_eq!(super::parse_size("512k"), Some(512 << 10));
        assert_eq!(super::parse_size("x"), None);
        assert_eq!(super::parse_size(""), None);
        assert_eq!(super::parse_size("99999999999999999999G"), None);
    }
}
