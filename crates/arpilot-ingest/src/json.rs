//! Events pushed as JSON (`POST /api/events`): the CSV ledger set's rows as objects, each with a
//! `type`. Field names and formats are the ledger set's (ISO dates, decimal-string or number
//! amounts); errors name the event's index and field.
//!
//! ```json
//! {"events": [
//!   {"type": "customer", "customer_id": "C1", "name": "Alpha"},
//!   {"type": "invoice", "document_id": "F1", "customer_id": "C1", "issue_date": "2024-01-10", "amount": "1200.00"},
//!   {"type": "payment", "payment_id": "P1", "customer_id": "C1", "date": "2024-02-12", "amount": "1200.00", "invoice_id": "F1"}
//! ]}
//! ```

use arpilot_core::Day;
use arpilot_core::ledger::*;
use arpilot_core::money::{Currency, parse_minor};
use serde_json::Value;

/// Why a pushed event is refused: its index, field and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("events[{index}].{field}: {message}")]
pub struct JsonError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// Most events one push may carry.
pub const MAX_EVENTS: usize = 100_000;

struct Obj<'a> {
    i: usize,
    o: &'a serde_json::Map<String, Value>,
    cur: Currency,
}

impl Obj<'_> {
    fn err(&self, field: &str, message: impl Into<String>) -> JsonError {
        JsonError {
            index: self.i,
            field: field.into(),
            message: message.into(),
        }
    }
    fn opt(&self, k: &str) -> Result<Option<String>, JsonError> {
        match self.o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.err(k, "expected a string")),
        }
    }
    fn text(&self, k: &str) -> Result<String, JsonError> {
        self.opt(k)?.ok_or_else(|| self.err(k, "expected a value"))
    }
    fn day(&self, k: &str) -> Result<Day, JsonError> {
        Day::parse_iso(&self.text(k)?).map_err(|e| self.err(k, e.to_string()))
    }
    fn opt_day(&self, k: &str) -> Result<Option<Day>, JsonError> {
        match self.opt(k)? {
            Some(v) => Day::parse_iso(&v)
                .map(Some)
                .map_err(|e| self.err(k, e.to_string())),
            None => Ok(None),
        }
    }
    fn currency(&self) -> Result<Option<Currency>, JsonError> {
        match self.opt("currency")? {
            Some(c) => Currency::parse(&c)
                .map(Some)
                .map_err(|e| self.err("currency", e.to_string())),
            None => Ok(None),
        }
    }
    fn amount(&self, k: &str) -> Result<i64, JsonError> {
        let cur = self.currency()?.unwrap_or(self.cur);
        parse_minor(&self.text(k)?, cur.decimals()).map_err(|e| self.err(k, e.to_string()))
    }
    fn opt_amount(&self, k: &str) -> Result<Option<i64>, JsonError> {
        match self.opt(k)? {
            Some(_) => self.amount(k).map(Some),
            None => Ok(None),
        }
    }
    fn flag(&self, k: &str) -> Result<bool, JsonError> {
        match self.o.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.err(k, "expected true or false")),
        }
    }
    /// Other string fields, as custom attributes.
    fn attrs(&self, known: &[&str]) -> Vec<(String, String)> {
        self.o
            .iter()
            .filter(|(k, _)| k.as_str() != "type" && !known.contains(&k.as_str()))
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }
}

