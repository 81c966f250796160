//! Reminders (relances): the preview of today's run with its approve and skip buttons, the
//! customers waiting and why, the reminders sent with their status and letters, the KPIs; the
//! JSON API of the same; and the scheduled run of `arpilot serve`.
//!
//! Admins and managers run and skip; collectors see the preview and history of their portfolio,
//! read-only; viewers nothing. Every read goes through the caller's portfolio; every form checks
//! its CSRF token.

use crate::auth::Role;
use crate::html::{Lang, esc, page, q};
use crate::{Caller, Shared, form_refused};
use arpilot_app::dunning::{
    self, DunningError, DunningSettings, NoMail, Planned, Preview, RunOutcome, Smtp,
};
use arpilot_core::{Day, Filter};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Days of reminders the page's history shows, ending on the as-of date, and most rows.
const HISTORY_DAYS: i32 = 90;
const HISTORY_ROWS: usize = 200;
/// Days of the API's history and KPIs by default, ending on `to`.
const DEFAULT_DAYS: i32 = 30;

/// The portfolio the caller reads reminders of: every role but viewers; `None` when refused
/// (a viewer, or a collector without a portfolio, who sees no customer).
fn readable(caller: &Caller) -> Option<&[Filter]> {
    if matches!(caller.role, Role::Viewer) {
        return None;
    }
    caller.scope.filters()
}

/// Running and skipping reminders is the credit managers' (admins, managers).
fn writes(caller: &Caller) -> bool {
    caller.role.sees_all()
}

fn forbidden(json: bool, msg: &str) -> Response {
    if json {
        (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": msg})),
        )
            .into_response()
    } else {
        (StatusCode::FORBIDDEN, msg.to_string()).into_response()
    }
}

const READ_DENIED: &str = "reminders need the admin, manager or collector role (with a portfolio)";
const WRITE_DENIED: &str = "running or skipping reminders needs the admin or manager role";

fn api_error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({"error": msg.into()}))).into_response()
}

/// The dates a query string gives, by name.
type Dates = HashMap<String, Day>;

/// The dates of a query string (`as_of`, `from`, `to`); an empty value is the default.
fn dates(query: &RawQuery) -> Result<Dates, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.0.as_deref().unwrap_or("").as_bytes()) {
        if v.is_empty() || !matches!(k.as_ref(), "as_of" | "from" | "to") {
            continue;
        }
        let d = Day::parse_iso(&v)
            .ok()
            .filter(|d| d.is_supported())
            .ok_or_else(|| format!("{k} {v:?}: expected a date YYYY-MM-DD from 1900 to 2199"))?;
        out.insert(k.into_owned(), d);
    }
    Ok(out)
}

/// A date field of a form: the ledger's last date when empty.
fn form_day(v: Option<&str>, latest: Day) -> Result<Day, String> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(latest),
        Some(v) => Day::parse_iso(v)
            .ok()
            .filter(|d| d.is_supported())
            .ok_or_else(|| format!("as_of {v:?}: expected a date YYYY-MM-DD from 1900 to 2199")),
    }
}

fn author(caller: &Caller) -> arpilot_app::Author {
    arpilot_app::Author {
        user: caller.user.login.clone(),
        entity: None,
        effective: arpilot_store::today(),
    }
}

/// The reminder settings, the portal's secret created on first use.
pub(crate) async fn settings(state: &Shared) -> Result<DunningSettings, DunningError> {
    DunningSettings::load(&state.store, state.snapshot().currency.decimals()).await
}

/// A channel in words.
pub(crate) fn channel_words(c: &str, l: Lang) -> &'static str {
    match c {
        "email" => l.t("E-mail", "E-mail"),
        "letter" => l.t("Letter", "Courrier"),
        "call" => l.t("Call task", "Tâche d'appel"),
        "formal_notice" => l.t("Formal notice", "Mise en demeure"),
        "legal" => l.t("Legal collection", "Contentieux"),
        _ => "—",
    }
}

fn status_words(s: &str, l: Lang) -> &'static str {
    match s {
        "queued" => l.t("Waiting to leave", "En attente d'envoi"),
        "sent" => l.t("Sent", "Envoyée"),
        "failed" => l.t("Failed", "Échec"),
        _ => l.t("Skipped", "Écartée"),
    }
}

