//! A pack repository with real keys and real signature files, a client
//! database directory, and the tools an attacker would use on a copy of
//! the repository (rewriting metadata and re-signing it with the online
//! snapshot and timestamp keys, which are the easiest to steal).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bolwerk_update::{
    update, KeyPair, PackRepo, PublishOptions, Published, RootSpec, Source, UpdateOptions,
    UpdateReport,
};
use jiff::{Timestamp, ToSpan};
use sha2::{Digest, Sha256};
use tough::schema::{Hashes, Role, Signature, Signed, Snapshot, Targets, Timestamp as Ts};

/// An EICAR MD5 signature, as in ClamAV's own test database.
pub const EICAR_HDB: &str = "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n";

/// ClamAV's signed test database from the shared corpora.
pub fn test3_cvd() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../../shared/corpora/clamav/test-3.cvd")
}

pub fn days(n: i64) -> Timestamp {
    Timestamp::now() + (n * 24).hours()
}

/// Keys (kept outside the repository, in `keys/`), the repository, a
/// client database directory.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root_keys: Vec<KeyPair>,
    pub targets_keys: Vec<KeyPair>,
    pub snapshot: KeyPair,
    pub timestamp: KeyPair,
    pub log_key: KeyPair,
    pub repo: PackRepo,
}

impl Fixture {
    /// Root 2-of-3, targets 2-of-3, root v1 signed and nothing published.
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::create_dir_all(dir.path().join("db")).unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        let key = |n: &str| KeyPair::generate(&dir.path().join("keys").join(n)).unwrap();
        let root_keys: Vec<KeyPair> = (1..=3).map(|i| key(&format!("root{i}"))).collect();
        let targets_keys: Vec<KeyPair> = (1..=3).map(|i| key(&format!("signer{i}"))).collect();
        let (snapshot, timestamp, log_key) = (key("snapshot"), key("timestamp"), key("log"));
        let spec = spec(&root_keys, &targets_keys, &snapshot, &timestamp);
        let repo = PackRepo::init(&dir.path().join("repo"), &spec).unwrap();
        for k in &root_keys[..2] {
            repo.sign(k).unwrap();
        }
        Fixture {
            dir,
            root_keys,
            targets_keys,
            snapshot,
            timestamp,
            log_key,
            repo,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn db(&self) -> PathBuf {
        self.path("db")
    }

    /// Writes a file to add to the pack.
    pub fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.path("files").join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    /// Adds files, has signers `who` sign, publishes.
    pub fn publish(&self, files: &[PathBuf], who: &[usize]) -> Published {
        if !files.is_empty() {
            self.repo.add(files, days(90)).unwrap();
        }
        for &i in who {
            self.repo.sign(&self.targets_keys[i]).unwrap();
        }
        self.repo.publish(&self.options(days(7))).unwrap()
    }

    pub fn options(&self, timestamp_expires: Timestamp) -> PublishOptions<'_> {
        PublishOptions {
            snapshot_keys: std::slice::from_ref(&self.snapshot),
            timestamp_keys: std::slice::from_ref(&self.timestamp),
            snapshot_expires: days(30),
            timestamp_expires,
            log_key: Some(&self.log_key),
        }
    }

    /// Update options from `repo` into the fixture's database.
    pub fn client(&self, repo: &Path) -> UpdateOptions {
        let mut o = UpdateOptions::new(Source::Dir(repo.to_path_buf()), &self.db());
        o.root = Some(self.repo.metadata().join("1.root.json"));
        o
    }

    pub fn update(&self) -> bolwerk_update::Result<UpdateReport> {
        update(&self.client(self.repo.dir()))
    }

    /// A copy of the repository as it is now (what a mirror may serve later).
    pub fn copy_repo(&self, name: &str) -> PathBuf {
        let dest = self.path(name);
        copy_tree(self.repo.dir(), &dest);
        dest
    }
}

pub fn spec(
    root: &[KeyPair],
    targets: &[KeyPair],
    snapshot: &KeyPair,
    timestamp: &KeyPair,
) -> RootSpec {
    RootSpec {
        root_keys: root.iter().map(|k| k.public().clone()).collect(),
        root_threshold: 2,
        targets_keys: targets.iter().map(|k| k.public().clone()).collect(),
        targets_threshold: 2,
        snapshot_keys: vec![snapshot.public().clone()],
        timestamp_keys: vec![timestamp.public().clone()],
        expires: days(365),
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Every file under `dir` with its contents (for "nothing was written").
pub fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.map(Result::unwrap) {
            if e.path().is_dir() {
                out.extend(contents(&e.path()));
            } else {
                out.insert(e.path(), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

pub fn read<T: serde::de::DeserializeOwned>(p: &Path) -> T {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

pub fn write<T: serde::Serialize>(p: &Path, v: &T) {
    std::fs::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

pub fn sign<T: Role>(role: &T, key: &KeyPair) -> Signature {
    Signature {
        keyid: key.public().key_id().unwrap(),
        sig: key.sign(&role.canonical_form().unwrap()).into(),
    }
}

/// What an attacker holding the online keys can do to a repository copy:
/// replace targets metadata version `v` and re-sign snapshot and timestamp
/// so that they vouch for it.
pub fn forge_targets(f: &Fixture, repo: &Path, v: u64, edit: impl FnOnce(&mut Signed<Targets>)) {
    let path = repo.join(format!("metadata/{v}.targets.json"));
    let mut targets: Signed<Targets> = read(&path);
    edit(&mut targets);
    write(&path, &targets);
    resign_snapshot(f, repo, &std::fs::read(&path).unwrap());
}

/// Points the newest snapshot at `targets_bytes` and re-signs snapshot and
/// timestamp with the online keys.
pub fn resign_snapshot(f: &Fixture, repo: &Path, targets_bytes: &[u8]) {
    let ts_path = repo.join("metadata/timestamp.json");
    let mut ts: Signed<Ts> = read(&ts_path);
    let sv = ts.signed.meta["snapshot.json"].version;
    let snap_path = repo.join(format!("metadata/{sv}.snapshot.json"));
    let mut snap: Signed<Snapshot> = read(&snap_path);
    let meta = snap.signed.meta.get_mut("targets.json").unwrap();
    meta.length = Some(targets_bytes.len() as u64);
    meta.hashes = Some(hashes(targets_bytes));
    snap.signatures = vec![sign(&snap.signed, &f.snapshot)];
    write(&snap_path, &snap);
    let snap_bytes = std::fs::read(&snap_path).unwrap();
    let meta = ts.signed.meta.get_mut("snapshot.json").unwrap();
    meta.length = Some(snap_bytes.len() as u64);
    meta.hashes = Some(hashes(&snap_bytes));
    ts.signatures = vec![sign(&ts.signed, &f.timestamp)];
    write(&ts_path, &ts);
}

pub fn hashes(data: &[u8]) -> Hashes {
    Hashes {
        sha256: Sha256::digest(data).to_vec().into(),
        _extra: Default::default(),
    }
}
