//! The collections' limits and orderings that no photo test reaches: the listing's order, the
//! same on both stores whatever the database's collation (the PostgreSQL test databases are
//! collated for English), the duplicates report refused above 5,000 faces, and a collection
//! enrolled with another descriptor refused (docs/api.md, "Collections"). Run on SQLite, and on
//! PostgreSQL by the test command's second pass.
mod common;

use common::{
    collections::{create, enrol, get, json, probe, search, COLLECTIONS},
    expect_error, TestServer,
};
use reqwest::StatusCode;
use serde_json::json;
use server::{
    faces::collections::{DIM, DUPLICATES_MAX_FACES},
    store::collections as stored,
};

#[tokio::test]
async fn collections_are_listed_in_byte_order_on_either_store() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    for id in ["alpha", "Zeta", "a1", "a-1"] {
        json(
            create(&srv, &key, json!({"collection_id": id})).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let listed = json(get(&srv, &key, COLLECTIONS).await, StatusCode::OK).await;
    let ids: Vec<&str> = listed["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["collection_id"].as_str().unwrap())
        .collect();
    // An English collation would give a-1, a1, alpha, Zeta.
    assert_eq!(ids, ["Zeta", "a-1", "a1", "alpha"]);
    srv.stop().await;
}

#[tokio::test]
async fn duplicates_are_refused_above_five_thousand_faces() {
    let srv = TestServer::start(&[]).await;
    let (key, tenant) = srv.create_key("acme").await;
    json(
        create(&srv, &key, json!({"collection_id": "big"})).await,
        StatusCode::CREATED,
    )
    .await;
    // Enrolled through the store: 5,001 photos through the networks would take minutes.
    let db = srv.db().await;
    let c = stored::find(&db, &tenant.id, "big").await.unwrap().unwrap();
    let mut descriptor = vec![0.0f32; DIM];
    for i in 0..=DUPLICATES_MAX_FACES {
        descriptor.fill(0.0);
        descriptor[i % DIM] = 1.0;
        stored::add_face(&db, &c.id, None, &descriptor, 10_000)
            .await
            .unwrap();
    }
    let path = format!("{COLLECTIONS}/big/duplicates");
    let r = get(&srv, &key, &path).await;
    expect_error(r, StatusCode::UNPROCESSABLE_ENTITY, "collection_too_large").await;
    srv.stop().await;
}

#[tokio::test]
async fn a_collection_of_another_descriptor_is_refused_as_outdated() {
    let srv = TestServer::start(&[]).await;
    let (key, tenant) = srv.create_key("acme").await;
    // As a server with an earlier descriptor would have left it: its vectors cannot be compared
    // with this server's, so no search, enrolment or duplicates report may mix them.
    let db = srv.db().await;
    let c = stored::create(&db, &tenant.id, "old", None, "dlib-128")
        .await
        .unwrap();
    stored::add_face(&db, &c.id, Some("someone"), &[0.5f32; 128], 10_000)
        .await
        .unwrap();
    let r = search(&srv, &key, "old", probe("grace_hopper.jpg")).await;
    expect_error(r, StatusCode::CONFLICT, "collection_outdated").await;
    let r = enrol(&srv, &key, "old", "grace_hopper.jpg", "grace").await;
    expect_error(r, StatusCode::CONFLICT, "collection_outdated").await;
    let r = get(&srv, &key, &format!("{COLLECTIONS}/old/duplicates")).await;
    expect_error(r, StatusCode::CONFLICT, "collection_outdated").await;
    // It is still listed and can be deleted, to be enrolled again.
    let listed = json(
        get(&srv, &key, &format!("{COLLECTIONS}/old")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["face_count"], 1, "{listed}");
    let r = common::collections::delete(&srv, &key, &format!("{COLLECTIONS}/old")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    srv.stop().await;
}
