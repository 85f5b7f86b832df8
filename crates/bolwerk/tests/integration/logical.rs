//! Logical signatures (`.ldb`) against the real clamscan: expressions,
//! counts, subsignature offsets and modifiers, PCRE, byte compares and
//! target descriptions, built from real files' bytes, must match exactly
//! where clamscan's do. The files are executables, not text, so clamscan's
//! normalised-text pass does not come into play.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::util::{allmatch_lines_as_clamscan, bolwerk_in, testfiles, Dir};

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// `\xHH` for every byte: a PCRE matching exactly these bytes.
fn pcre_bytes(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "\\x{x:02x}");
        s
    })
}

/// Overlapping occurrences of `needle` in `data`.
fn occurrences(data: &[u8], needle: &[u8]) -> usize {
    data.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A run of at least `n` ASCII letters, as bytes.
fn letters(data: &[u8], n: usize) -> Option<&[u8]> {
    let mut i = 0;
    while i < data.len() {
        let len = data[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        if len >= n {
            return Some(&data[i..i + n]);
        }
        i += len.max(1);
    }
    None
}

/// ClamAV's scan buffer.
const CLAMAV_SCANBUFF: usize = 128 << 10;

/// Bytes no real file here holds.
const ABSENT: &str = "f00dfeedbeefcafe1337c0de";

/// Logical signatures for one file: (name suffix, target description,
/// expression and subsignatures).
fn sigs_for(data: &[u8], pe: Option<&bolwerk_unpack::pe::PeInfo>) -> Vec<(String, String)> {
    let m = data.len() / 2;
    let lit = |a: usize, n: usize| hex(&data[a..a + n]);
    // Byte compares read at the trigger's last match: a trigger of varied
    // bytes, so that it occurs once.
    let t = (m..data.len() - 16)
        .find(|&i| {
            let w = &data[i..i + 8];
            w.iter().collect::<BTreeSet<_>>().len() >= 6
        })
        .unwrap();
    let pair = &data[m..m + 2];
    let n = occurrences(data, pair);
    let (a, b) = (lit(m, 8), lit(m + 100, 8));
    let tdb = "Engine:81-255,Target:0";
    let mut out: Vec<(String, String)> = vec![
        ("And".into(), format!("{tdb};0&1;{a};{b}")),
        ("Or".into(), format!("{tdb};0|1;{a};{ABSENT}")),
        (
            "Nested".into(),
            format!("{tdb};(0|1)&(2|0);{ABSENT};{a};{b}"),
        ),
        ("No.And".into(), format!("{tdb};0&1;{a};{ABSENT}")),
        ("Neg".into(), format!("{tdb};0&1=0;{a};{ABSENT}")),
        ("No.Neg".into(), format!("{tdb};0&1=0;{a};{b}")),
        ("CountEq".into(), format!("{tdb};0={n};{}", hex(pair))),
        (
            "No.CountEq".into(),
            format!("{tdb};0={};{}", n + 1, hex(pair)),
        ),
        ("CountGt".into(), format!("{tdb};0>{};{}", n - 1, hex(pair))),
        ("No.CountGt".into(), format!("{tdb};0>{n};{}", hex(pair))),
        ("CountLt".into(), format!("{tdb};0<{};{}", n + 1, hex(pair))),
        ("No.CountLt".into(), format!("{tdb};0<{n};{}", hex(pair))),
        (
            "Block".into(),
            format!("{tdb};(0|1)={},2;{};{a}", n + 1, hex(pair)),
        ),
        (
            "No.BlockDistinct".into(),
            format!("{tdb};(0|1)>0,2;{};{ABSENT}", hex(pair)),
        ),
        ("SubAt".into(), format!("{tdb};0&1;{m}:{a};{b}")),
        ("No.SubAt".into(), format!("{tdb};0&1;{}:{a};{b}", m + 1)),
        (
            "SubEof".into(),
            format!("{tdb};0;EOF-{}:{}", data.len() - m, lit(m, 6)),
        ),
        (
            "Pcre".into(),
            format!(
                "{tdb};0&1;{a};0/{}.{{3}}{}/",
                pcre_bytes(&data[m + 8..m + 10]),
                pcre_bytes(&data[m + 13..m + 15])
            ),
        ),
        (
            "PcreAt".into(),
            format!(
                "{tdb};0&1;{a};{}:0/{}/",
                m + 20,
                pcre_bytes(&data[m + 20..m + 26])
            ),
        ),
        (
            "No.PcreAt".into(),
            format!(
                "{tdb};0&1;{a};{}:0/{}/",
                m + 19,
                pcre_bytes(&data[m + 20..m + 26])
            ),
        ),
        (
            "PcreRolling".into(),
            format!(
                "{tdb};0&1;{a};{}:0/{}/r",
                m + 10,
                pcre_bytes(&data[m + 20..m + 26])
            ),
        ),
        (
            "PcreFloat".into(),
            format!(
                "{tdb};0&1;{a};{},12:0/{}/",
                m + 10,
                pcre_bytes(&data[m + 20..m + 26])
            ),
        ),
        (
            "No.PcreEncompass".into(),
            format!(
                "{tdb};0&1;{a};{},12:0/{}/e",
                m + 10,
                pcre_bytes(&data[m + 20..m + 26])
            ),
        ),
        (
            "No.PcreTrigger".into(),
            format!(
                "{tdb};0&1&2;{a};{ABSENT};1/{}/",
                pcre_bytes(&data[m..m + 4])
            ),
        ),
        (
            "PcreGlobal".into(),
            format!("{tdb};1>1;{a};0/{}/g", pcre_bytes(pair)),
        ),
        (
            "Size".into(),
            format!(
                "Engine:81-255,Target:0,FileSize:{}-{};0;{a}",
                data.len() - 1,
                data.len()
            ),
        ),
        (
            "No.Size".into(),
            format!("Engine:81-255,Target:0,FileSize:1-{};0;{a}", data.len() - 1),
        ),
        ("No.Level".into(), format!("Engine:250-255,Target:0;0;{a}")),
    ];
    // ClamAV 1.4.6 reads a byte compare wrongly when the trigger's match
    // lies past its first 128 KiB scan buffer (measured); bolwerk reads
    // where the documentation says. Compared only where both agree.
    if t + 16 < CLAMAV_SCANBUFF {
        out.extend([
            (
                "ByteCmp".into(),
                format!("{tdb};0&1;{};0(>>8#ib1#={})", lit(t, 8), data[t + 8]),
            ),
            (
                "No.ByteCmp".into(),
                format!("{tdb};0&1;{};0(>>8#ib1#={})", lit(t, 8), data[t + 8] ^ 1),
            ),
            (
                "ByteCmpLe".into(),
                format!(
                    "{tdb};0&1;{};0(>>8#il2#={})",
                    lit(t, 8),
                    u16::from_le_bytes([data[t + 8], data[t + 9]])
                ),
            ),
            (
                "ByteCmpBack".into(),
                format!("{tdb};0&1;{};0(<<2#ib1#={})", lit(t, 8), data[t - 2]),
            ),
        ]);
    }
    if let Some(word) = letters(data, 6) {
        let flipped: Vec<u8> = word.iter().map(|c| c ^ 0x20).collect();
        out.push(("Nocase".into(), format!("{tdb};0;{}::i", hex(&flipped))));
        out.push(("CaseExact".into(), format!("{tdb};0;{}", hex(&flipped))));
        out.push(("WideAscii".into(), format!("{tdb};0;{}::wa", hex(word))));
        out.push(("Fullword".into(), format!("{tdb};0;{}::f", hex(word))));
        out.push((
            "FullwordPart".into(),
            format!("{tdb};0;{}::f", hex(&word[1..5])),
        ));
        out.push(("Wide".into(), format!("{tdb};0;{}::w", hex(word))));
    }
    let typed = if pe.is_some() { "1" } else { "6" };
    out.push((
        "Typed".into(),
        format!("Engine:81-255,Target:{typed};0;{a}"),
    ));
    let wrong = if pe.is_some() { "6" } else { "1" };
    out.push((
        "No.Typed".into(),
        format!("Engine:81-255,Target:{wrong};0;{a}"),
    ));
    if let Some(pe) = pe {
        let ns = pe.sections.len();
        let ep = pe.entry;
        out.push((
            "Sections".into(),
            format!("Engine:81-255,Target:1,NumberOfSections:{ns}-{ns};0;{a}"),
        ));
        out.push((
            "No.Sections".into(),
            format!(
                "Engine:81-255,Target:1,NumberOfSections:{}-99;0;{a}",
                ns + 1
            ),
        ));
        out.push((
            "EntryPoint".into(),
            format!(
                "Engine:81-255,Target:1,EntryPoint:{}-{};0;{a}",
                ep.saturating_sub(1),
                ep + 1
            ),
        ));
        out.push((
            "SubEp".into(),
            format!(
                "Engine:81-255,Target:1;0&1;EP+0:{};{a}",
                lit(ep as usize, 6)
            ),
        ));
    }
    out
}

#[test]
fn logical_signatures_match_where_clamscan_matches() {
    let d = Dir::new();
    let files = [
        (
            "bootx64.efi",
            "/usr/lib/systemd/boot/efi/systemd-bootx64.efi".to_string(),
        ),
        ("sigtool.elf", "/usr/bin/sigtool".to_string()),
        (
            "clam.exe",
            testfiles().join("clam.exe").display().to_string(),
        ),
    ];
    let mut ldb = String::new();
    for (short, path) in &files {
        let data = std::fs::read(path).unwrap();
        d.write(&format!("corpus/{short}"), &data);
        let pe = bolwerk_unpack::pe::parse(&data);
        for (suffix, rest) in sigs_for(&data, pe.as_ref()) {
            let _ = writeln!(ldb, "Ldb.{short}.{suffix};{rest}");
        }
    }
    // Container types: clam.exe inside a zip, and on its own.
    std::fs::copy(testfiles().join("clam.zip"), d.join("corpus/clam.zip")).unwrap();
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    let inner = hex(&exe[exe.len() / 2..exe.len() / 2 + 8]);
    for (suffix, container) in [
        ("InZip", "Container:CL_TYPE_ZIP"),
        ("Root", "Container:CL_TYPE_ANY"),
        ("InAnyZip", "Intermediates:CL_TYPE_ZIP"),
        ("No.InGz", "Container:CL_TYPE_GZ"),
    ] {
        let _ = writeln!(
            ldb,
            "Ldb.Container.{suffix};Engine:81-255,Target:0,{container};0;{inner}"
        );
    }
    let db = d.write("db/logical.ldb", &ldb);
    let got = allmatch_lines_as_clamscan(&d, &db);
    assert!(got.len() > 60, "{got:#?}");
    // A file's own must-not-match signatures (counts made for one file
    // may well hold in another).
    let own_no = |l: &&String| {
        files
            .iter()
            .any(|(short, _)| l.starts_with(&format!("corpus/{short}: Ldb.{short}.No.")))
            || l.contains("Ldb.Container.No.")
    };
    assert!(!got.iter().any(|l| own_no(&l)), "{got:#?}");
}

/// PCRE's flag `E` (`DOLLAR_ENDONLY`): `$` matches only at the very end,
/// not before a final newline.
#[test]
fn pcre_dollar_end_only_matches_where_clamscan_matches() {
    let d = Dir::new();
    d.write("corpus/newline.bin", b"\x00\x01hello world abc\n");
    d.write("corpus/end.bin", b"\x00\x01hello world abc");
    let db = d.write(
        "db/e.ldb",
        format!(
            "Pcre.Dollar;Engine:81-255,Target:0;0&1;{w};0/abc$/\n\
             Pcre.DollarEnd;Engine:81-255,Target:0;0&1;{w};0/abc$/E\n\
             Pcre.DollarEndMultiline;Engine:81-255,Target:0;0&1;{w};0/abc$/Em\n",
            w = hex(b"world")
        ),
    );
    let got = allmatch_lines_as_clamscan(&d, &db);
    for want in [
        "corpus/newline.bin: Pcre.Dollar.UNOFFICIAL FOUND",
        "corpus/newline.bin: Pcre.DollarEndMultiline.UNOFFICIAL FOUND",
        "corpus/end.bin: Pcre.DollarEnd.UNOFFICIAL FOUND",
    ] {
        assert!(got.contains(want), "{want} missing: {got:#?}");
    }
    assert!(
        !got.contains("corpus/newline.bin: Pcre.DollarEnd.UNOFFICIAL FOUND"),
        "{got:#?}"
    );
}

/// A bad line is reported with its file and line; the good ones load and
/// match (clamscan refuses the whole file instead).
#[test]
fn malformed_logical_line_is_reported_and_the_rest_loads() {
    let d = Dir::new();
    let db = d.write(
        "db/mixed.ldb",
        "Good.One;Engine:81-255,Target:0;0&1;4142434445;464748494a\n\
         Bad.Expr;Engine:81-255,Target:0;0&&1;4142434445;464748494a\n\
         Bad.Pcre;Engine:81-255,Target:0;0&1;4142434445;0/unclosed(/\n\
         Macro.One;Engine:81-255,Target:0;0&1;4142434445;${6-7}12$\n",
    );
    d.write("x.bin", b"\x00\x01ABCDE-FGHIJ\x02");
    let out = bolwerk_in(
        d.path(),
        &[
            "clamscan",
            "--no-builtin",
            "-d",
            db.to_str().unwrap(),
            "x.bin",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("x.bin: Good.One.UNOFFICIAL FOUND"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("mixed.ldb:2:"), "{}", out.stderr);
    assert!(out.stderr.contains("mixed.ldb:3:"), "{}", out.stderr);
    assert!(!out.stdout.contains("Bad."), "{}", out.stdout);
}

/// A byte compare whose trigger lies past the first 128 KiB reads at the
/// trigger's last match (ClamAV 1.4.6 misses it: a documented difference).
#[test]
fn byte_compare_reads_at_the_last_trigger_match_anywhere_in_the_file() {
    let d = Dir::new();
    let db = d.write(
        "db/bc.ldb",
        "BC.First;Engine:81-255,Target:0;0&1;5152535455;0(<<2#ib1#=5)\n\
         BC.Last;Engine:81-255,Target:0;0&1;5152535455;0(<<2#ib1#=9)\n",
    );
    let mut data = vec![0xaau8; 200_000];
    data.extend_from_slice(b"\x05\x07QRSTU\x03\x07\x07QRSTU\x03\x09\x07QRSTU\x03\x00");
    d.write("late.bin", &data);
    let out = bolwerk_in(
        d.path(),
        &[
            "clamscan",
            "--no-builtin",
            "--no-summary",
            "--allmatch",
            "-d",
            db.to_str().unwrap(),
            "late.bin",
        ],
        None,
    );
    assert_eq!(
        out.stdout.trim(),
        "late.bin: BC.Last.UNOFFICIAL FOUND",
        "{}",
        out.stderr
    );
}

/// Macro subsignatures (`${min-max}group$` with `.ndb` members at offset
/// `$group`): a window after the previous subsignature's match, the
/// group's latest member match, counts; the members themselves report
/// nothing; a match outside the window does not count for the
/// subsignature before the macro either. Placements chosen to tell the
/// readings of the rule apart.
#[test]
fn macro_subsignatures_match_where_clamscan_matches() {
    let d = Dir::new();
    let place = |items: &[(usize, &[u8])]| {
        let mut b = vec![1u8; 96];
        for (at, s) in items {
            b[*at..*at + s.len()].copy_from_slice(s);
        }
        b
    };
    let (a, b, c): (&[u8], &[u8], &[u8]) = (b"AAAA", b"BBBB", b"CCCC");
    let files: [(&str, Vec<u8>); 10] = [
        ("one-pair", place(&[(3, a), (13, b)])),
        ("pair-then-a", place(&[(3, a), (13, b), (20, a)])),
        ("other-member", place(&[(3, a), (13, b), (47, a), (64, c)])),
        ("latest-member", place(&[(3, a), (13, b), (25, b), (40, a)])),
        ("members-mixed", place(&[(3, a), (13, c), (20, b), (40, a)])),
        ("nearest-a", place(&[(3, a), (8, a), (20, b), (40, a)])),
        ("member-first", place(&[(0, b), (10, a), (30, a)])),
        ("no-second-a", place(&[(3, a), (13, b), (30, c)])),
        ("late-a", place(&[(3, a), (13, b), (20, a), (60, a)])),
        (
            "repeated",
            place(&[(3, a), (13, b), (20, a), (30, b), (37, a), (47, b), (54, a)]),
        ),
    ];
    for (name, data) in &files {
        d.write(&format!("corpus/{name}"), data);
    }
    d.write(
        "db/m.ndb",
        format!("Member.B:0:$1:{}\nMember.C:0:$1:{}\n", hex(b), hex(c)),
    );
    let mut ldb = String::new();
    for (min, max) in [(5, 10), (6, 9), (10, 12), (11, 20), (0, 4), (7, 7)] {
        let _ = writeln!(
            ldb,
            "Macro.{min}_{max};Engine:51-255,Target:0;0&1;{};${{{min}-{max}}}1$",
            hex(a)
        );
    }
    // Counts of the macro and of the subsignature before it.
    for n in 1..=4 {
        let _ = writeln!(
            ldb,
            "Macro.Count{n};Engine:51-255,Target:0;1={n};{};${{5-12}}1$",
            hex(a)
        );
        let _ = writeln!(
            ldb,
            "Macro.Both{n};Engine:51-255,Target:0;0&1={n};{};${{5-12}}1$",
            hex(a)
        );
        let _ = writeln!(
            ldb,
            "Macro.Prev{n};Engine:51-255,Target:0;0={n}&1>0;{};${{5-12}}1$",
            hex(a)
        );
    }
    d.write("db/m.ldb", ldb);
    let lines = allmatch_lines_as_clamscan(&d, &d.join("db"));
    for want in [
        "corpus/pair-then-a: Macro.10_12.UNOFFICIAL FOUND",
        "corpus/nearest-a: Macro.11_20.UNOFFICIAL FOUND",
        "corpus/members-mixed: Macro.11_20.UNOFFICIAL FOUND",
        "corpus/late-a: Macro.Count3.UNOFFICIAL FOUND",
        "corpus/repeated: Macro.Count3.UNOFFICIAL FOUND",
    ] {
        assert!(lines.contains(want), "{want} missing: {lines:#?}");
    }
    assert!(!lines.iter().any(|l| l.contains("Member.")), "{lines:#?}");
    assert!(
        lines.contains("corpus/one-pair: OK"),
        "a pair alone does not match: {lines:#?}"
    );
}

/// `HandlerType`: a message whose first lines are not headers is text,
/// not mail, until a logical signature hands it to the mail reader; what
/// that finds (EICAR, base64-encoded) is reported, before (with
/// `--allmatch`, besides) the signature itself.
#[test]
fn handler_type_hands_the_object_on_as_clamscan_does() {
    let d = Dir::new();
    // EICAR in base64, wrapped as a MIME part.
    let eicar_b64 = "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=";
    let lead = "junk line here";
    d.write(
        "corpus/message.txt",
        format!(
            "{lead}\nsomething: else\nContent-Type: multipart/mixed; boundary=\"XYZ\"\n\n\
             --XYZ\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n\
             {eicar_b64}\n--XYZ--\n"
        ),
    );
    d.write("corpus/plain.txt", format!("{lead}\nnothing else\n"));
    d.write(
        "db/h.ldb",
        format!(
            "Handler.Mail;Engine:51-255,Target:0,HandlerType:CL_TYPE_MAIL;0;{}\n",
            hex(lead.as_bytes())
        ),
    );
    std::fs::copy(crate::util::test3_cvd(), d.join("db/test-3.cvd")).unwrap();
    let db = d.join("db");
    let first = crate::util::same_lines_as_clamscan(
        d.path(),
        &["--no-summary", "-d", db.to_str().unwrap(), "corpus"],
    );
    assert!(
        first.contains("corpus/message.txt: Eicar-Test-Signature FOUND"),
        "{first:#?}"
    );
    assert!(
        first.contains("corpus/plain.txt: Handler.Mail.UNOFFICIAL FOUND"),
        "{first:#?}"
    );
    let all = allmatch_lines_as_clamscan(&d, &db);
    assert!(
        all.contains("corpus/message.txt: Handler.Mail.UNOFFICIAL FOUND"),
        "{all:#?}"
    );
}
