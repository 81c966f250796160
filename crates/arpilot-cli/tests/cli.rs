//! The `arpilot` binary end to end: report JSON contract (snapshot-tested and hand-checked),
//! table and CSV output, filters and groupings, precise errors and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small")
}

fn arpilot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arpilot"))
        .args(args)
        .output()
        .expect("runs")
}

/// Runs arpilot, expects success, parses its JSON output.
fn run_json(args: &[&str]) -> serde_json::Value {
    let out = arpilot(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn report_json(extra: &[&str]) -> serde_json::Value {
    let dir = fixture();
    let mut args = vec![
        "report",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    run_json(&args)
}

/// Hand-computed: invoices 8 290.50 − credit note 200 − write-off 100 − payments 3 550.
#[test]
fn report_json_holds_the_hand_computed_figures() {
    let r = report_json(&[]);
    let t = &r["totals"];
    assert_eq!(t["balance"], "4440.50");
    assert_eq!(t["open_invoices"], "4550.00");
    assert_eq!(t["not_due"], "1550.00");
    assert_eq!(t["overdue"], "3000.00");
    assert_eq!(t["unapplied"], "-109.50");
    assert_eq!(t["disputed"], "1500.00");
    assert_eq!(t["in_legal"], "3000.00");
    assert_eq!(t["promised"], "1500.00");
    assert_eq!(r["aging"][0]["bucket"], "not_due");
    assert_eq!(r["aging"][0]["amount"], "1550.00");
    assert_eq!(r["aging"][0]["count"], 2);
    assert_eq!(r["aging"][1]["bucket"], "1-30");
    assert_eq!(r["aging"][1]["amount"], "3000.00");
    assert_eq!(r["top_debtors"][0]["customer_id"], "C3");
    // F5 3 000 + F6 150 − W1 100.
    assert_eq!(r["top_debtors"][0]["balance"], "3050.00");
    assert_eq!(r["top_overdue_invoices"][0]["document_id"], "F5");
    assert_eq!(r["top_overdue_invoices"][0]["days_overdue"], 26);
    // DBT: only F5 is overdue, 26 days, weighted by 3000 / 4550.
    assert_eq!(r["dbt"], 17.14);
    assert_eq!(r["currency"], "EUR");
    assert_eq!(r["as_of"], "2024-03-31");
}

#[test]
fn report_json_snapshot() {
    insta::assert_json_snapshot!("report_small_2024_03_31", report_json(&[]));
}

#[test]
fn grouped_and_filtered_reports() {
    let by = report_json(&["--by", "region"]);
    let rows = by["groups"]["rows"].as_array().unwrap();
    let nord = rows.iter().find(|r| r["key"] == "Nord").unwrap();
    // C1 (unapplied −50) and C3 (3 000 + 50 open).
    assert_eq!(nord["balance"], "3000.00");
    assert_eq!(nord["unapplied"], "-50.00");
    let sud = report_json(&["--filter", "region=Sud"]);
    assert_eq!(sud["totals"]["balance"], "1440.50");
    let key = report_json(&["--filter", "segment=key", "--filter", "region=Nord"]);
    assert_eq!(key["totals"]["balance"], "3000.00");
    let div = report_json(&["--filter", "division=A"]);
    assert_eq!(div["totals"]["open_invoices"], "1500.00");
    insta::assert_json_snapshot!(
        "report_small_by_customer",
        report_json(&["--by", "customer", "--buckets", "15,45", "--top", "2"])
    );
}

#[test]
fn customers_and_trend_json() {
    let dir = fixture();
    let v = run_json(&[
        "report",
        "customers",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
        "--format",
        "json",
    ]);
    let c1 = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customer_id"] == "C1")
        .unwrap();
    // F1 settled 2024-02-12, due 2024-02-09: 3 days late; F2 settled 2024-03-16, due 2024-03-16.
    // Weighted by amount: (1200 × 3 + 800 × 0) / 2000 = 1.8.
    assert_eq!(c1["avg_days_late"], 1.8);
    assert_eq!(c1["rating"], "B");
    insta::assert_json_snapshot!("customers_small", v);
    insta::assert_json_snapshot!(
        "trend_small",
        run_json(&[
            "report",
            "trend",
            "--months",
            "3",
            "--data",
            dir.to_str().unwrap(),
            "--as-of",
            "2024-03-31",
            "--format",
            "json",
        ])
    );
}

#[test]
fn table_and_csv_outputs() {
    let dir = fixture();
    let out = arpilot(&[
        "report",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Total"), "{text}");
    assert!(text.contains("4,440.50"), "{text}");
    insta::assert_snapshot!("table_small", text);
    let out = arpilot(&[
        "report",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
        "--locale",
        "fr",
        "--by",
        "customer",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("4\u{202f}440,50"), "{text}");
    let out = arpilot(&[
        "report",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
        "--format",
        "csv",
        "--by",
        "customer",
    ]);
    let csv = String::from_utf8(out.stdout).unwrap();
    // The formula-like customer name is neutralised for spreadsheets.
    assert!(csv.contains("'=Gamma"), "{csv}");
    assert!(!csv.contains(",=Gamma"), "{csv}");
}

fn write_set(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
}

fn error_of(name: &str, files: &[(&str, &str)]) -> String {
    let dir = std::env::temp_dir().join(format!("arpilot-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_set(&dir, files);
    let out = arpilot(&[
        "report",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
        "--format",
        "json",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!out.status.success(), "{name} should fail");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

const CUSTOMERS: &str = "customer_id,name\nC1,Alpha\n";

const INVOICES_HEAD: &str = "document_id,customer_id,issue_date,amount\n";

/// An error case: name, rows of invoices.csv, files added or replaced, expected message.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn errors_name_file_line_column_and_expectation() {
    // (case, invoices.csv rows, extra files, expected message)
    let cases: [Case; 9] = [
        (
            "date",
            "F1,C1,2024-01-10,10.00\nF2,C1,2024-13-01,10.00\n",
            &[],
            "invoices.csv, line 3, column issue_date: expected a date as YYYY-MM-DD, found \"2024-13-01\"",
        ),
        (
            "amount",
            "F1,C1,2024-01-10,\"1,5\"\n",
            &[],
            "invoices.csv, line 2, column amount: expected a positive decimal amount",
        ),
        (
            "customer",
            "F1,C1,2024-01-10,10.00\nF2,C9,2024-01-11,10.00\n",
            &[],
            "invoices.csv, line 3, column customer_id: unknown customer \"C9\"",
        ),
        (
            "dup",
            "F1,C1,2024-01-10,10.00\nF1,C1,2024-01-11,10.00\n",
            &[],
            "invoices.csv, line 3: duplicate id \"F1\"",
        ),
        (
            "alloc",
            "F1,C1,2024-01-10,10.00\n",
            &[
                (
                    "payments.csv",
                    "payment_id,customer_id,date,amount\nP1,C1,2024-01-20,10.00\n",
                ),
                (
                    "allocations.csv",
                    "source_id,invoice_id,date,amount\nP1,F1,2024-01-20,5.00\nP1,F7,2024-01-21,5.00\n",
                ),
            ],
            "allocations.csv, line 3, column invoice_id: unknown invoice \"F7\"",
        ),
        (
            "early",
            "F1,C1,2024-01-10,10.00\n",
            &[(
                "payments.csv",
                "payment_id,customer_id,date,amount,invoice_id\nP1,C1,2024-01-05,10.00,F1\n",
            )],
            "payments.csv, line 2, column date: allocation dated 2024-01-05 is before invoice \"F1\" dated 2024-01-10",
        ),
        (
            "fields",
            "F1,C1,2024-01-10\n",
            &[],
            "invoices.csv, line 2: expected 4 fields like the header, found 3",
        ),
        (
            "type",
            "",
            &[(
                "invoices.csv",
                "document_id,customer_id,issue_date,amount,type\nF1,C1,2024-01-10,10.00,facture\n",
            )],
            "column type: expected invoice, credit_note or write_off, found \"facture\"",
        ),
        (
            "column",
            "",
            &[(
                "invoices.csv",
                "document_id,customer_id,amount\nF1,C1,10.00\n",
            )],
            "invoices.csv: missing required column \"issue_date\"",
        ),
    ];
    for (name, rows, extra, want) in cases {
        let invoices = format!("{INVOICES_HEAD}{rows}");
        let mut files = vec![
            ("customers.csv", CUSTOMERS),
            ("invoices.csv", invoices.as_str()),
        ];
        for (f, body) in extra {
            files.retain(|(g, _)| g != f);
            files.push((f, body));
        }
        let e = error_of(name, &files);
        assert!(e.contains(want), "{name}: {e}");
    }
    let e = error_of("missing", &[("customers.csv", CUSTOMERS)]);
    assert!(e.contains("invoices.csv: missing"), "{e}");
}

#[test]
fn non_utf8_input_is_refused_with_its_line() {
    let dir = std::env::temp_dir().join(format!("arpilot-cli-latin1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("customers.csv"),
        b"customer_id,name\nC1,Soci\xe9t\xe9\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("invoices.csv"),
        "document_id,customer_id,issue_date,amount\n",
    )
    .unwrap();
    let out = arpilot(&[
        "report",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert!(
        e.contains("customers.csv, line 2: expected UTF-8 text"),
        "{e}"
    );
}

#[test]
fn unknown_filter_dimension_lists_the_known_ones() {
    let dir = fixture();
    let out = arpilot(&[
        "report",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
        "--filter",
        "colour=red",
    ]);
    assert!(!out.status.success());
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(e.contains("unknown dimension \"colour\""), "{e}");
    assert!(e.contains("region"), "{e}");
}

#[test]
fn forecast_and_backtest_commands() {
    let dir = fixture();
    let d = dir.to_str().unwrap();
    let v = run_json(&[
        "forecast",
        "--data",
        d,
        "--as-of",
        "2024-03-31",
        "--format",
        "json",
        "--method",
        "mean_delay",
    ]);
    let future = v["future"].as_array().unwrap();
    assert_eq!(future.len(), 5);
    // Open at 31 March: F3 1 500 (disputed "prix", no resolved "prix" dispute, so the average
    // of all reasons: F4's 10 days from 1 March → already past → April), F5 3 000 (1 500
    // promised for 15 April, the rest past due → April), F6 50 (due 19 May; C3 has no history,
    // the portfolio's mean delay is −3.25 days: F1 3 days late, F2 on time, F4 19 days early → May).
    assert_eq!(future[1]["period"], "2024-04");
    assert_eq!(future[1]["expected"], "4500.00");
    assert_eq!(future[2]["expected"], "50.00");
    insta::assert_json_snapshot!("forecast_small", v);
    let v = run_json(&[
        "forecast",
        "backtest",
        "--data",
        d,
        "--from",
        "2024-01-31",
        "--to",
        "2024-02-29",
        "--format",
        "json",
    ]);
    assert_eq!(v["methods"].as_array().unwrap().len(), 4);
    assert_eq!(v["methods"][0]["method"], "auto");
    let out = arpilot(&["forecast", "--data", d, "--method", "magic"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--method: expected auto"));
}

#[test]
fn fec_files_are_read_by_content() {
    let dir = std::env::temp_dir().join(format!("arpilot-cli-fec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fec = dir.join("123456789FEC20231231.txt");
    std::fs::write(
        &fec,
        "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\tPieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise\n\
VE\tVentes\t1\t20231110\t41100000\tClients\tC1\tAlpha\tF1\t20231110\tFacture\t1200,00\t0,00\t\t\t\t\t\n\
VE\tVentes\t1\t20231110\t70600000\tPrestations\t\t\tF1\t20231110\tFacture\t0,00\t1200,00\t\t\t\t\t\n",
    )
    .unwrap();
    let v = run_json(&[
        "report",
        "--data",
        fec.to_str().unwrap(),
        "--as-of",
        "2023-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(v["totals"]["overdue"], "1200.00");
    assert_eq!(v["top_overdue_invoices"][0]["days_overdue"], 21);
    let other = dir.join("notes.txt");
    std::fs::write(&other, "hello").unwrap();
    let out = arpilot(&[
        "report",
        "--data",
        other.to_str().unwrap(),
        "--as-of",
        "2023-12-31",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a format arpilot reads"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Team, cohorts, broken promises and rating history on the example ledger.
#[test]
fn behaviour_and_team_reports() {
    let dir = fixture();
    let d = dir.to_str().unwrap();
    let team = run_json(&[
        "report",
        "team",
        "--data",
        d,
        "--as-of",
        "2024-03-31",
        "--format",
        "json",
    ]);
    // Camille follows C1 (−50.00: 600 open, 650 unapplied) and C3 (3 050.00); Hugo follows C2.
    assert_eq!(team[0]["collector"], "Camille");
    assert_eq!(team[0]["balance"], "3000.00");
    assert_eq!(team[1]["collector"], "Hugo");
    assert_eq!(team[1]["balance"], "1440.50");
    let cohorts = run_json(&[
        "report",
        "cohorts",
        "--data",
        d,
        "--as-of",
        "2024-06-30",
        "--months",
        "6",
        "--format",
        "json",
    ]);
    assert_eq!(cohorts.as_array().unwrap().len(), 6);
    assert_eq!(cohorts[0]["month"], "2024-01");
    let broken = run_json(&[
        "report",
        "broken-promises",
        "--data",
        d,
        "--as-of",
        "2024-06-30",
        "--format",
        "json",
    ]);
    assert_eq!(broken[0]["document_id"], "F5");
    let out = arpilot(&["report", "rating", "--data", d, "--as-of", "2024-06-30"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--customer"));
    let rating = run_json(&[
        "report",
        "rating",
        "--customer",
        "C2",
        "--data",
        d,
        "--as-of",
        "2024-06-30",
        "--months",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(rating.as_array().unwrap().len(), 4);
    assert_eq!(rating[0]["date"], "2024-03-31");
    assert_eq!(rating[0]["rating"], "A");
    // Nothing of C2's settled in the 90 days to 2024-06-30: no rating then.
    assert_eq!(rating[3]["rating"], serde_json::Value::Null);
}

/// `arpilot worklist` (interfaces §4): JSON objects with the contract's members, ordered by
/// decreasing score; `--collector` narrows to one collector's customers.
#[test]
fn worklist_json_contract() {
    let dir = fixture();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "worklist",
            "--data",
            dir.to_str().unwrap(),
            "--as-of",
            "2024-03-31",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        run_json(&args)
    };
    let all = run(&[]);
    let rows = all.as_array().unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["customer_id"].as_str().unwrap())
        .collect();
    // C2: its disputed F3 is 40 days old (usual 30): 15 points. C3: F5 overdue 26 days, covered
    // by a promise until 2024-04-15: on the list, nothing to press for.
    assert_eq!(ids, ["C2", "C3"]);
    for r in rows {
        for k in [
            "customer_id",
            "name",
            "score",
            "reasons",
            "overdue",
            "last_action",
        ] {
            assert!(r.get(k).is_some(), "{k} in {r}");
        }
        assert!(r["reasons"].as_array().is_some_and(|v| !v.is_empty()));
    }
    assert_eq!(rows[0]["score"], 15.0);
    assert_eq!(rows[0]["last_action"], "2024-03-12");
    assert_eq!(rows[1]["score"], 0.0);
    assert_eq!(rows[1]["overdue"], "3000.00");
    assert_eq!(rows[1]["next_step"], "await_promise");
    let scores: Vec<f64> = rows.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    let camille = run(&["--collector", "Camille"]);
    assert_eq!(camille.as_array().unwrap().len(), 1);
    assert_eq!(camille[0]["customer_id"], "C3");
    // French words, the same figures.
    let fr = run(&["--locale", "fr"]);
    assert_eq!(fr[1]["score"], 0.0);
    assert!(
        fr[1]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("1 facture échue"),
        "{}",
        fr[1]
    );
    // The table names the customers in rank order.
    let out = arpilot(&[
        "worklist",
        "--data",
        dir.to_str().unwrap(),
        "--as-of",
        "2024-03-31",
    ]);
    let table = String::from_utf8(out.stdout).unwrap();
    let (c2, c3) = (table.find("C2 Beta SA").unwrap(), table.find("C3").unwrap());
    assert!(c2 < c3, "{table}");
}
