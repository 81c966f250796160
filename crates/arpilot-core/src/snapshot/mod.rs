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
//!
//! The module is split by job: this file holds the columns and the read accessors,
//! [`append`](Snapshot::append) and its validation live in `append.rs`, and the allocation pass
//! (caps, back-dated allocations, what is left on each source) in `alloc.rs`.

mod alloc;
mod append;
mod dated;
mod image;

pub use append::{AppendStats, EventError};
pub use dated::Dated;

pub use crate::col::Col;
use crate::columns::{Dict, Dims, IdIndex};
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

/// The snapshot's maps: row numbers are not chosen by users, and a start reading an image fills
/// millions of entries, so a fast hasher rather than SipHash.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

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
    pub customer: Col<u32>,
    pub issue: Col<i32>,
    pub due: Col<i32>,
    pub amount: Col<i64>,
    /// Day the open amount reached zero, [`OPEN`] while it has not.
    pub settled: Col<i32>,
    pub flags: Col<u8>,
    /// End (exclusive) of each invoice's slice of `Allocs`.
    pub alloc_end: Col<u32>,
    pub dims: Dims,
}

#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub ids: IdIndex,
    pub kind: Col<u8>,
    pub customer: Col<u32>,
    pub day: Col<i32>,
    pub amount: Col<i64>,
    /// What is left after every allocation (all dates).
    pub remaining: Remaining,
    /// Date of the last allocation from this source as days after the source's own date plus
    /// one (0: none yet); saturates, which only makes a later append take the slow path.
    last_alloc: Col<u16>,
    pub dims: Dims,
}

/// What is left on each source. Nearly every source is either untouched or used up, so one
/// bit per source says "used up" and only partly used sources take a map entry.
#[derive(Clone, Debug, Default)]
pub struct Remaining {
    used_up: Col<u64>,
    len: usize,
    partial: Map<u32, i64>,
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
    pub day: Col<i32>,
    pub amount: Col<i64>,
    pub src: Col<u32>,
    pub seq: Col<u32>,
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
    /// Who handles it (code in `agents`, 0 for nobody named).
    pub owner: u32,
    /// How it ended: 0 while open or unsaid, else 1 + its index in [`crate::ledger::RESOLUTIONS`].
    pub outcome: u8,
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
    /// 0 when unsaid, else 1 + its index in [`crate::ledger::OUTCOMES`].
    pub outcome: u8,
}

pub const NO_INVOICE: u32 = u32::MAX;

/// States of a bank receipt, in `Receipts::state`.
pub const RECEIPT_OPEN: u8 = 0;
pub const RECEIPT_APPLIED: u8 = 1;
pub const RECEIPT_NOT_CUSTOMER: u8 = 2;
pub const RECEIPT_RETURNED: u8 = 3;

/// Bank receipts (statement credits) and where each stands.
#[derive(Clone, Debug, Default)]
pub struct Receipts {
    pub ids: IdIndex,
    pub day: Vec<i32>,
    pub amount: Vec<i64>,
    /// What the bank said of each (payer, remittance, references).
    pub info: Vec<ReceiptRec>,
    /// `RECEIPT_OPEN`, `RECEIPT_APPLIED`, …
    pub state: Vec<u8>,
    /// Day of the decision that gave the current state (`OPEN` while open).
    pub decided: Vec<i32>,
}

/// Folds follow-up `f` into `m`: each value given replaces the earlier one.
fn merge_followup(m: &mut crate::ledger::FollowupRec, f: &crate::ledger::FollowupRec) {
    if m.customer_id.is_empty() {
        m.customer_id.clone_from(&f.customer_id);
    }
    m.date = f.date;
    let keep = |slot: &mut Option<String>, v: &Option<String>| {
        if v.is_some() {
            slot.clone_from(v);
        }
    };
    if f.next_action.is_some() {
        m.next_action = f.next_action;
    }
    if f.hold_until.is_some() {
        m.hold_until = f.hold_until;
        m.hold_reason.clone_from(&f.hold_reason);
    }
    keep(&mut m.contact_name, &f.contact_name);
    keep(&mut m.contact_role, &f.contact_role);
    keep(&mut m.contact_email, &f.contact_email);
    keep(&mut m.contact_phone, &f.contact_phone);
}

/// Where a reminder stands, in `Reminder::status`.
pub const REMINDER_QUEUED: u8 = 0;
pub const REMINDER_SENT: u8 = 1;
pub const REMINDER_FAILED: u8 = 2;
pub const REMINDER_SKIPPED: u8 = 3;

/// One reminder (relance): what it says and where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Reminder {
    pub id: String,
    pub customer: u32,
    /// The run's date.
    pub day: i32,
    pub scenario: String,
    pub step: u16,
    /// Index in [`crate::ledger::CHANNELS`].
    pub channel: u8,
    /// Invoice row, open amount then, and the step the invoice reached.
    pub lines: Vec<(u32, i64, u16)>,
    pub amount: i64,
    /// Code in `agents`; 0 for the scheduled run.
    pub author: u32,
    pub recipient: Option<String>,
    /// `REMINDER_QUEUED`, `REMINDER_SENT`, …
    pub status: u8,
    /// Day of the latest status.
    pub status_day: i32,
    pub message_id: Option<String>,
    pub attempts: u16,
    pub error: Option<String>,
    pub skip_reason: Option<String>,
}

