//! Cash application: which invoices a bank receipt (or a payment left unapplied) pays, decided
//! by explainable rules each giving a confidence, and the KPIs of the work.
//!
//! The rules, strongest first:
//! 1. an ISO 11649 creditor reference ("RF…") that arpilot generated for an invoice or for a
//!    customer's statement;
//! 2. invoice numbers found in the remittance text, compared in a normal form (case, spaces,
//!    separators, leading zeros and prefixes do not matter);
//! 3. the payer identified by IBAN (from the customer's `iban` attribute or learned from earlier
//!    applications) or by name, and the amount equal to one open invoice, to a combination of
//!    that customer's open invoices (bounded search), or within a tolerance (bank fees,
//!    discounts) whose difference is written off;
//! 4. otherwise oldest-first on the identified customer, or left unapplied.
//!
//! A proposal at or above the configured confidence is applied at once; the others wait for a
//! person in the review queue.

use crate::ledger::{CashRec, Decision, Event};
use crate::snapshot::{
    CASH_APPLY, CASH_NOT_CUSTOMER, CASH_RETURNED, CASH_UNDO, RECEIPT_APPLIED, RECEIPT_OPEN,
    Snapshot,
};
use std::collections::HashMap;

/// Removes the applications that a later undo (or a returned payment) cancelled, so that the
/// ledger reads as if they had never been made. The undo events stay: they are counted.
pub fn drop_undone(events: &mut Vec<Event>) {
    if !events.iter().any(|e| {
        matches!(e, Event::Cash(CashRec { decision, .. })
            if matches!(decision, Decision::Undo | Decision::Returned))
    }) {
        return;
    }
    let mut applied: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut dropped = Vec::new();
    for (k, ev) in events.iter().enumerate() {
        if let Event::Cash(c) = ev {
            match c.decision {
                Decision::Apply { .. } => applied.entry(&c.receipt_id).or_default().push(k),
                Decision::Undo | Decision::Returned => {
                    if let Some(k) = applied.get_mut(c.receipt_id.as_str()).and_then(Vec::pop) {
                        dropped.push(k);
                    }
                }
                Decision::NotCustomer => {}
            }
        }
    }
    if dropped.is_empty() {
        return;
    }
    dropped.sort_unstable();
    let mut k = 0;
    let mut next = dropped.iter().peekable();
    events.retain(|_| {
        let keep = next.peek().is_none_or(|&&d| d != k);
        if !keep {
            next.next();
        }
        k += 1;
        keep
    });
}

// ---------------------------------------------------------------------------------------------
// References

/// Upper-case letters and digits only: "inv-2024/00123" and "INV 2024 00123" compare equal.
pub fn normal(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The last run of at least four digits, without leading zeros: "F-000230875" → 230875. Lets
/// "230875" or "F230875" find invoice "FA-0230875".
fn digit_key(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let mut end = b.len();
    while end > 0 {
        if b[end - 1].is_ascii_digit() {
            let mut start = end;
            while start > 0 && b[start - 1].is_ascii_digit() {
                start -= 1;
            }
            if end - start >= 4 {
                let run = s[start..end].trim_start_matches('0');
                return if run.is_empty() || run.len() > 18 {
                    None
                } else {
                    run.parse().ok()
                };
            }
            end = start;
        } else {
            end -= 1;
        }
    }
    None
}

/// The ISO 7064 mod 97-10 remainder that IBANs (ISO 13616) and creditor references (ISO 11649)
/// are checked with: the first four characters moved to the end, letters as 10 to 35. `None`
/// for fewer than five characters or anything but upper-case letters and digits.
pub fn mod97(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() < 5 {
        return None;
    }
    let mut r: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'Z' => (c - b'A') as u32 + 10,
            _ => return None,
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    Some(r)
}

/// True for an IBAN whose check digits are right, spaces and separators ignored.
pub fn valid_iban(iban: &str) -> bool {
    let n = normal(iban);
    (15..=34).contains(&n.len())
        && n.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
        && mod97(&n) == Some(1)
}

/// The ISO 11649 structured creditor reference of `body` (letters and digits, at most 21):
/// "RF" + two check digits + body. `None` when the body cannot make one.
pub fn creditor_reference(body: &str) -> Option<String> {
    let body = normal(body);
    if body.is_empty() || body.len() > 21 {
        return None;
    }
    let check = 98 - mod97(&format!("RF00{body}"))?;
    Some(format!("RF{check:02}{body}"))
}

/// The creditor reference printed for an invoice. Ids too long for one get none.
pub fn invoice_reference(invoice_id: &str) -> Option<String> {
    creditor_reference(invoice_id)
}

/// The creditor reference printed on a customer's statement: "C" + the customer id.
pub fn customer_reference(customer_id: &str) -> Option<String> {
    creditor_reference(&format!("C{customer_id}"))
}

/// The body of a valid ISO 11649 reference ("RF18 5390 0754 7034" → "539007547034").
pub fn parse_creditor_reference(s: &str) -> Option<String> {
    let n = normal(s);
    if n.len() < 5 || n.len() > 25 || !n.starts_with("RF") {
        return None;
    }
    let (head, body) = n.split_at(4);
    if !head[2..].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (mod97(&n) == Some(1)).then(|| body.to_string())
}

/// A name in a comparable form: upper case, letters and digits, legal forms dropped.
pub fn normal_name(s: &str) -> String {
    const FORMS: [&str; 16] = [
        "SA", "SAS", "SASU", "SARL", "EURL", "SNC", "SCI", "GMBH", "AG", "LTD", "LIMITED", "INC",
        "LLC", "BV", "NV", "SPA",
    ];
    // "S.A.S." is "SAS"; banks drop accents ("SOCIETE" for "Société").
    let s: String = s.chars().filter(|&c| c != '.').map(fold_accent).collect();
    let words: Vec<String> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_uppercase())
        .filter(|w| !FORMS.contains(&w.as_str()))
        .collect();
    words.join(" ")
}

