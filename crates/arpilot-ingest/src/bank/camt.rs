//! ISO 20022 bank-to-customer statements (camt.053) and debit/credit notifications (camt.054),
//! versions .001.02 to .001.08.
//!
//! Elements are matched by local name only: banks write the namespace as a default namespace,
//! with a prefix, or with a version arpilot has not seen, and the element names arpilot reads
//! have not changed from .02 to .08 (except the debtor, which v8 wraps in `Pty`).
//!
//! Every `Ntry` gives one [`BankLine`]: the entry is what the bank booked on the account. The
//! `TxDtls` of a batch entry are not lines of their own; their texts and references are gathered
//! on the entry so that cash application sees everything the payers wrote.

use super::BankLine;
use crate::IngestError;
use arpilot_core::money::{MoneyError, parse_minor};
use arpilot_core::{Currency, Day};
use quick_xml::events::{BytesStart, Event as X};
use std::path::Path;

/// The message element under `Document` and its repeated statement element, per message type.
const MESSAGES: [(&str, &str, &str); 2] = [
    ("BkToCstmrStmt", "Stmt", "a camt.053 statement"),
    ("BkToCstmrDbtCdtNtfctn", "Ntfctn", "a camt.054 notification"),
];

/// A refusal at a line of the file, turned into [`IngestError::Row`] by [`read`].
type Refusal = (u64, String);

/// Reads a camt.053 or camt.054 file into one line per booked entry.
pub fn read(bytes: &[u8], file: &Path) -> Result<Vec<BankLine>, IngestError> {
    let row = |(line, message): Refusal| IngestError::Row {
        file: file.to_path_buf(),
        line,
        message,
    };
    let mut scan = Scan::default();
    let mut lines = LineCounter::new(bytes);
    let mut r = quick_xml::Reader::from_reader(bytes);
    // Whitespace is kept as text events so that the position before a start tag is its `<`
    // (trimming would fold the preceding line break into the tag and shift its line).
    let mut text = String::new();
    loop {
        let before = r.buffer_position();
        let ev = match r.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let line = lines.at(r.error_position());
                return Err(row((line, format!("not well-formed XML: {e}"))));
            }
        };
        match ev {
            X::Start(e) => {
                text.clear();
                scan.start(&e, lines.at(before)).map_err(row)?;
            }
            X::Empty(e) => {
                text.clear();
                scan.start(&e, lines.at(before)).map_err(row)?;
                scan.end("").map_err(row)?;
            }
            X::End(_) => {
                scan.end(&text).map_err(row)?;
                text.clear();
            }
            X::Text(t) => text.push_str(&t.xml10_content()),
            X::CData(t) => text.push_str(t.as_ref()),
            X::GeneralRef(g) => {
                let name = g.as_ref();
                match entity(name) {
                    Some(c) => text.push(c),
                    None => {
                        let line = lines.at(before);
                        return Err(row((
                            line,
                            format!(
                                "unknown entity &{name}; (expected &amp; &lt; &gt; &apos; &quot; or a character reference)"
                            ),
                        )));
                    }
                }
            }
            X::DocType(_) => {
                return Err(row((
                    lines.at(before),
                    "DOCTYPE declarations are not accepted (a camt message has none, and they can pull external entities)".into(),
                )));
            }
            X::Eof => break,
            _ => {}
        }
    }
    if let Some((name, _)) = scan.stack.last() {
        let line = lines.at(bytes.len() as u64);
        return Err(row((
            line,
            format!("the file ends inside <{name}> (expected </{name}>: the file is cut short)"),
        )));
    }
    let file_error = |message: String| IngestError::File {
        file: file.to_path_buf(),
        message,
    };
    match scan.message {
        None => Err(file_error(
            "no XML element (expected the Document of a camt.053 or camt.054 message)".into(),
        )),
        Some(m) if scan.statements == 0 => {
            let (msg, stmt, what) = MESSAGES[m];
            Err(file_error(format!(
                "no {stmt} element (expected {what} with at least one {stmt} in {msg})"
            )))
        }
        Some(_) => Ok(scan.out),
    }
}

