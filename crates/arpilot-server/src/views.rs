//! Saved views: the list and the form to save one (`/views`), opening one (`/views/{id}`: to
//! its page, through the caller's own portfolio) and deleting one.

use crate::html::{self, Lang, esc, page};
use crate::{Caller, Shared, form_refused};
use arpilot_app::views::{self, DateMode, PAGES, SavedView, ViewError};
use arpilot_store::UserStore;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::fmt::Write;

#[derive(serde::Deserialize, Default)]
pub struct Prefill {
    /// The page to save (`/aging`…).
    #[serde(default)]
    pub page: String,
    /// Its query, as the page's toolbar passes it.
    #[serde(default)]
    pub query: String,
}

async fn stored(state: &Shared) -> Result<Vec<(String, String)>, Response> {
    state
        .store
        .settings()
        .await
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response())
}

fn page_name(l: Lang, path: &str) -> &'static str {
    PAGES
        .iter()
        .find(|p| p.0 == path)
        .map_or("", |p| l.t(p.1, p.2))
}

fn mode_name(l: Lang, m: DateMode) -> &'static str {
    match m {
        DateMode::Today => l.t("latest day", "dernier jour"),
        DateMode::LastMonthEnd => l.t("last month-end", "dernière fin de mois"),
        DateMode::Fixed => l.t("fixed date", "date fixe"),
    }
}

pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Query(pre): Query<Prefill>,
) -> Response {
    render(&state, &caller, &pre, "", None).await
}

/// The views page: the caller's and the shared views, and the form to save one (prefilled
/// from the page it was opened from), with `error` when a save was refused.
async fn render(
    state: &Shared,
    caller: &Caller,
    pre: &Prefill,
    name: &str,
    error: Option<String>,
) -> Response {
    let settings = match stored(state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let l = caller.lang;
    let latest = state.latest();
    let csrf = esc(caller.csrf.as_deref().unwrap_or(""));
    let mut b = format!("<h1>{}</h1>", l.t("Saved views", "Vues enregistrées"));
    let mine = views::visible(&settings, &caller.user.login);
    let admin = caller.role == crate::auth::Role::Admin;
    let mut rows = String::new();
    for v in &mine {
        let delete = if v.deletable_by(&caller.user.login, admin) {
            format!(
                r#"<form method="post" action="/views/{}/delete" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button class="secondary">{}</button></form>"#,
                html::q(&v.id),
                l.t("Delete", "Supprimer")
            )
        } else {
            String::new()
        };
        let _ = write!(
            rows,
            r#"<tr><th scope="row"><a href="/views/{}">{}</a></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="actions">{delete}</td></tr>"#,
            html::q(&v.id),
            esc(&v.name),
            page_name(l, &v.page),
            esc(&v.query),
            esc(&match v.date(latest) {
                Some(d) => format!("{} ({})", mode_name(l, v.mode), l.date(d)),
                None => mode_name(l, v.mode).to_string(),
            }),
            if v.shared {
                l.t("shared", "partagée").to_string()
            } else {
                format!("{} ({})", l.t("private", "privée"), esc(&v.owner))
            },
        );
    }
    if mine.is_empty() {
        let _ = write!(
            b,
            r#"<section class="card"><p class="muted">{}</p></section>"#,
            l.t(
                "No saved view yet. Every page's “Save this view” link brings its filters here.",
                "Aucune vue enregistrée. Le lien « Enregistrer cette vue » de chaque page apporte ici ses filtres."
            )
        );
    } else {
        let _ = write!(
            b,
            r#"<section class="card"><div class="table-wrap"><table id="views"><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col"></th></tr></thead><tbody>{rows}</tbody></table></div><p class="muted">{}</p></section>"#,
            l.t("Name", "Nom"),
            l.t("Page", "Page"),
            l.t("Filters and settings", "Filtres et réglages"),
            l.t("Date", "Date"),
            l.t("Shared", "Partage"),
            l.t(
                "A view opens through your own portfolio: sharing one never shows anybody more than their own customers.",
                "Une vue s'ouvre sur votre propre portefeuille : la partager ne montre jamais à quiconque plus que ses propres clients."
            ),
        );
    }
    let pages: String = PAGES
        .iter()
        .map(|(path, en, fr)| {
            format!(
                r#"<option value="{path}"{}>{}</option>"#,
                if *path == pre.page { " selected" } else { "" },
                l.t(en, fr)
            )
        })
        .collect();
    // A query with a date suggests that date as the fixed one; the default mode is the
    // latest day.
    let query = esc(&pre.query);
    let _ = write!(
        b,
        r#"<section class="card spaced"><h2>{}</h2>{}<form class="work-form" method="post" action="/views"><input type="hidden" name="csrf" value="{csrf}"><div class="row"><label>{}<input name="name" required maxlength="{}" value="{}"></label><label>{}<select name="page">{pages}</select></label><label>{}<select name="mode"><option value="today">{}</option><option value="month_end">{}</option><option value="fixed">{}</option></select></label><label class="check"><input type="checkbox" name="shared" value="1">{}</label></div><label class="wide">{}<input name="query" value="{query}" maxlength="{}"></label><button class="primary">{}</button></form></section>"#,
        l.t("Save a view", "Enregistrer une vue"),
        error.map_or(String::new(), |e| format!(
            r#"<p class="err" role="alert">{}</p>"#,
            esc(&e)
        )),
        l.t("Name", "Nom"),
        views::MAX_NAME,
        esc(name),
        l.t("Page", "Page"),
        l.t("Date", "Date"),
        mode_name(l, DateMode::Today),
        mode_name(l, DateMode::LastMonthEnd),
        l.t(
            "fixed date (the query's as_of)",
            "date fixe (as_of de la requête)"
        ),
        l.t("Shared with the team", "Partagée avec l'équipe"),
        l.t(
            "Filters and settings (the page's query)",
            "Filtres et réglages (requête de la page)"
        ),
        views::MAX_QUERY,
        l.t("Save", "Enregistrer"),
    );
    Html(page(
        l,
        l.t("Saved views", "Vues enregistrées"),
        &caller.nav("", "views"),
        &b,
    ))
    .into_response()
}

#[derive(serde::Deserialize)]
pub struct SaveForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    shared: Option<String>,
}

