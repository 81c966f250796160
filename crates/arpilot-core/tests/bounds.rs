//! The claim of `arpilot_core::bounds`: with every amount at most `MAX_AMOUNT`, every date in
//! 1900-01-01..=2199-12-31 and the ledger's gross volume at most `GROSS_LIMIT`, every KPI
//! computes without panic or overflow, as of any supported date.
//!
//! Random small ledgers drawn over the whole supported range (the edges with high probability,
//! amounts at 1 and at the bound) go through every entry point of the engine; the figures are
//! compared with a direct simulation in `i128`. Amounts in other currencies are converted at
//! rates up to `MAX_RATE_E9` without wrapping. Then two deterministic ledgers at the extremes: a
//! gross volume of exactly 2^62 (and the event that would pass it), and a thousand maximal
//! invoices of 1900-01-01 paid on 2199-12-31.
//!
//! The test profile keeps overflow checks on: any wrapping sum or date computation panics here.

use arpilot_core::analytics::{broken_promises, cohorts, rating_history, team};
use arpilot_core::bounds::{GROSS_LIMIT, MAX_RATE_E9, MAX_TERMS_DAYS};
use arpilot_core::customers::{RatingThresholds, customer, customers};
use arpilot_core::daily::Daily;
use arpilot_core::dso;
use arpilot_core::forecast::{Method, auto_method, backtest, forecast, periods};
use arpilot_core::invoices::invoices;
use arpilot_core::ledger::*;
use arpilot_core::money::MAX_AMOUNT;
use arpilot_core::report::{
    AgingConfig, Basis, GroupBy, ProvisionRates, Report, ReportParams, aging, cum_for, r2, report,
    source_unapplied,
};
use arpilot_core::select::Filter;
use arpilot_core::trend::{trend, trend_dates};
use arpilot_core::view::{CurrencyMode, convert, prepare};
use arpilot_core::worklist::{WorklistParams, worklist};
use arpilot_core::{Currency, Day, Selection, Snapshot, codec};
use proptest::prelude::*;
use std::collections::HashMap;

const LO: i32 = Day::FIRST_SUPPORTED.0;
const HI: i32 = Day::LAST_SUPPORTED.0;
const OPEN: i32 = i32::MAX;

// ------------------------------------------------------------------------------ generator

/// A supported date, the edges and their neighbourhoods with high probability.
fn day_s() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => Just(LO),
        3 => Just(HI),
        1 => Just(LO + 1),
        1 => Just(HI - 1),
        1 => LO..LO + 400,
        1 => HI - 400..=HI,
        6 => LO..=HI,
    ]
}

/// An amount of 1..=MAX_AMOUNT, the bound and its neighbour with high probability.
fn amount_s() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => Just(1i64),
        3 => Just(MAX_AMOUNT),
        1 => Just(MAX_AMOUNT - 1),
        3 => 1..=MAX_AMOUNT,
        1 => 1i64..1_000,
    ]
}

fn terms_s() -> impl Strategy<Value = i32> {
    prop_oneof![Just(0), Just(MAX_TERMS_DAYS), 0..=MAX_TERMS_DAYS]
}

/// Days after an earlier date (clamped to the last supported date when added).
fn later_s() -> impl Strategy<Value = i32> {
    prop_oneof![Just(0), 0..=60, 0..=(HI - LO)]
}

#[derive(Debug, Clone)]
struct CustG {
    terms: Option<i32>,
    limit: Option<i64>,
    north: bool,
    collector: Option<u8>,
}

#[derive(Debug, Clone)]
struct InvG {
    cust: usize,
    issue: i32,
    /// Explicit terms; `None`: the customer's terms apply (and may reach past 2199-12-31).
    terms: Option<i32>,
    amount: i64,
    /// 0: in legal collection, 1: disputed from its issue date, else neither.
    flag: u8,
}

#[derive(Debug, Clone)]
struct Gen {
    customers: Vec<CustG>,
    invoices: Vec<InvG>,
    /// (customer, issue, amount, original invoice, write-off)
    credits: Vec<(usize, i32, i64, Option<usize>, bool)>,
    /// (customer, date, amount, invoice)
    payments: Vec<(usize, i32, i64, Option<usize>)>,
    /// (source, invoice, days after both, amount)
    allocs: Vec<(usize, usize, i32, i64)>,
    /// (invoice, opened, days to resolution, amount)
    disputes: Vec<(usize, i32, Option<i32>, Option<i64>)>,
    /// (invoice, promised on, days to due, amount)
    promises: Vec<(usize, i32, i32, i64)>,
    /// (customer, date, invoice)
    actions: Vec<(usize, i32, Option<usize>)>,
    /// (kind, invoice or customer, date, flag, amount)
    amends: Vec<(u8, usize, i32, bool, i64)>,
    /// Where the events are cut into successive appends (percent of the list).
    cuts: Vec<usize>,
    /// A refused event appended after the ledger, by kind.
    bad: Option<(u8, i32, i64)>,
}

fn gen_s() -> impl Strategy<Value = Gen> {
    let cust = (
        prop::option::of(terms_s()),
        prop::option::of(prop_oneof![Just(0i64), Just(MAX_AMOUNT), 0..=MAX_AMOUNT]),
        any::<bool>(),
        prop::option::of(0u8..2),
    )
        .prop_map(|(terms, limit, north, collector)| CustG {
            terms,
            limit,
            north,
            collector,
        });
    let inv = (
        0usize..3,
        day_s(),
        prop::option::of(terms_s()),
        amount_s(),
        0u8..8,
    )
        .prop_map(|(cust, issue, terms, amount, flag)| InvG {
            cust,
            issue,
            terms,
            amount,
            flag,
        });
    (
        (
            prop::collection::vec(cust, 1..4),
            prop::collection::vec(inv, 0..12),
            prop::collection::vec(
                (
                    0usize..3,
                    day_s(),
                    amount_s(),
                    prop::option::of(0usize..12),
                    any::<bool>(),
                ),
                0..4,
            ),
            prop::collection::vec(
                (0usize..3, day_s(), amount_s(), prop::option::of(0usize..12)),
                0..10,
            ),
            prop::collection::vec((0usize..14, 0usize..12, later_s(), amount_s()), 0..8),
        ),
        (
            prop::collection::vec(
                (
                    0usize..12,
                    day_s(),
                    prop::option::of(later_s()),
                    prop::option::of(amount_s()),
                ),
                0..4,
            ),
            prop::collection::vec((0usize..12, day_s(), later_s(), amount_s()), 0..4),
            prop::collection::vec((0usize..3, day_s(), prop::option::of(0usize..12)), 0..4),
            prop::collection::vec(
                (0u8..4, 0usize..12, day_s(), any::<bool>(), amount_s()),
                0..4,
            ),
            prop::collection::vec(0usize..100, 0..4),
            prop::option::weighted(0.3, (0u8..10, day_s(), amount_s())),
        ),
    )
        .prop_map(
            |(
                (customers, invoices, credits, payments, allocs),
                (disputes, promises, actions, amends, cuts, bad),
            )| Gen {
                customers,
                invoices,
                credits,
                payments,
                allocs,
                disputes,
                promises,
                actions,
                amends,
                cuts,
                bad,
            },
        )
}

fn day(x: i32) -> Day {
    Day(x)
}

fn after(x: i32, n: i32) -> i32 {
    x.saturating_add(n).min(HI)
}

fn cid(c: usize) -> String {
    format!("C{c}")
}

