//! Persistence: the sqlx pool, migrations, and one module per table group. Every query lists its
//! columns; statuses are enums stored as TEXT.
pub mod sessions;
pub mod tenants;
pub mod webhooks;

use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use subtle::ConstantTimeEq;

pub type Db = SqlitePool;

/// Opens (creating if missing) the database in WAL mode and applies pending migrations.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
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
