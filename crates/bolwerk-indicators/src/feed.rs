//! What a feed reader produces: named families and the indicators that
//! point to them, before they are indexed for matching.

use crate::pattern::Comparison;

/// The object path signature-base filename IOCs are given here: a regular
/// expression over the whole path. A custom STIX object type (`x-`), so
/// the patterns written for sightings stay valid STIX.
pub const FILENAME_REGEX: &str = "x-signature-base:filename_regex";

/// What can be matched in a file scan, by object path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// `file:hashes.md5`
    Md5,
    /// `file:hashes.sha1`
    Sha1,
    /// `file:hashes.sha256`
    Sha256,
    /// `file:name`: the scanned object's name.
    FileName,
    /// `file:path`: a path, matched as whole components inside the scanned path.
    FilePath,
    /// `domain-name:value`: hosts in text, with MVT's domain semantics.
    Domain,
    /// `url:value`: URLs in text.
    Url,
    /// `email-addr:value`: e-mail addresses in text.
    Email,
    /// `ipv4-addr:value`: IPv4 addresses in text.
    Ipv4,
    /// A signature-base filename IOC: a regex over the whole path.
    FilenameRegex,
    /// Anything a file scan cannot observe (`process:name`, `app:id`, …):
    /// loaded and counted, never matched.
    NotScanned,
}

impl Key {
    /// The key of a normalised STIX object path.
    pub fn of(path: &str) -> Key {
        match path {
            "file:hashes.md5" => Key::Md5,
            "file:hashes.sha1" => Key::Sha1,
            "file:hashes.sha256" => Key::Sha256,
            "file:name" => Key::FileName,
            "file:path" => Key::FilePath,
            "domain-name:value" => Key::Domain,
            "url:value" => Key::Url,
            "email-addr:value" => Key::Email,
            "ipv4-addr:value" => Key::Ipv4,
            FILENAME_REGEX => Key::FilenameRegex,
            _ => Key::NotScanned,
        }
    }

    /// The report's `kind` for a match on this key.
    pub fn kind(self) -> &'static str {
        match self {
            Key::Md5 => "indicator-md5",
            Key::Sha1 => "indicator-sha1",
            Key::Sha256 => "indicator-sha256",
            Key::FileName => "indicator-file-name",
            Key::FilePath => "indicator-file-path",
            Key::Domain => "indicator-domain",
            Key::Url => "indicator-url",
            Key::Email => "indicator-email",
            Key::Ipv4 => "indicator-ipv4",
            Key::FilenameRegex => "indicator-filename-regex",
            Key::NotScanned => "indicator",
        }
    }

    /// Whether values compare without regard to ASCII case (hashes,
    /// domains, e-mail addresses, as MVT compares them).
    pub fn folds_case(self) -> bool {
        matches!(
            self,
            Key::Md5 | Key::Sha1 | Key::Sha256 | Key::Domain | Key::Email | Key::Url
        )
    }
}

/// One indicator as read from a feed.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Its identity: the STIX id, or `FILE:LINE` for line-based feeds.
    pub id: String,
    /// Index of its family in [`Feed::families`].
    pub family: usize,
    /// Matches when every comparison of any one conjunction matches.
    pub any: Vec<Vec<Comparison>>,
    /// A score (signature-base), 0–100.
    pub score: Option<u8>,
    /// A description (signature-base comments, STIX `name`/`description`).
    pub note: Option<String>,
    /// A regex that, matching the path, cancels a filename IOC.
    pub false_positive: Option<String>,
    /// The 1-based line it came from, for line-based feeds.
    pub line: Option<u64>,
}

/// A feed file, read.
#[derive(Clone, Debug, Default)]
pub struct Feed {
    /// Detection names, one per family (`Spyware.Pegasus`).
    pub families: Vec<String>,
    /// The indicators.
    pub entries: Vec<Entry>,
}

/// A detection name in clamscan's style from a free-form family name:
/// ASCII letters and digits kept, every other run of characters one `_`
/// (`Wintego Helios` → `Wintego_Helios`).
pub fn name_part(s: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        out.push_str("Unnamed");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name_part("Pegasus"), "Pegasus");
        assert_eq!(name_part("Wintego Helios"), "Wintego_Helios");
        assert_eq!(name_part("  a -- b. "), "a_b");
        assert_eq!(name_part("ñ"), "Unnamed");
    }
}
