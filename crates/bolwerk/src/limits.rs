//! The scan-limit options shared by `scan` and `clamscan`, with clamscan's
//! names, units and defaults.

use bolwerk_unpack::Limits;
use clap::Args;

/// Limit options (0 means unlimited, as in clamscan).
#[derive(Args, Debug, Default)]
pub struct LimitArgs {
    /// Files (and objects inside them) larger than this are not scanned (default 100M).
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_filesize: Option<u64>,
    /// Bytes scanned per file, objects inside it included (default 400M).
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_scansize: Option<u64>,
    /// Objects scanned inside one file (default 10000).
    #[arg(long, value_name = "N")]
    pub max_files: Option<u32>,
    /// How deep containers are opened (default 17).
    #[arg(long, value_name = "N")]
    pub max_recursion: Option<u32>,
    /// Milliseconds one file may take (default 120000).
    #[arg(long, value_name = "MS")]
    pub max_scantime: Option<u64>,
    /// Text larger than this is not normalised for text signatures (default 5M).
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_scriptnormalize: Option<u64>,
    /// HTML larger than this is not normalised for HTML signatures (default 10M).
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_htmlnormalize: Option<u64>,
    /// HTML larger than this gets no text-only copy (default 2M).
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_htmlnotags: Option<u64>,
    /// Match HTML signatures against normalised HTML (default yes; no: the raw bytes, as other files).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub scan_html: Option<bool>,
    /// Match text and HTML signatures against normalised text and HTML (default yes; no: raw bytes only).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub normalize: Option<bool>,
    /// Report an exceeded limit as `Heuristics.Limits.Exceeded.<Limit>`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub alert_exceeds_max: Option<bool>,
    /// Report encrypted archives and documents (both of the next two).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub alert_encrypted: Option<bool>,
    /// Report archives with encrypted members as `Heuristics.Encrypted.<Zip|RAR|7Zip>`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub alert_encrypted_archive: Option<bool>,
    /// Report documents encrypted for a password as `Heuristics.Encrypted.PDF`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub alert_encrypted_doc: Option<bool>,
}

impl LimitArgs {
    /// The limits, defaults filled in.
    pub fn limits(&self) -> Limits {
        let mut l = Limits::default();
        if let Some(v) = self.max_filesize {
            l.max_file_size = v;
        }
        if let Some(v) = self.max_scansize {
            l.max_scan_size = v;
        }
        if let Some(v) = self.max_files {
            l.max_files = v;
        }
        if let Some(v) = self.max_recursion {
            l.max_recursion = v;
        }
        if let Some(v) = self.max_scriptnormalize {
            l.max_script_normalize = v;
        }
        if let Some(v) = self.max_htmlnormalize {
            l.max_html_normalize = v;
        }
        if let Some(v) = self.max_htmlnotags {
            l.max_html_notags = v;
        }
        if let Some(ms) = self.max_scantime {
            l.max_scan_time = std::time::Duration::from_millis(ms);
        }
        l
    }

    /// Whether text is normalised for text signatures.
    pub fn normalize(&self) -> bool {
        self.normalize.unwrap_or(true)
    }

    /// Whether HTML is matched through its normalised copies (off with
    /// `--scan-html=no` or `--normalize=no`, as in clamscan).
    pub fn html(&self) -> bool {
        self.scan_html.unwrap_or(true) && self.normalize()
    }

    /// Whether exceeded limits are reported.
    pub fn alert(&self) -> bool {
        self.alert_exceeds_max.unwrap_or(false)
    }

    /// Whether archives with encrypted members are reported (the specific
    /// option wins over `--alert-encrypted`, as in clamscan).
    pub fn alert_encrypted_archive(&self) -> bool {
        self.alert_encrypted_archive
            .or(self.alert_encrypted)
            .unwrap_or(false)
    }

    /// Whether encrypted documents are reported.
    pub fn alert_encrypted_doc(&self) -> bool {
        self.alert_encrypted_doc
            .or(self.alert_encrypted)
            .unwrap_or(false)
    }
}

/// clamscan's yes/no option values.
pub fn yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(format!("expected yes or no, got '{s}'")),
    }
}

/// A size as clamscan writes it: digits with an optional K, M or G.
pub fn size(s: &str) -> Result<u64, String> {
    bolwerk_unpack::parse_size(s).ok_or_else(|| format!("invalid size '{s}'"))
}
