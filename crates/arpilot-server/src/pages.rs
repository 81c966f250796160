//! Pages and API handlers. Each reads the snapshot through the caller's scope.

use crate::charts::{self, Bar, Series};
use crate::html::{self, Lang, Nav, esc, page};
use crate::{Caller, Params, Shared, bad_request, raw};
use arpilot_core::customers::customers as customer_rows;
use arpilot_core::invoices::invoices;
use arpilot_core::report::{Report, report};
use arpilot_core::trend::trend;
use arpilot_core::worklist::WorklistRow;
use arpilot_core::{Money, Selection, Snapshot};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::StreamExt;
use std::fmt::Write;

/// The value, or return the response that explains why not.
macro_rules! try_page {
    ($e:expr) => {
        match $e {
            Ok(x) => x,
            Err(r) => return *r,
        }
    };
}
pub(crate) use try_page;

/// Snapshot, parameters and the caller's selection, or the response explaining why not.
pub(crate) async fn context(
    state: &Shared,
    caller: &Caller,
    query: RawQuery,
) -> Result<(std::sync::Arc<Snapshot>, Params, Selection), Box<Response>> {
    let req = arpilot_app::ReportRequest::from_query(raw(query).as_deref().unwrap_or(""))
        .map_err(|e| Box::new(bad_request(e.to_string())))?;
    // The admin's defaults; the cache of figures is emptied when they change.
    let p = Params {
        req,
        defaults: state.report_settings(),
        latest: state.latest(),
    };
    // A date the ledger cannot be seen on (no exchange rate yet for one of its currencies).
    let snap = state.snapshot_at(p.as_of).await.map_err(|e| {
        Box::new(
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({"error": e.to_string()})),
            )
                .into_response(),
        )
    })?;
    let sel = caller
        .scope
        .selection(&snap, &p.filters)
        .map_err(|e| Box::new(bad_request(e.to_string())))?;
    let sel = p.narrow(&snap, sel, p.date());
    Ok((snap, p, sel))
}

pub(crate) fn nav<'a>(c: &'a Caller, p: &'a Params, active: &'static str) -> Nav<'a> {
    c.nav(&p.raw, active)
}

/// The engine's parameters of the request, with the admin's defaults.
fn report_params(p: &Params) -> Result<arpilot_core::report::ReportParams, Box<Response>> {
    p.params(p.date(), &p.defaults)
        .map_err(|e| Box::new(bad_request(e.to_string())))
}

pub(crate) fn the_report(
    snap: &Snapshot,
    sel: &Selection,
    p: &Params,
) -> Result<Report, Box<Response>> {
    report(snap, sel, &report_params(p)?).map_err(|e| Box::new(bad_request(e.to_string())))
}

/// The as-of date and filter form at the top of every page.
pub(crate) fn toolbar(lang: Lang, action: &str, p: &Params, as_of: arpilot_core::Day) -> String {
    let filters: Vec<String> = p
        .filters
        .iter()
        .map(|f| format!("{}={}", f.name, f.value))
        .collect();
    format!(
        r#"<form class="bar-form" method="get" action="{action}"><label>{a}<input type="date" name="as_of" value="{as_of}"></label><label>{f}<input name="filter" placeholder="region=Nord" value="{fv}"></label><button class="primary">{go}</button><span class="views-links">{pdf}<a href="/views?page={page}&amp;query={query}">{save}</a> · <a href="/views">{mine}</a></span></form>"#,
        // The management report of what the dashboard shows.
        pdf = if action == "/" {
            format!(
                r#"<a href="/report.pdf?{}">{}</a> · "#,
                esc(&p.raw),
                lang.t("Management report (PDF)", "Rapport de recouvrement (PDF)")
            )
        } else {
            String::new()
        },
        page = html::q(action),
        // The page's parameters as they are: a view saves them with its own date mode.
        query = esc(&html::q(&match p.sort.as_deref() {
            Some(s) if !p.raw.is_empty() => format!("{}&sort={s}", p.raw),
            Some(s) => format!("sort={s}"),
            None => p.raw.clone(),
        })),
        save = lang.t("Save this view", "Enregistrer cette vue"),
        mine = lang.t("Saved views", "Vues enregistrées"),
        a = lang.t("As of", "Au"),
        f = lang.t("Filter (dimension=value)", "Filtre (dimension=valeur)"),
        fv = esc(&filters.join(" ")),
        go = lang.t("Show", "Afficher"),
    )
}

pub(crate) fn bucket_label(lang: Lang, b: &str) -> String {
    if b == "not_due" {
        lang.t("not due", "non échu").to_string()
    } else {
        format!("{b} {}", lang.t("d", "j"))
    }
}

/// Figures cached under `key`, computed by `make` off the async workers on a miss.
pub(crate) async fn computed<T: Send + Sync + 'static>(
    state: &Shared,
    key: String,
    make: impl FnOnce() -> Result<T, Box<Response>> + Send + 'static,
) -> Result<std::sync::Arc<T>, Box<Response>> {
    if let Some(f) = state.cached::<T>(&key) {
        return Ok(f);
    }
    // Computing takes tens of milliseconds on a large ledger: one per core, so that cached
    // pages keep being served meanwhile.
    let _permit = state.compute.acquire().await;
    let st = state.clone();
    match tokio::task::spawn_blocking(move || st.figures(key, make)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("arpilot: internal error computing figures: {e}");
            Err(Box::new(crate::internal_error()))
        }
    }
}

/// What the dashboard shows, computed once per scope, parameters and ledger state.
pub struct Figures {
    pub report: Report,
    pub trend: Vec<arpilot_core::trend::TrendPoint>,
    /// The aged balance's buckets split by status: in legal, disputed, promised, other (an
    /// invoice counts once, in the first of these that holds).
    pub aging_by_status: [Vec<i64>; 4],
    /// The KPI cards with their comparisons, when they could be computed.
    pub kpis: Option<Vec<arpilot_app::management::KpiCard>>,
}

/// The statuses the aged balance is stacked by, in order of precedence.
const AGING_STATUSES: [&str; 4] = ["in_legal", "disputed", "promised", "other"];

/// Each bucket's open amount per status (see [`Figures::aging_by_status`]).
fn aging_by_status(
    snap: &Snapshot,
    sel: &Selection,
    params: &arpilot_core::report::ReportParams,
) -> [Vec<i64>; 4] {
    let d = params.as_of.0;
    let class = |i: usize| {
        if snap.in_legal(i) {
            0
        } else if snap.disputed_on(i as u32, d) {
            1
        } else if snap.promised_on(i as u32, d) {
            2
        } else {
            3
        }
    };
    std::array::from_fn(|k| {
        let part = sel.clone().with_invoices_of(snap, |i| class(i) == k);
        arpilot_core::report::aging(snap, &part, params.as_of, &params.aging)
            .0
            .into_iter()
            .map(|(amount, _)| amount)
            .collect()
    })
}

/// The KPI cards with their comparisons; `None` when they cannot be computed (the dashboard
/// then shows the report's figures without comparisons).
fn kpi_cards(
    snap: &Snapshot,
    sel: &Selection,
    params: &arpilot_core::report::ReportParams,
    rating: &arpilot_core::customers::RatingThresholds,
) -> Option<Vec<arpilot_app::management::KpiCard>> {
    arpilot_app::management::kpi_cards(snap, sel, params, rating).ok()
}

/// The dashboard's reminders card, for those who run the reminders (admins, managers) and
/// without filters, as the Reminders page counts them: sent over the 30 days to `as_of`, the
/// share paid within 30 days of a reminder (the reminders whose 30 days have passed: those of
/// the 30 days before), collected after them.
fn reminders_card(
    stored: Option<&[(String, String)]>,
    caller: &Caller,
    p: &Params,
    snap: &Snapshot,
    as_of: arpilot_core::Day,
) -> Option<String> {
    if !caller.role.sees_all() || !p.filters.is_empty() {
        return None;
    }
    // Read only: the portal's secret is created by the Reminders page, not here.
    let s = arpilot_app::dunning::DunningSettings::from_settings(stored?, snap.currency.decimals())
        .ok()?;
    let l = caller.lang;
    let k30 = arpilot_app::dunning::kpis(snap, &[], &s, as_of.add_days(-29), as_of);
    let k60 = arpilot_app::dunning::kpis(snap, &[], &s, as_of.add_days(-59), as_of);
    Some(format!(
        r#"<div class="tile" data-card="reminders"><a class="kpi" id="reminders-kpi" href="/reminders?as_of={as_of}"><span class="kpi-name">{}</span><b>{}</b><span>{} {}</span><span>{} {}</span></a>{}</div>"#,
        esc(l.t("Reminders sent, 30 days", "Relances envoyées, 30 j")),
        k30.total.sent,
        esc(l.t("Activation at 30 days:", "Activation à 30 j :")),
        esc(&l.num(k60.total.activation_30, " %")),
        esc(l.t("Collected after:", "Encaissé après :")),
        esc(&l.money(k30.total.collected)),
        html::help(l, "reminders"),
    ))
}

