//! NSIS (Nullsoft Scriptable Install System) installers.
//!
//! After the installer stub comes the *first header* (28 bytes: flags,
//! `0xDEADBEEF`, `NullsoftInst`, the size of the installer script header
//! once decompressed, and the size of the whole archive from the first
//! header on, a CRC-32 included). Then either
//!
//! * non-solid: the script header, then each file, each as a 32-bit length
//!   whose top bit says the block is compressed, followed by that many
//!   bytes, every compressed block a stream of its own; or
//! * solid: one compressed stream holding the same length-prefixed blocks
//!   (their lengths without the top bit).
//!
//! Compression is LZMA (5 bytes of properties, no size, an end marker),
//! raw deflate, or NSIS's bzip2 (see [`super::nsis_bzip2`]); which, and
//! solid or not, is not recorded: it is told by which reading decompresses
//! the script header to the size the first header gives. Every block is a child (the script header first), in archive
//! order; the files' names live in the script's bytecode and are not read.
//! The first header is looked for in the overlay, at most 16 candidates.

use std::io::Read;

use lzma_rust2::LzmaReader;

use super::{u32_at, Found};
use crate::budget::Budget;
use crate::container::{emit, malformed, read_child, UnpackError, Visit};
use crate::formats::compressed::Lenient;

const SIGNATURE: &[u8] = b"\xef\xbe\xad\xdeNullsoftInst";
/// Flags, signature, header size and archive size.
const FIRST_HEADER: usize = 28;
const COMPRESSED: u32 = 0x8000_0000;
const MAX_CANDIDATES: usize = 16;
/// LZMA dictionaries are allocated up front; a larger one is cut to this
/// (NSIS's default is 8 MiB), which only fails streams that refer back
/// further than this.
const MAX_DICT: u32 = 64 << 20;
/// LZMA's properties byte as NSIS writes it (lc=3, lp=0, pb=2).
const LZMA_PROPS: u8 = 0x5d;
/// The first byte of an NSIS bzip2 block.
const BZIP2_BLOCK: u8 = 0x31;
/// Blocks of a solid stream, at most (each takes at least 4 bytes).
const MAX_SOLID_BLOCKS: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Lzma,
    Deflate,
    Bzip2,
}

/// The archive after the first header.
struct Archive<'a> {
    header_size: u32,
    body: &'a [u8],
    /// The archive runs past the end of the file.
    truncated: bool,
}

pub(super) fn read(data: &[u8], from: usize, budget: &mut Budget, visit: &mut Visit<'_>) -> Found {
    let Some(tail) = data.get(from..) else {
        return Ok(false);
    };
    for pos in memchr::memmem::find_iter(tail, SIGNATURE).take(MAX_CANDIDATES) {
        let Some(start) = (from + pos).checked_sub(4) else {
            continue;
        };
        let Some(archive) = first_header(data, start) else {
            continue;
        };
        read_archive(&archive, budget, visit)?;
        if archive.truncated {
            return Err(malformed("NSIS archive truncated"));
        }
        return Ok(true);
    }
    Ok(false)
}

fn first_header(data: &[u8], start: usize) -> Option<Archive<'_>> {
    let header_size = u32_at(data, start + 20)?;
    let size = usize::try_from(u32_at(data, start + 24)?).ok()?;
    if header_size == 0 || size < FIRST_HEADER + 4 {
        return None;
    }
    let end = start.checked_add(size)?;
    let body = data.get(start + FIRST_HEADER..end.min(data.len()))?;
    Some(Archive {
        header_size,
        body,
        truncated: end > data.len(),
    })
}

fn read_archive(
    archive: &Archive<'_>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    if let Some(first) = u32_at(archive.body, 0) {
        if let Some(method) = non_solid_method(archive, first, budget)? {
            return non_solid(archive.body, method, budget, visit);
        }
    }
    for method in candidates(archive.body) {
        let mut r = decoder(method, archive.body, u64::MAX);
        let mut size = [0; 4];
        if r.read_exact(&mut size).is_ok() && u32::from_le_bytes(size) == archive.header_size {
            return solid(archive.body, method, budget, visit);
        }
    }
    Err(malformed("NSIS data: compression not recognised"))
}

/// The methods a compressed stream starting with `input` may use.
fn candidates(input: &[u8]) -> Vec<Method> {
    match input.first() {
        Some(&LZMA_PROPS) => vec![Method::Lzma, Method::Deflate],
        Some(&BZIP2_BLOCK) => vec![Method::Bzip2, Method::Deflate],
        _ => vec![Method::Deflate],
    }
}

/// `Some` when the archive reads as non-solid: its first block, of length
/// word `first`, is the script header. The method is the one the header
/// block decompresses with (a guess from its first byte when stored).
fn non_solid_method(
    archive: &Archive<'_>,
    first: u32,
    budget: &Budget,
) -> Result<Option<Method>, UnpackError> {
    let len = (first & !COMPRESSED) as usize;
    let Some(block) = archive.body.get(4..4usize.saturating_add(len)) else {
        return Ok(None);
    };
    if first & COMPRESSED == 0 {
        return Ok((first == archive.header_size).then_some(Method::Lzma));
    }
    let want = u64::from(archive.header_size);
    if want > budget.allowance()? {
        return Ok(None);
    }
    for method in candidates(block) {
        let mut out = Vec::new();
        let r = decoder(method, block, want.saturating_add(1));
        if r.take(want + 1).read_to_end(&mut out).is_ok() && out.len() as u64 == want {
            return Ok(Some(method));
        }
    }
    Ok(None)
}

