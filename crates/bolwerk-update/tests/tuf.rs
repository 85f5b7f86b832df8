//! Packs through TUF end to end: 2-of-3 signers, publish, update from a
//! directory, a second pack, a root rotation; then each attack the issue
//! names, refused with a clear message and nothing written to the
//! database directory or the client's trusted state.

mod common;

use bolwerk_update::{update, ErrorKind, KeyPair, Limits};
use common::*;
use tough::schema::{Root, Signed};

/// Runs an update that must be refused; checks the message names the
/// problem and that the database directory and the state are unchanged.
fn refused(f: &Fixture, opts: &bolwerk_update::UpdateOptions, needle: &str) {
    let before = contents(&f.db());
    let err = update(opts).expect_err("the update was accepted");
    let text = err.to_string();
    assert!(
        text.to_lowercase().contains(&needle.to_lowercase()),
        "expected {needle:?} in: {text}"
    );
    assert_eq!(contents(&f.db()), before, "files changed after: {text}");
    eprintln!("refused as expected: {text}");
}

fn read_db(f: &Fixture, name: &str) -> Vec<u8> {
    std::fs::read(f.db().join(name)).unwrap()
}

#[test]
fn two_of_three_publish_update_second_pack_and_root_rotation() {
    let f = Fixture::new();
    let cvd = test3_cvd();
    let hdb = f.file("eicar.hdb", EICAR_HDB.as_bytes());
    // One signature is not enough; the second signer completes it.
    f.repo.add(&[cvd.clone(), hdb.clone()], days(90)).unwrap();
    f.repo.sign(&f.targets_keys[0]).unwrap();
    let err = f.repo.publish(&f.options(days(7))).unwrap_err();
    assert!(
        err.to_string().contains("targets v1: 1 of 2 signatures"),
        "{err}"
    );
    f.repo.sign(&f.targets_keys[2]).unwrap();
    let p1 = f.repo.publish(&f.options(days(7))).unwrap();
    assert_eq!((p1.root_version, p1.targets_version), (1, 1));

    let r1 = f.update().unwrap();
    assert_eq!(r1.targets_version, 1);
    assert_eq!(read_db(&f, "test-3.cvd"), std::fs::read(&cvd).unwrap());
    assert_eq!(read_db(&f, "eicar.hdb"), EICAR_HDB.as_bytes());

    // A second pack: one file added, one removed.
    let ndb = f.file("extra.ndb", b"Test.Extra:0:*:414243444546\n");
    f.repo.remove(&["eicar.hdb".into()], days(90)).unwrap();
    f.publish(&[ndb], &[0, 1]);
    let r2 = f.update().unwrap();
    assert_eq!(r2.targets_version, 2);
    assert_eq!(r2.removed, vec!["eicar.hdb".to_string()]);
    assert!(!f.db().join("eicar.hdb").exists());
    assert!(f.db().join("extra.ndb").is_file());

    // Root rotation: root key 3 and signer 3 are replaced. The new root
    // needs 2 of the old root keys and 2 of its own.
    let new_root_key = KeyPair::generate(&f.path("keys/root4")).unwrap();
    let new_signer = KeyPair::generate(&f.path("keys/signer4")).unwrap();
    let roots = [&f.root_keys[0], &f.root_keys[1], &new_root_key];
    let signers = [&f.targets_keys[0], &f.targets_keys[1], &new_signer];
    let spec = spec(
        &roots.map(clone_key(&f)),
        &signers.map(clone_key(&f)),
        &f.snapshot,
        &f.timestamp,
    );
    assert_eq!(f.repo.rotate(&spec).unwrap(), 2);
    f.repo.sign(&new_root_key).unwrap();
    let status = f.repo.sign(&f.root_keys[2]).unwrap();
    assert_eq!(
        status[0].to_string(),
        "root v2: 1 of 2 signatures; 1 of 2 by the previous root's keys"
    );
    assert!(
        f.repo.publish(&f.options(days(7))).is_err(),
        "published below threshold"
    );
    f.repo.sign(&f.root_keys[0]).unwrap();
    let hsb = f.file("more.hsb", b"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:68:Eicar-Test-Signature\n");
    f.repo.add(&[hsb], days(90)).unwrap();
    f.repo.sign(&new_signer).unwrap();
    f.repo.sign(&f.targets_keys[1]).unwrap();
    f.repo.publish(&f.options(days(7))).unwrap();
    let r3 = f.update().unwrap();
    assert_eq!((r3.root_version, r3.targets_version), (2, 3));
    assert!(f.db().join("more.hsb").is_file());
    // The old signer 3 alone with signer 1 no longer makes a pack.
    f.repo
        .add(&[f.file("x.hdb", EICAR_HDB.as_bytes())], days(90))
        .unwrap();
    assert!(
        f.repo.sign(&f.targets_keys[2]).is_err(),
        "a removed key signed"
    );
}