fn waiting_words(reason: &str, until: Option<Day>, l: Lang) -> String {
    let until = until.map_or(String::new(), |d| l.date(d));
    match reason {
        "hold" => format!(
            "{} {until}",
            l.t("Not to contact before", "Ne pas contacter avant le")
        ),
        "promise" => format!(
            "{} {until}",
            l.t(
                "A promise to pay runs until",
                "Promesse de paiement en cours jusqu'au"
            )
        ),
        "interval" => format!(
            "{} {until}",
            l.t(
                "Reminded recently: not before",
                "Relancé récemment : pas avant le"
            )
        ),
        "below_minimum" => l
            .t(
                "Overdue below the minimum amount",
                "Échu inférieur au montant minimum",
            )
            .to_string(),
        _ => l
            .t(
                "Already reminded or skipped on this date",
                "Déjà relancé ou écarté à cette date",
            )
            .to_string(),
    }
}

fn scenario_name<'a>(s: &'a DunningSettings, id: &'a str) -> &'a str {
    s.policy
        .scenarios
        .iter()
        .find(|x| x.id == id)
        .map_or(id, |x| x.name.as_str())
}

/// The message a run or a skip left in the query string: fixed words and counts only.
fn flash(query: &RawQuery, l: Lang) -> Option<String> {
    let mut n: HashMap<String, usize> = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.0.as_deref().unwrap_or("").as_bytes()) {
        if let Ok(x) = v.parse::<usize>() {
            n.insert(k.into_owned(), x);
        }
    }
    let get = |k: &str| n.get(k).copied().unwrap_or(0);
    if n.contains_key("skipped") {
        return Some(
            l.t(
                "The reminder was skipped for this date.",
                "La relance est écartée pour cette date.",
            )
            .to_string(),
        );
    }
    if !n.contains_key("done") {
        return None;
    }
    Some(match l {
        Lang::En => format!(
            "Run done: {} reminders decided, {} e-mails sent, {} letters to print, {} call tasks, {} to legal collection, {} e-mails failed.",
            get("queued"),
            get("sent"),
            get("letters"),
            get("calls"),
            get("legal"),
            get("failed")
        ),
        Lang::Fr => format!(
            "Relances faites : {} décidées, {} e-mails envoyés, {} courriers à imprimer, {} tâches d'appel, {} au contentieux, {} e-mails en échec.",
            get("queued"),
            get("sent"),
            get("letters"),
            get("calls"),
            get("legal"),
            get("failed")
        ),
    })
}

// ---------------------------------------------------------------------------------------------
// The page

/// `GET /reminders?as_of=D`.
pub async fn page_get(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    reminders_page(&state, &caller, &query, None).await
}