/// A KPI's name on the dashboard: the management report's (empty for an unknown key).
fn kpi_name(l: Lang, key: &str) -> &'static str {
    if arpilot_app::management::CARDS.iter().any(|c| c.0 == key) {
        arpilot_app::management::kpi_label(l, key)
    } else {
        ""
    }
}

/// A KPI card's figure in its unit; `compact` for the changes.
fn kpi_value(
    l: Lang,
    unit: arpilot_app::management::Unit,
    v: Option<f64>,
    currency: arpilot_core::Currency,
    compact: bool,
) -> String {
    use arpilot_app::management::Unit;
    let Some(v) = v else {
        return "—".into();
    };
    match unit {
        Unit::Money => {
            let minor = (v * 10f64.powi(currency.decimals() as i32)).round() as i64;
            let m = Money::new(minor, currency);
            if compact { l.compact(m) } else { l.money(m) }
        }
        Unit::Days => l.num(Some(v), l.t(" d", " j")),
        Unit::Percent => l.num(Some(v), if compact { " pt" } else { " %" }),
        Unit::Count => format!("{v:.0}"),
    }
}

/// One KPI tile: its name and definition, its figure, and with a card its changes since the
/// previous month end and over a year (arrow, sign and words; coloured by good or bad news) and
/// its 12 month ends as a sparkline.
fn kpi_tile(
    l: Lang,
    key: &'static str,
    value: String,
    late: bool,
    card: Option<&arpilot_app::management::KpiCard>,
    currency: arpilot_core::Currency,
) -> (&'static str, String) {
    let mut s = format!(
        r#"<div class="kpi{}" data-card="{key}"><div class="kpi-head"><span class="kpi-name">{}</span>{}</div><b title="{v}">{v}</b>"#,
        if late { " late" } else { "" },
        esc(kpi_name(l, key)),
        html::help(l, key),
        v = esc(&value),
    );
    if let Some(c) = card {
        s.push_str(r#"<ul class="deltas">"#);
        for (then, short, long) in [
            (
                c.previous_month_end,
                l.t("vs M−1", "vs M−1"),
                l.t(
                    "since the previous month end",
                    "depuis la fin du mois précédent",
                ),
            ),
            (
                c.last_year,
                l.t("vs Y−1", "vs N−1"),
                l.t("over a year", "sur un an"),
            ),
        ] {
            let (Some(now), Some(then)) = (c.value, then) else {
                let _ = write!(
                    s,
                    r#"<li class="flat">— <span class="vs">{}</span></li>"#,
                    esc(short)
                );
                continue;
            };
            let delta = now - then;
            let small = delta.abs() < 1e-9 || (then != 0.0 && (delta / then).abs() < 0.0005);
            let (arrow, class, verdict) = if small {
                ("→", "flat", l.t("stable", "stable"))
            } else if (delta > 0.0) == c.higher_is_better {
                (
                    if delta > 0.0 { "▲" } else { "▼" },
                    "good",
                    l.t("better", "mieux"),
                )
            } else {
                (
                    if delta > 0.0 { "▲" } else { "▼" },
                    "bad",
                    l.t("worse", "moins bien"),
                )
            };
            let sign = if delta > 0.0 { "+" } else { "" };
            let change = kpi_value(l, c.unit, Some(delta), currency, true).replace('-', "−");
            let _ = write!(
                s,
                r#"<li class="{class}" title="{}: {} → {}"><span aria-hidden="true">{arrow}</span> {sign}{} <span class="vs">{}</span> <span class="verdict">{}</span></li>"#,
                esc(long),
                esc(&kpi_value(l, c.unit, Some(then), currency, false)),
                esc(&value),
                esc(&change),
                esc(short),
                esc(verdict),
            );
        }
        s.push_str("</ul>");
        s.push_str(&charts::sparkline(
            &c.spark,
            if late { charts::RED } else { charts::BLUE },
        ));
    }
    s.push_str("</div>");
    (key, s)
}

/// A card of the dashboard: heading with its definition, then its content.
fn card(l: Lang, key: &'static str, title: &str, body: &str) -> (&'static str, String) {
    (key, html::card(l, key, title, key, body))
}

/// A card holding a table of a label column and two figures.
fn table_card(
    l: Lang,
    key: &'static str,
    title: &str,
    heads: [&str; 3],
    rows: &str,
) -> (&'static str, String) {
    card(
        l,
        key,
        title,
        &format!(
            r#"<div class="scroll"><table class="list"><thead><tr><th>{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>{rows}</tbody></table></div>"#,
            heads[0], heads[1], heads[2]
        ),
    )
}

/// The dashboard's KPI tiles, each with its stable key.
fn kpi_tiles(
    l: Lang,
    r: &Report,
    kpis: Option<&[arpilot_app::management::KpiCard]>,
    currency: arpilot_core::Currency,
) -> Vec<(&'static str, String)> {
    let t = &r.totals;
    match kpis {
        Some(cards) if !cards.is_empty() => cards
            .iter()
            .filter(|c| !kpi_name(l, c.key).is_empty())
            .map(|c| {
                let late = matches!(c.key, "overdue" | "at_risk_amount");
                let value = kpi_value(l, c.unit, c.value, currency, false);
                kpi_tile(l, c.key, value, late, Some(c), currency)
            })
            .collect(),
        // The figures of the report, without comparisons.
        _ => vec![
            kpi_tile(l, "balance", l.money(t.balance), false, None, currency),
            kpi_tile(l, "overdue", l.money(t.overdue), true, None, currency),
            kpi_tile(
                l,
                "dso_countback",
                l.num(Some(r.dso.countback), l.t(" d", " j")),
                false,
                None,
                currency,
            ),
            kpi_tile(
                l,
                "dbt",
                l.num(r.dbt, l.t(" d", " j")),
                false,
                None,
                currency,
            ),
            kpi_tile(
                l,
                "cei_month",
                l.num(r.cei.month, " %"),
                false,
                None,
                currency,
            ),
            kpi_tile(
                l,
                "collection_rate",
                l.num(r.collection_rate.rate, " %"),
                false,
                None,
                currency,
            ),
        ],
    }
}

/// A customer's name from its id, the id when unknown.
fn customer_name<'a>(snap: &'a Snapshot, id: &'a str) -> &'a str {
    snap.customers
        .ids
        .find(id)
        .and_then(|c| snap.customers.names.get(c as usize))
        .map_or(id, String::as_str)
}

/// A link to a customer's file, by name, the id on hover.
pub(crate) fn customer_link(snap: &Snapshot, id: &str, raw: &str) -> String {
    format!(
        r#"<a href="/customers/{}?{}" title="{}">{}</a>"#,
        html::q(id),
        esc(raw),
        esc(id),
        esc(customer_name(snap, id))
    )
}

pub async fn dashboard(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let key = format!("dashboard|{:?}|{}", caller.scope, p.raw);
    let params = try_page!(report_params(&p));
    let figures = try_page!(
        computed(&state, key, {
            let (snap, p) = (snap.clone(), p.clone());
            move || {
                let report = the_report(&snap, &sel, &p)?;
                let trend = trend(&snap, &sel, report.as_of, 12);
                let aging_by_status = aging_by_status(&snap, &sel, &params);
                let kpis = kpi_cards(&snap, &sel, &params, p.rating());
                Ok(Figures {
                    report,
                    trend,
                    aging_by_status,
                    kpis,
                })
            }
        })
        .await
    );
    let r = &figures.report;
    let l = caller.lang;
    let m = |x: Money| l.money(x);
    let t = &r.totals;
    let cur = snap.currency;
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{} {}</h1>{}",
        l.t("Receivables as of", "Encours clients au"),
        l.date(r.as_of),
        toolbar(l, "/", &p, r.as_of)
    );
    // The KPI tiles, then the cards: each with a stable key (`data-card`).
    let mut tiles = kpi_tiles(l, r, figures.kpis.as_deref(), cur);
    // Bank receipts waiting for a decision belong to no customer: shown, as the review queue
    // lists them, to those who see every customer.
    if !caller.scope.restricted() && p.filters.is_empty() && !snap.receipts.day.is_empty() {
        let waiting = arpilot_core::cash::waiting(&snap, r.as_of.0);
        let amount: i64 = waiting
            .iter()
            .map(|&x| snap.receipts.amount[x as usize])
            .sum();
        tiles.push((
            "to_apply",
            format!(
                r#"<div class="tile" data-card="to_apply"><a class="kpi" id="to-apply" href="/cash"><span class="kpi-name">{}</span><b>{}</b><span>{} {}</span></a>{}</div>"#,
                esc(l.t("Receipts to review", "Encaissements à valider")),
                esc(&m(Money::new(amount, cur))),
                waiting.len(),
                esc(l.t("receipts", "encaissements")),
                html::help(l, "to_apply"),
            ),
        ));
    }
    // The settings, read once: the reminders card and the role's choice of cards.
    let stored = arpilot_store::UserStore::settings(&state.store).await.ok();
    if let Some(card) = reminders_card(stored.as_deref(), &caller, &p, &snap, r.as_of) {
        tiles.push(("reminders", card));
    }
    let mut cards: Vec<(&'static str, String)> = Vec::new();
    // Balance composition: not due, overdue and unapplied add up to the balance; disputed, in
    // legal and promised are parts of the open invoices.
    let f = |x: Money| x.units();
    let part = |key, name: &str, x: Money, color| charts::Part {
        key,
        name: name.into(),
        value: f(x),
        text: m(x),
        color,
    };
    cards.push(card(
        l,
        "composition",
        l.t("Balance composition", "Composition de l'encours"),
        &charts::composition(
            l,
            l.t("Balance composition", "Composition de l'encours"),
            &[
                part(
                    "not_due",
                    l.t("Not due", "Non échu"),
                    t.not_due,
                    charts::GREEN,
                ),
                part("overdue", l.t("Overdue", "Échu"), t.overdue, charts::RED),
                charts::Part {
                    key: "unapplied",
                    name: l.t("Unapplied cash", "Non lettré").into(),
                    value: 0.0,
                    text: m(t.unapplied),
                    color: charts::GREY,
                },
            ],
            &[
                part(
                    "disputed",
                    l.t("Disputed", "En litige"),
                    t.disputed,
                    charts::AMBER,
                ),
                part(
                    "in_legal",
                    l.t("In legal", "Contentieux"),
                    t.in_legal,
                    charts::PURPLE,
                ),
                part(
                    "promised",
                    l.t("Promised", "Promis"),
                    t.promised,
                    charts::BLUE,
                ),
            ],
            f(t.balance),
            &m(t.balance),
        ),
    ));
    // Aged balance, stacked by status: a click lists that bucket's customers.
    let status_names = [
        (l.t("In legal", "Contentieux"), charts::PURPLE),
        (l.t("Disputed", "En litige"), charts::AMBER),
        (l.t("Promised", "Promis"), charts::BLUE),
        (l.t("Other", "Autre"), charts::GREY),
    ];
    let bars: Vec<Bar> = r
        .aging
        .iter()
        .enumerate()
        .map(|(i, a)| Bar {
            label: charts::Label::plain(bucket_label(l, &a.bucket)),
            text: l.compact(a.amount),
            segments: status_names
                .iter()
                .zip(&figures.aging_by_status)
                .rev()
                .map(|((name, color), amounts)| {
                    let x = Money::new(amounts.get(i).copied().unwrap_or(0), cur);
                    charts::Segment {
                        name: name.to_string(),
                        value: x.units(),
                        text: l.compact(x),
                        color,
                    }
                })
                .collect(),
            href: Some(format!("/aging?{}&bucket={i}", p.raw)),
        })
        .collect();
    debug_assert_eq!(AGING_STATUSES.len(), status_names.len());
    cards.push(card(
        l,
        "aging",
        l.t("Aged balance", "Balance âgée"),
        &charts::bars(l, l.t("Aged balance", "Balance âgée"), &bars, 480.0),
    ));
    // DSO, CEI and DBT over 12 months.
    let pts = &figures.trend;
    let labels: Vec<charts::Label> = pts
        .iter()
        .map(|x| charts::Label::month(l, x.date))
        .collect();
    let days = l.t(" d", " j");
    let line = |name: &str,
                color,
                unit: &str,
                f: fn(&arpilot_core::trend::TrendPoint) -> Option<f64>| Series {
        name: name.into(),
        color,
        points: pts.iter().map(f).collect(),
        unit: unit.into(),
    };
    cards.push(card(
        l,
        "dso_trend",
        l.t("DSO over 12 months (days)", "DSO sur 12 mois (jours)"),
        &charts::lines(
            l,
            l.t("DSO over 12 months", "DSO sur 12 mois"),
            &labels,
            &[
                line(l.t("Count-back", "Épuisement"), charts::BLUE, days, |p| {
                    Some(p.dso_countback)
                }),
                line(l.t("Standard", "Standard"), charts::GREY, days, |p| {
                    p.dso_standard
                }),
                line(
                    l.t("Best possible", "Meilleur possible"),
                    charts::GREEN,
                    days,
                    |p| p.dso_best_possible,
                ),
                line(l.t("Delinquent", "Retard"), charts::RED, days, |p| {
                    p.dso_delinquent
                }),
            ],
            440.0,
        ),
    ));
    cards.push(card(
        l,
        "cei_trend",
        l.t("CEI (%) and DBT (days)", "CEI (%) et DBT (jours)"),
        &charts::lines(
            l,
            l.t("CEI and DBT over 12 months", "CEI et DBT sur 12 mois"),
            &labels,
            &[
                line(
                    l.t("CEI of the month", "CEI du mois"),
                    charts::BLUE,
                    " %",
                    |p| p.cei_month,
                ),
                line(l.t("DBT", "DBT"), charts::RED, days, |p| p.dbt),
            ],
            440.0,
        ),
    ));
    let cr = &r.collection_rate;
    cards.push(card(
        l,
        "collection",
        l.t("Collection of the month", "Recouvrement du mois"),
        &format!(
            r#"<table class="figures"><tr><th scope="row">{to}</th><td class="n">{tov}</td></tr><tr><th scope="row">{co}</th><td class="n">{cov}</td></tr><tr><th scope="row">{cre}</th><td class="n">{crev}</td></tr><tr><th scope="row">{re}</th><td class="n">{rev}</td></tr><tr class="total"><th scope="row">{ra}</th><td class="n">{rav}</td></tr></table>"#,
            to = l.t("To collect", "À recouvrer"),
            tov = m(cr.to_collect),
            co = l.t("Collected", "Encaissé"),
            cov = m(cr.collected),
            cre = l.t("Credited", "Avoirs"),
            crev = m(cr.credited),
            re = l.t("Remaining", "Reste à recouvrer"),
            rev = m(cr.remaining),
            ra = l.t("Rate", "Taux"),
            rav = l.num(cr.rate, " %"),
        ),
    ));
    let mut top = String::new();
    for d in &r.top_debtors {
        let _ = write!(
            top,
            r#"<tr><td class="name"><a href="/customers/{}?{}" title="{}">{}</a></td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            html::q(&d.customer_id),
            esc(&p.raw),
            esc(&d.customer_id),
            esc(&d.name),
            m(d.balance),
            m(d.overdue)
        );
    }
    cards.push(table_card(
        l,
        "top_debtors",
        l.t("Top debtors", "Principaux débiteurs"),
        [
            l.t("Customer", "Client"),
            l.t("Balance", "Encours"),
            l.t("Overdue", "Échu"),
        ],
        &top,
    ));
    let mut late = String::new();
    for i in &r.top_overdue_invoices {
        let _ = write!(
            late,
            r#"<tr><td class="name">{}<br><small class="muted">{}</small></td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            customer_link(&snap, &i.customer_id, &p.raw),
            esc(&i.document_id),
            m(i.open_amount),
            i.days_overdue
        );
    }
    cards.push(table_card(
        l,
        "top_overdue",
        l.t("Top overdue invoices", "Factures les plus en retard"),
        [
            l.t("Customer · invoice", "Client · facture"),
            l.t("Open", "Restant dû"),
            l.t("Days late", "Jours de retard"),
        ],
        &late,
    ));
    let mut maturity = String::new();
    for row in &r.maturity {
        let _ = write!(
            maturity,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&match row.period.as_str() {
                "overdue" => l.t("Overdue", "Échu").to_string(),
                "rest_of_month" => l.t("Rest of the month", "Reste du mois").to_string(),
                "later" => l.t("Later", "Au-delà").to_string(),
                other => l.month_key(other).unwrap_or_else(|| other.to_string()),
            }),
            m(row.amount),
            row.count
        );
    }
    cards.push(table_card(
        l,
        "maturity",
        l.t("Maturity schedule", "Échéancier"),
        [
            l.t("Period", "Période"),
            l.t("Amount", "Montant"),
            l.t("Invoices", "Factures"),
        ],
        &maturity,
    ));
    // The forecast when it has been computed for these parameters (on its page: a back-test
    // takes seconds on a large ledger), else a link to it.
    let forecast_body = match state
        .cached::<ForecastFigures>(&format!("forecast|{:?}|{}", caller.scope, p.raw))
    {
        Some(f) => {
            let mut rows = String::new();
            for x in f.forecast.future.iter() {
                let _ = write!(
                    rows,
                    r#"<tr><td>{}</td><td class="n">{}</td></tr>"#,
                    esc(&forecast_period(l, &x.period)),
                    m(x.expected)
                );
            }
            let wape = |name: &str| {
                f.backtest
                    .methods
                    .iter()
                    .find(|s| method_name(s.method) == name)
                    .and_then(|s| s.wape.first().copied().flatten())
            };
            format!(
                r#"<div class="scroll"><table class="list"><thead><tr><th>{}</th><th class="n">{}</th></tr></thead><tbody>{rows}</tbody></table></div><p class="muted">{} {} · {} {}</p><p><a href="/forecast?{}">{}</a></p>"#,
                l.t("Period", "Période"),
                l.t("Expected", "Attendu"),
                l.t(
                    "Error at M+1: chosen method",
                    "Erreur à M+1 : méthode retenue"
                ),
                l.num(wape("auto"), " %"),
                l.t("paid on due date", "payé à l'échéance"),
                l.num(wape("due_date"), " %"),
                esc(&p.raw),
                l.t("Details", "Détails"),
            )
        }
        None => format!(
            r#"<p><a href="/forecast?{}">{}</a></p>"#,
            esc(&p.raw),
            l.t(
                "Compute the forecast and its accuracy",
                "Calculer les prévisions et leur précision"
            ),
        ),
    };
    cards.push(card(
        l,
        "forecast",
        l.t("Cash-in forecast", "Prévisions d'encaissement"),
        &forecast_body,
    ));
    // The admin's choice of cards for the caller's role, in its order.
    if let Some(order) =
        arpilot_app::views::dashboard(stored.as_deref().unwrap_or_default(), caller.role.name())
    {
        tiles = arpilot_app::views::arrange(tiles, Some(&order))
            .into_iter()
            .map(|s| ("", s))
            .collect();
        cards = arpilot_app::views::arrange(cards, Some(&order))
            .into_iter()
            .map(|s| ("", s))
            .collect();
    }
    let _ = write!(
        b,
        r#"<section class="kpis" aria-label="{}">{}</section><div class="grid cards">{}</div>"#,
        l.t("Key figures", "Indicateurs clés"),
        tiles.into_iter().map(|(_, s)| s).collect::<String>(),
        cards.into_iter().map(|(_, s)| s).collect::<String>(),
    );
    Html(page(
        l,
        l.t("Dashboard", "Tableau de bord"),
        &nav(&caller, &p, "dashboard"),
        &b,
    ))
    .into_response()
}

