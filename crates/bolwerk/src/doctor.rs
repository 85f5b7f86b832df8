//! `bolwerk doctor`: what a bolwerk process can and cannot do on this
//! machine, shown by doing it.
//!
//! It confines itself exactly as `scan`, `clamscan` and `daemon` do after
//! setup ([`confine_scan`]), then tries what an exploited scanner would try
//! (make an IPv4, IPv6 and UDP socket, connect to an address given with
//! `--probe`) and what it must still do (a Unix socket), and reports each
//! outcome. It also says whether this build links an HTTP client at all.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use clap::Args;

/// The doctor's options.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Also try to connect to this address (e.g. 127.0.0.1:80) once confined.
    #[arg(long, value_name = "ADDR:PORT")]
    pub probe: Option<SocketAddr>,
}

/// Confines a scanning process after setup; says so on stderr if it cannot.
pub fn confine_scan() {
    if let Err(e) = bolwerk_sandbox::confine() {
        eprintln!("WARNING: no-egress filter not installed: {e}");
    }
}

/// Whether this binary was built with an HTTP client (`update --from URL`).
pub const HTTP_CLIENT: bool = cfg!(feature = "http");

/// Print the report; exit 1 if the confined process could reach the network.
pub fn run(args: DoctorArgs) -> anyhow::Result<u8> {
    println!(
        "bolwerk {} on {} {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    print_build();
    let confined = bolwerk_sandbox::confine();
    match &confined {
        Ok(()) => {
            println!("No-egress filter: installed (as scan, clamscan and daemon do after setup)")
        }
        Err(e) => println!("No-egress filter: NOT installed: {e}"),
    }
    for rule in bolwerk_sandbox::RULES {
        println!("  rule: {rule}");
    }
    let status = bolwerk_sandbox::status();
    if let Some(n) = status.filters {
        println!(
            "  kernel: {n} seccomp filter(s) on this thread, no_new_privs={}",
            status.no_new_privs.unwrap_or(false)
        );
    }
    let leaks = probes(&args).into_iter().filter(|p| p.print()).count();
    Ok(if confined.is_ok() && leaks == 0 { 0 } else { 1 })
}

fn print_build() {
    if HTTP_CLIENT {
        println!("HTTP client: linked into this binary (feature \"http\"), used only by `update --from URL`");
    } else {
        println!("HTTP client: none linked (built without feature \"http\"); updates come from a directory");
    }
    println!("Telemetry: none; scan, clamscan and daemon open no outbound connection");
}

/// One attempt and what came of it.
struct Probe {
    what: String,
    /// Whether success means the network is reachable (a leak).
    egress: bool,
    result: std::io::Result<()>,
}

impl Probe {
    /// Prints the outcome; true when it is a leak.
    fn print(&self) -> bool {
        let verdict = match (&self.result, self.egress) {
            (Ok(()), true) => "POSSIBLE: the network is reachable".to_string(),
            (Ok(()), false) => "possible".to_string(),
            (Err(e), _) if e.kind() == ErrorKind::PermissionDenied => format!("refused ({e})"),
            (Err(e), _) => format!("failed ({e})"),
        };
        println!("{:<44} {verdict}", self.what);
        self.egress && self.result.is_ok()
    }
}

fn probes(args: &DoctorArgs) -> Vec<Probe> {
    let mut out = vec![
        Probe {
            what: "make an IPv4 TCP socket".into(),
            egress: true,
            result: tcp_socket("0.0.0.0:0"),
        },
        Probe {
            what: "make an IPv6 TCP socket".into(),
            egress: true,
            result: tcp_socket("[::]:0"),
        },
        Probe {
            what: "make a UDP socket".into(),
            egress: true,
            result: UdpSocket::bind("0.0.0.0:0").map(drop),
        },
        Probe {
            what: "make a Unix socket pair".into(),
            egress: false,
            result: UnixStream::pair().map(drop),
        },
    ];
    if let Some(addr) = args.probe {
        out.push(Probe {
            what: format!("connect to {addr}"),
            egress: true,
            result: TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map(drop),
        });
    }
    out
}

/// Binding a listener makes the socket the same way `connect` would.
fn tcp_socket(addr: &str) -> std::io::Result<()> {
    std::net::TcpListener::bind(addr).map(drop)
}
