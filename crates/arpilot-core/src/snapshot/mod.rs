//! The columnar snapshot of the ledger and how events enter it.
//!
//! Invoices and "sources" (payments, credit notes, write-offs) are stored as parallel vectors.
//! Effective allocations are grouped by invoice (CSR layout: `alloc_end[i]` closes invoice `i`'s
//! slice), sorted by date, so the open amount of an invoice at any date is a short prefix sum and
//! `settled[i]` (the day it reached zero) lets most kernels skip paid invoices with one compare.
//!
//! Appends are incremental: new rows are pushed, and an allocation dated on or after every
//! allocation already on its invoice and its source is capped against the current remainders and
//! stored in a small per-invoice overflow. Only a back-dated allocation, which may change the caps
//! of later ones, re-runs the allocation pass (never the rest of the snapshot).

use crate::columns::{Dict, Dims, IdIndex};
use crate::date::Day;
use crate::ledger::*;
use crate::money::Currency;
use std::collections::HashMap;

pub(crate) const F_DISPUTE: u8 = 1;
pub(crate) const F_LEGAL: u8 = 2;
pub(crate) const F_PROMISE: u8 = 4;
pub(crate) const F_EXTRA: u8 = 8;

/// Source kinds, in `Sources::kind`.
pub const SRC_PAYMENT: u8 = 0;
pub const SRC_CREDIT: u8 = 1;
pub const SRC_WRITEOFF: u8 = 2;

/// Not settled yet.
pub const OPEN: i32 = i32::MAX;

#[derive(Clone, Debug, Default)]
pub struct Customers {
    pub ids: IdIndex,
    pub names: Vec<String>,
    pub credit_limit: Vec<Option<i64>>,
    pub terms: Vec<Option<i32>>,
    pub dims: Dims,
}

#[derive(Clone, Debug, Default)]
pub struct Invoices {
    pub ids: IdIndex,
    pub customer: Vec<u32>,
    pub issue: Vec<i32>,
    pub due: Vec<i32>,
    pub amount: Vec<i64>,
    /// Day the open amount reached zero, [`OPEN`] while it has not.
    pub settled: Vec<i32>,
    pub flags: Vec<u8>,
    /// End (exclusive) of each invoice's slice of `Allocs`.
    pub alloc_end: Vec<u32>,
    pub dims: Dims,
}

#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub ids: IdIndex,
    pub kind: Vec<u8>,
    pub customer: Vec<u32>,
    pub day: Vec<i32>,
    pub amount: Vec<i64>,
    /// What is left after every allocation (all dates).
    pub remaining: Remaining,
    /// Date of the last allocation from this source as days after the source's own date plus
    /// one (0: none yet); saturates, which only makes a later append take the slow path.
    last_alloc: Vec<u16>,
    pub dims: Dims,
}

impl Sources {
    fn last_alloc(&self, s: usize) -> i32 {
        match self.last_alloc[s] {
            0 => i32::MIN,
            u16::MAX => i32::MAX,
            off => self.day[s] + off as i32 - 1,
        }
    }

    fn set_last_alloc(&mut self, s: usize, day: i32) {
        let off = (day - self.day[s] + 1).clamp(1, u16::MAX as i32);
        self.last_alloc[s] = off as u16;
    }
}

/// What is left on each source. Nearly every source is either untouched or used up, so one
/// bit per source says "used up" and only partly used sources take a map entry.
#[derive(Clone, Debug, Default)]
pub struct Remaining {
    used_up: Vec<u64>,
    len: usize,
    partial: HashMap<u32, i64>,
}

impl Remaining {
    #[inline]
    pub fn get(&self, s: usize, amount: i64) -> i64 {
        if self.used_up[s / 64] >> (s % 64) & 1 == 1 {
            0
        } else {
            self.partial.get(&(s as u32)).copied().unwrap_or(amount)
        }
    }

    fn set(&mut self, s: usize, amount: i64, v: i64) {
        let bit = 1u64 << (s % 64);
        if v == 0 {
            self.used_up[s / 64] |= bit;
        } else {
            self.used_up[s / 64] &= !bit;
        }
        if v == 0 || v == amount {
            self.partial.remove(&(s as u32));
        } else {
            self.partial.insert(s as u32, v);
        }
    }

    fn push(&mut self) {
        if self.len.is_multiple_of(64) {
            self.used_up.push(0);
        }
        self.len += 1;
    }

    fn truncate(&mut self, n: usize) {
        self.len = n;
        self.used_up.truncate(n.div_ceil(64));
        if let Some(last) = self.used_up.last_mut()
            && !n.is_multiple_of(64)
        {
            *last &= (1u64 << (n % 64)) - 1;
        }
        self.partial.retain(|&s, _| (s as usize) < n);
    }

    fn from_values(values: &[i64], amounts: &[i64]) -> Remaining {
        let mut r = Remaining::default();
        for (s, (&v, &a)) in values.iter().zip(amounts).enumerate() {
            r.push();
            r.set(s, a, v);
        }
        r
    }

    fn heap_bytes(&self) -> usize {
        self.used_up.capacity() * 8 + self.partial.capacity() * 16
    }

    /// Sources with something left, and what: a scan of the "used up" bits.
    pub fn nonzero<'a>(&'a self, amounts: &'a [i64]) -> impl Iterator<Item = (usize, i64)> + 'a {
        self.used_up.iter().enumerate().flat_map(move |(w, &bits)| {
            let mut free = !bits;
            if (w + 1) * 64 > self.len {
                free &= (1u64 << (self.len - w * 64)) - 1;
            }
            std::iter::from_fn(move || {
                if free == 0 {
                    return None;
                }
                let b = free.trailing_zeros() as usize;
                free &= free - 1;
                let s = w * 64 + b;
                Some((
                    s,
                    self.partial.get(&(s as u32)).copied().unwrap_or(amounts[s]),
                ))
            })
        })
    }
}

