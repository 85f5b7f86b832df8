//! STIX 2.1 bundles as MVT and Amnesty publish them: `indicator` objects
//! with a `pattern`, `malware` objects, and `relationship` objects
//! (`indicates`) from an indicator to the malware it indicates.
//!
//! Each indicator joins the family of the first malware it indicates; the
//! family's detection name is `Spyware.<malware name>`. Indicators that
//! indicate nothing join a family named after the feed file. A pattern
//! that does not parse is reported with the indicator's id, and the other
//! indicators still load.

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::feed::{name_part, Entry, Feed};
use crate::pattern;

/// The most objects a bundle may hold.
pub const MAX_OBJECTS: usize = 1_000_000;

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    objects: Vec<Object>,
}

#[derive(Deserialize)]
struct Object {
    #[serde(rename = "type", default)]
    ty: String,
    #[serde(default)]
    id: String,
    name: Option<String>,
    pattern: Option<String>,
    pattern_type: Option<String>,
    relationship_type: Option<String>,
    source_ref: Option<String>,
    target_ref: Option<String>,
}

/// Whether `bytes` look like a STIX bundle (for `.json` files).
pub fn sniff(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    memchr::memmem::find(head, b"\"bundle\"").is_some()
        && memchr::memmem::find(bytes, b"\"objects\"").is_some()
}

/// Read a bundle; `stem` names the family of indicators that indicate no
/// malware. Returns the feed and the indicators that were refused.
pub fn read(bytes: &[u8], stem: &str) -> Result<(Feed, Vec<Error>), Error> {
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| Error::new(ErrorKind::Json(e.to_string())))?;
    if bundle.ty != "bundle" {
        return Err(Error::new(ErrorKind::Json(format!(
            "top-level type is '{}', not 'bundle'",
            bundle.ty
        ))));
    }
    if bundle.objects.len() > MAX_OBJECTS {
        return Err(Error::new(ErrorKind::Json(format!(
            "more than {MAX_OBJECTS} objects"
        ))));
    }
    Ok(assemble(&bundle.objects, stem))
}

fn assemble(objects: &[Object], stem: &str) -> (Feed, Vec<Error>) {
    let mut feed = Feed::default();
    let mut malware = std::collections::HashMap::new();
    for o in objects.iter().filter(|o| o.ty == "malware") {
        let name = o.name.as_deref().unwrap_or(stem);
        malware.insert(o.id.as_str(), family(&mut feed, name));
    }
    let mut indicates = std::collections::HashMap::new();
    for o in objects.iter().filter(|o| o.ty == "relationship") {
        if o.relationship_type.as_deref() != Some("indicates") {
            continue;
        }
        let (Some(src), Some(dst)) = (&o.source_ref, &o.target_ref) else {
            continue;
        };
        if let Some(&f) = malware.get(dst.as_str()) {
            indicates.entry(src.as_str()).or_insert(f);
        }
    }
    let mut errors = Vec::new();
    let mut orphans = None;
    for o in objects.iter().filter(|o| o.ty == "indicator") {
        let fam = match indicates.get(o.id.as_str()) {
            Some(&f) => f,
            None => *orphans.get_or_insert_with(|| family(&mut feed, stem)),
        };
        match entry(o, fam) {
            Ok(e) => feed.entries.push(e),
            Err(e) => errors.push(e),
        }
    }
    (feed, errors)
}

fn family(feed: &mut Feed, name: &str) -> usize {
    let full = format!("Spyware.{}", name_part(name));
    if let Some(i) = feed.families.iter().position(|f| *f == full) {
        return i;
    }
    feed.families.push(full);
    feed.families.len() - 1
}

fn entry(o: &Object, family: usize) -> Result<Entry, Error> {
    let bad = |m: String| Error::new(ErrorKind::Pattern(format!("indicator {}: {m}", o.id)));
    if let Some(t) = o.pattern_type.as_deref().filter(|t| *t != "stix") {
        return Err(bad(format!("pattern_type '{t}' is not read")));
    }
    let Some(p) = &o.pattern else {
        return Err(bad("no pattern".to_string()));
    };
    let parsed = pattern::parse(p).map_err(|e| bad(e.to_string()))?;
    Ok(Entry {
        id: o.id.clone(),
        family,
        any: parsed.any,
        score: None,
        note: o.name.clone(),
        false_positive: None,
        line: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &str = r#"{"type":"bundle","id":"bundle--1","objects":[
      {"type":"malware","id":"malware--1","name":"Wintego Helios"},
      {"type":"indicator","id":"indicator--1","pattern":"[domain-name:value='a.com']","pattern_type":"stix"},
      {"type":"indicator","id":"indicator--2","pattern":"[file:hashes.'SHA-256'='AB' AND file:name='x=\\'y\\'']"},
      {"type":"indicator","id":"indicator--3","pattern":"[file:name LIKE 'x']"},
      {"type":"indicator","id":"indicator--4","pattern":"[file:name = 'z']"},
      {"type":"indicator","id":"indicator--5","pattern":"rule x {}","pattern_type":"yara"},
      {"type":"relationship","id":"r1","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"malware--1"},
      {"type":"relationship","id":"r2","relationship_type":"indicates","source_ref":"indicator--2","target_ref":"malware--1"},
      {"type":"relationship","id":"r3","relationship_type":"indicates","source_ref":"indicator--9","target_ref":"malware--7"}
    ]}"#;

    #[test]
    fn families_and_refusals() {
        assert!(sniff(BUNDLE.as_bytes()));
        let (feed, errors) = read(BUNDLE.as_bytes(), "feed").unwrap();
        assert_eq!(feed.families, ["Spyware.Wintego_Helios", "Spyware.feed"]);
        let fams: Vec<usize> = feed.entries.iter().map(|e| e.family).collect();
        assert_eq!(fams, [0, 0, 1]);
        assert_eq!(feed.entries[1].any[0][1].value, "x='y'");
        assert_eq!(errors.len(), 2);
        assert!(errors[0].to_string().contains("indicator--3"));
        assert!(errors[1].to_string().contains("yara"));
    }

    #[test]
    fn not_a_bundle() {
        assert!(read(b"{\"type\":\"indicator\"}", "x").is_err());
        assert!(read(b"[1,2", "x").is_err());
    }
}
