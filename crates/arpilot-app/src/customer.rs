//! A customer's file: its row of figures and its history — payments with what they settled,
//! disputes, promises and actions — as of a date and within the caller's selection.

use arpilot_core::customers::{CustomerRow, RatingThresholds, customer};
use arpilot_core::ledger::{OUTCOMES, RESOLUTIONS};
use arpilot_core::snapshot::{NO_INVOICE, SRC_PAYMENT};
use arpilot_core::{Day, Money, Selection, Snapshot};
use schemars::JsonSchema;
use serde::Serialize;

/// A payment of the customer and the invoices it settled by the as-of date.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct Payment {
    pub payment_id: String,
    pub date: Day,
    pub amount: Money,
    /// (invoice, amount) allocated up to the as-of date.
    pub settled: Vec<(String, Money)>,
}

/// One dated entry of the customer's history.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Dispute {
        date: Day,
        invoice_id: String,
        reason: String,
        /// When resolved by the as-of date.
        resolved_on: Option<Day>,
        /// Who handles it.
        owner: Option<String>,
        /// How it ended (justified, rejected, settled), when resolved and said.
        outcome: Option<String>,
        comment: Option<String>,
    },
    Promise {
        date: Day,
        invoice_id: String,
        amount: Money,
        due_on: Day,
    },
    Action {
        date: Day,
        action: String,
        agent: String,
        invoice_id: Option<String>,
        /// What came of it (reached, no_answer, promise, dispute, refusal, wrong_contact).
        outcome: Option<String>,
        note: Option<String>,
    },
}

impl Entry {
    pub fn date(&self) -> Day {
        match self {
            Entry::Dispute { date, .. }
            | Entry::Promise { date, .. }
            | Entry::Action { date, .. } => *date,
        }
    }
}

/// A customer's file as of a date.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct CustomerFile {
    pub customer: CustomerRow,
    /// Open invoices at the as-of date, oldest first.
    pub open_invoices: Vec<arpilot_core::invoices::InvoiceRow>,
    /// Latest first.
    pub payments: Vec<Payment>,
    /// Disputes, promises and actions, latest first.
    pub history: Vec<Entry>,
    /// The follow-up as of the date: next action, not to contact before, contact person.
    pub follow_up: FollowUp,
    /// The structured creditor reference (ISO 11649 "RF…") to quote when paying this customer's
    /// statement: it comes back on the bank statement and the payment is matched to it.
    pub payment_reference: Option<String>,
}

/// A customer's follow-up as of a date (each field: the latest value given by then).
#[derive(Clone, Debug, PartialEq, Default, Serialize, JsonSchema)]
pub struct FollowUp {
    pub next_action: Option<Day>,
    pub hold_until: Option<Day>,
    pub hold_reason: Option<String>,
    pub contact_name: Option<String>,
    pub contact_role: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
}

impl From<arpilot_core::ledger::FollowupRec> for FollowUp {
    fn from(f: arpilot_core::ledger::FollowupRec) -> FollowUp {
        FollowUp {
            next_action: f.next_action,
            hold_until: f.hold_until,
            hold_reason: f.hold_reason,
            contact_name: f.contact_name,
            contact_role: f.contact_role,
            contact_email: f.contact_email,
            contact_phone: f.contact_phone,
        }
    }
}

/// `sel` narrowed to customer `id`.
pub fn only(snap: &Snapshot, sel: &Selection, id: &str) -> Selection {
    Selection::resolve(
        snap,
        &[arpilot_core::Filter {
            name: "customer_id".into(),
            value: id.to_string(),
        }],
    )
    .map(|s| s.and(sel.clone()))
    .unwrap_or_else(|_| Selection::none(snap))
}