/// A decompressor of `input`, ending (not failing) where the data is
/// damaged, giving at most `cap` bytes.
fn decoder<'a>(method: Method, input: &'a [u8], cap: u64) -> Box<dyn Read + 'a> {
    match method {
        Method::Lzma => {
            let lzma = (|| {
                let props = *input.first()?;
                let dict = u32_at(input, 1)?.min(MAX_DICT);
                LzmaReader::new_with_props(input.get(5..)?, u64::MAX, props, dict, None).ok()
            })();
            match lzma {
                Some(r) => Box::new(Lenient(r).take(cap)),
                None => Box::new(std::io::empty()),
            }
        }
        Method::Deflate => Box::new(Lenient(flate2::read::DeflateDecoder::new(input)).take(cap)),
        Method::Bzip2 => Box::new(super::nsis_bzip2::Decoder::new(input).take(cap)),
    }
}

fn block_name(index: usize) -> String {
    match index {
        0 => "(nsis header)".to_string(),
        n => format!("(nsis file {n})"),
    }
}

fn non_solid(
    body: &[u8],
    method: Method,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut at = 0usize;
    let mut index = 0;
    while let Some(word) = u32_at(body, at) {
        let len = (word & !COMPRESSED) as usize;
        let start = at + 4;
        let Some(block) = body.get(start..start.saturating_add(len)) else {
            // The CRC-32 at the end, or a block cut short.
            break;
        };
        at = start + len;
        let bytes = if word & COMPRESSED != 0 {
            let method = match (method, block.first()) {
                (Method::Bzip2, _) | (_, Some(&LZMA_PROPS)) => method,
                _ => Method::Deflate,
            };
            read_child(decoder(method, block, u64::MAX), budget)?
        } else {
            read_child(block, budget)?
        };
        if let Some(bytes) = bytes.filter(|b| !b.is_empty()) {
            if emit(Some(block_name(index)), bytes, budget, visit).is_break() {
                return Ok(());
            }
        }
        index += 1;
    }
    Ok(())
}

fn solid(
    body: &[u8],
    method: Method,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut r = decoder(method, body, budget.scan_left());
    for index in 0..MAX_SOLID_BLOCKS {
        let mut word = [0; 4];
        if r.read_exact(&mut word).is_err() {
            break;
        }
        let len = u64::from(u32::from_le_bytes(word) & !COMPRESSED);
        let Some(bytes) = read_child(r.by_ref().take(len), budget)? else {
            // Skipped for its size: the next block's start is not reached.
            break;
        };
        let short = (bytes.len() as u64) < len;
        if !bytes.is_empty() && emit(Some(block_name(index)), bytes, budget, visit).is_break() {
            return Ok(());
        }
        if short {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::installer::testutil::{all_md5s, finds_clam, testfile, CLAM_EXE_MD5};
    use crate::{FileType, UnpackError};

    #[test]
    fn non_solid_lzma_test_file() {
        let data = testfile("clam-nsis.exe");
        let (md5s, r) = all_md5s(&data, FileType::MsExe);
        assert_eq!(r, Ok(()));
        // The script header (4357 bytes), then clam.exe.
        assert_eq!(md5s, ["fbbef13e31677aecd3dfef7da9a3c43a", CLAM_EXE_MD5]);
    }

    #[test]
    fn truncated_and_corrupted() {
        let data = testfile("clam-nsis.exe");
        // Cut inside clam.exe's block: the header is read, then an error.
        let cut = &data[..data.len() - 100];
        let (md5s, r) = all_md5s(cut, FileType::MsExe);
        assert!(matches!(r, Err(UnpackError::Malformed(_))), "{r:?}");
        assert!(!md5s.iter().any(|m| m == CLAM_EXE_MD5));
        // Every length of the archive's first bytes: no panic, no clam.exe
        // before its block is whole.
        let start = 46080;
        for len in (start..data.len() - 8).step_by(7) {
            let (md5s, _) = all_md5s(&data[..len], FileType::MsExe);
            assert!(!md5s.iter().any(|m| m == CLAM_EXE_MD5), "{len}");
        }
        // Damaged compressed data: an error or fewer children, never a panic.
        for at in (start + 28..data.len()).step_by(13) {
            let mut bad = data.clone();
            bad[at] ^= 0x55;
            let _ = all_md5s(&bad, FileType::MsExe);
        }
        // No NSIS at all: the stub alone has no children.
        let (md5s, r) = all_md5s(&data[..start], FileType::MsExe);
        assert!(md5s.is_empty());
        assert_eq!(r, Ok(()));
    }

    /// A solid deflate archive made here: header, then one file.
    #[test]
    fn solid_deflate() {
        use flate2::{write::DeflateEncoder, Compression};
        use std::io::Write;
        let header = b"script header bytes".repeat(3);
        let file = b"the installed file".to_vec();
        let mut plain = Vec::new();
        for block in [&header, &file] {
            plain.extend_from_slice(&(block.len() as u32).to_le_bytes());
            plain.extend_from_slice(block);
        }
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&plain).unwrap();
        let packed = enc.finish().unwrap();
        let mut data = b"MZ stub".to_vec();
        data.extend_from_slice(&0u32.to_le_bytes());
        data.extend_from_slice(SIGNATURE);
        data.extend_from_slice(&(header.len() as u32).to_le_bytes());
        data.extend_from_slice(&((FIRST_HEADER + packed.len() + 4) as u32).to_le_bytes());
        data.extend_from_slice(&packed);
        data.extend_from_slice(&[0; 4]);
        let mut budget = Budget::new(&crate::Limits::default());
        let mut got = Vec::new();
        let r = read(&data, 0, &mut budget, &mut |c, _| {
            got.push(c.data);
            std::ops::ControlFlow::Continue(())
        });
        assert_eq!(r, Ok(true));
        assert_eq!(got, [header, file]);
        assert!(finds_clam(&testfile("clam-nsis.exe")));
    }
}
