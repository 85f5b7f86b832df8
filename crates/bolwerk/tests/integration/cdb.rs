//! Container metadata signatures (`.cdb`) against the real clamscan: names,
//! sizes, encryption, positions and container types of members of zip
//! archives (one with an encrypted member, whose bytes neither scanner can
//! read) and a tar archive.

use std::fmt::Write as _;
use std::io::Write as _;

use zip::unstable::write::FileOptionsExt as _;

use crate::util::{allmatch_lines_as_clamscan, testfiles, Dir};

/// A zip of `(name, bytes, password)` members, written with the zip crate.
fn zip(members: &[(&str, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, password) in members {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        match password {
            Some(p) => {
                let opts = opts.with_deprecated_encryption(p.as_bytes()).unwrap();
                w.start_file(*name, opts).unwrap();
            }
            None => w.start_file(*name, opts).unwrap(),
        }
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// (compressed size, size) of every member, as the archive records them.
fn sizes(zip_bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    (0..a.len())
        .map(|i| {
            let f = a.by_index_raw(i).unwrap();
            (f.compressed_size(), f.size())
        })
        .collect()
}

#[test]
fn container_metadata_signatures_match_where_clamscan_matches() {
    let d = Dir::new();
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    let readme = b"hello readme, a short text member\n".to_vec();
    let noise: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let plain = zip(&[
        ("readme.txt", &readme, None),
        ("invoice.exe", &exe, None),
        ("data/noise.bin", &noise, None),
    ]);
    let mixed = zip(&[
        ("readme.txt", &readme, Some("pw")),
        ("secret.exe", &exe, Some("pw")),
    ]);
    d.write("corpus/plain.zip", &plain);
    d.write("corpus/mixed.zip", &mixed);
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in [("readme.txt", &readme), ("invoice.exe", &exe)] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    d.write("corpus/members.tar", tar.into_inner().unwrap());

    let (packed_exe, _) = sizes(&plain)[1];
    let (packed_secret, real_secret) = sizes(&mixed)[1];
    let n = readme.len();
    let lines = [
        ("Exe", r"CL_TYPE_ZIP:*:\.exe$:*:*:*:*:*:*".to_string()),
        ("Encrypted", "*:*:*:*:*:1:*:*:*".into()),
        (
            "EncryptedExe",
            format!(r"*:*:^secret\.exe$:{packed_secret}:{real_secret}:1:2:*:*"),
        ),
        ("NotEncrypted", r"*:*:^readme\.txt$:*:*:0:*:*:*".into()),
        ("Second", "CL_TYPE_ZIP:*:*:*:*:*:2:*:*".into()),
        ("ThirdOn", "*:*:*:*:*:*:3-9:*:*".into()),
        ("RealSize", format!("*:*:*:*:{n}:*:*:*:*")),
        ("Packed", format!("CL_TYPE_ZIP:*:*:{packed_exe}:*:*:*:*:*")),
        ("InDir", "*:*:^data/:*:*:*:*:*:*".into()),
        (
            "ZipSize",
            format!("CL_TYPE_ZIP:{}-{}:*:*:*:*:*:*:*", plain.len(), plain.len()),
        ),
        ("Tar", r"CL_TYPE_POSIX_TAR:*:\.exe$:*:*:*:*:*:*".into()),
        ("No.Rar", "CL_TYPE_RAR:*:*:*:*:*:*:*:*".into()),
        ("No.Name", r"*:*:\.scr$:*:*:*:*:*:*".into()),
        ("No.ZipSize", "CL_TYPE_ZIP:1-10:*:*:*:*:*:*:*".into()),
        ("No.Level", "*:*:*:*:*:*:*:*:*:250".into()),
    ];
    let mut cdb = String::new();
    for (name, rest) in &lines {
        let _ = writeln!(cdb, "Cdb.{name}:{rest}");
    }
    let db = d.write("db/members.cdb", &cdb);
    let got = allmatch_lines_as_clamscan(&d, &db);
    let names: std::collections::BTreeSet<&str> = got
        .iter()
        .filter_map(|l| l.split(": ").nth(1))
        .filter_map(|n| n.strip_suffix(".UNOFFICIAL FOUND"))
        .collect();
    for (name, _) in &lines {
        let full = format!("Cdb.{name}");
        assert_eq!(
            names.contains(full.as_str()),
            !name.starts_with("No."),
            "{full}: {got:#?}"
        );
    }
}
