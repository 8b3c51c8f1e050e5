-- iLive's schema on PostgreSQL: the same tables and columns as the SQLite migrations (which
-- stay the reference, see ../sqlite/), with PostgreSQL's types: BIGINT for every integer (unix
-- seconds, counts), BOOLEAN for flags, DOUBLE PRECISION, BYTEA. Never edit an applied
-- migration: add a new one, to both folders.

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    webhook_secret TEXT NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    prefix     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT REFERENCES tenants(id),
    kind                TEXT NOT NULL,
    mode                TEXT NOT NULL,
    status              TEXT NOT NULL,
    token_hash          TEXT NOT NULL,
    capture_hash        TEXT NOT NULL,
    signed_webhooks     BOOLEAN NOT NULL DEFAULT FALSE,
    redirect_url        TEXT,
    webhook_url         TEXT,
    reference_id        TEXT,
    locale              TEXT,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    started_at          BIGINT,
    completed_at        BIGINT,
    verdict             TEXT,
    confidence          DOUBLE PRECISION,
    result_json         TEXT,
    camera_metadata     TEXT,
    retention_secs      BIGINT NOT NULL DEFAULT 86400,
    capture_owner       TEXT,
    capture_lease_until BIGINT
);
CREATE INDEX sessions_expires_at ON sessions(expires_at);
CREATE INDEX sessions_in_progress ON sessions(status) WHERE status = 'in_progress';

CREATE TABLE photos (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    jpeg       BYTEA NOT NULL,
    geometry   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL,
    tenant_id       TEXT,
    url             TEXT NOT NULL,
    body            TEXT NOT NULL,
    signed          BOOLEAN NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_session ON webhook_deliveries(session_id);

CREATE TABLE webhook_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
    attempt     BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    http_status BIGINT,
    error       TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id);

CREATE TABLE captcha_spent (
    challenge_hash TEXT PRIMARY KEY,
    expires_at     BIGINT NOT NULL
);

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
