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
