//! How long the built-in pack takes to load: decoding its feeds, then
//! indexing them (`cargo run --release -p bolwerk-indicators --example
//! builtin_load`).

use std::time::Instant;

fn main() {
    for _ in 0..3 {
        let t = Instant::now();
        let mut b = bolwerk_indicators::IndicatorsBuilder::new();
        b.add_builtin();
        let decoded = t.elapsed();
        let (set, diags) = b.build();
        let built = t.elapsed();
        println!(
            "decoded in {decoded:.1?}, indexed in {:.1?}: {} indicators, {} diagnostics",
            built - decoded,
            set.len(),
            diags.len()
        );
    }
}
