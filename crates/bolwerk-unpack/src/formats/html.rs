//! HTML: files carried in `data:` URIs with base64 content, the way
//! phishing pages and HTML smuggling deliver executables.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

/// Base64 as found in the wild: padding optional, stray trailing bits allowed.
pub(crate) const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    for at in memchr::memmem::find_iter(data, b"data:") {
        let rest = &data[at + 5..];
        let Some(comma) = memchr::memchr(b',', &rest[..rest.len().min(256)]) else {
            continue;
        };
        if memchr::memmem::find(&rest[..comma], b";base64").is_none() {
            continue;
        }
        let body = &rest[comma + 1..];
        let end = body
            .iter()
            .position(|&c| {
                !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'\r' | b'\n'))
            })
            .unwrap_or(body.len());
        let allowance = budget.allowance()?;
        if (end as u64) / 4 * 3 > allowance {
            budget.note(budget.blame(allowance));
            continue;
        }
        let clean: Vec<u8> = body[..end]
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let Ok(decoded) = LENIENT_BASE64.decode(&clean) else {
            continue;
        };
        if emit(Some("(data-uri)".to_string()), decoded, budget, visit).is_break() {
            break;
        }
    }
    Ok(())
}
