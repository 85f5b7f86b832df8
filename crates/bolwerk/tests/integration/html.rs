//! HTML against the real clamscan: ClamAV matches an object it types as
//! HTML only through normalised copies of it (the markup without comments,
//! then the text without markup) with the HTML signatures (target type 3)
//! and the generic ones, hash signatures included, and skips its raw
//! bytes; text with an HTML magic further in is matched both ways. The
//! third copy, the scripts as ClamAV's JavaScript normaliser writes them, is
//! matched as HTML and as text. The copies themselves are compared byte for
//! byte with the ones `clamscan --leave-temps` writes, over the HTML pages
//! installed on this machine and over installed JavaScript files put in a
//! page.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use md5::{Digest, Md5};

use crate::util::{allmatch_lines_as_clamscan, allmatch_lines_with, gen_clamdb, testfiles, Dir};

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// A page exercising tags, attributes in both quotes, a comment, a script,
/// references, a link and a `data:` image.
const PAGE: &[u8] = include_bytes!("../../../bolwerk-unpack/tests/data/page.html");

/// ASCII text with a script after the first KiB, which typing reads.
fn late_script() -> Vec<u8> {
    let mut t = std::fs::read("/usr/share/common-licenses/GPL-3").unwrap();
    t.truncate(2000);
    t.extend_from_slice(b"\n<script>Evil_Call()</script>\n");
    t
}

fn zip(name: &str, data: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, opts).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

/// The copies clamscan writes for `file`, from a run with `--leave-temps`
/// in a fresh directory.
struct Copies {
    nocomment: Vec<u8>,
    notags: Vec<u8>,
    /// Empty when clamscan wrote no `javascript` file (no script).
    javascript: Vec<u8>,
}

fn clamscan_copies(file: &Path, tmp: &Path) -> Option<Copies> {
    std::fs::create_dir_all(tmp).unwrap();
    let db = crate::util::corpora().join("clamav/test-3.cvd");
    let status = Command::new("clamscan")
        .arg("--leave-temps")
        .arg(format!("--tempdir={}", tmp.display()))
        .arg("--no-summary")
        .arg("-d")
        .arg(&db)
        .arg(file)
        .output()
        .expect("clamscan runs");
    assert!(status.status.code().is_some_and(|c| c < 2), "{status:?}");
    let nocomment = find(tmp, "nocomment.html")?;
    let read = |name: &str| std::fs::read(nocomment.with_file_name(name)).unwrap_or_default();
    Some(Copies {
        nocomment: std::fs::read(&nocomment).unwrap(),
        notags: read("notags.html"),
        javascript: read("javascript"),
    })
}

/// The shallowest file named `name` under `dir`.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut level = vec![dir.to_path_buf()];
    while !level.is_empty() {
        let mut next = Vec::new();
        for d in level {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    next.push(p);
                } else if p.file_name().is_some_and(|n| n == name) {
                    return Some(p);
                }
            }
        }
        level = next;
    }
    None
}

/// Base64 of ClamAV's test program in a `data:` URI (HTML smuggling).
fn smuggled(before: &[u8], tag: &str) -> Vec<u8> {
    use base64::Engine as _;
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(exe);
    let mut page = before.to_vec();
    page.extend_from_slice(
        format!("<{tag}=\"data:application/octet-stream;base64,{b64}\">x\n").as_bytes(),
    );
    page
}

/// `data:` URIs in HTML (and in text with late HTML) are written out as
/// small mail messages and scanned: signatures match their data as
/// written and decoded, as in clamscan.
#[test]
fn data_uris_are_scanned_as_clamscan_scans_them() {
    use base64::Engine as _;
    let d = Dir::new();
    d.write("corpus/smuggle.html", smuggled(b"<html><body>\n", "a href"));
    let mut text = std::fs::read("/usr/share/common-licenses/GPL-3").unwrap();
    text.truncate(2000);
    d.write("corpus/late.txt", smuggled(&text, "img src"));
    d.write("corpus/no-magic.txt", smuggled(&text, "p title"));
    d.write(
        "db/test-3.cvd",
        std::fs::read(crate::util::corpora().join("clamav/test-3.cvd")).unwrap(),
    );
    let exe = std::fs::read(testfiles().join("clam.exe")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&exe[60..156]);
    d.write(
        "db/b64.ndb",
        format!("Raw.Base64:0:*:{}\n", hex(&b64.as_bytes()[8..40])),
    );
    let lines = allmatch_lines_as_clamscan(&d, &d.join("db"));
    for want in [
        "corpus/smuggle.html: Clamav.Test.File-6 FOUND",
        "corpus/smuggle.html: Raw.Base64.UNOFFICIAL FOUND",
        "corpus/late.txt: Clamav.Test.File-6 FOUND",
        "corpus/late.txt: Raw.Base64.UNOFFICIAL FOUND",
        "corpus/no-magic.txt: Raw.Base64.UNOFFICIAL FOUND",
    ] {
        assert!(lines.contains(want), "{want} missing: {lines:#?}");
    }
    assert!(
        !lines.contains("corpus/no-magic.txt: Clamav.Test.File-6 FOUND"),
        "{lines:#?}"
    );
}

