//! The packers of Debian's clamav-testfiles: each hides ClamAV's test
//! program `clam.exe`, which must come out byte for byte.

use md5::{Digest, Md5};

use crate::{file_type, unpack, Budget, Limits, UnpackError};

const TESTFILES: &str = "/usr/share/clamav-testfiles";
const CLAM_EXE_MD5: &str = "aa15bcf478d165efd2065190eb473bcb";

fn testfile(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(TESTFILES).join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (apt-get install clamav-testfiles)", path.display()))
}

/// Unpack `data` and everything inside it, depth first as the scanner
/// does, returning each object's name path and MD5.
fn walk(data: &[u8]) -> Vec<(String, String)> {
    fn go(
        data: &[u8],
        path: &str,
        depth: u32,
        budget: &mut Budget,
        out: &mut Vec<(String, String)>,
    ) {
        if depth > 8 {
            return;
        }
        let _ = unpack(data, file_type(data), budget, &mut |child, budget| {
            let name = format!("{path}/{}", child.name.as_deref().unwrap_or("?"));
            out.push((name.clone(), hex(&Md5::digest(&child.data))));
            go(&child.data, &name, depth + 1, budget, out);
            std::ops::ControlFlow::Continue(())
        });
    }
    let mut budget = Budget::new(&Limits::default());
    let mut out = Vec::new();
    go(data, "", 0, &mut budget, &mut out);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn finds_clam_exe(name: &str) -> Vec<(String, String)> {
    let objects = walk(&testfile(name));
    assert!(
        objects.iter().any(|(_, md5)| md5 == CLAM_EXE_MD5),
        "{name}: clam.exe not found in {objects:#?}"
    );
    objects
}

#[test]
fn fsg_holds_clam_exe_as_embedded_pe() {
    let objects = finds_clam_exe("clam-fsg.exe");
    assert_eq!(objects[0].0, "/(embedded PE at 6112)");
}

#[test]
fn upx_nrv2b() {
    let objects = finds_clam_exe("clam-upx.exe");
    assert_eq!(objects[0].0, "/(UPX NRV2B)");
}

#[test]
fn mew_blocks_then_zip_member() {
    let objects = finds_clam_exe("clam-mew.exe");
    assert_eq!(objects[0].0, "/(MEW)");
}

#[test]
fn yc_decrypts_to_upx() {
    let objects = finds_clam_exe("clam-yc.exe");
    assert_eq!(objects[0].0, "/(yC)");
    assert_eq!(objects[1].0, "/(yC)/(UPX NRV2B)");
}

#[test]
fn wwpack_block_then_zip_member() {
    let objects = finds_clam_exe("clam-wwpack.exe");
    assert_eq!(objects[0].0, "/(WWPack)");
    assert_eq!(objects[1].0, "/(WWPack)/clam.exe");
}

#[test]
fn petite_records_then_zip_member() {
    let objects = finds_clam_exe("clam-petite.exe");
    assert_eq!(objects[0].0, "/(Petite)");
    assert_eq!(objects[1].0, "/(Petite)/clam.exe");
}

/// The stream zeroed (literals until it runs out), its length in dwords
/// past the image, its destination before the image: nothing unpacked.
#[test]
fn wwpack_damaged_blocks_are_refused() {
    let data = testfile("clam-wwpack.exe");
    let record = 0xc00 + 0x2a1;
    let mut zeroed = data.clone();
    zeroed[0xa00..0xb8c].fill(0);
    let mut long = data.clone();
    long[record + 8..record + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut before = data.clone();
    before[record..record + 4].copy_from_slice(&0x6000u32.to_le_bytes());
    for bad in [zeroed, long, before] {
        let objects = walk(&bad);
        assert!(
            !objects.iter().any(|(n, _)| n.starts_with("/(WWPack)")),
            "{objects:?}"
        );
    }
}

/// A record's stream all ones (a gamma number that does not end), a move
/// past the image, a block larger than the image: nothing unpacked. (A
/// stream of zeros is a valid one: literals.)
#[test]
fn petite_damaged_records_are_refused() {
    let data = testfile("clam-petite.exe");
    let table = 0x400 + 0x1b8;
    let mut ones = data.clone();
    ones[0x800 + 0x455..0xe00].fill(0xff);
    let mut moved = data.clone();
    moved[table + 16..table + 20].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
    let mut large = data.clone();
    large[table + 4..table + 8].copy_from_slice(&0x10_0000u32.to_le_bytes());
    for bad in [ones, moved, large] {
        let objects = walk(&bad);
        assert!(
            !objects.iter().any(|(n, _)| n.starts_with("/(Petite)")),
            "{objects:?}"
        );
    }
}

#[test]
fn aspack_blocks_then_embedded_pe() {
    let objects = finds_clam_exe("clam-aspack.exe");
    assert_eq!(objects[0].0, "/(ASPack)");
    // ClamAV's rebuilt file packs the sections closer (it names 16864);
    // the image here keeps them at their RVAs.
    assert_eq!(objects[1].0, "/(ASPack)/(embedded PE at 19936)");
    assert_eq!(objects[1].1, CLAM_EXE_MD5);
}

#[test]
fn upack_lzma_then_zip_member() {
    let objects = finds_clam_exe("clam-upack.exe");
    assert_eq!(objects[0].0, "/(Upack)");
    assert_eq!(objects[1].0, "/(Upack)/clam.exe");
}

/// A packed stream cut short: the unpacker gives up or hands on a
/// damaged image, and clam.exe does not come out.
#[test]
fn truncated_streams_lose_clam_exe() {
    for (name, cut) in [("clam-aspack.exe", 0xb00), ("clam-upack.exe", 0x500)] {
        let data = testfile(name);
        let objects = walk(&data[..cut]);
        assert!(
            objects.iter().all(|(_, md5)| md5 != CLAM_EXE_MD5),
            "{name} cut at {cut:#x}: {objects:#?}"
        );
    }
}

#[test]
fn plain_pe_has_no_children() {
    assert!(walk(&testfile("clam.exe")).is_empty());
}

/// Every prefix and a sprinkling of damaged bytes: no panic, and nothing
/// over the allowance.
#[test]
fn damaged_packed_files() {
    for name in [
        "clam-upx.exe",
        "clam-fsg.exe",
        "clam-mew.exe",
        "clam-yc.exe",
        "clam-wwpack.exe",
        "clam-petite.exe",
        "clam-aspack.exe",
        "clam-upack.exe",
    ] {
        let data = testfile(name);
        for len in (0..data.len()).step_by(61) {
            let _ = walk(&data[..len]);
        }
        for (i, at) in (0x80..data.len()).step_by(97).enumerate() {
            let mut bad = data.clone();
            bad[at] ^= 1 << (i % 8);
            let _ = walk(&bad);
        }
    }
}

#[test]
fn budget_bounds_unpacked_image() {
    let data = testfile("clam-upx.exe");
    let limits = Limits {
        max_file_size: 4096,
        ..Limits::default()
    };
    let mut budget = Budget::new(&limits);
    let r = unpack(&data, file_type(&data), &mut budget, &mut |child, _| {
        assert!(child.data.len() <= 4096);
        std::ops::ControlFlow::Continue(())
    });
    assert!(matches!(r, Ok(()) | Err(UnpackError::Limit(_))));
}
