//! The web dashboard and JSON API of arpilot (axum). Server-rendered HTML with SVG charts drawn
//! here; a small script refreshes open pages when the ledger changes (server-sent events).
//!
//! Every handler reads customer data through the caller's [`auth::Scope`].

pub mod auth;
mod cash;
pub mod charts;
pub mod html;
mod imports;
mod lists;
mod management;
pub mod openapi;
mod pages;
mod portal;
mod reminders;
mod settings;
mod views;
mod work;

pub use arpilot_app::export;

use arpilot_app::{Defaults, ReportRequest, Views};
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
    /// The ledger as of its last date and the last views of other dates.
    pub views: Views,
    pub sessions: Sessions,
    /// Back-off after failed sign-ins.
    pub throttle: auth::Throttle,
    report_settings: RwLock<Arc<Defaults>>,
    /// Each change of the ledger or the settings, with what it touched: an open page is told
    /// only when its user's portfolio sees something of it.
    pub live: broadcast::Sender<Arc<arpilot_app::view::Touched>>,
    /// Dashboard figures by scope and parameters; emptied whenever the ledger changes. Each
    /// entry is computed once: concurrent requests for it wait for the first.
    figures: std::sync::Mutex<std::collections::HashMap<String, Slot>>,
    /// Computations at once: one per core, so cached pages are not starved.
    pub(crate) compute: tokio::sync::Semaphore,
    /// Cookies carry `Secure` (the public address is https).
    secure_cookies: bool,
}

/// How a server is reached.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// The address users open (`https://ar.example.com`), when a proxy serves it: an https one
    /// makes every cookie `Secure`.
    pub public_url: Option<String>,
}

impl ServerOptions {
    /// Checks the public address: `http://` or `https://` and a host.
    pub fn public_url(url: &str) -> Result<ServerOptions, String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| format!("public URL {url:?}: expected http://… or https://…"))?;
        if rest.trim_matches('/').is_empty() || rest.contains(char::is_whitespace) {
            return Err(format!(
                "public URL {url:?}: expected a host after the scheme"
            ));
        }
        Ok(ServerOptions {
            public_url: Some(url.to_string()),
        })
    }
}

type Cached = Arc<dyn std::any::Any + Send + Sync>;
type Slot = Arc<std::sync::Mutex<Option<Cached>>>;

impl AppState {
    pub async fn new(store: Store) -> Result<Arc<AppState>, StoreError> {
        AppState::with_options(store, ServerOptions::default()).await
    }

