//! The OpenAPI 3.1 description of every endpoint: the JSON API with its parameters, request and
//! response bodies (schemas derived from the Rust types the handlers serialise, so they cannot
//! drift from the JSON), error answers included; the exports, the live stream and the pages
//! briefly. Served at `GET /api/openapi.json`.
//!
//! Filters and groupings name the ledger's dimensions: the served document lists the ones the
//! ledger has, so that every value it allows is one the server accepts.

use crate::Shared;
use crate::pages::{AgingAnswer, ApiError, DEFAULT_MONTHS, ForecastAnswer};
use arpilot_app::customer::CustomerFile;
use arpilot_app::import::FileOutcome;
use arpilot_app::request::{DEFAULT_BUCKETS, DEFAULT_TOP};
use arpilot_app::worklist::WorkItem;
use arpilot_core::analytics::{BrokenPromise, Cohort, RatingPoint, TeamRow};
use arpilot_core::customers::CustomerRow;
use arpilot_core::invoices::InvoiceRow;
use arpilot_core::report::Report;
use arpilot_core::schema::DATE_PATTERN;
use axum::Json;
use axum::extract::State;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// `GET /api/openapi.json`.
pub async fn serve(State(state): State<Shared>) -> Json<Value> {
    Json(document(&Ledger::of(&state.snapshot())))
}

/// What the document says of a ledger: the names its filters, groupings and pushed events take.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Dimensions to filter and group on (`customer_id` and `customer` first).
    pub dimensions: Vec<String>,
    /// Custom fields of customers and documents, which a push may name directly.
    pub custom_fields: Vec<String>,
}

impl Ledger {
    pub fn of(snap: &arpilot_core::Snapshot) -> Ledger {
        let mut custom_fields: Vec<String> = Vec::new();
        for c in snap
            .customers
            .dims
            .cols
            .iter()
            .chain(&snap.invoices.dims.cols)
        {
            if !custom_fields.contains(&c.name) {
                custom_fields.push(c.name.clone());
            }
        }
        Ledger {
            dimensions: arpilot_core::select::known_dimensions(snap),
            custom_fields,
        }
    }
}

/// Custom fields a pushed customer or document may always name (the CSV ledger set's columns).
use arpilot_app::import::{CUSTOMER_DIMENSIONS, DOCUMENT_DIMENSIONS};

/// Largest `top`, `months` (see `arpilot_app::request`).
const MAX_TOP: usize = 1000;
const MAX_MONTHS: usize = 240;
/// Most events one push may carry.
const MAX_EVENTS: usize = 100_000;

