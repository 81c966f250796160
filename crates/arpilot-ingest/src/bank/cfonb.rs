//! CFONB 120 "relevé de compte": the French bank statement in fixed records of 120 characters.
//!
//! A statement is an `01` record (old balance), `04` operations each followed by their `05`
//! complements, and an `07` record (new balance). Columns (1-based, inclusive) as the CFONB
//! brochure "Relevé de compte sur support informatique" (2004) and its 2007 update give them:
//!
//! | columns | field | records |
//! |---|---|---|
//! | 1–2 | record code | all |
//! | 3–7 | bank code | all |
//! | 8–11 | bank's internal operation code | 04, 05 |
//! | 12–16 | desk (guichet) | all |
//! | 17–19 | currency (ISO 4217) | all |
//! | 20 | number of decimals of the amounts | all |
//! | 22–32 | account number | all |
//! | 33–34 | interbank operation code | 04, 05 |
//! | 35–40 | date DDMMYY (balance date; operation date for 04) | all |
//! | 41–42 | reject reason code | 04 |
//! | 43–48 | value date DDMMYY | 04 |
//! | 49–79 | label | 04 |
//! | 46–48 | complement qualifier (LIB, NPY, RCN…) | 05 |
//! | 49–118 | complement text (70 characters) | 05 |
//! | 82–88 | entry number | 04 |
//! | 91–104 | amount: 13 digits, then the last digit carrying the sign | 01, 04, 07 |
//! | 105–120 | reference | 04 |

use super::BankLine;
use crate::IngestError;
use arpilot_core::cash::mod97;
use arpilot_core::money::parse_minor;
use arpilot_core::{Currency, Day};
use std::path::Path;

/// Characters in a record.
const WIDTH: usize = 120;

/// Reads a CFONB 120 file: every `04` operation, with its `05` complements, as a [`BankLine`].
pub fn read(bytes: &[u8], file: &Path) -> Result<Vec<BankLine>, IngestError> {
    let (text, _) = crate::text::decode(bytes);
    let fail = |line: u64, message: String| IngestError::Row {
        file: file.to_path_buf(),
        line,
        message,
    };
    let records = split_records(&text).map_err(|(line, m)| fail(line, m))?;
    if records.is_empty() {
        return Err(IngestError::File {
            file: file.to_path_buf(),
            message: "expected CFONB 120 records, found an empty file".into(),
        });
    }
    let mut reader = Reader::default();
    for rec in &records {
        reader
            .record(rec)
            .map_err(|m| fail(rec.line, rec.locate(m)))?;
    }
    if let Some(st) = &reader.statement {
        return Err(fail(
            st.line,
            "the statement opened by this 01 record is not closed: expected an 07 record \
             before the end of the file"
                .into(),
        ));
    }
    Ok(reader.out)
}

/// One record of 120 characters and where it is in the file.
struct Record<'a> {
    text: &'a str,
    /// Byte offset of each character, and the end: slicing by columns stays on char boundaries
    /// when a label carries accented letters.
    offsets: Vec<usize>,
    line: u64,
    /// Number of the record within the line, for a file written without line breaks.
    ordinal: Option<usize>,
}

impl<'a> Record<'a> {
    fn new(text: &'a str, line: u64, ordinal: Option<usize>) -> Record<'a> {
        let offsets = text
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .collect();
        Record {
            text,
            offsets,
            line,
            ordinal,
        }
    }

    /// Columns `from..=to`, 1-based as the CFONB layout numbers them.
    fn col(&self, from: usize, to: usize) -> &'a str {
        &self.text[self.offsets[from - 1]..self.offsets[to]]
    }

    fn code(&self) -> &'a str {
        self.col(1, 2)
    }

    /// A message naming the record when several share one line.
    fn locate(&self, message: String) -> String {
        match self.ordinal {
            Some(n) => format!("record {n}: {message}"),
            None => message,
        }
    }
}

