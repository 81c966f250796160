//! The app on 127.0.0.1:0 with a fresh ledger: a collector or viewer never receives a customer
//! outside their portfolio, from any page or endpoint; sessions, CSRF and tokens behave.

use arpilot_core::ledger::*;
use arpilot_server::auth;
use arpilot_store::{Store, Target, UserStore};

mod common;
use common::{App, Client, append, csrf_of, d};

const ALL: [&str; 3] = ["C-NORD-1", "C-NORD-2", "C-SUD-1"];

/// Every customer-bearing endpoint and page, as of a date where everything is open.
const PATHS: [&str; 23] = [
    "/api/work?as_of=2024-06-30&days=366",
    "/worklist?as_of=2024-06-30",
    "/api/worklist?as_of=2024-06-30",
    "/api/worklist?as_of=2024-06-30&filter=collector%3DMarc",
    "/disputes?as_of=2024-06-30",
    "/api/team?as_of=2024-06-30",
    "/api/cohorts?as_of=2024-06-30",
    "/api/broken-promises?as_of=2024-06-30",
    "/api/forecast?as_of=2024-06-30",
    "/team?as_of=2024-06-30",
    "/forecast?as_of=2024-06-30",
    "/export/aging.csv?as_of=2024-06-30",
    "/export/customers.csv?as_of=2024-06-30",
    "/export/invoices.csv?as_of=2024-06-30",
    "/?as_of=2024-06-30",
    "/aging?as_of=2024-06-30",
    "/customers?as_of=2024-06-30",
    "/api/report?as_of=2024-06-30&by=customer",
    "/api/aging?as_of=2024-06-30",
    "/api/customers?as_of=2024-06-30",
    "/api/invoices?as_of=2024-06-30",
    // A filter naming another portfolio narrows; it never widens.
    "/api/customers?as_of=2024-06-30&filter=collector%3DMarc",
    "/api/report?as_of=2024-06-30&by=customer&filter=region%3DSud",
];

async fn seen(app: &App, c: &Client) -> Vec<&'static str> {
    let mut v = Vec::new();
    for path in PATHS {
        let r = app.get(c, path).await;
        assert_eq!(r.status, 200, "{path}");
        for id in ALL {
            if r.body.contains(id) && !v.contains(&id) {
                v.push(id);
            }
        }
    }
    for id in ALL {
        for path in [
            format!("/customers/{id}?as_of=2024-06-30"),
            format!("/api/customers/{id}?as_of=2024-06-30"),
            format!("/api/customers/{id}/rating?as_of=2024-06-30"),
        ] {
            let r = app.get(c, &path).await;
            match r.status {
                200 => {
                    // A rating history names no customer: being answered is the leak.
                    assert!(
                        path.ends_with("rating?as_of=2024-06-30")
                            || r.body.contains(id)
                            || r.body.contains(&format!("Client {id}"))
                    );
                    if !v.contains(&id) {
                        v.push(id);
                    }
                }
                404 => assert!(!r.body.contains(id), "{path}"),
                s => panic!("{path}: {s}"),
            }
        }
    }
    v.sort();
    v
}

#[tokio::test]
async fn every_page_and_endpoint_keeps_to_the_portfolio() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    assert_eq!(seen(&app, &admin).await, ALL);
    let lea = app.login("lea").await;
    assert_eq!(seen(&app, &lea).await, ["C-NORD-1"]);
    let nord = app.login("nord").await;
    assert_eq!(seen(&app, &nord).await, ["C-NORD-1", "C-NORD-2"]);
    // A restricted role without a portfolio sees nothing.
    let nobody = app.login("nobody").await;
    assert!(seen(&app, &nobody).await.is_empty());
    // The collection page of a collector shows their own row only.
    let team = app.get(&lea, "/team?as_of=2024-06-30").await.body;
    assert!(team.contains("Léa") && !team.contains("Marc"));
    // Figures are the portfolio's: Léa's balance is her customer's three invoices.
    let r = app.get(&lea, "/api/report?as_of=2024-06-30").await;
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["totals"]["balance"], "600.00");
}

