//! The image of the current view kept beside the ledger, so that a process starts on a large
//! ledger by reading one file and the few events stored after it, instead of every event and
//! the passes that build the snapshot from them.
//!
//! It is a cache and never the truth: its header names the stored state it holds (the position
//! of its last event, the digest of that event's block, the count of events, the currency, this
//! build's version), and an image that does not match the ledger is ignored — the view is then
//! built from the stored events as before. It holds the current view only: views of other dates
//! of a ledger with amendments or other currencies are still built from the store.

use crate::view::{Held, Unkeyed};
use arpilot_core::col::Backing;
use arpilot_core::image::{Dec, Enc};
use arpilot_core::{Currency, Day, Snapshot};
use arpilot_store::LedgerStore;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// Bumped when the header or the sections change, or what a view holds.
// 2: the view of a dated ledger is its base, then its dated part (`view::split_dated`); an
// image of the order before would give another order of rows.
// 3: columns start at multiples of 16 bytes, so that a mapped image's can be read in place.
const FORMAT: u32 = 3;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Header {
    format: u32,
    /// The build that wrote it: another build's snapshot may hold its columns differently.
    version: String,
    currency: String,
    /// The store's position after the last event the image holds, the digest of that event's
    /// block, and how many events it holds.
    last_seq: i64,
    block_digest: String,
    events: i64,
    /// The view's date and whether other dates see the ledger differently.
    latest: i32,
    dated: bool,
    snapshot_bytes: u64,
    unkeyed_bytes: u64,
}

/// The view an image held.
pub(crate) struct Kept {
    pub snapshot: Snapshot,
    pub unkeyed: Unkeyed,
    pub latest: Day,
    pub dated: bool,
    pub events: i64,
    pub last_seq: i64,
}

/// A digest of a stored block: 64-bit FNV-1a of its text.
fn digest(block: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in block.as_bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// How an image is read.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Reading {
    /// Into fresh memory: for a process that keeps the view and changes it often (a server).
    Copy,
    /// Mapped, its large columns read where they are in the file and copied only when changed:
    /// for a process that checks one batch on it and ends (an import beside a server), which
    /// would otherwise spend most of its time having the kernel provide a gigabyte of fresh
    /// memory at 10 M invoices.
    Map,
}

/// The image of `store`'s ledger in `currency`, when there is one that matches it. `Err`: an
/// image exists but cannot be used (the reason, for the log).
pub(crate) async fn read(
    store: &impl LedgerStore,
    currency: Currency,
    how: Reading,
) -> Result<Option<Kept>, String> {
    let Some(path) = store.image_path() else {
        return Ok(None);
    };
    let found = arpilot_store::image::open(&path).map_err(|e| format!("{}: {e}", path.display()));
    let Some(mut f) = found? else {
        return Ok(None);
    };
    let h: Header = serde_json::from_str(&f.header).map_err(|e| format!("header: {e}"))?;
    if h.format != FORMAT || h.version != version() {
        return Err(format!(
            "written by version {} (format {})",
            h.version, h.format
        ));
    }
    if h.currency != currency.code() {
        return Err(format!(
            "in {}, the ledger is in {}",
            h.currency,
            currency.code()
        ));
    }
    if h.snapshot_bytes.checked_add(h.unkeyed_bytes) != Some(f.sections) {
        return Err("its sections do not add up".into());
    }
    let block = store.block(h.last_seq).await.map_err(|e| e.to_string())?;
    if block.as_deref().map(digest) != Some(h.block_digest.clone()) {
        return Err(format!(
            "made from another ledger (its last event, at position {}, differs)",
            h.last_seq
        ));
    }
    let (snapshot, unkeyed) = match how {
        Reading::Copy => {
            let file = &mut f.file;
            let snapshot =
                Snapshot::read_image(file.by_ref().take(h.snapshot_bytes), h.snapshot_bytes);
            let snapshot = snapshot.map_err(|e| e.to_string())?;
            let d = Dec::new(file.by_ref().take(h.unkeyed_bytes), h.unkeyed_bytes);
            (snapshot, read_unkeyed(d).map_err(|e| e.to_string())?)
        }
        Reading::Map => {
            let map: Arc<dyn Backing> = Arc::new(f.map().map_err(|e| e.to_string())?);
            let snapshot = Snapshot::read_image_mapped(map.clone(), 0, h.snapshot_bytes)
                .map_err(|e| e.to_string())?;
            let at = usize::try_from(h.snapshot_bytes).map_err(|e| e.to_string())?;
            let d = Dec::mapped(map, at, h.unkeyed_bytes).map_err(|e| e.to_string())?;
            (snapshot, read_unkeyed(d).map_err(|e| e.to_string())?)
        }
    };
    if snapshot.currency != currency {
        return Err("its snapshot is in another currency".into());
    }
    Ok(Some(Kept {
        snapshot,
        unkeyed,
        latest: Day(h.latest),
        dated: h.dated,
        events: h.events,
        last_seq: h.last_seq,
    }))
}

fn read_unkeyed(mut d: Dec<impl Read>) -> Result<Unkeyed, arpilot_core::image::ImageError> {
    let keys: Vec<u128> = d.col()?;
    let counts: Vec<u32> = d.col()?;
    d.check(
        keys.len() == counts.len() && keys.windows(2).all(|w| w[0] < w[1]),
        "counts differ in length or are not in order",
    )?;
    let ids = d.strings()?;
    let hashes: Vec<u128> = d.col()?;
    let amended: Vec<u8> = d.col()?;
    d.check(
        ids.len() == hashes.len() && ids.len() == amended.len(),
        "customers differ in length",
    )?;
    d.finish()?;
    Ok(Unkeyed {
        counts: crate::view::ContentCounts {
            read: keys.into_iter().zip(counts).collect(),
            added: Default::default(),
        },
        customers: ids
            .into_iter()
            .zip(hashes.into_iter().zip(amended.into_iter().map(|a| a != 0)))
            .collect(),
    })
}

