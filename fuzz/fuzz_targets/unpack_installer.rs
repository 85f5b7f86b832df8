#![no_main]

use bolwerk_unpack::FileType;
use libfuzzer_sys::fuzz_target;

// Executables: the installer readers (NSIS, InstallShield) look in the
// overlay, or the whole input when it is not a PE file.
fuzz_target!(|data: &[u8]| bolwerk_fuzz::unpack_as(data, &[FileType::MsExe]));
