//! HTML: files carried in `data:` URIs (RFC 2397), the way phishing pages
//! and HTML smuggling deliver executables. As in ClamAV, the URIs in
//! attribute values of an HTML object of up to `MaxHTMLNormalize` bytes
//! are handed on as small mail messages (see
//! [`crate::html::Normalised::data_files`]), which the mail reader
//! decodes: signatures match the URI's data as written and decoded.

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    if data.len() as u64 > budget.limits().html_normalize_cap() {
        return Ok(());
    }
    hand_on(
        crate::html::normalise_with(data, false, false).data_files,
        budget,
        visit,
    )
}

/// Hand on the files of an HTML object's `data:` URIs, as [`read`] does;
/// for a caller that normalised the object already.
pub(crate) fn hand_on(
    files: Vec<Vec<u8>>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    for file in files {
        if emit(Some("(data-uri)".to_string()), file, budget, visit).is_break() {
            break;
        }
    }
    Ok(())
}
