//! The webhook outbox: deliveries queued in the same transaction as the verdict, claimed by the
//! delivery worker with a lease (so a crash mid-send is retried after a restart), and every
//! attempt recorded.
use sqlx::{FromRow, Sqlite, Transaction};
use tracing::instrument;

use super::{now, Db, Result};

/// Delivery state, stored as TEXT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

#[derive(Debug, Clone, FromRow)]
pub struct Delivery {
    pub id: String,
    pub session_id: String,
    pub tenant_id: Option<String>,
    pub url: String,
    pub body: String,
    pub signed: bool,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

const COLUMNS: &str = "id, session_id, tenant_id, url, body, signed, status, attempts, \
    next_attempt_at, created_at, delivered_at, last_error";

/// Queues a delivery inside the caller's transaction.
pub async fn enqueue(
    tx: &mut Transaction<'_, Sqlite>,
    session_id: &str,
    tenant_id: Option<&str>,
    url: &str,
    body: &str,
    signed: bool,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let at = now();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, session_id, tenant_id, url, body, signed, status, \
         attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
    )
    .bind(&id)
    .bind(session_id)
    .bind(tenant_id)
    .bind(url)
    .bind(body)
    .bind(signed)
    .bind(at)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Claims up to `limit` due deliveries: each one's next attempt is pushed `lease_secs` ahead, so
/// that if this process dies while sending, the delivery becomes due again.
#[instrument(skip_all, err)]
pub async fn claim_due(db: &Db, limit: i64, lease_secs: i64) -> Result<Vec<Delivery>> {
    let at = now();
    let sql = format!(
        "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id IN \
         (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? \
          ORDER BY next_attempt_at LIMIT ?) RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(at + lease_secs)
        .bind(at)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// The outcome of one attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub started_at: i64,
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(i64),
    GiveUp,
}

/// Records an attempt and moves the delivery on. A delivery erased while its attempt was in
/// flight (`DELETE /api/v1/session/{id}`) stays erased: nothing is recorded for it.
#[instrument(skip_all, err)]
pub async fn record(db: &Db, delivery: &Delivery, attempt: &Attempt, next: Next) -> Result<()> {
    let mut tx = db.begin().await?;
    let number = delivery.attempts + 1;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, \
         http_status, error) SELECT ?, ?, ?, ?, ?, ? \
         WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ?)",
    )
    .bind(&delivery.id)
    .bind(number)
    .bind(attempt.started_at)
    .bind(attempt.duration_ms)
    .bind(attempt.http_status.map(i64::from))
    .bind(&attempt.error)
    .bind(&delivery.id)
    .execute(&mut *tx)
    .await?;
    let (status, next_at, delivered_at) = match next {
        Next::Delivered => (
            DeliveryStatus::Delivered,
            delivery.next_attempt_at,
            Some(now()),
        ),
        Next::RetryAt(t) => (DeliveryStatus::Pending, t, None),
        Next::GiveUp => (DeliveryStatus::Failed, delivery.next_attempt_at, None),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, \
         delivered_at = ?, last_error = ? WHERE id = ?",
    )
    .bind(status)
    .bind(number)
    .bind(next_at)
    .bind(delivered_at)
    .bind(&attempt.error)
    .bind(&delivery.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// All deliveries of a session (for tests and operators).
#[instrument(skip_all, err)]
pub async fn for_session(db: &Db, session_id: &str) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE session_id = ? ORDER BY created_at"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(session_id)
        .fetch_all(db)
        .await?)
}

/// Number of attempts recorded for a delivery.
#[instrument(skip_all, err)]
pub async fn attempt_count(db: &Db, delivery_id: &str) -> Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = ?")
            .bind(delivery_id)
            .fetch_one(db)
            .await?;
    Ok(n)
}
