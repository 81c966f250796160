//! Spreadsheet exports: real `.xlsx` (number and date formats, frozen header, autofilter, a totals
//! row) and CSV that opens in Excel (UTF-8 with BOM, `;` in French, formula-like text
//! neutralised). Text goes into xlsx as strings, never formulas.

use crate::locale::Lang;
use arpilot_core::customers::CustomerRow;
use arpilot_core::invoices::InvoiceRow;
use arpilot_core::report::Report;
use arpilot_core::{Day, Money};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};

/// A cell of an export.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Money(Money),
    Date(Day),
    Int(i64),
    Num(Option<f64>),
}

/// A table to export: headers, rows, and whether the last row is a totals row.
pub struct Sheet {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub totals: bool,
}

fn amount(m: Money) -> f64 {
    m.units()
}

/// Excel's serial date: days since 1899-12-30.
fn serial(d: Day) -> f64 {
    (d.0 + 25_569) as f64
}

pub fn xlsx(sheet: &Sheet) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(&sheet.name)?;
    let head = Format::new().set_bold().set_background_color("#E2E8F0");
    let money = Format::new().set_num_format("#,##0.00");
    let date = Format::new()
        .set_num_format("yyyy-mm-dd")
        .set_align(FormatAlign::Left);
    let num = Format::new().set_num_format("0.00");
    let total = Format::new().set_bold();
    let total_money = Format::new().set_bold().set_num_format("#,##0.00");
    for (c, h) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &head)?;
        ws.set_column_width(c as u16, (h.chars().count() as f64 + 4.0).max(12.0))?;
    }
    let last = sheet.rows.len();
    for (r, row) in sheet.rows.iter().enumerate() {
        let is_total = sheet.totals && r + 1 == last;
        let rr = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) if is_total => {
                    ws.write_string_with_format(rr, c, s, &total)?;
                }
                Cell::Text(s) => {
                    ws.write_string(rr, c, s)?;
                }
                Cell::Money(m) => {
                    let f = if is_total { &total_money } else { &money };
                    ws.write_number_with_format(rr, c, amount(*m), f)?;
                }
                Cell::Date(d) => {
                    ws.write_number_with_format(rr, c, serial(*d), &date)?;
                }
                Cell::Int(i) => {
                    ws.write_number(rr, c, *i as f64)?;
                }
                Cell::Num(Some(x)) => {
                    ws.write_number_with_format(rr, c, *x, &num)?;
                }
                Cell::Num(None) => {}
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    let data_rows = if sheet.totals {
        last.saturating_sub(1)
    } else {
        last
    };
    if !sheet.headers.is_empty() {
        ws.autofilter(
            0,
            0,
            data_rows.max(1) as u32,
            sheet.headers.len() as u16 - 1,
        )?;
    }
    wb.save_to_buffer()
}

/// Text a spreadsheet would run as a formula gets a leading apostrophe.
pub fn safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

