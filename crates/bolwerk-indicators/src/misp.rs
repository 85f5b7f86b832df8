//! MISP events (JSON), as Echap publishes its stalkerware indicators: an
//! event whose objects (`android-app`, `file`, …) each carry a `name`
//! attribute and indicator attributes (`sha256`, `domain`, `appid`,
//! `certificate`, …), plus attributes at the event level.
//!
//! An object's indicators form the family `<Event>.<name>`, where `<Event>`
//! is the first word of the event's `info` (`Stalkerware indicators` →
//! `Stalkerware.TheTruthSpy`); event-level attributes form the family named
//! by the whole `info`. Each attribute becomes a one-comparison indicator
//! under the STIX object path of the same meaning (`domain` →
//! `domain-name:value`, `certificate` → `app:cert.sha1`, …); attributes
//! with no such path (`name`, `text`, `link`) are skipped. `to_ids` is not
//! consulted: Echap marks its app ids `false`, yet they identify the app.

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::feed::{name_part, Entry, Feed};
use crate::pattern::Comparison;

#[derive(Deserialize)]
struct Wrapped {
    #[serde(rename = "Event")]
    event: Event,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    info: String,
    #[serde(rename = "Attribute", default)]
    attributes: Vec<Attribute>,
    #[serde(rename = "Object", default)]
    objects: Vec<Object>,
}

#[derive(Deserialize)]
struct Object {
    #[serde(default)]
    uuid: String,
    #[serde(rename = "Attribute", default)]
    attributes: Vec<Attribute>,
}

#[derive(Deserialize)]
struct Attribute {
    #[serde(rename = "type", default)]
    ty: String,
    #[serde(default)]
    object_relation: Option<String>,
    #[serde(default)]
    value: String,
    #[serde(default)]
    uuid: String,
}

/// Whether `bytes` look like a MISP event (for `.json` files).
pub fn sniff(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    memchr::memmem::find(head, b"\"Attribute\"").is_some()
        || memchr::memmem::find(head, b"\"Event\"").is_some()
}

/// Read a MISP event, bare or wrapped in `{"Event": …}`.
pub fn read(bytes: &[u8]) -> Result<Feed, Error> {
    let json = |e: serde_json::Error| Error::new(ErrorKind::Json(e.to_string()));
    let event = match serde_json::from_slice::<Wrapped>(bytes) {
        Ok(w) => w.event,
        Err(_) => serde_json::from_slice::<Event>(bytes).map_err(json)?,
    };
    let prefix = name_part(event.info.split_whitespace().next().unwrap_or("MISP"));
    let mut feed = Feed::default();
    for o in &event.objects {
        let name = o
            .attributes
            .iter()
            .find(|a| a.object_relation.as_deref() == Some("name"))
            .map_or(o.uuid.as_str(), |a| a.value.as_str());
        let fam = family(&mut feed, format!("{prefix}.{}", name_part(name)));
        add(&mut feed, fam, &o.attributes);
    }
    if !event.attributes.is_empty() {
        let fam = family(&mut feed, name_part(&event.info));
        add(&mut feed, fam, &event.attributes);
    }
    Ok(feed)
}

fn family(feed: &mut Feed, name: String) -> usize {
    if let Some(i) = feed.families.iter().position(|f| *f == name) {
        return i;
    }
    feed.families.push(name);
    feed.families.len() - 1
}

fn add(feed: &mut Feed, family: usize, attrs: &[Attribute]) {
    for a in attrs {
        let Some(path) = stix_path(a) else { continue };
        feed.entries.push(Entry {
            id: a.uuid.clone(),
            family,
            any: vec![vec![Comparison {
                path: path.to_string(),
                value: a.value.clone(),
            }]],
            score: None,
            note: None,
            false_positive: None,
            line: None,
        });
    }
}

/// The STIX object path of a MISP attribute, by its object relation (or,
/// at event level, its type).
fn stix_path(a: &Attribute) -> Option<&'static str> {
    let rel = a.object_relation.as_deref().unwrap_or(&a.ty);
    Some(match rel {
        "md5" => "file:hashes.md5",
        "sha256" => "file:hashes.sha256",
        "filename" => "file:name",
        "domain" | "hostname" => "domain-name:value",
        "url" | "link" if a.object_relation.is_some() || a.ty == "url" => "url:value",
        "email" | "email-src" | "email-dst" => "email-addr:value",
        "ip-dst" | "ip-src" | "ip" => "ipv4-addr:value",
        "appid" => "app:id",
        "certificate" => "app:cert.sha1",
        "sha1" => "file:hashes.sha1",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_event_attributes() {
        let ev = br#"{"info":"Stalkerware indicators",
          "Attribute":[{"type":"link","value":"https://example.org","uuid":"u0"},
                       {"type":"domain","value":"evil.example","uuid":"u1"}],
          "Object":[{"uuid":"o1","Attribute":[
             {"object_relation":"name","type":"text","value":"The Spy"},
             {"object_relation":"domain","type":"domain","value":"c2.spy.example"},
             {"object_relation":"sha256","type":"sha256","value":"AB"},
             {"object_relation":"certificate","type":"sha1","value":"CD"},
             {"object_relation":"appid","type":"text","value":"com.spy"}]}]}"#;
        assert!(sniff(ev));
        let feed = read(ev).unwrap();
        assert_eq!(
            feed.families,
            ["Stalkerware.The_Spy", "Stalkerware_indicators"]
        );
        let paths: Vec<&str> = feed
            .entries
            .iter()
            .map(|e| e.any[0][0].path.as_str())
            .collect();
        assert_eq!(
            paths,
            [
                "domain-name:value",
                "file:hashes.sha256",
                "app:cert.sha1",
                "app:id",
                "domain-name:value"
            ]
        );
        assert_eq!(feed.entries[4].family, 1);
        let wrapped = br#"{"Event":{"info":"x","Attribute":[{"type":"md5","value":"aa"}]}}"#;
        assert_eq!(read(wrapped).unwrap().entries.len(), 1);
    }
}
