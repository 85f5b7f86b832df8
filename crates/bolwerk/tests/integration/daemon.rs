//! `bolwerk daemon` against the real clamd (Debian's `clamav-daemon`),
//! both started here on Unix sockets in temporary directories with the
//! same database (`test-3.cvd`), and against the clients people use:
//! `clamdscan`, Python's `clamd` and `pyclamd`, Node's `clamscan`. Each
//! check sends the same requests to both daemons and wants the same bytes
//! back. Everything is bounded in time; nothing leaves the machine.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::{self, Dir, EICAR};

/// How long a daemon may take to answer its first PING.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long any one request may take.
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A running daemon, stopped when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
    _dir: Dir,
}

impl Daemon {
    /// The real clamd with test-3.cvd and `extra` configuration lines.
    fn clamd(extra: &str) -> Daemon {
        Daemon::clamd_with(extra, &[])
    }

    /// The real clamd with test-3.cvd and more database files.
    fn clamd_with(extra: &str, dbs: &[(&str, &str)]) -> Daemon {
        let bin = Path::new("/usr/sbin/clamd");
        assert!(
            bin.is_file(),
            "Debian package clamav-daemon is missing (.ci/run installs it): apt-get install clamav-daemon"
        );
        Daemon::start(
            |conf| {
                let mut c = Command::new(bin);
                c.arg("-c").arg(conf);
                c
            },
            extra,
            dbs,
        )
    }

    /// bolwerk's daemon with the same settings.
    fn bolwerk(extra: &str) -> Daemon {
        Daemon::bolwerk_with(extra, &[])
    }

    /// bolwerk's daemon with test-3.cvd and more database files.
    fn bolwerk_with(extra: &str, dbs: &[(&str, &str)]) -> Daemon {
        Daemon::start(
            |conf| {
                let mut c = Command::new(env!("CARGO_BIN_EXE_bolwerk"));
                c.arg("daemon").arg("-c").arg(conf);
                c
            },
            extra,
            dbs,
        )
    }