pub fn csv(sheet: &Sheet, lang: Lang) -> String {
    let sep = if lang == Lang::Fr { ';' } else { ',' };
    let field = |s: String| {
        if s.contains([sep, '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| {
        cells
            .into_iter()
            .map(field)
            .collect::<Vec<_>>()
            .join(&sep.to_string())
    };
    out += &line(sheet.headers.iter().map(|h| safe(h)).collect());
    out.push_str("\r\n");
    for row in &sheet.rows {
        let cells = row
            .iter()
            .map(|c| match c {
                Cell::Text(s) => safe(s),
                Cell::Money(m) => {
                    let s = m.to_string();
                    if lang == Lang::Fr {
                        s.replace('.', ",")
                    } else {
                        s
                    }
                }
                Cell::Date(d) => d.to_string(),
                Cell::Int(i) => i.to_string(),
                Cell::Num(Some(x)) => {
                    let s = format!("{x:.2}");
                    if lang == Lang::Fr {
                        s.replace('.', ",")
                    } else {
                        s
                    }
                }
                Cell::Num(None) => String::new(),
            })
            .collect();
        out += &line(cells);
        out.push_str("\r\n");
    }
    out
}

/// The aged balance grouped as in the report (by customer by default), with a totals row whose
/// amounts are the report's aging buckets and balance.
pub fn aging_sheet(r: &Report, lang: Lang) -> Sheet {
    let rows = r.groups.as_ref().map_or(&[][..], |g| g.rows.as_slice());
    aging_rows_sheet(r, rows, None, lang)
}

/// The aged balance with `rows` of the report (a search's, in its order); `totals` (per bucket,
/// unapplied, balance) of those rows, `None`: the report's.
fn aging_rows_sheet(
    r: &Report,
    rows_in: &[arpilot_core::report::GroupRow],
    totals: Option<(Vec<Money>, Money, Money)>,
    lang: Lang,
) -> Sheet {
    let g = r.groups.as_ref();
    let by = g.map_or("customer", |g| g.by.as_str());
    let mut headers = vec![match by {
        "customer" => lang.t("Customer", "Client").to_string(),
        "invoice" => lang.t("Invoice", "Facture").to_string(),
        other => other.to_string(),
    }];
    if by == "customer" {
        headers.push(lang.t("Customer id", "Code client").to_string());
    }
    for b in &r.aging {
        headers.push(if b.bucket == "not_due" {
            lang.t("Not due", "Non échu").to_string()
        } else {
            format!("{} {}", b.bucket, lang.t("days", "jours"))
        });
    }
    headers.push(lang.t("Unapplied", "Non lettré").to_string());
    headers.push(lang.t("Balance", "Solde").to_string());
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for row in rows_in {
        let mut cells = vec![Cell::Text(row.name.clone().unwrap_or(row.key.clone()))];
        if by == "customer" {
            cells.push(Cell::Text(
                row.customer_id.clone().unwrap_or(row.key.clone()),
            ));
        }
        cells.extend(row.amounts.iter().map(|a| Cell::Money(*a)));
        cells.push(Cell::Money(row.unapplied));
        cells.push(Cell::Money(row.balance));
        rows.push(cells);
    }
    let mut total = vec![Cell::Text(lang.t("Total", "Total").to_string())];
    if by == "customer" {
        total.push(Cell::Text(String::new()));
    }
    match totals {
        Some((buckets, unapplied, balance)) => {
            total.extend(buckets.into_iter().map(Cell::Money));
            total.push(Cell::Money(unapplied));
            total.push(Cell::Money(balance));
        }
        None => {
            total.extend(r.aging.iter().map(|b| Cell::Money(b.amount)));
            total.push(Cell::Money(r.totals.unapplied));
            total.push(Cell::Money(r.totals.balance));
        }
    }
    rows.push(total);
    Sheet {
        name: lang.t("Aged balance", "Balance âgée").to_string(),
        headers,
        rows,
        totals: true,
    }
}

pub fn customers_sheet(rows: &[CustomerRow], lang: Lang) -> Sheet {
    let headers = [
        ("Customer id", "Code client"),
        ("Name", "Nom"),
        ("Balance", "Solde"),
        ("Overdue", "Échu"),
        ("Avg days late", "Retard moyen"),
        ("Days to pay", "Délai de paiement"),
        ("DSO", "DSO"),
        ("Rating", "Cotation"),
        ("Revenue %", "Poids CA %"),
        ("Credit limit", "Limite de crédit"),
        ("Credit use %", "Utilisation %"),
    ]
    .iter()
    .map(|(e, f)| lang.t(e, f).to_string())
    .collect();
    let mut out: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.customer_id.clone()),
                Cell::Text(r.name.clone()),
                Cell::Money(r.balance),
                Cell::Money(r.overdue),
                Cell::Num(r.avg_days_late),
                Cell::Num(r.days_to_pay),
                Cell::Num(Some(r.dso_countback)),
                Cell::Text(r.rating.unwrap_or("").to_string()),
                Cell::Num(r.revenue_share_ytd),
                r.credit_limit.map_or(Cell::Num(None), Cell::Money),
                Cell::Num(r.credit_use),
            ]
        })
        .collect();
    if let Some(first) = rows.first() {
        let cur = first.balance.currency;
        let sum = |f: fn(&CustomerRow) -> Money| Money::sum(cur, rows.iter().map(f));
        out.push(vec![
            Cell::Text(lang.t("Total", "Total").to_string()),
            Cell::Text(String::new()),
            Cell::Money(sum(|r| r.balance)),
            Cell::Money(sum(|r| r.overdue)),
        ]);
    }
    Sheet {
        name: lang.t("Customers", "Clients").to_string(),
        headers,
        totals: !rows.is_empty(),
        rows: out,
    }
}

pub fn invoices_sheet(rows: &[InvoiceRow], lang: Lang) -> Sheet {
    let headers = [
        ("Invoice", "Facture"),
        ("Customer id", "Code client"),
        ("Issued", "Émise"),
        ("Due", "Échéance"),
        ("Amount", "Montant"),
        ("Open", "Restant dû"),
        ("Settled", "Soldée le"),
        ("Days late", "Jours de retard"),
    ]
    .iter()
    .map(|(e, f)| lang.t(e, f).to_string())
    .collect();
    let mut out: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.document_id.clone()),
                Cell::Text(r.customer_id.clone()),
                Cell::Date(r.issue_date),
                Cell::Date(r.due_date),
                Cell::Money(r.amount),
                Cell::Money(r.open_amount),
                r.settled_on.map_or(Cell::Num(None), Cell::Date),
                Cell::Num(r.days_late.or(r.days_overdue).map(f64::from)),
            ]
        })
        .collect();
    if let Some(first) = rows.first() {
        let cur = first.amount.currency;
        out.push(vec![
            Cell::Text(lang.t("Total", "Total").to_string()),
            Cell::Text(String::new()),
            Cell::Num(None),
            Cell::Num(None),
            Cell::Money(Money::sum(cur, rows.iter().map(|r| r.amount))),
            Cell::Money(Money::sum(cur, rows.iter().map(|r| r.open_amount))),
        ]);
    }
    Sheet {
        name: lang.t("Invoices", "Factures").to_string(),
        headers,
        totals: !rows.is_empty(),
        rows: out,
    }
}