/// One effective allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alloc {
    pub day: i32,
    pub amount: i64,
    pub src: u32,
    /// The source's kind (`SRC_PAYMENT`, …), kept beside the allocation so that kernels
    /// splitting cash from credits never chase the source row.
    pub kind: u8,
    /// Input order, the tie-breaker among allocations of the same date.
    pub seq: u32,
}

/// `Allocs::src` packs the source row (low 30 bits) with its kind (high 2 bits).
const SRC_BITS: u32 = 30;
const SRC_MASK: u32 = (1 << SRC_BITS) - 1;

#[derive(Clone, Debug, Default)]
pub struct Allocs {
    pub day: Vec<i32>,
    pub amount: Vec<i64>,
    pub src: Vec<u32>,
    pub seq: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dispute {
    pub invoice: u32,
    pub opened: i32,
    /// `i32::MAX` while open.
    pub resolved: i32,
    pub reason: u32,
    /// Disputed part of the invoice, 0 when the whole invoice is disputed.
    pub amount: i64,
}

impl Dispute {
    /// Open on day `d`: opened on or before it and not resolved by then.
    #[inline]
    pub fn open_on(&self, d: i32) -> bool {
        self.opened <= d && d < self.resolved
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Promise {
    pub invoice: u32,
    pub promised_on: i32,
    pub due_on: i32,
    pub amount: i64,
}

impl Promise {
    /// Running on day `d`: made on or before it and not yet due.
    #[inline]
    pub fn running_on(&self, d: i32) -> bool {
        self.promised_on <= d && d <= self.due_on
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    pub customer: u32,
    pub day: i32,
    pub kind: u32,
    pub agent: u32,
    /// `NO_INVOICE` when the action concerns the customer as a whole.
    pub invoice: u32,
}

pub const NO_INVOICE: u32 = u32::MAX;

/// An event that was refused, with its position in the batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {index}: {error}")]
pub struct EventError {
    pub index: usize,
    pub error: LedgerError,
}

/// What an append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendStats {
    pub events: usize,
    /// True when a back-dated allocation made the allocation pass run again.
    pub reallocated: bool,
}

#[derive(Clone, Debug)]
pub struct Snapshot {
    pub currency: Currency,
    pub customers: Customers,
    pub invoices: Invoices,
    pub sources: Sources,
    pub allocs: Allocs,
    /// Allocations appended since the last compaction, per invoice (flag `F_EXTRA`).
    pub(crate) extra: HashMap<u32, Vec<Alloc>>,
    extra_len: usize,
    /// Requested amounts of allocations that the caps reduced, by `seq`.
    capped: HashMap<u32, i64>,
    pub disputes: Vec<Dispute>,
    /// Dispute rows ordered by invoice, to find an invoice's disputes by binary search.
    dispute_ix: Vec<(u32, u32)>,
    pub promises: Vec<Promise>,
    promise_ix: Vec<(u32, u32)>,
    /// Promise rows by `due_on`, and the longest promise, to find the promises around a date.
    promise_by_due: Vec<u32>,
    pub(crate) max_promise_span: i32,
    /// Action rows by date.
    action_by_day: Vec<u32>,
    pub actions: Vec<Action>,
    pub reasons: Dict,
    pub action_kinds: Dict,
    pub agents: Dict,
    pub rates: Vec<RateRec>,
    next_seq: u32,
    /// Cached per-day totals of the whole ledger, kept up to date by appends.
    pub(crate) daily: std::sync::OnceLock<crate::daily::Daily>,
}

/// An allocation waiting for the end of the batch, when every id of the batch is known.
struct PendingAlloc {
    event: usize,
    src: u32,
    invoice_id: String,
    day: i32,
    amount: i64,
    seq: u32,
}

struct Undo {
    customers: usize,
    invoices: usize,
    sources: usize,
    amended: Vec<(u32, CustomerState)>,
}

#[derive(Clone)]
struct CustomerState {
    name: String,
    credit_limit: Option<i64>,
    terms: Option<i32>,
    dims: Vec<(String, String)>,
}

impl Snapshot {
    pub fn new(currency: Currency) -> Snapshot {
        Snapshot {
            currency,
            customers: Customers::default(),
            invoices: Invoices::default(),
            sources: Sources::default(),
            allocs: Allocs::default(),
            extra: HashMap::new(),
            extra_len: 0,
            capped: HashMap::new(),
            disputes: Vec::new(),
            dispute_ix: Vec::new(),
            promises: Vec::new(),
            promise_ix: Vec::new(),
            promise_by_due: Vec::new(),
            max_promise_span: 0,
            action_by_day: Vec::new(),
            actions: Vec::new(),
            reasons: Dict::default(),
            action_kinds: Dict::default(),
            agents: Dict::default(),
            rates: Vec::new(),
            next_seq: 0,
            daily: std::sync::OnceLock::new(),
        }
    }

    /// A snapshot of a whole ledger.
    pub fn build(
        currency: Currency,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Snapshot, EventError> {
        let mut s = Snapshot::new(currency);
        s.append(events)?;
        Ok(s)
    }

    pub fn invoice_count(&self) -> usize {
        self.invoices.customer.len()
    }

    pub fn source_count(&self) -> usize {
        self.sources.customer.len()
    }

    pub fn allocation_count(&self) -> usize {
        self.allocs.day.len() + self.extra_len
    }

    /// Effective allocations of invoice `i`, in date order.
    #[inline]
    pub fn allocs_of(&self, i: usize) -> impl Iterator<Item = Alloc> + '_ {
        let start = if i == 0 {
            0
        } else {
            self.invoices.alloc_end[i - 1] as usize
        };
        let end = self.invoices.alloc_end[i] as usize;
        let a = &self.allocs;
        let base = (start..end).map(move |k| Alloc {
            day: a.day[k],
            amount: a.amount[k],
            src: a.src[k] & SRC_MASK,
            kind: (a.src[k] >> SRC_BITS) as u8,
            seq: a.seq[k],
        });
        let extra: &[Alloc] = if self.invoices.flags[i] & F_EXTRA != 0 {
            self.extra.get(&(i as u32)).map_or(&[], |v| v.as_slice())
        } else {
            &[]
        };
        base.chain(extra.iter().copied())
    }

    /// Open amount of invoice `i` at `d` (its amount minus allocations dated ≤ `d`), 0 before issue.
    #[inline]
    pub fn open_at(&self, i: usize, d: i32) -> i64 {
        let inv = &self.invoices;
        if inv.issue[i] > d || inv.settled[i] <= d {
            return 0;
        }
        let start = if i == 0 {
            0
        } else {
            inv.alloc_end[i - 1] as usize
        };
        let end = inv.alloc_end[i] as usize;
        let mut open = inv.amount[i];
        for k in start..end {
            if self.allocs.day[k] > d {
                return open;
            }
            open -= self.allocs.amount[k];
        }
        if inv.flags[i] & F_EXTRA != 0
            && let Some(v) = self.extra.get(&(i as u32))
        {
            for a in v {
                if a.day > d {
                    break;
                }
                open -= a.amount;
            }
        }
        open
    }

    /// A cursor over the disputes of increasing invoices, starting at invoice `from`.
    pub fn dispute_cursor(&self, from: u32) -> IxCursor<'_> {
        IxCursor::new(&self.dispute_ix, from)
    }

    /// Rows of the disputes of invoice `inv`.
    pub fn disputes_of(&self, inv: u32) -> impl Iterator<Item = usize> + '_ {
        let start = self.dispute_ix.partition_point(|&(i, _)| i < inv);
        self.dispute_ix[start..]
            .iter()
            .take_while(move |&&(i, _)| i == inv)
            .map(|&(_, r)| r as usize)
    }

