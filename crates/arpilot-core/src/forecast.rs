//! Collections forecast (spec §8) and its back-test.
//!
//! Each invoice open at `D` is expected:
//! 1. on the date of an unexpired promise to pay, for the promised amount;
//! 2. if disputed, on the dispute's opening date plus the average resolution time of its reason
//!    (disputes resolved by `D`; all reasons when this one has no history);
//! 3. otherwise from the customer's payment behaviour (the portfolio's when the customer has
//!    fewer than [`MIN_HISTORY`] settled invoices).
//!
//! For rule 3, [`Method::Distribution`] spreads the invoice over the customer's own
//! distribution of days late, recency-weighted and conditioned on the invoice still being unpaid
//! at `D` (an invoice already 40 days late is only compared with past invoices paid more than 40
//! days late). [`Method::MeanDelay`] is the single-average rule of the specification (due date
//! plus average days late), [`Method::DueDate`] the naive "paid on its due date". A date already
//! past moves to the day after `D`.
//!
//! Which of the first two serves a ledger best is not assumed: [`Method::Auto`], arpilot's
//! forecast, back-tests both on the month ends before `D` (only those whose next month is
//! complete, so nothing after `D` is used) and follows the one with the smaller next-month error.

use crate::date::Day;
use crate::money::Money;
use crate::report::r2;
use crate::select::Selection;
use crate::snapshot::{F_DISPUTE, F_PROMISE, SRC_PAYMENT, Snapshot};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::HashMap;

/// Settled invoices a customer needs before its own behaviour is trusted.
pub const MIN_HISTORY: usize = 3;
/// Half-life of a settled invoice's weight in the behaviour, in days.
pub const HALF_LIFE_DAYS: f64 = 180.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// arpilot's forecast: whichever of `Distribution` and `MeanDelay` back-tests better on the
    /// months before the date.
    Auto,
    /// Distribution of days late, recency-weighted, conditioned on being unpaid.
    Distribution,
    /// Due date plus the customer's amount-weighted average days late.
    MeanDelay,
    /// Everything is paid on its due date.
    DueDate,
}

impl Method {
    /// The methods that forecast by themselves (all but `Auto`).
    pub const BASE: [Method; 3] = [Method::Distribution, Method::MeanDelay, Method::DueDate];
    /// Month ends `Auto` looks back on.
    pub const AUTO_MONTHS: usize = 12;

    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "auto" => Method::Auto,
            "distribution" => Method::Distribution,
            "mean_delay" => Method::MeanDelay,
            "due_date" => Method::DueDate,
            _ => return None,
        })
    }
}

/// Days late of settled invoices, sorted, with running weights.
#[derive(Default, Clone, Debug)]
struct Delays {
    days: Vec<i32>,
    cum: Vec<f64>,
    mean: f64,
}

impl Delays {
    fn build(mut v: Vec<(i32, f64, f64)>) -> Delays {
        v.sort_by_key(|x| x.0);
        let mut acc = 0.0;
        let cum = v
            .iter()
            .map(|x| {
                acc += x.1;
                acc
            })
            .collect();
        let (sw, swd) = v
            .iter()
            .fold((0.0, 0.0), |(a, b), x| (a + x.2, b + x.2 * x.0 as f64));
        Delays {
            days: v.iter().map(|x| x.0).collect(),
            cum,
            mean: if sw > 0.0 { swd / sw } else { 0.0 },
        }
    }

    fn len(&self) -> usize {
        self.days.len()
    }

    /// Weight of delays in `[lo, hi]`.
    fn mass(&self, lo: i32, hi: i32) -> f64 {
        if lo > hi {
            return 0.0;
        }
        let a = self.days.partition_point(|&x| x < lo);
        let b = self.days.partition_point(|&x| x <= hi);
        let at = |k: usize| if k == 0 { 0.0 } else { self.cum[k - 1] };
        at(b) - at(a)
    }
}

/// What the ledger tells about payment habits as of a date.
struct Habits {
    customers: HashMap<u32, Delays>,
    portfolio: Delays,
    /// Average resolution days per dispute reason, and over all reasons.
    reasons: HashMap<u32, f64>,
    all_reasons: Option<f64>,
}

