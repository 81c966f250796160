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

/// Why a pushed event is refused: its index, field and what was expected. [`TOP`] as the index
/// means the body itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{field}: {message}", if *index == TOP { String::new() } else { format!("events[{index}].") })]
pub struct JsonError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// The index of an error about the body rather than one of its events.
pub const TOP: usize = usize::MAX;

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
    /// Refuses a field the event's type does not have.
    fn only(&self, known: &[&str]) -> Result<(), JsonError> {
        match self
            .o
            .keys()
            .find(|k| k.as_str() != "type" && !known.contains(&k.as_str()))
        {
            Some(k) => Err(self.err(
                k,
                format!("unknown field (expected one of type, {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
    /// The custom fields of a customer or document: the named dimensions of its type, fields the
    /// ledger already has, and new ones given in `"custom": {"name": "value"}`. Any other field
    /// is refused, so a typo never becomes a new dimension.
    fn attrs(
        &self,
        known: &[&str],
        named: &[&str],
        existing: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, String)>, JsonError> {
        let mut out = Vec::new();
        let mut push = |k: &str, v: &Value, at: &str| match v {
            Value::Null => Ok(()),
            Value::String(s) if s.trim().is_empty() => Ok(()),
            Value::String(s) => {
                out.push((k.to_string(), s.trim().to_string()));
                Ok(())
            }
            Value::Number(n) => {
                out.push((k.to_string(), n.to_string()));
                Ok(())
            }
            _ => Err(self.err(at, "expected a string")),
        };
        for (k, v) in self.o {
            let k = k.as_str();
            if k == "type" || known.contains(&k) {
                continue;
            }
            if k == "custom" {
                let fields = v
                    .as_object()
                    .ok_or_else(|| self.err("custom", "expected an object of custom fields"))?;
                for (name, v) in fields {
                    if known.contains(&name.as_str()) || name == "type" {
                        return Err(self.err(
                            &format!("custom.{name}"),
                            "a standard field, not a custom one (give it outside \"custom\")",
                        ));
                    }
                    push(name, v, &format!("custom.{name}"))?;
                }
            } else if named.contains(&k) || existing(k) {
                push(k, v, k)?;
            } else {
                return Err(self.err(
                    k,
                    format!(
                        "unknown field (expected one of type, {}, {}, a custom field the ledger already has, or a new custom field inside \"custom\": {{\"{k}\": …}})",
                        known.join(", "),
                        named.join(", ")
                    ),
                ));
            }
        }
        Ok(out)
    }
}

/// Customer dimensions every ledger has (interfaces: customers.csv).
pub const CUSTOMER_DIMENSIONS: &[&str] = &[
    "group",
    "entity",
    "collector",
    "sales_rep",
    "region",
    "sector",
    "size",
    "rating",
    "currency",
];
/// Document dimensions every ledger has (interfaces: invoices.csv).
pub const DOCUMENT_DIMENSIONS: &[&str] = &["division"];

/// Reads `{"events": [...]}` into ledger events, amounts in `currency` unless an event says
/// otherwise. `existing` tells whether a name is a custom field the ledger already has.
pub fn read(
    body: &Value,
    currency: Currency,
    existing: &dyn Fn(&str) -> bool,
) -> Result<Vec<Event>, JsonError> {
    let top = JsonError {
        index: TOP,
        field: "events".into(),
        message: "expected {\"events\": [ … ]}".into(),
    };
    if let Some(k) = body.as_object().and_then(|o| {
        o.keys()
            .find(|k| !matches!(k.as_str(), "events" | "source"))
    }) {
        return Err(JsonError {
            index: TOP,
            field: k.clone(),
            message: "unknown field (expected {\"events\": [ … ], \"source\": \"name of the pushing system\"})".into(),
        });
    }
    if let Some(v) = body.get("source").filter(|v| !v.is_string()) {
        return Err(JsonError {
            index: TOP,
            field: "source".into(),
            message: format!("expected the name of the pushing system as a string, found {v}"),
        });
    }
    let list = body.get("events").and_then(Value::as_array).ok_or(top)?;
    if list.len() > MAX_EVENTS {
        return Err(JsonError {
            index: TOP,
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
                    attrs: e.attrs(
                        &["customer_id", "name", "credit_limit", "payment_terms_days"],
                        CUSTOMER_DIMENSIONS,
                        existing,
                    )?,
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
                    attrs: e.attrs(
                        &[
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
                        ],
                        DOCUMENT_DIMENSIONS,
                        existing,
                    )?,
                }),
                "payment" => {
                    e.only(&["payment_id", "customer_id", "date", "amount", "currency", "invoice_id", "reference"])?;
                    Event::Payment(PaymentRec {
                    id: e.text("payment_id")?,
                    customer_id: e.text("customer_id")?,
                    date: e.day("date")?,
                    amount: e.amount("amount")?,
                    currency: e.currency()?,
                    invoice_id: e.opt("invoice_id")?,
                    reference: e.opt("reference")?,
                    })
                }
                "allocation" => {
                    e.only(&["source_id", "invoice_id", "date", "amount", "currency"])?;
                    Event::Allocation(AllocationRec {
                    source_id: e.text("source_id")?,
                    invoice_id: e.text("invoice_id")?,
                    date: e.day("date")?,
                    amount: e.amount("amount")?,
                    })
                }
                "dispute" => {
                    e.only(&["invoice_id", "opened_on", "resolved_on", "reason", "amount", "currency", "owner"])?;
                    Event::Dispute(DisputeRec {
                    invoice_id: e.text("invoice_id")?,
                    opened_on: e.day("opened_on")?,
                    resolved_on: e.opt_day("resolved_on")?,
                    reason: e.opt("reason")?,
                    amount: e.opt_amount("amount")?,
                    owner: e.opt("owner")?,
                    })
                }
                "promise" => {
                    e.only(&["invoice_id", "promised_on", "due_on", "amount", "currency"])?;
                    Event::Promise(PromiseRec {
                    invoice_id: e.text("invoice_id")?,
                    promised_on: e.day("promised_on")?,
                    due_on: e.day("due_on")?,
                    amount: e.amount("amount")?,
                    })
                }
                "action" => {
                    e.only(&["customer_id", "date", "kind", "invoice_id", "agent", "note", "outcome"])?;
                    Event::Action(ActionRec {
                    customer_id: e.text("customer_id")?,
                    date: e.day("date")?,
                    kind: e.text("kind")?,
                    invoice_id: e.opt("invoice_id")?,
                    agent: e.opt("agent")?,
                    note: e.opt("note")?,
                    outcome: e.opt("outcome")?,
                    })
                }
                "followup" => {
                    e.only(&[
                        "customer_id",
                        "date",
                        "next_action",
                        "hold_until",
                        "hold_reason",
                        "contact_name",
                        "contact_role",
                        "contact_email",
                        "contact_phone",
                    ])?;
                    Event::Followup(FollowupRec {
                        customer_id: e.text("customer_id")?,
                        date: e.day("date")?,
                        next_action: e.opt_day("next_action")?,
                        hold_until: e.opt_day("hold_until")?,
                        hold_reason: e.opt("hold_reason")?,
                        contact_name: e.opt("contact_name")?,
                        contact_role: e.opt("contact_role")?,
                        contact_email: e.opt("contact_email")?,
                        contact_phone: e.opt("contact_phone")?,
                    })
                }
                "rate" => {
                    e.only(&["date", "currency", "rate"])?;
                    Event::Rate(RateRec {
                    date: e.day("date")?,
                    currency: e
                        .currency()?
                        .ok_or_else(|| e.err("currency", "expected a currency code"))?,
                    rate_e9: arpilot_core::money::parse_scaled(&e.text("rate")?, 9)
                        .map_err(|_| e.err("rate", "expected a positive decimal rate"))?,
                    })
                }
                other => {
                    return Err(e.err(
                        "type",
                        format!(
                            "expected customer, invoice, credit_note, write_off, payment, allocation, dispute, promise, action, followup or rate, found {other:?}"
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
        let ev = read(&v, Currency::EUR, &|_| false).unwrap();
        assert_eq!(ev.len(), 3);
        let Event::Document(d) = &ev[1] else { panic!() };
        assert_eq!(d.amount, 120_050);
        let Event::Customer(c) = &ev[0] else { panic!() };
        assert_eq!(c.attrs, vec![("region".to_string(), "Nord".to_string())]);
        let bad: Value = serde_json::from_str(
            r#"{"events": [{"type": "payment", "payment_id": "P1", "customer_id": "C1", "date": "12/02/2024", "amount": "1"}]}"#,
        )
        .unwrap();
        let e = read(&bad, Currency::EUR, &|_| false).unwrap_err();
        assert_eq!((e.index, e.field.as_str()), (0, "date"));
    }

    fn one(event: &str, existing: &dyn Fn(&str) -> bool) -> Result<Vec<Event>, JsonError> {
        let v: Value = serde_json::from_str(&format!(r#"{{"events": [{event}]}}"#)).unwrap();
        read(&v, Currency::EUR, existing)
    }

    #[test]
    fn unknown_fields_are_refused_custom_fields_are_explicit() {
        let inv = r#"{"type": "invoice", "document_id": "F1", "customer_id": "C1", "issue_date": "2024-01-10", "amount": "10""#;
        // A typo is not a new dimension.
        let e = one(&format!(r#"{inv}, "divison": "Est"}}"#), &|_| false).unwrap_err();
        assert_eq!((e.index, e.field.as_str()), (0, "divison"));
        assert!(e.message.contains("unknown field"), "{}", e.message);
        // Named dimensions, fields the ledger has, and explicit new ones are taken.
        let ev = one(
            &format!(
                r#"{inv}, "division": "Est", "project": "P7", "custom": {{"site": "Lyon"}}}}"#
            ),
            &|k| k == "project",
        )
        .unwrap();
        let Event::Document(d) = &ev[0] else { panic!() };
        let mut attrs = d.attrs.clone();
        attrs.sort();
        assert_eq!(
            attrs,
            [("division", "Est"), ("project", "P7"), ("site", "Lyon")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        // A standard field cannot hide in "custom".
        let e = one(&format!(r#"{inv}, "custom": {{"amount": "5"}}}}"#), &|_| {
            true
        })
        .unwrap_err();
        assert_eq!(e.field, "custom.amount");
        // Other types have no custom fields at all.
        let e = one(
            r#"{"type": "payment", "payment_id": "P1", "customer_id": "C1", "date": "2024-02-12", "amount": "1", "invoce_id": "F1"}"#,
            &|_| true,
        )
        .unwrap_err();
        assert_eq!(e.field, "invoce_id");
        // Nor does the body.
        let v: Value = serde_json::from_str(r#"{"events": [], "sources": "erp"}"#).unwrap();
        assert_eq!(
            read(&v, Currency::EUR, &|_| false).unwrap_err().field,
            "sources"
        );
    }
}