/// The events of a generated ledger, consistent by construction (every reference to an
/// earlier event, every date on or after the dates it depends on).
fn events(g: &Gen) -> Vec<Event> {
    let nc = g.customers.len();
    let mut out = Vec::new();
    for (c, cg) in g.customers.iter().enumerate() {
        let mut attrs = vec![(
            "region".to_string(),
            if cg.north { "N" } else { "S" }.to_string(),
        )];
        if let Some(k) = cg.collector {
            attrs.push(("collector".into(), format!("agent{k}")));
        }
        out.push(Event::Customer(CustomerRec {
            id: cid(c),
            name: format!("Customer {c}"),
            credit_limit: cg.limit,
            payment_terms_days: cg.terms,
            attrs,
        }));
    }
    let invs: Vec<(usize, i32)> = g.invoices.iter().map(|x| (x.cust % nc, x.issue)).collect();
    for (k, ig) in g.invoices.iter().enumerate() {
        let (c, issue) = invs[k];
        out.push(Event::Document(DocumentRec {
            due: ig.terms.map(|t| day(after(issue, t))),
            in_legal: ig.flag == 0,
            disputed: ig.flag == 1,
            dispute_reason: (ig.flag == 1).then(|| "price".to_string()),
            attrs: vec![("division".into(), format!("D{}", k % 2))],
            ..DocumentRec::new(
                format!("I{k}"),
                cid(c),
                DocKind::Invoice,
                day(issue),
                ig.amount,
            )
        }));
    }
    // An invoice of customer `c` issued on or before `by`, if any.
    let pick = |c: usize, want: Option<usize>, by: i32| {
        want.and_then(|w| {
            let same: Vec<usize> = (0..invs.len())
                .filter(|&i| invs[i].0 == c && invs[i].1 <= by)
                .collect();
            (!same.is_empty()).then(|| same[w % same.len()])
        })
    };
    let mut sources: Vec<(String, usize, i32)> = Vec::new();
    for (k, &(c, issue, amount, orig, wo)) in g.credits.iter().enumerate() {
        let c = c % nc;
        let id = format!("CN{k}");
        sources.push((id.clone(), c, issue));
        out.push(Event::Document(DocumentRec {
            original_invoice_id: pick(c, orig, issue).map(|i| format!("I{i}")),
            attrs: vec![("division".into(), format!("D{}", k % 2))],
            ..DocumentRec::new(
                id,
                cid(c),
                if wo {
                    DocKind::WriteOff
                } else {
                    DocKind::CreditNote
                },
                day(issue),
                amount,
            )
        }));
    }
    for (k, &(c, date, amount, inv)) in g.payments.iter().enumerate() {
        let c = c % nc;
        let id = format!("P{k}");
        sources.push((id.clone(), c, date));
        out.push(Event::Payment(PaymentRec {
            id,
            customer_id: cid(c),
            date: day(date),
            amount,
            currency: None,
            invoice_id: pick(c, inv, date).map(|i| format!("I{i}")),
            reference: None,
        }));
    }
    if !sources.is_empty() {
        for &(s, i, extra, amount) in &g.allocs {
            let (sid, c, sday) = &sources[s % sources.len()];
            let Some(i) = pick(*c, Some(i), i32::MAX) else {
                continue;
            };
            out.push(Event::Allocation(AllocationRec {
                source_id: sid.clone(),
                invoice_id: format!("I{i}"),
                date: day(after(*sday.max(&invs[i].1), extra)),
                amount,
            }));
        }
    }
    if invs.is_empty() {
        for &(c, date, _) in &g.actions {
            out.push(action(&cid(c % nc), date, None));
        }
        return out;
    }
    // Unresolved disputes per invoice (opening dates), for the resolutions below.
    let mut open_disputes: HashMap<usize, Vec<i32>> = HashMap::new();
    for (k, ig) in g.invoices.iter().enumerate() {
        if ig.flag == 1 {
            open_disputes.entry(k).or_default().push(ig.issue);
        }
    }
    for &(i, opened, res, amount) in &g.disputes {
        let i = i % invs.len();
        if res.is_none() {
            open_disputes.entry(i).or_default().push(opened);
        }
        out.push(Event::Dispute(DisputeRec {
            invoice_id: format!("I{i}"),
            opened_on: day(opened),
            resolved_on: res.map(|r| day(after(opened, r))),
            reason: Some(
                if i.is_multiple_of(2) {
                    "price"
                } else {
                    "quality"
                }
                .into(),
            ),
            amount,
            owner: i.is_multiple_of(3).then(|| "agent1".into()),
        }));
    }
    for &(i, on, len, amount) in &g.promises {
        let i = i % invs.len();
        out.push(Event::Promise(PromiseRec {
            invoice_id: format!("I{i}"),
            promised_on: day(on),
            due_on: day(after(on, len)),
            amount,
        }));
    }
    for &(c, date, inv) in &g.actions {
        let c = c % nc;
        let inv = pick(c, inv, i32::MAX).map(|i| format!("I{i}"));
        out.push(action(&cid(c), date, inv));
    }
    for &(kind, target, date, flag, amount) in &g.amends {
        let i = target % invs.len();
        let change = match kind {
            0 => Change::DueDate {
                document_id: format!("I{i}"),
                due: day(date),
            },
            1 => Change::InLegal {
                document_id: format!("I{i}"),
                in_legal: flag,
            },
            2 => {
                // One resolution per invoice, of a dispute open on that date.
                let Some(opened) = open_disputes.remove(&i) else {
                    continue;
                };
                let first = *opened.iter().min().unwrap();
                Change::DisputeResolved {
                    invoice_id: format!("I{i}"),
                    resolved_on: day(first.max(date)),
                    outcome: flag.then(|| "settled".into()),
                    comment: Some("agreed\non the phone".into()),
                }
            }
            _ => {
                let c = target % nc;
                Change::Customer(CustomerRec {
                    id: cid(c),
                    name: format!("Customer {c} (renamed)"),
                    credit_limit: flag.then_some(amount),
                    payment_terms_days: g.customers[c].terms,
                    attrs: vec![],
                })
            }
        };
        out.push(Event::Amend(AmendRec {
            effective: day(date),
            change,
        }));
    }
    out
}

fn action(c: &str, date: i32, inv: Option<String>) -> Event {
    Event::Action(ActionRec {
        customer_id: c.into(),
        date: day(date),
        kind: if date % 2 == 0 { "call" } else { "email" }.into(),
        invoice_id: inv,
        agent: Some("agent0".into()),
        note: Some("line one\nline two".into()),
        outcome: (date % 3 == 0).then(|| "reached".into()),
    })
}

/// An event the snapshot must refuse, built against the ledger `evs` (`None` when the ledger
/// has nothing it could contradict).
fn bad_event(evs: &[Event], kind: u8, date: i32, amount: i64) -> Option<Event> {
    let inv = |d: i32, a: i64| {
        Event::Document(DocumentRec::new("BAD", "C0", DocKind::Invoice, day(d), a))
    };
    let first_source = evs.iter().find_map(|e| match e {
        Event::Payment(p) if p.date.0 > LO => Some((p.id.clone(), p.date.0)),
        Event::Document(d) if d.kind != DocKind::Invoice && d.issue.0 > LO => {
            Some((d.id.clone(), d.issue.0))
        }
        _ => None,
    });
    let first_invoice = evs.iter().find_map(|e| match e {
        Event::Document(d) if d.kind == DocKind::Invoice => Some(d.id.clone()),
        _ => None,
    });
    Some(match kind {
        0 => inv(date, MAX_AMOUNT + 1),
        1 => inv(HI + 1, amount),
        2 => inv(LO - 1, amount),
        3 => Event::Document(DocumentRec {
            due: Some(day(date - 1)),
            ..DocumentRec::new("BAD", "C0", DocKind::Invoice, day(date.max(LO + 1)), amount)
        }),
        4 => Event::Payment(PaymentRec {
            id: "BAD".into(),
            customer_id: "C0".into(),
            date: day(date),
            amount: 0,
            currency: None,
            invoice_id: None,
            reference: None,
        }),
        5 => {
            // An allocation dated before its source.
            let (src, sday) = first_source?;
            Event::Allocation(AllocationRec {
                source_id: src,
                invoice_id: first_invoice?,
                date: day(LO.max(sday - 1 - (date - LO) % 30)),
                amount,
            })
        }
        6 => Event::Customer(CustomerRec {
            id: "BADC".into(),
            name: "x".into(),
            credit_limit: None,
            payment_terms_days: Some(MAX_TERMS_DAYS + 1),
            attrs: vec![],
        }),
        7 => Event::Rate(RateRec {
            date: day(date),
            currency: Currency::parse("USD").unwrap(),
            rate_e9: MAX_RATE_E9 + 1,
        }),
        8 => Event::Promise(PromiseRec {
            invoice_id: first_invoice?,
            promised_on: day(date.max(LO + 1)),
            due_on: day(date.max(LO + 1) - 1),
            amount,
        }),
        _ => Event::Dispute(DisputeRec {
            invoice_id: first_invoice?,
            opened_on: day(date),
            resolved_on: Some(day(HI + 1)),
            reason: None,
            amount: Some(amount),
            owner: None,
        }),
    })
}