#[tokio::test]
async fn sessions_tokens_and_csrf() {
    let app = App::start().await;
    // Not signed in: pages redirect, the API answers 401.
    let anon = Client::default();
    assert_eq!(app.get(&anon, "/").await.status, 303);
    assert_eq!(app.get(&anon, "/api/report").await.status, 401);
    // A wrong password is refused.
    let r = app.post_login("login=lea&password=nope").await;
    assert_eq!(r.status, 401);
    // A token acts as its user.
    let store_token = {
        let store = Store::open(&Target::Sqlite(app.db())).await.unwrap();
        let t = auth::random_token();
        assert!(
            store
                .add_token("lea", "test", &auth::sha256_hex(&t))
                .await
                .unwrap()
        );
        store.close().await;
        t
    };
    let bot = Client {
        cookie: None,
        bearer: Some(store_token),
    };
    let r = app.get(&bot, "/api/customers?as_of=2024-06-30").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("C-NORD-1") && !r.body.contains("C-SUD-1"));
    let bad = Client {
        cookie: None,
        bearer: Some("0".repeat(64)),
    };
    assert_eq!(app.get(&bad, "/api/customers").await.status, 401);
    // Logging out needs the session's CSRF token.
    let lea = app.login("lea").await;
    let r = lea
        .send(&app.base, "POST", "/logout", "csrf=forged", &[])
        .await;
    assert_eq!(r.status, 403);
    let page = app.get(&lea, "/").await.body;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = lea
        .send(
            &app.base,
            "POST",
            "/logout",
            &format!("csrf={csrf}"),
            &[("Origin", "http://evil.example")],
        )
        .await;
    assert_eq!(r.status, 403, "cross-site");
    let r = lea
        .send(&app.base, "POST", "/logout", &format!("csrf={csrf}"), &[])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        app.get(&lea, "/").await.status,
        303,
        "the session is closed"
    );
    // The OpenAPI document is served.
    let r = app.get(&anon, "/api/openapi.json").await;
    assert!(r.body.contains("\"openapi\":\"3.1.0\""));
    // Security headers on every response.
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("content-security-policy")
    );
}

#[tokio::test]
async fn pushed_events_are_idempotent_and_reach_open_dashboards() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = App::start().await;
    let token = app.token("admin").await;
    let lea_token = app.token("lea").await;
    // An open dashboard listens for changes.
    let lea = app.login("lea").await;
    let host = app.base.trim_start_matches("http://").to_string();
    let mut sse = tokio::net::TcpStream::connect(&host).await.unwrap();
    sse.write_all(
        format!(
            "GET /events HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n",
            lea.cookie.as_deref().unwrap()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = sse.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));

    let body = r#"{"source": "erp", "events": [{"type": "payment", "payment_id": "P-API-1", "customer_id": "C-NORD-1", "date": "2024-06-15", "amount": "100.00", "invoice_id": "C-NORD-1-F0"}]}"#;
    let first = app.push(&token, body).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.contains("\"payments\":1"), "{first}");
    // The open dashboard is told, within a second.
    let n = tokio::time::timeout(std::time::Duration::from_secs(1), sse.read(&mut buf))
        .await
        .expect("an event within a second")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("event: ledger"));
    // And its figures now include the payment.
    let r = app.get(&lea, "/api/report?as_of=2024-06-30").await;
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["totals"]["balance"], "500.00");
    // The same push again changes nothing.
    let again = app.push(&token, body).await;
    assert!(again.contains("\"appended\":0"), "{again}");
    // A collector may not push.
    let denied = app.push(&lea_token, body).await;
    assert!(denied.starts_with("HTTP/1.1 403"), "{denied}");
}

