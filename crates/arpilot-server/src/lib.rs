//! The web dashboard and JSON API of arpilot (axum). Server-rendered HTML with SVG charts drawn
//! here; a small script refreshes open pages when the ledger changes (server-sent events).
//!
//! Every handler reads customer data through the caller's [`auth::Scope`].

pub mod auth;
pub mod charts;
pub mod export;
pub mod html;
mod imports;
mod pages;
mod settings;

use arpilot_core::select::Filter;
use arpilot_core::{Day, Snapshot};
use arpilot_store::{Store, StoreError, UserRow, UserStore};
use auth::{Role, SESSION_COOKIE, Scope, Sessions};
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use html::Lang;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

/// What the server holds: the store, the ledger's snapshot, sessions, the live channel.
pub struct AppState {
    pub store: Store,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Events in the ledger when the snapshot was last built, counted before building it (a
    /// batch landing meanwhile makes the watcher build it again, never miss it).
    loaded: std::sync::atomic::AtomicI64,
    /// The current snapshot's last document or payment date, the pages' default as-of date
    /// (found once per snapshot rather than by a scan per request).
    latest: std::sync::atomic::AtomicI32,
    /// True when past dates need their own view (amendments, other currencies).
    dated: std::sync::atomic::AtomicBool,
    /// The last views built for past dates.
    views: std::sync::Mutex<Vec<(Day, Arc<Snapshot>)>>,
    pub sessions: Sessions,
    report_settings: RwLock<Arc<ReportSettings>>,
    pub live: broadcast::Sender<u64>,
    /// Dashboard figures by scope and parameters; emptied whenever the ledger changes. Each
    /// entry is computed once: concurrent requests for it wait for the first.
    figures: std::sync::Mutex<std::collections::HashMap<String, Slot>>,
    /// Computations at once: one per core, so cached pages are not starved.
    pub(crate) compute: tokio::sync::Semaphore,
}

type Cached = Arc<dyn std::any::Any + Send + Sync>;
type Slot = Arc<std::sync::Mutex<Option<Cached>>>;

impl AppState {
    pub async fn new(store: Store) -> Result<Arc<AppState>, StoreError> {
        use arpilot_store::LedgerStore;
        let loaded = store.event_count().await?;
        let (snap, dated) = arpilot_store::import::snapshot_dated(&store, None, None).await?;
        let settings = ReportSettings::from(&store.settings().await?);
        Ok(Arc::new(AppState {
            report_settings: RwLock::new(Arc::new(settings)),
            loaded: std::sync::atomic::AtomicI64::new(loaded),
            latest: std::sync::atomic::AtomicI32::new(last_day(&snap).0),
            store,
            snapshot: RwLock::new(Arc::new(snap)),
            dated: std::sync::atomic::AtomicBool::new(dated),
            views: Default::default(),
            sessions: Sessions::default(),
            live: broadcast::channel(16).0,
            figures: Default::default(),
            compute: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
        }))
    }

    /// The cached figures for `key`, if computed.
    pub(crate) fn cached<T: Send + Sync + 'static>(&self, key: &str) -> Option<Arc<T>> {
        let slot = self
            .figures
            .lock()
            .expect("figures lock")
            .get(key)
            .cloned()?;
        // Being computed: do not wait here, on an async worker.
        let guard = slot.try_lock().ok()?;
        guard.clone()?.downcast().ok()
    }