async fn reminders_page(
    state: &Shared,
    caller: &Caller,
    query: &RawQuery,
    error: Option<&str>,
) -> Response {
    let Some(filters) = readable(caller) else {
        return forbidden(false, READ_DENIED);
    };
    let l = caller.lang;
    let asked = match dates(query) {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let as_of = asked
        .get("as_of")
        .copied()
        .unwrap_or_else(|| state.latest());
    let s = match settings(state).await {
        Ok(s) => s,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reminder settings: {e}"),
            )
                .into_response();
        }
    };
    let snap = match state.snapshot_at(Some(as_of)).await {
        Ok(s) => s,
        Err(e) => return api_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let k30 = dunning::kpis(&snap, filters, &s, as_of.add_days(-29), as_of);
    // Reminders whose 30 days have passed: those of the 30 days before.
    let k60 = dunning::kpis(&snap, filters, &s, as_of.add_days(-59), as_of);
    let pv = dunning::preview(&snap, filters, &s, as_of);
    let history = dunning::history(&snap, filters, as_of.add_days(1 - HISTORY_DAYS), as_of);
    let csrf = esc(caller.csrf.as_deref().unwrap_or(""));
    let w = writes(caller);
    let date_q = format!("as_of={as_of}");

    let mut b = format!(
        r#"<h1>{} {}</h1><form class="bar-form" method="get" action="/reminders"><label>{}<input type="date" name="as_of" value="{as_of}"></label><button class="primary">{}</button></form>"#,
        l.t("Reminders on", "Relances du"),
        l.date(as_of),
        l.t("As of", "Au"),
        l.t("Show", "Afficher"),
    );
    if let Some(e) = error {
        let _ = write!(b, r#"<p class="err" role="alert">{}</p>"#, esc(e));
    }
    if let Some(m) = flash(query, l) {
        let _ = write!(
            b,
            r#"<p class="ok" role="status" id="flash">{}</p>"#,
            esc(&m)
        );
    }
    let kpi = |label: &str, value: String| {
        format!(
            r#"<div class="kpi"><span>{}</span><b>{}</b></div>"#,
            esc(label),
            esc(&value)
        )
    };
    let pct = |x: Option<f64>| l.num(x, " %");
    let _ = write!(
        b,
        r#"<section class="kpis" id="reminder-kpis">{}{}{}{}</section>"#,
        kpi(
            l.t("Sent, last 30 days", "Envoyées sur 30 jours"),
            format!("{} · {}", k30.total.sent, l.money(k30.total.amount))
        ),
        kpi(
            l.t("Paid within 30 days of a reminder", "Activation à 30 jours"),
            pct(k60.total.activation_30)
        ),
        kpi(
            l.t("Collected after reminders", "Encaissé après relance"),
            l.money(k30.total.collected)
        ),
        kpi(
            l.t("Waiting to leave / failed", "En attente / en échec"),
            format!("{} / {}", k30.pending, k30.failed)
        ),
    );

    // Today's reminders.
    let _ = write!(
        b,
        r#"<section class="card"><h2>{} ({})</h2>"#,
        l.t("To send on this date", "À envoyer à cette date"),
        pv.reminders.len()
    );
    if s.approval {
        let _ = write!(
            b,
            r#"<p class="muted">{}</p>"#,
            l.t(
                "Approval is manual: the scheduled run prepares nothing; approve the reminders here.",
                "Validation manuelle : l'envoi planifié ne fait rien ; validez les relances ici."
            )
        );
    }
    if s.smtp_url.is_none() && pv.reminders.iter().any(|p| p.channel == "email") {
        let _ = write!(
            b,
            r#"<p class="err">{}</p>"#,
            l.t(
                "No SMTP server is set: e-mails cannot leave (Settings, Reminder scenarios).",
                "Aucun serveur SMTP n'est réglé : les e-mails ne peuvent partir (Réglages, Scénarios de relance)."
            )
        );
    }
    if pv.reminders.is_empty() {
        let _ = write!(
            b,
            r#"<p class="muted" id="preview-empty">{}</p>"#,
            l.t(
                "No reminder is due on this date.",
                "Aucune relance n'est due à cette date."
            )
        );
    } else {
        // Above the table: a day's preview may list hundreds of customers.
        if w {
            let _ = write!(
                b,
                r#"<form method="post" action="/reminders/run" class="bar-form" id="approve-all"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="as_of" value="{as_of}"><button class="primary">{} ({})</button></form>"#,
                l.t("Approve all", "Tout valider"),
                pv.reminders.len()
            );
        }
        let _ = write!(
            b,
            r#"<table id="preview"><thead><tr><th>{}</th><th>{}</th><th class="n">{}</th><th>{}</th><th class="n">{}</th><th class="n">{}</th><th>{}</th>{}</tr></thead><tbody>"#,
            l.t("Customer", "Client"),
            l.t("Scenario", "Scénario"),
            l.t("Step", "Étape"),
            l.t("Channel", "Canal"),
            l.t("Invoices", "Factures"),
            l.t("Amount", "Montant"),
            l.t("Recipient", "Destinataire"),
            if w { "<th></th>" } else { "" },
        );
        for p in &pv.reminders {
            b += &preview_row(p, &s, l, &csrf, as_of, w);
        }
        b.push_str("</tbody></table>");
    }
    b.push_str("</section>");

    // Waiting.
    if !pv.waiting.is_empty() {
        let _ = write!(
            b,
            r#"<section class="card spaced"><h2>{} ({})</h2><table id="waiting"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>"#,
            l.t("Not reminded on this date", "Non relancés à cette date"),
            pv.waiting.len(),
            l.t("Customer", "Client"),
            l.t("Why", "Pourquoi"),
        );
        for x in &pv.waiting {
            let _ = write!(
                b,
                r#"<tr><td><a href="/customers/{}?{date_q}">{}</a> <small class="muted">{}</small></td><td>{}</td></tr>"#,
                q(&x.customer_id),
                esc(&x.customer_name),
                esc(&x.customer_id),
                esc(&waiting_words(&x.reason, x.until, l)),
            );
        }
        b.push_str("</tbody></table></section>");
    }

    // History.
    let _ = write!(
        b,
        r#"<section class="card spaced"><h2>{}</h2><table id="history"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th class="n">{}</th><th>{}</th><th>{}</th><th class="n">{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        l.t(
            "Reminders of the last 90 days",
            "Relances des 90 derniers jours"
        ),
        l.t("Date", "Date"),
        l.t("Customer", "Client"),
        l.t("Scenario, step", "Scénario, étape"),
        l.t("Channel", "Canal"),
        l.t("Amount", "Montant"),
        l.t("Status", "Statut"),
        l.t("Message id", "Identifiant du message"),
        l.t("Attempts", "Tentatives"),
        l.t("Error or reason", "Erreur ou motif"),
    );
    for h in history.iter().take(HISTORY_ROWS) {
        let letter =
            if matches!(h.channel.as_str(), "letter" | "formal_notice") && h.status != "skipped" {
                format!(
                    r#"<a href="/reminders/{}.pdf">{}</a>"#,
                    q(&h.id),
                    l.t("Letter (PDF)", "Courrier (PDF)")
                )
            } else {
                String::new()
            };
        let _ = write!(
            b,
            r#"<tr data-reminder="{}"><td>{}</td><td><a href="/customers/{}?{date_q}">{}</a></td><td>{}{}</td><td>{}</td><td class="n">{}</td><td>{} <small class="muted">{}</small></td><td><small>{}</small></td><td class="n">{}</td><td>{}</td><td class="actions">{letter}</td></tr>"#,
            esc(&h.id),
            l.date(h.date),
            q(&h.customer_id),
            esc(&h.customer_name),
            esc(scenario_name(&s, &h.scenario)),
            if h.step > 0 {
                format!(", {}", h.step)
            } else {
                String::new()
            },
            channel_words(&h.channel, l),
            if h.invoices.is_empty() {
                String::new()
            } else {
                esc(&l.money(h.amount))
            },
            status_words(&h.status, l),
            l.date(h.status_date),
            esc(h.message_id.as_deref().unwrap_or("")),
            h.attempts,
            esc(h.error.as_deref().unwrap_or("")),
        );
    }
    if history.is_empty() {
        b += &format!(
            r#"<tr><td colspan="10" class="muted">{}</td></tr>"#,
            l.t("No reminder yet.", "Aucune relance pour l'instant.")
        );
    }
    b.push_str("</tbody></table></section>");
    let nav_q = asked
        .get("as_of")
        .map_or(String::new(), |d| format!("as_of={d}"));
    Html(page(
        l,
        l.t("Reminders", "Relances"),
        &caller.nav(&nav_q, "reminders"),
        &b,
    ))
    .into_response()
}

