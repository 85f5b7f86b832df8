//! Planted artefacts: a Pegasus file name, a file whose SHA-256 is in a
//! small feed, a Chrome-style SQLite history and text with a Pegasus domain
//! and near misses — detections exactly where expected, none elsewhere.

use std::path::{Path, PathBuf};

use bolwerk_indicators::{Indicators, IndicatorsBuilder, Match, ObjectName};
use sha2::{Digest, Sha256};

fn corpora() -> PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../../shared/corpora/indicators")
}

fn load(paths: &[&Path]) -> Indicators {
    let mut b = IndicatorsBuilder::new();
    for p in paths {
        b.add_path(p).unwrap();
    }
    let (set, diags) = b.build();
    assert!(diags.is_empty(), "{diags:?}");
    set
}

fn pegasus() -> Indicators {
    load(&[&corpora().join("amnesty/pegasus.stix2")])
}

/// A Pegasus domain, read from the feed with plain JSON.
fn pegasus_domain() -> String {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpora().join("amnesty/pegasus.stix2")).unwrap())
            .unwrap();
    let p = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["pattern"].as_str())
        .find(|p| p.starts_with("[domain-name:value="))
        .unwrap();
    p.split('\'').nth(1).unwrap().to_string()
}

fn file(path: &str) -> ObjectName<'_> {
    ObjectName {
        file: Path::new(path),
        members: &[],
    }
}

fn names(ms: &[Match]) -> Vec<&str> {
    ms.iter().map(|m| m.name.as_str()).collect()
}

#[test]
fn pegasus_file_name() {
    let set = pegasus();
    let hit = set.match_name(file("/evidence/Library/LaunchDaemons/roleaccountd.plist"));
    assert_eq!(names(&hit), ["Spyware.Pegasus"]);
    assert_eq!(hit[0].kind, "indicator-file-name");
    assert!(
        hit[0]
            .detail
            .contains("file:name = 'roleaccountd.plist' in name"),
        "{}",
        hit[0].detail
    );
    assert!(hit[0].source.ends_with("pegasus.stix2"));
    assert!(hit[0].indicator.starts_with("indicator--"));
    for miss in [
        "x/roleaccountd.plist.bak",
        "x/Roleaccountd.plist",
        "x/aroleaccountd.plist",
    ] {
        assert!(set.match_name(file(miss)).is_empty(), "{miss}");
    }
    // Inside an archive, the member's own name counts.
    let members = ["backup/Library/roleaccountd.plist".to_string()];
    let obj = ObjectName {
        file: Path::new("phone.tar"),
        members: &members,
    };
    assert_eq!(
        names(&set.match_object(obj, b"<plist/>")),
        ["Spyware.Pegasus"]
    );
}

#[test]
fn sha256_from_a_small_feed_in_both_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let sample = b"a planted NoviSpy stand-in\n".repeat(10);
    let digest = hex(&Sha256::digest(&sample));
    let bundle = |path: &str| {
        format!(
            r#"{{"type":"bundle","id":"bundle--t","objects":[
            {{"type":"malware","id":"malware--n","name":"NoviSpy"}},
            {{"type":"indicator","id":"indicator--h","pattern":"[{path}='{}']","pattern_type":"stix"}},
            {{"type":"relationship","id":"relationship--r","relationship_type":"indicates",
              "source_ref":"indicator--h","target_ref":"malware--n"}}]}}"#,
            digest.to_uppercase()
        )
    };
    for (i, path) in ["file:hashes.'SHA-256'", "file:hashes.sha256"]
        .iter()
        .enumerate()
    {
        let feed = dir.path().join(format!("test{i}.stix2"));
        std::fs::write(&feed, bundle(path)).unwrap();
        let set = load(&[&feed]);
        let hit = set.match_object(file("sample.bin"), &sample);
        assert_eq!(names(&hit), ["Spyware.NoviSpy"], "{path}");
        assert_eq!(hit[0].kind, "indicator-sha256");
        let mut other = sample.clone();
        other[0] ^= 1;
        assert!(set.match_object(file("sample.bin"), &other).is_empty());
    }
}

