//! InstallShield setups: the files a `setup.exe` carries in its overlay.
//!
//! Two layouts are read:
//!
//! * **File table** (InstallShield 11 and earlier packaged setups): at the
//!   start of the overlay, files end to end, each as four NUL-terminated
//!   strings (name, path such as `Disk1\setup.ini`, version, size in
//!   decimal) and then that many bytes. Each file is a child, except
//!   InstallShield cabinets (`ISc(`): the `dataN.hdr` header's file table
//!   is read and each file is taken from the `dataN.cab` volume it names,
//!   stored or zlib-compressed in chunks (a 16-bit length, then raw
//!   deflate). Header versions 5 and later are read; files that are
//!   obfuscated, marked invalid or outside the setup are skipped, and a
//!   file split across volumes yields the part in its first volume. When
//!   no header is present the cabinets are children as they are.
//! * **`InstallShield` stream** (InstallShield 12 and later `setup.exe`):
//!   `InstallShield\0`, a file count, then per file a 312-byte entry (name
//!   in a 260-byte field, flags, size) and the file's bytes, which are
//!   encoded with a key made of the file name (each byte XORed with the
//!   key byte, nibbles swapped, inverted; the key restarting every 1024
//!   bytes when flag 4 is set) and then usually zlib-compressed. The
//!   `ISSetupStream` layout of later versions and UTF-16 names are not
//!   read.
//!
//! The format facts come from public descriptions of the layouts (the
//! `unshield` project's documentation of InstallShield cabinets and write-
//! ups of the setup stream); the code is written here.

use std::io::Read;

use super::{u16_at, u32_at, u64_at, Found};
use crate::budget::Budget;
use crate::container::{emit_with, malformed, read_child, Meta, UnpackError, Visit};
use crate::formats::compressed::Lenient;

/// The longest name or path a file-table entry may have.
const MAX_NAME: usize = 1024;
/// The longest decimal size (fits in `u64`).
const MAX_DIGITS: usize = 19;
const CAB_MAGIC: &[u8] = b"ISc(";
const STREAM_MAGIC: &[u8] = b"InstallShield\0";
/// Magic, file count, and fields not read.
const STREAM_HEADER: usize = 46;
/// Name field, flags, a field not read, size, and fields not read.
const STREAM_ENTRY: usize = 312;
const NAME_FIELD: usize = 260;
const STREAM_KEY: [u8; 4] = [0x13, 0x35, 0x86, 0x07];
const STREAM_BLOCK: usize = 1024;
const MAX_CANDIDATES: usize = 8;
/// Cabinet file flags.
const FILE_OBFUSCATED: u16 = 2;
const FILE_COMPRESSED: u16 = 4;
const FILE_INVALID: u16 = 8;
/// Entries of a cabinet's file table, at most.
const MAX_CAB_FILES: u32 = 1 << 20;

pub(super) fn read(data: &[u8], from: usize, budget: &mut Budget, visit: &mut Visit<'_>) -> Found {
    let overlay = data.get(from..).unwrap_or_default();
    if let Some((files, whole)) = file_table(overlay) {
        table_files(files, budget, visit)?;
        if !whole {
            return Err(malformed("InstallShield file table damaged or truncated"));
        }
        return Ok(true);
    }
    for pos in memchr::memmem::find_iter(overlay, STREAM_MAGIC).take(MAX_CANDIDATES) {
        let Some(stream) = overlay.get(pos..) else {
            continue;
        };
        if let Some(entries) = stream_entries(stream) {
            return stream_files(stream, entries, budget, visit).map(|()| true);
        }
    }
    Ok(false)
}

/// One file of the file table.
struct TableFile<'a> {
    name: String,
    path: String,
    data: &'a [u8],
}

/// A NUL-terminated string of at most `max` bytes at the start of `d`, and
/// what follows it.
fn cstr(d: &[u8], max: usize) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(0, d.get(..d.len().min(max + 1))?)?;
    Some((d.get(..end)?, d.get(end + 1..)?))
}

/// The files of a file table at the start of `d`, and whether the table
/// reaches the end of `d`; `None` unless the first entry's strings are
/// well-formed. Entries from a damaged or truncated one on are dropped.
fn file_table(mut d: &[u8]) -> Option<(Vec<TableFile<'_>>, bool)> {
    let mut files = Vec::new();
    while !d.is_empty() {
        let Some((name, path, size, rest)) = table_entry(d) else {
            break;
        };
        let (Some(data), Some(after)) = (rest.get(..size), rest.get(size..)) else {
            return Some((files, false));
        };
        files.push(TableFile { name, path, data });
        d = after;
    }
    (!files.is_empty()).then_some((files, d.is_empty()))
}