fn preview_row(
    p: &Planned,
    s: &DunningSettings,
    l: Lang,
    csrf: &str,
    as_of: Day,
    writes: bool,
) -> String {
    let id = esc(&p.customer_id);
    let actions = if writes {
        format!(
            r#"<td class="actions"><form method="post" action="/reminders/run" class="inline"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="as_of" value="{as_of}"><input type="hidden" name="customer" value="{id}"><button class="primary">{}</button></form> <form method="post" action="/reminders/skip" class="inline"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="as_of" value="{as_of}"><input type="hidden" name="customer" value="{id}"><input name="reason" maxlength="500" size="10" placeholder="{}" aria-label="{}"><button class="secondary">{}</button></form></td>"#,
            l.t("Approve", "Valider"),
            l.t("reason", "motif"),
            l.t("Reason", "Motif"),
            l.t("Skip", "Écarter"),
        )
    } else {
        String::new()
    };
    format!(
        r#"<tr data-customer="{id}"><td><a href="/customers/{}?as_of={as_of}">{}</a> <small class="muted">{id}</small></td><td>{}</td><td class="n">{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td>{actions}</tr>"#,
        q(&p.customer_id),
        esc(&p.customer_name),
        esc(scenario_name(s, &p.scenario)),
        p.step,
        channel_words(&p.channel, l),
        p.invoices.len(),
        esc(&l.money(p.amount)),
        esc(p.recipient.as_deref().unwrap_or("—")),
    )
}

