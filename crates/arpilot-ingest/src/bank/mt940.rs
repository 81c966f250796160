//! SWIFT MT940 customer statements, as banks export them: one or more messages, each `:20:`
//! (reference), `:25:` (account), `:28C:`, `:60F:`/`:60M:` (opening balance, which gives the
//! currency), `:61:` statement lines each optionally followed by `:86:` details, and
//! `:62F:`/`:62M:` (closing balance). SWIFT block headers (`{1:…}{2:…}{4:` … `-}`), the SOH/ETX
//! characters around a message and the "-" line ending one are taken off.
//!
//! The `:86:` details come in three shapes, each read for the payer and the remittance:
//! - Dutch structured subfields `/EREF/…/CNTP/iban/bic/name/city/REMI/USTD//text/`;
//! - German `?nn` subfields after a three-digit business code (GVC): `?20`–`?29` and
//!   `?60`–`?63` the purpose, with SEPA tags `EREF+`, `SVWZ+`…, `?31` the IBAN, `?32`–`?33` the
//!   name;
//! - free text.

use super::BankLine;
use super::cfonb::{century, iban_shaped, is_valid_iban, squash};
use crate::IngestError;
use arpilot_core::money::parse_minor;
use arpilot_core::{Currency, Day};
use std::path::Path;

/// Tags that start a field at the beginning of a line. Another ":xx:" there is text of the
/// field before: a wrapped `:86:` can put the "26:37" of a time "16:26:37" first on a line.
/// `NS` is the savings banks' non-standard field; `940` a header some banks write first.
const TAGS: &[&str] = &[
    "13", "13D", "20", "21", "25", "25P", "28", "28C", "34F", "60F", "60M", "61", "62F", "62M",
    "64", "65", "86", "90C", "90D", "NS", "940",
];

/// Reads an MT940 file: every `:61:` statement line, with its `:86:` details, as a [`BankLine`].
pub fn read(bytes: &[u8], file: &Path) -> Result<Vec<BankLine>, IngestError> {
    let (text, _) = crate::text::decode(bytes);
    let fail = |(line, message): (u64, String)| IngestError::Row {
        file: file.to_path_buf(),
        line,
        message,
    };
    let items = items(&text);
    if !items
        .iter()
        .any(|i| matches!(i, Item::Field(f) if f.tag == "20"))
    {
        return Err(IngestError::File {
            file: file.to_path_buf(),
            message: "expected an MT940 statement: no :20: field opens a message".into(),
        });
    }
    let mut out = Vec::new();
    let mut message: Option<Message> = None;
    // The last :61: line, until a field other than :86: follows it.
    let mut entry: Option<Entry> = None;
    for item in items {
        let field = match item {
            Item::End => {
                finish(entry.take(), &mut out).map_err(fail)?;
                message = None;
                continue;
            }
            Item::Field(f) => f,
        };
        if field.tag == "940" {
            continue;
        }
        if field.tag == "86"
            && let Some(e) = entry.as_mut()
        {
            e.details.extend(field.lines);
            continue;
        }
        finish(entry.take(), &mut out).map_err(fail)?;
        if field.tag == "20" {
            message = Some(Message::default());
            continue;
        }
        let Some(m) = message.as_mut() else {
            return Err(fail((
                field.line,
                format!(
                    "expected a :20: field opening a message before this :{}: field",
                    field.tag
                ),
            )));
        };
        let first = field.lines.first().map_or("", |(_, l)| l.as_str());
        match field.tag {
            "25" => m.account = Some(first.trim().to_string()).filter(|a| !a.is_empty()),
            "60F" | "60M" => {
                m.currency = Some(opening_currency(first).map_err(|e| {
                    fail((field.line, format!(":{}: opening balance: {e}", field.tag)))
                })?);
            }
            "61" => {
                let currency = m.currency.ok_or_else(|| {
                    fail((
                        field.line,
                        "expected an opening balance :60F: or :60M: (it gives the currency) \
                         before this :61: statement line"
                            .into(),
                    ))
                })?;
                let more: Vec<&str> = field
                    .lines
                    .iter()
                    .skip(1)
                    .map(|(_, l)| l.as_str())
                    .collect();
                let parsed = statement_line(first, &more, currency)
                    .map_err(|e| fail((field.line, format!(":61: statement line: {e}"))))?;
                entry = Some(Entry {
                    line: field.line,
                    account: m.account.clone(),
                    currency,
                    parsed,
                    details: Vec::new(),
                });
            }
            // Closing and available balances, statement numbers, information to the account
            // owner about the whole statement: nothing to match payments with.
            _ => {}
        }
    }
    finish(entry, &mut out).map_err(fail)?;
    Ok(out)
}

