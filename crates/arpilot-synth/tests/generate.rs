//! The generator is deterministic and writes ledgers the strict reader accepts, with every
//! behaviour the demo and benchmarks rely on.

use arpilot_core::report::{ReportParams, report};
use arpilot_core::{Day, Selection};
use arpilot_synth::{Params, generate};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("arpilot-synth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn same_seed_same_bytes_and_a_valid_ledger() {
    let (a, b, c) = (tmp("a"), tmp("b"), tmp("c"));
    let p = Params::new(5_000, 42);
    let sa = generate(&p, &a).unwrap();
    generate(&p, &b).unwrap();
    generate(&Params::new(5_000, 43), &c).unwrap();
    assert_eq!(files(&a), files(&b));
    assert_ne!(files(&a), files(&c));
    assert_eq!(sa.invoices, 5_000);
    assert_eq!(sa.customers, 50);
    for (what, n) in [
        ("credit notes", sa.credit_notes),
        ("payments", sa.payments),
        ("allocations", sa.allocations),
        ("disputes", sa.disputes),
        ("promises", sa.promises),
        ("actions", sa.actions),
    ] {
        assert!(n > 0, "no {what}");
    }
    let snap = arpilot_ingest::ledger_csv::load_dir(&a).unwrap();
    let end = Day::parse_iso("2026-10-31").unwrap();
    let r = report(&snap, &Selection::all(), &ReportParams::new(end)).unwrap();
    // Late payers leave overdue invoices, overpayments and cash on account leave unapplied cash.
    assert!(r.totals.overdue.minor > 0);
    assert!(r.totals.not_due.minor > 0);
    assert!(r.totals.unapplied.minor < 0);
    assert!(r.totals.disputed.minor > 0);
    assert!(r.dso.countback > 0.0 && r.dso.countback < 365.0);
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).ok();
    }
}
