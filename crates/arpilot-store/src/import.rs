//! Appending an export to the ledger: compare it with what is stored (synchronisation), check
//! the result against the whole ledger, then write it as one batch. Nothing is written unless
//! every event is accepted.

use crate::{Counts, LedgerStore, NewBatch, Result as StoreResult, StoreError};
use arpilot_core::ledger::*;
use arpilot_core::sync::{self, Plan};
use arpilot_core::{Currency, Day, LedgerError, Snapshot};

/// An export read into events, with what the batch records about it.
pub struct Incoming {
    pub events: Vec<Event>,
    /// The currency of amounts whose rows do not name one.
    pub currency: Currency,
    pub batch: NewBatch,
    /// Where amendments take effect.
    pub effective: Day,
    /// Warnings of the reader, before synchronisation.
    pub warnings: Vec<String>,
}

impl Incoming {
    /// `events` read from an export, to be appended as `batch`; amendments take effect on
    /// `effective`.
    pub fn new(
        events: Vec<Event>,
        currency: Currency,
        mut batch: NewBatch,
        effective: Day,
        warnings: Vec<String>,
    ) -> Incoming {
        batch.effective = effective.to_string();
        Incoming {
            events,
            currency,
            batch,
            effective,
            warnings,
        }
    }
}

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Incoming event `index` cannot enter the ledger.
    #[error("event {index}: {error}")]
    Refused { index: usize, error: LedgerError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug)]
pub struct Outcome {
    pub batch_id: Option<i64>,
    pub counts: Counts,
    /// Warnings by incoming event (`None`: about the file).
    pub warnings: Vec<(Option<usize>, String)>,
    pub currency: Currency,
}

fn without_currency(ev: &Event) -> Event {
    let mut ev = ev.clone();
    match &mut ev {
        Event::Document(d) => d.currency = None,
        Event::Payment(p) => p.currency = None,
        _ => {}
    }
    ev
}

/// Counts of what `events` add, by kind.
fn tally(events: &[(usize, Event)], c: &mut Counts) {
    for (_, ev) in events {
        match ev {
            Event::Customer(_) => c.customers += 1,
            Event::Document(_) => c.documents += 1,
            Event::Payment(_) => c.payments += 1,
            Event::Allocation(_) => c.allocations += 1,
            _ => {}
        }
    }
}

/// Plans and checks an import without writing it.
pub fn prepare(
    stored: &[Event],
    ledger_currency: Currency,
    mut incoming: Vec<Event>,
    incoming_currency: Currency,
    effective: Day,
) -> Result<Plan, ImportError> {
    // Rows without a currency are in the file's currency: say so when it is not the ledger's.
    if incoming_currency != ledger_currency {
        for ev in &mut incoming {
            match ev {
                Event::Document(d) if d.currency.is_none() => d.currency = Some(incoming_currency),
                Event::Payment(p) if p.currency.is_none() => p.currency = Some(incoming_currency),
                _ => {}
            }
        }
    }
    let plan = if stored.is_empty() {
        Plan {
            append: incoming.into_iter().enumerate().collect(),
            ..Plan::default()
        }
    } else {
        sync::plan(&mut sync::Ledger::new(stored), incoming, effective)
    };
    // References, ids, dates and amounts are checked on a snapshot of the whole ledger;
    // currencies are checked when a report converts them.
    let mut snap =
        Snapshot::build(ledger_currency, stored.iter().map(without_currency)).map_err(|e| {
            ImportError::Store(StoreError::Target(format!(
                "the stored ledger is inconsistent at event {}: {}",
                e.index + 1,
                e.error
            )))
        })?;
    snap.append(plan.append.iter().map(|(_, ev)| without_currency(ev)))
        .map_err(|e| ImportError::Refused {
            index: plan.append[e.index].0,
            error: e.error,
        })?;
    Ok(plan)
}

/// Imports `incoming` into `store` as one batch (nothing is written when nothing changed).
pub async fn import(
    store: &impl LedgerStore,
    incoming: Incoming,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Outcome, ImportError> {
    let loaded = store.load().await?;
    let stored_currency = store
        .meta("currency")
        .await?
        .and_then(|c| Currency::parse(&c).ok());
    let currency = stored_currency.unwrap_or(incoming.currency);
    let rows = incoming.events.len() as i64;
    let plan = prepare(
        &loaded.events,
        currency,
        incoming.events,
        incoming.currency,
        incoming.effective,
    )?;
    drop(loaded.events);
    let mut out = Outcome {
        batch_id: None,
        counts: Counts::default(),
        warnings: Vec::new(),
        currency,
    };
    out.warnings
        .extend(incoming.warnings.into_iter().map(|w| (None, w)));
    out.warnings
        .extend(plan.warnings.iter().map(|(i, w)| (Some(*i), w.clone())));
    let c = &mut out.counts;
    c.rows_read = rows;
    c.appended = plan.append.len() as i64;
    c.unchanged = plan.unchanged as i64;
    c.amended = plan.amended as i64;
    tally(&plan.append, c);
    if plan.append.is_empty() {
        return Ok(out);
    }
    let mut batch = incoming.batch;
    batch.counts = out.counts;
    batch.warnings = out
        .warnings
        .iter()
        .map(|(_, w)| (None::<i64>, w.clone()))
        .collect();
    let events: Vec<Event> = plan.append.into_iter().map(|(_, e)| e).collect();
    let code = currency.code().to_string();
    let meta: Vec<(&str, &str)> = if stored_currency.is_none() {
        vec![("currency", code.as_str())]
    } else {
        vec![]
    };
    out.batch_id = Some(
        store
            .append(&batch, &meta, &events, loaded.last_seq, progress)
            .await?,
    );
    Ok(out)
}

/// Loads the ledger as a report as of `as_of` sees it, in `mode`'s currency.
pub async fn snapshot(
    store: &impl LedgerStore,
    as_of: Option<Day>,
    only: Option<Currency>,
) -> StoreResult<Snapshot> {
    Ok(snapshot_dated(store, as_of, only).await?.0)
}

/// [`snapshot`], and whether reports as of past dates need their own (see
/// [`arpilot_core::view::depends_on_date`]).
pub async fn snapshot_dated(
    store: &impl LedgerStore,
    as_of: Option<Day>,
    only: Option<Currency>,
) -> StoreResult<(Snapshot, bool)> {
    use arpilot_core::view::{CurrencyMode, prepare};
    let ledger = store
        .meta("currency")
        .await?
        .and_then(|c| Currency::parse(&c).ok())
        .unwrap_or(Currency::EUR);
    let mode = match only {
        Some(c) => CurrencyMode::Only(c),
        None => CurrencyMode::Convert(ledger),
    };
    let t = std::time::Instant::now();
    let mut events = store.load().await?.events;
    let dated = arpilot_core::view::depends_on_date(&events, ledger);
    let t_load = t.elapsed();
    prepare(&mut events, as_of, mode).map_err(|e| StoreError::Target(e.to_string()))?;
    let r = Snapshot::build(mode.currency(), events);
    if std::env::var_os("ARPILOT_TIMING").is_some() {
        eprintln!(
            "ledger read in {:.2} s, snapshot built in {:.2} s",
            t_load.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
    }
    r.map(|s| (s, dated)).map_err(|e| {
        StoreError::Target(format!(
            "the stored ledger is inconsistent at event {}: {}",
            e.index + 1,
            e.error
        ))
    })
}