/// A field: its tag, the line it starts on, and its lines (the first without the tag).
struct Field {
    tag: &'static str,
    line: u64,
    lines: Vec<(u64, String)>,
}

enum Item {
    Field(Field),
    /// The end of a message ("-" or "-}").
    End,
}

/// Splits the text into fields and message ends.
fn items(text: &str) -> Vec<Item> {
    let lines: Vec<(u64, &str)> = crate::text::lines(text)
        .map(|(no, l)| (no, clean(l)))
        .collect();
    let mut items: Vec<Item> = Vec::new();
    for (i, &(no, l)) in lines.iter().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        if l.starts_with("-}") {
            items.push(Item::End);
            continue;
        }
        if l.trim_end() == "-" {
            // ING wraps :86: details so that a line holds only the "-" of a mandate reference
            // ("MND" "-" "EV01"): inside details, "-" followed by more text is text.
            let in_details = matches!(items.last(), Some(Item::Field(f)) if f.tag == "86");
            let text_follows = lines.get(i + 1).is_some_and(|&(_, next)| {
                !next.trim().is_empty() && next.trim_end() != "-" && field_start(next).is_none()
            });
            if !(in_details && text_follows) {
                items.push(Item::End);
                continue;
            }
        }
        if let Some((tag, rest)) = field_start(l) {
            items.push(Item::Field(Field {
                tag,
                line: no,
                lines: vec![(no, rest.to_string())],
            }));
        } else if let Some(Item::Field(f)) = items.last_mut() {
            f.lines.push((no, l.to_string()));
        }
        // Else text outside a message, such as ABN AMRO's "ABNANL2A" and "940" preamble.
    }
    items
}

/// A line without the SOH/ETX around a message nor SWIFT block headers ("{1:…}{2:…}{4:").
fn clean(l: &str) -> &str {
    let mut l = l.trim_matches(|c| c == '\u{1}' || c == '\u{3}');
    while l.starts_with('{') {
        if let Some(rest) = l.strip_prefix("{4:") {
            l = rest;
            continue;
        }
        // A whole block, braces nested as in {3:{108:…}}.
        let mut depth = 0;
        let end = l.char_indices().find_map(|(i, c)| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(i)
        });
        match end {
            Some(i) => l = &l[i + 1..],
            None => return "",
        }
    }
    l
}

/// The tag and the rest of a line starting a field.
fn field_start(l: &str) -> Option<(&'static str, &str)> {
    let (tag, rest) = l.strip_prefix(':')?.split_once(':')?;
    TAGS.iter().find(|t| **t == tag).map(|t| (*t, rest))
}

#[derive(Default)]
struct Message {
    account: Option<String>,
    currency: Option<Currency>,
}

struct Entry {
    line: u64,
    account: Option<String>,
    currency: Currency,
    parsed: StatementLine,
    /// Lines of the :86: fields that follow (the old Rabobank layout writes several).
    details: Vec<(u64, String)>,
}

/// Turns a statement line and its details into a [`BankLine`].
fn finish(entry: Option<Entry>, out: &mut Vec<BankLine>) -> Result<(), (u64, String)> {
    let Some(e) = entry else { return Ok(()) };
    let mut d = details(&e.details)?;
    if d.remittance.is_empty() {
        d.remittance = e.parsed.extra;
    }
    out.push(BankLine {
        line: e.line,
        account: e.account,
        date: e.parsed.date,
        value_date: Some(e.parsed.value_date),
        amount: e.parsed.amount,
        currency: e.currency,
        reversal: e.parsed.reversal || d.returned,
        payer_name: d.payer_name,
        payer_iban: d.payer_iban,
        remittance: d.remittance,
        creditor_ref: d.creditor_ref,
        bank_ref: e.parsed.bank_ref,
        end_to_end: d.end_to_end,
    });
    Ok(())
}

