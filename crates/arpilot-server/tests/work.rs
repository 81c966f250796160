//! Recording work through the customer file's forms and the JSON API: who may write what, the
//! checks (field named, nothing written), and the effects on every page, live.

use std::time::Duration;

mod common;
use common::{App, Client, csrf_of, sse_event};

async fn report(app: &App, c: &Client) -> serde_json::Value {
    serde_json::from_str(&app.get(c, "/api/report").await.body).unwrap()
}

async fn history(app: &App, c: &Client, id: &str) -> Vec<serde_json::Value> {
    let j: serde_json::Value =
        serde_json::from_str(&app.get(c, &format!("/api/customers/{id}")).await.body).unwrap();
    j["history"].as_array().unwrap().clone()
}

/// Posts the customer file's form as `c` (its CSRF token first).
async fn post_form(app: &App, c: &Client, id: &str, fields: &str) -> common::Resp {
    let page = app.get(c, &format!("/customers/{id}")).await.body;
    let csrf = csrf_of(&page);
    c.send(
        &app.base,
        "POST",
        &format!("/customers/{id}/work"),
        &format!("csrf={csrf}&{fields}"),
        &[],
    )
    .await
}

async fn post_api(app: &App, token: &str, id: &str, body: &str) -> common::Resp {
    let c = Client {
        cookie: None,
        bearer: Some(token.to_string()),
    };
    c.send(
        &app.base,
        "POST",
        &format!("/api/customers/{id}/work"),
        body,
        &[("Content-Type", "application/json")],
    )
    .await
}

