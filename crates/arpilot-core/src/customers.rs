//! Per-customer behaviour (spec §5): balance, days late, days to pay, count-back DSO, rating,
//! weight in revenue, credit-limit use.

use crate::date::Day;
use crate::dso;
use crate::money::Money;
use crate::report::r2;
use crate::scope::Scope;
use crate::select::Selection;
use crate::snapshot::{SRC_CREDIT, Snapshot};
use schemars::JsonSchema;
use serde::Serialize;

/// Upper bounds of average days late for ratings A, B and C; D beyond.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatingThresholds {
    pub a: f64,
    pub b: f64,
    pub c: f64,
}

impl Default for RatingThresholds {
    fn default() -> Self {
        RatingThresholds {
            a: 0.0,
            b: 15.0,
            c: 45.0,
        }
    }
}

impl RatingThresholds {
    pub fn rate(&self, avg_days_late: f64) -> &'static str {
        if avg_days_late <= self.a {
            "A"
        } else if avg_days_late <= self.b {
            "B"
        } else if avg_days_late <= self.c {
            "C"
        } else {
            "D"
        }
    }
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub customer_id: String,
    pub name: String,
    pub balance: Money,
    pub open_invoices: Money,
    pub not_due: Money,
    pub overdue: Money,
    pub unapplied: Money,
    pub open_count: u64,
    /// Amount-weighted (settlement − due) of invoices settled in the last 90 days.
    pub avg_days_late: Option<f64>,
    /// Amount-weighted (settlement − issue) of the same invoices.
    pub days_to_pay: Option<f64>,
    pub dso_countback: f64,
    pub dso_countback_history_exhausted: bool,
    pub revenue_share_ytd: Option<f64>,
    /// The payer rating, A (best) to D; `null` without invoices settled in the last 90 days.
    #[schemars(extend("enum" = ["A", "B", "C", "D", null]))]
    pub rating: Option<&'static str>,
    /// Share of rated customers with a lower (better) average days late, in %.
    pub rating_percentile: Option<f64>,
    pub credit_limit: Option<Money>,
    pub credit_use: Option<f64>,
    pub over_limit: bool,
}

/// A customer's figures on a date, accumulated over its rows ([`standings`]).
#[derive(Default, Clone)]
pub(crate) struct Standing {
    pub balance: i64,
    pub open: i64,
    pub overdue: i64,
    pub open_count: u64,
    weight: i128,
    late: i128,
    to_pay: i128,
    ytd: i64,
    first_doc: i32,
}

impl Standing {
    /// Amount-weighted days late of the invoices settled in the 90 days to the date.
    pub fn avg_days_late(&self) -> Option<f64> {
        (self.weight > 0).then(|| self.late as f64 / self.weight as f64)
    }

    /// The balance in % of a positive credit limit.
    pub fn credit_use(&self, limit: Option<i64>) -> Option<f64> {
        limit
            .filter(|&l| l > 0)
            .map(|l| self.balance as f64 / l as f64 * 100.0)
    }
}

/// Each customer's [`Standing`] on `d` (indexed by customer row), over the selected rows of
/// `scope`; `sale(customer, day, amount)` hears of every sale by `d` (invoices, and credit notes
/// negative), for the count-back DSO. The one pass behind every per-customer figure.
pub(crate) fn standings(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    scope: Scope,
    mut sale: impl FnMut(usize, i32, i64),
) -> Vec<Standing> {
    let nc = snap.customers.names.len();
    let inv = &snap.invoices;
    let src = &snap.sources;
    let mut acc = vec![
        Standing {
            first_doc: i32::MAX,
            ..Standing::default()
        };
        nc
    ];
    let jan1 = Day::from_ymd(d.year(), 1, 1).expect("valid").0;
    let lo90 = d.0 - 90;
    scope.each_invoice(snap, |i| {
        let issue = inv.issue[i];
        if issue > d.0 || !sel.invoice(snap, i) {
            return;
        }
        let c = inv.customer[i] as usize;
        let a = &mut acc[c];
        let amt = inv.amount[i];
        a.balance += amt;
        a.first_doc = a.first_doc.min(issue);
        if issue >= jan1 {
            a.ytd += amt;
        }
        sale(c, issue, amt);
        let settled = inv.settled[i];
        if settled > lo90 && settled <= d.0 {
            a.weight += amt as i128;
            a.late += amt as i128 * (settled - inv.due[i]) as i128;
            a.to_pay += amt as i128 * (settled - issue) as i128;
        }
        if settled > d.0 {
            let open = snap.open_at(i, d.0);
            if open > 0 {
                a.open += open;
                a.open_count += 1;
                if inv.due[i] < d.0 {
                    a.overdue += open;
                }
            }
        }
    });
    scope.each_source(snap, |s| {
        let day = src.day[s];
        if day > d.0 || !sel.source(snap, s) {
            return;
        }
        let c = src.customer[s] as usize;
        let a = &mut acc[c];
        a.balance -= src.amount[s];
        a.first_doc = a.first_doc.min(day);
        if src.kind[s] == SRC_CREDIT {
            if day >= jan1 {
                a.ytd -= src.amount[s];
            }
            sale(c, day, -src.amount[s]);
        }
    });
    acc
}

