//! Digests of one object, computed at most once each, and only when asked.
//!
//! One [`Digests`] serves every pass over an object that needs a digest:
//! the hash signatures, the allow lists, and the scanner's indicators, so
//! an object is hashed with each function once whoever asks. Each digest is
//! one sweep over the object, [`CHUNK`] by chunk, handing the pages behind
//! it to the object's [`Pages`].

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

use crate::pages::{Pages, CHUNK};

/// Lazily computed MD5, SHA-1 and SHA-256 of an object.
#[derive(Debug)]
pub struct Digests<'a> {
    data: &'a [u8],
    pages: Pages<'a>,
    md5: Option<[u8; 16]>,
    sha1: Option<[u8; 20]>,
    sha256: Option<[u8; 32]>,
}

impl<'a> Digests<'a> {
    /// The digests of `data`, held in memory.
    pub fn new(data: &'a [u8]) -> Self {
        Self::paged(data, Pages::default())
    }

    /// The digests of `data`, whose sweeps hand the pages behind them to
    /// `pages` (see [`Pages`]).
    pub fn paged(data: &'a [u8], pages: Pages<'a>) -> Self {
        Digests {
            data,
            pages,
            md5: None,
            sha1: None,
            sha256: None,
        }
    }

    /// The bytes digested.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Where the object's sweeps hand back its pages.
    pub fn pages(&self) -> Pages<'a> {
        self.pages
    }

    /// Whether the MD5 is known already.
    pub(crate) fn has_md5(&self) -> bool {
        self.md5.is_some()
    }

    /// The MD5, computed by a sweep that hashed the object as it passed.
    pub(crate) fn set_md5(&mut self, md5: [u8; 16]) {
        self.md5 = Some(md5);
    }

    /// MD5 of the object.
    pub fn md5(&mut self) -> &[u8; 16] {
        let (data, pages) = (self.data, self.pages);
        self.md5
            .get_or_insert_with(|| sweep::<Md5>(data, pages).into())
    }

    /// SHA-1 of the object.
    pub fn sha1(&mut self) -> &[u8; 20] {
        let (data, pages) = (self.data, self.pages);
        self.sha1
            .get_or_insert_with(|| sweep::<Sha1>(data, pages).into())
    }

    /// SHA-256 of the object.
    pub fn sha256(&mut self) -> &[u8; 32] {
        let (data, pages) = (self.data, self.pages);
        self.sha256
            .get_or_insert_with(|| sweep::<Sha256>(data, pages).into())
    }
}

/// One digest of `data`, chunk by chunk.
fn sweep<D: Digest>(data: &[u8], pages: Pages<'_>) -> md5::digest::Output<D> {
    let mut d = D::new();
    for (k, chunk) in data.chunks(CHUNK).enumerate() {
        d.update(chunk);
        pages.behind(data, k * CHUNK + chunk.len());
    }
    d.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_digests_are_the_digests_of_the_whole() {
        let data: Vec<u8> = (0..CHUNK * 2 + 12_345).map(|i| (i % 253) as u8).collect();
        let mut d = Digests::new(&data);
        assert_eq!(d.md5(), &<[u8; 16]>::from(Md5::digest(&data)));
        assert_eq!(d.sha1(), &<[u8; 20]>::from(Sha1::digest(&data)));
        assert_eq!(d.sha256(), &<[u8; 32]>::from(Sha256::digest(&data)));
    }
}
