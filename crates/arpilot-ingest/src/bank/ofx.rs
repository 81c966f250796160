//! OFX bank, credit-card and investment-account statements: OFX 1.x (SGML, after an
//! `OFXHEADER:100` text header) and OFX 2.x (XML, after `<?OFX ...?>`).
//!
//! One tolerant tag scanner reads both: SGML leaves have no end tag (`<TRNAMT>12.50`), and many
//! 2.x files written by banks do the same, so no XML parser would take them. A start tag followed
//! by text is a leaf whose value runs to the next `<` (its end tag, if any, is skipped); a start
//! tag followed by another tag is an aggregate, closed by its end tag (an end tag closes the
//! aggregates left open inside it).
//!
//! Every `STMTTRN` gives one [`BankLine`], with the currency (`CURDEF`) and account (`ACCTID`)
//! of the statement around it (`STMTRS`, `CCSTMTRS` or `INVSTMTRS`).

use super::BankLine;
use crate::IngestError;
use arpilot_core::money::{MoneyError, parse_minor};
use arpilot_core::{Currency, Day};
use std::borrow::Cow;
use std::path::Path;

/// Statement aggregates: each holds a currency, an account and transactions.
const STATEMENTS: [&str; 3] = ["STMTRS", "CCSTMTRS", "INVSTMTRS"];
/// Aggregates naming the statement's own account.
const ACCOUNTS: [&str; 3] = ["BANKACCTFROM", "CCACCTFROM", "INVACCTFROM"];
/// Leaves read here and their neighbours in statements: always leaves, even when an SGML file
/// leaves one empty and unclosed (`<DTPOSTED>` directly followed by the next tag), which would
/// otherwise look like an aggregate and swallow the leaves after it.
const LEAVES: [&str; 27] = [
    "TRNAMT",
    "DTPOSTED",
    "NAME",
    "MEMO",
    "FITID",
    "CURDEF",
    "ACCTID",
    "BALAMT",
    "CURSYM",
    "CURRATE",
    "TRNTYPE",
    "DTUSER",
    "DTAVAIL",
    "CHECKNUM",
    "REFNUM",
    "SIC",
    "PAYEEID",
    "SRVRTID",
    "CORRECTFITID",
    "CORRECTACTION",
    "BANKID",
    "BRANCHID",
    "ACCTTYPE",
    "DTSTART",
    "DTEND",
    "DTASOF",
    "MESSAGE",
];

/// A refusal at a line of the file, turned into [`IngestError::Row`] by [`read`].
type Refusal = (u64, String);

/// Reads an OFX file into one line per statement transaction.
pub fn read(bytes: &[u8], file: &Path) -> Result<Vec<BankLine>, IngestError> {
    let text = decode(bytes);
    let Some(start) = find_ofx(&text) else {
        return Err(IngestError::File {
            file: file.to_path_buf(),
            message: "no OFX element (expected an OFX file: an OFXHEADER:100 header or <?OFX ...?>, then <OFX>)".into(),
        });
    };
    let mut scanner = Scanner {
        s: &text,
        pos: start,
        lines: LineCounter::default(),
    };
    let mut build = Build::default();
    scan(&mut scanner, &mut build).map_err(|(line, message)| IngestError::Row {
        file: file.to_path_buf(),
        line,
        message,
    })?;
    Ok(build.out)
}

/// The text of the file. OFX 1.x headers declare `CHARSET:1252` (or other single-byte sets) and
/// 2.x declare an XML encoding, but banks often write UTF-8 under either: text that is valid
/// UTF-8 is taken as UTF-8 (a Windows-1252 text with accents is almost never valid UTF-8), any
/// other is read as Windows-1252, which every byte decodes in.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// Byte offset of the `<OFX>` start tag (any case), after the header.
fn find_ofx(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(4)).find(|&i| {
        b[i] == b'<'
            && b[i + 1..i + 4].eq_ignore_ascii_case(b"OFX")
            && matches!(b[i + 4], b'>' | b' ' | b'\t' | b'\r' | b'\n')
    })
}

