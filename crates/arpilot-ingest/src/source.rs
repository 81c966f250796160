//! One entry point for every format: detect what a file is from its content, read it into
//! ledger events with the file and line each came from, and qualify ids by entity.

use crate::{IngestError, einvoice, fec, ledger_csv, mapped, sheet};
use arpilot_core::ledger::*;
use arpilot_core::{Currency, LedgerError};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The default CSV ledger set (a folder, or its files).
    Ledger,
    /// Any CSV with a mapping file.
    Csv,
    /// XLSX, XLS or ODS with a mapping file.
    Xlsx,
    Fec,
    /// Factur-X / ZUGFeRD PDF.
    Facturx,
    Ubl,
    Cii,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "ledger" => Format::Ledger,
            "csv" => Format::Csv,
            "xlsx" | "xls" | "ods" => Format::Xlsx,
            "fec" => Format::Fec,
            "facturx" | "factur-x" | "zugferd" => Format::Facturx,
            "ubl" => Format::Ubl,
            "cii" => Format::Cii,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Ledger => "ledger",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Fec => "fec",
            Format::Facturx => "facturx",
            Format::Ubl => "ubl",
            Format::Cii => "cii",
        }
    }

    fn is_einvoice(self) -> bool {
        matches!(self, Format::Facturx | Format::Ubl | Format::Cii)
    }
}

/// What a file is, from its content (and, for the ledger set, its name).
pub fn detect(path: &Path) -> Result<Format, IngestError> {
    let file_err = |message: String| IngestError::File {
        file: path.to_path_buf(),
        message,
    };
    if path.is_dir() {
        return Ok(Format::Ledger);
    }
    if path
        .file_name()
        .is_some_and(|n| ledger_csv::FILES.iter().any(|f| n == *f))
    {
        return Ok(Format::Ledger);
    }
    let len = crate::check_size(path, crate::MAX_FILE_BYTES)?;
    if len == 0 {
        return Err(file_err("empty file (expected an export to import)".into()));
    }
    let mut head = vec![0u8; 4096.min(len as usize)];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|source| IngestError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        f.read_exact(&mut head).map_err(|source| IngestError::Io {
            file: path.to_path_buf(),
            source,
        })?;
    }
    if head.starts_with(b"%PDF") {
        return Ok(Format::Facturx);
    }
    if sheet::kind_of(&head).is_some() {
        return Ok(Format::Xlsx);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let trimmed = text.trim_ascii_start();
    if trimmed.starts_with(b"<") {
        // The root element may come after a long comment: read the file (e-invoices are small).
        let bytes = if len as usize > head.len() {
            crate::check_size(path, einvoice::MAX_BYTES)?;
            std::fs::read(path).map_err(|source| IngestError::Io {
                file: path.to_path_buf(),
                source,
            })?
        } else {
            head.clone()
        };
        let root = root_element(&bytes).unwrap_or_default();
        return match root.as_str() {
            "CrossIndustryInvoice" | "CrossIndustryDocument" => Ok(Format::Cii),
            "Invoice" | "CreditNote" => Ok(Format::Ubl),
            other => Err(file_err(format!(
                "XML with root element {other:?} (expected a CII or UBL invoice)"
            ))),
        };
    }
    if fec::looks_like_fec(&head) {
        return Ok(Format::Fec);
    }
    Ok(Format::Csv)
}

/// Local name of the first element of an XML document.
fn root_element(bytes: &[u8]) -> Option<String> {
    let mut r = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    loop {
        match r.read_event_into(&mut buf).ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                return Some(e.local_name().as_ref().to_string());
            }
            quick_xml::events::Event::Eof => return None,
            _ => buf.clear(),
        }
    }
}

/// A file read into events.
#[derive(Debug)]
pub struct Parsed {
    pub format: Format,
    /// What the user named: a file or a folder.
    pub source: PathBuf,
    pub files: Vec<PathBuf>,
    /// The currency the file's amounts are in when it does not say per row.
    pub currency: Currency,
    pub events: Vec<Event>,
    /// File (index into `files`) and line of every event; line 0 when there is none (XML).
    pub origins: Vec<(u32, u64)>,
    pub warnings: Vec<String>,
    /// Data rows (or invoices) read.
    pub rows: u64,
    /// SHA-256 of the file, or of the files' hashes in order for a ledger set.
    pub sha256: String,
}

