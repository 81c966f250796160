//! Spreadsheets (XLSX, XLS, ODS) read as rows of text for a mapped import: dates become ISO
//! text and numbers plain decimals, so the mapping's detection works as on CSV.
//!
//! A sheet's used area (from its first non-empty row and column to its last) is bounded by
//! [`MAX_COLUMNS`], [`MAX_SHEET_ROWS`] and [`MAX_SHEET_CELLS`] (XLSX) or
//! [`crate::MAX_DENSE_SHEET_CELLS`] (XLS, ODS), and checked before memory is taken in
//! proportion to it: a 5 KB file can name a cell at `XFD1048576`.
//!
//! - XLSX (and XLSB) cells are streamed one by one: each is checked as it comes, and only the
//!   non-empty ones are kept, so the `<dimension>` a file declares (which may lie) plays no part.
//! - XLS and ODS are parsed whole, every sheet into a dense area, when calamine opens them: the
//!   workbook is scanned first (the XLS compound file and its BIFF records, the ODS
//!   `content.xml` with its repeated rows and columns) and refused if any sheet breaks a bound,
//!   or if its structure would make calamine loop or read past the file.

use crate::{IngestError, MAX_COLUMNS, MAX_SHEET_CELLS, MAX_SHEET_ROWS};
use calamine::{Data, DataRef, Ods, Range, Reader, Xls, Xlsb, Xlsx, open_workbook};
use std::collections::BTreeMap;
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

const UNREADABLE: &str = "not a readable XLSX, XLS or ODS workbook";

/// Header and rows (with their 1-based row number) of a sheet, the first one by default.
pub fn rows(path: &Path, sheet: Option<&str>) -> Result<crate::mapped::Rows, IngestError> {
    let err = |message: String| IngestError::File {
        file: path.to_path_buf(),
        message,
    };
    match kind(path)? {
        Some(SheetKind::Ole) => {
            let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
                file: path.to_path_buf(),
                source,
            })?;
            xls::check(&bytes).map_err(err)?;
            drop(bytes);
            let mut wb: Xls<_> =
                open_workbook(path).map_err(|e| err(format!("{UNREADABLE}: {e}")))?;
            let name = pick(&wb.sheet_names(), sheet).map_err(err)?;
            let range = wb
                .worksheet_range(&name)
                .map_err(|e| err(format!("sheet {name:?}: {e}")))?;
            dense(&name, range).map_err(err)
        }
        Some(SheetKind::Zip) => {
            if ods::is_ods(path) {
                ods::check(path).map_err(err)?;
                let mut wb: Ods<_> =
                    open_workbook(path).map_err(|e| err(format!("{UNREADABLE}: {e}")))?;
                let name = pick(&wb.sheet_names(), sheet).map_err(err)?;
                let range = wb
                    .worksheet_range(&name)
                    .map_err(|e| err(format!("sheet {name:?}: {e}")))?;
                return dense(&name, range).map_err(err);
            }
            match open_workbook::<Xlsx<_>, _>(path) {
                Ok(wb) => xlsx(wb, sheet).map_err(err),
                Err(e) => match open_workbook::<Xlsb<_>, _>(path) {
                    Ok(wb) => xlsb(wb, sheet).map_err(err),
                    Err(_) => Err(err(format!("{UNREADABLE}: {e}"))),
                },
            }
        }
        None => Err(err(format!(
            "{UNREADABLE} (expected a ZIP or OLE container)"
        ))),
    }
}

/// The named sheet, else the first one.
fn pick(names: &[String], sheet: Option<&str>) -> Result<String, String> {
    match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| format!("no sheet named {s:?} (found: {})", names.join(", "))),
        None => names
            .first()
            .cloned()
            .ok_or_else(|| "the workbook has no sheet".into()),
    }
}

/// `A1`-style reference of a 0-based cell position.
fn cell_ref(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col as u64 + 1;
    while c > 0 {
        letters.push(b'A' + ((c - 1) % 26) as u8);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), row as u64 + 1)
}