pub async fn save(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(f): Form<SaveForm>,
) -> Response {
    if let Some(r) = form_refused(&caller, &headers, &f.csrf) {
        return r;
    }
    let settings = match stored(&state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = crate::auth::random_token()
        .chars()
        .take(12)
        .collect::<String>();
    let refused = |e: ViewError| {
        let pre = Prefill {
            page: f.page.clone(),
            query: f.query.clone(),
        };
        (pre, e.to_string())
    };
    let form = views::ViewForm {
        name: &f.name,
        shared: f.shared.is_some(),
        page: &f.page,
        query: f.query.trim_start_matches('?'),
        mode: &f.mode,
    };
    let view = match views::new_view(&settings, id, &caller.user.login, &form) {
        Ok(v) => v,
        Err(e) => {
            let (pre, msg) = refused(e);
            // Refused: the page again with the reason, as the other forms do.
            return render(&state, &caller, &pre, &f.name, Some(msg)).await;
        }
    };
    let json = serde_json::to_string(&view).unwrap_or_default();
    match state.store.set_setting(&views::key(&view.id), &json).await {
        Ok(()) => Redirect::to(&format!("/views/{}", html::q(&view.id))).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// The view `id` if the caller may open it.
async fn find(state: &Shared, caller: &Caller, id: &str) -> Result<SavedView, Response> {
    let settings = stored(state).await?;
    views::visible(&settings, &caller.user.login)
        .into_iter()
        .find(|v| v.id == id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, "no such view").into_response())
}

/// Opens a view: to its page with its query and date; the page reads it through the caller's
/// portfolio like any other request.
pub async fn open(State(state): State<Shared>, caller: Caller, Path(id): Path<String>) -> Response {
    match find(&state, &caller, &id).await {
        Ok(v) => Redirect::to(&v.href(state.latest())).into_response(),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

pub async fn delete(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Response {
    if let Some(r) = form_refused(&caller, &headers, &f.csrf) {
        return r;
    }
    let v = match find(&state, &caller, &id).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !v.deletable_by(&caller.user.login, caller.role == crate::auth::Role::Admin) {
        return (
            StatusCode::FORBIDDEN,
            "a shared view is deleted by its owner or an admin",
        )
            .into_response();
    }
    match state.store.set_setting(&views::key(&v.id), "").await {
        Ok(()) => Redirect::to("/views").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}