#[test]
fn html_signatures_match_the_normalised_copies_where_clamscan_matches() {
    let d = Dir::new();
    let page = d.write("corpus/page.html", PAGE);
    d.write("corpus/late.txt", late_script());
    d.write(
        "corpus/early.txt",
        b"notes\n<iframe src=\"http://Bad.Example/x\"></iframe>\n",
    );
    d.write(
        "corpus/plain.html",
        b"<!DOCTYPE html><html lang=\"en\"><body><p>Some Text</p></body></html>\n",
    );
    d.write("corpus/pages.zip", zip("page.html", PAGE));
    d.write(
        "corpus/clam.exe.html",
        std::fs::read(testfiles().join("clam.exe.html")).unwrap(),
    );
    let copy = clamscan_copies(&page, &d.join("leave"))
        .expect("clamscan normalises the page")
        .nocomment;
    let ndb = [
        ("Html.Tag", "3", hex(b"<a href=\"http://example.com/x\">")),
        ("Html.Script", "3", hex(b"varx=\"hello\";")),
        ("Html.Text", "3", hex(b"some text more b end")),
        ("Html.Link", "3", hex(b"http://Example.COM/x link")),
        ("Any.Tag", "0", hex(b"<img src=\"data\">")),
        ("Raw.Upper", "0", hex(b"<P>Some   Text")),
        ("Raw.Comment", "3", hex(b"CLAMTEST")),
        ("Late.Raw", "0", hex(b"Evil_Call()")),
        ("Late.Html", "3", hex(b"<script>evil_call()</script>")),
        (
            "Early.Iframe",
            "3",
            hex(b"<iframe src=\"http://bad.example/x\">"),
        ),
        ("Early.Raw", "0", hex(b"Bad.Example")),
        ("Plain.Raw", "0", hex(b"<p>Some Text</p>")),
        ("Plain.Norm", "3", hex(b"<p>some text</p>")),
    ];
    let mut n = String::new();
    for (name, target, body) in ndb {
        let _ = writeln!(n, "{name}:{target}:*:{body}");
    }
    d.write("db/html.ndb", &n);
    d.write(
        "db/html.ldb",
        format!(
            "Html.Logical;Engine:51-255,Target:3;0&1;{};{}\n",
            hex(b"<title>test page</title>"),
            hex(b"onload=foo()")
        ),
    );
    d.write(
        "db/html.hdb",
        format!(
            "{}:{}:Html.CopyHash\n{}:{}:Html.RawHash\n",
            hex(&Md5::digest(&copy)),
            copy.len(),
            hex(&Md5::digest(PAGE)),
            PAGE.len()
        ),
    );
    let lines = allmatch_lines_as_clamscan(&d, &d.join("db"));
    // The test means something only if each kind of match happened.
    for want in [
        "corpus/page.html: Html.Tag.UNOFFICIAL FOUND",
        "corpus/page.html: Html.Script.UNOFFICIAL FOUND",
        "corpus/page.html: Html.Text.UNOFFICIAL FOUND",
        "corpus/page.html: Html.Link.UNOFFICIAL FOUND",
        "corpus/page.html: Any.Tag.UNOFFICIAL FOUND",
        "corpus/page.html: Html.Logical.UNOFFICIAL FOUND",
        "corpus/page.html: Html.CopyHash.UNOFFICIAL FOUND",
        "corpus/pages.zip: Html.Tag.UNOFFICIAL FOUND",
        "corpus/late.txt: Late.Raw.UNOFFICIAL FOUND",
        "corpus/late.txt: Late.Html.UNOFFICIAL FOUND",
        "corpus/early.txt: Early.Iframe.UNOFFICIAL FOUND",
        "corpus/plain.html: Plain.Raw.UNOFFICIAL FOUND",
    ] {
        assert!(lines.contains(want), "{want} missing: {lines:#?}");
    }
    for never in [
        "Raw.Upper",
        "Raw.Comment",
        "Early.Raw",
        "Plain.Norm",
        "Html.RawHash",
    ] {
        assert!(
            !lines.iter().any(|l| l.contains(never)),
            "{never}: {lines:#?}"
        );
    }
}

