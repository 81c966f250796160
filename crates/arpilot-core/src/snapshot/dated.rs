//! Views of a dated ledger on any date from one snapshot built once.
//!
//! A dated ledger's view of a date is its base, built once, with the dated part converted at
//! that date's rates and its amendments in effect by then appended (see
//! [`crate::view::split_dated`]). Every date gives the dated part the same rows: only amounts
//! in other currencies, the allocation pass over them, and the amendments differ. So the
//! dated part is appended once, as stored and without amendments ([`Dated::new`]); a date's
//! view is a copy of that snapshot with the amounts of its date written into their cells, the
//! allocation pass run again over the dated rows alone and the date's amendments appended
//! ([`Dated::at`]): what appending the converted events would give, without reading them
//! again.

use super::Snapshot;
use crate::bounds::{GROSS_LIMIT, check_amount};
use crate::date::Day;
use crate::ledger::*;
use crate::money::Currency;
use crate::view::{CurrencyMode, Rates, Step, ViewError, convert, running};

/// A cell of the snapshot holding an amount of the dated part in another currency.
#[derive(Clone, Copy, Debug)]
enum Cell {
    Invoice(u32),
    Source(u32),
    CreditLimit(u32),
    Dispute(u32),
    Promise(u32),
}

/// How an allocation request of the dated part is worked out on a date.
#[derive(Clone, Copy, Debug)]
enum How {
    /// A payment or credit note naming its invoice: its whole (converted) amount.
    Whole,
    /// As stored: the invoice is in the reporting currency.
    Stored,
    /// The invoice's running total converted from currency `currencies[k]` (see
    /// [`crate::view::running`]), the share of this request left out when nothing.
    Running(u8),
}

#[derive(Clone, Copy, Debug)]
struct Request {
    invoice: u32,
    source: u32,
    day: i32,
    amount: i64,
    how: How,
}

/// A dated ledger's base with its dated part appended once, and what differs from date to date.
#[derive(Clone, Debug)]
pub struct Dated {
    /// The base, then the dated part as stored (amounts in their currencies), no amendment.
    snap: Snapshot,
    /// Other currencies, in the order the dated events first need their rate (the error of a
    /// date without one names the same currency as converting the events would).
    currencies: Vec<Currency>,
    /// Cells to convert: where, the amount as stored, index in `currencies`.
    cells: Vec<(Cell, i64, u8)>,
    /// Allocation requests of the dated part in input order; the k-th is request `seq0 + k`.
    requests: Vec<Request>,
    /// First invoice and source rows of the dated part, first request number.
    first_invoice: usize,
    first_source: usize,
    seq0: u32,
    /// Sum of the absolute amounts every date has alike (the base's and those not converted).
    gross: i128,
    /// The dated part's amendments, in input order.
    amends: Vec<AmendRec>,
}

