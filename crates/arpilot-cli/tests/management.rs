//! The management report end to end through the `arpilot` binary: on a generated ledger,
//! `report pdf` and `report management` for the same date and filter hold the same figures, which
//! are the figures of `report` itself; the PDF's text is read back with pdftotext.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn arpilot(args: &[&str]) -> std::process::Output {
    common::arpilot_smtp(args, None)
}

fn ok(args: &[&str]) -> String {
    common::stdout_ok(arpilot(args))
}

fn temp(name: &str) -> PathBuf {
    common::fresh_dir("mgmt", name)
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("-v").output().is_ok()
}

/// A generated ledger of 60 customers over two years, imported into a database.
fn ledger(dir: &Path) -> String {
    let data = dir.join("data");
    ok(&[
        "generate",
        "--invoices",
        "3000",
        "--customers",
        "60",
        "--output",
        data.to_str().unwrap(),
    ]);
    let db = dir.join("ledger.db").to_str().unwrap().to_string();
    ok(&["import", data.to_str().unwrap(), "--db", &db]);
    db
}

/// The PDF's text, words separated by single spaces.
fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// "-12345.6" or -12345.6 written as French readers write it: "-12 345,60" (2 decimals).
fn fr_amount(v: &Value) -> String {
    let x = match v {
        Value::String(s) => s.parse::<f64>().unwrap(),
        other => other.as_f64().unwrap(),
    };
    let cents = (x * 100.0).round() as i64;
    let (sign, a) = if cents < 0 {
        ("-", -cents)
    } else {
        ("", cents)
    };
    let digits = (a / 100).to_string();
    let mut grouped = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped},{:02}", a % 100)
}

fn en_amount(v: &Value) -> String {
    fr_amount(v).replace(',', ".").replace(' ', ",")
}

/// One decimal, French comma; "—" for null.
fn fr_num(v: &Value) -> String {
    match v.as_f64() {
        None => "—".into(),
        Some(x) => format!("{x:.1}").replace('.', ","),
    }
}

fn card<'a>(r: &'a Value, key: &str) -> &'a Value {
    r["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no card {key}"))
}

