//! The long lists (customers, aged balance): search, sort and pagination, decided here once
//! for the pages, the API and the command line. The rows themselves come from the core's
//! kernels; a list only chooses which of them to show and in what order, and totals the
//! rows the search kept (every page of them, not only the one shown).

use crate::request::{ParamError, bad, given_once};
use arpilot_core::customers::CustomerRow;
use arpilot_core::report::GroupRow;
use arpilot_core::{Money, Selection, Snapshot};
use std::cmp::Ordering;

/// Rows per page unless the request says otherwise.
pub const PER_PAGE: usize = 50;
/// The most rows a page may ask for.
pub const MAX_PER_PAGE: usize = 500;
/// The longest search text (a name, an id, an invoice number).
pub const MAX_SEARCH: usize = 100;

/// Which part of a list to show: the search text, the page (from 1) and its size, the column
/// to sort on and the direction. Parsed from the same query string as the report request.
#[derive(Clone, Debug, PartialEq)]
pub struct ListQuery {
    pub search: Option<String>,
    pub page: usize,
    pub per: usize,
    /// A column key; `None` keeps the kernel's order.
    pub sort: Option<String>,
    /// `Some(true)` for descending, `Some(false)` ascending, `None` the column's natural
    /// direction (amounts and days descending, names ascending).
    pub desc: Option<bool>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            search: None,
            page: 1,
            per: PER_PAGE,
            sort: None,
            desc: None,
        }
    }
}

/// The query parameters of a list, beside those of the report (`sort` is the report
/// request's, read once there).
pub const PARAMS: [&str; 4] = ["q", "page", "per", "dir"];

impl ListQuery {
    /// Reads `q`, `page`, `per` and `dir` (each at most once); `sort` comes from the report
    /// request and is checked by the list that uses it ([`customer_sort`], [`aging_sort`]).
    pub fn from_query(raw: &str, sort: Option<&str>) -> Result<ListQuery, ParamError> {
        let mut l = ListQuery {
            sort: sort.map(str::to_string),
            ..ListQuery::default()
        };
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            if PARAMS.contains(&k.as_ref()) {
                given_once(&mut seen, &k, &v)?;
            }
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.as_ref() {
                "q" => {
                    if v.chars().count() > MAX_SEARCH || v.chars().any(char::is_control) {
                        return Err(bad(
                            "q",
                            v,
                            format!("a search text of at most {MAX_SEARCH} characters"),
                        ));
                    }
                    l.search = Some(v.to_string());
                }
                "page" => {
                    l.page = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=1_000_000).contains(n))
                        .ok_or_else(|| bad("page", v, "a page number from 1"))?;
                }
                "per" => {
                    l.per = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (10..=MAX_PER_PAGE).contains(n))
                        .ok_or_else(|| {
                            bad("per", v, format!("rows per page from 10 to {MAX_PER_PAGE}"))
                        })?;
                }
                "dir" => {
                    l.desc = Some(match v {
                        "asc" => false,
                        "desc" => true,
                        _ => return Err(bad("dir", v, "asc or desc")),
                    })
                }
                _ => {}
            }
        }
        Ok(l)
    }
}

/// One page of a list and where it stands in the whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub rows: Vec<T>,
    /// Rows the search kept, on every page.
    pub matched: usize,
    /// Rows before the search.
    pub total: usize,
    /// The page shown (from 1, at most `pages`).
    pub page: usize,
    pub pages: usize,
    pub per: usize,
}

impl<T> Page<T> {
    /// Position of the first row shown, from 1 (0 when the page is empty).
    pub fn first(&self) -> usize {
        if self.rows.is_empty() {
            0
        } else {
            (self.page - 1) * self.per + 1
        }
    }
}

/// Page `q.page` of a list of `len` rows, clamped to the last one: the page, the number of
/// pages, and the rows it holds.
pub fn page_bounds(len: usize, q: &ListQuery) -> (usize, usize, std::ops::Range<usize>) {
    let pages = len.div_ceil(q.per).max(1);
    let page = q.page.min(pages);
    let start = ((page - 1) * q.per).min(len);
    (page, pages, start..(start + q.per).min(len))
}

