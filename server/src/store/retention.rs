//! The end of a session's data: erasure on request, and the sweeper that expires sessions at the
//! end of their capture window or retention and removes their tombstones later
//! (docs/architecture.md, "Retention").
use app::api::SessionStatus;
use tracing::instrument;

use super::{on_db, Db, Error, Result};

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: u64,
    pub removed: u64,
}

/// Erases a session at once (an erasure request): the row, its photo, its webhook deliveries
/// (their stored bodies hold the reference id and camera metadata) and their attempts. Only the
/// owner may: the tenant that created it, or with `owner` `None` the legacy key, which owns the
/// managed sessions created without a tenant. Any other session, and a direct one, is
/// [`Error::NotFound`], as is an unknown id. A running capture is [`Error::CaptureRunning`]:
/// its socket would otherwise store a verdict for a session that no longer exists.
#[instrument(skip_all, err)]
pub async fn erase(db: &Db, id: &str, owner: Option<&str>) -> Result<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let found: Option<(SessionStatus,)> = sqlx::query_as(
            "SELECT status FROM sessions WHERE id = $1 AND kind = 'managed' \
             AND tenant_id IS NOT DISTINCT FROM $2",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        match found {
            None => return Err(Error::NotFound),
            Some((SessionStatus::InProgress,)) => return Err(Error::CaptureRunning),
            Some(_) => {}
        }
        for sql in [
            "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE session_id = $1)",
            "DELETE FROM webhook_deliveries WHERE session_id = $1",
            "DELETE FROM photos WHERE session_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        // `status` again: a capture that started since the check above is not erased under it.
        let erased = sqlx::query("DELETE FROM sessions WHERE id = $1 AND status != 'in_progress'")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if erased.rows_affected() != 1 {
            return Err(Error::CaptureRunning);
        }
        tx.commit().await?;
        Ok(())
    })
}

/// Expires sessions past `expires_at` — the end of the capture window for unfinished sessions,
/// the end of the retention for completed ones: their personal data (result, photo, camera
/// metadata, reference, webhook URL, locale) is deleted and a tombstone kept so late requests
/// get 410 and a late visit to the link still finds the integrator's `redirect_url`, the way
/// back (it is the integrator's address, not the person's data);
/// tombstones older than `tombstone_secs` are removed entirely. On PostgreSQL one replica sweeps
/// at a time (a transaction-scoped advisory lock); the others skip that round.
#[instrument(skip_all, err)]
pub async fn sweep(db: &Db, at: i64, tombstone_secs: i64) -> Result<Swept> {
    let cutoff = at - tombstone_secs;
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        if matches!(db, Db::Postgres(_)) {
            let (ours,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
                .bind(SWEEP_LOCK)
                .fetch_one(&mut *tx)
                .await?;
            if !ours {
                return Ok(Swept::default());
            }
        }
        sqlx::query(
            "DELETE FROM photos WHERE session_id IN \
             (SELECT id FROM sessions WHERE expires_at <= $1 AND status != 'expired')",
        )
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let expired = sqlx::query(
            "UPDATE sessions SET status = 'expired', webhook_url = NULL, \
             reference_id = NULL, result_json = NULL, camera_metadata = NULL, locale = NULL \
             WHERE expires_at <= $1 AND status != 'expired'",
        )
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT d.id FROM \
             webhook_deliveries d JOIN sessions s ON s.id = d.session_id WHERE s.expires_at <= $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE session_id IN \
             (SELECT id FROM sessions WHERE expires_at <= $1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        let removed =
            sqlx::query("DELETE FROM sessions WHERE status = 'expired' AND expires_at <= $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query("DELETE FROM captcha_spent WHERE expires_at <= $1")
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Swept { expired, removed })
    })
}

/// The advisory lock that the sweeping replica holds for its transaction ("iLive sweep").
const SWEEP_LOCK: i64 = 0x694c_6976_6553_7770;
