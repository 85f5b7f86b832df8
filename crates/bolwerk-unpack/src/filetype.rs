//! File typing by magic bytes.
//!
//! The first cut knows the types the hash-signature path cares about
//! (executables, to decide whether PE sections are looked for) and the
//! containers it can open.

pub use crate::formats::CpioKind;

/// A file's type as told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileType {
    /// DOS/Windows executable (`MZ`), which may be PE.
    MsExe,
    /// ELF executable or library.
    Elf,
    /// Mach-O executable (thin or fat).
    MachO,
    /// OLE2 compound document (MS Office 97-2003, MSI).
    Ole2,
    /// PDF document.
    Pdf,
    /// Zip archive (also OOXML, JAR, APK).
    Zip,
    /// Gzip stream.
    Gzip,
    /// Bzip2 stream.
    Bzip2,
    /// XZ stream.
    Xz,
    /// 7-Zip archive.
    SevenZip,
    /// RAR archive.
    Rar,
    /// Microsoft cabinet.
    Cab,
    /// ARJ archive.
    Arj,
    /// Compiled HTML Help (CHM).
    Chm,
    /// POSIX tar.
    Tar,
    /// cpio, in one of its header forms.
    Cpio(CpioKind),
    /// An e-mail message or an mbox file.
    Mail,
    /// BinHex 4.0 text.
    BinHex,
    /// A file compressed by Microsoft's COMPRESS.EXE.
    Szdd,
    /// TNEF (`winmail.dat`).
    Tnef,
    /// Symbian installation file (SIS, before Symbian 9).
    Sis,
    /// ISO 9660 CD/DVD image.
    Iso9660,
    /// OneNote section.
    OneNote,
    /// HTML.
    Html,
    /// Rich Text Format.
    Rtf,
    /// Text with uuencoded blocks.
    Text,
    /// GIF image.
    Gif,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// TIFF image.
    Tiff,
    /// Another image format ClamAV types as graphics (BMP).
    Graphics,
    /// Flash (SWF), plain or compressed.
    Swf,
    /// Java class file.
    JavaClass,
    /// Anything else.
    Unknown,
}

impl FileType {
    /// ClamAV's name for the type, as logical signatures' `Container` and
    /// `Intermediates` name it.
    pub fn cl_type(self) -> &'static str {
        match self {
            FileType::MsExe => "CL_TYPE_MSEXE",
            FileType::Elf => "CL_TYPE_ELF",
            FileType::MachO => "CL_TYPE_MACHO",
            FileType::Ole2 => "CL_TYPE_MSOLE2",
            FileType::Pdf => "CL_TYPE_PDF",
            FileType::Zip => "CL_TYPE_ZIP",
            FileType::Gzip => "CL_TYPE_GZ",
            FileType::Bzip2 => "CL_TYPE_BZ",
            FileType::Xz => "CL_TYPE_XZ",
            FileType::SevenZip => "CL_TYPE_7Z",
            FileType::Rar => "CL_TYPE_RAR",
            FileType::Cab => "CL_TYPE_MSCAB",
            FileType::Arj => "CL_TYPE_ARJ",
            FileType::Chm => "CL_TYPE_MSCHM",
            FileType::Tar => "CL_TYPE_POSIX_TAR",
            FileType::Cpio(CpioKind::BinLe | CpioKind::BinBe) => "CL_TYPE_CPIO_OLD",
            FileType::Cpio(CpioKind::Odc) => "CL_TYPE_CPIO_ODC",
            FileType::Cpio(CpioKind::Newc) => "CL_TYPE_CPIO_NEWC",
            FileType::Mail => "CL_TYPE_MAIL",
            FileType::BinHex => "CL_TYPE_BINHEX",
            FileType::Szdd => "CL_TYPE_MSSZDD",
            FileType::Tnef => "CL_TYPE_TNEF",
            FileType::Sis => "CL_TYPE_SIS",
            FileType::Iso9660 => "CL_TYPE_ISO9660",
            FileType::OneNote => "CL_TYPE_ONENOTE",
            FileType::Html => "CL_TYPE_HTML",
            FileType::Rtf => "CL_TYPE_RTF",
            FileType::Text => "CL_TYPE_TEXT_ASCII",
            FileType::Gif => "CL_TYPE_GIF",
            FileType::Png => "CL_TYPE_PNG",
            FileType::Jpeg => "CL_TYPE_JPEG",
            FileType::Tiff => "CL_TYPE_TIFF",
            FileType::Graphics => "CL_TYPE_GRAPHICS",
            FileType::Swf => "CL_TYPE_SWF",
            FileType::JavaClass => "CL_TYPE_JAVA",
            FileType::Unknown => "CL_TYPE_BINARY_DATA",
        }
    }

    /// The type ClamAV names so (`CL_TYPE_ZIP` …), among those this crate
    /// knows; `None` for others (and for `CL_TYPE_CPIO_OLD`, whose byte
    /// order the name does not tell).
    pub fn from_cl_type(name: &str) -> Option<FileType> {
        NAMED.iter().copied().find(|t| t.cl_type() == name)
    }

    /// Whether objects of this type hold other objects this crate reads.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            FileType::MsExe
                | FileType::Zip
                | FileType::Gzip
                | FileType::Bzip2
                | FileType::Xz
                | FileType::Tar
                | FileType::Cpio(_)
                | FileType::SevenZip
                | FileType::Rar
                | FileType::Cab
                | FileType::Arj
                | FileType::Chm
                | FileType::Ole2
                | FileType::Mail
                | FileType::BinHex
                | FileType::Szdd
                | FileType::Tnef
                | FileType::Sis
                | FileType::Iso9660
                | FileType::OneNote
                | FileType::Html
                | FileType::Rtf
                | FileType::Pdf
                | FileType::Text
        ) || self.read_as_data()
    }

    /// Whether objects of this type are read as data of no type is: for
    /// the archives and executables embedded in them (clamscan finds a zip
    /// after a PNG, GIF, JPEG or class header, measured).
    pub fn read_as_data(self) -> bool {
        matches!(
            self,
            FileType::Gif
                | FileType::Png
                | FileType::Jpeg
                | FileType::Tiff
                | FileType::Graphics
                | FileType::Swf
                | FileType::JavaClass
                | FileType::Unknown
        )
    }
}

