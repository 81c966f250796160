-- Report settings chosen by admins (buckets, provision rates, rating thresholds, labels).
-- Unlike the ledger, they change; a report's figures depend on them only through its options.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
