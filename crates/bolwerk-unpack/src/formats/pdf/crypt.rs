//! PDF encryption with an empty user password (ISO 32000-2, 7.6): the
//! form a document takes when it may be opened by anyone but is encrypted
//! all the same — which hides its streams from a scanner that does not
//! decrypt them.
//!
//! The standard security handler's revisions 2 to 4 (RC4 of 40 to 128
//! bits, AES-128) derive a file key from the padded empty password, the
//! `/O` entry, the permissions and the first `/ID` string (50 more rounds
//! of MD5 from revision 3), and a key per object from it; revision 6
//! (AES-256) derives the file key by the iterated SHA-2 hash of ISO
//! 32000-2's algorithm 2.B and unwraps it from `/UE` (revision 5, its
//! draft, with one SHA-256). The key is only used when the empty password
//! is the user password (checked against `/U`); otherwise the streams stay
//! as they are.

use aes::cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use md5::{Digest, Md5};
use rc4::StreamCipher;

/// The password padding of the standard security handler.
const PAD: [u8; 32] = [
    0x28, 0xbf, 0x4e, 0x5e, 0x4e, 0x75, 0x8a, 0x41, 0x64, 0x00, 0x4e, 0x56, 0xff, 0xfa, 0x01, 0x08,
    0x2e, 0x2e, 0x00, 0xb6, 0xd0, 0x68, 0x3e, 0x80, 0x2f, 0x0c, 0xa9, 0xfe, 0x64, 0x53, 0x69, 0x7a,
];

/// How streams are encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cipher {
    Rc4,
    Aes128,
    Aes256,
}

/// What decrypts a document's streams.
#[derive(Debug)]
pub(crate) struct Decrypter {
    key: Vec<u8>,
    cipher: Cipher,
    /// The object holding the encryption dictionary (not encrypted).
    dict_object: u32,
}

impl Decrypter {
    /// The decrypter of `data`, when it is encrypted for an empty user
    /// password by the standard handler.
    pub(crate) fn for_document(data: &[u8]) -> Option<Decrypter> {
        let (num, gen) = encrypt_ref(data)?;
        let dict = object_text(data, num, gen)?;
        if name(dict, b"/Filter").as_deref() != Some(b"Standard".as_slice()) {
            return None;
        }
        let v = integer(dict, b"/V").unwrap_or(0);
        let r = integer(dict, b"/R")?;
        let o = string(dict, b"/O")?;
        let u = string(dict, b"/U")?;
        let (key, cipher) = if r >= 5 {
            let ue = string(dict, b"/UE")?;
            (key_aes256(r, &u, &ue)?, Cipher::Aes256)
        } else {
            let p = integer(dict, b"/P")? as i32;
            let id = first_id(data)?;
            // The key length of the top level, not a crypt filter's.
            let default_bits = if v == 4 { 128 } else { 40 };
            let bits = integer(&outside_crypt_filters(dict), b"/Length").unwrap_or(default_bits);
            let len = if r == 2 {
                5
            } else {
                (bits / 8).clamp(5, 16) as usize
            };
            let metadata = !matches!(name(dict, b"/EncryptMetadata").as_deref(), Some(b"false"));
            let key = key_rc4_era(r, len, &o, p, &id, metadata);
            if !user_password_is_empty(r, &key, &u, &id) {
                return None;
            }
            let aes = v == 4 && memchr::memmem::find(dict, b"/AESV2").is_some();
            (key, if aes { Cipher::Aes128 } else { Cipher::Rc4 })
        };
        Some(Decrypter {
            key,
            cipher,
            dict_object: num,
        })
    }

    /// Decrypt the stream of object `num` `gen`; `None` for the
    /// encryption dictionary's own object and for data too short to hold
    /// AES's initialisation vector.
    pub(crate) fn decrypt(&self, num: u32, gen: u16, data: &[u8]) -> Option<Vec<u8>> {
        if num == self.dict_object {
            return None;
        }
        match self.cipher {
            Cipher::Rc4 => {
                let mut out = data.to_vec();
                rc4_apply(&self.object_key(num, gen, false), &mut out);
                Some(out)
            }
            Cipher::Aes128 => {
                aes_cbc_decrypt::<aes::Aes128>(&self.object_key(num, gen, true), data)
            }
            Cipher::Aes256 => aes_cbc_decrypt::<aes::Aes256>(&self.key, data),
        }
    }

