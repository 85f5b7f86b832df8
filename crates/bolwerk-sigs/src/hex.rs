//! Hex decoding of hash fields.

/// Decode an even-length hex string into `out`; `None` on a bad digit or a
/// length that is not `2 * out.len()`.
pub(crate) fn decode_into(hex: &[u8], out: &mut [u8]) -> Option<()> {
    if hex.len() != out.len() * 2 {
        return None;
    }
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0xf);
    }
    (bad & INVALID == 0).then_some(())
}

/// Marks a byte that is not a hex digit.
const INVALID: u8 = 0x80;

/// The value of each hex digit, [`INVALID`] for every other byte: one table
/// look-up a character (hex decoding is the hot loop of loading databases).
const NIBBLE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match nibble(i as u8) {
            Some(v) => v,
            None => INVALID,
        };
        i += 1;
    }
    t
};

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

const fn nibble(c: u8) -> Option<u8> {
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
