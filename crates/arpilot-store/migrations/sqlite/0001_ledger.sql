-- The ledger: import batches and the events they appended, in order. Nothing is ever updated
-- or deleted: corrections are new events (amendments) with an effective date.
CREATE TABLE ledger_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE batches (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    format      TEXT    NOT NULL,
    entity      TEXT,
    imported_by TEXT    NOT NULL,
    imported_at TEXT    NOT NULL,
    effective   TEXT    NOT NULL,
    rows_read   INTEGER NOT NULL,
    appended    INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    amended     INTEGER NOT NULL,
    documents   INTEGER NOT NULL,
    payments    INTEGER NOT NULL,
    allocations INTEGER NOT NULL,
    customers   INTEGER NOT NULL,
    warnings    INTEGER NOT NULL
);
CREATE INDEX batches_sha256 ON batches (sha256);

CREATE TABLE batch_warnings (
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    line     INTEGER,
    message  TEXT    NOT NULL
);

-- Events are stored in blocks of consecutive events of one batch: one line per event,
-- "kind<TAB>fields", in the canonical form of arpilot_core::codec. Blocks load fast, and
-- are as immutable as single events.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL REFERENCES batches (id),
    first_event INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    payload     TEXT    NOT NULL
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: events cannot be updated'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: events cannot be deleted'); END;
CREATE TRIGGER batches_no_update BEFORE UPDATE ON batches
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: batches cannot be updated'); END;
CREATE TRIGGER batches_no_delete BEFORE DELETE ON batches
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: batches cannot be deleted'); END;
CREATE TRIGGER warnings_no_update BEFORE UPDATE ON batch_warnings
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: warnings cannot be updated'); END;
CREATE TRIGGER warnings_no_delete BEFORE DELETE ON batch_warnings
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: warnings cannot be deleted'); END;
CREATE TRIGGER meta_no_update BEFORE UPDATE ON ledger_meta
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: its settings are set once'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON ledger_meta
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: its settings are set once'); END;
