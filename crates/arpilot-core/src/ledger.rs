//! The ledger as a stream of events: what importers produce and the engine consumes.
//!
//! Records hold already-parsed values (dates, minor units): parsing happens at the edge, in the
//! importers, which also know the file, line and column to blame.

use crate::date::Day;
use crate::money::Currency;

/// What a document does to the customer's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// Increases what the customer owes; the only kind that is aged.
    Invoice,
    /// Decreases what the customer owes and counts as a sales reduction.
    CreditNote,
    /// Decreases what the customer owes and counts as bad debt, not as a sales reduction.
    WriteOff,
}

impl DocKind {
    pub fn parse(s: &str) -> Option<DocKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "invoice" => Some(DocKind::Invoice),
            "credit_note" => Some(DocKind::CreditNote),
            "write_off" => Some(DocKind::WriteOff),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CustomerRec {
    pub id: String,
    pub name: String,
    pub credit_limit: Option<i64>,
    pub payment_terms_days: Option<i32>,
    /// Named attributes: `group`, `entity`, `collector`, `sales_rep`, `region`, `sector`, `size`,
    /// `rating`, `currency` and any custom column. Each becomes a filterable dimension.
    pub attrs: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DocumentRec {
    pub id: String,
    pub customer_id: String,
    pub kind: DocKind,
    pub issue: Day,
    /// `None`: issue date plus the customer's payment terms, else the issue date.
    pub due: Option<Day>,
    pub amount: i64,
    pub currency: Option<Currency>,
    /// For credit notes and write-offs: the invoice they settle, allocated on the issue date.
    pub original_invoice_id: Option<String>,
    /// A dispute without dates: taken as opened on the issue date and still open.
    pub disputed: bool,
    pub dispute_reason: Option<String>,
    pub in_legal: bool,
    /// Document-level dimensions (`division` and custom columns).
    pub attrs: Vec<(String, String)>,
}

impl DocumentRec {
    /// A document with no due date (customer terms apply), the ledger's currency, no original
    /// invoice, no dispute, not in legal collection and no attributes. Set the others with
    /// struct-update syntax: `DocumentRec { due: Some(d), ..DocumentRec::new(…) }`.
    pub fn new(
        id: impl Into<String>,
        customer_id: impl Into<String>,
        kind: DocKind,
        issue: Day,
        amount: i64,
    ) -> DocumentRec {
        DocumentRec {
            id: id.into(),
            customer_id: customer_id.into(),
            kind,
            issue,
            due: None,
            amount,
            currency: None,
            original_invoice_id: None,
            disputed: false,
            dispute_reason: None,
            in_legal: false,
            attrs: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PaymentRec {
    pub id: String,
    pub customer_id: String,
    pub date: Day,
    pub amount: i64,
    pub currency: Option<Currency>,
    /// Allocates the payment to this invoice on the payment date.
    pub invoice_id: Option<String>,
    pub reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AllocationRec {
    /// A payment, credit note or write-off.
    pub source_id: String,
    pub invoice_id: String,
    pub date: Day,
    pub amount: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DisputeRec {
    pub invoice_id: String,
    pub opened_on: Day,
    pub resolved_on: Option<Day>,
    pub reason: Option<String>,
    pub amount: Option<i64>,
    /// Who handles the dispute (a person or a team).
    pub owner: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromiseRec {
    pub invoice_id: String,
    /// When the customer made the promise.
    pub promised_on: Day,
    /// The date the customer promised to pay by.
    pub due_on: Day,
    pub amount: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionRec {
    pub customer_id: String,
    pub date: Day,
    pub kind: String,
    pub invoice_id: Option<String>,
    pub agent: Option<String>,
    pub note: Option<String>,
    /// What came of it: one of [`OUTCOMES`].
    pub outcome: Option<String>,
}

/// A customer's follow-up as of a date: the next action planned, a "do not contact until" with
/// its reason, the contact person. Each value given replaces the earlier one; a value not given
/// keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowupRec {
    pub customer_id: String,
    pub date: Day,
    pub next_action: Option<Day>,
    pub hold_until: Option<Day>,
    pub hold_reason: Option<String>,
    pub contact_name: Option<String>,
    pub contact_role: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
}

impl Default for FollowupRec {
    /// Nothing set, dated the first supported day.
    fn default() -> Self {
        FollowupRec {
            customer_id: String::new(),
            date: Day::FIRST_SUPPORTED,
            next_action: None,
            hold_until: None,
            hold_reason: None,
            contact_name: None,
            contact_role: None,
            contact_email: None,
            contact_phone: None,
        }
    }
}

/// A credit booked on the company's bank account, as the bank's statement gives it. It is cash
/// received but nobody's payment until a [`CashRec`] applies it to a customer.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiptRec {
    /// Stable id derived from the statement line: importing the statement again adds nothing.
    pub id: String,
    /// Booking date.
    pub date: Day,
    pub amount: i64,
    pub currency: Option<Currency>,
    pub payer_name: Option<String>,
    pub payer_iban: Option<String>,
    /// What the payer wrote (unstructured remittance information).
    pub remittance: Option<String>,
    /// Structured creditor reference (ISO 11649 "RF…" or another scheme), as written.
    pub creditor_ref: Option<String>,
    /// The bank's reference of the entry.
    pub bank_ref: Option<String>,
    /// The statement's account.
    pub account: Option<String>,
}

impl Default for ReceiptRec {
    /// Nothing but an amount of zero, dated the first supported day.
    fn default() -> Self {
        ReceiptRec {
            id: String::new(),
            date: Day::FIRST_SUPPORTED,
            amount: 0,
            currency: None,
            payer_name: None,
            payer_iban: None,
            remittance: None,
            creditor_ref: None,
            bank_ref: None,
            account: None,
        }
    }
}

/// A cash-application decision on a bank receipt or on a payment already in the ledger.
#[derive(Clone, Debug, PartialEq)]
pub struct CashRec {
    /// The receipt, or the payment (source) whose unapplied part is allocated.
    pub receipt_id: String,
    /// When the decision was made.
    pub date: Day,
    pub decision: Decision,
    /// Which rule decided (one of [`CASH_RULES`]).
    pub rule: String,
    /// How sure the rule was, 0 to 100.
    pub confidence: u8,
    /// Who decided: a user, or `None` for the matching engine.
    pub author: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// The receipt becomes a payment of `customer_id` on its own date (a payment already in the
    /// ledger keeps its customer, which must be this one), allocated to these invoices; a
    /// `write_off` settles the rest of the last invoice (bank fees, discounts); what is left
    /// stays unapplied on the customer.
    Apply {
        customer_id: String,
        invoices: Vec<(String, i64)>,
        write_off: i64,
    },
    /// Not a customer receipt (a refund, a transfer between the company's own accounts…).
    NotCustomer,
    /// Cancels the receipt's current application: reports become what they were without it.
    Undo,
    /// The bank returned the payment: cancels its application and closes the receipt.
    Returned,
}

/// The rules of the matching engine, and `manual` for a person's decision.
pub const CASH_RULES: [&str; 8] = [
    "creditor_reference",
    "invoice_number",
    "exact_amount",
    "combination",
    "tolerance",
    "oldest_first",
    "unapplied",
    "manual",
];

/// A reminder (relance) through its life. It is written with its whole content before it
/// leaves (the outbox), then marked sent with the message id, failed (and retried), or skipped.
/// One reminder per customer and day: its id says so.
#[derive(Clone, Debug, PartialEq)]
pub struct ReminderRec {
    pub id: String,
    pub customer_id: String,
    /// The run's date for [`ReminderStatus::Queued`] and [`ReminderStatus::Skipped`], the day it
    /// happened for the others.
    pub date: Day,
    pub status: ReminderStatus,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReminderStatus {
    /// Decided and about to leave: what it says.
    Queued(ReminderContent),
    /// Handed to the mail server (its message id), printed, or turned into a task.
    Sent { message_id: String },
    /// A failed attempt (the number of attempts so far, the error): retried later.
    Failed { attempt: u16, error: String },
    /// Not sent: skipped on the preview page, or cancelled before it left.
    Skipped { reason: Option<String> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReminderContent {
    pub scenario: String,
    /// The step (1 = first) of the scenario: the highest reached by its invoices.
    pub step: u16,
    /// One of [`CHANNELS`].
    pub channel: String,
    /// The invoices it covers: id, open amount then, and the step each has reached.
    pub lines: Vec<(String, i64, u16)>,
    /// Who ran it: a user, or `None` for the scheduled run.
    pub author: Option<String>,
    /// The e-mail address it goes to (e-mails only).
    pub recipient: Option<String>,
}

/// How a reminder step reaches the customer.
pub const CHANNELS: [&str; 5] = ["email", "letter", "call", "formal_notice", "legal"];

/// Outcomes of an action (a call reached the customer, nobody answered…).
pub const OUTCOMES: [&str; 6] = [
    "reached",
    "no_answer",
    "promise",
    "dispute",
    "refusal",
    "wrong_contact",
];

/// How a dispute ended: [`RESOLUTIONS`].
pub const RESOLUTIONS: [&str; 3] = ["justified", "rejected", "settled"];

/// Units of reporting currency per unit of `currency`, as a decimal scaled by 10^9.
#[derive(Clone, Debug, PartialEq)]
pub struct RateRec {
    pub date: Day,
    pub currency: Currency,
    pub rate_e9: i64,
}

/// A correction learned after the fact. It takes effect on `effective`: reports as of an earlier
/// date ignore it, so history is never rewritten.
#[derive(Clone, Debug, PartialEq)]
pub struct AmendRec {
    pub effective: Day,
    pub change: Change,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// The invoice's due date becomes `due`.
    DueDate { document_id: String, due: Day },
    /// The invoice goes to (or leaves) legal collection.
    InLegal { document_id: String, in_legal: bool },
    /// The invoice's open disputes are resolved on `resolved_on`: justified (a credit note is
    /// expected), rejected or settled ([`RESOLUTIONS`]), with a comment.
    DisputeResolved {
        invoice_id: String,
        resolved_on: Day,
        outcome: Option<String>,
        comment: Option<String>,
    },
    /// The customer's master data (name, limit, terms, attributes) becomes this record.
    Customer(CustomerRec),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Customer(CustomerRec),
    Document(DocumentRec),
    Payment(PaymentRec),
    Allocation(AllocationRec),
    Dispute(DisputeRec),
    Promise(PromiseRec),
    Action(ActionRec),
    Rate(RateRec),
    Amend(AmendRec),
    Followup(FollowupRec),
    Receipt(ReceiptRec),
    Cash(CashRec),
    Reminder(ReminderRec),
}

/// Why an event cannot enter the ledger. The importer adds file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Undoing the application of this receipt or payment: the ledger must be read again
    /// without it (the views do; a single snapshot cannot take allocations back).
    #[error("undoing the application of {0:?} needs the ledger read again")]
    Rebuild(String),
    #[error("unknown customer {0:?} (expected a customer_id of customers.csv)")]
    UnknownCustomer(String),
    #[error("duplicate id {0:?} (expected an id not used by another document or payment)")]
    DuplicateId(String),
    #[error("unknown invoice {0:?} (expected the document_id of an invoice)")]
    UnknownInvoice(String),
    #[error("{0:?} is a {1}, not an invoice (expected the document_id of an invoice)")]
    NotAnInvoice(String, &'static str),
    #[error("unknown source {0:?} (expected the id of a payment, credit note or write-off)")]
    UnknownSource(String),
    #[error(
        "allocation dated {date} is before {what} {id:?} dated {earlier} (expected a date on or after it)"
    )]
    AllocationTooEarly {
        date: String,
        what: &'static str,
        id: String,
        earlier: String,
    },
    #[error(
        "{source_id:?} belongs to customer {source_customer:?} but invoice {invoice_id:?} to {invoice_customer:?} (expected the same customer)"
    )]
    CrossCustomer {
        source_id: String,
        source_customer: String,
        invoice_id: String,
        invoice_customer: String,
    },
    #[error(
        "currency {found} differs from the ledger's reporting currency {ledger} and no rate converts it"
    )]
    Currency { found: String, ledger: String },
    #[error("amount must be positive, found {0}")]
    NonPositive(String),
    #[error("{0}")]
    Invalid(String),
    /// A field outside its bounds (see [`crate::bounds`]).
    #[error("{field} {value}: expected {expected}")]
    Field {
        field: &'static str,
        value: String,
        expected: String,
    },
}

impl LedgerError {
    /// The input column the error is about, when there is one.
    pub fn column(&self) -> Option<&'static str> {
        Some(match self {
            LedgerError::UnknownCustomer(_) | LedgerError::CrossCustomer { .. } => "customer_id",
            LedgerError::UnknownInvoice(_) | LedgerError::NotAnInvoice(..) => "invoice_id",
            LedgerError::UnknownSource(_) => "source_id",
            LedgerError::AllocationTooEarly { .. } => "date",
            LedgerError::Currency { .. } => "currency",
            LedgerError::NonPositive(_) => "amount",
            LedgerError::Field { field, .. } => field,
            LedgerError::DuplicateId(_) | LedgerError::Invalid(_) | LedgerError::Rebuild(_) => {
                return None;
            }
        })
    }
}