    /// The figures for `key`, computed by `make` on a miss (once, however many ask at the same
    /// time). The snapshot only changes through `reload`, which empties the cache, so a hit is
    /// always current.
    pub(crate) fn figures<T: Send + Sync + 'static, E>(
        &self,
        key: String,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let slot = {
            let mut map = self.figures.lock().expect("figures lock");
            if map.len() >= 512 {
                map.clear();
            }
            map.entry(key).or_default().clone()
        };
        let mut guard = slot.lock().expect("slot lock");
        if let Some(f) = guard.as_ref().and_then(|f| f.clone().downcast::<T>().ok()) {
            return Ok(f);
        }
        let f = Arc::new(make()?);
        *guard = Some(f.clone());
        Ok(f)
    }

    /// The default as-of date: the ledger's last date.
    pub fn latest(&self) -> Day {
        Day(self.latest.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn report_settings(&self) -> Arc<ReportSettings> {
        self.report_settings.read().expect("settings lock").clone()
    }

    /// Saves report settings; cached figures computed with the old ones are dropped.
    pub async fn save_settings(&self, pairs: &[(&str, String)]) -> Result<(), StoreError> {
        for (k, v) in pairs {
            self.store.set_setting(k, v).await?;
        }
        let s = ReportSettings::from(&self.store.settings().await?);
        *self.report_settings.write().expect("settings lock") = Arc::new(s);
        self.figures.lock().expect("figures lock").clear();
        let _ = self.live.send(0);
        Ok(())
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().expect("snapshot lock").clone()
    }

    /// The ledger as seen on `as_of`: the current snapshot, unless amendments or currencies make
    /// a past date look different (such views are built on demand and the last four kept).
    pub async fn snapshot_at(&self, as_of: Option<Day>) -> Result<Arc<Snapshot>, StoreError> {
        let Some(d) = as_of else {
            return Ok(self.snapshot());
        };
        if !self.dated.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(self.snapshot());
        }
        if let Some(v) = self
            .views
            .lock()
            .expect("views lock")
            .iter()
            .find(|v| v.0 == d)
        {
            return Ok(v.1.clone());
        }
        let snap = Arc::new(arpilot_store::import::snapshot(&self.store, Some(d), None).await?);
        let mut views = self.views.lock().expect("views lock");
        if views.len() >= 4 {
            views.remove(0);
        }
        views.push((d, snap.clone()));
        Ok(snap)
    }

    /// Reloads the ledger after an import and tells every open page.
    pub async fn reload(&self) -> Result<(), StoreError> {
        use arpilot_store::LedgerStore;
        let loaded = self.store.event_count().await?;
        let (snap, dated) = arpilot_store::import::snapshot_dated(&self.store, None, None).await?;
        self.loaded
            .store(loaded, std::sync::atomic::Ordering::Relaxed);
        self.latest
            .store(last_day(&snap).0, std::sync::atomic::Ordering::Relaxed);
        self.dated
            .store(dated, std::sync::atomic::Ordering::Relaxed);
        self.views.lock().expect("views lock").clear();
        *self.snapshot.write().expect("snapshot lock") = Arc::new(snap);
        self.figures.lock().expect("figures lock").clear();
        let _ = self.live.send(0);
        Ok(())
    }
}

pub type Shared = Arc<AppState>;

/// Defaults an admin sets for every report: bucket bounds, provision rates per bucket (percent),
/// rating thresholds (average days late for A, B, C) and labels of custom fields.
#[derive(Clone, Debug, Default)]
pub struct ReportSettings {
    pub buckets: Option<String>,
    pub provisions: Option<String>,
    pub rating: arpilot_core::customers::RatingThresholds,
    pub labels: Vec<(String, String)>,
    /// The stored texts, for the settings form.
    pub raw: Vec<(String, String)>,
}

impl ReportSettings {
    pub fn from(pairs: &[(String, String)]) -> ReportSettings {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut s = ReportSettings {
            buckets: get("buckets"),
            provisions: get("provisions"),
            raw: pairs.to_vec(),
            ..ReportSettings::default()
        };
        if let Some(r) = get("rating") {
            let v: Vec<f64> = r.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            if let [a, b, c] = v[..]
                && a <= b
                && b <= c
            {
                s.rating = arpilot_core::customers::RatingThresholds { a, b, c };
            }
        }
        if let Some(l) = get("labels") {
            s.labels = l
                .split(';')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
        }
        s
    }

