//! The Team ID in a Mach-O file's embedded code signature.
//!
//! The `LC_CODE_SIGNATURE` load command points into `__LINKEDIT` at a
//! big-endian SuperBlob (magic `0xfade0cc0`) whose index names a
//! CodeDirectory (magic `0xfade0c02`, slot 0, or an alternate at `0x1000`
//! and up); from version `0x20200` on, the CodeDirectory's `teamOffset`
//! (at byte 48) points at the NUL-terminated Team ID. Universal ("fat")
//! files are read slice by slice. Layouts from Apple's published
//! `cs_blobs.h` and `mach-o/loader.h`.

const MH_MAGIC: u32 = 0xfeed_face;
const MH_MAGIC_64: u32 = 0xfeed_facf;
const FAT_MAGIC: u32 = 0xcafe_babe;
const LC_CODE_SIGNATURE: u32 = 0x1d;
const SUPERBLOB: u32 = 0xfade_0cc0;
const CODEDIRECTORY: u32 = 0xfade_0c02;
const CD_VERSION_TEAM: u32 = 0x2_0200;
/// Apple's own limits are lower; this only bounds a hostile file.
const MAX_LOAD_COMMANDS: u32 = 4096;
const MAX_FAT_ARCHS: u32 = 64;
const MAX_BLOBS: u32 = 64;

fn be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The Team ID of the first signed slice, if any.
pub fn team_id(file: &[u8]) -> Option<String> {
    if be(file, 0)? == FAT_MAGIC {
        let n = be(file, 4)?.min(MAX_FAT_ARCHS) as usize;
        return (0..n).find_map(|i| {
            let at = 8 + i * 20;
            let (off, size) = (be(file, at + 8)? as usize, be(file, at + 12)? as usize);
            thin_team_id(file.get(off..off.checked_add(size)?)?)
        });
    }
    thin_team_id(file)
}

fn thin_team_id(macho: &[u8]) -> Option<String> {
    let header = match le(macho, 0)? {
        MH_MAGIC => 28,
        MH_MAGIC_64 => 32,
        _ => return None,
    };
    let ncmds = le(macho, 16)?.min(MAX_LOAD_COMMANDS);
    let mut at = header;
    for _ in 0..ncmds {
        let (cmd, size) = (le(macho, at)?, le(macho, at + 4)? as usize);
        if cmd == LC_CODE_SIGNATURE {
            let (off, len) = (le(macho, at + 8)? as usize, le(macho, at + 12)? as usize);
            return superblob_team_id(macho.get(off..off.checked_add(len)?)?);
        }
        if size < 8 {
            return None;
        }
        at = at.checked_add(size)?;
    }
    None
}

fn superblob_team_id(blob: &[u8]) -> Option<String> {
    if be(blob, 0)? != SUPERBLOB {
        return None;
    }
    let count = be(blob, 8)?.min(MAX_BLOBS) as usize;
    (0..count).find_map(|i| {
        let slot = be(blob, 12 + i * 8)?;
        let off = be(blob, 16 + i * 8)? as usize;
        if slot != 0 && slot < 0x1000 {
            return None;
        }
        codedirectory_team_id(blob.get(off..)?)
    })
}

fn codedirectory_team_id(cd: &[u8]) -> Option<String> {
    if be(cd, 0)? != CODEDIRECTORY || be(cd, 8)? < CD_VERSION_TEAM {
        return None;
    }
    let off = be(cd, 48)? as usize;
    if off == 0 {
        return None;
    }
    let tail = cd.get(off..)?;
    let end = tail.iter().position(|&b| b == 0)?;
    let id = std::str::from_utf8(&tail[..end]).ok()?;
    (!id.is_empty()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-bit Mach-O with one LC_CODE_SIGNATURE pointing at a SuperBlob
    /// with one CodeDirectory, laid out as `codesign` lays them out.
    pub fn signed_macho(team: &str) -> Vec<u8> {
        let mut cd = Vec::new();
        for v in [
            CODEDIRECTORY,
            0,
            CD_VERSION_TEAM,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            52,
        ] {
            cd.extend_from_slice(&v.to_be_bytes());
        }
        cd.extend_from_slice(team.as_bytes());
        cd.push(0);
        let len = cd.len() as u32;
        cd[4..8].copy_from_slice(&len.to_be_bytes());
        let mut sb = Vec::new();
        for v in [SUPERBLOB, 20 + len, 1, 0, 20] {
            sb.extend_from_slice(&v.to_be_bytes());
        }
        sb.extend(cd);
        let mut m = Vec::new();
        let sig_off = 32 + 16;
        for v in [MH_MAGIC_64, 0x0100_000c, 0, 2, 1, 16, 0, 0] {
            m.extend_from_slice(&v.to_le_bytes());
        }
        for v in [LC_CODE_SIGNATURE, 16, sig_off, sb.len() as u32] {
            m.extend_from_slice(&v.to_le_bytes());
        }
        m.extend(sb);
        m
    }

    #[test]
    fn team_id_from_thin_and_fat_files() {
        let thin = signed_macho("2Y8XE5CQ94");
        assert_eq!(team_id(&thin).as_deref(), Some("2Y8XE5CQ94"));
        let mut fat = Vec::new();
        for v in [FAT_MAGIC, 1, 0x0100_000c, 0, 28, thin.len() as u32, 0] {
            fat.extend_from_slice(&v.to_be_bytes());
        }
        fat.extend(&thin);
        assert_eq!(team_id(&fat).as_deref(), Some("2Y8XE5CQ94"));
    }

    #[test]
    fn truncated_files_are_not_signed() {
        let thin = signed_macho("2Y8XE5CQ94");
        for cut in 0..thin.len() - 1 {
            assert_eq!(team_id(&thin[..cut]), None, "cut at {cut}");
        }
    }
}
