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
        Event::Document(d) => d.currency.is_some_and(|c| c != reporting),
        Event::Payment(p) => p.currency.is_some_and(|c| c != reporting),
        Event::Customer(c) => c
            .attrs
            .iter()
            .any(|(k, v)| k == "currency" && Currency::parse(v).is_ok_and(|c| c != reporting)),
        _ => false,
    })
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
    let reporting = mode.currency();
    // Customers' own currency is the default of their documents.
    let mut customer_cur: HashMap<String, Currency> = HashMap::new();
    let mut foreign = false;
    for ev in events.iter() {
        match ev {
            Event::Customer(c) => {
                if let Some(cur) = c
                    .attrs
                    .iter()
                    .find(|(k, _)| k == "currency")
                    .and_then(|(_, v)| Currency::parse(v).ok())
                {
                    foreign |= cur != reporting;
                    customer_cur.insert(c.id.clone(), cur);
                }
            }
            Event::Document(d) => foreign |= d.currency.is_some_and(|c| c != reporting),
            Event::Payment(p) => foreign |= p.currency.is_some_and(|c| c != reporting),
            Event::Receipt(r) => foreign |= r.currency.is_some_and(|c| c != reporting),
            _ => {}
        }
    }
    if !foreign {
        return Ok(());
    }
    let rates = Rates::of(events.iter());
    let mut conv = Converter {
        mode,
        as_of,
        rates,
        customer_cur,
        doc_cur: HashMap::new(),
        dropped: HashSet::new(),
        telescope: HashMap::new(),
    };
    let mut out = Vec::with_capacity(events.len());
    for ev in events.drain(..) {
        if let Some(ev) = conv.event(ev)? {
            out.push(ev);
        }
    }
    *events = out;
    Ok(())
}

struct Converter {
    mode: CurrencyMode,
    as_of: Option<Day>,
    rates: Rates,
    customer_cur: HashMap<String, Currency>,
    /// Currency of every document and payment not in the reporting currency.
    doc_cur: HashMap<String, Currency>,
    /// Documents and payments left out (`Only` mode).
    dropped: HashSet<String>,
    /// Per foreign invoice: allocated so far, in its currency and converted. Converting the
    /// running total keeps a fully paid invoice at exactly zero despite rounding.
    telescope: HashMap<String, (i64, i64)>,
}

impl Converter {
    fn rate(&self, c: Currency) -> Result<i64, ViewError> {
        let reporting = self.mode.currency();
        if c == reporting {
            return Ok(1_000_000_000);
        }
        self.rates.at(c, self.as_of).ok_or(ViewError::NoRate {
            currency: c,
            reporting,
            as_of: self
                .as_of
                .map_or_else(|| "the latest date".into(), |d| d.to_string()),
        })
    }

    fn amount(&self, amount: i64, c: Currency) -> Result<i64, ViewError> {
        let reporting = self.mode.currency();
        if c == reporting {
            return Ok(amount);
        }
        Ok(convert(amount, c, reporting, self.rate(c)?))
    }

    fn cur_of_customer(&self, id: &str) -> Currency {
        self.customer_cur
            .get(id)
            .copied()
            .unwrap_or(self.mode.currency())
    }

