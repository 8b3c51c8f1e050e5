//! Multipart uploads for the face routes, built by hand so tests control every byte, and the
//! fixture photos and compare/detect calls the face tests share.
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::TestServer;

/// A `multipart/form-data` body, built by hand so tests control every byte (and can break it).
pub struct Form {
    boundary: &'static str,
    body: Vec<u8>,
}

impl Form {
    pub fn new() -> Self {
        Form {
            boundary: "ilive-test-boundary-7d3f",
            body: Vec::new(),
        }
    }

    pub fn file(mut self, name: &str, bytes: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

pub async fn post(
    srv: &TestServer,
    path: &str,
    key: Option<&str>,
    form: Form,
) -> reqwest::Response {
    let (content_type, body) = form.finish();
    let mut req = Client::new()
        .post(srv.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    req.send().await.unwrap()
}

/// A photo from the fixture set (`bash scripts/fixtures/fetch-images.sh`).
pub fn photo(name: &str) -> Vec<u8> {
    let path = super::fixtures().join("images").join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run `bash scripts/fixtures/fetch-images.sh` first",
            path.display()
        )
    })
}

/// `faces:compare` at the loosest operating point: these tests are about the photos, not the
/// thresholds (at the strict default the current descriptor refuses some same-person pairs, see
/// docs/api.md, "Operating points").
pub async fn compare(srv: &TestServer, key: &str, a: &[u8], b: &[u8]) -> reqwest::Response {
    let form = Form::new()
        .file("source_image", a)
        .file("target_image", b)
        .text("operating_point", "fmr_1e-2");
    post(srv, "/api/v2/faces:compare", Some(key), form).await
}

pub async fn detect(srv: &TestServer, key: &str, image: &[u8], attributes: &str) -> Value {
    let form = Form::new()
        .file("image", image)
        .text("attributes", attributes);
    let resp = post(srv, "/api/v2/faces:detect", Some(key), form).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}
