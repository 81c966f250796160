//! The ledger in PostgreSQL, for teams.

use crate::migrate::{self, CREATE_TABLE};
use crate::{Result, StoreError};
use sqlx::Executor;
use sqlx::postgres::{PgPool, PgPoolOptions};

pub struct PgStore {
    pool: PgPool,
    /// Names this handle in its notifications, so that its own changes are told apart.
    origin: String,
    /// Where the snapshot's image is kept: `ARPILOT_IMAGE`, as several servers may share the
    /// database but not a disk.
    image: Option<std::path::PathBuf>,
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
        let s = PgStore {
            pool,
            origin: crate::changes::origin(),
            image: std::env::var_os("ARPILOT_IMAGE")
                .filter(|v| !v.is_empty())
                .map(Into::into),
        };
        s.migrate().await?;
        Ok(s)
    }

    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Notifications of appends, on a connection of their own (see [`crate::changes`]).
    pub fn changes(&self) -> crate::Changes {
        crate::Changes::listen(&self.pool, &self.origin)
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

/// The statements of the shared implementation, in PostgreSQL's dialect.
mod sql {
    pub const META_GET: &str = "SELECT value FROM ledger_meta WHERE key = $1";
    pub const LAST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events";
    pub const BLOCKS_AFTER: &str = "SELECT seq, payload FROM events WHERE seq > $1 ORDER BY seq";
    pub const BLOCK_GET: &str = "SELECT payload FROM events WHERE seq = $1";
    pub const BATCH_END: &str =
        "SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events WHERE batch_id = $1";
    pub const META_PUT: &str =
        "INSERT INTO ledger_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
    pub const BATCH_PUT: &str = "INSERT INTO batches (source, sha256, format, entity, imported_by, \
        imported_at, effective, rows_read, appended, unchanged, amended, documents, payments, \
        allocations, customers, warnings) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id";
    pub const WARNING_PUT: &str =
        "INSERT INTO batch_warnings (batch_id, line, message) VALUES ($1, $2, $3)";
    pub const BLOCK_PUT: &str =
        "INSERT INTO events (batch_id, first_event, count, payload) VALUES ($1, $2, $3, $4)";
    pub const USER_ADD: &str = "INSERT INTO users (login, password_hash, role, portfolio, created_at) \
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (login) DO NOTHING RETURNING id";
    pub const USER_GET: &str =
        "SELECT id, login, password_hash, role, portfolio, locale FROM users WHERE login = $1";
    pub const USER_SET_ROLE: &str = "UPDATE users SET role = $1 WHERE login = $2";
    pub const USER_SET_PORTFOLIO: &str = "UPDATE users SET portfolio = $1 WHERE login = $2";
    pub const USER_SET_LOCALE: &str = "UPDATE users SET locale = $1 WHERE login = $2";
    pub const USER_SET_PASSWORD: &str = "UPDATE users SET password_hash = $1 WHERE login = $2";
    pub const SETTING_PUT: &str = "INSERT INTO settings (key, value) VALUES ($1, $2) \
        ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    pub const TOKEN_ADD: &str = "INSERT INTO api_tokens (token_sha256, user_id, name, created_at) \
        SELECT $1, id, $2, $3 FROM users WHERE login = $4";
    pub const TOKEN_USER: &str = "SELECT u.id, u.login, u.password_hash, u.role, u.portfolio, u.locale \
        FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = $1";
    pub const SESSION_OPEN: &str = "INSERT INTO sessions (token_sha256, user_id, csrf, created_at, \
        expires_at) SELECT $1, id, $2, $3, $4 FROM users WHERE login = $5";
    pub const SESSION_GET: &str = "SELECT u.id, u.login, u.password_hash, u.role, u.portfolio, u.locale, \
        s.csrf, s.created_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
        WHERE s.token_sha256 = $1 AND s.expires_at > $2";
    pub const SESSION_CLOSE: &str = "DELETE FROM sessions WHERE token_sha256 = $1";
    pub const SESSION_PURGE: &str = "DELETE FROM sessions WHERE expires_at <= $1";
    /// Sent on commit, to every listener: the last event's position and who appended.
    pub const NOTIFY: &str = "SELECT pg_notify('arpilot_ledger', \
        (SELECT COALESCE(MAX(seq), 0) FROM events)::text || ' ' || $1)";
}

impl PgStore {
    /// One writer at a time across processes, so that sequence numbers follow commit order.
    async fn begin_append(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Tells listeners (`LISTEN arpilot_ledger`) when the append commits.
    async fn after_append(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> Result<()> {
        sqlx::query(sql::NOTIFY)
            .bind(&self.origin)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

ledger_store_impl!(PgStore);
user_store_impl!(PgStore);
session_store_impl!(PgStore);
