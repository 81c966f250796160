//! The collector's worklist (kpis.md, "Worklist"): the customers that need an action on a date,
//! ranked by a priority score, each with the reasons it is there and a suggested next step.
//!
//! The score adds points for the weighted overdue amount (10 × log10(1 + W), W the overdue open
//! amounts in currency units each weighted by 1 + min(days overdue, 360) / 90) and fixed points
//! per reason ([`Reason::points`]). Balances, overdue amounts, credit-limit use and ratings are
//! the customer rows' ([`crate::customers`]): one answer on every page.

use crate::customers::{RatingThresholds, standings};
use crate::date::Day;
use crate::money::Money;
use crate::scope::{ByCustomer, Scope, Stop};
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
    let usual = usual_resolution(snap, d.0, params.default_dispute_days);
    let mut out: Vec<WorklistRow> =
        rows(snap, sel, d, thresholds, params, &usual, Scope::All(None))
            .into_iter()
            .filter_map(|(_, r)| r)
            .collect();
    out.sort_by(rank);
    out
}

/// The worklist's order: highest score first, then larger overdue, then customer id.
fn rank(a: &WorklistRow, b: &WorklistRow) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| b.overdue.cmp(&a.overdue))
        .then_with(|| a.customer_id.cmp(&b.customer_id))
}

