//! The sessions API through the real server: creation, auth, validation, result, photo, expiry.
mod common;

use app::api::{ChallengeKind, ChallengeOutcome, Layers, Verdict};
use common::{error_code, expect_error, TestServer, PUBLIC_URL};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::store::sessions::{self, Completion, Photo, ResultDetails};

fn completion(verdict: Verdict, photo: bool) -> Completion {
    Completion {
        verdict,
        confidence: 0.912345,
        details: ResultDetails {
            layers: Some(Layers {
                anti_spoof: 0.9,
                deepfake: 0.95,
                face_consistency: 1.0,
                motion: 0.8,
                challenges: Some(1.0),
                light: Some(1.0),
            }),
            challenges: vec![ChallengeOutcome {
                kind: ChallengeKind::Blink,
                passed: true,
            }],
            reasons: vec![],
        },
        camera_metadata: Some(json!({"label": "test cam", "width": 640, "height": 480})),
        photo: photo.then(|| Photo {
            jpeg: vec![0xff, 0xd8, 0xff, 0xd9],
            geometry: json!({"eye_line_y": 240}),
        }),
    }
}

#[tokio::test]
async fn managed_session_lifecycle() {
    let srv = TestServer::start(&[]).await;
    let (key, tenant) = srv.create_key("acme").await;
    let resp = srv
        .managed(
            &key,
            &json!({"redirect_url": PUBLIC_URL, "reference_id": "user-42", "mode": "passive", "locale": "de"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(resp.headers().contains_key("x-ratelimit-remaining"));
    let created: Value = resp.json().await.unwrap();
    let id = created["session_id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    let url = created["session_url"].as_str().unwrap();
    assert_eq!(created["mode"], "passive");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert!(url.starts_with(&format!("{}/session/{id}?c=", srv.base)));
    assert!(
        !url.contains(token),
        "the result token must never be in session_url"
    );
    assert!(created["expires_at"].as_str().unwrap().ends_with('Z'));

    let result: Value = srv
        .get_json(&format!("/api/v1/session/{id}/result?token={token}"))
        .await;
    assert_eq!(result["status"], "created");
    assert_eq!(result["reference_id"], "user-42");
    assert_eq!(result["photo_available"], false);
    assert!(result.get("verdict").is_none());

    let photo = Client::new()
        .get(srv.url(&format!("/api/v1/session/{id}/photo?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), StatusCode::ACCEPTED);
    assert!(photo.headers().contains_key("retry-after"));

    // Complete through the library, as the engine does.
    let db = srv.db().await;
    let done = sessions::complete(&db, id, completion(Verdict::Pass, true))
        .await
        .unwrap();
    assert_eq!(done.tenant_id.as_deref(), Some(tenant.id.as_str()));
    assert!(sessions::complete(&db, id, completion(Verdict::Pass, true))
        .await
        .is_err());

    let result: Value = srv
        .get_json(&format!("/api/v1/session/{id}/result?token={token}"))
        .await;
    assert_eq!(result["status"], "completed");
    assert_eq!(result["verdict"], "pass");
    assert_eq!(result["confidence"], 0.9123);
    assert_eq!(result["layers"]["challenges"], 1.0);
    assert_eq!(result["challenges"][0]["kind"], "blink");
    assert_eq!(result["camera_metadata"]["width"], 640);
    assert_eq!(result["photo_available"], true);
    assert!(result["completed_at"].is_string());

    let photo = Client::new()
        .get(srv.url(&format!("/api/v1/session/{id}/photo?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), StatusCode::OK);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    srv.stop().await;
}

#[tokio::test]
async fn result_and_photo_errors() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    let created = srv
        .create_managed(&key, &json!({"redirect_url": PUBLIC_URL}))
        .await;
    let id = created["session_id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    let c = Client::new();

    let r = c
        .get(srv.url(&format!("/api/v1/session/{id}/result?token=wrong")))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let r = c
        .get(srv.url(&format!("/api/v1/session/{id}/result")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "invalid_token");
    let r = c
        .get(srv.url("/api/v1/session/00000000-0000-4000-8000-000000000000/result?token=x"))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    let r = c
        .get(srv.url("/api/v1/session/not-a-uuid/photo?token=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "session_not_found");

    // A failed session has no photo.
    let db = srv.db().await;
    sessions::complete(&db, id, completion(Verdict::Fail, false))
        .await
        .unwrap();
    let r = c
        .get(srv.url(&format!("/api/v1/session/{id}/photo?token={token}")))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::NOT_FOUND, "photo_not_available").await;

    let r = c.get(srv.url("/api/v1/nope")).send().await.unwrap();
    expect_error(r, StatusCode::NOT_FOUND, "not_found").await;
    srv.stop().await;
}

#[tokio::test]
async fn api_keys_are_checked() {
    let srv = TestServer::start(&["--legacy-api-key", "legacy-secret-123"]).await;
    let body = json!({"redirect_url": PUBLIC_URL});
    let c = Client::new();

    let r = c
        .post(srv.url("/api/v1/managed-session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::UNAUTHORIZED, "missing_api_key").await;

    let r = srv.managed("iksk_0000", &body.clone()).await;
    expect_error(r, StatusCode::UNAUTHORIZED, "invalid_api_key").await;

    // The legacy key works on the managed route.
    let r = srv.managed("legacy-secret-123", &body.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // Revoked keys stop working; disabled tenants are told so.
    let (key, tenant) = srv.create_key("acme").await;
    let db = srv.db().await;
    assert_eq!(
        srv.managed(&key, &body.clone()).await.status(),
        StatusCode::CREATED
    );
    server::store::tenants::set_active(&db, &tenant.name, false)
        .await
        .unwrap();
    let r = srv.managed(&key, &body.clone()).await;
    expect_error(r, StatusCode::FORBIDDEN, "account_inactive").await;
    server::store::tenants::set_active(&db, &tenant.name, true)
        .await
        .unwrap();
    let keys = server::store::tenants::list_keys(&db).await.unwrap();
    server::store::tenants::revoke_key(&db, &keys[0].id)
        .await
        .unwrap();
    let r = srv.managed(&key, &body).await;
    assert_eq!(error_code(r).await, "invalid_api_key");
    srv.stop().await;
}

#[tokio::test]
async fn bad_bodies_are_clear_4xx() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    let c = Client::new();
    let post_raw = |body: Vec<u8>, ctype: &'static str| {
        c.post(srv.url("/api/v1/managed-session"))
            .bearer_auth(&key)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let cases: Vec<(Vec<u8>, &str, StatusCode, &str)> = vec![
        (
            b"{not json".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            b"[]".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            br#"{"redirect_url": 5}"#.to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            b"{}".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!(r#"{{"redirect_url":"{PUBLIC_URL}","mode":"sleepy"}}"#).into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!(
                r#"{{"redirect_url":"{PUBLIC_URL}","reference_id":"{}"}}"#,
                "x".repeat(129)
            )
            .into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        // U+0000, which PostgreSQL's text cannot hold (this test also runs on PostgreSQL).
        (
            format!(r#"{{"redirect_url":"{PUBLIC_URL}","reference_id":"a\u0000b"}}"#).into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!(r#"{{"redirect_url":"{PUBLIC_URL}","locale":"<script>"}}"#).into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            format!(r#"{{"redirect_url":"{PUBLIC_URL}"}}"#).into_bytes(),
            "text/plain",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![b' '; 200 * 1024],
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
        ),
        (
            br#"{"redirect_url":"not a url"}"#.to_vec(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_url",
        ),
        (
            format!(r#"{{"redirect_url":"{PUBLIC_URL}","webhook_url":"http://93.184.216.34/"}}"#)
                .into_bytes(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_webhook_url",
        ),
    ];
    for (body, ctype, status, code) in cases {
        let preview = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let r = post_raw(body, ctype).await.unwrap();
        assert_eq!(r.status(), status, "{preview}");
        assert_eq!(error_code(r).await, code, "{preview}");
    }
    // Direct sessions: empty body is fine, nonsense is not.
    let r = c.post(srv.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c
        .post(srv.url("/api/v1/session"))
        .body("{\"mode\": 3}")
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    srv.stop().await;
}

#[tokio::test]
async fn sessions_expire_and_are_swept() {
    let srv = TestServer::start(&["--session-ttl-secs", "1", "--sweep-interval-secs", "1"]).await;
    let (key, _) = srv.create_key("acme").await;
    let created = srv
        .create_managed(
            &key,
            &json!({"redirect_url": PUBLIC_URL, "reference_id": "r1"}),
        )
        .await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap();
    let db = srv.db().await;
    // Wait (bounded) for the sweeper to expire it and delete its personal data.
    let mut swept = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let s = sessions::get(&db, &id).await.unwrap().unwrap();
        if s.status == app::api::SessionStatus::Expired {
            swept = Some(s);
            break;
        }
    }
    let s = swept.expect("the sweeper expired the session");
    assert!(s.reference_id.is_none() && s.webhook_url.is_none() && s.locale.is_none());
    // The integrator's `redirect_url` stays: a late visit to the link still leads back.
    assert!(s.redirect_url.is_some());
    let r = Client::new()
        .get(srv.url(&format!("/api/v1/session/{id}/result?token={token}")))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::GONE, "session_expired").await;
    assert!(
        sessions::complete(&db, &id, completion(Verdict::Pass, true))
            .await
            .is_err()
    );
    srv.stop().await;
}

#[tokio::test]
async fn service_routes() {
    let srv = TestServer::start(&[]).await;
    let c = Client::new();
    let r = c.get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(srv.url("/readyz")).send().await.unwrap();
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["database"], "ok");

    c.post(srv.url("/api/v1/session")).send().await.unwrap();
    let text = c
        .get(srv.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("ilive_sessions_created_total{kind=\"direct\",mode=\"active\"} 1"));
    assert!(text.contains(
        "ilive_http_requests_total{route=\"/api/v1/session\",method=\"POST\",status=\"201\"} 1"
    ));
    assert!(text.contains("ilive_sessions{status=\"created\"} 1"));

    let doc: Value = c
        .get(srv.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/managed-session",
        "/api/v1/session",
        "/api/v1/session/{id}/result",
        "/api/v1/session/{id}/photo",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(doc["components"]["schemas"].get("SessionResult").is_some());

    let page = c.get(srv.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("iLive"));
    srv.stop().await;
}

/// The session page's state, as its browser bundle fetches it when the page came without it
/// (`app::browser::http::session_page_info`): the server function, form-encoded arguments.
#[tokio::test]
async fn session_page_info_answers_the_browsers_plain_fetch() {
    let srv = TestServer::start(&[]).await;
    let created = common::capture::session(&srv, "passive").await;
    let (id, capture) = common::capture::id_and_capture(&created);
    let info = |capture: String| {
        let form = [("id", id.clone()), ("capture", capture)];
        let url = srv.url(app::session_info::PAGE_INFO_PATH);
        async move {
            let resp = Client::new().post(url).form(&form).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<Value>().await.unwrap()
        }
    };
    let ok = info(capture).await;
    assert_eq!(
        (ok["state"].as_str(), ok["mode"].as_str()),
        (Some("ok"), Some("passive"))
    );
    assert_eq!(info("0".repeat(64)).await["state"], "invalid_link");
    srv.stop().await;
}

#[tokio::test]
async fn every_response_forbids_framing_sniffing_and_referrers() {
    let srv = TestServer::start(&[]).await;
    let c = reqwest::Client::new();
    for path in ["/healthz", "/", "/api/v1/session/nope/result?token=x"] {
        let r = c.get(srv.url(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
    }
    srv.stop().await;
}

#[test]
fn help_never_prints_secrets_taken_from_the_environment() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ilive"))
        .arg("--help")
        .env("ILIVE_LEGACY_API_KEY", "legacy-secret-1234")
        .env("ILIVE_CAPTCHA_SECRET", "captcha-secret-5678")
        .env("ILIVE_DATABASE_URL", "sqlite://db-secret-9012.db")
        .output()
        .expect("the ilive binary runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("ILIVE_LEGACY_API_KEY"), "{help}");
    for secret in [
        "legacy-secret-1234",
        "captcha-secret-5678",
        "db-secret-9012",
    ] {
        assert!(!help.contains(secret), "--help printed {secret}");
    }
}
