//! The imports page: upload an export (any format `arpilot import` reads, with an optional
//! mapping), see its summary or its errors, and the history of import batches.

use crate::html::{Lang, esc, page};
use crate::{Caller, Shared, csrf_ok, same_origin};
use arpilot_store::LedgerStore;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;

/// Largest upload (the CLI reads bigger files).
pub const MAX_UPLOAD: usize = 256 << 20;

fn nav(caller: &Caller) -> crate::html::Nav<'_> {
    caller.nav("", "imports")
}

async fn history(state: &Shared, l: Lang) -> String {
    let mut b = format!(
        r#"<section class="card spaced"><h2>{}</h2><table id="batches"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th>{}</th></tr></thead><tbody>"#,
        l.t("Import history", "Historique des imports"),
        l.t("When", "Quand"),
        l.t("Source", "Source"),
        l.t("Format", "Format"),
        l.t("Rows", "Lignes"),
        l.t("Appended", "Ajoutés"),
        l.t("Amended", "Modifiés"),
        l.t("Warnings", "Avertissements"),
        l.t("By", "Par"),
    );
    let batches = state.store.batches().await.unwrap_or_default();
    for x in batches.iter().rev().take(50) {
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            x.id,
            esc(&x.imported_at),
            esc(&x.source),
            esc(&x.format),
            x.counts.rows_read,
            x.counts.appended,
            x.counts.amended,
            x.warnings,
            esc(&x.imported_by)
        );
    }
    b.push_str("</tbody></table></section>");
    b
}

fn form(caller: &Caller, l: Lang) -> String {
    format!(
        r#"<section class="card"><h2>{}</h2><form id="upload" method="post" action="/imports" enctype="multipart/form-data" class="bar-form"><input type="hidden" name="csrf" value="{}"><label>{}<input type="file" name="file" required></label><label>{}<input type="file" name="mapping" accept=".toml"></label><label>{}<input name="entity" placeholder="FR01"></label><button class="primary">{}</button></form><progress id="progress" max="100" value="0" hidden></progress><p class="muted">{}</p></section>"#,
        l.t("Import a file", "Importer un fichier"),
        esc(caller.csrf.as_deref().unwrap_or("")),
        l.t("File (CSV, XLSX, FEC, Factur-X, UBL, CII, bank statement)", "Fichier (CSV, XLSX, FEC, Factur-X, UBL, CII, relevé bancaire)"),
        l.t("Mapping (optional, .toml)", "Correspondance (facultative, .toml)"),
        l.t("Entity (optional)", "Société (facultatif)"),
        l.t("Import", "Importer"),
        l.t(
            "The format is recognised from the content; importing the same file again changes nothing.",
            "Le format est reconnu d'après le contenu ; réimporter le même fichier ne change rien."
        ),
    )
}

fn may_import(caller: &Caller) -> bool {
    caller.role.sees_all()
}

pub async fn imports_page(State(state): State<Shared>, caller: Caller) -> Response {
    let l = caller.lang;
    let mut b = format!("<h1>{}</h1>", l.t("Imports", "Imports"));
    // File names and counts are the managers' business.
    if may_import(&caller) {
        b += &form(&caller, l);
        b += &history(&state, l).await;
    } else {
        b += &format!(
            r#"<p class="muted">{}</p>"#,
            l.t(
                "Imports are run by credit managers.",
                "Les imports sont faits par les credit managers."
            )
        );
    }
    Html(page(l, l.t("Imports", "Imports"), &nav(&caller), &b)).into_response()
}

