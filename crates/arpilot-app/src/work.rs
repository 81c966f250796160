//! Recording a collector's work: an action (call, e-mail, letter, visit, note) with its outcome,
//! note and invoices, optionally the promise or dispute it obtained; a dispute's resolution.
//! Parsed once from form fields or a JSON object, checked against the ledger as of its date
//! (clear errors naming the field), then appended as ledger events under the author's name.

use crate::customer::FollowUp;
use crate::import::Author;
use crate::view::{FastError, Views};
use arpilot_core::ledger::*;
use arpilot_core::money::parse_minor;
use arpilot_core::{Currency, Day, Money, Snapshot};
use arpilot_store::{LedgerStore, NewBatch, StoreError};

/// Kinds of action a collector logs.
pub const KINDS: [&str; 5] = ["call", "email", "letter", "visit", "note"];

/// Dispute reasons offered by default (any reason of at most 500 characters is accepted).
pub const DISPUTE_REASONS: [&str; 6] = [
    "prix",
    "quantité",
    "livraison",
    "qualité",
    "facturation",
    "autre",
];

/// What a user records.
#[derive(Clone, Debug, PartialEq)]
pub enum Work {
    Log(Log),
    Resolve(Resolution),
    /// A follow-up alone: next action, do not contact until, contact person.
    Plan(Day, Plan),
    /// The customer moves to another collector (managers and admins).
    Reassign {
        date: Day,
        collector: String,
    },
}

/// The follow-up fields of a form (each optional): the customer file's [`FollowUp`].
pub type Plan = FollowUp;

impl FollowUp {
    fn is_empty(&self) -> bool {
        *self == FollowUp::default()
    }

    fn event(&self, customer_id: &str, date: Day) -> Event {
        let f = self.clone();
        Event::Followup(FollowupRec {
            customer_id: customer_id.to_string(),
            date,
            next_action: f.next_action,
            hold_until: f.hold_until,
            hold_reason: f.hold_reason,
            contact_name: f.contact_name,
            contact_role: f.contact_role,
            contact_email: f.contact_email,
            contact_phone: f.contact_phone,
        })
    }
}

/// An action, and the promise or dispute it obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct Log {
    pub date: Day,
    pub kind: String,
    pub outcome: Option<String>,
    pub note: Option<String>,
    /// The invoices it is about (the promise's or dispute's when there is one).
    pub invoices: Vec<String>,
    /// Amount (minor units) and date promised.
    pub promise: Option<(i64, Day)>,
    pub dispute: Option<DisputeInput>,
    /// Follow-up given with the action (next action date…).
    pub plan: Plan,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DisputeInput {
    pub reason: String,
    /// The disputed part, minor units (`None`: the whole invoices).
    pub amount: Option<i64>,
    pub owner: Option<String>,
}

/// A dispute's end.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    pub date: Day,
    pub invoice_id: String,
    pub outcome: String,
    pub comment: Option<String>,
}

/// Why work was not recorded: the field and what was expected. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WorkError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> WorkError {
    WorkError {
        field: field.into(),
        message: message.into(),
    }
}

const FIELDS: [&str; 22] = [
    "csrf",
    "next_action",
    "hold_until",
    "hold_reason",
    "contact_name",
    "contact_role",
    "contact_email",
    "contact_phone",
    "collector",
    "action",
    "date",
    "kind",
    "outcome",
    "note",
    "invoice",
    "promise_amount",
    "promise_date",
    "dispute_reason",
    "dispute_amount",
    "dispute_owner",
    "resolution",
    "comment",
];

