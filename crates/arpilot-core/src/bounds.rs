//! What the ledger accepts: bounds on every amount, date, id and text of an event, checked when
//! the event enters a snapshot, whatever its source (file, upload, push, form).
//!
//! The bounds keep every figure computable: with each amount at most [`MAX_AMOUNT`] and the
//! ledger's gross volume at most [`GROSS_LIMIT`], every sum a kernel forms of amounts fits in an
//! `i64` (products with day counts are taken in `i128`); ids and texts are short and free of
//! control and bidirectional-override characters, so they cannot break a page, a spreadsheet
//! cell or a line of a log.

use crate::date::Day;
use crate::ledger::*;
use crate::money::{MAX_AMOUNT, format_minor};

/// Largest sum of the absolute amounts of a ledger (documents, payments, allocations, promises
/// and disputes, in the snapshot's currency): 2^62 minor units, 46 quadrillion euros. Every
/// partial sum is below it, so `i64` sums cannot overflow.
pub const GROSS_LIMIT: i128 = 1 << 62;

/// Longest id (customer, document, payment), in characters.
pub const MAX_ID_CHARS: usize = 100;
/// Longest name, reason, kind, agent, reference or custom field value, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest note of an action, in characters.
pub const MAX_NOTE_CHARS: usize = 4_000;
/// Longest custom field name, in characters.
pub const MAX_FIELD_NAME_CHARS: usize = 64;
/// Most custom fields on one customer or document.
pub const MAX_FIELDS: usize = 64;
/// Longest payment terms, in days (ten years).
pub const MAX_TERMS_DAYS: i32 = 3_650;
/// Largest exchange rate: a million units of reporting currency per unit, scaled by 10^9.
/// Most invoices one cash application may settle.
pub const MAX_CASH_INVOICES: usize = 1_000;
/// Invoices one reminder may cover.
pub const MAX_REMINDER_LINES: usize = 10_000;
pub const MAX_RATE_E9: i64 = 1_000_000 * 1_000_000_000;

/// Characters that reorder text on screen (U+202A–U+202E, U+2066–U+2069) or are invisible
/// direction marks (U+200E, U+200F, U+061C): they make an id display as another.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A value shown in an error: quoted, escaped and cut to 40 characters.
fn shown(s: &str) -> String {
    let cut: String = s.chars().take(40).collect();
    if cut.len() < s.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn field(field: &'static str, value: String, expected: impl Into<String>) -> LedgerError {
    LedgerError::Field {
        field,
        value,
        expected: expected.into(),
    }
}

/// An id: 1 to [`MAX_ID_CHARS`] characters, none a control or bidirectional character.
pub fn check_id(name: &'static str, id: &str) -> Result<(), LedgerError> {
    let n = id.chars().count();
    if n == 0 || n > MAX_ID_CHARS {
        return Err(field(
            name,
            shown(id),
            format!("an id of 1 to {MAX_ID_CHARS} characters (found {n})"),
        ));
    }
    if id.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(field(
            name,
            shown(id),
            "an id without control characters, line breaks or direction overrides",
        ));
    }
    Ok(())
}

