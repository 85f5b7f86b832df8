//! The signed ClamAV test databases: genuine copies verify and load;
//! tampered, truncated and re-headed copies are refused with a reason.

use std::path::PathBuf;

use bolwerk_sigs::{cvd, ContainerKind, DbKind, ErrorKind, LoadOptions, Loader};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../../shared/corpora/clamav")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(corpus(name)).expect("shared corpora present")
}

fn refused(bytes: &[u8]) -> String {
    match cvd::open(bytes, ContainerKind::Cvd) {
        Ok(_) => panic!("a modified container was accepted"),
        Err(e) => {
            assert!(matches!(e.kind(), ErrorKind::Container(_)), "{e}");
            e.to_string()
        }
    }
}

#[test]
fn genuine_containers_verify() {
    for (name, version) in [("test-1.cvd", 1), ("test-2.cvd", 2), ("test-3.cvd", 3)] {
        let c = cvd::open(&read(name), ContainerKind::Cvd).unwrap();
        assert_eq!(c.header.version, version, "{name}");
        assert_eq!(c.header.flevel, 81);
        assert!(c.checks.iter().any(|m| m.contains("release key")), "{name}");
        assert!(
            c.checks.iter().any(|m| m.contains(".info signature")),
            "{name}"
        );
    }
}

#[test]
fn test3_loads_its_hash_signatures() {
    let mut loader = Loader::new(LoadOptions::default());
    loader.add_path(&corpus("test-3.cvd")).unwrap();
    let (set, diags) = loader.finish();
    assert!(diags.is_empty(), "{diags:?}");
    // test.hdb: 2 MD5; test.hsb: 1 SHA-256; test.mdb / .msb: one each;
    // test.fp / .sfp: one allow entry each. clamscan counts these 7.
    assert_eq!(set.file_hashes.md5.len(), 2);
    assert_eq!(set.file_hashes.sha256.len(), 1);
    assert_eq!(set.section_hashes.md5.len(), 1);
    assert_eq!(set.section_hashes.sha256.len(), 1);
    assert_eq!(set.allow.len(), 2);
    assert_eq!(set.known_signatures(), 7);
    // The end-of-life body signature is limited to levels 0-38.
    assert_eq!(set.stats.out_of_level, 1);
    assert!(set.bodies.is_empty());
    assert_eq!(set.stats.pua_not_loaded, 4);
    assert!(set.sources.iter().all(|s| s.official));
    let clam = set.file_hashes.md5.iter().find(|r| r.size == 544).unwrap();
    assert_eq!(set.names.get(clam.name), "Clamav.Test.File-6");
    assert!(set
        .source_of(clam.name)
        .unwrap()
        .path
        .ends_with("test-3.cvd//test.hdb"));
}

#[test]
fn pua_loads_on_request() {
    let mut loader = Loader::new(LoadOptions {
        detect_pua: true,
        ..LoadOptions::default()
    });
    loader.add_path(&corpus("test-3.cvd")).unwrap();
    let (set, _) = loader.finish();
    assert_eq!(set.known_signatures(), 11);
    assert_eq!(set.stats.pua_not_loaded, 0);
}

#[test]
fn flipped_payload_byte_is_refused() {
    for offset in [512, 600, 4000, 9000] {
        let mut bytes = read("test-3.cvd");
        bytes[offset] ^= 0x01;
        let msg = refused(&bytes);
        assert!(msg.contains("MD5"), "{offset}: {msg}");
    }
}

#[test]
fn truncated_copy_is_refused() {
    let bytes = read("test-3.cvd");
    for len in [0, 100, 511, 512, 600, bytes.len() - 1] {
        refused(&bytes[..len]);
    }
}

#[test]
fn changed_header_fields_are_refused() {
    let bytes = read("test-3.cvd");
    let header = String::from_utf8(bytes[..512].to_vec()).unwrap();
    let edits = [
        (":3:11:81:", ":4:11:81:"), // version
        (":3:11:81:", ":3:12:81:"), // signature count
        (":3:11:81:", ":3:11:82:"), // functionality level
        ("raynman", "mallory"),     // builder
        ("20-40", "20-41"),         // build time
        ("75c84c7f", "75c84c7e"),   // md5
        ("j1b39yL", "j1b39yM"),     // signature
    ];
    for (from, to) in edits {
        let mut changed = header.replacen(from, to, 1).into_bytes();
        assert_ne!(changed, bytes[..512].to_vec(), "{from}");
        changed.extend_from_slice(&bytes[512..]);
        let msg = refused(&changed);
        assert!(!msg.is_empty());
    }
}

#[test]
fn refused_container_names_the_file_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = read("test-3.cvd");
    bytes[700] ^= 0xff;
    std::fs::write(dir.path().join("bad.cvd"), &bytes).unwrap();
    std::fs::write(
        dir.path().join("local.hdb"),
        "44d88612fea8a8f36de82e1278abb02f:68:Local.Eicar\nbroken line\n",
    )
    .unwrap();
    let mut loader = Loader::new(LoadOptions::default());
    loader.add_path(dir.path()).unwrap();
    let (set, diags) = loader.finish();
    assert_eq!(diags.len(), 2, "{diags:?}");
    let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert!(text
        .iter()
        .any(|t| t.contains("bad.cvd") && t.contains("refused")));
    assert!(text
        .iter()
        .any(|t| t.ends_with("local.hdb:2: a hash signature needs at least 3 ':' fields")));
    assert_eq!(set.known_signatures(), 1);
    assert!(!set.sources[0].official);
    assert_eq!(
        DbKind::from_name("bad.cvd"),
        Some(DbKind::Container(ContainerKind::Cvd))
    );
}

#[test]
fn cud_is_unofficial_and_cld_needs_signed_info() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = read("test-3.cvd");
    std::fs::write(dir.path().join("test.cud"), &bytes).unwrap();
    let mut loader = Loader::new(LoadOptions::default());
    loader.add_path(&dir.path().join("test.cud")).unwrap();
    let (set, diags) = loader.finish();
    assert!(diags.is_empty(), "{diags:?}");
    assert!(set.sources.iter().all(|s| !s.official));

    // A .cld is a plain tar: unpack the CVD's payload to build one.
    let mut tar = Vec::new();
    let mut gz = flate2::read::GzDecoder::new(&bytes[512..]);
    std::io::Read::read_to_end(&mut gz, &mut tar).unwrap();
    let mut cld = bytes[..512].to_vec();
    cld.extend_from_slice(&tar);
    let c = cvd::open(&cld, ContainerKind::Cld).unwrap();
    assert!(c.checks.iter().any(|m| m.contains(".info signature")));
    // With the .info signature line damaged, the .cld is refused.
    let pos = find(&cld, b"DSIG:").unwrap() + 6;
    cld[pos] = if cld[pos] == b'a' { b'b' } else { b'a' };
    assert!(cvd::open(&cld, ContainerKind::Cld).is_err());
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