/// The document for `ledger`.
pub fn document(ledger: &Ledger) -> Value {
    let dims = &ledger.dimensions;
    let mut g = SchemaSettings::draft2020_12()
        .for_serialize()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let p = Params::new(dims);
    let mut paths = Map::new();
    let mut add = |path: &str, method: &str, op: Value| {
        paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item")
            .insert(method.to_string(), op);
    };

    // ------------------------------------------------------------ JSON API
    let report_params = [p.by(None), p.buckets(), p.basis(), p.provisions(), p.top()];
    add(
        "/api/report",
        "get",
        api(
            &mut g,
            ok::<Report>,
            "The report",
            "Every figure of the report as of the date: the same JSON as `arpilot report --format json`. With `by`, the aged balance grouped by customer, invoice or a dimension (`groups`).",
            p.with(&report_params),
            &[],
        ),
    );
    add(
        "/api/report/management",
        "get",
        api(
            &mut g,
            ok::<arpilot_app::management::ManagementReport>,
            "The management report",
            "The figures of the management report as of the date (the same JSON as `arpilot report management`): the KPI cards with the previous month end, a year earlier and 12 month ends; the aged balance; DSO, DBT, CEI and collection-rate trends; the 20 customers with the largest overdue amounts; disputes by reason with resolution times; collection by collector; the forecast and its accuracy; the risk figures and their trend.",
            p.with(&report_params),
            &[],
        ),
    );
    add(
        "/report.pdf",
        "get",
        json!({
            "tags": ["pages"],
            "summary": "The management report (PDF)",
            "description": "The management report of `/api/report/management` as a multi-page A4 PDF in the caller's language, with the company's name (setting company.name), within the caller's portfolio.",
            "operationId": "report_pdf",
            "parameters": p.with(&report_params),
            "responses": {
                "200": {"description": "The PDF, as an attachment.", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                "303": redirect_to_login(),
                "400": {"description": "A parameter is refused.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}},
                "422": {"description": "The ledger cannot be seen on that date.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}},
            },
        }),
    );
    add(
        "/api/aging",
        "get",
        api(
            &mut g,
            ok::<AgingAnswer>,
            "The aged balance",
            "The aged balance's buckets and its rows grouped by customer (default) or `by`.",
            p.with(&[
                p.by(Some("customer")),
                p.buckets(),
                p.basis(),
                p.provisions(),
            ]),
            &[],
        ),
    );
    add(
        "/api/customers",
        "get",
        api(
            &mut g,
            ok::<Vec<CustomerRow>>,
            "The customers",
            "One row per customer of the caller's portfolio: balance, overdue, days late, DSO, rating, revenue share, credit use (as `arpilot report customers`).",
            p.with(&[]),
            &[],
        ),
    );
    add(
        "/api/customers/{id}",
        "get",
        api(
            &mut g,
            ok::<CustomerFile>,
            "A customer's file",
            "The customer's row, its open invoices (oldest first), its 20 latest payments with the invoices each settled, and its 20 latest disputes, promises and actions. 404 for a customer unknown or outside the caller's portfolio (the two are not told apart).",
            p.with(&[Params::id()]),
            &[404],
        ),
    );
    add(
        "/api/customers/{id}/rating",
        "get",
        api(
            &mut g,
            ok::<Vec<RatingPoint>>,
            "A customer's rating history",
            "The customer's payer rating, average days late and percentile at each of the last `months` month ends and at the date, oldest first. 404 as for the customer's file.",
            p.with(&[Params::id(), Params::months("Month ends before the date.")]),
            &[404],
        ),
    );
    add(
        "/api/worklist",
        "get",
        api(
            &mut g,
            ok::<Vec<WorkItem>>,
            "The worklist",
            "The customers to act on, highest priority first (the same objects as `arpilot worklist --format json`), each with its reasons in words and figures and a suggested next step, in the caller's language. `filter=collector=NAME` for one collector. The whole list, or one page of it when `page` or `per` is given.",
            p.with(
                &Params::list()
                    .into_iter()
                    .filter(|x| x["name"] == "page" || x["name"] == "per")
                    .collect::<Vec<_>>(),
            ),
            &[],
        ),
    );
    add(
        "/api/work",
        "get",
        api(
            &mut g,
            ok::<arpilot_core::work::WorkKpis>,
            "Collection work KPIs",
            "The collectors' work over the `days` days ending on the date: actions, activation, cash after action, backlog; per collector and for the caller's whole portfolio.",
            p.with(&[json!({"name": "days", "in": "query", "description": "Length of the period, in days.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 366, "default": 30}})]),
            &[],
        ),
    );
    add(
        "/api/invoices",
        "get",
        api(
            &mut g,
            ok::<Vec<InvoiceRow>>,
            "The invoices",
            "Every invoice issued by the date, with its open amount, settlement date and days late.",
            p.with(&[]),
            &[],
        ),
    );
    add(
        "/api/team",
        "get",
        api(
            &mut g,
            ok::<Vec<TeamRow>>,
            "KPIs per collector",
            "Per collector (the customers' `collector`; empty for customers without one): balance, overdue, collection of the month, days to collect, disputes and actions.",
            p.with(&[]),
            &[],
        ),
    );
    add(
        "/api/cohorts",
        "get",
        api(
            &mut g,
            ok::<Vec<Cohort>>,
            "Invoice cohorts",
            "The invoices of each issue month, oldest first, with the share collected within 30, 60, 90 and 120 days of issue.",
            p.with(&[Params::months("Issue months, the date's included.")]),
            &[],
        ),
    );
    add(
        "/api/forecast",
        "get",
        api(
            &mut g,
            ok::<ForecastAnswer>,
            "The cash-in forecast and its accuracy",
            "Cash collected in the past six months and expected for the rest of the month, M+1 … M+3 and later; each method's measured error over the twelve month ends whose next three months are known.",
            p.with(&[]),
            &[],
        ),
    );
    add(
        "/api/broken-promises",
        "get",
        api(
            &mut g,
            ok::<Vec<BrokenPromise>>,
            "Broken promises",
            "Promises to pay due in the 90 days up to the date that were not kept, latest due first.",
            p.with(&[]),
            &[],
        ),
    );
    add("/api/events", "post", push(&mut g, &ledger.custom_fields));
    add("/api/customers/{id}/work", "post", work_api(&mut g));
    cash_api(&mut g, &mut add);
    reminders_api(&mut g, &mut add);
    portal_api(&mut add);
    add(
        "/api/openapi.json",
        "get",
        json!({
            "tags": ["api"],
            "summary": "This document",
            "description": "The OpenAPI 3.1 description of every endpoint; the filter and grouping names it allows are the ledger's dimensions. No sign-in needed.",
            "operationId": "openapi",
            "security": [],
            "responses": {"200": {"description": "The document.", "content": {"application/json": {"schema": {"type": "object"}}}}},
        }),
    );

    // ------------------------------------------------------------ files and live updates
    add("/export/{file}", "get", export(&mut g, &p));
    add(
        "/events",
        "get",
        json!({
            "tags": ["live"],
            "summary": "Live updates",
            "description": "Server-sent events: an event `ledger` (data `changed`) each time the ledger or the report settings change — a push, an upload, an `arpilot import` into the same database (noticed within about 20 ms) — and keep-alive comments. The event carries no data: each page fetches its figures again, through its own portfolio. The stream stays open.",
            "operationId": "events",
            "security": security(),
            "responses": {
                "200": {"description": "The stream (`event: ledger`, `data: changed`).", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                "303": redirect_to_login(),
            },
        }),
    );

    // ------------------------------------------------------------ pages
    for (path, summary, extra) in [
        ("/", "The dashboard", vec![]),
        (
            "/aging",
            "The aged balance by customer or `by`, with Excel and CSV downloads",
            vec![
                p.by(Some("customer")),
                p.buckets(),
                p.basis(),
                Params::bucket(),
                json!({"name": "sort", "in": "query", "description": "The column to sort on: `name`, `balance` or a bucket `b0` (not due), `b1`…", "schema": or_empty(json!({"type": "string", "pattern": "^(name|balance|b[0-9]{1,2})$"}))}),
            ]
            .into_iter()
            .chain(Params::list())
            .collect(),
        ),
        (
            "/customers",
            "The customers",
            vec![
                json!({"name": "sort", "in": "query", "description": "The column to sort on (default: the customers' order).", "schema": or_empty(json!({"type": "string", "enum": arpilot_app::list::CUSTOMER_SORTS.iter().map(|(k, _)| *k).collect::<Vec<_>>()}))}),
            ]
            .into_iter()
            .chain(Params::list())
            .collect(),
        ),
        ("/customers/{id}", "A customer's file", vec![Params::id()]),
        ("/worklist", "To do today: the customers to act on", vec![]),
        ("/team", "Collection effectiveness per collector", vec![]),
        ("/disputes", "Disputes and promises", vec![]),
        ("/forecast", "The cash-in forecast and its accuracy", vec![]),
    ] {
        let not_found = path == "/customers/{id}";
        add(path, "get", page(summary, p.with(&extra), not_found));
    }
    add(
        "/imports",
        "get",
        page(
            "Imports: the upload form and the history of import batches",
            vec![],
            false,
        ),
    );
    add("/imports", "post", upload());
    add(
        "/customers/{id}/work",
        "post",
        json!({
            "tags": ["pages"],
            "summary": "Records work from the customer file's forms",
            "description": "An action with its outcome, a promise, a dispute or a dispute's resolution (collectors in their portfolio, managers, admins), with the session's CSRF token.",
            "operationId": "form_work",
            "parameters": [Params::id()],
            "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object",
                "properties": {"csrf": {"type": "string", "description": "The session's CSRF token."}},
                "required": ["csrf"],
                "additionalProperties": {"type": "string"},
            }}}},
            "responses": {
                "303": {"description": "Recorded (back to the customer file); or not signed in (to the sign-in page)."},
                "200": html("Refused: the customer file again, with the reason; nothing written."),
                "403": text("A viewer, an invalid CSRF token or a cross-site request."),
                "404": text("No such customer in the caller's portfolio."),
                "415": text("Not a form body."),
                "422": text("The form cannot be read."),
                "503": text("The store failed; try again."),
            },
        }),
    );
    add(
        "/settings",
        "get",
        page(
            "Settings: language; for admins, report defaults and users",
            vec![],
            false,
        ),
    );
    add(
        "/views",
        "get",
        page(
            "Saved views: the caller's and the shared ones, and the form to save one",
            vec![
                json!({"name": "page", "in": "query", "description": "The page to save, to prefill the form.", "schema": {"type": "string"}}),
                json!({"name": "query", "in": "query", "description": "Its query, to prefill the form.", "schema": {"type": "string"}}),
            ],
            false,
        ),
    );
    let mut save_view = form(
        "Saves a view",
        json!({
            "name": {"type": "string", "description": "1 to 60 characters."},
            "page": {"type": "string", "enum": arpilot_app::views::PAGES.iter().map(|p| p.0).collect::<Vec<_>>()},
            "query": {"type": "string", "description": "The page's parameters (filters, grouping, buckets, sort…); `as_of` is the date of a fixed view."},
            "mode": {"type": "string", "enum": ["today", "month_end", "fixed"]},
            "shared": {"type": "string", "description": "Present: shared with every user; absent: private."},
        }),
        &[],
        false,
    );
    save_view["responses"]["200"] =
        html("Refused: the views page again, with the reason; nothing saved.");
    save_view["responses"]["303"] = json!({"description": "Saved: to the view (`/views/{id}`); or not signed in (to the sign-in page)."});
    save_view["responses"]["503"] = text("The store failed; try again.");
    add("/views", "post", save_view);
    add(
        "/views/{id}",
        "get",
        json!({
            "tags": ["pages"],
            "summary": "Opens a saved view",
            "description": "To the view's page with its parameters and date; the page applies the caller's own portfolio, so a shared view never shows more than the caller may see.",
            "operationId": "open_view",
            "security": security(),
            "parameters": [json!({"name": "id", "in": "path", "required": true, "description": "The view's id.", "schema": {"type": "string"}})],
            "responses": {
                "303": {"description": "To the view's page; or not signed in (to the sign-in page)."},
                "404": text("No such view, or a private view of another user."),
                "503": text("The store failed; try again."),
            },
        }),
    );
    let mut delete_view = form("Deletes a saved view", json!({}), &[], false);
    delete_view["parameters"] = json!([{"name": "id", "in": "path", "required": true, "description": "The view's id.", "schema": {"type": "string"}}]);
    delete_view["responses"]["403"] = text(
        "A shared view of another user (its owner or an admin deletes it), an invalid CSRF token or a cross-site request.",
    );
    delete_view["responses"]["404"] = text("No such view, or a private view of another user.");
    delete_view["responses"]["503"] = text("The store failed; try again.");
    add("/views/{id}/delete", "post", delete_view);
    add(
        "/settings/subscription",
        "post",
        form(
            "Subscribes the caller to the management report by e-mail",
            json!({
                "email": {"type": "string", "description": "The address the report goes to."},
                "frequency": {"type": "string", "enum": ["", "weekly", "monthly"], "description": "Empty: no report by e-mail."},
            }),
            &[],
            false,
        ),
    );
    let mut dashboards = form("Sets the dashboard of each role", json!({}), &[], true);
    dashboards["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["additionalProperties"] = json!({"type": "string", "description": "`<role>.<card>`: the card's position (1–99) on the role's dashboard; empty: not shown. A role without any card keeps the standard dashboard."});
    add("/settings/dashboards", "post", dashboards);
    add(
        "/settings/language",
        "post",
        form(
            "Sets the caller's language",
            json!({"locale": {"type": "string", "description": "`fr`, `en`, or anything else for the browser's language."}}),
            &["locale"],
            false,
        ),
    );
    add(
        "/settings/users",
        "post",
        form(
            "Adds or updates a user (admins)",
            json!({
                "action": {"type": "string", "enum": ["add", "update"]},
                "login": {"type": "string"},
                "role": {"type": "string", "enum": ["admin", "manager", "collector", "viewer"]},
                "portfolio": {"type": "string", "description": "NAME=VALUE rules joined by `;`."},
                "password": {"type": "string", "description": "For `add`: at least 10 characters."},
            }),
            &["action", "login", "role"],
            true,
        ),
    );
    add(
        "/settings/report",
        "post",
        form(
            "Saves the report defaults (admins)",
            json!({
                "buckets": {"type": "string", "description": "Increasing positive day counts such as 30,60,90,120; empty for the default."},
                "provisions": {"type": "string", "description": "One rate per bucket (two more than the bounds), percentages such as 0,0,25,50,75,100."},
                "rating": {"type": "string", "description": "Average days late for A, B and C, such as 0,15,45."},
                "labels": {"type": "string", "description": "Labels of custom fields, `NAME=Label` pairs joined by `;`."},
            }),
            &[],
            true,
        ),
    );
    add(
        "/login",
        "get",
        json!({
            "tags": ["pages"], "summary": "The sign-in form", "operationId": "login_form", "security": [],
            "responses": {"200": html("The form.")},
        }),
    );
    add("/login", "post", login());
    add(
        "/logout",
        "post",
        form("Signs out (closes the session)", json!({}), &[], false),
    );
    for (path, kind) in [
        ("/static/app.css", "text/css"),
        ("/static/live.js", "text/javascript"),
    ] {
        add(
            path,
            "get",
            json!({
                "tags": ["pages"], "summary": format!("The pages' {}", if kind == "text/css" { "style sheet" } else { "live-refresh script" }),
                "operationId": path.trim_start_matches('/').replace(['/', '.'], "_"),
                "security": [],
                "responses": {"200": {"description": "The file (cached for an hour).", "content": {kind: {"schema": {"type": "string"}}}}},
            }),
        );
    }

    let schemas = g.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "arpilot",
            "version": env!("CARGO_PKG_VERSION"),
            "description": concat!(
                "Receivables figures as of any date, restricted to the caller's portfolio: a filter given in a URL narrows it and never widens it. ",
                "Amounts are decimal strings in the ledger's currency (`\"1234.50\"`), dates ISO strings. ",
                "Every `GET` of the API and every page take `as_of`, `filter`, `status`, `issued_from` and `issued_to`; the report parameters (`by`, `bucket`, `sort`, `buckets`, `basis`, `provisions`, `status`, `issued_from`, `issued_to`, `top`, `months`) are checked wherever they are given, ",
                "and one that cannot be used answers 400 with `{\"error\": \"PARAM: expected …, found …\"}`, even on an endpoint it does not shape. ",
                "Only `filter` may be repeated; an empty value is no value (forms send empty fields). ",
                "`buckets` and `provisions` go together: the rates are one per bucket, two more than the bounds (the default bounds, or the admin's, when `buckets` is not given)."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [
            {"name": "api", "description": "The JSON API."},
            {"name": "exports", "description": "Spreadsheet and CSV downloads."},
            {"name": "live", "description": "Live updates (server-sent events)."},
            {"name": "pages", "description": "The dashboard's HTML pages and forms."},
            {"name": "portal", "description": "The customer portal, opened by the signed link of a reminder (no sign-in)."},
        ],
        "security": security(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token from `arpilot users token LOGIN` (only its SHA-256 is kept)."},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE, "description": "A browser session from `POST /login`."},
            },
        },
    })
}

fn security() -> Value {
    json!([{"bearer": []}, {"session": []}])
}

/// The schema of `T`, a reference to `components/schemas` for named types.
fn schema<T: JsonSchema + ?Sized>(g: &mut SchemaGenerator) -> Value {
    g.subschema_for::<T>().to_value()
}

/// The 200 answer with `T`'s schema.
fn ok<T: JsonSchema + ?Sized>(g: &mut SchemaGenerator) -> Value {
    json!({"description": "OK", "content": {"application/json": {"schema": schema::<T>(g)}}})
}

fn error(g: &mut SchemaGenerator, description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema::<ApiError>(g)}}})
}