/// The worklist row (`None`: nothing to do) of each selected customer of `scope`, by customer
/// row, unordered. `usual` is [`usual_resolution`] on `d`.
fn rows(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    thresholds: &RatingThresholds,
    params: &WorklistParams,
    usual: &[i32],
    scope: Scope,
) -> Vec<(u32, Option<WorklistRow>)> {
    let cur = snap.currency;
    let nc = snap.customers.names.len();
    let day = d.0;
    let mut acc: Vec<Acc> = vec![Acc::default(); nc];
    let inv = &snap.invoices;
    scope.each_invoice(snap, |i| {
        if inv.issue[i] > day || inv.settled[i] <= day || !sel.invoice(snap, i) {
            return;
        }
        let open = snap.open_at(i, day);
        if open <= 0 {
            return;
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
            return;
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
                return;
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
    });
    // A writer waiting (see `Scope::stopped`): the caller drops what was computed.
    if scope.stopped() {
        return Vec::new();
    }
    // Each customer's last action by then (latest date, then latest recorded).
    let mut last_action: Vec<Option<(i32, usize)>> = vec![None; nc];
    scope.each_action(snap, |k| {
        let x = &snap.actions[k];
        let slot = &mut last_action[x.customer as usize];
        if x.day <= day && slot.is_none_or(|s| (x.day, k) > s) {
            *slot = Some((x.day, k));
        }
    });
    if scope.stopped() {
        return Vec::new();
    }
    // Promises due today, and broken in the last 30 days, by due date.
    let due: Vec<usize> = match scope {
        Scope::All(_) => snap.promise_rows_due_between(day - 30, day).collect(),
        Scope::Customers(..) => {
            let mut v = Vec::new();
            scope.each_invoice(snap, |i| {
                v.extend(snap.promises_of(i as u32).filter(|&r| {
                    let p = &snap.promises[r];
                    p.due_on >= day - 30 && p.due_on <= day
                }))
            });
            v.sort_unstable_by_key(|&r| (snap.promises[r].due_on, r));
            v
        }
    };
    for r in due {
        let p = &snap.promises[r];
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
    // Balance, overdue, credit-limit use and rating as the customer rows count them, now and at
    // the end of last month (for the rating's change).
    let now = standings(snap, sel, d, scope, |_, _, _| {});
    let month_end = d.month_start().add_days(-1);
    if scope.stopped() {
        return Vec::new();
    }
    let before = standings(snap, sel, month_end, scope, |_, _, _| {});
    if scope.stopped() {
        return Vec::new();
    }
    // Follow-ups (next action, do not contact until): one pass for everyone, or each customer's.
    let mut plans = match scope {
        Scope::All(_) => snap.followups_on(day),
        Scope::Customers(_, customers) => customers
            .iter()
            .filter_map(|&c| snap.followup_of(c, day).map(|f| (c, f)))
            .collect(),
    };
    let collector = snap.customers.dims.get("collector");
    let scale = 10f64.powi(cur.decimals() as i32);
    let m = |v| Money::new(v, cur);
    let mut row_of = |c: u32| {
        let ci = c as usize;
        let a = std::mem::take(&mut acc[ci]);
        let plan = plans.remove(&c);
        // Not to be contacted before a date: off the list until then.
        if plan
            .as_ref()
            .and_then(|p| p.hold_until)
            .is_some_and(|h| h.0 > day)
        {
            return (c, None);
        }
        let mut reasons = Vec::new();
        if a.overdue_count > 0 {
            reasons.push(Reason::Overdue {
                invoices: a.overdue_count,
                amount: m(a.overdue_amount),
                oldest_days: a.oldest,
            });
        }
        if a.promised.0 > 0 {
            reasons.push(Reason::PromiseRunning {
                invoices: a.promised.0,
                amount: m(a.promised.1),
                due_on: Day(a.promised.2),
            });
        }
        reasons.extend(a.reasons);
        let (n, total, _, largest) = a.new_overdue;
        if n > 0 {
            reasons.push(Reason::NewOverdue {
                invoices: n,
                amount: m(total),
                largest_id: snap.invoices.ids.get(largest).to_string(),
            });
        }
        let st = &now[ci];
        let limit = snap.customers.credit_limit[ci];
        if st.credit_use(limit).is_some_and(|u| u > 100.0)
            && let Some(limit) = limit
        {
            reasons.push(Reason::OverLimit {
                balance: m(st.balance),
                limit: m(limit),
            });
        }
        let rating = |s: &crate::customers::Standing| s.avg_days_late().map(|x| thresholds.rate(x));
        if let (Some(to), Some(from)) = (rating(st), rating(&before[ci]))
            && to > from
        {
            reasons.push(Reason::RatingWorsened {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
        let last = last_action[ci];
        if let Some(next) = plan.as_ref().and_then(|p| p.next_action)
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
            return (c, None);
        }
        let w = (a.weighted / 90) as f64 / scale;
        let points: f64 = reasons.iter().map(Reason::points).sum();
        let score = ((10.0 * (1.0 + w).log10() + points) * 10.0).round() / 10.0;
        // Every overdue invoice not in dispute is under a running promise.
        let waiting = a.promised.0 > 0 && a.weighted == 0;
        let next_step = next_step(&reasons, a.oldest, waiting);
        let row = WorklistRow {
            collector: collector
                .map(|col| col.value(c).to_string())
                .filter(|v| !v.is_empty()),
            customer_id: snap.customers.ids.get(c).to_string(),
            name: snap.customers.names[ci].clone(),
            score,
            reasons,
            overdue: m(st.overdue),
            at_stake: m(a.at_stake),
            last_action: last.map(|(dd, _)| Day(dd)),
            last_action_kind: last
                .map(|(_, k)| snap.action_kinds.value(snap.actions[k].kind).to_string()),
            next_step,
        };
        (c, Some(row))
    };
    let mut out = Vec::new();
    for (k, c) in scope.customers(nc).into_iter().enumerate() {
        if k % 4096 == 0 && scope.stopped() {
            break;
        }
        if sel.customer(c) {
            out.push(row_of(c));
        }
    }
    out
}

/// The worklist of every customer on one date, kept up to date as the ledger grows: an append
/// recomputes the rows of the customers it touched (through their index), not the whole
/// portfolio's. A selection of customers (a collector's portfolio, a manager's pick) reads its
/// rows from it.
#[derive(Clone)]
pub struct Memo {
    pub date: Day,
    thresholds: RatingThresholds,
    params: WorklistParams,
    /// The snapshot state the rows reflect.
    generation: u64,
    usual: Vec<i32>,
    index: ByCustomer,
    rows: Vec<Option<std::sync::Arc<WorklistRow>>>,
    /// Customer rows with something to do, in the worklist's order.
    order: Vec<u32>,
}

impl Memo {
    /// Every customer's row on `d`: one pass over the ledger.
    pub fn new(
        snap: &Snapshot,
        d: Day,
        thresholds: &RatingThresholds,
        params: &WorklistParams,
    ) -> Memo {
        Memo::new_unless(snap, d, thresholds, params, &Stop::never()).expect("not stopped")
    }

    /// [`Memo::new`], given up (`None`) soon after `stop` fires: every pass over the ledger
    /// asks it every few thousand rows, so that a writer waiting for the snapshot waits for a
    /// millisecond rather than for the whole list.
    pub fn new_unless(
        snap: &Snapshot,
        d: Day,
        thresholds: &RatingThresholds,
        params: &WorklistParams,
        stop: &Stop,
    ) -> Option<Memo> {
        Memo::resumed_unless(
            snap,
            d,
            thresholds,
            params,
            stop,
            &mut ByCustomer::default(),
        )
    }

    /// [`Memo::new_unless`] from `index`, the index of customers' rows so far of this snapshot
    /// or an earlier state of it, completed and taken by the memo; given up, the index is left
    /// as far as it got, for the next attempt to go on from (at 10 M invoices it is a third of
    /// the work, and freeing it most of what a writer waited for).
    pub fn resumed_unless(
        snap: &Snapshot,
        d: Day,
        thresholds: &RatingThresholds,
        params: &WorklistParams,
        stop: &Stop,
        index: &mut ByCustomer,
    ) -> Option<Memo> {
        let usual = usual_resolution(snap, d.0, params.default_dispute_days);
        if !index.catch_up_unless(snap, stop) {
            return None;
        }
        let mut memo = Memo {
            date: d,
            thresholds: *thresholds,
            params: *params,
            generation: snap.generation(),
            usual,
            index: std::mem::take(index),
            rows: Vec::new(),
            order: Vec::new(),
        };
        let all = Selection::all();
        let fresh = rows(
            snap,
            &all,
            d,
            thresholds,
            params,
            &memo.usual,
            Scope::All(Some(stop)),
        );
        // A pass that stopped early left some customers' figures partial.
        if stop.fired() {
            *index = memo.index;
            return None;
        }
        memo.store(fresh, true);
        Some(memo)
    }

    /// True when the memo answers for this date and these settings.
    pub fn answers(&self, d: Day, thresholds: &RatingThresholds, params: &WorklistParams) -> bool {
        self.date == d && self.thresholds == *thresholds && self.params == *params
    }

    /// The snapshot state the rows reflect.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Brings the memo to `snap`, a later state of the ledger whose changes since the memo's
    /// touched only the customer rows `touched`: their rows are computed again (and new
    /// customers'). A change of the disputes' usual resolution times concerns everyone: the
    /// whole list is computed again (then the answer is true).
    pub fn update(&mut self, snap: &Snapshot, touched: &[u32]) -> bool {
        let usual = usual_resolution(snap, self.date.0, self.params.default_dispute_days);
        if usual != self.usual {
            *self = Memo::new(snap, self.date, &self.thresholds, &self.params);
            return true;
        }
        let known = self.rows.len() as u32;
        self.index.catch_up(snap);
        let mut customers: Vec<u32> = touched
            .iter()
            .copied()
            .chain(known..snap.customers.names.len() as u32)
            .collect();
        customers.sort_unstable();
        customers.dedup();
        let all = Selection::all();
        let fresh = rows(
            snap,
            &all,
            self.date,
            &self.thresholds,
            &self.params,
            &self.usual,
            Scope::Customers(&self.index, &customers),
        );
        self.store(fresh, false);
        self.generation = snap.generation();
        false
    }

    /// Takes the rows computed: the whole list sorted once, or a few rows moved to their ranks.
    fn store(&mut self, fresh: Vec<(u32, Option<WorklistRow>)>, whole: bool) {
        if !whole {
            let moved: std::collections::HashSet<u32> = fresh.iter().map(|(c, _)| *c).collect();
            self.order.retain(|c| !moved.contains(c));
        }
        for (c, r) in fresh {
            let ci = c as usize;
            if self.rows.len() <= ci {
                self.rows.resize(ci + 1, None);
            }
            self.rows[ci] = r.map(std::sync::Arc::new);
            if let (false, Some(row)) = (whole, self.rows[ci].as_deref()) {
                let rows = &self.rows;
                let at = self.order.partition_point(|&o| {
                    rank(rows[o as usize].as_deref().expect("kept"), row).is_lt()
                });
                self.order.insert(at, c);
            }
        }
        if whole {
            let rows = &self.rows;
            let mut order: Vec<u32> = (0..rows.len() as u32)
                .filter(|&c| rows[c as usize].is_some())
                .collect();
            order.sort_by(|&a, &b| {
                rank(
                    rows[a as usize].as_deref().expect("kept"),
                    rows[b as usize].as_deref().expect("kept"),
                )
            });
            self.order = order;
        }
    }

    /// The worklist of the customers `sel` keeps, highest score first: the same rows as
    /// [`worklist`] for a selection of customers (`sel` must not filter documents).
    pub fn list(&self, sel: &Selection) -> Vec<std::sync::Arc<WorklistRow>> {
        self.order
            .iter()
            .filter(|&&c| sel.customer(c))
            .filter_map(|&c| self.rows[c as usize].clone())
            .collect()
    }
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
