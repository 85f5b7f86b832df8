//! What runs on the live system: loaded kernel modules (`/proc/modules`)
//! and processes (`/proc/PID/comm`). Never read for an offline root.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// The names of the modules in `/proc/modules` text (first word per line).
pub fn parse_modules(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Every process's name (`comm`), with its process ids, from `/proc`.
pub fn process_names() -> BTreeMap<String, Vec<u32>> {
    let mut names: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return names;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A process may end between the listing and the read: skip it.
        if let Ok(comm) = std::fs::read_to_string(e.path().join("comm")) {
            names
                .entry(comm.trim_end_matches('\n').to_string())
                .or_default()
                .push(pid);
        }
    }
    for pids in names.values_mut() {
        pids.sort_unstable();
    }
    names
}

/// Loaded kernel modules.
pub struct Modules;

impl super::Source for Modules {
    fn name(&self) -> &'static str {
        "kernel-module"
    }

    fn applies(&self, target: &Target) -> bool {
        target.is_live()
    }

    fn collect(&self, _: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        let path = std::path::Path::new("/proc/modules");
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            // Kernels without module support have no /proc/modules.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(path, e)),
        };
        for module in parse_modules(&text) {
            for vendor in &policy.vendors {
                if let Some(id) = vendor.find(Kind::KernelModule, &module) {
                    out.push(Finding::new(vendor, id, "kernel-module", &module));
                }
            }
        }
        Ok(())
    }
}

/// Running processes.
pub struct Processes;

impl super::Source for Processes {
    fn name(&self) -> &'static str {
        "process"
    }

    fn applies(&self, target: &Target) -> bool {
        target.is_live()
    }

    fn collect(&self, _: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        for (comm, pids) in process_names() {
            for vendor in &policy.vendors {
                if let Some(id) = vendor.find(Kind::Process, &comm) {
                    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
                    let seen = format!("{comm} (pid {})", pids.join(", "));
                    out.push(Finding::new(vendor, id, "process", seen));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        let text = "kl_fsf 16384 0 - Live 0x0000000000000000\next4 999 1 mbcache, Live 0x0\n";
        assert_eq!(parse_modules(text), ["kl_fsf", "ext4"]);
    }

    #[test]
    fn this_process_is_listed() {
        let me = std::process::id();
        assert!(process_names().values().any(|p| p.contains(&me)));
    }
}
