//! Cash application on hand-computed ledgers: each rule of the engine, its confidence, the
//! decisions entering the ledger, undo giving back every figure, and the KPIs.

mod common;
use arpilot_core::cash::{self, MatchConfig, Matcher, Reason, Remit};
use arpilot_core::ledger::*;
use arpilot_core::snapshot::{RECEIPT_APPLIED, RECEIPT_OPEN};
use arpilot_core::{Currency, LedgerError, Snapshot};
use common::{L, day};
use proptest::prelude::*;

/// Customers A (IBAN FR76…0001), B and C (sister company of A). Open invoices on 2024-06-30:
/// - A: F-1001 1 000.00 due 05-31, F-1002 250.00 due 06-15, F-1003 400.00 due 06-30;
/// - B: INV-2024-0007 1 200.00 due 06-10, INV-2024-0008 1 200.00 due 06-20;
/// - C: F-2001 99.00 due 06-01.
///
/// F-0999 of A (500.00) is paid.
fn ledger() -> L {
    let mut l = L::default()
        .customer_attrs("A", &[("iban", "FR7630001007941234567890185")])
        .customer("B")
        .customer("C")
        .inv("F-0999", "A", "2024-04-01", "2024-05-01", 500)
        .pay("P0", "A", "2024-05-01", 500, Some("F-0999"))
        .inv("F-1001", "A", "2024-05-01", "2024-05-31", 1_000)
        .inv("F-1002", "A", "2024-05-16", "2024-06-15", 250)
        .inv("F-1003", "A", "2024-05-31", "2024-06-30", 400)
        .inv("INV-2024-0007", "B", "2024-05-11", "2024-06-10", 1_200)
        .inv("INV-2024-0008", "B", "2024-05-21", "2024-06-20", 1_200)
        .inv("F-2001", "C", "2024-05-02", "2024-06-01", 99);
    // Customer names: "Customer A" …
    l.ev.push(Event::Receipt(ReceiptRec {
        id: "R0".into(),
        date: day("2024-06-01"),
        amount: 1,
        ..ReceiptRec::default()
    }));
    l
}

fn snap() -> Snapshot {
    ledger().snapshot()
}

fn remit<'a>(amount: i64, text: &'a str) -> Remit<'a> {
    Remit {
        amount,
        day: day("2024-06-30").0,
        remittance: Some(text),
        ..Remit::default()
    }
}

fn ids(s: &Snapshot, p: &cash::Proposal) -> Vec<(String, i64)> {
    p.invoices
        .iter()
        .map(|&(i, a)| (s.invoices.ids.get(i).to_string(), a))
        .collect()
}

#[test]
fn invoice_numbers_in_the_text_in_any_form() {
    let s = snap();
    let m = Matcher::new(&s, day("2024-06-30").0, MatchConfig::default());
    // Case, spaces and separators do not matter; two invoices in one transfer.
    let p = m.propose(&remit(125_000, "Reglement factures f 1001 et F1002"));
    assert_eq!(
        ids(&s, &p),
        [("F-1001".into(), 100_000), ("F-1002".into(), 25_000)]
    );
    assert_eq!((p.rule, p.confidence), ("invoice_number", 95));
    // Prefix dropped: "0007" is the last run of digits of one invoice only, a weak hit that
    // the exact amount confirms.
    let p = m.propose(&remit(120_000, "VIR SEPA FACT 0007"));
    assert_eq!(ids(&s, &p), [("INV-2024-0007".into(), 120_000)]);
    assert_eq!(p.confidence, 85);
    let p = m.propose(&remit(120_000, "INV20240007"));
    assert_eq!(ids(&s, &p), [("INV-2024-0007".into(), 120_000)]);
    // A part payment ("acompte") of a quoted invoice: oldest quoted first. From an unknown
    // payer, a person confirms (a typo may name another invoice); from the customer's IBAN, it
    // is applied.
    let p = m.propose(&remit(30_000, "ACOMPTE F-1001"));
    assert_eq!(ids(&s, &p), [("F-1001".into(), 30_000)]);
    assert_eq!(p.confidence, 65);
    let p = m.propose(&Remit {
        payer_iban: Some("FR7630001007941234567890185"),
        ..remit(30_000, "ACOMPTE F-1001")
    });
    assert_eq!(ids(&s, &p), [("F-1001".into(), 30_000)]);
    assert_eq!(p.confidence, 90);
    // A typo naming another customer's invoice (B's INV-2024-0008 for A's F-1002?): doubted,
    // and the payer's near miss preferred when there is one.
    let p = m.propose(&Remit {
        payer_iban: Some("FR7630001007941234567890185"),
        ..remit(25_000, "F-1O02 INV-2024-0008")
    });
    assert_eq!(ids(&s, &p), [("F-1002".into(), 25_000)]);
    assert!(
        p.reasons
            .iter()
            .any(|r| matches!(r, Reason::InvoiceNumberNear(_)))
    );
    // A paid invoice quoted: said, and the customer is still found.
    let p = m.propose(&remit(40_000, "F-0999"));
    assert!(
        p.reasons
            .iter()
            .any(|r| matches!(r, Reason::AlreadyPaid(_)))
    );
    assert_eq!(ids(&s, &p), [("F-1003".into(), 40_000)]);
    assert_eq!(p.rule, "exact_amount");
}