/// Counts lines forward through the text as the scanner advances.
struct LineCounter {
    pos: usize,
    line: u64,
}

impl Default for LineCounter {
    fn default() -> Self {
        LineCounter { pos: 0, line: 1 }
    }
}

impl LineCounter {
    /// 1-based line of byte `offset` of `s`; offsets only grow.
    fn at(&mut self, s: &str, offset: usize) -> u64 {
        let offset = offset.min(s.len());
        if offset > self.pos {
            let newlines = s.as_bytes()[self.pos..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += newlines as u64;
            self.pos = offset;
        }
        self.line
    }
}

/// What the scanner sees.
enum Token {
    /// `<NAME>`, the line of its `<`, and whether it is an XML empty element `<NAME/>`.
    Start(String, u64, bool),
    /// `</NAME>`.
    End(String),
    /// Text up to the next tag (or the end of the file) that no leaf took.
    Text,
    Eof,
}

struct Scanner<'a> {
    s: &'a str,
    pos: usize,
    lines: LineCounter,
}

impl<'a> Scanner<'a> {
    fn line(&mut self) -> u64 {
        self.lines.at(self.s, self.pos)
    }

    fn token(&mut self) -> Result<Token, Refusal> {
        let s = self.s;
        loop {
            let rest = &s[self.pos..];
            if rest.is_empty() {
                return Ok(Token::Eof);
            }
            if !rest.starts_with('<') {
                let len = rest.find('<').unwrap_or(rest.len());
                self.pos += len;
                return Ok(Token::Text);
            }
            // Comments, processing instructions (<?OFX ...?>) and declarations carry no data.
            let skip_to = if rest.starts_with("<!--") {
                Some("-->")
            } else if rest.starts_with("<?") || rest.starts_with("<!") {
                Some(">")
            } else {
                None
            };
            if let Some(close) = skip_to {
                let line = self.line();
                let end = rest.find(close).ok_or_else(|| {
                    (
                        line,
                        format!(
                            "markup not closed (expected {close:?} before the end of the file)"
                        ),
                    )
                })?;
                self.pos += end + close.len();
                continue;
            }
            let line = self.line();
            let gt = rest.find('>').ok_or_else(|| {
                (
                    line,
                    "tag not closed (expected '>' before the end of the file)".to_string(),
                )
            })?;
            let inner = &rest[1..gt];
            self.pos += gt + 1;
            let (end, body) = match inner.strip_prefix('/') {
                Some(b) => (true, b),
                None => (false, inner),
            };
            let name = body
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("");
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
            {
                return Err((
                    line,
                    format!(
                        "<{inner}> is not a tag (expected a tag like <TRNAMT>; a '<' in a value is written &lt;)"
                    ),
                ));
            }
            let name = name.to_ascii_uppercase();
            if end {
                return Ok(Token::End(name));
            }
            return Ok(Token::Start(name, line, body.trim_end().ends_with('/')));
        }
    }

    /// Skips `</name>` when it comes next (after white space): the end tag of a leaf.
    fn skip_end_tag(&mut self, name: &str) {
        let rest = &self.s[self.pos..];
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix("</")
            && let Some(gt) = after.find('>')
            && after[..gt].trim().eq_ignore_ascii_case(name)
        {
            self.pos += rest.len() - trimmed.len() + 2 + gt + 1;
        }
    }

    /// True when the next tag is `</name>`, only white space coming before it.
    fn end_tag_next(&self, name: &str) -> bool {
        let t = self.s[self.pos..].trim_start();
        t.strip_prefix("</")
            .and_then(|a| {
                a.find('>')
                    .map(|gt| a[..gt].trim().eq_ignore_ascii_case(name))
            })
            .unwrap_or(false)
    }
}

