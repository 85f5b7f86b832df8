//! Signed notes (C2SP `signed-note`), checkpoints (C2SP `tlog-checkpoint`)
//! and witness cosignatures (C2SP `tlog-cosignature`).
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one line
//! per signature: `— NAME BASE64(KEY_ID[4] || SIGNATURE)`. The key ID is
//! `SHA-256(NAME || "\n" || ALG || PUBLIC_KEY)[:4]`, with ALG 0x01 for a
//! plain Ed25519 note signature (the log's) and 0x04 for a timestamped
//! Ed25519 cosignature (a witness's), whose signature field is an 8-byte
//! big-endian time followed by the Ed25519 signature over
//! `"cosignature/v1\ntime T\n" || NOTE_TEXT`. Public keys are exchanged as
//! verifier keys (`NAME+KEY_ID_HEX+BASE64(ALG || PUBLIC_KEY)`).
//! A verifier ignores signatures whose name or key ID it does not know.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::merkle::Hash;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::KeyPair;

/// Algorithm byte of a log's Ed25519 note signature.
pub const ALG_ED25519: u8 = 0x01;
/// Algorithm byte of a witness's timestamped Ed25519 cosignature.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// A note larger than this is refused.
pub const MAX_NOTE: usize = 1024 * 1024;
/// More signature lines than this are refused.
const MAX_SIGNATURES: usize = 100;
const DASH: &str = "\u{2014} ";

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Log, msg)
}

/// A public key that verifies notes or cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    /// The key's name (the log origin, or the witness's name).
    pub name: String,
    /// [`ALG_ED25519`] or [`ALG_COSIGNATURE_V1`].
    pub alg: u8,
    /// The Ed25519 public key.
    pub public: [u8; 32],
}

impl VerifierKey {
    /// The key for `pair` under `name`.
    pub fn new(name: &str, alg: u8, pair: &KeyPair) -> Result<VerifierKey> {
        check_key_name(name)?;
        let public = pair
            .public_bytes()
            .try_into()
            .map_err(|_| bad("an Ed25519 public key is 32 bytes"))?;
        Ok(VerifierKey {
            name: name.to_string(),
            alg,
            public,
        })
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> [u8; 4] {
        let mut h = Sha256::new();
        h.update(self.name.as_bytes());
        h.update(b"\n");
        h.update([self.alg]);
        h.update(self.public);
        let d = h.finalize();
        [d[0], d[1], d[2], d[3]]
    }

    /// Parses `NAME+HEXID+BASE64`.
    pub fn parse(vkey: &str) -> Result<VerifierKey> {
        // The key's base64 may itself contain '+': split off two fields only.
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad(format!("{vkey:?} is not a verifier key (NAME+ID+KEY)")));
        };
        check_key_name(name)?;
        let raw = b64()
            .decode(key)
            .map_err(|e| bad(format!("verifier key {name}: {e}")))?;
        let (alg, public) = match raw.split_first() {
            Some((&a, rest)) if rest.len() == 32 => (a, rest),
            _ => return Err(bad(format!("verifier key {name}: not an Ed25519 key"))),
        };
        let k = VerifierKey {
            name: name.to_string(),
            alg,
            public: public.try_into().expect("32 bytes"),
        };
        if crate::keys::hex(&k.key_id()) != id.to_ascii_lowercase() {
            return Err(bad(format!(
                "verifier key {name}: key ID {id} does not match the key"
            )));
        }
        Ok(k)
    }

    /// Formats as `NAME+HEXID+BASE64`.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(&self.public);
        format!(
            "{}+{}+{}",
            self.name,
            crate::keys::hex(&self.key_id()),
            b64().encode(raw)
        )
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, &self.public)
            .verify(msg, sig)
            .is_ok()
    }
}

fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(['+', ' ', '\n']) || name.chars().any(char::is_control) {
        return Err(bad(format!("{name:?} is not a key name")));
    }
    Ok(())
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    /// The signer's name.
    pub name: String,
    /// Key ID then the signature bytes.
    pub blob: Vec<u8>,
}