    /// The label of a dimension, or its name.
    pub fn label<'a>(&'a self, name: &'a str) -> &'a str {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map_or(name, |(_, v)| v.as_str())
    }
}

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/aging", get(pages::aging))
        .route("/customers", get(pages::customers))
        .route("/customers/{id}", get(pages::customer))
        .route(
            "/imports",
            get(imports::imports_page)
                .post(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(imports::MAX_UPLOAD)),
        )
        .route("/settings", get(settings::page))
        .route("/settings/users", post(settings::users))
        .route("/settings/language", post(settings::language))
        .route("/settings/report", post(settings::report))
        .route("/team", get(pages::team))
        .route("/disputes", get(pages::disputes))
        .route("/api/team", get(pages::api_team))
        .route("/api/cohorts", get(pages::api_cohorts))
        .route("/api/forecast", get(pages::api_forecast))
        .route("/api/broken-promises", get(pages::api_broken_promises))
        .route("/api/customers/{id}/rating", get(pages::api_rating))
        .route("/forecast", get(pages::forecast))
        .route("/export/{file}", get(pages::export))
        .route("/login", get(pages::login_form).post(login))
        .route("/logout", post(logout))
        .route("/events", get(pages::events))
        .route(
            "/static/app.css",
            get(|| async { static_file("text/css", html::CSS) }),
        )
        .route(
            "/static/live.js",
            get(|| async { static_file("text/javascript", html::LIVE_JS) }),
        )
        .route("/api/report", get(pages::api_report))
        .route("/api/aging", get(pages::api_aging))
        .route("/api/customers", get(pages::api_customers))
        .route("/api/customers/{id}", get(pages::api_customer))
        .route("/api/invoices", get(pages::api_invoices))
        .route(
            "/api/events",
            post(push_events).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .route(
            "/api/openapi.json",
            get(|| async { Json(pages::openapi()) }),
        )
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// The authenticated caller: a browser session or an API token.
pub struct Caller {
    pub user: UserRow,
    pub role: Role,
    pub scope: Scope,
    /// The session's CSRF token (none for API tokens, which browsers do not send by themselves).
    pub csrf: Option<String>,
    pub lang: Lang,
}

pub enum Denied {
    Page,
    Api,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Page => Redirect::to("/login").into_response(),
            Denied::Api => (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({"error": "sign in or send Authorization: Bearer <token>"})),
            )
                .into_response(),
        }
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Denied> {
        let api = parts.uri.path().starts_with("/api/");
        let denied = || if api { Denied::Api } else { Denied::Page };
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let (user, csrf) = if let Some(token) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            let user = state
                .store
                .token_user(&auth::sha256_hex(token.trim()))
                .await
                .ok()
                .flatten()
                .ok_or_else(denied)?;
            (user, None)
        } else {
            let s = cookie(&parts.headers, SESSION_COOKIE)
                .and_then(|t| state.sessions.get(&t))
                .ok_or_else(denied)?;
            // The user as stored now: a role or portfolio changed by an admin applies to open
            // sessions at once, and a removed user is signed out.
            let user = state
                .store
                .user(&s.user.login)
                .await
                .ok()
                .flatten()
                .ok_or_else(denied)?;
            (user, Some(s.csrf))
        };
        let role = Role::parse(&user.role).ok_or_else(denied)?;
        Ok(Caller {
            scope: Scope::of(&user),
            lang: Lang::pick(&user.locale, accept),
            user,
            role,
            csrf,
        })
    }
}

/// Query parameters shared by pages and API: `as_of`, repeated `filter=NAME=VALUE`, and others.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pub as_of: Option<Day>,
    pub filters: Vec<Filter>,
    pub by: Option<String>,
    pub bucket: Option<usize>,
    pub sort: Option<String>,
    /// Provision rates (percent per bucket) and rating thresholds from the settings.
    pub provisions: Option<String>,
    pub rating: arpilot_core::customers::RatingThresholds,
    /// Upper bounds of the overdue buckets (`30,60,90,120` by default) and the aging basis.
    pub buckets: Option<String>,
    pub basis: Option<String>,
    /// Invoices in a status at the as-of date (`disputed`, `in_legal`, `promised`, `normal`)
    /// and issued in a period.
    pub status: Option<String>,
    pub issued_from: Option<Day>,
    pub issued_to: Option<Day>,
    /// The ledger's last date, known to the server since the snapshot was built.
    pub latest: Option<Day>,
    /// The raw query, to carry into links.
    pub raw: String,
}

impl Params {
    pub fn parse(raw: Option<String>) -> Result<Params, String> {
        let raw = raw.unwrap_or_default();
        let mut p = Params::default();
        let mut keep = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            match k.as_ref() {
                "as_of" if !v.is_empty() => {
                    p.as_of = Some(Day::parse_iso(&v).map_err(|e| format!("as_of: {e}"))?);
                    keep.append_pair("as_of", &v);
                }
                "filter" if !v.is_empty() => {
                    p.filters
                        .push(Filter::parse(&v).map_err(|e| format!("filter: {e}"))?);
                    keep.append_pair("filter", &v);
                }
                "by" => p.by = Some(v.into_owned()),
                "bucket" => p.bucket = v.parse().ok(),
                "sort" => p.sort = Some(v.into_owned()),
                "buckets" if !v.is_empty() => {
                    p.buckets = Some(v.to_string());
                    keep.append_pair("buckets", &v);
                }
                "status"
                    if ["disputed", "in_legal", "promised", "normal"].contains(&v.as_ref()) =>
                {
                    p.status = Some(v.to_string());
                    keep.append_pair("status", &v);
                }
                "issued_from" | "issued_to" if !v.is_empty() => {
                    let d = Day::parse_iso(&v).map_err(|e| format!("{k}: {e}"))?;
                    if k == "issued_from" {
                        p.issued_from = Some(d);
                    } else {
                        p.issued_to = Some(d);
                    }
                    keep.append_pair(&k, &v);
                }
                "basis" if v == "issue" || v == "due" => {
                    p.basis = Some(v.to_string());
                    keep.append_pair("basis", &v);
                }
                _ => {}
            }
        }
        p.raw = keep.finish();
        Ok(p)
    }

    /// The as-of date, by default the ledger's last document or payment date.
    pub fn date(&self, snap: &Snapshot) -> Day {
        self.as_of.or(self.latest).unwrap_or_else(|| last_day(snap))
    }
}

