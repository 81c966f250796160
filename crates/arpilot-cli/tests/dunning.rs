//! Reminders delivered to a real SMTP server (aiosmtpd, started by the test on 127.0.0.1): the
//! demo company's run, a second run the same day, the rules (dispute, promise, broken promise),
//! a run killed in the middle and run again, and the letters.

use arpilot_app::Lang;
use arpilot_core::{Currency, Money};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::Sink;

fn arpilot(args: &[&str], smtp: Option<u16>) -> Output {
    common::arpilot_smtp(args, smtp)
}

fn ok(o: Output) -> String {
    common::stdout_ok(o)
}

fn tmp(name: &str) -> PathBuf {
    common::fresh_dir("dunning", name)
}

fn amount(v: &Value) -> Money {
    Money::new(
        arpilot_core::money::parse_minor(v.as_str().unwrap(), 2).unwrap(),
        Currency::EUR,
    )
}

#[test]
fn the_demo_company_run_delivers_each_reminder_once_with_its_invoices() {
    let dir = tmp("demo");
    let Some(sink) = Sink::start(&dir.join("sink")) else {
        return;
    };
    let db = dir.join("demo.db");
    let dbs = db.to_str().unwrap();
    ok(arpilot(&["demo", "--no-serve", "--db", dbs], None));
    let as_of = "2026-10-31";
    let plan: Vec<Value> = serde_json::from_str(&ok(arpilot(
        &[
            "dunning",
            "run",
            "--db",
            dbs,
            "--as-of",
            as_of,
            "--dry-run",
            "--format",
            "json",
        ],
        None,
    )))
    .unwrap();
    let emails: Vec<&Value> = plan.iter().filter(|p| p["channel"] == "email").collect();
    assert!(emails.len() >= 20, "{} e-mails planned", emails.len());
    assert!(plan.iter().any(|p| p["channel"] != "email"));
    for p in &plan {
        for k in ["customer_id", "step", "channel", "invoices", "amount"] {
            assert!(!p[k].is_null(), "{k} missing in {p}");
        }
    }
    // Without an SMTP server the run refuses and writes nothing.
    let o = arpilot(&["dunning", "run", "--db", dbs, "--as-of", as_of], None);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("ARPILOT_SMTP_URL"));
    let letters = dir.join("letters");
    let out: Value = serde_json::from_str(&ok(arpilot(
        &[
            "dunning",
            "run",
            "--db",
            dbs,
            "--as-of",
            as_of,
            "--format",
            "json",
            "--letters",
            letters.to_str().unwrap(),
        ],
        Some(sink.port),
    )))
    .unwrap();
    assert_eq!(out["queued"].as_u64().unwrap() as usize, plan.len());
    assert_eq!(out["emails_sent"].as_u64().unwrap() as usize, emails.len());
    let msgs = sink.messages();
    assert_eq!(msgs.len(), emails.len());
    let by_rcpt: BTreeMap<String, &Value> = msgs
        .iter()
        .map(|m| (m["rcpt"].as_str().unwrap().to_string(), m))
        .collect();
    assert_eq!(by_rcpt.len(), msgs.len(), "one message per customer");
    for p in &emails {
        let m = by_rcpt[p["recipient"].as_str().unwrap()];
        let text = m["text"].as_str().unwrap();
        let lang = if p["language"] == "en" {
            Lang::En
        } else {
            Lang::Fr
        };
        let total = lang.money(amount(&p["amount"]));
        assert!(text.contains(&total), "{total} not in {text}");
        let named: BTreeSet<&str> = p["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        for i in &named {
            assert!(text.contains(i), "{i} not in the message");
        }
        // No invoice of the customer other than those named.
        let prefix = "F"; // invoice ids of the generator
        let mentioned: BTreeSet<&str> = text
            .split_whitespace()
            .filter(|w| {
                w.starts_with(prefix) && w.len() > 4 && w[1..].chars().all(|c| c.is_ascii_digit())
            })
            .collect();
        assert_eq!(mentioned, named);
        assert!(m["html"].as_str().unwrap().contains("<table"));
        assert!(text.contains("/portal/"));
        let att = &m["attachments"][0];
        assert!(att[0].as_str().unwrap().ends_with(".pdf") && att[1].as_u64().unwrap() > 1000);
        assert!(m["message_id"].as_str().unwrap().starts_with("<R20261031-"));
    }
    // The letters and formal notices were written; a formal notice carries the L441-10 terms.
    let pdfs = std::fs::read_dir(&letters).unwrap().count();
    assert_eq!(pdfs as u64, out["letters"].as_u64().unwrap());
    if let Some(f) = plan.iter().find(|p| p["channel"] == "formal_notice") {
        let id = format!("R20261031-{}", f["customer_id"].as_str().unwrap());
        let pdf = letters.join(format!("{id}.pdf"));
        let o = Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext (Debian poppler-utils)");
        let t = String::from_utf8_lossy(&o.stdout);
        assert!(t.contains("Mise en demeure"), "{t}");
        assert!(t.contains("L441-10"));
        assert!(t.contains("indemnité"));
    }
    // The same day again: nothing more leaves.
    let again: Value = serde_json::from_str(&ok(arpilot(
        &[
            "dunning", "run", "--db", dbs, "--as-of", as_of, "--format", "json",
        ],
        Some(sink.port),
    )))
    .unwrap();
    assert_eq!(
        (again["queued"].as_u64(), again["emails_sent"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(sink.count(), emails.len());
    // The history lists them sent, with their message ids.
    let hist: Vec<Value> = serde_json::from_str(&ok(arpilot(
        &[
            "dunning", "history", "--db", dbs, "--from", as_of, "--to", as_of, "--format", "json",
        ],
        None,
    )))
    .unwrap();
    assert_eq!(hist.len(), plan.len());
    assert!(hist.iter().all(|h| h["status"] == "sent"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small ledger: D has a disputed and an overdue invoice, P a promise, Q nothing due.
fn small_ledger(dir: &Path, customers: usize) {
    let mut c = String::from("customer_id,name,collector,email,payment_terms_days\n");
    let mut i = String::from("document_id,customer_id,type,issue_date,due_date,amount\n");
    c.push_str("D,Delta SARL,Léa,compta@delta.example.com,30\n");
    c.push_str("P,Pi SAS,Léa,compta@pi.example.com,30\n");
    c.push_str("Q,Quartz SA,Marc,compta@quartz.example.com,30\n");
    i.push_str("FD1,D,invoice,2026-09-01,2026-10-01,1200.00\n");
    i.push_str("FD2,D,invoice,2026-09-01,2026-10-01,800.00\n");
    i.push_str("FP1,P,invoice,2026-09-01,2026-10-01,500.00\n");
    i.push_str("FQ1,Q,invoice,2026-10-01,2026-12-31,300.00\n");
    for k in 0..customers {
        c.push_str(&format!(
            "M{k:04},Client {k},Marc,c{k}@many.example.com,30\n"
        ));
        i.push_str(&format!(
            "FM{k:04},M{k:04},invoice,2026-09-01,2026-10-01,{}.{:02}\n",
            100 + k,
            k % 100
        ));
    }
    std::fs::write(dir.join("customers.csv"), c).unwrap();
    std::fs::write(dir.join("invoices.csv"), i).unwrap();
    std::fs::write(
        dir.join("disputes.csv"),
        "invoice_id,opened_on,resolved_on,reason\nFD2,2026-10-05,,prix\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("promises.csv"),
        "invoice_id,promised_on,due_on,amount\nFP1,2026-10-08,2026-10-15,500.00\n",
    )
    .unwrap();
}

#[test]
fn disputes_are_left_out_and_a_promise_pauses_until_it_is_broken() {
    let dir = tmp("rules");
    let Some(sink) = Sink::start(&dir.join("sink")) else {
        return;
    };
    let set = dir.join("set");
    std::fs::create_dir_all(&set).unwrap();
    small_ledger(&set, 0);
    let db = dir.join("l.db");
    let dbs = db.to_str().unwrap();
    ok(arpilot(
        &["import", set.to_str().unwrap(), "--db", dbs],
        None,
    ));
    // 2026-10-12: D's FD1 is 11 days late (step 2, e-mail) — FD2 is disputed; P promised to
    // pay by the 15th (paused to the 18th with the 3-day grace).
    ok(arpilot(
        &["dunning", "run", "--db", dbs, "--as-of", "2026-10-12"],
        Some(sink.port),
    ));
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["rcpt"], "compta@delta.example.com");
    let text = msgs[0]["text"].as_str().unwrap();
    assert!(text.contains("FD1") && !text.contains("FD2"), "{text}");
    assert!(text.contains(&Lang::Fr.money(Money::new(120_000, Currency::EUR))));
    // 2026-10-19: the promise is broken (not paid by the 15th plus 3 days): P is reminded;
    // D's last reminder was 7 days ago but none of its invoices reached a new step.
    ok(arpilot(
        &["dunning", "run", "--db", dbs, "--as-of", "2026-10-19"],
        Some(sink.port),
    ));
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1]["rcpt"], "compta@pi.example.com");
    assert!(msgs[1]["text"].as_str().unwrap().contains("FP1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_killed_in_the_middle_then_run_again_sends_each_reminder_once() {
    let dir = tmp("kill");
    let Some(sink) = Sink::start(&dir.join("sink")) else {
        return;
    };
    let set = dir.join("set");
    std::fs::create_dir_all(&set).unwrap();
    let n = 1_000;
    small_ledger(&set, n);
    let db = dir.join("l.db");
    let dbs = db.to_str().unwrap();
    ok(arpilot(
        &["import", set.to_str().unwrap(), "--db", dbs],
        None,
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_arpilot"))
        .args(["dunning", "run", "--db", dbs, "--as-of", "2026-10-12"])
        .env(
            "ARPILOT_SMTP_URL",
            format!("smtp://127.0.0.1:{}", sink.port),
        )
        .env("CI", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // SIGKILL once a good part has left.
    let t0 = std::time::Instant::now();
    while sink.count() < n / 3 {
        assert!(t0.elapsed().as_secs() < 300, "the run is too slow");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before the kill"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = sink.count();
    assert!(at_kill < n + 1, "killed too late: {at_kill}");
    ok(arpilot(
        &["dunning", "run", "--db", dbs, "--as-of", "2026-10-12"],
        Some(sink.port),
    ));
    let msgs = sink.messages();
    // One message per customer by Message-ID (what mail stores keep); at most the one message
    // in flight when the process died reached the server twice, with the same Message-ID.
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &msgs {
        ids.entry(m["rcpt"].as_str().unwrap().to_string())
            .or_default()
            .insert(m["message_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), n + 1, "every customer reminded (D and the {n})");
    assert!(ids.values().all(|s| s.len() == 1));
    assert!(
        msgs.len() <= n + 2,
        "{} messages for {} customers",
        msgs.len(),
        n + 1
    );
    // Nothing waits in the ledger.
    let hist: Vec<Value> = serde_json::from_str(&ok(arpilot(
        &[
            "dunning",
            "history",
            "--db",
            dbs,
            "--from",
            "2026-10-12",
            "--to",
            "2026-10-12",
            "--format",
            "json",
        ],
        None,
    )))
    .unwrap();
    assert_eq!(hist.len(), n + 1);
    assert!(hist.iter().all(|h| h["status"] == "sent"));
    let _ = std::fs::remove_dir_all(&dir);
}
