//! Hostile input, replayed as an outside tester found it: far dates, huge amounts, long or
//! invisible ids, notes of megabytes, typos becoming dimensions, cross-site sign-in. Each is
//! refused with the field named, writes nothing, and every page still answers for every role.

use std::time::Duration;

mod common;
use common::{App, Client, sse_count};

/// Every role's pages and endpoints answer 200 (the hostile request hurt no one).
async fn everyone_is_served(app: &App) {
    for login in ["admin", "lea", "nord", "nobody"] {
        let c = app.login(login).await;
        for path in [
            "/",
            "/worklist",
            "/api/worklist",
            "/api/work",
            "/aging",
            "/customers",
            "/customers/C-NORD-1",
            "/team",
            "/disputes",
            "/forecast",
            "/imports",
            "/settings",
            "/api/report",
            "/api/aging",
            "/api/customers",
            "/api/invoices",
            "/api/team",
            "/api/cohorts",
            "/api/forecast",
            "/api/broken-promises",
            "/export/aging.xlsx",
            "/export/invoices.xlsx",
            "/export/aging.xlsx?by=invoice",
            "/export/customers.csv",
        ] {
            let r = app.get(&c, path).await;
            // A collector without portfolio sees an empty customer file (404), nothing else.
            let ok = r.status == 200 || (r.status == 404 && path == "/customers/C-NORD-1");
            assert!(ok, "{login} {path}: {} {}", r.status, r.body);
        }
    }
}

/// The report without a date: its date (the ledger's last) and balance.
async fn state(app: &App, c: &Client) -> (String, String) {
    let j: serde_json::Value = serde_json::from_str(&app.get(c, "/api/report").await.body).unwrap();
    (
        j["as_of"].as_str().unwrap().to_string(),
        j["totals"]["balance"].as_str().unwrap().to_string(),
    )
}

