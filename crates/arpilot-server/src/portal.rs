//! The customer portal, reached without signing in from the signed link of a reminder
//! (`/portal/{token}`, see `arpilot_app::portal`): the customer's open invoices, the total, how
//! to pay and the statement with its EPC QR code; a promise to pay, a dispute, a satisfaction
//! rating — recorded in the ledger as the collectors' work is, by `portal`.
//!
//! A token that is altered, expired or of a customer no longer in the ledger answers 404 with
//! no hint. Only the token's customer is reachable: every invoice posted must be one of its
//! invoices. Forms carry a token derived from the link and the ledger's secret (there is no
//! session) and must come from this site; every route is rate-limited per client address.

use crate::html::{Lang, esc};
use crate::{Shared, same_origin};
use arpilot_app::statement::{self, Company, Statement};
use arpilot_app::work::{self, RecordError};
use arpilot_core::Day;
use arpilot_core::ledger::{ActionRec, Event};
use arpilot_core::select::Selection;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// Requests a client address may make a minute on each portal route: pages, forms.
const PAGES_PER_MINUTE: u32 = 60;
const POSTS_PER_MINUTE: u32 = 10;

/// A valid link: whose portal it opens.
struct Opened {
    customer_id: String,
    row: u32,
    lang: Lang,
    secret: String,
    company: Company,
    /// The ledger's last date: the portal's today.
    today: Day,
}

/// The answer to anything wrong with a link: the same for every reason.
fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(
            r#"<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>404</title><link rel="stylesheet" href="/static/app.css"></head><body><main class="portal"><h1>404</h1><p>Page introuvable · Page not found</p></main></body></html>"#,
        ),
    )
        .into_response()
}

/// `None` when the client may go on; else 429 with `Retry-After`.
fn limited(state: &Shared, peer: &SocketAddr, route: &str, limit: u32) -> Option<Response> {
    let key = format!("portal:{}:{route}", peer.ip());
    let wait = state.throttle.rate(&key, limit, Duration::from_secs(60))?;
    let secs = wait.as_secs() + 1;
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests: try again later",
    )
        .into_response();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&secs.to_string()).expect("digits"),
    );
    Some(r)
}

async fn open(state: &Shared, token: &str) -> Option<Opened> {
    let pairs = arpilot_store::UserStore::settings(&state.store)
        .await
        .ok()?;
    let secret = pairs
        .iter()
        .find(|(k, _)| k == arpilot_app::portal::SECRET_KEY)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())?;
    let today = state.views.latest();
    let customer_id = arpilot_app::portal::verify(&secret, token, today)?;
    let snap = state.snapshot();
    let row = snap.customers.ids.find(&customer_id)?;
    Some(Opened {
        lang: arpilot_app::dunning::language_of(&snap, row),
        customer_id,
        row,
        secret,
        company: Company::from_settings(&pairs),
        today,
    })
}

/// The forms' token of a link: a hash of the link under the ledger's secret.
fn form_token(o: &Opened, token: &str) -> String {
    crate::auth::sha256_hex(&format!("arpilot-portal-form\0{}\0{token}", o.secret))
}

fn form_ok(o: &Opened, token: &str, sent: &str, headers: &HeaderMap) -> bool {
    let want = form_token(o, token);
    same_origin(headers)
        && want.len() == sent.len()
        && want
            .bytes()
            .zip(sent.bytes())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            == 0
}

fn statement_of(state: &Shared, o: &Opened) -> Option<Statement> {
    statement::statement(
        &state.snapshot(),
        &Selection::all(),
        &o.customer_id,
        o.today,
        o.company.clone(),
    )
}

fn layout(l: Lang, company: &str, title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>{} · {}</title><link rel="stylesheet" href="/static/app.css"></head><body><header><span class="brand">{}</span></header><main class="portal">{body}</main></body></html>"#,
        l.code(),
        esc(title),
        esc(company),
        esc(company),
        body = crate::html::date_inputs(l, body),
    )
}

