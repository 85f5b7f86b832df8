#![no_main]

//! The input as a Petite 2.2 file's compressed stream: its first three
//! bytes choose the unpacked size (so every distance coding is reached),
//! the rest is the stream, put in a file built around it with the
//! loader's recognised code and a record table of one block, so that
//! mutations reach the decoder rather than the packer's recognition
//! (`unpack_pe` covers that).

use bolwerk_fuzz::{put, put32, section};
use bolwerk_unpack::FileType;
use libfuzzer_sys::fuzz_target;

const HEADERS: usize = 0x400;
const DEST: u32 = 0x1000;
const DEST_SIZE: u32 = 0x5_0000;
const STREAM: u32 = DEST + DEST_SIZE;
const STREAM_SIZE: usize = 0x1_0000;
const LOADER: u32 = STREAM + STREAM_SIZE as u32;
const LOADER_SIZE: usize = 0x200;
const TABLE: u32 = 0x1b8;
const IMAGE_BASE: u32 = 0x40_0000;

/// A Petite file with one block of `size` bytes unpacked from `stream`.
fn petite_file(size: u32, stream: &[u8]) -> Vec<u8> {
    let stream = &stream[..stream.len().min(STREAM_SIZE)];
    let loader_raw = HEADERS + STREAM_SIZE;
    let mut f = vec![0u8; loader_raw + LOADER_SIZE];
    put(&mut f, 0, b"MZ");
    put32(&mut f, 0x3c, 0x80);
    put(&mut f, 0x80, b"PE\0\0\x4c\x01\x03\0");
    put(&mut f, 0x94, &[0xe0, 0, 0x03, 0x01, 0x0b, 0x01]);
    let opt = 0x98;
    put32(&mut f, opt + 16, LOADER);
    put32(&mut f, opt + 28, IMAGE_BASE);
    put32(&mut f, opt + 32, 0x1000);
    put32(&mut f, opt + 36, 0x200);
    put32(&mut f, opt + 56, LOADER + 0x1000);
    put32(&mut f, opt + 60, HEADERS as u32);
    let table = opt + 0xe0;
    section(&mut f, table, b"", DEST_SIZE, DEST, 0, 0);
    section(
        &mut f,
        table + 40,
        b"",
        STREAM_SIZE as u32,
        STREAM,
        STREAM_SIZE as u32,
        HEADERS as u32,
    );
    section(
        &mut f,
        table + 80,
        b"",
        LOADER_SIZE as u32,
        LOADER,
        LOADER_SIZE as u32,
        loader_raw as u32,
    );
    put(&mut f, HEADERS, stream);
    let l = loader_raw;
    f[l] = 0xb8;
    put32(&mut f, l + 1, IMAGE_BASE + LOADER);
    f[l + 5] = 0x68;
    put(
        &mut f,
        l + 10,
        b"\x64\xff\x35\0\0\0\0\x64\x89\x25\0\0\0\0\x66\x9c\x60\x50\x68",
    );
    put(&mut f, l + 0x62, b"\x58\x8d\x90");
    put32(&mut f, l + 0x65, TABLE);
    put(&mut f, l + 0xb6, b"\x81\xfb\0\0\x01\0");
    put(&mut f, l + 0x102, b"\xa4\x30\x5f\xff\x4b");
    let rec = l + TABLE as usize;
    put32(&mut f, rec, STREAM);
    put32(&mut f, rec + 4, size);
    put32(&mut f, rec + 8, DEST);
    // The last record: a block unpacked from RVA 0.
    put32(&mut f, rec + 20, 0x100);
    f
}

fuzz_target!(|data: &[u8]| {
    if let [a, b, c, stream @ ..] = data {
        let size = u32::from_le_bytes([*a, *b, *c, 0]) % DEST_SIZE + 1;
        bolwerk_fuzz::unpack_as(&petite_file(size, stream), &[FileType::MsExe]);
    }
});
