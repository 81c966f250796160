//! Cash application, once for every shell: bank statements in, the matching engine's confident
//! proposals applied at once, the review queue with its candidates, a person's decisions
//! (accept, choose invoices, leave on a customer's account, not a customer receipt, undo) and the
//! KPIs of the work.

use crate::view::{FastError, Views};
use crate::{Author, Lang};
use arpilot_core::cash::{self, MatchConfig, Matcher, Proposal, Reason, Remit};
use arpilot_core::ledger::{CashRec, Decision, Event, ReceiptRec};
use arpilot_core::money::format_minor;
use arpilot_core::snapshot::{RECEIPT_OPEN, SRC_PAYMENT};
use arpilot_core::{Currency, Day, LedgerError, Snapshot};
use arpilot_ingest::IngestError;
use arpilot_ingest::bank::{self, BankLine, Kind};
use arpilot_store::{LedgerStore, NewBatch, StoreError};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// Settings of cash application (from the ledger's settings, or the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CashSettings {
    /// Apply confident proposals at once (`--no-auto` only queues them).
    pub auto: bool,
    pub config: MatchConfig,
}

impl Default for CashSettings {
    fn default() -> Self {
        CashSettings {
            auto: true,
            config: MatchConfig::default(),
        }
    }
}

impl CashSettings {
    /// The settings stored under `cash.auto_threshold` and `cash.write_off_max` (minor units).
    pub fn from_settings(settings: &[(String, String)]) -> CashSettings {
        let mut s = CashSettings::default();
        for (k, v) in settings {
            match k.as_str() {
                "cash.auto_threshold" => {
                    if let Ok(t) = v.parse::<u8>() {
                        s.config.auto_threshold = t.min(101);
                    }
                }
                "cash.write_off_max" => {
                    if let Ok(w) = v.parse::<i64>() {
                        s.config.write_off_max = w.clamp(0, arpilot_core::money::MAX_AMOUNT);
                    }
                }
                _ => {}
            }
        }
        s
    }
}

/// An amount as people type it: "14 519,64" (French), "14519.64" (the API). Spaces and the
/// decimal comma are accepted; signs, exponents and thousands separators other than spaces are
/// not.
pub fn parse_amount(v: &str, decimals: u8) -> Result<i64, arpilot_core::money::MoneyError> {
    let t: String = v
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    arpilot_core::money::parse_minor(&t, decimals)
}

/// Why a cash operation was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CashError {
    #[error(transparent)]
    Read(#[from] IngestError),
    /// The decision or receipt cannot enter the ledger: the field and what was expected.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("no receipt or payment {0:?} waiting for application")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CashError {
    fn ledger(e: LedgerError) -> CashError {
        CashError::Invalid {
            field: e.column().unwrap_or("receipt_id").to_string(),
            message: e.to_string(),
        }
    }
}

/// The id of a statement line: a hash of what identifies it at the bank (account, dates,
/// amount, references, text), plus its rank among identical lines of the same file. The same
/// statement imported twice, or two statements overlapping, give the same ids.
pub fn receipt_id(l: &BankLine, rank: u32) -> String {
    let mut h = Sha256::new();
    for part in [
        l.account.as_deref().unwrap_or(""),
        &l.date.to_string(),
        &l.amount.to_string(),
        l.currency.code(),
        l.bank_ref.as_deref().unwrap_or(""),
        l.end_to_end.as_deref().unwrap_or(""),
        l.creditor_ref.as_deref().unwrap_or(""),
        l.payer_iban.as_deref().unwrap_or(""),
        l.payer_name.as_deref().unwrap_or(""),
        &l.remittance,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let hex: String = d[..10].iter().map(|b| format!("{b:02x}")).collect();
    if rank == 0 {
        format!("BNK-{hex}")
    } else {
        format!("BNK-{hex}-{}", rank + 1)
    }
}

fn clip(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((k, _)) => s[..k].to_string(),
        None => s.to_string(),
    }
}

fn receipt_of(l: &BankLine, id: String) -> ReceiptRec {
    let opt = |s: &Option<String>, max: usize| {
        s.as_deref().map(|v| clip(v, max)).filter(|v| !v.is_empty())
    };
    let text = clip(&l.remittance, arpilot_core::bounds::MAX_NOTE_CHARS);
    ReceiptRec {
        id,
        date: l.date,
        amount: l.amount,
        currency: Some(l.currency),
        payer_name: opt(&l.payer_name, arpilot_core::bounds::MAX_TEXT_CHARS),
        payer_iban: opt(&l.payer_iban, arpilot_core::bounds::MAX_ID_CHARS),
        remittance: (!text.is_empty()).then_some(text),
        creditor_ref: opt(&l.creditor_ref, arpilot_core::bounds::MAX_ID_CHARS),
        bank_ref: opt(&l.bank_ref, arpilot_core::bounds::MAX_TEXT_CHARS),
        account: opt(&l.account, arpilot_core::bounds::MAX_ID_CHARS),
    }
}