fn text(description: &str) -> Value {
    json!({"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}})
}

fn html(description: &str) -> Value {
    json!({"description": description, "content": {"text/html": {"schema": {"type": "string"}}}})
}

fn redirect_to_login() -> Value {
    json!({"description": "Not signed in: to the sign-in page.", "headers": {"Location": {"schema": {"type": "string", "const": "/login"}}}})
}

/// A `GET` of the JSON API answering `ok`, with its errors (`also`: 404 where a customer is
/// named).
fn api(
    g: &mut SchemaGenerator,
    ok: fn(&mut SchemaGenerator) -> Value,
    summary: &str,
    description: &str,
    parameters: Vec<Value>,
    also: &[u16],
) -> Value {
    let mut responses = json!({
        "200": ok(g),
        "400": error(g, "A parameter is refused: which one, what it held and what was expected."),
        "401": error(g, "Not signed in: no session and no valid `Authorization: Bearer` token."),
        "422": error(g, "The ledger cannot be seen on that date (no exchange rate yet for one of its currencies)."),
        "500": error(g, "An unexpected failure (the details go to the server's log)."),
    });
    if also.contains(&404) {
        responses["404"] = error(
            g,
            "No such customer in the caller's portfolio (unknown or outside it).",
        );
    }
    let id = summary.to_lowercase().replace([' ', '\''], "_");
    json!({
        "tags": ["api"],
        "summary": summary,
        "description": description,
        "operationId": id,
        "parameters": parameters,
        "responses": responses,
    })
}

/// An HTML page: 303 to the sign-in page when not signed in.
fn page(summary: &str, parameters: Vec<Value>, not_found: bool) -> Value {
    let mut responses = json!({
        "200": html("The page."),
        "303": redirect_to_login(),
        "400": {"description": "A parameter is refused.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}},
        "422": {"description": "The ledger cannot be seen on that date.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}},
    });
    if not_found {
        responses["404"] = html("No such customer in the caller's portfolio.");
    }
    json!({
        "tags": ["pages"],
        "summary": summary,
        "operationId": format!("page_{}", summary.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(4).collect::<Vec<_>>().join("_").to_lowercase()),
        "parameters": parameters,
        "responses": responses,
    })
}

/// A form of the pages (`application/x-www-form-urlencoded`, with the session's CSRF token):
/// redirects back on success.
fn form(summary: &str, fields: Value, required: &[&str], admin: bool) -> Value {
    let mut props = fields.as_object().cloned().unwrap_or_default();
    props.insert(
        "csrf".into(),
        json!({"type": "string", "description": "The session's CSRF token, from the page's forms."}),
    );
    let mut req: Vec<&str> = vec!["csrf"];
    req.extend_from_slice(required);
    let mut responses = json!({
        "303": {"description": "Done (back to the page); or not signed in (to the sign-in page)."},
        "400": text("A field is refused."),
        "403": text(if admin {
            "Not an admin, an invalid CSRF token (API tokens have none: forms are for browser sessions) or a cross-site request."
        } else {
            "An invalid CSRF token (API tokens have none: forms are for browser sessions) or a cross-site request."
        }),
        "415": text("Not a form body."),
        "422": text("A required field is missing."),
        "500": text("The store failed."),
    });
    if summary.starts_with("Signs out") {
        responses["503"] = text("The session could not be closed; try again.");
    }
    json!({
        "tags": ["pages"],
        "summary": summary,
        "operationId": format!("form_{}", summary.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(3).collect::<Vec<_>>().join("_").to_lowercase()),
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "properties": props, "required": req,
        }}}},
        "responses": responses,
    })
}

fn login() -> Value {
    json!({
        "tags": ["pages"],
        "summary": "Signs in",
        "description": "Opens a session (cookie `arpilot_session`, 12 hours, `HttpOnly`, `SameSite=Strict`). After 5 failed attempts for a login (20 from one client address) each further attempt waits twice as long as the last, up to 15 minutes.",
        "operationId": "login",
        "security": [],
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object",
            "properties": {"login": {"type": "string"}, "password": {"type": "string"}},
            "required": ["login", "password"],
        }}}},
        "responses": {
            "303": {"description": "Signed in: to the dashboard, with the session cookie.", "headers": {"Set-Cookie": {"schema": {"type": "string"}}}},
            "401": html("Unknown login or wrong password: the form again, with the message."),
            "403": {"description": "A cross-site request, or an expired sign-in form (the form again).", "content": {"text/plain": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}}}},
            "415": text("Not a form body."),
            "422": text("A field is missing."),
            "429": {"description": "Too many failed attempts: wait `Retry-After` seconds.", "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}, "content": {"text/html": {"schema": {"type": "string"}}}},
            "503": text("The session could not be opened; try again."),
        },
    })
}

