//! Recording work from the customer file (HTML forms, no JavaScript needed) and from the JSON
//! API: an action with its outcome, a promise, a dispute, a dispute's resolution. Viewers write
//! nothing; collectors only inside their portfolio; every form checks its CSRF token.

use crate::html::{Lang, esc};
use crate::{Caller, Shared, form_refused};
use arpilot_app::customer::{CustomerFile, Entry};
use arpilot_app::work::{self, RecordError, WorkError};
use arpilot_core::Day;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use std::fmt::Write;

/// Why a write is refused before looking at its content.
fn may_write(state: &Shared, caller: &Caller, id: &str) -> Result<(), (StatusCode, &'static str)> {
    if matches!(caller.role, crate::auth::Role::Viewer) {
        return Err((StatusCode::FORBIDDEN, "viewers cannot record work"));
    }
    let snap = state.snapshot();
    // Outside the portfolio and unknown look the same.
    let seen = caller
        .scope
        .selection(&snap, &[])
        .ok()
        .zip(snap.customers.ids.find(id))
        .is_some_and(|(sel, c)| sel.customer(c));
    if seen {
        Ok(())
    } else {
        Err((StatusCode::NOT_FOUND, "no such customer"))
    }
}

fn author(caller: &Caller) -> arpilot_app::Author {
    arpilot_app::Author {
        user: caller.user.login.clone(),
        entity: None,
        effective: arpilot_store::today(),
    }
}

/// `POST /customers/{id}/work`: the customer file's forms. Success returns to the file; a
/// refusal shows it again with the reason (422), nothing written.
pub async fn post_form(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
    query: RawQuery,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let sent = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    if let Some(r) = form_refused(&caller, &headers, sent) {
        return r;
    }
    if let Err((status, msg)) = may_write(&state, &caller, &id) {
        return (status, msg).into_response();
    }
    let back = format!(
        "/customers/{}?{}",
        crate::html::q(&id),
        query.0.as_deref().unwrap_or("")
    );
    match record(&state, &caller, &id, &pairs, "page").await {
        Ok(_) => Redirect::to(&format!("{back}#work")).into_response(),
        Err(Refusal::Invalid(e)) => {
            let msg = format!("{}: {}", field_label(caller.lang, &e.field), e.message);
            crate::pages::customer_page(&state, &caller, &id, query, Some(&msg)).await
        }
        Err(Refusal::Store(msg)) => (StatusCode::SERVICE_UNAVAILABLE, msg).into_response(),
        Err(Refusal::Forbidden) => (
            StatusCode::FORBIDDEN,
            "reassigning needs the manager or admin role",
        )
            .into_response(),
    }
}

/// `POST /api/customers/{id}/work`: the same, as JSON — `{"kind": "call", "outcome": "promise",
/// "invoice": ["F1", "F2"], "promise_amount": "1500.00", "promise_date": "2026-11-15"}`.
pub async fn post_api(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    if !crate::api_csrf_ok(&caller, &headers) {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    if let Err((status, msg)) = may_write(&state, &caller, &id) {
        return (status, Json(serde_json::json!({"error": msg}))).into_response();
    }
    let pairs = match pairs_of(&body) {
        Ok(p) => p,
        Err(e) => return invalid(&e),
    };
    match record(&state, &caller, &id, &pairs, "api").await {
        Ok(r) => Json(r).into_response(),
        Err(Refusal::Invalid(e)) => invalid(&e),
        Err(Refusal::Store(msg)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": msg})),
        )
            .into_response(),
        Err(Refusal::Forbidden) => (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": "reassigning needs the manager or admin role"})),
        )
            .into_response(),
    }
}

fn invalid(e: &WorkError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": e.to_string(), "field": e.field})),
    )
        .into_response()
}