/// The latest date in the ledger (today's reports of a demo ledger end there).
pub fn last_day(snap: &Snapshot) -> Day {
    let a = snap.invoices.issue.iter().max().copied().unwrap_or(0);
    let b = snap.sources.day.iter().max().copied().unwrap_or(0);
    Day(a.max(b))
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
}

async fn login(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let user = state.store.user(&f.login).await.ok().flatten();
    let ok = user
        .as_ref()
        .is_some_and(|u| auth::verify_password(&f.password, &u.password_hash));
    match (ok, user) {
        (true, Some(u)) => {
            let token = state.sessions.open(u);
            (
                [(
                    header::SET_COOKIE,
                    format!(
                        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
                    ),
                )],
                Redirect::to("/"),
            )
                .into_response()
        }
        _ => {
            let lang = Lang::pick(
                "",
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            );
            (
                StatusCode::UNAUTHORIZED,
                axum::response::Html(pages::login_page(
                    lang,
                    Some(lang.t(
                        "Unknown login or wrong password.",
                        "Identifiant ou mot de passe incorrect.",
                    )),
                )),
            )
                .into_response()
        }
    }
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&caller, &f.csrf) || !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    if let Some(t) = cookie(&headers, SESSION_COOKIE) {
        state.sessions.close(&t);
    }
    (
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

/// A form's CSRF token must be the session's.
pub fn csrf_ok(caller: &Caller, sent: &str) -> bool {
    caller
        .csrf
        .as_deref()
        .is_some_and(|c| c.len() == sent.len() && c.bytes().zip(sent.bytes()).all(|(a, b)| a == b))
}

/// Browsers send Origin on POST: it must name this host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        host,
    ) {
        (None, _) => true,
        (Some(o), Some(h)) => o.split("://").nth(1) == Some(h),
        (Some(_), None) => false,
    }
}

pub(crate) fn bad_request(msg: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": msg})),
    )
        .into_response()
}

pub(crate) fn raw(q: RawQuery) -> Option<String> {
    q.0
}

/// `POST /api/events`: appends pushed events (idempotent: what is already in the ledger is
/// skipped, changed attributes become amendments), then every open dashboard refreshes.
async fn push_events(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Json(body): Json<serde_json::Value>,
) -> Response {
    if !caller.role.sees_all() {
        return (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": "pushing events needs the admin or manager role"})),
        )
            .into_response();
    }
    // A browser session must prove the request comes from our pages.
    if caller.csrf.is_some() {
        let sent = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !csrf_ok(&caller, sent) {
            return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
        }
    }
    let currency = state.snapshot().currency;
    let events = match arpilot_ingest::json::read(&body, currency) {
        Ok(e) => e,
        Err(e) => return bad_request(e.to_string()),
    };
    let source = body
        .get("source")
        .and_then(|s| s.as_str())
        .unwrap_or("api")
        .to_string();
    let incoming = arpilot_store::import::Incoming::new(
        events,
        currency,
        arpilot_store::NewBatch::for_import(
            source,
            String::new(),
            "json",
            None,
            caller.user.login.clone(),
        ),
        arpilot_store::today(),
        vec![],
    );
    match arpilot_store::import::import(&state.store, incoming, &|_| {}).await {
        Ok(o) => {
            if o.batch_id.is_some()
                && let Err(e) = state.reload().await
            {
                return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
            }
            let c = o.counts;
            Json(serde_json::json!({
                "batch": o.batch_id, "appended": c.appended, "unchanged": c.unchanged,
                "amended": c.amended, "documents": c.documents, "payments": c.payments,
                "allocations": c.allocations, "customers": c.customers,
                "warnings": o.warnings.iter().map(|(i, w)| match i {
                    Some(i) => format!("events[{i}]: {w}"),
                    None => w.clone(),
                }).collect::<Vec<_>>(),
            }))
            .into_response()
        }
        Err(arpilot_store::import::ImportError::Refused { index, error }) => {
            bad_request(format!("events[{index}]: {error}"))
        }
        Err(e) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

/// Serves until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: Shared) -> std::io::Result<()> {
    tokio::spawn(watch_ledger(Arc::clone(&state)));
    axum::serve(listener, router(state)).await
}

/// Imports made outside this server (`arpilot import` on the same database, another server on
/// the same PostgreSQL) are noticed within a second: open pages then refresh like after a push.
/// Batches appended through this server have already reloaded it: only a count different from
/// the one the snapshot was built from means another writer.
async fn watch_ledger(state: Shared) {
    use arpilot_store::LedgerStore;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    loop {
        tick.tick().await;
        let Ok(now) = state.store.event_count().await else {
            continue;
        };
        if now != state.loaded.load(std::sync::atomic::Ordering::Relaxed) {
            // An error is retried on the next tick.
            let _ = state.reload().await;
        }
    }
}
