//! Android packages in an offline root (a phone's `/data` partition, as an
//! extraction or a backup lays it out).
//!
//! `data/system/packages.xml` is the package manager's list of installed
//! packages: a `<packages>` root whose `<package>` children carry the
//! package `name`, its `codePath` and its version code (`version`).
//! Android 11 and earlier write it as text XML; Android 12 and later as
//! Android Binary XML (see [`super::abx`]); both are read. When
//! `packages-backup.xml` is there, Android takes it over `packages.xml` (the
//! main file may be half written), and so does this source.
//!
//! The package directories under `data/app` say the same without the
//! list: `data/app/<package>-<suffix>` (Android 8 to 10) and
//! `data/app/~~<random>/<package>-<suffix>` (Android 11 and later).
//! Packages found there that the list does not name are reported too.
//!
//! Package names are matched against the policy's Android package prefixes.

use std::collections::BTreeSet;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::abx;
use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// The package lists, the one Android prefers first.
const PACKAGE_LISTS: [&str; 2] = [
    "/data/system/packages-backup.xml",
    "/data/system/packages.xml",
];

/// Where installed apps' directories are.
const APP_DIR: &str = "/data/app";

/// The largest package list read.
const MAX_LIST: u64 = 256 * 1024 * 1024;

/// The most directory entries looked at in one directory.
const MAX_DIR_ENTRIES: usize = 100_000;

/// One installed package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AndroidPackage {
    /// The package name (`com.example.app`).
    pub name: String,
    /// The version code (`version`).
    pub version: Option<String>,
    /// Where its code is (`codePath`).
    pub code_path: Option<String>,
}

/// Android packages.
pub struct Android;

impl super::Source for Android {
    fn name(&self) -> &'static str {
        "android"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        let mut listed = BTreeSet::new();
        let mut result = Ok(());
        if let Some(path) = PACKAGE_LISTS
            .iter()
            .map(|p| target.path(p))
            .find(|p| p.is_file())
        {
            match read_list(&path) {
                Ok(packages) => {
                    for p in packages {
                        match_name(policy, "android-packages", &p.name, &p.name, out, |f| {
                            f.with_version(p.version.clone())
                        });
                        listed.insert(p.name);
                    }
                }
                // The app directories still report.
                Err(e) => result = Err(e),
            }
        }
        for (name, dir) in app_dirs(target) {
            if !listed.contains(&name) {
                match_name(policy, "android-app", &name, &dir, out, |f| f);
            }
        }
        result
    }
}

fn match_name(
    policy: &Policy,
    source: &str,
    name: &str,
    seen: &str,
    out: &mut Vec<Finding>,
    finish: impl Fn(Finding) -> Finding,
) {
    for vendor in &policy.vendors {
        if let Some(id) = vendor.find(Kind::AndroidPackagePrefix, name) {
            out.push(finish(Finding::new(vendor, id, source, seen)));
        }
    }
}

fn read_list(path: &std::path::Path) -> Result<Vec<AndroidPackage>> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_LIST {
        return Err(
            Error::format(format!("{len} bytes, larger than the {MAX_LIST} read")).with_path(path),
        );
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_packages(&bytes).map_err(|e| Error::format(format!("packages list: {e}")).with_path(path))
}

/// The packages a package list names, text XML or ABX.
pub fn parse_packages(bytes: &[u8]) -> std::result::Result<Vec<AndroidPackage>, String> {
    let tags = if bytes.starts_with(abx::MAGIC) {
        abx::start_tags(bytes, |name, depth| depth == 1 && name == "package")?
    } else {
        text_package_tags(bytes)?
    };
    Ok(tags
        .into_iter()
        .filter_map(|t| {
            let name = t.attribute("name")?.to_string();
            Some(AndroidPackage {
                version: t.attribute("version").map(str::to_string),
                code_path: t.attribute("codePath").map(str::to_string),
                name,
            })
        })
        .filter(|p| !p.name.is_empty())
        .collect())
}

/// The `<package>` children of the root element of a text XML document.
fn text_package_tags(bytes: &[u8]) -> std::result::Result<Vec<abx::StartTag>, String> {
    let mut reader = Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut depth = 0usize;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("XML at byte {at}: {e}"))?;
        match event {
            Event::Start(e) => {
                if depth == 1 && e.local_name().as_ref() == "package" {
                    out.push(start_tag(&e, depth));
                }
                depth = depth.saturating_add(1);
            }
            Event::Empty(e) if depth == 1 && e.local_name().as_ref() == "package" => {
                out.push(start_tag(&e, depth));
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

fn start_tag(e: &BytesStart<'_>, depth: usize) -> abx::StartTag {
    let attributes = e
        .attributes()
        .flatten()
        .filter_map(|a| {
            let name = a.key.as_ref().to_string();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()?;
            Some((name, value.into_owned()))
        })
        .collect();
    abx::StartTag {
        name: e.name().as_ref().to_string(),
        attributes,
        depth,
    }
}

/// `(package, directory)` for each app directory, sorted.
fn app_dirs(target: &Target) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in dir_names(target, APP_DIR) {
        if entry.starts_with("~~") {
            let dir = format!("{APP_DIR}/{entry}");
            for inner in dir_names(target, &dir) {
                if let Some(pkg) = package_of(&inner) {
                    out.push((pkg.to_string(), format!("{dir}/{inner}")));
                }
            }
        } else if let Some(pkg) = package_of(&entry) {
            out.push((pkg.to_string(), format!("{APP_DIR}/{entry}")));
        }
    }
    out.sort();
    out
}

/// The package of an app directory's name (`com.example-1`,
/// `com.example-Ab_Cd==`): what comes before the first `-`, as package
/// names have none.
fn package_of(dir_name: &str) -> Option<&str> {
    let (pkg, _) = dir_name.split_once('-')?;
    (pkg.contains('.')
        && pkg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'))
    .then_some(pkg)
}

/// The names of a target directory's subdirectories, sorted.
fn dir_names(target: &Target, dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(target.path(dir)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .take(MAX_DIR_ENTRIES)
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::package_of;

    #[test]
    fn app_directory_names() {
        assert_eq!(
            package_of("com.kaspersky.security.cloud-1"),
            Some("com.kaspersky.security.cloud")
        );
        assert_eq!(
            package_of("com.android.chrome-7m8GDkbmwSBxtEPlXwVKhQ=="),
            Some("com.android.chrome")
        );
        assert_eq!(package_of("com.example-Ab-Cd=="), Some("com.example"));
        assert_eq!(package_of("vmdl123.tmp"), None);
        assert_eq!(package_of("oat"), None);
        assert_eq!(package_of("../x-1"), None);
    }
}
