//! The IBM Watson "Accounts Receivable" sample: 2,466 settled invoices with the days late the
//! file itself states. Converted to the CSV ledger set (one payment per invoice on its settled
//! date), the engine must find the same days late for every invoice and a zero balance once the
//! last invoice is settled.

mod common;
use arpilot_core::invoices::invoices;
use arpilot_core::report::{ReportParams, report};
use arpilot_core::{Day, Selection};
use common::shared_data;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

fn mdy(s: &str) -> Day {
    let p: Vec<u32> = s.split('/').map(|x| x.parse().unwrap()).collect();
    Day::from_ymd(p[2] as i32, p[0], p[1]).unwrap()
}

struct Row {
    invoice: String,
    days_late: i32,
}

/// Writes the sample as a CSV ledger set; returns each invoice's stated days late.
fn convert(src: &std::path::Path, out: &std::path::Path) -> Vec<Row> {
    let mut r = csv::Reader::from_path(src).unwrap();
    let h: HashMap<String, usize> = r
        .headers()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    let (mut customers, mut inv, mut pay) = (String::new(), String::new(), String::new());
    customers.push_str("customer_id,name,region,paperless\n");
    inv.push_str("document_id,customer_id,issue_date,due_date,amount,disputed\n");
    pay.push_str("payment_id,customer_id,date,amount,invoice_id\n");
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let f = |n: &str| rec.get(h[n]).unwrap().trim().to_string();
        let (cust, num) = (f("customerID"), f("invoiceNumber"));
        if seen.insert(cust.clone()) {
            writeln!(
                customers,
                "{cust},{cust},{},{}",
                f("countryCode"),
                f("PaperlessBill")
            )
            .unwrap();
        }
        writeln!(
            inv,
            "{num},{cust},{},{},{},{}",
            mdy(&f("InvoiceDate")),
            mdy(&f("DueDate")),
            f("InvoiceAmount"),
            f("Disputed") == "Yes"
        )
        .unwrap();
        writeln!(
            pay,
            "P{num},{cust},{},{},{num}",
            mdy(&f("SettledDate")),
            f("InvoiceAmount")
        )
        .unwrap();
        rows.push(Row {
            invoice: num,
            days_late: f("DaysLate").parse().unwrap(),
        });
    }
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join("customers.csv"), customers).unwrap();
    std::fs::write(out.join("invoices.csv"), inv).unwrap();
    std::fs::write(out.join("payments.csv"), pay).unwrap();
    rows
}

#[test]
fn days_late_match_the_sample_and_the_ledger_ends_at_zero() {
    let Some(data) = shared_data("ibm_watson_accounts_receivable") else {
        return;
    };
    let src = data.join("ibm_watson_accounts_receivable/WA_Fn-UseC_-Accounts-Receivable.csv");
    let out = std::env::temp_dir().join(format!("arpilot-ibm-{}", std::process::id()));
    let expected = convert(&src, &out);
    assert_eq!(expected.len(), 2466);
    let snap = arpilot_ingest::ledger_csv::load_dir(&out).unwrap();
    let last = Day::parse_iso("2014-01-09").unwrap();
    let got: HashMap<String, Option<i32>> = invoices(&snap, &Selection::all(), last)
        .into_iter()
        .map(|r| (r.document_id, r.days_late))
        .collect();
    assert_eq!(got.len(), 2466);
    for e in &expected {
        assert_eq!(got[&e.invoice], Some(e.days_late), "invoice {}", e.invoice);
    }
    let r = report(&snap, &Selection::all(), &ReportParams::new(last)).unwrap();
    assert_eq!(r.totals.balance.minor, 0);
    assert_eq!(r.totals.open_invoices.minor, 0);
    // The day before, the last invoice (settled 2014-01-09) is still open.
    let r = report(
        &snap,
        &Selection::all(),
        &ReportParams::new(last.add_days(-1)),
    )
    .unwrap();
    assert!(r.totals.balance.minor > 0);
    // 561 invoices were disputed in the sample; as of mid-2013, the open disputed ones show.
    let mid = report(
        &snap,
        &Selection::all(),
        &ReportParams::new(Day::parse_iso("2013-06-30").unwrap()),
    )
    .unwrap();
    assert!(
        mid.totals.disputed.minor > 0
            && mid.totals.disputed.minor <= mid.totals.open_invoices.minor
    );
    std::fs::remove_dir_all(&out).ok();
}

