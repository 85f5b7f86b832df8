//! No egress: a seccomp filter that keeps a scanning process off the network.
//!
//! The scanner reads hostile bytes. Should a parser ever be exploited, the
//! process it runs in must still be unable to send what it reads anywhere.
//! [`confine`] installs a seccomp-bpf filter (built with the `seccompiler`
//! crate) on every thread of the process (`SECCOMP_FILTER_FLAG_TSYNC`, so
//! threads started before it, such as the daemon's runtime, are covered as
//! well as those started after it). Once installed it cannot be removed,
//! and it is inherited by any child process.
//!
//! seccomp sees a system call's arguments but cannot read the memory they
//! point to, so it cannot inspect the address given to `connect`. The filter
//! therefore acts where the address family is a plain integer, on `socket`:
//!
//! * `socket(domain, ..)` with any domain but `AF_UNIX` fails with `EACCES`:
//!   no new TCP, UDP, raw, netlink, packet, vsock … socket can be made, so
//!   there is nothing to `connect` or `sendto` with. Sockets made before the
//!   filter stay usable: the daemon binds its listeners first and `accept`
//!   on them still works (accepted connections are inbound).
//! * `io_uring_setup`, `io_uring_enter`, `io_uring_register` fail, because
//!   io_uring can open sockets without the `socket` system call.
//! * `ptrace` and `process_vm_writev` fail, so the process cannot steer an
//!   unconfined process of the same user into connecting for it.
//! * On x86-64, the x32 ABI's `socket` fails too, and a system call made
//!   through any other ABI (32-bit `int 0x80`, whose `socketcall` would carry
//!   the domain in memory) kills the process: the filter checks the
//!   architecture first.
//!
//! Unix sockets stay allowed: the daemon serves clients on one, and a Unix
//! socket reaches only this machine. On systems without seccomp (or other
//! operating systems) [`confine`] reports that it could not confine, and
//! [`status`] says what the process can do.

#![deny(missing_docs)]

#[cfg(target_os = "linux")]
mod linux;

use std::fmt;

/// Why the filter could not be installed.
#[derive(Debug)]
pub struct Error {
    message: String,
}

impl Error {
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    fn unsupported() -> Error {
        Error {
            message: format!(
                "seccomp filters are not available on {}",
                std::env::consts::OS
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Installs the no-egress filter on every thread of the process.
///
/// Call it after setup (databases loaded, listeners bound, log files
/// opened). Installing it twice stacks a second, identical filter, which is
/// harmless.
pub fn confine() -> Result<(), Error> {
    #[cfg(target_os = "linux")]
    {
        linux::install().map_err(|message| Error { message })
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(Error::unsupported())
    }
}

/// What this process can do, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Whether this platform has the filter at all.
    pub supported: bool,
    /// Seccomp filters in force on this thread (`Seccomp_filters` in
    /// `/proc/self/status`), when the kernel says.
    pub filters: Option<u32>,
    /// Whether `no_new_privs` is set (it is once a filter is installed).
    pub no_new_privs: Option<bool>,
}

/// Reads the current thread's confinement from `/proc/thread-self/status`.
pub fn status() -> Status {
    let text = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    Status {
        supported: cfg!(target_os = "linux") && linux_arch_supported(),
        filters: field("Seccomp_filters:"),
        no_new_privs: field("NoNewPrivs:").map(|v| v == 1),
    }
}

fn linux_arch_supported() -> bool {
    matches!(std::env::consts::ARCH, "x86_64" | "aarch64" | "riscv64")
}

/// The rules the filter applies, one line each, for `bolwerk doctor`.
pub const RULES: &[&str] = &[
    "socket() for any family but AF_UNIX: refused (EACCES); no TCP/UDP/raw/netlink socket can be made",
    "sockets made before the filter (listeners) keep working; accept() serves inbound clients",
    "io_uring_setup/enter/register: refused (EACCES)",
    "ptrace, process_vm_writev: refused (EACCES)",
    "system calls through another ABI (32-bit, x32 socket): refused or the process is killed",
    "Unix sockets: allowed (they reach only this machine)",
];
