//! The worklist on a hand-computed ledger: who is on it, why, in which order, with which score.

mod common;
use arpilot_core::ledger::*;
use arpilot_core::select::Selection;
use arpilot_core::worklist::{NextStep, Reason, WorklistParams, worklist};
use arpilot_core::{Currency, Money};
use common::{L, day};

fn eur(units: i64) -> Money {
    Money::new(units * 100, Currency::EUR)
}

fn action(cust: &str, date: &str, kind: &str) -> Event {
    Event::Action(ActionRec {
        customer_id: cust.into(),
        date: day(date),
        kind: kind.into(),
        invoice_id: None,
        agent: Some("Léa".into()),
        note: None,
        outcome: Some("reached".into()),
    })
}

/// As of 2024-06-30:
/// - A: 1 000 overdue 91 days, never contacted. W = 1 000 × (90 + 91) / 90 = 2 011.11,
///   10·log10(2 012.11) = 33.04; + no action 10 → 43.0.
/// - B: 500 overdue 5 days, promised for today, called 10 days ago: the promise covers it (no
///   weighted amount) and falls due today, 20 → 20.0.
/// - C: 2 000 overdue 30 days, a promise due 2024-06-15 not kept, last called before it;
///   limit 1 000. W = 2 666.66 → 34.26; + broken 30 + over limit 15 → 79.3.
/// - D: nothing due: not on the list.
/// - E: 3 000 overdue 61 days in dispute since 2024-05-01 (60 days, usual 30): no weighted
///   amount (collection waits for the dispute); dispute 15 + no action 10 → 25.0.
/// - F: 5 000 fell due 3 days ago (≥ 1 000: newly overdue). W = 5 166.66 → 37.13; + new 10 +
///   no action 10 → 57.1.
fn ledger() -> L {
    let mut l = L::default();
    for c in ["A", "B", "C", "D", "E", "F"] {
        l = l.customer_attrs(c, &[("collector", if c < "D" { "Léa" } else { "Marc" })]);
    }
    let mut l = l
        .inv("A1", "A", "2024-03-01", "2024-03-31", 1_000)
        .inv("B1", "B", "2024-05-25", "2024-06-25", 500)
        .inv("C1", "C", "2024-05-01", "2024-05-31", 2_000)
        .inv("D1", "D", "2024-06-01", "2024-07-01", 800)
        .inv("E1", "E", "2024-04-01", "2024-04-30", 3_000)
        .inv("F1", "F", "2024-05-28", "2024-06-27", 5_000)
        .promise("B1", "2024-06-20", "2024-06-30", 500)
        .promise("C1", "2024-06-01", "2024-06-15", 2_000)
        .dispute("E1", "2024-05-01", None, "prix");
    l.ev.push(action("B", "2024-06-20", "call"));
    l.ev.push(action("C", "2024-06-10", "call"));
    // C's credit limit, by an amendment of its master data.
    l.ev.push(Event::Customer(CustomerRec {
        id: "C".into(),
        name: "Customer C".into(),
        credit_limit: Some(100_000),
        payment_terms_days: None,
        attrs: vec![("collector".into(), "Léa".into())],
    }));
    l
}