/// A forecast period in words: a month, the rest of the month, later.
fn forecast_period(l: Lang, period: &str) -> String {
    match period {
        "rest_of_month" => l.t("Rest of the month", "Reste du mois").to_string(),
        "later" => l.t("Later", "Au-delà").to_string(),
        other => l.month_key(other).unwrap_or_else(|| other.to_string()),
    }
}

/// The collectors the customers are assigned to, sorted.
fn collectors(snap: &Snapshot) -> Vec<String> {
    let Some(col) = snap.customers.dims.get("collector") else {
        return Vec::new();
    };
    let mut v: Vec<String> = (0..snap.customers.names.len() as u32)
        .map(|c| col.value(c).to_string())
        .filter(|v| !v.is_empty())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `GET /worklist`: "To do today", the customers to act on, highest priority first, each with
/// why and what to do. A manager narrows it to a collector with `filter=collector=NAME`.
pub async fn worklist(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    // The page number is this page's own parameter: the report request does not keep it.
    let page_asked = query
        .0
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|v| v.parse::<usize>().ok());
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let as_of = p.date();
    let l = caller.lang;
    let mut rows = try_page!(worklist_rows(&state, &caller, snap.clone(), sel, &p).await);
    match p.sort.as_deref() {
        Some("overdue") => rows.sort_by_key(|b| std::cmp::Reverse(b.overdue)),
        Some("name") => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        _ => {}
    }
    let mut b = format!(
        "<h1>{} {}</h1>{}",
        l.t("To do on", "À traiter le"),
        l.date(as_of),
        toolbar(l, "/worklist", &p, as_of)
    );
    // Managers pick a collector or the whole team (links: every view is a URL).
    let names = collectors(&snap);
    if !caller.scope.restricted() && !names.is_empty() {
        let current = p
            .filters
            .iter()
            .find(|f| f.name == "collector")
            .map(|f| f.value.as_str());
        let link = |label: &str, q: String, on: bool| {
            format!(
                r#"<a href="/worklist?as_of={as_of}{q}"{}>{}</a>"#,
                if on { r#" aria-current="true""# } else { "" },
                esc(label)
            )
        };
        let mut links = vec![link(
            l.t("Whole team", "Toute l'équipe"),
            String::new(),
            current.is_none(),
        )];
        for n in names.iter().take(50) {
            links.push(link(
                n,
                format!("&filter=collector%3D{}", html::q(n)),
                current == Some(n.as_str()),
            ));
        }
        let _ = write!(
            b,
            r#"<nav class="pills" aria-label="{}">{}</nav>"#,
            l.t("Collector", "Chargé de recouvrement"),
            links.join("")
        );
    }
    // 50 a page.
    const PER_PAGE: usize = 50;
    let pages = rows.len().div_ceil(PER_PAGE).max(1);
    let page_no = page_asked.unwrap_or(1).clamp(1, pages);
    let total = arpilot_core::Money::sum(snap.currency, rows.iter().map(|i| i.at_stake));
    // Only the rows shown are put into words.
    let shown: Vec<(usize, arpilot_app::worklist::WorkItem)> = rows
        .iter()
        .enumerate()
        .skip((page_no - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|(k, r)| (k, arpilot_app::worklist::item(r, l)))
        .collect();
    let _ = write!(
        b,
        r#"<p class="muted">{} · {} {}</p><section class="card" data-card="worklist"><div tabindex="0" class="scroll"><table id="worklist" class="list"><thead><tr><th class="n">#</th><th>{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        match (rows.len(), l) {
            (n, arpilot_app::Lang::Fr) => format!("{n} client{}", if n > 1 { "s" } else { "" }),
            (n, _) => format!("{n} customer{}", if n > 1 { "s" } else { "" }),
        },
        l.money(total),
        l.t("at stake", "en jeu"),
        l.t("Customer", "Client"),
        l.t("Score", "Score"),
        l.t("Overdue", "Échu"),
        l.t("At stake", "En jeu"),
        l.t("Last action", "Dernière action"),
        l.t("Why", "Pourquoi"),
        l.t("Next step", "À faire"),
    );
    for (k, it) in &shown {
        let reasons: String = it
            .reasons
            .iter()
            .map(|r| format!("<li>{}</li>", esc(r)))
            .collect();
        let _ = write!(
            b,
            r#"<tr><td class="n">{}</td><td><a href="/customers/{}?{}">{}</a><br><small class="muted">{}{}</small></td><td class="n">{:.1}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td><ul class="reasons">{reasons}</ul></td><td>{}</td></tr>"#,
            k + 1,
            html::q(&it.customer_id),
            esc(&p.raw),
            esc(&it.name),
            esc(&it.customer_id),
            it.collector
                .as_deref()
                .map_or(String::new(), |c| format!(" · {}", esc(c))),
            it.score,
            l.money(it.overdue),
            l.money(it.at_stake),
            it.last_action.map_or("—".to_string(), |d| {
                format!(
                    "{}{}",
                    l.date(d),
                    it.last_action_kind
                        .as_deref()
                        .map_or(String::new(), |k| format!(" ({})", esc(&kind_label(l, k))))
                )
            }),
            esc(&it.suggestion),
        );
    }
    if rows.is_empty() {
        let _ = write!(
            b,
            r#"<tr><td colspan="8">{}</td></tr>"#,
            l.t(
                "Nothing to do: no customer needs an action on this date.",
                "Rien à traiter : aucun client ne demande d'action à cette date."
            )
        );
    }
    b.push_str("</tbody></table></div></section>");
    if pages > 1 {
        let mut nav_pages = String::new();
        for n in 1..=pages {
            let _ = write!(
                nav_pages,
                r#"<a href="/worklist?{}page={n}"{}>{n}</a>"#,
                if p.raw.is_empty() {
                    String::new()
                } else {
                    esc(&format!("{}&", p.raw))
                },
                if n == page_no {
                    r#" aria-current="page""#
                } else {
                    ""
                }
            );
        }
        let _ = write!(
            b,
            r#"<nav class="pager" aria-label="{}">{nav_pages}</nav>"#,
            l.t("Pages", "Pages")
        );
    }
    Html(page(
        l,
        l.t("To do today", "À traiter aujourd'hui"),
        &nav(&caller, &p, "worklist"),
        &b,
    ))
    .into_response()
}

/// The caller's row for customer `id`, or `None` when it is unknown or outside their scope (the
/// two are indistinguishable on purpose).
/// True when customer `id` is in the caller's selection.
fn customer_in_scope(snap: &Snapshot, sel: &Selection, id: &str) -> bool {
    snap.customers.ids.find(id).is_some_and(|c| sel.customer(c))
}

pub async fn customer(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    query: RawQuery,
) -> Response {
    customer_page(&state, &caller, &id, query, None).await
}

/// `GET /customers/{id}/statement.pdf`: the customer's account statement as of the page's date,
/// within the caller's portfolio (404 outside it, as the file).
pub async fn statement_pdf(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    query: RawQuery,
) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let as_of = p.date();
    let company = arpilot_app::statement::Company::from_settings(
        &arpilot_store::UserStore::settings(&state.store)
            .await
            .unwrap_or_default(),
    );
    let Some(s) = arpilot_app::statement::statement(&snap, &sel, &id, as_of, company) else {
        return (StatusCode::NOT_FOUND, "no such customer").into_response();
    };
    crate::pdf_download(
        &format!("releve-{}-{as_of}.pdf", crate::file_safe(&id)),
        arpilot_app::statement::pdf(&s, caller.lang),
    )
}

