//! The command line as users run it: detections, exit codes, output modes.

use std::path::Path;
use std::process::Command;

use crate::eqnice;
use crate::util::{bolwerk, bolwerk_in, run, test3_cvd, testfiles, Dir, EICAR};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn test3_cvd_detects_the_clamav_test_file() {
    let clam = testfiles().join("clam.exe");
    let r = bolwerk(&["scan", "--no-summary", "-d", s(&test3_cvd()), s(&clam)]);
    eqnice!(
        format!("{}: Clamav.Test.File-6 FOUND\n", clam.display()),
        r.stdout
    );
    eqnice!(1, r.code);
}

#[test]
fn eicar_is_found_by_the_builtin_pack_alone() {
    let d = Dir::new();
    let eicar = d.write("eicar.com", EICAR);
    let empty_db = d.no_db();
    let r = bolwerk(&["scan", "--no-summary", s(&eicar)]);
    assert!(
        r.stdout.contains("eicar.com: ") && r.stdout.contains(" FOUND"),
        "{}",
        r.stdout
    );
    eqnice!(1, r.code);
    let r = bolwerk(&["scan", "--no-summary", "-d", &empty_db, s(&eicar)]);
    eqnice!(
        format!("{}: Win.Test.EICAR_HDB-1 FOUND\n", eicar.display()),
        r.stdout
    );
    let r = bolwerk(&[
        "scan",
        "--no-builtin",
        "--no-summary",
        "-d",
        &empty_db,
        s(&eicar),
    ]);
    eqnice!(format!("{}: OK\n", eicar.display()), r.stdout);
    eqnice!(0, r.code);
}

#[test]
fn exit_codes_found_outranks_error() {
    let d = Dir::new();
    let clean = d.write("clean.txt", "hello\n");
    let eicar = d.write("eicar.com", EICAR);
    let missing = d.join("missing");
    eqnice!(0, bolwerk(&["scan", s(&clean)]).code);
    let r = bolwerk(&["scan", s(&missing)]);
    eqnice!(2, r.code);
    assert!(
        r.stderr.contains("No such file or directory"),
        "{}",
        r.stderr
    );
    eqnice!(1, bolwerk(&["scan", s(&missing), s(&eicar)]).code);
    eqnice!(1, bolwerk(&["clamscan", s(&missing), s(&eicar)]).code);
    eqnice!(2, bolwerk(&["clamscan", s(&missing), s(&clean)]).code);
    eqnice!(2, bolwerk(&["scan", "--no-such-flag"]).code);
}

#[test]
fn json_lines_report_detections_errors_and_a_summary() {
    let d = Dir::new();
    d.write("a/eicar.com", EICAR);
    d.write("a/clean.txt", "hello\n");
    let r = bolwerk_in(
        d.path(),
        &["scan", "--json", "-d", s(&test3_cvd()), "a", "nope"],
        None,
    );
    let objs: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    eqnice!(3, objs.len());
    let det = objs.iter().find(|o| o["type"] == "detection").unwrap();
    eqnice!("a/eicar.com", det["path"]);
    eqnice!("Eicar-Test-Signature", det["name"]);
    eqnice!("hash-md5", det["kind"]);
    assert!(det["source"]
        .as_str()
        .unwrap()
        .ends_with("test-3.cvd//test.hdb"));
    let err = objs.iter().find(|o| o["type"] == "error").unwrap();
    eqnice!("nope", err["path"]);
    let sum = objs.last().unwrap();
    eqnice!("summary", sum["type"]);
    eqnice!(2, sum["files"]);
    eqnice!(1, sum["infected"]);
    eqnice!(1, sum["errors"]);
    eqnice!(1, r.code);
}

