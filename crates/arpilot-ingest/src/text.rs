//! Text as accounting software writes it: UTF-8 with or without a byte-order mark, or a legacy
//! 8-bit encoding (ISO-8859-15, Windows-1252), with any line ending (LF, CRLF, CR CR LF, CR).

use encoding_rs::{ISO_8859_15, WINDOWS_1252};

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

/// Lines without their terminators, numbered from 1.
pub fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    // Old Mac files end lines with CR alone.
    let sep = if text.contains('\n') { '\n' } else { '\r' };
    text.split(sep)
        .map(|l| l.trim_end_matches('\r'))
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l))
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
        let got: Vec<_> = lines("a\r\r\nb\r\nc\nd").collect();
        assert_eq!(got, [(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
        let got: Vec<_> = lines("a\rb\r").collect();
        assert_eq!(got, [(1, "a"), (2, "b"), (3, "")]);
    }
}