/// The customer file, with `error` above the work form when recording was refused.
pub(crate) async fn customer_page(
    state: &Shared,
    caller: &Caller,
    id: &str,
    query: RawQuery,
    error: Option<&str>,
) -> Response {
    let (state, caller, id) = (state.clone(), caller, id.to_string());
    let (snap, p, sel) = try_page!(context(&state, caller, query).await);
    let l = caller.lang;
    let as_of = p.date();
    let Some(f) = arpilot_app::customer::file(&snap, &sel, &id, as_of, p.rating(), 20) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                l,
                "404",
                &nav(caller, &p, ""),
                l.t("<h1>No such customer</h1>", "<h1>Client introuvable</h1>"),
            )),
        )
            .into_response();
    };
    let row = &f.customer;
    let one = arpilot_app::customer::only(&snap, &sel, &id);
    let r = try_page!(the_report(&snap, &one, &p));
    let mut b = format!(
        "<h1>{}</h1>{}",
        esc(&row.name),
        toolbar(l, &format!("/customers/{}", html::q(&id)), &p, as_of)
    );
    if let Some(rf) = &f.payment_reference {
        let _ = write!(
            b,
            r#"<p class="muted" id="payment-reference">{} <b>{}</b> · <a href="/customers/{}/statement.pdf?{}">{}</a></p>"#,
            l.t(
                "Payment reference to quote on transfers:",
                "Référence de paiement à rappeler sur les virements :"
            ),
            esc(rf),
            html::q(&id),
            esc(&p.raw),
            l.t("Account statement (PDF)", "Relevé de compte (PDF)"),
        );
    }
    let _ = write!(
        b,
        r#"<section class="kpis"><div class="kpi"><span>{}</span><b>{}</b></div><div class="kpi late"><span>{}</span><b>{}</b></div><div class="kpi"><span>{}</span><b>{} ({})</b></div><div class="kpi"><span>{}</span><b>{}</b></div><div class="kpi"><span>{}</span><b>{}</b></div><div class="kpi"><span>{}</span><b>{}</b></div></section>"#,
        l.t("Balance", "Encours"),
        l.money(row.balance),
        l.t("Overdue", "Échu"),
        l.money(row.overdue),
        l.t("Rating", "Cotation"),
        row.rating.unwrap_or("—"),
        l.num(row.rating_percentile, " %"),
        l.t("Avg days late", "Retard moyen"),
        l.num(row.avg_days_late, l.t(" d", " j")),
        l.t("Revenue weight", "Poids dans le CA"),
        l.num(row.revenue_share_ytd, " %"),
        l.t("Credit available", "Crédit disponible"),
        row.credit_limit
            .map_or("—".into(), |c| l.money(c - row.balance)),
    );
    // Where a collector works: right under the figures.
    let collectors = collectors(&snap);
    b.push_str(&crate::work::forms(
        l,
        &id,
        &p.raw,
        caller.csrf.as_deref().unwrap_or(""),
        !matches!(caller.role, crate::auth::Role::Viewer),
        caller.role.sees_all(),
        &collectors,
        &f,
        as_of,
        error,
    ));
    let bars: Vec<Bar> = r
        .aging
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Bar::single(
                charts::Label::plain(bucket_label(l, &a.bucket)),
                a.amount.units(),
                l.compact(a.amount),
                if i == 0 { charts::GREEN } else { charts::RED },
                None,
            )
        })
        .collect();
    let _ = write!(
        b,
        r#"<div class="grid">{}"#,
        html::card(
            l,
            "aging",
            l.t("Aged balance", "Balance âgée"),
            "aging",
            &charts::bars(l, l.t("Aged balance", "Balance âgée"), &bars, 440.0)
        )
    );
    let mut inv = String::new();
    // The 25 oldest: the rest is one click away in the invoices export.
    for i in f.open_invoices.iter().take(25) {
        let _ = write!(
            inv,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&i.document_id),
            l.date(i.issue_date),
            l.date(i.due_date),
            l.money(i.open_amount),
            i.days_overdue
                .filter(|d| *d > 0)
                .map_or(String::new(), |d| d.to_string())
        );
    }
    let _ = write!(
        b,
        r#"<section class="card" data-card="open_invoices"><div class="card-head"><h2>{}</h2></div><div class="scroll"><table class="list"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>{inv}</tbody></table></div></section></div>"#,
        l.t("Open invoices", "Factures ouvertes"),
        l.t("Invoice", "Facture"),
        l.t("Issued", "Émise"),
        l.t("Due", "Échéance"),
        l.t("Open", "Restant dû"),
        l.t("Days late", "Jours de retard"),
    );
    // Behaviour: rating and days late over 12 months (cached), payments, disputes, promises,
    // actions.
    let key = format!("rating|{:?}|{}|{}", caller.scope, id, p.raw);
    let history = try_page!(
        computed(&state, key, {
            let (snap, sel, id, rating) = (snap.clone(), sel.clone(), id.clone(), *p.rating());
            move || {
                Ok(
                    arpilot_core::analytics::rating_history(&snap, &sel, &id, as_of, 12, &rating)
                        .unwrap_or_default(),
                )
            }
        })
        .await
    );
    let labels: Vec<charts::Label> = history
        .iter()
        .map(|h| charts::Label::month(l, h.date))
        .collect();
    let late = charts::lines(
        l,
        l.t("Average days late", "Retard moyen"),
        &labels,
        &[Series {
            name: l
                .t("Average days late (90 days)", "Retard moyen (90 jours)")
                .into(),
            color: charts::RED,
            points: history.iter().map(|h| h.avg_days_late).collect(),
            unit: l.t(" d", " j").into(),
        }],
        440.0,
    );
    let ratings: String = history
        .iter()
        .map(|h| format!(r#"<td class="n">{}</td>"#, h.rating.unwrap_or("—")))
        .collect();
    let months: String = history
        .iter()
        .map(|h| format!(r#"<th class="n">{}</th>"#, esc(&l.month(h.date))))
        .collect();
    let _ = write!(
        b,
        r#"<div class="grid spaced">{}"#,
        html::card(
            l,
            "payment_behaviour",
            l.t("Payment behaviour", "Comportement de paiement"),
            "payment_behaviour",
            &format!(
                r#"{late}<div tabindex="0" class="scroll spaced"><table class="list"><thead><tr><th>{}</th>{months}</tr></thead><tbody><tr><th scope="row">{}</th>{ratings}</tr></tbody></table></div>"#,
                l.t("Month", "Mois"),
                l.t("Rating", "Cotation"),
            )
        )
    );
    let mut ph = String::new();
    for x in f.payments.iter().take(10) {
        let _ = write!(
            ph,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td></tr>"#,
            l.date(x.date),
            esc(&x.payment_id),
            l.money(x.amount)
        );
    }
    // The 20 latest of the customer's disputes, promises and actions.
    let events: String = f
        .history
        .iter()
        .map(|e| {
            use arpilot_app::customer::Entry;
            let (date, what, detail) = match e {
                Entry::Dispute {
                    date,
                    invoice_id,
                    reason,
                    resolved_on,
                    owner,
                    outcome,
                    comment,
                } => (
                    date,
                    invoice_id.clone(),
                    format!(
                        "{} {}{}{}",
                        l.t("dispute", "litige"),
                        reason,
                        owner.as_deref().map_or(String::new(), |o| format!(
                            " ({} {o})",
                            l.t("owner", "suivi par")
                        )),
                        match resolved_on {
                            Some(r) => format!(
                                " — {} {}{}{}",
                                l.t("resolved", "résolu le"),
                                l.date(*r),
                                outcome.as_deref().map_or(String::new(), |o| format!(
                                    " : {}",
                                    resolution_label(l, o)
                                )),
                                comment
                                    .as_deref()
                                    .map_or(String::new(), |c| format!(" — {c}"))
                            ),
                            None => String::new(),
                        }
                    ),
                ),
                Entry::Promise {
                    date,
                    invoice_id,
                    amount,
                    due_on,
                } => (
                    date,
                    invoice_id.clone(),
                    format!(
                        "{} {} → {}",
                        l.t("promise", "promesse"),
                        l.money(*amount),
                        l.date(*due_on)
                    ),
                ),
                Entry::Action {
                    date,
                    action,
                    agent,
                    invoice_id,
                    outcome,
                    note,
                } => (
                    date,
                    agent.clone(),
                    format!(
                        "{}{}{}{}",
                        kind_label(l, action),
                        invoice_id
                            .as_deref()
                            .map_or(String::new(), |i| format!(" {i}")),
                        outcome
                            .as_deref()
                            .map_or(String::new(), |o| format!(" — {}", outcome_label(l, o))),
                        note.as_deref().map_or(String::new(), |n| format!(" — {n}"))
                    ),
                ),
            };
            format!(
                r#"<tr><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                l.date(*date),
                esc(&what),
                esc(&detail)
            )
        })
        .collect();
    let _ = write!(
        b,
        r#"<section class="card" data-card="payments"><div class="card-head"><h2>{}</h2></div><div class="scroll"><table class="list"><tbody>{ph}</tbody></table></div></section><section class="card" data-card="history"><div class="card-head"><h2>{}</h2></div><div class="scroll"><table class="list history"><tbody>{events}</tbody></table></div></section></div>"#,
        l.t("Last payments", "Derniers paiements"),
        l.t(
            "Disputes, promises and actions",
            "Litiges, promesses et actions"
        ),
    );
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (
        status,
        Html(page(l, &row.name, &nav(caller, &p, "customers"), &b)),
    )
        .into_response()
}

/// An action's kind in words.
pub(crate) fn kind_label(l: Lang, k: &str) -> String {
    match k {
        "call" => l.t("call", "appel"),
        "email" => l.t("e-mail", "e-mail"),
        "letter" => l.t("letter", "courrier"),
        "visit" => l.t("visit", "visite"),
        "note" => l.t("note", "note"),
        other => return other.to_string(),
    }
    .to_string()
}

/// An action's outcome in words.
pub(crate) fn outcome_label(l: Lang, o: &str) -> &'static str {
    match o {
        "reached" => l.t("reached", "joint"),
        "no_answer" => l.t("no answer", "pas de réponse"),
        "promise" => l.t("promise to pay", "promesse de paiement"),
        "dispute" => l.t("dispute", "litige"),
        "refusal" => l.t("refusal", "refus"),
        "wrong_contact" => l.t("wrong contact", "mauvais interlocuteur"),
        _ => "",
    }
}

/// A dispute's resolution in words.
pub(crate) fn resolution_label(l: Lang, o: &str) -> &'static str {
    match o {
        "justified" => l.t("justified, credit note expected", "justifié, avoir attendu"),
        "rejected" => l.t("rejected", "rejeté"),
        "settled" => l.t("settled", "réglé"),
        _ => "",
    }
}

pub fn login_page(lang: Lang, error: Option<&str>, csrf: &str) -> String {
    format!(
        r#"<!doctype html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>arpilot</title><link rel="stylesheet" href="/static/app.css"></head><body><main><form class="login" method="post" action="/login"><h1>arpilot</h1>{}<input type="hidden" name="csrf" value="{}"><label for="login">{}</label><input id="login" name="login" autocomplete="username" required autofocus><label for="password">{}</label><input id="password" name="password" type="password" autocomplete="current-password" required><button class="primary">{}</button></form></main></body></html>"#,
        lang.code(),
        error.map_or(String::new(), |e| format!(
            r#"<p class="err">{}</p>"#,
            esc(e)
        )),
        esc(csrf),
        lang.t("Login", "Identifiant"),
        lang.t("Password", "Mot de passe"),
        lang.t("Sign in", "Se connecter"),
    )
}

/// `GET /events`: a `ledger` event each time a change touches the caller's portfolio (a
/// restricted user is not told of pushes about other customers). The event carries no data:
/// each page refetches itself through its own scope.
pub async fn events(State(state): State<Shared>, caller: Caller) -> impl IntoResponse {
    let rx = tokio_stream::wrappers::BroadcastStream::new(state.live.subscribe());
    let stream = rx.filter_map(move |msg| {
        let seen = match msg {
            Ok(touched) => {
                let snap = state.snapshot();
                match caller.scope.selection(&snap, &[]) {
                    Ok(sel) => touched.seen_by(&snap, &sel),
                    Err(_) => false,
                }
            }
            // Missed messages: say something changed rather than risk a stale page.
            Err(_) => true,
        };
        std::future::ready(seen.then(|| {
            Ok::<_, std::convert::Infallible>(Event::default().event("ledger").data("changed"))
        }))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

pub async fn api_report(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    match the_report(&snap, &sel, &p) {
        Ok(r) => Json(r).into_response(),
        Err(e) => *e,
    }
}

pub async fn api_aging(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, mut p, sel) = try_page!(context(&state, &caller, query).await);
    if p.by.is_none() {
        p.by = Some("customer".into());
    }
    match the_report(&snap, &sel, &p) {
        Ok(r) => Json(AgingAnswer {
            as_of: r.as_of,
            currency: r.currency,
            aging: &r.aging,
            groups: r.groups.as_ref(),
        })
        .into_response(),
        Err(e) => *e,
    }
}

pub async fn api_customers(
    State(state): State<Shared>,
    caller: Caller,
    query: RawQuery,
) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    Json(customer_rows(&snap, &sel, p.date(), p.rating())).into_response()
}

/// `GET /api/worklist`: the customers to act on, highest priority first, in the caller's scope
/// (`filter=collector=NAME` for one collector's list).
pub async fn api_worklist(
    State(state): State<Shared>,
    caller: Caller,
    query: RawQuery,
) -> Response {
    let raw = query.0.clone().unwrap_or_default();
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let rows = try_page!(worklist_rows(&state, &caller, snap, sel, &p).await);
    // The whole list, or one page of it when `page` or `per` is given.
    let paged = form_urlencoded::parse(raw.as_bytes()).any(|(k, _)| k == "page" || k == "per");
    let shown: &[std::sync::Arc<WorklistRow>] = if paged {
        let lq = try_page!(
            arpilot_app::list::ListQuery::from_query(&raw, None)
                .map_err(|e| Box::new(crate::bad_request(e.to_string())))
        );
        // Past the last page: the last, as the other lists.
        &rows[arpilot_app::list::page_bounds(rows.len(), &lq).2]
    } else {
        &rows
    };
    let items: Vec<arpilot_app::worklist::WorkItem> = shown
        .iter()
        .map(|r| arpilot_app::worklist::item(r, caller.lang))
        .collect();
    Json(items).into_response()
}

/// The worklist rows of the selection, highest score first: from the worklist the views keep up
/// to date on append when it answers (the current date, a selection of customers), else computed
/// whole off the async workers and cached with the other figures until the ledger changes.
async fn worklist_rows(
    state: &Shared,
    caller: &Caller,
    snap: std::sync::Arc<Snapshot>,
    sel: Selection,
    p: &Params,
) -> Result<Vec<std::sync::Arc<WorklistRow>>, Box<Response>> {
    let (as_of, rating) = (p.date(), *p.rating());
    let st = state.clone();
    let (s, c) = (snap.clone(), sel.clone());
    let kept = tokio::task::spawn_blocking(move || st.views.worklist(&s, &c, as_of, &rating))
        .await
        .map_err(|_| Box::new(crate::internal_error()))?;
    if let Some(rows) = kept {
        return Ok(rows);
    }
    let key = format!("worklist|{:?}|{}", caller.scope, p.raw);
    let rows = computed(state, key, move || {
        Ok(arpilot_app::worklist::rows(&snap, &sel, as_of, &rating)
            .into_iter()
            .map(std::sync::Arc::new)
            .collect::<Vec<_>>())
    })
    .await?;
    Ok((*rows).clone())
}

pub async fn api_customer(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    query: RawQuery,
) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    match arpilot_app::customer::file(&snap, &sel, &id, p.date(), p.rating(), 20) {
        Some(f) => Json(f).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "no such customer"})),
        )
            .into_response(),
    }
}

