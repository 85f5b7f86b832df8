//! The real feeds in `../shared/corpora/indicators` load, and what loads is
//! what is in them, counted here independently of the crate's parser.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bolwerk_indicators::{Indicators, IndicatorsBuilder};

fn corpora() -> PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../../shared/corpora/indicators")
}

fn stix_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["amnesty", "mvt-indicators"] {
        for e in std::fs::read_dir(corpora().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "stix2") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 9, "the corpus holds at least 9 STIX files");
    out
}

/// Counts of indicator patterns by object path, with string operations
/// only: the text between `[` and the first `=`, lower-cased, quotes and
/// dashes of a hash name dropped.
fn independent_counts(file: &Path) -> BTreeMap<String, usize> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let mut counts = BTreeMap::new();
    for o in v["objects"].as_array().unwrap() {
        if o["type"] != "indicator" {
            continue;
        }
        let p = o["pattern"].as_str().unwrap();
        let inside = p.trim().strip_prefix('[').unwrap();
        let path = inside.split('=').next().unwrap().trim().to_lowercase();
        let path = path
            .replace(['\'', '-'], "")
            .replace("domainname", "domain-name");
        let path = path
            .replace("emailaddr", "email-addr")
            .replace("androidproperty", "android-property")
            .replace("configurationprofile", "configuration-profile");
        *counts.entry(path).or_insert(0) += 1;
    }
    counts
}

fn load(path: &Path) -> Indicators {
    let mut b = IndicatorsBuilder::new();
    b.add_path(path).unwrap();
    let (set, diags) = b.build();
    assert!(diags.is_empty(), "{}: {diags:?}", path.display());
    set
}

#[test]
fn every_stix_file_parses_with_the_counts_in_it() {
    for f in stix_files() {
        let set = load(&f);
        let src = &set.sources()[0];
        let want = independent_counts(&f);
        assert_eq!(src.by_path, want, "{}", f.display());
        assert_eq!(
            src.indicators,
            want.values().sum::<usize>(),
            "{}",
            f.display()
        );
    }
}

#[test]
fn pegasus_counts_match_the_corpus_readme() {
    let set = load(&corpora().join("amnesty/pegasus.stix2"));
    let by = &set.sources()[0].by_path;
    assert_eq!(by["domain-name:value"], 1438);
    assert_eq!(by["process:name"], 81);
    assert_eq!(by["email-addr:value"], 29);
    assert_eq!(by["file:name"], 1);
}

/// Non-blank, non-comment lines of a signature-base file.
fn ioc_lines(name: &str) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(corpora().join("signature-base/iocs").join(name)).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| (i as u64 + 1, l.to_string()))
        .collect()
}

#[test]
fn signature_base_files_load_except_the_lines_reported() {
    for name in ["hash-iocs.txt", "filename-iocs.txt", "c2-iocs.txt"] {
        let mut b = IndicatorsBuilder::new();
        b.min_score(0);
        b.add_path(&corpora().join("signature-base/iocs").join(name))
            .unwrap();
        let (set, diags) = b.build();
        let lines = ioc_lines(name);
        let src = &set.sources()[0];
        assert_eq!(src.below_score, 0);
        assert_eq!(
            src.indicators + diags.len(),
            lines.len(),
            "{name}: every line either loads or is reported"
        );
        for d in &diags {
            let line = d.line().expect("a refused line names its line");
            assert!(d.to_string().contains(&format!("{name}:{line}:")), "{d}");
            assert!(lines.iter().any(|(n, _)| *n == line));
        }
        // Every regex in this version of the file compiles with the regex
        // crate (Python's `re` accepts them all too); refusals are tested
        // below on lines that use what the crate lacks.
        assert!(diags.is_empty(), "{name}: {diags:?}");
    }
}

#[test]
fn hash_iocs_count_by_length() {
    let set = load(&corpora().join("signature-base/iocs/hash-iocs.txt"));
    let mut want = BTreeMap::new();
    for (_, l) in ioc_lines("hash-iocs.txt") {
        let h = l.split(';').next().unwrap().trim();
        let key = match h.len() {
            32 => "file:hashes.md5",
            40 => "file:hashes.sha1",
            _ => "file:hashes.sha256",
        };
        *want.entry(key.to_string()).or_insert(0) += 1;
    }
    assert_eq!(set.sources()[0].by_path, want);
}

#[test]
fn directories_load_every_feed_in_them() {
    let mut b = IndicatorsBuilder::new();
    let n = b.add_path(&corpora().join("amnesty")).unwrap();
    assert_eq!(
        n, 5,
        "five .stix2 files; README.md and novispy.yara are passed over"
    );
    let mut b = IndicatorsBuilder::new();
    let n = b.add_path(&corpora().join("signature-base")).unwrap();
    assert_eq!(
        n, 3,
        "hash, filename and c2 IOCs; keywords.txt and README.txt passed over"
    );
}

#[test]
fn echap_misp_event_loads_by_app() {
    let set = load(&corpora().join("stalkerware/generated/misp_event.json"));
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(corpora().join("stalkerware/generated/misp_event.json")).unwrap(),
    )
    .unwrap();
    let mut want = BTreeMap::new();
    for o in v["Object"].as_array().unwrap() {
        for a in o["Attribute"].as_array().unwrap() {
            let key = match a["object_relation"].as_str().unwrap() {
                "sha256" => "file:hashes.sha256",
                "domain" => "domain-name:value",
                "appid" => "app:id",
                "certificate" => "app:cert.sha1",
                _ => continue,
            };
            *want.entry(key.to_string()).or_insert(0) += 1;
        }
    }
    assert_eq!(set.sources()[0].by_path, want);
}

#[test]
fn builtin_pack_loads_without_diagnostics() {
    // The pack is read when the crate is built (build.rs), which refuses
    // a feed line or regex that would warn here.
    let mut b = IndicatorsBuilder::new();
    b.add_builtin();
    let (set, diags) = b.build();
    assert_eq!(set.sources().len(), 13);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(set.len() > 10_000, "{} indicators", set.len());
}

#[test]
fn regexes_the_regex_crate_refuses_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("my-filename-iocs.txt");
    std::fs::write(
        &f,
        "# look-around\n\\\\evil(?!\\.txt)\\.exe;80\n\\\\good\\.exe;80\n# backref\n(a)\\1;90\nbad;x\n",
    )
    .unwrap();
    let mut b = IndicatorsBuilder::new();
    b.add_path(&f).unwrap();
    let (set, diags) = b.build();
    assert_eq!(set.len(), 1);
    let got: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    let shown = f.display().to_string();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with(&format!("{shown}:6: score")), "{got:?}");
    assert!(
        got[1].starts_with(&format!("{shown}:2: regex: ")),
        "{got:?}"
    );
    assert!(got[1].contains("look-around"), "{got:?}");
    assert!(
        got[2].starts_with(&format!("{shown}:5: regex: ")),
        "{got:?}"
    );
}
