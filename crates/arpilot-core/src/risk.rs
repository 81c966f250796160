//! Risk figures (kpis.md "Risk") as of any date, and at several dates in one pass: overdue
//! accounts, customers at risk and why, invoices paid by their due date, average age.

use crate::customers::RatingThresholds;
use crate::date::Day;
use crate::dso;
use crate::money::Money;
use crate::report::r2;
use crate::select::Selection;
use crate::snapshot::{F_LEGAL, F_PROMISE, Snapshot};
use crate::trend::trend_dates;
use schemars::JsonSchema;
use serde::Serialize;

/// Customers at risk for one reason: how many, and the open invoices they have.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct RiskReason {
    pub count: u64,
    pub amount: Money,
}

/// The invoices falling due in a date's month up to that date, and those paid by their due date.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct PaidOnTime {
    /// `YYYY-MM`.
    pub month: String,
    /// Invoices due from the 1st of the month to the date, and their amount.
    pub due_count: u64,
    pub due_amount: Money,
    /// Of those, the invoices settled on or before their due date.
    pub on_time_count: u64,
    /// Of their amount, what was allocated to them on or before their due date.
    pub paid_by_due_amount: Money,
    /// `on_time_count / due_count × 100`.
    pub count_share: Option<f64>,
    /// `paid_by_due_amount / due_amount × 100`.
    pub amount_share: Option<f64>,
}

/// The risk figures at one date.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct RiskPoint {
    pub date: Day,
    /// Customers with an overdue open amount.
    pub overdue_accounts: u64,
    /// Customers with open invoices (the base of `at_risk_share`).
    pub customers_with_balance: u64,
    /// Customers with open invoices and at least one reason below.
    pub at_risk: u64,
    pub at_risk_share: Option<f64>,
    /// The open invoices of the customers at risk.
    pub at_risk_amount: Money,
    /// Payer rating D (average days late above the C threshold).
    pub rating_d: RiskReason,
    /// Balance above the credit limit.
    pub over_limit: RiskReason,
    /// An open invoice in legal collection (contentieux).
    pub in_legal: RiskReason,
    /// A promise due in the last 90 days not kept, on an invoice still open.
    pub broken_promise: RiskReason,
    pub paid_on_time: PaidOnTime,
    /// `Σ open × (date − issue) / Σ open` over open invoices, in days.
    pub average_age: Option<f64>,
}

const LEGAL: u8 = 1;
const BROKEN: u8 = 2;

/// The risk figures at the month ends of the `months − 1` previous months and at `d` (the
/// dates of [`trend_dates`]), oldest first.
pub fn risk_trend(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    months: usize,
    thresholds: &RatingThresholds,
) -> Vec<RiskPoint> {
    risk_at(snap, sel, &trend_dates(d, months.max(1)), thresholds)
}