// ---------------------------------------------------------------------------------------------
// Running and skipping

/// Runs reminders with the SMTP server of the settings (none: only what needs no e-mail).
async fn run_with(
    state: &Shared,
    s: &DunningSettings,
    as_of: Day,
    filters: &[Filter],
    only: Option<&BTreeSet<String>>,
    author: &arpilot_app::Author,
    source: &str,
) -> Result<RunOutcome, DunningError> {
    let r = match s.smtp_url.as_deref() {
        Some(url) => {
            let m = Smtp::new(url)?;
            dunning::run(
                &state.views,
                &state.store,
                s,
                &m,
                as_of,
                filters,
                only,
                author,
                source,
            )
            .await
        }
        None => {
            dunning::run(
                &state.views,
                &state.store,
                s,
                &NoMail,
                as_of,
                filters,
                only,
                author,
                source,
            )
            .await
        }
    };
    // Even a failed run may have written some (the reminders before an e-mail failed).
    state.changed();
    r
}

fn refusal(e: DunningError) -> (StatusCode, String) {
    match e {
        DunningError::Invalid(m) => (StatusCode::BAD_REQUEST, m),
        DunningError::Refused(m) => (StatusCode::CONFLICT, m),
        DunningError::Store(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

fn field<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(x, _)| x == k)
        .map(|(_, v)| v.as_str())
}

/// `POST /reminders/run`: approves the reminders of the `customer` fields (none: all of the
/// date), then back to the page with what the run did.
pub async fn post_run(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = form_refused(&caller, &headers, field(&pairs, "csrf").unwrap_or("")) {
        return r;
    }
    if !writes(&caller) {
        return forbidden(false, WRITE_DENIED);
    }
    let as_of = match form_day(field(&pairs, "as_of"), state.latest()) {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let only: BTreeSet<String> = pairs
        .iter()
        .filter(|(k, v)| k == "customer" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect();
    let back = RawQuery(Some(format!("as_of={as_of}")));
    let s = match settings(&state).await {
        Ok(s) => s,
        Err(e) => {
            let (status, msg) = refusal(e);
            let page = reminders_page(&state, &caller, &back, Some(&msg)).await;
            return (status, page).into_response();
        }
    };
    let filters = readable(&caller).unwrap_or(&[]).to_vec();
    let only = (!only.is_empty()).then_some(&only);
    match run_with(
        &state,
        &s,
        as_of,
        &filters,
        only,
        &author(&caller),
        "page",
    )
    .await
    {
        Ok(o) => Redirect::to(&format!(
            "/reminders?as_of={as_of}&done=1&queued={}&sent={}&letters={}&calls={}&legal={}&failed={}",
            o.queued,
            o.emails_sent,
            o.letters,
            o.call_tasks,
            o.legal,
            o.failed.len()
        ))
        .into_response(),
        Err(e) => {
            let (status, msg) = refusal(e);
            let page = reminders_page(&state, &caller, &back, Some(&msg)).await;
            (status, page).into_response()
        }
    }
}

/// `POST /reminders/skip`: customer `customer`'s reminder of `as_of` is not sent, with an
/// optional `reason`.
pub async fn post_skip(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = form_refused(&caller, &headers, field(&pairs, "csrf").unwrap_or("")) {
        return r;
    }
    if !writes(&caller) {
        return forbidden(false, WRITE_DENIED);
    }
    let as_of = match form_day(field(&pairs, "as_of"), state.latest()) {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let customer = field(&pairs, "customer").unwrap_or("").trim().to_string();
    let seen = {
        let snap = state.snapshot();
        caller
            .scope
            .selection(&snap, &[])
            .ok()
            .zip(snap.customers.ids.find(&customer))
            .is_some_and(|(sel, c)| sel.customer(c))
    };
    if !seen {
        return (StatusCode::NOT_FOUND, "no such customer").into_response();
    }
    let reason = field(&pairs, "reason")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(500).collect::<String>());
    let r = dunning::skip(
        &state.views,
        &state.store,
        &customer,
        as_of,
        reason,
        &author(&caller),
    )
    .await;
    state.changed();
    match r {
        Ok(()) => Redirect::to(&format!("/reminders?as_of={as_of}&skipped=1")).into_response(),
        Err(e) => {
            let (status, msg) = refusal(e);
            let back = RawQuery(Some(format!("as_of={as_of}")));
            let page = reminders_page(&state, &caller, &back, Some(&msg)).await;
            (status, page).into_response()
        }
    }
}

/// `GET /reminders/{id}.pdf`: a reminder's letter (or formal notice, or e-mail as a letter);
/// 404 for a reminder unknown, without content (skipped) or of a customer outside the caller's
/// portfolio.
pub async fn letter_pdf(
    State(state): State<Shared>,
    caller: Caller,
    Path(file): Path<String>,
) -> Response {
    if readable(&caller).is_none() {
        return forbidden(false, READ_DENIED);
    }
    let not_found = || (StatusCode::NOT_FOUND, "no such reminder").into_response();
    let Some(id) = file.strip_suffix(".pdf") else {
        return not_found();
    };
    let snap = state.snapshot();
    let Some(&k) = snap.reminders.ids.get(id) else {
        return not_found();
    };
    let r = &snap.reminders.rows[k as usize];
    let seen = caller
        .scope
        .selection(&snap, &[])
        .is_ok_and(|sel| sel.customer(r.customer));
    if !seen || r.lines.is_empty() || r.step == 0 {
        return not_found();
    }
    let s = match settings(&state).await {
        Ok(s) => s,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reminder settings: {e}"),
            )
                .into_response();
        }
    };
    let letter = dunning::letter(&snap, &s, k as usize);
    crate::pdf_download(
        &format!("{}.pdf", crate::file_safe(id)),
        arpilot_app::statement::letter_pdf(&letter),
    )
}

// ---------------------------------------------------------------------------------------------
// JSON API

/// The API's reading checks: the caller's portfolio and the query's dates (403, 400).
fn api_read<'a>(
    caller: &'a Caller,
    query: &RawQuery,
) -> Result<(&'a [Filter], Dates), Box<Response>> {
    let Some(filters) = readable(caller) else {
        return Err(Box::new(forbidden(true, READ_DENIED)));
    };
    let d = dates(query).map_err(|e| Box::new(api_error(StatusCode::BAD_REQUEST, e)))?;
    Ok((filters, d))
}

