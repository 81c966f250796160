//! What several end-to-end tests of the binary share.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp")
}

/// The SMTP sink (tests/smtp/sink.py): a Python aiosmtpd server writing each message to a directory.
pub struct Sink {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Sink {
    pub fn start(dir: &Path) -> Option<Sink> {
        let has = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !has {
            if std::env::var_os("ARPILOT_REQUIRE_SMTP").is_some() {
                panic!("python3 with aiosmtpd is required (pip install aiosmtpd)");
            }
            eprintln!("skipped: python3 with aiosmtpd not found");
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let mut child = Command::new("python3")
            .arg(tests_dir().join("sink.py"))
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Some(Sink {
            child,
            port: line.trim().parse().expect("the sink's port"),
            dir: dir.to_path_buf(),
        })
    }

    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".eml")
            })
            .count()
    }

    pub fn messages(&self) -> Vec<Value> {
        let o = Command::new("python3")
            .arg(tests_dir().join("read.py"))
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `arpilot ARGS` with the SMTP server on `smtp` (none: no e-mail can leave).
pub fn arpilot_smtp(args: &[&str], smtp: Option<u16>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_arpilot"));
    c.args(args)
        .env("CI", "1")
        .env("ARPILOT_PASSWORD", "long-enough-pw")
        .env_remove("ARPILOT_SMTP_URL");
    if let Some(p) = smtp {
        c.env("ARPILOT_SMTP_URL", format!("smtp://127.0.0.1:{p}"));
    }
    c.output().unwrap()
}

/// The standard output of a command that must succeed (else both outputs in the failure).
pub fn stdout_ok(o: std::process::Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A fresh directory `arpilot-<prefix>-<name>-<pid>` in the temporary directory.
pub fn fresh_dir(prefix: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("arpilot-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