    /// Algorithm 1: the file key, the object's number and generation (and
    /// for AES, `sAlT`) through MD5, cut to the key's length plus 5.
    fn object_key(&self, num: u32, gen: u16, aes: bool) -> Vec<u8> {
        let mut h = Md5::new();
        h.update(&self.key);
        h.update(&num.to_le_bytes()[..3]);
        h.update(gen.to_le_bytes());
        if aes {
            h.update(b"sAlT");
        }
        let digest = h.finalize();
        digest[..(self.key.len() + 5).min(16)].to_vec()
    }
}

/// Whether the document names an encryption dictionary of the standard
/// security handler (whatever its password).
pub(crate) fn is_encrypted(data: &[u8]) -> bool {
    encrypt_ref(data)
        .and_then(|(num, gen)| object_text(data, num, gen))
        .is_some_and(|dict| name(dict, b"/Filter").as_deref() == Some(b"Standard".as_slice()))
}

/// Algorithm 2 with the empty password.
fn key_rc4_era(r: i64, len: usize, o: &[u8], p: i32, id: &[u8], metadata: bool) -> Vec<u8> {
    let mut h = Md5::new();
    h.update(PAD);
    h.update(&o[..o.len().min(32)]);
    h.update(p.to_le_bytes());
    h.update(id);
    if r >= 4 && !metadata {
        h.update([0xff; 4]);
    }
    let mut digest = h.finalize().to_vec();
    if r >= 3 {
        for _ in 0..50 {
            digest = Md5::digest(&digest[..len]).to_vec();
        }
    }
    digest.truncate(len);
    digest
}

/// Algorithms 4 and 5: whether `key` encrypts the padding (revision 2) or
/// the hash of the padding and ID (revisions 3 and 4) to `/U`.
fn user_password_is_empty(r: i64, key: &[u8], u: &[u8], id: &[u8]) -> bool {
    if r == 2 {
        let mut x = PAD;
        rc4_apply(key, &mut x);
        return u.get(..32) == Some(x.as_slice());
    }
    let mut x: Vec<u8> = Md5::new()
        .chain_update(PAD)
        .chain_update(id)
        .finalize()
        .to_vec();
    for i in 0..20u8 {
        let k: Vec<u8> = key.iter().map(|b| b ^ i).collect();
        rc4_apply(&k, &mut x);
    }
    u.get(..16) == Some(x.as_slice())
}

/// Revisions 5 and 6: check the empty password against `/U`'s validation
/// salt, then unwrap the file key from `/UE` with the hash of its key salt.
fn key_aes256(r: i64, u: &[u8], ue: &[u8]) -> Option<Vec<u8>> {
    let (hash, validation, key_salt) = (u.get(..32)?, u.get(32..40)?, u.get(40..48)?);
    if hash_2b(r, validation) != hash {
        return None;
    }
    let wrap = hash_2b(r, key_salt);
    let cipher = aes::Aes256::new_from_slice(&wrap).ok()?;
    // CBC with a zero IV and no padding: the 32 bytes of `/UE`.
    let mut prev = [0u8; 16];
    let mut key = Vec::with_capacity(32);
    for chunk in ue.get(..32)?.chunks_exact(16) {
        let mut block = Block::<aes::Aes256>::try_from(chunk).ok()?;
        cipher.decrypt_block(&mut block);
        key.extend(block.iter().zip(prev).map(|(a, b)| a ^ b));
        prev.copy_from_slice(chunk);
    }
    Some(key)
}

