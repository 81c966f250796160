//! The stored form of an event: a kind number and one line of tab-separated fields.
//!
//! Dates are ISO, amounts integer minor units, text escaped (`\\`, `\t`, `\n`, `\r`), an absent
//! optional value an empty field, attributes trailing name/value pairs. The form is canonical:
//! equal events encode to equal text, which is what import synchronisation compares.

use crate::date::Day;
use crate::ledger::*;
use crate::money::Currency;
use std::fmt::Write;

pub const CUSTOMER: i16 = 1;
pub const DOCUMENT: i16 = 2;
pub const PAYMENT: i16 = 3;
pub const ALLOCATION: i16 = 4;
pub const DISPUTE: i16 = 5;
pub const PROMISE: i16 = 6;
pub const ACTION: i16 = 7;
pub const RATE: i16 = 8;
pub const AMEND: i16 = 9;
pub const FOLLOWUP: i16 = 10;
pub const RECEIPT: i16 = 11;
pub const CASH: i16 = 12;
pub const REMINDER: i16 = 13;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored event of kind {kind} is malformed: {message}")]
pub struct CodecError {
    pub kind: i16,
    pub message: String,
}

pub fn kind_of(ev: &Event) -> i16 {
    match ev {
        Event::Customer(_) => CUSTOMER,
        Event::Document(_) => DOCUMENT,
        Event::Payment(_) => PAYMENT,
        Event::Allocation(_) => ALLOCATION,
        Event::Dispute(_) => DISPUTE,
        Event::Promise(_) => PROMISE,
        Event::Action(_) => ACTION,
        Event::Rate(_) => RATE,
        Event::Amend(_) => AMEND,
        Event::Followup(_) => FOLLOWUP,
        Event::Receipt(_) => RECEIPT,
        Event::Cash(_) => CASH,
        Event::Reminder(_) => REMINDER,
    }
}

struct Out(String, bool);

impl Out {
    fn sep(&mut self) {
        // Every field after the first is preceded by a tab, empty first fields included.
        if self.1 {
            self.0.push('\t');
        }
        self.1 = true;
    }
    fn text(&mut self, s: &str) -> &mut Self {
        self.sep();
        for c in s.chars() {
            match c {
                '\\' => self.0.push_str("\\\\"),
                '\t' => self.0.push_str("\\t"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                c => self.0.push(c),
            }
        }
        self
    }
    fn opt(&mut self, s: Option<&str>) -> &mut Self {
        self.text(s.unwrap_or(""))
    }
    /// Optional fields added to a kind later: written up to the last present one, so an event
    /// without them encodes as it always did.
    fn tail(&mut self, fields: &[Option<&str>]) -> &mut Self {
        let n = fields
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |k| k + 1);
        for f in &fields[..n] {
            self.opt(*f);
        }
        self
    }
    fn int(&mut self, v: i64) -> &mut Self {
        self.sep();
        let _ = write!(self.0, "{v}");
        self
    }
    fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        self.sep();
        if let Some(v) = v {
            let _ = write!(self.0, "{v}");
        }
        self
    }
    fn day(&mut self, d: Day) -> &mut Self {
        self.sep();
        let _ = write!(self.0, "{d}");
        self
    }
    fn opt_day(&mut self, d: Option<Day>) -> &mut Self {
        self.sep();
        if let Some(d) = d {
            let _ = write!(self.0, "{d}");
        }
        self
    }
    fn cur(&mut self, c: Option<Currency>) -> &mut Self {
        self.opt(c.as_ref().map(|c| c.code()))
    }
    fn flag(&mut self, b: bool) -> &mut Self {
        self.text(if b { "1" } else { "0" })
    }
    fn attrs(&mut self, attrs: &[(String, String)]) -> &mut Self {
        for (k, v) in attrs {
            self.text(k).text(v);
        }
        self
    }
}

fn customer(o: &mut Out, c: &CustomerRec) {
    o.text(&c.id)
        .text(&c.name)
        .opt_int(c.credit_limit)
        .opt_int(c.payment_terms_days.map(i64::from))
        .attrs(&c.attrs);
}

