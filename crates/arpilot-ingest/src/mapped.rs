//! Any CSV export with a mapping file (TOML) from its columns to arpilot's, for the ERPs and
//! spreadsheets that have no arpilot export. Separator, encoding, decimal comma, thousands
//! separators and date format are detected when the mapping does not state them.
//!
//! ```toml
//! kind = "invoices"               # each row is an invoice ("payments" and "customers" too)
//! [columns]                       # arpilot's name = the file's column
//! document_id = "invoiceNumber"
//! customer_id = "customerID"
//! issue_date = "InvoiceDate"
//! due_date = "DueDate"
//! amount = "InvoiceAmount"
//! settled_date = "SettledDate"    # paid in full on this date
//! [attributes]                    # customer dimensions read from the rows
//! region = "countryCode"
//! [format]                        # optional
//! date = "M/D/YYYY"
//! ```

use crate::IngestError;
use crate::text;
use arpilot_core::ledger::*;
use arpilot_core::money::parse_minor;
use arpilot_core::{Currency, Day, Snapshot};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub kind: Kind,
    pub columns: BTreeMap<String, String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Invoices,
    Payments,
    Customers,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Format {
    pub separator: Option<String>,
    pub decimal: Option<String>,
    /// `YYYY-MM-DD`, `YYYYMMDD`, `DD/MM/YYYY`, `M/D/YYYY` (`/`, `-` or `.` between the parts).
    pub date: Option<String>,
    pub currency: Option<String>,
    /// Spreadsheets: the sheet to read (default the first).
    pub sheet: Option<String>,
}

const INVOICE_FIELDS: [&str; 12] = [
    "document_id",
    "customer_id",
    "customer_name",
    "issue_date",
    "due_date",
    "amount",
    "type",
    "disputed",
    "dispute_reason",
    "in_legal",
    "settled_date",
    "currency",
];
const PAYMENT_FIELDS: [&str; 7] = [
    "payment_id",
    "customer_id",
    "customer_name",
    "date",
    "amount",
    "invoice_id",
    "currency",
];
const CUSTOMER_FIELDS: [&str; 5] = [
    "customer_id",
    "name",
    "credit_limit",
    "payment_terms_days",
    "currency",
];

impl Mapping {
    pub fn load(path: &Path) -> Result<Mapping, IngestError> {
        let text = std::fs::read_to_string(path).map_err(|source| IngestError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let m: Mapping = toml::from_str(&text).map_err(|e| IngestError::File {
            file: path.to_path_buf(),
            message: format!("invalid mapping: {}", e.message()),
        })?;
        let (known, required): (&[&str], &[&str]) = match m.kind {
            Kind::Invoices => (
                &INVOICE_FIELDS,
                &["document_id", "customer_id", "issue_date", "amount"],
            ),
            Kind::Payments => (
                &PAYMENT_FIELDS,
                &["payment_id", "customer_id", "date", "amount"],
            ),
            Kind::Customers => (&CUSTOMER_FIELDS, &["customer_id", "name"]),
        };
        for k in m.columns.keys() {
            if !known.contains(&k.as_str()) {
                return Err(IngestError::File {
                    file: path.to_path_buf(),
                    message: format!(
                        "unknown field {k:?} in [columns] (expected one of: {})",
                        known.join(", ")
                    ),
                });
            }
        }
        for r in required {
            if !m.columns.contains_key(*r) {
                return Err(IngestError::File {
                    file: path.to_path_buf(),
                    message: format!("[columns] needs {r:?} for kind {:?}", m.kind),
                });
            }
        }
        Ok(m)
    }
}

/// Day-month order of slash dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateFormat {
    Iso,
    Compact,
    DayFirst,
    MonthFirst,
}

fn parse_date(s: &str, f: DateFormat) -> Option<Day> {
    let s = s.trim();
    match f {
        DateFormat::Iso => Day::parse_iso(s.get(..10)?).ok(),
        DateFormat::Compact => {
            let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
            if s.len() != 8 {
                return None;
            }
            Day::from_ymd_supported(n(0..4)? as i32, n(4..6)?, n(6..8)?)
        }
        DateFormat::DayFirst | DateFormat::MonthFirst => {
            let p: Vec<u32> = s
                .split(['/', '-', '.'])
                .map(|x| x.parse::<u32>().ok())
                .collect::<Option<_>>()?;
            if p.len() != 3 || p[2] < 1000 {
                return None;
            }
            let (d, m) = if f == DateFormat::DayFirst {
                (p[0], p[1])
            } else {
                (p[1], p[0])
            };
            Day::from_ymd_supported(p[2] as i32, m, d)
        }
    }
}