fn upload() -> Value {
    json!({
        "tags": ["pages"],
        "summary": "Imports an uploaded file (managers and admins)",
        "description": "A file in any format `arpilot import` reads, with an optional mapping (TOML) and entity; answers the import's summary or its error (file, line, column; nothing imported). Up to 256 MiB.",
        "operationId": "upload",
        "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "properties": {
                "csrf": {"type": "string"},
                "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                "mapping": {"type": "string", "contentMediaType": "application/octet-stream"},
                "entity": {"type": "string"},
            },
            "required": ["csrf", "file"],
            "additionalProperties": false,
        }}}},
        "responses": {
            "200": html("The import's summary."),
            "303": redirect_to_login(),
            "400": text("The multipart body cannot be read."),
            "403": text("Not a manager or admin, an invalid CSRF token or a cross-site request."),
            "413": text("Larger than 256 MiB."),
            "422": html("The file is refused: its error, nothing imported."),
        },
    })
}

fn export(g: &mut SchemaGenerator, p: &Params) -> Value {
    let mut parameters = vec![json!({
        "name": "file", "in": "path", "required": true,
        "description": "What and in which format.",
        "schema": {"type": "string", "enum": [
            "aging.xlsx", "aging.csv", "customers.xlsx", "customers.csv", "invoices.xlsx", "invoices.csv",
        ]},
    })];
    parameters.extend(p.with(&[p.by(Some("customer")), p.buckets(), p.basis()]));
    // The list's search and sort: the file holds the rows of the page's list, in its order.
    parameters.extend(
        Params::list()
            .into_iter()
            .filter(|x| x["name"] == "q" || x["name"] == "dir"),
    );
    parameters.push(json!({"name": "sort", "in": "query", "description": "The list's column (customers: `name`, `id`, `balance`, `overdue`, `late`, `dso`, `rating`, `revenue`, `credit`; aged balance: `name`, `balance`, `b0`, `b1`…).", "schema": or_empty(json!({"type": "string", "pattern": "^(name|id|balance|overdue|late|dso|rating|revenue|credit|b[0-9]{1,2})$"}))}));
    json!({
        "tags": ["exports"],
        "summary": "The aged balance, the customers or the invoices as a file",
        "description": "The data of the page of the same name, in the caller's portfolio, as an Excel workbook (number and date formats, frozen header, autofilter, totals row) or CSV (English: `,`; French: `;`, decimal commas and a byte-order mark). `by`, `buckets` and `basis` shape the aged balance; `q`, `sort` and `dir` keep the list's search and order (every row found, on all its pages, with their totals).",
        "operationId": "export",
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "The file, as an attachment named `arpilot-KIND-DATE.EXT`.",
                "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                "content": {
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "contentMediaType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "303": redirect_to_login(),
            "400": error(g, "An unknown file name or a refused parameter."),
            "422": error(g, "The ledger cannot be seen on that date."),
            "500": text("The workbook could not be written."),
        },
    })
}

/// `POST /api/customers/{id}/work`: the customer file's forms, as JSON (`arpilot_app::work`).
fn work_api(g: &mut SchemaGenerator) -> Value {
    let field = |d: &str| json!({"type": ["string", "number", "null"], "description": d});
    json!({
        "tags": ["api"],
        "summary": "Records a collector's work",
        "description": "An action (call, email, letter, visit, note) with its outcome, note and invoices, optionally the promise or dispute it obtained and the next action planned; a dispute's resolution; a follow-up (not to contact before a date, the contact person); a reassignment to another collector (managers and admins): the fields of the customer file's forms as a JSON object (numbers are taken as text, `invoice` may be an array). Checked against the ledger as of its date; nothing is written when a field is refused. Collectors in their portfolio, managers and admins; a browser session sends its CSRF token as `X-CSRF-Token`.",
        "operationId": "record_work",
        "parameters": [Params::id()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {
                "action": field("log (default), resolve, plan (follow-up only) or reassign (managers and admins)."),
                "date": field("The day of the work (default: the ledger's last date)."),
                "kind": field("call, email, letter, visit or note (log)."),
                "outcome": field("reached, no_answer, promise, dispute, refusal or wrong_contact (log)."),
                "note": field("A note (log)."),
                "invoice": {"type": ["string", "number", "array", "null"], "items": {"type": ["string", "number", "null"]}, "description": "The invoices it is about."},
                "promise_amount": field("Amount promised (log)."),
                "promise_date": field("Date promised (log)."),
                "dispute_reason": field("Reason of the dispute opened (log)."),
                "dispute_amount": field("Disputed amount of one invoice (log; default: the whole invoices)."),
                "dispute_owner": field("Who handles the dispute (log)."),
                "resolution": field("justified, rejected or settled (resolve)."),
                "comment": field("Comment of the resolution (resolve)."),
                "next_action": field("Date of the next action planned (log, plan)."),
                "hold_until": field("Not to contact before this date (plan; give hold_reason)."),
                "hold_reason": field("Why not to contact (plan)."),
                "contact_name": field("The contact person (plan)."),
                "contact_role": field("Their role (plan)."),
                "contact_email": field("Their e-mail address (plan)."),
                "contact_phone": field("Their phone number (plan)."),
                "collector": field("The collector taking the customer (reassign)."),
            },
            "additionalProperties": false,
        }}}},
        "responses": {
            "200": ok::<arpilot_app::work::Recorded>(g),
            "400": {
                "description": "A field is refused (`error` names it, `field` too; JSON), or the body is not JSON at all (text): nothing was written.",
                "content": {
                    "application/json": {"schema": schema::<ApiError>(g)},
                    "text/plain": {"schema": {"type": "string"}},
                },
            },
            "401": error(g, "Not signed in: no session and no valid `Authorization: Bearer` token."),
            "403": {"description": "A viewer, or a collector reassigning (JSON), or a browser session without its CSRF token (text).", "content": {
                "application/json": {"schema": schema::<ApiError>(g)},
                "text/plain": {"schema": {"type": "string"}},
            }},
            "404": error(g, "No such customer in the caller's portfolio."),
            "415": text("The body is not `Content-Type: application/json`."),
            "503": error(g, "The store failed; try again."),
        },
    })
}

