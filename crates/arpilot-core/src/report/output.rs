//! The report's output shapes, serialised as they are, and the rounding of its figures.

use crate::date::Day;
use crate::money::{Currency, Money};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Report {
    pub as_of: Day,
    pub currency: Currency,
    pub totals: Totals,
    #[schemars(extend("enum" = ["due", "issue"]))]
    pub aging_basis: &'static str,
    pub aging: Vec<BucketRow>,
    pub dso: Dso,
    pub dbt: Option<f64>,
    pub cei: Cei,
    pub collection_rate: CollectionRate,
    pub cash: Cash,
    pub receivables_turnover: Option<f64>,
    pub bad_debt_ratio: Option<f64>,
    pub maturity: Vec<MaturityRow>,
    pub top_debtors: Vec<Debtor>,
    pub top_overdue_invoices: Vec<OverdueInvoice>,
    pub disputes: Disputes,
    pub promises: Promises,
    pub actions: Vec<ActionCount>,
    pub provisions: Provisions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Groups>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Totals {
    pub balance: Money,
    pub open_invoices: Money,
    pub not_due: Money,
    pub overdue: Money,
    pub unapplied: Money,
    pub disputed: Money,
    pub in_legal: Money,
    pub promised: Money,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct BucketRow {
    pub bucket: String,
    pub amount: Money,
    pub count: u64,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Dso {
    pub countback: f64,
    pub countback_history_exhausted: bool,
    pub standard: Option<f64>,
    pub best_possible: Option<f64>,
    pub delinquent: Option<f64>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Cei {
    pub month: Option<f64>,
    pub rolling_90: Option<f64>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct CollectionRate {
    pub month: String,
    pub to_collect: Money,
    pub collected: Money,
    pub credited: Money,
    pub remaining: Money,
    pub rate: Option<f64>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Cash {
    /// Payments dated from the 1st of the month to the as-of date.
    pub collected_month: Money,
    pub collected_90_days: Money,
    /// Invoice amounts falling due from the 1st of the month to the as-of date.
    pub fell_due_month: Money,
    /// Taux d'encaissement: collected_month / fell_due_month × 100.
    pub collection_ratio_month: Option<f64>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct MaturityRow {
    pub period: String,
    pub amount: Money,
    pub count: u64,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Debtor {
    pub customer_id: String,
    pub name: String,
    pub balance: Money,
    pub overdue: Money,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct OverdueInvoice {
    pub document_id: String,
    pub customer_id: String,
    pub open_amount: Money,
    pub days_overdue: i32,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Disputes {
    pub open_count: u64,
    pub open_amount: Money,
    pub by_reason: Vec<ReasonRow>,
    pub opened_90_days: u64,
    pub resolved_90_days: u64,
    pub resolution_rate_90_days: Option<f64>,
    pub avg_resolution_days_90_days: Option<f64>,
    pub dispute_dso: Option<f64>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct ReasonRow {
    pub reason: String,
    pub count: u64,
    pub amount: Money,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Promises {
    pub open_count: u64,
    pub open_amount: Money,
    pub due_90_days: u64,
    pub kept_90_days: u64,
    pub kept_rate_90_days: Option<f64>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct ActionCount {
    pub agent: String,
    pub kind: String,
    pub count: u64,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Provisions {
    pub total: Money,
    pub by_bucket: Vec<ProvisionRow>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct ProvisionRow {
    pub bucket: String,
    pub rate: f64,
    pub amount: Money,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Groups {
    pub by: String,
    pub buckets: Vec<String>,
    pub rows: Vec<GroupRow>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    pub amounts: Vec<Money>,
    pub counts: Vec<u64>,
    pub unapplied: Money,
    pub balance: Money,
}

/// Rounds a figure for the report (2 decimals; the contract asks for no fewer).
pub fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub(super) fn r2o(x: Option<f64>) -> Option<f64> {
    x.map(r2)
}