fn date_format_named(s: &str) -> Option<DateFormat> {
    Some(match s.to_ascii_uppercase().as_str() {
        "YYYY-MM-DD" | "ISO" => DateFormat::Iso,
        "YYYYMMDD" => DateFormat::Compact,
        "DD/MM/YYYY" | "D/M/YYYY" | "DD-MM-YYYY" | "DD.MM.YYYY" => DateFormat::DayFirst,
        "MM/DD/YYYY" | "M/D/YYYY" => DateFormat::MonthFirst,
        _ => return None,
    })
}

/// The date format that reads every sample value; slash dates are day-first unless a value
/// shows otherwise (French exports first).
fn detect_date(samples: &[&str]) -> Option<DateFormat> {
    let s: Vec<&str> = samples
        .iter()
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .collect();
    let all = |f| s.iter().all(|x| parse_date(x, f).is_some());
    if s.is_empty() {
        return None;
    }
    for f in [DateFormat::Iso, DateFormat::Compact] {
        if all(f) {
            return Some(f);
        }
    }
    match (all(DateFormat::DayFirst), all(DateFormat::MonthFirst)) {
        (true, _) => Some(DateFormat::DayFirst),
        (false, true) => Some(DateFormat::MonthFirst),
        _ => None,
    }
}

/// Decimal comma when amounts show one (`1234,5`, `1.234,56`), else decimal point.
fn detect_decimal_comma(samples: &[&str]) -> bool {
    samples.iter().any(|v| {
        let v = v.trim();
        match (v.rfind(','), v.rfind('.')) {
            (Some(c), Some(p)) => c > p,
            // "1,234" reads as thousands; "1234,5" or "12,50" as a decimal comma.
            (Some(c), None) => v.len() - c - 1 != 3,
            _ => false,
        }
    })
}

fn parse_amount(v: &str, comma: bool, decimals: u8) -> Option<i64> {
    let t: String = v
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, t),
    };
    let t = if comma {
        t.replace('.', "").replace(',', ".")
    } else {
        t.replace(',', "")
    };
    let v = parse_minor(&t, decimals).ok()?;
    Some(if neg { -v } else { v })
}

/// Reads a mapped CSV or spreadsheet (XLSX, XLS, ODS) into ledger events, each with its line.
pub fn read(path: &Path, m: &Mapping) -> Result<(Vec<(u64, Event)>, Currency), IngestError> {
    let (headers, rows) = match crate::sheet::kind(path)? {
        Some(_) => crate::sheet::rows(path, m.format.sheet.as_deref())?,
        None => csv_rows(path, m)?,
    };
    from_rows(path, m, headers, rows)
}

/// A header and the data rows with their line (or sheet row) numbers.
pub type Rows = (Vec<String>, Vec<(u64, csv::StringRecord)>);

fn csv_rows(path: &Path, m: &Mapping) -> Result<Rows, IngestError> {
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let (text, _) = text::decode(&bytes);
    let first = text::lines(&text).next().map_or("", |l| l.1);
    let sep = match m.format.separator.as_deref() {
        Some("\\t") | Some("tab") => b'\t',
        Some(s) if s.len() == 1 => s.as_bytes()[0],
        Some(s) => {
            return Err(IngestError::File {
                file: path.to_path_buf(),
                message: format!("[format] separator: expected one character, found {s:?}"),
            });
        }
        None => *[b',', b';', b'\t', b'|']
            .iter()
            .max_by_key(|&&c| first.bytes().filter(|&b| b == c).count())
            .expect("candidates"),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(sep)
        .flexible(false)
        .from_reader(text::LineTracker::new(text.as_bytes()));
    let (headers, pos): (Vec<String>, _) = match rdr.headers() {
        Ok(h) => (
            h.iter().map(|h| h.trim().to_string()).collect(),
            h.position().cloned(),
        ),
        Err(e) => return Err(crate::csv_error(path, rdr.get_mut(), e)),
    };
    if headers.len() > crate::MAX_COLUMNS {
        return Err(IngestError::Row {
            file: path.to_path_buf(),
            line: rdr.get_mut().line_of(pos.as_ref()),
            message: format!(
                "{} columns (expected at most {}: is this an export of invoices, payments or customers?)",
                headers.len(),
                crate::MAX_COLUMNS
            ),
        });
    }
    let mut rows: Vec<(u64, csv::StringRecord)> = Vec::new();
    let mut r = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut r) {
            Ok(true) => rows.push((rdr.get_mut().line_of(r.position()), r.clone())),
            Ok(false) => break,
            Err(e) => return Err(crate::csv_error(path, rdr.get_mut(), e)),
        }
    }
    Ok((headers, rows))
}

