#![no_main]

//! The input as the compressed stream of a WWPack32 1.12 file built around
//! it: headers, a section holding the stream and the loader's section with
//! its banner and one block record, so that mutations reach the decoder
//! rather than the packer's recognition (`unpack_pe` covers that).

use bolwerk_fuzz::{put, put32, section};
use bolwerk_unpack::FileType;
use libfuzzer_sys::fuzz_target;

const HEADERS: usize = 0x400;
/// The destination section: its RVA and size.
const DEST: u32 = 0x1000;
const DEST_SIZE: u32 = 0x10000;
const LOADER_RVA: u32 = DEST + DEST_SIZE;
const LOADER_SIZE: usize = 0x400;

/// A WWPack32 file whose one block's stream is `stream`.
fn wwpack_file(stream: &[u8]) -> Vec<u8> {
    let stream_len = (stream.len().min(DEST_SIZE as usize) + 3) & !3;
    let loader_raw = HEADERS + stream_len;
    let mut f = vec![0u8; loader_raw + LOADER_SIZE];
    put(&mut f, 0, b"MZ");
    put32(&mut f, 0x3c, 0x80);
    put(&mut f, 0x80, b"PE\0\0\x4c\x01\x02\0");
    put(&mut f, 0x94, &[0xe0, 0, 0x03, 0x01, 0x0b, 0x01]);
    let opt = 0x98;
    put32(&mut f, opt + 16, LOADER_RVA);
    put32(&mut f, opt + 28, 0x40_0000);
    put32(&mut f, opt + 32, 0x1000);
    put32(&mut f, opt + 36, 0x200);
    put32(&mut f, opt + 56, LOADER_RVA + 0x1000);
    put32(&mut f, opt + 60, HEADERS as u32);
    let table = opt + 0xe0;
    section(
        &mut f,
        table,
        b".clam",
        DEST_SIZE,
        DEST,
        stream_len as u32,
        HEADERS as u32,
    );
    section(
        &mut f,
        table + 40,
        b".WWP32",
        0x2b7,
        LOADER_RVA,
        LOADER_SIZE as u32,
        loader_raw as u32,
    );
    put(
        &mut f,
        HEADERS,
        &stream[..stream.len().min(DEST_SIZE as usize)],
    );
    let l = loader_raw;
    put(&mut f, l, b"\x53\x55\x8b\xe8\x33\xdb\xeb\x60");
    put(
        &mut f,
        l + 0x0c,
        b"WWPack32 decompression routine version 1.12",
    );
    put(&mut f, l + 0x68, b"\xe8\0\0\0\0\x58\x2d\x6d\0\0\0");
    let rec = l + 0x2a1;
    put32(&mut f, rec, LOADER_RVA - DEST);
    put32(&mut f, rec + 4, DEST_SIZE - 4);
    put32(&mut f, rec + 8, (stream_len / 4) as u32);
    put32(&mut f, rec + 12, (stream_len as u32).saturating_sub(4));
    f
}

fuzz_target!(|data: &[u8]| bolwerk_fuzz::unpack_as(&wwpack_file(data), &[FileType::MsExe]));