/// The letter without its accent (Latin letters of French, German, Spanish, Portuguese…).
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'ç' => 'c',
        'Ç' => 'C',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'O',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' => 'Y',
        c => c,
    }
}

/// True when `a` and `b` differ by at most one edit (a typo: one letter changed, added or lost).
fn one_edit(a: &[u8], b: &[u8]) -> bool {
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[p..], &b[p..]);
    if ra.is_empty() && rb.is_empty() {
        return true;
    }
    let same_tail = |x: &[u8], y: &[u8]| x == y;
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => same_tail(&ra[1..], &rb[1..]),
        std::cmp::Ordering::Greater => same_tail(&ra[1..], rb),
        std::cmp::Ordering::Less => same_tail(ra, &rb[1..]),
    }
}

// ---------------------------------------------------------------------------------------------
// Matching

/// Settings of the matching engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchConfig {
    /// Proposals at or above this confidence are applied without review.
    pub auto_threshold: u8,
    /// Largest shortfall written off when a receipt pays an invoice less bank fees or a
    /// discount, in minor units; a larger one leaves the difference open.
    pub write_off_max: i64,
    /// Largest shortfall accepted as fees or discount, in basis points of the invoice.
    pub tolerance_bp: i64,
    /// Most open invoices of a customer tried in combinations, oldest first.
    pub combination_invoices: usize,
    /// Most invoices in one combination.
    pub combination_size: usize,
}

impl Default for MatchConfig {
    fn default() -> Self {
        MatchConfig {
            auto_threshold: 80,
            write_off_max: 2_500,
            tolerance_bp: 300,
            combination_invoices: 16,
            combination_size: 4,
        }
    }
}

/// Why a proposal was made: what the engine found, in the order it found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A creditor reference of ours for this invoice.
    CreditorRefInvoice(u32),
    /// A creditor reference of ours for this customer's statement.
    CreditorRefCustomer(u32),
    /// The invoice's number in the remittance text, as written.
    InvoiceNumber(u32),
    /// Something close to the invoice's number (a typo, a truncation) from the identified payer.
    InvoiceNumberNear(u32),
    /// The invoice's number quoted, but it is paid already.
    AlreadyPaid(u32),
    /// The payer's IBAN is this customer's.
    PayerIban(u32),
    /// The payer's name is this customer's.
    PayerName(u32),
    /// The invoices quoted belong to another customer than the payer (a group paying for a
    /// sister company).
    OtherPayer(u32),
    /// The amount equals the open amount of one invoice.
    ExactAmount,
    /// The amount equals the open amounts of these invoices together.
    Combination(usize),
    /// The amount is this much short of the invoices: fees or discount.
    Shortfall(i64),
    /// Several invoices fit equally: the oldest was taken.
    Ambiguous,
    /// The amount is more than the invoices: the rest stays unapplied on the customer.
    Overpaid(i64),
    /// Allocated to the oldest open invoices.
    OldestFirst,
    /// Nothing identifies the customer.
    Unidentified,
}

/// What the engine proposes for one receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub customer: Option<u32>,
    /// Invoice rows and the amount applied to each.
    pub invoices: Vec<(u32, i64)>,
    /// Shortfall written off on the last invoice.
    pub write_off: i64,
    /// One of [`crate::ledger::CASH_RULES`].
    pub rule: &'static str,
    pub confidence: u8,
    pub reasons: Vec<Reason>,
    /// Other invoices a person may want to choose (same amount, the customer's oldest).
    pub candidates: Vec<u32>,
}

impl Proposal {
    pub fn applied(&self) -> i64 {
        self.invoices.iter().map(|x| x.1).sum()
    }
}

/// What the engine reads of a receipt.
#[derive(Clone, Copy, Debug, Default)]
pub struct Remit<'a> {
    pub amount: i64,
    pub day: i32,
    pub payer_name: Option<&'a str>,
    pub payer_iban: Option<&'a str>,
    pub remittance: Option<&'a str>,
    pub creditor_ref: Option<&'a str>,
    /// The customer, when the cash is already theirs (a payment left unapplied).
    pub customer: Option<u32>,
}

