//! The account statement (relevé de compte) of a customer as of a date: open items with due
//! dates and days overdue, the aged summary, unapplied cash, the total, and payment instructions
//! with the company's IBAN, our ISO 11649 reference and an EPC QR code (SEPA credit transfer) that
//! banking apps scan. Drawn by our code into a PDF (the base-14 Helvetica in WinAnsi encoding, so
//! French accents and € need no embedded font).

use crate::Lang;
use arpilot_core::select::Selection;
use arpilot_core::{Day, Money, Snapshot};
use std::fmt::Write;

/// Who is paid, from the settings `company.name`, `company.iban`, `company.bic`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Company {
    pub name: String,
    /// Normalised: upper case, no spaces.
    pub iban: Option<String>,
    pub bic: Option<String>,
}

impl Company {
    pub fn from_settings(settings: &[(String, String)]) -> Company {
        let get = |k: &str| crate::setting(settings, k).map(str::to_string);
        Company {
            name: get("company.name").unwrap_or_else(|| "arpilot".into()),
            iban: get("company.iban").map(|i| arpilot_core::cash::normal(&i)),
            bic: get("company.bic").map(|b| arpilot_core::cash::normal(&b)),
        }
    }
}

/// True for an IBAN whose check digits are right (ISO 13616, mod 97).
pub fn valid_iban(iban: &str) -> bool {
    arpilot_core::cash::valid_iban(iban)
}

/// One open item of the statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub invoice_id: String,
    pub issue: Day,
    pub due: Day,
    pub days_overdue: i32,
    pub amount: Money,
    pub open: Money,
}

/// A customer's statement as of a date.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub company: Company,
    pub customer_id: String,
    pub customer_name: String,
    pub as_of: Day,
    /// Open invoices, oldest due first.
    pub items: Vec<Item>,
    /// Open amounts not yet due, then overdue 1–30, 31–60, 61–90 and over 90 days.
    pub aging: [Money; 5],
    /// Cash received and not applied (a credit to the customer).
    pub unapplied: Money,
    /// What the customer owes: open invoices less unapplied cash.
    pub total: Money,
    /// The reference to quote on the transfer.
    pub reference: Option<String>,
}

/// The statement of customer `id` as of `as_of`, within `sel`; `None` for a customer unknown or
/// outside the selection.
pub fn statement(
    snap: &Snapshot,
    sel: &Selection,
    id: &str,
    as_of: Day,
    company: Company,
) -> Option<Statement> {
    let c = snap.customers.ids.find(id)?;
    if !sel.customer(c) {
        return None;
    }
    let one = crate::customer::only(snap, sel, id);
    let cur = snap.currency;
    let mut items: Vec<Item> = arpilot_core::invoices::invoices(snap, &one, as_of)
        .into_iter()
        .filter(|r| r.open_amount.is_positive())
        .map(|r| Item {
            days_overdue: (as_of.0 - r.due_date.0).max(0),
            invoice_id: r.document_id,
            issue: r.issue_date,
            due: r.due_date,
            amount: r.amount,
            open: r.open_amount,
        })
        .collect();
    items.sort_by(|a, b| (a.due, &a.invoice_id).cmp(&(b.due, &b.invoice_id)));
    let mut aging = [Money::zero(cur); 5];
    for it in &items {
        let b = match it.days_overdue {
            0 => 0,
            1..=30 => 1,
            31..=60 => 2,
            61..=90 => 3,
            _ => 4,
        };
        aging[b] = Money::new(aging[b].minor + it.open.minor, cur);
    }
    let row = arpilot_core::customers::customers(
        snap,
        &one,
        as_of,
        &arpilot_core::customers::RatingThresholds::default(),
    )
    .into_iter()
    .next();
    let unapplied = row.map_or(Money::zero(cur), |r| r.unapplied);
    let open: i64 = items.iter().map(|i| i.open.minor).sum();
    // Unapplied cash is shown as a negative amount by the customer kernel.
    let total = Money::new(open - unapplied.minor.abs(), cur);
    Some(Statement {
        company,
        customer_id: id.to_string(),
        customer_name: snap.customers.names[c as usize].clone(),
        as_of,
        items,
        aging,
        unapplied: Money::new(unapplied.minor.abs(), cur),
        total,
        reference: arpilot_core::cash::customer_reference(id),
    })
}

