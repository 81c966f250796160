//! Two servers on one PostgreSQL database, as behind a load balancer: a session opened on one is
//! known to the other, and a change made through one reaches the pages open on the other at once.
//! Skipped with a note when no PostgreSQL answers, unless `ARPILOT_REQUIRE_POSTGRES` is set.

mod common;

use arpilot_store::{Target, testing};
use common::{App, csrf_of, seed, sse_count, sse_event};
use std::time::Duration;

#[tokio::test]
async fn two_servers_share_sessions_and_changes() {
    let Some(url) = testing::fresh_postgres().await else {
        return;
    };
    let target = Target::parse(&url);
    seed(&target).await;
    let a = App::serve(target.clone()).await;
    let b = App::serve(target.clone()).await;

    // Signed in through A, signed in on B, with the same CSRF token.
    let admin = a.login("admin").await;
    let page = b.get(&admin, "/").await;
    assert_eq!(
        page.status, 200,
        "B does not know the session: {}",
        page.headers
    );
    let csrf = csrf_of(&page.body);
    assert_eq!(csrf_of(&a.get(&admin, "/").await.body), csrf);
    let r = b.get(&admin, "/api/report?as_of=2024-06-30").await;
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["totals"]["balance"], "1800.00");

    // A page open on B listens; a push through A (the session and its CSRF token) reaches it
    // within a second.
    let (mut live, head) = b.sse(&admin).await;
    assert!(head.contains("200 OK"), "{head}");
    let (mut live_a, _) = a.sse(&admin).await;
    let body = r#"{"source": "erp", "events": [{"type": "payment", "payment_id": "P-A-1", "customer_id": "C-NORD-1", "date": "2024-06-15", "amount": "100.00", "invoice_id": "C-NORD-1-F0"}]}"#;
    let r = admin
        .send(
            &a.base,
            "POST",
            "/api/events",
            body,
            &[
                ("Content-Type", "application/json"),
                ("x-csrf-token", &csrf),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"payments\":1"), "{}", r.body);
    assert!(
        sse_event(&mut live, "ledger", Duration::from_secs(1)).await,
        "B's open page was not told within a second"
    );
    // A reloaded once, after its push: its own notification does not reload it again.
    assert_eq!(
        sse_count(&mut live_a, "ledger", Duration::from_millis(800)).await,
        1
    );
    // And B's figures include the payment.
    let r = b.get(&admin, "/api/report?as_of=2024-06-30").await;
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["totals"]["balance"], "1700.00");

    // A token made for one server works on the other (it always did: tokens are in the store).
    let token = a.token("admin").await;
    let again = b.push(&token, body).await;
    assert!(again.contains("\"appended\":0"), "{again}");

    // Signing out through A signs out on B.
    let r = admin
        .send(&a.base, "POST", "/logout", &format!("csrf={csrf}"), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = b.get(&admin, "/").await;
    assert_eq!(r.status, 303, "still signed in on B");
    assert!(r.headers.contains("location: /login"), "{}", r.headers);
    assert_eq!(b.get(&admin, "/api/report").await.status, 401);
}
