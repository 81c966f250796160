//! Risk figures (kpis.md "Risk") on a hand-computed ledger, and their agreement with the report,
//! the customers kernel and the trend.

mod common;
use arpilot_core::customers::{RatingThresholds, customers};
use arpilot_core::ledger::{CustomerRec, DocKind, DocumentRec, Event};
use arpilot_core::report::{ReportParams, report};
use arpilot_core::risk::{late_customers, risk_at, risk_trend};
use arpilot_core::trend::{collection_rates_at, trend, trend_at};
use arpilot_core::{Selection, Snapshot};
use common::*;

fn customer_with_limit(mut l: L, id: &str, limit_units: i64) -> L {
    l.ev.push(Event::Customer(CustomerRec {
        id: id.into(),
        name: format!("Customer {id}"),
        credit_limit: Some(limit_units * 100),
        payment_terms_days: None,
        attrs: vec![],
    }));
    l
}

/// The worked example of kpis.md "Risk".
///
/// - A (limit 1 000): A1 1 500 issued 05-01, due 05-31, open — over its limit.
/// - B: B1 2 000 due 03-31 paid 05-20 (50 days late: rated D), B2 1 000 due 07-01 open.
/// - C (limit 500): C1 800 issued 04-01, due 05-01, in legal collection, open.
/// - E: E1 600 issued 05-15, due 06-14; 100 paid 06-12; a promise of 600 made 06-10 for 06-20
///   not kept.
/// - F: F1 1 000 due 06-10 paid 06-05; F2 400 due 06-20 paid 06-25.
/// - G: G1 300 issued 06-10, due 07-10, open.
fn ledger() -> Snapshot {
    let mut l = customer_with_limit(L::default(), "A", 1000);
    l = l.customer("B");
    l = customer_with_limit(l, "C", 500);
    let mut l = l
        .customer("E")
        .customer("F")
        .customer("G")
        .inv("A1", "A", "2024-05-01", "2024-05-31", 1500)
        .inv("B1", "B", "2024-03-01", "2024-03-31", 2000)
        .inv("B2", "B", "2024-06-01", "2024-07-01", 1000);
    l.ev.push(Event::Document(DocumentRec {
        due: Some(day("2024-05-01")),
        in_legal: true,
        ..DocumentRec::new("C1", "C", DocKind::Invoice, day("2024-04-01"), 80_000)
    }));
    l.inv("E1", "E", "2024-05-15", "2024-06-14", 600)
        .inv("F1", "F", "2024-05-20", "2024-06-10", 1000)
        .inv("F2", "F", "2024-06-01", "2024-06-20", 400)
        .inv("G1", "G", "2024-06-10", "2024-07-10", 300)
        .pay("PB1", "B", "2024-05-20", 2000, Some("B1"))
        .pay("PE1", "E", "2024-06-12", 100, Some("E1"))
        .pay("PF1", "F", "2024-06-05", 1000, Some("F1"))
        .pay("PF2", "F", "2024-06-25", 400, Some("F2"))
        .promise("E1", "2024-06-10", "2024-06-20", 600)
        .snapshot()
}

#[test]
fn risk_worked_example_at_june_30() {
    let s = ledger();
    let th = RatingThresholds::default();
    let p = &risk_at(&s, &Selection::all(), &[day("2024-06-30")], &th)[0];
    // Open: A1 1 500, B2 1 000, C1 800, E1 500, G1 300; overdue: A, C, E.
    assert_eq!(p.overdue_accounts, 3);
    assert_eq!(p.customers_with_balance, 5);
    // A over its limit, B rated D, C in legal and over its limit, E a broken promise.
    assert_eq!(p.at_risk, 4);
    assert_eq!(p.at_risk_share, Some(80.0));
    assert_eq!(p.at_risk_amount.to_string(), "3800.00");
    assert_eq!(
        (p.rating_d.count, p.rating_d.amount.to_string()),
        (1, "1000.00".into())
    );
    assert_eq!(
        (p.over_limit.count, p.over_limit.amount.to_string()),
        (2, "2300.00".into())
    );
    assert_eq!(
        (p.in_legal.count, p.in_legal.amount.to_string()),
        (1, "800.00".into())
    );
    assert_eq!(
        (p.broken_promise.count, p.broken_promise.amount.to_string()),
        (1, "500.00".into())
    );
    // Due in June: E1 (100 of 600 paid by 06-14), F1 (paid before its due date), F2 (late).
    let pt = &p.paid_on_time;
    assert_eq!(pt.month, "2024-06");
    assert_eq!((pt.due_count, pt.on_time_count), (3, 1));
    assert_eq!(pt.due_amount.to_string(), "2000.00");
    assert_eq!(pt.paid_by_due_amount.to_string(), "1100.00");
    assert_eq!(pt.count_share, Some(33.33));
    assert_eq!(pt.amount_share, Some(55.0));
    // (1 500 × 60 + 1 000 × 29 + 800 × 90 + 500 × 46 + 300 × 20) / 4 100 = 220 000 / 4 100.
    assert_eq!(p.average_age, Some(53.66));
}

