//! Helpers for tests that run against PostgreSQL: a fresh database per test.

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::sync::atomic::{AtomicU32, Ordering};

/// Server used by tests (`ARPILOT_TEST_DATABASE_URL`, default the local trust-auth server).
pub fn admin_url() -> String {
    std::env::var("ARPILOT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// True when tests must fail rather than skip without PostgreSQL (`ARPILOT_REQUIRE_POSTGRES`).
pub fn postgres_required() -> bool {
    std::env::var_os("ARPILOT_REQUIRE_POSTGRES").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Creates an empty database and returns its URL; `None` (with a note on stderr) when no
/// server answers and PostgreSQL is not required.
pub async fn fresh_postgres() -> Option<String> {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = admin_url();
    let mut conn = match PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if !postgres_required() => {
            eprintln!("skipped: PostgreSQL not reachable at {admin} ({e})");
            return None;
        }
        Err(e) => panic!("PostgreSQL required but not reachable at {admin}: {e}"),
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "arpilot_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    // The name is made of digits and a fixed prefix only.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}
