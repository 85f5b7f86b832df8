//! The engine on the official ClamAV signatures (`../shared/corpora/
//! clamav-official`), with clamscan as the oracle:
//!
//! * every line of the official files loads, as in clamscan;
//! * a *signature-derived corpus*: for every body and logical signature a
//!   file region that matches it (wildcards and gaps instantiated,
//!   alternatives by their first choice, offsets honoured where they are
//!   absolute), grouped into files by target type (plain data, text, a
//!   real PE with the regions in its overlay); `--allmatch` must report
//!   what clamscan reports;
//! * the real-derived set that `gen-clamdb --like` makes from them, at a
//!   reduced scale, over real files;
//! * one table of cases through every read path (mapped file, read file,
//!   standard input).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use bolwerk_sigs::{
    Anchor, BodyParser, IgnoreList, LineOutcome, LogicalParser, Names, SubSig, Token, FLEVEL,
};

use crate::util::{
    allmatch_lines_as_clamscan, bolwerk_in, corpora, gen_clamdb_with, run, same_lines_as_clamscan,
    Dir,
};

fn official() -> PathBuf {
    corpora().join("clamav-official")
}

/// Bytes that match `tokens` (the first way there is).
fn instantiate(tokens: &[Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            Token::Bytes(run) => out.extend(run.iter().map(|m| m.value)),
            Token::Gap { min, .. } => out.extend(std::iter::repeat_n(b'.', *min as usize)),
            Token::Alt {
                alts,
                negate: false,
            } => out.extend(alts[0].iter().map(|m| m.value)),
            Token::Alt { alts, negate: true } => {
                let n = alts[0].len();
                let pick = [b'.', 0x00, 0xff, b'Z', 0x7f]
                    .into_iter()
                    .find(|&b| !alts.iter().any(|a| a.iter().all(|m| m.matches(b))))
                    .unwrap_or(b'.');
                out.extend(std::iter::repeat_n(pick, n));
            }
            Token::Boundary(bolwerk_sigs::Boundary::NonAlnum) => out.push(b'.'),
            Token::Boundary(_) => {}
        }
    }
    out
}

/// A region that matches one signature's patterns: each subsignature of a
/// logical signature once, in order, apart.
struct Region {
    target: u8,
    bytes: Vec<u8>,
    /// An absolute start the region must have (`n:` offsets).
    at: Option<u64>,
}

