//! The OpenAPI 3.1 document, generated from the handlers' annotations and the shared types, then
//! completed by [`Contract`]: what holds for many operations at once (rate-limit headers, the
//! 500 answer) and the links from session creation to the routes that use the new session.
//!
//! The document is a promise: `scripts/schemathesis.sh` (in the test command) checks the real
//! server against it.
use std::sync::LazyLock;

use axum::{routing::get, Json, Router};
use serde_json::Value;
use utoipa::{
    openapi::{
        encoding::EncodingBuilder,
        header::Header,
        link::LinkBuilder,
        response::{Response, ResponseBuilder},
        schema::{
            AdditionalProperties, AllOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
            Type,
        },
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        Content, Ref, RefOr,
    },
    IntoParams, Modify, OpenApi, ToResponse,
};

use crate::{error::Error, AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "iLive",
        description = "Self-hosted face liveness verification. Errors are always \
            `{\"detail\":{\"code\",\"message\"}}`; clients match on `code`, and each response \
            below names the codes it can carry. The capture WebSocket's messages are described \
            by `docs/protocol.schema.json` (JSON Schema) and `docs/protocol.md`.",
        license(name = "MIT"),
    ),
    paths(
        super::sessions::create_managed,
        super::sessions::create_direct,
        super::sessions::captcha,
        super::sessions::result,
        super::sessions::photo,
        super::sessions::erase,
        crate::ws::upgrade,
        super::faces::compare,
        super::faces::session_compare,
        super::faces::detect,
        super::collections::create,
        super::collections::list,
        super::collections::read,
        super::collections::delete,
        super::collections::enrol::enrol,
        super::collections::enrol::enrol_session,
        super::collections::faces::list,
        super::collections::faces::delete,
        super::collections::faces::search,
        super::collections::faces::duplicates,
        super::service::healthz,
        super::service::readyz,
        super::service::metrics,
        openapi_json,
    ),
    components(schemas(app::api::WebhookPayload), responses(RateLimited, InternalError)),
    modifiers(&ApiKeyScheme, &Contract),
    tags(
        (name = "sessions", description = "Liveness sessions"),
        (name = "faces", description = "Face comparison and detection"),
        (name = "collections", description = "Enrolled faces: 1:N search and duplicates"),
        (name = "service", description = "Probes, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// A session id in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct SessionId {
    /// The `session_id` from creation; any other value is `session_not_found`.
    #[param(format = Uuid)]
    id: String,
}

/// The result token in the query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct ResultToken {
    /// The result token from creation (64 lowercase hex digits); any other value is
    /// `invalid_token`.
    #[param(pattern = "^[0-9a-f]{64}$")]
    token: String,
}

/// The capture secret in the query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct CaptureSecret {
    /// The capture secret: the `c` parameter of `session_url` (64 lowercase hex digits).
    #[param(pattern = "^[0-9a-f]{64}$")]
    c: String,
}

/// A JPEG image.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct Jpeg(#[allow(dead_code)] Vec<u8>);

/// `429 rate_limited`, the same on every limited route.
pub(crate) struct RateLimited;

impl<'s> ToResponse<'s> for RateLimited {
    fn response() -> (&'s str, RefOr<Response>) {
        let response = error_response(
            "`rate_limited`: this minute's limit is spent (`docs/api.md`, \"Rate limits\").",
        )
        .header(
            "Retry-After",
            integer_header(1, "Seconds until the window turns."),
        );
        ("RateLimited", with_rate_headers(response).build().into())
    }
}

/// `500 internal_error`: logged, never echoed.
pub(crate) struct InternalError;

impl<'s> ToResponse<'s> for InternalError {
    fn response() -> (&'s str, RefOr<Response>) {
        let response =
            error_response("`internal_error`: something failed inside; it has been logged.");
        ("InternalError", response.build().into())
    }
}

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(error_body(description))),
    )
}

/// `ErrorBody` with `detail.code` pinned to the codes that `description` names in backticks, so
/// that a client (and Schemathesis) knows every code a response can carry.
fn error_body(description: &str) -> RefOr<Schema> {
    let codes: Vec<&str> = description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| Error::CODES.contains(c))
        .collect();
    if codes.is_empty() {
        return Ref::from_schema_name("ErrorBody").into();
    }
    let code = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes));
    let detail = ObjectBuilder::new().property("code", code);
    AllOfBuilder::new()
        .item(Ref::from_schema_name("ErrorBody"))
        .item(ObjectBuilder::new().property("detail", detail))
        .into()
}

/// Pins the codes of an error response written in a handler's annotation.
fn pin_error_codes(response: &mut Response) {
    let Some(content) = response.content.get_mut("application/json") else {
        return;
    };
    if matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/ErrorBody")) {
        content.schema = Some(error_body(&response.description));
    }
}

fn integer_header(minimum: u8, description: &str) -> Header {
    let schema = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(minimum));
    let mut h = Header::new(schema);
    h.description = Some(description.into());
    h
}

