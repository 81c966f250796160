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
        let mut order: Vec<u32> = (0..new.len() as u32).collect();
        order.sort_unstable_by_key(|&k| (new[k as usize].2, new[k as usize].4));
        let mut inv_rem: Map<u32, i64> = Map::default();
        let mut src_rem: Map<u32, i64> = Map::default();
        let mut eff = vec![0i64; new.len()];
        let mut counts = vec![0u32; n_inv - first];
        for &k in &order {
            let (i, src, day, req, seq) = new[k as usize];
            let ir = inv_rem.entry(i).or_insert(self.invoices.amount[i as usize]);
            let sr = src_rem
                .entry(src)
                .or_insert(self.sources.amount[src as usize]);
            let e = req.min(*ir).min(*sr).max(0);
            if e < req {
                self.capped.insert(seq, req);
            }
            *ir -= e;
            *sr -= e;
            if *ir == 0 && self.invoices.settled[i as usize] == OPEN {
                self.invoices.settled[i as usize] = day;
            }
            self.sources.set_last_alloc(src as usize, day);
            counts[i as usize - first] += 1;
            eff[k as usize] = e;
            if let Some(d) = self.daily.get_mut() {
                d.add_alloc(day, e);
            }
        }
        for (&src, &r) in &src_rem {
            let s = &mut self.sources;
            let amount = s.amount[src as usize];
            s.remaining.set(src as usize, amount, r);
        }
        let inv = &mut self.invoices;
        let mut end = before;
        for (k, c) in counts.iter().enumerate() {
            end += c;
            inv.alloc_end[first + k] = end;
        }
        let mut cursor: Vec<u32> = (first..n_inv)
            .map(|i| if i == 0 { 0 } else { inv.alloc_end[i - 1] })
            .collect();
        let a = &mut self.allocs;
        let total = a.day.len() + new.len();
        a.day.resize(total, 0);
        a.amount.resize(total, 0);
        a.src.resize(total, 0);
        a.seq.resize(total, 0);
        // In (date, input) order within each invoice, as the full pass leaves them.
        for &k in &order {
            let (i, src, day, _, seq) = new[k as usize];
            let slot = &mut cursor[i as usize - first];
            let at = *slot as usize;
            *slot += 1;
            a.day[at] = day;
            a.amount[at] = eff[k as usize];
            a.src[at] = src | (self.sources.kind[src as usize] as u32) << SRC_BITS;
            a.seq[at] = seq;
        }
        true
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
        self.extra = Map::default();
        self.extra_len = 0;
        // Per-day allocation totals changed wholesale: drop the cache, it rebuilds on demand.
        self.daily = std::sync::OnceLock::new();
    }
}
