//! Cohorts, team KPIs, rating history and broken promises on a small ledger computed by hand.

use arpilot_core::analytics::{broken_promises, cohorts, rating_history, team};
use arpilot_core::customers::RatingThresholds;
use arpilot_core::ledger::*;
use arpilot_core::report::ReportParams;
use arpilot_core::{Currency, Day, Selection, Snapshot};

fn d(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

fn customer(id: &str, collector: &str) -> Event {
    Event::Customer(CustomerRec {
        id: id.into(),
        name: format!("Client {id}"),
        credit_limit: None,
        payment_terms_days: Some(30),
        attrs: vec![("collector".into(), collector.into())],
    })
}

fn doc(id: &str, c: &str, kind: DocKind, issue: &str, amount: i64, orig: Option<&str>) -> Event {
    Event::Document(DocumentRec {
        original_invoice_id: orig.map(Into::into),
        ..DocumentRec::new(id, c, kind, d(issue), amount)
    })
}

fn pay(id: &str, c: &str, date: &str, amount: i64, inv: &str) -> Event {
    Event::Payment(PaymentRec {
        id: id.into(),
        customer_id: c.into(),
        date: d(date),
        amount,
        currency: None,
        invoice_id: Some(inv.into()),
        reference: None,
    })
}

fn action(c: &str, date: &str, kind: &str) -> Event {
    Event::Action(ActionRec {
        customer_id: c.into(),
        date: d(date),
        kind: kind.into(),
        invoice_id: None,
        agent: None,
        note: None,
        outcome: None,
    })
}

/// Léa follows A and B, Marc follows C. Amounts in euros (×100 below).
fn ledger() -> Snapshot {
    use DocKind::*;
    Snapshot::build(
        Currency::EUR,
        vec![
            customer("A", "Léa"),
            customer("B", "Léa"),
            customer("C", "Marc"),
            doc("I1", "A", Invoice, "2024-01-10", 100_000, None), // due 02-09
            doc("I2", "A", Invoice, "2024-01-20", 50_000, None),  // due 02-19
            doc("I3", "B", Invoice, "2024-02-05", 100_000, None), // due 03-06
            doc("I4", "C", Invoice, "2024-02-15", 30_000, None),  // due 03-16
            pay("PA1", "A", "2024-01-25", 60_000, "I1"),
            pay("PA2", "A", "2024-03-01", 40_000, "I1"),
            pay("PA3", "A", "2024-04-15", 50_000, "I2"),
            doc("CN1", "B", CreditNote, "2024-02-10", 20_000, Some("I3")),
            pay("PB1", "B", "2024-03-10", 80_000, "I3"),
            action("A", "2024-02-20", "call"),
            action("A", "2024-03-05", "call"),
            action("B", "2024-03-12", "email"),
            action("C", "2024-03-20", "call"),
            Event::Dispute(DisputeRec {
                invoice_id: "I2".into(),
                opened_on: d("2024-02-25"),
                resolved_on: Some(d("2024-03-15")),
                reason: Some("prix".into()),
                amount: None,
                owner: None,
            }),
            Event::Dispute(DisputeRec {
                invoice_id: "I4".into(),
                opened_on: d("2024-03-20"),
                resolved_on: None,
                reason: Some("livraison".into()),
                amount: None,
                owner: None,
            }),
            Event::Promise(PromiseRec {
                invoice_id: "I1".into(),
                promised_on: d("2024-02-15"),
                due_on: d("2024-03-01"),
                amount: 40_000,
            }),
            Event::Promise(PromiseRec {
                invoice_id: "I2".into(),
                promised_on: d("2024-02-20"),
                due_on: d("2024-03-10"),
                amount: 50_000,
            }),
        ],
    )
    .unwrap()
}

#[test]
fn cohorts_measure_cash_within_30_60_90_120_days_of_issue() {
    let s = ledger();
    let c = cohorts(&s, &Selection::all(), d("2024-06-30"), 6);
    assert_eq!(c.len(), 6);
    // January: I1 (1 000, 01-10) and I2 (500, 01-20). Within 30 days only PA1 (600); within 60,
    // PA2 too (03-01 ≤ 03-10); within 90, PA3 (04-15 ≤ 04-19).
    assert_eq!(c[0].month, "2024-01");
    assert_eq!(c[0].invoices, 2);
    assert_eq!(c[0].amount.minor, 150_000);
    assert_eq!(
        c[0].collected_pct,
        [Some(40.0), Some(66.67), Some(100.0), Some(100.0)]
    );
    // February: I3 (1 000) and I4 (300). The credit note is not cash; PB1 (800, 03-10) comes 34
    // days after I3's issue. I4 is still open.
    assert_eq!(c[1].month, "2024-02");
    assert_eq!(c[1].amount.minor, 130_000);
    assert_eq!(
        c[1].collected_pct,
        [Some(0.0), Some(61.54), Some(61.54), Some(61.54)]
    );
    assert_eq!(c[1].open.minor, 30_000);
    assert_eq!(c[2].invoices, 0);
    assert_eq!(c[2].collected_pct, [None; 4]);
    // As of 2024-03-31, February's invoices are not yet 60 days old at the month's end.
    let early = cohorts(&s, &Selection::all(), d("2024-03-31"), 3);
    assert_eq!(early[1].collected_pct, [Some(0.0), None, None, None]);
}

#[test]
fn team_kpis_per_collector() {
    let s = ledger();
    let rows = team(&s, &Selection::all(), &ReportParams::new(d("2024-03-31"))).unwrap();
    assert_eq!(rows.len(), 2);
    let lea = &rows[0];
    assert_eq!(lea.collector, "Léa");
    assert_eq!(lea.customers, 2);
    // I2 is open (500) and overdue; I1 and I3 are settled.
    assert_eq!(lea.balance.minor, 50_000);
    assert_eq!(lea.overdue.minor, 50_000);
    // March: to collect I1 400 + I2 500 + I3 800; collected PA2 400 + PB1 800.
    assert_eq!(lea.to_collect.minor, 170_000);
    assert_eq!(lea.collected.minor, 120_000);
    assert_eq!(lea.remaining.minor, 50_000);
    assert_eq!(lea.collection_rate, Some(70.59));
    // I1 settled 03-01 (51 days after issue), I3 on 03-10 (34 days), 1 000 each.
    assert_eq!(lea.days_to_collect, Some(42.5));
    assert_eq!(lea.disputes_resolved_90_days, 1);
    assert_eq!(lea.disputes_open, 0);
    assert_eq!(
        lea.actions_month
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        vec![("call", 1), ("email", 1)]
    );
    let marc = &rows[1];
    assert_eq!(marc.collector, "Marc");
    assert_eq!(marc.balance.minor, 30_000);
    assert_eq!(marc.to_collect.minor, 30_000);
    assert_eq!(marc.collection_rate, Some(0.0));
    assert_eq!(marc.days_to_collect, None);
    assert_eq!(marc.disputes_open, 1);
}

#[test]
fn rating_history_follows_the_month_ends() {
    let s = ledger();
    let h = rating_history(
        &s,
        &Selection::all(),
        "A",
        d("2024-03-31"),
        2,
        &RatingThresholds::default(),
    )
    .unwrap();
    let dates: Vec<String> = h.iter().map(|p| p.date.to_string()).collect();
    assert_eq!(dates, ["2024-01-31", "2024-02-29", "2024-03-31"]);
    // Nothing of A's was settled before March; I1 was settled 21 days after its due date.
    assert_eq!(h[0].rating, None);
    assert_eq!(h[1].rating, None);
    assert_eq!(h[2].avg_days_late, Some(21.0));
    assert_eq!(h[2].rating, Some("C"));
    assert!(
        rating_history(
            &s,
            &Selection::all(),
            "Z",
            d("2024-03-31"),
            2,
            &RatingThresholds::default()
        )
        .is_none()
    );
}

#[test]
fn broken_promises_are_the_ones_not_kept() {
    let s = ledger();
    let b = broken_promises(&s, &Selection::all(), d("2024-03-31"));
    // I1's promise of 400 by 03-01 was kept (PA2 on 03-01); I2's 500 by 03-10 was not.
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].document_id, "I2");
    assert_eq!(b[0].due_on, d("2024-03-10"));
    assert_eq!(b[0].paid_by_due.minor, 0);
}