/// The currency of an opening balance `C140219EUR662,23` (mark, date, currency, amount), the
/// rest of it checked.
fn opening_currency(s: &str) -> Result<Currency, String> {
    let s = s.trim();
    let expected = || format!("expected C or D, YYMMDD, a currency and an amount, found {s:?}");
    let b = s.as_bytes();
    if !matches!(b.first(), Some(b'C' | b'D')) || b.get(1..7).and_then(yymmdd).is_none() {
        return Err(expected());
    }
    let currency = s
        .get(7..10)
        .and_then(|c| Currency::parse(c).ok())
        .ok_or_else(expected)?;
    amount(s.get(10..).unwrap_or(""), currency)?;
    Ok(currency)
}

/// Minor units of an MT940 amount: digits with ',' as decimal mark ("1,56", "9,", "500").
fn amount(s: &str, currency: Currency) -> Result<i64, String> {
    let dotted = s.trim().replacen(',', ".", 1);
    let dotted = dotted.strip_suffix('.').unwrap_or(&dotted);
    parse_minor(dotted, currency.decimals())
        .map_err(|_| format!("expected an amount such as 1234,56, found {s:?}"))
}

/// What a :61: line says.
struct StatementLine {
    value_date: Day,
    /// The entry (booking) date when given, else the value date.
    date: Day,
    amount: i64,
    reversal: bool,
    bank_ref: Option<String>,
    /// Supplementary details: the text after the references and the next lines.
    extra: String,
}

/// Reads `YYMMDD[MMDD]mark[funds code]amount type reference[//bank reference]`, e.g.
/// `1402200220C1,56NTRFEREF//00000000001`.
fn statement_line(s: &str, more: &[&str], currency: Currency) -> Result<StatementLine, String> {
    let s = s.trim_end();
    let b = s.as_bytes();
    let value_date = b.get(..6).and_then(yymmdd).ok_or_else(|| {
        format!(
            "expected the value date as YYMMDD, found {:?}",
            s.chars().take(6).collect::<String>()
        )
    })?;
    let mut p = 6;
    let mut date = value_date;
    match b.get(6..10) {
        Some(md) if md.iter().all(u8::is_ascii_digit) => {
            date = entry_date(value_date, md)
                .ok_or_else(|| format!("expected the entry date as MMDD, found {:?}", &s[6..10]))?;
            p = 10;
        }
        // Citibank writes spaces for an absent entry date.
        Some(b"    ") => p = 10,
        _ => {}
    }
    // RC: reversal of a credit (money out); RD: reversal of a debit (money in).
    let (sign, reversal, len) = match (b.get(p), b.get(p + 1)) {
        (Some(b'R'), Some(b'C')) => (-1, true, 2),
        (Some(b'R'), Some(b'D')) => (1, true, 2),
        (Some(b'C'), _) => (1, false, 1),
        (Some(b'D'), _) => (-1, false, 1),
        _ => {
            return Err(format!(
                "expected the mark C, D, RC or RD after the date, found {:?}",
                &s[p..]
            ));
        }
    };
    p += len;
    // The funds code, the third letter of the currency code ("CR" for EUR, "CM" for DEM).
    if b.get(p).is_some_and(u8::is_ascii_alphabetic) {
        p += 1;
    }
    let digits = b[p..]
        .iter()
        .take_while(|c| c.is_ascii_digit() || **c == b',')
        .count();
    let amount = sign * amount(&s[p..p + digits], currency)?;
    p += digits;
    let kind_ok = |t: &[u8]| {
        matches!(t[0], b'N' | b'F' | b'S') && t[1..].iter().all(u8::is_ascii_alphanumeric)
    };
    if !b.get(p..p + 4).is_some_and(kind_ok) {
        return Err(format!(
            "expected the transaction type (N, F or S and three letters or digits, e.g. NTRF) \
             after the amount, found {:?}",
            &s[p..]
        ));
    }
    let refs = &s[p + 4..];
    let (customer, bank) = refs.split_once("//").unwrap_or((refs, ""));
    // The old Rabobank layout pads the reference and writes the counterparty after it.
    let (customer, after) = customer
        .trim()
        .split_once("  ")
        .unwrap_or((customer.trim(), ""));
    let reference = |r: &str| {
        let r = r.trim();
        (!r.is_empty() && !r.eq_ignore_ascii_case("NONREF")).then(|| r.to_string())
    };
    let extra = std::iter::once(after).chain(more.iter().copied());
    Ok(StatementLine {
        value_date,
        date,
        amount,
        reversal,
        bank_ref: reference(bank).or_else(|| reference(customer)),
        extra: squash(&extra.collect::<Vec<_>>().join(" ")),
    })
}

