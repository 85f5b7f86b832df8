//! A signature pack repository: a TUF repository on disk that several
//! independent signers edit, sign one at a time, and publish.
//!
//! ```text
//! REPO/metadata/N.root.json      every root version (clients walk them)
//! REPO/metadata/N.targets.json   consistent snapshots: one file per version
//! REPO/metadata/N.snapshot.json
//! REPO/metadata/timestamp.json   the only file replaced in place
//! REPO/targets/SHA256.NAME       the pack's files, named by their hash
//! REPO/staged/root.json          a root waiting for signatures (init, rotation)
//! REPO/staged/targets.json       the next targets waiting for signatures
//! REPO/staged/files/NAME         the working copy of the pack's files
//! REPO/log/                      the transparency log (see `tlog`)
//! ```
//!
//! Root and targets are the offline roles: each has its own keys and a
//! threshold *k* of *n*. `add` and `remove` rebuild the staged targets from
//! the working copy (dropping any signatures, since the content changed);
//! each signer runs `sign` with their own key, which adds one signature to
//! whatever is staged for a role that key belongs to; `publish` refuses
//! until every staged role meets its threshold — a new root must meet both
//! the old root's threshold and its own — and then signs snapshot and
//! timestamp with the online keys and writes the new version. No private
//! key is ever stored in the repository.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::key::Key;
use tough::schema::{
    Hashes, Metafile, Role, RoleKeys, RoleType, Root, Signature, Signed, Snapshot, Target, Targets,
    Timestamp as TimestampRole,
};
use tough::TargetName;

use crate::error::{untrusted, Error, ErrorKind, Result};
use crate::fsutil::{self, check_name};
use crate::keys::{self, KeyPair};
use crate::tlog::{self, LogWriter};

const SPEC_VERSION: &str = "1.0.0";
/// A staged or published metadata file larger than this is refused.
const MAX_METADATA: u64 = 16 * 1024 * 1024;

/// The keys and thresholds of a root.
#[derive(Debug, Clone)]
pub struct RootSpec {
    /// Keys of the root role.
    pub root_keys: Vec<Key>,
    /// Root signatures needed.
    pub root_threshold: u64,
    /// Keys of the targets role (the pack signers).
    pub targets_keys: Vec<Key>,
    /// Targets signatures needed.
    pub targets_threshold: u64,
    /// The online snapshot key(s); threshold 1.
    pub snapshot_keys: Vec<Key>,
    /// The online timestamp key(s); threshold 1.
    pub timestamp_keys: Vec<Key>,
    /// When this root expires.
    pub expires: Timestamp,
}

/// How far one staged role is from being publishable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignStatus {
    /// `root` or `targets`.
    pub role: &'static str,
    /// The staged version.
    pub version: u64,
    /// Valid signatures by this role's keys, and the threshold.
    pub valid: u64,
    /// The threshold that must be met.
    pub threshold: u64,
    /// For a root rotation: valid signatures by the previous root's keys,
    /// and that root's threshold.
    pub previous: Option<(u64, u64)>,
}

impl SignStatus {
    /// Whether every threshold is met.
    pub fn complete(&self) -> bool {
        self.valid >= self.threshold && self.previous.is_none_or(|(v, t)| v >= t)
    }
}

impl std::fmt::Display for SignStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} v{}: {} of {} signatures",
            self.role, self.version, self.valid, self.threshold
        )?;
        if let Some((v, t)) = self.previous {
            write!(f, "; {v} of {t} by the previous root's keys")?;
        }
        Ok(())
    }
}

/// Expiry and online keys for `publish`.
#[derive(Debug)]
pub struct PublishOptions<'a> {
    /// Snapshot signing key(s).
    pub snapshot_keys: &'a [KeyPair],
    /// Timestamp signing key(s).
    pub timestamp_keys: &'a [KeyPair],
    /// When the new snapshot expires.
    pub snapshot_expires: Timestamp,
    /// When the new timestamp expires (short: it is what stops a freeze).
    pub timestamp_expires: Timestamp,
    /// The transparency log's key, needed when the repository keeps a log.
    pub log_key: Option<&'a KeyPair>,
}

