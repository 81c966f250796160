//! Which customers a reminder run selects, on a hand-computed ledger, and the L441-10 figures.

mod common;
use arpilot_core::Snapshot;
use arpilot_core::dunning::{Policy, Wait, kpis, late_terms, select};
use arpilot_core::ledger::*;
use arpilot_core::select::Selection;
use common::{L, day};

/// As of 2026-10-20 with the standard scenario (steps at −5, 7, 20, 30, 45 and 75 days):
/// - A: A1 100 € due 2026-09-01 (49 days late: step 5, formal notice), A2 50 € due 2026-10-10
///   (10 days: step 2), A3 due 2026-10-24 (4 days before: step 1, courtesy), A4 disputed,
///   A5 in legal: one reminder at step 5 for A1, A2 and A3 = 200 €.
/// - B: 300 € 12 days late, promised for 2026-10-18: paused until the 21st (grace 3 days).
/// - C: 400 € 40 days late, "do not contact until" 2026-11-01.
/// - D: 20 € 30 days late: under the 50 € minimum.
/// - E: a large company (size GE), 1 000 € 12 days late: its scenario starts at 10 days by e-mail.
/// - F: 500 € 8 days late, reminded at step 2 on 2026-10-15: no new step, no reminder.
fn ledger() -> L {
    let mut l = L::default();
    for c in ["A", "B", "C", "D", "F"] {
        l = l.customer(c);
    }
    l = l.customer_attrs("E", &[("size", "ge")]);
    let mut l = l
        .inv("A1", "A", "2026-08-01", "2026-09-01", 100)
        .inv("A2", "A", "2026-09-10", "2026-10-10", 50)
        .inv("A3", "A", "2026-09-24", "2026-10-24", 50)
        .inv("A4", "A", "2026-08-01", "2026-09-01", 70)
        .inv("A5", "A", "2026-07-01", "2026-08-01", 90)
        .inv("B1", "B", "2026-09-08", "2026-10-08", 300)
        .promise("B1", "2026-10-10", "2026-10-18", 300)
        .inv("C1", "C", "2026-08-10", "2026-09-10", 400)
        .inv("D1", "D", "2026-08-20", "2026-09-20", 20)
        .inv("E1", "E", "2026-09-08", "2026-10-08", 1_000)
        .inv("F1", "F", "2026-09-12", "2026-10-12", 500)
        .dispute("A4", "2026-09-15", None, "prix");
    l.ev.push(Event::Amend(AmendRec {
        effective: day("2026-09-20"),
        change: Change::InLegal {
            document_id: "A5".into(),
            in_legal: true,
        },
    }));
    l.ev.push(Event::Followup(FollowupRec {
        customer_id: "C".into(),
        date: day("2026-10-01"),
        hold_until: Some(day("2026-11-01")),
        hold_reason: Some("redressement".into()),
        ..FollowupRec::default()
    }));
    l.ev.push(queued("R-F", "F", "2026-10-15", 2, &[("F1", 50_000, 2)]));
    l.ev.push(sent("R-F", "F", "2026-10-15"));
    l
}

fn queued(id: &str, c: &str, d: &str, step: u16, lines: &[(&str, i64, u16)]) -> Event {
    Event::Reminder(ReminderRec {
        id: id.into(),
        customer_id: c.into(),
        date: day(d),
        status: ReminderStatus::Queued(ReminderContent {
            scenario: "standard".into(),
            step,
            channel: "email".into(),
            lines: lines
                .iter()
                .map(|(i, a, s)| (i.to_string(), *a, *s))
                .collect(),
            author: None,
            recipient: None,
        }),
    })
}

fn sent(id: &str, c: &str, d: &str) -> Event {
    Event::Reminder(ReminderRec {
        id: id.into(),
        customer_id: c.into(),
        date: day(d),
        status: ReminderStatus::Sent {
            message_id: format!("<{id}@test>"),
        },
    })
}

fn ids(s: &Snapshot, rows: &[(u32, i64, u16)]) -> Vec<(String, i64, u16)> {
    rows.iter()
        .map(|&(i, a, st)| (s.invoices.ids.get(i).to_string(), a, st))
        .collect()
}

fn cust(s: &Snapshot, c: u32) -> String {
    s.customers.ids.get(c).to_string()
}