impl Parsed {
    /// The error for event `index`, at its file and line.
    pub fn error_at(&self, index: usize, error: &LedgerError) -> IngestError {
        let (f, line) = self.origins.get(index).copied().unwrap_or((0, 0));
        let file = self
            .files
            .get(f as usize)
            .cloned()
            .unwrap_or(self.source.clone());
        match (line, error.column()) {
            (0, _) => IngestError::File {
                file,
                message: error.to_string(),
            },
            (line, Some(column)) => IngestError::Field {
                file,
                line,
                column: column.to_string(),
                message: error.to_string(),
            },
            (line, None) => IngestError::Row {
                file,
                line,
                message: error.to_string(),
            },
        }
    }

    /// `file, line N` of event `index`, for warnings.
    pub fn place(&self, index: usize) -> String {
        let (f, line) = self.origins.get(index).copied().unwrap_or((0, 0));
        let file = self.files.get(f as usize).unwrap_or(&self.source);
        if line == 0 {
            file.display().to_string()
        } else {
            format!("{}, line {line}", file.display())
        }
    }
}

/// Options of a read.
#[derive(Default)]
pub struct ReadOptions<'a> {
    pub format: Option<Format>,
    pub mapping: Option<&'a mapped::Mapping>,
    pub fec: fec::FecOptions,
    /// The company the source belongs to: its ids are qualified (see [`qualify`]).
    pub entity: Option<&'a str>,
}

/// Reads one source (a file, a ledger-set folder, or the files of a ledger set) for an import:
/// its events, qualified by the entity when there is one, and the SHA-256 of its files.
pub fn read(paths: &[PathBuf], opts: &ReadOptions) -> Result<Parsed, IngestError> {
    let mut p = read_events(paths, opts)?;
    if let Some(entity) = opts.entity {
        if entity.is_empty() || entity.contains(':') {
            return Err(IngestError::File {
                file: p.source.clone(),
                message: format!("entity {entity:?}: expected a name without ':'"),
            });
        }
        qualify(&mut p.events, entity);
    }
    p.sha256 = sha256(&p.files)?;
    Ok(p)
}

fn read_events(paths: &[PathBuf], opts: &ReadOptions) -> Result<Parsed, IngestError> {
    let first = paths.first().ok_or_else(|| IngestError::File {
        file: PathBuf::new(),
        message: "no file to import".into(),
    })?;
    let format = match opts.format {
        Some(f) => f,
        None => detect(first)?,
    };
    let source = first.clone();
    if format == Format::Ledger {
        let set = ledger_csv::read_set(paths)?;
        let rows = set.events.len() as u64;
        return Ok(Parsed {
            format,
            source,
            files: set.files,
            currency: set.currency,
            events: set.events,
            origins: set.origins,
            warnings: Vec::new(),
            rows,
            sha256: String::new(),
        });
    }
    if let Some(extra) = paths.get(1) {
        return Err(IngestError::File {
            file: extra.clone(),
            message: "only files of a ledger set are read together (import other files one by one)"
                .into(),
        });
    }
    crate::check_size(first, crate::MAX_FILE_BYTES)?;
    let one = |events: Vec<(u64, Event)>, currency, warnings, rows| Parsed {
        format,
        source: source.clone(),
        files: vec![source.clone()],
        currency,
        origins: events.iter().map(|e| (0, e.0)).collect(),
        events: events.into_iter().map(|e| e.1).collect(),
        warnings,
        rows,
        sha256: String::new(),
    };
    match format {
        Format::Csv | Format::Xlsx => {
            let m = opts.mapping.ok_or_else(|| IngestError::File {
                file: source.clone(),
                message: format!(
                    "a {} file needs a mapping from its columns to arpilot's (--mapping FILE)",
                    if format == Format::Csv {
                        "CSV"
                    } else {
                        "spreadsheet"
                    }
                ),
            })?;
            let (events, currency) = mapped::read(first, m)?;
            let rows = events.len() as u64;
            Ok(one(events, currency, Vec::new(), rows))
        }
        Format::Fec => {
            let (events, summary) = fec::read(first, &opts.fec)?;
            Ok(one(events, opts.fec.currency, Vec::new(), summary.lines))
        }
        f => {
            debug_assert!(f.is_einvoice());
            let inv = einvoice::read(first)?;
            let found = match inv.syntax {
                einvoice::Syntax::Ubl => Format::Ubl,
                _ if f == Format::Facturx => Format::Facturx,
                _ => Format::Cii,
            };
            if opts.format.is_some() && found != f {
                return Err(IngestError::File {
                    file: source.clone(),
                    message: format!(
                        "this is a {} invoice, not {} as --format says",
                        found.name(),
                        f.name()
                    ),
                });
            }
            let events = inv.events().into_iter().map(|e| (0, e)).collect();
            Ok(one(events, inv.currency, inv.warnings.clone(), 1))
        }
    }
}

