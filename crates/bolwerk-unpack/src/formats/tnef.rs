//! TNEF (`winmail.dat`): Outlook's attachment wrapper. After the signature
//! `78 9f 3e 22` and a 16-bit key come attributes: a level byte, a 32-bit
//! id (type in the high half), a 32-bit length, the data and a 16-bit
//! checksum. Each attachment's data (`attAttachData`) is a child, named by
//! the title (`attAttachTitle`) that precedes it.

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

const ATT_ATTACH_DATA: u32 = 0x800f;
const ATT_ATTACH_TITLE: u32 = 0x8010;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut pos = 6;
    let mut title = None;
    while let Some(head) = data.get(pos..pos + 9) {
        let id = u32::from_le_bytes(head[1..5].try_into().expect("4 bytes")) & 0xffff;
        let len = u32::from_le_bytes(head[5..9].try_into().expect("4 bytes")) as usize;
        let start = pos + 9;
        let Some(body) = data.get(start..start.saturating_add(len)) else {
            break;
        };
        match id {
            ATT_ATTACH_TITLE => {
                let name = body.split(|&b| b == 0).next().unwrap_or(&[]);
                title = Some(String::from_utf8_lossy(name).into_owned());
            }
            ATT_ATTACH_DATA => {
                let allowance = budget.allowance()?;
                if body.len() as u64 > allowance {
                    budget.note(budget.blame(allowance));
                } else if emit(
                    title.take().or(Some("(attachment)".into())),
                    body.to_vec(),
                    budget,
                    visit,
                )
                .is_break()
                {
                    return Ok(());
                }
            }
            _ => {}
        }
        pos = start + len + 2;
    }
    Ok(())
}
