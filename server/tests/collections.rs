//! Face collections through the real server, on real photos: create, enrol, search 1:N, list,
//! find duplicates, delete; enrolment from a session that passed; the cap on faces; a restart;
//! and tenant isolation — one tenant never sees, searches or deletes another's collections.
//! Run on SQLite, and on PostgreSQL by the test command's second pass.
mod common;

use std::sync::Arc;

use app::api::Verdict;
use common::{
    collections::{
        create, delete, enrol, external_ids, get, json, probe, search, send, COLLECTIONS,
    },
    completion, expect_error, new_session,
    upload::{photo, post, Form},
    TestServer,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::store::sessions::{self, SessionKind};
#[tokio::test]
async fn enrol_search_list_deduplicate_and_delete() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let srv = TestServer::start_in(dir.clone(), &[]).await;
    let (key, _) = srv.create_key("acme").await;

    let made = json(
        create(
            &srv,
            &key,
            json!({"collection_id": "staff", "description": "Staff"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(made["collection_id"], "staff");
    assert_eq!(made["face_count"], 0);
    assert!(
        made["descriptor"].is_string() && made["created_at"].is_string(),
        "{made}"
    );
    let again = create(&srv, &key, json!({"collection_id": "staff"})).await;
    expect_error(again, StatusCode::CONFLICT, "collection_exists").await;
    for bad in [
        json!({"collection_id": "has space"}),
        json!({"collection_id": ""}),
        json!({"collection_id": "x".repeat(65)}),
        json!({"collection_id": "ok", "colour": "blue"}),
        json!({"collection_id": "ok", "description": "d".repeat(129)}),
        // Path segments that clients drop, and a NUL that PostgreSQL's text refuses.
        json!({"collection_id": ".."}),
        json!({"collection_id": ".hidden"}),
        json!({"collection_id": "ok", "description": "nul \u{0} inside"}),
    ] {
        let r = create(&srv, &key, bad.clone()).await;
        expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // An external_id is up to 128 characters whatever their UTF-8 length (here 384 bytes).
    json(
        create(&srv, &key, json!({"collection_id": "labels"})).await,
        StatusCode::CREATED,
    )
    .await;
    let wide = "顔".repeat(128);
    let enrolled = json(
        enrol(&srv, &key, "labels", "astronaut.png", &wide).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(enrolled["face"]["external_id"], wide.as_str());
    let r = enrol(&srv, &key, "labels", "astronaut.png", &"顔".repeat(129)).await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;

    for (image, who) in [
        ("obama.jpg", "obama"),
        ("biden.jpg", "biden"),
        ("grace_hopper.jpg", "grace"),
        ("astronaut.png", "eileen"),
    ] {
        let enrolled = json(
            enrol(&srv, &key, "staff", image, who).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(enrolled["face"]["external_id"], who);
        assert!(
            enrolled["bounding_box"]["width"].as_u64().unwrap() > 50,
            "{enrolled}"
        );
        assert_eq!(
            enrolled["matches"],
            json!([]),
            "{who} is nobody enrolled before: {enrolled}"
        );
    }
    let r = enrol(&srv, &key, "staff", "coffee.png", "cup").await;
    expect_error(r, StatusCode::UNPROCESSABLE_ENTITY, "no_face").await;
    let neither = post(
        &srv,
        &format!("{COLLECTIONS}/staff/faces"),
        Some(&key),
        Form::new(),
    )
    .await;
    expect_error(neither, StatusCode::BAD_REQUEST, "invalid_request").await;
    let listed = json(
        get(&srv, &key, &format!("{COLLECTIONS}/staff")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        listed["face_count"], 4,
        "the failed enrolments added nothing"
    );

    // 1:N: another photo of one enrolled person finds that person first, and no one else.
    let found = json(
        search(&srv, &key, "staff", probe("obama2.jpg")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(external_ids(&found["matches"]), ["obama"], "{found}");
    assert_eq!(found["face_count"], 4);
    assert_eq!(found["operating_point"], "fmr_1e-2");
    assert!(found["searched_face"]["width"].as_u64().unwrap() > 50);
    // The similarity is the one `faces:compare` reports for the same pair.
    let compared: Value =
        common::upload::compare(&srv, &key, &photo("obama.jpg"), &photo("obama2.jpg"))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(found["matches"][0]["similarity"], compared["similarity"]);
    // With every face above the threshold, `max_results` of them come back, most alike first.
    let form = Form::new()
        .file("image", &photo("obama2.jpg"))
        .text("threshold", "0")
        .text("max_results", "3");
    let ranked = json(search(&srv, &key, "staff", form).await, StatusCode::OK).await;
    let sims: Vec<f64> = ranked["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["similarity"].as_f64().unwrap())
        .collect();
    assert_eq!(sims.len(), 3, "{ranked}");
    assert!(sims.windows(2).all(|w| w[0] >= w[1]), "{ranked}");
    assert_eq!(ranked["matches"][0]["external_id"], "obama");
    assert_eq!(ranked["operating_point"], Value::Null);
    for bad in ["0", "101", "ten"] {
        let form = probe("obama2.jpg").text("max_results", bad);
        let r = search(&srv, &key, "staff", form).await;
        expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let r = search(&srv, &key, "staff", probe("coffee.png")).await;
    expect_error(r, StatusCode::UNPROCESSABLE_ENTITY, "no_face").await;

    // The same person enrolled twice: the enrolment says so, and so does the duplicates report.
    let twice = json(
        enrol(&srv, &key, "staff", "obama3.jpg", "obama-again").await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(external_ids(&twice["matches"]), ["obama"], "{twice}");
    let dupes = json(
        get(
            &srv,
            &key,
            &format!("{COLLECTIONS}/staff/duplicates?operating_point=fmr_1e-2"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let first = &dupes["pairs"][0];
    let mut pair = [
        first["first"]["external_id"].as_str().unwrap(),
        first["second"]["external_id"].as_str().unwrap(),
    ];
    pair.sort();
    assert_eq!(pair, ["obama", "obama-again"], "{dupes}");
    assert_eq!(dupes["face_count"], 5);
    let r = get(
        &srv,
        &key,
        &format!("{COLLECTIONS}/staff/duplicates?max_results=0"),
    )
    .await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    let r = get(
        &srv,
        &key,
        &format!("{COLLECTIONS}/staff/duplicates?treshold=0.5"),
    )
    .await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;

    // Listing pages through every face once.
    let mut seen = Vec::new();
    let mut path = format!("{COLLECTIONS}/staff/faces?limit=2");
    loop {
        let page = json(get(&srv, &key, &path).await, StatusCode::OK).await;
        let faces = page["faces"].as_array().unwrap();
        assert!(faces.len() <= 2);
        seen.extend(
            faces
                .iter()
                .map(|f| f["face_id"].as_str().unwrap().to_owned()),
        );
        match page["next_after"].as_str() {
            Some(after) => path = format!("{COLLECTIONS}/staff/faces?limit=2&after={after}"),
            None => break,
        }
    }
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (5, 5), "{seen:?}");
    // A cursor that is no face id (here a NUL, which PostgreSQL's text refuses) is the client's
    // mistake, and so is a face id that is no UUID.
    let r = get(&srv, &key, &format!("{COLLECTIONS}/staff/faces?after=%00")).await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    let r = delete(&srv, &key, &format!("{COLLECTIONS}/staff/faces/%00")).await;
    expect_error(r, StatusCode::NOT_FOUND, "face_not_found").await;

    // Nothing is lost on a restart.
    srv.stop().await;
    let srv = TestServer::start_in(dir, &[]).await;
    let found = json(
        search(&srv, &key, "staff", probe("obama2.jpg")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["face_count"], 5);

    // A deleted face is gone from the next search (the replica's copy is refreshed).
    let obama = found["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["external_id"] == "obama")
        .unwrap()["face_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let face = format!("{COLLECTIONS}/staff/faces/{obama}");
    assert_eq!(
        delete(&srv, &key, &face).await.status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        delete(&srv, &key, &face).await,
        StatusCode::NOT_FOUND,
        "face_not_found",
    )
    .await;
    let found = json(
        search(&srv, &key, "staff", probe("obama2.jpg")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(external_ids(&found["matches"]), ["obama-again"], "{found}");
    assert_eq!(found["face_count"], 4);

    // Deleting the collection deletes its faces; its name is free again.
    let staff = format!("{COLLECTIONS}/staff");
    assert_eq!(
        delete(&srv, &key, &staff).await.status(),
        StatusCode::NO_CONTENT
    );
    expect_error(
        get(&srv, &key, &staff).await,
        StatusCode::NOT_FOUND,
        "collection_not_found",
    )
    .await;
    let r = search(&srv, &key, "staff", probe("obama2.jpg")).await;
    expect_error(r, StatusCode::NOT_FOUND, "collection_not_found").await;
    let remade = json(
        create(&srv, &key, json!({"collection_id": "staff"})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(remade["face_count"], 0);
    srv.stop().await;
}

#[tokio::test]
async fn each_tenant_sees_only_its_own_collections() {
    let srv = TestServer::start(&["--legacy-api-key", "legacy-key-for-tests-0123456789"]).await;
    let (a, _) = srv.create_key("tenant-a").await;
    let (b, _) = srv.create_key("tenant-b").await;
    let legacy = "legacy-key-for-tests-0123456789";

    json(
        create(&srv, &a, json!({"collection_id": "people"})).await,
        StatusCode::CREATED,
    )
    .await;
    let enrolled = json(
        enrol(&srv, &a, "people", "obama.jpg", "a-obama").await,
        StatusCode::CREATED,
    )
    .await;
    let face_id = enrolled["face"]["face_id"].as_str().unwrap().to_owned();

    // Another tenant, and the legacy key, find nothing of A's: not listed, not readable, not
    // searchable, not deletable — the same answers as for a collection that does not exist.
    for other in [b.as_str(), legacy] {
        let listed = json(get(&srv, other, COLLECTIONS).await, StatusCode::OK).await;
        assert_eq!(listed["collections"], json!([]));
        let people = format!("{COLLECTIONS}/people");
        for r in [
            get(&srv, other, &people).await,
            get(&srv, other, &format!("{people}/faces")).await,
            get(&srv, other, &format!("{people}/duplicates")).await,
            search(&srv, other, "people", probe("obama2.jpg")).await,
            enrol(&srv, other, "people", "biden.jpg", "intruder").await,
            delete(&srv, other, &format!("{people}/faces/{face_id}")).await,
            delete(&srv, other, &people).await,
        ] {
            expect_error(r, StatusCode::NOT_FOUND, "collection_not_found").await;
        }
    }
    // B may have a collection of the same name: its own, empty.
    json(
        create(&srv, &b, json!({"collection_id": "people"})).await,
        StatusCode::CREATED,
    )
    .await;
    let own = json(
        search(&srv, &b, "people", probe("obama2.jpg")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (own["face_count"].clone(), own["matches"].clone()),
        (json!(0), json!([]))
    );
    // A face id of A's collection is no face of B's.
    let r = delete(&srv, &b, &format!("{COLLECTIONS}/people/faces/{face_id}")).await;
    expect_error(r, StatusCode::NOT_FOUND, "face_not_found").await;
    assert_eq!(
        delete(&srv, &b, &format!("{COLLECTIONS}/people"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    // A's is untouched by all of it.
    let mine = json(
        search(&srv, &a, "people", probe("obama2.jpg")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(external_ids(&mine["matches"]), ["a-obama"], "{mine}");
    // No key, no collections.
    let r = Client::new()
        .get(srv.url(COLLECTIONS))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    srv.stop().await;
}

#[tokio::test]
async fn enrolment_from_a_session_needs_a_pass_its_token_and_its_tenant() {
    let srv = TestServer::start(&["--collection-max-faces", "2"]).await;
    let db = srv.db().await;
    let (key, tenant) = srv.create_key("acme").await;
    let (other, _) = srv.create_key("other").await;
    let passed = sessions::create(
        &db,
        new_session(Some(tenant.id.clone()), SessionKind::Managed),
    )
    .await
    .unwrap();
    sessions::complete(
        &db,
        &passed.session.id,
        completion(Verdict::Pass, Some(photo("obama.jpg"))),
    )
    .await
    .unwrap();
    let failed = sessions::create(
        &db,
        new_session(Some(tenant.id.clone()), SessionKind::Managed),
    )
    .await
    .unwrap();
    sessions::complete(&db, &failed.session.id, completion(Verdict::Fail, None))
        .await
        .unwrap();
    let direct = sessions::create(&db, new_session(None, SessionKind::Direct))
        .await
        .unwrap();
    sessions::complete(
        &db,
        &direct.session.id,
        completion(Verdict::Pass, Some(photo("biden.jpg"))),
    )
    .await
    .unwrap();
    json(
        create(&srv, &key, json!({"collection_id": "verified"})).await,
        StatusCode::CREATED,
    )
    .await;
    json(
        create(&srv, &other, json!({"collection_id": "verified"})).await,
        StatusCode::CREATED,
    )
    .await;

    let faces = srv.url(&format!("{COLLECTIONS}/verified/faces:fromSession"));
    let from = |key: &str, id: &str, token: &str| {
        let body = json!({"session_id": id, "session_token": token, "external_id": "customer-1"});
        Client::new()
            .post(&faces)
            .json(&body)
            .bearer_auth(key)
            .send()
    };
    let (id, token) = (passed.session.id.as_str(), passed.token.as_str());
    let r = from(&key, id, &failed.token).await.unwrap();
    expect_error(r, StatusCode::UNAUTHORIZED, "invalid_token").await;
    // Another tenant holding the session's token still cannot enrol it.
    let r = from(&other, id, token).await.unwrap();
    expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    let r = from(&key, &direct.session.id, &direct.token).await.unwrap();
    expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    let r = from(&key, &failed.session.id, &failed.token).await.unwrap();
    expect_error(r, StatusCode::NOT_FOUND, "photo_not_available").await;
    let r = from(&key, "not-a-session", token).await.unwrap();
    expect_error(r, StatusCode::NOT_FOUND, "session_not_found").await;
    let extra = json!({"session_id": id, "session_token": token, "image": "x"});
    let r = send(Client::new().post(&faces).json(&extra), &key).await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    let point = json!({"session_id": id, "session_token": token, "operating_point": "fmr_1e-9"});
    let r = send(Client::new().post(&faces).json(&point), &key).await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_operating_point").await;
    let nul = json!({"session_id": id, "session_token": token, "external_id": "a\u{0}b"});
    let r = send(Client::new().post(&faces).json(&nul), &key).await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;

    let enrolled = json(from(&key, id, token).await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(enrolled["face"]["external_id"], "customer-1");
    let found = json(
        search(&srv, &key, "verified", probe("obama2.jpg")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(external_ids(&found["matches"]), ["customer-1"], "{found}");

    // The cap (`--collection-max-faces 2`): the third face is refused and nothing is stored.
    json(
        enrol(&srv, &key, "verified", "biden.jpg", "two").await,
        StatusCode::CREATED,
    )
    .await;
    let r = enrol(&srv, &key, "verified", "grace_hopper.jpg", "three").await;
    expect_error(r, StatusCode::CONFLICT, "collection_full").await;
    let listed = json(
        get(&srv, &key, &format!("{COLLECTIONS}/verified")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["face_count"], 2);
    srv.stop().await;
}
