//! Waiting for the ledger to change, whoever changes it (another server, the CLI).
//!
//! On PostgreSQL every append notifies channel [`CHANNEL`] when it commits (`pg_notify`, payload
//! `<last seq> <origin>`), and [`Changes`] listens on a connection of its own: a change elsewhere
//! wakes the caller at once. While that connection is down, it is opened again every
//! [`RETRY`] and the caller is woken every [`POLL`] meanwhile, to look for itself; while it is
//! up, the caller is woken every [`SAFETY`] anyway (a half-open connection can stay silent).
//! On SQLite, which cannot notify, the database file and its write-ahead log are looked at every
//! [`STAT`] (size and modification time: a commit changes them), and the caller woken when they
//! changed, and every [`POLL`] anyway.
//!
//! A wake-up only says "look": the caller compares what it knows with the store
//! (`LedgerStore::event_count`).

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// The PostgreSQL channel appends notify.
pub const CHANNEL: &str = "arpilot_ledger";
/// How often to look when nothing can tell.
pub const POLL: Duration = Duration::from_millis(200);
/// How often to look at a SQLite database's files.
pub const STAT: Duration = Duration::from_millis(20);
/// How often to look while listening.
pub const SAFETY: Duration = Duration::from_secs(5);
/// How long to wait between two attempts to listen again.
pub const RETRY: Duration = Duration::from_secs(2);
/// How long an attempt to listen may take.
const CONNECT: Duration = Duration::from_secs(2);

/// Why [`Changes::next`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wake {
    /// An append committed (PostgreSQL). `ours` when it was made through the very store handle
    /// these changes come from: whoever appended there already knows.
    Notified { last_seq: i64, ours: bool },
    /// Something may have changed: a poll tick, the listener just (re)started, or lost.
    Check,
}

/// Wake-ups when the ledger may have changed; made by `Store::changes`.
pub struct Changes(Inner);

enum Inner {
    Files(Box<Files>),
    Listen(Box<Listen>),
}

/// A SQLite database's files and what they looked like when last seen.
struct Files {
    paths: Vec<std::path::PathBuf>,
    seen: Vec<Option<(u64, std::time::SystemTime)>>,
    tick: tokio::time::Interval,
    /// When to wake the caller even if nothing seemed to change.
    check_at: Instant,
}

impl Files {
    fn stamps(&self) -> Vec<Option<(u64, std::time::SystemTime)>> {
        // A stat of a local file: microseconds, not worth a blocking thread.
        self.paths
            .iter()
            .map(|p| {
                let m = std::fs::metadata(p).ok()?;
                Some((m.len(), m.modified().ok()?))
            })
            .collect()
    }

    async fn next(&mut self) -> Wake {
        loop {
            self.tick.tick().await;
            let now = self.stamps();
            if now != self.seen || Instant::now() >= self.check_at {
                self.seen = now;
                self.check_at = Instant::now() + POLL;
                return Wake::Check;
            }
        }
    }
}

struct Listen {
    /// A pool of one connection, for the listener alone (not one of the store's).
    pool: PgPool,
    origin: String,
    listener: Option<PgListener>,
    /// When to try listening again.
    retry_at: Instant,
}

impl Changes {
    /// Wake-ups when the files of the SQLite database `path` change (see [`STAT`]).
    pub(crate) fn files(path: &std::path::Path) -> Changes {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let mut tick = tokio::time::interval(STAT);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let paths = vec![path.to_path_buf(), wal.into()];
        Changes(Inner::Files(Box::new(Files {
            seen: vec![None; paths.len()],
            paths,
            tick,
            check_at: Instant::now(),
        })))
    }

    pub(crate) fn listen(store: &PgPool, origin: &str) -> Changes {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(CONNECT)
            .connect_lazy_with((*store.connect_options()).clone());
        Changes(Inner::Listen(Box::new(Listen {
            pool,
            origin: origin.to_string(),
            listener: None,
            retry_at: Instant::now(),
        })))
    }

    /// Waits until the ledger may have changed. The first call returns [`Wake::Check`] at once.
    pub async fn next(&mut self) -> Wake {
        match &mut self.0 {
            Inner::Files(f) => f.next().await,
            Inner::Listen(l) => l.next().await,
        }
    }

    /// True while a PostgreSQL listener is connected.
    pub fn listening(&self) -> bool {
        matches!(&self.0, Inner::Listen(l) if l.listener.is_some())
    }
}

enum Heard {
    Payload(String),
    Lost,
    Quiet,
}

impl Listen {
    async fn next(&mut self) -> Wake {
        if let Some(listener) = &mut self.listener {
            let heard = tokio::select! {
                r = listener.try_recv() => match r {
                    Ok(Some(n)) => Heard::Payload(n.payload().to_string()),
                    Ok(None) | Err(_) => Heard::Lost,
                },
                () = tokio::time::sleep(SAFETY) => Heard::Quiet,
            };
            return match heard {
                Heard::Payload(p) => self.parse(&p),
                Heard::Quiet => Wake::Check,
                Heard::Lost => {
                    // Notifications sent meanwhile are lost: look now, listen again next time.
                    self.listener = None;
                    self.retry_at = Instant::now();
                    Wake::Check
                }
            };
        }
        if Instant::now() >= self.retry_at {
            self.retry_at = Instant::now() + RETRY;
            if let Ok(Ok(l)) = tokio::time::timeout(CONNECT, listen(&self.pool)).await {
                self.listener = Some(l);
                // What landed while nobody listened.
                return Wake::Check;
            }
        }
        tokio::time::sleep(POLL).await;
        Wake::Check
    }

    fn parse(&self, payload: &str) -> Wake {
        let (seq, origin) = payload.split_once(' ').unwrap_or((payload, ""));
        match seq.parse() {
            Ok(last_seq) => Wake::Notified {
                last_seq,
                ours: origin == self.origin,
            },
            Err(_) => Wake::Check,
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    // A lost connection is reported (and opened again here), not hidden.
    l.eager_reconnect(false);
    l.ignore_pool_close_event(true);
    l.listen(CHANNEL).await?;
    Ok(l)
}

/// A name for one store handle, carried by its notifications.
pub(crate) fn origin() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{}-{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}
