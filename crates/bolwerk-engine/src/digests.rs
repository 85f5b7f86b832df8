//! Digests of one byte range, computed at most once each, and only when asked.

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

/// Lazily computed MD5, SHA-1 and SHA-256 of `data`.
pub(crate) struct Digests<'a> {
    data: &'a [u8],
    md5: Option<[u8; 16]>,
    sha1: Option<[u8; 20]>,
    sha256: Option<[u8; 32]>,
}

impl<'a> Digests<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Digests {
            data,
            md5: None,
            sha1: None,
            sha256: None,
        }
    }

    pub(crate) fn md5(&mut self) -> &[u8; 16] {
        let data = self.data;
        self.md5.get_or_insert_with(|| Md5::digest(data).into())
    }

    pub(crate) fn sha1(&mut self) -> &[u8; 20] {
        let data = self.data;
        self.sha1.get_or_insert_with(|| Sha1::digest(data).into())
    }

    pub(crate) fn sha256(&mut self) -> &[u8; 32] {
        let data = self.data;
        self.sha256
            .get_or_insert_with(|| Sha256::digest(data).into())
    }
}