/// The kind number and payload of an event.
pub fn encode(ev: &Event) -> (i16, String) {
    let mut o = Out(String::with_capacity(96), false);
    match ev {
        Event::Customer(c) => customer(&mut o, c),
        Event::Document(d) => {
            o.text(&d.id)
                .text(&d.customer_id)
                .text(match d.kind {
                    DocKind::Invoice => "invoice",
                    DocKind::CreditNote => "credit_note",
                    DocKind::WriteOff => "write_off",
                })
                .day(d.issue)
                .opt_day(d.due)
                .int(d.amount)
                .cur(d.currency)
                .opt(d.original_invoice_id.as_deref())
                .flag(d.disputed)
                .opt(d.dispute_reason.as_deref())
                .flag(d.in_legal)
                .attrs(&d.attrs);
        }
        Event::Payment(p) => {
            o.text(&p.id)
                .text(&p.customer_id)
                .day(p.date)
                .int(p.amount)
                .cur(p.currency)
                .opt(p.invoice_id.as_deref())
                .opt(p.reference.as_deref());
        }
        Event::Allocation(a) => {
            o.text(&a.source_id)
                .text(&a.invoice_id)
                .day(a.date)
                .int(a.amount);
        }
        Event::Dispute(d) => {
            o.text(&d.invoice_id)
                .day(d.opened_on)
                .opt_day(d.resolved_on)
                .opt(d.reason.as_deref())
                .opt_int(d.amount)
                .tail(&[d.owner.as_deref()]);
        }
        Event::Promise(p) => {
            o.text(&p.invoice_id)
                .day(p.promised_on)
                .day(p.due_on)
                .int(p.amount);
        }
        Event::Action(a) => {
            o.text(&a.customer_id)
                .day(a.date)
                .text(&a.kind)
                .opt(a.invoice_id.as_deref())
                .opt(a.agent.as_deref())
                .opt(a.note.as_deref())
                .tail(&[a.outcome.as_deref()]);
        }
        Event::Rate(r) => {
            o.day(r.date).cur(Some(r.currency)).int(r.rate_e9);
        }
        Event::Followup(f) => {
            o.text(&f.customer_id)
                .day(f.date)
                .opt_day(f.next_action)
                .opt_day(f.hold_until)
                .opt(f.hold_reason.as_deref())
                .opt(f.contact_name.as_deref())
                .opt(f.contact_role.as_deref())
                .opt(f.contact_email.as_deref())
                .opt(f.contact_phone.as_deref());
        }
        Event::Receipt(r) => {
            o.text(&r.id)
                .day(r.date)
                .int(r.amount)
                .cur(r.currency)
                .opt(r.payer_name.as_deref())
                .opt(r.payer_iban.as_deref())
                .opt(r.remittance.as_deref())
                .opt(r.creditor_ref.as_deref())
                .opt(r.bank_ref.as_deref())
                .opt(r.account.as_deref());
        }
        Event::Cash(c) => {
            o.text(&c.receipt_id)
                .day(c.date)
                .text(&c.rule)
                .int(i64::from(c.confidence))
                .opt(c.author.as_deref());
            match &c.decision {
                Decision::Apply {
                    customer_id,
                    invoices,
                    write_off,
                } => {
                    o.text("apply").text(customer_id).int(*write_off);
                    for (inv, amount) in invoices {
                        o.text(inv).int(*amount);
                    }
                }
                Decision::NotCustomer => {
                    o.text("not_customer");
                }
                Decision::Undo => {
                    o.text("undo");
                }
                Decision::Returned => {
                    o.text("returned");
                }
            }
        }
        Event::Reminder(r) => {
            o.text(&r.id).text(&r.customer_id).day(r.date);
            match &r.status {
                ReminderStatus::Queued(c) => {
                    o.text("queued")
                        .text(&c.scenario)
                        .int(i64::from(c.step))
                        .text(&c.channel)
                        .opt(c.author.as_deref())
                        .opt(c.recipient.as_deref());
                    for (inv, open, step) in &c.lines {
                        o.text(inv).int(*open).int(i64::from(*step));
                    }
                }
                ReminderStatus::Sent { message_id } => {
                    o.text("sent").text(message_id);
                }
                ReminderStatus::Failed { attempt, error } => {
                    o.text("failed").int(i64::from(*attempt)).text(error);
                }
                ReminderStatus::Skipped { reason } => {
                    o.text("skipped").opt(reason.as_deref());
                }
            }
        }
        Event::Amend(a) => {
            o.day(a.effective);
            match &a.change {
                Change::DueDate { document_id, due } => {
                    o.text("due_date").text(document_id).day(*due);
                }
                Change::InLegal {
                    document_id,
                    in_legal,
                } => {
                    o.text("in_legal").text(document_id).flag(*in_legal);
                }
                Change::DisputeResolved {
                    invoice_id,
                    resolved_on,
                    outcome,
                    comment,
                } => {
                    o.text("dispute_resolved")
                        .text(invoice_id)
                        .day(*resolved_on)
                        .tail(&[outcome.as_deref(), comment.as_deref()]);
                }
                Change::Customer(c) => {
                    o.text("customer");
                    customer(&mut o, c);
                }
            }
        }
    }
    (kind_of(ev), o.0)
}

