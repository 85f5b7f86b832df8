//! The system an inventory reads: the live one, or an offline root (a
//! mounted disk image, a backup, a container's file system).

use std::path::{Path, PathBuf};

/// The system to inventory.
#[derive(Clone, Debug)]
pub struct Target {
    root: PathBuf,
    live: bool,
}

impl Target {
    /// The running system: `/`, and `/proc` for modules and processes.
    pub fn live() -> Target {
        Target {
            root: PathBuf::from("/"),
            live: true,
        }
    }

    /// A file system mounted or copied at `root`; nothing running is read.
    pub fn offline(root: impl Into<PathBuf>) -> Target {
        Target {
            root: root.into(),
            live: false,
        }
    }

    /// Whether this is the running system.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the target's absolute path `abs` (`/var/lib/dpkg/status`) is.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// The host name the target records, if any: the kernel's for the live
    /// system, `/etc/hostname` otherwise.
    pub fn hostname(&self) -> Option<String> {
        let from = |p: PathBuf| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        if self.live {
            if let Some(h) = from(PathBuf::from("/proc/sys/kernel/hostname")) {
                return Some(h);
            }
        }
        from(self.path("/etc/hostname"))
    }
}
