//! Little-endian integers read from hostile bytes: `None` past the end.

/// The `u16` at `at`.
pub(crate) fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

/// The `u32` at `at`.
pub(crate) fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The `u64` at `at`.
pub(crate) fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn bounds() {
        let d = [1u8, 0, 0, 0, 0, 0, 0, 0, 9];
        assert_eq!(super::u16_at(&d, 0), Some(1));
        assert_eq!(super::u32_at(&d, 0), Some(1));
        assert_eq!(super::u64_at(&d, 1), Some(9 << 56));
        assert_eq!(super::u64_at(&d, 2), None);
        assert_eq!(super::u32_at(&d, usize::MAX), None);
    }
}
