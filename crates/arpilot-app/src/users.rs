//! Users and their credentials, for the server's settings page and `arpilot users` alike:
//! roles, portfolios, argon2 password hashes, API tokens (kept as SHA-256).

use argon2::Argon2;
use arpilot_core::Snapshot;
use arpilot_core::select::{Filter, SelectError, Selection};
use arpilot_store::{StoreError, UserField, UserRow, UserStore};
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
    "portfolio {0:?}: expected NAME=VALUE rules separated by ';' (e.g. collector=Léa;region=Nord), at most 1000 characters"
)]
pub struct PortfolioError(pub String);

/// A portfolio rule: `NAME=VALUE` conditions on customer or document dimensions, all required.
pub fn parse_portfolio(rule: &str) -> Result<Vec<Filter>, PortfolioError> {
    if rule.chars().count() > 1000 || rule.chars().any(char::is_control) {
        let shown: String = rule.chars().take(40).collect();
        return Err(PortfolioError(shown));
    }
    rule.split(';')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| Filter::parse(r).map_err(|_| PortfolioError(rule.to_string())))
        .collect()
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

thread_local! {
    /// Password verifications (argon2 runs) done on this thread, for tests of uniform work.
    static VERIFICATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Longest password accepted.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Checks a sign-in: the user's stored hash, or — for an unknown login — a hash of the same
/// cost, so that an answer's timing does not tell which logins exist.
pub fn check_sign_in(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // No stored password is that long: the same work on a bounded input, then refused.
    if password.len() > 4 * MAX_PASSWORD_CHARS {
        let dummy = DUMMY.get_or_init(|| hash_password(&random_token()));
        verify_password("", dummy);
        return false;
    }
    match stored {
        Some(h) => verify_password(password, h),
        None => {
            let dummy = DUMMY.get_or_init(|| hash_password(&random_token()));
            verify_password(password, dummy);
            false
        }
    }
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    VERIFICATIONS.with(|v| v.set(v.get() + 1));
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

/// Why a change to the users was refused (the field is named); nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("role: expected admin, manager, collector or viewer, found {0:?}")]
    Role(String),
    #[error(transparent)]
    Portfolio(#[from] PortfolioError),
    #[error("login: expected 1 to 64 characters without spaces or control characters, found {0:?}")]
    Login(String),
    #[error("password: expected 10 to 1024 characters")]
    Password,
    #[error("{0:?}: login taken (set its role or portfolio instead)")]
    Taken(String),
    #[error("no user {0:?}")]
    Unknown(String),
    #[error("you cannot remove your own admin role")]
    OwnAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_login(login: &str) -> Result<(), UserError> {
    let ok = !login.is_empty()
        && login.chars().count() <= 64
        && !login.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(UserError::Login(login.to_string()))
    }
}

fn check_role(role: &str) -> Result<Role, UserError> {
    Role::parse(role).ok_or_else(|| UserError::Role(role.to_string()))
}

/// Adds a user with a password of 10 characters or more.
pub async fn add(
    store: &impl UserStore,
    login: &str,
    role: &str,
    portfolio: &str,
    password: &str,
) -> Result<(), UserError> {
    check_login(login)?;
    check_role(role)?;
    parse_portfolio(portfolio)?;
    if !(10..=MAX_PASSWORD_CHARS).contains(&password.chars().count()) {
        return Err(UserError::Password);
    }
    match store
        .add_user(login, &hash_password(password), role, portfolio.trim())
        .await?
    {
        Some(_) => Ok(()),
        None => Err(UserError::Taken(login.to_string())),
    }
}

/// Changes a user's role; `by` is the admin making the change, who cannot demote themselves
/// (and lock everyone out).
pub async fn set_role(
    store: &impl UserStore,
    login: &str,
    role: &str,
    by: Option<&str>,
) -> Result<(), UserError> {
    check_role(role)?;
    if by == Some(login) && role != "admin" {
        return Err(UserError::OwnAdmin);
    }
    if store.set_user(login, UserField::Role, role).await? {
        Ok(())
    } else {
        Err(UserError::Unknown(login.to_string()))
    }
}

/// Changes a user's role and portfolio together: both are checked before either is written.
pub async fn update(
    store: &impl UserStore,
    login: &str,
    role: &str,
    portfolio: &str,
    by: Option<&str>,
) -> Result<(), UserError> {
    check_role(role)?;
    parse_portfolio(portfolio)?;
    set_role(store, login, role, by).await?;
    set_portfolio(store, login, portfolio).await
}

/// Changes a user's portfolio (`NAME=VALUE` rules joined by `;`).
pub async fn set_portfolio(
    store: &impl UserStore,
    login: &str,
    portfolio: &str,
) -> Result<(), UserError> {
    parse_portfolio(portfolio)?;
    if store
        .set_user(login, UserField::Portfolio, portfolio.trim())
        .await?
    {
        Ok(())
    } else {
        Err(UserError::Unknown(login.to_string()))
    }
}

/// Creates an API token for `login`; the token is returned once, only its hash is kept.
pub async fn add_token(
    store: &impl UserStore,
    login: &str,
    name: &str,
) -> Result<String, UserError> {
    let token = random_token();
    if store.add_token(login, name, &sha256_hex(&token)).await? {
        Ok(token)
    } else {
        Err(UserError::Unknown(login.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_tokens_hash() {
        let h = hash_password("s3cret-long");
        assert!(h.starts_with("argon2id$"));
        assert!(verify_password("s3cret-long", &h));
        assert!(!verify_password("s3cret-lonG", &h));
        assert!(!verify_password("s3cret-long", "argon2id$zz$00"));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(random_token().len(), 64);
    }

    #[test]
    fn unknown_logins_cost_the_same_hash_work() {
        let count = || VERIFICATIONS.with(|v| v.get());
        let known = hash_password("right-password");
        let before = count();
        assert!(check_sign_in("right-password", Some(&known)));
        assert!(!check_sign_in("wrong-password", Some(&known)));
        assert!(!check_sign_in("right-password", None));
        // A password longer than any stored one is refused after the same work.
        assert!(!check_sign_in(&"x".repeat(1 << 20), Some(&known)));
        assert_eq!(
            count() - before,
            4,
            "one argon2 verification per attempt, known or not"
        );
    }

    #[test]
    fn roles_and_logins_are_checked() {
        assert_eq!(Role::parse("credit_manager"), Some(Role::Manager));
        assert!(check_role("boss").is_err());
        assert!(check_login("zoé").is_ok());
        assert!(check_login("a b").is_err());
        assert!(check_login("").is_err());
        assert!(check_login(&"x".repeat(65)).is_err());
        assert_eq!(
            UserError::Role("boss".into()).to_string(),
            "role: expected admin, manager, collector or viewer, found \"boss\""
        );
    }
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
            Some(f) => Selection::portfolio(snap, f),
            None => Selection::none(snap),
        };
        Ok(own.and(asked))
    }

    /// The portfolio's conditions (none: every customer); `None` when the caller may see
    /// nothing.
    pub fn filters(&self) -> Option<&[Filter]> {
        self.filters.as_deref()
    }

    /// True when the caller is restricted to a portfolio.
    pub fn restricted(&self) -> bool {
        self.filters.as_ref().is_none_or(|f| !f.is_empty())
    }
}
