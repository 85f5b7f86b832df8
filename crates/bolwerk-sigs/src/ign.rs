//! Ignore lists (`.ign`, `.ign2`): signatures to drop at load time.
//!
//! A line is `NAME`, or `NAME:MD5` where MD5 is the hash of the whole
//! signature line to drop (so only that exact version of a signature is
//! ignored), or the old three-field form `DB:LINE:NAME`. They apply to every
//! database loaded with them, whatever the order on disk.

use std::collections::HashMap;

use md5::{Digest, Md5};

use crate::hash::{split_fields, trim_cr};
use crate::Error;

/// Names of signatures to drop, each optionally pinned to one line's MD5.
#[derive(Clone, Debug, Default)]
pub struct IgnoreList {
    by_name: HashMap<String, Vec<Option<[u8; 16]>>>,
}

impl IgnoreList {
    /// Parse one line of an `.ign`/`.ign2` file.
    pub fn parse_line(&mut self, line: &[u8]) -> Result<(), Error> {
        let line = trim_cr(line);
        if line.is_empty() || line[0] == b'#' {
            return Ok(());
        }
        let mut f: [&[u8]; 3] = [&[]; 3];
        let n = split_fields(line, &mut f)
            .ok_or_else(|| Error::malformed("too many ':' fields in an ignore line"))?;
        let (name, md5) = match n {
            1 => (f[0], None),
            2 => (f[0], Some(parse_md5(f[1])?)),
            _ => (f[2], None),
        };
        let name = std::str::from_utf8(name)
            .map_err(|_| Error::malformed("ignore line is not valid UTF-8"))?;
        if name.is_empty() {
            return Err(Error::malformed("no signature name in ignore line"));
        }
        self.by_name.entry(name.to_string()).or_default().push(md5);
        Ok(())
    }

    /// Whether the signature `name`, written as `line`, is to be dropped.
    pub fn ignores(&self, name: &str, line: &[u8]) -> bool {
        let Some(pins) = self.by_name.get(name) else {
            return false;
        };
        if pins.iter().any(Option::is_none) {
            return true;
        }
        let digest: [u8; 16] = Md5::digest(line).into();
        pins.contains(&Some(digest))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_name.values().map(Vec::len).sum()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

fn parse_md5(hex: &[u8]) -> Result<[u8; 16], Error> {
    let mut out = [0u8; 16];
    crate::hex::decode_into(hex, &mut out).ok_or_else(|| {
        let hex = String::from_utf8_lossy(hex);
        Error::malformed(format!("malformed MD5 '{hex}' in ignore line"))
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_pinned_line() {
        let sig = b"44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature";
        let pin = crate::hex::encode(&Md5::digest(sig));
        let mut l = IgnoreList::default();
        l.parse_line(b"Plain.Name").unwrap();
        l.parse_line(format!("Eicar-Test-Signature:{pin}").as_bytes())
            .unwrap();
        l.parse_line(b"daily.ldb:12:Old.Form").unwrap();
        assert!(l.ignores("Plain.Name", b"anything"));
        assert!(l.ignores("Old.Form", b"anything"));
        assert!(l.ignores("Eicar-Test-Signature", sig));
        assert!(!l.ignores("Eicar-Test-Signature", b"other:line:Eicar-Test-Signature"));
        assert!(!l.ignores("Other", sig));
        assert!(l.parse_line(b"Name:nothex").is_err());
    }
}
