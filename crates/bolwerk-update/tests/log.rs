//! The transparency log end to end: `publish` appends and stores the
//! inclusion proof, witnesses cosign after checking consistency, and
//! `update` with a policy refuses a pack the log does not show, a
//! checkpoint too few witnesses cosigned, and a forked or rewritten log.

mod common;

use bolwerk_update::tlog::note::{VerifierKey, ALG_COSIGNATURE_V1};
use bolwerk_update::tlog::{witness_cosign, LogWriter, Policy};
use bolwerk_update::{update, ErrorKind, KeyPair};
use common::*;

struct Witness {
    key: VerifierKey,
    pair: KeyPair,
    state: std::path::PathBuf,
}

fn witness(f: &Fixture, name: &str) -> Witness {
    let pair = KeyPair::generate(&f.path(&format!("keys/{}", name.replace('/', "_")))).unwrap();
    Witness {
        key: VerifierKey::new(name, ALG_COSIGNATURE_V1, &pair).unwrap(),
        pair,
        state: f.path(&format!("{}.state", name.replace('/', "_"))),
    }
}

fn cosign(repo: &std::path::Path, log: &VerifierKey, w: &Witness) -> bolwerk_update::Result<u64> {
    witness_cosign(
        &repo.join("log"),
        log,
        &w.key,
        &w.pair,
        &w.state,
        1_700_000_000,
    )
    .map(|c| c.size)
}

fn policy(log: &VerifierKey, witnesses: &[&Witness], k: usize) -> Policy {
    Policy {
        log: log.clone(),
        witnesses: witnesses.iter().map(|w| w.key.clone()).collect(),
        witness_threshold: k,
    }
}

fn with_log(f: &Fixture) -> VerifierKey {
    LogWriter::init(&f.repo.dir().join("log"), "bolwerk.test/packs", &f.log_key).unwrap()
}

fn client(f: &Fixture, repo: &std::path::Path, p: &Policy) -> bolwerk_update::UpdateOptions {
    let mut o = f.client(repo);
    o.policy = Some(p.clone());
    o
}

fn refused_by_log(f: &Fixture, o: &bolwerk_update::UpdateOptions, needle: &str) {
    let before = contents(&f.db());
    let err = update(o).expect_err("accepted");
    assert_eq!(err.kind(), ErrorKind::Log, "{err}");
    assert!(
        err.to_string().contains(needle),
        "wanted {needle:?} in: {err}"
    );
    assert_eq!(contents(&f.db()), before, "written after: {err}");
}

#[test]
fn publish_appends_witnesses_cosign_update_checks_inclusion_and_consistency() {
    let f = Fixture::new();
    let log = with_log(&f);
    let (w1, w2) = (
        witness(&f, "witness.test/w1"),
        witness(&f, "witness.test/w2"),
    );
    let p = policy(&log, &[&w1, &w2], 2);
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    assert!(f.repo.metadata().join("1.targets.tlog.json").is_file());
    refused_by_log(
        &f,
        &client(&f, f.repo.dir(), &p),
        "0 of the 2 required witness",
    );
    assert_eq!(cosign(f.repo.dir(), &log, &w1).unwrap(), 1);
    refused_by_log(
        &f,
        &client(&f, f.repo.dir(), &p),
        "1 of the 2 required witness",
    );
    cosign(f.repo.dir(), &log, &w2).unwrap();
    let r = update(&client(&f, f.repo.dir(), &p)).unwrap();
    assert!(
        r.log.iter().any(|l| l == "targets v1 is leaf 0 of the log"),
        "{:?}",
        r.log
    );
    assert!(
        r.log
            .iter()
            .any(|l| l.contains("witness.test/w1, witness.test/w2")),
        "{:?}",
        r.log
    );

    f.publish(&[f.file("b.hdb", EICAR_HDB.as_bytes())], &[1, 2]);
    cosign(f.repo.dir(), &log, &w1).unwrap();
    cosign(f.repo.dir(), &log, &w2).unwrap();
    let r = update(&client(&f, f.repo.dir(), &p)).unwrap();
    assert!(
        r.log.iter().any(|l| l == "targets v2 is leaf 1 of the log"),
        "{:?}",
        r.log
    );
    assert!(r
        .log
        .iter()
        .any(|l| l == "consistent with the checkpoint of size 1 seen before"));
    assert!(f.db().join("b.hdb").is_file());
}

