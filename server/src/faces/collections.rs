//! 1:N search over a collection's enrolled faces (docs/api.md, "Collections"): an exact scan of
//! the descriptors, held in memory per replica and checked against the stored generation before
//! each search, and the all-pairs scan that finds duplicates.
//!
//! Exact rather than approximate: the scan is one dot product per enrolled face (512-d
//! MobileFaceNet descriptors), milliseconds for 100,000 faces on one core (`cargo run --release
//! -p server --example collection_search`; docs/api.md, "Collections"), and it never misses a
//! match that an approximate index would have ranked away. PostgreSQL's vector extension is not in
//! Debian 12's packages, so both stores use the same scan.
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Instant,
};

use super::{distance, similarity};
use crate::store::{self, collections::Vectors, Db};

/// Descriptor values per face.
pub const DIM: usize = models::nets::mobilefacenet::DIM;

/// The most faces [`duplicates`] compares all pairs of: 12.5 million pairs, seconds of one core
/// (docs/api.md, "Collections").
pub const DUPLICATES_MAX_FACES: usize = 5_000;

/// One face found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Its index in the searched [`Vectors`].
    pub index: usize,
    /// The similarity the API reports (as `faces:compare`'s).
    pub similarity: f64,
}

/// The collections' descriptors held in memory, least recently used dropped first once they
/// take more than the budget. Each entry is checked against the collection's stored
/// generation before use, so enrolments and deletions made through any replica are seen by the
/// next search.
pub struct Indexes {
    budget_bytes: usize,
    held: Mutex<HashMap<String, (Arc<Vectors>, Instant)>>,
    /// One gate per collection being read: the requests that find the held copy out of date
    /// wait for one read of the whole collection instead of each making its own (hundreds of
    /// megabytes in flight each at 100,000 faces).
    reading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Collections read whole from the store, since start-up ([`Indexes::reads`]).
    reads: AtomicU64,
    /// The one all-pairs scan a replica runs at a time ([`Indexes::find_duplicates`]).
    scans: Arc<tokio::sync::Semaphore>,
}

