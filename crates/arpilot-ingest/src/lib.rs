//! Importers: each module turns one input format into validated ledger events.
//!
//! Every error names the file, the line and the column at fault and what was expected.

pub mod einvoice;
pub mod fec;
pub mod ledger_csv;
pub mod mapped;
pub mod text;

use std::path::PathBuf;

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
