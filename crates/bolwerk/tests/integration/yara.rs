//! YARA rules in the scan, checked against `yr` (the yara-x command line,
//! the same yara-x release bolwerk is built with) on real rule sets
//! (signature-base, ReversingLabs, the stalkerware and NoviSpy rules) and
//! real files (Debian's ClamAV test files, /usr/bin, Python's standard
//! library), plus files made here that a rule must hit.
//!
//! `yr` is looked for in `$BOLWERK_YR`, `~/.cache/bolwerk/tools/bin` (where
//! `.ci/run` installs it) and `PATH`. Where it is missing the comparisons
//! say so loudly and pass, except in CI (`CI=true`), where they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use bolwerk_yara::{Externals, EXTERNALS, YARA_X_VERSION};

use crate::util::{bolwerk_in, corpora, run, testfiles, Dir, Run};

/// A match: the scanned file, the rule file, the rule.
type Hit = (String, String, String);

/// The `yr` binary of the yara-x release bolwerk is built with.
fn yr() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidates = [
        std::env::var_os("BOLWERK_YR").map(PathBuf::from),
        Some(home.join(".cache/bolwerk/tools/bin/yr")),
        Some(PathBuf::from("yr")),
    ];
    for c in candidates.into_iter().flatten() {
        let Ok(out) = Command::new(&c).arg("--version").output() else {
            continue;
        };
        if String::from_utf8_lossy(&out.stdout).contains(YARA_X_VERSION) {
            return Some(c);
        }
    }
    let msg = format!(
        "yr {YARA_X_VERSION} not found: cargo install --locked yara-x-cli --version ={YARA_X_VERSION} \
         --root ~/.cache/bolwerk/tools (.ci/run does this)"
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
    None
}

/// Every rule file in the corpora, canonical paths, sorted.
fn corpus_rule_files() -> Vec<PathBuf> {
    let roots = [corpora().join("yara"), corpora().join("indicators")];
    let mut files = Vec::new();
    for r in roots {
        walk(&r.canonicalize().unwrap(), &mut files);
    }
    files.retain(|p| bolwerk_yara::is_rule_file(p));
    files.sort();
    assert!(
        files.len() > 900,
        "the corpora hold about a thousand rule files, found {}",
        files.len()
    );
    files
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Whether a rule file names one of the external variables (so its
/// matches depend on the scanned file's name).
fn uses_externals(path: &Path) -> bool {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| EXTERNALS.contains(&w))
}

/// Real files to scan: the ClamAV test files, /usr/bin's programs under
/// 8 MiB, Python's standard library modules.
fn real_targets() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut add_dir = |dir: &Path, keep: &dyn Fn(&Path, u64) -> bool| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| {
                e.metadata()
                    .is_ok_and(|m| m.len() > 0 && keep(&e.path(), m.len()))
            })
            .map(|e| e.path())
            .collect();
        found.sort();
        files.extend(found);
    };
    add_dir(&testfiles(), &|_, _| true);
    add_dir(Path::new("/usr/bin"), &|_, len| len < 8 << 20);
    let python = std::fs::read_dir("/usr/lib")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("python3.") && p.join("os.py").is_file())
        })
        .max();
    if let Some(py) = python {
        add_dir(&py, &|p, _| p.extension().is_some_and(|e| e == "py"));
    }
    assert!(
        files.len() > 500,
        "expected hundreds of real files, found {}",
        files.len()
    );
    files
}

