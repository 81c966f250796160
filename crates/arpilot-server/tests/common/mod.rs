//! What the server's tests share: a small ledger and its users, the app on 127.0.0.1:0 (on
//! SQLite, or on any target for several servers on one database), and a tiny HTTP/1.1 client.
#![allow(dead_code)]

use arpilot_app::import::{Incoming, import};
use arpilot_core::ledger::*;
use arpilot_core::{Currency, Day};
use arpilot_server::auth;
use arpilot_store::{NewBatch, Store, Target, UserStore};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub fn d(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

/// Three customers (two in region Nord, Léa's and Marc's; one in Sud, Marc's), three invoices
/// each: 100, 200 and 300 EUR.
pub fn events() -> Vec<Event> {
    let mut v = Vec::new();
    for (id, collector, region) in [
        ("C-NORD-1", "Léa", "Nord"),
        ("C-NORD-2", "Marc", "Nord"),
        ("C-SUD-1", "Marc", "Sud"),
    ] {
        v.push(Event::Customer(CustomerRec {
            id: id.into(),
            name: format!("Client {id}"),
            credit_limit: Some(1_000_000),
            payment_terms_days: Some(30),
            attrs: vec![
                ("collector".into(), collector.into()),
                ("region".into(), region.into()),
            ],
        }));
        for k in 0..3 {
            v.push(Event::Document(DocumentRec::new(
                format!("{id}-F{k}"),
                id,
                DocKind::Invoice,
                d("2024-01-10").add_days(20 * k),
                10_000 * (k as i64 + 1),
            )));
        }
    }
    v
}

/// Imports `events` in EUR as one batch from `source`, amendments effective 2024-06-30.
pub async fn append(store: &Store, events: Vec<Event>, source: &str) {
    import(
        store,
        Incoming {
            events,
            currency: Currency::EUR,
            batch: NewBatch {
                source: source.into(),
                ..NewBatch::default()
            },
            effective: d("2024-06-30"),
            warnings: vec![],
        },
        &|_| {},
    )
    .await
    .unwrap();
}

/// Imports [`events`] into the ledger at `target` and adds the users `admin`, `lea` (collector,
/// Léa's customers), `nord` (viewer, region Nord) and `nobody` (collector without portfolio);
/// each one's password is `pw-<login>`.
pub async fn seed(target: &Target) {
    let store = Store::open(target).await.unwrap();
    append(&store, events(), "test").await;
    for (login, role, portfolio) in [
        ("admin", "admin", ""),
        ("lea", "collector", "collector=Léa"),
        ("nord", "viewer", "region=Nord"),
        ("nobody", "collector", ""),
    ] {
        store
            .add_user(
                login,
                &auth::hash_password(&format!("pw-{login}")),
                role,
                portfolio,
            )
            .await
            .unwrap();
    }
    store.close().await;
}

/// A server on 127.0.0.1:0.
pub struct App {
    pub base: String,
    pub client: Client,
    pub target: Target,
}

static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A tiny HTTP/1.1 client over TcpStream: enough for GET/POST with cookies and headers.
#[derive(Clone, Default)]
pub struct Client {
    pub cookie: Option<String>,
    pub bearer: Option<String>,
}

pub struct Resp {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Client {
    pub async fn send(
        &self,
        base: &str,
        method: &str,
        path: &str,
        body: &str,
        extra: &[(&str, &str)],
    ) -> Resp {
        let host = base.trim_start_matches("http://").trim_end_matches('/');
        let mut s = TcpStream::connect(host).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if let Some(c) = &self.cookie {
            req += &format!("Cookie: {c}\r\n");
        }
        if let Some(t) = &self.bearer {
            req += &format!("Authorization: Bearer {t}\r\n");
        }
        for (k, v) in extra {
            req += &format!("{k}: {v}\r\n");
        }
        if method == "POST" {
            if !extra
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                req += "Content-Type: application/x-www-form-urlencoded\r\n";
            }
            req += &format!("Content-Length: {}\r\n", body.len());
        }
        req += "\r\n";
        req += body;
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        // Bodies come chunked: keep only the chunks' data.
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            let mut rest = body;
            let mut b = String::new();
            while let Some((len, tail)) = rest.split_once("\r\n") {
                let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
                if n == 0 {
                    break;
                }
                b.push_str(&tail[..n]);
                rest = &tail[n + 2..];
            }
            b
        } else {
            body.to_string()
        };
        Resp {
            status,
            headers: head.to_string(),
            body,
        }
    }
}

impl App {
    /// A server on a fresh SQLite ledger holding [`events`] and the users of [`seed`].
    pub async fn start() -> App {
        App::start_with(arpilot_server::ServerOptions::default()).await
    }