/// A YYMMDD date. German banks date on a 30-day-month calendar: February 29 or 30 of a month
/// without it is taken as the last day of February.
fn yymmdd(b: &[u8]) -> Option<Day> {
    let [yy, m, d] = two_digits(b.get(..6)?)?[..] else {
        return None;
    };
    february_end(century(yy), m, d)
}

/// The entry date MMDD of a value date: the year making it nearest the value date (a booking
/// on 0105 of a value date 141231 is in 2015).
fn entry_date(value: Day, md: &[u8]) -> Option<Day> {
    let [m, d] = two_digits(md)?[..] else {
        return None;
    };
    let (y, _, _) = value.ymd();
    (y - 1..=y + 1)
        .filter_map(|y| february_end(y, m, d))
        .min_by_key(|d| (d.0 - value.0).abs())
}

fn february_end(y: i32, m: u32, d: u32) -> Option<Day> {
    Day::from_ymd_supported(y, m, d).or_else(|| match (m, d) {
        (2, 29..=30) => Day::from_ymd_supported(y, 2, 29).or(Day::from_ymd_supported(y, 2, 28)),
        _ => None,
    })
}

/// Pairs of ASCII digits as numbers.
fn two_digits(b: &[u8]) -> Option<Vec<u32>> {
    if !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        b.chunks(2)
            .map(|p| p.iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0')))
            .collect(),
    )
}

/// What the :86: details tell.
#[derive(Default)]
struct Details {
    remittance: String,
    payer_name: Option<String>,
    payer_iban: Option<String>,
    creditor_ref: Option<String>,
    end_to_end: Option<String>,
    /// A Dutch /RTRN/ (return reason): the entry returns an earlier one.
    returned: bool,
}

/// Reads the details in whichever of the three shapes they are.
fn details(lines: &[(u64, String)]) -> Result<Details, (u64, String)> {
    // Structured details are cut into lines anywhere, even inside a word or a subfield
    // number ("?2" "2"): their lines are joined as they are.
    let mut joined = String::new();
    let mut starts = Vec::with_capacity(lines.len());
    for (no, l) in lines {
        starts.push((joined.len(), *no));
        joined.push_str(l);
    }
    let line_at = |offset: usize| {
        let i = starts.partition_point(|(o, _)| *o <= offset);
        starts.get(i.saturating_sub(1)).map_or(0, |s| s.1)
    };
    let lead = joined.len() - joined.trim_start().len();
    let t = joined.trim();
    let b = t.as_bytes();
    if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b'?' {
        return german(t).map_err(|(at, m)| (line_at(lead + at), m));
    }
    if let Some(d) = dutch(t) {
        return Ok(d);
    }
    // Free text: its lines are phrases.
    let text = squash(
        &lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    let payer_iban = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| is_valid_iban(w))
        .map(str::to_string);
    Ok(Details {
        remittance: text,
        payer_iban,
        ..Details::default()
    })
}