fn from_rows(
    path: &Path,
    m: &Mapping,
    headers: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
) -> Result<(Vec<(u64, Event)>, Currency), IngestError> {
    let col = |theirs: &str| headers.iter().position(|h| h == theirs);
    let mut ix: HashMap<&str, usize> = HashMap::new();
    for (ours, theirs) in m.columns.iter().chain(m.attributes.iter()) {
        let c = col(theirs).ok_or_else(|| IngestError::File {
            file: path.to_path_buf(),
            message: format!(
                "the mapping names column {theirs:?}, which the file does not have (found: {})",
                headers.join(", ")
            ),
        })?;
        ix.insert(ours.as_str(), c);
    }
    let sample = |field: &str| -> Vec<&str> {
        ix.get(field)
            .map(|&c| rows.iter().take(2000).filter_map(|r| r.1.get(c)).collect())
            .unwrap_or_default()
    };
    let date_fields: Vec<&str> = ["issue_date", "due_date", "settled_date", "date"]
        .into_iter()
        .filter(|f| ix.contains_key(f))
        .collect();
    let date_fmt = match m.format.date.as_deref() {
        Some(f) => date_format_named(f).ok_or_else(|| IngestError::File {
            file: path.to_path_buf(),
            message: format!(
                "[format] date: expected YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY or M/D/YYYY, found {f:?}"
            ),
        })?,
        None => {
            let all: Vec<&str> = date_fields.iter().flat_map(|f| sample(f)).collect();
            detect_date(&all).unwrap_or(DateFormat::DayFirst)
        }
    };
    let comma = match m.format.decimal.as_deref() {
        Some(",") => true,
        Some(_) => false,
        None => detect_decimal_comma(&sample("amount")),
    };
    let currency = match m.format.currency.as_deref() {
        Some(c) => Currency::parse(c).map_err(|e| IngestError::File {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?,
        None => Currency::EUR,
    };
    let dec = currency.decimals();
    let mut out = Vec::new();
    let mut seen_customers = HashSet::new();
    for (line, r) in &rows {
        let line = *line;
        let get = |f: &str| ix.get(f).and_then(|&c| r.get(c)).map_or("", str::trim);
        let err = |f: &str, message: String| IngestError::Field {
            file: path.to_path_buf(),
            line,
            column: m.columns.get(f).cloned().unwrap_or_else(|| f.to_string()),
            message,
        };
        let text_of = |f: &str| -> Result<String, IngestError> {
            let v = get(f);
            if v.is_empty() {
                Err(err(f, "expected a value, found an empty field".into()))
            } else {
                Ok(v.to_string())
            }
        };
        let date = |f: &str| {
            parse_date(get(f), date_fmt).ok_or_else(|| {
                err(
                    f,
                    format!(
                        "expected a date as {date_fmt:?} from 1900-01-01 to 2199-12-31, found {:?}",
                        get(f)
                    ),
                )
            })
        };
        let opt_date = |f: &str| -> Result<Option<Day>, IngestError> {
            if get(f).is_empty() {
                Ok(None)
            } else {
                date(f).map(Some)
            }
        };
        let amount = |f: &str| {
            parse_amount(get(f), comma, dec)
                .ok_or_else(|| err(f, format!("expected an amount, found {:?}", get(f))))
        };
        let flag = |f: &str| {
            matches!(
                get(f).to_lowercase().as_str(),
                "yes" | "y" | "true" | "1" | "oui" | "o" | "x"
            )
        };
        let customer = text_of("customer_id")?;
        if seen_customers.insert(customer.clone()) && m.kind != Kind::Customers {
            let name = Some(get("customer_name"))
                .filter(|n| !n.is_empty())
                .unwrap_or(&customer)
                .to_string();
            out.push((
                line,
                Event::Customer(CustomerRec {
                    id: customer.clone(),
                    name,
                    credit_limit: None,
                    payment_terms_days: None,
                    attrs: m
                        .attributes
                        .keys()
                        .map(|k| (k.clone(), get(k).to_string()))
                        .collect(),
                }),
            ));
        }
        match m.kind {
            Kind::Customers => out.push((
                line,
                Event::Customer(CustomerRec {
                    id: customer,
                    name: text_of("name")?,
                    credit_limit: if get("credit_limit").is_empty() {
                        None
                    } else {
                        Some(amount("credit_limit")?)
                    },
                    payment_terms_days: match get("payment_terms_days") {
                        "" => None,
                        v => Some(v.parse().map_err(|_| {
                            err(
                                "payment_terms_days",
                                format!("expected a number of days, found {v:?}"),
                            )
                        })?),
                    },
                    attrs: m
                        .attributes
                        .keys()
                        .map(|k| (k.clone(), get(k).to_string()))
                        .collect(),
                }),
            )),
            Kind::Invoices => {
                let id = text_of("document_id")?;
                let a = amount("amount")?;
                let kind = match get("type").to_lowercase().as_str() {
                    "credit_note" | "avoir" | "credit" => DocKind::CreditNote,
                    _ if a < 0 => DocKind::CreditNote,
                    _ => DocKind::Invoice,
                };
                let issue = date("issue_date")?;
                out.push((
                    line,
                    Event::Document(DocumentRec {
                        due: opt_date("due_date")?,
                        disputed: flag("disputed"),
                        dispute_reason: Some(get("dispute_reason").to_string())
                            .filter(|r| !r.is_empty()),
                        in_legal: flag("in_legal"),
                        ..DocumentRec::new(id.clone(), customer.clone(), kind, issue, a.abs())
                    }),
                ));
                if let Some(settled) = opt_date("settled_date")?
                    && kind == DocKind::Invoice
                {
                    out.push((
                        line,
                        Event::Payment(PaymentRec {
                            id: format!("{id}/settlement"),
                            customer_id: customer,
                            date: settled,
                            amount: a,
                            currency: None,
                            invoice_id: Some(id),
                            reference: None,
                        }),
                    ));
                }
            }
            Kind::Payments => out.push((
                line,
                Event::Payment(PaymentRec {
                    id: text_of("payment_id")?,
                    customer_id: customer,
                    date: date("date")?,
                    amount: amount("amount")?,
                    currency: None,
                    invoice_id: Some(get("invoice_id").to_string()).filter(|v| !v.is_empty()),
                    reference: None,
                }),
            )),
        }
    }
    Ok((out, currency))
}

/// Reads a mapped file into a snapshot.
pub fn load(path: &Path, m: &Mapping) -> Result<Snapshot, IngestError> {
    let (events, currency) = read(path, m)?;
    crate::build_with_lines(path, currency, events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_dates_and_decimals() {
        assert_eq!(
            detect_date(&["1/26/2013", "2/1/2013"]),
            Some(DateFormat::MonthFirst)
        );
        assert_eq!(
            detect_date(&["26/01/2013", "01/02/2013"]),
            Some(DateFormat::DayFirst)
        );
        assert_eq!(detect_date(&["01/02/2013"]), Some(DateFormat::DayFirst));
        assert_eq!(detect_date(&["2013-01-26"]), Some(DateFormat::Iso));
        assert_eq!(detect_date(&["20130126"]), Some(DateFormat::Compact));
        assert_eq!(detect_date(&["26.01.2013"]), Some(DateFormat::DayFirst));
        assert!(detect_decimal_comma(&["1234,56"]));
        assert!(detect_decimal_comma(&["1.234,5"]));
        assert!(!detect_decimal_comma(&["1,234.56", "12.5"]));
        assert_eq!(parse_amount("1 234,56", true, 2), Some(123_456));
        assert_eq!(parse_amount("1.234,56", true, 2), Some(123_456));
        assert_eq!(parse_amount("1,234.56", false, 2), Some(123_456));
        assert_eq!(parse_amount("-12", false, 2), Some(-1200));
        assert_eq!(parse_amount("abc", false, 2), None);
    }
}
