//! Indicator feeds on the command line: `--indicators FILE|DIR`, the
//! built-in pack, and `--stix-out FILE`, a STIX 2.1 bundle of `sighting`
//! objects for what the scan found, to share with a partner.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bolwerk_indicators::{builtin, uuid4, ErrorKind, Indicators, IndicatorsBuilder, StixIndicator};
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
        "Built-in indicators: {} from {} feeds ({} KiB in the binary, read when it was built)",
        set.len(),
        set.sources().len(),
        builtin::size() / 1024
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

/// The STIX extension that defines the properties bolwerk adds to
/// sightings (STIX 2.1 §7.3: custom properties through an extension).
const EXTENSION_ID: &str = "extension-definition--3f0f7e0c-8d2b-4a4e-9a49-4c1f6e2b7d15";

/// Collects sightings during a scan and writes them as a STIX bundle:
/// an `identity` for this host (its id a name-based UUID of the host name,
/// so a partner sees repeated scans of one host as one), the extension
/// defining bolwerk's properties, the `indicator` objects sighted, and a
/// `sighting` of one of them per detection.
pub struct Sightings {
    indicators: Option<Arc<Indicators>>,
    sighted: BTreeMap<String, Value>,
    sightings: Vec<Value>,
    host: String,
}

impl Sightings {
    /// Sightings of indicators from `indicators`.
    pub fn new(indicators: Option<Arc<Indicators>>) -> Sightings {
        Sightings {
            indicators,
            sighted: BTreeMap::new(),
            sightings: Vec::new(),
            host: host_name(),
        }
    }

    /// Note the indicator detections of one event.
    pub fn record(&mut self, ev: &Event) {
        let Event::File(f) = ev else { return };
        let Outcome::Infected(found) = &f.outcome else {
            return;
        };
        let Some(set) = self.indicators.clone() else {
            return;
        };
        for d in found {
            let Some(ind) = set.stix_indicator(&d.signature) else {
                continue;
            };
            let mut object = f.path.display().to_string();
            if !d.object.is_empty() {
                object = format!("{object}//{}", d.object);
            }
            let s = self.sighting(&ind.id, &d.name, &object, d.detail.as_deref());
            self.sightings.push(s);
            self.sighted
                .entry(ind.id.clone())
                .or_insert_with(|| indicator_object(&ind));
        }
    }

    fn identity_id(&self) -> String {
        format!("identity--{}", bolwerk_indicators::uuid5(&self.host))
    }

    fn sighting(&self, indicator: &str, name: &str, object: &str, detail: Option<&str>) -> Value {
        let now = now();
        let mut s = json!({
            "type": "sighting",
            "spec_version": "2.1",
            "id": format!("sighting--{}", uuid4()),
            "created": now,
            "modified": now,
            "first_seen": now,
            "last_seen": now,
            "count": 1,
            "sighting_of_ref": indicator,
            "where_sighted_refs": [self.identity_id()],
            "description": format!("{name} in {object}"),
            "extensions": { EXTENSION_ID: { "extension_type": "toplevel-property-extension" } },
            "x_bolwerk_object_path": object,
            "x_bolwerk_host": self.host,
        });
        if let Some(d) = detail {
            s["x_bolwerk_detail"] = json!(d);
        }
        s
    }

    /// Write the bundle to `path`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let now = now();
        let identity = json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": self.identity_id(),
            "created": now,
            "modified": now,
            "name": self.host,
            "identity_class": "system",
        });
        let extension = extension_definition(&self.identity_id(), &now);
        let mut objects = vec![identity, extension];
        objects.extend(self.sighted.values().cloned());
        objects.extend(self.sightings.iter().cloned());
        let bundle = json!({
            "type": "bundle",
            "id": format!("bundle--{}", uuid4()),
            "objects": objects,
        });
        let mut f = std::fs::File::create(path)?;
        serde_json::to_writer_pretty(&mut f, &bundle)?;
        f.write_all(b"\n")?;
        Ok(())
    }
}

/// The extension that defines bolwerk's sighting properties.
fn extension_definition(creator: &str, now: &str) -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": creator,
        "created": now,
        "modified": now,
        "name": "bolwerk sighting details",
        "description": "Where bolwerk saw an indicator: x_bolwerk_object_path (the file, and \
            the members inside it joined with //), x_bolwerk_host, x_bolwerk_detail (why it matched).",
        "schema": "x_bolwerk_object_path, x_bolwerk_host, x_bolwerk_detail: strings",
        "version": "1.0.0",
        "extension_types": ["toplevel-property-extension"],
        "extension_properties": ["x_bolwerk_object_path", "x_bolwerk_host", "x_bolwerk_detail"],
    })
}

fn indicator_object(ind: &StixIndicator) -> Value {
    let now = now();
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": ind.id,
        "created": now,
        "modified": now,
        "name": ind.name,
        "description": format!("from {}", ind.source),
        "indicator_types": ["malicious-activity"],
        "pattern": ind.pattern,
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": now,
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}
