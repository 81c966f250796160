//! The receivables report as of a date: one fused pass over the invoices and one over the
//! sources, plus prefix sums for everything that is a balance or a sales figure.
//!
//! One file per job: `params.rs` (what is asked), `output.rs` (what comes back), `pass.rs` (the
//! pass over the invoices), `groups.rs` (`--by`) and `sections.rs` (the other sections).

mod groups;
mod output;
mod params;
mod pass;
mod sections;

pub use output::{
    ActionCount, BucketRow, Cash, Cei, CollectionRate, Debtor, Disputes, Dso, GroupRow, Groups,
    MaturityRow, OverdueInvoice, Promises, ProvisionRow, Provisions, ReasonRow, Report, Totals, r2,
};
pub use params::{AgingConfig, Basis, ConfigError, GroupBy, ProvisionRates, ReportParams};
pub use pass::{aging, source_unapplied};

use crate::daily::{Cum, Daily};
use crate::dso::{self, CountBack};
use crate::money::Money;
use crate::select::Selection;
use crate::snapshot::Snapshot;
use groups::{GroupKey, group_key, groups};
use output::r2o;
use pass::run_pass;
use sections::{actions, disputes, maturity_labels, promises, top_debtors};

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

/// Running totals for a selection (the whole ledger's are cached in the snapshot).
pub fn cum_for(snap: &Snapshot, sel: &Selection) -> Cum {
    if sel.is_all() {
        snap.daily_all().cumulative()
    } else {
        Daily::of(snap, sel).cumulative()
    }
}