/// The EPC QR payload (EPC069-12, version 002) of a SEPA credit transfer of `s.total` to the
/// company with our reference; `None` without a valid IBAN, outside euros, or for nothing due.
pub fn epc_payload(s: &Statement) -> Option<String> {
    let iban = s.company.iban.as_deref().filter(|i| valid_iban(i))?;
    if s.total.currency.code() != "EUR" || s.total.minor <= 0 || s.total.minor > 99_999_999_999 {
        return None;
    }
    let name: String = s.company.name.chars().take(70).collect();
    Some(format!(
        "BCD\n002\n1\nSCT\n{}\n{name}\n{iban}\nEUR{}\n\n{}\n",
        s.company.bic.as_deref().unwrap_or(""),
        arpilot_core::money::format_minor(s.total.minor, 2),
        s.reference.as_deref().unwrap_or("")
    ))
}

// ---------------------------------------------------------------------------------------------
// PDF

/// Text in WinAnsi (Windows-1252) for the base-14 fonts, escaped for a PDF string.
fn pdf_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let b: u8 = match c {
            '\u{a0}' | '\u{202f}' | '\u{2009}' => b' ',
            '€' => 0x80,
            '…' => 0x85,
            '’' => 0x92,
            '–' => 0x96,
            '—' => 0x97,
            '«' => 0xAB,
            '»' => 0xBB,
            c if (c as u32) < 0x80 => c as u8,
            c if (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        };
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7E => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out
}

/// A page being drawn: PDF content operators.
pub(crate) struct Page(pub(crate) String);

impl Page {
    pub(crate) fn new() -> Page {
        Page(String::new())
    }

    pub(crate) fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, s: &str) {
        let _ = writeln!(
            self.0,
            "BT /{} {size} Tf {x:.1} {y:.1} Td ({}) Tj ET",
            if bold { "F2" } else { "F1" },
            pdf_text(s)
        );
    }

    /// Right-aligned at `x`, with Helvetica's average width (good enough for figures, whose
    /// glyphs all have the same width: 0.556 em).
    pub(crate) fn text_right(&mut self, x: f32, y: f32, size: f32, bold: bool, s: &str) {
        let w = s.chars().count() as f32 * size * 0.556;
        self.text(x - w, y, size, bold, s);
    }

    pub(crate) fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        let _ = writeln!(
            self.0,
            "0.8 G 0.5 w {x1:.1} {y1:.1} m {x2:.1} {y2:.1} l S 0 G"
        );
    }

    pub(crate) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let _ = writeln!(self.0, "{x:.2} {y:.2} {w:.2} {h:.2} re f");
    }

    /// A filled rectangle in colour `rgb` (components 0–1).
    pub(crate) fn rect_rgb(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: (f32, f32, f32)) {
        let (r, g, b) = rgb;
        let _ = writeln!(
            self.0,
            "q {r:.3} {g:.3} {b:.3} rg {x:.2} {y:.2} {w:.2} {h:.2} re f Q"
        );
    }

    /// A broken line through `points` in colour `rgb`, `width` points wide.
    pub(crate) fn polyline(&mut self, points: &[(f32, f32)], rgb: (f32, f32, f32), width: f32) {
        let Some(((x0, y0), rest)) = points.split_first() else {
            return;
        };
        let (r, g, b) = rgb;
        let _ = write!(
            self.0,
            "q {r:.3} {g:.3} {b:.3} RG {width:.2} w {x0:.1} {y0:.1} m"
        );
        for (x, y) in rest {
            let _ = write!(self.0, " {x:.1} {y:.1} l");
        }
        let _ = writeln!(self.0, " S Q");
    }
}

const LEFT: f32 = 50.0;
const RIGHT: f32 = 545.0;
/// Rows of open items a page holds: the last page keeps room for the totals, the aged summary,
/// the payment instructions and the QR code below them.
const ROWS_PER_PAGE: usize = 24;

