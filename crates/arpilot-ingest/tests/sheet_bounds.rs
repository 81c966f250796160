//! A spreadsheet's extent is checked before the reader holds memory in proportion to it: a
//! 5 KB workbook with one cell at `BZ1048576` is refused with the cell named, in a few MB.

use arpilot_ingest::sheet;
use calamine::{Data, Reader};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::{Path, PathBuf};

/// A fresh folder for one test's files.
fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "arpilot-sheet-bounds-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An XLSX with a small invoice table on its first sheet and the given extra text cells
/// (0-based row and column).
fn xlsx_with(path: &Path, extra: &[(u32, u16, &str)]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["document_id", "customer_id", "amount"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "F1").unwrap();
    ws.write_string(1, 1, "C1").unwrap();
    ws.write_number(1, 2, 120.5).unwrap();
    for &(r, c, v) in extra {
        ws.write_string(r, c, v).unwrap();
    }
    wb.save(path).unwrap();
}

fn refusal(path: &Path) -> String {
    match sheet::rows(path, None) {
        Ok((h, rows)) => panic!(
            "{} was read ({} columns, {} rows), expected a refusal",
            path.display(),
            h.len(),
            rows.len()
        ),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for p in parts {
        assert!(message.contains(p), "{message:?} should mention {p:?}");
    }
}

#[test]
fn a_cell_at_bz1048576_is_refused_naming_it() {
    let d = tmp("bz");
    let f = d.join("far.xlsx");
    xlsx_with(&f, &[(1_048_575, 77, "far")]);
    let m = refusal(&f);
    assert_mentions(
        &m,
        &[
            "far.xlsx",
            "BZ1048576",
            "1048576 rows",
            &format!("at most {} rows", arpilot_ingest::MAX_SHEET_ROWS),
        ],
    );
}

#[test]
fn a_cell_at_xfd1_is_refused_naming_it() {
    let d = tmp("xfd");
    let f = d.join("wide.xlsx");
    xlsx_with(&f, &[(0, 16_383, "far")]);
    let m = refusal(&f);
    assert_mentions(
        &m,
        &[
            "wide.xlsx",
            "XFD1",
            "16384 columns",
            &format!("at most {} columns", arpilot_ingest::MAX_COLUMNS),
        ],
    );
}

#[test]
fn a_cell_at_a1048576_is_refused_naming_it() {
    let d = tmp("a1m");
    let f = d.join("tall.xlsx");
    xlsx_with(&f, &[(1_048_575, 0, "far")]);
    let m = refusal(&f);
    assert_mentions(
        &m,
        &[
            "tall.xlsx",
            "A1048576",
            &format!("at most {} rows", arpilot_ingest::MAX_SHEET_ROWS),
        ],
    );
}

/// Within the column and row bounds, the area the cells span is bounded too.
#[test]
fn an_area_beyond_the_cell_bound_is_refused() {
    let d = tmp("area");
    let f = d.join("area.xlsx");
    let cols = arpilot_ingest::MAX_COLUMNS as u16;
    let rows = (arpilot_ingest::MAX_SHEET_CELLS / arpilot_ingest::MAX_COLUMNS) as u32;
    // Columns A..ALL on the header row and one cell `rows` rows below: one cell too many.
    xlsx_with(&f, &[(0, cols - 1, "last"), (rows, 0, "far")]);
    let m = refusal(&f);
    assert_mentions(
        &m,
        &[
            "area.xlsx",
            &format!("A{}", rows + 1),
            &format!("at most {} cells", arpilot_ingest::MAX_SHEET_CELLS),
        ],
    );
}

/// The dashboard's path: a far cell with a column mapping is refused by the mapped import.
#[test]
fn the_mapped_import_refuses_a_far_cell() {
    let d = tmp("mapped");
    let f = d.join("upload.xlsx");
    xlsx_with(&f, &[(1_048_575, 77, "far")]);
    let mp = d.join("mapping.toml");
    std::fs::write(
        &mp,
        "kind = \"invoices\"\n[columns]\ndocument_id = \"document_id\"\ncustomer_id = \"customer_id\"\nissue_date = \"document_id\"\namount = \"amount\"\n",
    )
    .unwrap();
    let m = arpilot_ingest::mapped::Mapping::load(&mp).unwrap();
    let e = arpilot_ingest::mapped::read(&f, &m)
        .unwrap_err()
        .to_string();
    assert_mentions(&e, &["upload.xlsx", "BZ1048576"]);
}

// --- memory ---------------------------------------------------------------------------------

const CHILD: &str = "ARPILOT_SHEET_BOUNDS_CHILD";
const MEMORY_TEST: &str = "far_cells_are_refused_in_a_few_megabytes";

/// The process's resident high-water mark (`VmHWM`), in KiB.
fn high_water_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Reads `path` in a fresh process (this test binary run again on this one test) and returns
/// how much the resident high-water mark grew while reading, in KiB (`None` when the child
/// died), and the outcome.
fn growth_in_child(path: &Path) -> (Option<u64>, String) {
    let exe = std::env::current_exe().unwrap();
    // The address space is capped at 8 GiB so that a regression fails this test instead of
    // exhausting the machine.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 8388608; exec \"$0\" \"$@\"")
        .arg(&exe)
        .args(["--exact", MEMORY_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout
        .lines()
        .find_map(|l| l.split_once("sheet-bounds-child ").map(|p| p.1))
    {
        Some(line) => {
            let (kib, outcome) = line.split_once(' ').unwrap();
            (Some(kib.parse().unwrap()), outcome.to_string())
        }
        None => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stdout
                .lines()
                .chain(stderr.lines())
                .filter(|l| l.contains("memory allocation") || l.contains("panicked"))
                .collect::<Vec<_>>()
                .join("; ");
            (None, format!("died ({}): {why}", out.status))
        }
    }
}

#[test]
fn far_cells_are_refused_in_a_few_megabytes() {
    if let Some(path) = std::env::var_os(CHILD) {
        let before = high_water_kib();
        let r = sheet::rows(Path::new(&path), None);
        let grown = high_water_kib() - before;
        let outcome = match r {
            Ok((h, rows)) => format!("read {} columns, {} rows", h.len(), rows.len()),
            Err(e) => format!("refused: {e}"),
        };
        println!("sheet-bounds-child {grown} {outcome}");
        return;
    }
    let d = tmp("memory");
    let f = d.join("far.xlsx");
    xlsx_with(&f, &[(1_048_575, 77, "far")]);
    let xls_far = d.join("far.xls");
    xls(&xls_far, &[X::Number(65_535, 77, 1.0)], (0, 4, 0, 3), false);
    let xls_loop = d.join("loop.xls");
    std::fs::write(&xls_loop, cfb(&biff8(&invoice_cells(), (0, 4, 0, 3)), true)).unwrap();
    let ods_far_file = d.join("far.ods");
    ods_far(&ods_far_file);
    let files = vec![f, xls_far, xls_loop, ods_far_file];
    let mut wrong = Vec::new();
    for f in files {
        let (kib, outcome) = growth_in_child(&f);
        let kib = kib.map_or("?".to_string(), |k| k.to_string());
        eprintln!(
            "{}: high-water mark grew by {kib} KiB; {outcome}",
            f.display()
        );
        let small = kib.parse::<u64>().is_ok_and(|k| k < 32 * 1024);
        if !outcome.starts_with("refused") || !small {
            wrong.push(format!("{}: {kib} KiB, {outcome}", f.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "expected each far cell refused in well under 100 MB (32 MiB):\n{}",
        wrong.join("\n")
    );
}

// --- same rows as before --------------------------------------------------------------------

/// The reader as it was before the bounds: calamine's dense range of the first sheet.
fn reference_rows(path: &Path) -> (Vec<String>, Vec<(u64, Vec<String>)>) {
    let mut wb = calamine::open_workbook_auto(path).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    let first_row = range.start().map_or(0, |(r, _)| r as u64);
    let mut it = range.rows();
    let headers = it
        .next()
        .unwrap()
        .iter()
        .map(|c| cell(c).trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, r) in it.enumerate() {
        if r.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        rows.push((first_row + i as u64 + 2, r.iter().map(cell).collect()));
    }
    (headers, rows)
}

fn cell(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
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

fn assert_reads_as_before(path: &Path) {
    let (headers, rows) = sheet::rows(path, None).unwrap();
    let rows: Vec<(u64, Vec<String>)> = rows
        .into_iter()
        .map(|(n, r)| (n, r.iter().map(str::to_string).collect()))
        .collect();
    assert_eq!((headers, rows), reference_rows(path), "{}", path.display());
}

#[test]
fn a_small_sheet_reads_the_same_rows_as_before() {
    let d = tmp("same");
    // Starting at B3, with a blank row, a blank cell, numbers, dates, booleans and a formula.
    let f = d.join("mixed.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in [" invoice ", "customer", "issued", "amount", "paid"]
        .iter()
        .enumerate()
    {
        ws.write_string(2, 1 + c as u16, *h).unwrap();
    }
    ws.write_string(3, 1, "F1").unwrap();
    ws.write_string(3, 2, "C1").unwrap();
    ws.write_datetime_with_format(3, 3, ExcelDateTime::from_ymd(2024, 1, 31).unwrap(), &date)
        .unwrap();
    ws.write_number(3, 4, 1234.5).unwrap();
    ws.write_boolean(3, 5, true).unwrap();
    // Row 5 is blank; row 6 misses its customer.
    ws.write_string(5, 1, "F2").unwrap();
    ws.write_datetime_with_format(5, 3, ExcelDateTime::from_ymd(2024, 2, 29).unwrap(), &date)
        .unwrap();
    ws.write_number(5, 4, 0.1 + 0.2).unwrap();
    ws.write_number(5, 5, 1e-9).unwrap();
    ws.write_string(6, 1, "F3").unwrap();
    ws.write_number(6, 4, 42.0).unwrap();
    ws.write_string(6, 5, "").unwrap();
    wb.save(&f).unwrap();
    assert_reads_as_before(&f);
    let (headers, rows) = sheet::rows(&f, None).unwrap();
    assert_eq!(headers, ["invoice", "customer", "issued", "amount", "paid"]);
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [4, 6, 7]);
    assert_eq!(rows[0].1.get(2), Some("2024-01-31"));

    // The fixture the CLI imports.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../arpilot-cli/tests/fixtures/sheet/erp-invoices.xlsx");
    assert_reads_as_before(&fixture);
}

// --- XLS: a compound file holding a BIFF8 workbook, built by hand ---------------------------

/// A cell of a hand-built XLS sheet: text or a number at a 0-based row and column.
enum X<'a> {
    Text(u16, u16, &'a str),
    Number(u16, u16, f64),
}

fn record(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

/// A BIFF8 workbook stream with one sheet named `Sheet1`, and its DIMENSIONS record
/// (first row, last row + 1, first column, last column + 1).
fn biff8(cells: &[X<'_>], dimensions: (u32, u32, u16, u16)) -> Vec<u8> {
    let bof = |dt: u16| {
        let mut d = vec![];
        d.extend_from_slice(&0x0600u16.to_le_bytes());
        d.extend_from_slice(&dt.to_le_bytes());
        d.extend_from_slice(&[0xBB, 0x0D, 0xCC, 0x07, 0, 0, 0, 0, 6, 0, 0, 0]);
        d
    };
    let name = b"Sheet1";
    let boundsheet_len = 4 + (4 + 2 + 2 + name.len());
    let mut s = vec![];
    record(&mut s, 0x0809, &bof(0x0005));
    let sheet_pos = (s.len() + boundsheet_len + 4) as u32;
    let mut bs = sheet_pos.to_le_bytes().to_vec();
    bs.extend_from_slice(&[0, 0, name.len() as u8, 0]);
    bs.extend_from_slice(name);
    record(&mut s, 0x0085, &bs);
    record(&mut s, 0x000A, &[]);
    assert_eq!(s.len() as u32, sheet_pos);
    record(&mut s, 0x0809, &bof(0x0010));
    let (rf, rl, cf, cl) = dimensions;
    let mut dim = vec![];
    dim.extend_from_slice(&rf.to_le_bytes());
    dim.extend_from_slice(&rl.to_le_bytes());
    dim.extend_from_slice(&cf.to_le_bytes());
    dim.extend_from_slice(&cl.to_le_bytes());
    dim.extend_from_slice(&[0, 0]);
    record(&mut s, 0x0200, &dim);
    for c in cells {
        let mut d = vec![];
        match *c {
            X::Text(r, col, t) => {
                d.extend_from_slice(&r.to_le_bytes());
                d.extend_from_slice(&col.to_le_bytes());
                d.extend_from_slice(&0u16.to_le_bytes());
                d.extend_from_slice(&(t.len() as u16).to_le_bytes());
                d.push(0);
                d.extend_from_slice(t.as_bytes());
                record(&mut s, 0x0204, &d);
            }
            X::Number(r, col, v) => {
                d.extend_from_slice(&r.to_le_bytes());
                d.extend_from_slice(&col.to_le_bytes());
                d.extend_from_slice(&0u16.to_le_bytes());
                d.extend_from_slice(&v.to_le_bytes());
                record(&mut s, 0x0203, &d);
            }
        }
    }
    record(&mut s, 0x000A, &[]);
    s
}

const FREE: u32 = 0xFFFF_FFFF;
const END: u32 = 0xFFFF_FFFE;

/// A version 3 compound file (512-byte sectors) holding `stream` as `Workbook`: in the small
/// stream area when under 4096 bytes, as Excel stores small workbooks, else in sectors of its
/// own. `loop_directory` makes the directory's sector chain point to itself.
fn cfb(stream: &[u8], loop_directory: bool) -> Vec<u8> {
    fn put(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let mini = stream.len() < 4096;
    let mut fat = vec![FREE; 128];
    fat[0] = 0xFFFF_FFFD;
    fat[1] = if loop_directory { 1 } else { END };
    let mut sectors: Vec<Vec<u8>> = vec![vec![], vec![]];
    let (stream_start, root_start, root_len, minifat_start) = if mini {
        // Sector 2: the small allocation table; sectors 3..: the small stream area.
        let n = stream.len().div_ceil(64);
        assert!(n <= 128);
        let mut minifat = vec![FREE; 128];
        for (i, next) in minifat.iter_mut().enumerate().take(n) {
            *next = if i + 1 < n { i as u32 + 1 } else { END };
        }
        sectors.push(minifat.iter().flat_map(|v| v.to_le_bytes()).collect());
        fat[2] = END;
        let mut area = stream.to_vec();
        area.resize(n * 64, 0);
        let k = area.len().div_ceil(512);
        for i in 0..k {
            fat[3 + i] = if i + 1 < k { 3 + i as u32 + 1 } else { END };
        }
        let len = area.len() as u32;
        area.resize(k * 512, 0);
        sectors.extend(area.chunks(512).map(<[u8]>::to_vec));
        (0, 3, len, 2)
    } else {
        let k = stream.len().div_ceil(512);
        assert!(k + 2 <= 128);
        for i in 0..k {
            fat[2 + i] = if i + 1 < k { 2 + i as u32 + 1 } else { END };
        }
        let mut data = stream.to_vec();
        data.resize(k * 512, 0);
        sectors.extend(data.chunks(512).map(<[u8]>::to_vec));
        (2, END, 0, END)
    };
    sectors[0] = fat.iter().flat_map(|v| v.to_le_bytes()).collect();
    let entry = |name: &str, typ: u8, child: u32, start: u32, len: u32| {
        let mut e = vec![0u8; 128];
        let units: Vec<u16> = name.encode_utf16().collect();
        for (i, u) in units.iter().enumerate() {
            e[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
        }
        e[64..66].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
        e[66] = typ;
        e[67] = 1;
        put(&mut e, 68, FREE);
        put(&mut e, 72, FREE);
        put(&mut e, 76, child);
        put(&mut e, 116, start);
        put(&mut e, 120, len);
        e
    };
    let mut dir = entry("Root Entry", 5, 1, root_start, root_len);
    dir.extend(entry(
        "Workbook",
        2,
        FREE,
        stream_start,
        stream.len() as u32,
    ));
    dir.resize(512, 0);
    sectors[1] = dir;
    let mut h = vec![0u8; 512];
    h[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    h[24..26].copy_from_slice(&0x003Eu16.to_le_bytes());
    h[26..28].copy_from_slice(&3u16.to_le_bytes());
    h[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    h[30..32].copy_from_slice(&9u16.to_le_bytes());
    h[32..34].copy_from_slice(&6u16.to_le_bytes());
    put(&mut h, 44, 1);
    put(&mut h, 48, 1);
    put(&mut h, 56, 4096);
    put(&mut h, 60, minifat_start);
    put(&mut h, 64, u32::from(mini));
    put(&mut h, 68, END);
    put(&mut h, 76, 0);
    for i in 1..109 {
        put(&mut h, 76 + 4 * i, FREE);
    }
    for s in sectors {
        h.extend(s);
    }
    h
}

fn invoice_cells() -> Vec<X<'static>> {
    vec![
        X::Text(0, 0, "document_id"),
        X::Text(0, 1, "customer_id"),
        X::Text(0, 2, "amount"),
        X::Text(1, 0, "F1"),
        X::Text(1, 1, "C1"),
        X::Number(1, 2, 120.5),
        X::Text(3, 0, "F2"),
        X::Number(3, 2, 7.0),
    ]
}

fn xls(path: &Path, extra: &[X<'_>], dimensions: (u32, u32, u16, u16), big: bool) {
    let mut cells = invoice_cells();
    cells.extend(extra.iter().map(|c| match *c {
        X::Text(r, col, t) => X::Text(r, col, t),
        X::Number(r, col, v) => X::Number(r, col, v),
    }));
    let mut stream = biff8(&cells, dimensions);
    if big {
        // Past 4096 bytes the stream has sectors of its own (the bytes after EOF are unread).
        stream.resize(5000, 0);
    }
    std::fs::write(path, cfb(&stream, false)).unwrap();
}

#[test]
fn a_small_xls_reads_the_same_rows_as_before() {
    let d = tmp("xls-same");
    for big in [false, true] {
        let f = d.join(format!("small-{big}.xls"));
        xls(&f, &[], (0, 4, 0, 3), big);
        assert_reads_as_before(&f);
        let (headers, rows) = sheet::rows(&f, None).unwrap();
        assert_eq!(headers, ["document_id", "customer_id", "amount"]);
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(rows[0].1.iter().collect::<Vec<_>>(), ["F1", "C1", "120.5"]);
    }
}

#[test]
fn far_cells_in_an_xls_are_refused_naming_them() {
    let d = tmp("xls-far");
    let f = d.join("wide.xls");
    xls(&f, &[X::Number(0, 16_383, 1.0)], (0, 4, 0, 3), false);
    assert_mentions(
        &refusal(&f),
        &[
            "wide.xls",
            "Sheet1",
            "XFD1",
            "16384 columns",
            "at most 1000 columns",
        ],
    );
    // 65536 rows by 78 columns: under the row bound, over the cells an XLS sheet may span.
    let f = d.join("far.xls");
    xls(&f, &[X::Number(65_535, 77, 1.0)], (0, 4, 0, 3), false);
    assert_mentions(
        &refusal(&f),
        &[
            "far.xls",
            "BZ65536",
            &format!("at most {} cells", arpilot_ingest::MAX_DENSE_SHEET_CELLS),
        ],
    );
}

/// calamine reserves room for the area an XLS sheet declares, and follows sector chains
/// without a bound: both are checked before it opens the file.
#[test]
fn a_forged_xls_structure_is_refused() {
    let d = tmp("xls-forged");
    let f = d.join("dimensions.xls");
    xls(&f, &[], (0, u32::MAX, 0, u16::MAX), false);
    assert_mentions(
        &refusal(&f),
        &["dimensions.xls", "65536 rows by 256 columns"],
    );
    let f = d.join("loop.xls");
    std::fs::write(&f, cfb(&biff8(&invoice_cells(), (0, 4, 0, 3)), true)).unwrap();
    assert_mentions(&refusal(&f), &["loop.xls", "loops"]);
}

// --- ODS ------------------------------------------------------------------------------------

/// An ODS whose one table `Factures` holds `rows`, each given as its XML.
fn ods(path: &Path, rows: &[String]) {
    ods_tables(path, &[("Factures", rows)]);
}

/// An ODS with the given tables (name and rows).
fn ods_tables(path: &Path, tables: &[(&str, &[String])]) {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("mimetype", stored).unwrap();
    z.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    z.start_file("META-INF/manifest.xml", SimpleFileOptions::default())
        .unwrap();
    z.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
    )
    .unwrap();
    z.start_file("content.xml", SimpleFileOptions::default())
        .unwrap();
    let tables: String = tables
        .iter()
        .map(|(name, rows)| {
            format!(
                r#"<table:table table:name="{name}">{}</table:table>"#,
                rows.concat()
            )
        })
        .collect();
    write!(
        z,
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"#
    )
    .unwrap();
    z.finish().unwrap();
}

fn text(t: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#
    )
}

fn number(v: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>"#
    )
}

fn blanks(n: u64) -> String {
    format!(r#"<table:table-cell table:number-columns-repeated="{n}"/>"#)
}

fn row(cells: &[String]) -> String {
    format!("<table:table-row>{}</table:table-row>", cells.concat())
}

fn blank_rows(n: u64) -> String {
    format!(
        r#"<table:table-row table:number-rows-repeated="{n}"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#
    )
}

fn ods_invoices() -> Vec<String> {
    vec![
        row(&[text("document_id"), text("customer_id"), text("amount")]),
        row(&[text("F1"), text("C1"), number("120.5")]),
        blank_rows(2),
        row(&[text("F2"), blanks(1), number("7"), blanks(1021)]),
    ]
}

#[test]
fn a_small_ods_reads_the_same_rows_as_before() {
    let d = tmp("ods-same");
    let f = d.join("small.ods");
    let mut rows = ods_invoices();
    rows.push(blank_rows(1_048_000));
    ods(&f, &rows);
    assert_reads_as_before(&f);
    let (headers, rows) = sheet::rows(&f, None).unwrap();
    assert_eq!(headers, ["document_id", "customer_id", "amount"]);
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 5]);
}

fn ods_far(path: &Path) {
    // BZ1048576: the invoices, blank rows down to row 1048575, then a cell in column 78.
    let mut rows = ods_invoices();
    rows.push(blank_rows(1_048_575 - 5));
    rows.push(row(&[blanks(77), text("far")]));
    ods(path, &rows);
}

#[test]
fn far_cells_in_an_ods_are_refused_naming_them() {
    let d = tmp("ods-far");
    let f = d.join("far.ods");
    ods_far(&f);
    assert_mentions(
        &refusal(&f),
        &[
            "far.ods",
            "Factures",
            "BZ1048576",
            "1048576 rows",
            "at most 1000000 rows",
        ],
    );
    let f = d.join("wide.ods");
    let mut rows = ods_invoices();
    rows.push(row(&[blanks(16_383), number("1")]));
    ods(&f, &rows);
    assert_mentions(&refusal(&f), &["wide.ods", "XFD6", "16384 columns"]);
    // Rows that each spell out 16 000 blank cells before a value, however narrow the values.
    let f = d.join("blanks.ods");
    let mut rows = vec![row(&[blanks(15_990), text("document_id")])];
    let far = row(&[blanks(15_999), text("x"), blanks(1)]);
    rows.extend(std::iter::repeat_n(far, 200));
    ods(&f, &rows);
    assert_mentions(
        &refusal(&f),
        &[
            "blanks.ods",
            &format!("at most {} cells", arpilot_ingest::MAX_DENSE_SHEET_CELLS),
        ],
    );
}

/// calamine holds every sheet of an ODS at once: the bound is on the workbook, not each sheet.
#[test]
fn ods_sheets_are_bounded_together() {
    let d = tmp("ods-together");
    let f = d.join("sheets.ods");
    // Each sheet spans 10 columns by 150 000 rows: 1 500 000 cells, 3 000 000 together.
    let sheet: Vec<String> = {
        let mut rows = ods_invoices();
        rows.push(blank_rows(150_000 - 6));
        rows.push(row(&[blanks(9), text("far")]));
        rows
    };
    ods_tables(&f, &[("Factures", &sheet[..]), ("Avoirs", &sheet[..])]);
    assert_mentions(
        &refusal(&f),
        &[
            "sheets.ods",
            "\"Avoirs\"",
            "3000000 cells together",
            &format!("at most {} cells", arpilot_ingest::MAX_DENSE_SHEET_CELLS),
        ],
    );
    // One such sheet alone is read.
    let f = d.join("sheet.ods");
    ods(&f, &sheet);
    let (_, rows) = sheet::rows(&f, None).unwrap();
    assert_eq!(rows.last().map(|r| r.0), Some(150_000));
}