/// The name, path and size of the file-table entry starting `d`, and the
/// bytes after its strings.
fn table_entry(d: &[u8]) -> Option<(String, String, usize, &[u8])> {
    let (name, d) = cstr(d, MAX_NAME)?;
    let (path, d) = cstr(d, MAX_NAME)?;
    let (version, d) = cstr(d, MAX_NAME)?;
    let (size, d) = cstr(d, MAX_DIGITS)?;
    let printable = |s: &[u8]| !s.is_empty() && s.iter().all(|&b| b >= 0x20 && b != 0x7f);
    let numeric = |s: &[u8]| !s.is_empty() && s.iter().all(|&b| b.is_ascii_digit() || b == b'.');
    if !printable(name) || !printable(path) || !numeric(version) || !numeric(size) {
        return None;
    }
    let size = std::str::from_utf8(size).ok()?.parse().ok()?;
    let text = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
    Some((text(name), text(path), size, d))
}

fn table_files(
    files: Vec<TableFile<'_>>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let (cabinets, plain): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|f| f.data.starts_with(CAB_MAGIC));
    for f in plain {
        if !emit_slice(f.path, f.data, Meta::default(), budget, visit)? {
            return Ok(());
        }
    }
    let headers: Vec<&TableFile<'_>> = cabinets
        .iter()
        .filter(|f| f.name.to_ascii_lowercase().ends_with(".hdr"))
        .collect();
    if headers.is_empty() {
        for f in &cabinets {
            if !emit_slice(f.path.clone(), f.data, Meta::default(), budget, visit)? {
                return Ok(());
            }
        }
        return Ok(());
    }
    for header in headers {
        let volume = |n: u16| {
            let base = header.name.get(..header.name.len().saturating_sub(4))?;
            let prefix = base.trim_end_matches(|c: char| c.is_ascii_digit());
            let want = format!("{prefix}{n}.cab").to_ascii_lowercase();
            cabinets
                .iter()
                .find(|f| f.name.to_ascii_lowercase() == want)
                .map(|f| f.data)
        };
        if !cabinet_files(header.data, &volume, budget, visit)? {
            return Ok(());
        }
    }
    Ok(())
}

/// Emit a copy of `data` if the budget allows; `false` when the visitor
/// asked to stop.
fn emit_slice(
    name: String,
    data: &[u8],
    meta: Meta,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<bool, UnpackError> {
    let Some(bytes) = read_child(data, budget)? else {
        return Ok(true);
    };
    Ok(emit_with(Some(name), bytes, meta, budget, visit).is_continue())
}

/// One file of an InstallShield cabinet's file table.
struct CabFile {
    name: String,
    flags: u16,
    expanded: u64,
    compressed: u64,
    offset: u64,
    volume: u16,
}

/// The files of cabinet header `hdr`, taken from the volumes `volume`
/// finds; `false` when the visitor asked to stop.
fn cabinet_files<'a>(
    hdr: &[u8],
    volume: &dyn Fn(u16) -> Option<&'a [u8]>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<bool, UnpackError> {
    let files = cabinet_table(hdr).ok_or_else(|| malformed("InstallShield cabinet header"))?;
    for f in files {
        if f.flags & (FILE_INVALID | FILE_OBFUSCATED) != 0 || f.offset == 0 || f.expanded == 0 {
            continue;
        }
        let Some(cab) = volume(f.volume) else {
            continue;
        };
        let start = usize::try_from(f.offset).unwrap_or(usize::MAX);
        let packed = usize::try_from(f.compressed).unwrap_or(usize::MAX);
        let Some(bytes) = cab.get(start..start.saturating_add(packed).min(cab.len())) else {
            continue;
        };
        let meta = Meta {
            packed_size: Some(f.compressed),
            stated_size: Some(f.expanded),
            ..Meta::default()
        };
        let going = if f.flags & FILE_COMPRESSED != 0 {
            let Some(out) = read_child(Chunks::new(bytes).take(f.expanded), budget)? else {
                continue;
            };
            emit_with(Some(f.name), out, meta, budget, visit).is_continue()
        } else {
            let stored = bytes
                .get(..bytes.len().min(packed_len(f.expanded)))
                .unwrap_or(bytes);
            emit_slice(f.name, stored, meta, budget, visit)?
        };
        if !going {
            return Ok(false);
        }
    }
    Ok(true)
}

