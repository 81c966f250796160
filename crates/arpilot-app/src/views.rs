//! Saved views and the dashboard of each role.
//!
//! A saved view is a page with its parameters (filters, grouping, bucket set, status, sort…)
//! and a date mode — the ledger's latest day, the last month-end, or a fixed date — under a
//! name, private to its author or shared with every user. It holds a query, never a scope:
//! whoever opens it sees it through their own portfolio, so a shared view never widens what a
//! collector or a viewer can see.
//!
//! Each role's dashboard is the list of its cards in order (setting `dashboard.<role>`);
//! without one, every card in the standard order.

use crate::request::{ParamError, ReportRequest};
use arpilot_core::Day;
use serde::{Deserialize, Serialize};

/// The pages a view can open, with their French and English names.
pub const PAGES: [(&str, &str, &str); 7] = [
    ("/", "Dashboard", "Tableau de bord"),
    ("/worklist", "To do today", "À traiter"),
    ("/aging", "Aged balance", "Balance âgée"),
    ("/customers", "Customers", "Clients"),
    ("/team", "Collection", "Recouvrement"),
    ("/forecast", "Forecast", "Prévisions"),
    ("/disputes", "Disputes & promises", "Litiges et promesses"),
];

/// The longest name of a view.
pub const MAX_NAME: usize = 60;
/// The most views a user may own.
pub const MAX_PER_USER: usize = 50;
/// The longest query a view keeps.
pub const MAX_QUERY: usize = 1_000;

/// Which date a view opens on.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DateMode {
    /// The ledger's latest day (the pages' default).
    Today,
    /// The last month-end on or before the ledger's latest day.
    LastMonthEnd,
    /// The date saved with the view.
    Fixed,
}

impl DateMode {
    pub fn parse(s: &str) -> Option<DateMode> {
        Some(match s {
            "today" => DateMode::Today,
            "month_end" | "last_month_end" => DateMode::LastMonthEnd,
            "fixed" => DateMode::Fixed,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            DateMode::Today => "today",
            DateMode::LastMonthEnd => "month_end",
            DateMode::Fixed => "fixed",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SavedView {
    pub id: String,
    pub name: String,
    pub owner: String,
    /// Seen by every user; otherwise by its owner only.
    pub shared: bool,
    pub page: String,
    /// The page's parameters without the date.
    pub query: String,
    pub mode: DateMode,
    /// The date of a [`DateMode::Fixed`] view (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// What is wrong with a view to save.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error("name: expected 1 to {MAX_NAME} characters without line breaks")]
    Name,
    #[error("page: expected one of {}", PAGES.iter().map(|p| p.0).collect::<Vec<_>>().join(", "))]
    Page,
    #[error("mode: expected today, month_end or fixed")]
    Mode,
    #[error("as_of: a fixed view needs its date")]
    Date,
    #[error("query: at most {MAX_QUERY} characters")]
    QueryLength,
    #[error("query: {0}")]
    Query(#[from] ParamError),
    #[error("at most {MAX_PER_USER} views a user; delete one first")]
    TooMany,
}

/// The setting holding a view.
pub fn key(id: &str) -> String {
    format!("view.{id}")
}

/// The saved views in `settings`, those `login` may open (their own and the shared ones),
/// by name.
pub fn visible(settings: &[(String, String)], login: &str) -> Vec<SavedView> {
    let mut v: Vec<SavedView> = settings
        .iter()
        .filter(|(k, _)| k.starts_with("view."))
        .filter_map(|(_, v)| serde_json::from_str::<SavedView>(v).ok())
        .filter(|x| x.shared || x.owner == login)
        .collect();
    v.sort_by(|a, b| {
        crate::list::fold(&a.name)
            .cmp(&crate::list::fold(&b.name))
            .then(a.id.cmp(&b.id))
    });
    v
}

/// A view as a user asks to save it (the form's fields).
#[derive(Clone, Debug, Default)]
pub struct ViewForm<'a> {
    pub name: &'a str,
    pub shared: bool,
    pub page: &'a str,
    pub query: &'a str,
    pub mode: &'a str,
}

/// A view to save, checked: its query read as a report request (so that a view that saves can
/// also be opened), the date taken out of the query into the mode.
pub fn new_view(
    settings: &[(String, String)],
    id: String,
    owner: &str,
    f: &ViewForm,
) -> Result<SavedView, ViewError> {
    let ViewForm {
        name,
        shared,
        page,
        query,
        mode,
    } = *f;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ViewError::Name);
    }
    let page = PAGES.iter().find(|p| p.0 == page).ok_or(ViewError::Page)?.0;
    let mode = DateMode::parse(mode).ok_or(ViewError::Mode)?;
    if query.len() > MAX_QUERY {
        return Err(ViewError::QueryLength);
    }
    let req = ReportRequest::from_query(query)?;
    crate::list::ListQuery::from_query(query, req.sort.as_deref())?;
    if mode == DateMode::Fixed && req.as_of.is_none() {
        return Err(ViewError::Date);
    }
    let owned = settings
        .iter()
        .filter(|(k, _)| k.starts_with("view."))
        .filter_map(|(_, v)| serde_json::from_str::<SavedView>(v).ok())
        .filter(|x| x.owner == owner)
        .count();
    if owned >= MAX_PER_USER {
        return Err(ViewError::TooMany);
    }
    // The page number is not part of a view: it opens on the first page.
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            form_urlencoded::parse(query.as_bytes())
                .filter(|(k, v)| k != "as_of" && k != "page" && !v.is_empty()),
        )
        .finish();
    Ok(SavedView {
        id,
        name: name.to_string(),
        owner: owner.to_string(),
        shared,
        page: page.to_string(),
        query,
        mode,
        as_of: if mode == DateMode::Fixed {
            req.as_of.map(|d| d.to_string())
        } else {
            None
        },
    })
}

impl SavedView {
    /// The date the view opens on, given the ledger's latest day; `None`: the page's default
    /// (the latest day).
    pub fn date(&self, latest: Day) -> Option<Day> {
        match self.mode {
            DateMode::Today => None,
            DateMode::LastMonthEnd => Some(if latest == latest.month_end() {
                latest
            } else {
                latest.month_end_offset(-1)
            }),
            DateMode::Fixed => self.as_of.as_deref().and_then(|d| Day::parse_iso(d).ok()),
        }
    }