/// One row per selected customer, largest balance first (ties: customer id).
pub fn customers(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    thresholds: &RatingThresholds,
) -> Vec<CustomerRow> {
    rows(snap, sel, d, thresholds, None)
}

/// The row of customer `id` among the selected customers (the same figures as its row in
/// [`customers`], whose weight in revenue and rating percentile compare it with the others),
/// without building the other rows: `None` when it is not selected.
pub fn customer(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    thresholds: &RatingThresholds,
    id: &str,
) -> Option<CustomerRow> {
    let c = snap.customers.ids.find(id)?;
    rows(snap, sel, d, thresholds, Some(c)).pop()
}

/// The rows of every selected customer, or of `only`. Totals and ranks (revenue share,
/// percentile) always cover the whole selection.
fn rows(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    thresholds: &RatingThresholds,
    only: Option<u32>,
) -> Vec<CustomerRow> {
    let nc = snap.customers.names.len();
    let inv = &snap.invoices;
    let src = &snap.sources;
    // Monthly net sales per customer, months from the first document to d's month.
    let first_month = inv
        .issue
        .iter()
        .chain(&src.day)
        .filter(|&&x| x <= d.0)
        .min()
        .map_or(d.month_index(), |&x| Day(x).month_index());
    let nm = (d.month_index() - first_month + 1) as usize;
    // Monthly sales are only needed for the rows built: one customer's, or every customer's.
    let slot = |c: usize| match only {
        None => Some(c * nm),
        Some(o) => (o as usize == c).then_some(0),
    };
    let mut sales = vec![0i64; if only.is_some() { nm } else { nc * nm }];
    let acc = standings(snap, sel, d, Scope::All(None), |c, day, amount| {
        if let Some(k) = slot(c) {
            sales[k + (Day(day).month_index() - first_month) as usize] += amount;
        }
    });
    let total_ytd: i64 = acc.iter().map(|a| a.ytd).sum();
    let avgs: Vec<Option<f64>> = acc.iter().map(Standing::avg_days_late).collect();
    let mut sorted: Vec<f64> = avgs.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let cur = snap.currency;
    let m = |v| Money::new(v, cur);
    let built: Box<dyn Iterator<Item = usize>> = match only {
        Some(o) => Box::new(std::iter::once(o as usize)),
        None => Box::new(0..nc),
    };
    let mut rows: Vec<CustomerRow> = built
        .filter(|&c| sel.customer(c as u32))
        .map(|c| {
            let a = &acc[c];
            let k = slot(c).expect("a built row has its sales");
            let row = &sales[k..k + nm];
            let cb = dso::countback_from(
                a.balance,
                d,
                (a.first_doc != i32::MAX).then_some(a.first_doc),
                |_, end| row[(Day(end).month_index() - first_month).max(0) as usize],
            );
            let avg = avgs[c];
            let limit = snap.customers.credit_limit[c];
            let credit_use = a.credit_use(limit);
            CustomerRow {
                customer_id: snap.customers.ids.get(c as u32).to_string(),
                name: snap.customers.names[c].clone(),
                balance: m(a.balance),
                open_invoices: m(a.open),
                not_due: m(a.open - a.overdue),
                overdue: m(a.overdue),
                unapplied: m(a.balance - a.open),
                open_count: a.open_count,
                avg_days_late: avg.map(r2),
                days_to_pay: (a.weight > 0).then(|| r2(a.to_pay as f64 / a.weight as f64)),
                dso_countback: r2(cb.days),
                dso_countback_history_exhausted: cb.history_exhausted,
                revenue_share_ytd: dso::ratio(a.ytd as i128, total_ytd as i128).map(r2),
                rating: avg.map(|x| thresholds.rate(x)),
                rating_percentile: avg.map(|x| {
                    let lower = sorted.partition_point(|&y| y < x);
                    r2(lower as f64 / sorted.len() as f64 * 100.0)
                }),
                credit_limit: limit.map(m),
                credit_use: credit_use.map(r2),
                over_limit: credit_use.is_some_and(|u| u > 100.0),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.balance
            .minor
            .cmp(&a.balance.minor)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    rows
}