/// Turns tokens into leaves and aggregates and feeds them to `b`.
fn scan(sc: &mut Scanner<'_>, b: &mut Build) -> Result<(), Refusal> {
    loop {
        match sc.token()? {
            Token::Eof => break,
            // Text between aggregates: white space, or the tail of a leaf already read.
            Token::Text => {}
            Token::End(name) => b.close(&name)?,
            // An XML empty element <NAME/> reads as an empty leaf.
            Token::Start(name, line, true) => b.leaf(&name, "", line)?,
            Token::Start(name, line, false) => {
                let value = match peek_text(sc) {
                    Some(v) => Some(v),
                    // An empty leaf: <NAME></NAME>, <NAME/>, or unclosed and known as a leaf.
                    None if sc.end_tag_next(&name) || LEAVES.contains(&name.as_str()) => Some(""),
                    None => None,
                };
                match value {
                    Some(v) => {
                        sc.skip_end_tag(&name);
                        b.leaf(&name, &unescape(v), line)?;
                    }
                    None => b.open(name, line)?,
                }
            }
        }
    }
    // SGML may leave aggregates open at the end (a cut `</OFX>`): close what is left.
    while let Some((name, _)) = b.stack.last().cloned() {
        b.close(&name)?;
    }
    if !b.seen_ofx {
        return Err((1, "no OFX element (expected <OFX>)".into()));
    }
    Ok(())
}

/// The text right after a start tag, when it is not only white space (the tag is then a leaf).
fn peek_text<'a>(sc: &mut Scanner<'a>) -> Option<&'a str> {
    let rest = &sc.s[sc.pos..];
    let len = rest.find('<').unwrap_or(rest.len());
    let text = &rest[..len];
    if text.trim().is_empty() {
        // Leave the white space: the next token reads it as text between tags.
        None
    } else {
        sc.pos += len;
        Some(text)
    }
}

