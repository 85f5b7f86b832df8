//! The rpm database. rpm 4.16 and later keep it in SQLite
//! (`/var/lib/rpm/rpmdb.sqlite`, also `/usr/lib/sysimage/rpm/`): the
//! `Packages` table holds each installed package's header as a blob
//! (`hnum`, `blob`), decoded by [`super::rpmheader`].
//!
//! The older databases — Berkeley DB `Packages` (rpm before 4.16: RHEL and
//! CentOS up to 8) and SUSE's `Packages.db` (ndb) — are not read: no kept,
//! permissively licensed crate reads them. A root that has one and no
//! SQLite database gets an error saying so, so that its report does not
//! pass for complete.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::rpmheader::{parse_header_blob, RpmHeader};
use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// Where distributions keep the SQLite rpm database.
const DATABASES: [&str; 2] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
];

/// The databases of older rpm releases: Berkeley DB, and SUSE's ndb.
const OLD_DATABASES: [&str; 4] = [
    "/var/lib/rpm/Packages",
    "/var/lib/rpm/Packages.db",
    "/usr/lib/sysimage/rpm/Packages",
    "/usr/lib/sysimage/rpm/Packages.db",
];

/// A package read from the rpm database.
pub type RpmPackage = RpmHeader;

/// The rpm database.
pub struct Rpm;

impl super::Source for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        // On Fedora /var/lib/rpm links to /usr/lib/sysimage/rpm: read once.
        let mut read = Vec::new();
        for db in DATABASES {
            let path = target.path(db);
            let Ok(real) = path.canonicalize() else {
                continue;
            };
            if read.contains(&real) {
                continue;
            }
            for pkg in read_packages(&path)? {
                match_package(&pkg, policy, out);
            }
            read.push(real);
        }
        if read.is_empty() {
            if let Some(old) = OLD_DATABASES
                .iter()
                .map(|p| target.path(p))
                .find(|p| p.is_file())
            {
                return Err(Error::format(
                    "an rpm database in a format not read (Berkeley DB or ndb, rpm before 4.16): \
                     its packages are not inventoried",
                )
                .with_path(&old));
            }
        }
        Ok(())
    }
}

fn match_package(pkg: &RpmPackage, policy: &Policy, out: &mut Vec<Finding>) {
    for vendor in &policy.vendors {
        let by_name = vendor
            .find(Kind::Package, &pkg.name)
            .map(|id| (id, &pkg.name));
        let by_vendor = || {
            let v = pkg.vendor.as_ref()?;
            vendor.find(Kind::Publisher, v).map(|id| (id, v))
        };
        if let Some((id, _)) = by_name.or_else(by_vendor) {
            out.push(Finding::new(vendor, id, "rpm", &pkg.name).with_version(pkg.evr()));
        }
    }
}

/// Every package header in an rpmdb.sqlite file.
pub fn read_packages(path: &Path) -> Result<Vec<RpmPackage>> {
    let conn = open(path)?;
    let sql_err = |e: rusqlite::Error| Error::format(format!("rpm database: {e}")).with_path(path);
    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (hnum, blob) = row.map_err(sql_err)?;
        let header = parse_header_blob(&blob)
            .map_err(|e| Error::format(format!("package #{hnum}: {e}")).with_path(path))?;
        out.push(header);
    }
    Ok(out)
}

/// Open read-only. A database on read-only media cannot take the locks
/// SQLite wants; it is then opened as immutable.
fn open(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let plain = Connection::open_with_flags(path, flags).and_then(|c| {
        c.query_row("SELECT count(*) FROM Packages", [], |_| Ok(()))
            .map(|_| c)
    });
    match plain {
        Ok(c) => Ok(c),
        Err(_) => {
            let uri = format!("file:{}?immutable=1", uri_escape(&path.to_string_lossy()));
            Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                .map_err(|e| Error::format(format!("rpm database: {e}")).with_path(path))
        }
    }
}

/// Escape what a SQLite URI gives a meaning to.
fn uri_escape(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => s.push_str("%25"),
            '?' => s.push_str("%3f"),
            '#' => s.push_str("%23"),
            _ => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Source;

    #[test]
    fn berkeley_db_alone_is_reported_as_not_read() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("var/lib/rpm");
        std::fs::create_dir_all(&dir).unwrap();
        // The magic of a Berkeley DB hash database, at offset 12.
        let mut bdb = vec![0u8; 4096];
        bdb[12..16].copy_from_slice(&0x0006_1561u32.to_le_bytes());
        std::fs::write(dir.join("Packages"), bdb).unwrap();
        let mut out = Vec::new();
        let err = Rpm
            .collect(&Target::offline(root.path()), &Policy::builtin(), &mut out)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("var/lib/rpm/Packages: an rpm database in a format not read"),
            "{err}"
        );
        assert!(out.is_empty());
    }
}
