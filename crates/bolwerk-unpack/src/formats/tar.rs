//! POSIX tar (ustar, GNU, pax): every regular file.

use crate::budget::Budget;
use crate::container::{emit, malformed, read_child, UnpackError, Visit};

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut archive = tar::Archive::new(data);
    for entry in archive.entries().map_err(malformed)? {
        let entry = entry.map_err(malformed)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().ok().map(|p| p.to_string_lossy().into_owned());
        if let Some(bytes) = read_child(entry, budget)? {
            if emit(name, bytes, budget, visit).is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}