/// Reads a form (or a JSON object turned into pairs: arrays repeat their key). `date` defaults
/// to `default_date` (the ledger's last date: what its pages show by default).
pub fn parse(
    pairs: &[(String, String)],
    default_date: Day,
    currency: Currency,
) -> Result<Work, WorkError> {
    if let Some((k, _)) = pairs.iter().find(|(k, _)| !FIELDS.contains(&k.as_str())) {
        return Err(err(
            k,
            format!("unknown field (expected one of {})", FIELDS[1..].join(", ")),
        ));
    }
    let one = |k: &str| -> Option<String> {
        pairs
            .iter()
            .rev()
            .find(|(key, v)| key == k && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
    };
    let day = |k: &str| -> Result<Option<Day>, WorkError> {
        one(k)
            .map(|v| Day::parse_iso(&v).map_err(|e| err(k, e.to_string())))
            .transpose()
    };
    let amount = |k: &str| -> Result<Option<i64>, WorkError> {
        one(k)
            .map(|v| {
                parse_minor(&v.replace(',', "."), currency.decimals())
                    .map_err(|e| err(k, e.to_string()))
                    .and_then(|a| {
                        if a > 0 {
                            Ok(a)
                        } else {
                            Err(err(k, "expected an amount above zero"))
                        }
                    })
            })
            .transpose()
    };
    let date = day("date")?.unwrap_or(default_date);
    let invoices: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "invoice" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect();
    let plan = Plan {
        next_action: day("next_action")?,
        hold_until: day("hold_until")?,
        hold_reason: one("hold_reason"),
        contact_name: one("contact_name"),
        contact_role: one("contact_role"),
        contact_email: one("contact_email"),
        contact_phone: one("contact_phone"),
    };
    match one("action").as_deref().unwrap_or("log") {
        "plan" => {
            if plan.is_empty() {
                return Err(err(
                    "next_action",
                    "expected a next action date, a date not to contact before, or a contact",
                ));
            }
            Ok(Work::Plan(date, plan))
        }
        "reassign" => Ok(Work::Reassign {
            date,
            collector: one("collector")
                .ok_or_else(|| err("collector", "expected the collector to take the customer"))?,
        }),
        "resolve" => {
            let invoice_id = match invoices.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(err(
                        "invoice",
                        "expected the one invoice whose dispute ends",
                    ));
                }
            };
            let outcome = one("resolution")
                .ok_or_else(|| err("resolution", format!("expected {}", RESOLUTIONS.join(", "))))?;
            Ok(Work::Resolve(Resolution {
                date,
                invoice_id,
                outcome,
                comment: one("comment"),
            }))
        }
        "log" => {
            let kind = one("kind").unwrap_or_else(|| "call".into());
            if !KINDS.contains(&kind.as_str()) {
                return Err(err(
                    "kind",
                    format!("expected {}, found {kind:?}", KINDS.join(", ")),
                ));
            }
            let promise = match (amount("promise_amount")?, day("promise_date")?) {
                (Some(a), Some(d)) => Some((a, d)),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(err("promise_date", "expected the date promised"));
                }
                (None, Some(_)) => {
                    return Err(err("promise_amount", "expected the amount promised"));
                }
            };
            let dispute = match one("dispute_reason") {
                Some(reason) => Some(DisputeInput {
                    reason,
                    amount: amount("dispute_amount")?,
                    owner: one("dispute_owner"),
                }),
                None if one("dispute_amount").is_some() || one("dispute_owner").is_some() => {
                    return Err(err("dispute_reason", "expected the reason of the dispute"));
                }
                None => None,
            };
            if promise.is_some() && dispute.is_some() {
                return Err(err(
                    "dispute_reason",
                    "a promise and a dispute on the same invoices: record them one at a time",
                ));
            }
            if (promise.is_some() || dispute.is_some()) && invoices.is_empty() {
                return Err(err(
                    "invoice",
                    "expected the invoices the promise or dispute covers",
                ));
            }
            Ok(Work::Log(Log {
                date,
                kind,
                outcome: one("outcome"),
                note: one("note"),
                invoices,
                promise,
                dispute,
                plan,
            }))
        }
        other => Err(err(
            "action",
            format!("expected log, resolve, plan or reassign, found {other:?}"),
        )),
    }
}

