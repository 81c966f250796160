//! Report requests, typed and parsed once. A query string (pages and API), the command line's
//! arguments and the admin's saved defaults all go through [`ReportRequest::set`] and
//! [`Defaults::parse`]: an invalid value is an error naming the parameter, never dropped.

use arpilot_core::customers::RatingThresholds;
use arpilot_core::report::{AgingConfig, Basis, GroupBy, ProvisionRates, ReportParams};
use arpilot_core::select::{Filter, Selection};
use arpilot_core::{Day, Snapshot};

/// A parameter that cannot be used: which one, what it held and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{param}: expected {expected}, found {value:?}")]
pub struct ParamError {
    pub param: String,
    pub value: String,
    pub expected: String,
}

/// Refuses a parameter given a second time (`seen`: those read so far), rather than let one
/// value silently win.
pub(crate) fn given_once(seen: &mut Vec<String>, k: &str, v: &str) -> Result<(), ParamError> {
    if seen.iter().any(|s| s == k) {
        return Err(bad(
            k,
            v,
            "a single value (the parameter is given more than once)",
        ));
    }
    seen.push(k.to_string());
    Ok(())
}

pub(crate) fn bad(param: &str, value: &str, expected: impl Into<String>) -> ParamError {
    ParamError {
        param: param.to_string(),
        value: value.to_string(),
        expected: expected.into(),
    }
}

/// The default upper bounds of the overdue buckets.
pub const DEFAULT_BUCKETS: [i32; 4] = [30, 60, 90, 120];
/// The default length of top lists (spec: 6).
pub const DEFAULT_TOP: usize = 6;

/// An invoice's status at the as-of date, to filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Disputed,
    InLegal,
    Promised,
    /// None of the others.
    Normal,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Disputed,
        Status::InLegal,
        Status::Promised,
        Status::Normal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::Disputed => "disputed",
            Status::InLegal => "in_legal",
            Status::Promised => "promised",
            Status::Normal => "normal",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.name() == s)
    }

    /// Whether invoice row `i` is in this status on day `d`.
    pub fn holds(self, snap: &Snapshot, i: usize, d: i32) -> bool {
        let disputed = || snap.disputed_on(i as u32, d);
        let promised = || snap.promised_on(i as u32, d);
        match self {
            Status::Disputed => disputed(),
            Status::InLegal => snap.in_legal(i),
            Status::Promised => promised(),
            Status::Normal => !disputed() && !snap.in_legal(i) && !promised(),
        }
    }
}

/// Every parameter of a report, a page, an export or a command.
#[derive(Clone, Debug, Default)]
pub struct ReportRequest {
    pub as_of: Option<Day>,
    pub filters: Vec<Filter>,
    /// Grouping of the aged balance: customer, invoice or a dimension.
    pub by: Option<String>,
    /// A bucket to drill into (pages).
    pub bucket: Option<usize>,
    /// A column to sort on (pages).
    pub sort: Option<String>,
    /// Upper bounds of the overdue buckets, in days.
    pub buckets: Option<Vec<i32>>,
    pub basis: Option<Basis>,
    /// Provision rates per bucket, in hundredths of a percent.
    pub provisions: Option<Vec<i64>>,
    pub status: Option<Status>,
    pub issued_from: Option<Day>,
    pub issued_to: Option<Day>,
    pub top: Option<usize>,
    pub months: Option<usize>,
    /// Days of the work KPIs' period, ending on the as-of date (1 to 366).
    pub days: Option<usize>,
    /// The parameters that define the figures, as a query string to carry into links and to key
    /// caches.
    pub raw: String,
}

fn parse_day(param: &str, v: &str) -> Result<Day, ParamError> {
    Day::parse_iso(v).map_err(|e| match e {
        arpilot_core::date::DateError::Range { .. } => {
            bad(param, v, "a date from 1900-01-01 to 2199-12-31")
        }
        arpilot_core::date::DateError::Format { .. } => bad(param, v, "a date YYYY-MM-DD"),
    })
}

fn parse_count(param: &str, v: &str, max: usize) -> Result<usize, ParamError> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| bad(param, v, format!("a whole number from 1 to {max}")))
}

/// `30,60,90,120`: increasing positive bounds.
pub fn parse_buckets(param: &str, v: &str) -> Result<Vec<i32>, ParamError> {
    let expected = "increasing positive day counts such as 30,60,90,120";
    let bounds = AgingConfig::parse_bounds(v).map_err(|_| bad(param, v, expected))?;
    AgingConfig::new(bounds.clone(), Basis::Due).map_err(|_| bad(param, v, expected))?;
    Ok(bounds)
}