// ------------------------------------------------------------------------------ oracle

#[derive(Debug, Clone)]
struct OInv {
    id: String,
    cust: usize,
    issue: i32,
    due: i32,
    amount: i128,
    legal: bool,
    division: String,
    /// (opened, resolved or OPEN)
    disputes: Vec<(i32, i32)>,
    /// (promised on, due on, amount)
    promises: Vec<(i32, i32, i128)>,
    /// Effective allocations (date, amount).
    allocs: Vec<(i32, i128)>,
}

#[derive(Debug, Clone)]
struct OSrc {
    cust: usize,
    /// 0 payment, 1 credit note, 2 write-off.
    kind: u8,
    day: i32,
    amount: i128,
    division: String,
    allocs: Vec<(i32, i128)>,
}

/// The ledger simulated directly from the events, in `i128`.
#[derive(Debug, Clone, Default)]
struct Oracle {
    cust_ids: Vec<String>,
    north: Vec<bool>,
    invs: Vec<OInv>,
    srcs: Vec<OSrc>,
}

/// Figures at one date.
#[derive(Debug, Default)]
struct Fig {
    balance: i128,
    open: i128,
    open_count: u64,
    overdue: i128,
    not_due: i128,
    unapplied: i128,
    disputed: i128,
    in_legal: i128,
    promised: i128,
    cust_balance: Vec<i128>,
    inv_open: Vec<i128>,
}

impl Oracle {
    fn of(evs: &[Event]) -> Oracle {
        let mut o = Oracle::default();
        let mut terms: Vec<Option<i32>> = Vec::new();
        let mut inv_ix: HashMap<String, usize> = HashMap::new();
        let mut src_ix: HashMap<String, usize> = HashMap::new();
        let mut cust_ix: HashMap<String, usize> = HashMap::new();
        // (date, input order, source, invoice, requested)
        let mut reqs: Vec<(i32, usize, usize, usize, i128)> = Vec::new();
        let attr = |attrs: &[(String, String)], k: &str| {
            attrs
                .iter()
                .find(|x| x.0 == k)
                .map_or(String::new(), |x| x.1.clone())
        };
        for (k, e) in evs.iter().enumerate() {
            match e {
                Event::Customer(c) => {
                    if let Some(&r) = cust_ix.get(&c.id) {
                        terms[r] = c.payment_terms_days;
                    } else {
                        cust_ix.insert(c.id.clone(), o.cust_ids.len());
                        o.cust_ids.push(c.id.clone());
                        o.north.push(attr(&c.attrs, "region") == "N");
                        terms.push(c.payment_terms_days);
                    }
                }
                Event::Document(d) => {
                    let c = cust_ix[&d.customer_id];
                    if d.kind == DocKind::Invoice {
                        inv_ix.insert(d.id.clone(), o.invs.len());
                        o.invs.push(OInv {
                            id: d.id.clone(),
                            cust: c,
                            issue: d.issue.0,
                            due: d.due.map_or(d.issue.0 + terms[c].unwrap_or(0), |x| x.0),
                            amount: d.amount as i128,
                            legal: d.in_legal,
                            division: attr(&d.attrs, "division"),
                            disputes: if d.disputed {
                                vec![(d.issue.0, OPEN)]
                            } else {
                                vec![]
                            },
                            promises: vec![],
                            allocs: vec![],
                        });
                    } else {
                        src_ix.insert(d.id.clone(), o.srcs.len());
                        if let Some(orig) = &d.original_invoice_id {
                            reqs.push((d.issue.0, k, o.srcs.len(), inv_ix[orig], d.amount as i128));
                        }
                        o.srcs.push(OSrc {
                            cust: c,
                            kind: if d.kind == DocKind::CreditNote { 1 } else { 2 },
                            day: d.issue.0,
                            amount: d.amount as i128,
                            division: attr(&d.attrs, "division"),
                            allocs: vec![],
                        });
                    }
                }
                Event::Payment(p) => {
                    src_ix.insert(p.id.clone(), o.srcs.len());
                    if let Some(i) = &p.invoice_id {
                        reqs.push((p.date.0, k, o.srcs.len(), inv_ix[i], p.amount as i128));
                    }
                    o.srcs.push(OSrc {
                        cust: cust_ix[&p.customer_id],
                        kind: 0,
                        day: p.date.0,
                        amount: p.amount as i128,
                        division: String::new(),
                        allocs: vec![],
                    });
                }
                Event::Allocation(a) => reqs.push((
                    a.date.0,
                    k,
                    src_ix[&a.source_id],
                    inv_ix[&a.invoice_id],
                    a.amount as i128,
                )),
                Event::Dispute(d) => o.invs[inv_ix[&d.invoice_id]]
                    .disputes
                    .push((d.opened_on.0, d.resolved_on.map_or(OPEN, |r| r.0))),
                Event::Promise(p) => o.invs[inv_ix[&p.invoice_id]].promises.push((
                    p.promised_on.0,
                    p.due_on.0,
                    p.amount as i128,
                )),
                Event::Amend(a) => match &a.change {
                    Change::DueDate { document_id, due } => {
                        o.invs[inv_ix[document_id]].due = due.0;
                    }
                    Change::InLegal {
                        document_id,
                        in_legal,
                    } => o.invs[inv_ix[document_id]].legal = *in_legal,
                    Change::DisputeResolved {
                        invoice_id,
                        resolved_on,
                        ..
                    } => {
                        for d in &mut o.invs[inv_ix[invoice_id]].disputes {
                            if d.1 == OPEN && d.0 <= resolved_on.0 {
                                d.1 = resolved_on.0;
                            }
                        }
                    }
                    Change::Customer(c) => terms[cust_ix[&c.id]] = c.payment_terms_days,
                },
                Event::Action(_) | Event::Rate(_) | Event::Followup(_) => {}
                // The generated ledgers hold no bank receipts.
                Event::Receipt(_) | Event::Cash(_) | Event::Reminder(_) => {
                    unreachable!("not generated")
                }
            }
        }
        // The allocation rule: requests by date then input order, capped by what is left on
        // the invoice and on the source.
        reqs.sort_by_key(|r| (r.0, r.1));
        let mut inv_rem: Vec<i128> = o.invs.iter().map(|i| i.amount).collect();
        let mut src_rem: Vec<i128> = o.srcs.iter().map(|s| s.amount).collect();
        for (d, _, s, i, req) in reqs {
            let eff = req.min(inv_rem[i]).min(src_rem[s]);
            inv_rem[i] -= eff;
            src_rem[s] -= eff;
            o.invs[i].allocs.push((d, eff));
            o.srcs[s].allocs.push((d, eff));
        }
        o
    }

    fn open_at(&self, i: usize, d: i32) -> i128 {
        let inv = &self.invs[i];
        if inv.issue > d {
            return 0;
        }
        inv.amount
            - inv
                .allocs
                .iter()
                .filter(|a| a.0 <= d)
                .map(|a| a.1)
                .sum::<i128>()
    }

