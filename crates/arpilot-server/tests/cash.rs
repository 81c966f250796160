//! Cash application through the pages and the API: a statement uploaded, the confident match
//! applied at once, the queue, decisions and undo, who may see and do what, and the live effects
//! on the pages in scope.

use std::time::Duration;

mod common;
use common::{App, Client, csrf_of, sse_event};

/// Three credits of 2024-02-19: 100.00 quoting C-NORD-1-F0 (Léa's customer, its invoice of
/// 100.00: matched at once); 250.00 from "Client C-SUD-1" with no reference (its invoices are
/// 100, 200 and 300: nothing fits, left for review); 42.00 from nobody we know.
const CAMT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-02-19T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><CreDtTm>2024-02-19T18:00:00</CreDtTm>
<Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-02-19</Dt></BookgDt><ValDt><Dt>2024-02-19</Dt></ValDt><AcctSvcrRef>REF-1</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Client C-NORD-1</Nm></Dbtr></RltdPties><RmtInf><Ustrd>Facture C-NORD-1-F0</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-02-19</Dt></BookgDt><ValDt><Dt>2024-02-19</Dt></ValDt><AcctSvcrRef>REF-2</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Client C-SUD-1</Nm></Dbtr></RltdPties><RmtInf><Ustrd>virement</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">42.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2024-02-19</Dt></BookgDt><ValDt><Dt>2024-02-19</Dt></ValDt><AcctSvcrRef>REF-3</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Inconnu SA</Nm></Dbtr></RltdPties></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>
"#;