    pub async fn with_options(
        store: Store,
        options: ServerOptions,
    ) -> Result<Arc<AppState>, StoreError> {
        let views = Views::open(&store).await?;
        let settings = stored_defaults(&store.settings().await?);
        Ok(Arc::new(AppState {
            report_settings: RwLock::new(Arc::new(settings)),
            store,
            views,
            sessions: Sessions,
            throttle: auth::Throttle::default(),
            live: broadcast::channel(16).0,
            figures: Default::default(),
            compute: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            secure_cookies: options
                .public_url
                .is_some_and(|u| u.starts_with("https://")),
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
        let guard = match slot.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
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
        // A computation that panicked left the slot empty: compute again.
        let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = guard.as_ref().and_then(|f| f.clone().downcast::<T>().ok()) {
            return Ok(f);
        }
        let f = Arc::new(make()?);
        *guard = Some(f.clone());
        Ok(f)
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure behind https.
    pub(crate) fn cookie(&self, name: &str, value: &str, path: &str, max_age: u64) -> String {
        format!(
            "{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
            if self.secure_cookies { "; Secure" } else { "" }
        )
    }

    /// The default as-of date: the ledger's last date.
    pub fn latest(&self) -> Day {
        self.views.latest()
    }

    pub fn report_settings(&self) -> Arc<Defaults> {
        self.report_settings.read().expect("settings lock").clone()
    }

    /// Saves report settings (checked first: nothing is saved when one is invalid); cached
    /// figures computed with the old ones are dropped.
    pub async fn save_settings(&self, pairs: &[(&str, String)]) -> Result<(), SettingsError> {
        let mut all = self.store.settings().await?;
        for (k, v) in pairs {
            all.retain(|(key, _)| key != k);
            all.push((k.to_string(), v.clone()));
        }
        Defaults::parse(&all)?;
        for (k, v) in pairs {
            self.store.set_setting(k, v).await?;
        }
        let s = stored_defaults(&self.store.settings().await?);
        *self.report_settings.write().expect("settings lock") = Arc::new(s);
        self.figures.lock().expect("figures lock").clear();
        let _ = self
            .live
            .send(Arc::new(arpilot_app::view::Touched::Everything));
        Ok(())
    }

    /// The view at the ledger's last date.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.views.current()
    }

    /// The ledger as seen on `as_of` (see [`Views::at`]).
    pub async fn snapshot_at(&self, as_of: Option<Day>) -> Result<Arc<Snapshot>, StoreError> {
        self.views.at(&self.store, as_of).await
    }

    /// Catches up with the ledger after an import made elsewhere (only the new events are
    /// read) and tells every open page when something changed.
    pub async fn reload(&self) -> Result<(), StoreError> {
        if self.views.refresh(&self.store).await? != arpilot_app::view::Refreshed::Unchanged {
            self.changed();
        }
        Ok(())
    }

    /// The views moved forward: cached figures are dropped and the open pages that see
    /// something of the change are told.
    pub fn changed(&self) {
        self.figures.lock().expect("figures lock").clear();
        let touched = self.views.take_touched();
        if touched != arpilot_app::view::Touched::Nothing {
            let _ = self.live.send(Arc::new(touched));
        }
    }
}

/// Why report settings were not saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Invalid(#[from] arpilot_app::ParamError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stored report settings. They were checked when saved; one that no longer parses (edited
/// in the database by hand) is reported on stderr and the built-in defaults apply.
fn stored_defaults(pairs: &[(String, String)]) -> Defaults {
    Defaults::parse(pairs).unwrap_or_else(|e| {
        eprintln!("arpilot: report settings ignored: {e}");
        Defaults {
            raw: pairs.to_vec(),
            ..Defaults::default()
        }
    })
}

pub type Shared = Arc<AppState>;

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/aging", get(lists::aging))
        .route("/customers", get(lists::customers))
        .route("/worklist", get(pages::worklist))
        .route("/cash", get(cash::page_get))
        .route("/cash/{id}", post(cash::post_form))
        .route("/api/cash/queue", get(cash::api_queue))
        .route("/api/cash/report", get(cash::api_report))
        .route("/api/cash/{id}", post(cash::post_api))
        .route("/reminders", get(reminders::page_get))
        .route("/reminders/run", post(reminders::post_run))
        .route("/reminders/skip", post(reminders::post_skip))
        .route("/reminders/{file}", get(reminders::letter_pdf))
        .route("/api/reminders/preview", get(reminders::api_preview))
        .route("/api/reminders/history", get(reminders::api_history))
        .route("/api/reminders/kpis", get(reminders::api_kpis))
        .route("/api/reminders/run", post(reminders::api_run))
        .route("/portal/{token}", get(portal::page))
        .route("/portal/{token}/statement.pdf", get(portal::statement_pdf))
        .route("/portal/{token}/promise", post(portal::promise))
        .route("/portal/{token}/dispute", post(portal::dispute))
        .route("/portal/{token}/rating", post(portal::rating))
        .route("/customers/{id}", get(pages::customer))
        .route("/customers/{id}/statement.pdf", get(pages::statement_pdf))
        .route("/customers/{id}/work", post(work::post_form))
        .route("/api/customers/{id}/work", post(work::post_api))
        .route(
            "/imports",
            get(imports::imports_page)
                .post(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(imports::MAX_UPLOAD)),
        )
        .route("/views", get(views::list).post(views::save))
        .route("/views/{id}", get(views::open))
        .route("/views/{id}/delete", post(views::delete))
        .route("/settings/dashboards", post(settings::dashboards))
        .route("/settings/subscription", post(settings::subscription))
        .route("/settings", get(settings::page))
        .route("/settings/users", post(settings::users))
        .route("/settings/language", post(settings::language))
        .route("/settings/report", post(settings::report))
        .route("/settings/reminders", post(settings::reminders))
        .route(
            "/settings/reminders/preview",
            get(settings::reminder_preview),
        )
        .route("/team", get(pages::team))
        .route("/disputes", get(pages::disputes))
        .route("/api/team", get(pages::api_team))
        .route("/api/cohorts", get(pages::api_cohorts))
        .route("/api/forecast", get(pages::api_forecast))
        .route("/api/broken-promises", get(pages::api_broken_promises))
        .route("/api/customers/{id}/rating", get(pages::api_rating))
        .route("/forecast", get(pages::forecast))
        .route("/export/{file}", get(pages::export))
        .route("/login", get(login_form).post(login))
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
        .route("/api/report/management", get(management::api))
        .route("/report.pdf", get(management::pdf))
        .route("/api/aging", get(pages::api_aging))
        .route("/api/customers", get(pages::api_customers))
        .route("/api/worklist", get(pages::api_worklist))
        .route("/api/work", get(pages::api_work))
        .route("/api/customers/{id}", get(pages::api_customer))
        .route("/api/invoices", get(pages::api_invoices))
        .route(
            "/api/events",
            post(push_events).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .route("/api/openapi.json", get(openapi::serve))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn(catch_panic))
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

/// A panicking handler is a bug, yet it answers 500 and the server goes on serving: the panic
/// is logged, its message is not shown (it may name internals).
async fn catch_panic(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use futures_util::FutureExt;
    let path = req.uri().path().to_string();
    match std::panic::AssertUnwindSafe(next.run(req))
        .catch_unwind()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("");
            eprintln!("arpilot: internal error serving {path}: {msg}");
            internal_error()
        }
    }
}

/// The answer to a bug: 500 with a short JSON error, the details in the server's log.
pub(crate) fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({"error": "internal error: the request could not be answered (details in the server's log)"})),
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
    // Pages, JSON and exports hold customer data: never kept by a browser or a proxy. Static
    // files set their own caching.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
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