#[test]
fn creditor_references_of_ours() {
    let s = snap();
    let m = Matcher::new(&s, day("2024-06-30").0, MatchConfig::default());
    let rf = cash::invoice_reference("F-1003").unwrap();
    let p = m.propose(&Remit {
        creditor_ref: Some(&rf),
        ..remit(40_000, "")
    });
    assert_eq!(ids(&s, &p), [("F-1003".into(), 40_000)]);
    assert_eq!((p.rule, p.confidence), ("creditor_reference", 100));
    // The reference of a paid invoice: said, never applied to it; the customer is known.
    let rf = cash::invoice_reference("F-0999").unwrap();
    let p = m.propose(&remit(40_000, &rf));
    assert!(
        p.reasons
            .iter()
            .any(|r| matches!(r, Reason::AlreadyPaid(_)))
    );
    assert_eq!(ids(&s, &p), [("F-1003".into(), 40_000)]);
    assert!(p.invoices.iter().all(|x| x.1 > 0));
    // A customer's statement reference: the customer's invoices by amount.
    let rf = cash::customer_reference("B").unwrap();
    let p = m.propose(&remit(240_000, &rf));
    assert_eq!(
        ids(&s, &p),
        [
            ("INV-2024-0007".into(), 120_000),
            ("INV-2024-0008".into(), 120_000)
        ]
    );
    assert_eq!((p.rule, p.confidence), ("combination", 90));
}

