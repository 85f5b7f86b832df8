//! VBA macro source in OLE2 documents ([MS-OVBA]).
//!
//! A VBA project is a storage (`Macros/VBA` in Word, `_VBA_PROJECT_CUR/VBA`
//! in Excel, `VBA` in an OOXML file's `vbaProject.bin`) whose `dir` stream,
//! compressed, lists the modules: each module's name, the stream holding it
//! and the offset in that stream where its source starts, compressed in
//! the same way. [`sources`] returns every module's source as written
//! (`Attribute VB_Name = …`, CR LF line ends), which ClamAV matches with
//! the OLE2 signatures (target type 2) and the generic ones.
//!
//! The compression is MS-OVBA's: a signature byte 1, then chunks of at most
//! 4096 bytes of output, each with a two-byte header (size, a compressed
//! flag) and groups of eight tokens behind a flag byte — a literal byte, or
//! a two-byte copy token whose split between offset and length bits grows
//! with the position in the chunk.
//!
//! Bounded: at most [`MAX_PROJECTS`] projects and [`MAX_MODULES`] modules a
//! project are read, and no decompression writes more than the caller's
//! limit.

use std::io::{Cursor, Read};

/// VBA projects read per document.
pub const MAX_PROJECTS: usize = 16;
/// Modules read per project.
pub const MAX_MODULES: usize = 1000;
/// Bytes of a compressed `dir` stream read.
const MAX_DIR: u64 = 16 << 20;

/// One module's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// Path of the stream holding it (`_VBA_PROJECT_CUR/VBA/Module1`).
    pub stream: String,
    /// The source, decompressed.
    pub source: Vec<u8>,
}

/// The modules' sources of every VBA project in the OLE2 document `ole2`,
/// each at most `limit` bytes. A document without a readable project (or
/// not an OLE2 document) has none.
pub fn sources(ole2: &[u8], limit: usize) -> Vec<Module> {
    let Ok(mut doc) = cfb::CompoundFile::open(Cursor::new(ole2)) else {
        return Vec::new();
    };
    let dirs: Vec<std::path::PathBuf> = doc
        .walk()
        .filter(|e| e.is_stream() && e.name().eq_ignore_ascii_case("dir"))
        .map(|e| e.path().to_path_buf())
        .filter(|p| {
            let parent = p.parent().and_then(|p| p.file_name());
            parent.is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("VBA"))
        })
        .take(MAX_PROJECTS)
        .collect();
    let mut out = Vec::new();
    for dir in dirs {
        let Some(compressed) = read_stream(&mut doc, &dir, MAX_DIR) else {
            continue;
        };
        let listing = decompress(&compressed, MAX_DIR as usize);
        let storage = dir.parent().unwrap_or(std::path::Path::new("/"));
        for (name, offset) in modules(&listing) {
            let path = storage.join(&name);
            let Some(stream) = read_stream(&mut doc, &path, u64::MAX) else {
                continue;
            };
            let Some(packed) = stream.get(offset as usize..) else {
                continue;
            };
            out.push(Module {
                stream: path.to_string_lossy().trim_start_matches('/').to_string(),
                source: decompress(packed, limit),
            });
        }
    }
    out
}

fn read_stream(
    doc: &mut cfb::CompoundFile<Cursor<&[u8]>>,
    path: &std::path::Path,
    limit: u64,
) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    doc.open_stream(path)
        .ok()?
        .take(limit)
        .read_to_end(&mut data)
        .ok()?;
    Some(data)
}

/// Record ids of the `dir` stream that matter here.
const MODULE_NAME: u16 = 0x0019;
const MODULE_STREAM_NAME: u16 = 0x001a;
const MODULE_OFFSET: u16 = 0x0031;
const MODULE_TERMINATOR: u16 = 0x002b;
/// PROJECTVERSION: its size field is a reserved 4, and 6 bytes follow.
const PROJECT_VERSION: u16 = 0x0009;

