#![no_main]
//! ASPack 2.12's block decoder. An input starting `MZ` is read as a whole
//! PE file (the real packed test file is a seed of the smoke run); any
//! other input is the compressed stream of one block of a minimal
//! ASPack-shaped PE built around it (its first byte picks the filter flag,
//! its second the block's size in KiB), so mutations reach the decoder
//! instead of the header checks.

use bolwerk_fuzz::put;
use bolwerk_unpack::FileType;
use libfuzzer_sys::fuzz_target;

/// ASPack 2.12's first loader bytes, from the entry point.
const ENTRY: [u8; 29] = [
    0x60, 0xe8, 0x03, 0x00, 0x00, 0x00, 0xe9, 0xeb, 0x04, 0x5d, 0x45, 0x55, 0xc3, 0xe8, 0x01, 0x00,
    0x00, 0x00, 0xeb, 0x5d, 0xbb, 0xed, 0xff, 0xff, 0xff, 0x03, 0xdd, 0x81, 0xeb,
];

/// A PE with the stream as section 1 (RVA 1000h) and the loader's
/// landmarks in section 2 (RVA 2000h, entry 2001h, `ebp` 2013h).
fn wrap(data: &[u8]) -> Vec<u8> {
    let (flag, kib, stream) = match data {
        [f, k, rest @ ..] => (*f & 1, usize::from(*k % 16) + 1, rest),
        _ => (0, 1, data),
    };
    let stream = &stream[..stream.len().min(0x8000)];
    let raw1 = stream.len().div_ceil(0x200).max(1) * 0x200;
    let vsize1 = (raw1.max(kib << 10)).next_multiple_of(0x1000);
    let rva2 = 0x1000 + vsize1;
    let mut pe = vec![0u8; 0x400 + raw1];
    put(&mut pe, 0, b"MZ");
    put(&mut pe, 0x3c, &0x40u32.to_le_bytes());
    put(&mut pe, 0x40, b"PE\0\0");
    put(&mut pe, 0x44, &0x14cu16.to_le_bytes());
    put(&mut pe, 0x46, &2u16.to_le_bytes());
    put(&mut pe, 0x54, &0xe0u16.to_le_bytes());
    let opt = 0x58;
    put(&mut pe, opt, &0x10bu16.to_le_bytes());
    put(&mut pe, opt + 16, &(rva2 as u32 + 1).to_le_bytes());
    put(&mut pe, opt + 28, &0x40_0000u32.to_le_bytes());
    put(&mut pe, opt + 32, &0x1000u32.to_le_bytes());
    put(&mut pe, opt + 36, &0x200u32.to_le_bytes());
    put(&mut pe, opt + 56, &(rva2 as u32 + 0x1000).to_le_bytes());
    put(&mut pe, opt + 60, &0x200u32.to_le_bytes());
    let sect = opt + 0xe0;
    for (i, (rva, vsize, raw, size)) in
        [(0x1000, vsize1, 0x400, raw1), (rva2, 0x1000, 0x200, 0x200)]
            .into_iter()
            .enumerate()
    {
        let s = sect + 40 * i;
        put(
            &mut pe,
            s,
            if i == 0 { b".data\0\0\0" } else { b".aspack\0" },
        );
        put(&mut pe, s + 8, &(vsize as u32).to_le_bytes());
        put(&mut pe, s + 12, &(rva as u32).to_le_bytes());
        put(&mut pe, s + 16, &(size as u32).to_le_bytes());
        put(&mut pe, s + 20, &(raw as u32).to_le_bytes());
    }
    // The loader (file 200h = RVA 2000h): entry at +1, ebp at +13h.
    let ebp = 0x213;
    put(&mut pe, 0x201, &ENTRY);
    put(&mut pe, ebp + 0x8b, &[0x8d, 0xb5]);
    put(&mut pe, ebp + 0x8d, &0x100u32.to_le_bytes());
    put(&mut pe, ebp + 0xeb, &[0xb3, flag]);
    put(&mut pe, ebp + 0x133, &[0x80, 0x3e, 0x00]);
    put(&mut pe, ebp + 0x100, &0x1000u32.to_le_bytes());
    put(&mut pe, ebp + 0x104, &((kib << 10) as u32).to_le_bytes());
    put(&mut pe, 0x400, stream);
    pe
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"MZ") {
        bolwerk_fuzz::unpack_as(data, &[FileType::MsExe]);
    } else {
        bolwerk_fuzz::unpack_as(&wrap(data), &[FileType::MsExe]);
    }
});
