-- Signed-in browsers of the dashboard. Unlike the ledger, these rows change and go (sign-out,
-- expiry), so no append-only trigger applies. The cookie's token is never stored: only its
-- SHA-256. Times are Unix seconds. Every server on the database sees the same sessions.
CREATE TABLE sessions (
    token_sha256 TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
