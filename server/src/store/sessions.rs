//! Verification sessions: creation, the single-use capture link, completion (result, photo and
//! webhook in one transaction) and expiry.
use app::api::{ChallengeOutcome, Layers, Mode, SessionStatus, Verdict};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use tracing::instrument;

use super::{hash_secret, now, on_db, random_secret, secret_matches, webhooks, Db, Error, Result};

/// Who created a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "snake_case")]
pub enum SessionKind {
    /// By an integrator's backend with an API key.
    Managed,
    /// From the demo page or a standalone app, without a key.
    Direct,
}

/// A session as stored.
#[derive(Debug, Clone, FromRow)]
pub struct Session {
    pub id: String,
    pub tenant_id: Option<String>,
    pub kind: SessionKind,
    pub mode: Mode,
    pub status: SessionStatus,
    pub token_hash: String,
    pub capture_hash: String,
    pub signed_webhooks: bool,
    pub redirect_url: Option<String>,
    pub webhook_url: Option<String>,
    pub reference_id: Option<String>,
    pub locale: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub verdict: Option<Verdict>,
    pub confidence: Option<f64>,
    pub result_json: Option<String>,
    pub camera_metadata: Option<String>,
}

const COLUMNS: &str = "id, tenant_id, kind, mode, status, token_hash, capture_hash, \
    signed_webhooks, redirect_url, webhook_url, reference_id, locale, created_at, expires_at, \
    started_at, completed_at, verdict, confidence, result_json, camera_metadata";

impl Session {
    /// Past its lifetime (whether or not the sweeper has run yet).
    pub fn is_expired(&self, at: i64) -> bool {
        self.status == SessionStatus::Expired || at >= self.expires_at
    }

    /// Checks the result token; expiry is reported before a token mismatch is, since an
    /// expired session has nothing left to protect.
    pub fn check_token(&self, token: &str) -> Result<()> {
        if self.is_expired(now()) {
            return Err(Error::Expired);
        }
        if !secret_matches(&self.token_hash, token) {
            return Err(Error::WrongSecret);
        }
        Ok(())
    }

    /// Where the browser goes after the verdict: `redirect_url` with `session_id` added.
    pub fn redirect_target(&self) -> Option<String> {
        self.return_url(None)
    }

    /// The way back from a screen that ends the session without a verdict to show:
    /// `redirect_url` with `session_id` and `status` (`interrupted`, `expired`,
    /// `already_used`) added.
    pub fn way_back(&self, status: &str) -> Option<String> {
        self.return_url(Some(status))
    }

    fn return_url(&self, status: Option<&str>) -> Option<String> {
        let base = self.redirect_url.as_deref()?;
        let mut url = url::Url::parse(base).ok()?;
        let mut query = url.query_pairs_mut();
        query.append_pair("session_id", &self.id);
        if let Some(status) = status {
            query.append_pair("status", status);
        }
        drop(query);
        Some(url.into())
    }
}

/// What a new session needs.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub tenant_id: Option<String>,
    pub kind: SessionKind,
    pub mode: Mode,
    pub signed_webhooks: bool,
    pub redirect_url: Option<String>,
    pub webhook_url: Option<String>,
    pub reference_id: Option<String>,
    pub locale: Option<String>,
    /// The capture window, from creation.
    pub ttl_secs: i64,
    /// How long the result and photo are kept after completion.
    pub retention_secs: i64,
}

/// A created session with its two secrets, which exist in clear only here.
#[derive(Debug, Clone)]
pub struct Created {
    pub session: Session,
    /// Result token for the integrator's backend.
    pub token: String,
    /// Single-use capture secret for `session_url`.
    pub capture: String,
}

