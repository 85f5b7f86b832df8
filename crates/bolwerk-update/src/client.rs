//! `update`: verify a pack repository with `tough`'s client, then install
//! its files into a database directory atomically.
//!
//! Order matters, and nothing is written to the database directory until
//! every check has passed:
//!
//! 1. The trusted root is the one kept from the last update (or, the first
//!    time, the root the user was given out of band). `tough` walks every
//!    newer `N.root.json`, each signed by the previous root's threshold and
//!    its own; then timestamp, snapshot and targets, checking signatures
//!    and thresholds, expiry, versions against the last trusted metadata
//!    (rollback), snapshot against targets (mix-and-match) and sizes.
//! 2. The transparency-log policy, if one is given (see [`crate::tlog`]).
//! 3. Each target is fetched with its listed length as the limit and its
//!    SHA-256 checked, into a temporary file beside its destination, and
//!    flushed to disk.
//! 4. Only then: each file is renamed into place, files of the previous
//!    pack no longer listed are removed, the directory is flushed, and the
//!    new trusted metadata replaces the old.
//!
//! The trusted metadata lives in a state directory (by default
//! `DB/.bolwerk-update`; the database loader skips directories). `tough`
//! writes into its datastore while it verifies, so it is given a copy,
//! which replaces the real one only when the whole update succeeded: a
//! refused update leaves the state exactly as it was.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use tough::{ExpirationEnforcement, FilesystemTransport, Limits, RepositoryLoader, TargetName};
use url::Url;

use crate::error::{untrusted, Error, ErrorKind, Result};
use crate::fsutil::{self, check_name};
use crate::tlog::{self, Policy};

/// The largest pack file accepted (a full ClamAV main.cvd is ~170 MB).
pub const MAX_TARGET_SIZE: u64 = 1024 * 1024 * 1024;
/// The most files a pack may hold.
pub const MAX_TARGETS: usize = 4096;
/// Name of the list of installed files kept in the state directory.
const INSTALLED: &str = "installed.json";

/// Where the repository is.
#[derive(Debug, Clone)]
pub enum Source {
    /// A local copy, e.g. on removable media (`REPO/metadata`, `REPO/targets`).
    Dir(PathBuf),
    /// A base URL (`BASE/metadata/`, `BASE/targets/`); needs the `http` feature.
    Url(String),
}

/// What to update, from where, under which limits and policy.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// The repository.
    pub source: Source,
    /// The database directory the pack's files go into.
    pub db: PathBuf,
    /// Trusted metadata from the last update; default `DB/.bolwerk-update`.
    pub state: Option<PathBuf>,
    /// The root to trust the first time (given out of band).
    pub root: Option<PathBuf>,
    /// Metadata size limits (endless-data attacks).
    pub limits: Limits,
    /// The largest single file accepted.
    pub max_target_size: u64,
    /// Transparency-log requirements.
    pub policy: Option<Policy>,
}

impl UpdateOptions {
    /// Defaults for `source` into `db`.
    pub fn new(source: Source, db: &Path) -> UpdateOptions {
        UpdateOptions {
            source,
            db: db.to_path_buf(),
            state: None,
            root: None,
            limits: Limits::default(),
            max_target_size: MAX_TARGET_SIZE,
            policy: None,
        }
    }

    fn state_dir(&self) -> PathBuf {
        self.state
            .clone()
            .unwrap_or_else(|| self.db.join(".bolwerk-update"))
    }
}

/// What an update did.
#[derive(Debug, Clone, Default)]
pub struct UpdateReport {
    /// Root version now trusted.
    pub root_version: u64,
    /// Targets version installed.
    pub targets_version: u64,
    /// Files written (name, bytes).
    pub written: Vec<(String, u64)>,
    /// Files of the previous pack removed.
    pub removed: Vec<String>,
    /// Transparency-log checks that passed, one line each.
    pub log: Vec<String>,
}

/// Verifies and installs; on any error nothing in `db` or the state changes.
pub fn update(opts: &UpdateOptions) -> Result<UpdateReport> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorKind::Io, format!("starting the runtime: {e}")))?;
    rt.block_on(update_async(opts))
}

async fn update_async(opts: &UpdateOptions) -> Result<UpdateReport> {
    let state = opts.state_dir();
    std::fs::create_dir_all(&state).map_err(|e| Error::io(&state, e))?;
    let trusted = state.join("tuf");
    let root = trusted_root(&trusted, opts)?;
    let work = tempfile::Builder::new()
        .prefix(".tuf-")
        .tempdir_in(&state)
        .map_err(|e| Error::io(&state, e))?;
    copy_dir(&trusted, work.path())?;
    let repo = load(&root, work.path(), opts).await?;
    let mut report = UpdateReport {
        root_version: repo.root().signed.version.get(),
        targets_version: repo.targets().signed.version.get(),
        ..UpdateReport::default()
    };
    let accepted = match &opts.policy {
        Some(policy) => Some(check_log(policy, &repo, opts, &state).await?),
        None => None,
    };
    let staged = fetch_all(&repo, opts).await?;
    commit(opts, &state, staged, work, &mut report)?;
    if let Some(a) = accepted {
        fsutil::write_atomic(&state.join(tlog::SEEN_CHECKPOINT), &a.checkpoint)?;
        report.log = a.lines;
    }
    Ok(report)
}

