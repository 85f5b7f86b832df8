//! Helpers: fresh temporary directories and running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The EICAR test file (68 bytes).
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// A fresh temporary directory, removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// An empty database directory, so a run loads only the built-in pack
    /// whatever the machine has in its default database directories.
    pub fn no_db(&self) -> String {
        let p = self.join("empty-db");
        std::fs::create_dir_all(&p).unwrap();
        p.to_str().unwrap().to_string()
    }

    /// Write a file (creating parent directories) and return its path.
    pub fn write(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        p
    }
}

/// The shared real-data directory beside the repository.
pub fn corpora() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../../shared/corpora")
}

pub fn test3_cvd() -> PathBuf {
    corpora().join("clamav/test-3.cvd")
}

/// Debian's clamav-testfiles; the package is installed by `.ci/run`.
pub fn testfiles() -> PathBuf {
    let p = PathBuf::from("/usr/share/clamav-testfiles");
    assert!(
        p.join("clam.exe").is_file(),
        "Debian package clamav-testfiles is missing: apt-get install clamav-testfiles"
    );
    p
}

/// The result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Run bolwerk with arguments, in `cwd`, with `stdin` as input.
pub fn bolwerk_in(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    run(
        Command::new(env!("CARGO_BIN_EXE_bolwerk")),
        cwd,
        args,
        stdin,
    )
}

pub fn bolwerk(args: &[&str]) -> Run {
    bolwerk_in(Path::new("."), args, None)
}

/// Run any program the same way.
pub fn run(mut cmd: Command, cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    cmd.args(args)
        .current_dir(cwd)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().expect("wait").into()
}

/// Assert equality and print both sides in full when they differ.
#[macro_export]
macro_rules! eqnice {
    ($expected:expr, $got:expr) => {{
        let (expected, got) = (&$expected, &$got);
        if expected != got {
            panic!("\n\nexpected:\n{:#?}\n\ngot:\n{:#?}\n", expected, got);
        }
    }};
}

/// Run clamscan and `bolwerk clamscan --no-builtin` with the same
/// arguments in `cwd`; assert that they print the same set of lines and
/// exit alike, and return bolwerk's lines.
pub fn same_lines_as_clamscan(cwd: &Path, args: &[&str]) -> std::collections::BTreeSet<String> {
    let theirs = run(Command::new("clamscan"), cwd, args, None);
    let mut ours_args = vec!["clamscan", "--no-builtin"];
    ours_args.extend_from_slice(args);
    let ours = bolwerk_in(cwd, &ours_args, None);
    let set = |s: &str| {
        s.lines()
            .map(str::to_string)
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (want, got) = (set(&theirs.stdout), set(&ours.stdout));
    let only_theirs: Vec<_> = want.difference(&got).collect();
    let only_ours: Vec<_> = got.difference(&want).collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "only clamscan: {only_theirs:#?}\nonly bolwerk: {only_ours:#?}\nclamscan stderr: {}\nbolwerk stderr: {}",
        theirs.stderr,
        ours.stderr
    );
    assert_eq!(theirs.code, ours.code);
    got
}

/// A database made by `../shared/tools/gen-clamdb` in `d/db`: `scale` of
/// the official size, of the kinds in `only`, with signatures planted for
/// the files in `d/corpus`.
pub fn gen_clamdb(d: &Dir, scale: &str, only: &str) -> PathBuf {
    let corpus = d.join("corpus");
    gen_clamdb_with(
        d,
        &[
            "--scale",
            scale,
            "--only",
            only,
            "--plant",
            corpus.to_str().unwrap(),
        ],
    )
}

/// A database made by `../shared/tools/gen-clamdb` in `d/db` with `args`.
pub fn gen_clamdb_with(d: &Dir, args: &[&str]) -> PathBuf {
    let gen = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../../shared/tools/gen-clamdb");
    let db = d.join("db");
    let mut all = vec![gen.to_str().unwrap(), db.to_str().unwrap()];
    all.extend_from_slice(args);
    let made = run(Command::new("python3"), d.path(), &all, None);
    assert_eq!(made.code, 0, "{}", made.stderr);
    db
}

/// [`same_lines_as_clamscan`] for `--no-summary --allmatch -d DB corpus`
/// in `d`.
pub fn allmatch_lines_as_clamscan(d: &Dir, db: &Path) -> std::collections::BTreeSet<String> {
    allmatch_lines_with(d, db, &[])
}

/// As [`allmatch_lines_as_clamscan`], with `extra` options for both tools.
pub fn allmatch_lines_with(
    d: &Dir,
    db: &Path,
    extra: &[&str],
) -> std::collections::BTreeSet<String> {
    let mut args = vec!["--no-summary", "--allmatch"];
    args.extend_from_slice(extra);
    args.extend(["-d", db.to_str().unwrap(), "corpus"]);
    same_lines_as_clamscan(d.path(), &args)
}
