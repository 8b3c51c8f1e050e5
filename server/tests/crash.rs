//! Crash consistency: the real `ilive` binary killed with SIGKILL mid-capture and mid-webhook
//! delivery, again and again at pseudo-random points, and restarted on the same database.
//! Afterwards every capture that started has a stored verdict, every verdict of a managed
//! session is delivered to its webhook at least once and always under one webhook id, and
//! nothing is delivered for a session without a verdict.
mod common;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use app::api::SessionStatus;
use common::{
    capture::face_frame,
    database_url,
    process::{start_receiver, stream, Process},
    PUBLIC_URL,
};
use serde_json::{json, Value};
use server::store::{self, sessions};

/// Kill-and-restart rounds.
const ROUNDS: usize = 8;
/// Managed sessions created per round; all but the last start a capture.
const SESSIONS_PER_ROUND: usize = 3;

/// The server over the database in `dir`, under one replica name: restarted, it knows the
/// captures left open under that name are its own and settles them at once.
async fn start(dir: &std::path::Path) -> Process {
    Process::start(&database_url(dir).await, &["--replica-id", "crash-test"]).await
}

#[tokio::test]
async fn killed_at_any_point_nothing_is_lost_or_delivered_twice_differently() {
    let dir = tempfile::tempdir().unwrap();
    let (deliveries, hook) = start_receiver().await;
    let frame = Arc::new(face_frame());
    let mut seed: u32 = 20_261_203;
    let mut next = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        seed >> 8
    };
    let mut created: Vec<String> = vec![];
    let mut key = None;
    for round in 0..ROUNDS {
        let srv = start(dir.path()).await;
        let key = match &key {
            Some(k) => k,
            None => {
                let db = store::connect(&database_url(dir.path()).await)
                    .await
                    .unwrap();
                let (t, _) = store::tenants::find_or_create(&db, "acme").await.unwrap();
                let (_, k) = store::tenants::create_key(&db, &t.id).await.unwrap();
                db.close().await;
                key.insert(k)
            }
        };
        let client = reqwest::Client::new();
        let mut streams = vec![];
        for i in 0..SESSIONS_PER_ROUND {
            let body = json!({"redirect_url": PUBLIC_URL, "webhook_url": hook, "mode": "passive"});
            let r = client
                .post(format!("{}/api/v1/managed-session", srv.base))
                .bearer_auth(key.as_str())
                .json(&body)
                .send()
                .await
                .unwrap();
            let session: Value = r.json().await.unwrap();
            created.push(session["session_id"].as_str().unwrap().to_owned());
            if i + 1 < SESSIONS_PER_ROUND {
                let cancel_after = Duration::from_millis(u64::from(200 + next() % 3_000));
                streams.push(tokio::spawn(stream(
                    srv.base.clone(),
                    session,
                    frame.clone(),
                    cancel_after,
                )));
            }
        }
        if round % 2 == 1 {
            // Kill while a webhook request waits for its answer.
            let arrived = deliveries.arrived.notified();
            let _ = tokio::time::timeout(Duration::from_secs(5), arrived).await;
        } else {
            // Kill at a point between 0.3 s (captures just started) and 4 s (verdicts
            // stored, webhooks queued, in flight or delivered).
            let wait = 300 + next() % 3_700;
            tokio::time::sleep(Duration::from_millis(u64::from(wait))).await;
        }
        srv.kill();
        for s in streams {
            s.abort();
        }
    }

    // A last start settles what the kills left open and delivers what is queued.
    let srv = start(dir.path()).await;
    let db = store::connect(&database_url(dir.path()).await)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (completed, open) = loop {
        let mut completed = vec![];
        let mut open = vec![];
        for id in &created {
            let s = sessions::get(&db, id).await.unwrap().unwrap();
            match s.status {
                SessionStatus::Completed => completed.push(id.clone()),
                SessionStatus::InProgress => open.push(id.clone()),
                _ => {}
            }
        }
        let delivered = deliveries.sessions();
        let all_delivered = completed.iter().all(|id| delivered.contains(id));
        if (open.is_empty() && all_delivered) || Instant::now() > deadline {
            break (completed, open);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    srv.kill();

    let mut interrupted = 0;
    for id in &completed {
        let s = sessions::get(&db, id).await.unwrap().unwrap();
        if s.result_json
            .unwrap_or_default()
            .contains("\"interrupted\"")
        {
            interrupted += 1;
        }
    }
    eprintln!(
        "{ROUNDS} kills: {} sessions, {} with a verdict ({interrupted} settled as interrupted \
         after a kill), {} webhook requests for them",
        created.len(),
        completed.len(),
        deliveries.got.lock().unwrap().len()
    );
    assert!(open.is_empty(), "captures left without a verdict: {open:?}");
    assert!(!completed.is_empty(), "no capture was ever started");
    let got = deliveries.got.lock().unwrap().clone();
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    for (session, webhook) in &got {
        assert!(
            completed.contains(session),
            "a webhook for {session}, which has no verdict"
        );
        ids.entry(session.clone())
            .or_default()
            .push(webhook.clone());
    }
    for id in &completed {
        let seen = ids.get(id).unwrap_or_else(|| panic!("no webhook for {id}"));
        assert!(
            seen.iter().all(|w| w == &seen[0]),
            "{id} was delivered under several webhook ids: {seen:?}"
        );
    }
}