/// The modules a decompressed `dir` stream lists: stream name and source
/// offset. Records are an id, a size and that many bytes.
fn modules(dir: &[u8]) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let (mut stream, mut offset) = (None, None);
    let mut rest = dir;
    while rest.len() >= 6 && out.len() < MAX_MODULES {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let size = u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]) as usize;
        let size = if id == PROJECT_VERSION { 6 } else { size };
        let Some(body) = rest.get(6..6 + size) else {
            break;
        };
        rest = &rest[6 + size..];
        match id {
            MODULE_NAME => (stream, offset) = (None, None),
            MODULE_STREAM_NAME => stream = Some(String::from_utf8_lossy(body).into_owned()),
            MODULE_OFFSET if size == 4 => {
                offset = Some(u32::from_le_bytes([body[0], body[1], body[2], body[3]]));
            }
            MODULE_TERMINATOR => {
                if let (Some(s), Some(o)) = (stream.take(), offset.take()) {
                    if !s.is_empty() && !s.contains(['/', '\\']) {
                        out.push((s, o));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// MS-OVBA decompression of a compressed container, to at most `limit`
/// bytes; damaged data ends the output where it is found.
pub fn decompress(data: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let Some((&1, mut rest)) = data.split_first() else {
        return out;
    };
    while rest.len() >= 2 && out.len() < limit {
        let header = u16::from_le_bytes([rest[0], rest[1]]);
        let size = usize::from(header & 0x0fff) + 3;
        let chunk = &rest[2..size.min(rest.len())];
        rest = &rest[size.min(rest.len())..];
        if header & 0x8000 == 0 {
            // A raw chunk: 4096 bytes as they are.
            let take = chunk.len().min(4096).min(limit - out.len());
            out.extend_from_slice(&chunk[..take]);
        } else if !chunk_tokens(chunk, &mut out, limit) {
            break;
        }
    }
    out.truncate(limit);
    out
}

/// Decode one compressed chunk's token sequences onto `out`; false when
/// the chunk is damaged (a copy reaching before the chunk).
fn chunk_tokens(mut chunk: &[u8], out: &mut Vec<u8>, limit: usize) -> bool {
    let start = out.len();
    while let Some((&flags, tokens)) = chunk.split_first() {
        chunk = tokens;
        for bit in 0..8 {
            if chunk.is_empty() || out.len() >= limit {
                return true;
            }
            if flags & (1 << bit) == 0 {
                out.push(chunk[0]);
                chunk = &chunk[1..];
                continue;
            }
            let [lo, hi, ..] = *chunk else {
                return true;
            };
            chunk = &chunk[2..];
            let token = u16::from_le_bytes([lo, hi]);
            let (length, offset) = copy_token(token, out.len() - start);
            if offset > out.len() - start {
                return false;
            }
            for _ in 0..length.min(limit - out.len()) {
                out.push(out[out.len() - offset]);
            }
        }
    }
    true
}

/// A copy token's length and offset: the offset takes as many high bits
/// as the output of this chunk so far needs (at least 4), the length the
/// rest.
fn copy_token(token: u16, decompressed: usize) -> (usize, usize) {
    let mut bits = 4;
    while bits < 12 && (1usize << bits) < decompressed {
        bits += 1;
    }
    let length_mask = 0xffffu16 >> bits;
    let length = usize::from(token & length_mask) + 3;
    let offset = usize::from(token >> (16 - bits)) + 1;
    (length, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [MS-OVBA] 3.2.1's example: "#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa".
    #[test]
    fn spec_example_decompresses() {
        let compressed = [
            0x01, 0x2F, 0xB0, 0x00, 0x23, 0x61, 0x61, 0x61, 0x62, 0x63, 0x64, 0x65, 0x82, 0x66,
            0x00, 0x70, 0x61, 0x67, 0x68, 0x69, 0x6A, 0x01, 0x38, 0x08, 0x61, 0x6B, 0x6C, 0x00,
            0x30, 0x6D, 0x6E, 0x6F, 0x70, 0x06, 0x71, 0x02, 0x70, 0x04, 0x10, 0x72, 0x73, 0x74,
            0x75, 0x76, 0x10, 0x77, 0x78, 0x79, 0x7A, 0x00, 0x3C,
        ];
        assert_eq!(
            decompress(&compressed, 1000),
            b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
        );
        // Bounded, and damage or truncation never panics.
        assert_eq!(decompress(&compressed, 10).len(), 10);
        for cut in 0..compressed.len() {
            let _ = decompress(&compressed[..cut], 1000);
        }
        assert!(decompress(b"\x02abc", 1000).is_empty());
    }

    #[test]
    fn copy_token_split() {
        // 4 offset bits up to 16 bytes of output, 12 at most.
        assert_eq!(copy_token(0x0001, 1), (4, 1));
        assert_eq!(copy_token(0xf000, 16), (3, 16));
        assert_eq!(copy_token(0x0800, 17), (3, 2));
        assert_eq!(copy_token(0xfff0, 4000), (3, 4096));
    }

    #[test]
    fn dir_records() {
        let mut dir = Vec::new();
        let rec = |dir: &mut Vec<u8>, id: u16, body: &[u8]| {
            dir.extend_from_slice(&id.to_le_bytes());
            dir.extend_from_slice(&(body.len() as u32).to_le_bytes());
            dir.extend_from_slice(body);
        };
        // PROJECTVERSION: 6 bytes are read whatever its size field says.
        rec(&mut dir, PROJECT_VERSION, &[0; 6]);
        rec(&mut dir, MODULE_NAME, b"Module1");
        rec(&mut dir, MODULE_STREAM_NAME, b"Module1");
        rec(&mut dir, MODULE_OFFSET, &0x1234u32.to_le_bytes());
        rec(&mut dir, MODULE_TERMINATOR, b"");
        rec(&mut dir, MODULE_NAME, b"Bad");
        rec(&mut dir, MODULE_STREAM_NAME, b"../x");
        rec(&mut dir, MODULE_OFFSET, &0u32.to_le_bytes());
        rec(&mut dir, MODULE_TERMINATOR, b"");
        assert_eq!(modules(&dir), [("Module1".to_string(), 0x1234)]);
    }
}
