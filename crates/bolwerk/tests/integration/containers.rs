//! Objects inside objects: nesting, object paths, damaged input, bombs and
//! limits, and the same output as clamscan on the container formats read.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use bolwerk_scan::{Outcome, ScanSettings, Scanner};
use bolwerk_sigs::{LoadOptions, Loader};

use crate::differential::md5_hex;
use crate::eqnice;
use crate::util::{allmatch_lines_as_clamscan, bolwerk, run, test3_cvd, testfiles, Dir, EICAR};

pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, data).unwrap();
    b.into_inner().unwrap()
}

fn gzip_of(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// EICAR nested in zip, tar and gzip layers, each depth reported with its
/// object path.
#[test]
fn eicar_nested_at_every_depth_is_found_with_its_path() {
    let d = Dir::new();
    let db = d.no_db();
    let (mut data, mut inner) = (EICAR.to_vec(), "eicar.com".to_string());
    let mut object = Vec::new();
    for depth in 1..=6 {
        // Wrap the previous layer, named `inner`, in a new one.
        let segment = match depth % 3 {
            1 => {
                data = zip_of(&[("readme.txt", b"hello"), (inner.as_str(), &data)]);
                inner.clone()
            }
            2 => {
                data = tar_of(&inner, &data);
                inner.clone()
            }
            _ => {
                data = gzip_of(&data);
                "(gzip)".to_string()
            }
        };
        object.insert(0, segment);
        inner = format!("layer{depth}");
        let path = d.write(&inner, &data);
        let r = bolwerk(&[
            "scan",
            "--json",
            "--no-summary",
            "-d",
            &db,
            path.to_str().unwrap(),
        ]);
        let det: serde_json::Value =
            serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap();
        eqnice!("Win.Test.EICAR_HDB-1", det["name"]);
        eqnice!(object.join("//"), det["object"].as_str().unwrap());
        eqnice!(1, r.code);
    }
}

fn scanner(alert: bool) -> Scanner {
    let mut loader = Loader::new(LoadOptions::default());
    loader.add_builtin();
    loader.add_path(&test3_cvd()).unwrap();
    let engine = Arc::new(bolwerk_engine::Engine::build(loader.finish().0));
    Scanner::new(
        engine,
        ScanSettings {
            alert_exceeds_max: alert,
            ..ScanSettings::default()
        },
    )
}

/// Every test file cut short and with bytes flipped: no panic, and what can
/// still be read is still scanned.
#[test]
fn damaged_containers_never_panic() {
    let s = scanner(false);
    let mut seen = 0;
    for entry in std::fs::read_dir(testfiles()).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for cut in [1, 2, 7, 30, 64, 100, 257, 300, 512, 600, 1000] {
            if cut < data.len() {
                let _ = s.scan_bytes(&data[..data.len() - cut]);
                let _ = s.scan_bytes(&data[..cut]);
                seen += 2;
            }
        }
        for step in [3, 17, 101] {
            let mut bad = data.clone();
            for i in (0..bad.len()).step_by(step) {
                bad[i] ^= 0x5a;
            }
            let _ = s.scan_bytes(&bad);
            seen += 1;
        }
    }
    assert!(seen > 500, "{seen}");
}

/// A 42.zip-style recursive bomb: 16 archives of 16 archives … of 16 MiB of
/// zeros (4 GiB when fully expanded, 20 KB on disk). The scan stops at the
/// scan-size budget and says so when asked.
#[test]
fn recursive_zip_bomb_stops_at_the_scan_size_limit() {
    let zeros = vec![0u8; 16 << 20];
    let mut layer = zip_of(&[("zeros", &zeros)]);
    for level in 0..3 {
        let names: Vec<String> = (0..16).map(|i| format!("l{level}_{i}.zip")).collect();
        let entries: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), layer.as_slice()))
            .collect();
        layer = zip_of(&entries);
    }
    assert!(layer.len() < 200_000, "{}", layer.len());
    let quiet = scanner(false).scan_bytes(&layer);
    eqnice!(Outcome::Clean, quiet);
    match scanner(true).scan_bytes(&layer) {
        Outcome::Infected(found) => {
            eqnice!("Heuristics.Limits.Exceeded.MaxScanSize", found[0].name);
        }
        other => panic!("{other:?}"),
    }
}

/// Many members pointing at the same compressed data (an overlapping-entry
/// bomb) are charged to the budget one by one and stop at its limit.
#[test]
fn overlapping_entry_bomb_stops_at_the_file_count_limit() {
    let d = Dir::new();
    let mut entries = Vec::new();
    let big = vec![0u8; 1 << 20];
    let names: Vec<String> = (0..200).map(|i| format!("f{i}")).collect();
    for n in &names {
        entries.push((n.as_str(), big.as_slice()));
    }
    let bomb = d.write("many.zip", zip_of(&entries));
    let r = bolwerk(&[
        "clamscan",
        "--no-summary",
        "--alert-exceeds-max",
        "--max-files=50",
        bomb.to_str().unwrap(),
    ]);
    eqnice!(
        format!(
            "{}: Heuristics.Limits.Exceeded.MaxFiles FOUND\n",
            bomb.display()
        ),
        r.stdout
    );
}