#[test]
fn domain_semantics_are_mvts() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("t.stix2");
    std::fs::write(
        &feed,
        r#"{"type":"bundle","id":"bundle--t","objects":[
        {"type":"indicator","id":"indicator--1","pattern":"[domain-name:value='evil.com']"},
        {"type":"indicator","id":"indicator--2","pattern":"[domain-name:value='a.bad.co.uk']"},
        {"type":"indicator","id":"indicator--3","pattern":"[email-addr:value='Spy@Mail.example']"},
        {"type":"indicator","id":"indicator--4","pattern":"[url:value='https://x.example/p?a=1']"},
        {"type":"indicator","id":"indicator--5","pattern":"[ipv4-addr:value='10.1.2.3']"}]}"#,
    )
    .unwrap();
    let set = load(&[&feed]);
    let cases: &[(&str, &[&str])] = &[
        ("see evil.com today", &["indicator--1"]),
        ("https://a.b.EVIL.com/x", &["indicator--1"]),
        ("notevil.com", &[]),
        ("evil.com.au evil.co", &[]),
        ("evil-com.net", &[]),
        ("a.bad.co.uk", &["indicator--2"]),
        ("x.a.bad.co.uk", &[]),
        ("bad.co.uk", &[]),
        ("from: spy@mail.example", &["indicator--3"]),
        ("from: xspy@mail.example", &[]),
        ("go https://x.example/p?a=1 now", &["indicator--4"]),
        ("go https://x.example/p?a=12 now", &[]),
        ("peer 10.1.2.3:443", &["indicator--5"]),
        ("peer 110.1.2.3 10.1.2.30", &[]),
    ];
    for (text, want) in cases {
        let got: Vec<String> = set
            .match_object(file("log.txt"), text.as_bytes())
            .into_iter()
            .map(|m| m.indicator)
            .collect();
        assert_eq!(got, *want, "{text}");
    }
}

#[test]
fn text_match_says_the_line() {
    let d = pegasus_domain();
    let set = pegasus();
    let text = format!("first\nsecond not{d}\nthird https://cdn.{d}/x\n");
    let hit = set.match_object(file("proxy.log"), text.as_bytes());
    assert_eq!(names(&hit), ["Spyware.Pegasus"]);
    assert!(
        hit[0]
            .detail
            .contains(&format!("matched 'cdn.{d}' in line 3")),
        "{}",
        hit[0].detail
    );
}

/// A Chrome `History` database: its `urls` table, as Chrome creates it,
/// in WAL mode as Chrome keeps it.
fn chrome_history(path: &Path, urls: &[&str]) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "journal_mode", "wal").unwrap();
    c.execute_batch(
        "CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
         CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT, url LONGVARCHAR,
           title LONGVARCHAR, visit_count INTEGER DEFAULT 0 NOT NULL,
           typed_count INTEGER DEFAULT 0 NOT NULL, last_visit_time INTEGER NOT NULL,
           hidden INTEGER DEFAULT 0 NOT NULL);
         CREATE TABLE visits(id INTEGER PRIMARY KEY, url INTEGER NOT NULL,
           visit_time INTEGER NOT NULL);
         CREATE VIEW v AS SELECT url FROM urls;
         INSERT INTO meta VALUES ('version', '69');",
    )
    .unwrap();
    for (i, u) in urls.iter().enumerate() {
        c.execute(
            "INSERT INTO urls(url, title, visit_count, last_visit_time) VALUES (?1, 'page', 1, ?2)",
            rusqlite::params![u, 13_300_000_000_000_000i64 + i as i64],
        )
        .unwrap();
    }
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
}

#[test]
fn chrome_history_with_a_pegasus_domain_and_near_misses() {
    let d = pegasus_domain();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("History");
    let urls = [
        "https://www.wikipedia.org/".to_string(),
        format!("https://not{d}/index.html"),
        format!("https://{d}.evil.example/"),
        format!("https://login.{d}/track?id=1"),
        format!("https://example.org/?q={d}x"),
    ];
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    chrome_history(&db, &refs);
    let bytes = std::fs::read(&db).unwrap();
    assert_eq!(bytes[18], 2, "the database is in WAL mode");
    let set = pegasus();
    let hit = set.match_object(file("History"), &bytes);
    assert_eq!(names(&hit), ["Spyware.Pegasus"]);
    assert!(
        hit[0].detail.contains(&format!(
            "matched 'login.{d}' in table urls, row 4, column url"
        )),
        "{}",
        hit[0].detail
    );
    // Without the planted row, nothing.
    let clean = dir.path().join("History2");
    chrome_history(&clean, &[&urls[0], &urls[1], &urls[2], &urls[4]]);
    let clean = std::fs::read(&clean).unwrap();
    assert!(set.match_object(file("History"), &clean).is_empty());
}

