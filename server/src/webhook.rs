//! Webhook delivery: a worker that drains the durable outbox. Each attempt signs
//! `"<timestamp>.<raw body>"` with the tenant's secret (HMAC-SHA256), re-checks and pins the
//! receiver's address, follows no redirects, and retries network errors, 429 and 5xx with
//! exponential backoff until the attempts run out. Everything is recorded in the database, so a
//! restart resumes where the last process stopped. The verdict's payload is written here too
//! ([`verdict_body`]); the store only queues it.
use std::{sync::Arc, time::Duration};

use app::api::WebhookPayload;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::{sync::Notify, task::JoinSet};
use tracing::{info, warn};

use crate::{
    config::Config,
    metrics::Metrics,
    store::{
        self,
        sessions::{Completion, Session},
        webhooks::{self, Attempt, Delivery, Next},
        Db,
    },
    url_safety::{self, UrlPolicy},
};

/// Deliveries sent at once.
const CONCURRENCY: usize = 8;
/// Idle poll interval (new deliveries also wake the worker at once).
const POLL: Duration = Duration::from_secs(1);
/// Longest wait between attempts.
const MAX_BACKOFF_SECS: u64 = 3600;

/// The body of a session's verdict webhook, as queued in the outbox and signed byte for byte
/// at delivery (docs/api.md, "Webhook"). `confidence` is the stored (rounded) one and `at` the
/// completion time.
pub fn verdict_body(
    session: &Session,
    done: &Completion,
    confidence: f64,
    at: i64,
) -> serde_json::Result<String> {
    serde_json::to_string(&WebhookPayload {
        event: "liveness.verdict".into(),
        session_id: session.id.clone(),
        verdict: done.verdict,
        confidence,
        reference_id: session.reference_id.clone(),
        camera_metadata: done.camera_metadata.clone(),
        location: None,
        timestamp: store::rfc3339(at),
    })
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>").
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delay before attempt `n + 1` after `n` failed attempts.
pub fn backoff(base_secs: u64, failed_attempts: u32) -> u64 {
    let exp = failed_attempts.saturating_sub(1).min(20);
    base_secs.saturating_mul(1 << exp).min(MAX_BACKOFF_SECS)
}

/// Wakes the worker when a delivery is queued.
#[derive(Clone, Default)]
pub struct WebhookSignal(Arc<Notify>);

impl WebhookSignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

pub struct Worker {
    db: Db,
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    signal: WebhookSignal,
    extra_root: Option<reqwest::Certificate>,
}

impl Worker {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        metrics: Arc<Metrics>,
        signal: WebhookSignal,
    ) -> anyhow::Result<Self> {
        let extra_root = match &config.test_webhook_ca {
            Some(path) => {
                warn!(path = %path.display(), "TESTING: trusting an extra root certificate for webhooks");
                let pem = std::fs::read(path)?;
                Some(reqwest::Certificate::from_pem(&pem)?)
            }
            None => None,
        };
        Ok(Worker {
            db,
            config,
            metrics,
            signal,
            extra_root,
        })
    }

    /// Runs until `shutdown` fires; attempts in flight then finish (bounded by the request
    /// timeout) and nothing still queued is lost.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let me = Arc::new(self);
        let mut inflight = JoinSet::new();
        let lease = me.config.webhook_timeout_secs as i64 + 30;
        loop {
            while inflight.try_join_next().is_some() {}
            let room = CONCURRENCY.saturating_sub(inflight.len()) as i64;
            if room > 0 {
                match webhooks::claim_due(&me.db, room, lease).await {
                    Ok(batch) => {
                        for d in batch {
                            let me = me.clone();
                            inflight.spawn(async move { me.deliver(d).await });
                        }
                    }
                    Err(e) => warn!(error = %e, "could not read the webhook outbox"),
                }
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = me.signal.0.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
            }
        }
        while inflight.join_next().await.is_some() {}
    }

    async fn deliver(&self, d: Delivery) {
        let started = std::time::Instant::now();
        let started_at = store::now();
        let (http_status, error, next) = match self.attempt(&d).await {
            Ok(status) if (200..300).contains(&status) => (Some(status), None, Next::Delivered),
            Ok(status) => {
                let retryable = status == 429 || status >= 500;
                let why = if (300..400).contains(&status) {
                    format!("HTTP {status}: redirects are not followed")
                } else {
                    format!("HTTP {status}")
                };
                (
                    Some(status),
                    Some(why),
                    self.next_after_failure(&d, retryable),
                )
            }
            Err(Failure::Refused(why)) => (None, Some(why), Next::GiveUp),
            Err(Failure::Transient(why)) => (None, Some(why), self.next_after_failure(&d, true)),
        };
        let outcome = match next {
            Next::Delivered => "delivered",
            Next::RetryAt(_) => "retry",
            Next::GiveUp => "failed",
        };
        self.metrics
            .inc("ilive_webhook_attempts_total", &[("outcome", outcome)]);
        info!(delivery = %d.id, session = %d.session_id, attempt = d.attempts + 1, outcome, ?http_status, error = error.as_deref().unwrap_or(""), "webhook attempt");
        let attempt = Attempt {
            started_at,
            duration_ms: started.elapsed().as_millis() as i64,
            http_status,
            error,
        };
        if let Err(e) = webhooks::record(&self.db, &d, &attempt, next).await {
            warn!(error = %e, delivery = %d.id, "could not record a webhook attempt");
        }
    }

    fn next_after_failure(&self, d: &Delivery, retryable: bool) -> Next {
        let failed = d.attempts as u32 + 1;
        if !retryable || failed >= self.config.webhook_max_attempts {
            Next::GiveUp
        } else {
            let wait = backoff(self.config.webhook_backoff_secs, failed);
            Next::RetryAt(store::now() + wait as i64)
        }
    }

    async fn attempt(&self, d: &Delivery) -> Result<u16, Failure> {
        let policy = UrlPolicy {
            allow_insecure: self.config.dev_allow_insecure_urls,
        };
        let url = url_safety::check_syntax(&d.url, policy).map_err(Failure::Refused)?;
        let addrs = url_safety::resolve_checked(&url, policy)
            .await
            .map_err(|why| {
                if why.contains("not a public address") {
                    Failure::Refused(why)
                } else {
                    Failure::Transient(why)
                }
            })?;
        // No proxy from the environment either: a proxy would connect to the receiver itself,
        // past the addresses pinned below.
        let mut client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(self.config.webhook_timeout_secs))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("iLive-Webhook/", env!("CARGO_PKG_VERSION")));
        if let Some(url::Host::Domain(domain)) = url.host() {
            // Connect only to the addresses just checked: no second, unchecked DNS answer.
            client = client.resolve_to_addrs(domain, &addrs);
        }
        if let Some(cert) = &self.extra_root {
            client = client.add_root_certificate(cert.clone());
        }
        let client = client
            .build()
            .map_err(|e| Failure::Transient(format!("client: {e}")))?;
        let timestamp = store::now();
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-ilive-timestamp", timestamp.to_string())
            .header("x-ilive-webhook-id", &d.id)
            .body(d.body.clone());
        if d.signed {
            let secret = self.tenant_secret(d).await?;
            req = req.header("x-ilive-signature", signature(&secret, timestamp, &d.body));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::Transient(describe(&e)))?;
        Ok(resp.status().as_u16())
    }

    async fn tenant_secret(&self, d: &Delivery) -> Result<String, Failure> {
        store::tenants::webhook_secret(&self.db, d.tenant_id.as_deref())
            .await
            .map_err(|e| Failure::Transient(format!("database: {e}")))?
            .ok_or_else(|| Failure::Refused("the tenant no longer exists".into()))
    }
}

enum Failure {
    /// Will not succeed on retry (address refused).
    Refused(String),
    /// Network trouble; worth retrying.
    Transient(String),
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut msg = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(5, 1), 5);
        assert_eq!(backoff(5, 2), 10);
        assert_eq!(backoff(5, 4), 40);
        assert_eq!(backoff(5, 30), MAX_BACKOFF_SECS);
    }
}
