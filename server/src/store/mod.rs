//! Persistence: the sqlx pool, migrations, and one module per table group. Every query lists its
//! columns; statuses are enums stored as TEXT. Store functions answer with the store's own
//! [`Error`]; the HTTP edge turns it into the API's error (`crate::error`).
//!
//! Two databases sit behind one [`Db`]: SQLite (the embedded default, one file) and PostgreSQL
//! (shared by several replicas; docs/deployment.md). Each query is written once, in the SQL both
//! accept (`$1` parameters, `ON CONFLICT`, `RETURNING`, `IS NOT DISTINCT FROM`), and
//! [`on_db!`] runs it on whichever pool the URL chose; the few statements that differ (row
//! locks, the sweeper's lock) say so where they are.
pub mod collections;
pub mod retention;
pub mod secrets;
pub mod sessions;
pub mod tenants;
pub mod webhooks;

use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions},
};
use subtle::ConstantTimeEq;
use tracing::instrument;

/// The database: a pool of SQLite or of PostgreSQL connections, chosen by the URL's scheme.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the database's pool. The body is compiled once per
/// database, so the same query code gets each driver's own types.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

impl Db {
    /// Which database this is, for logs and the metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (waits for the ones in use).
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the store refuses or fails at. Each refusal is a fact about the stored records; which
/// HTTP answer it becomes is decided at the edge (`impl From<store::Error> for error::Error`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No session with this id.
    #[error("no session with this id")]
    NotFound,
    /// The session is past its lifetime.
    #[error("this session has expired")]
    Expired,
    /// A result token or capture secret that is not the session's.
    #[error("the token is not valid for this session")]
    WrongSecret,
    /// The capture link was already redeemed.
    #[error("this verification link has already been used")]
    AlreadyStarted,
    /// The session's capture is running, so its data cannot be erased yet.
    #[error("the session's capture is running")]
    CaptureRunning,
    /// The session is no longer open to a verdict (already completed, or expired).
    #[error("the session is not open: it was already completed or has expired")]
    NotOpen,
    /// An API key that is unknown or revoked.
    #[error("the API key is not valid")]
    UnknownKey,
    /// The API key's tenant is disabled.
    #[error("this account is inactive")]
    TenantDisabled,
    /// A record of that name already exists (a collection's name, per owner).
    #[error("a record of that name already exists")]
    Exists,
    /// The collection already holds its most faces.
    #[error("the collection already holds {0} faces, its most")]
    Full(i64),
    /// An argument the store cannot act on (e.g. a key-id prefix that is too short or matches
    /// several keys).
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A JSON column could not be written.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// A table whose rows carry a `status` (for [`count_by_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusTable {
    Sessions,
    WebhookDeliveries,
}

/// How many rows of `table` are in each status (for the metrics).
#[instrument(skip_all, err)]
pub async fn count_by_status(db: &Db, table: StatusTable) -> Result<Vec<(String, i64)>> {
    let sql = match table {
        StatusTable::Sessions => "SELECT status, COUNT(*) FROM sessions GROUP BY status",
        StatusTable::WebhookDeliveries => {
            "SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status"
        }
    };
    Ok(on_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await?))
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &Db) -> bool {
    on_db!(db, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
}

/// Opens the database named by `url` and applies pending migrations: `sqlite://PATH` (created
/// if missing, in WAL mode) or `postgres://…` (the database must exist).
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let opts = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        return Ok(Db::Postgres(pool));
    }
    if !url.starts_with("sqlite:") {
        anyhow::bail!("the database URL must start with sqlite:// or postgres://");
    }
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await?;
    sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
    Ok(Db::Sqlite(pool))
}

/// Unix time in seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 UTC text for a unix time.
pub fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// SHA-256 of a secret, hex. Secrets stored by iLive (API keys, tokens, capture secrets) are
/// 256-bit random values, so a plain hash is enough: there is nothing to brute-force.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares a presented secret with a stored hash in constant time.
pub fn secret_matches(stored_hash: &str, presented: &str) -> bool {
    let presented = hash_secret(presented);
    stored_hash.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// A fresh random secret: `prefix` + 64 hex characters (256 bits).
pub fn random_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_and_compare() {
        let s = random_secret("iksk_");
        assert!(s.starts_with("iksk_") && s.len() == 5 + 64);
        let h = hash_secret(&s);
        assert!(secret_matches(&h, &s));
        assert!(!secret_matches(&h, "iksk_other"));
    }

    #[test]
    fn times_format_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
