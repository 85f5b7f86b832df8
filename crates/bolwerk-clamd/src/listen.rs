//! Listening sockets: the configured Unix socket and TCP addresses, or
//! the sockets systemd passes (`LISTEN_PID`/`LISTEN_FDS`), which then take
//! the place of the configured ones.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::io::AsyncWrite;
use tokio::net::{TcpListener, TcpSocket, UnixListener};

use crate::config::Config;
use crate::conn::ReadHalf;
use crate::error::Error;

/// The first descriptor systemd passes.
const SD_LISTEN_FDS_START: RawFd = 3;

/// A listening socket.
pub enum Listener {
    /// A Unix socket.
    Unix(UnixListener),
    /// A TCP socket.
    Tcp(TcpListener),
}

/// An accepted connection: its reader and its writer.
pub type Accepted = (ReadHalf, Box<dyn AsyncWrite + Send + Unpin>);

impl Listener {
    /// Wait for the next connection.
    pub async fn accept(&self) -> std::io::Result<Accepted> {
        match self {
            Listener::Unix(l) => {
                let (s, _) = l.accept().await?;
                let (r, w) = s.into_split();
                Ok((ReadHalf::Unix(r), Box::new(w)))
            }
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                s.set_nodelay(true)?;
                let (r, w) = s.into_split();
                Ok((ReadHalf::Tcp(r), Box::new(w)))
            }
        }
    }
}

/// The listeners, and the socket file to remove at exit.
pub struct Bound {
    /// Listening sockets.
    pub listeners: Vec<Listener>,
    /// The Unix socket file created here (not one systemd made).
    pub socket_file: Option<PathBuf>,
}

/// Bind what the configuration asks for, or take systemd's sockets.
pub fn bind(config: &Config) -> Result<Bound, Error> {
    let activated = systemd_listeners()?;
    if !activated.is_empty() {
        return Ok(Bound {
            listeners: activated,
            socket_file: None,
        });
    }
    let mut listeners = Vec::new();
    let mut socket_file = None;
    if let Some(path) = &config.local_socket {
        listeners.push(Listener::Unix(bind_unix(path, config.local_socket_mode)?));
        socket_file = Some(path.clone());
    }
    for addr in config.tcp_listen_addrs() {
        listeners.push(Listener::Tcp(bind_tcp(addr, config.backlog)?));
    }
    if listeners.is_empty() {
        return Err(Error::setup(
            "no socket to listen on: set LocalSocket or TCPSocket (or --socket/--tcp)",
        ));
    }
    Ok(Bound {
        listeners,
        socket_file,
    })
}

fn bind_unix(path: &Path, mode: Option<u32>) -> Result<UnixListener, Error> {
    remove_stale(path)?;
    let l = UnixListener::bind(path)
        .map_err(|e| Error::io(format!("binding {}", path.display()), e))?;
    if let Some(mode) = mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(format!("setting the mode of {}", path.display()), e))?;
    }
    Ok(l)
}

/// Remove a socket file nobody listens on any more (clamd's
/// `FixStaleSocket`); refuse to take over one that answers.
fn remove_stale(path: &Path) -> Result<(), Error> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(Error::setup(format!(
            "{} exists and is not a socket",
            path.display()
        )));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(Error::setup(format!(
            "{} is in use by another daemon",
            path.display()
        )));
    }
    std::fs::remove_file(path)
        .map_err(|e| Error::io(format!("removing stale socket {}", path.display()), e))
}

fn bind_tcp(addr: SocketAddr, backlog: u32) -> Result<TcpListener, Error> {
    let ctx = || format!("binding {addr}");
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| Error::io(ctx(), e))?;
    sock.set_reuseaddr(true).map_err(|e| Error::io(ctx(), e))?;
    sock.bind(addr).map_err(|e| Error::io(ctx(), e))?;
    sock.listen(backlog).map_err(|e| Error::io(ctx(), e))
}

/// Sockets passed by systemd socket activation, when they are meant for
/// this process.
fn systemd_listeners() -> Result<Vec<Listener>, Error> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let count: RawFd = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if !pid_ok || count <= 0 {
        return Ok(Vec::new());
    }
    (SD_LISTEN_FDS_START..SD_LISTEN_FDS_START + count)
        .map(adopt)
        .collect()
}

/// Take ownership of one passed listening socket.
fn adopt(fd: RawFd) -> Result<Listener, Error> {
    let ctx = || format!("socket {fd} passed by systemd");
    let family = socket_family(fd).map_err(|e| Error::io(ctx(), e))?;
    if family == libc::AF_UNIX {
        // SAFETY: systemd passed this descriptor to this process (checked
        // through LISTEN_PID); nothing else in the process owns it.
        let std = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
        std.set_nonblocking(true).map_err(|e| Error::io(ctx(), e))?;
        return UnixListener::from_std(std)
            .map(Listener::Unix)
            .map_err(|e| Error::io(ctx(), e));
    }
    // SAFETY: as above.
    let std = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    std.set_nonblocking(true).map_err(|e| Error::io(ctx(), e))?;
    TcpListener::from_std(std)
        .map(Listener::Tcp)
        .map_err(|e| Error::io(ctx(), e))
}

fn socket_family(fd: RawFd) -> std::io::Result<libc::c_int> {
    // SAFETY: sockaddr_storage is plain data, large enough for any family.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: addr and len describe a live buffer of that size.
    let rc = unsafe { libc::getsockname(fd, (&raw mut addr).cast(), &mut len) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(libc::c_int::from(addr.ss_family))
}