#[test]
fn ranks_customers_by_score_with_their_reasons() {
    let snap = ledger().snapshot();
    let rows = worklist(
        &snap,
        &Selection::all(),
        day("2024-06-30"),
        &Default::default(),
        &WorklistParams::default(),
    );
    let got: Vec<(&str, f64, NextStep)> = rows
        .iter()
        .map(|r| (r.customer_id.as_str(), r.score, r.next_step))
        .collect();
    assert_eq!(
        got,
        [
            ("C", 79.3, NextStep::CallBrokenPromise),
            ("F", 57.1, NextStep::Email),
            ("A", 43.0, NextStep::FormalNotice),
            ("E", 25.0, NextStep::FollowUpDispute),
            ("B", 20.0, NextStep::CheckPromisedPayment),
        ]
    );
    let c = &rows[0];
    assert_eq!(
        c.reasons,
        [
            Reason::Overdue {
                invoices: 1,
                amount: eur(2_000),
                oldest_days: 30
            },
            Reason::PromiseBroken {
                invoice_id: "C1".into(),
                amount: eur(2_000),
                due_on: day("2024-06-15")
            },
            Reason::OverLimit {
                balance: eur(2_000),
                limit: eur(1_000)
            },
        ]
    );
    assert_eq!(c.last_action, Some(day("2024-06-10")));
    assert_eq!(c.last_action_kind.as_deref(), Some("call"));
    assert_eq!(c.collector.as_deref(), Some("Léa"));
    let b = &rows[4];
    assert_eq!(
        b.reasons[1..],
        [
            Reason::PromiseRunning {
                invoices: 1,
                amount: eur(500),
                due_on: day("2024-06-30")
            },
            Reason::PromiseDueToday {
                invoice_id: "B1".into(),
                amount: eur(500)
            },
        ]
    );
    let e = &rows[3];
    assert_eq!(
        e.reasons,
        [
            Reason::Overdue {
                invoices: 1,
                amount: eur(3_000),
                oldest_days: 61
            },
            Reason::DisputeTooLong {
                invoice_id: "E1".into(),
                reason: Some("prix".into()),
                days: 60,
                usual_days: 30
            },
            Reason::NoRecentAction { days: None },
        ]
    );
    // Overdue and disputed at once counts once at stake.
    assert_eq!((e.overdue, e.at_stake), (eur(3_000), eur(3_000)));
    assert_eq!(
        rows[1].reasons[1],
        Reason::NewOverdue {
            invoices: 1,
            amount: eur(5_000),
            largest_id: "F1".into()
        }
    );
}

#[test]
fn a_payment_or_a_call_takes_a_customer_off_or_down() {
    // A paid: off the list. F called yesterday: no "no action" points (57.1 − 10).
    let mut l = ledger().pay("PA", "A", "2024-06-29", 1_000, Some("A1"));
    l.ev.push(action("F", "2024-06-29", "email"));
    let snap = l.snapshot();
    let rows = worklist(
        &snap,
        &Selection::all(),
        day("2024-06-30"),
        &Default::default(),
        &WorklistParams::default(),
    );
    let ids: Vec<&str> = rows.iter().map(|r| r.customer_id.as_str()).collect();
    assert_eq!(ids, ["C", "F", "E", "B"]);
    assert_eq!(rows[1].score, 47.1);
    // Before B's promise falls due, B waits for it: on the list with its overdue, nothing to do.
    let rows = worklist(
        &ledger().snapshot(),
        &Selection::all(),
        day("2024-06-28"),
        &Default::default(),
        &WorklistParams::default(),
    );
    let b = rows.iter().find(|r| r.customer_id == "B").unwrap();
    assert_eq!((b.score, b.next_step), (0.0, NextStep::AwaitPromise));
    // A promise kept is no reason: C pays on its promised date.
    let snap = ledger()
        .pay("PC", "C", "2024-06-15", 2_000, Some("C1"))
        .snapshot();
    let rows = worklist(
        &snap,
        &Selection::all(),
        day("2024-06-30"),
        &Default::default(),
        &WorklistParams::default(),
    );
    assert!(rows.iter().all(|r| r.customer_id != "C"));
}

#[test]
fn a_collectors_worklist_is_their_customers() {
    let snap = ledger().snapshot();
    let sel = Selection::resolve(
        &snap,
        &[arpilot_core::select::Filter::parse("collector=Marc").unwrap()],
    )
    .unwrap();
    let rows = worklist(
        &snap,
        &sel,
        day("2024-06-30"),
        &Default::default(),
        &WorklistParams::default(),
    );
    let ids: Vec<&str> = rows.iter().map(|r| r.customer_id.as_str()).collect();
    assert_eq!(ids, ["F", "E"]);
}

fn followup(cust: &str, date: &str, f: impl FnOnce(&mut FollowupRec)) -> Event {
    let mut r = FollowupRec {
        customer_id: cust.into(),
        date: day(date),
        ..FollowupRec::default()
    };
    f(&mut r);
    Event::Followup(r)
}