/// The aged balance exported as xlsx opens with openpyxl, and its totals row equals the report.
#[tokio::test]
async fn the_aging_xlsx_totals_equal_the_report() {
    use arpilot_core::report::{GroupBy, ReportParams, report};
    let app = App::start().await;
    let store = Store::open(&Target::Sqlite(app.db())).await.unwrap();
    let snap = arpilot_app::view::load(&store, Some(d("2024-03-31")), None)
        .await
        .unwrap()
        .snapshot;
    store.close().await;
    let mut params = ReportParams::new(d("2024-03-31"));
    params.by = Some(GroupBy::parse("customer"));
    let r = report(&snap, &arpilot_core::Selection::all(), &params).unwrap();
    let sheet = arpilot_server::export::aging_sheet(&r, arpilot_server::html::Lang::En);
    let bytes = arpilot_server::export::xlsx(&sheet).unwrap();
    assert!(bytes.starts_with(b"PK"));
    // The endpoint serves the same kind of file.
    let admin = app.login("admin").await;
    let resp = app.get(&admin, "/export/aging.xlsx?as_of=2024-03-31").await;
    assert_eq!(resp.status, 200);
    assert!(resp.headers.contains("spreadsheetml"));
    let path = app.db().with_extension("xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let expected: Vec<String> = r
        .aging
        .iter()
        .map(|b| b.amount.to_string())
        .chain([r.totals.unapplied.to_string(), r.totals.balance.to_string()])
        .collect();
    let script = format!(
        "import openpyxl\nws = openpyxl.load_workbook({:?}).active\nrow = list(ws.iter_rows(values_only=True))[-1]\nassert ws.freeze_panes == 'A2', ws.freeze_panes\nassert ws.auto_filter.ref, 'autofilter'\nprint(row[0], ' '.join('%.2f' % v for v in row[2:]))",
        path.display().to_string()
    );
    match std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.trim(), format!("Total {}", expected.join(" ")));
        }
        Ok(out) if !String::from_utf8_lossy(&out.stderr).contains("No module named") => {
            panic!("{}", String::from_utf8_lossy(&out.stderr));
        }
        _ if std::env::var_os("ARPILOT_REQUIRE_OPENPYXL").is_some() => {
            panic!("openpyxl required (pip install openpyxl)")
        }
        _ => eprintln!("skipped: python3 with openpyxl not found"),
    }
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn uploads_import_or_explain_why_not() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let page = app.get(&admin, "/imports").await.body;
    assert!(page.contains("id=\"upload\""));
    let csrf = csrf_of(&page);
    let good = "payment_id,customer_id,date,amount,invoice_id\nP-UP-1,C-NORD-1,2024-06-20,50.00,C-NORD-1-F0\n";
    let r = app.upload(&admin, &csrf, "payments.csv", good).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("id=\"summary\"") && r.body.contains("1 payments"));
    assert!(r.body.contains("payments.csv"));
    let j: serde_json::Value =
        serde_json::from_str(&app.get(&admin, "/api/report?as_of=2024-06-30").await.body).unwrap();
    assert_eq!(j["totals"]["balance"], "1750.00");
    // A refused file names its line and changes nothing.
    let bad = "payment_id,customer_id,date,amount\nP-UP-2,C-NOBODY,2024-06-20,50.00\n";
    let r = app.upload(&admin, &csrf, "payments.csv", bad).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("line 2") && r.body.contains("C-NOBODY"),
        "{}",
        r.body
    );
    // The message names the file as uploaded, never the server's temporary folder.
    assert!(r.body.contains("payments.csv, line 2"), "{}", r.body);
    assert!(!r.body.contains("arpilot-upload"), "{}", r.body);
    let j: serde_json::Value =
        serde_json::from_str(&app.get(&admin, "/api/report?as_of=2024-06-30").await.body).unwrap();
    assert_eq!(j["totals"]["balance"], "1750.00");
    // The history lists the batch; a forged token and a collector are refused.
    assert!(
        app.get(&admin, "/imports")
            .await
            .body
            .contains("payments.csv")
    );
    assert_eq!(
        app.upload(&admin, "forged", "payments.csv", good)
            .await
            .status,
        403
    );
    let lea = app.login("lea").await;
    let lea_csrf = csrf_of(&app.get(&lea, "/").await.body);
    assert_eq!(
        app.upload(&lea, &lea_csrf, "payments.csv", good)
            .await
            .status,
        403
    );
    assert!(
        !app.get(&lea, "/imports")
            .await
            .body
            .contains("id=\"upload\"")
    );
}

