//! The filter itself, built with `seccompiler` and installed on all threads.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// The x32 ABI marks its system call numbers with this bit (x86-64 only).
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: i64 = 0x4000_0000;

/// Builds and installs the filter with TSYNC.
pub(crate) fn install() -> Result<(), String> {
    let program = program()?;
    seccompiler::apply_filter_all_threads(&program)
        .map_err(|e| format!("installing the seccomp filter: {e}"))
}

fn program() -> Result<BpfProgram, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|_| format!("no seccomp filter for {}", std::env::consts::ARCH))?;
    let filter = SeccompFilter::new(
        rules()?,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EACCES as u32),
        arch,
    )
    .map_err(|e| format!("building the seccomp filter: {e}"))?;
    BpfProgram::try_from(filter).map_err(|e| format!("compiling the seccomp filter: {e}"))
}

/// System call → rules; a call matching any rule is refused, an empty rule
/// list refuses it always.
fn rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, String> {
    let not_unix = SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Ne,
        libc::AF_UNIX as u64,
    )
    .and_then(|c| SeccompRule::new(vec![c]))
    .map_err(|e| format!("building the seccomp filter: {e}"))?;
    let mut rules = BTreeMap::new();
    rules.insert(libc::SYS_socket, vec![not_unix]);
    for always in [
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_ptrace,
        libc::SYS_process_vm_writev,
    ] {
        rules.insert(always, Vec::new());
    }
    #[cfg(target_arch = "x86_64")]
    rules.insert(X32_SYSCALL_BIT | libc::SYS_socket, Vec::new());
    Ok(rules)
}

#[cfg(test)]
mod tests {
    //! Each test that installs the filter runs in a child process (this
    //! test binary run again with one test selected), because the filter
    //! would otherwise confine every other test of the binary too.

    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream, UdpSocket};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::process::Command;

    const CHILD: &str = "BOLWERK_SANDBOX_TEST_CHILD";

    /// Runs `name` in a child process with `env` set; returns its output.
    fn in_child(name: &str, env: &[(&str, String)]) -> String {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child {name} failed:\n{text}");
        text
    }

    fn is_child() -> bool {
        std::env::var_os(CHILD).is_some()
    }

    #[test]
    fn filter_compiles_for_this_machine() {
        let program = super::program().unwrap();
        assert!(program.len() > 10, "{} instructions", program.len());
    }

    /// A thread started before the filter, and one after, both fail to
    /// connect to a listener on 127.0.0.1 that the parent holds open, while
    /// a Unix socket still connects and carries bytes.
    #[test]
    fn confined_process_cannot_connect_to_loopback() {
        if !is_child() {
            let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
            tcp.set_nonblocking(true).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let sock = dir.path().join("s");
            let unix = UnixListener::bind(&sock).unwrap();
            let server = std::thread::spawn(move || {
                let (mut c, _) = unix.accept().unwrap();
                c.write_all(b"pong").unwrap();
            });
            let env = [
                ("PROBE_TCP", tcp.local_addr().unwrap().to_string()),
                ("PROBE_UNIX", sock.display().to_string()),
            ];
            let out = in_child(
                "linux::tests::confined_process_cannot_connect_to_loopback",
                &env,
            );
            server.join().unwrap();
            assert!(out.contains("unix ok"), "{out}");
            assert!(
                tcp.accept().is_err(),
                "a connection reached the listener:\n{out}"
            );
            return;
        }
        let tcp = std::env::var("PROBE_TCP").unwrap();
        let early = {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let tcp = tcp.clone();
            let t = std::thread::spawn(move || {
                rx.recv().unwrap();
                TcpStream::connect(tcp.as_str()).map(|_| ())
            });
            (tx, t)
        };
        super::install().unwrap();
        let err = TcpStream::connect(tcp.as_str()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err}");
        early.0.send(()).unwrap();
        let err = early.1.join().unwrap().unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(libc::EACCES),
            "thread started before: {err}"
        );
        let later = std::thread::spawn(move || TcpStream::connect(tcp.as_str()).map(|_| ()));
        assert!(later.join().unwrap().is_err(), "thread started after");
        assert!(UdpSocket::bind("127.0.0.1:0").is_err(), "UDP socket made");
        assert!(TcpListener::bind("[::1]:0").is_err(), "IPv6 socket made");
        let mut s = UnixStream::connect(std::env::var("PROBE_UNIX").unwrap()).unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).unwrap();
        assert_eq!(buf, "pong");
        println!("unix ok");
    }

    /// The control for the test above: without the filter the same connect
    /// succeeds, so the refusal comes from the filter and not the machine.
    #[test]
    fn unconfined_process_connects() {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        TcpStream::connect(tcp.local_addr().unwrap()).unwrap();
    }

    /// A listener bound before the filter still accepts connections.
    #[test]
    fn listener_bound_before_still_accepts() {
        if !is_child() {
            in_child("linux::tests::listener_bound_before_still_accepts", &[]);
            return;
        }
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        // Connected before the filter: stands for a client in another process.
        let mut client = TcpStream::connect(tcp.local_addr().unwrap()).unwrap();
        super::install().unwrap();
        assert_eq!(crate::status().filters.map(|n| n > 0), Some(true));
        assert_eq!(crate::status().no_new_privs, Some(true));
        let (mut conn, _) = tcp.accept().unwrap();
        conn.write_all(b"x").unwrap();
        let mut buf = [0u8; 1];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"x");
    }
}