/// Reads `{"events": [...]}` into ledger events, amounts in `currency` unless an event says
/// otherwise.
pub fn read(body: &Value, currency: Currency) -> Result<Vec<Event>, JsonError> {
    let top = JsonError {
        index: 0,
        field: "events".into(),
        message: "expected {\"events\": [ … ]}".into(),
    };
    let list = body.get("events").and_then(Value::as_array).ok_or(top)?;
    if list.len() > MAX_EVENTS {
        return Err(JsonError {
            index: MAX_EVENTS,
            field: "events".into(),
            message: format!("at most {MAX_EVENTS} events per push"),
        });
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let o = v.as_object().ok_or(JsonError {
                index: i,
                field: String::new(),
                message: "expected an object".into(),
            })?;
            let e = Obj { i, o, cur: currency };
            let kind = e.text("type")?;
            Ok(match kind.as_str() {
                "customer" => Event::Customer(CustomerRec {
                    id: e.text("customer_id")?,
                    name: e.text("name")?,
                    credit_limit: e.opt_amount("credit_limit")?,
                    payment_terms_days: match e.opt("payment_terms_days")? {
                        Some(v) => Some(v.parse().map_err(|_| {
                            e.err("payment_terms_days", "expected a whole number of days")
                        })?),
                        None => None,
                    },
                    attrs: e.attrs(&[
                        "customer_id",
                        "name",
                        "credit_limit",
                        "payment_terms_days",
                    ]),
                }),
                "invoice" | "credit_note" | "write_off" => Event::Document(DocumentRec {
                    id: e.text("document_id")?,
                    customer_id: e.text("customer_id")?,
                    kind: DocKind::parse(&kind).expect("matched"),
                    issue: e.day("issue_date")?,
                    due: e.opt_day("due_date")?,
                    amount: e.amount("amount")?,
                    currency: e.currency()?,
                    original_invoice_id: e.opt("original_invoice_id")?,
                    disputed: e.flag("disputed")?,
                    dispute_reason: e.opt("dispute_reason")?,
                    in_legal: e.flag("in_legal")?,
                    attrs: e.attrs(&[
                        "document_id",
                        "customer_id",
                        "issue_date",
                        "due_date",
                        "amount",
                        "currency",
                        "original_invoice_id",
                        "disputed",
                        "dispute_reason",
                        "in_legal",
                    ]),
                }),
                "payment" => Event::Payment(PaymentRec {
                    id: e.text("payment_id")?,
                    customer_id: e.text("customer_id")?,
                    date: e.day("date")?,
                    amount: e.amount("amount")?,
                    currency: e.currency()?,
                    invoice_id: e.opt("invoice_id")?,
                    reference: e.opt("reference")?,
                }),
                "allocation" => Event::Allocation(AllocationRec {
                    source_id: e.text("source_id")?,
                    invoice_id: e.text("invoice_id")?,
                    date: e.day("date")?,
                    amount: e.amount("amount")?,
                }),
                "dispute" => Event::Dispute(DisputeRec {
                    invoice_id: e.text("invoice_id")?,
                    opened_on: e.day("opened_on")?,
                    resolved_on: e.opt_day("resolved_on")?,
                    reason: e.opt("reason")?,
                    amount: e.opt_amount("amount")?,
                }),
                "promise" => Event::Promise(PromiseRec {
                    invoice_id: e.text("invoice_id")?,
                    promised_on: e.day("promised_on")?,
                    due_on: e.day("due_on")?,
                    amount: e.amount("amount")?,
                }),
                "action" => Event::Action(ActionRec {
                    customer_id: e.text("customer_id")?,
                    date: e.day("date")?,
                    kind: e.text("kind")?,
                    invoice_id: e.opt("invoice_id")?,
                    agent: e.opt("agent")?,
                    note: e.opt("note")?,
                }),
                "rate" => Event::Rate(RateRec {
                    date: e.day("date")?,
                    currency: e
                        .currency()?
                        .ok_or_else(|| e.err("currency", "expected a currency code"))?,
                    rate_e9: parse_minor(&e.text("rate")?, 9)
                        .map_err(|_| e.err("rate", "expected a positive decimal rate"))?,
                }),
                other => {
                    return Err(e.err(
                        "type",
                        format!(
                            "expected customer, invoice, credit_note, write_off, payment, allocation, dispute, promise, action or rate, found {other:?}"
                        ),
                    ));
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events_and_names_the_faulty_field() {
        let v: Value = serde_json::from_str(
            r#"{"events": [
              {"type": "customer", "customer_id": "C1", "name": "Alpha", "region": "Nord"},
              {"type": "invoice", "document_id": "F1", "customer_id": "C1", "issue_date": "2024-01-10", "amount": "1200.50"},
              {"type": "payment", "payment_id": "P1", "customer_id": "C1", "date": "2024-02-12", "amount": 300, "invoice_id": "F1"}
            ]}"#,
        )
        .unwrap();
        let ev = read(&v, Currency::EUR).unwrap();
        assert_eq!(ev.len(), 3);
        let Event::Document(d) = &ev[1] else { panic!() };
        assert_eq!(d.amount, 120_050);
        let Event::Customer(c) = &ev[0] else { panic!() };
        assert_eq!(c.attrs, vec![("region".to_string(), "Nord".to_string())]);
        let bad: Value = serde_json::from_str(
            r#"{"events": [{"type": "payment", "payment_id": "P1", "customer_id": "C1", "date": "12/02/2024", "amount": "1"}]}"#,
        )
        .unwrap();
        let e = read(&bad, Currency::EUR).unwrap_err();
        assert_eq!((e.index, e.field.as_str()), (0, "date"));
    }
}
