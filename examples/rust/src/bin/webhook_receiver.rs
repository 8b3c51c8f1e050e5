//! Receive iLive webhooks and verify their signature (axum).
//!
//! Environment:
//!   ILIVE_WEBHOOK_SECRET  your tenant's signing secret (whsec_...)
//!   PORT                  port to listen on (default 8000)
//!
//! Checks, in order: the timestamp is within 300 s of now, and
//! X-iLive-Signature == "sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<raw body>")),
//! compared in constant time. Anything else gets 401. Deliveries can be retried, so the
//! receiver is idempotent on session_id.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use ilive_example::verify;
use serde_json::Value;
use std::{
    collections::HashSet,
    env,
    process::exit,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

struct Receiver {
    /// The whole `whsec_…` string is the HMAC key.
    secret: Vec<u8>,
    /// Sessions whose verdict was already handled. Use your database in production.
    seen_sessions: Mutex<HashSet<String>>,
}

impl Receiver {
    /// True if `signature` is the HMAC of `"<timestamp>.<body>"` and the timestamp is recent;
    /// the check itself is `verify` in `src/lib.rs`.
    fn verify(&self, timestamp: &str, signature: &str, body: &[u8]) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        verify(&self.secret, timestamp, signature, body, now)
    }
}

/// A header as text; missing or not valid text reads as "".
fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn webhook(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let timestamp = header(&headers, "x-ilive-timestamp");
    let signature = header(&headers, "x-ilive-signature");
    if !rx.verify(timestamp, signature, &body) {
        println!("rejected: bad signature or timestamp");
        return StatusCode::UNAUTHORIZED;
    }
    // Signed by iLive, so it is the documented payload; parse it only now.
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(session_id) = payload["session_id"].as_str() else {
        return StatusCode::BAD_REQUEST;
    };
    // X-iLive-Webhook-Id is the same on every retry of one delivery; de-duplicating on
    // session_id also covers that, since a session has exactly one final verdict.
    let first_time = rx
        .seen_sessions
        .lock()
        .unwrap()
        .insert(session_id.to_string());
    if first_time {
        println!("verified {payload}");
        // Act on payload["verdict"] here: "pass", "fail" or "retry". Keep it quick (or hand
        // it to a queue): iLive waits for this answer and retries on errors and timeouts.
    } else {
        println!("duplicate {session_id}");
    }
    StatusCode::OK
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Ok(secret) = env::var("ILIVE_WEBHOOK_SECRET") else {
        eprintln!("ILIVE_WEBHOOK_SECRET is not set");
        exit(2)
    };
    let port = env::var("PORT").unwrap_or_else(|_| "8000".into());
    let rx = Arc::new(Receiver {
        secret: secret.into_bytes(),
        seen_sessions: Mutex::new(HashSet::new()),
    });

    // Any path is accepted, as in the other examples; iLive POSTs to your webhook_url.
    let app = Router::new()
        .route("/{*path}", post(webhook))
        .route("/", post(webhook))
        .with_state(rx);
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on 127.0.0.1:{port}");
    axum::serve(listener, app).await
}
