//! Differential tests: the real `clamscan` (Debian's ClamAV) and
//! `bolwerk clamscan` scan the same files with the same databases and must
//! print the same lines and exit with the same code.
//!
//! The database holds every hash-signature variant: MD5, SHA-1 and SHA-256,
//! with sizes and with `*`; level-limited lines; PE section hashes of
//! real executables (the MD5 ones as ClamAV's own `sigtool --mdb` computes
//! them); allow lists (`.fp`, `.sfp`); and an ignore list (`.ign2`) naming
//! signatures outright and pinned to one line.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

use crate::util::{bolwerk_in, run, same_lines_as_clamscan, testfiles, Dir, Run, EICAR};

pub fn md5_hex(d: &[u8]) -> String {
    hex(&Md5::digest(d))
}
fn sha1_hex(d: &[u8]) -> String {
    hex(&Sha1::digest(d))
}
fn sha256_hex(d: &[u8]) -> String {
    hex(&Sha256::digest(d))
}
fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Deterministic pseudo-random bytes (xorshift), so runs are repeatable.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Real executables whose bytes ClamAV does not unpack further: the
/// ClamAV test file, systemd-boot's EFI binaries (PE32+, installed by
/// `.ci/run`), two ELF programs. Packed executables and containers are left
/// out: clamscan looks inside them, which this comparison is not about.
const REAL_FILES: &[&str] = &[
    "/usr/share/clamav-testfiles/clam.exe",
    "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
    "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
    "/usr/bin/clamscan",
    "/usr/bin/sigtool",
];

/// The files to scan: the real files above, EICAR, pseudo-random files of
/// assorted sizes, an empty file, nested directories.
fn corpus(d: &Dir) -> Vec<(String, Vec<u8>)> {
    testfiles();
    let mut files = Vec::new();
    for p in REAL_FILES {
        let data = std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e} (see .ci/run)"));
        let name = Path::new(p).file_name().unwrap().to_str().unwrap();
        files.push((format!("corpus/real/{name}"), data));
    }
    files.push(("corpus/eicar.com".into(), EICAR.to_vec()));
    for (i, len) in [1usize, 68, 544, 4095, 4096, 4097, 70_000, 300_000]
        .iter()
        .enumerate()
    {
        files.push((format!("corpus/noise/r{i}.bin"), noise(i as u64 + 1, *len)));
    }
    files.push(("corpus/deep/er/eicar.txt".into(), EICAR.to_vec()));
    for (name, data) in &files {
        d.write(name, data);
    }
    d.write("corpus/empty.dat", b"");
    files
}

fn file<'a>(files: &'a [(String, Vec<u8>)], suffix: &str) -> &'a [u8] {
    &files.iter().find(|(n, _)| n.ends_with(suffix)).unwrap().1
}

/// Section MD5s of a PE file as ClamAV's `sigtool --mdb` prints them.
fn sigtool_sections(path: &Path) -> Vec<(u64, String)> {
    let r = run(
        Command::new("sigtool"),
        Path::new("."),
        &["--mdb", path.to_str().unwrap()],
        None,
    );
    r.stderr
        .lines()
        .chain(r.stdout.lines())
        .filter_map(|l| {
            l.split_once("Section{")?
                .1
                .split_once("}: ")?
                .1
                .split_once(':')
        })
        .filter_map(|(size, md5)| Some((size.parse().ok()?, md5.trim().to_string())))
        .collect()
}

