//! Deterministic synthetic receivables ledgers, written as the default CSV ledger set.
//!
//! Customers have payment habits (from early payers to chronic late payers), sizes, regions,
//! sectors, collectors and credit limits. Invoices are paid in full, in parts, in batches covering
//! several invoices, with overpayments left unapplied, or as cash on account matched weeks later;
//! some get credit notes, disputes with reasons, promises to pay, collection actions, write-offs.
//! The same parameters and seed always write the same bytes. With [`Params::bank`], the last
//! payments arrive instead as bank statements to match (see [`bank`]).

pub mod bank;

pub use bank::BankParams;

use arpilot_core::Day;
use arpilot_core::money::format_minor;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// SplitMix64: tiny, fast and stable across versions (a dependency's generator could change
/// its output stream and with it every benchmark data set).
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }

    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.next_u64() as usize % v.len()]
    }
}

#[derive(Clone, Debug)]
pub struct Params {
    pub invoices: u64,
    pub seed: u64,
    /// Last day of the history.
    pub end: Day,
    pub months: u32,
    /// Customers; `None`: one per hundred invoices (at least 5).
    pub customers: Option<u64>,
    /// Entities (legal companies of the group) the customers are spread over.
    pub entities: u32,
    /// Share of the second entity's customers invoiced in US dollars (0: everything in euros).
    /// When above 0, `rates.csv` gives a USD rate for every month.
    pub usd_share: f64,
    /// Bank statements of the period starting at `from`, whose payments then leave the ledger
    /// (`None`: none, and the ledger is what it always was).
    pub bank: Option<BankParams>,
}

impl Params {
    pub fn new(invoices: u64, seed: u64) -> Params {
        Params {
            invoices,
            seed,
            end: Day::from_ymd(2026, 10, 31).expect("valid"),
            months: 24,
            customers: None,
            entities: 2,
            usd_share: 0.0,
            bank: None,
        }
    }
}

/// Row counts of what was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub customers: u64,
    pub invoices: u64,
    pub credit_notes: u64,
    pub write_offs: u64,
    pub payments: u64,
    pub allocations: u64,
    pub disputes: u64,
    pub promises: u64,
    pub actions: u64,
    /// Bank receipts in the statements (0 without [`Params::bank`]).
    pub receipts: u64,
}

const REGIONS: [&str; 6] = [
    "Nord",
    "Sud",
    "Est",
    "Ouest",
    "Île-de-France",
    "Auvergne-Rhône-Alpes",
];
const SECTORS: [&str; 6] = [
    "Industrie",
    "Distribution",
    "Services",
    "BTP",
    "Santé",
    "Transport",
];
const COLLECTORS: [&str; 4] = [
    "Camille Martin",
    "Julien Bernard",
    "Sophie Petit",
    "Hugo Moreau",
];
const SALES_REPS: [&str; 6] = [
    "Léa Dubois",
    "Thomas Laurent",
    "Inès Lefebvre",
    "Nathan Girard",
    "Chloé Roux",
    "Lucas Fournier",
];
const REASONS: [&str; 5] = ["prix", "qualité", "livraison", "quantité", "administratif"];
const NAME_A: [&str; 12] = [
    "Atelier",
    "Groupe",
    "Société",
    "Maison",
    "Comptoir",
    "Établissements",
    "Laboratoires",
    "Transports",
    "Boulangeries",
    "Imprimerie",
    "Garage",
    "Cabinet",
];
const NAME_B: [&str; 16] = [
    "Durand", "Lemoine", "Faure", "Rousseau", "Blanc", "Guerin", "Muller", "Henry", "Roussel",
    "Nicolas", "Perrin", "Morin", "Mathieu", "Clement", "Gauthier", "Dumont",
];
const NAME_C: [&str; 8] = [
    "SA",
    "SARL",
    "SAS",
    "& Fils",
    "Industries",
    "Distribution",
    "Services",
    "Frères",
];

struct Customer {
    id: String,
    /// Position in the customer list, as the bank statements know the customer.
    ix: u32,
    terms: i32,
    /// Mean days late and spread.
    late_mean: f64,
    late_spread: f64,
    /// Probability that an invoice is disputed.
    dispute_p: f64,
    amount_lo: f64,
    amount_hi: f64,
    weight: f64,
    /// Probability of paying an invoice within a grouped transfer.
    batch_p: f64,
    collector: &'static str,
    batch: Option<Batch>,
    /// Paid in US dollars, into another account than the euro statements'.
    usd: bool,
}