/// The matching engine over a snapshot as of a date. It keeps its own open amounts, so that
/// receipts matched in one run never use an invoice twice.
pub struct Matcher<'a> {
    snap: &'a Snapshot,
    cfg: MatchConfig,
    /// Open amount of each invoice, reduced as proposals are committed.
    open: Vec<i64>,
    by_ref: HashMap<String, u32>,
    by_digits: HashMap<u64, Vec<u32>>,
    /// Open invoices of each customer (CSR), oldest due date first.
    cust_start: Vec<u32>,
    cust_inv: Vec<u32>,
    by_amount: HashMap<i64, Vec<u32>>,
    iban: HashMap<String, u32>,
    names: HashMap<String, u32>,
    customer_refs: HashMap<String, u32>,
}

impl<'a> Matcher<'a> {
    /// The engine over the invoices open on `day`, with payers learned from the applications
    /// recorded so far.
    pub fn new(snap: &'a Snapshot, day: i32, cfg: MatchConfig) -> Matcher<'a> {
        let n = snap.invoice_count();
        let mut open = vec![0i64; n];
        let mut by_ref = HashMap::with_capacity(n);
        let mut by_digits: HashMap<u64, Vec<u32>> = HashMap::with_capacity(n);
        let ncust = snap.customers.names.len();
        let mut count = vec![0u32; ncust + 1];
        for (i, o) in open.iter_mut().enumerate() {
            let id = snap.invoices.ids.get(i as u32);
            // Every invoice is findable by number (a paid one is reported as such).
            by_ref.insert(normal(id), i as u32);
            if let Some(k) = digit_key(id) {
                by_digits.entry(k).or_default().push(i as u32);
            }
            if snap.invoices.settled[i] <= day {
                continue;
            }
            *o = snap.open_at(i, day.max(snap.invoices.issue[i]));
            if *o > 0 {
                count[snap.invoices.customer[i] as usize + 1] += 1;
            }
        }
        for c in 1..count.len() {
            count[c] += count[c - 1];
        }
        let cust_start = count.clone();
        let mut fill = count;
        let mut cust_inv = vec![0u32; cust_start[ncust] as usize];
        let mut by_amount: HashMap<i64, Vec<u32>> = HashMap::new();
        for (i, &o) in open.iter().enumerate() {
            if o > 0 {
                let c = snap.invoices.customer[i] as usize;
                cust_inv[fill[c] as usize] = i as u32;
                fill[c] += 1;
                by_amount.entry(o).or_default().push(i as u32);
            }
        }
        for c in 0..ncust {
            let s = &mut cust_inv[cust_start[c] as usize..cust_start[c + 1] as usize];
            s.sort_by_key(|&i| (snap.invoices.due[i as usize], i));
        }
        let mut iban = HashMap::new();
        let mut names = HashMap::new();
        let mut customer_refs = HashMap::new();
        for c in 0..ncust {
            let id = snap.customers.ids.get(c as u32);
            if let Some(r) = customer_reference(id).and_then(|r| parse_creditor_reference(&r)) {
                customer_refs.insert(r, c as u32);
            }
            let name = normal_name(&snap.customers.names[c]);
            if !name.is_empty() {
                names.insert(name, c as u32);
            }
        }
        if let Some(col) = snap.customers.dims.get("iban") {
            for c in 0..ncust {
                for v in col.value(c as u32).split([' ', ';', ',']) {
                    let v = normal(v);
                    if v.len() >= 15 {
                        iban.insert(v, c as u32);
                    }
                }
            }
        }
        // Payers learned from earlier applications of bank receipts.
        for row in &snap.cash {
            if row.kind != CASH_APPLY || row.receipt == u32::MAX || row.source == u32::MAX {
                continue;
            }
            let c = snap.sources.customer[row.source as usize];
            let info = &snap.receipts.info[row.receipt as usize];
            if let Some(i) = info
                .payer_iban
                .as_deref()
                .map(normal)
                .filter(|i| i.len() >= 15)
            {
                iban.insert(i, c);
            }
            if let Some(n) = info.payer_name.as_deref().map(normal_name)
                && !n.is_empty()
            {
                names.entry(n).or_insert(c);
            }
        }
        Matcher {
            snap,
            cfg,
            open,
            by_ref,
            by_digits,
            cust_start,
            cust_inv,
            by_amount,
            iban,
            names,
            customer_refs,
        }
    }

    /// What is still open on invoice `i` in this run.
    pub fn open(&self, i: u32) -> i64 {
        self.open[i as usize]
    }

    /// Open invoices of customer `c`, oldest due first (some may be used up in this run).
    pub fn customer_invoices(&self, c: u32) -> impl Iterator<Item = u32> + '_ {
        let (s, e) = (
            self.cust_start[c as usize] as usize,
            self.cust_start[c as usize + 1] as usize,
        );
        self.cust_inv[s..e]
            .iter()
            .copied()
            .filter(|&i| self.open[i as usize] > 0)
    }

