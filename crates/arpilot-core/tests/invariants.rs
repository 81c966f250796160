//! Property tests on random ledgers: the aging partitions the open invoices, buckets plus
//! unapplied equal the balance at every level, the allocation rule matches a direct
//! simulation of the specification, past reports survive later events, and incremental appends
//! equal a full rebuild.

mod common;
use arpilot_core::customers::{RatingThresholds, customers};
use arpilot_core::invoices::invoices;
use arpilot_core::ledger::*;
use arpilot_core::report::{GroupBy, Report, ReportParams, report};
use arpilot_core::trend::trend;
use arpilot_core::{Currency, Day, Selection, Snapshot};
use proptest::prelude::*;
use std::collections::HashMap;

const BASE: i32 = 19_358; // 2023-01-01

#[derive(Debug, Clone)]
struct Gen {
    customers: usize,
    invoices: Vec<(usize, i32, i32, i64)>,
    credits: Vec<(usize, i32, i64, Option<usize>)>,
    payments: Vec<(usize, i32, i64, Option<usize>)>,
    allocs: Vec<(usize, usize, i32, i64)>,
    disputes: Vec<(usize, i32, Option<i32>)>,
    promises: Vec<(usize, i32, i32, i64)>,
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    (
        1usize..4,
        prop::collection::vec((0usize..4, 0i32..150, 0i32..60, 1i64..100_000), 0..25),
        prop::collection::vec(
            (
                0usize..4,
                0i32..150,
                1i64..50_000,
                prop::option::of(0usize..25),
            ),
            0..5,
        ),
        prop::collection::vec(
            (
                0usize..4,
                0i32..200,
                1i64..120_000,
                prop::option::of(0usize..25),
            ),
            0..20,
        ),
        prop::collection::vec((0usize..30, 0usize..25, 0i32..60, 1i64..80_000), 0..15),
        prop::collection::vec((0usize..25, 0i32..40, prop::option::of(0i32..40)), 0..4),
        prop::collection::vec((0usize..25, 0i32..30, 0i32..30, 1i64..50_000), 0..4),
    )
        .prop_map(
            |(customers, invoices, credits, payments, allocs, disputes, promises)| Gen {
                customers,
                invoices,
                credits,
                payments,
                allocs,
                disputes,
                promises,
            },
        )
}

fn d(x: i32) -> Day {
    Day(BASE + x)
}

