//! The ledger as a report sees it on a date, and the views a server keeps.
//!
//! One rule for every path (pages, API, CLI, exports): the view as of `D` leaves out the
//! amendments effective after `D` and converts other currencies at the rate in force on `D`.
//! Without a date, `D` is the ledger's last document or payment date, so "no date" and "that
//! date" are the same view.

use arpilot_core::customers::RatingThresholds;
use arpilot_core::ledger::Event;
use arpilot_core::scope::{ByCustomer, Stop};
use arpilot_core::select::Selection;
use arpilot_core::snapshot::{Dated, Map};
use arpilot_core::sync::content_hash;
use arpilot_core::view::{
    CurrencyMode, Dating, Rates, base_position, converted_new, customer_currency, depends_on_date,
    prepare, prepared, split_dated,
};
use arpilot_core::worklist::{Memo, WorklistParams, WorklistRow};
use arpilot_core::{Currency, Day, Snapshot};
use arpilot_store::NewBatch;
use arpilot_store::{LedgerStore, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// The ledger seen on a date.
pub struct View {
    pub snapshot: Snapshot,
    /// The date the view is for (the ledger's last date when none was asked for).
    pub as_of: Day,
    /// True when other dates see the ledger differently (amendments, other currencies).
    pub dated: bool,
    /// Stored events the view was built from, and the store's position after the last of them.
    pub events: i64,
    pub last_seq: i64,
    /// What the views of other dates are built from, when dated and asked for.
    pub parts: Option<Arc<DatedParts>>,
}

/// What a dated ledger's view on any date is built from without reading the store again: its
/// base built once, and its dated part as stored (amendments, events of the customers in other
/// currencies; see [`arpilot_core::view::split_dated`]), with the rate history.
#[derive(Clone)]
pub struct DatedParts {
    base: Snapshot,
    dated: Vec<Event>,
    rates: Rates,
    ledger: Currency,
    /// Position in the stored ledger of each dated event, for errors.
    dated_at: Vec<u32>,
    /// Where events appended later go.
    dating: Dating,
    /// Invoices whose disputes an amendment of the dated part resolves, and the effective
    /// dates of its amendments (sorted): what decides whether new events may join a view as
    /// they are (see [`DatedParts::as_is`]).
    resolving: HashSet<String>,
    amend_days: Vec<i32>,
    /// The own currency of the dated part's customers that have one (their last record's).
    currencies: HashMap<String, Currency>,
    /// Whether views are written into the dated part appended once (see
    /// [`arpilot_core::snapshot::Dated`]), and that part: built again on first use after a
    /// change, so that a push does not pay for the past dates nobody asked for yet.
    once_wanted: bool,
    once: OnceLock<Option<Arc<Dated>>>,
}

impl DatedParts {
    /// Builds the base of `events` (the whole stored ledger, in order).
    fn new(events: Vec<Event>, ledger: Currency) -> Result<DatedParts, StoreError> {
        let split = split_dated(events, ledger);
        let dated_at = split.dated_at;
        let mut base = Snapshot::build(ledger, split.base)
            .map_err(|e| inconsistent(base_position(&dated_at, e.index), &e.error))?;
        base.reserve_ids(&split.dated);
        let mut parts = DatedParts {
            base,
            dated: Vec::new(),
            rates: split.rates,
            ledger,
            dated_at,
            dating: split.dating,
            resolving: HashSet::new(),
            amend_days: Vec::new(),
            currencies: HashMap::new(),
            once_wanted: false,
            once: OnceLock::new(),
        };
        for ev in &split.dated {
            parts.note(ev);
        }
        parts.dated = split.dated;
        Ok(parts)
    }

    /// Keeps what [`DatedParts::as_is`] needs to know of an event joining the dated part.
    fn note(&mut self, ev: &Event) {
        use arpilot_core::ledger::Change;
        match ev {
            Event::Amend(a) => {
                let at = self.amend_days.partition_point(|&d| d <= a.effective.0);
                self.amend_days.insert(at, a.effective.0);
                if let Change::DisputeResolved { invoice_id, .. } = &a.change {
                    self.resolving.insert(invoice_id.clone());
                }
            }
            Event::Customer(c) => {
                if let Some(cur) = customer_currency(c) {
                    self.currencies.insert(c.id.clone(), cur);
                }
            }
            _ => {}
        }
    }

    /// These parts with the dated part appended once (the cost of one view), so that each
    /// date's view is a copy written with that date's amounts: for views of several dates.
    fn appended_once(mut self) -> DatedParts {
        self.once_wanted = true;
        let _ = self.once();
        self
    }

    /// The dated part appended once, built now if a change left it to be.
    fn once(&self) -> Option<&Arc<Dated>> {
        if !self.once_wanted {
            return None;
        }
        self.once
            .get_or_init(|| Dated::new(&self.base, &self.dated, self.ledger).map(Arc::new))
            .as_ref()
    }

    /// How a view of the ledger kept for `from` takes `events` appended to it, and is the view
    /// for `to` (its date with them), when it can: they join the base, or are documents and
    /// payments of customers of the dated part (converted at the rates of `to`, see
    /// [`converted_new`]) or their calls and follow-ups; no rate; no dispute opened on an
    /// invoice whose disputes an amendment resolves (appended after the amendment it would stay
    /// open, built again it would not); nothing takes effect after `from` up to `to` (a rate,
    /// an amendment). Such a view differs from one built again only in the order of its rows,
    /// which no figure or list shown depends on (they are ordered by ids and dates, and one
    /// customer's rows keep their order; a reminder run takes its customers in row order).
    /// `None` otherwise.
    /// `pending(id)`: the document or payment `id` joined the base as it is and waits to be
    /// added to it (see [`Current::pending`]).
    fn as_is(
        &self,
        events: &[Event],
        from: Day,
        to: Day,
        pending: impl Fn(&str) -> bool,
    ) -> Option<AsIs> {
        if to != from
            && (!self.rates.unchanged(from, to)
                || self.amend_days[self.amend_days.partition_point(|&d| d <= from.0)..]
                    .first()
                    .is_some_and(|&d| d <= to.0))
        {
            return None;
        }
        let place = self.place(events, pending)?;
        let mut convert = false;
        for (ev, &dated) in events.iter().zip(&place) {
            let fits = match ev {
                Event::Rate(_) | Event::Amend(_) => false,
                Event::Action(_) | Event::Followup(_) => true,
                Event::Document(_) | Event::Payment(_) if dated => {
                    convert = true;
                    true
                }
                Event::Dispute(d) => !dated && !self.resolving.contains(&d.invoice_id),
                _ => !dated,
            };
            if !fits {
                return None;
            }
        }
        let view = if convert {
            let currency = |c: &str| self.currencies.get(c).copied();
            Some(converted_new(
                events,
                to,
                self.ledger,
                &self.rates,
                currency,
            )?)
        } else {
            None
        };
        Some(AsIs { place, view })
    }

    /// Where a new cut of the whole ledger would put each of `events` (true: the dated part;
    /// see [`Dating::place`]); `pending(id)`: the base holds `id` too.
    fn place(&self, events: &[Event], pending: impl Fn(&str) -> bool) -> Option<Vec<bool>> {
        let base = &self.base;
        let in_base = |id: &str| {
            base.invoices.ids.find(id).is_some()
                || base.sources.ids.find(id).is_some()
                || pending(id)
        };
        self.dating.place(events, in_base)
    }

    /// Adds `events`, stored after the `position` events before them, where a new cut of the
    /// whole ledger would put them: the base's appended to it, the others kept with the dated
    /// part. False, with nothing changed, when they would move earlier events (see
    /// [`Dating::place`]) or the base refuses them.
    fn add(&mut self, events: &[Event], position: usize) -> bool {
        match self.place(events, |_| false) {
            Some(place) => self.add_placed(events, &place, position),
            None => false,
        }
    }

    /// [`DatedParts::add`] with the events' places known.
    fn add_placed(&mut self, events: &[Event], place: &[bool], position: usize) -> bool {
        let to_base: Vec<Event> = events
            .iter()
            .zip(place)
            .filter(|(_, dated)| !**dated)
            .map(|(e, _)| e.clone())
            .collect();
        if !to_base.is_empty() && self.base.append(to_base).is_err() {
            return false;
        }
        for (k, (ev, &dated)) in events.iter().zip(place).enumerate() {
            if dated {
                self.note(ev);
                self.dated.push(ev.clone());
                self.dated_at.push((position + k) as u32);
            } else if let Event::Rate(r) = ev {
                self.rates.push(r);
            }
        }
        // The dated part appended once takes the events too when it can (calls, new documents
        // and payments: what a view takes as it is), rather than being built again for the
        // next past date (most of a second at 1 M invoices).
        let once = match self.once.take() {
            Some(Some(once)) => Some(Arc::unwrap_or_clone(once)),
            _ => None,
        };
        let resolved =
            |ev: &Event| matches!(ev, Event::Dispute(d) if self.resolving.contains(&d.invoice_id));
        if let Some(mut once) = once
            && !events.iter().any(resolved)
            && once.extend(events, place, |c| self.currencies.get(c).copied())
        {
            self.once = OnceLock::from(Some(Arc::new(once)));
        }
        true
    }

    /// The view on `d`: the base, then the dated part as `d` sees it.
    pub fn at(&self, d: Day) -> Result<Snapshot, StoreError> {
        let t = std::time::Instant::now();
        if let Some(view) = self.once().and_then(|o| o.at(d, &self.rates)) {
            if std::env::var_os("ARPILOT_TIMING").is_some() {
                eprintln!(
                    "view of {d}: written into the dated part appended once in {:.0} ms",
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
            return view.map_err(|e| StoreError::Target(e.to_string()));
        }
        let base = self.base.clone();
        if std::env::var_os("ARPILOT_TIMING").is_some() {
            eprintln!(
                "view of {d}: base copied in {:.0} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        self.view(base, d)
    }

    /// [`DatedParts::at`] without copying the base, for a single view.
    fn into_view(mut self, d: Day) -> Result<Snapshot, StoreError> {
        let base = std::mem::replace(&mut self.base, Snapshot::new(self.ledger));
        self.view(base, d)
    }

    fn view(&self, base: Snapshot, d: Day) -> Result<Snapshot, StoreError> {
        let t = std::time::Instant::now();
        let mode = CurrencyMode::Convert(self.ledger);
        let events = prepared(&self.dated, Some(d), mode, &self.rates)
            .map_err(|e| StoreError::Target(e.to_string()))?;
        let t_prep = t.elapsed();
        let n = events.len();
        let r = base.extended(events).map_err(|e| {
            // Amendments left out for `d` shift the positions: count them back.
            let k = self
                .dated
                .iter()
                .enumerate()
                .filter(|(_, e)| !matches!(e, Event::Amend(a) if a.effective > d))
                .nth(e.index)
                .map_or(e.index, |(k, _)| k);
            inconsistent(
                self.dated_at.get(k).map_or(e.index, |&p| p as usize),
                &e.error,
            )
        });
        if std::env::var_os("ARPILOT_TIMING").is_some() {
            eprintln!(
                "view of {d}: {n} dated events prepared in {:.0} ms, appended to the base by {:.0} ms",
                t_prep.as_secs_f64() * 1e3,
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        r
    }
}

/// How new events join a dated ledger's views as they are (see [`DatedParts::as_is`]).
struct AsIs {
    /// Per event, true when it joins the dated part.
    place: Vec<bool>,
    /// The events as the current view takes them, when some are converted.
    view: Option<Vec<Event>>,
}

impl AsIs {
    /// The events the current view takes for `events`.
    fn view<'a>(&'a self, events: &'a [Event]) -> &'a [Event] {
        self.view.as_deref().unwrap_or(events)
    }
}

fn inconsistent(position: usize, error: &arpilot_core::LedgerError) -> StoreError {
    StoreError::Target(format!(
        "the stored ledger is inconsistent at event {}: {}",
        position + 1,
        error
    ))
}

/// The last document or payment date of events: a ledger's default as-of date (today's reports
/// of a demo ledger end there).
pub fn last_event_day(events: &[Event]) -> Day {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Document(d) => Some(d.issue.0),
            Event::Payment(p) => Some(p.date.0),
            _ => None,
        })
        .max()
        .map_or(Day(0), Day)
}

/// The reporting currency a stored ledger was given by its first import, if any.
pub async fn stored_currency(store: &impl LedgerStore) -> Result<Option<Currency>, StoreError> {
    Ok(store
        .meta("currency")
        .await?
        .and_then(|c| Currency::parse(&c).ok()))
}

/// The reporting currency of a stored ledger (EUR until something is imported).
pub async fn ledger_currency(store: &impl LedgerStore) -> Result<Currency, StoreError> {
    Ok(stored_currency(store).await?.unwrap_or(Currency::EUR))
}

/// The stored ledger as a report as of `as_of` sees it (default: its last date); `only` keeps one
/// transaction currency, unconverted.
pub async fn load(
    store: &impl LedgerStore,
    as_of: Option<Day>,
    only: Option<Currency>,
) -> Result<View, StoreError> {
    Ok(load_counted(store, as_of, only, false).await?.0)
}

/// [`load`] for the server's views when `views`: with the content counts of the events matched
/// by content (see [`Unkeyed`]) and a dated ledger's parts ([`DatedParts`]). The view comes from
/// the ledger's image and the events stored after it when the image matches the ledger and the
/// view asked for is the one it holds; the store position of the image used, if one was.
async fn load_counted(
    store: &impl LedgerStore,
    as_of: Option<Day>,
    only: Option<Currency>,
    views: bool,
) -> Result<(View, Unkeyed, Option<i64>), StoreError> {
    let ledger = ledger_currency(store).await?;
    if only.is_none() {
        let t = std::time::Instant::now();
        match crate::image::read(store, ledger, crate::image::Reading::Copy).await {
            Ok(Some(kept)) => {
                let at = kept.events;
                if let Some((v, u)) = from_image(store, kept, as_of, ledger).await? {
                    if std::env::var_os("ARPILOT_TIMING").is_some() {
                        eprintln!(
                            "snapshot read from the image in {:.2} s ({} events, {} after it)",
                            t.elapsed().as_secs_f64(),
                            v.events,
                            v.events - at
                        );
                    }
                    return Ok((v, u, Some(at)));
                }
            }
            Ok(None) => {}
            // The fallback is the same view, and the server writes a new image: a diagnostic.
            Err(why) if std::env::var_os("ARPILOT_TIMING").is_some() => {
                eprintln!("the ledger's image is not used ({why}); reading the ledger")
            }
            Err(_) => {}
        }
    }
    let mode = match only {
        Some(c) => CurrencyMode::Only(c),
        None => CurrencyMode::Convert(ledger),
    };
    let t = std::time::Instant::now();
    let loaded = store.load().await?;
    let last_seq = loaded.last_seq;
    let mut events = loaded.events;
    let count = events.len() as i64;
    let mut unkeyed = Unkeyed::default();
    if views {
        unkeyed.add(&events);
    }
    let t_load = t.elapsed();
    let dated = depends_on_date(&events, ledger);
    let as_of = as_of.unwrap_or_else(|| last_event_day(&events));
    let (snapshot, parts) = if dated && only.is_none() {
        // One construction for every date (see `split_dated`), kept for the views' other dates.
        let parts = DatedParts::new(events, ledger)?;
        if views {
            let parts = parts.appended_once();
            (parts.at(as_of)?, Some(Arc::new(parts)))
        } else {
            (parts.into_view(as_of)?, None)
        }
    } else {
        prepare(&mut events, Some(as_of), mode).map_err(|e| StoreError::Target(e.to_string()))?;
        let s = Snapshot::build(mode.currency(), events)
            .map_err(|e| inconsistent(e.index, &e.error))?;
        (s, None)
    };
    if std::env::var_os("ARPILOT_TIMING").is_some() {
        eprintln!(
            "ledger read in {:.2} s, snapshot built in {:.2} s",
            t_load.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok((
        View {
            snapshot,
            as_of,
            dated,
            events: count,
            last_seq,
            parts,
        },
        unkeyed,
        None,
    ))
}

/// The view as of `as_of` from an image and the events stored after it. `None` when the image
/// cannot give it (see [`catch_up`]), or holds a ledger whose dates differ and another date is
/// asked for.
async fn from_image(
    store: &impl LedgerStore,
    kept: crate::image::Kept,
    as_of: Option<Day>,
    ledger: Currency,
) -> Result<Option<(View, Unkeyed)>, StoreError> {
    let Some(k) = catch_up(store, kept, ledger).await? else {
        return Ok(None);
    };
    if k.dated && as_of.is_some_and(|d| d != k.latest) {
        return Ok(None);
    }
    Ok(Some((
        View {
            snapshot: k.snapshot,
            as_of: as_of.unwrap_or(k.latest),
            dated: k.dated,
            events: k.events,
            last_seq: k.last_seq,
            parts: None,
        },
        k.unkeyed,
    )))
}

/// An image brought up to the store: the events stored after it read and appended. `None` when
/// they make the ledger's dates differ (amendments, other currencies) or the snapshot refuses one
/// (a build from the store then says which).
pub(crate) async fn catch_up(
    store: &impl LedgerStore,
    mut kept: crate::image::Kept,
    ledger: Currency,
) -> Result<Option<crate::image::Kept>, StoreError> {
    let new = store.load_since(kept.last_seq).await?;
    if new.events.is_empty() {
        return Ok(Some(kept));
    }
    if kept.dated
        || depends_on_date(&new.events, ledger)
        || kept.snapshot.append(new.events.iter().cloned()).is_err()
    {
        return Ok(None);
    }
    kept.unkeyed.add(&new.events);
    kept.latest = kept.latest.max(last_event_day(&new.events));
    kept.events += new.events.len() as i64;
    kept.last_seq = new.last_seq;
    Ok(Some(kept))
}

/// What synchronisation needs of the ledger beyond the snapshot, kept with the views so that a
/// batch can be planned without reading the stored events: how many times each action, rate and
/// follow-up is in the ledger by content (pushes and imports match them by content: the same
/// call logged twice is one call), and the content of each customer's current record.
#[derive(Default)]
pub(crate) struct Unkeyed {
    pub(crate) counts: ContentCounts,
    /// Customer id → content hash of its current record, and whether an amendment set it (an
    /// amendment's record stays current whatever comes after, as in the synchronisation).
    pub(crate) customers: Map<String, (u128, bool)>,
}

impl Unkeyed {
    fn counted(ev: &Event) -> bool {
        matches!(ev, Event::Action(_) | Event::Rate(_) | Event::Followup(_))
    }

    pub(crate) fn add(&mut self, events: &[Event]) {
        use arpilot_core::ledger::Change;
        for ev in events {
            match ev {
                Event::Customer(c) => {
                    let h = content_hash(ev);
                    let e = self.customers.entry(c.id.clone()).or_insert((h, false));
                    if !e.1 {
                        e.0 = h;
                    }
                }
                Event::Amend(a) => {
                    if let Change::Customer(c) = &a.change {
                        let h = content_hash(&Event::Customer(c.clone()));
                        self.customers.insert(c.id.clone(), (h, true));
                    }
                }
                _ if Unkeyed::counted(ev) => {
                    *self.counts.added.entry(content_hash(ev)).or_default() += 1;
                }
                _ => {}
            }
        }
    }
}

/// Events by content hash: the counts read with an image, sorted by hash and searched (a start
/// does not hash a million calls again), and those counted since.
#[derive(Default)]
pub(crate) struct ContentCounts {
    /// Sorted by hash, each hash once.
    pub(crate) read: Vec<(u128, u32)>,
    pub(crate) added: Map<u128, u32>,
}

impl ContentCounts {
    pub(crate) fn get(&self, h: u128) -> u32 {
        let read = self
            .read
            .binary_search_by_key(&h, |x| x.0)
            .map_or(0, |k| self.read[k].1);
        read + self.added.get(&h).copied().unwrap_or(0)
    }

    /// Every count, sorted by hash.
    pub(crate) fn sorted(&self) -> Vec<(u128, u32)> {
        let mut all = self.read.clone();
        let mut more = Vec::new();
        for (&h, &n) in &self.added {
            match all.binary_search_by_key(&h, |x| x.0) {
                Ok(k) => all[k].1 += n,
                Err(_) => more.push((h, n)),
            }
        }
        all.extend(more);
        all.sort_unstable();
        all
    }
}

/// True when a batch may be planned without the stored events (see [`plan_without_reading`]):
/// not empty, in the reporting currency (unless the ledger is `dated` already: the plan only
/// looks at keys), and only of the kinds such a plan decides on — no allocation, amendment, bank
/// receipt, cash decision or reminder. A caller asks before reading an image for it.
pub(crate) fn may_plan_without_reading(events: &[Event], currency: Currency, dated: bool) -> bool {
    !events.is_empty()
        && (dated || !depends_on_date(events, currency))
        && !events.iter().any(|e| {
            matches!(
                e,
                Event::Allocation(_)
                    | Event::Amend(_)
                    | Event::Receipt(_)
                    | Event::Cash(_)
                    | Event::Reminder(_)
            )
        })
}

/// The synchronisation of `events` with the ledger that `snap` and `unkeyed` hold, when it can be
/// decided without the stored events: every keyed event new (customer, document, payment, dispute
/// and promise keys not in the ledger nor twice in the batch) or a customer exactly as the
/// ledger has it; actions, rates and follow-ups counted by content as the synchronisation does;
/// no amendment, allocation, bank receipt, cash decision or reminder; one currency. The same plan
/// as [`arpilot_core::sync::plan`] would make; otherwise the events are handed back.
pub(crate) fn plan_without_reading(
    snap: &Snapshot,
    unkeyed: &Unkeyed,
    events: Vec<Event>,
    dated: bool,
) -> Result<arpilot_core::sync::Plan, Vec<Event>> {
    if !may_plan_without_reading(&events, snap.currency, dated) {
        return Err(events);
    }
    let mut seen: HashSet<(u8, &str, i32)> = HashSet::new();
    let mut used: HashMap<u128, u32> = HashMap::new();
    let dispute_on = |inv: &str, day: Day| {
        snap.invoices.ids.find(inv).is_some_and(|i| {
            snap.disputes_of(i)
                .any(|r| snap.disputes[r].opened == day.0)
        })
    };
    let promise_on = |inv: &str, day: Day| {
        snap.invoices.ids.find(inv).is_some_and(|i| {
            snap.promises_of(i)
                .any(|r| snap.promises[r].promised_on == day.0)
        })
    };
    // Per event: Some(true) new, Some(false) already in the ledger, None undecidable here.
    let mut verdicts = Vec::with_capacity(events.len());
    for ev in &events {
        let v = match ev {
            Event::Customer(x) => {
                if !seen.insert((0, &x.id, 0)) {
                    None
                } else if snap.customers.ids.find(&x.id).is_none() {
                    Some(true)
                } else {
                    let current = unkeyed.customers.get(&x.id).map(|c| c.0);
                    (current == Some(content_hash(ev))).then_some(false)
                }
            }
            Event::Document(x) => (snap.invoices.ids.find(&x.id).is_none()
                && snap.sources.ids.find(&x.id).is_none()
                && seen.insert((1, &x.id, 0)))
            .then_some(true),
            Event::Payment(x) => (snap.sources.ids.find(&x.id).is_none()
                && snap.invoices.ids.find(&x.id).is_none()
                && seen.insert((1, &x.id, 0)))
            .then_some(true),
            Event::Dispute(x) => (!dispute_on(&x.invoice_id, x.opened_on)
                && seen.insert((2, &x.invoice_id, x.opened_on.0)))
            .then_some(true),
            Event::Promise(x) => (!promise_on(&x.invoice_id, x.promised_on)
                && seen.insert((3, &x.invoice_id, x.promised_on.0)))
            .then_some(true),
            Event::Action(_) | Event::Rate(_) | Event::Followup(_) => {
                let h = content_hash(ev);
                let stored = unkeyed.counts.get(h);
                let u = used.entry(h).or_default();
                if *u < stored {
                    *u += 1;
                    Some(false)
                } else {
                    Some(true)
                }
            }
            // The kinds `may_plan_without_reading` refused.
            _ => None,
        };
        match v {
            Some(new) => verdicts.push(new),
            None => return Err(events),
        }
    }
    if verdicts.iter().all(|&new| new) {
        return Ok(arpilot_core::sync::Plan::all_new(events));
    }
    let mut plan = arpilot_core::sync::Plan::default();
    for (i, (ev, new)) in events.into_iter().zip(verdicts).enumerate() {
        if new {
            plan.append.push(ev);
            plan.origin.push(i);
        } else {
            plan.unchanged += 1;
        }
    }
    Ok(plan)
}

/// What a long-running process (the server) keeps of the ledger: the view at its last date,
/// the last views of other dates, and where in the store they were built from.
pub struct Views {
    current: RwLock<Current>,
    /// The last views built for other dates.
    others: Mutex<Vec<(Day, Arc<Snapshot>)>>,
    /// Taken by whatever moves the current view forward (a refresh, a rebuild, an append), so
    /// that each stored event enters it once.
    writer: tokio::sync::Mutex<()>,
    unkeyed: Mutex<Unkeyed>,
    /// What the views' moves forward touched since [`Views::take_touched`] last asked.
    touched: Mutex<Touched>,
    /// The worklist on the current view's date, kept up to date on append.
    worklist: Mutex<KeptWorklist>,
    /// Held while the whole worklist is computed: one computation at a time, the others wait
    /// for its result.
    warming: Mutex<()>,
    /// How many times the whole worklist was computed.
    whole_worklists: std::sync::atomic::AtomicU64,
    /// Events held by the ledger's image on disk as far as this process knows (-1: none).
    image_events: std::sync::atomic::AtomicI64,
    /// Background work holding the current view, and a writer asking for it back.
    yielding: Arc<Yielding>,
}

/// The current view is one snapshot that a writer changes in place when no reader holds it,
/// and copies (a gigabyte at 10 M invoices, most of a second) when one does. Page requests hold
/// it for milliseconds; background work (the whole worklist, the ledger's image) for seconds.
/// That work holds it as [`Held`] and gives it back when a writer asks, to start again later,
/// so that a push never waits for a copy because of it.
#[derive(Default)]
struct Yielding {
    /// [`Held`] snapshots alive.
    held: std::sync::atomic::AtomicUsize,
    /// A writer waits for the current view: held snapshots are to be given back.
    asked: std::sync::atomic::AtomicBool,
}

impl Yielding {
    fn asked(&self) -> bool {
        self.asked.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The current view held by background work that gives it back when a writer asks (see
/// [`Yielding`]): [`Held::asked`] tells it to stop; dropping it gives the view back.
pub struct Held {
    snapshot: Option<Arc<Snapshot>>,
    yielding: Arc<Yielding>,
    /// Given back when asked (counted in [`Yielding::held`]); otherwise held to the end.
    gives_way: bool,
}

impl Held {
    /// A snapshot no live view shares (the whole ledger an import checked its batch on), held
    /// to the end.
    pub(crate) fn alone(snapshot: Snapshot) -> Held {
        Held {
            snapshot: Some(Arc::new(snapshot)),
            yielding: Arc::default(),
            gives_way: false,
        }
    }

    /// A writer waits for this view: stop and drop it.
    pub fn asked(&self) -> bool {
        self.gives_way && self.yielding.asked()
    }
}

impl std::ops::Deref for Held {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        self.snapshot.as_deref().expect("held until dropped")
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // The view first, the count after: a writer counting holders never misses this one.
        self.snapshot = None;
        if self.gives_way {
            self.yielding
                .held
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Given back by [`Views::make_room`]: the writer's request ends with it.
struct Room<'a>(&'a Yielding);

impl Drop for Room<'_> {
    fn drop(&mut self) {
        self.0
            .asked
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How long a writer waits for background work to give the view back before copying it.
const ROOM_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// The worklist of every customer on one date ([`Memo`]) and, since the state it reflects, the
/// customer rows each append touched, by the generation the append gave the snapshot. A request
/// brings it forward to its snapshot; an append touching everyone (a rate) drops it.
#[derive(Default)]
struct KeptWorklist {
    memo: Option<Arc<Memo>>,
    steps: Vec<(u64, Vec<u32>)>,
    /// Renewed by every reset: a worklist computed from a snapshot taken before a reset (a
    /// rebuild, a rate) is not kept, since the steps that would bring it forward are gone.
    epoch: u64,
    /// The index of customers' rows as far as a computation given up got (rows are only
    /// appended until a reset): the next one goes on from there.
    index: ByCustomer,
}

/// Appends remembered while no worklist is kept; past that, a new one is computed anyway.
const MAX_STEPS: usize = 4096;

impl KeptWorklist {
    /// Forgets the worklist and the steps: everyone's rows may have changed.
    fn reset(&mut self) {
        *self = KeptWorklist {
            epoch: self.epoch + 1,
            ..KeptWorklist::default()
        };
    }

    /// Forgets the steps the memo already reflects.
    fn trim(&mut self) {
        if let Some(m) = &self.memo {
            let g = m.generation();
            self.steps.retain(|(s, _)| *s > g);
        }
    }
}

/// What a change of the ledger touched: who needs to be told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Touched {
    #[default]
    Nothing,
    /// These customers and documents (invoices, credit notes, payments) by id.
    Some {
        customers: std::collections::BTreeSet<String>,
        documents: std::collections::BTreeSet<String>,
    },
    /// Anything: the views were rebuilt, a rate or a setting changed.
    Everything,
}

impl Touched {
    /// Adds what `events` touch; `snap` (holding them) gives the customer of an invoice.
    pub fn add(&mut self, snap: &Snapshot, events: &[Event]) {
        use arpilot_core::ledger::{Change, Event as E};
        if matches!(self, Touched::Everything) || events.is_empty() {
            return;
        }
        // A rate changes every amount; receipts and cash decisions other than an application
        // change the unapplied cash everyone in the company sees.
        let everywhere = |e: &E| match e {
            E::Rate(_) | E::Receipt(_) => true,
            E::Cash(c) => !matches!(c.decision, arpilot_core::ledger::Decision::Apply { .. }),
            _ => false,
        };
        if events.iter().any(everywhere) {
            *self = Touched::Everything;
            return;
        }
        if matches!(self, Touched::Nothing) {
            *self = Touched::Some {
                customers: Default::default(),
                documents: Default::default(),
            };
        }
        let Touched::Some {
            customers,
            documents,
        } = self
        else {
            return;
        };
        let mut doc = |id: &str| {
            documents.insert(id.to_string());
            let customer = snap
                .invoices
                .ids
                .find(id)
                .map(|i| snap.invoices.customer[i as usize])
                .or_else(|| {
                    snap.sources
                        .ids
                        .find(id)
                        .map(|s| snap.sources.customer[s as usize])
                });
            customer.map(|c| snap.customers.ids.get(c).to_string())
        };
        for ev in events {
            let customer = match ev {
                E::Customer(c) => Some(c.id.clone()),
                E::Document(d) => {
                    doc(&d.id);
                    Some(d.customer_id.clone())
                }
                E::Payment(p) => {
                    doc(&p.id);
                    Some(p.customer_id.clone())
                }
                E::Allocation(a) => {
                    doc(&a.source_id);
                    doc(&a.invoice_id)
                }
                E::Dispute(d) => doc(&d.invoice_id),
                E::Promise(p) => doc(&p.invoice_id),
                E::Action(a) => Some(a.customer_id.clone()),
                E::Followup(f) => Some(f.customer_id.clone()),
                E::Reminder(r) => Some(r.customer_id.clone()),
                E::Amend(a) => match &a.change {
                    Change::DueDate { document_id, .. } | Change::InLegal { document_id, .. } => {
                        doc(document_id)
                    }
                    Change::DisputeResolved { invoice_id, .. } => doc(invoice_id),
                    Change::Customer(c) => Some(c.id.clone()),
                },
                E::Cash(c) => match &c.decision {
                    arpilot_core::ledger::Decision::Apply {
                        customer_id,
                        invoices,
                        ..
                    } => {
                        for (i, _) in invoices {
                            doc(i);
                        }
                        doc(&c.receipt_id);
                        Some(customer_id.clone())
                    }
                    _ => None,
                },
                E::Rate(_) | E::Receipt(_) => None,
            };
            if let Some(c) = customer {
                customers.insert(c);
            }
        }
    }

    /// Adds what `other` touched.
    fn merge(&mut self, other: &Touched) {
        match (&mut *self, other) {
            (_, Touched::Nothing) | (Touched::Everything, _) => {}
            (Touched::Nothing, _) | (_, Touched::Everything) => *self = other.clone(),
            (
                Touched::Some {
                    customers,
                    documents,
                },
                Touched::Some {
                    customers: c,
                    documents: d,
                },
            ) => {
                customers.extend(c.iter().cloned());
                documents.extend(d.iter().cloned());
            }
        }
    }

    /// True when a caller restricted to `sel` sees something of the change.
    pub fn seen_by(&self, snap: &Snapshot, sel: &arpilot_core::select::Selection) -> bool {
        let (customers, documents) = match self {
            Touched::Nothing => return false,
            Touched::Everything => return true,
            Touched::Some {
                customers,
                documents,
            } => (customers, documents),
        };
        if sel.is_all() {
            return true;
        }
        let rows: Vec<u32> = customers
            .iter()
            .filter_map(|c| snap.customers.ids.find(c))
            .filter(|&c| sel.customer(c))
            .collect();
        if !sel.doc_level || rows.is_empty() {
            return !rows.is_empty();
        }
        // A portfolio on document fields: the change must concern one of its documents, or a
        // customer holding one.
        documents.iter().any(|d| {
            snap.invoices
                .ids
                .find(d)
                .is_some_and(|i| sel.invoice(snap, i as usize))
                || snap
                    .sources
                    .ids
                    .find(d)
                    .is_some_and(|s| sel.source(snap, s as usize))
        }) || (0..snap.invoice_count())
            .any(|i| rows.contains(&snap.invoices.customer[i]) && sel.invoice(snap, i))
    }
}

struct Current {
    snapshot: Arc<Snapshot>,
    /// The view's date: the pages' default as-of date.
    latest: Day,
    /// True when other dates see the ledger differently (amendments, other currencies).
    dated: bool,
    /// Stored events the view holds, and the store's position after the last of them.
    events: i64,
    last_seq: i64,
    /// What other dates' views are built from (a dated ledger; `None` until read after a start
    /// from the image).
    parts: Option<Arc<DatedParts>>,
    /// Events the current view took as they are (see [`DatedParts::as_is`]) and the parts do
    /// not hold yet, with their places (true: the dated part), from store position
    /// `pending_at`; the ids of the documents and payments among them that join the base.
    /// They are added to the parts when a past date, a rebuild or a quiet moment needs them:
    /// a push never copies the parts, even while they are being read.
    pending: Vec<(Event, bool)>,
    pending_at: usize,
    pending_ids: HashSet<String>,
}

/// How the views caught up with the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// Nothing new.
    Unchanged,
    /// Only the new events were read and appended to the current view.
    Appended(usize),
    /// The views were built again from the whole ledger (amendments, other currencies, or an
    /// event the current view refused).
    Rebuilt,
}

impl Views {
    pub async fn open(store: &impl LedgerStore) -> Result<Views, StoreError> {
        let (v, unkeyed, image) = load_counted(store, None, None, true).await?;
        Ok(Views {
            image_events: std::sync::atomic::AtomicI64::new(image.unwrap_or(-1)),
            current: RwLock::new(Current::of(v)),
            others: Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(()),
            unkeyed: Mutex::new(unkeyed),
            touched: Mutex::new(Touched::Nothing),
            worklist: Mutex::new(KeptWorklist::default()),
            warming: Mutex::new(()),
            whole_worklists: Default::default(),
            yielding: Default::default(),
        })
    }

    /// The worklist on `d` of the customers `sel` keeps, highest score first, from the kept
    /// worklist brought forward to `snap` (only the customers touched since are computed
    /// again). `None` when it cannot answer: another date or settings, a selection of
    /// documents, a snapshot it does not know how to reach (then compute it whole).
    pub fn worklist(
        &self,
        snap: &Snapshot,
        sel: &Selection,
        d: Day,
        thresholds: &RatingThresholds,
    ) -> Option<Vec<Arc<WorklistRow>>> {
        let params = WorklistParams::default();
        if !sel.customers_only() {
            return None;
        }
        // The current date without a kept worklist (start-up, the date moved): compute it once
        // here rather than a list for this request alone.
        if d == self.latest() {
            self.warm_worklist(thresholds);
        }
        let mut kept = self.worklist.lock().expect("worklist lock");
        let memo = kept.memo.as_ref()?;
        if !memo.answers(d, thresholds, &params) {
            return None;
        }
        let from = memo.generation();
        if from != snap.generation() {
            // The appends from the memo's state to the snapshot's, in order.
            let start = kept.steps.iter().position(|(g, _)| *g > from)?;
            let end = kept
                .steps
                .iter()
                .position(|(g, _)| *g == snap.generation())?;
            let mut touched = Vec::new();
            for (_, rows) in kept.steps.get(start..=end)? {
                touched.extend(rows);
            }
            let memo = kept.memo.as_mut().expect("checked");
            if Arc::make_mut(memo).update(snap, &touched) {
                self.counted_whole();
            }
            kept.trim();
        }
        Some(kept.memo.as_ref().expect("checked").list(sel))
    }

    /// How many times the whole worklist was computed (at start-up, when the date moved, when
    /// everyone's rows changed): the other appends only computed the customers they touched.
    pub fn whole_worklists(&self) -> u64 {
        self.whole_worklists
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn counted_whole(&self) {
        self.whole_worklists
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Computes the worklist of every customer on the current view's date unless one is kept
    /// for it (one pass over the ledger; run it off the async workers). The server does it at
    /// start-up and when the date moves, so that no request waits for it.
    pub fn warm_worklist(&self, thresholds: &RatingThresholds) {
        self.warm(thresholds, false);
    }

    /// [`Views::warm_worklist`] for background work: it gives the view back to a writer that
    /// asks for it (see [`Yielding`]) and then answers false, to be tried again later.
    pub fn warm_worklist_giving_way(&self, thresholds: &RatingThresholds) -> bool {
        self.warm(thresholds, true)
    }

    fn warm(&self, thresholds: &RatingThresholds, gives_way: bool) -> bool {
        let params = WorklistParams::default();
        // The epoch before the snapshot: a reset after it refuses what is computed from it.
        let epoch = self.worklist.lock().expect("worklist lock").epoch;
        let (snap, d) = {
            let c = self.read();
            match self.hold(&c, gives_way) {
                Some(h) => (h, c.latest),
                None => return false,
            }
        };
        let answers = |k: &KeptWorklist| {
            k.memo
                .as_ref()
                .is_some_and(|m| m.answers(d, thresholds, &params))
        };
        if answers(&self.worklist.lock().expect("worklist lock")) {
            return true;
        }
        let _one = self.warming.lock().expect("warming lock");
        // Computed meanwhile by the holder of the lock.
        if answers(&self.worklist.lock().expect("worklist lock")) {
            return true;
        }
        let t = std::time::Instant::now();
        let asked = || snap.asked();
        // The index of an earlier attempt, unless a reset came since the epoch was read.
        let mut index = {
            let mut kept = self.worklist.lock().expect("worklist lock");
            if kept.epoch == epoch {
                std::mem::take(&mut kept.index)
            } else {
                ByCustomer::default()
            }
        };
        let memo = Memo::resumed_unless(
            &snap,
            d,
            thresholds,
            &params,
            &Stop::new(&asked),
            &mut index,
        );
        let Some(memo) = memo else {
            let mut kept = self.worklist.lock().expect("worklist lock");
            if kept.epoch == epoch {
                kept.index = index;
            }
            drop(kept);
            if std::env::var_os("ARPILOT_TIMING").is_some() {
                eprintln!(
                    "worklist given up after {:.1} ms: a writer asked for the view",
                    t.elapsed().as_secs_f64() * 1000.0
                );
            }
            return false;
        };
        self.counted_whole();
        if std::env::var_os("ARPILOT_TIMING").is_some() {
            eprintln!(
                "worklist of {} customers computed in {:.1} ms",
                snap.customers.names.len(),
                t.elapsed().as_secs_f64() * 1000.0
            );
        }
        drop(snap);
        let mut kept = self.worklist.lock().expect("worklist lock");
        if !answers(&kept) && kept.epoch == epoch {
            kept.memo = Some(Arc::new(memo));
            kept.trim();
        }
        true
    }

    /// The current view for work that holds it long; `gives_way`: given back when a writer
    /// asks (`None` while one does).
    fn hold(&self, c: &Current, gives_way: bool) -> Option<Held> {
        if gives_way {
            // Under the view's lock: a writer that asked before sees this holder, one that
            // asks after is seen here.
            if self.yielding.asked() {
                return None;
            }
            self.yielding
                .held
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Some(Held {
            snapshot: Some(c.snapshot.clone()),
            yielding: Arc::clone(&self.yielding),
            gives_way,
        })
    }

    /// Asks background work holding the current view to give it back and waits for it (up to
    /// [`ROOM_WAIT`]), so that the caller changes the view in place rather than copying it.
    /// Pointless while a request holds the view too: then it returns at once. Until the
    /// returned value is dropped, no background work takes the view.
    async fn make_room(&self) -> Room<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        self.yielding.asked.store(true, SeqCst);
        let room = Room(&self.yielding);
        let t = std::time::Instant::now();
        loop {
            let others = Arc::strong_count(&self.read().snapshot) - 1;
            let giving_way = self.yielding.held.load(SeqCst);
            if others == 0 || others > giving_way || t.elapsed() >= ROOM_WAIT {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        if std::env::var_os("ARPILOT_TIMING").is_some() && t.elapsed().as_micros() > 500 {
            eprintln!(
                "waited {:.1} ms for background work to give the view back",
                t.elapsed().as_secs_f64() * 1000.0
            );
        }
        room
    }

    /// Stored events the current view holds beyond the ledger's image: how far behind the image
    /// is; `None` while there is no image (none was found at start nor written since).
    pub fn image_behind(&self) -> Option<i64> {
        let at = self.image_events.load(std::sync::atomic::Ordering::Relaxed);
        (at >= 0).then(|| self.read().events - at)
    }

    /// The current view as an image to write ([`crate::image::Job::write`], off the async
    /// workers); `None` when the store keeps no image or the ledger is empty.
    /// `gives_way`: the job gives the view back to a writer asking for it (see [`Yielding`];
    /// it is written then as [`crate::image::Written::GaveWay`], to be tried again later).
    pub async fn image_job(
        &self,
        store: &impl LedgerStore,
        gives_way: bool,
    ) -> Result<Option<crate::image::Job>, StoreError> {
        // The writer's lock: the view and the counts of the same moment.
        let _w = self.writer.lock().await;
        let (snapshot, latest, dated, events, last_seq) = {
            let c = self.read();
            let Some(held) = self.hold(&c, gives_way) else {
                return Ok(None);
            };
            (held, c.latest, c.dated, c.events, c.last_seq)
        };
        let unkeyed = crate::image::Matching::of(&self.unkeyed.lock().expect("unkeyed lock"));
        crate::image::job(store, snapshot, unkeyed, latest, dated, events, last_seq).await
    }

    /// `job` was written: the image holds its events.
    pub fn image_written(&self, job: &crate::image::Job) {
        self.image_events
            .store(job.events(), std::sync::atomic::Ordering::Relaxed);
    }

    /// What changed since the last call (and forgets it): whom to tell.
    pub fn take_touched(&self) -> Touched {
        std::mem::take(&mut *self.touched.lock().expect("touched lock"))
    }

    fn touch(&self, snap: &Snapshot, events: &[Event]) {
        // What these events touched, once: for the pages to tell and for the kept worklist.
        let mut this = Touched::Nothing;
        this.add(snap, events);
        self.touched.lock().expect("touched lock").merge(&this);
        let rows = match this {
            Touched::Everything => None,
            Touched::Nothing => Some(Vec::new()),
            Touched::Some { customers, .. } => Some(
                customers
                    .iter()
                    .filter_map(|c| snap.customers.ids.find(c))
                    .collect(),
            ),
        };
        let mut kept = self.worklist.lock().expect("worklist lock");
        match rows {
            // Everyone's rows change (a rate): compute the list again.
            None => kept.reset(),
            Some(_) if kept.steps.len() >= MAX_STEPS => kept.reset(),
            Some(rows) => kept.steps.push((snap.generation(), rows)),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current.read().expect("view lock")
    }

    /// The view at the ledger's last date.
    pub fn current(&self) -> Arc<Snapshot> {
        self.read().snapshot.clone()
    }

    /// The default as-of date: the ledger's last document or payment date.
    pub fn latest(&self) -> Day {
        self.read().latest
    }

    /// The view at the ledger's last date and the store's position it was built up to.
    pub fn current_at(&self) -> (Arc<Snapshot>, i64) {
        let c = self.read();
        (c.snapshot.clone(), c.last_seq)
    }

    /// Stored events the current view holds.
    pub fn loaded(&self) -> i64 {
        self.read().events
    }

    /// The ledger as seen on `as_of`: the current view, unless amendments or currencies make
    /// another date look different (such views are built on demand and the last four kept).
    pub async fn at(
        &self,
        store: &impl LedgerStore,
        as_of: Option<Day>,
    ) -> Result<Arc<Snapshot>, StoreError> {
        let Some(d) = as_of else {
            return Ok(self.current());
        };
        {
            let c = self.read();
            if !c.dated || d == c.latest {
                return Ok(c.snapshot.clone());
            }
        }
        if let Some(v) = self
            .others
            .lock()
            .expect("views lock")
            .iter()
            .find(|v| v.0 == d)
        {
            return Ok(v.1.clone());
        }
        // The parts with every event the current view holds, and the position they are at.
        let (parts, at) = loop {
            {
                let c = self.read();
                if c.pending.is_empty() {
                    break (c.parts.clone(), c.last_seq);
                }
            }
            self.add_pending().await;
        };
        let snap = match parts {
            // Built from memory, off the async workers.
            Some(p) => Arc::new(
                tokio::task::spawn_blocking(move || p.at(d))
                    .await
                    .map_err(|e| StoreError::Target(format!("view of {d}: {e}")))??,
            ),
            None => Arc::new(load(store, Some(d), None).await?.snapshot),
        };
        // Kept only if nothing changed meanwhile (a change clears the kept views).
        let mut others = self.others.lock().expect("views lock");
        if self.read().last_seq == at {
            if others.len() >= 4 {
                others.remove(0);
            }
            others.push((d, snap.clone()));
        }
        Ok(snap)
    }

    /// A dated ledger's views with `events` (stored up to position `end`) joined from the parts
    /// kept in memory (see [`DatedParts::add`]), without reading the store. False when they
    /// cannot be: build the views again from the store then.
    async fn joined_dated(&self, events: &[Event], end: i64) -> Result<bool, StoreError> {
        self.add_pending_locked();
        let (parts, latest, count) = {
            let mut c = self.current.write().expect("view lock");
            let Some(p) = c.parts.take() else {
                return Ok(false);
            };
            (p, c.latest.max(last_event_day(events)), c.events)
        };
        let evs = events.to_vec();
        let built = tokio::task::spawn_blocking(move || {
            // Held by the current view alone, unless a past date is being built from it.
            let mut parts = Arc::unwrap_or_clone(parts);
            if !parts.add(&evs, count as usize) {
                return None;
            }
            let snap = parts.at(latest).ok()?;
            Some((parts, snap))
        })
        .await
        .map_err(|e| StoreError::Target(format!("views with new events: {e}")))?;
        let Some((parts, snap)) = built else {
            return Ok(false);
        };
        {
            let mut c = self.current.write().expect("view lock");
            c.snapshot = Arc::new(snap);
            c.parts = Some(Arc::new(parts));
            c.latest = latest;
            c.events += events.len() as i64;
            c.last_seq = end;
        }
        self.unkeyed.lock().expect("unkeyed lock").add(events);
        self.others.lock().expect("views lock").clear();
        // Rows of the customers after a new one moved: the kept worklist is computed again.
        self.worklist.lock().expect("worklist lock").reset();
        let snap = self.current();
        self.touched
            .lock()
            .expect("touched lock")
            .add(&snap, events);
        Ok(true)
    }

    /// Reads what the views of other dates are built from, when the current view of a dated
    /// ledger came without it (from the ledger's image): once, in the background after a start,
    /// so that a first past date is built from memory.
    pub async fn warm_dated(&self, store: &impl LedgerStore) -> Result<(), StoreError> {
        {
            // Under the writer's lock: a change being joined takes the parts out meanwhile.
            let _w = self.writer.lock().await;
            let c = self.read();
            if !c.dated || c.parts.is_some() {
                return Ok(());
            }
        }
        // Read and built without the writer's lock: pushes meanwhile are not held up for
        // seconds; the parts are kept only if the views are still at the position read.
        let ledger = ledger_currency(store).await?;
        let loaded = store.load().await?;
        let at = loaded.last_seq;
        let parts = tokio::task::spawn_blocking(move || {
            DatedParts::new(loaded.events, ledger).map(DatedParts::appended_once)
        })
        .await
        .map_err(|e| StoreError::Target(format!("views of other dates: {e}")))??;
        let _w = self.writer.lock().await;
        let mut c = self.current.write().expect("view lock");
        if c.last_seq == at && c.parts.is_none() {
            c.parts = Some(Arc::new(parts));
        }
        Ok(())
    }

    /// Builds what a dated ledger's past dates are written from (the dated part appended once)
    /// when changes left it to be built: for a server, in a quiet moment after them, so that
    /// the first past date asked for does not wait for it. Built off the async workers; changes
    /// arriving meanwhile wait for nothing (they join the parts later).
    pub async fn warm_past_dates(&self) {
        self.add_pending().await;
        let Some(p) = self.read().parts.clone() else {
            return;
        };
        if !p.once_wanted || p.once.get().is_some() {
            return;
        }
        let _ = tokio::task::spawn_blocking(move || {
            let t = std::time::Instant::now();
            let _ = p.once();
            if std::env::var_os("ARPILOT_TIMING").is_some() {
                eprintln!(
                    "dated part appended once again in {:.0} ms",
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
        })
        .await;
    }

    /// Builds the views again from the whole ledger.
    pub async fn reload(&self, store: &impl LedgerStore) -> Result<(), StoreError> {
        let _w = self.writer.lock().await;
        self.rebuild(store).await
    }

    async fn rebuild(&self, store: &impl LedgerStore) -> Result<(), StoreError> {
        let (v, unkeyed, _) = load_counted(store, None, None, true).await?;
        *self.current.write().expect("view lock") = Current::of(v);
        *self.unkeyed.lock().expect("unkeyed lock") = unkeyed;
        self.others.lock().expect("views lock").clear();
        self.worklist.lock().expect("worklist lock").reset();
        *self.touched.lock().expect("touched lock") = Touched::Everything;
        Ok(())
    }

    /// Catches up with the store, reading only the events appended since the views were built:
    /// they are appended to the current view when the ledger looks the same on every date
    /// (no amendment, one currency) or when a dated ledger's views may take them as they are
    /// (see [`DatedParts::as_is`]); otherwise the views are built again.
    pub async fn refresh(&self, store: &impl LedgerStore) -> Result<Refreshed, StoreError> {
        let _w = self.writer.lock().await;
        self.refresh_locked(store).await
    }

    /// [`Views::refresh`] with the writer's lock held.
    async fn refresh_locked(&self, store: &impl LedgerStore) -> Result<Refreshed, StoreError> {
        let (from, dated, currency) = {
            let c = self.read();
            (c.last_seq, c.dated, c.snapshot.currency)
        };
        let new = store.load_since(from).await?;
        if new.events.is_empty() {
            return Ok(Refreshed::Unchanged);
        }
        let n = new.events.len();
        if dated {
            if let Some(as_is) = self.as_is(&new.events)
                && self.append_current(as_is.view(&new.events)).await
            {
                self.joined_as_is(&new.events, new.last_seq, &as_is);
                return Ok(Refreshed::Appended(n));
            }
            if self.joined_dated(&new.events, new.last_seq).await? {
                return Ok(Refreshed::Appended(n));
            }
        } else if !depends_on_date(&new.events, currency) && self.append_current(&new.events).await
        {
            self.joined(&new.events, new.last_seq);
            return Ok(Refreshed::Appended(n));
        }
        self.rebuild(store).await?;
        Ok(Refreshed::Rebuilt)
    }

    /// Appends `events` to the current view (all or nothing). Readers keep the snapshot they
    /// hold: the view is copied only while one does.
    async fn append_current(&self, events: &[Event]) -> bool {
        // No lock is held across an await: room is made first.
        let _room = self.make_room().await;
        self.append_in_place(events).is_ok()
    }

    /// Appends `events` to the current view (all or nothing), copying it first while a reader
    /// holds it (which `ARPILOT_TIMING` reports: the cost a writer paid for that reader).
    fn append_in_place(&self, events: &[Event]) -> Result<(), arpilot_core::EventError> {
        let mut c = self.current.write().expect("view lock");
        let held = Arc::strong_count(&c.snapshot) - 1;
        let t = std::time::Instant::now();
        let r = Arc::make_mut(&mut c.snapshot).append(events.iter().cloned());
        if held > 0 && std::env::var_os("ARPILOT_TIMING").is_some() {
            eprintln!(
                "the view, held by {held} reader(s), copied for a writer: {:.1} ms with the append",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        r.map(|_| ())
    }

    /// How a dated ledger's current view takes `events` as they are, when it may (see
    /// [`DatedParts::as_is`]; never before its parts are read).
    fn as_is(&self, events: &[Event]) -> Option<AsIs> {
        let c = self.read();
        let to = c.latest.max(last_event_day(events));
        let pending = |id: &str| c.pending_ids.contains(id);
        c.parts.as_ref()?.as_is(events, c.latest, to, pending)
    }

    /// A dated ledger's views once `events`, stored up to position `end`, joined the current
    /// view as they are ([`Views::as_is`]): no view is built again, and the parts kept for
    /// other dates take them later ([`Views::add_pending`]).
    fn joined_as_is(&self, events: &[Event], end: i64, as_is: &AsIs) {
        {
            let mut c = self.current.write().expect("view lock");
            if c.pending.is_empty() {
                c.pending_at = c.events as usize;
            }
            for (ev, &dated) in events.iter().zip(&as_is.place) {
                if !dated
                    && let Event::Document(arpilot_core::ledger::DocumentRec { id, .. })
                    | Event::Payment(arpilot_core::ledger::PaymentRec { id, .. }) = ev
                {
                    c.pending_ids.insert(id.clone());
                }
                c.pending.push((ev.clone(), dated));
            }
        }
        self.joined(events, end);
    }

    /// Adds the events the current view took as they are to the parts kept for other dates
    /// (copied only while a past date is being built from them). With the writer's lock held.
    fn add_pending_locked(&self) {
        let mut c = self.current.write().expect("view lock");
        if c.pending.is_empty() {
            return;
        }
        let (events, place): (Vec<Event>, Vec<bool>) =
            std::mem::take(&mut c.pending).into_iter().unzip();
        c.pending_ids.clear();
        let at = c.pending_at;
        if let Some(parts) = c.parts.as_mut()
            && !Arc::make_mut(parts).add_placed(&events, &place, at)
        {
            // The view took what the base refuses: other dates are read from the store until
            // the views are built again.
            c.parts = None;
        }
    }

    /// [`Views::add_pending_locked`], taking the writer's lock when there is something to add.
    async fn add_pending(&self) {
        if self.read().pending.is_empty() {
            return;
        }
        let _w = self.writer.lock().await;
        self.add_pending_locked();
    }

    /// The views' bookkeeping once `events`, checked into the current view (as `as_is` says
    /// when given), are stored up to position `end`: they stay there when the ledger looks the
    /// same on every date or a dated ledger's view took them as they are; otherwise the views
    /// are built again, from the parts kept in memory or from the store.
    async fn settle(
        &self,
        store: &impl LedgerStore,
        events: &[Event],
        end: i64,
        dated: bool,
        as_is: Option<&AsIs>,
    ) -> Result<(), StoreError> {
        if let Some(a) = as_is {
            self.joined_as_is(events, end, a);
            return Ok(());
        }
        if !dated && !events.iter().any(|e| matches!(e, Event::Amend(_))) {
            self.joined(events, end);
            return Ok(());
        }
        if dated && self.joined_dated(events, end).await? {
            return Ok(());
        }
        // Whom to tell is still what the events touch, not everyone.
        let before = self.take_touched();
        self.rebuild(store).await?;
        let mut t = before;
        t.add(&self.current(), events);
        *self.touched.lock().expect("touched lock") = t;
        Ok(())
    }

    /// Appends a batch without reading the ledger: it is planned against the views (see
    /// [`plan_without_reading`]: new keyed events, customers as the ledger has them, actions and
    /// rates counted by content), the new events checked against the current view (every rule
    /// of an import: references, ids, dates, amounts), appended to it, then written to the
    /// store. It applies when the ledger looks the same on every date (no amendment, one
    /// currency), or when a dated ledger's view may take the batch as it is (see
    /// [`DatedParts::as_is`]). `Declined`: not applicable, nothing done, the events handed
    /// back — use the general import, which synchronises with the stored events.
    pub async fn append_new(
        &self,
        store: &impl LedgerStore,
        batch: &NewBatch,
        events: Vec<Event>,
    ) -> Result<Fast, FastError> {
        let _w = self.writer.lock().await;
        let (dated, from) = {
            let c = self.read();
            (c.dated, c.last_seq)
        };
        if from == 0 {
            return Ok(Fast::Declined(events));
        }
        // Kept to hand back should the new events not join a dated ledger's view as they are.
        let given = dated.then(|| events.clone());
        let plan = {
            let c = self.read();
            let unkeyed = self.unkeyed.lock().expect("unkeyed lock");
            match plan_without_reading(&c.snapshot, &unkeyed, events, dated) {
                Ok(p) => p,
                Err(events) => return Ok(Fast::Declined(events)),
            }
        };
        if plan.append.is_empty() {
            return Ok(Fast::Unchanged(plan.unchanged));
        }
        let as_is = match given {
            Some(given) => match self.as_is(&plan.append) {
                Some(a) => Some(a),
                None => return Ok(Fast::Declined(given)),
            },
            None => None,
        };
        let view = as_is
            .as_ref()
            .map_or(&plan.append[..], |a| a.view(&plan.append));
        let (id, end, counts) = self
            .write_checked(store, batch, view, &plan.append, plan.unchanged, from)
            .await
            .map_err(|e| match e {
                FastError::Refused { index, error } => FastError::Refused {
                    index: plan.origin(index),
                    error,
                },
                e => e,
            })?;
        self.settle(store, &plan.append, end, dated, as_is.as_ref())
            .await?;
        Ok(Fast::Appended(Appended {
            batch_id: id,
            counts,
        }))
    }

    /// Checks `view` (`events` as the current view takes them, one for one) by appending it to
    /// the current view (all or nothing), then writes `events` to the store as one batch after
    /// position `from` (`unchanged`: events of the batch already in the ledger, counted). When
    /// the store refuses, the view is built again from it. The batch's id, the store's
    /// position after it and its counts.
    async fn write_checked(
        &self,
        store: &impl LedgerStore,
        batch: &NewBatch,
        view: &[Event],
        events: &[Event],
        unchanged: usize,
        from: i64,
    ) -> Result<(i64, i64, arpilot_store::Counts), FastError> {
        let n = events.len();
        let mut counts = arpilot_store::Counts {
            rows_read: (n + unchanged) as i64,
            appended: n as i64,
            unchanged: unchanged as i64,
            ..Default::default()
        };
        crate::import::tally(events, &mut counts);
        let batch = NewBatch {
            counts,
            ..batch.clone()
        };
        {
            let _room = self.make_room().await;
            if let Err(e) = self.append_in_place(view) {
                return Err(FastError::Refused {
                    index: e.index,
                    error: e.error,
                });
            }
        }
        let written = match store.append(&batch, &[], events, from, &|_| {}).await {
            Ok(id) => store.batch_end(id).await.map(|end| (id, end)),
            Err(e) => Err(e),
        };
        match written {
            Ok((id, end)) => Ok((id, end, counts)),
            Err(e) => {
                // The view holds what the store refused: build it again from the store.
                self.rebuild(store).await?;
                Err(FastError::Store(e))
            }
        }
    }

    /// The current view holds `events`, now stored up to position `end`.
    fn joined(&self, events: &[Event], end: i64) {
        self.unkeyed.lock().expect("unkeyed lock").add(events);
        {
            let mut c = self.current.write().expect("view lock");
            self.touch(&c.snapshot, events);
            c.latest = c.latest.max(last_event_day(events));
            c.events += events.len() as i64;
            c.last_seq = end;
        }
        self.others.lock().expect("views lock").clear();
    }

    /// Appends `events` exactly as given — work recorded by a user (actions, promises, disputes,
    /// resolutions), which two identical calls on one day must not merge — after catching up
    /// with the store. They are checked against the current view first (all or nothing). When
    /// the ledger is dated (amendments, other currencies) or the batch holds an amendment, the
    /// views are rebuilt from the store afterwards; otherwise the events join the current view.
    pub async fn append_exact(
        &self,
        store: &impl LedgerStore,
        batch: &NewBatch,
        events: Vec<Event>,
    ) -> Result<Appended, FastError> {
        let _w = self.writer.lock().await;
        self.refresh_locked(store).await?;
        let (from, dated) = {
            let c = self.read();
            (c.last_seq, c.dated)
        };
        // A dated ledger's view takes them as they are when it may; otherwise they are
        // checked against it, and the views are built again once they are stored.
        let as_is = if dated { self.as_is(&events) } else { None };
        let view = as_is.as_ref().map_or(&events[..], |a| a.view(&events));
        let (id, end, counts) = match self
            .write_checked(store, batch, view, &events, 0, from)
            .await
        {
            Err(FastError::Refused {
                error: arpilot_core::LedgerError::Rebuild(_),
                ..
            }) if events.len() == 1 => {
                // An undo of a cash application, checked up to what only a new reading of the
                // ledger can do: write it, then build the views without the application.
                let mut counts = arpilot_store::Counts {
                    rows_read: 1,
                    appended: 1,
                    ..Default::default()
                };
                crate::import::tally(&events, &mut counts);
                let batch = NewBatch {
                    counts,
                    ..batch.clone()
                };
                let id = store.append(&batch, &[], &events, from, &|_| {}).await?;
                self.rebuild(store).await?;
                return Ok(Appended {
                    batch_id: id,
                    counts,
                });
            }
            r => r?,
        };
        self.settle(store, &events, end, dated, as_is.as_ref())
            .await?;
        Ok(Appended {
            batch_id: id,
            counts,
        })
    }
}

/// What [`Views::append_new`] did.
#[derive(Debug)]
pub enum Fast {
    Appended(Appended),
    /// Every event (this many) was already in the ledger: nothing written.
    Unchanged(usize),
    /// Not a batch of new events: nothing done, here are the events back.
    Declined(Vec<Event>),
}

/// What [`Views::append_new`] wrote.
#[derive(Clone, Copy, Debug)]
pub struct Appended {
    pub batch_id: i64,
    pub counts: arpilot_store::Counts,
}

/// Why [`Views::append_new`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum FastError {
    /// Event `index` cannot enter the ledger.
    #[error("event {index}: {error}")]
    Refused {
        index: usize,
        error: arpilot_core::LedgerError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Current {
    fn of(v: View) -> Current {
        Current {
            snapshot: Arc::new(v.snapshot),
            latest: v.as_of,
            dated: v.dated,
            events: v.events,
            last_seq: v.last_seq,
            parts: v.parts,
            pending: Vec::new(),
            pending_at: 0,
            pending_ids: HashSet::new(),
        }
    }
}