pub async fn api_invoices(
    State(state): State<Shared>,
    caller: Caller,
    query: RawQuery,
) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    Json(invoices(&snap, &sel, p.date())).into_response()
}

/// `/export/{aging|customers|invoices}.{xlsx|csv}`: the page's data as a file, in scope.
pub async fn export(
    State(state): State<Shared>,
    caller: Caller,
    Path(file): Path<String>,
    query: RawQuery,
) -> Response {
    use arpilot_app::export::{ExportKind, FileFormat};
    let raw_query = query.0.clone().unwrap_or_default();
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    // The search and sort of the list the download link comes from.
    let list = match arpilot_app::list::ListQuery::from_query(&raw_query, p.sort.as_deref()) {
        Ok(l) => l,
        Err(e) => return bad_request(e.to_string()),
    };
    let (kind, ext) = file.rsplit_once('.').unwrap_or((&file, ""));
    let Some(kind) = ExportKind::parse(kind) else {
        return bad_request(format!(
            "no export named {kind:?} (expected aging, customers or invoices)"
        ));
    };
    let Some(format) = FileFormat::parse(ext) else {
        return bad_request(format!("export format {ext:?}: expected xlsx or csv"));
    };
    let l = caller.lang;
    let as_of = p.date();
    let bytes = match arpilot_app::export::table(
        kind,
        &snap,
        &sel,
        &p.req,
        &p.defaults,
        as_of,
        Some(&list),
        l,
    )
    .and_then(|sheet| arpilot_app::export::encode(&sheet, format, l))
    {
        Ok(b) => b,
        Err(arpilot_app::export::ExportError::Xlsx(e)) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
        }
        Err(e) => return bad_request(e.to_string()),
    };
    let name = format!("arpilot-{}-{as_of}.{ext}", kind.name());
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                format.content_type().to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// KPIs per collector and the cash collected each day of the month.
pub struct TeamFigures {
    rows: Vec<arpilot_core::analytics::TeamRow>,
    days: Vec<(arpilot_core::Day, Money)>,
    work: arpilot_core::work::WorkKpis,
}