/// The used area of a sheet: first and last rows and columns (0-based, inclusive).
#[derive(Clone, Copy, Debug)]
struct Area {
    rows: (u32, u32),
    cols: (u32, u32),
}

impl Area {
    fn at(row: u32, col: u32) -> Area {
        Area {
            rows: (row, row),
            cols: (col, col),
        }
    }

    fn with(self, row: u32, col: u32) -> Area {
        Area {
            rows: (self.rows.0.min(row), self.rows.1.max(row)),
            cols: (self.cols.0.min(col), self.cols.1.max(col)),
        }
    }

    fn height(&self) -> u64 {
        (self.rows.1 - self.rows.0) as u64 + 1
    }

    fn width(&self) -> u64 {
        (self.cols.1 - self.cols.0) as u64 + 1
    }

    /// Refuses the area (grown to hold the cell at `cell`) beyond the bounds, naming the cell.
    fn check(&self, sheet: &str, cell: (u32, u32), max_cells: usize) -> Result<(), String> {
        let at = cell_ref(cell.0, cell.1);
        let (w, h) = (self.width(), self.height());
        if w > MAX_COLUMNS as u64 {
            return Err(format!(
                "sheet {sheet:?}: cell {at} makes the sheet {w} columns wide (expected at most \
                 {MAX_COLUMNS} columns)"
            ));
        }
        if h > MAX_SHEET_ROWS as u64 {
            return Err(format!(
                "sheet {sheet:?}: cell {at} makes the sheet {h} rows tall (expected at most \
                 {MAX_SHEET_ROWS} rows)"
            ));
        }
        if w * h > max_cells as u64 {
            return Err(format!(
                "sheet {sheet:?}: cell {at} makes the sheet {}:{} ({h} rows by {w} columns, {} \
                 cells; expected at most {max_cells} cells: save a larger export as CSV)",
                cell_ref(self.rows.0, self.cols.0),
                cell_ref(self.rows.1, self.cols.1),
                w * h
            ));
        }
        Ok(())
    }
}

/// Adds a sheet's used area to the cells of the sheets before it: calamine holds every sheet
/// of an XLS or ODS workbook at once.
fn add_to_workbook(total: &mut u64, sheet: &str, area: Option<Area>) -> Result<(), String> {
    *total += area.map_or(0, |a| a.width() * a.height());
    let max = crate::MAX_DENSE_SHEET_CELLS;
    if *total > max as u64 {
        return Err(format!(
            "the sheets up to {sheet:?} span {total} cells together (expected at most {max} \
             cells in an XLS or ODS workbook, whose sheets are all read)"
        ));
    }
    Ok(())
}

/// The non-empty cells of a streamed sheet, row by row, with their text.
struct Sparse<'a> {
    sheet: &'a str,
    area: Option<Area>,
    /// Per row: the cells' text end to end, and each cell's column and end offset in it.
    rows: BTreeMap<u32, (String, Vec<(u32, usize)>)>,
}

impl<'a> Sparse<'a> {
    fn new(sheet: &'a str) -> Self {
        Sparse {
            sheet,
            area: None,
            rows: BTreeMap::new(),
        }
    }

    /// Keeps a non-empty cell once the area holding it is within bounds.
    fn push(&mut self, (row, col): (u32, u32), value: &DataRef<'_>) -> Result<(), String> {
        let area = match self.area {
            Some(a) => a.with(row, col),
            None => Area::at(row, col),
        };
        area.check(self.sheet, (row, col), MAX_SHEET_CELLS)?;
        self.area = Some(area);
        let (text, cells) = self.rows.entry(row).or_default();
        text.push_str(&cell(&Data::from(value.clone())));
        cells.push((col, text.len()));
        Ok(())
    }

