//! Small building blocks of the columnar snapshot: string arenas with a compact hash index,
//! dictionaries, and dictionary-encoded dimension columns.

use crate::col::Col;
use crate::image::{Dec, Enc, ImageError};
use foldhash::fast::FixedState;
use std::hash::BuildHasher;
use std::io::{Read, Write};

/// Many short strings in one buffer: 4 bytes of overhead per string instead of a `String`'s 24,
/// and none while every string has the same length (ERP numbering usually is fixed-width).
#[derive(Default, Clone, Debug)]
pub struct StrArena {
    bytes: Col<u8>,
    /// Ends of the strings; empty while all strings share the length `width`.
    ends: Col<u32>,
    width: usize,
    count: usize,
}

impl StrArena {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn get(&self, i: u32) -> &str {
        // Only whole `&str`s are pushed, so every slice is valid UTF-8.
        std::str::from_utf8(self.bytes(i)).expect("utf-8")
    }

    /// The bytes of string `i`: what the id index hashes and compares, without checking the
    /// UTF-8 again on every probe (a tenth of a large import's time went there).
    #[inline]
    pub fn bytes(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let (start, end) = if self.ends.is_empty() {
            (i * self.width, (i + 1) * self.width)
        } else {
            let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            (start, self.ends[i] as usize)
        };
        &self.bytes[start..end]
    }

    pub fn push(&mut self, s: &str) -> u32 {
        if self.count == 0 && self.ends.is_empty() {
            self.width = s.len();
        }
        let fixed = self.ends.is_empty() && s.len() == self.width && self.width > 0;
        if !fixed && self.ends.is_empty() {
            // Lengths differ from now on: keep explicit ends.
            self.ends = (1..=self.count).map(|k| (k * self.width) as u32).collect();
        }
        self.bytes.extend_from_slice(s.as_bytes());
        assert!(self.bytes.len() <= u32::MAX as usize, "id arena over 4 GiB");
        if !fixed {
            self.ends.push(self.bytes.len() as u32);
        }
        self.count += 1;
        (self.count - 1) as u32
    }

    pub fn truncate(&mut self, n: usize) {
        if n >= self.count {
            return;
        }
        self.count = n;
        if self.ends.is_empty() {
            self.bytes.truncate(n * self.width);
        } else {
            self.ends.truncate(n);
            let end = self.ends.last().copied().unwrap_or(0) as usize;
            self.bytes.truncate(end);
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 4
    }

    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    fn write_image<W: Write>(&self, e: &mut Enc<W>) -> std::io::Result<()> {
        e.bytes(&self.bytes)?;
        e.col(&self.ends)?;
        e.put(self.width as u64)?;
        e.put(self.count as u64)
    }

    fn read_image<R: Read>(d: &mut Dec<R>) -> Result<StrArena, ImageError> {
        let a = StrArena {
            bytes: d.byte_column()?,
            ends: d.column()?,
            width: d.get::<u64>()? as usize,
            count: d.get::<u64>()? as usize,
        };
        let fits = if a.ends.is_empty() {
            a.width.checked_mul(a.count) == Some(a.bytes.len())
        } else {
            a.ends.len() == a.count
                && a.ends.is_sorted()
                && a.ends.last().is_some_and(|&e| e as usize == a.bytes.len())
        };
        d.check(fits, "an id arena's lengths disagree")?;
        d.check(
            std::str::from_utf8(&a.bytes).is_ok(),
            "an id arena is not UTF-8",
        )?;
        Ok(a)
    }
}

/// Unique string ids → dense row numbers: an open-addressing table of 4-byte slots holding
/// the row and a 5-bit tag of the id's hash (so that a probe rarely needs to read the string),
/// with the strings themselves in the arena. About 5 bytes per id after a bulk load, where a
/// general hash map of `String`s takes over 40.
///
/// The hash is seeded with a random number drawn when the table is created and kept in the
/// snapshot's image, so that the slots of an image are valid when it is read back while ids
/// chosen to collide cannot be prepared in advance.
#[derive(Clone)]
pub struct IdIndex {
    arena: StrArena,
    slots: Col<u32>,
    used: usize,
    seed: u64,
    hasher: FixedState,
}

impl Default for IdIndex {
    fn default() -> Self {
        let seed = foldhash::fast::RandomState::default().hash_one(0x5eed_u64);
        IdIndex::with_seed(seed)
    }
}

/// What `FixedState` gives for a known input: an image read by a build whose hash differs is
/// refused (its slots would be misplaced).
const PROBE: &[u8] = b"arpilot id index";

const EMPTY: u32 = 0;
const TOMBSTONE: u32 = u32::MAX;
const ROW_BITS: u32 = 27;
const ROW_MASK: u32 = (1 << ROW_BITS) - 1;
/// Largest number of ids a table holds (rows are stored + 1 in 27 bits, the last value is taken).
pub const MAX_IDS: usize = ROW_MASK as usize - 1;

impl std::fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdIndex({} ids)", self.arena.len())
    }
}