/// A grouped transfer being filled: first and last settlement day, invoices with amounts.
struct Batch {
    first: i32,
    last: i32,
    items: Vec<(String, i64)>,
}

struct Out {
    customers: BufWriter<File>,
    invoices: BufWriter<File>,
    payments: BufWriter<File>,
    allocations: BufWriter<File>,
    disputes: BufWriter<File>,
    promises: BufWriter<File>,
    actions: BufWriter<File>,
    bank: Option<bank::Bank>,
}

impl Out {
    /// True when the payment falls in the bank statement period: the bank statements receive it
    /// and the ledger must not. `unapplied` is cash on account paying no invoice.
    fn banked(&mut self, c: &Customer, day: i32, items: &[(&str, i64)], unapplied: i64) -> bool {
        // The statements are those of the euro account.
        !c.usd
            && self
                .bank
                .as_mut()
                .is_some_and(|b| b.take(c.ix, day, items, unapplied))
    }

    /// True on or after the first day of the bank statement period.
    fn in_period(&self, day: i32) -> bool {
        self.bank.as_ref().is_some_and(|b| b.in_period(day))
    }
}

fn writer(dir: &Path, name: &str, header: &str) -> io::Result<BufWriter<File>> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(dir.join(name))?);
    writeln!(w, "{header}")?;
    Ok(w)
}

fn money(cents: i64) -> String {
    format_minor(cents, 2)
}

/// Writes a ledger set into `dir` (created if needed).
pub fn generate(p: &Params, dir: &Path) -> io::Result<Summary> {
    fs::create_dir_all(dir)?;
    let bank = p.bank.map(|b| bank::Bank::new(p, b)).transpose()?;
    let customers_header = format!(
        "customer_id,name,group,entity,collector,sales_rep,region,sector,size,credit_limit,payment_terms_days,currency,siren,email,language{}",
        if bank.is_some() { ",iban" } else { "" }
    );
    let mut out = Out {
        customers: writer(dir, "customers.csv", &customers_header)?,
        invoices: writer(
            dir,
            "invoices.csv",
            "document_id,customer_id,type,issue_date,due_date,amount,original_invoice_id,in_legal",
        )?,
        payments: writer(
            dir,
            "payments.csv",
            "payment_id,customer_id,date,amount,invoice_id",
        )?,
        allocations: writer(dir, "allocations.csv", "source_id,invoice_id,date,amount")?,
        disputes: writer(
            dir,
            "disputes.csv",
            "invoice_id,opened_on,resolved_on,reason",
        )?,
        promises: writer(dir, "promises.csv", "invoice_id,promised_on,due_on,amount")?,
        actions: writer(
            dir,
            "actions.csv",
            "customer_id,date,kind,invoice_id,agent,outcome",
        )?,
        bank,
    };
    let mut rng = Rng::new(p.seed);
    let mut sum = Summary::default();
    let n_cust = p.customers.unwrap_or((p.invoices / 100).max(5)).max(1);
    let mut custs = Vec::with_capacity(n_cust as usize);
    for c in 0..n_cust {
        custs.push(make_customer(
            &mut rng,
            c,
            p,
            &mut out.customers,
            out.bank.as_mut(),
        )?);
        sum.customers += 1;
    }
    // Cumulative weights: big customers receive more invoices.
    let total_w: f64 = custs.iter().map(|c| c.weight).sum();
    let mut cdf = Vec::with_capacity(custs.len());
    let mut acc = 0.0;
    for c in &custs {
        acc += c.weight / total_w;
        cdf.push(acc);
    }
    let end = p.end.0;
    let start = p.end.month_end_offset(-(p.months as i32)).0 + 1;
    let span = (end - start + 1) as u64;
    let mut ids = Ids::default();
    for k in 0..p.invoices {
        let issue = start + (k * span / p.invoices.max(1)) as i32;
        let u = rng.f();
        let ci = cdf.partition_point(|&x| x < u).min(custs.len() - 1);
        invoice(
            &mut rng,
            &mut custs[ci],
            issue,
            end,
            &mut ids,
            &mut out,
            &mut sum,
        )?;
    }
    for c in &mut custs {
        flush_batch(c, &mut ids, &mut out, &mut sum)?;
    }
    // Cash on account that nobody has matched yet.
    for c in &custs {
        if !rng.chance(0.03) {
            continue;
        }
        let day = end - rng.range(0, 60) as i32;
        let id = ids.next("R");
        let amount = rng.range(10_000, 500_000);
        if out.banked(c, day, &[], amount) {
            continue;
        }
        writeln!(
            out.payments,
            "{id},{},{},{},",
            c.id,
            Day(day),
            money(amount)
        )?;
        sum.payments += 1;
    }
    for w in [
        &mut out.customers,
        &mut out.invoices,
        &mut out.payments,
        &mut out.allocations,
        &mut out.disputes,
        &mut out.promises,
        &mut out.actions,
    ] {
        w.flush()?;
    }
    if let Some(b) = out.bank.take() {
        sum.receipts = b.finish(dir)?;
    }
    if p.usd_share > 0.0 {
        // Euros per dollar on the first of each month, drifting between about 0.88 and 0.96.
        let mut w = writer(dir, "rates.csv", "date,currency,rate")?;
        let first = p.end.month_end_offset(-(p.months as i32)).add_days(1);
        for k in 0..=p.months as i32 {
            let d = first.month_end_offset(k - 1).add_days(1);
            let rate = 0.92 + 0.04 * ((k as f64) * 0.7).sin();
            writeln!(w, "{d},USD,{rate:.4}")?;
        }
        w.flush()?;
    }
    Ok(sum)
}