/// What importing a statement did.
#[derive(Clone, Debug, Default, serde::Serialize, schemars::JsonSchema)]
pub struct StatementOutcome {
    pub source: String,
    pub format: String,
    /// The batch written, or `None` when nothing was new.
    pub batch: Option<i64>,
    /// Entries read (credits and debits).
    pub lines: u64,
    /// Credits read.
    pub credits: u64,
    /// New receipts (credits not imported before).
    pub receipts: u64,
    pub receipts_amount: i64,
    /// Credits already in the ledger.
    pub already: u64,
    /// Returned payments that cancelled a receipt.
    pub returned: u64,
    /// Receipts applied at once, and their amount.
    pub applied: u64,
    pub applied_amount: i64,
    /// Receipts left for review.
    pub queued: u64,
    pub warnings: Vec<String>,
}

/// The bank statement at `path`, if it is one.
pub fn sniff(path: &Path) -> bool {
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| {
            use std::io::Read;
            f.read(&mut head)
        })
        .unwrap_or(0);
    !path.is_dir() && bank::sniff(&head[..n]).is_some()
}

/// The views' snapshot (a server) or the stored ledger read whole (a command), with the store's
/// position it holds.
async fn snapshot_of(
    views: Option<&Views>,
    store: &impl LedgerStore,
) -> Result<(std::sync::Arc<Snapshot>, i64), StoreError> {
    match views {
        Some(v) => {
            v.refresh(store).await?;
            Ok(v.current_at())
        }
        None => {
            let v = crate::view::load(store, None, None).await?;
            Ok((std::sync::Arc::new(v.snapshot), v.last_seq))
        }
    }
}

/// Imports the bank statement at `path`: its credits become receipts (those already imported
/// are skipped), a returned payment cancels the receipt it returns, and with `settings.auto` the
/// engine's confident proposals are applied in the same batch; the rest waits for review.
pub async fn import_statement(
    store: &impl LedgerStore,
    views: Option<&Views>,
    path: &Path,
    shown_name: &str,
    author: &Author,
    settings: CashSettings,
) -> Result<StatementOutcome, CashError> {
    let Some((kind, lines)) = bank::read_file(path)? else {
        return Err(CashError::Read(IngestError::File {
            file: path.to_path_buf(),
            message: "not a bank statement (expected camt.053/054, CFONB 120, MT940 or OFX)".into(),
        }));
    };
    let sha = arpilot_ingest::source::sha256(&[path.to_path_buf()])?;
    import_lines(
        store, views, kind, lines, shown_name, sha, path, author, settings,
    )
    .await
}

/// [`import_statement`] of an uploaded file, named as the user named it; `None` when the bytes
/// are not a bank statement.
pub async fn import_statement_bytes(
    store: &impl LedgerStore,
    views: Option<&Views>,
    name: &str,
    bytes: &[u8],
    author: &Author,
    settings: CashSettings,
) -> Option<Result<StatementOutcome, CashError>> {
    let kind = bank::sniff(&bytes[..bytes.len().min(4096)])?;
    let file = Path::new(name);
    let lines = match bank::read(kind, bytes, file) {
        Ok(l) => l,
        Err(e) => return Some(Err(e.into())),
    };
    let sha: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(import_lines(store, views, kind, lines, name, sha, file, author, settings).await)
}

