//! Settings: each user's language; for admins, users, roles and portfolios.

use crate::auth::Role;
use crate::html::{self, Lang, Nav, esc};
use crate::{Caller, Shared, csrf_ok, same_origin};
use arpilot_store::{UserField, UserStore};
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::fmt::Write;

fn nav(c: &Caller) -> Nav<'_> {
    c.nav("", "settings")
}

const ROLES: [&str; 4] = ["admin", "manager", "collector", "viewer"];

/// A role picker; `form` ties it to a form elsewhere in the row.
fn role_select(l: Lang, current: &str, form: &str) -> String {
    let mut s = if form.is_empty() {
        String::from(r#"<select name="role">"#)
    } else {
        format!(r#"<select name="role" form="{form}">"#)
    };
    for r in ROLES {
        let label = match r {
            "admin" => l.t("admin", "administrateur"),
            "manager" => l.t("credit manager", "credit manager"),
            "collector" => l.t("collector", "recouvreur"),
            _ => l.t("viewer (sales)", "lecteur (commercial)"),
        };
        let _ = write!(
            s,
            r#"<option value="{r}"{}>{label}</option>"#,
            if r == current { " selected" } else { "" }
        );
    }
    s + "</select>"
}

pub async fn page(State(state): State<Shared>, caller: Caller) -> Response {
    let l = caller.lang;
    let csrf = esc(caller.csrf.as_deref().unwrap_or(""));
    let mut b = format!("<h1>{}</h1>", l.t("Settings", "Réglages"));
    let _ = write!(
        b,
        r#"<section class="card"><h2>{}</h2><form class="bar-form" method="post" action="/settings/language"><input type="hidden" name="csrf" value="{csrf}"><label>{}<select name="locale"><option value="">{}</option><option value="fr"{}>Français</option><option value="en"{}>English</option></select></label><button class="primary">{}</button></form></section>"#,
        l.t("My language", "Ma langue"),
        l.t("Language", "Langue"),
        l.t("the browser's", "celle du navigateur"),
        if caller.user.locale == "fr" {
            " selected"
        } else {
            ""
        },
        if caller.user.locale == "en" {
            " selected"
        } else {
            ""
        },
        l.t("Save", "Enregistrer"),
    );
    if caller.role == Role::Admin {
        let rs = state.report_settings();
        let get = |k: &str| {
            rs.raw
                .iter()
                .find(|(key, _)| key == k)
                .map_or(String::new(), |(_, v)| esc(v))
        };
        let _ = write!(
            b,
            r#"<section class="card spaced"><h2>{}</h2><form method="post" action="/settings/report" class="bar-form"><input type="hidden" name="csrf" value="{csrf}"><label>{}<input name="buckets" value="{}" placeholder="30,60,90,120"></label><label>{}<input name="provisions" value="{}" placeholder="0,0,25,50,75,100"></label><label>{}<input name="rating" value="{}" placeholder="0,15,45"></label><label>{}<input name="labels" value="{}" placeholder="region=Région;sector=Secteur" size="30"></label><button class="primary">{}</button></form></section>"#,
            l.t("Report settings", "Réglages des états"),
            l.t("Aging buckets (days)", "Tranches d'ancienneté (jours)"),
            get("buckets"),
            l.t(
                "Provision rates per bucket (%)",
                "Taux de provision par tranche (%)"
            ),
            get("provisions"),
            l.t(
                "Rating thresholds A, B, C (days late)",
                "Seuils de cotation A, B, C (jours de retard)"
            ),
            get("rating"),
            l.t("Custom field labels", "Libellés des champs personnalisés"),
            get("labels"),
            l.t("Save", "Enregistrer"),
        );
        let users = state.store.users().await.unwrap_or_default();
        let _ = write!(
            b,
            r#"<section class="card spaced"><h2>{}</h2><table id="users"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
            l.t("Users and portfolios", "Utilisateurs et portefeuilles"),
            l.t("Login", "Identifiant"),
            l.t("Role", "Rôle"),
            l.t("Portfolio (NAME=VALUE;…)", "Portefeuille (NOM=VALEUR;…)"),
        );
        // Forms cannot sit across table cells: each row's fields name their form.
        for (k, u) in users.iter().enumerate() {
            let id = format!("user{k}");
            let _ = write!(
                b,
                r#"<tr><td>{login}</td><td>{}</td><td><input name="portfolio" form="{id}" value="{}" size="32"></td><td><form id="{id}" method="post" action="/settings/users"><input type="hidden" name="login" value="{login}"><input type="hidden" name="action" value="update"><input type="hidden" name="csrf" value="{csrf}"><button>{}</button></form></td></tr>"#,
                role_select(l, &u.role, &id),
                esc(&u.portfolio),
                l.t("Update", "Modifier"),
                login = esc(&u.login),
            );
        }
        let _ = write!(
            b,
            r#"</tbody></table><h2 class="spaced">{}</h2><form class="bar-form" method="post" action="/settings/users"><input type="hidden" name="action" value="add"><input type="hidden" name="csrf" value="{csrf}"><label>{}<input name="login" required></label><label>{}<input name="password" type="password" minlength="10" required></label><label>{}{}</label><label>{}<input name="portfolio" placeholder="collector=Camille Martin"></label><button class="primary">{}</button></form></section>"#,
            l.t("Add a user", "Ajouter un utilisateur"),
            l.t("Login", "Identifiant"),
            l.t(
                "Password (10+ characters)",
                "Mot de passe (10 caractères ou plus)"
            ),
            l.t("Role", "Rôle"),
            role_select(l, "collector", ""),
            l.t("Portfolio", "Portefeuille"),
            l.t("Add", "Ajouter"),
        );
    }
    Html(html::page(
        l,
        l.t("Settings", "Réglages"),
        &nav(&caller),
        &b,
    ))
    .into_response()
}

#[derive(serde::Deserialize)]
pub struct LanguageForm {
    csrf: String,
    locale: String,
}

pub async fn language(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(f): Form<LanguageForm>,
) -> Response {
    if !csrf_ok(&caller, &f.csrf) || !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    let locale = match f.locale.as_str() {
        "fr" | "en" => f.locale.as_str(),
        _ => "",
    };
    match state
        .store
        .set_user(&caller.user.login, UserField::Locale, locale)
        .await
    {
        Ok(_) => Redirect::to("/settings").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct UserForm {
    csrf: String,
    action: String,
    login: String,
    role: String,
    #[serde(default)]
    portfolio: String,
    #[serde(default)]
    password: String,
}

pub async fn users(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(f): Form<UserForm>,
) -> Response {
    if caller.role != Role::Admin {
        return (StatusCode::FORBIDDEN, "users are managed by admins").into_response();
    }
    if !csrf_ok(&caller, &f.csrf) || !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    use arpilot_app::users::{self, UserError};
    let login = f.login.trim();
    let done = match f.action.as_str() {
        "add" => users::add(&state.store, login, &f.role, &f.portfolio, &f.password).await,
        "update" => {
            let by = Some(caller.user.login.as_str());
            users::update(&state.store, login, &f.role, &f.portfolio, by).await
        }
        other => {
            return (
                StatusCode::BAD_REQUEST,
                format!("action: expected add or update, found {other:?}"),
            )
                .into_response();
        }
    };
    match done {
        Ok(()) => Redirect::to("/settings").into_response(),
        Err(UserError::Store(e)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct ReportForm {
    csrf: String,
    #[serde(default)]
    buckets: String,
    #[serde(default)]
    provisions: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    labels: String,
}

pub async fn report(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(f): Form<ReportForm>,
) -> Response {
    if caller.role != Role::Admin {
        return (
            StatusCode::FORBIDDEN,
            "report settings are managed by admins",
        )
            .into_response();
    }
    if !csrf_ok(&caller, &f.csrf) || !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    let pairs = [
        ("buckets", f.buckets.trim().to_string()),
        ("provisions", f.provisions.trim().to_string()),
        ("rating", f.rating.trim().to_string()),
        ("labels", f.labels.trim().to_string()),
    ];
    // Checked together (provision rates must fit the bucket set): nothing is saved when one
    // is invalid.
    match state.save_settings(&pairs).await {
        Ok(()) => Redirect::to("/settings").into_response(),
        Err(crate::SettingsError::Invalid(e)) => {
            (StatusCode::BAD_REQUEST, e.to_string()).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