/// The tables arpilot exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// The aged balance, grouped as requested (by customer unless said otherwise).
    Aging,
    Customers,
    Invoices,
}

impl ExportKind {
    pub fn parse(s: &str) -> Option<ExportKind> {
        Some(match s {
            "aging" => ExportKind::Aging,
            "customers" => ExportKind::Customers,
            "invoices" => ExportKind::Invoices,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Aging => "aging",
            ExportKind::Customers => "customers",
            ExportKind::Invoices => "invoices",
        }
    }
}

/// The file formats of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Xlsx,
    Csv,
}

impl FileFormat {
    /// From a file extension.
    pub fn parse(ext: &str) -> Option<FileFormat> {
        match ext {
            "xlsx" => Some(FileFormat::Xlsx),
            "csv" => Some(FileFormat::Csv),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Param(#[from] crate::ParamError),
    #[error(transparent)]
    Report(#[from] arpilot_core::report::ConfigError),
    #[error(transparent)]
    Xlsx(#[from] XlsxError),
}

/// The table of an export as of `as_of`, with the same figures as the report of the same request;
/// with a list's search or sort (`list`), the rows of the page's list on every page, in its
/// order, and their totals.
#[allow(clippy::too_many_arguments)]
pub fn table(
    kind: ExportKind,
    snap: &arpilot_core::Snapshot,
    sel: &arpilot_core::Selection,
    req: &crate::ReportRequest,
    defaults: &crate::Defaults,
    as_of: Day,
    list: Option<&crate::list::ListQuery>,
    lang: Lang,
) -> Result<Sheet, ExportError> {
    // Every row the list keeps, on one page.
    let whole = |n: usize| {
        list.filter(|l| l.search.is_some() || l.sort.is_some())
            .map(|l| crate::list::ListQuery {
                page: 1,
                per: n.max(1),
                ..l.clone()
            })
    };
    Ok(match kind {
        ExportKind::Aging => {
            let mut params = req.params(as_of, defaults)?;
            params.by = Some(req.group_by("customer"));
            let r = arpilot_core::report::report(snap, sel, &params)?;
            let all = r.groups.as_ref().map_or(&[][..], |g| g.rows.as_slice());
            // A bucket drilled into keeps the rows with an amount in it, as the page does.
            let drilled: Vec<arpilot_core::report::GroupRow>;
            let rows = match req.bucket {
                Some(k) => {
                    drilled = all
                        .iter()
                        .filter(|row| row.amounts.get(k).is_some_and(|a| !a.is_zero()))
                        .cloned()
                        .collect();
                    &drilled[..]
                }
                None => all,
            };
            let lq = whole(rows.len()).or_else(|| {
                req.bucket.map(|_| crate::list::ListQuery {
                    per: rows.len().max(1),
                    ..crate::list::ListQuery::default()
                })
            });
            match lq {
                None => aging_sheet(&r, lang),
                Some(lq) => {
                    let (page, buckets, balance) =
                        crate::list::aging(snap, sel, rows, r.aging.len(), &lq)?;
                    let unapplied = Money::new(
                        page.rows.iter().map(|x| x.unapplied.minor).sum(),
                        snap.currency,
                    );
                    aging_rows_sheet(&r, &page.rows, Some((buckets, unapplied, balance)), lang)
                }
            }
        }
        ExportKind::Customers => {
            let rows = arpilot_core::customers::customers(snap, sel, as_of, &defaults.rating);
            match whole(rows.len()) {
                None => customers_sheet(&rows, lang),
                Some(lq) => {
                    customers_sheet(&crate::list::customers(snap, sel, &rows, &lq)?.0.rows, lang)
                }
            }
        }
        ExportKind::Invoices => {
            invoices_sheet(&arpilot_core::invoices::invoices(snap, sel, as_of), lang)
        }
    })
}

/// The bytes of a table in a file format.
pub fn encode(sheet: &Sheet, format: FileFormat, lang: Lang) -> Result<Vec<u8>, ExportError> {
    Ok(match format {
        FileFormat::Xlsx => xlsx(sheet)?,
        FileFormat::Csv => csv(sheet, lang).into_bytes(),
    })
}
