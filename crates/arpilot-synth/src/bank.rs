//! Bank statements of a generated ledger, for tests and benchmarks of cash application.
//!
//! With [`BankParams`], the payments the generator dates on or after `from` leave the ledger
//! (their invoices stay open, and nothing in the ledger refers to them) and arrive instead as
//! receipts on the company's bank account, in `statements/`:
//!
//! - `camt053.xml`: one camt.053.001.02 message, one `Stmt` per month of the period;
//! - `cfonb120.txt`: the same entries in CFONB 120, one 01…07 envelope per day with entries;
//! - `truth.csv`: one row per receipt: `bank_ref` (the camt `AcctSvcrRef`), `cfonb_ref` (the
//!   CFONB entry number), `date`, `amount`, `customer_id` (whose invoices it pays), `invoices`
//!   ("F0000123:100.00;F0000124:50.00", what it pays of each), `kind` (below), `kind_target`
//!   (the kind's target share) and `payer_id` (the customer whose name and IBAN it bears).
//!
//! Kinds of receipt, as shares of the receipts paying invoices (the `kind_target` column of
//! `truth.csv` repeats them). The shares are held within a receipt or two of the target (see
//! `Quota`) so that a small ledger already shows them:
//!
//! | kind | share | what arrives |
//! |---|---|---|
//! | `clean` | 58 % | the invoice number, in varied wording ("FACTURE F0000123", "f0000123", "F 0000123") |
//! | `rf` | 10 % | our ISO 11649 reference of the invoice (camt `CdtrRefInf`; in the text in CFONB) |
//! | `typo` | 6 % | the number with one digit changed or dropped |
//! | `truncated` | 4 % | the number's first 5 or 6 characters |
//! | `missing` | 8 % | no reference: the payer's name at most |
//! | `several` | 6 % | 2 to 4 invoices of the customer in one transfer |
//! | `partial` | 3 % | part of one invoice, with its number ("ACOMPTE F0000123") |
//! | `fees` | 3 % | one invoice less bank fees of 0.50 to 15.00, with its number |
//! | `sister` | 2 % | another customer of the same group pays, with its name and IBAN |
//!
//! A kind says what the payer wrote: an instalment of the ledger stays an instalment (an amount
//! below the invoice's) whatever its wording. A kind is only given to a receipt it fits
//! (`several` needs a transfer of several invoices in the ledger, `sister` a customer with a
//! sister company): on a small ledger without groups the other kinds share the missing points. Cash on account (a transfer of the ledger that pays no
//! invoice) arrives as kind `on_account`, outside these shares.
//!
//! Payers: the customer's name, sometimes upper-cased or with a legal form added, always without
//! accents (the SEPA character set); the customer's IBAN (85 % of customers have theirs in
//! `customers.csv`, the others pay from an account we do not know), missing from 10 % of the
//! lines. Every receipt pays at most what its invoices have open: what the ledger would have
//! applied, an overpayment's excess left out.

use crate::{Params, Rng, money};
use arpilot_core::Day;
use arpilot_core::cash::{invoice_reference, normal, normal_name};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::Path;

/// Bank statements to write with the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankParams {
    /// First day of the statement period: payments from this day on are bank receipts.
    pub from: Day,
}

