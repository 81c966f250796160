#![no_main]
// FEC files in any encoding, separator and variant, then the ledger they make.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = arpilot_ingest::fec::FecOptions::default();
    if let Ok((events, _)) = arpilot_ingest::fec::parse(std::path::Path::new("fuzz.txt"), data, &opts) {
        let _ = arpilot_core::Snapshot::build(opts.currency, events.into_iter().map(|e| e.1));
    }
});
