//! The ledger in one SQLite file (WAL journal, so reports read while an import writes).

use crate::migrate::{self, CREATE_TABLE};
use crate::{
    Batch, CHUNK, LedgerStore, Loaded, NewBatch, Result, StoreError, decode, encode_all,
};
use arpilot_core::Event;
use futures_util::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row, SqlitePool};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
}

/// `INSERT … VALUES (?,?,?),…` for `n` rows; built from fixed text and a count only.
fn insert_sql(n: usize) -> String {
    let mut s = String::from("INSERT INTO events (batch_id, kind, payload) VALUES ");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str("(?,?,?)");
    }
    s
}

fn full_chunk_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| insert_sql(CHUNK))
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        let s = SqliteStore { pool };
        s.migrate().await?;
        Ok(s)
    }

    pub async fn close(self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql(CREATE_TABLE).execute(&mut *conn).await?;
        let applied: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&mut *conn)
                .await?;
        for m in migrate::pending(migrate::SQLITE, applied)? {
            let fail = |source| StoreError::Migration {
                version: m.version,
                name: m.name,
                source,
            };
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::raw_sql(m.sql)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, datetime('now'))",
            )
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            tx.commit().await?;
        }
        Ok(())
    }
}

impl LedgerStore for SqliteStore {
    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM ledger_meta WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn load(&self) -> Result<Loaded> {
        let mut rows = sqlx::query("SELECT seq, kind, payload FROM events ORDER BY seq")
            .fetch(&self.pool);
        let mut out = Loaded::default();
        while let Some(row) = rows.try_next().await? {
            let seq: i64 = row.try_get(0)?;
            let kind: i16 = row.try_get(1)?;
            let payload: &str = row.try_get(2)?;
            out.events.push(decode(seq, kind, payload)?);
            out.last_seq = seq;
        }
        Ok(out)
    }

    async fn append(
        &self,
        batch: &NewBatch,
        meta: &[(&str, &str)],
        events: &[Event],
        expected_last_seq: i64,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<i64> {
        let (kinds, payloads) = encode_all(events);
        // IMMEDIATE takes the write lock now, so the check below cannot go stale.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        if last != expected_last_seq {
            return Err(StoreError::Concurrent);
        }
        for (k, v) in meta {
            sqlx::query("INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
                .bind(*k)
                .bind(*v)
                .execute(&mut *tx)
                .await?;
        }
        let c = &batch.counts;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO batches (source, sha256, format, entity, imported_by, imported_at, effective, \
             rows_read, appended, unchanged, amended, documents, payments, allocations, customers, warnings) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
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
            sqlx::query("INSERT INTO batch_warnings (batch_id, line, message) VALUES (?, ?, ?)")
                .bind(id)
                .bind(line)
                .bind(message)
                .execute(&mut *tx)
                .await?;
        }
        let mut done = 0;
        for (ks, ps) in kinds.chunks(CHUNK).zip(payloads.chunks(CHUNK)) {
            let mut q = if ks.len() == CHUNK {
                sqlx::query(full_chunk_sql())
            } else {
                // Placeholders only: the statement holds no data.
                sqlx::query(AssertSqlSafe(insert_sql(ks.len())))
            };
            for (k, p) in ks.iter().zip(ps) {
                q = q.bind(id).bind(*k).bind(p.as_str());
            }
            q.execute(&mut *tx).await?;
            done += ks.len();
            progress(done);
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn batches(&self) -> Result<Vec<Batch>> {
        let rows = sqlx::query(
            "SELECT id, source, sha256, format, entity, imported_by, imported_at, effective, rows_read, \
             appended, unchanged, amended, documents, payments, allocations, customers, warnings \
             FROM batches ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| batch_of!(r)).collect()
    }

    async fn event_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await?)
    }
}
