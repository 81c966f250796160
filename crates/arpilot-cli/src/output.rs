//! Report output: JSON (the public contract), CSV (opens in Excel) and aligned tables for people.

use anyhow::Result;
use arpilot_core::customers::CustomerRow;
use arpilot_core::forecast::{Backtest, Forecast};
use arpilot_core::invoices::InvoiceRow;
use arpilot_core::money::Money;
use arpilot_core::report::Report;
use arpilot_core::trend::TrendPoint;
use clap::ValueEnum;
use std::io::Write;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Locale {
    En,
    Fr,
}

impl Locale {
    /// The same language for the application's words (exports).
    pub fn lang(self) -> arpilot_app::Lang {
        match self {
            Locale::En => arpilot_app::Lang::En,
            Locale::Fr => arpilot_app::Lang::Fr,
        }
    }

    fn money(self, m: Money) -> String {
        self.lang().amount(m)
    }

    fn num(self, x: Option<f64>) -> String {
        match x {
            None => "–".to_string(),
            Some(v) => {
                let s = format!("{v:.2}");
                if self == Locale::Fr {
                    s.replace('.', ",")
                } else {
                    s
                }
            }
        }
    }

    fn t(self, en: &'static str, fr: &'static str) -> &'static str {
        match self {
            Locale::En => en,
            Locale::Fr => fr,
        }
    }
}

/// A table whose columns are aligned: text left, figures right.
struct Table {
    head: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
    total: Option<Vec<String>>,
}

impl Table {
    fn new(cols: &[(&str, bool)]) -> Table {
        Table {
            head: cols.iter().map(|c| c.0.to_string()).collect(),
            right: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
            total: None,
        }
    }

    fn render(&self) -> String {
        let n = self.head.len();
        let width = |i: usize| {
            std::iter::once(&self.head)
                .chain(&self.rows)
                .chain(self.total.iter())
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        };
        let w: Vec<usize> = (0..n).map(width).collect();
        let line = |r: &Vec<String>| {
            let cells: Vec<String> = (0..n)
                .map(|i| {
                    let pad = w[i] - r[i].chars().count();
                    if self.right[i] {
                        format!("{}{}", " ".repeat(pad), r[i])
                    } else {
                        format!("{}{}", r[i], " ".repeat(pad))
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_string() + "\n"
        };
        let rule = w
            .iter()
            .map(|&x| "─".repeat(x))
            .collect::<Vec<_>>()
            .join("  ")
            + "\n";
        let mut out = line(&self.head);
        out += &rule;
        for r in &self.rows {
            out += &line(r);
        }
        if let Some(t) = &self.total {
            out += &rule;
            out += &line(t);
        }
        out
    }
}

fn write_json<T: serde::Serialize + ?Sized>(w: &mut impl Write, v: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *w, v)?;
    writeln!(w)?;
    Ok(())
}

/// Neutralises text that a spreadsheet would run as a formula.
pub fn safe_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| v.to_string())
}

