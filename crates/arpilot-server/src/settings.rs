//! Settings: each user's language; for admins, users, roles and portfolios.

use crate::auth::Role;
use crate::html::{self, Lang, Nav, esc};
use crate::{Caller, Shared, form_refused};
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

/// A role picker; `form` ties it to a form elsewhere in the row, `label` names it for screen
/// readers when no visible label does.
fn role_select(l: Lang, current: &str, form: &str, label: &str) -> String {
    let mut s = if form.is_empty() {
        String::from(r#"<select name="role">"#)
    } else {
        format!(
            r#"<select name="role" form="{form}" aria-label="{}">"#,
            esc(label)
        )
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
    render(&state, &caller, None).await
}

/// The settings page; `reminders` holds the reminder form as posted when it was refused.
async fn render(state: &Shared, caller: &Caller, reminders: Option<&ReminderForm>) -> Response {
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
    b += &subscription_section(state, caller, &csrf).await;
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
        b += &dashboards_section(state, l, &csrf).await;
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
                r#"<tr><td>{login}</td><td>{}</td><td><input name="portfolio" form="{id}" value="{}" size="32" aria-label="{}"></td><td><form id="{id}" method="post" action="/settings/users"><input type="hidden" name="login" value="{login}"><input type="hidden" name="action" value="update"><input type="hidden" name="csrf" value="{csrf}"><button>{}</button></form></td></tr>"#,
                role_select(
                    l,
                    &u.role,
                    &id,
                    &format!("{} {}", l.t("Role of", "Rôle de"), u.login)
                ),
                esc(&u.portfolio),
                esc(&format!(
                    "{} {}",
                    l.t("Portfolio of", "Portefeuille de"),
                    u.login
                )),
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
            role_select(l, "collector", "", ""),
            l.t("Portfolio", "Portefeuille"),
            l.t("Add", "Ajouter"),
        );
        b += &reminder_section(state, l, &csrf, reminders).await;
    }
    let status = if reminders.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        Html(html::page(l, l.t("Settings", "Réglages"), &nav(caller), &b)),
    )
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
    if let Some(r) = form_refused(&caller, &headers, &f.csrf) {
        return r;
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
    if let Some(r) = form_refused(&caller, &headers, &f.csrf) {
        return r;
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
    if let Some(r) = form_refused(&caller, &headers, &f.csrf) {
        return r;
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

// ---------------------------------------------------------------------------------------------
// The management report by e-mail

async fn subscription_section(state: &Shared, caller: &Caller, csrf: &str) -> String {
    use arpilot_app::subscriptions::{self, Frequency};
    let l = caller.lang;
    let stored = state.store.settings().await.unwrap_or_default();
    let current = subscriptions::of(&stored, &caller.user.login);
    let freq = current.as_ref().map(|s| s.frequency);
    let opt = |v: &str, label: &str, on: bool| {
        format!(
            r#"<option value="{v}"{}>{label}</option>"#,
            if on { " selected" } else { "" }
        )
    };
    format!(
        r#"<section class="card spaced" id="subscription"><h2>{}</h2><p class="muted">{}</p><form class="bar-form" method="post" action="/settings/subscription"><input type="hidden" name="csrf" value="{csrf}"><label>{}<input type="email" name="email" value="{}" size="32" autocomplete="email"></label><label>{}<select name="frequency">{}{}{}</select></label><button class="primary">{}</button></form><p><a href="/report.pdf">{}</a></p></section>"#,
        l.t("Management report by e-mail", "Rapport de recouvrement par e-mail"),
        l.t(
            "The collection report (PDF) of your portfolio: weekly on Mondays (as of the Sunday), or monthly on the 1st (as of the month-end). It starts with the next period.",
            "Le rapport de recouvrement (PDF) de votre portefeuille : chaque lundi (au dimanche) ou chaque 1er du mois (à la fin du mois). Il commence à la période suivante."
        ),
        l.t("E-mail address", "Adresse e-mail"),
        esc(current.as_ref().map_or("", |s| s.email.as_str())),
        l.t("Frequency", "Fréquence"),
        opt("", l.t("none", "aucun"), freq.is_none()),
        opt("weekly", l.t("weekly", "hebdomadaire"), freq == Some(Frequency::Weekly)),
        opt("monthly", l.t("monthly", "mensuel"), freq == Some(Frequency::Monthly)),
        l.t("Save", "Enregistrer"),
        l.t("Download the report as of the latest day (PDF)", "Télécharger le rapport au dernier jour (PDF)"),
    )
}

#[derive(serde::Deserialize)]
pub struct SubscriptionForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    frequency: String,
}

pub async fn subscription(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(f): Form<SubscriptionForm>,
) -> Response {
    use arpilot_app::subscriptions;
    if let Some(r) = form_refused(&caller, &headers, &f.csrf) {
        return r;
    }
    let key = subscriptions::key(&caller.user.login);
    let value = if f.frequency.is_empty() {
        String::new()
    } else {
        match subscriptions::new_subscription(
            &caller.user.login,
            &f.email,
            &f.frequency,
            arpilot_store::today(),
        ) {
            Ok(s) => serde_json::to_string(&s).unwrap_or_default(),
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        }
    };
    match state.store.set_setting(&key, &value).await {
        Ok(()) => Redirect::to("/settings#subscription").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// The dashboard of each role

/// A table of the dashboard's cards with, for each role, the card's position (empty: not
/// shown); a role without any position keeps the standard dashboard.
async fn dashboards_section(state: &Shared, l: Lang, csrf: &str) -> String {
    use arpilot_app::views::{card_name, cards, dashboard};
    let stored = state.store.settings().await.unwrap_or_default();
    let mut head = String::new();
    for r in ROLES {
        let _ = write!(
            head,
            r#"<th scope="col" class="n">{}</th>"#,
            role_name(l, r)
        );
    }
    let mut rows = String::new();
    for key in cards() {
        let name = card_name(l, key);
        let _ = write!(rows, r#"<tr><th scope="row">{}</th>"#, esc(name));
        for r in ROLES {
            let pos = match dashboard(&stored, r) {
                Some(order) => order
                    .iter()
                    .position(|k| *k == key)
                    .map_or(String::new(), |p| (p + 1).to_string()),
                None => String::new(),
            };
            let _ = write!(
                rows,
                r#"<td class="n"><input type="number" name="{r}.{key}" value="{pos}" min="1" max="99" aria-label="{} — {}" class="pos"></td>"#,
                role_name(l, r),
                esc(name),
            );
        }
        rows.push_str("</tr>");
    }
    format!(
        r#"<section class="card spaced" id="dashboards"><h2>{}</h2><p class="muted">{}</p><form method="post" action="/settings/dashboards"><input type="hidden" name="csrf" value="{csrf}"><div class="table-wrap"><table><thead><tr><th scope="col">{}</th>{head}</tr></thead><tbody>{rows}</tbody></table></div><button class="primary spaced">{}</button></form></section>"#,
        l.t("Dashboard of each role", "Tableau de bord de chaque rôle"),
        l.t(
            "The position of each card on the role's dashboard; empty: not shown. A role with no position keeps every card in the standard order.",
            "La position de chaque carte sur le tableau de bord du rôle ; vide : non affichée. Un rôle sans aucune position garde toutes les cartes dans l'ordre standard."
        ),
        l.t("Card", "Carte"),
        l.t("Save", "Enregistrer"),
    )
}

fn role_name(l: Lang, r: &str) -> &'static str {
    match r {
        "admin" => l.t("admin", "administrateur"),
        "manager" => l.t("credit manager", "credit manager"),
        "collector" => l.t("collector", "recouvreur"),
        _ => l.t("viewer", "lecteur"),
    }
}

pub async fn dashboards(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if caller.role != Role::Admin {
        return (StatusCode::FORBIDDEN, "dashboards are set by admins").into_response();
    }
    let csrf = f.iter().find(|(k, _)| k == "csrf").map_or("", |(_, v)| v);
    if let Some(r) = form_refused(&caller, &headers, csrf) {
        return r;
    }
    use arpilot_app::views::{cards, dashboard_key, parse_dashboard};
    let mut lists = Vec::new();
    for r in ROLES {
        let mut placed: Vec<(u32, usize, &str)> = Vec::new();
        for (i, key) in cards().enumerate() {
            let field = format!("{r}.{key}");
            let v = f
                .iter()
                .find(|(k, _)| *k == field)
                .map_or("", |(_, v)| v.trim());
            if v.is_empty() {
                continue;
            }
            match v.parse::<u32>() {
                Ok(p) if (1..=99).contains(&p) => placed.push((p, i, key)),
                _ => {
                    return (
                        StatusCode::BAD_REQUEST,
                        format!(
                            "{field}: expected a position from 1 to 99, found \"{}\"",
                            v.chars().take(40).collect::<String>()
                        ),
                    )
                        .into_response();
                }
            }
        }
        // Equal positions keep the standard order.
        placed.sort();
        let keys: Vec<&str> = placed.iter().map(|p| p.2).collect();
        match parse_dashboard(&keys.join(",")) {
            Ok(v) => lists.push((dashboard_key(r), v)),
            Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
        }
    }
    for (k, v) in &lists {
        if let Err(e) = state.store.set_setting(k, v).await {
            return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
        }
    }
    Redirect::to("/settings#dashboards").into_response()
}

// ---------------------------------------------------------------------------------------------
// Reminder scenarios

/// The reminder settings form (admins): the policy as JSON, the scheduled run, SMTP, the
/// portal's address.
#[derive(serde::Deserialize, Default, Clone)]
pub struct ReminderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    policy: String,
    #[serde(default)]
    hour: String,
    #[serde(default)]
    approval: String,
    #[serde(default)]
    smtp_url: String,
    #[serde(default)]
    smtp_from: String,
    #[serde(default)]
    portal_url: String,
    /// Why it was refused (not a field of the form).
    #[serde(skip)]
    error: String,
}

/// The section of the settings page: the stored values, or the form as posted with its error.
async fn reminder_section(
    state: &Shared,
    l: Lang,
    csrf: &str,
    posted: Option<&ReminderForm>,
) -> String {
    use arpilot_app::dunning::{
        APPROVAL_KEY, FROM_KEY, HOUR_KEY, POLICY_KEY, PORTAL_URL_KEY, SMTP_KEY,
    };
    let stored = state.store.settings().await.unwrap_or_default();
    let get = |k: &str| {
        stored
            .iter()
            .find(|(x, _)| x == k)
            .map_or(String::new(), |(_, v)| v.trim().to_string())
    };
    let f = match posted {
        Some(f) => f.clone(),
        None => ReminderForm {
            policy: Some(get(POLICY_KEY))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| {
                    serde_json::to_string_pretty(&arpilot_core::dunning::Policy::standard())
                        .expect("a policy serialises")
                }),
            hour: get(HOUR_KEY),
            approval: get(APPROVAL_KEY),
            smtp_url: get(SMTP_KEY),
            smtp_from: get(FROM_KEY),
            portal_url: get(PORTAL_URL_KEY),
            ..ReminderForm::default()
        },
    };
    let mut b = format!(
        r#"<section class="card spaced" id="reminders"><h2>{}</h2>"#,
        l.t("Reminder scenarios", "Scénarios de relance")
    );
    if !f.error.is_empty() {
        let _ = write!(b, r#"<p class="err" role="alert">{}</p>"#, esc(&f.error));
    }
    // Each step of the scenarios in force, with its preview.
    let dec = state.snapshot().currency.decimals();
    if let Ok(s) = arpilot_app::dunning::DunningSettings::from_settings(&stored, dec) {
        b.push_str(r#"<ul class="steps">"#);
        for sc in &s.policy.scenarios {
            for (k, st) in sc.steps.iter().enumerate() {
                let _ = write!(
                    b,
                    r#"<li>{} — {} {}: {} ({:+} {}) · <a href="/settings/reminders/preview?scenario={}&amp;step={}">{}</a></li>"#,
                    esc(&sc.name),
                    l.t("step", "étape"),
                    k + 1,
                    crate::reminders::channel_words(&st.channel, l),
                    st.offset,
                    l.t("days from the due date", "jours par rapport à l'échéance"),
                    html::q(&sc.id),
                    k + 1,
                    l.t("Preview", "Aperçu"),
                );
            }
        }
        b.push_str("</ul>");
    }
    let selected = |v: &str, want: &str| if v == want { " selected" } else { "" };
    let _ = write!(
        b,
        r#"<form method="post" action="/settings/reminders" class="work-form"><input type="hidden" name="csrf" value="{csrf}"><label class="wide">{}<textarea name="policy" rows="18" spellcheck="false">{}</textarea></label><div class="row"><label>{}<input name="hour" value="{}" inputmode="numeric" size="4" placeholder="8"></label><label>{}<select name="approval"><option value="auto"{}>{}</option><option value="manual"{}>{}</option></select></label></div><div class="row"><label>{}<input name="smtp_url" value="{}" size="40" placeholder="smtp://relay.example.com:25"></label><label>{}<input name="smtp_from" value="{}" size="30" placeholder="relances@example.com"></label><label>{}<input name="portal_url" value="{}" size="30" placeholder="https://ar.example.com"></label></div><button class="primary">{}</button></form></section>"#,
        l.t("Scenarios and rules (JSON)", "Scénarios et règles (JSON)"),
        esc(&f.policy),
        l.t(
            "Hour of the daily run (0–23, UTC; empty: none)",
            "Heure de l'envoi quotidien (0–23, UTC ; vide : aucun)"
        ),
        esc(&f.hour),
        l.t("Approval", "Validation"),
        selected(&f.approval, "auto"),
        l.t("automatic", "automatique"),
        selected(&f.approval, "manual"),
        l.t("manual (on the Reminders page)", "manuelle (page Relances)"),
        l.t("SMTP server (URL)", "Serveur SMTP (URL)"),
        esc(&f.smtp_url),
        l.t("Sender address", "Adresse d'expédition"),
        esc(&f.smtp_from),
        l.t(
            "Public address of the portal",
            "Adresse publique du portail"
        ),
        esc(&f.portal_url),
        l.t("Save", "Enregistrer"),
    );
    b
}

/// Checks the reminder form: every value, the policy included (nothing saved when one is
/// wrong); the error names the field.
fn check_reminders(f: &ReminderForm, stored: &[(String, String)], dec: u8) -> Result<(), String> {
    use arpilot_app::dunning::{APPROVAL_KEY, DunningSettings, POLICY_KEY};
    let hour = f.hour.trim();
    if !hour.is_empty() && !hour.parse::<u8>().is_ok_and(|h| h < 24) {
        return Err(format!(
            "dunning.hour {hour:?}: expected an hour from 0 to 23, or nothing"
        ));
    }
    if !matches!(f.approval.trim(), "" | "auto" | "manual") {
        return Err(format!(
            "{APPROVAL_KEY} {:?}: expected auto or manual",
            f.approval
        ));
    }
    let url = f.smtp_url.trim();
    if !url.is_empty() {
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(format!(
                "smtp.url {url:?}: expected smtp://host:port or smtps://host:465"
            ));
        }
        arpilot_app::dunning::Smtp::new(url).map_err(|e| e.to_string())?;
    }
    let from = f.smtp_from.trim();
    if !from.is_empty() && (!from.contains('@') || from.contains(char::is_whitespace)) {
        return Err(format!("smtp.from {from:?}: expected an e-mail address"));
    }
    let portal = f.portal_url.trim();
    if !portal.is_empty() {
        crate::ServerOptions::public_url(portal).map_err(|e| format!("portal.url: {e}"))?;
    }
    let mut all: Vec<(String, String)> = stored
        .iter()
        .filter(|(k, _)| k != POLICY_KEY)
        .cloned()
        .collect();
    all.push((POLICY_KEY.to_string(), f.policy.clone()));
    if f.policy.trim().is_empty() {
        return Err(format!(
            "{POLICY_KEY}: expected the scenarios and rules as JSON"
        ));
    }
    DunningSettings::from_settings(&all, dec)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `POST /settings/reminders` (admins): the policy through `dunning::save_policy`, the other
/// values as settings; the page again with the error when one is refused, nothing saved.
pub async fn reminders(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(mut f): Form<ReminderForm>,
) -> Response {
    use arpilot_app::dunning::{APPROVAL_KEY, FROM_KEY, HOUR_KEY, PORTAL_URL_KEY, SMTP_KEY};
    if caller.role != Role::Admin {
        return (
            StatusCode::FORBIDDEN,
            "reminder settings are managed by admins",
        )
            .into_response();
    }
    if let Some(r) = form_refused(&caller, &headers, &f.csrf) {
        return r;
    }
    let stored = match state.store.settings().await {
        Ok(s) => s,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let dec = state.snapshot().currency.decimals();
    if let Err(e) = check_reminders(&f, &stored, dec) {
        f.error = e;
        return render(&state, &caller, Some(&f)).await;
    }
    if let Err(e) = arpilot_app::dunning::save_policy(&state.store, &f.policy).await {
        f.error = e.to_string();
        return render(&state, &caller, Some(&f)).await;
    }
    let approval = if f.approval.trim() == "manual" {
        "manual"
    } else {
        "auto"
    };
    let pairs = [
        (HOUR_KEY, f.hour.trim().to_string()),
        (APPROVAL_KEY, approval.to_string()),
        (SMTP_KEY, f.smtp_url.trim().to_string()),
        (FROM_KEY, f.smtp_from.trim().to_string()),
        (
            PORTAL_URL_KEY,
            f.portal_url.trim().trim_end_matches('/').to_string(),
        ),
    ];
    match state.save_settings(&pairs).await {
        Ok(()) => Redirect::to("/settings#reminders").into_response(),
        Err(e) => {
            f.error = e.to_string();
            render(&state, &caller, Some(&f)).await
        }
    }
}

/// `GET /settings/reminders/preview?scenario=ID&step=N` (admins): the message of that step
/// filled with the data of the first customer due a reminder on the ledger's last date (of
/// that scenario if one is, else any).
pub async fn reminder_preview(
    State(state): State<Shared>,
    caller: Caller,
    query: axum::extract::RawQuery,
) -> Response {
    use arpilot_app::dunning::{self, Letter};
    if caller.role != Role::Admin {
        return (
            StatusCode::FORBIDDEN,
            "reminder settings are managed by admins",
        )
            .into_response();
    }
    let l = caller.lang;
    let mut scenario = String::new();
    let mut step = 0usize;
    for (k, v) in form_urlencoded::parse(query.0.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "scenario" => scenario = v.into_owned(),
            "step" => step = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    let s = match crate::reminders::settings(&state).await {
        Ok(s) => s,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let Some(sc) = s.policy.scenarios.iter().find(|x| x.id == scenario) else {
        return (StatusCode::NOT_FOUND, "no such scenario").into_response();
    };
    let Some(st) = step.checked_sub(1).and_then(|k| sc.steps.get(k)) else {
        return (StatusCode::NOT_FOUND, "no such step").into_response();
    };
    let snap = state.snapshot();
    let as_of = state.latest();
    let pv = dunning::preview(&snap, &[], &s, as_of);
    let planned = pv
        .reminders
        .iter()
        .find(|p| p.scenario == sc.id)
        .or_else(|| pv.reminders.first());
    let mut b = format!(
        "<h1>{} — {} {} ({})</h1>",
        esc(&sc.name),
        l.t("step", "étape"),
        step,
        crate::reminders::channel_words(&st.channel, l),
    );
    let courtesy = st.offset < 0;
    match planned {
        Some(p) => {
            let lang = if p.language == "en" {
                Lang::En
            } else {
                Lang::Fr
            };
            let (subject, body) = st
                .templates
                .get(lang.code())
                .map(|t| (t.subject.clone(), t.body.clone()))
                .unwrap_or_else(|| dunning::default_template(&st.channel, courtesy, lang));
            let row = snap.customers.ids.find(&p.customer_id);
            let rules = &s.policy.rules;
            let indemnity = if snap.currency.code() == "EUR" {
                rules.indemnity
            } else {
                0
            };
            let letter = Letter {
                id: dunning::reminder_id(&p.customer_id, as_of),
                lang,
                channel: st.channel.clone(),
                step: step as u16,
                day: as_of,
                customer_id: p.customer_id.clone(),
                customer_name: p.customer_name.clone(),
                contact: row.and_then(|c| {
                    snap.followups_on(as_of.0)
                        .get(&c)
                        .and_then(|f| f.contact_name.clone())
                }),
                collector: row.and_then(|c| {
                    snap.customers
                        .dims
                        .get("collector")
                        .map(|col| col.value(c).trim().to_string())
                        .filter(|v| !v.is_empty())
                }),
                lines: p.lines.clone(),
                total: p.amount,
                penalties: if st.channel == "formal_notice" {
                    p.lines
                        .iter()
                        .map(|x| {
                            arpilot_core::dunning::late_terms(
                                x.open.minor,
                                x.due,
                                as_of,
                                rules.late_rate_bp,
                                indemnity,
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                rate_bp: rules.late_rate_bp,
                subject,
                body: body.clone(),
                portal: s.portal_link(&p.customer_id, as_of),
                company: s.company.clone(),
                reference: arpilot_core::cash::customer_reference(&p.customer_id),
            };
            let _ = write!(
                b,
                r#"<p class="muted">{} {} ({}) {} {}</p><section class="card"><h2>{}</h2><p id="subject">{}</p><h2>{}</h2><pre class="letter" id="body">{}</pre></section>"#,
                l.t("With the data of", "Avec les données de"),
                esc(&p.customer_name),
                esc(&p.customer_id),
                l.t("on", "au"),
                l.date(as_of),
                l.t("Subject", "Objet"),
                esc(&letter.subject_text()),
                l.t("Message", "Message"),
                esc(&letter.fill_text(&body)),
            );
        }
        None => {
            let lang = l;
            let (subject, body) = st
                .templates
                .get(lang.code())
                .map(|t| (t.subject.clone(), t.body.clone()))
                .unwrap_or_else(|| dunning::default_template(&st.channel, courtesy, lang));
            let _ = write!(
                b,
                r#"<p class="muted">{}</p><section class="card"><h2>{}</h2><p id="subject">{}</p><h2>{}</h2><pre class="letter" id="body">{}</pre></section>"#,
                l.t(
                    "No customer is due a reminder on the ledger's last date: the template as written.",
                    "Aucun client n'est à relancer à la dernière date du grand livre : le modèle tel qu'écrit."
                ),
                l.t("Subject", "Objet"),
                esc(&subject),
                l.t("Message", "Message"),
                esc(&body),
            );
        }
    }
    let _ = write!(
        b,
        r#"<p><a href="/settings#reminders">{}</a></p>"#,
        l.t("Back to the settings", "Retour aux réglages")
    );
    Html(html::page(
        l,
        l.t("Reminder preview", "Aperçu de relance"),
        &nav(&caller),
        &b,
    ))
    .into_response()
}