/// The file of customer `id` as of `as_of`, restricted to `sel` (a portfolio restricted to some
/// documents shows only those); the `limit` latest payments and history entries. `None` when
/// the customer is not in the selection.
pub fn file(
    snap: &Snapshot,
    sel: &Selection,
    id: &str,
    as_of: Day,
    thresholds: &RatingThresholds,
    limit: usize,
) -> Option<CustomerFile> {
    let row = customer(snap, sel, as_of, thresholds, id)?;
    let c = snap.customers.ids.find(id)?;
    let d = as_of.0;
    let inv = &snap.invoices;
    let src = &snap.sources;
    let cur = snap.currency;
    let money = |v| Money::new(v, cur);
    let own_invoice =
        |i: u32| i != NO_INVOICE && inv.customer[i as usize] == c && sel.invoice(snap, i as usize);

    let mut pays: Vec<usize> = (0..src.customer.len())
        .filter(|&s| {
            src.customer[s] == c
                && src.kind[s] == SRC_PAYMENT
                && src.day[s] <= d
                && sel.source(snap, s)
        })
        .collect();
    pays.sort_by_key(|&s| (std::cmp::Reverse(src.day[s]), std::cmp::Reverse(s)));
    pays.truncate(limit);
    let mut settled: Vec<Vec<(String, Money)>> = vec![Vec::new(); pays.len()];
    if !pays.is_empty() {
        for i in (0..inv.customer.len()).filter(|&i| own_invoice(i as u32)) {
            for a in snap.allocs_of(i).filter(|a| a.day <= d) {
                if let Some(k) = pays.iter().position(|&s| s == a.src as usize) {
                    settled[k].push((inv.ids.get(i as u32).to_string(), money(a.amount)));
                }
            }
        }
    }
    let payments = pays
        .iter()
        .zip(settled)
        .map(|(&s, settled)| Payment {
            payment_id: src.ids.get(s as u32).to_string(),
            date: Day(src.day[s]),
            amount: money(src.amount[s]),
            settled,
        })
        .collect();

    let mut history: Vec<Entry> = Vec::new();
    let named = |v: &str| (!v.is_empty()).then(|| v.to_string());
    for (r, x) in snap
        .disputes
        .iter()
        .enumerate()
        .filter(|(_, x)| own_invoice(x.invoice) && x.opened <= d)
    {
        let resolved = x.resolved <= d;
        history.push(Entry::Dispute {
            date: Day(x.opened),
            invoice_id: inv.ids.get(x.invoice).to_string(),
            reason: snap.reasons.value(x.reason).to_string(),
            resolved_on: resolved.then_some(Day(x.resolved)),
            owner: named(snap.agents.value(x.owner)),
            outcome: (resolved && x.outcome > 0)
                .then(|| RESOLUTIONS[x.outcome as usize - 1].to_string()),
            comment: resolved
                .then(|| snap.dispute_comments.get(&(r as u32)).cloned())
                .flatten(),
        });
    }
    for x in snap
        .promises
        .iter()
        .filter(|x| own_invoice(x.invoice) && x.promised_on <= d)
    {
        history.push(Entry::Promise {
            date: Day(x.promised_on),
            invoice_id: inv.ids.get(x.invoice).to_string(),
            amount: money(x.amount),
            due_on: Day(x.due_on),
        });
    }
    for (r, a) in snap.actions.iter().enumerate().filter(|(_, a)| {
        a.customer == c && a.day <= d && (a.invoice == NO_INVOICE || own_invoice(a.invoice))
    }) {
        history.push(Entry::Action {
            date: Day(a.day),
            action: snap.action_kinds.value(a.kind).to_string(),
            agent: snap.agents.value(a.agent).to_string(),
            invoice_id: (a.invoice != NO_INVOICE).then(|| inv.ids.get(a.invoice).to_string()),
            outcome: (a.outcome > 0).then(|| OUTCOMES[a.outcome as usize - 1].to_string()),
            note: snap.action_notes.get(&(r as u32)).cloned(),
        });
    }
    // Latest first; on one day, the last recorded first.
    history.reverse();
    history.sort_by_key(|e| std::cmp::Reverse(e.date()));
    history.truncate(limit);
    let open_invoices = arpilot_core::invoices::invoices(snap, &only(snap, sel, id), as_of)
        .into_iter()
        .filter(|i| i.open_amount.is_positive())
        .collect();
    let follow_up = snap
        .followups_on(d)
        .remove(&c)
        .map(FollowUp::from)
        .unwrap_or_default();
    Some(CustomerFile {
        customer: row,
        open_invoices,
        payments,
        history,
        follow_up,
        payment_reference: arpilot_core::cash::customer_reference(id),
    })
}
