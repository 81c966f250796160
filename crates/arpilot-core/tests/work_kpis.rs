//! The work KPIs on a hand-computed ledger (docs/kpis.md, "Work KPIs"): June 2024, 30 days.

mod common;
use arpilot_core::ledger::*;
use arpilot_core::select::Selection;
use arpilot_core::work::{DisputeReasonRow, work};
use common::{L, day};

fn action(cust: &str, date: &str, kind: &str, outcome: Option<&str>) -> Event {
    Event::Action(ActionRec {
        customer_id: cust.into(),
        date: day(date),
        kind: kind.into(),
        invoice_id: None,
        agent: None,
        note: None,
        outcome: outcome.map(Into::into),
    })
}

/// Léa follows A and B, Marc follows C.
/// - A1 1 000 due 05-31, A2 500 due 06-09; B1 2 000 due 05-01; C1 800 due 06-14.
/// - A: call 06-05 (reached), e-mail 06-12 (no answer); B: call 05-20 (reached); C: call 06-20
///   (promise), note 06-21.
/// - Promises: A1 1 000 on 06-05 for 06-15, unpaid (broken); C1 800 on 06-20 for 06-25, paid
///   06-24 (kept). A pays 200 on A1 on 06-28.
/// - Disputes: A2 "prix" 06-12 → 06-22 (10 days); B1 "livraison" since 05-15.
fn ledger() -> L {
    let mut l = L::default()
        .customer_attrs("A", &[("collector", "Léa")])
        .customer_attrs("B", &[("collector", "Léa")])
        .customer_attrs("C", &[("collector", "Marc")])
        .inv("A1", "A", "2024-05-01", "2024-05-31", 1_000)
        .inv("A2", "A", "2024-05-10", "2024-06-09", 500)
        .inv("B1", "B", "2024-04-01", "2024-05-01", 2_000)
        .inv("C1", "C", "2024-05-15", "2024-06-14", 800)
        .promise("A1", "2024-06-05", "2024-06-15", 1_000)
        .promise("C1", "2024-06-20", "2024-06-25", 800)
        .dispute("A2", "2024-06-12", Some("2024-06-22"), "prix")
        .dispute("B1", "2024-05-15", None, "livraison")
        .pay("PC", "C", "2024-06-24", 800, Some("C1"))
        .pay("PA", "A", "2024-06-28", 200, Some("A1"));
    for a in [
        action("A", "2024-06-05", "call", Some("reached")),
        action("A", "2024-06-12", "email", Some("no_answer")),
        action("B", "2024-05-20", "call", Some("reached")),
        action("C", "2024-06-20", "call", Some("promise")),
        action("C", "2024-06-21", "note", None),
    ] {
        l.ev.push(a);
    }
    l
}

fn eur(units: i64) -> String {
    format!("{units}.00")
}

#[test]
fn june_by_collector_and_in_total() {
    let snap = ledger().snapshot();
    let k = work(&snap, &Selection::all(), day("2024-06-30"), 30, 30);
    assert_eq!(k.from, day("2024-06-01"));
    let (lea, marc, t) = (&k.rows[0], &k.rows[1], &k.total);
    assert_eq!(lea.collector.as_deref(), Some("Léa"));
    assert_eq!(marc.collector.as_deref(), Some("Marc"));

    // Léa: two actions in June (B's call is in May), one contact out of two outcomes.
    assert_eq!(lea.actions, 2);
    assert_eq!(
        lea.actions_by_kind
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [("call", 1), ("email", 1)]
    );
    assert_eq!((lea.actions_per_day, lea.actions_per_week), (0.07, 0.47));
    assert_eq!(lea.contact_rate, Some(50.0));
    // A1's promise: obtained and broken in June.
    assert_eq!(
        (lea.promises_obtained, lea.promised_amount.to_string()),
        (1, eur(1_000))
    );
    assert_eq!((lea.promises_kept, lea.promises_broken), (0, 1));
    assert_eq!(lea.promises_broken_amount.to_string(), eur(1_000));
    assert_eq!(lea.kept_rate, Some(0.0));
    // A1 late from 06-01, first action 06-05: 4 days; A2 late from 06-10, action 06-12: 2.
    assert_eq!(lea.avg_days_to_first_action, Some(3.0));
    assert_eq!((lea.disputes_opened, lea.disputes_resolved), (1, 1));
    assert_eq!(
        lea.disputes_by_reason.get("prix"),
        Some(&DisputeReasonRow {
            opened: 1,
            resolved: 1,
            avg_resolution_days: Some(10.0)
        })
    );
    assert!(!lea.disputes_by_reason.contains_key("livraison"));
    // Activation over the period moved back by 7, 15, 30 days: A acted 06-05 (in
    // 05-25..06-23 and 05-17..06-15), paid 06-28: too late for both; B acted 05-20 (in
    // 05-17..06-15 and 05-02..05-31) and never paid.
    assert_eq!(
        (lea.activation_7, lea.activation_15, lea.activation_30),
        (Some(0.0), Some(0.0), Some(0.0))
    );
    assert_eq!(lea.cash_after_action.to_string(), eur(200));
    // B: 2 000 overdue, last action 05-20 (41 days).
    assert_eq!(
        (lea.backlog_customers, lea.backlog_overdue.to_string()),
        (1, eur(2_000))
    );

    // Marc: C called 06-20 (promise) and paid 06-24, as promised.
    assert_eq!(marc.actions, 2);
    assert_eq!(marc.contact_rate, Some(100.0));
    assert_eq!((marc.promises_kept, marc.promises_broken), (1, 0));
    assert_eq!(marc.kept_rate, Some(100.0));
    assert_eq!(marc.avg_days_to_first_action, Some(5.0));
    assert_eq!(
        (marc.activation_7, marc.activation_15, marc.activation_30),
        (Some(100.0), None, None)
    );
    assert_eq!(marc.cash_after_action.to_string(), eur(800));
    assert_eq!(marc.backlog_customers, 0);

    // The team.
    assert_eq!(t.collector, None);
    assert_eq!(t.actions, 4);
    assert_eq!((t.actions_per_day, t.actions_per_week), (0.13, 0.93));
    assert_eq!(t.contact_rate, Some(66.67));
    assert_eq!(
        (t.promises_obtained, t.promised_amount.to_string()),
        (2, eur(1_800))
    );
    assert_eq!(t.kept_rate, Some(50.0));
    assert_eq!(t.avg_days_to_first_action, Some(3.67));
    assert_eq!(
        (t.activation_7, t.activation_15, t.activation_30),
        (Some(50.0), Some(0.0), Some(0.0))
    );
    assert_eq!(t.cash_after_action.to_string(), eur(1_000));
    assert_eq!(
        (t.backlog_customers, t.backlog_overdue.to_string()),
        (1, eur(2_000))
    );
}

#[test]
fn a_selection_narrows_every_figure() {
    let snap = ledger().snapshot();
    let marc = Selection::resolve(
        &snap,
        &[arpilot_core::select::Filter::parse("collector=Marc").unwrap()],
    )
    .unwrap();
    let k = work(&snap, &marc, day("2024-06-30"), 30, 30);
    assert_eq!(k.rows.len(), 1);
    assert_eq!(k.total.actions, 2);
    assert_eq!(k.total.backlog_customers, 0);
    assert_eq!(k.total.cash_after_action.to_string(), eur(800));
}
