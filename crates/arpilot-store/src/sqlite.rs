//! The ledger in one SQLite file (WAL journal, so reports read while an import writes).

use crate::migrate::{self, CREATE_TABLE};
use crate::{
    Batch, LedgerStore, Loaded, NewBatch, Result, StoreError, decode_blocks, encode_blocks,
};
use arpilot_core::Event;
use futures_util::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
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
            sqlx::raw_sql(m.sql).execute(&mut *tx).await.map_err(fail)?;
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
        let mut rows =
            sqlx::query("SELECT seq, payload FROM events ORDER BY seq").fetch(&self.pool);
        let mut blocks = Vec::new();
        while let Some(row) = rows.try_next().await? {
            blocks.push((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?));
        }
        let last_seq = blocks.last().map_or(0, |b| b.0);
        Ok(Loaded {
            events: decode_blocks(blocks)?,
            last_seq,
        })
    }

    async fn append(
        &self,
        batch: &NewBatch,
        meta: &[(&str, &str)],
        events: &[Event],
        expected_last_seq: i64,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<i64> {
        let blocks = encode_blocks(events);
        // IMMEDIATE takes the write lock now, so the check below cannot go stale.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        if last != expected_last_seq {
            return Err(StoreError::Concurrent);
        }
        for (k, v) in meta {
            sqlx::query(
                "INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            )
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
        for (n, payload) in &blocks {
            sqlx::query(
                "INSERT INTO events (batch_id, first_event, count, payload) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(done as i64)
            .bind(*n as i64)
            .bind(payload.as_str())
            .execute(&mut *tx)
            .await?;
            done += n;
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
        Ok(
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM events")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
