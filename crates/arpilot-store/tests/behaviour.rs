//! One behaviour suite, run against SQLite and PostgreSQL.

use arpilot_core::ledger::*;
use arpilot_core::{Currency, Day};
use arpilot_store::{
    Counts, LedgerStore, NewBatch, SessionStore, Store, StoreError, Target, UserField, UserStore,
    Wake, testing,
};
use sqlx::Connection;
use std::time::Duration;

fn d(s: &str) -> Day {
    Day::parse_iso(s).unwrap()
}

fn events() -> Vec<Event> {
    vec![
        Event::Customer(CustomerRec {
            id: "C1".into(),
            name: "Durand\tfils & Cie".into(),
            credit_limit: Some(500_000),
            payment_terms_days: Some(30),
            attrs: vec![("region".into(), "Nord".into())],
        }),
        Event::Document(DocumentRec {
            currency: Some(Currency::EUR),
            disputed: true,
            dispute_reason: Some("prix".into()),
            attrs: vec![("division".into(), "Est".into())],
            ..DocumentRec::new("F1", "C1", DocKind::Invoice, d("2024-01-10"), 120_000)
        }),
        Event::Payment(PaymentRec {
            id: "P1".into(),
            customer_id: "C1".into(),
            date: d("2024-02-01"),
            amount: 20_000,
            currency: None,
            invoice_id: Some("F1".into()),
            reference: Some("VIR 001\nligne".into()),
        }),
        Event::Amend(AmendRec {
            effective: d("2024-03-01"),
            change: Change::DueDate {
                document_id: "F1".into(),
                due: d("2024-03-31"),
            },
        }),
    ]
}

fn batch(name: &str) -> NewBatch {
    NewBatch {
        source: name.into(),
        sha256: "ab".repeat(32),
        format: "ledger".into(),
        entity: Some("FR".into()),
        imported_by: "test".into(),
        imported_at: "2026-11-23T10:00:00Z".into(),
        effective: "2026-11-23".into(),
        counts: Counts {
            rows_read: 4,
            appended: 4,
            documents: 1,
            payments: 1,
            customers: 1,
            amended: 1,
            ..Counts::default()
        },
        warnings: vec![(Some(3), "a warning".into())],
    }
}