fn with_rate_headers(response: ResponseBuilder) -> ResponseBuilder {
    response
        .header(
            "X-RateLimit-Limit",
            integer_header(1, "Requests allowed in this window."),
        )
        .header(
            "X-RateLimit-Remaining",
            integer_header(0, "Requests left in this window."),
        )
        .header(
            "X-RateLimit-Reset",
            integer_header(1, "Seconds until the window turns."),
        )
}

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("iksk_…")
                    .build(),
            ),
        );
    }
}

/// The operations that create a session, and the links from their 201 to what uses it.
const CREATORS: [&str; 2] = ["create_managed", "create_direct"];

/// What holds across operations: rate-limited routes carry their headers on success, every
/// route that can refuse a request can also fail inside (500), and the session creators link
/// to the routes that take the new session's id and token.
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let responses = &mut op.responses.responses;
                let limited = responses.contains_key("429");
                let refuses = responses.keys().any(|s| s.starts_with('4'));
                for (status, r) in responses.iter_mut() {
                    let RefOr::T(r) = r else { continue };
                    if limited && status.starts_with('2') {
                        let headers = with_rate_headers(ResponseBuilder::new()).build().headers;
                        r.headers.extend(headers);
                    }
                    pin_error_codes(r);
                }
                if refuses {
                    responses.insert(
                        "500".into(),
                        RefOr::Ref(Ref::from_response_name("InternalError")),
                    );
                }
                let creates = op
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| CREATORS.contains(&id));
                if let (true, Some(RefOr::T(created))) = (creates, responses.get_mut("201")) {
                    // Only a keyed session can be erased with the key that created it.
                    let keyed = op.operation_id.as_deref() == Some("create_managed");
                    add_session_links(created, keyed);
                }
                if let Some(form) = op
                    .request_body
                    .as_mut()
                    .and_then(|b| b.content.get_mut("multipart/form-data"))
                {
                    declare_image_parts(form);
                }
            }
        }
    }
}

/// An upload has no parts but its named ones (the server refuses others), and every binary part
/// is an image in one of the formats the server decodes.
fn declare_image_parts(form: &mut Content) {
    let Some(RefOr::T(Schema::Object(schema))) = &mut form.schema else {
        return;
    };
    schema.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
    let binary = |s: &RefOr<Schema>| {
        matches!(s, RefOr::T(Schema::Object(o))
            if o.format == Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
    };
    let images: Vec<String> = schema
        .properties
        .iter()
        .filter(|(_, s)| binary(s))
        .map(|(name, _)| name.clone())
        .collect();
    for name in images {
        let encoding = EncodingBuilder::new()
            .content_type(Some("image/jpeg, image/png, image/webp"))
            .build();
        form.encoding.insert(name, encoding);
    }
}

/// Links from a 201 `SessionCreated` to every route that takes its id (and token); `keyed`:
/// the session was created with an API key, which can also erase it.
fn add_session_links(created: &mut Response, keyed: bool) {
    let id = "$response.body#/session_id";
    let token = "$response.body#/token";
    let with_token = [
        ("result", "result", "The session's status and verdict."),
        ("photo", "photo", "The portrait of a passed session."),
        (
            "compare",
            "session_compare",
            "Compare an image with the face verified in a passed session.",
        ),
    ];
    for (name, operation, description) in with_token {
        let link = LinkBuilder::new()
            .operation_id(operation)
            .parameter("id", id)
            .parameter("token", token)
            .description(description)
            .build();
        created.links.insert(name.into(), link.into());
    }
    let capture = LinkBuilder::new()
        .operation_id("capture")
        .parameter("id", id)
        .description(
            "The capture WebSocket the person's browser opens; its `c` is the `c` query \
             parameter of `session_url` (the page builds the URL from its own location).",
        )
        .build();
    created.links.insert("capture".into(), capture.into());
    if keyed {
        let erase = LinkBuilder::new()
            .operation_id("erase")
            .parameter("id", id)
            .description("Erase the session's data now, with the key that created it.")
            .build();
        created.links.insert("erase".into(), erase.into());
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "OpenAPI 3.1 JSON", content_type = "application/json")))]
async fn openapi_json() -> Json<&'static Value> {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(document);
    Json(&DOCUMENT)
}

/// The document as served.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    camel_case_links(&mut doc);
    doc
}

/// utoipa 5.5 writes a link's fields in snake case (`operation_id`); OpenAPI spells them
/// `operationId`, `operationRef` and `requestBody`, and tools ignore links spelt otherwise.
fn camel_case_links(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut().filter_map(Value::as_object_mut) {
                    for (from, to) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(x) = link.remove(from) {
                            link.insert(to.into(), x);
                        }
                    }
                }
            }
            map.values_mut().for_each(camel_case_links);
        }
        Value::Array(items) => items.iter_mut().for_each(camel_case_links),
        _ => {}
    }
}