#[test]
fn stdin_is_scanned_as_stdin() {
    let d = Dir::new();
    let db = d.no_db();
    let r = bolwerk_in(
        d.path(),
        &["clamscan", "--no-summary", "-d", &db, "-"],
        Some(EICAR),
    );
    eqnice!("stdin: Win.Test.EICAR_HDB-1 FOUND\n", r.stdout);
    eqnice!(1, r.code);
    let r = bolwerk_in(
        d.path(),
        &["scan", "--no-summary", "-d", &db, "-"],
        Some(b"clean"),
    );
    eqnice!("stdin: OK\n", r.stdout);
}

#[test]
fn tampered_container_is_refused_and_named() {
    let d = Dir::new();
    let mut bytes = std::fs::read(test3_cvd()).unwrap();
    bytes[2000] ^= 0x20;
    let bad = d.write("tampered.cvd", &bytes);
    let clam = testfiles().join("clam.exe");
    let r = bolwerk(&[
        "clamscan",
        "--no-summary",
        "--no-builtin",
        "-d",
        s(&bad),
        s(&clam),
    ]);
    assert!(
        r.stderr
            .contains("tampered.cvd: refused: MD5 of the payload"),
        "{}",
        r.stderr
    );
    eqnice!(format!("{}: OK\n", clam.display()), r.stdout);
    eqnice!(2, r.code);
}

#[test]
fn malformed_line_warns_with_file_and_line_and_the_rest_loads() {
    let d = Dir::new();
    let db = d.write(
        "local.hdb",
        "# local signatures\nnot-a-signature\n44d88612fea8a8f36de82e1278abb02f:68:Local.Eicar\n",
    );
    let eicar = d.write("eicar.com", EICAR);
    let r = bolwerk(&[
        "clamscan",
        "--no-summary",
        "--no-builtin",
        "-d",
        s(&db),
        s(&eicar),
    ]);
    assert!(
        r.stderr.contains(&format!(
            "WARNING: {}:2: a hash signature needs",
            db.display()
        )),
        "{}",
        r.stderr
    );
    eqnice!(
        format!("{}: Local.Eicar.UNOFFICIAL FOUND\n", eicar.display()),
        r.stdout
    );
    let r = bolwerk(&["scan", "--strict", "-d", s(&db), s(&eicar)]);
    eqnice!(2, r.code);
    eqnice!("", r.stdout);
    assert!(r.stderr.contains("--strict"), "{}", r.stderr);
}

#[test]
fn symlinks_are_followed_only_when_named_or_asked() {
    let d = Dir::new();
    let target = d.write("outside/eicar.com", EICAR);
    d.write("tree/clean.txt", "x");
    std::os::unix::fs::symlink(&target, d.join("tree/link.com")).unwrap();
    let db = d.no_db();
    let r = bolwerk_in(
        d.path(),
        &["clamscan", "--no-summary", "-d", &db, "-r", "tree"],
        None,
    );
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    eqnice!(
        vec!["tree/clean.txt: OK", "tree/link.com: Symbolic link"],
        lines
    );
    eqnice!(0, r.code);
    let r = bolwerk_in(
        d.path(),
        &["clamscan", "--no-summary", "-d", &db, "tree/link.com"],
        None,
    );
    eqnice!("tree/link.com: Win.Test.EICAR_HDB-1 FOUND\n", r.stdout);
    let r = bolwerk_in(
        d.path(),
        &[
            "scan",
            "-i",
            "--no-summary",
            "-d",
            &db,
            "--follow-symlinks",
            "tree",
        ],
        None,
    );
    eqnice!("tree/link.com: Win.Test.EICAR_HDB-1 FOUND\n", r.stdout);
}

