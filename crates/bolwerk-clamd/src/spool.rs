//! Where INSTREAM data waits for its scan: in memory while small, then in
//! an unlinked temporary file, so that many slow or large streams cannot
//! exhaust memory (each connection holds at most [`MEMORY_LIMIT`] bytes).

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::PathBuf;

/// Stream bytes kept in memory before spilling to a temporary file.
pub const MEMORY_LIMIT: usize = 256 << 10;

/// A growing stream.
pub struct Spool {
    data: Data,
    dir: Option<PathBuf>,
}

enum Data {
    /// Still small.
    Memory(Vec<u8>),
    /// Spilled; the length written so far.
    File(File, u64),
}

impl Spool {
    /// An empty spool that spills into `dir` (or the system's temporary
    /// directory).
    pub fn new(dir: Option<PathBuf>) -> Spool {
        Spool {
            data: Data::Memory(Vec::new()),
            dir,
        }
    }

    /// Bytes held.
    pub fn len(&self) -> u64 {
        match &self.data {
            Data::Memory(v) => v.len() as u64,
            Data::File(_, n) => *n,
        }
    }

    /// Whether the data went to a file.
    #[cfg(test)]
    pub fn spilled(&self) -> bool {
        matches!(self.data, Data::File(..))
    }

    /// Append bytes, spilling to a file once past [`MEMORY_LIMIT`].
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.data {
            Data::Memory(v) if v.len() + data.len() <= MEMORY_LIMIT => {
                v.extend_from_slice(data);
            }
            Data::Memory(v) => {
                let mut f = match &self.dir {
                    Some(d) => tempfile::tempfile_in(d)?,
                    None => tempfile::tempfile()?,
                };
                f.write_all(v)?;
                f.write_all(data)?;
                let n = (v.len() + data.len()) as u64;
                self.data = Data::File(f, n);
            }
            Data::File(f, n) => {
                f.write_all(data)?;
                *n += data.len() as u64;
            }
        }
        Ok(())
    }

    /// The data, for reading from the start.
    pub fn into_reader(self) -> io::Result<Box<dyn Read + Send>> {
        match self.data {
            Data::Memory(v) => Ok(Box::new(io::Cursor::new(v))),
            Data::File(mut f, _) => {
                f.rewind()?;
                Ok(Box::new(f))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_past_the_limit_and_reads_back() {
        let mut s = Spool::new(None);
        let chunk = vec![7u8; MEMORY_LIMIT / 2 + 1];
        s.write(&chunk).unwrap();
        assert!(!s.spilled());
        s.write(&chunk).unwrap();
        assert!(s.spilled());
        s.write(b"end").unwrap();
        let mut back = Vec::new();
        s.into_reader().unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back.len(), chunk.len() * 2 + 3);
        assert!(back.ends_with(b"\x07end"));
    }
}
