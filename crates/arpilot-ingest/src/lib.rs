//! Importers: each module turns one input format into validated ledger events.
//!
//! Every error names the file, the line and the column at fault and what was expected.

pub mod bank;
pub mod einvoice;
pub mod fec;
pub mod json;
pub mod ledger_csv;
pub mod mapped;
pub mod pdf;
pub mod sheet;
pub mod source;
pub mod text;

use std::path::PathBuf;

/// Largest file an import reads (1 GiB): a ledger export beyond it is split by period.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Refuses a file larger than `max` bytes before reading it.
pub fn check_size(path: &std::path::Path, max: u64) -> Result<u64, IngestError> {
    let len = std::fs::metadata(path)
        .map_err(|source| IngestError::Io {
            file: path.to_path_buf(),
            source,
        })?
        .len();
    if len > max {
        return Err(IngestError::File {
            file: path.to_path_buf(),
            message: format!("{len} bytes: larger than the {max} bytes an import accepts"),
        });
    }
    Ok(len)
}

/// Most columns a CSV or sheet may have: beyond it, the file is not a ledger export.
pub const MAX_COLUMNS: usize = 1000;

/// Most rows a sheet may span, from its first non-empty row to its last, blank rows included.
pub const MAX_SHEET_ROWS: usize = 1_000_000;

/// Most cells the used area of an XLSX sheet (rows spanned × columns spanned) may hold: its
/// cells are streamed, and beyond it a workbook is no ledger export (save it as CSV).
pub const MAX_SHEET_CELLS: usize = 10_000_000;

/// Most cells the used area of an XLS or ODS sheet may hold: calamine parses these formats
/// whole, every sheet into a dense area of 32 bytes a cell (copied once more for the sheet
/// read; ODS keeps a formula area beside it), so a sheet at this bound takes 130 to 180 MB.
pub const MAX_DENSE_SHEET_CELLS: usize = 2_000_000;

/// Why an input was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}, line {line}, column {column}: {message}")]
    Field {
        file: PathBuf,
        line: u64,
        column: String,
        message: String,
    },
    #[error("{file}, line {line}: {message}")]
    Row {
        file: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: PathBuf, message: String },
}

/// The error for what the CSV reader refused, at the line where the record starts.
pub(crate) fn csv_error<R>(
    path: &std::path::Path,
    lines: &mut text::LineTracker<R>,
    e: csv::Error,
) -> IngestError {
    let line = lines.line_of(e.position());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields like the header, found {len}"),
        csv::ErrorKind::Utf8 { .. } => "expected UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    match e.into_kind() {
        csv::ErrorKind::Io(source) => IngestError::Io {
            file: path.to_path_buf(),
            source,
        },
        _ => IngestError::Row {
            file: path.to_path_buf(),
            line,
            message,
        },
    }
}

/// Builds a snapshot from events that each carry the line they were read from, so that a
/// refused event is reported at its line.
pub fn build_with_lines(
    file: &std::path::Path,
    currency: arpilot_core::Currency,
    events: Vec<(u64, arpilot_core::Event)>,
) -> Result<arpilot_core::Snapshot, IngestError> {
    let lines: Vec<u64> = events.iter().map(|e| e.0).collect();
    arpilot_core::Snapshot::build(currency, events.into_iter().map(|e| e.1)).map_err(|e| {
        IngestError::Row {
            file: file.to_path_buf(),
            line: lines[e.index],
            message: e.error.to_string(),
        }
    })
}