/// A text of at most `max` characters; line breaks and tabs only where `multiline`.
pub fn check_text(
    name: &'static str,
    text: &str,
    max: usize,
    multiline: bool,
) -> Result<(), LedgerError> {
    let n = text.chars().count();
    if n > max {
        return Err(field(
            name,
            shown(text),
            format!("at most {max} characters (found {n})"),
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text
        .chars()
        .any(|c| (c.is_control() && !allowed(c)) || is_bidi_control(c))
    {
        return Err(field(
            name,
            shown(text),
            if multiline {
                "a text without control characters or direction overrides"
            } else {
                "a text on one line, without control characters or direction overrides"
            },
        ));
    }
    Ok(())
}

fn check_opt_text(
    name: &'static str,
    text: &Option<String>,
    max: usize,
) -> Result<(), LedgerError> {
    text.as_deref()
        .map_or(Ok(()), |t| check_text(name, t, max, false))
}

/// An amount: positive (or zero where `zero_ok`) and at most [`MAX_AMOUNT`] minor units.
pub fn check_amount(name: &'static str, amount: i64, zero_ok: bool) -> Result<(), LedgerError> {
    let low = if zero_ok { 0 } else { 1 };
    if amount < low || amount > MAX_AMOUNT {
        return Err(field(
            name,
            amount.to_string(),
            format!(
                "{} amount of at most {} minor units",
                if zero_ok {
                    "a non-negative"
                } else {
                    "a positive"
                },
                format_minor(MAX_AMOUNT, 0)
            ),
        ));
    }
    Ok(())
}

/// One of `allowed`, when given.
fn check_choice(
    name: &'static str,
    v: &Option<String>,
    allowed: &[&str],
) -> Result<(), LedgerError> {
    match v {
        Some(x) if !allowed.contains(&x.as_str()) => Err(field(
            name,
            shown(x),
            format!("one of {}", allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}

fn check_day(name: &'static str, day: Day) -> Result<(), LedgerError> {
    if day.is_supported() {
        Ok(())
    } else {
        Err(field(
            name,
            day.0.to_string(),
            format!(
                "a date from {} to {}",
                Day::FIRST_SUPPORTED,
                Day::LAST_SUPPORTED
            ),
        ))
    }
}

fn check_fields(fields: &[(String, String)]) -> Result<(), LedgerError> {
    if fields.len() > MAX_FIELDS {
        return Err(field(
            "custom fields",
            fields.len().to_string(),
            format!("at most {MAX_FIELDS} custom fields"),
        ));
    }
    for (k, v) in fields {
        let n = k.chars().count();
        if n == 0
            || n > MAX_FIELD_NAME_CHARS
            || k.chars().any(|c| c.is_control() || is_bidi_control(c))
        {
            return Err(field(
                "custom field name",
                shown(k),
                format!(
                    "a name of 1 to {MAX_FIELD_NAME_CHARS} characters without control characters"
                ),
            ));
        }
        // Free text exported by other systems (addresses, comments) may span lines.
        check_text("custom field value", v, MAX_TEXT_CHARS, true).map_err(|e| match e {
            LedgerError::Field {
                field, expected, ..
            } => LedgerError::Field {
                field,
                value: format!("{}={}", k, shown(v)),
                expected,
            },
            e => e,
        })?;
    }
    Ok(())
}

fn check_customer(c: &CustomerRec) -> Result<(), LedgerError> {
    check_id("customer_id", &c.id)?;
    check_text("name", &c.name, MAX_TEXT_CHARS, false)?;
    if let Some(l) = c.credit_limit {
        check_amount("credit_limit", l, true)?;
    }
    if let Some(t) = c.payment_terms_days
        && !(0..=MAX_TERMS_DAYS).contains(&t)
    {
        return Err(field(
            "payment_terms_days",
            t.to_string(),
            format!("a number of days from 0 to {MAX_TERMS_DAYS}"),
        ));
    }
    check_fields(&c.attrs)
}

/// Checks every bound of one event. Links to other events (known customer, invoice, dates
/// after the invoice's) are checked by the snapshot, which knows them.
pub fn check_event(ev: &Event) -> Result<(), LedgerError> {
    match ev {
        Event::Customer(c) => check_customer(c),
        Event::Document(d) => {
            check_id("document_id", &d.id)?;
            check_id("customer_id", &d.customer_id)?;
            check_day("issue_date", d.issue)?;
            check_amount("amount", d.amount, false)?;
            if let Some(due) = d.due {
                check_day("due_date", due)?;
                if due < d.issue {
                    return Err(field(
                        "due_date",
                        due.to_string(),
                        format!("a date on or after the issue date {}", d.issue),
                    ));
                }
            }
            if let Some(o) = &d.original_invoice_id {
                check_id("original_invoice_id", o)?;
            }
            check_opt_text("dispute_reason", &d.dispute_reason, MAX_TEXT_CHARS)?;
            check_fields(&d.attrs)
        }
        Event::Payment(p) => {
            check_id("payment_id", &p.id)?;
            check_id("customer_id", &p.customer_id)?;
            check_day("date", p.date)?;
            check_amount("amount", p.amount, false)?;
            if let Some(i) = &p.invoice_id {
                check_id("invoice_id", i)?;
            }
            check_opt_text("reference", &p.reference, MAX_TEXT_CHARS)
        }
        Event::Allocation(a) => {
            check_id("source_id", &a.source_id)?;
            check_id("invoice_id", &a.invoice_id)?;
            check_day("date", a.date)?;
            check_amount("amount", a.amount, false)
        }
        Event::Dispute(d) => {
            check_id("invoice_id", &d.invoice_id)?;
            check_day("opened_on", d.opened_on)?;
            if let Some(r) = d.resolved_on {
                check_day("resolved_on", r)?;
            }
            check_opt_text("reason", &d.reason, MAX_TEXT_CHARS)?;
            check_opt_text("owner", &d.owner, MAX_TEXT_CHARS)?;
            match d.amount {
                Some(a) => check_amount("amount", a, false),
                None => Ok(()),
            }
        }
        Event::Promise(p) => {
            check_id("invoice_id", &p.invoice_id)?;
            check_day("promised_on", p.promised_on)?;
            check_day("due_on", p.due_on)?;
            check_amount("amount", p.amount, false)
        }
        Event::Action(a) => {
            check_id("customer_id", &a.customer_id)?;
            check_day("date", a.date)?;
            check_text("kind", &a.kind, MAX_TEXT_CHARS, false)?;
            if let Some(i) = a.invoice_id.as_deref().filter(|i| !i.is_empty()) {
                check_id("invoice_id", i)?;
            }
            check_opt_text("agent", &a.agent, MAX_TEXT_CHARS)?;
            check_choice("outcome", &a.outcome, &OUTCOMES)?;
            match &a.note {
                Some(n) => check_text("note", n, MAX_NOTE_CHARS, true),
                None => Ok(()),
            }
        }
        Event::Followup(f) => {
            check_id("customer_id", &f.customer_id)?;
            check_day("date", f.date)?;
            for (name, d) in [("next_action", f.next_action), ("hold_until", f.hold_until)] {
                if let Some(d) = d {
                    check_day(name, d)?;
                    if d < f.date {
                        return Err(field(
                            name,
                            d.to_string(),
                            format!("a date on or after {}", f.date),
                        ));
                    }
                }
            }
            if f.hold_until.is_some() && f.hold_reason.is_none() {
                return Err(field(
                    "hold_reason",
                    "\"\"".into(),
                    "the reason not to contact the customer",
                ));
            }
            check_opt_text("hold_reason", &f.hold_reason, MAX_TEXT_CHARS)?;
            check_opt_text("contact_name", &f.contact_name, MAX_TEXT_CHARS)?;
            check_opt_text("contact_role", &f.contact_role, MAX_TEXT_CHARS)?;
            check_opt_text("contact_email", &f.contact_email, MAX_TEXT_CHARS)?;
            if let Some(e) = &f.contact_email
                && (!e.contains('@') || e.contains(char::is_whitespace))
            {
                return Err(field("contact_email", shown(e), "an e-mail address"));
            }
            check_opt_text("contact_phone", &f.contact_phone, MAX_TEXT_CHARS)
        }
        Event::Rate(r) => {
            check_day("date", r.date)?;
            if r.rate_e9 <= 0 || r.rate_e9 > MAX_RATE_E9 {
                return Err(field(
                    "rate",
                    format_minor(r.rate_e9, 9),
                    format!(
                        "a positive rate of at most {} units per unit",
                        MAX_RATE_E9 / 1_000_000_000
                    ),
                ));
            }
            Ok(())
        }
        Event::Receipt(r) => {
            check_id("receipt_id", &r.id)?;
            check_day("date", r.date)?;
            check_amount("amount", r.amount, false)?;
            check_opt_text("payer_name", &r.payer_name, MAX_TEXT_CHARS)?;
            check_opt_text("payer_iban", &r.payer_iban, MAX_ID_CHARS)?;
            check_opt_text("creditor_reference", &r.creditor_ref, MAX_ID_CHARS)?;
            check_opt_text("bank_reference", &r.bank_ref, MAX_TEXT_CHARS)?;
            check_opt_text("account", &r.account, MAX_ID_CHARS)?;
            match &r.remittance {
                Some(t) => check_text("remittance", t, MAX_NOTE_CHARS, true),
                None => Ok(()),
            }
        }
        Event::Reminder(r) => {
            check_id("reminder_id", &r.id)?;
            check_id("customer_id", &r.customer_id)?;
            check_day("date", r.date)?;
            match &r.status {
                ReminderStatus::Queued(c) => {
                    check_id("scenario", &c.scenario)?;
                    if c.step == 0 {
                        return Err(field("step", "0".into(), "a step from 1"));
                    }
                    check_choice("channel", &Some(c.channel.clone()), &CHANNELS)?;
                    check_opt_text("author", &c.author, MAX_TEXT_CHARS)?;
                    check_opt_text("recipient", &c.recipient, MAX_TEXT_CHARS)?;
                    // Empty only in a view that leaves its invoices out (another entity).
                    if c.lines.len() > MAX_REMINDER_LINES {
                        return Err(field(
                            "invoices",
                            c.lines.len().to_string(),
                            format!("at most {MAX_REMINDER_LINES} invoices in one reminder"),
                        ));
                    }
                    for (inv, open, _) in &c.lines {
                        check_id("invoice_id", inv)?;
                        check_amount("amount", *open, false)?;
                    }
                    Ok(())
                }
                ReminderStatus::Sent { message_id } => {
                    check_text("message_id", message_id, MAX_TEXT_CHARS, false)
                }
                ReminderStatus::Failed { error, .. } => {
                    check_text("error", error, MAX_NOTE_CHARS, true)
                }
                ReminderStatus::Skipped { reason } => {
                    check_opt_text("reason", reason, MAX_TEXT_CHARS)
                }
            }
        }
        Event::Cash(c) => {
            check_id("receipt_id", &c.receipt_id)?;
            check_day("date", c.date)?;
            check_choice("rule", &Some(c.rule.clone()), &CASH_RULES)?;
            if c.confidence > 100 {
                return Err(field(
                    "confidence",
                    c.confidence.to_string(),
                    "a confidence from 0 to 100",
                ));
            }
            check_opt_text("author", &c.author, MAX_TEXT_CHARS)?;
            if let Decision::Apply {
                customer_id,
                invoices,
                write_off,
            } = &c.decision
            {
                check_id("customer_id", customer_id)?;
                if invoices.len() > MAX_CASH_INVOICES {
                    return Err(field(
                        "invoices",
                        invoices.len().to_string(),
                        format!("at most {MAX_CASH_INVOICES} invoices in one application"),
                    ));
                }
                for (inv, amount) in invoices {
                    check_id("invoice_id", inv)?;
                    check_amount("amount", *amount, false)?;
                }
                check_amount("write_off", *write_off, true)?;
            }
            Ok(())
        }
        Event::Amend(a) => {
            check_day("effective", a.effective)?;
            match &a.change {
                Change::DueDate { document_id, due } => {
                    check_id("document_id", document_id)?;
                    check_day("due_date", *due)
                }
                Change::InLegal { document_id, .. } => check_id("document_id", document_id),
                Change::DisputeResolved {
                    invoice_id,
                    resolved_on,
                    outcome,
                    comment,
                } => {
                    check_id("invoice_id", invoice_id)?;
                    check_day("resolved_on", *resolved_on)?;
                    check_choice("outcome", outcome, &RESOLUTIONS)?;
                    match comment {
                        Some(c) => check_text("comment", c, MAX_NOTE_CHARS, true),
                        None => Ok(()),
                    }
                }
                Change::Customer(c) => check_customer(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse_iso(s).unwrap()
    }

    #[test]
    fn ids_refuse_controls_bidi_and_length() {
        assert!(check_id("document_id", "F-2024-001").is_ok());
        assert!(check_id("document_id", "Facture n°12 — été").is_ok());
        for bad in ["", "F\u{0}1", "F\n1", "F\u{202E}1", "F\u{2066}1", "F\r"] {
            let e = check_id("document_id", bad).unwrap_err();
            assert_eq!(e.column(), Some("document_id"), "{bad:?}");
        }
        let long = "x".repeat(MAX_ID_CHARS + 1);
        let e = check_id("document_id", &long).unwrap_err().to_string();
        assert!(e.contains("found 101"), "{e}");
        assert!(e.contains('…'), "the value is cut in the message: {e}");
        assert!(check_id("document_id", &"é".repeat(MAX_ID_CHARS)).is_ok());
    }

    #[test]
    fn notes_may_span_lines_names_may_not() {
        assert!(check_text("note", "rappel\nappel demain", MAX_NOTE_CHARS, true).is_ok());
        assert!(check_text("name", "Alpha\nBeta", MAX_TEXT_CHARS, false).is_err());
        assert!(check_text("note", "a\u{202E}b", MAX_NOTE_CHARS, true).is_err());
        let big = "a".repeat(MAX_NOTE_CHARS + 1);
        let e = check_text("note", &big, MAX_NOTE_CHARS, true).unwrap_err();
        assert_eq!(e.column(), Some("note"));
    }

    #[test]
    fn amounts_dates_and_due_dates() {
        let mut d = DocumentRec::new("F1", "C1", DocKind::Invoice, day("2024-03-10"), MAX_AMOUNT);
        assert!(check_event(&Event::Document(d.clone())).is_ok());
        d.amount = MAX_AMOUNT + 1;
        let e = check_event(&Event::Document(d.clone())).unwrap_err();
        assert_eq!(e.column(), Some("amount"));
        assert!(e.to_string().contains("10000000000000"), "{e}");
        d.amount = 100;
        d.due = Some(day("2024-03-09"));
        let e = check_event(&Event::Document(d.clone())).unwrap_err();
        assert_eq!(e.column(), Some("due_date"));
        assert!(e.to_string().contains("2024-03-10"), "{e}");
        d.due = Some(day("2024-03-10"));
        assert!(check_event(&Event::Document(d.clone())).is_ok());
        d.issue = Day(Day::LAST_SUPPORTED.0 + 1);
        d.due = None;
        let e = check_event(&Event::Document(d)).unwrap_err();
        assert_eq!(e.column(), Some("issue_date"));
    }

    #[test]
    fn rates_and_terms() {
        let r = |rate_e9| {
            check_event(&Event::Rate(RateRec {
                date: day("2024-01-01"),
                currency: crate::money::Currency::parse("USD").unwrap(),
                rate_e9,
            }))
        };
        assert!(r(920_000_000).is_ok());
        assert!(r(MAX_RATE_E9).is_ok());
        assert_eq!(r(0).unwrap_err().column(), Some("rate"));
        assert_eq!(r(MAX_RATE_E9 + 1).unwrap_err().column(), Some("rate"));
        let c = |terms| {
            check_event(&Event::Customer(CustomerRec {
                id: "C1".into(),
                name: "Alpha".into(),
                credit_limit: None,
                payment_terms_days: Some(terms),
                attrs: vec![],
            }))
        };
        assert!(c(60).is_ok());
        assert_eq!(c(-1).unwrap_err().column(), Some("payment_terms_days"));
        assert_eq!(
            c(MAX_TERMS_DAYS + 1).unwrap_err().column(),
            Some("payment_terms_days")
        );
    }
}
