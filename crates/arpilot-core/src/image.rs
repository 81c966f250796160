//! A compact binary form of in-memory state, for the snapshot's image (see
//! [`Snapshot::write_image`](crate::Snapshot::write_image)): little-endian numbers, columns written
//! as a length and their values, a checksum of everything at the end.
//!
//! The reader is given the image's size and refuses any length that could not fit in it, so a
//! damaged image is an error, never a huge allocation or a panic.

use crate::col::{Backing, Col, Plain};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// Why an image cannot be read. The caller builds the state from the ledger instead.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("reading the image: {0}")]
    Io(#[from] io::Error),
    #[error("the image is not usable: {0}")]
    Format(String),
}

fn bad(what: impl Into<String>) -> ImageError {
    ImageError::Format(what.into())
}

/// Fixed-size values written as their little-endian bytes.
pub trait Pod: Plain + Default {
    const N: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

macro_rules! pod {
    ($($t:ty),*) => {$(
        impl Pod for $t {
            const N: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn get(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b[..Self::N].try_into().expect("length"))
            }
        }
    )*};
}
pod!(u8, u16, u32, u64, u128, i16, i32, i64, i128);

/// A checksum of a byte stream, independent of how the stream is cut: four lanes of 8-byte
/// words (so that one pass over a gigabyte takes a fraction of a second), the tail padded.
#[derive(Clone)]
struct Sum {
    lanes: [u64; 4],
    pending: [u8; 32],
    np: usize,
    total: u64,
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Sum {
    fn new() -> Sum {
        Sum {
            lanes: [1, 2, 3, 4],
            pending: [0; 32],
            np: 0,
            total: 0,
        }
    }

    #[inline]
    fn block(lanes: &mut [u64; 4], b: &[u8]) {
        for (l, w) in lanes.iter_mut().zip(b.chunks_exact(8)) {
            let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
            *l = (*l ^ w).wrapping_mul(K).rotate_left(31);
        }
    }

    fn feed(&mut self, mut b: &[u8]) {
        self.total += b.len() as u64;
        if self.np > 0 {
            let k = (32 - self.np).min(b.len());
            self.pending[self.np..self.np + k].copy_from_slice(&b[..k]);
            self.np += k;
            b = &b[k..];
            if self.np < 32 {
                return;
            }
            let p = self.pending;
            Sum::block(&mut self.lanes, &p);
            self.np = 0;
        }
        let mut blocks = b.chunks_exact(32);
        for c in &mut blocks {
            Sum::block(&mut self.lanes, c);
        }
        let rest = blocks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.np = rest.len();
    }

    fn finish(&self) -> u64 {
        let mut lanes = self.lanes;
        let mut p = [0u8; 32];
        p[..self.np].copy_from_slice(&self.pending[..self.np]);
        Sum::block(&mut lanes, &p);
        let mut h = self.total.wrapping_mul(K);
        for l in lanes {
            h = (h ^ l).wrapping_mul(K).rotate_left(27);
        }
        h
    }
}

const CHUNK: usize = 1 << 20;

/// Columns' values start at multiples of this many bytes from the image's start.
const ALIGN: usize = 16;

fn padding(position: u64) -> usize {
    (ALIGN - (position % ALIGN as u64) as usize) % ALIGN
}

/// Writes an image.
pub struct Enc<W: Write> {
    w: W,
    buf: Vec<u8>,
    sum: Sum,
}

impl<W: Write> Enc<W> {
    pub fn new(w: W) -> Enc<W> {
        Enc {
            w,
            buf: Vec::with_capacity(CHUNK + 64),
            sum: Sum::new(),
        }
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.sum.feed(&self.buf);
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    pub fn put<T: Pod>(&mut self, v: T) -> io::Result<()> {
        v.put(&mut self.buf);
        self.spill()
    }

    pub fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.put(b.len() as u64)?;
        for c in b.chunks(CHUNK) {
            self.buf.extend_from_slice(c);
            self.spill()?;
        }
        Ok(())
    }

    pub fn str(&mut self, s: &str) -> io::Result<()> {
        self.bytes(s.as_bytes())
    }

    pub fn opt_str(&mut self, s: Option<&str>) -> io::Result<()> {
        match s {
            None => self.put(0u8),
            Some(s) => {
                self.put(1u8)?;
                self.str(s)
            }
        }
    }

    /// Bytes written so far.
    fn position(&self) -> u64 {
        self.sum.total + self.buf.len() as u64
    }