pub async fn team(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let as_of = p.date();
    let key = format!("team|{:?}|{}", caller.scope, p.raw);
    let params = try_page!(report_params(&p));
    let f = try_page!(
        computed(&state, key, {
            let snap = snap.clone();
            move || {
                let rows = arpilot_core::analytics::team(&snap, &sel, &params)
                    .map_err(|e| Box::new(bad_request(e.to_string())))?;
                let cum = arpilot_core::daily::Daily::of(&snap, &sel).cumulative();
                let days = (as_of.month_start().0..=as_of.0)
                    .map(|d| {
                        (
                            arpilot_core::Day(d),
                            Money::new(cum.payments(d - 1, d), snap.currency),
                        )
                    })
                    .collect();
                let work = arpilot_core::work::work(&snap, &sel, as_of, 30, 30);
                Ok(TeamFigures { rows, days, work })
            }
        })
        .await
    );
    let l = caller.lang;
    let mut b = format!(
        "<h1>{} {}</h1>{}",
        l.t("Collection as of", "Recouvrement au"),
        l.date(as_of),
        toolbar(l, "/team", &p, as_of)
    );
    let bars: Vec<Bar> = f
        .days
        .iter()
        .map(|(d, m)| {
            let mut label = charts::Label::plain(d.ymd().2.to_string());
            label.full = l.date(*d);
            Bar::single(label, m.units(), l.money(*m), charts::BLUE, None)
        })
        .collect();
    let _ = write!(
        b,
        r#"<section class="card" data-card="cash_per_day"><div class="card-head"><h2>{}</h2>{}</div>{}</section><section class="card spaced" data-card="team"><div class="card-head"><h2>{}</h2>{}</div><div tabindex="0" class="scroll"><table id="team" class="list"><thead><tr><th>{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        l.t(
            "Cash collected each day of the month",
            "Encaissements de chaque jour du mois"
        ),
        html::help(l, "cash_per_day"),
        charts::bars(
            l,
            l.t("Cash collected per day", "Encaissements par jour"),
            &bars,
            1100.0
        ),
        l.t("By collector", "Par recouvreur"),
        html::help(l, "team"),
        l.t("Collector", "Recouvreur"),
        l.t("Customers", "Clients"),
        l.t("Balance", "Encours"),
        l.t("Overdue", "Échu"),
        l.t("To collect", "À recouvrer"),
        l.t("Collected", "Encaissé"),
        l.t("Remaining", "Reste à recouvrer"),
        l.t("Rate", "Taux"),
        l.t("Days to collect", "Délai d'encaissement"),
        l.t("Open disputes", "Litiges ouverts"),
        l.t("Actions", "Actions"),
    );
    for r in &f.rows {
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(if r.collector.is_empty() {
                "—"
            } else {
                &r.collector
            }),
            r.customers,
            l.money(r.balance),
            l.money(r.overdue),
            l.money(r.to_collect),
            l.money(r.collected),
            l.money(r.remaining),
            l.num(r.collection_rate, " %"),
            l.num(r.days_to_collect, l.t(" d", " j")),
            r.disputes_open,
            r.actions_month.values().sum::<u64>(),
        );
    }
    b.push_str("</tbody></table></div></section>");
    b.push_str(&work_table(l, &f.work));
    Html(page(
        l,
        l.t("Collection", "Recouvrement"),
        &nav(&caller, &p, "team"),
        &b,
    ))
    .into_response()
}

