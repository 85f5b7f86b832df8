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
    /// Text objects larger than this are not normalised for text signatures
    /// (`MaxScriptNormalize`, 5 MiB; 0: no limit).
    pub max_script_normalize: u64,
    /// HTML objects larger than this are not normalised for HTML
    /// signatures (`MaxHTMLNormalize`, 10 MiB; 0: no limit).
    pub max_html_normalize: u64,
    /// HTML objects larger than this get no text-only copy
    /// (`MaxHTMLNoTags`, 2 MiB; 0: no limit).
    pub max_html_notags: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_size: 100 << 20,
            max_scan_size: 400 << 20,
            max_recursion: 17,
            max_files: 10_000,
            max_scan_time: Duration::from_secs(120),
            max_script_normalize: 5 << 20,
            max_html_normalize: 10 << 20,
            max_html_notags: 2 << 20,
        }
    }
}

impl Limits {
    /// The largest file scanned, in bytes: `max_file_size`, where 0 means
    /// no limit (as in ClamAV).
    pub fn file_size_cap(&self) -> u64 {
        unlimited_if_zero(self.max_file_size)
    }

    /// The largest text object normalised, in bytes (0: no limit).
    pub fn script_normalize_cap(&self) -> u64 {
        unlimited_if_zero(self.max_script_normalize)
    }
}

impl Limits {
    /// The largest HTML object normalised, in bytes (0: no limit).
    pub fn html_normalize_cap(&self) -> u64 {
        unlimited_if_zero(self.max_html_normalize)
    }

    /// The largest HTML object given a text-only copy (0: no limit).
    pub fn html_notags_cap(&self) -> u64 {
        unlimited_if_zero(self.max_html_notags)
    }
}

fn unlimited_if_zero(n: u64) -> u64 {
    match n {
        0 => u64::MAX,
        n => n,
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
    fn zero_file_size_is_unlimited() {
        let mut l = super::Limits::default();
        assert_eq!(l.file_size_cap(), 100 << 20);
        l.max_file_size = 0;
        assert_eq!(l.file_size_cap(), u64::MAX);
    }

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
