//! `bolwerk pack` and `bolwerk update` end to end, as an alliance of
//! signers and an air-gapped site would run them: three signers of whom
//! two must sign, a transparency log with a witness, an update from a
//! repository directory into the database directory of a running daemon,
//! which reloads and detects with the new pack.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::differential::md5_hex;
use crate::util::{self, Dir, EICAR};

const EICAR_HDB: &str = "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n";
/// Content only the second pack detects, and its MD5 signature.
const NEW_SAMPLE: &[u8] = b"bolwerk pack test sample\n";

fn ok(args: &[&str]) -> String {
    let r = util::bolwerk(args);
    assert_eq!(r.code, 0, "bolwerk {args:?}\n{}{}", r.stdout, r.stderr);
    r.stdout
}

fn fails(args: &[&str], needle: &str) {
    let r = util::bolwerk(args);
    assert_eq!(r.code, 2, "bolwerk {args:?}\n{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(needle),
        "wanted {needle:?} in:\n{}",
        r.stderr
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A bolwerk daemon on a Unix socket over `db`, without the built-in pack.
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn start(dir: &Dir, db: &Path) -> Daemon {
        let socket = dir.join("d.sock");
        let conf = dir.write(
            "clamd.conf",
            format!(
                "Foreground yes\nDatabaseDirectory {}\nLocalSocket {}\nLogFile {}\n",
                db.display(),
                socket.display(),
                dir.join("d.log").display()
            ),
        );
        let child = Command::new(env!("CARGO_BIN_EXE_bolwerk"))
            .args(["daemon", "--no-builtin", "-c", s(&conf)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Daemon { child, socket };
        d.wait_for(b"zPING\0", b"PONG\0");
        d
    }

    fn query(&self, req: &[u8]) -> Vec<u8> {
        let Ok(mut c) = UnixStream::connect(&self.socket) else {
            return Vec::new();
        };
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = c.write_all(req);
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        out
    }

    fn instream(&self, data: &[u8]) -> Vec<u8> {
        let mut req = b"zINSTREAM\0".to_vec();
        req.extend((data.len() as u32).to_be_bytes());
        req.extend(data);
        req.extend(0u32.to_be_bytes());
        self.query(&req)
    }

    fn wait_for(&self, req: &[u8], want: &[u8]) {
        let start = Instant::now();
        loop {
            let got = if req == b"INSTREAM" {
                self.instream(NEW_SAMPLE)
            } else {
                self.query(req)
            };
            if got == want {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "daemon never answered {:?}; last {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pack_cosign_publish_witness_update_and_daemon_reload() {
    let d = Dir::new();
    let (repo, db, keys) = (d.join("repo"), d.join("db"), d.join("keys"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::create_dir_all(&keys).unwrap();
    let key = |n: &str| keys.join(n).display().to_string();
    let public = |n: &str| format!("{}.pub", key(n));
    for n in [
        "root1",
        "root2",
        "root3",
        "signer1",
        "signer2",
        "signer3",
        "snapshot",
        "timestamp",
        "log",
        "witness",
    ] {
        ok(&["pack", "keygen", &key(n)]);
    }
    fails(&["pack", "keygen", &key("root1")], "root1");
    let mut init = vec!["pack".to_string(), "init".into(), s(&repo).into()];
    for n in ["root1", "root2", "root3"] {
        init.extend(["--root-key".into(), public(n)]);
    }
    for n in ["signer1", "signer2", "signer3"] {
        init.extend(["--signer".into(), public(n)]);
    }
    init.extend([
        "--root-threshold".into(),
        "2".into(),
        "--signer-threshold".into(),
        "2".into(),
    ]);
    init.extend(["--snapshot-key".into(), public("snapshot")]);
    init.extend(["--timestamp-key".into(), public("timestamp")]);
    ok(&init.iter().map(String::as_str).collect::<Vec<_>>());
    ok(&["pack", "sign", s(&repo), "--key", &key("root1")]);
    assert!(ok(&["pack", "sign", s(&repo), "--key", &key("root3")]).contains("root v1: 2 of 2"));
    let log_vkey = ok(&[
        "pack",
        "log-init",
        s(&repo),
        "--origin",
        "bolwerk.test/packs",
        "--key",
        &key("log"),
    ]);
    let w_vkey = ok(&[
        "pack",
        "vkey",
        &key("witness"),
        "--name",
        "witness.test/w1",
        "--witness",
    ]);
    let policy = d.write(
        "policy.toml",
        format!(
            "[log]\nkey = \"{}\"\nwitnesses = [\"{}\"]\nwitness_threshold = 1\n",
            log_vkey.trim(),
            w_vkey.trim()
        ),
    );

    // Pack 1: ClamAV's test database and an EICAR hash; two of three sign.
    let hdb = d.write("eicar.hdb", EICAR_HDB);
    let cvd = util::test3_cvd();
    ok(&["pack", "add", s(&repo), s(&cvd), s(&hdb)]);
    ok(&["pack", "sign", s(&repo), "--key", &key("signer1")]);
    let publish = [
        "pack",
        "publish",
        s(&repo),
        "--snapshot-key",
        &key("snapshot"),
        "--timestamp-key",
        &key("timestamp"),
        "--log-key",
        &key("log"),
    ];
    fails(
        &publish,
        "refusing to publish: targets v1: 1 of 2 signatures",
    );
    ok(&["pack", "sign", s(&repo), "--key", &key("signer3")]);
    assert!(ok(&publish).contains("published targets v1 under root v1"));

    let root = repo.join("metadata/1.root.json");
    let update = [
        "update",
        "--from",
        s(&repo),
        "--db",
        s(&db),
        "--root",
        s(&root),
        "--policy",
        s(&policy),
    ];
    // The policy wants a witness; none has cosigned yet.
    fails(&update, "0 of the 1 required witness cosignatures");
    assert!(!db.join("eicar.hdb").exists());
    let wstate = d.join("witness-state");
    let witness = [
        "pack",
        "witness",
        s(&repo),
        "--log-vkey",
        log_vkey.trim(),
        "--name",
        "witness.test/w1",
        "--key",
        &key("witness"),
        "--state",
        s(&wstate),
    ];
    ok(&witness);
    let out = ok(&update);
    assert!(
        out.contains("log: targets v1 is leaf 0 of the log"),
        "{out}"
    );
    assert!(out.contains("installed test-3.cvd"), "{out}");
    let sample = d.write("eicar.com", EICAR);
    let scan = util::bolwerk(&["scan", "--no-builtin", "-d", s(&db), s(&sample)]);
    assert_eq!(scan.code, 1, "{}{}", scan.stdout, scan.stderr);
    assert!(
        scan.stdout.contains("Eicar-Test-Signature"),
        "{}",
        scan.stdout
    );

    // A daemon serves that database; pack 2 adds a signature it lacks.
    let daemon = Daemon::start(&d, &db);
    assert_eq!(daemon.instream(NEW_SAMPLE), b"stream: OK\0");
    let md5 = md5_hex(NEW_SAMPLE);
    let new_hdb = d.write(
        "pack2.hdb",
        format!("{md5}:{}:Bolwerk.Test.Pack-2\n", NEW_SAMPLE.len()),
    );
    ok(&["pack", "add", s(&repo), s(&new_hdb)]);
    ok(&["pack", "sign", s(&repo), "--key", &key("signer2")]);
    ok(&["pack", "sign", s(&repo), "--key", &key("signer3")]);
    ok(&publish);
    ok(&witness);
    let sock = daemon.socket.display().to_string();
    let mut with_reload = update.to_vec();
    with_reload.extend(["--reload-socket", &sock]);
    let out = ok(&with_reload);
    assert!(
        out.contains("consistent with the checkpoint of size 1 seen before"),
        "{out}"
    );
    assert!(out.contains("is reloading"), "{out}");
    // Unsigned ClamAV-format files carry .UNOFFICIAL, as ClamAV names them.
    daemon.wait_for(
        b"INSTREAM",
        b"stream: Bolwerk.Test.Pack-2.UNOFFICIAL FOUND\0",
    );
    // The update changed nothing it did not have to.
    assert_eq!(
        std::fs::read(db.join("test-3.cvd")).unwrap(),
        std::fs::read(&cvd).unwrap()
    );

    // A mirror that swaps a pack file: refused with the reason, and the
    // database directory (state included) is left exactly as it was.
    let before = files(&db);
    let target = std::fs::read_dir(repo.join("targets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_str().unwrap().ends_with(".pack2.hdb"))
        .unwrap();
    let forged = std::fs::read_to_string(&target)
        .unwrap()
        .replace("Pack-2", "Pack-X");
    std::fs::write(&target, forged).unwrap();
    fails(&update, "Hash mismatch");
    assert_eq!(files(&db), before);
}

/// Every file under `dir` and its contents.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        if e.path().is_dir() {
            out.extend(files(&e.path()));
        } else {
            out.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    out.sort();
    out
}
