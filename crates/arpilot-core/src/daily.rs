//! Per-day totals of a selection: every balance and net-sales figure at any date is a prefix sum
//! over these few thousand days, so DSO, CEI and trends never rescan the documents.

use crate::select::Selection;
use crate::snapshot::{SRC_CREDIT, SRC_PAYMENT, Snapshot};

#[derive(Clone, Debug, Default)]
pub struct Daily {
    start: i32,
    /// Invoices issued.
    sales: Vec<i64>,
    credits: Vec<i64>,
    writeoffs: Vec<i64>,
    payments: Vec<i64>,
    /// Allocations onto selected invoices.
    alloc_in: Vec<i64>,
    /// Allocations out of selected sources.
    alloc_out: Vec<i64>,
    /// Invoice amounts by due date.
    due: Vec<i64>,
    pub first_doc: Option<i32>,
}

impl Daily {
    pub fn of(snap: &Snapshot, sel: &Selection) -> Daily {
        let mut d = Daily::default();
        let inv = &snap.invoices;
        let src = &snap.sources;
        // Size the range once: documents and allocations all fall within these bounds.
        let lo = inv
            .issue
            .iter()
            .chain(&src.day)
            .chain(&inv.due)
            .copied()
            .min();
        let hi = inv
            .issue
            .iter()
            .chain(&src.day)
            .chain(&inv.due)
            .chain(&snap.allocs.day)
            .copied()
            .chain(snap.extra.values().flatten().map(|a| a.day))
            .max();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            d.grow(lo);
            d.grow(hi);
        }
        let all = sel.is_all();
        for i in 0..inv.customer.len() {
            let in_sel = all || sel.invoice(snap, i);
            if in_sel {
                d.add_invoice(inv.issue[i], inv.due[i], inv.amount[i]);
            }
            if all {
                for a in snap.allocs_of(i) {
                    d.add_alloc(a.day, a.amount);
                }
            } else if in_sel || sel.doc_level {
                for a in snap.allocs_of(i) {
                    if in_sel {
                        let k = d.slot(a.day);
                        d.alloc_in[k] += a.amount;
                    }
                    // Allocations never cross customers, so without document-level filters
                    // "out of selected sources" is "onto selected invoices".
                    if (sel.doc_level && sel.source(snap, a.src as usize))
                        || (!sel.doc_level && in_sel)
                    {
                        let k = d.slot(a.day);
                        d.alloc_out[k] += a.amount;
                    }
                }
            }
        }
        for s in 0..src.customer.len() {
            if all || sel.source(snap, s) {
                d.add_source(src.kind[s], src.day[s], src.amount[s]);
            }
        }
        d
    }

    fn grow(&mut self, day: i32) {
        if self.sales.is_empty() {
            self.start = day;
        }
        let len = self.sales.len() as i32;
        if day < self.start {
            let extra = (self.start - day) as usize;
            for v in self.cols_mut() {
                v.splice(0..0, std::iter::repeat_n(0, extra));
            }
            self.start = day;
        } else if day >= self.start + len {
            let n = (day - self.start + 1) as usize;
            for v in self.cols_mut() {
                v.resize(n, 0);
            }
        }
    }

    fn cols_mut(&mut self) -> [&mut Vec<i64>; 7] {
        [
            &mut self.due,
            &mut self.sales,
            &mut self.credits,
            &mut self.writeoffs,
            &mut self.payments,
            &mut self.alloc_in,
            &mut self.alloc_out,
        ]
    }

    #[inline]
    fn slot(&mut self, day: i32) -> usize {
        if day < self.start || day >= self.start + self.sales.len() as i32 {
            self.grow(day);
        }
        (day - self.start) as usize
    }

    fn note_doc(&mut self, day: i32) {
        self.first_doc = Some(self.first_doc.map_or(day, |f| f.min(day)));
    }

    pub(crate) fn add_invoice(&mut self, day: i32, due: i32, amount: i64) {
        let k = self.slot(day);
        self.sales[k] += amount;
        // An invoice due before it was issued falls due when issued.
        let k = self.slot(due.max(day));
        self.due[k] += amount;
        self.note_doc(day);
    }

    pub(crate) fn add_source(&mut self, kind: u8, day: i32, amount: i64) {
        let k = self.slot(day);
        match kind {
            SRC_PAYMENT => self.payments[k] += amount,
            SRC_CREDIT => self.credits[k] += amount,
            _ => self.writeoffs[k] += amount,
        }
        self.note_doc(day);
    }

    /// An allocation inside the selection (both its invoice and its source).
    pub(crate) fn add_alloc(&mut self, day: i32, amount: i64) {
        let k = self.slot(day);
        self.alloc_in[k] += amount;
        self.alloc_out[k] += amount;
    }

    pub fn heap_bytes(&self) -> usize {
        self.sales.capacity() * 8 * 7
    }

    /// Running totals, for O(1) questions about any date.
    pub fn cumulative(&self) -> Cum {
        let run = |v: &Vec<i64>| {
            let mut acc = 0i64;
            v.iter()
                .map(|x| {
                    acc += x;
                    acc
                })
                .collect::<Vec<_>>()
        };
        Cum {
            start: self.start,
            sales: run(&self.sales),
            credits: run(&self.credits),
            writeoffs: run(&self.writeoffs),
            payments: run(&self.payments),
            alloc_in: run(&self.alloc_in),
            alloc_out: run(&self.alloc_out),
            due: run(&self.due),
            first_doc: self.first_doc,
        }
    }
}

