//! Finding hosts, URLs, e-mail and IPv4 addresses in text.
//!
//! Every run of host characters with at least one dot
//! (`[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+`) is a candidate host. MVT's domain
//! semantics decide a match: an indicator matches the full host, or the
//! host's registered domain under the public-suffix list (the `psl` crate,
//! which compiles the list in). So `evil.com` flags `a.evil.com` (whose
//! registered domain it is) but never `notevil.com` or `evil.com.au`, and
//! `a.evil.com` does not flag `b.a.evil.com`. A candidate is also looked up
//! as an IPv4 address, and when an `@` and a local part come before it, as
//! an e-mail address. URLs are found as substrings (ASCII case folded)
//! that end where the URL in the text ends.
//!
//! Bounded: at most [`MAX_TEXT`] bytes of an object are read, and a
//! candidate longer than a DNS name (253 bytes) is skipped.

use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::feed::Key;
use crate::matcher::Evidence;
use crate::set::Indicators;

/// The most bytes of one object searched for text indicators.
pub const MAX_TEXT: usize = 64 << 20;
/// How much of an object decides whether it is text.
const PROBE: usize = 8192;
/// The longest DNS name.
const MAX_HOST: usize = 253;

fn host_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?-u)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+").expect("a valid regex")
    })
}

/// Whether an object is text: no NUL byte in its first 8 KiB, and few
/// control characters.
pub fn looks_like_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(PROBE)];
    if head.is_empty() || memchr::memchr(0, head).is_some() {
        return false;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
        .count();
    control * 20 < head.len()
}

/// The part of an object that is searched.
pub fn capped(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_TEXT)]
}

/// The 1-based line of a byte offset.
pub fn line_of(data: &[u8], offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &data[..offset.min(data.len())]).count() + 1
}

/// Record every text indicator found in `text`; `location` names the place
/// of a byte offset.
pub(crate) fn scan(
    ind: &Indicators,
    text: &[u8],
    ev: &mut Evidence,
    location: &dyn Fn(usize) -> String,
) {
    let (domains, emails, ips) = (
        ind.has(Key::Domain),
        ind.has(Key::Email),
        ind.has(Key::Ipv4),
    );
    if domains || emails || ips {
        for m in host_regex().find_iter(text) {
            if m.len() > MAX_HOST {
                continue;
            }
            let host = String::from_utf8_lossy(m.as_bytes()).to_ascii_lowercase();
            let at = || location(m.start());
            if domains {
                host_into(ind, &host, ev, &at);
            }
            if ips {
                ev.add_all(ind.lookup(Key::Ipv4, &host), &host, &at);
            }
            if emails {
                if let Some(addr) = email_at(text, m.start(), &host) {
                    ev.add_all(ind.lookup(Key::Email, &addr), &addr, &at);
                }
            }
        }
    }
    if let Some(u) = &ind.urls {
        for hit in u.ac.find_overlapping_iter(text) {
            if text.get(hit.end()).is_some_and(|&b| url_byte(b)) {
                continue;
            }
            let seen = String::from_utf8_lossy(&text[hit.start()..hit.end()]);
            ev.add_all(&u.refs[hit.pattern().as_usize()], &seen, &|| {
                location(hit.start())
            });
        }
    }
}

/// MVT's rule: the full host, then its registered domain.
fn host_into(ind: &Indicators, host: &str, ev: &mut Evidence, at: &dyn Fn() -> String) {
    ev.add_all(ind.lookup(Key::Domain, host), host, at);
    if let Some(reg) = psl::domain_str(host).filter(|r| r.len() < host.len()) {
        ev.add_all(ind.lookup(Key::Domain, reg), host, at);
    }
}

/// The e-mail address whose domain starts at `start`, if an `@` and a
/// local part come before it.
fn email_at(text: &[u8], start: usize, host: &str) -> Option<String> {
    if start < 2 || text[start - 1] != b'@' {
        return None;
    }
    let mut i = start - 1;
    while i > 0 && local_byte(text[i - 1]) && start - i < 65 {
        i -= 1;
    }
    if i == start - 1 {
        return None;
    }
    let local = String::from_utf8_lossy(&text[i..start - 1]).to_ascii_lowercase();
    Some(format!("{local}@{host}"))
}

fn local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._%+-".contains(&b)
}

/// Bytes that continue a URL: a URL indicator must not end inside a
/// longer URL.
fn url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%/?#=&+@:".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_or_not() {
        assert!(looks_like_text(b"hello\nworld\n"));
        assert!(!looks_like_text(b"MZ\x90\x00\x03"));
        assert!(!looks_like_text(b""));
        assert!(!looks_like_text(&[1u8; 100]));
    }

    #[test]
    fn lines() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }

    #[test]
    fn emails() {
        let t = b"mail bob.smith@evil.com now";
        assert_eq!(
            email_at(t, 15, "evil.com").as_deref(),
            Some("bob.smith@evil.com")
        );
        assert_eq!(email_at(b"@evil.com", 1, "evil.com"), None);
        assert_eq!(email_at(b"x evil.com", 2, "evil.com"), None);
    }
}
