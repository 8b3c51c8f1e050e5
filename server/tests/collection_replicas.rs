//! One collection served by two replicas on one database: each keeps its own copy of the
//! descriptors in memory, adds the faces it enrols to it in place, and reads the collection
//! again when another replica changed it (docs/api.md, "Collections"; docs/deployment.md,
//! "Replicas"). Every search and enrolment below goes through the other replica from the one
//! that made the last change, so a stale copy would show as a missing or a deleted face.
//! Run on SQLite (two servers on one file), and on PostgreSQL by the test command's second pass.
mod common;

use common::{
    collections::{create, delete, enrol, external_ids, json, probe, search, COLLECTIONS},
    expect_error, TestServer,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The external ids the replica `srv` finds for the face in `image`.
async fn found(srv: &TestServer, key: &str, image: &str) -> Vec<String> {
    let r: Value = json(
        search(srv, key, "shared", probe(image)).await,
        StatusCode::OK,
    )
    .await;
    let mut ids: Vec<String> = external_ids(&r["matches"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

async fn enrolled(srv: &TestServer, key: &str, image: &str, who: &str) -> Value {
    json(
        enrol(srv, key, "shared", image, who).await,
        StatusCode::CREATED,
    )
    .await
}

#[tokio::test]
async fn two_replicas_see_each_others_enrolments_and_deletions() {
    let a = TestServer::start(&["--replica-id", "a"]).await;
    let b = TestServer::start_in(a.dir.clone(), &["--replica-id", "b"]).await;
    let (key, _) = a.create_key("acme").await;
    json(
        create(&a, &key, json!({"collection_id": "shared"})).await,
        StatusCode::CREATED,
    )
    .await;

    // A enrols (its copy, read empty, takes the face in place); B has never read it.
    enrolled(&a, &key, "obama.jpg", "obama").await;
    assert_eq!(found(&b, &key, "obama2.jpg").await, ["obama"]);
    // B enrols on top of its own copy; A's copy is a face behind and must read again.
    enrolled(&b, &key, "biden.jpg", "biden").await;
    assert_eq!(found(&a, &key, "biden.jpg").await, ["biden"]);
    // A enrols a second photo of the same man: it lists the first as a match, read through B's
    // enrolment; then B, whose copy is behind again, finds both.
    let again = enrolled(&a, &key, "obama3.jpg", "obama-again").await;
    assert_eq!(external_ids(&again["matches"]), ["obama"], "{again}");
    assert_eq!(
        found(&b, &key, "obama2.jpg").await,
        ["obama", "obama-again"]
    );

    // A face deleted through B is gone from A's next search.
    let first = again["matches"][0]["face_id"].as_str().unwrap().to_owned();
    let path = format!("{COLLECTIONS}/shared/faces/{first}");
    assert_eq!(
        delete(&b, &key, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(found(&a, &key, "obama2.jpg").await, ["obama-again"]);

    // The collection deleted through A is gone for B, which still holds a copy.
    let path = format!("{COLLECTIONS}/shared");
    assert_eq!(
        delete(&a, &key, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    let r = search(&b, &key, "shared", probe("obama2.jpg")).await;
    expect_error(r, StatusCode::NOT_FOUND, "collection_not_found").await;
    a.stop().await;
    b.stop().await;
}