/// The cash-application endpoints and pages (admins and managers).
fn cash_api(g: &mut SchemaGenerator, add: &mut impl FnMut(&str, &str, Value)) {
    let day_param = |name: &str, d: &str| json!({"name": name, "in": "query", "description": d, "schema": date()});
    let receipt = json!({"name": "id", "in": "path", "required": true, "description": "The receipt's id (`BNK-…`, as the queue lists it) or a payment's id.", "schema": {"type": "string"}});
    let common = |g: &mut SchemaGenerator, ok: Value| {
        json!({
            "200": ok,
            "400": error(g, "A parameter is refused: which one, what it held and what was expected."),
            "401": error(g, "Not signed in: no session and no valid `Authorization: Bearer` token."),
            "403": error(g, "Cash application needs the admin or manager role."),
            "500": error(g, "An unexpected failure (the details go to the server's log)."),
        })
    };
    let ok_queue = ok::<Vec<arpilot_app::cash::QueueItem>>(g);
    add(
        "/api/cash/queue",
        "get",
        json!({
            "tags": ["api"],
            "summary": "The cash-application review queue",
            "description": "Bank receipts waiting for a decision (then payments with cash left on a customer's account), oldest first, at most 100: each with the engine's proposal (customer, invoices and amounts, rule, confidence 0–100), its reasons in the caller's language and other candidate invoices. The same objects as `arpilot cash queue --format json`.",
            "operationId": "cash_queue",
            "parameters": [day_param("as_of", "Date the open invoices are taken at (default: today).")],
            "responses": common(g, ok_queue),
        }),
    );
    let ok_report = ok::<arpilot_app::cash::CashReport>(g);
    add(
        "/api/cash/report",
        "get",
        json!({
            "tags": ["api"],
            "summary": "Cash-application KPIs",
            "description": "Receipts of the period, the share matched automatically (lines and amount), by hand, within 1/3/7 days, unapplied cash at the end and its age, the share of the unapplied cash at the start matched during the period, decisions and undos per user. The same object as `arpilot report cash --format json`.",
            "operationId": "cash_report",
            "parameters": [
                day_param("from", "First day (default: the first of the as-of month)."),
                day_param("as_of", "Last day (default: today)."),
            ],
            "responses": common(g, ok_report),
        }),
    );
    let ok_decided = ok::<arpilot_app::cash::Decided>(g);
    let mut responses = common(g, ok_decided);
    responses["404"] = error(
        g,
        "No receipt or payment of that id waiting for that decision.",
    );
    responses["400"] = json!({
        "description": "A field is refused (`error` and `field`; JSON), or the body is not JSON (text): nothing was written.",
        "content": {
            "application/json": {"schema": schema::<ApiError>(g)},
            "text/plain": {"schema": {"type": "string"}},
        },
    });
    responses["403"] = json!({"description": "Not an admin or manager (JSON), or a browser session without its CSRF token (text).", "content": {
        "application/json": {"schema": schema::<ApiError>(g)},
        "text/plain": {"schema": {"type": "string"}},
    }});
    responses["415"] = text("The body is not `Content-Type: application/json`.");
    responses["503"] = error(g, "The store failed; try again.");
    add(
        "/api/cash/{id}",
        "post",
        json!({
            "tags": ["api"],
            "summary": "Decides on a receipt",
            "description": "`accept` the engine's proposal; `apply` to chosen `invoices` of `customer_id` (none: left on the customer's account), with a `write_off` of the shortfall on the last invoice; `not_customer`; `undo` the decision in effect (the ledger then reads exactly as without it). Written as a ledger event with its author; checked first, nothing written when refused.",
            "operationId": "cash_decide",
            "parameters": [receipt.clone()],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {
                    "decision": {"type": "string", "enum": ["accept", "apply", "not_customer", "undo"]},
                    "customer_id": {"type": "string"},
                    "invoices": {"type": "array", "items": {"type": "object", "properties": {
                        "invoice_id": {"type": "string"}, "amount": {"type": "string", "description": "Amount such as 1234.56."}
                    }, "required": ["invoice_id", "amount"]}},
                    "write_off": {"type": "string", "description": "Amount such as 0.50."},
                },
                "required": ["decision"],
                "additionalProperties": false,
            }}}},
            "responses": responses,
        }),
    );
    add(
        "/customers/{id}/statement.pdf",
        "get",
        json!({
            "tags": ["pages"],
            "summary": "A customer's account statement (PDF)",
            "description": "Open invoices with due dates and days overdue, the aged summary, unapplied cash, the total due, and payment instructions with the company's IBAN, the customer's ISO 11649 reference and an EPC QR code (settings company.name, company.iban, company.bic), as of `as_of`. 404 for a customer unknown or outside the caller's portfolio.",
            "operationId": "statement_pdf",
            "parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                day_param("as_of", "Date of the statement (default: the ledger's last date)."),
            ],
            "responses": {
                "200": {"description": "The PDF, as an attachment.", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                "303": redirect_to_login(),
                "400": {"description": "A parameter is refused.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}},
                "404": text("No such customer in the caller's portfolio."),
                "422": {"description": "The ledger cannot be seen on that date.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}},
            },
        }),
    );
    add(
        "/cash",
        "get",
        json!({
            "tags": ["pages"],
            "summary": "Cash application: the month's KPIs, the statement upload, the review queue, the latest decisions",
            "operationId": "page_cash",
            "parameters": [day_param("as_of", "Date of the queue and the KPIs (default: today).")],
            "responses": {
                "200": html("The page."),
                "303": redirect_to_login(),
                "400": text("A parameter is refused."),
                "403": text("Not an admin or manager."),
            },
        }),
    );
    add(
        "/cash/{id}",
        "post",
        json!({
            "tags": ["pages"],
            "summary": "Decides on a receipt from the cash-application page",
            "operationId": "form_cash",
            "parameters": [receipt],
            "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object",
                "properties": {
                    "csrf": {"type": "string", "description": "The session's CSRF token."},
                    "decision": {"type": "string", "enum": ["accept", "apply", "not_customer", "undo"]},
                    "customer_id": {"type": "string"},
                    "invoice": {"type": "string", "description": "An invoice ticked (repeated), with `amount_{invoice}`."},
                    "write_off": {"type": "string"},
                },
                "required": ["csrf", "decision"],
                "additionalProperties": {"type": "string"},
            }}}},
            "responses": {
                "303": {"description": "Recorded (back to the page); or not signed in (to the sign-in page)."},
                "400": html("Refused: the page again with the reason; nothing written."),
                "403": text("Not an admin or manager, an invalid CSRF token or a cross-site request."),
                "404": html("No such receipt waiting for that decision: the page again with the reason."),
                "415": text("Not a form body."),
                "422": text("The form cannot be read."),
                "503": html("The store failed; try again."),
            },
        }),
    );
}