#[allow(clippy::too_many_arguments)]
async fn import_lines(
    store: &impl LedgerStore,
    views: Option<&Views>,
    kind: Kind,
    lines: Vec<BankLine>,
    shown_name: &str,
    sha: String,
    path: &Path,
    author: &Author,
    settings: CashSettings,
) -> Result<StatementOutcome, CashError> {
    let mut out = StatementOutcome {
        source: shown_name.to_string(),
        format: kind.name().to_string(),
        lines: lines.len() as u64,
        ..StatementOutcome::default()
    };
    let stored_currency = crate::view::stored_currency(store).await?;
    let (snap, position) = snapshot_of(views, store).await?;
    let currency = stored_currency
        .or_else(|| lines.first().map(|l| l.currency))
        .unwrap_or(Currency::EUR);
    let row_err = |l: &BankLine, message: String| {
        CashError::Read(IngestError::Row {
            file: path.to_path_buf(),
            line: l.line,
            message,
        })
    };
    // Receipts, ranked among identical lines.
    let mut ranks: HashMap<String, u32> = HashMap::new();
    let mut receipts: Vec<ReceiptRec> = Vec::new();
    let mut returns: Vec<&BankLine> = Vec::new();
    for l in &lines {
        if l.amount > 0 {
            out.credits += 1;
            if l.currency != currency {
                return Err(row_err(
                    l,
                    format!(
                        "credit in {}: the ledger is kept in {currency} (expected a statement of an account in {currency})",
                        l.currency
                    ),
                ));
            }
            let base = receipt_id(l, 0);
            let rank = ranks.entry(base).or_insert(0);
            let id = receipt_id(l, *rank);
            *rank += 1;
            if snap.receipts.ids.find(&id).is_some() {
                out.already += 1;
                continue;
            }
            receipts.push(receipt_of(l, id));
        } else if l.reversal && l.amount < 0 {
            returns.push(l);
        }
    }
    let mut events: Vec<Event> = receipts.iter().cloned().map(Event::Receipt).collect();
    // Checked on a copy of the ledger that takes the new events.
    let mut work = (*snap).clone();
    drop(snap);
    if let Err(e) = work.append(events.iter().cloned()) {
        let r = &receipts[e.index];
        let line = lines
            .iter()
            .find(|l| l.date == r.date && l.amount == r.amount)
            .map_or(0, |l| l.line);
        return Err(CashError::Read(IngestError::Row {
            file: path.to_path_buf(),
            line,
            message: e.error.to_string(),
        }));
    }
    // A returned payment cancels the latest receipt of the same amount it can be tied to
    // (same end-to-end id or bank reference when the bank repeats them, else the same amount).
    let today = lines.iter().map(|l| l.date).max().unwrap_or(Day(0));
    for l in returns {
        let amount = -l.amount;
        let rc = &work.receipts;
        let candidate = |r: &usize| {
            rc.amount[*r] == amount
                && rc.day[*r] <= l.date.0
                && rc.state[*r] != arpilot_core::snapshot::RECEIPT_RETURNED
        };
        let same_ref = |r: &usize| {
            let i = &rc.info[*r];
            (l.bank_ref.is_some() && i.bank_ref == l.bank_ref)
                || i.bank_ref
                    .as_deref()
                    .is_some_and(|b| b.len() >= 6 && l.remittance.contains(b))
                || (i.payer_iban.is_some() && i.payer_iban == l.payer_iban)
        };
        let found = (0..rc.day.len())
            .rev()
            .find(|r| candidate(r) && same_ref(r))
            .or_else(|| (0..rc.day.len()).rev().find(candidate));
        match found {
            Some(r) => {
                let ev = Event::Cash(CashRec {
                    receipt_id: rc.ids.get(r as u32).to_string(),
                    date: l.date,
                    decision: Decision::Returned,
                    rule: "manual".into(),
                    confidence: 100,
                    author: Some(author.user.clone()),
                });
                match work.append([ev.clone()]) {
                    Ok(_) => {
                        events.push(ev);
                        out.returned += 1;
                    }
                    Err(e) if matches!(e.error, LedgerError::Rebuild(_)) => {
                        // Applied already: the return takes it back when the ledger is read again.
                        events.push(ev);
                        out.returned += 1;
                    }
                    Err(e) => return Err(row_err(l, e.error.to_string())),
                }
            }
            None => out.warnings.push(format!(
                "{}, line {}: returned payment of {} without its receipt in the ledger: not applied",
                shown_name,
                l.line,
                format_minor(amount, l.currency.decimals())
            )),
        }
    }
    out.receipts = receipts.len() as u64;
    out.receipts_amount = receipts.iter().map(|r| r.amount).sum();
    if settings.auto && !receipts.is_empty() {
        let ids: Vec<u32> = receipts
            .iter()
            .filter_map(|r| work.receipts.ids.find(&r.id))
            .collect();
        let decided = plan_auto(&work, &ids, &[], today, settings.config);
        for ev in &decided {
            if let Event::Cash(CashRec {
                decision: Decision::Apply { invoices, .. },
                ..
            }) = ev
            {
                out.applied += 1;
                out.applied_amount += invoices.iter().map(|x| x.1).sum::<i64>();
            }
        }
        work.append(decided.iter().cloned())
            .map_err(|e| CashError::ledger(e.error))?;
        events.extend(decided);
    }
    out.queued = out.receipts - out.applied;
    if events.is_empty() {
        return Ok(out);
    }
    drop(work);
    let mut batch = NewBatch::for_import(
        shown_name.to_string(),
        sha,
        kind.name(),
        author.entity.clone(),
        author.user.clone(),
    );
    batch.counts.rows_read = out.lines as i64;
    batch.counts.appended = events.len() as i64;
    batch.warnings = out.warnings.iter().map(|w| (None, w.clone())).collect();
    let code = currency.code().to_string();
    let meta: Vec<(&str, &str)> = if stored_currency.is_none() {
        vec![("currency", code.as_str())]
    } else {
        vec![]
    };
    out.batch = Some(
        store
            .append(&batch, &meta, &events, position, &|_| {})
            .await?,
    );
    if let Some(v) = views {
        v.refresh(store).await?;
    }
    Ok(out)
}