/// Reminders in the order written, and their ids.
#[derive(Clone, Debug, Default)]
pub struct Reminders {
    pub rows: Vec<Reminder>,
    pub ids: HashMap<String, u32>,
}

impl Reminders {
    pub fn find(&self, id: &str) -> Option<&Reminder> {
        self.ids.get(id).map(|&r| &self.rows[r as usize])
    }
}

/// Kinds of cash decisions, in `CashRow::kind`.
pub const CASH_APPLY: u8 = 0;
pub const CASH_NOT_CUSTOMER: u8 = 1;
pub const CASH_UNDO: u8 = 2;
pub const CASH_RETURNED: u8 = 3;

/// One cash-application decision still in effect (an undone application is not kept; its undo
/// is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CashRow {
    /// Receipt row, or `u32::MAX` for a decision on a payment already in the ledger.
    pub receipt: u32,
    /// Payment (source) row the decision allocated, `u32::MAX` for none.
    pub source: u32,
    pub day: i32,
    pub kind: u8,
    /// Index in [`crate::ledger::CASH_RULES`].
    pub rule: u8,
    pub confidence: u8,
    /// Code in `agents`; 0 for the matching engine.
    pub author: u32,
    /// Amount allocated to invoices (write-off excluded).
    pub applied: i64,
    pub write_off: i64,
}

#[derive(Clone, Debug)]
pub struct Snapshot {
    pub currency: Currency,
    pub customers: Customers,
    pub invoices: Invoices,
    pub sources: Sources,
    pub allocs: Allocs,
    /// Allocations appended since the last compaction, per invoice (flag `F_EXTRA`).
    pub(crate) extra: Map<u32, Vec<Alloc>>,
    extra_len: usize,
    /// Requested amounts of allocations that the caps reduced, by `seq`.
    capped: Map<u32, i64>,
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
    /// Notes of actions, by action row (most have none).
    pub action_notes: Map<u32, String>,
    /// Comments of dispute resolutions, by dispute row.
    pub dispute_comments: Map<u32, String>,
    /// Follow-ups (next action, do not contact until, contact person) by customer row, in the
    /// order recorded.
    pub followups: Vec<(u32, crate::ledger::FollowupRec)>,
    pub reasons: Dict,
    pub action_kinds: Dict,
    pub agents: Dict,
    pub rates: Vec<RateRec>,
    pub receipts: Receipts,
    pub cash: Vec<CashRow>,
    pub reminders: Reminders,
    /// While [`Snapshot::build`] reads a whole ledger whose undone applications were dropped:
    /// an undo then only records itself.
    replaying: bool,
    next_seq: u32,
    /// Sum of the absolute amounts of every event, bounded by [`crate::bounds::GROSS_LIMIT`].
    pub(crate) gross: i128,
    /// Cached per-day totals of the whole ledger, kept up to date by appends.
    pub(crate) daily: std::sync::OnceLock<crate::daily::Daily>,
    /// Which state of the ledger this is: unique in the process, renewed by every append that
    /// changes something, kept by a clone (see [`Snapshot::generation`]).
    generation: u64,
}

