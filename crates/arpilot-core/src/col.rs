//! A column of fixed-size numbers that either owns its values or borrows them from bytes kept
//! alive beside it (an image file mapped into memory by the application).
//!
//! A process that reads a large ledger's image only to check a small batch (an import beside a
//! running server) would otherwise copy a gigabyte into fresh memory, and on the machines we
//! run on the kernel providing fresh pages is most of that time. A borrowed column costs nothing
//! until it is read, and becomes owned (a copy of its values) the first time it is changed.
//!
//! Reading is the same either way: a column dereferences to a slice, so the kernels do not know
//! which kind they read.
//!
//! Owned values are shared between copies of a column until one of them changes them: a copy of
//! a snapshot (a push arriving while a page request reads the current view) then costs the
//! columns the push changes, not every column.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Bytes that stay where they are, unchanged, for as long as anything holds them (a mapped
/// image file that is never written in place: images are written under another name, then
/// renamed over the old one).
///
/// # Safety
/// `bytes` returns the same slice, at the same address and with the same contents, every time
/// it is called on the same value: borrowed columns keep pointers into it.
pub unsafe trait Backing: Send + Sync {
    fn bytes(&self) -> &[u8];
}

// SAFETY: a vector held behind an `Arc` is never changed or moved.
unsafe impl Backing for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// Numbers whose every bit pattern is a value, the only types a column may borrow from bytes.
///
/// # Safety
/// Implemented only for primitive integers (no padding, no invalid values).
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => {$( unsafe impl Plain for $t {} )*};
}
plain!(u8, u16, u32, u64, u128, i16, i32, i64, i128);

struct Borrowed<T> {
    ptr: *const T,
    len: usize,
    _keep: Arc<dyn Backing>,
}

/// See the module's documentation.
pub struct Col<T: Plain> {
    own: Arc<Vec<T>>,
    borrowed: Option<Borrowed<T>>,
}

// SAFETY: a borrowed column only reads bytes its `Backing` (Send + Sync) keeps unchanged.
unsafe impl<T: Plain> Send for Col<T> {}
unsafe impl<T: Plain> Sync for Col<T> {}

impl<T: Plain> Col<T> {
    pub fn new() -> Col<T> {
        Col {
            own: Arc::default(),
            borrowed: None,
        }
    }

    /// The `len` values at byte `start` of `keep`'s bytes, borrowed where they are. `None`
    /// when they cannot be: the range is not within the bytes, the values are not aligned for
    /// `T`, or this machine is not little-endian (the image's order) — the caller decodes them.
    pub fn borrow(keep: &Arc<dyn Backing>, start: usize, len: usize) -> Option<Col<T>> {
        let size = std::mem::size_of::<T>();
        let bytes = keep
            .bytes()
            .get(start..start.checked_add(len.checked_mul(size)?)?)?;
        let ptr = bytes.as_ptr();
        if !cfg!(target_endian = "little")
            || !(ptr as usize).is_multiple_of(std::mem::align_of::<T>())
        {
            return None;
        }
        Some(Col {
            own: Arc::default(),
            borrowed: Some(Borrowed {
                ptr: ptr.cast(),
                len,
                _keep: keep.clone(),
            }),
        })
    }

    /// Whether the values are borrowed (not yet copied).
    pub fn is_borrowed(&self) -> bool {
        self.borrowed.is_some()
    }

    /// The values as an owned vector of this column alone, copied first when borrowed or
    /// shared with a copy of the column (with room to grow, since a column is copied when
    /// something is about to be added or changed).
    fn owned(&mut self) -> &mut Vec<T> {
        if let Some(b) = self.borrowed.take() {
            // SAFETY: see `Deref`.
            let s = unsafe { std::slice::from_raw_parts(b.ptr, b.len) };
            self.own = Arc::new(roomy(s));
        }
        if Arc::get_mut(&mut self.own).is_none() {
            self.own = Arc::new(roomy(&self.own));
        }
        Arc::get_mut(&mut self.own).expect("held by this column alone")
    }

    pub fn into_vec(mut self) -> Vec<T> {
        std::mem::take(self.owned())
    }

    pub fn push(&mut self, v: T) {
        self.owned().push(v)
    }

    pub fn extend_from_slice(&mut self, v: &[T]) {
        self.owned().extend_from_slice(v)
    }

    pub fn resize(&mut self, n: usize, v: T) {
        self.owned().resize(n, v)
    }

    pub fn reserve(&mut self, n: usize) {
        self.owned().reserve(n)
    }

    pub fn clear(&mut self) {
        self.borrowed = None;
        match Arc::get_mut(&mut self.own) {
            Some(v) => v.clear(),
            None => self.own = Arc::default(),
        }
    }

    pub fn pop(&mut self) -> Option<T> {
        self.owned().pop()
    }