    fn unapplied_at(&self, s: usize, d: i32) -> i128 {
        let src = &self.srcs[s];
        if src.day > d {
            return 0;
        }
        -(src.amount
            - src
                .allocs
                .iter()
                .filter(|a| a.0 <= d)
                .map(|a| a.1)
                .sum::<i128>())
    }

    fn at(&self, d: i32) -> Fig {
        let mut f = Fig {
            cust_balance: vec![0; self.cust_ids.len()],
            ..Fig::default()
        };
        for (i, inv) in self.invs.iter().enumerate() {
            let open = self.open_at(i, d);
            f.inv_open.push(open);
            if inv.issue > d {
                continue;
            }
            // Balance straight from the documents: invoices issued by d.
            f.balance += inv.amount;
            f.cust_balance[inv.cust] += inv.amount;
            if open <= 0 {
                continue;
            }
            f.open += open;
            f.open_count += 1;
            if inv.due < d {
                f.overdue += open;
            } else {
                f.not_due += open;
            }
            if inv.disputes.iter().any(|&(o, r)| o <= d && d < r) {
                f.disputed += open;
            }
            if inv.legal {
                f.in_legal += open;
            }
            let promised: i128 = inv
                .promises
                .iter()
                .filter(|p| p.0 <= d && d <= p.1)
                .map(|p| p.2)
                .sum();
            f.promised += promised.min(open);
        }
        for s in &self.srcs {
            if s.day <= d {
                f.balance -= s.amount;
                f.cust_balance[s.cust] -= s.amount;
            }
        }
        f.unapplied = f.balance - f.open;
        f
    }

    /// Open invoices plus unapplied sources among the selected ones.
    fn balance_of(&self, d: i32, inv: impl Fn(&OInv) -> bool, src: impl Fn(&OSrc) -> bool) -> i128 {
        let a: i128 = (0..self.invs.len())
            .filter(|&i| inv(&self.invs[i]))
            .map(|i| self.open_at(i, d))
            .sum();
        let b: i128 = (0..self.srcs.len())
            .filter(|&s| src(&self.srcs[s]))
            .map(|s| self.unapplied_at(s, d))
            .sum();
        a + b
    }

    fn payments(&self, from_excl: i32, to: i32) -> i128 {
        self.srcs
            .iter()
            .filter(|s| s.kind == 0 && s.day > from_excl && s.day <= to)
            .map(|s| s.amount)
            .sum()
    }
}

// ------------------------------------------------------------------------------ checks

fn m(x: arpilot_core::Money) -> i128 {
    x.minor as i128
}

/// A serialised amount ("-1234.56") back to minor units of a 2-decimal currency.
fn parse_money(v: &serde_json::Value) -> i128 {
    let s = v.as_str().expect("amounts are serialised as strings");
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s),
    };
    let (i, f) = t.split_once('.').expect("two decimals");
    assert_eq!(f.len(), 2, "{s}");
    let v = i.parse::<i128>().unwrap() * 100 + f.parse::<i128>().unwrap();
    if neg { -v } else { v }
}

fn finite(xs: impl IntoIterator<Item = Option<f64>>) -> bool {
    xs.into_iter().flatten().all(f64::is_finite)
}

fn report_floats(r: &Report) -> Vec<Option<f64>> {
    let mut v = vec![
        Some(r.dso.countback),
        r.dso.standard,
        r.dso.best_possible,
        r.dso.delinquent,
        r.dbt,
        r.cei.month,
        r.cei.rolling_90,
        r.collection_rate.rate,
        r.cash.collection_ratio_month,
        r.receivables_turnover,
        r.bad_debt_ratio,
        r.disputes.resolution_rate_90_days,
        r.disputes.avg_resolution_days_90_days,
        r.disputes.dispute_dso,
        r.promises.kept_rate_90_days,
    ];
    v.extend(r.provisions.by_bucket.iter().map(|p| Some(p.rate)));
    v
}

/// What holds of any report, whatever the selection and parameters.
fn check_report_shape(r: &Report, p: &ReportParams) -> Result<(), TestCaseError> {
    let t = &r.totals;
    let buckets: i128 = r.aging.iter().map(|b| m(b.amount)).sum();
    prop_assert_eq!(buckets, m(t.open_invoices));
    prop_assert_eq!(buckets + m(t.unapplied), m(t.balance));
    prop_assert_eq!(m(t.not_due) + m(t.overdue), m(t.open_invoices));
    prop_assert!(t.overdue.minor >= 0 && t.not_due.minor >= 0 && t.unapplied.minor <= 0);
    for x in [t.disputed, t.in_legal, t.promised] {
        prop_assert!(x.minor >= 0 && x.minor <= t.open_invoices.minor);
    }
    prop_assert_eq!(r.aging.len(), p.aging.bucket_count());
    let mat: i128 = r.maturity.iter().map(|x| m(x.amount)).sum();
    prop_assert_eq!(mat, m(t.open_invoices));
    prop_assert_eq!(m(r.maturity[0].amount), m(t.overdue));
    let prov: i128 = r.provisions.by_bucket.iter().map(|x| m(x.amount)).sum();
    prop_assert_eq!(prov, m(r.provisions.total));
    for (pr, b) in r.provisions.by_bucket.iter().zip(&r.aging) {
        prop_assert!(pr.amount.minor >= 0 && pr.amount.minor <= b.amount.minor);
    }
    let cr = &r.collection_rate;
    prop_assert_eq!(
        m(cr.remaining),
        m(cr.to_collect) - m(cr.collected) - m(cr.credited)
    );
    prop_assert_eq!(r.disputes.open_amount, t.disputed);
    prop_assert_eq!(r.promises.open_amount, t.promised);
    prop_assert!(r.top_debtors.len() <= p.top && r.top_overdue_invoices.len() <= p.top);
    for o in &r.top_overdue_invoices {
        prop_assert!(o.days_overdue > 0 && o.open_amount.minor > 0);
    }
    prop_assert!(finite(report_floats(r)), "{:?}", report_floats(r));
    if let Some(g) = &r.groups {
        let mut total = 0i128;
        for row in &g.rows {
            let sum: i128 = row.amounts.iter().map(|&x| m(x)).sum::<i128>() + m(row.unapplied);
            prop_assert_eq!(sum, m(row.balance), "row {}", row.key);
            total += m(row.balance);
        }
        prop_assert_eq!(total, m(t.balance), "groups by {}", g.by);
    }
    // Serialised: amounts are decimal strings that read back to the same minor units.
    let text = serde_json::to_string(r).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    prop_assert_eq!(parse_money(&v["totals"]["balance"]), m(t.balance));
    prop_assert_eq!(parse_money(&v["totals"]["overdue"]), m(t.overdue));
    prop_assert_eq!(parse_money(&v["totals"]["unapplied"]), m(t.unapplied));
    Ok(())
}

/// Aging bounds, issue basis, provision rates (basis points), disputed and in-legal rates, top.
type ParamsG = (Vec<i32>, bool, Vec<i64>, Option<i64>, Option<i64>, usize);

/// Parameters beyond the defaults: other buckets (down to one day, up to the largest bound),
/// the issue-date basis, provision rates up to 100 %, several sizes of top lists.
fn params_s() -> impl Strategy<Value = ParamsG> {
    (
        prop_oneof![
            Just(vec![30, 60, 90, 120]),
            Just(vec![1]),
            Just(vec![100_000]),
            Just((1..250).collect::<Vec<i32>>()),
            prop::collection::btree_set(1i32..=100_000, 1..6)
                .prop_map(|s| s.into_iter().collect::<Vec<_>>()),
        ],
        any::<bool>(),
        prop::collection::vec(prop_oneof![Just(0i64), Just(10_000i64), 0i64..=10_000], 251),
        prop::option::of(0i64..=10_000),
        prop::option::of(0i64..=10_000),
        prop_oneof![Just(0usize), Just(1), Just(6), Just(1000)],
    )
}

