//! How events enter the snapshot: validation of a batch, the new rows, rollback on error.

use super::{
    Action, Dispute, F_DISPUTE, F_LEGAL, F_PROMISE, NO_INVOICE, OPEN, Promise, SRC_CREDIT,
    SRC_MASK, SRC_PAYMENT, SRC_WRITEOFF, Snapshot, order_by_day, order_by_invoice,
    source_kind_name,
};
use crate::date::Day;
use crate::ledger::*;
use crate::money::Currency;

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
    gross: i128,
    customers: usize,
    invoices: usize,
    sources: usize,
    amended: Vec<(u32, CustomerState)>,
    receipts: usize,
    cash: usize,
    /// Receipts whose state the batch changed: (row, state, decided) before it.
    receipt_states: Vec<(u32, u8, i32)>,
}

#[derive(Clone)]
struct CustomerState {
    name: String,
    credit_limit: Option<i64>,
    terms: Option<i32>,
    dims: Vec<(String, String)>,
}

impl Snapshot {
    /// Appends a batch of events. Either every event enters the ledger or none does.
    pub fn append(
        &mut self,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<AppendStats, EventError> {
        let mut undo = Undo {
            gross: self.gross,
            customers: self.customers.names.len(),
            invoices: self.invoice_count(),
            sources: self.source_count(),
            amended: Vec::new(),
            receipts: self.receipts.day.len(),
            cash: self.cash.len(),
            receipt_states: Vec::new(),
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
                if n > 0 {
                    self.generation = super::next_generation();
                }
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
        crate::bounds::check_event(&ev)?;
        self.add_gross(&ev)?;
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
                                    owner: None,
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
            Event::Followup(ref f) => {
                self.customer_row(&f.customer_id)?;
                later.push((index, ev));
                Ok(())
            }
            Event::Reminder(ref r) => {
                self.customer_row(&r.customer_id)?;
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
            Event::Receipt(r) => self.ingest_receipt(r),
            Event::Cash(c) => self.ingest_cash(index, c, pending, undo),
        }
    }

    fn ingest_receipt(&mut self, r: ReceiptRec) -> Result<(), LedgerError> {
        self.check_currency(r.currency)?;
        if r.amount <= 0 {
            return Err(LedgerError::NonPositive(r.amount.to_string()));
        }
        if self.receipts.ids.find(&r.id).is_some() || self.sources.ids.find(&r.id).is_some() {
            return Err(LedgerError::DuplicateId(r.id));
        }
        let rc = &mut self.receipts;
        rc.ids.push(&r.id);
        rc.day.push(r.date.0);
        rc.amount.push(r.amount);
        rc.state.push(super::RECEIPT_OPEN);
        rc.decided.push(OPEN);
        rc.info.push(r);
        Ok(())
    }

    fn set_receipt_state(&mut self, row: u32, state: u8, day: i32, undo: &mut Undo) {
        let r = row as usize;
        undo.receipt_states
            .push((row, self.receipts.state[r], self.receipts.decided[r]));
        self.receipts.state[r] = state;
        self.receipts.decided[r] = day;
    }

    fn ingest_cash(
        &mut self,
        index: usize,
        c: CashRec,
        pending: &mut Vec<PendingAlloc>,
        undo: &mut Undo,
    ) -> Result<(), LedgerError> {
        use super::{
            CASH_APPLY, CASH_NOT_CUSTOMER, CASH_RETURNED, CASH_UNDO, CashRow, RECEIPT_APPLIED,
            RECEIPT_NOT_CUSTOMER, RECEIPT_OPEN, RECEIPT_RETURNED,
        };
        let receipt = self.receipts.ids.find(&c.receipt_id);
        let payment = match receipt {
            Some(_) => None,
            None => match self.sources.ids.find(&c.receipt_id) {
                Some(s) if self.sources.kind[s as usize] == SRC_PAYMENT => Some(s),
                _ => return Err(LedgerError::UnknownSource(c.receipt_id.clone())),
            },
        };
        let state = receipt.map(|r| self.receipts.state[r as usize]);
        let rule = CASH_RULES
            .iter()
            .position(|x| *x == c.rule)
            .unwrap_or(CASH_RULES.len() - 1) as u8;
        let author = self.agents.code(c.author.as_deref().unwrap_or(""));
        let mut row = CashRow {
            receipt: receipt.unwrap_or(u32::MAX),
            source: u32::MAX,
            day: c.date.0,
            kind: CASH_APPLY,
            rule,
            confidence: c.confidence,
            author,
            applied: 0,
            write_off: 0,
        };
        let refused = |expected: &str| LedgerError::Field {
            field: "receipt_id",
            value: c.receipt_id.clone(),
            expected: expected.to_string(),
        };
        match c.decision {
            Decision::Apply {
                customer_id,
                invoices,
                write_off,
            } => {
                let cust = self.customer_row(&customer_id)?;
                let total: i64 = invoices.iter().map(|x| x.1).sum();
                if invoices.iter().any(|x| x.1 <= 0) || write_off < 0 {
                    return Err(LedgerError::NonPositive(
                        "an amount applied to an invoice".into(),
                    ));
                }
                let (src, day, available) = match (receipt, payment) {
                    (Some(r), _) => {
                        if state != Some(RECEIPT_OPEN) {
                            return Err(refused(
                                "a receipt waiting for application (undo its decision first)",
                            ));
                        }
                        let ru = r as usize;
                        let (day, amount) = (self.receipts.day[ru], self.receipts.amount[ru]);
                        self.check_new_id(&c.receipt_id, true)?;
                        let src = self.push_source(&c.receipt_id, SRC_PAYMENT, cust, day, amount);
                        self.set_receipt_state(r, RECEIPT_APPLIED, c.date.0, undo);
                        (src, day, amount)
                    }
                    (None, Some(s)) => {
                        let su = s as usize;
                        if self.sources.customer[su] != cust {
                            return Err(LedgerError::CrossCustomer {
                                source_id: c.receipt_id.clone(),
                                source_customer: self
                                    .customers
                                    .ids
                                    .get(self.sources.customer[su])
                                    .to_string(),
                                invoice_id: invoices
                                    .first()
                                    .map(|x| x.0.clone())
                                    .unwrap_or_default(),
                                invoice_customer: customer_id,
                            });
                        }
                        // Cash left unapplied is allocated on the day of the decision.
                        let left = self.sources.remaining.get(su, self.sources.amount[su]);
                        (s, c.date.0.max(self.sources.day[su]), left)
                    }
                    (None, None) => unreachable!("checked above"),
                };
                if total > available {
                    return Err(LedgerError::Field {
                        field: "amount",
                        value: total.to_string(),
                        expected: format!("at most the {available} minor units left to apply"),
                    });
                }
                let mut last = None;
                for (inv, amount) in invoices {
                    // A payment received before its invoice is allocated once the invoice exists.
                    let d = self
                        .invoices
                        .ids
                        .find(&inv)
                        .map_or(day, |i| day.max(self.invoices.issue[i as usize]));
                    let seq = self.seq();
                    last = Some((inv.clone(), d));
                    pending.push(PendingAlloc {
                        event: index,
                        src,
                        invoice_id: inv,
                        day: d,
                        amount,
                        seq,
                    });
                }
                if write_off > 0 {
                    let Some((inv, d)) = last else {
                        return Err(LedgerError::Field {
                            field: "write_off",
                            value: write_off.to_string(),
                            expected: "an invoice to write the difference off on".into(),
                        });
                    };
                    let id = format!("{}~wo", c.receipt_id);
                    self.check_new_id(&id, true)?;
                    let wo = self.push_source(&id, SRC_WRITEOFF, cust, d, write_off);
                    let seq = self.seq();
                    pending.push(PendingAlloc {
                        event: index,
                        src: wo,
                        invoice_id: inv,
                        day: d,
                        amount: write_off,
                        seq,
                    });
                }
                row.source = src;
                row.applied = total;
                row.write_off = write_off;
            }
            Decision::NotCustomer => {
                let Some(r) = receipt.filter(|_| state == Some(RECEIPT_OPEN)) else {
                    return Err(refused("a bank receipt waiting for application"));
                };
                self.set_receipt_state(r, RECEIPT_NOT_CUSTOMER, c.date.0, undo);
                row.kind = CASH_NOT_CUSTOMER;
            }
            Decision::Undo | Decision::Returned => {
                let returned = c.decision == Decision::Returned;
                row.kind = if returned { CASH_RETURNED } else { CASH_UNDO };
                let applied = match receipt {
                    Some(_) => state == Some(RECEIPT_APPLIED),
                    None => self.cash.iter().any(|x| {
                        x.kind == CASH_APPLY && x.receipt == u32::MAX && payment == Some(x.source)
                    }),
                };
                if applied && !self.replaying {
                    // Allocations are never taken back one by one: the ledger is read again
                    // without the application (see `Snapshot::build`).
                    return Err(LedgerError::Rebuild(c.receipt_id));
                }
                match receipt {
                    Some(r) if returned && state != Some(RECEIPT_RETURNED) => {
                        self.set_receipt_state(r, RECEIPT_RETURNED, c.date.0, undo);
                    }
                    Some(r) if !returned && state != Some(RECEIPT_OPEN) => {
                        self.set_receipt_state(r, RECEIPT_OPEN, OPEN, undo);
                    }
                    Some(_) if !returned && state == Some(RECEIPT_OPEN) && !self.replaying => {
                        return Err(refused("a receipt with a decision to undo"));
                    }
                    _ => {}
                }
            }
        }
        self.cash.push(row);
        Ok(())
    }

    /// Adds the event's amount to the ledger's gross volume, refusing it past
    /// [`crate::bounds::GROSS_LIMIT`]: then no sum of amounts can overflow.
    fn add_gross(&mut self, ev: &Event) -> Result<(), LedgerError> {
        let amount = match ev {
            Event::Customer(c) => c.credit_limit.unwrap_or(0),
            Event::Document(d) => d.amount,
            Event::Payment(p) => p.amount,
            Event::Allocation(a) => a.amount,
            Event::Dispute(d) => d.amount.unwrap_or(0),
            Event::Promise(p) => p.amount,
            Event::Amend(AmendRec {
                change: Change::Customer(c),
                ..
            }) => c.credit_limit.unwrap_or(0),
            Event::Receipt(r) => r.amount,
            Event::Cash(c) => match &c.decision {
                Decision::Apply {
                    invoices,
                    write_off,
                    ..
                } => invoices
                    .iter()
                    .fold(*write_off, |a, x| a.saturating_add(x.1.abs())),
                _ => 0,
            },
            Event::Action(_)
            | Event::Rate(_)
            | Event::Amend(_)
            | Event::Followup(_)
            | Event::Reminder(_) => 0,
        };
        let gross = self.gross + (amount as i128).abs();
        if gross > crate::bounds::GROSS_LIMIT {
            return Err(LedgerError::Field {
                field: "amount",
                value: amount.to_string(),
                expected: format!(
                    "an amount keeping the ledger's total volume under 2^62 minor units (it holds {} already)",
                    self.gross
                ),
            });
        }
        self.gross = gross;
        Ok(())
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
                Event::Followup(f) => {
                    Resolved::Followup(self.customer_row(&f.customer_id).map_err(err)?, f.clone())
                }
                Event::Reminder(r) => self.resolve_reminder(r, &others).map_err(err)?,
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
                        outcome,
                        comment,
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
                        Resolved::Resolve(
                            inv,
                            resolved_on.0,
                            choice(outcome, &RESOLUTIONS),
                            comment.clone(),
                        )
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
        self.gross = undo.gross;
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
        for (row, state, decided) in undo.receipt_states.into_iter().rev() {
            self.receipts.state[row as usize] = state;
            self.receipts.decided[row as usize] = decided;
        }
        let r = &mut self.receipts;
        let n = undo.receipts;
        r.ids.truncate(n);
        r.day.truncate(n);
        r.amount.truncate(n);
        r.info.truncate(n);
        r.state.truncate(n);
        r.decided.truncate(n);
        self.cash.truncate(undo.cash);
    }

    fn apply_others(&mut self, others: Vec<Resolved>) {
        let (nd, np, na) = (self.disputes.len(), self.promises.len(), self.actions.len());
        let mut resolves = Vec::new();
        for r in others {
            match r {
                Resolved::Dispute(inv, d) => {
                    let reason = self.reasons.code(d.reason.as_deref().unwrap_or(""));
                    let owner = self.agents.code(d.owner.as_deref().unwrap_or(""));
                    self.disputes.push(Dispute {
                        invoice: inv,
                        opened: d.opened_on.0,
                        resolved: d.resolved_on.map_or(i32::MAX, |r| r.0),
                        reason,
                        amount: d.amount.unwrap_or(0),
                        owner,
                        outcome: 0,
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
                    if let Some(n) = a.note.filter(|n| !n.is_empty()) {
                        self.action_notes.insert(self.actions.len() as u32, n);
                    }
                    self.actions.push(Action {
                        customer: cust,
                        day: a.date.0,
                        kind,
                        agent,
                        invoice: inv.unwrap_or(NO_INVOICE),
                        outcome: choice(&a.outcome, &OUTCOMES),
                    });
                }
                Resolved::Rate(r) => self.rates.push(r),
                Resolved::Followup(c, f) => self.followups.push((c, f)),
                Resolved::Reminder(row) => self.apply_reminder(row),
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
                Resolved::Resolve(inv, day, outcome, comment) => {
                    resolves.push((inv, day, outcome, comment))
                }
            }
        }
        if self.disputes.len() != nd {
            self.dispute_ix = order_by_invoice(self.disputes.iter().map(|d| d.invoice));
        }
        for (inv, day, outcome, comment) in resolves {
            let rows: Vec<usize> = self.disputes_of(inv).collect();
            for r in rows {
                let d = &mut self.disputes[r];
                if d.resolved == i32::MAX && d.opened <= day {
                    d.resolved = day;
                    d.outcome = outcome;
                    if let Some(c) = comment.clone().filter(|c| !c.is_empty()) {
                        self.dispute_comments.insert(r as u32, c);
                    }
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
}

/// 1 + the index of `v` in `allowed` (checked by the bounds), 0 when absent.
fn choice(v: &Option<String>, allowed: &[&str]) -> u8 {
    v.as_deref()
        .and_then(|x| allowed.iter().position(|a| *a == x))
        .map_or(0, |k| k as u8 + 1)
}

enum Resolved {
    Due(u32, i32),
    Legal(u32, bool),
    Resolve(u32, i32, u8, Option<String>),
    Dispute(u32, DisputeRec),
    Promise(u32, PromiseRec),
    Action(u32, Option<u32>, ActionRec),
    Rate(RateRec),
    Followup(u32, FollowupRec),
    Reminder(ReminderChange),
}

/// A checked reminder event: a new row, or a status for an existing (or batch-earlier) one.
enum ReminderChange {
    /// The row, and its author's name (coded when applied).
    New(Box<super::Reminder>, Option<String>),
    Status(StatusChange),
}

struct StatusChange {
    id: String,
    status: u8,
    day: i32,
    message_id: Option<String>,
    attempt: u16,
    error: Option<String>,
    reason: Option<String>,
}

impl Snapshot {
    fn resolve_reminder(
        &self,
        r: &ReminderRec,
        others: &[Resolved],
    ) -> Result<Resolved, LedgerError> {
        use super::{REMINDER_FAILED, REMINDER_QUEUED, REMINDER_SENT, REMINDER_SKIPPED};
        let customer = self.customer_row(&r.customer_id)?;
        // The status the reminder has, counting this batch's earlier events.
        let mut current = self.reminders.find(&r.id).map(|x| (x.customer, x.status));
        for o in others {
            match o {
                Resolved::Reminder(ReminderChange::New(x, _)) if x.id == r.id => {
                    current = Some((x.customer, x.status))
                }
                Resolved::Reminder(ReminderChange::Status(x)) if x.id == r.id => {
                    if let Some(c) = current.as_mut() {
                        c.1 = x.status;
                    }
                }
                _ => {}
            }
        }
        if current.is_some_and(|(c, _)| c != customer) {
            return Err(LedgerError::Field {
                field: "customer_id",
                value: r.customer_id.clone(),
                expected: format!("the customer of reminder {:?}", r.id),
            });
        }
        let status = |status: u8| StatusChange {
            id: r.id.clone(),
            status,
            day: r.date.0,
            message_id: None,
            attempt: 0,
            error: None,
            reason: None,
        };
        let change = match &r.status {
            ReminderStatus::Queued(c) => {
                if current.is_some() {
                    return Err(LedgerError::DuplicateId(r.id.clone()));
                }
                let mut lines = Vec::with_capacity(c.lines.len());
                let mut amount: i64 = 0;
                for (inv, open, step) in &c.lines {
                    let i = self.invoice_row(inv)?;
                    if self.invoices.customer[i as usize] != customer {
                        return Err(LedgerError::Field {
                            field: "invoice_id",
                            value: inv.clone(),
                            expected: format!("an invoice of customer {:?}", r.customer_id),
                        });
                    }
                    amount = amount.saturating_add(*open);
                    lines.push((i, *open, *step));
                }
                let channel = CHANNELS
                    .iter()
                    .position(|x| *x == c.channel)
                    .ok_or_else(|| LedgerError::Field {
                        field: "channel",
                        value: c.channel.clone(),
                        expected: format!("one of {}", CHANNELS.join(", ")),
                    })? as u8;
                ReminderChange::New(
                    Box::new(super::Reminder {
                        id: r.id.clone(),
                        customer,
                        day: r.date.0,
                        scenario: c.scenario.clone(),
                        step: c.step,
                        channel,
                        lines,
                        amount,
                        author: 0,
                        recipient: c.recipient.clone(),
                        status: REMINDER_QUEUED,
                        status_day: r.date.0,
                        message_id: None,
                        attempts: 0,
                        error: None,
                        skip_reason: None,
                    }),
                    c.author.clone(),
                )
            }
            ReminderStatus::Skipped { reason } => match current {
                Some((_, REMINDER_SENT)) => {
                    return Err(LedgerError::Invalid(format!(
                        "reminder {:?} has been sent (expected one not sent yet to skip)",
                        r.id
                    )));
                }
                Some(_) => ReminderChange::Status(StatusChange {
                    reason: reason.clone(),
                    ..status(REMINDER_SKIPPED)
                }),
                None => ReminderChange::New(
                    Box::new(super::Reminder {
                        id: r.id.clone(),
                        customer,
                        day: r.date.0,
                        scenario: String::new(),
                        step: 0,
                        channel: 0,
                        lines: Vec::new(),
                        amount: 0,
                        author: 0,
                        recipient: None,
                        status: REMINDER_SKIPPED,
                        status_day: r.date.0,
                        message_id: None,
                        attempts: 0,
                        error: None,
                        skip_reason: reason.clone(),
                    }),
                    None,
                ),
            },
            ReminderStatus::Sent { message_id } => match current {
                Some((_, REMINDER_QUEUED | REMINDER_FAILED)) => {
                    ReminderChange::Status(StatusChange {
                        message_id: Some(message_id.clone()),
                        ..status(REMINDER_SENT)
                    })
                }
                _ => {
                    return Err(LedgerError::Invalid(format!(
                        "reminder {:?} is not waiting to be sent (expected a queued reminder)",
                        r.id
                    )));
                }
            },
            ReminderStatus::Failed { attempt, error } => match current {
                Some((_, REMINDER_QUEUED | REMINDER_FAILED)) => {
                    ReminderChange::Status(StatusChange {
                        attempt: *attempt,
                        error: Some(error.clone()),
                        ..status(REMINDER_FAILED)
                    })
                }
                _ => {
                    return Err(LedgerError::Invalid(format!(
                        "reminder {:?} is not waiting to be sent (expected a queued reminder)",
                        r.id
                    )));
                }
            },
        };
        Ok(Resolved::Reminder(change))
    }

    fn apply_reminder(&mut self, change: ReminderChange) {
        match change {
            ReminderChange::New(mut row, author) => {
                if let Some(a) = author {
                    row.author = self.agents.code(&a);
                }
                let k = self.reminders.rows.len() as u32;
                self.reminders.ids.insert(row.id.clone(), k);
                self.reminders.rows.push(*row);
            }
            ReminderChange::Status(StatusChange {
                id,
                status,
                day,
                message_id,
                attempt,
                error,
                reason,
            }) => {
                let Some(&k) = self.reminders.ids.get(&id) else {
                    return;
                };
                let row = &mut self.reminders.rows[k as usize];
                row.status = status;
                row.status_day = day;
                if message_id.is_some() {
                    row.message_id = message_id;
                }
                if attempt > 0 {
                    row.attempts = attempt;
                }
                if error.is_some() {
                    row.error = error;
                }
                if reason.is_some() {
                    row.skip_reason = reason;
                }
            }
        }
    }
}
