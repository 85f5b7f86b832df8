//! CVD, CLD and CUD containers: ClamAV's signed database archives.
//!
//! A container is a 512-byte text header
//! `ClamAV-VDB:buildtime:version:sigs:flevel:md5:dsig:builder:stime`
//! (padded with spaces) followed by a tar archive, gzip-compressed in a
//! `.cvd` and usually plain in a `.cld`.
//!
//! What is checked before a single signature is parsed:
//! * `.cvd`: the MD5 of everything after the header equals the header's
//!   `md5` field, and the header's `dsig` signs that MD5 with ClamAV's
//!   release key (see [`crate::dsig`]).
//! * `.cvd` and `.cld`: the `.info` member is signed (its `DSIG:` line), its
//!   own header line repeats every header field except `md5` and `dsig`
//!   (so a changed version, count, level or date is caught even in a `.cld`,
//!   whose header carries no signature), and every database member is listed
//!   in it with its exact size and SHA-256.
//! * `.cud` is unsigned by design: it loads, but its signatures report as
//!   unofficial, and a `.info` in it is still held to its size and hash list.
//!
//! A container that fails any check is refused whole, with the reason.

use std::io::Read;

use md5::{Digest, Md5};
use sha2::Sha256;

use crate::dsig;
use crate::Error;

/// Length of the text header.
pub const HEADER_LEN: usize = 512;
/// Upper bound on the unpacked payload (the official databases unpack to a
/// few hundred MiB).
pub const MAX_UNPACKED: u64 = 2 << 30;
/// Upper bound on the number of members.
pub const MAX_MEMBERS: usize = 4096;

/// The container type, told by the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerKind {
    /// `.cvd`: compressed and signed.
    Cvd,
    /// `.cld`: written by updaters after applying diffs; signed through `.info`.
    Cld,
    /// `.cud`: unsigned.
    Cud,
}

/// The parsed 512-byte header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Build time as written (`22 Jun 2021 20-40 -0400`).
    pub build_time: String,
    /// Database version.
    pub version: u32,
    /// Number of signatures the builder counted.
    pub sigs: u64,
    /// Minimum functionality level the database needs.
    pub flevel: u32,
    /// MD5 of the payload, hex.
    pub md5: String,
    /// Digital signature of the MD5.
    pub dsig: String,
    /// Who built it.
    pub builder: String,
    /// Build time in seconds since the epoch, when present.
    pub stime: Option<u64>,
}

/// One member of the container.
#[derive(Clone, Debug)]
pub struct Member {
    /// File name inside the archive.
    pub name: String,
    /// Contents.
    pub data: Vec<u8>,
}

/// An opened, verified container.
#[derive(Clone, Debug)]
pub struct Container {
    /// Which kind.
    pub kind: ContainerKind,
    /// Its header.
    pub header: Header,
    /// Its members, in archive order.
    pub members: Vec<Member>,
    /// Checks that passed, in words, for `db info` and `db verify`.
    pub checks: Vec<String>,
}

impl Container {
    /// Whether signatures from it are official (signed) ones.
    pub fn is_signed(&self) -> bool {
        self.kind != ContainerKind::Cud
    }
}

/// Parse a header; `None` is not a container header at all.
pub fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::container(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(&bytes[..HEADER_LEN])
        .map_err(|_| Error::container("header is not text"))?;
    let text = text.trim_end_matches([' ', '\0', '\n', '\r']);
    parse_header_line(text).map_err(|m| Error::container(format!("header: {m}")))
}

