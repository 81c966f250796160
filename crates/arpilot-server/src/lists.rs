//! The long lists: the aged balance and the customers, paginated, sorted and searched on the
//! server.

use crate::html::{self, esc, page};
use crate::pages::{
    bucket_label, computed, context, downloads, nav, the_report, toolbar, try_page,
};
use crate::{Caller, Shared, bad_request};
use arpilot_app::Lang;
use arpilot_app::list::{ListQuery, Page};
use arpilot_core::customers::customers as customer_rows;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;

pub async fn aging(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let query_raw = query.0.clone().unwrap_or_default();
    let (snap, mut p, sel) = try_page!(context(&state, &caller, query).await);
    if p.by.is_none() {
        p.by = Some("customer".into());
    }
    let lq = try_page!(list_query(&query_raw, &p));
    let key = format!("aging|{:?}|{}", caller.scope, p.raw);
    let r = try_page!(
        computed(&state, key, {
            let (snap, p, sel) = (snap.clone(), p.clone(), sel.clone());
            move || the_report(&snap, &sel, &p)
        })
        .await
    );
    let l = caller.lang;
    let Some(g) = &r.groups else {
        return bad_request("no grouping".into());
    };
    let mut b = format!(
        "<h1>{} {}</h1>{}",
        l.t("Aged balance as of", "Balance âgée au"),
        l.date(r.as_of),
        toolbar(l, "/aging", &p, r.as_of)
    );
    let status_options: String = [
        ("", l.t("all", "tous")),
        ("disputed", l.t("disputed", "en litige")),
        ("in_legal", l.t("in legal", "contentieux")),
        ("promised", l.t("promised", "promis")),
        ("normal", l.t("none of these", "aucun de ceux-ci")),
    ]
    .iter()
    .map(|(v, label)| {
        format!(
            r#"<option value="{v}"{}>{label}</option>"#,
            if p.status.map_or("", |x| x.name()) == *v {
                " selected"
            } else {
                ""
            }
        )
    })
    .collect();
    // Bucket set, basis and grouping, kept with the date and filters.
    let hidden: String = form_urlencoded::parse(p.raw.as_bytes())
        .filter(|(k, _)| k == "as_of" || k == "filter")
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                esc(&k),
                esc(&v)
            )
        })
        .collect();
    let _ = write!(
        b,
        r#"<form class="bar-form" method="get" action="/aging">{hidden}<label>{}<input name="buckets" value="{}" size="14"></label><label>{}<select name="basis"><option value="due"{}>{}</option><option value="issue"{}>{}</option></select></label><label>{}<input name="by" value="{}" size="12"></label><label>{}<select name="status">{status_options}</select></label><label>{}<input type="date" name="issued_from" value="{}"></label><label>{}<input type="date" name="issued_to" value="{}"></label><button class="primary">{}</button></form>"#,
        l.t("Buckets (days)", "Tranches (jours)"),
        esc(&p
            .bounds(&p.defaults)
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")),
        l.t("Basis", "Base"),
        if p.basis == Some(arpilot_core::report::Basis::Issue) {
            ""
        } else {
            " selected"
        },
        l.t("due date", "échéance"),
        if p.basis == Some(arpilot_core::report::Basis::Issue) {
            " selected"
        } else {
            ""
        },
        l.t("issue date", "date de facture"),
        l.t("Group by", "Regrouper par"),
        esc(p.by.as_deref().unwrap_or("customer")),
        l.t("Status", "Statut"),
        l.t("Issued from", "Émises du"),
        p.issued_from.map_or(String::new(), |d| d.to_string()),
        l.t("to", "au"),
        p.issued_to.map_or(String::new(), |d| d.to_string()),
        l.t("Apply", "Appliquer"),
    );
    if let Some(k) = p.bucket.filter(|k| *k < g.buckets.len()) {
        let _ = write!(
            b,
            r#"<p class="muted">{} <b>{}</b></p>"#,
            l.t("Customers with amounts in", "Clients ayant un montant en"),
            esc(&bucket_label(l, &g.buckets[k]))
        );
    }
    // The drill-down keeps the rows with an amount in its bucket; the list then searches,
    // sorts and cuts a page of them.
    let drilled: Vec<arpilot_core::report::GroupRow>;
    let rows: &[arpilot_core::report::GroupRow] = match p.bucket {
        Some(k) => {
            drilled = g
                .rows
                .iter()
                .filter(|row| row.amounts.get(k).is_some_and(|a| !a.is_zero()))
                .cloned()
                .collect();
            &drilled
        }
        None => &g.rows,
    };
    let (page_rows, per_bucket, balance) = try_page!(
        arpilot_app::list::aging(&snap, &sel, rows, g.buckets.len(), &lq)
            .map_err(|e| Box::new(bad_request(e.to_string())))
    );
    let mut base = p.raw.clone();
    if let Some(k) = p.bucket {
        push(&mut base, "bucket", &k.to_string());
    }
    b.push_str(&search_form(l, "/aging", &base, &lq));
    b.push_str(&summary(l, &page_rows, l.t("rows", "lignes")));
    let label = match g.by.as_str() {
        "customer" => l.t("Customer", "Client").to_string(),
        "invoice" => l.t("Invoice", "Facture").to_string(),
        dim => state.report_settings().label(dim).to_string(),
    };
    let _ = write!(
        b,
        r#"<section class="card"><div class="table-wrap"><table id="aging" class="list"><thead><tr>{}"#,
        sort_th("/aging", &base, &lq, "name", &label, false, false)
    );
    for (k, name) in g.buckets.iter().enumerate() {
        b.push_str(&sort_th(
            "/aging",
            &base,
            &lq,
            &format!("b{k}"),
            &bucket_label(l, name),
            true,
            true,
        ));
    }
    let _ = write!(
        b,
        "{}</tr></thead><tbody>",
        sort_th(
            "/aging",
            &base,
            &lq,
            "balance",
            l.t("Balance", "Encours"),
            true,
            true
        )
    );
    for row in &page_rows.rows {
        let name = row.name.as_deref().unwrap_or(&row.key);
        // Grouped by customer, the key is the customer's id.
        let id = row
            .customer_id
            .as_ref()
            .or((g.by == "customer").then_some(&row.key));
        let cell = match id {
            Some(id) => format!(
                r#"<a href="/customers/{}?{}" title="{}">{}</a>"#,
                html::q(id),
                esc(&p.raw),
                esc(id),
                esc(name)
            ),
            None => esc(name),
        };
        let _ = write!(b, r#"<tr><th scope="row">{cell}</th>"#);
        for a in &row.amounts {
            let _ = write!(b, r#"<td class="n">{}</td>"#, l.money(*a));
        }
        let _ = write!(b, r#"<td class="n">{}</td></tr>"#, l.money(row.balance));
    }
    let _ = write!(
        b,
        r#"</tbody><tfoot><tr><th scope="row">{} ({})</th>"#,
        l.t("Total", "Total"),
        page_rows.matched
    );
    for a in &per_bucket {
        let _ = write!(b, r#"<td class="n">{}</td>"#, l.money(*a));
    }
    let _ = write!(
        b,
        r#"<td class="n">{}</td></tr></tfoot></table></div>{}</section>"#,
        l.money(balance),
        pager(l, "/aging", &base, &lq, &page_rows)
    );
    b.push_str(&downloads(l, "aging", &kept_query(&base, &lq, true)));
    Html(page(
        l,
        l.t("Aged balance", "Balance âgée"),
        &nav(&caller, &p, "aging"),
        &b,
    ))
    .into_response()
}

pub async fn customers(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let query_raw = query.0.clone().unwrap_or_default();
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let lq = try_page!(list_query(&query_raw, &p));
    let as_of = p.date();
    // Every customer's row is computed once per scope, parameters and ledger state; the
    // search, the sort and the page are cut from it on each request.
    let key = format!("customers|{:?}|{}", caller.scope, p.raw);
    let rows = try_page!(
        computed(&state, key, {
            let (snap, p, sel) = (snap.clone(), p.clone(), sel.clone());
            move || Ok(customer_rows(&snap, &sel, p.date(), p.rating()))
        })
        .await
    );
    let (page_rows, totals) = try_page!(
        arpilot_app::list::customers(&snap, &sel, &rows, &lq)
            .map_err(|e| Box::new(bad_request(e.to_string())))
    );
    let l = caller.lang;
    let mut b = format!(
        "<h1>{} {}</h1>{}",
        l.t("Customers as of", "Clients au"),
        l.date(as_of),
        toolbar(l, "/customers", &p, as_of)
    );
    let base = p.raw.clone();
    b.push_str(&search_form(l, "/customers", &base, &lq));
    b.push_str(&summary(l, &page_rows, l.t("customers", "clients")));
    let th = |key: &str, label: &str, num: bool| {
        sort_th(
            "/customers",
            &base,
            &lq,
            key,
            label,
            num,
            arpilot_app::list::customer_sort(key).unwrap_or(false),
        )
    };
    let _ = write!(
        b,
        r#"<section class="card"><div class="table-wrap"><table id="customers" class="list"><thead><tr>{}{}{}{}{}{}{}{}</tr></thead><tbody>"#,
        th("name", l.t("Customer", "Client"), false),
        th("balance", l.t("Balance", "Encours"), true),
        th("overdue", l.t("Overdue", "Échu"), true),
        th("late", l.t("Avg days late", "Retard moyen"), true),
        th("dso", "DSO", true),
        th("rating", l.t("Rating", "Cotation"), false),
        th("revenue", l.t("Revenue %", "Poids CA %"), true),
        th("credit", l.t("Credit use %", "Utilisation limite %"), true),
    );
    for r in &page_rows.rows {
        let _ = write!(
            b,
            r#"<tr><th scope="row"><a href="/customers/{}?{}" title="{}">{}</a></th><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td class="n">{}</td><td class="n">{}{}</td></tr>"#,
            html::q(&r.customer_id),
            esc(&p.raw),
            esc(&r.customer_id),
            esc(&r.name),
            l.money(r.balance),
            l.money(r.overdue),
            l.num(r.avg_days_late, ""),
            l.num(Some(r.dso_countback), ""),
            r.rating.unwrap_or("—"),
            l.num(r.revenue_share_ytd, ""),
            l.num(r.credit_use, ""),
            if r.over_limit {
                format!(
                    r#" <span class="warn" title="{0}" aria-label="{0}">⚠</span>"#,
                    l.t("Over the credit limit", "Limite de crédit dépassée")
                )
            } else {
                String::new()
            },
        );
    }
    let _ = write!(
        b,
        r#"</tbody><tfoot><tr><th scope="row">{} ({})</th><td class="n">{}</td><td class="n">{}</td><td colspan="5"></td></tr></tfoot></table></div>{}</section>"#,
        l.t("Total", "Total"),
        page_rows.matched,
        l.money(totals.balance),
        l.money(totals.overdue),
        pager(l, "/customers", &base, &lq, &page_rows)
    );
    b.push_str(&downloads(l, "customers", &kept_query(&base, &lq, true)));
    Html(page(
        l,
        l.t("Customers", "Clients"),
        &nav(&caller, &p, "customers"),
        &b,
    ))
    .into_response()
}

/// The list's part of the query, or the page explaining what is refused.
fn list_query(raw: &str, p: &crate::Params) -> Result<ListQuery, Box<Response>> {
    ListQuery::from_query(raw, p.sort.as_deref()).map_err(|e| Box::new(bad_request(e.to_string())))
}

/// Appends `name=value` to a query string.
fn push(query: &mut String, name: &str, value: &str) {
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(name);
    query.push('=');
    query.push_str(&html::q(value));
}

/// A link to the list at `path` with the report's parameters (`base`), the search, the page
/// size, and the given sort and page.
fn list_href(
    path: &str,
    base: &str,
    lq: &ListQuery,
    sort: Option<(&str, bool)>,
    page: usize,
) -> String {
    let mut q = base.to_string();
    if let Some(s) = &lq.search {
        push(&mut q, "q", s);
    }
    if lq.per != arpilot_app::list::PER_PAGE {
        push(&mut q, "per", &lq.per.to_string());
    }
    if let Some((key, desc)) = sort {
        push(&mut q, "sort", key);
        push(&mut q, "dir", if desc { "desc" } else { "asc" });
    }
    if page > 1 {
        push(&mut q, "page", &page.to_string());
    }
    format!("{path}?{q}")
}

/// The report's parameters (`base`) with the list's sort and direction as given, and its
/// search when `search`: what the search box and the downloads keep.
fn kept_query(base: &str, lq: &ListQuery, search: bool) -> String {
    let mut q = base.to_string();
    if let Some(s) = lq.search.as_ref().filter(|_| search) {
        push(&mut q, "q", s);
    }
    if let Some(k) = &lq.sort {
        push(&mut q, "sort", k);
    }
    if let Some(desc) = lq.desc {
        push(&mut q, "dir", if desc { "desc" } else { "asc" });
    }
    q
}

/// The sort the request gave with its direction, to keep in links.
fn explicit_sort(lq: &ListQuery) -> Option<(&str, bool)> {
    lq.sort.as_deref().and_then(|k| lq.desc.map(|d| (k, d)))
}

/// A column heading that sorts on `key`: a click sorts in the column's natural direction,
/// a second click the other way, back to the first page.
fn sort_th(
    path: &str,
    base: &str,
    lq: &ListQuery,
    key: &str,
    label: &str,
    num: bool,
    natural_desc: bool,
) -> String {
    let on = lq.sort.as_deref() == Some(key);
    let desc = lq.desc.unwrap_or(natural_desc);
    let next = if on { !desc } else { natural_desc };
    let (aria, arrow) = match (on, desc) {
        (false, _) => ("", ""),
        (true, true) => (r#" aria-sort="descending""#, " ▼"),
        (true, false) => (r#" aria-sort="ascending""#, " ▲"),
    };
    format!(
        r#"<th scope="col"{}{aria}><a href="{}">{}{arrow}</a></th>"#,
        if num { r#" class="n""# } else { "" },
        esc(&list_href(path, base, lq, Some((key, next)), 1)),
        esc(label)
    )
}

/// The search box: the report's parameters and the sort ride along as hidden fields.
fn search_form(l: Lang, path: &str, base: &str, lq: &ListQuery) -> String {
    let mut hidden = String::new();
    let keep = kept_query(base, lq, false);
    for (k, v) in form_urlencoded::parse(keep.as_bytes()) {
        let _ = write!(
            hidden,
            r#"<input type="hidden" name="{}" value="{}">"#,
            esc(&k),
            esc(&v)
        );
    }
    let per: String = [25usize, 50, 100, 200]
        .iter()
        .map(|n| {
            format!(
                r#"<option value="{n}"{}>{n}</option>"#,
                if *n == lq.per { " selected" } else { "" }
            )
        })
        .collect();
    format!(
        r#"<form class="bar-form" role="search" method="get" action="{path}">{hidden}<label>{}<input type="search" name="q" value="{}" maxlength="{}" placeholder="{}"></label><label>{}<select name="per">{per}</select></label><button class="primary">{}</button>{}</form>"#,
        l.t("Search", "Rechercher"),
        esc(lq.search.as_deref().unwrap_or("")),
        arpilot_app::list::MAX_SEARCH,
        esc(l.t(
            "name, id or invoice number",
            "nom, code ou numéro de facture"
        )),
        l.t("Rows per page", "Lignes par page"),
        l.t("Search", "Rechercher"),
        if lq.search.is_some() {
            format!(
                r#" <a href="{}">{}</a>"#,
                esc(&list_href(
                    path,
                    base,
                    &ListQuery {
                        search: None,
                        ..lq.clone()
                    },
                    explicit_sort(lq),
                    1
                )),
                l.t("Clear the search", "Effacer la recherche")
            )
        } else {
            String::new()
        }
    )
}

/// "Rows 1–50 of 312 (search: 312 of 10 000)".
fn summary<T>(l: Lang, pg: &Page<T>, what: &str) -> String {
    let last = pg.first() + pg.rows.len().saturating_sub(1);
    let mut s = format!(
        r#"<p class="muted" id="list-summary">{} {}–{} {} {} {}"#,
        l.t("Rows", "Lignes"),
        pg.first(),
        if pg.rows.is_empty() { 0 } else { last },
        l.t("of", "sur"),
        count(l, pg.matched),
        esc(what)
    );
    if pg.matched != pg.total {
        let _ = write!(
            s,
            " ({} {} {})",
            l.t("found among", "trouvés parmi"),
            count(l, pg.total),
            esc(what)
        );
    }
    s.push_str("</p>");
    s
}

/// A count with the locale's thousands separator.
fn count(l: Lang, n: usize) -> String {
    let digits = n.to_string();
    let sep = l.t(",", "\u{202f}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// Previous, numbered and next pages (the first, the last and two around the current one).
fn pager<T>(l: Lang, path: &str, base: &str, lq: &ListQuery, pg: &Page<T>) -> String {
    if pg.pages <= 1 {
        return String::new();
    }
    let sort = explicit_sort(lq);
    let link = |n: usize, label: &str, rel: &str| {
        format!(
            r#"<a href="{}"{}{}>{}</a>"#,
            esc(&list_href(path, base, lq, sort, n)),
            if n == pg.page {
                r#" aria-current="page""#
            } else {
                ""
            },
            rel,
            esc(label)
        )
    };
    let mut s = format!(
        r#"<nav class="pager" aria-label="{}">"#,
        l.t("Pages", "Pages")
    );
    if pg.page > 1 {
        s.push_str(&link(
            pg.page - 1,
            l.t("‹ Previous", "‹ Précédente"),
            r#" rel="prev""#,
        ));
    }
    let mut last_shown = 0;
    for n in 1..=pg.pages {
        if n == 1 || n == pg.pages || n.abs_diff(pg.page) <= 2 {
            if last_shown + 1 < n {
                s.push_str(r#"<span class="gap">…</span>"#);
            }
            s.push_str(&link(n, &n.to_string(), ""));
            last_shown = n;
        }
    }
    if pg.page < pg.pages {
        s.push_str(&link(
            pg.page + 1,
            l.t("Next ›", "Suivante ›"),
            r#" rel="next""#,
        ));
    }
    s.push_str("</nav>");
    s
}
