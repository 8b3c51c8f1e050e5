//! The way back: every page that ends a managed session without a verdict to show — a used
//! link, an expired link (before and after the sweeper made it a tombstone), a capture that
//! stopped — carries the integrator's `redirect_url` with `session_id` and `status`, rendered
//! by the server (the browser tests click it). Never for a direct session, and never to a
//! visitor without the link's own secret.
mod common;

use common::{capture::id_and_capture, holder, TestServer, PUBLIC_URL};

use serde_json::json;
use server::store::sessions;

/// The session page's HTML for `id` with the capture secret `capture`.
async fn page(srv: &TestServer, id: &str, capture: &str) -> String {
    let r = reqwest::get(srv.url(&format!("/session/{id}?c={capture}")))
        .await
        .unwrap();
    assert!(r.status().is_success());
    r.text().await.unwrap()
}

/// Whether `html` carries the way back for `id` with `status` (as a link, or in the page's
/// hydration data for the screens the browser draws later; `&` is escaped either way).
fn leads_back(html: &str, id: &str, status: &str) -> bool {
    html.contains("https://93.184.216.34/return?from=ilive")
        && html.contains(&format!("session_id={id}"))
        && html.contains(&format!("status={status}"))
}

#[tokio::test]
async fn used_expired_and_open_links_of_managed_sessions_lead_back() {
    let srv = TestServer::start(&["--session-ttl-secs", "2", "--sweep-interval-secs", "1"]).await;
    let (key, _) = srv.create_key("acme").await;
    let body = json!({"redirect_url": PUBLIC_URL});
    let db = srv.db().await;

    // An open link: the page's capture may stop without a verdict (a lost connection).
    let open = srv.create_managed(&key, &body).await;
    let (id, capture) = id_and_capture(&open);
    assert!(leads_back(
        &page(&srv, &id, &capture).await,
        &id,
        "interrupted"
    ));
    // Without the link's secret, nothing of the integrator's is shown.
    assert!(!page(&srv, &id, "0123").await.contains("status="));

    // A used link.
    sessions::start_capture(&db, &id, &capture, &holder("elsewhere", 3600))
        .await
        .unwrap();
    assert!(leads_back(
        &page(&srv, &id, &capture).await,
        &id,
        "already_used"
    ));

    // An expired link, before and after the sweeper turned it into a tombstone.
    let late = srv.create_managed(&key, &body).await;
    let (late_id, late_capture) = id_and_capture(&late);
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert!(leads_back(
        &page(&srv, &late_id, &late_capture).await,
        &late_id,
        "expired"
    ));
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let swept = sessions::get(&db, &late_id).await.unwrap().unwrap();
    assert_eq!(swept.status, app::api::SessionStatus::Expired);
    assert!(swept.reference_id.is_none() && swept.webhook_url.is_none());
    assert!(leads_back(
        &page(&srv, &late_id, &late_capture).await,
        &late_id,
        "expired"
    ));
    srv.stop().await;
}

#[tokio::test]
async fn direct_sessions_have_no_way_back() {
    let srv = TestServer::start(&[]).await;
    let created = common::capture::session(&srv, "active").await;
    let (id, capture) = id_and_capture(&created);
    assert!(!page(&srv, &id, &capture)
        .await
        .contains("status=interrupted"));
    srv.stop().await;
}
