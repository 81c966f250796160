//! What the collection team did and what it brought (kpis.md, "Work KPIs"), over a period
//! ending on the as-of date, per collector (the customer's `collector`: the portfolio the work
//! is for, whoever recorded it) and for the whole selection.

use crate::date::Day;
use crate::dso::ratio;
use crate::ledger::OUTCOMES;
use crate::money::Money;
use crate::report::r2;
use crate::select::Selection;
use crate::snapshot::{SRC_PAYMENT, Snapshot};
use crate::worklist::promise_paid;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// Outcomes that mean somebody was reached (a contact).
const CONTACTS: [&str; 4] = ["reached", "promise", "dispute", "refusal"];

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Default)]
pub struct DisputeReasonRow {
    pub opened: u64,
    pub resolved: u64,
    /// Average days from opening to resolution of the disputes resolved in the period.
    pub avg_resolution_days: Option<f64>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct WorkRow {
    /// The collector, `null` for the whole selection.
    pub collector: Option<String>,
    pub actions: u64,
    pub actions_by_kind: BTreeMap<String, u64>,
    pub actions_per_day: f64,
    pub actions_per_week: f64,
    /// Actions whose outcome is a contact (reached, promise, dispute, refusal) among those with
    /// an outcome, in %.
    pub contact_rate: Option<f64>,
    pub promises_obtained: u64,
    pub promised_amount: Money,
    /// Promises due in the period: kept and broken (kpis.md §7).
    pub promises_kept: u64,
    pub promises_kept_amount: Money,
    pub promises_broken: u64,
    pub promises_broken_amount: Money,
    pub kept_rate: Option<f64>,
    /// Average days from an invoice's first day overdue to the first action on its customer,
    /// over the invoices fallen overdue in the period that had one.
    pub avg_days_to_first_action: Option<f64>,
    pub disputes_opened: u64,
    pub disputes_resolved: u64,
    pub disputes_by_reason: BTreeMap<String, DisputeReasonRow>,
    /// Activation within 7, 15 and 30 days: of the customers acted on in the period moved back
    /// by that many days (so that every window has ended), the share who paid within that many
    /// days after their first action there, in %.
    pub activation_7: Option<f64>,
    pub activation_15: Option<f64>,
    pub activation_30: Option<f64>,
    /// Payments of those customers within 30 days after their first action (up to the date).
    pub cash_after_action: Money,
    /// Customers overdue with no action for more than `quiet_days` (or never).
    pub backlog_customers: u64,
    pub backlog_overdue: Money,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct WorkKpis {
    pub from: Day,
    pub to: Day,
    pub rows: Vec<WorkRow>,
    pub total: WorkRow,
}

#[derive(Default, Clone)]
struct Acc {
    actions: u64,
    by_kind: BTreeMap<String, u64>,
    with_outcome: u64,
    contacts: u64,
    obtained: u64,
    promised: i64,
    kept: u64,
    kept_amount: i64,
    broken: u64,
    broken_amount: i64,
    to_action: (u64, i64),
    opened: u64,
    resolved: u64,
    by_reason: BTreeMap<String, (u64, u64, i64)>,
    activation: [(u64, u64); 3],
    cash_after: i64,
    backlog: (u64, i64),
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.actions += o.actions;
        for (k, v) in &o.by_kind {
            *self.by_kind.entry(k.clone()).or_default() += v;
        }
        self.with_outcome += o.with_outcome;
        self.contacts += o.contacts;
        self.obtained += o.obtained;
        self.promised += o.promised;
        self.kept += o.kept;
        self.kept_amount += o.kept_amount;
        self.broken += o.broken;
        self.broken_amount += o.broken_amount;
        self.to_action.0 += o.to_action.0;
        self.to_action.1 += o.to_action.1;
        self.opened += o.opened;
        self.resolved += o.resolved;
        for (k, v) in &o.by_reason {
            let e = self.by_reason.entry(k.clone()).or_default();
            (e.0, e.1, e.2) = (e.0 + v.0, e.1 + v.1, e.2 + v.2);
        }
        for k in 0..3 {
            self.activation[k].0 += o.activation[k].0;
            self.activation[k].1 += o.activation[k].1;
        }
        self.cash_after += o.cash_after;
        self.backlog.0 += o.backlog.0;
        self.backlog.1 += o.backlog.1;
    }

    fn row(&self, collector: Option<String>, days: i32, snap: &Snapshot) -> WorkRow {
        let cur = snap.currency;
        let pct = |n: u64, d: u64| ratio(n as i128, d as i128).map(r2);
        let avg = |sum: i64, n: u64| (n > 0).then(|| r2(sum as f64 / n as f64));
        WorkRow {
            collector,
            actions: self.actions,
            actions_by_kind: self.by_kind.clone(),
            actions_per_day: r2(self.actions as f64 / days as f64),
            actions_per_week: r2(self.actions as f64 * 7.0 / days as f64),
            contact_rate: pct(self.contacts, self.with_outcome),
            promises_obtained: self.obtained,
            promised_amount: Money::new(self.promised, cur),
            promises_kept: self.kept,
            promises_kept_amount: Money::new(self.kept_amount, cur),
            promises_broken: self.broken,
            promises_broken_amount: Money::new(self.broken_amount, cur),
            kept_rate: pct(self.kept, self.kept + self.broken),
            avg_days_to_first_action: avg(self.to_action.1, self.to_action.0),
            disputes_opened: self.opened,
            disputes_resolved: self.resolved,
            disputes_by_reason: self
                .by_reason
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        DisputeReasonRow {
                            opened: v.0,
                            resolved: v.1,
                            avg_resolution_days: avg(v.2, v.1),
                        },
                    )
                })
                .collect(),
            activation_7: pct(self.activation[0].0, self.activation[0].1),
            activation_15: pct(self.activation[1].0, self.activation[1].1),
            activation_30: pct(self.activation[2].0, self.activation[2].1),
            cash_after_action: Money::new(self.cash_after, cur),
            backlog_customers: self.backlog.0,
            backlog_overdue: Money::new(self.backlog.1, cur),
        }
    }
}