/// The engine's confident decisions for receipts `receipts` (rows) and payments `payments`
/// (source rows with cash left), in this order, each seeing what the earlier ones used.
pub fn plan_auto(
    snap: &Snapshot,
    receipts: &[u32],
    payments: &[u32],
    day: Day,
    cfg: MatchConfig,
) -> Vec<Event> {
    let mut m = Matcher::new(snap, day.0, cfg);
    let mut out = Vec::new();
    let targets = receipts
        .iter()
        .map(|&r| (true, r))
        .chain(payments.iter().map(|&s| (false, s)));
    for (is_receipt, row) in targets {
        let (id, remit) = remit_of(snap, is_receipt, row);
        let p = m.propose(&remit);
        if p.confidence >= cfg.auto_threshold
            && p.customer.is_some()
            && (!p.invoices.is_empty() || is_receipt)
            && let Some(ev) = cash::decision(snap, &id, &p, day.max(Day(remit.day)), None)
        {
            m.commit(&p);
            out.push(ev);
        }
    }
    out
}

/// What the engine reads of a receipt (`is_receipt`) or of a payment with cash left.
fn remit_of(snap: &Snapshot, is_receipt: bool, row: u32) -> (String, Remit<'_>) {
    if is_receipt {
        let info = &snap.receipts.info[row as usize];
        (
            info.id.clone(),
            Remit {
                amount: snap.receipts.amount[row as usize],
                day: snap.receipts.day[row as usize],
                payer_name: info.payer_name.as_deref(),
                payer_iban: info.payer_iban.as_deref(),
                remittance: info.remittance.as_deref(),
                creditor_ref: info.creditor_ref.as_deref(),
                customer: None,
            },
        )
    } else {
        let s = row as usize;
        (
            snap.sources.ids.get(row).to_string(),
            Remit {
                amount: snap.sources.remaining.get(s, snap.sources.amount[s]),
                day: snap.sources.day[s],
                customer: Some(snap.sources.customer[s]),
                ..Remit::default()
            },
        )
    }
}

/// Payments with cash left unapplied (as of the ledger's end), oldest first.
pub fn unapplied_payments(snap: &Snapshot) -> Vec<u32> {
    let s = &snap.sources;
    let mut v: Vec<u32> = s
        .remaining
        .nonzero(&s.amount)
        .filter(|&(k, left)| left > 0 && s.kind[k] == SRC_PAYMENT)
        .map(|(k, _)| k as u32)
        .collect();
    // Ties by payment id, not row: the order is the payments', however the view was read.
    v.sort_by(|&a, &b| (s.day[a as usize], s.ids.get(a)).cmp(&(s.day[b as usize], s.ids.get(b))));
    v
}

// ---------------------------------------------------------------------------------------------
// The review queue

/// An invoice shown in the queue.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct QueueInvoice {
    pub invoice_id: String,
    pub customer_id: String,
    pub customer_name: String,
    pub due_date: String,
    /// Open amount now (major units, text with the currency's decimals).
    pub open: String,
    /// Proposed amount to apply (empty for a candidate).
    pub apply: String,
}

/// A receipt (or a payment with cash left) waiting for a person.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct QueueItem {
    /// Receipt id (or payment id) to decide on.
    pub receipt_id: String,
    /// `receipt` (from a bank statement) or `payment` (cash left on a customer's account).
    pub kind: String,
    pub date: String,
    pub amount: String,
    pub payer_name: Option<String>,
    pub payer_iban: Option<String>,
    pub remittance: Option<String>,
    pub creditor_reference: Option<String>,
    pub bank_reference: Option<String>,
    /// The customer proposed, if any.
    pub customer_id: Option<String>,
    pub customer_name: Option<String>,
    /// The proposed allocation.
    pub proposal: Vec<QueueInvoice>,
    pub write_off: String,
    /// The rule that proposed it and its confidence (0–100).
    pub rule: String,
    pub confidence: u8,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// Other invoices to choose from.
    pub candidates: Vec<QueueInvoice>,
}

