//! Cash application pages and API: the review queue with each receipt's proposal, reasons and
//! candidates; accept, choose invoices, leave on a customer's account, not a customer receipt,
//! undo; the month's KPIs. Bank receipts belong to no portfolio until applied, so this is the
//! credit managers' (admin and manager roles) work; every form checks its CSRF token.

use crate::html::{Lang, esc, page};
use crate::{Caller, Shared, form_refused};
use arpilot_app::cash::{self, CashError, CashSettings, Choice, QueueItem};
use arpilot_core::Day;
use arpilot_core::snapshot::{
    CASH_APPLY, CASH_NOT_CUSTOMER, RECEIPT_APPLIED, RECEIPT_NOT_CUSTOMER,
};
use arpilot_store::UserStore;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use std::fmt::Write;

/// Most receipts the page and the API list at once.
const QUEUE_LIMIT: usize = 100;

fn allowed(caller: &Caller) -> bool {
    caller.role.sees_all()
}

fn forbidden(json: bool) -> Response {
    let msg = "cash application needs the admin or manager role";
    if json {
        (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": msg})),
        )
            .into_response()
    } else {
        (StatusCode::FORBIDDEN, msg).into_response()
    }
}

async fn settings(state: &Shared) -> CashSettings {
    CashSettings::from_settings(&state.store.settings().await.unwrap_or_default())
}

/// `as_of` and `from` of a query string (the queue's and the KPIs' dates).
fn dates(query: &RawQuery) -> Result<(Option<Day>, Option<Day>), String> {
    let mut as_of = None;
    let mut from = None;
    for (k, v) in form_urlencoded::parse(query.0.as_deref().unwrap_or("").as_bytes()) {
        // An empty value is the default, as for every date of the pages.
        if v.is_empty() {
            continue;
        }
        let d = || {
            Day::parse_iso(&v)
                .ok()
                .filter(|d| d.is_supported())
                .ok_or_else(|| format!("{k} {v:?}: expected a date YYYY-MM-DD from 1900 to 2199"))
        };
        match k.as_ref() {
            "as_of" => as_of = Some(d()?),
            "from" => from = Some(d()?),
            _ => {}
        }
    }
    Ok((as_of, from))
}

fn nav(caller: &Caller) -> crate::html::Nav<'_> {
    caller.nav("", "cash")
}

fn author(caller: &Caller) -> arpilot_app::Author {
    arpilot_app::Author {
        user: caller.user.login.clone(),
        entity: None,
        effective: arpilot_store::today(),
    }
}

/// `GET /cash`: the month's KPIs, the statement upload, the queue, the latest decisions.
pub async fn page_get(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    cash_page(&state, &caller, query, None).await
}