/// Splits the text into records: one a line, blank lines skipped. A file written without line
/// breaks holds all its records on one line, cut every 120 characters. Whitespace after the
/// last record of a line (an editor's or a transfer's padding) is dropped; a record shorter than
/// 120 characters is refused.
fn split_records(text: &str) -> Result<Vec<Record<'_>>, (u64, String)> {
    let lines: Vec<(u64, &str)> = crate::text::lines(text)
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let one_line = lines.len() == 1;
    let mut out = Vec::with_capacity(lines.len());
    for (no, line) in lines {
        let chars = line.chars().count();
        let used = line.trim_end().chars().count();
        let count = if one_line { used.div_ceil(WIDTH) } else { 1 };
        let wanted = count * WIDTH;
        if chars < wanted || used > wanted {
            let message = if count > 1 {
                format!(
                    "expected records of {WIDTH} characters: the file is one line of {used} \
                     characters, not a multiple of {WIDTH}"
                )
            } else {
                let found = if used > wanted { used } else { chars };
                format!("expected a record of {WIDTH} characters, found {found}")
            };
            return Err((no, message));
        }
        let whole = Record::new(line, no, None);
        for k in 0..count {
            let text = whole.col(k * WIDTH + 1, (k + 1) * WIDTH);
            out.push(Record::new(text, no, (count > 1).then_some(k + 1)));
        }
    }
    Ok(out)
}

/// The statement an `01` record opened.
struct Statement {
    line: u64,
    /// Desk and account number: what identifies the account within the file. The bank code is
    /// left out as some banks put another code of their group on the operations (the pennylane
    /// and silarhi samples do).
    desk: String,
    number: String,
    /// Bank code, desk and account number of the 01 record.
    account: String,
    currency: Currency,
}

#[derive(Default)]
struct Reader {
    statement: Option<Statement>,
    /// True after an `04` of the open statement: its `05` complements may follow.
    in_operation: bool,
    /// Texts already in the remittance of the current operation (a bank often repeats the LIB
    /// text in LCC).
    parts: Vec<String>,
    out: Vec<BankLine>,
}

impl Reader {
    fn record(&mut self, rec: &Record) -> Result<(), String> {
        match rec.code() {
            "01" => self.open(rec),
            "04" => self.operation(rec),
            "05" => self.complement(rec),
            "07" => self.close(rec),
            other => Err(format!(
                "unknown record code {other:?}: expected 01, 04, 05 or 07"
            )),
        }
    }

    fn open(&mut self, rec: &Record) -> Result<(), String> {
        if let Some(st) = &self.statement {
            return Err(format!(
                "expected an 07 record closing the statement opened at line {} before this 01",
                st.line
            ));
        }
        // LCL leaves currency and decimals blank on 01 and 07 records: EUR is meant.
        let currency = currency(rec)?.unwrap_or(Currency::EUR);
        check_decimals(rec, currency)?;
        ddmmyy(rec, 35, "balance date")?;
        amount(rec)?;
        let (bank, desk, number) = (rec.col(3, 7), rec.col(12, 16), rec.col(22, 32));
        self.statement = Some(Statement {
            line: rec.line,
            desk: desk.trim().to_string(),
            number: number.trim().to_string(),
            account: format!("{}{}{}", bank.trim(), desk.trim(), number.trim()),
            currency,
        });
        self.in_operation = false;
        Ok(())
    }

    fn close(&mut self, rec: &Record) -> Result<(), String> {
        let st = self.statement_for(rec, "07")?;
        same_currency(rec, st.currency, "07")?;
        check_decimals(rec, st.currency)?;
        ddmmyy(rec, 35, "balance date")?;
        amount(rec)?;
        self.statement = None;
        self.in_operation = false;
        Ok(())
    }

