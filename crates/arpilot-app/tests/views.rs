//! The views a server keeps stay equal to the ledger as stored: a push of new events is checked
//! against the live view and appended to it without reading the ledger; a repeated push changes
//! nothing; a refused push writes nothing; what another process appends is read incrementally;
//! an amendment rebuilds the views. After each step the live view reports exactly what a fresh
//! load of the store reports.

mod common;

use arpilot_app::Views;
use arpilot_app::import::{Author, push};
use arpilot_app::view::{Fast, Refreshed, load};
use arpilot_core::report::{ReportParams, report};
use arpilot_core::worklist::{WorklistParams, worklist};
use arpilot_core::{Day, Selection, Snapshot};
use arpilot_store::{LedgerStore, NewBatch, Store, Target};

fn d(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

fn json(snap: &Snapshot, as_of: &str) -> String {
    let r = report(snap, &Selection::all(), &ReportParams::new(d(as_of))).unwrap();
    serde_json::to_string(&r).unwrap()
}

/// The live view and a fresh load of the store report the same, on the last date and before;
/// the worklist the views keep is the one computed from the fresh load. True when the kept
/// worklist was brought forward by the appends, false when it had to be computed whole (none
/// yet, the date moved, the views were rebuilt).
async fn same_as_stored(views: &Views, store: &Store) -> bool {
    for as_of in ["2024-03-31", "2024-02-29"] {
        let live = views.at(store, Some(d(as_of))).await.unwrap();
        let fresh = load(store, Some(d(as_of)), None).await.unwrap().snapshot;
        assert_eq!(json(&live, as_of), json(&fresh, as_of), "as of {as_of}");
    }
    assert_eq!(views.loaded(), store.event_count().await.unwrap());
    let (all, th, date) = (Selection::all(), Default::default(), views.latest());
    let fresh = load(store, None, None).await.unwrap().snapshot;
    let want = worklist(&fresh, &all, date, &th, &WorklistParams::default());
    let snap = views.current();
    let whole = views.whole_worklists();
    let kept = views
        .worklist(&snap, &all, date, &th)
        .expect("the current date");
    let answered = views.whole_worklists() == whole;
    let kept: Vec<_> = kept.iter().map(|r| (**r).clone()).collect();
    assert!(!want.is_empty(), "the small ledger has customers to act on");
    assert_eq!(kept, want);
    answered
}

fn author() -> Author {
    Author {
        user: "test".into(),
        entity: None,
        effective: d("2024-04-02"),
    }
}

#[tokio::test]
async fn live_views_follow_pushes_and_other_writers() {
    let dir = std::env::temp_dir().join(format!("arpilot-app-views-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = Target::Sqlite(dir.join("ledger.db"));
    let store = Store::open(&target).await.unwrap();
    common::import_events(&store, common::small_events()).await;
    let views = Views::open(&store).await.unwrap();
    assert_eq!(
        views.latest(),
        d("2024-03-30"),
        "the last document or payment date"
    );
    let mut answered = vec![same_as_stored(&views, &store).await];
    let cur = views.current().currency;

    // New events: a payment allocated to F5 and a call. Appended to the live view.
    let body: serde_json::Value = serde_json::from_str(
        r#"{"source": "erp", "events": [
            {"type": "payment", "payment_id": "P9", "customer_id": "C3", "date": "2024-03-30", "amount": "100.00", "invoice_id": "F5"},
            {"type": "action", "customer_id": "C3", "date": "2024-03-30", "kind": "call", "agent": "Camille", "note": "will pay the rest"}
        ]}"#,
    )
    .unwrap();
    let before = views.current();
    let o = push(&store, Some(&views), &body, cur, &author())
        .await
        .unwrap();
    assert!(o.batch.is_some());
    assert_eq!((o.appended, o.payments, o.unchanged), (2, 1, 0));
    let after = views.current();
    // F5 is open 100.00 less than before: 2 900.00.
    let f5 = after.invoices.ids.find("F5").unwrap() as usize;
    assert_eq!(before.open_at(f5, d("2024-03-31").0), 300_000);
    assert_eq!(after.open_at(f5, d("2024-03-31").0), 290_000);
    answered.push(same_as_stored(&views, &store).await);

    // The same push again: nothing new, nothing written.
    let count = store.event_count().await.unwrap();
    let o = push(&store, Some(&views), &body, cur, &author())
        .await
        .unwrap();
    assert_eq!((o.batch, o.appended, o.unchanged), (None, 0, 2));
    assert_eq!(store.event_count().await.unwrap(), count);
    answered.push(same_as_stored(&views, &store).await);

    // A refused push (an allocation above the invoice's date rules: unknown customer) writes
    // nothing, and the live view is as before.
    let bad: serde_json::Value = serde_json::from_str(
        r#"{"events": [
            {"type": "payment", "payment_id": "P10", "customer_id": "C1", "date": "2024-03-30", "amount": "5.00"},
            {"type": "payment", "payment_id": "P11", "customer_id": "C404", "date": "2024-03-30", "amount": "5.00"}
        ]}"#,
    )
    .unwrap();
    let e = push(&store, Some(&views), &bad, cur, &author())
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("events[1]: "), "{e}");
    assert!(e.to_string().contains("C404"), "{e}");
    assert_eq!(store.event_count().await.unwrap(), count);
    assert!(views.current().sources.ids.find("P10").is_none());
    answered.push(same_as_stored(&views, &store).await);

    // The fast path itself: a new payment is appended without reading the ledger; a payment
    // whose id is already there is left to the synchronisation (`None`, nothing written).
    let payment = |id: &str| {
        arpilot_core::Event::Payment(arpilot_core::ledger::PaymentRec {
            id: id.into(),
            customer_id: "C3".into(),
            date: d("2024-03-31"),
            amount: 1_000,
            currency: None,
            invoice_id: Some("F5".into()),
            reference: None,
        })
    };
    let batch = || NewBatch::for_import("t".into(), String::new(), "json", None, "t".into());
    let Fast::Appended(a) = views
        .append_new(&store, &batch(), vec![payment("P20")])
        .await
        .unwrap()
    else {
        panic!("expected the payment appended to the live view")
    };
    assert_eq!((a.counts.appended, a.counts.payments), (1, 1));
    let declined = views
        .append_new(&store, &batch(), vec![payment("P20")])
        .await
        .unwrap();
    assert!(
        matches!(&declined, Fast::Declined(e) if e.len() == 1),
        "{declined:?}"
    );
    answered.push(same_as_stored(&views, &store).await);

    // A far-future date is refused with its field named, and nothing is written: such an
    // invoice would otherwise move every page's default date for good.
    let far: serde_json::Value = serde_json::from_str(
        r#"{"events": [{"type": "invoice", "document_id": "F99", "customer_id": "C1", "issue_date": "9999-12-31", "amount": "10.00"}]}"#,
    )
    .unwrap();
    let count = store.event_count().await.unwrap();
    let e = push(&store, Some(&views), &far, cur, &author())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "events[0].issue_date: expected a date from 1900-01-01 to 2199-12-31, found \"9999-12-31\""
    );
    assert_eq!(store.event_count().await.unwrap(), count);
    assert_eq!(views.latest(), d("2024-03-31"));

    // Another process appends: only its events are read.
    let other = Store::open(&target).await.unwrap();
    let more: serde_json::Value = serde_json::from_str(
        r#"{"events": [{"type": "payment", "payment_id": "P12", "customer_id": "C2", "date": "2024-03-31", "amount": "50.00"}]}"#,
    )
    .unwrap();
    push(&other, None, &more, cur, &author()).await.unwrap();
    assert_eq!(views.refresh(&store).await.unwrap(), Refreshed::Appended(1));
    assert_eq!(views.refresh(&store).await.unwrap(), Refreshed::Unchanged);
    answered.push(same_as_stored(&views, &store).await);

    // A changed customer becomes an amendment: the views are built again.
    let amend: serde_json::Value = serde_json::from_str(
        r#"{"events": [{"type": "customer", "customer_id": "C2", "name": "Beta SA", "credit_limit": "9000.00"}]}"#,
    )
    .unwrap();
    push(&other, None, &amend, cur, &author()).await.unwrap();
    assert_eq!(views.refresh(&store).await.unwrap(), Refreshed::Rebuilt);
    answered.push(same_as_stored(&views, &store).await);
    // The kept worklist followed every append of the same date; it was computed whole only at
    // first, when a payment moved the date to 03-31, and after the rebuild.
    assert_eq!(answered, [false, true, true, true, false, true, false]);

    // Now dated, the views take new events from what they keep in memory (the base and the
    // dated part), not from a new reading of the ledger: a call on the amended customer (its
    // part is dated), a payment of another, a second amendment, then another process's payment
    // and a new customer. Past dates stay what a build from the store gives.
    let calls: serde_json::Value = serde_json::from_str(
        r#"{"events": [
            {"type": "action", "customer_id": "C2", "date": "2024-03-31", "kind": "call", "agent": "Camille"},
            {"type": "payment", "payment_id": "P13", "customer_id": "C3", "date": "2024-03-31", "amount": "20.00", "invoice_id": "F5"},
            {"type": "customer", "customer_id": "C3", "name": "Gamma SAS", "credit_limit": "5000.00"}
        ]}"#,
    )
    .unwrap();
    push(&store, Some(&views), &calls, cur, &author())
        .await
        .unwrap();
    same_as_stored(&views, &store).await;
    let later: serde_json::Value = serde_json::from_str(
        r#"{"events": [
            {"type": "customer", "customer_id": "C7", "name": "Nouveau SAS"},
            {"type": "invoice", "document_id": "F70", "customer_id": "C7", "issue_date": "2024-03-31", "amount": "70.00"},
            {"type": "payment", "payment_id": "P14", "customer_id": "C1", "date": "2024-03-31", "amount": "10.00"}
        ]}"#,
    )
    .unwrap();
    push(&other, None, &later, cur, &author()).await.unwrap();
    assert_eq!(views.refresh(&store).await.unwrap(), Refreshed::Appended(3));
    same_as_stored(&views, &store).await;
    other.close().await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A dated ledger's live view and a build of the stored ledger list the same customers and