/// A pack published with the log hidden from the tool: valid TUF, absent
/// from the log. Also: its proof swapped for another pack's.
#[test]
fn pack_absent_from_the_log_is_refused() {
    let f = Fixture::new();
    let log = with_log(&f);
    let p = policy(&log, &[], 0);
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    update(&client(&f, f.repo.dir(), &p)).unwrap();
    let cfg = f.repo.dir().join("log/config.json");
    std::fs::rename(&cfg, f.path("hidden.json")).unwrap();
    f.publish(&[f.file("secret.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    std::fs::rename(f.path("hidden.json"), &cfg).unwrap();
    refused_by_log(
        &f,
        &client(&f, f.repo.dir(), &p),
        "targets v2 has no inclusion proof",
    );
    let m = f.repo.metadata();
    std::fs::copy(m.join("1.targets.tlog.json"), m.join("2.targets.tlog.json")).unwrap();
    refused_by_log(
        &f,
        &client(&f, f.repo.dir(), &p),
        "targets v2 is not in the log",
    );
    assert!(!f.db().join("secret.hdb").exists());
    // Without a policy the same repository installs: the log is what refused.
    update(&f.client(f.repo.dir())).unwrap();
    assert!(f.db().join("secret.hdb").exists());
}

/// A split view: after v1 the repository (keys, log key and all) is
/// copied; the copy publishes its own history. Two checkpoints of size 2
/// with different roots, then a longer log that does not extend what the
/// client saw: the client and the witness refuse both.
#[test]
fn forked_log_is_detected() {
    let f = Fixture::new();
    let log = with_log(&f);
    let w = witness(&f, "witness.test/w1");
    let p = policy(&log, &[], 0);
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    cosign(f.repo.dir(), &log, &w).unwrap();
    let fork_dir = f.copy_repo("fork");
    f.publish(&[f.file("b.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    cosign(f.repo.dir(), &log, &w).unwrap();
    update(&client(&f, f.repo.dir(), &p)).unwrap();

    let fork = bolwerk_update::PackRepo::open(&fork_dir).unwrap();
    fork.add(&[f.file("victim-only.hdb", EICAR_HDB.as_bytes())], days(90))
        .unwrap();
    fork.sign(&f.targets_keys[0]).unwrap();
    fork.sign(&f.targets_keys[2]).unwrap();
    fork.publish(&f.options(days(7))).unwrap();
    refused_by_log(
        &f,
        &client(&f, &fork_dir, &p),
        "forked log: two checkpoints of size 2",
    );
    let err = cosign(&fork_dir, &log, &w).unwrap_err();
    assert!(err.to_string().contains("forked log"), "{err}");

    fork.add(&[f.file("more.hdb", EICAR_HDB.as_bytes())], days(90))
        .unwrap();
    fork.sign(&f.targets_keys[0]).unwrap();
    fork.sign(&f.targets_keys[1]).unwrap();
    fork.publish(&f.options(days(7))).unwrap();
    refused_by_log(
        &f,
        &client(&f, &fork_dir, &p),
        "not consistent with the checkpoint of size 2",
    );
    let err = cosign(&fork_dir, &log, &w).unwrap_err();
    assert!(err.to_string().contains("not consistent"), "{err}");
    assert!(!f.db().join("victim-only.hdb").exists());
}

/// A checkpoint signed by another key, and a policy file with a bad key.
#[test]
fn checkpoint_not_signed_by_the_log_and_bad_policy_are_refused() {
    let f = Fixture::new();
    let log = with_log(&f);
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    let other = KeyPair::generate(&f.path("keys/other")).unwrap();
    let impostor = VerifierKey::new("bolwerk.test/packs", 1, &other).unwrap();
    refused_by_log(
        &f,
        &client(&f, f.repo.dir(), &policy(&impostor, &[], 0)),
        "not signed by the log key",
    );
    let text = format!(
        "[log]\nkey = \"{}\"\nwitness_threshold = 1\n",
        log.to_vkey()
    );
    let err = Policy::parse(&text).unwrap_err();
    assert!(
        err.to_string()
            .contains("witness_threshold 1 with 0 witness"),
        "{err}"
    );
    assert!(Policy::parse("[log]\nkey = \"nonsense\"\n").is_err());
    assert!(Policy::parse(&format!("[log]\nkey = \"{}\"\n", log.to_vkey())).is_ok());
}