async fn cash_page(
    state: &Shared,
    caller: &Caller,
    query: RawQuery,
    message: Option<&str>,
) -> Response {
    if !allowed(caller) {
        return forbidden(false);
    }
    let l = caller.lang;
    let (as_of, _) = match dates(&query) {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let day = as_of.unwrap_or_else(arpilot_store::today);
    let snap = state.snapshot();
    let s = settings(state).await;
    let r = cash::report(&snap, day.month_start(), day);
    let items = cash::queue(&snap, day, s.config, l, true, QUEUE_LIMIT);
    let cur = snap.currency;
    let money = |v: &str| shown(v, l, cur);
    let pct = |x: Option<f64>| x.map_or("–".to_string(), |v| l.num(Some(v * 100.0), " %"));
    let csrf = esc(caller.csrf.as_deref().unwrap_or(""));
    let mut b = format!(
        "<h1>{} {}</h1>",
        l.t("Cash application on", "Lettrage des encaissements au"),
        l.date(day)
    );
    if let Some(m) = message {
        let _ = write!(b, r#"<p class="err" role="alert">{}</p>"#, esc(m));
    }
    let kpi = |label: &str, value: String| {
        format!(
            r#"<div class="kpi"><span>{}</span><b>{}</b></div>"#,
            esc(label),
            esc(&value)
        )
    };
    let _ = write!(
        b,
        r#"<section class="kpis" id="cash-kpis">{}{}{}{}{}{}</section>"#,
        kpi(
            l.t("Receipts this month", "Encaissements du mois"),
            format!("{} · {}", r.receipts, money(&r.receipts_amount))
        ),
        kpi(
            l.t("Matched automatically", "Lettrés automatiquement"),
            format!("{} · {}", pct(r.auto_rate), pct(r.auto_rate_amount))
        ),
        kpi(
            l.t("Matched within 3 days", "Lettrés sous 3 jours"),
            pct(r.matched_within_3_days)
        ),
        kpi(
            l.t("To apply", "À affecter"),
            format!("{} · {}", r.unapplied, money(&r.unapplied_amount))
        ),
        kpi(
            l.t(
                "Unapplied at month start, matched since",
                "Non affectés en début de mois, lettrés depuis"
            ),
            pct(r.opening_recovery_rate)
        ),
        kpi(
            l.t("On customers' accounts", "Sur comptes clients"),
            money(&r.on_account)
        ),
    );
    let _ = write!(
        b,
        r#"<section class="card"><h2>{}</h2><form method="post" action="/imports" enctype="multipart/form-data" class="bar-form"><input type="hidden" name="csrf" value="{csrf}"><label>{}<input type="file" name="file" required></label><button class="primary">{}</button></form><p class="muted">{}</p></section>"#,
        l.t("Import a bank statement", "Importer un relevé bancaire"),
        l.t(
            "camt.053/054, CFONB 120, MT940 or OFX",
            "camt.053/054, CFONB 120, MT940 ou OFX"
        ),
        l.t("Import and match", "Importer et lettrer"),
        l.t(
            "Receipts the engine is sure of are applied at once; the others wait below.",
            "Les encaissements dont le moteur est sûr sont lettrés aussitôt ; les autres attendent ci-dessous."
        ),
    );
    let waiting =
        arpilot_core::cash::waiting(&snap, day.0).len() + cash::unapplied_payments(&snap).len();
    let _ = write!(
        b,
        r#"<section class="card spaced"><h2>{} ({waiting})</h2>"#,
        l.t("Waiting for review", "À valider"),
    );
    if waiting > items.len() {
        let _ = write!(
            b,
            r#"<p class="muted">{} {}.</p>"#,
            l.t(
                "The oldest first; shown:",
                "Les plus anciens d'abord ; affichés :"
            ),
            items.len()
        );
    }
    if items.is_empty() {
        let _ = write!(
            b,
            r#"<p class="muted" id="queue-empty">{}</p>"#,
            l.t(
                "Nothing waits: every receipt is applied.",
                "Rien n'attend : tous les encaissements sont affectés."
            )
        );
    }
    b.push_str(r#"<div id="queue">"#);
    for it in &items {
        b += &queue_item(it, l, &csrf, cur);
    }
    b.push_str("</div></section>");
    b += &recent(&snap, l, &csrf, &money);
    Html(page(
        l,
        l.t("Cash application", "Lettrage"),
        &nav(caller),
        &b,
    ))
    .into_response()
}

/// A rule of the engine in words.
fn rule_words(rule: &str, l: Lang) -> &'static str {
    match rule {
        "creditor_reference" => l.t(
            "our structured reference (RF)",
            "notre référence structurée (RF)",
        ),
        "invoice_number" => l.t("invoice number", "numéro de facture"),
        "exact_amount" => l.t("payer and exact amount", "payeur et montant exact"),
        "combination" => l.t("payer and several invoices", "payeur et plusieurs factures"),
        "tolerance" => l.t("payer, amount less fees", "payeur, montant moins frais"),
        "oldest_first" => l.t(
            "payer, oldest invoices first",
            "payeur, factures les plus anciennes",
        ),
        "manual" => l.t("by hand", "à la main"),
        _ => l.t("nothing found", "rien trouvé"),
    }
}

/// An amount of the queue (`1234.56`) in the page's language.
fn shown(text: &str, l: Lang, cur: arpilot_core::Currency) -> String {
    arpilot_core::money::parse_minor(text, cur.decimals())
        .map(|v| l.money(arpilot_core::Money::new(v, cur)))
        .unwrap_or_else(|_| text.to_string())
}

/// An amount to edit, with the language's decimal mark (either is read back).
fn editable(text: &str, l: Lang) -> String {
    if l == Lang::Fr {
        text.replace('.', ",")
    } else {
        text.to_string()
    }
}

fn queue_item(it: &QueueItem, l: Lang, csrf: &str, cur: arpilot_core::Currency) -> String {
    let id = esc(&it.receipt_id);
    let action = format!("/cash/{}", crate::html::q(&it.receipt_id));
    let date = Day::parse_iso(&it.date).map_or(it.date.clone(), |d| l.date(d));
    let mut b = format!(
        r#"<article class="receipt" data-receipt="{id}"><div class="receipt-head"><b>{}</b><span>{}</span><span>{}</span><span class="muted">{}</span></div>"#,
        esc(&shown(&it.amount, l, cur)),
        esc(&date),
        esc(it.payer_name.as_deref().unwrap_or("?")),
        esc(it.payer_iban.as_deref().unwrap_or("")),
    );
    if let Some(t) = it
        .remittance
        .as_deref()
        .or(it.creditor_reference.as_deref())
    {
        let _ = write!(b, r#"<p class="remit">« {} »</p>"#, esc(t));
    }
    let reasons: String = it
        .reasons
        .iter()
        .map(|r| format!("<li>{}</li>", esc(r)))
        .collect();
    let _ = write!(
        b,
        r#"<p class="muted">{} <b>{}</b> · {} {} %</p><ul class="reasons">{reasons}</ul>"#,
        l.t("Rule", "Règle"),
        rule_words(&it.rule, l),
        l.t("confidence", "confiance"),
        it.confidence
    );
    // One form: tick invoices (the proposal's ticked), amounts editable; the buttons say what to
    // do with it.
    let _ = write!(
        b,
        r#"<form method="post" action="{action}" class="work-form"><input type="hidden" name="csrf" value="{csrf}"><div class="row"><label>{}<input name="customer_id" value="{}" size="14"></label><label>{}<input name="write_off" value="" size="8" placeholder="0.00"></label></div><table class="candidates"><thead><tr><th></th><th>{}</th><th>{}</th><th>{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        l.t("Customer", "Client"),
        esc(it.customer_id.as_deref().unwrap_or("")),
        l.t("Write-off", "Perte"),
        l.t("Invoice", "Facture"),
        l.t("Customer", "Client"),
        l.t("Due", "Échéance"),
        l.t("Open", "Reste dû"),
        l.t("Apply", "Affecter"),
    );
    // The proposal, then a few other invoices to choose from.
    for (inv, ticked) in it
        .proposal
        .iter()
        .map(|i| (i, true))
        .chain(it.candidates.iter().take(5).map(|i| (i, false)))
    {
        let amount = editable(if ticked { &inv.apply } else { &inv.open }, l);
        let due = Day::parse_iso(&inv.due_date).map_or(inv.due_date.clone(), |d| l.date(d));
        let _ = write!(
            b,
            r#"<tr><td><input type="checkbox" name="invoice" value="{}" aria-label="{}"{}></td><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td class="n"><input name="amount_{}" value="{}" size="9" aria-label="{} {}"></td></tr>"#,
            esc(&inv.invoice_id),
            esc(&inv.invoice_id),
            if ticked { " checked" } else { "" },
            esc(&inv.invoice_id),
            esc(&inv.customer_name),
            esc(&due),
            esc(&shown(&inv.open, l, cur)),
            esc(&inv.invoice_id),
            esc(&amount),
            l.t("Amount to apply to", "Montant à affecter à"),
            esc(&inv.invoice_id),
        );
    }
    let _ = write!(
        b,
        r#"</tbody></table><div class="row"><button class="primary" name="decision" value="apply">{}</button><button class="secondary" name="decision" value="not_customer">{}</button></div></form></article>"#,
        l.t(
            "Apply to the ticked invoices (none: on the customer's account)",
            "Affecter aux factures cochées (aucune : sur le compte du client)"
        ),
        l.t("Not a customer receipt", "Pas un règlement client"),
    );
    b
}

/// The latest decisions, each with its undo button.
fn recent(
    snap: &arpilot_core::Snapshot,
    l: Lang,
    csrf: &str,
    money: &dyn Fn(&str) -> String,
) -> String {
    let mut b = format!(
        r#"<section class="card spaced"><h2>{}</h2><table id="decisions"><thead><tr><th>{}</th><th>{}</th><th class="n">{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        l.t("Latest decisions", "Dernières décisions"),
        l.t("Decided", "Décidé le"),
        l.t("Receipt", "Encaissement"),
        l.t("Amount", "Montant"),
        l.t("Customer", "Client"),
        l.t("Rule", "Règle"),
        l.t("By", "Par"),
    );
    let dec = snap.currency.decimals();
    let mut n = 0;
    for row in snap.cash.iter().rev() {
        if n == 20 {
            break;
        }
        if row.receipt == u32::MAX || !matches!(row.kind, CASH_APPLY | CASH_NOT_CUSTOMER) {
            continue;
        }
        let r = row.receipt as usize;
        let state = snap.receipts.state[r];
        // Only the decision in effect can be undone.
        if !(state == RECEIPT_APPLIED && row.kind == CASH_APPLY
            || state == RECEIPT_NOT_CUSTOMER && row.kind == CASH_NOT_CUSTOMER)
            || snap.receipts.decided[r] != row.day
        {
            continue;
        }
        n += 1;
        let info = &snap.receipts.info[r];
        let customer = if row.source == u32::MAX {
            l.t("not a customer's", "hors clients").to_string()
        } else {
            let c = snap.sources.customer[row.source as usize];
            snap.customers.names[c as usize].clone()
        };
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td>{}<br><small class="muted">{}</small></td><td class="n">{}</td><td>{}</td><td>{} ({} %)</td><td>{}</td><td><form method="post" action="/cash/{}"><input type="hidden" name="csrf" value="{csrf}"><button class="secondary" name="decision" value="undo">{}</button></form></td></tr>"#,
            l.date(Day(row.day)),
            esc(info.payer_name.as_deref().unwrap_or("?")),
            esc(&info.id),
            money(&arpilot_core::money::format_minor(
                snap.receipts.amount[r],
                dec
            )),
            esc(&customer),
            rule_words(
                arpilot_core::ledger::CASH_RULES
                    .get(row.rule as usize)
                    .copied()
                    .unwrap_or("manual"),
                l
            ),
            row.confidence,
            if row.author == 0 {
                l.t("engine", "moteur").to_string()
            } else {
                esc(snap.agents.value(row.author))
            },
            crate::html::q(&info.id),
            l.t("Undo", "Annuler"),
        );
    }
    if n == 0 {
        let _ = write!(
            b,
            r#"<tr><td colspan="7" class="muted">{}</td></tr>"#,
            l.t("No decision yet.", "Aucune décision pour l'instant.")
        );
    }
    b.push_str("</tbody></table></section>");
    b
}

/// A decision from form pairs or a JSON body (`decision`, `customer_id`, `invoice` ids with
/// `amount_{id}`, `write_off`).
fn choice_of(pairs: &[(String, String)], decimals: u8) -> Result<Choice, (String, String)> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let amount = |field: String, v: &str| {
        cash::parse_amount(v, decimals)
            .ok()
            .filter(|a| *a >= 0)
            .ok_or_else(|| (field, format!("{v:?}: expected an amount like 1234.56")))
    };
    Ok(match get("decision").as_deref() {
        Some("accept") => Choice::Accept,
        Some("not_customer") => Choice::NotCustomer,
        Some("undo") => Choice::Undo,
        Some("apply") => {
            let customer_id = get("customer_id").ok_or_else(|| {
                (
                    "customer_id".to_string(),
                    "expected the customer the receipt comes from".to_string(),
                )
            })?;
            let mut invoices = Vec::new();
            for (_, inv) in pairs.iter().filter(|(k, _)| k == "invoice") {
                let key = format!("amount_{inv}");
                let a = get(&key)
                    .ok_or_else(|| (key.clone(), "expected the amount to apply".to_string()))?;
                invoices.push((inv.clone(), amount(key, &a)?));
            }
            let write_off = match get("write_off") {
                Some(w) => amount("write_off".into(), &w)?,
                None => 0,
            };
            if invoices.is_empty() {
                Choice::OnAccount { customer_id }
            } else {
                Choice::Apply {
                    customer_id,
                    invoices,
                    write_off,
                }
            }
        }
        other => {
            return Err((
                "decision".into(),
                format!(
                    "{:?}: expected accept, apply, not_customer or undo",
                    other.unwrap_or("")
                ),
            ));
        }
    })
}

async fn decide(
    state: &Shared,
    caller: &Caller,
    id: &str,
    pairs: &[(String, String)],
    source: &str,
) -> Result<arpilot_app::cash::Decided, (StatusCode, String, String)> {
    let dec = state.snapshot().currency.decimals();
    let choice = choice_of(pairs, dec).map_err(|(f, m)| (StatusCode::BAD_REQUEST, f, m))?;
    let s = settings(state).await;
    let r = cash::decide(
        &state.views,
        &state.store,
        id,
        &choice,
        &author(caller),
        source,
        s.config,
    )
    .await;
    match r {
        Ok(d) => {
            state.changed();
            Ok(d)
        }
        Err(CashError::Invalid { field, message }) => {
            Err((StatusCode::BAD_REQUEST, field, message))
        }
        Err(e @ CashError::Unknown(_)) => {
            Err((StatusCode::NOT_FOUND, "receipt_id".into(), e.to_string()))
        }
        Err(e) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "store".into(),
            e.to_string(),
        )),
    }
}

