//! Each forecast rule on a small ledger (spec §8).

mod common;
use arpilot_core::forecast::{Method, forecast};
use arpilot_core::{Selection, Snapshot};
use common::*;

/// Expected amounts per future period, as strings: rest_of_month, M+1, M+2, M+3, later.
fn future(s: &Snapshot, as_of: &str, m: Method) -> Vec<String> {
    forecast(s, &Selection::all(), day(as_of), m, 3)
        .future
        .iter()
        .map(|p| format!("{}={}", p.period, p.expected))
        .collect()
}

#[test]
fn a_promise_moves_its_amount_to_the_promised_month() {
    let s = L::default()
        .customer("A")
        .inv("I1", "A", "2024-02-01", "2024-03-02", 1000)
        .promise("I1", "2024-03-10", "2024-05-20", 600)
        .snapshot();
    for m in [Method::MeanDelay, Method::Distribution, Method::Auto] {
        // 600 in May; the other 400, due 2 March and without any history, is expected now.
        assert_eq!(
            future(&s, "2024-03-15", m),
            [
                "rest_of_month=400.00",
                "2024-04=0.00",
                "2024-05=600.00",
                "2024-06=0.00",
                "later=0.00"
            ],
            "{m:?}"
        );
    }
    // The naive forecast ignores promises.
    assert_eq!(
        future(&s, "2024-03-15", Method::DueDate)[0],
        "rest_of_month=1000.00"
    );
    // Once the promise has expired, it no longer counts.
    assert_eq!(
        future(&s, "2024-05-21", Method::MeanDelay)[0],
        "rest_of_month=1000.00"
    );
}

#[test]
fn a_disputed_invoice_follows_its_reasons_resolution_time() {
    let s = L::default()
        .customer("A")
        .inv("OLD", "A", "2023-11-01", "2023-12-01", 100)
        .dispute("OLD", "2023-12-01", Some("2024-01-15"), "prix")
        .inv("I2", "A", "2024-02-15", "2024-03-16", 500)
        .dispute("I2", "2024-03-01", None, "prix")
        .snapshot();
    // "prix" disputes took 45 days to resolve: 1 March + 45 days = 15 April.
    let f = future(&s, "2024-03-15", Method::MeanDelay);
    assert_eq!(f[1], "2024-04=500.00");
    // A reason without history takes the average of all reasons.
    let s2 = L::default()
        .customer("A")
        .inv("OLD", "A", "2023-11-01", "2023-12-01", 100)
        .dispute("OLD", "2023-12-01", Some("2024-01-15"), "prix")
        .inv("I2", "A", "2024-02-15", "2024-03-16", 500)
        .dispute("I2", "2024-03-01", None, "prix")
        .inv("I3", "A", "2024-02-20", "2024-03-21", 70)
        .dispute("I3", "2024-03-05", None, "quality")
        .snapshot();
    let f = future(&s2, "2024-03-15", Method::MeanDelay);
    assert_eq!(f[1], "2024-04=570.00");
}

#[test]
fn an_expected_date_already_past_lands_in_the_current_month() {
    // A pays 10 days late (three settled invoices); I9 was due 20 February: expected 1 March,
    // already past on 15 March, so it is expected in the rest of March.
    let s = L::default()
        .customer("A")
        .inv("H1", "A", "2023-10-01", "2023-10-31", 100)
        .pay("P1", "A", "2023-11-10", 100, Some("H1"))
        .inv("H2", "A", "2023-11-01", "2023-12-01", 100)
        .pay("P2", "A", "2023-12-11", 100, Some("H2"))
        .inv("H3", "A", "2023-12-01", "2023-12-31", 100)
        .pay("P3", "A", "2024-01-10", 100, Some("H3"))
        .inv("I9", "A", "2024-01-21", "2024-02-20", 300)
        .inv("I10", "A", "2024-03-01", "2024-03-31", 200)
        .snapshot();
    let f = future(&s, "2024-03-15", Method::MeanDelay);
    // I10: 31 March + 10 days = 10 April.
    assert_eq!(f[..2], ["rest_of_month=300.00", "2024-04=200.00"]);
}

#[test]
fn a_customer_without_history_uses_the_portfolio_behaviour() {
    // A has paid three invoices 40 days late; B has no history. B's invoice due 20 March is
    // expected 40 days later, 29 April.
    let s = L::default()
        .customer("A")
        .customer("B")
        .inv("H1", "A", "2023-10-01", "2023-10-31", 100)
        .pay("P1", "A", "2023-12-10", 100, Some("H1"))
        .inv("H2", "A", "2023-11-01", "2023-12-01", 100)
        .pay("P2", "A", "2024-01-10", 100, Some("H2"))
        .inv("H3", "A", "2023-12-01", "2023-12-31", 100)
        .pay("P3", "A", "2024-02-09", 100, Some("H3"))
        .inv("B1", "B", "2024-02-19", "2024-03-20", 250)
        .snapshot();
    for m in [Method::MeanDelay, Method::Distribution] {
        let f = future(&s, "2024-03-15", m);
        assert_eq!(f[..2], ["rest_of_month=0.00", "2024-04=250.00"], "{m:?}");
    }
    // The naive forecast expects it on its due date.
    assert_eq!(
        future(&s, "2024-03-15", Method::DueDate)[0],
        "rest_of_month=250.00"
    );
}

#[test]
fn the_distribution_spreads_and_conditions_on_being_unpaid() {
    // A paid two invoices 5 days late and two 50 days late (paid on the same days, so that
    // recency gives both habits the same weight). A new invoice due 20 March is half expected on
    // 25 March, half on 9 May; once it is 10 days late (30 March), only the 50-day habit remains
    // possible: all of it in May.
    let l = L::default()
        .customer("A")
        .inv("H0", "A", "2023-12-06", "2024-01-05", 100)
        .pay("P0", "A", "2024-01-10", 100, Some("H0"))
        .inv("H1", "A", "2023-10-22", "2023-11-21", 100)
        .pay("P1", "A", "2024-01-10", 100, Some("H1"))
        .inv("H2", "A", "2023-12-07", "2024-01-06", 100)
        .pay("P2", "A", "2024-01-11", 100, Some("H2"))
        .inv("H3", "A", "2023-10-23", "2023-11-22", 100)
        .pay("P3", "A", "2024-01-11", 100, Some("H3"));
    let s = l.inv("N", "A", "2024-02-19", "2024-03-20", 400).snapshot();
    let f = future(&s, "2024-03-15", Method::Distribution);
    assert_eq!(f[0], "rest_of_month=200.00");
    assert_eq!(f[2], "2024-05=200.00");
    let f = future(&s, "2024-03-30", Method::Distribution);
    assert_eq!(
        f[..3],
        ["rest_of_month=0.00", "2024-04=0.00", "2024-05=400.00"]
    );
}
