//! How rare a short byte string is in real files: the measure atoms are
//! chosen by.
//!
//! `rarity.bin` holds, for every byte and every pair of bytes, -log2 of
//! its frequency in eighths of a bit, measured over real executables,
//! libraries, scripts and documents (see `examples/rarity_table.rs` for
//! the command and DESIGN.md for the files). A string's rarity is
//! estimated as a first-order Markov chain: the first pair's, plus for
//! each later byte its pair's rarity less its predecessor's. `LoadLibrary`
//! or `.dll` score low, `\xe8\x2b\x7f\x91` high, so patterns are found by
//! the window that occurs least often in what is scanned.

static TABLE: &[u8; 256 + 65536] = include_bytes!("rarity.bin");

fn one(b: u8) -> i32 {
    i32::from(TABLE[usize::from(b)])
}

fn pair(a: u8, b: u8) -> i32 {
    i32::from(TABLE[256 + (usize::from(a) << 8 | usize::from(b))])
}

/// The estimated rarity of `bytes` (two or more), in eighths of a bit.
pub(crate) fn of(bytes: &[u8]) -> i32 {
    match bytes {
        [] => 0,
        [b] => one(*b),
        _ => {
            let first = pair(bytes[0], bytes[1]);
            first
                + bytes
                    .windows(2)
                    .skip(1)
                    .map(|w| pair(w[0], w[1]) - one(w[0]))
                    .sum::<i32>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_strings_score_below_rare_ones() {
        assert!(of(b"\0\0\0\0") < of(b"\xe8\x2b\x7f\x91"));
        assert!(of(b".dll") < of(b"\x9a\x3e\xd1\x07"));
        assert!(of(b"Load") < of(b"Zq#J"));
        assert!(of(b"ab") < of(b"abcd"), "longer is rarer");
    }
}
