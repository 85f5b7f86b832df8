//! Case-insensitive `*` wildcards, as policies write display names and
//! paths (`Kaspersky Endpoint Security*`, `/Applications/Kaspersky*.app`).

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// characters (also none). Letters are compared case-insensitively.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    matches_chars(&p, &t)
}

/// Greedy matching with one backtrack point: linear for one `*`, and
/// never exponential (each star only moves forward).
fn matches_chars(p: &[char], t: &[char]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        let cases = [
            (
                "Kaspersky Endpoint Security*",
                "Kaspersky Endpoint Security for Windows",
                true,
            ),
            (
                "Kaspersky Endpoint Security*",
                "kaspersky endpoint security",
                true,
            ),
            (
                "Kaspersky Endpoint Security*",
                "Kaspersky Security Center",
                false,
            ),
            (
                "Kaspersky AES Encryption Module",
                "Kaspersky AES Encryption Module",
                true,
            ),
            (
                "Kaspersky AES Encryption Module",
                "Kaspersky AES Encryption Module 2",
                false,
            ),
            ("Kaspersky*.app", "Kaspersky Internet Security.app", true),
            ("Kaspersky*.app", "Kaspersky.app.bak", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "ba", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(matches(p, t), want, "{p:?} vs {t:?}");
        }
    }
}