/// Output lines, sorted, without timing.
fn lines(stdout: &str) -> BTreeSet<String> {
    stdout.lines().map(str::to_string).collect()
}

fn same_as_clamscan(cwd: &Path, args: &[&str]) -> BTreeSet<String> {
    let theirs = run(Command::new("clamscan"), cwd, args, None);
    let mut ours_args = vec!["clamscan", "--no-builtin"];
    ours_args.extend_from_slice(args);
    let ours = crate::util::bolwerk_in(cwd, &ours_args, None);
    eqnice!(lines(&theirs.stdout), lines(&ours.stdout));
    eqnice!(theirs.code, ours.code);
    lines(&ours.stdout)
}

/// The formats bolwerk reads: the same lines as clamscan, and the limit
/// heuristics at the same places.
#[test]
fn same_output_as_clamscan_on_the_formats_read() {
    let d = Dir::new();
    let supported = [
        "clam.zip",
        "clam.bz2.zip",
        "clam.d64.zip",
        "clam.tar.gz",
        "clam_cache_emax.tgz",
        "clam.exe.bz2",
        "clam.7z",
        "clam.cab",
        "clam.bin-le.cpio",
        "clam.bin-be.cpio",
        "clam.odc.cpio",
        "clam.newc.cpio",
        "clam.exe.szdd",
        "clam.ole.doc",
        "clam.ppt",
        "clam.pdf",
        "clam.exe.html",
        "clam.mail",
        "clam.exe.mbox.base64",
        "clam.exe.mbox.uu",
        "clam.exe.binhex",
        "clam.tnef",
        "clam.exe.rtf",
    ];
    for f in supported {
        std::fs::copy(testfiles().join(f), d.join(f)).unwrap();
    }
    let cvd = test3_cvd();
    let db = cvd.to_str().unwrap();
    let out = same_as_clamscan(d.path(), &["--no-summary", "-d", db, "."]);
    assert_eq!(
        out.iter()
            .filter(|l| l.ends_with("Clamav.Test.File-6 FOUND"))
            .count(),
        23
    );
    for limit in [
        "--max-recursion=1",
        "--max-filesize=300",
        "--max-scansize=100",
    ] {
        same_as_clamscan(
            d.path(),
            &[
                "--no-summary",
                "--alert-exceeds-max",
                limit,
                "-d",
                db,
                "clam.zip",
                "clam.tar.gz",
                "clam.7z",
            ],
        );
    }
}

/// Archives and documents behind other bytes (random bytes, a line of
/// text): found where clamscan finds them (zip, 7z, cab, ARJ, PDF) and not
/// where it does not (gzip).
#[test]
fn archives_behind_other_bytes_are_found_as_clamscan_finds_them() {
    let d = Dir::new();
    let junk: Vec<u8> = (0..30u32).map(|i| (i * 97 + 13) as u8 ^ 0xa5).collect();
    let files = [
        "clam.zip",
        "clam.7z",
        "clam.cab",
        "clam.arj",
        "clam.pdf",
        "clam.tar.gz",
        "clam.exe.html",
    ];
    for f in files {
        let data = std::fs::read(testfiles().join(f)).unwrap();
        d.write(&format!("junk.{f}"), [junk.as_slice(), &data].concat());
        d.write(
            &format!("text.{f}"),
            [b"hello text here\n".as_slice(), &data].concat(),
        );
    }
    // Far behind: the magic straddles a boundary of the 2 MiB chunks the
    // search of a mapped file goes by (past offset 0: 1 + 3 chunks - 2),
    // the chunks before it handed back as searched.
    let far: Vec<u8> = (0..(6u32 << 20) - 1)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for f in ["clam.zip", "clam.7z", "clam.cab"] {
        let data = std::fs::read(testfiles().join(f)).unwrap();
        d.write(&format!("far.{f}"), [far.as_slice(), &data].concat());
    }
    let cvd = test3_cvd();
    let out = same_as_clamscan(
        d.path(),
        &["--no-summary", "-d", cvd.to_str().unwrap(), "."],
    );
    let found = out.iter().filter(|l| l.ends_with("FOUND")).count();
    assert_eq!(found, 15, "{out:?}");
    assert!(out.contains("./far.clam.zip: Clamav.Test.File-6 FOUND"));
    assert!(out.contains("./junk.clam.tar.gz: OK"));
    assert!(out.contains("./junk.clam.exe.html: Clamav.Test.File-6 FOUND"));
}