/// The risk figures at each of the increasing `dates`, in one pass over the invoices and one
/// over the payments and credits.
pub fn risk_at(
    snap: &Snapshot,
    sel: &Selection,
    dates: &[Day],
    thresholds: &RatingThresholds,
) -> Vec<RiskPoint> {
    assert!(
        dates.windows(2).all(|w| w[0] < w[1]),
        "risk dates must increase"
    );
    let nk = dates.len();
    if nk == 0 {
        return Vec::new();
    }
    let t: Vec<i32> = dates.iter().map(|x| x.0).collect();
    let mstart: Vec<i32> = dates.iter().map(|x| x.month_start().0).collect();
    let (first, last) = (t[0], t[nk - 1]);
    let nc = snap.customers.names.len();
    let at = |c: usize, k: usize| c * nk + k;
    // Per customer and date.
    let mut open = vec![0i64; nc * nk];
    let mut overdue = vec![0i64; nc * nk];
    let mut balance = vec![0i64; nc * nk];
    let mut weight = vec![0i64; nc * nk];
    let mut late = vec![0i128; nc * nk];
    let mut flags = vec![0u8; nc * nk];
    // Per date.
    let mut age_num = vec![0i128; nk];
    let mut open_total = vec![0i64; nk];
    let mut due_n = vec![0u64; nk];
    let mut due_amt = vec![0i64; nk];
    let mut ontime_n = vec![0u64; nk];
    let mut paid_by_due = vec![0i64; nk];

    let inv = &snap.invoices;
    let all = sel.is_all();
    for i in 0..snap.invoice_count() {
        let issue = inv.issue[i];
        if issue > last || !(all || sel.invoice(snap, i)) {
            continue;
        }
        let (settled, due, amt) = (inv.settled[i], inv.due[i], inv.amount[i]);
        let c = inv.customer[i] as usize;
        let k0 = t.partition_point(|&x| x < issue);
        balance[at(c, k0)] += amt;
        // Rating: invoices settled in the 90 days up to each date.
        if settled <= last && settled > first - 90 {
            for k in t.partition_point(|&x| x < settled)..nk {
                if settled <= t[k] - 90 {
                    break;
                }
                weight[at(c, k)] += amt;
                late[at(c, k)] += amt as i128 * (settled - due) as i128;
            }
        }
        // Paid by the due date, for the dates whose month-to-date holds the due date.
        if due <= last && due >= mstart[0] {
            let paid = amt - snap.open_at(i, due);
            for k in t.partition_point(|&x| x < due)..nk {
                if due < mstart[k] {
                    break;
                }
                due_n[k] += 1;
                due_amt[k] += amt;
                if settled <= due {
                    ontime_n[k] += 1;
                }
                paid_by_due[k] += paid;
            }
        }
        if settled <= first {
            continue;
        }
        // Open amounts at each date the invoice was open.
        let fl = inv.flags[i];
        let mut rem = amt;
        let mut allocs = snap.allocs_of(i);
        let mut next = allocs.next();
        let mut k = k0;
        while k < nk && t[k] < settled {
            while let Some(a) = next.filter(|a| a.day <= t[k]) {
                rem -= a.amount;
                next = allocs.next();
            }
            if rem > 0 {
                let x = at(c, k);
                open[x] += rem;
                open_total[k] += rem;
                age_num[k] += rem as i128 * (t[k] - issue) as i128;
                if due < t[k] {
                    overdue[x] += rem;
                }
                if fl & F_LEGAL != 0 {
                    flags[x] |= LEGAL;
                }
                if fl & F_PROMISE != 0 && broken_promise(snap, i, t[k]) {
                    flags[x] |= BROKEN;
                }
            }
            k += 1;
        }
    }
    let src = &snap.sources;
    for s in 0..snap.source_count() {
        let day = src.day[s];
        if day > last || !(all || sel.source(snap, s)) {
            continue;
        }
        let k0 = t.partition_point(|&x| x < day);
        balance[at(src.customer[s] as usize, k0)] -= src.amount[s];
    }

    let cur = snap.currency;
    let m = |v: i64| Money::new(v, cur);
    let reason = |(n, a): (u64, i64)| RiskReason {
        count: n,
        amount: m(a),
    };
    let mut out = Vec::with_capacity(nk);
    // Running balances: each customer's row of deltas becomes a prefix sum over the dates.
    for c in 0..nc {
        for k in 1..nk {
            balance[at(c, k)] += balance[at(c, k - 1)];
        }
    }
    for (k, &date) in dates.iter().enumerate() {
        let (mut accounts, mut with_balance, mut risky, mut risky_amt) = (0u64, 0u64, 0u64, 0i64);
        let mut by = [(0u64, 0i64); 4];
        for c in 0..nc {
            if !sel.customer(c as u32) {
                continue;
            }
            let x = at(c, k);
            if overdue[x] > 0 {
                accounts += 1;
            }
            if open[x] <= 0 {
                continue;
            }
            with_balance += 1;
            let rated_d =
                weight[x] > 0 && thresholds.rate(late[x] as f64 / weight[x] as f64) == "D";
            // The customers page's credit use, compared as it compares it.
            let over = snap.customers.credit_limit[c]
                .filter(|&l| l > 0)
                .is_some_and(|l| balance[x] as f64 / l as f64 * 100.0 > 100.0);
            let why = [rated_d, over, flags[x] & LEGAL != 0, flags[x] & BROKEN != 0];
            for (b, &yes) in by.iter_mut().zip(&why) {
                if yes {
                    b.0 += 1;
                    b.1 += open[x];
                }
            }
            if why.iter().any(|&y| y) {
                risky += 1;
                risky_amt += open[x];
            }
        }
        out.push(RiskPoint {
            date,
            overdue_accounts: accounts,
            customers_with_balance: with_balance,
            at_risk: risky,
            at_risk_share: dso::ratio(risky as i128, with_balance as i128).map(r2),
            at_risk_amount: m(risky_amt),
            rating_d: reason(by[0]),
            over_limit: reason(by[1]),
            in_legal: reason(by[2]),
            broken_promise: reason(by[3]),
            paid_on_time: PaidOnTime {
                month: date.month_label(),
                due_count: due_n[k],
                due_amount: m(due_amt[k]),
                on_time_count: ontime_n[k],
                paid_by_due_amount: m(paid_by_due[k]),
                count_share: dso::ratio(ontime_n[k] as i128, due_n[k] as i128).map(r2),
                amount_share: dso::ratio(paid_by_due[k] as i128, due_amt[k] as i128).map(r2),
            },
            average_age: (open_total[k] > 0).then(|| r2(age_num[k] as f64 / open_total[k] as f64)),
        });
    }
    out
}