/// Events of a generated ledger, each with the date from which it can matter.
fn events(g: &Gen) -> Vec<(i32, Event)> {
    let mut out = Vec::new();
    for c in 0..g.customers {
        out.push((
            i32::MIN,
            Event::Customer(CustomerRec {
                id: format!("C{c}"),
                name: format!("Customer {c}"),
                credit_limit: Some(100_000),
                payment_terms_days: None,
                attrs: vec![("region".into(), if c % 2 == 0 { "N" } else { "S" }.into())],
            }),
        ));
    }
    let cust = |c: usize| c % g.customers;
    let invs: Vec<(usize, i32)> = g.invoices.iter().map(|x| (cust(x.0), x.1)).collect();
    for (k, &(c, issue, terms, amount)) in g.invoices.iter().enumerate() {
        out.push((
            issue,
            Event::Document(DocumentRec {
                due: Some(d(issue + terms)),
                in_legal: k % 7 == 3,
                attrs: vec![("division".into(), format!("D{}", k % 2))],
                ..DocumentRec::new(
                    format!("I{k}"),
                    format!("C{}", cust(c)),
                    DocKind::Invoice,
                    d(issue),
                    amount,
                )
            }),
        ));
    }
    // A reference to an invoice of the same customer dated no later than `day`, if any.
    let pick = |c: usize, want: Option<usize>, day: i32| {
        want.and_then(|w| {
            let same: Vec<usize> = (0..invs.len())
                .filter(|&i| invs[i].0 == c && invs[i].1 <= day)
                .collect();
            (!same.is_empty()).then(|| same[w % same.len()])
        })
    };
    let mut sources: Vec<(String, usize, i32)> = Vec::new();
    for (k, &(c, issue, amount, orig)) in g.credits.iter().enumerate() {
        let c = cust(c);
        let orig = pick(c, orig, issue);
        let id = format!("CN{k}");
        sources.push((id.clone(), c, issue));
        out.push((
            issue,
            Event::Document(DocumentRec {
                original_invoice_id: orig.map(|i| format!("I{i}")),
                ..DocumentRec::new(
                    id,
                    format!("C{c}"),
                    if k % 3 == 2 {
                        DocKind::WriteOff
                    } else {
                        DocKind::CreditNote
                    },
                    d(issue),
                    amount,
                )
            }),
        ));
    }
    for (k, &(c, date, amount, inv)) in g.payments.iter().enumerate() {
        let c = cust(c);
        let inv = pick(c, inv, date);
        let id = format!("P{k}");
        sources.push((id.clone(), c, date));
        out.push((
            date,
            Event::Payment(PaymentRec {
                id,
                customer_id: format!("C{c}"),
                date: d(date),
                amount,
                currency: None,
                invoice_id: inv.map(|i| format!("I{i}")),
                reference: None,
            }),
        ));
    }
    if !sources.is_empty() {
        for &(s, i, extra, amount) in &g.allocs {
            let (sid, c, sday) = &sources[s % sources.len()];
            let Some(i) = pick(*c, Some(i), i32::MAX) else {
                continue;
            };
            let date = sday.max(&invs[i].1) + extra;
            out.push((
                date,
                Event::Allocation(AllocationRec {
                    source_id: sid.clone(),
                    invoice_id: format!("I{i}"),
                    date: d(date),
                    amount,
                }),
            ));
        }
    }
    if !invs.is_empty() {
        for &(i, open, res) in &g.disputes {
            let i = i % invs.len();
            let opened = invs[i].1 + open;
            out.push((
                opened,
                Event::Dispute(DisputeRec {
                    invoice_id: format!("I{i}"),
                    opened_on: d(opened),
                    resolved_on: res.map(|r| d(opened + r)),
                    reason: Some(
                        if i.is_multiple_of(2) {
                            "price"
                        } else {
                            "quality"
                        }
                        .into(),
                    ),
                    amount: None,
                    owner: None,
                }),
            ));
        }
        for &(i, on, len, amount) in &g.promises {
            let i = i % invs.len();
            let promised = invs[i].1 + on;
            out.push((
                promised,
                Event::Promise(PromiseRec {
                    invoice_id: format!("I{i}"),
                    promised_on: d(promised),
                    due_on: d(promised + len),
                    amount,
                }),
            ));
        }
    }
    out
}

/// The allocation rule of the specification, simulated directly on the events:
/// requests in date order then input order, capped by invoice and source remainders.
/// Returns each invoice's effective allocations as (date, amount).
fn oracle(evs: &[Event]) -> HashMap<String, Vec<(i32, i64)>> {
    let mut inv_rem: HashMap<String, i64> = HashMap::new();
    let mut src_rem: HashMap<String, i64> = HashMap::new();
    let mut reqs: Vec<(i32, usize, String, String, i64)> = Vec::new();
    for (k, e) in evs.iter().enumerate() {
        match e {
            Event::Document(doc) if doc.kind == DocKind::Invoice => {
                inv_rem.insert(doc.id.clone(), doc.amount);
            }
            Event::Document(doc) => {
                src_rem.insert(doc.id.clone(), doc.amount);
                if let Some(o) = &doc.original_invoice_id {
                    reqs.push((doc.issue.0, k, doc.id.clone(), o.clone(), doc.amount));
                }
            }
            Event::Payment(p) => {
                src_rem.insert(p.id.clone(), p.amount);
                if let Some(o) = &p.invoice_id {
                    reqs.push((p.date.0, k, p.id.clone(), o.clone(), p.amount));
                }
            }
            Event::Allocation(a) => reqs.push((
                a.date.0,
                k,
                a.source_id.clone(),
                a.invoice_id.clone(),
                a.amount,
            )),
            _ => {}
        }
    }
    reqs.sort_by_key(|r| (r.0, r.1));
    let mut out: HashMap<String, Vec<(i32, i64)>> = HashMap::new();
    for (day, _, s, i, req) in reqs {
        let eff = req.min(inv_rem[&i]).min(src_rem[&s]);
        *inv_rem.get_mut(&i).unwrap() -= eff;
        *src_rem.get_mut(&s).unwrap() -= eff;
        out.entry(i).or_default().push((day, eff));
    }
    out
}

fn build(evs: &[Event]) -> Snapshot {
    Snapshot::build(Currency::EUR, evs.to_vec()).expect("generated ledgers are valid")
}

