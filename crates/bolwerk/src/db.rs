//! `bolwerk db`: what sigtool tells about databases — container headers,
//! verification, and what loads, what is skipped and why.

use std::path::{Path, PathBuf};

use bolwerk_sigs::{cvd, ContainerKind, DbKind, LoadOptions, Loader, SignatureSet};
use clap::Subcommand;

/// `bolwerk db` subcommands.
#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Describe databases: container headers, verification, signature counts.
    Info {
        /// Database files or directories.
        paths: Vec<PathBuf>,
        /// Describe the built-in pack too (alone when no path is given).
        #[arg(long)]
        builtin: bool,
    },
    /// Verify containers and databases; exit 0 only when every check passed.
    Verify {
        /// Database files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Compile databases into an engine image (`.bwdb`) that `-d IMAGE`
    /// maps instead of parsing the databases again.
    Compile {
        /// Database files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The image to write.
        #[arg(short, long, value_name = "FILE.bwdb")]
        output: PathBuf,
        /// Leave out the built-in pack.
        #[arg(long)]
        no_builtin: bool,
        /// Include potentially-unwanted-application signatures.
        #[arg(long)]
        detect_pua: bool,
    },
}

/// Run a `db` subcommand; returns the exit code.
pub fn run(cmd: DbCommand) -> anyhow::Result<u8> {
    match cmd {
        DbCommand::Info { paths, builtin } => info(&paths, builtin || paths.is_empty()),
        DbCommand::Verify { paths } => verify(&paths),
        DbCommand::Compile {
            paths,
            output,
            no_builtin,
            detect_pua,
        } => compile(&paths, &output, !no_builtin, detect_pua),
    }
}

fn compile(
    paths: &[PathBuf],
    output: &Path,
    builtin: bool,
    detect_pua: bool,
) -> anyhow::Result<u8> {
    let start = std::time::Instant::now();
    let req = bolwerk_engine::cache::Request {
        paths: paths.to_vec(),
        builtin,
        options: LoadOptions {
            detect_pua,
            ..LoadOptions::default()
        },
        cache: false,
        prefer_mapped: true,
        verify_cached: true,
    };
    let image = bolwerk_engine::cache::compile_image(&req, output)
        .map_err(|e| anyhow::anyhow!("{}: {e}", output.display()))?;
    for e in &image.errors {
        eprintln!("ERROR: {e}");
    }
    for w in &image.warnings {
        eprintln!("WARNING: {w}");
    }
    let size = std::fs::metadata(output)?.len();
    println!(
        "{}: {} signatures from {} databases, {:.1} MiB, in {:.2} s",
        output.display(),
        image.signatures,
        image.sources,
        size as f64 / (1 << 20) as f64,
        start.elapsed().as_secs_f64()
    );
    Ok(u8::from(
        !image.errors.is_empty() || !image.warnings.is_empty(),
    ))
}

/// Parse databases; a path that cannot be loaded at all goes to `report`
/// (and makes the third value true).
fn load_set(
    paths: &[PathBuf],
    builtin: bool,
    detect_pua: bool,
    report: impl Fn(&bolwerk_sigs::Error),
) -> (SignatureSet, Vec<bolwerk_sigs::Error>, bool) {
    let mut loader = Loader::new(LoadOptions {
        detect_pua,
        ..LoadOptions::default()
    });
    if builtin {
        loader.add_builtin();
    }
    let mut failed = false;
    for p in paths {
        if let Err(e) = loader.add_path(p) {
            report(&e);
            failed = true;
        }
    }
    let (set, diags) = loader.finish();
    (set, diags, failed)
}

fn info(paths: &[PathBuf], builtin: bool) -> anyhow::Result<u8> {
    for p in container_files(paths) {
        print_container(&p);
    }
    let (set, diags, failed) = load_set(paths, builtin, true, |e| println!("Error: {e}"));
    for d in &diags {
        println!("Problem: {d}");
    }
    print_counts(&set);
    if builtin {
        crate::indicators::print_builtin();
    }
    Ok(if failed || !diags.is_empty() { 1 } else { 0 })
}

