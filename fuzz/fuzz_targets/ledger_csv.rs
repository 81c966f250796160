#![no_main]
// The CSV ledger set: the input is split into customers.csv, invoices.csv and payments.csv at
// 0xFF bytes, written to a folder and read like an import.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("arpilot-fuzz-ledger-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut parts = data.split(|&b| b == 0xFF);
    for f in ["customers.csv", "invoices.csv", "payments.csv"] {
        let _ = std::fs::write(dir.join(f), parts.next().unwrap_or(b""));
    }
    if let Ok(set) = arpilot_ingest::ledger_csv::read_set(&[dir.clone()]) {
        let _ = arpilot_core::Snapshot::build(set.currency, set.events);
    }
});