/// The ledger events of `work` on customer `customer_id`, checked against `snap` (the ledger
/// as it is now): invoices of the customer, issued by the date and still open, a promise not
/// above what is open nor dated before the action, one open dispute per invoice.
pub fn events(
    snap: &Snapshot,
    customer_id: &str,
    work: &Work,
    agent: &str,
) -> Result<Vec<Event>, WorkError> {
    let cur = snap.currency;
    let cust = snap
        .customers
        .ids
        .find(customer_id)
        .ok_or_else(|| err("customer_id", format!("unknown customer {customer_id:?}")))?;
    // Each invoice: its row, checked to be the customer's and issued by `date`.
    let invoice = |id: &str, date: Day| -> Result<usize, WorkError> {
        let i = snap
            .invoices
            .ids
            .find(id)
            .filter(|&i| snap.invoices.customer[i as usize] == cust)
            .ok_or_else(|| {
                err(
                    "invoice",
                    format!("{id:?} is not an invoice of {customer_id}"),
                )
            })? as usize;
        if snap.invoices.issue[i] > date.0 {
            return Err(err(
                "date",
                format!(
                    "{date} is before invoice {id}'s issue date {}",
                    Day(snap.invoices.issue[i])
                ),
            ));
        }
        Ok(i)
    };
    match work {
        Work::Plan(date, plan) => Ok(vec![plan.event(customer_id, *date)]),
        Work::Reassign { date, collector } => {
            let r = cust as usize;
            let cs = &snap.customers;
            let mut attrs: Vec<(String, String)> = cs
                .dims
                .cols
                .iter()
                .map(|d| (d.name.clone(), d.value(cust).to_string()))
                .filter(|(k, v)| !v.is_empty() && k != "collector")
                .collect();
            attrs.push(("collector".into(), collector.clone()));
            Ok(vec![Event::Amend(AmendRec {
                effective: *date,
                change: Change::Customer(CustomerRec {
                    id: customer_id.to_string(),
                    name: cs.names[r].clone(),
                    credit_limit: cs.credit_limit[r],
                    payment_terms_days: cs.terms[r],
                    attrs,
                }),
            })])
        }
        Work::Resolve(r) => {
            let i = invoice(&r.invoice_id, r.date)?;
            let open = snap
                .disputes_of(i as u32)
                .any(|k| snap.disputes[k].open_on(r.date.0));
            if !open {
                return Err(err(
                    "invoice",
                    format!("invoice {} has no dispute open on {}", r.invoice_id, r.date),
                ));
            }
            Ok(vec![Event::Amend(AmendRec {
                effective: r.date,
                change: Change::DisputeResolved {
                    invoice_id: r.invoice_id.clone(),
                    resolved_on: r.date,
                    outcome: Some(r.outcome.clone()),
                    comment: r.comment.clone(),
                },
            })])
        }
        Work::Log(l) => {
            let mut rows = Vec::new();
            for id in &l.invoices {
                let i = invoice(id, l.date)?;
                if rows.contains(&i) {
                    return Err(err("invoice", format!("{id} is given twice")));
                }
                rows.push(i);
            }
            let mut out = vec![Event::Action(ActionRec {
                customer_id: customer_id.to_string(),
                date: l.date,
                kind: l.kind.clone(),
                invoice_id: (rows.len() == 1).then(|| l.invoices[0].clone()),
                agent: Some(agent.to_string()),
                note: l.note.clone(),
                outcome: l
                    .outcome
                    .clone()
                    .or_else(|| l.promise.map(|_| "promise".to_string()))
                    .or_else(|| l.dispute.as_ref().map(|_| "dispute".to_string())),
            })];
            let open: Vec<i64> = rows.iter().map(|&i| snap.open_at(i, l.date.0)).collect();
            if l.promise.is_some() || l.dispute.is_some() {
                for (k, &o) in open.iter().enumerate() {
                    if o <= 0 {
                        return Err(err(
                            "invoice",
                            format!("invoice {} is already paid on {}", l.invoices[k], l.date),
                        ));
                    }
                }
            }
            let total: i64 = open.iter().sum();
            if let Some((amount, due_on)) = l.promise {
                if due_on < l.date {
                    return Err(err(
                        "promise_date",
                        format!("{due_on} is before the action's date {}", l.date),
                    ));
                }
                if amount > total {
                    return Err(err(
                        "promise_amount",
                        format!(
                            "{} is above what is open on {} ({})",
                            Money::new(amount, cur),
                            l.invoices.join(", "),
                            Money::new(total, cur)
                        ),
                    ));
                }
                // The promised amount covers the invoices oldest due first.
                let mut order: Vec<usize> = (0..rows.len()).collect();
                order.sort_by_key(|&k| (snap.invoices.due[rows[k]], rows[k]));
                let mut left = amount;
                for k in order {
                    let part = left.min(open[k]);
                    if part <= 0 {
                        break;
                    }
                    left -= part;
                    out.push(Event::Promise(PromiseRec {
                        invoice_id: l.invoices[k].clone(),
                        promised_on: l.date,
                        due_on,
                        amount: part,
                    }));
                }
            }
            if let Some(d) = &l.dispute {
                for (k, &i) in rows.iter().enumerate() {
                    if snap.disputed_on(i as u32, l.date.0) {
                        return Err(err(
                            "invoice",
                            format!("invoice {} is already in dispute", l.invoices[k]),
                        ));
                    }
                }
                if let Some(a) = d.amount {
                    if rows.len() != 1 {
                        return Err(err(
                            "dispute_amount",
                            "a disputed amount applies to one invoice: give one, or none to dispute the invoices whole",
                        ));
                    }
                    if a > total {
                        return Err(err(
                            "dispute_amount",
                            format!(
                                "{} is above what is open on {} ({})",
                                Money::new(a, cur),
                                l.invoices[0],
                                Money::new(total, cur)
                            ),
                        ));
                    }
                }
                for id in &l.invoices {
                    out.push(Event::Dispute(DisputeRec {
                        invoice_id: id.clone(),
                        opened_on: l.date,
                        resolved_on: None,
                        reason: Some(d.reason.clone()),
                        amount: d.amount,
                        owner: d.owner.clone(),
                    }));
                }
            }
            if !l.plan.is_empty() {
                out.push(l.plan.event(customer_id, l.date));
            }
            Ok(out)
        }
    }
}