    fn operation(&mut self, rec: &Record) -> Result<(), String> {
        let st = self.statement_for(rec, "04")?;
        let currency = same_currency(rec, st.currency, "04")?;
        check_decimals(rec, currency)?;
        let date = ddmmyy(rec, 35, "operation date")?;
        let value_date = match rec.col(43, 48).trim() {
            "" => None,
            _ => Some(ddmmyy(rec, 43, "value date")?),
        };
        let amount = amount(rec)?;
        // A reject reason code marks an operation returned or rejected.
        let reversal = !matches!(rec.col(41, 42).trim(), "" | "00");
        let label = squash(rec.col(49, 79));
        let entry: String = rec.col(82, 88).split_whitespace().collect();
        let bank_ref = (!entry.is_empty() && entry.bytes().any(|b| b != b'0')).then_some(entry);
        let account = Some(st.account.clone());
        self.out.push(BankLine {
            line: rec.line,
            account,
            date,
            value_date,
            amount,
            currency,
            reversal,
            payer_name: None,
            payer_iban: None,
            remittance: String::new(),
            creditor_ref: None,
            bank_ref,
            end_to_end: None,
        });
        self.parts.clear();
        self.in_operation = true;
        self.add_text(&label);
        Ok(())
    }

    fn complement(&mut self, rec: &Record) -> Result<(), String> {
        self.statement_for(rec, "05")?;
        if !self.in_operation {
            return Err("expected an 04 operation before this 05 complement".into());
        }
        let text = rec.col(49, 118);
        match rec.col(46, 48) {
            "LIB" | "LCC" | "LC2" | "REF" => self.add_text(&squash(text)),
            // Client reference (35 characters) then purpose (35 characters).
            "RCN" => {
                let (reference, purpose) = (rec.col(49, 83).trim(), rec.col(84, 118));
                let line = self.out.last_mut().ok_or("expected an 04 operation")?;
                if line.creditor_ref.is_none() && is_iso11649(reference) {
                    line.creditor_ref = Some(reference.to_string());
                    self.add_text(&squash(purpose));
                } else {
                    self.add_text(&squash(text));
                }
            }
            "NPY" => {
                let line = self.out.last_mut().ok_or("expected an 04 operation")?;
                let name = squash(text);
                if line.payer_name.is_none() && !name.is_empty() {
                    line.payer_name = Some(name);
                }
            }
            // Payer identifier (35 characters) then its type: an IBAN for a SEPA transfer.
            "IPY" => {
                let line = self.out.last_mut().ok_or("expected an 04 operation")?;
                if line.payer_iban.is_none() {
                    line.payer_iban = iban_shaped(rec.col(49, 83));
                }
            }
            // Beneficiary (NBE, IBE), mandate (RUM), original amount (MMO)…: not about the payer.
            _ => {}
        }
        Ok(())
    }

    /// Adds a text to the remittance of the current operation, once.
    fn add_text(&mut self, text: &str) {
        if text.is_empty() || self.parts.iter().any(|p| p == text) {
            return;
        }
        if let Some(line) = self.out.last_mut() {
            if !line.remittance.is_empty() {
                line.remittance.push(' ');
            }
            line.remittance.push_str(text);
        }
        self.parts.push(text.to_string());
    }

    /// The open statement, when the record is of its account.
    fn statement_for(&self, rec: &Record, code: &str) -> Result<&Statement, String> {
        let st = self.statement.as_ref().ok_or_else(|| {
            format!("expected an 01 record opening the statement before this {code} record")
        })?;
        let (desk, number) = (rec.col(12, 16).trim(), rec.col(22, 32).trim());
        // Complements may leave the account blank.
        if code == "05" && desk.is_empty() && number.is_empty() {
            return Ok(st);
        }
        if desk != st.desk || number != st.number {
            return Err(format!(
                "this {code} record is of desk {desk:?}, account {number:?}: expected desk {:?}, \
                 account {:?} of the statement opened at line {}",
                st.desk, st.number, st.line
            ));
        }
        Ok(st)
    }
}

/// The currency of columns 17–19, `None` when blank.
fn currency(rec: &Record) -> Result<Option<Currency>, String> {
    match rec.col(17, 19).trim() {
        "" => Ok(None),
        code => Currency::parse(code)
            .map(Some)
            .map_err(|_| format!("expected a currency code in columns 17-19, found {code:?}")),
    }
}

/// The record's currency (the statement's when blank), refused when it is another one.
fn same_currency(rec: &Record, statement: Currency, code: &str) -> Result<Currency, String> {
    match currency(rec)? {
        Some(c) if c != statement => Err(format!(
            "this {code} record is in {c}: expected {statement}, the currency of its statement"
        )),
        _ => Ok(statement),
    }
}

