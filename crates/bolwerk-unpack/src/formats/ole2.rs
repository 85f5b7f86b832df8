//! OLE2 compound documents (MS Office 97-2003 files, MSI installers): every
//! stream is a child, read with the `cfb` crate. Two kinds of stream carry
//! whole embedded files and are opened further:
//!
//! * `\x01Ole10Native` (an OLE "Package" object, e.g. an executable dragged
//!   into a Word document): the packaged file is the child;
//! * PowerPoint's `PowerPoint Document`: each `ExOleObjStg` record holds an
//!   embedded OLE object, zlib-compressed when its instance is 1; the
//!   decompressed object (itself an OLE2 document) is the child.

use std::io::{Cursor, Read};

use crate::budget::Budget;
use crate::container::{emit, malformed, read_child, UnpackError, Visit};

/// PowerPoint record type of an embedded OLE object's storage.
const EX_OLE_OBJ_STG: u16 = 0x1011;
/// PowerPoint records nest at most this deep in practice; deeper is hostile.
const MAX_RECORD_DEPTH: usize = 32;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut doc = cfb::CompoundFile::open(Cursor::new(data)).map_err(malformed)?;
    let streams: Vec<std::path::PathBuf> = doc
        .walk()
        .filter(|e| e.is_stream())
        .map(|e| e.path().to_path_buf())
        .collect();
    for path in streams {
        let Ok(stream) = doc.open_stream(&path) else {
            continue;
        };
        let name = path.to_string_lossy().trim_start_matches('/').to_string();
        let Some(bytes) = read_child(stream, budget)? else {
            continue;
        };
        let allowance = budget.allowance()?;
        let children = embedded(&name, &bytes, allowance);
        if emit(Some(name.clone()), bytes, budget, visit).is_break() {
            return Ok(());
        }
        for (child_name, child) in children {
            if child.len() as u64 > allowance {
                budget.note(budget.blame(allowance));
                continue;
            }
            let full = format!("{name}/{child_name}");
            if emit(Some(full), child, budget, visit).is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Files embedded in a stream, by the stream's name; none inflates past
/// `limit + 1` bytes.
fn embedded(name: &str, bytes: &[u8], limit: u64) -> Vec<(String, Vec<u8>)> {
    if name.ends_with("Ole10Native") {
        return ole10_native(bytes).into_iter().collect();
    }
    if name == "PowerPoint Document" {
        let mut out = Vec::new();
        ppt_objects(bytes, 0, limit, &mut out);
        return out;
    }
    Vec::new()
}

/// A little-endian cursor whose reads fail instead of panicking.
pub(crate) struct Cur<'a>(pub(crate) &'a [u8]);

impl<'a> Cur<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub(crate) fn cstr(&mut self) -> Option<&'a [u8]> {
        let end = self.0.iter().position(|&b| b == 0)?;
        let s = self.take(end)?;
        self.take(1)?;
        Some(s)
    }
}

/// An `Ole10Native` stream: a 32-bit size, then an OLE Package.
fn ole10_native(bytes: &[u8]) -> Option<(String, Vec<u8>)> {
    package(bytes.get(4..)?)
}

/// An OLE Package: flags, label, source path, reserved, temporary path
/// (length-prefixed), then the file (length-prefixed).
pub(crate) fn package(bytes: &[u8]) -> Option<(String, Vec<u8>)> {
    let mut c = Cur(bytes);
    c.u16()?;
    let label = String::from_utf8_lossy(c.cstr()?).into_owned();
    c.cstr()?;
    c.u32()?;
    let tmp_len = c.u32()? as usize;
    c.take(tmp_len)?;
    let len = c.u32()? as usize;
    let data = c.0.get(..len)?;
    Some((label, data.to_vec()))
}

/// Walk PowerPoint records; containers (version nibble 0xF) are entered.
fn ppt_objects(bytes: &[u8], depth: usize, limit: u64, out: &mut Vec<(String, Vec<u8>)>) {
    let mut c = Cur(bytes);
    while let (Some(ver_inst), Some(kind), Some(len)) = (c.u16(), c.u16(), c.u32()) {
        let Some(body) = c.take(len as usize) else {
            return;
        };
        if ver_inst & 0xf == 0xf && depth < MAX_RECORD_DEPTH {
            ppt_objects(body, depth + 1, limit, out);
        } else if kind == EX_OLE_OBJ_STG {
            if let Some(obj) = ex_ole_obj(ver_inst >> 4, body, limit) {
                out.push((format!("ExOleObjStg{}", out.len()), obj));
            }
        }
    }
}

/// An `ExOleObjStg` body: instance 1 is a decompressed size and zlib data.
fn ex_ole_obj(instance: u16, body: &[u8], limit: u64) -> Option<Vec<u8>> {
    if instance != 1 {
        return Some(body.to_vec());
    }
    let size = u32::from_le_bytes(body.get(..4)?.try_into().ok()?) as u64;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&body[4..])
        .take(size.min(limit.saturating_add(1)))
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}