/// The team's work over the last 30 days (docs/kpis.md, "Work KPIs").
fn work_table(l: Lang, k: &arpilot_core::work::WorkKpis) -> String {
    let mut b = format!(
        r#"<section class="card spaced" data-card="work"><div class="card-head"><h2>{} {} – {}</h2>{}</div><div tabindex="0" class="scroll"><table id="work-kpis" class="list"><thead><tr><th>{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        l.t("Work from", "Activité du"),
        l.date(k.from),
        l.date(k.to),
        html::help(l, "work"),
        l.t("Collector", "Recouvreur"),
        l.t("Actions", "Actions"),
        l.t("Per day", "Par jour"),
        l.t("Contact rate", "Taux de contact"),
        l.t("Promises obtained", "Promesses obtenues"),
        l.t("Kept / broken", "Tenues / non tenues"),
        l.t("Days to 1st action", "Délai 1re action"),
        l.t("Disputes opened / resolved", "Litiges ouverts / résolus"),
        l.t("Paid within 7 / 30 d", "Payé sous 7 / 30 j"),
        l.t("Cash after action", "Encaissé après action"),
        l.t(
            "Backlog (30 d without action)",
            "En souffrance (30 j sans action)"
        ),
    );
    for (r, total) in k
        .rows
        .iter()
        .map(|r| (r, false))
        .chain(std::iter::once((&k.total, true)))
    {
        let _ = write!(
            b,
            r#"<tr{}><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{} · {}</td><td class="n">{} / {}</td><td class="n">{}</td><td class="n">{} / {}</td><td class="n">{} / {}</td><td class="n">{}</td><td class="n">{} · {}</td></tr>"#,
            if total { r#" class="total""# } else { "" },
            esc(r.collector.as_deref().unwrap_or(l.t("Team", "Équipe"))),
            r.actions,
            l.num(Some(r.actions_per_day), ""),
            l.num(r.contact_rate, " %"),
            r.promises_obtained,
            l.money(r.promised_amount),
            r.promises_kept,
            r.promises_broken,
            l.num(r.avg_days_to_first_action, l.t(" d", " j")),
            r.disputes_opened,
            r.disputes_resolved,
            l.num(r.activation_7, " %"),
            l.num(r.activation_30, " %"),
            l.money(r.cash_after_action),
            r.backlog_customers,
            l.money(r.backlog_overdue),
        );
    }
    b.push_str("</tbody></table></div></section>");
    b
}

/// `GET /api/work?days=30`: the work KPIs over the `days` (1 to 366) days ending on the as-of
/// date, per collector and for the caller's whole selection.
pub async fn api_work(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let days = p.days.unwrap_or(30) as i32;
    Json(arpilot_core::work::work(&snap, &sel, p.date(), days, 30)).into_response()
}

/// Past months' cash and the forecast, with the forecast's measured accuracy.
pub struct ForecastFigures {
    forecast: arpilot_core::forecast::Forecast,
    backtest: arpilot_core::forecast::Backtest,
}

/// The forecast as of `as_of` and its accuracy over the 12 month ends whose next three months
/// are known, cached like the dashboard's figures.
async fn forecast_figures(
    state: &Shared,
    caller: &Caller,
    snap: std::sync::Arc<Snapshot>,
    sel: Selection,
    p: &Params,
    as_of: arpilot_core::Day,
) -> Result<std::sync::Arc<ForecastFigures>, Box<Response>> {
    let key = format!("forecast|{:?}|{}", caller.scope, p.raw);
    computed(state, key, move || {
        // The management report's rule: one forecast and one back-test for both.
        let (fc, bt) = arpilot_app::management::forecast_with_accuracy(&snap, &sel, as_of);
        Ok(ForecastFigures {
            forecast: fc,
            backtest: bt,
        })
    })
    .await
}

pub async fn forecast(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let as_of = p.date();
    let f = try_page!(forecast_figures(&state, &caller, snap.clone(), sel, &p, as_of).await);
    let l = caller.lang;
    let mut bars: Vec<Bar> = f
        .forecast
        .past
        .iter()
        .map(|m| Bar {
            label: charts::Label::month_key(l, &m.month),
            text: l.compact(m.collected),
            segments: vec![charts::Segment {
                name: l.t("Collected", "Encaissé").into(),
                value: m.collected.units(),
                text: l.money(m.collected),
                color: charts::GREY,
            }],
            href: None,
        })
        .collect();
    bars.extend(f.forecast.future.iter().map(|m| Bar {
        label: match m.period.as_str() {
            "rest_of_month" => charts::Label {
                line: l.t("rest", "reste").into(),
                sub: l.t("of month", "du mois").into(),
                full: forecast_period(l, &m.period),
            },
            "later" => charts::Label::plain(forecast_period(l, &m.period)),
            other => charts::Label::month_key(l, other),
        },
        text: l.compact(m.expected),
        segments: vec![charts::Segment {
            name: l.t("Expected", "Attendu").into(),
            value: m.expected.units(),
            text: l.money(m.expected),
            color: charts::BLUE,
        }],
        href: None,
    }));
    let mut b = format!(
        "<h1>{} {}</h1>{}",
        l.t("Cash-in forecast as of", "Prévisions d'encaissement au"),
        l.date(as_of),
        toolbar(l, "/forecast", &p, as_of)
    );
    let _ = write!(
        b,
        r#"<section class="card" data-card="forecast"><div class="card-head"><h2>{}</h2>{}</div>{}<p class="muted">{}</p></section>"#,
        l.t("Collected and expected each month", "Encaissé et attendu chaque mois"),
        html::help(l, "forecast"),
        charts::bars(
            l,
            l.t("Cash-in forecast", "Prévisions d'encaissement"),
            &bars,
            1100.0
        ),
        l.t(
            "Expected from promises to pay, disputes' usual resolution times and each customer's payment habits.",
            "Attendu d'après les promesses de paiement, la durée habituelle des litiges et les habitudes de paiement de chaque client."
        ),
    );
    let _ = write!(
        b,
        r#"<section class="card spaced" data-card="forecast_accuracy"><div class="card-head"><h2>{}</h2>{}</div><div tabindex="0" class="scroll"><table id="accuracy" class="list"><thead><tr><th>{}</th>"#,
        l.t(
            "Measured accuracy (weighted absolute percentage error, lower is better)",
            "Précision mesurée (erreur absolue pondérée, plus bas = mieux)"
        ),
        html::help(l, "forecast_accuracy"),
        l.t("Method", "Méthode"),
    );
    for h in &f.backtest.horizons {
        let _ = write!(b, r#"<th class="n">{h}</th>"#);
    }
    b.push_str("</tr></thead><tbody>");
    for m in &f.backtest.methods {
        let name = method_name(m.method);
        let label = match name.as_str() {
            "auto" => l.t("Chosen method (auto)", "Méthode retenue (auto)"),
            "due_date" => l.t("Paid on due date (naive)", "Payé à l'échéance (naïf)"),
            "mean_delay" => l.t("Mean delay", "Retard moyen"),
            "distribution" => l.t("Days-late distribution", "Distribution des retards"),
            _ => "",
        };
        let _ = write!(b, "<tr><td>{}</td>", esc(label));
        for w in &m.wape {
            let _ = write!(b, r#"<td class="n">{}</td>"#, l.num(*w, " %"));
        }
        b.push_str("</tr>");
    }
    let _ = write!(
        b,
        r#"</tbody></table></div><p class="muted">{} {} → {}</p></section>"#,
        l.t(
            "Forecasts made at each month end from",
            "Prévisions faites à chaque fin de mois du"
        ),
        l.date(f.backtest.from),
        l.date(f.backtest.to)
    );
    Html(page(
        l,
        l.t("Forecast", "Prévisions"),
        &nav(&caller, &p, "forecast"),
        &b,
    ))
    .into_response()
}

pub async fn disputes(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let r = try_page!(the_report(&snap, &sel, &p));
    let broken = arpilot_core::analytics::broken_promises(&snap, &sel, r.as_of);
    let l = caller.lang;
    let d = &r.disputes;
    let pr = &r.promises;
    let mut b = format!(
        "<h1>{} {}</h1>{}",
        l.t("Disputes and promises as of", "Litiges et promesses au"),
        l.date(r.as_of),
        toolbar(l, "/disputes", &p, r.as_of)
    );
    let kpi = |label: &str, value: String, help: &str| {
        format!(
            r#"<div class="kpi"><div class="kpi-head"><span class="kpi-name">{}</span>{}</div><b>{}</b></div>"#,
            esc(label),
            html::help(l, help),
            esc(&value)
        )
    };
    let _ = write!(
        b,
        r#"<section class="kpis">{}{}{}{}{}{}</section>"#,
        kpi(
            l.t("Open disputes", "Litiges ouverts"),
            format!("{} · {}", d.open_count, l.compact(d.open_amount)),
            "disputes"
        ),
        kpi(
            l.t("Resolution rate, 90 days", "Taux de résolution, 90 j"),
            l.num(d.resolution_rate_90_days, " %"),
            "disputes"
        ),
        kpi(
            l.t("Average resolution", "Durée moyenne de résolution"),
            l.num(d.avg_resolution_days_90_days, l.t(" d", " j")),
            "disputes"
        ),
        kpi(
            l.t("Dispute DSO", "DSO litiges"),
            l.num(d.dispute_dso, l.t(" d", " j")),
            "dispute_dso"
        ),
        kpi(
            l.t("Open promises", "Promesses en cours"),
            format!("{} · {}", pr.open_count, l.compact(pr.open_amount)),
            "promises"
        ),
        kpi(
            l.t("Promises kept, 90 days", "Promesses tenues, 90 j"),
            l.num(pr.kept_rate_90_days, " %"),
            "promises"
        ),
    );
    let _ = write!(
        b,
        r#"<div class="grid"><section class="card" data-card="dispute_reasons"><div class="card-head"><h2>{}</h2></div><div class="scroll"><table id="reasons" class="list"><thead><tr><th>{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        l.t("Open disputes by reason", "Litiges ouverts par motif"),
        l.t("Reason", "Motif"),
        l.t("Count", "Nombre"),
        l.t("Amount", "Montant"),
    );
    for row in &d.by_reason {
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(if row.reason.is_empty() {
                "—"
            } else {
                &row.reason
            }),
            row.count,
            l.money(row.amount)
        );
    }
    let _ = write!(
        b,
        r#"</tbody></table></div></section><section class="card" data-card="broken_promises"><div class="card-head"><h2>{}</h2>{}</div><div class="scroll"><table id="broken" class="list"><thead><tr><th>{}</th><th>{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        l.t(
            "Broken promises, last 90 days",
            "Promesses non tenues, 90 derniers jours"
        ),
        html::help(l, "broken_promises"),
        l.t("Customer · invoice", "Client · facture"),
        l.t("Promised for", "Promis pour le"),
        l.t("Amount", "Montant"),
        l.t("Paid by then", "Payé à date"),
    );
    for x in &broken {
        let _ = write!(
            b,
            r#"<tr><td class="name">{}<br><small class="muted">{}</small></td><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            customer_link(&snap, &x.customer_id, &p.raw),
            esc(&x.document_id),
            l.date(x.due_on),
            l.money(x.amount),
            l.money(x.paid_by_due)
        );
    }
    b.push_str("</tbody></table></div></section></div>");
    Html(page(
        l,
        l.t("Disputes and promises", "Litiges et promesses"),
        &nav(&caller, &p, "disputes"),
        &b,
    ))
    .into_response()
}

pub async fn api_team(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    match arpilot_core::analytics::team(&snap, &sel, &try_page!(report_params(&p))) {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => bad_request(e.to_string()),
    }
}

/// Months of history of the cohorts and the rating history when the request names none.
pub const DEFAULT_MONTHS: usize = 12;

pub async fn api_cohorts(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let months = p.months.unwrap_or(DEFAULT_MONTHS);
    Json(arpilot_core::analytics::cohorts(
        &snap,
        &sel,
        p.date(),
        months,
    ))
    .into_response()
}

pub async fn api_broken_promises(
    State(state): State<Shared>,
    caller: Caller,
    query: RawQuery,
) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    Json(arpilot_core::analytics::broken_promises(
        &snap,
        &sel,
        p.date(),
    ))
    .into_response()
}

