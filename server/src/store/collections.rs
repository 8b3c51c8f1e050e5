//! Face collections and their enrolled faces (docs/api.md, "Collections"). Each collection
//! belongs to one owner (a tenant's id, or `legacy`), and every query here filters on it: a
//! tenant can neither see nor touch another's collections, whose names may be the same.
//!
//! A face is its descriptor (little-endian `f32`s) and the integrator's external id, never the
//! image. `generation` changes with every enrolment and deletion, so that a search can tell
//! whether the vectors it holds in memory (`crate::faces::collections`) are still the stored
//! ones without reading them again.
use sqlx::FromRow;
use tracing::instrument;

use super::{now, on_db, Db, Error, Result};

/// A collection as stored.
#[derive(Debug, Clone, FromRow)]
pub struct Collection {
    pub id: String,
    pub owner: String,
    /// The integrator's `collection_id`.
    pub name: String,
    pub description: Option<String>,
    /// The descriptor its vectors come from (`crate::faces::DESCRIPTOR`).
    pub descriptor: String,
    pub face_count: i64,
    pub generation: i64,
    pub created_at: i64,
}

/// An enrolled face, without its descriptor (for listings).
#[derive(Debug, Clone, FromRow)]
pub struct FaceRecord {
    pub id: String,
    pub external_id: Option<String>,
    pub created_at: i64,
}

/// A collection's descriptors, read for a search at one generation.
#[derive(Debug, Clone, Default)]
pub struct Vectors {
    pub generation: i64,
    /// `(face_id, external_id)` per face, in the order of `values`.
    pub faces: Vec<(String, Option<String>)>,
    /// The descriptors one after another, `dim` values each.
    pub values: Vec<f32>,
}

const COLUMNS: &str =
    "id, owner, name, description, descriptor, face_count, generation, created_at";

/// Creates a collection; [`Error::Exists`] when the owner already has one of that name.
#[instrument(skip_all, err)]
pub async fn create(
    db: &Db,
    owner: &str,
    name: &str,
    description: Option<&str>,
    descriptor: &str,
) -> Result<Collection> {
    let c = Collection {
        id: uuid::Uuid::new_v4().to_string(),
        owner: owner.to_owned(),
        name: name.to_owned(),
        description: description.map(str::to_owned),
        descriptor: descriptor.to_owned(),
        face_count: 0,
        generation: 0,
        created_at: now(),
    };
    let inserted = on_db!(db, pool => sqlx::query(
        "INSERT INTO collections (id, owner, name, description, descriptor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, name) DO NOTHING",
    )
    .bind(&c.id)
    .bind(&c.owner)
    .bind(&c.name)
    .bind(&c.description)
    .bind(&c.descriptor)
    .bind(c.created_at)
    .execute(pool)
    .await?
    .rows_affected());
    if inserted == 0 {
        return Err(Error::Exists);
    }
    Ok(c)
}

/// The owner's collection called `name`.
#[instrument(skip_all, err)]
pub async fn find(db: &Db, owner: &str, name: &str) -> Result<Option<Collection>> {
    let sql = format!("SELECT {COLUMNS} FROM collections WHERE owner = $1 AND name = $2");
    Ok(on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(name)
        .fetch_optional(pool)
        .await?))
}

