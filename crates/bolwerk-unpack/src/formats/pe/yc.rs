//! yC (yoda's Crypter) 1.x: sections encrypted byte by byte, decrypted at
//! run time by a loader in the last section, itself encrypted the same way.
//!
//! Each decryption is a loop `lodsb; <operations on al>; stosb; loop`,
//! its operations drawn at random from a small set (add, subtract, xor or
//! rotate by a constant or by `cl`, the count of bytes left; increment,
//! decrement, not, negate; no-ops and short jumps over junk bytes). The
//! loop is read from the code and run by [`run_loop`], which refuses any
//! other instruction.
//!
//! * The entry point's code (`push ebp … call $+5; pop ebp; sub ebp, K;
//!   mov ecx, A; sub ecx, B; … add edx, C …`) decrypts `A - B` bytes at
//!   `C - K` past the `pop`'s address: the rest of the loader.
//! * In the decrypted loader, the section loop starts `mov edi, esi;
//!   jmp $+6; nop; jmp $+3; db 0E9h; lodsb`. It is run over each section's
//!   raw data, except empty ones and those named `rsrc`, `.rsrc`, `relo…`,
//!   `.rel…`, `yC`, `.eda…` and `.tls…`, as the loader does.
//!
//! The decrypted file keeps its layout; the packer it usually hides (UPX)
//! is then recognised in it.

use memchr::memmem;

use super::headers::Headers;
use crate::formats::le::u32_at;

const ENTRY: [u8; 12] = [0x55, 0x8b, 0xec, 0x53, 0x56, 0x57, 0x60, 0xe8, 0, 0, 0, 0];
const SECTION_LOOP: &[u8] = b"\x8b\xfe\xeb\x04\x90\xeb\x01\xe9\xac";
/// Instructions one decryption loop may have.
const MAX_OPS: usize = 256;

/// One operation on `al`.
#[derive(Clone, Copy)]
enum Op {
    Add(u8),
    Sub(u8),
    Xor(u8),
    Rol(u8),
    Ror(u8),
    AddCl,
    SubCl,
    XorCl,
    RolCl,
    RorCl,
    Not,
    Neg,
}

/// Read a loop body from `code` (just past `lodsb`) up to `stosb; loop`.
fn parse_loop(code: &[u8]) -> Option<Vec<Op>> {
    let mut ops = Vec::new();
    let mut i = 0;
    for _ in 0..MAX_OPS {
        let b0 = *code.get(i)?;
        let b1 = code.get(i + 1).copied();
        let (op, len) = match (b0, b1) {
            (0xaa, Some(0xe2)) => return Some(ops),
            (0x90 | 0xf8 | 0xf9 | 0xf5, _) => (None, 1),
            (0xeb, Some(skip)) => (None, 2 + usize::from(skip)),
            (0x02, Some(0xc1)) => (Some(Op::AddCl), 2),
            (0x2a, Some(0xc1)) => (Some(Op::SubCl), 2),
            (0x32, Some(0xc1)) => (Some(Op::XorCl), 2),
            (0xd2, Some(0xc0)) => (Some(Op::RolCl), 2),
            (0xd2, Some(0xc8)) => (Some(Op::RorCl), 2),
            (0xd0, Some(0xc0)) => (Some(Op::Rol(1)), 2),
            (0xd0, Some(0xc8)) => (Some(Op::Ror(1)), 2),
            (0xfe, Some(0xc0)) => (Some(Op::Add(1)), 2),
            (0xfe, Some(0xc8)) => (Some(Op::Sub(1)), 2),
            (0xf6, Some(0xd0)) => (Some(Op::Not), 2),
            (0xf6, Some(0xd8)) => (Some(Op::Neg), 2),
            (0x04, Some(k)) => (Some(Op::Add(k)), 2),
            (0x2c, Some(k)) => (Some(Op::Sub(k)), 2),
            (0x34, Some(k)) => (Some(Op::Xor(k)), 2),
            (0xc0, Some(0xc0)) => (Some(Op::Rol(*code.get(i + 2)?)), 3),
            (0xc0, Some(0xc8)) => (Some(Op::Ror(*code.get(i + 2)?)), 3),
            _ => return None,
        };
        ops.extend(op);
        i += len;
    }
    None
}

/// Run a decryption loop over `buf`, `cl` counting down from its length.
fn run_loop(ops: &[Op], buf: &mut [u8]) {
    let n = buf.len();
    for (i, b) in buf.iter_mut().enumerate() {
        let cl = (n - i) as u8;
        let mut al = *b;
        for op in ops {
            al = match *op {
                Op::Add(k) => al.wrapping_add(k),
                Op::Sub(k) => al.wrapping_sub(k),
                Op::Xor(k) => al ^ k,
                Op::Rol(k) => al.rotate_left(u32::from(k & 7)),
                Op::Ror(k) => al.rotate_right(u32::from(k & 7)),
                Op::AddCl => al.wrapping_add(cl),
                Op::SubCl => al.wrapping_sub(cl),
                Op::XorCl => al ^ cl,
                Op::RolCl => al.rotate_left(u32::from(cl & 7)),
                Op::RorCl => al.rotate_right(u32::from(cl & 7)),
                Op::Not => !al,
                Op::Neg => al.wrapping_neg(),
            };
        }
        *b = al;
    }
}

/// Sections the loader leaves alone, by the start of their name.
fn skipped(name: &[u8; 8]) -> bool {
    [
        &b"rsrc"[..],
        b".rsr",
        b"relo",
        b".rel",
        b"yC\0\0",
        b".eda",
        b".tls",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// Decrypt a yC-protected file; `None` when it is not one.
pub(crate) fn unpack(data: &[u8], h: &Headers, limit: u64) -> Option<(&'static str, Vec<u8>)> {
    if data.len() as u64 > limit {
        return None;
    }
    let ep = h.offset_of(h.entry)?;
    let code = data.get(ep..ep.checked_add(51)?)?;
    if code[..12] != ENTRY || code[13..15] != [0x81, 0xed] || code[19] != 0xb9 {
        return None;
    }
    if code[24..26] != [0x81, 0xe9] || code[32..34] != [0x81, 0xc2] || code[50] != 0xac {
        return None;
    }
    let k = u32_at(code, 15)?;
    let len = u32_at(code, 20)?.checked_sub(u32_at(code, 26)?)?;
    let c = u32_at(code, 34)?;
    let pop_rva = h.entry.checked_add(12)?;
    let start = h.offset_of(pop_rva.checked_add(c.checked_sub(k)?)?)?;
    let ops = parse_loop(data.get(ep + 51..)?)?;
    let mut out = data.to_vec();
    let loader = out.get_mut(start..start.checked_add(len as usize)?)?;
    run_loop(&ops, loader);
    let at = memmem::find(loader, SECTION_LOOP)?;
    let ops = parse_loop(loader.get(at + SECTION_LOOP.len()..)?)?;
    for s in &h.sections {
        if skipped(&s.name) || s.raw == 0 || s.rsize == 0 {
            continue;
        }
        let from = (s.raw as usize).min(out.len());
        let to = from.saturating_add(s.rsize as usize).min(out.len());
        run_loop(&ops, &mut out[from..to]);
    }
    Some(("(yC)", out))
}
