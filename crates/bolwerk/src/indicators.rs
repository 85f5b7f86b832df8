//! Indicator feeds on the command line: `--indicators FILE|DIR`, the
//! built-in pack, and `--stix-out FILE`, a STIX 2.1 bundle of `sighting`
//! objects for what the scan found, to share with a partner.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bolwerk_indicators::{builtin, ErrorKind, Indicators, IndicatorsBuilder};
use bolwerk_scan::{Event, Outcome};
use clap::Args;
use serde_json::{json, Value};

/// Indicator options shared by `scan` and `clamscan`.
#[derive(Args, Debug, Clone, Default)]
pub struct IndicatorArgs {
    /// Indicator feed: STIX 2.1 bundle (.stix2/.json), MISP event (.json), signature-base
    /// hash-/filename-/c2-iocs .txt, or a directory of them (repeatable).
    #[arg(long = "indicators", value_name = "FILE|DIR")]
    pub indicators: Vec<PathBuf>,
    /// Write a STIX 2.1 bundle of sightings of the indicators that matched.
    #[arg(long = "stix-out", value_name = "FILE")]
    pub stix_out: Option<PathBuf>,
    /// Load scored indicators (signature-base filename and C2 IOCs) from this score on.
    #[arg(long = "ioc-min-score", value_name = "N", default_value_t = bolwerk_indicators::DEFAULT_MIN_SCORE)]
    pub min_score: u8,
}

/// The indicator set to scan with (None when empty) and the number of
/// feeds refused (each reported on stderr).
pub fn load(
    args: &IndicatorArgs,
    builtin: bool,
    strict: bool,
) -> anyhow::Result<(Option<Arc<Indicators>>, usize)> {
    let mut b = IndicatorsBuilder::new();
    b.min_score(args.min_score);
    if builtin {
        b.add_builtin();
    }
    let mut errors = 0;
    for p in &args.indicators {
        if let Err(e) = b.add_path(p) {
            eprintln!("ERROR: {e}");
            errors += 1;
        }
    }
    let (set, diags) = b.build();
    for d in &diags {
        match d.kind() {
            ErrorKind::Io(_) | ErrorKind::TooLarge(_) => {
                eprintln!("ERROR: {d}");
                errors += 1;
            }
            _ => eprintln!("WARNING: {d}"),
        }
    }
    if strict && (!diags.is_empty() || errors > 0) {
        anyhow::bail!("indicator feed problems found and --strict is set");
    }
    Ok(((!set.is_empty()).then(|| Arc::new(set)), errors))
}

/// Print the built-in pack: its feeds with counts, and their attributions.
pub fn print_builtin() {
    let mut b = IndicatorsBuilder::new();
    b.add_builtin();
    let (set, diags) = b.build();
    println!(
        "Built-in indicators: {} from {} feeds ({} KiB compressed in the binary)",
        set.len(),
        set.sources().len(),
        builtin::compressed_size() / 1024
    );
    for s in set.sources() {
        let keys: Vec<String> = s.by_path.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let below = if s.below_score > 0 {
            format!(
                "; {} below score {}",
                s.below_score,
                bolwerk_indicators::DEFAULT_MIN_SCORE
            )
        } else {
            String::new()
        };
        println!(
            "  {}: {} ({}{below})",
            s.path,
            s.indicators,
            keys.join(", ")
        );
    }
    for d in &diags {
        println!("  not loaded: {d}");
    }
    println!("Attribution:");
    for a in builtin::ATTRIBUTIONS {
        println!("  {}/: {}", a.dir, a.what);
        println!("    by {}; licence: {}; {}", a.by, a.licence, a.url);
    }
}

/// Collects sightings during a scan and writes them as a STIX bundle.
#[derive(Default)]
pub struct Sightings {
    objects: Vec<Value>,
}

impl Sightings {
    /// Note the indicator detections of one event.
    pub fn record(&mut self, ev: &Event) {
        let Event::File(f) = ev else { return };
        let Outcome::Infected(found) = &f.outcome else {
            return;
        };
        for d in found.iter().filter(|d| d.kind.starts_with("indicator")) {
            let mut object = f.path.display().to_string();
            if !d.object.is_empty() {
                object = format!("{object}//{}", d.object);
            }
            self.objects.push(sighting(
                &d.signature,
                &d.name,
                &object,
                d.detail.as_deref(),
            ));
        }
    }

    /// Write the bundle to `path`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let bundle = json!({
            "type": "bundle",
            "id": format!("bundle--{}", uuid4()),
            "objects": self.objects,
        });
        let mut f = std::fs::File::create(path)?;
        serde_json::to_writer_pretty(&mut f, &bundle)?;
        f.write_all(b"\n")?;
        Ok(())
    }
}

fn sighting(indicator: &str, name: &str, object: &str, detail: Option<&str>) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut s = json!({
        "type": "sighting",
        "spec_version": "2.1",
        "id": format!("sighting--{}", uuid4()),
        "created": now,
        "modified": now,
        "first_seen": now,
        "last_seen": now,
        "count": 1,
        "description": format!("{name} in {object}"),
        "x_bolwerk_object_path": object,
        "x_bolwerk_host": host_name(),
    });
    // STIX requires sighting_of_ref to be an SDO id; line-based IOCs
    // (hash-iocs.txt:12) have none, so they are named in an extension field.
    if indicator.contains("--") {
        s["sighting_of_ref"] = json!(indicator);
    } else {
        s["x_bolwerk_indicator"] = json!(indicator);
    }
    if let Some(d) = detail {
        s["x_bolwerk_detail"] = json!(d);
    }
    s
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// A random (version 4) UUID from the kernel's random source.
fn uuid4() -> String {
    let mut b = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    if read.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b.copy_from_slice(&t.to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