/// Fetches the log's files for the verified targets and checks the policy.
async fn check_log(
    policy: &tlog::Policy,
    repo: &tough::Repository,
    opts: &UpdateOptions,
    state: &Path,
) -> Result<tlog::Accepted> {
    let targets = &repo.targets().signed;
    let seen = tlog::read_seen_checkpoint(state, &policy.log)?;
    let max = tlog::note::MAX_NOTE as u64;
    let checkpoint = fetch_file(&opts.source, "log/checkpoint", max)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Log,
                "the repository has no transparency log (log/checkpoint)",
            )
        })?;
    let inclusion = fetch_file(
        &opts.source,
        &format!("metadata/{}.targets.tlog.json", targets.version),
        max,
    )
    .await?;
    let consistency = match &seen {
        Some(old) => {
            fetch_file(
                &opts.source,
                &format!("log/consistency/{}.json", old.size),
                max,
            )
            .await?
        }
        None => None,
    };
    let files = tlog::LogFiles {
        checkpoint,
        inclusion,
        consistency,
    };
    tlog::check_policy(policy, targets, &files, seen.as_ref())
}

/// Reads a file of the repository outside TUF's metadata (the log's),
/// at most `max` bytes; `None` if it does not exist.
async fn fetch_file(source: &Source, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
    match source {
        Source::Dir(dir) => {
            let path = dir.join(rel);
            if path.is_file() {
                fsutil::read_bounded(&path, max).map(Some)
            } else {
                Ok(None)
            }
        }
        Source::Url(_) => fetch_http(source, rel, max).await,
    }
}

#[cfg(feature = "http")]
async fn fetch_http(source: &Source, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
    use tough::{Transport, TransportErrorKind};
    let (metadata, _) = urls(source)?;
    let url = metadata
        .join(&format!("../{rel}"))
        .map_err(|e| Error::new(ErrorKind::Usage, format!("{rel}: {e}")))?;
    let mut stream = match tough::HttpTransport::default().fetch(url.clone()).await {
        Ok(s) => s,
        Err(e) if e.kind() == TransportErrorKind::FileNotFound => return Ok(None),
        Err(e) => return Err(untrusted(url.as_str(), &e)),
    };
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            // The HTTP transport reports a missing file in the stream.
            Err(e) if e.kind() == TransportErrorKind::FileNotFound && out.is_empty() => {
                return Ok(None)
            }
            Err(e) => return Err(untrusted(url.as_str(), &e)),
        };
        out.extend_from_slice(&chunk);
        if out.len() as u64 > max {
            return Err(Error::new(
                ErrorKind::Untrusted,
                format!("{url}: larger than {max} bytes"),
            ));
        }
    }
    Ok(Some(out))
}

#[cfg(not(feature = "http"))]
async fn fetch_http(_: &Source, _: &str, _: u64) -> Result<Option<Vec<u8>>> {
    Err(Error::new(
        ErrorKind::Usage,
        "this build links no HTTP client",
    ))
}

fn trusted_root(trusted: &Path, opts: &UpdateOptions) -> Result<Vec<u8>> {
    let kept = trusted.join("root.json");
    let path = if kept.is_file() {
        kept
    } else {
        opts.root.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                "no trusted root yet: give the pack's root.json, obtained out of band, with --root",
            )
        })?
    };
    fsutil::read_bounded(&path, opts.limits.max_root_size)
}

async fn load(root: &[u8], datastore: &Path, opts: &UpdateOptions) -> Result<tough::Repository> {
    let (metadata, targets) = urls(&opts.source)?;
    let loader = RepositoryLoader::new(&root, metadata, targets)
        .datastore(datastore)
        .limits(opts.limits)
        .expiration_enforcement(ExpirationEnforcement::Safe);
    let loader = match &opts.source {
        Source::Dir(_) => loader.transport(FilesystemTransport),
        Source::Url(_) => with_http(loader)?,
    };
    loader
        .load()
        .await
        .map_err(|e| untrusted("refusing the repository", &e))
}

