//! The ledger in PostgreSQL, for teams.

use crate::migrate::{self, CREATE_TABLE};
use crate::{
    Batch, LedgerStore, Loaded, NewBatch, Result, StoreError, decode_blocks, encode_blocks,
};
use arpilot_core::Event;
use futures_util::TryStreamExt;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Executor, Row};

pub struct PgStore {
    pool: PgPool,
}

/// Key of the advisory lock that serialises migrations and appends across processes.
const LOCK: i64 = 0x0061_7270_696c_6f74;

impl PgStore {
    pub async fn open(url: &str) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("SET client_min_messages = warning").await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        let s = PgStore { pool };
        s.migrate().await?;
        Ok(s)
    }

    pub async fn close(self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(CREATE_TABLE).execute(&mut *tx).await?;
        let applied: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations")
                .fetch_one(&mut *tx)
                .await?;
        for m in migrate::pending(migrate::POSTGRES, applied)? {
            let fail = |source| StoreError::Migration {
                version: m.version,
                name: m.name,
                source,
            };
            sqlx::raw_sql(m.sql).execute(&mut *tx).await.map_err(fail)?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now()::text)",
            )
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl LedgerStore for PgStore {
    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM ledger_meta WHERE key = $1")
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
        let mut tx = self.pool.begin().await?;
        // One writer at a time, so that sequence numbers follow commit order.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK)
            .execute(&mut *tx)
            .await?;
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events")
            .fetch_one(&mut *tx)
            .await?;
        if last != expected_last_seq {
            return Err(StoreError::Concurrent);
        }
        for (k, v) in meta {
            sqlx::query(
                "INSERT INTO ledger_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
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
            sqlx::query("INSERT INTO batch_warnings (batch_id, line, message) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(line)
                .bind(message)
                .execute(&mut *tx)
                .await?;
        }
        let mut done = 0;
        for (n, payload) in &blocks {
            sqlx::query(
                "INSERT INTO events (batch_id, first_event, count, payload) VALUES ($1, $2, $3, $4)",
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