    /// Records that a proposal was applied, so later receipts of the run see what is left.
    pub fn commit(&mut self, p: &Proposal) {
        for &(i, a) in &p.invoices {
            self.open[i as usize] -= a;
        }
        if let Some(&(i, _)) = p.invoices.last() {
            self.open[i as usize] = (self.open[i as usize] - p.write_off).max(0);
        }
    }

    /// The payer's customer, by IBAN then by name.
    fn payer(&self, r: &Remit) -> Option<(u32, Reason)> {
        if let Some(c) = r.customer {
            return Some((c, Reason::PayerIban(c)));
        }
        if let Some(c) = r.payer_iban.map(normal).and_then(|i| self.iban.get(&i)) {
            return Some((*c, Reason::PayerIban(*c)));
        }
        r.payer_name
            .map(normal_name)
            .and_then(|n| self.names.get(&n))
            .map(|&c| (c, Reason::PayerName(c)))
    }

    /// Proposes what receipt `r` pays.
    pub fn propose(&self, r: &Remit) -> Proposal {
        let mut reasons = Vec::new();
        let payer = self.payer(r);
        // 1. Our own creditor references.
        let mut strong: Vec<u32> = Vec::new();
        let mut ref_customer = None;
        let refs = r
            .creditor_ref
            .into_iter()
            .chain(r.remittance.into_iter().flat_map(|t| t.split_whitespace()));
        for s in refs {
            if let Some(body) = parse_creditor_reference(s) {
                if let Some(&i) = self.by_ref.get(&body) {
                    if self.open[i as usize] > 0 {
                        reasons.push(Reason::CreditorRefInvoice(i));
                        strong.push(i);
                    } else {
                        // Paid already (twice paid, or the same transfer seen twice): the
                        // customer is known, the invoice is not what the cash is for.
                        reasons.push(Reason::AlreadyPaid(i));
                        ref_customer = Some(self.snap.invoices.customer[i as usize]);
                    }
                } else if let Some(&c) = self.customer_refs.get(&body) {
                    reasons.push(Reason::CreditorRefCustomer(c));
                    ref_customer = Some(c);
                }
            }
        }
        let by_rf = !strong.is_empty();
        // 2. Invoice numbers in the text.
        let mut weak: Vec<u32> = Vec::new();
        let mut paid: Vec<u32> = Vec::new();
        if let Some(text) = r.remittance {
            let tokens: Vec<String> = text
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|t| !t.is_empty())
                .map(|t| t.to_ascii_uppercase())
                .collect();
            // Hits in text order: (invoice, quoted as written).
            let mut hits: Vec<(u32, bool)> = Vec::new();
            for k in 0..tokens.len() {
                // A number may be split by spaces or separators: "F 230875", "INV-2024-0012".
                let mut joined = String::new();
                for t in tokens.iter().skip(k).take(3) {
                    joined.push_str(t);
                    if joined.len() >= 3
                        && let Some(&i) = self.by_ref.get(&joined)
                    {
                        hits.push((i, true));
                    }
                }
            }
            if hits.is_empty() && strong.is_empty() {
                for t in &tokens {
                    if let Some(v) = digit_key(t).and_then(|k| self.by_digits.get(&k)) {
                        hits.extend(v.iter().map(|&i| (i, false)));
                    }
                }
            }
            for (i, as_written) in hits {
                if strong.contains(&i) || weak.contains(&i) || paid.contains(&i) {
                    continue;
                }
                if self.open[i as usize] <= 0 {
                    paid.push(i);
                    reasons.push(Reason::AlreadyPaid(i));
                } else if as_written {
                    strong.push(i);
                    reasons.push(Reason::InvoiceNumber(i));
                } else {
                    weak.push(i);
                }
            }
            // Numbers found by their digits alone are believed for the payer's invoices, or
            // when they are few.
            if let Some(c) = payer.as_ref().map(|p| p.0)
                && weak
                    .iter()
                    .any(|&i| self.snap.invoices.customer[i as usize] == c)
            {
                weak.retain(|&i| self.snap.invoices.customer[i as usize] == c);
            }
            if weak.len() > 3 {
                weak.clear();
            }
            // A typo often turns one invoice number into another real one, of another
            // customer: numbers quoted that are neither the identified payer's nor of the amount
            // paid are doubted, and the payer's near misses preferred.
            let payer_c = payer.as_ref().map(|p| p.0).or(ref_customer);
            let doubted = !by_rf
                && !strong.is_empty()
                && payer_c.is_some_and(|c| {
                    !strong
                        .iter()
                        .any(|&i| self.snap.invoices.customer[i as usize] == c)
                })
                && strong.iter().map(|&i| self.open[i as usize]).sum::<i64>() != r.amount;
            if strong.is_empty() || doubted {
                // Near misses (a typo, a truncation) among the identified payer's invoices; a
                // number may be split in two tokens ("F 0093118").
                // Only what looks like a number (two digits at least) is a near miss: words
                // and names are not.
                let numberish =
                    |t: &str| t.len() >= 5 && t.bytes().filter(u8::is_ascii_digit).count() >= 2;
                let mut cands: Vec<String> =
                    tokens.iter().filter(|t| numberish(t)).cloned().collect();
                for w in tokens.windows(2) {
                    let j = format!("{}{}", w[0], w[1]);
                    if numberish(&j) {
                        cands.push(j);
                    }
                }
                if let Some(c) = payer_c {
                    let mut near_found = Vec::new();
                    for i in self.customer_invoices(c) {
                        let id = normal(self.snap.invoices.ids.get(i));
                        let near = cands.iter().any(|t| {
                            one_edit(t.as_bytes(), id.as_bytes())
                                || (t.len() < id.len() && id.starts_with(t.as_str()))
                        });
                        if near && !weak.contains(&i) {
                            near_found.push(i);
                        }
                    }
                    if doubted && !near_found.is_empty() {
                        strong.clear();
                        weak.clear();
                        reasons.retain(|x| !matches!(x, Reason::InvoiceNumber(_)));
                    }
                    if strong.is_empty() {
                        for i in near_found {
                            weak.push(i);
                            reasons.push(Reason::InvoiceNumberNear(i));
                        }
                    }
                }
            }
        }
        if !strong.is_empty() || !weak.is_empty() {
            let (found, base) = if strong.is_empty() {
                (weak, 70u8)
            } else {
                (strong, if by_rf { 100u8 } else { 95 })
            };
            if let Some(p) = self.by_invoices(r, &found, base, by_rf, payer.as_ref(), &mut reasons)
            {
                return p;
            }
        }
        // 3. The payer, or the customer of a paid invoice or of a statement reference.
        let customer = payer.as_ref().map(|p| p.0).or(ref_customer).or_else(|| {
            paid.first()
                .map(|&i| self.snap.invoices.customer[i as usize])
        });
        if let Some((_, why)) = &payer {
            reasons.push(why.clone());
        }
        let Some(c) = customer else {
            reasons.push(Reason::Unidentified);
            let candidates = self
                .by_amount
                .get(&r.amount)
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|&i| self.open[i as usize] == r.amount)
                        .take(10)
                        .collect()
                })
                .unwrap_or_default();
            return Proposal {
                customer: None,
                invoices: Vec::new(),
                write_off: 0,
                rule: "unapplied",
                confidence: 0,
                reasons,
                candidates,
            };
        };
        // A name is weaker evidence than an IBAN or a reference of ours.
        let sure = match payer {
            Some((_, Reason::PayerName(_))) => 0u8,
            None if ref_customer.is_none() => 0,
            _ => 10,
        };
        self.by_amount_of(r, c, sure, reasons)
    }

    /// Rule 2: the invoices quoted (or nearly quoted).
    fn by_invoices(
        &self,
        r: &Remit,
        found: &[u32],
        base: u8,
        by_rf: bool,
        payer: Option<&(u32, Reason)>,
        reasons: &mut Vec<Reason>,
    ) -> Option<Proposal> {
        // Invoices of one customer only: the payer's when it is among them, else the customer
        // owing most among those quoted.
        let mut per: Vec<(u32, i64)> = Vec::new();
        for &i in found {
            let c = self.snap.invoices.customer[i as usize];
            match per.iter_mut().find(|x| x.0 == c) {
                Some(x) => x.1 += self.open[i as usize],
                None => per.push((c, self.open[i as usize])),
            }
        }
        let c = match payer.filter(|p| per.iter().any(|x| x.0 == p.0)) {
            Some(p) => p.0,
            // Ties to the first customer id: an order of the customers, not of the rows.
            None => {
                let ids = &self.snap.customers.ids;
                per.iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then_with(|| ids.get(b.0).cmp(ids.get(a.0))))?
                    .0
            }
        };
        if r.customer.is_some_and(|k| k != c) {
            return None;
        }
        let mut inv: Vec<u32> = found
            .iter()
            .copied()
            .filter(|&i| self.snap.invoices.customer[i as usize] == c)
            .collect();
        // Several near misses, one of exactly the amount paid: that one.
        if base < 90 && inv.len() > 1 {
            let exact: Vec<u32> = inv
                .iter()
                .copied()
                .filter(|&i| self.open[i as usize] == r.amount)
                .collect();
            if exact.len() == 1 {
                inv = exact;
            }
        }
        inv.sort_by_key(|&i| (self.snap.invoices.due[i as usize], i));
        let mut conf = base;
        if per.len() > 1 {
            conf = conf.saturating_sub(20);
        }
        if let Some(p) = payer {
            if p.0 == c {
                reasons.push(p.1.clone());
            } else if r.customer.is_none() {
                reasons.push(Reason::OtherPayer(c));
                conf = conf.saturating_sub(10);
            }
        }
        let sum: i64 = inv.iter().map(|&i| self.open[i as usize]).sum();
        // Numbers quoted, amount different, and nothing says the payer is this customer: a typo
        // may have named another invoice; a person decides.
        let vouched = by_rf || payer.is_some_and(|p| p.0 == c) || r.customer == Some(c);
        if r.amount != sum && !vouched {
            conf = conf.min(70);
        }
        let rule = if by_rf {
            "creditor_reference"
        } else {
            "invoice_number"
        };
        let (invoices, write_off) = if r.amount == sum {
            if base < 90 {
                // A near miss confirmed by the exact amount.
                conf = 85u8.min(conf + 15);
                reasons.push(Reason::ExactAmount);
            }
            (inv.iter().map(|&i| (i, self.open[i as usize])).collect(), 0)
        } else if r.amount < sum {
            let short = sum - r.amount;
            let last_open = inv.last().map_or(0, |&i| self.open[i as usize]);
            if short <= self.cfg.write_off_max
                && short * 10_000 <= sum * self.cfg.tolerance_bp
                && short < last_open
            {
                reasons.push(Reason::Shortfall(short));
                let mut v: Vec<(u32, i64)> =
                    inv.iter().map(|&i| (i, self.open[i as usize])).collect();
                if let Some(l) = v.last_mut() {
                    l.1 -= short;
                }
                conf = conf.saturating_sub(if base < 90 { 10 } else { 5 });
                (v, short)
            } else {
                // A part payment ("acompte"): oldest quoted invoice first.
                if base < 90 {
                    conf = conf.saturating_sub(10);
                }
                conf = conf.saturating_sub(5);
                (self.oldest_first(inv.iter().copied(), r.amount), 0)
            }
        } else {
            // More than quoted: the rest on the customer's other open invoices when it fits them
            // exactly, else left unapplied on the customer.
            let mut v: Vec<(u32, i64)> = inv.iter().map(|&i| (i, self.open[i as usize])).collect();
            let rest = r.amount - sum;
            let others: Vec<u32> = self
                .customer_invoices(c)
                .filter(|i| !inv.contains(i))
                .collect();
            if let Some(extra) = self.combination(&others, rest) {
                reasons.push(Reason::Combination(extra.len()));
                v.extend(extra.iter().map(|&i| (i, self.open[i as usize])));
            } else {
                reasons.push(Reason::Overpaid(rest));
                conf = conf.saturating_sub(if base < 90 { 20 } else { 10 });
            }
            (v, 0)
        };
        Some(Proposal {
            customer: Some(c),
            invoices,
            write_off,
            rule,
            confidence: conf,
            reasons: std::mem::take(reasons),
            candidates: self.customer_invoices(c).take(10).collect(),
        })
    }

    /// Rule 3 and 4: the identified customer's open invoices against the amount.
    fn by_amount_of(&self, r: &Remit, c: u32, sure: u8, mut reasons: Vec<Reason>) -> Proposal {
        let open: Vec<u32> = self.customer_invoices(c).collect();
        let candidates: Vec<u32> = open.iter().copied().take(10).collect();
        let done = |invoices, write_off, rule, confidence, reasons| Proposal {
            customer: Some(c),
            invoices,
            write_off,
            rule,
            confidence,
            reasons,
            candidates: candidates.clone(),
        };
        // One invoice of exactly this amount.
        let exact: Vec<u32> = open
            .iter()
            .copied()
            .filter(|&i| self.open[i as usize] == r.amount)
            .collect();
        if let Some(&i) = exact.first() {
            reasons.push(Reason::ExactAmount);
            let mut conf = 80 + sure;
            if exact.len() > 1 {
                reasons.push(Reason::Ambiguous);
                conf -= 15;
            }
            return done(vec![(i, r.amount)], 0, "exact_amount", conf, reasons);
        }
        // All of the customer's open invoices (a statement paid whole).
        let total: i64 = open.iter().map(|&i| self.open[i as usize]).sum();
        if total == r.amount && !open.is_empty() {
            reasons.push(Reason::Combination(open.len()));
            let v = open.iter().map(|&i| (i, self.open[i as usize])).collect();
            return done(v, 0, "combination", 80 + sure, reasons);
        }
        if let Some(v) = self.combination(&open, r.amount) {
            reasons.push(Reason::Combination(v.len()));
            let v = v.iter().map(|&i| (i, self.open[i as usize])).collect();
            return done(v, 0, "combination", 75 + sure, reasons);
        }
        // One invoice less fees or a discount.
        let near = open.iter().copied().find(|&i| {
            let o = self.open[i as usize];
            let short = o - r.amount;
            short > 0
                && short <= self.cfg.write_off_max
                && short * 10_000 <= o * self.cfg.tolerance_bp
        });
        if let Some(i) = near {
            let short = self.open[i as usize] - r.amount;
            reasons.push(Reason::Shortfall(short));
            return done(vec![(i, r.amount)], short, "tolerance", 75 + sure, reasons);
        }
        if open.is_empty() {
            reasons.push(Reason::Overpaid(r.amount));
            return done(Vec::new(), 0, "unapplied", 40 + sure, reasons);
        }
        reasons.push(Reason::OldestFirst);
        let v = self.oldest_first(open.iter().copied(), r.amount);
        done(v, 0, "oldest_first", 40 + sure, reasons)
    }

    fn oldest_first(&self, inv: impl Iterator<Item = u32>, amount: i64) -> Vec<(u32, i64)> {
        let mut left = amount;
        let mut v = Vec::new();
        for i in inv {
            if left == 0 {
                break;
            }
            let a = self.open[i as usize].min(left);
            if a > 0 {
                v.push((i, a));
                left -= a;
            }
        }
        v
    }

    /// The first set (fewest invoices, oldest first) of at most `combination_size` among the
    /// `combination_invoices` oldest whose open amounts add up to `amount`; a bounded search.
    fn combination(&self, open: &[u32], amount: i64) -> Option<Vec<u32>> {
        let pool: Vec<(u32, i64)> = open
            .iter()
            .take(self.cfg.combination_invoices)
            .map(|&i| (i, self.open[i as usize]))
            .filter(|x| x.1 > 0 && x.1 <= amount)
            .collect();
        fn search(
            pool: &[(u32, i64)],
            start: usize,
            left: i64,
            size: usize,
            pick: &mut Vec<u32>,
        ) -> bool {
            if left == 0 {
                return pick.len() == size;
            }
            if pick.len() == size {
                return false;
            }
            for k in start..pool.len() {
                if pool[k].1 <= left {
                    pick.push(pool[k].0);
                    if search(pool, k + 1, left - pool[k].1, size, pick) {
                        return true;
                    }
                    pick.pop();
                }
            }
            false
        }
        for size in 2..=self.cfg.combination_size.min(pool.len()) {
            let mut pick = Vec::new();
            if search(&pool, 0, amount, size, &mut pick) {
                return Some(pick);
            }
        }
        None
    }
}

