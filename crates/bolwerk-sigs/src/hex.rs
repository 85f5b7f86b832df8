//! Hex decoding of hash fields.

/// Decode an even-length hex string into `out`; `None` on a bad digit or a
/// length that is not `2 * out.len()`.
pub(crate) fn decode_into(hex: &[u8], out: &mut [u8]) -> Option<()> {
    if hex.len() != out.len() * 2 {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(())
}

/// Lower-case hex of bytes.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let mut out = [0u8; 3];
        assert!(super::decode_into(b"00fFa1", &mut out).is_some());
        assert_eq!(out, [0, 0xff, 0xa1]);
        assert_eq!(super::encode(&out), "00ffa1");
        assert!(super::decode_into(b"0g0000", &mut out).is_none());
        assert!(super::decode_into(b"0000", &mut out).is_none());
    }
}
