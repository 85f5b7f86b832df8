//! `bolwerk inventory`: offline roots made by the real package tools (dpkg,
//! rpm), exact detections, nothing on a clean root, the fleet summary, and
//! the HTML page as a browser shows it.

use std::path::Path;
use std::process::Command;

use crate::eqnice;
use crate::util::{bolwerk, run, Dir, Run};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Run a tool the test needs; a missing tool fails with the Debian package
/// that `.ci/run` installs.
fn tool(program: &str, package: &str, args: &[&str]) {
    let r = run(Command::new(program), Path::new("."), args, None);
    assert!(
        r.code == 0,
        "{program} {args:?} failed ({}): {}{}\n(Debian package {package}: apt-get install {package})",
        r.code,
        r.stdout,
        r.stderr
    );
}

fn have(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
    assert!(found, "{program} is missing: apt-get install {package}");
}

/// Build a .deb with dpkg-deb: `files` are (path, contents), `conffiles`
/// lists those dpkg keeps on removal.
fn deb(d: &Dir, name: &str, version: &str, files: &[(&str, &str)], conffiles: &[&str]) -> String {
    let tree = format!("build/{name}");
    d.write(
        &format!("{tree}/DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\n\
             Maintainer: Test <test@example.org>\nDescription: {name} for tests\n"
        ),
    );
    if !conffiles.is_empty() {
        d.write(
            &format!("{tree}/DEBIAN/conffiles"),
            conffiles.join("\n") + "\n",
        );
    }
    for (path, data) in files {
        d.write(&format!("{tree}{path}"), data);
    }
    let out = d.join(&format!("{name}.deb"));
    have("dpkg-deb", "dpkg");
    tool(
        "dpkg-deb",
        "dpkg",
        &["--root-owner-group", "-b", s(&d.join(&tree)), s(&out)],
    );
    out.to_str().unwrap().to_string()
}

/// dpkg acting on the offline root `root`, as it would on a mounted disk.
fn dpkg(root: &Path, args: &[&str]) {
    let root_arg = format!("--root={}", root.display());
    let mut all = vec![
        root_arg.as_str(),
        "--force-script-chrootless",
        "--force-not-root",
        "--log=/dev/null",
    ];
    all.extend_from_slice(args);
    tool("dpkg", "dpkg", &all);
}

/// A root with dpkg's database and some ordinary packages installed.
fn debian_root(d: &Dir) -> std::path::PathBuf {
    let root = d.join("root");
    for dir in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(root.join("var/lib/dpkg").join(dir)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let hello = deb(
        d,
        "hello",
        "2.10-3",
        &[("/usr/bin/hello", "#!/bin/sh\n")],
        &[],
    );
    let lib = deb(
        d,
        "libexample1",
        "1.2.3-1",
        &[("/usr/lib/libexample.so.1", "x")],
        &[],
    );
    // A name close to the vendor's, which must not match.
    let kes = deb(
        d,
        "kesl-lookalike-docs",
        "1.0",
        &[("/usr/share/doc/k/README", "x")],
        &[],
    );
    dpkg(&root, &["-i", &hello, &lib, &kes]);
    root
}

/// The CSV rows (without the header) as `source,observed,version,…` lines.
fn findings(csv: &str) -> Vec<String> {
    let mut rows: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            // source, observed, version, confidence, status, phase, days_left
            [f[4], f[6], f[3], f[7], f[8], f[9], f[12]].join(",")
        })
        .collect();
    rows.sort();
    rows
}

/// `bolwerk inventory FORMAT` (`--csv`, `--json`) of an offline root, on
/// a fixed day.
fn offline_inventory(root: &Path, format: &str) -> Run {
    bolwerk(&[
        "inventory",
        "--root",
        s(root),
        "--today",
        "2024-07-10",
        format,
    ])
}

/// `bolwerk inventory --csv` of an offline root, on a fixed day.
fn inventory_csv(root: &Path) -> Run {
    offline_inventory(root, "--csv")
}

