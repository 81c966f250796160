//! A customer's file on the small hand-made ledger: its payments with what they settled, its
//! history latest first, its open invoices; as of a past date; and within a narrower selection.

use arpilot_app::customer::{Entry, file};
use arpilot_core::customers::RatingThresholds;
use arpilot_core::{Day, Filter, Selection};
use std::path::PathBuf;

fn d(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

#[test]
fn a_customer_file_holds_its_payments_history_and_open_invoices() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../arpilot-cli/tests/fixtures/small");
    let snap = arpilot_ingest::ledger_csv::load_dir(&dir).unwrap();
    let th = RatingThresholds::default();
    let all = Selection::all();

    let f = file(&snap, &all, "C2", d("2024-03-31"), &th, 20).unwrap();
    assert_eq!(f.customer.customer_id, "C2");
    // F3 2 500.00 − P2 1 000.00; F4 640.50 − P3 640.50; P3's 59.50 unapplied.
    assert_eq!(f.customer.balance.to_string(), "1440.50");
    let pays: Vec<String> = f
        .payments
        .iter()
        .map(|p| {
            let settled: Vec<String> = p.settled.iter().map(|(i, m)| format!("{i} {m}")).collect();
            format!(
                "{} {} {}: {}",
                p.payment_id,
                p.date,
                p.amount,
                settled.join(", ")
            )
        })
        .collect();
    assert_eq!(
        pays,
        [
            "P3 2024-03-30 700.00: F4 640.50",
            "P2 2024-03-28 1000.00: F3 1000.00"
        ]
    );
    assert_eq!(
        f.history,
        [
            Entry::Action {
                date: d("2024-03-12"),
                action: "email".into(),
                agent: "Hugo".into(),
                invoice_id: Some("F3".into()),
                outcome: None,
                note: None,
            },
            Entry::Dispute {
                date: d("2024-03-10"),
                invoice_id: "F4".into(),
                reason: "quantité".into(),
                resolved_on: Some(d("2024-03-20")),
                owner: None,
                outcome: None,
                comment: None,
            },
            // F3 is disputed in invoices.csv: a dispute from its issue date.
            Entry::Dispute {
                date: d("2024-02-20"),
                invoice_id: "F3".into(),
                reason: "prix".into(),
                resolved_on: None,
                owner: None,
                outcome: None,
                comment: None,
            },
        ]
    );
    let open: Vec<(&str, String)> = f
        .open_invoices
        .iter()
        .map(|i| (i.document_id.as_str(), i.open_amount.to_string()))
        .collect();
    assert_eq!(open, [("F3", "1500.00".into())]);

    // As of 2024-03-15: no payment yet, the dispute still open, both invoices open.
    let f = file(&snap, &all, "C2", d("2024-03-15"), &th, 20).unwrap();
    assert!(f.payments.is_empty());
    assert!(matches!(
        &f.history[0],
        Entry::Action { date, .. } if *date == d("2024-03-12")
    ));
    assert!(matches!(
        &f.history[1],
        Entry::Dispute {
            resolved_on: None,
            ..
        }
    ));
    assert_eq!(f.open_invoices.len(), 2);

    // A selection without the customer gives nothing; one limited to a division shows only its
    // documents: C2's invoices are all division A, so under division B its file has neither
    // invoices nor the history about them.
    let nord = Selection::resolve(&snap, &[Filter::parse("region=Nord").unwrap()]).unwrap();
    assert!(file(&snap, &nord, "C2", d("2024-03-31"), &th, 20).is_none());
    let a = Selection::resolve(&snap, &[Filter::parse("division=A").unwrap()]).unwrap();
    let f = file(&snap, &a, "C2", d("2024-03-31"), &th, 20).unwrap();
    assert_eq!(f.history.len(), 3);
    assert_eq!(f.open_invoices.len(), 1);
    let b = Selection::resolve(&snap, &[Filter::parse("division=B").unwrap()]).unwrap();
    let f = file(&snap, &b, "C2", d("2024-03-31"), &th, 20).unwrap();
    assert!(f.history.is_empty() && f.open_invoices.is_empty() && f.payments.is_empty());
}