pub fn summary_table(r: &Report, l: Locale) -> String {
    let mut s = String::new();
    let m = |x: Money| l.money(x);
    s += &format!(
        "{} {} ({})\n\n",
        l.t("Receivables as of", "Encours au"),
        r.as_of,
        r.currency
    );
    let mut t = Table::new(&[(l.t("Balance", "Encours"), false), ("", true)]);
    let tot = &r.totals;
    for (k, v) in [
        (l.t("Balance", "Encours total"), tot.balance),
        (l.t("Open invoices", "Factures ouvertes"), tot.open_invoices),
        (l.t("Not due", "Non échu"), tot.not_due),
        (l.t("Overdue", "Échu"), tot.overdue),
        (l.t("Unapplied", "Non lettré"), tot.unapplied),
        (l.t("Disputed", "En litige"), tot.disputed),
        (l.t("In legal", "Contentieux"), tot.in_legal),
        (l.t("Promised", "Promesses"), tot.promised),
    ] {
        t.rows.push(vec![k.to_string(), m(v)]);
    }
    s += &t.render();
    s += "\n";
    let mut t = Table::new(&[
        (l.t("Aged balance", "Balance âgée"), false),
        (l.t("Amount", "Montant"), true),
        (l.t("Invoices", "Factures"), true),
        ("%", true),
    ]);
    let open = r.totals.open_invoices.units();
    for b in &r.aging {
        t.rows.push(vec![
            b.bucket.clone(),
            m(b.amount),
            b.count.to_string(),
            l.num(Some(if open > 0.0 {
                b.amount.units() / open * 100.0
            } else {
                0.0
            })),
        ]);
    }
    t.rows.push(vec![
        l.t("unapplied", "non lettré").to_string(),
        m(r.totals.unapplied),
        String::new(),
        String::new(),
    ]);
    t.total = Some(vec![
        l.t("Total", "Total").to_string(),
        m(r.totals.balance),
        r.aging.iter().map(|b| b.count).sum::<u64>().to_string(),
        String::new(),
    ]);
    s += &t.render();
    s += "\n";
    let mut t = Table::new(&[(l.t("Indicator", "Indicateur"), false), ("", true)]);
    let cr = &r.collection_rate;
    for (k, v) in [
        (
            l.t("DSO count-back (days)", "DSO par épuisement (jours)"),
            l.num(Some(r.dso.countback)),
        ),
        (
            l.t("DSO standard (days)", "DSO comptable (jours)"),
            l.num(r.dso.standard),
        ),
        (
            l.t("Best possible DSO", "DSO optimal"),
            l.num(r.dso.best_possible),
        ),
        (
            l.t("Delinquent DSO (ADD)", "Retard moyen (ADD)"),
            l.num(r.dso.delinquent),
        ),
        (
            l.t("DBT (days beyond terms)", "DBT (jours de retard pondérés)"),
            l.num(r.dbt),
        ),
        (l.t("CEI month (%)", "CEI du mois (%)"), l.num(r.cei.month)),
        (
            l.t("CEI 90 days (%)", "CEI 90 jours (%)"),
            l.num(r.cei.rolling_90),
        ),
        (
            l.t("To collect this month", "À recouvrer ce mois"),
            m(cr.to_collect),
        ),
        (l.t("Collected", "Recouvré"), m(cr.collected)),
        (l.t("Credited", "Avoirs"), m(cr.credited)),
        (
            l.t("Remaining to collect", "Reste à recouvrer"),
            m(cr.remaining),
        ),
        (
            l.t("Collection rate (%)", "Taux de recouvrement (%)"),
            l.num(cr.rate),
        ),
        (l.t("Provisions", "Provisions"), m(r.provisions.total)),
    ] {
        t.rows.push(vec![k.to_string(), v]);
    }
    if r.dso.countback_history_exhausted {
        t.rows.push(vec![
            l.t("(count-back ran out of history)", "(historique épuisé)")
                .into(),
            String::new(),
        ]);
    }
    s += &t.render();
    if !r.top_debtors.is_empty() {
        s += "\n";
        let mut t = Table::new(&[
            (l.t("Top debtors", "Principaux débiteurs"), false),
            (l.t("Name", "Nom"), false),
            (l.t("Balance", "Encours"), true),
            (l.t("Overdue", "Échu"), true),
        ]);
        for d in &r.top_debtors {
            t.rows.push(vec![
                d.customer_id.clone(),
                d.name.clone(),
                m(d.balance),
                m(d.overdue),
            ]);
        }
        s += &t.render();
    }
    if !r.top_overdue_invoices.is_empty() {
        s += "\n";
        let mut t = Table::new(&[
            (l.t("Top overdue invoices", "Factures échues"), false),
            (l.t("Customer", "Client"), false),
            (l.t("Open", "Restant dû"), true),
            (l.t("Days", "Jours"), true),
        ]);
        for d in &r.top_overdue_invoices {
            t.rows.push(vec![
                d.document_id.clone(),
                d.customer_id.clone(),
                m(d.open_amount),
                d.days_overdue.to_string(),
            ]);
        }
        s += &t.render();
    }
    if r.groups.is_some() {
        s += "\n";
        s += &groups_table(r, l);
    }
    s
}

fn groups_table(r: &Report, l: Locale) -> String {
    let g = r.groups.as_ref().expect("groups");
    let mut cols: Vec<(&str, bool)> = vec![(g.by.as_str(), false)];
    cols.extend(g.buckets.iter().map(|b| (b.as_str(), true)));
    cols.push((l.t("unapplied", "non lettré"), true));
    cols.push((l.t("balance", "encours"), true));
    let mut t = Table::new(&cols);
    for row in &g.rows {
        let mut cells = vec![match &row.name {
            Some(n) => format!("{} {}", row.key, n),
            None if row.key.is_empty() => "(–)".to_string(),
            None => row.key.clone(),
        }];
        cells.extend(row.amounts.iter().map(|a| l.money(*a)));
        cells.push(l.money(row.unapplied));
        cells.push(l.money(row.balance));
        t.rows.push(cells);
    }
    // The report's own totals, as the exports show them: one answer.
    let mut tot = vec![l.t("Total", "Total").to_string()];
    tot.extend(r.aging.iter().map(|b| l.money(b.amount)));
    tot.push(l.money(r.totals.unapplied));
    tot.push(l.money(r.totals.balance));
    t.total = Some(tot);
    t.render()
}

