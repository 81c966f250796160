//! A 5 KB spreadsheet with one cell at BZ1048576, uploaded with a mapping through the imports
//! page of a running `arpilot serve`: refused with the cell named, the server's peak memory
//! (VmHWM of its process) grows by well under 100 MB, and it goes on serving.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_arpilot")
}

/// One HTTP/1.1 exchange; the status, the headers and the body.
fn http(addr: &str, head: &str, body: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let (h, b) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = h.split(' ').nth(1).unwrap().parse().unwrap();
    (status, h.to_string(), b.to_string())
}

fn cookie(headers: &str, name: &str) -> String {
    headers
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string()
}

fn token_in(page: &str) -> String {
    page.split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap()
        .to_string()
}

/// Peak resident memory of process `pid`, in kB.
fn hwm(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_far_cell_upload_is_refused_in_little_memory() {
    if !std::path::Path::new("/proc/self/status").is_file() {
        eprintln!("skipped: no /proc");
        return;
    }
    let dir = std::env::temp_dir().join(format!("arpilot-upload-mem-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("ledger.db");
    let db = db.to_str().unwrap();
    let small = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small");
    assert!(
        Command::new(exe())
            .args(["import", small.to_str().unwrap(), "--db", db])
            .env("CI", "1")
            .status()
            .unwrap()
            .success()
    );
    assert!(
        Command::new(exe())
            .args(["users", "--db", db, "add", "boss", "--role", "admin"])
            .env("ARPILOT_PASSWORD", "long-enough-1")
            .status()
            .unwrap()
            .success()
    );
    // The tester's file: a small table and one cell far away.
    let xlsx = dir.join("far.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["document_id", "customer_id", "issue_date", "amount"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in ["F9", "C1", "2024-03-01", "10"].iter().enumerate() {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    ws.write_string(1_048_575, 77, "far").unwrap(); // BZ1048576
    wb.save(&xlsx).unwrap();
    let bytes = std::fs::read(&xlsx).unwrap();
    assert!(bytes.len() < 8_000, "{} bytes", bytes.len());
    let mapping = "kind = \"invoices\"\n[columns]\ndocument_id = \"document_id\"\ncustomer_id = \"customer_id\"\nissue_date = \"issue_date\"\namount = \"amount\"\n";

    let mut server = Command::new(exe())
        .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let get = |path: &str, cookie: &str| {
        http(
            &addr,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n\r\n"
            ),
            b"",
        )
    };
    // Sign in as a browser does.
    let (_, h, page) = get("/login", "");
    let (login_cookie, token) = (cookie(&h, "arpilot_login"), token_in(&page));
    let body = format!("login=boss&password=long-enough-1&csrf={token}");
    let (status, h, _) = http(
        &addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {login_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ),
        body.as_bytes(),
    );
    assert_eq!(status, 303);
    let session = cookie(&h, "arpilot_session");
    let (_, _, imports) = get("/imports", &session);
    let csrf = token_in(&imports);

    let before = hwm(server.id());
    let b = "----arpilotboundary";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"mapping\"; filename=\"m.toml\"\r\nContent-Type: application/toml\r\n\r\n{mapping}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"far.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    let (status, _, answer) = http(
        &addr,
        &format!(
            "POST /imports HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {session}\r\nContent-Type: multipart/form-data; boundary={b}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ),
        &body,
    );
    let after = hwm(server.id());
    let (report, _, _) = get("/api/report", &session);
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(status, 422, "{answer}");
    assert!(answer.contains("BZ1048576"), "the cell is named: {answer}");
    let grown_mb = (after - before) as f64 / 1024.0;
    eprintln!("server peak memory: {before} kB before, {after} kB after (+{grown_mb:.1} MB)");
    assert!(grown_mb < 100.0, "the server grew by {grown_mb:.1} MB");
    assert_eq!(report, 200, "the server goes on serving");
}
