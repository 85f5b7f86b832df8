//! The daemon: listeners, one task per connection, sessions, signals and
//! the database self-check.
//!
//! A connection is served by an async task; only scans take a thread, from
//! the bounded [`Pool`]. Outside a session a connection carries one
//! command and its reply, then closes. Inside `IDSESSION` commands are read
//! one after another while earlier ones are still being scanned; each
//! reply carries its request's number and replies may come out of order,
//! as with clamd. Every wait on a client is bounded: `CommandReadTimeout`
//! for the first command, `IdleTimeout` between session commands,
//! `ReadTimeout` for each read of stream data.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;

use bolwerk_scan::ScanSettings;
use regex::RegexSet;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, Mutex, Semaphore};
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::config::Config;
use crate::conn::{ReadError, Reader, StreamEnd};
use crate::database::{Database, DbSpec};
use crate::error::Error;
use crate::listen::{bind, Listener};
use crate::log::Log;
use crate::pool::Pool;
use crate::protocol::{self, push_line, reply, Command, Delim};
use crate::scan::{scan_fd, scan_path, scan_stream, stream_name, PathMode, PathPolicy};
use crate::spool::Spool;

/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 1024;
/// Requests of one session in flight at once; the session reads no
/// further command until one finishes.
const MAX_SESSION_IN_FLIGHT: usize = 64;

type Writer = Arc<Mutex<Box<dyn AsyncWrite + Send + Unpin>>>;

/// What every connection shares.
struct Shared {
    config: Config,
    db: Arc<Database>,
    pool: Pool,
    log: Arc<Log>,
    policy: PathPolicy,
    shutdown: watch::Sender<bool>,
}

/// Run the daemon until `SHUTDOWN`, SIGTERM or SIGINT.
pub fn serve(config: Config, log: Log) -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(config.max_threads + 2)
        .thread_name("bolwerk-clamd")
        .build()
        .map_err(|e| Error::io("starting the runtime", e))?;
    rt.block_on(run(config, Arc::new(log)))
}

async fn run(config: Config, log: Arc<Log>) -> Result<(), Error> {
    let bound = bind(&config)?;
    let shared = Arc::new(shared(config, log)?);
    for l in bound.listeners {
        tokio::spawn(accept_loop(shared.clone(), l));
    }
    spawn_signals(&shared)?;
    spawn_self_check(&shared);
    confine(&shared.log);
    shared.log.line(&format!(
        "bolwerk {} daemon ready ({} signatures)",
        env!("CARGO_PKG_VERSION"),
        shared.db.current().engine.known_signatures()
    ));
    let mut rx = shared.shutdown.subscribe();
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            break;
        }
    }
    if let Some(p) = bound.socket_file {
        let _ = std::fs::remove_file(p);
    }
    shared.log.line("Shutting down");
    Ok(())
}

/// Setup is done (listeners bound, databases loaded, signals handled):
/// from here on no thread of the daemon can open a network socket.
fn confine(log: &Log) {
    match bolwerk_sandbox::confine() {
        Ok(()) => log.line("No-egress filter installed: only Unix sockets can be opened"),
        Err(e) => log.line(&format!("WARNING: no-egress filter not installed: {e}")),
    }
}

fn shared(config: Config, log: Arc<Log>) -> Result<Shared, Error> {
    let spec = DbSpec {
        paths: config.databases.clone(),
        builtin: config.builtin,
        detect_pua: config.detect_pua,
        cache: config.cache,
        rules: config.rules.clone(),
        clean_cache: config.clean_cache,
    };
    let db = Arc::new(Database::open(spec, log.clone())?);
    let exclude = if config.exclude_paths.is_empty() {
        None
    } else {
        Some(
            RegexSet::new(&config.exclude_paths)
                .map_err(|e| Error::setup(format!("ExcludePath: {e}")))?,
        )
    };
    let settings = ScanSettings {
        limits: config.limits.clone(),
        alert_exceeds_max: config.alert_exceeds_max,
        alert_encrypted_archive: config.alert_encrypted_archive,
        alert_encrypted_doc: config.alert_encrypted_doc,
        no_html: !config.scan_html,
        ..ScanSettings::default()
    };
    let policy = PathPolicy {
        settings,
        exclude,
        follow_dirs: config.follow_dir_symlinks,
        follow_files: config.follow_file_symlinks,
        threads: config.max_threads,
    };
    Ok(Shared {
        pool: Pool::new(config.max_threads, config.max_queue),
        db,
        log,
        policy,
        shutdown: watch::channel(false).0,
        config,
    })
}

