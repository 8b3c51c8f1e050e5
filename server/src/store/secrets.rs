//! Server-side secrets and spent proofs: the named random keys the server signs with, and the
//! proof-of-work challenges already redeemed (each may be spent once).
use tracing::instrument;

use super::{hash_secret, random_secret, Db, Result};

/// Reads a named random key, creating it on first use (every replica on one database reads the
/// same key).
#[instrument(skip(db), err)]
pub async fn persistent_key(db: &Db, name: &str) -> Result<Vec<u8>> {
    let fresh = random_secret("");
    sqlx::query(
        "INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(&fresh)
    .execute(db)
    .await?;
    let (value,): (String,) = sqlx::query_as("SELECT value FROM server_secrets WHERE name = ?")
        .bind(name)
        .fetch_one(db)
        .await?;
    Ok(value.into_bytes())
}

/// Records a proof-of-work challenge as spent until `expires_at`; false when it already was.
#[instrument(skip_all, err)]
pub async fn spend_challenge(db: &Db, challenge: &str, expires_at: i64) -> Result<bool> {
    let spent = sqlx::query(
        "INSERT INTO captcha_spent (challenge_hash, expires_at) VALUES (?, ?) \
         ON CONFLICT (challenge_hash) DO NOTHING",
    )
    .bind(hash_secret(challenge))
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(spent.rows_affected() > 0)
}
