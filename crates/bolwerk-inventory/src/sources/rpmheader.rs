//! RPM's header structure, as the rpm database stores it: a big-endian
//! index count `il` and data length `dl`, then `il` 16-byte index entries
//! (tag, type, offset, count), then `dl` bytes of data. The database keeps
//! headers without the 8-byte magic that package files put before them;
//! both forms are read. Only string tags are decoded.

use crate::error::{Error, Result};

/// The header magic of a header in a package file, followed by 4 reserved
/// bytes.
const MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// rpm's own limits on a header (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX`).
const MAX_TAGS: usize = 0xffff;
const MAX_DATA: usize = 256 * 1024 * 1024;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_SUMMARY: u32 = 1004;
const TAG_VENDOR: u32 = 1011;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// The tags of a package header that an inventory needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpmHeader {
    /// NAME.
    pub name: String,
    /// VERSION.
    pub version: Option<String>,
    /// RELEASE.
    pub release: Option<String>,
    /// EPOCH.
    pub epoch: Option<u32>,
    /// SUMMARY (the first, untranslated string).
    pub summary: Option<String>,
    /// VENDOR.
    pub vendor: Option<String>,
}

impl RpmHeader {
    /// `[EPOCH:]VERSION-RELEASE`, as rpm prints it.
    pub fn evr(&self) -> Option<String> {
        let v = self.version.as_deref()?;
        let mut s = String::new();
        if let Some(e) = self.epoch {
            s.push_str(&format!("{e}:"));
        }
        s.push_str(v);
        if let Some(r) = &self.release {
            s.push('-');
            s.push_str(r);
        }
        Some(s)
    }
}

/// One index entry.
struct Entry {
    tag: u32,
    kind: u32,
    offset: usize,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Decode a header blob (with or without the 8-byte magic prefix).
pub fn parse_header_blob(blob: &[u8]) -> Result<RpmHeader> {
    let blob = if blob.starts_with(&MAGIC) {
        &blob[8..]
    } else {
        blob
    };
    let bad = |m: &str| Error::format(format!("RPM header: {m}"));
    let il = be32(blob, 0).ok_or_else(|| bad("shorter than 8 bytes"))? as usize;
    let dl = be32(blob, 4).ok_or_else(|| bad("shorter than 8 bytes"))? as usize;
    if il > MAX_TAGS || dl > MAX_DATA {
        return Err(bad("index or data larger than rpm allows"));
    }
    let data_start = 8 + il * 16;
    let data = blob
        .get(data_start..data_start + dl)
        .ok_or_else(|| bad("truncated"))?;
    let mut h = RpmHeader::default();
    for i in 0..il {
        let at = 8 + i * 16;
        let (Some(tag), Some(kind), Some(offset)) =
            (be32(blob, at), be32(blob, at + 4), be32(blob, at + 8))
        else {
            return Err(bad("truncated index"));
        };
        apply(
            &mut h,
            &Entry {
                tag,
                kind,
                offset: offset as usize,
            },
            data,
        )?;
    }
    if h.name.is_empty() {
        return Err(bad("no NAME tag"));
    }
    Ok(h)
}

fn apply(h: &mut RpmHeader, e: &Entry, data: &[u8]) -> Result<()> {
    let string = || string_at(data, e.offset, e.kind);
    match e.tag {
        TAG_NAME => h.name = string()?.unwrap_or_default(),
        TAG_VERSION => h.version = string()?,
        TAG_RELEASE => h.release = string()?,
        TAG_SUMMARY => h.summary = string()?,
        TAG_VENDOR => h.vendor = string()?,
        TAG_EPOCH if e.kind == TYPE_INT32 => h.epoch = be32(data, e.offset),
        _ => {}
    }
    Ok(())
}

/// The NUL-terminated string at `offset`, for string-typed entries.
fn string_at(data: &[u8], offset: usize, kind: u32) -> Result<Option<String>> {
    if !matches!(kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
        return Ok(None);
    }
    let tail = data
        .get(offset..)
        .ok_or_else(|| Error::format("RPM header: string offset past the data"))?;
    let end = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| Error::format("RPM header: unterminated string"))?;
    Ok(Some(String::from_utf8_lossy(&tail[..end]).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header built from entries, the way rpm lays one out.
    fn header(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, bytes) in entries {
            for v in [*tag, *kind, data.len() as u32, 1] {
                index.extend_from_slice(&v.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    #[test]
    fn name_version_release_vendor() {
        let blob = header(&[
            (TAG_NAME, TYPE_STRING, b"kesl\0"),
            (TAG_VERSION, TYPE_STRING, b"12.1.0\0"),
            (TAG_RELEASE, TYPE_STRING, b"1297\0"),
            (TAG_VENDOR, TYPE_STRING, b"AO Kaspersky Lab\0"),
        ]);
        let h = parse_header_blob(&blob).unwrap();
        assert_eq!(h.name, "kesl");
        assert_eq!(h.evr().as_deref(), Some("12.1.0-1297"));
        assert_eq!(h.vendor.as_deref(), Some("AO Kaspersky Lab"));
    }

    #[test]
    fn hostile_headers_are_refused() {
        let good = header(&[(TAG_NAME, TYPE_STRING, b"kesl\0")]);
        for cut in 0..good.len() {
            assert!(parse_header_blob(&good[..cut]).is_err(), "cut at {cut}");
        }
        let unterminated = header(&[(TAG_NAME, TYPE_STRING, b"kesl")]);
        assert!(parse_header_blob(&unterminated).is_err());
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_header_blob(&huge).is_err());
    }
}