/// D (not yet due) gets a next action planned for 06-30: on the list with 20 points; A is not to
/// be contacted before 07-15: off the list until then; a later call on D clears its reason.
#[test]
fn follow_ups_plan_and_hold() {
    let mut l = ledger();
    l.ev.push(followup("D", "2024-06-20", |f| {
        f.next_action = Some(day("2024-06-30"))
    }));
    l.ev.push(followup("A", "2024-06-25", |f| {
        f.hold_until = Some(day("2024-07-15"));
        f.hold_reason = Some("redressement judiciaire".into());
    }));
    let at = |l: &L, d: &str| {
        worklist(
            &l.snapshot(),
            &Selection::all(),
            day(d),
            &Default::default(),
            &WorklistParams::default(),
        )
    };
    let rows = at(&l, "2024-06-30");
    let ids: Vec<&str> = rows.iter().map(|r| r.customer_id.as_str()).collect();
    // D and B tie at 20: the larger overdue first.
    assert_eq!(ids, ["C", "F", "E", "B", "D"]);
    let d = rows.iter().find(|r| r.customer_id == "D").unwrap();
    assert_eq!(
        d.reasons,
        [Reason::NextActionDue {
            date: day("2024-06-30")
        }]
    );
    assert_eq!((d.score, d.next_step), (20.0, NextStep::Call));
    // Before the hold, A was there; after it ends, again.
    assert!(at(&l, "2024-06-24").iter().any(|r| r.customer_id == "A"));
    assert!(at(&l, "2024-07-16").iter().any(|r| r.customer_id == "A"));
    // The planned call made: no reason left for D.
    l.ev.push(action("D", "2024-06-30", "call"));
    assert!(at(&l, "2024-06-30").iter().all(|r| r.customer_id != "D"));
}

/// The worklist kept up to date on append ([`Memo`]) gives, after each batch, exactly the list
/// computed afresh — for the whole team and for one collector — recomputing only the customers
/// the batch touched. Batches: a payment, a call, a promise, a new customer with an overdue
/// invoice, a hold, a credit-limit change, a dispute resolved (which changes the usual
/// resolution time, hence everyone's dispute reasons).
#[test]
fn the_worklist_kept_on_append_is_the_one_computed_afresh() {
    use arpilot_core::worklist::Memo;
    let d = day("2024-06-30");
    let (th, params) = (Default::default(), WorklistParams::default());
    let base = ledger()
        .dispute("A1", "2024-04-01", Some("2024-04-05"), "prix")
        .dispute("B1", "2024-05-26", Some("2024-05-27"), "prix")
        .dispute("D1", "2024-06-02", Some("2024-06-03"), "prix");
    let mut snap = base.snapshot();
    let mut memo = Memo::new(&snap, d, &th, &params);
    let marc = |s: &arpilot_core::Snapshot| {
        Selection::resolve(
            s,
            &[arpilot_core::select::Filter::parse("collector=Marc").unwrap()],
        )
        .unwrap()
    };
    let batches: Vec<(Vec<&str>, Vec<Event>)> = vec![
        (
            vec!["A"],
            L::default()
                .pay("PA", "A", "2024-06-29", 400, Some("A1"))
                .ev,
        ),
        (vec!["F"], vec![action("F", "2024-06-29", "call")]),
        (
            vec!["C"],
            L::default()
                .promise("C1", "2024-06-29", "2024-07-10", 2_000)
                .ev,
        ),
        (
            vec!["G"],
            L::default()
                .customer_attrs("G", &[("collector", "Marc")])
                .inv("G1", "G", "2024-05-01", "2024-06-25", 9_000)
                .ev,
        ),
        (
            vec!["E"],
            vec![followup("E", "2024-06-29", |f| {
                f.hold_until = Some(day("2024-07-15"));
                f.hold_reason = Some("plan de règlement".into());
            })],
        ),
        (
            vec!["B"],
            vec![Event::Customer(CustomerRec {
                id: "B".into(),
                name: "Customer B".into(),
                credit_limit: Some(10_000),
                payment_terms_days: None,
                attrs: vec![("collector".into(), "Léa".into())],
            })],
        ),
        (
            vec!["F"],
            L::default()
                .dispute("F1", "2024-05-29", Some("2024-06-29"), "prix")
                .ev,
        ),
    ];
    for (k, (touched, events)) in batches.into_iter().enumerate() {
        snap.append(events).unwrap();
        let rows: Vec<u32> = touched
            .iter()
            .map(|c| snap.customers.ids.find(c).unwrap())
            .collect();
        memo.update(&snap, &rows);
        assert_eq!(memo.generation(), snap.generation());
        for sel in [Selection::all(), marc(&snap)] {
            let kept: Vec<_> = memo.list(&sel).iter().map(|r| (**r).clone()).collect();
            assert_eq!(
                kept,
                worklist(&snap, &sel, d, &th, &params),
                "after batch {k}"
            );
        }
    }
    // The batches changed the list: G is on it, E (held) is not, B is over its limit.
    let ids: Vec<String> = memo
        .list(&Selection::all())
        .iter()
        .map(|r| r.customer_id.clone())
        .collect();
    assert!(ids.contains(&"G".to_string()) && !ids.contains(&"E".to_string()));
    let b = memo
        .list(&Selection::all())
        .into_iter()
        .find(|r| r.customer_id == "B")
        .unwrap();
    assert!(
        b.reasons
            .iter()
            .any(|r| matches!(r, Reason::OverLimit { .. }))
    );
}

