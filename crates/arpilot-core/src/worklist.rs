//! The collector's worklist (kpis.md, "Worklist"): the customers that need an action on a date,
//! ranked by a priority score, each with the reasons it is there and a suggested next step.
//!
//! The score adds points for the weighted overdue amount (10 × log10(1 + W), W the overdue open
//! amounts in currency units each weighted by 1 + min(days overdue, 360) / 90) and fixed points
//! per reason ([`Reason::points`]). Balances, overdue amounts, credit-limit use and ratings are
//! the customer rows' ([`crate::customers`]): one answer on every page.

use crate::customers::{RatingThresholds, customers};
use crate::date::Day;
use crate::money::Money;
use crate::select::Selection;
use crate::snapshot::{Promise, Snapshot};
use schemars::JsonSchema;
use serde::Serialize;

/// Settings of the worklist.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorklistParams {
    /// An invoice fallen due within the last 7 days is a reason from this open amount (minor
    /// units).
    pub new_overdue_threshold: i64,
    /// Overdue customers without an action for more than this many days.
    pub quiet_days: i32,
    /// A dispute is overdue past its reason's usual resolution time, this many days when fewer
    /// than 3 disputes with the reason were resolved.
    pub default_dispute_days: i32,
}

impl Default for WorklistParams {
    fn default() -> Self {
        WorklistParams {
            new_overdue_threshold: 100_000,
            quiet_days: 30,
            default_dispute_days: 30,
        }
    }
}

/// Why a customer is on the worklist.
#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Invoices overdue, disputed ones included (as the customer row counts them).
    Overdue {
        invoices: u64,
        amount: Money,
        oldest_days: i32,
    },
    /// Overdue invoices under a promise not yet due: collection waits for it (no weight).
    PromiseRunning {
        invoices: u64,
        amount: Money,
        due_on: Day,
    },
    /// A promise falls due on the date.
    PromiseDueToday { invoice_id: String, amount: Money },
    /// The next action planned for the customer is due (and no action came since).
    NextActionDue { date: Day },
    /// A promise fell due in the last 30 days without being kept, and no action followed.
    PromiseBroken {
        invoice_id: String,
        amount: Money,
        due_on: Day,
    },
    /// A dispute open longer than its reason's usual resolution time.
    DisputeTooLong {
        invoice_id: String,
        reason: Option<String>,
        days: i32,
        usual_days: i32,
    },
    /// The balance exceeds the credit limit.
    OverLimit { balance: Money, limit: Money },
    /// The payer rating is worse than at the end of last month.
    RatingWorsened { from: String, to: String },
    /// Invoices fell due in the last 7 days with a large open amount: how many, their open
    /// total and the largest.
    NewOverdue {
        invoices: u64,
        amount: Money,
        largest_id: String,
    },
    /// Overdue and no action for a while (`days` is `null` when there was never one).
    NoRecentAction { days: Option<i32> },
}

impl Reason {
    /// Points the reason adds to the score.
    pub fn points(&self) -> f64 {
        match self {
            Reason::Overdue { .. } | Reason::PromiseRunning { .. } => 0.0,
            Reason::PromiseBroken { .. } => 30.0,
            Reason::PromiseDueToday { .. } | Reason::NextActionDue { .. } => 20.0,
            Reason::DisputeTooLong { .. } | Reason::OverLimit { .. } => 15.0,
            Reason::RatingWorsened { .. }
            | Reason::NewOverdue { .. }
            | Reason::NoRecentAction { .. } => 10.0,
        }
    }
}

/// What to do next, from the most pressing reason.
#[derive(Serialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// Ask why the promised payment did not come.
    CallBrokenPromise,
    /// Check that the payment promised for today arrived.
    CheckPromisedPayment,
    /// Nothing to press for: a promise covers what is overdue.
    AwaitPromise,
    /// Push the dispute's resolution with its owner.
    FollowUpDispute,
    /// A formal notice (mise en demeure): overdue 60 days or more.
    FormalNotice,
    /// A call: overdue 15 days or more, or over the credit limit.
    Call,
    /// A reminder e-mail.
    Email,
}

#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct WorklistRow {
    pub customer_id: String,
    pub name: String,
    pub collector: Option<String>,
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// The customer row's overdue amount.
    pub overdue: Money,
    /// Open amounts overdue or disputed.
    pub at_stake: Money,
    pub last_action: Option<Day>,
    pub last_action_kind: Option<String>,
    pub next_step: NextStep,
}

/// Paid on the invoice between a promise and its due date: the promise is kept when that
/// reaches its amount or the invoice is settled by then (kpis.md §7).
pub fn promise_paid(snap: &Snapshot, p: &Promise) -> (i64, bool) {
    let i = p.invoice as usize;
    let paid: i64 = snap
        .allocs_of(i)
        .filter(|a| a.day >= p.promised_on && a.day <= p.due_on)
        .map(|a| a.amount)
        .sum();
    (paid, paid >= p.amount || snap.open_at(i, p.due_on) <= 0)
}

