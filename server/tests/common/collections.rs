//! Calls to the collection routes, shared by the collection tests.
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::{
    upload::{photo, post, Form},
    TestServer,
};

pub const COLLECTIONS: &str = "/api/v2/collections";

pub async fn send(req: reqwest::RequestBuilder, key: &str) -> reqwest::Response {
    req.bearer_auth(key).send().await.unwrap()
}

pub async fn create(srv: &TestServer, key: &str, body: Value) -> reqwest::Response {
    send(Client::new().post(srv.url(COLLECTIONS)).json(&body), key).await
}

pub async fn get(srv: &TestServer, key: &str, path: &str) -> reqwest::Response {
    send(Client::new().get(srv.url(path)), key).await
}

pub async fn delete(srv: &TestServer, key: &str, path: &str) -> reqwest::Response {
    send(Client::new().delete(srv.url(path)), key).await
}

pub async fn json(resp: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(resp.status(), status);
    resp.json().await.unwrap()
}

/// Enrols `image` as `external_id` in `collection`, at the loosest operating point (the tests
/// are about the collection, not the thresholds: docs/api.md, "Operating points").
pub async fn enrol(
    srv: &TestServer,
    key: &str,
    collection: &str,
    image: &str,
    external_id: &str,
) -> reqwest::Response {
    let form = Form::new()
        .file("image", &photo(image))
        .text("external_id", external_id)
        .text("operating_point", "fmr_1e-2");
    post(
        srv,
        &format!("{COLLECTIONS}/{collection}/faces"),
        Some(key),
        form,
    )
    .await
}

pub async fn search(
    srv: &TestServer,
    key: &str,
    collection: &str,
    form: Form,
) -> reqwest::Response {
    let path = format!("{COLLECTIONS}/{collection}/faces:search");
    post(srv, &path, Some(key), form).await
}

pub fn probe(image: &str) -> Form {
    Form::new()
        .file("image", &photo(image))
        .text("operating_point", "fmr_1e-2")
}

pub fn external_ids(matches: &Value) -> Vec<&str> {
    matches
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["external_id"].as_str().unwrap())
        .collect()
}