fn packed_len(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The file table of a cabinet header (`ISc(`, version 5 and later).
fn cabinet_table(hdr: &[u8]) -> Option<Vec<CabFile>> {
    if !hdr.starts_with(CAB_MAGIC) {
        return None;
    }
    let version = u32_at(hdr, 4)?;
    let major = if version >> 24 == 1 {
        (version >> 12) & 0xf
    } else {
        (version & 0xffff) / 100
    };
    let desc = hdr.get(usize::try_from(u32_at(hdr, 12)?).ok()?..)?;
    let table = usize::try_from(u32_at(desc, 0x0c)?).ok()?;
    let dirs = u32_at(desc, 0x1c)?;
    let count = u32_at(desc, 0x28)?.min(MAX_CAB_FILES);
    let table2 = usize::try_from(u32_at(desc, 0x2c)?).ok()?;
    let mut files = Vec::new();
    for i in 0..count {
        let f = if major <= 5 {
            let slot = usize::try_from(dirs.checked_add(i)?).ok()?.checked_mul(4)?;
            let at = table
                .checked_add(usize::try_from(u32_at(desc, table.checked_add(slot)?)?).ok()?)?;
            CabFile {
                name: name_at(desc, table, u32_at(desc, at)?),
                flags: u16_at(desc, at.checked_add(8)?)?,
                expanded: u64::from(u32_at(desc, at.checked_add(10)?)?),
                compressed: u64::from(u32_at(desc, at.checked_add(14)?)?),
                offset: u64::from(u32_at(desc, at.checked_add(38)?)?),
                volume: 1,
            }
        } else {
            let at = table
                .checked_add(table2)?
                .checked_add(usize::try_from(i).ok()?.checked_mul(0x57)?)?;
            CabFile {
                flags: u16_at(desc, at)?,
                expanded: u64_at(desc, at.checked_add(2)?)?,
                compressed: u64_at(desc, at.checked_add(10)?)?,
                offset: u64_at(desc, at.checked_add(18)?)?,
                name: name_at(desc, table, u32_at(desc, at.checked_add(58)?)?),
                volume: u16_at(desc, at.checked_add(0x55)?)?,
            }
        };
        files.push(f);
    }
    Some(files)
}

/// The NUL-terminated name at `table + offset`, or a placeholder.
fn name_at(desc: &[u8], table: usize, offset: u32) -> String {
    usize::try_from(offset)
        .ok()
        .and_then(|o| desc.get(table.checked_add(o)?..))
        .and_then(|d| cstr(d, MAX_NAME))
        .map(|(name, _)| String::from_utf8_lossy(name).into_owned())
        .unwrap_or_else(|| "(unnamed)".to_string())
}

/// A cabinet file's compressed data: chunks of a 16-bit length and raw
/// deflate, each inflated in turn; ends at the first damaged chunk.
struct Chunks<'a> {
    rest: &'a [u8],
    current: Option<flate2::read::DeflateDecoder<&'a [u8]>>,
}

impl<'a> Chunks<'a> {
    fn new(data: &'a [u8]) -> Chunks<'a> {
        Chunks {
            rest: data,
            current: None,
        }
    }
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(chunk) = self.current.as_mut() {
                match chunk.read(buf) {
                    Ok(0) => self.current = None,
                    Ok(n) => return Ok(n),
                    Err(_) => {
                        self.rest = &[];
                        return Ok(0);
                    }
                }
            }
            let Some(len) = u16_at(self.rest, 0) else {
                return Ok(0);
            };
            let end = (2 + usize::from(len)).min(self.rest.len());
            let (chunk, rest) = self.rest.split_at(end);
            self.rest = rest;
            self.current = Some(flate2::read::DeflateDecoder::new(&chunk[2..]));
        }
    }
}

/// The entries of an `InstallShield` stream starting `d`: `None` unless it
/// has files and the first entry's name is well-formed.
fn stream_entries(d: &[u8]) -> Option<u16> {
    let count = u16_at(d, STREAM_MAGIC.len())?;
    let field = d.get(STREAM_HEADER..STREAM_HEADER + NAME_FIELD)?;
    let (name, _) = cstr(field, NAME_FIELD - 1)?;
    let printable = !name.is_empty() && name.iter().all(|&b| b >= 0x20 && b != 0x7f);
    (count > 0 && printable).then_some(count)
}

fn stream_files(
    d: &[u8],
    count: u16,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut at = STREAM_HEADER;
    for _ in 0..count {
        let entry = d
            .get(at..at.saturating_add(STREAM_ENTRY))
            .ok_or_else(|| malformed("InstallShield stream entry truncated"))?;
        let name = cstr(entry, NAME_FIELD - 1).map_or(&[][..], |(n, _)| n);
        let flags = u32_at(entry, NAME_FIELD).unwrap_or(0);
        let size = u32_at(entry, NAME_FIELD + 8).unwrap_or(0) as usize;
        let start = at + STREAM_ENTRY;
        let body = d
            .get(start..start.saturating_add(size))
            .ok_or_else(|| malformed("InstallShield stream file truncated"))?;
        at = start + size;
        let decoded = read_child(Decode::new(body, name, flags), budget)?;
        let Some(decoded) = decoded else {
            continue;
        };
        let meta = Meta {
            packed_size: Some(size as u64),
            ..Meta::default()
        };
        let name = String::from_utf8_lossy(name).into_owned();
        let going = if is_zlib(&decoded) {
            let inflate = Lenient(flate2::read::ZlibDecoder::new(&decoded[..]));
            let Some(out) = read_child(inflate, budget)? else {
                continue;
            };
            emit_with(Some(name), out, meta, budget, visit).is_continue()
        } else {
            emit_with(Some(name), decoded, meta, budget, visit).is_continue()
        };
        if !going {
            break;
        }
    }
    Ok(())
}

