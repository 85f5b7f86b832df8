//! Registry hives for tests, written by hivex (Debian `libwin-hivex-perl`:
//! `hivexregedit --merge`) from `.reg` text.
//!
//! hivex edits hives but cannot start one, and no Debian tool creates an
//! empty hive; so the test writes the one thing hivex needs to start from:
//! an empty hive (a base block and one hive bin holding the root key and
//! its security descriptor), laid out after the public REGF format
//! description (https://github.com/msuhanov/regf, "Windows registry file
//! format specification"). Every key and value the tests read is then
//! written by hivex, an independent implementation of the format.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

const BLOCK: usize = 4096;

fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

/// A cell: its size (negative: allocated, 8-byte aligned) and `data`.
fn cell(data: &[u8]) -> Vec<u8> {
    let size = (4 + data.len() + 7) & !7;
    let mut c = Vec::with_capacity(size);
    c.extend_from_slice(&(-(size as i32)).to_le_bytes());
    c.extend_from_slice(data);
    c.resize(size, 0);
    c
}

/// An empty hive: a root key named `ROOT` with a security descriptor
/// (owner and group BUILTIN\Administrators, no DACL).
pub fn empty_hive() -> Vec<u8> {
    const NONE: u32 = 0xFFFF_FFFF;
    let name = b"ROOT";
    // The hive bin's header is 32 bytes: the root key cell follows it.
    let nk_off: u32 = 0x20;
    let nk_size = (4 + 76 + name.len() + 7) & !7;
    let sk_off = nk_off + nk_size as u32;

    let mut nk = b"nk".to_vec();
    put_u16(&mut nk, 0x2C); // KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME
    nk.extend_from_slice(&[0; 8]); // last written
    put_u32(&mut nk, 0); // access bits
    put_u32(&mut nk, NONE); // parent
    put_u32(&mut nk, 0); // subkeys
    put_u32(&mut nk, 0); // volatile subkeys
    put_u32(&mut nk, NONE); // subkeys list
    put_u32(&mut nk, NONE); // volatile subkeys list
    put_u32(&mut nk, 0); // values
    put_u32(&mut nk, NONE); // values list
    put_u32(&mut nk, sk_off); // security
    put_u32(&mut nk, NONE); // class name
    for _ in 0..5 {
        put_u32(&mut nk, 0); // largest name and data sizes, work var
    }
    put_u16(&mut nk, name.len() as u16);
    put_u16(&mut nk, 0); // class name length
    nk.extend_from_slice(name);

    // S-1-5-32-544, twice (owner, group), after a self-relative header.
    let mut sid = vec![1, 2, 0, 0, 0, 0, 0, 5];
    put_u32(&mut sid, 32);
    put_u32(&mut sid, 544);
    let mut sd = vec![1, 0];
    put_u16(&mut sd, 0x8000); // SE_SELF_RELATIVE
    put_u32(&mut sd, 20); // owner
    put_u32(&mut sd, 20 + sid.len() as u32); // group
    put_u32(&mut sd, 0); // SACL
    put_u32(&mut sd, 0); // DACL
    sd.extend_from_slice(&sid);
    sd.extend_from_slice(&sid);

    let mut sk = b"sk".to_vec();
    put_u16(&mut sk, 0);
    put_u32(&mut sk, sk_off); // flink: itself, the only descriptor
    put_u32(&mut sk, sk_off); // blink
    put_u32(&mut sk, 1); // reference count
    put_u32(&mut sk, sd.len() as u32);
    sk.extend_from_slice(&sd);

    let mut hbin = b"hbin".to_vec();
    put_u32(&mut hbin, 0); // offset of this bin
    put_u32(&mut hbin, BLOCK as u32); // its size
    hbin.resize(32, 0);
    hbin.extend_from_slice(&cell(&nk));
    hbin.extend_from_slice(&cell(&sk));
    // The rest of the bin is one free cell (positive size).
    let free = BLOCK - hbin.len();
    hbin.extend_from_slice(&(free as i32).to_le_bytes());
    hbin.resize(BLOCK, 0);

    let mut base = b"regf".to_vec();
    put_u32(&mut base, 1); // primary sequence number
    put_u32(&mut base, 1); // secondary sequence number: equal, a clean hive
    base.extend_from_slice(&[0; 8]); // last written
    put_u32(&mut base, 1); // major version
    put_u32(&mut base, 3); // minor version
    put_u32(&mut base, 0); // file type: primary
    put_u32(&mut base, 1); // file format: direct memory load
    put_u32(&mut base, nk_off); // root cell
    put_u32(&mut base, BLOCK as u32); // hive bins data size
    put_u32(&mut base, 1); // clustering factor
    base.resize(508, 0);
    // Checksum: XOR of the first 127 double words.
    let mut sum = base
        .chunks_exact(4)
        .fold(0u32, |x, d| x ^ u32::from_le_bytes(d.try_into().unwrap()));
    if sum == 0 {
        sum = 1;
    } else if sum == NONE {
        sum = NONE - 1;
    }
    put_u32(&mut base, sum);
    base.resize(BLOCK, 0);

    base.extend_from_slice(&hbin);
    base
}

/// Write a hive at `path` holding what `reg` (a `.reg` file's text, keys
/// under `prefix` such as `HKEY_LOCAL_MACHINE\SOFTWARE`) says, through
/// `hivexregedit --merge`.
pub fn make_hive(path: &Path, prefix: &str, reg: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, empty_hive()).unwrap();
    let reg_path = path.with_extension("reg");
    std::fs::write(&reg_path, reg).unwrap();
    let out = Command::new("hivexregedit")
        .arg("--merge")
        .arg(path)
        .arg("--prefix")
        .arg(prefix)
        .arg(&reg_path)
        .output()
        .unwrap_or_else(|e| {
            panic!("hivexregedit: {e} (Debian package libwin-hivex-perl: apt-get install libwin-hivex-perl)")
        });
    assert!(
        out.status.success(),
        "hivexregedit --merge failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(reg_path).unwrap();
}

/// The `.reg` text for `keys`: each key (below the prefix) with its values
/// (see [`reg_value`]); every parent key is listed before its children, as hivexregedit
/// creates only keys whose parent exists.
pub fn reg_text(prefix: &str, keys: &[(&str, &[(&str, &str)])]) -> String {
    let mut out = String::from("Windows Registry Editor Version 5.00\n\n");
    let mut written: Vec<String> = Vec::new();
    for (key, values) in keys {
        let parts: Vec<&str> = key.split('\\').collect();
        for n in 1..=parts.len() {
            let k = parts[..n].join("\\");
            if !written.contains(&k) {
                out.push_str(&format!("[{prefix}\\{k}]\n"));
                if n == parts.len() {
                    for (name, value) in *values {
                        out.push_str(&format!("\"{name}\"={}\n", reg_value(value)));
                    }
                }
                out.push('\n');
                written.push(k);
            }
        }
    }
    out
}

/// A value as `.reg` writes it: `dword:0000001` as it is, `expand:TEXT` as
/// a REG_EXPAND_SZ (`hex(2):` UTF-16LE with its terminating NUL, as
/// regedit exports it), anything else as a REG_SZ string.
fn reg_value(value: &str) -> String {
    if value.starts_with("dword:") {
        return value.to_string();
    }
    if let Some(text) = value.strip_prefix("expand:") {
        let bytes: Vec<String> = text
            .encode_utf16()
            .chain(std::iter::once(0))
            .flat_map(u16::to_le_bytes)
            .map(|b| format!("{b:02x}"))
            .collect();
        return format!("hex(2):{}", bytes.join(","));
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}
