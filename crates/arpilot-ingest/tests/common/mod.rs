//! Finding the shared public data the tests read.

use std::path::PathBuf;

/// The shared data folder holding `sub`, or `None` (with a note) when it is absent outside CI.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ARPILOT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join(sub).is_dir() {
        Some(dir)
    } else if std::env::var_os("ARPILOT_REQUIRE_SHARED_DATA").is_some() {
        panic!(
            "shared data not found at {} (set ARPILOT_SHARED_DATA)",
            dir.display()
        );
    } else {
        eprintln!(
            "skipped: shared data not found at {} (set ARPILOT_SHARED_DATA)",
            dir.display()
        );
        None
    }
}