/// Keys are not Clone: read them back from their files.
fn clone_key(f: &Fixture) -> impl Fn(&KeyPair) -> KeyPair + '_ {
    move |k| {
        let dir = f.path("keys");
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_none())
            .map(|p| KeyPair::read(&p).unwrap())
            .find(|c| c.key_id() == k.key_id())
            .unwrap()
    }
}

/// A client that has seen version 2 is offered the older version 1 again.
#[test]
fn rollback_to_an_older_version_is_refused() {
    let f = Fixture::new();
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    let old = f.copy_repo("old");
    f.publish(&[f.file("b.hdb", EICAR_HDB.as_bytes())], &[1, 2]);
    f.update().unwrap();
    refused(&f, &f.client(&old), "found version 1 of timestamp");
    assert!(f.db().join("b.hdb").exists());
}

/// Metadata past its expiry (a freeze attack) is refused.
#[test]
fn expired_metadata_is_refused() {
    let f = Fixture::new();
    f.repo
        .add(&[f.file("a.hdb", EICAR_HDB.as_bytes())], days(90))
        .unwrap();
    f.repo.sign(&f.targets_keys[0]).unwrap();
    f.repo.sign(&f.targets_keys[1]).unwrap();
    f.repo.publish(&f.options(days(-1))).unwrap();
    refused(&f, &f.client(f.repo.dir()), "expired");
    assert!(!f.db().join("a.hdb").exists());
}

/// Targets signed by one key of the two required, re-vouched for by
/// stolen online keys.
#[test]
fn targets_below_threshold_are_refused() {
    let f = Fixture::new();
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    let evil = f.copy_repo("evil");
    forge_targets(&f, &evil, 1, |t| {
        t.signed.targets.clear();
        t.signatures = vec![sign(&t.signed, &f.targets_keys[0])];
    });
    refused(
        &f,
        &f.client(&evil),
        "threshold of 2 not met for role targets (1 valid",
    );
}

/// Two signatures, but one by a key root does not list.
#[test]
fn signature_by_a_key_not_in_root_is_refused() {
    let f = Fixture::new();
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    let stranger = KeyPair::generate(&f.path("keys/stranger")).unwrap();
    let evil = f.copy_repo("evil");
    forge_targets(&f, &evil, 1, |t| {
        t.signed.targets.clear();
        t.signatures = vec![
            sign(&t.signed, &f.targets_keys[0]),
            sign(&t.signed, &stranger),
        ];
    });
    refused(
        &f,
        &f.client(&evil),
        "threshold of 2 not met for role targets (1 valid",
    );
    assert!(f.repo.sign(&stranger).is_err(), "a key outside root signed");
}

