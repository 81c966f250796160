-- Users of the web dashboard and API. Unlike the ledger, these rows change (roles, portfolios).
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    portfolio     TEXT NOT NULL DEFAULT '',
    locale        TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL
);

-- API tokens for scripts: only their SHA-256 is kept.
CREATE TABLE api_tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