async fn json(app: &App, c: &Client, path: &str) -> serde_json::Value {
    let r = app.get(c, path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

async fn open_of(app: &App, c: &Client, customer: &str, invoice: &str) -> String {
    let j = json(app, c, &format!("/api/customers/{customer}")).await;
    j["open_invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["document_id"] == invoice)
        .map_or("0.00".to_string(), |i| {
            i["open_amount"].as_str().unwrap().to_string()
        })
}

/// Posts a decision as JSON with the session's CSRF token (as the page's scripts would).
async fn post_api(app: &App, c: &Client, id: &str, body: &str) -> common::Resp {
    let csrf = csrf_of(&app.get(c, "/settings").await.body);
    c.send(
        &app.base,
        "POST",
        &format!("/api/cash/{id}"),
        body,
        &[
            ("Content-Type", "application/json"),
            ("X-CSRF-Token", &csrf),
        ],
    )
    .await
}

#[tokio::test]
async fn a_statement_is_matched_reviewed_and_undone_in_scope_and_live() {
    let app = App::start().await;
    let (admin, lea, nord) = (
        app.login("admin").await,
        app.login("lea").await,
        app.login("nord").await,
    );
    // Collectors and viewers do not see bank receipts (no portfolio holds them).
    for c in [&lea, &nord] {
        assert_eq!(app.get(c, "/cash").await.status, 403);
        assert_eq!(app.get(c, "/api/cash/queue").await.status, 403);
        assert_eq!(app.get(c, "/api/cash/report").await.status, 403);
        assert!(!app.get(c, "/").await.body.contains("/cash?"));
    }
    assert_eq!(
        open_of(&app, &lea, "C-NORD-1", "C-NORD-1-F0").await,
        "100.00"
    );
    let (mut lea_live, _) = app.sse(&lea).await;

    // The upload page takes the statement and says what it did.
    let csrf = csrf_of(&app.get(&admin, "/imports").await.body);
    let r = app.upload(&admin, &csrf, "releve.xml", CAMT).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("3 new receipts"), "{}", r.body);
    assert!(
        r.body.contains("1 matched at once") && r.body.contains("2 to review"),
        "{}",
        r.body
    );
    // Léa's customer paid: her page is told, and she sees the invoice settled.
    assert!(sse_event(&mut lea_live, "ledger", Duration::from_secs(2)).await);
    assert_eq!(open_of(&app, &lea, "C-NORD-1", "C-NORD-1-F0").await, "0.00");

    // The queue: 250.00 from C-SUD-1 (by name, nothing fits exactly: oldest first, below the
    // threshold) and 42.00 from nobody.
    let q = json(&app, &admin, "/api/cash/queue?as_of=2024-02-19").await;
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 2, "{q:?}");
    let (sud, unknown) = (&q[0], &q[1]);
    assert_eq!(
        (sud["amount"].as_str(), sud["customer_id"].as_str()),
        (Some("250.00"), Some("C-SUD-1"))
    );
    assert_eq!(sud["rule"], "oldest_first");
    assert_eq!(sud["proposal"][0]["invoice_id"], "C-SUD-1-F0");
    assert_eq!(sud["proposal"][0]["apply"], "100.00");
    assert_eq!(sud["proposal"][1]["apply"], "150.00");
    assert_eq!(unknown["amount"], "42.00");
    assert!(unknown["customer_id"].is_null());
    let sud_id = sud["receipt_id"].as_str().unwrap().to_string();
    let unknown_id = unknown["receipt_id"].as_str().unwrap().to_string();
    // The page lists both, with their forms; the dashboard shows the cash to apply.
    let page = app.get(&admin, "/cash?as_of=2024-02-19").await.body;
    assert!(page.contains(&sud_id) && page.contains(&unknown_id));
    assert!(page.contains("Client C-SUD-1") && page.contains("virement"));
    let dash = app.get(&admin, "/").await.body;
    assert!(
        dash.contains(r#"id="to-apply""#) && dash.contains("292.00"),
        "{dash}"
    );

    // Refusals: a collector, no CSRF token on a form, a bad decision, too much applied.
    let r = post_api(&app, &lea, &sud_id, r#"{"decision": "accept"}"#).await;
    assert_eq!(r.status, 403);
    let r = admin
        .send(
            &app.base,
            "POST",
            &format!("/cash/{sud_id}"),
            "decision=accept",
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = post_api(&app, &admin, &sud_id, r#"{"decision": "keep"}"#).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains(r#""field":"decision""#), "{}", r.body);
    let r = post_api(
        &app,
        &admin,
        &sud_id,
        r#"{"decision": "apply", "customer_id": "C-SUD-1", "invoices": [{"invoice_id": "C-SUD-1-F2", "amount": "250.01"}]}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(r#""field":"amount""#), "{}", r.body);

    // The manager chooses: the 250.00 pays 250 of C-SUD-1-F2 (300.00). Léa (not her customer)
    // is not told; the customer's file and the dashboard move.
    let (mut admin_live, _) = app.sse(&admin).await;
    let r = post_api(
        &app,
        &admin,
        &sud_id,
        r#"{"decision": "apply", "customer_id": "C-SUD-1", "invoices": [{"invoice_id": "C-SUD-1-F2", "amount": "250.00"}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (d["decision"].as_str(), d["applied"].as_str()),
        (Some("apply"), Some("250.00"))
    );
    assert!(sse_event(&mut admin_live, "ledger", Duration::from_secs(2)).await);
    assert!(!sse_event(&mut lea_live, "ledger", Duration::from_millis(600)).await);
    assert_eq!(
        open_of(&app, &admin, "C-SUD-1", "C-SUD-1-F2").await,
        "50.00"
    );
    let dash = app.get(&admin, "/").await.body;
    let card = dash
        .split(r#"id="to-apply""#)
        .nth(1)
        .unwrap_or("")
        .split("</a>")
        .next()
        .unwrap_or("");
    assert!(card.contains("42.00"), "{card}");

    // Not a customer's: by the page's form.
    let page = app.get(&admin, "/cash?as_of=2024-02-19").await.body;
    let csrf = csrf_of(&page);
    let r = admin
        .send(
            &app.base,
            "POST",
            &format!("/cash/{unknown_id}"),
            &format!("csrf={csrf}&decision=not_customer"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        json(&app, &admin, "/api/cash/queue?as_of=2024-02-19").await,
        serde_json::json!([])
    );

    // KPIs from February to today (decisions are dated the day they are made): 3 receipts, 1
    // by the engine (dated the statement's day), 1 by hand, 1 not a customer's. As of February's
    // end, only the engine had decided.
    let today = arpilot_store::today();
    let k = json(
        &app,
        &admin,
        &format!("/api/cash/report?from=2024-02-01&as_of={today}"),
    )
    .await;
    assert_eq!(
        (k["receipts"].as_u64(), k["auto_matched"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(
        (k["manual_matched"].as_u64(), k["not_customer"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(k["by_user"][0]["user"], "admin");
    let k = json(&app, &admin, "/api/cash/report?as_of=2024-02-29").await;
    assert_eq!(
        (k["auto_matched"].as_u64(), k["manual_matched"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        (k["unapplied"].as_u64(), k["unapplied_amount"].as_str()),
        (Some(2), Some("292.00"))
    );

    // Undo the engine's match from the page: Léa's invoice is open again, she is told.
    let matched = json(&app, &admin, "/api/customers/C-NORD-1").await;
    assert!(matched.to_string().contains("BNK-"), "{matched}");
    let page = app.get(&admin, "/cash?as_of=2024-02-19").await.body;
    let engine_row = page
        .split("<tr>")
        .find(|r| r.contains("Client C-NORD-1"))
        .expect("the engine's decision listed");
    let receipt = engine_row
        .split("action=\"/cash/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = admin
        .send(
            &app.base,
            "POST",
            &format!("/cash/{receipt}"),
            &format!("csrf={}&decision=undo", csrf_of(&page)),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(sse_event(&mut lea_live, "ledger", Duration::from_secs(2)).await);
    assert_eq!(
        open_of(&app, &lea, "C-NORD-1", "C-NORD-1-F0").await,
        "100.00"
    );
    let q = json(&app, &admin, "/api/cash/queue?as_of=2024-02-19").await;
    assert_eq!(q.as_array().unwrap().len(), 1);
    // Undoing twice is refused, nothing written.
    let r = post_api(&app, &admin, &receipt, r#"{"decision": "undo"}"#).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

/// The customer file links to its account statement (PDF), within the caller's portfolio.
#[tokio::test]
async fn the_statement_pdf_is_served_within_the_portfolio() {
    let app = App::start().await;
    let lea = app.login("lea").await;
    let page = app.get(&lea, "/customers/C-NORD-1").await.body;
    assert!(page.contains("/customers/C-NORD-1/statement.pdf"), "{page}");
    let r = app
        .get(&lea, "/customers/C-NORD-1/statement.pdf?as_of=2024-02-19")
        .await;
    assert_eq!(r.status, 200);
    assert!(r.headers.contains("application/pdf"), "{}", r.headers);
    assert!(r.body.starts_with("%PDF-1.4"));
    // Three open invoices of 100, 200 and 300: the total is in the text stream.
    assert!(r.body.contains("(EUR 600.00) Tj"), "{}", r.body);
    assert_eq!(
        app.get(&lea, "/customers/C-SUD-1/statement.pdf")
            .await
            .status,
        404
    );
}