/// The owner's collections, by name in byte order (sorted here: PostgreSQL's `ORDER BY` follows
/// the database's locale, SQLite's the bytes, and both stores must list alike).
#[instrument(skip_all, err)]
pub async fn list(db: &Db, owner: &str) -> Result<Vec<Collection>> {
    let sql = format!("SELECT {COLUMNS} FROM collections WHERE owner = $1");
    let mut found: Vec<Collection> = on_db!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .fetch_all(pool)
        .await?);
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// Deletes the owner's collection `name` with all its faces (the faces' foreign key cascades);
/// whether there was one. One statement: a read-then-write transaction could meet another
/// writer's commit between the two, which SQLite's WAL answers with an immediate busy error.
#[instrument(skip_all, err)]
pub async fn delete(db: &Db, owner: &str, name: &str) -> Result<bool> {
    let gone = on_db!(db, pool => sqlx::query("DELETE FROM collections WHERE owner = $1 AND name = $2")
        .bind(owner)
        .bind(name)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(gone == 1)
}

/// Enrols a face in the collection with internal id `collection`, unless it already holds
/// `max_faces` ([`Error::Full`]) or was deleted meanwhile ([`Error::NotFound`]). Returns the
/// face as listed and the collection's generation that this enrolment made.
#[instrument(skip_all, err)]
pub async fn add_face(
    db: &Db,
    collection: &str,
    external_id: Option<&str>,
    descriptor: &[f32],
    max_faces: i64,
) -> Result<(FaceRecord, i64)> {
    let face = FaceRecord {
        id: uuid::Uuid::new_v4().to_string(),
        external_id: external_id.map(str::to_owned),
        created_at: now(),
    };
    let bytes: Vec<u8> = descriptor.iter().flat_map(|v| v.to_le_bytes()).collect();
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        // The count is checked and raised in one statement, which also takes the row's write
        // lock: concurrent enrolments cannot overshoot the cap.
        let counted: Option<(i64,)> = sqlx::query_as(
            "UPDATE collections SET face_count = face_count + 1, generation = generation + 1 \
             WHERE id = $1 AND face_count < $2 RETURNING generation",
        )
        .bind(collection)
        .bind(max_faces)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((generation,)) = counted else {
            let exists: Option<(i64,)> =
                sqlx::query_as("SELECT face_count FROM collections WHERE id = $1")
                    .bind(collection)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match exists {
                Some(_) => Error::Full(max_faces),
                None => Error::NotFound,
            });
        };
        sqlx::query(
            "INSERT INTO collection_faces (id, collection_id, external_id, embedding, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&face.id)
        .bind(collection)
        .bind(&face.external_id)
        .bind(&bytes)
        .bind(face.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((face, generation))
    })
}

/// Deletes one face of a collection; whether it was there.
#[instrument(skip_all, err)]
pub async fn delete_face(db: &Db, collection: &str, face_id: &str) -> Result<bool> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let gone = sqlx::query("DELETE FROM collection_faces WHERE id = $1 AND collection_id = $2")
            .bind(face_id)
            .bind(collection)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 1 {
            sqlx::query(
                "UPDATE collections SET face_count = face_count - 1, generation = generation + 1 \
                 WHERE id = $1",
            )
            .bind(collection)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(gone == 1)
    })
}

/// One page of a collection's faces, in face-id order, after the face id `after`.
#[instrument(skip_all, err)]
pub async fn faces(
    db: &Db,
    collection: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<FaceRecord>> {
    Ok(on_db!(db, pool => sqlx::query_as(
        "SELECT id, external_id, created_at FROM collection_faces \
         WHERE collection_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(collection)
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await?))
}

/// The collection's generation now (`None`: it was deleted).
#[instrument(skip_all, err)]
pub async fn generation(db: &Db, collection: &str) -> Result<Option<i64>> {
    let row: Option<(i64,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT generation FROM collections WHERE id = $1",
    )
    .bind(collection)
    .fetch_optional(pool)
    .await?);
    Ok(row.map(|(g,)| g))
}

/// Every descriptor of a collection, each `dim` values long. The generation is read first: a
/// face enrolled between the two reads is included under the older generation, so the next
/// search sees a newer one and reads again — a cached copy is never newer than its label says
/// and never silently stale.
#[instrument(skip_all, err)]
pub async fn vectors(db: &Db, collection: &str, dim: usize) -> Result<Option<Vectors>> {
    let Some(generation) = self::generation(db, collection).await? else {
        return Ok(None);
    };
    let rows: Vec<(String, Option<String>, Vec<u8>)> = on_db!(db, pool => sqlx::query_as(
        "SELECT id, external_id, embedding FROM collection_faces WHERE collection_id = $1",
    )
    .bind(collection)
    .fetch_all(pool)
    .await?);
    let mut out = Vectors {
        generation,
        faces: Vec::with_capacity(rows.len()),
        values: Vec::with_capacity(rows.len() * dim),
    };
    for (id, external_id, bytes) in rows {
        if bytes.len() != dim * 4 {
            return Err(Error::Invalid(format!(
                "face {id} holds a descriptor of {} values, not {dim}",
                bytes.len() / 4
            )));
        }
        out.values.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        out.faces.push((id, external_id));
    }
    Ok(Some(out))
}