pub fn write_summary(w: &mut impl Write, r: &Report, f: Format, l: Locale) -> Result<()> {
    match f {
        Format::Json => {
            write_json(w, r)?;
        }
        Format::Table => write!(w, "{}", summary_table(r, l))?,
        Format::Csv => {
            let mut c = csv::Writer::from_writer(w);
            match &r.groups {
                None => {
                    c.write_record(["bucket", "amount", "count"])?;
                    for b in &r.aging {
                        c.write_record([
                            b.bucket.clone(),
                            b.amount.to_string(),
                            b.count.to_string(),
                        ])?;
                    }
                    c.write_record([
                        "unapplied".to_string(),
                        r.totals.unapplied.to_string(),
                        String::new(),
                    ])?;
                    c.write_record([
                        "balance".to_string(),
                        r.totals.balance.to_string(),
                        String::new(),
                    ])?;
                }
                Some(g) => {
                    let mut head = vec![g.by.clone(), "name".into(), "customer_id".into()];
                    head.extend(g.buckets.iter().cloned());
                    head.extend(["unapplied".into(), "balance".into()]);
                    c.write_record(&head)?;
                    for row in &g.rows {
                        let mut rec = vec![
                            safe_cell(&row.key),
                            safe_cell(row.name.as_deref().unwrap_or("")),
                            safe_cell(row.customer_id.as_deref().unwrap_or("")),
                        ];
                        rec.extend(row.amounts.iter().map(|a| a.to_string()));
                        rec.extend([row.unapplied.to_string(), row.balance.to_string()]);
                        c.write_record(&rec)?;
                    }
                }
            }
            c.flush()?;
        }
    }
    Ok(())
}

pub fn write_customers(
    w: &mut impl Write,
    rows: &[CustomerRow],
    f: Format,
    l: Locale,
) -> Result<()> {
    match f {
        Format::Json => {
            write_json(w, rows)?;
        }
        Format::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "customer_id",
                "name",
                "balance",
                "overdue",
                "avg_days_late",
                "days_to_pay",
                "dso_countback",
                "revenue_share_ytd",
                "rating",
                "rating_percentile",
                "credit_use",
                "over_limit",
            ])?;
            for r in rows {
                c.write_record([
                    safe_cell(&r.customer_id),
                    safe_cell(&r.name),
                    r.balance.to_string(),
                    r.overdue.to_string(),
                    opt(r.avg_days_late),
                    opt(r.days_to_pay),
                    r.dso_countback.to_string(),
                    opt(r.revenue_share_ytd),
                    r.rating.unwrap_or("").to_string(),
                    opt(r.rating_percentile),
                    opt(r.credit_use),
                    r.over_limit.to_string(),
                ])?;
            }
            c.flush()?;
        }
        Format::Table => {
            let mut t = Table::new(&[
                (l.t("Customer", "Client"), false),
                (l.t("Name", "Nom"), false),
                (l.t("Balance", "Encours"), true),
                (l.t("Overdue", "Échu"), true),
                (l.t("Days late", "Retard moy."), true),
                (l.t("Days to pay", "Délai paiement"), true),
                ("DSO", true),
                (l.t("Revenue %", "Poids CA %"), true),
                (l.t("Rating", "Note"), false),
                (l.t("Credit use %", "Util. crédit %"), true),
            ]);
            for r in rows {
                t.rows.push(vec![
                    r.customer_id.clone(),
                    r.name.clone(),
                    l.money(r.balance),
                    l.money(r.overdue),
                    l.num(r.avg_days_late),
                    l.num(r.days_to_pay),
                    l.num(Some(r.dso_countback)),
                    l.num(r.revenue_share_ytd),
                    r.rating.unwrap_or("–").to_string(),
                    l.num(r.credit_use),
                ]);
            }
            if let Some(first) = rows.first() {
                let cur = first.balance.currency;
                let mut tot = vec![String::new(); 10];
                tot[0] = format!("{} ({})", l.t("Total", "Total"), rows.len());
                tot[2] = l.money(Money::sum(cur, rows.iter().map(|r| r.balance)));
                tot[3] = l.money(Money::sum(cur, rows.iter().map(|r| r.overdue)));
                t.total = Some(tot);
            }
            write!(w, "{}", t.render())?;
        }
    }
    Ok(())
}

