//! `bolwerk scan --indicators`: planted artefacts found exactly where they
//! are (files, archive members, a Chrome history), clamscan mode, STIX
//! sightings, the built-in pack and its attributions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::containers::zip_of;
use crate::util::{bolwerk, corpora, Dir, Run};

fn pegasus() -> PathBuf {
    corpora().join("indicators/amnesty/pegasus.stix2")
}

/// A Pegasus domain, read from the feed with plain JSON.
fn pegasus_domain() -> String {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(pegasus()).unwrap()).unwrap();
    v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["pattern"].as_str())
        .find(|p| p.starts_with("[domain-name:value="))
        .and_then(|p| p.split('\'').nth(1))
        .unwrap()
        .to_string()
}

/// A Chrome `History` database with these URLs in its `urls` table.
fn chrome_history(path: &Path, urls: &[String]) -> Vec<u8> {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT, url LONGVARCHAR,
           title LONGVARCHAR, visit_count INTEGER DEFAULT 0 NOT NULL,
           typed_count INTEGER DEFAULT 0 NOT NULL, last_visit_time INTEGER NOT NULL,
           hidden INTEGER DEFAULT 0 NOT NULL);",
    )
    .unwrap();
    for u in urls {
        c.execute(
            "INSERT INTO urls(url, title, last_visit_time) VALUES (?1, 't', 1)",
            [u],
        )
        .unwrap();
    }
    drop(c);
    std::fs::read(path).unwrap()
}

/// The evidence tree and a small feed with the planted sample's SHA-256.
struct Planted {
    dir: Dir,
    domain: String,
}

fn plant() -> Planted {
    let dir = Dir::new();
    let d = pegasus_domain();
    dir.write(
        "evidence/Library/LaunchDaemons/roleaccountd.plist",
        "<plist/>",
    );
    dir.write(
        "evidence/Library/LaunchDaemons/roleaccountd.plist.txt",
        "notes",
    );
    dir.write("evidence/private/var/tmp/hooker", "");
    let sample = b"planted sample for a test feed\n".repeat(3);
    dir.write("evidence/sample.bin", &sample);
    let digest: String = Sha256::digest(&sample)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.write(
        "feeds/novispy-test.stix2",
        format!(
            r#"{{"type":"bundle","id":"bundle--t","objects":[
            {{"type":"malware","id":"malware--n","name":"NoviSpy"}},
            {{"type":"indicator","id":"indicator--sample","pattern":"[file:hashes.'SHA-256' = '{digest}']"}},
            {{"type":"relationship","id":"relationship--r","relationship_type":"indicates",
              "source_ref":"indicator--sample","target_ref":"malware--n"}}]}}"#
        ),
    );
    let misses = vec![
        format!("https://not{d}/"),
        format!("https://{d}.example.net/"),
        format!("https://example.org/?{d}x"),
    ];
    let mut hit = misses.clone();
    hit.insert(1, format!("https://www.{d}/landing"));
    chrome_history(&dir.join("evidence/Chrome/Default/History"), &hit);
    chrome_history(&dir.join("evidence/clean/History"), &misses);
    let zipped = chrome_history(&dir.join("tmp/History"), &hit);
    dir.write(
        "evidence/backup.zip",
        zip_of(&[("Default/History", &zipped), ("readme.txt", b"hello")]),
    );
    dir.write("evidence/notes.txt", misses.join("\n"));
    Planted { dir, domain: d }
}

/// `bolwerk scan --json` of the evidence with the Pegasus feed and `extra`
/// options, no database and no built-in pack.
fn scan_evidence(p: &Planted, extra: &[&str]) -> Run {
    let (db, peg) = (p.dir.no_db(), pegasus());
    let evidence = p.dir.join("evidence");
    let mut args = vec!["scan", "--no-builtin", "-d", &db, "--json"];
    args.extend(["--indicators", peg.to_str().unwrap()]);
    args.extend(extra);
    args.push(evidence.to_str().unwrap());
    bolwerk(&args)
}

/// The detection objects of `--json` output.
fn detections(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "detection")
        .collect()
}

fn json_detections(stdout: &str) -> BTreeSet<(String, String, String, String)> {
    detections(stdout)
        .into_iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            (s("path"), s("object"), s("name"), s("kind"))
        })
        .collect()
}