/// The decision event of a proposal for receipt (or payment) `id`.
pub fn decision(
    snap: &Snapshot,
    id: &str,
    p: &Proposal,
    day: crate::Day,
    author: Option<String>,
) -> Option<Event> {
    let c = p.customer?;
    Some(Event::Cash(CashRec {
        receipt_id: id.to_string(),
        date: day,
        decision: Decision::Apply {
            customer_id: snap.customers.ids.get(c).to_string(),
            invoices: p
                .invoices
                .iter()
                .map(|&(i, a)| (snap.invoices.ids.get(i).to_string(), a))
                .collect(),
            write_off: p.write_off,
        },
        rule: if author.is_some() {
            "manual".into()
        } else {
            p.rule.into()
        },
        confidence: p.confidence,
        author,
    }))
}

// ---------------------------------------------------------------------------------------------
// KPIs

/// Age buckets of unapplied cash, in days since the receipt: up to 7, 30, 90, beyond.
pub const AGE_BUCKETS: [i32; 3] = [7, 30, 90];

/// Cash-application KPIs over a period, as of its last day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CashKpis {
    pub from: i32,
    pub to: i32,
    /// Bank receipts booked in the period.
    pub receipts: u64,
    pub receipts_amount: i64,
    /// Of them, applied by the engine without a person (by the end of the period).
    pub auto: u64,
    pub auto_amount: i64,
    /// Applied by a person.
    pub manual: u64,
    pub manual_amount: i64,
    /// Marked as not a customer receipt, or returned by the bank.
    pub not_customer: u64,
    /// Matched (by anyone) within 1, 3 and 7 days of their booking.
    pub within: [u64; 3],
    /// Receipts waiting for application at the end of the period, whatever their date.
    pub unapplied: u64,
    pub unapplied_amount: i64,
    /// `unapplied_amount` by age: ≤7, ≤30, ≤90, >90 days.
    pub unapplied_age: [i64; 4],
    /// Receipts waiting at the start of the period, and the part of them applied during it.
    pub opening_unapplied: i64,
    pub opening_matched: i64,
    /// Decisions of people in the period: (user, applications, undos).
    pub by_user: Vec<(String, u64, u64)>,
}

