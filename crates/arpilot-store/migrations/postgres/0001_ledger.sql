-- The ledger: import batches and the events they appended, in order. Nothing is ever updated
-- or deleted: corrections are new events (amendments) with an effective date.
CREATE TABLE ledger_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE batches (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT   NOT NULL,
    sha256      TEXT   NOT NULL,
    format      TEXT   NOT NULL,
    entity      TEXT,
    imported_by TEXT   NOT NULL,
    imported_at TEXT   NOT NULL,
    effective   TEXT   NOT NULL,
    rows_read   BIGINT NOT NULL,
    appended    BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    amended     BIGINT NOT NULL,
    documents   BIGINT NOT NULL,
    payments    BIGINT NOT NULL,
    allocations BIGINT NOT NULL,
    customers   BIGINT NOT NULL,
    warnings    BIGINT NOT NULL
);
CREATE INDEX batches_sha256 ON batches (sha256);

CREATE TABLE batch_warnings (
    batch_id BIGINT NOT NULL REFERENCES batches (id),
    line     BIGINT,
    message  TEXT   NOT NULL
);

-- Events are stored in blocks of consecutive events of one batch: one line per event,
-- "kind<TAB>fields", in the canonical form of arpilot_core::codec. Blocks load fast, and
-- are as immutable as single events.
CREATE TABLE events (
    seq         BIGSERIAL PRIMARY KEY,
    batch_id    BIGINT NOT NULL REFERENCES batches (id),
    first_event BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    payload     TEXT   NOT NULL
);

CREATE FUNCTION arpilot_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION arpilot_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION arpilot_append_only();
CREATE TRIGGER batches_append_only BEFORE UPDATE OR DELETE ON batches
    FOR EACH ROW EXECUTE FUNCTION arpilot_append_only();
CREATE TRIGGER batches_no_truncate BEFORE TRUNCATE ON batches
    FOR EACH STATEMENT EXECUTE FUNCTION arpilot_append_only();
CREATE TRIGGER warnings_append_only BEFORE UPDATE OR DELETE ON batch_warnings
    FOR EACH ROW EXECUTE FUNCTION arpilot_append_only();
CREATE TRIGGER warnings_no_truncate BEFORE TRUNCATE ON batch_warnings
    FOR EACH STATEMENT EXECUTE FUNCTION arpilot_append_only();
CREATE TRIGGER meta_append_only BEFORE UPDATE OR DELETE ON ledger_meta
    FOR EACH ROW EXECUTE FUNCTION arpilot_append_only();