/// What `publish` wrote.
#[derive(Debug, Clone)]
pub struct Published {
    /// The root version in force.
    pub root_version: u64,
    /// The published targets version.
    pub targets_version: u64,
    /// The new snapshot and timestamp version.
    pub snapshot_version: u64,
    /// The new timestamp version.
    pub timestamp_version: u64,
    /// The bytes of the published `N.targets.json` (what the log records).
    pub targets_bytes: Vec<u8>,
}

/// A pack repository on disk.
#[derive(Debug, Clone)]
pub struct PackRepo {
    dir: PathBuf,
}

impl PackRepo {
    /// Creates a repository and stages root version 1 for signing.
    pub fn init(dir: &Path, spec: &RootSpec) -> Result<PackRepo> {
        let repo = PackRepo {
            dir: dir.to_path_buf(),
        };
        if repo.metadata().exists() || repo.staged("root.json").exists() {
            return Err(Error::new(
                ErrorKind::Usage,
                "already a pack repository (use `pack rotate` to change keys)",
            )
            .with_path(dir));
        }
        for d in [repo.metadata(), repo.targets(), repo.staged("files")] {
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        repo.stage_root_version(spec, NonZeroU64::MIN)?;
        Ok(repo)
    }

    /// Opens an existing repository.
    pub fn open(dir: &Path) -> Result<PackRepo> {
        let repo = PackRepo {
            dir: dir.to_path_buf(),
        };
        if !repo.metadata().is_dir() {
            return Err(
                Error::new(ErrorKind::Usage, "not a pack repository (run `pack init`)")
                    .with_path(dir),
            );
        }
        Ok(repo)
    }

    /// The repository directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stages the next root version with new keys (a rotation). It needs
    /// the current root's threshold and its own before it can be published.
    pub fn rotate(&self, spec: &RootSpec) -> Result<u64> {
        let current = self.published_root()?.ok_or_else(|| {
            Error::new(
                ErrorKind::Usage,
                "no published root to rotate from: publish the first one",
            )
        })?;
        let next = current.signed.version.saturating_add(1);
        self.stage_root_version(spec, next)?;
        Ok(next.get())
    }

    fn stage_root_version(&self, spec: &RootSpec, version: NonZeroU64) -> Result<()> {
        let root = build_root(spec, version)?;
        write_json(
            &self.staged("root.json"),
            &Signed {
                signed: root,
                signatures: Vec::new(),
            },
        )
    }

    /// Copies files into the working copy and stages new targets.
    pub fn add(&self, files: &[PathBuf], expires: Timestamp) -> Result<SignStatus> {
        for f in files {
            let name = f
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::new(ErrorKind::Usage, "not a file name").with_path(f))?;
            check_name(name).map_err(|e| e.with_path(f))?;
            let dest = self.staged("files").join(name);
            std::fs::copy(f, &dest).map_err(|e| Error::io(f, e))?;
        }
        self.stage_targets(expires)
    }