/// The review queue as of `day`: receipts not decided and, with `payments`, payments with cash
/// left, each with the engine's proposal and candidates. Largest first within a date… oldest
/// first, at most `limit`.
pub fn queue(
    snap: &Snapshot,
    day: Day,
    cfg: MatchConfig,
    lang: Lang,
    payments: bool,
    limit: usize,
) -> Vec<QueueItem> {
    let m = Matcher::new(snap, day.0, cfg);
    let dec = snap.currency.decimals();
    let money = |v: i64| format_minor(v, dec);
    let inv = |i: u32, apply: Option<i64>| {
        let c = snap.invoices.customer[i as usize];
        QueueInvoice {
            invoice_id: snap.invoices.ids.get(i).to_string(),
            customer_id: snap.customers.ids.get(c).to_string(),
            customer_name: snap.customers.names[c as usize].clone(),
            due_date: Day(snap.invoices.due[i as usize]).to_string(),
            open: money(m.open(i)),
            apply: apply.map(money).unwrap_or_default(),
        }
    };
    let mut targets: Vec<(bool, u32)> = cash::waiting(snap, day.0)
        .into_iter()
        .map(|r| (true, r))
        .collect();
    if payments {
        targets.extend(unapplied_payments(snap).into_iter().map(|s| (false, s)));
    }
    targets
        .into_iter()
        .take(limit)
        .map(|(is_receipt, row)| {
            let (id, remit) = remit_of(snap, is_receipt, row);
            let p = m.propose(&remit);
            let info = is_receipt.then(|| &snap.receipts.info[row as usize]);
            let customer = p.customer;
            QueueItem {
                receipt_id: id,
                kind: if is_receipt { "receipt" } else { "payment" }.into(),
                date: Day(remit.day).to_string(),
                amount: money(remit.amount),
                payer_name: info.and_then(|i| i.payer_name.clone()),
                payer_iban: info.and_then(|i| i.payer_iban.clone()),
                remittance: info.and_then(|i| i.remittance.clone()),
                creditor_reference: info.and_then(|i| i.creditor_ref.clone()),
                bank_reference: info.and_then(|i| i.bank_ref.clone()),
                customer_id: customer.map(|c| snap.customers.ids.get(c).to_string()),
                customer_name: customer.map(|c| snap.customers.names[c as usize].clone()),
                proposal: p.invoices.iter().map(|&(i, a)| inv(i, Some(a))).collect(),
                write_off: money(p.write_off),
                rule: p.rule.to_string(),
                confidence: p.confidence,
                reasons: p
                    .reasons
                    .iter()
                    .map(|r| reason_words(snap, r, lang))
                    .collect(),
                candidates: p
                    .candidates
                    .iter()
                    .filter(|i| !p.invoices.iter().any(|x| x.0 == **i))
                    .map(|&i| inv(i, None))
                    .collect(),
            }
        })
        .collect()
}

