//! The management report ("rapport de recouvrement") and the KPI comparisons shown on the
//! dashboard: every figure computed once here, from the core kernels, for every shell.
//!
//! Money values in a [`KpiCard`] are in major units of the ledger's currency (euros, not cents)
//! as `f64`, so that every card has the same shape; `unit` says how to write them and
//! [`format_value`] writes them as the locale does.

use crate::Lang;
use crate::statement::{Company, Page, write_pdf};
use arpilot_core::analytics::{TeamError, TeamRow, team};
use arpilot_core::customers::RatingThresholds;
use arpilot_core::forecast::{Backtest, Forecast, Method, backtest, forecast};
use arpilot_core::report::{BucketRow, Cei, ConfigError, Dso, Totals, report};
use arpilot_core::risk::{LateCustomer, RiskPoint, late_customers, risk_at};
use arpilot_core::trend::{TrendPoint, collection_rates_at, trend_at, trend_dates};
use arpilot_core::{Currency, Day, Money, ReportParams, Selection, Snapshot};
use schemars::JsonSchema;
use serde::Serialize;

/// How a card's figures are written.
#[derive(Serialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// An amount in major units of the ledger's currency.
    Money,
    Days,
    Percent,
    Count,
}

/// One KPI with its comparisons: at the as-of date, at the month end before it, one year
/// earlier, and the 12 month ends ending at the as-of date (the last point is `value`).
#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct KpiCard {
    pub key: &'static str,
    pub value: Option<f64>,
    pub previous_month_end: Option<f64>,
    pub last_year: Option<f64>,
    pub spark: Vec<Option<f64>>,
    pub higher_is_better: bool,
    pub unit: Unit,
}

/// Months of the trends and sparklines.
pub const MONTHS: usize = 12;
/// Customers in the list of the latest payers.
pub const TOP_LATE: usize = 20;

/// The same day one year earlier (29 February gives 28 February).
pub fn one_year_before(d: Day) -> Day {
    let (y, m, day) = d.ymd();
    Day::from_ymd(y - 1, m, day)
        .or_else(|| Day::from_ymd(y - 1, m, day - 1))
        .expect("a valid date a year earlier")
}

/// The month end before `d` (when `d` is a month end, the one before it).
pub fn previous_month_end(d: Day) -> Day {
    d.month_end_offset(-1)
}

/// Every figure of the cards at the dates they compare: one year earlier, then the 12 month
/// ends ending at the as-of date, computed in one pass per kernel.
struct Series {
    dates: Vec<Day>,
    trend: Vec<TrendPoint>,
    rates: Vec<Option<f64>>,
    risk: Vec<RiskPoint>,
}

fn series(snap: &Snapshot, sel: &Selection, as_of: Day, rating: &RatingThresholds) -> Series {
    let mut dates = vec![one_year_before(as_of)];
    dates.extend(trend_dates(as_of, MONTHS));
    Series {
        trend: trend_at(snap, sel, &dates),
        rates: collection_rates_at(snap, sel, &dates),
        risk: risk_at(snap, sel, &dates, rating),
        dates,
    }
}

/// The cards' figures at the series' date `k`, in the order of [`CARDS`].
fn figures(s: &Series, k: usize) -> [Option<f64>; 11] {
    let t = &s.trend[k];
    let r = &s.risk[k];
    [
        Some(t.balance.units()),
        Some(t.overdue.units()),
        Some(t.dso_countback),
        t.dbt,
        t.cei_month,
        s.rates[k],
        Some(r.overdue_accounts as f64),
        Some(r.at_risk as f64),
        Some(r.at_risk_amount.units()),
        r.paid_on_time.count_share,
        r.average_age,
    ]
}

/// Key, higher is better, unit: the cards in their order.
pub const CARDS: [(&str, bool, Unit); 11] = [
    ("balance", false, Unit::Money),
    ("overdue", false, Unit::Money),
    ("dso_countback", false, Unit::Days),
    ("dbt", false, Unit::Days),
    ("cei_month", true, Unit::Percent),
    ("collection_rate", true, Unit::Percent),
    ("overdue_accounts", false, Unit::Count),
    ("customers_at_risk", false, Unit::Count),
    ("at_risk_amount", false, Unit::Money),
    ("paid_on_time_share", true, Unit::Percent),
    ("average_age", false, Unit::Days),
];

