use super::*;

#[test]
fn builtin_policy_keeps_the_drafts_identifiers_and_confidence() {
    let p = Policy::builtin();
    let k = &p.vendors[0];
    assert_eq!(k.id, "kaspersky");
    let pkg = k.find(Kind::Package, "klnagent64").unwrap();
    assert_eq!(pkg.confidence, Confidence::High);
    assert_eq!(
        k.find(Kind::Package, "ksc64").unwrap().confidence,
        Confidence::Medium
    );
    assert!(k.find(Kind::Package, "kesl-gui").is_some());
    assert!(k.find(Kind::Package, "kes").is_none());
    let svc = k.find(Kind::WindowsService, "klnagent").unwrap();
    assert_eq!(svc.confidence, Confidence::Medium);
    assert!(k
        .find(
            Kind::UninstallName,
            "Kaspersky Endpoint Security for Windows"
        )
        .is_some());
    assert!(k.find(Kind::Publisher, "AO Kaspersky Lab").is_some());
    assert!(k.find(Kind::Publisher, "Microsoft Corporation").is_none());
    assert!(k.find(Kind::TeamId, "2Y8XE5CQ94").is_some());
    assert!(k
        .find(Kind::AndroidPackagePrefix, "com.kaspersky.security")
        .is_some());
    assert!(k
        .find(Kind::AndroidPackagePrefix, "com.kaspersky.kaspresso")
        .is_none());
    let kms = k.find(Kind::AndroidPackagePrefix, "com.kms.free").unwrap();
    assert_eq!(kms.confidence, Confidence::High);
    assert!(k
        .find(Kind::AndroidPackagePrefix, "com.kmsx.other")
        .is_none());
    assert!(!k.sources.is_empty());
}

#[test]
fn phases_earliest_deadline_unless_a_scope_is_asked() {
    let p = Policy::builtin();
    assert_eq!(p.phase_for("kaspersky", None).unwrap().name, "us-sales");
    let nl = p.phase_for("kaspersky", Some("vital")).unwrap();
    assert_eq!(nl.name, "nl-vital-sectors");
    assert_eq!(
        p.phase_for("kaspersky", Some("us-updates")).unwrap().name,
        "us-updates"
    );
    assert!(p.phase_for("kaspersky", Some("nowhere")).is_none());
    assert!(p.phase_for("other", None).is_none());
}

#[test]
fn dates_as_toml_dates_or_strings() {
    let text = r#"
[[phases]]
name = "a"
deadline = 2025-06-30
[[phases]]
name = "b"
deadline = "2026-01-31"
"#;
    let p = Policy::from_toml(text).unwrap();
    assert_eq!(p.phases[0].deadline, NaiveDate::from_ymd_opt(2025, 6, 30));
    assert_eq!(p.phases[1].deadline, NaiveDate::from_ymd_opt(2026, 1, 31));
}

#[test]
fn bad_policies_say_why() {
    let cases = [
        (
            "[[phases]]\nname = \"a\"\ndeadline = \"soon\"\n",
            "not a date",
        ),
        (
            "[[vendors]]\nid = \"x\"\n[vendors.windows]\npublishers = [\"(\"]\n",
            "publisher",
        ),
        (
            "[[vendors]]\nid = \"x\"\n[vendors.linux]\npackages = [\"\"]\n",
            "empty",
        ),
        (
            "[[phases]]\nname = \"a\"\nvendors = [\"nobody\"]\n",
            "nobody",
        ),
        ("[[vendors]]\nid = \"x\"\ncolour = 1\n", "colour"),
    ];
    for (text, want) in cases {
        let e = Policy::from_toml(text).unwrap_err().to_string();
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn process_names_cut_at_15_bytes_still_match() {
    let text = "[[vendors]]\nid = \"x\"\n[vendors.linux]\nprocesses = [\"averyverylongdaemon\"]\n";
    let p = Policy::from_toml(text).unwrap();
    let v = &p.vendors[0];
    assert!(v.find(Kind::Process, "averyverylongda").is_some());
    assert!(v.find(Kind::Process, "averyverylong").is_none());
}