impl BankParams {
    /// The statements of the last month of a history ending on `end`.
    pub fn last_month(end: Day) -> BankParams {
        BankParams {
            from: end.month_start(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Clean,
    Rf,
    Typo,
    Truncated,
    Missing,
    Several,
    Partial,
    Fees,
    Sister,
    OnAccount,
}

/// Target shares of the receipts paying invoices (see the module documentation).
const TARGETS: [(Kind, f64); 9] = [
    (Kind::Clean, 0.58),
    (Kind::Rf, 0.10),
    (Kind::Typo, 0.06),
    (Kind::Truncated, 0.04),
    (Kind::Missing, 0.08),
    (Kind::Several, 0.06),
    (Kind::Partial, 0.03),
    (Kind::Fees, 0.03),
    (Kind::Sister, 0.02),
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Clean => "clean",
            Kind::Rf => "rf",
            Kind::Typo => "typo",
            Kind::Truncated => "truncated",
            Kind::Missing => "missing",
            Kind::Several => "several",
            Kind::Partial => "partial",
            Kind::Fees => "fees",
            Kind::Sister => "sister",
            Kind::OnAccount => "on_account",
        }
    }

    fn target(self) -> Option<f64> {
        TARGETS.iter().find(|t| t.0 == self).map(|t| t.1)
    }
}

/// Chooses kinds so that their counts follow [`TARGETS`]: the kind furthest behind its target
/// among those the receipt fits, with noise so that the sequence is not periodic. Lags are
/// capped so that a kind impossible for a while does not then come in a burst.
#[derive(Default)]
struct Quota {
    picks: f64,
    counts: [f64; TARGETS.len()],
}

impl Quota {
    fn pick(&mut self, rng: &mut Rng, fits: impl Fn(Kind) -> bool) -> Kind {
        self.picks += 1.0;
        let mut best = (0, f64::MIN);
        for (k, &(kind, share)) in TARGETS.iter().enumerate() {
            if !fits(kind) {
                continue;
            }
            let lag = (share * self.picks - self.counts[k]).min(3.0);
            let score = lag + 1.5 * rng.f();
            if score > best.1 {
                best = (k, score);
            }
        }
        self.counts[best.0] += 1.0;
        TARGETS[best.0].0
    }
}

/// A customer as the bank sees it.
struct Party {
    id: String,
    name: String,
    group: String,
    /// Always set: customers without an IBAN on file still pay from an account.
    iban: String,
}

/// A payment of the ledger dated in the statement period.
struct Paid {
    day: i32,
    cust: u32,
    /// Its invoices in [`Bank::items`].
    items: Range<usize>,
    /// Cash on account: paying no invoice.
    unapplied: i64,
}

/// Collects the customers and the payments of the statement period while the ledger is
/// generated, then writes the statements. Its own generator keeps the ledger's stream as it is.
pub(crate) struct Bank {
    from: i32,
    end: i32,
    seed: u64,
    rng: Rng,
    parties: Vec<Party>,
    /// Normal names taken, to tell payers apart by name.
    names: HashSet<String>,
    paid: Vec<Paid>,
    /// (invoice number, amount) of the payments: "F0000123" is 123, as the ledger numbers them.
    items: Vec<(u64, i64)>,
}

const TOWNS: [&str; 30] = [
    "Lyon", "Lille", "Nantes", "Rennes", "Tours", "Brest", "Metz", "Nancy", "Dijon", "Reims",
    "Rouen", "Caen", "Pau", "Nice", "Annecy", "Grenoble", "Limoges", "Poitiers", "Angers",
    "Amiens", "Orleans", "Toulon", "Nimes", "Vannes", "Quimper", "Colmar", "Troyes", "Chartres",
    "Bayonne", "Valence",
];
/// French bank codes (the first five digits of the BBAN).
const BANKS: [&str; 8] = [
    "30004", "30003", "30002", "10278", "11306", "20041", "30066", "17515",
];
const SUPPLIERS: [&str; 8] = [
    "METALLERIE BERTRAND",
    "TRANSPORTS ROBIN",
    "EDF ENTREPRISES",
    "ORANGE BUSINESS",
    "PAPETERIES MARCHAND",
    "LOCATION FAURE",
    "INFORMATIQUE LEROY",
    "EMBALLAGES CARON",
];

impl Bank {
    pub(crate) fn new(p: &Params, b: BankParams) -> io::Result<Bank> {
        if b.from > p.end {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the bank statements start on {} (--bank-from), after the history ends on {}",
                    b.from, p.end
                ),
            ));
        }
        Ok(Bank {
            from: b.from.0,
            end: p.end.0,
            seed: p.seed,
            rng: Rng::new(p.seed ^ 0xBA4C_5747_E3E4_7501),
            parties: Vec::new(),
            names: HashSet::new(),
            paid: Vec::new(),
            items: Vec::new(),
        })
    }

    pub(crate) fn in_period(&self, day: i32) -> bool {
        day >= self.from
    }

    /// Registers a customer: its name, made distinct from the others' once normalised (a town
    /// added), and the IBAN column of `customers.csv` (empty for about 15 %).
    pub(crate) fn customer(&mut self, id: &str, name: String, group: &str) -> (String, String) {
        let key = |n: &str| normal_name(&fold(n));
        let mut name = name;
        if !self.names.insert(key(&name)) {
            let start = self.rng.next_u64() as usize % TOWNS.len();
            // Ends: each round of towns has a new number, and the names taken are finitely many.
            for k in 0.. {
                let town = TOWNS[(start + k) % TOWNS.len()];
                let candidate = match k / TOWNS.len() {
                    0 => format!("{name} ({town})"),
                    round => format!("{name} ({town} {})", round + 1),
                };
                if self.names.insert(key(&candidate)) {
                    name = candidate;
                    break;
                }
            }
        }
        let iban = customer_iban(&mut self.rng, self.parties.len() as u64);
        let on_file = if self.rng.chance(0.85) {
            iban.clone()
        } else {
            String::new()
        };
        self.parties.push(Party {
            id: id.to_string(),
            name: name.clone(),
            group: group.to_string(),
            iban,
        });
        (name, on_file)
    }

    /// Takes a payment dated in the statement period (true), or leaves it to the ledger (false).
    pub(crate) fn take(
        &mut self,
        cust: u32,
        day: i32,
        items: &[(&str, i64)],
        unapplied: i64,
    ) -> bool {
        if day < self.from {
            return false;
        }
        let start = self.items.len();
        for &(id, amount) in items {
            if let Some(n) = id.strip_prefix('F').and_then(|d| d.parse().ok())
                && amount > 0
            {
                self.items.push((n, amount));
            }
        }
        // A payment of nothing (a part of a few cents rounded away) has no receipt.
        if self.items.len() > start || unapplied > 0 {
            self.paid.push(Paid {
                day,
                cust,
                items: start..self.items.len(),
                unapplied,
            });
        }
        true
    }

    /// Writes `dir/statements/` and returns the number of receipts.
    pub(crate) fn finish(self, dir: &Path) -> io::Result<u64> {
        let Bank {
            from,
            end,
            seed,
            mut rng,
            parties,
            mut paid,
            items,
            ..
        } = self;
        for p in &mut paid {
            p.day = booking_day(p.day, from, end);
        }
        paid.sort_by_key(|p| p.day);
        let mut groups: HashMap<&str, Vec<u32>> = HashMap::new();
        for (k, c) in parties.iter().enumerate() {
            if !c.group.is_empty() {
                groups.entry(&c.group).or_default().push(k as u32);
            }
        }
        // Receipts: each payment's invoices one by one, or several in one for `several`.
        let mut entries: Vec<Entry> = Vec::with_capacity(paid.len() + paid.len() / 4);
        let mut parts: Vec<(u64, i64)> = Vec::with_capacity(items.len());
        let mut quota = Quota::default();
        for p in &paid {
            let sisters: Vec<u32> = groups
                .get(parties[p.cust as usize].group.as_str())
                .map(|g| g.iter().copied().filter(|&s| s != p.cust).collect())
                .unwrap_or_default();
            let receipt = |kind, payer, parts: Range<usize>, amount| Entry {
                day: p.day,
                amount,
                what: What::Receipt {
                    cust: p.cust,
                    payer,
                    kind,
                    parts,
                },
            };
            if p.items.is_empty() {
                entries.push(receipt(Kind::OnAccount, p.cust, 0..0, p.unapplied));
                continue;
            }
            let mut rest = &items[p.items.clone()];
            while let Some(&(inv, open)) = rest.first() {
                let kind = quota.pick(&mut rng, |k| match k {
                    Kind::Several => rest.len() >= 2,
                    Kind::Partial => open >= 1_000,
                    Kind::Fees => open >= 2_000,
                    Kind::Sister => !sisters.is_empty(),
                    _ => true,
                });
                let start = parts.len();
                let mut payer = p.cust;
                let take = match kind {
                    Kind::Several => (rng.range(2, 4) as usize).min(rest.len()),
                    _ => 1,
                };
                match kind {
                    Kind::Partial => parts.push((inv, part_of(&mut rng, open))),
                    // Fees stay a small part of the invoice.
                    Kind::Fees => parts.push((inv, open - rng.range(50, 1_500).min(open / 10))),
                    Kind::Sister => {
                        payer = *rng.pick(&sisters);
                        parts.push((inv, open));
                    }
                    _ => parts.extend_from_slice(&rest[..take]),
                }
                rest = &rest[take..];
                let amount = parts[start..].iter().map(|x| x.1).sum();
                entries.push(receipt(kind, payer, start..parts.len(), amount));
            }
        }
        let receipts = entries.len() as u64;
        entries.extend(debits(&mut rng, from, end, &entries));
        // Stable: within a day, receipts come before the debits.
        entries.sort_by_key(|e| e.day);
        let ours = Account::new(&mut rng);
        let dir = dir.join("statements");
        fs::create_dir_all(&dir)?;
        let mut w = Writers {
            camt: BufWriter::with_capacity(1 << 20, File::create(dir.join("camt053.xml"))?),
            cfonb: BufWriter::with_capacity(1 << 20, File::create(dir.join("cfonb120.txt"))?),
            truth: BufWriter::with_capacity(1 << 20, File::create(dir.join("truth.csv"))?),
            account: ours,
            entry_no: 0,
        };
        writeln!(
            w.truth,
            "bank_ref,cfonb_ref,date,amount,customer_id,invoices,kind,kind_target,payer_id"
        )?;
        w.camt_head(seed, end)?;
        let mut balance = rng.range(5_000_000, 40_000_000);
        let (mut i, mut m0) = (0, from);
        let mut seq = 0;
        while m0 <= end {
            let m1 = Day(m0).month_end().0.min(end);
            let j = i + entries[i..].partition_point(|e| e.day <= m1);
            let month = &entries[i..j];
            seq += 1;
            w.camt_statement(seq, m0, m1, balance, month)?;
            let mut k = 0;
            while k < month.len() {
                let d = month[k].day;
                let l = k + month[k..].partition_point(|e| e.day == d);
                w.cfonb_balance("01", d - 1, balance)?;
                for e in &month[k..l] {
                    let t = texts(&mut rng, e, &parties, &parts);
                    w.entry(e, &t, &parties, &parts)?;
                    balance += e.amount;
                }
                w.cfonb_balance("07", d, balance)?;
                k = l;
            }
            w.camt.write_all(b"    </Stmt>\n")?;
            i = j;
            m0 = m1 + 1;
        }
        w.camt.write_all(b"  </BkToCstmrStmt>\n</Document>\n")?;
        for f in [&mut w.camt, &mut w.cfonb, &mut w.truth] {
            f.flush()?;
        }
        Ok(receipts)
    }
}

