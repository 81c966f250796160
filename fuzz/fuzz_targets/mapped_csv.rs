#![no_main]
// Any CSV with a mapping: separator, encoding, decimal and date detection.
use libfuzzer_sys::fuzz_target;

const MAPPING: &str = r#"
kind = "invoices"
[columns]
document_id = "invoiceNumber"
customer_id = "customerID"
issue_date = "InvoiceDate"
due_date = "DueDate"
amount = "InvoiceAmount"
settled_date = "SettledDate"
"#;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("arpilot-fuzz-mapped-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let m = dir.join("m.toml");
    let f = dir.join("in.csv");
    let _ = std::fs::write(&m, MAPPING);
    let _ = std::fs::write(&f, data);
    let mapping = arpilot_ingest::mapped::Mapping::load(&m).expect("fixed mapping");
    let _ = arpilot_ingest::mapped::load(&f, &mapping);
});
