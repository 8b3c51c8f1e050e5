-- iLive's schema. Times are unix seconds (UTC). Never edit an applied migration: add a new one.

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    webhook_secret TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL
);

-- API keys are stored only as SHA-256 hashes; `prefix` is the first characters, for listing.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    prefix     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT REFERENCES tenants(id),
    kind            TEXT NOT NULL,            -- managed | direct
    mode            TEXT NOT NULL,            -- active | passive
    status          TEXT NOT NULL,            -- created | in_progress | completed | expired
    token_hash      TEXT NOT NULL,
    capture_hash    TEXT NOT NULL,
    signed_webhooks INTEGER NOT NULL DEFAULT 0,
    redirect_url    TEXT,
    webhook_url     TEXT,
    reference_id    TEXT,
    locale          TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    started_at      INTEGER,
    completed_at    INTEGER,
    verdict         TEXT,                     -- pass | fail | retry
    confidence      REAL,
    result_json     TEXT,                     -- layers, challenges, reasons
    camera_metadata TEXT
);
CREATE INDEX sessions_expires_at ON sessions(expires_at);

CREATE TABLE photos (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    jpeg       BLOB NOT NULL,
    geometry   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The durable webhook outbox: one row per delivery, retried until delivered or out of attempts.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,         -- sent as X-iLive-Webhook-Id
    session_id      TEXT NOT NULL,
    tenant_id       TEXT,
    url             TEXT NOT NULL,
    body            TEXT NOT NULL,
    signed          INTEGER NOT NULL,
    status          TEXT NOT NULL,            -- pending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
    attempt     INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    http_status INTEGER,
    error       TEXT
);

-- Proof-of-work CAPTCHA challenges already redeemed (each works once).
CREATE TABLE captcha_spent (
    challenge_hash TEXT PRIMARY KEY,
    expires_at     INTEGER NOT NULL
);

-- Server-generated secrets that must survive restarts (e.g. the CAPTCHA signing key).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