fn make_params(d: Day, (bounds, issue, rates, disputed, in_legal, top): &ParamsG) -> ReportParams {
    let aging = AgingConfig::new(
        bounds.clone(),
        if *issue { Basis::Issue } else { Basis::Due },
    )
    .unwrap();
    let nb = aging.bucket_count();
    ReportParams {
        as_of: d,
        provisions: ProvisionRates {
            buckets: rates[..nb].to_vec(),
            disputed: *disputed,
            in_legal: *in_legal,
        },
        aging,
        top: *top,
        by: None,
    }
}

fn rep(s: &Snapshot, sel: &Selection, p: &ReportParams, by: Option<GroupBy>) -> Report {
    let mut p = p.clone();
    p.by = by;
    report(s, sel, &p).expect("valid parameters")
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

/// The report and the kernels behind it as of `d`, against the oracle: with the generated
/// parameters, every grouping, a customer and a document selection, no selection at all.
fn check_reports(s: &Snapshot, o: &Oracle, d: Day, p: &ReportParams) -> Result<(), TestCaseError> {
    let all = Selection::all();
    let f = o.at(d.0);

    let r = rep(s, &all, p, None);
    check_report_shape(&r, p)?;
    let t = &r.totals;
    prop_assert_eq!(m(t.balance), f.balance);
    prop_assert_eq!(m(t.open_invoices), f.open);
    prop_assert_eq!(m(t.overdue), f.overdue);
    prop_assert_eq!(m(t.not_due), f.not_due);
    prop_assert_eq!(m(t.unapplied), f.unapplied);
    prop_assert_eq!(m(t.disputed), f.disputed);
    prop_assert_eq!(m(t.in_legal), f.in_legal);
    prop_assert_eq!(m(t.promised), f.promised);
    prop_assert_eq!(r.aging.iter().map(|b| b.count).sum::<u64>(), f.open_count);
    prop_assert_eq!(
        m(r.cash.collected_month),
        o.payments(d.month_start().0 - 1, d.0)
    );
    prop_assert_eq!(m(r.cash.collected_90_days), o.payments(d.0 - 90, d.0));
    for debtor in &r.top_debtors {
        let c = o
            .cust_ids
            .iter()
            .position(|x| *x == debtor.customer_id)
            .unwrap();
        prop_assert_eq!(m(debtor.balance), f.cust_balance[c]);
    }
    let mut groupings = vec![
        GroupBy::Customer,
        GroupBy::Invoice,
        GroupBy::Dim("region".into()),
    ];
    if s.customers.dims.get("collector").is_some() {
        groupings.push(GroupBy::Dim("collector".into()));
    }
    if !o.invs.is_empty() || o.srcs.iter().any(|x| x.kind != 0) {
        groupings.push(GroupBy::Dim("division".into()));
    }
    for by in groupings {
        let g = rep(s, &all, p, Some(by.clone()));
        check_report_shape(&g, p)?;
        prop_assert_eq!(&g.totals, t);
        if by == GroupBy::Customer {
            for row in &g.groups.as_ref().unwrap().rows {
                let c = o.cust_ids.iter().position(|x| *x == row.key).unwrap();
                prop_assert_eq!(m(row.balance), f.cust_balance[c]);
            }
        }
    }
    let (buckets, unapplied) = aging(s, &all, d, &p.aging);
    let aged: i128 = buckets.iter().map(|b| b.0 as i128).sum();
    prop_assert_eq!(aged, f.open);
    prop_assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), f.open_count);
    prop_assert_eq!(unapplied as i128, f.unapplied);
    prop_assert_eq!(
        source_unapplied(s, d.0)
            .iter()
            .map(|&x| x as i128)
            .sum::<i128>(),
        f.unapplied
    );

    // Running totals and the DSO family.
    let cum = cum_for(s, &all);
    prop_assert_eq!(cum.balance(d.0) as i128, f.balance);
    prop_assert_eq!(cum.open_invoices(d.0) as i128, f.open);
    prop_assert_eq!(cum.unapplied(d.0) as i128, f.unapplied);
    let cb = dso::countback(&cum, d);
    prop_assert!(cb.days.is_finite() && cb.days >= 0.0);
    prop_assert_eq!(r2(cb.days), r.dso.countback);
    prop_assert!(finite([
        dso::per_90_days(&cum, d, cum.balance(d.0)),
        dso::cei_month(&cum, d, t.not_due.minor),
        dso::cei_rolling_90(&cum, d, t.not_due.minor),
    ]));

    // Selections: a customer dimension, a document dimension, a mask, nothing.
    let north = Selection::resolve(
        s,
        &[Filter {
            name: "region".into(),
            value: "N".into(),
        }],
    )
    .unwrap();
    let want: i128 = (0..o.cust_ids.len())
        .filter(|&c| o.north[c])
        .map(|c| f.cust_balance[c])
        .sum();
    let daily = Daily::of(s, &north).cumulative();
    prop_assert_eq!(daily.balance(d.0) as i128, want);
    let rn = report(s, &north, p).unwrap();
    check_report_shape(&rn, p)?;
    prop_assert_eq!(m(rn.totals.balance), want);
    let division = Selection::resolve(
        s,
        &[Filter {
            name: "division".into(),
            value: "D0".into(),
        }],
    );
    match division {
        Ok(sel) => {
            let issued_by = {
                let d = d.0;
                sel.with_invoices_of(s, move |i| s.invoices.issue[i] <= d)
            };
            let rd = rep(s, &issued_by, p, Some(GroupBy::Invoice));
            check_report_shape(&rd, p)?;
            let want = o.balance_of(
                d.0,
                |i| i.division == "D0" && i.issue <= d.0,
                |x| x.division == "D0",
            );
            prop_assert_eq!(m(rd.totals.balance), want);
        }
        Err(_) => prop_assert!(o.invs.is_empty() && o.srcs.iter().all(|x| x.kind == 0)),
    }
    let none = Selection::none(s);
    prop_assert!(invoices(s, &none, d).is_empty());
    prop_assert!(customers(s, &none, d, &RatingThresholds::default()).is_empty());
    Ok(())
}