/// The reminder endpoints and pages: admins and managers run and skip; collectors read their
/// portfolio's.
fn reminders_api(g: &mut SchemaGenerator, add: &mut impl FnMut(&str, &str, Value)) {
    let day_param = |name: &str, d: &str| json!({"name": name, "in": "query", "description": d, "schema": date()});
    let read = |g: &mut SchemaGenerator, ok: Value| {
        json!({
            "200": ok,
            "400": error(g, "A parameter is refused: which one, what it held and what was expected."),
            "401": error(g, "Not signed in: no session and no valid `Authorization: Bearer` token."),
            "403": error(g, "A viewer, or a collector without a portfolio."),
            "422": error(g, "The ledger cannot be seen on that date (no exchange rate yet for one of its currencies)."),
            "500": error(g, "The reminder settings cannot be read, or an unexpected failure (the details go to the server's log)."),
        })
    };
    let period = [
        day_param("from", "First day (default: 29 days before `to`)."),
        day_param("to", "Last day (default: the ledger's last date)."),
    ];
    let ok_preview = ok::<arpilot_app::dunning::Preview>(g);
    add(
        "/api/reminders/preview",
        "get",
        json!({
            "tags": ["api"],
            "summary": "The reminders a run would send",
            "description": "The customers of the caller's portfolio due a reminder on `as_of` (scenario, step, channel, invoices, amount, recipient, language), and those with invoices at a new step that wait (`hold`, `promise`, `interval`, `below_minimum`, `today`) with until when. The same objects as `arpilot dunning run --dry-run --format json`.",
            "operationId": "reminders_preview",
            "parameters": [day_param("as_of", "Date of the run (default: the ledger's last date).")],
            "responses": read(g, ok_preview),
        }),
    );
    let ok_history = ok::<Vec<arpilot_app::dunning::HistoryRow>>(g);
    add(
        "/api/reminders/history",
        "get",
        json!({
            "tags": ["api"],
            "summary": "The reminders of a period",
            "description": "Reminders dated in the period of customers of the caller's portfolio, latest first, with their status (`queued`, `sent`, `failed`, `skipped`), message id, attempts and error. `from` must not come after `to` (400).",
            "operationId": "reminders_history",
            "parameters": period.clone(),
            "responses": read(g, ok_history),
        }),
    );
    let ok_kpis = ok::<arpilot_core::dunning::ReminderKpis>(g);
    add(
        "/api/reminders/kpis",
        "get",
        json!({
            "tags": ["api"],
            "summary": "Reminder KPIs",
            "description": "Reminders sent in the period, activation within 7, 15 and 30 days, cash collected after them, invoices recovered and cost, by scenario, step, channel and collector; reminders waiting to leave and failed on `to`. `from` must not come after `to` (400).",
            "operationId": "reminders_kpis",
            "parameters": period,
            "responses": read(g, ok_kpis),
        }),
    );
    let ok_run = ok::<crate::reminders::RunAnswer>(g);
    add(
        "/api/reminders/run",
        "post",
        json!({
            "tags": ["api"],
            "summary": "Runs the reminders of a date",
            "description": "Decides the reminders of `as_of` (default: the ledger's last date) — all, or those of `customers` — writes each to the ledger before it leaves, sends the e-mails (SMTP server of the settings) and marks them sent or failed; letters, call tasks and legal collection are recorded at once. A second run on the same date decides nothing more. `dry_run`: only what it would decide. Admins and managers.",
            "operationId": "reminders_run",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {
                    "as_of": date(),
                    "customers": {"type": "array", "items": {"type": "string"}, "description": "Only these customers (ids)."},
                    "dry_run": {"type": "boolean"},
                },
                "additionalProperties": false,
            }}}},
            "responses": {
                "200": ok_run,
                "400": {"description": "A field is refused, or e-mails are due and no SMTP server is set (JSON); or the body is not JSON (text). Nothing was written.", "content": {
                    "application/json": {"schema": schema::<ApiError>(g)},
                    "text/plain": {"schema": {"type": "string"}},
                }},
                "401": error(g, "Not signed in: no session and no valid `Authorization: Bearer` token."),
                "403": {"description": "Not an admin or manager (JSON), or a browser session without its CSRF token (text).", "content": {
                    "application/json": {"schema": schema::<ApiError>(g)},
                    "text/plain": {"schema": {"type": "string"}},
                }},
                "409": error(g, "The ledger refused the reminders."),
                "415": text("The body is not `Content-Type: application/json`."),
                "422": error(g, "The ledger cannot be seen on that date."),
                "500": error(g, "The reminder settings cannot be read, or an unexpected failure."),
                "503": error(g, "The store failed; try again."),
            },
        }),
    );
    add(
        "/reminders",
        "get",
        json!({
            "tags": ["pages"],
            "summary": "Reminders: KPIs, the reminders of the date to approve or skip, the customers waiting, the history",
            "operationId": "page_reminders",
            "parameters": [day_param("as_of", "Date of the run (default: the ledger's last date).")],
            "responses": {
                "200": html("The page."),
                "303": redirect_to_login(),
                "400": text("A parameter is refused."),
                "403": text("A viewer, or a collector without a portfolio."),
                "422": {"description": "The ledger cannot be seen on that date.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}},
                "500": text("The reminder settings cannot be read."),
            },
        }),
    );
    let form_responses = || {
        json!({
            "303": {"description": "Done (back to the page with what was done); or not signed in (to the sign-in page)."},
            "400": {"description": "Refused: the page again with the reason (HTML), or a date refused (text); nothing written.", "content": {"text/html": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}},
            "403": text("Not an admin or manager, an invalid CSRF token or a cross-site request."),
            "409": html("The ledger refused the reminders: the page again with the reason."),
            "415": text("Not a form body."),
            "422": text("The form cannot be read."),
            "503": html("The store failed; try again."),
        })
    };
    add(
        "/reminders/run",
        "post",
        json!({
            "tags": ["pages"],
            "summary": "Approves reminders from the reminders page",
            "operationId": "form_reminders_run",
            "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object",
                "properties": {
                    "csrf": {"type": "string", "description": "The session's CSRF token."},
                    "as_of": date(),
                    "customer": {"type": "string", "description": "A customer to approve (repeated); none: every reminder of the date."},
                },
                "required": ["csrf"],
            }}}},
            "responses": form_responses(),
        }),
    );
    let mut skip = form_responses();
    skip["404"] = text("No such customer.");
    add(
        "/reminders/skip",
        "post",
        json!({
            "tags": ["pages"],
            "summary": "Skips a customer's reminder of a date",
            "operationId": "form_reminders_skip",
            "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object",
                "properties": {
                    "csrf": {"type": "string", "description": "The session's CSRF token."},
                    "as_of": date(),
                    "customer": {"type": "string"},
                    "reason": {"type": "string", "maxLength": 500},
                },
                "required": ["csrf", "customer"],
            }}}},
            "responses": skip,
        }),
    );
    add(
        "/reminders/{file}",
        "get",
        json!({
            "tags": ["pages"],
            "summary": "A reminder's letter (PDF)",
            "description": "`{id}.pdf`, the id as the history lists it: the letter, formal notice (with the L441-10 interest and indemnities) or e-mail of the reminder as a printable letter. 404 for a reminder unknown, skipped, or of a customer outside the caller's portfolio.",
            "operationId": "reminder_letter_pdf",
            "parameters": [{"name": "file", "in": "path", "required": true, "description": "The reminder's id followed by `.pdf`.", "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The PDF, as an attachment.", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                "303": redirect_to_login(),
                "403": text("A viewer, or a collector without a portfolio."),
                "404": text("No such reminder in the caller's portfolio."),
                "500": text("The reminder settings cannot be read."),
            },
        }),
    );
    add(
        "/settings/reminders",
        "post",
        json!({
            "tags": ["pages"],
            "summary": "Saves the reminder scenarios and settings (admins)",
            "description": "Every value is checked first (the policy's JSON, the hour, SMTP and portal URLs); the settings page again with the error when one is refused, nothing saved.",
            "operationId": "form_settings_reminders",
            "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object",
                "properties": {
                    "csrf": {"type": "string", "description": "The session's CSRF token."},
                    "policy": {"type": "string", "description": "The scenarios and rules as JSON (as `arpilot dunning scenarios` prints them)."},
                    "hour": {"type": "string", "description": "Hour of the daily run, 0 to 23 (UTC); empty: no scheduled run."},
                    "approval": {"type": "string", "enum": ["auto", "manual"]},
                    "smtp_url": {"type": "string", "description": "smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://host:465."},
                    "smtp_from": {"type": "string"},
                    "portal_url": {"type": "string", "description": "The public address the portal links start with."},
                },
                "required": ["csrf", "policy"],
            }}}},
            "responses": {
                "303": {"description": "Saved (back to the settings); or not signed in (to the sign-in page)."},
                "400": html("Refused: the settings page again with the error; nothing saved."),
                "403": text("Not an admin, an invalid CSRF token or a cross-site request."),
                "415": text("Not a form body."),
                "422": text("The form cannot be read."),
                "500": text("The store failed."),
            },
        }),
    );
    add(
        "/settings/reminders/preview",
        "get",
        json!({
            "tags": ["pages"],
            "summary": "The message of a scenario's step, filled with a customer due today (admins)",
            "operationId": "page_settings_reminders_preview",
            "parameters": [
                {"name": "scenario", "in": "query", "required": true, "description": "The scenario's id.", "schema": {"type": "string"}},
                {"name": "step", "in": "query", "required": true, "description": "The step, from 1.", "schema": {"type": "integer", "minimum": 1}},
            ],
            "responses": {
                "200": html("The page."),
                "303": redirect_to_login(),
                "403": text("Not an admin."),
                "404": text("No such scenario or step."),
                "500": text("The reminder settings cannot be read."),
            },
        }),
    );
}

/// The customer portal: no sign-in, a signed link.
fn portal_api(add: &mut impl FnMut(&str, &str, Value)) {
    let token = json!({"name": "token", "in": "path", "required": true, "description": "The signed link of a reminder (customer, expiry date, signature).", "schema": {"type": "string"}});
    let too_many = json!({"description": "Too many requests from this address: wait `Retry-After` seconds.", "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}, "content": {"text/plain": {"schema": {"type": "string"}}}});
    let gone = html("The link is altered, expired or of no customer (no hint which).");
    add(
        "/portal/{token}",
        "get",
        json!({
            "tags": ["portal"],
            "summary": "The customer portal",
            "description": "The customer's open invoices, the total due, how to pay (IBAN, BIC, reference), the statement with its QR code, and forms to promise a payment, dispute an invoice and rate the service. French, English for customers whose `language` starts with `en`.",
            "operationId": "portal",
            "security": [],
            "parameters": [token.clone(), {"name": "thanks", "in": "query", "description": "What was just recorded.", "schema": {"type": "string", "enum": ["promise", "dispute", "rating"]}}],
            "responses": {"200": html("The page."), "404": gone.clone(), "429": too_many.clone()},
        }),
    );
    add(
        "/portal/{token}/statement.pdf",
        "get",
        json!({
            "tags": ["portal"],
            "summary": "The customer's statement (PDF) from the portal",
            "operationId": "portal_statement_pdf",
            "security": [],
            "parameters": [token.clone()],
            "responses": {
                "200": {"description": "The PDF, as an attachment.", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                "404": gone.clone(),
                "429": too_many.clone(),
            },
        }),
    );
    for (what, summary, fields, required) in [
        (
            "promise",
            "Promises a payment from the portal",
            json!({
                "amount": {"type": "string", "description": "Amount such as 1500.00."},
                "date": date(),
                "invoice": {"type": "string", "description": "An invoice of the customer (repeated)."},
            }),
            vec!["csrf", "amount", "date", "invoice"],
        ),
        (
            "dispute",
            "Disputes an invoice from the portal",
            json!({
                "invoice": {"type": "string"},
                "reason": {"type": "string", "enum": arpilot_app::work::DISPUTE_REASONS},
                "comment": {"type": "string", "maxLength": 2000},
            }),
            vec!["csrf", "invoice"],
        ),
        (
            "rating",
            "Rates the service from the portal",
            json!({"rating": {"type": "integer", "minimum": 1, "maximum": 5}}),
            vec!["csrf", "rating"],
        ),
    ] {
        let mut props = fields.as_object().cloned().unwrap_or_default();
        props.insert(
            "csrf".into(),
            json!({"type": "string", "description": "The portal page's form token."}),
        );
        add(
            &format!("/portal/{{token}}/{what}"),
            "post",
            json!({
                "tags": ["portal"],
                "summary": summary,
                "description": "Recorded in the ledger as the collectors' work is (author `portal`, source `portal`); only the link's customer's invoices are accepted.",
                "operationId": format!("portal_{what}"),
                "security": [],
                "parameters": [token.clone()],
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": props, "required": required,
                }}}},
                "responses": {
                    "303": {"description": "Recorded: back to the portal with a thank-you."},
                    "400": html("Refused: the portal again with the reason; nothing written."),
                    "403": text("An invalid form token or a cross-site request."),
                    "404": gone.clone(),
                    "415": text("Not a form body."),
                    "422": text("The form cannot be read."),
                    "429": too_many.clone(),
                    "503": text("The store failed; try again."),
                },
            }),
        );
    }
}

