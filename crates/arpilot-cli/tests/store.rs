//! `arpilot import` and reports over the stored ledger: same figures as the files, on SQLite
//! and PostgreSQL byte for byte; synchronisation of newer exports with amendments that leave
//! past reports unchanged; currencies; all-or-nothing imports, even when killed.

mod common;
use common::shared_data;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small")
}

fn arpilot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arpilot"))
        .args(args)
        .env("CI", "1")
        .output()
        .expect("runs")
}

fn ok(args: &[&str]) -> String {
    let out = arpilot(args);
    assert!(
        out.status.success(),
        "arpilot {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("arpilot-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn fresh_postgres() -> Option<String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(arpilot_store::testing::fresh_postgres())
}

const KINDS: [&str; 4] = ["summary", "customers", "invoices", "trend"];

fn reports(source: &[&str], as_of: &str) -> Vec<String> {
    KINDS
        .iter()
        .map(|k| {
            let mut a = vec!["report", k, "--as-of", as_of, "--format", "json"];
            a.extend_from_slice(source);
            ok(&a)
        })
        .collect()
}

#[test]
fn imported_ledger_reports_like_the_files_on_sqlite_and_postgres() {
    let dir = tmp("same");
    let db = dir.join("ledger.db");
    let fx = fixture();
    let files = reports(&["--data", s(&fx)], "2024-03-31");
    let first = json(&["import", s(&fx), "--db", s(&db), "--json"]);
    assert_eq!(first[0]["documents"], 8);
    assert_eq!(first[0]["payments"], 4);
    assert_eq!(first[0]["customers"], 3);
    assert_eq!(first[0]["format"], "ledger");
    let sqlite = reports(&["--db", s(&db)], "2024-03-31");
    assert_eq!(sqlite, files);
    // The same file again changes nothing.
    let again = json(&["import", s(&fx), "--db", s(&db), "--json"]);
    assert_eq!(again[0]["appended"], 0);
    assert_eq!(again[0]["batch"], serde_json::Value::Null);
    assert_eq!(reports(&["--db", s(&db)], "2024-03-31"), files);
    let batches = json(&["batches", "--db", s(&db), "--json"]);
    assert_eq!(batches.as_array().unwrap().len(), 1);
    assert_eq!(batches[0]["sha256"].as_str().unwrap().len(), 64);

    if let Some(url) = fresh_postgres() {
        ok(&["import", s(&fx), "--database-url", &url]);
        assert_eq!(reports(&["--database-url", &url], "2024-03-31"), files);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let t = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(t)).unwrap();
}

#[test]
fn a_newer_export_appends_only_what_changed_and_keeps_the_past() {
    let dir = tmp("sync");
    let db = dir.join("ledger.db");
    let v1 = dir.join("v1");
    copy_dir(&fixture(), &v1);
    ok(&[
        "import",
        s(&v1),
        "--db",
        s(&db),
        "--effective",
        "2024-04-01",
    ]);
    let before = reports(&["--db", s(&db)], "2024-03-31");

    // The next month's export: a new invoice and payment, F4's due date moved, C2 moved
    // region, F3's dispute resolved, and F5's amount changed (which history cannot take).
    let v2 = dir.join("v2");
    copy_dir(&v1, &v2);
    edit(&v2.join("invoices.csv"), |t| {
        t.replace(
            "F4,C2,invoice,2024-03-05,,640.50",
            "F4,C2,invoice,2024-03-05,2024-06-30,640.50",
        )
        .replace(
            "F3,C2,invoice,2024-02-20,2024-03-31,2500.00,,true,prix",
            "F3,C2,invoice,2024-02-20,2024-03-31,2500.00,,false,prix",
        )
        .replace(
            "F5,C3,invoice,2024-01-05,,3000.00",
            "F5,C3,invoice,2024-01-05,,3100.00",
        ) + "F7,C1,invoice,2024-04-02,,500.00,,false,,false,A\n"
    });
    edit(&v2.join("payments.csv"), |t| {
        t + "P9,C1,2024-04-10,300.00,F7,VIR 9\n"
    });
    edit(&v2.join("customers.csv"), |t| {
        t.replace("C2,Beta SA,Sud", "C2,Beta SA,Est")
    });
    let sync = json(&[
        "import",
        s(&v2),
        "--db",
        s(&db),
        "--effective",
        "2024-04-15",
        "--json",
    ]);
    let r = &sync[0];
    assert_eq!(r["documents"], 1, "{r}");
    assert_eq!(r["payments"], 1, "{r}");
    assert_eq!(r["amended"], 3, "due date, dispute resolved, customer: {r}");
    assert_eq!(r["appended"], 5, "{r}");
    let warnings = r["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{r}");
    let w = warnings[0].as_str().unwrap();
    assert!(
        w.contains("invoices.csv, line 6") && w.contains("amount changed"),
        "{w}"
    );

    // Reports as of dates before the amendments are unchanged, byte for byte.
    assert_eq!(reports(&["--db", s(&db)], "2024-03-31"), before);
    let early = json(&[
        "report",
        "invoices",
        "--db",
        s(&db),
        "--as-of",
        "2024-04-14",
        "--format",
        "json",
    ]);
    let f4 = early
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["document_id"] == "F4")
        .unwrap();
    assert_eq!(f4["due_date"], "2024-04-19");
    // From the effective date on, they see the new due date, region and resolved dispute.
    let late = json(&[
        "report",
        "invoices",
        "--db",
        s(&db),
        "--as-of",
        "2024-04-30",
        "--format",
        "json",
    ]);
    let f4 = late
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["document_id"] == "F4")
        .unwrap();
    assert_eq!(f4["due_date"], "2024-06-30");
    let summary = json(&[
        "report",
        "--db",
        s(&db),
        "--as-of",
        "2024-04-30",
        "--format",
        "json",
        "--filter",
        "region=Est",
    ]);
    // C2: F3 2 500 + F4 640.50 − P2 1 000 − P3 700.
    assert_eq!(summary["totals"]["balance"], "1440.50");
    assert_eq!(summary["totals"]["disputed"], "0.00");
    let summary = json(&[
        "report",
        "--db",
        s(&db),
        "--as-of",
        "2024-04-14",
        "--format",
        "json",
        "--filter",
        "region=Est",
    ]);
    assert_eq!(summary["totals"]["balance"], "0.00");
    // Importing v2 again appends nothing.
    let again = json(&["import", s(&v2), "--db", s(&db), "--json"]);
    assert_eq!(again[0]["appended"], 0, "{}", again[0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn amounts_in_other_currencies_convert_at_the_as_of_rate() {
    let dir = tmp("fx");
    let set = dir.join("set");
    std::fs::create_dir_all(&set).unwrap();
    let w = |f: &str, t: &str| std::fs::write(set.join(f), t).unwrap();
    w(
        "customers.csv",
        "customer_id,name,currency\nC1,Alpha,EUR\nU1,Union Inc,USD\n",
    );
    w(
        "invoices.csv",
        "document_id,customer_id,issue_date,due_date,amount,currency\n\
         I1,C1,2024-01-10,2024-02-10,1000.00,EUR\n\
         I2,U1,2024-01-15,2024-02-15,1000.00,USD\n\
         I3,U1,2024-01-20,2024-02-20,100.01,\n",
    );
    w(
        "payments.csv",
        "payment_id,customer_id,date,amount,invoice_id,currency\nUP1,U1,2024-02-01,400.00,I2,USD\n",
    );
    w(
        "rates.csv",
        "date,currency,rate\n2024-01-01,USD,0.90\n2024-03-01,USD,0.95\n",
    );
    let db = dir.join("fx.db");
    ok(&["import", s(&set), "--db", s(&db)]);
    let at = |d: &str, extra: &[&str]| {
        let mut a = vec!["report", "--db", s(&db), "--as-of", d, "--format", "json"];
        a.extend_from_slice(extra);
        json(&a)
    };
    // 1000 EUR + (600 + 100.01) USD × 0.90 = 1630.01 (100.01 × 0.9 = 90.009 → 90.01)
    let feb = at("2024-02-15", &[]);
    assert_eq!(feb["currency"], "EUR");
    assert_eq!(feb["totals"]["balance"], "1630.01");
    // The rate of March: (600 + 100.01) × 0.95 = 665.0095 → 570.00 + 95.01
    assert_eq!(at("2024-03-31", &[])["totals"]["balance"], "1665.01");
    // The same figures in transaction currency.
    let usd = at("2024-03-31", &["--currency", "USD"]);
    assert_eq!(usd["currency"], "USD");
    assert_eq!(usd["totals"]["balance"], "700.01");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_refused_import_names_the_line_and_changes_nothing() {
    let dir = tmp("refused");
    let db = dir.join("ledger.db");
    ok(&["import", s(&fixture()), "--db", s(&db)]);
    let bad = dir.join("bad");
    copy_dir(&fixture(), &bad);
    edit(&bad.join("payments.csv"), |t| {
        t + "P8,C1,2024-04-10,300.00,,\nP9,C9,2024-04-10,300.00,,\n"
    });
    let out = arpilot(&["import", s(&bad), "--db", s(&db)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("payments.csv, line 7, column customer_id") && err.contains("\"C9\""),
        "{err}"
    );
    let b = json(&["batches", "--db", s(&db), "--json"]);
    assert_eq!(b.as_array().unwrap().len(), 1);
    for (file, msg) in [
        ("empty.csv", "empty file"),
        ("wide.csv", "columns"),
        ("note.xml", "root element"),
    ] {
        let p = dir.join(file);
        match file {
            "empty.csv" => std::fs::write(&p, "").unwrap(),
            "wide.csv" => {
                let header: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
                std::fs::write(&p, header.join(",") + "\n").unwrap();
            }
            _ => std::fs::write(&p, "<?xml version=\"1.0\"?><note/>").unwrap(),
        }
        let mapping = dir.join("m.toml");
        std::fs::write(
            &mapping,
            "kind = \"payments\"\n[columns]\npayment_id = \"c0\"\ncustomer_id = \"c1\"\ndate = \"c2\"\namount = \"c3\"\n",
        )
        .unwrap();
        let out = arpilot(&["import", s(&p), "--db", s(&db), "--mapping", s(&mapping)]);
        assert!(!out.status.success(), "{file}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg) && err.contains(file), "{file}: {err}");
    }
    // A 2 GB file is refused before it is read (sparse: no disk used).
    let huge = dir.join("huge.txt");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let out = arpilot(&["import", s(&huge), "--db", s(&db)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("larger than"),
        "{err}"
    );
    let batches = json(&["batches", "--db", s(&db), "--json"]);
    assert_eq!(batches.as_array().unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fec_due_dates_follow_each_customers_terms() {
    let Some(data) = shared_data("fec_samples_neolegal") else {
        return;
    };
    let dir = tmp("terms");
    let fec = data.join("fec_samples_neolegal/123456789FEC20500930.txt");
    let invoices = |db: &Path| {
        json(&[
            "report",
            "invoices",
            "--db",
            s(db),
            "--as-of",
            "2099-12-31",
            "--format",
            "json",
        ])
    };
    let days = |r: &serde_json::Value| {
        let d = |k: &str| {
            arpilot_core::Day::parse_iso(r[k].as_str().unwrap())
                .unwrap()
                .0
        };
        d("due_date") - d("issue_date")
    };
    let db = dir.join("t.db");
    ok(&["import", s(&fec), "--db", s(&db)]);
    let inv = invoices(&db);
    assert_eq!(days(&inv[0]), 30, "{}", inv[0]);
    let customer = inv[0]["customer_id"].as_str().unwrap().to_string();
    let terms = dir.join("terms.csv");
    std::fs::write(
        &terms,
        format!("customer_id,payment_terms_days\n{customer},45\n"),
    )
    .unwrap();
    let db2 = dir.join("t2.db");
    ok(&[
        "import",
        s(&fec),
        "--db",
        s(&db2),
        "--customer-terms",
        s(&terms),
    ]);
    assert_eq!(days(&invoices(&db2)[0]), 45);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn killing_an_import_leaves_the_ledger_as_before() {
    let dir = tmp("kill");
    let db = dir.join("ledger.db");
    ok(&["import", s(&fixture()), "--db", s(&db)]);
    let before = reports(&["--db", s(&db)], "2024-03-31");
    let big = dir.join("big");
    ok(&["generate", "--invoices", "200000", "--output", s(&big)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_arpilot"))
        .args(["import", s(&big), "--db", s(&db), "--entity", "BIG"])
        .env("CI", "1")
        .spawn()
        .unwrap();
    // Wait until the import is writing (its uncommitted pages fill the WAL), then SIGKILL it.
    let wal = dir.join("ledger.db-wal");
    let start = std::time::Instant::now();
    loop {
        let len = std::fs::metadata(&wal).map_or(0, |m| m.len());
        if len > 2 << 20 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the import ended before it could be killed: {status}");
        }
        assert!(
            start.elapsed().as_secs() < 300,
            "the import never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(reports(&["--db", s(&db)], "2024-03-31"), before);
    let b = json(&["batches", "--db", s(&db), "--json"]);
    assert_eq!(b.as_array().unwrap().len(), 1, "only the first batch: {b}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fec_files_import_and_reimport_without_change() {
    let Some(data) = shared_data("fec_samples_neolegal") else {
        return;
    };
    let dir = tmp("fec");
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("fec_samples_neolegal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("FEC"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 4);
    for (k, f) in files.iter().enumerate() {
        let db = dir.join(format!("fec{k}.db"));
        let first = json(&["import", s(f), "--db", s(&db), "--json"]);
        assert_eq!(first[0]["format"], "fec");
        let direct = ok(&[
            "report",
            "customers",
            "--data",
            s(f),
            "--as-of",
            "2099-12-31",
            "--format",
            "json",
        ]);
        let stored = ok(&[
            "report",
            "customers",
            "--db",
            s(&db),
            "--as-of",
            "2099-12-31",
            "--format",
            "json",
        ]);
        assert_eq!(stored, direct, "{}", f.display());
        let again = json(&["import", s(f), "--db", s(&db), "--json"]);
        assert_eq!(again[0]["appended"], 0, "{}", f.display());
        let after = ok(&[
            "report",
            "customers",
            "--db",
            s(&db),
            "--as-of",
            "2099-12-31",
            "--format",
            "json",
        ]);
        assert_eq!(after, direct);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn einvoices_import_from_a_folder_with_their_totals_and_due_dates() {
    let Some(data) = shared_data("einvoice_mustang_zugferd_facturx") else {
        return;
    };
    let dir = tmp("einv");
    let db = dir.join("inv.db");
    let pdfs = data.join("einvoice_mustang_zugferd_facturx/pdf");
    let out = json(&["import", s(&pdfs), "--db", s(&db), "--json"]);
    assert_eq!(out.as_array().unwrap().len(), 15);
    // One invoice is in pounds: without a rate the report cannot add it to euros.
    let r = arpilot(&["report", "--db", s(&db), "--as-of", "2026-11-23"]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("no rate for GBP"));
    let rates = dir.join("rates.csv");
    std::fs::write(&rates, "date,currency,rate\n2025-01-01,GBP,1.17\n").unwrap();
    ok(&["import", s(&rates), "--db", s(&db)]);
    assert!(
        out.as_array()
            .unwrap()
            .iter()
            .all(|o| o["format"] == "facturx")
    );
    let ubl = data.join("einvoice_en16931_examples/ubl/ubl-tc434-example1.xml");
    if ubl.is_file() {
        let u = json(&["import", s(&ubl), "--db", s(&db), "--json"]);
        assert_eq!(u[0]["format"], "ubl");
    }
    // Folders of XML invoices (CII, ZUGFeRD 1, UBL; the French samples too); the licence
    // files beside them are skipped.
    for sub in [
        "einvoice_mustang_zugferd_facturx/cii",
        "einvoice_mustang_zugferd_facturx/ubl",
        "einvoice_en16931_examples/ubl",
        "einvoice_akretion_facturx_fixtures",
    ] {
        let out = json(&["import", s(&data.join(sub)), "--db", s(&db), "--json"]);
        assert!(!out.as_array().unwrap().is_empty(), "{sub}");
    }
    std::fs::write(
        &rates,
        "date,currency,rate\n2025-01-01,CHF,1.06\n2025-01-01,DKK,0.134\n2025-01-01,NOK,0.085\n2025-01-01,SEK,0.087\n",
    )
    .unwrap();
    ok(&["import", s(&rates), "--db", s(&db)]);
    let inv = json(&[
        "report",
        "invoices",
        "--db",
        s(&db),
        "--as-of",
        "2026-11-23",
        "--format",
        "json",
    ]);
    let find = |id: &str| {
        inv.as_array()
            .unwrap()
            .iter()
            .find(|r| r["document_id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };
    let f = find("F20180027");
    assert_eq!(f["amount"], "100.00");
    assert_eq!(f["due_date"], "2019-01-30");
    let x = find("RE-20190610/507");
    assert_eq!(x["amount"], "571.04");
    assert_eq!(x["due_date"], "2019-07-01");
    // An invalid PDF is refused and changes nothing.
    let bad = data.join("einvoice_mustang_zugferd_facturx/pdf_invalid/invalidXMP.pdf");
    let before = json(&["batches", "--db", s(&db), "--json"]);
    let r = arpilot(&["import", s(&bad), "--db", s(&db)]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("conformance level"));
    assert_eq!(json(&["batches", "--db", s(&db), "--json"]), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ibm_sample_through_its_mapping_reports_like_the_file() {
    let Some(data) = shared_data("ibm_watson_accounts_receivable") else {
        return;
    };
    let dir = tmp("ibm");
    let db = dir.join("ibm.db");
    let csv = data.join("ibm_watson_accounts_receivable/WA_Fn-UseC_-Accounts-Receivable.csv");
    let mapping =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/ibm-mapping.toml");
    ok(&["import", s(&csv), "--mapping", s(&mapping), "--db", s(&db)]);
    for as_of in ["2012-12-31", "2013-06-30"] {
        let direct = reports(&["--data", s(&csv), "--mapping", s(&mapping)], as_of);
        assert_eq!(reports(&["--db", s(&db)], as_of), direct, "{as_of}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_spreadsheet_imports_like_the_same_rows_in_csv() {
    let fx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sheet");
    let mapping =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/ibm-mapping.toml");
    let dir = tmp("sheet");
    let (a, b) = (dir.join("xlsx.db"), dir.join("csv.db"));
    let x = json(&[
        "import",
        s(&fx.join("erp-invoices.xlsx")),
        "--mapping",
        s(&mapping),
        "--db",
        s(&a),
        "--json",
    ]);
    assert_eq!(x[0]["format"], "xlsx");
    assert_eq!(x[0]["documents"], 4);
    ok(&[
        "import",
        s(&fx.join("erp-invoices.csv")),
        "--mapping",
        s(&mapping),
        "--db",
        s(&b),
    ]);
    let ra = reports(&["--db", s(&a)], "2013-03-31");
    assert_eq!(ra, reports(&["--db", s(&b)], "2013-03-31"));
    let summary: serde_json::Value = serde_json::from_str(&ra[0]).unwrap();
    // Open on 2013-03-31: 611400 (1 234.50) and 9002300 (80.00).
    assert_eq!(summary["totals"]["balance"], "1314.50");
    std::fs::remove_dir_all(&dir).unwrap();
}
