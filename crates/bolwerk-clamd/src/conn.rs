//! The reading side of one client connection: a buffer, command framing,
//! INSTREAM chunks, and file descriptors passed over a Unix socket.
//!
//! On a Unix socket every read is a `recvmsg`, because a descriptor sent
//! with FILDES rides on the byte after the command; a plain `read` would
//! consume that byte and silently close the descriptor. Descriptors are
//! queued (at most [`MAX_PENDING_FDS`]) until a FILDES command takes one.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::io::{AsyncReadExt, Interest};
use tokio::net::{tcp, unix};

use crate::protocol::Delim;
use crate::spool::Spool;

/// Longest command accepted (a path of `PATH_MAX` and the command word).
pub const MAX_COMMAND: usize = 4096 + 32;
/// Descriptors held for one connection before further ones are closed.
pub const MAX_PENDING_FDS: usize = 8;
/// Bytes asked of the socket per read.
const READ_SIZE: usize = 64 << 10;

/// The read half of a client connection.
pub enum ReadHalf {
    /// A Unix socket (descriptors may arrive).
    Unix(unix::OwnedReadHalf),
    /// A TCP connection.
    Tcp(tcp::OwnedReadHalf),
}

/// Why a command or stream could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection.
    Eof,
    /// A command longer than [`MAX_COMMAND`].
    TooLong,
    /// The socket failed or timed out.
    Io,
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> ReadError {
        ReadError::Io
    }
}

/// What an INSTREAM turned out to be.
pub enum StreamEnd {
    /// The zero-length chunk arrived.
    Complete,
    /// A chunk would take the stream past the limit.
    TooLarge,
}

/// A connection's reader.
pub struct Reader {
    half: ReadHalf,
    buf: Vec<u8>,
    start: usize,
    fds: VecDeque<OwnedFd>,
}

impl Reader {
    /// A reader over one half of a connection.
    pub fn new(half: ReadHalf) -> Reader {
        Reader {
            half,
            buf: Vec::with_capacity(1024),
            start: 0,
            fds: VecDeque::new(),
        }
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// Read more bytes from the socket; `Eof` when it is closed.
    async fn fill(&mut self) -> Result<(), ReadError> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_SIZE, 0);
        let res = match &mut self.half {
            ReadHalf::Tcp(t) => t.read(&mut self.buf[old..]).await,
            ReadHalf::Unix(u) => {
                let stream: &tokio::net::UnixStream = u.as_ref();
                let (buf, fds) = (&mut self.buf[old..], &mut self.fds);
                stream
                    .async_io(Interest::READABLE, || {
                        recv_with_fds(stream.as_raw_fd(), buf, fds)
                    })
                    .await
            }
        };
        let n = res.inspect_err(|_| self.buf.truncate(old))?;
        self.buf.truncate(old + n);
        if n == 0 {
            return Err(ReadError::Eof);
        }
        Ok(())
    }

    /// Read one command: its delimiter and its text. `first` allows the
    /// old unprefixed style (the whole first packet is the command).
    /// NUL bytes before a command (the byte that carried a FILDES
    /// descriptor) are skipped.
    pub async fn command(&mut self, first: bool) -> Result<(Delim, Vec<u8>), ReadError> {
        loop {
            let skip = self.pending().iter().take_while(|b| **b == 0).count();
            self.consume(skip);
            if !self.pending().is_empty() {
                break;
            }
            self.fill().await?;
        }
        let Some(delim) = Delim::from_prefix(self.pending()[0]) else {
            return Ok((Delim::Newline, self.bare_command(first)));
        };
        loop {
            if let Some(end) = memchr(delim.byte(), &self.pending()[1..]) {
                let cmd = self.pending()[1..1 + end].to_vec();
                self.consume(end + 2);
                return Ok((delim, cmd));
            }
            if self.pending().len() > MAX_COMMAND {
                return Err(ReadError::TooLong);
            }
            self.fill().await?;
        }
    }

    /// The old unprefixed style: the whole first packet, without its
    /// line end. Inside a session it is not a command at all.
    fn bare_command(&mut self, first: bool) -> Vec<u8> {
        let mut cmd = if first {
            self.pending().to_vec()
        } else {
            Vec::new()
        };
        self.consume(self.pending().len());
        while cmd.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            cmd.pop();
        }
        cmd
    }

    async fn take(&mut self, n: usize) -> Result<&[u8], ReadError> {
        while self.pending().is_empty() {
            self.fill().await?;
        }
        let take = n.min(self.pending().len());
        let start = self.start;
        self.consume_keep(take);
        Ok(&self.buf[start..start + take])
    }

    /// Like [`consume`](Self::consume), but keeps the bytes readable until
    /// the next fill.
    fn consume_keep(&mut self, n: usize) {
        self.start += n;
    }

    async fn chunk_len(&mut self) -> Result<u32, ReadError> {
        while self.pending().len() < 4 {
            self.fill().await?;
        }
        let b = self.pending();
        let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        self.consume(4);
        Ok(len)
    }

    /// Read INSTREAM chunks into `spool` until the zero-length chunk, or
    /// until a chunk would pass `limit` bytes in all. Every socket read is
    /// bounded by `timeout`.
    pub async fn stream(
        &mut self,
        spool: &mut Spool,
        limit: u64,
        timeout: std::time::Duration,
    ) -> Result<StreamEnd, ReadError> {
        loop {
            let len = tokio::time::timeout(timeout, self.chunk_len())
                .await
                .map_err(|_| ReadError::Io)??;
            if len == 0 {
                return Ok(StreamEnd::Complete);
            }
            if spool.len() + u64::from(len) > limit {
                return Ok(StreamEnd::TooLarge);
            }
            let mut left = len as usize;
            while left > 0 {
                let data = tokio::time::timeout(timeout, self.take(left))
                    .await
                    .map_err(|_| ReadError::Io)??;
                left -= data.len();
                spool.write(data)?;
            }
        }
    }

    /// The next descriptor passed over the socket, waiting for it when it
    /// has not arrived yet; `None` on a TCP connection.
    pub async fn fd(&mut self) -> Result<Option<OwnedFd>, ReadError> {
        if matches!(self.half, ReadHalf::Tcp(_)) {
            return Ok(None);
        }
        loop {
            if let Some(fd) = self.fds.pop_front() {
                return Ok(Some(fd));
            }
            if self.pending().len() > MAX_COMMAND {
                return Ok(None);
            }
            self.fill().await?;
        }
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == needle)
}

