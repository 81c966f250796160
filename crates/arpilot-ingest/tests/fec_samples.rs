//! The four FEC files of the shared data (four encodings and layouts): each imports, and each
//! customer's balance equals the debit minus the credit of its 411 lines, computed here by a
//! deliberately naive reading of the file.

mod common;
use arpilot_core::customers::{RatingThresholds, customers};
use arpilot_core::{Day, Selection};
use arpilot_ingest::fec::{self, FecOptions};
use common::shared_data;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Debit − credit of the 411 lines per customer (auxiliary account, else the account), in cents.
fn naive_balances(bytes: &[u8]) -> BTreeMap<String, i64> {
    let text: String = match std::str::from_utf8(bytes) {
        Ok(s) => s.trim_start_matches('\u{feff}').to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    };
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let header = lines.next().unwrap();
    let sep = if header.contains('\t') { '\t' } else { '|' };
    let names: Vec<String> = header.split(sep).map(|h| h.trim().to_lowercase()).collect();
    let col = |n: &str| names.iter().position(|h| h == n).unwrap();
    let (acc, aux, debit, credit) = (
        col("comptenum"),
        col("compauxnum"),
        col("debit"),
        col("credit"),
    );
    let cents = |s: &str| -> i64 {
        let t = s.trim();
        if t.is_empty() {
            0
        } else {
            (t.replace(',', ".").parse::<f64>().unwrap() * 100.0).round() as i64
        }
    };
    let mut out = BTreeMap::new();
    for l in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = l.split(sep).collect();
        if !f[acc].trim().starts_with("411") {
            continue;
        }
        let key = if f[aux].trim().is_empty() {
            f[acc].trim()
        } else {
            f[aux].trim()
        };
        *out.entry(key.to_string()).or_insert(0) += cents(f[debit]) - cents(f[credit]);
    }
    out
}

#[test]
fn every_sample_imports_and_balances_match_the_411_lines() {
    let Some(data) = shared_data("fec_samples_neolegal") else {
        return;
    };
    let dir = data.join("fec_samples_neolegal");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("FEC"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 4);
    let after_all = Day::parse_iso("2060-12-31").unwrap();
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        assert!(fec::looks_like_fec(&bytes), "{}", path.display());
        let (snap, summary) = fec::load(&path, &FecOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected = naive_balances(&bytes);
        assert_eq!(
            summary.customers as usize,
            expected.len(),
            "{}",
            path.display()
        );
        let got: BTreeMap<String, i64> = customers(
            &snap,
            &Selection::all(),
            after_all,
            &RatingThresholds::default(),
        )
        .into_iter()
        .map(|c| (c.customer_id, c.balance.minor))
        .collect();
        assert_eq!(got, expected, "{}", path.display());
        eprintln!(
            "{}: {summary:?}",
            path.file_name().unwrap().to_string_lossy()
        );
    }
}

#[test]
fn lettering_matches_invoices_with_their_payments() {
    let Some(data) = shared_data("fec_samples_neolegal") else {
        return;
    };
    // Pipe-separated, fixed-width, zero-padded amounts, 117 of 151 customer lines lettered.
    let path = data.join("fec_samples_neolegal/111111111FEC20221231.TXT");
    let (snap, summary) = fec::load(&path, &FecOptions::default()).unwrap();
    assert!(summary.allocations > 0);
    assert_eq!(summary.separator, '|');
    // E.LECLERC's invoice VE 0123 of 74.70 (9 January 2023) is lettered AA on 9 February.
    let inv = snap
        .invoices
        .ids
        .find("VE-00000001-1")
        .expect("first sales entry");
    let settled = snap.invoices.settled[inv as usize];
    assert!(
        settled <= Day::parse_iso("2023-02-09").unwrap().0,
        "settled {}",
        Day(settled)
    );
}
