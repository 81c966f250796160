//! The other report sections: top debtors, maturity periods, disputes, promises, actions.

use super::output::r2o;
use super::pass::Pass;
use super::{ActionCount, Debtor, Disputes, Promises, ReasonRow, r2};
use crate::date::Day;
use crate::dso;
use crate::money::{Currency, Money};
use crate::select::Selection;
use crate::snapshot::{NO_INVOICE, Snapshot};

pub(super) fn top_debtors(
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

pub(super) fn maturity_labels(d: Day) -> Vec<String> {
    let mut v = vec!["overdue".to_string(), "rest_of_month".to_string()];
    for k in 1..=5 {
        v.push(d.month_end_offset(k).month_label());
    }
    v.push("later".to_string());
    v
}

pub(super) fn disputes(
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
    // Largest amount first, then by name: not in the order reasons first appeared, which
    // depends on the order the ledger was read in.
    let mut by_reason: Vec<ReasonRow> = pass
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
    by_reason.sort_by(|a, b| (b.amount.minor, &a.reason).cmp(&(a.amount.minor, &b.reason)));
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

pub(super) fn promises(snap: &Snapshot, sel: &Selection, d: Day, cur: Currency) -> Promises {
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
            if crate::worklist::promise_paid(snap, pr).1 {
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

pub(super) fn actions(snap: &Snapshot, sel: &Selection, d: Day) -> Vec<ActionCount> {
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