/// SEPA credits are booked on business days: a weekend moves to the Monday, or to the Friday at
/// the end of the period.
fn booking_day(d: i32, from: i32, end: i32) -> i32 {
    let wd = weekday(d);
    if wd < 5 {
        return d;
    }
    let (monday, friday) = (d + 7 - wd, d + 4 - wd);
    if monday <= end {
        monday
    } else if friday >= from {
        friday
    } else {
        d
    }
}

/// 0 for Monday … 6 for Sunday (day 0, 1970-01-01, was a Thursday).
fn weekday(d: i32) -> i32 {
    (d + 3).rem_euclid(7)
}

/// A down payment: 20 to 80 % of what is open, in round figures as people pay them.
fn part_of(rng: &mut Rng, open: i64) -> i64 {
    let raw = open * rng.range(20, 80) / 100;
    let unit = match raw {
        ..10_000 => 1,
        10_000..100_000 => 1_000,
        _ => 10_000,
    };
    let round = raw / unit * unit;
    if round > 0 { round } else { raw.max(1) }
}

/// One line of the statements.
struct Entry {
    day: i32,
    /// Signed: positive for money in.
    amount: i64,
    what: What,
}

enum What {
    Receipt {
        cust: u32,
        payer: u32,
        kind: Kind,
        /// The invoices paid, in the `parts` of [`Bank::finish`].
        parts: Range<usize>,
    },
    Debit(Debit),
}

