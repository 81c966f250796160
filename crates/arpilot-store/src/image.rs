//! The file keeping an image of the ledger's snapshot, so that a process starts by reading it
//! instead of every stored event (see `Snapshot::write_image`). It is a cache: the ledger stays
//! the truth, and an image that is missing, damaged or made from another state of the ledger is
//! ignored (the application checks the header it wrote).
//!
//! Layout: the sections one after the other, then the header (UTF-8 text, the application's),
//! its length (8 bytes, little-endian) and a magic number. The file is written beside its final
//! name, synced, then renamed over it, so a reader sees the old image or the new one, never half.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"ARPIMAGE";
/// The longest header read.
const MAX_HEADER: u64 = 1 << 20;

/// An image being written; nothing replaces the current image until [`ImageWriter::commit`].
pub struct ImageWriter {
    path: PathBuf,
    tmp: PathBuf,
    file: BufWriter<File>,
}

/// Counts what goes through it.
struct Counting<'a> {
    w: &'a mut BufWriter<File>,
    n: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let k = self.w.write(b)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl ImageWriter {
    pub fn create(path: &Path) -> io::Result<ImageWriter> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp)?;
        Ok(ImageWriter {
            path: path.to_path_buf(),
            tmp,
            file: BufWriter::with_capacity(1 << 20, file),
        })
    }

    /// Writes one section through `f`; its size.
    pub fn section(&mut self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<u64> {
        let mut c = Counting {
            w: &mut self.file,
            n: 0,
        };
        f(&mut c)?;
        Ok(c.n)
    }

    /// Ends the file with `header` and puts it in place of the current image.
    pub fn commit(mut self, header: &str) -> io::Result<()> {
        self.file.write_all(header.as_bytes())?;
        self.file.write_all(&(header.len() as u64).to_le_bytes())?;
        self.file.write_all(MAGIC)?;
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)
    }

    /// Gives up: the current image stays.
    pub fn abandon(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// An image found on disk: its header, and the file to read the sections from (positioned at
/// the first).
pub struct ImageFile {
    pub header: String,
    pub file: File,
    /// Bytes before the header: the sections' total.
    pub sections: u64,
}

/// The image at `path`, `None` when there is none; an error when the file is not an image.
pub fn open(path: &Path) -> io::Result<Option<ImageFile>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let size = file.metadata()?.len();
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    if size < 16 {
        return Err(invalid("too short for an image"));
    }
    file.seek(SeekFrom::End(-16))?;
    let mut tail = [0u8; 16];
    file.read_exact(&mut tail)?;
    if &tail[8..] != MAGIC {
        return Err(invalid("not an image"));
    }
    let len = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
    if len > MAX_HEADER || len > size - 16 {
        return Err(invalid("the image's header runs past its start"));
    }
    let sections = size - 16 - len;
    file.seek(SeekFrom::Start(sections))?;
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header)?;
    let header = String::from_utf8(header).map_err(|_| invalid("the header is not UTF-8"))?;
    file.seek(SeekFrom::Start(0))?;
    Ok(Some(ImageFile {
        header,
        file,
        sections,
    }))
}

/// An image file mapped into memory (see [`ImageFile::map`]).
pub struct Mapped(memmap2::Mmap);

// SAFETY: the mapping stays at its address until dropped, and the file is not written in place
// (see `ImageFile::map`).
unsafe impl arpilot_core::col::Backing for Mapped {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl ImageFile {
    /// The whole file mapped into memory, read-only, sharing the page cache's pages. Its pages
    /// are mapped at once (`MAP_POPULATE`): for a file already in the page cache, one call costs
    /// less than a fault per few pages while the image is read and summed on two threads.
    pub fn map(&self) -> io::Result<Mapped> {
        // SAFETY: the bytes must not change while mapped. An image is never written in place
        // (`ImageWriter` writes another file and renames it over this one), so this file keeps
        // its bytes until the last mapping of it goes. Only a process truncating or rewriting
        // it by hand could break that, as it could any file the program reads.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&self.file)? };
        Ok(Mapped(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_found() {
        let dir = std::env::temp_dir().join(format!("arpilot-image-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("l.db.image");
        assert!(open(&path).unwrap().is_none());
        let mut w = ImageWriter::create(&path).unwrap();
        let a = w.section(|w| w.write_all(b"abc")).unwrap();
        let b = w.section(|w| w.write_all(b"defgh")).unwrap();
        w.commit("{\"n\":1}").unwrap();
        assert_eq!((a, b), (3, 5));
        let mut f = open(&path).unwrap().unwrap();
        assert_eq!((f.header.as_str(), f.sections), ("{\"n\":1}", 8));
        let mut s = String::new();
        f.file.read_to_string(&mut s).unwrap();
        assert!(s.starts_with("abcdefgh{"));
        // A writer given up leaves the image as it was, and no file beside it.
        let mut w = ImageWriter::create(&path).unwrap();
        w.section(|w| w.write_all(b"zzz")).unwrap();
        w.abandon();
        assert_eq!(open(&path).unwrap().unwrap().header, "{\"n\":1}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::write(&path, b"not an image at all").unwrap();
        assert!(open(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