#[test]
fn dpkg_root_with_kesl_and_klnagent64() {
    let d = Dir::new();
    let root = debian_root(&d);
    let kesl = deb(
        &d,
        "kesl",
        "12.1.0.1297",
        &[
            ("/opt/kaspersky/kesl/bin/kesl-control", "x"),
            (
                "/lib/systemd/system/kesl.service",
                "[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl\n",
            ),
        ],
        &[],
    );
    let agent = deb(
        &d,
        "klnagent64",
        "15.1.0-20748",
        &[("/opt/kaspersky/klnagent64/bin/klnagchk", "x")],
        &[],
    );
    let gui = deb(
        &d,
        "kesl-gui",
        "12.1.0.1297",
        &[
            ("/etc/opt/kaspersky/kesl-gui.conf", "x"),
            ("/usr/bin/kesl-gui", "x"),
        ],
        &["/etc/opt/kaspersky/kesl-gui.conf"],
    );
    dpkg(&root, &["-i", &kesl, &agent, &gui]);
    // Removed, its conffile kept: dpkg records it as config-files, not installed.
    dpkg(&root, &["-r", "kesl-gui"]);
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
    assert!(
        status.contains("Package: kesl-gui\nStatus: deinstall ok config-files"),
        "{status}"
    );

    let r = inventory_csv(&root);
    eqnice!(
        vec![
            "dpkg,kesl,12.1.0.1297,high,found,us-sales,10",
            "dpkg,klnagent64,15.1.0-20748,high,found,us-sales,10",
            "path,/opt/kaspersky/kesl/,,high,found,us-sales,10",
            "path,/opt/kaspersky/klnagent64/,,high,found,us-sales,10",
            "systemd,/lib/systemd/system/kesl.service,,high,found,us-sales,10",
        ],
        findings(&r.stdout)
    );
    eqnice!(1, r.code);

    // The table names the host and the product; the scope chooses the phase.
    let r = bolwerk(&[
        "inventory",
        "--root",
        s(&root),
        "--today",
        "2024-10-01",
        "--host",
        "ws-17",
        "--scope",
        "us-updates",
    ]);
    assert!(
        r.stdout.starts_with("Host: ws-17 (offline root"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Kaspersky Endpoint Security for Linux"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("us-updates  2024-09-29  -2 (overdue)"),
        "{}",
        r.stdout
    );
    eqnice!(1, r.code);
}

#[test]
fn clean_root_reports_nothing() {
    let d = Dir::new();
    let root = debian_root(&d);
    std::fs::create_dir_all(root.join("lib/systemd/system")).unwrap();
    std::fs::write(root.join("lib/systemd/system/ssh.service"), "[Service]\n").unwrap();
    std::fs::create_dir_all(root.join("opt/other")).unwrap();
    let r = bolwerk(&[
        "inventory",
        "--root",
        s(&root),
        "--today",
        "2025-01-01",
        "--json",
    ]);
    eqnice!(0, r.code);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    eqnice!(serde_json::json!([]), v["findings"]);
    eqnice!(serde_json::json!([]), v["errors"]);
    let r = bolwerk(&["inventory", "--root", s(&root), "--today", "2025-01-01"]);
    assert!(
        r.stdout.contains("Nothing from a phased-out vendor found."),
        "{}",
        r.stdout
    );
}

/// A package built with rpmbuild and recorded by rpm in an rpmdb.sqlite.
#[test]
fn rpm_sqlite_database_made_by_rpm() {
    have("rpmbuild", "rpm");
    let d = Dir::new();
    let spec = |name: &str, version: &str, release: &str, vendor: &str| {
        format!(
            "Name: {name}\nVersion: {version}\nRelease: {release}\nSummary: test\nLicense: MIT\n\
             Vendor: {vendor}\nBuildArch: noarch\n%description\ntest\n%files\n"
        )
    };
    let top = d.join("rpmbuild");
    let specs = [
        (
            "klnagent64",
            spec("klnagent64", "15.1.0", "20748", "AO Kaspersky Lab"),
        ),
        (
            "bash-completion",
            spec("bash-completion", "2.11", "5.el9", "Example Linux"),
        ),
        // Found through the VENDOR tag alone (the policy's publisher pattern).
        (
            "kl-helper",
            spec("kl-helper", "1.0", "1", "AO Kaspersky Lab"),
        ),
    ];
    let topdef = format!("_topdir {}", top.display());
    for (name, text) in &specs {
        let path = d.write(&format!("{name}.spec"), text);
        tool(
            "rpmbuild",
            "rpm",
            &["--quiet", "--define", &topdef, "-bb", s(&path)],
        );
    }
    let root = d.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let base = [
        "--root",
        s(&root),
        "--dbpath",
        "/var/lib/rpm",
        "--define",
        "_db_backend sqlite",
    ];
    let mut init = base.to_vec();
    init.push("--initdb");
    tool("rpm", "rpm", &init);
    let rpms: Vec<String> = std::fs::read_dir(top.join("RPMS/noarch"))
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .collect();
    eqnice!(3, rpms.len());
    let mut install = base.to_vec();
    install.extend(["-i", "--justdb", "--nodeps", "--noscripts", "--notriggers"]);
    install.extend(rpms.iter().map(String::as_str));
    tool("rpm", "rpm", &install);
    assert!(root.join("var/lib/rpm/rpmdb.sqlite").is_file());

    let r = inventory_csv(&root);
    eqnice!(
        vec![
            "rpm,kl-helper,1.0-1,high,found,us-sales,10",
            "rpm,klnagent64,15.1.0-20748,high,found,us-sales,10",
        ],
        findings(&r.stdout)
    );
    eqnice!(1, r.code);
}

#[test]
fn live_processes_match_a_policy() {
    let d = Dir::new();
    let policy = d.write(
        "policy.toml",
        "name = \"test\"\n[[vendors]]\nid = \"sleepy\"\nname = \"Sleepy\"\n\
         [vendors.linux]\nprocesses = [{ value = \"sleep\", confidence = \"low\" }]\n",
    );
    let mut child = Command::new("sleep").arg("30").spawn().expect("sleep");
    let r = bolwerk(&[
        "inventory",
        "--policy",
        s(&policy),
        "--today",
        "2025-01-01",
        "--json",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "process")
        .unwrap_or_else(|| panic!("no process found: {}", r.stdout));
    let pid = child.id().to_string();
    assert!(f["observed"].as_str().unwrap().contains(&pid), "{f}");
    eqnice!("possible", f["status"]);
    eqnice!(serde_json::Value::Null, f["phase"]);
    eqnice!(true, v["live"]);
    eqnice!(1, r.code);
}

#[test]
fn errors_exit_2() {
    let d = Dir::new();
    let bad = d.write(
        "bad.toml",
        "[[phases]]\nname = \"a\"\ndeadline = \"soon\"\n",
    );
    let r = bolwerk(&["inventory", "--policy", s(&bad), "--root", s(d.path())]);
    eqnice!(2, r.code);
    assert!(
        r.stderr.contains("bad.toml") && r.stderr.contains("not a date"),
        "{}",
        r.stderr
    );
    let r = bolwerk(&["inventory", "merge", s(&d.join("missing.json"))]);
    eqnice!(2, r.code);
    // A damaged rpm database is reported, and the other sources still run.
    let root = d.join("root");
    std::fs::create_dir_all(root.join("opt/kaspersky/kesl")).unwrap();
    d.write("root/var/lib/rpm/rpmdb.sqlite", "not a database");
    let r = bolwerk(&["inventory", "--root", s(&root), "--today", "2025-01-01"]);
    assert!(r.stdout.contains("ERROR: rpm: "), "{}", r.stdout);
    assert!(r.stdout.contains("/opt/kaspersky/kesl/"), "{}", r.stdout);
    eqnice!(1, r.code);
}

/// Three hosts: one overdue, one not yet, one clean.
fn fleet(d: &Dir) -> Vec<String> {
    let mut reports = Vec::new();
    for (host, scope, files) in [
        (
            "ws-02",
            "us-updates",
            &["opt/kaspersky/kesl/bin/kesl-control"][..],
        ),
        (
            "srv-01",
            "us-sales",
            &["opt/kaspersky/klnagent64/bin/klnagchk"][..],
        ),
        ("ws-03", "us-sales", &[][..]),
    ] {
        let root = d.join(host);
        std::fs::create_dir_all(&root).unwrap();
        for f in files {
            d.write(&format!("{host}/{f}"), "x");
        }
        let r = bolwerk(&[
            "inventory",
            "--root",
            s(&root),
            "--host",
            host,
            "--scope",
            scope,
            "--today",
            "2024-07-01",
            "--json",
        ]);
        let out = d.write(&format!("{host}.json"), &r.stdout);
        reports.push(out.to_str().unwrap().to_string());
    }
    reports
}

#[test]
fn merge_puts_overdue_hosts_first() {
    let d = Dir::new();
    let reports = fleet(&d);
    let mut args = vec!["inventory", "merge", "--today", "2024-08-01"];
    args.extend(reports.iter().map(String::as_str));
    let r = bolwerk(&args);
    eqnice!(1, r.code);
    assert!(
        r.stdout
            .starts_with("Fleet summary, 2024-08-01: 3 host(s), 2 with findings, 1 clean"),
        "{}",
        r.stdout
    );
    let hosts: Vec<&str> = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("HOST"))
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    eqnice!(vec!["srv-01", "ws-02"], hosts);

    args.push("--csv");
    let r = bolwerk(&args);
    let lines: Vec<&str> = r.stdout.lines().collect();
    eqnice!(
        vec![
            "host,vendor,phase,deadline,days_left,overdue,findings,possible_only,products",
            "srv-01,Kaspersky,us-sales,2024-07-20,-12,true,1,false,Kaspersky Security Center Network Agent",
            "ws-02,Kaspersky,us-updates,2024-09-29,59,false,1,false,Kaspersky Endpoint Security for Linux",
        ],
        lines
    );
}

#[test]
fn html_summary_shows_the_overdue_hosts_in_chromium() {
    let d = Dir::new();
    let reports = fleet(&d);
    let mut args = vec!["inventory", "merge", "--html", "--today", "2024-08-01"];
    args.extend(reports.iter().map(String::as_str));
    let r = bolwerk(&args);
    eqnice!(1, r.code);
    assert!(
        !r.stdout.contains("http"),
        "the page must load nothing: {}",
        r.stdout
    );
    let page = d.write("fleet.html", &r.stdout);
    have("chromium", "chromium");
    let url = format!("file://{}", page.display());
    let profile = format!("--user-data-dir={}", d.join("profile").display());
    let dom = run(
        Command::new("timeout"),
        Path::new("."),
        &[
            "120",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            &profile,
            "--dump-dom",
            &url,
        ],
        None,
    );
    eqnice!(0, dom.code);
    // What the browser parsed: the overdue section lists srv-01 alone.
    let overdue = dom
        .stdout
        .split("<h2 id=\"overdue\">")
        .nth(1)
        .and_then(|s| s.split("<h2>").next())
        .unwrap_or_else(|| panic!("no overdue section: {}", dom.stdout));
    assert!(overdue.starts_with("Overdue hosts (1)"), "{overdue}");
    assert!(overdue.contains("<td>srv-01</td>"), "{overdue}");
    assert!(!overdue.contains("ws-02"), "{overdue}");
    assert!(dom.stdout.contains("<td>ws-02</td>"), "{}", dom.stdout);
}

/// Write an Info.plist with Python's plistlib, as XML or binary.
fn info_plist(path: &Path, fields: &[(&str, &str)], binary: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let dict: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k:?}: {v:?}"))
        .collect();
    let fmt = if binary { "FMT_BINARY" } else { "FMT_XML" };
    let code = format!(
        "import plistlib\nwith open({:?}, 'wb') as f:\n    plistlib.dump({{{}}}, f, fmt=plistlib.{fmt})\n",
        s(path),
        dict.join(", ")
    );
    tool("python3", "python3", &["-c", &code]);
}