async fn accept_loop(shared: Arc<Shared>, listener: Listener) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut stop = shared.shutdown.subscribe();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((r, w)) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    connection(shared, Reader::new(r), Arc::new(Mutex::new(w))).await;
                    drop(slot);
                });
            }
            Err(e) => {
                shared.log.line(&format!("ERROR: accept: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serve one connection.
async fn connection(shared: Arc<Shared>, mut reader: Reader, writer: Writer) {
    let first = timeout(shared.config.command_read_timeout, reader.command(true)).await;
    let (delim, text) = match first {
        Err(_) => {
            let mut out = Vec::new();
            push_line(
                &mut out,
                None,
                reply::COMMAND_READ_TIMED_OUT,
                Delim::Newline,
            );
            write(&writer, &out).await;
            return close(&writer).await;
        }
        Ok(Err(ReadError::TooLong)) => (Delim::Newline, Vec::new()),
        Ok(Err(_)) => return,
        Ok(Ok(c)) => c,
    };
    let cmd = protocol::parse(&text);
    if cmd == Command::IdSession {
        session(&shared, &mut reader, &writer).await;
    } else {
        let job = prepare(&shared, &mut reader, cmd, None).await;
        let out = execute(&shared, job, None, delim).await;
        write(&writer, &out).await;
    }
    close(&writer).await;
}

async fn session(shared: &Arc<Shared>, reader: &mut Reader, writer: &Writer) {
    let mut id = 0u64;
    let mut tasks = JoinSet::new();
    let in_flight = Arc::new(Semaphore::new(MAX_SESSION_IN_FLIGHT));
    loop {
        let next = timeout(shared.config.idle_timeout, reader.command(false)).await;
        let Ok(Ok((delim, text))) = next else { break };
        id += 1;
        let cmd = protocol::parse(&text);
        if cmd == Command::End {
            break;
        }
        if !cmd.allowed_in_session() {
            // Earlier replies first, as clamd sends them.
            while tasks.join_next().await.is_some() {}
            let mut out = Vec::new();
            push_line(&mut out, Some(id), reply::INVALID_IN_SESSION, delim);
            write(writer, &out).await;
            break;
        }
        let job = prepare(shared, reader, cmd, Some(id)).await;
        let last = matches!(job, Job::Close | Job::Fatal(_));
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let (shared, writer) = (shared.clone(), writer.clone());
        tasks.spawn(async move {
            let out = execute(&shared, job, Some(id), delim).await;
            write(&writer, &out).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
        if last {
            break;
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// A command with the input it needed already read from the connection.
enum Job {
    /// Reply lines known now.
    Lines(Vec<String>),
    /// No reply.
    Silent,
    /// A path scan.
    Path(PathMode, PathBuf),
    /// A complete INSTREAM.
    Stream(Spool),
    /// A descriptor passed with FILDES.
    Fd(OwnedFd),
    /// Reply with this line, then close.
    Fatal(&'static str),
    /// Close without a reply (the client went away or stalled).
    Close,
}

/// Read what a command needs from the connection and answer what can be
/// answered at once.
async fn prepare(shared: &Arc<Shared>, reader: &mut Reader, cmd: Command, id: Option<u64>) -> Job {
    let line = |s: String| Job::Lines(vec![s]);
    match cmd {
        Command::Ping => line(reply::PONG.into()),
        Command::Version => line(shared.db.current().version.clone()),
        Command::VersionCommands => line(protocol::version_commands(&shared.db.current().version)),
        Command::Reload if id.is_none() => {
            shared.db.reload();
            line(reply::RELOADING.into())
        }
        Command::Shutdown if id.is_none() => {
            let _ = shared.shutdown.send(true);
            Job::Silent
        }
        Command::Stats => line(stats(shared)),
        Command::DetStats | Command::DetStatsClear => Job::Silent,
        Command::Scan(p) => Job::Path(PathMode::Scan, p),
        Command::ContScan(p) => Job::Path(PathMode::Cont, p),
        Command::MultiScan(p) => Job::Path(PathMode::Multi, p),
        Command::AllMatchScan(p) => Job::Path(PathMode::AllMatch, p),
        Command::Instream => read_stream(shared, reader).await,
        Command::Fildes => read_fd(shared, reader).await,
        _ => line(reply::UNKNOWN_COMMAND.into()),
    }
}

async fn read_stream(shared: &Shared, reader: &mut Reader) -> Job {
    let c = &shared.config;
    let mut spool = Spool::new(c.temporary_directory.clone());
    match reader
        .stream(&mut spool, c.stream_max_length, c.read_timeout)
        .await
    {
        Ok(StreamEnd::Complete) => Job::Stream(spool),
        Ok(StreamEnd::TooLarge) => Job::Fatal(reply::INSTREAM_LIMIT),
        Err(_) => Job::Close,
    }
}

async fn read_fd(shared: &Shared, reader: &mut Reader) -> Job {
    match timeout(shared.config.read_timeout, reader.fd()).await {
        Ok(Ok(Some(fd))) => Job::Fd(fd),
        Ok(Ok(None)) => Job::Fatal(reply::NO_FD),
        _ => Job::Close,
    }
}

/// Run a job (scans on the pool) and format its reply.
async fn execute(shared: &Arc<Shared>, job: Job, id: Option<u64>, delim: Delim) -> Vec<u8> {
    let lines = match job {
        Job::Lines(l) => l,
        Job::Silent | Job::Close => Vec::new(),
        Job::Fatal(msg) => vec![msg.to_string()],
        Job::Path(mode, path) => {
            let s = shared.clone();
            let lines = pooled(shared, move || {
                scan_path(&s.db.current(), &s.policy, &s.log, &path, mode)
            });
            lines.await
        }
        Job::Stream(spool) => {
            let s = shared.clone();
            let line = pooled(shared, move || {
                let gen = s.db.current();
                match spool.into_reader() {
                    Ok(mut r) => vec![scan_stream(
                        &gen,
                        &s.policy.settings,
                        &s.log,
                        stream_name(),
                        &mut r,
                    )],
                    Err(e) => vec![format!("{}: {e}. ERROR", stream_name())],
                }
            });
            line.await
        }
        Job::Fd(fd) => {
            let s = shared.clone();
            pooled(shared, move || {
                vec![scan_fd(&s.db.current(), &s.policy.settings, &s.log, fd)]
            })
            .await
        }
    };
    let mut out = Vec::new();
    for l in &lines {
        push_line(&mut out, id, l, delim);
    }
    out
}

async fn pooled<F>(shared: &Shared, job: F) -> Vec<String>
where
    F: FnOnce() -> Vec<String> + Send + 'static,
{
    shared
        .pool
        .run(job)
        .await
        .unwrap_or_else(|| vec!["Internal error while scanning. ERROR".to_string()])
}

/// `STATS`, in clamd's layout.
fn stats(shared: &Shared) -> String {
    let pool = &shared.pool;
    let used = shared.db.current().engine.heap_bytes() as f64 / (1 << 20) as f64;
    let state = if shared.db.is_reloading() {
        "VALID PRIMARY\nSTATE: VALID SECONDARY"
    } else {
        "VALID PRIMARY"
    };
    format!(
        "POOLS: 1\n\nSTATE: {state}\nTHREADS: live {}  idle 0 max {} idle-timeout {}\n\
         QUEUE: {} items\n\tSTATS 0.000000 \n\nMEMSTATS: heap N/A mmap N/A used N/A \
         free N/A releasable N/A pools 1 pools_used {used:.3}M pools_total {used:.3}M\nEND",
        pool.active() + 1,
        pool.max_threads(),
        shared.config.idle_timeout.as_secs(),
        pool.waiting(),
    )
}

async fn write(writer: &Writer, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut w = writer.lock().await;
    let _ = w.write_all(data).await;
    let _ = w.flush().await;
}

async fn close(writer: &Writer) {
    let _ = writer.lock().await.shutdown().await;
}

fn spawn_signals(shared: &Arc<Shared>) -> Result<(), Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let sig = |k: SignalKind| signal(k).map_err(|e| Error::io("installing signal handlers", e));
    let mut usr2 = sig(SignalKind::user_defined2())?;
    let mut term = sig(SignalKind::terminate())?;
    let mut int = sig(SignalKind::interrupt())?;
    let mut hup = sig(SignalKind::hangup())?;
    let s = shared.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = usr2.recv() => {
                    s.log.line("SIGUSR2 received: reloading the databases");
                    s.db.reload();
                }
                _ = hup.recv() => s.log.line("SIGHUP received: nothing to reopen"),
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        let _ = s.shutdown.send(true);
    });
    Ok(())
}

fn spawn_self_check(shared: &Arc<Shared>) {
    let every = shared.config.self_check;
    if every.is_zero() {
        return;
    }
    let s = shared.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            let db = s.db.clone();
            let changed = tokio::task::spawn_blocking(move || db.changed()).await;
            if changed.unwrap_or(false) && !s.db.is_reloading() {
                s.log
                    .line("SelfCheck: Database modification detected. Forcing reload.");
                s.db.reload();
            }
        }
    });
}
