//! Database file kinds, told by extension as ClamAV tells them.

/// What a database file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DbKind {
    /// `.hdb` `.hsb`: whole-file hashes.
    FileHash,
    /// `.hdu` `.hsu`: whole-file hashes of potentially unwanted applications.
    FileHashPua,
    /// `.mdb` `.msb`: PE section hashes.
    SectionHash,
    /// `.mdu` `.msu`: PE section hashes, PUA.
    SectionHashPua,
    /// `.ndb`: body signatures.
    Body,
    /// `.ndu`: body signatures of potentially unwanted applications.
    BodyPua,
    /// `.ldb`: logical signatures.
    Logical,
    /// `.ldu`: logical signatures of potentially unwanted applications.
    LogicalPua,
    /// `.cdb`: container metadata signatures.
    ContainerMeta,
    /// `.ftm`: file type magic.
    FileTypeMagic,
    /// `.fp` `.sfp`: allow list of whole-file hashes.
    Allow,
    /// `.ign` `.ign2`: signatures to drop.
    Ignore,
    /// `.info`: container listing (used for verification only).
    Info,
    /// `.cfg`: engine configuration switches (not signatures).
    Config,
    /// `.cvd` `.cld` `.cud`: containers.
    Container(crate::ContainerKind),
    /// A format this version reads but does not match yet (body, logical,
    /// container-metadata, phishing, bytecode, YARA …); counted and reported.
    Unsupported(&'static str),
}

impl DbKind {
    /// The kind for a file name, or `None` when the extension is not a
    /// ClamAV database extension.
    pub fn from_name(name: &str) -> Option<DbKind> {
        use crate::ContainerKind::*;
        let ext = name.rsplit_once('.')?.1;
        Some(match ext {
            "hdb" | "hsb" => DbKind::FileHash,
            "hdu" | "hsu" => DbKind::FileHashPua,
            "mdb" | "msb" => DbKind::SectionHash,
            "mdu" | "msu" => DbKind::SectionHashPua,
            "ndb" => DbKind::Body,
            "ndu" => DbKind::BodyPua,
            "ldb" => DbKind::Logical,
            "ldu" => DbKind::LogicalPua,
            "cdb" => DbKind::ContainerMeta,
            "ftm" => DbKind::FileTypeMagic,
            "fp" | "sfp" => DbKind::Allow,
            "ign" | "ign2" => DbKind::Ignore,
            "info" => DbKind::Info,
            "cfg" => DbKind::Config,
            "cvd" => DbKind::Container(Cvd),
            "cld" => DbKind::Container(Cld),
            "cud" => DbKind::Container(Cud),
            _ => DbKind::Unsupported(unsupported_ext(ext)?),
        })
    }

    /// An extension of files of this kind ([`DbKind::from_name`] of
    /// `x.EXT` gives the kind back).
    pub fn ext(self) -> &'static str {
        use crate::ContainerKind::*;
        match self {
            DbKind::FileHash => "hdb",
            DbKind::FileHashPua => "hdu",
            DbKind::SectionHash => "mdb",
            DbKind::SectionHashPua => "mdu",
            DbKind::Body => "ndb",
            DbKind::BodyPua => "ndu",
            DbKind::Logical => "ldb",
            DbKind::LogicalPua => "ldu",
            DbKind::ContainerMeta => "cdb",
            DbKind::FileTypeMagic => "ftm",
            DbKind::Allow => "fp",
            DbKind::Ignore => "ign",
            DbKind::Info => "info",
            DbKind::Config => "cfg",
            DbKind::Container(Cvd) => "cvd",
            DbKind::Container(Cld) => "cld",
            DbKind::Container(Cud) => "cud",
            DbKind::Unsupported(ext) => ext,
        }
    }

    /// Whether signatures of this kind are loaded only on request.
    pub fn is_pua(self) -> bool {
        matches!(
            self,
            DbKind::FileHashPua | DbKind::SectionHashPua | DbKind::BodyPua | DbKind::LogicalPua
        )
    }
}

/// Extensions ClamAV loads that this version does not match yet.
fn unsupported_ext(ext: &str) -> Option<&'static str> {
    const EXTS: &[&str] = &[
        "idb", "crb", "cbc", "pdb", "gdb", "wdb", "imp", "yar", "yara", "sdb", "zmd", "rmd", "db",
        "cat", "ioc", "pwdb",
    ];
    EXTS.iter().copied().find(|e| *e == ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(DbKind::from_name("main.hsb"), Some(DbKind::FileHash));
        assert_eq!(DbKind::from_name("x.msu"), Some(DbKind::SectionHashPua));
        assert_eq!(DbKind::from_name("daily.ldb"), Some(DbKind::Logical));
        assert_eq!(DbKind::from_name("daily.cdb"), Some(DbKind::ContainerMeta));
        assert_eq!(
            DbKind::from_name("daily.idb"),
            Some(DbKind::Unsupported("idb"))
        );
        assert_eq!(DbKind::from_name("COPYING"), None);
        for name in [
            "a.hsb", "a.mdu", "a.ldu", "a.sfp", "a.cld", "a.cdb", "a.ign2",
        ] {
            let kind = DbKind::from_name(name).unwrap();
            assert_eq!(DbKind::from_name(&format!("x.{}", kind.ext())), Some(kind));
        }
        assert_eq!(DbKind::from_name("notes.txt"), None);
    }
}
