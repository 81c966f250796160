//! What the application layer's tests share: the small ledger of the command-line fixtures.

use arpilot_app::import::{Incoming, import};
use arpilot_core::{Day, Event};
use arpilot_store::{NewBatch, Store};
use std::path::PathBuf;

/// The events of the small ledger set (`arpilot-cli/tests/fixtures/small`).
pub fn small_events() -> Vec<Event> {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../arpilot-cli/tests/fixtures/small");
    arpilot_ingest::ledger_csv::read_set(&[fixture])
        .unwrap()
        .events
}

/// Imports `events` (in EUR) into `store` as the first batch, on 1 April 2024.
pub async fn import_events(store: &Store, events: Vec<Event>) {
    import(
        store,
        Incoming::new(
            events,
            arpilot_core::Currency::EUR,
            NewBatch::for_import("small".into(), String::new(), "ledger", None, "t".into()),
            Day::parse_iso("2024-04-01").unwrap(),
            vec![],
        ),
        &|_| {},
    )
    .await
    .unwrap();
}