impl CashKpis {
    /// Share of receipts applied automatically, in lines (per mille-free ratio in 0..=1).
    pub fn auto_rate(&self) -> Option<f64> {
        (self.receipts > 0).then(|| self.auto as f64 / self.receipts as f64)
    }
    pub fn auto_amount_rate(&self) -> Option<f64> {
        (self.receipts_amount > 0).then(|| self.auto_amount as f64 / self.receipts_amount as f64)
    }
    /// "Taux de recouvrement des règlements non affectés".
    pub fn opening_recovery(&self) -> Option<f64> {
        (self.opening_unapplied > 0)
            .then(|| self.opening_matched as f64 / self.opening_unapplied as f64)
    }
}

/// The KPIs of the period `from..=to` (days).
pub fn kpis(snap: &Snapshot, from: i32, to: i32) -> CashKpis {
    let mut k = CashKpis {
        from,
        to,
        ..CashKpis::default()
    };
    // The application in effect of each receipt (undone ones are not in the snapshot).
    let mut how: HashMap<u32, (bool, i32)> = HashMap::new();
    for row in &snap.cash {
        if row.receipt != u32::MAX && row.kind == CASH_APPLY {
            how.insert(row.receipt, (row.author == 0, row.day));
        }
    }
    let rc = &snap.receipts;
    for r in 0..rc.day.len() {
        let (day, amount, state, decided) = (rc.day[r], rc.amount[r], rc.state[r], rc.decided[r]);
        if day > to {
            continue;
        }
        let decided_by_end = state != RECEIPT_OPEN && decided <= to;
        if day >= from {
            k.receipts += 1;
            k.receipts_amount += amount;
            if decided_by_end {
                if state == RECEIPT_APPLIED {
                    let auto = how.get(&(r as u32)).is_some_and(|h| h.0);
                    if auto {
                        k.auto += 1;
                        k.auto_amount += amount;
                    } else {
                        k.manual += 1;
                        k.manual_amount += amount;
                    }
                } else {
                    k.not_customer += 1;
                }
                for (w, lim) in k.within.iter_mut().zip([1, 3, 7]) {
                    if decided - day <= lim {
                        *w += 1;
                    }
                }
            }
        }
        if !decided_by_end {
            k.unapplied += 1;
            k.unapplied_amount += amount;
            let age = to - day;
            let b = AGE_BUCKETS.iter().position(|&l| age <= l).unwrap_or(3);
            k.unapplied_age[b] += amount;
        }
        let waiting_at_start = day < from && (state == RECEIPT_OPEN || decided >= from);
        if waiting_at_start {
            k.opening_unapplied += amount;
            if state == RECEIPT_APPLIED && decided <= to {
                k.opening_matched += amount;
            }
        }
    }
    let mut users: Vec<(String, u64, u64)> = Vec::new();
    for row in &snap.cash {
        if row.author == 0 || row.day < from || row.day > to {
            continue;
        }
        let name = snap.agents.value(row.author).to_string();
        let at = match users.iter().position(|u| u.0 == name) {
            Some(p) => p,
            None => {
                users.push((name, 0, 0));
                users.len() - 1
            }
        };
        match row.kind {
            CASH_APPLY | CASH_NOT_CUSTOMER => users[at].1 += 1,
            CASH_UNDO | CASH_RETURNED => users[at].2 += 1,
            _ => {}
        }
    }
    users.sort();
    k.by_user = users;
    k
}