#[tokio::test]
async fn buckets_and_basis_are_chosen_on_the_page() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let r = app
        .get(
            &admin,
            "/api/aging?as_of=2024-06-30&buckets=45,90&basis=issue",
        )
        .await;
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let labels: Vec<&str> = j["aging"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["not_due", "1-45", "46-90", "90+"]);
    // On the issue basis as of 06-30 every invoice (issued 01-10 … 02-19) is over 90 days old.
    assert_eq!(j["aging"][3]["amount"], "1800.00");
    let page = app
        .get(&admin, "/aging?as_of=2024-06-30&buckets=45,90&basis=issue")
        .await
        .body;
    assert!(page.contains("value=\"45,90\"") && page.contains("46-90"));
    let bad = app.get(&admin, "/api/aging?buckets=90,30").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn admins_manage_users_and_changes_apply_at_once() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let lea = app.login("lea").await;
    let csrf = csrf_of(&app.get(&admin, "/settings").await.body);
    let form = |body: String| {
        let c = admin.clone();
        let base = app.base.clone();
        async move { c.send(&base, "POST", "/settings/users", &body, &[]).await }
    };
    // Léa's portfolio moves to Marc's customers: her open session follows at once.
    let r = form(format!(
        "csrf={csrf}&action=update&login=lea&role=collector&portfolio=collector%3DMarc"
    ))
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let body = app.get(&lea, "/api/customers?as_of=2024-06-30").await.body;
    assert!(
        body.contains("C-SUD-1") && !body.contains("C-NORD-1"),
        "{body}"
    );
    // A new user can sign in; a short password, an unknown role, a bad rule are refused.
    let r = form(format!(
        "csrf={csrf}&action=add&login=zoe&role=viewer&portfolio=region%3DSud&password=long-enough-1"
    ))
    .await;
    assert_eq!(r.status, 303);
    let zoe = app.post_login("login=zoe&password=long-enough-1").await;
    assert_eq!(zoe.status, 303);
    for bad in [
        "action=add&login=x&role=viewer&password=short",
        "action=add&login=x&role=boss&password=long-enough-1",
        "action=update&login=lea&role=collector&portfolio=nonsense",
        "action=update&login=admin&role=viewer&portfolio=",
    ] {
        assert_eq!(
            form(format!("csrf={csrf}&{bad}")).await.status,
            400,
            "{bad}"
        );
    }
    // Only admins manage users; the CSRF token is required.
    let lea_csrf = csrf_of(&app.get(&lea, "/settings").await.body);
    let r = lea
        .send(
            &app.base,
            "POST",
            "/settings/users",
            &format!("csrf={lea_csrf}&action=update&login=lea&role=admin&portfolio="),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        form("csrf=forged&action=update&login=lea&role=admin&portfolio=".into())
            .await
            .status,
        403
    );
    // Everyone sets their own language.
    let r = lea
        .send(
            &app.base,
            "POST",
            "/settings/language",
            &format!("csrf={lea_csrf}&locale=fr"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(app.get(&lea, "/").await.body.contains("lang=\"fr\""));
}

/// Pages as of past dates see the ledger as it stood: other currencies at that date's rate.
#[tokio::test]
async fn past_dates_convert_at_their_own_rate() {
    let app = App::start().await;
    let token = app.token("admin").await;
    let body = r#"{"events": [
        {"type": "customer", "customer_id": "C-US", "name": "Union Inc", "currency": "USD"},
        {"type": "invoice", "document_id": "US-F1", "customer_id": "C-US", "issue_date": "2024-01-15", "amount": "1000.00", "currency": "USD"},
        {"type": "rate", "date": "2024-01-01", "currency": "USD", "rate": "0.90"},
        {"type": "rate", "date": "2024-03-01", "currency": "USD", "rate": "0.95"}]}"#;
    let out = app.push(&token, body).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let admin = app.login("admin").await;
    let balance = |d: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let r = app.get(admin, &format!("/api/report?as_of={d}")).await;
            let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            j["totals"]["balance"].as_str().unwrap().to_string()
        }
    };
    // 1 800 EUR of invoices, and 1 000 USD at 0.90 in February, at 0.95 from March.
    assert_eq!(balance("2024-02-20").await, "2700.00");
    assert_eq!(balance("2024-06-30").await, "2750.00");
    assert_eq!(balance("2024-02-20").await, "2700.00");
}

#[tokio::test]
async fn report_settings_apply_to_every_page() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let csrf = csrf_of(&app.get(&admin, "/settings").await.body);
    let save = |body: String| {
        let (c, base) = (admin.clone(), app.base.clone());
        async move { c.send(&base, "POST", "/settings/report", &body, &[]).await }
    };
    let r = save(format!(
        "csrf={csrf}&buckets=45%2C90&provisions=0%2C10%2C50%2C100&rating=0%2C10%2C200&labels=region%3DR%C3%A9gion"
    ))
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let j: serde_json::Value =
        serde_json::from_str(&app.get(&admin, "/api/report?as_of=2024-03-31").await.body).unwrap();
    let labels: Vec<&str> = j["aging"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["not_due", "1-45", "46-90", "90+"]);
    // As of 03-31 (due dates issue + 30): F0s (due 02-09) are 51 days late at 50 %, F1s (due
    // 02-29) 31 days late at 10 %, F2s (due 03-20) 11 days late at 10 %; 3 customers.
    assert_eq!(j["provisions"]["total"], "300.00");
    let page = app
        .get(&admin, "/aging?as_of=2024-03-31&by=region")
        .await
        .body;
    assert!(page.contains("Région"), "the label of the grouping");
    for bad in ["buckets=90%2C30", "provisions=1%2C2", "rating=30%2C10%2C5"] {
        assert_eq!(
            save(format!("csrf={csrf}&{bad}")).await.status,
            400,
            "{bad}"
        );
    }
    let lea = app.login("lea").await;
    let lea_csrf = csrf_of(&app.get(&lea, "/settings").await.body);
    let r = lea
        .send(
            &app.base,
            "POST",
            "/settings/report",
            &format!("csrf={lea_csrf}&buckets=10"),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn the_aged_balance_filters_by_status_and_issue_period() {
    let app = App::start().await;
    let token = app.token("admin").await;
    // A dispute on C-SUD-1-F2 (300) opened 04-01, resolved 05-15; a promise on C-NORD-2-F1 (200)
    // from 06-01 to 07-15.
    let body = r#"{"events": [
        {"type": "dispute", "invoice_id": "C-SUD-1-F2", "opened_on": "2024-04-01", "resolved_on": "2024-05-15", "reason": "prix"},
        {"type": "promise", "invoice_id": "C-NORD-2-F1", "promised_on": "2024-06-01", "due_on": "2024-07-15", "amount": "200.00"}]}"#;
    let out = app.push(&token, body).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let admin = app.login("admin").await;
    let open = |q: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let r = app.get(admin, &format!("/api/report?{q}")).await;
            let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            j["totals"]["open_invoices"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(open("as_of=2024-04-30&status=disputed").await, "300.00");
    assert_eq!(
        open("as_of=2024-05-31&status=disputed").await,
        "0.00",
        "resolved by then"
    );
    assert_eq!(open("as_of=2024-06-30&status=promised").await, "200.00");
    assert_eq!(open("as_of=2024-06-30&status=normal").await, "1600.00");
    // Issued in January: the F0s (01-10) and F1s (01-30) of the three customers.
    assert_eq!(
        open("as_of=2024-06-30&issued_from=2024-01-01&issued_to=2024-01-31").await,
        "900.00"
    );
    // The page offers the same choices.
    let page = app
        .get(&admin, "/aging?as_of=2024-04-30&status=disputed")
        .await
        .body;
    assert!(page.contains("value=\"disputed\" selected") && page.contains("C-SUD-1"));
    assert!(!page.contains("C-NORD-1"));
}