/// invoices, and report the same by customer, on the views' last date.
async fn same_lists(views: &Views, store: &Store) {
    use arpilot_core::customers::customers;
    use arpilot_core::invoices::invoices;
    let (all, th, date) = (Selection::all(), Default::default(), views.latest());
    let live = views.current();
    let fresh = load(store, Some(date), None).await.unwrap().snapshot;
    assert_eq!(
        customers(&live, &all, date, &th),
        customers(&fresh, &all, date, &th)
    );
    assert_eq!(invoices(&live, &all, date), invoices(&fresh, &all, date));
    let mut p = ReportParams::new(date);
    p.by = Some(arpilot_core::GroupBy::Customer);
    let by = |s: &Snapshot| serde_json::to_string(&report(s, &all, &p).unwrap()).unwrap();
    assert_eq!(by(&live), by(&fresh));
}

/// After each change the live view is what a build of the stored ledger gives, and the kept
/// worklist was brought forward (true: the events joined as they are) or computed whole
/// (false: the views were built again).
async fn check(views: &Views, store: &Store) -> bool {
    same_lists(views, store).await;
    same_as_stored(views, store).await
}

fn events(json: &str) -> serde_json::Value {
    serde_json::from_str(&format!(r#"{{"events": [{json}]}}"#)).unwrap()
}

#[tokio::test]
async fn dated_views_take_new_events_as_they_are() {
    let dir = std::env::temp_dir().join(format!("arpilot-app-dated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = Target::Sqlite(dir.join("ledger.db"));
    let store = Store::open(&target).await.unwrap();
    common::import_events(&store, common::small_events()).await;
    let cur = arpilot_core::Currency::EUR;
    // A customer in dollars with its rates (a new one in force on 31 March), and F1's due date
    // moved from 20 March, before the views open: the ledger is dated.
    let dollars = events(
        r#"{"type": "customer", "customer_id": "C8", "name": "Delta Inc", "currency": "USD"},
           {"type": "rate", "date": "2024-01-01", "currency": "USD", "rate": "0.9"},
           {"type": "rate", "date": "2024-03-31", "currency": "USD", "rate": "0.95"},
           {"type": "invoice", "document_id": "U1", "customer_id": "C8", "issue_date": "2024-03-01", "due_date": "2024-03-31", "amount": "1000.00"},
           {"type": "payment", "payment_id": "UP1", "customer_id": "C8", "date": "2024-03-20", "amount": "300.00", "invoice_id": "U1"}"#,
    );
    push(&store, None, &dollars, cur, &author()).await.unwrap();
    let mut moved = author();
    moved.effective = d("2024-03-20");
    let f1 = events(
        r#"{"type": "invoice", "document_id": "F1", "customer_id": "C1", "issue_date": "2024-01-10", "due_date": "2024-03-10", "amount": "1200.00"}"#,
    );
    let o = push(&store, None, &f1, cur, &moved).await.unwrap();
    assert_eq!(o.amended, 1, "{o:?}");
    let views = Views::open(&store).await.unwrap();
    views.warm_dated(&store).await.unwrap();
    assert_eq!(views.latest(), d("2024-03-30"));
    same_as_stored(&views, &store).await;

    // Calls on a customer of the base and on the one in dollars, a payment of the base, and a
    // new customer in euros with an invoice: they join the views as they are.
    let base = events(
        r#"{"type": "action", "customer_id": "C1", "date": "2024-03-30", "kind": "call", "agent": "Camille"},
           {"type": "action", "customer_id": "C8", "date": "2024-03-30", "kind": "email", "agent": "Hugo"},
           {"type": "payment", "payment_id": "P30", "customer_id": "C1", "date": "2024-03-30", "amount": "50.00", "invoice_id": "F2"},
           {"type": "customer", "customer_id": "C9", "name": "Epsilon SAS"},
           {"type": "invoice", "document_id": "F90", "customer_id": "C9", "issue_date": "2024-03-30", "amount": "90.00"}"#,
    );
    let o = push(&store, Some(&views), &base, cur, &author())
        .await
        .unwrap();
    assert_eq!(o.appended, 5);
    assert!(check(&views, &store).await, "joined as they are");

    // Two pushes before anything reads the views: the second pays the invoice of the first,
    // which the parts kept for other dates do not hold yet.
    let first = events(
        r#"{"type": "invoice", "document_id": "F91", "customer_id": "C9", "issue_date": "2024-03-30", "amount": "40.00"}"#,
    );
    let second = events(
        r#"{"type": "payment", "payment_id": "P91", "customer_id": "C9", "date": "2024-03-30", "amount": "40.00", "invoice_id": "F91"}"#,
    );
    for body in [&first, &second] {
        let o = push(&store, Some(&views), body, cur, &author())
            .await
            .unwrap();
        assert_eq!(o.appended, 1);
    }
    assert!(check(&views, &store).await, "joined as they are");

    // In dollars: an invoice in the customer's currency and a payment naming its own, converted
    // at the rate in force on the views' date (0.9: 100.00 USD are 90.00 EUR).
    let usd = events(
        r#"{"type": "invoice", "document_id": "U2", "customer_id": "C8", "issue_date": "2024-03-25", "due_date": "2024-04-25", "amount": "100.00"},
           {"type": "payment", "payment_id": "UP2", "customer_id": "C8", "date": "2024-03-30", "amount": "100.00", "currency": "USD", "invoice_id": "U2"}"#,
    );
    push(&store, Some(&views), &usd, cur, &author())
        .await
        .unwrap();
    let live = views.current();
    let u2 = live.invoices.ids.find("U2").unwrap() as usize;
    assert_eq!(live.invoices.amount[u2], 9_000);
    assert_eq!(live.open_at(u2, d("2024-03-30").0), 0);
    assert!(check(&views, &store).await, "joined as they are");

    // An allocation, back-dated (the allocation pass runs again over the view): the import
    // synchronises it with the store, and the views take it as it is.
    let alloc = events(
        r#"{"type": "allocation", "source_id": "P3", "invoice_id": "F3", "date": "2024-03-30", "amount": "50.00"}"#,
    );
    let o = push(&store, Some(&views), &alloc, cur, &author())
        .await
        .unwrap();
    assert_eq!(o.appended, 1);
    assert!(check(&views, &store).await, "joined as they are");

    // Another process's dollar payment, read by the refresh: as it is too.
    let other = Store::open(&target).await.unwrap();
    let later = events(
        r#"{"type": "payment", "payment_id": "UP3", "customer_id": "C8", "date": "2024-03-29", "amount": "10.00"}"#,
    );
    push(&other, None, &later, cur, &author()).await.unwrap();
    assert_eq!(views.refresh(&store).await.unwrap(), Refreshed::Appended(1));
    assert!(check(&views, &store).await, "joined as they are");

    // A payment on 31 March moves the views' date to the day the new rate takes effect: every
    // dollar amount converts differently, so the views are built again (from memory).
    let march = events(
        r#"{"type": "payment", "payment_id": "P31", "customer_id": "C2", "date": "2024-03-31", "amount": "5.00"}"#,
    );
    push(&store, Some(&views), &march, cur, &author())
        .await
        .unwrap();
    assert_eq!(views.latest(), d("2024-03-31"));
    assert!(!check(&views, &store).await, "built again");
    let u2 = views.current().invoices.ids.find("U2").unwrap() as usize;
    assert_eq!(views.current().invoices.amount[u2], 9_500);

    // A dispute opened on an invoice of the base, then a promise: as they are.
    let work = events(
        r#"{"type": "dispute", "invoice_id": "F2", "opened_on": "2024-03-31", "reason": "prix"},
           {"type": "promise", "invoice_id": "F4", "promised_on": "2024-03-31", "due_on": "2024-04-10", "amount": "100.00"}"#,
    );
    push(&store, Some(&views), &work, cur, &author())
        .await
        .unwrap();
    assert!(check(&views, &store).await, "joined as they are");

    // F2's dispute resolved (an amendment: built again), then another dispute opened on F2
    // before that day: a view built again has the amendment resolve it too, so this one is
    // built again as well rather than appended after the amendment.
    use arpilot_core::Event;
    use arpilot_core::ledger::{AmendRec, Change, DisputeRec};
    let batch = || NewBatch::for_import("work".into(), String::new(), "work", None, "t".into());
    let resolve = Event::Amend(AmendRec {
        effective: d("2024-03-31"),
        change: Change::DisputeResolved {
            invoice_id: "F2".into(),
            resolved_on: d("2024-03-31"),
            outcome: None,
            comment: None,
        },
    });
    views
        .append_exact(&store, &batch(), vec![resolve])
        .await
        .unwrap();
    assert!(!check(&views, &store).await, "built again");
    let again = Event::Dispute(DisputeRec {
        invoice_id: "F2".into(),
        opened_on: d("2024-03-30"),
        resolved_on: None,
        reason: Some("délai".into()),
        amount: None,
        owner: None,
    });
    views
        .append_exact(&store, &batch(), vec![again])
        .await
        .unwrap();
    assert!(!check(&views, &store).await, "built again");

    // F2's due date moved from 5 April, then a payment on 10 April: the views' date passes the
    // day the amendment takes effect, so the views are built again.
    let mut april = author();
    april.effective = d("2024-04-05");
    let f2 = events(
        r#"{"type": "invoice", "document_id": "F2", "customer_id": "C1", "issue_date": "2024-02-15", "due_date": "2024-05-15", "amount": "800.00"}"#,
    );
    assert_eq!(
        push(&store, Some(&views), &f2, cur, &april)
            .await
            .unwrap()
            .amended,
        1
    );
    check(&views, &store).await;
    let tenth = events(
        r#"{"type": "payment", "payment_id": "P40", "customer_id": "C3", "date": "2024-04-10", "amount": "5.00"}"#,
    );
    push(&store, Some(&views), &tenth, cur, &author())
        .await
        .unwrap();
    assert_eq!(views.latest(), d("2024-04-10"));
    assert!(!check(&views, &store).await, "built again");
    other.close().await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// One change pushed to a dated ledger in the property below.
#[derive(Clone, Debug)]
enum Change {
    Call(usize),
    Payment {
        customer: usize,
        cents: u32,
        day: usize,
        invoice: Option<usize>,
        in_dollars: bool,
    },
    Invoice {
        customer: usize,
        cents: u32,
        day: usize,
    },
    Dispute(usize, usize),
    Promise(usize, usize),
    Rate(usize),
}

const CUSTOMERS: [&str; 5] = ["C1", "C2", "C3", "D1", "D2"];
const DAYS: [&str; 5] = [
    "2024-03-25",
    "2024-03-30",
    "2024-03-31",
    "2024-04-02",
    "2024-04-12",
];

fn change() -> impl proptest::strategy::Strategy<Value = Change> {
    use proptest::prelude::*;
    let c = 0..CUSTOMERS.len();
    prop_oneof![
        3 => c.clone().prop_map(Change::Call),
        4 => (c.clone(), 1..90_000u32, 0..DAYS.len(), proptest::option::of(0..3usize), any::<bool>())
            .prop_map(|(customer, cents, day, invoice, in_dollars)| Change::Payment {
                customer,
                cents,
                day,
                invoice,
                in_dollars,
            }),
        2 => (c.clone(), 1..90_000u32, 0..DAYS.len())
            .prop_map(|(customer, cents, day)| Change::Invoice { customer, cents, day }),
        1 => (c.clone(), 0..3usize).prop_map(|(c, i)| Change::Dispute(c, i)),
        1 => (c, 0..3usize).prop_map(|(c, i)| Change::Promise(c, i)),
        1 => (0..DAYS.len()).prop_map(Change::Rate),
    ]
}

/// The JSON of a change, `k` its number (for new ids). Invoices `X{customer}-{i}` are the
/// ledger's three of each customer.
fn change_json(ch: &Change, k: usize) -> String {
    let inv = |c: usize, i: usize| format!("X{}-{i}", CUSTOMERS[c]);
    let money = |cents: u32| format!("{}.{:02}", cents / 100, cents % 100);
    match ch {
        Change::Call(c) => format!(
            r#"{{"type": "action", "customer_id": "{}", "date": "2024-03-30", "kind": "call", "agent": "Camille", "note": "n{k}"}}"#,
            CUSTOMERS[*c]
        ),
        Change::Payment {
            customer,
            cents,
            day,
            invoice,
            in_dollars,
        } => {
            let mut j = format!(
                r#"{{"type": "payment", "payment_id": "PP{k}", "customer_id": "{}", "date": "{}", "amount": "{}""#,
                CUSTOMERS[*customer],
                DAYS[*day],
                money(*cents)
            );
            if let Some(i) = invoice {
                j += &format!(r#", "invoice_id": "{}""#, inv(*customer, *i));
            }
            // A dollar customer's payment in its currency, named or not.
            if *in_dollars && CUSTOMERS[*customer].starts_with('D') {
                j += r#", "currency": "USD""#;
            }
            j + "}"
        }
        Change::Invoice {
            customer,
            cents,
            day,
        } => format!(
            r#"{{"type": "invoice", "document_id": "NF{k}", "customer_id": "{}", "issue_date": "{}", "amount": "{}"}}"#,
            CUSTOMERS[*customer],
            DAYS[*day],
            money(*cents)
        ),
        Change::Dispute(c, i) => format!(
            r#"{{"type": "dispute", "invoice_id": "{}", "opened_on": "2024-03-{:02}", "reason": "prix"}}"#,
            inv(*c, *i),
            20 + k % 10
        ),
        Change::Promise(c, i) => format!(
            r#"{{"type": "promise", "invoice_id": "{}", "promised_on": "2024-03-{:02}", "due_on": "2024-04-20", "amount": "100.00"}}"#,
            inv(*c, *i),
            20 + k % 10
        ),
        // Some in force on the views' date already, some later.
        Change::Rate(day) => format!(
            r#"{{"type": "rate", "date": "{}", "currency": "USD", "rate": "0.{}"}}"#,
            [
                "2024-03-01",
                "2024-03-22",
                "2024-03-30",
                "2024-04-05",
                "2024-04-12"
            ][*day],
            80 + k % 19
        ),
    }
}

/// A dated ledger: three customers in euros and two in dollars (their own currency), three
/// invoices each, dollar rates, a payment of each, a due date amended from 20 March and another
/// from 10 April.
async fn dated_ledger(store: &Store) {
    let cur = arpilot_core::Currency::EUR;
    let mut ev = vec![
        r#"{"type": "rate", "date": "2024-01-01", "currency": "USD", "rate": "0.9"}"#.to_string(),
        r#"{"type": "rate", "date": "2024-03-31", "currency": "USD", "rate": "0.95"}"#.to_string(),
    ];
    for (n, c) in CUSTOMERS.iter().enumerate() {
        let currency = if c.starts_with('D') { "USD" } else { "EUR" };
        ev.push(format!(
            r#"{{"type": "customer", "customer_id": "{c}", "name": "Client {c}", "currency": "{currency}"}}"#
        ));
        for i in 0..3 {
            ev.push(format!(
                r#"{{"type": "invoice", "document_id": "X{c}-{i}", "customer_id": "{c}", "issue_date": "2024-0{}-1{n}", "due_date": "2024-0{}-1{n}", "amount": "{}00.00"}}"#,
                i + 1,
                i + 2,
                3 + n + i
            ));
        }
        ev.push(format!(
            r#"{{"type": "payment", "payment_id": "P-{c}", "customer_id": "{c}", "date": "2024-03-2{n}", "amount": "150.00", "invoice_id": "X{c}-0"}}"#
        ));
    }
    push(store, None, &events(&ev.join(",")), cur, &author())
        .await
        .unwrap();
    for (effective, c) in [("2024-03-20", "C2"), ("2024-04-10", "D1")] {
        let mut a = author();
        a.effective = d(effective);
        let moved = events(&format!(
            r#"{{"type": "invoice", "document_id": "X{c}-1", "customer_id": "{c}", "issue_date": "2024-02-1{}", "due_date": "2024-05-05", "amount": "{}00.00"}}"#,
            CUSTOMERS.iter().position(|x| *x == c).unwrap(),
            4 + CUSTOMERS.iter().position(|x| *x == c).unwrap()
        ));
        assert_eq!(push(store, None, &moved, cur, &a).await.unwrap().amended, 1);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Whatever is pushed to a dated ledger, and however the views take it (as it is, or built
    /// again), the live views report what a build of the stored ledger reports.
    #[test]
    fn dated_views_follow_any_pushes(batches in proptest::collection::vec(proptest::collection::vec(change(), 1..4), 1..6)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let dir = std::env::temp_dir()
                .join(format!("arpilot-app-dated-prop-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let store = Store::open(&Target::Sqlite(dir.join("ledger.db"))).await.unwrap();
            dated_ledger(&store).await;
            let views = Views::open(&store).await.unwrap();
            let cur = arpilot_core::Currency::EUR;
            let mut k = 0;
            for batch in &batches {
                let body: Vec<String> = batch
                    .iter()
                    .map(|c| {
                        k += 1;
                        change_json(c, k)
                    })
                    .collect();
                let before = store.event_count().await.unwrap();
                if push(&store, Some(&views), &events(&body.join(",")), cur, &author())
                    .await
                    .is_err()
                {
                    assert_eq!(store.event_count().await.unwrap(), before, "refused: nothing written");
                }
                same_lists(&views, &store).await;
                for as_of in ["2024-03-31", "2024-02-29", "2024-04-11"] {
                    let live = views.at(&store, Some(d(as_of))).await.unwrap();
                    let fresh = load(&store, Some(d(as_of)), None).await.unwrap().snapshot;
                    assert_eq!(json(&live, as_of), json(&fresh, as_of), "as of {as_of}");
                }
            }
            store.close().await;
            let _ = std::fs::remove_dir_all(&dir);
        });
    }
}
