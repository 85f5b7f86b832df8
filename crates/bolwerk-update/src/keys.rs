//! Ed25519 signing keys, kept outside the repository, and their public
//! halves as TUF key objects.
//!
//! A private key is a PKCS#8 document in a PEM file (`PRIVATE KEY`), made
//! with mode 0600 and never overwritten; its public key sits beside it in
//! `NAME.pub` as the JSON key object TUF puts in `root.json`. Each signer
//! keeps their own key on their own machine and hands out only the `.pub`.

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::key::{Ed25519Key, Ed25519Scheme, Key};

use crate::error::{Error, ErrorKind, Result};

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";
/// A key file larger than this is not a key.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// A private Ed25519 key that can sign metadata.
pub struct KeyPair {
    pair: Ed25519KeyPair,
    public: Key,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({})", self.key_id())
    }
}

impl KeyPair {
    /// Makes a new key, writes it to `path` (0600, refusing to overwrite)
    /// and its public key to `path.pub`.
    pub fn generate(path: &Path) -> Result<KeyPair> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| Error::new(ErrorKind::Io, "generating an Ed25519 key failed"))?;
        let pem = to_pem(doc.as_ref());
        write_private(path, pem.as_bytes())?;
        let pair = KeyPair::from_pkcs8(doc.as_ref()).map_err(|e| e.with_path(path))?;
        write_public(&public_path(path), &pair.public)?;
        Ok(pair)
    }

    /// Reads a private key file.
    pub fn read(path: &Path) -> Result<KeyPair> {
        let text = read_small(path)?;
        let der = from_pem(&text).map_err(|e| e.with_path(path))?;
        KeyPair::from_pkcs8(&der).map_err(|e| e.with_path(path))
    }

    fn from_pkcs8(der: &[u8]) -> Result<KeyPair> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der))
            .map_err(|_| Error::new(ErrorKind::Format, "not an Ed25519 PKCS#8 private key"))?;
        let public = public_key(pair.public_key().as_ref());
        Ok(KeyPair { pair, public })
    }

    /// The TUF key object of the public half.
    pub fn public(&self) -> &Key {
        &self.public
    }

    /// The raw 32-byte public key.
    pub fn public_bytes(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The TUF key id (hex SHA-256 of the canonical key object).
    pub fn key_id(&self) -> String {
        key_id(&self.public)
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair.sign(msg).as_ref().to_vec()
    }
}

/// The TUF key object for a raw Ed25519 public key.
pub fn public_key(raw: &[u8]) -> Key {
    Key::Ed25519 {
        keyval: Ed25519Key {
            public: Decoded::<Hex>::from(raw.to_vec()),
            _extra: Default::default(),
        },
        scheme: Ed25519Scheme::Ed25519,
        _extra: Default::default(),
    }
}

/// The key id of a TUF key object, in hex.
pub fn key_id(key: &Key) -> String {
    key.key_id().map(|id| hex(&id)).unwrap_or_default()
}

/// Reads a public key file (`NAME.pub`, a TUF key object).
pub fn read_public(path: &Path) -> Result<Key> {
    let text = read_small(path)?;
    let key: Key = serde_json::from_str(&text).map_err(|e| {
        Error::new(ErrorKind::Format, format!("not a TUF key: {e}")).with_path(path)
    })?;
    if !matches!(key, Key::Ed25519 { .. }) {
        return Err(
            Error::new(ErrorKind::Format, "only Ed25519 keys are accepted").with_path(path),
        );
    }
    Ok(key)
}

/// Where the public key of private key `path` is written.
pub fn public_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

fn write_public(path: &Path, key: &Key) -> Result<()> {
    let text = serde_json::to_string_pretty(key).expect("a key serialises");
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

pub(crate) fn read_small(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_KEY_FILE {
        return Err(Error::new(ErrorKind::Format, "too large for a key file").with_path(path));
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn to_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("{PEM_BEGIN}\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out + PEM_END + "\n"
}

fn from_pem(text: &str) -> Result<Vec<u8>> {
    let body = text
        .trim()
        .strip_prefix(PEM_BEGIN)
        .and_then(|r| r.strip_suffix(PEM_END))
        .ok_or_else(|| Error::new(ErrorKind::Format, "not a PEM private key (PRIVATE KEY)"))?;
    let b64: String = body.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| Error::new(ErrorKind::Format, format!("bad base64 in PEM: {e}")))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_reads_back_and_signs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.key");
        let made = KeyPair::generate(&path).unwrap();
        let read = KeyPair::read(&path).unwrap();
        assert_eq!(made.key_id(), read.key_id());
        assert_eq!(read_public(&public_path(&path)).unwrap(), *made.public());
        let sig = read.sign(b"msg");
        let pk = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ED25519,
            made.public_bytes(),
        );
        pk.verify(b"msg", &sig).unwrap();
        assert!(pk.verify(b"msh", &sig).is_err());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(KeyPair::generate(&path).is_err(), "overwrote a key");
    }

    #[test]
    fn garbage_key_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = KeyPair::read(&path).unwrap_err();
        assert!(err.to_string().contains("bad.key"), "{err}");
    }
}