/// A JSON object as form pairs: arrays repeat their key, numbers become text.
fn pairs_of(body: &serde_json::Value) -> Result<Vec<(String, String)>, WorkError> {
    use serde_json::Value;
    let bad = |k: &str, m: &str| WorkError {
        field: k.to_string(),
        message: m.to_string(),
    };
    let o = body
        .as_object()
        .ok_or_else(|| bad("body", "expected a JSON object"))?;
    let mut out = Vec::new();
    for (k, v) in o {
        let mut one = |v: &Value| match v {
            Value::String(s) => {
                out.push((k.clone(), s.clone()));
                Ok(())
            }
            Value::Number(n) => {
                out.push((k.clone(), n.to_string()));
                Ok(())
            }
            Value::Null => Ok(()),
            _ => Err(bad(k, "expected a string or a number")),
        };
        match v {
            Value::Array(items) if k == "invoice" => items.iter().try_for_each(&mut one)?,
            v => one(v)?,
        }
    }
    Ok(out)
}

enum Refusal {
    Invalid(WorkError),
    Store(String),
    /// Reassigning customers is for managers and admins.
    Forbidden,
}

async fn record(
    state: &Shared,
    caller: &Caller,
    id: &str,
    pairs: &[(String, String)],
    source: &str,
) -> Result<work::Recorded, Refusal> {
    let currency = state.snapshot().currency;
    let w = work::parse(pairs, state.latest(), currency).map_err(Refusal::Invalid)?;
    if matches!(w, work::Work::Reassign { .. }) && !caller.role.sees_all() {
        return Err(Refusal::Forbidden);
    }
    match work::record(&state.views, &state.store, id, &w, &author(caller), source).await {
        Ok(r) => {
            state.changed();
            Ok(r)
        }
        Err(RecordError::Invalid(e)) => Err(Refusal::Invalid(e)),
        Err(RecordError::Store(e)) => Err(Refusal::Store(e.to_string())),
    }
}

fn field_label(l: Lang, f: &str) -> &str {
    match f {
        "kind" => l.t("Action", "Action"),
        "outcome" => l.t("Outcome", "Résultat"),
        "invoice" => l.t("Invoices", "Factures"),
        "promise_amount" => l.t("Amount promised", "Montant promis"),
        "promise_date" => l.t("Promised for", "Promis pour le"),
        "dispute_reason" => l.t("Dispute reason", "Motif du litige"),
        "dispute_amount" => l.t("Disputed amount", "Montant contesté"),
        "date" => l.t("Date", "Date"),
        "resolution" => l.t("Resolution", "Issue"),
        "next_action" => l.t("Next action on", "Prochaine action le"),
        "hold_until" => l.t("Do not contact before", "Ne pas contacter avant le"),
        "hold_reason" => l.t("Because", "Motif"),
        "contact_email" => l.t("E-mail", "E-mail"),
        "collector" => l.t("Collector", "Chargé de recouvrement"),
        other => other,
    }
}