/// The work KPIs of the selected customers over the `days` days ending on `to` (both
/// included); `quiet_days` sets the backlog.
pub fn work(snap: &Snapshot, sel: &Selection, to: Day, days: i32, quiet_days: i32) -> WorkKpis {
    let days = days.max(1);
    let (from, d) = (to.0 - (days - 1), to.0);
    let nc = snap.customers.names.len();
    let mut acc: Vec<Acc> = vec![Acc::default(); nc];
    let inv = &snap.invoices;
    // Actions: counted in the period; first action per customer in the period; last action by
    // the date (backlog); all actions per customer by day (first action after a due date).
    let mut first_in: Vec<Option<i32>> = vec![None; nc];
    let mut last: Vec<Option<i32>> = vec![None; nc];
    let mut by_customer: Vec<Vec<i32>> = vec![Vec::new(); nc];
    for a in snap.actions_between(crate::date::Day::FIRST_SUPPORTED.0, d) {
        let c = a.customer as usize;
        if !sel.customer(a.customer) {
            continue;
        }
        by_customer[c].push(a.day);
        last[c] = Some(last[c].map_or(a.day, |x| x.max(a.day)));
        if a.day < from {
            continue;
        }
        first_in[c] = Some(first_in[c].map_or(a.day, |x| x.min(a.day)));
        let x = &mut acc[c];
        x.actions += 1;
        *x.by_kind
            .entry(snap.action_kinds.value(a.kind).to_string())
            .or_default() += 1;
        if a.outcome > 0 {
            x.with_outcome += 1;
            if CONTACTS.contains(&OUTCOMES[a.outcome as usize - 1]) {
                x.contacts += 1;
            }
        }
    }
    // Promises obtained in the period; promises due in it, kept or broken.
    for p in &snap.promises {
        let i = p.invoice as usize;
        if !sel.invoice(snap, i) {
            continue;
        }
        let x = &mut acc[inv.customer[i] as usize];
        if (from..=d).contains(&p.promised_on) {
            x.obtained += 1;
            x.promised += p.amount;
        }
        if (from..=d).contains(&p.due_on) {
            if promise_paid(snap, p).1 {
                x.kept += 1;
                x.kept_amount += p.amount;
            } else {
                x.broken += 1;
                x.broken_amount += p.amount;
            }
        }
    }
    // Disputes opened and resolved in the period, by reason.
    for x in &snap.disputes {
        let i = x.invoice as usize;
        if !sel.invoice(snap, i) {
            continue;
        }
        let (opened, resolved) = (
            (from..=d).contains(&x.opened),
            (from..=d).contains(&x.resolved),
        );
        if !opened && !resolved {
            continue;
        }
        let a = &mut acc[inv.customer[i] as usize];
        let e = a
            .by_reason
            .entry(snap.reasons.value(x.reason).to_string())
            .or_default();
        if opened {
            a.opened += 1;
            e.0 += 1;
        }
        if resolved {
            a.resolved += 1;
            e.1 += 1;
            e.2 += (x.resolved - x.opened) as i64;
        }
    }
    // Invoices fallen overdue in the period: days to the first action on their customer.
    for c in by_customer.iter_mut() {
        c.sort_unstable();
    }
    let mut overdue: Vec<i64> = vec![0; nc];
    for i in 0..snap.invoice_count() {
        if !sel.invoice(snap, i) || inv.issue[i] > d {
            continue;
        }
        let c = inv.customer[i] as usize;
        let first_late = inv.due[i] + 1;
        if (from..=d).contains(&first_late) {
            let acts = &by_customer[c];
            let k = acts.partition_point(|&x| x < first_late);
            if let Some(&day) = acts.get(k) {
                acc[c].to_action.0 += 1;
                acc[c].to_action.1 += (day - first_late) as i64;
            }
        }
        if inv.due[i] < d {
            overdue[c] += snap.open_at(i, d).max(0);
        }
    }
    // Payments of the selected customers by day: cash after the first action of the period,
    // and the activation windows.
    let mut paid: Vec<Vec<i32>> = vec![Vec::new(); nc];
    for s in 0..snap.source_count() {
        if snap.sources.kind[s] != SRC_PAYMENT || !sel.source(snap, s) {
            continue;
        }
        let (c, day) = (snap.sources.customer[s] as usize, snap.sources.day[s]);
        if day > d {
            continue;
        }
        paid[c].push(day);
        if let Some(a) = first_in[c]
            && day > a
            && day <= a + 30
        {
            acc[c].cash_after += snap.sources.amount[s];
        }
    }
    for c in 0..nc {
        if !sel.customer(c as u32) {
            continue;
        }
        let acts = &by_customer[c];
        for (k, n) in [7, 15, 30].into_iter().enumerate() {
            // The first action in the period moved back by n days.
            let at = acts.partition_point(|&x| x < from - n);
            if let Some(&a) = acts.get(at).filter(|&&a| a <= d - n) {
                acc[c].activation[k].1 += 1;
                if paid[c].iter().any(|&p| p > a && p <= a + n) {
                    acc[c].activation[k].0 += 1;
                }
            }
        }
        if overdue[c] > 0 && last[c].is_none_or(|l| d - l > quiet_days) {
            acc[c].backlog.0 += 1;
            acc[c].backlog.1 += overdue[c];
        }
    }
    // Per collector, then the whole selection.
    let col = snap.customers.dims.get("collector");
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for (c, a) in acc.iter().enumerate() {
        if !sel.customer(c as u32) {
            continue;
        }
        total.add(a);
        if let Some(col) = col {
            let name = col.value(c as u32);
            if !name.is_empty() {
                groups.entry(name.to_string()).or_default().add(a);
            }
        }
    }
    WorkKpis {
        from: Day(from),
        to,
        rows: groups
            .iter()
            .map(|(k, a)| a.row(Some(k.clone()), days, snap))
            .collect(),
        total: total.row(None, days, snap),
    }
}
