//! RTF: embedded objects (`{\object … {\*\objdata HEX}}`), the way
//! documents carry executables and exploits. The hex is an OLE1 object
//! (MS-OLEDS 2.2.4): version, format, class name, topic, item, then the
//! native data; for the `Package` class that is an OLE Package whose file
//! is the child, for other classes (often an OLE2 document) the native
//! data itself is.

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};
use crate::formats::ole2::{package, Cur};

/// Objects per document, at most.
const MAX_OBJECTS: usize = 1000;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    for at in memchr::memmem::find_iter(data, b"\\objdata").take(MAX_OBJECTS) {
        let allowance = budget.allowance()?;
        let object = hex_until_group_end(&data[at + 8..], allowance.saturating_mul(2));
        let Some((class, native)) = ole1(&object) else {
            continue;
        };
        let child = match class.as_slice() {
            b"Package" => package(native),
            _ => Some((
                String::from_utf8_lossy(&class).into_owned(),
                native.to_vec(),
            )),
        };
        let Some((name, bytes)) = child else {
            continue;
        };
        if bytes.len() as u64 > allowance {
            budget.note(budget.blame(allowance));
            continue;
        }
        if emit(Some(name), bytes, budget, visit).is_break() {
            break;
        }
    }
    Ok(())
}

/// Hex digit pairs up to the closing brace (whitespace and stray
/// characters skipped), reading at most `max_digits` digits.
fn hex_until_group_end(text: &[u8], max_digits: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut high = None;
    let mut digits = 0u64;
    for &c in text {
        if c == b'}' || digits >= max_digits {
            break;
        }
        let Some(v) = (c as char).to_digit(16) else {
            continue;
        };
        digits += 1;
        match high.take() {
            None => high = Some(v as u8),
            Some(h) => out.push(h << 4 | v as u8),
        }
    }
    out
}

/// An OLE1 object's class name and native data.
fn ole1(object: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut c = Cur(object);
    c.u32()?; // OLE version
    c.u32()?; // format: 2 = embedded
    let class = lp_string(&mut c)?;
    lp_string(&mut c)?; // topic
    lp_string(&mut c)?; // item
    let len = c.u32()? as usize;
    let native = c.take(len.min(c.0.len()))?;
    Some((class, native))
}

/// A 32-bit length, then that many bytes ending in NUL.
fn lp_string(c: &mut Cur<'_>) -> Option<Vec<u8>> {
    let len = c.u32()? as usize;
    let s = c.take(len)?;
    Some(s.strip_suffix(b"\0").unwrap_or(s).to_vec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_stops_at_the_group_end() {
        assert_eq!(
            super::hex_until_group_end(b" 01 0a\r\nFf}00", 100),
            [1, 10, 255]
        );
        assert_eq!(super::hex_until_group_end(b"0102030405", 4), [1, 2]);
    }
}