/// With `--scan-html=no` (and with `--normalize=no`) HTML is matched raw,
/// its signatures included.
#[test]
fn html_is_matched_raw_without_html_scanning_as_in_clamscan() {
    let d = Dir::new();
    d.write("corpus/page.html", PAGE);
    d.write(
        "db/raw.ndb",
        format!(
            "Raw.Upper:0:*:{}\nRaw.Html:3:*:{}\nHtml.Tag:3:*:{}\n",
            hex(b"<P>Some   Text"),
            hex(b"CLAMTEST"),
            hex(b"<a href=\"http://example.com/x\">")
        ),
    );
    for off in ["--scan-html=no", "--normalize=no"] {
        let lines = allmatch_lines_with(&d, &d.join("db"), &[off]);
        assert!(
            lines.contains("corpus/page.html: Raw.Html.UNOFFICIAL FOUND"),
            "{off}: {lines:#?}"
        );
        assert!(!lines.iter().any(|l| l.contains("Html.Tag")), "{lines:#?}");
    }
}

/// The copies bolwerk makes are clamscan's, byte for byte, for the HTML
/// pages installed on this machine (documentation of installed packages).
/// UTF-16 pages are left out: ClamAV reads their non-ASCII characters
/// differently (see README).
#[test]
fn normalised_copies_are_clamscans_byte_for_byte() {
    let pages = installed_pages(60);
    assert!(pages.len() >= 20, "too few HTML pages installed: {pages:?}");
    let d = Dir::new();
    let (compared, with_scripts, differ) = compare_copies(&d, &pages);
    assert!(compared >= 20, "clamscan normalised only {compared} pages");
    assert!(with_scripts >= 5, "only {with_scripts} pages had scripts");
    assert!(
        differ.is_empty(),
        "{} of {compared} differ: {differ:#?}",
        differ.len()
    );
}

/// The scripts' copy is clamscan's byte for byte for installed JavaScript
/// files (npm's modules, Debian's `/usr/share/javascript`), each put in a
/// page between `<script>` tags: real code of every style, minified and
/// not, with long lines that the HTML reader's chunks cut.
#[test]
fn scripts_are_normalised_as_clamscan_normalises_them() {
    let d = Dir::new();
    let mut pages = Vec::new();
    for (i, js) in installed_scripts(80).iter().enumerate() {
        let mut page = b"<html><body>\n<script type=\"text/javascript\">\n".to_vec();
        page.extend_from_slice(&std::fs::read(js).unwrap());
        page.extend_from_slice(b"\n</script>\n</body></html>\n");
        pages.push(d.write(&format!("p/{i}.html"), page));
    }
    pages.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bolwerk-unpack/tests/data/scripts.html"
    )));
    assert!(pages.len() >= 40, "too few scripts installed: {pages:?}");
    let (compared, with_scripts, differ) = compare_copies(&d, &pages);
    assert_eq!(with_scripts, compared, "every page has a script");
    assert!(compared >= 40, "clamscan normalised only {compared} pages");
    assert!(
        differ.is_empty(),
        "{} of {compared} differ: {differ:#?}",
        differ.len()
    );
}

/// Compare the three copies of each page with clamscan's: how many pages
/// were compared, how many had scripts, and those whose copies differ.
fn compare_copies(d: &Dir, pages: &[PathBuf]) -> (usize, usize, Vec<PathBuf>) {
    let mut compared = 0;
    let mut with_scripts = 0;
    let mut differ = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let data = std::fs::read(page).unwrap();
        let Some(theirs) = clamscan_copies(page, &d.join(&format!("t{i}"))) else {
            continue;
        };
        let ours = bolwerk_unpack::html::normalise(&data, true);
        compared += 1;
        with_scripts += usize::from(!theirs.javascript.is_empty());
        if ours.nocomment != theirs.nocomment
            || ours.notags != theirs.notags
            || ours.javascript != theirs.javascript
        {
            differ.push(page.clone());
        }
    }
    (compared, with_scripts, differ)
}