/// A reason of the engine in words.
pub fn reason_words(snap: &Snapshot, r: &Reason, lang: Lang) -> String {
    let inv = |i: &u32| snap.invoices.ids.get(*i).to_string();
    let cust = |c: &u32| snap.customers.names[*c as usize].clone();
    let money = |v: &i64| format_minor(*v, snap.currency.decimals());
    let fr = lang == Lang::Fr;
    match r {
        Reason::CreditorRefInvoice(i) => {
            if fr {
                format!("référence structurée (RF) de la facture {}", inv(i))
            } else {
                format!("structured reference (RF) of invoice {}", inv(i))
            }
        }
        Reason::CreditorRefCustomer(c) => {
            if fr {
                format!("référence structurée (RF) du relevé de {}", cust(c))
            } else {
                format!("structured reference (RF) of {}'s statement", cust(c))
            }
        }
        Reason::InvoiceNumber(i) => {
            if fr {
                format!("numéro de facture {} dans le libellé", inv(i))
            } else {
                format!("invoice number {} in the remittance text", inv(i))
            }
        }
        Reason::InvoiceNumberNear(i) => {
            if fr {
                format!(
                    "référence proche de la facture {} (faute de frappe ou tronquée)",
                    inv(i)
                )
            } else {
                format!("reference close to invoice {} (typo or truncated)", inv(i))
            }
        }
        Reason::AlreadyPaid(i) => {
            if fr {
                format!("la facture {} citée est déjà payée", inv(i))
            } else {
                format!("invoice {} quoted is already paid", inv(i))
            }
        }
        Reason::PayerIban(c) => {
            if fr {
                format!("IBAN du payeur connu : {}", cust(c))
            } else {
                format!("payer's IBAN known: {}", cust(c))
            }
        }
        Reason::PayerName(c) => {
            if fr {
                format!("nom du payeur : {}", cust(c))
            } else {
                format!("payer's name: {}", cust(c))
            }
        }
        Reason::OtherPayer(c) => {
            if fr {
                format!(
                    "payé par un autre client que {} (société du groupe ?)",
                    cust(c)
                )
            } else {
                format!("paid by another customer than {} (group company?)", cust(c))
            }
        }
        Reason::ExactAmount => {
            if fr {
                "montant égal au solde de la facture".into()
            } else {
                "amount equal to the invoice's open amount".into()
            }
        }
        Reason::Combination(n) => {
            if fr {
                format!("montant égal à {n} factures ensemble")
            } else {
                format!("amount equal to {n} invoices together")
            }
        }
        Reason::Shortfall(v) => {
            if fr {
                format!(
                    "écart de {} (frais bancaires ou escompte) passé en perte",
                    money(v)
                )
            } else {
                format!("short by {} (bank fees or discount), written off", money(v))
            }
        }
        Reason::Ambiguous => {
            if fr {
                "plusieurs factures du même montant : la plus ancienne".into()
            } else {
                "several invoices of this amount: the oldest".into()
            }
        }
        Reason::Overpaid(v) => {
            if fr {
                format!(
                    "{} de plus que les factures : laissé non affecté sur le client",
                    money(v)
                )
            } else {
                format!(
                    "{} more than the invoices: left unapplied on the customer",
                    money(v)
                )
            }
        }
        Reason::OldestFirst => {
            if fr {
                "affecté aux factures les plus anciennes".into()
            } else {
                "applied to the oldest invoices".into()
            }
        }
        Reason::Unidentified => {
            if fr {
                "payeur non identifié".into()
            } else {
                "payer not identified".into()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions

/// A person's decision on a receipt (or a payment with cash left).
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    /// The engine's proposal as it stands.
    Accept,
    /// These invoices and amounts of `customer_id` (choose, split), a write-off on the last.
    Apply {
        customer_id: String,
        invoices: Vec<(String, i64)>,
        write_off: i64,
    },
    /// Leave it unapplied on a customer's account.
    OnAccount { customer_id: String },
    /// Not a customer receipt.
    NotCustomer,
    /// Cancel the decision in effect.
    Undo,
}

/// What a decision wrote.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Decided {
    pub batch: i64,
    pub receipt_id: String,
    /// `apply`, `not_customer` or `undo`.
    pub decision: String,
    pub customer_id: Option<String>,
    /// Amount applied to invoices (major units).
    pub applied: String,
}

/// The decision event of `choice` on `id`, as of `day`, by `user`.
pub fn decision_event(
    snap: &Snapshot,
    id: &str,
    choice: &Choice,
    day: Day,
    user: &str,
    cfg: MatchConfig,
) -> Result<Event, CashError> {
    let is_receipt = snap.receipts.ids.find(id);
    let payment = snap
        .sources
        .ids
        .find(id)
        .filter(|&s| snap.sources.kind[s as usize] == SRC_PAYMENT);
    if is_receipt.is_none() && payment.is_none() {
        return Err(CashError::Unknown(id.to_string()));
    }
    let decided = |decision, rule: &str, confidence| {
        Event::Cash(CashRec {
            receipt_id: id.to_string(),
            date: day,
            decision,
            rule: rule.to_string(),
            confidence,
            author: Some(user.to_string()),
        })
    };
    Ok(match choice {
        Choice::Accept => {
            let (is_r, row) = match is_receipt {
                Some(r) => (true, r),
                None => (false, payment.unwrap_or(0)),
            };
            if is_r && snap.receipts.state[row as usize] != RECEIPT_OPEN {
                return Err(CashError::Unknown(id.to_string()));
            }
            let m = Matcher::new(snap, day.0, cfg);
            let (_, remit) = remit_of(snap, is_r, row);
            let p: Proposal = m.propose(&remit);
            let Some(ev) = cash::decision(snap, id, &p, day.max(Day(remit.day)), Some(user.into()))
            else {
                return Err(CashError::Invalid {
                    field: "customer_id".into(),
                    message: "the engine found no customer for this receipt (expected a customer chosen by you)".into(),
                });
            };
            ev
        }
        Choice::Apply {
            customer_id,
            invoices,
            write_off,
        } => decided(
            Decision::Apply {
                customer_id: customer_id.clone(),
                invoices: invoices.clone(),
                write_off: *write_off,
            },
            "manual",
            100,
        ),
        Choice::OnAccount { customer_id } => decided(
            Decision::Apply {
                customer_id: customer_id.clone(),
                invoices: Vec::new(),
                write_off: 0,
            },
            "manual",
            100,
        ),
        Choice::NotCustomer => decided(Decision::NotCustomer, "manual", 100),
        Choice::Undo => decided(Decision::Undo, "manual", 100),
    })
}

/// Records a person's decision, dated `author.effective` (checked against the ledger first;
/// nothing is written when it is refused). Undoing an application reads the ledger again without
/// it.
pub async fn decide(
    views: &Views,
    store: &impl LedgerStore,
    id: &str,
    choice: &Choice,
    author: &Author,
    source: &str,
    cfg: MatchConfig,
) -> Result<Decided, CashError> {
    let snap = views.current();
    let ev = decision_event(&snap, id, choice, author.effective, &author.user, cfg)?;
    drop(snap);
    let (decision, customer_id, applied) = match &ev {
        Event::Cash(CashRec {
            decision:
                Decision::Apply {
                    customer_id,
                    invoices,
                    ..
                },
            ..
        }) => (
            "apply",
            Some(customer_id.clone()),
            invoices.iter().map(|x| x.1).sum::<i64>(),
        ),
        Event::Cash(CashRec {
            decision: Decision::NotCustomer,
            ..
        }) => ("not_customer", None, 0),
        _ => ("undo", None, 0),
    };
    let batch = NewBatch::for_import(
        source.to_string(),
        String::new(),
        "cash",
        None,
        author.user.clone(),
    );
    let a = views
        .append_exact(store, &batch, vec![ev])
        .await
        .map_err(|e| match e {
            FastError::Refused { error, .. } => CashError::ledger(error),
            FastError::Store(e) => CashError::Store(e),
        })?;
    Ok(Decided {
        batch: a.batch_id,
        receipt_id: id.to_string(),
        decision: decision.into(),
        customer_id,
        applied: format_minor(applied, views.current().currency.decimals()),
    })
}

/// Runs the engine over everything waiting (receipts not decided and payments with cash left)
/// and applies its confident proposals as one batch. The number of decisions written.
pub async fn run(
    store: &impl LedgerStore,
    views: Option<&Views>,
    day: Option<Day>,
    author: &Author,
    cfg: MatchConfig,
) -> Result<(usize, Option<i64>), CashError> {
    let (snap, position) = snapshot_of(views, store).await?;
    let day = day.unwrap_or_else(|| {
        let last = snap.receipts.day.iter().copied().max().unwrap_or(0);
        Day(last)
    });
    let receipts = cash::waiting(&snap, day.0);
    let payments = unapplied_payments(&snap);
    let events = plan_auto(&snap, &receipts, &payments, day, cfg);
    if events.is_empty() {
        return Ok((0, None));
    }
    let n = events.len();
    let batch = NewBatch::for_import(
        "cash application".into(),
        String::new(),
        "cash",
        author.entity.clone(),
        author.user.clone(),
    );
    drop(snap);
    let id = store
        .append(&batch, &[], &events, position, &|_| {})
        .await?;
    if let Some(v) = views {
        v.refresh(store).await?;
    }
    Ok((n, Some(id)))
}

// ---------------------------------------------------------------------------------------------
// KPIs

/// The cash-application KPIs of a period, as every shell shows them.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CashReport {
    pub from: String,
    pub to: String,
    pub currency: String,
    pub receipts: u64,
    pub receipts_amount: String,
    pub auto_matched: u64,
    pub auto_matched_amount: String,
    /// Share of receipts applied automatically, in lines and in amount (0–1).
    pub auto_rate: Option<f64>,
    pub auto_rate_amount: Option<f64>,
    pub manual_matched: u64,
    pub manual_matched_amount: String,
    pub not_customer: u64,
    /// Share of the period's receipts matched within 1, 3 and 7 days (0–1).
    pub matched_within_1_day: Option<f64>,
    pub matched_within_3_days: Option<f64>,
    pub matched_within_7_days: Option<f64>,
    /// Receipts waiting for application at the end of the period.
    pub unapplied: u64,
    pub unapplied_amount: String,
    /// Unapplied amount by age (days since booking): 0–7, 8–30, 31–90, over 90.
    pub unapplied_by_age: Vec<String>,
    /// Cash left on customers' accounts (payments not allocated) at the end of the period.
    pub on_account: String,
    /// Receipts waiting at the start of the period, the part applied during it, and the ratio
    /// ("taux de recouvrement des règlements non affectés").
    pub opening_unapplied: String,
    pub opening_matched: String,
    pub opening_recovery_rate: Option<f64>,
    pub by_user: Vec<CashUser>,
}

#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct CashUser {
    pub user: String,
    pub decisions: u64,
    pub undos: u64,
}