#[test]
fn macos_bundles_by_bundle_id_and_path() {
    have("python3", "python3");
    let d = Dir::new();
    let root = d.join("mac");
    let kis = root.join("Applications/Kaspersky Internet Security.app/Contents/Info.plist");
    info_plist(
        &kis,
        &[
            ("CFBundleIdentifier", "com.kaspersky.kis"),
            ("CFBundleName", "Kaspersky Internet Security"),
            ("CFBundleShortVersionString", "21.3"),
        ],
        true,
    );
    let helper = root.join("Applications/Utilities/Kl Helper.app/Contents/Info.plist");
    info_plist(
        &helper,
        &[
            ("CFBundleIdentifier", "com.kaspersky.helper"),
            ("CFBundleVersion", "7"),
        ],
        false,
    );
    let safari = root.join("Applications/Safari.app/Contents/Info.plist");
    info_plist(
        &safari,
        &[("CFBundleIdentifier", "com.apple.Safari")],
        false,
    );
    let r = inventory_csv(&root);
    eqnice!(
        vec![
            "macos-bundle,/Applications/Kaspersky Internet Security.app (com.kaspersky.kis),21.3,high,found,us-sales,10",
            "macos-bundle,/Applications/Utilities/Kl Helper.app (com.kaspersky.helper),7,high,found,us-sales,10",
            "path,/Applications/Kaspersky Internet Security.app,,high,found,us-sales,10",
        ],
        findings(&r.stdout)
    );
    assert!(
        r.stdout.contains(",Kaspersky Internet Security,21.3,"),
        "{}",
        r.stdout
    );
    eqnice!(1, r.code);
}

