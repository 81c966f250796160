//! Bank statements: camt.053 / camt.054 (ISO 20022), CFONB 120, MT940 and OFX, each read into
//! the same [`BankLine`]s. Only what cash application needs is kept: the booking date, the signed
//! amount, who paid (name, IBAN), what they wrote (free text, structured creditor reference) and
//! the bank's own references.
//!
//! Readers are strict: a malformed statement is refused whole with the file, the line (or XML
//! element) and what was expected.

pub mod camt;
pub mod cfonb;
pub mod mt940;
pub mod ofx;

use arpilot_core::{Currency, Day};

/// Largest statement file read, as for every import.
pub const MAX_BYTES: u64 = crate::MAX_FILE_BYTES;

/// One booked entry of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankLine {
    /// Line of the file (1-based, as an editor counts) where the entry starts.
    pub line: u64,
    /// The statement's account (IBAN, RIB or the bank's account id), when given.
    pub account: Option<String>,
    /// Booking date.
    pub date: Day,
    /// Value date, when given.
    pub value_date: Option<Day>,
    /// Signed amount in minor units of `currency`: positive for a credit (money in).
    pub amount: i64,
    pub currency: Currency,
    /// True for a reversal: a credit returned or rejected (negative amount) or a debit reversed.
    pub reversal: bool,
    pub payer_name: Option<String>,
    pub payer_iban: Option<String>,
    /// Unstructured remittance information and other free text of the entry, joined by spaces.
    pub remittance: String,
    /// Structured creditor reference (ISO 11649 "RF…", SCOR, ISR/QRR…), as written.
    pub creditor_ref: Option<String>,
    /// The bank's reference of the entry (AcctSvcrRef, CFONB entry number, MT940 bank reference,
    /// OFX FITID).
    pub bank_ref: Option<String>,
    /// The payer's end-to-end id, when given (not "NOTPROVIDED").
    pub end_to_end: Option<String>,
}

/// Statement formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Camt,
    Cfonb,
    Mt940,
    Ofx,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Camt => "camt",
            Kind::Cfonb => "cfonb120",
            Kind::Mt940 => "mt940",
            Kind::Ofx => "ofx",
        }
    }
}

/// The statement format of a file's first bytes, if it is a bank statement: camt by its XML
/// namespace, OFX by its header, MT940 by its tags, CFONB by its 120-character records.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // SWIFT transmissions may start with SOH and other control characters.
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b >= 0x20)
        .unwrap_or(text.len());
    let t = &text[start..];
    let has = |needle: &[u8]| t.windows(needle.len()).any(|w| w == needle);
    if t.starts_with(b"<") {
        if has(b"camt.053")
            || has(b"camt.054")
            || has(b"BkToCstmrStmt")
            || has(b"BkToCstmrDbtCdtNtfctn")
        {
            return Some(Kind::Camt);
        }
        if has(b"<OFX>") || has(b"<?OFX") {
            return Some(Kind::Ofx);
        }
        return None;
    }
    if t.starts_with(b"OFXHEADER") || has(b"<OFX>") {
        return Some(Kind::Ofx);
    }
    if t.starts_with(b"{1:")
        || t.starts_with(b":20:")
        || (has(b"\n:20:") && has(b":61:"))
        || (has(b":25:") && has(b":60F:"))
    {
        return Some(Kind::Mt940);
    }
    // CFONB: records "01", "04", "05" or "07" followed by a 5-digit bank code.
    let record = |r: &[u8]| {
        r.len() >= 7
            && matches!(&r[..2], b"01" | b"04" | b"05" | b"07")
            && r[2..7].iter().all(u8::is_ascii_digit)
    };
    if record(t) {
        let first_line = t.split(|b| *b == b'\n').next().unwrap_or(t);
        let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
        if first_line.len() >= 120 && (first_line.len() == 120 || record(&first_line[120..])) {
            return Some(Kind::Cfonb);
        }
        if first_line.len() < 120 && first_line.len() > 100 {
            // A short first record is still CFONB: its reader says what is wrong.
            return Some(Kind::Cfonb);
        }
    }
    None
}

/// Reads the statement in `bytes` (named `file` in messages).
pub fn read(
    kind: Kind,
    bytes: &[u8],
    file: &std::path::Path,
) -> Result<Vec<BankLine>, crate::IngestError> {
    match kind {
        Kind::Camt => camt::read(bytes, file),
        Kind::Cfonb => cfonb::read(bytes, file),
        Kind::Mt940 => mt940::read(bytes, file),
        Kind::Ofx => ofx::read(bytes, file),
    }
}

/// Reads a statement file, recognised from its content; `None` when the file is not one.
pub fn read_file(
    path: &std::path::Path,
) -> Result<Option<(Kind, Vec<BankLine>)>, crate::IngestError> {
    if path.is_dir() {
        return Ok(None);
    }
    let io = |source| crate::IngestError::Io {
        file: path.to_path_buf(),
        source,
    };
    let len = crate::check_size(path, MAX_BYTES)?;
    let mut head = vec![0u8; 4096.min(len as usize)];
    {
        use std::io::Read;
        std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .map_err(io)?;
    }
    let Some(kind) = sniff(&head) else {
        return Ok(None);
    };
    let bytes = std::fs::read(path).map_err(io)?;
    Ok(Some((kind, read(kind, &bytes, path)?)))
}
