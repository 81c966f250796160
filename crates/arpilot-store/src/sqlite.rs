//! The ledger in one SQLite file (WAL journal, so reports read while an import writes).

use crate::migrate::{self, CREATE_TABLE};
use crate::{Result, StoreError};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
    /// `<database>.image`, beside the file.
    image: Option<std::path::PathBuf>,
    /// The database file, watched for changes made by other processes.
    path: std::path::PathBuf,
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
        let mut image = path.as_os_str().to_owned();
        image.push(".image");
        let s = SqliteStore {
            pool,
            image: Some(image.into()),
            path: path.to_path_buf(),
        };
        s.migrate().await?;
        Ok(s)
    }

    pub async fn close(self) {
        self.pool.close().await;
    }

    /// SQLite cannot notify: its files are watched (see [`crate::changes`]).
    pub fn changes(&self) -> crate::Changes {
        crate::Changes::files(&self.path)
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
            // Another process may have applied it while this one waited for the lock.
            let now: i64 =
                sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                    .fetch_one(&mut *tx)
                    .await?;
            if now >= m.version {
                continue;
            }
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

/// The statements of the shared implementation, in SQLite's dialect.
mod sql {
    pub const META_GET: &str = "SELECT value FROM ledger_meta WHERE key = ?";
    pub const LAST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM events";
    pub const BLOCKS_AFTER: &str = "SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq";
    pub const BLOCK_GET: &str = "SELECT payload FROM events WHERE seq = ?";
    pub const BATCH_END: &str = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE batch_id = ?";
    pub const META_PUT: &str =
        "INSERT INTO ledger_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING";
    pub const BATCH_PUT: &str = "INSERT INTO batches (source, sha256, format, entity, imported_by, \
        imported_at, effective, rows_read, appended, unchanged, amended, documents, payments, \
        allocations, customers, warnings) \
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
    pub const WARNING_PUT: &str =
        "INSERT INTO batch_warnings (batch_id, line, message) VALUES (?, ?, ?)";
    pub const BLOCK_PUT: &str =
        "INSERT INTO events (batch_id, first_event, count, payload) VALUES (?, ?, ?, ?)";
    pub const USER_ADD: &str = "INSERT INTO users (login, password_hash, role, portfolio, created_at) \
        VALUES (?, ?, ?, ?, ?) ON CONFLICT (login) DO NOTHING RETURNING id";
    pub const USER_GET: &str =
        "SELECT id, login, password_hash, role, portfolio, locale FROM users WHERE login = ?";
    pub const USER_SET_ROLE: &str = "UPDATE users SET role = ? WHERE login = ?";
    pub const USER_SET_PORTFOLIO: &str = "UPDATE users SET portfolio = ? WHERE login = ?";
    pub const USER_SET_LOCALE: &str = "UPDATE users SET locale = ? WHERE login = ?";
    pub const USER_SET_PASSWORD: &str = "UPDATE users SET password_hash = ? WHERE login = ?";
    pub const SETTING_PUT: &str = "INSERT INTO settings (key, value) VALUES (?, ?) \
        ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    pub const TOKEN_ADD: &str = "INSERT INTO api_tokens (token_sha256, user_id, name, created_at) \
        SELECT ?, id, ?, ? FROM users WHERE login = ?";
    pub const TOKEN_USER: &str = "SELECT u.id, u.login, u.password_hash, u.role, u.portfolio, u.locale \
        FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?";
    pub const SESSION_OPEN: &str = "INSERT INTO sessions (token_sha256, user_id, csrf, created_at, \
        expires_at) SELECT ?, id, ?, ?, ? FROM users WHERE login = ?";
    pub const SESSION_GET: &str = "SELECT u.id, u.login, u.password_hash, u.role, u.portfolio, u.locale, \
        s.csrf, s.created_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
        WHERE s.token_sha256 = ? AND s.expires_at > ?";
    pub const SESSION_CLOSE: &str = "DELETE FROM sessions WHERE token_sha256 = ?";
    pub const SESSION_PURGE: &str = "DELETE FROM sessions WHERE expires_at <= ?";
}

impl SqliteStore {
    /// IMMEDIATE takes the write lock at once, so the position checked next cannot go stale.
    async fn begin_append(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Nobody to tell: readers poll.
    async fn after_append(&self, _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>) -> Result<()> {
        Ok(())
    }
}

ledger_store_impl!(SqliteStore);
user_store_impl!(SqliteStore);
session_store_impl!(SqliteStore);
