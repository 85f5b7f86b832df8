//! Windows services and drivers: the subkeys of `ControlSet00N\Services`
//! in the offline SYSTEM hive, where N is the control set Windows boots
//! with (`Select\Current`; `ControlSet001` when the hive has no `Select`).
//! A service's key name is matched against the policy's service names, the
//! file name in its `ImagePath` against the policy's executables;
//! `DisplayName` gives the product when it is plain text (not a
//! `@file,-id` resource reference).

use notatin::cell_key_node::CellKeyNode;
use notatin::parser::Parser;

use super::hive;
use crate::error::Result;
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// One service as its key in the SYSTEM hive records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    /// The key's name (`AVP21.3`).
    pub name: String,
    /// The key, as `HKLM\SYSTEM\ControlSet001\Services\AVP21.3`.
    pub key: String,
    /// `ImagePath`: the command line or driver path.
    pub image_path: Option<String>,
    /// `DisplayName`.
    pub display_name: Option<String>,
}

impl Service {
    /// The file name of the program `ImagePath` runs (`avp.exe`), without
    /// quotes, directories or arguments.
    pub fn executable(&self) -> Option<&str> {
        let p = self.image_path.as_deref()?.trim();
        let path = match p.strip_prefix('"') {
            Some(rest) => rest.split('"').next().unwrap_or(rest),
            // Unquoted: up to the end of the first name with an extension
            // (`C:\Program Files\x\a.exe -k`), else the first word.
            None => {
                let lower = p.to_ascii_lowercase();
                [".exe", ".sys", ".com", ".dll"]
                    .iter()
                    .filter_map(|ext| lower.find(ext).map(|i| i.saturating_add(ext.len())))
                    .min()
                    .and_then(|end| p.get(..end))
                    .unwrap_or_else(|| p.split(' ').next().unwrap_or(p))
            }
        };
        let name = path.rsplit(['\\', '/']).next().unwrap_or(path);
        (!name.is_empty()).then_some(name)
    }
}

/// Services of the SYSTEM hive.
pub struct Services;

impl super::Source for Services {
    fn name(&self) -> &'static str {
        "windows-service"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        let Some(path) = hive::find(target, "SYSTEM") else {
            return Ok(());
        };
        for service in hive::read(&path, read_services)? {
            match_service(&service, policy, out);
        }
        Ok(())
    }
}

/// Every service of the current control set of a parsed SYSTEM hive.
pub fn read_services(parser: &mut Parser, _root: CellKeyNode) -> Vec<Service> {
    let current = hive::key(parser, "Select")
        .and_then(|k| hive::dword(&k, "Current"))
        .filter(|n| (1..=999).contains(n))
        .unwrap_or(1);
    let set = format!("ControlSet{current:03}");
    let Some(mut services) = hive::key(parser, &format!(r"{set}\Services")) else {
        return Vec::new();
    };
    hive::subkeys(parser, &mut services)
        .into_iter()
        .map(|k| Service {
            key: format!(r"HKLM\SYSTEM\{set}\Services\{}", k.key_name),
            image_path: hive::string(&k, "ImagePath"),
            display_name: hive::string(&k, "DisplayName").filter(|n| !n.starts_with('@')),
            name: k.key_name,
        })
        .collect()
}

fn match_service(s: &Service, policy: &Policy, out: &mut Vec<Finding>) {
    for vendor in &policy.vendors {
        let by_name = || vendor.find(Kind::WindowsService, &s.name);
        let by_exe = || vendor.find(Kind::WindowsExecutable, s.executable()?);
        if let Some(id) = by_name().or_else(by_exe) {
            let seen = match &s.image_path {
                Some(p) => format!("{} ({p})", s.key),
                None => s.key.clone(),
            };
            out.push(
                Finding::new(vendor, id, "windows-service", seen)
                    .with_product(s.display_name.clone()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Service;

    fn exe(image_path: &str) -> Option<String> {
        let s = Service {
            image_path: Some(image_path.into()),
            ..Service::default()
        };
        s.executable().map(str::to_string)
    }

    #[test]
    fn executable_of_image_path() {
        let cases = [
            (
                r#""C:\Program Files (x86)\Kaspersky Lab\KES\avp.exe" -r"#,
                "avp.exe",
            ),
            (r"C:\Program Files\Agent\klnagent.exe -s", "klnagent.exe"),
            (
                r"%SystemRoot%\system32\svchost.exe -k netsvcs",
                "svchost.exe",
            ),
            (r"system32\DRIVERS\klflt.sys", "klflt.sys"),
            (r"\SystemRoot\System32\drivers\ACPI.SYS", "ACPI.SYS"),
            ("plain -x", "plain"),
        ];
        for (path, name) in cases {
            assert_eq!(exe(path).as_deref(), Some(name), "{path}");
        }
        assert_eq!(exe(r#"""#), None);
        assert_eq!(exe(r"C:\dir\"), None);
    }
}
