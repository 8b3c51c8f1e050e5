-- Face collections, as ../sqlite/0004_collections.sql (the reference): a tenant's named sets of
-- enrolled faces, searched 1:N; only descriptors and external ids are kept, never images.
CREATE TABLE collections (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    descriptor  TEXT NOT NULL,
    face_count  BIGINT NOT NULL DEFAULT 0,
    generation  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE (owner, name)
);

CREATE TABLE collection_faces (
    id            TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    external_id   TEXT,
    embedding     BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX collection_faces_by_collection ON collection_faces(collection_id, id);