/// Writes the database directory and returns it.
fn database(d: &Dir, files: &[(String, Vec<u8>)]) -> std::path::PathBuf {
    let (eicar, r1, r2, r3, r4, r5) = (
        file(files, "corpus/eicar.com"),
        file(files, "r1.bin"),
        file(files, "r2.bin"),
        file(files, "r3.bin"),
        file(files, "r4.bin"),
        file(files, "r6.bin"),
    );
    let clam = file(files, "real/clam.exe");
    let mut hdb = String::new();
    let _ = writeln!(hdb, "{}:68:Diff.Eicar.Md5", md5_hex(eicar));
    let _ = writeln!(hdb, "{}:{}:Diff.Clam.Md5", md5_hex(clam), clam.len());
    let _ = writeln!(hdb, "{}:{}:Diff.R1.Md5", md5_hex(r1), r1.len());
    let _ = writeln!(hdb, "{}:*:Diff.R2.Md5Any:73", md5_hex(r2));
    let _ = writeln!(hdb, "{}:{}:Diff.R2.WrongSize", md5_hex(r2), r2.len() + 1);
    let _ = writeln!(hdb, "{}:{}:Diff.R4.TooNew:255", md5_hex(r4), r4.len());
    let _ = writeln!(hdb, "{}:{}:Diff.R4.TooOld:0:38", md5_hex(r4), r4.len());
    let _ = writeln!(hdb, "{}:{}:Diff.R4.InRange:100:250", md5_hex(r4), r4.len());
    let mut hsb = String::new();
    let _ = writeln!(hsb, "{}:68:Diff.Eicar.Sha256", sha256_hex(eicar));
    let _ = writeln!(hsb, "{}:{}:Diff.R3.Sha1", sha1_hex(r3), r3.len());
    let _ = writeln!(hsb, "{}:*:Diff.R5.Sha256Any:73", sha256_hex(r5));
    let _ = writeln!(hsb, "{}:*:Diff.R3.Sha1Any:73", sha1_hex(r3));
    // Two section signatures with the same size and hash are left out:
    // which name ClamAV then reports depends on its sort order (bolwerk
    // reports the one loaded last; `duplicate_hashes_report_the_last_loaded`).
    let (mut mdb, mut msb) = (String::new(), String::new());
    let (mut seen_md5, mut seen_sha) = (BTreeSet::new(), BTreeSet::new());
    for (name, data) in files.iter().filter(|(n, _)| n.contains(".e")) {
        let short = name.rsplit('/').next().unwrap();
        for (i, (size, md5)) in sigtool_sections(&d.join(name)).iter().enumerate() {
            if seen_md5.insert((*size, md5.clone())) {
                let _ = writeln!(mdb, "{size}:{md5}:Diff.Sect.{short}.{i}");
            }
        }
        for (i, range) in bolwerk_unpack::pe::section_hash_ranges(data)
            .iter()
            .enumerate()
        {
            let bytes = &data[range.clone()];
            if seen_sha.insert((bytes.len(), sha256_hex(bytes))) {
                let _ = writeln!(
                    msb,
                    "{}:{}:Diff.SectSha.{short}.{i}",
                    bytes.len(),
                    sha256_hex(bytes)
                );
            }
        }
    }
    assert!(
        mdb.lines().count() >= 15,
        "sigtool --mdb found too few sections:\n{mdb}"
    );
    let efi = file(files, "linuxx64.efi.stub");
    let db = d.join("db");
    std::fs::create_dir_all(&db).unwrap();
    let ign_pinned = format!("{}:68:Diff.Eicar.Sha256", sha256_hex(eicar));
    let write = |n: &str, t: String| std::fs::write(db.join(n), t).unwrap();
    write("diff.hdb", hdb);
    write("diff.hsb", hsb);
    write("diff.mdb", mdb);
    write("diff.msb", msb);
    write(
        "diff.fp",
        format!("{}:{}:Allow.R1\n", md5_hex(r1), r1.len()),
    );
    write(
        "diff.sfp",
        format!("{}:{}:Allow.Stub\n", sha256_hex(efi), efi.len()),
    );
    write(
        "diff.ign2",
        format!(
            "Diff.R3.Sha1\nDiff.Eicar.Sha256:{}\n",
            md5_hex(ign_pinned.as_bytes())
        ),
    );
    db
}

