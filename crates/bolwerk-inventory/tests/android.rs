//! Offline Android roots: `data/system/packages.xml` as the package
//! manager writes it (text XML, and the same list as Android Binary XML),
//! and app directories under `data/app`.

mod support;

use bolwerk_inventory::sources::parse_packages;
use bolwerk_inventory::HostReport;
use support::abx::xml_to_abx;

/// An Android 11 `packages.xml` as `Settings.writeLPr` lays it out, with
/// two Kaspersky apps, Kaspersky's UI-test framework's sample app (which
/// the policy excludes) and ordinary packages.
const PACKAGES_XML: &str = r#"<?xml version='1.0' encoding='utf-8' standalone='yes' ?>
<packages>
    <version sdkVersion="30" databaseVersion="3" fingerprint="google/redfin/redfin:11/RQ3A.211001.001/7641976:user/release-keys" />
    <version volumeUuid="primary_physical" sdkVersion="30" databaseVersion="3" fingerprint="google/redfin/redfin:11/RQ3A.211001.001/7641976:user/release-keys" />
    <permission-trees />
    <permissions>
        <item name="android.permission.INTERNET" package="android" protection="0" />
        <item name="com.kaspersky.security.cloud.permission.C2D_MESSAGE" package="com.kaspersky.security.cloud" protection="2" />
    </permissions>
    <package name="com.android.chrome" codePath="/data/app/~~Xk2pUOMrWaqtYr6NK9yVQA==/com.android.chrome-7m8GDkbmwSBxtEPlXwVKhQ==" nativeLibraryPath="/data/app/~~Xk2pUOMrWaqtYr6NK9yVQA==/com.android.chrome-7m8GDkbmwSBxtEPlXwVKhQ==/lib" primaryCpuAbi="arm64-v8a" publicFlags="944291524" privateFlags="-1946152960" ft="17c4d2b1f10" it="1700ee4dc00" ut="17c4d2b2b20" version="463709333" userId="10106" installer="com.android.vending">
        <sigs count="1" schemeVersion="3">
            <cert index="0" key="308204433082032ba003020102020900c2e08746644a308d" />
        </sigs>
        <perms>
            <item name="android.permission.INTERNET" granted="true" flags="0" />
        </perms>
        <proper-signing-keyset identifier="1" />
    </package>
    <package name="com.kaspersky.security.cloud" codePath="/data/app/~~q0Ab4n9W8YVtL1yk2sGCzw==/com.kaspersky.security.cloud-Hh3N_7c1W0w5yGd1e4ZoYQ==" primaryCpuAbi="arm64-v8a" publicFlags="810073668" privateFlags="0" ft="18b2a4c9d28" it="18b2a4c9e10" ut="18b2a4c9e10" version="4020" userId="10212" installer="com.android.vending">
        <sigs count="1" schemeVersion="2">
            <cert index="5" key="30820252308201bba00302010202044f9f1c1a" />
        </sigs>
        <proper-signing-keyset identifier="6" />
    </package>
    <package name="com.kaspersky.secure.connection" codePath="/data/app/~~7Qw2mFzV9qKp0xY3bL8cRg==/com.kaspersky.secure.connection-Vb6p2Q3hR4s5T6u7W8x9yA==" primaryCpuAbi="arm64-v8a" publicFlags="810073668" privateFlags="0" ft="18b2a4ca1f8" it="18b2a4ca2e0" ut="18b2a4ca2e0" version="11950" userId="10213" installer="com.android.vending">
        <sigs count="1" schemeVersion="2">
            <cert index="5" />
        </sigs>
    </package>
    <package name="com.kaspersky.kaspresso.sample" codePath="/data/app/~~d4Kx1Rz8Ym2Wq6Ns0Lp9Tg==/com.kaspersky.kaspresso.sample-Jk3Lm4Nn5Oo6Pp7Qq8Rr9A==" publicFlags="810073668" privateFlags="0" ft="18b2a4ca5c8" it="18b2a4ca6b0" ut="18b2a4ca6b0" version="1" userId="10214" />
    <updated-package name="com.google.android.gms" codePath="/system/priv-app/PrebuiltGmsCore" ft="17c4d2b2f08" it="17c4d2b2f08" ut="17c4d2b2f08" version="213916046" sharedUserId="10145" />
    <shared-user name="android.uid.system" userId="1000">
        <sigs count="1" schemeVersion="3">
            <cert index="2" />
        </sigs>
    </shared-user>
</packages>
"#;

/// Each finding as `source | observed | identifier | version | confidence`.
fn rows(r: &HostReport) -> Vec<String> {
    let mut out: Vec<String> = r
        .findings
        .iter()
        .map(|e| {
            let f = &e.finding;
            format!(
                "{} | {} | {} | {} | {}",
                f.source,
                f.observed,
                f.identifier,
                f.version.as_deref().unwrap_or("-"),
                f.confidence
            )
        })
        .collect();
    out.sort();
    out
}

const EXPECTED: [&str; 2] = [
    "android-packages | com.kaspersky.secure.connection | com.kaspersky. | 11950 | medium",
    "android-packages | com.kaspersky.security.cloud | com.kaspersky. | 4020 | medium",
];

fn root_with_list(list: &[u8], name: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data/system");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), list).unwrap();
    root
}

