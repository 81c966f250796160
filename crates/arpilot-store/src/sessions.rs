//! Server-side sessions of dashboard users. They live in the database, so that a restart keeps
//! users signed in and every server on one database knows them. A session is found by the
//! SHA-256 of its cookie token: the caller makes the random token, keeps it out of the store and
//! hashes it here and there. Times are Unix seconds, given by the caller.
//!
//! Unlike the ledger, sessions are mutable state: opened, closed, purged once expired.

use crate::users::UserRow;

/// A live session, with its user as stored now (a changed role or portfolio applies at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub user: UserRow,
    /// The session's CSRF token, which forms and scripts of this session send back.
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What both backends do with sessions.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Records a session of `login` under the SHA-256 of its token, live from `created_at` until
    /// `expires_at`; false when no such user.
    async fn open_session(
        &self,
        token_sha256: &str,
        login: &str,
        csrf: &str,
        created_at: i64,
        expires_at: i64,
    ) -> crate::Result<bool>;
    /// The session, unless closed or expired at `now` (expired once `now >= expires_at`).
    async fn session(&self, token_sha256: &str, now: i64) -> crate::Result<Option<SessionRow>>;
    /// Closes a session; false when there was none.
    async fn close_session(&self, token_sha256: &str) -> crate::Result<bool>;
    /// Deletes the sessions expired at `now`; returns how many.
    async fn purge_sessions(&self, now: i64) -> crate::Result<u64>;
}

/// `SessionStore` over a backend's `sql` module (`SESSION_*` statements).
macro_rules! session_store_impl {
    ($store:ty) => {
        impl crate::sessions::SessionStore for $store {
            async fn open_session(
                &self,
                token_sha256: &str,
                login: &str,
                csrf: &str,
                created_at: i64,
                expires_at: i64,
            ) -> crate::Result<bool> {
                let r = sqlx::query(sql::SESSION_OPEN)
                    .bind(token_sha256)
                    .bind(csrf)
                    .bind(created_at)
                    .bind(expires_at)
                    .bind(login)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn session(
                &self,
                token_sha256: &str,
                now: i64,
            ) -> crate::Result<Option<crate::sessions::SessionRow>> {
                use sqlx::Row;
                let Some(r) = sqlx::query(sql::SESSION_GET)
                    .bind(token_sha256)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some(crate::sessions::SessionRow {
                    user: user_row!(&r)?,
                    csrf: r.try_get("csrf")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                }))
            }

            async fn close_session(&self, token_sha256: &str) -> crate::Result<bool> {
                let r = sqlx::query(sql::SESSION_CLOSE)
                    .bind(token_sha256)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn purge_sessions(&self, now: i64) -> crate::Result<u64> {
                let r = sqlx::query(sql::SESSION_PURGE)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected())
            }
        }
    };
}