async fn suite(store: Store, raw: impl AsyncFn(&str) -> Result<(), String>) {
    // Empty ledger.
    let l = store.load().await.unwrap();
    assert!(l.events.is_empty());
    assert_eq!(l.last_seq, 0);
    assert_eq!(store.meta("currency").await.unwrap(), None);

    // One batch: events come back in order and equal.
    let evs = events();
    let seen = std::sync::Mutex::new(Vec::new());
    let id = store
        .append(&batch("a.csv"), &[("currency", "EUR")], &evs, 0, &|n| {
            seen.lock().unwrap().push(n)
        })
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![4]);
    let l = store.load().await.unwrap();
    assert_eq!(l.events, evs);
    assert_eq!(store.event_count().await.unwrap(), 4);
    assert_eq!(
        store.meta("currency").await.unwrap().as_deref(),
        Some("EUR")
    );

    // A stale position is refused and changes nothing.
    let e = store
        .append(&batch("b.csv"), &[], &evs[..1], 0, &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Concurrent), "{e}");
    assert_eq!(store.event_count().await.unwrap(), 4);

    // Settings are set once; a second batch follows the first.
    let id2 = store
        .append(
            &batch("b.csv"),
            &[("currency", "USD")],
            &evs[2..3],
            l.last_seq,
            &|_| {},
        )
        .await
        .unwrap();
    assert!(id2 > id);
    assert_eq!(
        store.meta("currency").await.unwrap().as_deref(),
        Some("EUR")
    );
    let l2 = store.load().await.unwrap();
    assert_eq!(l2.events.len(), 5);
    assert_eq!(l2.events[4], evs[2]);

    let b = store.batches().await.unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].id, id);
    assert_eq!(b[0].source, "a.csv");
    assert_eq!(b[0].entity.as_deref(), Some("FR"));
    assert_eq!(b[0].counts, batch("a.csv").counts);
    assert_eq!(b[0].warnings, 1);

    // Many events: chunked inserts keep the order.
    let many: Vec<Event> = (0..12_345)
        .map(|i| {
            Event::Action(ActionRec {
                customer_id: "C1".into(),
                date: Day(19_000 + i % 300),
                kind: format!("call {i}"),
                invoice_id: None,
                agent: None,
                note: None,
                outcome: None,
            })
        })
        .collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    store
        .append(&batch("many.csv"), &[], &many, l2.last_seq, &|n| {
            done.store(n, std::sync::atomic::Ordering::Relaxed)
        })
        .await
        .unwrap();
    assert_eq!(done.into_inner(), many.len());
    let l3 = store.load().await.unwrap();
    assert_eq!(&l3.events[5..], &many[..]);

    // The database itself refuses to rewrite history.
    for sql in [
        "UPDATE events SET payload = 'x'",
        "DELETE FROM events",
        "UPDATE batches SET source = 'x'",
        "DELETE FROM batches",
        "DELETE FROM batch_warnings",
        "UPDATE ledger_meta SET value = 'USD'",
    ] {
        let err = raw(sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.load().await.unwrap().events, l3.events);

    // Users: unique logins, changeable roles and portfolios, tokens kept by hash.
    let id = store
        .add_user("lea", "h1", "collector", "collector=Léa")
        .await
        .unwrap();
    assert!(id.is_some());
    assert_eq!(
        store.add_user("lea", "h2", "admin", "").await.unwrap(),
        None
    );
    assert!(
        store
            .set_user("lea", UserField::Role, "viewer")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_user("nobody", UserField::Role, "viewer")
            .await
            .unwrap()
    );
    let u = store.user("lea").await.unwrap().unwrap();
    assert_eq!(
        (
            u.role.as_str(),
            u.portfolio.as_str(),
            u.password_hash.as_str()
        ),
        ("viewer", "collector=Léa", "h1")
    );
    assert!(store.add_token("lea", "script", "abc").await.unwrap());
    assert!(!store.add_token("nobody", "script", "def").await.unwrap());
    assert_eq!(store.token_user("abc").await.unwrap().unwrap().login, "lea");
    assert_eq!(store.token_user("def").await.unwrap(), None);
    assert_eq!(store.users().await.unwrap().len(), 1);
    // Settings change in place.
    store.set_setting("buckets", "30,60").await.unwrap();
    store.set_setting("buckets", "45,90").await.unwrap();
    assert_eq!(
        store.settings().await.unwrap(),
        vec![("buckets".to_string(), "45,90".to_string())]
    );

    sessions(&store).await;
    changes(&store).await;
    store.close().await;
}

/// Sessions: found by the hash of their token until they expire or are closed, with their user
/// as stored now.
async fn sessions(store: &Store) {
    let now = 1_800_000_000;
    assert!(
        store
            .open_session("h1", "lea", "csrf-1", now, now + 60)
            .await
            .unwrap()
    );
    assert!(
        !store
            .open_session("h2", "nobody", "csrf-2", now, now + 60)
            .await
            .unwrap(),
        "no such user"
    );
    let s = store.session("h1", now + 59).await.unwrap().unwrap();
    assert_eq!(
        (
            s.user.login.as_str(),
            s.csrf.as_str(),
            s.created_at,
            s.expires_at
        ),
        ("lea", "csrf-1", now, now + 60)
    );
    assert_eq!(
        store.session("h1", now + 60).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.session("h2", now).await.unwrap(), None);
    assert_eq!(store.session("csrf-1", now).await.unwrap(), None);
    // A role changed meanwhile applies to the open session.
    assert!(
        store
            .set_user("lea", UserField::Role, "collector")
            .await
            .unwrap()
    );
    assert_eq!(
        store.session("h1", now).await.unwrap().unwrap().user.role,
        "collector"
    );
    // Two sessions of one user are independent: closing one keeps the other.
    assert!(
        store
            .open_session("h3", "lea", "csrf-3", now, now + 10)
            .await
            .unwrap()
    );
    assert!(store.close_session("h1").await.unwrap());
    assert!(!store.close_session("h1").await.unwrap());
    assert_eq!(store.session("h1", now).await.unwrap(), None);
    assert_eq!(
        store.session("h3", now).await.unwrap().unwrap().csrf,
        "csrf-3"
    );
    // Purging deletes the expired ones only.
    assert!(
        store
            .open_session("h4", "lea", "csrf-4", now, now + 100)
            .await
            .unwrap()
    );
    assert_eq!(store.purge_sessions(now + 10).await.unwrap(), 1);
    assert_eq!(store.purge_sessions(now + 10).await.unwrap(), 0);
    assert!(store.session("h4", now + 10).await.unwrap().is_some());
    assert!(store.close_session("h4").await.unwrap());
}

