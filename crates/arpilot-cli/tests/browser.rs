//! Browser test: Debian's Chromium driven by playwright-core through the demo's dashboard (see
//! `tests/browser/dashboard.mjs`). Screenshots land in `target/browser-screenshots/`.
//! Skipped with a note without node, Chromium or `npm install` in `tests/browser`, unless
//! `ARPILOT_REQUIRE_BROWSER` is set (as `.ci/run` does).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn ready(dir: &Path) -> Result<(), String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Err("node not found".into());
    }
    if !chromium().is_file() {
        return Err(format!(
            "{} not found (apt install chromium)",
            chromium().display()
        ));
    }
    if !dir.join("node_modules/playwright-core").is_dir() {
        return Err(format!("run npm ci in {}", dir.display()));
    }
    Ok(())
}

#[test]
fn dashboard_in_chromium() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = here.join("tests/browser");
    if let Err(why) = ready(&browser_dir) {
        if std::env::var_os("ARPILOT_REQUIRE_BROWSER").is_some() {
            panic!("browser test required: {why}");
        }
        eprintln!("skipped: {why}");
        return;
    }
    let exe = env!("CARGO_BIN_EXE_arpilot");
    let dir = std::env::temp_dir().join(format!("arpilot-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("demo.db");
    let db = db.to_str().unwrap();
    let st = Command::new(exe)
        .args(["demo", "--db", db, "--no-serve"])
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(exe)
        .args([
            "users",
            "--db",
            db,
            "token",
            "dupont",
            "--name",
            "browser-test",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut server = Command::new(exe)
        .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    let shots = here.join("../../target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let run = Command::new("node")
        .current_dir(&browser_dir)
        .args(["dashboard.mjs", &base, &token, shots.to_str().unwrap()])
        .env("CHROMIUM", chromium())
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{}{}screenshots: {}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        shots.canonicalize().unwrap_or(shots.clone()).display()
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for page in [
        "dashboard",
        "aging",
        "customers",
        "customer",
        "worklist",
        "worklist-laptop",
        "dashboard-after-push",
        "collector-worklist",
        "cash",
        "cash-laptop",
        "cash-customer-after",
        "dashboard-after-cash",
        "collector-customer",
        "dashboard-after-promise",
    ] {
        assert!(shots.join(format!("{page}.png")).is_file(), "{page}.png");
    }
}