pub fn write_trend(w: &mut impl Write, pts: &[TrendPoint], f: Format, l: Locale) -> Result<()> {
    match f {
        Format::Json => {
            write_json(w, pts)?;
        }
        Format::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "date",
                "balance",
                "overdue",
                "dso_countback",
                "dso_standard",
                "dso_best_possible",
                "dso_delinquent",
                "dbt",
                "cei_month",
                "cei_rolling_90",
            ])?;
            for p in pts {
                c.write_record([
                    p.date.to_string(),
                    p.balance.to_string(),
                    p.overdue.to_string(),
                    p.dso_countback.to_string(),
                    opt(p.dso_standard),
                    opt(p.dso_best_possible),
                    opt(p.dso_delinquent),
                    opt(p.dbt),
                    opt(p.cei_month),
                    opt(p.cei_rolling_90),
                ])?;
            }
            c.flush()?;
        }
        Format::Table => {
            let mut t = Table::new(&[
                ("Date", false),
                (l.t("Balance", "Encours"), true),
                (l.t("Overdue", "Échu"), true),
                (l.t("DSO c-b", "DSO épuis."), true),
                (l.t("DSO std", "DSO compt."), true),
                ("BPDSO", true),
                ("ADD", true),
                ("DBT", true),
                (l.t("CEI month", "CEI mois"), true),
            ]);
            for p in pts {
                t.rows.push(vec![
                    p.date.to_string(),
                    l.money(p.balance),
                    l.money(p.overdue),
                    l.num(Some(p.dso_countback)),
                    l.num(p.dso_standard),
                    l.num(p.dso_best_possible),
                    l.num(p.dso_delinquent),
                    l.num(p.dbt),
                    l.num(p.cei_month),
                ]);
            }
            write!(w, "{}", t.render())?;
        }
    }
    Ok(())
}

pub fn write_invoices(w: &mut impl Write, rows: &[InvoiceRow], f: Format, l: Locale) -> Result<()> {
    match f {
        Format::Json => {
            write_json(w, rows)?;
        }
        Format::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "document_id",
                "customer_id",
                "issue_date",
                "due_date",
                "amount",
                "open_amount",
                "settled_on",
                "days_late",
                "days_overdue",
            ])?;
            for r in rows {
                c.write_record([
                    safe_cell(&r.document_id),
                    safe_cell(&r.customer_id),
                    r.issue_date.to_string(),
                    r.due_date.to_string(),
                    r.amount.to_string(),
                    r.open_amount.to_string(),
                    r.settled_on.map_or(String::new(), |d| d.to_string()),
                    r.days_late.map_or(String::new(), |d| d.to_string()),
                    r.days_overdue.map_or(String::new(), |d| d.to_string()),
                ])?;
            }
            c.flush()?;
        }
        Format::Table => {
            let mut t = Table::new(&[
                (l.t("Invoice", "Facture"), false),
                (l.t("Customer", "Client"), false),
                (l.t("Issued", "Émise"), false),
                (l.t("Due", "Échéance"), false),
                (l.t("Amount", "Montant"), true),
                (l.t("Open", "Restant dû"), true),
                (l.t("Settled", "Soldée"), false),
                (l.t("Days late", "Jours retard"), true),
            ]);
            for r in rows {
                t.rows.push(vec![
                    r.document_id.clone(),
                    r.customer_id.clone(),
                    r.issue_date.to_string(),
                    r.due_date.to_string(),
                    l.money(r.amount),
                    l.money(r.open_amount),
                    r.settled_on.map_or(String::new(), |d| d.to_string()),
                    r.days_late
                        .or(r.days_overdue)
                        .map_or(String::new(), |d| d.to_string()),
                ]);
            }
            write!(w, "{}", t.render())?;
        }
    }
    Ok(())
}

