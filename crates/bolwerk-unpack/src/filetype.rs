//! File typing by magic bytes.
//!
//! The first cut knows the types the hash-signature path cares about
//! (executables, to decide whether PE sections are looked for) and the
//! common containers, so reports can say what an object is.

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
    /// Anything else.
    Unknown,
}

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
    (b"MSCF\0\0\0\0", FileType::Cab),
];

/// The type of `data`, from its first bytes.
pub fn file_type(data: &[u8]) -> FileType {
    MAGICS
        .iter()
        .find(|(magic, _)| data.starts_with(magic))
        .map_or(FileType::Unknown, |(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics() {
        assert_eq!(file_type(b"MZ\x90\x00"), FileType::MsExe);
        assert_eq!(file_type(b"\x7fELF\x02"), FileType::Elf);
        assert_eq!(file_type(b"PK\x03\x04...."), FileType::Zip);
        assert_eq!(file_type(b""), FileType::Unknown);
        assert_eq!(file_type(b"M"), FileType::Unknown);
    }
}
