//! bolwerk's STIX pattern parser against OASIS's reference parser
//! (`stix2-patterns` from PyPI, installed by `.ci/run`), on every pattern
//! of the real feeds and on hand-made valid and invalid ones:
//!
//! - a pattern bolwerk accepts is valid for OASIS, with the same
//!   comparisons (object path, value after escapes);
//! - a pattern OASIS refuses, bolwerk refuses;
//! - a valid pattern bolwerk refuses uses what a file scan cannot honour
//!   (an operator other than `=`, `FOLLOWEDBY`, a qualifier, a typed
//!   literal), never plain equalities.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use bolwerk_indicators::pattern;

const ORACLE: &str = r#"
import json, re, sys
from stix2patterns.v21.pattern import Pattern
out = []
for p in json.load(sys.stdin):
    try:
        data = Pattern(p).inspect()
    except Exception as e:
        out.append({"valid": False, "error": str(e)})
        continue
    cmps, plain = [], True
    for ty, lst in data.comparisons.items():
        for path, op, val in lst:
            steps = ".".join(str(s) for s in path)
            if isinstance(val, str) and val.startswith("'") and val.endswith("'"):
                val = re.sub(r"\\(.)", r"\1", val[1:-1])
            elif not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?|true|false", str(val)):
                plain = False
            if op != "=":
                plain = False
            cmps.append([ty + ":" + steps, str(val)])
    plain = plain and not data.qualifiers and "FOLLOWEDBY" not in data.observation_ops
    out.append({"valid": True, "plain": plain, "comparisons": cmps})
print(json.dumps(out))
"#;

/// Valid STIX 2.1 patterns, several of which bolwerk refuses on purpose.
const VALID: &[&str] = &[
    "[file:hashes.'SHA-256' = 'abc']",
    "[file:hashes.MD5 = 'ab' OR file:hashes.'SHA-1' = 'cd']",
    r"[file:name = 'it\'s']",
    r"[file:path = 'C:\\Windows\\x = y']",
    "[url:value = 'http://x.com/?a=1&b=[2]']",
    "[file:name = 'a'] AND [file:name = 'b']",
    "([file:name = 'a'] OR [domain-name:value = 'b.com']) AND [email-addr:value = 'x@y.z']",
    "[(file:name = 'a' OR file:name = 'b') AND file:size = 3]",
    "[file:size = -1 AND x-y:z = 1.25 AND x-y:w = true]",
    "[process:name = 'x'] OR ([app:id = 'y'] AND [ipv4-addr:value = '10.0.0.1'])",
    "[file:name != 'a']",
    "[file:name MATCHES '^a']",
    r"[x-signature-base:filename_regex MATCHES '\\\\x\\.exe']",
    "[file:name = 'a'] FOLLOWEDBY [file:name = 'b']",
    "[file:name = 'a'] WITHIN 5 SECONDS",
    "[file:name = 'a'] REPEATS 2 TIMES",
    "[file:name LIKE 'a%']",
    "[file:created = t'2020-01-01T00:00:00Z']",
    "[artifact:payload_bin = b'AAAA']",
    "[file:name IN ('a', 'b')]",
    "[file:name NOT = 'a']",
];

/// Patterns OASIS refuses.
const INVALID: &[&str] = &[
    "",
    "[file:name = 'a'",
    "file:name = 'a'",
    r"[file:name = 'a\n']",
    "[]",
    "[file:name]",
    "[file:name = ]",
    "[file name = 'a']",
    "[file:name = 'a' AND]",
    "[file:name = 'a']]",
    "[file:name = 'a' OR OR file:name = 'b']",
    "[file:name = abc]",
    "[file:name = 'a'] AND",
    "([file:name = 'a']",
    "[file:name = 'a'] [file:name = 'b']",
];

fn corpus_patterns() -> Vec<String> {
    let root =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
            .join("../../../shared/corpora/indicators");
    let mut out = Vec::new();
    for dir in ["amnesty", "mvt-indicators"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "stix2") {
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            for o in v["objects"].as_array().unwrap() {
                if let Some(pat) = o["pattern"].as_str() {
                    out.push(pat.to_string());
                }
            }
        }
    }
    assert!(out.len() > 5000, "{} patterns", out.len());
    out
}

fn oracle(patterns: &[String]) -> Vec<serde_json::Value> {
    let mut child = Command::new("python3")
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let input = serde_json::to_vec(patterns).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the OASIS pattern parser is missing: python3 -m pip install stix2-patterns"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An OASIS object path, normalised as bolwerk normalises paths.
fn normalise(path: &str) -> String {
    let (ty, steps) = path.split_once(':').unwrap();
    let steps: Vec<String> = steps
        .split('.')
        .map(|s| s.to_ascii_lowercase().replace('-', ""))
        .collect();
    format!("{}:{}", ty.to_ascii_lowercase(), steps.join("."))
}

#[test]
fn parser_agrees_with_the_oasis_reference() {
    let mut patterns = corpus_patterns();
    let (n_corpus, n_valid) = (patterns.len(), VALID.len());
    patterns.extend(VALID.iter().map(|s| s.to_string()));
    patterns.extend(INVALID.iter().map(|s| s.to_string()));
    let verdicts = oracle(&patterns);
    assert_eq!(verdicts.len(), patterns.len());
    for (i, (p, v)) in patterns.iter().zip(&verdicts).enumerate() {
        let ours = pattern::parse(p);
        let valid = v["valid"].as_bool().unwrap();
        if i < n_corpus + n_valid {
            assert!(valid, "OASIS refuses a pattern listed as valid: {p}: {v}");
        } else {
            assert!(!valid, "OASIS accepts a pattern listed as invalid: {p}");
        }
        match ours {
            Ok(parsed) => {
                assert!(valid, "bolwerk accepts what OASIS refuses: {p}: {v}");
                let mine: BTreeSet<(String, String)> = parsed
                    .any
                    .iter()
                    .flatten()
                    .map(|c| (c.path.clone(), c.value.clone()))
                    .collect();
                let theirs: BTreeSet<(String, String)> = v["comparisons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| {
                        let path = normalise(c[0].as_str().unwrap());
                        (path, c[1].as_str().unwrap().to_string())
                    })
                    .collect();
                assert_eq!(mine, theirs, "{p}");
            }
            Err(e) => assert!(
                !valid || !v["plain"].as_bool().unwrap(),
                "bolwerk refuses plain equalities OASIS accepts: {p}: {e}"
            ),
        }
    }
}