#[test]
fn include_exclude_and_max_filesize() {
    let d = Dir::new();
    d.write("t/a.com", EICAR);
    d.write("t/b.txt", EICAR);
    let db = d.no_db();
    let r = bolwerk_in(
        d.path(),
        &[
            "scan",
            "-i",
            "--no-summary",
            "-d",
            &db,
            "--exclude",
            "*.txt",
            "t",
        ],
        None,
    );
    eqnice!("t/a.com: Win.Test.EICAR_HDB-1 FOUND\n", r.stdout);
    let r = bolwerk_in(
        d.path(),
        &[
            "scan",
            "-i",
            "--no-summary",
            "-d",
            &db,
            "--include",
            "*.txt",
            "t",
        ],
        None,
    );
    eqnice!("t/b.txt: Win.Test.EICAR_HDB-1 FOUND\n", r.stdout);
    let r = bolwerk_in(
        d.path(),
        &[
            "clamscan",
            "--no-summary",
            "-d",
            &db,
            "-r",
            "--exclude=b\\.txt$",
            "t",
        ],
        None,
    );
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    eqnice!(
        vec!["t/a.com: Win.Test.EICAR_HDB-1 FOUND", "t/b.txt: Excluded"],
        lines
    );
    let r = bolwerk_in(
        d.path(),
        &[
            "clamscan",
            "--no-summary",
            "-d",
            &db,
            "--max-filesize=10",
            "t/a.com",
        ],
        None,
    );
    eqnice!("t/a.com: OK\n", r.stdout);
    eqnice!(0, r.code);
}

#[test]
fn one_thread_and_many_threads_agree() {
    let files = testfiles();
    let mut outs = Vec::new();
    for threads in ["1", "2", "8"] {
        let r = bolwerk(&[
            "scan",
            "--no-summary",
            "--threads",
            threads,
            "-d",
            s(&test3_cvd()),
            s(&files),
        ]);
        let mut lines: Vec<String> = r.stdout.lines().map(String::from).collect();
        lines.sort();
        outs.push(lines);
    }
    assert!(outs[0].len() >= 44, "{:?}", outs[0]);
    eqnice!(outs[0], outs[1]);
    eqnice!(outs[0], outs[2]);
}

#[test]
fn db_info_prints_what_sigtool_prints() {
    let cvd = test3_cvd();
    let ours = bolwerk(&["db", "info", s(&cvd)]);
    eqnice!(0, ours.code);
    assert!(ours.stdout.contains("Verification OK."), "{}", ours.stdout);
    assert!(
        ours.stdout.contains("Signatures loaded: 11"),
        "{}",
        ours.stdout
    );
    assert!(
        ours.stdout.contains("outside functionality level 216: 1"),
        "{}",
        ours.stdout
    );
    let sigtool = run(
        Command::new("sigtool"),
        Path::new("."),
        &["-i", s(&cvd)],
        None,
    );
    eqnice!(0, sigtool.code);
    let want: Vec<&str> = sigtool.stdout.lines().take(8).collect();
    let got: Vec<&str> = ours.stdout.lines().take(8).collect();
    eqnice!(want, got);
}

#[test]
fn db_verify_exit_codes() {
    let d = Dir::new();
    let ok = bolwerk(&["db", "verify", s(&test3_cvd())]);
    eqnice!(0, ok.code);
    assert!(
        ok.stdout.contains("ok: header signature verifies"),
        "{}",
        ok.stdout
    );
    let mut bytes = std::fs::read(test3_cvd()).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 100);
    let bad = d.write("short.cvd", &bytes);
    let r = bolwerk(&["db", "verify", s(&bad)]);
    eqnice!(1, r.code);
    assert!(r.stdout.contains("short.cvd: refused"), "{}", r.stdout);
    let hdb = d.write("x.hdb", "44d88612fea8a8f36de82e1278abb02f:zz:E\n");
    eqnice!(1, bolwerk(&["db", "verify", s(&hdb)]).code);
}

#[test]
fn invoked_as_clamscan_behaves_as_clamscan() {
    let d = Dir::new();
    let link = d.join("clamscan");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_bolwerk"), &link).unwrap();
    d.write("eicar.com", EICAR);
    let db = d.no_db();
    let r = run(
        Command::new(&link),
        d.path(),
        &["--no-summary", "-d", &db, "eicar.com"],
        None,
    );
    eqnice!("eicar.com: Win.Test.EICAR_HDB-1 FOUND\n", r.stdout);
    eqnice!(1, r.code);
}
