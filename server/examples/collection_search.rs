//! The collections' search latency at 10,000 and 100,000 enrolled faces, on SQLite and (with
//! `ILIVE_TEST_POSTGRES=postgres://USER@HOST:PORT`) on PostgreSQL: what a replica pays to read a
//! collection's descriptors after a change (cold), and per search once it holds them (warm: the
//! generation check plus the exact scan). The probe's own face detection and descriptor (one
//! image through the networks) come on top and do not depend on the collection's size.
//!
//! `cargo run --release -p server --example collection_search -- [FACES...]`
//!
//! Descriptors are random unit vectors: the scan's cost depends only on how many there are.
use std::time::{Duration, Instant};

use rand::{rngs::StdRng, Rng, SeedableRng};
use server::{
    faces::collections::{duplicates, search, Indexes, DIM, DUPLICATES_MAX_FACES},
    store::{self, collections},
};

fn unit(rng: &mut StdRng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(db: &store::Db, faces: usize) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(faces as u64);
    let name = format!("bench-{faces}");
    let c = collections::create(db, "bench", &name, None, server::faces::DESCRIPTOR).await?;
    let start = Instant::now();
    for i in 0..faces {
        let id = format!("person-{i}");
        collections::add_face(db, &c.id, Some(&id), &unit(&mut rng), faces as i64).await?;
    }
    let enrol = start.elapsed();

    let indexes = Indexes::new(1 << 30);
    let start = Instant::now();
    indexes
        .current(db, &c.id)
        .await?
        .expect("the collection exists");
    let cold = start.elapsed();

    let mut warm = Vec::new();
    let mut scans = Vec::new();
    for _ in 0..50 {
        let probe = unit(&mut rng);
        let start = Instant::now();
        let v = indexes
            .current(db, &c.id)
            .await?
            .expect("the collection exists");
        let checked = start.elapsed();
        let hits = search(&v, &probe, 0.5, 10);
        std::hint::black_box(hits);
        warm.push(ms(start.elapsed()));
        scans.push(ms(start.elapsed() - checked));
    }
    // After a change, eight searches at once: they share one read of the collection.
    collections::add_face(db, &c.id, None, &unit(&mut rng), faces as i64 + 1).await?;
    let start = Instant::now();
    let reads = (0..8).map(|_| indexes.current(db, &c.id));
    for read in futures_util::future::join_all(reads).await {
        read?.expect("the collection exists");
    }
    let cold8 = start.elapsed();
    // All pairs, where the route allows it.
    let pairs = if faces <= DUPLICATES_MAX_FACES {
        let v = indexes
            .current(db, &c.id)
            .await?
            .expect("the collection exists");
        let start = Instant::now();
        std::hint::black_box(duplicates(&v, 0.9, 100));
        format!("{:.0}", ms(start.elapsed()))
    } else {
        "—".to_owned()
    };
    warm.sort_by(f64::total_cmp);
    scans.sort_by(f64::total_cmp);
    println!(
        "| {} | {faces} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {pairs} |",
        db.kind(),
        faces as f64 / enrol.as_secs_f64(),
        ms(cold),
        ms(cold8),
        percentile(&scans, 0.5),
        percentile(&warm, 0.5),
        percentile(&warm, 0.99),
    );
    collections::delete(db, "bench", &name).await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let parsed: Result<Vec<usize>, _> = std::env::args().skip(1).map(|a| a.parse()).collect();
    let sizes = match parsed {
        Ok(v) if !v.is_empty() => v,
        _ => vec![DUPLICATES_MAX_FACES, 10_000, 100_000],
    };
    let dir = tempfile::tempdir()?;
    let mut stores = vec![format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    )];
    if let Ok(base) = std::env::var("ILIVE_TEST_POSTGRES") {
        use sqlx::Connection;
        let base = base.trim_end_matches('/').to_owned();
        let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres")).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await?;
        stores.push(format!("{base}/{name}"));
    }
    println!("| store | faces | enrolments/s (one at a time) | cold read ms | 8 at once after a change ms | scan p50 ms | warm search p50 ms | p99 ms | duplicates ms |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for url in &stores {
        let db = store::connect(url).await?;
        for &n in &sizes {
            measure(&db, n).await?;
        }
        db.close().await;
    }
    Ok(())
}