/// The types [`FileType::from_cl_type`] finds by name: every type but the
/// byte-order-ambiguous old cpio, text (typed by content) and unknown data.
const NAMED: &[FileType] = &[
    FileType::MsExe,
    FileType::Elf,
    FileType::MachO,
    FileType::Ole2,
    FileType::Pdf,
    FileType::Zip,
    FileType::Gzip,
    FileType::Bzip2,
    FileType::Xz,
    FileType::SevenZip,
    FileType::Rar,
    FileType::Cab,
    FileType::Arj,
    FileType::Chm,
    FileType::Tar,
    FileType::Cpio(CpioKind::Odc),
    FileType::Cpio(CpioKind::Newc),
    FileType::Mail,
    FileType::BinHex,
    FileType::Szdd,
    FileType::Tnef,
    FileType::Sis,
    FileType::Iso9660,
    FileType::OneNote,
    FileType::Html,
    FileType::Rtf,
    FileType::Gif,
    FileType::Png,
    FileType::Jpeg,
    FileType::Tiff,
    FileType::Graphics,
    FileType::Swf,
    FileType::JavaClass,
];

const MAGICS: &[(&[u8], FileType)] = &[
    (b"MZ", FileType::MsExe),
    (b"ZM", FileType::MsExe),
    (b"\x7fELF", FileType::Elf),
    (b"\xfe\xed\xfa\xce", FileType::MachO),
    (b"\xfe\xed\xfa\xcf", FileType::MachO),
    (b"\xce\xfa\xed\xfe", FileType::MachO),
    (b"\xcf\xfa\xed\xfe", FileType::MachO),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", FileType::Ole2),
    (b"%PDF-", FileType::Pdf),
    (b"PK\x03\x04", FileType::Zip),
    (b"PK\x05\x06", FileType::Zip),
    (b"\x1f\x8b", FileType::Gzip),
    (b"BZh", FileType::Bzip2),
    (b"\xfd7zXZ\x00", FileType::Xz),
    (b"7z\xbc\xaf\x27\x1c", FileType::SevenZip),
    (b"Rar!\x1a\x07", FileType::Rar),
    (b"RE~^", FileType::Rar),
    (b"MSCF\0\0\0\0", FileType::Cab),
    (b"\x60\xea", FileType::Arj),
    (b"ITSF", FileType::Chm),
    (b"SZDD\x88\xf0\x27\x33", FileType::Szdd),
    (b"\x78\x9f\x3e\x22", FileType::Tnef),
    (b"{\\rtf", FileType::Rtf),
    (b"070707", FileType::Cpio(CpioKind::Odc)),
    (b"070701", FileType::Cpio(CpioKind::Newc)),
    (b"070702", FileType::Cpio(CpioKind::Newc)),
    (b"\xc7\x71", FileType::Cpio(CpioKind::BinLe)),
    (b"\x71\xc7", FileType::Cpio(CpioKind::BinBe)),
    (&crate::formats::ONENOTE_MAGIC, FileType::OneNote),
    // Images, Flash: the magics clamscan types as graphics (target 5) and
    // Flash (target 11), measured with one-line files.
    (b"GIF8", FileType::Gif),
    (b"\x89PNG", FileType::Png),
    (b"\xff\xd8\xff", FileType::Jpeg),
    (b"II*\x00", FileType::Tiff),
    (b"MM\x00*", FileType::Tiff),
    (b"BM", FileType::Graphics),
    (b"FWS", FileType::Swf),
    (b"CWS", FileType::Swf),
    (b"ZWS", FileType::Swf),
];

