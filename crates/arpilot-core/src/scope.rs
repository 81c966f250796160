//! Which rows a per-customer kernel visits: every row in storage order (one sequential pass,
//! what a whole-portfolio figure needs), or the rows of a few customers found through an index
//! (what a cache needs to bring a few customers up to date after an append).
//!
//! Both run the same accumulation code, so a customer's figures are the same whichever way they
//! were reached.

use crate::snapshot::Snapshot;

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
    pub fn new(snap: &Snapshot) -> ByCustomer {
        let mut b = ByCustomer::default();
        b.catch_up(snap);
        b
    }

    /// Indexes the customers and rows appended since the last call (on the same snapshot or a
    /// later state of it).
    pub fn catch_up(&mut self, snap: &Snapshot) {
        let nc = snap.customers.names.len();
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
        for i in self.seen.0..ni {
            self.invoices[snap.invoices.customer[i] as usize].push(i as u32);
        }
        for s in self.seen.1..ns {
            self.sources[snap.sources.customer[s] as usize].push(s as u32);
        }
        for a in self.seen.2..na {
            self.actions[snap.actions[a].customer as usize].push(a as u32);
        }
        self.seen = (ni, ns, na);
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

/// The rows a kernel visits.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// Every row, in storage order.
    All,
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
            Scope::All => (0..n).for_each(f),
            Scope::Customers(index, customers) => {
                for &c in customers {
                    rows(index, c).iter().for_each(|&r| f(r as usize));
                }
            }
        }
    }

    /// The customers of the scope (`nc` customers in the snapshot).
    pub fn customers(&self, nc: usize) -> Vec<u32> {
        match *self {
            Scope::All => (0..nc as u32).collect(),
            Scope::Customers(_, customers) => customers.to_vec(),
        }
    }
}
