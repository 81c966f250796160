//! Structured e-invoices: UN/CEFACT CII (Factur-X, ZUGFeRD 2, XRechnung CII, the French CTC
//! profiles), ZUGFeRD 1 and UBL 2.1 invoices and credit notes.
//!
//! What receivables need is read — number, type, issue and due dates, currency, amount due,
//! the buyer (name, SIREN or other legal id, VAT number) — and the document is checked before it
//! enters the ledger: known root and profile, required fields present, totals that add up
//! (grand total = tax basis + tax, amount due = grand total − prepaid + rounding, each VAT line =
//! basis × rate), nothing outside the MINIMUM profile in a MINIMUM document. DOCTYPE declarations
//! (external entities) are refused outright. Line arithmetic (quantity × price) is reported as a
//! warning: it does not change what is owed.

use crate::IngestError;
use arpilot_core::ledger::*;
use arpilot_core::{Currency, Day};
use quick_xml::events::Event as X;
use std::path::Path;

/// Files above this size are refused before reading.
pub const MAX_BYTES: u64 = 32 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Syntax {
    Cii,
    Zugferd1,
    Ubl,
}

/// What an e-invoice says about a receivable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EInvoice {
    pub syntax: Syntax,
    pub profile: String,
    pub number: String,
    pub type_code: String,
    pub credit_note: bool,
    pub issue: Day,
    pub due: Option<Day>,
    pub currency: Currency,
    /// What the buyer owes (negative on a credit), in minor units.
    pub amount_due: i64,
    pub grand_total: Option<i64>,
    pub buyer_id: String,
    pub buyer_name: String,
    pub buyer_legal_id: Option<String>,
    pub buyer_vat: Option<String>,
    pub seller_name: Option<String>,
    /// Inconsistencies that do not put the amount due in doubt (line arithmetic).
    pub warnings: Vec<String>,
}

#[derive(Default, Debug)]
struct Raw {
    root: String,
    profile: Option<String>,
    number: Option<String>,
    type_code: Option<String>,
    issue: Option<String>,
    due: Option<String>,
    currency: Option<String>,
    buyer_name: Option<String>,
    buyer_id: Option<String>,
    buyer_global: Option<String>,
    buyer_legal: Option<String>,
    buyer_vat: Option<String>,
    seller_name: Option<String>,
    amounts: Vec<(String, String)>,
    /// (basis, rate, calculated) of the header VAT breakdown.
    vat: Vec<[Option<String>; 3]>,
    has_lines: bool,
    /// The seller names a contact (required by XRechnung, BR-DE-2).
    seller_contact: bool,
    /// Per invoice line: billed quantity, net price and its basis quantity, line total, and
    /// whether allowances or charges change the line total.
    lines: Vec<LineRaw>,
}

#[derive(Default, Debug)]
struct LineRaw {
    quantity: Option<String>,
    price: Option<String>,
    basis: Option<String>,
    total: Option<String>,
    adjusted: bool,
}

/// Keeps the first non-empty value of a field. XML text may wrap over lines: every run of
/// white space (line breaks, tabs) becomes one space, as a reader sees it.
fn set(slot: &mut Option<String>, v: &str) {
    if slot.is_none() && !v.trim().is_empty() {
        *slot = Some(v.split_whitespace().collect::<Vec<_>>().join(" "));
    }
}

const PROFILES: [&str; 8] = [
    "urn:cen.eu:en16931:2017",
    "urn:factur-x.eu:1p0:",
    "urn:zugferd.de:2p0:",
    "urn:ferd:CrossIndustryDocument:invoice:1p0:",
    "urn:xoev-de:kosit:standard:xrechnung",
    "urn:xeinkauf.de:kosit:xrechnung",
    "urn.cpro.gouv.fr:1p0",
    "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
];

/// Reads and checks an e-invoice file.
pub fn read(path: &Path) -> Result<EInvoice, IngestError> {
    let err = |message: String| IngestError::File {
        file: path.to_path_buf(),
        message,
    };
    crate::check_size(path, MAX_BYTES)?;
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    if bytes.starts_with(b"%PDF") {
        // The XML the metadata names comes first; another embedded invoice XML (a PDF carrying
        // both generations) is read when the first is refused, with a warning saying so.
        let xmls = crate::pdf::invoice_xmls(&bytes).map_err(err)?;
        let mut first_error = None;
        for (name, xml) in &xmls {
            match parse(xml) {
                Ok(mut inv) => {
                    if let Some(e) = first_error {
                        inv.warnings.push(format!("{e}; read {name} instead"));
                    }
                    return Ok(inv);
                }
                Err(m) => {
                    first_error.get_or_insert(format!("embedded {name}: {m}"));
                }
            }
        }
        return Err(err(first_error.expect("at least one embedded XML")));
    }
    parse(&bytes).map_err(err)
}

