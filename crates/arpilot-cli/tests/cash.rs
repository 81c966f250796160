//! Cash application end to end through the `arpilot` binary (interfaces §4): the French CFONB
//! sample imported against a ledger holding the invoices its transfers quote; confident matches
//! applied at once, the rest queued; `report invoices` showing the new open amounts; re-import
//! adding nothing; decisions and undo; `report cash`.

mod common;
use common::shared_data;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn arpilot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arpilot"))
        .args(args)
        .env("USER", "compta")
        .output()
        .expect("runs")
}

fn ok(args: &[&str]) -> String {
    let out = arpilot(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("arpilot-cash-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Customers and invoices named after the transfers of `oca__cfonb_classic.cfo` (January 2024):
/// - "facture F230875" 1 040.17 → F230875 of Ma Jolie Boutique, 1 040.17: paid.
/// - "F230866 F230765 F238765 0018937" 1 321.00 → Durancia's F230866 600.00 and F230765
///   721.00 (F238765 is not in this ledger): both paid.
/// - "ACOMPTE … F230987, F231234" 4 772.91 → Ditri's F230987 3 000.00 paid, F231234 5 000.00
///   left with 3 227.09 (a down payment, oldest quoted invoice first).
/// - "Invoice F235678" 2 341.12 → Econymo's F235678: paid.
/// - "factures F239765/F237654/F239875/F240001" 218.80 → RATP's F239765 100.00 and F237654
///   118.80: paid.
/// - "F238765+F229876 9" 510.80 → DGA's F229876: paid.
/// - "REGLEMENT PRINT SARL" 1 552.23, no number → Print's only invoice of that amount, by the
///   payer's name: paid.
/// - BROMBIJ BV (DV… numbers we do not have) and PRARIAL ("-F238765") → left for review.
const CUSTOMERS: &str = "customer_id,name,payment_terms_days
MJB,Ma Jolie Boutique,30
DUR,Durancia Montgenevre SAS,30
DIT,Ditri Camping Nord,30
ECO,Econymo Software,30
RATP,RATP,30
DGA,DGA France,30
PRI,Print SARL,30
";
const INVOICES: &str = "document_id,customer_id,type,issue_date,due_date,amount
F230875,MJB,invoice,2023-11-15,2023-12-15,1040.17
F230866,DUR,invoice,2023-11-10,2023-12-10,600.00
F230765,DUR,invoice,2023-11-02,2023-12-02,721.00
F230987,DIT,invoice,2023-11-20,2023-12-20,3000.00
F231234,DIT,invoice,2023-11-25,2023-12-25,5000.00
F235678,ECO,invoice,2023-12-01,2023-12-31,2341.12
F239765,RATP,invoice,2023-12-05,2024-01-04,100.00
F237654,RATP,invoice,2023-12-03,2024-01-02,118.80
F229876,DGA,invoice,2023-10-30,2023-11-29,510.80
PRI-1,PRI,invoice,2023-12-10,2024-01-09,1552.23
PRI-2,PRI,invoice,2023-12-12,2024-01-11,800.00
";

fn ledger(dir: &Path) -> String {
    let set = dir.join("set");
    std::fs::create_dir_all(&set).unwrap();
    std::fs::write(set.join("customers.csv"), CUSTOMERS).unwrap();
    std::fs::write(set.join("invoices.csv"), INVOICES).unwrap();
    let db = dir.join("ledger.db");
    ok(&[
        "import",
        set.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    db.to_str().unwrap().to_string()
}

fn open_amounts(db: &str) -> Vec<(String, String)> {
    let v = json(&[
        "report",
        "invoices",
        "--db",
        db,
        "--as-of",
        "2024-01-31",
        "--format",
        "json",
    ]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["document_id"].as_str().unwrap().to_string(),
                r["open_amount"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_french_cfonb_sample_pays_the_invoices_it_quotes() {
    let Some(data) = shared_data("bank_statements") else {
        return;
    };
    let cfo = data.join("bank_statements/cfonb120/oca__cfonb_classic.cfo");
    let dir = temp("cfonb");
    let db = ledger(&dir);
    let before = open_amounts(&db);
    let out = json(&["import", cfo.to_str().unwrap(), "--db", &db, "--json"]);
    let o = &out[0];
    assert_eq!(o["format"], "cfonb120");
    assert_eq!(
        (o["lines"].as_u64(), o["credits"].as_u64()),
        (Some(13), Some(9))
    );
    assert_eq!(o["receipts"], 9);
    assert_eq!(
        (o["applied"].as_u64(), o["queued"].as_u64()),
        (Some(7), Some(2))
    );
    // 1 040.17 + 1 321.00 + 4 772.91 + 2 341.12 + 218.80 + 510.80 + 1 552.23
    assert_eq!(o["applied_amount"], 1_175_703);
    let open: std::collections::BTreeMap<_, _> = open_amounts(&db).into_iter().collect();
    for (inv, left) in [
        ("F230875", "0.00"),
        ("F230866", "0.00"),
        ("F230765", "0.00"),
        ("F230987", "0.00"),
        ("F231234", "3227.09"),
        ("F235678", "0.00"),
        ("F239765", "0.00"),
        ("F237654", "0.00"),
        ("F229876", "0.00"),
        ("PRI-1", "0.00"),
        ("PRI-2", "800.00"),
    ] {
        assert_eq!(open[inv], left, "{inv}");
    }
    // The same statement again adds nothing.
    let again = json(&["import", cfo.to_str().unwrap(), "--db", &db, "--json"]);
    assert_eq!(
        (again[0]["receipts"].as_u64(), again[0]["already"].as_u64()),
        (Some(0), Some(9))
    );
    assert!(again[0]["batch"].is_null());

    // The queue: Brombij and Prarial, with the contract's members.
    let q = json(&[
        "cash",
        "queue",
        "--db",
        &db,
        "--as-of",
        "2024-01-31",
        "--format",
        "json",
    ]);
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 2);
    let payers: Vec<&str> = q
        .iter()
        .map(|i| i["payer_name"].as_str().unwrap())
        .collect();
    assert_eq!(payers, ["BROMBIJ BV", "PRARIAL OT MONTG"]);
    for i in q {
        assert!(i["receipt_id"].as_str().unwrap().starts_with("BNK-"));
        assert_eq!(i["rule"], "unapplied");
        assert!(i["reasons"].as_array().unwrap().len() == 1);
    }
    // Prarial's transfer was for Ditri's remaining invoice after all: chosen by hand.
    let prarial = q[1]["receipt_id"].as_str().unwrap().to_string();
    let d = json(&[
        "cash",
        "decide",
        &prarial,
        "--db",
        &db,
        "--customer",
        "DIT",
        "--invoice",
        "F231234=3227.09",
        "--date",
        "2024-01-31",
        "--json",
    ]);
    assert_eq!(d["decision"], "apply");
    assert_eq!(d["applied"], "3227.09");
    let open: std::collections::BTreeMap<_, _> = open_amounts(&db).into_iter().collect();
    assert_eq!(open["F231234"], "0.00");
    // Brombij is not a customer of ours.
    let brombij = q[0]["receipt_id"].as_str().unwrap().to_string();
    ok(&[
        "cash",
        "decide",
        &brombij,
        "--db",
        &db,
        "--not-customer",
        "--date",
        "2024-01-31",
    ]);
    let q = json(&[
        "cash",
        "queue",
        "--db",
        &db,
        "--as-of",
        "2024-01-31",
        "--format",
        "json",
    ]);
    assert_eq!(q.as_array().unwrap().len(), 0);

    // KPIs of January: 9 receipts of 17 968.57; 7 matched by the engine (11 757.03 of it),
    // 1 by hand, 1 not a customer's.
    let k = json(&[
        "report",
        "cash",
        "--db",
        &db,
        "--as-of",
        "2024-01-31",
        "--format",
        "json",
    ]);
    assert_eq!(k["receipts"], 9);
    assert_eq!(k["receipts_amount"], "17968.57");
    assert_eq!(k["auto_matched"], 7);
    assert_eq!(k["auto_matched_amount"], "11757.03");
    assert_eq!(k["manual_matched"], 1);
    assert_eq!(k["not_customer"], 1);
    assert_eq!(k["unapplied"], 0);
    let rate = k["auto_rate"].as_f64().unwrap();
    assert!((rate - 7.0 / 9.0).abs() < 1e-12);
    let rate = k["auto_rate_amount"].as_f64().unwrap();
    assert!((rate - 1_175_703.0 / 1_796_857.0).abs() < 1e-12);
    assert_eq!(k["by_user"][0]["user"], "compta");
    assert_eq!(k["by_user"][0]["decisions"], 2);

    // Undo the hand match: F231234 open again, every other figure as before it.
    ok(&[
        "cash",
        "decide",
        &prarial,
        "--db",
        &db,
        "--undo",
        "--date",
        "2024-01-31",
    ]);
    let open: std::collections::BTreeMap<_, _> = open_amounts(&db).into_iter().collect();
    assert_eq!(open["F231234"], "3227.09");
    let q = json(&[
        "cash",
        "queue",
        "--db",
        &db,
        "--as-of",
        "2024-01-31",
        "--format",
        "json",
    ]);
    assert_eq!(q.as_array().unwrap().len(), 1);
    let k = json(&[
        "report",
        "cash",
        "--db",
        &db,
        "--as-of",
        "2024-01-31",
        "--format",
        "json",
    ]);
    assert_eq!(
        (k["manual_matched"].as_u64(), k["unapplied"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(k["by_user"][0]["undos"], 1);
    // Before the statement, the invoices were as imported.
    assert_eq!(before.len(), 11);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn statements_are_refused_whole_with_their_line() {
    let Some(data) = shared_data("bank_statements") else {
        return;
    };
    let dir = temp("refused");
    let db = ledger(&dir);
    for (file, expected) in [
        ("cfonb120/oca_pr138__test_cfonb_bad_decimal.txt", "line 1"),
        ("camt053/genkgo__camt053.v2.wrong.xml", "Stmt"),
    ] {
        let path = data.join("bank_statements").join(file);
        let out = arpilot(&["import", path.to_str().unwrap(), "--db", &db]);
        assert!(!out.status.success(), "{file}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{file}: {err}");
    }
    // A statement in another currency than the ledger's.
    let sek = data.join("bank_statements/camt054/tryton__camt.054.001.02.xml");
    let out = arpilot(&["import", sek.to_str().unwrap(), "--db", &db]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SEK") && err.contains("EUR"), "{err}");
    // Nothing entered the ledger.
    let q = json(&["cash", "queue", "--db", &db, "--format", "json"]);
    assert_eq!(q.as_array().unwrap().len(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Cash already in the ledger but left unapplied (a payment without an invoice) goes through the
/// same engine: `cash match` applies it to the customer's invoice of exactly that amount, and the
/// queue lists what it is not sure of.
#[test]
fn unapplied_payments_go_through_the_same_engine() {
    let dir = temp("unapplied");
    let set = dir.join("set");
    std::fs::create_dir_all(&set).unwrap();
    std::fs::write(set.join("customers.csv"), CUSTOMERS).unwrap();
    std::fs::write(set.join("invoices.csv"), INVOICES).unwrap();
    // Print pays 800.00 (PRI-2's amount) without naming it; Ditri pays 1 000.00, which fits none
    // of its invoices (3 000.00 and 5 000.00).
    std::fs::write(
        set.join("payments.csv"),
        "payment_id,customer_id,date,amount,invoice_id\nP-PRI,PRI,2024-01-20,800.00,\nP-DIT,DIT,2024-01-21,1000.00,\n",
    )
    .unwrap();
    let db = dir.join("ledger.db");
    let db = db.to_str().unwrap();
    ok(&["import", set.to_str().unwrap(), "--db", db]);
    let q = json(&[
        "cash",
        "queue",
        "--db",
        db,
        "--as-of",
        "2024-01-31",
        "--payments",
        "--format",
        "json",
    ]);
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 2);
    assert_eq!(
        (q[0]["receipt_id"].as_str(), q[0]["kind"].as_str()),
        (Some("P-PRI"), Some("payment"))
    );
    assert_eq!(
        (q[0]["rule"].as_str(), q[0]["confidence"].as_u64()),
        (Some("exact_amount"), Some(90))
    );
    assert_eq!(q[1]["rule"], "oldest_first");
    let out = ok(&["cash", "match", "--db", db, "--as-of", "2024-01-31"]);
    assert!(out.starts_with("1 receipts and payments applied"), "{out}");
    let open: std::collections::BTreeMap<_, _> = open_amounts(db).into_iter().collect();
    assert_eq!(open["PRI-2"], "0.00");
    assert_eq!(open["F230987"], "3000.00");
    let q = json(&[
        "cash",
        "queue",
        "--db",
        db,
        "--as-of",
        "2024-01-31",
        "--payments",
        "--format",
        "json",
    ]);
    assert_eq!(q.as_array().unwrap().len(), 1);
    // A person applies the rest: 1 000.00 on F230987, dated the decision's day.
    ok(&[
        "cash",
        "decide",
        "P-DIT",
        "--db",
        db,
        "--customer",
        "DIT",
        "--invoice",
        "F230987=1000,00",
        "--date",
        "2024-01-31",
    ]);
    let open: std::collections::BTreeMap<_, _> = open_amounts(db).into_iter().collect();
    assert_eq!(open["F230987"], "2000.00");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("-v").output().is_ok();
    if !found && std::env::var_os("CI").is_some() {
        panic!("{name} not found (poppler-utils, zbar-tools)");
    }
    found
}

/// `arpilot statement` (interfaces §4): the PDF's text holds the open invoices and the totals,
/// and its QR code decodes to the EPC payload of a transfer of the total, with our reference.
/// Ditri on 2024-01-31 after the bank statement: F231234 open 3 227.09, 37 days late (due
/// 2023-12-25), nothing unapplied; total due 3 227.09.
#[test]
fn the_statement_pdf_holds_the_figures_and_a_scannable_epc_code() {
    let Some(data) = shared_data("bank_statements") else {
        return;
    };
    if !tool("pdftotext") || !tool("zbarimg") {
        eprintln!("skipped: pdftotext or zbarimg not installed");
        return;
    }
    let dir = temp("statement");
    let db = ledger(&dir);
    let cfo = data.join("bank_statements/cfonb120/oca__cfonb_classic.cfo");
    ok(&["import", cfo.to_str().unwrap(), "--db", &db]);
    let pdf = dir.join("ditri.pdf");
    let out = arpilot(&[
        "statement",
        "DIT",
        "--db",
        &db,
        "--as-of",
        "2024-01-31",
        "--output",
        pdf.to_str().unwrap(),
        "--company",
        "Société Démo SAS",
        "--iban",
        "FR76 3000 6000 0112 3456 7890 189",
        "--bic",
        "BNPAFRPPXXX",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "Relevé de compte",
        "Ditri Camping Nord",
        "F231234 25/11/2023 25/12/2023 37 5 000,00 3 227,09",
        "Total dû 3 227,09 EUR",
        "Règlements non affectés 0,00 EUR",
        "IBAN FR76 3000 6000 0112 3456 7890 189",
        "Référence à rappeler : RF",
    ] {
        assert!(flat.contains(want), "{want:?} not in {flat}");
    }
    assert!(
        !flat.contains("F230987"),
        "a paid invoice is listed: {flat}"
    );
    let png = dir.join("page");
    let st = Command::new("pdftoppm")
        .args([
            "-r",
            "200",
            "-png",
            pdf.to_str().unwrap(),
            png.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let img = dir.join("page-1.png");
    let qr = Command::new("zbarimg")
        .args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable", "-Sbinary"])
        .arg(&img)
        .output()
        .unwrap();
    let payload = String::from_utf8(qr.stdout).unwrap();
    let rf = flat
        .split("Référence à rappeler : ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    assert_eq!(
        payload.trim_end(),
        format!(
            "BCD\n002\n1\nSCT\nBNPAFRPPXXX\nSociété Démo SAS\nFR7630006000011234567890189\nEUR3227.09\n\n{rf}"
        )
    );
    // ISO 11649 by hand: "CDIT" + "RF00" as digits is 12131829271500, mod 97 = 80, 98 − 80 = 18;
    // and 12131829271518 mod 97 = 1.
    assert_eq!(rf, "RF18CDIT");
    let _ = std::fs::remove_dir_all(&dir);
}