fn cards(s: &Series) -> Vec<KpiCard> {
    let n = s.dates.len();
    let at: Vec<[Option<f64>; 11]> = (0..n).map(|k| figures(s, k)).collect();
    CARDS
        .iter()
        .enumerate()
        .map(|(j, &(key, higher_is_better, unit))| KpiCard {
            key,
            value: at[n - 1][j],
            // Dates: one year earlier, then the 12 month ends (the 11th is the previous one).
            previous_month_end: at[n - 2][j],
            last_year: at[0][j],
            spark: at[1..].iter().map(|f| f[j]).collect(),
            higher_is_better,
            unit,
        })
        .collect()
}

/// The KPI cards as of `params.as_of` for the selection, in a fixed order: balance, overdue,
/// dso_countback, dbt, cei_month, collection_rate, overdue_accounts, customers_at_risk,
/// at_risk_amount, paid_on_time_share, average_age. `rating` are the payer-rating thresholds
/// of the customers page (a customer rated D is at risk).
///
/// Each value is the figure the report, the trend and the risk kernel give for that date:
/// balance and overdue in major units, DSO (count-back), DBT and average age in days, CEI of the
/// month, collection rate of the month and the share of invoices paid by their due date in %.
pub fn kpi_cards(
    snap: &Snapshot,
    sel: &Selection,
    params: &ReportParams,
    rating: &RatingThresholds,
) -> Result<Vec<KpiCard>, ConfigError> {
    Ok(cards(&series(snap, sel, params.as_of, rating)))
}

/// A card's figure as the locale writes it: amounts as `Lang::amount`, days and percentages
/// with one decimal (`Lang::num`), counts as integers; `—` when there is none.
pub fn format_value(l: Lang, unit: Unit, v: Option<f64>, currency: Currency) -> String {
    match (unit, v) {
        (_, None) => "—".into(),
        (Unit::Money, Some(x)) => {
            let scale = 10f64.powi(currency.decimals() as i32);
            l.amount(Money::new((x * scale).round() as i64, currency))
        }
        (Unit::Days, x) => l.num(x, ""),
        (Unit::Percent, x) => l.num(x, " %"),
        (Unit::Count, Some(x)) => format!("{x:.0}"),
    }
}

/// The forecast as of `as_of` (the automatic method, six past months) and its accuracy over
/// the 12 month ends whose next three months are known: the figures of the forecast page and
/// `GET /api/forecast`.
pub fn forecast_with_accuracy(
    snap: &Snapshot,
    sel: &Selection,
    as_of: Day,
) -> (Forecast, Backtest) {
    let fc = forecast(snap, sel, as_of, Method::Auto, 6);
    let to = as_of.month_end_offset(-4);
    let bt = backtest(snap, sel, to.month_end_offset(-11), to);
    (fc, bt)
}

/// One dispute reason: disputes open at the date, and those resolved in the last 90 days.
#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct DisputeReason {
    pub reason: String,
    pub open_count: u64,
    pub open_amount: Money,
    pub opened_90_days: u64,
    pub resolved_90_days: u64,
    /// Average days from opening to resolution of those resolved in the last 90 days.
    pub avg_resolution_days: Option<f64>,
}

#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct DisputeSection {
    pub open_count: u64,
    pub open_amount: Money,
    pub opened_90_days: u64,
    pub resolved_90_days: u64,
    pub resolution_rate_90_days: Option<f64>,
    pub avg_resolution_days_90_days: Option<f64>,
    /// Largest open amount first, then the reasons with only resolutions (by name).
    pub by_reason: Vec<DisputeReason>,
}

