#![no_main]
// Factur-X PDFs: the PDF reader, the XMP check and the embedded XML.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(xmls) = arpilot_ingest::pdf::invoice_xmls(data) {
        for (_, xml) in xmls {
            let _ = arpilot_ingest::einvoice::parse(&xml);
        }
    }
});