    /// The header (the first row) and the rows below it, each as wide as the used area, as
    /// calamine's dense range would give them.
    fn finish(mut self) -> Result<crate::mapped::Rows, String> {
        let sheet = self.sheet;
        let Some(area) = self.area else {
            return Err(format!("sheet {sheet:?} is empty (expected a header row)"));
        };
        let width = area.width() as usize;
        let dense = |(text, cells): (String, Vec<(u32, usize)>)| -> Vec<String> {
            let mut fields = vec![String::new(); width];
            let mut start = 0;
            for (col, end) in cells {
                // A later cell at the same place wins, as in calamine's range.
                fields[(col - area.cols.0) as usize] = text[start..end].to_string();
                start = end;
            }
            fields
        };
        let (_, first) = self.rows.pop_first().expect("a non-empty area has a row");
        let headers = dense(first)
            .into_iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::with_capacity(self.rows.len());
        while let Some((r, row)) = self.rows.pop_first() {
            rows.push((r as u64 + 1, csv::StringRecord::from(dense(row))));
        }
        Ok((headers, rows))
    }
}

fn xlsx<RS: std::io::Read + std::io::Seek>(
    mut wb: Xlsx<RS>,
    sheet: Option<&str>,
) -> Result<crate::mapped::Rows, String> {
    let name = pick(&wb.sheet_names(), sheet)?;
    let mut out = Sparse::new(&name);
    let mut cells = match wb.worksheet_cells_reader(&name) {
        Ok(r) => r,
        // A chart sheet reads as an empty sheet, as calamine's range does.
        Err(calamine::XlsxError::NotAWorksheet(_)) => return Sparse::new(&name).finish(),
        Err(e) => return Err(format!("sheet {name:?}: {e}")),
    };
    while let Some(c) = cells
        .next_cell()
        .map_err(|e| format!("sheet {name:?}: {e}"))?
    {
        if !matches!(c.get_value(), DataRef::Empty) {
            out.push(c.get_position(), c.get_value())?;
        }
    }
    out.finish()
}

fn xlsb<RS: std::io::Read + std::io::Seek>(
    mut wb: Xlsb<RS>,
    sheet: Option<&str>,
) -> Result<crate::mapped::Rows, String> {
    let name = pick(&wb.sheet_names(), sheet)?;
    let mut out = Sparse::new(&name);
    let mut cells = wb
        .worksheet_cells_reader(&name)
        .map_err(|e| format!("sheet {name:?}: {e}"))?;
    while let Some(c) = cells
        .next_cell()
        .map_err(|e| format!("sheet {name:?}: {e}"))?
    {
        if !matches!(c.get_value(), DataRef::Empty) {
            out.push(c.get_position(), c.get_value())?;
        }
    }
    out.finish()
}

