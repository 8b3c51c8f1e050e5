//! The face routes' upload table through the real server: every error code an upload can get
//! (size, type, pixels, fields, keys), each with its status (`faces.rs` has the comparisons and
//! detections that succeed).
mod common;

use common::{
    error_code, expect_error,
    upload::{compare, photo, post, Form},
    TestServer,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn upload_errors_have_their_codes() {
    let srv = TestServer::start(&["--legacy-api-key", "legacy-secret-123"]).await;
    let (key, _) = srv.create_key("acme").await;
    let obama = photo("obama.jpg");

    // Over 8 MB: 413, whether the bytes would decode or not.
    let big = vec![0x5a_u8; 8 * 1024 * 1024 + 1];
    let r = compare(&srv, &key, &obama, &big).await;
    expect_error(r, StatusCode::PAYLOAD_TOO_LARGE, "image_too_large").await;
    let r = post(
        &srv,
        "/api/v2/faces:detect",
        Some(&key),
        Form::new().file("image", &big),
    )
    .await;
    expect_error(r, StatusCode::PAYLOAD_TOO_LARGE, "image_too_large").await;
    // Far over the route's body limit: still 413 image_too_large.
    let huge = vec![0x5a_u8; 20 * 1024 * 1024];
    let r = compare(&srv, &key, &obama, &huge).await;
    expect_error(r, StatusCode::PAYLOAD_TOO_LARGE, "image_too_large").await;

    // Empty and corrupt uploads.
    let r = compare(&srv, &key, &[], &obama).await;
    expect_error(r, StatusCode::BAD_REQUEST, "empty_image").await;
    let mut corrupt = obama[..600].to_vec();
    corrupt.extend_from_slice(&[0x13; 4000]);
    let r = compare(&srv, &key, &obama, &corrupt).await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_image").await;
    let r = compare(&srv, &key, &obama, b"GIF89a not an accepted format").await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_image").await;

    // Not multipart, a missing field, a bad threshold, bad attributes: invalid_request.
    let r = Client::new()
        .post(srv.url("/api/v2/faces:compare"))
        .bearer_auth(&key)
        .json(&json!({"source_image": "x"}))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    let r = post(
        &srv,
        "/api/v2/faces:compare",
        Some(&key),
        Form::new().file("source_image", &obama),
    )
    .await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    // A bad threshold is invalid_request; an operating point that is not one of the named ones
    // has its own code.
    let bad_fields = ["1.5", "-0.1", "high", "NaN"]
        .map(|v| ("threshold", v, "invalid_request"))
        .into_iter()
        .chain(
            ["fmr_1e-5", "1e-3", "FMR_1E-3", "fmr=1e-3"]
                .map(|v| ("operating_point", v, "invalid_operating_point")),
        );
    for (field, bad, code) in bad_fields {
        let form = Form::new()
            .file("source_image", &obama)
            .file("target_image", &obama)
            .text(field, bad);
        let r = post(&srv, "/api/v2/faces:compare", Some(&key), form).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{field} {bad}");
        assert_eq!(error_code(r).await, code, "{field} {bad}");
    }
    let form = Form::new().file("image", &obama).text("attributes", "some");
    let r = post(&srv, "/api/v2/faces:detect", Some(&key), form).await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    // A body cut off before its closing boundary.
    let (ct, body) = Form::new().file("image", &obama).finish();
    let r = Client::new()
        .post(srv.url("/api/v2/faces:detect"))
        .bearer_auth(&key)
        .header("content-type", ct)
        .body(body[..body.len() / 2].to_vec())
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;

    // Keys: none and unknown are refused; the legacy key is accepted like a tenant's (its
    // empty form is then the request's mistake).
    for path in ["/api/v2/faces:compare", "/api/v2/faces:detect"] {
        let form = Form::new().file("image", &obama);
        let r = post(&srv, path, None, form).await;
        expect_error(r, StatusCode::UNAUTHORIZED, "missing_api_key").await;
        let r = post(&srv, path, Some("iksk_nope"), Form::new()).await;
        expect_error(r, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
        let r = post(&srv, path, Some("legacy-secret-123"), Form::new()).await;
        expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let r = post(
        &srv,
        "/api/v2/faces:detect",
        Some("legacy-secret-123"),
        Form::new().file("image", &obama),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["faces"].as_array().map(Vec::len), Some(1), "{v}");
    let r = compare(&srv, "legacy-secret-123", &obama, &obama).await;
    assert_eq!(r.status(), StatusCode::OK);
    srv.stop().await;
}
