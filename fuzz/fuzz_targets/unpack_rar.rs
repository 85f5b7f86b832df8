#![no_main]

use bolwerk_unpack::FileType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bolwerk_fuzz::unpack_as(data, &[FileType::Rar]));
