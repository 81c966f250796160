//! What a report as of a date sees of a stored ledger: amendments that took effect later are left
//! out, and amounts in other currencies are converted to the reporting currency with the rate in
//! force at that date (or only one transaction currency is kept, unconverted).

use crate::date::Day;
use crate::ledger::*;
use crate::money::Currency;
use std::collections::{HashMap, HashSet};

/// How amounts in several currencies become one figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CurrencyMode {
    /// Every amount converted to the reporting currency at the rate of the as-of date.
    Convert(Currency),
    /// Only documents and payments in this currency, in this currency.
    Only(Currency),
}

impl CurrencyMode {
    /// The currency the figures are expressed in.
    pub fn currency(self) -> Currency {
        match self {
            CurrencyMode::Convert(c) | CurrencyMode::Only(c) => c,
        }
    }
}

/// Rates by currency, each list sorted by date.
#[derive(Clone, Debug, Default)]
pub struct Rates {
    by_currency: HashMap<Currency, Vec<(Day, i64)>>,
}

impl Rates {
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> Rates {
        let mut r = Rates::default();
        for ev in events {
            if let Event::Rate(x) = ev {
                r.by_currency
                    .entry(x.currency)
                    .or_default()
                    .push((x.date, x.rate_e9));
            }
        }
        for v in r.by_currency.values_mut() {
            // Stable: the last rate given for a day wins.
            v.sort_by_key(|x| x.0);
        }
        r
    }

    /// Adds the rate of `r`, after those of the same day already known (the last one given
    /// wins, as in [`Rates::of`]).
    pub fn push(&mut self, r: &RateRec) {
        let v = self.by_currency.entry(r.currency).or_default();
        let at = v.partition_point(|x| x.0 <= r.date);
        v.insert(at, (r.date, r.rate_e9));
    }

    /// True when every currency has the same rate in force on `from` as on `to`: a view
    /// converted on one date converts alike on the other.
    pub fn unchanged(&self, from: Day, to: Day) -> bool {
        self.by_currency
            .keys()
            .all(|&c| self.at(c, Some(from)) == self.at(c, Some(to)))
    }

    /// The latest rate on or before `day` (or the latest of all when `day` is `None`).
    pub fn at(&self, currency: Currency, day: Option<Day>) -> Option<i64> {
        let v = self.by_currency.get(&currency)?;
        let n = match day {
            Some(d) => v.partition_point(|x| x.0 <= d),
            None => v.len(),
        };
        n.checked_sub(1).map(|k| v[k].1)
    }
}

/// Why a ledger cannot be shown in the reporting currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error(
        "no rate for {currency} on or before {as_of} (expected a rate converting it to {reporting}: import a rates.csv with date,currency,rate, or report in one currency with --currency)"
    )]
    NoRate {
        currency: Currency,
        reporting: Currency,
        as_of: String,
    },
}