#[test]
fn the_management_pdf_holds_the_figures_of_its_json() {
    if !tool("pdftotext") {
        eprintln!("skipped: pdftotext not installed");
        return;
    }
    let dir = temp("pdf");
    let db = ledger(&dir);
    let filter = "collector=Camille Martin";
    let base = ["--db", &db, "--as-of", "2026-10-31", "--filter", filter];
    let r: Value =
        serde_json::from_str(&ok(&[&["report", "management"][..], &base].concat())).unwrap();
    let pdf = dir.join("report.pdf");
    ok(&[
        &["report", "pdf"][..],
        &base,
        &["--output", pdf.to_str().unwrap()],
    ]
    .concat());
    let flat = pdf_text(&pdf);
    assert!(flat.contains("Rapport de recouvrement"), "{flat}");
    assert!(flat.contains("Au 31/10/2026"), "{flat}");

    // One answer: the cards at the date are the summary report's figures.
    let summary: Value =
        serde_json::from_str(&ok(&[&["report", "--format", "json"][..], &base].concat())).unwrap();
    let balance = &summary["totals"]["balance"];
    assert_eq!(fr_amount(balance), fr_amount(&card(&r, "balance")["value"]));
    assert_eq!(r["totals"]["balance"], *balance);
    assert_eq!(
        fr_amount(&summary["totals"]["overdue"]),
        fr_amount(&card(&r, "overdue")["value"])
    );
    assert_eq!(
        card(&r, "dso_countback")["value"],
        summary["dso"]["countback"]
    );
    assert_eq!(card(&r, "dbt")["value"], summary["dbt"]);
    assert_eq!(card(&r, "cei_month")["value"], summary["cei"]["month"]);
    assert_eq!(
        card(&r, "collection_rate")["value"],
        summary["collection_rate"]["rate"]
    );
    assert!(
        fr_amount(balance) != "0,00",
        "an empty portfolio tests nothing"
    );

    // The cover: each card's value, previous month end and year-earlier figure on its row.
    for (key, label, money) in [
        ("balance", "Encours", true),
        ("overdue", "Échu", true),
        ("at_risk_amount", "Encours des clients à risque", true),
        ("dso_countback", "DSO (épuisement, jours)", false),
        ("dbt", "Retard moyen pondéré (jours)", false),
        ("average_age", "Âge moyen des créances (jours)", false),
    ] {
        let c = card(&r, key);
        let f = |v: &Value| if money { fr_amount(v) } else { fr_num(v) };
        let row = format!(
            "{label} {} {} {}",
            f(&c["value"]),
            f(&c["previous_month_end"]),
            f(&c["last_year"])
        );
        assert!(flat.contains(&row), "{row:?} not in {flat}");
        assert_eq!(c["spark"].as_array().unwrap().len(), 12);
        assert_eq!(c["spark"][11], c["value"]);
    }
    for (key, label) in [
        ("overdue_accounts", "Comptes en retard"),
        ("customers_at_risk", "Clients à risque"),
    ] {
        let c = card(&r, key);
        let n = |v: &Value| format!("{:.0}", v.as_f64().unwrap());
        let row = format!(
            "{label} {} {} {}",
            n(&c["value"]),
            n(&c["previous_month_end"]),
            n(&c["last_year"])
        );
        assert!(flat.contains(&row), "{row:?} not in {flat}");
    }

    // The latest payers: each one's overdue amount, invoices, days late and oldest on its row.
    let late = r["top_late"].as_array().unwrap();
    assert!(!late.is_empty() && late.len() <= 20);
    for c in late {
        let row = format!(
            "{} {} {} {}",
            fr_amount(&c["overdue"]),
            c["overdue_invoices"],
            fr_num(&c["days_late"]),
            c["oldest_days"]
        );
        let id = c["customer_id"].as_str().unwrap();
        let at = flat
            .find(&format!("{id} "))
            .unwrap_or_else(|| panic!("{id} not in {flat}"));
        assert!(
            flat[at..].contains(&row),
            "{row:?} not after {id} in {flat}"
        );
    }
    // Sorted by overdue amount.
    let amounts: Vec<f64> = late
        .iter()
        .map(|c| c["overdue"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");

    // Risk.
    let rk = &r["risk"];
    assert_eq!(
        rk["overdue_accounts"].as_f64(),
        card(&r, "overdue_accounts")["value"].as_f64()
    );
    let want = [
        format!("Comptes en retard : {}", rk["overdue_accounts"]),
        format!(
            "Clients à risque : {} / {} ({} %) — encours {}",
            rk["at_risk"],
            rk["customers_with_balance"],
            fr_num(&rk["at_risk_share"]),
            fr_amount(&rk["at_risk_amount"])
        ),
        format!(
            "Note D {} {}",
            rk["rating_d"]["count"],
            fr_amount(&rk["rating_d"]["amount"])
        ),
        format!(
            "Au-delà de l'encours autorisé {} {}",
            rk["over_limit"]["count"],
            fr_amount(&rk["over_limit"]["amount"])
        ),
        format!(
            "Au contentieux {} {}",
            rk["in_legal"]["count"],
            fr_amount(&rk["in_legal"]["amount"])
        ),
        format!(
            "Promesse non tenue {} {}",
            rk["broken_promise"]["count"],
            fr_amount(&rk["broken_promise"]["amount"])
        ),
        format!(
            "Âge moyen des créances : {} jours",
            fr_num(&rk["average_age"])
        ),
    ];
    for w in &want {
        assert!(flat.contains(w.as_str()), "{w:?} not in {flat}");
    }
    // A customer at risk owes something: the reasons' amounts are within the amount at risk.
    let at_risk: f64 = rk["at_risk_amount"].as_str().unwrap().parse().unwrap();
    for why in ["rating_d", "over_limit", "in_legal", "broken_promise"] {
        let a: f64 = rk[why]["amount"].as_str().unwrap().parse().unwrap();
        assert!(a <= at_risk + 0.001, "{why}: {a} > {at_risk}");
    }

    // The filter holds: one collector's row, and only its customers among the latest payers.
    let collectors = r["collectors"].as_array().unwrap();
    assert_eq!(collectors.len(), 1, "{collectors:?}");
    assert_eq!(collectors[0]["collector"], "Camille Martin");
    assert_eq!(collectors[0]["balance"], *balance);
    let customers: Value = serde_json::from_str(&ok(&[
        &["report", "customers", "--format", "json"][..],
        &base,
    ]
    .concat()))
    .unwrap();
    let ids: Vec<&str> = customers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap())
        .collect();
    for c in late {
        assert!(ids.contains(&c["customer_id"].as_str().unwrap()));
    }

    // Trend rows: the month end, balance, overdue, DSO on one line.
    for t in r["trend"].as_array().unwrap() {
        let d = t["date"].as_str().unwrap();
        let fr_date = format!("{}/{}/{}", &d[8..10], &d[5..7], &d[0..4]);
        let row = format!(
            "{fr_date} {} {} {}",
            fr_amount(&t["balance"]),
            fr_amount(&t["overdue"]),
            fr_num(&t["dso_countback"])
        );
        assert!(flat.contains(&row), "{row:?} not in {flat}");
    }

    // In English, the same figures as English readers write them.
    let pdf_en = dir.join("report-en.pdf");
    ok(&[
        &["report", "pdf"][..],
        &base,
        &["--lang", "en", "--output", pdf_en.to_str().unwrap()],
    ]
    .concat());
    let en = pdf_text(&pdf_en);
    assert!(en.contains("Collection report"), "{en}");
    let row = format!("Balance {}", en_amount(balance));
    assert!(en.contains(&row), "{row:?} not in {en}");
    let en_json: Value =
        serde_json::from_str(&ok(
            &[&["report", "management", "--lang", "en"][..], &base].concat()
        ))
        .unwrap();
    assert_eq!(en_json["labels"]["balance"], "Balance");
    assert_eq!(r["labels"]["balance"], "Encours");
    assert_eq!(en_json["kpis"], r["kpis"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_pdf_needs_an_output_file() {
    let dir = temp("no-output");
    let db = ledger(&dir);
    let out = arpilot(&["report", "pdf", "--db", &db, "--as-of", "2026-10-31"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--output"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