/// Léa (collector) logs a call on her customer with a promise covering two invoices: the
/// promise is split oldest due first, the dashboard's "promised" moves, an open manager page is
/// told, and the file shows the call with its author.
#[tokio::test]
async fn a_collector_logs_a_call_with_a_promise() {
    let app = App::start().await;
    let (admin, lea) = (app.login("admin").await, app.login("lea").await);
    assert_eq!(report(&app, &admin).await["totals"]["promised"], "0.00");
    let (mut live, _) = app.sse(&admin).await;
    let page = app.get(&lea, "/customers/C-NORD-1").await.body;
    assert!(page.contains(r#"id="work""#) && page.contains(r#"name="promise_amount""#));
    let r = post_form(
        &app,
        &lea,
        "C-NORD-1",
        "action=log&kind=call&outcome=promise&note=rappeler+apr%C3%A8s+le+15&invoice=C-NORD-1-F1&invoice=C-NORD-1-F0&promise_amount=250&promise_date=2024-03-15",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.headers.contains("/customers/C-NORD-1?#work"),
        "{}",
        r.headers
    );
    assert!(sse_event(&mut live, "ledger", Duration::from_secs(1)).await);
    // 100 on F0 (due first), 150 on F1: 250 promised, dated the ledger's last date.
    let j = report(&app, &admin).await;
    assert_eq!(j["as_of"], "2024-02-19");
    assert_eq!(j["totals"]["promised"], "250.00");
    let h = history(&app, &admin, "C-NORD-1").await;
    assert_eq!(h[0]["kind"], "action");
    assert_eq!(h[0]["agent"], "lea");
    assert_eq!(h[0]["action"], "call");
    assert_eq!(h[0]["outcome"], "promise");
    assert_eq!(h[0]["note"], "rappeler après le 15");
    let promises: Vec<(String, String)> = h
        .iter()
        .filter(|e| e["kind"] == "promise")
        .map(|e| {
            (
                e["invoice_id"].as_str().unwrap().to_string(),
                e["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        promises,
        [
            ("C-NORD-1-F1".to_string(), "150.00".to_string()),
            ("C-NORD-1-F0".to_string(), "100.00".to_string())
        ]
    );
    let page = app.get(&admin, "/customers/C-NORD-1").await.body;
    assert!(page.contains("rappeler après le 15"), "the note is shown");
    // The worklist knows: Léa's customer is now waiting for the promise on those invoices.
    let w: serde_json::Value =
        serde_json::from_str(&app.get(&lea, "/api/worklist?as_of=2024-03-10").await.body).unwrap();
    let me = &w[0];
    assert_eq!(me["customer_id"], "C-NORD-1");
    assert_eq!(me["last_action"], "2024-02-19");
    assert!(
        me["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "promise_running"),
        "{me}"
    );
}

#[tokio::test]
async fn writes_keep_to_roles_portfolios_and_checks() {
    let app = App::start().await;
    let (admin, lea, nord) = (
        app.login("admin").await,
        app.login("lea").await,
        app.login("nord").await,
    );
    let count = |h: Vec<serde_json::Value>| h.len();
    let before = count(history(&app, &admin, "C-NORD-1").await);
    let before_sud = count(history(&app, &admin, "C-SUD-1").await);
    // Outside Léa's portfolio: as if it did not exist.
    let r = post_form(&app, &lea, "C-NORD-1", "kind=call").await;
    assert_eq!(r.status, 303);
    let csrf = csrf_of(&app.get(&lea, "/").await.body);
    let r = lea
        .send(
            &app.base,
            "POST",
            "/customers/C-SUD-1/work",
            &format!("csrf={csrf}&kind=call"),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    // A viewer writes nothing, and sees no form.
    assert!(
        !app.get(&nord, "/customers/C-NORD-1")
            .await
            .body
            .contains(r#"id="work""#)
    );
    let csrf_nord = csrf_of(&app.get(&nord, "/").await.body);
    let r = nord
        .send(
            &app.base,
            "POST",
            "/customers/C-NORD-1/work",
            &format!("csrf={csrf_nord}&kind=call"),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    // A forged token.
    let r = lea
        .send(
            &app.base,
            "POST",
            "/customers/C-NORD-1/work",
            "csrf=forged&kind=call",
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    // Bad input: the field is named, the form is shown again, nothing is written.
    for (fields, field) in [
        ("kind=fax", "Action"),
        // 300 + 200 open on F2 and F1 at most.
        (
            "invoice=C-NORD-1-F1&promise_amount=999&promise_date=2024-03-15",
            "Amount promised",
        ),
        (
            "invoice=C-NORD-1-F1&promise_amount=10&promise_date=2024-01-01",
            "Promised for",
        ),
        (
            "invoice=C-SUD-1-F0&promise_amount=10&promise_date=2024-03-15",
            "Invoices",
        ),
        (
            "date=2024-01-01&invoice=C-NORD-1-F2&promise_amount=10&promise_date=2024-03-15",
            "Date",
        ),
        (
            "action=resolve&invoice=C-NORD-1-F0&resolution=rejected",
            "Invoices",
        ),
    ] {
        let r = post_form(&app, &lea, "C-NORD-1", &format!("action=log&{fields}")).await;
        assert_eq!(r.status, 422, "{fields}: {}", r.body);
        assert!(r.body.contains(r#"role="alert""#), "{fields}");
        assert!(r.body.contains(field), "{fields} names {field}");
    }
    assert_eq!(count(history(&app, &admin, "C-NORD-1").await), before + 1);
    assert_eq!(count(history(&app, &admin, "C-SUD-1").await), before_sud);
    // The API: a collector's token inside and outside the portfolio, a viewer's, bad input.
    let (t_lea, t_nord) = (app.token("lea").await, app.token("nord").await);
    let ok = post_api(
        &app,
        &t_lea,
        "C-NORD-1",
        r#"{"kind": "email", "outcome": "no_answer"}"#,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains(r#""events":1"#), "{}", ok.body);
    assert_eq!(
        post_api(&app, &t_lea, "C-SUD-1", r#"{"kind": "email"}"#)
            .await
            .status,
        404
    );
    assert_eq!(
        post_api(&app, &t_nord, "C-NORD-1", r#"{"kind": "email"}"#)
            .await
            .status,
        403
    );
    let r = post_api(
        &app,
        &t_lea,
        "C-NORD-1",
        r#"{"kind": "call", "invoice": ["C-NORD-1-F2"], "promise_amount": 301, "promise_date": "2024-03-01"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["field"], "promise_amount");
    assert!(j["error"].as_str().unwrap().contains("300.00"), "{j}");
    let r = post_api(
        &app,
        &t_lea,
        "C-NORD-1",
        r#"{"kind": "call", "outcome": "maybe"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post_api(
        &app,
        &t_lea,
        "C-NORD-1",
        r#"{"kind": "call", "colour": "red"}"#,
    )
    .await;
    assert!(r.body.contains(r#""field":"colour""#), "{}", r.body);
    // Two identical calls on one day are two calls.
    for _ in 0..2 {
        let r = post_api(
            &app,
            &t_lea,
            "C-NORD-1",
            r#"{"kind": "call", "outcome": "no_answer"}"#,
        )
        .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(count(history(&app, &admin, "C-NORD-1").await), before + 4);
}

/// A dispute opened from the file moves the invoice from due to disputed; resolving it says how
/// and moves it back.
#[tokio::test]
async fn disputes_open_and_resolve() {
    let app = App::start().await;
    let (admin, lea) = (app.login("admin").await, app.login("lea").await);
    let r = post_form(
        &app,
        &lea,
        "C-NORD-1",
        "kind=call&outcome=dispute&invoice=C-NORD-1-F2&dispute_reason=prix&dispute_owner=ADV+Nord",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(report(&app, &admin).await["totals"]["disputed"], "300.00");
    // Twice is refused.
    let r = post_form(
        &app,
        &lea,
        "C-NORD-1",
        "kind=call&invoice=C-NORD-1-F2&dispute_reason=prix",
    )
    .await;
    assert_eq!(r.status, 422);
    let page = app.get(&lea, "/customers/C-NORD-1").await.body;
    assert!(
        page.contains(r#"value="resolve""#),
        "the resolve form is offered"
    );
    let r = post_form(
        &app,
        &lea,
        "C-NORD-1",
        "action=resolve&invoice=C-NORD-1-F2&resolution=justified&comment=avoir+%C3%A0+%C3%A9mettre",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(report(&app, &admin).await["totals"]["disputed"], "0.00");
    let h = history(&app, &admin, "C-NORD-1").await;
    let d = h.iter().find(|e| e["kind"] == "dispute").unwrap();
    assert_eq!(d["owner"], "ADV Nord");
    assert_eq!(d["outcome"], "justified");
    assert_eq!(d["comment"], "avoir à émettre");
    assert_eq!(d["resolved_on"], "2024-02-19");
}

/// The follow-up (contact, not to contact before a date, next action) and reassignment: only
/// managers and admins move a customer; the collector it leaves no longer sees it.
#[tokio::test]
async fn follow_ups_and_reassignment() {
    let app = App::start().await;
    let (admin, lea) = (app.login("admin").await, app.login("lea").await);
    let r = post_form(
        &app,
        &lea,
        "C-NORD-1",
        "action=plan&contact_name=Mme+Roux&contact_role=comptable&contact_email=roux%40client.fr&hold_until=2024-03-10&hold_reason=r%C3%A8glement+en+cours",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let j: serde_json::Value =
        serde_json::from_str(&app.get(&admin, "/api/customers/C-NORD-1").await.body).unwrap();
    let f = &j["follow_up"];
    assert_eq!(f["contact_name"], "Mme Roux");
    assert_eq!(f["contact_email"], "roux@client.fr");
    assert_eq!(f["hold_until"], "2024-03-10");
    // On hold: off Léa's worklist until the date.
    let w = app.get(&lea, "/api/worklist").await.body;
    assert!(!w.contains("C-NORD-1"), "{w}");
    let w = app.get(&lea, "/api/worklist?as_of=2024-03-11").await.body;
    assert!(w.contains("C-NORD-1"), "{w}");
    // A contact e-mail without @, a hold without its reason: refused with the field.
    let r = post_form(&app, &lea, "C-NORD-1", "action=plan&contact_email=roux").await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("E-mail"), "{}", r.body);
    let r = post_form(&app, &lea, "C-NORD-1", "action=plan&hold_until=2024-04-01").await;
    assert_eq!(r.status, 422);
    // A collector cannot reassign; an admin can, and the customer leaves Léa's portfolio.
    let r = post_form(&app, &lea, "C-NORD-1", "action=reassign&collector=Marc").await;
    assert_eq!(r.status, 403);
    let r = post_form(&app, &admin, "C-NORD-1", "action=reassign&collector=Marc").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(app.get(&lea, "/api/customers/C-NORD-1").await.status, 404);
    let j: serde_json::Value = serde_json::from_str(
        &app.get(&admin, "/api/customers?filter=collector%3DMarc")
            .await
            .body,
    )
    .unwrap();
    let ids: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["customer_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"C-NORD-1"), "{ids:?}");
    // Its region and name are kept.
    let j: serde_json::Value =
        serde_json::from_str(&app.get(&admin, "/api/customers/C-NORD-1").await.body).unwrap();
    assert_eq!(j["customer"]["name"], "Client C-NORD-1");
    let nord = app.login("nord").await;
    assert_eq!(app.get(&nord, "/api/customers/C-NORD-1").await.status, 200);
}

/// The worklist shows 50 customers a page; `page=2` starts at rank 51 and links keep the date.
#[tokio::test]
async fn the_worklist_pages_by_fifty() {
    let app = App::start().await;
    let token = app.token("admin").await;
    let events: Vec<String> = (0..60)
        .flat_map(|k| {
            [
                format!(r#"{{"type": "customer", "customer_id": "P{k:02}", "name": "Page {k}"}}"#),
                format!(
                    r#"{{"type": "invoice", "document_id": "PF{k:02}", "customer_id": "P{k:02}", "issue_date": "2024-01-01", "due_date": "2024-01-31", "amount": "{}"}}"#,
                    100 + k
                ),
            ]
        })
        .collect();
    let r = app
        .push(&token, &format!(r#"{{"events": [{}]}}"#, events.join(",")))
        .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let admin = app.login("admin").await;
    let first = app.get(&admin, "/worklist?as_of=2024-06-30").await.body;
    assert!(
        first.contains(r#"<td class="n">50</td>"#) && !first.contains(r#"<td class="n">51</td>"#)
    );
    let second = app
        .get(&admin, "/worklist?as_of=2024-06-30&page=2")
        .await
        .body;
    assert!(
        second.contains(r#"<td class="n">51</td>"#),
        "page 2 starts at 51"
    );
    assert!(!second.contains(r#"<td class="n">50</td>"#));
    assert!(
        second.contains(r#"href="/worklist?as_of=2024-06-30&amp;page=1""#),
        "the pager keeps the date"
    );
}
