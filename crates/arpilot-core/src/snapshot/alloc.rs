//! The allocation pass: caps, the fast path for in-order appends, the full pass when back-dated.

use super::{Alloc, F_EXTRA, Map, OPEN, Remaining, SRC_BITS, Snapshot, Sources};

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

impl Snapshot {
    /// Applies checked allocations `(invoice, source, day, amount, seq)`; returns true when the
    /// allocation pass had to run again because one of them was back-dated.
    pub(super) fn apply_allocations(&mut self, new: Vec<(u32, u32, i32, i64, u32)>) -> bool {
        if new.is_empty() {
            return false;
        }
        // New documents with their payments (the first import of their customers): a pass over
        // them alone, nothing else can change.
        if new.len() > 4096 && self.allocate_fresh(&new) {
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

    /// One step of the allocation rule: what request `seq` of `req`, dated `day`, takes of what is
    /// left on invoice `i` (`inv_rem`) and on source `src` (`src_rem`), both lowered by it. A
    /// capped request is remembered, the invoice settled on `day` when nothing is left on it,
    /// and the source's last allocation dated.
    #[allow(clippy::too_many_arguments)]
    fn take(
        &mut self,
        i: usize,
        src: usize,
        day: i32,
        req: i64,
        seq: u32,
        inv_rem: &mut i64,
        src_rem: &mut i64,
    ) -> i64 {
        let eff = req.min(*inv_rem).min(*src_rem).max(0);
        if eff < req {
            self.capped.insert(seq, req);
        }
        *inv_rem -= eff;
        *src_rem -= eff;
        self.sources.set_last_alloc(src, day);
        if *inv_rem == 0 && self.invoices.settled[i] == OPEN {
            self.invoices.settled[i] = day;
        }
        eff
    }

    fn push_tail_alloc(&mut self, inv: u32, src: u32, day: i32, req: i64, seq: u32) {
        let (i, s) = (inv as usize, src as usize);
        let mut rem = self.invoice_remaining(i);
        let mut src_rem = self.sources.remaining.get(s, self.sources.amount[s]);
        let eff = self.take(i, s, day, req, seq, &mut rem, &mut src_rem);
        let amount = self.sources.amount[s];
        self.sources.remaining.set(s, amount, src_rem);
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

    /// The allocation pass over `new` alone, when every invoice from the first one it names to
    /// the last row has no allocation yet and none of its sources has been allocated: caps
    /// only meet on one invoice or one source, so the pass over every allocation would give
    /// the others exactly what they have. Their slices go after every other invoice's, as the
    /// full pass lays them out. False (nothing done) otherwise.
    fn allocate_fresh(&mut self, new: &[(u32, u32, i32, i64, u32)]) -> bool {
        let n_inv = self.invoice_count();
        let Some(first) = new.iter().map(|a| a.0 as usize).min() else {
            return false;
        };
        let before = if first == 0 {
            0
        } else {
            self.invoices.alloc_end[first - 1]
        };
        let fresh_invoices = self.invoices.alloc_end[n_inv - 1] == before
            && before as usize == self.allocs.day.len()
            && self.invoices.flags[first..]
                .iter()
                .all(|f| f & F_EXTRA == 0);
        let s = &self.sources;
        if !fresh_invoices
            || !new.iter().all(|a| {
                let k = a.1 as usize;
                s.last_alloc[k] == 0 && s.remaining.get(k, s.amount[k]) == s.amount[k]
            })
        {
            return false;
        }
        self.allocate_alone(first, new);
        true
    }

    /// The allocation pass over `new` alone, laid out after the slices of the invoices before
    /// row `first`: no invoice from `first` on, and no source named, holds an allocation.
    fn allocate_alone(&mut self, first: usize, new: &[(u32, u32, i32, i64, u32)]) {
        let mut all = by_date(new.iter().copied());
        // What is left on the invoices from `first` on, and on the sources named.
        let mut inv_rem = self.invoices.amount[first..].to_vec();
        let mut src_rem: Map<u32, i64> = Map::default();
        for t in &mut all {
            let (day, seq, i, src, req) = *t;
            let amount = self.sources.amount[src as usize];
            let sr = src_rem.entry(src).or_insert(amount);
            let eff = self.take(
                i as usize,
                src as usize,
                day,
                req,
                seq,
                &mut inv_rem[i as usize - first],
                sr,
            );
            t.4 = eff;
            if let Some(d) = self.daily.get_mut() {
                d.add_alloc(day, eff);
            }
        }
        for (&src, &r) in &src_rem {
            let s = &mut self.sources;
            let amount = s.amount[src as usize];
            s.remaining.set(src as usize, amount, r);
        }
        self.lay_out(first, &all);
    }

    /// The allocation pass again over the invoices from row `first` on and the sources from row
    /// `first_src` on, whose allocations never involve earlier rows: what it gave them is
    /// forgotten (allocations, settlement, what is left, caps of requests `seq0` and later) and
    /// requests `new` allocated instead, as a pass over every allocation would.
    pub(super) fn reallocate_from(
        &mut self,
        first: usize,
        first_src: usize,
        seq0: u32,
        new: &[(u32, u32, i32, i64, u32)],
    ) {
        for i in first..self.invoice_count() {
            if self.invoices.flags[i] & F_EXTRA != 0 {
                if let Some(v) = self.extra.remove(&(i as u32)) {
                    self.extra_len -= v.len();
                }
                self.invoices.flags[i] &= !F_EXTRA;
            }
            self.invoices.settled[i] = OPEN;
        }
        self.capped.retain(|&seq, _| seq < seq0);
        let s = &mut self.sources;
        for k in first_src..s.amount.len() {
            s.remaining.set(k, s.amount[k], s.amount[k]);
            s.last_alloc[k] = 0;
        }
        self.daily = std::sync::OnceLock::new();
        self.allocate_alone(first, new);
    }

    /// Lays out allocations `(day, seq, invoice, source, effective)` in (date, input) order by
    /// invoice, from invoice row `first` on, after the slices of the invoices before it: a
    /// counting sort, stable, so each invoice's slice stays in (date, input) order.
    fn lay_out(&mut self, first: usize, all: &[(i32, u32, u32, u32, i64)]) {
        let n_inv = self.invoice_count();
        let inv = &mut self.invoices;
        let start = if first == 0 {
            0
        } else {
            inv.alloc_end[first - 1]
        };
        let mut counts = vec![0u32; n_inv - first];
        for t in all {
            counts[t.2 as usize - first] += 1;
        }
        let mut end = start;
        for (k, c) in counts.iter().enumerate() {
            end += c;
            inv.alloc_end[first + k] = end;
        }
        let mut cursor: Vec<u32> = (first..n_inv)
            .map(|i| if i == 0 { 0 } else { inv.alloc_end[i - 1] })
            .collect();
        let a = &mut self.allocs;
        let total = start as usize + all.len();
        a.day.resize(total, 0);
        a.amount.resize(total, 0);
        a.src.resize(total, 0);
        a.seq.resize(total, 0);
        for &(day, seq, i, src, eff) in all {
            let slot = &mut cursor[i as usize - first];
            let k = *slot as usize;
            *slot += 1;
            a.day[k] = day;
            a.amount[k] = eff;
            a.src[k] = src | (self.sources.kind[src as usize] as u32) << SRC_BITS;
            a.seq[k] = seq;
        }
    }

    /// Runs the allocation pass over every allocation (date order, then input order) with the
    /// originally requested amounts, then lays the result out again by invoice.
    fn reallocate(&mut self, new: Vec<(u32, u32, i32, i64, u32)>) {
        let n_inv = self.invoice_count();
        let mut kept = Vec::with_capacity(self.allocs.day.len() + self.extra_len);
        for i in 0..n_inv {
            for a in self.allocs_of(i) {
                let req = self.capped.get(&a.seq).copied().unwrap_or(a.amount);
                kept.push((i as u32, a.src, a.day, req, a.seq));
            }
        }
        let mut all = by_date(kept.into_iter().chain(new));
        let mut inv_rem = self.invoices.amount.clone();
        let mut src_rem = self.sources.amount.clone();
        self.sources.last_alloc.iter_mut().for_each(|d| *d = 0);
        self.capped.clear();
        self.invoices.settled.iter_mut().for_each(|d| *d = OPEN);
        for t in &mut all {
            let (day, seq, i, src, req) = *t;
            t.4 = self.take(
                i as usize,
                src as usize,
                day,
                req,
                seq,
                &mut inv_rem[i as usize],
                &mut src_rem[src as usize],
            );
        }
        let s = &mut self.sources;
        s.remaining = Remaining::from_values(&src_rem, &s.amount);
        self.lay_out(0, &all);
        for f in self.invoices.flags.iter_mut() {
            *f &= !F_EXTRA;
        }
        self.extra = Map::default();
        self.extra_len = 0;
        // Per-day allocation totals changed wholesale: drop the cache, it rebuilds on demand.
        self.daily = std::sync::OnceLock::new();
    }
}

/// Allocations `(invoice, source, day, requested, seq)` as `(day, seq, invoice, source,
/// requested)` in the rule's order: date, then input order.
fn by_date(
    allocs: impl Iterator<Item = (u32, u32, i32, i64, u32)>,
) -> Vec<(i32, u32, u32, u32, i64)> {
    let mut all: Vec<_> = allocs
        .map(|(inv, src, day, req, seq)| (day, seq, inv, src, req))
        .collect();
    all.sort_unstable_by_key(|t| (t.0, t.1));
    all
}