/// Registry hives written by hivex, shared with bolwerk-inventory's tests.
#[path = "../../../bolwerk-inventory/tests/support/regf.rs"]
mod regf;

/// `bolwerk inventory --json` of an offline root, on a fixed day.
fn inventory_json(root: &Path) -> Run {
    offline_inventory(root, "--json")
}

/// The errors of a `bolwerk inventory --json` report.
fn json_errors(stdout: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

/// `bolwerk inventory --json` findings as `source|observed|version|status`.
fn json_findings(stdout: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
    let mut rows: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}|{}|{}|{}",
                f["source"].as_str().unwrap(),
                f["observed"].as_str().unwrap(),
                f["version"].as_str().unwrap_or("-"),
                f["status"].as_str().unwrap()
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Per-user installs: each profile's `NTUSER.DAT` (names in any case) is
/// read for its Uninstall key; a damaged one is an error naming it while
/// the other profiles still report.
#[test]
fn windows_user_hives_made_by_hivex() {
    have("hivexregedit", "libwin-hivex-perl");
    let d = Dir::new();
    let root = d.join("win");
    let key = r"Software\Microsoft\Windows\CurrentVersion\Uninstall";
    let user = |display: &str, publisher: &str, sub: &str| {
        regf::reg_text(
            "HKEY_CURRENT_USER",
            &[(
                &format!(r"{key}\{sub}"),
                &[
                    ("DisplayName", display),
                    ("DisplayVersion", "21.3.10.391"),
                    ("Publisher", publisher),
                ],
            )],
        )
    };
    regf::make_hive(
        &root.join("users/alice/ntuser.dat"),
        "HKEY_CURRENT_USER",
        &user("Kaspersky Free", "AO Kaspersky Lab", "KasperskyFree"),
    );
    regf::make_hive(
        &root.join("users/bob/NTUSER.DAT"),
        "HKEY_CURRENT_USER",
        &user("Notepad++", "Notepad++ Team", "Notepad++"),
    );
    std::fs::create_dir_all(root.join("users/Public")).unwrap();
    let r = inventory_json(&root);
    let alice = format!(r"windows-uninstall|HKU\alice\{key}\KasperskyFree|21.3.10.391|found");
    eqnice!(vec![alice.clone()], json_findings(&r.stdout));
    eqnice!(1, r.code);

    let bob = root.join("users/bob/NTUSER.DAT");
    std::fs::write(&bob, b"regf, but not a hive").unwrap();
    let r = inventory_json(&root);
    let errors = json_errors(&r.stdout);
    eqnice!(1, errors.len());
    let e = &errors[0];
    assert!(
        e.starts_with("windows-uninstall: ") && e.contains(s(&bob)),
        "{e}"
    );
    eqnice!(vec![alice], json_findings(&r.stdout));
}

/// A mounted Windows volume (names in any case) whose SOFTWARE and SYSTEM
/// hives hivexregedit wrote: the Uninstall entry and the service are
/// found; a damaged SOFTWARE hive is an error naming it, while SYSTEM
/// still reports.
#[test]
fn windows_volume_hives_made_by_hivex() {
    have("hivexregedit", "libwin-hivex-perl");
    let d = Dir::new();
    let root = d.join("win");
    let config = root.join("windows/System32/Config");
    let kes = r"WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{7A4192A1-84C4-4E90-A31B-B4847CA8E23A}";
    let zip = r"Microsoft\Windows\CurrentVersion\Uninstall\7-Zip";
    let software = regf::reg_text(
        r"HKEY_LOCAL_MACHINE\SOFTWARE",
        &[
            (
                kes,
                &[
                    ("DisplayName", "Kaspersky Endpoint Security for Windows"),
                    ("DisplayVersion", "12.3.0.493"),
                    ("Publisher", "AO Kaspersky Lab"),
                ],
            ),
            (
                zip,
                &[
                    ("DisplayName", "7-Zip 23.01 (x64)"),
                    ("Publisher", "Igor Pavlov"),
                ],
            ),
        ],
    );
    regf::make_hive(
        &config.join("SOFTWARE"),
        r"HKEY_LOCAL_MACHINE\SOFTWARE",
        &software,
    );
    let system = regf::reg_text(
        r"HKEY_LOCAL_MACHINE\SYSTEM",
        &[
            ("Select", &[("Current", "dword:00000001")]),
            (
                r"ControlSet001\Services\AVP21.3",
                &[(
                    "ImagePath",
                    r#"expand:"C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe" -r"#,
                )],
            ),
            (
                r"ControlSet001\Services\Tcpip",
                &[("ImagePath", r"expand:System32\drivers\tcpip.sys")],
            ),
        ],
    );
    regf::make_hive(
        &config.join("SYSTEM"),
        r"HKEY_LOCAL_MACHINE\SYSTEM",
        &system,
    );

    let r = inventory_json(&root);
    eqnice!(
        vec![
            r#"windows-service|HKLM\SYSTEM\ControlSet001\Services\AVP21.3 ("C:\Program Files (x86)\Kaspersky Lab\KES.12.3.0\avp.exe" -r)|-|found"#.to_string(),
            format!(r"windows-uninstall|HKLM\SOFTWARE\{kes}|12.3.0.493|found"),
        ],
        json_findings(&r.stdout)
    );
    eqnice!(1, r.code);

    std::fs::write(config.join("SOFTWARE"), b"regf, but not a hive").unwrap();
    let r = inventory_json(&root);
    let errors = json_errors(&r.stdout);
    eqnice!(1, errors.len());
    let e = &errors[0];
    assert!(
        e.starts_with("windows-uninstall: ") && e.contains(s(&config.join("SOFTWARE"))),
        "{e}"
    );
    eqnice!(1, json_findings(&r.stdout).len());
    eqnice!(1, r.code);
}

/// An Android data partition: the package list names the Kaspersky app.
#[test]
fn android_packages_list() {
    let d = Dir::new();
    let root = d.join("phone");
    d.write(
        "phone/data/system/packages.xml",
        "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<packages>\n    \
         <version sdkVersion=\"30\" databaseVersion=\"3\" />\n    \
         <package name=\"com.kaspersky.security.cloud\" codePath=\"/data/app/~~q0Ab==/com.kaspersky.security.cloud-Hh3N==\" version=\"4020\" userId=\"10212\" />\n    \
         <package name=\"org.mozilla.firefox\" codePath=\"/data/app/~~x==/org.mozilla.firefox-y==\" version=\"2015\" userId=\"10213\" />\n</packages>\n",
    );
    let r = bolwerk(&[
        "inventory",
        "--root",
        s(&root),
        "--today",
        "2024-07-10",
        "--json",
    ]);
    eqnice!(
        vec!["android-packages|com.kaspersky.security.cloud|4020|found".to_string()],
        json_findings(&r.stdout)
    );
    eqnice!(1, r.code);
}