impl Caller {
    /// The page header's menu for this caller, `active` highlighted, `query` (date and filters)
    /// kept on its links.
    pub(crate) fn nav<'a>(&'a self, query: &'a str, active: &'static str) -> html::Nav<'a> {
        html::Nav {
            login: &self.user.login,
            role: self.role.name(),
            csrf: self.csrf.as_deref().unwrap_or(""),
            query,
            active,
        }
    }
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
            let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(denied)?;
            // The session comes with its user as stored now (one query): a role or portfolio
            // changed by an admin applies to open sessions at once, and a removed user is
            // signed out. Sessions live in the store, so any server on the database knows them.
            let s = state
                .sessions
                .get(&state.store, &token)
                .await
                .ok()
                .flatten()
                .ok_or_else(denied)?;
            (s.user, Some(s.csrf))
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

/// A page's or endpoint's report request with what the server knows around it: the admin's
/// defaults and the ledger's last date.
#[derive(Debug, Clone)]
pub struct Params {
    pub req: ReportRequest,
    pub defaults: Arc<Defaults>,
    /// The ledger's last date, the default as-of date.
    pub latest: Day,
}

impl std::ops::Deref for Params {
    type Target = ReportRequest;
    fn deref(&self) -> &ReportRequest {
        &self.req
    }
}

impl std::ops::DerefMut for Params {
    fn deref_mut(&mut self) -> &mut ReportRequest {
        &mut self.req
    }
}

impl Params {
    /// The as-of date, by default the ledger's last document or payment date.
    pub fn date(&self) -> Day {
        self.req.date(self.latest)
    }