/// The statement as a PDF document.
pub fn pdf(s: &Statement, lang: Lang) -> Vec<u8> {
    let l = lang;
    let money = |m: Money| l.money(m);
    let mut pages: Vec<Page> = Vec::new();
    let chunks: Vec<&[Item]> = if s.items.is_empty() {
        vec![&[]]
    } else {
        s.items.chunks(ROWS_PER_PAGE).collect()
    };
    let n = chunks.len();
    for (k, chunk) in chunks.iter().enumerate() {
        let mut p = Page(String::new());
        p.text(
            LEFT,
            790.0,
            18.0,
            true,
            l.t("Account statement", "Relevé de compte"),
        );
        p.text(LEFT, 770.0, 10.0, false, &s.company.name);
        p.text_right(
            RIGHT,
            790.0,
            10.0,
            false,
            &format!("{} {}", l.t("As of", "Au"), l.date(s.as_of)),
        );
        p.text_right(
            RIGHT,
            776.0,
            9.0,
            false,
            &format!("{} {}/{n}", l.t("Page", "Page"), k + 1),
        );
        p.text(LEFT, 740.0, 12.0, true, &s.customer_name);
        p.text(
            LEFT,
            726.0,
            9.0,
            false,
            &format!("{} {}", l.t("Customer", "Client"), s.customer_id),
        );
        // The table of open items.
        let mut y = 695.0;
        let cols: [(&str, f32, bool); 6] = [
            (l.t("Invoice", "Facture"), LEFT, false),
            (l.t("Issued", "Émise le"), 190.0, false),
            (l.t("Due", "Échéance"), 265.0, false),
            (l.t("Days late", "Jours de retard"), 400.0, true),
            (l.t("Amount", "Montant"), 470.0, true),
            (l.t("Open", "Reste dû"), RIGHT, true),
        ];
        for (h, x, right) in cols {
            if right {
                p.text_right(x, y, 9.0, true, h);
            } else {
                p.text(x, y, 9.0, true, h);
            }
        }
        p.line(LEFT, y - 5.0, RIGHT, y - 5.0);
        y -= 18.0;
        for it in chunk.iter() {
            p.text(LEFT, y, 9.0, false, &it.invoice_id);
            p.text(190.0, y, 9.0, false, &l.date(it.issue));
            p.text(265.0, y, 9.0, false, &l.date(it.due));
            if it.days_overdue > 0 {
                p.text_right(400.0, y, 9.0, false, &it.days_overdue.to_string());
            }
            p.text_right(470.0, y, 9.0, false, &l.amount(it.amount));
            p.text_right(RIGHT, y, 9.0, false, &l.amount(it.open));
            y -= 15.0;
        }
        if s.items.is_empty() {
            p.text(
                LEFT,
                y,
                9.0,
                false,
                l.t("No open invoice.", "Aucune facture ouverte."),
            );
        }
        if k + 1 == n {
            // Totals, the aged summary and how to pay, on the last page.
            y -= 6.0;
            p.line(LEFT, y + 10.0, RIGHT, y + 10.0);
            let open = Money::new(s.items.iter().map(|i| i.open.minor).sum(), s.total.currency);
            for (label, v, bold) in [
                (l.t("Open invoices", "Factures ouvertes"), open, false),
                (
                    l.t("Unapplied payments", "Règlements non affectés"),
                    s.unapplied,
                    false,
                ),
                (l.t("Total due", "Total dû"), s.total, true),
            ] {
                p.text(330.0, y, 10.0, bold, label);
                p.text_right(RIGHT, y, 10.0, bold, &money(v));
                y -= 15.0;
            }
            y -= 10.0;
            p.text(LEFT, y, 10.0, true, l.t("Aged balance", "Balance âgée"));
            y -= 15.0;
            let labels = [
                l.t("Not due", "Non échu"),
                l.t("1–30 days", "1–30 j"),
                l.t("31–60 days", "31–60 j"),
                l.t("61–90 days", "61–90 j"),
                l.t("Over 90 days", "Plus de 90 j"),
            ];
            for (lab, v) in labels.iter().zip(s.aging.iter()) {
                p.text(LEFT, y, 9.0, false, lab);
                p.text_right(300.0, y, 9.0, false, &money(*v));
                y -= 13.0;
            }
            y -= 12.0;
            p.text(LEFT, y, 10.0, true, l.t("How to pay", "Règlement"));
            y -= 15.0;
            let mut lines = vec![format!(
                "{} {}",
                l.t("Transfer to", "Virement à l'ordre de"),
                s.company.name
            )];
            if let Some(i) = &s.company.iban {
                lines.push(format!("IBAN {}", group4(i)));
            }
            if let Some(b) = &s.company.bic {
                lines.push(format!("BIC {b}"));
            }
            if let Some(r) = &s.reference {
                lines.push(format!(
                    "{} {}",
                    l.t("Reference to quote:", "Référence à rappeler :"),
                    r
                ));
            }
            for t in &lines {
                p.text(LEFT, y, 9.0, false, t);
                y -= 13.0;
            }
            if let Some(payload) = epc_payload(s)
                && let Ok(code) = qrcode::QrCode::with_error_correction_level(
                    payload.as_bytes(),
                    qrcode::EcLevel::M,
                )
            {
                // 3 mm a module at most, in the bottom-right corner with its quiet zone.
                let w = code.width();
                let size = 120.0_f32;
                let m = size / w as f32;
                let (x0, y0) = (RIGHT - size, 60.0);
                for (k, c) in code.to_colors().iter().enumerate() {
                    if *c == qrcode::Color::Dark {
                        let (cx, cy) = (k % w, k / w);
                        p.rect(
                            x0 + cx as f32 * m,
                            y0 + size - (cy + 1) as f32 * m,
                            m + 0.05,
                            m + 0.05,
                        );
                    }
                }
                p.text(
                    x0,
                    y0 - 12.0,
                    7.0,
                    false,
                    l.t(
                        "Scan to pay (SEPA transfer)",
                        "Scannez pour payer (virement SEPA)",
                    ),
                );
            }
        }
        pages.push(p);
    }
    write_pdf(&pages)
}