/// Signatures written against the scripts' copy — renamed identifiers,
/// joined and unescaped strings, `eval`'s code — match where clamscan's
/// do: HTML signatures (target 3) and text ones (7) and generic ones, in
/// pages, in text with a late script and in a zip; not in the raw page.
#[test]
fn signatures_match_the_normalised_scripts_where_clamscan_matches() {
    let d = Dir::new();
    let page = b"<html><body><script>var Key = \"ev\" + 'il'; \
function Run(Code) { eval(unescape(\"%77%69%6e%64%6f%77%2e%6f%70%65%6e%28%29\")); }\n\
eval(\"var hidden = 1;\");</script></body></html>\n";
    d.write("corpus/page.html", page);
    d.write("corpus/page.zip", zip("page.html", page));
    let mut late = std::fs::read("/usr/share/common-licenses/GPL-3").unwrap();
    late.truncate(2000);
    late.extend_from_slice(b"\n<script>var Late = 'x' + 'y';</script>\n");
    d.write("corpus/late.txt", late);
    let ndb = [
        ("Js.Folded", "3", hex(b"var n000=\"evil\";")),
        ("Js.Renamed", "7", hex(b"function n001(n002){")),
        ("Js.Unescaped", "0", hex(b"window.open()")),
        ("Js.Evaled", "3", hex(b"var n003=1;")),
        ("Js.Late", "3", hex(b"<script>var n000=\"xy\";</script>")),
        ("Js.Raw", "0", hex(b"var Key = ")),
    ];
    let mut n = String::new();
    for (name, target, body) in ndb {
        let _ = writeln!(n, "{name}:{target}:*:{body}");
    }
    d.write("db/js.ndb", &n);
    d.write(
        "db/js.ldb",
        format!(
            "Js.Logical;Engine:51-255,Target:3,FileSize:10-1000;0&1;{};{}\n",
            hex(b"<script>var n000="),
            hex(b"eval(")
        ),
    );
    let lines = allmatch_lines_as_clamscan(&d, &d.join("db"));
    for want in [
        "corpus/page.html: Js.Folded.UNOFFICIAL FOUND",
        "corpus/page.html: Js.Renamed.UNOFFICIAL FOUND",
        "corpus/page.html: Js.Unescaped.UNOFFICIAL FOUND",
        "corpus/page.html: Js.Evaled.UNOFFICIAL FOUND",
        "corpus/page.zip: Js.Folded.UNOFFICIAL FOUND",
        "corpus/late.txt: Js.Late.UNOFFICIAL FOUND",
    ] {
        assert!(lines.contains(want), "{want} missing: {lines:#?}");
    }
    assert!(
        !lines.iter().any(|l| l.contains("Js.Raw")),
        "raw bytes are not the copy: {lines:#?}"
    );
}

/// Signatures `gen-clamdb --plant` writes for installed HTML pages (from
/// their raw bytes, hashes and sections): the same `--allmatch` lines as
/// clamscan, whether a planted signature lies in markup, a comment, a
/// script or a `data:` URI.
#[test]
fn planted_signatures_in_html_pages_match_as_in_clamscan() {
    let d = Dir::new();
    let mut pages = installed_pages(40);
    // Bookmarks with `data:` icons, where Chromium is installed.
    pages.push(PathBuf::from("/usr/share/chromium/initial_bookmarks.html"));
    for (i, p) in pages.iter().enumerate() {
        if let Ok(data) = std::fs::read(p) {
            d.write(&format!("corpus/{i}.html"), data);
        }
    }
    let db = gen_clamdb(&d, "0.001", "hdb,hsb,mdb,ndb,ldb");
    let lines = allmatch_lines_as_clamscan(&d, &db);
    let found = lines.iter().filter(|l| l.ends_with(" FOUND")).count();
    assert!(found >= 20, "{lines:#?}");
}

/// Up to `max` HTML pages under /usr/share/doc (and node's manuals), not
/// UTF-16, spread over the packages that have them.
fn installed_pages(max: usize) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for root in [
        "/usr/share/doc",
        "/usr/lib/node_modules",
        "/usr/share/gtk-doc",
    ] {
        collect(Path::new(root), 0, &mut all);
    }
    all.sort();
    all.retain(|p| {
        std::fs::read(p).is_ok_and(|d| {
            d.len() > 512 && !d.starts_with(b"\xff\xfe") && !d.starts_with(b"\xfe\xff") && {
                let nul = d.iter().filter(|&&c| c == 0).count();
                nul * 8 < d.len()
            }
        })
    });
    let step = (all.len() / max.max(1)).max(1);
    all.into_iter().step_by(step).take(max).collect()
}

fn collect(dir: &Path, depth: u32, out: &mut Vec<PathBuf>) {
    if depth > 8 {
        return;
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            collect(&p, depth + 1, out);
        } else if t.is_file() && p.extension().is_some_and(|x| x == "html" || x == "htm") {
            out.push(p);
        }
    }
}

/// Up to `max` JavaScript files of 2 KiB to 2 MiB installed here (npm's
/// modules and Debian's `/usr/share/javascript`), spread over them.
fn installed_scripts(max: usize) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for root in [
        "/usr/lib/node_modules",
        "/usr/share/javascript",
        "/usr/share/nodejs",
    ] {
        collect_ext(Path::new(root), 0, "js", &mut all);
    }
    all.sort();
    all.retain(|p| std::fs::metadata(p).is_ok_and(|m| (2048..2 << 20).contains(&m.len())));
    let step = (all.len() / max.max(1)).max(1);
    all.into_iter().step_by(step).take(max).collect()
}

fn collect_ext(dir: &Path, depth: u32, ext: &str, out: &mut Vec<PathBuf>) {
    if depth > 10 {
        return;
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            collect_ext(&p, depth + 1, ext, out);
        } else if t.is_file() && p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}