impl Indexes {
    pub fn new(budget_bytes: usize) -> Self {
        Indexes {
            budget_bytes,
            held: Mutex::new(HashMap::new()),
            reading: Mutex::new(HashMap::new()),
            reads: AtomicU64::new(0),
            scans: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    /// How many times a collection was read whole from the store since start-up: once per
    /// change seen, however many requests were waiting for it.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// [`duplicates`] of `vectors`, one scan at a time per replica, on a blocking thread beside
    /// the inference pool: seconds of one core that must not hold up the workers the live
    /// captures' frames wait for. The permit goes with the scan, so a client that hangs up
    /// cannot start a second one beside it.
    pub async fn find_duplicates(
        &self,
        vectors: Arc<Vectors>,
        threshold: f64,
        max: usize,
    ) -> anyhow::Result<(Vec<(usize, usize, f64)>, bool)> {
        let scan = self.scans.clone().acquire_owned().await?;
        Ok(tokio::task::spawn_blocking(move || {
            let _scan = scan;
            duplicates(&vectors, threshold, max)
        })
        .await?)
    }

    /// The descriptors of the collection with internal id `collection`, as stored now; `None`
    /// once it has been deleted.
    pub async fn current(&self, db: &Db, collection: &str) -> store::Result<Option<Arc<Vectors>>> {
        let Some(generation) = store::collections::generation(db, collection).await? else {
            self.lock().remove(collection);
            lock(&self.reading).remove(collection);
            return Ok(None);
        };
        if let Some(held) = self.held_since(collection, generation) {
            return Ok(Some(held));
        }
        let gate = self.gate(collection);
        let _reading = gate.lock().await;
        // Whoever held the gate before may have read it meanwhile.
        if let Some(held) = self.held_since(collection, generation) {
            return Ok(Some(held));
        }
        let Some(read) = store::collections::vectors(db, collection, DIM).await? else {
            return Ok(None);
        };
        self.reads.fetch_add(1, Ordering::Relaxed);
        let read = Arc::new(read);
        self.keep(collection, read.clone());
        Ok(Some(read))
    }

    /// The held copy of `collection` if it is at `generation` or later.
    fn held_since(&self, collection: &str, generation: i64) -> Option<Arc<Vectors>> {
        let mut held = self.lock();
        let (copy, used) = held.get_mut(collection)?;
        (copy.generation >= generation).then(|| {
            *used = Instant::now();
            copy.clone()
        })
    }

    /// Adds the face an enrolment just stored (`face_id`, `external_id`, `descriptor`) to the
    /// held copy of `collection` when this enrolment is the only change since that copy was read
    /// (its generation is `generation − 1`), so that loading a collection one face at a time
    /// does not read it whole after every face. Otherwise the next use reads it, as after any
    /// change made elsewhere. Done behind the collection's gate, with the copy out of the map:
    /// requests for this collection wait for it as for a read, and no other collection's
    /// lookups wait while a copy that a search still holds is duplicated.
    pub async fn enrolled(
        &self,
        collection: &str,
        generation: i64,
        face_id: &str,
        external_id: Option<&str>,
        descriptor: &[f32],
    ) {
        if descriptor.len() != DIM {
            return;
        }
        let gate = self.gate(collection);
        let _changing = gate.lock().await;
        let taken = {
            let mut held = self.lock();
            match held.get(collection) {
                Some((copy, _)) if copy.generation + 1 == generation => held.remove(collection),
                _ => None,
            }
        };
        let Some((copy, _)) = taken else {
            return;
        };
        // In place when no search holds the copy; otherwise those searches keep the old one.
        let mut copy = Arc::unwrap_or_clone(copy);
        // A copy read while this face was being committed may hold it already (its generation
        // is read before its faces).
        if !copy.faces.iter().any(|(id, _)| id == face_id) {
            copy.values.extend_from_slice(descriptor);
            copy.faces
                .push((face_id.to_owned(), external_id.map(str::to_owned)));
        }
        copy.generation = generation;
        self.keep(collection, Arc::new(copy));
    }

    /// Holds `copy` for `collection` unless the one held is newer.
    fn keep(&self, collection: &str, copy: Arc<Vectors>) {
        let mut held = self.lock();
        if held
            .get(collection)
            .is_none_or(|(old, _)| old.generation <= copy.generation)
        {
            held.insert(collection.to_owned(), (copy, Instant::now()));
            self.evict(&mut held, collection);
        }
    }

    /// The gate of `collection`'s reads and in-place changes.
    fn gate(&self, collection: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.reading)
            .entry(collection.to_owned())
            .or_default()
            .clone()
    }

    /// Drops the least recently used collections (never `keep`) until the rest fit the budget.
    fn evict(&self, held: &mut HashMap<String, (Arc<Vectors>, Instant)>, keep: &str) {
        let size = |v: &Vectors| v.values.len() * 4 + v.faces.len() * 96;
        let mut total: usize = held.values().map(|(v, _)| size(v)).sum();
        while total > self.budget_bytes {
            let Some(oldest) = held
                .iter()
                .filter(|(id, _)| id.as_str() != keep)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            if let Some((v, _)) = held.remove(&oldest) {
                total -= size(&v);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<Vectors>, Instant)>> {
        lock(&self.held)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps hold no invariant a panicking holder could break: keep using them.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The farthest distance whose similarity, rounded to four decimals as the API reports it, can
/// still reach `threshold`: the scans compare distances and keep the few within it, whose
/// rounded similarities then decide. Rounding lifts similarities by up to 5e-5, which near a
/// threshold of 1 (or 0) is a long way in distance, so the cut is taken that much lower.
fn reach(threshold: f64) -> f32 {
    similarity::distance_at(threshold - 5e-5) as f32 + 1e-4
}

/// The faces of `vectors` whose similarity to `probe` is at least `threshold`, best first, at
/// most `max`.
pub fn search(vectors: &Vectors, probe: &[f32], threshold: f64, max: usize) -> Vec<Hit> {
    let reach = reach(threshold);
    let mut near: Vec<(usize, f32)> = vectors
        .values
        .chunks_exact(DIM)
        .enumerate()
        .filter_map(|(i, v)| {
            let d = distance(probe, v);
            (d <= reach).then_some((i, d))
        })
        .collect();
    near.sort_by(|a, b| a.1.total_cmp(&b.1));
    near.into_iter()
        .map(|(index, d)| Hit {
            index,
            similarity: similarity::similarity(d),
        })
        .filter(|h| h.similarity >= threshold)
        .take(max)
        .collect()
}

/// Pairs of faces of `vectors` at least `threshold` alike, most alike first, at most `max`; and
/// whether more pairs were found than returned.
pub fn duplicates(
    vectors: &Vectors,
    threshold: f64,
    max: usize,
) -> (Vec<(usize, usize, f64)>, bool) {
    let reach = reach(threshold);
    let rows: Vec<&[f32]> = vectors.values.chunks_exact(DIM).collect();
    let mut pairs = Vec::new();
    for (i, a) in rows.iter().enumerate() {
        for (j, b) in rows.iter().enumerate().skip(i + 1) {
            let d = distance(a, b);
            if d <= reach {
                let s = similarity::similarity(d);
                if s >= threshold {
                    pairs.push((i, j, s));
                }
            }
        }
    }
    pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    let more = pairs.len() > max;
    pairs.truncate(max);
    (pairs, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit-length descriptor pointing mostly along axis `axis`, nudged by `nudge` on the next.
    fn descriptor(axis: usize, nudge: f32) -> Vec<f32> {
        let mut v = vec![0.0; DIM];
        v[axis] = 1.0;
        v[(axis + 1) % DIM] = nudge;
        let n = (1.0 + nudge * nudge).sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn vectors(descriptors: &[Vec<f32>]) -> Vectors {
        Vectors {
            generation: 1,
            faces: (0..descriptors.len())
                .map(|i| (format!("f{i}"), None))
                .collect(),
            values: descriptors.concat(),
        }
    }

    #[tokio::test]
    async fn an_enrolment_extends_the_held_copy_only_when_it_is_the_only_change() {
        let indexes = Indexes::new(1 << 20);
        let held = Arc::new(vectors(&[descriptor(0, 0.0)]));
        indexes
            .lock()
            .insert("c".into(), (held.clone(), Instant::now()));
        let copy = || indexes.lock().get("c").unwrap().0.clone();

        // Generation 2 follows the copy's 1: the face joins it, and the old copy, still held by
        // a search, is left as it was.
        indexes
            .enrolled("c", 2, "f1", Some("bob"), &descriptor(3, 0.0))
            .await;
        assert_eq!((copy().generation, copy().faces.len()), (2, 2));
        assert_eq!(copy().faces[1], ("f1".into(), Some("bob".into())));
        assert_eq!(&copy().values[DIM..], descriptor(3, 0.0).as_slice());
        assert_eq!((held.generation, held.faces.len()), (1, 1));
        // The same face again (a copy read while it was committed holds it): not twice.
        indexes.lock().get_mut("c").unwrap().0 = Arc::new(Vectors {
            generation: 2,
            ..(*copy()).clone()
        });
        indexes
            .enrolled("c", 3, "f1", Some("bob"), &descriptor(3, 0.0))
            .await;
        assert_eq!((copy().generation, copy().faces.len()), (3, 2));
        // A gap (another replica's change came between): the copy is left for the next read.
        indexes
            .enrolled("c", 5, "f2", None, &descriptor(4, 0.0))
            .await;
        assert_eq!((copy().generation, copy().faces.len()), (3, 2));
        // A collection not held: nothing to do.
        indexes
            .enrolled("other", 1, "f3", None, &descriptor(4, 0.0))
            .await;
        assert!(indexes.lock().get("other").is_none());
    }

    #[tokio::test]
    async fn requests_that_find_the_copy_out_of_date_share_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let db = store::connect(&url).await.unwrap();
        let c = store::collections::create(&db, "t", "c", None, crate::faces::DESCRIPTOR)
            .await
            .unwrap();
        let add = |axis| {
            let (db, id) = (&db, &c.id);
            async move {
                store::collections::add_face(db, id, None, &descriptor(axis, 0.0), 10)
                    .await
                    .unwrap()
            }
        };
        add(0).await;
        let indexes = Indexes::new(1 << 20);
        let current = || indexes.current(&db, &c.id);
        assert_eq!(current().await.unwrap().unwrap().faces.len(), 1);
        assert_eq!(indexes.reads(), 1);
        // Another replica's enrolment: eight requests at once find the copy a face behind.
        add(1).await;
        let all = futures_util::future::join_all((0..8).map(|_| current())).await;
        assert!(all
            .iter()
            .all(|v| v.as_ref().unwrap().as_ref().unwrap().faces.len() == 2));
        assert_eq!(indexes.reads(), 2, "one read for the eight");
        // This replica's own enrolment joins the copy in place: no read.
        let (face, generation) = add(2).await;
        indexes
            .enrolled(&c.id, generation, &face.id, None, &descriptor(2, 0.0))
            .await;
        assert_eq!(current().await.unwrap().unwrap().faces.len(), 3);
        assert_eq!(indexes.reads(), 2);
    }

    #[test]
    fn a_threshold_of_one_still_finds_what_rounds_to_one() {
        // The same descriptor: distance 0, similarity 1 once rounded as the API reports it.
        let v = vectors(&[descriptor(0, 0.0), descriptor(0, 0.0), descriptor(7, 0.0)]);
        let hits = search(&v, &descriptor(0, 0.0), 1.0, 10);
        assert_eq!(hits.iter().map(|h| h.index).collect::<Vec<_>>(), [0, 1]);
        assert!(hits.iter().all(|h| h.similarity == 1.0));
        let (pairs, more) = duplicates(&v, 1.0, 10);
        assert_eq!((pairs.len(), more), (1, false));
        // And a threshold of 0 takes every face, however far.
        assert_eq!(search(&v, &descriptor(0, 0.0), 0.0, 10).len(), 3);
    }

    #[test]
    fn search_ranks_by_similarity_and_keeps_only_matches() {
        // Faces 0 and 2 are near the probe (cosine distances ≈ 0.005 and 0.29), face 1 is
        // unrelated (1).
        let v = vectors(&[descriptor(0, 0.1), descriptor(5, 0.0), descriptor(0, 1.0)]);
        let probe = descriptor(0, 0.0);
        let hits = search(&v, &probe, 0.9, 10);
        assert_eq!(hits.iter().map(|h| h.index).collect::<Vec<_>>(), [0, 2]);
        assert!(hits[0].similarity > hits[1].similarity);
        assert_eq!(search(&v, &probe, 0.9, 1).len(), 1, "at most `max`");
        // The reported similarity is the one `faces:compare` gives for the same distance.
        let d = distance(&probe, &v.values[..DIM]);
        assert_eq!(hits[0].similarity, similarity::similarity(d));
        // A probe like none of them finds nothing.
        assert!(search(&v, &descriptor(40, 0.0), 0.5, 10).is_empty());
    }

    #[test]
    fn duplicates_are_each_pair_once_most_alike_first() {
        // Distances: 2–3 ≈ 0.03, 0–3 ≈ 0.14, 0–2 ≈ 0.29; face 1 is unrelated to all.
        let v = vectors(&[
            descriptor(0, 0.0),
            descriptor(9, 0.0),
            descriptor(0, 1.0),
            descriptor(0, 0.6),
        ]);
        let (pairs, more) = duplicates(&v, 0.9, 10);
        let found: Vec<(usize, usize)> = pairs.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(found, [(2, 3), (0, 3), (0, 2)], "{pairs:?}");
        assert!(!more);
        let (first, more) = duplicates(&v, 0.9, 1);
        assert_eq!((first[0].0, first[0].1, more), (2, 3, true));
    }
}
