//! The receivables report as of a date: one fused pass over the invoices and one over the
//! sources, plus prefix sums for everything that is a balance or a sales figure.

use crate::daily::{Cum, Daily};
use crate::date::Day;
use crate::dso::{self, CountBack};
use crate::money::{Currency, Money};
use crate::select::{Selection, known_dimensions};
use crate::snapshot::{F_DISPUTE, F_LEGAL, F_PROMISE, NO_INVOICE, SRC_PAYMENT, Snapshot};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Which date the aging counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Basis {
    #[default]
    Due,
    Issue,
}

impl Basis {
    pub fn name(self) -> &'static str {
        match self {
            Basis::Due => "due",
            Basis::Issue => "issue",
        }
    }
}

/// Aging buckets: `not_due` (≤ 0 days), then one bucket per upper bound (inclusive), then one
/// open-ended bucket beyond the last bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingConfig {
    bounds: Vec<i32>,
    pub basis: Basis,
    /// bucket index for day counts 1..=last bound (index 0 unused).
    lut: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "expected an increasing list of positive bucket bounds such as 30,60,90,120, found {0:?}"
    )]
    Buckets(String),
    #[error("expected {expected} provision rates (one per bucket), found {found}")]
    Provisions { expected: usize, found: usize },
    #[error("unknown grouping {name:?} (expected customer, invoice or one of: {known})")]
    Group { name: String, known: String },
}

impl Default for AgingConfig {
    fn default() -> Self {
        AgingConfig::new(vec![30, 60, 90, 120], Basis::Due).expect("valid default")
    }
}

impl AgingConfig {
    pub fn new(bounds: Vec<i32>, basis: Basis) -> Result<AgingConfig, ConfigError> {
        let ok = !bounds.is_empty()
            && bounds[0] > 0
            && bounds.windows(2).all(|w| w[0] < w[1])
            && bounds.len() < 250
            && *bounds.last().unwrap() <= 100_000;
        if !ok {
            return Err(ConfigError::Buckets(format!("{bounds:?}")));
        }
        let last = *bounds.last().unwrap() as usize;
        let mut lut = vec![0u8; last + 1];
        let mut b = 0;
        for (d, slot) in lut.iter_mut().enumerate().skip(1) {
            while d as i32 > bounds[b] {
                b += 1;
            }
            *slot = (b + 1) as u8;
        }
        Ok(AgingConfig { bounds, basis, lut })
    }

    /// Parses `30,60,90,120`.
    pub fn parse_bounds(s: &str) -> Result<Vec<i32>, ConfigError> {
        s.split(',')
            .map(|p| p.trim().parse::<i32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ConfigError::Buckets(s.to_string()))
    }

    pub fn bucket_count(&self) -> usize {
        self.bounds.len() + 2
    }

    #[inline]
    pub fn bucket(&self, days: i32) -> usize {
        if days <= 0 {
            0
        } else if days as usize >= self.lut.len() {
            self.bounds.len() + 1
        } else {
            self.lut[days as usize] as usize
        }
    }

    pub fn labels(&self) -> Vec<String> {
        let mut v = vec!["not_due".to_string()];
        let mut lo = 1;
        for &b in &self.bounds {
            v.push(format!("{lo}-{b}"));
            lo = b + 1;
        }
        v.push(format!("{}+", self.bounds.last().unwrap()));
        v
    }

    /// Lowest day count of each bucket (not_due: 0).
    fn lower_bounds(&self) -> Vec<i32> {
        let mut v = vec![0, 1];
        v.extend(self.bounds.iter().map(|b| b + 1));
        v
    }
}

/// Provision rates in basis points (1 % = 100).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionRates {
    pub buckets: Vec<i64>,
    pub disputed: Option<i64>,
    pub in_legal: Option<i64>,
}

