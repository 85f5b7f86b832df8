//! Single-stream compression: gzip, bzip2, xz. The child is the
//! decompressed stream, named as the gzip header names it, else after the
//! compression (`(gzip)`, `(bzip2)`, `(xz)`).

use std::io::Read;

use crate::budget::Budget;
use crate::container::{emit_stream, UnpackError, Visit};

/// gzip (RFC 1952), every member of a multi-member file.
pub(crate) fn gzip(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let decoder = flate2::read::MultiGzDecoder::new(data);
    let name = decoder
        .header()
        .and_then(|h| h.filename())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_else(|| "(gzip)".to_string());
    emit_stream(Some(name), Lenient(decoder), budget, visit)
}

/// bzip2, every stream of a multi-stream file.
pub(crate) fn bzip2(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let reader = Lenient(bzip2::read::MultiBzDecoder::new(data));
    emit_stream(Some("(bzip2)".to_string()), reader, budget, visit)
}

/// xz.
pub(crate) fn xz(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let reader = lzma_rust2::XzReader::new(data, true);
    emit_stream(Some("(xz)".to_string()), Lenient(reader), budget, visit)
}

/// A reader that ends, instead of failing, where the compressed data is
/// damaged or truncated: what was decompressed before is still scanned,
/// as ClamAV scans it.
pub(crate) struct Lenient<R>(pub(crate) R);

impl<R: Read> Read for Lenient<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(_) => Ok(0),
        }
    }
}