/// A signed note: text and signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// The signatures, in order.
    pub signatures: Vec<SignatureLine>,
}

impl Note {
    /// Parses a note (bounded in size and signature count).
    pub fn parse(data: &[u8]) -> Result<Note> {
        if data.len() > MAX_NOTE {
            return Err(bad("note too large"));
        }
        let s = std::str::from_utf8(data).map_err(|_| bad("note is not UTF-8"))?;
        let split = s
            .rfind("\n\n")
            .ok_or_else(|| bad("note has no signature block"))?;
        let (text, sigs) = (&s[..split + 1], &s[split + 2..]);
        let mut signatures = Vec::new();
        for line in sigs.split_terminator('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(bad("too many note signatures"));
            }
            signatures.push(parse_signature_line(line)?);
        }
        if signatures.is_empty() || !sigs.ends_with('\n') {
            return Err(bad("note signature block is empty or unterminated"));
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// The note as text.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&format!("{DASH}{} {}\n", s.name, b64().encode(&s.blob)));
        }
        out
    }

    /// Signs `text` as a log (algorithm 0x01).
    pub fn sign(text: &str, key: &VerifierKey, pair: &KeyPair) -> Note {
        let mut blob = key.key_id().to_vec();
        blob.extend(pair.sign(text.as_bytes()));
        Note {
            text: text.to_string(),
            signatures: vec![SignatureLine {
                name: key.name.clone(),
                blob,
            }],
        }
    }

    /// Whether `key` (a log key) signed this note.
    pub fn verified_by(&self, key: &VerifierKey) -> bool {
        key.alg == ALG_ED25519
            && self
                .lines_of(key)
                .any(|sig| key.verify(self.text.as_bytes(), sig))
    }

    /// Adds a witness cosignature made at `time` (seconds since the epoch).
    pub fn cosign(&mut self, key: &VerifierKey, pair: &KeyPair, time: u64) {
        let mut blob = key.key_id().to_vec();
        blob.extend(time.to_be_bytes());
        blob.extend(pair.sign(&cosigned_message(&self.text, time)));
        self.signatures.retain(|s| s.name != key.name);
        self.signatures.push(SignatureLine {
            name: key.name.clone(),
            blob,
        });
    }

    /// The time of `key`'s valid cosignature, if there is one.
    pub fn cosigned_by(&self, key: &VerifierKey) -> Option<u64> {
        if key.alg != ALG_COSIGNATURE_V1 {
            return None;
        }
        self.lines_of(key).find_map(|rest| {
            let (time, sig) = rest.split_at_checked(8)?;
            let time = u64::from_be_bytes(time.try_into().ok()?);
            (time < 1 << 63 && key.verify(&cosigned_message(&self.text, time), sig)).then_some(time)
        })
    }

    /// Signature bodies (after the key ID) on lines with `key`'s name and ID.
    fn lines_of<'a>(&'a self, key: &VerifierKey) -> impl Iterator<Item = &'a [u8]> + 'a {
        let id = key.key_id();
        let name = key.name.clone();
        self.signatures
            .iter()
            .filter(move |s| s.name == name && s.blob.len() > 4 && s.blob[..4] == id)
            .map(|s| &s.blob[4..])
    }
}

fn cosigned_message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

fn parse_signature_line(line: &str) -> Result<SignatureLine> {
    let rest = line
        .strip_prefix(DASH)
        .ok_or_else(|| bad(format!("bad note signature line {line:?}")))?;
    let (name, sig) = rest
        .split_once(' ')
        .ok_or_else(|| bad(format!("bad note signature line {line:?}")))?;
    let blob = b64()
        .decode(sig)
        .map_err(|e| bad(format!("note signature by {name}: {e}")))?;
    if blob.len() < 5 {
        return Err(bad(format!("note signature by {name} is too short")));
    }
    Ok(SignatureLine {
        name: name.to_string(),
        blob,
    })
}