/// A one-object PDF whose stream has `filters` (and more of the
/// dictionary) and the encoded `body`.
fn pdf_of(dict: &str, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "%PDF-1.4\n1 0 obj\n<< /Length {} {dict} >>\nstream\n",
        body.len()
    );
    let tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    [head.as_bytes(), body, tail].concat()
}

/// PDF's LZW (`early` is its EarlyChange parameter).
fn lzw_of(data: &[u8], early: bool) -> Vec<u8> {
    use weezl::{encode::Encoder, BitOrder};
    let mut e = if early {
        Encoder::with_tiff_size_switch(BitOrder::Msb, 8)
    } else {
        Encoder::new(BitOrder::Msb, 8)
    };
    e.encode(data).unwrap()
}

/// PDF's run-length encoding, literal runs only.
fn run_length_of(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for run in data.chunks(128) {
        out.push(run.len() as u8 - 1);
        out.extend_from_slice(run);
    }
    out.push(128);
    out
}

fn hex_of(data: &[u8]) -> Vec<u8> {
    let mut s: String = data.iter().map(|b| format!("{b:02x}")).collect();
    s.push('>');
    s.into_bytes()
}

/// The PDF filters decode to the bytes clamscan decodes them to: a hash
/// signature of a 35 KB licence text (long enough to fill and reset the
/// LZW table) finds it behind LZW with either EarlyChange, behind
/// run-length encoding and in an object stream. clamscan extracts only
/// streams with certain filters (ASCIIHex, ASCII85, Flate among them), so
/// the comparison chains those in front; bolwerk decodes LZW and run-length
/// alone too, which clamscan leaves unread.
#[test]
fn pdf_filters_decode_as_clamscan_decodes_them() {
    let d = Dir::new();
    let text = std::fs::read("/usr/share/common-licenses/GPL-3").unwrap();
    let md5 = md5_hex(&text);
    d.write("db/t.hdb", format!("{md5}:{}:Test.Decoded\n", text.len()));
    let both = [
        (
            "lzw1.pdf",
            "/Filter [/AHx /LZW]",
            hex_of(&lzw_of(&text, true)),
        ),
        (
            "lzw0.pdf",
            "/Filter [/ASCIIHexDecode /LZWDecode] /DecodeParms [null << /EarlyChange 0 >>]",
            hex_of(&lzw_of(&text, false)),
        ),
        (
            "rl.pdf",
            "/Filter [/ASCIIHexDecode /RunLengthDecode]",
            hex_of(&run_length_of(&text)),
        ),
        (
            "objstm.pdf",
            "/Type /ObjStm /N 1 /First 0 /Filter /FlateDecode",
            {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(&text).unwrap();
                e.finish().unwrap()
            },
        ),
    ];
    for (name, dict, body) in &both {
        d.write(&format!("corpus/{name}"), pdf_of(dict, body));
    }
    let db = d.join("db/t.hdb");
    let out = same_as_clamscan(
        d.path(),
        &["--no-summary", "-d", db.to_str().unwrap(), "corpus"],
    );
    let found = out
        .iter()
        .filter(|l| l.ends_with(": Test.Decoded.UNOFFICIAL FOUND"));
    assert_eq!(found.count(), both.len(), "{out:?}");

    let alone = d.write(
        "alone/lzw.pdf",
        pdf_of("/Filter /LZWDecode", &lzw_of(&text, true)),
    );
    let rl = d.write("alone/rl.pdf", pdf_of("/Filter /RL", &run_length_of(&text)));
    for path in [alone, rl] {
        let r = bolwerk(&[
            "scan",
            "--no-summary",
            "-d",
            db.to_str().unwrap(),
            path.to_str().unwrap(),
        ]);
        assert!(
            r.stdout.contains("Test.Decoded.UNOFFICIAL FOUND"),
            "{}",
            r.stdout
        );
    }
}