impl ProvisionRates {
    /// 0 % not due and up to 30 days, 25 % to 60, 50 % to 90, 75 % to 120, 100 % beyond,
    /// applied to each bucket by its lowest day count.
    pub fn default_for(aging: &AgingConfig) -> ProvisionRates {
        let rate = |lo: i32| match lo {
            ..=30 => 0,
            31..=60 => 2500,
            61..=90 => 5000,
            91..=120 => 7500,
            _ => 10_000,
        };
        ProvisionRates {
            buckets: aging.lower_bounds().into_iter().map(rate).collect(),
            disputed: None,
            in_legal: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Customer,
    Invoice,
    Dim(String),
}

impl GroupBy {
    pub fn parse(s: &str) -> GroupBy {
        match s {
            "customer" | "customer_id" => GroupBy::Customer,
            "invoice" | "document" | "document_id" => GroupBy::Invoice,
            other => GroupBy::Dim(other.to_string()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ReportParams {
    pub as_of: Day,
    pub aging: AgingConfig,
    pub top: usize,
    pub by: Option<GroupBy>,
    pub provisions: ProvisionRates,
}

impl ReportParams {
    pub fn new(as_of: Day) -> ReportParams {
        let aging = AgingConfig::default();
        ReportParams {
            as_of,
            provisions: ProvisionRates::default_for(&aging),
            aging,
            top: 6,
            by: None,
        }
    }
}

// ---------------------------------------------------------------- output shapes

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Report {
    pub as_of: Day,
    pub currency: Currency,
    pub totals: Totals,
    pub aging_basis: &'static str,
    pub aging: Vec<BucketRow>,
    pub dso: Dso,
    pub dbt: Option<f64>,
    pub cei: Cei,
    pub collection_rate: CollectionRate,
    pub cash: Cash,
    pub receivables_turnover: Option<f64>,
    pub bad_debt_ratio: Option<f64>,
    pub maturity: Vec<MaturityRow>,
    pub top_debtors: Vec<Debtor>,
    pub top_overdue_invoices: Vec<OverdueInvoice>,
    pub disputes: Disputes,
    pub promises: Promises,
    pub actions: Vec<ActionCount>,
    pub provisions: Provisions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Totals {
    pub balance: Money,
    pub open_invoices: Money,
    pub not_due: Money,
    pub overdue: Money,
    pub unapplied: Money,
    pub disputed: Money,
    pub in_legal: Money,
    pub promised: Money,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct BucketRow {
    pub bucket: String,
    pub amount: Money,
    pub count: u64,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Dso {
    pub countback: f64,
    pub countback_history_exhausted: bool,
    pub standard: Option<f64>,
    pub best_possible: Option<f64>,
    pub delinquent: Option<f64>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Cei {
    pub month: Option<f64>,
    pub rolling_90: Option<f64>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct CollectionRate {
    pub month: String,
    pub to_collect: Money,
    pub collected: Money,
    pub credited: Money,
    pub remaining: Money,
    pub rate: Option<f64>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Cash {
    /// Payments dated from the 1st of the month to the as-of date.
    pub collected_month: Money,
    pub collected_90_days: Money,
    /// Invoice amounts falling due from the 1st of the month to the as-of date.
    pub fell_due_month: Money,
    /// Taux d'encaissement: collected_month / fell_due_month × 100.
    pub collection_ratio_month: Option<f64>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct MaturityRow {
    pub period: String,
    pub amount: Money,
    pub count: u64,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Debtor {
    pub customer_id: String,
    pub name: String,
    pub balance: Money,
    pub overdue: Money,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct OverdueInvoice {
    pub document_id: String,
    pub customer_id: String,
    pub open_amount: Money,
    pub days_overdue: i32,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Disputes {
    pub open_count: u64,
    pub open_amount: Money,
    pub by_reason: Vec<ReasonRow>,
    pub opened_90_days: u64,
    pub resolved_90_days: u64,
    pub resolution_rate_90_days: Option<f64>,
    pub avg_resolution_days_90_days: Option<f64>,
    pub dispute_dso: Option<f64>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ReasonRow {
    pub reason: String,
    pub count: u64,
    pub amount: Money,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Promises {
    pub open_count: u64,
    pub open_amount: Money,
    pub due_90_days: u64,
    pub kept_90_days: u64,
    pub kept_rate_90_days: Option<f64>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ActionCount {
    pub agent: String,
    pub kind: String,
    pub count: u64,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Provisions {
    pub total: Money,
    pub by_bucket: Vec<ProvisionRow>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ProvisionRow {
    pub bucket: String,
    pub rate: f64,
    pub amount: Money,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Groups {
    pub by: String,
    pub buckets: Vec<String>,
    pub rows: Vec<GroupRow>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    pub amounts: Vec<Money>,
    pub counts: Vec<u64>,
    pub unapplied: Money,
    pub balance: Money,
}

/// Rounds a figure for the report (2 decimals; the contract asks for no fewer).
pub fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn r2o(x: Option<f64>) -> Option<f64> {
    x.map(r2)
}

// ---------------------------------------------------------------- the pass

/// How groups are keyed during the pass.
enum GroupKey<'a> {
    None,
    Customer,
    Invoice,
    CustomerDim(&'a crate::columns::DimCol),
    DocDim(
        Option<&'a crate::columns::DimCol>,
        Option<&'a crate::columns::DimCol>,
    ),
}

struct Pass {
    nb: usize,
    open: i64,
    not_due: i64,
    overdue: i64,
    disputed: i64,
    in_legal: i64,
    promised: i64,
    buckets: Vec<(i64, u64)>,
    dbt_num: i128,
    provision_bp: Vec<i128>,
    maturity: [(i64, u64); 7],
    to_collect: i64,
    collected: i64,
    credited: i64,
    remaining: i64,
    /// Per customer: open invoices at the date, and unapplied cash and credit (as a positive
    /// amount) at the date.
    cust_open: Vec<i64>,
    cust_unapplied: Vec<i64>,
    cust_overdue: Vec<i64>,
    top: TopOpen,
    /// Per group: bucket amounts and counts (flattened), for `--by`.
    g_amounts: Vec<i64>,
    g_counts: Vec<u64>,
    /// Open invoices when grouping by invoice: (invoice, bucket, open).
    g_invoices: Vec<(u32, usize, i64)>,
    disputed_by_reason: Vec<(u64, i64)>,
}

/// Computes the full report for the selected rows.
pub fn report(snap: &Snapshot, sel: &Selection, p: &ReportParams) -> Result<Report, ConfigError> {
    let d = p.as_of;
    let aging = &p.aging;
    let nb = aging.bucket_count();
    if p.provisions.buckets.len() != nb {
        return Err(ConfigError::Provisions {
            expected: nb,
            found: p.provisions.buckets.len(),
        });
    }
    let key = group_key(snap, p.by.as_ref())?;
    let n_groups = match &key {
        GroupKey::Customer => snap.customers.names.len(),
        GroupKey::CustomerDim(c) => c.dict.len(),
        GroupKey::DocDim(a, b) => a
            .map_or(1, |c| c.dict.len())
            .max(b.map_or(1, |c| c.dict.len())),
        _ => 0,
    };
    let cum = cum_for(snap, sel);
    let pass = run_pass(snap, sel, p, &key, n_groups);

    let cur = snap.currency;
    let m = |v: i64| Money::new(v, cur);
    let unapplied = cum.unapplied(d.0);
    let balance = cum.balance(d.0);
    debug_assert_eq!(pass.open, cum.open_invoices(d.0));

    let labels = aging.labels();
    let cb: CountBack = dso::countback(&cum, d);
    let standard = dso::per_90_days(&cum, d, balance);
    let best = dso::per_90_days(&cum, d, pass.not_due);
    let mstart = d.month_start().0;

    let top_debtors = top_debtors(snap, sel, &pass, p.top, cur);
    let top_overdue_invoices = {
        let ids = &snap.invoices.ids;
        let mut v = pass.top.candidates();
        // Spec: largest open amount first, ties by document id.
        v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| ids.get(a.1).cmp(ids.get(b.1))));
        v.truncate(p.top);
        v.into_iter()
            .map(|(open, i)| OverdueInvoice {
                document_id: snap.invoices.ids.get(i).to_string(),
                customer_id: snap
                    .customers
                    .ids
                    .get(snap.invoices.customer[i as usize])
                    .to_string(),
                open_amount: m(open),
                days_overdue: d.0 - snap.invoices.due[i as usize],
            })
            .collect()
    };

    let provision_amounts: Vec<i64> = pass
        .provision_bp
        .iter()
        .map(|&x| (x / 10_000) as i64)
        .collect();
    let month_names = maturity_labels(d);
    let disputes = disputes(snap, sel, d, &pass, standard, balance, cur);
    let promises = promises(snap, sel, d, cur);
    let net_365 = cum.net_sales(d.0 - 365, d.0);
    let avg_bal = (cum.balance(d.0 - 365) as i128 + balance as i128) as f64 / 2.0;

    let groups = match &key {
        GroupKey::None => None,
        _ => Some(groups(snap, sel, p, &key, &pass, &labels, n_groups)),
    };

    Ok(Report {
        as_of: d,
        currency: cur,
        totals: Totals {
            balance: m(balance),
            open_invoices: m(pass.open),
            not_due: m(pass.not_due),
            overdue: m(pass.overdue),
            unapplied: m(unapplied),
            disputed: m(pass.disputed),
            in_legal: m(pass.in_legal),
            promised: m(pass.promised),
        },
        aging_basis: aging.basis.name(),
        aging: labels
            .iter()
            .zip(&pass.buckets)
            .map(|(l, &(a, c))| BucketRow {
                bucket: l.clone(),
                amount: m(a),
                count: c,
            })
            .collect(),
        dso: Dso {
            countback: r2(cb.days),
            countback_history_exhausted: cb.history_exhausted,
            standard: r2o(standard),
            best_possible: r2o(best),
            delinquent: r2o(standard.zip(best).map(|(s, b)| s - b)),
        },
        dbt: (pass.open > 0).then(|| r2(pass.dbt_num as f64 / pass.open as f64)),
        cei: Cei {
            month: r2o(dso::cei_month(&cum, d, pass.not_due)),
            rolling_90: r2o(dso::cei_rolling_90(&cum, d, pass.not_due)),
        },
        collection_rate: CollectionRate {
            month: d.month_label(),
            to_collect: m(pass.to_collect),
            collected: m(pass.collected),
            credited: m(pass.credited),
            remaining: m(pass.remaining),
            rate: r2o(dso::ratio(
                pass.collected as i128,
                (pass.to_collect - pass.credited) as i128,
            )),
        },
        cash: Cash {
            collected_month: m(cum.payments(mstart - 1, d.0)),
            collected_90_days: m(cum.payments(d.0 - 90, d.0)),
            fell_due_month: m(cum.fell_due(mstart - 1, d.0)),
            collection_ratio_month: r2o(dso::ratio(
                cum.payments(mstart - 1, d.0) as i128,
                cum.fell_due(mstart - 1, d.0) as i128,
            )),
        },
        receivables_turnover: (avg_bal > 0.0).then(|| r2(net_365 as f64 / avg_bal)),
        bad_debt_ratio: r2o(dso::ratio(
            cum.writeoffs(d.0 - 365, d.0) as i128,
            net_365 as i128,
        )),
        maturity: month_names
            .into_iter()
            .zip(pass.maturity)
            .map(|(period, (a, c))| MaturityRow {
                period,
                amount: m(a),
                count: c,
            })
            .collect(),
        top_debtors,
        top_overdue_invoices,
        disputes,
        promises,
        actions: actions(snap, sel, d),
        provisions: Provisions {
            total: m(provision_amounts.iter().sum()),
            by_bucket: labels
                .iter()
                .zip(&p.provisions.buckets)
                .zip(&provision_amounts)
                .map(|((l, &bp), &a)| ProvisionRow {
                    bucket: l.clone(),
                    rate: bp as f64 / 100.0,
                    amount: m(a),
                })
                .collect(),
        },
        groups,
    })
}

/// The aged balance alone (buckets as (amount, count), then the unapplied amount): the lean
/// pass behind `aging_ms` in benchmarks and the aging chart.
pub fn aging(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    aging: &AgingConfig,
) -> (Vec<(i64, u64)>, i64) {
    let inv = &snap.invoices;
    let mut buckets = vec![(0i64, 0u64); aging.bucket_count()];
    let all = sel.is_all();
    for i in 0..inv.customer.len() {
        if inv.settled[i] <= d.0 || inv.issue[i] > d.0 || !(all || sel.invoice(snap, i)) {
            continue;
        }
        let open = snap.open_at(i, d.0);
        if open > 0 {
            let age = match aging.basis {
                Basis::Due => d.0 - inv.due[i],
                Basis::Issue => d.0 - inv.issue[i],
            };
            let b = &mut buckets[aging.bucket(age)];
            b.0 += open;
            b.1 += 1;
        }
    }
    (buckets, cum_for(snap, sel).unapplied(d.0))
}

/// Running totals for a selection (the whole ledger's are cached in the snapshot).
pub fn cum_for(snap: &Snapshot, sel: &Selection) -> Cum {
    if sel.is_all() {
        snap.daily_all().cumulative()
    } else {
        Daily::of(snap, sel).cumulative()
    }
}

fn group_key<'a>(snap: &'a Snapshot, by: Option<&GroupBy>) -> Result<GroupKey<'a>, ConfigError> {
    Ok(match by {
        None => GroupKey::None,
        Some(GroupBy::Customer) => GroupKey::Customer,
        Some(GroupBy::Invoice) => GroupKey::Invoice,
        Some(GroupBy::Dim(name)) => {
            if let Some(c) = snap.customers.dims.get(name) {
                GroupKey::CustomerDim(c)
            } else {
                let (a, b) = (snap.invoices.dims.get(name), snap.sources.dims.get(name));
                if a.is_none() && b.is_none() {
                    return Err(ConfigError::Group {
                        name: name.clone(),
                        known: known_dimensions(snap).join(", "),
                    });
                }
                GroupKey::DocDim(a, b)
            }
        }
    })
}

fn maturity_labels(d: Day) -> Vec<String> {
    let mut v = vec!["overdue".to_string(), "rest_of_month".to_string()];
    for k in 1..=5 {
        v.push(d.month_end_offset(k).month_label());
    }
    v.push("later".to_string());
    v
}

fn run_pass(snap: &Snapshot, sel: &Selection, p: &ReportParams, key: &GroupKey, ng: usize) -> Pass {
    let ni = snap.invoice_count();
    let parts = crate::par::chunked(ni, |r| pass_range(snap, sel, p, key, ng, r));
    let mut parts = parts.into_iter();
    let mut ps = parts.next().expect("at least one part");
    for other in parts {
        ps.merge(other, p.top);
    }
    add_final_unapplied(snap, sel, p.as_of.0, &mut ps);
    ps
}

impl Pass {
    fn merge(&mut self, o: Pass, top: usize) {
        self.open += o.open;
        self.not_due += o.not_due;
        self.overdue += o.overdue;
        self.disputed += o.disputed;
        self.in_legal += o.in_legal;
        self.promised += o.promised;
        for (a, b) in self.buckets.iter_mut().zip(o.buckets) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.dbt_num += o.dbt_num;
        for (a, b) in self.provision_bp.iter_mut().zip(o.provision_bp) {
            *a += b;
        }
        for (a, b) in self.maturity.iter_mut().zip(o.maturity) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.to_collect += o.to_collect;
        self.collected += o.collected;
        self.credited += o.credited;
        self.remaining += o.remaining;
        for (a, b) in self.cust_open.iter_mut().zip(o.cust_open) {
            *a += b;
        }
        for (a, b) in self.cust_unapplied.iter_mut().zip(o.cust_unapplied) {
            *a += b;
        }
        for (a, b) in self.cust_overdue.iter_mut().zip(o.cust_overdue) {
            *a += b;
        }
        self.top.merge(o.top, top);
        for (a, b) in self.g_amounts.iter_mut().zip(o.g_amounts) {
            *a += b;
        }
        for (a, b) in self.g_counts.iter_mut().zip(o.g_counts) {
            *a += b;
        }
        self.g_invoices.extend(o.g_invoices);
        for (a, b) in self.disputed_by_reason.iter_mut().zip(o.disputed_by_reason) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn pass_range(
    snap: &Snapshot,
    sel: &Selection,
    p: &ReportParams,
    key: &GroupKey,
    ng: usize,
    invoices: std::ops::Range<usize>,
) -> Pass {
    let d = p.as_of.0;
    let aging = &p.aging;
    let nb = aging.bucket_count();
    let inv = &snap.invoices;
    let nc = snap.customers.names.len();
    let m0 = p.as_of.month_start().0 - 1;
    let mend = p.as_of.month_end().0;
    let mi = p.as_of.month_index();
    let mut ps = Pass {
        nb,
        open: 0,
        not_due: 0,
        overdue: 0,
        disputed: 0,
        in_legal: 0,
        promised: 0,
        buckets: vec![(0, 0); nb],
        dbt_num: 0,
        provision_bp: vec![0; nb],
        maturity: [(0, 0); 7],
        to_collect: 0,
        collected: 0,
        credited: 0,
        remaining: 0,
        cust_open: vec![0; nc],
        cust_unapplied: vec![0; nc],
        cust_overdue: vec![0; nc],
        top: TopOpen::default(),
        g_amounts: vec![0; ng * nb],
        g_counts: vec![0; ng * nb],
        g_invoices: Vec::new(),
        disputed_by_reason: vec![(0, 0); snap.reasons.len()],
    };
    let all = sel.is_all();
    let rates = &p.provisions;
    let mut dcur = snap.dispute_cursor(invoices.start as u32);
    let mut pcur = snap.promise_cursor(invoices.start as u32);
    for i in invoices {
        let settled = inv.settled[i];
        if settled <= m0 {
            continue;
        }
        let in_sel = all || sel.invoice(snap, i);
        if !in_sel && !sel.doc_level {
            continue;
        }
        let issue = inv.issue[i];
        let amt = inv.amount[i];
        let c = inv.customer[i] as usize;
        let due = inv.due[i];
        // Open at the start of the month (or issued during it): walk its allocations once.
        let mut open_m0 = amt;
        let mut open = amt;
        let (mut col, mut cred) = (0i64, 0i64);
        for a in snap.allocs_of(i) {
            if a.day > d {
                // Cash or credit applied after d was still unapplied at d.
                let src_in = if sel.doc_level {
                    sel.source(snap, a.src as usize)
                } else {
                    in_sel
                };
                if src_in && snap.sources.day[a.src as usize] <= d {
                    ps.cust_unapplied[c] += a.amount;
                }
                continue;
            }
            if a.day <= m0 {
                open_m0 -= a.amount;
            } else if a.kind == SRC_PAYMENT {
                col += a.amount;
            } else {
                cred += a.amount;
            }
            open -= a.amount;
        }
        if !in_sel || issue > d {
            continue;
        }
        if due <= mend {
            ps.to_collect += if issue <= m0 { open_m0 } else { amt };
            ps.collected += col;
            ps.credited += cred;
            ps.remaining += open;
        }
        if open <= 0 {
            continue;
        }
        let over = d - due;
        let age = match aging.basis {
            crate::report::Basis::Due => over,
            crate::report::Basis::Issue => d - issue,
        };
        let b = aging.bucket(age);
        ps.open += open;
        ps.cust_open[c] += open;
        ps.buckets[b].0 += open;
        ps.buckets[b].1 += 1;
        let flags = inv.flags[i];
        let mut rate = rates.buckets[b];
        if over > 0 {
            ps.overdue += open;
            ps.cust_overdue[c] += open;
            ps.dbt_num += open as i128 * over as i128;
            ps.top.push(open, i as u32, p.top);
            ps.maturity[0].0 += open;
            ps.maturity[0].1 += 1;
        } else {
            ps.not_due += open;
            let k = (Day(due).month_index() - mi).clamp(0, 5) as usize + 1;
            ps.maturity[k].0 += open;
            ps.maturity[k].1 += 1;
        }
        if flags & F_DISPUTE != 0 {
            let mut any = false;
            for k in dcur.rows(i as u32) {
                let dp = &snap.disputes[k];
                if dp.open_on(d) {
                    any = true;
                    ps.disputed_by_reason[dp.reason as usize].0 += 1;
                    ps.disputed_by_reason[dp.reason as usize].1 += open;
                }
            }
            if any {
                ps.disputed += open;
                rate = rates.disputed.unwrap_or(rate);
            }
        }
        if flags & F_LEGAL != 0 {
            ps.in_legal += open;
            rate = rates.in_legal.unwrap_or(rate);
        }
        if flags & F_PROMISE != 0 {
            let promised: i64 = pcur
                .rows(i as u32)
                .map(|k| &snap.promises[k])
                .filter(|pr| pr.running_on(d))
                .map(|pr| pr.amount)
                .sum();
            ps.promised += promised.min(open);
        }
        ps.provision_bp[b] += open as i128 * rate as i128;
        let g = match key {
            GroupKey::None => None,
            GroupKey::Customer => Some(c),
            GroupKey::CustomerDim(col) => Some(col.code(c as u32) as usize),
            GroupKey::DocDim(ic, _) => Some(ic.map_or(0, |col| col.code(i as u32) as usize)),
            GroupKey::Invoice => {
                ps.g_invoices.push((i as u32, b, open));
                None
            }
        };
        if let Some(g) = g {
            ps.g_amounts[g * nb + b] += open;
            ps.g_counts[g * nb + b] += 1;
        }
    }
    ps
}

/// The largest open amounts of a pass: the `n` largest, plus every invoice tied with the
/// smallest of them, so that ties can be ordered by document id once the pass is done.
#[derive(Default)]
struct TopOpen {
    /// (open, invoice row), smallest amount on top.
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    /// Rows left out of the heap with the same amount as its smallest entry.
    ties: Vec<u32>,
    tie_amount: i64,
}

impl TopOpen {
    fn push(&mut self, open: i64, i: u32, n: usize) {
        if n == 0 {
            return;
        }
        if self.heap.len() < n {
            self.heap.push(Reverse((open, i)));
            return;
        }
        let min = self.heap.peek().map_or(i64::MIN, |Reverse(t)| t.0);
        if open < min {
            return;
        }
        if open == min {
            self.tie(open, i);
            return;
        }
        let Reverse((out, row)) = self.heap.pop().expect("full heap");
        self.heap.push(Reverse((open, i)));
        let new_min = self.heap.peek().map_or(i64::MIN, |Reverse(t)| t.0);
        if out == new_min {
            self.tie(out, row);
        } else {
            self.ties.clear();
        }
    }

    fn tie(&mut self, open: i64, i: u32) {
        if self.tie_amount != open {
            self.ties.clear();
            self.tie_amount = open;
        }
        self.ties.push(i);
    }

    fn merge(&mut self, o: TopOpen, n: usize) {
        for Reverse((open, i)) in o.heap {
            self.push(open, i, n);
        }
        for i in o.ties {
            self.push(o.tie_amount, i, n);
        }
    }

    /// Every (open, row) that may be among the `n` largest.
    fn candidates(&self) -> Vec<(i64, u32)> {
        let min = self.heap.peek().map(|Reverse(t)| t.0);
        let mut v: Vec<(i64, u32)> = self.heap.iter().map(|Reverse(t)| *t).collect();
        if min == Some(self.tie_amount) {
            v.extend(self.ties.iter().map(|&i| (self.tie_amount, i)));
        }
        v
    }
}

/// Adds what is still unapplied after every allocation, for sources dated ≤ `d`: with the
/// amounts added back in the pass for allocations after `d`, that is the unapplied at `d`.
fn add_final_unapplied(snap: &Snapshot, sel: &Selection, d: i32, ps: &mut Pass) {
    let src = &snap.sources;
    let all = sel.is_all();
    for (s, rem) in src.remaining.nonzero(&src.amount) {
        if src.day[s] <= d && (all || sel.source(snap, s)) {
            ps.cust_unapplied[src.customer[s] as usize] += rem;
        }
    }
}

fn top_debtors(
    snap: &Snapshot,
    sel: &Selection,
    pass: &Pass,
    n: usize,
    cur: Currency,
) -> Vec<Debtor> {
    let ids = &snap.customers.ids;
    let bal = |c: u32| pass.cust_open[c as usize] - pass.cust_unapplied[c as usize];
    let mut v: Vec<u32> = (0..pass.cust_open.len() as u32)
        .filter(|&c| bal(c) > 0 && sel.customer(c))
        .collect();
    let cmp = |a: &u32, b: &u32| {
        bal(*b)
            .cmp(&bal(*a))
            .then_with(|| ids.get(*a).cmp(ids.get(*b)))
    };
    if v.len() > n && n > 0 {
        v.select_nth_unstable_by(n - 1, cmp);
        v.truncate(n);
    }
    v.sort_by(cmp);
    v.truncate(n);
    v.into_iter()
        .map(|c| Debtor {
            customer_id: ids.get(c).to_string(),
            name: snap.customers.names[c as usize].clone(),
            balance: Money::new(bal(c), cur),
            overdue: Money::new(pass.cust_overdue[c as usize], cur),
        })
        .collect()
}

/// Unapplied amount of each source at `d` (≤ 0), by walking every allocation.
pub fn source_unapplied(snap: &Snapshot, d: i32) -> Vec<i64> {
    let src = &snap.sources;
    let mut used = vec![0i64; src.customer.len()];
    for i in 0..snap.invoice_count() {
        if snap.invoices.issue[i] > d {
            continue;
        }
        for a in snap.allocs_of(i) {
            if a.day > d {
                break;
            }
            used[a.src as usize] += a.amount;
        }
    }
    (0..src.customer.len())
        .map(|s| {
            if src.day[s] > d {
                0
            } else {
                used[s] - src.amount[s]
            }
        })
        .collect()
}

fn groups(
    snap: &Snapshot,
    sel: &Selection,
    p: &ReportParams,
    key: &GroupKey,
    pass: &Pass,
    labels: &[String],
    ng: usize,
) -> Groups {
    let nb = pass.nb;
    let cur = snap.currency;
    let m = |v: i64| Money::new(v, cur);
    let d = p.as_of.0;
    let mut rows = Vec::new();
    let row_of = |key: String, amounts: &[i64], counts: &[u64], unapplied: i64| GroupRow {
        key,
        name: None,
        customer_id: None,
        balance: m(amounts.iter().sum::<i64>() + unapplied),
        amounts: amounts.iter().map(|&a| m(a)).collect(),
        counts: counts.to_vec(),
        unapplied: m(unapplied),
    };
    let by;
    match key {
        GroupKey::None => unreachable!(),
        GroupKey::Customer | GroupKey::CustomerDim(_) => {
            let mut unapplied = vec![0i64; ng];
            for c in 0..pass.cust_open.len() {
                if !sel.customer(c as u32) {
                    continue;
                }
                let g = match key {
                    GroupKey::Customer => c,
                    GroupKey::CustomerDim(col) => col.code(c as u32) as usize,
                    _ => unreachable!(),
                };
                unapplied[g] -= pass.cust_unapplied[c];
            }
            for (g, &un) in unapplied.iter().enumerate() {
                let amounts = &pass.g_amounts[g * nb..(g + 1) * nb];
                let open: i64 = amounts.iter().sum();
                if open == 0 && un == 0 {
                    continue;
                }
                let r = match key {
                    GroupKey::Customer => {
                        let mut r = row_of(
                            snap.customers.ids.get(g as u32).to_string(),
                            amounts,
                            &pass.g_counts[g * nb..(g + 1) * nb],
                            un,
                        );
                        r.name = Some(snap.customers.names[g].clone());
                        r
                    }
                    GroupKey::CustomerDim(col) => row_of(
                        col.dict.value(g as u32).to_string(),
                        amounts,
                        &pass.g_counts[g * nb..(g + 1) * nb],
                        un,
                    ),
                    _ => unreachable!(),
                };
                rows.push(r);
            }
            by = match key {
                GroupKey::Customer => "customer".to_string(),
                GroupKey::CustomerDim(col) => col.name.clone(),
                _ => unreachable!(),
            };
        }
        GroupKey::DocDim(ic, sc) => {
            let un_src = source_unapplied(snap, d);
            let mut unapplied = vec![0i64; ng];
            for (s, &u) in un_src.iter().enumerate() {
                if u != 0 && sel.source(snap, s) {
                    unapplied[sc.map_or(0, |col| col.code(s as u32) as usize)] += u;
                }
            }
            // Group keys are values, so merge the invoice and source dictionaries by text.
            let mut by_text: std::collections::BTreeMap<String, (Vec<i64>, Vec<u64>, i64)> =
                Default::default();
            for (g, &un) in unapplied.iter().enumerate() {
                let t = ic
                    .filter(|c| g < c.dict.len())
                    .map(|c| c.dict.value(g as u32).to_string());
                if let Some(t) = t {
                    let e = by_text
                        .entry(t)
                        .or_insert_with(|| (vec![0; nb], vec![0; nb], 0));
                    for b in 0..nb {
                        e.0[b] += pass.g_amounts[g * nb + b];
                        e.1[b] += pass.g_counts[g * nb + b];
                    }
                }
                let t = sc
                    .filter(|c| g < c.dict.len())
                    .map(|c| c.dict.value(g as u32).to_string())
                    .or_else(|| (g == 0).then(String::new));
                if let Some(t) = t {
                    let e = by_text
                        .entry(t)
                        .or_insert_with(|| (vec![0; nb], vec![0; nb], 0));
                    e.2 += un;
                }
            }
            for (t, (a, c, u)) in by_text {
                if a.iter().all(|&x| x == 0) && u == 0 {
                    continue;
                }
                rows.push(row_of(t, &a, &c, u));
            }
            by = ic.or(*sc).map(|c| c.name.clone()).unwrap_or_default();
        }
        GroupKey::Invoice => {
            for &(i, b, open) in &pass.g_invoices {
                let mut amounts = vec![0; nb];
                let mut counts = vec![0; nb];
                amounts[b] = open;
                counts[b] = 1;
                let mut r = row_of(snap.invoices.ids.get(i).to_string(), &amounts, &counts, 0);
                r.customer_id = Some(
                    snap.customers
                        .ids
                        .get(snap.invoices.customer[i as usize])
                        .to_string(),
                );
                rows.push(r);
            }
            for (s, u) in source_unapplied(snap, d).into_iter().enumerate() {
                if u != 0 && sel.source(snap, s) {
                    let mut r = row_of(
                        snap.sources.ids.get(s as u32).to_string(),
                        &vec![0; nb],
                        &vec![0; nb],
                        u,
                    );
                    r.customer_id =
                        Some(snap.customers.ids.get(snap.sources.customer[s]).to_string());
                    rows.push(r);
                }
            }
            by = "invoice".to_string();
        }
    }
    rows.sort_by(|a, b| {
        b.balance
            .minor
            .cmp(&a.balance.minor)
            .then_with(|| a.key.cmp(&b.key))
    });
    Groups {
        by,
        buckets: labels.to_vec(),
        rows,
    }
}

fn disputes(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    pass: &Pass,
    standard: Option<f64>,
    balance: i64,
    cur: Currency,
) -> Disputes {
    let lo = d.0 - 90;
    let (mut opened, mut resolved, mut days) = (0u64, 0u64, 0i64);
    for dp in &snap.disputes {
        if !sel.invoice(snap, dp.invoice as usize) {
            continue;
        }
        if dp.opened > lo && dp.opened <= d.0 {
            opened += 1;
        }
        if dp.resolved > lo && dp.resolved <= d.0 {
            resolved += 1;
            days += (dp.resolved - dp.opened) as i64;
        }
    }
    let by_reason: Vec<ReasonRow> = pass
        .disputed_by_reason
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| *c > 0)
        .map(|(r, &(c, a))| ReasonRow {
            reason: snap.reasons.value(r as u32).to_string(),
            count: c,
            amount: Money::new(a, cur),
        })
        .collect();
    Disputes {
        open_count: by_reason.iter().map(|r| r.count).sum(),
        open_amount: Money::new(pass.disputed, cur),
        by_reason,
        opened_90_days: opened,
        resolved_90_days: resolved,
        resolution_rate_90_days: r2o(dso::ratio(resolved as i128, opened as i128)),
        avg_resolution_days_90_days: (resolved > 0).then(|| r2(days as f64 / resolved as f64)),
        dispute_dso: standard
            .filter(|_| balance != 0)
            .map(|s| r2(s * pass.disputed as f64 / balance as f64)),
    }
}

fn promises(snap: &Snapshot, sel: &Selection, d: Day, cur: Currency) -> Promises {
    let lo = d.0 - 90;
    let (mut open_count, mut due, mut kept) = (0u64, 0u64, 0u64);
    let mut per_invoice: std::collections::BTreeMap<u32, i64> = Default::default();
    // Unexpired at d (promised_on ≤ d ≤ due_on) or due in the last 90 days: due_on is within
    // (d − 90, d + the longest promise].
    for pr in snap.promises_due_between(lo + 1, d.0.saturating_add(snap.max_promise_span)) {
        let i = pr.invoice as usize;
        if !sel.invoice(snap, i) {
            continue;
        }
        if pr.running_on(d.0) && snap.open_at(i, d.0) > 0 {
            open_count += 1;
            *per_invoice.entry(pr.invoice).or_default() += pr.amount;
        }
        if pr.due_on > lo && pr.due_on <= d.0 {
            due += 1;
            let paid: i64 = snap
                .allocs_of(i)
                .filter(|a| a.day >= pr.promised_on && a.day <= pr.due_on)
                .map(|a| a.amount)
                .sum();
            if paid >= pr.amount || snap.open_at(i, pr.due_on) == 0 {
                kept += 1;
            }
        }
    }
    let open_amount = per_invoice
        .iter()
        .map(|(&i, &a)| a.min(snap.open_at(i as usize, d.0)))
        .sum();
    Promises {
        open_count,
        open_amount: Money::new(open_amount, cur),
        due_90_days: due,
        kept_90_days: kept,
        kept_rate_90_days: r2o(dso::ratio(kept as i128, due as i128)),
    }
}

fn actions(snap: &Snapshot, sel: &Selection, d: Day) -> Vec<ActionCount> {
    // Dense counts: agents × kinds are a few dozen cells.
    let nk = snap.action_kinds.len();
    let mut counts = vec![0u64; snap.agents.len() * nk];
    for a in snap.actions_between(d.0 - 89, d.0) {
        if sel.customer(a.customer)
            && (a.invoice == NO_INVOICE || sel.invoice(snap, a.invoice as usize))
        {
            counts[a.agent as usize * nk + a.kind as usize] += 1;
        }
    }
    let mut v: Vec<ActionCount> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(k, &count)| ActionCount {
            agent: snap.agents.value((k / nk) as u32).to_string(),
            kind: snap.action_kinds.value((k % nk) as u32).to_string(),
            count,
        })
        .collect();
    v.sort_by(|a, b| (&a.agent, &a.kind).cmp(&(&b.agent, &b.kind)));
    v
}