/// A rule file of this test's own, and files that its rules must hit.
fn planted(dir: &Dir) -> (PathBuf, Vec<PathBuf>) {
    let rules = dir.write(
        "rules/planted.yar",
        r#"import "pe"
rule planted_text { strings: $a = "bolwerk-planted-marker-7f3a" condition: $a }
rule planted_hex { strings: $h = { 62 6F 6C ?? 77 [2-4] 6B } condition: #h >= 2 }
rule planted_pe_overlay { strings: $m = "bolwerk-pe-marker" condition: pe.is_pe and $m }
rule planted_wide_nocase { strings: $w = "PlAnTeD-WiDe" wide nocase condition: $w at 16 }
"#,
    );
    let clam = std::fs::read(testfiles().join("clam.exe")).unwrap();
    let mut pe = clam.clone();
    pe.extend_from_slice(b"..bolwerk-pe-marker..");
    let mut wide = vec![b'.'; 16];
    wide.extend("planted-wide".encode_utf16().flat_map(u16::to_le_bytes));
    let files = vec![
        dir.write(
            "t/marker.txt",
            "some text bolwerk-planted-marker-7f3a more text",
        ),
        dir.write("t/hex.bin", b"..bolXwabk..bolYwcdek.."),
        dir.write("t/overlay.exe", &pe),
        dir.write("t/wide.bin", &wide),
        dir.write("t/near-miss.bin", b"bolwerk-planted-marker-7f3 bolXwk"),
    ];
    (rules, files)
}

/// bolwerk's matches on the files themselves (not objects inside them).
fn bolwerk_hits(dir: &Dir, rules: &[PathBuf], targets: &[PathBuf]) -> BTreeSet<Hit> {
    let mut args: Vec<String> = ["--json", "--allmatch"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for r in rules {
        args.push("--yara".into());
        args.push(r.display().to_string());
    }
    args.extend(targets.iter().map(|t| t.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = yara_scan(dir, &args);
    assert!(
        out.code == 0 || out.code == 1,
        "bolwerk failed: {}",
        out.stderr
    );
    let mut hits = BTreeSet::new();
    for line in out.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        if v["type"] != "detection" || v["object"] != "" {
            continue;
        }
        assert_eq!(v["kind"], "yara", "only YARA rules are loaded: {line}");
        let rule = v["signature"].as_str().unwrap().rsplit(':').next().unwrap();
        hits.insert((
            v["path"].as_str().unwrap().to_string(),
            v["source"].as_str().unwrap().to_string(),
            rule.to_string(),
        ));
    }
    hits
}

/// Run `bolwerk scan` with no ClamAV database (YARA rules only), in the
/// test's directory and with the rule cache there.
fn yara_scan(dir: &Dir, args: &[&str]) -> Run {
    let no_db = dir.no_db();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bolwerk"));
    cmd.env("XDG_CACHE_HOME", dir.join("cache"));
    let all = [&["scan", "--no-builtin", "-d", &no_db][..], args].concat();
    run(cmd, dir.path(), &all, None)
}

/// Parse `yr scan -o ndjson --print-namespace` output (namespaces are the
/// rule files' paths).
fn yr_hits(stdout: &str) -> BTreeSet<Hit> {
    let mut hits = BTreeSet::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line).expect("yr JSON line");
        let path = v["path"].as_str().unwrap().to_string();
        for r in v["rules"].as_array().unwrap() {
            hits.insert((
                path.clone(),
                r["namespace"].as_str().unwrap().to_string(),
                r["identifier"].as_str().unwrap().to_string(),
            ));
        }
    }
    hits
}

fn yr_scan(
    yr: &Path,
    dir: &Dir,
    rules: &[PathBuf],
    targets: &[PathBuf],
    extra: &[String],
) -> BTreeSet<Hit> {
    let list = dir.join("targets.txt");
    let mut f = std::fs::File::create(&list).unwrap();
    for t in targets {
        writeln!(f, "{}", t.display()).unwrap();
    }
    let mut cmd = Command::new(yr);
    cmd.args([
        "scan",
        "--ignore-invalid-rules",
        "--path-as-namespace",
        "-w",
        "-o",
        "ndjson",
        "-e",
    ])
    .args(extra);
    cmd.arg("--scan-list").args(rules).arg(&list);
    let out: Run = cmd.output().expect("run yr").into();
    assert_eq!(out.code, 0, "yr failed: {}", out.stderr);
    yr_hits(&out.stdout)
}

/// Assert that `text` holds `needle`, showing all of `text` when not.
fn has(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} not in:\n{text}");
}