    /// A column: its length, zeros up to a multiple of [`ALIGN`] bytes from the image's
    /// start, then its values (so that a mapped image's columns can be read where they are).
    pub fn col<T: Pod>(&mut self, v: &[T]) -> io::Result<()> {
        self.put(v.len() as u64)?;
        let pad = padding(self.position());
        self.buf.extend_from_slice(&[0u8; ALIGN][..pad]);
        for c in v.chunks(CHUNK / 16) {
            for &x in c {
                x.put(&mut self.buf);
            }
            self.spill()?;
        }
        Ok(())
    }

    /// A column of optional values: a presence byte per row, then the values (0 when absent).
    pub fn opt_col<T: Pod>(&mut self, v: &[Option<T>]) -> io::Result<()> {
        let present: Vec<u8> = v.iter().map(|x| x.is_some() as u8).collect();
        let values: Vec<T> = v.iter().map(|x| x.unwrap_or_default()).collect();
        self.col(&present)?;
        self.col(&values)
    }

    pub fn strs<'a>(&mut self, v: impl ExactSizeIterator<Item = &'a str>) -> io::Result<()> {
        self.put(v.len() as u64)?;
        for s in v {
            self.str(s)?;
        }
        Ok(())
    }

    /// Ends the image with the checksum of everything written.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_buf()?;
        let sum = self.sum.finish();
        self.w.write_all(&sum.to_le_bytes())?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Reads an image of `size` bytes written by [`Enc`], from a reader or from bytes in memory
/// ([`Dec::mapped`]), whose columns are then borrowed where they are ([`Dec::column`]).
pub struct Dec<R: Read> {
    r: R,
    /// The bytes read from, when in memory, and the position of the next one.
    map: Option<Arc<dyn Backing>>,
    at: usize,
    size: u64,
    /// The checksum of an image in memory, computed in one pass on another thread while the
    /// image is decoded (value by value, the summing cost more than the decoding).
    summing: Option<std::thread::JoinHandle<u64>>,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Summed as read from `r` (a whole buffer at a time, not value by value), up to the
    /// checksum that ends the image.
    sum: Sum,
    content: u64,
    hashed: u64,
    /// Bytes of the image not taken yet (the checksum included).
    left: u64,
}

impl<R: Read> Dec<R> {
    pub fn new(r: R, size: u64) -> Dec<R> {
        Dec::with_buffer(r, size, vec![0; CHUNK])
    }

    fn with_buffer(r: R, size: u64, buf: Vec<u8>) -> Dec<R> {
        Dec {
            r,
            map: None,
            at: 0,
            size,
            summing: None,
            buf,
            pos: 0,
            len: 0,
            sum: Sum::new(),
            content: size.saturating_sub(8),
            hashed: 0,
            left: size,
        }
    }

    /// Bytes of the image taken so far.
    fn position(&self) -> u64 {
        self.size - self.left
    }

