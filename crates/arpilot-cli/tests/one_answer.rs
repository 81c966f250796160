//! One answer per date: on the demo company (two entities, one partly in USD, amendments and a
//! push), the report as of a date is the same through the API without a date, the API with that
//! date and `arpilot report --db`, whole and by entity; the aged balance exported to xlsx (from
//! the server and from the CLI) adds up to the same totals.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_arpilot")
}

fn ok(args: &[&str]) -> Vec<u8> {
    let out = Command::new(exe())
        .args(args)
        .env("CI", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "arpilot {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct Server {
    child: Child,
    host: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(db: &str, token: String) -> Server {
        let mut child = Command::new(exe())
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let host = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        Server { child, host, token }
    }

    /// Status and body of a request (HTTP/1.0: the body ends with the connection).
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let mut s = std::net::TcpStream::connect(&self.host).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            self.token,
            body.len()
        )
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let split = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("headers");
        let head = String::from_utf8_lossy(&out[..split]).to_string();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, out[split + 4..].to_vec())
    }

    fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.request("GET", path, "");
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }
}

/// The totals row of an aged-balance workbook and the sums of its other rows, per amount column.
fn xlsx_totals(path: &Path) -> Option<(Vec<String>, Vec<String>)> {
    let script = format!(
        "import openpyxl\nrows = list(openpyxl.load_workbook({:?}).active.iter_rows(values_only=True))\nfirst = [i for i, v in enumerate(rows[-1]) if isinstance(v, (int, float))][0]\nprint(' '.join('%.2f' % v for v in rows[-1][first:]))\nprint(' '.join('%.2f' % sum(r[i] for r in rows[1:-1]) for i in range(first, len(rows[-1]))))",
        path.display().to_string()
    );
    match Command::new("python3").args(["-c", &script]).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8(out.stdout).unwrap();
            let mut lines = text.lines().map(|l| {
                l.split(' ')
                    .map(|x| if x == "-0.00" { "0.00" } else { x }.to_string())
                    .collect::<Vec<_>>()
            });
            Some((lines.next().unwrap(), lines.next().unwrap()))
        }
        Ok(out) if !String::from_utf8_lossy(&out.stderr).contains("No module named") => {
            panic!("{}", String::from_utf8_lossy(&out.stderr));
        }
        _ if std::env::var_os("ARPILOT_REQUIRE_OPENPYXL").is_some() => {
            panic!("openpyxl required (pip install openpyxl)")
        }
        _ => {
            eprintln!("skipped: python3 with openpyxl not found");
            None
        }
    }
}

/// The report's aged-balance amounts, unapplied and balance, as an export's totals row shows them.
fn report_totals(r: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = r["aging"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["amount"].as_str().unwrap().to_string())
        .collect();
    v.push(r["totals"]["unapplied"].as_str().unwrap().to_string());
    v.push(r["totals"]["balance"].as_str().unwrap().to_string());
    v
}

#[test]
fn every_path_gives_one_answer_per_date() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("arpilot-one-answer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db_path = dir.join("demo.db");
    let db = db_path.to_str().unwrap();
    ok(&["demo", "--db", db, "--no-serve"]);
    let token = String::from_utf8(ok(&[
        "users", "--db", db, "token", "dupont", "--name", "test",
    ]))
    .unwrap()
    .trim()
    .to_string();
    let server = Server::start(db, token);
    let latest = server.json("/api/report");
    let d0 = latest["as_of"].as_str().unwrap().to_string();
    assert_eq!(d0, "2026-10-31", "the demo's last date");

    // A push: a payment on the ledger's last date, and a due date changed (an amendment, in
    // force from today, after every date compared here).
    let inv = server.json(&format!("/api/invoices?as_of={d0}&filter=entity=FR02"));
    let open = inv
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["open_amount"].as_str().unwrap().parse::<f64>().unwrap() > 200.0)
        .expect("an open invoice of FR02");
    let (id, customer) = (
        open["document_id"].as_str().unwrap(),
        open["customer_id"].as_str().unwrap(),
    );
    let push = format!(
        r#"{{"source": "test", "events": [{{"type": "payment", "payment_id": "PUSH-1", "customer_id": "{customer}", "date": "{d0}", "amount": "150.00", "invoice_id": "{id}"}}]}}"#
    );
    let (status, body) = server.request("POST", "/api/events", &push);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let pushed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(pushed["payments"], 1, "{pushed}");

    for d in [d0.as_str(), "2026-09-30", "2026-06-15"] {
        for by in [None, Some("entity")] {
            let q = by.map_or(String::new(), |b| format!("&by={b}"));
            let api = server.json(&format!("/api/report?as_of={d}{q}"));
            let mut args = vec!["report", "--db", db, "--as-of", d, "--format", "json"];
            if let Some(b) = by {
                args.extend(["--by", b]);
            }
            let cli: serde_json::Value = serde_json::from_slice(&ok(&args)).unwrap();
            assert_eq!(api, cli, "API and CLI as of {d}, by {by:?}");
            if d == d0 {
                let q = by.map_or(String::new(), |b| format!("?by={b}"));
                let default = server.json(&format!("/api/report{q}"));
                assert_eq!(default, api, "API without a date and with {d}, by {by:?}");
            }
        }
        // The exports add up to the report's figures.
        let report = server.json(&format!("/api/report?as_of={d}"));
        let expected = report_totals(&report);
        let (status, bytes) = server.request("GET", &format!("/export/aging.xlsx?as_of={d}"), "");
        assert_eq!(status, 200);
        let from_server = dir.join(format!("server-{d}.xlsx"));
        std::fs::write(&from_server, bytes).unwrap();
        let from_cli = dir.join(format!("cli-{d}.xlsx"));
        ok(&[
            "export",
            "aging",
            "--db",
            db,
            "--as-of",
            d,
            "--output",
            from_cli.to_str().unwrap(),
        ]);
        for file in [&from_server, &from_cli] {
            if let Some((totals, sums)) = xlsx_totals(file) {
                assert_eq!(totals, expected, "{} totals row as of {d}", file.display());
                assert_eq!(sums, expected, "{} rows as of {d}", file.display());
            }
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