fn show(hits: &BTreeSet<Hit>) -> String {
    hits.iter()
        .map(|(p, r, n)| format!("  {p}  {r}:{n}\n"))
        .collect()
}

fn assert_same(what: &str, yr: &BTreeSet<Hit>, ours: &BTreeSet<Hit>) {
    let missing: BTreeSet<Hit> = yr.difference(ours).cloned().collect();
    let extra: BTreeSet<Hit> = ours.difference(yr).cloned().collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: bolwerk and yr differ\nonly yr:\n{}only bolwerk:\n{}",
        show(&missing),
        show(&extra)
    );
}

/// The real rule sets that do not look at file names, over hundreds of
/// real files and the planted ones: the same matches as `yr scan`.
#[test]
fn yara_matches_equal_yr_on_real_files() {
    let Some(yr) = yr() else { return };
    let dir = Dir::new();
    let (planted_rules, planted_files) = planted(&dir);
    let mut rules: Vec<PathBuf> = corpus_rule_files()
        .into_iter()
        .filter(|p| !uses_externals(p))
        .collect();
    rules.push(planted_rules.clone());
    let mut targets = real_targets();
    targets.extend(planted_files.iter().cloned());
    let defines = external_defines(&Externals::default());
    let expected = yr_scan(&yr, &dir, &rules, &targets, &defines);
    let got = bolwerk_hits(&dir, &rules, &targets);
    assert_same("real rules over real files", &expected, &got);
    let planted_hits: BTreeSet<(String, String)> = got
        .iter()
        .filter(|h| h.1 == planted_rules.display().to_string())
        .map(|h| {
            (
                Path::new(&h.0)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                h.2.clone(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("marker.txt", "planted_text"),
        ("hex.bin", "planted_hex"),
        ("overlay.exe", "planted_pe_overlay"),
        ("wide.bin", "planted_wide_nocase"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    crate::eqnice!(want, planted_hits);
    let real: usize = got
        .iter()
        .filter(|h| h.1 != planted_rules.display().to_string())
        .count();
    eprintln!("{} matches of real rules on real files, all as yr", real);
}

/// `yr -d` values for the external variables.
fn external_defines(e: &Externals) -> Vec<String> {
    e.pairs()
        .iter()
        .flat_map(|(k, v)| {
            [
                "-d".to_string(),
                format!("{k}={}", serde_json::Value::from(*v)),
            ]
        })
        .collect()
}

/// The rule files that look at file names, paths, types and owners: each
/// file scanned by `yr` alone with the values bolwerk sets for it, and by
/// bolwerk in one run. Planted configuration files must hit the
/// signature-base rules written for them, and the same bytes under another
/// name must not.
#[test]
fn yara_external_variables_match_as_yr_given_the_same_values() {
    let Some(yr) = yr() else { return };
    let dir = Dir::new();
    let rules: Vec<PathBuf> = corpus_rule_files()
        .into_iter()
        .filter(|p| uses_externals(p))
        .collect();
    assert!(
        rules.len() >= 40,
        "signature-base has about fifty such files, found {}",
        rules.len()
    );
    let sudoers = "root ALL=(ALL) ALL\nbob ALL=(root) NOPASSWD: /usr/bin/less /var/log/x\n";
    let exports = "# comment insecure\n/srv/share 10.0.0.0/8(rw,insecure,no_root_squash)\n";
    let history = "select 1;\nSELECT AES_ENCRYPT('card', 'key-123');\n";
    let planted = [
        dir.write("etc/sudoers", sudoers),
        dir.write("etc/exports", exports),
        dir.write("home/u/.mysql_history", history),
        dir.write("home/u/not-sudoers", sudoers),
        dir.write("home/u/exports", exports),
    ];
    let mut targets: Vec<PathBuf> = real_targets().into_iter().step_by(12).collect();
    targets.extend(planted.iter().cloned());
    let compiled = dir.join("ext.yarc");
    let mut cmd = Command::new(&yr);
    cmd.args([
        "compile",
        "--ignore-invalid-rules",
        "--path-as-namespace",
        "-w",
        "-o",
    ])
    .arg(&compiled)
    .args(external_defines(&Externals::default()))
    .args(&rules);
    let out: Run = cmd.output().unwrap().into();
    assert_eq!(out.code, 0, "yr compile: {}", out.stderr);
    let mut expected = BTreeSet::new();
    for t in &targets {
        let head = std::fs::read(t).unwrap();
        let ext = Externals::for_object(t, &[], &head);
        let mut cmd = Command::new(&yr);
        cmd.args(["scan", "-C", "-o", "ndjson", "-e"])
            .args(external_defines(&ext))
            .arg(&compiled)
            .arg(t);
        let out: Run = cmd.output().unwrap().into();
        assert_eq!(out.code, 0, "yr scan {}: {}", t.display(), out.stderr);
        expected.extend(yr_hits(&out.stdout));
    }
    let got = bolwerk_hits(&dir, &rules, &targets);
    assert_same("rules with external variables", &expected, &got);
    let names: BTreeMap<String, BTreeSet<String>> = got.iter().fold(BTreeMap::new(), |mut m, h| {
        m.entry(h.0.clone()).or_default().insert(h.2.clone());
        m
    });
    let rules_of = |p: &PathBuf| {
        names
            .get(&p.display().to_string())
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        rules_of(&planted[0]).contains("VULN_Linux_Sudoers_Commands"),
        "{names:?}"
    );
    assert!(
        rules_of(&planted[1]).contains("VULN_Linux_NFS_Exports"),
        "{names:?}"
    );
    assert!(
        rules_of(&planted[2]).contains("SUSP_AES_Key_in_MySql_History"),
        "{names:?}"
    );
    assert!(
        !rules_of(&planted[3]).contains("VULN_Linux_Sudoers_Commands"),
        "{names:?}"
    );
    assert!(
        !rules_of(&planted[4]).contains("VULN_Linux_NFS_Exports"),
        "not below /etc: {names:?}"
    );
}

/// Which corpus rules fail to compile: bolwerk reports each at the same
/// file and line as `yr compile`, and loads the rest.
#[test]
fn yara_compile_errors_match_yr_file_and_line() {
    let files = corpus_rule_files();
    let mut b = bolwerk_yara::YaraRulesBuilder::new();
    b.cache_dir(None);
    for f in &files {
        b.path(f);
    }
    let loaded = b.build();
    assert_eq!(loaded.files, files.len(), "every rule file read");
    let ours: BTreeSet<(String, usize)> = loaded
        .errors
        .iter()
        .map(|e| {
            (
                e.path.display().to_string(),
                e.line.expect("compile errors have a line"),
            )
        })
        .collect();
    let failing: BTreeSet<&String> = ours.iter().map(|(p, _)| p).collect();
    eprintln!(
        "{} rule files: {} rules compiled; {} errors in {} files",
        files.len(),
        loaded.rules.rule_count(),
        loaded.errors.len(),
        failing.len()
    );
    assert!(
        loaded.rules.rule_count() > 3000,
        "thousands of rules compile"
    );
    let Some(yr) = yr() else { return };
    let dir = Dir::new();
    let mut cmd = Command::new(&yr);
    cmd.args([
        "compile",
        "--ignore-invalid-rules",
        "--path-as-namespace",
        "-w",
        "-o",
    ])
    .arg(dir.join("all.yarc"))
    .args(external_defines(&Externals::default()))
    .args(&files);
    let out: Run = cmd.output().unwrap().into();
    assert_eq!(out.code, 0, "yr compile: {}", out.stderr);
    let theirs = yr_error_locations(&out.stderr);
    crate::eqnice!(theirs, ours);
}

/// `file:line` of each error (not warning) in yr's report.
fn yr_error_locations(stderr: &str) -> BTreeSet<(String, usize)> {
    let mut found = BTreeSet::new();
    let mut in_error = false;
    for line in stderr.lines() {
        if line.starts_with("error[") {
            in_error = true;
        } else if line.starts_with("warning[") {
            in_error = false;
        } else if let Some(loc) = line.trim_start().strip_prefix("--> ") {
            if in_error {
                let mut parts = loc.rsplitn(3, ':');
                let _col = parts.next();
                let line_no: usize = parts.next().unwrap().parse().unwrap();
                found.insert((parts.next().unwrap().to_string(), line_no));
                in_error = false;
            }
        }
    }
    found
}

/// A bad rule file is named with its line, the good one still loads and
/// matches, and the exit code does not call the databases broken.
#[test]
fn yara_bad_rule_reported_with_line_and_rest_loads() {
    let dir = Dir::new();
    dir.write(
        "rules/good.yar",
        "rule good_one { strings: $a = \"hello-yara\" condition: $a }\n",
    );
    dir.write(
        "rules/bad.yar",
        "rule fine { condition: true and false }\n\nrule broken {\n  condition: $nope\n}\n",
    );
    let target = dir.write("t/x.txt", "say hello-yara");
    let out = yara_scan(&dir, &["--yara", "rules", target.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    has(&out.stderr, "WARNING: rules/bad.yar:4: error[");
    has(&out.stdout, ": good.yar:good_one FOUND");
    let missing = yara_scan(&dir, &["--yara", "nowhere.yar", "t"]);
    assert_eq!(missing.code, 2, "an unreadable rule path is an error");
    has(&missing.stderr, "ERROR: nowhere.yar:");
}

/// Rules run on objects inside archives, with the member's own name in
/// `filename`.
#[test]
fn yara_rules_run_inside_archives_with_member_names() {
    let dir = Dir::new();
    let rules = dir.write(
        "r.yar",
        "rule in_member { strings: $a = \"deep-inside-marker\" condition: $a and filename == \"inner.txt\" }\n",
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("dir/inner.txt", opts).unwrap();
    zip.write_all(b"xx deep-inside-marker xx").unwrap();
    zip.start_file("other.txt", opts).unwrap();
    zip.write_all(b"xx deep-inside-marker xx").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let archive = dir.write("a.zip", &bytes);
    let out = yara_scan(
        &dir,
        &[
            "--json",
            "--allmatch",
            "--yara",
            rules.to_str().unwrap(),
            archive.to_str().unwrap(),
        ],
    );
    let objects: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "detection")
        .map(|v| {
            format!(
                "{} {}",
                v["object"].as_str().unwrap(),
                v["signature"].as_str().unwrap()
            )
        })
        .collect();
    crate::eqnice!(vec!["dir/inner.txt r.yar:in_member".to_string()], objects);
}

/// The compiled-rule cache: a second run loads it; a corrupt entry is
/// refused, said so, and rebuilt; an edited rule file is recompiled.
#[test]
fn yara_cache_is_used_checked_and_rebuilt() {
    let dir = Dir::new();
    let rules = dir.write(
        "r.yar",
        "rule first { strings: $a = \"cache-me\" condition: $a }\n",
    );
    let target = dir.write("t.txt", "cache-me please");
    let args = ["--yara", rules.to_str().unwrap(), target.to_str().unwrap()];
    let first = yara_scan(&dir, &args);
    has(&first.stdout, "r.yar:first FOUND");
    let entries = || -> Vec<PathBuf> {
        let d = dir.join("cache/bolwerk/yara");
        std::fs::read_dir(d)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let made = entries();
    assert_eq!(made.len(), 1, "one cache entry: {made:?}");
    let stamp = std::fs::metadata(&made[0]).unwrap().modified().unwrap();
    let second = yara_scan(&dir, &args);
    assert!(second.stdout.contains("r.yar:first FOUND"));
    assert_eq!(
        std::fs::metadata(&made[0]).unwrap().modified().unwrap(),
        stamp,
        "read, not rewritten"
    );
    let mut bytes = std::fs::read(&made[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&made[0], &bytes).unwrap();
    let third = yara_scan(&dir, &args);
    assert!(
        third
            .stderr
            .contains("cache entry refused (checksum mismatch)"),
        "{}",
        third.stderr
    );
    has(&third.stdout, "r.yar:first FOUND");
    std::fs::write(
        &rules,
        "rule second { strings: $a = \"cache-me\" condition: $a }\n",
    )
    .unwrap();
    let fourth = yara_scan(&dir, &args);
    has(&fourth.stdout, "r.yar:second FOUND");
    assert_eq!(entries().len(), 2, "a new entry for the edited rules");
}

/// A rule that runs past the timeout is reported, the file's other
/// detections stand, and the scan goes on to the next file.
#[test]
fn yara_timeout_is_reported_not_fatal() {
    let dir = Dir::new();
    let rules = dir.write(
        "slow.yar",
        "rule slow { condition: for any i in (0..filesize) : ( for any j in (0..filesize) : ( uint8(i) + uint8(j) == 1000 ) ) }\n\
         rule quick { strings: $a = \"quick-marker\" condition: $a }\n",
    );
    let mut big = vec![b'a'; 256 << 10];
    big.extend_from_slice(b"quick-marker");
    let slow_file = dir.write("t/1-big.bin", &big);
    let next = dir.write("t/2-small.txt", "quick-marker");
    let started = std::time::Instant::now();
    let out = yara_scan(
        &dir,
        &[
            "--threads",
            "1",
            "--yara-timeout",
            "1",
            "--alert-exceeds-max",
            "--allmatch",
            "--yara",
            rules.to_str().unwrap(),
            slow_file.to_str().unwrap(),
            next.to_str().unwrap(),
        ],
    );
    assert!(
        started.elapsed().as_secs() < 60,
        "the timeout cut the scan short"
    );
    has(&out.stderr, "1-big.bin: YARA rules timed out");
    has(
        &out.stdout,
        "1-big.bin: Heuristics.Limits.Exceeded.MaxScanTime FOUND",
    );
    has(&out.stdout, "2-small.txt: slow.yar:quick FOUND");
}

/// clamscan mode: rule files given with -d are YARA rules, reported as
/// ClamAV reports them (`YARA.<rule>.UNOFFICIAL`), line for line as the
/// real clamscan does.
#[test]
fn yara_in_clamscan_mode_same_as_clamscan() {
    let dir = Dir::new();
    let rules = dir.write(
        "rules.yar",
        "rule text_rule { strings: $a = \"clamscan-yara-text\" condition: $a }\n\
         rule hex_rule { strings: $h = { 4D 5A ?? 00 } condition: $h at 0 }\n",
    );
    dir.write("t/a.txt", "here: clamscan-yara-text");
    dir.write("t/b.bin", b"MZ\x90\x00 rest");
    dir.write("t/c.txt", "nothing to see");
    let args = [
        "--no-summary",
        "-d",
        rules.to_str().unwrap(),
        "t/a.txt",
        "t/b.bin",
        "t/c.txt",
    ];
    let ours = bolwerk_in(
        dir.path(),
        &[&["clamscan", "--no-builtin"][..], &args[..]].concat(),
        None,
    );
    let theirs = run(Command::new("clamscan"), dir.path(), &args, None);
    let sorted = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    crate::eqnice!(sorted(&theirs.stdout), sorted(&ours.stdout));
    assert_eq!(theirs.code, ours.code);
    has(&ours.stdout, "t/a.txt: YARA.text_rule.UNOFFICIAL FOUND");
}
