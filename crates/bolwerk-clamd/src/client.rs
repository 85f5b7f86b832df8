//! The client side of clamd's protocol, as `clamdscan` speaks it: one
//! connection per request, `z`-framed commands, NUL-separated replies read
//! to the end. Used by `bolwerk clamdscan`; it talks to bolwerk's daemon
//! and to ClamAV's clamd alike.
//!
//! The endpoint comes from `clamd.conf` as clamdscan takes it: `LocalSocket`
//! when set, else `TCPSocket` on the first `TCPAddr` (loopback by default).
//! A TCP address that is not loopback is refused: the client reaches a
//! daemon on this machine and opens no connection beyond it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;

/// How long a reply may take to start (a scan of a large tree is slow).
const REPLY_TIMEOUT: Duration = Duration::from_secs(3600);

/// Bytes per INSTREAM chunk.
const CHUNK: usize = 64 << 10;

/// Where the daemon listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket.
    Unix(PathBuf),
    /// TCP on this machine.
    Tcp(SocketAddr),
}

impl Endpoint {
    /// The endpoint `clamd.conf` names: `LocalSocket`, else `TCPSocket` on
    /// the first `TCPAddr` (loopback when none). `Err` when neither is set
    /// or the address is not a loopback address.
    pub fn from_config(config: &Config) -> Result<Endpoint, String> {
        if let Some(path) = &config.local_socket {
            return Ok(Endpoint::Unix(path.clone()));
        }
        let Some(port) = config.tcp_port else {
            return Err("clamd.conf sets neither LocalSocket nor TCPSocket".into());
        };
        let ip = config
            .tcp_addrs
            .first()
            .copied()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        if !ip.is_loopback() {
            return Err(format!(
                "TCPAddr {ip} is not a loopback address; bolwerk clamdscan reaches only a daemon on this machine"
            ));
        }
        Ok(Endpoint::Tcp(SocketAddr::new(ip, port)))
    }

    /// How clamdscan names it in an error.
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Unix(p) => format!("LocalSocket {}", p.display()),
            Endpoint::Tcp(a) => format!("{}:{}", a.ip(), a.port()),
        }
    }

    /// Open a connection.
    pub fn connect(&self) -> io::Result<Conn> {
        let conn = match self {
            Endpoint::Unix(p) => Conn::Unix(UnixStream::connect(p)?),
            Endpoint::Tcp(a) => Conn::Tcp(TcpStream::connect(a)?),
        };
        conn.set_timeout(Some(REPLY_TIMEOUT))?;
        Ok(conn)
    }
}

/// One connection to the daemon.
#[derive(Debug)]
pub enum Conn {
    /// Over a Unix socket.
    Unix(UnixStream),
    /// Over TCP.
    Tcp(TcpStream),
}

impl Conn {
    fn set_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.set_read_timeout(t),
            Conn::Tcp(s) => s.set_read_timeout(t),
        }
    }

    fn stream(&mut self) -> &mut dyn ReadWrite {
        match self {
            Conn::Unix(s) => s,
            Conn::Tcp(s) => s,
        }
    }

    /// Send `z<command>\0`.
    pub fn send_command(&mut self, command: &str) -> io::Result<()> {
        let mut msg = Vec::with_capacity(command.len() + 2);
        msg.push(b'z');
        msg.extend_from_slice(command.as_bytes());
        msg.push(0);
        self.stream().write_all(&msg)
    }

    /// Read replies to the end of the connection, one per NUL-terminated
    /// message, without the NUL.
    pub fn replies(mut self) -> io::Result<Vec<String>> {
        let mut all = Vec::new();
        self.stream().read_to_end(&mut all)?;
        Ok(all
            .split(|&b| b == 0)
            .filter(|r| !r.is_empty())
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect())
    }

    /// Send a command and read its replies.
    pub fn request(mut self, command: &str) -> io::Result<Vec<String>> {
        self.send_command(command)?;
        self.replies()
    }

    /// INSTREAM: the command, `data` in length-prefixed chunks, the empty
    /// chunk; then the replies. A daemon that stops reading (its size limit)
    /// has replied already; its reply is returned.
    pub fn instream(mut self, data: &mut dyn Read) -> io::Result<Vec<String>> {
        self.send_command("INSTREAM")?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match data.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let len = u32::try_from(n).expect("chunks are small").to_be_bytes();
            let sent = self
                .stream()
                .write_all(&len)
                .and_then(|()| self.stream().write_all(&buf[..n]));
            if let Err(e) = sent {
                return match e.kind() {
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => self.replies(),
                    _ => Err(e),
                };
            }
            if n == 0 {
                return self.replies();
            }
        }
    }

    /// FILDES: the command, then `file`'s descriptor in an `SCM_RIGHTS`
    /// message (Unix sockets only).
    pub fn fildes(mut self, file: &File) -> io::Result<Vec<String>> {
        let Conn::Unix(sock) = &self else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "descriptors pass only over a Unix socket",
            ));
        };
        let sock_fd = sock.as_raw_fd();
        self.send_command("FILDES")?;
        send_fd(sock_fd, file.as_raw_fd())?;
        self.replies()
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Send one byte with `fd` attached.
fn send_fd(sock: i32, fd: i32) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // u64s keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; 4];
    // SAFETY: CMSG_SPACE is a pure computation on a constant size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) } as usize;
    debug_assert!(space <= std::mem::size_of_val(&control));
    // SAFETY: an all-zero msghdr is a valid empty message.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg_control points at `control`, large enough for one
    // SCM_RIGHTS header and one int (checked above); CMSG_FIRSTHDR is
    // non-null for a buffer of that size.
    unsafe {
        let h = libc::CMSG_FIRSTHDR(&msg);
        (*h).cmsg_level = libc::SOL_SOCKET;
        (*h).cmsg_type = libc::SCM_RIGHTS;
        (*h).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(h).cast::<i32>(), fd);
    }
    // SAFETY: msg and everything it points to live across the call.
    let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A reply without its `PREFIX: ` (the path, `stream` or `fd[N]`), split
