#![no_main]

use bolwerk_sigs::{HashLayout, HashParser, HashSet3, IgnoreList, Names, FLEVEL};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ignore = IgnoreList::default();
    for layout in [HashLayout::HashFirst, HashLayout::SizeFirst] {
        let parser = HashParser {
            layout,
            flevel: FLEVEL,
            ignore: &ignore,
        };
        let _ = parser.parse_line(data, &mut HashSet3::default(), &mut Names::new());
    }
});
