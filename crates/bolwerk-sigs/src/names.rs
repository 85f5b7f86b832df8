//! An arena for signature names.
//!
//! Official databases hold millions of signatures; a `String` per name would
//! cost a heap allocation and 24 bytes of header each. Names are stored back
//! to back in one buffer instead, and a signature refers to its name by a
//! [`NameId`]: a 4-byte index.

/// The index of a name in a [`Names`] arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NameId(pub u32);

/// Signature names stored back to back.
#[derive(Clone, Debug, Default)]
pub struct Names {
    data: String,
    ends: Vec<u32>,
}

impl Names {
    /// An empty arena.
    pub fn new() -> Names {
        Names::default()
    }

    /// Store a name and return its id, or `None` when the arena would pass
    /// 4 GiB of text or 2^32 names.
    pub fn push(&mut self, name: &str) -> Option<NameId> {
        let id = u32::try_from(self.ends.len()).ok()?;
        let end = u32::try_from(self.data.len() + name.len()).ok()?;
        self.data.push_str(name);
        self.ends.push(end);
        Some(NameId(id))
    }

    /// The name behind an id.
    ///
    /// # Panics
    /// When the id did not come from this arena.
    pub fn get(&self, id: NameId) -> &str {
        let i = id.0 as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.data[start..self.ends[i] as usize]
    }

    /// How many names are stored.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no name is stored.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Move every name of `other` to the end of this arena and return the
    /// amount by which `other`'s ids must be shifted, or `None` on overflow.
    pub fn append(&mut self, other: Names) -> Option<u32> {
        let shift = u32::try_from(self.ends.len()).ok()?;
        let base = u32::try_from(self.data.len()).ok()?;
        u32::try_from(self.data.len() + other.data.len()).ok()?;
        u32::try_from(self.ends.len() + other.ends.len()).ok()?;
        self.data.push_str(&other.data);
        self.ends.extend(other.ends.iter().map(|e| e + base));
        Some(shift)
    }

    /// Bytes of memory held.
    pub fn heap_bytes(&self) -> usize {
        self.data.capacity() + self.ends.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_append() {
        let mut a = Names::new();
        let x = a.push("Eicar-Test-Signature").unwrap();
        let e = a.push("").unwrap();
        let mut b = Names::new();
        let y = b.push("Clamav.Test.File-6").unwrap();
        let shift = a.append(b).unwrap();
        assert_eq!(a.get(x), "Eicar-Test-Signature");
        assert_eq!(a.get(e), "");
        assert_eq!(a.get(NameId(y.0 + shift)), "Clamav.Test.File-6");
        assert_eq!(a.len(), 3);
    }
}