    fn keep(&mut self, id: &str, c: Currency) -> bool {
        match self.mode {
            CurrencyMode::Only(only) if c != only => {
                self.dropped.insert(id.to_string());
                false
            }
            _ => {
                if c != self.mode.currency() {
                    self.doc_cur.insert(id.to_string(), c);
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

    fn event(&mut self, ev: Event) -> Result<Option<Event>, ViewError> {
        let only = matches!(self.mode, CurrencyMode::Only(_));
        Ok(Some(match ev {
            Event::Customer(mut c) => {
                let cur = self.cur_of_customer(&c.id);
                if !only && let Some(l) = c.credit_limit {
                    c.credit_limit = Some(self.amount(l, cur)?);
                }
                Event::Customer(c)
            }
            Event::Document(mut d) => {
                let cur = d
                    .currency
                    .unwrap_or_else(|| self.cur_of_customer(&d.customer_id));
                if !self.keep(&d.id, cur) {
                    return Ok(None);
                }
                if !only {
                    d.amount = self.amount(d.amount, cur)?;
                }
                d.currency = None;
                Event::Document(d)
            }
            Event::Payment(mut p) => {
                let cur = p
                    .currency
                    .unwrap_or_else(|| self.cur_of_customer(&p.customer_id));
                if !self.keep(&p.id, cur) {
                    return Ok(None);
                }
                if !only {
                    p.amount = self.amount(p.amount, cur)?;
                }
                p.currency = None;
                Event::Payment(p)
            }
            Event::Allocation(mut a) => {
                if self.dropped.contains(&a.source_id) || self.dropped.contains(&a.invoice_id) {
                    return Ok(None);
                }
                let cur = self.cur_of(&a.invoice_id);
                if !only && cur != self.mode.currency() {
                    let rate = self.rate(cur)?;
                    let reporting = self.mode.currency();
                    let t = self.telescope.entry(a.invoice_id.clone()).or_default();
                    t.0 += a.amount;
                    let total = convert(t.0, cur, reporting, rate);
                    a.amount = total - t.1;
                    t.1 = total;
                    if a.amount <= 0 {
                        return Ok(None);
                    }
                }
                Event::Allocation(a)
            }
            Event::Dispute(mut d) => {
                if self.dropped.contains(&d.invoice_id) {
                    return Ok(None);
                }
                if !only && let Some(a) = d.amount {
                    d.amount = Some(self.amount(a, self.cur_of(&d.invoice_id))?);
                }
                Event::Dispute(d)
            }
            Event::Promise(mut p) => {
                if self.dropped.contains(&p.invoice_id) {
                    return Ok(None);
                }
                if !only {
                    p.amount = self.amount(p.amount, self.cur_of(&p.invoice_id))?;
                }
                Event::Promise(p)
            }
            Event::Action(mut a) => {
                if a.invoice_id
                    .as_ref()
                    .is_some_and(|i| self.dropped.contains(i))
                {
                    a.invoice_id = None;
                }
                Event::Action(a)
            }
            Event::Followup(f) => Event::Followup(f),
            // A reminder's amounts are the reporting-currency figures it was decided on.
            Event::Reminder(mut r) => {
                if let ReminderStatus::Queued(c) = &mut r.status {
                    c.lines.retain(|(i, _, _)| !self.dropped.contains(i));
                }
                Event::Reminder(r)
            }
            Event::Receipt(mut r) => {
                let cur = r.currency.unwrap_or(self.mode.currency());
                if !self.keep(&r.id, cur) {
                    return Ok(None);
                }
                if !only {
                    r.amount = self.amount(r.amount, cur)?;
                }
                r.currency = None;
                Event::Receipt(r)
            }
            Event::Cash(mut c) => {
                if self.dropped.contains(&c.receipt_id) {
                    return Ok(None);
                }
                if let Decision::Apply {
                    invoices,
                    write_off,
                    ..
                } = &mut c.decision
                {
                    let cur = self.cur_of(&c.receipt_id);
                    invoices.retain(|(i, _)| !self.dropped.contains(i));
                    if !only {
                        for (_, a) in invoices.iter_mut() {
                            *a = self.amount(*a, cur)?;
                        }
                        *write_off = self.amount(*write_off, cur)?;
                    }
                }
                Event::Cash(c)
            }
            Event::Amend(a) => match &a.change {
                Change::DueDate {
                    document_id: id, ..
                }
                | Change::InLegal {
                    document_id: id, ..
                }
                | Change::DisputeResolved { invoice_id: id, .. }
                    if self.dropped.contains(id) =>
                {
                    return Ok(None);
                }
                Change::Customer(c) if !only && c.credit_limit.is_some() => {
                    let mut c = c.clone();
                    let cur = self.cur_of_customer(&c.id);
                    c.credit_limit = Some(self.amount(c.credit_limit.unwrap_or(0), cur)?);
                    Event::Amend(AmendRec {
                        effective: a.effective,
                        change: Change::Customer(c),
                    })
                }
                _ => Event::Amend(a),
            },
            ev @ Event::Rate(_) => ev,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