impl IdIndex {
    fn with_seed(seed: u64) -> IdIndex {
        IdIndex {
            arena: StrArena::default(),
            slots: Col::new(),
            used: 0,
            seed,
            hasher: FixedState::with_seed(seed),
        }
    }

    pub(crate) fn write_image<W: Write>(&self, e: &mut Enc<W>) -> std::io::Result<()> {
        e.put(self.seed)?;
        e.put(self.hasher.hash_one(PROBE))?;
        self.arena.write_image(e)?;
        e.col(&self.slots)?;
        e.put(self.used as u64)
    }

    pub(crate) fn read_image<R: Read>(d: &mut Dec<R>) -> Result<IdIndex, ImageError> {
        let mut ix = IdIndex::with_seed(d.get()?);
        let probe: u64 = d.get()?;
        d.check(
            probe == ix.hasher.hash_one(PROBE),
            "written by a build that hashes ids differently",
        )?;
        ix.arena = StrArena::read_image(d)?;
        ix.slots = d.column()?;
        ix.used = d.get::<u64>()? as usize;
        let n = ix.arena.len();
        d.check(
            n <= MAX_IDS
                && ix.used >= n
                && ix.used <= ix.slots.len()
                && (n == 0 || ix.slots.len() > ix.used)
                // Every row named is one of the ids (a plain maximum, so that it vectorises).
                && ix
                    .slots
                    .iter()
                    .map(|&v| if v == TOMBSTONE { 0 } else { v & ROW_MASK })
                    .max()
                    .is_none_or(|m| m as usize <= n),
            "an id index does not match its ids",
        )?;
        Ok(ix)
    }

    pub fn len(&self) -> usize {
        self.arena.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arena.is_empty()
    }

    pub fn get(&self, row: u32) -> &str {
        self.arena.get(row)
    }

    #[inline]
    fn start_and_tag(&self, id: &str) -> (usize, u32) {
        let h = self.hasher.hash_one(id.as_bytes());
        let start = ((h as u32 as u64 * self.slots.len() as u64) >> 32) as usize;
        (start, ((h >> 59) as u32) << ROW_BITS)
    }

    pub fn find(&self, id: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let (mut k, tag) = self.start_and_tag(id);
        loop {
            let v = self.slots[k];
            if v == EMPTY {
                return None;
            }
            if v != TOMBSTONE && v & !ROW_MASK == tag {
                let row = (v & ROW_MASK) - 1;
                if self.arena.bytes(row) == id.as_bytes() {
                    return Some(row);
                }
            }
            k += 1;
            if k == self.slots.len() {
                k = 0;
            }
        }
    }

    /// Appends `id` as the next row. The caller has checked that it is new.
    pub fn push(&mut self, id: &str) -> u32 {
        assert!(
            self.arena.len() < MAX_IDS,
            "more than {MAX_IDS} ids in one table"
        );
        if (self.used + 1) * 5 > self.slots.len() * 4 {
            self.rehash((self.arena.len() + 1) * 15 / 8 + 16);
        }
        let row = self.arena.push(id);
        self.place(id, row);
        row
    }

    fn place(&mut self, id: &str, row: u32) {
        let (k, tag) = self.start_and_tag(id);
        if place(&mut self.slots, k, tag | (row + 1)) {
            self.used += 1;
        }
    }

    fn rehash(&mut self, capacity: usize) {
        let mut slots = vec![EMPTY; capacity.max(8)];
        let n = slots.len() as u64;
        for row in 0..self.arena.len() as u32 {
            let h = self.hasher.hash_one(self.arena.bytes(row));
            let k = ((h as u32 as u64 * n) >> 32) as usize;
            place(&mut slots, k, (((h >> 59) as u32) << ROW_BITS) | (row + 1));
        }
        self.slots = slots.into();
        self.used = self.arena.len();
    }

    /// Forgets every row from `n` on (rollback of a failed batch).
    pub fn truncate(&mut self, n: usize) {
        for row in n..self.arena.len() {
            let id = self.arena.get(row as u32);
            let (mut k, _) = self.start_and_tag(id);
            while self.slots[k] != EMPTY {
                if self.slots[k] != TOMBSTONE && (self.slots[k] & ROW_MASK) - 1 == row as u32 {
                    self.slots[k] = TOMBSTONE;
                    break;
                }
                k = (k + 1) % self.slots.len();
            }
        }
        self.arena.truncate(n);
    }

    pub fn reserve(&mut self, n: usize) {
        let want = (self.arena.len() + n) * 5 / 4 + 16;
        if want > self.slots.len() {
            self.rehash(want);
        }
    }