/// Column 20 gives the decimals of the amounts: only the currency's own is taken, so that an
/// amount is never read a factor of ten off. Blank is taken as the currency's (LCL).
fn check_decimals(rec: &Record, currency: Currency) -> Result<(), String> {
    let found = rec.col(20, 20);
    let expected = currency.decimals();
    if found == " " || found == expected.to_string() {
        return Ok(());
    }
    Err(format!(
        "decimals indicator {found:?} in column 20: expected {expected}, the decimals of {currency}"
    ))
}

/// The DDMMYY date starting at column `from`.
fn ddmmyy(rec: &Record, from: usize, what: &str) -> Result<Day, String> {
    let s = rec.col(from, from + 5);
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|d| d.parse::<u32>().ok());
    let parsed = if s.bytes().all(|b| b.is_ascii_digit()) {
        match (num(0..2), num(2..4), num(4..6)) {
            (Some(d), Some(m), Some(yy)) => Day::from_ymd_supported(century(yy), m, d),
            _ => None,
        }
    } else {
        None
    };
    parsed.ok_or_else(|| {
        format!(
            "expected the {what} as DDMMYY in columns {from}-{}, found {s:?}",
            from + 5
        )
    })
}

/// The year of a two-digit year: 00–79 are 2000–2079, 80–99 are 1980–1999 (statements carry
/// recent dates; the pivot leaves room for old archives).
pub(super) fn century(yy: u32) -> i32 {
    if yy < 80 {
        2000 + yy as i32
    } else {
        1900 + yy as i32
    }
}

/// The signed amount of columns 91–104 in minor units: 13 digits, then a character giving the
/// last digit and the sign ('{', 'A'–'I' for +0…+9; '}', 'J'–'R' for −0…−9). The decimals
/// indicator was checked to be the currency's, so the digits are minor units.
fn amount(rec: &Record) -> Result<i64, String> {
    let field = rec.col(91, 104);
    let bad = || {
        format!(
            "expected an amount in columns 91-104 (13 digits, then '{{', 'A'-'I', '}}' or \
             'J'-'R' for the last digit and the sign), found {field:?}"
        )
    };
    if !field.is_ascii() {
        return Err(bad());
    }
    let (digits, last) = field.split_at(13);
    let (sign, last) = match last.as_bytes() {
        [b'{'] => (1, 0),
        [c @ b'A'..=b'I'] => (1, c - b'A' + 1),
        [b'}'] => (-1, 0),
        [c @ b'J'..=b'R'] => (-1, c - b'J' + 1),
        _ => return Err(bad()),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let v = parse_minor(&format!("{digits}{last}"), 0).map_err(|e| e.to_string())?;
    Ok(sign * v)
}

/// Text with its runs of whitespace made single spaces, trimmed.
pub(super) fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The compact upper-case IBAN when `s` has an IBAN's shape (country letters, two check digits,
/// 11 to 30 letters or digits), spaces ignored. The check digits are not verified: the field
/// is the bank's statement of the account.
pub(super) fn iban_shaped(s: &str) -> Option<String> {
    let compact: String = s
        .split_whitespace()
        .collect::<String>()
        .to_ascii_uppercase();
    let b = compact.as_bytes();
    let shaped = (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric);
    shaped.then_some(compact)
}

/// True for a valid IBAN (shape and check digits), spaces ignored: for IBANs found in free text.
pub(super) fn is_valid_iban(s: &str) -> bool {
    iban_shaped(s).is_some_and(|i| mod97(&i) == Some(1))
}

/// True for an ISO 11649 creditor reference: "RF", two check digits, 1 to 21 letters or
/// digits, spaces ignored (it is printed in groups of four).
pub(super) fn is_iso11649(s: &str) -> bool {
    let compact: String = s
        .split_whitespace()
        .collect::<String>()
        .to_ascii_uppercase();
    let b = compact.as_bytes();
    b.len() >= 5
        && b.len() <= 25
        && b.starts_with(b"RF")
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric)
        && mod97(&compact) == Some(1)
}