pub async fn api_forecast(
    State(state): State<Shared>,
    caller: Caller,
    query: RawQuery,
) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let as_of = p.date();
    let f = try_page!(forecast_figures(&state, &caller, snap.clone(), sel, &p, as_of).await);
    Json(ForecastAnswer {
        forecast: &f.forecast,
        accuracy: &f.backtest,
    })
    .into_response()
}

/// `GET /api/forecast`: the forecast and its measured accuracy.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ForecastAnswer<'a> {
    pub forecast: &'a arpilot_core::forecast::Forecast,
    /// The back-test of the forecast methods over the twelve month ends whose next three months
    /// are known.
    pub accuracy: &'a arpilot_core::forecast::Backtest,
}

/// `GET /api/aging`: the aged balance's buckets and its rows by customer or `by`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct AgingAnswer<'a> {
    pub as_of: arpilot_core::Day,
    pub currency: arpilot_core::Currency,
    pub aging: &'a [arpilot_core::report::BucketRow],
    pub groups: Option<&'a arpilot_core::report::Groups>,
}

/// The JSON answer of a refused request.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ApiError {
    /// What was refused and why, naming the parameter or field (`buckets: expected …`).
    pub error: String,
}

pub async fn api_rating(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    query: RawQuery,
) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let history = customer_in_scope(&snap, &sel, &id)
        .then(|| {
            arpilot_core::analytics::rating_history(
                &snap,
                &sel,
                &id,
                p.date(),
                p.months.unwrap_or(DEFAULT_MONTHS),
                p.rating(),
            )
        })
        .flatten();
    match history {
        Some(h) => Json(h).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "no such customer"})),
        )
            .into_response(),
    }
}

/// A forecast method's name as the JSON and the CLI spell it.
fn method_name(m: arpilot_core::forecast::Method) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Download links of a page's data.
/// The Excel and CSV links of a list: `query` is the page's (the report's parameters, and a
/// list's search and sort, which the file keeps).
pub(crate) fn downloads(lang: Lang, kind: &str, query: &str) -> String {
    format!(
        r#"<p class="downloads">{} <a href="/export/{kind}.xlsx?{q}" download>Excel</a> · <a href="/export/{kind}.csv?{q}" download>CSV</a></p>"#,
        lang.t("Download:", "Télécharger :"),
        q = esc(query)
    )
}