#[cfg(feature = "http")]
fn with_http(loader: RepositoryLoader<'_>) -> Result<RepositoryLoader<'_>> {
    Ok(loader.transport(tough::HttpTransport::default()))
}

#[cfg(not(feature = "http"))]
fn with_http(_: RepositoryLoader<'_>) -> Result<RepositoryLoader<'_>> {
    Err(Error::new(
        ErrorKind::Usage,
        "this build links no HTTP client (feature \"http\" is off): copy the repository and use --from DIR",
    ))
}

fn urls(source: &Source) -> Result<(Url, Url)> {
    let base = match source {
        Source::Dir(dir) => {
            let abs = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
            Url::from_directory_path(&abs).map_err(|()| {
                Error::new(ErrorKind::Usage, "not an absolute directory").with_path(dir)
            })?
        }
        Source::Url(u) => {
            let with_slash = if u.ends_with('/') {
                u.clone()
            } else {
                format!("{u}/")
            };
            Url::parse(&with_slash)
                .map_err(|e| Error::new(ErrorKind::Usage, format!("{u}: {e}")))?
        }
    };
    let join = |p: &str| {
        base.join(p)
            .map_err(|e| Error::new(ErrorKind::Usage, format!("{base}{p}: {e}")))
    };
    Ok((join("metadata/")?, join("targets/")?))
}

/// One verified file waiting to be renamed into place.
struct Staged {
    name: String,
    len: u64,
    tmp: tempfile::NamedTempFile,
}

async fn fetch_all(repo: &tough::Repository, opts: &UpdateOptions) -> Result<Vec<Staged>> {
    let targets: Vec<(TargetName, u64)> = repo
        .all_targets()
        .map(|(n, t)| (n.clone(), t.length))
        .collect();
    if targets.len() > MAX_TARGETS {
        return Err(Error::new(
            ErrorKind::Untrusted,
            format!(
                "{} files in the pack, more than the {MAX_TARGETS} accepted",
                targets.len()
            ),
        ));
    }
    let mut staged = Vec::new();
    for (name, len) in targets {
        check_name(name.raw())?;
        if len > opts.max_target_size {
            return Err(Error::new(
                ErrorKind::Untrusted,
                format!(
                    "{}: {len} bytes, more than the {}-byte limit",
                    name.raw(),
                    opts.max_target_size
                ),
            ));
        }
        staged.push(fetch_one(repo, &name, &opts.db.join(name.raw())).await?);
    }
    Ok(staged)
}

/// Streams one target into a temporary file beside `dest`; `tough` stops
/// at the listed length and fails the stream on a hash mismatch.
async fn fetch_one(repo: &tough::Repository, name: &TargetName, dest: &Path) -> Result<Staged> {
    use std::io::Write;
    let what = format!("target {}", name.raw());
    let mut stream = repo
        .read_target(name)
        .await
        .map_err(|e| untrusted(&what, &e))?
        .ok_or_else(|| Error::new(ErrorKind::Untrusted, format!("{what} is not listed")))?;
    let mut tmp = fsutil::write_aside(dest, &[])?;
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| untrusted(&what, &e))?;
        len += chunk.len() as u64;
        tmp.write_all(&chunk)
            .map_err(|e| Error::io(tmp.path(), e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    Ok(Staged {
        name: name.raw().to_string(),
        len,
        tmp,
    })
}

fn commit(
    opts: &UpdateOptions,
    state: &Path,
    staged: Vec<Staged>,
    work: tempfile::TempDir,
    report: &mut UpdateReport,
) -> Result<()> {
    let previous: Vec<String> = read_installed(state);
    let mut names = Vec::new();
    for s in staged {
        let dest = opts.db.join(&s.name);
        s.tmp
            .persist(&dest)
            .map_err(|e| Error::io(&dest, e.error))?;
        report.written.push((s.name.clone(), s.len));
        names.push(s.name);
    }
    for old in previous.iter().filter(|o| !names.contains(o)) {
        if check_name(old).is_ok() && std::fs::remove_file(opts.db.join(old)).is_ok() {
            report.removed.push(old.clone());
        }
    }
    fsutil::sync_dir(&opts.db)?;
    let list = serde_json::to_vec(&names).expect("names serialise");
    fsutil::write_atomic(&state.join(INSTALLED), &list)?;
    replace_dir(&work.keep(), &state.join("tuf"))
}

fn read_installed(state: &Path) -> Vec<String> {
    fsutil::read_bounded(&state.join(INSTALLED), 1024 * 1024)
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default()
}

/// Replaces directory `dest` with `new` (two renames; the old one removed).
fn replace_dir(new: &Path, dest: &Path) -> Result<()> {
    let old = dest.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if dest.exists() {
        std::fs::rename(dest, &old).map_err(|e| Error::io(dest, e))?;
    }
    std::fs::rename(new, dest).map_err(|e| Error::io(dest, e))?;
    let _ = std::fs::remove_dir_all(&old);
    fsutil::sync_dir(dest.parent().unwrap_or(Path::new(".")))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for entry in rd.filter_map(std::result::Result::ok) {
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}