/// The management report as of a date for a selection.
#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct ManagementReport {
    pub as_of: Day,
    pub currency: Currency,
    /// The cover: each KPI at the date, at the previous month end, a year earlier, 12 months.
    pub kpis: Vec<KpiCard>,
    pub totals: Totals,
    pub aging: Vec<BucketRow>,
    pub dso: Dso,
    pub dbt: Option<f64>,
    pub cei: Cei,
    /// The 12 month ends ending at the date (the last point is the date).
    pub trend: Vec<TrendPoint>,
    /// The collection rate of the month of each trend point.
    pub collection_rates: Vec<Option<f64>>,
    /// The customers with the largest overdue amounts (20).
    pub top_late: Vec<LateCustomer>,
    pub disputes: DisputeSection,
    /// Collection per collector (the team page's rows).
    pub collectors: Vec<TeamRow>,
    pub forecast: Forecast,
    /// The forecast methods' measured accuracy (the forecast page's back-test).
    pub forecast_accuracy: Backtest,
    /// The risk figures at the date.
    pub risk: RiskPoint,
    /// The risk figures at the 12 month ends ending at the date.
    pub risk_trend: Vec<RiskPoint>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Team(#[from] TeamError),
}

/// The management report as of `params.as_of` for the selection.
pub fn build(
    snap: &Snapshot,
    sel: &Selection,
    params: &ReportParams,
    rating: &RatingThresholds,
) -> Result<ManagementReport, ManagementError> {
    let d = params.as_of;
    let r = report(snap, sel, params)?;
    let s = series(snap, sel, d, rating);
    let kpis = cards(&s);
    let work = arpilot_core::work::work(snap, sel, d, 90, 30);
    let mut by_reason: Vec<DisputeReason> = r
        .disputes
        .by_reason
        .iter()
        .map(|x| {
            let w = work.total.disputes_by_reason.get(&x.reason);
            DisputeReason {
                reason: x.reason.clone(),
                open_count: x.count,
                open_amount: x.amount,
                opened_90_days: w.map_or(0, |w| w.opened),
                resolved_90_days: w.map_or(0, |w| w.resolved),
                avg_resolution_days: w.and_then(|w| w.avg_resolution_days),
            }
        })
        .collect();
    by_reason.sort_by(|a, b| {
        b.open_amount
            .minor
            .cmp(&a.open_amount.minor)
            .then_with(|| a.reason.cmp(&b.reason))
    });
    for (reason, w) in &work.total.disputes_by_reason {
        if !by_reason.iter().any(|x| &x.reason == reason) {
            by_reason.push(DisputeReason {
                reason: reason.clone(),
                open_count: 0,
                open_amount: Money::zero(snap.currency),
                opened_90_days: w.opened,
                resolved_90_days: w.resolved,
                avg_resolution_days: w.avg_resolution_days,
            });
        }
    }
    let (fc, bt) = forecast_with_accuracy(snap, sel, d);
    let collectors = team(snap, sel, params)?;
    let last = s.dates.len() - 1;
    Ok(ManagementReport {
        as_of: d,
        currency: snap.currency,
        kpis,
        totals: r.totals,
        aging: r.aging,
        dso: r.dso,
        dbt: r.dbt,
        cei: r.cei,
        trend: s.trend[1..].to_vec(),
        collection_rates: s.rates[1..].to_vec(),
        top_late: late_customers(snap, sel, d, TOP_LATE),
        disputes: DisputeSection {
            open_count: r.disputes.open_count,
            open_amount: r.disputes.open_amount,
            opened_90_days: r.disputes.opened_90_days,
            resolved_90_days: r.disputes.resolved_90_days,
            resolution_rate_90_days: r.disputes.resolution_rate_90_days,
            avg_resolution_days_90_days: r.disputes.avg_resolution_days_90_days,
            by_reason,
        },
        collectors,
        forecast: fc,
        forecast_accuracy: bt,
        risk: s.risk[last].clone(),
        risk_trend: s.risk[1..].to_vec(),
    })
}

// ---------------------------------------------------------------------------------------------
// PDF

/// The words of a KPI card.
pub fn kpi_label(l: Lang, key: &str) -> &'static str {
    match key {
        "balance" => l.t("Balance", "Encours"),
        "overdue" => l.t("Overdue", "Échu"),
        "dso_countback" => l.t("DSO (count-back, days)", "DSO (épuisement, jours)"),
        "dbt" => l.t("Days beyond terms", "Retard moyen pondéré (jours)"),
        "cei_month" => l.t("CEI of the month", "CEI du mois"),
        "collection_rate" => l.t(
            "Collection rate of the month",
            "Taux de recouvrement du mois",
        ),
        "overdue_accounts" => l.t("Overdue accounts", "Comptes en retard"),
        "customers_at_risk" => l.t("Customers at risk", "Clients à risque"),
        "at_risk_amount" => l.t("Owed by customers at risk", "Encours des clients à risque"),
        "paid_on_time_share" => l.t("Invoices paid on time", "Factures payées à l'échéance"),
        "average_age" => l.t("Average age (days)", "Âge moyen des créances (jours)"),
        _ => l.t("Figure", "Indicateur"),
    }
}