/// Characters of 10-point Helvetica a text line of the letter holds (495 pt at about 0.5 em a
/// character).
const LETTER_CHARS: usize = 98;

/// `text` broken into lines of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            let wl = word.chars().count();
            let ll = line.chars().count();
            if ll > 0 && ll + 1 + wl > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            while line.chars().count() > width {
                let head: String = line.chars().take(width).collect();
                line = line.chars().skip(width).collect();
                out.push(head);
            }
        }
        out.push(line);
    }
    out
}

/// A reminder letter or formal notice (mise en demeure) as a PDF: the company, the customer,
/// the date, the subject, and the message with its table of invoices (and, for a formal notice,
/// the L441-10 interest and indemnities) — the text the e-mail would have carried.
pub fn letter_pdf(l: &crate::dunning::Letter) -> Vec<u8> {
    let lang = l.lang;
    let mut pages: Vec<Page> = Vec::new();
    let mut p = Page(String::new());
    p.text(LEFT, 790.0, 14.0, true, &l.company.name);
    if let Some(i) = &l.company.iban {
        p.text(LEFT, 775.0, 8.0, false, &format!("IBAN {}", group4(i)));
    }
    p.text(340.0, 730.0, 11.0, true, &l.customer_name);
    p.text(
        340.0,
        716.0,
        9.0,
        false,
        &format!("{} {}", lang.t("Customer", "Client"), l.customer_id),
    );
    if let Some(c) = &l.contact {
        p.text(340.0, 702.0, 9.0, false, c);
    }
    p.text(
        340.0,
        670.0,
        10.0,
        false,
        &format!("{} {}", lang.t("On", "Le"), lang.date(l.day)),
    );
    if l.channel == "formal_notice" {
        p.text(
            LEFT,
            650.0,
            9.0,
            true,
            lang.t(
                "Registered letter with acknowledgement of receipt",
                "Lettre recommandée avec accusé de réception",
            ),
        );
    }
    let subject = l.subject_text();
    let mut y = 625.0;
    for line in wrap(&subject, 80) {
        p.text(LEFT, y, 11.0, true, &line);
        y -= 15.0;
    }
    y -= 10.0;
    for line in wrap(&l.fill_text(&l.body), LETTER_CHARS) {
        if y < 60.0 {
            pages.push(std::mem::replace(&mut p, Page(String::new())));
            y = 790.0;
        }
        p.text(LEFT, y, 10.0, false, &line);
        y -= 13.0;
    }
    pages.push(p);
    let n = pages.len();
    for (k, pg) in pages.iter_mut().enumerate() {
        pg.text_right(
            RIGHT,
            30.0,
            8.0,
            false,
            &format!("{} – {} {}/{n}", l.id, lang.t("page", "page"), k + 1),
        );
    }
    write_pdf(&pages)
}

/// An IBAN in groups of four characters, as printed.
fn group4(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The document: catalog, pages, two fonts, one content stream a page, cross-reference table.
pub(crate) fn write_pdf(pages: &[Page]) -> Vec<u8> {
    let mut objs: Vec<String> = Vec::new();
    // 1 catalog, 2 pages, 3 font, 4 bold font, then a (page, content) pair per page.
    objs.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..pages.len())
        .map(|k| format!("{} 0 R", 5 + 2 * k))
        .collect();
    objs.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids.join(" "),
        pages.len()
    ));
    objs.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
    );
    objs.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .into(),
    );
    for (k, p) in pages.iter().enumerate() {
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            6 + 2 * k
        ));
        objs.push(format!(
            "<< /Length {} >>\nstream\n{}endstream",
            p.0.len(),
            p.0
        ));
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objs.len());
    for (k, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", k + 1).as_bytes());
    }
    let xref = out.len();
    let mut t = format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1);
    for o in offsets {
        let _ = writeln!(t, "{o:010} 00000 n ");
    }
    let _ = write!(
        t,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objs.len() + 1
    );
    out.extend_from_slice(t.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_and_text() {
        assert!(valid_iban("FR76 3000 6000 0112 3456 7890 189"));
        assert!(!valid_iban("FR76 3000 6000 0112 3456 7890 188"));
        assert_eq!(pdf_text("Échéance (1 €)"), "\\311ch\\351ance \\(1 \\200\\)");
        assert_eq!(group4("FR7630006000"), "FR76 3000 6000");
    }
}
