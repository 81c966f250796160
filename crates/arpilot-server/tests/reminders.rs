//! Reminders through the pages and the API — the preview of a hand-built ledger in each
//! caller's portfolio, skip and approve, the letters — and the customer portal: signed links,
//! the customer's invoices, a promise recorded as the collectors' work, forms refused without
//! their token.

mod common;

use arpilot_core::Day;
use arpilot_core::ledger::*;
use arpilot_store::{Store, Target, UserStore};
use common::{App, Client, csrf_of, d};
use serde_json::Value;
use std::collections::BTreeSet;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// The ledger's last date (the last invoices of [`common::events`]).
fn latest() -> Day {
    d("2024-02-19")
}

static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The common ledger (three customers whose first invoice, 100.00 due 2024-02-09, reached the
/// standard scenario's second step on 2024-02-19: a reminder each, as a letter since they have
/// no e-mail) and an English customer of Léa's with an e-mail address and 500.00 due
/// 2024-02-04; the portal's secret set.
async fn start() -> App {
    let path = std::env::temp_dir().join(format!(
        "arpilot-reminders-{}-{}.db",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
    let target = Target::Sqlite(path);
    common::seed(&target).await;
    let store = Store::open(&target).await.unwrap();
    common::append(
        &store,
        vec![
            Event::Customer(CustomerRec {
                id: "C-EN-1".into(),
                name: "Client anglais".into(),
                credit_limit: None,
                payment_terms_days: Some(30),
                attrs: vec![
                    ("collector".into(), "Léa".into()),
                    ("region".into(), "Nord".into()),
                    ("language".into(), "en".into()),
                    ("email".into(), "ap@example.com".into()),
                ],
            }),
            Event::Document(DocumentRec::new(
                "C-EN-1-F0".to_string(),
                "C-EN-1",
                DocKind::Invoice,
                d("2024-01-05"),
                50_000,
            )),
        ],
        "extra",
    )
    .await;
    store
        .set_setting(arpilot_app::portal::SECRET_KEY, SECRET)
        .await
        .unwrap();
    store.close().await;
    App::serve(target).await
}

async fn json(app: &App, c: &Client, path: &str) -> Value {
    let r = app.get(c, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

/// The customers of the preview's reminders.
async fn due(app: &App, c: &Client) -> BTreeSet<String> {
    json(app, c, "/api/reminders/preview").await["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["customer_id"].as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn location(r: &common::Resp) -> String {
    r.headers
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or("")
        .to_string()
}

async fn post(app: &App, c: &Client, path: &str, body: &str) -> common::Resp {
    c.send(&app.base, "POST", path, body, &[]).await
}

#[tokio::test]
async fn the_preview_lists_the_customers_due_in_each_portfolio() {
    let app = start().await;
    let (admin, lea, nord, nobody) = (
        app.login("admin").await,
        app.login("lea").await,
        app.login("nord").await,
        app.login("nobody").await,
    );
    let all = set(&["C-EN-1", "C-NORD-1", "C-NORD-2", "C-SUD-1"]);
    assert_eq!(due(&app, &admin).await, all);
    let pv = json(&app, &admin, "/api/reminders/preview?as_of=2024-02-19").await;
    assert_eq!(pv["as_of"], "2024-02-19");
    for r in pv["reminders"].as_array().unwrap() {
        assert_eq!(r["scenario"], "standard");
        assert_eq!(r["step"], 2);
        if r["customer_id"] == "C-EN-1" {
            assert_eq!(r["channel"], "email");
            assert_eq!(r["recipient"], "ap@example.com");
            assert_eq!(r["language"], "en");
            assert_eq!(r["amount"], "500.00");
        } else {
            // No e-mail address: a letter.
            assert_eq!(r["channel"], "letter", "{r}");
            assert_eq!(r["amount"], "100.00");
            let id = r["customer_id"].as_str().unwrap();
            assert_eq!(r["invoices"], serde_json::json!([format!("{id}-F0")]));
        }
    }
    // Nobody is due before the first step.
    assert!(
        json(&app, &admin, "/api/reminders/preview?as_of=2024-01-20").await["reminders"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let page = app.get(&admin, "/reminders").await;
    assert_eq!(page.status, 200);
    for id in &all {
        assert!(
            page.body.contains(&format!(r#"data-customer="{id}""#)),
            "{id}"
        );
    }
    assert!(page.body.contains(r#"id="approve-all""#));
    assert!(page.body.contains(r#"action="/reminders/skip""#));
    assert!(
        page.body.contains(r#"href="/reminders?"#),
        "the menu's entry"
    );

    // Léa sees her portfolio only, read-only.
    assert_eq!(due(&app, &lea).await, set(&["C-EN-1", "C-NORD-1"]));
    let page = app.get(&lea, "/reminders").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"data-customer="C-NORD-1""#));
    assert!(!page.body.contains("C-SUD-1") && !page.body.contains("C-NORD-2"));
    assert!(!page.body.contains(r#"action="/reminders/run""#));
    let csrf = csrf_of(&page.body);
    let r = post(
        &app,
        &lea,
        "/reminders/run",
        &format!("csrf={csrf}&customer=C-NORD-1"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(due(&app, &lea).await, set(&["C-EN-1", "C-NORD-1"]));

    // Viewers, and a collector without a portfolio, see nothing of it.
    for c in [&nord, &nobody] {
        assert_eq!(app.get(c, "/reminders").await.status, 403);
        assert_eq!(app.get(c, "/api/reminders/preview").await.status, 403);
        assert_eq!(app.get(c, "/api/reminders/history").await.status, 403);
    }
    assert_eq!(
        app.get(&admin, "/api/reminders/preview?as_of=2024-02-30")
            .await
            .status,
        400
    );
    assert_eq!(
        app.get(&admin, "/api/reminders/kpis?from=2024-03-01&to=2024-02-01")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn a_skip_removes_the_customer_and_an_approval_sends_its_letter() {
    let app = start().await;
    let (admin, lea) = (app.login("admin").await, app.login("lea").await);
    let csrf = csrf_of(&app.get(&admin, "/reminders").await.body);

    // Without the token, nothing.
    let r = post(
        &app,
        &admin,
        "/reminders/skip",
        "as_of=2024-02-19&customer=C-NORD-2",
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(due(&app, &admin).await.contains("C-NORD-2"));

    let r = post(
        &app,
        &admin,
        "/reminders/skip",
        &format!("csrf={csrf}&as_of=2024-02-19&customer=C-NORD-2&reason=pas+maintenant"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(location(&r), "/reminders?as_of=2024-02-19&skipped=1");
    assert_eq!(
        due(&app, &admin).await,
        set(&["C-EN-1", "C-NORD-1", "C-SUD-1"])
    );
    let pv = json(&app, &admin, "/api/reminders/preview").await;
    let waiting = pv["waiting"].as_array().unwrap();
    assert!(
        waiting
            .iter()
            .any(|w| w["customer_id"] == "C-NORD-2" && w["reason"] == "today"),
        "{pv}"
    );
    let page = app
        .get(&admin, "/reminders?as_of=2024-02-19&skipped=1")
        .await;
    assert!(page.body.contains(r#"id="flash""#));
    assert!(!page.body.contains(r#"data-customer="C-NORD-2""#));
    assert!(
        page.body.contains("pas maintenant"),
        "the reason in the history"
    );

    // Approving one customer: its letter is decided and printed, the others still wait.
    let r = post(
        &app,
        &admin,
        "/reminders/run",
        &format!("csrf={csrf}&as_of=2024-02-19&customer=C-NORD-1&customer=C-SUD-1"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        location(&r).contains("queued=2&sent=0&letters=2"),
        "{}",
        r.headers
    );
    assert_eq!(due(&app, &admin).await, set(&["C-EN-1"]));
    let history = json(&app, &admin, "/api/reminders/history").await;
    let rows = history.as_array().unwrap();
    let sent = rows
        .iter()
        .find(|h| h["customer_id"] == "C-NORD-1")
        .unwrap();
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["channel"], "letter");
    assert_eq!(sent["author"], "admin");
    let skipped = rows
        .iter()
        .find(|h| h["customer_id"] == "C-NORD-2")
        .unwrap();
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(skipped["error"], "pas maintenant");
    let kpis = json(&app, &admin, "/api/reminders/kpis").await;
    assert_eq!(kpis["total"]["sent"], 2);
    // The dashboard's card says as much to those who run the reminders, linking to the page.
    let dash = app.get(&admin, "/").await.body;
    let card = dash
        .split(r#"id="reminders-kpi""#)
        .nth(1)
        .unwrap_or("")
        .split("</a>")
        .next()
        .unwrap_or("");
    assert!(
        card.contains(r#"href="/reminders?as_of=2024-02-19""#) && card.contains("<b>2</b>"),
        "{card}"
    );
    assert!(
        card.contains("Activation at 30 days: —") && card.contains("EUR 0.00"),
        "{card}"
    );
    assert!(!app.get(&lea, "/").await.body.contains("reminders-kpi"));

    // The letter, to those who see the customer.
    let pdf = app.get(&admin, "/reminders/R20240219-C-NORD-1.pdf").await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.headers.contains("application/pdf") && pdf.body.starts_with("%PDF"));
    assert_eq!(
        app.get(&lea, "/reminders/R20240219-C-NORD-1.pdf")
            .await
            .status,
        200
    );
    for (c, path) in [
        (&lea, "/reminders/R20240219-C-SUD-1.pdf"),
        (&admin, "/reminders/R20240219-C-NORD-2.pdf"),
        (&admin, "/reminders/R20240219-NOPE.pdf"),
        (&admin, "/reminders/R20240219-C-NORD-1"),
    ] {
        assert_eq!(app.get(c, path).await.status, 404, "{path}");
    }
    // Léa's history holds her customers only.
    let own: BTreeSet<String> = json(&app, &lea, "/api/reminders/history")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["customer_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(own, set(&["C-NORD-1"]));

    // Through the API: a dry run decides nothing; an e-mail without an SMTP server is refused.
    let token = app.token("admin").await;
    let api = Client {
        cookie: None,
        bearer: Some(token),
    };
    let run = |body: &'static str| {
        let (api, base) = (api.clone(), app.base.clone());
        async move {
            api.send(
                &base,
                "POST",
                "/api/reminders/run",
                body,
                &[("Content-Type", "application/json")],
            )
            .await
        }
    };
    let r = run(r#"{"dry_run": true}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["dry_run"], true);
    assert_eq!(j["reminders"][0]["customer_id"], "C-EN-1");
    let r = run(r#"{"customers": ["C-EN-1"]}"#).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("SMTP"), "{}", r.body);
    assert_eq!(due(&app, &admin).await, set(&["C-EN-1"]));
    assert_eq!(run(r#"{"planet": "Mars"}"#).await.status, 400);
    // `null` is not a value the schema allows: refused, nothing decided.
    for body in [
        r#"{"dry_run": null}"#,
        r#"{"as_of": null}"#,
        r#"{"customers": null}"#,
    ] {
        assert_eq!(run(body).await.status, 400, "{body}");
    }
    assert_eq!(due(&app, &admin).await, set(&["C-EN-1"]));
}

/// The portal's link of `customer`, valid until `expires`.
fn link(customer: &str, expires: Day) -> String {
    format!(
        "/portal/{}",
        arpilot_app::portal::token(SECRET, customer, expires)
    )
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_portal_shows_its_customer_only_and_records_a_promise() {
    let app = start().await;
    let anon = Client::default();
    let admin = app.login("admin").await;
    let url = link("C-NORD-1", latest().add_days(30));

    let page = app.get(&anon, &url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for inv in ["C-NORD-1-F0", "C-NORD-1-F1", "C-NORD-1-F2"] {
        assert!(page.body.contains(inv), "{inv}");
    }
    assert!(page.body.contains("Client C-NORD-1"));
    assert!(page.body.contains("Factures ouvertes"), "French by default");
    assert!(page.body.contains("600,00\u{a0}EUR"), "the total");
    assert!(!page.body.contains("C-NORD-2") && !page.body.contains("C-SUD-1"));
    let pdf = app.get(&anon, &format!("{url}/statement.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with("%PDF"));
    // An English customer reads English.
    let en = app.get(&anon, &link("C-EN-1", latest().add_days(30))).await;
    assert_eq!(en.status, 200);
    assert!(en.body.contains("Open invoices") && en.body.contains("C-EN-1-F0"));

    // Another customer under the same signature, a changed signature, an expired link, another
    // secret, garbage: the same 404.
    let token = url.trim_start_matches("/portal/").to_string();
    let other = token.replacen(&hex("C-NORD-1"), &hex("C-NORD-2"), 1);
    let mut altered = token.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    let expired = link("C-NORD-1", latest().add_days(-1));
    let foreign = format!(
        "/portal/{}",
        arpilot_app::portal::token("another secret", "C-NORD-1", latest().add_days(30))
    );
    for bad in [
        format!("/portal/{other}"),
        format!("/portal/{altered}"),
        expired.clone(),
        foreign,
        "/portal/garbage".to_string(),
        format!("/portal/{other}/statement.pdf"),
    ] {
        let r = app.get(&anon, &bad).await;
        assert_eq!(r.status, 404, "{bad}");
        assert!(!r.body.contains("C-NORD"), "{bad}");
    }

    // A promise over two invoices, as the customer posts it.
    let csrf = csrf_of(&page.body);
    let r = post(
        &app,
        &anon,
        &format!("{url}/promise"),
        &format!(
            "csrf={csrf}&invoice=C-NORD-1-F0&invoice=C-NORD-1-F1&amount=250.00&date=2024-03-15"
        ),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(location(&r), format!("{url}?thanks=promise"));
    let thanks = app.get(&anon, &location(&r)).await;
    assert!(thanks.body.contains(r#"id="thanks""#));
    let file = json(&app, &admin, "/api/customers/C-NORD-1").await;
    let history = file["history"].as_array().unwrap();
    let promised: Vec<(&str, &str)> = history
        .iter()
        .filter(|e| e["kind"] == "promise")
        .map(|e| {
            assert_eq!(e["due_on"], "2024-03-15");
            (
                e["invoice_id"].as_str().unwrap(),
                e["amount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(promised.len(), 2, "{history:?}");
    assert!(promised.contains(&("C-NORD-1-F0", "100.00")));
    assert!(promised.contains(&("C-NORD-1-F1", "150.00")));
    assert!(
        history.iter().any(|e| e["kind"] == "action"
            && e["agent"] == "portal"
            && e["outcome"] == "promise"
            && e["note"] == "portail client"),
        "{history:?}"
    );

    // Refused: no token, a wrong one, another site; another customer's invoice. Nothing written.
    let body = "invoice=C-NORD-1-F2&amount=10.00&date=2024-03-15";
    for (b, extra) in [
        (body.to_string(), vec![]),
        (format!("csrf=forged&{body}"), vec![]),
        (
            format!("csrf={csrf}&{body}"),
            vec![("Origin", "https://evil.example")],
        ),
    ] {
        let r = anon
            .send(&app.base, "POST", &format!("{url}/promise"), &b, &extra)
            .await;
        assert_eq!(r.status, 403, "{b} {extra:?}");
    }
    // The token of one link is not another's.
    let en_url = link("C-EN-1", latest().add_days(30));
    let r = post(
        &app,
        &anon,
        &format!("{en_url}/promise"),
        &format!("csrf={csrf}&invoice=C-EN-1-F0&amount=10.00&date=2024-03-15"),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = post(
        &app,
        &anon,
        &format!("{url}/promise"),
        &format!("csrf={csrf}&invoice=C-NORD-2-F0&amount=10.00&date=2024-03-15"),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post(
        &app,
        &anon,
        &format!("{expired}/promise"),
        &format!("csrf={csrf}&{body}"),
    )
    .await;
    assert_eq!(r.status, 404);
    let after = json(&app, &admin, "/api/customers/C-NORD-1").await;
    assert_eq!(after["history"], file["history"]);
    assert!(
        json(&app, &admin, "/api/customers/C-NORD-2").await["history"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A dispute and a rating.
    let r = post(
        &app,
        &anon,
        &format!("{url}/dispute"),
        &format!("csrf={csrf}&invoice=C-NORD-1-F2&reason=livraison&comment=jamais+re%C3%A7u"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = post(
        &app,
        &anon,
        &format!("{url}/rating"),
        &format!("csrf={csrf}&rating=4"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let history = json(&app, &admin, "/api/customers/C-NORD-1").await["history"].clone();
    let history = history.as_array().unwrap();
    assert!(history.iter().any(|e| e["kind"] == "dispute"
        && e["invoice_id"] == "C-NORD-1-F2"
        && e["reason"] == "livraison"));
    assert!(history.iter().any(|e| e["kind"] == "action"
        && e["action"] == "survey"
        && e["note"] == "satisfaction 4/5"));

    // Rate-limited per address and route.
    let mut limited = false;
    for _ in 0..12 {
        let r = post(&app, &anon, &format!("{url}/rating"), "rating=9").await;
        if r.status == 429 {
            assert!(r.headers.contains("retry-after: "));
            limited = true;
            break;
        }
        assert_eq!(r.status, 403);
    }
    assert!(limited);
}

#[tokio::test]
async fn admins_edit_the_scenarios_and_preview_a_step() {
    let app = start().await;
    let admin = app.login("admin").await;
    let page = app.get(&admin, "/settings").await;
    assert!(page.body.contains("Reminder scenarios"));
    assert!(page.body.contains("grands-comptes"), "the standard policy");
    let csrf = csrf_of(&page.body);
    let form = |policy: &str, hour: &str| {
        format!(
            "csrf={csrf}&policy={}&hour={hour}&approval=manual&smtp_url=&smtp_from=&portal_url=https%3A%2F%2Far.example.com",
            form_urlencoded::byte_serialize(policy.as_bytes()).collect::<String>()
        )
    };
    let r = post(&app, &admin, "/settings/reminders", &form("{not json", "8")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("dunning.policy") && r.body.contains("{not json"));
    let mut policy = arpilot_core::dunning::Policy::standard();
    policy.scenarios.remove(0);
    policy.scenarios[0].steps[1].offset = 5;
    let json_policy = serde_json::to_string(&policy).unwrap();
    let r = post(
        &app,
        &admin,
        "/settings/reminders",
        &form(&json_policy, "25"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("dunning.hour"));
    let r = post(
        &app,
        &admin,
        "/settings/reminders",
        &form(&json_policy, "8"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = app.get(&admin, "/settings").await.body;
    assert!(!page.contains("grands-comptes") && page.contains(r#"value="manual" selected"#));
    let reminders = app.get(&admin, "/reminders").await.body;
    assert!(reminders.contains("Approval is manual"));

    let p = app
        .get(
            &admin,
            "/settings/reminders/preview?scenario=standard&step=2",
        )
        .await;
    assert_eq!(p.status, 200);
    // The first customer due, with its invoice, in its language (French by default).
    assert!(p.body.contains("Client C-NORD-1") && p.body.contains("C-NORD-1-F0"));
    assert!(p.body.contains("Sauf erreur"), "{}", p.body);
    assert!(p.body.contains("/portal/"));
    assert_eq!(
        app.get(
            &admin,
            "/settings/reminders/preview?scenario=standard&step=9"
        )
        .await
        .status,
        404
    );
    let lea = app.login("lea").await;
    assert_eq!(
        app.get(&lea, "/settings/reminders/preview?scenario=standard&step=1")
            .await
            .status,
        403
    );
}
