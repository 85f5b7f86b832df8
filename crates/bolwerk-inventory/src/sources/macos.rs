//! macOS application bundles: `Contents/Info.plist` (XML or binary) gives
//! the bundle identifier, name and version; the main executable's embedded
//! code signature gives the signer's Team ID (see [`super::codesign`]).
//!
//! Bundles are looked for in `/Applications` (and one folder below it),
//! users' `~/Applications` and `/Library/SystemExtensions`.

use std::path::{Path, PathBuf};

use plist::Value;

use super::codesign;
use crate::error::Result;
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// The largest executable read for its signature.
const MAX_EXECUTABLE: u64 = 512 * 1024 * 1024;

/// What one bundle says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bundle {
    /// The bundle's path on the target.
    pub path: String,
    /// `CFBundleIdentifier`.
    pub id: Option<String>,
    /// `CFBundleDisplayName` or `CFBundleName`.
    pub name: Option<String>,
    /// `CFBundleShortVersionString` or `CFBundleVersion`.
    pub version: Option<String>,
    /// The Team ID in the main executable's code signature.
    pub team_id: Option<String>,
}

/// macOS application bundles.
pub struct Bundles;

impl super::Source for Bundles {
    fn name(&self) -> &'static str {
        "macos-bundle"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        for dir in bundle_dirs(target) {
            if let Some(b) = read_bundle(target, &dir) {
                match_bundle(&b, policy, out);
            }
        }
        Ok(())
    }
}

fn match_bundle(b: &Bundle, policy: &Policy, out: &mut Vec<Finding>) {
    for vendor in &policy.vendors {
        let by_team = || {
            let t = b.team_id.as_ref()?;
            vendor
                .find(Kind::TeamId, t)
                .map(|id| (id, format!("{} (Team ID {t})", b.path)))
        };
        let by_id = || {
            let i = b.id.as_ref()?;
            vendor
                .find(Kind::BundleIdPrefix, i)
                .map(|id| (id, format!("{} ({i})", b.path)))
        };
        if let Some((id, seen)) = by_team().or_else(by_id) {
            let f = Finding::new(vendor, id, "macos-bundle", seen)
                .with_product(b.name.clone())
                .with_version(b.version.clone());
            out.push(f);
        }
    }
}

/// Bundle directories on the target, as absolute target paths.
fn bundle_dirs(target: &Target) -> Vec<String> {
    let mut out = Vec::new();
    let apps = children(target, "/Applications");
    for a in &apps {
        if a.ends_with(".app") {
            out.push(a.clone());
        } else {
            out.extend(
                children(target, a)
                    .into_iter()
                    .filter(|c| c.ends_with(".app")),
            );
        }
    }
    for user in children(target, "/Users") {
        let dir = format!("{user}/Applications");
        out.extend(
            children(target, &dir)
                .into_iter()
                .filter(|c| c.ends_with(".app")),
        );
    }
    for ext in children(target, "/Library/SystemExtensions") {
        out.extend(
            children(target, &ext)
                .into_iter()
                .filter(|c| c.ends_with(".systemextension")),
        );
    }
    out
}

/// A directory's subdirectories, sorted, as absolute target paths.
fn children(target: &Target, dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(target.path(dir)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
        .collect();
    out.sort();
    out
}

/// Read one bundle; `None` when it has no readable Info.plist.
pub fn read_bundle(target: &Target, dir: &str) -> Option<Bundle> {
    let contents = target.path(dir).join("Contents");
    let info = Value::from_file(contents.join("Info.plist")).ok()?;
    let dict = info.as_dictionary()?;
    let text = |k: &str| dict.get(k).and_then(Value::as_string).map(str::to_string);
    let team_id = text("CFBundleExecutable")
        .map(|exe| contents.join("MacOS").join(exe))
        .and_then(|p| team_id_of(&p));
    Some(Bundle {
        path: dir.to_string(),
        id: text("CFBundleIdentifier"),
        name: text("CFBundleDisplayName").or_else(|| text("CFBundleName")),
        version: text("CFBundleShortVersionString").or_else(|| text("CFBundleVersion")),
        team_id,
    })
}

fn team_id_of(exe: &PathBuf) -> Option<String> {
    let len = std::fs::metadata(exe).ok()?.len();
    if len > MAX_EXECUTABLE {
        return None;
    }
    codesign::team_id(&std::fs::read(Path::new(exe)).ok()?)
}