/// Rows of a dense range (XLS and ODS, already checked by their scans).
fn dense(name: &str, range: Range<Data>) -> Result<crate::mapped::Rows, String> {
    if range.width() > MAX_COLUMNS {
        return Err(format!(
            "sheet {name:?} has {} columns (expected at most {MAX_COLUMNS})",
            range.width(),
        ));
    }
    let first_row = range.start().map_or(0, |(r, _)| r as u64);
    let mut it = range.rows();
    let headers: Vec<String> = it
        .next()
        .ok_or_else(|| format!("sheet {name:?} is empty (expected a header row)"))?
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

/// The scan of an XLS workbook before calamine opens it. Calamine reads the compound file's
/// `Workbook` stream and builds every sheet's dense range at once; this reads the stream the
/// same way (refusing what would make calamine loop, panic or read past the file) and walks
/// the same BIFF records, so that every sheet's used area is checked first.
mod xls {
    use super::{Area, UNREADABLE, add_to_workbook};

    const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
    const RESERVED: u32 = 0xFFFF_FFFA;
    const DIFSECT: u32 = 0xFFFF_FFFC;
    /// The largest sheet BIFF8 can describe: a declared size beyond it is a forgery (calamine
    /// reserves room for the declared area).
    const MAX_DECLARED: u64 = 65_536 * 256;

    fn u16_at(b: &[u8], i: usize) -> Option<u16> {
        Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
    }

    fn u32_at(b: &[u8], i: usize) -> Option<u32> {
        Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
    }

    fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
        b.chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
    }

    /// The compound file's sectors as calamine sees them: sector `id` starts right after the
    /// header, the last one may be cut short by the end of the file.
    struct Sectors<'a> {
        file: &'a [u8],
        size: usize,
        max_id: u32,
    }

    impl<'a> Sectors<'a> {
        fn get(&self, id: u32) -> Result<&'a [u8], String> {
            let start = (id as usize + 1) * self.size;
            if id > self.max_id || start > self.file.len() {
                return Err(format!("sector {id} is past the end of the file"));
            }
            Ok(&self.file[start..self.file.len().min(start + self.size)])
        }

        /// The chain from `id`, stopped at `len` bytes; a chain longer than the file has
        /// sectors is a loop.
        fn chain(&self, mut id: u32, fat: &[u32], len: usize) -> Result<Vec<u8>, String> {
            let mut out = Vec::new();
            let mut steps = 0u64;
            while id != ENDOFCHAIN {
                steps += 1;
                if steps > self.max_id as u64 + 1 {
                    return Err("a sector chain loops".into());
                }
                let s = self.get(id)?;
                out.extend_from_slice(&s[..s.len().min(len - out.len())]);
                if out.len() >= len {
                    break;
                }
                id = *fat
                    .get(id as usize)
                    .ok_or_else(|| format!("sector {id} is not in the allocation table"))?;
            }
            Ok(out)
        }
    }

    /// The `Workbook` (or `Book`) stream, read as calamine reads it.
    fn workbook_stream(file: &[u8]) -> Result<Vec<u8>, String> {
        if file.len() < 512 {
            return Err("too short for a compound file".into());
        }
        let size = match u16_at(file, 30) {
            Some(9) => 512,
            Some(12) if file.len() >= 4096 => 4096,
            _ => return Err("unknown sector size".into()),
        };
        let version = u16_at(file, 26).unwrap_or(0);
        let max_id = (file.len() / size) as u32;
        let sectors = Sectors { file, size, max_id };
        let field = |i| u32_at(file, i).expect("in the header");
        let (dir_start, mini_fat_start, mini_fat_len, difat_start) =
            (field(48), field(60), field(64) as u64, field(68));

        let mut difat: Vec<u32> = u32s(&file[76..512]).collect();
        let mut id = difat_start;
        let mut steps = 0u64;
        while id < RESERVED {
            steps += 1;
            if steps > max_id as u64 + 1 {
                return Err("the allocation table's index loops".into());
            }
            difat.extend(u32s(sectors.get(id)?));
            id = difat.pop().ok_or("empty allocation table index")?;
        }
        let fat_ids: Vec<u32> = difat.into_iter().filter(|&id| id < DIFSECT).collect();
        if fat_ids.len() as u64 > max_id as u64 + 1 {
            return Err("the allocation table has more sectors than the file".into());
        }
        let mut fat = Vec::new();
        for id in fat_ids {
            fat.extend(u32s(sectors.get(id)?));
        }

        let dirs = sectors.chain(dir_start, &fat, usize::MAX)?;
        // (name, start, len) of each directory entry.
        let dirs: Vec<(String, u32, u64)> = dirs
            .chunks_exact(128)
            .map(|d| {
                let name: Vec<u16> = d[..64]
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .take_while(|&c| c != 0)
                    .collect();
                let start = u32_at(d, 116).expect("in the entry");
                let len = if size == 512 {
                    u32_at(d, 120).expect("in the entry") as u64
                } else {
                    u64::from_le_bytes(d[120..128].try_into().expect("8 bytes"))
                };
                (String::from_utf16_lossy(&name), start, len)
            })
            .collect();
        if dirs.is_empty() || (version != 3 && dirs[0].1 == ENDOFCHAIN) {
            return Err("empty root directory".into());
        }
        let file_len = file.len() as u64;
        let (mini_fat, mini_stream) = if mini_fat_len > 0 {
            if dirs[0].2 > file_len || mini_fat_len * size as u64 > file_len {
                return Err("the small-stream area is larger than the file".into());
            }
            let mini_stream = sectors.chain(dirs[0].1, &fat, dirs[0].2 as usize)?;
            let mini_fat = sectors.chain(mini_fat_start, &fat, mini_fat_len as usize * size)?;
            (u32s(&mini_fat).collect::<Vec<_>>(), mini_stream)
        } else {
            (Vec::new(), Vec::new())
        };

        let find = |name: &str| -> Result<Vec<u8>, String> {
            let (_, start, len) = dirs
                .iter()
                .find(|d| d.0.eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("no {name} stream"))?;
            if *len > file_len {
                return Err(format!("the {name} stream is larger than the file"));
            }
            let len = *len as usize;
            if len >= 4096 {
                return sectors.chain(*start, &fat, len);
            }
            // A small stream: 64-byte sectors of the small-stream area.
            let mut out = Vec::new();
            let mut id = *start;
            let mut steps = 0usize;
            while id != ENDOFCHAIN {
                steps += 1;
                if steps > mini_stream.len() / 64 + 1 {
                    return Err("a small-sector chain loops".into());
                }
                let at = id as usize * 64;
                let s = mini_stream
                    .get(at..(at + 64).min(mini_stream.len()))
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| format!("small sector {id} is past the small-stream area"))?;
                out.extend_from_slice(&s[..s.len().min(len - out.len())]);
                if out.len() >= len {
                    break;
                }
                id = *mini_fat.get(id as usize).ok_or_else(|| {
                    format!("small sector {id} is not in the small allocation table")
                })?;
            }
            Ok(out)
        };
        find("Workbook").or_else(|_| find("Book"))
    }

    /// BIFF records from `pos`, each with its type and data, `CONTINUE` records skipped as
    /// calamine joins them to the record before.
    fn records(stream: &[u8], pos: usize) -> impl Iterator<Item = Result<(u16, &[u8]), String>> {
        let mut rest = &stream[pos.min(stream.len())..];
        std::iter::from_fn(move || {
            loop {
                if rest.is_empty() {
                    return None;
                }
                let (Some(typ), Some(len)) = (u16_at(rest, 0), u16_at(rest, 2)) else {
                    rest = &[];
                    return Some(Err("a record is cut short".into()));
                };
                let len = len as usize;
                if rest.len() < len + 4 {
                    rest = &[];
                    return Some(Err("a record is cut short".into()));
                }
                let data = &rest[4..len + 4];
                rest = &rest[len + 4..];
                if typ != 0x003C {
                    return Some(Ok((typ, data)));
                }
            }
        })
    }

    /// A BIFF short string (a sheet name), decoded well enough for a message.
    fn short_string(data: &[u8], biff8: bool) -> String {
        let Some(&cch) = data.first() else {
            return String::new();
        };
        let cch = cch as usize;
        if biff8 && data.get(1).is_some_and(|f| f & 1 == 1) {
            let units: Vec<u16> = data[2..]
                .chunks_exact(2)
                .take(cch)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            let from = if biff8 { 2 } else { 1 };
            data.get(from..)
                .unwrap_or_default()
                .iter()
                .take(cch)
                .map(|&b| b as char)
                .collect()
        }
    }

    /// Refuses an XLS workbook whose structure calamine could not read safely, or one of whose
    /// sheets breaks the bounds.
    pub fn check(file: &[u8]) -> Result<(), String> {
        let stream = workbook_stream(file).map_err(|e| format!("{UNREADABLE}: {e}"))?;
        let bad = |e: String| format!("{UNREADABLE}: {e}");
        // The sheets, from the workbook globals.
        let mut sheets = Vec::new();
        let mut biff8 = true;
        for r in records(&stream, 0) {
            let (typ, data) = r.map_err(bad)?;
            match typ {
                // BOF: the BIFF version, as calamine reads it.
                0x0809 => {
                    biff8 = !matches!(
                        u16_at(data, 0),
                        Some(0x0200 | 0x0002 | 0x0007 | 0x0300 | 0x0400 | 0x0500)
                    )
                }
                // BoundSheet8 (calamine indexes its first 6 bytes).
                0x0085 => {
                    let pos = u32_at(data, 0)
                        .filter(|_| data.len() >= 6)
                        .ok_or_else(|| bad("a sheet record is cut short".into()))?;
                    let name = short_string(data.get(6..).unwrap_or_default(), biff8);
                    sheets.push((pos as usize, name));
                }
                0x000A => break,
                _ => (),
            }
        }
        let mut total = 0;
        for (pos, name) in sheets {
            if pos > stream.len() {
                return Err(bad(format!(
                    "sheet {name:?} starts past the end of the workbook"
                )));
            }
            let area = check_sheet(&stream, pos, &name)?;
            add_to_workbook(&mut total, &name, area)?;
        }
        Ok(())
    }

    /// Walks one sheet's records as calamine does (embedded substreams skipped) and checks the
    /// area of the cells they hold, and the area the sheet declares. Returns the used area.
    fn check_sheet(stream: &[u8], pos: usize, name: &str) -> Result<Option<Area>, String> {
        let bad = |e: &str| format!("{UNREADABLE}: sheet {name:?}: {e}");
        let mut area: Option<Area> = None;
        let mut push = |row: u32, col: u32| -> Result<(), String> {
            let a = area.map_or(Area::at(row, col), |a| a.with(row, col));
            a.check(name, (row, col), crate::MAX_DENSE_SHEET_CELLS)?;
            area = Some(a);
            Ok(())
        };
        let (mut seen_bof, mut depth) = (false, 0usize);
        // A String record holds the value of the last Formula, at its place.
        let mut formula_at = (0, 0);
        for r in records(stream, pos) {
            let (typ, data) = r.map_err(|e| bad(&e))?;
            if depth > 0 {
                match typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => (),
                }
                continue;
            }
            let rc = || -> Result<(u32, u32), String> {
                Ok((
                    u16_at(data, 0).ok_or_else(|| bad("a cell record is cut short"))? as u32,
                    u16_at(data, 2).ok_or_else(|| bad("a cell record is cut short"))? as u32,
                ))
            };
            match typ {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                // Dimensions: calamine reserves room for the area declared.
                0x0200 => {
                    let (rf, rl, cf, cl) = match data.len() {
                        10 => (
                            u16_at(data, 0).unwrap_or(0) as u64,
                            u16_at(data, 2).unwrap_or(0) as u64,
                            u16_at(data, 4).unwrap_or(0) as u64,
                            u16_at(data, 6).unwrap_or(0) as u64,
                        ),
                        14 | 16 => (
                            u32_at(data, 0).unwrap_or(0) as u64,
                            u32_at(data, 4).unwrap_or(0) as u64,
                            u16_at(data, 8).unwrap_or(0) as u64,
                            u16_at(data, 10).unwrap_or(0) as u64,
                        ),
                        _ => return Err(bad("a dimensions record has an unknown length")),
                    };
                    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
                    if rl >= 1 && cl >= 1 {
                        if rl - 1 < rf {
                            return Err(bad("the declared dimensions end before they start"));
                        }
                        let declared = (rl - rf) * (cl - cf);
                        if declared > MAX_DECLARED {
                            return Err(format!(
                                "sheet {name:?}: declares {} rows by {} columns, more than an \
                                 XLS sheet holds (65536 rows by 256 columns)",
                                rl - rf,
                                cl - cf
                            ));
                        }
                    }
                }
                // Number, Label, RString, BoolErr, Rk, LabelSst: one cell each.
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD => {
                    let (row, col) = rc()?;
                    push(row, col)?;
                }
                0x0006 => {
                    formula_at = rc()?;
                    push(formula_at.0, formula_at.1)?;
                }
                0x0207 => push(formula_at.0, formula_at.1)?,
                // MulRk: a run of cells on one row.
                0x00BD => {
                    let (row, first) = rc()?;
                    let last = data
                        .len()
                        .checked_sub(2)
                        .and_then(|i| u16_at(data, i))
                        .ok_or_else(|| bad("a cell record is cut short"))?
                        as u32;
                    if last < first {
                        return Err(bad("a run of cells ends before it starts"));
                    }
                    push(row, first)?;
                    push(row, last)?;
                }
                0x000A => break,
                _ => (),
            }
        }
        Ok(area)
    }
}

