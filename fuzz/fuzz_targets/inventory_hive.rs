#![no_main]

use bolwerk_inventory::sources::{windows_programs, windows_services};
use libfuzzer_sys::fuzz_target;

// Any bytes as a SOFTWARE and a SYSTEM registry hive: findings or an
// error, never a crash, a hang or unbounded memory. The hive parser
// (notatin) runs behind catch_unwind in bolwerk, which turns its panics
// into errors; libFuzzer's panic hook would abort on them first, so the
// default hook is put back (silenced) to fuzz what bolwerk does.
fuzz_target!(|data: &[u8]| {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Ok(programs) = windows_programs(data.to_vec()) {
        assert!(programs.len() <= data.len());
    }
    if let Ok(services) = windows_services(data.to_vec()) {
        assert!(services.len() <= data.len());
    }
});