pub async fn upload(
    State(state): State<Shared>,
    headers: HeaderMap,
    caller: Caller,
    mut multipart: Multipart,
) -> Response {
    let l = caller.lang;
    if !may_import(&caller) {
        return (
            StatusCode::FORBIDDEN,
            "imports need the admin or manager role",
        )
            .into_response();
    }
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let (mut file, mut name, mut mapping, mut entity, mut csrf) =
        (None, String::new(), None, String::new(), String::new());
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        };
        let key = field.name().unwrap_or("").to_string();
        let fname = field.file_name().unwrap_or("").to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        };
        match key.as_str() {
            "file" => {
                name = fname;
                file = Some(bytes);
            }
            "mapping" if !bytes.is_empty() => mapping = Some(bytes),
            "entity" => entity = String::from_utf8_lossy(&bytes).trim().to_string(),
            "csrf" => csrf = String::from_utf8_lossy(&bytes).to_string(),
            _ => {}
        }
    }
    if !csrf_ok(&caller, &csrf) {
        return (StatusCode::FORBIDDEN, "invalid CSRF token").into_response();
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return result_page(
            &state,
            &caller,
            Err(l.t("No file was sent.", "Aucun fichier reçu.").to_string()),
        )
        .await;
    };
    let author = arpilot_app::Author {
        user: caller.user.login.clone(),
        entity: (!entity.is_empty()).then(|| entity.clone()),
        effective: arpilot_store::today(),
    };
    // A bank statement goes to cash application.
    let cash_settings = arpilot_app::cash::CashSettings::from_settings(
        &arpilot_store::UserStore::settings(&state.store)
            .await
            .unwrap_or_default(),
    );
    if let Some(r) = arpilot_app::cash::import_statement_bytes(
        &state.store,
        Some(&state.views),
        &name,
        &file,
        &author,
        cash_settings,
    )
    .await
    {
        let summary = match r {
            Ok(o) => {
                if o.batch.is_some() {
                    state.changed();
                }
                let mut s = format!(
                    r#"<p id="summary"><b>{}</b> ({}): {} {}, {} {}, {} {}, {} {} · <a href="/cash">{}</a></p>"#,
                    esc(&o.source),
                    o.format,
                    o.receipts,
                    l.t("new receipts", "nouveaux encaissements"),
                    o.already,
                    l.t("already imported", "déjà importés"),
                    o.applied,
                    l.t("matched at once", "lettrés aussitôt"),
                    o.queued,
                    l.t("to review", "à valider"),
                    l.t("Review", "Valider"),
                );
                for w in o.warnings.iter().take(20) {
                    let _ = write!(s, r#"<p class="muted">{}</p>"#, esc(w));
                }
                Ok(s)
            }
            Err(e) => Err(e.to_string()),
        };
        return result_page(&state, &caller, summary).await;
    }
    let outcome = arpilot_app::import::import_bytes(
        &state.store,
        Some(&state.views),
        &name,
        &file,
        mapping.as_deref(),
        &author,
    )
    .await;
    let summary = match outcome {
        Ok(o) => {
            if o.batch.is_some() {
                state.changed();
            }
            let mut s = format!(
                r#"<p id="summary"><b>{}</b> ({}): {} {}, {} {}, {} {}, {} {}, {} {}, {} {}</p>"#,
                esc(&o.source),
                o.format,
                o.documents,
                l.t("new documents", "nouveaux documents"),
                o.payments,
                l.t("payments", "paiements"),
                o.allocations,
                l.t("matches", "lettrages"),
                o.customers,
                l.t("customers", "clients"),
                o.amended,
                l.t("amended", "modifiés"),
                o.unchanged,
                l.t("unchanged", "inchangés"),
            );
            for w in o.warnings.iter().take(20) {
                let _ = write!(s, r#"<p class="muted">{}</p>"#, esc(w));
            }
            Ok(s)
        }
        Err(e) => Err(e.to_string()),
    };
    result_page(&state, &caller, summary).await
}

async fn result_page(state: &Shared, caller: &Caller, r: Result<String, String>) -> Response {
    let l = caller.lang;
    let (status, msg) = match r {
        Ok(s) => (
            StatusCode::OK,
            format!(r#"<section class="card">{s}</section>"#),
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                r#"<section class="card"><p class="err" id="error">{} {}</p><p class="muted">{}</p></section>"#,
                l.t("Refused:", "Refusé :"),
                esc(&e),
                l.t("Nothing was imported.", "Rien n'a été importé.")
            ),
        ),
    };
    let mut b = format!("<h1>{}</h1>{msg}", l.t("Imports", "Imports"));
    b += &form(caller, l);
    b += &history(state, l).await;
    (
        status,
        Html(page(l, l.t("Imports", "Imports"), &nav(caller), &b)),
    )
        .into_response()
}