/// `from` and `to` of the query: `to` the ledger's last date, `from` 30 days before.
fn period(state: &Shared, d: &Dates) -> Result<(Day, Day), Box<Response>> {
    let to = d.get("to").copied().unwrap_or_else(|| state.latest());
    let from = d
        .get("from")
        .copied()
        .unwrap_or_else(|| to.add_days(1 - DEFAULT_DAYS));
    if from > to {
        return Err(Box::new(api_error(
            StatusCode::BAD_REQUEST,
            format!("from {from}: expected a date on or before to {to}"),
        )));
    }
    Ok((from, to))
}

async fn api_settings(state: &Shared) -> Result<DunningSettings, Box<Response>> {
    settings(state)
        .await
        .map_err(|e| Box::new(api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))
}

use crate::pages::try_page;

async fn snapshot(
    state: &Shared,
    d: Day,
) -> Result<std::sync::Arc<arpilot_core::Snapshot>, Box<Response>> {
    state
        .snapshot_at(Some(d))
        .await
        .map_err(|e| Box::new(api_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())))
}

/// `GET /api/reminders/preview?as_of=D`: what a run on the date would send, and who waits.
pub async fn api_preview(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (filters, d) = try_page!(api_read(&caller, &query));
    let as_of = d.get("as_of").copied().unwrap_or_else(|| state.latest());
    let s = try_page!(api_settings(&state).await);
    let snap = try_page!(snapshot(&state, as_of).await);
    Json(dunning::preview(&snap, filters, &s, as_of)).into_response()
}