    /// [`App::start`] with server options.
    pub async fn start_with(options: arpilot_server::ServerOptions) -> App {
        let path = std::env::temp_dir().join(format!(
            "arpilot-server-{}-{}.db",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", path.display()));
        }
        let target = Target::Sqlite(path);
        seed(&target).await;
        App::serve_with(target, options).await
    }

    /// A server on an existing ledger, with a store handle of its own.
    pub async fn serve(target: Target) -> App {
        App::serve_with(target, arpilot_server::ServerOptions::default()).await
    }

    /// A server on an existing ledger with `options`.
    pub async fn serve_with(target: Target, options: arpilot_server::ServerOptions) -> App {
        let store = Store::open(&target).await.unwrap();
        let state = arpilot_server::AppState::with_options(store, options)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(arpilot_server::serve(listener, Arc::clone(&state)));
        App {
            base,
            client: Client::default(),
            target,
        }
    }

    /// The SQLite file of the ledger.
    pub fn db(&self) -> std::path::PathBuf {
        match &self.target {
            Target::Sqlite(p) => p.clone(),
            Target::Postgres(_) => panic!("not a SQLite ledger"),
        }
    }

    /// Posts the sign-in form as a browser does: `GET /login` for its token and cookie, then
    /// `POST /login` with `body` and the token.
    pub async fn post_login(&self, body: &str) -> Resp {
        let form = self.client.send(&self.base, "GET", "/login", "", &[]).await;
        assert_eq!(form.status, 200, "{}", form.headers);
        let cookie = form
            .headers
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .expect("the form's cookie")
            .to_string();
        let token = form
            .body
            .split(r#"name="csrf" value=""#)
            .nth(1)
            .and_then(|t| t.split('"').next())
            .expect("the form's token")
            .to_string();
        Client {
            cookie: Some(cookie),
            bearer: None,
        }
        .send(
            &self.base,
            "POST",
            "/login",
            &format!("{body}&csrf={token}"),
            &[],
        )
        .await
    }

    /// Signs in (`POST /login`); a client with the session cookie.
    pub async fn login(&self, login: &str) -> Client {
        let r = self
            .post_login(&format!("login={login}&password=pw-{login}"))
            .await;
        assert_eq!(r.status, 303, "{login}: {}", r.headers);
        let cookie = r
            .headers
            .lines()
            .filter_map(|l| l.strip_prefix("set-cookie: "))
            .find(|c| c.starts_with("arpilot_session="))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string();
        Client {
            cookie: Some(cookie),
            bearer: None,
        }
    }

    /// An API token for `login`.
    pub async fn token(&self, login: &str) -> String {
        let store = Store::open(&self.target).await.unwrap();
        let t = auth::random_token();
        assert!(
            store
                .add_token(login, "test", &auth::sha256_hex(&t))
                .await
                .unwrap()
        );
        store.close().await;
        t
    }

    /// `POST /api/events` with a JSON body; the raw response.
    pub async fn push(&self, token: &str, body: &str) -> String {
        let host = self.base.trim_start_matches("http://").to_string();
        let mut s = TcpStream::connect(&host).await.unwrap();
        let req = format!(
            "POST /api/events HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    /// Uploads a file through the import page's form (`POST /imports`) as `c`.
    pub async fn upload(
        &self,
        c: &Client,
        csrf: &str,
        name: &str,
        content: impl AsRef<[u8]>,
    ) -> Resp {
        let b = "----arpilotboundary";
        let mut body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(content.as_ref());
        body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
        let host = self.base.trim_start_matches("http://").to_string();
        let mut s = TcpStream::connect(&host).await.unwrap();
        let head = format!(
            "POST /imports HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nCookie: {}\r\nContent-Type: multipart/form-data; boundary={b}\r\nContent-Length: {}\r\n\r\n",
            c.cookie.as_deref().unwrap_or(""),
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out.split(' ').nth(1).unwrap().parse().unwrap();
        Resp {
            status,
            headers: String::new(),
            body: out,
        }
    }

    pub async fn get(&self, c: &Client, path: &str) -> Resp {
        c.send(&self.base, "GET", path, "", &[]).await
    }

    /// Opens the live stream (`GET /events`) as `c`; returns it once its headers are read, with
    /// them.
    pub async fn sse(&self, c: &Client) -> (TcpStream, String) {
        let host = self.base.trim_start_matches("http://").to_string();
        let mut s = TcpStream::connect(&host).await.unwrap();
        s.write_all(
            format!(
                "GET /events HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n",
                c.cookie.as_deref().unwrap_or("")
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&head).contains("\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("the stream's headers")
                .unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&head));
            head.extend_from_slice(&buf[..n]);
        }
        (s, String::from_utf8_lossy(&head).into_owned())
    }
}

/// Reads a live stream until a message of kind `event` arrives; false when `within` passes
/// first.
pub async fn sse_event(s: &mut TcpStream, event: &str, within: Duration) -> bool {
    let wanted = format!("event: {event}");
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                if seen.contains(&wanted) {
                    return true;
                }
            }
            _ => return false,
        }
    }
}

/// How many messages of kind `event` a live stream receives during `window`.
pub async fn sse_count(s: &mut TcpStream, event: &str, window: Duration) -> usize {
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    seen.matches(&format!("event: {event}\n")).count()
}

/// The CSRF token of a page's forms.
pub fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string()
}
