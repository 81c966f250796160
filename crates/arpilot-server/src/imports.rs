//! The imports page: upload an export (any format `arpilot import` reads, with an optional
//! mapping), see its summary or its errors, and the history of import batches.

use crate::html::{Lang, esc, page};
use crate::{Caller, Shared, csrf_ok, same_origin};
use arpilot_ingest::mapped::Mapping;
use arpilot_ingest::source::{self, ReadOptions};
use arpilot_store::LedgerStore;
use arpilot_store::import::{ImportError, Incoming};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;

/// Largest upload (the CLI reads bigger files).
pub const MAX_UPLOAD: usize = 256 << 20;

fn nav(caller: &Caller) -> crate::html::Nav<'_> {
    crate::html::Nav {
        login: &caller.user.login,
        role: caller.role.name(),
        csrf: caller.csrf.as_deref().unwrap_or(""),
        query: "",
        active: "imports",
    }
}

async fn history(state: &Shared, l: Lang) -> String {
    let mut b = format!(
        r#"<section class="card" style="margin-top:16px"><h2>{}</h2><table id="batches"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th>{}</th></tr></thead><tbody>"#,
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
        l.t("File (CSV, XLSX, FEC, Factur-X, UBL, CII)", "Fichier (CSV, XLSX, FEC, Factur-X, UBL, CII)"),
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
    // The readers work on files: a private folder keeps the uploaded name for messages.
    let dir = std::env::temp_dir().join(format!("arpilot-upload-{}", crate::auth::random_token()));
    let safe_name: String = std::path::Path::new(&name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "upload".into());
    let outcome = async {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join(&safe_name);
        std::fs::write(&path, &file).map_err(|e| e.to_string())?;
        let mapping = match mapping {
            Some(m) => {
                let mp = dir.join("mapping.toml");
                std::fs::write(&mp, &m).map_err(|e| e.to_string())?;
                Some(Mapping::load(&mp).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let opts = ReadOptions {
            mapping: mapping.as_ref(),
            entity: (!entity.is_empty()).then_some(entity.as_str()),
            ..ReadOptions::default()
        };
        let mut parsed =
            source::read(std::slice::from_ref(&path), &opts).map_err(|e| e.to_string())?;
        let incoming = Incoming::new(
            std::mem::take(&mut parsed.events),
            parsed.currency,
            arpilot_store::NewBatch::for_import(
                safe_name.clone(),
                std::mem::take(&mut parsed.sha256),
                parsed.format.name(),
                (!entity.is_empty()).then(|| entity.clone()),
                caller.user.login.clone(),
            ),
            arpilot_store::today(),
            parsed.warnings.clone(),
        );
        match arpilot_store::import::import(&state.store, incoming, &|_| {}).await {
            Ok(o) => Ok((parsed, o)),
            Err(ImportError::Refused { index, error }) => {
                Err(parsed.error_at(index, &error).to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let summary = match outcome {
        Ok((parsed, o)) => {
            if o.batch_id.is_some()
                && let Err(e) = state.reload().await
            {
                return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
            }
            let c = o.counts;
            let mut s = format!(
                r#"<p id="summary"><b>{}</b> ({}): {} {}, {} {}, {} {}, {} {}, {} {}, {} {}</p>"#,
                esc(&safe_name),
                parsed.format.name(),
                c.documents,
                l.t("new documents", "nouveaux documents"),
                c.payments,
                l.t("payments", "paiements"),
                c.allocations,
                l.t("matches", "lettrages"),
                c.customers,
                l.t("customers", "clients"),
                c.amended,
                l.t("amended", "modifiés"),
                c.unchanged,
                l.t("unchanged", "inchangés"),
            );
            for (i, w) in o.warnings.iter().take(20) {
                let place = i.map(|i| parsed.place(i)).unwrap_or_default();
                let _ = write!(s, r#"<p class="muted">{} {}</p>"#, esc(&place), esc(w));
            }
            Ok(s)
        }
        Err(e) => Err(e),
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