/// Every other entry point as of `d`: customers, rating history, invoices, trend, forecast and
/// back-test, cohorts, team, broken promises, worklist.
fn check_views(
    s: &Snapshot,
    o: &Oracle,
    d: Day,
    method: Method,
    months: usize,
) -> Result<(), TestCaseError> {
    let all = Selection::all();
    let f = o.at(d.0);
    let def = ReportParams::new(d);
    let th = RatingThresholds::default();

    // Customers, one by one and all together, and their rating history.
    let rows = customers(s, &all, d, &th);
    prop_assert_eq!(rows.len(), o.cust_ids.len());
    for row in &rows {
        let c = o
            .cust_ids
            .iter()
            .position(|x| *x == row.customer_id)
            .unwrap();
        prop_assert_eq!(m(row.balance), f.cust_balance[c]);
        prop_assert_eq!(m(row.open_invoices) + m(row.unapplied), m(row.balance));
        prop_assert_eq!(m(row.not_due) + m(row.overdue), m(row.open_invoices));
        prop_assert!(finite([
            Some(row.dso_countback),
            row.avg_days_late,
            row.days_to_pay,
            row.revenue_share_ytd,
            row.rating_percentile,
            row.credit_use,
        ]));
        let one = customer(s, &all, d, &th, &row.customer_id);
        prop_assert_eq!(one.as_ref(), Some(row));
        let h = rating_history(s, &all, &row.customer_id, d, 12, &th).unwrap();
        prop_assert_eq!(h.len(), 13);
        for pt in [&h[0], &h[12]] {
            let at = customer(s, &all, pt.date, &th, &row.customer_id).unwrap();
            prop_assert_eq!(pt.avg_days_late, at.avg_days_late);
            prop_assert_eq!(pt.rating, at.rating);
            prop_assert_eq!(pt.percentile, at.rating_percentile);
        }
        prop_assert!(finite(
            h.iter().flat_map(|p| [p.avg_days_late, p.percentile])
        ));
    }
    prop_assert_eq!(rows.iter().map(|r| m(r.balance)).sum::<i128>(), f.balance);
    json(&rows);

    // Invoices.
    let inv_rows = invoices(s, &all, d);
    let mut issued: Vec<usize> = (0..o.invs.len())
        .filter(|&i| o.invs[i].issue <= d.0)
        .collect();
    // Listed by issue date, then id.
    issued
        .sort_by(|&a, &b| (o.invs[a].issue, &o.invs[a].id).cmp(&(o.invs[b].issue, &o.invs[b].id)));
    prop_assert_eq!(inv_rows.len(), issued.len());
    for (row, &i) in inv_rows.iter().zip(&issued) {
        prop_assert_eq!(&row.document_id, &o.invs[i].id);
        prop_assert_eq!(m(row.open_amount), f.inv_open[i]);
        prop_assert_eq!(row.due_date.0, o.invs[i].due);
    }
    json(&inv_rows);

    // The trend: every point against the oracle at its own date.
    let pts = trend(s, &all, d, months);
    prop_assert_eq!(pts.len(), months);
    prop_assert_eq!(
        pts.iter().map(|p| p.date).collect::<Vec<_>>(),
        trend_dates(d, months)
    );
    prop_assert_eq!(m(pts.last().unwrap().balance), f.balance);
    for p in &pts {
        let fp = o.at(p.date.0);
        prop_assert_eq!(m(p.balance), fp.balance, "{}", p.date);
        prop_assert_eq!(m(p.not_due), fp.not_due, "{}", p.date);
        prop_assert_eq!(m(p.overdue), fp.overdue, "{}", p.date);
        prop_assert_eq!(m(p.unapplied), fp.unapplied, "{}", p.date);
        prop_assert!(finite([
            Some(p.dso_countback),
            p.dso_standard,
            p.dso_best_possible,
            p.dso_delinquent,
            p.dbt,
            p.cei_month,
            p.cei_rolling_90,
        ]));
    }
    json(&pts);

    // Forecasts spread exactly what is open (up to the rounding of each period).
    for method in [Method::Auto, method] {
        let fc = forecast(s, &all, d, method, 6);
        if method == Method::Auto {
            prop_assert_eq!(fc.method_used, auto_method(s, &all, d));
        }
        prop_assert_eq!(fc.past.len(), 7);
        prop_assert_eq!(
            m(fc.past.last().unwrap().collected),
            o.payments(d.month_start().0 - 1, d.0)
        );
        let spread: i128 = fc.future.iter().map(|x| m(x.expected)).sum();
        prop_assert!(fc.future.iter().all(|x| x.expected.minor >= 0));
        let tol = 3 + f.open / 1_000_000_000;
        prop_assert!(
            (spread - f.open).abs() <= tol,
            "{:?}: spread {} for {} open",
            method,
            spread,
            f.open
        );
        json(&fc);
    }
    let (labels, ends) = periods(d);
    prop_assert_eq!(labels.len(), ends.len());
    let bt = backtest(s, &all, d.month_end_offset(-6), d);
    prop_assert_eq!(bt.detail.len(), bt.month_ends.len());
    prop_assert!(finite(
        bt.methods
            .iter()
            .flat_map(|x| x.wape.iter().chain(&x.wape_by_customer).copied())
    ));
    json(&bt);

    // Cohorts, over the last two years and over the whole supported range.
    for months in [24usize, 3_600] {
        let co = cohorts(s, &all, d, months);
        prop_assert_eq!(co.len(), months);
        let first = d.month_end_offset(1 - months as i32).month_start().0;
        let want: i128 = o
            .invs
            .iter()
            .filter(|i| i.issue >= first && i.issue <= d.0)
            .map(|i| i.amount)
            .sum();
        prop_assert_eq!(co.iter().map(|c| m(c.amount)).sum::<i128>(), want);
        let open: i128 = (0..o.invs.len())
            .filter(|&i| o.invs[i].issue >= first)
            .map(|i| f.inv_open[i])
            .sum();
        prop_assert_eq!(co.iter().map(|c| m(c.open)).sum::<i128>(), open);
        prop_assert!(finite(co.iter().flat_map(|c| c.collected_pct)));
        json(&co);
    }

    // Team, broken promises, worklist.
    let tm = team(s, &all, &def).unwrap();
    if s.customers.dims.get("collector").is_some() {
        prop_assert_eq!(tm.iter().map(|x| m(x.balance)).sum::<i128>(), f.balance);
        prop_assert!(finite(
            tm.iter()
                .flat_map(|x| [x.collection_rate, x.days_to_collect])
        ));
    }
    json(&tm);
    let bp = broken_promises(s, &all, d);
    prop_assert!(bp.iter().all(|b| b.paid_by_due < b.amount));
    json(&bp);
    let wl = worklist(s, &all, d, &th, &WorklistParams::default());
    for w in &wl {
        let row = rows
            .iter()
            .find(|r| r.customer_id == w.customer_id)
            .unwrap();
        prop_assert_eq!(w.overdue, row.overdue);
        prop_assert!(w.score.is_finite() && w.at_stake.minor >= 0);
        prop_assert!(w.at_stake.minor <= row.open_invoices.minor);
    }
    json(&wl);
    Ok(())
}

/// A generated ledger: its events (whose stored form survives a round trip), the snapshot and
/// the oracle.
fn setup(g: &Gen) -> Result<(Vec<Event>, Snapshot, Oracle), TestCaseError> {
    let evs = events(g);
    for e in &evs {
        let (k, text) = codec::encode(e);
        prop_assert_eq!(&codec::decode(k, &text).unwrap(), e);
    }
    let s = Snapshot::build(Currency::EUR, evs.clone()).expect("generated ledgers are valid");
    let o = Oracle::of(&evs);
    Ok((evs, s, o))
}

fn method_s() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::Distribution,
        Method::MeanDelay,
        Method::DueDate,
    ])
}

proptest! {
    // A ledger spanning the supported range makes every running total 110 000 days long: each
    // case costs tens of milliseconds, hence one date per ledger (an edge 3 times in 8).
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn reports_compute_over_the_supported_range(
        g in gen_s(),
        as_of in day_s(),
        params in params_s(),
    ) {
        let (evs, mut s, o) = setup(&g)?;
        let d = Day(as_of);
        check_reports(&s, &o, d, &make_params(d, &params))?;

        // The same ledger appended in pieces is the same snapshot.
        let mut cuts: Vec<usize> = g.cuts.iter().map(|c| c * evs.len() / 100).collect();
        cuts.sort_unstable();
        cuts.push(evs.len());
        let mut inc = Snapshot::new(Currency::EUR);
        let mut from = 0;
        for c in cuts {
            inc.append(evs[from..c].to_vec()).expect("valid");
            // Warm the cached daily totals so that later appends update them in place.
            let _ = cum_for(&inc, &Selection::all());
            from = c;
        }
        let p = ReportParams::new(d);
        prop_assert_eq!(
            json(&rep(&s, &Selection::all(), &p, Some(GroupBy::Invoice))),
            json(&rep(&inc, &Selection::all(), &p, Some(GroupBy::Invoice)))
        );

        // A refused event is an error, never a panic, and changes nothing.
        if let Some((kind, date, amount)) = g.bad
            && let Some(bad) = bad_event(&evs, kind, date, amount)
        {
            let before = json(&rep(&s, &Selection::all(), &p, Some(GroupBy::Customer)));
            let ok = Event::Customer(CustomerRec {
                id: "NEW".into(),
                name: "New".into(),
                credit_limit: Some(MAX_AMOUNT),
                payment_terms_days: None,
                attrs: vec![("region".into(), "N".into())],
            });
            let err = s.append(vec![ok, bad.clone()]).unwrap_err();
            prop_assert_eq!(err.index, 1, "{:?}", err);
            prop_assert!(
                !matches!(err.error, LedgerError::DuplicateId(_) | LedgerError::UnknownCustomer(_)),
                "{:?} refused for the wrong reason: {}", bad, err
            );
            prop_assert_eq!(before, json(&rep(&s, &Selection::all(), &p, Some(GroupBy::Customer))));
            prop_assert!(s.customers.ids.find("NEW").is_none());
        }
    }

    #[test]
    fn other_kpis_compute_over_the_supported_range(
        g in gen_s(),
        as_of in day_s(),
        method in method_s(),
        months in prop_oneof![Just(1usize), Just(13), Just(240)],
    ) {
        let (_, s, o) = setup(&g)?;
        check_views(&s, &o, Day(as_of), method, months)?;
    }

    /// Amounts in another currency at rates up to the bound: converted exactly, or to a value
    /// the snapshot refuses; never wrapped around into another amount.
    #[test]
    fn converted_amounts_never_wrap(
        amount in amount_s(),
        rate in prop_oneof![Just(MAX_RATE_E9), Just(1i64), 1..=MAX_RATE_E9],
        from in prop::sample::select(vec!["JPY", "USD", "KWD"]),
        to in prop::sample::select(vec!["JPY", "EUR", "KWD"]),
        date in day_s(),
    ) {
        let (from, to) = (Currency::parse(from).unwrap(), Currency::parse(to).unwrap());
        prop_assume!(from != to);
        check_conversion(amount, from, to, rate, date)?;
    }
}