/// The status line and the JSON error of a push.
fn refused(raw: &str) -> (u16, String) {
    let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("");
    let err = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|j| j["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string());
    (status, err)
}

fn invoice(fields: &str) -> String {
    format!(r#"{{"events": [{{"type": "invoice", "customer_id": "C-NORD-1", {fields}}}]}}"#)
}

#[tokio::test]
async fn hostile_pushes_are_refused_and_write_nothing() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let token = app.token("admin").await;
    let before = state(&app, &admin).await;
    assert_eq!(before, ("2024-02-19".to_string(), "1800.00".to_string()));
    let note = "x".repeat(10 << 20);
    let long_id = "F".repeat(100_000);
    let cases: Vec<(String, &str, &str)> = vec![
        // 1. A far-future date would move the default date for good.
        (
            invoice(r#""document_id": "F-FAR", "issue_date": "9999-12-31", "amount": "10""#),
            "issue_date",
            "2199-12-31",
        ),
        // 2. An amount past the bound would wrap the totals.
        (
            invoice(r#""document_id": "F-BIG", "issue_date": "2024-03-01", "amount": "92233720368547758.07""#),
            "amount",
            "too large",
        ),
        (
            invoice(r#""document_id": "F-BIG2", "issue_date": "2024-03-01", "amount": "100000000000.01""#),
            "amount",
            "10^13",
        ),
        // 4. A 100 000-character id broke every spreadsheet export.
        (
            invoice(&format!(r#""document_id": "{long_id}", "issue_date": "2024-03-01", "amount": "10""#)),
            "document_id",
            "1 to 100 characters",
        ),
        // 5. Ids with NUL, line breaks or direction overrides; due before issue; a 10 MB note;
        // an unknown field.
        (
            invoice(r#""document_id": "F\u0000NUL", "issue_date": "2024-03-01", "amount": "10""#),
            "document_id",
            "control characters",
        ),
        (
            invoice(r#""document_id": "F\nLF", "issue_date": "2024-03-01", "amount": "10""#),
            "document_id",
            "line breaks",
        ),
        (
            invoice(r#""document_id": "F\u202eRLO", "issue_date": "2024-03-01", "amount": "10""#),
            "document_id",
            "direction overrides",
        ),
        (
            invoice(r#""document_id": "F-DUE", "issue_date": "2024-03-01", "due_date": "2024-02-01", "amount": "10""#),
            "due_date",
            "on or after the issue date 2024-03-01",
        ),
        (
            format!(
                r#"{{"events": [{{"type": "action", "customer_id": "C-NORD-1", "date": "2024-03-01", "kind": "call", "note": "{note}"}}]}}"#
            ),
            "note",
            "at most 4000 characters",
        ),
        (
            invoice(r#""document_id": "F-TYPO", "issue_date": "2024-03-01", "amount": "10", "regoin": "Sud""#),
            "regoin",
            "unknown field",
        ),
        (
            r#"{"events": [{"type": "customer", "customer_id": "C-X", "name": "A\u0007B"}]}"#.to_string(),
            "name",
            "one line",
        ),
        (
            r#"{"events": [{"type": "rate", "date": "2024-03-01", "currency": "USD", "rate": "2000000"}]}"#.to_string(),
            "rate",
            "at most 1000000",
        ),
    ];
    for (body, field, expected) in &cases {
        let (status, err) = refused(&app.push(&token, body).await);
        assert_eq!(status, 400, "{field}: {err}");
        assert!(err.contains(field), "names {field}: {err}");
        assert!(err.contains(expected), "says {expected:?}: {err}");
        // The error is short even when the value is huge.
        assert!(err.len() < 1_000, "{field}: {} bytes", err.len());
    }
    assert_eq!(state(&app, &admin).await, before, "nothing was written");
    // A custom field the ledger has is taken by name; a new one only inside "custom".
    let ok = app
        .push(
            &token,
            r#"{"events": [{"type": "customer", "customer_id": "C-EST-1", "name": "Est", "region": "Est", "custom": {"segment": "PME"}}]}"#,
        )
        .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let r = app.get(&admin, "/api/customers?filter=segment%3DPME").await;
    assert!(r.body.contains("C-EST-1"), "{}", r.body);
    everyone_is_served(&app).await;
}

#[tokio::test]
async fn far_dates_and_expensive_parameters_are_refused() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    for path in [
        "/api/forecast?as_of=9999-12-31",
        "/api/report?as_of=9999-12-31",
        "/api/aging?as_of=9999-12-31",
        "/api/team?as_of=9999-12-31",
        "/api/customers/C-NORD-1/rating?as_of=9999-12-31",
        "/api/report?as_of=1899-12-31",
        "/api/report?top=1000000",
        "/api/forecast?months=100000",
        "/api/work?days=100000",
    ] {
        let r = app.get(&admin, path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        let param = path.split('?').nth(1).unwrap().split('=').next().unwrap();
        assert!(r.body.contains(param), "{path} names {param}: {}", r.body);
    }
    // The edges of the range are answered.
    for path in [
        "/api/report?as_of=2199-12-31",
        "/api/forecast?as_of=2199-12-31",
        "/api/report?as_of=1900-01-01",
        "/api/customers/C-NORD-1/rating?as_of=2199-12-31",
    ] {
        assert_eq!(app.get(&admin, path).await.status, 200, "{path}");
    }
    everyone_is_served(&app).await;
}

#[tokio::test]
async fn hostile_files_are_refused_with_their_line() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let csrf = common::csrf_of(&app.get(&admin, "/imports").await.body);
    for (content, line, column) in [
        (
            "document_id,customer_id,issue_date,amount\nF-OK,C-NORD-1,2024-03-01,1.00\nF-BIG,C-NORD-1,2024-03-01,100000000000.01\n",
            "line 3",
            "amount",
        ),
        (
            "document_id,customer_id,issue_date,due_date,amount\nF-DUE,C-NORD-1,2024-03-01,2024-02-01,1.00\n",
            "line 2",
            "due_date",
        ),
        (
            "document_id,customer_id,issue_date,amount\n\"F\u{202E}1\",C-NORD-1,2024-03-01,1.00\n",
            "line 2",
            "document_id",
        ),
    ] {
        let r = app.upload(&admin, &csrf, "invoices.csv", content).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(
            r.body.contains(line) && r.body.contains(column),
            "{line} {column}: {}",
            r.body
        );
    }
    assert_eq!(
        state(&app, &admin).await,
        ("2024-02-19".to_string(), "1800.00".to_string())
    );
    everyone_is_served(&app).await;
}

/// 6. The sign-in form carries a token bound to a cookie: a page of another site (even one that
/// sends a Referer and no Origin) cannot sign a victim in.
#[tokio::test]
async fn sign_in_needs_the_forms_token() {
    let app = App::start().await;
    let evil = [("Referer", "https://evil.example/login.html")];
    let anon = Client::default();
    let r = anon
        .send(
            &app.base,
            "POST",
            "/login",
            "login=admin&password=pw-admin",
            &evil,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.headers.contains("arpilot_session="), "{}", r.headers);
    // A token without its cookie, or a cookie with another token, is refused too.
    let form = app.get(&anon, "/login").await;
    let token = common::csrf_of(&form.body);
    let r = anon
        .send(
            &app.base,
            "POST",
            "/login",
            &format!("login=admin&password=pw-admin&csrf={token}"),
            &evil,
        )
        .await;
    assert_eq!(r.status, 403);
    let other = Client {
        cookie: Some("arpilot_login=another-token".into()),
        bearer: None,
    };
    let r = other
        .send(
            &app.base,
            "POST",
            "/login",
            &format!("login=admin&password=pw-admin&csrf={token}"),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    // The form as a browser posts it signs in; cookies are not Secure on plain http.
    let r = app.post_login("login=admin&password=pw-admin").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.headers.contains("HttpOnly; SameSite=Strict"),
        "{}",
        r.headers
    );
    assert!(!r.headers.contains("Secure"), "{}", r.headers);
}

/// 7. Behind an https public address every cookie is Secure.
#[tokio::test]
async fn cookies_are_secure_behind_https() {
    assert!(arpilot_server::ServerOptions::public_url("ftp://x").is_err());
    assert!(arpilot_server::ServerOptions::public_url("https://").is_err());
    let app = App::start_with(
        arpilot_server::ServerOptions::public_url("https://ar.example.com").unwrap(),
    )
    .await;
    let form = app.get(&Client::default(), "/login").await;
    assert!(form.headers.contains("arpilot_login="), "{}", form.headers);
    assert!(form.headers.contains("; Secure"), "{}", form.headers);
    let r = app.post_login("login=admin&password=pw-admin").await;
    assert_eq!(r.status, 303);
    let session = r
        .headers
        .lines()
        .find(|l| l.contains("arpilot_session="))
        .unwrap();
    assert!(session.ends_with("; Secure"), "{session}");
}

/// 7. A collector's open page is told of changes to their customers only; managers of all.
#[tokio::test]
async fn live_updates_reach_only_the_portfolios_they_touch() {
    let app = App::start().await;
    let token = app.token("admin").await;
    let (admin, lea, nord) = (
        app.login("admin").await,
        app.login("lea").await,
        app.login("nord").await,
    );
    let (mut s_admin, _) = app.sse(&admin).await;
    let (mut s_lea, _) = app.sse(&lea).await;
    let (mut s_nord, _) = app.sse(&nord).await;
    let window = Duration::from_millis(700);
    // A payment of Marc's customer in the Sud: Léa (collector=Léa) and Nord (region=Nord) see
    // nothing of it.
    let sud = r#"{"events": [{"type": "payment", "payment_id": "P-SUD", "customer_id": "C-SUD-1", "date": "2024-03-01", "amount": "10", "invoice_id": "C-SUD-1-F0"}]}"#;
    assert!(app.push(&token, sud).await.starts_with("HTTP/1.1 200"));
    assert_eq!(sse_count(&mut s_admin, "ledger", window).await, 1);
    assert_eq!(sse_count(&mut s_lea, "ledger", window).await, 0);
    assert_eq!(sse_count(&mut s_nord, "ledger", window).await, 0);
    // A promise on Marc's customer in the Nord: Nord's viewer is told, Léa is not.
    let nord2 = r#"{"events": [{"type": "promise", "invoice_id": "C-NORD-2-F1", "promised_on": "2024-03-01", "due_on": "2024-03-15", "amount": "50"}]}"#;
    assert!(app.push(&token, nord2).await.starts_with("HTTP/1.1 200"));
    assert_eq!(sse_count(&mut s_admin, "ledger", window).await, 1);
    assert_eq!(sse_count(&mut s_lea, "ledger", window).await, 0);
    assert_eq!(sse_count(&mut s_nord, "ledger", window).await, 1);
    // An action on Léa's customer: both Léa and Nord are told.
    let nord1 = r#"{"events": [{"type": "action", "customer_id": "C-NORD-1", "date": "2024-03-02", "kind": "call"}]}"#;
    assert!(app.push(&token, nord1).await.starts_with("HTTP/1.1 200"));
    assert_eq!(sse_count(&mut s_lea, "ledger", window).await, 1);
    assert_eq!(sse_count(&mut s_nord, "ledger", window).await, 1);
    assert_eq!(sse_count(&mut s_admin, "ledger", window).await, 1);
}