    /// Makes at least `n` (≤ the buffer's size) bytes available.
    fn fill(&mut self, n: usize) -> Result<(), ImageError> {
        if self.len - self.pos >= n {
            return Ok(());
        }
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        while self.len < n {
            let k = self.r.read(&mut self.buf[self.len..])?;
            if k == 0 {
                return Err(bad("the image ends early"));
            }
            let h = (k as u64).min(self.content - self.hashed) as usize;
            self.sum.feed(&self.buf[self.len..self.len + h]);
            self.hashed += h as u64;
            self.len += k;
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&[u8], ImageError> {
        if n as u64 > self.left {
            return Err(bad("the image ends early"));
        }
        // Not `if let`: the slice returned would keep `self` borrowed on the other path too.
        #[allow(clippy::unnecessary_unwrap)]
        if self.map.is_some() {
            let at = self.at;
            self.at += n;
            self.left -= n as u64;
            return Ok(&self.map.as_ref().expect("mapped").bytes()[at..at + n]);
        }
        self.fill(n)?;
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        self.left -= n as u64;
        Ok(b)
    }

    pub fn get<T: Pod>(&mut self) -> Result<T, ImageError> {
        Ok(T::get(self.take(T::N)?))
    }

    /// The `n` bytes of a fixed-size record, taken at once (a million records read field by
    /// field spent more time taking than decoding).
    pub fn row(&mut self, n: usize) -> Result<Row<'_>, ImageError> {
        Ok(Row(self.take(n)?))
    }

    /// A length of items of `item` bytes each, refused when they could not fit in the image.
    pub fn len(&mut self, item: usize) -> Result<usize, ImageError> {
        let n: u64 = self.get()?;
        if n.saturating_mul(item.max(1) as u64) > self.left {
            return Err(bad("a length runs past the end of the image"));
        }
        Ok(n as usize)
    }

    pub fn bytes_into(&mut self, out: &mut Vec<u8>) -> Result<(), ImageError> {
        let mut n = self.len(1)?;
        out.reserve_exact(n);
        while n > 0 {
            let k = n.min(CHUNK);
            out.extend_from_slice(self.take(k)?);
            n -= k;
        }
        Ok(())
    }

    pub fn bytes(&mut self) -> Result<Vec<u8>, ImageError> {
        let mut v = Vec::new();
        self.bytes_into(&mut v)?;
        Ok(v)
    }

    pub fn string(&mut self) -> Result<String, ImageError> {
        String::from_utf8(self.bytes()?).map_err(|_| bad("a text is not UTF-8"))
    }

    pub fn opt_string(&mut self) -> Result<Option<String>, ImageError> {
        Ok(match self.get::<u8>()? {
            0 => None,
            _ => Some(self.string()?),
        })
    }

    pub fn col<T: Pod>(&mut self) -> Result<Vec<T>, ImageError> {
        Ok(self.column()?.into_vec())
    }

    /// A column written by [`Enc::col`]: borrowed where it is from an image in memory,
    /// decoded into fresh memory from a reader.
    pub fn column<T: Pod>(&mut self) -> Result<Col<T>, ImageError> {
        let n = self.len(T::N)?;
        let pad = padding(self.position());
        self.take(pad)?;
        self.values(n)
    }

    /// The bytes written by [`Enc::bytes`], borrowed or read as [`Dec::column`].
    pub fn byte_column(&mut self) -> Result<Col<u8>, ImageError> {
        let n = self.len(1)?;
        self.values(n)
    }

    fn values<T: Pod>(&mut self, n: usize) -> Result<Col<T>, ImageError> {
        let bytes = n
            .checked_mul(T::N)
            .filter(|&b| b as u64 <= self.left)
            .ok_or_else(|| bad("a length runs past the end of the image"))?;
        // In memory and aligned, borrowed; otherwise decoded below (from memory, `take` reads
        // the mapped bytes).
        if let Some(col) = self.map.as_ref().and_then(|m| Col::borrow(m, self.at, n)) {
            self.take(bytes)?;
            return Ok(col);
        }
        // Zeroed memory the kernel only provides on first touch. Providing it, page by page,
        // was half of reading an image (a gigabyte at 10 M invoices): for a large column a
        // second thread touches the back half while the front half is decoded.
        let mut out = vec![T::default(); n];
        if n * T::N >= TOUCH_AHEAD {
            let (front, back) = out.split_at_mut(n / 2);
            std::thread::scope(|s| {
                let ahead = &mut *back;
                s.spawn(move || touch(ahead));
                self.fill_col(front)
            })?;
            self.fill_col(back)?;
        } else {
            self.fill_col(&mut out)?;
        }
        Ok(Col::from(out))
    }

    fn fill_col<T: Pod>(&mut self, out: &mut [T]) -> Result<(), ImageError> {
        for part in out.chunks_mut(CHUNK / T::N) {
            let b = self.take(part.len() * T::N)?;
            for (x, c) in part.iter_mut().zip(b.chunks_exact(T::N)) {
                *x = T::get(c);
            }
        }
        Ok(())
    }

    pub fn opt_col<T: Pod>(&mut self) -> Result<Vec<Option<T>>, ImageError> {
        let present: Vec<u8> = self.col()?;
        let values: Vec<T> = self.col()?;
        if present.len() != values.len() {
            return Err(bad("an optional column's lengths differ"));
        }
        Ok(present
            .into_iter()
            .zip(values)
            .map(|(p, v)| (p != 0).then_some(v))
            .collect())
    }

    pub fn strings(&mut self) -> Result<Vec<String>, ImageError> {
        let n = self.len(8)?;
        (0..n).map(|_| self.string()).collect()
    }

    /// Checks the checksum that ends the image, and that nothing follows it.
    pub fn finish(mut self) -> Result<(), ImageError> {
        if self.left != 8 {
            return Err(bad("the image is longer than what it holds"));
        }
        let (got, sum) = match &self.map {
            Some(map) => (
                u64::from_le_bytes(
                    map.bytes()[self.at..self.at + 8]
                        .try_into()
                        .expect("8 bytes"),
                ),
                match self.summing.take().map(|h| h.join()) {
                    Some(Ok(sum)) => sum,
                    _ => return Err(bad("the checksum could not be computed")),
                },
            ),
            None => {
                self.fill(8)?;
                let got =
                    u64::from_le_bytes(self.buf[self.pos..self.pos + 8].try_into().expect("8"));
                self.pos += 8;
                (got, self.sum.finish())
            }
        };
        if self.hashed != self.content || got != sum {
            return Err(bad("the checksum does not match"));
        }
        if self.map.is_some() {
            return Ok(());
        }
        let mut extra = [0u8; 1];
        if self.pos < self.len || self.r.read(&mut extra)? > 0 {
            return Err(bad("bytes follow the checksum"));
        }
        Ok(())
    }

    /// Fails with `what` unless `ok`.
    pub fn check(&self, ok: bool, what: &str) -> Result<(), ImageError> {
        if ok { Ok(()) } else { Err(bad(what)) }
    }
}

/// A record's bytes ([`Dec::row`]), read in the order they were written.
pub struct Row<'a>(&'a [u8]);

impl Row<'_> {
    /// The next value. Records have a size fixed by their fields' types, so a row taken with
    /// the wrong size is a bug of this build, not a damaged image: it panics.
    #[inline]
    pub fn get<T: Pod>(&mut self) -> T {
        let (v, rest) = self.0.split_at(T::N);
        self.0 = rest;
        T::get(v)
    }