/// A number no snapshot state of this process had before.
fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Snapshot {
    pub fn new(currency: Currency) -> Snapshot {
        Snapshot {
            currency,
            customers: Customers::default(),
            invoices: Invoices::default(),
            sources: Sources::default(),
            allocs: Allocs::default(),
            extra: Map::default(),
            extra_len: 0,
            capped: Map::default(),
            disputes: Vec::new(),
            dispute_ix: Vec::new(),
            promises: Vec::new(),
            promise_ix: Vec::new(),
            promise_by_due: Vec::new(),
            max_promise_span: 0,
            action_by_day: Vec::new(),
            actions: Vec::new(),
            action_notes: Map::default(),
            dispute_comments: Map::default(),
            followups: Vec::new(),
            reasons: Dict::default(),
            action_kinds: Dict::default(),
            agents: Dict::default(),
            rates: Vec::new(),
            receipts: Receipts::default(),
            cash: Vec::new(),
            reminders: Reminders::default(),
            replaying: false,
            next_seq: 0,
            gross: 0,
            daily: std::sync::OnceLock::new(),
            generation: next_generation(),
        }
    }

    /// Identifies this state of the ledger: two snapshots with the same generation hold the
    /// same events (one is a clone of the other), and an append gives a new one. Caches of
    /// figures derived from a snapshot (the worklist's rows) use it to know what they reflect.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A snapshot of a whole ledger.
    pub fn build(
        currency: Currency,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Snapshot, EventError> {
        Snapshot::new(currency).extended(events)
    }

    /// This snapshot with a further part of a whole ledger read as [`Snapshot::build`] reads
    /// one (the dated part of a [`crate::view::Split`] onto its base); `EventError::index`
    /// counts in `events`.
    pub fn extended(
        mut self,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Snapshot, EventError> {
        // An application undone later never entered the ledger's figures: drop it first, so
        // that undo gives back exactly the reports of before.
        let mut events: Vec<Event> = events.into_iter().collect();
        crate::cash::drop_undone(&mut events);
        self.replaying = true;
        self.append(events)?;
        self.replaying = false;
        Ok(self)
    }

    /// Room in the id tables for the documents and payments of `events`, appended later: a
    /// snapshot that copies of it receive events (a dated ledger's base) then never rehashes
    /// a table of millions of ids for them.
    pub fn reserve_ids(&mut self, events: &[Event]) {
        let (mut invoices, mut sources) = (0, 0);
        for ev in events {
            match ev {
                Event::Document(d) if d.kind == DocKind::Invoice => invoices += 1,
                Event::Document(_) | Event::Payment(_) => sources += 1,
                _ => {}
            }
        }
        self.invoices.ids.reserve(invoices);
        self.sources.ids.reserve(sources);
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
        let start = if self.invoices.flags[inv as usize] & F_DISPUTE == 0 {
            self.dispute_ix.len()
        } else {
            self.dispute_ix.partition_point(|&(i, _)| i < inv)
        };
        self.dispute_ix[start..]
            .iter()
            .take_while(move |&&(i, _)| i == inv)
            .map(|&(_, r)| r as usize)
    }

    /// Rows of the promises on invoice `inv`.
    pub fn promises_of(&self, inv: u32) -> impl Iterator<Item = usize> + '_ {
        let start = if self.invoices.flags[inv as usize] & F_PROMISE == 0 {
            self.promise_ix.len()
        } else {
            self.promise_ix.partition_point(|&(i, _)| i < inv)
        };
        self.promise_ix[start..]
            .iter()
            .take_while(move |&&(i, _)| i == inv)
            .map(|&(_, r)| r as usize)
    }

    /// True when invoice `inv` has a dispute open on day `d`.
    pub fn disputed_on(&self, inv: u32, d: i32) -> bool {
        // Most invoices never had a dispute: their flag spares the search.
        self.invoices.flags[inv as usize] & F_DISPUTE != 0
            && self.disputes_of(inv).any(|r| self.disputes[r].open_on(d))
    }

    /// True when invoice `inv` has a promise running on day `d`.
    pub fn promised_on(&self, inv: u32, d: i32) -> bool {
        self.invoices.flags[inv as usize] & F_PROMISE != 0
            && self
                .promises_of(inv)
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

    /// Rows of the promises due in `[from, to]`, by due date then row.
    pub fn promise_rows_due_between(&self, from: i32, to: i32) -> impl Iterator<Item = usize> + '_ {
        let ix = &self.promise_by_due;
        let start = ix.partition_point(|&k| self.promises[k as usize].due_on < from);
        ix[start..]
            .iter()
            .map(|&k| k as usize)
            .take_while(move |&k| self.promises[k].due_on <= to)
    }

    /// Promises due in `[from, to]`.
    pub fn promises_due_between(&self, from: i32, to: i32) -> impl Iterator<Item = &Promise> + '_ {
        self.promise_rows_due_between(from, to)
            .map(|k| &self.promises[k])
    }

    /// Each customer's follow-up on day `d`: for every field, the latest value given by then
    /// (by date, then as recorded).
    pub fn followups_on(&self, d: i32) -> HashMap<u32, crate::ledger::FollowupRec> {
        let mut out: HashMap<u32, crate::ledger::FollowupRec> = HashMap::new();
        for (c, f) in self.followups_sorted(d, None) {
            merge_followup(out.entry(c).or_default(), f);
        }
        out
    }

    /// Customer row `c`'s follow-up on day `d` (see [`Snapshot::followups_on`]).
    pub fn followup_of(&self, c: u32, d: i32) -> Option<crate::ledger::FollowupRec> {
        let mut out = None;
        for (_, f) in self.followups_sorted(d, Some(c)) {
            merge_followup(out.get_or_insert_with(Default::default), f);
        }
        out
    }

    fn followups_sorted(
        &self,
        d: i32,
        only: Option<u32>,
    ) -> Vec<(u32, &crate::ledger::FollowupRec)> {
        let mut rows: Vec<(u32, &crate::ledger::FollowupRec)> = self
            .followups
            .iter()
            .filter(|(c, f)| f.date.0 <= d && only.is_none_or(|o| o == *c))
            .map(|(c, f)| (*c, f))
            .collect();
        // Stable: the same date keeps the order recorded.
        rows.sort_by_key(|(_, f)| f.date);
        rows
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

    /// Per-day totals of the whole ledger (cached).
    pub fn daily_all(&self) -> &crate::daily::Daily {
        self.daily
            .get_or_init(|| crate::daily::Daily::of(self, &crate::select::Selection::all()))
    }
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
