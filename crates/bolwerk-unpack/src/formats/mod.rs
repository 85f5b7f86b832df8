//! One module per container format or encoding; [`dispatch`] picks the
//! reader for a file type.

use crate::budget::Budget;
use crate::container::{UnpackError, Visit};
use crate::FileType;

mod arj;
mod binhex;
mod cab;
mod chm;
mod compressed;
mod cpio;
mod html;
mod installer;
mod iso9660;
mod le;
mod mail;
pub(crate) mod ole2;
mod onenote;
mod pdf;
mod pe;
mod rar;
mod rtf;
mod sevenz;
mod sfx;
mod sis;
mod szdd;
mod tnef;

pub use cpio::CpioKind;
pub(crate) use html::hand_on as html_hand_on;
pub(crate) use iso9660::is_iso9660;
pub(crate) use onenote::MAGIC as ONENOTE_MAGIC;
pub(crate) use sis::UID3 as SIS_UID3;
mod tar;
mod zip;

/// Visit the children of `data` according to its type.
pub(crate) fn dispatch(
    data: &[u8],
    ft: FileType,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    match ft {
        FileType::Gzip => compressed::gzip(data, budget, visit),
        FileType::Bzip2 => compressed::bzip2(data, budget, visit),
        FileType::Xz => compressed::xz(data, budget, visit),
        FileType::Tar => tar::read(data, budget, visit),
        FileType::Cpio(kind) => cpio::read(data, kind, budget, visit),
        FileType::Zip => zip::read(data, budget, visit),
        FileType::SevenZip => sevenz::read(data, budget, visit),
        FileType::Rar => rar::read(data, budget, visit),
        FileType::Cab => cab::read(data, budget, visit),
        FileType::Arj => arj::read(data, budget, visit),
        FileType::Chm => chm::read(data, budget, visit),
        FileType::Ole2 => ole2::read(data, budget, visit),
        FileType::Mail => mail::read(data, budget, visit),
        FileType::BinHex => binhex::read(data, budget, visit),
        FileType::Szdd => szdd::read(data, budget, visit),
        FileType::Tnef => tnef::read(data, budget, visit),
        FileType::Sis => sis::read(data, budget, visit),
        FileType::Iso9660 => iso9660::read(data, budget, visit),
        FileType::OneNote => onenote::read(data, budget, visit),
        FileType::Html => html::read(data, budget, visit),
        FileType::Pdf => pdf::read(data, budget, visit),
        FileType::MsExe => executable(data, budget, visit),
        FileType::Rtf => rtf::read(data, budget, visit),
        FileType::Text => {
            if mail::uu_blocks(data, budget, visit)?.is_break() {
                return Ok(());
            }
            sfx::read(data, budget, visit)
        }
        t if t.read_as_data() => sfx::read(data, budget, visit),
        _ => Ok(()),
    }
}

/// An executable: the installers' payloads (NSIS, InstallShield, AutoIt),
/// then packed images, embedded PE files and zip members; the second
/// reader runs only when the visitor has not asked to stop.
fn executable(data: &[u8], budget: &mut Budget, visit: &mut Visit<'_>) -> Result<(), UnpackError> {
    let stopped = std::cell::Cell::new(false);
    let mut watch = |child: crate::Child, budget: &mut Budget| {
        let flow = visit(child, budget);
        stopped.set(stopped.get() || flow.is_break());
        flow
    };
    installer::read(data, budget, &mut watch)?;
    if stopped.get() {
        return Ok(());
    }
    pe::read(data, budget, &mut watch)
}