    /// Whether every byte was read.
    pub fn is_done(&self) -> bool {
        self.0.is_empty()
    }
}

impl Dec<io::Empty> {
    /// Reads the image of `size` bytes at `start` of `map` (refused when it is not all there).
    pub fn mapped(map: Arc<dyn Backing>, start: usize, size: u64) -> Result<Self, ImageError> {
        let end = (start as u64).checked_add(size);
        if end.is_none_or(|e| e > map.bytes().len() as u64) {
            return Err(bad("the image runs past the bytes given"));
        }
        // No buffer: `take` hands out the mapped bytes themselves.
        let mut d = Dec::with_buffer(io::empty(), size, Vec::new());
        d.hashed = d.content;
        let (m, end) = (map.clone(), start + d.content as usize);
        d.summing = Some(std::thread::spawn(move || {
            let mut sum = Sum::new();
            sum.feed(&m.bytes()[start..end]);
            sum.finish()
        }));
        d.map = Some(map);
        d.at = start;
        Ok(d)
    }
}

/// Columns of at least this many bytes are touched ahead while decoded (see [`Dec::col`]).
const TOUCH_AHEAD: usize = 8 << 20;

/// Writes one value per page of `v`, so that the kernel provides its pages now.
fn touch<T: Pod>(v: &mut [T]) {
    let step = (4096 / std::mem::size_of::<T>()).max(1);
    for k in (0..v.len()).step_by(step) {
        // Not a value the compiler may know is there already (fresh zeroed memory).
        v[k] = std::hint::black_box(T::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut e = Enc::new(Vec::new());
        e.put(7u32).unwrap();
        // 9.6 MB: a column decoded in two halves, the back one touched ahead.
        let long: Vec<i64> = (0..1_200_000).map(|k| k * 7 - 3).collect();
        assert!(long.len() * 8 >= TOUCH_AHEAD);
        e.col(&long).unwrap();
        e.str("façade").unwrap();
        e.opt_col(&[Some(3i32), None]).unwrap();
        let bytes = e.finish().unwrap();
        let read = |b: &[u8]| -> Result<_, ImageError> {
            let mut d = Dec::new(b, b.len() as u64);
            let a: u32 = d.get()?;
            let v: Vec<i64> = d.col()?;
            let s = d.string()?;
            let o: Vec<Option<i32>> = d.opt_col()?;
            d.finish()?;
            Ok((a, v, s, o))
        };
        let (a, v, s, o) = read(&bytes).unwrap();
        assert_eq!((a, s.as_str()), (7, "façade"));
        assert_eq!(v, long);
        assert_eq!(o, vec![Some(3), None]);
        // One bit changed anywhere, the end cut or a byte added: refused.
        let mut flipped = bytes.clone();
        flipped[1_000_000] ^= 4;
        assert!(matches!(read(&flipped), Err(ImageError::Format(_))));
        assert!(read(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer).is_err());
        // A length larger than the image is refused before anything is allocated.
        let mut e = Enc::new(Vec::new());
        e.put(u64::MAX / 2).unwrap();
        let b = e.finish().unwrap();
        let mut d = Dec::new(&b[..], b.len() as u64);
        assert!(d.col::<i64>().is_err());
    }
}
