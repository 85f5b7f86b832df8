//! One feed file read by its format, told by its name and, for `.json`,
//! its content. Shared by [`IndicatorsBuilder`](crate::IndicatorsBuilder)
//! and `build.rs`, which reads the built-in pack with it.

use std::path::Path;

use crate::error::{Error, ErrorKind};
use crate::feed::Feed;
use crate::sigbase::{self, IocKind};
use crate::{misp, stix};

/// A feed format.
#[derive(Clone, Copy)]
pub(crate) enum Format {
    Stix,
    Misp,
    Ioc(IocKind),
}

/// The format of the file at `path`: from its extension (`.stix2`,
/// signature-base's `*hash*`/`*filename*`/`*c2*` `.txt`) and, for a
/// `.json` whose `bytes` are given, its content.
pub(crate) fn format_of(path: &Path, bytes: Option<&[u8]>) -> Option<Format> {
    let name = path.file_name()?.to_str()?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "stix2" => Some(Format::Stix),
        "json" => match bytes {
            None => Some(Format::Stix),
            Some(b) if stix::sniff(b) => Some(Format::Stix),
            Some(b) if misp::sniff(b) => Some(Format::Misp),
            Some(_) => None,
        },
        _ => IocKind::from_name(name).map(Format::Ioc),
    }
}

/// Read a feed named `name` (its format from the name and the bytes).
/// Returns the feed and the diagnostics of lines or objects refused.
pub(crate) fn read(name: &str, bytes: &[u8]) -> Result<(Feed, Vec<Error>), Error> {
    let path = Path::new(name);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match format_of(path, Some(bytes)) {
        Some(Format::Stix) => stix::read(bytes, &stem),
        Some(Format::Misp) => Ok((misp::read(bytes)?, Vec::new())),
        Some(Format::Ioc(kind)) => Ok(sigbase::read(&String::from_utf8_lossy(bytes), kind)),
        None => Err(Error::new(ErrorKind::UnknownFormat)),
    }
}