/// An import made beside the server (the CLI on the same database) reaches it within a second.
#[tokio::test]
async fn imports_made_elsewhere_are_noticed() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    let store = Store::open(&Target::Sqlite(app.db())).await.unwrap();
    append(
        &store,
        vec![Event::Payment(PaymentRec {
            id: "P-CLI".into(),
            customer_id: "C-SUD-1".into(),
            date: d("2024-06-20"),
            amount: 10_000,
            currency: None,
            invoice_id: Some("C-SUD-1-F0".into()),
            reference: None,
        })],
        "cli",
    )
    .await;
    store.close().await;
    let start = std::time::Instant::now();
    loop {
        let r = app.get(&admin, "/api/report?as_of=2024-06-30").await;
        let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        if j["totals"]["balance"] == "1700.00" {
            break;
        }
        // Noticed within a fifth of a second; the margin is for a busy test machine.
        assert!(
            start.elapsed().as_millis() < 5000,
            "not noticed: {}",
            j["totals"]
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Customer data is never cached by a browser or proxy; static files are; no page carries an
/// inline style (the CSP refuses them).
#[tokio::test]
async fn customer_data_is_never_cached() {
    let app = App::start().await;
    let admin = app.login("admin").await;
    for path in [
        "/",
        "/settings",
        "/imports",
        "/customers/C-NORD-1?as_of=2024-06-30",
        "/api/report?as_of=2024-06-30",
        "/export/aging.xlsx?as_of=2024-06-30",
        "/login",
    ] {
        let r = app.get(&admin, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.headers
                .to_ascii_lowercase()
                .contains("cache-control: no-store"),
            "{path}: {}",
            r.headers
        );
        assert!(!r.body.contains("style=\""), "{path}: inline style");
    }
    let css = app.get(&admin, "/static/app.css").await;
    assert!(css.headers.contains("max-age=3600"), "{}", css.headers);
}

/// Failed sign-ins back off per login (and per address, with more room): after five failures
/// even the right password waits, with Retry-After; other users sign in meanwhile; once the wait
/// is over the right password works and clears the count.
#[tokio::test]
async fn sign_in_backs_off_after_failures() {
    let app = App::start().await;
    let post = |body: &'static str| app.post_login(body);
    for _ in 0..5 {
        assert_eq!(post("login=admin&password=wrong-one-1").await.status, 401);
    }
    let r = post("login=admin&password=pw-admin").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(
        r.headers.to_ascii_lowercase().contains("retry-after: "),
        "{}",
        r.headers
    );
    assert!(r.body.contains("try again in"), "{}", r.body);
    // Another login from the same address is not held back.
    assert_eq!(post("login=lea&password=pw-lea").await.status, 303);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(post("login=admin&password=pw-admin").await.status, 303);
    // The success cleared the count: one more failure answers 401, not 429.
    assert_eq!(post("login=admin&password=wrong-one-1").await.status, 401);
}