/// Parses and checks an e-invoice; the error says what is wrong and where (XML path).
pub fn parse(bytes: &[u8]) -> Result<EInvoice, String> {
    let raw = scan(bytes)?;
    check(raw)
}

fn scan(bytes: &[u8]) -> Result<Raw, String> {
    let mut r = quick_xml::Reader::from_reader(bytes);
    r.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut raw = Raw::default();
    let mut buf = Vec::new();
    // Text of the current element: text events and entity references in between.
    let mut text = String::new();
    loop {
        let pos = r.buffer_position();
        let ev = r
            .read_event_into(&mut buf)
            .map_err(|e| format!("not well-formed XML at byte {pos}: {e}"))?;
        match ev {
            X::DocType(_) => {
                return Err(
                    "DOCTYPE declarations are not accepted (they can pull external entities)"
                        .into(),
                );
            }
            X::Start(e) => {
                text.clear();
                let name = e.local_name().as_ref().to_string();
                if stack.is_empty() {
                    raw.root = name.clone();
                }
                if name == "IncludedSupplyChainTradeLineItem"
                    || name == "InvoiceLine"
                    || name == "CreditNoteLine"
                {
                    raw.has_lines = true;
                    raw.lines.push(LineRaw::default());
                }
                if name.contains("AllowanceCharge")
                    && stack
                        .iter()
                        .any(|s| s == "IncludedSupplyChainTradeLineItem")
                    && stack.iter().any(|s| {
                        s.ends_with("LineTradeSettlement")
                            || s == "SpecifiedSupplyChainTradeSettlement"
                    })
                    && let Some(l) = raw.lines.last_mut()
                {
                    l.adjusted = true;
                }
                if (name == "DefinedTradeContact"
                    && stack.last().is_some_and(|s| s == "SellerTradeParty"))
                    || (name == "Contact"
                        && stack.len() >= 2
                        && stack[stack.len() - 2] == "AccountingSupplierParty")
                {
                    raw.seller_contact = true;
                }
                if name == "ApplicableTradeTax"
                    && !in_line(&stack)
                    && stack.iter().any(|s| s.ends_with("Settlement"))
                {
                    raw.vat.push([None, None, None]);
                }
                stack.push(name);
            }
            X::End(_) => {
                if !text.trim().is_empty() {
                    record(&mut raw, &stack, &text);
                }
                text.clear();
                stack.pop();
            }
            X::Empty(e) => {
                let name = e.local_name().as_ref().to_string();
                if stack.is_empty() {
                    raw.root = name;
                }
            }
            X::Text(t) => text.push_str(&t.xml10_content()),
            X::CData(t) => text.push_str(t.as_ref()),
            X::GeneralRef(g) => {
                let name = g.as_ref().to_string();
                let c = crate::text::xml_entity(&name);
                match c {
                    Some(c) => text.push(c),
                    None => return Err(format!("unknown entity &{name}; in {}", stack.join("/"))),
                }
            }
            X::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if raw.root.is_empty() {
        return Err("empty document (expected an e-invoice)".into());
    }
    Ok(raw)
}

fn in_line(stack: &[String]) -> bool {
    stack.iter().any(|s| {
        s == "IncludedSupplyChainTradeLineItem" || s == "InvoiceLine" || s == "CreditNoteLine"
    })
}

fn record(raw: &mut Raw, stack: &[String], v: &str) {
    let n = stack.len();
    let at = |k: usize| if k <= n { stack[n - k].as_str() } else { "" };
    let leaf = at(1);
    let parent = at(2);
    let line = in_line(stack);
    let under = |x: &str| stack.iter().any(|s| s == x);
    match raw.root.as_str() {
        "Invoice" | "CreditNote" => {
            if n == 2 {
                match leaf {
                    "ID" => set(&mut raw.number, v),
                    "IssueDate" => set(&mut raw.issue, v),
                    "DueDate" => set(&mut raw.due, v),
                    "InvoiceTypeCode" | "CreditNoteTypeCode" => set(&mut raw.type_code, v),
                    "DocumentCurrencyCode" => set(&mut raw.currency, v),
                    "CustomizationID" => set(&mut raw.profile, v),
                    _ => {}
                }
            }
            if leaf == "PaymentDueDate" && parent == "PaymentMeans" {
                set(&mut raw.due, v);
            }
            if parent == "LegalMonetaryTotal" && !line {
                raw.amounts.push((leaf.to_string(), v.to_string()));
            }
            if n == 3 && parent == "TaxTotal" && leaf == "TaxAmount" {
                raw.amounts.push(("TaxTotalAmount".into(), v.to_string()));
            }
            if under("AccountingCustomerParty") {
                match (parent, leaf) {
                    ("PartyName", "Name") => set(&mut raw.buyer_name, v),
                    ("PartyLegalEntity", "RegistrationName") => set(&mut raw.buyer_name, v),
                    ("PartyLegalEntity", "CompanyID") => set(&mut raw.buyer_legal, v),
                    ("PartyTaxScheme", "CompanyID") => set(&mut raw.buyer_vat, v),
                    ("PartyIdentification", "ID") => set(&mut raw.buyer_id, v),
                    ("Party", "EndpointID") => set(&mut raw.buyer_global, v),
                    _ => {}
                }
            }
            if under("AccountingSupplierParty") && (parent, leaf) == ("PartyName", "Name") {
                set(&mut raw.seller_name, v);
            }
        }
        _ => {
            let doc = parent == "ExchangedDocument" || parent == "HeaderExchangedDocument";
            match leaf {
                "ID" if doc => set(&mut raw.number, v),
                "TypeCode" if doc => set(&mut raw.type_code, v),
                "DateTimeString"
                    if parent == "IssueDateTime"
                        && (at(3) == "ExchangedDocument" || at(3) == "HeaderExchangedDocument") =>
                {
                    set(&mut raw.issue, v)
                }
                "ID" if parent == "GuidelineSpecifiedDocumentContextParameter" => {
                    set(&mut raw.profile, v)
                }
                "InvoiceCurrencyCode" if !line => set(&mut raw.currency, v),
                "DateTimeString" if parent == "DueDateDateTime" && !line => set(&mut raw.due, v),
                _ => {}
            }
            if parent.ends_with("MonetarySummation") && !line {
                raw.amounts.push((leaf.to_string(), v.to_string()));
            }
            if line && let Some(l) = raw.lines.last_mut() {
                match (parent, leaf) {
                    (_, "BilledQuantity") => set(&mut l.quantity, v),
                    ("NetPriceProductTradePrice", "ChargeAmount") => set(&mut l.price, v),
                    ("NetPriceProductTradePrice", "BasisQuantity") => set(&mut l.basis, v),
                    ("SpecifiedTradeSettlementLineMonetarySummation", "LineTotalAmount") => {
                        set(&mut l.total, v)
                    }
                    _ => {}
                }
            }
            if at(2) == "ApplicableTradeTax"
                && !line
                && let Some(last) = raw.vat.last_mut()
            {
                match leaf {
                    "BasisAmount" => last[0] = Some(v.to_string()),
                    "RateApplicablePercent" | "ApplicablePercent" => last[1] = Some(v.to_string()),
                    "CalculatedAmount" => last[2] = Some(v.to_string()),
                    _ => {}
                }
            }
            if under("BuyerTradeParty") {
                match (parent, leaf) {
                    ("BuyerTradeParty", "Name") => set(&mut raw.buyer_name, v),
                    ("BuyerTradeParty", "ID") => set(&mut raw.buyer_id, v),
                    ("BuyerTradeParty", "GlobalID") => set(&mut raw.buyer_global, v),
                    ("SpecifiedLegalOrganization", "ID") => set(&mut raw.buyer_legal, v),
                    ("SpecifiedTaxRegistration", "ID") => set(&mut raw.buyer_vat, v),
                    _ => {}
                }
            }
            if parent == "SellerTradeParty" && leaf == "Name" {
                set(&mut raw.seller_name, v);
            }
        }
    }
}

/// A signed decimal in minor units of `decimals`, rounded half away from zero.
fn decimal(s: &str, decimals: u32) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut v: i128 = int.parse::<i128>().unwrap_or(0);
    for k in 0..decimals as usize {
        v = v * 10 + frac.as_bytes().get(k).map_or(0, |b| (b - b'0') as i128);
    }
    if frac
        .as_bytes()
        .get(decimals as usize)
        .is_some_and(|&b| b >= b'5')
    {
        v += 1;
    }
    let v = i64::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

fn date(s: &str) -> Option<Day> {
    let s = s.trim();
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
        return Day::from_ymd_supported(n(0..4)? as i32, n(4..6)?, n(6..8)?);
    }
    Day::parse_iso(s.get(..10)?).ok()
}

fn check(raw: Raw) -> Result<EInvoice, String> {
    let syntax = match raw.root.as_str() {
        "CrossIndustryInvoice" => Syntax::Cii,
        "CrossIndustryDocument" => Syntax::Zugferd1,
        "Invoice" | "CreditNote" => Syntax::Ubl,
        other => {
            return Err(format!(
                "root element {other:?} (expected CrossIndustryInvoice, CrossIndustryDocument, Invoice or CreditNote)"
            ));
        }
    };
    let missing = |what: &str, path: &str| format!("missing {what} ({path})");
    let (p_num, p_issue, p_cur, p_total, p_profile) = match syntax {
        Syntax::Ubl => (
            "cbc:ID",
            "cbc:IssueDate",
            "cbc:DocumentCurrencyCode",
            "cac:LegalMonetaryTotal/cbc:PayableAmount",
            "cbc:CustomizationID",
        ),
        _ => (
            "rsm:ExchangedDocument/ram:ID",
            "ram:IssueDateTime/udt:DateTimeString",
            "ram:InvoiceCurrencyCode",
            "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:DuePayableAmount",
            "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
        ),
    };
    let profile = raw.profile.clone().unwrap_or_default();
    if syntax != Syntax::Ubl || !profile.is_empty() {
        if profile.is_empty() {
            return Err(missing("profile", p_profile));
        }
        if !PROFILES.iter().any(|p| profile.starts_with(p)) {
            return Err(format!("unknown profile {profile:?} ({p_profile})"));
        }
        let v1 = profile.starts_with("urn:ferd:");
        if v1 != (syntax == Syntax::Zugferd1) && syntax != Syntax::Ubl {
            return Err(format!(
                "profile {profile:?} does not belong to a {} document ({p_profile})",
                raw.root
            ));
        }
        if profile.contains(":compliant:") || profile.contains(":conformant:") {
            return Err(format!(
                "malformed profile {profile:?}: extensions follow '#' ({p_profile})"
            ));
        }
        if profile.contains("xrechnung") && !raw.seller_contact {
            let path = if syntax == Syntax::Ubl {
                "cac:AccountingSupplierParty/cac:Party/cac:Contact"
            } else {
                "ram:SellerTradeParty/ram:DefinedTradeContact"
            };
            return Err(format!(
                "an XRechnung invoice must name the seller's contact (BR-DE-2: {path} missing)"
            ));
        }
    }
    let number = raw
        .number
        .clone()
        .ok_or_else(|| missing("invoice number", p_num))?;
    let issue_s = raw
        .issue
        .clone()
        .ok_or_else(|| missing("issue date", p_issue))?;
    let issue = date(&issue_s)
        .ok_or_else(|| format!("issue date {issue_s:?} is not a date ({p_issue})"))?;
    let mut due = match &raw.due {
        Some(s) => Some(date(s).ok_or_else(|| format!("due date {s:?} is not a date"))?),
        None => None,
    };
    // Published invoices do state a due date before their issue date (invoiced after the
    // agreed payment date). The ledger takes no such date: the invoice is due on issue, said.
    let mut early_due = None;
    if let Some(d) = due.filter(|d| *d < issue) {
        early_due = Some(format!(
            "due date {d} is before the issue date {issue}: taken as due on {issue}"
        ));
        due = Some(issue);
    }
    let cur_s = raw
        .currency
        .clone()
        .ok_or_else(|| missing("currency", p_cur))?;
    let currency = Currency::parse(&cur_s).map_err(|e| format!("{e} ({p_cur})"))?;
    let dec = currency.decimals() as u32;
    let amount = |names: &[&str]| -> Result<Option<i64>, String> {
        match raw
            .amounts
            .iter()
            .find(|(n, _)| names.contains(&n.as_str()))
        {
            None => Ok(None),
            Some((n, v)) => decimal(v, dec)
                .map(Some)
                .ok_or_else(|| format!("{n} {v:?} is not an amount")),
        }
    };
    let (due_amount, grand, prepaid, rounding, basis, tax, line_total) = match syntax {
        Syntax::Ubl => (
            amount(&["PayableAmount"])?,
            amount(&["TaxInclusiveAmount"])?,
            amount(&["PrepaidAmount"])?,
            amount(&["PayableRoundingAmount"])?,
            amount(&["TaxExclusiveAmount"])?,
            amount(&["TaxTotalAmount"])?,
            amount(&["LineExtensionAmount"])?,
        ),
        _ => (
            amount(&["DuePayableAmount"])?,
            amount(&["GrandTotalAmount"])?,
            amount(&["TotalPrepaidAmount"])?,
            amount(&["RoundingAmount"])?,
            amount(&["TaxBasisTotalAmount"])?,
            amount(&["TaxTotalAmount"])?,
            amount(&["LineTotalAmount"])?,
        ),
    };
    let amount_due = due_amount
        .or(grand)
        .ok_or_else(|| missing("amount due", p_total))?;
    // The sums of EN 16931 (BR-CO-*) hold in documents that claim a profile; MINIMUM carries no
    // prepaid amount, so its amount due may differ from its grand total.
    let checked = !profile.is_empty();
    let minimum = profile.ends_with(":minimum");
    if checked
        && let (Some(g), Some(b), Some(t)) = (grand, basis, tax)
        && (g - b - t).abs() > 1
    {
        return Err(format!(
            "grand total {g} ≠ tax basis {b} + tax {t} (in minor units)"
        ));
    }
    if checked
        && !minimum
        && let (Some(d), Some(g)) = (due_amount, grand)
    {
        let expect = g - prepaid.unwrap_or(0) + rounding.unwrap_or(0);
        if d != expect {
            return Err(format!(
                "amount due {} ≠ grand total {} − prepaid {} + rounding {}",
                show(d, dec),
                show(g, dec),
                show(prepaid.unwrap_or(0), dec),
                show(rounding.unwrap_or(0), dec)
            ));
        }
    }
    let mut vat_sum = 0;
    let mut vat_complete = !raw.vat.is_empty();
    for [b, r, c] in &raw.vat {
        match (
            b.as_deref().and_then(|x| decimal(x, dec)),
            r.as_deref().and_then(|x| decimal(x, 4)),
            c.as_deref().and_then(|x| decimal(x, dec)),
        ) {
            (Some(b), Some(r), Some(c)) => {
                let expect = ((b as i128 * r as i128) as f64 / 1_000_000.0).round() as i64;
                // One currency unit of tolerance: some currencies (HUF) round tax to whole units.
                if (expect - c).abs() > 10i64.pow(dec) {
                    return Err(format!(
                        "VAT line: {} × {} % = {}, not {} (ram:ApplicableTradeTax)",
                        show(b, dec),
                        r as f64 / 10_000.0,
                        show(expect, dec),
                        show(c, dec)
                    ));
                }
                vat_sum += c;
            }
            _ => vat_complete = false,
        }
    }
    if vat_complete
        && let Some(t) = tax
        && (vat_sum - t).abs() > 1
    {
        return Err(format!(
            "VAT lines add up to {}, the tax total says {}",
            show(vat_sum, dec),
            show(t, dec)
        ));
    }
    // Line amounts: |quantity × net price| should be the line total, the price being per unit
    // or per its basis quantity. A mismatch is a warning, not a refusal: the amount due is
    // checked above, and official EN 16931 examples carry such line inconsistencies.
    let mut warnings: Vec<String> = early_due.into_iter().collect();
    for (k, l) in raw.lines.iter().enumerate() {
        // Quantities and unit prices may carry many decimals; only the check uses them.
        let f = |x: &Option<String>| x.as_deref().and_then(|v| v.trim().parse::<f64>().ok());
        let t = l.total.as_deref().and_then(|x| decimal(x, dec));
        if let (true, false, Some(q), Some(pr), Some(t)) =
            (checked, l.adjusted, f(&l.quantity), f(&l.price), t)
        {
            let scale = 10f64.powi(dec as i32);
            let expect = (q * pr * scale).round() as i64;
            let per_basis = f(&l.basis)
                .filter(|b| *b != 0.0)
                .map(|b| (q * pr / b * scale).round() as i64);
            let near = |x: i64| (x.abs() - t.abs()).abs() <= 1;
            if !near(expect) && !per_basis.is_some_and(near) {
                warnings.push(format!(
                    "line {}: quantity {q} × net price {pr} = {}, not {} (ram:LineTotalAmount)",
                    k + 1,
                    show(expect, dec),
                    show(t, dec)
                ));
            }
        }
    }
    if minimum && (line_total.is_some() || raw.has_lines) {
        return Err("a MINIMUM profile document carries no invoice lines nor line total (ram:LineTotalAmount)".into());
    }
    let type_code = raw.type_code.clone().unwrap_or_else(|| "380".into());
    let credit_note =
        raw.root == "CreditNote" || matches!(type_code.as_str(), "381" | "396" | "261" | "262");
    let buyer_id = raw
        .buyer_legal
        .clone()
        .or(raw.buyer_vat.clone())
        .or(raw.buyer_id.clone())
        .or(raw.buyer_global.clone())
        .or(raw.buyer_name.clone())
        .ok_or_else(|| missing("buyer", "BuyerTradeParty / AccountingCustomerParty"))?;
    Ok(EInvoice {
        syntax,
        profile,
        number,
        credit_note,
        type_code,
        issue,
        due,
        currency,
        amount_due: if credit_note {
            -amount_due.abs()
        } else {
            amount_due
        },
        grand_total: grand,
        buyer_name: raw.buyer_name.clone().unwrap_or_else(|| buyer_id.clone()),
        buyer_id,
        buyer_legal_id: raw.buyer_legal,
        buyer_vat: raw.buyer_vat,
        seller_name: raw.seller_name,
        warnings,
    })
}

fn show(v: i64, dec: u32) -> String {
    arpilot_core::money::format_minor(v, dec as u8)
}

impl EInvoice {
    /// The customer and the document (an invoice, or a credit note when the amount is owed
    /// back); nothing when nothing is due.
    pub fn events(&self) -> Vec<Event> {
        let mut attrs = vec![];
        if let Some(s) = &self.buyer_legal_id {
            attrs.push(("siren".to_string(), s.clone()));
        }
        if let Some(v) = &self.buyer_vat {
            attrs.push(("vat_number".to_string(), v.clone()));
        }
        let mut ev = vec![Event::Customer(CustomerRec {
            id: self.buyer_id.clone(),
            name: self.buyer_name.clone(),
            credit_limit: None,
            payment_terms_days: None,
            attrs,
        })];
        if self.amount_due != 0 {
            let kind = if self.amount_due < 0 {
                DocKind::CreditNote
            } else {
                DocKind::Invoice
            };
            ev.push(Event::Document(DocumentRec {
                due: self.due.filter(|_| self.amount_due > 0),
                currency: Some(self.currency),
                attrs: vec![("profile".to_string(), self.profile.clone())],
                ..DocumentRec::new(
                    self.number.clone(),
                    self.buyer_id.clone(),
                    kind,
                    self.issue,
                    self.amount_due.abs(),
                )
            }));
        }
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_half_away() {
        assert_eq!(decimal("336.9", 2), Some(33_690));
        assert_eq!(decimal("-233.47", 2), Some(-23_347));
        assert_eq!(decimal("1.005", 2), Some(101));
        assert_eq!(decimal("12", 0), Some(12));
        assert_eq!(decimal("1,5", 2), None);
    }

    #[test]
    fn refuses_doctype_and_foreign_roots() {
        let e = parse(b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>").unwrap_err();
        assert!(e.contains("DOCTYPE"), "{e}");
        let e = parse(b"<order><id>1</id></order>").unwrap_err();
        assert!(e.contains("root element \"order\""), "{e}");
        let e = parse(b"<Invoice><ID>1</ID>").unwrap_err();
        assert!(e.contains("missing issue date"), "{e}");
        let e = parse(b"").unwrap_err();
        assert!(e.contains("empty document"), "{e}");
    }
}