#[test]
fn one_reminder_per_customer_at_its_highest_step() {
    let l = ledger();
    let s = l.snapshot();
    let p = Policy::standard();
    p.check().unwrap();
    let r = select(&s, &Selection::all(), &p, day("2026-10-20"));
    let due: Vec<String> = r.due.iter().map(|d| cust(&s, d.customer)).collect();
    assert_eq!(due, ["A", "E"]);
    let a = &r.due[0];
    assert_eq!(p.scenarios[a.scenario].id, "standard");
    assert_eq!(a.step, 5);
    assert_eq!(p.scenarios[a.scenario].steps[4].channel, "formal_notice");
    assert_eq!(
        ids(&s, &a.lines),
        [
            ("A1".to_string(), 10_000, 5),
            ("A2".to_string(), 5_000, 2),
            ("A3".to_string(), 5_000, 1)
        ]
    );
    assert_eq!(a.amount, 20_000);
    let e = &r.due[1];
    assert_eq!(p.scenarios[e.scenario].id, "grands-comptes");
    assert_eq!((e.step, e.amount), (1, 100_000));
    let waiting: Vec<(String, Wait)> = r
        .waiting
        .iter()
        .map(|(c, w)| (cust(&s, *c), w.clone()))
        .collect();
    assert_eq!(
        waiting,
        [
            ("B".to_string(), Wait::Promise(day("2026-10-21"))),
            ("C".to_string(), Wait::Hold(day("2026-11-01"))),
            ("D".to_string(), Wait::BelowMinimum),
        ]
    );
}

#[test]
fn what_was_sent_is_not_sent_again_and_a_broken_promise_resumes() {
    let mut l = ledger();
    l.ev.push(queued(
        "R-A",
        "A",
        "2026-10-20",
        5,
        &[("A1", 10_000, 5), ("A2", 5_000, 2), ("A3", 5_000, 1)],
    ));
    let s = l.snapshot();
    let p = Policy::standard();
    // The same day again: A is done today (queued, even before it is sent).
    let r = select(&s, &Selection::all(), &p, day("2026-10-20"));
    assert_eq!(
        r.due
            .iter()
            .map(|d| cust(&s, d.customer))
            .collect::<Vec<_>>(),
        ["E"]
    );
    // On the 22nd: B's promise (due the 18th, grace to the 21st) is broken: B resumes. A has no
    // invoice at a new step.
    let r = select(&s, &Selection::all(), &p, day("2026-10-22"));
    let due: Vec<String> = r.due.iter().map(|d| cust(&s, d.customer)).collect();
    assert_eq!(due, ["B", "E"]);
    assert_eq!(r.due[0].step, 2);
    // On 2026-10-30 A2 is 20 days late: step 3. The last reminder was 10 days before (more
    // than the 7-day interval): A is reminded again, at step 5, with A2 at its step 3.
    let r = select(&s, &Selection::all(), &p, day("2026-10-30"));
    let a = r.due.iter().find(|d| cust(&s, d.customer) == "A").unwrap();
    assert_eq!(a.step, 5);
    assert_eq!(ids(&s, &a.lines)[1], ("A2".to_string(), 5_000, 3));
    // A reminder skipped today stops the customer for the day only.
    let mut l2 = l.clone();
    l2.ev.push(Event::Reminder(ReminderRec {
        id: "R-E".into(),
        customer_id: "E".into(),
        date: day("2026-10-20"),
        status: ReminderStatus::Skipped {
            reason: Some("vu au téléphone".into()),
        },
    }));
    let s2 = l2.snapshot();
    let r = select(&s2, &Selection::all(), &p, day("2026-10-20"));
    assert!(r.due.is_empty());
    let today: Vec<String> = r
        .waiting
        .iter()
        .filter(|w| w.1 == Wait::Today)
        .map(|w| cust(&s2, w.0))
        .collect();
    assert_eq!(today, ["E"]);
    let r = select(&s2, &Selection::all(), &p, day("2026-10-21"));
    assert!(r.due.iter().any(|d| cust(&s2, d.customer) == "E"));
}