#[instrument(skip_all, err)]
pub async fn create(db: &Db, new: NewSession) -> Result<Created> {
    let token = random_secret("");
    let capture = random_secret("");
    let created_at = now();
    let session = Session {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: new.tenant_id,
        kind: new.kind,
        mode: new.mode,
        status: SessionStatus::Created,
        token_hash: hash_secret(&token),
        capture_hash: hash_secret(&capture),
        signed_webhooks: new.signed_webhooks,
        redirect_url: new.redirect_url,
        webhook_url: new.webhook_url,
        reference_id: new.reference_id,
        locale: new.locale,
        created_at,
        expires_at: created_at + new.ttl_secs,
        started_at: None,
        completed_at: None,
        verdict: None,
        confidence: None,
        result_json: None,
        camera_metadata: None,
    };
    on_db!(db, pool => sqlx::query(
        "INSERT INTO sessions (id, tenant_id, kind, mode, status, token_hash, capture_hash, \
         signed_webhooks, redirect_url, webhook_url, reference_id, locale, created_at, expires_at, \
         retention_secs) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&session.id)
    .bind(&session.tenant_id)
    .bind(session.kind)
    .bind(session.mode)
    .bind(session.status)
    .bind(&session.token_hash)
    .bind(&session.capture_hash)
    .bind(session.signed_webhooks)
    .bind(&session.redirect_url)
    .bind(&session.webhook_url)
    .bind(&session.reference_id)
    .bind(&session.locale)
    .bind(session.created_at)
    .bind(session.expires_at)
    .bind(new.retention_secs.max(0))
    .execute(pool)
    .await?
    .rows_affected());
    Ok(Created {
        session,
        token,
        capture,
    })
}

#[instrument(skip_all, err)]
pub async fn get(db: &Db, id: &str) -> Result<Option<Session>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = $1");
    Ok(on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// Loads a session or fails with [`Error::NotFound`].
pub async fn require(db: &Db, id: &str) -> Result<Session> {
    get(db, id).await?.ok_or(Error::NotFound)
}

/// Why a capture link cannot be used (checked without consuming it).
pub fn capture_refusal(session: &Session, capture: &str, at: i64) -> Option<Error> {
    if session.is_expired(at) {
        Some(Error::Expired)
    } else if !secret_matches(&session.capture_hash, capture) {
        Some(Error::WrongSecret)
    } else if session.status != SessionStatus::Created {
        Some(Error::AlreadyStarted)
    } else {
        None
    }
}

/// Who holds a running capture: this server process (a replica, when several share one
/// database) and how long its hold counts without renewal. The capture loop renews the hold
/// while it runs ([`renew_hold`]); a capture whose holder stopped renewing — the process died —
/// is [`abandoned`] and gets settled by any replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub replica: String,
    pub lease_secs: i64,
}

/// Redeems the single-use capture secret: the session moves to `in_progress`, held by
/// `holder`. A second attempt, even a concurrent one on another replica, gets
/// `session_already_started`.
#[instrument(skip_all, err)]
pub async fn start_capture(db: &Db, id: &str, capture: &str, holder: &Holder) -> Result<Session> {
    let session = require(db, id).await?;
    let at = now();
    if let Some(err) = capture_refusal(&session, capture, at) {
        return Err(err);
    }
    let done = on_db!(db, pool => sqlx::query(
        "UPDATE sessions SET status = 'in_progress', started_at = $1, capture_owner = $2, \
         capture_lease_until = $3 WHERE id = $4 AND status = 'created' AND expires_at > $1",
    )
    .bind(at)
    .bind(&holder.replica)
    .bind(at + holder.lease_secs)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected());
    if done != 1 {
        return Err(Error::AlreadyStarted);
    }
    require(db, id).await
}

/// Extends `holder`'s hold on a running capture; false when it no longer holds it (the capture
/// ended, or another replica settled it as abandoned).
#[instrument(skip_all, err)]
pub async fn renew_hold(db: &Db, id: &str, holder: &Holder) -> Result<bool> {
    let done = on_db!(db, pool => sqlx::query(
        "UPDATE sessions SET capture_lease_until = $1 \
         WHERE id = $2 AND status = 'in_progress' AND capture_owner = $3",
    )
    .bind(now() + holder.lease_secs)
    .bind(id)
    .bind(&holder.replica)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// The ids of the captures that started and that nobody holds any more: those whose hold was
/// not renewed by `at` (or that predate holds), and with `mine` those of the replica `mine` —
/// at its start-up it holds none, so every capture under its name was left open by its
/// previous run.
#[instrument(skip_all, err)]
pub async fn abandoned(db: &Db, mine: Option<&str>, at: i64) -> Result<Vec<String>> {
    let ids: Vec<(String,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT id FROM sessions WHERE status = 'in_progress' AND (capture_lease_until IS NULL \
         OR capture_lease_until <= $1 OR capture_owner = $2)",
    )
    .bind(at)
    .bind(mine)
    .fetch_all(pool)
    .await?);
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

/// The details of a verdict, stored as JSON beside the verdict columns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResultDetails {
    pub layers: Option<Layers>,
    pub challenges: Vec<ChallengeOutcome>,
    pub reasons: Vec<app::api::Reason>,
}

/// The photo rendered from the best frame, with its measured geometry.
#[derive(Debug, Clone)]
pub struct Photo {
    pub jpeg: Vec<u8>,
    pub geometry: serde_json::Value,
}

/// Everything the engine hands over when a session ends.
#[derive(Debug, Clone)]
pub struct Completion {
    pub verdict: Verdict,
    pub confidence: f64,
    pub details: ResultDetails,
    pub camera_metadata: Option<serde_json::Value>,
    pub photo: Option<Photo>,
}

/// Stores a session's verdict, its photo and (for managed sessions with a webhook) the queued
/// webhook, whose body `crate::webhook` writes, all in one transaction. Returns the updated
/// session, which now expires its retention after this moment rather than at the end of its
/// capture window. Completing a session twice is refused, so a verdict and its webhook happen
/// once.
#[instrument(skip_all, err)]
pub async fn complete(db: &Db, id: &str, done: Completion) -> Result<Session> {
    let at = now();
    let confidence = (done.confidence.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0;
    let details = serde_json::to_string(&done.details)?;
    let camera = done
        .camera_metadata
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE sessions SET status = 'completed', completed_at = $1, \
             expires_at = $1 + retention_secs, verdict = $2, confidence = $3, result_json = $4, \
             camera_metadata = $5, capture_owner = NULL, capture_lease_until = NULL \
             WHERE id = $6 AND status IN ('created', 'in_progress')",
        )
        .bind(at)
        .bind(done.verdict)
        .bind(confidence)
        .bind(&details)
        .bind(&camera)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(Error::NotOpen);
        }
        if let (Verdict::Pass, Some(photo)) = (done.verdict, &done.photo) {
            sqlx::query(
                "INSERT INTO photos (session_id, jpeg, geometry, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(&photo.jpeg)
            .bind(photo.geometry.to_string())
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = $1");
        let session: Session = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(url) = &session.webhook_url {
            let body = crate::webhook::verdict_body(&session, &done, confidence, at)?;
            let delivery = webhooks::NewDelivery {
                session_id: &session.id,
                tenant_id: session.tenant_id.as_deref(),
                url,
                body: &body,
                signed: session.signed_webhooks,
            };
            webhooks::enqueue!(&mut *tx, delivery);
        }
        tx.commit().await?;
        Ok(session)
    })
}

/// Whether a photo is stored for the session.
#[instrument(skip_all, err)]
pub async fn has_photo(db: &Db, id: &str) -> Result<bool> {
    let row: Option<(String,)> = on_db!(db, pool => sqlx::query_as("SELECT session_id FROM photos WHERE session_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?);
    Ok(row.is_some())
}

/// The stored photo's JPEG bytes.
#[instrument(skip_all, err)]
pub async fn photo(db: &Db, id: &str) -> Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> = on_db!(db, pool => sqlx::query_as("SELECT jpeg FROM photos WHERE session_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?);
    Ok(row.map(|r| r.0))
}
