//! The long lists: the aged balance and the customers, paginated, sorted and searched on the
//! server.

use crate::html::{self, esc, page};
use crate::pages::{bucket_label, context, downloads, nav, the_report, toolbar, try_page};
use crate::{Caller, Shared, bad_request};
use arpilot_core::customers::{CustomerRow, customers as customer_rows};
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;

pub async fn aging(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, mut p, sel) = try_page!(context(&state, &caller, query).await);
    if p.by.is_none() {
        p.by = Some("customer".into());
    }
    let r = try_page!(the_report(&snap, &sel, &p));
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
    let _ = write!(
        b,
        r#"<section class="card"><table id="aging"><thead><tr><th>{}</th>"#,
        match g.by.as_str() {
            "customer" => l.t("Customer", "Client").to_string(),
            "invoice" => l.t("Invoice", "Facture").to_string(),
            dim => esc(state.report_settings().label(dim)),
        }
    );
    for k in &g.buckets {
        let _ = write!(b, r#"<th class="n">{}</th>"#, esc(&bucket_label(l, k)));
    }
    let _ = write!(
        b,
        r#"<th class="n">{}</th></tr></thead><tbody>"#,
        l.t("Balance", "Encours")
    );
    for row in &g.rows {
        if let Some(k) = p.bucket
            && row.amounts.get(k).is_none_or(|a| a.is_zero())
        {
            continue;
        }
        let name = row.name.as_deref().unwrap_or(&row.key);
        // Grouped by customer, the key is the customer's id.
        let id = row
            .customer_id
            .as_ref()
            .or((g.by == "customer").then_some(&row.key));
        let cell = match id {
            Some(id) => format!(
                r#"<a href="/customers/{}?{}">{}</a>"#,
                html::q(id),
                esc(&p.raw),
                esc(name)
            ),
            None => esc(name),
        };
        let _ = write!(b, "<tr><td>{cell}</td>");
        for a in &row.amounts {
            let _ = write!(b, r#"<td class="n">{}</td>"#, l.money(*a));
        }
        let _ = write!(b, r#"<td class="n">{}</td></tr>"#, l.money(row.balance));
    }
    b.push_str("</tbody></table></section>");
    b.push_str(&downloads(l, "aging", &p));
    Html(page(
        l,
        l.t("Aged balance", "Balance âgée"),
        &nav(&caller, &p, "aging"),
        &b,
    ))
    .into_response()
}

fn sort_rows(rows: &mut [CustomerRow], key: Option<&str>) {
    match key {
        Some("overdue") => rows.sort_by_key(|r| std::cmp::Reverse(r.overdue)),
        Some("late") => rows.sort_by(|a, b| {
            b.avg_days_late
                .unwrap_or(f64::MIN)
                .total_cmp(&a.avg_days_late.unwrap_or(f64::MIN))
        }),
        Some("name") => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        _ => {}
    }
}

pub async fn customers(State(state): State<Shared>, caller: Caller, query: RawQuery) -> Response {
    let (snap, p, sel) = try_page!(context(&state, &caller, query).await);
    let as_of = p.date();
    let mut rows = customer_rows(&snap, &sel, as_of, p.rating());
    sort_rows(&mut rows, p.sort.as_deref());
    let l = caller.lang;
    let mut b = format!(
        "<h1>{} {}</h1>{}",
        l.t("Customers as of", "Clients au"),
        l.date(as_of),
        toolbar(l, "/customers", &p, as_of)
    );
    let sort = |key: &str, label: &str| {
        format!(
            r#"<a href="/customers?{}&sort={key}">{}</a>"#,
            esc(&p.raw),
            esc(label)
        )
    };
    let _ = write!(
        b,
        r#"<section class="card"><table id="customers"><thead><tr><th>{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">DSO</th><th>{}</th><th class="n">{}</th><th class="n">{}</th></tr></thead><tbody>"#,
        sort("name", l.t("Customer", "Client")),
        l.t("Balance", "Encours"),
        sort("overdue", l.t("Overdue", "Échu")),
        sort("late", l.t("Avg days late", "Retard moyen")),
        l.t("Rating", "Cotation"),
        l.t("Revenue %", "Poids CA %"),
        l.t("Credit use %", "Utilisation limite %"),
    );
    for r in &rows {
        let _ = write!(
            b,
            r#"<tr><td><a href="/customers/{}?{}">{}</a></td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td class="n">{}</td><td class="n">{}{}</td></tr>"#,
            html::q(&r.customer_id),
            esc(&p.raw),
            esc(&r.name),
            l.money(r.balance),
            l.money(r.overdue),
            l.num(r.avg_days_late, ""),
            l.num(Some(r.dso_countback), ""),
            r.rating.unwrap_or("—"),
            l.num(r.revenue_share_ytd, ""),
            l.num(r.credit_use, ""),
            if r.over_limit { " ⚠" } else { "" },
        );
    }
    b.push_str("</tbody></table></section>");
    b.push_str(&downloads(l, "customers", &p));
    Html(page(
        l,
        l.t("Customers", "Clients"),
        &nav(&caller, &p, "customers"),
        &b,
    ))
    .into_response()
}