struct In<'a> {
    kind: i16,
    fields: std::str::Split<'a, char>,
}

impl<'a> In<'a> {
    fn err(&self, message: impl Into<String>) -> CodecError {
        CodecError {
            kind: self.kind,
            message: message.into(),
        }
    }
    fn raw(&mut self) -> Result<&'a str, CodecError> {
        let k = self.kind;
        self.fields.next().ok_or(CodecError {
            kind: k,
            message: "missing field".into(),
        })
    }
    fn text(&mut self) -> Result<String, CodecError> {
        let r = self.raw()?;
        Ok(unescape(r))
    }
    fn opt(&mut self) -> Result<Option<String>, CodecError> {
        let r = self.raw()?;
        Ok((!r.is_empty()).then(|| unescape(r)))
    }
    /// A field of [`Out::tail`]: absent in events stored before it existed.
    fn tail(&mut self) -> Option<String> {
        self.fields.next().filter(|r| !r.is_empty()).map(unescape)
    }
    fn int(&mut self) -> Result<i64, CodecError> {
        let r = self.raw()?;
        r.parse().map_err(|_| self.err(format!("bad number {r:?}")))
    }
    fn opt_int(&mut self) -> Result<Option<i64>, CodecError> {
        let r = self.raw()?;
        if r.is_empty() {
            return Ok(None);
        }
        r.parse()
            .map(Some)
            .map_err(|_| self.err(format!("bad number {r:?}")))
    }
    fn day(&mut self) -> Result<Day, CodecError> {
        let r = self.raw()?;
        Day::parse_iso(r).map_err(|e| self.err(e.to_string()))
    }
    fn opt_day(&mut self) -> Result<Option<Day>, CodecError> {
        let r = self.raw()?;
        if r.is_empty() {
            return Ok(None);
        }
        Day::parse_iso(r)
            .map(Some)
            .map_err(|e| self.err(e.to_string()))
    }
    fn cur(&mut self) -> Result<Option<Currency>, CodecError> {
        let r = self.raw()?;
        if r.is_empty() {
            return Ok(None);
        }
        Currency::parse(r)
            .map(Some)
            .map_err(|e| self.err(e.to_string()))
    }
    fn flag(&mut self) -> Result<bool, CodecError> {
        Ok(self.raw()? == "1")
    }
    fn attrs(&mut self) -> Result<Vec<(String, String)>, CodecError> {
        let mut v = Vec::new();
        while let Some(k) = self.fields.next() {
            let val = self.raw()?;
            v.push((unescape(k), unescape(val)));
        }
        Ok(v)
    }
    fn customer(&mut self) -> Result<CustomerRec, CodecError> {
        Ok(CustomerRec {
            id: self.text()?,
            name: self.text()?,
            credit_limit: self.opt_int()?,
            payment_terms_days: self.opt_int()?.map(|v| v as i32),
            attrs: self.attrs()?,
        })
    }
}

fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
    }
    out
}