#[derive(Default)]
struct Ids {
    f: u64,
    r: u64,
    a: u64,
}

impl Ids {
    fn next(&mut self, prefix: &str) -> String {
        let n = match prefix {
            "F" => &mut self.f,
            "R" => &mut self.r,
            _ => &mut self.a,
        };
        *n += 1;
        format!("{prefix}{n:07}")
    }
}

fn make_customer(
    rng: &mut Rng,
    c: u64,
    p: &Params,
    w: &mut BufWriter<File>,
    bank: Option<&mut bank::Bank>,
) -> io::Result<Customer> {
    let size_roll = rng.f();
    let (size, lo, hi, weight, batch_p) = if size_roll < 0.65 {
        ("PME", 200.0, 6_000.0, 1.0, 0.3)
    } else if size_roll < 0.92 {
        ("ETI", 1_500.0, 40_000.0, 3.0, 0.6)
    } else {
        ("GE", 8_000.0, 150_000.0, 8.0, 0.8)
    };
    // Payment habit: A early/on time, B a little late, C late, D very late.
    let habit = rng.f();
    let (late_mean, late_spread) = if habit < 0.35 {
        (-3.0, 4.0)
    } else if habit < 0.70 {
        (8.0, 8.0)
    } else if habit < 0.90 {
        (28.0, 15.0)
    } else {
        (70.0, 35.0)
    };
    let terms = *rng.pick(&[30, 30, 45, 45, 60]);
    let id = format!("C{:06}", c + 1);
    let name = format!(
        "{} {} {}",
        rng.pick(&NAME_A),
        rng.pick(&NAME_B),
        rng.pick(&NAME_C)
    );
    let collector = *rng.pick(&COLLECTORS);
    let entity = format!("FR{:02}", 1 + rng.range(0, p.entities.max(1) as i64 - 1));
    let group = if rng.chance(0.15) {
        format!("G{:03}", rng.range(1, 40))
    } else {
        String::new()
    };
    // The bank needs payers told apart and their IBANs (its own generator: the ledger's draws
    // stay the same).
    let (name, iban) = match bank {
        Some(b) => {
            let (name, iban) = b.customer(&id, name, &group);
            (name, Some(iban))
        }
        None => (name, None),
    };
    let limit = ((hi * 4.0) as i64 / 1000 * 1000) * 100;
    // Drawn only when asked, so that euro-only ledgers stay identical for a seed; the first
    // customer stays in euros (the ledger's currency is the first one named).
    let currency = if p.usd_share > 0.0 && c > 0 && entity == "FR02" && rng.chance(p.usd_share) {
        "USD"
    } else {
        "EUR"
    };
    write!(
        w,
        "{id},\"{name}\",{group},{entity},{collector},{},{},{},{size},{},{terms},{currency},{:09},comptabilite@{}.example.com,{}",
        rng.pick(&SALES_REPS),
        rng.pick(&REGIONS),
        rng.pick(&SECTORS),
        money(limit),
        rng.range(100_000_000, 999_999_999),
        // Derived, not drawn: the ledger's figures stay those of a seed.
        id.to_lowercase(),
        if currency == "USD" { "en" } else { "fr" },
    )?;
    match iban {
        Some(iban) => writeln!(w, ",{iban}")?,
        None => writeln!(w)?,
    }
    Ok(Customer {
        id,
        ix: c as u32,
        terms,
        late_mean,
        late_spread,
        dispute_p: 0.01 + rng.f() * 0.06,
        amount_lo: lo,
        amount_hi: hi,
        weight,
        batch_p,
        collector,
        batch: None,
        usd: currency == "USD",
    })
}