/// Receipts waiting for a decision as of `day` (booked by then, still open), oldest first.
pub fn waiting(snap: &Snapshot, day: i32) -> Vec<u32> {
    let rc = &snap.receipts;
    let mut v: Vec<u32> = (0..rc.day.len() as u32)
        .filter(|&r| rc.state[r as usize] == RECEIPT_OPEN && rc.day[r as usize] <= day)
        .collect();
    v.sort_by_key(|&r| (rc.day[r as usize], r));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creditor_references_round_trip_and_check() {
        // The example of ISO 11649.
        assert_eq!(
            parse_creditor_reference("RF18 5390 0754 7034").as_deref(),
            Some("539007547034")
        );
        assert_eq!(parse_creditor_reference("RF18 5390 0754 7035"), None);
        assert_eq!(
            creditor_reference("539007547034").as_deref(),
            Some("RF18539007547034")
        );
        let r = invoice_reference("F-2024/0012").unwrap();
        assert_eq!(parse_creditor_reference(&r).as_deref(), Some("F20240012"));
        assert_eq!(creditor_reference(&"9".repeat(22)), None);
    }

    #[test]
    fn keys_and_names() {
        assert_eq!(normal("inv-2024/00123"), "INV202400123");
        assert_eq!(digit_key("F-000230875"), Some(230875));
        assert_eq!(digit_key("AB12"), None);
        assert_eq!(normal_name("Akretion S.A.S."), "AKRETION");
        assert!(one_edit(b"F230875", b"F230876"));
        assert!(one_edit(b"F230875", b"F23875"));
        assert!(!one_edit(b"F230875", b"F231876"));
    }

    #[test]
    fn undone_applications_are_dropped() {
        use crate::ledger::*;
        let cash = |id: &str, decision| {
            Event::Cash(CashRec {
                receipt_id: id.into(),
                date: crate::Day(10),
                decision,
                rule: "manual".into(),
                confidence: 100,
                author: None,
            })
        };
        let apply = || Decision::Apply {
            customer_id: "C".into(),
            invoices: vec![],
            write_off: 0,
        };
        let mut v = vec![
            cash("R1", apply()),
            cash("R2", apply()),
            cash("R1", Decision::Undo),
            cash("R1", apply()),
            cash("R2", Decision::Returned),
        ];
        drop_undone(&mut v);
        let kinds: Vec<(String, bool)> = v
            .iter()
            .map(|e| match e {
                Event::Cash(c) => (
                    c.receipt_id.clone(),
                    matches!(c.decision, Decision::Apply { .. }),
                ),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("R1".into(), false),
                ("R1".into(), true),
                ("R2".into(), false)
            ]
        );
    }
}