fn parse_header_line(text: &str) -> Result<Header, String> {
    let rest = text
        .strip_prefix("ClamAV-VDB:")
        .ok_or("does not start with 'ClamAV-VDB:'")?;
    let f: Vec<&str> = rest.split(':').collect();
    if f.len() < 7 || f.len() > 8 {
        return Err(format!("{} fields, expected 8", f.len() + 1));
    }
    let num = |s: &str, what: &str| -> Result<u64, String> {
        s.trim().parse().map_err(|_| format!("bad {what} '{s}'"))
    };
    Ok(Header {
        build_time: f[0].to_string(),
        version: num(f[1], "version")?
            .try_into()
            .map_err(|_| "bad version")?,
        sigs: num(f[2], "signature count")?,
        flevel: num(f[3], "functionality level")?
            .try_into()
            .map_err(|_| "bad level")?,
        md5: f[4].to_string(),
        dsig: f[5].to_string(),
        builder: f[6].to_string(),
        stime: f.get(7).map(|s| num(s, "build time")).transpose()?,
    })
}

/// Open and verify a container held in memory.
pub fn open(bytes: &[u8], kind: ContainerKind) -> Result<Container, Error> {
    let header = parse_header(bytes)?;
    let payload = &bytes[HEADER_LEN..];
    let mut checks = Vec::new();
    if kind == ContainerKind::Cvd {
        verify_payload_md5(&header, payload)?;
        checks.push("MD5 of the payload matches the header".to_string());
        dsig::verify_cvd(&md5_of(payload), &header.dsig)
            .map_err(|e| Error::container(format!("digital signature of the header: {e:?}")))?;
        checks.push("header signature verifies with the ClamAV release key".to_string());
    }
    let members = unpack(payload)?;
    verify_info(kind, &header, &members, &mut checks)?;
    Ok(Container {
        kind,
        header,
        members,
        checks,
    })
}

fn md5_of(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

fn verify_payload_md5(header: &Header, payload: &[u8]) -> Result<(), Error> {
    let got = crate::hex::encode(&md5_of(payload));
    if !got.eq_ignore_ascii_case(&header.md5) {
        return Err(Error::container(format!(
            "MD5 of the payload is {got}, the header says {} (modified or truncated)",
            header.md5
        )));
    }
    Ok(())
}

/// Gunzip (when compressed) and untar, within [`MAX_UNPACKED`] and [`MAX_MEMBERS`].
fn unpack(payload: &[u8]) -> Result<Vec<Member>, Error> {
    let reader: Box<dyn Read + '_> = if payload.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(payload))
    } else {
        Box::new(payload)
    };
    let mut archive = tar::Archive::new(reader.take(MAX_UNPACKED));
    let mut members = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| Error::container(format!("archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::container(format!("archive: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry_name(&entry)?;
        let mut data = Vec::with_capacity(entry.size().min(64 << 20) as usize);
        entry
            .read_to_end(&mut data)
            .map_err(|e| Error::container(format!("archive member {name}: {e}")))?;
        members.push(Member { name, data });
        if members.len() > MAX_MEMBERS {
            return Err(Error::container("more than 4096 archive members"));
        }
    }
    Ok(members)
}

fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String, Error> {
    let path = entry
        .path()
        .map_err(|e| Error::container(format!("archive member name: {e}")))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::container("archive member without a usable name"))?;
    Ok(name.to_string())
}

/// The parsed `.info` member.
struct Info<'a> {
    header: Header,
    files: Vec<(&'a str, u64, &'a str)>,
    signed_part: &'a [u8],
    dsig: Option<&'a str>,
}

fn parse_info(data: &[u8]) -> Result<Info<'_>, String> {
    let text = std::str::from_utf8(data).map_err(|_| ".info is not text")?;
    let (mut header, mut files, mut dsig, mut signed_len) = (None, Vec::new(), None, data.len());
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        if let Some(sig) = line.strip_prefix("DSIG:") {
            dsig = Some(sig);
            signed_len = offset;
            break;
        }
        offset += raw.len();
        if line.starts_with("ClamAV-VDB:") {
            header = Some(parse_header_line(line).map_err(|m| format!(".info header: {m}"))?);
            continue;
        }
        let f: Vec<&str> = line.split(':').collect();
        match f[..] {
            [name, size, sha] if sha.len() == 64 => {
                let size = size
                    .parse()
                    .map_err(|_| format!(".info line {}: bad size", i + 1))?;
                files.push((name, size, sha));
            }
            _ => return Err(format!(".info line {}: expected NAME:SIZE:SHA256", i + 1)),
        }
    }
    Ok(Info {
        header: header.ok_or(".info has no ClamAV-VDB header line")?,
        files,
        signed_part: &data[..signed_len],
        dsig,
    })
}

