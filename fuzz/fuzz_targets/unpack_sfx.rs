#![no_main]

use bolwerk_unpack::FileType;
use libfuzzer_sys::fuzz_target;

// Data of no container type: archives and documents behind other bytes.
fuzz_target!(|data: &[u8]| bolwerk_fuzz::unpack_as(data, &[FileType::Unknown]));