#[test]
fn payer_and_amount() {
    let s = snap();
    let m = Matcher::new(&s, day("2024-06-30").0, MatchConfig::default());
    let by_iban = |amount, text| Remit {
        payer_iban: Some("FR76 3000 1007 9412 3456 7890 185"),
        ..remit(amount, text)
    };
    // One invoice of exactly this amount: 90 with the IBAN.
    let p = m.propose(&by_iban(25_000, "virement"));
    assert_eq!(ids(&s, &p), [("F-1002".into(), 25_000)]);
    assert_eq!((p.rule, p.confidence), ("exact_amount", 90));
    // A combination: 1 000 + 400.
    let p = m.propose(&by_iban(140_000, ""));
    assert_eq!(
        ids(&s, &p),
        [("F-1001".into(), 100_000), ("F-1003".into(), 40_000)]
    );
    assert_eq!((p.rule, p.confidence), ("combination", 85));
    // Everything open: 1 650.
    let p = m.propose(&by_iban(165_000, ""));
    assert_eq!(p.invoices.len(), 3);
    assert_eq!((p.rule, p.confidence), ("combination", 90));
    // 400 less 7.50 of bank fees: written off.
    let p = m.propose(&by_iban(39_250, ""));
    assert_eq!(ids(&s, &p), [("F-1003".into(), 39_250)]);
    assert_eq!((p.rule, p.write_off, p.confidence), ("tolerance", 750, 85));
    // Nothing fits: oldest first, below the threshold.
    let p = m.propose(&by_iban(110_000, ""));
    assert_eq!(
        ids(&s, &p),
        [("F-1001".into(), 100_000), ("F-1002".into(), 10_000)]
    );
    assert_eq!((p.rule, p.confidence), ("oldest_first", 50));
    // By name only: weaker.
    let p = m.propose(&Remit {
        payer_name: Some("CUSTOMER B SARL"),
        ..remit(120_000, "")
    });
    assert_eq!(ids(&s, &p), [("INV-2024-0007".into(), 120_000)]);
    assert!(p.reasons.contains(&Reason::Ambiguous));
    assert_eq!(p.confidence, 65);
    // A typo in the number of the identified payer's invoice, confirmed by the amount.
    let p = m.propose(&by_iban(40_000, "FACT F10O3"));
    assert_eq!(ids(&s, &p), [("F-1003".into(), 40_000)]);
    assert!(
        p.reasons
            .iter()
            .any(|r| matches!(r, Reason::InvoiceNumberNear(_)))
    );
    assert_eq!(p.confidence, 85);
    // A sister company paying C's invoice: the invoice wins, the confidence drops.
    let p = m.propose(&by_iban(9_900, "F-2001"));
    assert_eq!(ids(&s, &p), [("F-2001".into(), 9_900)]);
    assert_eq!(p.confidence, 85);
    // Nobody identified.
    let p = m.propose(&remit(120_000, "merci"));
    assert_eq!((p.customer, p.rule, p.confidence), (None, "unapplied", 0));
    assert_eq!(p.candidates.len(), 2); // the two invoices of 1 200.00
}

fn receipt(id: &str, date: &str, cents: i64, text: &str) -> Event {
    Event::Receipt(ReceiptRec {
        id: id.into(),
        date: day(date),
        amount: cents,
        remittance: Some(text.into()),
        currency: Some(Currency::EUR),
        ..ReceiptRec::default()
    })
}

fn apply(id: &str, date: &str, cust: &str, inv: &[(&str, i64)], author: Option<&str>) -> Event {
    Event::Cash(CashRec {
        receipt_id: id.into(),
        date: day(date),
        decision: Decision::Apply {
            customer_id: cust.into(),
            invoices: inv.iter().map(|(i, a)| (i.to_string(), *a)).collect(),
            write_off: 0,
        },
        rule: if author.is_some() {
            "manual"
        } else {
            "invoice_number"
        }
        .into(),
        confidence: 95,
        author: author.map(Into::into),
    })
}

fn undo(id: &str, date: &str, author: &str) -> Event {
    Event::Cash(CashRec {
        receipt_id: id.into(),
        date: day(date),
        decision: Decision::Undo,
        rule: "manual".into(),
        confidence: 100,
        author: Some(author.into()),
    })
}

/// Every figure a report shows of the snapshot, as of a few dates.
fn figures(s: &Snapshot) -> Vec<i64> {
    let mut v = Vec::new();
    let cum = s.daily_all().cumulative();
    for d in ["2024-06-01", "2024-06-20", "2024-06-30", "2024-07-31"] {
        let d = day(d).0;
        for i in 0..s.invoice_count() {
            v.push(s.open_at(i, d));
        }
        v.push(cum.unapplied(d));
        v.push(cum.open_invoices(d));
    }
    v
}