fn verify_info(
    kind: ContainerKind,
    header: &Header,
    members: &[Member],
    checks: &mut Vec<String>,
) -> Result<(), Error> {
    let Some(info_member) = members.iter().find(|m| m.name.ends_with(".info")) else {
        if kind == ContainerKind::Cld {
            return Err(Error::container(
                "a .cld needs a signed .info member and has none",
            ));
        }
        return Ok(());
    };
    let info = parse_info(&info_member.data).map_err(Error::container)?;
    if kind != ContainerKind::Cud {
        let dsig = info
            .dsig
            .ok_or_else(|| Error::container(".info has no DSIG line"))?;
        let digest: [u8; 32] = Sha256::digest(info.signed_part).into();
        dsig::verify_info(&digest, dsig)
            .map_err(|e| Error::container(format!(".info signature: {e:?}")))?;
        checks.push(".info signature verifies with the ClamAV .info key".to_string());
        compare_headers(header, &info.header)?;
        checks.push("header fields match the signed .info header".to_string());
    }
    verify_members(members, &info)?;
    checks.push(format!(
        "{} database members match the sizes and SHA-256 listed in .info",
        info.files.len()
    ));
    Ok(())
}

fn compare_headers(outer: &Header, signed: &Header) -> Result<(), Error> {
    let pairs = [
        (
            "build time",
            outer.build_time.clone(),
            signed.build_time.clone(),
        ),
        (
            "version",
            outer.version.to_string(),
            signed.version.to_string(),
        ),
        (
            "signature count",
            outer.sigs.to_string(),
            signed.sigs.to_string(),
        ),
        (
            "functionality level",
            outer.flevel.to_string(),
            signed.flevel.to_string(),
        ),
        ("builder", outer.builder.clone(), signed.builder.clone()),
        (
            "build stamp",
            format!("{:?}", outer.stime),
            format!("{:?}", signed.stime),
        ),
    ];
    for (what, a, b) in pairs {
        if a != b {
            return Err(Error::container(format!(
                "header {what} '{a}' differs from the signed .info ('{b}')"
            )));
        }
    }
    Ok(())
}

fn verify_members(members: &[Member], info: &Info<'_>) -> Result<(), Error> {
    for m in members {
        if m.name.ends_with(".info") || crate::DbKind::from_name(&m.name).is_none() {
            continue;
        }
        let Some((_, size, sha)) = info.files.iter().find(|(n, _, _)| *n == m.name) else {
            return Err(Error::container(format!(
                "member {} is not listed in .info",
                m.name
            )));
        };
        let got = crate::hex::encode(&Sha256::digest(&m.data));
        if *size != m.data.len() as u64 || !got.eq_ignore_ascii_case(sha) {
            return Err(Error::container(format!(
                "member {} does not match its size and SHA-256 in .info",
                m.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let mut h = b"ClamAV-VDB:22 Jun 2021 20-40 -0400:3:11:81:75c84c7f1a2d37d9c2a37b2bc9b3a670:sig:raynman:1624408809".to_vec();
        h.resize(HEADER_LEN, b' ');
        let hd = parse_header(&h).unwrap();
        assert_eq!(hd.version, 3);
        assert_eq!(hd.sigs, 11);
        assert_eq!(hd.flevel, 81);
        assert_eq!(hd.builder, "raynman");
        assert_eq!(hd.stime, Some(1624408809));
        assert!(parse_header(&h[..100]).is_err());
        let mut bad = h.clone();
        bad[0] = b'X';
        assert!(parse_header(&bad).is_err());
    }
}