/// Usual resolution time (median days) of each dispute reason code, over the disputes resolved
/// by `d`; `default` when fewer than three were.
fn usual_resolution(snap: &Snapshot, d: i32, default: i32) -> Vec<i32> {
    let mut days: Vec<Vec<i32>> = vec![Vec::new(); snap.reasons.len() + 1];
    for x in &snap.disputes {
        if x.resolved <= d {
            days[x.reason as usize].push(x.resolved - x.opened);
        }
    }
    days.into_iter()
        .map(|mut v| {
            if v.len() < 3 {
                default
            } else {
                v.sort_unstable();
                v[v.len() / 2]
            }
        })
        .collect()
}

#[derive(Default, Clone)]
struct Acc {
    /// Σ open × (90 + min(days overdue, 360)), to divide by 90.
    weighted: i128,
    overdue_count: u64,
    overdue_amount: i64,
    oldest: i32,
    /// Open amounts overdue or disputed.
    at_stake: i64,
    /// Overdue under a running promise: count, open total, latest promised date.
    promised: (u64, i64, i32),
    /// Newly overdue above the threshold: count, total, largest (open, row).
    new_overdue: (u64, i64, i64, u32),
    reasons: Vec<Reason>,
}

/// The worklist of the selected customers on `d`, highest score first (ties: larger overdue,
/// then customer id).
pub fn worklist(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    thresholds: &RatingThresholds,
    params: &WorklistParams,
) -> Vec<WorklistRow> {
    let cur = snap.currency;
    let nc = snap.customers.names.len();
    let day = d.0;
    let mut acc: Vec<Acc> = vec![Acc::default(); nc];
    let usual = usual_resolution(snap, day, params.default_dispute_days);
    let inv = &snap.invoices;
    for i in 0..snap.invoice_count() {
        if inv.issue[i] > day || inv.settled[i] <= day || !sel.invoice(snap, i) {
            continue;
        }
        let open = snap.open_at(i, day);
        if open <= 0 {
            continue;
        }
        let a = &mut acc[inv.customer[i] as usize];
        let late = day - inv.due[i];
        if late > 0 {
            a.overdue_count += 1;
            a.overdue_amount += open;
            a.oldest = a.oldest.max(late);
        }
        let dispute = snap
            .disputes_of(i as u32)
            .filter(|&r| snap.disputes[r].open_on(day))
            .min_by_key(|&r| snap.disputes[r].opened);
        if late > 0 || dispute.is_some() {
            a.at_stake += open;
        }
        if let Some(r) = dispute {
            // Collection waits for the dispute: its amount is at stake, not pressed for.
            let x = &snap.disputes[r];
            let (age, limit) = (day - x.opened, usual[x.reason as usize]);
            if age > limit {
                let reason = snap.reasons.value(x.reason);
                a.reasons.push(Reason::DisputeTooLong {
                    invoice_id: inv.ids.get(i as u32).to_string(),
                    reason: (!reason.is_empty()).then(|| reason.to_string()),
                    days: age,
                    usual_days: limit,
                });
            }
            continue;
        }
        if late > 0 {
            // A promise not yet due covers the invoice: wait for its date.
            let promise = snap
                .promises_of(i as u32)
                .map(|r| &snap.promises[r])
                .filter(|p| p.running_on(day))
                .map(|p| p.due_on)
                .max();
            if let Some(due_on) = promise {
                let p = &mut a.promised;
                (p.0, p.1, p.2) = (p.0 + 1, p.1 + open, p.2.max(due_on));
                continue;
            }
            a.weighted += open as i128 * (90 + late.min(360)) as i128;
            if late <= 7 && open >= params.new_overdue_threshold {
                let n = &mut a.new_overdue;
                n.0 += 1;
                n.1 += open;
                if open > n.2 {
                    (n.2, n.3) = (open, i as u32);
                }
            }
        }
    }
    // Promises due today, and broken in the last 30 days.
    let mut last_action: Vec<Option<(i32, u32)>> = vec![None; nc];
    for x in snap.actions_between(Day::FIRST_SUPPORTED.0, day) {
        let slot = &mut last_action[x.customer as usize];
        if slot.is_none_or(|(dd, _)| x.day >= dd) {
            *slot = Some((x.day, x.kind));
        }
    }
    for p in snap.promises_due_between(day - 30, day) {
        let i = p.invoice as usize;
        if p.promised_on > day || !sel.invoice(snap, i) {
            continue;
        }
        let c = inv.customer[i] as usize;
        let invoice_id = inv.ids.get(p.invoice).to_string();
        if p.due_on == day {
            if snap.open_at(i, day) > 0 {
                acc[c].reasons.push(Reason::PromiseDueToday {
                    invoice_id,
                    amount: Money::new(p.amount, cur),
                });
            }
        } else {
            let (_, kept) = promise_paid(snap, p);
            let followed = last_action[c].is_some_and(|(dd, _)| dd > p.due_on);
            if !kept && !followed && snap.open_at(i, day) > 0 {
                acc[c].reasons.push(Reason::PromiseBroken {
                    invoice_id,
                    amount: Money::new(p.amount, cur),
                    due_on: Day(p.due_on),
                });
            }
        }
    }
    let plans = snap.followups_on(day);
    let rows = customers(snap, sel, d, thresholds);
    let month_end = d.month_start().add_days(-1);
    let before: std::collections::HashMap<String, Option<&'static str>> =
        customers(snap, sel, month_end, thresholds)
            .into_iter()
            .map(|r| (r.customer_id, r.rating))
            .collect();
    let collector = snap.customers.dims.get("collector");
    let scale = 10f64.powi(cur.decimals() as i32);
    let mut out: Vec<WorklistRow> = rows
        .into_iter()
        .filter_map(|row| {
            let c = snap.customers.ids.find(&row.customer_id)?;
            let plan = plans.get(&c);
            // Not to be contacted before a date: off the list until then.
            if plan.and_then(|p| p.hold_until).is_some_and(|h| h.0 > day) {
                return None;
            }
            let a = std::mem::take(&mut acc[c as usize]);
            let mut reasons = Vec::new();
            if a.overdue_count > 0 {
                reasons.push(Reason::Overdue {
                    invoices: a.overdue_count,
                    amount: Money::new(a.overdue_amount, cur),
                    oldest_days: a.oldest,
                });
            }
            if a.promised.0 > 0 {
                reasons.push(Reason::PromiseRunning {
                    invoices: a.promised.0,
                    amount: Money::new(a.promised.1, cur),
                    due_on: Day(a.promised.2),
                });
            }
            reasons.extend(a.reasons);
            let (n, total, _, largest) = a.new_overdue;
            if n > 0 {
                reasons.push(Reason::NewOverdue {
                    invoices: n,
                    amount: Money::new(total, cur),
                    largest_id: snap.invoices.ids.get(largest).to_string(),
                });
            }
            if row.over_limit
                && let Some(limit) = row.credit_limit
            {
                reasons.push(Reason::OverLimit {
                    balance: row.balance,
                    limit,
                });
            }
            if let (Some(to), Some(Some(from))) = (row.rating, before.get(&row.customer_id))
                && to > *from
            {
                reasons.push(Reason::RatingWorsened {
                    from: from.to_string(),
                    to: to.to_string(),
                });
            }
            let last = last_action[c as usize];
            if let Some(next) = plan.and_then(|p| p.next_action)
                && next.0 <= day
                && last.is_none_or(|(dd, _)| dd < next.0)
            {
                reasons.push(Reason::NextActionDue { date: next });
            }
            if a.overdue_count > 0 {
                let quiet = last.map(|(dd, _)| day - dd);
                if quiet.is_none_or(|q| q > params.quiet_days) {
                    reasons.push(Reason::NoRecentAction { days: quiet });
                }
            }
            if reasons.is_empty() {
                return None;
            }
            let w = (a.weighted / 90) as f64 / scale;
            let points: f64 = reasons.iter().map(Reason::points).sum();
            let score = ((10.0 * (1.0 + w).log10() + points) * 10.0).round() / 10.0;
            // Every overdue invoice not in dispute is under a running promise.
            let waiting = a.promised.0 > 0 && a.weighted == 0;
            let next_step = next_step(&reasons, a.oldest, waiting);
            Some(WorklistRow {
                collector: collector
                    .map(|col| col.value(c).to_string())
                    .filter(|v| !v.is_empty()),
                customer_id: row.customer_id,
                name: row.name,
                score,
                reasons,
                overdue: row.overdue,
                at_stake: Money::new(a.at_stake, cur),
                last_action: last.map(|(dd, _)| Day(dd)),
                last_action_kind: last.map(|(_, k)| snap.action_kinds.value(k).to_string()),
                next_step,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.overdue.cmp(&a.overdue))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    out
}

fn next_step(reasons: &[Reason], oldest: i32, waiting: bool) -> NextStep {
    let has = |f: fn(&Reason) -> bool| reasons.iter().any(f);
    if has(|r| matches!(r, Reason::PromiseBroken { .. })) {
        NextStep::CallBrokenPromise
    } else if has(|r| matches!(r, Reason::PromiseDueToday { .. })) {
        NextStep::CheckPromisedPayment
    } else if has(|r| matches!(r, Reason::DisputeTooLong { .. })) {
        NextStep::FollowUpDispute
    } else if waiting && !has(|r| matches!(r, Reason::OverLimit { .. })) {
        NextStep::AwaitPromise
    } else if oldest >= 60 {
        NextStep::FormalNotice
    } else if oldest >= 15
        || has(|r| matches!(r, Reason::OverLimit { .. } | Reason::NextActionDue { .. }))
    {
        NextStep::Call
    } else {
        NextStep::Email
    }
}
