//! The long lists through HTTP: the customers and the aged balance paginated, sorted on every
//! column and searched on the server, with the totals of what the search kept — checked against
//! orders and sums computed here from the ledger the test wrote.

use arpilot_core::ledger::*;
use arpilot_core::{Currency, Money};
use arpilot_store::{Store, Target};

mod common;
use common::{App, Client, append, d};

/// A customer written by the test: id, name, balance in cents, collector.
type Truth = (String, String, i64, &'static str);

/// 120 customers more (C-100 … C-219), Léa's and Marc's in turn, each with one or two invoices
/// whose amounts make every balance distinct; names with accents for the search.
fn more() -> (Vec<Event>, Vec<Truth>) {
    let mut v = Vec::new();
    let mut truth = Vec::new();
    for k in 0..120i64 {
        let id = format!("C-{}", 100 + k);
        let collector = if k % 2 == 0 { "Léa" } else { "Marc" };
        let name = format!("Société Élan {k:03}");
        v.push(Event::Customer(CustomerRec {
            id: id.clone(),
            name: name.clone(),
            credit_limit: None,
            payment_terms_days: Some(30),
            attrs: vec![("collector".into(), collector.into())],
        }));
        // One invoice due long ago (overdue on 2024-06-30), and for every third customer one
        // not due yet.
        let a = 1_000 * ((k * 37) % 120 + 1) + k;
        v.push(Event::Document(DocumentRec::new(
            format!("FA-{k:04}"),
            &id,
            DocKind::Invoice,
            d("2024-02-01"),
            a,
        )));
        let mut balance = a;
        if k % 3 == 0 {
            v.push(Event::Document(DocumentRec::new(
                format!("FB-{k:04}"),
                &id,
                DocKind::Invoice,
                d("2024-06-20"),
                500,
            )));
            balance += 500;
        }
        truth.push((id, name, balance, collector));
    }
    (v, truth)
}

/// The customer ids of the table's body, in order.
fn ids(body: &str, table: &str) -> Vec<String> {
    let t = body
        .split(&format!(r#"<table id="{table}""#))
        .nth(1)
        .expect("the table")
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</tbody>")
        .next()
        .unwrap();
    t.split(r#"<a href="/customers/"#)
        .skip(1)
        .map(|s| s.split('?').next().unwrap().to_string())
        .collect()
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

async fn app_with_more() -> (App, Vec<Truth>) {
    let app = App::start().await;
    let (events, truth) = more();
    let store = Store::open(&Target::Sqlite(app.db())).await.unwrap();
    append(&store, events, "more").await;
    store.close().await;
    // The server notices an import made elsewhere within a fifth of a second.
    let admin = app.login("admin").await;
    for _ in 0..100 {
        let r = app.get(&admin, "/api/customers?as_of=2024-06-30").await;
        if r.body.contains("C-219") {
            return (app, truth);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the import was not noticed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_paginate_sort_and_search_on_the_server() {
    let (app, truth) = app_with_more().await;
    let admin: Client = app.login("admin").await;
    let lang = |body: &str| {
        if body.contains(r#"<html lang="fr""#) {
            arpilot_app::Lang::Fr
        } else {
            arpilot_app::Lang::En
        }
    };
    // The three customers of the shared ledger (600 EUR each) and the 120 above.
    let mut all: Vec<(String, i64)> = truth.iter().map(|t| (t.0.clone(), t.2)).collect();
    for id in ["C-NORD-1", "C-NORD-2", "C-SUD-1"] {
        all.push((id.to_string(), 60_000));
    }
    let total: i64 = all.iter().map(|x| x.1).sum();

    // Page 1 of 3 by default, 50 rows, the totals of all 123.
    let r = app.get(&admin, "/customers?as_of=2024-06-30").await;
    assert_eq!(r.status, 200);
    let l = lang(&r.body);
    assert_eq!(ids(&r.body, "customers").len(), 50);
    assert!(r.body.contains(&format!(
        "<tfoot><tr><th scope=\"row\">Total (123)</th><td class=\"n\">{}</td>",
        l.money(eur(total))
    )));
    assert!(r.body.contains("page=3"), "a link to the last page");
    assert!(!r.body.contains("page=4"));

    // Sorted by balance, descending, page 2: rows 51 to 100 of that order (ties by id).
    let mut by_balance = all.clone();
    by_balance.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let r = app
        .get(
            &admin,
            "/customers?as_of=2024-06-30&sort=balance&dir=desc&page=2",
        )
        .await;
    let want: Vec<String> = by_balance[50..100].iter().map(|x| x.0.clone()).collect();
    assert_eq!(ids(&r.body, "customers"), want);
    // The heading says how it is sorted; its link sorts the other way.
    assert!(r.body.contains(r#"aria-sort="descending""#));
    assert!(r.body.contains("sort=balance&amp;dir=asc"));
    // Ascending, 25 a page, past the last page: the last page (123 = 4 × 25 + 23).
    let r = app
        .get(
            &admin,
            "/customers?as_of=2024-06-30&sort=balance&dir=asc&per=25&page=99",
        )
        .await;
    let want: Vec<String> = by_balance
        .iter()
        .rev()
        .skip(100)
        .map(|x| x.0.clone())
        .collect();
    assert_eq!(ids(&r.body, "customers"), want);

    // By name: "Client C-…" before "Société Élan …", accents folded.
    let r = app
        .get(&admin, "/customers?as_of=2024-06-30&sort=name&per=10")
        .await;
    assert_eq!(
        ids(&r.body, "customers"),
        [
            "C-NORD-1", "C-NORD-2", "C-SUD-1", "C-100", "C-101", "C-102", "C-103", "C-104",
            "C-105", "C-106"
        ]
    );

    // Search by an invoice number: its customer only, totals of that customer.
    let r = app
        .get(&admin, "/customers?as_of=2024-06-30&q=fb-0009")
        .await;
    assert_eq!(ids(&r.body, "customers"), ["C-109"]);
    assert!(r.body.contains(&format!(
        "Total (1)</th><td class=\"n\">{}</td>",
        l.money(eur(truth[9].2))
    )));
    // By name without accents or case: "societe elan 01" is 010 to 019.
    let r = app
        .get(
            &admin,
            "/customers?as_of=2024-06-30&q=societe+elan+01&sort=id",
        )
        .await;
    let want: Vec<String> = (110..120).map(|k| format!("C-{k}")).collect();
    assert_eq!(ids(&r.body, "customers"), want);
    let sum: i64 = truth[10..20].iter().map(|t| t.2).sum();
    assert!(r.body.contains(&format!(
        "Total (10)</th><td class=\"n\">{}</td>",
        l.money(eur(sum))
    )));
    // The search box keeps the sort, the links keep the search.
    assert!(r.body.contains(r#"name="q" value="societe elan 01""#));
    assert!(
        r.body
            .contains(r#"<input type="hidden" name="sort" value="id">"#)
    );

    // The downloads keep the search and the sort: every row found, in the page's order.
    assert!(
        r.body
            .contains("/export/customers.csv?as_of=2024-06-30&amp;q=societe+elan+01&amp;sort=id")
    );
    let csv = app
        .get(
            &admin,
            "/export/customers.csv?as_of=2024-06-30&q=societe+elan+01&sort=id&dir=desc",
        )
        .await
        .body;
    let in_csv: Vec<&str> = csv
        .lines()
        .filter_map(|line| {
            line.split([',', ';'])
                .find(|c| c.trim_matches('"').starts_with("C-"))
        })
        .map(|c| c.trim_matches('"'))
        .collect();
    let want: Vec<String> = (110..120).rev().map(|k| format!("C-{k}")).collect();
    assert_eq!(in_csv, want);

    // Refused parameters name what was expected.
    for (q, want) in [
        ("per=5", "per: expected rows per page from 10 to 500"),
        ("sort=size", "sort: expected a column"),
        ("page=0", "page: expected a page number from 1"),
        ("dir=up", "dir: expected asc or desc"),
        ("page=1&page=2", "page: expected a single value"),
        ("sort=b1", "sort: expected name, id, balance"),
    ] {
        let r = app
            .get(&admin, &format!("/customers?as_of=2024-06-30&{q}"))
            .await;
        assert_eq!(r.status, 400, "{q}");
        assert!(r.body.contains(want), "{q}: {}", r.body);
    }
    let long = "x".repeat(101);
    let r = app.get(&admin, &format!("/customers?q={long}")).await;
    assert_eq!(r.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_searches_only_their_portfolio() {
    let (app, truth) = app_with_more().await;
    let lea = app.login("lea").await;
    // Léa's: C-NORD-1 and the even ones of the 120.
    let r = app
        .get(&lea, "/customers?as_of=2024-06-30&per=100&sort=id")
        .await;
    let mut want: Vec<String> = truth
        .iter()
        .filter(|t| t.3 == "Léa")
        .map(|t| t.0.clone())
        .collect();
    want.insert(0, "C-NORD-1".into());
    assert_eq!(ids(&r.body, "customers").len(), 61);
    assert!(r.body.contains("Total (61)"));
    // An invoice of Marc's customer C-101 is not found, nor its customer.
    let r = app.get(&lea, "/customers?as_of=2024-06-30&q=FA-0001").await;
    assert!(ids(&r.body, "customers").is_empty());
    assert!(r.body.contains("Total (0)"));
    let r = app.get(&lea, "/aging?as_of=2024-06-30&q=FA-0001").await;
    assert!(ids(&r.body, "aging").is_empty());
    assert!(!r.body.contains("C-101"));
    // Her own C-100 is.
    let r = app.get(&lea, "/aging?as_of=2024-06-30&q=FA-0000").await;
    assert_eq!(ids(&r.body, "aging"), ["C-100"]);
    assert_eq!(want.len(), 61);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aged_balance_sorts_on_a_bucket_and_totals_the_search() {
    let (app, truth) = app_with_more().await;
    let admin = app.login("admin").await;
    // Buckets not due, 1–30, 31–60, 61–90, 91–120, > 120: on 2024-06-30 the FA invoices (due
    // 2024-03-02) are 120 days late, in bucket 4 ("91–120"); the FB ones are not due.
    let r = app
        .get(
            &admin,
            "/aging?as_of=2024-06-30&buckets=30,60,90,120&sort=b0&per=10",
        )
        .await;
    assert_eq!(r.status, 200);
    // Not due, descending: the 40 customers with an FB invoice (500 each), ties by id.
    let mut want: Vec<String> = truth
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 3 == 0)
        .map(|(_, t)| t.0.clone())
        .collect();
    want.sort();
    assert_eq!(ids(&r.body, "aging"), want[..10]);
    let r = app
        .get(
            &admin,
            "/aging?as_of=2024-06-30&buckets=30,60,90,120&sort=b4&q=elan",
        )
        .await;
    let rows = ids(&r.body, "aging");
    assert_eq!(rows.len(), 50);
    assert!(r.body.contains("Total (120)"));
    // Totals of the search: every FA invoice in bucket 4, every FB one not due.
    let fa: i64 = (0..120i64).map(|k| 1_000 * ((k * 37) % 120 + 1) + k).sum();
    let fb: i64 = 40 * 500;
    let html = &r.body;
    let l = if html.contains(r#"<html lang="fr""#) {
        arpilot_app::Lang::Fr
    } else {
        arpilot_app::Lang::En
    };
    let foot = html.split("<tfoot>").nth(1).unwrap();
    assert!(foot.contains(&l.money(eur(fa))), "{foot}");
    assert!(foot.contains(&l.money(eur(fb))), "{foot}");
    assert!(foot.contains(&l.money(eur(fa + fb))), "{foot}");
    // Its download: the 120 rows found and their totals, not the ledger's.
    let csv = app
        .get(
            &admin,
            "/export/aging.csv?as_of=2024-06-30&buckets=30,60,90,120&sort=b4&q=elan",
        )
        .await
        .body;
    let lines: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains("C-1") || l.contains("C-2"))
        .collect();
    assert_eq!(lines.len(), 120);
    assert!(!csv.contains("C-NORD"));
    let total = csv
        .lines()
        .find(|l| l.starts_with("Total") || l.starts_with("\"Total"))
        .unwrap();
    let cents = |m: i64| format!("{}.{:02}", m / 100, m % 100);
    let cents_fr = |m: i64| format!("{},{:02}", m / 100, m % 100);
    assert!(
        total.contains(&cents(fa + fb)) || total.contains(&cents_fr(fa + fb)),
        "{total}"
    );
    // Bucket 4 descending: the largest FA first.
    let mut fa_order: Vec<(String, i64)> = (0..120i64)
        .map(|k| (format!("C-{}", 100 + k), 1_000 * ((k * 37) % 120 + 1) + k))
        .collect();
    fa_order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let want: Vec<String> = fa_order[..50].iter().map(|x| x.0.clone()).collect();
    assert_eq!(rows, want);
    // A bucket the set does not have.
    let r = app
        .get(&admin, "/aging?as_of=2024-06-30&buckets=30,60&sort=b9")
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("sort: expected name, balance or a bucket b0 to b3")
    );
}
