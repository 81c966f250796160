//! Small building blocks of the columnar snapshot: string arenas with a compact hash index,
//! dictionaries, and dictionary-encoded dimension columns.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::collections::HashMap;
use std::hash::BuildHasher;

/// Many short strings in one buffer: 4 bytes of overhead per string instead of a `String`'s 24.
#[derive(Default, Clone, Debug)]
pub struct StrArena {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl StrArena {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        // Only whole `&str`s are pushed, so every slice is valid UTF-8.
        std::str::from_utf8(&self.bytes[start..self.ends[i] as usize]).expect("utf-8")
    }

    pub fn push(&mut self, s: &str) -> u32 {
        self.bytes.extend_from_slice(s.as_bytes());
        assert!(self.bytes.len() <= u32::MAX as usize, "id arena over 4 GiB");
        self.ends.push(self.bytes.len() as u32);
        (self.ends.len() - 1) as u32
    }

    pub fn truncate(&mut self, n: usize) {
        self.ends.truncate(n);
        let end = self.ends.last().copied().unwrap_or(0) as usize;
        self.bytes.truncate(end);
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 4
    }
}

/// Unique string ids → dense row numbers. The table stores only the row number (4 bytes);
/// the string itself lives in the arena.
#[derive(Default, Clone)]
pub struct IdIndex {
    arena: StrArena,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdIndex({} ids)", self.arena.len())
    }
}

impl IdIndex {
    pub fn len(&self) -> usize {
        self.arena.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arena.is_empty()
    }

    pub fn get(&self, row: u32) -> &str {
        self.arena.get(row)
    }

    pub fn find(&self, id: &str) -> Option<u32> {
        let h = self.hasher.hash_one(id);
        self.table
            .find(h, |&row| self.arena.get(row) == id)
            .copied()
    }

    /// Appends `id` as the next row. The caller has checked that it is new.
    pub fn push(&mut self, id: &str) -> u32 {
        let row = self.arena.push(id);
        let h = self.hasher.hash_one(id);
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.table
            .insert_unique(h, row, |&r| hasher.hash_one(arena.get(r)));
        row
    }

    /// Forgets every row from `n` on (rollback of a failed batch).
    pub fn truncate(&mut self, n: usize) {
        for row in n..self.arena.len() {
            let id = self.arena.get(row as u32);
            let h = self.hasher.hash_one(id);
            if let Ok(e) = self.table.find_entry(h, |&r| r as usize == row) {
                e.remove();
            }
        }
        self.arena.truncate(n);
    }

    pub fn reserve(&mut self, n: usize) {
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.table.reserve(n, |&r| hasher.hash_one(arena.get(r)));
    }

    pub fn heap_bytes(&self) -> usize {
        // hashbrown: one control byte plus the slot per bucket.
        self.arena.heap_bytes() + self.table.capacity() * 5
    }
}

/// Distinct values of a text attribute; code 0 is always the empty value.
#[derive(Clone, Debug)]
pub struct Dict {
    values: Vec<String>,
    lookup: HashMap<String, u32>,
}

impl Default for Dict {
    fn default() -> Self {
        let mut lookup = HashMap::new();
        lookup.insert(String::new(), 0);
        Dict {
            values: vec![String::new()],
            lookup,
        }
    }
}

impl Dict {
    pub fn code(&mut self, v: &str) -> u32 {
        if let Some(&c) = self.lookup.get(v) {
            return c;
        }
        let c = self.values.len() as u32;
        self.values.push(v.to_string());
        self.lookup.insert(v.to_string(), c);
        c
    }

    pub fn find(&self, v: &str) -> Option<u32> {
        self.lookup.get(v).copied()
    }

    pub fn value(&self, code: u32) -> &str {
        &self.values[code as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.len() <= 1
    }

    pub fn heap_bytes(&self) -> usize {
        self.values.iter().map(|v| v.capacity() * 2 + 56).sum()
    }
}

/// A dictionary-encoded column: one code per row, rows never set read as the empty value.
#[derive(Clone, Debug)]
pub struct DimCol {
    pub name: String,
    pub dict: Dict,
    codes: Vec<u32>,
}

impl DimCol {
    pub fn new(name: &str) -> DimCol {
        DimCol {
            name: name.to_string(),
            dict: Dict::default(),
            codes: Vec::new(),
        }
    }

    #[inline]
    pub fn code(&self, row: u32) -> u32 {
        self.codes.get(row as usize).copied().unwrap_or(0)
    }

    pub fn value(&self, row: u32) -> &str {
        self.dict.value(self.code(row))
    }

    pub fn set(&mut self, row: u32, v: &str) {
        let c = self.dict.code(v);
        let row = row as usize;
        if self.codes.len() <= row {
            if c == 0 {
                return;
            }
            self.codes.resize(row + 1, 0);
        }
        self.codes[row] = c;
    }

    pub fn truncate(&mut self, n: usize) {
        self.codes.truncate(n);
    }

    pub fn heap_bytes(&self) -> usize {
        self.codes.capacity() * 4 + self.dict.heap_bytes()
    }
}

/// The named dimension columns of one table (customers, invoices or sources).
#[derive(Clone, Debug, Default)]
pub struct Dims {
    pub cols: Vec<DimCol>,
}

impl Dims {
    pub fn get(&self, name: &str) -> Option<&DimCol> {
        self.cols.iter().find(|c| c.name == name)
    }

    pub fn set(&mut self, name: &str, row: u32, v: &str) {
        match self.cols.iter_mut().find(|c| c.name == name) {
            Some(c) => c.set(row, v),
            None if v.is_empty() => {}
            None => {
                let mut c = DimCol::new(name);
                c.set(row, v);
                self.cols.push(c);
            }
        }
    }

    pub fn truncate(&mut self, n: usize) {
        for c in &mut self.cols {
            c.truncate(n);
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.cols.iter().map(DimCol::heap_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_index_finds_and_forgets() {
        let mut ix = IdIndex::default();
        for i in 0..1000 {
            assert_eq!(ix.push(&format!("I{i}")), i);
        }
        assert_eq!(ix.find("I517"), Some(517));
        assert_eq!(ix.find("I1000"), None);
        ix.truncate(500);
        assert_eq!(ix.find("I517"), None);
        assert_eq!(ix.find("I499"), Some(499));
        assert_eq!(ix.push("I517"), 500);
        assert_eq!(ix.get(500), "I517");
    }

    #[test]
    fn dims_default_to_empty() {
        let mut d = Dims::default();
        d.set("region", 3, "Nord");
        d.set("sector", 1, "");
        let r = d.get("region").unwrap();
        assert_eq!(r.value(3), "Nord");
        assert_eq!(r.value(0), "");
        assert_eq!(r.value(99), "");
        assert!(d.get("sector").is_none());
    }
}