#[derive(Clone, Copy)]
enum Debit {
    Supplier(usize),
    Urssaf,
    AccountFee,
    TransferFees,
}

/// The company's own payments, so that the statements are not receipts only: supplier
/// transfers on about a third of the business days, social charges mid-month, bank charges on
/// the month's last business day (the receipts of the month at 0.20 each).
fn debits(rng: &mut Rng, from: i32, end: i32, receipts: &[Entry]) -> Vec<Entry> {
    let mut per_month: HashMap<i32, i64> = HashMap::new();
    for e in receipts {
        *per_month.entry(Day(e.day).month_index()).or_default() += 1;
    }
    let mut out = Vec::new();
    for d in from..=end {
        let wd = weekday(d);
        if wd >= 5 {
            continue;
        }
        let debit = |amount: i64, what| Entry {
            day: d,
            amount: -amount,
            what: What::Debit(what),
        };
        if rng.chance(0.3) {
            let who = rng.next_u64() as usize % SUPPLIERS.len();
            out.push(debit(rng.range(30_000, 2_500_000), Debit::Supplier(who)));
        }
        let dom = Day(d).ymd().2;
        if dom == 15 || (wd == 0 && (16..=17).contains(&dom)) {
            out.push(debit(rng.range(800_000, 3_000_000), Debit::Urssaf));
        }
        let next = d + if wd == 4 { 3 } else { 1 };
        let month = Day(d).month_index();
        if Day(next).month_index() != month {
            out.push(debit(3_500, Debit::AccountFee));
            let n = per_month.get(&month).copied().unwrap_or(0);
            if n > 0 {
                out.push(debit(20 * n, Debit::TransferFees));
            }
        }
    }
    out
}

/// What an entry says besides its amount and date.
struct Texts {
    /// The bank's label (camt `AddtlNtryInf`, CFONB 04 label).
    label: String,
    /// Free remittance text, at most 140 characters.
    ustrd: String,
    creditor_ref: Option<String>,
    /// The other party: the payer of a receipt, the beneficiary of a transfer.
    party: Option<String>,
    iban: Option<String>,
    end_to_end: String,
}

fn invoice_id(n: u64) -> String {
    format!("F{n:07}")
}