#[allow(clippy::too_many_arguments)]
fn invoice(
    rng: &mut Rng,
    c: &mut Customer,
    issue: i32,
    end: i32,
    ids: &mut Ids,
    out: &mut Out,
    sum: &mut Summary,
) -> io::Result<()> {
    let id = ids.next("F");
    let due = issue + c.terms;
    let amount = {
        let x = c.amount_lo * (c.amount_hi / c.amount_lo).powf(rng.f());
        (x * 100.0) as i64
    };
    // Payment date from the customer's habit (triangular noise around the mean).
    let noise = (rng.f() + rng.f() - 1.0) * c.late_spread;
    let mut settle = due + (c.late_mean + noise).round() as i32;
    settle = settle.max(issue + 1);
    let never = rng.chance(0.012);
    // Dispute: payment waits for the resolution.
    if rng.chance(c.dispute_p) {
        let opened = issue + rng.range(5, 40) as i32;
        if opened <= end {
            let resolved = opened + rng.range(7, 90) as i32;
            let res = if resolved <= end {
                settle = settle.max(resolved + rng.range(2, 15) as i32);
                Day(resolved).to_string()
            } else {
                settle = settle.max(resolved);
                String::new()
            };
            writeln!(
                out.disputes,
                "{id},{},{res},{}",
                Day(opened),
                rng.pick(&REASONS)
            )?;
            sum.disputes += 1;
        }
    }
    let unpaid_at_end = never || settle > end;
    let in_legal = never && end - due > 120 && rng.chance(0.4);
    writeln!(
        out.invoices,
        "{id},{},invoice,{},{},{},,{}",
        c.id,
        Day(issue),
        Day(due),
        money(amount),
        if in_legal { "true" } else { "false" }
    )?;
    sum.invoices += 1;
    let mut owed = amount;
    // Credit note on about 3 % of invoices.
    if rng.chance(0.03) {
        let cn_day = issue + rng.range(3, 40) as i32;
        if cn_day <= end {
            let cn = (amount as f64 * (0.1 + 0.9 * rng.f())) as i64;
            let cn = cn.max(1);
            let cid = ids.next("A");
            writeln!(
                out.invoices,
                "{cid},{},credit_note,{},,{},{id},false",
                c.id,
                Day(cn_day),
                money(cn)
            )?;
            sum.credit_notes += 1;
            owed -= cn;
            settle = settle.max(cn_day);
        }
    }
    // Promise to pay on some late invoices: kept three times out of four. Drawn before the
    // reminders are written (which draw nothing), so the call can say it obtained the promise.
    let promise = if settle > due + 15 && due + 10 <= end && rng.chance(0.25) {
        let promised_on = due + 10;
        let kept = rng.chance(0.75);
        let due_on = if kept {
            settle.max(promised_on)
        } else {
            (settle - rng.range(5, 20) as i32).max(promised_on)
        };
        (owed > 0).then_some((promised_on, due_on))
    } else {
        None
    };
    // Reminders for late invoices of the last quarter: an e-mail nobody answers, then a call.
    if settle > due + 3 && due + 5 <= end && end - due < 120 {
        writeln!(
            out.actions,
            "{},{},email,{id},{},no_answer",
            c.id,
            Day(due + 5),
            c.collector
        )?;
        sum.actions += 1;
        if settle > due + 20 && due + 20 <= end {
            let outcome = if promise.is_some() {
                "promise"
            } else {
                "reached"
            };
            writeln!(
                out.actions,
                "{},{},call,{id},{},{outcome}",
                c.id,
                Day(due + 20),
                c.collector
            )?;
            sum.actions += 1;
        }
    }
    if let Some((promised_on, due_on)) = promise {
        writeln!(
            out.promises,
            "{id},{},{},{}",
            Day(promised_on),
            Day(due_on),
            money(owed)
        )?;
        sum.promises += 1;
    }
    if owed <= 0 {
        return Ok(());
    }
    if never {
        // Bad debt written off after about seven months.
        let wo_day = due + 200;
        if wo_day <= end && !in_legal && rng.chance(0.5) {
            let wid = ids.next("A");
            writeln!(
                out.invoices,
                "{wid},{},write_off,{},,{},{id},false",
                c.id,
                Day(wo_day),
                money(owed)
            )?;
            sum.write_offs += 1;
        }
        return Ok(());
    }
    if unpaid_at_end {
        // Sometimes a part is already paid.
        if rng.chance(0.1) {
            let part_day = (issue + (end - issue) / 2).max(issue + 1);
            if part_day <= end {
                let part = owed * rng.range(20, 60) / 100;
                let pid = ids.next("R");
                if out.banked(c, part_day, &[(&id, part)], 0) {
                    return Ok(());
                }
                writeln!(
                    out.payments,
                    "{pid},{},{},{},{id}",
                    c.id,
                    Day(part_day),
                    money(part)
                )?;
                sum.payments += 1;
            }
        }
        return Ok(());
    }
    let mode = rng.f();
    if rng.chance(c.batch_p) {
        // One transfer for the invoices falling due within a fortnight (paying by statement).
        let same_fortnight = c
            .batch
            .as_ref()
            .is_some_and(|b| (settle - b.first).abs() <= 15);
        if !same_fortnight {
            flush_batch(c, ids, out, sum)?;
            c.batch = Some(Batch {
                first: settle,
                last: settle,
                items: Vec::new(),
            });
        }
        let b = c.batch.as_mut().expect("batch");
        b.last = b.last.max(settle);
        b.items.push((id, owed));
    } else if mode < 0.64 {
        let pid = ids.next("R");
        if out.banked(c, settle, &[(&id, owed)], 0) {
            return Ok(());
        }
        writeln!(
            out.payments,
            "{pid},{},{},{},{id}",
            c.id,
            Day(settle),
            money(owed)
        )?;
        sum.payments += 1;
    } else if mode < 0.79 {
        // Two instalments.
        let first = owed * rng.range(30, 70) / 100;
        let d1 = (settle - rng.range(10, 30) as i32).max(issue + 1);
        for (day, amt) in [(d1, first), (settle, owed - first)] {
            let pid = ids.next("R");
            if out.banked(c, day, &[(&id, amt)], 0) {
                continue;
            }
            writeln!(
                out.payments,
                "{pid},{},{},{},{id}",
                c.id,
                Day(day),
                money(amt)
            )?;
            sum.payments += 1;
        }
    } else if mode < 0.93 {
        // Cash on account, matched later by the accountant (or not yet).
        let pid = ids.next("R");
        let banked = out.banked(c, settle, &[(&id, owed)], 0);
        if !banked {
            writeln!(
                out.payments,
                "{pid},{},{},{},",
                c.id,
                Day(settle),
                money(owed)
            )?;
            sum.payments += 1;
        }
        let matched = settle + rng.range(1, 30) as i32;
        // A match in the statement period is work still to do there: the invoice stays open
        // and the cash unapplied.
        if !banked && matched <= end && !out.in_period(matched) {
            writeln!(
                out.allocations,
                "{pid},{id},{},{}",
                Day(matched),
                money(owed)
            )?;
            sum.allocations += 1;
        }
    } else {
        // Overpayment: the excess stays unapplied.
        let pid = ids.next("R");
        let extra = rng.range(100, 5_000);
        // The bank receipt pays the invoice exactly: a receipt never exceeds what is open.
        if out.banked(c, settle, &[(&id, owed)], 0) {
            return Ok(());
        }
        writeln!(
            out.payments,
            "{pid},{},{},{},{id}",
            c.id,
            Day(settle),
            money(owed + extra)
        )?;
        sum.payments += 1;
    }
    Ok(())
}

