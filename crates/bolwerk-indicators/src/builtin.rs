//! The built-in indicator pack: public feeds compiled into the binary, so
//! a fresh install finds known spyware without downloading anything.
//! `build.rs` reads them from `builtin/` in this crate at build time and
//! stores them read, in the packed form of `src/packed.rs`: a start-up
//! decodes them (a few milliseconds) instead of decompressing and parsing
//! 8 MB of JSON.
//!
//! Each feed keeps its licence; [`ATTRIBUTIONS`] is what `bolwerk db info
//! --builtin` and the README show, and `builtin/ATTRIBUTION.md` holds the
//! same with the licence texts beside the feeds.

/// The feeds, read, in the packed form.
pub(crate) const PACKED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/builtin.pack"));

/// The feeds' paths under `builtin/`, in load order.
const NAMES: &[&str] = include!(concat!(env!("OUT_DIR"), "/names.rs"));

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
    NAMES.iter().copied()
}

/// The size of the pack in the binary, in bytes.
pub fn size() -> usize {
    PACKED.len()
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
    fn every_feed_is_attributed_and_holds_indicators() {
        let feeds = crate::packed::decode(PACKED).expect("the pack decodes");
        assert_eq!(
            feeds.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            names().map(|n| format!("builtin:{n}")).collect::<Vec<_>>()
        );
        for (name, feed) in &feeds {
            let name = name.trim_start_matches("builtin:");
            assert!(attribution(name).is_some(), "{name} has no attribution");
            assert!(
                feed.entries.len() >= 10,
                "{name}: {} entries",
                feed.entries.len()
            );
        }
        assert_eq!(feeds.len(), 13, "feeds: {:?}", names().collect::<Vec<_>>());
    }
}
