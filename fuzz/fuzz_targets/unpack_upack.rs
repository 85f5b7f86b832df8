#![no_main]
//! Upack's LZMA variant. An input starting `MZ` is read as a whole PE file
//! (the real packed test file is a seed of the smoke run); any other input
//! is the compressed stream of a minimal Upack-shaped PE built around it
//! (its first byte picks the literal context and the count of `E8`/`E9`
//! fix-ups, its second the output's size in KiB), so mutations reach the
//! decoder instead of the loader checks.

use bolwerk_fuzz::put;
use bolwerk_unpack::FileType;
use libfuzzer_sys::fuzz_target;

const BASE: u32 = 0x40_0000;
const OUT: u32 = 0x2_0000;

fn va(rva: u32) -> [u8; 4] {
    (BASE + rva).to_le_bytes()
}

/// A PE with one section at RVA 1000h (file 200h) holding the loader's
/// three stages, the decoder's first bytes, its tables and the stream
/// (RVA 1200h), unpacking to RVA 20000h.
fn wrap(data: &[u8]) -> Vec<u8> {
    let (shift, fixups, kib, stream) = match data {
        [a, k, rest @ ..] => (*a % 9, u32::from(*a >> 4), u32::from(*k % 64) + 1, rest),
        _ => (5, 0, 1, data),
    };
    let stream = &stream[..stream.len().min(0x8000)];
    let raw = (0x200 + stream.len()).next_multiple_of(0x200);
    let size_of_image = OUT + (kib << 10) + 0x1000;
    let mut pe = vec![0u8; 0x200 + raw];
    put(&mut pe, 0, b"MZ");
    put(&mut pe, 0x3c, &0x40u32.to_le_bytes());
    put(&mut pe, 0x40, b"PE\0\0");
    put(&mut pe, 0x44, &0x14cu16.to_le_bytes());
    put(&mut pe, 0x46, &1u16.to_le_bytes());
    put(&mut pe, 0x54, &0xe0u16.to_le_bytes());
    let opt = 0x58;
    put(&mut pe, opt, &0x10bu16.to_le_bytes());
    put(&mut pe, opt + 16, &0x1000u32.to_le_bytes());
    put(&mut pe, opt + 28, &BASE.to_le_bytes());
    put(&mut pe, opt + 32, &0x1000u32.to_le_bytes());
    put(&mut pe, opt + 36, &0x200u32.to_le_bytes());
    put(&mut pe, opt + 56, &size_of_image.to_le_bytes());
    put(&mut pe, opt + 60, &0x200u32.to_le_bytes());
    let s = opt + 0xe0;
    put(&mut pe, s, b".upack\0\0");
    put(&mut pe, s + 8, &(size_of_image - 0x1000).to_le_bytes());
    put(&mut pe, s + 12, &0x1000u32.to_le_bytes());
    put(&mut pe, s + 16, &(raw as u32).to_le_bytes());
    put(&mut pe, s + 20, &0x200u32.to_le_bytes());
    let at = |rva: usize| rva - 0x1000 + 0x200;
    // Stage 1 at the entry (1000h), jumping to stage 2 at 1010h.
    put(&mut pe, at(0x1000), &[0xbe]);
    put(&mut pe, at(0x1001), &va(0x1080));
    put(
        &mut pe,
        at(0x1005),
        &[0xad, 0x50, 0xff, 0x76, 0x34, 0xeb, 0x04],
    );
    // Stage 2: copy 4 dwords from 1100h onto themselves; on to 1030h.
    put(
        &mut pe,
        at(0x1010),
        &[0xff, 0x76, 0x38, 0xad, 0x50, 0x8b, 0x3e, 0xbe],
    );
    put(&mut pe, at(0x1018), &va(0x1100));
    put(
        &mut pe,
        at(0x101c),
        &[
            0x6a, 0x04, 0x59, 0xf3, 0xa5, 0xff, 0x76, 0x04, 0x83, 0xc8, 0xff, 0x8b, 0xdf, 0xab,
            0xeb, 0x04,
        ],
    );
    // Stage 3: 1C00h probabilities, then the decoder at 1050h.
    put(
        &mut pe,
        at(0x1030),
        &[
            0x40, 0xab, 0x40, 0xb1, 0x04, 0xf3, 0xab, 0xc1, 0xe0, 0x0a, 0xb5, 0x1c, 0xf3, 0xab,
            0x8b, 0x7e, 0x0c, 0x57, 0x51, 0xe9,
        ],
    );
    put(&mut pe, at(0x1044), &(0x1050u32 - 0x1048).to_le_bytes());
    put(
        &mut pe,
        at(0x1050),
        &[
            0x58, 0x8d, 0x54, 0x83, 0x58, 0xff, 0x16, 0x72, 0x4f, 0x04, 0xfd, 0x1a, 0xd2, 0x22,
            0xc2, 0x3c, 0x07, 0x73, 0xf6, 0x50, 0x0f, 0xb6, 0x6f, 0xff, 0xc1, 0xed, shift, 0x66,
            0x69, 0xed, 0x00, 0x03, 0x8d, 0xac, 0xab, 0x08, 0x10, 0x00, 0x00,
        ],
    );
    // T: entry, unused, where the copy goes.
    put(&mut pe, at(0x1088), &va(0x1100));
    // The copied dwords: the fix-up loop's test (marker 0), the stream.
    put(
        &mut pe,
        at(0x1100),
        &[0x04, 0x18, 0x3c, 0x02, 0x73, 0xf7, 0x8b, 0x07, 0x3c, 0x00],
    );
    put(&mut pe, at(0x110c), &va(0x1200));
    // Past them: fix-ups, output start and end, fix-up base.
    put(&mut pe, at(0x1114), &fixups.to_le_bytes());
    put(&mut pe, at(0x111c), &va(OUT));
    put(&mut pe, at(0x1144), &va(OUT + (kib << 10)));
    put(&mut pe, at(0x1148), &va(OUT - 4));
    put(&mut pe, at(0x1200), stream);
    pe
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"MZ") {
        bolwerk_fuzz::unpack_as(data, &[FileType::MsExe]);
    } else {
        bolwerk_fuzz::unpack_as(&wrap(data), &[FileType::MsExe]);
    }
});