/// Algorithm 2.B for the empty password and no user key (revision 6);
/// revision 5 stops at the first SHA-256.
fn hash_2b(r: i64, salt: &[u8]) -> Vec<u8> {
    let mut k = sha2::Sha256::digest(salt).to_vec();
    if r == 5 {
        return k;
    }
    let mut round = 0usize;
    loop {
        // 64 copies of (password ‖ K ‖ user key): just K here.
        let k1 = k.repeat(64);
        let Ok(aes) = aes::Aes128::new_from_slice(&k[..16]) else {
            return k;
        };
        let mut prev: [u8; 16] = k[16..32].try_into().expect("16 bytes");
        let mut e = Vec::with_capacity(k1.len());
        for chunk in k1.chunks_exact(16) {
            let mut block = Block::<aes::Aes128>::default();
            for (b, (x, p)) in block.iter_mut().zip(chunk.iter().zip(prev)) {
                *b = x ^ p;
            }
            aes.encrypt_block(&mut block);
            prev.copy_from_slice(&block);
            e.extend_from_slice(&block);
        }
        let sum: u32 = e[..16].iter().map(|&b| u32::from(b)).sum();
        k = match sum % 3 {
            0 => sha2::Sha256::digest(&e).to_vec(),
            1 => sha2::Sha384::digest(&e).to_vec(),
            _ => sha2::Sha512::digest(&e).to_vec(),
        };
        round += 1;
        let last = usize::from(*e.last().expect("not empty"));
        if round >= 64 && last + 32 <= round {
            break;
        }
    }
    k.truncate(32);
    k
}

fn rc4_apply(key: &[u8], data: &mut [u8]) {
    if let Ok(mut c) = rc4::Rc4::new_from_slice(key) {
        c.apply_keystream(data);
    }
}

/// AES-CBC with the IV in the first 16 bytes; PKCS#7 padding removed when
/// it is well formed.
fn aes_cbc_decrypt<C: BlockCipherDecrypt + KeyInit>(key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let cipher = C::new_from_slice(key).ok()?;
    let (iv, body) = (data.get(..16)?, &data[16..]);
    let mut prev: Vec<u8> = iv.to_vec();
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks_exact(16) {
        let mut block = Block::<C>::try_from(chunk).ok()?;
        cipher.decrypt_block(&mut block);
        out.extend(block.iter().zip(&prev).map(|(a, b)| a ^ b));
        prev.copy_from_slice(chunk);
    }
    if let Some(&pad) = out.last() {
        let n = usize::from(pad);
        if (1..=16).contains(&n) && n <= out.len() && out[out.len() - n..].iter().all(|&b| b == pad)
        {
            out.truncate(out.len() - n);
        }
    }
    Some(out)
}

/// The last `/Encrypt N G R` of the document (the trailer's, or the
/// cross-reference stream's).
fn encrypt_ref(data: &[u8]) -> Option<(u32, u16)> {
    let at = memchr::memmem::rfind(data, b"/Encrypt")?;
    let mut words = data[at + 8..]
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let num = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
    let gen = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
    (words.next()?.first() == Some(&b'R')).then_some((num, gen))
}

/// The text of object `num gen` up to its `endobj`.
fn object_text(data: &[u8], num: u32, gen: u16) -> Option<&[u8]> {
    let header = format!("{num} {gen} obj");
    let finder = memchr::memmem::Finder::new(header.as_bytes());
    let at = finder
        .find_iter(data)
        .find(|&at| at == 0 || !data[at - 1].is_ascii_digit())?;
    let body = &data[at + header.len()..];
    let end = memchr::memmem::find(body, b"endobj").unwrap_or(body.len().min(64 * 1024));
    Some(&body[..end])
}

/// The first string of the document's last `/ID` array.
fn first_id(data: &[u8]) -> Option<Vec<u8>> {
    let at = memchr::memmem::rfind(data, b"/ID")?;
    let rest = data[at + 3..].trim_ascii_start();
    let rest = rest.strip_prefix(b"[")?.trim_ascii_start();
    parse_string(rest).map(|(s, _)| s)
}

