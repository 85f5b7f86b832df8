//! Text signatures against the real clamscan: ClamAV scans a normalised
//! copy of every object it types as text (lower case, whitespace runs as
//! one space, control and non-ASCII bytes dropped) with the text
//! signatures (target type 7) and the generic ones, besides the raw bytes.
//! Real licence texts and Python source, the same text as UTF-16 and
//! inside a zip, a binary, and a text over `MaxScriptNormalize`.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::util::{allmatch_lines_as_clamscan, allmatch_lines_with, testfiles, Dir};

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn licence(name: &str) -> Vec<u8> {
    std::fs::read(format!("/usr/share/common-licenses/{name}")).unwrap()
}

fn zip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, opts).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

/// Body and logical signatures written against the licences' normalised
/// text (which only the normalised pass can match), their raw text, and
/// both.
fn signatures() -> (String, String) {
    let ndb = [
        (
            "Text.Gpl3",
            "7",
            "*",
            hex(b"gnu general public license version 3"),
        ),
        ("Text.Apache", "7", "*", hex(b"apache license version 2.0")),
        ("Text.Start", "7", "0", hex(b" gnu general public license")),
        ("Text.End", "7", "EOF-20", hex(b"why-not-lgpl.html>. ")),
        ("Text.Raw", "7", "*", hex(b"GNU GENERAL")),
        ("Any.Warranty", "0", "*", hex(b"without any warranty")),
        ("Any.Raw", "0", "*", hex(b"GNU GENERAL PUBLIC LICENSE")),
        ("Any.Both", "0", "*", hex(b"software foundation")),
        ("Any.Import", "0", "*", hex(b"import abc")),
        ("Exe.Text", "1", "*", hex(b"gnu general public license")),
    ];
    let mut n = String::new();
    for (name, target, offset, body) in ndb {
        let _ = writeln!(n, "{name}:{target}:{offset}:{body}");
    }
    let l = format!(
        "Text.Logical;Engine:51-255,Target:7;0&1;{};{}\n\
         Text.Count;Engine:51-255,Target:7;0>20;{}\n\
         Any.Count;Engine:51-255,Target:0;0>40;{}\n\
         Text.Nocase;Engine:51-255,Target:7;0;{}::i\n",
        hex(b"apache license"),
        hex(b"version 2.0"),
        hex(b"license"),
        hex(b"license"),
        hex(b"REDISTRIBUTION"),
    );
    (n, l)
}

fn corpus(d: &Dir) {
    let gpl = licence("GPL-3");
    let apache = licence("Apache-2.0");
    d.write("corpus/GPL-3", &gpl);
    d.write("corpus/Apache-2.0", &apache);
    d.write("corpus/BSD", licence("BSD"));
    d.write("corpus/MPL-2.0", licence("MPL-2.0"));
    d.write(
        "corpus/os.py",
        std::fs::read(glob_os_py()).expect("Python's os.py"),
    );
    d.write(
        "corpus/clam.exe",
        std::fs::read(testfiles().join("clam.exe")).unwrap(),
    );
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            String::from_utf8_lossy(&apache)
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    d.write("corpus/Apache-2.0.utf16", &utf16);
    d.write("corpus/licences.zip", zip("GPL-3", &gpl));
    let mut crlf = Vec::new();
    for line in gpl.split(|&b| b == b'\n') {
        crlf.extend_from_slice(line);
        crlf.extend_from_slice(b"\r\n");
    }
    d.write("corpus/GPL-3.crlf", &crlf);
}

/// Python's `os.py`, from whichever Python 3 is installed.
fn glob_os_py() -> std::path::PathBuf {
    std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("os.py"))
        .find(|p| {
            p.is_file()
                && p.parent()
                    .and_then(|d| d.file_name())
                    .is_some_and(|n| n.to_string_lossy().starts_with("python3"))
        })
        .expect("python3 is installed")
}