/// ISO 9660 images made by xorriso (plain ISO names, Joliet with Rock
/// Ridge, a zip inside and an image inside a zip): the same lines as
/// clamscan, and the members named by their Joliet or Rock Ridge names.
#[test]
fn iso9660_images_read_as_clamscan_reads_them() {
    let d = Dir::new();
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    d.write("src/Deep/Er/Program Files.exe", &exe);
    d.write("src/clam.zip", zip_of(&[("clam.exe", &exe)]));
    d.write("src/notes.txt", "nothing to see\n");
    let src = d.join("src");
    std::fs::create_dir_all(d.join("corpus")).unwrap();
    let mkisofs = |name: &str, extra: &[&str]| {
        let mut args = vec!["-as", "mkisofs", "-quiet"];
        args.extend_from_slice(extra);
        let out = d.join(&format!("corpus/{name}"));
        args.extend(["-o", out.to_str().unwrap(), src.to_str().unwrap()]);
        let made = run(Command::new("xorriso"), d.path(), &args, None);
        assert_eq!(
            made.code, 0,
            "xorriso (apt-get install xorriso): {}",
            made.stderr
        );
    };
    mkisofs("joliet.iso", &["-J", "-R"]);
    mkisofs("rockridge.iso", &["-R"]);
    // Plain ISO 9660 names: xorriso's own commands, Rock Ridge off.
    let plain = d.join("corpus/plain.iso");
    let args = ["-report_about", "SORRY", "-rockridge", "off", "-outdev"];
    let mut args = args.to_vec();
    args.extend([plain.to_str().unwrap(), "-map", src.to_str().unwrap(), "/"]);
    let made = run(Command::new("xorriso"), d.path(), &args, None);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let iso = std::fs::read(d.join("corpus/joliet.iso")).unwrap();
    d.write("corpus/iso.zip", zip_of(&[("disc.iso", &iso)]));
    let cvd = test3_cvd();
    let out = same_as_clamscan(
        d.path(),
        &["--no-summary", "-d", cvd.to_str().unwrap(), "corpus"],
    );
    let found = out
        .iter()
        .filter(|l| l.ends_with("Clamav.Test.File-6 FOUND"));
    assert_eq!(found.count(), 4, "{out:?}");

    let objects: BTreeSet<String> = detections(&cvd, &d.join("corpus"))
        .iter()
        .map(|v| {
            let file = v["path"].as_str().unwrap().rsplit('/').next().unwrap();
            format!("{file}//{}", v["object"].as_str().unwrap_or(""))
        })
        .collect();
    for want in [
        "joliet.iso//Deep/Er/Program Files.exe",
        "joliet.iso//clam.zip//clam.exe",
        "rockridge.iso//Deep/Er/Program Files.exe",
        "plain.iso//DEEP/ER/PROGRAM_FILES.EXE",
        "plain.iso//CLAM.ZIP//clam.exe",
        "iso.zip//disc.iso//Deep/Er/Program Files.exe",
    ] {
        assert!(objects.contains(want), "{want} not in {objects:#?}");
    }
}

/// Macro source in real Office documents (OLE2 and OOXML, see
/// `tests/data/vba/README.md`): OLE2 signatures (target 2) and generic
/// ones match the decompressed module source as clamscan matches it —
/// indentation and case as written, hash signatures not — each signature
/// alone and all together.
#[test]
fn vba_macro_source_is_matched_as_clamscan_matches_it() {
    let d = Dir::new();
    std::fs::create_dir_all(d.join("corpus")).unwrap();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vba");
    for f in ["issues.xls", "vba.xlsm", "oleform-PR314.docm"] {
        std::fs::copy(data.join(f), d.join(&format!("corpus/{f}"))).unwrap();
    }
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let sigs = [
        ("Vba.T2.MsgBox", 2, "MsgBox \"Hello"),
        ("Vba.T2.Indent", 2, "\r\n    MsgBox"),
        ("Vba.T0.Attribute", 0, "Attribute VB_Name = \"testVBA\""),
        ("Vba.T0.Sub", 0, "Sub a()"),
        ("Vba.T2.Frame", 2, "Private Sub Frame1_Click()"),
        ("Vba.T2.Lower", 2, "msgbox \"hello"),
        ("Vba.T1.MsgBox", 1, "MsgBox \"Hello"),
    ];
    let source = "Attribute VB_Name = \"testVBA\"\r\nPublic Sub test()\r\n    MsgBox \"Hello from vba!\"\r\nEnd Sub\r\n";
    let md5 = md5_hex(source.as_bytes());
    d.write(
        "db/vba.hdb",
        format!("{md5}:{}:Vba.Hash.Source\n", source.len()),
    );
    for (name, target, text) in sigs {
        d.write(
            &format!("one/{name}.ndb"),
            format!("{name}:{target}:*:{}\n", hex(text)),
        );
    }
    let all: String = sigs
        .iter()
        .map(|(n, t, s)| format!("{n}:{t}:*:{}\n", hex(s)))
        .collect();
    d.write("db/vba.ndb", all);
    let out = allmatch_lines_as_clamscan(&d, &d.join("db"));
    let found: BTreeSet<&str> = out.iter().filter_map(|l| l.split(": ").nth(1)).collect();
    eqnice!(
        BTreeSet::from([
            "Vba.T0.Attribute.UNOFFICIAL FOUND",
            "Vba.T0.Sub.UNOFFICIAL FOUND",
            "Vba.T2.Frame.UNOFFICIAL FOUND",
            "Vba.T2.Indent.UNOFFICIAL FOUND",
            "Vba.T2.MsgBox.UNOFFICIAL FOUND",
        ]),
        found
    );
    for (name, _, _) in sigs {
        let db = d.join(&format!("one/{name}.ndb"));
        same_as_clamscan(
            d.path(),
            &["--no-summary", "-d", db.to_str().unwrap(), "corpus"],
        );
    }
}

