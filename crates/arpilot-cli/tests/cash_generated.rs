//! The matching engine against the generator's truth: a 100 000-invoice ledger whose last month
//! of payments arrives as a camt.053 statement with remittance as banks deliver it (typos,
//! truncations, several invoices per transfer, part payments, bank fees, a sister company
//! paying). At least 90 % of receipts and of their amount must be applied without a person, at
//! most 0.1 % applied wrongly, the rest left for review.

use arpilot_app::Author;
use arpilot_app::cash::{self, CashSettings};
use arpilot_core::Day;
use arpilot_core::snapshot::{CASH_APPLY, RECEIPT_APPLIED};
use arpilot_store::{Store, Target};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

struct Truth {
    customer: String,
    invoices: BTreeSet<String>,
    kind: String,
    amount: i64,
}

fn truth(path: &Path) -> HashMap<String, Truth> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (b, c, i, k, a) = (
        col("bank_ref"),
        col("customer_id"),
        col("invoices"),
        col("kind"),
        col("amount"),
    );
    r.records()
        .map(|x| {
            let x = x.unwrap();
            let invoices = x[i]
                .split(';')
                .filter(|s| !s.is_empty())
                .map(|s| s.split(':').next().unwrap().to_string())
                .collect();
            let amount = arpilot_core::money::parse_minor(&x[a], 2).unwrap();
            (
                x[b].to_string(),
                Truth {
                    customer: x[c].to_string(),
                    invoices,
                    kind: x[k].to_string(),
                    amount,
                },
            )
        })
        .collect()
}

#[test]
fn most_receipts_of_a_generated_month_are_applied_right_without_a_person() {
    let dir = std::env::temp_dir().join(format!("arpilot-cash-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut p = arpilot_synth::Params::new(100_000, 11);
    p.bank = Some(arpilot_synth::BankParams::last_month(p.end));
    arpilot_synth::generate(&p, &dir).unwrap();
    let db = dir.join("ledger.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let author = Author {
        user: "test".into(),
        entity: None,
        effective: Day::parse_iso("2026-11-01").unwrap(),
    };
    let (snap, outcome) = rt.block_on(async {
        let store = Store::open(&Target::Sqlite(db.clone())).await.unwrap();
        let (groups, _) = arpilot_app::import::group_paths(std::slice::from_ref(&dir)).unwrap();
        let parsed =
            arpilot_app::import::read_sources(&groups, &Default::default(), |_| {}).unwrap();
        arpilot_app::import::import_parsed(&store, None, parsed, &author, &|_, _| {})
            .await
            .unwrap();
        let stmt = dir.join("statements/camt053.xml");
        let o = cash::import_statement(
            &store,
            None,
            &stmt,
            "camt053.xml",
            &author,
            CashSettings::default(),
        )
        .await
        .unwrap();
        let v = arpilot_app::view::load(&store, None, None).await.unwrap();
        store.close().await;
        (v.snapshot, o)
    });
    let truth = truth(&dir.join("statements/truth.csv"));
    assert_eq!(outcome.receipts as usize, truth.len());
    // What each payment (a receipt applied) was allocated to.
    let mut allocated: HashMap<u32, Vec<u32>> = HashMap::new();
    for i in 0..snap.invoice_count() {
        for a in snap.allocs_of(i) {
            allocated.entry(a.src).or_default().push(i as u32);
        }
    }
    let mut source_of: HashMap<u32, u32> = HashMap::new();
    for row in &snap.cash {
        if row.kind == CASH_APPLY && row.receipt != u32::MAX {
            source_of.insert(row.receipt, row.source);
        }
    }
    let (mut auto, mut auto_amount, mut wrong, mut total_amount) = (0usize, 0i64, 0usize, 0i64);
    let mut by_kind: HashMap<String, (usize, usize, usize)> = HashMap::new();
    let mut wrongs = Vec::new();
    for r in 0..snap.receipts.day.len() {
        let info = &snap.receipts.info[r];
        let t = &truth[info.bank_ref.as_deref().unwrap()];
        assert_eq!(t.amount, snap.receipts.amount[r]);
        total_amount += t.amount;
        let e = by_kind.entry(t.kind.clone()).or_default();
        e.0 += 1;
        if snap.receipts.state[r] != RECEIPT_APPLIED {
            continue;
        }
        auto += 1;
        auto_amount += t.amount;
        e.1 += 1;
        let src = source_of[&(r as u32)];
        let customer = snap.customers.ids.get(snap.sources.customer[src as usize]);
        let invoices: BTreeSet<String> = allocated
            .get(&src)
            .map(|v| {
                v.iter()
                    .map(|&i| snap.invoices.ids.get(i).to_string())
                    .collect()
            })
            .unwrap_or_default();
        // Right: the customer of the truth and no invoice outside the truth's (a part payment
        // may settle fewer).
        let right =
            customer == t.customer && !invoices.is_empty() && invoices.is_subset(&t.invoices);
        if !right {
            wrong += 1;
            e.2 += 1;
            wrongs.push(format!(
                "{} {}: {:?} → {customer} {invoices:?}, truth {} {:?}",
                t.kind,
                info.remittance.as_deref().unwrap_or(""),
                info.payer_name,
                t.customer,
                t.invoices
            ));
        }
    }
    let n = truth.len();
    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort();
    eprintln!(
        "{n} receipts: {auto} applied automatically ({:.2} %, {:.2} % of the amount), {wrong} wrongly ({:.3} %)",
        auto as f64 * 100.0 / n as f64,
        auto_amount as f64 * 100.0 / total_amount as f64,
        wrong as f64 * 100.0 / n as f64
    );
    for (k, (c, a, w)) in &kinds {
        eprintln!("  {k:<12} {c:>6} receipts, {a:>6} applied, {w:>4} wrong");
    }
    for w in wrongs.iter().take(20) {
        eprintln!("  wrong: {w}");
    }
    assert!(n > 3_000, "{n} receipts");
    assert!(auto * 100 >= n * 90, "{auto} of {n} applied automatically");
    assert!(
        auto_amount * 100 >= total_amount * 90,
        "{auto_amount} of {total_amount}"
    );
    assert!(wrong * 1000 <= n, "{wrong} of {n} applied wrongly");
    let _ = std::fs::remove_dir_all(&dir);
}