/// The scan of an ODS workbook before calamine opens it. Calamine parses every table of
/// `content.xml` at once, expanding repeated columns within a row (up to 16 384) and then
/// repeated rows into a dense area: this walks the same XML with the same counting, in
/// constant memory, and checks each table's used area and the cells calamine would hold.
mod ods {
    use super::{Area, UNREADABLE, add_to_workbook};
    use crate::MAX_DENSE_SHEET_CELLS;
    use quick_xml::events::{BytesStart, Event};
    use std::io::{BufReader, Read};
    use std::path::Path;

    /// calamine's own caps on an ODS table.
    const ODS_ROWS: u64 = 1_048_576;
    const ODS_COLUMNS: u64 = 16_384;

    fn archive(path: &Path) -> Option<zip::ZipArchive<BufReader<std::fs::File>>> {
        zip::ZipArchive::new(BufReader::new(std::fs::File::open(path).ok()?)).ok()
    }

    /// A ZIP whose `mimetype` names an OpenDocument spreadsheet, as calamine checks it.
    pub fn is_ods(path: &Path) -> bool {
        let Some(mut zip) = archive(path) else {
            return false;
        };
        let mut head = [0u8; 46];
        zip.by_name("mimetype")
            .ok()
            .and_then(|mut f| f.read_exact(&mut head).ok())
            .is_some_and(|_| &head[..] == b"application/vnd.oasis.opendocument.spreadsheet")
    }

    fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
        e.try_get_attribute(name).ok().flatten().map(|a| {
            quick_xml::escape::unescape(&a.value)
                .map_or_else(|_| a.value.to_string(), |v| v.into_owned())
        })
    }

    /// A repeat count, refused when calamine could not read it.
    fn repeats(e: &BytesStart<'_>, name: &str) -> Result<u64, String> {
        match attr(e, name) {
            None => Ok(1),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| format!("{UNREADABLE}: {} = {v:?}", name)),
        }
    }

    /// Whether calamine would read a value or a formula in the cell (when unsure, yes).
    fn has_value(e: &BytesStart<'_>) -> bool {
        [
            "office:value",
            "office:string-value",
            "office:date-value",
            "office:time-value",
            "office:boolean-value",
        ]
        .iter()
        .any(|n| attr(e, n).is_some())
            || attr(e, "office:value-type").is_some_and(|v| v == "string")
            || attr(e, "table:formula").is_some_and(|v| !v.is_empty())
    }

    pub fn check(path: &Path) -> Result<(), String> {
        let mut zip = archive(path).ok_or_else(|| format!("{UNREADABLE}: unreadable ZIP"))?;
        let content = zip
            .by_name("content.xml")
            .map_err(|e| format!("{UNREADABLE}: content.xml: {e}"))?;
        let mut xml = quick_xml::Reader::from_reader(BufReader::new(content));
        xml.config_mut().check_end_names = false;
        let mut buf = Vec::new();
        // The cells calamine's rows hold and the used areas, over the tables so far.
        let (mut held, mut total) = (0u64, 0u64);
        loop {
            let ev = xml
                .read_event_into(&mut buf)
                .map_err(|e| format!("{UNREADABLE}: content.xml: {e}"))?;
            match ev {
                Event::Start(e) if e.name().as_ref() == "table:table" => {
                    if let Some(name) = attr(&e, "table:name") {
                        buf.clear();
                        let area = check_table(&mut xml, &name, &mut held)?;
                        add_to_workbook(&mut total, &name, area)?;
                    }
                }
                Event::Eof => return Ok(()),
                _ => (),
            }
            buf.clear();
        }
    }

    /// Checks one table, adding the cells its rows hold to `held`; returns its used area.
    fn check_table<R: std::io::BufRead>(
        xml: &mut quick_xml::Reader<R>,
        name: &str,
        held: &mut u64,
    ) -> Result<Option<Area>, String> {
        let xml_err = |e: quick_xml::Error| format!("{UNREADABLE}: sheet {name:?}: {e}");
        let mut buf = Vec::new();
        // Rows so far (repeats expanded, capped as calamine caps them), XML rows, and the used
        // area.
        let (mut total_rows, mut xml_rows) = (0u64, 0u64);
        let mut area: Option<Area> = None;
        loop {
            let ev = xml.read_event_into(&mut buf).map_err(xml_err)?;
            let (row_repeats, row_open) = match &ev {
                Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                    (repeats(e, "table:number-rows-repeated")?, true)
                }
                Event::Empty(e) if e.name().as_ref() == "table:table-row" => {
                    (repeats(e, "table:number-rows-repeated")?, false)
                }
                Event::End(e) if e.name().as_ref() == "table:table" => return Ok(area),
                Event::Eof => return Ok(area),
                _ => {
                    buf.clear();
                    continue;
                }
            };
            buf.clear();
            xml_rows += 1;
            if xml_rows > ODS_ROWS {
                return Err(format!(
                    "sheet {name:?} has more than {ODS_ROWS} row elements (expected at most {} \
                     rows)",
                    crate::MAX_SHEET_ROWS
                ));
            }
            let first_row = total_rows;
            let capped = row_repeats.min(ODS_ROWS - total_rows);
            total_rows += capped;
            let (pushed, values) = if row_open {
                row_cells(xml, &mut buf, name)?
            } else {
                (0, None)
            };
            *held += pushed;
            if *held > MAX_DENSE_SHEET_CELLS as u64 {
                return Err(format!(
                    "sheet {name:?}: its rows up to row {} hold {held} cells with the repeated \
                     and blank cells they spell out (expected at most {MAX_DENSE_SHEET_CELLS} \
                     cells in an ODS workbook)",
                    first_row + 1
                ));
            }
            let Some((lo, hi)) = values else {
                continue;
            };
            if capped == 0 {
                continue;
            }
            // Rows of a sheet this large are refused by the bounds before any u32 wraps.
            let last_row = (first_row + capped - 1).min(u32::MAX as u64) as u32;
            let (lo, hi) = (lo as u32, hi as u32);
            let grown = match area {
                Some(a) => a.with(first_row as u32, lo).with(last_row, hi),
                None => Area::at(first_row as u32, lo).with(last_row, hi),
            };
            grown.check(name, (last_row, hi), MAX_DENSE_SHEET_CELLS)?;
            area = Some(grown);
        }
    }

    /// A row's cells as calamine pushes them: every column up to the last cell (the trailing
    /// run of empty cells left out), at most ODS_COLUMNS; and the first and last columns that
    /// hold a value.
    fn row_cells<R: std::io::BufRead>(
        xml: &mut quick_xml::Reader<R>,
        buf: &mut Vec<u8>,
        name: &str,
    ) -> Result<(u64, Option<(u64, u64)>), String> {
        let xml_err = |e: quick_xml::Error| format!("{UNREADABLE}: sheet {name:?}: {e}");
        let mut skip = Vec::new();
        let (mut pushed, mut pending) = (0u64, 0u64);
        let mut values: Option<(u64, u64)> = None;
        loop {
            buf.clear();
            let (e, open) = match xml.read_event_into(buf).map_err(xml_err)? {
                Event::Start(e) => (e, true),
                Event::Empty(e) => (e, false),
                Event::End(e) if e.name().as_ref() == "table:table-row" => break,
                Event::Eof => break,
                _ => continue,
            };
            let n = e.name();
            if n.as_ref() != "table:table-cell" && n.as_ref() != "table:covered-table-cell" {
                continue;
            }
            let reps = repeats(&e, "table:number-columns-repeated")?;
            let value = has_value(&e);
            if open {
                let end = e.to_end().into_owned();
                xml.read_to_end_into(end.name(), &mut skip)
                    .map_err(xml_err)?;
                skip.clear();
            }
            pushed += pending.min(ODS_COLUMNS - pushed);
            pending = 0;
            let reps = reps.min(ODS_COLUMNS - pushed);
            if value {
                if reps > 0 {
                    let (lo, _) = values.unwrap_or((pushed, pushed));
                    values = Some((lo, pushed + reps - 1));
                }
                pushed += reps;
            } else {
                pending = reps;
            }
        }
        buf.clear();
        Ok((pushed, values))
    }
}
