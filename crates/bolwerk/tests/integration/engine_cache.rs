//! Compiled engine images: the automatic cache and `bolwerk db compile`.
//! A cached or compiled engine must answer exactly as the databases it was
//! made from, replay their load warnings, follow every change to them, and
//! be rebuilt — never used — when damaged.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{gen_clamdb, run, testfiles, Dir, Run};

/// `bolwerk clamscan ARGS` with its cache under `cache`.
fn scan(cwd: &Path, cache: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bolwerk"));
    cmd.env("XDG_CACHE_HOME", cache);
    let mut all = vec!["clamscan", "--no-summary", "--no-builtin", "-r"];
    all.extend_from_slice(args);
    run(cmd, cwd, &all, None)
}

/// Output lines in order (the walk is parallel).
fn sorted(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

fn images(cache: &Path) -> Vec<PathBuf> {
    let dir = cache.join("bolwerk/engines");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "bwdb"));
    v.sort();
    v
}

#[test]
fn cached_engine_answers_as_the_databases_and_follows_changes() {
    let d = Dir::new();
    for f in ["clam.exe", "clam.zip", "clam.pdf"] {
        std::fs::create_dir_all(d.join("corpus")).unwrap();
        std::fs::copy(testfiles().join(f), d.join("corpus").join(f)).unwrap();
    }
    // More than the cache threshold.
    let db = gen_clamdb(&d, "0.03", "hdb,hsb,mdb,ndb,ldb");
    // A malformed line: its warning must be shown from the cache too.
    let mut extra = std::fs::read_to_string(db.join("synth.hdb")).unwrap();
    extra.push_str("this is not a signature\n");
    std::fs::write(db.join("synth.hdb"), extra).unwrap();
    let cache = d.join("xdg");
    let args = ["-d", db.to_str().unwrap(), "corpus"];

    let fresh = scan(d.path(), &cache, &args);
    assert_eq!(fresh.code, 1, "{}", fresh.stderr);
    assert_eq!(
        fresh.stdout.matches("Synth.Planted.").count(),
        3,
        "{}",
        fresh.stdout
    );
    assert!(fresh.stderr.contains("synth.hdb:"), "{}", fresh.stderr);
    let made = images(&cache);
    assert_eq!(made.len(), 1, "one image written");

    let cached = scan(d.path(), &cache, &args);
    assert_eq!(
        (sorted(&cached.stdout), &cached.stderr, cached.code),
        (sorted(&fresh.stdout), &fresh.stderr, fresh.code)
    );
    let uncached = scan(
        d.path(),
        &cache,
        &["--no-cache", "-d", db.to_str().unwrap(), "corpus"],
    );
    assert_eq!(sorted(&uncached.stdout), sorted(&fresh.stdout));

    // The second map stamped the image as checked (the next skips the
    // checksum while the image stays as it is) …
    let stamp = PathBuf::from(format!("{}.checked", made[0].display()));
    assert!(stamp.is_file(), "no stamp beside {}", made[0].display());
    // … and damage rewrites it: refused, rebuilt, same answers.
    let mut bytes = std::fs::read(&made[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&made[0], bytes).unwrap();
    let after = scan(d.path(), &cache, &args);
    assert!(
        after.stderr.contains("checksum mismatch"),
        "{}",
        after.stderr
    );
    assert_eq!(sorted(&after.stdout), sorted(&fresh.stdout));
    let again = scan(d.path(), &cache, &args);
    assert!(!again.stderr.contains("rebuilding"), "{}", again.stderr);

    // A changed database gives a new image and new answers.
    d.write(
        "corpus/new.bin",
        b"\x00a file no planted signature names\x01",
    );
    std::fs::write(
        db.join("local.hdb"),
        format!(
            "{}:*:Local.Change-1:73\n",
            md5_of(&d.join("corpus/new.bin"))
        ),
    )
    .unwrap();
    let changed = scan(d.path(), &cache, &args);
    assert!(
        changed.stdout.contains("Local.Change-1"),
        "{}",
        changed.stdout
    );
    assert_eq!(images(&cache).len(), 2);
}

fn md5_of(p: &Path) -> String {
    let out = Command::new("md5sum").arg(p).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..32].to_string()
}

#[test]
fn compiled_image_is_used_as_a_database() {
    let d = Dir::new();
    std::fs::create_dir_all(d.join("corpus")).unwrap();
    std::fs::copy(testfiles().join("clam.exe"), d.join("corpus/clam.exe")).unwrap();
    let db = d.write("db/small.ndb", "Small.Body:0:*:555345523332\nBad line\n");
    let cache = d.join("xdg");
    let image = d.join("small.bwdb");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bolwerk"));
    cmd.env("XDG_CACHE_HOME", &cache);
    let compiled = run(
        cmd,
        d.path(),
        &[
            "db",
            "compile",
            "--no-builtin",
            db.to_str().unwrap(),
            "-o",
            image.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        compiled.code, 1,
        "a malformed line: exit 1\n{}",
        compiled.stderr
    );
    assert!(
        compiled.stdout.contains("signatures from"),
        "{}",
        compiled.stdout
    );
    let from_db = scan(d.path(), &cache, &["-d", db.to_str().unwrap(), "corpus"]);
    let from_image = scan(d.path(), &cache, &["-d", image.to_str().unwrap(), "corpus"]);
    assert_eq!(from_db.stdout, from_image.stdout);
    assert!(
        from_image.stdout.contains("Small.Body.UNOFFICIAL FOUND"),
        "{}",
        from_image.stdout
    );
    assert!(
        from_image.stderr.contains("small.ndb:2:"),
        "{}",
        from_image.stderr
    );
    assert!(images(&cache).is_empty(), "small databases are not cached");
    let mixed = scan(
        d.path(),
        &cache,
        &[
            "-d",
            image.to_str().unwrap(),
            "-d",
            db.to_str().unwrap(),
            "corpus",
        ],
    );
    assert_eq!(mixed.code, 2);
    assert!(mixed.stderr.contains("used alone"), "{}", mixed.stderr);
}

/// Body and logical signatures are what compiling costs: a database of
/// 5,000 of them is cached though it is far from 100,000 signatures, and
/// the mapped image answers as the database; 4,999 are compiled each time.
#[test]
fn many_body_signatures_are_cached_few_are_not() {
    let d = Dir::new();
    let corpus = d.write("corpus/a.txt", "a line with pattern-4321. in it\n");
    for (n, cached) in [(4_999u32, false), (5_000, true)] {
        let cache = d.join(&format!("xdg-{n}"));
        let lines: String = (0..n)
            .map(|i| {
                let hex: String = format!("pattern-{i}.")
                    .bytes()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("Many.Body-{i}:0:*:{hex}\n")
            })
            .collect();
        let db = d.write(&format!("db-{n}/many.ndb"), lines);
        let args = ["-d", db.to_str().unwrap(), corpus.to_str().unwrap()];
        let first = scan(d.path(), &cache, &args);
        assert_eq!(images(&cache).len(), usize::from(cached), "{n} signatures");
        let again = scan(d.path(), &cache, &args);
        assert!(
            first.stdout.contains("Many.Body-4321.UNOFFICIAL FOUND"),
            "{}",
            first.stdout
        );
        assert_eq!(
            first.stdout, again.stdout,
            "{n}: the image answers as the database"
        );
    }
}