fn rep(s: &Snapshot, day: Day, by: Option<GroupBy>) -> Report {
    let mut p = ReportParams::new(day);
    p.by = by;
    report(s, &Selection::all(), &p).unwrap()
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

fn check_groups(r: &Report) -> Result<(), TestCaseError> {
    let g = r.groups.as_ref().unwrap();
    let mut total = 0;
    for row in &g.rows {
        let sum: i64 = row.amounts.iter().map(|m| m.minor).sum::<i64>() + row.unapplied.minor;
        prop_assert_eq!(sum, row.balance.minor, "row {}", row.key);
        total += row.balance.minor;
    }
    prop_assert_eq!(total, r.totals.balance.minor, "groups of {}", g.by);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn aging_partitions_and_reconciles(g in gen_strategy(), as_of in -10i32..260) {
        let evs: Vec<Event> = events(&g).into_iter().map(|x| x.1).collect();
        let s = build(&evs);
        let day = d(as_of);
        let expected = oracle(&evs);
        // Open amounts per invoice equal the direct simulation of the allocation rule.
        let mut open_count = 0u64;
        let mut open_total = 0i64;
        for row in invoices(&s, &Selection::all(), day) {
            let allocated: i64 = expected.get(&row.document_id).into_iter().flatten()
                .filter(|(dd, _)| *dd <= day.0).map(|x| x.1).sum();
            prop_assert_eq!(row.open_amount.minor, row.amount.minor - allocated, "{}", row.document_id);
            if row.open_amount.minor > 0 {
                open_count += 1;
                open_total += row.open_amount.minor;
            }
        }
        let r = rep(&s, day, None);
        // Every open invoice is in exactly one bucket.
        prop_assert_eq!(r.aging.iter().map(|b| b.count).sum::<u64>(), open_count);
        prop_assert_eq!(r.aging.iter().map(|b| b.amount.minor).sum::<i64>(), open_total);
        prop_assert_eq!(r.totals.open_invoices.minor, open_total);
        // Buckets + unapplied = balance = documents − payments.
        let direct: i64 = evs.iter().map(|e| match e {
            Event::Document(doc) if doc.issue <= day => if doc.kind == DocKind::Invoice { doc.amount } else { -doc.amount },
            Event::Payment(p) if p.date <= day => -p.amount,
            _ => 0,
        }).sum();
        prop_assert_eq!(r.totals.balance.minor, direct);
        prop_assert_eq!(open_total + r.totals.unapplied.minor, r.totals.balance.minor);
        prop_assert_eq!(r.totals.not_due.minor + r.totals.overdue.minor, open_total);
        prop_assert!(r.totals.unapplied.minor <= 0);
        let cr = &r.collection_rate;
        prop_assert_eq!(cr.remaining.minor, cr.to_collect.minor - cr.collected.minor - cr.credited.minor);
        let mut groupings = vec![GroupBy::Customer, GroupBy::Invoice, GroupBy::Dim("region".into())];
        if !g.invoices.is_empty() {
            groupings.push(GroupBy::Dim("division".into()));
        }
        for by in groupings {
            check_groups(&rep(&s, day, Some(by)))?;
        }
        // Customer balances add up to the total.
        let rows = customers(&s, &Selection::all(), day, &RatingThresholds::default());
        prop_assert_eq!(rows.iter().map(|c| c.balance.minor).sum::<i64>(), direct);
        // One customer's row alone is its row among all.
        for row in &rows {
            let one = arpilot_core::customers::customer(
                &s, &Selection::all(), day, &RatingThresholds::default(), &row.customer_id,
            );
            prop_assert_eq!(one.as_ref(), Some(row));
        }
        // The rating history at each date is the customer's row at that date.
        if let Some(row) = rows.first() {
            let th = RatingThresholds::default();
            let h = arpilot_core::analytics::rating_history(
                &s, &Selection::all(), &row.customer_id, day, 4, &th,
            )
            .unwrap();
            prop_assert_eq!(h.len(), 5);
            for p in &h {
                let r = arpilot_core::customers::customer(
                    &s, &Selection::all(), p.date, &th, &row.customer_id,
                )
                .unwrap();
                prop_assert_eq!(p.avg_days_late, r.avg_days_late);
                prop_assert_eq!(p.rating, r.rating);
                prop_assert_eq!(p.percentile, r.rating_percentile);
            }
        }
        // The last trend point is the report itself.
        let t = trend(&s, &Selection::all(), day, 3);
        let last = t.last().unwrap();
        prop_assert_eq!(last.balance, r.totals.balance);
        prop_assert_eq!(last.not_due, r.totals.not_due);
        prop_assert_eq!(last.dbt, r.dbt);
        prop_assert_eq!(last.dso_countback, r.dso.countback);
        prop_assert_eq!(last.cei_month, r.cei.month);
        for p in &t {
            let rp = rep(&s, p.date, None);
            prop_assert_eq!(p.not_due, rp.totals.not_due);
            prop_assert_eq!(p.dbt, rp.dbt);
        }
    }

    #[test]
    fn past_reports_ignore_later_events(g in gen_strategy(), as_of in 0i32..200) {
        let all = events(&g);
        let (early, late): (Vec<_>, Vec<_>) = all.into_iter().partition(|(when, _)| *when <= as_of);
        let early: Vec<Event> = early.into_iter().map(|x| x.1).collect();
        let mut s = build(&early);
        let day = d(as_of);
        let before = json(&rep(&s, day, Some(GroupBy::Customer)));
        let before_c = json(&customers(&s, &Selection::all(), day, &RatingThresholds::default()));
        s.append(late.into_iter().map(|x| x.1)).expect("valid");
        prop_assert_eq!(before, json(&rep(&s, day, Some(GroupBy::Customer))));
        prop_assert_eq!(before_c, json(&customers(&s, &Selection::all(), day, &RatingThresholds::default())));
    }

    #[test]
    fn incremental_equals_rebuild(g in gen_strategy(), cuts in prop::collection::vec(0usize..100, 1..5), as_of in 0i32..260) {
        let evs: Vec<Event> = events(&g).into_iter().map(|x| x.1).collect();
        let full = build(&evs);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c * evs.len() / 100).collect();
        cuts.sort_unstable();
        cuts.push(evs.len());
        let mut inc = Snapshot::new(Currency::EUR);
        let mut from = 0;
        for c in cuts {
            inc.append(evs[from..c].to_vec()).expect("valid");
            // Warm the cached daily totals so that later appends update them in place.
            let _ = rep(&inc, d(as_of), None);
            from = c;
        }
        for day in [d(as_of), d(300)] {
            prop_assert_eq!(json(&rep(&full, day, Some(GroupBy::Invoice))), json(&rep(&inc, day, Some(GroupBy::Invoice))));
            prop_assert_eq!(json(&invoices(&full, &Selection::all(), day)), json(&invoices(&inc, &Selection::all(), day)));
        }
    }
}

