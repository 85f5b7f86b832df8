//! Parsing signature files in bounded memory on all cores.
//!
//! A file is read in batches of one [`CHUNK_BYTES`] chunk per thread (at
//! most [`BATCH_BYTES`]) cut at a line end; each batch is split into chunks
//! that are parsed in parallel, each into its own records and [`Names`] segment. Chunk results
//! are handed to a sink in file order, with line numbers counted from the
//! start of the file, so the outcome is that of a sequential parse. The sink
//! appends records straight to the final tables: the text of one batch is in
//! memory at a time and no table is held twice (a growing vector of this
//! size is moved by the allocator's `mremap`, not copied).

use std::io::Read;

use rayon::prelude::*;

use crate::hash::{HashParser, HashSet3, LineOutcome};
use crate::loader::LoadStats;
use crate::names::Names;
use crate::{Error, HashRecord};

/// Text parsed per batch.
pub(crate) const BATCH_BYTES: usize = 16 << 20;
/// Text per parallel chunk: small, so that a daemon's reload of changed
/// databases holds little beside the engine in use.
pub(crate) const CHUNK_BYTES: usize = 256 << 10;

impl HashSet3 {
    /// Append another set's records, shifting their name ids.
    pub(crate) fn extend_shifted(&mut self, other: HashSet3, shift: u32) {
        extend(&mut self.md5, other.md5, shift);
        extend(&mut self.sha1, other.sha1, shift);
        extend(&mut self.sha256, other.sha256, shift);
    }
}

fn extend<const N: usize>(to: &mut Vec<HashRecord<N>>, from: Vec<HashRecord<N>>, shift: u32) {
    to.extend(from.into_iter().map(|mut r| {
        r.name.0 += shift;
        r
    }));
}

/// What a chunk of a file parsed into.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) names: Names,
    pub(crate) hashes: HashSet3,
    pub(crate) bodies: Vec<crate::BodySig>,
    pub(crate) logical: Vec<crate::LogicalSig>,
    pub(crate) containers: Vec<crate::ContainerSig>,
    pub(crate) file_types: Vec<crate::FtmRule>,
    pub(crate) loaded: u64,
    pub(crate) lines: u64,
    pub(crate) stats: LoadStats,
    /// Errors with their 1-based line (in the chunk, then in the file).
    pub(crate) errors: Vec<(u64, Error)>,
}

pub(crate) fn add_stats(to: &mut LoadStats, from: LoadStats) {
    to.out_of_level += from.out_of_level;
    to.ignored += from.ignored;
    to.pua_not_loaded += from.pua_not_loaded;
    for (k, v) in from.unsupported {
        *to.unsupported.entry(k).or_default() += v;
    }
}

/// Read `r` to its end in batches, apply `chunk` to every piece in
/// parallel, and give the results to `sink` in order, with error lines
/// counted from the start of the input.
pub(crate) fn parse_stream<F>(
    mut r: impl Read,
    chunk: F,
    mut sink: impl FnMut(Parsed),
) -> std::io::Result<()>
where
    F: Fn(&[u8]) -> Parsed + Sync,
{
    let batch = (CHUNK_BYTES * rayon::current_num_threads()).clamp(2 * CHUNK_BYTES, BATCH_BYTES);
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0;
    loop {
        let eof = fill(&mut r, &mut buf, batch)?;
        let cut = if eof {
            buf.len()
        } else {
            // A line longer than a batch is parsed as it is (and reported
            // as malformed) rather than buffered without bound.
            memchr::memrchr(b'\n', &buf).map_or(buf.len(), |i| i + 1)
        };
        let pieces = split_at_lines(&buf[..cut], CHUNK_BYTES);
        let parsed: Vec<Parsed> = pieces.par_iter().map(|p| chunk(p)).collect();
        for mut p in parsed {
            for (line, _) in &mut p.errors {
                *line += base;
            }
            base += p.lines;
            sink(p);
        }
        buf.drain(..cut);
        if eof {
            return Ok(());
        }
    }
}

/// Read until `buf` holds `size` bytes or the input ends; `true` at the end.
fn fill(r: &mut impl Read, buf: &mut Vec<u8>, size: usize) -> std::io::Result<bool> {
    let want = size.saturating_sub(buf.len()) as u64;
    let got = r.by_ref().take(want).read_to_end(buf)?;
    Ok((got as u64) < want)
}

/// Parse hash lines of one chunk.
pub(crate) fn hash_chunk(chunk: &[u8], parser: &HashParser<'_>) -> Parsed {
    let mut p = Parsed::default();
    for line in lines(chunk) {
        p.lines += 1;
        match parser.parse_line(line, &mut p.hashes, &mut p.names) {
            Ok(LineOutcome::Added) => p.loaded += 1,
            Ok(LineOutcome::Comment) => {}
            Ok(LineOutcome::OutOfLevel) => p.stats.out_of_level += 1,
            Ok(LineOutcome::Ignored) => p.stats.ignored += 1,
            Ok(LineOutcome::Unsupported(what)) => p.stats.unsupported_one(what),
            Err(e) => p.errors.push((p.lines, e)),
        }
    }
    p
}