#[test]
fn dispute_promise_and_provision_figures() {
    use arpilot_core::report::report;
    let s = ledger();
    let mut p = ReportParams::new(d("2024-03-31"));
    p.provisions.buckets = vec![0, 1_000, 2_500, 5_000, 7_500, 10_000];
    p.provisions.disputed = Some(5_000);
    let r = report(&s, &Selection::all(), &p).unwrap();
    // Open on 03-31: I2 (500, due 02-19, 41 days late) and I4 (300, due 03-16, disputed since
    // 03-20). I2's dispute ran from 02-25 to 03-15: 19 days.
    let dsp = &r.disputes;
    assert_eq!((dsp.open_count, dsp.open_amount.minor), (1, 30_000));
    assert_eq!(dsp.by_reason.len(), 1);
    assert_eq!(dsp.by_reason[0].reason, "livraison");
    assert_eq!((dsp.opened_90_days, dsp.resolved_90_days), (2, 1));
    assert_eq!(dsp.resolution_rate_90_days, Some(50.0));
    assert_eq!(dsp.avg_resolution_days_90_days, Some(19.0));
    let std = r.dso.standard.unwrap();
    let expected = std * 30_000.0 / r.totals.balance.minor as f64;
    assert!((dsp.dispute_dso.unwrap() - expected).abs() < 0.01);
    // I1's promise (400 by 03-01) was kept, I2's (500 by 03-10) was not; none runs on 03-31.
    let pr = &r.promises;
    assert_eq!((pr.due_90_days, pr.kept_90_days), (2, 1));
    assert_eq!(pr.kept_rate_90_days, Some(50.0));
    assert_eq!((pr.open_count, pr.open_amount.minor), (0, 0));
    // Provisions: I2 in 31–60 days at 25 % = 125.00; I4 disputed at its own 50 % = 150.00.
    assert_eq!(r.provisions.total.minor, 27_500);
}