/// Qualifies every id with `entity` (`ENTITY:id`) and sets the customers' `entity`, so that the
/// ledgers of several companies live side by side.
pub fn qualify(events: &mut [Event], entity: &str) {
    let q = |id: &mut String| *id = format!("{entity}:{id}");
    let qo = |id: &mut Option<String>| {
        if let Some(i) = id {
            *i = format!("{entity}:{i}");
        }
    };
    let customer = |c: &mut CustomerRec| {
        c.id = format!("{entity}:{}", c.id);
        c.attrs.retain(|(k, _)| k != "entity");
        c.attrs.push(("entity".into(), entity.into()));
    };
    for ev in events {
        match ev {
            Event::Customer(c) => customer(c),
            Event::Document(d) => {
                q(&mut d.id);
                q(&mut d.customer_id);
                qo(&mut d.original_invoice_id);
            }
            Event::Payment(p) => {
                q(&mut p.id);
                q(&mut p.customer_id);
                qo(&mut p.invoice_id);
            }
            Event::Allocation(a) => {
                q(&mut a.source_id);
                q(&mut a.invoice_id);
            }
            Event::Dispute(d) => q(&mut d.invoice_id),
            Event::Promise(p) => q(&mut p.invoice_id),
            Event::Action(a) => {
                q(&mut a.customer_id);
                qo(&mut a.invoice_id);
            }
            Event::Followup(f) => q(&mut f.customer_id),
            Event::Reminder(r) => {
                q(&mut r.customer_id);
                if let ReminderStatus::Queued(c) = &mut r.status {
                    for (i, _, _) in &mut c.lines {
                        q(i);
                    }
                }
            }
            Event::Rate(_) | Event::Receipt(_) => {}
            Event::Cash(c) => {
                if let Decision::Apply {
                    customer_id,
                    invoices,
                    ..
                } = &mut c.decision
                {
                    q(customer_id);
                    for (i, _) in invoices {
                        q(i);
                    }
                }
            }
            Event::Amend(a) => match &mut a.change {
                Change::DueDate { document_id, .. } | Change::InLegal { document_id, .. } => {
                    q(document_id)
                }
                Change::DisputeResolved { invoice_id, .. } => q(invoice_id),
                Change::Customer(c) => customer(c),
            },
        }
    }
}

/// SHA-256 of a file, or of the files' hashes in order for a set.
pub fn sha256(files: &[PathBuf]) -> Result<String, IngestError> {
    use sha2::{Digest, Sha256};
    let hash_file = |f: &PathBuf| -> Result<[u8; 32], IngestError> {
        let mut h = Sha256::new();
        let mut file = std::fs::File::open(f).map_err(|source| IngestError::Io {
            file: f.clone(),
            source,
        })?;
        std::io::copy(&mut file, &mut h).map_err(|source| IngestError::Io {
            file: f.clone(),
            source,
        })?;
        Ok(h.finalize().into())
    };
    let digest: [u8; 32] = match files {
        [one] => hash_file(one)?,
        many => {
            let mut h = Sha256::new();
            for f in many {
                h.update(hash_file(f)?);
            }
            h.finalize().into()
        }
    };
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entity_qualifies_ids_and_may_not_hold_a_colon() {
        let dir = std::env::temp_dir().join(format!("arpilot-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("customers.csv");
        std::fs::write(&f, "customer_id,name\nC1,Alpha\n").unwrap();
        let read_as = |entity| {
            let opts = ReadOptions {
                entity,
                ..ReadOptions::default()
            };
            read(std::slice::from_ref(&f), &opts)
        };
        let p = read_as(Some("FR01")).unwrap();
        let Event::Customer(c) = &p.events[0] else {
            panic!("a customer")
        };
        assert_eq!(c.id, "FR01:C1");
        assert_eq!(p.sha256.len(), 64);
        let e = read_as(Some("FR:01")).unwrap_err().to_string();
        assert!(e.contains("without ':'"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