pub fn write_forecast(w: &mut impl Write, f: &Forecast, fmt: Format, l: Locale) -> Result<()> {
    match fmt {
        Format::Json => {
            write_json(w, f)?;
        }
        Format::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record(["period", "kind", "amount"])?;
            for p in &f.past {
                c.write_record([p.month.clone(), "collected".into(), p.collected.to_string()])?;
            }
            for p in &f.future {
                c.write_record([p.period.clone(), "expected".into(), p.expected.to_string()])?;
            }
            c.flush()?;
        }
        Format::Table => {
            let method = serde_json::to_value(f.method_used)?;
            writeln!(
                w,
                "{} {} ({} {})\n",
                l.t("Collections forecast as of", "Prévision d'encaissements au"),
                f.as_of,
                l.t("method", "méthode"),
                method.as_str().unwrap_or("")
            )?;
            let mut t = Table::new(&[
                (l.t("Period", "Période"), false),
                (l.t("Collected", "Encaissé"), true),
                (l.t("Expected", "Prévu"), true),
            ]);
            for p in &f.past {
                t.rows
                    .push(vec![p.month.clone(), l.money(p.collected), String::new()]);
            }
            for p in &f.future {
                t.rows
                    .push(vec![p.period.clone(), String::new(), l.money(p.expected)]);
            }
            write!(w, "{}", t.render())?;
        }
    }
    Ok(())
}

pub fn write_backtest(w: &mut impl Write, b: &Backtest, fmt: Format) -> Result<()> {
    match fmt {
        Format::Table => {
            writeln!(
                w,
                "Forecast back-test, {} month ends from {} to {}: WAPE (%) per horizon\n",
                b.month_ends.len(),
                b.from,
                b.to
            )?;
            let mut cols: Vec<(&str, bool)> = vec![("method", false)];
            cols.extend(b.horizons.iter().map(|h| (*h, true)));
            cols.extend(b.horizons.iter().map(|_| ("", true)));
            let mut t = Table::new(&cols);
            for (k, h) in b.horizons.iter().enumerate() {
                t.head[1 + b.horizons.len() + k] = format!("{h} by customer");
            }
            for m in &b.methods {
                let name = serde_json::to_value(m.method)?;
                let mut row = vec![name.as_str().unwrap_or("").to_string()];
                let f = |x: &Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.2}"));
                row.extend(m.wape.iter().map(f));
                row.extend(m.wape_by_customer.iter().map(f));
                t.rows.push(row);
            }
            write!(w, "{}", t.render())?;
        }
        _ => {
            write_json(w, b)?;
        }
    }
    Ok(())
}

/// One column of a listing: English and French headers, right-aligned or not.
pub type Col = (&'static str, &'static str, bool);

/// A listing as JSON (`json`), CSV (machine values, formula-like text neutralised) or an aligned
/// table (locale values): `rows` yields, per row, the CSV cells and the table cells.
pub fn write_listing<T: serde::Serialize + ?Sized>(
    w: &mut impl Write,
    f: Format,
    l: Locale,
    cols: &[Col],
    json: &T,
    rows: &[(Vec<String>, Vec<String>)],
) -> Result<()> {
    match f {
        Format::Json => write_json(w, json)?,
        Format::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record(
                cols.iter()
                    .map(|c| c.0.to_ascii_lowercase().replace(' ', "_")),
            )?;
            for (cells, _) in rows {
                c.write_record(cells.iter().map(|s| safe_cell(s)))?;
            }
            c.flush()?;
        }
        Format::Table => {
            let heads: Vec<(&str, bool)> = cols.iter().map(|c| (l.t(c.0, c.1), c.2)).collect();
            let mut t = Table::new(&heads);
            t.rows = rows.iter().map(|r| r.1.clone()).collect();
            write!(w, "{}", t.render())?;
        }
    }
    Ok(())
}

/// A figure for a table, in the locale's decimal mark.
pub fn num(l: Locale, x: Option<f64>) -> String {
    match (l, x) {
        (_, None) => String::new(),
        (Locale::En, Some(v)) => format!("{v:.2}"),
        (Locale::Fr, Some(v)) => format!("{v:.2}").replace('.', ","),
    }
}

pub fn money_cell(l: Locale, m: Money) -> String {
    l.money(m)
}

