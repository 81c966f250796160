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
    fn dated_views_are_one_construction(g in gen_strategy(), t in dating_strategy(), dates in prop::collection::vec(0i32..300, 1..4)) {
        use arpilot_core::view::{CurrencyMode, prepare, prepared, split_dated};
        let evs = dated_events(&g, &t);
        let mode = CurrencyMode::Convert(Currency::EUR);
        // Customers' documents in dollars before any rate are refused by both alike.
        let split = split_dated(evs.clone(), Currency::EUR);
        let base = Snapshot::build(Currency::EUR, split.base.clone()).expect("valid");
        // The dated part appended once, each date's amounts written into it.
        let once = arpilot_core::snapshot::Dated::new(&base, &split.dated, Currency::EUR);
        for day in dates.into_iter().map(d) {
            let from_once = once.as_ref().and_then(|t| t.at(day, &split.rates));
            let mut plain = evs.clone();
            let plain = match prepare(&mut plain, Some(day), mode) {
                Ok(()) => plain,
                Err(_) => {
                    prop_assert!(prepared(&split.dated, Some(day), mode, &split.rates).is_err());
                    prop_assert!(!matches!(from_once, Some(Ok(_))));
                    continue;
                }
            };
            let plain = build(&plain);
            let dated = prepared(&split.dated, Some(day), mode, &split.rates).unwrap();
            let cut = base.clone().extended(dated).expect("valid");
            let mut views = vec![cut];
            match from_once {
                Some(Ok(s)) => views.push(s),
                Some(Err(e)) => prop_assert!(false, "{e}"),
                None => {}
            }
            for cut in &views {
                for by in [None, Some(GroupBy::Customer), Some(GroupBy::Invoice), Some(GroupBy::Dim("region".into()))] {
                    prop_assert_eq!(json(&rep(&plain, day, by.clone())), json(&rep(cut, day, by)));
                }
                let th = RatingThresholds::default();
                prop_assert_eq!(json(&customers(&plain, &Selection::all(), day, &th)), json(&customers(cut, &Selection::all(), day, &th)));
                // In the same order too: the list's order is the invoices', not the construction's.
                prop_assert_eq!(json(&invoices(&plain, &Selection::all(), day)), json(&invoices(cut, &Selection::all(), day)));
                prop_assert_eq!(json(&trend(&plain, &Selection::all(), day, 3)), json(&trend(cut, &Selection::all(), day, 3)));
                prop_assert_eq!(plain.allocation_count(), cut.allocation_count());
            }
        }
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

/// What makes a generated ledger dated: customers in dollars (by index), amendments
/// `(kind, target, effective, value, position)` and the dollar's rates `(day, rate_e9)`.
#[derive(Debug, Clone)]
struct Dating {
    usd: Vec<bool>,
    amends: Vec<(u8, usize, i32, i32, usize)>,
    rates: Vec<(i32, i64)>,
    /// Invoices whose due date comes from their customer's terms.
    by_terms: usize,
}

fn dating_strategy() -> impl Strategy<Value = Dating> {
    (
        prop::collection::vec(any::<bool>(), 4),
        prop::collection::vec((0u8..4, 0usize..30, 0i32..260, 0i32..90, 0usize..100), 0..8),
        prop::collection::vec((0i32..250, 700_000_000i64..1_300_000_000), 1..5),
        1usize..6,
    )
        .prop_map(|(usd, amends, rates, by_terms)| Dating {
            usd,
            amends,
            rates,
            by_terms,
        })
}

/// The generated ledger with some customers in dollars (their documents and payments in their
/// currency), due dates from terms, rates, amendments of every kind inserted among the events,
/// and actions naming agents: a ledger whose views differ from date to date.
fn dated_events(g: &Gen, t: &Dating) -> Vec<Event> {
    let usd = Currency::parse("USD").unwrap();
    let mut evs: Vec<Event> = events(g).into_iter().map(|x| x.1).collect();
    let mut invoices = Vec::new();
    let mut open_disputes = Vec::new();
    for (k, ev) in evs.iter_mut().enumerate() {
        match ev {
            Event::Customer(c) => {
                let n: usize = c.id[1..].parse().unwrap();
                if t.usd[n] {
                    c.attrs.push(("currency".into(), "USD".into()));
                }
                c.payment_terms_days = Some(30);
            }
            Event::Document(doc) if doc.kind == DocKind::Invoice => {
                if k % t.by_terms == 0 {
                    doc.due = None;
                }
                invoices.push((doc.id.clone(), doc.customer_id.clone(), doc.issue.0));
            }
            Event::Dispute(x) if x.resolved_on.is_none() => {
                open_disputes.push((x.invoice_id.clone(), x.opened_on.0))
            }
            _ => {}
        }
    }
    for &(day, rate) in &t.rates {
        evs.push(Event::Rate(RateRec {
            date: d(day),
            currency: usd,
            rate_e9: rate,
        }));
    }
    for (k, (id, c, issue)) in invoices.iter().enumerate() {
        evs.push(Event::Action(ActionRec {
            customer_id: c.clone(),
            date: d(*issue + 5),
            kind: "call".into(),
            invoice_id: Some(id.clone()),
            agent: Some(format!("agent {}", k % 3)),
            note: None,
            outcome: None,
        }));
    }
    let customers = g.customers;
    for &(kind, target, effective, value, position) in &t.amends {
        let change = match kind {
            0 if !invoices.is_empty() => {
                let (id, _, issue) = &invoices[target % invoices.len()];
                Change::DueDate {
                    document_id: id.clone(),
                    due: d(issue + value),
                }
            }
            1 if !invoices.is_empty() => Change::InLegal {
                document_id: invoices[target % invoices.len()].0.clone(),
                in_legal: value % 2 == 0,
            },
            2 if !open_disputes.is_empty() => {
                let (id, opened) = &open_disputes[target % open_disputes.len()];
                Change::DisputeResolved {
                    invoice_id: id.clone(),
                    resolved_on: d(opened + value),
                    outcome: Some("settled".into()),
                    comment: Some("agreed".into()),
                }
            }
            3 => {
                let c = target % customers;
                let mut attrs = vec![("region".into(), format!("R{value}"))];
                if t.usd[c] {
                    attrs.push(("currency".into(), "USD".into()));
                }
                Change::Customer(CustomerRec {
                    id: format!("C{c}"),
                    name: format!("Customer {c} renamed"),
                    credit_limit: Some(50_000 + value as i64),
                    payment_terms_days: Some(value),
                    attrs,
                })
            }
            _ => continue,
        };
        let amend = Event::Amend(AmendRec {
            effective: d(effective),
            change,
        });
        // Anywhere after what it names: customers first, documents after them.
        let first = match &amend {
            Event::Amend(AmendRec {
                change: Change::Customer(_),
                ..
            }) => customers,
            _ => evs.len(),
        };
        let at = first + position * (evs.len() - first) / 100;
        evs.insert(at.min(evs.len()), amend);
    }
    evs
}

/// A bulk append of new customers' documents and payments (more than 4 096 allocations, out of
/// date order, some capped) runs the allocation pass over them alone: the same figures as one
/// build of everything.
#[test]
fn a_bulk_of_new_customers_is_allocated_alone() {
    let mut seed = 7u64;
    let mut next = |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    let mut first = Vec::new();
    let mut second = Vec::new();
    for c in 0..40 {
        let part = if c < 20 { &mut first } else { &mut second };
        part.push(Event::Customer(CustomerRec {
            id: format!("C{c}"),
            name: format!("Customer {c}"),
            credit_limit: None,
            payment_terms_days: Some(30),
            attrs: vec![],
        }));
        for k in 0..150 {
            let issue = next(200) as i32;
            part.push(Event::Document(DocumentRec::new(
                format!("I{c}-{k}"),
                format!("C{c}"),
                DocKind::Invoice,
                d(issue),
                1 + next(10_000) as i64,
            )));
            // Two payments per invoice, the second often later than the invoice's others and
            // sometimes more than what is left.
            for p in 0..2 {
                let date = issue + next(90) as i32;
                part.push(Event::Payment(PaymentRec {
                    id: format!("P{c}-{k}-{p}"),
                    customer_id: format!("C{c}"),
                    date: d(date),
                    amount: 1 + next(7_000) as i64,
                    currency: None,
                    invoice_id: Some(format!("I{c}-{k}")),
                    reference: None,
                }));
            }
        }
    }
    let mut all = first.clone();
    all.extend(second.iter().cloned());
    let whole = build(&all);
    let mut part = build(&first);
    let _ = rep(&part, d(100), None); // the per-day totals kept up to date by the append
    let stats = part.append(second).unwrap();
    assert!(!stats.reallocated, "the new customers' allocations alone");
    assert!(part.allocation_count() > 4096);
    for day in [d(50), d(150), d(400)] {
        assert_eq!(
            json(&rep(&whole, day, Some(GroupBy::Customer))),
            json(&rep(&part, day, Some(GroupBy::Customer)))
        );
        assert_eq!(
            json(&invoices(&whole, &Selection::all(), day)),
            json(&invoices(&part, &Selection::all(), day))
        );
    }
    for i in 0..whole.invoice_count() {
        assert_eq!(
            whole.allocs_of(i).collect::<Vec<_>>(),
            part.allocs_of(i).collect::<Vec<_>>()
        );
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