/// A target file whose content or length differs from the signed metadata.
#[test]
fn target_with_other_hash_or_length_is_refused() {
    let f = Fixture::new();
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    let target = |repo: &std::path::Path| {
        std::fs::read_dir(repo.join("targets"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    };
    let same_length = f.copy_repo("hash");
    let t = target(&same_length);
    std::fs::write(&t, EICAR_HDB.replace("Eicar", "Evil!")).unwrap();
    refused(&f, &f.client(&same_length), "hash mismatch");
    let longer = f.copy_repo("length");
    let t = target(&longer);
    std::fs::write(&t, EICAR_HDB.repeat(2)).unwrap();
    refused(&f, &f.client(&longer), "maximum size 57");
    assert!(!f.db().join("a.hdb").exists());
}

/// Snapshot says targets v2; the mirror serves v1's targets under v2's name.
#[test]
fn metadata_mixed_from_two_snapshots_is_refused() {
    let f = Fixture::new();
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    f.publish(&[f.file("b.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    let mixed = f.copy_repo("mixed");
    let m = mixed.join("metadata");
    std::fs::copy(m.join("1.targets.json"), m.join("2.targets.json")).unwrap();
    refused(&f, &f.client(&mixed), "hash mismatch");
    // Even with the hash re-vouched for by the stolen snapshot key, the
    // version inside does not match what the snapshot lists.
    resign_snapshot(
        &f,
        &mixed,
        &std::fs::read(m.join("2.targets.json")).unwrap(),
    );
    refused(&f, &f.client(&mixed), "version");
}

/// An endless-data attack on timestamp.json (2 MiB; the limit is 1 MiB).
#[test]
fn over_long_metadata_is_refused() {
    let f = Fixture::new();
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    let long = f.copy_repo("long");
    let ts = long.join("metadata/timestamp.json");
    let mut data = std::fs::read(&ts).unwrap();
    data.extend(std::iter::repeat_n(b' ', 2 << 20));
    std::fs::write(&ts, data).unwrap();
    assert_eq!(Limits::default().max_timestamp_size, 1 << 20);
    refused(&f, &f.client(&long), "max_timestamp_size");
    // A pack file over the client's own cap is refused before it is read.
    let mut small = f.client(f.repo.dir());
    small.max_target_size = 10;
    refused(&f, &small, "limit");
}

/// A new root signed only by new keys, not by the old root's threshold.
#[test]
fn root_rotation_without_the_old_threshold_is_refused() {
    let f = Fixture::new();
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    f.update().unwrap();
    let usurpers: Vec<KeyPair> = (1..=3)
        .map(|i| KeyPair::generate(&f.path(&format!("keys/usurper{i}"))).unwrap())
        .collect();
    // The repository tool refuses to publish it...
    let spec = spec(&usurpers, &usurpers, &f.snapshot, &f.timestamp);
    f.repo.rotate(&spec).unwrap();
    f.repo.sign(&usurpers[0]).unwrap();
    f.repo.sign(&usurpers[1]).unwrap();
    f.repo.sign(&f.root_keys[0]).unwrap();
    let err = f.repo.publish(&f.options(days(7))).unwrap_err();
    assert!(
        err.to_string()
            .contains("1 of 2 by the previous root's keys"),
        "{err}"
    );
    // ...and a client refuses it when it is written by hand.
    let evil = f.copy_repo("evil");
    let mut root: Signed<Root> = read(&evil.join("staged/root.json"));
    root.signatures
        .retain(|s| s.keyid != f.root_keys[0].public().key_id().unwrap());
    write(&evil.join("metadata/2.root.json"), &root);
    refused(&f, &f.client(&evil), "threshold of 2 not met for role root");
}

/// The first update needs a root obtained out of band.
#[test]
fn first_update_without_a_trusted_root_is_refused() {
    let f = Fixture::new();
    f.publish(&[f.file("a.hdb", EICAR_HDB.as_bytes())], &[0, 1]);
    let mut o = f.client(f.repo.dir());
    o.root = None;
    let err = update(&o).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("--root"), "{err}");
}
