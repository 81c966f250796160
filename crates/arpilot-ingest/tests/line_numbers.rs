//! Every text reader names the line of the row at fault as a text editor numbers it, whatever the
//! line ends (LF, CRLF, a lone CR), blank lines, or quoted fields holding line breaks before it:
//! the line where that row starts.

use arpilot_core::Event;
use arpilot_ingest::fec::{self, FecOptions};
use arpilot_ingest::mapped::{self, Mapping};
use arpilot_ingest::source::{self, ReadOptions};
use arpilot_ingest::{IngestError, ledger_csv};
use std::path::{Path, PathBuf};

/// The line ends of a file, and the line break inside its quoted fields.
const ENDS: [(&str, &str, &str); 5] = [
    ("lf", "\n", "\n"),
    ("crlf", "\r\n", "\r\n"),
    ("cr", "\r", "\r"),
    // Spreadsheets write a LF inside a cell whatever the row ends.
    ("crlf, lf in cells", "\r\n", "\n"),
    ("cr, lf in cells", "\r", "\n"),
];

/// Rows of a CSV file (`\n` inside a row is a line break in a quoted field) and the line the
/// bad row starts at, as an editor numbers it: the header is line 1.
struct Case {
    name: &'static str,
    rows: Vec<String>,
    line: u64,
}

/// The bad row holds `bad` in its date column; `head` is the header.
fn cases(head: &str, bad: &str) -> Vec<Case> {
    let row = |id: &str, note: &str, date: &str| format!("{id},C1,{note},{date},10.00");
    let ok = |id: &str, note: &str| row(id, note, "2024-01-10");
    let mut long: Vec<String> = vec![head.to_string()];
    // The line of the bug report: 536 good rows, the bad one on line 538.
    for i in 0..536 {
        long.push(ok(&format!("F{i}"), "plain"));
    }
    long.push(row("FX", "plain", bad));
    // Quoted line breaks every 40 rows, over several reads of the CSV reader's buffer.
    let mut quoted_long: Vec<String> = vec![head.to_string()];
    let mut line = 2;
    for i in 0..700 {
        let note = if i % 40 == 7 {
            "\"first\nsecond\nthird\""
        } else {
            "plain"
        };
        line += note.matches('\n').count() as u64 + 1;
        quoted_long.push(ok(&format!("F{i}"), note));
    }
    quoted_long.push(row("FX", "plain", bad));
    vec![
        Case {
            name: "plain",
            rows: vec![
                head.into(),
                ok("F1", "a"),
                ok("F2", "b"),
                row("F3", "c", bad),
            ],
            line: 4,
        },
        Case {
            name: "after a quoted line break",
            rows: vec![
                head.into(),
                ok("F1", "a"),
                ok("F2", "\"two\nlines\""),
                ok("F3", "c"),
                row("F4", "d", bad),
            ],
            line: 6,
        },
        Case {
            name: "in the row holding a quoted line break, after it",
            rows: vec![head.into(), ok("F1", "a"), row("F2", "\"two\nlines\"", bad)],
            line: 3,
        },
        Case {
            name: "after blank lines",
            rows: vec![
                head.into(),
                ok("F1", "a"),
                String::new(),
                String::new(),
                ok("F2", "\"two\n\nlines\""),
                row("F3", "c", bad),
            ],
            line: 8,
        },
        Case {
            name: "line 538",
            rows: long,
            line: 538,
        },
        Case {
            name: "after many quoted line breaks",
            rows: quoted_long,
            line,
        },
    ]
}

/// The rows with `end` after each and `inner` for the line breaks inside them.
fn text(rows: &[String], end: &str, inner: &str) -> String {
    rows.iter().map(|r| r.replace('\n', inner) + end).collect()
}

/// A fresh folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arpilot-lines-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The line and column of a field error, checking its message names them.
fn field_error(e: &IngestError, file: &str) -> (u64, String) {
    let IngestError::Field {
        file: f,
        line,
        column,
        ..
    } = e
    else {
        panic!("expected an error naming a field, got {e}");
    };
    assert!(f.ends_with(file), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("{file}, line {line}, column {column}: ")),
        "{e}"
    );
    (*line, column.clone())
}

fn row_error_line(e: &IngestError, file: &str) -> u64 {
    let IngestError::Row { file: f, line, .. } = e else {
        panic!("expected an error naming a row, got {e}");
    };
    assert!(f.ends_with(file), "{e}");
    assert!(
        e.to_string().contains(&format!("{file}, line {line}: ")),
        "{e}"
    );
    *line
}

const CUSTOMERS: &str = "customer_id,name\nC1,Alpha\n";