/// `POST /api/events`: the body, described from the reader of pushed events
/// (`arpilot_ingest::json`).
fn push(g: &mut SchemaGenerator, custom_fields: &[String]) -> Value {
    let text = |d: &str| json!({"type": ["string", "number"], "pattern": "\\S", "description": d});
    let opt_text = |d: &str| json!({"type": ["string", "number", "null"], "description": d});
    let date = |d: &str| json!({"type": "string", "pattern": DATE_PATTERN, "description": d});
    let opt_date = |d: &str| json!({"type": ["string", "null"], "anyOf": [{"pattern": DATE_PATTERN}, {"type": "null"}, {"const": ""}], "description": d});
    // The decimals depend on the currency and the bound on the ledger's volume: the words say
    // what the schema cannot.
    let amount = |d: &str| {
        json!({
            "description": format!("{d} A positive decimal with '.' as separator, as a string (\"1200.50\") or a number, with at most the currency's decimals (2 for EUR), up to 10^13 minor units (100000000000.00 EUR)."),
            "anyOf": [
                {"type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]*\\s*$"},
                {"type": "number", "exclusiveMinimum": 0},
            ],
        })
    };
    let currency = json!({"anyOf": [{"type": "string", "pattern": "^\\s*[A-Za-z]{3}\\s*$"}, {"type": "string", "maxLength": 0}, {"type": "null"}], "description": "ISO-4217 code of the amount (default: the ledger's)."});
    let flag = |d: &str| json!({"type": ["boolean", "null"], "description": d});
    let value = json!({"type": ["string", "number", "null"]});
    // A field outside an event's list is taken only when it is a custom field every ledger has
    // or one this ledger already has; new ones go into `custom`.
    let event = |kind: &[&str], fields: Value, required: &[&str], named: &[&str]| {
        let mut props = fields.as_object().cloned().unwrap_or_default();
        props.insert("type".into(), json!({"type": "string", "enum": kind}));
        if !named.is_empty() {
            let standard: Vec<String> = props.keys().cloned().collect();
            let mut custom = json!({
                "type": "object",
                "additionalProperties": value,
                "description": "Custom fields (dimensions) to set, new ones included: {\"name\": \"value\"}. Not the event's standard fields.",
            });
            custom["propertyNames"] = json!({"not": {"enum": standard}});
            props.insert("custom".into(), custom);
            for d in named
                .iter()
                .map(|d| d.to_string())
                .chain(custom_fields.iter().cloned())
            {
                props.entry(d).or_insert_with(|| {
                    let mut v = value.clone();
                    v["description"] = json!("A custom field (dimension).");
                    v
                });
            }
        }
        let mut req = vec!["type"];
        req.extend_from_slice(required);
        json!({
            "title": kind.join(" | "),
            "type": "object",
            "properties": props,
            "required": req,
            "additionalProperties": false,
        })
    };
    let events = json!([
        event(
            &["customer"],
            json!({
                "customer_id": text("Your id of the customer."),
                "name": text("Its name."),
                "credit_limit": {
                    "description": "Its credit limit: a decimal as for amounts, zero allowed.",
                    "anyOf": [
                        {"type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]*\\s*$"},
                        {"type": "number", "minimum": 0},
                        {"type": "null"},
                    ],
                },
                "payment_terms_days": {"type": ["integer", "string", "null"], "description": "Payment terms, a whole number of days."},
            }),
            &["customer_id", "name"],
            CUSTOMER_DIMENSIONS
        ),
        event(
            &["invoice", "credit_note", "write_off"],
            json!({
                "document_id": text("Your id of the document."),
                "customer_id": text("The customer's id."),
                "issue_date": date("Issue date."),
                "due_date": opt_date("Due date (default: the customer's payment terms after issue)."),
                "amount": amount("Its amount."),
                "currency": currency,
                "original_invoice_id": opt_text("The invoice a credit note or write-off settles."),
                "disputed": flag("Disputed."),
                "dispute_reason": opt_text("Why."),
                "in_legal": flag("Handed to legal collection."),
            }),
            &["document_id", "customer_id", "issue_date", "amount"],
            DOCUMENT_DIMENSIONS
        ),
        event(
            &["payment"],
            json!({
                "payment_id": text("Your id of the payment."),
                "customer_id": text("The paying customer's id."),
                "date": date("Value date."),
                "amount": amount("Amount received."),
                "currency": currency,
                "invoice_id": opt_text("The invoice it settles, when known."),
                "reference": opt_text("Bank reference."),
            }),
            &["payment_id", "customer_id", "date", "amount"],
            &[]
        ),
        event(
            &["allocation"],
            json!({
                "source_id": text("A payment or credit note's id."),
                "invoice_id": text("The invoice it settles."),
                "date": date("Date of the allocation."),
                "amount": amount("Amount allocated."),
                "currency": currency,
            }),
            &["source_id", "invoice_id", "date", "amount"],
            &[]
        ),
        event(
            &["dispute"],
            json!({
                "invoice_id": text("The disputed invoice."),
                "opened_on": date("Opened on."),
                "resolved_on": opt_date("Resolved on."),
                "reason": opt_text("Why."),
                "amount": nullable(amount("Amount disputed (default: the invoice's).")),
                "currency": currency,
                "owner": opt_text("Who handles the dispute."),
            }),
            &["invoice_id", "opened_on"],
            &[]
        ),
        event(
            &["promise"],
            json!({
                "invoice_id": text("The invoice promised."),
                "promised_on": date("When the promise was made."),
                "due_on": date("When the payment is promised for."),
                "amount": amount("Amount promised."),
                "currency": currency,
            }),
            &["invoice_id", "promised_on", "due_on", "amount"],
            &[]
        ),
        event(
            &["action"],
            json!({
                "customer_id": text("The customer."),
                "date": date("Date of the action."),
                "kind": text("call, email, letter, …"),
                "invoice_id": opt_text("The invoice concerned."),
                "agent": opt_text("Who acted."),
                "note": opt_text("Note."),
                "outcome": {"anyOf": [{"type": "string", "enum": ["reached", "no_answer", "promise", "dispute", "refusal", "wrong_contact"]}, {"type": "string", "maxLength": 0}, {"type": "null"}], "description": "What came of it."},
            }),
            &["customer_id", "date", "kind"],
            &[]
        ),
        event(
            &["followup"],
            json!({
                "customer_id": text("The customer."),
                "date": date("Date of the follow-up."),
                "next_action": opt_date("The next action planned (on or after `date`)."),
                "hold_until": opt_date("Not to contact before this date (on or after `date`; give `hold_reason`)."),
                "hold_reason": opt_text("Why not to contact."),
                "contact_name": opt_text("The contact person."),
                "contact_role": opt_text("Their role."),
                "contact_email": opt_text("Their e-mail address."),
                "contact_phone": opt_text("Their phone number."),
            }),
            &["customer_id", "date"],
            &[]
        ),
        event(
            &["rate"],
            json!({
                "date": date("From that date."),
                "currency": {"type": "string", "pattern": "^\\s*[A-Za-z]{3}\\s*$", "description": "The foreign currency."},
                "rate": {"description": "Units of the ledger's currency for one unit of `currency`, a positive decimal with up to 9 decimals.", "anyOf": [{"type": "string", "pattern": "^\\s*[0-9]*\\.?[0-9]*\\s*$"}, {"type": "number", "exclusiveMinimum": 0}]},
            }),
            &["date", "currency", "rate"],
            &[]
        ),
    ]);
    json!({
        "tags": ["api"],
        "summary": "Pushes events (managers and admins)",
        "description": concat!(
            "Appends events to the ledger, idempotently: ids are your system's, what is already in the ledger is skipped, changed attributes become amendments (as in `arpilot import`). ",
            "Each event is a row of the CSV ledger set with a `type` and the set's field names; a field not listed for its type is taken only when it is already a custom field (dimension) of the ledger, ",
            "and new custom fields are given in `custom` on customer and document events. Text fields take strings or numbers; empty strings and `null` are no value. ",
            "A refused event answers 400 naming its index and field (`events[3].date: …`) and nothing is written. Every open dashboard refreshes after a push that appended something."
        ),
        "operationId": "push_events",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {
                "source": {"type": "string", "description": "Name of the sending system, kept with the batch (default `api`)."},
                "events": {"type": "array", "maxItems": MAX_EVENTS, "items": {"oneOf": events}},
            },
            "required": ["events"],
            "additionalProperties": false,
        }}}},
        "responses": {
            "200": {"description": "What was appended (`batch` is null when nothing was new): the same object as one source of `arpilot import --json`.", "content": {"application/json": {"schema": schema::<FileOutcome>(g)}}},
            "400": {
                "description": "An event is refused (its index and field named) or the body is not `{\"events\": [...]}` (JSON), or the body is not JSON at all (text): nothing was written.",
                "content": {
                    "application/json": {"schema": schema::<ApiError>(g)},
                    "text/plain": {"schema": {"type": "string"}},
                },
            },
            "401": error(g, "Not signed in: no session and no valid `Authorization: Bearer` token."),
            "403": error(g, "Pushing events needs the manager or admin role (a browser session must also send its CSRF token as `X-CSRF-Token`)."),
            "409": error(g, "The store refused the batch (another import ran meanwhile): push again."),
            "413": text("The body is larger than 64 MiB."),
            "415": text("The body is not `Content-Type: application/json`."),
        },
    })
}