#[test]
fn planted_artefacts_found_exactly_where_they_are() {
    let p = plant();
    let feeds = p.dir.join("feeds");
    let predator = corpora().join("indicators/mvt-indicators/predator.stix2");
    let extra = ["--indicators", feeds.to_str().unwrap()];
    let r = scan_evidence(
        &p,
        &[&extra[..], &["--indicators", predator.to_str().unwrap()]].concat(),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = |rel: &str| p.dir.join("evidence").join(rel).display().to_string();
    let t = |a: String, b: &str, c: &str, d: &str| (a, b.to_string(), c.to_string(), d.to_string());
    let want: BTreeSet<_> = [
        t(
            e("Library/LaunchDaemons/roleaccountd.plist"),
            "",
            "Spyware.Pegasus",
            "indicator-file-name",
        ),
        t(e("sample.bin"), "", "Spyware.NoviSpy", "indicator-sha256"),
        // Empty: matched by its path alone.
        t(
            e("private/var/tmp/hooker"),
            "",
            "Spyware.Predator",
            "indicator-file-path",
        ),
        t(
            e("Chrome/Default/History"),
            "",
            "Spyware.Pegasus",
            "indicator-domain",
        ),
        t(
            e("backup.zip"),
            "Default/History",
            "Spyware.Pegasus",
            "indicator-domain",
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(json_detections(&r.stdout), want, "{}", r.stdout);
    let detail = format!(
        "matched 'www.{}' in table urls, row 2, column url",
        p.domain
    );
    assert!(r.stdout.contains(&detail), "{}", r.stdout);
}

#[test]
fn text_output_says_why_and_clamscan_mode_does_not() {
    let p = plant();
    let (db, peg) = (p.dir.no_db(), pegasus());
    let ev = p.dir.join("evidence");
    let (peg, evs) = (peg.to_str().unwrap(), ev.to_str().unwrap());
    let native = ["scan", "--no-builtin", "-d", &db, "-i", "--no-progress"];
    let r = bolwerk(&[&native[..], &["--indicators", peg, evs]].concat());
    assert_eq!(r.code, 1);
    let plist = ev
        .join("Library/LaunchDaemons/roleaccountd.plist")
        .display()
        .to_string();
    let why = "  because file:name = 'roleaccountd.plist' in name\n";
    let want = format!("{plist}: Spyware.Pegasus FOUND\n{why}");
    assert!(r.stdout.contains(&want), "{}", r.stdout);
    let clam = ["clamscan", "-d", &db, "-r", "-i", "--no-summary"];
    let r = bolwerk(&[&clam[..], &["--indicators", peg, evs]].concat());
    assert_eq!(r.code, 1);
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    let mut want = [
        format!(
            "{}: Spyware.Pegasus FOUND",
            ev.join("Chrome/Default/History").display()
        ),
        format!("{}: Spyware.Pegasus FOUND", ev.join("backup.zip").display()),
        format!("{plist}: Spyware.Pegasus FOUND"),
    ];
    want.sort();
    assert_eq!(lines, want.iter().map(String::as_str).collect::<Vec<_>>());
    // Without --indicators clamscan mode loads none, not even the built-in ones.
    let r = bolwerk(&[&clam[..], &[evs]].concat());
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
}

#[test]
fn builtin_pack_finds_pegasus_unless_turned_off() {
    let dir = Dir::new();
    let db = dir.no_db();
    let f = dir.write("phone/Library/Preferences/roleaccountd.plist", "x");
    let r = bolwerk(&["scan", "-d", &db, "--json", f.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let sources: BTreeSet<String> = detections(&r.stdout)
        .into_iter()
        .map(|v| v["source"].as_str().unwrap().to_string())
        .collect();
    assert!(
        sources.contains("builtin:amnesty/pegasus.stix2"),
        "{sources:?}"
    );
    let r = bolwerk(&[
        "scan",
        "-d",
        &db,
        "--no-builtin",
        "--json",
        f.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

/// The objects of a STIX bundle written by `--stix-out`, by type.
fn bundle_objects(path: &Path) -> BTreeMap<String, Vec<serde_json::Value>> {
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(bundle["type"], "bundle");
    let mut by_type: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for o in bundle["objects"].as_array().unwrap() {
        let t = o["type"].as_str().unwrap().to_string();
        by_type.entry(t).or_default().push(o.clone());
    }
    by_type
}

/// OASIS's STIX validator (PyPI `stix2-validator`, installed by `.ci/run`)
/// on a bundle: valid, warnings allowed (name-based UUIDs are version 5).
fn assert_valid_stix(path: &Path) {
    let out = std::process::Command::new("stix2_validator")
        .args(["--version", "2.1"])
        .arg(path)
        .output()
        .expect("stix2_validator is missing: python3 -m pip install stix2-validator");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("STIX JSON: Valid"),
        "{text}"
    );
}

#[test]
fn stix_out_writes_sightings_that_oasis_validates() {
    let p = plant();
    let sample = std::fs::read(p.dir.join("evidence/sample.bin")).unwrap();
    let digest: String = Sha256::digest(&sample)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let iocs = p.dir.write(
        "feeds3/hash-iocs.txt",
        format!("# test\n{digest};planted sample\n"),
    );
    let out = p.dir.join("sightings.json");
    let extra = [
        "--indicators",
        iocs.to_str().unwrap(),
        "--stix-out",
        out.to_str().unwrap(),
    ];
    let r = scan_evidence(&p, &extra);
    assert_eq!(r.code, 1);
    let found: BTreeSet<(String, String)> = detections(&r.stdout)
        .into_iter()
        .map(|v| {
            let path = v["path"].as_str().unwrap();
            let obj = v["object"].as_str().unwrap();
            let full = if obj.is_empty() {
                path.to_string()
            } else {
                format!("{path}//{obj}")
            };
            (v["signature"].as_str().unwrap().to_string(), full)
        })
        .collect();
    assert_eq!(found.len(), 4, "{found:?}");
    assert_valid_stix(&out);
    let objs = bundle_objects(&out);
    assert_eq!(objs["identity"].len(), 1);
    assert_eq!(objs["extension-definition"].len(), 1);
    let identity = objs["identity"][0]["id"].as_str().unwrap();
    let indicators: BTreeMap<&str, &serde_json::Value> = objs["indicator"]
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i))
        .collect();
    let mut sighted = BTreeSet::new();
    for s in &objs["sighting"] {
        assert_eq!(s["where_sighted_refs"], serde_json::json!([identity]));
        assert!(s["last_seen"].as_str().unwrap().ends_with('Z'));
        let of = s["sighting_of_ref"].as_str().unwrap();
        let path = s["x_bolwerk_object_path"].as_str().unwrap().to_string();
        let ind = indicators
            .get(of)
            .expect("the sighted indicator is in the bundle");
        if ind["name"] == "IOC.Hash" {
            // A line-based IOC: a name-based (version 5) id and a pattern
            // written for it.
            assert_eq!(&of["indicator--".len() + 14..][..1], "5", "{of}");
            let pattern = format!("[file:hashes.sha256 = '{digest}']");
            assert_eq!(ind["pattern"], serde_json::json!(pattern));
            let line = format!("{}:2", iocs.display());
            sighted.insert((line, path));
        } else {
            sighted.insert((of.to_string(), path));
        }
    }
    assert_eq!(sighted, found);
    // The same feed line is the same indicator in the next scan.
    let ids = |objs: &BTreeMap<String, Vec<serde_json::Value>>| -> BTreeSet<String> {
        objs["indicator"]
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let first = ids(&objs);
    assert_eq!(scan_evidence(&p, &extra).code, 1);
    assert_eq!(ids(&bundle_objects(&out)), first);
}

#[test]
fn db_info_builtin_shows_the_feeds_and_their_attribution() {
    let r = bolwerk(&["db", "info", "--builtin"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    for s in [
        "builtin:amnesty/pegasus.stix2: 1549 (",
        "domain-name:value 1438",
        "builtin:signature-base/hash-iocs.txt:",
        "builtin:stalkerware/misp_event.json:",
        "Amnesty International Security Lab; licence: CC BY 2.0",
        "licence: MIT",
        "Detection Rule License (DRL) 1.1",
        "Echap and contributors; licence: CC BY 4.0",
    ] {
        assert!(r.stdout.contains(s), "missing {s:?} in\n{}", r.stdout);
    }
}

#[test]
fn a_bad_feed_is_an_error_and_the_good_ones_still_match() {
    let p = plant();
    let db = p.dir.no_db();
    let bad = p.dir.write("feeds2/notes.txt", "nothing");
    let broken = p.dir.write(
        "feeds2/broken.stix2",
        "{\"type\": \"bundle\", \"objects\": [",
    );
    let scan = |feed: &Path, target: &str| {
        let (bad, feed) = (bad.to_str().unwrap(), feed.to_str().unwrap());
        let target = p.dir.join(target);
        let opts = ["scan", "--no-builtin", "-d", &db, "-i", "--no-summary"];
        let feeds = ["--indicators", bad, "--indicators", feed];
        bolwerk(&[&opts[..], &feeds[..], &[target.to_str().unwrap()]].concat())
    };
    let r = scan(&broken, "evidence/notes.txt");
    assert_eq!(r.code, 2, "{}", r.stdout);
    let unknown = format!("ERROR: {}: not a known indicator format", bad.display());
    assert!(r.stderr.contains(&unknown), "{}", r.stderr);
    let json = format!("ERROR: {}: JSON:", broken.display());
    assert!(r.stderr.contains(&json), "{}", r.stderr);
    let r = scan(&pegasus(), "evidence/Library");
    assert_eq!(r.code, 1, "found outranks errors: {}", r.stderr);
}

#[test]
fn mapped_large_files_match_as_read_ones() {
    let dir = Dir::new();
    let db = dir.no_db();
    let d = pegasus_domain();
    let line = format!("GET https://cdn.{d}/x HTTP/1.1\n");
    // Below and above the 16 MiB from which files are memory-mapped.
    let filler = "GET https://example.org/ok HTTP/1.1\n".repeat(17 << 20 >> 5);
    dir.write("small.log", format!("{filler:.1000}\n{line}"));
    dir.write("large.log", format!("{filler}{line}"));
    let peg = pegasus();
    let args = ["scan", "--no-builtin", "-d", &db, "--json"];
    let target = dir.path().to_str().unwrap();
    let r = bolwerk(&[&args[..], &["--indicators", peg.to_str().unwrap(), target]].concat());
    assert_eq!(r.code, 1);
    let got: BTreeSet<String> = detections(&r.stdout)
        .into_iter()
        .map(|v| {
            let p = v["path"].as_str().unwrap();
            Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let want: BTreeSet<String> = ["large.log", "small.log"].map(String::from).into();
    assert_eq!(got, want, "{}", r.stdout);
}