#[test]
fn decisions_enter_the_ledger_and_undo_gives_every_figure_back() {
    let base = ledger();
    let before = figures(&base.snapshot());
    let mut l = base.clone();
    l.ev.push(receipt("R1", "2024-06-20", 125_000, "F1001 F1002"));
    l.ev.push(apply(
        "R1",
        "2024-06-21",
        "A",
        &[("F-1001", 100_000), ("F-1002", 25_000)],
        None,
    ));
    let s = l.snapshot();
    let r = s.receipts.ids.find("R1").unwrap() as usize;
    assert_eq!(s.receipts.state[r], RECEIPT_APPLIED);
    let f1001 = s.invoices.ids.find("F-1001").unwrap() as usize;
    assert_eq!(s.open_at(f1001, day("2024-06-19").0), 100_000);
    assert_eq!(s.open_at(f1001, day("2024-06-20").0), 0);
    // Applying it twice, or more than received, is refused.
    let mut again = s.clone();
    let e = again
        .append([apply("R1", "2024-06-22", "A", &[("F-1003", 100)], None)])
        .unwrap_err();
    assert!(
        e.error.to_string().contains("undo its decision first"),
        "{e}"
    );
    let mut more = base.clone();
    more.ev.push(receipt("R2", "2024-06-20", 1_000, ""));
    let mut s2 = more.snapshot();
    let e = s2
        .append([apply("R2", "2024-06-22", "A", &[("F-1003", 1_001)], None)])
        .unwrap_err();
    assert!(
        matches!(
            e.error,
            LedgerError::Field {
                field: "amount",
                ..
            }
        ),
        "{e}"
    );
    // Undo: the incremental snapshot cannot take allocations back and says so…
    let mut inc = s.clone();
    let e = inc.append([undo("R1", "2024-06-25", "léa")]).unwrap_err();
    assert_eq!(e.error, LedgerError::Rebuild("R1".into()));
    // … and the ledger read again is exactly the one before, plus an open receipt.
    l.ev.push(undo("R1", "2024-06-25", "léa"));
    let s = l.snapshot();
    assert_eq!(figures(&s), before);
    assert_eq!(s.receipts.state[r], RECEIPT_OPEN);
    // Applied again after the undo.
    l.ev.push(apply(
        "R1",
        "2024-06-26",
        "A",
        &[("F-1003", 40_000)],
        Some("léa"),
    ));
    let s = l.snapshot();
    let f1003 = s.invoices.ids.find("F-1003").unwrap() as usize;
    assert_eq!(s.open_at(f1003, day("2024-06-30").0), 0);
    assert_eq!(s.open_at(f1001, day("2024-06-30").0), 100_000);
    // The rest of the receipt (850.00) stays unapplied on A.
    let unapplied = |s: &Snapshot| -s.daily_all().cumulative().unapplied(day("2024-06-30").0);
    assert_eq!(unapplied(&s) - unapplied(&base.snapshot()), 85_000);
}

#[test]
fn kpis_of_a_month() {
    // June: R1 auto-matched the day it came (1 000), R2 matched by Léa 5 days later (250),
    // R3 (400) still waiting; R4 from May (99) waited at the start of June and was matched on
    // June 3; R5 from May (7) still waits. Léa also undid then redid R2 once.
    let mut l = ledger();
    for (id, date, cents) in [
        ("R4", "2024-05-28", 9_900),
        ("R5", "2024-05-30", 700),
        ("R1", "2024-06-10", 100_000),
        ("R2", "2024-06-12", 25_000),
        ("R3", "2024-06-25", 40_000),
    ] {
        l.ev.push(receipt(id, date, cents, ""));
    }
    l.ev.push(apply(
        "R4",
        "2024-06-03",
        "C",
        &[("F-2001", 9_900)],
        Some("marc"),
    ));
    l.ev.push(apply("R1", "2024-06-10", "A", &[("F-1001", 100_000)], None));
    l.ev.push(apply(
        "R2",
        "2024-06-14",
        "A",
        &[("F-1003", 25_000)],
        Some("léa"),
    ));
    l.ev.push(undo("R2", "2024-06-16", "léa"));
    l.ev.push(apply(
        "R2",
        "2024-06-17",
        "A",
        &[("F-1002", 25_000)],
        Some("léa"),
    ));
    let s = l.snapshot();
    let k = cash::kpis(&s, day("2024-06-01").0, day("2024-06-30").0);
    // R0 of the fixture (0.01, June 1) is one of June's receipts.
    assert_eq!((k.receipts, k.receipts_amount), (4, 165_001));
    assert_eq!((k.auto, k.auto_amount), (1, 100_000));
    assert_eq!((k.manual, k.manual_amount), (1, 25_000));
    // Within 1 day: R1 (0 days); within 3: R1; within 7: R1 and R2 (5 days).
    assert_eq!(k.within, [1, 1, 2]);
    // Waiting on June 30: R3 (5 days old), R0 (29 days old) and R5 (31 days old).
    assert_eq!((k.unapplied, k.unapplied_amount), (3, 40_701));
    assert_eq!(k.unapplied_age, [40_000, 1, 700, 0]);
    // Waiting when June starts: R4 and R5 (R0, booked on June 1, is June's): 106.00, of which
    // R4's 99.00 was matched during June.
    assert_eq!((k.opening_unapplied, k.opening_matched), (10_600, 9_900));
    assert_eq!(
        k.by_user,
        vec![("léa".to_string(), 1, 1), ("marc".to_string(), 1, 0)]
    );
    assert_eq!(k.auto_rate(), Some(0.25));
}