/// Room for the control message of [`MAX_PENDING_FDS`] descriptors.
const CMSG_SPACE: usize = 128;

/// One `recvmsg` on a non-blocking socket, queueing any descriptors.
fn recv_with_fds(fd: RawFd, buf: &mut [u8], fds: &mut VecDeque<OwnedFd>) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64s keep the control buffer aligned for cmsghdr.
    let mut control = [0u64; CMSG_SPACE / 8];
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_SPACE as _;
    // SAFETY: msg points at live buffers of the stated lengths.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    collect_fds(&msg, fds);
    Ok(n as usize)
}

/// Take ownership of every descriptor in the control messages (closing
/// those beyond the per-connection bound).
fn collect_fds(msg: &libc::msghdr, fds: &mut VecDeque<OwnedFd>) {
    // SAFETY: msg was filled by recvmsg; the CMSG_* macros walk its
    // control buffer within msg_controllen.
    let mut c = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !c.is_null() {
        // SAFETY: c is a valid header inside the control buffer.
        let h = unsafe { &*c };
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: as above; CMSG_LEN(0) is the header size.
            let header = unsafe { libc::CMSG_LEN(0) } as usize;
            let count = (h.cmsg_len as usize).saturating_sub(header) / size_of::<libc::c_int>();
            // SAFETY: the data of an SCM_RIGHTS message is `count` ints.
            let data = unsafe { libc::CMSG_DATA(c) }.cast::<libc::c_int>();
            for i in 0..count {
                // SAFETY: i < count; each is a descriptor the kernel just
                // installed in this process and that nobody else owns.
                let owned = unsafe { OwnedFd::from_raw_fd(data.add(i).read_unaligned()) };
                if fds.len() < MAX_PENDING_FDS {
                    fds.push_back(owned);
                }
            }
        }
        // SAFETY: walks to the next header or null.
        c = unsafe { libc::CMSG_NXTHDR(msg, c) };
    }
}