    /// Shortens the column; a borrowed one stays borrowed.
    pub fn truncate(&mut self, n: usize) {
        match &mut self.borrowed {
            Some(b) => b.len = b.len.min(n),
            None if n < self.own.len() => self.owned().truncate(n),
            None => {}
        }
    }

    /// Gives back unused room, unless the values are shared with a copy (whose room it is too).
    pub fn shrink_to_fit(&mut self) {
        if let Some(v) = Arc::get_mut(&mut self.own) {
            v.shrink_to_fit()
        }
    }

    /// Values this column holds on the heap (borrowed ones are not: they are the mapped
    /// file's pages).
    pub fn capacity(&self) -> usize {
        self.own.capacity()
    }
}

impl<T: Plain> Deref for Col<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.borrowed {
            // SAFETY: `borrow` checked the range and the alignment; `_keep` holds the bytes,
            // which never change while held (`Backing`).
            Some(b) => unsafe { std::slice::from_raw_parts(b.ptr, b.len) },
            None => self.own.as_slice(),
        }
    }
}

impl<T: Plain> DerefMut for Col<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        self.owned()
    }
}

/// A copy of `s` with room to grow.
fn roomy<T: Plain>(s: &[T]) -> Vec<T> {
    let mut v = Vec::with_capacity(s.len() + s.len() / 8 + 16);
    v.extend_from_slice(s);
    v
}

impl<T: Plain> Default for Col<T> {
    fn default() -> Self {
        Col::new()
    }
}

impl<T: Plain> Clone for Col<T> {
    fn clone(&self) -> Self {
        match &self.borrowed {
            Some(b) => Col {
                own: Arc::default(),
                borrowed: Some(Borrowed {
                    ptr: b.ptr,
                    len: b.len,
                    _keep: b._keep.clone(),
                }),
            },
            // Shared until one of the two changes them (see `owned`).
            None => Col {
                own: Arc::clone(&self.own),
                borrowed: None,
            },
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Col<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self[..].fmt(f)
    }
}

impl<T: Plain + PartialEq> PartialEq for Col<T> {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl<T: Plain + PartialEq> PartialEq<Vec<T>> for Col<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        self[..] == other[..]
    }
}

impl<T: Plain> From<Vec<T>> for Col<T> {
    fn from(own: Vec<T>) -> Self {
        Col {
            own: Arc::new(own),
            borrowed: None,
        }
    }
}

impl<T: Plain> FromIterator<T> for Col<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        Col::from(it.into_iter().collect::<Vec<T>>())
    }
}

impl<T: Plain> Extend<T> for Col<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, it: I) {
        self.owned().extend(it)
    }
}

impl<'a, T: Plain> IntoIterator for &'a Col<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_until_changed() {
        let values = [7u32, 0xdead_beef, 3];
        // The values at an aligned place of the bytes, and one byte off.
        let mut bytes = vec![0u8; 32];
        let at = (4 - bytes.as_ptr() as usize % 4) % 4;
        for (k, v) in values.iter().enumerate() {
            bytes[at + 4 * k..at + 4 * k + 4].copy_from_slice(&v.to_le_bytes());
            bytes[at + 17 + 4 * k..at + 21 + 4 * k].copy_from_slice(&v.to_le_bytes());
        }
        let keep: Arc<dyn Backing> = Arc::new(bytes);
        // Misaligned or out of range: not borrowed (the image's reader decodes those).
        assert!(Col::<u32>::borrow(&keep, at + 17, 3).is_none());
        assert!(Col::<u32>::borrow(&keep, 30, 1).is_none());
        assert!(Col::<u32>::borrow(&keep, usize::MAX, 1).is_none());

        let mut c = Col::<u32>::borrow(&keep, at, 3).unwrap();
        assert!(c.is_borrowed());
        assert_eq!(c, values.to_vec());
        let copy = c.clone();
        c.truncate(2);
        assert!(c.is_borrowed());
        assert_eq!(c, vec![7, 0xdead_beef]);
        c.push(9);
        c[0] = 1;
        assert!(!c.is_borrowed());
        assert_eq!(c, vec![1, 0xdead_beef, 9]);
        // The clone still reads the bytes, which did not change.
        assert!(copy.is_borrowed());
        assert_eq!(copy.into_vec(), values.to_vec());
    }

    #[test]
    fn owned_values_are_shared_by_copies_until_changed() {
        let mut a = Col::from(vec![1u64, 2, 3]);
        let b = a.clone();
        assert_eq!(a.as_ptr(), b.as_ptr(), "a copy shares the values");
        a.push(4);
        assert_ne!(a.as_ptr(), b.as_ptr(), "changed, the column has its own");
        assert_eq!(
            (a, b.clone()),
            (Col::from(vec![1, 2, 3, 4]), Col::from(vec![1, 2, 3]))
        );
        // Alone again, a column changes its values where they are.
        let mut c = b;
        let at = c.as_ptr();
        c[0] = 9;
        c.truncate(2);
        assert_eq!((c.as_ptr(), c.into_vec()), (at, vec![9, 2]));
    }
}