/// The customer file's work section: log an action (with a promise or a dispute), resolve a
/// dispute. Viewers see the history only.
#[allow(clippy::too_many_arguments)]
pub fn forms(
    l: Lang,
    id: &str,
    query: &str,
    csrf: &str,
    writes: bool,
    manages: bool,
    collectors: &[String],
    f: &CustomerFile,
    as_of: Day,
    error: Option<&str>,
) -> String {
    let fu = &f.follow_up;
    let mut summary = Vec::new();
    if let Some(d) = fu.next_action {
        summary.push(format!(
            "{} {}",
            l.t("Next action:", "Prochaine action :"),
            l.date(d)
        ));
    }
    if let Some(d) = fu.hold_until.filter(|h| *h > as_of) {
        summary.push(format!(
            "{} {}{}",
            l.t("Not to contact before", "Ne pas contacter avant le"),
            l.date(d),
            fu.hold_reason
                .as_deref()
                .map_or(String::new(), |r| format!(" ({})", esc(r)))
        ));
    }
    let contact: Vec<&str> = [
        &fu.contact_name,
        &fu.contact_role,
        &fu.contact_email,
        &fu.contact_phone,
    ]
    .iter()
    .filter_map(|x| x.as_deref())
    .collect();
    if !contact.is_empty() {
        summary.push(format!(
            "{} {}",
            l.t("Contact:", "Contact :"),
            esc(&contact.join(" · "))
        ));
    }
    let summary = if summary.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="follow-up">{}</p>"#, summary.join(" — "))
    };
    if !writes {
        return if summary.is_empty() {
            String::new()
        } else {
            format!(
                r#"<section class="card work" id="work"><h2>{}</h2>{summary}</section>"#,
                l.t("Follow-up", "Suivi")
            )
        };
    }
    let action = format!("/customers/{}/work?{}", crate::html::q(id), esc(query));
    let mut b = format!(
        r#"<section class="card work" id="work"><h2>{}</h2>{summary}"#,
        l.t("Record work", "Enregistrer une action")
    );
    if let Some(e) = error {
        let _ = write!(b, r#"<p class="err" role="alert">{}</p>"#, esc(e));
    }
    let options = |list: &[(&str, &str)]| -> String {
        list.iter()
            .map(|(v, label)| format!(r#"<option value="{v}">{}</option>"#, esc(label)))
            .collect()
    };
    let kinds = options(&[
        ("call", l.t("Call", "Appel")),
        ("email", l.t("E-mail", "E-mail")),
        ("letter", l.t("Letter", "Courrier")),
        ("visit", l.t("Visit", "Visite")),
        ("note", l.t("Note", "Note")),
    ]);
    let outcomes = options(&[
        ("", "—"),
        ("reached", l.t("Reached", "Joint")),
        ("no_answer", l.t("No answer", "Pas de réponse")),
        ("promise", l.t("Promise to pay", "Promesse de paiement")),
        ("dispute", l.t("Dispute", "Litige")),
        ("refusal", l.t("Refusal", "Refus")),
        (
            "wrong_contact",
            l.t("Wrong contact", "Mauvais interlocuteur"),
        ),
    ]);
    let reasons: String = std::iter::once(r#"<option value="">—</option>"#.to_string())
        .chain(
            work::DISPUTE_REASONS
                .iter()
                .map(|r| format!(r#"<option value="{r}">{r}</option>"#)),
        )
        .collect();
    let invoices: String = f
        .open_invoices
        .iter()
        .take(50)
        .map(|i| {
            format!(
                r#"<label class="check"><input type="checkbox" name="invoice" value="{v}"> {v} · {} · {}</label>"#,
                l.money(i.open_amount),
                l.date(i.due_date),
                v = esc(&i.document_id),
            )
        })
        .collect();
    let _ = write!(
        b,
        r#"<form method="post" action="{action}" class="work-form"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="action" value="log"><div class="row"><label>{}<select name="kind">{kinds}</select></label><label>{}<select name="outcome">{outcomes}</select></label><label>{}<input type="date" name="date" value="{as_of}" required></label></div><label class="wide">{}<textarea name="note" rows="2" maxlength="4000"></textarea></label><fieldset><legend>{}</legend>{invoices}</fieldset><div class="row"><label>{}<input name="promise_amount" inputmode="decimal" placeholder="0.00"></label><label>{}<input type="date" name="promise_date"></label></div><div class="row"><label>{}<select name="dispute_reason">{reasons}</select></label><label>{}<input name="dispute_amount" inputmode="decimal" placeholder="{}"></label><label>{}<input name="dispute_owner" maxlength="500"></label></div><div class="row"><label>{}<input type="date" name="next_action"></label></div><button class="primary">{}</button></form>"#,
        l.t("Action", "Action"),
        l.t("Outcome", "Résultat"),
        l.t("Date", "Date"),
        l.t("Note", "Commentaire"),
        l.t("Invoices concerned", "Factures concernées"),
        l.t("Amount promised", "Montant promis"),
        l.t("Promised for", "Promis pour le"),
        l.t("Dispute reason", "Motif de litige"),
        l.t("Disputed amount", "Montant contesté"),
        l.t("whole invoices", "factures entières"),
        l.t("Dispute handled by", "Litige suivi par"),
        l.t("Next action on", "Prochaine action le"),
        l.t("Record", "Enregistrer"),
    );
    // The follow-up alone: not to contact before a date, the contact person.
    let v = |x: &Option<String>| esc(x.as_deref().unwrap_or(""));
    let _ = write!(
        b,
        r#"<form method="post" action="{action}" class="work-form"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="action" value="plan"><h3>{}</h3><div class="row"><label>{}<input type="date" name="hold_until"></label><label>{}<input name="hold_reason" maxlength="500"></label></div><div class="row"><label>{}<input name="contact_name" value="{}" maxlength="500"></label><label>{}<input name="contact_role" value="{}" maxlength="500"></label><label>{}<input type="email" name="contact_email" value="{}" maxlength="500"></label><label>{}<input type="tel" name="contact_phone" value="{}" maxlength="500"></label></div><button>{}</button></form>"#,
        l.t("Follow-up", "Suivi"),
        l.t("Do not contact before", "Ne pas contacter avant le"),
        l.t("Because", "Motif"),
        l.t("Contact", "Interlocuteur"),
        v(&fu.contact_name),
        l.t("Role", "Fonction"),
        v(&fu.contact_role),
        l.t("E-mail", "E-mail"),
        v(&fu.contact_email),
        l.t("Phone", "Téléphone"),
        v(&fu.contact_phone),
        l.t("Save", "Enregistrer"),
    );
    if manages {
        let options: String = collectors
            .iter()
            .map(|c| format!(r#"<option value="{}">"#, esc(c)))
            .collect();
        let _ = write!(
            b,
            r#"<form method="post" action="{action}" class="work-form"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="action" value="reassign"><h3>{}</h3><div class="row"><label>{}<input name="collector" list="collectors" required maxlength="500"></label><datalist id="collectors">{options}</datalist><label>{}<input type="date" name="date" value="{as_of}" required></label></div><button>{}</button></form>"#,
            l.t("Reassign", "Réaffecter"),
            l.t("Collector", "Chargé de recouvrement"),
            l.t("From", "À partir du"),
            l.t("Reassign", "Réaffecter"),
        );
    }
    // Open disputes, to resolve.
    let open: Vec<&str> = f
        .history
        .iter()
        .filter_map(|e| match e {
            Entry::Dispute {
                invoice_id,
                resolved_on: None,
                ..
            } => Some(invoice_id.as_str()),
            _ => None,
        })
        .collect();
    if !open.is_empty() {
        let disputed: String = open
            .iter()
            .map(|i| format!(r#"<option value="{v}">{v}</option>"#, v = esc(i)))
            .collect();
        let _ = write!(
            b,
            r#"<form method="post" action="{action}" class="work-form"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="action" value="resolve"><h3>{}</h3><div class="row"><label>{}<select name="invoice">{disputed}</select></label><label>{}<select name="resolution"><option value="justified">{}</option><option value="rejected">{}</option><option value="settled">{}</option></select></label><label>{}<input type="date" name="date" value="{as_of}" required></label></div><label class="wide">{}<textarea name="comment" rows="2" maxlength="4000"></textarea></label><button>{}</button></form>"#,
            l.t("Resolve a dispute", "Clore un litige"),
            l.t("Invoice", "Facture"),
            l.t("Resolution", "Issue"),
            l.t(
                "Justified: credit note expected",
                "Justifié : avoir attendu"
            ),
            l.t("Rejected", "Rejeté"),
            l.t("Settled", "Réglé"),
            l.t("Date", "Date"),
            l.t("Comment", "Commentaire"),
            l.t("Resolve", "Clore"),
        );
    }
    b.push_str("</section>");
    b
}
