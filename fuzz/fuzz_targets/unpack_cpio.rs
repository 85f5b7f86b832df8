#![no_main]

use bolwerk_unpack::{CpioKind, FileType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bolwerk_fuzz::unpack_as(
    data,
    &[
        FileType::Cpio(CpioKind::BinLe),
        FileType::Cpio(CpioKind::BinBe),
        FileType::Cpio(CpioKind::Odc),
        FileType::Cpio(CpioKind::Newc)
    ]
));
