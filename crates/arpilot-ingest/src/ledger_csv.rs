//! The default CSV ledger set (a folder of `customers.csv`, `invoices.csv`, `payments.csv`, …),
//! read strictly: a wrong date, amount, unknown reference or duplicate id is an error naming the
//! file, line and column.
//!
//! Rows stream straight into the snapshot (no intermediate vector of events), so a 10-million
//! invoice set loads in constant extra memory.

use crate::IngestError;
use crate::text::LineTracker;
use arpilot_core::ledger::*;
use arpilot_core::money::{self, Currency};
use arpilot_core::{Day, Snapshot};
use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The files of the set, in the order they are read.
pub const FILES: [&str; 8] = [
    "customers.csv",
    "invoices.csv",
    "payments.csv",
    "allocations.csv",
    "disputes.csv",
    "promises.csv",
    "actions.csv",
    "rates.csv",
];

const CUSTOMER_COLS: [&str; 14] = [
    "customer_id",
    "name",
    "group",
    "entity",
    "collector",
    "sales_rep",
    "region",
    "sector",
    "size",
    "credit_limit",
    "payment_terms_days",
    "currency",
    "rating",
    "",
];

const INVOICE_COLS: [&str; 13] = [
    "document_id",
    "customer_id",
    "issue_date",
    "amount",
    "type",
    "due_date",
    "currency",
    "original_invoice_id",
    "disputed",
    "dispute_reason",
    "in_legal",
    "division",
    "",
];

/// Loads a CSV ledger set into a snapshot.
pub fn load_dir(dir: &Path) -> Result<Snapshot, IngestError> {
    if !dir.is_dir() {
        return Err(IngestError::File {
            file: dir.to_path_buf(),
            message: "expected a folder holding customers.csv and invoices.csv".into(),
        });
    }
    for required in ["customers.csv", "invoices.csv"] {
        if !dir.join(required).is_file() {
            return Err(IngestError::File {
                file: dir.join(required),
                message: "missing: a ledger set needs customers.csv and invoices.csv".into(),
            });
        }
    }
    let currency = detect_currency(dir)?;
    let state = RefCell::new(ReadState::default());
    let files: Vec<PathBuf> = FILES
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.is_file())
        .collect();
    let events = EventStream::new(&files, currency, &state);
    let built = Snapshot::build(currency, events);
    let st = state.into_inner();
    if let Some(e) = st.error {
        return Err(e);
    }
    built.map_err(|e| {
        // Find which file and row produced event `e.index`, then its line.
        let (fi, record) = st.locate(e.index);
        let file = files[fi].clone();
        let line = line_of_record(&file, record).unwrap_or(record + 2);
        match e.error.column() {
            Some(column) => IngestError::Field {
                file,
                line,
                column: column.to_string(),
                message: e.error.to_string(),
            },
            None => IngestError::Row {
                file,
                line,
                message: e.error.to_string(),
            },
        }
    })
}

/// A ledger set read into events, for an import.
pub struct LedgerSet {
    pub files: Vec<PathBuf>,
    pub currency: Currency,
    pub events: Vec<Event>,
    /// File (index into `files`) and line of every event.
    pub origins: Vec<(u32, u64)>,
}

/// Reads the ledger set files of a folder, or the given files (named like the set's).
pub fn read_set(paths: &[PathBuf]) -> Result<LedgerSet, IngestError> {
    let files: Vec<PathBuf> = if let [dir] = paths
        && dir.is_dir()
    {
        if !dir.join("customers.csv").is_file() {
            return Err(IngestError::File {
                file: dir.join("customers.csv"),
                message: "missing: a ledger set needs customers.csv".into(),
            });
        }
        FILES
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.is_file())
            .collect()
    } else {
        // In the set's order, whatever the order given.
        let mut v: Vec<PathBuf> = paths.to_vec();
        v.sort_by_key(|p| {
            FILES
                .iter()
                .position(|f| p.file_name().is_some_and(|n| n == *f))
        });
        v
    };
    for f in &files {
        if !FILES.iter().any(|n| f.file_name().is_some_and(|x| x == *n)) {
            return Err(IngestError::File {
                file: f.clone(),
                message: format!(
                    "not a file of the ledger set (expected one of {})",
                    FILES.join(", ")
                ),
            });
        }
        crate::check_size(f, crate::MAX_FILE_BYTES)?;
    }
    let currency = detect_currency_in(&files)?;
    let state = RefCell::new(ReadState {
        lines: Some(Vec::new()),
        ..ReadState::default()
    });
    // Sized before reading: collecting 24 M events of 192 bytes by doubling copied gigabytes
    // and made the kernel clear a page for every copy (a third of an import's time at 10 M).
    let mut events: Vec<Event> = Vec::with_capacity(row_bound(&files)?);
    events.extend(EventStream::new(&files, currency, &state));
    let st = state.into_inner();
    if let Some(e) = st.error {
        return Err(e);
    }
    let lines = st.lines.clone().unwrap_or_default();
    let origins = (0..events.len())
        .map(|i| (st.locate(i).0 as u32, lines[i]))
        .collect();
    Ok(LedgerSet {
        files,
        currency,
        events,
        origins,
    })
}