/// `POST /cash/{id}`: a decision from the page; back to the page, or the page with the reason.
pub async fn post_form(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let sent = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    if let Some(r) = form_refused(&caller, &headers, sent) {
        return r;
    }
    if !allowed(&caller) {
        return forbidden(false);
    }
    match decide(&state, &caller, &id, &pairs, "page").await {
        Ok(_) => Redirect::to("/cash").into_response(),
        Err((status, field, message)) => {
            let page = cash_page(
                &state,
                &caller,
                RawQuery(None),
                Some(&format!("{field}: {message}")),
            )
            .await;
            (status, page).into_response()
        }
    }
}

/// `POST /api/cash/{id}`: `{"decision": "accept" | "apply" | "not_customer" | "undo",
/// "customer_id": "C1", "invoices": [{"invoice_id": "F1", "amount": "100.00"}],
/// "write_off": "0.50"}`.
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
    if !allowed(&caller) {
        return forbidden(true);
    }
    let bad = |field: &str, message: String| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": message, "field": field})),
        )
            .into_response()
    };
    let Some(o) = body.as_object() else {
        return bad("body", "expected a JSON object".into());
    };
    let mut pairs = Vec::new();
    for (k, v) in o {
        match (k.as_str(), v) {
            ("decision" | "customer_id" | "write_off", serde_json::Value::String(s)) => {
                pairs.push((k.clone(), s.clone()))
            }
            ("invoices", serde_json::Value::Array(a)) => {
                for x in a {
                    let (Some(i), Some(amount)) = (
                        x.get("invoice_id").and_then(|v| v.as_str()),
                        x.get("amount").and_then(|v| v.as_str()),
                    ) else {
                        return bad(
                            "invoices",
                            "expected objects {\"invoice_id\": \"F1\", \"amount\": \"100.00\"}"
                                .into(),
                        );
                    };
                    pairs.push(("invoice".into(), i.to_string()));
                    pairs.push((format!("amount_{i}"), amount.to_string()));
                }
            }
            _ => {
                return bad(
                    k,
                    format!(
                        "{k:?}: expected decision, customer_id, invoices or write_off (text values)"
                    ),
                );
            }
        }
    }
    match decide(&state, &caller, &id, &pairs, "api").await {
        Ok(d) => Json(d).into_response(),
        Err((status, field, message)) => (
            status,
            Json(serde_json::json!({"error": message, "field": field})),
        )
            .into_response(),
    }
}