/// The KPIs of the period `from..=to`.
pub fn report(snap: &Snapshot, from: Day, to: Day) -> CashReport {
    let k = cash::kpis(snap, from.0, to.0);
    let dec = snap.currency.decimals();
    let money = |v: i64| format_minor(v, dec);
    let share = |n: u64| (k.receipts > 0).then(|| n as f64 / k.receipts as f64);
    let on_account: i64 = -snap.daily_all().cumulative().unapplied(to.0);
    CashReport {
        from: from.to_string(),
        to: to.to_string(),
        currency: snap.currency.to_string(),
        receipts: k.receipts,
        receipts_amount: money(k.receipts_amount),
        auto_matched: k.auto,
        auto_matched_amount: money(k.auto_amount),
        auto_rate: k.auto_rate(),
        auto_rate_amount: k.auto_amount_rate(),
        manual_matched: k.manual,
        manual_matched_amount: money(k.manual_amount),
        not_customer: k.not_customer,
        matched_within_1_day: share(k.within[0]),
        matched_within_3_days: share(k.within[1]),
        matched_within_7_days: share(k.within[2]),
        unapplied: k.unapplied,
        unapplied_amount: money(k.unapplied_amount),
        unapplied_by_age: k.unapplied_age.iter().map(|&v| money(v)).collect(),
        on_account: money(on_account),
        opening_unapplied: money(k.opening_unapplied),
        opening_matched: money(k.opening_matched),
        opening_recovery_rate: k.opening_recovery(),
        by_user: k
            .by_user
            .iter()
            .map(|(user, decisions, undos)| CashUser {
                user: user.clone(),
                decisions: *decisions,
                undos: *undos,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(k: u8, amount: i64, text: &str) -> BankLine {
        BankLine {
            line: k as u64 + 1,
            account: Some("FR7630006000011234567890189".into()),
            date: Day(19_700 + (k % 5) as i32),
            value_date: None,
            amount,
            currency: Currency::EUR,
            reversal: false,
            payer_name: Some(format!("Payer {}", k % 3)),
            payer_iban: None,
            remittance: text.into(),
            creditor_ref: None,
            bank_ref: k.is_multiple_of(2).then(|| format!("B{k}")),
            end_to_end: None,
        }
    }

    /// The ids of a statement's credits, ranked among identical lines as an import ranks them.
    fn ids(lines: &[BankLine]) -> Vec<String> {
        let mut ranks: HashMap<String, u32> = HashMap::new();
        lines
            .iter()
            .map(|l| {
                let rank = ranks.entry(receipt_id(l, 0)).or_insert(0);
                *rank += 1;
                receipt_id(l, *rank - 1)
            })
            .collect()
    }

    #[test]
    fn amounts_as_people_type_them() {
        assert_eq!(parse_amount("14 519,64", 2), Ok(1_451_964));
        assert_eq!(parse_amount("14\u{202f}519.64", 2), Ok(1_451_964));
        assert!(parse_amount("-3", 2).is_err());
        assert!(parse_amount("1,2,3", 2).is_err());
    }

    proptest::proptest! {
        /// Reading the same statement twice gives the same ids, distinct within the statement
        /// even for identical lines (two equal transfers the same day are two receipts); a line
        /// differing in anything the bank says gets another id. Importing again therefore adds
        /// nothing and loses nothing.
        #[test]
        fn receipt_ids_are_stable_and_distinct(
            spec in proptest::collection::vec((0u8..6, 1i64..5, 0usize..3), 1..40),
        ) {
            let texts = ["F230875", "VIR SEPA", ""];
            let lines: Vec<BankLine> =
                spec.iter().map(|&(k, a, t)| line(k, a * 100, texts[t])).collect();
            let first = ids(&lines);
            proptest::prop_assert_eq!(&first, &ids(&lines));
            let distinct: std::collections::HashSet<&String> = first.iter().collect();
            proptest::prop_assert_eq!(distinct.len(), lines.len());
            for (l, id) in lines.iter().zip(&first) {
                proptest::prop_assert!(id.len() <= arpilot_core::bounds::MAX_ID_CHARS);
                let mut other = l.clone();
                other.amount += 1;
                proptest::prop_assert_ne!(receipt_id(&other, 0), receipt_id(l, 0));
            }
        }
    }
}