/// A change is told within a second: notified on PostgreSQL (and told apart when made through
/// the same handle), polled on SQLite.
async fn changes(store: &Store) {
    let mut ch = store.changes();
    let first = tokio::time::timeout(Duration::from_secs(5), ch.next())
        .await
        .expect("a first wake-up at once");
    assert_eq!(first, Wake::Check);
    let postgres = matches!(store, Store::Postgres(_));
    assert_eq!(ch.listening(), postgres);
    let l = store.load().await.unwrap();
    let ev = events();
    store
        .append(&batch("c.csv"), &[], &ev[2..3], l.last_seq, &|_| {})
        .await
        .unwrap();
    let last_seq = store.load().await.unwrap().last_seq;
    let woke = tokio::time::timeout(Duration::from_secs(1), ch.next())
        .await
        .expect("a wake-up within a second");
    if postgres {
        assert_eq!(
            woke,
            Wake::Notified {
                last_seq,
                ours: true
            }
        );
    } else {
        assert_eq!(woke, Wake::Check);
    }
}

#[tokio::test]
async fn sqlite_behaves() {
    let dir = std::env::temp_dir().join(format!("arpilot-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let _ = std::fs::remove_file(&path);
    let target = Target::parse(path.to_str().unwrap());
    let store = Store::open(&target).await.unwrap();
    let p = path.clone();
    suite(store, async move |sql: &str| {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", p.display()))
            .await
            .map_err(|e| e.to_string())?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut c)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    // Reopening runs no migration twice and keeps the ledger.
    let store = Store::open_existing(&target).await.unwrap();
    assert_eq!(store.event_count().await.unwrap(), 4 + 1 + 12_345 + 1);
    store.close().await;
    let missing = Target::parse(dir.join("none.db").to_str().unwrap());
    assert!(Store::open_existing(&missing).await.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn postgres_behaves() {
    let Some(url) = testing::fresh_postgres().await else {
        return;
    };
    let target = Target::parse(&url);
    let store = Store::open(&target).await.unwrap();
    let u = url.clone();
    suite(store, async move |sql: &str| {
        let mut c = sqlx::PgConnection::connect(&u)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut c)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    let store = Store::open(&target).await.unwrap();
    assert_eq!(store.event_count().await.unwrap(), 4 + 1 + 12_345 + 1);
    store.close().await;
}

/// Another handle (another server, the CLI) is heard at once; a listener whose connection drops
/// is opened again, and the caller polls meanwhile.
#[tokio::test]
async fn postgres_changes_survive_a_dropped_listener() {
    let Some(url) = testing::fresh_postgres().await else {
        return;
    };
    let target = Target::parse(&url);
    let reader = Store::open(&target).await.unwrap();
    let writer = Store::open(&target).await.unwrap();
    let mut ch = reader.changes();
    let next = async |ch: &mut arpilot_store::Changes| {
        tokio::time::timeout(Duration::from_secs(3), ch.next())
            .await
            .expect("a wake-up")
    };
    assert_eq!(next(&mut ch).await, Wake::Check);
    assert!(ch.listening());
    let evs = events();
    let mut last = 0;
    let mut append = async |n: usize| {
        writer
            .append(&batch("x.csv"), &[], &evs[n..n + 1], last, &|_| {})
            .await
            .unwrap();
        last = writer.load().await.unwrap().last_seq;
        last
    };
    let seq = append(0).await;
    assert_eq!(
        next(&mut ch).await,
        Wake::Notified {
            last_seq: seq,
            ours: false
        }
    );

    // The listener's connection is killed: the caller is told to look, and listening resumes.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, [true]);
    assert_eq!(next(&mut ch).await, Wake::Check, "lost");
    assert!(!ch.listening());
    assert_eq!(next(&mut ch).await, Wake::Check, "listening again");
    assert!(ch.listening());
    let seq = append(1).await;
    assert_eq!(
        next(&mut ch).await,
        Wake::Notified {
            last_seq: seq,
            ours: false
        }
    );
    assert_eq!(reader.event_count().await.unwrap(), 2);
    reader.close().await;
    writer.close().await;
}