/// The rows of `memo` for everyone, as the worklist lists them.
fn listed(memo: &arpilot_core::worklist::Memo) -> Vec<arpilot_core::worklist::WorklistRow> {
    memo.list(&Selection::all())
        .iter()
        .map(|r| (**r).clone())
        .collect()
}

/// The whole worklist computed for a writer's sake can be given up at every point it asks: then
/// it answers nothing rather than a list from passes cut short; asked and never stopped, it is
/// the list computed outright.
#[test]
fn the_worklist_given_up_at_any_point_answers_nothing() {
    use arpilot_core::scope::Stop;
    use arpilot_core::worklist::Memo;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let d = day("2024-06-30");
    let (th, params) = (Default::default(), WorklistParams::default());
    let snap = ledger()
        .dispute("A1", "2024-04-01", Some("2024-04-05"), "prix")
        .snapshot();
    let asks = AtomicUsize::new(0);
    let never = || {
        asks.fetch_add(1, Ordering::Relaxed);
        false
    };
    let memo = Memo::new_unless(&snap, d, &th, &params, &Stop::new(&never)).unwrap();
    let whole = worklist(&snap, &Selection::all(), d, &th, &params);
    assert_eq!(listed(&memo), whole);
    assert!(!whole.is_empty());
    // Asked by the index and by the passes over the invoices (three) and the sources, and
    // between the passes and while listing the customers: the work in between stops too.
    let n = asks.load(Ordering::Relaxed);
    assert!(n >= 10, "asked {n} times");
    for k in 1..=n {
        let seen = AtomicUsize::new(0);
        let at_k = || seen.fetch_add(1, Ordering::Relaxed) + 1 >= k;
        let stop = Stop::new(&at_k);
        assert!(
            Memo::new_unless(&snap, d, &th, &params, &stop).is_none(),
            "stopped at ask {k} of {n}"
        );
        assert!(stop.fired());
        // Given up, the index of customers' rows is left as far as it got; the next attempt
        // goes on from it to the same list.
        let mut index = Default::default();
        let stop = Stop::new(&at_k);
        assert!(Memo::resumed_unless(&snap, d, &th, &params, &stop, &mut index).is_none());
        let memo = Memo::resumed_unless(&snap, d, &th, &params, &Stop::never(), &mut index)
            .expect("not stopped");
        assert_eq!(listed(&memo), whole, "resumed after ask {k}");
    }
    // An index of a later state of the ledger (more rows) is not used on an earlier one.
    let later = ledger()
        .dispute("A1", "2024-04-01", Some("2024-04-05"), "prix")
        .inv("Z1", "F", "2024-06-01", "2024-06-15", 100)
        .snapshot();
    let mut index = arpilot_core::scope::ByCustomer::default();
    index.catch_up(&later);
    let mut memo =
        Memo::resumed_unless(&snap, d, &th, &params, &Stop::never(), &mut index).unwrap();
    // Customer F's row computed again through the index: the rows of `snap` alone.
    let f = snap.customers.ids.find("F").unwrap();
    memo.update(&snap, &[f]);
    assert_eq!(listed(&memo), whole);
}
