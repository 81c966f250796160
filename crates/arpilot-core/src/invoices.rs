//! Invoice-level detail: open amount, settlement date and days late as of a date.

use crate::date::Day;
use crate::money::Money;
use crate::select::Selection;
use crate::snapshot::Snapshot;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct InvoiceRow {
    pub document_id: String,
    pub customer_id: String,
    pub issue_date: Day,
    pub due_date: Day,
    pub amount: Money,
    pub open_amount: Money,
    /// Date of the allocation that brought the open amount to zero, when on or before the as-of date.
    pub settled_on: Option<Day>,
    /// `max(0, settlement − due)` for settled invoices.
    pub days_late: Option<i32>,
    /// `as_of − due` for open invoices (≤ 0: not yet due).
    pub days_overdue: Option<i32>,
}

/// Every selected invoice issued on or before `d`, by issue date then document id: an order of
/// the invoices themselves, not of how the ledger was read (a dated ledger's view lists its base
/// first), so that a later amendment never reorders the list of a past date.
pub fn invoices(snap: &Snapshot, sel: &Selection, d: Day) -> Vec<InvoiceRow> {
    let inv = &snap.invoices;
    let cur = snap.currency;
    let mut rows: Vec<usize> = (0..snap.invoice_count())
        .filter(|&i| inv.issue[i] <= d.0 && sel.invoice(snap, i))
        .collect();
    rows.sort_unstable_by(|&a, &b| {
        inv.issue[a]
            .cmp(&inv.issue[b])
            .then_with(|| inv.ids.get(a as u32).cmp(inv.ids.get(b as u32)))
    });
    rows.into_iter()
        .map(|i| {
            let settled = (inv.settled[i] <= d.0).then_some(inv.settled[i]);
            let open = snap.open_at(i, d.0);
            InvoiceRow {
                document_id: inv.ids.get(i as u32).to_string(),
                customer_id: snap.customers.ids.get(inv.customer[i]).to_string(),
                issue_date: Day(inv.issue[i]),
                due_date: Day(inv.due[i]),
                amount: Money::new(inv.amount[i], cur),
                open_amount: Money::new(open, cur),
                settled_on: settled.map(Day),
                days_late: settled.map(|s| (s - inv.due[i]).max(0)),
                days_overdue: (open > 0).then(|| d.0 - inv.due[i]),
            }
        })
        .collect()
}
