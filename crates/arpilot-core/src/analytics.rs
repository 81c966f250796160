//! Behaviour and team analytics: invoice cohorts by issue month, KPIs per collector, the payer
//! rating's history, broken promises.

use crate::customers::RatingThresholds;
use crate::date::Day;
use crate::money::Money;
use crate::report::{ConfigError, ReportParams, r2, report};
use crate::select::{Filter, SelectError, Selection};
use crate::snapshot::{SRC_PAYMENT, Snapshot};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// Days after issue at which cohorts are measured.
pub const COHORT_DAYS: [i32; 4] = [30, 60, 90, 120];

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Cohort {
    /// Issue month, `YYYY-MM`.
    pub month: String,
    pub invoices: u64,
    pub amount: Money,
    /// Share (%) of the month's invoiced amount collected in cash within 30, 60, 90 and 120 days
    /// of each invoice's issue; `null` until the month's last day is that many days old.
    pub collected_pct: [Option<f64>; 4],
    /// Still open at the as-of date.
    pub open: Money,
}

/// The last `months` issue months up to the as-of date's, oldest first.
pub fn cohorts(snap: &Snapshot, sel: &Selection, as_of: Day, months: usize) -> Vec<Cohort> {
    let months = months.max(1);
    let last = as_of.month_index();
    let first = last - months as i32 + 1;
    let mut amount = vec![0i64; months];
    let mut count = vec![0u64; months];
    let mut cash = vec![[0i64; 4]; months];
    let mut open = vec![0i64; months];
    let inv = &snap.invoices;
    for i in 0..snap.invoice_count() {
        let issue = Day(inv.issue[i]);
        if issue > as_of {
            continue;
        }
        let m = issue.month_index();
        if m < first || !sel.invoice(snap, i) {
            continue;
        }
        let k = (m - first) as usize;
        amount[k] += inv.amount[i];
        count[k] += 1;
        open[k] += snap.open_at(i, as_of.0);
        for a in snap.allocs_of(i) {
            if a.kind != SRC_PAYMENT || a.day > as_of.0 {
                continue;
            }
            for (h, days) in COHORT_DAYS.iter().enumerate() {
                if a.day <= issue.0 + days {
                    cash[k][h] += a.amount;
                }
            }
        }
    }
    let cur = snap.currency;
    (0..months)
        .map(|k| {
            let month_end = as_of.month_end_offset(k as i32 - (months as i32 - 1));
            let mut pct = [None; 4];
            for (h, days) in COHORT_DAYS.iter().enumerate() {
                if month_end.0 + days <= as_of.0 && amount[k] > 0 {
                    pct[h] = Some(r2(cash[k][h] as f64 * 100.0 / amount[k] as f64));
                }
            }
            Cohort {
                month: month_end.month_label(),
                invoices: count[k],
                amount: Money::new(amount[k], cur),
                collected_pct: pct,
                open: Money::new(open[k], cur),
            }
        })
        .collect()
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct TeamRow {
    /// The customers' `collector` (empty: customers without one).
    pub collector: String,
    pub customers: u64,
    pub balance: Money,
    pub overdue: Money,
    /// Collection rate of the as-of date's month (kpis.md §4) on the portfolio.
    pub collection_rate: Option<f64>,
    pub to_collect: Money,
    pub collected: Money,
    pub remaining: Money,
    /// Amount-weighted days from issue to settlement of the portfolio's invoices settled in the
    /// last 90 days.
    pub days_to_collect: Option<f64>,
    pub disputes_resolved_90_days: u64,
    pub disputes_open: u64,
    /// Actions of the month on the portfolio's customers, by kind.
    pub actions_month: BTreeMap<String, u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// KPIs per collector (the customers' `collector` dimension), within `base`.
pub fn team(
    snap: &Snapshot,
    base: &Selection,
    params: &ReportParams,
) -> Result<Vec<TeamRow>, TeamError> {
    let Some(col) = snap.customers.dims.get("collector") else {
        return Ok(Vec::new());
    };
    let nc = snap.customers.names.len() as u32;
    let mut names: Vec<String> = (0..nc).map(|c| col.value(c).to_string()).collect();
    names.sort();
    names.dedup();
    let as_of = params.as_of;
    let month_start = as_of.month_start().0;
    let mut rows = Vec::new();
    for name in names {
        let sel = Selection::resolve(
            snap,
            &[Filter {
                name: "collector".into(),
                value: name.clone(),
            }],
        )?
        .and(base.clone());
        if !(0..nc).any(|c| sel.customer(c)) {
            continue;
        }
        let r = report(snap, &sel, params)?;
        let (mut weight, mut days) = (0i128, 0i128);
        let inv = &snap.invoices;
        for i in 0..snap.invoice_count() {
            let s = inv.settled[i];
            if s <= as_of.0 && s > as_of.0 - 90 && sel.invoice(snap, i) {
                weight += inv.amount[i] as i128;
                days += inv.amount[i] as i128 * (s - inv.issue[i]) as i128;
            }
        }
        let mut actions = BTreeMap::new();
        for a in snap.actions_between(month_start, as_of.0) {
            if sel.customer(a.customer) {
                *actions
                    .entry(snap.action_kinds.value(a.kind).to_string())
                    .or_insert(0) += 1;
            }
        }
        let customers = (0..nc)
            .filter(|&c| sel.customer(c) && col.value(c) == name)
            .count() as u64;
        rows.push(TeamRow {
            collector: name,
            customers,
            balance: r.totals.balance,
            overdue: r.totals.overdue,
            collection_rate: r.collection_rate.rate,
            to_collect: r.collection_rate.to_collect,
            collected: r.collection_rate.collected,
            remaining: r.collection_rate.remaining,
            days_to_collect: (weight > 0).then(|| r2(days as f64 / weight as f64)),
            disputes_resolved_90_days: r.disputes.resolved_90_days,
            disputes_open: r.disputes.open_count,
            actions_month: actions,
        });
    }
    Ok(rows)
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct RatingPoint {
    /// Month end (or the as-of date for the last point).
    pub date: Day,
    #[schemars(extend("enum" = ["A", "B", "C", "D", null]))]
    pub rating: Option<&'static str>,
    pub avg_days_late: Option<f64>,
    pub percentile: Option<f64>,
}

/// A customer's payer rating and percentile at each of the last `months` month ends and at the
/// as-of date: at each date, the same figures as the customer's row of
/// [`crate::customers::customers`] (average days late of the invoices settled in the 90 days
/// before it, ranked among the selected customers), computed for every date in one pass over
/// the invoices.
pub fn rating_history(
    snap: &Snapshot,
    sel: &Selection,
    customer_id: &str,
    as_of: Day,
    months: usize,
    thresholds: &RatingThresholds,
) -> Option<Vec<RatingPoint>> {
    let target = snap.customers.ids.find(customer_id)? as usize;
    let mut dates: Vec<Day> = (1..=months as i32)
        .rev()
        .map(|k| as_of.month_end_offset(-k))
        .collect();
    dates.push(as_of);
    let nk = dates.len();
    let nc = snap.customers.names.len();
    // Per customer and date: Σ amount and Σ amount × (settled − due), as the customer kernel
    // adds them.
    let mut weight = vec![0i128; nc * nk];
    let mut late = vec![0i128; nc * nk];
    let inv = &snap.invoices;
    let last = as_of.0;
    for i in 0..inv.customer.len() {
        let settled = inv.settled[i];
        // Settled in (d − 90, d] for some date d ≤ as_of.
        if settled > last || settled <= dates[0].0 - 90 || !sel.invoice(snap, i) {
            continue;
        }
        let (issue, amt) = (inv.issue[i], inv.amount[i] as i128);
        let c = inv.customer[i] as usize;
        let first = dates.partition_point(|d| d.0 < settled);
        for k in first..nk {
            let d = dates[k].0;
            if settled <= d - 90 {
                break;
            }
            if issue <= d {
                weight[c * nk + k] += amt;
                late[c * nk + k] += amt * (settled - inv.due[i]) as i128;
            }
        }
    }
    let avg = |c: usize, k: usize| {
        let w = weight[c * nk + k];
        (w > 0).then(|| late[c * nk + k] as f64 / w as f64)
    };
    Some(
        dates
            .iter()
            .enumerate()
            .map(|(k, &date)| {
                let mine = sel
                    .customer(target as u32)
                    .then(|| avg(target, k))
                    .flatten();
                let percentile = mine.map(|x| {
                    let (mut lower, mut rated) = (0usize, 0usize);
                    for c in 0..nc {
                        if let Some(y) = avg(c, k) {
                            rated += 1;
                            lower += usize::from(y < x);
                        }
                    }
                    r2(lower as f64 / rated as f64 * 100.0)
                });
                RatingPoint {
                    date,
                    rating: mine.map(|x| thresholds.rate(x)),
                    avg_days_late: mine.map(r2),
                    percentile,
                }
            })
            .collect(),
    )
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct BrokenPromise {
    pub document_id: String,
    pub customer_id: String,
    pub promised_on: Day,
    pub due_on: Day,
    pub amount: Money,
    /// Allocated to the invoice from the promise to its due date.
    pub paid_by_due: Money,
}

/// Promises due in the 90 days up to the as-of date that were not kept (kpis.md §7: the promised
/// amount allocated by the promised date, or the invoice settled by then), latest due first.
pub fn broken_promises(snap: &Snapshot, sel: &Selection, as_of: Day) -> Vec<BrokenPromise> {
    let cur = snap.currency;
    let mut out: Vec<BrokenPromise> = snap
        .promises_due_between(as_of.0 - 89, as_of.0)
        .filter(|p| sel.invoice(snap, p.invoice as usize))
        .filter_map(|p| {
            let i = p.invoice as usize;
            let (paid, kept) = crate::worklist::promise_paid(snap, p);
            (!kept).then(|| BrokenPromise {
                document_id: snap.invoices.ids.get(p.invoice).to_string(),
                customer_id: snap
                    .customers
                    .ids
                    .get(snap.invoices.customer[i])
                    .to_string(),
                promised_on: Day(p.promised_on),
                due_on: Day(p.due_on),
                amount: Money::new(p.amount, cur),
                paid_by_due: Money::new(paid, cur),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.due_on
            .cmp(&a.due_on)
            .then_with(|| a.document_id.cmp(&b.document_id))
    });
    out
}
