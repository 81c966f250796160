//! Users of the dashboard and API, and their API tokens. Passwords and tokens arrive hashed:
//! hashing is the server's business.

/// A stored user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub login: String,
    pub password_hash: String,
    pub role: String,
    /// The portfolio rule (`collector=Léa`, `region=Nord`, …), empty for everything.
    pub portfolio: String,
    pub locale: String,
}

/// What both backends do with users.
#[allow(async_fn_in_trait)]
pub trait UserStore {
    /// Adds a user; `Ok(None)` when the login is taken.
    async fn add_user(
        &self,
        login: &str,
        password_hash: &str,
        role: &str,
        portfolio: &str,
    ) -> crate::Result<Option<i64>>;
    async fn users(&self) -> crate::Result<Vec<UserRow>>;
    async fn user(&self, login: &str) -> crate::Result<Option<UserRow>>;
    /// Sets a field (`role`, `portfolio`, `locale` or `password_hash`); false when no such user.
    async fn set_user(&self, login: &str, field: UserField, value: &str) -> crate::Result<bool>;
    async fn add_token(&self, login: &str, name: &str, token_sha256: &str) -> crate::Result<bool>;
    async fn token_user(&self, token_sha256: &str) -> crate::Result<Option<UserRow>>;
    /// Report settings (`buckets`, `provisions`, `rating`, `labels`).
    async fn settings(&self) -> crate::Result<Vec<(String, String)>>;
    async fn set_setting(&self, key: &str, value: &str) -> crate::Result<()>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserField {
    Role,
    Portfolio,
    Locale,
    PasswordHash,
}

/// `UserStore` over a backend's `sql` module (`USER_*` statements).
macro_rules! user_store_impl {
    ($store:ty) => {
        impl crate::users::UserStore for $store {
            async fn add_user(
                &self,
                login: &str,
                password_hash: &str,
                role: &str,
                portfolio: &str,
            ) -> crate::Result<Option<i64>> {
                let r = sqlx::query_scalar(sql::USER_ADD)
                    .bind(login)
                    .bind(password_hash)
                    .bind(role)
                    .bind(portfolio)
                    .bind(crate::now_text())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(r)
            }

            async fn users(&self) -> crate::Result<Vec<crate::users::UserRow>> {
                let rows = sqlx::query(
                    "SELECT id, login, password_hash, role, portfolio, locale FROM users ORDER BY login",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| user_row!(r)).collect()
            }

            async fn user(&self, login: &str) -> crate::Result<Option<crate::users::UserRow>> {
                let row = sqlx::query(sql::USER_GET)
                    .bind(login)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(|r| user_row!(r)).transpose()
            }

            async fn set_user(
                &self,
                login: &str,
                field: crate::users::UserField,
                value: &str,
            ) -> crate::Result<bool> {
                use crate::users::UserField::*;
                let q = match field {
                    Role => sql::USER_SET_ROLE,
                    Portfolio => sql::USER_SET_PORTFOLIO,
                    Locale => sql::USER_SET_LOCALE,
                    PasswordHash => sql::USER_SET_PASSWORD,
                };
                let r = sqlx::query(q).bind(value).bind(login).execute(&self.pool).await?;
                Ok(r.rows_affected() == 1)
            }

            async fn add_token(
                &self,
                login: &str,
                name: &str,
                token_sha256: &str,
            ) -> crate::Result<bool> {
                let r = sqlx::query(sql::TOKEN_ADD)
                    .bind(token_sha256)
                    .bind(name)
                    .bind(crate::now_text())
                    .bind(login)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn settings(&self) -> crate::Result<Vec<(String, String)>> {
                Ok(sqlx::query_as("SELECT key, value FROM settings ORDER BY key")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn set_setting(&self, key: &str, value: &str) -> crate::Result<()> {
                sqlx::query(sql::SETTING_PUT)
                    .bind(key)
                    .bind(value)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn token_user(
                &self,
                token_sha256: &str,
            ) -> crate::Result<Option<crate::users::UserRow>> {
                let row = sqlx::query(sql::TOKEN_USER)
                    .bind(token_sha256)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(|r| user_row!(r)).transpose()
            }
        }
    };
}

macro_rules! user_row {
    ($r:expr) => {{
        use sqlx::Row;
        let r = $r;
        Ok::<_, crate::StoreError>(crate::users::UserRow {
            id: r.try_get("id")?,
            login: r.try_get("login")?,
            password_hash: r.try_get("password_hash")?,
            role: r.try_get("role")?,
            portfolio: r.try_get("portfolio")?,
            locale: r.try_get("locale")?,
        })
    }};
}