    pub fn rating(&self) -> &arpilot_core::customers::RatingThresholds {
        &self.defaults.rating
    }
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    /// The sign-in form's token, also in its cookie: a page of another site cannot send both.
    #[serde(default)]
    csrf: String,
}

/// The cookie holding the sign-in form's token (before any session exists).
pub const LOGIN_COOKIE: &str = "arpilot_login";

/// `GET /login`: the form, with a fresh token in a hidden field and in a cookie.
async fn login_form(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let lang = Lang::pick(
        "",
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    login_answer(&state, StatusCode::OK, lang, None, None)
}

/// The sign-in page with `error`, keeping the form's token (a new one when there is none).
fn login_answer(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    error: Option<&str>,
    token: Option<&str>,
) -> Response {
    let token = token.map_or_else(auth::random_token, str::to_string);
    (
        status,
        [(
            header::SET_COOKIE,
            state.cookie(LOGIN_COOKIE, &token, "/login", 3600),
        )],
        axum::response::Html(pages::login_page(lang, error, &token)),
    )
        .into_response()
}

fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn login(
    State(state): State<Shared>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let lang = Lang::pick(
        "",
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    // The form's token must come back with its cookie: a sign-in posted from another site
    // (login CSRF) has neither. A stale form gets a fresh one.
    let token = cookie(&headers, LOGIN_COOKIE).filter(|t| !t.is_empty());
    if !token
        .as_deref()
        .is_some_and(|t| !f.csrf.is_empty() && same_token(t, &f.csrf))
    {
        return login_answer(
            &state,
            StatusCode::FORBIDDEN,
            lang,
            Some(lang.t(
                "The sign-in form expired: sign in again.",
                "Le formulaire de connexion a expiré : reconnectez-vous.",
            )),
            None,
        );
    }
    let token = token.unwrap_or_default();
    let (by_login, by_addr) = (
        // Logins are at most 64 characters: a longer one is no one's, and is not kept whole.
        format!(
            "login:{}",
            f.login
                .trim()
                .chars()
                .take(65)
                .collect::<String>()
                .to_lowercase()
        ),
        format!("addr:{}", peer.ip()),
    );
    // After repeated failures, wait before trying again (no password is checked meanwhile).
    if let Some(wait) = [&by_login, &by_addr]
        .iter()
        .filter_map(|k| state.throttle.wait(k))
        .max()
    {
        let secs = wait.as_secs() + 1;
        let msg = match lang {
            Lang::En => format!("Too many failed attempts: try again in {secs} s."),
            Lang::Fr => format!("Trop d'essais infructueux : réessayez dans {secs} s."),
        };
        let mut r = login_answer(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            lang,
            Some(&msg),
            Some(&token),
        );
        r.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&secs.to_string()).expect("digits"),
        );
        return r;
    }
    let user = if f.login.chars().count() <= 64 {
        state.store.user(&f.login).await.ok().flatten()
    } else {
        None
    };
    // The same hash work whether the login exists or not.
    let ok = auth::check_sign_in(&f.password, user.as_ref().map(|u| u.password_hash.as_str()));
    if ok {
        state.throttle.clear(&by_login);
    } else {
        state.throttle.fail(&by_login, auth::FREE_PER_LOGIN);
        state.throttle.fail(&by_addr, auth::FREE_PER_ADDRESS);
    }
    match (ok, user) {
        (true, Some(u)) => {
            let token = match state.sessions.open(&state.store, &u).await {
                Ok(Some(t)) => t,
                // Removed since the password was checked.
                Ok(None) => return (StatusCode::UNAUTHORIZED, "unknown login").into_response(),
                Err(_) => {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the session could not be opened; try again",
                    )
                        .into_response();
                }
            };
            // A collector's day starts with the worklist; the others' with the dashboard.
            let home = match Role::parse(&u.role) {
                Some(Role::Collector) => "/worklist",
                _ => "/",
            };
            let mut r = Redirect::to(home).into_response();
            let h = r.headers_mut();
            for c in [
                state.cookie(SESSION_COOKIE, &token, "/", auth::SESSION_LIFE_SECS as u64),
                // The form's token is spent.
                state.cookie(LOGIN_COOKIE, "", "/login", 0),
            ] {
                h.append(
                    header::SET_COOKIE,
                    HeaderValue::from_str(&c).expect("cookie"),
                );
            }
            r
        }
        _ => login_answer(
            &state,
            StatusCode::UNAUTHORIZED,
            lang,
            Some(lang.t(
                "Unknown login or wrong password.",
                "Identifiant ou mot de passe incorrect.",
            )),
            Some(&token),
        ),
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
    if let Some(r) = crate::form_refused(&caller, &headers, &f.csrf) {
        return r;
    }
    // Closed in the store, hence on every server; the session stays open when that fails.
    if let Some(t) = cookie(&headers, SESSION_COOKIE)
        && state.sessions.close(&state.store, &t).await.is_err()
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the session could not be closed; try again",
        )
            .into_response();
    }
    (
        [(header::SET_COOKIE, state.cookie(SESSION_COOKIE, "", "/", 0))],
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

/// A PDF sent as a download named `file`.
pub(crate) fn pdf_download(file: &str, pdf: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        pdf,
    )
        .into_response()
}