    /// Rows of the promises on invoice `inv`.
    pub fn promises_of(&self, inv: u32) -> impl Iterator<Item = usize> + '_ {
        let start = self.promise_ix.partition_point(|&(i, _)| i < inv);
        self.promise_ix[start..]
            .iter()
            .take_while(move |&&(i, _)| i == inv)
            .map(|&(_, r)| r as usize)
    }

    /// True when invoice `inv` has a dispute open on day `d`.
    pub fn disputed_on(&self, inv: u32, d: i32) -> bool {
        self.disputes_of(inv).any(|r| self.disputes[r].open_on(d))
    }

    /// True when invoice `inv` has a promise running on day `d`.
    pub fn promised_on(&self, inv: u32, d: i32) -> bool {
        self.promises_of(inv)
            .any(|r| self.promises[r].running_on(d))
    }

    /// True when invoice `i` is in legal collection.
    pub fn in_legal(&self, i: usize) -> bool {
        self.invoices.flags[i] & F_LEGAL != 0
    }

    /// A cursor over the promises of increasing invoices, starting at invoice `from`.
    pub fn promise_cursor(&self, from: u32) -> IxCursor<'_> {
        IxCursor::new(&self.promise_ix, from)
    }

    /// Promises due in `[from, to]`.
    pub fn promises_due_between(&self, from: i32, to: i32) -> impl Iterator<Item = &Promise> + '_ {
        let ix = &self.promise_by_due;
        let start = ix.partition_point(|&k| self.promises[k as usize].due_on < from);
        ix[start..]
            .iter()
            .map(|&k| &self.promises[k as usize])
            .take_while(move |p| p.due_on <= to)
    }

    /// Actions dated in `[from, to]`.
    pub fn actions_between(&self, from: i32, to: i32) -> impl Iterator<Item = &Action> + '_ {
        let ix = &self.action_by_day;
        let start = ix.partition_point(|&k| self.actions[k as usize].day < from);
        ix[start..]
            .iter()
            .map(|&k| &self.actions[k as usize])
            .take_while(move |a| a.day <= to)
    }

    /// Bytes held by the snapshot's columns and indexes (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        let c = &self.customers;
        let i = &self.invoices;
        let s = &self.sources;
        let a = &self.allocs;
        c.ids.heap_bytes()
            + c.names.iter().map(|n| n.capacity() + 24).sum::<usize>()
            + c.credit_limit.capacity() * 16
            + c.terms.capacity() * 8
            + c.dims.heap_bytes()
            + i.ids.heap_bytes()
            + (i.customer.capacity()
                + i.issue.capacity()
                + i.due.capacity()
                + i.settled.capacity()
                + i.alloc_end.capacity())
                * 4
            + i.amount.capacity() * 8
            + i.flags.capacity()
            + i.dims.heap_bytes()
            + s.ids.heap_bytes()
            + s.kind.capacity()
            + (s.customer.capacity() + s.day.capacity()) * 4
            + s.last_alloc.capacity() * 2
            + s.amount.capacity() * 8
            + s.remaining.heap_bytes()
            + s.dims.heap_bytes()
            + (a.day.capacity() + a.src.capacity() + a.seq.capacity()) * 4
            + a.amount.capacity() * 8
            + self.extra_len * 24
            + self.extra.capacity() * 40
            + self.capped.capacity() * 16
            + (self.dispute_ix.capacity() + self.promise_ix.capacity()) * 8
            + (self.promise_by_due.capacity() + self.action_by_day.capacity()) * 4
            + self.disputes.capacity() * std::mem::size_of::<Dispute>()
            + self.promises.capacity() * std::mem::size_of::<Promise>()
            + self.actions.capacity() * std::mem::size_of::<Action>()
            + self.daily.get().map_or(0, |d| d.heap_bytes())
    }

    /// Appends a batch of events. Either every event enters the ledger or none does.
    pub fn append(
        &mut self,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<AppendStats, EventError> {
        let mut undo = Undo {
            customers: self.customers.names.len(),
            invoices: self.invoice_count(),
            sources: self.source_count(),
            amended: Vec::new(),
        };
        let mut pending = Vec::new();
        let mut later = Vec::new();
        let mut n = 0;
        let mut result = Ok(());
        for (index, ev) in events.into_iter().enumerate() {
            n = index + 1;
            if let Err(error) = self.ingest(index, ev, &mut pending, &mut later, &mut undo) {
                result = Err(EventError { index, error });
                break;
            }
        }
        let resolved = result.and_then(|()| self.check_pending(&pending, &later));
        match resolved {
            Err(e) => {
                self.rollback(undo);
                Err(e)
            }
            Ok((allocs, others)) => {
                let reallocated = self.apply_allocations(allocs);
                self.apply_others(others);
                self.update_daily(&undo);
                // After a bulk load, give back the slack of the growing vectors.
                if self.invoice_count() > 4 * undo.invoices.max(1024) {
                    self.shrink_to_fit();
                }
                Ok(AppendStats {
                    events: n,
                    reallocated,
                })
            }
        }
    }

    fn shrink_to_fit(&mut self) {
        let i = &mut self.invoices;
        i.ids.shrink_to_fit();
        i.customer.shrink_to_fit();
        i.issue.shrink_to_fit();
        i.due.shrink_to_fit();
        i.amount.shrink_to_fit();
        i.settled.shrink_to_fit();
        i.flags.shrink_to_fit();
        i.alloc_end.shrink_to_fit();
        let s = &mut self.sources;
        s.ids.shrink_to_fit();
        s.kind.shrink_to_fit();
        s.customer.shrink_to_fit();
        s.day.shrink_to_fit();
        s.amount.shrink_to_fit();
        s.last_alloc.shrink_to_fit();
        let a = &mut self.allocs;
        a.day.shrink_to_fit();
        a.amount.shrink_to_fit();
        a.src.shrink_to_fit();
        a.seq.shrink_to_fit();
        self.disputes.shrink_to_fit();
        self.dispute_ix.shrink_to_fit();
        self.promises.shrink_to_fit();
        self.promise_ix.shrink_to_fit();
        self.promise_by_due.shrink_to_fit();
        self.action_by_day.shrink_to_fit();
        self.actions.shrink_to_fit();
        self.capped.shrink_to_fit();
        self.sources.remaining.partial.shrink_to_fit();
    }

    fn seq(&mut self) -> u32 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    fn customer_row(&self, id: &str) -> Result<u32, LedgerError> {
        self.customers
            .ids
            .find(id)
            .ok_or_else(|| LedgerError::UnknownCustomer(id.to_string()))
    }

    fn check_currency(&self, c: Option<Currency>) -> Result<(), LedgerError> {
        match c {
            Some(c) if c != self.currency => Err(LedgerError::Currency {
                found: c.to_string(),
                ledger: self.currency.to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn check_new_id(&self, id: &str, source_side: bool) -> Result<(), LedgerError> {
        if id.is_empty() {
            return Err(LedgerError::Invalid("empty id".into()));
        }
        // Documents share one namespace (invoices, credit notes, write-offs); payments share the
        // sources namespace with credit notes so that an allocation's source_id is unambiguous.
        let taken = self.sources.ids.find(id).is_some()
            || (!source_side && self.invoices.ids.find(id).is_some());
        if taken {
            Err(LedgerError::DuplicateId(id.to_string()))
        } else {
            Ok(())
        }
    }

    fn ingest(
        &mut self,
        index: usize,
        ev: Event,
        pending: &mut Vec<PendingAlloc>,
        later: &mut Vec<(usize, Event)>,
        undo: &mut Undo,
    ) -> Result<(), LedgerError> {
        match ev {
            Event::Customer(c) => self.ingest_customer(c, undo),
            Event::Document(d) => {
                let cust = self.customer_row(&d.customer_id)?;
                self.check_new_id(&d.id, false)?;
                self.check_currency(d.currency)?;
                if d.amount <= 0 {
                    return Err(LedgerError::NonPositive(d.amount.to_string()));
                }
                match d.kind {
                    DocKind::Invoice => {
                        let terms = self.customers.terms[cust as usize].unwrap_or(0);
                        let due = d.due.unwrap_or(d.issue.add_days(terms));
                        let inv = &mut self.invoices;
                        let row = inv.ids.push(&d.id);
                        inv.customer.push(cust);
                        inv.issue.push(d.issue.0);
                        inv.due.push(due.0);
                        inv.amount.push(d.amount);
                        inv.settled.push(OPEN);
                        inv.flags.push(if d.in_legal { F_LEGAL } else { 0 });
                        inv.alloc_end
                            .push(inv.alloc_end.last().copied().unwrap_or(0));
                        for (k, v) in &d.attrs {
                            inv.dims.set(k, row, v);
                        }
                        if let Some(r) = &d.dispute_reason {
                            inv.dims.set("dispute_reason", row, r);
                        }
                        if d.disputed {
                            later.push((
                                index,
                                Event::Dispute(DisputeRec {
                                    invoice_id: d.id.clone(),
                                    opened_on: d.issue,
                                    resolved_on: None,
                                    reason: d.dispute_reason.clone(),
                                    amount: None,
                                }),
                            ));
                        }
                    }
                    DocKind::CreditNote | DocKind::WriteOff => {
                        let kind = if d.kind == DocKind::CreditNote {
                            SRC_CREDIT
                        } else {
                            SRC_WRITEOFF
                        };
                        let row = self.push_source(&d.id, kind, cust, d.issue.0, d.amount);
                        for (k, v) in &d.attrs {
                            self.sources.dims.set(k, row, v);
                        }
                        if let Some(orig) = d.original_invoice_id {
                            let seq = self.seq();
                            pending.push(PendingAlloc {
                                event: index,
                                src: row,
                                invoice_id: orig,
                                day: d.issue.0,
                                amount: d.amount,
                                seq,
                            });
                        }
                    }
                }
                Ok(())
            }
            Event::Payment(p) => {
                let cust = self.customer_row(&p.customer_id)?;
                self.check_new_id(&p.id, true)?;
                self.check_currency(p.currency)?;
                if p.amount <= 0 {
                    return Err(LedgerError::NonPositive(p.amount.to_string()));
                }
                let row = self.push_source(&p.id, SRC_PAYMENT, cust, p.date.0, p.amount);
                if let Some(inv) = p.invoice_id {
                    let seq = self.seq();
                    pending.push(PendingAlloc {
                        event: index,
                        src: row,
                        invoice_id: inv,
                        day: p.date.0,
                        amount: p.amount,
                        seq,
                    });
                }
                Ok(())
            }
            Event::Allocation(a) => {
                let src = self
                    .sources
                    .ids
                    .find(&a.source_id)
                    .ok_or_else(|| LedgerError::UnknownSource(a.source_id.clone()))?;
                if a.amount <= 0 {
                    return Err(LedgerError::NonPositive(a.amount.to_string()));
                }
                let s = src as usize;
                if a.date.0 < self.sources.day[s] {
                    return Err(LedgerError::AllocationTooEarly {
                        date: a.date.to_string(),
                        what: source_kind_name(self.sources.kind[s]),
                        id: a.source_id,
                        earlier: Day(self.sources.day[s]).to_string(),
                    });
                }
                let seq = self.seq();
                pending.push(PendingAlloc {
                    event: index,
                    src,
                    invoice_id: a.invoice_id,
                    day: a.date.0,
                    amount: a.amount,
                    seq,
                });
                Ok(())
            }
            Event::Action(ref a) => {
                self.customer_row(&a.customer_id)?;
                later.push((index, ev));
                Ok(())
            }
            Event::Rate(ref r) => {
                if r.rate_e9 <= 0 {
                    return Err(LedgerError::NonPositive("rate".into()));
                }
                later.push((index, ev));
                Ok(())
            }
            Event::Dispute(_) | Event::Promise(_) => {
                later.push((index, ev));
                Ok(())
            }
            Event::Amend(AmendRec {
                change: Change::Customer(c),
                ..
            }) => {
                self.customer_row(&c.id)?;
                self.ingest_customer(c, undo)
            }
            Event::Amend(_) => {
                later.push((index, ev));
                Ok(())
            }
        }
    }

    fn push_source(&mut self, id: &str, kind: u8, cust: u32, day: i32, amount: i64) -> u32 {
        let s = &mut self.sources;
        assert!(
            s.kind.len() < SRC_MASK as usize,
            "more than 2^30 payments and credits"
        );
        let row = s.ids.push(id);
        s.kind.push(kind);
        s.customer.push(cust);
        s.day.push(day);
        s.amount.push(amount);
        s.remaining.push();
        s.last_alloc.push(0);
        row
    }

    fn ingest_customer(&mut self, c: CustomerRec, undo: &mut Undo) -> Result<(), LedgerError> {
        if c.id.is_empty() {
            return Err(LedgerError::Invalid("empty customer_id".into()));
        }
        let cs = &mut self.customers;
        let row = match cs.ids.find(&c.id) {
            Some(row) => {
                let r = row as usize;
                if (row as usize) < undo.customers && !undo.amended.iter().any(|(x, _)| *x == row) {
                    let dims = cs
                        .dims
                        .cols
                        .iter()
                        .map(|d| (d.name.clone(), d.value(row).to_string()))
                        .collect();
                    undo.amended.push((
                        row,
                        CustomerState {
                            name: cs.names[r].clone(),
                            credit_limit: cs.credit_limit[r],
                            terms: cs.terms[r],
                            dims,
                        },
                    ));
                }
                cs.names[r] = c.name;
                cs.credit_limit[r] = c.credit_limit;
                cs.terms[r] = c.payment_terms_days;
                row
            }
            None => {
                let row = cs.ids.push(&c.id);
                cs.names.push(c.name);
                cs.credit_limit.push(c.credit_limit);
                cs.terms.push(c.payment_terms_days);
                row
            }
        };
        for (k, v) in &c.attrs {
            cs.dims.set(k, row, v);
        }
        Ok(())
    }

    fn invoice_row(&self, id: &str) -> Result<u32, LedgerError> {
        match self.invoices.ids.find(id) {
            Some(r) => Ok(r),
            None => match self.sources.ids.find(id) {
                Some(s) if self.sources.kind[s as usize] != SRC_PAYMENT => {
                    Err(LedgerError::NotAnInvoice(
                        id.to_string(),
                        source_kind_name(self.sources.kind[s as usize]),
                    ))
                }
                _ => Err(LedgerError::UnknownInvoice(id.to_string())),
            },
        }
    }

    /// Checks every reference of the batch; mutates nothing.
    #[allow(clippy::type_complexity)]
    fn check_pending(
        &self,
        pending: &[PendingAlloc],
        later: &[(usize, Event)],
    ) -> Result<(Vec<(u32, u32, i32, i64, u32)>, Vec<Resolved>), EventError> {
        let mut allocs = Vec::with_capacity(pending.len());
        for p in pending {
            let err = |error| EventError {
                index: p.event,
                error,
            };
            let inv = self.invoice_row(&p.invoice_id).map_err(err)?;
            let (i, s) = (inv as usize, p.src as usize);
            let (ic, sc) = (self.invoices.customer[i], self.sources.customer[s]);
            if ic != sc {
                return Err(err(LedgerError::CrossCustomer {
                    source_id: self.sources.ids.get(p.src).to_string(),
                    source_customer: self.customers.ids.get(sc).to_string(),
                    invoice_id: p.invoice_id.clone(),
                    invoice_customer: self.customers.ids.get(ic).to_string(),
                }));
            }
            if p.day < self.invoices.issue[i] {
                return Err(err(LedgerError::AllocationTooEarly {
                    date: Day(p.day).to_string(),
                    what: "invoice",
                    id: p.invoice_id.clone(),
                    earlier: Day(self.invoices.issue[i]).to_string(),
                }));
            }
            allocs.push((inv, p.src, p.day, p.amount, p.seq));
        }
        let mut others = Vec::with_capacity(later.len());
        for (index, ev) in later {
            let err = |error| EventError {
                index: *index,
                error,
            };
            let r = match ev {
                Event::Dispute(d) => {
                    let inv = self.invoice_row(&d.invoice_id).map_err(err)?;
                    if d.resolved_on.is_some_and(|r| r < d.opened_on) {
                        return Err(err(LedgerError::Invalid(format!(
                            "resolved_on {} is before opened_on {} (expected a later date)",
                            d.resolved_on.unwrap(),
                            d.opened_on
                        ))));
                    }
                    if d.amount.is_some_and(|a| a <= 0) {
                        return Err(err(LedgerError::NonPositive(format!("{:?}", d.amount))));
                    }
                    Resolved::Dispute(inv, d.clone())
                }
                Event::Promise(p) => {
                    let inv = self.invoice_row(&p.invoice_id).map_err(err)?;
                    if p.amount <= 0 {
                        return Err(err(LedgerError::NonPositive(p.amount.to_string())));
                    }
                    if p.due_on < p.promised_on {
                        return Err(err(LedgerError::Invalid(format!(
                            "due_on {} is before promised_on {} (expected a later date)",
                            p.due_on, p.promised_on
                        ))));
                    }
                    Resolved::Promise(inv, p.clone())
                }
                Event::Action(a) => {
                    let cust = self.customer_row(&a.customer_id).map_err(err)?;
                    let inv = match &a.invoice_id {
                        Some(id) if !id.is_empty() => Some(self.invoice_row(id).map_err(err)?),
                        _ => None,
                    };
                    Resolved::Action(cust, inv, a.clone())
                }
                Event::Rate(r) => Resolved::Rate(r.clone()),
                Event::Amend(a) => match &a.change {
                    Change::DueDate { document_id, due } => {
                        Resolved::Due(self.invoice_row(document_id).map_err(err)?, due.0)
                    }
                    Change::InLegal {
                        document_id,
                        in_legal,
                    } => Resolved::Legal(self.invoice_row(document_id).map_err(err)?, *in_legal),
                    Change::DisputeResolved {
                        invoice_id,
                        resolved_on,
                    } => {
                        let inv = self.invoice_row(invoice_id).map_err(err)?;
                        // Open before this batch, or opened earlier in it.
                        let open = self.disputes_of(inv).any(|r| {
                            let d = &self.disputes[r];
                            d.resolved == i32::MAX && d.opened <= resolved_on.0
                        }) || others.iter().any(|o| {
                            matches!(o, Resolved::Dispute(i, d)
                                if *i == inv && d.resolved_on.is_none() && d.opened_on <= *resolved_on)
                        });
                        if !open {
                            return Err(err(LedgerError::Invalid(format!(
                                "invoice {invoice_id:?} has no dispute open on {resolved_on} (expected an open dispute to resolve)"
                            ))));
                        }
                        Resolved::Resolve(inv, resolved_on.0)
                    }
                    Change::Customer(_) => unreachable!("applied when ingested"),
                },
                _ => unreachable!("only deferred kinds are queued"),
            };
            others.push(r);
        }
        Ok((allocs, others))
    }

    fn rollback(&mut self, undo: Undo) {
        let c = &mut self.customers;
        for (row, st) in undo.amended {
            let r = row as usize;
            c.names[r] = st.name;
            c.credit_limit[r] = st.credit_limit;
            c.terms[r] = st.terms;
            // Columns created by the failed batch did not exist before: back to empty.
            for col in &mut c.dims.cols {
                let v = st
                    .dims
                    .iter()
                    .find(|(k, _)| *k == col.name)
                    .map_or("", |x| &x.1);
                col.set(row, v);
            }
        }
        c.ids.truncate(undo.customers);
        c.names.truncate(undo.customers);
        c.credit_limit.truncate(undo.customers);
        c.terms.truncate(undo.customers);
        c.dims.truncate(undo.customers);
        let i = &mut self.invoices;
        let n = undo.invoices;
        i.ids.truncate(n);
        i.customer.truncate(n);
        i.issue.truncate(n);
        i.due.truncate(n);
        i.amount.truncate(n);
        i.settled.truncate(n);
        i.flags.truncate(n);
        i.alloc_end.truncate(n);
        i.dims.truncate(n);
        let s = &mut self.sources;
        let n = undo.sources;
        s.ids.truncate(n);
        s.kind.truncate(n);
        s.customer.truncate(n);
        s.day.truncate(n);
        s.amount.truncate(n);
        s.remaining.truncate(n);
        s.last_alloc.truncate(n);
        s.dims.truncate(n);
    }

    /// Applies checked allocations `(invoice, source, day, amount, seq)`; returns true when the
    /// allocation pass had to run again because one of them was back-dated.
    fn apply_allocations(&mut self, new: Vec<(u32, u32, i32, i64, u32)>) -> bool {
        if new.is_empty() {
            return false;
        }
        // A bulk load goes straight to the allocation pass.
        if new.len() > 4096 && new.len() > self.allocs.day.len() / 8 {
            self.reallocate(new);
            return true;
        }
        // Fast path while every allocation comes after all others on its invoice and source.
        let mut k = 0;
        while k < new.len() {
            let (inv, src, day, amount, seq) = new[k];
            if day < self.last_alloc_day(inv as usize)
                || day < self.sources.last_alloc(src as usize)
            {
                break;
            }
            self.push_tail_alloc(inv, src, day, amount, seq);
            k += 1;
        }
        if k == new.len() {
            if self.extra_len > 4096 && self.extra_len > self.allocs.day.len() / 8 {
                self.reallocate(Vec::new());
            }
            return false;
        }
        self.reallocate(new[k..].to_vec());
        true
    }

    fn last_alloc_day(&self, i: usize) -> i32 {
        if self.invoices.flags[i] & F_EXTRA != 0
            && let Some(a) = self.extra.get(&(i as u32)).and_then(|v| v.last())
        {
            return a.day;
        }
        let end = self.invoices.alloc_end[i] as usize;
        let start = if i == 0 {
            0
        } else {
            self.invoices.alloc_end[i - 1] as usize
        };
        if end > start {
            self.allocs.day[end - 1]
        } else {
            i32::MIN
        }
    }

    fn invoice_remaining(&self, i: usize) -> i64 {
        if self.invoices.settled[i] != OPEN {
            return 0;
        }
        self.invoices.amount[i] - self.allocs_of(i).map(|a| a.amount).sum::<i64>()
    }

    fn push_tail_alloc(&mut self, inv: u32, src: u32, day: i32, req: i64, seq: u32) {
        let (i, s) = (inv as usize, src as usize);
        let rem = self.invoice_remaining(i);
        let src_rem = self.sources.remaining.get(s, self.sources.amount[s]);
        let eff = req.min(rem).min(src_rem).max(0);
        if eff < req {
            self.capped.insert(seq, req);
        }
        let amount = self.sources.amount[s];
        self.sources.remaining.set(s, amount, src_rem - eff);
        self.sources.set_last_alloc(s, day);
        if rem - eff == 0 && self.invoices.settled[i] == OPEN {
            self.invoices.settled[i] = day;
        }
        self.invoices.flags[i] |= F_EXTRA;
        self.extra.entry(inv).or_default().push(Alloc {
            day,
            amount: eff,
            src,
            kind: self.sources.kind[s],
            seq,
        });
        self.extra_len += 1;
        if let Some(d) = self.daily.get_mut() {
            d.add_alloc(day, eff);
        }
    }

    /// Runs the allocation pass over every allocation (date order, then input order) with the
    /// originally requested amounts, then lays the result out again by invoice.
    fn reallocate(&mut self, new: Vec<(u32, u32, i32, i64, u32)>) {
        let n_inv = self.invoice_count();
        let total = self.allocs.day.len() + self.extra_len + new.len();
        // (day, seq, invoice, source, requested)
        let mut all: Vec<(i32, u32, u32, u32, i64)> = Vec::with_capacity(total);
        for i in 0..n_inv {
            for a in self.allocs_of(i) {
                let req = self.capped.get(&a.seq).copied().unwrap_or(a.amount);
                all.push((a.day, a.seq, i as u32, a.src, req));
            }
        }
        for (inv, src, day, amount, seq) in new {
            all.push((day, seq, inv, src, amount));
        }
        all.sort_unstable_by_key(|t| (t.0, t.1));

        let mut inv_rem = self.invoices.amount.clone();
        let s = &mut self.sources;
        let mut src_rem = s.amount.clone();
        s.last_alloc.iter_mut().for_each(|d| *d = 0);
        self.capped.clear();
        let inv = &mut self.invoices;
        inv.settled.iter_mut().for_each(|d| *d = OPEN);
        let mut counts = vec![0u32; n_inv];
        let mut eff_amounts = Vec::with_capacity(all.len());
        for &(day, seq, i, src, req) in &all {
            let eff = req
                .min(inv_rem[i as usize])
                .min(src_rem[src as usize])
                .max(0);
            if eff < req {
                self.capped.insert(seq, req);
            }
            inv_rem[i as usize] -= eff;
            src_rem[src as usize] -= eff;
            s.set_last_alloc(src as usize, day);
            if inv_rem[i as usize] == 0 && inv.settled[i as usize] == OPEN {
                inv.settled[i as usize] = day;
            }
            counts[i as usize] += 1;
            eff_amounts.push(eff);
        }
        s.remaining = Remaining::from_values(&src_rem, &s.amount);
        // Counting sort by invoice; stable, so each slice stays in (date, seq) order.
        let mut end = 0u32;
        for (i, c) in counts.iter().enumerate() {
            end += c;
            inv.alloc_end[i] = end;
        }
        let mut cursor: Vec<u32> = (0..n_inv)
            .map(|i| if i == 0 { 0 } else { inv.alloc_end[i - 1] })
            .collect();
        let a = &mut self.allocs;
        a.day.resize(all.len(), 0);
        a.amount.resize(all.len(), 0);
        a.src.resize(all.len(), 0);
        a.seq.resize(all.len(), 0);
        for (&(day, seq, i, src, _), &eff) in all.iter().zip(&eff_amounts) {
            let k = cursor[i as usize] as usize;
            cursor[i as usize] += 1;
            a.day[k] = day;
            a.amount[k] = eff;
            a.src[k] = src | (self.sources.kind[src as usize] as u32) << SRC_BITS;
            a.seq[k] = seq;
        }
        for f in inv.flags.iter_mut() {
            *f &= !F_EXTRA;
        }
        self.extra = HashMap::new();
        self.extra_len = 0;
        // Per-day allocation totals changed wholesale: drop the cache, it rebuilds on demand.
        self.daily = std::sync::OnceLock::new();
    }

    fn apply_others(&mut self, others: Vec<Resolved>) {
        let (nd, np, na) = (self.disputes.len(), self.promises.len(), self.actions.len());
        let mut resolves = Vec::new();
        for r in others {
            match r {
                Resolved::Dispute(inv, d) => {
                    let reason = self.reasons.code(d.reason.as_deref().unwrap_or(""));
                    self.disputes.push(Dispute {
                        invoice: inv,
                        opened: d.opened_on.0,
                        resolved: d.resolved_on.map_or(i32::MAX, |r| r.0),
                        reason,
                        amount: d.amount.unwrap_or(0),
                    });
                    self.invoices.flags[inv as usize] |= F_DISPUTE;
                }
                Resolved::Promise(inv, p) => {
                    self.promises.push(Promise {
                        invoice: inv,
                        promised_on: p.promised_on.0,
                        due_on: p.due_on.0,
                        amount: p.amount,
                    });
                    self.invoices.flags[inv as usize] |= F_PROMISE;
                }
                Resolved::Action(cust, inv, a) => {
                    let kind = self.action_kinds.code(&a.kind);
                    let agent = self.agents.code(a.agent.as_deref().unwrap_or(""));
                    self.actions.push(Action {
                        customer: cust,
                        day: a.date.0,
                        kind,
                        agent,
                        invoice: inv.unwrap_or(NO_INVOICE),
                    });
                }
                Resolved::Rate(r) => self.rates.push(r),
                Resolved::Due(inv, due) => {
                    self.invoices.due[inv as usize] = due;
                    // Per-day due totals moved: rebuilt on demand.
                    self.daily = std::sync::OnceLock::new();
                }
                Resolved::Legal(inv, on) => {
                    let f = &mut self.invoices.flags[inv as usize];
                    *f = if on { *f | F_LEGAL } else { *f & !F_LEGAL };
                }
                // After the batch's new disputes are indexed.
                Resolved::Resolve(inv, day) => resolves.push((inv, day)),
            }
        }
        if self.disputes.len() != nd {
            self.dispute_ix = order_by_invoice(self.disputes.iter().map(|d| d.invoice));
        }
        for (inv, day) in resolves {
            let rows: Vec<usize> = self.disputes_of(inv).collect();
            for r in rows {
                let d = &mut self.disputes[r];
                if d.resolved == i32::MAX && d.opened <= day {
                    d.resolved = day;
                }
            }
        }
        if self.promises.len() != np {
            self.promise_ix = order_by_invoice(self.promises.iter().map(|p| p.invoice));
            self.promise_by_due = order_by_day(self.promises.iter().map(|p| p.due_on));
            self.max_promise_span = self
                .promises
                .iter()
                .map(|p| p.due_on - p.promised_on)
                .max()
                .unwrap_or(0);
        }
        if self.actions.len() != na {
            self.action_by_day = order_by_day(self.actions.iter().map(|a| a.day));
        }
    }

    fn update_daily(&mut self, undo: &Undo) {
        let (i0, s0) = (undo.invoices, undo.sources);
        let (inv, src) = (&self.invoices, &self.sources);
        if let Some(d) = self.daily.get_mut() {
            for i in i0..inv.customer.len() {
                d.add_invoice(inv.issue[i], inv.due[i], inv.amount[i]);
            }
            for s in s0..src.customer.len() {
                d.add_source(src.kind[s], src.day[s], src.amount[s]);
            }
        }
    }

    /// Per-day totals of the whole ledger (cached).
    pub fn daily_all(&self) -> &crate::daily::Daily {
        self.daily
            .get_or_init(|| crate::daily::Daily::of(self, &crate::select::Selection::all()))
    }
}

enum Resolved {
    Due(u32, i32),
    Legal(u32, bool),
    Resolve(u32, i32),
    Dispute(u32, DisputeRec),
    Promise(u32, PromiseRec),
    Action(u32, Option<u32>, ActionRec),
    Rate(RateRec),
}

/// Walks a `(invoice, row)` index alongside a pass over increasing invoices: each lookup
/// moves forward, so a whole pass costs one sweep of the index instead of a search per invoice.
pub struct IxCursor<'a> {
    ix: &'a [(u32, u32)],
    pos: usize,
}

impl<'a> IxCursor<'a> {
    fn new(ix: &'a [(u32, u32)], from: u32) -> Self {
        IxCursor {
            ix,
            pos: ix.partition_point(|&(i, _)| i < from),
        }
    }

    /// Rows for invoice `i`; `i` must not decrease between calls.
    pub fn rows(&mut self, i: u32) -> impl Iterator<Item = usize> + 'a {
        while self.pos < self.ix.len() && self.ix[self.pos].0 < i {
            self.pos += 1;
        }
        let ix = self.ix;
        ix[self.pos..]
            .iter()
            .take_while(move |&&(inv, _)| inv == i)
            .map(|&(_, k)| k as usize)
    }
}

/// `(key, row)` pairs sorted by key, for binary searches without indirection.
fn order_by_invoice(invoices: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = invoices.zip(0..).collect();
    v.sort_unstable();
    v
}

/// Row numbers sorted by a day.
fn order_by_day(days: impl Iterator<Item = i32>) -> Vec<u32> {
    let mut v: Vec<(i32, u32)> = days.zip(0..).collect();
    v.sort_unstable();
    v.into_iter().map(|(_, k)| k).collect()
}

pub fn source_kind_name(kind: u8) -> &'static str {
    match kind {
        SRC_PAYMENT => "payment",
        SRC_CREDIT => "credit note",
        _ => "write-off",
    }
}