/// The remittance of an entry, drawn as its kind says.
fn texts(rng: &mut Rng, e: &Entry, parties: &[Party], parts: &[(u64, i64)]) -> Texts {
    let (payer, kind, paid) = match &e.what {
        What::Receipt {
            payer,
            kind,
            parts: r,
            ..
        } => (&parties[*payer as usize], *kind, &parts[r.clone()]),
        What::Debit(d) => return debit_texts(rng, *d),
    };
    let name = payer_name(rng, &payer.name);
    let upper = name.to_ascii_uppercase();
    let id = paid.first().map_or_else(String::new, |p| invoice_id(p.0));
    let mut creditor_ref = None;
    let ustrd = match kind {
        Kind::Clean | Kind::Fees | Kind::Sister => clean_text(rng, &id, &upper),
        Kind::Rf => {
            creditor_ref = invoice_reference(&id);
            String::new()
        }
        Kind::Typo => {
            let typo = typo(rng, &id);
            clean_text(rng, &typo, &upper)
        }
        Kind::Truncated => {
            let cut = &id[..(rng.range(5, 6) as usize).min(id.len())];
            match rng.range(0, 2) {
                0 => cut.to_string(),
                1 => format!("FACT {cut}"),
                _ => format!("REGLEMENT {cut}"),
            }
        }
        Kind::Missing => match rng.range(0, 3) {
            0 => format!("VIR SEPA {upper}"),
            1 => format!("VIREMENT {upper}"),
            2 => "REGLEMENT FOURNISSEUR".to_string(),
            _ => String::new(),
        },
        Kind::Several => {
            let ids: Vec<String> = paid.iter().map(|p| invoice_id(p.0)).collect();
            let list = ids.join(*rng.pick(&["/", "+", ", ", " "]));
            match rng.range(0, 2) {
                0 => list,
                1 => format!("FACTURES {list}"),
                _ => format!("Reglement factures {list}"),
            }
        }
        Kind::Partial => match rng.range(0, 2) {
            0 => format!("ACOMPTE {id}"),
            1 => format!("ACOMPTE FACTURE {id}"),
            _ => format!("Acompte sur fact. {id}"),
        },
        Kind::OnAccount => match rng.range(0, 1) {
            0 => format!("VIR SEPA {upper}"),
            _ => "ACOMPTE SUR COMMANDE".to_string(),
        },
    };
    let iban = (!rng.chance(0.1)).then(|| payer.iban.clone());
    Texts {
        label: format!("VIR SEPA {upper}"),
        ustrd: ustrd.chars().take(140).collect(),
        creditor_ref,
        party: Some(name),
        iban,
        end_to_end: end_to_end(rng),
    }
}

/// Wordings of an invoice number written right.
fn clean_text(rng: &mut Rng, id: &str, payer: &str) -> String {
    match rng.range(0, 7) {
        0 => id.to_string(),
        1 => format!("FACTURE {id}"),
        2 => format!("Reglement fact. {id}"),
        3 => format!("REGLEMENT FACTURE N {id}"),
        4 => format!("facture {}", id.to_ascii_lowercase()),
        // "F 0000123": the prefix apart.
        5 => match id.split_at_checked(1) {
            Some((head, tail)) => format!("FACT {head} {tail}"),
            None => id.to_string(),
        },
        6 => format!("/INV/{id}"),
        _ => format!("{payer} PAIEMENT {id}"),
    }
}

/// The number with one digit changed or dropped (never the letter prefix).
fn typo(rng: &mut Rng, id: &str) -> String {
    let mut b: Vec<u8> = id.bytes().collect();
    if b.len() < 3 {
        return id.to_string();
    }
    let at = rng.range(1, b.len() as i64 - 1) as usize;
    if rng.chance(0.5) {
        b.remove(at);
    } else if b[at].is_ascii_digit() {
        b[at] = b'0' + (b[at] - b'0' + rng.range(1, 9) as u8) % 10;
    } else {
        b[at] = b'0';
    }
    b.into_iter().map(char::from).collect()
}

/// The payer's name as its bank sends it: without accents, sometimes upper-cased, sometimes
/// with a legal form the customer file does not have.
fn payer_name(rng: &mut Rng, name: &str) -> String {
    let mut s = fold(name);
    if rng.chance(0.35) {
        s = s.to_ascii_uppercase();
    }
    let has_form = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| matches!(w.to_ascii_uppercase().as_str(), "SA" | "SAS" | "SARL"));
    if !has_form && rng.chance(0.15) {
        s.push_str(if rng.chance(0.5) { " SARL" } else { " SAS" });
    }
    s.chars().take(70).collect()
}

/// "NOTPROVIDED" (the payer gave none) or an id of the payer's system.
fn end_to_end(rng: &mut Rng) -> String {
    if rng.chance(0.6) {
        "NOTPROVIDED".to_string()
    } else {
        format!("{:016X}", rng.next_u64())
    }
}