    /// The page and query the view opens.
    pub fn href(&self, latest: Day) -> String {
        let mut q = self.query.clone();
        if let Some(d) = self.date(latest) {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&format!("as_of={d}"));
        }
        if q.is_empty() {
            self.page.clone()
        } else {
            format!("{}?{q}", self.page)
        }
    }

    /// Whether `login` (of role admin when `admin`) may delete it.
    pub fn deletable_by(&self, login: &str, admin: bool) -> bool {
        self.owner == login || admin
    }
}

/// The dashboard's tiles and cards besides the key figures of
/// [`crate::management::CARDS`], in the standard order: key, English and French names.
pub const OTHER_CARDS: [(&str, &str, &str); 11] = [
    ("to_apply", "Receipts to review", "Encaissements à valider"),
    ("reminders", "Reminders", "Relances"),
    (
        "composition",
        "Balance composition",
        "Composition de l'encours",
    ),
    ("aging", "Aged balance", "Balance âgée"),
    ("dso_trend", "DSO trend", "Évolution du DSO"),
    ("cei_trend", "CEI and DBT trend", "Évolution CEI et DBT"),
    (
        "collection",
        "Collection of the month",
        "Recouvrement du mois",
    ),
    ("top_debtors", "Top debtors", "Principaux débiteurs"),
    (
        "top_overdue",
        "Top overdue invoices",
        "Factures les plus en retard",
    ),
    ("maturity", "Maturity schedule", "Échéancier"),
    ("forecast", "Cash-in forecast", "Prévisions d'encaissement"),
];

/// Every card of the dashboard in the standard order: the key figures, then the others.
pub fn cards() -> impl Iterator<Item = &'static str> {
    crate::management::CARDS
        .iter()
        .map(|c| c.0)
        .chain(OTHER_CARDS.iter().map(|c| c.0))
}

/// A card's name: a key figure's as the management report writes it.
pub fn card_name(l: crate::Lang, key: &str) -> &'static str {
    match OTHER_CARDS.iter().find(|c| c.0 == key) {
        Some((_, en, fr)) => l.t(en, fr),
        None => crate::management::kpi_label(l, key),
    }
}

/// The setting holding a role's dashboard.
pub fn dashboard_key(role: &str) -> String {
    format!("dashboard.{role}")
}

/// A role's cards in order, from its setting: known keys, each once; `None` when the role
/// keeps the standard dashboard.
pub fn dashboard(settings: &[(String, String)], role: &str) -> Option<Vec<&'static str>> {
    let v = crate::setting(settings, &dashboard_key(role))?;
    let mut out: Vec<&'static str> = Vec::new();
    for k in v.split(',').map(str::trim) {
        if let Some(c) = cards().find(|c| *c == k)
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    Some(out)
}

/// Checks a role's list of cards (comma-separated keys) before it is saved.
pub fn parse_dashboard(v: &str) -> Result<String, String> {
    let mut out: Vec<&str> = Vec::new();
    for k in v.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !cards().any(|c| c == k) {
            return Err(format!(
                "unknown card \"{}\": expected {}",
                k.chars().take(40).collect::<String>(),
                cards().collect::<Vec<_>>().join(", ")
            ));
        }
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out.join(","))
}

