//! Which rows a per-customer kernel visits: every row in storage order (one sequential pass,
//! what a whole-portfolio figure needs), or the rows of a few customers found through an index
//! (what a cache needs to bring a few customers up to date after an append).
//!
//! Both run the same accumulation code, so a customer's figures are the same whichever way they
//! were reached.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::snapshot::Snapshot;

/// Rows between two looks at a [`Stop`]: a millisecond or less of any pass.
const STOP_EVERY: usize = 1 << 16;

/// A request to give up a long pass over the whole ledger (a writer waits for the snapshot the
/// pass reads). Asked every [`STOP_EVERY`] rows and remembered once seen, so that whatever was
/// computed after it fired is known to be partial.
pub struct Stop<'a> {
    asked: &'a (dyn Fn() -> bool + Sync),
    fired: AtomicBool,
}

impl std::fmt::Debug for Stop<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("fired", &self.fired())
            .finish()
    }
}

impl<'a> Stop<'a> {
    pub fn new(asked: &'a (dyn Fn() -> bool + Sync)) -> Stop<'a> {
        Stop {
            asked,
            fired: AtomicBool::new(false),
        }
    }

    /// A stop never asked for: the pass runs to the end.
    pub fn never() -> Stop<'static> {
        Stop::new(&|| false)
    }

    /// Asks again; true from the first time it was asked to stop.
    pub fn now(&self) -> bool {
        if !self.fired() && (self.asked)() {
            self.fired.store(true, Ordering::Relaxed);
        }
        self.fired()
    }

    /// True when a pass stopped early: its results are partial.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::Relaxed)
    }
}

/// The invoice, source (payment, credit note, write-off) and action rows of each customer, in
/// storage order. Rows only ever get appended to a snapshot, so [`ByCustomer::catch_up`] indexes
/// the new ones without touching the others.
#[derive(Clone, Debug, Default)]
pub struct ByCustomer {
    invoices: Vec<Vec<u32>>,
    sources: Vec<Vec<u32>>,
    actions: Vec<Vec<u32>>,
    /// Rows already indexed: invoices, sources, actions.
    seen: (usize, usize, usize),
}

impl ByCustomer {
    /// Indexes the customers and rows appended since the last call (on the same snapshot or a
    /// later state of it).
    pub fn catch_up(&mut self, snap: &Snapshot) {
        self.catch_up_unless(snap, &Stop::never());
    }

    /// [`ByCustomer::catch_up`], given up when `stop` fires (false then): the rows indexed so
    /// far stay indexed, the next call goes on from there.
    pub fn catch_up_unless(&mut self, snap: &Snapshot, stop: &Stop) -> bool {
        let nc = snap.customers.names.len();
        // Of a later state than `snap` (rows it does not have): start again.
        if self.seen.0 > snap.invoice_count()
            || self.seen.1 > snap.source_count()
            || self.seen.2 > snap.actions.len()
            || self.invoices.len() > nc
        {
            *self = ByCustomer::default();
        }
        for v in [&mut self.invoices, &mut self.sources, &mut self.actions] {
            if v.len() < nc {
                v.resize_with(nc, Vec::new);
            }
        }
        let (ni, ns, na) = (
            snap.invoice_count(),
            snap.source_count(),
            snap.actions.len(),
        );
        let inv = &snap.invoices.customer;
        let src = &snap.sources.customer;
        if !index_rows(&mut self.invoices, &mut self.seen.0, ni, |i| inv[i], stop)
            || !index_rows(&mut self.sources, &mut self.seen.1, ns, |s| src[s], stop)
        {
            return false;
        }
        for a in self.seen.2..na {
            self.actions[snap.actions[a].customer as usize].push(a as u32);
        }
        self.seen.2 = na;
        true
    }

    pub fn invoices(&self, c: u32) -> &[u32] {
        self.invoices.get(c as usize).map_or(&[], |v| v.as_slice())
    }

    pub fn sources(&self, c: u32) -> &[u32] {
        self.sources.get(c as usize).map_or(&[], |v| v.as_slice())
    }

    pub fn actions(&self, c: u32) -> &[u32] {
        self.actions.get(c as usize).map_or(&[], |v| v.as_slice())
    }
}

/// Adds rows `*seen..n` to their customers' lists (`customer` of a row); false when `stop`
/// fired first (`seen` then says how far it got).
fn index_rows(
    lists: &mut [Vec<u32>],
    seen: &mut usize,
    n: usize,
    customer: impl Fn(usize) -> u32,
    stop: &Stop,
) -> bool {
    *seen = rows_until(*seen, n, stop, |r| {
        lists[customer(r) as usize].push(r as u32)
    });
    *seen == n
}

/// Calls `f` with rows `from..n`, [`STOP_EVERY`] at a time, asking `stop` before each part;
/// the row it stopped at (`n` when it went through).
fn rows_until(from: usize, n: usize, stop: &Stop, mut f: impl FnMut(usize)) -> usize {
    let mut at = from;
    while at < n {
        if stop.now() {
            return at;
        }
        let end = n.min(at + STOP_EVERY);
        (at..end).for_each(&mut f);
        at = end;
    }
    n
}

/// The rows a kernel visits.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// Every row, in storage order; with a [`Stop`], the pass ends early once it fires.
    All(Option<&'a Stop<'a>>),
    /// The rows of these customers (each named once), through the index.
    Customers(&'a ByCustomer, &'a [u32]),
}

impl Scope<'_> {
    /// Calls `f` with each invoice row of the scope.
    #[inline]
    pub fn each_invoice(&self, snap: &Snapshot, f: impl FnMut(usize)) {
        self.each(snap.invoice_count(), ByCustomer::invoices, f)
    }

    /// Calls `f` with each source row of the scope.
    #[inline]
    pub fn each_source(&self, snap: &Snapshot, f: impl FnMut(usize)) {
        self.each(snap.source_count(), ByCustomer::sources, f)
    }

    /// Calls `f` with each action row of the scope.
    #[inline]
    pub fn each_action(&self, snap: &Snapshot, f: impl FnMut(usize)) {
        self.each(snap.actions.len(), ByCustomer::actions, f)
    }

    #[inline]
    fn each(&self, n: usize, rows: fn(&ByCustomer, u32) -> &[u32], mut f: impl FnMut(usize)) {
        match *self {
            Scope::All(None) => (0..n).for_each(f),
            Scope::All(Some(stop)) => {
                rows_until(0, n, stop, f);
            }
            Scope::Customers(index, customers) => {
                for &c in customers {
                    rows(index, c).iter().for_each(|&r| f(r as usize));
                }
            }
        }
    }

    /// Whether a pass over every row was asked to stop (asking again now): the work between
    /// the passes — a list of every customer, their follow-ups — stops too, so that a writer
    /// waiting for the snapshot waits for a few thousand rows, not for that work.
    pub fn stopped(&self) -> bool {
        match self {
            Scope::All(Some(stop)) => stop.now(),
            _ => false,
        }
    }

    /// The customers of the scope (`nc` customers in the snapshot).
    pub fn customers(&self, nc: usize) -> Vec<u32> {
        match *self {
            Scope::All(_) => (0..nc as u32).collect(),
            Scope::Customers(_, customers) => customers.to_vec(),
        }
    }
}