/// Running totals of a [`Daily`].
#[derive(Clone, Debug)]
pub struct Cum {
    start: i32,
    sales: Vec<i64>,
    credits: Vec<i64>,
    writeoffs: Vec<i64>,
    payments: Vec<i64>,
    alloc_in: Vec<i64>,
    alloc_out: Vec<i64>,
    due: Vec<i64>,
    pub first_doc: Option<i32>,
}

impl Cum {
    /// Σ of the column over days ≤ `d`.
    #[inline]
    fn at(&self, col: &[i64], d: i32) -> i64 {
        if col.is_empty() || d < self.start {
            return 0;
        }
        let k = ((d - self.start) as usize).min(col.len() - 1);
        col[k]
    }

    /// Invoices issued in `(a, b]` minus credit notes issued in `(a, b]`.
    pub fn net_sales(&self, a: i32, b: i32) -> i64 {
        self.net_sales_to(b) - self.net_sales_to(a)
    }

    fn net_sales_to(&self, d: i32) -> i64 {
        self.at(&self.sales, d) - self.at(&self.credits, d)
    }

    pub fn open_invoices(&self, d: i32) -> i64 {
        self.at(&self.sales, d) - self.at(&self.alloc_in, d)
    }

    /// Unapplied cash and credit at `d`, as a negative amount.
    pub fn unapplied(&self, d: i32) -> i64 {
        -(self.at(&self.credits, d) + self.at(&self.writeoffs, d) + self.at(&self.payments, d)
            - self.at(&self.alloc_out, d))
    }

    pub fn balance(&self, d: i32) -> i64 {
        self.open_invoices(d) + self.unapplied(d)
    }

    pub fn payments(&self, a: i32, b: i32) -> i64 {
        self.at(&self.payments, b) - self.at(&self.payments, a)
    }

    /// Amounts of invoices falling due in `(a, b]` (on their due date, or on their issue date
    /// when that is later).
    pub fn fell_due(&self, a: i32, b: i32) -> i64 {
        self.at(&self.due, b) - self.at(&self.due, a)
    }

    pub fn writeoffs(&self, a: i32, b: i32) -> i64 {
        self.at(&self.writeoffs, b) - self.at(&self.writeoffs, a)
    }
}