fn debit_texts(rng: &mut Rng, d: Debit) -> Texts {
    let (label, ustrd, party) = match d {
        Debit::Supplier(k) => (
            format!("VIR SEPA EMIS {}", SUPPLIERS[k]),
            "PAIEMENT FOURNISSEUR".to_string(),
            Some(SUPPLIERS[k].to_string()),
        ),
        Debit::Urssaf => (
            "PRLV SEPA URSSAF".to_string(),
            "COTISATIONS SOCIALES".to_string(),
            Some("URSSAF".to_string()),
        ),
        Debit::AccountFee => ("FRAIS TENUE DE COMPTE".to_string(), String::new(), None),
        Debit::TransferFees => (
            "COMMISSIONS VIREMENTS SEPA RECUS".to_string(),
            String::new(),
            None,
        ),
    };
    let end_to_end = match d {
        Debit::Supplier(_) | Debit::Urssaf => end_to_end(rng),
        _ => "NOTPROVIDED".to_string(),
    };
    Texts {
        label,
        ustrd,
        creditor_ref: None,
        party,
        iban: None,
        end_to_end,
    }
}

/// Latin letters without their accents, other characters outside ASCII as '?': what the SEPA
/// character set lets through.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'à' | 'â' | 'ä' | 'á' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' | 'í' => out.push('i'),
            'ô' | 'ö' | 'ó' => out.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => out.push('u'),
            'ç' => out.push('c'),
            'À' | 'Â' | 'Ä' | 'Á' => out.push('A'),
            'É' | 'È' | 'Ê' | 'Ë' => out.push('E'),
            'Î' | 'Ï' | 'Í' => out.push('I'),
            'Ô' | 'Ö' | 'Ó' => out.push('O'),
            'Ù' | 'Û' | 'Ü' | 'Ú' => out.push('U'),
            'Ç' => out.push('C'),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            c if c.is_ascii() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// A French IBAN: bank, desk, account number and RIB key (the BBAN), with its check digits.
fn french_iban(bank: &str, desk: &str, account: &str) -> String {
    let n = |s: &str| s.parse::<u64>().unwrap_or(0);
    let key = 97 - (89 * n(bank) + 15 * n(desk) + 3 * n(account)) % 97;
    let bban = format!("{bank}{desk}{account}{key:02}");
    // ISO 13616 check digits (the generated BBAN is digits only).
    let check = 98 - arpilot_core::cash::mod97(&format!("FR00{bban}")).unwrap_or(0);
    format!("FR{check:02}{bban}")
}

/// A customer's IBAN; the customer's position in the account number keeps them distinct (up to
/// a million customers).
fn customer_iban(rng: &mut Rng, k: u64) -> String {
    let bank = *rng.pick(&BANKS);
    let desk = format!("{:05}", rng.range(1, 99_999));
    // k scrambled (387 419 is prime to 10^6, so distinct customers keep distinct numbers).
    let account = format!(
        "{:05}{:06}",
        rng.range(0, 99_999),
        (k % 1_000_000 * 387_419 + 52_361) % 1_000_000
    );
    french_iban(bank, &desk, &account)
}

/// The company's account the statements are of.
struct Account {
    bank: &'static str,
    desk: String,
    number: String,
    iban: String,
}

impl Account {
    fn new(rng: &mut Rng) -> Account {
        let bank = "30004";
        let desk = format!("{:05}", rng.range(100, 3_000));
        let number = format!("000{:08}", rng.range(1, 99_999_999));
        let iban = french_iban(bank, &desk, &number);
        Account {
            bank,
            desk,
            number,
            iban,
        }
    }
}

struct Writers {
    camt: BufWriter<File>,
    cfonb: BufWriter<File>,
    truth: BufWriter<File>,
    account: Account,
    /// Entries written: the bank's references count them, so they are unique.
    entry_no: u64,
}

fn ddmmyy(d: i32) -> String {
    let (y, m, dd) = Day(d).ymd();
    format!("{dd:02}{m:02}{:02}", y.rem_euclid(100))
}

/// A CFONB amount: 14 characters, the last giving the last digit and the sign.
fn cfonb_amount(v: i64) -> String {
    let digits = format!("{:014}", v.unsigned_abs());
    let (head, last) = digits.split_at(13);
    let d = usize::from(last.as_bytes()[0] - b'0');
    let sign = if v >= 0 { b"{ABCDEFGHI" } else { b"}JKLMNOPQR" };
    format!("{head}{}", char::from(sign[d]))
}