#[test]
fn a_returned_payment_closes_its_receipt_and_takes_back_its_application() {
    let base = ledger();
    let before = figures(&base.snapshot());
    let mut l = base.clone();
    l.ev.push(receipt("R1", "2024-06-20", 40_000, "F-1003"));
    l.ev.push(apply("R1", "2024-06-20", "A", &[("F-1003", 40_000)], None));
    l.ev.push(Event::Cash(CashRec {
        receipt_id: "R1".into(),
        date: day("2024-06-24"),
        decision: Decision::Returned,
        rule: "manual".into(),
        confidence: 100,
        author: None,
    }));
    let s = l.snapshot();
    assert_eq!(figures(&s), before);
    let r = s.receipts.ids.find("R1").unwrap() as usize;
    assert_eq!(
        s.receipts.state[r],
        arpilot_core::snapshot::RECEIPT_RETURNED
    );
    assert!(
        cash::waiting(&s, day("2024-06-30").0)
            .iter()
            .all(|&x| x as usize != r)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the receipts, the engine's proposals applied in turn never take an invoice
    /// below zero nor use more than the receipt, the ledger accepts them, and undoing them all
    /// gives every figure back.
    #[test]
    fn applications_stay_within_bounds_and_undo_restores(
        amounts in proptest::collection::vec(1i64..300_000, 1..12),
        texts in proptest::collection::vec(0usize..6, 12),
    ) {
        let base = ledger();
        let before = figures(&base.snapshot());
        // Our references of an open and of a paid invoice too: a paid one is never applied.
        let rf_open = cash::invoice_reference("F-1001").unwrap();
        let rf_paid = cash::invoice_reference("F-0999").unwrap();
        let words = ["F-1001", "F1002 F1003", "INV-2024-0007", rf_open.as_str(), "F-2001 merci", rf_paid.as_str()];
        let mut l = base.clone();
        for (k, &a) in amounts.iter().enumerate() {
            l.ev.push(receipt(&format!("X{k}"), "2024-06-25", a, words[texts[k]]));
        }
        let s = l.snapshot();
        let mut m = Matcher::new(&s, day("2024-06-30").0, MatchConfig::default());
        let mut decided = Vec::new();
        for (k, &a) in amounts.iter().enumerate() {
            let p = m.propose(&remit(a, words[texts[k]]));
            prop_assert!(p.applied() <= a);
            for &(i, x) in &p.invoices {
                prop_assert!(x > 0 && x <= m.open(i));
            }
            if let Some(ev) = cash::decision(&s, &format!("X{k}"), &p, day("2024-06-30"), None) {
                m.commit(&p);
                decided.push((format!("X{k}"), ev));
            }
        }
        let open: Vec<i64> = (0..s.invoice_count()).map(|i| m.open(i as u32)).collect();
        prop_assert!(open.iter().all(|&o| o >= 0));
        drop(m);
        let mut s = s;
        s.append(decided.iter().map(|x| x.1.clone())).unwrap();
        for (i, &o) in open.iter().enumerate() {
            prop_assert!(s.open_at(i, day("2024-06-30").0) >= 0);
            prop_assert_eq!(s.open_at(i, day("2024-07-31").0), o);
        }
        for (id, ev) in &decided {
            l.ev.push(ev.clone());
            l.ev.push(undo(id, "2024-07-01", "léa"));
        }
        let after = l.snapshot();
        prop_assert_eq!(figures(&after), before);
    }
}
