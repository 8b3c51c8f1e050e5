//! REST bodies of the collection routes (docs/api.md, "Collections"): a tenant's named sets of
//! enrolled faces, searched 1:N and checked for duplicates. Only descriptors and external ids are
//! kept, never images.
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

use super::{FaceBoundingBox, OperatingPoint};

/// What a `collection_id` may be: letters, digits, `.`, `_` and `-`, 1 to 64 of them, the first
/// a letter or digit (so that `.` and `..`, which HTTP clients drop from a path, cannot be one).
pub const COLLECTION_ID_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
/// Longest `external_id` and `description`, in characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// Whether `id` is a valid `collection_id` ([`COLLECTION_ID_PATTERN`]).
pub fn valid_collection_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `POST /api/v2/collections` request. Unknown fields are refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateCollectionRequest {
    /// The name the collection is known by, unique per tenant.
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    )]
    pub collection_id: String,
    /// Free text, at most 128 characters, without U+0000.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 128, pattern = r"^[^\u0000]*$"))]
    pub description: Option<String>,
}

/// `POST /api/v2/collections/{collection_id}/faces:fromSession` request: enrol the face verified
/// in a managed session of the same tenant that passed. Unknown fields are refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrolSessionRequest {
    /// The session's `session_id`.
    #[cfg_attr(feature = "ssr", schema(format = Uuid))]
    pub session_id: String,
    /// The session's result token (`token` at creation).
    #[cfg_attr(feature = "ssr", schema(pattern = r"^[0-9a-f]{64}$"))]
    pub session_token: String,
    /// The integrator's id for the person (at most 128 characters, without U+0000).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 128, pattern = r"^[^\u0000]*$"))]
    pub external_id: Option<String>,
    /// For `matches`, as in `faces:compare`; a raw threshold wins over `operating_point`.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0.0, maximum = 1.0))]
    pub threshold: Option<f64>,
    /// For `matches`, as in `faces:compare`; absent or `null`: `fmr_1e-3`. Read as text so that an
    /// unknown name is `invalid_operating_point`, as on every route that takes one.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<OperatingPoint>))]
    pub operating_point: Option<String>,
}

/// A collection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Collection {
    pub collection_id: String,
    pub description: Option<String>,
    /// How many faces are enrolled.
    pub face_count: u64,
    /// The face descriptor its faces were enrolled with.
    pub descriptor: String,
    /// RFC 3339.
    pub created_at: String,
}

/// `GET /api/v2/collections`: the tenant's collections, by `collection_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CollectionList {
    pub collections: Vec<Collection>,
}

/// An enrolled face: its descriptor is stored, never the image.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct EnrolledFace {
    pub face_id: String,
    /// The integrator's own id for the person, as enrolled.
    pub external_id: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// A face of the collection like the one searched or enrolled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct FaceMatch {
    pub face_id: String,
    pub external_id: Option<String>,
    /// As `faces:compare`'s similarity, 4 decimals.
    pub similarity: f64,
}

/// `POST /api/v2/collections/{collection_id}/faces`: the face enrolled, and the faces already
/// enrolled that match it (to find a person enrolled twice).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct EnrolResponse {
    pub face: EnrolledFace,
    /// The face enrolled: the largest in the image (or in the session's photo).
    pub bounding_box: FaceBoundingBox,
    /// Faces enrolled before that match it at `threshold`, best first (at most 10).
    pub matches: Vec<FaceMatch>,
    pub threshold: f64,
    /// `null` when the request gave a raw `threshold`.
    pub operating_point: Option<OperatingPoint>,
}

/// `GET /api/v2/collections/{collection_id}/faces`: one page of faces, in `face_id` order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct FaceList {
    pub faces: Vec<EnrolledFace>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// `POST /api/v2/collections/{collection_id}/faces:search`: the enrolled faces that match the
/// largest face of the image.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SearchResponse {
    /// Best first, each at least `threshold`, at most `max_results`.
    pub matches: Vec<FaceMatch>,
    pub threshold: f64,
    /// `null` when the request gave a raw `threshold`.
    pub operating_point: Option<OperatingPoint>,
    /// The face searched for: the largest in the image.
    pub searched_face: FaceBoundingBox,
    /// How many faces were searched.
    pub face_count: u64,
}

/// Two faces of a collection that match each other.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DuplicatePair {
    pub first: FaceMatchRef,
    pub second: FaceMatchRef,
    pub similarity: f64,
}

/// A face named in a [`DuplicatePair`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct FaceMatchRef {
    pub face_id: String,
    pub external_id: Option<String>,
}

/// `GET /api/v2/collections/{collection_id}/duplicates`: pairs of enrolled faces that match,
/// most alike first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DuplicatesResponse {
    pub pairs: Vec<DuplicatePair>,
    /// More pairs matched than `max_results`.
    pub truncated: bool,
    pub threshold: f64,
    pub operating_point: Option<OperatingPoint>,
    pub face_count: u64,
}