    /// Removes files from the working copy and stages new targets.
    pub fn remove(&self, names: &[String], expires: Timestamp) -> Result<SignStatus> {
        for name in names {
            check_name(name)?;
            let path = self.staged("files").join(name);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        self.stage_targets(expires)
    }

    /// Stages targets listing every file of the working copy, unsigned.
    pub fn stage_targets(&self, expires: Timestamp) -> Result<SignStatus> {
        let version = self.published_targets_version()?.map_or(1, |v| v + 1);
        let mut targets = Targets::new(SPEC_VERSION.into(), nonzero(version), expires);
        for (name, path) in self.working_files()? {
            let data = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let name = TargetName::new(name.clone())
                .map_err(|e| Error::new(ErrorKind::Format, format!("target name {name}: {e}")))?;
            targets.add_target(name, target_of(&data));
        }
        write_json(
            &self.staged("targets.json"),
            &Signed {
                signed: targets,
                signatures: Vec::new(),
            },
        )?;
        Ok(self
            .status()?
            .into_iter()
            .find(|s| s.role == "targets")
            .expect("targets were just staged"))
    }

    /// Adds `key`'s signature to every staged role it belongs to.
    pub fn sign(&self, key: &KeyPair) -> Result<Vec<SignStatus>> {
        let mut signed_any = false;
        let previous = self.published_root()?;
        if let Some(mut root) = self.staged_root()? {
            let in_new = has_key(&root.signed, RoleType::Root, key);
            let in_old = previous
                .as_ref()
                .is_some_and(|p| has_key(&p.signed, RoleType::Root, key));
            if in_new || in_old {
                add_signature(&mut root, key)?;
                write_json(&self.staged("root.json"), &root)?;
                signed_any = true;
            }
        }
        if let Some(mut targets) = self.staged_targets()? {
            let root = self.root_in_force()?;
            if has_key(&root.signed, RoleType::Targets, key) {
                add_signature(&mut targets, key)?;
                write_json(&self.staged("targets.json"), &targets)?;
                signed_any = true;
            }
        }
        if !signed_any {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "key {} is not a key of any staged role (nothing staged, or the key is not in root)",
                    key.key_id()
                ),
            ));
        }
        self.status()
    }

    /// How far each staged role is from its thresholds.
    pub fn status(&self) -> Result<Vec<SignStatus>> {
        let mut out = Vec::new();
        let previous = self.published_root()?;
        if let Some(root) = self.staged_root()? {
            out.push(SignStatus {
                role: "root",
                version: root.signed.version.get(),
                valid: count_valid(&root.signed, RoleType::Root, &root)?,
                threshold: threshold(&root.signed, RoleType::Root),
                previous: match &previous {
                    Some(p) => Some((
                        count_valid(&p.signed, RoleType::Root, &root)?,
                        threshold(&p.signed, RoleType::Root),
                    )),
                    None => None,
                },
            });
        }
        if let Some(targets) = self.staged_targets()? {
            let root = self.root_in_force()?;
            out.push(SignStatus {
                role: "targets",
                version: targets.signed.version.get(),
                valid: count_valid(&root.signed, RoleType::Targets, &targets)?,
                threshold: threshold(&root.signed, RoleType::Targets),
                previous: None,
            });
        }
        Ok(out)
    }

    /// Publishes what is staged, once every threshold is met.
    pub fn publish(&self, opts: &PublishOptions<'_>) -> Result<Published> {
        let statuses = self.status()?;
        if let Some(short) = statuses.iter().find(|s| !s.complete()) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("refusing to publish: {short}"),
            ));
        }
        let previous = self.published_root()?;
        let staged_root = self.staged_root()?;
        if let (Some(p), Some(s)) = (&previous, &staged_root) {
            p.signed
                .verify_role(s)
                .map_err(|e| untrusted("new root under the old root", &e))?;
        }
        if let Some(s) = &staged_root {
            s.signed
                .verify_role(s)
                .map_err(|e| untrusted("new root", &e))?;
        }
        let root = staged_root
            .clone()
            .or(previous)
            .ok_or_else(|| Error::new(ErrorKind::Usage, "no root: run `pack init` and sign it"))?;
        let staged_targets = self.staged_targets()?;
        let new_targets = staged_targets.is_some();
        let targets = match staged_targets {
            Some(t) => t,
            None => self.published_targets()?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Usage,
                    "nothing to publish: `pack add` files first",
                )
            })?,
        };
        let log = LogWriter::open(&self.dir.join("log"));
        if log.is_some() && new_targets && opts.log_key.is_none() {
            return Err(Error::new(
                ErrorKind::Usage,
                "this repository keeps a transparency log: give the log key",
            ));
        }
        root.signed
            .verify_role(&targets)
            .map_err(|e| untrusted("targets", &e))?;
        self.copy_targets(&targets.signed)?;
        if let Some(s) = &staged_root {
            write_json(
                &self
                    .metadata()
                    .join(format!("{}.root.json", s.signed.version)),
                s,
            )?;
        }
        let targets_bytes = to_json(&targets)?;
        let tv = targets.signed.version;
        fsutil::write_atomic(
            &self.metadata().join(format!("{tv}.targets.json")),
            &targets_bytes,
        )?;
        if let (Some(log), Some(key), true) = (&log, opts.log_key, new_targets) {
            let (inclusion, _) = log.append(tlog::targets_leaf(&targets.signed)?, key)?;
            write_json(
                &self.metadata().join(format!("{tv}.targets.tlog.json")),
                &inclusion,
            )?;
        }
        let (snapshot, snapshot_bytes) =
            self.write_snapshot(&root.signed, tv, &targets_bytes, opts)?;
        let timestamp = self.write_timestamp(&root.signed, &snapshot, &snapshot_bytes, opts)?;
        for f in ["root.json", "targets.json"] {
            let p = self.staged(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        Ok(Published {
            root_version: root.signed.version.get(),
            targets_version: tv.get(),
            snapshot_version: snapshot.version.get(),
            timestamp_version: timestamp.version.get(),
            targets_bytes,
        })
    }

    fn write_snapshot(
        &self,
        root: &Root,
        targets_version: NonZeroU64,
        targets_bytes: &[u8],
        opts: &PublishOptions<'_>,
    ) -> Result<(Snapshot, Vec<u8>)> {
        let version = self
            .published_snapshot()?
            .map_or(1, |s| s.signed.version.get() + 1);
        let mut snapshot =
            Snapshot::new(SPEC_VERSION.into(), nonzero(version), opts.snapshot_expires);
        snapshot.meta.insert(
            "targets.json".into(),
            metafile(targets_version, targets_bytes),
        );
        let signed = sign_online(root, RoleType::Snapshot, snapshot, opts.snapshot_keys)?;
        let bytes = to_json(&signed)?;
        fsutil::write_atomic(
            &self.metadata().join(format!("{version}.snapshot.json")),
            &bytes,
        )?;
        Ok((signed.signed, bytes))
    }

    fn write_timestamp(
        &self,
        root: &Root,
        snapshot: &Snapshot,
        snapshot_bytes: &[u8],
        opts: &PublishOptions<'_>,
    ) -> Result<TimestampRole> {
        let version = self
            .published_timestamp()?
            .map_or(1, |t| t.signed.version.get() + 1);
        let mut ts = TimestampRole::new(
            SPEC_VERSION.into(),
            nonzero(version),
            opts.timestamp_expires,
        );
        ts.meta.insert(
            "snapshot.json".into(),
            metafile(snapshot.version, snapshot_bytes),
        );
        let signed = sign_online(root, RoleType::Timestamp, ts, opts.timestamp_keys)?;
        fsutil::write_atomic(&self.metadata().join("timestamp.json"), &to_json(&signed)?)?;
        Ok(signed.signed)
    }

    /// Copies each target from the working copy to `targets/SHA.NAME`,
    /// refusing a file changed since it was signed.
    fn copy_targets(&self, targets: &Targets) -> Result<()> {
        for (name, target) in targets.targets_iter() {
            let src = self.staged("files").join(name.raw());
            let data = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
            if target_of(&data) != *target {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "changed since the targets were signed: `pack add` it again and re-sign",
                )
                .with_path(&src));
            }
            let dest = self.targets().join(format!(
                "{}.{}",
                keys::hex(&target.hashes.sha256),
                name.raw()
            ));
            if !dest.exists() {
                fsutil::write_atomic(&dest, &data)?;
            }
        }
        Ok(())
    }

    /// The newest published root.
    pub fn published_root(&self) -> Result<Option<Signed<Root>>> {
        let mut best: Option<u64> = None;
        let rd = std::fs::read_dir(self.metadata()).map_err(|e| Error::io(&self.metadata(), e))?;
        for entry in rd.filter_map(std::result::Result::ok) {
            let name = entry.file_name();
            let v = name
                .to_str()
                .and_then(|n| n.strip_suffix(".root.json"))
                .and_then(|n| n.parse::<u64>().ok());
            best = best.max(v);
        }
        best.map(|v| read_json(&self.metadata().join(format!("{v}.root.json"))))
            .transpose()
    }

    fn root_in_force(&self) -> Result<Signed<Root>> {
        match self.staged_root()? {
            Some(r) => Ok(r),
            None => self
                .published_root()?
                .ok_or_else(|| Error::new(ErrorKind::Usage, "no root: run `pack init`")),
        }
    }

    fn staged_root(&self) -> Result<Option<Signed<Root>>> {
        read_optional(&self.staged("root.json"))
    }

    fn staged_targets(&self) -> Result<Option<Signed<Targets>>> {
        read_optional(&self.staged("targets.json"))
    }

    fn published_timestamp(&self) -> Result<Option<Signed<TimestampRole>>> {
        read_optional(&self.metadata().join("timestamp.json"))
    }

    fn published_snapshot(&self) -> Result<Option<Signed<Snapshot>>> {
        let Some(ts) = self.published_timestamp()? else {
            return Ok(None);
        };
        let v = ts.signed.meta.get("snapshot.json").map(|m| m.version);
        v.map(|v| read_json(&self.metadata().join(format!("{v}.snapshot.json"))))
            .transpose()
    }

    fn published_targets_version(&self) -> Result<Option<u64>> {
        Ok(self
            .published_snapshot()?
            .and_then(|s| s.signed.meta.get("targets.json").map(|m| m.version.get())))
    }

    /// The targets metadata last published.
    pub fn published_targets(&self) -> Result<Option<Signed<Targets>>> {
        self.published_targets_version()?
            .map(|v| read_json(&self.metadata().join(format!("{v}.targets.json"))))
            .transpose()
    }

    fn working_files(&self) -> Result<Vec<(String, PathBuf)>> {
        let dir = self.staged("files");
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut out = Vec::new();
        for entry in rd.filter_map(std::result::Result::ok) {
            if let Some(name) = entry.file_name().to_str() {
                if check_name(name).is_ok() && entry.path().is_file() {
                    out.push((name.to_string(), entry.path()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// `REPO/metadata`.
    pub fn metadata(&self) -> PathBuf {
        self.dir.join("metadata")
    }

    /// `REPO/targets`.
    pub fn targets(&self) -> PathBuf {
        self.dir.join("targets")
    }

    fn staged(&self, name: &str) -> PathBuf {
        self.dir.join("staged").join(name)
    }
}

fn build_root(spec: &RootSpec, version: NonZeroU64) -> Result<Root> {
    let mut keys = HashMap::new();
    let mut roles = HashMap::new();
    for (role, list, k) in [
        (RoleType::Root, &spec.root_keys, spec.root_threshold),
        (
            RoleType::Targets,
            &spec.targets_keys,
            spec.targets_threshold,
        ),
        (RoleType::Snapshot, &spec.snapshot_keys, 1),
        (RoleType::Timestamp, &spec.timestamp_keys, 1),
    ] {
        let mut ids: Vec<Decoded<Hex>> = Vec::new();
        for key in list {
            let id = key
                .key_id()
                .map_err(|e| Error::new(ErrorKind::Format, format!("key id: {e}")))?;
            if !ids.contains(&id) {
                ids.push(id.clone());
            }
            keys.insert(id, key.clone());
        }
        if k == 0 || k > ids.len() as u64 {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("{role} threshold {k} with {} distinct key(s)", ids.len()),
            ));
        }
        roles.insert(
            role,
            RoleKeys {
                keyids: ids,
                threshold: nonzero(k),
                _extra: HashMap::new(),
            },
        );
    }
    Ok(Root {
        spec_version: SPEC_VERSION.into(),
        consistent_snapshot: true,
        version,
        expires: spec.expires,
        keys,
        roles,
        _extra: HashMap::new(),
    })
}

fn has_key(root: &Root, role: RoleType, key: &KeyPair) -> bool {
    let id = key.public().key_id().ok();
    root.roles
        .get(&role)
        .is_some_and(|r| id.is_some_and(|id| r.keyids.contains(&id)))
}

fn threshold(root: &Root, role: RoleType) -> u64 {
    root.roles.get(&role).map_or(0, |r| r.threshold.get())
}

/// Valid signatures on `signed` by distinct keys of `root`'s `role`.
fn count_valid<T: Role>(root: &Root, role: RoleType, signed: &Signed<T>) -> Result<u64> {
    let Some(role_keys) = root.roles.get(&role) else {
        return Ok(0);
    };
    let msg = canonical(&signed.signed)?;
    let mut seen = Vec::new();
    for sig in &signed.signatures {
        if seen.contains(&&sig.keyid) || !role_keys.keyids.contains(&sig.keyid) {
            continue;
        }
        if let Some(Key::Ed25519 { keyval, .. }) = root.keys.get(&sig.keyid) {
            let pk = aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ED25519,
                keyval.public.as_ref(),
            );
            if pk.verify(&msg, &sig.sig).is_ok() {
                seen.push(&sig.keyid);
            }
        }
    }
    Ok(seen.len() as u64)
}

/// Adds (or replaces) `key`'s signature.
fn add_signature<T: Role>(signed: &mut Signed<T>, key: &KeyPair) -> Result<()> {
    let keyid = key
        .public()
        .key_id()
        .map_err(|e| Error::new(ErrorKind::Format, format!("key id: {e}")))?;
    let sig = key.sign(&canonical(&signed.signed)?);
    signed.signatures.retain(|s| s.keyid != keyid);
    signed.signatures.push(Signature {
        keyid,
        sig: sig.into(),
    });
    Ok(())
}

fn sign_online<T: Role>(
    root: &Root,
    role: RoleType,
    body: T,
    keys: &[KeyPair],
) -> Result<Signed<T>> {
    let mut signed = Signed {
        signed: body,
        signatures: Vec::new(),
    };
    for key in keys.iter().filter(|k| has_key(root, role, k)) {
        add_signature(&mut signed, key)?;
    }
    if (signed.signatures.len() as u64) < threshold(root, role) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("no {role} key given that root lists (pass the online {role} key)"),
        ));
    }
    Ok(signed)
}

