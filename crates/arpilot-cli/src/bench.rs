//! `arpilot bench`: engine timings on a ledger, median of several runs, as JSON.

use anyhow::Result;
use arpilot_core::ledger::{DocKind, DocumentRec, Event, PaymentRec};
use arpilot_core::report::{AgingConfig, ReportParams, aging, report};
use arpilot_core::trend::trend;
use arpilot_core::{Day, Selection};
use std::path::Path;
use std::time::Instant;

fn median_ms(runs: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut v: Vec<f64> = (0..runs.max(1))
        .map(|r| {
            let t = Instant::now();
            f(r);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    v.sort_by(f64::total_cmp);
    round(v[v.len() / 2])
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub fn run(data: &Path, as_of: Day, runs: usize) -> Result<()> {
    let t = Instant::now();
    let mut snap = arpilot_ingest::ledger_csv::load_dir(data).map_err(|e| anyhow::anyhow!(e))?;
    snap.daily_all();
    let load_ms = round(t.elapsed().as_secs_f64() * 1000.0);
    let bytes = snap.heap_bytes();
    let all = Selection::all();
    let cfg = AgingConfig::default();
    let params = ReportParams::new(as_of);
    let mut check = 0i64;
    let aging_ms = median_ms(runs, |_| check += aging(&snap, &all, as_of, &cfg).0[0].0);
    let report_ms = median_ms(runs, |_| {
        check += report(&snap, &all, &params)
            .expect("report")
            .totals
            .balance
            .minor
    });
    let trend_ms = median_ms(runs, |_| {
        check += trend(&snap, &all, as_of, 24).len() as i64
    });
    // 500 invoices and 500 payments naming them, for existing customers.
    let nc = snap.customers.names.len() as u32;
    let custs: Vec<String> = (0..nc.min(500))
        .map(|c| snap.customers.ids.get(c).to_string())
        .collect();
    let batches: Vec<Vec<Event>> = (0..runs.max(1))
        .map(|r| {
            (0..500)
                .flat_map(|k| {
                    let cust = custs[k % custs.len()].clone();
                    let id = format!("BENCH{r}-{k}");
                    [
                        Event::Document(DocumentRec {
                            due: Some(as_of.add_days(30)),
                            ..DocumentRec::new(
                                id.clone(),
                                cust.clone(),
                                DocKind::Invoice,
                                as_of,
                                10_000 + k as i64,
                            )
                        }),
                        Event::Payment(PaymentRec {
                            id: format!("BENCHP{r}-{k}"),
                            customer_id: cust,
                            date: as_of,
                            amount: 5_000,
                            currency: None,
                            invoice_id: Some(id),
                            reference: None,
                        }),
                    ]
                })
                .collect()
        })
        .collect();
    let mut batches = batches.into_iter();
    let append_ms = median_ms(runs, |_| {
        snap.append(batches.next().expect("one batch per run"))
            .expect("bench events are valid");
    });
    let n = snap.invoice_count() as f64;
    let out = serde_json::json!({
        "invoices": snap.invoice_count(),
        "payments_and_credits": snap.source_count(),
        "allocations": snap.allocation_count(),
        "customers": snap.customers.names.len(),
        "load_ms": load_ms,
        "snapshot_bytes": bytes,
        "bytes_per_invoice": round(bytes as f64 / n.max(1.0)),
        "aging_ms": aging_ms,
        "report_ms": report_ms,
        "trend_24_ms": trend_ms,
        "append_1000_events_ms": append_ms,
        "runs": runs,
        "checksum": check,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `arpilot bench-cash`: the matching engine on `lines` bank lines against `invoices` open
/// invoices (each line pays a different invoice), measured in the same run as a plain hash join
/// of the remittance's words with the invoice numbers (what a naive matcher does). Remittance as
/// banks deliver it: 60 % the number as written, 10 % with separators ("F 0012345"), 10 % a typo,
/// 10 % no reference (the payer's IBAN only), 10 % two invoices of the customer in one transfer.
pub fn cash(invoices: usize, lines: usize) -> Result<()> {
    use arpilot_core::cash::{MatchConfig, Matcher, Remit};
    use arpilot_core::ledger::CustomerRec;
    let customers = (invoices / 100).max(10);
    let day = Day::from_ymd(2026, 10, 31).expect("valid");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let iban = |c: usize| format!("FR76{:023}", 30_001_000_000_000_000_000u128 + c as u128);
    let t = Instant::now();
    let mut events = Vec::with_capacity(customers + invoices);
    for c in 0..customers {
        events.push(Event::Customer(CustomerRec {
            id: format!("C{c:06}"),
            name: format!("Client {c}"),
            credit_limit: None,
            payment_terms_days: Some(30),
            attrs: vec![("iban".into(), iban(c))],
        }));
    }
    let mut amount = Vec::with_capacity(invoices);
    for i in 0..invoices {
        let a = 10_000 + (next() % 5_000_000) as i64;
        amount.push(a);
        events.push(Event::Document(DocumentRec {
            due: Some(day.add_days(-((i % 90) as i32))),
            ..DocumentRec::new(
                format!("F{i:08}"),
                format!("C{:06}", i % customers),
                DocKind::Invoice,
                day.add_days(-((i % 90) as i32) - 30),
                a,
            )
        }));
    }
    let snap = arpilot_core::Snapshot::build(arpilot_core::Currency::EUR, events)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let build_ms = round(t.elapsed().as_secs_f64() * 1000.0);
    // The bank lines: (amount, remittance, payer IBAN, the invoices it pays).
    struct Line {
        amount: i64,
        text: String,
        iban: Option<String>,
    }
    let mut bank = Vec::with_capacity(lines);
    for k in 0..lines {
        let i = k % invoices;
        let c = i % customers;
        let r = next() % 10;
        let (text, iban, a) = match r {
            0..=5 => (format!("VIR SEPA FACTURE F{i:08}"), None, amount[i]),
            6 => (format!("REGLEMENT F {i:08}"), Some(iban(c)), amount[i]),
            7 => {
                // One digit changed.
                let mut s = format!("F{i:08}").into_bytes();
                let p = 1 + (next() % 8) as usize;
                s[p] = if s[p] == b'9' { b'0' } else { s[p] + 1 };
                (
                    format!("PAIEMENT {}", String::from_utf8_lossy(&s)),
                    Some(iban(c)),
                    amount[i],
                )
            }
            8 => (format!("VIR CLIENT {c}"), Some(iban(c)), amount[i]),
            _ => {
                // This invoice and the customer's next one.
                let j = (i + customers) % invoices;
                (
                    format!("FACT F{i:08} / F{j:08}"),
                    Some(iban(c)),
                    amount[i] + amount[j],
                )
            }
        };
        bank.push(Line {
            amount: a,
            text,
            iban,
        });
    }
    // Baseline: one hash join of the remittance's words with the invoice numbers.
    let t = Instant::now();
    let mut ix: std::collections::HashMap<&str, u32> =
        std::collections::HashMap::with_capacity(invoices);
    for i in 0..invoices {
        ix.insert(snap.invoices.ids.get(i as u32), i as u32);
    }
    let mut joined = 0usize;
    for l in &bank {
        if l.text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| ix.contains_key(w))
        {
            joined += 1;
        }
    }
    let join_ms = round(t.elapsed().as_secs_f64() * 1000.0);
    drop(ix);
    // The engine: index, then every line proposed and the confident ones committed.
    let t = Instant::now();
    let cfg = MatchConfig::default();
    let mut m = Matcher::new(&snap, day.0, cfg);
    let index_ms = round(t.elapsed().as_secs_f64() * 1000.0);
    let mut applied = 0usize;
    for l in &bank {
        let p = m.propose(&Remit {
            amount: l.amount,
            day: day.0,
            payer_iban: l.iban.as_deref(),
            remittance: Some(&l.text),
            ..Remit::default()
        });
        if p.confidence >= cfg.auto_threshold && p.customer.is_some() {
            m.commit(&p);
            applied += 1;
        }
    }
    let engine_ms = round(t.elapsed().as_secs_f64() * 1000.0);
    let out = serde_json::json!({
        "invoices": invoices,
        "bank_lines": lines,
        "ledger_build_ms": build_ms,
        "hash_join_ms": join_ms,
        "hash_join_matched": joined,
        "engine_ms": engine_ms,
        "engine_index_ms": index_ms,
        "engine_applied": applied,
        "engine_vs_join": round(engine_ms / join_ms.max(0.01)),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `arpilot bench-dunning`: selecting today's reminders on a ledger of `invoices` invoices
/// (customers of 100 invoices each, due dates spread over the last 180 days and the next 30,
/// four in five paid, a dispute on one in fifty, a promise on one in a hundred), beside one
/// aged-balance pass over the same ledger in the same run; then, with `smtp`, a full run of
/// `messages` e-mail reminders (each customer due, its statement attached) into a new SQLite
/// ledger, delivered to that SMTP server.
pub fn dunning(invoices: usize, runs: usize, messages: usize, smtp: Option<&str>) -> Result<()> {
    use arpilot_core::dunning::{Policy, select};
    use arpilot_core::ledger::{CustomerRec, DisputeRec, PromiseRec};
    let day = Day::from_ymd(2026, 10, 31).expect("valid");
    let customers = (invoices / 100).max(1);
    let t = Instant::now();
    let mut events = Vec::with_capacity(customers + invoices * 2);
    for c in 0..customers {
        events.push(Event::Customer(CustomerRec {
            id: format!("C{c:07}"),
            name: format!("Client {c}"),
            credit_limit: None,
            payment_terms_days: Some(30),
            attrs: vec![
                ("email".into(), format!("c{c}@bench.example.com")),
                ("size".into(), if c % 10 == 0 { "GE" } else { "PME" }.into()),
            ],
        }));
    }
    for i in 0..invoices {
        let due = day.add_days(30 - (i % 211) as i32);
        let id = format!("F{i:09}");
        let cust = format!("C{:07}", i % customers);
        events.push(Event::Document(DocumentRec {
            due: Some(due),
            ..DocumentRec::new(
                id.clone(),
                cust.clone(),
                DocKind::Invoice,
                due.add_days(-30),
                10_000 + (i % 997) as i64 * 100,
            )
        }));
        if i % 5 != 0 && due <= day {
            events.push(Event::Payment(PaymentRec {
                id: format!("P{i:09}"),
                customer_id: cust,
                date: due,
                amount: 10_000 + (i % 997) as i64 * 100,
                currency: None,
                invoice_id: Some(id.clone()),
                reference: None,
            }));
        } else if i % 50 == 5 {
            events.push(Event::Dispute(DisputeRec {
                invoice_id: id,
                opened_on: due,
                resolved_on: None,
                reason: Some("prix".into()),
                amount: None,
                owner: None,
            }));
        } else if i % 100 == 10 {
            events.push(Event::Promise(PromiseRec {
                invoice_id: id,
                promised_on: day.add_days(-5),
                due_on: day.add_days(5),
                amount: 10_000,
            }));
        }
    }
    let snap = arpilot_core::Snapshot::build(arpilot_core::Currency::EUR, events)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let build_ms = round(t.elapsed().as_secs_f64() * 1000.0);
    let all = Selection::all();
    let policy = Policy::standard();
    let mut due = 0;
    let mut waiting = 0;
    let select_ms = median_ms(runs, |_| {
        let s = select(&snap, &all, &policy, day);
        due = s.due.len();
        waiting = s.waiting.len();
    });
    let cfg = AgingConfig::default();
    let mut check = 0i64;
    let aging_ms = median_ms(runs, |_| check += aging(&snap, &all, day, &cfg).0[0].0);
    drop(snap);
    let mut out = serde_json::json!({
        "invoices": invoices,
        "customers": customers,
        "build_ms": build_ms,
        "select_ms": select_ms,
        "baseline_aging_ms": aging_ms,
        "reminders_due": due,
        "customers_waiting": waiting,
        "runs": runs,
        "checksum": check,
    });
    if let Some(url) = smtp {
        out["send"] = send(messages, url, day)?;
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// A full reminder run of `messages` e-mails into a new ledger, delivered to `url`.
fn send(messages: usize, url: &str, day: Day) -> Result<serde_json::Value> {
    use arpilot_app::dunning::{self, DunningSettings, Smtp};
    use arpilot_core::ledger::CustomerRec;
    use arpilot_store::{LedgerStore, NewBatch, Store, Target};
    let dir = std::env::temp_dir().join(format!("arpilot-bench-dunning-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let r = rt.block_on(async {
        let store = Store::open(&Target::Sqlite(dir.join("bench.db"))).await?;
        let mut events = Vec::with_capacity(messages * 3);
        for c in 0..messages {
            events.push(Event::Customer(CustomerRec {
                id: format!("C{c:06}"),
                name: format!("Client {c}"),
                credit_limit: None,
                payment_terms_days: Some(30),
                attrs: vec![("email".into(), format!("c{c}@bench.example.com"))],
            }));
            for k in 0..2 {
                events.push(Event::Document(DocumentRec {
                    due: Some(day.add_days(-10 - k)),
                    ..DocumentRec::new(
                        format!("F{c:06}-{k}"),
                        format!("C{c:06}"),
                        DocKind::Invoice,
                        day.add_days(-40 - k),
                        12_345 + c as i64,
                    )
                }));
            }
        }
        let batch =
            NewBatch::for_import("bench".into(), String::new(), "json", None, "bench".into());
        store.append(&batch, &[], &events, 0, &|_| {}).await?;
        let views = arpilot_app::Views::open(&store).await?;
        let mut settings = DunningSettings::load(&store, 2).await?;
        settings.smtp_url = Some(url.to_string());
        let smtp = Smtp::new(url)?;
        let author = arpilot_app::Author {
            user: "bench".into(),
            entity: None,
            effective: day,
        };
        let t = Instant::now();
        let o = dunning::run(
            &views,
            &store,
            &settings,
            &smtp,
            day,
            &[],
            None,
            &author,
            "cli",
        )
        .await?;
        let secs = t.elapsed().as_secs_f64();
        store.close().await;
        anyhow::Ok(serde_json::json!({
            "messages": messages,
            "queued": o.queued,
            "emails_sent": o.emails_sent,
            "failed": o.failed.len(),
            "run_s": round(secs),
            "per_message_ms": round(secs * 1000.0 / messages.max(1) as f64),
        }))
    });
    let _ = std::fs::remove_dir_all(&dir);
    r
}
