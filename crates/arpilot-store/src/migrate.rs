//! Versioned migrations, one list per backend. Each runs once, in its own transaction, and is
//! recorded in `schema_migrations`; a database newer than this binary is refused.

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        sql: include_str!("../migrations/sqlite/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "users",
        sql: include_str!("../migrations/sqlite/0002_users.sql"),
    },
    Migration {
        version: 3,
        name: "settings",
        sql: include_str!("../migrations/sqlite/0003_settings.sql"),
    },
    Migration {
        version: 4,
        name: "sessions",
        sql: include_str!("../migrations/sqlite/0004_sessions.sql"),
    },
];

pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        sql: include_str!("../migrations/postgres/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "users",
        sql: include_str!("../migrations/postgres/0002_users.sql"),
    },
    Migration {
        version: 3,
        name: "settings",
        sql: include_str!("../migrations/postgres/0003_settings.sql"),
    },
    Migration {
        version: 4,
        name: "sessions",
        sql: include_str!("../migrations/postgres/0004_sessions.sql"),
    },
];

pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// Checks the newest applied version against the known list; returns the ones still to run.
pub fn pending(
    list: &'static [Migration],
    applied: i64,
) -> Result<&'static [Migration], crate::StoreError> {
    let known = list.last().map_or(0, |m| m.version);
    if applied > known {
        return Err(crate::StoreError::TooNew {
            found: applied,
            known,
        });
    }
    Ok(&list[list.partition_point(|m| m.version <= applied)..])
}