/// `0,0,25,50,75,100`: percentages from 0 to 100, in hundredths of a percent.
pub fn parse_provisions(param: &str, v: &str) -> Result<Vec<i64>, ParamError> {
    v.split(',')
        .map(|x| {
            arpilot_core::money::parse_minor(x.trim(), 2)
                .ok()
                .filter(|r| (0..=10_000).contains(r))
        })
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| {
            bad(
                param,
                v,
                "percentages from 0 to 100 such as 0,0,25,50,75,100",
            )
        })
}

/// `0,15,45`: the average days late up to which a customer is rated A, B and C.
pub fn parse_rating(param: &str, v: &str) -> Result<RatingThresholds, ParamError> {
    let parts: Option<Vec<f64>> = v
        .split(',')
        .map(|x| x.trim().parse::<f64>().ok().filter(|f| f.is_finite()))
        .collect();
    match parts.as_deref() {
        Some(&[a, b, c]) if a <= b && b <= c => Ok(RatingThresholds { a, b, c }),
        _ => Err(bad(
            param,
            v,
            "three increasing numbers of days for A, B and C such as 0,15,45",
        )),
    }
}

impl ReportRequest {
    /// Parses a query string; parameters other than the report's are left to the page. Only
    /// `filter` may be repeated: a second value of another parameter is refused, not dropped.
    pub fn from_query(raw: &str) -> Result<ReportRequest, ParamError> {
        let mut r = ReportRequest::default();
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            if k != "filter" && Self::PARAMS.contains(&k.as_ref()) {
                given_once(&mut seen, &k, &v)?;
            }
            r.set(&k, &v)?;
        }
        Ok(r)
    }

    /// The parameters [`ReportRequest::set`] knows.
    pub const PARAMS: [&'static str; 14] = [
        "as_of",
        "filter",
        "by",
        "bucket",
        "sort",
        "buckets",
        "basis",
        "provisions",
        "status",
        "issued_from",
        "issued_to",
        "top",
        "months",
        "days",
    ];

    /// Whether `v` names a column a list can be sorted on: one of the customers' columns
    /// ([`crate::list::CUSTOMER_SORTS`]) or a bucket of the aged balance (`b0`, `b1`…); the
    /// list checks that the column is one of its own.
    pub fn sort_key(v: &str) -> bool {
        crate::list::CUSTOMER_SORTS.iter().any(|(k, _)| *k == v)
            || v.strip_prefix('b').is_some_and(|k| {
                (1..=2).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_digit())
            })
    }

    /// Sets parameter `name` from its text; an empty value leaves it unset (forms send empty
    /// fields). Unknown names are ignored: pages add their own.
    pub fn set(&mut self, name: &str, v: &str) -> Result<(), ParamError> {
        if v.is_empty() {
            return Ok(());
        }
        let keep = match name {
            "as_of" => {
                self.as_of = Some(parse_day(name, v)?);
                true
            }
            "filter" => {
                self.filters.push(
                    Filter::parse(v).map_err(|_| bad(name, v, "NAME=VALUE such as region=Nord"))?,
                );
                true
            }
            "by" => {
                self.by = Some(v.to_string());
                true
            }
            "bucket" => {
                self.bucket = Some(
                    v.parse()
                        .map_err(|_| bad(name, v, "a bucket number (0 = not due)"))?,
                );
                false
            }
            "sort" => {
                if !Self::sort_key(v) {
                    return Err(bad(
                        name,
                        v,
                        "a column: name, id, balance, overdue, late, dso, rating, revenue, credit, or a bucket b0, b1…",
                    ));
                }
                self.sort = Some(v.to_string());
                false
            }
            "buckets" => {
                self.buckets = Some(parse_buckets(name, v)?);
                true
            }
            "basis" => {
                self.basis = Some(match v {
                    "due" => Basis::Due,
                    "issue" => Basis::Issue,
                    _ => return Err(bad(name, v, "due or issue")),
                });
                true
            }
            "provisions" => {
                self.provisions = Some(parse_provisions(name, v)?);
                true
            }
            "status" => {
                self.status = Some(
                    Status::parse(v)
                        .ok_or_else(|| bad(name, v, "disputed, in_legal, promised or normal"))?,
                );
                true
            }
            "issued_from" => {
                self.issued_from = Some(parse_day(name, v)?);
                true
            }
            "issued_to" => {
                self.issued_to = Some(parse_day(name, v)?);
                true
            }
            "top" => {
                self.top = Some(parse_count(name, v, 1000)?);
                true
            }
            "months" => {
                self.months = Some(parse_count(name, v, 240)?);
                true
            }
            "days" => {
                self.days = Some(parse_count(name, v, 366)?);
                true
            }
            _ => false,
        };
        if keep {
            if !self.raw.is_empty() {
                self.raw.push('&');
            }
            self.raw.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .append_pair(name, v)
                    .finish(),
            );
        }
        Ok(())
    }

    /// The as-of date: the one asked for, else `default` (the ledger's last date).
    pub fn date(&self, default: Day) -> Day {
        self.as_of.unwrap_or(default)
    }

    /// The grouping asked for, else `default`.
    pub fn group_by(&self, default: &str) -> GroupBy {
        GroupBy::parse(self.by.as_deref().unwrap_or(default))
    }

    /// The bucket bounds in force: the request's, else the admin's, else the default ones.
    pub fn bounds(&self, defaults: &Defaults) -> Vec<i32> {
        self.buckets
            .clone()
            .or_else(|| defaults.buckets.clone())
            .unwrap_or_else(|| DEFAULT_BUCKETS.to_vec())
    }

    /// The engine's parameters for a report as of `as_of`, with the admin's defaults where the
    /// request says nothing.
    pub fn params(&self, as_of: Day, defaults: &Defaults) -> Result<ReportParams, ParamError> {
        let own_buckets = self.buckets.is_some();
        let bounds = self.bounds(defaults);
        let aging = AgingConfig::new(bounds, self.basis.unwrap_or(Basis::Due)).map_err(|_| {
            bad(
                "buckets",
                &format!("{:?}", self.buckets),
                "increasing positive day counts such as 30,60,90,120",
            )
        })?;
        let mut provisions = ProvisionRates::default_for(&aging);
        // The admin's rates go with the admin's bucket set; a page choosing its own buckets
        // gets the default rates for them.
        let rates = match (&self.provisions, own_buckets) {
            (Some(p), _) => Some(("provisions", p)),
            (None, false) => defaults
                .provisions
                .as_ref()
                .map(|p| ("provisions setting", p)),
            (None, true) => None,
        };
        if let Some((param, p)) = rates {
            if p.len() != aging.bucket_count() {
                return Err(bad(
                    param,
                    &p.iter()
                        .map(|x| arpilot_core::money::format_minor(*x, 2))
                        .collect::<Vec<_>>()
                        .join(","),
                    format!("{} rates, one per bucket", aging.bucket_count()),
                ));
            }
            provisions.buckets = p.clone();
        }
        Ok(ReportParams {
            as_of,
            aging,
            top: self.top.unwrap_or(DEFAULT_TOP),
            by: self.by.as_deref().map(GroupBy::parse),
            provisions,
        })
    }

    /// `sel` narrowed to the invoices in the requested status on `as_of` and issued in the
    /// requested period.
    pub fn narrow(&self, snap: &Snapshot, sel: Selection, as_of: Day) -> Selection {
        if self.status.is_none() && self.issued_from.is_none() && self.issued_to.is_none() {
            return sel;
        }
        let d = as_of.0;
        let (from, to) = (
            self.issued_from.map_or(i32::MIN, |x| x.0),
            self.issued_to.map_or(i32::MAX, |x| x.0),
        );
        let status = self.status;
        sel.with_invoices_of(snap, |i| {
            let issue = snap.invoices.issue[i];
            issue >= from && issue <= to && status.is_none_or(|s| s.holds(snap, i, d))
        })
    }
}