/// The lines of a database file.
fn lines_of(path: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read(path).unwrap();
    text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

fn ndb_regions(path: &Path) -> Vec<Region> {
    let ign = IgnoreList::default();
    let p = BodyParser {
        flevel: FLEVEL,
        ignore: &ign,
    };
    let mut names = Names::new();
    let mut out = Vec::new();
    for line in lines_of(path) {
        if let Ok((LineOutcome::Added, Some(sig))) = p.parse_line(&line, &mut names) {
            let at = match sig.offset.anchor {
                Anchor::Any => None,
                Anchor::Start(n) => Some(n),
                _ => continue,
            };
            out.push(Region {
                target: sig.target,
                bytes: instantiate(&sig.tokens),
                at,
            });
        }
    }
    out
}

fn ldb_regions(path: &Path) -> Vec<Region> {
    let ign = IgnoreList::default();
    let p = LogicalParser {
        flevel: FLEVEL,
        ignore: &ign,
    };
    let mut names = Names::new();
    let mut out = Vec::new();
    for line in lines_of(path) {
        let Ok((LineOutcome::Added, Some(sig))) = p.parse_line(&line, &mut names) else {
            continue;
        };
        let mut bytes = Vec::new();
        let mut at = None;
        let mut ok = true;
        for sub in &sig.subsigs {
            let SubSig::Body {
                offset, variants, ..
            } = sub
            else {
                continue;
            };
            match offset.anchor {
                Anchor::Any => {}
                Anchor::Start(n) if at.is_none() && bytes.is_empty() => at = Some(n),
                _ => ok = false,
            }
            bytes.extend(instantiate(&variants[0]));
            bytes.extend_from_slice(b"..");
        }
        if ok && !bytes.is_empty() {
            out.push(Region {
                target: sig.target.target,
                bytes,
                at,
            });
        }
    }
    out
}

/// Write the regions into files in `dir`: `per_file` regions apart from
/// one another; one file each for those at an absolute offset. Target 1
/// regions follow a real PE, target 7 ones are text files.
fn write_corpus(dir: &Path, regions: &[Region], per_file: usize) -> usize {
    let pe = std::fs::read("/usr/share/clamav-testfiles/clam.exe")
        .expect("clamav-testfiles is installed by .ci/run");
    let mut files = 0;
    let mut write = |name: String, target: u8, body: &[u8]| {
        let mut data = Vec::new();
        if target == 1 {
            data.extend_from_slice(&pe);
        }
        data.extend_from_slice(body);
        std::fs::write(dir.join(name), data).unwrap();
        files += 1;
    };
    let mut groups: std::collections::BTreeMap<u8, Vec<&Region>> = Default::default();
    for (i, r) in regions.iter().enumerate() {
        match r.at {
            Some(n) if r.target != 1 && n < 1 << 20 => {
                let mut body = vec![b'.'; n as usize];
                body.extend_from_slice(&r.bytes);
                write(format!("at-{i}.t{}", r.target), r.target, &body);
            }
            Some(_) => {}
            None => groups.entry(r.target).or_default().push(r),
        }
    }
    for (target, rs) in groups {
        for (k, chunk) in rs.chunks(per_file).enumerate() {
            let mut body = b"......".to_vec();
            for r in chunk {
                body.extend_from_slice(&r.bytes);
                body.extend_from_slice(b"\n......\n");
            }
            write(format!("g{k}.t{target}"), target, &body);
        }
    }
    files
}

/// Lines that name a detection.
fn found(lines: &BTreeSet<String>) -> usize {
    lines.iter().filter(|l| l.ends_with(" FOUND")).count()
}

/// Every line of the official files loads: clamscan loads them all.
#[test]
fn every_official_line_loads_as_in_clamscan() {
    let d = Dir::new();
    let f = d.write("x.txt", "nothing to see\n");
    let r = bolwerk_in(
        d.path(),
        &[
            "clamscan",
            "--no-builtin",
            "-d",
            official().to_str().unwrap(),
            f.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let refused: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("WARNING"))
        .collect();
    assert!(refused.is_empty(), "lines refused: {refused:#?}");
}

/// For every official body and logical signature, bytes that match it;
/// bolwerk reports what clamscan reports, signature by signature.
#[test]
fn signature_derived_corpus_as_clamscan() {
    let d = Dir::new();
    let corpus = d.join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let mut regions = ndb_regions(&official().join("daily.ndb"));
    regions.extend(ldb_regions(&official().join("main.ldb")));
    assert!(regions.len() > 30_000, "{} regions", regions.len());
    let files = write_corpus(&corpus, &regions, 64);
    let lines = allmatch_lines_as_clamscan(&d, &official());
    // The corpus is made to match: clamscan finds hundreds of signatures
    // in it, and bolwerk each of them.
    assert!(
        found(&lines) > 500,
        "{} detections in {files} files",
        found(&lines)
    );
}

/// The official signatures written against ClamAV's normalised scripts
/// (`n000` names, `<script>` tags as its JavaScript normaliser writes
/// them), each region alone in a file: the same lines as clamscan, and
/// `Win.Trojan.Generic-51`, whose script starts inside an HTML comment
/// that the markup copy drops, is found through the scripts' copy.
#[test]
fn official_script_signatures_as_clamscan() {
    let d = Dir::new();
    let names = [
        "Win.Trojan.Generic-50;",
        "Win.Trojan.Generic-51;",
        "Win.Trojan.Agent-1388587;",
        "Unix.Trojan.Mumblehard-1;",
    ];
    let picked: Vec<Vec<u8>> = lines_of(&official().join("main.ldb"))
        .into_iter()
        .filter(|l| names.iter().any(|n| l.starts_with(n.as_bytes())))
        .collect();
    assert_eq!(picked.len(), names.len());
    let ldb = d.write("sel.ldb", picked.join(&b"\n"[..]));
    let corpus = d.join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    write_corpus(&corpus, &ldb_regions(&ldb), 1);
    let lines = allmatch_lines_as_clamscan(&d, &official());
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("Win.Trojan.Generic-51.UNOFFICIAL FOUND")),
        "{lines:#?}"
    );
}

/// The official-scale set that `gen-clamdb --like` recombines from the
/// real subsignatures (300,000 signatures), over real files: libraries,
/// programs, PE files, documentation. Real atoms occur in real files, so
/// signatures match that no one planted.
#[test]
fn real_derived_signatures_over_real_files_as_clamscan() {
    let d = Dir::new();
    let corpus = d.join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let picks = [
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
        "/usr/bin/bash",
        "/usr/bin/perl",
        "/usr/share/clamav-testfiles/clam.exe",
        "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
        "/usr/share/doc/bash/README",
        "/usr/share/common-licenses/GPL-3",
    ];
    let mut copied = 0;
    for p in picks {
        let p = Path::new(p);
        if let Ok(data) = std::fs::read(p) {
            std::fs::write(corpus.join(p.file_name().unwrap()), data).unwrap();
            copied += 1;
        }
    }
    assert!(copied >= 6, "only {copied} of the real files are here");
    let like = official();
    let db = gen_clamdb_with(
        &d,
        &[
            "--scale",
            "1.0",
            "--only",
            "ndb,ldb",
            "--like",
            like.to_str().unwrap(),
        ],
    );
    let lines = allmatch_lines_as_clamscan(&d, &db);
    // clamscan finds 15 signature-file pairs in seven of these files
    // (measured: in libc, libcrypto, bash and perl; none in clam.exe and
    // GPL-3).
    assert!(found(&lines) >= 10, "{lines:#?}");
}