/// Escapes the XML special characters.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Words of `s` in pieces of at most `width` characters, cut between words where it can.
fn pieces(s: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let mut word = word;
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            out.push(std::mem::take(&mut cur));
        }
        while word.len() > width {
            let (a, b) = word.split_at(width);
            out.push(a.to_string());
            word = b;
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Writers {
    fn camt_head(&mut self, seed: u64, end: i32) -> io::Result<()> {
        write!(
            self.camt,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n  <BkToCstmrStmt>\n    \
             <GrpHdr>\n      <MsgId>ARPILOT-{seed}-{}</MsgId>\n      \
             <CreDtTm>{}T06:00:00</CreDtTm>\n    </GrpHdr>\n",
            normal(&Day(end).to_string()),
            Day(end + 1)
        )
    }

    /// Opens the `Stmt` of days `m0..=m1`, with its balances and totals.
    fn camt_statement(
        &mut self,
        seq: u32,
        m0: i32,
        m1: i32,
        opening: i64,
        entries: &[Entry],
    ) -> io::Result<()> {
        let closing = opening + entries.iter().map(|e| e.amount).sum::<i64>();
        let (y, m, _) = Day(m0).ymd();
        write!(
            self.camt,
            "    <Stmt>\n      <Id>{y:04}{m:02}-{seq:03}</Id>\n      \
             <ElctrncSeqNb>{seq}</ElctrncSeqNb>\n      <CreDtTm>{}T06:00:00</CreDtTm>\n      \
             <FrToDt><FrDtTm>{}T00:00:00</FrDtTm><ToDtTm>{}T23:59:59</ToDtTm></FrToDt>\n      \
             <Acct><Id><IBAN>{}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n",
            Day(m1 + 1),
            Day(m0),
            Day(m1),
            self.account.iban
        )?;
        for (code, amount, day) in [("OPBD", opening, m0), ("CLBD", closing, m1)] {
            writeln!(
                self.camt,
                "      <Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>\
                 <Amt Ccy=\"EUR\">{}</Amt><CdtDbtInd>{}</CdtDbtInd><Dt><Dt>{}</Dt></Dt></Bal>",
                money(amount.abs()),
                if amount >= 0 { "CRDT" } else { "DBIT" },
                Day(day)
            )?;
        }
        let total = |credit: bool| {
            let v: Vec<i64> = entries
                .iter()
                .map(|e| e.amount)
                .filter(|&a| (a > 0) == credit)
                .collect();
            (v.len(), money(v.iter().map(|a| a.abs()).sum()))
        };
        let ((nc, sc), (nd, sd)) = (total(true), total(false));
        writeln!(
            self.camt,
            "      <TxsSummry><TtlCdtNtries><NbOfNtries>{nc}</NbOfNtries><Sum>{sc}</Sum>\
             </TtlCdtNtries><TtlDbtNtries><NbOfNtries>{nd}</NbOfNtries><Sum>{sd}</Sum>\
             </TtlDbtNtries></TxsSummry>"
        )
    }

    /// One CFONB record: the account's zones, then `fields` at their 1-based columns, each cut
    /// to its width.
    fn cfonb(&mut self, code: &str, fields: &[(usize, usize, &str)]) -> io::Result<()> {
        let mut r = [b' '; 120];
        let account = [
            (1, 2, code),
            (3, 5, self.account.bank),
            (12, 5, self.account.desk.as_str()),
            (17, 3, "EUR"),
            (20, 1, "2"),
            (22, 11, self.account.number.as_str()),
        ];
        for &(at, width, text) in account.iter().chain(fields) {
            for (k, c) in text.bytes().take(width).enumerate() {
                r[at - 1 + k] = if c.is_ascii_graphic() { c } else { b' ' };
            }
        }
        self.cfonb.write_all(&r)?;
        self.cfonb.write_all(b"\r\n")
    }

    /// The old (01) or new (07) balance record of a day.
    fn cfonb_balance(&mut self, code: &str, day: i32, balance: i64) -> io::Result<()> {
        self.cfonb(
            code,
            &[(35, 6, &ddmmyy(day)), (91, 14, &cfonb_amount(balance))],
        )
    }

    /// One entry in both statements and, for a receipt, its truth row.
    fn entry(
        &mut self,
        e: &Entry,
        t: &Texts,
        parties: &[Party],
        parts: &[(u64, i64)],
    ) -> io::Result<()> {
        self.entry_no += 1;
        let n = self.entry_no;
        let (y, m, d) = Day(e.day).ymd();
        let bank_ref = format!("{y:04}{m:02}{d:02}{n:08}");
        let entry_no = format!("{n:07}");
        let credit = e.amount > 0;
        self.camt_entry(e, t, &bank_ref)?;
        // CFONB: interbank codes 05 (transfer received) and 06 (transfer sent); charges none.
        let (internal, interbank) = match &e.what {
            What::Receipt { .. } => ("0117", "05"),
            What::Debit(Debit::Supplier(_)) => ("0106", "06"),
            What::Debit(Debit::Urssaf) => ("0150", "  "),
            What::Debit(_) => ("0180", "  "),
        };
        let date = ddmmyy(e.day);
        self.cfonb(
            "04",
            &[
                (8, 4, internal),
                (33, 2, interbank),
                (35, 6, &date),
                (43, 6, &date),
                (49, 31, &t.label),
                (82, 7, &entry_no),
                (91, 14, &cfonb_amount(e.amount)),
            ],
        )?;
        let complement = |qualifier: &'static str, text: String| (qualifier, text);
        let mut extra = Vec::new();
        if let Some(name) = &t.party
            && credit
        {
            extra.push(complement("NPY", name.clone()));
        }
        if let Some(iban) = &t.iban {
            extra.push(complement("IPY", iban.clone()));
        }
        // The structured reference goes in the text, where French banks put it.
        let text = match &t.creditor_ref {
            Some(r) if t.ustrd.is_empty() => r.clone(),
            Some(r) => format!("{r} {}", t.ustrd),
            None => t.ustrd.clone(),
        };
        for piece in pieces(&text, 70) {
            extra.push(complement("LIB", piece));
        }
        for (qualifier, text) in extra {
            let width = if qualifier == "IPY" { 35 } else { 70 };
            self.cfonb(
                "05",
                &[
                    (8, 4, internal),
                    (33, 2, interbank),
                    (35, 6, &date),
                    (46, 3, qualifier),
                    (49, width, &text),
                ],
            )?;
        }
        if let What::Receipt {
            cust,
            payer,
            kind,
            parts: r,
        } = &e.what
        {
            let invoices: Vec<String> = parts[r.clone()]
                .iter()
                .map(|&(inv, a)| format!("{}:{}", invoice_id(inv), money(a)))
                .collect();
            writeln!(
                self.truth,
                "{bank_ref},{entry_no},{},{},{},{},{},{},{}",
                Day(e.day),
                money(e.amount),
                parties[*cust as usize].id,
                invoices.join(";"),
                kind.name(),
                kind.target().map(|s| format!("{s:.2}")).unwrap_or_default(),
                parties[*payer as usize].id,
            )?;
        }
        Ok(())
    }

    fn camt_entry(&mut self, e: &Entry, t: &Texts, bank_ref: &str) -> io::Result<()> {
        let credit = e.amount > 0;
        let (family, sub) = match &e.what {
            What::Receipt { .. } => ("PMNT", "RCDT</Cd><SubFmlyCd>ESCT"),
            What::Debit(Debit::Supplier(_)) => ("PMNT", "ICDT</Cd><SubFmlyCd>ESCT"),
            What::Debit(Debit::Urssaf) => ("PMNT", "IDDT</Cd><SubFmlyCd>ESDD"),
            What::Debit(_) => ("ACMT", "MDOP</Cd><SubFmlyCd>CHRG"),
        };
        let w = &mut self.camt;
        write!(
            w,
            "      <Ntry>\n        <Amt Ccy=\"EUR\">{}</Amt>\n        \
             <CdtDbtInd>{}</CdtDbtInd>\n        <Sts>BOOK</Sts>\n        \
             <BookgDt><Dt>{day}</Dt></BookgDt>\n        <ValDt><Dt>{day}</Dt></ValDt>\n        \
             <AcctSvcrRef>{bank_ref}</AcctSvcrRef>\n        \
             <BkTxCd><Domn><Cd>{family}</Cd><Fmly><Cd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>\n        \
             <NtryDtls><TxDtls>\n          <Refs><EndToEndId>{}</EndToEndId></Refs>\n",
            money(e.amount.abs()),
            if credit { "CRDT" } else { "DBIT" },
            xml(&t.end_to_end),
            day = Day(e.day),
        )?;
        if t.party.is_some() || t.iban.is_some() {
            let role = if credit { "Dbtr" } else { "Cdtr" };
            w.write_all(b"          <RltdPties>")?;
            if let Some(name) = &t.party {
                write!(w, "<{role}><Nm>{}</Nm></{role}>", xml(name))?;
            }
            if let Some(iban) = &t.iban {
                write!(w, "<{role}Acct><Id><IBAN>{iban}</IBAN></Id></{role}Acct>")?;
            }
            w.write_all(b"</RltdPties>\n")?;
        }
        if let Some(r) = &t.creditor_ref {
            writeln!(
                w,
                "          <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry>\
                 <Issr>ISO</Issr></Tp><Ref>{r}</Ref></CdtrRefInf></Strd></RmtInf>"
            )?;
        } else if !t.ustrd.is_empty() {
            writeln!(
                w,
                "          <RmtInf><Ustrd>{}</Ustrd></RmtInf>",
                xml(&t.ustrd)
            )?;
        }
        writeln!(
            w,
            "        </TxDtls></NtryDtls>\n        <AddtlNtryInf>{}</AddtlNtryInf>\n      </Ntry>",
            xml(&t.label)
        )
    }
}