fn habits(snap: &Snapshot, sel: &Selection, d: i32) -> Habits {
    let inv = &snap.invoices;
    let mut per: HashMap<u32, Vec<(i32, f64, f64)>> = HashMap::new();
    let mut all = Vec::new();
    for i in 0..snap.invoice_count() {
        let s = inv.settled[i];
        if s > d || !sel.invoice(snap, i) {
            continue;
        }
        let delay = s - inv.due[i];
        let amt = inv.amount[i] as f64;
        let w = amt * 0.5f64.powf((d - s) as f64 / HALF_LIFE_DAYS);
        per.entry(inv.customer[i])
            .or_default()
            .push((delay, w, amt));
        all.push((delay, w, amt));
    }
    let mut res: HashMap<u32, (f64, u32)> = HashMap::new();
    for dp in &snap.disputes {
        if dp.resolved <= d {
            let e = res.entry(dp.reason).or_default();
            e.0 += (dp.resolved - dp.opened) as f64;
            e.1 += 1;
        }
    }
    let (tot, n) = res.values().fold((0.0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    Habits {
        customers: per
            .into_iter()
            .filter(|(_, v)| v.len() >= MIN_HISTORY)
            .map(|(c, v)| (c, Delays::build(v)))
            .collect(),
        portfolio: Delays::build(all),
        reasons: res
            .into_iter()
            .map(|(r, (s, n))| (r, s / n as f64))
            .collect(),
        all_reasons: (n > 0).then(|| tot / n as f64),
    }
}

/// Expected cash of every open invoice at `d`, handed to `emit(invoice, date, amount)` with
/// dates after `d` (amounts in minor units, fractional where a distribution spreads them).
/// `ends` are the boundaries (inclusive last days) of the periods the caller sums into; the
/// behaviour method only needs the mass per period.
#[allow(clippy::too_many_arguments)]
fn expected(
    snap: &Snapshot,
    sel: &Selection,
    d: i32,
    method: Method,
    ends: &[i32],
    h: &Habits,
    mut emit: impl FnMut(usize, usize, f64),
) {
    let inv = &snap.invoices;
    let mut dcur = snap.dispute_cursor(0);
    let mut pcur = snap.promise_cursor(0);
    // Period index of a date (> d); the last period is open-ended.
    let period = |day: i32| ends.partition_point(|&e| e < day).min(ends.len() - 1);
    for i in 0..snap.invoice_count() {
        if inv.settled[i] <= d || inv.issue[i] > d || !sel.invoice(snap, i) {
            continue;
        }
        let mut open = snap.open_at(i, d) as f64;
        if open <= 0.0 {
            continue;
        }
        let flags = inv.flags[i];
        let later = |day: i32| day.max(d + 1);
        if method != Method::DueDate && flags & F_PROMISE != 0 {
            for pr in pcur.rows(i as u32).map(|k| &snap.promises[k]) {
                if pr.running_on(d) && open > 0.0 {
                    let a = (pr.amount as f64).min(open);
                    emit(i, period(later(pr.due_on)), a);
                    open -= a;
                }
            }
            if open <= 0.0 {
                continue;
            }
        }
        if method != Method::DueDate && flags & F_DISPUTE != 0 {
            let open_dispute = dcur
                .rows(i as u32)
                .map(|k| &snap.disputes[k])
                .filter(|dp| dp.open_on(d))
                .min_by_key(|dp| dp.opened);
            if let Some(dp) = open_dispute
                && let Some(days) = h.reasons.get(&dp.reason).copied().or(h.all_reasons)
            {
                emit(i, period(later(dp.opened + days.round() as i32)), open);
                continue;
            }
        }
        let due = inv.due[i];
        let behaviour = h
            .customers
            .get(&inv.customer[i])
            .filter(|b| b.len() >= MIN_HISTORY);
        match method {
            Method::DueDate => emit(i, period(later(due)), open),
            Method::MeanDelay => {
                let b = behaviour.unwrap_or(&h.portfolio);
                emit(i, period(later(due + b.mean.round() as i32)), open);
            }
            Method::Distribution | Method::Auto => {
                // Delays that are still possible for an invoice unpaid at d.
                let elapsed = d - due;
                let b = behaviour
                    .filter(|b| b.mass(elapsed + 1, i32::MAX) > 0.0)
                    .or(Some(&h.portfolio).filter(|b| b.mass(elapsed + 1, i32::MAX) > 0.0));
                match b {
                    None => emit(i, period(d + 1), open),
                    Some(b) => {
                        let total = b.mass(elapsed + 1, i32::MAX);
                        let mut lo = elapsed + 1;
                        for (k, &end) in ends.iter().enumerate() {
                            let hi = if k + 1 == ends.len() {
                                i32::MAX
                            } else {
                                end.saturating_sub(due)
                            };
                            let m = b.mass(lo, hi);
                            if m > 0.0 {
                                emit(i, k, open * m / total);
                            }
                            if hi == i32::MAX {
                                break;
                            }
                            lo = lo.max(hi + 1);
                        }
                    }
                }
            }
        }
    }
}

/// The periods after `d`: rest of the month (empty at a month end), M+1, M+2, M+3, later.
pub fn periods(d: Day) -> (Vec<String>, Vec<i32>) {
    let labels = vec![
        "rest_of_month".to_string(),
        d.month_end_offset(1).month_label(),
        d.month_end_offset(2).month_label(),
        d.month_end_offset(3).month_label(),
        "later".to_string(),
    ];
    let ends = vec![
        d.month_end().0,
        d.month_end_offset(1).0,
        d.month_end_offset(2).0,
        d.month_end_offset(3).0,
        i32::MAX,
    ];
    (labels, ends)
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Forecast {
    pub as_of: Day,
    pub method: Method,
    /// The base method actually applied (`Auto` resolves to one of them).
    pub method_used: Method,
    /// Cash collected (payments) in each of the past months, oldest first, then the month to date.
    pub past: Vec<PastMonth>,
    pub future: Vec<FuturePeriod>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct PastMonth {
    pub month: String,
    pub collected: Money,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct FuturePeriod {
    pub period: String,
    pub expected: Money,
}

/// The method `Auto` follows as of `d`: the base method with the smaller next-month error over
/// the month ends whose next month ended by `d` (the mean delay when there is no such history).
pub fn auto_method(snap: &Snapshot, sel: &Selection, d: Day) -> Method {
    let last = if d == d.month_end() {
        d.month_end_offset(-1)
    } else {
        d.month_end_offset(-2)
    };
    let first = last.month_end_offset(1 - Method::AUTO_MONTHS as i32);
    let candidates = [Method::Distribution, Method::MeanDelay];
    let mut err = [0.0f64; 2];
    let mut any = false;
    let mut e = first;
    while e <= last {
        let (_, ends) = periods(e);
        let actual = actual_cash(snap, sel, e, &ends);
        let act1: f64 = actual.values().map(|v| v[0]).sum();
        any |= act1 > 0.0;
        let habits = habits(snap, sel, e.0);
        for (m, &method) in candidates.iter().enumerate() {
            let mut f1 = 0.0;
            expected(snap, sel, e.0, method, &ends, &habits, |_, k, a| {
                if k == 1 {
                    f1 += a;
                }
            });
            err[m] += (f1 - act1).abs();
        }
        e = e.month_end_offset(1);
    }
    if any && err[0] < err[1] {
        Method::Distribution
    } else {
        Method::MeanDelay
    }
}

pub fn forecast(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    method: Method,
    past_months: usize,
) -> Forecast {
    let method_used = if method == Method::Auto {
        auto_method(snap, sel, d)
    } else {
        method
    };
    let (labels, ends) = periods(d);
    let mut sums = vec![0.0f64; ends.len()];
    let h = habits(snap, sel, d.0);
    expected(snap, sel, d.0, method_used, &ends, &h, |_, k, a| {
        sums[k] += a
    });
    let cum = crate::report::cum_for(snap, sel);
    let cur = snap.currency;
    let past = (0..=past_months as i32)
        .rev()
        .map(|k| {
            let end = if k == 0 { d } else { d.month_end_offset(-k) };
            let start = end.month_start().0 - 1;
            PastMonth {
                month: end.month_label(),
                collected: Money::new(cum.payments(start, end.0), cur),
            }
        })
        .collect();
    Forecast {
        as_of: d,
        method,
        method_used,
        past,
        future: labels
            .into_iter()
            .zip(sums)
            .map(|(period, a)| FuturePeriod {
                period,
                expected: Money::new(a.round() as i64, cur),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------- back-test

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Backtest {
    pub from: Day,
    pub to: Day,
    pub month_ends: Vec<Day>,
    pub horizons: Vec<&'static str>,
    pub methods: Vec<MethodScore>,
    /// Actual and forecast totals per month end and horizon, forecasts in the order of `methods`
    /// (the first, `auto`, is arpilot's).
    pub detail: Vec<BacktestMonth>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct MethodScore {
    pub method: Method,
    /// Weighted absolute percentage error per horizon, on portfolio totals, in %.
    pub wape: Vec<Option<f64>>,
    /// The same with errors counted customer by customer (no compensation between customers).
    pub wape_by_customer: Vec<Option<f64>>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct BacktestMonth {
    pub month_end: Day,
    pub actual: Vec<Money>,
    pub forecast: Vec<Vec<Money>>,
}

/// Payments allocated after `e` to the invoices open at `e`, per customer and horizon
/// (index 0 = M+1), for the first three months after `e`.
fn actual_cash(snap: &Snapshot, sel: &Selection, e: Day, ends: &[i32]) -> HashMap<u32, [f64; H]> {
    let inv = &snap.invoices;
    let mut actual: HashMap<u32, [f64; H]> = HashMap::new();
    for i in 0..snap.invoice_count() {
        if inv.settled[i] <= e.0 || inv.issue[i] > e.0 || !sel.invoice(snap, i) {
            continue;
        }
        for a in snap.allocs_of(i) {
            if a.day <= e.0 || a.kind != SRC_PAYMENT {
                continue;
            }
            let k = ends.partition_point(|&x| x < a.day);
            if (1..=H).contains(&k) {
                actual.entry(inv.customer[i]).or_default()[k - 1] += a.amount as f64;
            }
        }
    }
    actual
}

const H: usize = 3;

/// Runs the forecast at each month end from `from` to `to` and compares each horizon (M+1,
/// M+2, M+3) with the payments actually allocated, in that month, to the invoices open at the
/// month end. `Auto` is evaluated walk-forward: at each month end it follows the method that
/// did better on the earlier month ends whose next month was complete.
pub fn backtest(snap: &Snapshot, sel: &Selection, from: Day, to: Day) -> Backtest {
    let mut month_ends = Vec::new();
    let mut e = from.month_end();
    while e <= to {
        month_ends.push(e);
        e = e.month_end_offset(1);
    }
    let cur = snap.currency;
    let methods = [
        Method::Auto,
        Method::Distribution,
        Method::MeanDelay,
        Method::DueDate,
    ];
    let nm = methods.len();
    // Σ|F − A| per method and horizon, at portfolio and customer level; Σ A per horizon.
    let mut err = vec![[0.0f64; H]; nm];
    let mut err_c = vec![[0.0f64; H]; nm];
    let mut act_sum = [0.0f64; H];
    // Next-month errors of Distribution and MeanDelay at each month end, for Auto.
    let mut history: Vec<(Day, [f64; 2])> = Vec::new();
    let mut detail = Vec::new();
    for &e in &month_ends {
        let (_, ends) = periods(e);
        let actual = actual_cash(snap, sel, e, &ends);
        let act_tot: Vec<f64> = (0..H)
            .map(|h| actual.values().map(|v| v[h]).sum())
            .collect();
        for h in 0..H {
            act_sum[h] += act_tot[h];
        }
        let habits = habits(snap, sel, e.0);
        let mut per_method: Vec<HashMap<u32, [f64; H]>> = Vec::new();
        for &method in &Method::BASE {
            let mut fc: HashMap<u32, [f64; H]> = HashMap::new();
            expected(snap, sel, e.0, method, &ends, &habits, |i, k, a| {
                if (1..=H).contains(&k) {
                    fc.entry(snap.invoices.customer[i]).or_default()[k - 1] += a;
                }
            });
            per_method.push(fc);
        }
        let total = |fc: &HashMap<u32, [f64; H]>| {
            let mut t = [0.0f64; H];
            for v in fc.values() {
                for h in 0..H {
                    t[h] += v[h];
                }
            }
            t
        };
        // Auto: the better of Distribution (0) and MeanDelay (1) on complete earlier months.
        let known = e.month_end_offset(-1);
        let (mut e_dist, mut e_mean, mut any) = (0.0, 0.0, false);
        for (day, errs) in &history {
            if *day <= known {
                e_dist += errs[0];
                e_mean += errs[1];
                any = true;
            }
        }
        let auto_pick = if any && e_dist < e_mean { 0 } else { 1 };
        let mut fc_rows = Vec::new();
        for (m, method) in methods.iter().enumerate() {
            let fc = match method {
                Method::Auto => &per_method[auto_pick],
                Method::Distribution => &per_method[0],
                Method::MeanDelay => &per_method[1],
                Method::DueDate => &per_method[2],
            };
            let tot = total(fc);
            for h in 0..H {
                err[m][h] += (tot[h] - act_tot[h]).abs();
            }
            let custs: std::collections::HashSet<u32> =
                fc.keys().chain(actual.keys()).copied().collect();
            for c in custs {
                let f = fc.get(&c).copied().unwrap_or_default();
                let a = actual.get(&c).copied().unwrap_or_default();
                for h in 0..H {
                    err_c[m][h] += (f[h] - a[h]).abs();
                }
            }
            fc_rows.push(
                tot.iter()
                    .map(|&x| Money::new(x.round() as i64, cur))
                    .collect(),
            );
        }
        history.push((
            e,
            [
                (total(&per_method[0])[0] - act_tot[0]).abs(),
                (total(&per_method[1])[0] - act_tot[0]).abs(),
            ],
        ));
        detail.push(BacktestMonth {
            month_end: e,
            actual: act_tot
                .iter()
                .map(|&x| Money::new(x.round() as i64, cur))
                .collect(),
            forecast: fc_rows,
        });
    }
    let wape = |errs: &[f64; H]| -> Vec<Option<f64>> {
        (0..H)
            .map(|h| (act_sum[h] > 0.0).then(|| r2(errs[h] / act_sum[h] * 100.0)))
            .collect()
    };
    Backtest {
        from,
        to,
        month_ends,
        horizons: vec!["M+1", "M+2", "M+3"],
        methods: methods
            .iter()
            .enumerate()
            .map(|(m, &method)| MethodScore {
                method,
                wape: wape(&err[m]),
                wape_by_customer: wape(&err_c[m]),
            })
            .collect(),
        detail,
    }
}