/// OneNote sections: attachments (FileDataStoreObjects) are read as
/// clamscan reads them — a hash signature finds an attached executable,
/// a zipped one and a text file, each only once extracted.
#[test]
fn onenote_attachments_read_as_clamscan_reads_them() {
    let d = Dir::new();
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    let text = b"an attached note\n".as_slice();
    // {7B5C52E4-D88C-4DA7-AEB1-5378D02996D3} and
    // {BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC} as stored, and a footer GUID.
    let magic = [
        0xe4, 0x52, 0x5c, 0x7b, 0x8c, 0xd8, 0xa7, 0x4d, 0xae, 0xb1, 0x53, 0x78, 0xd0, 0x29, 0x96,
        0xd3,
    ];
    let header = [
        0xe7, 0x16, 0xe3, 0xbd, 0x65, 0x26, 0x11, 0x45, 0xa4, 0xc4, 0x8d, 0x4d, 0x0b, 0x7a, 0x9e,
        0xac,
    ];
    let footer = [
        0x22, 0xa7, 0xfb, 0x71, 0x79, 0x0f, 0x0b, 0x4a, 0xbb, 0x13, 0x89, 0x92, 0x56, 0x42, 0x6b,
        0x24,
    ];
    let object = |data: &[u8]| {
        let pad = vec![0u8; (8 - data.len() % 8) % 8];
        let len = (data.len() as u64).to_le_bytes();
        [&header[..], &len, &[0; 12], data, &pad, &footer].concat()
    };
    let zipped = zip_of(&[("inner.exe", &exe)]);
    let section = [
        &magic[..],
        &[0; 1008],
        &object(text),
        &[0; 64],
        &object(&exe),
        &object(&zipped),
    ]
    .concat();
    d.write("corpus/notes.one", &section);
    d.write(
        "db/one.hdb",
        format!(
            "{}:{}:One.Exe\n{}:{}:One.Text\n",
            md5_hex(&exe),
            exe.len(),
            md5_hex(text),
            text.len()
        ),
    );
    let out = allmatch_lines_as_clamscan(&d, &d.join("db"));
    eqnice!(
        BTreeSet::from([
            "corpus/notes.one: One.Exe.UNOFFICIAL FOUND".to_string(),
            "corpus/notes.one: One.Text.UNOFFICIAL FOUND".to_string(),
        ]),
        out
    );
}

/// RAR archives made by WinRAR and RAR (`tests/data/rar/README.md`): every
/// member libarchive's `bsdtar` extracts is found by a hash signature of
/// its bytes, under its name, in RAR 2.9-4 and RAR 5 archives, solid or
/// not, with Unicode names and in a volume of a set (the members whole in
/// it). Members libarchive cannot read (a solid RAR 3 archive) are read;
/// so are archives behind an executable or text; encrypted members are
/// skipped; a member over `--max-filesize` is reported as the limit.
#[test]
fn rar_members_are_the_ones_libarchive_extracts() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rar");
    let compared = [
        "ctime5.rar",
        "rar3-owner.rar",
        "rar3-subdirs.rar",
        "rar3-versions.rar",
        "rar5-blake.rar",
        "rar5-solid.rar",
        "rar5-solid-qo.rar",
        "rar5-subdirs.rar",
        "seektest.rar",
        "unicode2.rar",
        "rar5-vols.part3.rar",
    ];
    for name in compared {
        let d = Dir::new();
        let archive = data.join(name);
        let (want, sigs) = bsdtar_members(&archive, &d);
        assert!(!want.is_empty(), "{name}: bsdtar extracted nothing");
        d.write("db/members.hdb", &sigs);
        eqnice!(want, scan_objects(&d.join("db/members.hdb"), &archive));
    }

    // libarchive fails on this solid RAR 3 archive; both members are read.
    let d = Dir::new();
    let solid = data.join("rar3-solid.rar");
    let (_, seek) = bsdtar_members(&data.join("seektest.rar"), &d);
    d.write("db/seek.hdb", &seek);
    eqnice!(
        BTreeSet::from(["stest1.txt".to_string(), "stest2.txt".to_string()]),
        scan_objects(&d.join("db/seek.hdb"), &solid)
    );
    // Behind an executable (a self-extractor) and behind a line of text.
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    let rar = std::fs::read(data.join("rar5-solid.rar")).unwrap();
    let sfx = d.write("sfx.exe", [exe.as_slice(), &rar].concat());
    let text = d.write("text.rar", [b"hello there\n".as_slice(), &rar].concat());
    for path in [sfx, text] {
        eqnice!(
            BTreeSet::from(["stest1.txt".to_string(), "stest2.txt".to_string()]),
            scan_objects(&d.join("db/seek.hdb"), &path)
        );
    }
    // Encrypted: nothing read, nothing found, no error.
    let enc = bolwerk(&[
        "scan",
        "--no-summary",
        "--no-builtin",
        "-d",
        d.join("db/seek.hdb").to_str().unwrap(),
        data.join("rar5-psw.rar").to_str().unwrap(),
    ]);
    eqnice!(0, enc.code);
    // A member over the file-size limit.
    let big = bolwerk(&[
        "clamscan",
        "--no-summary",
        "--no-builtin",
        "--max-filesize=1000",
        "--alert-exceeds-max",
        "-d",
        d.join("db/seek.hdb").to_str().unwrap(),
        data.join("rar5-solid.rar").to_str().unwrap(),
    ]);
    assert!(
        big.stdout
            .ends_with("rar5-solid.rar: Heuristics.Limits.Exceeded.MaxFileSize FOUND\n"),
        "{}",
        big.stdout
    );
}