/// What [`record`] did.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Recorded {
    pub batch: i64,
    /// Events appended: the action, its promises or disputes, or the resolution.
    pub events: usize,
}

/// Why [`record`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Invalid(#[from] WorkError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records `work` on customer `customer_id` as one batch by `author` from `source` (`page`,
/// `api`): every event is checked first, nothing is written when one is refused.
pub async fn record(
    views: &Views,
    store: &impl LedgerStore,
    customer_id: &str,
    work: &Work,
    author: &Author,
    source: &str,
) -> Result<Recorded, RecordError> {
    let events = events(&views.current(), customer_id, work, &author.user)?;
    let batch = NewBatch::for_import(
        source.to_string(),
        String::new(),
        "work",
        None,
        author.user.clone(),
    );
    let n = events.len();
    match views.append_exact(store, &batch, events).await {
        Ok(a) => Ok(Recorded {
            batch: a.batch_id,
            events: n,
        }),
        Err(FastError::Refused { error, .. }) => Err(RecordError::Invalid(WorkError {
            field: error.column().unwrap_or("event").to_string(),
            message: error.to_string(),
        })),
        Err(FastError::Store(e)) => Err(RecordError::Store(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forms_parse_with_the_field_named() {
        let d = Day::parse_iso("2024-06-30").unwrap();
        let w = parse(
            &pairs(&[
                ("kind", "call"),
                ("outcome", "promise"),
                ("invoice", "F1"),
                ("invoice", "F2"),
                ("promise_amount", "1500,50"),
                ("promise_date", "2024-07-15"),
            ]),
            d,
            Currency::EUR,
        )
        .unwrap();
        let Work::Log(l) = w else { panic!() };
        assert_eq!(l.date, d);
        assert_eq!(l.invoices, ["F1", "F2"]);
        assert_eq!(
            l.promise,
            Some((150_050, Day::parse_iso("2024-07-15").unwrap()))
        );
        for (bad, field) in [
            (vec![("kind", "fax")], "kind"),
            (vec![("promise_amount", "10")], "promise_date"),
            (
                vec![("promise_amount", "-3"), ("promise_date", "2024-07-01")],
                "promise_amount",
            ),
            (
                vec![("promise_amount", "10"), ("promise_date", "2024-07-01")],
                "invoice",
            ),
            (vec![("date", "9999-01-01")], "date"),
            (vec![("dispute_owner", "Léa")], "dispute_reason"),
            (vec![("action", "resolve")], "invoice"),
            (vec![("colour", "red")], "colour"),
        ] {
            let e = parse(&pairs(&bad), d, Currency::EUR).unwrap_err();
            assert_eq!(e.field, field, "{bad:?}: {e}");
        }
    }
}
