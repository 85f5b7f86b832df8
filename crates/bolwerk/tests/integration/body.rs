//! Body signatures (`.ndb`) against the real clamscan: every syntax element
//! and offset form, built from real files' bytes, must match (and fail to
//! match) exactly where clamscan's do.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Command;

use crate::util::{allmatch_lines_as_clamscan, bolwerk_in, gen_clamdb, run, testfiles, Dir};

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Signatures for `data` (a file called `name`): (name suffix, target,
/// offset, pattern).
fn sigs_for(
    data: &[u8],
    pe: Option<&bolwerk_unpack::pe::PeInfo>,
) -> Vec<(String, String, String, String)> {
    let m = data.len() / 2;
    let lit = |a: usize, n: usize| hex(&data[a..a + n]);
    let b = |i: usize| data[i];
    let mut out = vec![
        ("Lit", "0", "*".to_string(), lit(m, 8)),
        (
            "Any",
            "0",
            "*".into(),
            format!("{}??{}", lit(m, 4), lit(m + 5, 4)),
        ),
        (
            "NibHi",
            "0",
            "*".into(),
            format!("{}{:x}?{}", lit(m, 4), b(m + 4) >> 4, lit(m + 5, 4)),
        ),
        (
            "NibLo",
            "0",
            "*".into(),
            format!("{}?{:x}{}", lit(m, 4), b(m + 4) & 15, lit(m + 5, 4)),
        ),
        (
            "GapExact",
            "0",
            "*".into(),
            format!("{}{{3}}{}", lit(m, 4), lit(m + 7, 4)),
        ),
        (
            "GapRange",
            "0",
            "*".into(),
            format!("{}{{1-6}}{}", lit(m, 4), lit(m + 7, 4)),
        ),
        (
            "GapUpTo",
            "0",
            "*".into(),
            format!("{}{{-5}}{}", lit(m, 4), lit(m + 7, 4)),
        ),
        (
            "GapFrom",
            "0",
            "*".into(),
            format!("{}{{2-}}{}", lit(m, 4), lit(m + 40, 4)),
        ),
        (
            "Star",
            "0",
            "*".into(),
            format!("{}*{}", lit(m, 4), lit(m + 60, 4)),
        ),
        (
            "Alt",
            "0",
            "*".into(),
            format!(
                "{}({:02x}|{:02x}){}",
                lit(m, 4),
                b(m + 4) ^ 1,
                b(m + 4),
                lit(m + 5, 4)
            ),
        ),
        (
            "AltMulti",
            "0",
            "*".into(),
            format!("{}(0000ff|{}){}", lit(m, 4), lit(m + 4, 3), lit(m + 7, 4)),
        ),
        (
            "NotAlt",
            "0",
            "*".into(),
            format!("{}!({:02x}){}", lit(m, 4), b(m + 4) ^ 0x55, lit(m + 5, 4)),
        ),
        (
            "Range",
            "0",
            "*".into(),
            format!("{}[1-4]{:02x}", lit(m, 4), b(m + 6)),
        ),
        ("At", "0", m.to_string(), lit(m, 6)),
        ("AtFloat", "0", format!("{},8", m - 5), lit(m, 6)),
        ("Eof", "0", format!("EOF-{}", data.len() - m), lit(m, 6)),
        (
            "EofFloat",
            "0",
            format!("EOF-{},4", data.len() - m + 2),
            lit(m, 6),
        ),
        // Must not match:
        ("No.AtWrong", "0", (m + 1).to_string(), lit(m, 6)),
        (
            "No.GapShort",
            "0",
            "*".into(),
            format!("{}{{1-2}}{}", lit(m, 4), lit(m + 7, 4)),
        ),
        (
            "No.NotAlt",
            "0",
            "*".into(),
            format!("{}!({:02x}){}", lit(m, 4), b(m + 4), lit(m + 5, 4)),
        ),
        ("No.Target", "0", "*".into(), String::new()),
    ];
    out.pop();
    let target_pe = if pe.is_some() { "1" } else { "6" };
    out.push(("Typed", target_pe, "*".into(), lit(m, 8)));
    out.push((
        "No.TypedWrong",
        if pe.is_some() { "6" } else { "1" },
        "*".into(),
        lit(m, 8),
    ));
    if let Some(pe) = pe {
        let ep = pe.entry as usize;
        out.push(("Ep", "1", "EP+0".into(), lit(ep, 6)));
        out.push(("EpPlus", "1", "EP+4".into(), lit(ep + 4, 6)));
        let last = pe.sections.last().unwrap();
        out.push((
            "LastSection",
            "1",
            "SL+2".into(),
            lit(last.raw as usize + 2, 6),
        ));
        let s0 = &pe.sections[0];
        out.push(("Section0", "1", "S0+8".into(), lit(s0.raw as usize + 8, 6)));
        out.push((
            "SectionWhole",
            "1",
            "SE0".into(),
            lit(s0.raw as usize + 16, 6),
        ));
    }
    out.into_iter()
        .map(|(n, t, o, p)| (n.to_string(), t.to_string(), o, p))
        .collect()
}

#[test]
fn body_signatures_match_where_clamscan_matches() {
    let d = Dir::new();
    let files = [
        (
            "systemd-bootx64.efi",
            "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
        ),
        ("clamscan.elf", "/usr/bin/clamscan"),
        (
            "clam.exe",
            testfiles()
                .join("clam.exe")
                .to_str()
                .unwrap()
                .to_string()
                .leak(),
        ),
    ];
    let mut ndb = String::new();
    for (short, path) in files {
        let data = std::fs::read(path).unwrap();
        d.write(&format!("corpus/{short}"), &data);
        let pe = bolwerk_unpack::pe::parse(&data);
        for (suffix, target, offset, pattern) in sigs_for(&data, pe.as_ref()) {
            let _ = writeln!(ndb, "Body.{short}.{suffix}:{target}:{offset}:{pattern}");
        }
    }
    let db = d.write("db/body.ndb", &ndb);
    let got = allmatch_lines_as_clamscan(&d, &db);
    assert!(got.len() > 40, "{got:#?}");
    assert!(!got.iter().any(|l| l.contains(".No.")), "{got:#?}");
}

/// A database from `gen-clamdb` (random signatures of every hash and body
/// kind, and planted ones that match real files) at a small scale: with
/// `--allmatch`, each file's set of matching signature names is the one
/// clamscan reports (clamscan repeats a body signature for every occurrence;
/// the comparison is of names per file).
#[test]
fn planted_database_matches_the_same_signatures_as_clamscan() {
    let d = Dir::new();
    let real = [
        "/usr/lib/systemd/boot/efi/systemd-bootx64.efi",
        "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
        "/usr/bin/clamscan",
        "/usr/bin/sigtool",
    ];
    std::fs::create_dir_all(d.join("corpus")).unwrap();
    for p in real {
        let name = std::path::Path::new(p).file_name().unwrap();
        std::fs::copy(p, d.join("corpus").join(name)).unwrap();
    }
    for f in [
        "clam.exe",
        "clam.zip",
        "clam.tar.gz",
        "clam.pdf",
        "clam.mail",
        "clam.ole.doc",
    ] {
        std::fs::copy(testfiles().join(f), d.join("corpus").join(f)).unwrap();
    }
    let db = gen_clamdb(&d, "0.002", "hdb,hsb,mdb,ndb");
    let args = [
        "--no-summary",
        "--allmatch",
        "-r",
        "-d",
        db.to_str().unwrap(),
        "corpus",
    ];
    let theirs = run(Command::new("clamscan"), d.path(), &args, None);
    let mut ours_args = vec!["clamscan", "--no-builtin"];
    ours_args.extend_from_slice(&args);
    let ours = bolwerk_in(d.path(), &ours_args, None);
    let set = |s: &str| s.lines().map(str::to_string).collect::<BTreeSet<_>>();
    let (want, got) = (set(&theirs.stdout), set(&ours.stdout));
    assert_eq!(want, got, "clamscan stderr: {}", theirs.stderr);
    assert!(
        got.iter()
            .filter(|l| l.contains("Synth.Planted.Ndb"))
            .count()
            >= 8,
        "{got:#?}"
    );
    assert!(
        got.iter()
            .filter(|l| l.contains("Synth.Planted.Hsb"))
            .count()
            >= 8,
        "{got:#?}"
    );
    assert_eq!(theirs.code, ours.code);
}
