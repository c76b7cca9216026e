-- Accounts, sessions, API tokens and the identity-provider webhook ledger.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT,                 -- NULL for accounts that only sign in through the IdP
    role          TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL    NOT NULL,
    external_id   TEXT    UNIQUE,       -- the identity provider's user id
    email         TEXT
);

CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,    -- the JWT's jti
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  REAL    NOT NULL,
    expires_at  REAL    NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE, -- sha256 of the token; the token itself is never stored
    created_at   REAL    NOT NULL,
    expires_at   REAL,
    last_used_at REAL,
    revoked      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

-- Delivery ids of verified webhooks, so that a replayed delivery is refused.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    received_at REAL NOT NULL
);
