//! The fused pass over the invoices (parallel chunks, then merged) and unapplied amounts.

use super::groups::GroupKey;
use super::{AgingConfig, Basis, ReportParams, cum_for};
use crate::date::Day;
use crate::select::Selection;
use crate::snapshot::{F_DISPUTE, F_LEGAL, F_PROMISE, SRC_PAYMENT, Snapshot};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub(super) struct Pass {
    pub(super) nb: usize,
    pub(super) open: i64,
    pub(super) not_due: i64,
    pub(super) overdue: i64,
    pub(super) disputed: i64,
    pub(super) in_legal: i64,
    pub(super) promised: i64,
    pub(super) buckets: Vec<(i64, u64)>,
    pub(super) dbt_num: i128,
    pub(super) provision_bp: Vec<i128>,
    pub(super) maturity: [(i64, u64); 7],
    pub(super) to_collect: i64,
    pub(super) collected: i64,
    pub(super) credited: i64,
    pub(super) remaining: i64,
    /// Per customer: open invoices at the date, and unapplied cash and credit (as a positive
    /// amount) at the date.
    pub(super) cust_open: Vec<i64>,
    pub(super) cust_unapplied: Vec<i64>,
    pub(super) cust_overdue: Vec<i64>,
    pub(super) top: TopOpen,
    /// Per group: bucket amounts and counts (flattened), for `--by`.
    pub(super) g_amounts: Vec<i64>,
    pub(super) g_counts: Vec<u64>,
    /// Open invoices when grouping by invoice: (invoice, bucket, open).
    pub(super) g_invoices: Vec<(u32, usize, i64)>,
    pub(super) disputed_by_reason: Vec<(u64, i64)>,
}

pub(super) fn run_pass(
    snap: &Snapshot,
    sel: &Selection,
    p: &ReportParams,
    key: &GroupKey,
    ng: usize,
) -> Pass {
    let ni = snap.invoice_count();
    let parts = crate::par::chunked(ni, |r| pass_range(snap, sel, p, key, ng, r));
    let mut parts = parts.into_iter();
    let mut ps = parts.next().expect("at least one part");
    for other in parts {
        ps.merge(other, p.top);
    }
    add_final_unapplied(snap, sel, p.as_of.0, &mut ps);
    ps
}