#[test]
fn a_failed_append_changes_nothing() {
    let base = common::L::default()
        .customer("A")
        .inv("I1", "A", "2023-01-01", "2023-01-31", 100);
    let mut s = base.snapshot();
    let before = json(&rep(&s, d(40), Some(GroupBy::Customer)));
    let bad = common::L::default()
        .customer_attrs("A", &[("region", "Sud")])
        .customer("B")
        .inv("I2", "B", "2023-01-05", "2023-02-04", 50)
        .pay("P1", "B", "2023-01-06", 20, Some("I2"))
        .pay("P2", "A", "2023-01-07", 20, Some("NOPE"));
    let err = s.append(bad.ev).unwrap_err();
    assert_eq!(err.index, 4);
    assert_eq!(err.error, LedgerError::UnknownInvoice("NOPE".into()));
    assert_eq!(before, json(&rep(&s, d(40), Some(GroupBy::Customer))));
    assert!(
        s.customers
            .dims
            .get("region")
            .is_none_or(|c| c.value(0).is_empty())
    );
    // The ids of the refused batch are free again.
    let ok = common::L::default()
        .customer("B")
        .inv("I2", "B", "2023-01-05", "2023-02-04", 50);
    s.append(ok.ev).unwrap();
}

#[test]
fn capped_allocations_leave_the_excess_unapplied() {
    // Payment 150 on a 100 invoice: 100 applied, 50 unapplied; a second allocation of the
    // same payment to another invoice uses only what is left.
    let s = common::L::default()
        .customer("A")
        .inv("I1", "A", "2023-01-01", "2023-01-31", 100)
        .inv("I2", "A", "2023-01-02", "2023-02-01", 100)
        .pay("P", "A", "2023-01-10", 150, Some("I1"))
        .alloc_c("P", "I2", "2023-01-11", 8000)
        .snapshot();
    let r = rep(&s, d(20), None);
    assert_eq!(r.totals.open_invoices.to_string(), "50.00");
    assert_eq!(r.totals.unapplied.to_string(), "0.00");
    let r = rep(&s, d(9), None);
    assert_eq!(r.totals.open_invoices.to_string(), "100.00");
    assert_eq!(r.totals.unapplied.to_string(), "-50.00");
    assert_eq!(r.totals.balance.to_string(), "50.00");
}