/// One table of cases, three ways in: a file large enough to be mapped, a
/// small file that is read, and standard input. Every way finds the same.
#[test]
fn every_read_path_finds_the_same() {
    let d = Dir::new();
    let db = d.write(
        "t.ldb",
        "Path.A;Engine:51-255,Target:0;0&1;6c6f6e672d6c6976652d74686520;6e6565646c65*6861797374\n\
         Path.B;Engine:51-255,Target:0;0>2;41414141::i\n\
         Path.C;Engine:51-255,Target:0;0&1;EOF-16:656e64{-8}6d61726b;0/ne+dle/\n",
    );
    // A later segment (`*hayst`) two chunks ahead of the part that made
    // the candidate: the search reads ahead of the sweep over the mapping.
    let mut far = b"needle".to_vec();
    far.resize(9 << 20, b'.');
    far.extend_from_slice(b" haystack long-live-the ");
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "a",
            b"long-live-the needle in the haystack".to_vec(),
            &["Path.A"],
        ),
        ("b", b"aaaa AAAA aAaA".to_vec(), &["Path.B"]),
        ("c", b"aaaa AAAA".to_vec(), &[]),
        ("d", b"needle ....end..mark.......".to_vec(), &["Path.C"]),
        ("e", far, &["Path.A"]),
    ];
    for (name, body, want) in &cases {
        let small = d.write(&format!("small-{name}"), body);
        // The table is clamscan's answer, not only ours.
        let theirs = run(
            Command::new("clamscan"),
            d.path(),
            &[
                "--no-summary",
                "--allmatch",
                "-d",
                db.to_str().unwrap(),
                small.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(&detections(&theirs.stdout), want, "clamscan, case {name}");
        // From 1 MiB files are mapped and swept in 2 MiB chunks, handing
        // back the pages behind; the case starts three bytes before a
        // chunk boundary and ends the file (Path.C is anchored there).
        let mut big = vec![b'.'; (16 << 20) - 3];
        big.extend_from_slice(body);
        let big = d.write(&format!("big-{name}"), &big);
        let ways: [Way; 3] = [
            ("read", vec![small.to_str().unwrap()], None),
            ("mapped", vec![big.to_str().unwrap()], None),
            ("stdin", vec!["-"], Some(body.as_slice())),
        ];
        for (way, paths, stdin) in ways {
            let mut args = vec![
                "clamscan",
                "--no-builtin",
                "--no-summary",
                "--allmatch",
                "-d",
                db.to_str().unwrap(),
            ];
            args.extend(paths);
            let r = bolwerk_in(d.path(), &args, stdin);
            assert_eq!(
                &detections(&r.stdout),
                want,
                "case {name} through {way}: {}",
                r.stderr
            );
        }
    }
}

/// `VI:` subsignatures match where a version-information string of a PE
/// begins (the key, or key and value together), as in clamscan; the same
/// bytes elsewhere or inside a string do not count.
#[test]
fn version_info_subsignatures_as_clamscan() {
    let d = Dir::new();
    // UTF-16LE, as the strings are stored.
    let utf16 = |s: &str| -> String {
        s.encode_utf16()
            .flat_map(u16::to_le_bytes)
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let sigs = [
        ("VI.Key", format!("VI:{}", utf16("FileDescription"))),
        ("VI.Inside", format!("VI:{}", utf16("ileDescription"))),
        ("VI.Value", format!("VI:{}", utf16("Setup Launcher"))),
        (
            "VI.Pair",
            format!("VI:{}0000{}", utf16("OriginalFilename"), utf16("Setup.exe")),
        ),
        ("VI.Elsewhere", format!("VI:{}", utf16("CheckMD5"))),
        ("Any.Elsewhere", utf16("CheckMD5")),
    ];
    let db: String = sigs
        .iter()
        .map(|(name, sub)| format!("{name};Engine:51-255,Target:1;0;{sub}\n"))
        .collect();
    d.write("vi.ldb", db);
    let lines = same_lines_as_clamscan(
        d.path(),
        &[
            "--no-summary",
            "--allmatch",
            "-d",
            "vi.ldb",
            "/usr/share/clamav-testfiles/clam_ISmsi_ext.exe",
        ],
    );
    let names: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l.strip_suffix(".UNOFFICIAL FOUND"))
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    let want: BTreeSet<&str> = ["VI.Key", "VI.Pair", "Any.Elsewhere"].into();
    assert_eq!(names, want);
}

/// A way in: its name, the paths given, what goes to standard input.
type Way<'a> = (&'a str, Vec<&'a str>, Option<&'a [u8]>);

/// The signature names of `FILE: NAME.UNOFFICIAL FOUND` lines, sorted,
/// each once (clamscan `--allmatch` reports a signature once per pass: raw
/// and normalised text).
fn detections(stdout: &str) -> Vec<String> {
    let mut got: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_suffix(".UNOFFICIAL FOUND"))
        .map(|l| l.rsplit(' ').next().unwrap().to_string())
        .collect();
    got.sort();
    got.dedup();
    got
}