/// Converts `amount` minor units of `from` at `rate_e9` units of `to` per unit, rounding half
/// away from zero. A result beyond `i64` is held at its bounds, never wrapped around into another
/// amount: far past [`crate::money::MAX_AMOUNT`], the snapshot then refuses it.
pub fn convert(amount: i64, from: Currency, to: Currency, rate_e9: i64) -> i64 {
    let num = amount as i128 * rate_e9 as i128 * 10i128.pow(to.decimals() as u32);
    let den = 1_000_000_000i128 * 10i128.pow(from.decimals() as u32);
    let q = (num.abs() + den / 2) / den;
    (q * num.signum()).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// True when a report as of a past date may see the ledger differently from today: it holds
/// amendments (effective from a date) or amounts in other currencies (converted at the date's
/// rate).
pub fn depends_on_date(events: &[Event], reporting: Currency) -> bool {
    events.iter().any(|e| match e {
        Event::Amend(_) => true,
        Event::Document(d) => foreign(d.currency, reporting),
        Event::Payment(p) => foreign(p.currency, reporting),
        Event::Customer(c) => customer_foreign(c, reporting),
        _ => false,
    })
}

/// A ledger cut in two for views of several dates: the events every date sees alike, and the
/// events a date may see differently (see [`split_dated`]).
#[derive(Clone, Debug)]
pub struct Split {
    /// In input order; built once, whatever the date.
    pub base: Vec<Event>,
    /// In input order; prepared for each date (see [`prepared`]) and appended to the base.
    pub dated: Vec<Event>,
    /// Every rate of the ledger (they stay in the base).
    pub rates: Rates,
    /// Where each dated event was in the input (the base's events are the others, in order).
    pub dated_at: Vec<u32>,
    /// Which customers are dated: where later events go.
    pub dating: Dating,
}

/// The customers whose events a [`Split`] puts in its dated part, to place events appended
/// later without cutting the whole ledger again.
#[derive(Clone, Debug)]
pub struct Dating {
    customers: HashSet<String>,
    reporting: Currency,
}

impl Dating {
    /// For each of `events` appended to a split ledger, true when it joins the dated part, as
    /// [`split_dated`] of the whole ledger would place it. `in_base(id)`: the document or
    /// payment `id` is in the base. `None` when the events would move earlier ones (a
    /// customer of the base in another currency now, or amended) or hold bank receipts and
    /// their decisions: cut the whole ledger again then.
    pub fn place(&self, events: &[Event], in_base: impl Fn(&str) -> bool) -> Option<Vec<bool>> {
        let reporting = self.reporting;
        let dated = |c: &str| self.customers.contains(c);
        let mut new: HashMap<&str, &str> = HashMap::new();
        for ev in events {
            match ev {
                Event::Document(d) => new.insert(&d.id, &d.customer_id),
                Event::Payment(p) => new.insert(&p.id, &p.customer_id),
                _ => None,
            };
        }
        let of = |id: &str| new.get(id).map_or(!in_base(id), |c| dated(c));
        events
            .iter()
            .map(|ev| {
                let moves_history = match ev {
                    Event::Customer(c) => customer_foreign(c, reporting) && !dated(&c.id),
                    Event::Document(d) => foreign(d.currency, reporting) && !dated(&d.customer_id),
                    Event::Payment(p) => foreign(p.currency, reporting) && !dated(&p.customer_id),
                    Event::Amend(AmendRec {
                        change: Change::Customer(c),
                        ..
                    }) => !dated(&c.id),
                    Event::Receipt(_) | Event::Cash(_) => true,
                    _ => false,
                };
                (!moves_history).then(|| goes_dated(ev, &dated, &of, &of, &|_| false))
            })
            .collect()
    }
}

/// Whether `ev` belongs to the dated part, given which customers are dated, whether the owner
/// of a source (payment, credit note) or of an invoice is, and which receipts are.
fn goes_dated(
    ev: &Event,
    customer: &dyn Fn(&str) -> bool,
    source: &dyn Fn(&str) -> bool,
    invoice: &dyn Fn(&str) -> bool,
    receipt: &dyn Fn(&str) -> bool,
) -> bool {
    match ev {
        Event::Customer(c) => customer(&c.id),
        Event::Document(d) => customer(&d.customer_id),
        Event::Payment(p) => customer(&p.customer_id),
        Event::Allocation(a) => source(&a.source_id) || invoice(&a.invoice_id),
        Event::Dispute(d) => invoice(&d.invoice_id),
        Event::Promise(p) => invoice(&p.invoice_id),
        Event::Action(a) => {
            customer(&a.customer_id) || a.invoice_id.as_deref().is_some_and(invoice)
        }
        Event::Followup(f) => customer(&f.customer_id),
        Event::Reminder(r) => customer(&r.customer_id),
        Event::Amend(_) => true,
        Event::Receipt(r) => receipt(&r.id),
        Event::Cash(c) => receipt(&c.receipt_id),
        Event::Rate(_) => false,
    }
}

fn foreign(c: Option<Currency>, reporting: Currency) -> bool {
    c.is_some_and(|c| c != reporting)
}

/// The customer's own currency (attribute `currency`) is not the reporting one.
fn customer_foreign(c: &CustomerRec, reporting: Currency) -> bool {
    customer_currency(c).is_some_and(|c| c != reporting)
}

/// Where the base's event `k` was in the input, given the dated events' positions (sorted).
pub fn base_position(dated_at: &[u32], k: usize) -> usize {
    // The k-th position missing from `dated_at`: p - (dated positions before p) == k.
    let (mut lo, mut hi) = (k, k + dated_at.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if mid - dated_at.partition_point(|&d| (d as usize) <= mid) < k {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Cuts a ledger into the events that every as-of date sees alike and the ones that depend on
/// the date, in reporting currency `reporting`. A view of the ledger as of any date is the base
/// built, then the dated part prepared for that date appended: every path building a view of a
/// dated ledger does exactly this, so they agree whatever the date.
///
/// The dated part holds every amendment, and every event of the customers whose figures depend
/// on the date: in another currency (their own, or one of their documents or payments), or whose
/// master data an amendment changes (later documents take its terms). A customer's events stay
/// together: an allocation is never split from its invoice and source (they are one customer's,
/// the snapshot refuses others). A bank receipt goes with its decisions, and all of them go to
/// the dated part when any of them concerns a dated customer (whose payments it then becomes)
/// or the receipt is in another currency; the customers it pays then join the dated part too.
/// Amendments of a due date, of legal collection or resolving a dispute only overwrite what the
/// base holds, so their customers' other events stay in the base.
pub fn split_dated(events: Vec<Event>, reporting: Currency) -> Split {
    let foreign = |c: &Option<Currency>| foreign(*c, reporting);
    let customer_foreign = |c: &CustomerRec| customer_foreign(c, reporting);
    // Who owns each document and payment; which customers and receipts are dated.
    let mut docs: HashMap<&str, &str> = HashMap::new();
    let mut pays: HashMap<&str, &str> = HashMap::new();
    let mut dated: HashSet<&str> = HashSet::new();
    let mut receipts: HashSet<&str> = HashSet::new();
    // Per receipt (or payment) with decisions: the customers they pay.
    let mut paid: HashMap<&str, Vec<&str>> = HashMap::new();
    for ev in &events {
        match ev {
            Event::Customer(c) if customer_foreign(c) => {
                dated.insert(&c.id);
            }
            Event::Document(d) => {
                docs.insert(&d.id, &d.customer_id);
                if foreign(&d.currency) {
                    dated.insert(&d.customer_id);
                }
            }
            Event::Payment(p) => {
                pays.insert(&p.id, &p.customer_id);
                if foreign(&p.currency) {
                    dated.insert(&p.customer_id);
                }
            }
            Event::Amend(AmendRec {
                change: Change::Customer(c),
                ..
            }) => {
                dated.insert(&c.id);
            }
            Event::Receipt(r) if foreign(&r.currency) => {
                receipts.insert(&r.id);
            }
            Event::Cash(c) => {
                let v = paid.entry(&c.receipt_id).or_default();
                if let Decision::Apply { customer_id, .. } = &c.decision {
                    v.push(customer_id);
                }
            }
            _ => {}
        }
    }
    // A dated receipt dates the customers it pays, whose other receipts are then dated: to a
    // fixed point (each round dates at least one more receipt).
    loop {
        let mut more = false;
        for (&r, customers) in &paid {
            let owner = pays.get(r).copied();
            let is_dated = receipts.contains(r)
                || owner.is_some_and(|o| dated.contains(o))
                || customers.iter().any(|c| dated.contains(c));
            if !is_dated {
                continue;
            }
            more |= receipts.insert(r);
            for &c in customers.iter().chain(owner.iter()) {
                more |= dated.insert(c);
            }
        }
        if !more {
            break;
        }
    }
    let owner = |id: &str| docs.get(id).or_else(|| pays.get(id)).copied();
    let customer = |c: &str| dated.contains(c);
    let source = |id: &str| {
        pays.get(id)
            .or_else(|| docs.get(id))
            .is_some_and(|c| dated.contains(c))
    };
    let invoice = |id: &str| owner(id).is_some_and(|c| dated.contains(c));
    let receipt = |r: &str| receipts.contains(r);
    let goes_dated: Vec<bool> = events
        .iter()
        .map(|ev| goes_dated(ev, &customer, &source, &invoice, &receipt))
        .collect();
    let rates = Rates::of(events.iter());
    let dating = Dating {
        customers: dated.iter().map(|c| c.to_string()).collect(),
        reporting,
    };
    drop((docs, pays, dated, receipts, paid));
    let n_dated = goes_dated.iter().filter(|&&d| d).count();
    let mut split = Split {
        base: Vec::with_capacity(events.len() - n_dated),
        dated: Vec::with_capacity(n_dated),
        rates,
        dated_at: Vec::with_capacity(n_dated),
        dating,
    };
    for (k, (ev, d)) in events.into_iter().zip(goes_dated).enumerate() {
        if d {
            split.dated_at.push(k as u32);
            split.dated.push(ev);
        } else {
            split.base.push(ev);
        }
    }
    split
}

/// Rewrites a stored event list in place for a report as of `as_of` in `mode`.
pub fn prepare(
    events: &mut Vec<Event>,
    as_of: Option<Day>,
    mode: CurrencyMode,
) -> Result<(), ViewError> {
    if let Some(d) = as_of {
        events.retain(|e| !matches!(e, Event::Amend(a) if a.effective > d));
    }
    let (customer_cur, foreign) = currencies(events.iter(), mode.currency());
    if !foreign {
        return Ok(());
    }
    let rates = Rates::of(events.iter());
    let out = Converter::new(mode, as_of, &rates, customer_cur).all(events.iter(), events.len())?;
    *events = out;
    Ok(())
}

/// The events as a report as of `as_of` in `mode` sees them, copied: [`prepare`] on a copy of
/// `events`, in one pass, with the rates given (the dated part of a [`Split`], kept as stored,
/// converts with the whole ledger's rates for each date asked for).
pub fn prepared(
    events: &[Event],
    as_of: Option<Day>,
    mode: CurrencyMode,
    rates: &Rates,
) -> Result<Vec<Event>, ViewError> {
    let seen =
        move |e: &&Event| !matches!((e, as_of), (Event::Amend(a), Some(d)) if a.effective > d);
    let (customer_cur, foreign) = currencies(events.iter().filter(seen), mode.currency());
    if !foreign {
        return Ok(events.iter().filter(seen).cloned().collect());
    }
    Converter::new(mode, as_of, rates, customer_cur).all(events.iter().filter(seen), events.len())
}

/// New events of a dated part as the view on `as_of` takes them: documents and payments in
/// their currency (else their customer's, given by `customer`) converted to `reporting` at the
/// rate in force on `as_of`, as [`prepared`] converts them; calls and follow-ups as they are.
/// `None` when an event needs more of the events before it (an allocation's running total, an
/// invoice's currency) or a rate is missing: build the view again then.
pub fn converted_new(
    events: &[Event],
    as_of: Day,
    reporting: Currency,
    rates: &Rates,
    customer: impl Fn(&str) -> Option<Currency>,
) -> Option<Vec<Event>> {
    let to = |amount: i64, currency: Option<Currency>, customer_id: &str| {
        let c = new_amount_currency(currency, customer_id, reporting, &customer);
        if c == reporting {
            return Some(amount);
        }
        Some(convert(amount, c, reporting, rates.at(c, Some(as_of))?))
    };
    events
        .iter()
        .map(|ev| {
            Some(match ev {
                Event::Document(d) => Event::Document(DocumentRec {
                    amount: to(d.amount, d.currency, &d.customer_id)?,
                    currency: None,
                    ..d.clone()
                }),
                Event::Payment(p) => Event::Payment(PaymentRec {
                    amount: to(p.amount, p.currency, &p.customer_id)?,
                    currency: None,
                    ..p.clone()
                }),
                Event::Action(_) | Event::Followup(_) => ev.clone(),
                _ => return None,
            })
        })
        .collect()
}

/// The currency of the amount of a new document or payment of a dated part (in `currency`, of
/// customer `customer_id`): its own, else its customer's (`customer`), else `reporting`. The one
/// rule for the current view taking such events as they are ([`converted_new`]) and for the
/// dated part that past dates are written from (`snapshot::Dated::extend`).
pub(crate) fn new_amount_currency(
    currency: Option<Currency>,
    customer_id: &str,
    reporting: Currency,
    customer: impl Fn(&str) -> Option<Currency>,
) -> Currency {
    currency
        .or_else(|| customer(customer_id))
        .unwrap_or(reporting)
}

/// A customer's own currency (its attribute `currency`), if it has a valid one.
pub fn customer_currency(c: &CustomerRec) -> Option<Currency> {
    c.attrs
        .iter()
        .find(|(k, _)| k == "currency")
        .and_then(|(_, v)| Currency::parse(v).ok())
}

/// A converter of `events` for `mode` with `rates`, their customers' currencies read.
pub(crate) fn converter<'a, 'r>(
    events: &'a [Event],
    mode: CurrencyMode,
    rates: &'r Rates,
) -> Converter<'a, 'r> {
    let (customer_cur, _) = currencies(events.iter(), mode.currency());
    Converter::new(mode, None, rates, customer_cur)
}

/// Customers' own currencies (the default of their documents), and whether anything is in a
/// currency other than `reporting`.
fn currencies<'a>(
    events: impl Iterator<Item = &'a Event>,
    reporting: Currency,
) -> (Ids<'a, Currency>, bool) {
    let mut customer_cur = Ids::default();
    let mut foreign = false;
    for ev in events {
        match ev {
            Event::Customer(c) => {
                if let Some(cur) = customer_currency(c) {
                    foreign |= cur != reporting;
                    customer_cur.insert(c.id.as_str(), cur);
                }
            }
            Event::Document(d) => foreign |= d.currency.is_some_and(|c| c != reporting),
            Event::Payment(p) => foreign |= p.currency.is_some_and(|c| c != reporting),
            Event::Receipt(r) => foreign |= r.currency.is_some_and(|c| c != reporting),
            _ => {}
        }
    }
    (customer_cur, foreign)
}

/// Maps keyed by the ids of the events converted (borrowed, not copied).
type Ids<'a, V> = crate::snapshot::Map<&'a str, V>;

pub(crate) struct Converter<'a, 'r> {
    mode: CurrencyMode,
    as_of: Option<Day>,
    rates: &'r Rates,
    customer_cur: Ids<'a, Currency>,
    /// Currency of every document and payment not in the reporting currency.
    doc_cur: Ids<'a, Currency>,
    /// Documents and payments left out (`Only` mode).
    dropped: Ids<'a, ()>,
    /// Per foreign invoice: allocated so far, in its currency and converted. Converting the
    /// running total keeps a fully paid invoice at exactly zero despite rounding.
    telescope: Ids<'a, (i64, i64)>,
    /// The rates found so far (one per currency for the date).
    known: Vec<(Currency, i64)>,
}

impl<'a, 'r> Converter<'a, 'r> {
    fn new(
        mode: CurrencyMode,
        as_of: Option<Day>,
        rates: &'r Rates,
        customer_cur: Ids<'a, Currency>,
    ) -> Self {
        Converter {
            mode,
            as_of,
            rates,
            customer_cur,
            doc_cur: Ids::default(),
            dropped: Ids::default(),
            telescope: Ids::default(),
            known: Vec::new(),
        }
    }

    fn all(
        mut self,
        events: impl Iterator<Item = &'a Event>,
        n: usize,
    ) -> Result<Vec<Event>, ViewError> {
        // Sized once: growing maps of this many ids cost more than the conversion.
        self.doc_cur.reserve(n / 2);
        self.telescope.reserve(n / 4);
        let mut out = Vec::with_capacity(n);
        for ev in events {
            if let Some(ev) = self.event(ev)? {
                out.push(ev);
            }
        }
        Ok(out)
    }

    fn rate(&mut self, c: Currency) -> Result<i64, ViewError> {
        let reporting = self.mode.currency();
        if c == reporting {
            return Ok(1_000_000_000);
        }
        if let Some(&(_, r)) = self.known.iter().find(|k| k.0 == c) {
            return Ok(r);
        }
        let r = self.rates.at(c, self.as_of).ok_or(ViewError::NoRate {
            currency: c,
            reporting,
            as_of: self
                .as_of
                .map_or_else(|| "the latest date".into(), |d| d.to_string()),
        })?;
        self.known.push((c, r));
        Ok(r)
    }

    fn cur_of_customer(&self, id: &str) -> Currency {
        self.customer_cur
            .get(id)
            .copied()
            .unwrap_or(self.mode.currency())
    }

    fn keep(&mut self, id: &'a str, c: Currency) -> bool {
        match self.mode {
            CurrencyMode::Only(only) if c != only => {
                self.dropped.insert(id, ());
                false
            }
            _ => {
                if c != self.mode.currency() {
                    self.doc_cur.insert(id, c);
                }
                true
            }
        }
    }

    fn cur_of(&self, id: &str) -> Currency {
        self.doc_cur
            .get(id)
            .copied()
            .unwrap_or(self.mode.currency())
    }

    fn dropped(&self, id: &str) -> bool {
        !self.dropped.is_empty() && self.dropped.contains_key(id)
    }

    /// How `ev`'s amounts convert, `None` when it is left out (`Only` mode). Worked out from
    /// the events before it, whatever the date: every date converts the same amounts from the
    /// same currencies, each at its own rates (see [`crate::snapshot::Dated`]).
    pub(crate) fn step(&mut self, ev: &'a Event) -> Option<Step> {
        let only = matches!(self.mode, CurrencyMode::Only(_));
        let reporting = self.mode.currency();
        let from = |c: Currency| {
            if only || c == reporting {
                Step::Same
            } else {
                Step::From(c)
            }
        };
        Some(match ev {
            Event::Customer(c) if c.credit_limit.is_some() => from(self.cur_of_customer(&c.id)),
            // In their own currency, else their customer's.
            Event::Document(DocumentRec {
                id,
                customer_id,
                currency,
                ..
            })
            | Event::Payment(PaymentRec {
                id,
                customer_id,
                currency,
                ..
            }) => {
                let cur = currency.unwrap_or_else(|| self.cur_of_customer(customer_id));
                if !self.keep(id, cur) {
                    return None;
                }
                from(cur)
            }
            Event::Receipt(r) => {
                let cur = r.currency.unwrap_or(reporting);
                if !self.keep(&r.id, cur) {
                    return None;
                }
                from(cur)
            }
            Event::Allocation(a) => {
                if self.dropped(&a.source_id) || self.dropped(&a.invoice_id) {
                    return None;
                }
                match from(self.cur_of(&a.invoice_id)) {
                    Step::From(c) => Step::Running(c),
                    s => s,
                }
            }
            Event::Dispute(d) => {
                if self.dropped(&d.invoice_id) {
                    return None;
                }
                match d.amount {
                    Some(_) => from(self.cur_of(&d.invoice_id)),
                    None => Step::Same,
                }
            }
            Event::Promise(p) => {
                if self.dropped(&p.invoice_id) {
                    return None;
                }
                from(self.cur_of(&p.invoice_id))
            }
            Event::Cash(c) => {
                if self.dropped(&c.receipt_id) {
                    return None;
                }
                match c.decision {
                    Decision::Apply { .. } => from(self.cur_of(&c.receipt_id)),
                    _ => Step::Same,
                }
            }
            Event::Amend(a) => match &a.change {
                Change::DueDate {
                    document_id: id, ..
                }
                | Change::InLegal {
                    document_id: id, ..
                }
                | Change::DisputeResolved { invoice_id: id, .. }
                    if self.dropped(id) =>
                {
                    return None;
                }
                Change::Customer(c) if c.credit_limit.is_some() => {
                    from(self.cur_of_customer(&c.id))
                }
                _ => Step::Same,
            },
            _ => Step::Same,
        })
    }

    /// `ev` as converted (a copy), or `None` when left out.
    fn event(&mut self, ev: &'a Event) -> Result<Option<Event>, ViewError> {
        let Some(step) = self.step(ev) else {
            return Ok(None);
        };
        let reporting = self.mode.currency();
        let rate = match step {
            Step::Same => 1_000_000_000,
            Step::From(c) | Step::Running(c) => self.rate(c)?,
        };
        let conv = |x: i64| match step {
            Step::From(c) => convert(x, c, reporting, rate),
            _ => x,
        };
        Ok(Some(match ev {
            Event::Customer(c) => {
                let mut c = c.clone();
                c.credit_limit = c.credit_limit.map(conv);
                Event::Customer(c)
            }
            Event::Document(src) => {
                let mut d = src.clone();
                d.amount = conv(d.amount);
                d.currency = None;
                Event::Document(d)
            }
            Event::Payment(src) => {
                let mut p = src.clone();
                p.amount = conv(p.amount);
                p.currency = None;
                Event::Payment(p)
            }
            Event::Allocation(src) => {
                let mut a = src.clone();
                if let Step::Running(c) = step {
                    let t = self.telescope.entry(&src.invoice_id).or_default();
                    a.amount = running(t, a.amount, c, reporting, rate);
                    if a.amount <= 0 {
                        return Ok(None);
                    }
                }
                Event::Allocation(a)
            }
            Event::Dispute(src) => {
                let mut d = src.clone();
                d.amount = d.amount.map(conv);
                Event::Dispute(d)
            }
            Event::Promise(src) => {
                let mut p = src.clone();
                p.amount = conv(p.amount);
                Event::Promise(p)
            }
            Event::Action(src) => {
                let mut a = src.clone();
                if src.invoice_id.as_deref().is_some_and(|i| self.dropped(i)) {
                    a.invoice_id = None;
                }
                Event::Action(a)
            }
            // A reminder's amounts are the reporting-currency figures it was decided on.
            Event::Reminder(src) => {
                let mut r = src.clone();
                if let ReminderStatus::Queued(c) = &mut r.status {
                    c.lines.retain(|(i, _, _)| !self.dropped(i));
                }
                Event::Reminder(r)
            }
            Event::Receipt(src) => {
                let mut r = src.clone();
                r.amount = conv(r.amount);
                r.currency = None;
                Event::Receipt(r)
            }
            Event::Cash(src) => {
                let mut c = src.clone();
                if let Decision::Apply {
                    invoices,
                    write_off,
                    ..
                } = &mut c.decision
                {
                    invoices.retain(|(i, _)| !self.dropped(i));
                    for (_, a) in invoices.iter_mut() {
                        *a = conv(*a);
                    }
                    *write_off = conv(*write_off);
                }
                Event::Cash(c)
            }
            Event::Amend(a) => match &a.change {
                Change::Customer(c) if step != Step::Same => {
                    let mut c = c.clone();
                    c.credit_limit = c.credit_limit.map(conv);
                    Event::Amend(AmendRec {
                        effective: a.effective,
                        change: Change::Customer(c),
                    })
                }
                _ => ev.clone(),
            },
            Event::Followup(_) | Event::Rate(_) => ev.clone(),
        }))
    }
}

/// How an event's amounts become reporting-currency amounts (see [`Converter::step`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing to convert.
    Same,
    /// Every amount of the event, from this currency at the date's rate.
    From(Currency),
    /// An allocation to an invoice in this currency: its share of the invoice's allocated total
    /// converted (see [`running`]).
    Running(Currency),
}

/// Allocation `amount` to an invoice in `cur`, whose allocations so far total `t.0` in `cur`
/// and `t.1` converted: converting the running total keeps a fully paid invoice at exactly
/// zero despite rounding. The share may round to nothing (the allocation is then left out).
pub(crate) fn running(
    t: &mut (i64, i64),
    amount: i64,
    cur: Currency,
    to: Currency,
    rate: i64,
) -> i64 {
    t.0 += amount;
    let total = convert(t.0, cur, to, rate);
    let share = total - t.1;
    t.1 = total;
    share
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn customer(id: &str, currency: Option<&str>) -> Event {
        Event::Customer(CustomerRec {
            id: id.into(),
            name: id.into(),
            credit_limit: None,
            payment_terms_days: None,
            attrs: currency
                .map(|c| vec![("currency".to_string(), c.to_string())])
                .unwrap_or_default(),
        })
    }

    fn invoice(id: &str, customer: &str) -> Event {
        Event::Document(DocumentRec::new(
            id,
            customer,
            DocKind::Invoice,
            Day(20_000),
            100,
        ))
    }

    fn receipt(id: &str) -> Event {
        Event::Receipt(ReceiptRec {
            id: id.into(),
            ..ReceiptRec::default()
        })
    }

    fn apply(receipt: &str, customer: &str, invoice: &str) -> Event {
        Event::Cash(CashRec {
            receipt_id: receipt.into(),
            date: Day(20_001),
            decision: Decision::Apply {
                customer_id: customer.into(),
                invoices: vec![(invoice.into(), 100)],
                write_off: 0,
            },
            rule: "manual".into(),
            confidence: 100,
            author: None,
        })
    }

    fn ids(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Customer(c) => c.id.clone(),
                Event::Document(d) => d.id.clone(),
                Event::Receipt(r) => r.id.clone(),
                Event::Cash(c) => format!("{}>", c.receipt_id),
                Event::Amend(_) => "amend".into(),
                _ => "?".into(),
            })
            .collect()
    }

    #[test]
    fn split_keeps_receipts_with_the_customers_they_pay() {
        // R1 pays the dollar customer U and then the euro customer B: both go to the dated
        // part, and with B its other receipt R2; A and R3 (which pays A) stay in the base.
        let events = vec![
            customer("A", None),
            customer("B", None),
            customer("U", Some("USD")),
            invoice("IA", "A"),
            invoice("IB", "B"),
            invoice("IU", "U"),
            receipt("R1"),
            receipt("R2"),
            receipt("R3"),
            apply("R2", "B", "IB"),
            apply("R1", "U", "IU"),
            apply("R1", "B", "IB"),
            apply("R3", "A", "IA"),
            Event::Amend(AmendRec {
                effective: Day(20_010),
                change: Change::DueDate {
                    document_id: "IA".into(),
                    due: Day(20_040),
                },
            }),
        ];
        let s = split_dated(events, Currency::EUR);
        assert_eq!(ids(&s.base), ["A", "IA", "R3", "R3>"]);
        assert_eq!(
            ids(&s.dated),
            [
                "B", "U", "IB", "IU", "R1", "R2", "R2>", "R1>", "R1>", "amend"
            ]
        );
        assert_eq!(s.dated_at, [1, 2, 4, 5, 6, 7, 9, 10, 11, 13]);
        let base_at: Vec<usize> = (0..s.base.len())
            .map(|k| base_position(&s.dated_at, k))
            .collect();
        assert_eq!(base_at, [0, 3, 8, 12]);
    }

    #[test]
    fn converts_between_decimals_with_rounding() {
        let usd = Currency::parse("USD").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        // 100.00 USD at 0.92 EUR = 92.00 EUR
        assert_eq!(convert(10_000, usd, Currency::EUR, 920_000_000), 9_200);
        // 1000 JPY at 0.0061 EUR = 6.10 EUR
        assert_eq!(convert(1_000, jpy, Currency::EUR, 6_100_000), 610);
        // 0.005 rounds away from zero
        assert_eq!(convert(1, usd, Currency::EUR, 500_000_000), 1);
        assert_eq!(convert(-1, usd, Currency::EUR, 500_000_000), -1);
    }
}