/// A checkpoint: the log's origin, its size and its root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Root hash of the tree of that size.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64().encode(self.root)
        )
    }

    /// Reads the first three lines of a note's text (extension lines are
    /// allowed and carry no meaning here).
    pub fn parse(text: &str) -> Result<Checkpoint> {
        let mut lines = text.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty());
        let size = lines
            .next()
            .and_then(|s| (s == "0" || !s.starts_with('0')).then(|| s.parse::<u64>().ok())?);
        let root = lines
            .next()
            .and_then(|r| b64().decode(r).ok())
            .and_then(|r| <Hash>::try_from(r).ok());
        match (origin, size, root) {
            (Some(origin), Some(size), Some(root)) => Ok(Checkpoint {
                origin: origin.to_string(),
                size,
                root,
            }),
            _ => Err(bad("not a checkpoint (origin, size, base64 root hash)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(dir: &std::path::Path, name: &str, alg: u8) -> (VerifierKey, KeyPair) {
        let pair = KeyPair::generate(&dir.join(name.replace('/', "_"))).unwrap();
        (VerifierKey::new(name, alg, &pair).unwrap(), pair)
    }

    /// The checkpoint printed in C2SP tlog-cosignature parses, and its
    /// note structure round-trips byte for byte.
    #[test]
    fn spec_example_parses_and_round_trips() {
        let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
            \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let note = Note::parse(text.as_bytes()).unwrap();
        assert_eq!(note.to_text(), text);
        let cp = Checkpoint::parse(&note.text).unwrap();
        assert_eq!(
            (cp.origin.as_str(), cp.size),
            ("example.com/behind-the-sofa", 20852163)
        );
        assert_eq!(cp.to_text(), note.text);
    }

    #[test]
    fn log_signature_and_cosignature_verify_and_resist_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let (log, log_pair) = key(dir.path(), "bolwerk.test/log", ALG_ED25519);
        let (w, w_pair) = key(dir.path(), "witness.test/w1", ALG_COSIGNATURE_V1);
        let cp = Checkpoint {
            origin: "bolwerk.test/log".into(),
            size: 3,
            root: [7; 32],
        };
        let mut note = Note::sign(&cp.to_text(), &log, &log_pair);
        note.cosign(&w, &w_pair, 1_700_000_000);
        let parsed = Note::parse(note.to_text().as_bytes()).unwrap();
        assert!(parsed.verified_by(&log));
        assert_eq!(parsed.cosigned_by(&w), Some(1_700_000_000));
        assert!(!parsed.verified_by(&w), "a cosigner key is not a log key");
        // The same key under another algorithm byte has another ID.
        let as_log = VerifierKey {
            alg: ALG_ED25519,
            ..w.clone()
        };
        assert!(!parsed.verified_by(&as_log));
        let mut forged = parsed.clone();
        forged.text = forged.text.replace("\n3\n", "\n4\n");
        assert!(!forged.verified_by(&log));
        assert_eq!(forged.cosigned_by(&w), None);
        assert_eq!(VerifierKey::parse(&log.to_vkey()).unwrap(), log);
        let mut vk = log.to_vkey();
        vk.replace_range(vk.find('+').unwrap() + 1..vk.find('+').unwrap() + 3, "00");
        assert!(VerifierKey::parse(&vk).is_err() || vk == log.to_vkey());
    }

    /// Regression: a verifier key whose base64 contains '+' (about one in
    /// three do) parses.
    #[test]
    fn verifier_key_with_plus_in_base64_parses() {
        let k = VerifierKey {
            name: "bolwerk.test/packs".into(),
            alg: ALG_ED25519,
            public: [0xfb; 32],
        };
        let text = k.to_vkey();
        assert!(text.matches('+').count() > 2, "{text}");
        assert_eq!(VerifierKey::parse(&text).unwrap(), k);
    }

    #[test]
    fn malformed_notes_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"no signatures\n",
            b"a\n\nnot a signature\n",
            b"a\n\n\xe2\x80\x94 name !!!\n",
            b"a\n\n\xe2\x80\x94 name AAAA\n",
            b"\xff\n\n",
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::parse("origin\n01\nAAAA\n").is_err());
        assert!(Checkpoint::parse("origin\n1\n").is_err());
    }
}