/// German `GVC?00posting text?20purpose…?31IBAN?32name?33name…`. Errors give the byte offset
/// in `t` of the broken subfield.
fn german(t: &str) -> Result<Details, (usize, String)> {
    let mut subfields: Vec<(u32, &str)> = Vec::new();
    let mut pos = 3;
    while pos < t.len() {
        let number = t
            .get(pos + 1..pos + 3)
            .and_then(|n| two_digits(n.as_bytes()))
            .and_then(|n| n.first().copied());
        let Some(number) = number else {
            let found: String = t[pos..].chars().take(3).collect();
            return Err((
                pos,
                format!(
                    ":86: details in ?nn subfields: expected two digits after '?' (as in ?20), \
                     found {found:?}{}",
                    if found.chars().count() < 3 {
                        " at the end of the field"
                    } else {
                        ""
                    }
                ),
            ));
        };
        let start = pos + 3;
        let end = t[start..].find('?').map_or(t.len(), |i| start + i);
        subfields.push((number, &t[start..end]));
        pos = end;
    }
    let of = |wanted: &dyn Fn(u32) -> bool| -> Vec<&str> {
        subfields
            .iter()
            .filter(|(n, _)| wanted(*n))
            .map(|(_, s)| *s)
            .collect()
    };
    let purpose = of(&|n| (20..=29).contains(&n) || (60..=63).contains(&n));
    let (text, chunk_starts) = join_chunks(&purpose);
    let (untagged, tagged) = sepa_tags(&text, &chunk_starts);
    let value = |tag: &str| -> Vec<&str> {
        tagged
            .iter()
            .filter(|(t, _)| *t == tag)
            .map(|(_, v)| *v)
            .collect()
    };
    let svwz = value("SVWZ");
    let mut remittance = if !svwz.is_empty() {
        squash(&svwz.join(" "))
    } else {
        // Tags stripped, their values kept.
        let values = tagged.iter().map(|(_, v)| *v);
        squash(
            &std::iter::once(untagged)
                .chain(values)
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    if remittance.is_empty() {
        remittance = squash(&of(&|n| n == 0).join(" "));
    }
    // An identifier ends where its subfield was not filled up: at a '\n' of `join_chunks`.
    let end_to_end = value("EREF")
        .first()
        .map(|v| squash(v.split('\n').next().unwrap_or("")))
        .filter(|v| !placeholder(v));
    let name = squash(&join_chunks(&of(&|n| n == 32 || n == 33)).0);
    Ok(Details {
        remittance,
        payer_name: (!name.is_empty()).then_some(name),
        payer_iban: of(&|n| n == 31).first().and_then(|s| iban_shaped(s)),
        creditor_ref: None,
        end_to_end,
        returned: false,
    })
}

/// An end-to-end id saying there is none.
fn placeholder(id: &str) -> bool {
    id.is_empty() || id.eq_ignore_ascii_case("NOTPROVIDED") || id.eq_ignore_ascii_case("NONREF")
}

/// Length of a filled-up `?nn` subfield: a longer text goes on in the next one.
const SUBFIELD: usize = 27;

/// Joins subfield texts: straight on after a full subfield (27 characters: the text was cut,
/// maybe inside a word), with a '\n' after a shorter one (the text ended there). Also gives
/// where each subfield starts in the result.
fn join_chunks(chunks: &[&str]) -> (String, Vec<usize>) {
    let mut text = String::new();
    let mut starts = Vec::with_capacity(chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        if i > 0 && chunks[i - 1].chars().count() < SUBFIELD {
            text.push('\n');
        }
        starts.push(text.len());
        text.push_str(c);
    }
    (text, starts)
}

/// SEPA tags of German purpose texts (DFÜ-Abkommen, Anlage 3).
const SEPA_TAGS: &[&str] = &[
    "EREF+", "KREF+", "MREF+", "CRED+", "DEBT+", "COAM+", "OAMT+", "SVWZ+", "ABWA+", "ABWE+",
    "IBAN+", "BIC+",
];

/// The text before the first SEPA tag, and each tag with its value (up to the next tag). A tag
/// counts at the start of a subfield or after a character other than a letter or digit.
fn sepa_tags<'a>(text: &'a str, starts: &[usize]) -> (&'a str, Vec<(&'static str, &'a str)>) {
    let mut found: Vec<(usize, &'static str)> = Vec::new();
    for (i, _) in text.char_indices() {
        let boundary = i == 0
            || starts.contains(&i)
            || text[..i]
                .chars()
                .next_back()
                .is_some_and(|c| !c.is_alphanumeric());
        if !boundary {
            continue;
        }
        if let Some(tag) = SEPA_TAGS.iter().find(|t| text[i..].starts_with(**t)) {
            found.push((i, *tag));
        }
    }
    let untagged = &text[..found.first().map_or(text.len(), |f| f.0)];
    let tagged = found
        .iter()
        .enumerate()
        .map(|(k, &(at, tag))| {
            let end = found.get(k + 1).map_or(text.len(), |f| f.0);
            (&tag[..tag.len() - 1], &text[at + tag.len()..end])
        })
        .collect();
    (untagged, tagged)
}

/// Subfields of Dutch structured details (ING, Rabobank, ABN AMRO SEPA).
const NL_TAGS: &[&str] = &[
    "ACCW", "ADDR", "BENM", "BIC", "BUSP", "CHGS", "CNTP", "CSID", "EREF", "EXCH", "IBAN", "ID",
    "IREF", "ISDT", "MARF", "NAME", "OCMT", "ORDP", "PREF", "PURP", "REMI", "RTRN", "SUM", "SVCL",
    "TRTP", "ULTB", "ULTC", "ULTD",
];

/// Dutch `/TAG/value/TAG/value…`, `None` when the details do not start with a known tag.
fn dutch(t: &str) -> Option<Details> {
    // (where "/TAG/" starts, tag, where its value starts); the '/' closing a value may open
    // the next tag, as in "/ORDP//NAME/".
    let mut found: Vec<(usize, &str, usize)> = Vec::new();
    let mut p = 0;
    while let Some(i) = t[p..].find('/') {
        let at = p + i;
        let rest = &t[at + 1..];
        match NL_TAGS
            .iter()
            .find(|tag| rest.strip_prefix(**tag).is_some_and(|r| r.starts_with('/')))
        {
            Some(tag) => {
                found.push((at, *tag, at + tag.len() + 2));
                p = at + tag.len() + 1;
            }
            None => p = at + 1,
        }
    }
    if found.first().map(|f| f.0) != Some(0) {
        return None;
    }
    let mut d = Details::default();
    let mut party = "";
    for (k, &(_, tag, start)) in found.iter().enumerate() {
        let end = found.get(k + 1).map_or(t.len(), |f| f.0).max(start);
        let v = &t[start.min(end)..end];
        let v = v.strip_suffix('/').unwrap_or(v);
        match tag {
            "EREF" => {
                d.end_to_end = Some(v.trim().to_string()).filter(|v| !placeholder(v));
            }
            // Counterparty: IBAN / BIC / name / city.
            "CNTP" => {
                let mut parts = v.split('/');
                d.payer_iban = parts.next().and_then(iban_shaped);
                let name = squash(parts.nth(1).unwrap_or(""));
                d.payer_name = (!name.is_empty()).then_some(name);
            }
            "REMI" => {
                if let Some(text) = v.strip_prefix("USTD//") {
                    d.remittance = squash(text);
                } else if let Some((_issuer, reference)) =
                    v.strip_prefix("STRD/").and_then(|s| s.split_once('/'))
                {
                    // A structured reference (CUR: the Dutch payment reference).
                    d.creditor_ref = Some(reference.trim().to_string());
                    d.remittance = squash(reference);
                } else {
                    d.remittance = squash(v);
                }
            }
            "ORDP" | "BENM" | "ULTB" | "ULTC" | "ULTD" => party = tag,
            // The ordering party's name (Rabobank "/ORDP//NAME/"), or a top-level one (ABN AMRO).
            "NAME" if matches!(party, "" | "ORDP") && d.payer_name.is_none() => {
                let name = squash(v);
                d.payer_name = (!name.is_empty()).then_some(name);
            }
            "IBAN" if matches!(party, "" | "ORDP") && d.payer_iban.is_none() => {
                d.payer_iban = iban_shaped(v);
            }
            "RTRN" => d.returned = true,
            _ => {}
        }
    }
    Some(d)
}