/// The `cards` (key, content) kept and ordered as `order` says, or all of them as they come.
pub fn arrange<T>(cards: Vec<(&str, T)>, order: Option<&[&str]>) -> Vec<T> {
    match order {
        None => cards.into_iter().map(|c| c.1).collect(),
        Some(order) => {
            let mut cards: Vec<Option<(&str, T)>> = cards.into_iter().map(Some).collect();
            let mut out = Vec::new();
            for k in order {
                if let Some(slot) = cards
                    .iter_mut()
                    .find(|c| c.as_ref().is_some_and(|c| c.0 == *k))
                    && let Some((_, t)) = slot.take()
                {
                    out.push(t);
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse_iso(s).unwrap()
    }

    #[test]
    fn a_view_keeps_its_query_and_resolves_its_date() {
        let v = new_view(
            &[],
            "v1".into(),
            "marie",
            &ViewForm {
                name: "  Nord, échu > 60 j ",
                shared: true,
                page: "/aging",
                query: "as_of=2026-10-31&filter=region%3DNord&buckets=30,60,90&by=customer&page=3&sort=b2",
                mode: "month_end",
            },
        )
        .unwrap();
        assert_eq!(v.name, "Nord, échu > 60 j");
        assert_eq!(
            v.query,
            "filter=region%3DNord&buckets=30%2C60%2C90&by=customer&sort=b2"
        );
        // The last month-end before 2026-11-17 is 2026-10-31; on a month-end, that day.
        assert_eq!(v.date(day("2026-11-17")), Some(day("2026-10-31")));
        assert_eq!(v.date(day("2026-11-30")), Some(day("2026-11-30")));
        assert_eq!(
            v.href(day("2026-11-17")),
            "/aging?filter=region%3DNord&buckets=30%2C60%2C90&by=customer&sort=b2&as_of=2026-10-31"
        );
        let today = SavedView {
            mode: DateMode::Today,
            ..v.clone()
        };
        assert_eq!(today.date(day("2026-11-17")), None);
        let fixed = new_view(
            &[],
            "v2".into(),
            "marie",
            &ViewForm {
                name: "Clôture 2025",
                page: "/",
                query: "as_of=2025-12-31",
                mode: "fixed",
                ..ViewForm::default()
            },
        )
        .unwrap();
        assert_eq!(fixed.href(day("2026-11-17")), "/?as_of=2025-12-31");
    }

    #[test]
    fn a_view_is_refused_with_the_reason() {
        let f = |name: &str, page: &str, query: &str, mode: &str| {
            let f = ViewForm {
                name,
                page,
                query,
                mode,
                ..ViewForm::default()
            };
            new_view(&[], "x".into(), "u", &f).unwrap_err().to_string()
        };
        assert_eq!(
            f("", "/", "", "today"),
            "name: expected 1 to 60 characters without line breaks"
        );
        assert_eq!(
            f("a\nb", "/", "", "today"),
            "name: expected 1 to 60 characters without line breaks"
        );
        assert!(f("a", "/settings", "", "today").starts_with("page: expected one of /,"));
        assert_eq!(
            f("a", "/", "", "yesterday"),
            "mode: expected today, month_end or fixed"
        );
        assert_eq!(
            f("a", "/", "", "fixed"),
            "as_of: a fixed view needs its date"
        );
        assert_eq!(
            f("a", "/", "buckets=90,30", "today"),
            "query: buckets: expected increasing positive day counts such as 30,60,90,120, found \"90,30\""
        );
        assert_eq!(
            f("a", "/customers", "per=3", "today"),
            "query: per: expected rows per page from 10 to 500, found \"3\""
        );
    }

    #[test]
    fn who_sees_which_view() {
        let save = |id: &str, owner: &str, name: &str, shared: bool| {
            let f = ViewForm {
                name,
                shared,
                page: "/",
                mode: "today",
                ..ViewForm::default()
            };
            let v = new_view(&[], id.into(), owner, &f).unwrap();
            (key(id), serde_json::to_string(&v).unwrap())
        };
        let settings = vec![
            save("a", "marie", "Équipe Nord", true),
            save("b", "marie", "mes retards", false),
            save("c", "lea", "Ma semaine", false),
            ("view.d".to_string(), String::new()),
            ("company.name".to_string(), "ACME".to_string()),
        ];
        let names = |login: &str| {
            visible(&settings, login)
                .into_iter()
                .map(|v| v.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("marie"), ["Équipe Nord", "mes retards"]);
        assert_eq!(names("lea"), ["Équipe Nord", "Ma semaine"]);
        assert_eq!(names("paul"), ["Équipe Nord"]);
    }

    #[test]
    fn a_role_dashboard_keeps_known_cards_in_its_order() {
        assert_eq!(
            parse_dashboard(" aging, balance ,aging,dbt").unwrap(),
            "aging,balance,dbt"
        );
        assert!(
            parse_dashboard("balance,pie")
                .unwrap_err()
                .starts_with("unknown card \"pie\": expected balance, overdue,")
        );
        let settings = vec![(dashboard_key("collector"), "overdue,aging".to_string())];
        assert_eq!(
            dashboard(&settings, "collector"),
            Some(vec!["overdue", "aging"])
        );
        assert_eq!(dashboard(&settings, "manager"), None);
        let cards = vec![("balance", 1), ("overdue", 2), ("aging", 3)];
        assert_eq!(arrange(cards.clone(), Some(&["aging", "overdue"])), [3, 2]);
        assert_eq!(arrange(cards, None), [1, 2, 3]);
    }
}
