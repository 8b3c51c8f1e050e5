//! The OpenAPI document against the server (issue 19): what the document forbids the server
//! refuses, what it allows the server takes, and the links from session creation lead somewhere.
//! `scripts/schemathesis.sh` checks the same property-based; these are the cases that matter.
mod common;

use common::{
    error_code, expect_error,
    upload::{post, Form},
    TestServer, PUBLIC_URL,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// A validator for one component schema of the served document.
fn component(doc: &Value, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::validator_for(&schema).unwrap()
}

#[tokio::test]
async fn the_url_rules_of_the_document_are_the_servers() {
    let srv = TestServer::start(&["--key-rate-limit", "10000"]).await;
    let (key, _) = srv.create_key("acme").await;
    let doc = srv.get_json("/api/openapi.json").await;
    let request = component(&doc, "ManagedSessionRequest");
    // Public literal hosts only: nothing here depends on name resolution.
    for url in [
        PUBLIC_URL,
        "HTTPS://93.184.216.34:8443/cb?x=%C3%BC&y=1#done",
        "https://[2606:4700:4700::1111]/hook",
        "",
        "/relative",
        "93.184.216.34/cb",
        "http://93.184.216.34/cb",
        "https:93.184.216.34/cb",
        "https://user:pw@93.184.216.34/",
        "https://93.184.216.34/a b",
        " https://93.184.216.34/",
        "https://93.184.216.34/ü",
        "https://93.184.216.34:/",
        "javascript:alert(1)",
    ] {
        let body = json!({ "redirect_url": url });
        let documented = request.is_valid(&body);
        let r = srv.managed(&key, &body).await;
        let status = r.status();
        assert_eq!(
            documented,
            status == StatusCode::CREATED,
            "{url:?}: the document says {documented}, the server {status}"
        );
        if !documented {
            assert_eq!(error_code(r).await, "invalid_redirect_url", "{url:?}");
        }
    }
    srv.stop().await;
}

#[tokio::test]
async fn bodies_are_objects_without_unknown_fields() {
    let srv = TestServer::start(&["--direct-rate-limit", "1000"]).await;
    let (key, _) = srv.create_key("acme").await;
    let c = Client::new();
    let direct = |body: &'static str| {
        c.post(srv.url("/api/v1/session"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // The direct session's body is optional: empty, `null` or an object.
    for ok in ["", "null", "{}", r#"{"mode": null, "locale": "pt-BR"}"#] {
        let r = direct(ok).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{ok:?}");
    }
    // Anything else is invalid_request, arrays of field values included.
    for bad in [
        "[null, null]",
        "[]",
        r#""active""#,
        "5",
        "true",
        r#"{"mode": "active", "webhook_url": null}"#,
        r#"{"mode": 1}"#,
    ] {
        let r = direct(bad).await.unwrap();
        expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    for bad in [
        json!([PUBLIC_URL]),
        json!({"redirect_url": PUBLIC_URL, "webhookUrl": PUBLIC_URL}),
        json!({"redirect_url": PUBLIC_URL, "locale": ""}),
    ] {
        let r = srv.managed(&key, &bad).await;
        expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    // Null optional fields, and an empty webhook_url, mean none.
    let ok = json!({"redirect_url": PUBLIC_URL, "webhook_url": "", "reference_id": null,
                    "mode": null, "locale": null});
    assert_eq!(srv.managed(&key, &ok).await.status(), StatusCode::CREATED);
    srv.stop().await;
}

#[tokio::test]
async fn null_upload_fields_mean_the_default_and_unknown_ones_are_refused() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    let face = std::fs::read(common::fixtures().join("images/grace_hopper.jpg")).unwrap();
    let form = Form::new()
        .file("source_image", &face)
        .file("target_image", &face)
        .text("threshold", "null")
        .text("operating_point", "null");
    let r = post(&srv, "/api/v2/faces:compare", Some(&key), form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["operating_point"], "fmr_1e-3", "{v}");
    let form = Form::new().file("image", &face).text("attributes", "null");
    let r = post(&srv, "/api/v2/faces:detect", Some(&key), form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert!(v["faces"][0]["attributes"]["pose"].is_object(), "{v}");
    let form = Form::new().file("image", &face).text("treshold", "0.9");
    let r = post(&srv, "/api/v2/faces:detect", Some(&key), form).await;
    expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    srv.stop().await;
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf8_is_a_json_invalid_request() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    let client = Client::new();
    // %FF decodes to a byte that begins no UTF-8 character: before, axum answered plain text.
    for (method, path, keyed) in [
        ("GET", "/api/v1/session/%FF/result", false),
        ("GET", "/api/v1/session/%FF/photo", false),
        ("GET", "/api/v2/collections/%FF", true),
        ("DELETE", "/api/v2/collections/people/faces/%FF%FE", true),
    ] {
        let mut req = client.request(method.parse().unwrap(), srv.url(path));
        if keyed {
            req = req.bearer_auth(&key);
        }
        let r = req.send().await.unwrap();
        expect_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    srv.stop().await;
}

#[tokio::test]
async fn session_creation_links_to_the_routes_that_use_the_session() {
    let srv = TestServer::start(&[]).await;
    let doc = srv.get_json("/api/openapi.json").await;
    let mut operation_ids = vec![];
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            operation_ids.extend(op["operationId"].as_str());
        }
    }
    for path in ["/api/v1/managed-session", "/api/v1/session"] {
        let links = &doc["paths"][path]["post"]["responses"]["201"]["links"];
        for (name, target) in [
            ("result", "result"),
            ("photo", "photo"),
            ("compare", "session_compare"),
            ("capture", "capture"),
        ] {
            let link = &links[name];
            assert_eq!(link["operationId"], target, "{path} {name}: {link}");
            assert!(operation_ids.contains(&target), "no operation {target}");
            assert_eq!(link["parameters"]["id"], "$response.body#/session_id");
        }
        assert_eq!(
            links["result"]["parameters"]["token"],
            "$response.body#/token"
        );
    }
    // Erasure takes the key that created the session: linked from the keyed creator only.
    let managed = &doc["paths"]["/api/v1/managed-session"]["post"]["responses"]["201"]["links"];
    assert_eq!(managed["erase"]["operationId"], "erase");
    assert!(operation_ids.contains(&"erase"));
    let direct = &doc["paths"]["/api/v1/session"]["post"]["responses"]["201"]["links"];
    assert!(direct["erase"].is_null(), "{direct}");
    let erase = &doc["paths"]["/api/v1/session/{id}"]["delete"]["responses"];
    for status in ["204", "401", "403", "404", "409", "429", "500"] {
        assert!(erase[status].is_object(), "erase lacks {status}");
    }
    // Every refusal the server can give is documented, 500 included.
    let detect = &doc["paths"]["/api/v2/faces:detect"]["post"]["responses"];
    for status in ["200", "400", "401", "403", "413", "429", "500"] {
        assert!(detect[status].is_object(), "faces:detect lacks {status}");
    }
    assert!(detect["422"].is_null(), "faces:detect has no 422 any more");
    srv.stop().await;
}