/// The query parameters, for a ledger with the dimensions `dims`.
struct Params {
    /// Filter and grouping names: the ledger's dimensions.
    dims: Vec<String>,
}

impl Params {
    fn new(dims: &[String]) -> Params {
        Params {
            dims: dims.to_vec(),
        }
    }

    /// The parameters of every page and `GET`, then `extra`.
    fn with(&self, extra: &[Value]) -> Vec<Value> {
        let names = self
            .dims
            .iter()
            .map(|d| regex_escape(d))
            .collect::<Vec<_>>()
            .join("|");
        let mut v = extra.to_vec();
        v.extend([
            json!({"name": "as_of", "in": "query",
                "description": "Date of the figures, from 1900-01-01 to 2199-12-31 (default: the ledger's last date).",
                "schema": date()}),
            json!({"name": "filter", "in": "query", "style": "form", "explode": true,
                "description": format!("NAME=VALUE on a dimension of the ledger ({}), repeatable: the conditions on one name are alternatives, on different names all required. Always within the caller's portfolio: a filter narrows it, never widens it.", self.dims.join(", ")),
                "schema": {"type": "array", "items": or_empty(json!({"type": "string", "pattern": format!("^(?:{names})=")}))}}),
            json!({"name": "status", "in": "query",
                "description": "Only the invoices in that status at the date: a dispute or a promise running then, in legal collection, or none of the three (`normal`).",
                "schema": or_empty(json!({"type": "string", "enum": ["disputed", "in_legal", "promised", "normal"]}))}),
            json!({"name": "issued_from", "in": "query", "description": "Only the invoices issued on or after that date.",
                "schema": date()}),
            json!({"name": "issued_to", "in": "query", "description": "Only the invoices issued on or before that date.",
                "schema": date()}),
        ]);
        v
    }

    fn by(&self, default: Option<&str>) -> Value {
        let mut values: Vec<String> = [
            "customer",
            "customer_id",
            "invoice",
            "document",
            "document_id",
        ]
        .map(String::from)
        .to_vec();
        for d in &self.dims {
            if !values.contains(d) {
                values.push(d.clone());
            }
        }
        let mut schema = or_empty(json!({"type": "string", "enum": values}));
        if let Some(d) = default {
            schema["default"] = json!(d);
        }
        json!({"name": "by", "in": "query",
            "description": "Group the aged balance by customer, invoice or a dimension of the ledger.",
            "schema": schema})
    }

    fn buckets(&self) -> Value {
        json!({"name": "buckets", "in": "query", "style": "form", "explode": false,
            "description": format!("Upper bounds of the overdue buckets in days, strictly increasing, fewer than 250, the last at most 100000 (default: the admin's setting, else {}). `not_due` and the bucket past the last bound come with them.", DEFAULT_BUCKETS.map(|b| b.to_string()).join(",")),
            "schema": {"type": "array", "maxItems": 249, "items": {"type": "integer", "minimum": 1, "maximum": 100_000}}})
    }

    fn basis(&self) -> Value {
        json!({"name": "basis", "in": "query", "description": "Age invoices from their due date (default) or their issue date.",
            "schema": or_empty(json!({"type": "string", "enum": ["due", "issue"], "default": "due"}))})
    }

    fn provisions(&self) -> Value {
        json!({"name": "provisions", "in": "query", "style": "form", "explode": false,
            "description": "Provision rate of each bucket in percent, one per bucket (`not_due`, each bound, past the last: two more than the bounds), such as 0,0,25,50,75,100 (default: the admin's setting with the admin's buckets, else a default ladder).",
            "schema": {"type": "array", "maxItems": 251, "items": {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.01}}})
    }

    fn top(&self) -> Value {
        json!({"name": "top", "in": "query", "description": "Length of the top debtors and top overdue invoices lists.",
            "schema": or_empty(json!({"type": "integer", "minimum": 1, "maximum": MAX_TOP, "default": DEFAULT_TOP}))})
    }

    fn months(description: &str) -> Value {
        json!({"name": "months", "in": "query", "description": description,
            "schema": or_empty(json!({"type": "integer", "minimum": 1, "maximum": MAX_MONTHS, "default": DEFAULT_MONTHS}))})
    }

    /// Search, page and direction of a long list (the aged balance, the customers).
    fn list() -> Vec<Value> {
        vec![
            json!({"name": "q", "in": "query", "description": "Search: a customer's name or id, or an invoice number.", "schema": or_empty(json!({"type": "string", "maxLength": arpilot_app::list::MAX_SEARCH, "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"}))}),
            json!({"name": "page", "in": "query", "description": "The page, from 1 (past the last: the last).", "schema": or_empty(json!({"type": "integer", "minimum": 1, "maximum": 1_000_000}))}),
            json!({"name": "per", "in": "query", "description": "Rows per page (default 50).", "schema": or_empty(json!({"type": "integer", "minimum": 10, "maximum": arpilot_app::list::MAX_PER_PAGE}))}),
            json!({"name": "dir", "in": "query", "description": "The direction of the sort (default: the column's own, amounts descending, names ascending).", "schema": or_empty(json!({"type": "string", "enum": ["asc", "desc"]}))}),
        ]
    }

    fn bucket() -> Value {
        json!({"name": "bucket", "in": "query", "description": "Only the rows with an amount in that bucket (0 = not due).",
            "schema": or_empty(json!({"type": "integer", "minimum": 0, "maximum": u64::MAX}))})
    }

    fn id() -> Value {
        json!({"name": "id", "in": "path", "required": true, "description": "The customer's id.",
            "schema": {"type": "string"}})
    }
}

/// `schema` or `null` (no value), for a schema made of alternatives.
fn nullable(mut schema: Value) -> Value {
    if let Some(any) = schema["anyOf"].as_array_mut() {
        any.push(json!({"type": "null"}));
    }
    schema
}

/// A date parameter: exactly the dates the server reads.
fn date() -> Value {
    or_empty(json!({"type": "string", "format": "date", "pattern": DATE_PATTERN}))
}

/// `schema`, or an empty value: forms send empty fields, which are no value (the default).
fn or_empty(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "string", "maxLength": 0}]})
}

/// `s` with the characters special to a regular expression escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