/// The dictionary without its `/CF` entry (the crypt filters, whose own
/// `/Length` is not the key's).
fn outside_crypt_filters(dict: &[u8]) -> Vec<u8> {
    let Some(at) = memchr::memmem::find(dict, b"/CF") else {
        return dict.to_vec();
    };
    let mut depth = 0usize;
    let mut i = at + 3;
    while i + 1 < dict.len() {
        match &dict[i..i + 2] {
            b"<<" => {
                depth += 1;
                i += 2;
            }
            b">>" if depth <= 1 => {
                return [&dict[..at], &dict[i + 2..]].concat();
            }
            b">>" => {
                depth -= 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    dict[..at].to_vec()
}

/// The name after `key` (without its slash).
fn name(dict: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let rest = after_key(dict, key)?;
    let rest = rest.strip_prefix(b"/")?;
    let end = rest
        .iter()
        .position(|&c| c.is_ascii_whitespace() || b"/<>[]()".contains(&c))
        .unwrap_or(rest.len());
    Some(rest[..end].to_vec())
}

/// The integer after `key`.
fn integer(dict: &[u8], key: &[u8]) -> Option<i64> {
    let rest = after_key(dict, key)?;
    let end = rest
        .iter()
        .enumerate()
        .position(|(i, &c)| !(c.is_ascii_digit() || (i == 0 && (c == b'-' || c == b'+'))))
        .unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// The string (literal or hexadecimal) after `key`.
fn string(dict: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    parse_string(after_key(dict, key)?).map(|(s, _)| s)
}

/// What follows `key` as a whole key (not a longer name), whitespace
/// skipped.
fn after_key<'a>(dict: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let finder = memchr::memmem::Finder::new(key);
    for at in finder.find_iter(dict) {
        let rest = &dict[at + key.len()..];
        if rest.first().is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        return Some(rest.trim_ascii_start());
    }
    None
}

/// A PDF string at the start of `s`: `<hex>` or `(literal)` with its
/// escapes and nested parentheses; the rest after it.
fn parse_string(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    match s.first()? {
        b'<' => {
            let end = memchr::memchr(b'>', s)?;
            let digits: Vec<u8> = s[1..end]
                .iter()
                .filter_map(|&c| (c as char).to_digit(16).map(|d| d as u8))
                .collect();
            let bytes = digits
                .chunks(2)
                .map(|p| p[0] << 4 | p.get(1).copied().unwrap_or(0))
                .collect();
            Some((bytes, &s[end + 1..]))
        }
        b'(' => literal(&s[1..]),
        _ => None,
    }
}

fn literal(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        match c {
            b'\\' => {
                let e = *s.get(i)?;
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match s.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(v as u8);
                    }
                    // A line continuation.
                    b'\r' => {
                        if s.get(i) == Some(&b'\n') {
                            i += 1;
                        }
                    }
                    b'\n' => {}
                    other => out.push(other),
                }
            }
            b'(' => {
                depth += 1;
                out.push(c);
            }
            b')' if depth == 0 => return Some((out, &s[i..])),
            b')' => {
                depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(
            parse_string(b"<4142 43>x").unwrap(),
            (b"ABC".to_vec(), b"x".as_slice())
        );
        assert_eq!(parse_string(b"<414>").unwrap().0, b"A@");
        let (s, rest) = parse_string(b"(a\\(b\\)c (d) \\101\\n\\\ne) tail").unwrap();
        assert_eq!(s, b"a(b)c (d) A\ne");
        assert_eq!(rest, b" tail");
        assert!(parse_string(b"(unterminated").is_none());
        assert_eq!(integer(b"/P -1340 /R 3", b"/P"), Some(-1340));
        assert_eq!(integer(b"/Length 128 /P 0", b"/Length"), Some(128));
        assert_eq!(
            name(b"/Filter/Standard/V 2", b"/Filter").unwrap(),
            b"Standard"
        );
        // `/O` is not found inside `/OE`.
        assert_eq!(string(b"/OE <01> /O <02>", b"/O").unwrap(), [2]);
        assert_eq!(encrypt_ref(b"trailer << /Encrypt 12 0 R >>"), Some((12, 0)));
        assert_eq!(first_id(b"/ID [<0102><0304>]").unwrap(), [1, 2]);
        let v4 = b"<< /CF << /StdCF << /CFM /AESV2 /Length 16 >> >> /Length 128 /R 4 >>";
        assert_eq!(integer(&outside_crypt_filters(v4), b"/Length"), Some(128));
    }

    /// RC4's first test vector (RFC 6229 uses the key 0102030405).
    #[test]
    fn rc4_short_key() {
        let mut data = [0u8; 8];
        rc4_apply(&[1, 2, 3, 4, 5], &mut data);
        assert_eq!(data, [0xb2, 0x39, 0x63, 0x05, 0xf0, 0x3d, 0xc0, 0x27]);
    }
}