impl Pass {
    fn merge(&mut self, o: Pass, top: usize) {
        self.open += o.open;
        self.not_due += o.not_due;
        self.overdue += o.overdue;
        self.disputed += o.disputed;
        self.in_legal += o.in_legal;
        self.promised += o.promised;
        for (a, b) in self.buckets.iter_mut().zip(o.buckets) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.dbt_num += o.dbt_num;
        for (a, b) in self.provision_bp.iter_mut().zip(o.provision_bp) {
            *a += b;
        }
        for (a, b) in self.maturity.iter_mut().zip(o.maturity) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.to_collect += o.to_collect;
        self.collected += o.collected;
        self.credited += o.credited;
        self.remaining += o.remaining;
        for (a, b) in self.cust_open.iter_mut().zip(o.cust_open) {
            *a += b;
        }
        for (a, b) in self.cust_unapplied.iter_mut().zip(o.cust_unapplied) {
            *a += b;
        }
        for (a, b) in self.cust_overdue.iter_mut().zip(o.cust_overdue) {
            *a += b;
        }
        self.top.merge(o.top, top);
        for (a, b) in self.g_amounts.iter_mut().zip(o.g_amounts) {
            *a += b;
        }
        for (a, b) in self.g_counts.iter_mut().zip(o.g_counts) {
            *a += b;
        }
        self.g_invoices.extend(o.g_invoices);
        for (a, b) in self.disputed_by_reason.iter_mut().zip(o.disputed_by_reason) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn pass_range(
    snap: &Snapshot,
    sel: &Selection,
    p: &ReportParams,
    key: &GroupKey,
    ng: usize,
    invoices: std::ops::Range<usize>,
) -> Pass {
    let d = p.as_of.0;
    let aging = &p.aging;
    let nb = aging.bucket_count();
    let inv = &snap.invoices;
    let nc = snap.customers.names.len();
    let m0 = p.as_of.month_start().0 - 1;
    let mend = p.as_of.month_end().0;
    let mi = p.as_of.month_index();
    let mut ps = Pass {
        nb,
        open: 0,
        not_due: 0,
        overdue: 0,
        disputed: 0,
        in_legal: 0,
        promised: 0,
        buckets: vec![(0, 0); nb],
        dbt_num: 0,
        provision_bp: vec![0; nb],
        maturity: [(0, 0); 7],
        to_collect: 0,
        collected: 0,
        credited: 0,
        remaining: 0,
        cust_open: vec![0; nc],
        cust_unapplied: vec![0; nc],
        cust_overdue: vec![0; nc],
        top: TopOpen::default(),
        g_amounts: vec![0; ng * nb],
        g_counts: vec![0; ng * nb],
        g_invoices: Vec::new(),
        disputed_by_reason: vec![(0, 0); snap.reasons.len()],
    };
    let all = sel.is_all();
    let rates = &p.provisions;
    let mut dcur = snap.dispute_cursor(invoices.start as u32);
    let mut pcur = snap.promise_cursor(invoices.start as u32);
    for i in invoices {
        let settled = inv.settled[i];
        if settled <= m0 {
            continue;
        }
        let in_sel = all || sel.invoice(snap, i);
        if !in_sel && !sel.doc_level {
            continue;
        }
        let issue = inv.issue[i];
        let amt = inv.amount[i];
        let c = inv.customer[i] as usize;
        let due = inv.due[i];
        // Open at the start of the month (or issued during it): walk its allocations once.
        let mut open_m0 = amt;
        let mut open = amt;
        let (mut col, mut cred) = (0i64, 0i64);
        for a in snap.allocs_of(i) {
            if a.day > d {
                // Cash or credit applied after d was still unapplied at d.
                let src_in = if sel.doc_level {
                    sel.source(snap, a.src as usize)
                } else {
                    in_sel
                };
                if src_in && snap.sources.day[a.src as usize] <= d {
                    ps.cust_unapplied[c] += a.amount;
                }
                continue;
            }
            if a.day <= m0 {
                open_m0 -= a.amount;
            } else if a.kind == SRC_PAYMENT {
                col += a.amount;
            } else {
                cred += a.amount;
            }
            open -= a.amount;
        }
        if !in_sel || issue > d {
            continue;
        }
        if due <= mend {
            ps.to_collect += if issue <= m0 { open_m0 } else { amt };
            ps.collected += col;
            ps.credited += cred;
            ps.remaining += open;
        }
        if open <= 0 {
            continue;
        }
        let over = d - due;
        let age = match aging.basis {
            crate::report::Basis::Due => over,
            crate::report::Basis::Issue => d - issue,
        };
        let b = aging.bucket(age);
        ps.open += open;
        ps.cust_open[c] += open;
        ps.buckets[b].0 += open;
        ps.buckets[b].1 += 1;
        let flags = inv.flags[i];
        let mut rate = rates.buckets[b];
        if over > 0 {
            ps.overdue += open;
            ps.cust_overdue[c] += open;
            ps.dbt_num += open as i128 * over as i128;
            ps.top.push(open, i as u32, p.top);
            ps.maturity[0].0 += open;
            ps.maturity[0].1 += 1;
        } else {
            ps.not_due += open;
            let k = (Day(due).month_index() - mi).clamp(0, 5) as usize + 1;
            ps.maturity[k].0 += open;
            ps.maturity[k].1 += 1;
        }
        if flags & F_DISPUTE != 0 {
            let mut any = false;
            for k in dcur.rows(i as u32) {
                let dp = &snap.disputes[k];
                if dp.open_on(d) {
                    any = true;
                    ps.disputed_by_reason[dp.reason as usize].0 += 1;
                    ps.disputed_by_reason[dp.reason as usize].1 += open;
                }
            }
            if any {
                ps.disputed += open;
                rate = rates.disputed.unwrap_or(rate);
            }
        }
        if flags & F_LEGAL != 0 {
            ps.in_legal += open;
            rate = rates.in_legal.unwrap_or(rate);
        }
        if flags & F_PROMISE != 0 {
            let promised: i64 = pcur
                .rows(i as u32)
                .map(|k| &snap.promises[k])
                .filter(|pr| pr.running_on(d))
                .map(|pr| pr.amount)
                .sum();
            ps.promised += promised.min(open);
        }
        ps.provision_bp[b] += open as i128 * rate as i128;
        let g = match key {
            GroupKey::None => None,
            GroupKey::Customer => Some(c),
            GroupKey::CustomerDim(col) => Some(col.code(c as u32) as usize),
            GroupKey::DocDim(ic, _) => Some(ic.map_or(0, |col| col.code(i as u32) as usize)),
            GroupKey::Invoice => {
                ps.g_invoices.push((i as u32, b, open));
                None
            }
        };
        if let Some(g) = g {
            ps.g_amounts[g * nb + b] += open;
            ps.g_counts[g * nb + b] += 1;
        }
    }
    ps
}

/// The largest open amounts of a pass: the `n` largest, plus every invoice tied with the
/// smallest of them, so that ties can be ordered by document id once the pass is done.
#[derive(Default)]
pub(super) struct TopOpen {
    /// (open, invoice row), smallest amount on top.
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    /// Rows left out of the heap with the same amount as its smallest entry.
    ties: Vec<u32>,
    tie_amount: i64,
}

impl TopOpen {
    fn push(&mut self, open: i64, i: u32, n: usize) {
        if n == 0 {
            return;
        }
        if self.heap.len() < n {
            self.heap.push(Reverse((open, i)));
            return;
        }
        let min = self.heap.peek().map_or(i64::MIN, |Reverse(t)| t.0);
        if open < min {
            return;
        }
        if open == min {
            self.tie(open, i);
            return;
        }
        let Reverse((out, row)) = self.heap.pop().expect("full heap");
        self.heap.push(Reverse((open, i)));
        let new_min = self.heap.peek().map_or(i64::MIN, |Reverse(t)| t.0);
        if out == new_min {
            self.tie(out, row);
        } else {
            self.ties.clear();
        }
    }

    fn tie(&mut self, open: i64, i: u32) {
        if self.tie_amount != open {
            self.ties.clear();
            self.tie_amount = open;
        }
        self.ties.push(i);
    }

    fn merge(&mut self, o: TopOpen, n: usize) {
        for Reverse((open, i)) in o.heap {
            self.push(open, i, n);
        }
        for i in o.ties {
            self.push(o.tie_amount, i, n);
        }
    }

    /// Every (open, row) that may be among the `n` largest.
    pub(super) fn candidates(&self) -> Vec<(i64, u32)> {
        let min = self.heap.peek().map(|Reverse(t)| t.0);
        let mut v: Vec<(i64, u32)> = self.heap.iter().map(|Reverse(t)| *t).collect();
        if min == Some(self.tie_amount) {
            v.extend(self.ties.iter().map(|&i| (self.tie_amount, i)));
        }
        v
    }
}

/// Adds what is still unapplied after every allocation, for sources dated ≤ `d`: with the
/// amounts added back in the pass for allocations after `d`, that is the unapplied at `d`.
fn add_final_unapplied(snap: &Snapshot, sel: &Selection, d: i32, ps: &mut Pass) {
    let src = &snap.sources;
    let all = sel.is_all();
    for (s, rem) in src.remaining.nonzero(&src.amount) {
        if src.day[s] <= d && (all || sel.source(snap, s)) {
            ps.cust_unapplied[src.customer[s] as usize] += rem;
        }
    }
}

/// Unapplied amount of each source at `d` (≤ 0), by walking every allocation.
pub fn source_unapplied(snap: &Snapshot, d: i32) -> Vec<i64> {
    let src = &snap.sources;
    let mut used = vec![0i64; src.customer.len()];
    for i in 0..snap.invoice_count() {
        if snap.invoices.issue[i] > d {
            continue;
        }
        for a in snap.allocs_of(i) {
            if a.day > d {
                break;
            }
            used[a.src as usize] += a.amount;
        }
    }
    (0..src.customer.len())
        .map(|s| {
            if src.day[s] > d {
                0
            } else {
                used[s] - src.amount[s]
            }
        })
        .collect()
}

/// The aged balance alone (buckets as (amount, count), then the unapplied amount): the lean
/// pass behind `aging_ms` in benchmarks and the aging chart.
pub fn aging(
    snap: &Snapshot,
    sel: &Selection,
    d: Day,
    aging: &AgingConfig,
) -> (Vec<(i64, u64)>, i64) {
    let inv = &snap.invoices;
    let mut buckets = vec![(0i64, 0u64); aging.bucket_count()];
    let all = sel.is_all();
    for i in 0..inv.customer.len() {
        if inv.settled[i] <= d.0 || inv.issue[i] > d.0 || !(all || sel.invoice(snap, i)) {
            continue;
        }
        let open = snap.open_at(i, d.0);
        if open > 0 {
            let age = match aging.basis {
                Basis::Due => d.0 - inv.due[i],
                Basis::Issue => d.0 - inv.issue[i],
            };
            let b = &mut buckets[aging.bucket(age)];
            b.0 += open;
            b.1 += 1;
        }
    }
    (buckets, cum_for(snap, sel).unapplied(d.0))
}