/// Decodes the XML/SGML entities OFX uses. An unknown `&...;` or a bare `&` (common in SGML
/// files: "AT&T") is kept as written.
fn unescape(v: &str) -> Cow<'_, str> {
    if !v.contains('&') {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest
            .find(';')
            .and_then(|semi| crate::text::xml_entity(&rest[1..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A leaf value (trimmed, white-space runs made one space) with the line of its tag.
#[derive(Clone, Debug)]
struct Field {
    text: String,
    line: u64,
}

fn field(v: &str, line: u64) -> Field {
    Field {
        text: v.split_whitespace().collect::<Vec<_>>().join(" "),
        line,
    }
}

#[derive(Default)]
struct Transaction {
    line: u64,
    amount: Option<Field>,
    posted: Option<Field>,
    name: Option<Field>,
    payee_name: Option<Field>,
    memo: Option<Field>,
    fitid: Option<Field>,
    /// CURRENCY/CURSYM: the transaction is in another currency than the statement's.
    currency: Option<Field>,
}

struct Statement {
    tag: String,
    line: u64,
    currency: Option<Field>,
    account: Option<String>,
    transactions: Vec<Transaction>,
}

#[derive(Default)]
struct Build {
    /// Open aggregates (name, line).
    stack: Vec<(String, u64)>,
    seen_ofx: bool,
    statement: Option<Statement>,
    transaction: Option<Transaction>,
    out: Vec<BankLine>,
}

impl Build {
    fn open(&mut self, name: String, line: u64) -> Result<(), Refusal> {
        match name.as_str() {
            "OFX" => self.seen_ofx = true,
            s if STATEMENTS.contains(&s) => {
                // A statement left open (SGML without its end tag) ends where the next begins.
                self.finish_statement()?;
                self.statement = Some(Statement {
                    tag: name.clone(),
                    line,
                    currency: None,
                    account: None,
                    transactions: Vec::new(),
                });
            }
            "STMTTRN" => {
                let Some(st) = self.statement.as_mut() else {
                    return Err((
                        line,
                        "STMTTRN outside a statement (expected it inside STMTRS, CCSTMTRS or INVSTMTRS)"
                            .into(),
                    ));
                };
                if let Some(t) = self.transaction.take() {
                    st.transactions.push(t);
                }
                self.transaction = Some(Transaction {
                    line,
                    ..Transaction::default()
                });
            }
            _ => {}
        }
        self.stack.push((name, line));
        Ok(())
    }

    /// An end tag closes its aggregate and those left open inside it; an end tag matching no
    /// open aggregate (that of a leaf already read) is ignored.
    fn close(&mut self, name: &str) -> Result<(), Refusal> {
        let Some(i) = self.stack.iter().rposition(|(n, _)| n == name) else {
            return Ok(());
        };
        while self.stack.len() > i {
            if let Some((n, _)) = self.stack.pop() {
                match n.as_str() {
                    "STMTTRN" => {
                        if let (Some(t), Some(st)) =
                            (self.transaction.take(), self.statement.as_mut())
                        {
                            st.transactions.push(t);
                        }
                    }
                    s if STATEMENTS.contains(&s) => self.finish_statement()?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn leaf(&mut self, name: &str, value: &str, line: u64) -> Result<(), Refusal> {
        let parent = self.stack.last().map_or("", |(n, _)| n.as_str());
        let f = || field(value, line);
        let first = |slot: &mut Option<Field>| {
            if slot.is_none() {
                *slot = Some(f());
            }
        };
        if let Some(t) = self.transaction.as_mut() {
            match (parent, name) {
                ("STMTTRN", "TRNAMT") => first(&mut t.amount),
                ("STMTTRN", "DTPOSTED") => first(&mut t.posted),
                ("STMTTRN", "NAME") => first(&mut t.name),
                ("STMTTRN", "MEMO") => first(&mut t.memo),
                ("STMTTRN", "FITID") => first(&mut t.fitid),
                // The payee aggregate (used instead of NAME) and a foreign currency.
                ("PAYEE", "NAME") => first(&mut t.payee_name),
                ("CURRENCY", "CURSYM") => first(&mut t.currency),
                _ => {}
            }
        }
        if let Some(st) = self.statement.as_mut() {
            match (parent, name) {
                (p, "CURDEF") if p == st.tag => first(&mut st.currency),
                (p, "ACCTID") if ACCOUNTS.contains(&p) && st.account.is_none() => {
                    st.account = Some(f().text).filter(|a| !a.is_empty());
                }
                // Balances are not lines, but an empty or broken balance is a broken statement.
                ("LEDGERBAL" | "AVAILBAL", "BALAMT") => {
                    let v = f();
                    if v.text.is_empty() {
                        return Err((
                            line,
                            format!(
                                "{parent}/BALAMT is empty (expected the balance as a decimal amount like 1234.56)"
                            ),
                        ));
                    }
                    if !is_decimal(&v.text) {
                        return Err((
                            line,
                            format!(
                                "{parent}/BALAMT {:?}: expected the balance as a decimal amount like -1234.56",
                                v.text
                            ),
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks the transactions of the open statement and makes their lines.
    fn finish_statement(&mut self) -> Result<(), Refusal> {
        let Some(mut st) = self.statement.take() else {
            return Ok(());
        };
        if let Some(t) = self.transaction.take() {
            st.transactions.push(t);
        }
        if st.transactions.is_empty() {
            return Ok(());
        }
        let currency = match &st.currency {
            None => {
                return Err((
                    st.line,
                    format!(
                        "{} has no CURDEF (expected the statement's currency, e.g. <CURDEF>USD)",
                        st.tag
                    ),
                ));
            }
            Some(c) => Currency::parse(&c.text).map_err(|e| (c.line, format!("CURDEF: {e}")))?,
        };
        for t in st.transactions {
            let bank_line = transaction(t, currency, st.account.as_deref())?;
            self.out.push(bank_line);
        }
        Ok(())
    }
}

/// Checks one transaction and makes its line.
fn transaction(
    t: Transaction,
    statement_currency: Currency,
    account: Option<&str>,
) -> Result<BankLine, Refusal> {
    let currency = match &t.currency {
        Some(c) => {
            Currency::parse(&c.text).map_err(|e| (c.line, format!("CURRENCY/CURSYM: {e}")))?
        }
        None => statement_currency,
    };
    let amt = t.amount.as_ref().ok_or_else(|| {
        (
            t.line,
            "STMTTRN has no TRNAMT (expected the amount, e.g. <TRNAMT>-12.50)".to_string(),
        )
    })?;
    if amt.text.is_empty() {
        return Err((
            amt.line,
            "TRNAMT is empty (expected a decimal amount like -1234.56)".into(),
        ));
    }
    let amount = signed_amount(&amt.text, currency.decimals()).map_err(|e| {
        let message = match e {
            Some(overflow) => format!("TRNAMT: {overflow}"),
            None => format!(
                "TRNAMT {:?}: expected a decimal amount like -1234.56 (at most {} decimals in {currency})",
                amt.text,
                currency.decimals()
            ),
        };
        (amt.line, message)
    })?;
    let posted = t.posted.as_ref().ok_or_else(|| {
        (
            t.line,
            "STMTTRN has no DTPOSTED (expected the posting date as YYYYMMDD)".to_string(),
        )
    })?;
    let date = ofx_date(posted)?;
    let text = |f: Option<Field>| f.map(|f| f.text).filter(|s| !s.is_empty());
    Ok(BankLine {
        line: t.line,
        account: account.map(str::to_string),
        date,
        value_date: None,
        amount,
        currency,
        reversal: false,
        payer_name: text(t.name).or_else(|| text(t.payee_name)),
        payer_iban: None,
        remittance: text(t.memo).unwrap_or_default(),
        creditor_ref: None,
        bank_ref: text(t.fitid),
        end_to_end: None,
    })
}

/// A signed decimal ("-12.50", "+100.00", "120", "12,50") in minor units with `decimals`
/// decimals; the error holds the overflow, if that was the fault.
fn signed_amount(s: &str, decimals: u8) -> Result<i64, Option<MoneyError>> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    // Some banks write a decimal comma; with both marks the amount is ambiguous.
    let digits: Cow<str> = if digits.contains(',') && !digits.contains('.') {
        Cow::Owned(digits.replacen(',', ".", 1))
    } else {
        Cow::Borrowed(digits)
    };
    if digits.starts_with(char::is_whitespace) {
        return Err(None);
    }
    match parse_minor(&digits, decimals) {
        Ok(v) => Ok(if negative { -v } else { v }),
        Err(e @ MoneyError::Overflow(_)) => Err(Some(e)),
        Err(_) => Err(None),
    }
}

/// A decimal number with an optional sign and '.' or ',' as decimal mark.
fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = digits.split_once(['.', ',']).unwrap_or((digits, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.bytes().all(|c| c.is_ascii_digit())
}

/// DTPOSTED: YYYYMMDD, optionally followed by a time and zone ("20120115120000.000[-5:EST]");
/// the day is the one written, without a zone shift.
fn ofx_date(f: &Field) -> Result<Day, Refusal> {
    let t = f.text.as_str();
    if t.is_empty() {
        return Err((
            f.line,
            "DTPOSTED is empty (expected the posting date as YYYYMMDD)".into(),
        ));
    }
    let bad = || {
        (
            f.line,
            format!("DTPOSTED {t:?}: expected a date as YYYYMMDD, optionally followed by a time"),
        )
    };
    let ymd = t
        .get(..8)
        .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
        .ok_or_else(bad)?;
    let iso = format!("{}-{}-{}", &ymd[..4], &ymd[4..6], &ymd[6..8]);
    Day::parse_iso(&iso).map_err(|e| match e {
        arpilot_core::date::DateError::Range { .. } => (
            f.line,
            format!("DTPOSTED {t:?}: expected a date from 1900-01-01 to 2199-12-31"),
        ),
        arpilot_core::date::DateError::Format { .. } => (
            f.line,
            format!("DTPOSTED {t:?}: expected an existing date as YYYYMMDD"),
        ),
    })
}
