//! Monthly trends (spec §3 "Trend"): every point of a 12- or 24-month series in one pass over
//! the invoices, each invoice visiting only the month ends at which it was open.

use crate::date::Day;
use crate::dso;
use crate::money::Money;
use crate::report::{cum_for, r2};
use crate::select::Selection;
use crate::snapshot::Snapshot;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub date: Day,
    pub balance: Money,
    pub not_due: Money,
    pub overdue: Money,
    pub unapplied: Money,
    pub dso_countback: f64,
    pub dso_countback_history_exhausted: bool,
    pub dso_standard: Option<f64>,
    pub dso_best_possible: Option<f64>,
    pub dso_delinquent: Option<f64>,
    pub dbt: Option<f64>,
    pub cei_month: Option<f64>,
    pub cei_rolling_90: Option<f64>,
}

/// The month ends of the `months − 1` previous months, then `d`.
pub fn trend_dates(d: Day, months: usize) -> Vec<Day> {
    let mut v: Vec<Day> = (1..months as i32)
        .rev()
        .map(|k| d.month_end_offset(-k))
        .collect();
    v.push(d);
    v
}

pub fn trend(snap: &Snapshot, sel: &Selection, d: Day, months: usize) -> Vec<TrendPoint> {
    trend_at(snap, sel, &trend_dates(d, months.max(1)))
}

/// The trend's figures at any increasing dates (month ends or not), in one pass over the
/// invoices: each point equals the report's figure as of its date.
pub fn trend_at(snap: &Snapshot, sel: &Selection, dates: &[Day]) -> Vec<TrendPoint> {
    assert!(
        dates.windows(2).all(|w| w[0] < w[1]),
        "trend dates must increase"
    );
    if dates.is_empty() {
        return Vec::new();
    }
    let t: Vec<i32> = dates.iter().map(|x| x.0).collect();
    let k_n = t.len();
    let parts = crate::par::chunked(snap.invoice_count(), |r| open_at_dates(snap, sel, &t, r));
    let (mut open, mut not_due, mut dbt_num) = (vec![0i64; k_n], vec![0i64; k_n], vec![0i128; k_n]);
    for (o, n, b) in parts {
        for k in 0..k_n {
            open[k] += o[k];
            not_due[k] += n[k];
            dbt_num[k] += b[k];
        }
    }
    let cum = cum_for(snap, sel);
    let cur = snap.currency;
    dates
        .iter()
        .enumerate()
        .map(|(k, &day)| {
            let balance = cum.balance(day.0);
            let cb = dso::countback(&cum, day);
            let std = dso::per_90_days(&cum, day, balance);
            let best = dso::per_90_days(&cum, day, not_due[k]);
            TrendPoint {
                date: day,
                balance: Money::new(balance, cur),
                not_due: Money::new(not_due[k], cur),
                overdue: Money::new(open[k] - not_due[k], cur),
                unapplied: Money::new(cum.unapplied(day.0), cur),
                dso_countback: r2(cb.days),
                dso_countback_history_exhausted: cb.history_exhausted,
                dso_standard: std.map(r2),
                dso_best_possible: best.map(r2),
                dso_delinquent: std.zip(best).map(|(s, b)| r2(s - b)),
                dbt: (open[k] > 0).then(|| r2(dbt_num[k] as f64 / open[k] as f64)),
                cei_month: dso::cei_month(&cum, day, not_due[k]).map(r2),
                cei_rolling_90: dso::cei_rolling_90(&cum, day, not_due[k]).map(r2),
            }
        })
        .collect()
}

/// Open, not-due and days-beyond-terms numerators at each of the sorted dates `t`, over a range
/// of invoices: each invoice visits only the dates at which it was open.
#[allow(clippy::type_complexity)]
fn open_at_dates(
    snap: &Snapshot,
    sel: &Selection,
    t: &[i32],
    rows: std::ops::Range<usize>,
) -> (Vec<i64>, Vec<i64>, Vec<i128>) {
    let k_n = t.len();
    let mut open = vec![0i64; k_n];
    let mut not_due = vec![0i64; k_n];
    let mut dbt_num = vec![0i128; k_n];
    let inv = &snap.invoices;
    let (first, last) = (t[0], t[k_n - 1]);
    let all = sel.is_all();
    for i in rows {
        let issue = inv.issue[i];
        let settled = inv.settled[i];
        if issue > last || settled <= first || !(all || sel.invoice(snap, i)) {
            continue;
        }
        let mut k = t.partition_point(|&x| x < issue);
        if k >= k_n || t[k] >= settled {
            continue;
        }
        let due = inv.due[i];
        let mut rem = inv.amount[i];
        let mut allocs = snap.allocs_of(i);
        let mut next = allocs.next();
        while k < k_n && t[k] < settled {
            while let Some(a) = next.filter(|a| a.day <= t[k]) {
                rem -= a.amount;
                next = allocs.next();
            }
            open[k] += rem;
            if due >= t[k] {
                not_due[k] += rem;
            } else {
                dbt_num[k] += rem as i128 * (t[k] - due) as i128;
            }
            k += 1;
        }
    }
    (open, not_due, dbt_num)
}

/// The collection rate of the month of each date (kpis.md §4, the report's
/// `collection_rate.rate` as of that date), in one pass over the invoices.
pub fn collection_rates_at(snap: &Snapshot, sel: &Selection, dates: &[Day]) -> Vec<Option<f64>> {
    if dates.is_empty() {
        return Vec::new();
    }
    let t: Vec<i32> = dates.iter().map(|x| x.0).collect();
    let m0: Vec<i32> = dates.iter().map(|x| x.month_start().0 - 1).collect();
    let mend: Vec<i32> = dates.iter().map(|x| x.month_end().0).collect();
    let parts = crate::par::chunked(snap.invoice_count(), |r| {
        let k_n = t.len();
        // Per date: to collect, collected, credited.
        let mut acc = vec![(0i64, 0i64, 0i64); k_n];
        let inv = &snap.invoices;
        let all = sel.is_all();
        let (lo, hi) = (m0.iter().copied().min().unwrap_or(0), t[k_n - 1]);
        for i in r {
            let (issue, settled, due) = (inv.issue[i], inv.settled[i], inv.due[i]);
            if settled <= lo || issue > hi || !(all || sel.invoice(snap, i)) {
                continue;
            }
            for k in 0..k_n {
                if settled <= m0[k] || issue > t[k] || due > mend[k] {
                    continue;
                }
                let (mut open_m0, mut col, mut cred) = (inv.amount[i], 0i64, 0i64);
                for a in snap.allocs_of(i) {
                    if a.day > t[k] {
                        continue;
                    }
                    if a.day <= m0[k] {
                        open_m0 -= a.amount;
                    } else if a.kind == crate::snapshot::SRC_PAYMENT {
                        col += a.amount;
                    } else {
                        cred += a.amount;
                    }
                }
                acc[k].0 += if issue <= m0[k] {
                    open_m0
                } else {
                    inv.amount[i]
                };
                acc[k].1 += col;
                acc[k].2 += cred;
            }
        }
        acc
    });
    (0..t.len())
        .map(|k| {
            let (mut tc, mut col, mut cred) = (0i64, 0i64, 0i64);
            for p in &parts {
                tc += p[k].0;
                col += p[k].1;
                cred += p[k].2;
            }
            dso::ratio(col as i128, (tc - cred) as i128).map(r2)
        })
        .collect()
}
