//! Retention through the real server: a completed session's result and photo outlive the
//! capture window for the retention period, then go; `DELETE /api/v1/session/{id}` erases a
//! session at once, for its owner only, and not under a running capture.
mod common;

use std::time::Duration;

use app::api::{SessionStatus, Verdict};
use common::{capture::id_and_capture, expect_error, holder, TestServer, PUBLIC_URL};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::store::{
    sessions::{self, Completion, Photo, ResultDetails},
    Db,
};

fn passed() -> Completion {
    Completion {
        verdict: Verdict::Pass,
        confidence: 0.9,
        details: ResultDetails::default(),
        camera_metadata: Some(json!({"label": "test cam"})),
        photo: Some(Photo {
            jpeg: vec![0xff, 0xd8, 0xff, 0xd9],
            geometry: json!({"eye_line_y": 240}),
        }),
    }
}

/// Rows of `table` whose `column` is `id`.
async fn count(db: &Db, table: &str, column: &str, id: &str) -> i64 {
    count_where(db, &format!("{table} WHERE {column} = $1"), id).await
}

/// `SELECT COUNT(*) FROM <rows>`, with `$1` bound to `id`, on either database.
async fn count_where(db: &Db, rows: &str, id: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {rows}");
    let (n,): (i64,) = match db {
        Db::Sqlite(pool) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(pool)
                .await
        }
        Db::Postgres(pool) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(pool)
                .await
        }
    }
    .unwrap();
    n
}

async fn status(srv: &TestServer, path: &str) -> StatusCode {
    Client::new()
        .get(srv.url(path))
        .send()
        .await
        .unwrap()
        .status()
}

async fn erase(srv: &TestServer, id: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = Client::new().delete(srv.url(&format!("/api/v1/session/{id}")));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req.send().await.unwrap()
}

/// Waits (bounded) until the sweeper has expired the session.
async fn until_expired(db: &Db, id: &str) {
    for _ in 0..100 {
        let s = sessions::get(db, id).await.unwrap().unwrap();
        if s.status == SessionStatus::Expired {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the sweeper never expired {id}");
}

#[tokio::test]
async fn results_are_kept_for_the_retention_after_completion() {
    let srv = TestServer::start(&[
        "--session-ttl-secs",
        "1",
        "--retention-secs",
        "4",
        "--sweep-interval-secs",
        "1",
    ])
    .await;
    let (key, _) = srv.create_key("acme").await;
    let body = json!({"redirect_url": PUBLIC_URL, "reference_id": "user-7"});
    let done = srv.create_managed(&key, &body).await;
    let open = srv.create_managed(&key, &body).await;
    let id = done["session_id"].as_str().unwrap();
    let token = done["token"].as_str().unwrap();
    let db = srv.db().await;
    let completed = sessions::complete(&db, id, passed()).await.unwrap();
    let completed_at = completed.completed_at.unwrap();
    assert_eq!(completed.expires_at, completed_at + 4);

    // The unfinished one goes after the capture window, as before.
    until_expired(&db, open["session_id"].as_str().unwrap()).await;
    // The completed one is still whole past its capture window.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let result = srv
        .get_json(&format!("/api/v1/session/{id}/result?token={token}"))
        .await;
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["reference_id"], "user-7");
    assert_eq!(result["photo_available"], true);
    let photo = format!("/api/v1/session/{id}/photo?token={token}");
    assert_eq!(status(&srv, &photo).await, StatusCode::OK);

    // After its retention: the photo and the details are gone, a tombstone answers 410.
    until_expired(&db, id).await;
    assert!(server::store::now() >= completed_at + 4);
    assert_eq!(count(&db, "photos", "session_id", id).await, 0);
    let s = sessions::get(&db, id).await.unwrap().unwrap();
    assert!(s.result_json.is_none() && s.camera_metadata.is_none() && s.reference_id.is_none());
    let r = Client::new()
        .get(srv.url(&format!("/api/v1/session/{id}/result?token={token}")))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::GONE, "session_expired").await;
    assert_eq!(status(&srv, &photo).await, StatusCode::GONE);
    srv.stop().await;
}