/// `CAFEBABE` opens both a fat Mach-O file and a Java class; the byte at
/// 7 (the fat file's architecture count, the class's major version) tells
/// them apart as clamscan does: below 0x20 Mach-O, up to 0x3f a class, and
/// neither with anything but zeros before it.
fn cafebabe(data: &[u8]) -> Option<FileType> {
    match data.get(..8)? {
        [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, n] => match n {
            0x00..=0x1f => Some(FileType::MachO),
            0x20..=0x3f => Some(FileType::JavaClass),
            _ => None,
        },
        _ => None,
    }
}

/// The type of `data`, from its first bytes (and, for SIS, the UID at
/// offset 8; for tar, the magic at offset 257; for ISO 9660, the volume
/// descriptor at 32768).
pub fn file_type(data: &[u8]) -> FileType {
    if let Some((_, t)) = MAGICS.iter().find(|(magic, _)| data.starts_with(magic)) {
        return *t;
    }
    if let Some(t) = cafebabe(data) {
        return t;
    }
    if data.get(8..12) == Some(crate::formats::SIS_UID3.as_slice()) {
        return FileType::Sis;
    }
    if crate::formats::is_iso9660(data) {
        return FileType::Iso9660;
    }
    if data.get(257..262) == Some(b"ustar") {
        return FileType::Tar;
    }
    text_type(&data[..data.len().min(TEXT_PROBE)])
}

/// How much of a file text typing looks at.
const TEXT_PROBE: usize = 4096;

/// Header names a mail message or mbox starts with.
const MAIL_STARTS: &[&[u8]] = &[
    b"from ",
    b"from:",
    b"received:",
    b"return-path:",
    b"delivered-to:",
    b"message-id:",
    b"subject:",
    b"to:",
    b"date:",
    b"mime-version:",
    b"content-type:",
    b"x-",
];

fn text_type(head: &[u8]) -> FileType {
    let trimmed = head.trim_ascii_start();
    let lower = trimmed.to_ascii_lowercase();
    if MAIL_STARTS.iter().any(|m| lower.starts_with(m)) {
        return FileType::Mail;
    }
    if memchr::memmem::find(head, b"(This file must be converted with BinHex").is_some() {
        return FileType::BinHex;
    }
    // ClamAV's HTML magics in the part of a file its typing reads.
    if crate::html::magic_at(&head[..head.len().min(crate::text::TEXT_PROBE)]).is_some() {
        return FileType::Html;
    }
    if trimmed.starts_with(b"begin ") || memchr::memmem::find(head, b"\nbegin ").is_some() {
        return FileType::Text;
    }
    FileType::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_types_round_trip() {
        for t in NAMED {
            assert_eq!(FileType::from_cl_type(t.cl_type()), Some(*t));
        }
        // Every type a magic gives is found by its name, old cpio aside.
        for (_, t) in MAGICS {
            if !matches!(t, FileType::Cpio(CpioKind::BinLe | CpioKind::BinBe)) {
                assert!(NAMED.contains(t), "{t:?}");
            }
        }
        assert_eq!(FileType::from_cl_type("CL_TYPE_ELF64"), None);
        assert_eq!(FileType::from_cl_type("CL_TYPE_CPIO_OLD"), None);
    }

    #[test]
    fn magics() {
        assert_eq!(file_type(b"MZ\x90\x00"), FileType::MsExe);
        assert_eq!(file_type(b"\x7fELF\x02"), FileType::Elf);
        assert_eq!(file_type(b"PK\x03\x04...."), FileType::Zip);
        assert_eq!(file_type(b""), FileType::Unknown);
        assert_eq!(file_type(b"M"), FileType::Unknown);
        assert_eq!(
            file_type(b"From a@b Thu Jul 31\nFrom: a@b\n"),
            FileType::Mail
        );
        assert_eq!(file_type(b"Received: from x\n"), FileType::Mail);
        assert_eq!(file_type(b"<html><body>"), FileType::Html);
        assert_eq!(file_type(b"hello\nbegin 644 x\n"), FileType::Text);
        assert_eq!(file_type(b"hello world\n"), FileType::Unknown);
        assert_eq!(file_type(b"\x89PNG...."), FileType::Png);
        assert_eq!(file_type(b"\xff\xd8\xff\xe0"), FileType::Jpeg);
        assert_eq!(file_type(b"\xff\xd8.."), FileType::Unknown);
        assert_eq!(file_type(b"CWS\x09...."), FileType::Swf);
    }

    #[test]
    fn fat_mach_o_or_java_class() {
        let with = |n: u8| [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, n, 1, 2];
        assert_eq!(file_type(&with(0x02)), FileType::MachO);
        assert_eq!(file_type(&with(0x1f)), FileType::MachO);
        assert_eq!(file_type(&with(0x20)), FileType::JavaClass);
        assert_eq!(file_type(&with(0x3f)), FileType::JavaClass);
        assert_eq!(file_type(&with(0x40)), FileType::Unknown);
        assert_eq!(
            file_type(&[0xca, 0xfe, 0xba, 0xbe, 0, 3, 0, 0x2d]),
            FileType::Unknown
        );
    }
}
