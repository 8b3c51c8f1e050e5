//! Verification sessions: creation, the single-use capture link, completion (result, photo and
//! webhook in one transaction) and expiry.
use app::api::{ChallengeOutcome, Layers, Mode, SessionStatus, Verdict};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use tracing::instrument;

use super::{hash_secret, now, random_secret, secret_matches, webhooks, Db, Error, Result};

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
        let base = self.redirect_url.as_deref()?;
        let mut url = url::Url::parse(base).ok()?;
        url.query_pairs_mut().append_pair("session_id", &self.id);
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
    sqlx::query(
        "INSERT INTO sessions (id, tenant_id, kind, mode, status, token_hash, capture_hash, \
         signed_webhooks, redirect_url, webhook_url, reference_id, locale, created_at, expires_at, \
         retention_secs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .execute(db)
    .await?;
    Ok(Created {
        session,
        token,
        capture,
    })
}

#[instrument(skip_all, err)]
pub async fn get(db: &Db, id: &str) -> Result<Option<Session>> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = ?");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db)
        .await?)
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

/// Redeems the single-use capture secret: the session moves to `in_progress`. A second attempt,
/// even a concurrent one, gets `session_already_started`.
#[instrument(skip_all, err)]
pub async fn start_capture(db: &Db, id: &str, capture: &str) -> Result<Session> {
    let session = require(db, id).await?;
    let at = now();
    if let Some(err) = capture_refusal(&session, capture, at) {
        return Err(err);
    }
    let done = sqlx::query(
        "UPDATE sessions SET status = 'in_progress', started_at = ? \
         WHERE id = ? AND status = 'created' AND expires_at > ?",
    )
    .bind(at)
    .bind(id)
    .bind(at)
    .execute(db)
    .await?;
    if done.rows_affected() != 1 {
        return Err(Error::AlreadyStarted);
    }
    require(db, id).await
}

/// The ids of the sessions whose capture started and never ended.
#[instrument(skip_all, err)]
pub async fn in_progress(db: &Db) -> Result<Vec<String>> {
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM sessions WHERE status = 'in_progress'")
            .fetch_all(db)
            .await?;
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
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE sessions SET status = 'completed', completed_at = ?, expires_at = ? + retention_secs, \
         verdict = ?, confidence = ?, result_json = ?, camera_metadata = ? \
         WHERE id = ? AND status IN ('created', 'in_progress')",
    )
    .bind(at)
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
            "INSERT INTO photos (session_id, jpeg, geometry, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(&photo.jpeg)
        .bind(photo.geometry.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE id = ?");
    let session: Session = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(url) = &session.webhook_url {
        let body = crate::webhook::verdict_body(&session, &done, confidence, at)?;
        webhooks::enqueue(
            &mut tx,
            &session.id,
            session.tenant_id.as_deref(),
            url,
            &body,
            session.signed_webhooks,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(session)
}

/// Whether a photo is stored for the session.
#[instrument(skip_all, err)]
pub async fn has_photo(db: &Db, id: &str) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM photos WHERE session_id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.is_some())
}

/// The stored photo's JPEG bytes.
#[instrument(skip_all, err)]
pub async fn photo(db: &Db, id: &str) -> Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT jpeg FROM photos WHERE session_id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.0))
}

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
    let mut tx = db.begin().await?;
    let found: Option<(SessionStatus,)> = sqlx::query_as(
        "SELECT status FROM sessions WHERE id = ? AND kind = 'managed' AND tenant_id IS ?",
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
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
         (SELECT id FROM webhook_deliveries WHERE session_id = ?)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    for sql in [
        "DELETE FROM webhook_deliveries WHERE session_id = ?",
        "DELETE FROM photos WHERE session_id = ?",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    // `status` again: a capture that started since the check above is not erased under it.
    let erased = sqlx::query("DELETE FROM sessions WHERE id = ? AND status != 'in_progress'")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if erased.rows_affected() != 1 {
        return Err(Error::CaptureRunning);
    }
    tx.commit().await?;
    Ok(())
}

/// Expires sessions past `expires_at` — the end of the capture window for unfinished sessions,
/// the end of the retention for completed ones: their personal data (result, photo, camera
/// metadata, reference, URLs) is deleted and a tombstone kept so late requests get 410; tombstones older
/// than `tombstone_secs` are removed entirely.
#[instrument(skip_all, err)]
pub async fn sweep(db: &Db, at: i64, tombstone_secs: i64) -> Result<Swept> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "DELETE FROM photos WHERE session_id IN \
         (SELECT id FROM sessions WHERE expires_at <= ? AND status != 'expired')",
    )
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let expired = sqlx::query(
        "UPDATE sessions SET status = 'expired', redirect_url = NULL, webhook_url = NULL, \
         reference_id = NULL, result_json = NULL, camera_metadata = NULL, locale = NULL \
         WHERE expires_at <= ? AND status != 'expired'",
    )
    .bind(at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let cutoff = at - tombstone_secs;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT d.id FROM webhook_deliveries d \
         JOIN sessions s ON s.id = d.session_id WHERE s.expires_at <= ?)",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM webhook_deliveries WHERE session_id IN \
         (SELECT id FROM sessions WHERE expires_at <= ?)",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?;
    let removed = sqlx::query("DELETE FROM sessions WHERE status = 'expired' AND expires_at <= ?")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM captcha_spent WHERE expires_at <= ?")
        .bind(at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Swept { expired, removed })
}