/// The decoded character of a predefined entity or character reference.
fn entity(name: &str) -> Option<char> {
    crate::text::xml_entity(name)
}

/// Turns byte offsets into 1-based line numbers, counting forward from the last offset asked
/// (offsets come in increasing order, so the whole file is counted once).
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    fn at(&mut self, offset: u64) -> u64 {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if offset < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        let newlines = self.bytes[self.pos..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line += newlines as u64;
        self.pos = offset;
        self.line
    }
}

/// A leaf value with the line of its start tag.
#[derive(Clone, Debug)]
struct Field {
    text: String,
    line: u64,
}

/// What one `Stmt` / `Ntfctn` says, kept until its end so that the account applies to all of
/// its entries whatever the element order.
#[derive(Default)]
struct Statement {
    account: Option<String>,
    created: Option<Field>,
    entries: Vec<Entry>,
}

/// The raw texts of one `Ntry`, checked when its statement ends.
#[derive(Default)]
struct Entry {
    line: u64,
    amount: Option<Field>,
    /// The `Ccy` attribute of `Amt`, when written.
    currency: Option<String>,
    credit_debit: Option<Field>,
    reversal: bool,
    /// (element path, value) of the booking and value dates: `Dt` or `DtTm`.
    booking: Option<(&'static str, Field)>,
    value: Option<(&'static str, Field)>,
    bank_ref: Option<String>,
    tx_bank_ref: Option<String>,
    texts: Vec<String>,
    creditor_ref: Option<String>,
    payer_name: Option<String>,
    payer_iban: Option<String>,
    end_to_end: Option<String>,
}

#[derive(Default)]
struct Scan {
    /// Open elements (local name, line of the start tag).
    stack: Vec<(String, u64)>,
    /// Index in [`MESSAGES`] once the message element is seen.
    message: Option<usize>,
    statements: usize,
    statement: Option<Statement>,
    entry: Option<Entry>,
    out: Vec<BankLine>,
}

/// Keeps the first non-empty value; XML text may wrap over lines, so runs of white space become
/// one space.
fn set(slot: &mut Option<String>, v: &str) {
    if slot.is_none() {
        *slot = clean(v);
    }
}

fn clean(v: &str) -> Option<String> {
    let s = v.split_whitespace().collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

impl Scan {
    fn start(&mut self, e: &BytesStart, line: u64) -> Result<(), Refusal> {
        let name = e.local_name().as_ref().to_string();
        match self.stack.len() {
            0 if name != "Document" => {
                return Err((
                    line,
                    format!(
                        "root element <{name}> (expected the Document of a camt.053 or camt.054 message)"
                    ),
                ));
            }
            1 => match MESSAGES.iter().position(|m| m.0 == name) {
                Some(i) => self.message = Some(i),
                None => {
                    return Err((
                        line,
                        format!(
                            "Document holds <{name}> (expected BkToCstmrStmt of camt.053 or BkToCstmrDbtCdtNtfctn of camt.054)"
                        ),
                    ));
                }
            },
            2 if self.is_statement(&name) => {
                self.statements += 1;
                self.statement = Some(Statement::default());
            }
            3 if name == "Ntry" && self.statement.is_some() => {
                self.entry = Some(Entry {
                    line,
                    ..Entry::default()
                });
            }
            4 if name == "Amt" && self.in_entry() => {
                let ccy = e.attributes().find_map(|a| {
                    let a = a.ok()?;
                    (a.key.local_name().as_ref() == "Ccy").then(|| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()
                            .map(|v| v.into_owned())
                    })?
                });
                if let Some(entry) = self.entry.as_mut() {
                    entry.currency = ccy.map(|c| c.trim().to_string());
                }
            }
            _ => {}
        }
        self.stack.push((name, line));
        Ok(())
    }

    fn is_statement(&self, name: &str) -> bool {
        self.message.is_some_and(|m| MESSAGES[m].1 == name)
    }

    /// True inside `Document/<message>/<statement>/Ntry`.
    fn in_entry(&self) -> bool {
        self.entry.is_some() && self.stack.len() >= 4 && self.stack[3].0 == "Ntry"
    }

    fn end(&mut self, text: &str) -> Result<(), Refusal> {
        let Some((_, line)) = self.stack.last().cloned() else {
            return Ok(());
        };
        let path: Vec<&str> = self.stack.iter().map(|(n, _)| n.as_str()).collect();
        let field = || Field {
            text: text.trim().to_string(),
            line,
        };
        match path.as_slice() {
            [_, _, s] if self.is_statement(s) => {
                if let Some(st) = self.statement.take() {
                    for entry in st.entries {
                        let bank_line = finish(entry, st.account.as_deref(), st.created.as_ref())?;
                        self.out.push(bank_line);
                    }
                }
            }
            [_, _, s, rest @ ..] if self.is_statement(s) => {
                let st = self.statement.get_or_insert_with(Statement::default);
                match rest {
                    ["Acct", "Id", "IBAN"] | ["Acct", "Id", "Othr", "Id"] => {
                        set(&mut st.account, text)
                    }
                    ["CreDtTm"] => st.created = Some(field()),
                    ["Ntry"] => {
                        if let Some(e) = self.entry.take() {
                            st.entries.push(e);
                        }
                    }
                    ["Ntry", tail @ ..] => {
                        if let Some(e) = self.entry.as_mut() {
                            entry_field(e, tail, field());
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        self.stack.pop();
        Ok(())
    }
}

/// Records one leaf of an `Ntry`, `path` being relative to the `Ntry`.
fn entry_field(e: &mut Entry, path: &[&str], f: Field) {
    let keep_text = |texts: &mut Vec<String>, v: &str| {
        // Batch entries repeat the same text in every TxDtls: once is enough for matching.
        if let Some(t) = clean(v)
            && !texts.contains(&t)
        {
            texts.push(t);
        }
    };
    match path {
        ["Amt"] => e.amount = Some(f),
        ["CdtDbtInd"] => e.credit_debit = Some(f),
        // xs:boolean: "true" or "1".
        ["RvslInd"] => e.reversal = f.text == "true" || f.text == "1",
        ["BookgDt", "Dt"] => e.booking = Some(("Ntry/BookgDt/Dt", f)),
        ["BookgDt", "DtTm"] => e.booking = Some(("Ntry/BookgDt/DtTm", f)),
        ["ValDt", "Dt"] => e.value = Some(("Ntry/ValDt/Dt", f)),
        ["ValDt", "DtTm"] => e.value = Some(("Ntry/ValDt/DtTm", f)),
        ["AcctSvcrRef"] => set(&mut e.bank_ref, &f.text),
        ["AddtlNtryInf"] => keep_text(&mut e.texts, &f.text),
        ["NtryDtls", "TxDtls", tx @ ..] => match tx {
            ["Refs", "AcctSvcrRef"] => set(&mut e.tx_bank_ref, &f.text),
            ["Refs", "EndToEndId"] if f.text != "NOTPROVIDED" => set(&mut e.end_to_end, &f.text),
            ["RmtInf", "Ustrd"] | ["AddtlTxInf"] => keep_text(&mut e.texts, &f.text),
            ["RmtInf", "Strd", "CdtrRefInf", "Ref"] => set(&mut e.creditor_ref, &f.text),
            // v8 wraps the party in Pty (Party40Choice).
            ["RltdPties", "Dbtr", "Nm"] | ["RltdPties", "Dbtr", "Pty", "Nm"] => {
                set(&mut e.payer_name, &f.text)
            }
            ["RltdPties", "DbtrAcct", "Id", "IBAN"] => set(&mut e.payer_iban, &f.text),
            _ => {}
        },
        _ => {}
    }
}

/// Checks an entry and makes its line.
fn finish(e: Entry, account: Option<&str>, created: Option<&Field>) -> Result<BankLine, Refusal> {
    let amt = e.amount.ok_or_else(|| {
        (
            e.line,
            "Ntry has no Amt (expected the entry amount, e.g. <Amt Ccy=\"EUR\">12.50</Amt>)"
                .to_string(),
        )
    })?;
    let code = e.currency.ok_or_else(|| {
        (
            amt.line,
            "Ntry/Amt has no Ccy attribute (expected the currency code, e.g. Ccy=\"EUR\")"
                .to_string(),
        )
    })?;
    let currency = Currency::parse(&code)
        .map_err(|err| (amt.line, format!("Ntry/Amt Ccy attribute: {err}")))?;
    let minor = parse_minor(&amt.text, currency.decimals()).map_err(|err| {
        let message = match err {
            MoneyError::Overflow(_) => format!("Ntry/Amt: {err}"),
            _ => format!(
                "Ntry/Amt {:?}: expected a decimal amount like 1234.56 (at most {} decimals in {currency}, sign given by CdtDbtInd)",
                amt.text,
                currency.decimals()
            ),
        };
        (amt.line, message)
    })?;
    let amount = match e.credit_debit.as_ref().map(|f| f.text.as_str()) {
        Some("CRDT") => minor,
        Some("DBIT") => -minor,
        Some(other) => {
            let line = e.credit_debit.as_ref().map_or(e.line, |f| f.line);
            return Err((
                line,
                format!("Ntry/CdtDbtInd {other:?}: expected CRDT (credit) or DBIT (debit)"),
            ));
        }
        None => {
            return Err((
                e.line,
                "Ntry has no CdtDbtInd (expected CRDT or DBIT)".to_string(),
            ));
        }
    };
    let value_date = e
        .value
        .as_ref()
        .map(|(p, f)| parse_date(p, f))
        .transpose()?;
    // BookgDt is optional in ISO 20022 (notifications often omit it): the value date, then the
    // date the bank created the statement or notification, stand in for it.
    let date = match (&e.booking, value_date, created) {
        (Some((p, f)), _, _) => parse_date(p, f)?,
        (None, Some(v), _) => v,
        (None, None, Some(c)) => parse_date("CreDtTm (standing in for the missing BookgDt)", c)?,
        (None, None, None) => {
            return Err((
                e.line,
                "Ntry has no BookgDt (expected BookgDt/Dt or BookgDt/DtTm, or at least ValDt)"
                    .to_string(),
            ));
        }
    };
    Ok(BankLine {
        line: e.line,
        account: account.map(str::to_string),
        date,
        value_date,
        amount,
        currency,
        reversal: e.reversal,
        payer_name: e.payer_name,
        payer_iban: e.payer_iban,
        remittance: e.texts.join(" "),
        creditor_ref: e.creditor_ref,
        bank_ref: e.bank_ref.or(e.tx_bank_ref),
        end_to_end: e.end_to_end,
    })
}

/// An ISODate or the date part of an ISODateTime ("2014-12-31T13:15:00+01:00"), as the bank
/// wrote it (no time-zone shift: the bank's booking day is the day it says).
fn parse_date(path: &str, f: &Field) -> Result<Day, Refusal> {
    let t = f.text.as_str();
    // xs:date may carry a zone ("2014-12-31+01:00"); xs:dateTime carries a time.
    let day = match t.get(..10) {
        Some(d) if t[10..].starts_with(['T', 'Z', '+', '-']) => d,
        _ => t,
    };
    Day::parse_iso(day).map_err(|err| (f.line, format!("{path}: {err}")))
}
