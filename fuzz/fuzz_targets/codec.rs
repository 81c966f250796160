#![no_main]
// Stored events: any text decodes to an event or an error, and an event re-encodes to text
// that decodes to the same event.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    if let Ok(ev) = arpilot_core::codec::decode(k as i16 % 12, text) {
        let (k2, t2) = arpilot_core::codec::encode(&ev);
        assert_eq!(arpilot_core::codec::decode(k2, &t2).expect("re-encoded"), ev);
    }
});
