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
use crate::view::{CurrencyMode, Rates, Step, ViewError, convert, new_amount_currency, running};

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
        let stored = dated
            .iter()
            .filter(|e| !matches!(e, Event::Amend(_)))
            .map(as_stored);
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
            t.note(ev, step, &mut disputes, &mut promises)?;
        }
        t.counted(disputes, promises).then_some(t)
    }

    /// Appends `events`, stored after every event this holds, as [`Dated::new`] of the whole
    /// ledger would hold them, rows aside: theirs come after the dated part's, as in a view that
    /// took them as they are (no figure depends on the order of rows). `dated[k]`: event `k`
    /// joins the dated part (see [`crate::view::Dating::place`]); `customer(id)`: the own
    /// currency of a customer of the dated part. False when this construction does not take
    /// them so: a rate, an amendment, bank receipts and their decisions, a reminder; in the dated
    /// part anything but documents, payments, calls and follow-ups; an allocation to or from
    /// rows before the dated part's (the pass of a date runs over the dated rows alone); or an
    /// event the snapshot refuses. Unchanged when refused before appending; otherwise to be
    /// built again ([`Dated::new`]).
    pub fn extend(
        &mut self,
        events: &[Event],
        dated: &[bool],
        customer: impl Fn(&str) -> Option<Currency>,
    ) -> bool {
        let reporting = self.snap.currency;
        let s = &self.snap;
        // Rows of the dated part, or new ones.
        let own_invoice = |id: &str| {
            s.invoices
                .ids
                .find(id)
                .is_none_or(|r| r as usize >= self.first_invoice)
        };
        let own_source = |id: &str| {
            s.sources
                .ids
                .find(id)
                .is_none_or(|r| r as usize >= self.first_source)
        };
        let taken = events.len() == dated.len()
            && events.iter().zip(dated).all(|(e, &dated)| match e {
                Event::Rate(_)
                | Event::Amend(_)
                | Event::Receipt(_)
                | Event::Cash(_)
                | Event::Reminder(_) => false,
                Event::Action(_) | Event::Followup(_) => true,
                Event::Document(d) => d.original_invoice_id.as_deref().is_none_or(own_invoice),
                Event::Payment(p) => p.invoice_id.as_deref().is_none_or(own_invoice),
                _ if dated => false,
                Event::Allocation(a) => own_invoice(&a.invoice_id) && own_source(&a.source_id),
                _ => true,
            });
        if !taken {
            return false;
        }
        // In the reporting currency unless a document or payment of the dated part says
        // otherwise (or its customer does).
        let steps: Vec<Step> = events
            .iter()
            .zip(dated)
            .map(|(e, &dated)| {
                let (currency, customer_id) = match e {
                    Event::Document(d) if dated => (d.currency, &d.customer_id),
                    Event::Payment(p) if dated => (p.currency, &p.customer_id),
                    _ => return Step::Same,
                };
                match new_amount_currency(currency, customer_id, reporting, &customer) {
                    c if c != reporting => Step::From(c),
                    _ => Step::Same,
                }
            })
            .collect();
        let (mut disputes, mut promises) = (
            self.snap.disputes.len() as u32,
            self.snap.promises.len() as u32,
        );
        let stored: Vec<Event> = events.iter().map(as_stored).collect();
        if self.snap.append(stored).is_err() {
            return false;
        }
        for (ev, step) in events.iter().zip(steps) {
            if self.note(ev, step, &mut disputes, &mut promises).is_none() {
                return false;
            }
        }
        self.counted(disputes, promises)
    }

    /// Keeps what a date changes of event `ev`, appended to the snapshot as stored and
    /// converted by `step` on each date: the cells of its amounts and its allocation request.
    /// `disputes` and `promises` count the rows so far. `None` when a row is not found or a
    /// currency is one too many.
    fn note(
        &mut self,
        ev: &Event,
        step: Step,
        disputes: &mut u32,
        promises: &mut u32,
    ) -> Option<()> {
        let cur = match step {
            Step::Same => None,
            Step::From(c) | Step::Running(c) => Some(self.currency(c)?),
        };
        let s = &self.snap;
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
                    *disputes += 1;
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
                    self.gross += a.amount as i128;
                }
            }
            Event::Dispute(d) => {
                if let Some(a) = d.amount {
                    cell = Some((Cell::Dispute(*disputes), a));
                }
                *disputes += 1;
            }
            Event::Promise(p) => {
                cell = Some((Cell::Promise(*promises), p.amount));
                *promises += 1;
            }
            Event::Amend(a) => self.amends.push(a.clone()),
            _ => {}
        }
        if let Some((c, amount)) = cell {
            match cur {
                Some(k) => self.cells.push((c, amount, k)),
                None => self.gross += amount.unsigned_abs() as i128,
            }
        }
        if let Some((invoice, source, day, amount, how)) = request {
            self.requests.push(Request {
                invoice,
                source,
                day,
                amount,
                how,
            });
        }
        Some(())
    }

    /// Whether the rows counted are the ones appended, and the dated part's allocations stay
    /// among its own rows (see `Snapshot::reallocate_from`).
    fn counted(&self, disputes: u32, promises: u32) -> bool {
        let s = &self.snap;
        let own = self.requests.iter().all(|r| {
            r.invoice as usize >= self.first_invoice && r.source as usize >= self.first_source
        });
        own && disputes as usize == s.disputes.len()
            && promises as usize == s.promises.len()
            && self.seq0 as usize + self.requests.len() == s.next_seq as usize
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

/// `ev` as the snapshot of a dated part holds it: amounts as stored, their currency left to
/// each date's conversion.
fn as_stored(ev: &Event) -> Event {
    match ev {
        Event::Document(d) => Event::Document(DocumentRec {
            currency: None,
            ..d.clone()
        }),
        Event::Payment(p) => Event::Payment(PaymentRec {
            currency: None,
            ..p.clone()
        }),
        _ => ev.clone(),
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

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    /// The rate of the dollar from `day` on.
    fn rate(day: i32, rate_e9: i64) -> Event {
        Event::Rate(RateRec {
            date: Day(day),
            currency: usd(),
            rate_e9,
        })
    }

    /// A customer in euros and one in dollars, the dollar at 0.40 then at 0.90 from day 20 050.
    fn two_customers() -> Vec<Event> {
        vec![
            customer("A", None),
            customer("U", Some("USD")),
            rate(20_000, 400_000_000),
            rate(20_050, 900_000_000),
        ]
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
        // 0.03 USD paid by three allocations of 0.01: at 0.40 the running total converts to
        // 0, 1 and 1 cents, so the first and third shares are nothing (the invoice is 1 cent);
        // at 0.90 to 1, 2 and 3.
        let mut events = two_customers();
        events.extend([
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
        ]);
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

    fn invoice(id: &str, customer: &str, day: i32, amount: i64) -> Event {
        Event::Document(DocumentRec::new(
            id,
            customer,
            DocKind::Invoice,
            Day(day),
            amount,
        ))
    }

    fn payment(id: &str, customer: &str, day: i32, amount: i64, invoice: Option<&str>) -> Event {
        Event::Payment(PaymentRec {
            id: id.into(),
            customer_id: customer.into(),
            date: Day(day),
            amount,
            currency: None,
            invoice_id: invoice.map(Into::into),
            reference: None,
        })
    }

    /// What a date's view shows of each invoice and customer, by id: rows may be in another
    /// order.
    fn figures(s: &Snapshot, day: i32) -> Vec<String> {
        let mut out: Vec<String> = (0..s.invoice_count())
            .map(|i| {
                format!(
                    "{} amount {} open {} allocations {} due {}",
                    s.invoices.ids.get(i as u32),
                    s.invoices.amount[i],
                    s.open_at(i, day),
                    s.allocs_of(i).count(),
                    s.invoices.due[i]
                )
            })
            .collect();
        out.extend((0..s.customers.ids.len()).map(|c| {
            format!(
                "{} limit {:?}",
                s.customers.ids.get(c as u32),
                s.customers.credit_limit[c]
            )
        }));
        out.sort();
        out.push(format!(
            "gross {} allocations {}",
            s.gross,
            s.allocation_count()
        ));
        out
    }

    #[test]
    fn new_events_extend_the_dated_part_as_a_new_construction_holds_them() {
        let usd = usd();
        let mut events = two_customers();
        events.extend([
            invoice("IA", "A", 20_001, 500),
            invoice("IU", "U", 20_001, 300),
            payment("PU", "U", 20_002, 100, Some("IU")),
            Event::Amend(AmendRec {
                effective: Day(20_060),
                change: Change::DueDate {
                    document_id: "IU".into(),
                    due: Day(20_090),
                },
            }),
        ]);
        let split = split_dated(events.clone(), Currency::EUR);
        let base = Snapshot::build(Currency::EUR, split.base.clone()).unwrap();
        let once = Dated::new(&base, &split.dated, Currency::EUR).expect("redone");
        let in_base =
            |id: &str| base.invoices.ids.find(id).is_some() || base.sources.ids.find(id).is_some();
        let usd_of = |c: &str| (c == "U").then_some(usd);

        // A new invoice of each customer, a payment in dollars naming the new one, an unapplied
        // payment of the euro customer, an allocation of it to its new invoice, a call.
        let new = vec![
            invoice("IA2", "A", 20_051, 200),
            invoice("IU2", "U", 20_052, 1_000),
            payment("PU2", "U", 20_053, 400, Some("IU2")),
            payment("PA2", "A", 20_053, 150, None),
            Event::Allocation(AllocationRec {
                source_id: "PA2".into(),
                invoice_id: "IA2".into(),
                date: Day(20_054),
                amount: 150,
            }),
            Event::Action(ActionRec {
                customer_id: "U".into(),
                date: Day(20_054),
                kind: "call".into(),
                invoice_id: None,
                agent: Some("Camille".into()),
                note: None,
                outcome: None,
            }),
        ];
        let place = split.dating.place(&new, in_base).unwrap();
        assert_eq!(place, [false, true, true, false, false, true]);
        let mut extended = once.clone();
        assert!(extended.extend(&new, &place, usd_of));

        // The oracle: the whole ledger cut and appended once again.
        let mut all = events.clone();
        all.extend(new.iter().cloned());
        let split2 = split_dated(all, Currency::EUR);
        let base2 = Snapshot::build(Currency::EUR, split2.base.clone()).unwrap();
        let again = Dated::new(&base2, &split2.dated, Currency::EUR).expect("redone");
        for day in [20_010, 20_055, 20_070] {
            let a = extended.at(Day(day), &split.rates).unwrap().unwrap();
            let b = again.at(Day(day), &split2.rates).unwrap().unwrap();
            assert_eq!(figures(&a, day), figures(&b, day), "on day {day}");
        }
        // 1 000 USD at 0.90 on day 20 055, 400 of it paid.
        let v = extended.at(Day(20_055), &split.rates).unwrap().unwrap();
        let iu2 = v.invoices.ids.find("IU2").unwrap() as usize;
        assert_eq!((v.invoices.amount[iu2], v.open_at(iu2, 20_055)), (900, 540));

        // Refused, unchanged: a rate; a payment naming an invoice before the dated part's rows
        // (the pass of a date runs over the dated rows alone).
        let mut refused = once.clone();
        assert!(!refused.extend(&[rate(20_100, 1_000_000_000)], &[false], usd_of));
        let old = [payment("PA3", "A", 20_060, 50, Some("IA"))];
        let place = split.dating.place(&old, in_base).unwrap();
        assert!(!refused.extend(&old, &place, usd_of));
        assert_eq!(
            figures(
                &refused.at(Day(20_055), &split.rates).unwrap().unwrap(),
                20_055
            ),
            figures(
                &once.at(Day(20_055), &split.rates).unwrap().unwrap(),
                20_055
            )
        );
    }
}
