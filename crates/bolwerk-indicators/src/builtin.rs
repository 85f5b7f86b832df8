//! The built-in indicator pack: public feeds compiled into the binary,
//! gzip-compressed (by `build.rs`, from `builtin/` in this crate), so a
//! fresh install finds known spyware without downloading anything.
//!
//! Each feed keeps its licence; [`ATTRIBUTIONS`] is what `bolwerk db info
//! --builtin` and the README show, and `builtin/ATTRIBUTION.md` holds the
//! same with the licence texts beside the feeds.

use std::io::Read;

/// The compressed feeds: path under `builtin/`, gzip bytes.
const FEEDS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/feeds.rs"));

/// The largest a built-in feed may decompress to (a guard against a
/// damaged build, not against users).
const MAX_FEED: u64 = 64 << 20;

/// Who made a group of built-in feeds, and under which licence.
#[derive(Clone, Copy, Debug)]
pub struct Attribution {
    /// The directory under `builtin/` (feed paths start with it).
    pub dir: &'static str,
    /// What the feeds are.
    pub what: &'static str,
    /// Their authors.
    pub by: &'static str,
    /// Their licence.
    pub licence: &'static str,
    /// Where they are published.
    pub url: &'static str,
}

/// The attributions of every built-in feed.
pub const ATTRIBUTIONS: &[Attribution] = &[
    Attribution {
        dir: "amnesty",
        what: "indicators from Amnesty International's investigations (Pegasus, Predator, NoviSpy, Wintego Helios, a 2023 Android campaign)",
        by: "Amnesty International Security Lab",
        licence: "CC BY 2.0",
        url: "https://github.com/AmnestyTech/investigations",
    },
    Attribution {
        dir: "mvt-indicators",
        what: "MVT's indicators (Predator 2023, RCS Lab, QuaDream KingSpawn, Operation Triangulation)",
        by: "MVT project, Copyright (c) 2022 MVT",
        licence: "MIT",
        url: "https://github.com/mvt-project/mvt-indicators",
    },
    Attribution {
        dir: "signature-base",
        what: "signature-base IOCs (hash-iocs.txt, filename-iocs.txt, c2-iocs.txt)",
        by: "Florian Roth, Nextron Systems, and contributors",
        licence: "Detection Rule License (DRL) 1.1, https://github.com/SigmaHQ/Detection-Rule-License",
        url: "https://github.com/Neo23x0/signature-base",
    },
    Attribution {
        dir: "stalkerware",
        what: "stalkerware indicators (MISP event: app names, C2 domains, sample SHA-256, certificates)",
        by: "Echap and contributors",
        licence: "CC BY 4.0",
        url: "https://github.com/AssoEchap/stalkerware-indicators",
    },
];

/// The names of the built-in feeds, in load order.
pub fn names() -> impl Iterator<Item = &'static str> {
    FEEDS.iter().map(|(n, _)| *n)
}

/// The built-in feeds, decompressed: (path under `builtin/`, bytes).
pub fn feeds() -> impl Iterator<Item = (&'static str, Vec<u8>)> {
    FEEDS.iter().map(|(name, gz)| {
        let mut out = Vec::new();
        let _ = flate2::read::GzDecoder::new(*gz)
            .take(MAX_FEED)
            .read_to_end(&mut out);
        (*name, out)
    })
}

/// The compressed size of the pack in the binary.
pub fn compressed_size() -> usize {
    FEEDS.iter().map(|(_, gz)| gz.len()).sum()
}

/// The attribution of a built-in feed.
pub fn attribution(feed: &str) -> Option<&'static Attribution> {
    ATTRIBUTIONS
        .iter()
        .find(|a| feed.starts_with(a.dir) && feed[a.dir.len()..].starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feed_is_attributed_and_decompresses() {
        let mut n = 0;
        for (name, bytes) in feeds() {
            assert!(attribution(name).is_some(), "{name} has no attribution");
            assert!(
                bytes.len() > 1000,
                "{name} decompressed to {} bytes",
                bytes.len()
            );
            n += 1;
        }
        assert_eq!(n, 13, "feeds: {:?}", names().collect::<Vec<_>>());
    }
}