/// Regular files below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.extend(walk(&p));
        } else if meta.is_file() && meta.len() > 0 {
            out.push(p);
        }
    }
    out
}

/// The members libarchive's `bsdtar` extracts from `archive` (into
/// `d/out`), and a hash signature for each. bsdtar exits 1 where it cannot
/// read a member (it cannot read every solid RAR 3 archive); what it
/// extracts is taken.
fn bsdtar_members(archive: &Path, d: &Dir) -> (BTreeSet<String>, String) {
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let args = [
        "-x",
        "-f",
        archive.to_str().unwrap(),
        "-C",
        out.to_str().unwrap(),
    ];
    // A missing bsdtar fails here: apt-get install libarchive-tools.
    let _ = run(Command::new("bsdtar"), d.path(), &args, None);
    let mut names = BTreeSet::new();
    let mut sigs = String::new();
    for path in walk(&out) {
        let bytes = std::fs::read(&path).unwrap();
        let md5 = md5_hex(&bytes);
        sigs.push_str(&format!("{md5}:{}:M{}\n", bytes.len(), names.len()));
        let member = path.strip_prefix(&out).unwrap().to_str().unwrap();
        names.insert(member.to_string());
    }
    (names, sigs)
}

/// The objects inside `archive` that `bolwerk scan --allmatch` finds
/// with the database `db`.
fn scan_objects(db: &Path, archive: &Path) -> BTreeSet<String> {
    detections(db, archive)
        .iter()
        .map(|v| v["object"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The detections of `bolwerk scan --json --allmatch` with the database
/// `db` below `path`.
fn detections(db: &Path, path: &Path) -> Vec<serde_json::Value> {
    let r = bolwerk(&[
        "scan",
        "--json",
        "--allmatch",
        "--no-summary",
        "--no-builtin",
        "-d",
        db.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// PDF documents encrypted by qpdf for an empty user password (RC4 of 40
/// and 128 bits, AES-128, AES-256) have their streams decrypted, as
/// clamscan decrypts them: a hash signature finds the attached executable
/// in each. With a user password nothing is decrypted, in either tool.
#[test]
fn encrypted_pdfs_are_decrypted_as_clamscan_decrypts_them() {
    let d = Dir::new();
    let exe = testfiles().join("clam.exe");
    let plain = d.join("attached.pdf");
    let qpdf = |args: &[&str]| {
        let r = run(Command::new("qpdf"), d.path(), args, None);
        // qpdf exits 3 for warnings; its output is still written.
        assert!(
            r.code == 0 || r.code == 3,
            "qpdf (apt-get install qpdf): {}",
            r.stderr
        );
    };
    let (exe, plain_s) = (exe.to_str().unwrap(), plain.to_str().unwrap());
    qpdf(&["--empty", "--add-attachment", exe, "--", plain_s]);
    std::fs::create_dir_all(d.join("corpus")).unwrap();
    let weak = "--allow-weak-crypto";
    for (name, encrypt) in [
        ("rc4-40.pdf", &[weak, "--encrypt", "", "owner", "40"][..]),
        (
            "rc4-128.pdf",
            &[weak, "--encrypt", "", "owner", "128", "--use-aes=n"],
        ),
        (
            "aes-128.pdf",
            &["--encrypt", "", "owner", "128", "--use-aes=y"],
        ),
        ("aes-256.pdf", &["--encrypt", "", "owner", "256"]),
        (
            "user-password.pdf",
            &["--encrypt", "secret", "owner", "256"],
        ),
        (
            "user-password-rc4.pdf",
            &[weak, "--encrypt", "secret", "owner", "128", "--use-aes=n"],
        ),
    ] {
        let out = d.join(&format!("corpus/{name}"));
        let mut argv = encrypt.to_vec();
        argv.extend(["--", plain_s, out.to_str().unwrap()]);
        qpdf(&argv);
    }
    let bytes = std::fs::read(exe).unwrap();
    d.write(
        "db/exe.hdb",
        format!("{}:{}:Attached.Exe\n", md5_hex(&bytes), bytes.len()),
    );
    let out = same_as_clamscan(
        d.path(),
        &[
            "--no-summary",
            "-d",
            d.join("db/exe.hdb").to_str().unwrap(),
            "corpus",
        ],
    );
    eqnice!(
        BTreeSet::from([
            "corpus/aes-128.pdf: Attached.Exe.UNOFFICIAL FOUND".to_string(),
            "corpus/aes-256.pdf: Attached.Exe.UNOFFICIAL FOUND".to_string(),
            "corpus/rc4-128.pdf: Attached.Exe.UNOFFICIAL FOUND".to_string(),
            "corpus/rc4-40.pdf: Attached.Exe.UNOFFICIAL FOUND".to_string(),
            "corpus/user-password-rc4.pdf: OK".to_string(),
            "corpus/user-password.pdf: OK".to_string(),
        ]),
        out
    );
}

/// libmspack's test cabinets (fetched by `.ci/run`, see
/// `$BOLWERK_MSPACK_CABS`), or `None` outside CI when they are missing.
fn mspack_cabs() -> Option<PathBuf> {
    let dir = std::env::var_os("BOLWERK_MSPACK_CABS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/bolwerk/data/libmspack-0.11alpha/test/test_files/cabd")
        });
    if dir.join("mszip_lzx_qtm.cab").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "libmspack's test cabinets are missing in {} (.ci/run fetches them)",
        dir.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("SKIPPED: {msg}");
    None
}

/// A cabinet with an MSZIP, an LZX and a Quantum folder (libmspack's
/// test file): each member `cabextract` extracts is found by a hash
/// signature of its bytes, as clamscan finds it — but the Quantum one,
/// which bolwerk does not read. libmspack's damaged LZX cabinets do not
/// panic.
#[test]
fn cab_lzx_folders_read_as_clamscan_reads_them() {
    let Some(cabs) = mspack_cabs() else {
        return;
    };
    let d = Dir::new();
    let cab = cabs.join("mszip_lzx_qtm.cab");
    let out = d.join("out");
    let args = ["-q", "-d", out.to_str().unwrap(), cab.to_str().unwrap()];
    let x = run(Command::new("cabextract"), d.path(), &args, None);
    assert_eq!(
        x.code, 0,
        "cabextract (apt-get install cabextract): {}",
        x.stderr
    );
    let mut sigs = String::new();
    for f in walk(&out) {
        let bytes = std::fs::read(&f).unwrap();
        let name = f.file_name().unwrap().to_str().unwrap().replace('.', "_");
        sigs.push_str(&format!("{}:{}:Cab.{name}\n", md5_hex(&bytes), bytes.len()));
    }
    d.write("db/cab.hdb", &sigs);
    std::fs::create_dir_all(d.join("corpus")).unwrap();
    std::fs::copy(&cab, d.join("corpus/mszip_lzx_qtm.cab")).unwrap();
    let db = d.join("db/cab.hdb");
    let args = [
        "--no-summary",
        "--allmatch",
        "-d",
        db.to_str().unwrap(),
        "corpus",
    ];
    let theirs = lines(&run(Command::new("clamscan"), d.path(), &args, None).stdout);
    let mut cl = vec!["clamscan", "--no-builtin"];
    cl.extend(args);
    let ours = lines(&crate::util::bolwerk_in(d.path(), &cl, None).stdout);
    let quantum = "corpus/mszip_lzx_qtm.cab: Cab.qtm_txt.UNOFFICIAL FOUND".to_string();
    assert!(theirs.contains(&quantum), "{theirs:?}");
    let mut want = theirs.clone();
    want.remove(&quantum);
    eqnice!(want, ours);
    assert!(ours.contains("corpus/mszip_lzx_qtm.cab: Cab.lzx_txt.UNOFFICIAL FOUND"));

    let s = scanner(false);
    for f in std::fs::read_dir(&cabs).unwrap() {
        let data = std::fs::read(f.unwrap().path()).unwrap();
        let _ = s.scan_bytes(&data);
    }
}

/// NSIS installers made by Debian's makensis with each compressor, solid
/// and not (bzip2 is NSIS's own variant): every file inside is found by a
/// hash signature of its bytes, as clamscan finds it.
#[test]
fn nsis_installers_of_every_compressor_read_as_clamscan_reads_them() {
    let d = Dir::new();
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    let text = std::fs::read("/usr/share/common-licenses/GPL-3").unwrap();
    d.write("src/clam.exe", &exe);
    d.write("src/licence.txt", &text);
    std::fs::create_dir_all(d.join("corpus")).unwrap();
    for compressor in ["zlib", "bzip2", "lzma"] {
        for solid in ["", "/SOLID "] {
            let out = d.join(&format!(
                "corpus/{compressor}{}.exe",
                if solid.is_empty() { "" } else { "-solid" }
            ));
            let script = format!(
                "SetCompressor {solid}{compressor}\nOutFile \"{}\"\nSection\nSetOutPath $INSTDIR\n\
                 File clam.exe\nFile licence.txt\nSectionEnd\n",
                out.display()
            );
            let nsi = d.write("src/setup.nsi", script);
            let args = ["-V1", nsi.to_str().unwrap()];
            let made = run(Command::new("makensis"), &d.join("src"), &args, None);
            assert_eq!(
                made.code, 0,
                "makensis (apt-get install nsis): {}",
                made.stderr
            );
        }
    }
    let sigs = format!(
        "{}:{}:Nsis.Exe\n{}:{}:Nsis.Text\n",
        md5_hex(&exe),
        exe.len(),
        md5_hex(&text),
        text.len()
    );
    d.write("db/nsis.hdb", sigs);
    let out = allmatch_lines_as_clamscan(&d, &d.join("db"));
    assert_eq!(out.len(), 12, "{out:#?}");
}

/// `--alert-encrypted`, `--alert-encrypted-archive` and
/// `--alert-encrypted-doc`: a zip with an encrypted member (made by Info-ZIP's
/// `zip -P`), one with an encrypted and a plain member, 7-Zip archives with
/// encrypted data and encrypted headers (p7zip), PDF documents with a
/// user password and with an empty one (qpdf): the same lines as clamscan,
/// with and without `--allmatch`. A RAR with encrypted members, which
/// Debian's clamscan cannot read, is reported as ClamAV names it.
#[test]
fn encrypted_archives_and_documents_alert_as_clamscan_alerts() {
    let d = Dir::new();
    let exe = testfiles().join("clam.exe");
    std::fs::create_dir_all(d.join("corpus")).unwrap();
    d.write("secret.txt", "a secret\n");
    let zip = |args: &[&str]| {
        let r = run(Command::new("zip"), d.path(), args, None);
        assert_eq!(r.code, 0, "zip (apt-get install zip): {}", r.stderr);
    };
    let exe_s = exe.to_str().unwrap();
    zip(&["-q", "-j", "-P", "pw", "corpus/encrypted.zip", exe_s]);
    zip(&["-q", "-j", "corpus/mixed.zip", exe_s]);
    zip(&["-q", "-P", "pw", "corpus/mixed.zip", "secret.txt"]);
    // 7-Zip: the data encrypted, and the headers too.
    for (name, extra) in [("encrypted.7z", None), ("headers.7z", Some("-mhe=on"))] {
        let out = format!("corpus/{name}");
        let mut args = vec!["a", "-bd", "-ppw"];
        args.extend(extra);
        args.extend([out.as_str(), exe_s]);
        let r = run(Command::new("7z"), d.path(), &args, None);
        assert_eq!(r.code, 0, "7z (apt-get install p7zip-full): {}", r.stderr);
    }
    let plain = d.join("plain.pdf");
    let qpdf = |args: &[&str]| {
        let r = run(Command::new("qpdf"), d.path(), args, None);
        assert!(r.code == 0 || r.code == 3, "qpdf: {}", r.stderr);
    };
    qpdf(&[
        "--empty",
        "--add-attachment",
        exe_s,
        "--",
        plain.to_str().unwrap(),
    ]);
    for (name, user) in [("user.pdf", "secret"), ("empty.pdf", "")] {
        let out = d.join(&format!("corpus/{name}"));
        let args = ["--encrypt", user, "owner", "256", "--"];
        let mut args = args.to_vec();
        args.extend([plain.to_str().unwrap(), out.to_str().unwrap()]);
        qpdf(&args);
    }
    let cvd = test3_cvd();
    let db = cvd.to_str().unwrap();
    for option in [
        "--alert-encrypted",
        "--alert-encrypted-archive=yes",
        "--alert-encrypted-doc",
        "--alert-encrypted=no",
    ] {
        for all in ["--allmatch=no", "--allmatch"] {
            same_as_clamscan(d.path(), &["--no-summary", option, all, "-d", db, "corpus"]);
        }
    }
    let out = same_as_clamscan(
        d.path(),
        &["--no-summary", "--alert-encrypted", "-d", db, "corpus"],
    );
    assert!(out.contains("corpus/encrypted.zip: Heuristics.Encrypted.Zip FOUND"));
    assert!(out.contains("corpus/user.pdf: Heuristics.Encrypted.PDF FOUND"));
    assert!(out.contains("corpus/headers.7z: Heuristics.Encrypted.7Zip FOUND"));
    let rar = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rar/rar5-psw.rar");
    let r = bolwerk(&[
        "clamscan",
        "--no-summary",
        "--no-builtin",
        "--alert-encrypted-archive",
        "-d",
        db,
        rar.to_str().unwrap(),
    ]);
    assert!(
        r.stdout
            .ends_with("rar5-psw.rar: Heuristics.Encrypted.RAR FOUND\n"),
        "{}",
        r.stdout
    );
}
