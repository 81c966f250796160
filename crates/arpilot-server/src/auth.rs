//! Who is asking and what they may see: argon2 passwords, server-side sessions with a CSRF token,
//! API tokens, roles and portfolios.
//!
//! Every read of customer data goes through a [`Scope`], which only the authenticated caller
//! provides, so a portfolio restriction cannot be forgotten by a handler.

use argon2::Argon2;
use arpilot_core::Snapshot;
use arpilot_core::select::{Filter, SelectError, Selection};
use arpilot_store::{SessionStore, StoreError, UserRow};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything, users and settings included.
    Admin,
    /// Every customer; imports.
    Manager,
    /// Their portfolio.
    Collector,
    /// Their portfolio, read-only (sales, ADV).
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "manager" | "credit_manager" => Role::Manager,
            "collector" => Role::Collector,
            "viewer" | "sales" => Role::Viewer,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Collector => "collector",
            Role::Viewer => "viewer",
        }
    }

    /// Admins and credit managers see every customer whatever their portfolio says.
    pub fn sees_all(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }
}

/// Why a portfolio rule is refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "portfolio {0:?}: expected NAME=VALUE rules separated by ';' (e.g. collector=Léa;region=Nord)"
)]
pub struct PortfolioError(pub String);

/// A portfolio rule: `NAME=VALUE` conditions on customer or document dimensions, all required.
pub fn parse_portfolio(rule: &str) -> Result<Vec<Filter>, PortfolioError> {
    rule.split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| Filter::parse(r).map_err(|_| PortfolioError(rule.to_string())))
        .collect()
}

/// What a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Conditions every figure is restricted to; `None` when the caller may see nothing.
    filters: Option<Vec<Filter>>,
}

impl Scope {
    pub fn of(user: &UserRow) -> Scope {
        let role = Role::parse(&user.role);
        let filters = match role {
            Some(r) if r.sees_all() => Some(Vec::new()),
            // A restricted role without a (valid) portfolio sees nothing.
            Some(_) if !user.portfolio.trim().is_empty() => parse_portfolio(&user.portfolio).ok(),
            _ => None,
        };
        Scope { filters }
    }

    /// The selection of the caller's customers and documents, narrowed by `extra` (which can
    /// never widen it: the two are intersected, not merged).
    pub fn selection(&self, snap: &Snapshot, extra: &[Filter]) -> Result<Selection, SelectError> {
        let asked = Selection::resolve(snap, extra)?;
        let own = match &self.filters {
            // A portfolio naming a dimension the ledger lacks holds no customer.
            Some(f) => Selection::resolve(snap, f).unwrap_or_else(|_| Selection::none(snap)),
            None => Selection::none(snap),
        };
        Ok(own.and(asked))
    }

    /// True when the caller is restricted to a portfolio.
    pub fn restricted(&self) -> bool {
        self.filters.as_ref().is_none_or(|f| !f.is_empty())
    }
}

const SALT: usize = 16;
const HASH: usize = 32;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random generator");
    hex(&b)
}

/// `argon2id$<salt hex>$<hash hex>` with argon2's default (OWASP) parameters.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; SALT];
    getrandom::fill(&mut salt).expect("the OS random generator");
    let mut out = [0u8; HASH];
    Argon2::default()
        .hash_password_into(password.as_bytes(), &salt, &mut out)
        .expect("valid argon2 parameters");
    format!("argon2id${}${}", hex(&salt), hex(&out))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("argon2id"), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(salt), Some(hash)) = (unhex(salt), unhex(hash)) else {
        return false;
    };
    let mut out = vec![0u8; hash.len()];
    if Argon2::default()
        .hash_password_into(password.as_bytes(), &salt, &mut out)
        .is_err()
    {
        return false;
    }
    // Constant time: no early exit on the first differing byte.
    out.iter().zip(&hash).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0 && out.len() == hash.len()
}

pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
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