/// The event stored as `kind` and `payload`.
pub fn decode(kind: i16, payload: &str) -> Result<Event, CodecError> {
    let mut i = In {
        kind,
        fields: payload.split('\t'),
    };
    Ok(match kind {
        CUSTOMER => Event::Customer(i.customer()?),
        DOCUMENT => Event::Document(DocumentRec {
            id: i.text()?,
            customer_id: i.text()?,
            kind: {
                let k = i.raw()?;
                DocKind::parse(k).ok_or_else(|| i.err(format!("bad document type {k:?}")))?
            },
            issue: i.day()?,
            due: i.opt_day()?,
            amount: i.int()?,
            currency: i.cur()?,
            original_invoice_id: i.opt()?,
            disputed: i.flag()?,
            dispute_reason: i.opt()?,
            in_legal: i.flag()?,
            attrs: i.attrs()?,
        }),
        PAYMENT => Event::Payment(PaymentRec {
            id: i.text()?,
            customer_id: i.text()?,
            date: i.day()?,
            amount: i.int()?,
            currency: i.cur()?,
            invoice_id: i.opt()?,
            reference: i.opt()?,
        }),
        ALLOCATION => Event::Allocation(AllocationRec {
            source_id: i.text()?,
            invoice_id: i.text()?,
            date: i.day()?,
            amount: i.int()?,
        }),
        DISPUTE => Event::Dispute(DisputeRec {
            invoice_id: i.text()?,
            opened_on: i.day()?,
            resolved_on: i.opt_day()?,
            reason: i.opt()?,
            amount: i.opt_int()?,
            owner: i.tail(),
        }),
        PROMISE => Event::Promise(PromiseRec {
            invoice_id: i.text()?,
            promised_on: i.day()?,
            due_on: i.day()?,
            amount: i.int()?,
        }),
        ACTION => Event::Action(ActionRec {
            customer_id: i.text()?,
            date: i.day()?,
            kind: i.text()?,
            invoice_id: i.opt()?,
            agent: i.opt()?,
            note: i.opt()?,
            outcome: i.tail(),
        }),
        FOLLOWUP => Event::Followup(FollowupRec {
            customer_id: i.text()?,
            date: i.day()?,
            next_action: i.opt_day()?,
            hold_until: i.opt_day()?,
            hold_reason: i.opt()?,
            contact_name: i.opt()?,
            contact_role: i.opt()?,
            contact_email: i.opt()?,
            contact_phone: i.opt()?,
        }),
        RECEIPT => Event::Receipt(ReceiptRec {
            id: i.text()?,
            date: i.day()?,
            amount: i.int()?,
            currency: i.cur()?,
            payer_name: i.opt()?,
            payer_iban: i.opt()?,
            remittance: i.opt()?,
            creditor_ref: i.opt()?,
            bank_ref: i.opt()?,
            account: i.opt()?,
        }),
        CASH => {
            let receipt_id = i.text()?;
            let date = i.day()?;
            let rule = i.text()?;
            let confidence = u8::try_from(i.int()?).map_err(|_| i.err("bad confidence"))?;
            let author = i.opt()?;
            let tag = i.raw()?.to_string();
            let decision = match tag.as_str() {
                "apply" => {
                    let customer_id = i.text()?;
                    let write_off = i.int()?;
                    let mut invoices = Vec::new();
                    while let Some(inv) = i.fields.next() {
                        invoices.push((unescape(inv), i.int()?));
                    }
                    Decision::Apply {
                        customer_id,
                        invoices,
                        write_off,
                    }
                }
                "not_customer" => Decision::NotCustomer,
                "undo" => Decision::Undo,
                "returned" => Decision::Returned,
                other => return Err(i.err(format!("unknown decision {other:?}"))),
            };
            Event::Cash(CashRec {
                receipt_id,
                date,
                decision,
                rule,
                confidence,
                author,
            })
        }
        REMINDER => {
            let id = i.text()?;
            let customer_id = i.text()?;
            let date = i.day()?;
            let tag = i.raw()?.to_string();
            let small = |i: &mut In, what: &str| -> Result<u16, CodecError> {
                u16::try_from(i.int()?).map_err(|_| i.err(format!("bad {what}")))
            };
            let status = match tag.as_str() {
                "queued" => {
                    let scenario = i.text()?;
                    let step = small(&mut i, "step")?;
                    let channel = i.text()?;
                    let author = i.opt()?;
                    let recipient = i.opt()?;
                    let mut lines = Vec::new();
                    while let Some(inv) = i.fields.next() {
                        let open = i.int()?;
                        lines.push((unescape(inv), open, small(&mut i, "step")?));
                    }
                    ReminderStatus::Queued(ReminderContent {
                        scenario,
                        step,
                        channel,
                        lines,
                        author,
                        recipient,
                    })
                }
                "sent" => ReminderStatus::Sent {
                    message_id: i.text()?,
                },
                "failed" => ReminderStatus::Failed {
                    attempt: small(&mut i, "attempt")?,
                    error: i.text()?,
                },
                "skipped" => ReminderStatus::Skipped { reason: i.opt()? },
                other => return Err(i.err(format!("unknown reminder status {other:?}"))),
            };
            Event::Reminder(ReminderRec {
                id,
                customer_id,
                date,
                status,
            })
        }
        RATE => Event::Rate(RateRec {
            date: i.day()?,
            currency: i.cur()?.ok_or_else(|| i.err("missing currency"))?,
            rate_e9: i.int()?,
        }),
        AMEND => {
            let effective = i.day()?;
            let tag = i.raw()?.to_string();
            let change = match tag.as_str() {
                "due_date" => Change::DueDate {
                    document_id: i.text()?,
                    due: i.day()?,
                },
                "in_legal" => Change::InLegal {
                    document_id: i.text()?,
                    in_legal: i.flag()?,
                },
                "dispute_resolved" => Change::DisputeResolved {
                    invoice_id: i.text()?,
                    resolved_on: i.day()?,
                    outcome: i.tail(),
                    comment: i.tail(),
                },
                "customer" => Change::Customer(i.customer()?),
                other => return Err(i.err(format!("unknown amendment {other:?}"))),
            };
            Event::Amend(AmendRec { effective, change })
        }
        other => return Err(i.err(format!("unknown kind {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Events stored before a kind gained its later fields read as before, and encode to the
    /// same text (import synchronisation compares encodings).
    #[test]
    fn events_stored_before_later_fields_read_the_same() {
        for (kind, old) in [
            (ACTION, "C1\t2024-03-02\tcall\tF5\tCamille\tpromised half"),
            (DISPUTE, "F3\t2024-02-20\t\tprix\t"),
            (AMEND, "2024-06-30\tdispute_resolved\tF3\t2024-06-01"),
        ] {
            let ev = decode(kind, old).unwrap();
            assert_eq!(encode(&ev), (kind, old.to_string()));
        }
        let Event::Action(a) = decode(ACTION, "C1\t2024-03-02\tcall\t\t\t\treached").unwrap()
        else {
            panic!()
        };
        assert_eq!(a.outcome.as_deref(), Some("reached"));
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 \\t\\n\\\\éà=+-]{1,12}"
    }

    fn day() -> impl Strategy<Value = Day> {
        (0i32..30_000).prop_map(Day)
    }

    fn attrs() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec((text(), text()), 0..3)
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (
                text(),
                text(),
                proptest::option::of(1i64..1_000_000),
                proptest::option::of(0i32..120),
                attrs()
            )
                .prop_map(|(id, name, credit_limit, payment_terms_days, attrs)| {
                    Event::Customer(CustomerRec {
                        id,
                        name,
                        credit_limit,
                        payment_terms_days,
                        attrs,
                    })
                }),
            (
                text(),
                text(),
                0usize..3,
                day(),
                proptest::option::of(day()),
                1i64..1_000_000_000,
                proptest::option::of(text()),
                any::<bool>(),
                any::<bool>(),
                attrs()
            )
                .prop_map(
                    |(id, customer_id, k, issue, due, amount, orig, disputed, in_legal, attrs)| {
                        Event::Document(DocumentRec {
                            id,
                            customer_id,
                            kind: [DocKind::Invoice, DocKind::CreditNote, DocKind::WriteOff][k],
                            issue,
                            due,
                            amount,
                            currency: Some(Currency::parse("USD").unwrap()),
                            original_invoice_id: orig,
                            disputed,
                            dispute_reason: disputed.then(|| "prix".to_string()),
                            in_legal,
                            attrs,
                        })
                    }
                ),
            (
                text(),
                text(),
                day(),
                1i64..1_000_000,
                proptest::option::of(text())
            )
                .prop_map(
                    |(id, customer_id, date, amount, invoice_id)| Event::Payment(PaymentRec {
                        id,
                        customer_id,
                        date,
                        amount,
                        currency: None,
                        invoice_id,
                        reference: Some("VIR".into()),
                    })
                ),
            (
                text(),
                day(),
                proptest::option::of(day()),
                proptest::option::of(1i64..99),
                proptest::option::of(text())
            )
                .prop_map(|(invoice_id, opened_on, resolved_on, amount, owner)| {
                    Event::Dispute(DisputeRec {
                        invoice_id,
                        opened_on,
                        resolved_on,
                        reason: None,
                        amount,
                        owner,
                    })
                }),
            (
                text(),
                day(),
                text(),
                proptest::option::of(text()),
                proptest::option::of(text())
            )
                .prop_map(|(customer_id, date, kind, note, outcome)| Event::Action(
                    ActionRec {
                        customer_id,
                        date,
                        kind,
                        invoice_id: None,
                        agent: Some("Léa".into()),
                        note,
                        outcome,
                    }
                )),
            (
                text(),
                day(),
                proptest::option::of(day()),
                proptest::option::of(text()),
                proptest::option::of(text())
            )
                .prop_map(
                    |(customer_id, date, next_action, hold_reason, contact_email)| {
                        Event::Followup(FollowupRec {
                            customer_id,
                            date,
                            next_action,
                            hold_until: next_action,
                            hold_reason,
                            contact_email,
                            ..FollowupRec::default()
                        })
                    }
                ),
            (
                text(),
                day(),
                1i64..1_000_000,
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text())
            )
                .prop_map(
                    |(id, date, amount, payer_name, remittance, creditor_ref)| {
                        Event::Receipt(ReceiptRec {
                            id,
                            date,
                            amount,
                            payer_name,
                            remittance,
                            creditor_ref,
                            bank_ref: Some("B1".into()),
                            ..ReceiptRec::default()
                        })
                    }
                ),
            (
                text(),
                day(),
                0usize..4,
                text(),
                proptest::collection::vec((text(), 1i64..1_000_000), 0..3),
                0u8..=100,
                proptest::option::of(text())
            )
                .prop_map(
                    |(receipt_id, date, k, customer_id, invoices, confidence, author)| {
                        let decision = match k {
                            0 => Decision::Apply {
                                customer_id,
                                invoices,
                                write_off: 12,
                            },
                            1 => Decision::NotCustomer,
                            2 => Decision::Undo,
                            _ => Decision::Returned,
                        };
                        Event::Cash(CashRec {
                            receipt_id,
                            date,
                            decision,
                            rule: "manual".into(),
                            confidence,
                            author,
                        })
                    }
                ),
            (
                day(),
                text(),
                day(),
                proptest::option::of(text()),
                proptest::option::of(text())
            )
                .prop_map(|(effective, invoice_id, resolved_on, outcome, comment)| {
                    Event::Amend(AmendRec {
                        effective,
                        change: Change::DisputeResolved {
                            invoice_id,
                            resolved_on,
                            outcome,
                            comment,
                        },
                    })
                }),
            (
                text(),
                day(),
                0usize..4,
                proptest::collection::vec((text(), 1i64..1_000_000, 1u16..9), 1..3),
                proptest::option::of(text())
            )
                .prop_map(|(id, date, k, lines, reason)| {
                    let status = match k {
                        0 => ReminderStatus::Queued(ReminderContent {
                            scenario: "standard".into(),
                            step: 2,
                            channel: "email".into(),
                            lines,
                            author: reason.clone(),
                            recipient: Some("compta@client.fr".into()),
                        }),
                        1 => ReminderStatus::Sent {
                            message_id: "<r1@arpilot>".into(),
                        },
                        2 => ReminderStatus::Failed {
                            attempt: 3,
                            error: "421 try later".into(),
                        },
                        _ => ReminderStatus::Skipped { reason },
                    };
                    Event::Reminder(ReminderRec {
                        id,
                        customer_id: "C1".into(),
                        date,
                        status,
                    })
                }),
            (day(), text(), day()).prop_map(|(effective, document_id, due)| Event::Amend(
                AmendRec {
                    effective,
                    change: Change::DueDate { document_id, due },
                }
            )),
            (day(), text(), text()).prop_map(|(effective, id, name)| Event::Amend(AmendRec {
                effective,
                change: Change::Customer(CustomerRec {
                    id,
                    name,
                    credit_limit: None,
                    payment_terms_days: Some(45),
                    attrs: vec![("region".into(), "Nord".into())],
                }),
            })),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(ev in event()) {
            let (k, p) = encode(&ev);
            prop_assert!(!p.contains('\n'));
            prop_assert_eq!(decode(k, &p).unwrap(), ev);
        }
    }

    #[test]
    fn empty_first_field_keeps_its_place() {
        let ev = Event::Customer(CustomerRec {
            id: String::new(),
            name: "IR".into(),
            credit_limit: None,
            payment_terms_days: None,
            attrs: vec![],
        });
        let (k, p) = encode(&ev);
        assert_eq!(p, "\tIR\t\t");
        assert_eq!(decode(k, &p).unwrap(), ev);
    }

    #[test]
    fn fixed_layout() {
        let ev = Event::Allocation(AllocationRec {
            source_id: "P1".into(),
            invoice_id: "F\t1".into(),
            date: Day::parse_iso("2024-03-01").unwrap(),
            amount: 12_345,
        });
        assert_eq!(
            encode(&ev),
            (ALLOCATION, "P1\tF\\t1\t2024-03-01\t12345".into())
        );
    }
}
