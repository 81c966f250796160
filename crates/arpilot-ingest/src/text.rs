//! Text as accounting software writes it: UTF-8 with or without a byte-order mark, or a legacy
//! 8-bit encoding (ISO-8859-15, Windows-1252), with any line ending (LF, CRLF, CR).
//!
//! Lines are counted as a text editor counts them, so that an error names the line the user
//! finds in the file: LF, CRLF and a lone CR (old Mac files) each end a line, so CR CR LF (a
//! CRLF file converted twice) ends two. The CSV reader splits records on the same line ends.

use encoding_rs::{ISO_8859_15, WINDOWS_1252};
use std::collections::VecDeque;
use std::io::{self, Read};

/// The encoding a text was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Iso8859_15,
    Windows1252,
}

/// Decodes bytes: UTF-8 when they are valid UTF-8, else Windows-1252 when they use its
/// printable 0x80–0x9F range, else ISO-8859-15.
pub fn decode(bytes: &[u8]) -> (String, Encoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF")
        && let Ok(s) = std::str::from_utf8(rest)
    {
        return (s.to_string(), Encoding::Utf8Bom);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.to_string(), Encoding::Utf8);
    }
    if bytes.iter().any(|b| (0x80..0xA0).contains(b)) {
        let (s, _, _) = WINDOWS_1252.decode(bytes);
        (s.into_owned(), Encoding::Windows1252)
    } else {
        let (s, _, _) = ISO_8859_15.decode(bytes);
        (s.into_owned(), Encoding::Iso8859_15)
    }
}

/// The first line end of `bytes`: where it starts and its length (2 for CRLF, 1 for LF or a
/// lone CR). A CR ending `bytes` counts as lone: its LF, if any, is in the bytes that follow.
fn next_line_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let is_end = |b: u8| b == b'\n' || b == b'\r';
    // Skip 16 bytes at a time while they hold no line end (a comparison of 16 at once).
    let mut from = 0;
    while let Some(block) = bytes.get(from..from + 16) {
        if block.iter().fold(false, |any, &b| any | is_end(b)) {
            break;
        }
        from += 16;
    }
    let at = from + bytes[from..].iter().position(|&b| is_end(b))?;
    let crlf = bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n');
    Some((at, if crlf { 2 } else { 1 }))
}

/// Lines without their terminators, numbered from 1 as a text editor numbers them.
pub fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let mut rest = Some(text);
    let mut no = 0;
    std::iter::from_fn(move || {
        let r = rest?;
        no += 1;
        Some(match next_line_end(r.as_bytes()) {
            Some((at, len)) => {
                rest = Some(&r[at + len..]);
                (no, &r[..at])
            }
            None => {
                rest = None;
                (no, r)
            }
        })
    })
}

/// A reader that notes the line ends of the bytes it passes on, so that the line of a byte
/// offset read earlier (a CSV record's [`csv::Position::byte`]) is known in the same pass.
///
/// The csv crate's own [`csv::Position::line`] counts LF bytes read so far: it misses lone CRs
/// (every record of a CR file is on "line 1"), the blank lines before a record, and the LF of
/// the CRLF that ended the previous record (each record of a CRLF file is one line early).
///
/// Only the line ends after the last offset asked are kept, a few kilobytes' worth when reading
/// through a buffered CSV reader: no allocation per row, no second pass.
pub struct LineTracker<R> {
    inner: R,
    /// Bytes passed on so far.
    passed: u64,
    /// Line ends passed on and not yet behind an offset asked: start and end offsets.
    ends: VecDeque<(u64, u64)>,
    /// Line ends already behind an offset asked.
    behind: u64,
    /// The last byte passed on is a CR: a LF first in the next read makes it a CRLF.
    after_cr: bool,
}

impl<R> LineTracker<R> {
    pub fn new(inner: R) -> LineTracker<R> {
        LineTracker {
            inner,
            passed: 0,
            ends: VecDeque::new(),
            behind: 0,
            after_cr: false,
        }
    }

    /// Line (1-based) of the text at byte `offset`, after any line ends starting there (the
    /// blank lines before a CSV record, or the LF of the CRLF that ended the one before).
    /// Offsets asked must not decrease.
    pub fn line_at(&mut self, offset: u64) -> u64 {
        let mut at = offset;
        while let Some(&(start, end)) = self.ends.front() {
            if start > at {
                break;
            }
            at = at.max(end);
            self.ends.pop_front();
            self.behind += 1;
        }
        self.behind + 1
    }

    /// Line where a CSV record (or the record an error is about) starts; 0 without a position.
    pub fn line_of(&mut self, pos: Option<&csv::Position>) -> u64 {
        pos.map_or(0, |p| self.line_at(p.byte()))
    }

