//! The OpenAPI document against the server: every route is described, and the real answers of a
//! demo-like ledger — figures, errors — validate against the document's schemas (JSON Schema
//! 2020-12), so a schema drifting from the JSON fails here.

mod common;

use arpilot_app::import::{Incoming, import};
use arpilot_core::Day;
use arpilot_server::auth;
use arpilot_store::{NewBatch, Store, Target, UserStore};
use common::{App, Client};
use serde_json::{Value, json};

/// A small demo company (the demo's generator: two entities, dollars, disputes, promises,
/// actions, custom fields) with a manager `dupont` and a collector `camille`.
async fn demo_like() -> App {
    let dir = std::env::temp_dir().join(format!("arpilot-openapi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut p = arpilot_synth::Params::new(1_500, 7);
    p.usd_share = 0.3;
    arpilot_synth::generate(&p, &dir).unwrap();
    let set = arpilot_ingest::ledger_csv::read_set(std::slice::from_ref(&dir)).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let path = std::env::temp_dir().join(format!("arpilot-openapi-{}.db", std::process::id()));
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
    let target = Target::Sqlite(path);
    let store = Store::open(&target).await.unwrap();
    import(
        &store,
        Incoming::new(
            set.events,
            set.currency,
            NewBatch::for_import("demo".into(), String::new(), "ledger", None, "demo".into()),
            p.end,
            vec![],
        ),
        &|_| {},
    )
    .await
    .unwrap();
    for (login, role, portfolio) in [
        ("dupont", "manager", ""),
        ("camille", "collector", "collector=Camille Martin"),
    ] {
        store
            .add_user(
                login,
                &auth::hash_password(&format!("pw-{login}")),
                role,
                portfolio,
            )
            .await
            .unwrap();
    }
    store.close().await;
    App::serve(target).await
}

/// The paths `router()` routes, read from its source.
fn routed_paths() -> Vec<String> {
    let src = include_str!("../src/lib.rs");
    let router = src
        .split("pub fn router(")
        .nth(1)
        .and_then(|s| s.split("\n}\n").next())
        .expect("router()");
    router
        .split(".route(")
        .skip(1)
        .map(|r| r.split('"').nth(1).expect("a route's path").to_string())
        .collect()
}

/// A validator for the schema at `pointer` in `doc`, its references resolved in `doc`.
fn validator(doc: &Value, pointer: &str) -> jsonschema::Validator {
    let schema = doc
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no schema at {pointer}"));
    let mut root = json!({"$schema": "https://json-schema.org/draft/2020-12/schema"});
    let o = root.as_object_mut().unwrap();
    for (k, v) in schema.as_object().unwrap() {
        o.insert(k.clone(), v.clone());
    }
    o.insert("components".into(), doc["components"].clone());
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{pointer}: {e}"))
}

/// `~1`-escaped JSON pointer segment.
fn esc(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

/// Checks `body` against the document's schema for `status` of `GET path`.
fn check(doc: &Value, path: &str, method: &str, status: u16, body: &str) {
    let pointer = format!(
        "/paths/{}/{method}/responses/{status}/content/application~1json/schema",
        esc(path)
    );
    let v = validator(doc, &pointer);
    let value: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{path} {status}: {e}: {body}"));
    let errors: Vec<String> = v
        .iter_errors(&value)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} → {status} does not match the document:\n{}",
        errors.join("\n")
    );
}

async fn get(app: &App, c: &Client, url: &str) -> (u16, String, String) {
    let r = app.get(c, url).await;
    (r.status, r.headers, r.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_every_route_and_every_answer() {
    let app = demo_like().await;
    let anonymous = Client::default();
    let (status, headers, body) = get(&app, &anonymous, "/api/openapi.json").await;
    assert_eq!(status, 200, "{headers}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    // Every route is described; the JSON ones with the schema of their answer.
    let routes = routed_paths();
    assert!(routes.len() >= 30, "{routes:?}");
    let paths = doc["paths"].as_object().unwrap();
    for r in &routes {
        let item = paths
            .get(r)
            .unwrap_or_else(|| panic!("{r} is routed but not in the document"));
        if r.starts_with("/api/") {
            let op = item.get("get").or_else(|| item.get("post")).unwrap();
            assert!(
                op.pointer("/responses/200/content/application~1json/schema")
                    .is_some(),
                "{r}: no schema for its answer"
            );
        }
        for op in item.as_object().unwrap().values() {
            assert!(op["summary"].is_string(), "{r}: no summary");
            assert!(op["responses"].is_object(), "{r}: no responses");
        }
    }
    for p in paths.keys() {
        assert!(routes.contains(p), "{p} is described but not routed");
    }
    // Filters and groupings name the ledger's dimensions.
    let by = &doc["paths"]["/api/report"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "by")
        .unwrap()["schema"]["anyOf"][0]["enum"];
    for d in ["customer", "invoice", "region", "collector", "entity"] {
        assert!(by.as_array().unwrap().contains(&json!(d)), "{d}: {by}");
    }

    // The answers of every GET, with the parameters that shape them, match their schemas.
    let manager = Client {
        bearer: Some(app.token("dupont").await),
        ..Client::default()
    };
    let camille = Client {
        bearer: Some(app.token("camille").await),
        ..Client::default()
    };
    let (_, _, customers) = get(&app, &manager, "/api/customers").await;
    let customers: Value = serde_json::from_str(&customers).unwrap();
    let ids: Vec<String> = customers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 10);
    // A customer with disputes, promises and actions in its file, and one without history.
    let mut busy = None;
    for id in &ids {
        let (_, _, f) = get(&app, &manager, &format!("/api/customers/{id}")).await;
        let f: Value = serde_json::from_str(&f).unwrap();
        let kinds: std::collections::BTreeSet<&str> = f["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        if kinds.len() == 3 && !f["payments"].as_array().unwrap().is_empty() {
            busy = Some(id.clone());
            break;
        }
    }
    let busy = busy.expect("a customer with disputes, promises and actions");
    let cases: Vec<(&Client, String, &str)> = vec![
        (&manager, "/api/report".into(), "/api/report"),
        (&manager, "/api/report?by=region&top=3&buckets=15,45&basis=issue&provisions=0,0,10,50".into(), "/api/report"),
        (&manager, "/api/report?by=invoice&status=disputed".into(), "/api/report"),
        (&manager, "/api/report?as_of=2025-06-30&filter=entity%3DFR01&issued_from=2025-01-01&issued_to=2025-05-31".into(), "/api/report"),
        (&camille, "/api/report?by=customer".into(), "/api/report"),
        (&manager, "/api/report/management".into(), "/api/report/management"),
        (&camille, "/api/report/management?as_of=2025-06-30&buckets=30,90".into(), "/api/report/management"),
        (&manager, "/api/aging".into(), "/api/aging"),
        (&manager, "/api/aging?by=collector&buckets=30,90".into(), "/api/aging"),
        (&manager, "/api/customers".into(), "/api/customers"),
        (&manager, "/api/customers?as_of=2025-02-28&status=promised".into(), "/api/customers"),
        (&manager, format!("/api/customers/{busy}"), "/api/customers/{id}"),
        (&manager, format!("/api/customers/{}?as_of=2024-11-30", ids[0]), "/api/customers/{id}"),
        (&manager, format!("/api/customers/{busy}/rating"), "/api/customers/{id}/rating"),
        (&manager, format!("/api/customers/{busy}/rating?months=30"), "/api/customers/{id}/rating"),
        (&manager, "/api/invoices?filter=region%3DNord".into(), "/api/invoices"),
        (&manager, "/api/invoices?as_of=2026-01-31".into(), "/api/invoices"),
        (&manager, "/api/team".into(), "/api/team"),
        (&camille, "/api/team".into(), "/api/team"),
        (&manager, "/api/cohorts".into(), "/api/cohorts"),
        (&manager, "/api/cohorts?months=3&as_of=2025-12-31".into(), "/api/cohorts"),
        (&manager, "/api/forecast".into(), "/api/forecast"),
        (&manager, "/api/broken-promises".into(), "/api/broken-promises"),
        (&manager, "/api/worklist".into(), "/api/worklist"),
        (&manager, "/api/work?days=90".into(), "/api/work"),
        (&camille, "/api/work".into(), "/api/work"),
        (&camille, "/api/worklist?as_of=2026-06-30".into(), "/api/worklist"),
        (&anonymous, "/api/openapi.json".into(), "/api/openapi.json"),
        (&manager, "/api/reminders/preview".into(), "/api/reminders/preview"),
        (&camille, "/api/reminders/preview?as_of=2026-06-30".into(), "/api/reminders/preview"),
        (&manager, "/api/reminders/history?from=2025-01-01".into(), "/api/reminders/history"),
        (&manager, "/api/reminders/kpis".into(), "/api/reminders/kpis"),
    ];
    for (c, url, path) in &cases {
        let (status, headers, body) = get(&app, c, url).await;
        assert_eq!(status, 200, "{url}: {headers}\n{body}");
        assert!(
            headers.contains("content-type: application/json"),
            "{url}: {headers}"
        );
        check(&doc, path, "get", 200, &body);
    }
    // A dry run of the reminders, its answer as described.
    let r = manager
        .send(
            &app.base,
            "POST",
            "/api/reminders/run",
            r#"{"dry_run": true}"#,
            &[("Content-Type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    check(&doc, "/api/reminders/run", "post", 200, &r.body);
    assert!(
        !serde_json::from_str::<Value>(&r.body).unwrap()["reminders"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the demo ledger has reminders due"
    );

    // A drift is seen: an amount as a number, a missing field, an unknown rating.
    let (_, _, r) = get(&app, &manager, "/api/report").await;
    let mut r: Value = serde_json::from_str(&r).unwrap();
    let v = validator(
        &doc,
        "/paths/~1api~1report/get/responses/200/content/application~1json/schema",
    );
    assert!(v.is_valid(&r));
    r["totals"]["balance"] = json!(12.5);
    assert!(!v.is_valid(&r));
    r["totals"].as_object_mut().unwrap().remove("balance");
    assert!(!v.is_valid(&r));
    let (_, _, c) = get(&app, &manager, "/api/customers").await;
    let mut c: Value = serde_json::from_str(&c).unwrap();
    c[0]["rating"] = json!("E");
    assert!(
        !validator(
            &doc,
            "/paths/~1api~1customers/get/responses/200/content/application~1json/schema"
        )
        .is_valid(&c)
    );

    // The months asked for are the months answered.
    let (_, _, r) = get(
        &app,
        &manager,
        &format!("/api/customers/{busy}/rating?months=30"),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&r)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        31
    );
    let (_, _, r) = get(&app, &manager, "/api/cohorts?months=3").await;
    assert_eq!(
        serde_json::from_str::<Value>(&r)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Errors, as described.
    let other = format!("/api/customers/{}", outside(&app, &camille, &ids).await);
    for (c, url, path, status) in [
        (&manager, "/api/report?buckets=60,30", "/api/report", 400),
        (&manager, "/api/report?by=nowhere", "/api/report", 400),
        (&manager, "/api/report?provisions=0,50", "/api/report", 400),
        (
            &manager,
            "/api/aging?filter=planet%3DMars",
            "/api/aging",
            400,
        ),
        (
            &manager,
            "/api/invoices?as_of=2200-01-01",
            "/api/invoices",
            400,
        ),
        (&manager, "/api/cohorts?months=241", "/api/cohorts", 400),
        (&manager, "/api/customers/NOPE", "/api/customers/{id}", 404),
        (
            &manager,
            "/api/customers/NOPE/rating",
            "/api/customers/{id}/rating",
            404,
        ),
        (&camille, other.as_str(), "/api/customers/{id}", 404),
        (&anonymous, "/api/report", "/api/report", 401),
        (&anonymous, "/api/team", "/api/team", 401),
    ] {
        let (s, headers, body) = get(&app, c, url).await;
        assert_eq!(s, status, "{url}: {headers}\n{body}");
        check(&doc, path, "get", status, &body);
    }

    // The push: its answer and its refusals.
    let token = manager.bearer.clone().unwrap();
    let (s, body) = push(
        &app,
        &token,
        r#"{"source": "erp", "events": [{"type": "customer", "customer_id": "NEW-1", "name": "New", "region": "Nord"}]}"#,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    check(&doc, "/api/events", "post", 200, &body);
    let (s, body) = push(&app, &token, r#"{"events": [{"type": "payment"}]}"#).await;
    assert_eq!(s, 400, "{body}");
    check(&doc, "/api/events", "post", 400, &body);
    let (s, body) = push(
        &app,
        camille.bearer.as_deref().unwrap(),
        r#"{"events": []}"#,
    )
    .await;
    assert_eq!(s, 403, "{body}");
    check(&doc, "/api/events", "post", 403, &body);

    // The example bodies of the push validate against its request schema.
    let request = validator(
        &doc,
        "/paths/~1api~1events/post/requestBody/content/application~1json/schema",
    );
    for ok in [
        json!({"events": [
            {"type": "customer", "customer_id": "C1", "name": "Alpha", "credit_limit": "5000", "custom": {"sector": "BTP"}},
            {"type": "invoice", "document_id": "F1", "customer_id": "C1", "issue_date": "2024-01-10", "amount": "1200.00", "region": "Nord"},
            {"type": "payment", "payment_id": "P1", "customer_id": "C1", "date": "2024-02-12", "amount": 300, "invoice_id": "F1"},
        ]}),
        json!({"source": "erp", "events": []}),
    ] {
        assert!(request.is_valid(&ok), "{ok}");
    }
    for bad in [
        json!({"events": [{"type": "invoice", "document_id": "F1", "customer_id": "C1", "issue_date": "2024-02-30", "amount": "1"}]}),
        json!({"events": [{"type": "payment", "payment_id": "P1", "customer_id": "C1", "date": "2024-02-12", "amount": "-3"}]}),
        json!({"events": [{"type": "customer", "customer_id": "C1", "name": "A", "planet": "Mars"}]}),
        json!({"events": [{"type": "refund"}]}),
        json!({"evenements": []}),
    ] {
        assert!(!request.is_valid(&bad), "{bad}");
    }
}

/// `POST /api/events`: status and body.
async fn push(app: &App, token: &str, body: &str) -> (u16, String) {
    let raw = app.push(token, body).await;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    // A chunked body: its one chunk.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body.split("\r\n").nth(1).unwrap_or("").to_string()
    } else {
        body.to_string()
    };
    (status, body)
}

/// A customer the collector `camille` does not see.
async fn outside(app: &App, camille: &Client, ids: &[String]) -> String {
    let (_, _, own) = get(app, camille, "/api/customers").await;
    let own: Value = serde_json::from_str(&own).unwrap();
    let own: Vec<&str> = own
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap())
        .collect();
    assert!(!own.is_empty());
    ids.iter()
        .find(|id| !own.contains(&id.as_str()))
        .expect("a customer outside camille's portfolio")
        .clone()
}

/// The dates the document allows are exactly the ones the server reads: every day of the
/// supported range and a few around it.
#[test]
fn the_date_pattern_is_the_date_parser() {
    let v = jsonschema::draft202012::new(
        &json!({"type": "string", "pattern": arpilot_core::schema::DATE_PATTERN}),
    )
    .unwrap();
    let mut d = Day::FIRST_SUPPORTED.add_days(-40);
    while d <= Day::LAST_SUPPORTED.add_days(40) {
        let s = d.to_string();
        assert_eq!(v.is_valid(&json!(s)), Day::parse_iso(&s).is_ok(), "{s}");
        d = d.add_days(1);
    }
    for s in [
        "2023-02-29",
        "1900-02-29",
        "2100-02-29",
        "2024-04-31",
        "2024-00-10",
        "2024-13-01",
        "2024-1-05",
        " 2024-01-05",
        "2024-01-05x",
        "20240105",
    ] {
        assert!(!v.is_valid(&json!(s)), "{s}");
        assert!(Day::parse_iso(s).is_err(), "{s}");
    }
    for s in ["2000-02-29", "2024-02-29", "2196-02-29", "1904-02-29"] {
        assert!(v.is_valid(&json!(s)) && Day::parse_iso(s).is_ok(), "{s}");
    }
}
