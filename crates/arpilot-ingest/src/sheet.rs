//! Spreadsheets (XLSX, XLS, ODS) read as rows of text for a mapped import: dates become ISO
//! text and numbers plain decimals, so the mapping's detection works as on CSV.

use crate::IngestError;
use calamine::{Data, Reader, open_workbook_auto};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SheetKind {
    /// Office Open XML or OpenDocument (a ZIP container).
    Zip,
    /// Legacy Excel (an OLE compound file).
    Ole,
}

/// Spreadsheet kind from the first bytes of the file, `None` for text.
pub fn kind(path: &Path) -> Result<Option<SheetKind>, IngestError> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| IngestError::Io {
            file: path.to_path_buf(),
            source,
        })?;
    Ok(kind_of(&head[..n]))
}

pub fn kind_of(head: &[u8]) -> Option<SheetKind> {
    if head.starts_with(b"PK\x03\x04") {
        Some(SheetKind::Zip)
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some(SheetKind::Ole)
    } else {
        None
    }
}

/// Header and rows (with their 1-based row number) of a sheet, the first one by default.
pub fn rows(path: &Path, sheet: Option<&str>) -> Result<crate::mapped::Rows, IngestError> {
    let err = |message: String| IngestError::File {
        file: path.to_path_buf(),
        message,
    };
    let mut wb = open_workbook_auto(path)
        .map_err(|e| err(format!("not a readable XLSX, XLS or ODS workbook: {e}")))?;
    let names = wb.sheet_names().to_vec();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                err(format!(
                    "no sheet named {s:?} (found: {})",
                    names.join(", ")
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| err("the workbook has no sheet".into()))?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| err(format!("sheet {name:?}: {e}")))?;
    if range.width() > crate::MAX_COLUMNS {
        return Err(err(format!(
            "sheet {name:?} has {} columns (expected at most {})",
            range.width(),
            crate::MAX_COLUMNS
        )));
    }
    let first_row = range.start().map_or(0, |(r, _)| r as u64);
    let mut it = range.rows();
    let headers: Vec<String> = it
        .next()
        .ok_or_else(|| err(format!("sheet {name:?} is empty (expected a header row)")))?
        .iter()
        .map(|c| cell(c).trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, r) in it.enumerate() {
        if r.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let rec: csv::StringRecord = r.iter().map(cell).collect();
        rows.push((first_row + i as u64 + 2, rec));
    }
    Ok((headers, rows))
}

fn cell(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            // Shortest text that reads back as the same value, never with an exponent.
            let s = format!("{f}");
            if s.contains('e') {
                format!("{f:.6}")
            } else {
                s
            }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}
