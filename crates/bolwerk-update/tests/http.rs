//! `update` over HTTP (feature `http`): the same repository served by a
//! real web server (Python's `http.server`, bound to 127.0.0.1), with the
//! transparency-log policy, so every file is fetched over the network.
#![cfg(feature = "http")]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bolwerk_update::tlog::note::{VerifierKey, ALG_COSIGNATURE_V1};
use bolwerk_update::tlog::{witness_cosign, LogWriter, Policy};
use bolwerk_update::{update, KeyPair, Source};
use common::*;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `dir`; returns the server and its base URL.
fn serve(dir: &std::path::Path) -> (Server, String) {
    let mut child = Command::new("python3")
        .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 (installed by .ci/run)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
    let port = line
        .split(" port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    (Server(child), format!("http://127.0.0.1:{port}/"))
}

#[test]
fn update_over_http_with_log_policy() {
    let f = Fixture::new();
    let log = LogWriter::init(&f.repo.dir().join("log"), "bolwerk.test/packs", &f.log_key).unwrap();
    let wpair = KeyPair::generate(&f.path("keys/w1")).unwrap();
    let w = VerifierKey::new("witness.test/w1", ALG_COSIGNATURE_V1, &wpair).unwrap();
    f.publish(
        &[f.file("a.hdb", EICAR_HDB.as_bytes()), test3_cvd()],
        &[0, 1],
    );
    let cosign = |time| {
        let state = f.path("w.state");
        witness_cosign(&f.repo.dir().join("log"), &log, &w, &wpair, &state, time).unwrap()
    };
    cosign(1);
    let (_server, url) = serve(f.repo.dir());
    let mut o = f.client(f.repo.dir());
    o.source = Source::Url(url);
    o.policy = Some(Policy {
        log: log.clone(),
        witnesses: vec![w.clone()],
        witness_threshold: 1,
    });
    let r = update(&o).unwrap();
    assert_eq!(r.written.len(), 2, "{r:?}");
    assert!(
        r.log.iter().any(|l| l == "targets v1 is leaf 0 of the log"),
        "{:?}",
        r.log
    );
    assert_eq!(
        std::fs::read(f.db().join("test-3.cvd")).unwrap(),
        std::fs::read(test3_cvd()).unwrap()
    );
    // A second pack: the client walks the same server again.
    f.publish(&[f.file("b.hdb", EICAR_HDB.as_bytes())], &[1, 2]);
    cosign(2);
    let r = update(&o).unwrap();
    assert_eq!(r.targets_version, 2);
    assert!(r
        .log
        .iter()
        .any(|l| l.starts_with("consistent with the checkpoint of size 1")));
}