#[test]
fn ledger_set_errors_name_the_line_where_the_row_starts() {
    let dir = folder("ledger");
    std::fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
    for case in cases(
        "document_id,customer_id,note,issue_date,amount",
        "2024-13-01",
    ) {
        for (ends, end, inner) in ENDS {
            let what = format!("{}, {ends}", case.name);
            std::fs::write(dir.join("invoices.csv"), text(&case.rows, end, inner)).unwrap();
            let e = ledger_csv::read_set(std::slice::from_ref(&dir))
                .err()
                .expect("an error");
            assert_eq!(
                field_error(&e, "invoices.csv"),
                (case.line, "issue_date".to_string()),
                "{what}: {e}"
            );
            assert!(
                e.to_string()
                    .contains("expected a date as YYYY-MM-DD, found \"2024-13-01\""),
                "{what}: {e}"
            );
            let e = ledger_csv::load_dir(&dir).unwrap_err();
            assert_eq!(field_error(&e, "invoices.csv").0, case.line, "{what}: {e}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ledger_set_errors_found_later_name_the_line_too() {
    let dir = folder("ledger-later");
    std::fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
    // An unknown customer is found when the events are put together, not when the row is read;
    // a missing field by the CSV reader itself.
    let rows = |last: &str| -> Vec<String> {
        vec![
            "document_id,customer_id,note,issue_date,amount".into(),
            "F1,C1,a,2024-01-10,10.00".into(),
            "F2,C1,\"two\nlines\",2024-01-11,10.00".into(),
            String::new(),
            last.into(),
        ]
    };
    for (ends, end, inner) in ENDS {
        let unknown = text(&rows("F3,C9,c,2024-01-12,10.00"), end, inner);
        std::fs::write(dir.join("invoices.csv"), unknown).unwrap();
        let e = ledger_csv::load_dir(&dir).unwrap_err();
        assert_eq!(
            field_error(&e, "invoices.csv"),
            (6, "customer_id".to_string()),
            "{ends}: {e}"
        );
        let short = text(&rows("F3,C1,c,2024-01-12"), end, inner);
        std::fs::write(dir.join("invoices.csv"), short).unwrap();
        let e = ledger_csv::load_dir(&dir).unwrap_err();
        assert_eq!(row_error_line(&e, "invoices.csv"), 6, "{ends}: {e}");
        assert!(
            e.to_string()
                .contains("expected 5 fields like the header, found 4"),
            "{ends}: {e}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ledger_set_written_with_cr_cr_lf_is_numbered_as_editors_show_it() {
    // Python's csv module on Windows without newline="" writes CR CR LF: editors (and
    // spreadsheets) show a blank line after every row, so the third row is on line 5.
    let dir = folder("ledger-crcrlf");
    std::fs::write(dir.join("customers.csv"), CUSTOMERS).unwrap();
    std::fs::write(
        dir.join("invoices.csv"),
        "document_id,customer_id,issue_date,amount\r\r\nF1,C1,2024-01-10,10.00\r\r\nF2,C1,2024-13-01,10.00\r\r\n",
    )
    .unwrap();
    let e = ledger_csv::read_set(std::slice::from_ref(&dir))
        .err()
        .expect("an error");
    assert_eq!(field_error(&e, "invoices.csv").0, 5, "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn mapping(dir: &Path) -> Mapping {
    let path = dir.join("mapping.toml");
    std::fs::write(
        &path,
        r#"kind = "invoices"
[columns]
document_id = "Number"
customer_id = "Customer"
issue_date = "InvoiceDate"
amount = "Amount"
[format]
date = "YYYY-MM-DD"
"#,
    )
    .unwrap();
    Mapping::load(&path).unwrap()
}

const MAPPED_HEAD: &str = "Number,Customer,Note,InvoiceDate,Amount";

#[test]
fn mapped_csv_errors_name_the_line_where_the_row_starts() {
    let dir = folder("mapped");
    let m = mapping(&dir);
    let file = dir.join("export.csv");
    for case in cases(MAPPED_HEAD, "2024-13-01") {
        for (ends, end, inner) in ENDS {
            let what = format!("{}, {ends}", case.name);
            std::fs::write(&file, text(&case.rows, end, inner)).unwrap();
            let e = mapped::read(&file, &m).unwrap_err();
            assert_eq!(
                field_error(&e, "export.csv"),
                (case.line, "InvoiceDate".to_string()),
                "{what}: {e}"
            );
            assert!(
                e.to_string().contains("found \"2024-13-01\""),
                "{what}: {e}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mapped_csv_errors_found_later_name_the_line_too() {
    let dir = folder("mapped-later");
    let m = mapping(&dir);
    let file = dir.join("export.csv");
    let rows = |last: &str| -> Vec<String> {
        vec![
            MAPPED_HEAD.into(),
            "F1,C1,a,2024-01-10,10.00".into(),
            "F2,C1,\"two\nlines\",2024-01-11,10.00".into(),
            String::new(),
            last.into(),
        ]
    };
    for (ends, end, inner) in ENDS {
        // A duplicate id is found when the events are put together.
        std::fs::write(&file, text(&rows("F1,C1,c,2024-01-12,10.00"), end, inner)).unwrap();
        let e = mapped::load(&file, &m).unwrap_err();
        assert_eq!(row_error_line(&e, "export.csv"), 6, "{ends}: {e}");
        assert!(e.to_string().contains("duplicate"), "{ends}: {e}");
        std::fs::write(&file, text(&rows("F3,C1,c,2024-01-12"), end, inner)).unwrap();
        let e = mapped::read(&file, &m).unwrap_err();
        assert_eq!(row_error_line(&e, "export.csv"), 6, "{ends}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An FEC file in ISO-8859-15 (é is one byte), as French accounting software writes it.
fn latin9(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            'é' => 0xE9,
            c if c.is_ascii() => c as u8,
            c => panic!("{c:?} is not in the test's ISO-8859-15 subset"),
        })
        .collect()
}

#[test]
fn fec_errors_name_the_line_of_the_entry() {
    let dir = folder("fec");
    let file = dir.join("123456789FEC20231231.txt");
    let head = "JournalCode|EcritureNum|EcritureDate|CompteNum|CompAuxNum|EcritureLib|Debit|Credit";
    let good = [
        "VE|1|20230110|41100000|C1|Facture émise|120,00|0,00",
        "VE|1|20230110|70600000||Facture émise|0,00|120,00",
    ];
    let bad = "VE|2|20231301|41100000|C1|Facture|50,00|0,00";
    let plain: Vec<&str> = [head].into_iter().chain(good).chain([bad]).collect();
    let blank: Vec<&str> = [head, good[0], "", good[1], "", bad].into();
    // (line ends, lines, line of the bad entry)
    let cases: [(&str, &[&str], u64); 8] = [
        ("\n", &plain, 4),
        ("\r\n", &plain, 4),
        ("\r", &plain, 4),
        ("\n", &blank, 6),
        ("\r\n", &blank, 6),
        ("\r", &blank, 6),
        // A CRLF file converted twice: editors show a blank line after every line.
        ("\r\r\n", &plain, 7),
        ("\r\r\n", &blank, 11),
    ];
    for (end, lines, line) in cases {
        let content: String = lines.iter().map(|l| format!("{l}{end}")).collect();
        std::fs::write(&file, latin9(&content)).unwrap();
        let e = fec::read(&file, &FecOptions::default()).unwrap_err();
        assert_eq!(
            field_error(&e, "123456789FEC20231231.txt"),
            (line, "ecrituredate".to_string()),
            "{end:?}: {e}"
        );
        assert!(
            e.to_string()
                .contains("expected a date as YYYYMMDD, found \"20231301\""),
            "{end:?}: {e}"
        );
    }
    // The header too, when it is not the first line.
    std::fs::write(&file, "\r\n\r\nJournalCode,EcritureNum\r\n").unwrap();
    let e = fec::read(&file, &FecOptions::default()).unwrap_err();
    assert_eq!(row_error_line(&e, "123456789FEC20231231.txt"), 3, "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The line of every event an import reads, for the warnings that name them.
fn origin_lines(paths: &[PathBuf], opts: &ReadOptions) -> Vec<(String, u64)> {
    let p = source::read(paths, opts).unwrap();
    p.events
        .iter()
        .zip(&p.origins)
        .map(|(e, o)| {
            let kind = match e {
                Event::Customer(c) => format!("customer {}", c.id),
                Event::Document(d) => format!("document {}", d.id),
                Event::Payment(p) => format!("payment {}", p.id),
                _ => "other".into(),
            };
            (kind, o.1)
        })
        .collect()
}

#[test]
fn imports_keep_the_line_of_every_event() {
    let dir = folder("origins");
    let set = dir.join("set");
    std::fs::create_dir_all(&set).unwrap();
    let m = mapping(&dir);
    let export = dir.join("export.csv");
    let customers: Vec<String> = ["customer_id,name", "C1,\"Alpha\nNord\"", "C2,Beta"]
        .map(String::from)
        .into();
    let rows = [
        "F1,C1,\"two\nlines\",2024-01-10,10.00",
        "",
        "F2,C2,b,2024-01-11,10.00",
    ];
    let with_head =
        |head: &str| -> Vec<String> { [head].into_iter().chain(rows).map(String::from).collect() };
    let lines = |l: &[(&str, u64)]| -> Vec<(String, u64)> {
        l.iter().map(|&(k, n)| (k.to_string(), n)).collect()
    };
    for (ends, end, inner) in ENDS {
        std::fs::write(set.join("customers.csv"), text(&customers, end, inner)).unwrap();
        std::fs::write(
            set.join("invoices.csv"),
            text(
                &with_head("document_id,customer_id,note,issue_date,amount"),
                end,
                inner,
            ),
        )
        .unwrap();
        assert_eq!(
            origin_lines(std::slice::from_ref(&set), &ReadOptions::default()),
            lines(&[
                ("customer C1", 2),
                ("customer C2", 4),
                ("document F1", 2),
                ("document F2", 5),
            ]),
            "ledger set, {ends}"
        );
        std::fs::write(&export, text(&with_head(MAPPED_HEAD), end, inner)).unwrap();
        let opts = ReadOptions {
            mapping: Some(&m),
            ..ReadOptions::default()
        };
        assert_eq!(
            origin_lines(std::slice::from_ref(&export), &opts),
            lines(&[
                ("customer C1", 2),
                ("document F1", 2),
                ("customer C2", 5),
                ("document F2", 5),
            ]),
            "mapped csv, {ends}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
