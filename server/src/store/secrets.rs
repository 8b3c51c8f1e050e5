//! Server-side secrets and spent proofs: the named random keys the server signs with, and the
//! proof-of-work challenges already redeemed (each may be spent once).
use tracing::instrument;

use super::{hash_secret, on_db, random_secret, Db, Result};

/// Reads a named random key, creating it on first use (every replica on one database reads the
/// same key).
#[instrument(skip(db), err)]
pub async fn persistent_key(db: &Db, name: &str) -> Result<Vec<u8>> {
    let fresh = random_secret("");
    let (value,): (String,) = on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(&fresh)
        .execute(pool)
        .await?;
        sqlx::query_as("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?
    });
    Ok(value.into_bytes())
}

/// Records a proof-of-work challenge as spent until `expires_at`; false when it already was.
#[instrument(skip_all, err)]
pub async fn spend_challenge(db: &Db, challenge: &str, expires_at: i64) -> Result<bool> {
    let spent = on_db!(db, pool => sqlx::query(
        "INSERT INTO captcha_spent (challenge_hash, expires_at) VALUES ($1, $2) \
         ON CONFLICT (challenge_hash) DO NOTHING",
    )
    .bind(hash_secret(challenge))
    .bind(expires_at)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(spent > 0)
}