fn verify(paths: &[PathBuf]) -> anyhow::Result<u8> {
    let mut loader = Loader::new(LoadOptions {
        detect_pua: true,
        ..LoadOptions::default()
    });
    let mut ok = true;
    for p in paths {
        if let Err(e) = loader.add_path(p) {
            println!("{e}");
            ok = false;
        }
    }
    let (set, diags) = loader.finish();
    for c in &set.containers {
        println!("{}:", c.path.display());
        for check in &c.checks {
            println!("  ok: {check}");
        }
    }
    for d in &diags {
        println!("{d}");
        ok = false;
    }
    println!(
        "{}",
        if ok {
            "Verification OK."
        } else {
            "Verification FAILED."
        }
    );
    Ok(if ok { 0 } else { 1 })
}

/// Container files named directly or found in named directories.
fn container_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|f| container_kind(f).is_some())
                .collect();
            found.sort();
            out.extend(found);
        } else if container_kind(p).is_some() {
            out.push(p.clone());
        }
    }
    out
}

fn container_kind(p: &Path) -> Option<ContainerKind> {
    match DbKind::from_name(p.file_name()?.to_str()?)? {
        DbKind::Container(k) => Some(k),
        _ => None,
    }
}

fn print_container(path: &Path) {
    println!("File: {}", path.display());
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return println!("Error: {e}\n"),
    };
    match cvd::parse_header(&bytes) {
        Ok(h) => print_header(&h),
        Err(e) => println!("Error: {e}"),
    }
    let kind = container_kind(path).unwrap_or(ContainerKind::Cvd);
    match cvd::open(&bytes, kind) {
        Ok(c) => {
            for check in &c.checks {
                println!("Check: {check}");
            }
            println!("Verification OK.\n");
        }
        Err(e) => println!("Verification FAILED: {e}\n"),
    }
}

fn print_header(h: &cvd::Header) {
    println!("Build time: {}", sigtool_time(&h.build_time));
    println!("Version: {}", h.version);
    println!("Signatures: {}", h.sigs);
    println!("Functionality level: {}", h.flevel);
    println!("Builder: {}", h.builder);
    println!("MD5: {}", h.md5);
    println!("Digital signature: {}", h.dsig);
}

/// The header writes `20-40` for the time of day (':' separates fields);
/// sigtool shows it as `20:40`.
fn sigtool_time(t: &str) -> String {
    let mut parts: Vec<String> = t.split(' ').map(str::to_string).collect();
    if let Some(time) = parts.get_mut(3) {
        *time = time.replace('-', ":");
    }
    parts.join(" ")
}

fn print_counts(set: &SignatureSet) {
    let c = |h: &bolwerk_sigs::HashSet3| {
        format!(
            "md5 {}, sha1 {}, sha256 {}",
            h.md5.len(),
            h.sha1.len(),
            h.sha256.len()
        )
    };
    println!("Signatures loaded: {}", set.known_signatures());
    println!("  whole-file hashes (.hdb .hsb): {}", c(&set.file_hashes));
    println!(
        "  PE section hashes (.mdb .msb): {}",
        c(&set.section_hashes)
    );
    println!("  allow list (.fp .sfp): {}", c(&set.allow));
    let s = &set.stats;
    println!("Skipped:");
    println!(
        "  outside functionality level {}: {}",
        bolwerk_sigs::FLEVEL,
        s.out_of_level
    );
    println!(
        "  dropped by ignore lists ({} entries): {}",
        s.ignore_entries, s.ignored
    );
    for (ext, n) in &s.unsupported {
        println!("  .{ext} signatures (not matched by this version): {n}");
    }
    println!("Databases:");
    for src in &set.sources {
        let tag = if src.official { "signed" } else { "unsigned" };
        println!("  {} ({tag}): {} signatures", src.path, src.loaded);
    }
}