/// into the message and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `OK`.
    Clean,
    /// `NAME FOUND`.
    Found(String),
    /// `MESSAGE ERROR`.
    Error(String),
    /// Anything else (a daemon's other replies).
    Other(String),
}

/// Split a scan reply `PREFIX: RESULT` at its last `": "` before the
/// result; the prefix is a path, which may itself hold `": "`.
pub fn parse_reply(reply: &str) -> (&str, Verdict) {
    let (prefix, rest) = split_prefix(reply);
    let verdict = if rest == "OK" {
        Verdict::Clean
    } else if let Some(name) = rest.strip_suffix(" FOUND") {
        Verdict::Found(name.to_string())
    } else if let Some(msg) = rest.strip_suffix(" ERROR") {
        Verdict::Error(msg.to_string())
    } else {
        Verdict::Other(rest.to_string())
    };
    (prefix, verdict)
}

fn split_prefix(reply: &str) -> (&str, &str) {
    // The result is a single word (OK), a signature name and FOUND (names
    // hold no ": "), or a message and ERROR: split at the last ": ".
    match reply.rfind(": ") {
        Some(i) => (&reply[..i], &reply[i + 2..]),
        None => ("", reply),
    }
}

/// `path` made absolute against the working directory and, when it
/// exists, with symbolic links, `.` and `..` resolved (as clamdscan sends
/// paths).
pub fn absolute(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    std::fs::canonicalize(&abs).unwrap_or(abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_split_at_the_last_separator() {
        assert_eq!(parse_reply("/a/b: OK"), ("/a/b", Verdict::Clean));
        assert_eq!(
            parse_reply("/a: b/c: Eicar-Test-Signature FOUND"),
            ("/a: b/c", Verdict::Found("Eicar-Test-Signature".into()))
        );
        assert_eq!(
            parse_reply("stream: INSTREAM size limit exceeded. ERROR"),
            (
                "stream",
                Verdict::Error("INSTREAM size limit exceeded.".into())
            )
        );
        assert_eq!(parse_reply("PONG"), ("", Verdict::Other("PONG".into())));
    }

    #[test]
    fn endpoints_from_the_configuration() {
        let c = Config::parse("LocalSocket /run/c.sock\nTCPSocket 3310\n")
            .unwrap()
            .config;
        assert_eq!(
            Endpoint::from_config(&c),
            Ok(Endpoint::Unix("/run/c.sock".into()))
        );
        let c = Config::parse("TCPSocket 3310\n").unwrap().config;
        assert_eq!(
            Endpoint::from_config(&c),
            Ok(Endpoint::Tcp("127.0.0.1:3310".parse().unwrap()))
        );
        let c = Config::parse("TCPSocket 3310\nTCPAddr 192.0.2.1\n")
            .unwrap()
            .config;
        assert!(Endpoint::from_config(&c).unwrap_err().contains("loopback"));
        let c = Config::parse("").unwrap().config;
        assert!(Endpoint::from_config(&c).is_err());
    }
}
