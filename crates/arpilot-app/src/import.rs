//! The import use case, for every entry point (`arpilot import`, the upload page, the JSON push,
//! the demo): read the source, compare it with what is stored (synchronisation), check the result
//! against the whole ledger, then write it as one batch. Nothing is written unless every event is
//! accepted; the outcome says what was added, by kind, with the warnings at their file and line.

use crate::view::{Fast, FastError, Views};
use arpilot_core::ledger::*;
use arpilot_core::sync::{self, Plan};
use arpilot_core::{Currency, Day, LedgerError, Snapshot};
use arpilot_ingest::IngestError;
use arpilot_ingest::source::{self, Parsed, ReadOptions};
use arpilot_store::{Counts, LedgerStore, NewBatch, StoreError};
use std::path::{Path, PathBuf};

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
pub(crate) fn tally<'a>(events: impl IntoIterator<Item = &'a Event>, c: &mut Counts) {
    for ev in events {
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
    incoming: Vec<Event>,
    incoming_currency: Currency,
    effective: Day,
) -> Result<Plan, ImportError> {
    checked(
        stored,
        ledger_currency,
        incoming,
        incoming_currency,
        effective,
    )
    .map(|(plan, _)| plan)
}

/// [`prepare`], with the snapshot of the whole ledger the batch was checked on (the batch
/// appended).
fn checked(
    stored: &[Event],
    ledger_currency: Currency,
    mut incoming: Vec<Event>,
    incoming_currency: Currency,
    effective: Day,
) -> Result<(Plan, Snapshot), ImportError> {
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
        Plan::all_new(incoming)
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
    snap.append(plan.append.iter().map(without_currency))
        .map_err(|e| ImportError::Refused {
            index: plan.origin(e.index),
            error: e.error,
        })?;
    Ok((plan, snap))
}

/// The image an import that read the whole ledger leaves behind once its batch is stored: the
/// snapshot it checked the batch on is the one a start would build from every stored event,
/// so the next start (a server, a report) reads the image instead — at 10 M invoices about a
/// second and a gigabyte, against most of a minute and ten gigabytes for the build.
struct ImageAfter {
    snapshot: Snapshot,
    unkeyed: crate::view::Unkeyed,
    latest: Day,
    events: i64,
}

impl ImageAfter {
    /// `None` when a start would build another snapshot than `snapshot` (the stored events
    /// with `append` after them): a ledger whose dates differ (amendments, other currencies:
    /// a view converts and keeps the amendments of its date), or a batch deciding on bank
    /// receipts (a build leaves out applications undone later, an append undoes them).
    fn of(
        stored: &[Event],
        append: &[Event],
        currency: Currency,
        snapshot: Snapshot,
    ) -> Option<ImageAfter> {
        use crate::view::{Unkeyed, last_event_day};
        use arpilot_core::view::depends_on_date;
        if append.is_empty()
            || append.iter().any(|e| matches!(e, Event::Cash(_)))
            || depends_on_date(stored, currency)
            || depends_on_date(append, currency)
        {
            return None;
        }
        let mut unkeyed = Unkeyed::default();
        unkeyed.add(stored);
        unkeyed.add(append);
        Some(ImageAfter {
            snapshot,
            unkeyed,
            latest: last_event_day(stored).max(last_event_day(append)),
            events: (stored.len() + append.len()) as i64,
        })
    }

    /// Writes it as the image of `store`'s ledger up to `batch_id`. The batch is stored
    /// whatever happens here: a failure leaves the next start to build from the ledger.
    async fn write(self, store: &impl LedgerStore, batch_id: i64) {
        let t = std::time::Instant::now();
        let written = async {
            let last_seq = store.batch_end(batch_id).await?;
            let job = crate::image::job(
                store,
                crate::view::Held::alone(self.snapshot),
                crate::image::Matching::of(&self.unkeyed),
                self.latest,
                false,
                self.events,
                last_seq,
            )
            .await?;
            let Some(mut job) = job else {
                return Ok(None);
            };
            let written = tokio::task::spawn_blocking(move || job.write())
                .await
                .map_err(|e| StoreError::Target(e.to_string()))?
                .map_err(|e| StoreError::Target(e.to_string()))?;
            Ok::<_, StoreError>(Some(written))
        }
        .await;
        // A diagnostic, as for the server's images.
        if std::env::var_os("ARPILOT_TIMING").is_some() {
            eprintln!(
                "image after the import: {written:?} in {:.2} s",
                t.elapsed().as_secs_f64()
            );
        }
    }
}

/// Imports `incoming` into `store` as one batch (nothing is written when nothing changed).
pub async fn import(
    store: &impl LedgerStore,
    incoming: Incoming,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Outcome, ImportError> {
    import_from(store, incoming, progress, true).await
}

/// [`import`]; with `image`, planned from the ledger's image when the batch allows it, and the
/// image written again after a batch that needed the whole ledger read (see [`ImageAfter`]).
async fn import_from(
    store: &impl LedgerStore,
    incoming: Incoming,
    progress: &(dyn Fn(usize) + Sync),
    image: bool,
) -> Result<Outcome, ImportError> {
    let stored_currency = crate::view::stored_currency(store).await?;
    let currency = stored_currency.unwrap_or(incoming.currency);
    let rows = incoming.events.len() as i64;
    let quick = match stored_currency {
        // Reading the image is worth it only for a batch it can plan.
        Some(c)
            if image
                && c == incoming.currency
                && crate::view::may_plan_without_reading(&incoming.events, c, false) =>
        {
            plan_from_image(store, c, incoming.events).await?
        }
        _ => Err(incoming.events),
    };
    // The view a batch was checked on is let go once the batch is stored: freeing a large one
    // takes the kernel a tenth of a second that need not come before the commit.
    let (plan, last_seq, checked_on, image_after) = match quick {
        Ok((plan, last_seq, kept)) => (plan, last_seq, Some(kept), None),
        Err(events) => {
            let loaded = store.load().await?;
            let (plan, snapshot) = checked(
                &loaded.events,
                currency,
                events,
                incoming.currency,
                incoming.effective,
            )?;
            // A server keeps the image of the ledger it serves itself.
            let after = (image && store.image_path().is_some())
                .then(|| ImageAfter::of(&loaded.events, &plan.append, currency, snapshot))
                .flatten();
            (plan, loaded.last_seq, None, after)
        }
    };
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
    let events: Vec<Event> = plan.append;
    let code = currency.code().to_string();
    let meta: Vec<(&str, &str)> = if stored_currency.is_none() {
        vec![("currency", code.as_str())]
    } else {
        vec![]
    };
    out.batch_id = Some(
        store
            .append(&batch, &meta, &events, last_seq, progress)
            .await?,
    );
    drop(checked_on);
    if let (Some(after), Some(batch_id)) = (image_after, out.batch_id) {
        after.write(store, batch_id).await;
    }
    Ok(out)
}

/// The plan of an import made from the ledger's image and the events stored after it, without
/// reading the rest of the ledger, when the batch allows it (see
/// [`crate::view::plan_without_reading`]); the new events are checked against the image's
/// snapshot. `Err`: no usable image or not such a batch, the events handed back. Also the store's
/// position the plan was made at, and the view it was checked on (see [`import_from`]).
async fn plan_from_image(
    store: &impl LedgerStore,
    currency: Currency,
    events: Vec<Event>,
) -> Result<Result<(Plan, i64, crate::image::Kept), Vec<Event>>, ImportError> {
    let Ok(Some(kept)) = crate::image::read(store, currency, crate::image::Reading::Map).await
    else {
        return Ok(Err(events));
    };
    let Some(mut kept) = crate::view::catch_up(store, kept, currency).await? else {
        return Ok(Err(events));
    };
    if kept.dated {
        return Ok(Err(events));
    }
    let plan = match crate::view::plan_without_reading(&kept.snapshot, &kept.unkeyed, events, false)
    {
        Ok(p) => p,
        Err(events) => return Ok(Err(events)),
    };
    kept.snapshot
        .append(plan.append.iter().cloned())
        .map_err(|e| ImportError::Refused {
            index: plan.origin(e.index),
            error: e.error,
        })?;
    Ok(Ok((plan, kept.last_seq, kept)))
}

/// [`import`] into a ledger that a long-running process keeps in memory: a batch of new events
/// (see [`Views::append_new`]) is checked against the live view and appended to it without
/// reading the stored ledger; anything else goes through [`import`], then the views catch up with
/// the store (reading only what was added).
pub async fn import_live(
    views: &Views,
    store: &impl LedgerStore,
    incoming: Incoming,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Outcome, ImportError> {
    let currency = views.current().currency;
    let mut incoming = incoming;
    if incoming.currency == currency {
        let batch = NewBatch {
            warnings: incoming
                .warnings
                .iter()
                .map(|w| (None, w.clone()))
                .collect(),
            ..incoming.batch.clone()
        };
        // The events move into the attempt and come back when it does not apply.
        let events = std::mem::take(&mut incoming.events);
        match views.append_new(store, &batch, events).await {
            Ok(Fast::Appended(a)) => {
                return Ok(Outcome {
                    batch_id: Some(a.batch_id),
                    counts: a.counts,
                    warnings: incoming.warnings.into_iter().map(|w| (None, w)).collect(),
                    currency,
                });
            }
            Ok(Fast::Unchanged(n)) => {
                return Ok(Outcome {
                    batch_id: None,
                    counts: Counts {
                        rows_read: n as i64,
                        unchanged: n as i64,
                        ..Counts::default()
                    },
                    warnings: incoming.warnings.into_iter().map(|w| (None, w)).collect(),
                    currency,
                });
            }
            Ok(Fast::Declined(events)) => incoming.events = events,
            Err(FastError::Refused { index, error }) => {
                return Err(ImportError::Refused { index, error });
            }
            Err(FastError::Store(e)) => return Err(ImportError::Store(e)),
        }
    }
    // The live view declined the batch: the image would too.
    let out = import_from(store, incoming, progress, false).await?;
    if out.batch_id.is_some() {
        views.refresh(store).await?;
    }
    Ok(out)
}

/// What one imported source added, as every shell shows it (the CLI's `--json`, the upload page,
/// the push answer).
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct FileOutcome {
    pub source: String,
    pub format: String,
    /// The batch written, or `None` when nothing was new.
    pub batch: Option<i64>,
    /// Data rows (or invoices) read.
    pub rows: u64,
    /// Events the rows became.
    pub events: i64,
    pub appended: i64,
    pub unchanged: i64,
    pub amended: i64,
    pub documents: i64,
    pub payments: i64,
    pub allocations: i64,
    pub customers: i64,
    /// Each warning at its place (`file, line N: …`).
    pub warnings: Vec<String>,
}

impl FileOutcome {
    fn new(
        source: String,
        format: &str,
        rows: u64,
        o: &Outcome,
        place: impl Fn(usize) -> String,
    ) -> FileOutcome {
        let c = &o.counts;
        FileOutcome {
            source,
            format: format.to_string(),
            batch: o.batch_id,
            rows,
            events: c.rows_read,
            appended: c.appended,
            unchanged: c.unchanged,
            amended: c.amended,
            documents: c.documents,
            payments: c.payments,
            allocations: c.allocations,
            customers: c.customers,
            warnings: o
                .warnings
                .iter()
                .map(|(i, w)| match i {
                    Some(i) => format!("{}: {w}", place(*i)),
                    None => w.clone(),
                })
                .collect(),
        }
    }
}

/// Who imports and how: the batch's author, entity and effective date.
#[derive(Clone, Debug)]
pub struct Author {
    pub user: String,
    /// The company the source belongs to (its ids are qualified).
    pub entity: Option<String>,
    /// Where amendments take effect.
    pub effective: Day,
}

/// Why an import or a push was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The source cannot be read: file, line, column and what was expected.
    #[error(transparent)]
    Read(#[from] IngestError),
    /// An event cannot enter the ledger; `imported_before` names the sources of the same
    /// command that were imported before this one.
    #[error("{message}")]
    Event {
        message: String,
        imported_before: Vec<String>,
    },
    /// The pushed JSON is not what the API takes (the field is named).
    #[error("{0}")]
    Body(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The files named by a user, grouped into sources: the files of a ledger set go together, a
/// folder without customers.csv stands for the PDF and XML invoices it holds. Files of such a
/// folder that are not invoices are returned as notes.
pub fn group_paths(files: &[PathBuf]) -> Result<(Vec<Vec<PathBuf>>, Vec<String>), IngestError> {
    let mut set: Vec<PathBuf> = Vec::new();
    let mut out: Vec<Vec<PathBuf>> = Vec::new();
    let mut notes = Vec::new();
    fn io(f: &Path) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
        move |source| IngestError::Io {
            file: f.to_path_buf(),
            source,
        }
    }
    for f in files {
        if !f.exists() {
            return Err(IngestError::File {
                file: f.clone(),
                message: "no such file or folder".into(),
            });
        }
        let set_file = f
            .file_name()
            .is_some_and(|n| arpilot_ingest::ledger_csv::FILES.iter().any(|x| n == *x));
        if set_file {
            set.push(f.clone());
        } else if f.is_dir() && !f.join("customers.csv").is_file() {
            let (mut inner, other): (Vec<PathBuf>, Vec<PathBuf>) = std::fs::read_dir(f)
                .map_err(io(f))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .partition(|p| {
                    p.extension().is_some_and(|e| {
                        e.eq_ignore_ascii_case("pdf") || e.eq_ignore_ascii_case("xml")
                    })
                });
            inner.sort();
            if !other.is_empty() {
                notes.push(format!(
                    "{}: skipped {} files that are not PDF or XML invoices ({})",
                    f.display(),
                    other.len(),
                    other
                        .iter()
                        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if inner.is_empty() {
                return Err(IngestError::File {
                    file: f.clone(),
                    message:
                        "no ledger set (customers.csv) and no PDF or XML invoice in this folder"
                            .into(),
                });
            }
            out.extend(inner.into_iter().map(|p| vec![p]));
        } else {
            out.push(vec![f.clone()]);
        }
    }
    if !set.is_empty() {
        out.insert(0, set);
    }
    Ok((out, notes))
}

/// Reads every source before anything is written (`on_source` is told which one starts).
pub fn read_sources(
    groups: &[Vec<PathBuf>],
    opts: &ReadOptions,
    mut on_source: impl FnMut(&Path),
) -> Result<Vec<Parsed>, IngestError> {
    groups
        .iter()
        .map(|g| {
            on_source(&g[0]);
            source::read(g, opts)
        })
        .collect()
}

/// Imports sources already read, one batch each, in order; stops at the first refused one
/// (those before it stay imported, and the error names them). `progress` is told the source
/// being written and the events written so far.
pub async fn import_parsed(
    store: &impl LedgerStore,
    views: Option<&Views>,
    parsed: Vec<Parsed>,
    author: &Author,
    progress: &(dyn Fn(&Path, usize) + Sync),
) -> Result<Vec<FileOutcome>, Refused> {
    let mut done: Vec<FileOutcome> = Vec::new();
    for mut p in parsed {
        let name = p.source.display().to_string();
        // The events move into the import; `p` keeps the files and lines for messages.
        let incoming = Incoming::new(
            std::mem::take(&mut p.events),
            p.currency,
            NewBatch::for_import(
                name.clone(),
                std::mem::take(&mut p.sha256),
                p.format.name(),
                author.entity.clone(),
                author.user.clone(),
            ),
            author.effective,
            p.warnings.clone(),
        );
        let source = p.source.clone();
        let progress = |n| progress(&source, n);
        let r = match views {
            Some(v) => import_live(v, store, incoming, &progress).await,
            None => import(store, incoming, &progress).await,
        };
        match r {
            Ok(o) => done.push(FileOutcome::new(name, p.format.name(), p.rows, &o, |i| {
                p.place(i)
            })),
            Err(ImportError::Refused { index, error }) => {
                return Err(Refused::Event {
                    message: p.error_at(index, &error).to_string(),
                    imported_before: done.into_iter().map(|o| o.source).collect(),
                });
            }
            Err(ImportError::Store(e)) => return Err(Refused::Store(e)),
        }
    }
    Ok(done)
}

/// Imports an uploaded file (and its optional mapping), named as the user named it.
pub async fn import_bytes(
    store: &impl LedgerStore,
    views: Option<&Views>,
    name: &str,
    file: &[u8],
    mapping: Option<&[u8]>,
    author: &Author,
) -> Result<FileOutcome, Refused> {
    // The readers work on files: a private folder keeps the uploaded name for messages, and
    // messages name the file as uploaded, never the folder.
    let safe_name: String = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "upload".into());
    let dir = std::env::temp_dir().join(format!(
        "arpilot-upload-{}-{}",
        std::process::id(),
        UPLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let r = async {
        let io = |source| IngestError::Io {
            file: PathBuf::from(&safe_name),
            source,
        };
        std::fs::create_dir(&dir).map_err(io)?;
        let path = dir.join(&safe_name);
        std::fs::write(&path, file).map_err(io)?;
        let mapping = match mapping {
            Some(m) => {
                let mp = dir.join("mapping.toml");
                std::fs::write(&mp, m).map_err(io)?;
                Some(arpilot_ingest::mapped::Mapping::load(&mp)?)
            }
            None => None,
        };
        let opts = ReadOptions {
            mapping: mapping.as_ref(),
            entity: author.entity.as_deref(),
            ..ReadOptions::default()
        };
        let mut parsed = source::read(std::slice::from_ref(&path), &opts)?;
        parsed.source = PathBuf::from(&safe_name);
        let mut out = import_parsed(store, views, vec![parsed], author, &|_, _| {}).await?;
        Ok(out.remove(0))
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    r.map_err(|e: Refused| e.without_prefix(&dir))
}

static UPLOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Refused {
    /// The message without a private folder's path (uploads are read from a temporary folder).
    fn without_prefix(self, dir: &Path) -> Refused {
        let prefix = format!("{}/", dir.display());
        match self {
            Refused::Read(e) => Refused::Event {
                message: e.to_string().replace(&prefix, ""),
                imported_before: vec![],
            },
            Refused::Event {
                message,
                imported_before,
            } => Refused::Event {
                message: message.replace(&prefix, ""),
                imported_before,
            },
            e => e,
        }
    }
}

pub use arpilot_ingest::json::{CUSTOMER_DIMENSIONS, DOCUMENT_DIMENSIONS};

/// `POST /api/events`: appends pushed events (idempotent: what is already in the ledger is
/// skipped, changed attributes become amendments). `source` names the pushing system.
pub async fn push(
    store: &impl LedgerStore,
    views: Option<&Views>,
    body: &serde_json::Value,
    currency: Currency,
    author: &Author,
) -> Result<FileOutcome, Refused> {
    // Custom fields the ledger already has may be pushed by name; new ones go in "custom".
    let snapshot = views.map(|v| v.current());
    let existing = |name: &str| {
        snapshot.as_ref().is_some_and(|s| {
            s.customers.dims.cols.iter().any(|c| c.name == name)
                || s.invoices.dims.cols.iter().any(|c| c.name == name)
        })
    };
    let events = arpilot_ingest::json::read(body, currency, &existing)
        .map_err(|e| Refused::Body(e.to_string()))?;
    drop(snapshot);
    let source = body
        .get("source")
        .and_then(|s| s.as_str())
        .unwrap_or("api")
        .to_string();
    let rows = events.len() as u64;
    let incoming = Incoming::new(
        events,
        currency,
        NewBatch::for_import(
            source.clone(),
            String::new(),
            "json",
            author.entity.clone(),
            author.user.clone(),
        ),
        author.effective,
        vec![],
    );
    let r = match views {
        Some(v) => import_live(v, store, incoming, &|_| {}).await,
        None => import(store, incoming, &|_| {}).await,
    };
    match r {
        Ok(o) => Ok(FileOutcome::new(source, "json", rows, &o, |i| {
            format!("events[{i}]")
        })),
        Err(ImportError::Refused { index, error }) => {
            Err(Refused::Body(format!("events[{index}]: {error}")))
        }
        Err(ImportError::Store(e)) => Err(Refused::Store(e)),
    }
}