fn check_conversion(
    amount: i64,
    from: Currency,
    to: Currency,
    rate: i64,
    date: i32,
) -> Result<(), TestCaseError> {
    let exact = {
        let num = amount as i128 * rate as i128 * 10i128.pow(to.decimals() as u32);
        let den = 1_000_000_000i128 * 10i128.pow(from.decimals() as u32);
        (num + den / 2) / den
    };
    let got = convert(amount, from, to, rate) as i128;
    if exact <= i64::MAX as i128 {
        prop_assert_eq!(got, exact);
    } else {
        prop_assert!(got > MAX_AMOUNT as i128, "{} converted to {}", exact, got);
    }
    let mut evs = vec![
        Event::Rate(RateRec {
            date: Day(LO),
            currency: from,
            rate_e9: rate,
        }),
        Event::Customer(CustomerRec {
            id: "C".into(),
            name: "C".into(),
            credit_limit: None,
            payment_terms_days: None,
            attrs: vec![("currency".into(), from.code().into())],
        }),
        Event::Document(DocumentRec::new(
            "I",
            "C",
            DocKind::Invoice,
            Day(date),
            amount,
        )),
    ];
    prepare(&mut evs, Some(Day(HI)), CurrencyMode::Convert(to)).unwrap();
    match Snapshot::build(to, evs) {
        Ok(s) => {
            prop_assert_eq!(s.invoices.amount[0] as i128, exact);
            let r = report(&s, &Selection::all(), &ReportParams::new(Day(HI))).unwrap();
            prop_assert_eq!(r.totals.balance.minor as i128, exact);
        }
        Err(e) => {
            prop_assert!(
                exact > MAX_AMOUNT as i128 || exact == 0,
                "{} refused: {}",
                exact,
                e
            );
            prop_assert_eq!(e.error.column(), Some("amount"));
        }
    }
    Ok(())
}

/// 18 446 744 074 yen at the largest rate (a million dinars per yen) is 2^64 + 290 448 384 fils:
/// a conversion wrapping around in 64 bits would let 290 448.384 KWD into the ledger.
#[test]
fn a_conversion_past_64_bits_is_refused_not_wrapped() {
    let (jpy, kwd) = (
        Currency::parse("JPY").unwrap(),
        Currency::parse("KWD").unwrap(),
    );
    check_conversion(18_446_744_074, jpy, kwd, MAX_RATE_E9, LO).unwrap();
    check_conversion(MAX_AMOUNT, jpy, kwd, MAX_RATE_E9, HI).unwrap();
    check_conversion(MAX_AMOUNT, Currency::EUR, kwd, MAX_RATE_E9, HI).unwrap();
}

// ------------------------------------------------------------------------------ extremes

fn inv_ev(id: &str, c: &str, issue: i32, due: i32, amount: i64) -> Event {
    Event::Document(DocumentRec {
        due: Some(Day(due)),
        ..DocumentRec::new(id, c, DocKind::Invoice, Day(issue), amount)
    })
}

fn pay_ev(id: &str, c: &str, date: i32, amount: i64, inv: Option<String>) -> Event {
    Event::Payment(PaymentRec {
        id: id.into(),
        customer_id: c.into(),
        date: Day(date),
        amount,
        currency: None,
        invoice_id: inv,
        reference: None,
    })
}

fn cust_ev(id: &str, limit: Option<i64>) -> Event {
    Event::Customer(CustomerRec {
        id: id.into(),
        name: format!("Customer {id}"),
        credit_limit: limit,
        payment_terms_days: None,
        attrs: vec![("collector".into(), "agent".into())],
    })
}

