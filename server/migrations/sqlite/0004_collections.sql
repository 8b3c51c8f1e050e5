-- Face collections (docs/api.md, "Collections"): a tenant's named sets of enrolled faces, searched
-- 1:N. Only the descriptor and the integrator's external id are kept, never the image.
-- `owner` is the tenant's id, or 'legacy' for the configuration's global key, so that every query
-- can filter on it and each tenant sees only its own collections.
CREATE TABLE collections (
    id          TEXT PRIMARY KEY,             -- internal id (UUID)
    owner       TEXT NOT NULL,
    name        TEXT NOT NULL,                -- the integrator's `collection_id`
    description TEXT,
    descriptor  TEXT NOT NULL,                -- which face descriptor the vectors come from
    face_count  INTEGER NOT NULL DEFAULT 0,
    generation  INTEGER NOT NULL DEFAULT 0,   -- bumped by every enrolment and deletion
    created_at  INTEGER NOT NULL,
    UNIQUE (owner, name)
);

CREATE TABLE collection_faces (
    id            TEXT PRIMARY KEY,           -- the `face_id` (UUID)
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    external_id   TEXT,
    embedding     BLOB NOT NULL,              -- little-endian f32s
    created_at    INTEGER NOT NULL
);
CREATE INDEX collection_faces_by_collection ON collection_faces(collection_id, id);