/// The thank-you words of `?thanks=`, fixed words only.
fn thanks(query: &RawQuery, l: Lang) -> Option<&'static str> {
    let v = form_urlencoded::parse(query.0.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "thanks")?
        .1;
    Some(match v.as_ref() {
        "promise" => l.t(
            "Thank you: your payment date is recorded.",
            "Merci : votre date de paiement est enregistrée.",
        ),
        "dispute" => l.t(
            "Thank you: your dispute is recorded; our team will come back to you.",
            "Merci : votre contestation est enregistrée ; notre équipe revient vers vous.",
        ),
        "rating" => l.t("Thank you for your rating.", "Merci pour votre avis."),
        _ => return None,
    })
}

fn portal_page(
    state: &Shared,
    o: &Opened,
    token: &str,
    status: StatusCode,
    thank: Option<&str>,
    error: Option<&str>,
) -> Response {
    let Some(st) = statement_of(state, o) else {
        return not_found();
    };
    let l = o.lang;
    let ft = form_token(o, token);
    let base = format!("/portal/{}", esc(token));
    let mut b = format!(
        r#"<h1>{}</h1><p class="muted">{} {} · {} {}</p>"#,
        esc(&st.customer_name),
        l.t("Customer", "Client"),
        esc(&st.customer_id),
        l.t("Account as of", "Compte au"),
        l.date(st.as_of),
    );
    if let Some(t) = thank {
        let _ = write!(
            b,
            r#"<p class="ok" role="status" id="thanks">{}</p>"#,
            esc(t)
        );
    }
    if let Some(e) = error {
        let _ = write!(b, r#"<p class="err" role="alert">{}</p>"#, esc(e));
    }
    // Open invoices and the total.
    let _ = write!(
        b,
        r#"<section class="card"><h2>{}</h2><table id="invoices"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        l.t("Open invoices", "Factures ouvertes"),
        l.t("Invoice", "Facture"),
        l.t("Issued", "Émise le"),
        l.t("Due", "Échéance"),
        l.t("Days late", "Jours de retard"),
        l.t("Open", "Reste dû"),
    );
    for it in &st.items {
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&it.invoice_id),
            l.date(it.issue),
            l.date(it.due),
            if it.days_overdue > 0 {
                it.days_overdue.to_string()
            } else {
                String::new()
            },
            esc(&l.money(it.open)),
        );
    }
    if st.items.is_empty() {
        let _ = write!(
            b,
            r#"<tr><td colspan="5" class="muted">{}</td></tr>"#,
            l.t("No open invoice.", "Aucune facture ouverte.")
        );
    }
    if st.unapplied.is_positive() {
        let _ = write!(
            b,
            r#"<tr><td colspan="4">{}</td><td class="n">−{}</td></tr>"#,
            l.t("Unapplied payments", "Règlements non affectés"),
            esc(&l.money(st.unapplied)),
        );
    }
    let _ = write!(
        b,
        r#"</tbody><tfoot><tr><th colspan="4">{}</th><th class="n" id="total">{}</th></tr></tfoot></table></section>"#,
        l.t("Total due", "Total dû"),
        esc(&l.money(st.total)),
    );
    // How to pay.
    let _ = write!(
        b,
        r#"<section class="card spaced" id="pay"><h2>{}</h2><p>{} <b>{}</b></p>"#,
        l.t("How to pay", "Comment payer"),
        l.t("Transfer to", "Virement à l'ordre de"),
        esc(&st.company.name),
    );
    if let Some(i) = &st.company.iban {
        let grouped: Vec<String> = i
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let _ = write!(b, "<p>IBAN <b>{}</b>", esc(&grouped.join(" ")));
        if let Some(bic) = &st.company.bic {
            let _ = write!(b, " · BIC <b>{}</b>", esc(bic));
        }
        b.push_str("</p>");
    }
    if let Some(r) = &st.reference {
        let _ = write!(
            b,
            r#"<p>{} <b id="reference">{}</b></p>"#,
            l.t(
                "Reference to quote on your transfer:",
                "Référence à rappeler sur votre virement :"
            ),
            esc(r)
        );
    }
    let _ = write!(
        b,
        r#"<p><a href="{base}/statement.pdf">{}</a></p></section>"#,
        l.t(
            "Your statement with its QR code to pay from your banking app (PDF)",
            "Votre relevé avec son QR code pour payer depuis votre application bancaire (PDF)"
        ),
    );
    if !st.items.is_empty() {
        let checks: String = st
            .items
            .iter()
            .map(|it| {
                format!(
                    r#"<label class="check"><input type="checkbox" name="invoice" value="{v}"> {v} · {}</label>"#,
                    esc(&l.money(it.open)),
                    v = esc(&it.invoice_id),
                )
            })
            .collect();
        let options: String = st
            .items
            .iter()
            .map(|it| {
                format!(
                    r#"<option value="{v}">{v}</option>"#,
                    v = esc(&it.invoice_id)
                )
            })
            .collect();
        let reasons: String = work::DISPUTE_REASONS
            .iter()
            .map(|r| format!(r#"<option value="{r}">{}</option>"#, reason_words(r, l)))
            .collect();
        let _ = write!(
            b,
            r#"<section class="card spaced"><h2>{}</h2><form method="post" action="{base}/promise" class="work-form" id="promise"><input type="hidden" name="csrf" value="{ft}"><fieldset><legend>{}</legend>{checks}</fieldset><div class="row"><label>{}<input name="amount" inputmode="decimal" required placeholder="0.00"></label><label>{}<input type="date" name="date" min="{}" required></label></div><button class="primary">{}</button></form></section>"#,
            l.t(
                "Tell us when you will pay",
                "Indiquez-nous quand vous paierez"
            ),
            l.t("Invoices", "Factures"),
            l.t("Amount", "Montant"),
            l.t("Payment date", "Date de paiement"),
            o.today,
            l.t("Send", "Envoyer"),
        );
        let _ = write!(
            b,
            r#"<section class="card spaced"><h2>{}</h2><form method="post" action="{base}/dispute" class="work-form" id="dispute"><input type="hidden" name="csrf" value="{ft}"><div class="row"><label>{}<select name="invoice">{options}</select></label><label>{}<select name="reason">{reasons}</select></label></div><label class="wide">{}<textarea name="comment" rows="3" maxlength="2000"></textarea></label><button class="secondary">{}</button></form></section>"#,
            l.t("Dispute an invoice", "Contester une facture"),
            l.t("Invoice", "Facture"),
            l.t("Reason", "Motif"),
            l.t("Comment", "Commentaire"),
            l.t("Send", "Envoyer"),
        );
    }
    let stars: String = (1..=5)
        .map(|n| {
            format!(r#"<label class="check"><input type="radio" name="rating" value="{n}" required> {n}</label>"#)
        })
        .collect();
    let _ = write!(
        b,
        r#"<section class="card spaced"><h2>{}</h2><form method="post" action="{base}/rating" class="work-form" id="rating"><input type="hidden" name="csrf" value="{ft}"><div class="row">{stars}</div><button class="secondary">{}</button></form></section>"#,
        l.t(
            "How satisfied are you with our service? (1 to 5)",
            "Êtes-vous satisfait de notre service ? (1 à 5)"
        ),
        l.t("Send", "Envoyer"),
    );
    (
        status,
        Html(layout(
            l,
            &o.company.name,
            l.t("Your account", "Votre compte"),
            &b,
        )),
    )
        .into_response()
}

fn reason_words(r: &str, l: Lang) -> &'static str {
    match r {
        "prix" => l.t("Price", "Prix"),
        "quantité" => l.t("Quantity", "Quantité"),
        "livraison" => l.t("Delivery", "Livraison"),
        "qualité" => l.t("Quality", "Qualité"),
        "facturation" => l.t("Invoicing", "Facturation"),
        _ => l.t("Other", "Autre"),
    }
}

/// `GET /portal/{token}`.
pub async fn page(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    query: RawQuery,
) -> Response {
    if let Some(r) = limited(&state, &peer, "page", PAGES_PER_MINUTE) {
        return r;
    }
    let Some(o) = open(&state, &token).await else {
        return not_found();
    };
    let thank = thanks(&query, o.lang);
    portal_page(&state, &o, &token, StatusCode::OK, thank, None)
}

/// `GET /portal/{token}/statement.pdf`: the statement with its EPC QR code.
pub async fn statement_pdf(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Response {
    if let Some(r) = limited(&state, &peer, "statement", PAGES_PER_MINUTE) {
        return r;
    }
    let Some(o) = open(&state, &token).await else {
        return not_found();
    };
    let Some(st) = statement_of(&state, &o) else {
        return not_found();
    };
    let name: String = o
        .customer_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    crate::pdf_download(
        &format!("{}-{name}-{}.pdf", o.lang.t("statement", "releve"), o.today),
        statement::pdf(&st, o.lang),
    )
}

/// What each form of the portal posts, opened and checked: the link, its forms' token and
/// origin, the rate. `Err` is the answer.
async fn posted(
    state: &Shared,
    peer: &SocketAddr,
    route: &str,
    token: &str,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Opened, Response> {
    if let Some(r) = limited(state, peer, route, POSTS_PER_MINUTE) {
        return Err(r);
    }
    let o = open(state, token).await.ok_or_else(not_found)?;
    let sent = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    if !form_ok(&o, token, sent, headers) {
        return Err((StatusCode::FORBIDDEN, "invalid form token").into_response());
    }
    Ok(o)
}

fn one<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(x, v)| x == k && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

fn author() -> arpilot_app::Author {
    arpilot_app::Author {
        user: "portal".into(),
        entity: None,
        effective: arpilot_store::today(),
    }
}

fn thanked(token: &str, what: &str) -> Response {
    Redirect::to(&format!("/portal/{token}?thanks={what}")).into_response()
}

fn field_words(l: Lang, f: &str) -> &'static str {
    match f {
        "promise_amount" => l.t("Amount", "Montant"),
        "promise_date" => l.t("Payment date", "Date de paiement"),
        "invoice" => l.t("Invoices", "Factures"),
        "dispute_reason" => l.t("Reason", "Motif"),
        "rating" => l.t("Rating", "Note"),
        _ => l.t("Form", "Formulaire"),
    }
}

/// Records `pairs` (built here, never the client's fields as they came) as the portal's work on
/// the link's customer; the page again with the reason when refused.
async fn record(
    state: &Shared,
    o: &Opened,
    token: &str,
    pairs: Vec<(String, String)>,
    what: &str,
) -> Response {
    let l = o.lang;
    let refused = |field: &str, msg: &str| {
        portal_page(
            state,
            o,
            token,
            StatusCode::BAD_REQUEST,
            None,
            Some(&match l {
                Lang::Fr => format!("{} : {msg}", field_words(l, field)),
                Lang::En => format!("{}: {msg}", field_words(l, field)),
            }),
        )
    };
    // Only the link's customer's invoices (work::record checks it too).
    {
        let snap = state.snapshot();
        for (_, id) in pairs.iter().filter(|(k, _)| k == "invoice") {
            let ours = snap
                .invoices
                .ids
                .find(id)
                .is_some_and(|i| snap.invoices.customer[i as usize] == o.row);
            if !ours {
                return refused(
                    "invoice",
                    l.t("not one of your invoices", "pas une de vos factures"),
                );
            }
        }
    }
    let w = match work::parse(&pairs, o.today, state.snapshot().currency) {
        Ok(w) => w,
        Err(e) => return refused(&e.field, &e.message),
    };
    match work::record(
        &state.views,
        &state.store,
        &o.customer_id,
        &w,
        &author(),
        "portal",
    )
    .await
    {
        Ok(_) => {
            state.changed();
            thanked(token, what)
        }
        Err(RecordError::Invalid(e)) => refused(&e.field, &e.message),
        Err(RecordError::Store(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the request could not be recorded; try again",
        )
            .into_response(),
    }
}

/// `POST /portal/{token}/promise`: `amount`, `date`, `invoice` (repeated).
pub async fn promise(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let o = match posted(&state, &peer, "promise", &token, &headers, &pairs).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let l = o.lang;
    let (Some(amount), Some(date)) = (one(&pairs, "amount"), one(&pairs, "date")) else {
        return portal_page(
            &state,
            &o,
            &token,
            StatusCode::BAD_REQUEST,
            None,
            Some(l.t(
                "Give the amount and the date of your payment.",
                "Indiquez le montant et la date de votre paiement.",
            )),
        );
    };
    let mut w: Vec<(String, String)> = vec![
        ("kind".into(), "email".into()),
        ("outcome".into(), "promise".into()),
        ("note".into(), "portail client".into()),
        ("date".into(), o.today.to_string()),
        ("promise_amount".into(), amount.to_string()),
        ("promise_date".into(), date.to_string()),
    ];
    w.extend(
        pairs
            .iter()
            .filter(|(k, v)| k == "invoice" && !v.trim().is_empty())
            .take(500)
            .map(|(_, v)| ("invoice".to_string(), v.trim().to_string())),
    );
    record(&state, &o, &token, w, "promise").await
}

/// `POST /portal/{token}/dispute`: `invoice`, `reason`, `comment`.
pub async fn dispute(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let o = match posted(&state, &peer, "dispute", &token, &headers, &pairs).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(invoice) = one(&pairs, "invoice") else {
        return portal_page(
            &state,
            &o,
            &token,
            StatusCode::BAD_REQUEST,
            None,
            Some(o.lang.t(
                "Choose the invoice you dispute.",
                "Choisissez la facture contestée.",
            )),
        );
    };
    // The reasons offered; anything else is "autre".
    let reason = one(&pairs, "reason")
        .filter(|r| work::DISPUTE_REASONS.contains(r))
        .unwrap_or("autre");
    let note = match one(&pairs, "comment") {
        Some(c) => format!(
            "portail client : {}",
            c.chars().take(2_000).collect::<String>()
        ),
        None => "portail client".into(),
    };
    let w: Vec<(String, String)> = vec![
        ("kind".into(), "email".into()),
        ("outcome".into(), "dispute".into()),
        ("note".into(), note),
        ("date".into(), o.today.to_string()),
        ("invoice".into(), invoice.to_string()),
        ("dispute_reason".into(), reason.to_string()),
    ];
    record(&state, &o, &token, w, "dispute").await
}

/// `POST /portal/{token}/rating`: `rating` from 1 to 5, an action `survey` of the customer.
pub async fn rating(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let o = match posted(&state, &peer, "rating", &token, &headers, &pairs).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let Some(n) = one(&pairs, "rating")
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|n| (1..=5).contains(n))
    else {
        return portal_page(
            &state,
            &o,
            &token,
            StatusCode::BAD_REQUEST,
            None,
            Some(o.lang.t(
                "Choose a rating from 1 to 5.",
                "Choisissez une note de 1 à 5.",
            )),
        );
    };
    let ev = Event::Action(ActionRec {
        customer_id: o.customer_id.clone(),
        date: o.today,
        kind: arpilot_core::dunning::SURVEY_KIND.into(),
        invoice_id: None,
        agent: Some("portal".into()),
        note: Some(arpilot_core::dunning::satisfaction_note(n)),
        outcome: None,
    });
    let batch = arpilot_store::NewBatch::for_import(
        "portal".into(),
        String::new(),
        "work",
        None,
        "portal".into(),
    );
    match state
        .views
        .append_exact(&state.store, &batch, vec![ev])
        .await
    {
        Ok(_) => {
            state.changed();
            thanked(&token, "rating")
        }
        Err(e) => {
            eprintln!("arpilot: portal rating refused: {e:?}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the rating could not be recorded; try again",
            )
                .into_response()
        }
    }
}
