//! Grouping (`--by`): the key each invoice and source is counted under, and the group rows.

use super::pass::{Pass, source_unapplied};
use super::{ConfigError, GroupBy, GroupRow, Groups, ReportParams};
use crate::money::Money;
use crate::select::{Selection, known_dimensions};
use crate::snapshot::Snapshot;

/// How groups are keyed during the pass.
pub(super) enum GroupKey<'a> {
    None,
    Customer,
    Invoice,
    CustomerDim(&'a crate::columns::DimCol),
    DocDim(
        Option<&'a crate::columns::DimCol>,
        Option<&'a crate::columns::DimCol>,
    ),
}

pub(super) fn group_key<'a>(
    snap: &'a Snapshot,
    by: Option<&GroupBy>,
) -> Result<GroupKey<'a>, ConfigError> {
    Ok(match by {
        None => GroupKey::None,
        Some(GroupBy::Customer) => GroupKey::Customer,
        Some(GroupBy::Invoice) => GroupKey::Invoice,
        Some(GroupBy::Dim(name)) => {
            if let Some(c) = snap.customers.dims.get(name) {
                GroupKey::CustomerDim(c)
            } else {
                let (a, b) = (snap.invoices.dims.get(name), snap.sources.dims.get(name));
                if a.is_none() && b.is_none() {
                    return Err(ConfigError::Group {
                        name: name.clone(),
                        known: known_dimensions(snap).join(", "),
                    });
                }
                GroupKey::DocDim(a, b)
            }
        }
    })
}

pub(super) fn groups(
    snap: &Snapshot,
    sel: &Selection,
    p: &ReportParams,
    key: &GroupKey,
    pass: &Pass,
    labels: &[String],
    ng: usize,
) -> Groups {
    let nb = pass.nb;
    let cur = snap.currency;
    let m = |v: i64| Money::new(v, cur);
    let d = p.as_of.0;
    let mut rows = Vec::new();
    let row_of = |key: String, amounts: &[i64], counts: &[u64], unapplied: i64| GroupRow {
        key,
        name: None,
        customer_id: None,
        balance: m(amounts.iter().sum::<i64>() + unapplied),
        amounts: amounts.iter().map(|&a| m(a)).collect(),
        counts: counts.to_vec(),
        unapplied: m(unapplied),
    };
    let by;
    match key {
        GroupKey::None => unreachable!(),
        GroupKey::Customer | GroupKey::CustomerDim(_) => {
            let mut unapplied = vec![0i64; ng];
            for c in 0..pass.cust_open.len() {
                if !sel.customer(c as u32) {
                    continue;
                }
                let g = match key {
                    GroupKey::Customer => c,
                    GroupKey::CustomerDim(col) => col.code(c as u32) as usize,
                    _ => unreachable!(),
                };
                unapplied[g] -= pass.cust_unapplied[c];
            }
            for (g, &un) in unapplied.iter().enumerate() {
                let amounts = &pass.g_amounts[g * nb..(g + 1) * nb];
                let open: i64 = amounts.iter().sum();
                if open == 0 && un == 0 {
                    continue;
                }
                let r = match key {
                    GroupKey::Customer => {
                        let mut r = row_of(
                            snap.customers.ids.get(g as u32).to_string(),
                            amounts,
                            &pass.g_counts[g * nb..(g + 1) * nb],
                            un,
                        );
                        r.name = Some(snap.customers.names[g].clone());
                        r
                    }
                    GroupKey::CustomerDim(col) => row_of(
                        col.dict.value(g as u32).to_string(),
                        amounts,
                        &pass.g_counts[g * nb..(g + 1) * nb],
                        un,
                    ),
                    _ => unreachable!(),
                };
                rows.push(r);
            }
            by = match key {
                GroupKey::Customer => "customer".to_string(),
                GroupKey::CustomerDim(col) => col.name.clone(),
                _ => unreachable!(),
            };
        }
        GroupKey::DocDim(ic, sc) => {
            let un_src = source_unapplied(snap, d);
            let mut unapplied = vec![0i64; ng];
            for (s, &u) in un_src.iter().enumerate() {
                if u != 0 && sel.source(snap, s) {
                    unapplied[sc.map_or(0, |col| col.code(s as u32) as usize)] += u;
                }
            }
            // Group keys are values, so merge the invoice and source dictionaries by text.
            let mut by_text: std::collections::BTreeMap<String, (Vec<i64>, Vec<u64>, i64)> =
                Default::default();
            for (g, &un) in unapplied.iter().enumerate() {
                let t = ic
                    .filter(|c| g < c.dict.len())
                    .map(|c| c.dict.value(g as u32).to_string());
                if let Some(t) = t {
                    let e = by_text
                        .entry(t)
                        .or_insert_with(|| (vec![0; nb], vec![0; nb], 0));
                    for b in 0..nb {
                        e.0[b] += pass.g_amounts[g * nb + b];
                        e.1[b] += pass.g_counts[g * nb + b];
                    }
                }
                let t = sc
                    .filter(|c| g < c.dict.len())
                    .map(|c| c.dict.value(g as u32).to_string())
                    .or_else(|| (g == 0).then(String::new));
                if let Some(t) = t {
                    let e = by_text
                        .entry(t)
                        .or_insert_with(|| (vec![0; nb], vec![0; nb], 0));
                    e.2 += un;
                }
            }
            for (t, (a, c, u)) in by_text {
                if a.iter().all(|&x| x == 0) && u == 0 {
                    continue;
                }
                rows.push(row_of(t, &a, &c, u));
            }
            by = ic.or(*sc).map(|c| c.name.clone()).unwrap_or_default();
        }
        GroupKey::Invoice => {
            for &(i, b, open) in &pass.g_invoices {
                let mut amounts = vec![0; nb];
                let mut counts = vec![0; nb];
                amounts[b] = open;
                counts[b] = 1;
                let mut r = row_of(snap.invoices.ids.get(i).to_string(), &amounts, &counts, 0);
                r.customer_id = Some(
                    snap.customers
                        .ids
                        .get(snap.invoices.customer[i as usize])
                        .to_string(),
                );
                rows.push(r);
            }
            for (s, u) in source_unapplied(snap, d).into_iter().enumerate() {
                if u != 0 && sel.source(snap, s) {
                    let mut r = row_of(
                        snap.sources.ids.get(s as u32).to_string(),
                        &vec![0; nb],
                        &vec![0; nb],
                        u,
                    );
                    r.customer_id =
                        Some(snap.customers.ids.get(snap.sources.customer[s]).to_string());
                    rows.push(r);
                }
            }
            by = "invoice".to_string();
        }
    }
    rows.sort_by(|a, b| {
        b.balance
            .minor
            .cmp(&a.balance.minor)
            .then_with(|| a.key.cmp(&b.key))
    });
    Groups {
        by,
        buckets: labels.to_vec(),
        rows,
    }
}