fn is_zlib(d: &[u8]) -> bool {
    matches!(d, [cmf, flg, ..] if cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0)
}

/// A setup stream file's bytes decoded with the key made of its name.
struct Decode<'a> {
    data: &'a [u8],
    key: Vec<u8>,
    pos: usize,
    blocks: bool,
}

impl<'a> Decode<'a> {
    fn new(data: &'a [u8], name: &[u8], flags: u32) -> Decode<'a> {
        let key = if flags & 6 != 0 {
            name.iter()
                .zip(STREAM_KEY.iter().cycle())
                .map(|(n, k)| n ^ k)
                .collect()
        } else {
            Vec::new()
        };
        Decode {
            data,
            key,
            pos: 0,
            blocks: flags & 4 != 0,
        }
    }
}

impl Read for Decode<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        for (i, (out, &b)) in buf.iter_mut().zip(rest).take(n).enumerate() {
            let at = self.pos + i;
            let index = if self.blocks { at % STREAM_BLOCK } else { at };
            *out = match self.key.get(index % self.key.len().max(1)) {
                Some(&k) => !(k ^ b.rotate_left(4)),
                None => b,
            };
        }
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::installer::testutil::{all_md5s, finds_clam, testfile, CLAM_EXE_MD5};
    use crate::FileType;

    #[test]
    fn file_table_external_file() {
        // clam.exe is a file of the table itself.
        let data = testfile("clam_IScab_ext.exe");
        assert!(finds_clam(&data));
    }

    #[test]
    fn file_table_cabinet() {
        // clam.exe is in volume data2.cab, named by data1.hdr.
        let data = testfile("clam_IScab_int.exe");
        let mut budget = Budget::new(&crate::Limits::default());
        let mut names = Vec::new();
        let mut clam = None;
        let r = read(&data, 0x1c200, &mut budget, &mut |c, _| {
            if c.name.as_deref() == Some("clam.exe") {
                clam = Some(crate::formats::installer::testutil::md5_hex(&c.data));
            }
            names.push(c.name.unwrap_or_default());
            std::ops::ControlFlow::Continue(())
        });
        assert_eq!(r, Ok(true));
        assert_eq!(clam.as_deref(), Some(CLAM_EXE_MD5));
        assert!(names.contains(&"Disk1\\setup.ini".to_string()), "{names:?}");
        assert!(names.contains(&"isrt.dll".to_string()), "{names:?}");
        assert!(finds_clam(&data));
    }

    #[test]
    fn setup_stream() {
        // clam.exe itself, obfuscated and compressed ...
        assert!(finds_clam(&testfile("clam_ISmsi_ext.exe")));
        // ... and inside clam.msi, in a cabinet in an OLE2 stream.
        assert!(finds_clam(&testfile("clam_ISmsi_int.exe")));
    }

    #[test]
    fn truncated_and_corrupted() {
        // Cut inside the overlay: the files before the cut, then an error.
        for (name, overlay) in [
            ("clam_IScab_int.exe", 0x1c200),
            ("clam_ISmsi_ext.exe", 915561),
        ] {
            let data = testfile(name);
            for cut in [data.len() - 1, overlay + 400, overlay + 100_000] {
                let (_, r) = all_md5s(&data[..cut], FileType::MsExe);
                assert!(
                    matches!(r, Err(UnpackError::Malformed(_))),
                    "{name} {cut}: {r:?}"
                );
            }
            let mut bad = data.clone();
            for at in (0..bad.len()).step_by(997) {
                bad[at] ^= 0xa5;
            }
            let _ = all_md5s(&bad, FileType::MsExe);
        }
        // A damaged cabinet header and chunk stream: no panic.
        let data = testfile("clam_IScab_int.exe");
        let hdr_at = 460667;
        for at in (hdr_at..hdr_at + 10471).step_by(37) {
            let mut bad = data.clone();
            bad[at] = bad[at].wrapping_add(0x41);
            let _ = read(
                &bad,
                0x1c200,
                &mut Budget::new(&crate::Limits::default()),
                &mut |_, _| std::ops::ControlFlow::Continue(()),
            );
        }
    }
}