/// Rows the files can hold at most: their lines of at least 8 bytes (no event is written in
/// fewer), a header each included. A capacity to reserve, never more than the rows are.
fn row_bound(files: &[PathBuf]) -> Result<usize, IngestError> {
    use std::io::Read;
    const MIN_ROW: usize = 8;
    let mut rows = 0;
    let mut buf = vec![0u8; 1 << 20];
    for f in files {
        let mut file = std::fs::File::open(f).map_err(|e| IngestError::File {
            file: f.clone(),
            message: e.to_string(),
        })?;
        // Bytes since the last line break, carried across reads.
        let mut run = 0usize;
        loop {
            let n = file.read(&mut buf).map_err(|e| IngestError::File {
                file: f.clone(),
                message: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            let mut last = 0;
            for at in memchr::memchr_iter(b'\n', &buf[..n]) {
                if run + at - last >= MIN_ROW {
                    rows += 1;
                }
                (run, last) = (0, at + 1);
            }
            run += n - last;
        }
        if run >= MIN_ROW {
            rows += 1;
        }
    }
    Ok(rows)
}

fn detect_currency_in(files: &[PathBuf]) -> Result<Currency, IngestError> {
    for f in files {
        if f.file_name()
            .is_some_and(|n| n == "customers.csv" || n == "invoices.csv")
        {
            let mut t = Table::open(f)?;
            let Some(col) = t.col("currency") else {
                continue;
            };
            let mut rec = csv::StringRecord::new();
            while t.next(&mut rec)? {
                let v = rec.get(col).unwrap_or("").trim();
                if !v.is_empty() {
                    return Currency::parse(v).map_err(|e| t.field_err("currency", e));
                }
            }
        }
    }
    Ok(Currency::EUR)
}

/// The reporting currency: the first currency named in customers.csv, else in the first
/// invoice row, else EUR.
fn detect_currency(dir: &Path) -> Result<Currency, IngestError> {
    detect_currency_in(&[dir.join("customers.csv"), dir.join("invoices.csv")])
}

#[derive(Default)]
struct ReadState {
    error: Option<IngestError>,
    /// Event index at which each file's events start, and the record number of every event
    /// that does not map one-to-one to records (none today: one row, one event).
    file_starts: Vec<usize>,
    /// Line of every event, when asked for (imports report warnings by line).
    lines: Option<Vec<u64>>,
}

impl ReadState {
    fn locate(&self, index: usize) -> (usize, u64) {
        let fi = self.file_starts.partition_point(|&s| s <= index) - 1;
        (fi, (index - self.file_starts[fi]) as u64)
    }
}

/// Line (1-based) of the `record`-th data record of a CSV file.
fn line_of_record(file: &Path, record: u64) -> Option<u64> {
    let mut t = Table::open(file).ok()?;
    let mut rec = csv::StringRecord::new();
    let mut n = 0;
    while t.next(&mut rec).ok()? {
        if n == record {
            return Some(t.line);
        }
        n += 1;
    }
    None
}

/// One CSV file with its header resolved.
struct Table {
    path: PathBuf,
    reader: csv::Reader<LineTracker<BufReader<File>>>,
    cols: foldhash::HashMap<String, usize>,
    headers: Vec<String>,
    /// Line where the record last read starts (the header's before the first).
    line: u64,
}

impl Table {
    fn open(path: &Path) -> Result<Table, IngestError> {
        let io = |source| IngestError::Io {
            file: path.to_path_buf(),
            source,
        };
        let f = File::open(path).map_err(io)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(LineTracker::new(BufReader::with_capacity(1 << 20, f)));
        let (headers, pos): (Vec<String>, _) = match reader.headers() {
            Ok(h) => (
                h.iter()
                    .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
                    .collect(),
                h.position().cloned(),
            ),
            Err(e) => return Err(crate::csv_error(path, reader.get_mut(), e)),
        };
        let line = reader.get_mut().line_of(pos.as_ref());
        if headers.len() > crate::MAX_COLUMNS {
            return Err(IngestError::Row {
                file: path.to_path_buf(),
                line,
                message: format!(
                    "{} columns (expected at most {}: is this a ledger file?)",
                    headers.len(),
                    crate::MAX_COLUMNS
                ),
            });
        }
        let mut cols = foldhash::HashMap::default();
        for (i, h) in headers.iter().enumerate() {
            if cols.insert(h.clone(), i).is_some() {
                return Err(IngestError::Row {
                    file: path.to_path_buf(),
                    line,
                    message: format!("column {h:?} appears twice (expected unique column names)"),
                });
            }
        }
        Ok(Table {
            path: path.to_path_buf(),
            reader,
            cols,
            headers,
            line,
        })
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.cols.get(name).copied()
    }

    fn require(&self, names: &[&str]) -> Result<(), IngestError> {
        for n in names {
            if !self.cols.contains_key(*n) {
                return Err(IngestError::File {
                    file: self.path.clone(),
                    message: format!(
                        "missing required column {n:?} (found: {})",
                        self.headers.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    fn next(&mut self, rec: &mut csv::StringRecord) -> Result<bool, IngestError> {
        match self.reader.read_record(rec) {
            Ok(read) => {
                if read {
                    self.line = self.reader.get_mut().line_of(rec.position());
                }
                Ok(read)
            }
            Err(e) => Err(crate::csv_error(&self.path, self.reader.get_mut(), e)),
        }
    }

    /// An error in field `column` of the record last read.
    fn field_err(&self, column: &str, e: impl std::fmt::Display) -> IngestError {
        IngestError::Field {
            file: self.path.clone(),
            line: self.line,
            column: column.to_string(),
            message: e.to_string(),
        }
    }
}

/// A row with its table, for typed field access.
struct Row<'a> {
    t: &'a Table,
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    fn raw(&self, name: &str) -> &str {
        self.t
            .col(name)
            .and_then(|i| self.rec.get(i))
            .map_or("", str::trim)
    }

    fn err(&self, column: &str, e: impl std::fmt::Display) -> IngestError {
        self.t.field_err(column, e)
    }

    fn text(&self, name: &str) -> Result<String, IngestError> {
        let v = self.raw(name);
        if v.is_empty() {
            Err(self.err(name, "expected a value, found an empty field"))
        } else {
            Ok(v.to_string())
        }
    }

    fn opt_text(&self, name: &str) -> Option<String> {
        let v = self.raw(name);
        (!v.is_empty()).then(|| v.to_string())
    }

    fn date(&self, name: &str) -> Result<Day, IngestError> {
        Day::parse_iso(self.raw(name)).map_err(|e| self.err(name, e))
    }

    fn opt_date(&self, name: &str) -> Result<Option<Day>, IngestError> {
        if self.raw(name).is_empty() {
            Ok(None)
        } else {
            self.date(name).map(Some)
        }
    }

    fn currency(&self) -> Result<Option<Currency>, IngestError> {
        let v = self.raw("currency");
        if v.is_empty() {
            Ok(None)
        } else {
            Currency::parse(v)
                .map(Some)
                .map_err(|e| self.err("currency", e))
        }
    }

    fn amount(&self, name: &str, cur: Currency) -> Result<i64, IngestError> {
        money::parse_minor(self.raw(name), cur.decimals()).map_err(|e| self.err(name, e))
    }

    fn opt_amount(&self, name: &str, cur: Currency) -> Result<Option<i64>, IngestError> {
        if self.raw(name).is_empty() {
            Ok(None)
        } else {
            self.amount(name, cur).map(Some)
        }
    }

    fn bool(&self, name: &str) -> Result<bool, IngestError> {
        match self.raw(name).to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" => Ok(false),
            "true" | "1" | "yes" => Ok(true),
            other => Err(self.err(name, format!("expected true or false, found {other:?}"))),
        }
    }

    /// Columns not in `known`, as custom attributes.
    fn custom(&self, known: &[&str]) -> Vec<(String, String)> {
        self.t
            .headers
            .iter()
            .zip(self.rec.iter())
            .filter(|(h, v)| !known.contains(&h.as_str()) && !v.trim().is_empty())
            .map(|(h, v)| (h.clone(), v.trim().to_string()))
            .collect()
    }
}

/// Reads the files one after the other, yielding one event per row.
struct EventStream<'a> {
    files: &'a [PathBuf],
    next_file: usize,
    current: Option<(Table, &'static str)>,
    rec: csv::StringRecord,
    currency: Currency,
    state: &'a RefCell<ReadState>,
    emitted: usize,
    seen_customers: HashSet<String>,
}

impl<'a> EventStream<'a> {
    fn new(files: &'a [PathBuf], currency: Currency, state: &'a RefCell<ReadState>) -> Self {
        EventStream {
            files,
            next_file: 0,
            current: None,
            rec: csv::StringRecord::new(),
            currency,
            state,
            emitted: 0,
            seen_customers: HashSet::new(),
        }
    }

    fn open_next(&mut self) -> Result<bool, IngestError> {
        let Some(path) = self.files.get(self.next_file) else {
            return Ok(false);
        };
        self.next_file += 1;
        let name = FILES
            .iter()
            .find(|f| path.file_name().is_some_and(|n| n == **f))
            .copied()
            .expect("only known files are listed");
        let t = Table::open(path)?;
        t.require(match name {
            "customers.csv" => &["customer_id", "name"],
            "invoices.csv" => &["document_id", "customer_id", "issue_date", "amount"],
            "payments.csv" => &["payment_id", "customer_id", "date", "amount"],
            "allocations.csv" => &["source_id", "invoice_id", "date", "amount"],
            "disputes.csv" => &["invoice_id", "opened_on"],
            "promises.csv" => &["invoice_id", "promised_on", "due_on", "amount"],
            "actions.csv" => &["customer_id", "date", "kind"],
            _ => &["date", "currency", "rate"],
        })?;
        self.state.borrow_mut().file_starts.push(self.emitted);
        self.current = Some((t, name));
        Ok(true)
    }

    fn step(&mut self) -> Result<Option<Event>, IngestError> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let (t, name) = self.current.as_mut().expect("open");
            if !t.next(&mut self.rec)? {
                self.current = None;
                continue;
            }
            let (t, name) = (&*t, *name);
            let row = Row { t, rec: &self.rec };
            let ev = to_event(&row, name, self.currency, &mut self.seen_customers)?;
            if let Some(lines) = &mut self.state.borrow_mut().lines {
                lines.push(t.line);
            }
            self.emitted += 1;
            return Ok(Some(ev));
        }
    }
}

impl Iterator for EventStream<'_> {
    type Item = Event;
    fn next(&mut self) -> Option<Event> {
        match self.step() {
            Ok(ev) => ev,
            Err(e) => {
                self.state.borrow_mut().error = Some(e);
                None
            }
        }
    }
}

fn to_event(
    row: &Row,
    file: &str,
    ledger_cur: Currency,
    seen: &mut HashSet<String>,
) -> Result<Event, IngestError> {
    let cur = row.currency()?.unwrap_or(ledger_cur);
    Ok(match file {
        "customers.csv" => {
            let id = row.text("customer_id")?;
            if !seen.insert(id.clone()) {
                return Err(row.err(
                    "customer_id",
                    format!("duplicate customer_id {id:?} (expected each customer once)"),
                ));
            }
            let terms = match row.raw("payment_terms_days") {
                "" => None,
                v => Some(v.parse::<u16>().map_err(|_| {
                    row.err(
                        "payment_terms_days",
                        format!("expected a whole number of days, found {v:?}"),
                    )
                })? as i32),
            };
            let mut attrs: Vec<(String, String)> = crate::json::CUSTOMER_DIMENSIONS
                .iter()
                .filter_map(|k| row.opt_text(k).map(|v| (k.to_string(), v)))
                .collect();
            attrs.extend(row.custom(&CUSTOMER_COLS));
            Event::Customer(CustomerRec {
                id,
                name: row.text("name")?,
                credit_limit: row.opt_amount("credit_limit", cur)?,
                payment_terms_days: terms,
                attrs,
            })
        }
        "invoices.csv" => {
            let kind = DocKind::parse(row.raw("type")).ok_or_else(|| {
                row.err(
                    "type",
                    format!(
                        "expected invoice, credit_note or write_off, found {:?}",
                        row.raw("type")
                    ),
                )
            })?;
            let mut attrs: Vec<(String, String)> = row
                .opt_text("division")
                .map(|v| ("division".to_string(), v))
                .into_iter()
                .collect();
            attrs.extend(row.custom(&INVOICE_COLS));
            Event::Document(DocumentRec {
                id: row.text("document_id")?,
                customer_id: row.text("customer_id")?,
                kind,
                issue: row.date("issue_date")?,
                due: row.opt_date("due_date")?,
                amount: row.amount("amount", cur)?,
                currency: row.currency()?,
                original_invoice_id: row.opt_text("original_invoice_id"),
                disputed: row.bool("disputed")?,
                dispute_reason: row.opt_text("dispute_reason"),
                in_legal: row.bool("in_legal")?,
                attrs,
            })
        }
        "payments.csv" => Event::Payment(PaymentRec {
            id: row.text("payment_id")?,
            customer_id: row.text("customer_id")?,
            date: row.date("date")?,
            amount: row.amount("amount", cur)?,
            currency: row.currency()?,
            invoice_id: row.opt_text("invoice_id"),
            reference: row.opt_text("reference"),
        }),
        "allocations.csv" => Event::Allocation(AllocationRec {
            source_id: row.text("source_id")?,
            invoice_id: row.text("invoice_id")?,
            date: row.date("date")?,
            amount: row.amount("amount", cur)?,
        }),
        "disputes.csv" => Event::Dispute(DisputeRec {
            invoice_id: row.text("invoice_id")?,
            opened_on: row.date("opened_on")?,
            resolved_on: row.opt_date("resolved_on")?,
            reason: row.opt_text("reason"),
            amount: row.opt_amount("amount", cur)?,
            owner: row.opt_text("owner"),
        }),
        "promises.csv" => Event::Promise(PromiseRec {
            invoice_id: row.text("invoice_id")?,
            promised_on: row.date("promised_on")?,
            due_on: row.date("due_on")?,
            amount: row.amount("amount", cur)?,
        }),
        "actions.csv" => Event::Action(ActionRec {
            customer_id: row.text("customer_id")?,
            date: row.date("date")?,
            kind: row.text("kind")?,
            invoice_id: row.opt_text("invoice_id"),
            agent: row.opt_text("agent"),
            note: row.opt_text("note"),
            outcome: row.opt_text("outcome"),
        }),
        _ => {
            let rate = parse_rate(row.raw("rate")).ok_or_else(|| {
                row.err(
                    "rate",
                    format!(
                        "expected a positive decimal rate such as 1.0825, found {:?}",
                        row.raw("rate")
                    ),
                )
            })?;
            Event::Rate(RateRec {
                date: row.date("date")?,
                currency: Currency::parse(row.raw("currency"))
                    .map_err(|e| row.err("currency", e))?,
                rate_e9: rate,
            })
        }
    })
}

/// A positive decimal with up to 9 decimals, scaled by 10^9.
fn parse_rate(s: &str) -> Option<i64> {
    money::parse_scaled(s, 9).ok().filter(|&r| r > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The capacity reserved before reading counts the lines that can hold a row: blank and
    /// short lines are not counted, a last line without a break is, CRLF counts its line once,
    /// and a line spanning two reads of the file counts once.
    #[test]
    fn rows_are_bounded_by_the_lines_that_can_hold_one() {
        let dir = std::env::temp_dir().join(format!("arpilot-row-bound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.csv");
        std::fs::write(&a, "id,name\r\nC1,Alpha SA\r\n\r\nx\r\n\nC2,Beta SARL").unwrap();
        // Lines: header, C1, blank, "x", blank, C2 (no final break): 3 can hold a row.
        assert_eq!(row_bound(std::slice::from_ref(&a)).unwrap(), 3);
        let long = dir.join("b.csv");
        let line = format!("{}\n", "y".repeat(700_000));
        std::fs::write(&long, line.repeat(3)).unwrap();
        assert_eq!(row_bound(&[a, long]).unwrap(), 6);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