    /// Resizes the table to a two-thirds load: room for the appends that follow, since a table
    /// left at the 80 % limit would be rehashed whole by the next id (400 ms at 7 M ids).
    pub fn shrink_to_fit(&mut self) {
        self.arena.shrink_to_fit();
        self.rehash(self.arena.len() * 3 / 2 + 16);
    }

    pub fn heap_bytes(&self) -> usize {
        self.arena.heap_bytes() + self.slots.capacity() * 4
    }
}

/// Linear probing from `k`; true when an empty (not a reused tombstone) slot was taken.
fn place(slots: &mut [u32], mut k: usize, v: u32) -> bool {
    while slots[k] != EMPTY && slots[k] != TOMBSTONE {
        k += 1;
        if k == slots.len() {
            k = 0;
        }
    }
    let fresh = slots[k] == EMPTY;
    slots[k] = v;
    fresh
}

/// Distinct values of a text attribute; code 0 is always the empty value.
#[derive(Clone, Debug)]
pub struct Dict {
    values: Vec<String>,
    /// Value → code, built when first needed: a dictionary read from an image is often only
    /// read by code (ids and e-mail addresses of 100 000 customers cost 80 ms to index).
    lookup: std::sync::OnceLock<crate::snapshot::Map<String, u32>>,
}

impl Default for Dict {
    fn default() -> Self {
        Dict::of(vec![String::new()])
    }
}

impl Dict {
    fn of(values: Vec<String>) -> Dict {
        Dict {
            values,
            lookup: std::sync::OnceLock::new(),
        }
    }

    fn lookup(&self) -> &crate::snapshot::Map<String, u32> {
        self.lookup
            .get_or_init(|| self.values.iter().cloned().zip(0..).collect())
    }

    pub fn code(&mut self, v: &str) -> u32 {
        if let Some(&c) = self.lookup().get(v) {
            return c;
        }
        let c = self.values.len() as u32;
        self.values.push(v.to_string());
        self.lookup
            .get_mut()
            .expect("built above")
            .insert(v.to_string(), c);
        c
    }

    pub fn find(&self, v: &str) -> Option<u32> {
        self.lookup().get(v).copied()
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

    pub(crate) fn write_image<W: Write>(&self, e: &mut Enc<W>) -> std::io::Result<()> {
        e.strs(self.values.iter().map(String::as_str))
    }

    pub(crate) fn read_image<R: Read>(d: &mut Dec<R>) -> Result<Dict, ImageError> {
        let values = d.strings()?;
        let distinct: foldhash::HashSet<&str> = values.iter().map(String::as_str).collect();
        d.check(
            values.first().is_some_and(String::is_empty) && distinct.len() == values.len(),
            "a dictionary's values are not distinct",
        )?;
        Ok(Dict::of(values))
    }
}

/// A dictionary-encoded column: one code per row, rows never set read as the empty value.
#[derive(Clone, Debug)]
pub struct DimCol {
    pub name: String,
    pub dict: Dict,
    codes: Col<u32>,
}

impl DimCol {
    pub fn new(name: &str) -> DimCol {
        DimCol {
            name: name.to_string(),
            dict: Dict::default(),
            codes: Col::new(),
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

    fn write_image<W: Write>(&self, e: &mut Enc<W>) -> std::io::Result<()> {
        e.str(&self.name)?;
        self.dict.write_image(e)?;
        e.col(&self.codes)
    }

    fn read_image<R: Read>(d: &mut Dec<R>) -> Result<DimCol, ImageError> {
        let c = DimCol {
            name: d.string()?,
            dict: Dict::read_image(d)?,
            codes: d.column()?,
        };
        let n = c.dict.len() as u32;
        d.check(
            c.codes.iter().all(|&k| k < n),
            "a dimension's code is not in its dictionary",
        )?;
        Ok(c)
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

    pub(crate) fn write_image<W: Write>(&self, e: &mut Enc<W>) -> std::io::Result<()> {
        e.put(self.cols.len() as u64)?;
        self.cols.iter().try_for_each(|c| c.write_image(e))
    }

    pub(crate) fn read_image<R: Read>(d: &mut Dec<R>) -> Result<Dims, ImageError> {
        let n = d.len(8)?;
        Ok(Dims {
            cols: (0..n)
                .map(|_| DimCol::read_image(d))
                .collect::<Result<_, _>>()?,
        })
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
    fn arena_switches_from_fixed_to_variable_width() {
        let mut a = StrArena::default();
        for s in ["F001", "F002", "F003"] {
            a.push(s);
        }
        assert!(a.ends.is_empty());
        a.push("AV-12");
        a.push("X");
        assert_eq!(
            (0..5).map(|i| a.get(i)).collect::<Vec<_>>(),
            ["F001", "F002", "F003", "AV-12", "X"]
        );
        a.truncate(2);
        a.push("Z9");
        assert_eq!(a.get(1), "F002");
        assert_eq!(a.get(2), "Z9");
        assert_eq!(a.len(), 3);
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
