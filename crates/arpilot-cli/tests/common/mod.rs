//! What several end-to-end tests of the binary share.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared public test data (`ARPILOT_SHARED_DATA`, default `../shared/data`), if `sub` is
/// in it; a test without it is skipped with a note, unless `ARPILOT_REQUIRE_SHARED_DATA` is set.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ARPILOT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join(sub).is_dir() {
        Some(dir)
    } else if std::env::var_os("ARPILOT_REQUIRE_SHARED_DATA").is_some() {
        panic!("shared data not found at {}", dir.display());
    } else {
        eprintln!("skipped: shared data not found at {}", dir.display());
        None
    }
}