/// Parse body-signature lines of one chunk.
pub(crate) fn body_chunk(chunk: &[u8], parser: &crate::body::BodyParser<'_>) -> Parsed {
    record_chunk(
        chunk,
        |line, names| parser.parse_line(line, names),
        |p, sig| p.bodies.push(sig),
    )
}

/// Parse logical-signature lines of one chunk.
pub(crate) fn logical_chunk(chunk: &[u8], parser: &crate::logical::LogicalParser<'_>) -> Parsed {
    record_chunk(
        chunk,
        |line, names| parser.parse_line(line, names),
        |p, sig| p.logical.push(sig),
    )
}

/// Parse container-metadata lines of one chunk.
pub(crate) fn container_chunk(chunk: &[u8], parser: &crate::cdb::ContainerParser<'_>) -> Parsed {
    record_chunk(
        chunk,
        |line, names| parser.parse_line(line, names),
        |p, sig| p.containers.push(sig),
    )
}

/// Parse file type magic lines of one chunk (rules, not signatures: they
/// are not counted as loaded signatures).
pub(crate) fn ftm_chunk(chunk: &[u8], parser: &crate::FtmParser) -> Parsed {
    let mut p = record_chunk(
        chunk,
        |line, names| parser.parse_line(line, names),
        |p, rule| p.file_types.push(rule),
    );
    p.loaded = 0;
    p
}

/// Parse the lines of one chunk with a parser that yields one record per
/// line, kept by `keep`.
fn record_chunk<T>(
    chunk: &[u8],
    parse: impl Fn(&[u8], &mut Names) -> Result<(LineOutcome, Option<T>), Error>,
    keep: impl Fn(&mut Parsed, T),
) -> Parsed {
    let mut p = Parsed::default();
    for line in lines(chunk) {
        p.lines += 1;
        match parse(line, &mut p.names) {
            Ok((LineOutcome::Added, Some(sig))) => {
                p.loaded += 1;
                keep(&mut p, sig);
            }
            Ok((LineOutcome::OutOfLevel, _)) => p.stats.out_of_level += 1,
            Ok((LineOutcome::Ignored, _)) => p.stats.ignored += 1,
            Ok((LineOutcome::Unsupported(what), _)) => p.stats.unsupported_one(what),
            Ok(_) => {}
            Err(e) => p.errors.push((p.lines, e)),
        }
    }
    p
}

/// Count the signature lines (not blank, not comments) of one chunk.
pub(crate) fn count_chunk(chunk: &[u8]) -> u64 {
    lines(chunk)
        .filter(|l| {
            let l = crate::hash::trim_cr(l);
            !l.is_empty() && l[0] != b'#'
        })
        .count() as u64
}

/// The lines of a chunk, without the empty text after a final newline.
fn lines(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let ends = memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
    let mut start = 0;
    ends.take(if chunk.is_empty() { 0 } else { usize::MAX })
        .map(move |end| {
            let line = &body[start..end];
            start = end + 1;
            line
        })
}

/// Cut `data` into pieces of about `size` bytes, each ending at a newline.
pub(crate) fn split_at_lines(data: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() > size {
        let cut = match memchr::memchr(b'\n', &rest[size..]) {
            Some(i) => size + i + 1,
            None => rest.len(),
        };
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashLayout;
    use crate::IgnoreList;

    #[test]
    fn chunks_end_at_lines() {
        let data = b"aa\nbbbb\ncc\nd";
        let chunks = split_at_lines(data, 3);
        assert_eq!(chunks.concat(), data.to_vec());
        for c in &chunks[..chunks.len() - 1] {
            assert_eq!(c.last(), Some(&b'\n'));
        }
        assert!(split_at_lines(b"", 3).is_empty());
        assert_eq!(lines(b"a\n\nb\n").count(), 3);
        assert_eq!(lines(b"a").count(), 1);
        assert_eq!(lines(b"").count(), 0);
    }

    #[test]
    fn streamed_line_numbers_and_ids_are_those_of_the_file() {
        let mut text = String::new();
        for i in 0..200_000 {
            if i == 123_456 {
                text.push_str("not a signature\n");
            } else {
                text.push_str(&format!("{:032x}:{}:Sig-{i}\n", i + 1, i + 1));
            }
        }
        assert!(text.len() > BATCH_BYTES / 4);
        let ign = IgnoreList::default();
        let parser = HashParser {
            layout: HashLayout::HashFirst,
            flevel: crate::FLEVEL,
            ignore: &ign,
        };
        // Through a reader that hands out 1000 bytes a time.
        let (mut names, mut set, mut errors, mut loaded) =
            (Names::new(), HashSet3::default(), vec![], 0);
        parse_stream(
            Trickle(text.as_bytes()),
            |c| hash_chunk(c, &parser),
            |p| {
                let shift = names.append(p.names).unwrap();
                set.extend_shifted(p.hashes, shift);
                errors.extend(p.errors);
                loaded += p.loaded;
            },
        )
        .unwrap();
        assert_eq!(loaded, 199_999);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 123_457);
        assert_eq!(set.md5.len(), 199_999);
        let last = set.md5.last().unwrap();
        assert_eq!(names.get(last.name), "Sig-199999");
    }

    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1000).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
}
