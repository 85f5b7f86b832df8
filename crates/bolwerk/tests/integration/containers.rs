//! Objects inside objects: nesting, object paths, damaged input, bombs and
//! limits, and the same output as clamscan on the container formats read.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use bolwerk_scan::{Outcome, ScanSettings, Scanner};
use bolwerk_sigs::{LoadOptions, Loader};

use crate::eqnice;
use crate::util::{bolwerk, run, test3_cvd, testfiles, Dir, EICAR};

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
    let cvd = test3_cvd();
    let out = same_as_clamscan(
        d.path(),
        &["--no-summary", "-d", cvd.to_str().unwrap(), "."],
    );
    let found = out.iter().filter(|l| l.ends_with("FOUND")).count();
    assert_eq!(found, 12, "{out:?}");
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
    use md5::Digest;
    let d = Dir::new();
    let text = std::fs::read("/usr/share/common-licenses/GPL-3").unwrap();
    let md5: String = md5::Md5::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
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