#[test]
fn risk_at_the_previous_month_end() {
    let s = ledger();
    let th = RatingThresholds::default();
    let p = &risk_at(&s, &Selection::all(), &[day("2024-05-31")], &th)[0];
    // Open: A1 1 500 (due that day: not overdue), C1 800, E1 600, F1 1 000.
    assert_eq!(p.overdue_accounts, 1);
    assert_eq!(p.customers_with_balance, 4);
    // B is rated D but owes nothing; E's promise is not due yet.
    assert_eq!(p.at_risk, 2);
    assert_eq!(p.at_risk_share, Some(50.0));
    assert_eq!(p.at_risk_amount.to_string(), "2300.00");
    assert_eq!(p.rating_d.count, 0);
    assert_eq!(p.broken_promise.count, 0);
    // Due in May: C1 and A1, neither paid.
    assert_eq!(
        (p.paid_on_time.due_count, p.paid_on_time.on_time_count),
        (2, 0)
    );
    assert_eq!(p.paid_on_time.count_share, Some(0.0));
    // (1 500 × 30 + 800 × 60 + 600 × 16 + 1 000 × 11) / 3 900 = 113 600 / 3 900.
    assert_eq!(p.average_age, Some(29.13));
}

#[test]
fn the_trend_holds_the_same_points_as_each_date_alone() {
    let s = ledger();
    let th = RatingThresholds::default();
    let sel = Selection::all();
    let tr = risk_trend(&s, &sel, day("2024-06-30"), 12, &th);
    assert_eq!(tr.len(), 12);
    assert_eq!(tr[0].date, day("2023-07-31"));
    for p in &tr {
        assert_eq!(p, &risk_at(&s, &sel, &[p.date], &th)[0]);
    }
    // A date within a month: the invoices due from the 1st to that date.
    let mid = &risk_at(&s, &sel, &[day("2024-06-15")], &th)[0];
    assert_eq!(
        (mid.paid_on_time.due_count, mid.paid_on_time.on_time_count),
        (2, 1)
    );
    // E1's promise falls due on 06-20: not broken yet at 06-15.
    assert_eq!(mid.broken_promise.count, 0);
}

#[test]
fn risk_agrees_with_the_customers_page() {
    let s = ledger();
    let th = RatingThresholds::default();
    let sel = Selection::all();
    let d = day("2024-06-30");
    let rows = customers(&s, &sel, d, &th);
    let owing = |r: &&arpilot_core::customers::CustomerRow| r.open_invoices.minor > 0;
    let p = &risk_at(&s, &sel, &[d], &th)[0];
    assert_eq!(
        p.rating_d.count,
        rows.iter()
            .filter(owing)
            .filter(|r| r.rating == Some("D"))
            .count() as u64
    );
    assert_eq!(
        p.over_limit.count,
        rows.iter().filter(owing).filter(|r| r.over_limit).count() as u64
    );
    assert_eq!(
        p.overdue_accounts,
        rows.iter().filter(|r| r.overdue.minor > 0).count() as u64
    );
}

#[test]
fn risk_follows_the_selection() {
    let s = ledger();
    let th = RatingThresholds::default();
    let c = s.customers.ids.find("C").unwrap();
    let only_c = Selection::of_customers(&s, |x| x == c);
    let p = &risk_at(&s, &only_c, &[day("2024-06-30")], &th)[0];
    assert_eq!((p.customers_with_balance, p.at_risk), (1, 1));
    assert_eq!(p.at_risk_amount.to_string(), "800.00");
    assert_eq!(p.average_age, Some(90.0));
    assert_eq!(p.paid_on_time.due_count, 0);
    assert_eq!(p.paid_on_time.count_share, None);
}

#[test]
fn latest_payers_by_overdue_amount() {
    let s = ledger();
    let late = late_customers(&s, &Selection::all(), day("2024-06-30"), 20);
    let v: Vec<(&str, String, f64, i32)> = late
        .iter()
        .map(|c| {
            (
                c.customer_id.as_str(),
                c.overdue.to_string(),
                c.days_late,
                c.oldest_days,
            )
        })
        .collect();
    assert_eq!(
        v,
        vec![
            ("A", "1500.00".into(), 30.0, 30),
            ("C", "800.00".into(), 60.0, 60),
            ("E", "500.00".into(), 16.0, 16),
        ]
    );
    assert_eq!(
        late_customers(&s, &Selection::all(), day("2024-06-30"), 1).len(),
        1
    );
}

#[test]
fn trend_at_and_collection_rates_equal_the_report() {
    let s = ledger();
    let sel = Selection::all();
    let dates = [
        day("2024-04-30"),
        day("2024-05-31"),
        day("2024-06-15"),
        day("2024-06-30"),
    ];
    let t = trend_at(&s, &sel, &dates);
    let rates = collection_rates_at(&s, &sel, &dates);
    for (k, &d) in dates.iter().enumerate() {
        let r = report(&s, &sel, &ReportParams::new(d)).unwrap();
        assert_eq!(t[k].balance, r.totals.balance);
        assert_eq!(t[k].overdue, r.totals.overdue);
        assert_eq!(t[k].dso_countback, r.dso.countback);
        assert_eq!(t[k].dbt, r.dbt);
        assert_eq!(t[k].cei_month, r.cei.month);
        assert_eq!(rates[k], r.collection_rate.rate);
    }
    // June: to collect E1 600, F1 1 000, F2 400 and A1 1 500 and C1 800 open at the start;
    // collected 100 + 1 000 + 400 = 1 500 of 4 300.
    assert_eq!(rates[3], Some(34.88));
    assert_eq!(
        trend(&s, &sel, day("2024-06-30"), 3),
        trend_at(
            &s,
            &sel,
            &[day("2024-04-30"), day("2024-05-31"), day("2024-06-30")]
        )
    );
}
