//! Browser tests: Debian's Chromium driven by playwright-core through the demo's dashboard (see
//! `tests/browser/dashboard.mjs`) and its reminders, with the e-mails delivered to an SMTP sink
//! and the customer portal they link to (`tests/browser/reminders.mjs`); every page's
//! readability and accessibility at two window sizes (`tests/browser/pages.mjs`, axe-core).
//! Screenshots land in `target/browser-screenshots/`. Skipped with a note without node, Chromium or `npm install`
//! in `tests/browser` (or python3 with aiosmtpd, for the reminders), unless
//! `ARPILOT_REQUIRE_BROWSER` is set (as `.ci/run` does).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

mod common;

/// One Chromium at a time: the tests' timings assume the machine is not shared by two.
static BROWSER: Mutex<()> = Mutex::new(());

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

/// True when the test cannot run here, saying why; a panic instead when
/// `ARPILOT_REQUIRE_BROWSER` is set.
fn skip(why: Result<(), String>) -> bool {
    match why {
        Ok(()) => false,
        Err(why) if std::env::var_os("ARPILOT_REQUIRE_BROWSER").is_some() => {
            panic!("browser test required: {why}")
        }
        Err(why) => {
            eprintln!("skipped: {why}");
            true
        }
    }
}

/// `arpilot serve` on a free port with `env`, and its URL (no trailing slash).
fn serve(db: &str, env: &[(&str, String)]) -> (Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_arpilot"));
    server
        .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
        .env_remove("ARPILOT_SMTP_URL")
        .stderr(Stdio::piped());
    for (k, v) in env {
        server.env(k, v);
    }
    let mut server = server.spawn().unwrap();
    let mut err = BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    // The rest of the server's log, shown with the test's output (and the pipe kept open).
    std::thread::spawn(move || {
        for l in err.lines().map_while(Result::ok) {
            eprintln!("server: {l}");
        }
    });
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (server, base)
}

/// A fresh demo company in `dir`; the database's path.
fn demo(dir: &Path) -> String {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("demo.db").to_str().unwrap().to_string();
    let st = Command::new(env!("CARGO_BIN_EXE_arpilot"))
        .args(["demo", "--db", &db, "--no-serve"])
        .status()
        .unwrap();
    assert!(st.success());
    db
}

fn screenshots() -> PathBuf {
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// What the script printed; a failure with its error.
fn report(run: &Output, shots: &Path) {
    eprintln!(
        "{}{}screenshots: {}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        shots
            .canonicalize()
            .unwrap_or(shots.to_path_buf())
            .display()
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn dashboard_in_chromium() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = here.join("tests/browser");
    if skip(ready(&browser_dir)) {
        return;
    }
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let exe = env!("CARGO_BIN_EXE_arpilot");
    let dir = std::env::temp_dir().join(format!("arpilot-browser-{}", std::process::id()));
    let db = demo(&dir);
    let db = db.as_str();
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
    let (mut server, base) = serve(db, &[]);
    let shots = screenshots();
    let run = node(
        &browser_dir,
        &["dashboard.mjs", &base, &token, shots.to_str().unwrap()],
        &mut server,
    );
    let _ = std::fs::remove_dir_all(&dir);
    report(&run, &shots);
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

/// Every page at 1366×768 and 1920×1080 (`tests/browser/pages.mjs`): as the admin, the
/// dashboard also as a collector and in English, the login page and the customer portal. No
/// visible text under 12 px (SVG text measured as drawn), no table wider than its card outside a
/// declared scroll container, no page wider than the window, no overlapping axis labels, no
/// serious or critical axe-core violation; full-page screenshots of each.
#[test]
fn every_page_is_readable_in_chromium() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = here.join("tests/browser");
    if skip(ready(&browser_dir)) {
        return;
    }
    if !browser_dir
        .join("node_modules/axe-core/axe.min.js")
        .is_file()
    {
        skip(Err(format!("run npm ci in {}", browser_dir.display())));
        return;
    }
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("arpilot-browser-pages-{}", std::process::id()));
    let db = demo(&dir);
    let (mut server, base) = serve(&db, &[]);
    let shots = screenshots();
    let run = node(
        &browser_dir,
        &["pages.mjs", &base, shots.to_str().unwrap()],
        &mut server,
    );
    let _ = std::fs::remove_dir_all(&dir);
    report(&run, &shots);
    for page in [
        "login",
        "dashboard",
        "dashboard-en",
        "dashboard-collector",
        "dashboard-forecast",
        "worklist",
        "aging",
        "customers",
        "customer",
        "team",
        "forecast",
        "disputes",
        "cash",
        "reminders",
        "imports",
        "settings",
        "portal",
    ] {
        for size in ["", "-1920"] {
            let f = format!("page-{page}{size}.png");
            assert!(shots.join(&f).is_file(), "{f}");
        }
    }
}

/// Runs a script of `tests/browser` with node against Debian's Chromium, then stops `server`.
fn node(browser_dir: &Path, args: &[&str], server: &mut Child) -> Output {
    let run = Command::new("node")
        .current_dir(browser_dir)
        .args(args)
        .env("CHROMIUM", chromium())
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    run
}

/// The reminders end to end: the admin approves the day's reminders on the Reminders page, the
/// e-mails reach the sink, a customer opens its e-mail's portal link without signing in and
/// declares a promise that the collector's open worklist shows without a reload; an altered
/// link answers 404.
#[test]
fn reminders_and_portal_in_chromium() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = here.join("tests/browser");
    if skip(ready(&browser_dir)) {
        return;
    }
    let dir =
        std::env::temp_dir().join(format!("arpilot-browser-reminders-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let Some(sink) = common::Sink::start(&dir.join("sink")) else {
        skip(Err(
            "python3 with aiosmtpd not found (pip install aiosmtpd)".into(),
        ));
        return;
    };
    let port = sink.port;
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let db = demo(&dir.join("db"));
    // The portal's address is this server's: the script sets it on the settings page, as an
    // admin does (the port is only known once the server listens).
    let (mut server, base) = serve(
        &db,
        &[("ARPILOT_SMTP_URL", format!("smtp://127.0.0.1:{port}"))],
    );
    let shots = screenshots();
    let run = node(
        &browser_dir,
        &[
            "reminders.mjs",
            &base,
            dir.join("sink").to_str().unwrap(),
            shots.to_str().unwrap(),
        ],
        &mut server,
    );
    drop(sink);
    let _ = std::fs::remove_dir_all(&dir);
    report(&run, &shots);
    for page in [
        "settings-reminders",
        "reminders-preview",
        "reminders",
        "reminders-history",
        "portal",
        "portal-forms",
    ] {
        for size in ["", "-1920"] {
            assert!(
                shots.join(format!("{page}{size}.png")).is_file(),
                "{page}{size}.png"
            );
        }
    }
    for page in [
        "dashboard-reminders",
        "portal-thanks",
        "portal-404",
        "collector-worklist-after-portal",
    ] {
        assert!(shots.join(format!("{page}.png")).is_file(), "{page}.png");
    }
}
