//! The append-only ledger: import batches and their events, on SQLite (one file, the default) or
//! PostgreSQL, behind one trait.
//!
//! Events are stored in their canonical form ([`arpilot_core::codec`]) in the order they were
//! appended; the engine's snapshot is rebuilt from them. The databases themselves refuse to
//! update or delete anything (triggers), and every batch is one transaction: an import that fails
//! or is killed leaves the ledger as it was.
//!
//! Beside the ledger the store keeps mutable state: users and their API tokens, report settings,
//! and browser sessions ([`sessions`]). [`Store::changes`] wakes a reader when the ledger may have
//! changed (PostgreSQL LISTEN/NOTIFY, polling on SQLite).

/// The `LedgerStore` methods both backends share, written once over each backend's SQL (module
/// `sql` beside the store type) and its way of opening a writing transaction (`begin_append`).
macro_rules! ledger_store_impl {
    ($store:ty) => {
        impl crate::LedgerStore for $store {
            async fn meta(&self, key: &str) -> crate::Result<Option<String>> {
                Ok(sqlx::query_scalar(sql::META_GET)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn load(&self) -> crate::Result<crate::Loaded> {
                self.load_since(0).await
            }

            async fn block(&self, seq: i64) -> crate::Result<Option<String>> {
                Ok(sqlx::query_scalar(sql::BLOCK_GET)
                    .bind(seq)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            fn image_path(&self) -> Option<std::path::PathBuf> {
                self.image.clone()
            }

            async fn batch_end(&self, batch_id: i64) -> crate::Result<i64> {
                Ok(sqlx::query_scalar(sql::BATCH_END)
                    .bind(batch_id)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn load_since(&self, after_seq: i64) -> crate::Result<crate::Loaded> {
                use futures_util::TryStreamExt;
                use sqlx::Row;
                let mut rows = sqlx::query(sql::BLOCKS_AFTER)
                    .bind(after_seq)
                    .fetch(&self.pool);
                let mut blocks = Vec::new();
                while let Some(row) = rows.try_next().await? {
                    blocks.push((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?));
                }
                let last_seq = blocks.last().map_or(after_seq, |b| b.0);
                Ok(crate::Loaded {
                    events: crate::decode_blocks(blocks)?,
                    last_seq,
                })
            }

            async fn append(
                &self,
                batch: &crate::NewBatch,
                meta: &[(&str, &str)],
                events: &[arpilot_core::Event],
                expected_last_seq: i64,
                progress: &(dyn Fn(usize) + Sync),
            ) -> crate::Result<i64> {
                let mut tx = self.begin_append().await?;
                let last: i64 = sqlx::query_scalar(sql::LAST_SEQ).fetch_one(&mut *tx).await?;
                if last != expected_last_seq {
                    return Err(crate::StoreError::Concurrent);
                }
                for (k, v) in meta {
                    sqlx::query(sql::META_PUT)
                        .bind(*k)
                        .bind(*v)
                        .execute(&mut *tx)
                        .await?;
                }
                let c = &batch.counts;
                let id: i64 = sqlx::query_scalar(sql::BATCH_PUT)
                    .bind(&batch.source)
                    .bind(&batch.sha256)
                    .bind(&batch.format)
                    .bind(&batch.entity)
                    .bind(&batch.imported_by)
                    .bind(&batch.imported_at)
                    .bind(&batch.effective)
                    .bind(c.rows_read)
                    .bind(c.appended)
                    .bind(c.unchanged)
                    .bind(c.amended)
                    .bind(c.documents)
                    .bind(c.payments)
                    .bind(c.allocations)
                    .bind(c.customers)
                    .bind(batch.warnings.len() as i64)
                    .fetch_one(&mut *tx)
                    .await?;
                for (line, message) in &batch.warnings {
                    sqlx::query(sql::WARNING_PUT)
                        .bind(id)
                        .bind(line)
                        .bind(message)
                        .execute(&mut *tx)
                        .await?;
                }
                let mut done = 0;
                for (n, payload) in crate::encode_blocks(events) {
                    sqlx::query(sql::BLOCK_PUT)
                        .bind(id)
                        .bind(done as i64)
                        .bind(n as i64)
                        .bind(payload.as_str())
                        .execute(&mut *tx)
                        .await?;
                    done += n;
                    progress(done);
                }
                self.after_append(&mut tx).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn batches(&self) -> crate::Result<Vec<crate::Batch>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT id, source, sha256, format, entity, imported_by, imported_at, effective, \
                     rows_read, appended, unchanged, amended, documents, payments, allocations, \
                     customers, warnings FROM batches ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(crate::Batch {
                            id: r.try_get("id")?,
                            source: r.try_get("source")?,
                            sha256: r.try_get("sha256")?,
                            format: r.try_get("format")?,
                            entity: r.try_get::<Option<String>, _>("entity")?,
                            imported_by: r.try_get("imported_by")?,
                            imported_at: r.try_get("imported_at")?,
                            effective: r.try_get("effective")?,
                            counts: crate::Counts {
                                rows_read: r.try_get("rows_read")?,
                                appended: r.try_get("appended")?,
                                unchanged: r.try_get("unchanged")?,
                                amended: r.try_get("amended")?,
                                documents: r.try_get("documents")?,
                                payments: r.try_get("payments")?,
                                allocations: r.try_get("allocations")?,
                                customers: r.try_get("customers")?,
                            },
                            warnings: r.try_get("warnings")?,
                        })
                    })
                    .collect()
            }

            async fn event_count(&self) -> crate::Result<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM events",
                )
                .fetch_one(&self.pool)
                .await?)
            }
        }
    };
}

#[macro_use]
pub mod users;
#[macro_use]
pub mod sessions;
pub mod changes;
pub mod image;
mod migrate;
mod postgres;
mod sqlite;
pub mod testing;

pub use changes::{Changes, Wake};
pub use postgres::PgStore;
pub use sessions::{SessionRow, SessionStore};
pub use sqlite::SqliteStore;
pub use users::{UserField, UserRow, UserStore};

use arpilot_core::Event;
use arpilot_core::codec::{self, CodecError};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("event #{seq}: {source}")]
    Codec {
        seq: i64,
        #[source]
        source: CodecError,
    },
    #[error("migration {version} ({name}): {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "the database holds schema version {found}, newer than this arpilot knows ({known}): upgrade arpilot"
    )]
    TooNew { found: i64, known: i64 },
    #[error(
        "the ledger changed while this import was prepared (another import ran); run the import again"
    )]
    Concurrent,
    #[error("{0}")]
    Target(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A batch about to be appended: where its events come from and what the import found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewBatch {
    pub source: String,
    pub sha256: String,
    pub format: String,
    pub entity: Option<String>,
    pub imported_by: String,
    /// RFC 3339 time of the import.
    pub imported_at: String,
    /// ISO date on which the batch's amendments take effect.
    pub effective: String,
    pub counts: Counts,
    /// Warnings, with the line they are about when there is one.
    pub warnings: Vec<(Option<i64>, String)>,
}

impl NewBatch {
    /// A batch imported now by `imported_by`; `arpilot_app::import::Incoming::new` sets its effective date,
    /// the import counts its rows.
    pub fn for_import(
        source: String,
        sha256: String,
        format: &str,
        entity: Option<String>,
        imported_by: String,
    ) -> NewBatch {
        NewBatch {
            source,
            sha256,
            format: format.to_string(),
            entity,
            imported_by,
            imported_at: now_text(),
            ..NewBatch::default()
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub rows_read: i64,
    pub appended: i64,
    pub unchanged: i64,
    pub amended: i64,
    pub documents: i64,
    pub payments: i64,
    pub allocations: i64,
    pub customers: i64,
}

/// A stored batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub id: i64,
    pub source: String,
    pub sha256: String,
    pub format: String,
    pub entity: Option<String>,
    pub imported_by: String,
    pub imported_at: String,
    pub effective: String,
    pub counts: Counts,
    pub warnings: i64,
}

/// The stored ledger: its events in order, and the position the next append must follow.
#[derive(Debug, Default)]
pub struct Loaded {
    pub events: Vec<Event>,
    /// Sequence number of the last event (0 when empty).
    pub last_seq: i64,
}

/// What both backends do. Appends are all-or-nothing; `expected_last_seq` makes an append fail
/// with [`StoreError::Concurrent`] when another batch landed since the ledger was loaded.
#[allow(async_fn_in_trait)]
pub trait LedgerStore {
    /// A ledger setting (set once, never changed), e.g. `currency`.
    async fn meta(&self, key: &str) -> Result<Option<String>>;
    async fn load(&self) -> Result<Loaded>;
    /// The events appended after position `after_seq` (a `last_seq` of an earlier load): what
    /// another process added since.
    async fn load_since(&self, after_seq: i64) -> Result<Loaded>;
    /// The position after the last event of batch `batch_id` (the `last_seq` a load made right
    /// after it would give).
    async fn batch_end(&self, batch_id: i64) -> Result<i64>;
    /// The stored form of the block of events ending at position `seq`: what an image of the
    /// ledger up to `seq` checks it was made from this ledger.
    async fn block(&self, seq: i64) -> Result<Option<String>>;
    /// Where the image of the ledger's snapshot is kept (see [`image`]): beside a SQLite file;
    /// for PostgreSQL, the file named by `ARPILOT_IMAGE` if any.
    fn image_path(&self) -> Option<std::path::PathBuf>;
    async fn append(
        &self,
        batch: &NewBatch,
        meta: &[(&str, &str)],
        events: &[Event],
        expected_last_seq: i64,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<i64>;
    async fn batches(&self) -> Result<Vec<Batch>>;
    async fn event_count(&self) -> Result<i64>;
}

/// Where the ledger lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Target {
    /// `postgres://…` or `postgresql://…` is PostgreSQL, anything else a SQLite file path.
    pub fn parse(s: &str) -> Target {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Target::Postgres(s.to_string())
        } else {
            Target::Sqlite(s.trim_start_matches("sqlite://").into())
        }
    }
}

/// Either backend, chosen at run time.
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens (creating when needed) and migrates the ledger.
    pub async fn open(target: &Target) -> Result<Store> {
        Ok(match target {
            Target::Sqlite(p) => Store::Sqlite(SqliteStore::open(p).await?),
            Target::Postgres(url) => Store::Postgres(PgStore::open(url).await?),
        })
    }

    /// Opens an existing ledger without creating it.
    pub async fn open_existing(target: &Target) -> Result<Store> {
        if let Target::Sqlite(p) = target
            && !p.is_file()
        {
            return Err(StoreError::Target(format!(
                "{}: no such ledger (expected a database made by `arpilot import`)",
                p.display()
            )));
        }
        Store::open(target).await
    }

    pub async fn close(self) {
        match self {
            Store::Sqlite(s) => s.close().await,
            Store::Postgres(s) => s.close().await,
        }
    }

    /// Wake-ups when the ledger may have changed, made elsewhere or through this handle: at once
    /// on PostgreSQL (LISTEN/NOTIFY, polling while the listener is down), within about 20 ms on
    /// SQLite (its files watched). See [`changes`].
    pub fn changes(&self) -> Changes {
        match self {
            Store::Sqlite(s) => s.changes(),
            Store::Postgres(s) => s.changes(),
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl LedgerStore for Store {
    async fn meta(&self, key: &str) -> Result<Option<String>> {
        delegate!(self, s => s.meta(key).await)
    }
    async fn load(&self) -> Result<Loaded> {
        delegate!(self, s => s.load().await)
    }
    async fn load_since(&self, after_seq: i64) -> Result<Loaded> {
        delegate!(self, s => s.load_since(after_seq).await)
    }
    async fn batch_end(&self, batch_id: i64) -> Result<i64> {
        delegate!(self, s => s.batch_end(batch_id).await)
    }
    async fn block(&self, seq: i64) -> Result<Option<String>> {
        delegate!(self, s => s.block(seq).await)
    }
    fn image_path(&self) -> Option<std::path::PathBuf> {
        delegate!(self, s => s.image_path())
    }
    async fn append(
        &self,
        batch: &NewBatch,
        meta: &[(&str, &str)],
        events: &[Event],
        expected_last_seq: i64,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<i64> {
        delegate!(self, s => s.append(batch, meta, events, expected_last_seq, progress).await)
    }
    async fn batches(&self) -> Result<Vec<Batch>> {
        delegate!(self, s => s.batches().await)
    }
    async fn event_count(&self) -> Result<i64> {
        delegate!(self, s => s.event_count().await)
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Today (UTC): the default as-of date and the date from which an import's amendments apply.
pub fn today() -> arpilot_core::Day {
    arpilot_core::Day(now_secs().div_euclid(86_400) as i32)
}

/// Now, as stored in text columns (RFC 3339, UTC).
pub fn now_text() -> String {
    let s = now_secs().rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        today(),
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

impl UserStore for Store {
    async fn add_user(
        &self,
        login: &str,
        password_hash: &str,
        role: &str,
        portfolio: &str,
    ) -> Result<Option<i64>> {
        delegate!(self, s => s.add_user(login, password_hash, role, portfolio).await)
    }
    async fn users(&self) -> Result<Vec<UserRow>> {
        delegate!(self, s => s.users().await)
    }
    async fn user(&self, login: &str) -> Result<Option<UserRow>> {
        delegate!(self, s => s.user(login).await)
    }
    async fn set_user(&self, login: &str, field: UserField, value: &str) -> Result<bool> {
        delegate!(self, s => s.set_user(login, field, value).await)
    }
    async fn add_token(&self, login: &str, name: &str, token_sha256: &str) -> Result<bool> {
        delegate!(self, s => s.add_token(login, name, token_sha256).await)
    }
    async fn token_user(&self, token_sha256: &str) -> Result<Option<UserRow>> {
        delegate!(self, s => s.token_user(token_sha256).await)
    }
    async fn settings(&self) -> Result<Vec<(String, String)>> {
        delegate!(self, s => s.settings().await)
    }
    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        delegate!(self, s => s.set_setting(key, value).await)
    }
}

impl SessionStore for Store {
    async fn open_session(
        &self,
        token_sha256: &str,
        login: &str,
        csrf: &str,
        created_at: i64,
        expires_at: i64,
    ) -> Result<bool> {
        delegate!(self, s => s.open_session(token_sha256, login, csrf, created_at, expires_at).await)
    }
    async fn session(&self, token_sha256: &str, now: i64) -> Result<Option<SessionRow>> {
        delegate!(self, s => s.session(token_sha256, now).await)
    }
    async fn close_session(&self, token_sha256: &str) -> Result<bool> {
        delegate!(self, s => s.close_session(token_sha256).await)
    }
    async fn purge_sessions(&self, now: i64) -> Result<u64> {
        delegate!(self, s => s.purge_sessions(now).await)
    }
}

/// Events per stored block.
const BLOCK: usize = 4096;

/// The blocks of `events`: lines of `kind<TAB>payload`.
/// The stored blocks of `events`, encoded one at a time as they are written: holding them all
/// (1.3 GB for 24 M events) cost more in fresh memory than the encoding itself.
fn encode_blocks(events: &[Event]) -> impl Iterator<Item = (usize, String)> + '_ {
    events.chunks(BLOCK).map(|c| {
        let mut s = String::with_capacity(c.len() * 80);
        for ev in c {
            let (k, p) = codec::encode(ev);
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(&k.to_string());
            s.push('\t');
            s.push_str(&p);
        }
        (c.len(), s)
    })
}

fn decode_block(seq: i64, block: &str, out: &mut Vec<Event>) -> Result<()> {
    for line in block.split('\n') {
        let (k, p) = line.split_once('\t').unwrap_or((line, ""));
        let kind: i16 = k.parse().map_err(|_| StoreError::Codec {
            seq,
            source: CodecError {
                kind: 0,
                message: format!("bad kind {k:?}"),
            },
        })?;
        out.push(codec::decode(kind, p).map_err(|source| StoreError::Codec { seq, source })?);
    }
    Ok(())
}

/// Decodes blocks `(seq, payload)` in order, on two threads.
fn decode_blocks(blocks: Vec<(i64, String)>) -> Result<Vec<Event>> {
    let half = blocks.len().div_ceil(2);
    let (a, b) = blocks.split_at(half);
    let run = |part: &[(i64, String)]| -> Result<Vec<Event>> {
        let mut v = Vec::with_capacity(part.len() * BLOCK);
        for (seq, p) in part {
            decode_block(*seq, p, &mut v)?;
        }
        Ok(v)
    };
    let (ra, rb) = std::thread::scope(|s| {
        let h = s.spawn(|| run(b));
        (run(a), h.join().expect("decoder thread"))
    });
    let mut v = ra?;
    v.extend(rb?);
    Ok(v)
}
