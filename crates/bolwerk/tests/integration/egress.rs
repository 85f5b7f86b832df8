//! No egress: the scanning processes cannot open a network connection once
//! set up, the daemon still serves its clients, and the crates behind
//! `scan` and `daemon` link no HTTP client.
//!
//! The filter itself is tested thread by thread in `bolwerk-sandbox`; here
//! the real binary is checked from outside: the kernel's view of each of
//! its threads (`/proc/PID/task/*/status`), what a confined process can
//! reach (a listener this test holds on 127.0.0.1), and the dependency tree.

use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, Dir, EICAR};

/// Seccomp filters on each thread of process `pid` (empty if it is gone).
pub fn thread_filters(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Seccomp_filters:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
        })
        .collect()
}

/// Waits until every thread of `pid` carries a filter; returns the counts.
pub fn wait_confined(pid: u32) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let f = thread_filters(pid);
        if !f.is_empty() && f.iter().all(|&n| n > 0) {
            return f;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "process {pid} was not confined: filters per thread {f:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A confined bolwerk tries to connect to a listener on 127.0.0.1 and is
/// refused; nothing reaches the listener. The test itself can connect
/// (the control), so the refusal is the filter's.
#[test]
fn confined_process_cannot_connect_to_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let run = util::bolwerk(&["doctor", "--probe", &addr]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("connect to {addr}")))
        .unwrap_or_else(|| panic!("no probe line:\n{}", run.stdout));
    assert!(line.contains("refused"), "{line}");
    for what in ["IPv4 TCP socket", "UDP socket"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains(what) && l.contains("refused")),
            "{what}:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("Unix socket pair                      possible"),
        "{}",
        run.stdout
    );
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("a connection reached the listener: {other:?}"),
    }
    TcpStream::connect(&addr).expect("control: this test can connect");
    assert!(listener.accept().is_ok(), "control connection not seen");
}

/// Runs `bolwerk ARGS -d EMPTY -`, waits until every thread of it is
/// confined, only then gives it EICAR on stdin; wants exit 1 and `needle`.
fn confined_while_scanning(args: &[&str], needle: &str) {
    let dir = Dir::new();
    let db = dir.no_db();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bolwerk"))
        .args(args)
        .args(["-d", &db, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_confined(child.id());
    child.stdin.take().unwrap().write_all(EICAR).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains(needle), "{stdout}");
    assert!(!stderr.contains("not installed"), "{stderr}");
}

/// `bolwerk scan` is confined on every thread by the time it reads the
/// data it scans, and still detects.
#[test]
fn scan_is_confined_while_it_scans() {
    confined_while_scanning(&["scan"], "EICAR");
}

/// The same in clamscan mode.
#[test]
fn clamscan_is_confined_while_it_scans() {
    confined_while_scanning(&["clamscan"], "FOUND");
}

/// HTTP client crates, and TLS, that must not be in the scanning crates.
const HTTP_CLIENTS: &[&str] = &[
    "reqwest",
    "hyper",
    "hyper-util",
    "ureq",
    "isahc",
    "attohttpc",
    "curl",
    "surf",
    "h2",
];
const TLS: &[&str] = &["rustls", "native-tls", "openssl"];

/// Package names in `cargo tree` of `args` (normal dependencies only).
fn tree(args: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
            .join("../..");
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The crates `scan` and `daemon` are built from (scanner, engine,
/// unpackers, daemon, sandbox) link neither an HTTP client nor TLS; the
/// `bolwerk` binary as built by default links no HTTP client. The same
/// check on `bolwerk-update` with its `http` feature finds one, so it can
/// fail.
#[test]
fn scan_and_daemon_link_no_http_client() {
    let scanning = tree(&[
        "-p",
        "bolwerk-scan",
        "-p",
        "bolwerk-clamd",
        "-p",
        "bolwerk-sandbox",
    ]);
    assert!(
        scanning.iter().any(|n| n == "bolwerk-engine"),
        "{scanning:?}"
    );
    for bad in HTTP_CLIENTS.iter().chain(TLS) {
        assert!(
            !scanning.iter().any(|n| n == bad),
            "{bad} in the scanning crates"
        );
    }
    let binary = tree(&["-p", "bolwerk"]);
    assert!(binary.iter().any(|n| n == "bolwerk-clamd"), "{binary:?}");
    for bad in HTTP_CLIENTS {
        assert!(
            !binary.iter().any(|n| n == bad),
            "{bad} in the default bolwerk binary"
        );
    }
    let with_http = tree(&["-p", "bolwerk-update", "--features", "bolwerk-update/http"]);
    assert!(
        with_http.iter().any(|n| n == "reqwest"),
        "control: {with_http:?}"
    );
}