/// The API's check: an admin or manager, and `as_of` and `from` read (403, 400 otherwise).
fn api_dates(
    caller: &Caller,
    query: &RawQuery,
) -> Result<(Option<Day>, Option<Day>), Box<Response>> {
    if !allowed(caller) {
        return Err(Box::new(forbidden(true)));
    }
    dates(query).map_err(|e| {
        Box::new(
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": e})),
            )
                .into_response(),
        )
    })
}

/// `GET /api/cash/queue?as_of=D`: what waits for review, with proposals and candidates.
pub async fn api_queue(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (as_of, _) = match api_dates(&caller, &query) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let day = as_of.unwrap_or_else(arpilot_store::today);
    let s = settings(&state).await;
    Json(cash::queue(
        &state.snapshot(),
        day,
        s.config,
        caller.lang,
        true,
        QUEUE_LIMIT,
    ))
    .into_response()
}

/// `GET /api/cash/report?from=D&as_of=D`: the cash-application KPIs of the period (default: the
/// month to date).
pub async fn api_report(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (as_of, from) = match api_dates(&caller, &query) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let to = as_of.unwrap_or_else(arpilot_store::today);
    let from = from.unwrap_or_else(|| to.month_start());
    if from > to {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": format!("from {from}: expected a date on or before {to}")})),
        )
            .into_response();
    }
    Json(cash::report(&state.snapshot(), from, to)).into_response()
}