/// An id as it may stand in a file name: letters, digits and dashes, anything else `_`.
pub(crate) fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The refusal of a browser form whose CSRF token is not the session's or that comes from
/// another site; `None` when it may proceed.
pub(crate) fn form_refused(caller: &Caller, headers: &HeaderMap, sent: &str) -> Option<Response> {
    (!csrf_ok(caller, sent) || !same_origin(headers))
        .then(|| (StatusCode::FORBIDDEN, "invalid CSRF token").into_response())
}

/// A JSON write from a browser session must prove it comes from our pages (the session's token
/// in `X-CSRF-Token`); API tokens are not sent by browsers on their own.
pub(crate) fn api_csrf_ok(caller: &Caller, headers: &HeaderMap) -> bool {
    caller.csrf.is_none()
        || csrf_ok(
            caller,
            headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        )
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
    if !api_csrf_ok(&caller, &headers) {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    let author = arpilot_app::Author {
        user: caller.user.login.clone(),
        entity: None,
        effective: arpilot_store::today(),
    };
    let currency = state.snapshot().currency;
    match arpilot_app::import::push(&state.store, Some(&state.views), &body, currency, &author)
        .await
    {
        Ok(o) => {
            if o.batch.is_some() {
                state.changed();
            }
            Json(o).into_response()
        }
        Err(arpilot_app::Refused::Store(e)) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
        Err(e) => bad_request(e.to_string()),
    }
}

/// Every five minutes, the management reports due by e-mail (weekly, monthly) are sent
/// through the SMTP server of the reminders; each is written down before it leaves
/// (`arpilot_app::subscriptions`). Errors go to the log; nothing here stops the server.
async fn schedule_reports(state: Shared) {
    use futures_util::FutureExt;
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let run = async {
            let settings = state.store.settings().await.map_err(|e| e.to_string())?;
            if !settings
                .iter()
                .any(|(k, v)| k.starts_with("report.subscription.") && !v.is_empty())
            {
                return Ok(());
            }
            let dec = state.snapshot().currency.decimals();
            let s = arpilot_app::dunning::DunningSettings::from_settings(&settings, dec)
                .map_err(|e| e.to_string())?;
            let Some(url) = s.smtp_url.as_deref() else {
                return Ok(());
            };
            let smtp = arpilot_app::dunning::Smtp::new(url).map_err(|e| e.to_string())?;
            let out = arpilot_app::subscriptions::run(
                &state.views,
                &state.store,
                arpilot_store::today(),
                &smtp,
            )
            .await
            .map_err(|e| e.to_string())?;
            for d in out {
                eprintln!(
                    "arpilot: management report {} of {} to {}: {}",
                    d.period, d.as_of, d.email, d.outcome
                );
            }
            Ok::<(), String>(())
        };
        match std::panic::AssertUnwindSafe(run).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("arpilot: management reports: {e}"),
            Err(_) => eprintln!("arpilot: management reports: internal error (retried later)"),
        }
    }
}

