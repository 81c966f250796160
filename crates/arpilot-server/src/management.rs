//! The management report ("rapport de recouvrement"): `GET /api/report/management` (its figures
//! as JSON) and `GET /report.pdf` (the PDF), both within the caller's portfolio and computed
//! once per scope and request by `arpilot_app::management`.

use crate::pages::{computed, context, try_page};
use crate::{Caller, Shared, bad_request};
use arpilot_app::management::{self, ManagementReport};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};

/// The report for the request, cached per scope and parameters until the ledger changes.
async fn the_report(
    state: &Shared,
    caller: &Caller,
    query: RawQuery,
) -> Result<(std::sync::Arc<ManagementReport>, arpilot_core::Day), Box<Response>> {
    let (snap, p, sel) = context(state, caller, query).await?;
    let as_of = p.date();
    let params = p
        .params(as_of, &p.defaults)
        .map_err(|e| Box::new(bad_request(e.to_string())))?;
    let rating = *p.rating();
    let key = format!("management|{:?}|{}", caller.scope, p.raw);
    let r = computed(state, key, move || {
        management::build(&snap, &sel, &params, &rating)
            .map_err(|e| Box::new(bad_request(e.to_string())))
    })
    .await?;
    Ok((r, as_of))
}

/// `GET /api/report/management`.
pub async fn api(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (r, _) = try_page!(the_report(&state, &caller, query).await);
    Json(&*r).into_response()
}

/// `GET /report.pdf`: in the caller's language, with the company's name of the settings.
pub async fn pdf(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (r, as_of) = try_page!(the_report(&state, &caller, query).await);
    let company = arpilot_app::statement::Company::from_settings(
        &arpilot_store::UserStore::settings(&state.store)
            .await
            .unwrap_or_default(),
    );
    let lang = caller.lang;
    let bytes = tokio::task::spawn_blocking(move || management::pdf(&r, lang, &company)).await;
    match bytes {
        Ok(b) => crate::pdf_download(
            &format!(
                "{}-{as_of}.pdf",
                lang.t("collection-report", "rapport-recouvrement")
            ),
            b,
        ),
        Err(_) => crate::internal_error(),
    }
}