/// Cuts page `q.page` (clamped to the last one) out of `rows`, already searched and sorted.
fn paginate<T: Clone>(rows: &[&T], total: usize, q: &ListQuery) -> Page<T> {
    let (page, pages, shown) = page_bounds(rows.len(), q);
    Page {
        rows: rows[shown].iter().map(|r| (*r).clone()).collect(),
        matched: rows.len(),
        total,
        page,
        pages,
        per: q.per,
    }
}

/// Lower case without accents, for searching names as users type them.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            c => c,
        })
        .collect()
}

/// Whether `hay`, folded as [`fold`] does, contains `needle` (already folded). ASCII text (ids,
/// invoice numbers) is compared in place, without a copy: a search runs over every invoice.
pub fn contains_folded(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return n.is_empty()
            || h.windows(n.len())
                .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b));
    }
    fold(hay).contains(needle)
}

/// The customers (row numbers) named by a search: the text in their name or id, or in the
/// number of one of their invoices in the selection.
pub fn search_customers(snap: &Snapshot, sel: &Selection, text: &str) -> Vec<bool> {
    let needle = fold(text);
    let n = snap.customers.names.len();
    let mut hit = vec![false; n];
    for (c, h) in hit.iter_mut().enumerate() {
        *h = contains_folded(&snap.customers.names[c], &needle)
            || contains_folded(snap.customers.ids.get(c as u32), &needle);
    }
    for i in 0..snap.invoice_count() {
        let c = snap.invoices.customer[i] as usize;
        if !hit[c]
            && contains_folded(snap.invoices.ids.get(i as u32), &needle)
            && sel.invoice(snap, i)
        {
            hit[c] = true;
        }
    }
    hit
}

/// The columns of the customers list, each with its natural direction (true: descending).
pub const CUSTOMER_SORTS: [(&str, bool); 9] = [
    ("name", false),
    ("id", false),
    ("balance", true),
    ("overdue", true),
    ("late", true),
    ("dso", true),
    ("rating", false),
    ("revenue", true),
    ("credit", true),
];

/// Checks a sort key of the customers list.
pub fn customer_sort(key: &str) -> Result<bool, ParamError> {
    CUSTOMER_SORTS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            bad(
                "sort",
                key,
                "name, id, balance, overdue, late, dso, rating, revenue or credit",
            )
        })
}

fn opt(a: Option<f64>, b: Option<f64>) -> Ordering {
    // Missing values last whatever the direction: compared as the lowest, then flipped below.
    a.unwrap_or(f64::NEG_INFINITY)
        .total_cmp(&b.unwrap_or(f64::NEG_INFINITY))
}

/// Totals of the rows a search kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerTotals {
    pub balance: Money,
    pub overdue: Money,
    pub not_due: Money,
}

/// Page `q` of the customers' rows: searched by name, id or invoice number, sorted on any
/// column (ties by id, so pages never overlap), with the totals of every row kept.
pub fn customers(
    snap: &Snapshot,
    sel: &Selection,
    rows: &[CustomerRow],
    q: &ListQuery,
) -> Result<(Page<CustomerRow>, CustomerTotals), ParamError> {
    let hits = q.search.as_deref().map(|t| search_customers(snap, sel, t));
    let mut kept: Vec<&CustomerRow> = match &hits {
        None => rows.iter().collect(),
        Some(h) => rows
            .iter()
            .filter(|r| {
                snap.customers
                    .ids
                    .find(&r.customer_id)
                    .is_some_and(|c| h[c as usize])
            })
            .collect(),
    };
    if let Some(key) = q.sort.as_deref() {
        let natural = customer_sort(key)?;
        let desc = q.desc.unwrap_or(natural);
        // Names are folded once each, not at every comparison.
        if key == "name" {
            sort_by_name(&mut kept, desc, |r| (&r.name, &r.customer_id));
        } else {
            kept.sort_by(|a, b| {
                let o = match key {
                    "id" => a.customer_id.cmp(&b.customer_id),
                    "balance" => a.balance.minor.cmp(&b.balance.minor),
                    "overdue" => a.overdue.minor.cmp(&b.overdue.minor),
                    "late" => opt(a.avg_days_late, b.avg_days_late),
                    "dso" => a.dso_countback.total_cmp(&b.dso_countback),
                    // Unrated customers after D.
                    "rating" => a.rating.unwrap_or("E").cmp(b.rating.unwrap_or("E")),
                    "revenue" => opt(a.revenue_share_ytd, b.revenue_share_ytd),
                    _ => opt(a.credit_use, b.credit_use),
                };
                let o = if desc { o.reverse() } else { o };
                o.then_with(|| a.customer_id.cmp(&b.customer_id))
            });
        }
    }
    let cur = snap.currency;
    let sum = |f: fn(&CustomerRow) -> Money| Money::new(kept.iter().map(|r| f(r).minor).sum(), cur);
    let totals = CustomerTotals {
        balance: sum(|r| r.balance),
        overdue: sum(|r| r.overdue),
        not_due: sum(|r| r.not_due),
    };
    Ok((paginate(&kept, rows.len(), q), totals))
}