/// `arpilot worklist`: rank, customer, score, overdue, last action, reasons, next step.
pub fn write_worklist(
    w: &mut impl Write,
    items: &[arpilot_app::worklist::WorkItem],
    f: Format,
    l: Locale,
) -> Result<()> {
    let lang = l.lang();
    match f {
        Format::Json => write_json(w, items)?,
        Format::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "customer_id",
                "name",
                "collector",
                "score",
                "overdue",
                "at_stake",
                "last_action",
                "reasons",
                "suggestion",
            ])?;
            for r in items {
                c.write_record([
                    safe_cell(&r.customer_id),
                    safe_cell(&r.name),
                    safe_cell(r.collector.as_deref().unwrap_or("")),
                    r.score.to_string(),
                    r.overdue.to_string(),
                    r.at_stake.to_string(),
                    r.last_action.map_or(String::new(), |d| d.to_string()),
                    safe_cell(&r.reasons.join("; ")),
                    safe_cell(&r.suggestion),
                ])?;
            }
            c.flush()?;
        }
        Format::Table => {
            let fr = l == Locale::Fr;
            let mut t = Table::new(&[
                ("#", true),
                (if fr { "client" } else { "customer" }, false),
                ("score", true),
                (if fr { "échu" } else { "overdue" }, true),
                (
                    if fr {
                        "dernière action"
                    } else {
                        "last action"
                    },
                    false,
                ),
                (if fr { "pourquoi" } else { "why" }, false),
                (if fr { "à faire" } else { "next step" }, false),
            ]);
            for (k, r) in items.iter().enumerate() {
                t.rows.push(vec![
                    (k + 1).to_string(),
                    format!("{} {}", r.customer_id, r.name),
                    format!("{:.1}", r.score),
                    lang.amount(r.overdue),
                    r.last_action.map_or("—".to_string(), |d| lang.date(d)),
                    // The two main reasons; `--format json` has them all.
                    match r.reasons.len() {
                        0..=2 => r.reasons.join(" · "),
                        n => format!("{} · +{}", r.reasons[..2].join(" · "), n - 2),
                    },
                    r.suggestion.clone(),
                ]);
            }
            write!(w, "{}", t.render())?;
        }
    }
    Ok(())
}

/// `arpilot report work`: one row per collector and the team's.
pub fn write_work(
    w: &mut impl Write,
    k: &arpilot_core::work::WorkKpis,
    f: Format,
    l: Locale,
) -> Result<()> {
    let rows: Vec<(Vec<String>, Vec<String>)> = k
        .rows
        .iter()
        .chain(std::iter::once(&k.total))
        .map(|r| {
            let name = r
                .collector
                .clone()
                .unwrap_or_else(|| if l == Locale::Fr { "Équipe" } else { "Team" }.to_string());
            let o = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
            let csv = vec![
                name.clone(),
                r.actions.to_string(),
                r.actions_per_day.to_string(),
                o(r.contact_rate),
                r.promises_obtained.to_string(),
                r.promised_amount.to_string(),
                r.promises_kept.to_string(),
                r.promises_broken.to_string(),
                o(r.kept_rate),
                o(r.avg_days_to_first_action),
                r.disputes_opened.to_string(),
                r.disputes_resolved.to_string(),
                o(r.activation_30),
                r.cash_after_action.to_string(),
                r.backlog_customers.to_string(),
            ];
            let n = |v: Option<f64>| num(l, v);
            let tab = vec![
                name,
                r.actions.to_string(),
                num(l, Some(r.actions_per_day)),
                n(r.contact_rate),
                r.promises_obtained.to_string(),
                money_cell(l, r.promised_amount),
                r.promises_kept.to_string(),
                r.promises_broken.to_string(),
                n(r.kept_rate),
                n(r.avg_days_to_first_action),
                r.disputes_opened.to_string(),
                r.disputes_resolved.to_string(),
                n(r.activation_30),
                money_cell(l, r.cash_after_action),
                r.backlog_customers.to_string(),
            ];
            (csv, tab)
        })
        .collect();
    write_listing(
        w,
        f,
        l,
        &[
            ("Collector", "Recouvreur", false),
            ("Actions", "Actions", true),
            ("Per day", "Par jour", true),
            ("Contact rate", "Taux de contact", true),
            ("Promises", "Promesses", true),
            ("Promised", "Promis", true),
            ("Kept", "Tenues", true),
            ("Broken", "Non tenues", true),
            ("Kept rate", "Taux tenues", true),
            ("Days to 1st action", "Délai 1re action", true),
            ("Disputes opened", "Litiges ouverts", true),
            ("Resolved", "Résolus", true),
            ("Paid within 30 d", "Payé sous 30 j", true),
            ("Cash after action", "Encaissé après action", true),
            ("Backlog", "En souffrance", true),
        ],
        k,
        &rows,
    )
}