#[test]
fn damaged_databases_end_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("History");
    chrome_history(&db, &["https://a.example/"]);
    let bytes = std::fs::read(&db).unwrap();
    let set = pegasus();
    for cut in [100, 1000, 4096, bytes.len() - 1] {
        let _ = set.match_object(file("History"), &bytes[..cut]);
    }
    let mut bad = bytes.clone();
    for b in bad.iter_mut().skip(100).step_by(7) {
        *b = b.wrapping_mul(31);
    }
    let _ = set.match_object(file("History"), &bad);
}

#[test]
fn file_paths_match_whole_components() {
    let set = load(&[&corpora().join("mvt-indicators/predator.stix2")]);
    let hit = set.match_name(file("/cases/42/fs/private/var/tmp/hooker"));
    assert_eq!(names(&hit), ["Spyware.Predator"]);
    assert!(hit[0]
        .detail
        .contains("file:path = '/private/var/tmp/hooker'"));
    // A directory indicator covers what is below it.
    assert_eq!(
        names(&set.match_name(file("img/data/local/tmp/wd/x.bin"))),
        ["Spyware.Predator"]
    );
    for miss in [
        "/cases/private/var/tmp/hooker2",
        "/cases/xprivate/var/tmp/hooker",
        "/tmp/lx",
    ] {
        assert!(set.match_name(file(miss)).is_empty(), "{miss}");
    }
}

#[test]
fn filename_iocs_with_scores_and_false_positive_regexes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("filename-iocs.txt");
    std::fs::write(
        &f,
        "# Regin\n\\\\usbclass\\.sys;80\n# tools\n(?i)\\\\procdump(64)?\\.exe;70;(?i)SysInternals\\\\\n\\\\t\\.exe$;45\n",
    )
    .unwrap();
    let set = load(&[&f]);
    let hit = set.match_name(file("/mnt/c/Windows/System32/usbclass.sys"));
    assert_eq!(names(&hit), ["IOC.Filename"]);
    assert!(
        hit[0].detail.ends_with("; score 80; Regin"),
        "{}",
        hit[0].detail
    );
    assert_eq!(hit[0].score, Some(80));
    assert_eq!(
        names(&set.match_name(file("/mnt/c/tmp/ProcDump64.exe"))),
        ["IOC.Filename"]
    );
    assert!(set
        .match_name(file("/mnt/c/SysInternals/procdump.exe"))
        .is_empty());
    assert!(
        set.match_name(file("/mnt/c/tmp/t.exe")).is_empty(),
        "score 45 is below the default minimum"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn and_needs_every_comparison_on_the_same_object_or_any_branch() {
    let data = b"payload";
    let digest = hex(&Sha256::digest(data));
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("t.stix2");
    let pattern = format!(
        "[file:name = 'a.apk' AND file:hashes.sha256 = '{digest}'] OR [file:name = 'b.apk']"
    );
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--t", "objects": [
        {"type": "indicator", "id": "indicator--and", "pattern": pattern}]});
    std::fs::write(&feed, bundle.to_string()).unwrap();
    let set = load(&[&feed]);
    let hit = set.match_object(file("x/a.apk"), data);
    assert_eq!(names(&hit), ["Spyware.t"]);
    assert!(
        hit[0]
            .detail
            .contains("file:name = 'a.apk' in name AND file:hashes.sha256"),
        "{}",
        hit[0].detail
    );
    assert!(
        set.match_object(file("x/a.apk"), b"other").is_empty(),
        "name alone"
    );
    assert!(
        set.match_object(file("x/c.apk"), data).is_empty(),
        "hash alone"
    );
    assert_eq!(
        names(&set.match_object(file("x/b.apk"), b"other")),
        ["Spyware.t"]
    );
}
