//! The management report through the server: `/api/report/management` and `/report.pdf` hold
//! the caller's portfolio only, with the same figures as `/api/report`.

mod common;
use common::{App, Client};
use serde_json::Value;

const ALL: [&str; 3] = ["C-NORD-1", "C-NORD-2", "C-SUD-1"];

async fn json(app: &App, c: &Client, path: &str) -> Value {
    let r = app.get(c, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

fn holds(body: &str) -> Vec<&'static str> {
    ALL.iter().copied().filter(|id| body.contains(id)).collect()
}

#[tokio::test]
async fn the_management_report_keeps_to_the_portfolio() {
    let app = App::start().await;
    for (login, want) in [
        ("admin", &ALL[..]),
        ("lea", &["C-NORD-1"][..]),
        ("nord", &["C-NORD-1", "C-NORD-2"][..]),
        ("nobody", &[][..]),
    ] {
        let c = app.login(login).await;
        let r = app.get(&c, "/api/report/management?as_of=2024-06-30").await;
        assert_eq!(r.status, 200, "{login}: {}", r.body);
        assert_eq!(holds(&r.body), want, "{login}: JSON");
        let pdf = app.get(&c, "/report.pdf?as_of=2024-06-30").await;
        assert_eq!(pdf.status, 200, "{login}");
        assert!(pdf.body.contains("%PDF-1.4"), "{login}");
        assert_eq!(holds(&pdf.body), want, "{login}: PDF");
    }

    // Léa's figures are her customer's: three invoices of 100, 200 and 300, all overdue.
    let lea = app.login("lea").await;
    let m = json(&app, &lea, "/api/report/management?as_of=2024-06-30").await;
    let r = json(&app, &lea, "/api/report?as_of=2024-06-30").await;
    assert_eq!(m["totals"], r["totals"]);
    assert_eq!(m["totals"]["balance"], "600.00");
    let card = |k: &str| {
        m["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == k)
            .unwrap()
            .clone()
    };
    assert_eq!(card("balance")["value"], 600.0);
    assert_eq!(card("dso_countback")["value"], r["dso"]["countback"]);
    assert_eq!(card("overdue_accounts")["value"], 1.0);
    assert_eq!(m["risk"]["overdue_accounts"], 1);
    assert_eq!(m["risk"]["customers_with_balance"], 1);
    let late = m["top_late"].as_array().unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["customer_id"], "C-NORD-1");
    assert_eq!(late[0]["overdue"], "600.00");
    assert_eq!(late[0]["overdue_invoices"], 3);
    let collectors = m["collectors"].as_array().unwrap();
    assert_eq!(collectors.len(), 1);
    assert_eq!(collectors[0]["collector"], "Léa");
    // The same forecast as the forecast page's API.
    let f = json(&app, &lea, "/api/forecast?as_of=2024-06-30").await;
    assert_eq!(m["forecast"], f["forecast"]);
    assert_eq!(m["forecast_accuracy"], f["accuracy"]);
    // Her PDF states her balance.
    let pdf = app.get(&lea, "/report.pdf?as_of=2024-06-30").await;
    assert!(pdf.body.contains("(600.00) Tj"), "{}", pdf.body);

    // A filter naming another portfolio narrows to nothing; a bad parameter is refused.
    let r = app
        .get(
            &lea,
            "/api/report/management?as_of=2024-06-30&filter=collector%3DMarc",
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(holds(&r.body).is_empty(), "{}", r.body);
    let bad = app.get(&lea, "/report.pdf?buckets=60,30").await;
    assert_eq!(bad.status, 400);
    // Not signed in.
    let anon = Client::default();
    assert_eq!(app.get(&anon, "/api/report/management").await.status, 401);
    assert_eq!(app.get(&anon, "/report.pdf").await.status, 303);
}
