//! ClamAV's legacy digital signatures.
//!
//! Two schemes protect a CVD container (their facts are public: the keys are
//! printed in ClamAV's source and documentation):
//!
//! * the header's `dsig` field signs the MD5 of everything after the 512-byte
//!   header. The signature is a number written in 6-bit digits, least
//!   significant first, using the alphabet `a-z A-Z 0-9 + /`; raising it to
//!   the public exponent modulo the release key's modulus (1024 bits) must
//!   give the 16 MD5 bytes.
//! * the `.info` member ends with `DSIG:` and a signature over the SHA-256 of
//!   the lines before it, made with a 2048-bit key in a PSS encoding
//!   (MGF1-SHA-256, a 32-byte salt, trailer byte `0xbc`).
//!
//! Both are textbook RSA on public values; no secret is handled here, so the
//! arithmetic need not be constant-time.

use num_bigint::BigUint;
use sha2::{Digest, Sha256};

/// The release key that signs CVD headers: modulus and exponent in decimal.
const CVD_N: &str = "118640995551645342603070001658453189751527774412027743746599405743243142607464144767361060640655844749760788890022283424922762488917565551002467771109669598189410434699034532232228621591089508178591428456220796841621637175567590476666928698770143328137383952820383197532047771780196576957695822641224262693037";
const CVD_E: &str = "100001027";

/// The key that signs `.info` members (2048 bits).
const INFO_N: &str = "11088894983048545473659556106627194923928941791795047620591658697413581043322715912172496806525381055880964520618400224333320534660299233983755341740679502866829909679955734391392668378361221524205396631090105151641270857277080310734320951653700508941717419168723942507890702904702707587451621691050754307850383399865346487203798464178537392211402786481359824461197231102895415093770394216666324484593935762408468516826633192140826667923494822045805347809932848454845886971706424360558667862775876072059437703365380209101697738577515476935085469455279994113145977994084618328482151013142393373316337519977244732747977";
const INFO_E: &str = "100002049";

/// Longest signature text accepted (ClamAV's own bound).
const MAX_SIG_CHARS: usize = 1024;
/// Bytes of a PSS-encoded message for the 2048-bit key.
const PSS_LEN: usize = 256;
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 32;

/// Why a signature did not verify.
#[derive(Debug, PartialEq, Eq)]
pub enum DsigError {
    /// The text is empty, too long or has a character outside the alphabet.
    BadEncoding,
    /// The signature decodes but does not sign this digest.
    Mismatch,
}

/// Verify a CVD header signature over the payload's MD5.
pub fn verify_cvd(md5: &[u8; 16], dsig: &str) -> Result<(), DsigError> {
    let plain = decode(dsig, CVD_N, CVD_E, 16)?;
    if plain == md5 {
        Ok(())
    } else {
        Err(DsigError::Mismatch)
    }
}

/// Verify a `.info` signature over the SHA-256 of its preceding lines.
pub fn verify_info(sha256: &[u8; 32], dsig: &str) -> Result<(), DsigError> {
    let em = decode(dsig, INFO_N, INFO_E, PSS_LEN)?;
    pss_verify(sha256, &em)
}

/// Decode 6-bit digits, apply the public key, return `len` big-endian bytes.
fn decode(sig: &str, n: &str, e: &str, len: usize) -> Result<Vec<u8>, DsigError> {
    if sig.is_empty() || sig.len() > MAX_SIG_CHARS {
        return Err(DsigError::BadEncoding);
    }
    let mut c = BigUint::default();
    for ch in sig.bytes().rev() {
        c = (c << 6u32) + BigUint::from(digit(ch).ok_or(DsigError::BadEncoding)?);
    }
    let n = BigUint::parse_bytes(n.as_bytes(), 10).expect("valid modulus");
    let e = BigUint::parse_bytes(e.as_bytes(), 10).expect("valid exponent");
    let p = c.modpow(&e, &n).to_bytes_be();
    if p.len() > len {
        return Err(DsigError::Mismatch);
    }
    let mut out = vec![0u8; len - p.len()];
    out.extend_from_slice(&p);
    Ok(out)
}

fn digit(c: u8) -> Option<u32> {
    Some(match c {
        b'a'..=b'z' => c - b'a',
        b'A'..=b'Z' => c - b'A' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// EMSA-PSS verification (RFC 8017 section 9.1.2) with SHA-256 and MGF1.
fn pss_verify(m_hash: &[u8; 32], em: &[u8]) -> Result<(), DsigError> {
    if em.len() != PSS_LEN || em[PSS_LEN - 1] != 0xbc {
        return Err(DsigError::Mismatch);
    }
    let db_len = PSS_LEN - HASH_LEN - 1;
    let (masked_db, h) = (&em[..db_len], &em[db_len..PSS_LEN - 1]);
    let mut db = mgf1(h, db_len);
    for (d, m) in db.iter_mut().zip(masked_db) {
        *d ^= m;
    }
    db[0] &= 0x7f;
    let one = db.iter().position(|&b| b != 0).ok_or(DsigError::Mismatch)?;
    if db[one] != 0x01 || db_len - one - 1 != SALT_LEN {
        return Err(DsigError::Mismatch);
    }
    let salt = &db[one + 1..];
    let mut hasher = Sha256::new();
    hasher.update([0u8; 8]);
    hasher.update(m_hash);
    hasher.update(salt);
    if hasher.finalize().as_slice() == h {
        Ok(())
    } else {
        Err(DsigError::Mismatch)
    }
}

fn mgf1(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + HASH_LEN);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(counter.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        counter += 1;
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_alphabet() {
        assert_eq!(verify_cvd(&[0; 16], "ab*c"), Err(DsigError::BadEncoding));
        assert_eq!(verify_cvd(&[0; 16], ""), Err(DsigError::BadEncoding));
        let long = "a".repeat(MAX_SIG_CHARS + 1);
        assert_eq!(verify_cvd(&[0; 16], &long), Err(DsigError::BadEncoding));
    }

    #[test]
    fn random_signature_does_not_verify() {
        assert_eq!(verify_cvd(&[7; 16], "abcdef"), Err(DsigError::Mismatch));
        assert!(verify_info(&[7; 32], "abcdef").is_err());
    }
}