#[tokio::test]
async fn erasure_deletes_everything_at_once_for_the_owner_only() {
    // A webhook receiver that refuses connections: the delivery stays queued, to be erased.
    let srv = TestServer::start(&["--dev-allow-insecure-urls"]).await;
    let (key, _) = srv.create_key("acme").await;
    let (other, _) = srv.create_key("globex").await;
    let body = json!({
        "redirect_url": PUBLIC_URL,
        "webhook_url": "http://127.0.0.1:9/hook",
        "reference_id": "user-9",
    });
    let created = srv.create_managed(&key, &body).await;
    let id = created["session_id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    let db = srv.db().await;
    sessions::complete(&db, id, passed()).await.unwrap();
    assert_eq!(count(&db, "photos", "session_id", id).await, 1);
    assert_eq!(count(&db, "webhook_deliveries", "session_id", id).await, 1);

    // No key, another tenant's key, an unknown or malformed id: nothing is erased.
    expect_error(
        erase(&srv, id, None).await,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
    )
    .await;
    let r = erase(&srv, id, Some(&other)).await;
    expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    for unknown in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".into()] {
        let r = erase(&srv, &unknown, Some(&key)).await;
        expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    }
    assert_eq!(count(&db, "sessions", "id", id).await, 1);

    // The owner erases it: the row, the photo, the queued webhook and its attempts are gone.
    let r = erase(&srv, id, Some(&key)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    assert!(sessions::get(&db, id).await.unwrap().is_none());
    assert!(sessions::photo(&db, id).await.unwrap().is_none());
    assert_eq!(count(&db, "photos", "session_id", id).await, 0);
    assert_eq!(count(&db, "webhook_deliveries", "session_id", id).await, 0);
    let orphans = "webhook_attempts WHERE delivery_id NOT IN \
        (SELECT id FROM webhook_deliveries WHERE session_id != $1)";
    assert_eq!(count_where(&db, orphans, id).await, 0);
    for path in ["result", "photo"] {
        let r = Client::new()
            .get(srv.url(&format!("/api/v1/session/{id}/{path}?token={token}")))
            .send()
            .await
            .unwrap();
        expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    }
    let r = erase(&srv, id, Some(&key)).await;
    expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;

    // A session whose link was never used is erased too; its link then leads nowhere.
    let unused = srv.create_managed(&key, &body).await;
    let unused_id = unused["session_id"].as_str().unwrap();
    assert_eq!(
        erase(&srv, unused_id, Some(&key)).await.status(),
        StatusCode::NO_CONTENT
    );
    let page = format!("/session/{unused_id}?c={}", id_and_capture(&unused).1);
    assert!(!status(&srv, &page).await.is_server_error());
    assert!(sessions::get(&db, unused_id).await.unwrap().is_none());
    srv.stop().await;
}

#[tokio::test]
async fn a_running_capture_is_not_erased_under_it() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    let created = srv
        .create_managed(&key, &json!({"redirect_url": PUBLIC_URL}))
        .await;
    let id = created["session_id"].as_str().unwrap();
    let db = srv.db().await;
    sessions::start_capture(&db, id, &id_and_capture(&created).1, &holder("test", 3600))
        .await
        .unwrap();
    let r = erase(&srv, id, Some(&key)).await;
    assert_eq!(r.headers()["retry-after"], "10");
    expect_error(r, StatusCode::CONFLICT, "capture_in_progress").await;
    assert_eq!(count(&db, "sessions", "id", id).await, 1);
    // Once the capture has ended, the same request erases it.
    sessions::complete(&db, id, passed()).await.unwrap();
    assert_eq!(
        erase(&srv, id, Some(&key)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(count(&db, "photos", "session_id", id).await, 0);
    srv.stop().await;
}

#[tokio::test]
async fn the_legacy_key_erases_only_its_own_sessions() {
    let srv = TestServer::start(&["--legacy-api-key", "legacy-secret-123"]).await;
    let (key, _) = srv.create_key("acme").await;
    let body = json!({"redirect_url": PUBLIC_URL});
    let legacy = srv.create_managed("legacy-secret-123", &body).await;
    let tenant = srv.create_managed(&key, &body).await;
    let direct: Value = Client::new()
        .post(srv.url("/api/v1/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (legacy, tenant, direct) = (
        legacy["session_id"].as_str().unwrap(),
        tenant["session_id"].as_str().unwrap(),
        direct["session_id"].as_str().unwrap(),
    );
    for (id, with) in [
        (tenant, "legacy-secret-123"),
        (legacy, key.as_str()),
        (direct, "legacy-secret-123"),
        (direct, key.as_str()),
    ] {
        let r = erase(&srv, id, Some(with)).await;
        expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    }
    let r = erase(&srv, legacy, Some("legacy-secret-123")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        erase(&srv, tenant, Some(&key)).await.status(),
        StatusCode::NO_CONTENT
    );
    srv.stop().await;
}