/// Back-test of the collections forecast on the sample, month ends 2012-06-30 … 2013-10-31:
/// arpilot's forecast of next month's cash must at least halve the naive forecast's error.
#[test]
fn forecast_backtest_beats_the_naive_forecast() {
    use arpilot_core::forecast::{Method, backtest};
    let Some(data) = shared_data("ibm_watson_accounts_receivable") else {
        return;
    };
    let src = data.join("ibm_watson_accounts_receivable/WA_Fn-UseC_-Accounts-Receivable.csv");
    let out = std::env::temp_dir().join(format!("arpilot-ibm-bt-{}", std::process::id()));
    convert(&src, &out);
    let snap = arpilot_ingest::ledger_csv::load_dir(&out).unwrap();
    let bt = backtest(
        &snap,
        &Selection::all(),
        Day::parse_iso("2012-06-30").unwrap(),
        Day::parse_iso("2013-10-31").unwrap(),
    );
    std::fs::remove_dir_all(&out).ok();
    assert_eq!(bt.month_ends.len(), 17);
    let score = |m: Method| bt.methods.iter().find(|s| s.method == m).unwrap().clone();
    let (ours, naive) = (score(Method::Auto), score(Method::DueDate));
    eprintln!("{}", serde_json::to_string(&bt.methods).unwrap());
    let m1 = |s: &arpilot_core::forecast::MethodScore| s.wape[0].unwrap();
    assert!(
        m1(&ours) <= m1(&naive) / 2.0,
        "M+1 WAPE {} vs naive {}",
        m1(&ours),
        m1(&naive)
    );
    // Every month end's actual cash is the payments of the invoices then open: the sample is
    // fully settled, so M+1 … M+3 add up to what was open (less any credit).
    assert!(bt.detail.iter().all(|m| m.actual[0].minor > 0));
}

/// The sample read through `docs/examples/ibm-mapping.toml` gives the same reports as the
/// converted CSV ledger set.
#[test]
fn the_mapping_file_gives_the_same_report_as_the_csv_set() {
    use arpilot_ingest::mapped::{Mapping, load};
    let Some(data) = shared_data("ibm_watson_accounts_receivable") else {
        return;
    };
    let src = data.join("ibm_watson_accounts_receivable/WA_Fn-UseC_-Accounts-Receivable.csv");
    let out = std::env::temp_dir().join(format!("arpilot-ibm-map-{}", std::process::id()));
    convert(&src, &out);
    let via_set = arpilot_ingest::ledger_csv::load_dir(&out).unwrap();
    std::fs::remove_dir_all(&out).ok();
    let mapping = Mapping::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/ibm-mapping.toml"),
    )
    .unwrap();
    let via_map = load(&src, &mapping).unwrap();
    assert_eq!(via_map.invoice_count(), 2466);
    for d in ["2012-03-31", "2012-12-31", "2013-06-30", "2013-12-31"] {
        let p = ReportParams::new(Day::parse_iso(d).unwrap());
        let mut a = serde_json::to_value(report(&via_set, &Selection::all(), &p).unwrap()).unwrap();
        let b = serde_json::to_value(report(&via_map, &Selection::all(), &p).unwrap()).unwrap();
        // The mapping states the sample's currency; the converted set defaults to EUR.
        a["currency"] = "USD".into();
        assert_eq!(a, b, "as of {d}");
    }
}