/// What synchronisation needs beyond the snapshot ([`Unkeyed`]), in a fixed order.
pub(crate) struct Matching {
    counts: Vec<(u128, u32)>,
    customers: Vec<(String, u128, bool)>,
}

impl Matching {
    pub(crate) fn of(u: &Unkeyed) -> Matching {
        let counts = u.counts.sorted();
        let mut customers: Vec<(String, u128, bool)> = u
            .customers
            .iter()
            .map(|(k, v)| (k.clone(), v.0, v.1))
            .collect();
        customers.sort_unstable();
        Matching { counts, customers }
    }
}

/// A view to write as the image: taken from the views at one moment, written off the async
/// workers ([`Job::write`]).
pub struct Job {
    pub(crate) path: PathBuf,
    /// Given back once written.
    pub(crate) snapshot: Option<Held>,
    pub(crate) unkeyed: Matching,
    pub(crate) latest: Day,
    pub(crate) dated: bool,
    pub(crate) events: i64,
    pub(crate) last_seq: i64,
    pub(crate) block: String,
}

/// What [`Job::write`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// The image is in place: its size in bytes.
    Bytes(u64),
    /// A writer asked for the view first: nothing was written (try again later).
    GaveWay,
}

/// The error a [`GiveWay`] writer stops with.
#[derive(Debug)]
struct GaveWay;

impl std::fmt::Display for GaveWay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a writer asked for the view")
    }
}

impl std::error::Error for GaveWay {}

/// Writes at most 4 MB at a time and fails once a writer asks for the view being written.
struct GiveWay<'a, W> {
    out: W,
    held: &'a Held,
}

impl<W: std::io::Write> std::io::Write for GiveWay<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.held.asked() {
            return Err(std::io::Error::other(GaveWay));
        }
        self.out.write(&buf[..buf.len().min(4 << 20)])
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Job {
    /// Stored events the image holds.
    pub fn events(&self) -> i64 {
        self.events
    }

    /// A writer asks for the view this job holds: [`Job::write`] would give way.
    pub fn asked(&self) -> bool {
        self.snapshot.as_ref().is_some_and(Held::asked)
    }

    /// Writes the image in place of the current one (once: the view is given back after it).
    pub fn write(&mut self) -> std::io::Result<Written> {
        let snapshot = self
            .snapshot
            .take()
            .ok_or_else(|| std::io::Error::other("the image job was run already"))?;
        let currency = snapshot.currency;
        let mut w = arpilot_store::image::ImageWriter::create(&self.path)?;
        let written = (|| {
            let snapshot_bytes = w.section(|out| {
                let out = GiveWay {
                    out,
                    held: &snapshot,
                };
                snapshot.write_image(out).map(drop)
            });
            drop(snapshot);
            let snapshot_bytes = snapshot_bytes?;
            let unkeyed_bytes = w.section(|out| {
                let mut e = Enc::new(out);
                let u = &self.unkeyed;
                e.col(&u.counts.iter().map(|x| x.0).collect::<Vec<_>>())?;
                e.col(&u.counts.iter().map(|x| x.1).collect::<Vec<_>>())?;
                e.strs(u.customers.iter().map(|x| x.0.as_str()))?;
                e.col(&u.customers.iter().map(|x| x.1).collect::<Vec<_>>())?;
                e.col(&u.customers.iter().map(|x| x.2 as u8).collect::<Vec<_>>())?;
                e.finish().map(drop)
            })?;
            Ok::<_, std::io::Error>((snapshot_bytes, unkeyed_bytes))
        })();
        let (snapshot_bytes, unkeyed_bytes) = match written {
            Ok(n) => n,
            Err(e) => {
                w.abandon();
                if e.get_ref().is_some_and(|x| x.is::<GaveWay>()) {
                    return Ok(Written::GaveWay);
                }
                return Err(e);
            }
        };
        let header = Header {
            format: FORMAT,
            version: version(),
            currency: currency.code().to_string(),
            last_seq: self.last_seq,
            block_digest: digest(&self.block),
            events: self.events,
            latest: self.latest.0,
            dated: self.dated,
            snapshot_bytes,
            unkeyed_bytes,
        };
        w.commit(&serde_json::to_string(&header).expect("header"))?;
        Ok(Written::Bytes(snapshot_bytes + unkeyed_bytes))
    }
}

/// The job writing a view as `store`'s image, when the store keeps one.
pub(crate) async fn job(
    store: &impl LedgerStore,
    snapshot: Held,
    unkeyed: Matching,
    latest: Day,
    dated: bool,
    events: i64,
    last_seq: i64,
) -> Result<Option<Job>, arpilot_store::StoreError> {
    let Some(path) = store.image_path() else {
        return Ok(None);
    };
    if last_seq == 0 {
        return Ok(None);
    }
    let Some(block) = store.block(last_seq).await? else {
        return Ok(None);
    };
    Ok(Some(Job {
        path,
        snapshot: Some(snapshot),
        unkeyed,
        latest,
        dated,
        events,
        last_seq,
        block,
    }))
}
