//! Webhook delivery through the real server to a real local receiver: the signature (checked by
//! an HMAC written here from SHA-256 alone, independent of the server's), retries, no redirects,
//! and delivery that completes after a restart.
mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use app::api::Verdict;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use common::{TestServer, PUBLIC_URL};
use serde_json::{json, Value};
use server::store::{
    sessions::{self, Completion, ResultDetails},
    webhooks,
};
use sha2::{Digest, Sha256};

/// HMAC-SHA256 per RFC 2104, from the hash function alone.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[test]
fn independent_hmac_matches_rfc4231_case_2() {
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    assert_eq!(
        hex::encode(mac),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A local webhook receiver answering with the given statuses in turn (then 200).
#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Vec<StatusCode>>>,
    url: String,
}

impl Receiver {
    async fn start(script: Vec<StatusCode>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let rx = Receiver {
            got: Default::default(),
            script: Arc::new(Mutex::new(script)),
            url,
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(rx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        rx
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            {
                let got = self.got.lock().unwrap();
                if got.len() >= n {
                    return got.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} webhook requests, got {}",
            self.got.lock().unwrap().len()
        );
    }
}

async fn receive(State(rx): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    rx.got.lock().unwrap().push(Received { headers, body });
    let mut script = rx.script.lock().unwrap();
    if script.is_empty() {
        StatusCode::OK
    } else {
        script.remove(0)
    }
}

fn done(verdict: Verdict) -> Completion {
    Completion {
        verdict,
        confidence: 0.87,
        details: ResultDetails::default(),
        camera_metadata: Some(json!({"label": "cam"})),
        photo: None,
    }
}

async fn managed(srv: &TestServer, key: &str, webhook_url: &str) -> String {
    let r = srv
        .create_managed(
            key,
            &json!({"redirect_url": PUBLIC_URL, "webhook_url": webhook_url, "reference_id": "ref-7"}),
        )
        .await;
    r["session_id"].as_str().expect("created").to_owned()
}

const DEV: &[&str] = &["--dev-allow-insecure-urls", "--webhook-backoff-secs", "1"];

#[tokio::test]
async fn signed_webhook_is_delivered_and_verifies() {
    let rx = Receiver::start(vec![]).await;
    let srv = TestServer::start(DEV).await;
    let (key, tenant) = srv.create_key("acme").await;
    let id = managed(&srv, &key, &rx.url).await;
    sessions::complete(&srv.db().await, &id, done(Verdict::Pass))
        .await
        .unwrap();

    let got = rx.wait_for(1).await;
    let req = &got[0];
    let ts = req.headers["x-ilive-timestamp"].to_str().unwrap();
    let sig = req.headers["x-ilive-signature"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(req.headers["x-ilive-webhook-id"].to_str().unwrap()).is_ok());
    let mut signed = ts.as_bytes().to_vec();
    signed.push(b'.');
    signed.extend_from_slice(&req.body);
    let expected = format!(
        "sha256={}",
        hex::encode(hmac_sha256(tenant.webhook_secret.as_bytes(), &signed))
    );
    assert_eq!(sig, expected);
    let age = server::store::now() - ts.parse::<i64>().unwrap();
    assert!((0..60).contains(&age));

    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["event"], "liveness.verdict");
    assert_eq!(body["session_id"], id.as_str());
    assert_eq!(body["verdict"], "pass");
    assert_eq!(body["confidence"], 0.87);
    assert_eq!(body["reference_id"], "ref-7");
    assert_eq!(body["camera_metadata"]["label"], "cam");
    assert!(body.get("location").is_some() && body["timestamp"].is_string());

    // A tampered body no longer verifies.
    let mut tampered = signed.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert_ne!(
        format!(
            "sha256={}",
            hex::encode(hmac_sha256(tenant.webhook_secret.as_bytes(), &tampered))
        ),
        sig
    );
    srv.stop().await;
}

#[tokio::test]
async fn failed_delivery_is_retried_and_every_attempt_recorded() {
    let rx = Receiver::start(vec![StatusCode::INTERNAL_SERVER_ERROR]).await;
    let srv = TestServer::start(DEV).await;
    let (key, _) = srv.create_key("acme").await;
    let id = managed(&srv, &key, &rx.url).await;
    let db = srv.db().await;
    sessions::complete(&db, &id, done(Verdict::Fail))
        .await
        .unwrap();

    let got = rx.wait_for(2).await;
    assert_eq!(
        got[0].headers["x-ilive-webhook-id"], got[1].headers["x-ilive-webhook-id"],
        "retries keep the delivery id so receivers can de-duplicate"
    );
    // Give the worker a moment to record the second outcome.
    let mut delivery = None;
    for _ in 0..100 {
        let d = webhooks::for_session(&db, &id).await.unwrap().remove(0);
        if d.status == webhooks::DeliveryStatus::Delivered {
            delivery = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = delivery.expect("delivered after one retry");
    assert_eq!(d.attempts, 2);
    assert_eq!(webhooks::attempt_count(&db, &d.id).await.unwrap(), 2);
    srv.stop().await;
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let rx = Receiver::start(vec![StatusCode::FOUND]).await;
    let srv = TestServer::start(DEV).await;
    let (key, _) = srv.create_key("acme").await;
    let id = managed(&srv, &key, &rx.url).await;
    let db = srv.db().await;
    sessions::complete(&db, &id, done(Verdict::Pass))
        .await
        .unwrap();
    rx.wait_for(1).await;
    let mut last = None;
    for _ in 0..100 {
        let d = webhooks::for_session(&db, &id).await.unwrap().remove(0);
        if d.status == webhooks::DeliveryStatus::Failed {
            last = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = last.expect("a redirect ends the delivery");
    assert!(d.last_error.unwrap().contains("redirect"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.got.lock().unwrap().len(), 1, "no second request");
    srv.stop().await;
}

#[tokio::test]
async fn delivery_completes_after_a_restart() {
    let rx = Receiver::start(vec![]).await;
    let srv = TestServer::start(DEV).await;
    let dir = srv.dir.clone();
    let (key, _) = srv.create_key("acme").await;
    let id = managed(&srv, &key, &rx.url).await;
    let db_url = srv.db_url.clone();
    srv.stop().await;

    // The verdict is stored (and its webhook queued) while no server runs.
    let db = server::store::connect(&db_url).await.unwrap();
    sessions::complete(&db, &id, done(Verdict::Pass))
        .await
        .unwrap();
    assert_eq!(
        webhooks::for_session(&db, &id).await.unwrap()[0].status,
        webhooks::DeliveryStatus::Pending
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.got.lock().unwrap().is_empty());

    let srv = TestServer::start_in(dir, DEV).await;
    let got = rx.wait_for(1).await;
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["session_id"], id.as_str());
    srv.stop().await;
}

#[tokio::test]
async fn legacy_key_sessions_get_unsigned_webhooks() {
    let rx = Receiver::start(vec![]).await;
    let mut args = DEV.to_vec();
    args.extend(["--legacy-api-key", "legacy-key-abc"]);
    let srv = TestServer::start(&args).await;
    let id = managed(&srv, "legacy-key-abc", &rx.url).await;
    sessions::complete(&srv.db().await, &id, done(Verdict::Retry))
        .await
        .unwrap();
    let got = rx.wait_for(1).await;
    assert!(!got[0].headers.contains_key("x-ilive-signature"));
    assert!(got[0].headers.contains_key("x-ilive-timestamp"));
    srv.stop().await;
}
