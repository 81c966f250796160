//! The management report by e-mail, delivered to a real SMTP server (aiosmtpd on 127.0.0.1):
//! each subscriber gets the report of their own portfolio once a period, with the figures of
//! `arpilot report management` for the same date and scope, and a second run sends nothing.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::Sink;

fn arpilot(args: &[&str], smtp: Option<u16>) -> Output {
    common::arpilot_smtp(args, smtp)
}

fn ok(o: Output) -> String {
    common::stdout_ok(o)
}

fn tmp(name: &str) -> PathBuf {
    common::fresh_dir("subs", name)
}

/// Léa's Delta and Pi, Marc's Quartz: each with an invoice overdue in November 2026.
fn ledger(dir: &Path) {
    std::fs::write(
        dir.join("customers.csv"),
        "customer_id,name,collector,payment_terms_days\nD,Delta SARL,Léa,30\nP,Pi SAS,Léa,30\nQ,Quartz Industries,Marc,30\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("invoices.csv"),
        "document_id,customer_id,type,issue_date,due_date,amount\nFD1,D,invoice,2026-09-01,2026-10-01,1200.00\nFP1,P,invoice,2026-09-15,2026-10-15,530.00\nFQ1,Q,invoice,2026-09-01,2026-10-01,9870.00\nFQ2,Q,invoice,2026-11-10,2026-12-10,100.00\n",
    )
    .unwrap();
}

fn pdf_text(p: &str) -> String {
    let o = Command::new("pdftotext")
        .args(["-layout", p, "-"])
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn subscribers_get_their_portfolios_report_once_a_week() {
    let dir = tmp("weekly");
    let Some(sink) = Sink::start(&dir.join("sink")) else {
        return;
    };
    ledger(&dir);
    let db = dir.join("l.db");
    let db = db.to_str().unwrap();
    ok(arpilot(
        &["import", dir.to_str().unwrap(), "--db", db],
        None,
    ));
    ok(arpilot(
        &["users", "--db", db, "add", "marie", "--role", "manager"],
        None,
    ));
    ok(arpilot(
        &[
            "users",
            "--db",
            db,
            "add",
            "lea",
            "--role",
            "collector",
            "--portfolio",
            "collector=Léa",
        ],
        None,
    ));
    for (login, email) in [
        ("marie", "marie@acme.example.com"),
        ("lea", "lea@acme.example.com"),
    ] {
        ok(arpilot(
            &[
                "subscriptions",
                "add",
                "--db",
                db,
                login,
                "--email",
                email,
                "--frequency",
                "weekly",
                "--today",
                "2026-11-20",
            ],
            None,
        ));
    }
    // A bad address is refused.
    let o = arpilot(
        &[
            "subscriptions",
            "add",
            "--db",
            db,
            "lea",
            "--email",
            "lea@",
            "--frequency",
            "weekly",
        ],
        None,
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("email: expected an address"));

    // Wednesday 2026-11-25: the week of Monday 23, as of Sunday 22.
    let out = ok(arpilot(
        &[
            "subscriptions",
            "run",
            "--db",
            db,
            "--today",
            "2026-11-25",
            "--format",
            "json",
        ],
        Some(sink.port),
    ));
    let runs: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(runs.len(), 2, "{out}");
    assert!(
        runs.iter()
            .all(|r| r["outcome"] == "sent" && r["as_of"] == "2026-11-22")
    );
    assert_eq!(sink.count(), 2);
    let msgs = sink.messages();
    let of = |rcpt: &str| {
        msgs.iter()
            .find(|m| m["to"].as_str().unwrap().contains(rcpt))
            .unwrap_or_else(|| panic!("no message to {rcpt}"))
            .clone()
    };
    for (login, rcpt, filter, mine, others) in [
        (
            "marie",
            "marie@",
            None,
            vec!["Quartz Industries", "Delta SARL"],
            vec![],
        ),
        (
            "lea",
            "lea@",
            Some("collector=Léa"),
            vec!["Delta SARL", "Pi SAS"],
            vec!["Quartz"],
        ),
    ] {
        let m = of(rcpt);
        assert_eq!(
            m["subject"].as_str().unwrap(),
            "Rapport de recouvrement au 22/11/2026",
            "{login}"
        );
        assert_eq!(
            m["attachments"][0][0].as_str().unwrap(),
            "rapport-recouvrement-2026-11-22.pdf"
        );
        // The figures of the management report for the same date and scope.
        let mut args = vec![
            "report",
            "management",
            "--db",
            db,
            "--as-of",
            "2026-11-22",
            "--lang",
            "fr",
        ];
        if let Some(f) = filter {
            args.extend(["--filter", f]);
        }
        let json: Value = serde_json::from_str(&ok(arpilot(&args, None))).unwrap();
        let text = m["text"].as_str().unwrap();
        for card in json["kpis"].as_array().unwrap() {
            let key = card["key"].as_str().unwrap();
            let label = json["labels"][key].as_str().unwrap();
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{label}: "))),
                "{login}: {label} missing in\n{text}"
            );
        }
        // Balance: Léa 1 730,00 (1 200 + 530), everyone 11 700,00.
        let balance = if filter.is_some() {
            "1 730,00"
        } else {
            "11 700,00"
        };
        assert!(
            text.replace('\u{202f}', " ").contains(balance),
            "{login}: {balance} in\n{text}"
        );
        let pdf = pdf_text(m["attachment_files"][0].as_str().unwrap());
        for name in mine {
            assert!(pdf.contains(name), "{login}: {name} missing in the PDF");
        }
        for name in others {
            assert!(!pdf.contains(name), "{login}: {name} in the PDF");
        }
    }

    // Again the same week: nothing more.
    let out = ok(arpilot(
        &["subscriptions", "run", "--db", db, "--today", "2026-11-27"],
        Some(sink.port),
    ));
    assert!(out.contains("0 reports due"), "{out}");
    assert_eq!(sink.count(), 2);
    // The next week: one each again, with another Message-ID.
    ok(arpilot(
        &["subscriptions", "run", "--db", db, "--today", "2026-11-30"],
        Some(sink.port),
    ));
    assert_eq!(sink.count(), 4);
    let ids: std::collections::BTreeSet<String> = sink
        .messages()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}