impl Dated {
    /// Appends `dated` (the dated part of a split ledger, in input order) to a copy of `base`.
    /// `None` when the dated part holds what this construction does not redo (bank receipts and
    /// their decisions, amended customers) or cannot be appended: build each date's view by
    /// appending its converted events then.
    pub fn new(base: &Snapshot, dated: &[Event], reporting: Currency) -> Option<Dated> {
        let redone = dated.iter().all(|e| match e {
            Event::Receipt(_) | Event::Cash(_) => false,
            Event::Amend(a) => !matches!(a.change, Change::Customer(_)),
            _ => true,
        });
        if !redone {
            return None;
        }
        let no_rates = Rates::default();
        let mut conv = crate::view::converter(dated, CurrencyMode::Convert(reporting), &no_rates);
        let steps: Vec<Step> = dated
            .iter()
            .map(|e| conv.step(e).unwrap_or(Step::Same))
            .collect();
        let stored = dated.iter().filter_map(|e| match e {
            Event::Amend(_) => None,
            Event::Document(d) => Some(Event::Document(DocumentRec {
                currency: None,
                ..d.clone()
            })),
            Event::Payment(p) => Some(Event::Payment(PaymentRec {
                currency: None,
                ..p.clone()
            })),
            _ => Some(e.clone()),
        });
        let snap = base.clone().extended(stored.collect::<Vec<_>>()).ok()?;
        let mut t = Dated {
            currencies: Vec::new(),
            cells: Vec::new(),
            requests: Vec::new(),
            first_invoice: base.invoice_count(),
            first_source: base.source_count(),
            seq0: base.next_seq,
            gross: base.gross,
            amends: Vec::new(),
            snap,
        };
        let (mut disputes, mut promises) = (base.disputes.len() as u32, base.promises.len() as u32);
        for (ev, step) in dated.iter().zip(steps) {
            let cur = match step {
                Step::Same => None,
                Step::From(c) | Step::Running(c) => Some(t.currency(c)?),
            };
            let s = &t.snap;
            let invoice = |id: &str| s.invoices.ids.find(id);
            let source = |id: &str| s.sources.ids.find(id);
            let mut cell = None;
            let mut request = None;
            match ev {
                Event::Customer(c) => {
                    if let Some(l) = c.credit_limit {
                        cell = Some((Cell::CreditLimit(s.customers.ids.find(&c.id)?), l));
                    }
                }
                Event::Document(d) if d.kind == DocKind::Invoice => {
                    cell = Some((Cell::Invoice(invoice(&d.id)?), d.amount));
                    if d.disputed {
                        disputes += 1;
                    }
                }
                Event::Document(d) => {
                    let row = source(&d.id)?;
                    cell = Some((Cell::Source(row), d.amount));
                    if let Some(i) = &d.original_invoice_id {
                        request = Some((invoice(i)?, row, d.issue.0, 0, How::Whole));
                    }
                }
                Event::Payment(p) => {
                    let row = source(&p.id)?;
                    cell = Some((Cell::Source(row), p.amount));
                    if let Some(i) = &p.invoice_id {
                        request = Some((invoice(i)?, row, p.date.0, 0, How::Whole));
                    }
                }
                Event::Allocation(a) => {
                    let how = cur.map_or(How::Stored, How::Running);
                    let (i, src) = (invoice(&a.invoice_id)?, source(&a.source_id)?);
                    request = Some((i, src, a.date.0, a.amount, how));
                    if cur.is_none() {
                        t.gross += a.amount as i128;
                    }
                }
                Event::Dispute(d) => {
                    if let Some(a) = d.amount {
                        cell = Some((Cell::Dispute(disputes), a));
                    }
                    disputes += 1;
                }
                Event::Promise(p) => {
                    cell = Some((Cell::Promise(promises), p.amount));
                    promises += 1;
                }
                Event::Amend(a) => t.amends.push(a.clone()),
                _ => {}
            }
            if let Some((c, amount)) = cell {
                match cur {
                    Some(k) => t.cells.push((c, amount, k)),
                    None => t.gross += amount.unsigned_abs() as i128,
                }
            }
            if let Some((invoice, source, day, amount, how)) = request {
                t.requests.push(Request {
                    invoice,
                    source,
                    day,
                    amount,
                    how,
                });
            }
        }
        // The rows counted are the ones appended, and the dated part's allocations stay among
        // its own rows (see `Snapshot::reallocate_from`).
        let s = &t.snap;
        let own = t
            .requests
            .iter()
            .all(|r| r.invoice as usize >= t.first_invoice && r.source as usize >= t.first_source);
        let counted = disputes as usize == s.disputes.len()
            && promises as usize == s.promises.len()
            && t.seq0 as usize + t.requests.len() == s.next_seq as usize;
        (own && counted).then_some(t)
    }

    fn currency(&mut self, c: Currency) -> Option<u8> {
        let k = match self.currencies.iter().position(|&x| x == c) {
            Some(k) => k,
            None => {
                self.currencies.push(c);
                self.currencies.len() - 1
            }
        };
        u8::try_from(k).ok()
    }