#[test]
fn text_signatures_match_the_normalised_text_where_clamscan_matches() {
    let d = Dir::new();
    corpus(&d);
    let (ndb, ldb) = signatures();
    d.write("db/text.ndb", &ndb);
    d.write("db/text.ldb", &ldb);
    let lines = allmatch_lines_as_clamscan(&d, &d.join("db"));
    // The test means something only if each kind of match happened.
    for want in [
        "corpus/GPL-3: Text.Gpl3.UNOFFICIAL FOUND",
        "corpus/GPL-3: Text.Start.UNOFFICIAL FOUND",
        "corpus/GPL-3: Text.End.UNOFFICIAL FOUND",
        "corpus/GPL-3: Any.Raw.UNOFFICIAL FOUND",
        "corpus/GPL-3.crlf: Text.End.UNOFFICIAL FOUND",
        "corpus/Apache-2.0: Text.Logical.UNOFFICIAL FOUND",
        "corpus/Apache-2.0.utf16: Text.Apache.UNOFFICIAL FOUND",
        "corpus/licences.zip: Text.Gpl3.UNOFFICIAL FOUND",
        "corpus/BSD: Text.Nocase.UNOFFICIAL FOUND",
        "corpus/os.py: Any.Import.UNOFFICIAL FOUND",
    ] {
        assert!(lines.contains(want), "{want} missing: {lines:#?}");
    }
    assert!(!lines.iter().any(|l| l.contains("Text.Raw")), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("Exe.Text")), "{lines:#?}");
}

#[test]
fn text_over_max_scriptnormalize_is_not_normalised_as_in_clamscan() {
    let d = Dir::new();
    d.write("corpus/GPL-3", licence("GPL-3"));
    let (ndb, ldb) = signatures();
    d.write("db/text.ndb", &ndb);
    d.write("db/text.ldb", &ldb);
    let lines = allmatch_lines_with(&d, &d.join("db"), &["--max-scriptnormalize=10K"]);
    assert!(
        lines.contains("corpus/GPL-3: Any.Raw.UNOFFICIAL FOUND"),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("Text.")), "{lines:#?}");
}

/// File type rules (`.ftm`) from the database type objects first: bytes at
/// an offset (type 0) and patterns in the first KiB of text or binary data
/// (type 1). Retyped as mail, a file is read as mail and mail signatures
/// (target 4) match; as graphics or binary data, no text pass runs.
#[test]
fn file_type_rules_type_objects_as_clamscan_does() {
    let d = Dir::new();
    d.write(
        "db/t.ftm",
        format!(
            "0:0:{}:HE-MAIL:CL_TYPE_ANY:CL_TYPE_MAIL\n\
             1:*:{}:ZZ-MAIL:CL_TYPE_ANY:CL_TYPE_MAIL\n\
             0:0:ffd8ff:JPEG:CL_TYPE_ANY:CL_TYPE_GRAPHICS\n\
             1:*:{}:BIN:CL_TYPE_ANY:CL_TYPE_BINARY_DATA\n\
             4:1024:482b0004:HFS+:CL_TYPE_PART_ANY:CL_TYPE_PART_HFSPLUS\n",
            hex(b"he"),
            hex(b"zzzzz"),
            hex(b"notex"),
        ),
    );
    d.write(
        "db/t.ndb",
        format!(
            "Mail.Body:4:*:{0}\nAny.Body:0:*:{0}\nText.Hello:7:*:{1}\n",
            hex(b"BODYTEXT"),
            hex(b"hello world")
        ),
    );
    d.write(
        "corpus/direct.txt",
        "hello: x\nSubject: y\n\nBODYTEXT here\n",
    );
    d.write(
        "corpus/pattern.txt",
        "abc\nzzzzz\nSubject: y\n\nBODYTEXT here\n",
    );
    d.write("corpus/neither.txt", "qqq\nSubject: y\n\nBODYTEXT here\n");
    d.write("corpus/picture.jpg", b"\xff\xd8\xffHELLO WORLD\n");
    d.write("corpus/binary.txt", "HELLO WORLD notex\n");
    d.write("corpus/plain.txt", "HELLO WORLD\n");
    let lines = allmatch_lines_as_clamscan(&d, &d.join("db"));
    for want in [
        "corpus/direct.txt: Mail.Body.UNOFFICIAL FOUND",
        "corpus/pattern.txt: Mail.Body.UNOFFICIAL FOUND",
        "corpus/neither.txt: Any.Body.UNOFFICIAL FOUND",
        "corpus/plain.txt: Text.Hello.UNOFFICIAL FOUND",
        "corpus/picture.jpg: OK",
        "corpus/binary.txt: OK",
    ] {
        assert!(lines.contains(want), "{want} missing: {lines:#?}");
    }
}
