//! Who is asking and what they may see: argon2 passwords, server-side sessions with a CSRF token,
//! API tokens, roles and portfolios.
//!
//! Every read of customer data goes through a [`Scope`], which only the authenticated caller
//! provides, so a portfolio restriction cannot be forgotten by a handler.

use arpilot_store::{SessionStore, StoreError, UserRow};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use arpilot_app::users::{
    PortfolioError, Role, Scope, check_sign_in, hash_password, parse_portfolio, random_token,
    sha256_hex, verify_password,
};

/// Back-off after failed sign-ins, per login and per client address: the first attempts are
/// free, then each failure doubles the wait (capped at 15 minutes). A success clears the login's
/// count. Kept in memory: a restart forgives.
#[derive(Default)]
pub struct Throttle {
    failures: std::sync::Mutex<HashMap<String, (u32, Instant)>>,
}

/// Failed sign-ins allowed per login, and per client address (several users may share one
/// behind a proxy), before waits start.
pub const FREE_PER_LOGIN: u32 = 5;
pub const FREE_PER_ADDRESS: u32 = 20;

impl Throttle {
    /// How long `key` must still wait, if it must.
    pub fn wait(&self, key: &str) -> Option<Duration> {
        let map = self.failures.lock().expect("throttle lock");
        let (_, until) = map.get(key)?;
        until.checked_duration_since(Instant::now())
    }

    /// Records a failure of `key`, which has `free` failures before waits start.
    pub fn fail(&self, key: &str, free: u32) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() > 100_000 {
            let now = Instant::now();
            map.retain(|_, (_, until)| *until + Duration::from_secs(3600) > now);
        }
        let e = map.entry(key.to_string()).or_insert((0, Instant::now()));
        e.0 += 1;
        if e.0 >= free {
            let secs = 1u64 << (e.0 - free).min(10);
            e.1 = Instant::now() + Duration::from_secs(secs.min(900));
        }
    }

    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("throttle lock").remove(key);
    }

    /// A request of `key` (kept apart from sign-in keys by its prefix) under a limit of `limit`
    /// requests a `window`: `None` when it may go on, else how long until the window ends.
    pub fn rate(&self, key: &str, limit: u32, window: Duration) -> Option<Duration> {
        let mut map = self.failures.lock().expect("throttle lock");
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, (_, until)| *until + Duration::from_secs(3600) > now);
        }
        // For these keys the instant is the end of the current window.
        let e = map.entry(key.to_string()).or_insert((0, now + window));
        if e.1 <= now {
            *e = (0, now + window);
        }
        e.0 = e.0.saturating_add(1);
        (e.0 > limit).then(|| e.1 - now)
    }
}

/// A signed-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// The user as stored now: a role or portfolio changed by an admin applies at once.
    pub user: UserRow,
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Server-side sessions, kept in the store (table `sessions`) under the SHA-256 of the cookie
/// value: they survive a restart and every server on one database shares them. This is the
/// layer that makes the tokens, hashes them and dates sessions.
#[derive(Default)]
pub struct Sessions;

pub const SESSION_COOKIE: &str = "arpilot_session";
/// Twelve hours from sign-in (the cookie's `Max-Age`); a session does not slide.
pub const SESSION_LIFE_SECS: i64 = 12 * 3600;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Sessions {
    /// Opens a session for `user` (and drops the expired ones); returns the cookie value, or
    /// `None` when the user no longer exists.
    pub async fn open(
        &self,
        store: &impl SessionStore,
        user: &UserRow,
    ) -> Result<Option<String>, StoreError> {
        let token = random_token();
        let now = now_secs();
        store.purge_sessions(now).await?;
        let opened = store
            .open_session(
                &sha256_hex(&token),
                &user.login,
                &random_token(),
                now,
                now + SESSION_LIFE_SECS,
            )
            .await?;
        Ok(opened.then_some(token))
    }

    /// The live session of a cookie value.
    pub async fn get(
        &self,
        store: &impl SessionStore,
        token: &str,
    ) -> Result<Option<Session>, StoreError> {
        Ok(store
            .session(&sha256_hex(token), now_secs())
            .await?
            .map(|s| Session {
                user: s.user,
                csrf: s.csrf,
                expires_at: s.expires_at,
            }))
    }

    pub async fn close(&self, store: &impl SessionStore, token: &str) -> Result<(), StoreError> {
        store.close_session(&sha256_hex(token)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret");
        assert!(h.starts_with("argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cret ", &h));
        assert!(!verify_password("s3cret", "argon2id$zz$00"));
        assert_ne!(hash_password("s3cret"), h, "salted");
    }

    /// Sessions live in the store: a restart (a new handle on the database) keeps them.
    #[tokio::test]
    async fn sessions_survive_a_restart_and_close() {
        use arpilot_store::{Store, Target, UserStore};
        let path = std::env::temp_dir().join(format!("arpilot-auth-{}.db", std::process::id()));
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", path.display()));
        }
        let target = Target::Sqlite(path.clone());
        let store = Store::open(&target).await.unwrap();
        store.add_user("lea", "h", "viewer", "").await.unwrap();
        let lea = store.user("lea").await.unwrap().unwrap();
        let token = Sessions.open(&store, &lea).await.unwrap().unwrap();
        let csrf = Sessions.get(&store, &token).await.unwrap().unwrap().csrf;
        store.close().await;
        let store = Store::open(&target).await.unwrap();
        let s = Sessions.get(&store, &token).await.unwrap().unwrap();
        assert_eq!((s.user.login.as_str(), s.csrf), ("lea", csrf));
        assert!(s.expires_at - now_secs() > SESSION_LIFE_SECS - 60);
        assert!(Sessions.get(&store, "forged").await.unwrap().is_none());
        Sessions.close(&store, &token).await.unwrap();
        assert!(Sessions.get(&store, &token).await.unwrap().is_none());
        store.close().await;
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", path.display()));
        }
    }

    #[test]
    fn portfolios_parse() {
        let f = parse_portfolio("collector=Léa; region=Nord").unwrap();
        assert_eq!(f.len(), 2);
        assert!(parse_portfolio("collector").is_err());
    }
}