fn flush_batch(
    c: &mut Customer,
    ids: &mut Ids,
    out: &mut Out,
    sum: &mut Summary,
) -> io::Result<()> {
    let Some(Batch {
        last: day, items, ..
    }) = c.batch.take()
    else {
        return Ok(());
    };
    if items.is_empty() {
        return Ok(());
    }
    // The batch pays on its latest member's date, so never before an invoice it covers.
    let pid = ids.next("R");
    let refs: Vec<(&str, i64)> = items.iter().map(|(i, a)| (i.as_str(), *a)).collect();
    if out.banked(c, day, &refs, 0) {
        return Ok(());
    }
    if items.len() == 1 {
        let (inv, amt) = &items[0];
        writeln!(
            out.payments,
            "{pid},{},{},{},{inv}",
            c.id,
            Day(day),
            money(*amt)
        )?;
        sum.payments += 1;
        return Ok(());
    }
    let total: i64 = items.iter().map(|x| x.1).sum();
    writeln!(
        out.payments,
        "{pid},{},{},{},",
        c.id,
        Day(day),
        money(total)
    )?;
    sum.payments += 1;
    for (inv, amt) in &items {
        writeln!(out.allocations, "{pid},{inv},{},{}", Day(day), money(*amt))?;
        sum.allocations += 1;
    }
    Ok(())
}