fn canonical<T: Role>(role: &T) -> Result<Vec<u8>> {
    role.canonical_form()
        .map_err(|e| Error::new(ErrorKind::Format, format!("canonical JSON: {e}")))
}

fn target_of(data: &[u8]) -> Target {
    Target {
        length: data.len() as u64,
        hashes: Hashes {
            sha256: Sha256::digest(data).to_vec().into(),
            _extra: HashMap::new(),
        },
        custom: HashMap::new(),
        _extra: HashMap::new(),
    }
}

fn metafile(version: NonZeroU64, bytes: &[u8]) -> Metafile {
    Metafile {
        length: Some(bytes.len() as u64),
        hashes: Some(Hashes {
            sha256: Sha256::digest(bytes).to_vec().into(),
            _extra: HashMap::new(),
        }),
        version,
        _extra: HashMap::new(),
    }
}

fn nonzero(v: u64) -> NonZeroU64 {
    NonZeroU64::new(v).unwrap_or(NonZeroU64::MIN)
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::new(ErrorKind::Format, format!("JSON: {e}")))?;
    v.push(b'\n');
    Ok(v)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    fsutil::write_atomic(path, &to_json(value)?)
}

pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let data = fsutil::read_bounded(path, MAX_METADATA)?;
    serde_json::from_slice(&data)
        .map_err(|e| Error::new(ErrorKind::Format, format!("bad metadata: {e}")).with_path(path))
}

fn read_optional<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    if path.exists() {
        read_json(path).map(Some)
    } else {
        Ok(None)
    }
}