fn bucket_label(l: Lang, b: &str) -> String {
    if b == "not_due" {
        l.t("Not due", "Non échu").to_string()
    } else {
        format!("{b} {}", l.t("days", "j"))
    }
}

const TOP: f32 = 800.0;
const BOTTOM: f32 = 60.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
const ROW: f32 = 13.0;
const BLUE: (f32, f32, f32) = (0.16, 0.38, 0.71);
const GREY: (f32, f32, f32) = (0.6, 0.6, 0.6);
const RED: (f32, f32, f32) = (0.78, 0.2, 0.2);

/// A line of a chart: its name, colour and values.
type Line<'a> = (&'a str, (f32, f32, f32), Vec<Option<f64>>);

/// A column: header, x (left edge, or right edge when right-aligned), right-aligned.
type Col<'a> = (&'a str, f32, bool);

/// Pages being written, top to bottom, with a new page when one is full.
struct Doc {
    pages: Vec<Page>,
    y: f32,
}

impl Doc {
    fn new() -> Doc {
        Doc {
            pages: vec![Page::new()],
            y: TOP,
        }
    }

    fn page(&mut self) -> &mut Page {
        self.pages.last_mut().expect("a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Page::new());
        self.y = TOP;
    }

    /// Room for `h` points more on this page, else a new page.
    fn room(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn heading(&mut self, s: &str) {
        self.room(60.0);
        self.y -= 8.0;
        let y = self.y;
        self.page().text(LEFT, y, 13.0, true, s);
        self.y -= 20.0;
    }

    fn line_of_text(&mut self, s: &str) {
        self.room(ROW);
        let y = self.y;
        self.page().text(LEFT, y, 9.0, false, s);
        self.y -= ROW;
    }

    fn header_row(&mut self, cols: &[Col]) {
        let y = self.y;
        let p = self.page();
        for &(h, x, right) in cols {
            if right {
                p.text_right(x, y, 8.5, true, h);
            } else {
                p.text(x, y, 8.5, true, h);
            }
        }
        p.line(LEFT, y - 4.0, RIGHT, y - 4.0);
        self.y -= ROW + 3.0;
    }

    /// A table whose header is repeated on each page it spans.
    fn table(&mut self, cols: &[Col], rows: &[Vec<String>]) {
        self.room(3.0 * ROW);
        self.header_row(cols);
        for r in rows {
            if self.y - ROW < BOTTOM {
                self.new_page();
                self.header_row(cols);
            }
            let y = self.y;
            let p = self.page();
            for (&(_, x, right), v) in cols.iter().zip(r) {
                if right {
                    p.text_right(x, y, 8.5, false, v);
                } else {
                    p.text(x, y, 8.5, false, v);
                }
            }
            self.y -= ROW;
        }
        self.y -= 6.0;
    }

    /// A line chart of `series` (colour, values) over `labels`, `h` points high.
    fn chart(&mut self, labels: &[String], series: &[Line]) {
        let h = 110.0;
        self.room(h + 40.0);
        let (x0, x1) = (LEFT + 30.0, RIGHT - 10.0);
        let y0 = self.y - h;
        let max = series
            .iter()
            .flat_map(|s| s.2.iter().flatten())
            .fold(0.0f64, |a, &b| a.max(b));
        let max = if max <= 0.0 { 1.0 } else { max * 1.1 };
        let n = labels.len().max(2);
        let step = (x1 - x0) / (n - 1) as f32;
        let p = self.page();
        p.line(x0, y0, x1, y0);
        p.line(x0, y0, x0, y0 + h);
        p.text_right(x0 - 4.0, y0 + h - 6.0, 7.0, false, &format!("{max:.0}"));
        p.text_right(x0 - 4.0, y0 - 2.0, 7.0, false, "0");
        for (k, lab) in labels.iter().enumerate() {
            if k % 2 == 1 || k + 1 == labels.len() {
                p.text(x0 + k as f32 * step - 12.0, y0 - 11.0, 6.5, false, lab);
            }
        }
        let mut lx = x0;
        for (name, rgb, values) in series {
            let pts: Vec<(f32, f32)> = values
                .iter()
                .enumerate()
                .filter_map(|(k, v)| v.map(|v| (x0 + k as f32 * step, y0 + (v / max) as f32 * h)))
                .collect();
            p.polyline(&pts, *rgb, 1.5);
            p.rect_rgb(lx, y0 - 26.0, 10.0, 4.0, *rgb);
            p.text(lx + 14.0, y0 - 28.0, 7.5, false, name);
            lx += 150.0;
        }
        self.y = y0 - 42.0;
    }
}

/// The management report as a multi-page A4 PDF (the writer of the statements), every figure
/// written as `lang` writes it.
pub fn pdf(r: &ManagementReport, lang: Lang, company: &Company) -> Vec<u8> {
    let l = lang;
    let cur = r.currency;
    let amt = |m: Money| l.amount(m);
    let num = |v: Option<f64>| l.num(v, "");
    let pct = |v: Option<f64>| l.num(v, " %");
    let mut d = Doc::new();

    // Cover: the KPIs with their comparisons, the aged balance.
    {
        let p = d.page();
        p.text(
            LEFT,
            TOP - 10.0,
            20.0,
            true,
            l.t("Collection report", "Rapport de recouvrement"),
        );
        p.text(LEFT, TOP - 30.0, 11.0, false, &company.name);
        p.text(
            LEFT,
            TOP - 45.0,
            10.0,
            false,
            &format!(
                "{} {} — {} {}",
                l.t("As of", "Au"),
                l.date(r.as_of),
                l.t("amounts in", "montants en"),
                cur
            ),
        );
    }
    d.y = TOP - 75.0;
    d.heading(l.t("Key figures", "Indicateurs clés"));
    let kpi_cols: [Col; 4] = [
        (l.t("Indicator", "Indicateur"), LEFT, false),
        (l.t("At the date", "À la date"), 340.0, true),
        (
            l.t("Previous month end", "Fin du mois précédent"),
            460.0,
            true,
        ),
        (l.t("A year earlier", "Il y a un an"), RIGHT, true),
    ];
    let kpi_rows: Vec<Vec<String>> = r
        .kpis
        .iter()
        .map(|c| {
            vec![
                kpi_label(l, c.key).to_string(),
                format_value(l, c.unit, c.value, cur),
                format_value(l, c.unit, c.previous_month_end, cur),
                format_value(l, c.unit, c.last_year, cur),
            ]
        })
        .collect();
    d.table(&kpi_cols, &kpi_rows);

    d.heading(l.t("Aged balance", "Balance âgée"));
    let total_open: i64 = r.aging.iter().map(|b| b.amount.minor).sum();
    let aging_cols: [Col; 4] = [
        (l.t("Bucket", "Tranche"), LEFT, false),
        (l.t("Amount", "Montant"), 240.0, true),
        (l.t("Invoices", "Factures"), 300.0, true),
        ("", 320.0, false),
    ];
    d.room(ROW * (r.aging.len() as f32 + 3.0));
    d.header_row(&aging_cols);
    let max = r
        .aging
        .iter()
        .map(|b| b.amount.minor)
        .max()
        .unwrap_or(0)
        .max(1);
    for (k, b) in r.aging.iter().enumerate() {
        let y = d.y;
        let p = d.page();
        p.text(LEFT, y, 8.5, false, &bucket_label(l, &b.bucket));
        p.text_right(240.0, y, 8.5, false, &amt(b.amount));
        p.text_right(300.0, y, 8.5, false, &b.count.to_string());
        let w = (b.amount.minor.max(0) as f64 / max as f64 * 220.0) as f32;
        p.rect_rgb(320.0, y - 1.0, w, 8.0, if k == 0 { BLUE } else { RED });
        d.y -= ROW;
    }
    {
        let y = d.y;
        let p = d.page();
        p.line(LEFT, y + 9.0, 300.0, y + 9.0);
        p.text(
            LEFT,
            y,
            8.5,
            true,
            l.t("Open invoices", "Factures ouvertes"),
        );
        p.text_right(240.0, y, 8.5, true, &amt(Money::new(total_open, cur)));
        d.y -= ROW;
        let y = d.y;
        let p = d.page();
        p.text(LEFT, y, 8.5, false, l.t("Unapplied", "Non affecté"));
        p.text_right(240.0, y, 8.5, false, &amt(r.totals.unapplied));
        d.y -= ROW;
        let y = d.y;
        let p = d.page();
        p.text(LEFT, y, 8.5, true, l.t("Balance", "Encours"));
        p.text_right(240.0, y, 8.5, true, &amt(r.totals.balance));
        d.y -= ROW;
    }

    // Trends.
    d.new_page();
    d.heading(l.t("Trends over 12 months", "Tendances sur 12 mois"));
    let labels: Vec<String> = r.trend.iter().map(|t| t.date.month_label()).collect();
    d.chart(
        &labels,
        &[
            (
                l.t("DSO (count-back)", "DSO (épuisement)"),
                BLUE,
                r.trend.iter().map(|t| Some(t.dso_countback)).collect(),
            ),
            (
                l.t("Days beyond terms", "Retard moyen pondéré"),
                RED,
                r.trend.iter().map(|t| t.dbt).collect(),
            ),
            (
                l.t("CEI of the month (%)", "CEI du mois (%)"),
                GREY,
                r.trend.iter().map(|t| t.cei_month).collect(),
            ),
        ],
    );
    let trend_cols: [Col; 7] = [
        (l.t("Date", "Date"), LEFT, false),
        (l.t("Balance", "Encours"), 200.0, true),
        (l.t("Overdue", "Échu"), 280.0, true),
        ("DSO", 330.0, true),
        ("DBT", 380.0, true),
        (l.t("CEI", "CEI"), 450.0, true),
        (l.t("Collection", "Recouvrement"), RIGHT, true),
    ];
    let trend_rows: Vec<Vec<String>> = r
        .trend
        .iter()
        .zip(&r.collection_rates)
        .map(|(t, &cr)| {
            vec![
                l.date(t.date),
                amt(t.balance),
                amt(t.overdue),
                num(Some(t.dso_countback)),
                num(t.dbt),
                pct(t.cei_month),
                pct(cr),
            ]
        })
        .collect();
    d.table(&trend_cols, &trend_rows);

    // The latest payers.
    d.heading(l.t(
        "Top 20 customers by overdue amount",
        "Les 20 clients les plus en retard",
    ));
    let late_cols: [Col; 6] = [
        (l.t("Customer", "Client"), LEFT, false),
        (l.t("Name", "Nom"), 120.0, false),
        (l.t("Overdue", "Échu"), 355.0, true),
        (l.t("Invoices", "Factures"), 405.0, true),
        (l.t("Days late", "Retard (j)"), 470.0, true),
        (l.t("Oldest (days)", "Plus ancien (j)"), RIGHT, true),
    ];
    let late_rows: Vec<Vec<String>> = r
        .top_late
        .iter()
        .map(|c| {
            vec![
                clip(&c.customer_id, 14),
                clip(&c.name, 34),
                amt(c.overdue),
                c.overdue_invoices.to_string(),
                num(Some(c.days_late)),
                c.oldest_days.to_string(),
            ]
        })
        .collect();
    if late_rows.is_empty() {
        d.line_of_text(l.t("No overdue customer.", "Aucun client en retard."));
    } else {
        d.table(&late_cols, &late_rows);
    }

    // Disputes and collectors.
    d.heading(l.t("Disputes by reason", "Litiges par motif"));
    let ds = &r.disputes;
    d.line_of_text(&format!(
        "{} {} ({}) — {} {}, {} {} ({}), {} {} {}",
        l.t("Open disputes:", "Litiges ouverts :"),
        ds.open_count,
        amt(ds.open_amount),
        l.t("opened in 90 days:", "ouverts sur 90 jours :"),
        ds.opened_90_days,
        l.t("resolved:", "résolus :"),
        ds.resolved_90_days,
        pct(ds.resolution_rate_90_days),
        l.t("average days to resolve:", "durée moyenne de résolution :"),
        num(ds.avg_resolution_days_90_days),
        l.t("days", "jours"),
    ));
    d.y -= 4.0;
    let dispute_cols: [Col; 6] = [
        (l.t("Reason", "Motif"), LEFT, false),
        (l.t("Open", "Ouverts"), 260.0, true),
        (l.t("Amount", "Montant"), 350.0, true),
        (l.t("Opened 90 d", "Ouverts 90 j"), 410.0, true),
        (l.t("Resolved 90 d", "Résolus 90 j"), 475.0, true),
        (l.t("Days to resolve", "Durée (j)"), RIGHT, true),
    ];
    let dispute_rows: Vec<Vec<String>> = ds
        .by_reason
        .iter()
        .map(|x| {
            vec![
                clip(
                    if x.reason.is_empty() {
                        l.t("(no reason)", "(sans motif)")
                    } else {
                        &x.reason
                    },
                    36,
                ),
                x.open_count.to_string(),
                amt(x.open_amount),
                x.opened_90_days.to_string(),
                x.resolved_90_days.to_string(),
                num(x.avg_resolution_days),
            ]
        })
        .collect();
    if !dispute_rows.is_empty() {
        d.table(&dispute_cols, &dispute_rows);
    }

    d.heading(l.t("Collection by collector", "Recouvrement par gestionnaire"));
    let team_cols: [Col; 7] = [
        (l.t("Collector", "Gestionnaire"), LEFT, false),
        (l.t("Customers", "Clients"), 200.0, true),
        (l.t("Balance", "Encours"), 280.0, true),
        (l.t("Overdue", "Échu"), 355.0, true),
        (l.t("Collection", "Recouvrement"), 430.0, true),
        (l.t("Days to pay", "Délai (j)"), 490.0, true),
        (l.t("Disputes", "Litiges"), RIGHT, true),
    ];
    let team_rows: Vec<Vec<String>> = r
        .collectors
        .iter()
        .map(|t| {
            vec![
                clip(
                    if t.collector.is_empty() {
                        l.t("(none)", "(aucun)")
                    } else {
                        &t.collector
                    },
                    26,
                ),
                t.customers.to_string(),
                amt(t.balance),
                amt(t.overdue),
                pct(t.collection_rate),
                num(t.days_to_collect),
                t.disputes_open.to_string(),
            ]
        })
        .collect();
    if team_rows.is_empty() {
        d.line_of_text(l.t(
            "No collector is named on the customers.",
            "Aucun gestionnaire n'est indiqué sur les clients.",
        ));
    } else {
        d.table(&team_cols, &team_rows);
    }

    // Forecast and its accuracy.
    d.heading(l.t("Cash-in forecast", "Prévisions d'encaissement"));
    let fc_cols: [Col; 2] = [
        (l.t("Period", "Période"), LEFT, false),
        (
            l.t("Collected / expected", "Encaissé / attendu"),
            300.0,
            true,
        ),
    ];
    let mut fc_rows: Vec<Vec<String>> = r
        .forecast
        .past
        .iter()
        .map(|m| vec![m.month.clone(), amt(m.collected)])
        .collect();
    fc_rows.extend(r.forecast.future.iter().map(|m| {
        vec![
            match m.period.as_str() {
                "rest_of_month" => l
                    .t("rest of month (expected)", "fin du mois (attendu)")
                    .into(),
                "later" => l.t("later (expected)", "au-delà (attendu)").into(),
                other => format!("{other} ({})", l.t("expected", "attendu")),
            },
            amt(m.expected),
        ]
    }));
    d.table(&fc_cols, &fc_rows);
    d.line_of_text(&format!(
        "{} {} – {}",
        l.t(
            "Accuracy measured on the month ends",
            "Précision mesurée sur les fins de mois"
        ),
        l.date(r.forecast_accuracy.from),
        l.date(r.forecast_accuracy.to),
    ));
    d.y -= 4.0;
    let acc_cols: [Col; 4] = [
        (
            l.t("Method (error, WAPE)", "Méthode (erreur, WAPE)"),
            LEFT,
            false,
        ),
        ("M+1", 330.0, true),
        ("M+2", 430.0, true),
        ("M+3", RIGHT, true),
    ];
    let acc_rows: Vec<Vec<String>> = r
        .forecast_accuracy
        .methods
        .iter()
        .map(|m| {
            let mut v = vec![method_name(l, m.method)];
            v.extend((0..3).map(|h| pct(m.wape.get(h).copied().flatten())));
            v
        })
        .collect();
    d.table(&acc_cols, &acc_rows);

    // Risk.
    d.heading(l.t("Risk", "Risque"));
    let rk = &r.risk;
    for s in [
        format!(
            "{} {}",
            l.t("Overdue accounts:", "Comptes en retard :"),
            rk.overdue_accounts
        ),
        format!(
            "{} {} / {} ({}) — {} {}",
            l.t("Customers at risk:", "Clients à risque :"),
            rk.at_risk,
            rk.customers_with_balance,
            pct(rk.at_risk_share),
            l.t("they owe", "encours"),
            amt(rk.at_risk_amount)
        ),
        format!(
            "{} {} {} {} / {} ({}), {} {}",
            l.t("Invoices due in", "Factures échues en"),
            rk.paid_on_time.month,
            l.t("paid on time:", "payées à l'échéance :"),
            rk.paid_on_time.on_time_count,
            rk.paid_on_time.due_count,
            pct(rk.paid_on_time.count_share),
            l.t("in amount", "en montant"),
            pct(rk.paid_on_time.amount_share),
        ),
        format!(
            "{} {} {}",
            l.t("Average age of receivables:", "Âge moyen des créances :"),
            num(rk.average_age),
            l.t("days", "jours")
        ),
    ] {
        d.line_of_text(&s);
    }
    d.y -= 4.0;
    let why_cols: [Col; 3] = [
        (l.t("Reason", "Motif"), LEFT, false),
        (l.t("Customers", "Clients"), 300.0, true),
        (l.t("They owe", "Encours"), 420.0, true),
    ];
    let why_rows: Vec<Vec<String>> = [
        (l.t("Rated D", "Note D"), &rk.rating_d),
        (
            l.t("Over the credit limit", "Au-delà de l'encours autorisé"),
            &rk.over_limit,
        ),
        (l.t("In legal collection", "Au contentieux"), &rk.in_legal),
        (
            l.t("Broken promise", "Promesse non tenue"),
            &rk.broken_promise,
        ),
    ]
    .iter()
    .map(|(lab, x)| vec![lab.to_string(), x.count.to_string(), amt(x.amount)])
    .collect();
    d.table(&why_cols, &why_rows);
    let risk_cols: [Col; 6] = [
        (l.t("Date", "Date"), LEFT, false),
        (l.t("Overdue accounts", "Comptes en retard"), 210.0, true),
        (l.t("At risk", "À risque"), 270.0, true),
        (l.t("They owe", "Encours à risque"), 370.0, true),
        (l.t("Paid on time", "Payées à temps"), 460.0, true),
        (l.t("Average age", "Âge moyen"), RIGHT, true),
    ];
    let risk_rows: Vec<Vec<String>> = r
        .risk_trend
        .iter()
        .map(|x| {
            vec![
                l.date(x.date),
                x.overdue_accounts.to_string(),
                x.at_risk.to_string(),
                amt(x.at_risk_amount),
                pct(x.paid_on_time.count_share),
                num(x.average_age),
            ]
        })
        .collect();
    d.table(&risk_cols, &risk_rows);

    // Footers, now that the pages are counted.
    let n = d.pages.len();
    for (k, p) in d.pages.iter_mut().enumerate() {
        p.text(
            LEFT,
            30.0,
            7.5,
            false,
            &format!(
                "{} — {} — {}",
                company.name,
                l.t("Collection report", "Rapport de recouvrement"),
                l.date(r.as_of)
            ),
        );
        p.text_right(
            RIGHT,
            30.0,
            7.5,
            false,
            &format!("{} {}/{n}", l.t("Page", "Page"), k + 1),
        );
    }
    write_pdf(&d.pages)
}

fn method_name(l: Lang, m: Method) -> String {
    match m {
        Method::Auto => l.t("arpilot (automatic)", "arpilot (automatique)").into(),
        Method::Distribution => l.t("payment habits", "habitudes de paiement").into(),
        Method::MeanDelay => l.t("average delay", "retard moyen").into(),
        Method::DueDate => l.t("due dates", "échéances").into(),
    }
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
