//! DSO family and collection effectiveness from running totals (spec §3, §4).

use crate::daily::Cum;
use crate::date::Day;

/// Count-back DSO (JD Edwards rule).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CountBack {
    pub days: f64,
    /// The walk reached a period that ends before the first document of the ledger.
    pub history_exhausted: bool,
}

/// Walks back from `d`: the current month to date, then each full previous month, consuming
/// the balance with each period's net sales.
pub fn countback(cum: &Cum, d: Day) -> CountBack {
    countback_from(cum.balance(d.0), d, cum.first_doc, |a, b| {
        cum.net_sales(a, b)
    })
}

/// The count-back walk over any source of net sales `(a, b] → amount`.
pub fn countback_from(
    balance: i64,
    d: Day,
    first_doc: Option<i32>,
    net_sales: impl Fn(i32, i32) -> i64,
) -> CountBack {
    let mut out = CountBack {
        days: 0.0,
        history_exhausted: false,
    };
    let mut remaining = balance;
    if remaining <= 0 {
        return out;
    }
    let mut end = d.0;
    let mut start = d.month_start().0 - 1;
    let first = first_doc.unwrap_or(i32::MAX);
    loop {
        if end < first {
            out.history_exhausted = true;
            return out;
        }
        let len = (end - start) as f64;
        let sales = net_sales(start, end);
        if sales <= 0 {
            out.days += len;
        } else if remaining >= sales {
            remaining -= sales;
            out.days += len;
            if remaining == 0 {
                return out;
            }
        } else {
            out.days += remaining as f64 / sales as f64 * len;
            return out;
        }
        end = start;
        start = Day(end).month_start().0 - 1;
    }
}

/// `numerator / net sales of the last 90 days × 90`, `None` when those sales are ≤ 0.
pub fn per_90_days(cum: &Cum, d: Day, numerator: i64) -> Option<f64> {
    let sales = cum.net_sales(d.0 - 90, d.0);
    (sales > 0).then(|| numerator as f64 / sales as f64 * 90.0)
}

/// CEI of the month: `(B + S − balance) / (B + S − not_due) × 100`.
pub fn cei_month(cum: &Cum, d: Day, not_due: i64) -> Option<f64> {
    let prev_end = d.month_start().0 - 1;
    let b = cum.balance(prev_end) as i128;
    let s = cum.net_sales(prev_end, d.0) as i128;
    ratio(b + s - cum.balance(d.0) as i128, b + s - not_due as i128)
}

/// CEI over the last 90 days, CRF quarterly form with `S/3` (computed as `3B + S` to stay exact).
pub fn cei_rolling_90(cum: &Cum, d: Day, not_due: i64) -> Option<f64> {
    let b = cum.balance(d.0 - 90) as i128;
    let s = cum.net_sales(d.0 - 90, d.0) as i128;
    let bal = cum.balance(d.0) as i128;
    ratio(3 * b + s - 3 * bal, 3 * b + s - 3 * not_due as i128)
}

/// `num / den × 100`, `None` when `den ≤ 0`.
pub fn ratio(num: i128, den: i128) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64 * 100.0)
}