/// Serves until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: Shared) -> std::io::Result<()> {
    tokio::spawn(watch_ledger(Arc::clone(&state)));
    tokio::spawn(warm_worklist(Arc::clone(&state)));
    tokio::spawn(keep_image(Arc::clone(&state)));
    tokio::spawn(keep_past_dates(Arc::clone(&state)));
    // The daily reminders and the retries of failed e-mails.
    tokio::spawn(reminders::schedule(Arc::clone(&state)));
    // The management reports subscribed to.
    tokio::spawn(schedule_reports(Arc::clone(&state)));
    // Client addresses for the sign-in back-off.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
}

/// Keeps the worklist of the current date computed — at start-up, then whenever a change moved
/// the date, touched everyone or changed the settings — off the async workers, so that no
/// collector's page waits for a pass over the whole ledger. Other changes only touch a few
/// customers: the first request after them computes those customers again.
/// The computation gives way to a push or an import arriving meanwhile (it would otherwise make
/// them copy the view) and starts again a moment later; after `GIVE_WAY` of that, it holds on.
async fn warm_worklist(state: Shared) {
    const GIVE_WAY: std::time::Duration = std::time::Duration::from_secs(10);
    let mut live = state.live.subscribe();
    let mut gave_way: Option<std::time::Instant> = None;
    loop {
        let st = Arc::clone(&state);
        let rating = st.report_settings().rating;
        let giving = gave_way.is_none_or(|t| t.elapsed() < GIVE_WAY);
        let done = tokio::task::spawn_blocking(move || {
            if giving {
                st.views.warm_worklist_giving_way(&rating)
            } else {
                st.views.warm_worklist(&rating);
                true
            }
        })
        .await;
        if let Ok(false) = done {
            gave_way.get_or_insert_with(std::time::Instant::now);
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        }
        gave_way = None;
        // After a start from the ledger's image, what past dates are built from.
        if let Err(e) = state.views.warm_dated(&state.store).await {
            eprintln!("arpilot: views of other dates: {e}");
        }
        // Lagging behind only means several changes: one check covers them.
        if let Err(broadcast::error::RecvError::Closed) = live.recv().await {
            return;
        }
    }
}

/// Keeps a dated ledger's past dates quick after changes: a push takes the new events into the
/// current view as they are and leaves what past dates are written from to be built again
/// (`Views::warm_past_dates`); this builds it once the ledger has been quiet for `QUIET`, off
/// the async workers, rather than in the first past date's request. Pushes meanwhile wait for
/// nothing.
async fn keep_past_dates(state: Shared) {
    const QUIET: std::time::Duration = std::time::Duration::from_secs(2);
    let mut live = state.live.subscribe();
    loop {
        if let Err(broadcast::error::RecvError::Closed) = live.recv().await {
            return;
        }
        loop {
            match tokio::time::timeout(QUIET, live.recv()).await {
                Err(_) => break,
                Ok(Err(broadcast::error::RecvError::Closed)) => return,
                Ok(_) => {}
            }
        }
        state.views.warm_past_dates().await;
    }
}