#[test]
fn text_packages_xml() {
    let root = root_with_list(PACKAGES_XML.as_bytes(), "packages.xml");
    let r = support::run(root.path(), "phone1");
    assert_eq!(r.errors, Vec::<String>::new());
    assert_eq!(rows(&r), EXPECTED);
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn binary_packages_xml_reads_as_the_text() {
    let abx = xml_to_abx(PACKAGES_XML);
    assert!(abx.starts_with(b"ABX\0"));
    assert_eq!(
        parse_packages(&abx).unwrap(),
        parse_packages(PACKAGES_XML.as_bytes()).unwrap()
    );
    let names: Vec<String> = parse_packages(&abx)
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        names,
        [
            "com.android.chrome",
            "com.kaspersky.security.cloud",
            "com.kaspersky.secure.connection",
            "com.kaspersky.kaspresso.sample"
        ]
    );
    let root = root_with_list(&abx, "packages.xml");
    let r = support::run(root.path(), "phone1");
    assert_eq!(r.errors, Vec::<String>::new());
    assert_eq!(rows(&r), EXPECTED);
}

#[test]
fn backup_list_is_preferred() {
    let root = root_with_list(PACKAGES_XML.as_bytes(), "packages-backup.xml");
    // A half-written main list, as Android leaves it when the backup exists.
    std::fs::write(
        root.path().join("data/system/packages.xml"),
        &PACKAGES_XML.as_bytes()[..300],
    )
    .unwrap();
    let r = support::run(root.path(), "phone1");
    assert_eq!(r.errors, Vec::<String>::new());
    assert_eq!(rows(&r), EXPECTED);
}

#[test]
fn app_directories_without_a_list() {
    let root = tempfile::tempdir().unwrap();
    let app = root.path().join("data/app");
    for d in [
        "~~q0Ab4n9W8YVtL1yk2sGCzw==/com.kaspersky.security.cloud-Hh3N_7c1W0w5yGd1e4ZoYQ==",
        "~~Xk2pUOMrWaqtYr6NK9yVQA==/com.android.chrome-7m8GDkbmwSBxtEPlXwVKhQ==",
        "com.kaspersky.who_calls-1",
        "com.kaspersky.kaspresso.sample-2",
        "vmdl1234.tmp",
    ] {
        std::fs::create_dir_all(app.join(d)).unwrap();
    }
    let r = support::run(root.path(), "phone1");
    assert_eq!(r.errors, Vec::<String>::new());
    assert_eq!(
        rows(&r),
        [
            "android-app | /data/app/com.kaspersky.who_calls-1 | com.kaspersky. | - | medium",
            "android-app | /data/app/~~q0Ab4n9W8YVtL1yk2sGCzw==/com.kaspersky.security.cloud-Hh3N_7c1W0w5yGd1e4ZoYQ== | com.kaspersky. | - | medium",
        ]
    );
}

#[test]
fn listed_apps_are_reported_once_and_unlisted_directories_too() {
    let root = root_with_list(PACKAGES_XML.as_bytes(), "packages.xml");
    let app = root.path().join("data/app");
    std::fs::create_dir_all(
        app.join(
            "~~q0Ab4n9W8YVtL1yk2sGCzw==/com.kaspersky.security.cloud-Hh3N_7c1W0w5yGd1e4ZoYQ==",
        ),
    )
    .unwrap();
    std::fs::create_dir_all(app.join("com.kaspersky.who_calls-1")).unwrap();
    let r = support::run(root.path(), "phone1");
    let mut expected = EXPECTED.to_vec();
    expected.insert(
        0,
        "android-app | /data/app/com.kaspersky.who_calls-1 | com.kaspersky. | - | medium",
    );
    assert_eq!(rows(&r), expected);
}

#[test]
fn clean_list_reports_nothing() {
    // The list without the two Kaspersky packages' elements.
    let mut text = String::new();
    let mut skip = false;
    for line in PACKAGES_XML.lines() {
        if line.contains(r#"<package name="com.kaspersky.secur"#) {
            skip = !line.trim_end().ends_with("/>");
            continue;
        }
        if skip {
            skip = !line.contains("</package>");
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    assert!(!text.contains(r#"<package name="com.kaspersky.secur"#));
    assert!(text.contains("com.kaspersky.kaspresso.sample"));
    for list in [text.clone().into_bytes(), xml_to_abx(&text)] {
        let root = root_with_list(&list, "packages.xml");
        let r = support::run(root.path(), "phone1");
        assert_eq!(r.errors, Vec::<String>::new());
        assert_eq!(rows(&r), Vec::<String>::new());
        assert_eq!(r.exit_code(), 0);
    }
}

#[test]
fn damaged_list_is_an_error_and_app_directories_still_report() {
    let root = root_with_list(b"ABX\0\x02\xff\xff", "packages.xml");
    std::fs::create_dir_all(root.path().join("data/app/com.kaspersky.who_calls-1")).unwrap();
    let r = support::run(root.path(), "phone1");
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.errors[0].starts_with("android: ") && r.errors[0].contains("data/system/packages.xml"),
        "{}",
        r.errors[0]
    );
    assert_eq!(
        rows(&r),
        ["android-app | /data/app/com.kaspersky.who_calls-1 | com.kaspersky. | - | medium"]
    );
}

/// Truncated and corrupted lists, text and binary: findings or an error,
/// never a crash.
#[test]
fn truncated_and_corrupted_lists_never_crash() {
    for list in [PACKAGES_XML.as_bytes().to_vec(), xml_to_abx(PACKAGES_XML)] {
        for cut in 0..list.len() {
            let _ = parse_packages(&list[..cut]);
        }
        for pos in 0..list.len() {
            for flip in [0xFF, 0x80, 0x01] {
                let mut v = list.clone();
                v[pos] ^= flip;
                let _ = parse_packages(&v);
            }
        }
    }
}