/// Sorts rows by their folded name (`desc`: Z first), ties by their key ascending.
fn sort_by_name<T>(rows: &mut Vec<&T>, desc: bool, name_key: impl Fn(&T) -> (&str, &str)) {
    let mut keyed: Vec<(String, &T)> = rows.iter().map(|r| (fold(name_key(r).0), *r)).collect();
    keyed.sort_by(|(na, a), (nb, b)| {
        let o = na.cmp(nb);
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| name_key(a).1.cmp(name_key(b).1))
    });
    *rows = keyed.into_iter().map(|(_, r)| r).collect();
}

/// Checks a sort key of the aged balance: `name`, `balance` or `b<k>` for bucket k.
pub fn aging_sort(key: &str, buckets: usize) -> Result<Option<usize>, ParamError> {
    match key {
        "name" | "balance" => Ok(None),
        _ => key
            .strip_prefix('b')
            .and_then(|k| k.parse::<usize>().ok())
            .filter(|k| *k < buckets)
            .map(Some)
            .ok_or_else(|| {
                bad(
                    "sort",
                    key,
                    format!(
                        "name, balance or a bucket b0 to b{}",
                        buckets.saturating_sub(1)
                    ),
                )
            }),
    }
}

/// Page `q` of the aged balance's rows, with the totals per bucket and of the balance of
/// every row kept. Grouped by customer, the search also finds a customer by an invoice
/// number; grouped by invoice or a dimension, it looks in the row's key and name.
pub fn aging(
    snap: &Snapshot,
    sel: &Selection,
    rows: &[GroupRow],
    buckets: usize,
    q: &ListQuery,
) -> Result<(Page<GroupRow>, Vec<Money>, Money), ParamError> {
    let hits = q
        .search
        .as_deref()
        .map(|t| (fold(t), search_customers(snap, sel, t)));
    let mut kept: Vec<&GroupRow> = rows
        .iter()
        .filter(|r| match &hits {
            None => true,
            Some((needle, customers)) => {
                contains_folded(&r.key, needle)
                    || r.name
                        .as_deref()
                        .is_some_and(|n| contains_folded(n, needle))
                    || r.customer_id
                        .as_deref()
                        .or(Some(r.key.as_str()))
                        .and_then(|id| snap.customers.ids.find(id))
                        .is_some_and(|c| customers[c as usize])
            }
        })
        .collect();
    if let Some(key) = q.sort.as_deref() {
        let bucket = aging_sort(key, buckets)?;
        let desc = q.desc.unwrap_or(key != "name");
        if key == "name" {
            sort_by_name(&mut kept, desc, |r| {
                (r.name.as_deref().unwrap_or(&r.key), &r.key)
            });
        } else {
            kept.sort_by(|a, b| {
                let o = match (key, bucket) {
                    (_, Some(k)) => a
                        .amounts
                        .get(k)
                        .map(|m| m.minor)
                        .cmp(&b.amounts.get(k).map(|m| m.minor)),
                    _ => a.balance.minor.cmp(&b.balance.minor),
                };
                let o = if desc { o.reverse() } else { o };
                o.then_with(|| a.key.cmp(&b.key))
            });
        }
    }
    let cur = snap.currency;
    let per_bucket = (0..buckets)
        .map(|k| {
            Money::new(
                kept.iter()
                    .map(|r| r.amounts.get(k).map_or(0, |m| m.minor))
                    .sum(),
                cur,
            )
        })
        .collect();
    let balance = Money::new(kept.iter().map(|r| r.balance.minor).sum(), cur);
    Ok((paginate(&kept, rows.len(), q), per_bucket, balance))
}
