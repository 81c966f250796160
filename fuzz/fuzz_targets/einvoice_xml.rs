#![no_main]
// CII, ZUGFeRD 1 and UBL invoices: refused with a message or read, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(inv) = arpilot_ingest::einvoice::parse(data) {
        let _ = arpilot_core::Snapshot::build(inv.currency, inv.events());
    }
});