/// True when a promise on invoice `i` fell due in the 90 days up to `d` (as the broken-promise
/// list counts them) and was not kept.
fn broken_promise(snap: &Snapshot, i: usize, d: i32) -> bool {
    snap.promises_of(i as u32).any(|r| {
        let p = &snap.promises[r];
        p.due_on <= d && p.due_on > d - 90 && !crate::worklist::promise_paid(snap, p).1
    })
}

/// A customer with overdue invoices, for the list of the latest payers.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct LateCustomer {
    pub customer_id: String,
    pub name: String,
    /// Open amount of its invoices due before the date.
    pub overdue: Money,
    pub overdue_invoices: u64,
    /// Days overdue weighted by the overdue open amounts.
    pub days_late: f64,
    /// Days overdue of its oldest overdue invoice.
    pub oldest_days: i32,
}

/// The `top` selected customers with the largest overdue amount at `d` (ties: customer id).
pub fn late_customers(snap: &Snapshot, sel: &Selection, d: Day, top: usize) -> Vec<LateCustomer> {
    let nc = snap.customers.names.len();
    // Per customer: overdue, invoices, Σ open × days, oldest.
    type Late = (i64, u64, i128, i32);
    let mut acc: Vec<Late> = vec![(0, 0, 0, 0); nc];
    let inv = &snap.invoices;
    let all = sel.is_all();
    for i in 0..snap.invoice_count() {
        let due = inv.due[i];
        if due >= d.0 || inv.settled[i] <= d.0 || !(all || sel.invoice(snap, i)) {
            continue;
        }
        let open = snap.open_at(i, d.0);
        if open <= 0 {
            continue;
        }
        let a = &mut acc[inv.customer[i] as usize];
        a.0 += open;
        a.1 += 1;
        a.2 += open as i128 * (d.0 - due) as i128;
        a.3 = a.3.max(d.0 - due);
    }
    let mut rows: Vec<(u32, &Late)> = acc
        .iter()
        .enumerate()
        .filter(|(c, a)| a.0 > 0 && sel.customer(*c as u32))
        .map(|(c, a)| (c as u32, a))
        .collect();
    let ids = &snap.customers.ids;
    rows.sort_by(|x, y| {
        y.1.0
            .cmp(&x.1.0)
            .then_with(|| ids.get(x.0).cmp(ids.get(y.0)))
    });
    rows.truncate(top);
    rows.into_iter()
        .map(|(c, a)| LateCustomer {
            customer_id: ids.get(c).to_string(),
            name: snap.customers.names[c as usize].clone(),
            overdue: Money::new(a.0, snap.currency),
            overdue_invoices: a.1,
            days_late: r2(a.2 as f64 / a.0 as f64),
            oldest_days: a.3,
        })
        .collect()
}