/// `GET /api/reminders/history?from=D&to=D`: the reminders of the period, latest first.
pub async fn api_history(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (filters, d) = try_page!(api_read(&caller, &query));
    let (from, to) = try_page!(period(&state, &d));
    let snap = try_page!(snapshot(&state, to).await);
    Json(dunning::history(&snap, filters, from, to)).into_response()
}

/// `GET /api/reminders/kpis?from=D&to=D`: the reminder KPIs of the period.
pub async fn api_kpis(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (filters, d) = try_page!(api_read(&caller, &query));
    let (from, to) = try_page!(period(&state, &d));
    let s = try_page!(api_settings(&state).await);
    let snap = try_page!(snapshot(&state, to).await);
    Json(dunning::kpis(&snap, filters, &s, from, to)).into_response()
}

/// The answer of `POST /api/reminders/run`.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct RunAnswer {
    pub dry_run: bool,
    /// The reminders the run decided (a dry run: would decide), by customer.
    pub reminders: Vec<Planned>,
    /// What the run did; none for a dry run.
    pub outcome: Option<RunOutcome>,
}

/// A field that may be left out but, when given, is not `null` (as the API's schema says).
fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    #[serde(default, deserialize_with = "present")]
    as_of: Option<String>,
    #[serde(default, deserialize_with = "present")]
    customers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    dry_run: Option<bool>,
}