/// Output lines that are not timing, sorted (scans run in parallel).
fn normalise(r: &Run) -> (i32, BTreeSet<String>) {
    let lines = r
        .stdout
        .lines()
        .filter(|l| {
            ![
                "Engine version:",
                "Time:",
                "Start Date:",
                "End Date:",
                "Data scanned:",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(|l| match l.split_once(" (ratio") {
            Some((head, _)) if l.starts_with("Data read:") => head.to_string(),
            _ => l.to_string(),
        })
        .collect();
    (r.code, lines)
}

fn compare(d: &Dir, db: &Path, args: &[&str]) -> BTreeSet<String> {
    let mut full = vec!["-d", db.to_str().unwrap()];
    full.extend_from_slice(args);
    let theirs = run(Command::new("clamscan"), d.path(), &full, None);
    let mut ours_args = vec!["clamscan", "--no-builtin"];
    ours_args.extend_from_slice(&full);
    let ours = bolwerk_in(d.path(), &ours_args, None);
    let (want, got) = (normalise(&theirs), normalise(&ours));
    if want != got {
        let only_theirs: Vec<_> = want.1.difference(&got.1).collect();
        let only_ours: Vec<_> = got.1.difference(&want.1).collect();
        panic!(
            "clamscan {args:?} differs (exit {} vs {}).\nonly clamscan:\n{only_theirs:#?}\nonly bolwerk:\n{only_ours:#?}\nclamscan stderr:\n{}\nbolwerk stderr:\n{}",
            want.0, got.0, theirs.stderr, ours.stderr
        );
    }
    want.1
}

fn found(lines: &BTreeSet<String>) -> Vec<&String> {
    lines.iter().filter(|l| l.ends_with(" FOUND")).collect()
}

#[test]
fn same_output_as_clamscan_on_every_hash_signature_kind() {
    let d = Dir::new();
    let files = corpus(&d);
    let db = database(&d, &files);

    let first = compare(&d, &db, &["-r", "corpus"]);
    // The comparison means something only if both found things.
    assert!(found(&first).len() >= 8, "{first:#?}");
    assert!(first.iter().any(|l| l.contains("Diff.Sect.")), "{first:#?}");

    let all = compare(&d, &db, &["-r", "--allmatch", "corpus"]);
    assert!(found(&all).len() > found(&first).len());
    assert!(all.iter().any(|l| l.contains("Diff.SectSha.")), "{all:#?}");
    assert!(all.iter().any(|l| l.contains("Diff.R2.Md5Any")), "{all:#?}");
    assert!(
        all.iter().any(|l| l.contains("Diff.R4.InRange")),
        "{all:#?}"
    );
    assert!(!all.iter().any(|l| l.contains("Diff.R3.Sha1.")), "{all:#?}");
    assert!(!all
        .iter()
        .any(|l| l.contains("TooNew") || l.contains("TooOld")));

    compare(&d, &db, &["-r", "-i", "corpus"]);
    compare(
        &d,
        &db,
        &[
            "--no-summary",
            "corpus",
            "corpus/noise/r2.bin",
            "corpus/empty.dat",
        ],
    );
    compare(&d, &db, &["-r", "--max-filesize=4K", "corpus/noise"]);
    // 0 lifts the limit, as in clamscan.
    compare(
        &d,
        &db,
        &["-r", "--max-filesize=0", "--max-scansize=0", "corpus"],
    );
    compare(
        &d,
        &db,
        &["-r", "--exclude=eicar", "--no-summary", "corpus"],
    );
}

#[test]
fn same_output_as_clamscan_with_the_signed_test_database() {
    let d = Dir::new();
    corpus(&d);
    let cvd = crate::util::test3_cvd();
    let lines = compare(&d, &cvd, &["-r", "corpus"]);
    assert!(lines.contains("Known viruses: 7"), "{lines:#?}");
    let lines = compare(&d, &cvd, &["-r", "--allmatch", "--detect-pua", "corpus"]);
    assert!(lines.contains("Known viruses: 11"), "{lines:#?}");
}

#[test]
fn duplicate_hashes_report_the_last_loaded() {
    let d = Dir::new();
    corpus(&d);
    let md5 = md5_hex(EICAR);
    let db = d.join("dupdb");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join("a.hdb"),
        format!("{md5}:68:Dup.First\n{md5}:68:Dup.Second\n"),
    )
    .unwrap();
    std::fs::write(db.join("b.hdb"), format!("{md5}:*:Dup.Any:73\n")).unwrap();
    let lines = compare(&d, &db, &["--no-summary", "--allmatch", "corpus/eicar.com"]);
    let want: BTreeSet<String> = [
        "corpus/eicar.com: Dup.Second.UNOFFICIAL FOUND",
        "corpus/eicar.com: Dup.Any.UNOFFICIAL FOUND",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(lines, want);
}

/// When several kinds of signature match, the one clamscan reports is the
/// one bolwerk reports: body signatures, then whole-file hashes, then
/// logical signatures, then PE section hashes (each pair of kinds, and
/// all four with `--allmatch`).
#[test]
fn the_kind_reported_first_is_clamscans() {
    let d = Dir::new();
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    d.write("corpus/clam.exe", &exe);
    let pe = bolwerk_unpack::pe::parse(&exe).expect("clam.exe is a PE file");
    let section = pe.sections[0].hash_range().expect("a hashed section");
    let kinds = [
        ("ndb", format!("Kind.Ndb:0:*:{}\n", hex(&exe[184..200]))),
        ("hdb", format!("{}:{}:Kind.Hdb\n", md5_hex(&exe), exe.len())),
        (
            "ldb",
            format!(
                "Kind.Ldb;Engine:51-255,Target:0;0;{}\n",
                hex(&exe[284..300])
            ),
        ),
        (
            "mdb",
            format!(
                "{}:{}:Kind.Mdb\n",
                section.len(),
                md5_hex(&exe[section.clone()])
            ),
        ),
    ];
    for (ext, line) in &kinds {
        d.write(&format!("db/k.{ext}"), line);
    }
    let db = |ext: &str| {
        d.join(&format!("db/k.{ext}"))
            .to_string_lossy()
            .into_owned()
    };
    for (i, (a, _)) in kinds.iter().enumerate() {
        for (b, _) in &kinds[i + 1..] {
            let (da, db_) = (db(a), db(b));
            let args = ["--no-summary", "-d", &da, "-d", &db_, "corpus"];
            let lines = same_lines_as_clamscan(d.path(), &args);
            let want = format!(
                "corpus/clam.exe: Kind.{}.UNOFFICIAL FOUND",
                first_kind(a, b)
            );
            assert!(lines.contains(&want), "{a}+{b}: {lines:#?}");
        }
    }
    let all: Vec<String> = kinds.iter().map(|(ext, _)| db(ext)).collect();
    let mut args = vec!["--no-summary", "--allmatch"];
    for p in &all {
        args.extend(["-d", p.as_str()]);
    }
    args.push("corpus");
    assert_eq!(same_lines_as_clamscan(d.path(), &args).len(), 4);
}

/// Of two kinds, the one ClamAV tries first.
fn first_kind(a: &str, b: &str) -> String {
    let order = ["ndb", "hdb", "ldb", "mdb"];
    let rank = |k: &str| order.iter().position(|o| *o == k).unwrap();
    let first = if rank(a) < rank(b) { a } else { b };
    let mut name = first.to_string();
    name[..1].make_ascii_uppercase();
    name
}