    /// The view on `d` with the ledger's `rates`, as appending the dated part converted for `d`
    /// (amendments in effect by then) to the base gives it. `None` when that append would
    /// refuse an event (an amount out of bounds once converted, say): take that path then, for
    /// its error.
    pub fn at(&self, d: Day, rates: &Rates) -> Option<Result<Snapshot, ViewError>> {
        let mut rate = Vec::with_capacity(self.currencies.len());
        for &c in &self.currencies {
            match rates.at(c, Some(d)) {
                Some(r) => rate.push(r),
                None => {
                    return Some(Err(ViewError::NoRate {
                        currency: c,
                        reporting: self.snap.currency,
                        as_of: d.to_string(),
                    }));
                }
            }
        }
        let to = self.snap.currency;
        let conv = |amount: i64, k: u8| {
            let k = k as usize;
            convert(amount, self.currencies[k], to, rate[k])
        };
        let mut s = self.snap.clone();
        let mut gross = self.gross;
        for &(cell, amount, k) in &self.cells {
            let v = conv(amount, k);
            // The bounds the append checks: a credit limit may be nothing, the rest not.
            if check_amount("amount", v, matches!(cell, Cell::CreditLimit(_))).is_err() {
                return None;
            }
            gross += v as i128;
            match cell {
                Cell::Invoice(r) => s.invoices.amount[r as usize] = v,
                Cell::Source(r) => s.sources.amount[r as usize] = v,
                Cell::CreditLimit(r) => s.customers.credit_limit[r as usize] = Some(v),
                Cell::Dispute(r) => s.disputes[r as usize].amount = v,
                Cell::Promise(r) => s.promises[r as usize].amount = v,
            }
        }
        // Running totals per invoice of the dated part.
        let mut totals = vec![(0i64, 0i64); s.invoice_count() - self.first_invoice];
        let mut new = Vec::with_capacity(self.requests.len());
        for (k, r) in self.requests.iter().enumerate() {
            let amount = match r.how {
                How::Whole => s.sources.amount[r.source as usize],
                How::Stored => r.amount,
                How::Running(c) => {
                    let t = &mut totals[r.invoice as usize - self.first_invoice];
                    let c = c as usize;
                    let share = running(t, r.amount, self.currencies[c], to, rate[c]);
                    if share <= 0 {
                        continue;
                    }
                    if check_amount("amount", share, false).is_err() {
                        return None;
                    }
                    gross += share as i128;
                    share
                }
            };
            new.push((r.invoice, r.source, r.day, amount, self.seq0 + k as u32));
        }
        if gross > GROSS_LIMIT {
            return None;
        }
        s.gross = gross;
        s.reallocate_from(self.first_invoice, self.first_source, self.seq0, &new);
        s.generation = super::next_generation();
        let amends: Vec<Event> = self
            .amends
            .iter()
            .filter(|a| a.effective <= d)
            .map(|a| Event::Amend(a.clone()))
            .collect();
        if !amends.is_empty() && s.append(amends).is_err() {
            return None;
        }
        Some(Ok(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{prepared, split_dated};

    /// A customer paying at 30 days, with a credit limit of 10.00 in its currency.
    fn customer(id: &str, currency: Option<&str>) -> Event {
        let mut c = crate::view::tests::customer(id, currency);
        if let Event::Customer(c) = &mut c {
            c.credit_limit = Some(1_000);
            c.payment_terms_days = Some(30);
        }
        c
    }

    fn alloc(invoice: &str, day: i32, amount: i64) -> Event {
        Event::Allocation(AllocationRec {
            source_id: "P1".into(),
            invoice_id: invoice.into(),
            date: Day(day),
            amount,
        })
    }

    #[test]
    fn shares_rounding_to_nothing_are_left_out_as_appending_leaves_them() {
        let usd = Currency::parse("USD").unwrap();
        let rate = |day, rate_e9| {
            Event::Rate(RateRec {
                date: Day(day),
                currency: usd,
                rate_e9,
            })
        };
        // 0.03 USD paid by three allocations of 0.01: at 0.40 the running total converts to
        // 0, 1 and 1 cents, so the first and third shares are nothing (the invoice is 1 cent);
        // at 0.90 to 1, 2 and 3.
        let events = vec![
            customer("A", None),
            customer("U", Some("USD")),
            rate(20_000, 400_000_000),
            rate(20_050, 900_000_000),
            Event::Document(DocumentRec::new(
                "IA",
                "A",
                DocKind::Invoice,
                Day(20_001),
                500,
            )),
            Event::Document(DocumentRec::new(
                "IU",
                "U",
                DocKind::Invoice,
                Day(20_001),
                3,
            )),
            Event::Payment(PaymentRec {
                id: "P1".into(),
                customer_id: "U".into(),
                date: Day(20_002),
                amount: 3,
                currency: None,
                invoice_id: None,
                reference: None,
            }),
            alloc("IU", 20_003, 1),
            alloc("IU", 20_004, 1),
            alloc("IU", 20_005, 1),
            Event::Amend(AmendRec {
                effective: Day(20_060),
                change: Change::DueDate {
                    document_id: "IA".into(),
                    due: Day(20_090),
                },
            }),
        ];
        let split = split_dated(events, Currency::EUR);
        let base = Snapshot::build(Currency::EUR, split.base.clone()).unwrap();
        let once = Dated::new(&base, &split.dated, Currency::EUR).expect("redone");
        let mode = CurrencyMode::Convert(Currency::EUR);
        for (day, allocations, limit) in [(20_010, 1, 400), (20_055, 3, 900), (20_070, 3, 900)] {
            let appended = base
                .clone()
                .extended(prepared(&split.dated, Some(Day(day)), mode, &split.rates).unwrap())
                .unwrap();
            let written = once.at(Day(day), &split.rates).unwrap().unwrap();
            for s in [&appended, &written] {
                assert_eq!(s.allocation_count(), allocations, "on day {day}");
                let u = s.invoices.ids.find("IU").unwrap() as usize;
                assert_eq!(s.open_at(u, day), 0, "paid in full on day {day}");
                let a = s.invoices.ids.find("IA").unwrap() as usize;
                let due = if day >= 20_060 { 20_090 } else { 20_031 };
                assert_eq!(s.invoices.due[a], due);
                let c = s.customers.ids.find("U").unwrap() as usize;
                assert_eq!(s.customers.credit_limit[c], Some(limit));
            }
            assert_eq!(appended.gross, written.gross);
        }
        // Before the first rate: the same error as converting the events.
        assert_eq!(
            once.at(Day(19_999), &split.rates).unwrap().unwrap_err(),
            prepared(&split.dated, Some(Day(19_999)), mode, &split.rates).unwrap_err()
        );
    }
}