    fn start(command: impl FnOnce(&Path) -> Command, extra: &str, dbs: &[(&str, &str)]) -> Daemon {
        let dir = Dir::new();
        let db = dir.join("db");
        std::fs::create_dir_all(&db).unwrap();
        std::fs::copy(util::test3_cvd(), db.join("test-3.cvd")).unwrap();
        for (name, text) in dbs {
            std::fs::write(db.join(name), text).unwrap();
        }
        let socket = dir.join("clamd.sock");
        let conf = dir.write(
            "clamd.conf",
            format!(
                "Foreground yes\nUser root\nDatabaseDirectory {}\nLocalSocket {}\n\
                 LogFile {}\nTemporaryDirectory {}\n{extra}",
                db.display(),
                socket.display(),
                dir.join("log").display(),
                dir.path().display(),
            ),
        );
        let child = command(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start daemon");
        let d = Daemon {
            child,
            socket,
            _dir: dir,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < START_TIMEOUT {
            if let Ok(r) = try_query(&self.socket, b"zPING\0") {
                if r == b"PONG\0" {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("daemon on {} did not start", self.socket.display());
    }

    fn query(&self, req: &[u8]) -> Vec<u8> {
        try_query(&self.socket, req).expect("query")
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn path(&self) -> &Path {
        &self.socket
    }

    /// The database directory.
    fn db_dir(&self) -> PathBuf {
        self._dir.join("db")
    }

    /// What the daemon has written to its `LogFile`.
    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Send a request, read to the end of the reply (the daemon closes).
fn try_query(socket: &Path, req: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    // A daemon may close as soon as it has refused a request.
    let _ = s.write_all(req);
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => Ok(out),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(out),
        Err(e) => Err(e),
    }
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(data);
    v
}

fn instream(prefix: &[u8], data: &[u8], chunk_size: usize) -> Vec<u8> {
    let mut req = prefix.to_vec();
    for c in data.chunks(chunk_size.max(1)) {
        req.extend(chunk(c));
    }
    req.extend(chunk(b""));
    req
}

/// Files both daemons scan: EICAR, clean files, an empty file, ClamAV's
/// test executable, in a small tree.
struct Samples {
    dir: Dir,
}

impl Samples {
    fn new() -> Samples {
        let dir = Dir::new();
        dir.write("eicar.com", EICAR);
        dir.write("clean.txt", "hello\n");
        dir.write("tree/clean.txt", "hello\n");
        dir.write("tree/empty", "");
        dir.write("tree/sub/eicar.com", EICAR);
        dir.write("cleantree/a.txt", "just text\n");
        dir.write("cleantree/b/c.txt", "more text\n");
        let clam = util::testfiles().join("clam.exe");
        std::fs::copy(clam, dir.join("tree/clam.exe")).unwrap();
        Samples { dir }
    }

    fn p(&self, rel: &str) -> String {
        self.dir.join(rel).display().to_string()
    }
}

/// The first word of VERSION's reply names the product; the rest of the
/// shape must be clamd's.
fn normalise_version(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply).into_owned();
    let (_, rest) = text.split_once(' ').unwrap_or(("", &text));
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    format!("PRODUCT VERSION{rest}")
}

/// Reply lines in sorted order (for replies whose order is not fixed).
fn sorted(reply: &[u8], delim: u8) -> Vec<String> {
    let mut lines: Vec<String> = reply
        .split(|b| *b == delim)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    lines.sort();
    lines
}

#[test]
fn daemon_protocol_same_as_clamd() {
    let s = Samples::new();
    let conf = "StreamMaxLength 1M\n";
    let (clamd, ours) = (Daemon::clamd(conf), Daemon::bolwerk(conf));
    let clean = b"just some clean text\n".repeat(1000);
    let cases: Vec<Vec<u8>> = vec![
        b"zPING\0".to_vec(),
        b"nPING\n".to_vec(),
        b"PING".to_vec(),
        b"nFOO\n".to_vec(),
        b"zping\0".to_vec(),
        b"nPING \n".to_vec(),
        b"nSCAN\n".to_vec(),
        b"nEND\n".to_vec(),
        b"nDETSTATS\n".to_vec(),
        format!("zSCAN {}\0", s.p("eicar.com")).into_bytes(),
        format!("nSCAN {}\n", s.p("clean.txt")).into_bytes(),
        format!("SCAN {}", s.p("eicar.com")).into_bytes(),
        format!("nSCAN {}\n", s.p("tree/empty")).into_bytes(),
        format!("nSCAN {}\n", s.p("missing")).into_bytes(),
        format!("nSCAN {}\n", s.p("cleantree")).into_bytes(),
        format!("nCONTSCAN {}\n", s.p("cleantree")).into_bytes(),
        format!("nMULTISCAN {}\n", s.p("cleantree")).into_bytes(),
        format!("zSCAN {}\0", s.p("tree/sub")).into_bytes(),
        format!("nALLMATCHSCAN {}\n", s.p("tree/sub/eicar.com")).into_bytes(),
        format!("nSCAN {}\n", s.p("tree/clam.exe")).into_bytes(),
        instream(b"zINSTREAM\0", EICAR, 68),
        instream(b"nINSTREAM\n", EICAR, 1),
        instream(b"zINSTREAM\0", &clean, 4096),
        instream(b"zINSTREAM\0", b"", 1),
        instream(b"zINSTREAM\0", &vec![b'A'; (1 << 20) + 1], 1 << 16),
        [b"zIDSESSION\0".as_slice(), b"zPING\0zFOO\0zPING\0"].concat(),
        b"nIDSESSION\nnIDSESSION\nnEND\n".to_vec(),
        b"nIDSESSION\nnRELOAD\nnEND\n".to_vec(),
        format!("zIDSESSION\0zCONTSCAN {}\0zPING\0zEND\0", s.p("tree")).into_bytes(),
    ];
    for req in &cases {
        let (want, got) = (clamd.query(req), ours.query(req));
        let shown = String::from_utf8_lossy(&req[..req.len().min(60)]).into_owned();
        crate::eqnice!(
            (shown.clone(), String::from_utf8_lossy(&want).into_owned()),
            (shown, String::from_utf8_lossy(&got).into_owned())
        );
    }
    // Replies whose order depends on the directory walk.
    for cmd in ["CONTSCAN", "MULTISCAN", "ALLMATCHSCAN"] {
        let req = format!("z{cmd} {}\0", s.p("tree"));
        let (want, got) = (clamd.query(req.as_bytes()), ours.query(req.as_bytes()));
        crate::eqnice!(sorted(&want, 0), sorted(&got, 0));
    }
    crate::eqnice!(
        normalise_version(&clamd.query(b"nVERSION\n")),
        normalise_version(&ours.query(b"nVERSION\n"))
    );
    let vc = |d: &Daemon| {
        let r = String::from_utf8(d.query(b"zVERSIONCOMMANDS\0")).unwrap();
        r.split_once('|').unwrap().1.to_string()
    };
    crate::eqnice!(vc(&clamd), vc(&ours));
}

/// A body signature and a logical signature whose bytes are cut across
/// INSTREAM chunks of every size still match, as with clamd.
#[test]
fn daemon_instream_patterns_span_chunks_as_in_clamd() {
    let dbs = [
        ("span.ndb", "Span.Body:0:*:5350414e2d424f44592d{2-4}5041545445524e\n"),
        (
            "span.ldb",
            "Span.Logic;Engine:81-255,Target:0;0&1=2;4c4f474943414c2d4f4e45;6c6f676963616c2d74776f::i\n",
        ),
    ];
    let (clamd, ours) = (Daemon::clamd_with("", &dbs), Daemon::bolwerk_with("", &dbs));
    let mut body = b"\x00\x01\x02binary head ".repeat(50);
    body.extend_from_slice(b"SPAN-BODY-xxPATTERN\x00tail");
    let mut logic = b"\x00\x01\x02binary head ".repeat(50);
    logic.extend_from_slice(b"LOGICAL-ONE\x00LOGICAL-TWO\x00Logical-Two\x00end");
    let mut replies = 0;
    for data in [&body, &logic] {
        for size in [1, 3, 7, 16, 700, 4096] {
            let req = instream(b"zINSTREAM\0", data, size);
            let (want, got) = (clamd.query(&req), ours.query(&req));
            crate::eqnice!(
                (size, String::from_utf8_lossy(&want).into_owned()),
                (size, String::from_utf8_lossy(&got).into_owned())
            );
            replies += usize::from(want.windows(5).any(|w| w == b"FOUND"));
        }
    }
    assert_eq!(replies, 12, "every stream is detected");
}

#[test]
fn daemon_session_replies_carry_ids_out_of_order() {
    let s = Samples::new();
    let (clamd, ours) = (Daemon::clamd(""), Daemon::bolwerk(""));
    let mut req = b"zIDSESSION\0zPING\0".to_vec();
    req.extend(format!("zSCAN {}\0", s.p("tree")).as_bytes());
    req.extend(instream(b"zINSTREAM\0", EICAR, 7));
    req.extend(format!("zSCAN {}\0", s.p("clean.txt")).as_bytes());
    req.extend(instream(b"zINSTREAM\0", b"clean", 2));
    req.extend(b"zVERSION\0zEND\0");
    let (want, got) = (clamd.query(&req), ours.query(&req));
    let drop_version = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| !l.starts_with("6: "))
            .collect()
    };
    crate::eqnice!(
        drop_version(sorted(&want, 0)),
        drop_version(sorted(&got, 0))
    );
    assert!(
        got.windows(3).any(|w| w == b"6: "),
        "no VERSION reply in the session"
    );
}

#[test]
fn daemon_command_read_timeout() {
    let conf = "CommandReadTimeout 2\n";
    let (clamd, ours) = (Daemon::clamd(conf), Daemon::bolwerk(conf));
    for partial in [&b"nPIN"[..], b"", b"zSCAN /tmp"] {
        let start = Instant::now();
        let (want, got) = (clamd.query(partial), ours.query(partial));
        crate::eqnice!(want, got);
        assert!(start.elapsed() < Duration::from_secs(15));
    }
    let start = Instant::now();
    assert_eq!(ours.query(b"nPIN"), b"COMMAND READ TIMED OUT\n");
    assert!(start.elapsed() >= Duration::from_millis(1900));
}

/// Pass a descriptor as clamdscan --fdpass does: the command, then one
/// byte carrying the descriptor.
fn fildes(socket: &Path, file: &Path) -> Vec<u8> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(file).unwrap();
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(b"zFILDES\0").unwrap();
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = [0u64; 4];
    // SAFETY: plain data; the fields are set below to live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as _;
    // SAFETY: the control buffer holds one header and one int.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as _;
        libc::CMSG_DATA(c)
            .cast::<i32>()
            .write_unaligned(f.as_raw_fd());
        assert_eq!(libc::sendmsg(s.as_raw_fd(), &msg, 0), 1);
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn daemon_fildes_same_as_clamd() {
    let s = Samples::new();
    let (clamd, ours) = (Daemon::clamd(""), Daemon::bolwerk(""));
    // The descriptor number differs from process to process.
    let strip = |r: Vec<u8>| {
        let t = String::from_utf8(r).unwrap();
        t.split_once(']').map(|x| x.1.to_string()).unwrap_or(t)
    };
    for f in ["eicar.com", "clean.txt", "tree/clam.exe"] {
        let p = s.dir.join(f);
        crate::eqnice!(
            strip(fildes(clamd.path(), &p)),
            strip(fildes(ours.path(), &p))
        );
    }
}

#[test]
fn daemon_survives_clients_that_vanish_mid_stream() {
    let mut ours = Daemon::bolwerk("ReadTimeout 2\n");
    for _ in 0..20 {
        let mut s = UnixStream::connect(ours.path()).unwrap();
        let mut req = b"zINSTREAM\0".to_vec();
        req.extend(100_000u32.to_be_bytes());
        req.extend(vec![0u8; 5000]);
        s.write_all(&req).unwrap();
        drop(s);
    }
    // A client that stalls mid-stream is dropped after ReadTimeout.
    let mut stalled = UnixStream::connect(ours.path()).unwrap();
    stalled.write_all(b"zINSTREAM\0\0\0\0\x10abc").unwrap();
    stalled.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let start = Instant::now();
    let mut out = Vec::new();
    let _ = stalled.read_to_end(&mut out);
    assert!(out.is_empty(), "{out:?}");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(ours.query(b"zPING\0"), b"PONG\0");
    assert_eq!(
        ours.query(&instream(b"zINSTREAM\0", EICAR, 10)),
        b"stream: Eicar-Test-Signature FOUND\0"
    );
    assert!(ours.alive());
}

#[test]
fn daemon_200_clients_and_a_reload() {
    let ours = Daemon::bolwerk("MaxThreads 4\nMaxQueue 50\n");
    let errors = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(6);
    let clean = b"clean data ".repeat(30_000);
    std::thread::scope(|sc| {
        for i in 0..200 {
            let (errors, done, clean, socket) = (&errors, &done, &clean, ours.path());
            sc.spawn(move || {
                while Instant::now() < deadline {
                    let (data, want): (&[u8], &[u8]) = if i % 2 == 0 {
                        (EICAR, b"stream: Eicar-Test-Signature FOUND\0")
                    } else {
                        (clean, b"stream: OK\0")
                    };
                    match try_query(socket, &instream(b"zINSTREAM\0", data, 8192)) {
                        Ok(r) if r == want => done.fetch_add(1, Ordering::Relaxed),
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        sc.spawn(|| {
            std::thread::sleep(Duration::from_secs(2));
            assert_eq!(ours.query(b"zRELOAD\0"), b"RELOADING\0");
            std::thread::sleep(Duration::from_millis(500));
            assert_eq!(ours.query(b"zRELOAD\0"), b"RELOADING\0");
        });
    });
    let (errors, done) = (errors.load(Ordering::Relaxed), done.load(Ordering::Relaxed));
    assert_eq!(errors, 0, "{errors} failed requests of {}", errors + done);
    assert!(done >= 200, "only {done} requests answered");
    let rss = ours.rss_kib();
    assert!(rss < 256 * 1024, "peak RSS {rss} KiB");
}

/// The clients must have seen real answers, not the same failure twice.
fn assert_detected(out: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            out.contains(n),
            "'{n}' missing from the client's output:\n{out}"
        );
    }
}

/// A real client's output against each daemon.
fn client_outputs(run: impl Fn(&Daemon) -> String) -> (String, String) {
    let (clamd, ours) = (Daemon::clamd(""), Daemon::bolwerk(""));
    (run(&clamd), run(&ours))
}

fn clamdscan(d: &Daemon, args: &[&str]) -> String {
    let bin = Path::new("/usr/bin/clamdscan");
    assert!(
        bin.is_file(),
        "Debian package clamdscan is missing (.ci/run installs it): apt-get install clamdscan"
    );
    let dir = Dir::new();
    let conf = dir.write(
        "clamd.conf",
        format!("LocalSocket {}\n", d.path().display()),
    );
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config-file={}", conf.display()))
        .arg("--no-summary");
    let r = util::run(cmd, Path::new("/"), args, None);
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    format!("exit {}\n{}\n{}", r.code, lines.join("\n"), r.stderr)
}

#[test]
fn daemon_clamdscan_same_as_clamd() {
    let s = Samples::new();
    let (e, c, t, ct) = (
        s.p("eicar.com"),
        s.p("clean.txt"),
        s.p("tree"),
        s.p("cleantree"),
    );
    let (want, got) = client_outputs(|d| {
        let mut out = String::new();
        for mode in [
            &[][..],
            &["--multiscan"],
            &["--stream"],
            &["--fdpass"],
            &["--allmatch"],
        ] {
            let mut args: Vec<&str> = mode.to_vec();
            args.extend([e.as_str(), c.as_str(), t.as_str(), ct.as_str()]);
            out += &clamdscan(d, &args);
            out += &clamdscan(d, &[mode, &[c.as_str()][..]].concat());
        }
        out += &clamdscan(d, &["--ping", "1"]);
        out
    });
    crate::eqnice!(want, got);
    assert_detected(
        &got,
        &[
            "Eicar-Test-Signature FOUND",
            "Clamav.Test.File-6 FOUND",
            "exit 1",
        ],
    );
}

/// A clamdscan run's output in a comparable form: lines sorted, the
/// summary's times and the daemon's descriptor numbers left out.
fn comparable(r: &util::Run) -> String {
    let mut lines: Vec<String> = r
        .stdout
        .lines()
        .chain(r.stderr.lines())
        .filter(|l| !l.starts_with("Time:") && !l.contains(" Date:"))
        .map(|l| match l.strip_prefix("fd[") {
            Some(rest) => format!("fd[N{}", &rest[rest.find(']').unwrap_or(0)..]),
            None => l.to_string(),
        })
        .collect();
    lines.sort();
    format!("exit {}\n{}\n", r.code, lines.join("\n"))
}

/// `bolwerk clamdscan` and Debian's clamdscan with the same arguments and
/// standard input, against the same daemon.
fn both_clamdscans(d: &Daemon, args: &[&str], stdin: Option<&[u8]>) -> (String, String) {
    let dir = Dir::new();
    let conf = dir.write(
        "clamd.conf",
        format!("LocalSocket {}\n", d.path().display()),
    );
    let conf_arg = format!("--config-file={}", conf.display());
    let mut all = vec![conf_arg.as_str()];
    all.extend_from_slice(args);
    let theirs = util::run(
        Command::new("/usr/bin/clamdscan"),
        Path::new("/"),
        &all,
        stdin,
    );
    let mut ours_args = vec!["clamdscan"];
    ours_args.extend_from_slice(&all);
    let ours = util::run(
        Command::new(env!("CARGO_BIN_EXE_bolwerk")),
        Path::new("/"),
        &ours_args,
        stdin,
    );
    (comparable(&theirs), comparable(&ours))
}

#[test]
fn bolwerk_clamdscan_same_as_clamdscan() {
    let s = Samples::new();
    std::fs::write(
        s.dir.join("list"),
        format!("{}\n{}\n", s.p("eicar.com"), s.p("cleantree")),
    )
    .unwrap();
    let (e, c, t, ct, missing, list) = (
        s.p("eicar.com"),
        s.p("clean.txt"),
        s.p("tree"),
        s.p("cleantree"),
        s.p("missing"),
        s.p("list"),
    );
    let paths = [
        e.as_str(),
        c.as_str(),
        t.as_str(),
        ct.as_str(),
        missing.as_str(),
    ];
    let mut runs: Vec<(Vec<&str>, Option<&[u8]>)> = Vec::new();
    for mode in [
        &[][..],
        &["--multiscan"],
        &["--stream"],
        &["--fdpass"],
        &["--allmatch"],
        &["-i"],
        &["--quiet"],
        &["--stdout", "--no-summary"],
    ] {
        let mut args = mode.to_vec();
        args.extend(paths);
        runs.push((args, None));
    }
    runs.push((vec!["-f", list.as_str()], None));
    runs.push((vec!["--ping", "1"], None));
    runs.push((vec!["--version"], None));
    runs.push((vec!["-"], Some(EICAR)));
    runs.push((vec!["--stream", "-"], Some(b"clean\n".as_slice())));
    for d in [Daemon::clamd(""), Daemon::bolwerk("")] {
        for (args, stdin) in &runs {
            let (want, got) = both_clamdscans(&d, args, *stdin);
            if args == &["--version"] {
                // Each daemon names itself; both print its one line.
                assert_eq!(want.lines().count(), got.lines().count(), "{got}");
                continue;
            }
            assert_eq!(want, got, "clamdscan {args:?}");
        }
    }
    let d = Daemon::bolwerk("");
    let (_, got) = both_clamdscans(&d, &[e.as_str(), t.as_str()], None);
    assert!(got.starts_with("exit 1\n"), "{got}");
    assert!(got.contains("Clamav.Test.File-6 FOUND"), "{got}");
    assert!(got.contains("Infected files: 3"), "{got}");
}

/// Run a client script with the interpreter and say which package
/// `.ci/run` installs when it is missing.
fn script(
    interpreter: &str,
    code: &str,
    args: &[&str],
    env: &[(&str, String)],
    package: &str,
) -> String {
    let mut cmd = Command::new(interpreter);
    cmd.arg(if interpreter == "node" { "-e" } else { "-c" })
        .arg(code);
    if interpreter == "node" {
        cmd.arg("--");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let r = util::run(cmd, Path::new("/"), args, None);
    assert!(
        r.code == 0,
        "{interpreter} client failed (is {package} installed? .ci/run installs it):\n{}\n{}",
        r.stdout,
        r.stderr
    );
    r.stdout
}

const PYTHON_CLAMD: &str = r#"
import io, sys, clamd
sock, eicar, clean, tree = sys.argv[1:5]
c = clamd.ClamdUnixSocket(path=sock)
print(c.ping())
v = c.version(); print(v.split(' ', 1)[0] != '', '/' in v)
print(c.scan(eicar)); print(c.scan(clean))
print(sorted(c.contscan(tree).items())); print(sorted(c.multiscan(tree).items()))
print(c.instream(io.BytesIO(open(eicar, 'rb').read())))
print(c.instream(io.BytesIO(b'clean' * 10000)))
print(c.stats().splitlines()[0])
"#;

/// Run a Python client script against clamd and bolwerk with the same
/// samples; the outputs must be equal and hold real detections.
fn python_client_same_as_clamd(code: &str, package: &str, expected: &[&str]) {
    let s = Samples::new();
    let args = [s.p("eicar.com"), s.p("clean.txt"), s.p("tree")];
    let (want, got) = client_outputs(|d| {
        let sock = d.path().display().to_string();
        let mut a = vec![sock.as_str()];
        a.extend(args.iter().map(String::as_str));
        script("python3", code, &a, &[], package)
    });
    crate::eqnice!(want, got);
    assert_detected(&got, expected);
}

#[test]
fn daemon_python_clamd_same_as_clamd() {
    python_client_same_as_clamd(
        PYTHON_CLAMD,
        "the PyPI package clamd",
        &["'Eicar-Test-Signature'", "'Clamav.Test.File-6'", "PONG"],
    );
}

const PYCLAMD: &str = r#"
import sys, pyclamd
sock, eicar, clean, tree = sys.argv[1:5]
c = pyclamd.ClamdUnixSocket(filename=sock)
print(c.ping())
print(c.scan_file(eicar)); print(c.scan_file(clean))
print(sorted(c.contscan_file(tree).items())); print(sorted(c.multiscan_file(tree).items()))
print(c.scan_stream(open(eicar, 'rb').read())); print(c.scan_stream(b'clean' * 10000))
print(c.scan_stream(c.EICAR()))
"#;

#[test]
fn daemon_pyclamd_same_as_clamd() {
    python_client_same_as_clamd(
        PYCLAMD,
        "the PyPI package pyclamd",
        &["'Eicar-Test-Signature'", "'Clamav.Test.File-6'", "True"],
    );
}

const NODE_CLAMSCAN: &str = r#"
const NodeClam = require('clamscan');
const fs = require('fs');
const [sock, eicar, clean, tree] = process.argv.slice(-4);
(async () => {
  const c = await new NodeClam().init({
    removeInfected: false, scanRecursively: true, preference: 'clamdscan',
    clamscan: { active: false },
    clamdscan: { socket: sock, localFallback: false, active: true, multiscan: true },
  });
  const v = await c.getVersion(); console.log(typeof v === 'string' && v.length > 0);
  for (const f of [eicar, clean]) {
    const r = await c.isInfected(f); console.log(JSON.stringify([r.file, r.isInfected, r.viruses]));
  }
  const s1 = await c.scanStream(fs.createReadStream(eicar)); console.log(JSON.stringify([s1.isInfected, s1.viruses]));
  const s2 = await c.scanStream(fs.createReadStream(clean)); console.log(JSON.stringify([s2.isInfected, s2.viruses]));
  const d = await c.scanDir(tree); console.log(JSON.stringify([d.badFiles.sort(), d.viruses.sort()]));
})().catch(e => { console.error(e); process.exit(3); });
"#;

#[test]
fn daemon_node_clamscan_same_as_clamd() {
    let s = Samples::new();
    let args = [s.p("eicar.com"), s.p("clean.txt"), s.p("tree")];
    let node_path = std::env::var("BOLWERK_NODE_MODULES").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        format!("{home}/.cache/bolwerk/node/node_modules")
    });
    let (want, got) = client_outputs(|d| {
        let sock = d.path().display().to_string();
        let mut a = vec![sock.as_str()];
        a.extend(args.iter().map(String::as_str));
        let env = [("NODE_PATH", node_path.clone())];
        script("node", NODE_CLAMSCAN, &a, &env, "the npm package clamscan")
    });
    crate::eqnice!(want, got);
    assert_detected(
        &got,
        &["Eicar-Test-Signature", "Clamav.Test.File-6", "true"],
    );
}

/// No egress in the daemon: once it is ready every one of its threads
/// carries the seccomp filter (installed with TSYNC after the runtime
/// started), yet it still serves its Unix socket, accepts on the TCP
/// listener it bound before, scans, and reloads.
#[test]
fn daemon_confined_still_serves_its_sockets() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut d = Daemon::bolwerk(&format!("TCPSocket {port}\nTCPAddr 127.0.0.1\n"));
    let filters = crate::egress::wait_confined(d.child.id());
    assert!(filters.len() > 1, "one thread only: {filters:?}");
    assert_eq!(d.query(b"zPING\0"), b"PONG\0");
    assert_eq!(
        d.query(&instream(b"zINSTREAM\0", EICAR, 7)),
        b"stream: Eicar-Test-Signature FOUND\0"
    );
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp.write_all(b"zPING\0").unwrap();
    let mut reply = Vec::new();
    tcp.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"PONG\0");
    assert_eq!(d.query(b"zRELOAD\0"), b"RELOADING\0");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(d.query(b"zPING\0"), b"PONG\0");
    assert!(d.alive());
    let log = std::fs::read_to_string(d._dir.join("log")).unwrap();
    assert!(log.contains("No-egress filter installed"), "{log}");
    // Threads the pool started after the filter carry it too.
    assert!(crate::egress::thread_filters(d.child.id())
        .iter()
        .all(|&n| n > 0));
}

/// YARA rule files in the database directory are loaded as clamd loads
/// them, and matched in streams, files and archive members with clamd's
/// names; a changed rule file is picked up by RELOAD.
#[test]
fn daemon_yara_rules_in_the_database_directory_as_clamd() {
    let rule = |name: &str, text: &str| {
        format!("rule {name} {{ strings: $a = \"{text}\" condition: $a }}\n")
    };
    let first = rule("Marker_One", "bolwerk-yara-marker-one");
    let dbs = [("rules.yar", first.as_str())];
    let (clamd, ours) = (Daemon::clamd_with("", &dbs), Daemon::bolwerk_with("", &dbs));
    let one = b"some text with bolwerk-yara-marker-one inside\n".to_vec();
    let two = b"and bolwerk-yara-marker-two here\n".to_vec();
    let zipped = crate::containers::zip_of(&[("inner.txt", one.as_slice())]);
    let requests = [
        instream(b"zINSTREAM\0", &one, 7),
        instream(b"zINSTREAM\0", &two, 7),
        instream(b"zINSTREAM\0", &zipped, 100),
        instream(b"zINSTREAM\0", b"clean bytes only\n", 1000),
    ];
    let compare = |clamd: &Daemon, ours: &Daemon| {
        for req in &requests {
            let (want, got) = (clamd.query(req), ours.query(req));
            crate::eqnice!(
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got)
            );
        }
    };
    compare(&clamd, &ours);
    assert_eq!(
        ours.query(&instream(b"zINSTREAM\0", &one, 7)),
        b"stream: YARA.Marker_One.UNOFFICIAL FOUND\0"
    );
    // A second rule, then RELOAD: both daemons pick it up.
    let both = format!("{first}{}", rule("Marker_Two", "bolwerk-yara-marker-two"));
    for d in [&clamd, &ours] {
        let db = d.socket.parent().unwrap().join("db/rules.yar");
        std::fs::write(db, &both).unwrap();
        assert_eq!(d.query(b"zRELOAD\0"), b"RELOADING\0");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let want = b"stream: YARA.Marker_Two.UNOFFICIAL FOUND\0";
    for d in [&clamd, &ours] {
        while d.query(&instream(b"zINSTREAM\0", &two, 7)) != want {
            assert!(Instant::now() < deadline, "the new rule was not loaded");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    compare(&clamd, &ours);
}

/// Indicator feeds in the database directory (which clamd passes over)
/// are matched by bolwerk's daemon: a STIX hash indicator on a stream and
/// on an archive member, a domain indicator in text with MVT's rule (not
/// a longer label). clamd, given the same directory, finds nothing.
#[test]
fn daemon_indicator_feeds_in_the_database_directory() {
    use sha2::Digest;
    let sample = b"planted sample for a daemon feed\n".repeat(3);
    let digest: String = sha2::Sha256::digest(&sample)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let feed = format!(
        r#"{{"type":"bundle","id":"bundle--d","objects":[
        {{"type":"malware","id":"malware--s","name":"Test Spy"}},
        {{"type":"indicator","id":"indicator--h","pattern":"[file:hashes.'SHA-256' = '{digest}']"}},
        {{"type":"indicator","id":"indicator--d","pattern":"[domain-name:value = 'spy-c2.example']"}},
        {{"type":"relationship","id":"relationship--1","relationship_type":"indicates",
          "source_ref":"indicator--h","target_ref":"malware--s"}},
        {{"type":"relationship","id":"relationship--2","relationship_type":"indicates",
          "source_ref":"indicator--d","target_ref":"malware--s"}}]}}"#
    );
    let dbs = [("feed.stix2", feed.as_str())];
    let (clamd, ours) = (Daemon::clamd_with("", &dbs), Daemon::bolwerk_with("", &dbs));
    let zipped = crate::containers::zip_of(&[("inner.bin", sample.as_slice())]);
    let found = b"stream: Spyware.Test_Spy FOUND\0".as_slice();
    let ok = b"stream: OK\0".as_slice();
    for (data, want) in [
        (sample.as_slice(), found),
        (zipped.as_slice(), found),
        (
            b"GET https://cdn.spy-c2.example/x HTTP/1.1\n".as_slice(),
            found,
        ),
        (
            b"see https://notspy-c2.example/ and spy-c2.example.org\n".as_slice(),
            ok,
        ),
    ] {
        let req = instream(b"zINSTREAM\0", data, 64);
        let got = ours.query(&req);
        crate::eqnice!(String::from_utf8_lossy(want), String::from_utf8_lossy(&got));
        assert_eq!(clamd.query(&req), ok);
    }
}

/// `AlertEncrypted`, `AlertEncryptedArchive` and `AlertEncryptedDoc` in
/// clamd.conf: an INSTREAM of a zip with an encrypted member (made by
/// Info-ZIP's `zip -P`) gets clamd's reply from both daemons.
#[test]
fn daemon_alert_encrypted_as_clamd() {
    let d = Dir::new();
    d.write("secret.txt", "a secret\n");
    let made = util::run(
        Command::new("zip"),
        d.path(),
        &["-q", "-P", "pw", "enc.zip", "secret.txt"],
        None,
    );
    assert_eq!(made.code, 0, "zip (apt-get install zip): {}", made.stderr);
    let zip = std::fs::read(d.join("enc.zip")).unwrap();
    let req = instream(b"zINSTREAM\0", &zip, 100);
    for conf in [
        "AlertEncrypted yes\n",
        "AlertEncryptedArchive yes\n",
        "AlertEncryptedDoc yes\n",
        "",
    ] {
        let (clamd, ours) = (Daemon::clamd(conf), Daemon::bolwerk(conf));
        let (want, got) = (clamd.query(&req), ours.query(&req));
        crate::eqnice!(
            (conf, String::from_utf8_lossy(&want)),
            (conf, String::from_utf8_lossy(&got))
        );
    }
}

/// A scan cut short by the verification budget is never a silent OK: the
/// daemon logs a warning naming the file for every read path (SCAN,
/// MULTISCAN, INSTREAM), and with `AlertExceedsMax` answers clamd's
/// `Heuristics.Limits.Exceeded.MaxScanTime`. The pattern (an atom met at
/// every byte with a wide gap after it) is one clamscan refuses to load,
/// so there is no clamd reply to compare with.
#[test]
fn daemon_logs_scans_cut_short() {
    const RUNAWAY: (&str, &str) = ("runaway.ndb", "Test.Runaway:0:*:6161{0-2000}62\n");
    let files = Dir::new();
    let data = vec![b'a'; 300_000];
    let one = files.write("one/a.bin", &data);
    let many = files.write("many/b.bin", &data);
    let ours = Daemon::bolwerk_with("", &[RUNAWAY]);
    let scan = |cmd: &str, p: &Path| {
        let reply = ours.query(format!("z{cmd} {}\0", p.display()).as_bytes());
        String::from_utf8_lossy(&reply).into_owned()
    };
    crate::eqnice!(format!("{}: OK\0", one.display()), scan("SCAN", &one));
    crate::eqnice!(
        format!("{}: OK\0", many.parent().unwrap().display()),
        scan("MULTISCAN", many.parent().unwrap())
    );
    let stream = ours.query(&instream(b"zINSTREAM\0", &data, 4096));
    crate::eqnice!("stream: OK\0", String::from_utf8_lossy(&stream));
    let log = ours.log();
    for name in [
        one.display().to_string(),
        many.display().to_string(),
        "stream".into(),
    ] {
        let want = format!("WARNING: {name}: matching cut short by MaxScanTime");
        assert!(log.contains(&want), "no {want:?} in the log:\n{log}");
    }

    let alerting = Daemon::bolwerk_with("AlertExceedsMax yes\n", &[RUNAWAY]);
    let reply = alerting.query(format!("zSCAN {}\0", one.display()).as_bytes());
    crate::eqnice!(
        format!(
            "{}: Heuristics.Limits.Exceeded.MaxScanTime FOUND\0",
            one.display()
        ),
        String::from_utf8_lossy(&reply)
    );
}

/// The clean-result cache: a file found clean is answered from the cache
/// until the databases change; after RELOAD with a signature for it, both
/// clamd and bolwerk find it (a cache that outlived the reload would keep
/// answering OK). `DisableCache yes` is accepted as clamd accepts it.
#[test]
fn daemon_clean_cache_is_dropped_on_reload_as_clamd() {
    let files = Dir::new();
    let target = files.write(
        "cached/file.txt",
        "nothing yet, but a bolwerk-cache-probe marker\n",
    );
    let scan = format!("zSCAN {}\0", target.display());
    let ok = format!("{}: OK\0", target.display());
    let found = format!("{}: Cache.Probe.UNOFFICIAL FOUND\0", target.display());
    for conf in ["", "DisableCache yes\n"] {
        for d in [Daemon::clamd(conf), Daemon::bolwerk(conf)] {
            for _ in 0..3 {
                let reply = d.query(scan.as_bytes());
                crate::eqnice!(ok, String::from_utf8_lossy(&reply));
            }
            std::fs::write(
                d.db_dir().join("probe.ndb"),
                "Cache.Probe:0:*:626f6c7765726b2d63616368652d70726f6265\n",
            )
            .unwrap();
            assert_eq!(d.query(b"zRELOAD\0"), b"RELOADING\0");
            let start = Instant::now();
            let mut last = String::new();
            while start.elapsed() < START_TIMEOUT {
                last = String::from_utf8_lossy(&d.query(scan.as_bytes())).into_owned();
                if last == found {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            crate::eqnice!((conf, found.clone()), (conf, last));
        }
    }
}
