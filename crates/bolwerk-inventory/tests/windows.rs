//! Offline Windows roots: SOFTWARE and SYSTEM hives written by hivex from
//! `.reg` text, read through the whole inventory (exact findings, nothing
//! on a clean root, a damaged hive reported as an error while the other
//! hive still reports).

mod support;

use std::path::Path;

use bolwerk_inventory::HostReport;
use support::regf::{make_hive, reg_text};

const SOFTWARE: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE";
const SYSTEM: &str = r"HKEY_LOCAL_MACHINE\SYSTEM";
const UNINSTALL: &str = r"Microsoft\Windows\CurrentVersion\Uninstall";
const UNINSTALL32: &str = r"WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall";

/// A SOFTWARE hive as Windows has it with Kaspersky Endpoint Security and
/// the Network Agent (32-bit programs, under WOW6432Node), Kaspersky
/// Password Manager, and ordinary programs — one that names Kaspersky
/// without being theirs.
fn software_with_kaspersky(path: &Path) {
    let kes = format!(r"{UNINSTALL32}\{{7A4192A1-84C4-4E90-A31B-B4847CA8E23A}}");
    let nagent = format!(r"{UNINSTALL32}\{{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}}");
    let kpm = format!(r"{UNINSTALL}\Kaspersky Password Manager");
    let zip = format!(r"{UNINSTALL}\7-Zip");
    let firefox = format!(r"{UNINSTALL}\Mozilla Firefox 128.0 (x64 en-US)");
    let tool = format!(r"{UNINSTALL}\{{0B0E5B2D-7E38-4F0C-9A4C-3F1C2E6D8A11}}");
    let reg = reg_text(
        SOFTWARE,
        &[
            (
                &kes,
                &[
                    ("DisplayName", "Kaspersky Endpoint Security for Windows"),
                    ("DisplayVersion", "12.3.0.493"),
                    ("Publisher", "AO Kaspersky Lab"),
                    (
                        "InstallLocation",
                        r"C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\",
                    ),
                ],
            ),
            (
                &nagent,
                &[
                    ("DisplayName", "Kaspersky Security Center Network Agent"),
                    ("DisplayVersion", "14.2.0.26967"),
                    ("Publisher", "AO Kaspersky Lab"),
                ],
            ),
            (
                &kpm,
                &[
                    ("DisplayName", "Kaspersky Password Manager"),
                    ("DisplayVersion", "24.0.0.427"),
                    ("Publisher", "Kaspersky"),
                ],
            ),
            (
                &zip,
                &[
                    ("DisplayName", "7-Zip 23.01 (x64)"),
                    ("DisplayVersion", "23.01"),
                    ("Publisher", "Igor Pavlov"),
                    ("InstallLocation", r"C:\Program Files\7-Zip\"),
                ],
            ),
            (
                &firefox,
                &[
                    ("DisplayName", "Mozilla Firefox (x64 en-US)"),
                    ("DisplayVersion", "128.0"),
                    ("Publisher", "Mozilla"),
                ],
            ),
            (
                &tool,
                &[
                    ("DisplayName", "Removal helper for Kaspersky Anti-Virus"),
                    ("DisplayVersion", "1.0"),
                    ("Publisher", "Example Tools Ltd"),
                ],
            ),
        ],
    );
    make_hive(path, SOFTWARE, &reg);
}

/// A SYSTEM hive booting from ControlSet002, whose services include
/// Kaspersky's; ControlSet001 (not current) holds an old Network Agent
/// service that must not be reported.
fn system_with_kaspersky(path: &Path) {
    let svc = |name: &str| format!(r"ControlSet002\Services\{name}");
    let (avp, nagent, klflt, second) = (
        svc("AVP21.3"),
        svc("klnagent"),
        svc("klflt"),
        svc("NetAgentSecondary"),
    );
    let (tcpip, dnscache) = (svc("Tcpip"), svc("Dnscache"));
    let old = r"ControlSet001\Services\klnagent".to_string();
    let reg = reg_text(
        SYSTEM,
        &[
            (
                "Select",
                &[
                    ("Current", "dword:00000002"),
                    ("Default", "dword:00000002"),
                    ("LastKnownGood", "dword:00000001"),
                ],
            ),
            (
                &old,
                &[(
                    "ImagePath",
                    r#"expand:"C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe""#,
                )],
            ),
            (
                &tcpip,
                &[
                    ("ImagePath", r"expand:System32\drivers\tcpip.sys"),
                    ("DisplayName", "@todo.dll,-100;TCP/IP Protocol Driver"),
                ],
            ),
            (
                &dnscache,
                &[
                    (
                        "ImagePath",
                        r"expand:%SystemRoot%\system32\svchost.exe -k NetworkService -p",
                    ),
                    ("DisplayName", r"@%SystemRoot%\System32\dnsrslvr.dll,-191"),
                ],
            ),
            (
                &avp,
                &[
                    (
                        "ImagePath",
                        r#"expand:"C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe" -r"#,
                    ),
                    ("DisplayName", "Kaspersky Endpoint Security Service"),
                ],
            ),
            (
                &nagent,
                &[
                    (
                        "ImagePath",
                        r#"expand:"C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe""#,
                    ),
                    ("DisplayName", "Kaspersky Security Center Network Agent"),
                ],
            ),
            (
                &klflt,
                &[("ImagePath", r"expand:system32\DRIVERS\klflt.sys")],
            ),
            (
                &second,
                &[(
                    "ImagePath",
                    r"expand:C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe -s",
                )],
            ),
        ],
    );
    make_hive(path, SYSTEM, &reg);
}

/// A SOFTWARE hive with ordinary programs only.
fn software_clean(path: &Path) {
    let zip = format!(r"{UNINSTALL}\7-Zip");
    let reg = reg_text(
        SOFTWARE,
        &[(
            &zip,
            &[
                ("DisplayName", "7-Zip 23.01 (x64)"),
                ("DisplayVersion", "23.01"),
                ("Publisher", "Igor Pavlov"),
            ],
        )],
    );
    make_hive(path, SOFTWARE, &reg);
}

/// A SYSTEM hive with ordinary services only.
fn system_clean(path: &Path) {
    let reg = reg_text(
        SYSTEM,
        &[
            ("Select", &[("Current", "dword:00000001")]),
            (
                r"ControlSet001\Services\Tcpip",
                &[("ImagePath", r"expand:System32\drivers\tcpip.sys")],
            ),
        ],
    );
    make_hive(path, SYSTEM, &reg);
}

/// Each finding as `source | observed | identifier | product | version | confidence`.
fn rows(r: &HostReport) -> Vec<String> {
    let mut out: Vec<String> = r
        .findings
        .iter()
        .map(|e| {
            let f = &e.finding;
            format!(
                "{} | {} | {} | {} | {} | {}",
                f.source,
                f.observed,
                f.identifier,
                f.product.as_deref().unwrap_or("-"),
                f.version.as_deref().unwrap_or("-"),
                f.confidence
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn kaspersky_in_software_and_system_hives() {
    let root = tempfile::tempdir().unwrap();
    // Mounted from Linux, the names may have any case.
    let config = root.path().join("WINDOWS/system32/CONFIG");
    software_with_kaspersky(&config.join("SOFTWARE"));
    system_with_kaspersky(&config.join("system"));
    let r = support::run(root.path(), "win1");
    assert_eq!(r.errors, Vec::<String>::new());
    let expected = [
        r#"windows-service | HKLM\SYSTEM\ControlSet002\Services\AVP21.3 ("C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe" -r) | AVP | Kaspersky Endpoint Security Service | - | medium"#,
        r#"windows-service | HKLM\SYSTEM\ControlSet002\Services\NetAgentSecondary (C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe -s) | klnagent.exe | Kaspersky Security Center Network Agent | - | medium"#,
        r#"windows-service | HKLM\SYSTEM\ControlSet002\Services\klflt (system32\DRIVERS\klflt.sys) | klflt | - | - | medium"#,
        r#"windows-service | HKLM\SYSTEM\ControlSet002\Services\klnagent ("C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe") | klnagent | Kaspersky Security Center Network Agent | - | medium"#,
        r#"windows-uninstall | HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\Kaspersky Password Manager | (?i)^(AO )?Kaspersky( Lab)? | Kaspersky Password Manager | 24.0.0.427 | high"#,
        r#"windows-uninstall | HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B} | Kaspersky Security Center Network Agent | Kaspersky Security Center Network Agent | 14.2.0.26967 | high"#,
        r#"windows-uninstall | HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{7A4192A1-84C4-4E90-A31B-B4847CA8E23A} (C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\) | Kaspersky Endpoint Security* | Kaspersky Endpoint Security for Windows | 12.3.0.493 | high"#,
    ];
    assert_eq!(rows(&r), expected);
    assert_eq!(r.exit_code(), 1);
    // Every find falls under the policy's earliest phase.
    assert!(r
        .findings
        .iter()
        .all(|e| e.phase.as_ref().is_some_and(|p| p.name == "us-sales")));
}

#[test]
fn clean_hives_report_nothing() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("Windows/System32/config");
    software_clean(&config.join("SOFTWARE"));
    system_clean(&config.join("SYSTEM"));
    let r = support::run(root.path(), "win1");
    assert_eq!(r.errors, Vec::<String>::new());
    assert_eq!(rows(&r), Vec::<String>::new());
    assert_eq!(r.exit_code(), 0);
    assert!(r.sources.iter().any(|s| s == "windows-uninstall"));
    assert!(r.sources.iter().any(|s| s == "windows-service"));
}

#[test]
fn damaged_software_hive_is_an_error_and_system_still_reports() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("windows/system32/config");
    system_with_kaspersky(&config.join("SYSTEM"));
    let software = config.join("SOFTWARE");
    std::fs::write(&software, b"this is not a registry hive").unwrap();
    let r = support::run(root.path(), "win1");
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let err = &r.errors[0];
    assert!(
        err.starts_with("windows-uninstall: ") && err.contains(software.to_str().unwrap()),
        "{err}"
    );
    assert_eq!(
        r.findings
            .iter()
            .filter(|e| e.finding.source == "windows-service")
            .count(),
        4
    );
    assert_eq!(r.exit_code(), 1);
}

/// Truncated and corrupted copies of a real hive: each gives findings or
/// an error naming the file, never a crash.
#[test]
fn truncated_and_corrupted_hives_never_crash() {
    let src = tempfile::tempdir().unwrap();
    let good = src.path().join("SOFTWARE");
    software_with_kaspersky(&good);
    let bytes = std::fs::read(&good).unwrap();
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("Windows/System32/config");
    std::fs::create_dir_all(&config).unwrap();
    let hive = config.join("SOFTWARE");
    let mut variants: Vec<Vec<u8>> = Vec::new();
    for cut in [0, 3, 4, 100, 511, 4095, 4096, 4100, 4128, 5000, 6000] {
        variants.push(bytes[..cut.min(bytes.len())].to_vec());
    }
    let len = bytes.len();
    for (i, pos) in (0..len).step_by(97).enumerate() {
        let mut v = bytes.clone();
        v[pos] ^= [0xFF, 0x80, 0x01, 0x7F][i % 4];
        variants.push(v);
    }
    for v in &variants {
        std::fs::write(&hive, v).unwrap();
        let r = support::run(root.path(), "win1");
        for e in &r.errors {
            assert!(e.contains(hive.to_str().unwrap()), "{e}");
        }
    }
}

#[test]
fn hive_bytes_api() {
    let d = tempfile::tempdir().unwrap();
    let (sw, sys) = (d.path().join("SOFTWARE"), d.path().join("SYSTEM"));
    software_with_kaspersky(&sw);
    system_with_kaspersky(&sys);
    let programs =
        bolwerk_inventory::sources::windows_programs(std::fs::read(&sw).unwrap()).unwrap();
    let mut names: Vec<_> = programs.iter().filter_map(|p| p.name.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "7-Zip 23.01 (x64)",
            "Kaspersky Endpoint Security for Windows",
            "Kaspersky Password Manager",
            "Kaspersky Security Center Network Agent",
            "Mozilla Firefox (x64 en-US)",
            "Removal helper for Kaspersky Anti-Virus"
        ]
    );
    let services =
        bolwerk_inventory::sources::windows_services(std::fs::read(&sys).unwrap()).unwrap();
    let names: Vec<_> = services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), 6, "ControlSet002's services only: {names:?}");
    assert!(bolwerk_inventory::sources::windows_programs(b"regf".to_vec()).is_err());
}