/// `POST /api/reminders/run`: `{"as_of": "2026-10-31", "customers": ["C1"], "dry_run": true}`.
pub async fn api_run(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Json(body): Json<serde_json::Value>,
) -> Response {
    if !crate::api_csrf_ok(&caller, &headers) {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    if !writes(&caller) {
        return forbidden(true, WRITE_DENIED);
    }
    let body: RunBody = match serde_json::from_value(body) {
        Ok(b) => b,
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "body: {e} (expected {{\"as_of\": \"YYYY-MM-DD\", \"customers\": [\"C1\"], \"dry_run\": true}})"
                ),
            );
        }
    };
    let as_of = match form_day(body.as_of.as_deref(), state.latest()) {
        Ok(d) => d,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, e),
    };
    let only: Option<BTreeSet<String>> = body
        .customers
        .map(|c| c.into_iter().map(|x| x.trim().to_string()).collect());
    let filters = readable(&caller).unwrap_or(&[]).to_vec();
    let s = try_page!(api_settings(&state).await);
    let snap = try_page!(snapshot(&state, as_of).await);
    let Preview { mut reminders, .. } = dunning::preview(&snap, &filters, &s, as_of);
    drop(snap);
    if let Some(o) = &only {
        reminders.retain(|p| o.contains(&p.customer_id));
    }
    if body.dry_run.unwrap_or(false) {
        return Json(RunAnswer {
            dry_run: true,
            reminders,
            outcome: None,
        })
        .into_response();
    }
    match run_with(
        &state,
        &s,
        as_of,
        &filters,
        only.as_ref(),
        &author(&caller),
        "api",
    )
    .await
    {
        Ok(o) => Json(RunAnswer {
            dry_run: false,
            reminders,
            outcome: Some(o),
        })
        .into_response(),
        Err(e) => {
            let (status, msg) = refusal(e);
            api_error(status, msg)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scheduled run

/// What the scheduled task remembers between its wake-ups (in memory: a restart forgets, which
/// is harmless — a second run on the same date decides nothing more).
#[derive(Default)]
struct Schedule {
    /// The UTC day of the last scheduled run.
    last_run: Option<i64>,
    /// Failed e-mails and when each may be tried again.
    retry: HashMap<String, Instant>,
    /// The last error logged, not repeated every minute.
    last_error: Option<String>,
}

/// Back-off after the `attempt`-th failure of an e-mail: 2^attempt minutes.
fn backoff(attempt: u16) -> Duration {
    Duration::from_secs(60 << attempt.min(12))
}

impl Schedule {
    fn log(&mut self, msg: String) {
        if self.last_error.as_deref() != Some(msg.as_str()) {
            eprintln!("arpilot: reminders: {msg}");
            self.last_error = Some(msg);
        }
    }

    async fn tick(&mut self, state: &Shared) {
        let pairs = match arpilot_store::UserStore::settings(&state.store).await {
            Ok(p) => p,
            Err(e) => return self.log(format!("settings: {e}")),
        };
        let dec = state.snapshot().currency.decimals();
        // Read without writing anything (the portal's secret is created only when needed).
        let quick = match DunningSettings::from_settings(&pairs, dec) {
            Ok(s) => s,
            Err(e) => return self.log(e.to_string()),
        };
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let (day, hour) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) / 3600);
        let run_due =
            quick.hour.is_some_and(|h| hour >= i64::from(h)) && self.last_run != Some(day);
        let waiting = quick.smtp_url.is_some() && {
            let snap = state.snapshot();
            let email = arpilot_core::ledger::CHANNELS
                .iter()
                .position(|c| *c == "email")
                .unwrap_or(0) as u8;
            snap.reminders.rows.iter().any(|r| {
                r.channel == email
                    && (r.status == arpilot_core::snapshot::REMINDER_QUEUED
                        || (r.status == arpilot_core::snapshot::REMINDER_FAILED
                            && r.attempts < dunning::MAX_ATTEMPTS))
            })
        };
        if !run_due && !waiting {
            return;
        }
        let s = match DunningSettings::load(&state.store, dec).await {
            Ok(s) => s,
            Err(e) => return self.log(e.to_string()),
        };
        let author = arpilot_app::Author {
            user: String::new(),
            entity: None,
            effective: arpilot_store::today(),
        };
        if run_due {
            self.last_run = Some(day);
            // Manual approval: nothing is decided here; the preview page lists the reminders.
            if !s.approval {
                let as_of = state.views.latest();
                match run_with(state, &s, as_of, &[], None, &author, "schedule").await {
                    Ok(o) => {
                        eprintln!(
                            "arpilot: reminders of {as_of}: {} decided, {} e-mails sent, {} failed",
                            o.queued,
                            o.emails_sent,
                            o.failed.len()
                        );
                        let now = Instant::now();
                        for f in o.failed {
                            self.retry.insert(f.reminder_id, now + backoff(f.attempt));
                        }
                    }
                    Err(e) => self.log(format!("scheduled run of {as_of}: {e}")),
                }
            }
        }
        let Some(url) = s.smtp_url.as_deref() else {
            return;
        };
        let mailer = match Smtp::new(url) {
            Ok(m) => m,
            Err(e) => return self.log(e.to_string()),
        };
        let now = Instant::now();
        let retry = &self.retry;
        let d = dunning::deliver(&state.views, &state.store, &s, &mailer, &author, |id| {
            retry.get(id).is_none_or(|t| *t <= now)
        })
        .await;
        match d {
            Ok(d) => {
                if d.sent > 0 || !d.failed.is_empty() {
                    state.changed();
                }
                for id in &d.sent_ids {
                    self.retry.remove(id);
                }
                for f in d.failed {
                    self.log(format!(
                        "e-mail {} (attempt {}): {}",
                        f.reminder_id, f.attempt, f.error
                    ));
                    self.retry.insert(f.reminder_id, now + backoff(f.attempt));
                }
            }
            Err(e) => self.log(format!("delivery: {e}")),
        }
    }
}

/// The scheduled run of `arpilot serve`: every minute, once a day from the hour of
/// `dunning.hour` (UTC: the server's clock is read as UTC), today's reminders are decided and
/// sent for the ledger's last date — unless `dunning.approval` is `manual`, when the preview
/// page waits for a person; and every minute, failed e-mails are tried again, the n-th failure
/// waiting 2^n minutes. Errors go to the server's log; nothing here stops the server.
pub(crate) async fn schedule(state: Shared) {
    use futures_util::FutureExt;
    let mut s = Schedule::default();
    let mut every = tokio::time::interval(Duration::from_secs(60));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if std::panic::AssertUnwindSafe(s.tick(&state))
            .catch_unwind()
            .await
            .is_err()
        {
            eprintln!(
                "arpilot: reminders: internal error in the scheduled run (retried in a minute)"
            );
        }
    }
}
