//! The webhook outbox: deliveries queued in the same transaction as the verdict, claimed by the
//! delivery worker with a lease (so a crash mid-send is retried after a restart), and every
//! attempt recorded.
use sqlx::FromRow;
use tracing::instrument;

use super::{now, on_db, Db, Result};

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

/// A delivery to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewDelivery<'a> {
    pub session_id: &'a str,
    pub tenant_id: Option<&'a str>,
    pub url: &'a str,
    pub body: &'a str,
    pub signed: bool,
}

/// Queues a [`NewDelivery`] on `$conn` (the caller's transaction, so that the delivery exists
/// exactly when what it reports does); evaluates to its id. A macro, not a function, so that it
/// runs on either database's connection inside [`on_db!`].
macro_rules! enqueue {
    ($conn:expr, $new:expr) => {{
        let new: $crate::store::webhooks::NewDelivery = $new;
        let id = uuid::Uuid::new_v4().to_string();
        let at = $crate::store::now();
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, session_id, tenant_id, url, body, signed, \
             status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)",
        )
        .bind(&id)
        .bind(new.session_id)
        .bind(new.tenant_id)
        .bind(new.url)
        .bind(new.body)
        .bind(new.signed)
        .bind(at)
        .execute($conn)
        .await?;
        id
    }};
}
pub(crate) use enqueue;

/// Claims up to `limit` due deliveries: each one's next attempt is pushed `lease_secs` ahead, so
/// that if this process dies while sending, the delivery becomes due again. Replicas on one
/// PostgreSQL database claim disjoint sets: the rows being claimed are locked, and a concurrent
/// claim skips them (`FOR UPDATE SKIP LOCKED`); SQLite runs one write at a time anyway.
#[instrument(skip_all, err)]
pub async fn claim_due(db: &Db, limit: i64, lease_secs: i64) -> Result<Vec<Delivery>> {
    let at = now();
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id IN \
         (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $2 \
          ORDER BY next_attempt_at LIMIT $3 {lock}) RETURNING {COLUMNS}"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(at + lease_secs)
        .bind(at)
        .bind(limit)
        .fetch_all(pool)
        .await?))
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
    let number = delivery.attempts + 1;
    let (status, next_at, delivered_at) = match next {
        Next::Delivered => (
            DeliveryStatus::Delivered,
            delivery.next_attempt_at,
            Some(now()),
        ),
        Next::RetryAt(t) => (DeliveryStatus::Pending, t, None),
        Next::GiveUp => (DeliveryStatus::Failed, delivery.next_attempt_at, None),
    };
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, \
             http_status, error) SELECT $1, $2, $3, $4, $5, $6 \
             WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $7)",
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
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, \
             delivered_at = $4, last_error = $5 WHERE id = $6",
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
    });
    Ok(())
}

/// All deliveries of a session (for tests and operators).
#[instrument(skip_all, err)]
pub async fn for_session(db: &Db, session_id: &str) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE session_id = $1 ORDER BY created_at"
    );
    Ok(on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(session_id)
        .fetch_all(pool)
        .await?))
}

/// Number of attempts recorded for a delivery.
#[instrument(skip_all, err)]
pub async fn attempt_count(db: &Db, delivery_id: &str) -> Result<i64> {
    let (n,): (i64,) = on_db!(db, pool => sqlx::query_as("SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id = $1")
            .bind(delivery_id)
            .fetch_one(pool)
            .await?);
    Ok(n)
}