/// Keeps the ledger's image (`arpilot_app::image`) close to the current view, so that the next
/// start reads it and the few events stored after it: written at once after a start that could
/// not use it, then when the view holds `IMAGE_EVERY` events more, or any more after
/// `IMAGE_AFTER`. Written off the async workers; a failure is logged and tried again later.
/// Writing gives way to a push or an import arriving meanwhile (it would otherwise make them
/// copy the view) and is tried again at the next check, unless the image is `IMAGE_EVERY`
/// events behind or gave way `GIVE_WAY` times in a row.
async fn keep_image(state: Shared) {
    use arpilot_app::image::Written;
    const IMAGE_EVERY: i64 = 100_000;
    const IMAGE_AFTER: std::time::Duration = std::time::Duration::from_secs(600);
    const GIVE_WAY: u32 = 3;
    let mut last = std::time::Instant::now();
    let mut gave_way = 0;
    loop {
        let behind = state.views.image_behind();
        let due = match behind {
            None => true,
            Some(behind) => behind > 0 && (behind >= IMAGE_EVERY || last.elapsed() >= IMAGE_AFTER),
        };
        if due {
            let started = std::time::Instant::now();
            let giving = gave_way < GIVE_WAY && behind.is_some_and(|b| b < IMAGE_EVERY);
            match state.views.image_job(&state.store, giving).await {
                Ok(Some(mut job)) => {
                    let done = tokio::task::spawn_blocking(move || {
                        let r = job.write();
                        (job, r)
                    })
                    .await;
                    match done {
                        Ok((_, Ok(Written::GaveWay))) => {
                            gave_way += 1;
                            if std::env::var_os("ARPILOT_TIMING").is_some() {
                                eprintln!("image given up: a writer asked for the view");
                            }
                        }
                        Ok((job, Ok(Written::Bytes(bytes)))) => {
                            last = started;
                            gave_way = 0;
                            state.views.image_written(&job);
                            if std::env::var_os("ARPILOT_TIMING").is_some() {
                                eprintln!(
                                    "image of {} events written ({} MB) in {:.2} s",
                                    job.events(),
                                    bytes >> 20,
                                    last.elapsed().as_secs_f64()
                                );
                            }
                        }
                        Ok((_, Err(e))) => {
                            last = started;
                            eprintln!("arpilot: writing the ledger's image: {e}")
                        }
                        Err(_) => {
                            last = started;
                            eprintln!("arpilot: writing the ledger's image: internal error")
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => eprintln!("arpilot: the ledger's image: {e}"),
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

/// Imports made outside this server (`arpilot import` on the same database, another server on
/// the same PostgreSQL) are noticed: at once on PostgreSQL (LISTEN/NOTIFY), within about 20 ms
/// on SQLite (its files watched), within 200 ms while the PostgreSQL listener reconnects (see `arpilot_store::changes`). Open
/// pages then refresh like after a push. Batches appended through this server are already in
/// its views: their notifications are skipped. Otherwise the views read what was appended after
/// the last event they hold (nothing, most wake-ups: one indexed query).
async fn watch_ledger(state: Shared) {
    use arpilot_store::Wake;
    let mut changes = state.store.changes();
    loop {
        if let Wake::Notified { ours: true, .. } = changes.next().await {
            continue;
        }
        // Settings saved through another server apply here too.
        if let Ok(pairs) = state.store.settings().await
            && pairs != state.report_settings().raw
        {
            *state.report_settings.write().expect("settings lock") =
                Arc::new(stored_defaults(&pairs));
            state.figures.lock().expect("figures lock").clear();
            let _ = state
                .live
                .send(Arc::new(arpilot_app::view::Touched::Everything));
        }
        // An error is retried on the next wake-up.
        let _ = state.reload().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn fetch(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    /// A handler that panics answers 500 without its message, and the server keeps serving.
    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_server_goes_on() {
        let app = Router::new()
            .route(
                "/boom",
                get(|| async {
                    if std::hint::black_box(true) {
                        panic!("secret internals");
                    }
                    "unreachable"
                }),
            )
            .route("/ok", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(catch_panic));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        for _ in 0..3 {
            let r = fetch(addr, "/boom").await;
            assert!(r.starts_with("HTTP/1.1 500"), "{r}");
            assert!(r.contains("internal error") && !r.contains("secret"), "{r}");
            assert!(fetch(addr, "/ok").await.ends_with("fine"));
        }
    }
}