/// A ledger at exactly 2^62 of gross volume: every figure is still exact, and any event that
/// would add one minor unit more is refused as an amount, leaving the snapshot as it was.
#[test]
fn gross_volume_stops_at_the_limit() {
    let per = MAX_AMOUNT as i128;
    let n = (GROSS_LIMIT / per) as usize;
    let rest = (GROSS_LIMIT % per) as i64;
    assert_eq!(n, 461_168);
    let span = HI - LO + 1;
    let issue = |k: usize| LO + ((k as i64 * 7_919) % span as i64) as i32;
    let start = std::time::Instant::now();
    let mut evs = vec![cust_ev("C", None), cust_ev("D", Some(0))];
    evs.extend((0..n).map(|k| {
        let i = issue(k);
        inv_ev(
            &format!("I{k}"),
            if k % 2 == 0 { "C" } else { "D" },
            i,
            after(i, (k % 3_651) as i32),
            MAX_AMOUNT,
        )
    }));
    let mut s = Snapshot::build(Currency::EUR, evs).unwrap();
    eprintln!(
        "{n} invoices of MAX_AMOUNT appended in {:?}",
        start.elapsed()
    );

    // A batch that would pass the limit is refused whole, and its volume given back.
    let at_hi = ReportParams::new(Day(HI));
    let all = Selection::all();
    let snapshot_json = |s: &Snapshot| json(&rep(s, &all, &at_hi, Some(GroupBy::Customer)));
    let before = snapshot_json(&s);
    let err = s
        .append(vec![
            inv_ev("LAST", "C", HI, HI, rest),
            pay_ev("P", "C", HI, 1, None),
        ])
        .unwrap_err();
    assert_eq!(err.index, 1);
    assert!(
        matches!(
            err.error,
            LedgerError::Field {
                field: "amount",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(before, snapshot_json(&s));
    assert_eq!(s.invoice_count(), n);
    // Exactly at the limit: accepted.
    s.append(vec![inv_ev("LAST", "C", HI, HI, rest)]).unwrap();
    // Events without an amount still enter.
    s.append(vec![Event::Action(ActionRec {
        customer_id: "C".into(),
        date: Day(HI),
        kind: "call".into(),
        invoice_id: Some("LAST".into()),
        agent: None,
        note: None,
        outcome: None,
    })])
    .unwrap();

    let before = snapshot_json(&s);
    let one_more = [
        inv_ev("X", "C", HI, HI, 1),
        Event::Document(DocumentRec::new("X", "C", DocKind::CreditNote, Day(LO), 1)),
        pay_ev("X", "D", LO, 1, None),
        cust_ev("C", Some(1)),
        cust_ev("NEW", Some(1)),
        Event::Amend(AmendRec {
            effective: Day(HI),
            change: Change::Customer(CustomerRec {
                id: "C".into(),
                name: "C".into(),
                credit_limit: Some(1),
                payment_terms_days: None,
                attrs: vec![],
            }),
        }),
        Event::Promise(PromiseRec {
            invoice_id: "I0".into(),
            promised_on: Day(LO),
            due_on: Day(HI),
            amount: 1,
        }),
        Event::Dispute(DisputeRec {
            invoice_id: "I0".into(),
            opened_on: Day(LO),
            resolved_on: None,
            reason: None,
            amount: Some(1),
            owner: None,
        }),
        Event::Allocation(AllocationRec {
            source_id: "NONE".into(),
            invoice_id: "I0".into(),
            date: Day(HI),
            amount: 1,
        }),
    ];
    for ev in one_more {
        let err = s.append(vec![ev.clone()]).unwrap_err();
        assert_eq!(err.index, 0);
        assert!(
            matches!(
                err.error,
                LedgerError::Field {
                    field: "amount",
                    ..
                }
            ),
            "{ev:?}: {err}"
        );
        assert_eq!(before, snapshot_json(&s), "{ev:?} changed the snapshot");
    }

    // Every figure at the limit, against the documents.
    let oracle_balance = |d: i32| -> i128 {
        (0..n).filter(|&k| issue(k) <= d).count() as i128 * per
            + if HI <= d { rest as i128 } else { 0 }
    };
    for d in [LO, (LO + HI) / 2, HI] {
        let day = Day(d);
        let p = ReportParams::new(day);
        let r = rep(&s, &all, &p, Some(GroupBy::Customer));
        let want = oracle_balance(d);
        assert_eq!(m(r.totals.balance), want, "{day}");
        assert_eq!(m(r.totals.open_invoices), want);
        assert_eq!(
            r.aging.iter().map(|b| m(b.amount)).sum::<i128>(),
            want,
            "{day}"
        );
        assert!(finite(report_floats(&r)), "{:?}", report_floats(&r));
        let v: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(parse_money(&v["totals"]["balance"]), want);
        let rows = customers(&s, &all, day, &RatingThresholds::default());
        assert_eq!(rows.iter().map(|x| m(x.balance)).sum::<i128>(), want);
        let t = trend(&s, &all, day, 24);
        assert_eq!(m(t.last().unwrap().balance), want);
        let fc = forecast(&s, &all, day, Method::MeanDelay, 3);
        let spread: i128 = fc.future.iter().map(|x| m(x.expected)).sum();
        assert!(
            (spread - want).abs() <= 5 + want / 1_000_000_000,
            "{spread} vs {want}"
        );
        let co = cohorts(&s, &all, day, 3_600);
        assert_eq!(co.iter().map(|c| m(c.amount)).sum::<i128>(), want);
        team(&s, &all, &p).unwrap();
    }
    eprintln!("gross limit test done in {:?}", start.elapsed());
}

/// A thousand invoices of the largest amount issued on 1900-01-01, paid with the largest amounts
/// on 2199-12-31: every figure equals its exact value at both edges and in between.
#[test]
fn largest_amounts_at_the_edges_of_the_calendar() {
    const N: usize = 1_000;
    let mut evs = vec![cust_ev("C", Some(MAX_AMOUNT))];
    for k in 0..N {
        // Due on the issue date, or ten years later.
        let due = if k % 2 == 0 { LO } else { LO + MAX_TERMS_DAYS };
        evs.push(inv_ev(&format!("I{k}"), "C", LO, due, MAX_AMOUNT));
    }
    // Half the payments name their invoice, a quarter are allocated afterwards, a quarter stay
    // unapplied.
    for k in 0..N {
        let inv = (k < N / 2).then(|| format!("I{k}"));
        evs.push(pay_ev(&format!("P{k}"), "C", HI, MAX_AMOUNT, inv));
    }
    for k in N / 2..3 * N / 4 {
        evs.push(Event::Allocation(AllocationRec {
            source_id: format!("P{k}"),
            invoice_id: format!("I{k}"),
            date: Day(HI),
            amount: MAX_AMOUNT,
        }));
    }
    evs.push(Event::Promise(PromiseRec {
        invoice_id: "I999".into(),
        promised_on: Day(LO),
        due_on: Day(HI),
        amount: MAX_AMOUNT,
    }));
    evs.push(Event::Dispute(DisputeRec {
        invoice_id: "I998".into(),
        opened_on: Day(LO),
        resolved_on: None,
        reason: Some("price".into()),
        amount: Some(MAX_AMOUNT),
        owner: None,
    }));
    let s = Snapshot::build(Currency::EUR, evs.clone()).unwrap();
    let o = Oracle::of(&evs);
    let all = Selection::all();
    let max = MAX_AMOUNT as i128;
    let n = N as i128;
    let mid = (LO + HI) / 2;
    for (d, balance, open, overdue) in [
        (LO, n * max, n * max, 0),
        (LO + 1, n * max, n * max, n / 2 * max),
        (mid, n * max, n * max, n * max),
        (HI - 1, n * max, n * max, n * max),
        (HI, 0, n / 4 * max, n / 4 * max),
    ] {
        let day = Day(d);
        let f = o.at(d);
        assert_eq!(
            (f.balance, f.open, f.overdue),
            (balance, open, overdue),
            "{day}"
        );
        let p = ReportParams::new(day);
        let r = rep(&s, &all, &p, None);
        let t = &r.totals;
        assert_eq!(m(t.balance), balance, "{day}");
        assert_eq!(m(t.open_invoices), open, "{day}");
        assert_eq!(m(t.overdue), overdue, "{day}");
        assert_eq!(m(t.unapplied), balance - open, "{day}");
        assert_eq!(m(t.promised), f.promised, "{day}");
        assert_eq!(m(t.disputed), f.disputed, "{day}");
        assert!(finite(report_floats(&r)), "{day}: {:?}", report_floats(&r));
        let v: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(parse_money(&v["totals"]["balance"]), balance);
        assert_eq!(parse_money(&v["totals"]["open_invoices"]), open);
        for by in [
            GroupBy::Customer,
            GroupBy::Invoice,
            GroupBy::Dim("collector".into()),
        ] {
            let g = rep(&s, &all, &p, Some(by));
            let rows = &g.groups.as_ref().unwrap().rows;
            assert_eq!(rows.iter().map(|x| m(x.balance)).sum::<i128>(), balance);
        }
        let c = customer(&s, &all, day, &RatingThresholds::default(), "C").unwrap();
        assert_eq!((m(c.balance), m(c.open_invoices)), (balance, open));
        assert!(finite([
            Some(c.dso_countback),
            c.avg_days_late,
            c.credit_use
        ]));
        let inv_rows = invoices(&s, &all, day);
        assert_eq!(
            inv_rows.iter().map(|x| m(x.open_amount)).sum::<i128>(),
            open
        );
        // The whole supported range in one trend.
        let t = trend(&s, &all, day, 3_600);
        for p in [&t[0], &t[1_799], &t[3_599]] {
            let fp = o.at(p.date.0);
            assert_eq!(m(p.balance), fp.balance, "{}", p.date);
            assert_eq!(m(p.overdue), fp.overdue, "{}", p.date);
        }
        for method in [
            Method::Auto,
            Method::Distribution,
            Method::MeanDelay,
            Method::DueDate,
        ] {
            let fc = forecast(&s, &all, day, method, 12);
            let spread: i128 = fc.future.iter().map(|x| m(x.expected)).sum();
            assert!(
                (spread - open).abs() <= 5,
                "{method:?} at {day}: {spread} vs {open}"
            );
        }
        backtest(&s, &all, day.month_end_offset(-12), day);
        let co = cohorts(&s, &all, day, 3_600);
        assert_eq!(co.iter().map(|c| m(c.open)).sum::<i128>(), open);
        let h = rating_history(&s, &all, "C", day, 12, &RatingThresholds::default()).unwrap();
        assert!(finite(
            h.iter().flat_map(|p| [p.avg_days_late, p.percentile])
        ));
        let tm = team(&s, &all, &p).unwrap();
        assert_eq!(tm.iter().map(|x| m(x.balance)).sum::<i128>(), balance);
        broken_promises(&s, &all, day);
    }
}
