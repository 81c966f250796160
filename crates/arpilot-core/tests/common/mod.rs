//! A tiny ledger builder for tests: amounts in whole units of EUR unless `*_c` (cents).
#![allow(dead_code)]

use arpilot_core::ledger::*;
use arpilot_core::{Currency, Day, Snapshot};

pub fn day(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

#[derive(Default, Clone)]
pub struct L {
    pub ev: Vec<Event>,
}

impl L {
    pub fn customer(mut self, id: &str) -> Self {
        self.ev.push(Event::Customer(CustomerRec {
            id: id.into(),
            name: format!("Customer {id}"),
            credit_limit: None,
            payment_terms_days: None,
            attrs: vec![],
        }));
        self
    }

    pub fn customer_attrs(mut self, id: &str, attrs: &[(&str, &str)]) -> Self {
        self.ev.push(Event::Customer(CustomerRec {
            id: id.into(),
            name: format!("Customer {id}"),
            credit_limit: None,
            payment_terms_days: None,
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }));
        self
    }

    #[allow(clippy::too_many_arguments)] // a test builder mirroring the CSV columns
    pub fn doc_c(
        mut self,
        kind: DocKind,
        id: &str,
        cust: &str,
        issue: &str,
        due: Option<&str>,
        cents: i64,
        orig: Option<&str>,
    ) -> Self {
        self.ev.push(Event::Document(DocumentRec {
            due: due.map(day),
            original_invoice_id: orig.map(Into::into),
            ..DocumentRec::new(id, cust, kind, day(issue), cents)
        }));
        self
    }

    pub fn inv(self, id: &str, cust: &str, issue: &str, due: &str, units: i64) -> Self {
        self.doc_c(
            DocKind::Invoice,
            id,
            cust,
            issue,
            Some(due),
            units * 100,
            None,
        )
    }

    pub fn inv_c(self, id: &str, cust: &str, issue: &str, due: &str, cents: i64) -> Self {
        self.doc_c(DocKind::Invoice, id, cust, issue, Some(due), cents, None)
    }

    pub fn credit_c(
        self,
        id: &str,
        cust: &str,
        issue: &str,
        cents: i64,
        orig: Option<&str>,
    ) -> Self {
        self.doc_c(DocKind::CreditNote, id, cust, issue, None, cents, orig)
    }

    pub fn pay_c(
        mut self,
        id: &str,
        cust: &str,
        date: &str,
        cents: i64,
        inv: Option<&str>,
    ) -> Self {
        self.ev.push(Event::Payment(PaymentRec {
            id: id.into(),
            customer_id: cust.into(),
            date: day(date),
            amount: cents,
            currency: None,
            invoice_id: inv.map(Into::into),
            reference: None,
        }));
        self
    }

    pub fn pay(self, id: &str, cust: &str, date: &str, units: i64, inv: Option<&str>) -> Self {
        self.pay_c(id, cust, date, units * 100, inv)
    }

    pub fn alloc_c(mut self, src: &str, inv: &str, date: &str, cents: i64) -> Self {
        self.ev.push(Event::Allocation(AllocationRec {
            source_id: src.into(),
            invoice_id: inv.into(),
            date: day(date),
            amount: cents,
        }));
        self
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot::build(Currency::EUR, self.ev.clone()).unwrap()
    }
}

impl L {
    pub fn dispute(
        mut self,
        inv: &str,
        opened: &str,
        resolved: Option<&str>,
        reason: &str,
    ) -> Self {
        self.ev.push(Event::Dispute(DisputeRec {
            invoice_id: inv.into(),
            opened_on: day(opened),
            resolved_on: resolved.map(day),
            reason: Some(reason.into()),
            amount: None,
            owner: None,
        }));
        self
    }

    pub fn promise(mut self, inv: &str, promised_on: &str, due_on: &str, units: i64) -> Self {
        self.ev.push(Event::Promise(PromiseRec {
            invoice_id: inv.into(),
            promised_on: day(promised_on),
            due_on: day(due_on),
            amount: units * 100,
        }));
        self
    }
}