/// Defaults an admin sets for every report: bucket bounds, provision rates per bucket, rating
/// thresholds and labels of custom fields.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    pub buckets: Option<Vec<i32>>,
    pub provisions: Option<Vec<i64>>,
    pub rating: RatingThresholds,
    pub labels: Vec<(String, String)>,
    /// The stored texts, for the settings form.
    pub raw: Vec<(String, String)>,
}

impl Defaults {
    /// Reads the stored settings; a value that does not parse is an error naming it.
    pub fn parse(pairs: &[(String, String)]) -> Result<Defaults, ParamError> {
        let get = |k: &str| crate::setting(pairs, k);
        let mut s = Defaults {
            raw: pairs.to_vec(),
            ..Defaults::default()
        };
        if let Some(b) = get("buckets") {
            s.buckets = Some(parse_buckets("buckets", b)?);
        }
        if let Some(p) = get("provisions") {
            let rates = parse_provisions("provisions", p)?;
            let n = s.buckets.as_ref().map_or(DEFAULT_BUCKETS.len(), Vec::len) + 2;
            if rates.len() != n {
                return Err(bad(
                    "provisions",
                    p,
                    format!("{n} rates, one per bucket of the bucket set"),
                ));
            }
            s.provisions = Some(rates);
        }
        if let Some(r) = get("rating") {
            s.rating = parse_rating("rating", r)?;
        }
        if let Some(l) = get("labels") {
            s.labels = l
                .split(';')
                .filter(|kv| !kv.trim().is_empty())
                .map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .ok_or_else(|| bad("labels", l, "NAME=Label pairs separated by ';'"))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(s)
    }

    /// The label of a dimension, or its name.
    pub fn label<'a>(&'a self, name: &'a str) -> &'a str {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map_or(name, |(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_parsed_once_and_bad_values_name_their_parameter() {
        let r = ReportRequest::from_query(
            "as_of=2026-10-31&filter=region%3DNord&buckets=30,60&basis=issue&status=promised&page=2",
        )
        .unwrap();
        assert_eq!(r.as_of, Some(Day::parse_iso("2026-10-31").unwrap()));
        assert_eq!(r.buckets, Some(vec![30, 60]));
        assert_eq!(r.basis, Some(Basis::Issue));
        assert_eq!(r.status, Some(Status::Promised));
        assert_eq!(r.filters.len(), 1);
        // The page's own parameters are not part of the request's identity.
        assert_eq!(
            r.raw,
            "as_of=2026-10-31&filter=region%3DNord&buckets=30%2C60&basis=issue&status=promised"
        );
        for (q, msg) in [
            (
                "as_of=2026-13-01",
                "as_of: expected a date YYYY-MM-DD, found \"2026-13-01\"",
            ),
            (
                "buckets=60,30",
                "buckets: expected increasing positive day counts such as 30,60,90,120, found \"60,30\"",
            ),
            ("basis=paid", "basis: expected due or issue, found \"paid\""),
            (
                "status=late",
                "status: expected disputed, in_legal, promised or normal, found \"late\"",
            ),
            (
                "bucket=x",
                "bucket: expected a bucket number (0 = not due), found \"x\"",
            ),
            (
                "top=0",
                "top: expected a whole number from 1 to 1000, found \"0\"",
            ),
            (
                "provisions=0,150",
                "provisions: expected percentages from 0 to 100 such as 0,0,25,50,75,100, found \"0,150\"",
            ),
            (
                "filter=region",
                "filter: expected NAME=VALUE such as region=Nord, found \"region\"",
            ),
            (
                "sort=size",
                "sort: expected a column: name, id, balance, overdue, late, dso, rating, revenue, credit, or a bucket b0, b1…, found \"size\"",
            ),
            (
                "as_of=2026-10-31&top=5&as_of=2026-09-30",
                "as_of: expected a single value (the parameter is given more than once), found \"2026-09-30\"",
            ),
        ] {
            assert_eq!(ReportRequest::from_query(q).unwrap_err().to_string(), msg);
        }
        // Filters repeat; parameters of pages pass through.
        let r = ReportRequest::from_query("filter=region%3DNord&filter=region%3DSud&page=1&page=2")
            .unwrap();
        assert_eq!(r.filters.len(), 2);
        // Empty fields (as forms send them) are no value.
        assert!(
            ReportRequest::from_query("as_of=&status=")
                .unwrap()
                .as_of
                .is_none()
        );
    }

    #[test]
    fn defaults_apply_where_the_request_says_nothing() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let d = Defaults::parse(&pairs(&[
            ("buckets", "30,60"),
            ("provisions", "0,10,50,100"),
            ("rating", "0,10,30"),
        ]))
        .unwrap();
        let day = Day::parse_iso("2026-10-31").unwrap();
        let p = ReportRequest::default().params(day, &d).unwrap();
        assert_eq!(p.aging.bucket_count(), 4);
        assert_eq!(p.provisions.buckets, [0, 1000, 5000, 10_000]);
        assert_eq!(p.top, DEFAULT_TOP);
        // A page choosing its own buckets gets the default rates for them.
        let own = ReportRequest::from_query("buckets=15,30,45").unwrap();
        let p = own.params(day, &d).unwrap();
        assert_eq!(p.aging.bucket_count(), 5);
        assert_eq!(p.provisions.buckets, [0, 0, 0, 2500, 2500]);
        // Explicit rates must fit the bucket set.
        let bad = ReportRequest::from_query("provisions=0,50").unwrap();
        assert_eq!(
            bad.params(day, &d).unwrap_err().to_string(),
            "provisions: expected 4 rates, one per bucket, found \"0.00,50.00\""
        );
        // Saved settings are checked as a whole.
        for (v, msg) in [
            (
                vec![("buckets", "30,60"), ("provisions", "0,25")],
                "provisions: expected 4 rates, one per bucket of the bucket set, found \"0,25\"",
            ),
            (
                vec![("rating", "30,10,0")],
                "rating: expected three increasing numbers of days for A, B and C such as 0,15,45, found \"30,10,0\"",
            ),
            (
                vec![("labels", "region")],
                "labels: expected NAME=Label pairs separated by ';', found \"region\"",
            ),
        ] {
            assert_eq!(Defaults::parse(&pairs(&v)).unwrap_err().to_string(), msg);
        }
    }
}