#[test]
fn a_changed_scenario_applies_on_the_next_run_and_the_interval_holds() {
    let s = ledger().snapshot();
    let mut p = Policy::standard();
    // F was reminded at step 2 on the 15th; a scenario whose step 3 is at 8 days makes F1 reach
    // it — but not before the 7-day interval: the 22nd.
    p.scenarios[1].steps[2].offset = 8;
    let r = select(&s, &Selection::all(), &p, day("2026-10-20"));
    let w = r.waiting.iter().find(|w| cust(&s, w.0) == "F").unwrap();
    assert_eq!(w.1, Wait::Interval(day("2026-10-22")));
    let r = select(&s, &Selection::all(), &p, day("2026-10-22"));
    let f = r.due.iter().find(|d| cust(&s, d.customer) == "F").unwrap();
    assert_eq!(f.step, 3);
    // A per-customer override: D names the grands-comptes scenario (and clears the minimum).
    let mut l = ledger();
    l.ev.push(Event::Amend(AmendRec {
        effective: day("2026-10-01"),
        change: Change::Customer(CustomerRec {
            id: "D".into(),
            name: "Customer D".into(),
            credit_limit: None,
            payment_terms_days: None,
            attrs: vec![("scenario".into(), "grands-comptes".into())],
        }),
    }));
    let s = l.snapshot();
    let mut p = Policy::standard();
    p.rules.min_amount = 0;
    let r = select(&s, &Selection::all(), &p, day("2026-10-20"));
    let d = r.due.iter().find(|d| cust(&s, d.customer) == "D").unwrap();
    assert_eq!(
        (p.scenarios[d.scenario].id.as_str(), d.step),
        ("grands-comptes", 2)
    );
}

#[test]
fn policies_are_checked() {
    let mut p = Policy::standard();
    p.scenarios[1].steps[1].offset = -10;
    assert!(
        p.check()
            .unwrap_err()
            .contains("more than the previous step")
    );
    let mut p = Policy::standard();
    p.scenarios[0].steps[0].channel = "fax".into();
    assert!(p.check().unwrap_err().contains("channel \"fax\""));
    let mut p = Policy::standard();
    p.scenarios[0].id = "standard".into();
    assert!(p.check().unwrap_err().contains("unique id"));
}

/// 10 000,00 € due 2026-06-30, 90 days late on 2026-09-28, at 12.15 % a year:
/// 10 000 × 12.15 % × 90 / 365 = 299.589… → 299,59 €, and the 40 € indemnity.
/// 1 234,56 € 1 day late at 10 %: 0.338… → 0,34 €. Not late: nothing.
#[test]
fn late_payment_terms_l441_10() {
    let t = late_terms(
        1_000_000,
        day("2026-06-30"),
        day("2026-09-28"),
        1_215,
        4_000,
    );
    assert_eq!((t.days, t.interest, t.indemnity), (90, 29_959, 4_000));
    let t = late_terms(123_456, day("2026-06-30"), day("2026-07-01"), 1_000, 4_000);
    assert_eq!((t.days, t.interest, t.indemnity), (1, 34, 4_000));
    let t = late_terms(123_456, day("2026-06-30"), day("2026-06-30"), 1_000, 4_000);
    assert_eq!((t.days, t.interest, t.indemnity), (0, 0, 0));
}