    fn note(&mut self, bytes: &[u8]) {
        let mut i = 0;
        if self.after_cr && bytes.first() == Some(&b'\n') {
            // The LF of a CRLF split between two reads: it extends the CR's line end.
            if let Some(last) = self.ends.back_mut().filter(|e| e.1 == self.passed) {
                last.1 += 1;
            }
            i = 1;
        }
        while let Some((at, len)) = next_line_end(&bytes[i..]) {
            let start = self.passed + (i + at) as u64;
            self.ends.push_back((start, start + len as u64));
            i += at + len;
        }
        if let Some(&last) = bytes.last() {
            self.after_cr = last == b'\r';
        }
        self.passed += bytes.len() as u64;
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.note(&buf[..n]);
        Ok(n)
    }
}

/// The character of an XML predefined entity (`amp`, `lt`, `gt`, `quot`, `apos`) or character
/// reference (`#233`, `#xE9`), by the name between `&` and `;`.
pub(crate) fn xml_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        n => n
            .strip_prefix("#x")
            .or_else(|| n.strip_prefix("#X"))
            .map(|h| u32::from_str_radix(h, 16))
            .or_else(|| n.strip_prefix('#').map(|d| d.parse::<u32>()))
            .and_then(|r| r.ok())
            .and_then(char::from_u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_usual_encodings() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFSoci\xC3\xA9t\xC3\xA9"),
            ("Société".into(), Encoding::Utf8Bom)
        );
        assert_eq!(
            decode(b"Soci\xE9t\xE9 \xA4"),
            ("Société €".into(), Encoding::Iso8859_15)
        );
        assert_eq!(
            decode(b"\x80 \x93ok\x94"),
            ("€ \u{201c}ok\u{201d}".into(), Encoding::Windows1252)
        );
    }

    #[test]
    fn splits_every_line_ending() {
        let got: Vec<_> = lines("a\r\nb\r\nc\nd").collect();
        assert_eq!(got, [(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
        let got: Vec<_> = lines("a\rb\r").collect();
        assert_eq!(got, [(1, "a"), (2, "b"), (3, "")]);
        // CR CR LF is a lone CR then a CRLF, as editors show it: a blank line between.
        let got: Vec<_> = lines("a\r\r\nb\rc").collect();
        assert_eq!(got, [(1, "a"), (2, ""), (3, "b"), (4, "c")]);
    }

    #[test]
    fn splits_and_tracks_long_texts_as_a_naive_split_does() {
        let ends = ["\n", "\r\n", "\r", "\r\r\n", "\n\n"];
        let text: String = (0..60)
            .map(|n| format!("{}{}", "x".repeat(n), ends[n % ends.len()]))
            .collect();
        let naive = text.replace("\r\n", "\n").replace('\r', "\n");
        let want: Vec<(u64, &str)> = (1..).zip(naive.split('\n')).collect();
        assert_eq!(lines(&text).collect::<Vec<_>>(), want);
        // The line of every offset: that of the first byte from it that is not a line end.
        let naive_line = |j: usize| {
            let before = text[..j].replace("\r\n", "\n").replace('\r', "\n");
            before.matches('\n').count() as u64 + 1
        };
        let want: Vec<u64> = (0..text.len())
            .map(|i| {
                let ends = text.as_bytes()[i..].iter();
                naive_line(i + ends.take_while(|b| matches!(b, b'\r' | b'\n')).count())
            })
            .collect();
        let offsets: Vec<u64> = (0..text.len() as u64).collect();
        for chunk in [1, 7, 16, 4096] {
            assert_eq!(
                tracked(&text, chunk, &offsets),
                want,
                "reads of {chunk} bytes"
            );
        }
    }

    /// Reads `text` through a tracker `chunk` bytes at a time, then asks the line at `offsets`.
    fn tracked(text: &str, chunk: usize, offsets: &[u64]) -> Vec<u64> {
        let mut t = LineTracker::new(text.as_bytes());
        let mut buf = vec![0; chunk];
        while t.read(&mut buf).unwrap() > 0 {}
        offsets.iter().map(|&o| t.line_at(o)).collect()
    }

    #[test]
    fn a_tracker_finds_the_line_of_an_offset_whatever_the_reads() {
        // Offsets where records start as the csv crate gives them: after the CR of a CRLF.
        for chunk in [1, 2, 3, 64] {
            assert_eq!(tracked("h\na\n\nb\nc", chunk, &[0, 2, 4, 7]), [1, 2, 4, 5]);
            assert_eq!(tracked("h\r\na\r\n\r\nb", chunk, &[0, 2, 5]), [1, 2, 4]);
            assert_eq!(tracked("h\ra\r\rb", chunk, &[0, 2, 4]), [1, 2, 4]);
            assert_eq!(tracked("h\r\r\na\r\r\nb", chunk, &[0, 2, 6]), [1, 3, 5]);
            // Asking twice, and a line end inside the text at the offset.
            assert_eq!(tracked("h\n\"x\ny\"\nb", chunk, &[2, 2, 8]), [2, 2, 4]);
        }
    }
}