/// Reminders sent on 2026-10-01 to A (200 €: A1 and A2) and B (300 €), by e-mail (cost 0,50 €)
/// and letter (2,00 €); A pays A1 (100 €) on 2026-10-05 and B pays 300 € on 2026-10-25.
/// As of 2026-11-15: activation 7 days 1 of 2 (A), 15 days 1 of 2, 30 days 2 of 2 (B on day 24);
/// amount within 30 days 400 of 500 = 80 %; collected 400; recovered invoices A1 and B1 = 2;
/// cost 2,50 €, 1,25 € per recovered invoice.
#[test]
fn reminder_kpis_on_a_small_ledger() {
    let mut l = L::default()
        .customer("A")
        .customer("B")
        .customer("C")
        .inv("C1", "C", "2026-10-10", "2026-11-10", 5_000)
        .pay("PC", "C", "2026-11-05", 1_000, Some("C1"))
        .inv("A1", "A", "2026-08-01", "2026-09-01", 100)
        .inv("A2", "A", "2026-08-01", "2026-09-01", 100)
        .inv("B1", "B", "2026-08-01", "2026-09-01", 300)
        .pay("PA", "A", "2026-10-05", 100, Some("A1"))
        .pay("PB", "B", "2026-10-25", 300, Some("B1"));
    l.ev.push(queued(
        "R-A",
        "A",
        "2026-10-01",
        3,
        &[("A1", 10_000, 3), ("A2", 10_000, 3)],
    ));
    l.ev.push(sent("R-A", "A", "2026-10-01"));
    // Satisfaction answers from the portal: 4 and 5 in the period, 1 after it.
    for (d, n) in [("2026-10-03", 4), ("2026-10-20", 5), ("2026-11-20", 1)] {
        l.ev.push(Event::Action(ActionRec {
            customer_id: "A".into(),
            date: day(d),
            kind: arpilot_core::dunning::SURVEY_KIND.into(),
            invoice_id: None,
            agent: Some("portal".into()),
            note: Some(arpilot_core::dunning::satisfaction_note(n)),
            outcome: None,
        }));
    }
    let mut b = queued("R-B", "B", "2026-10-01", 4, &[("B1", 30_000, 4)]);
    if let Event::Reminder(ReminderRec {
        status: ReminderStatus::Queued(c),
        ..
    }) = &mut b
    {
        c.channel = "letter".into();
    }
    l.ev.push(b);
    l.ev.push(sent("R-B", "B", "2026-10-01"));
    let s = l.snapshot();
    let k = kpis(
        &s,
        &Selection::all(),
        day("2026-10-01"),
        day("2026-11-15"),
        &[50, 200, 0, 500, 0],
    );
    let t = &k.total;
    assert_eq!((t.sent, t.customers, t.amount.minor), (2, 2, 50_000));
    assert_eq!(t.activation_7, Some(50.0));
    assert_eq!(t.activation_15, Some(50.0));
    assert_eq!(t.activation_30, Some(100.0));
    assert_eq!(t.activation_amount_30, Some(80.0));
    assert_eq!((t.collected.minor, t.invoices_recovered), (40_000, 2));
    assert_eq!(t.cost.minor, 250);
    assert_eq!(t.cost_per_recovered.map(|m| m.minor), Some(125));
    assert_eq!((k.satisfaction_answers, k.satisfaction), (2, Some(4.5)));
    // DSO and CEI of the reminded customers (A and B, not C) before and after.
    let ab = arpilot_core::Selection::resolve(
        &s,
        &[
            arpilot_core::Filter::parse("customer_id=A").unwrap(),
            arpilot_core::Filter::parse("customer_id=B").unwrap(),
        ],
    )
    .unwrap();
    let of = |sel: &arpilot_core::Selection, d: &str| {
        let r = arpilot_core::report::report(&s, sel, &arpilot_core::ReportParams::new(day(d)))
            .unwrap();
        (Some(r.dso.countback), r.cei.month)
    };
    assert_eq!(
        (k.reminded_dso_before, k.reminded_cei_before),
        of(&ab, "2026-09-30")
    );
    assert_eq!(
        (k.reminded_dso_after, k.reminded_cei_after),
        of(&ab, "2026-11-15")
    );
    assert_ne!(
        (k.reminded_dso_after, k.reminded_cei_after),
        of(&Selection::all(), "2026-11-15")
    );
    let steps: Vec<(&str, u64)> = k.by_step.iter().map(|r| (r.key.as_str(), r.sent)).collect();
    assert_eq!(steps, [("3", 1), ("4", 1)]);
    let ch: Vec<(&str, i64)> = k
        .by_channel
        .iter()
        .map(|r| (r.key.as_str(), r.collected.minor))
        .collect();
    assert_eq!(ch, [("email", 10_000), ("letter", 30_000)]);
    // As of the 3rd no window has ended yet.
    let k = kpis(
        &s,
        &Selection::all(),
        day("2026-10-01"),
        day("2026-10-03"),
        &[0; 5],
    );
    assert_eq!(k.total.activation_7, None);
    assert_eq!(k.pending, 0);
}

#[test]
fn reminder_events_are_checked() {
    let l = ledger();
    let mut s = l.snapshot();
    // Sent before it was queued, an invoice of another customer, a duplicate: refused.
    assert!(s.append(vec![sent("R-X", "A", "2026-10-20")]).is_err());
    assert!(
        s.append(vec![queued("R-X", "A", "2026-10-20", 1, &[("B1", 1, 1)])])
            .is_err()
    );
    assert!(
        s.append(vec![queued("R-F", "F", "2026-10-20", 1, &[("F1", 1, 1)])])
            .is_err()
    );
    // Queued and sent in one batch.
    s.append(vec![
        queued("R-X", "A", "2026-10-20", 1, &[("A1", 1, 1)]),
        sent("R-X", "A", "2026-10-20"),
    ])
    .unwrap();
    let r = s.reminders.find("R-X").unwrap();
    assert_eq!(r.status, arpilot_core::snapshot::REMINDER_SENT);
    assert_eq!(r.message_id.as_deref(), Some("<R-X@test>"));
}
