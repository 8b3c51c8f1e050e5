//! Test harness: the real iLive server on 127.0.0.1:0 with a temporary SQLite file, or — with
//! `ILIVE_TEST_STORE=postgres`, as the test command's second pass sets it — a fresh database per
//! test server on the PostgreSQL server that `ILIVE_TEST_POSTGRES` names
//! (`postgres://USER@HOST:PORT`; scripts/postgres.sh starts a throw-away one).
#![allow(dead_code)]

pub mod capture;
pub mod collections;
pub mod process;
pub mod protocol;
pub mod upload;

use std::{path::PathBuf, sync::Arc};

use clap::Parser;
use server::{cli::Cli, store};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub struct TestServer {
    pub base: String,
    pub db_url: String,
    pub dir: Arc<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// A fresh server and database; `args` are extra `ilive` flags.
    pub async fn start(args: &[&str]) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::start_in(dir, args).await
    }

    /// A fresh server that measures its capture capacity at start-up, as in production.
    pub async fn start_measuring(args: &[&str]) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::launch(dir, args, false).await
    }

    /// A server on the database in `dir` (to test restarts).
    pub async fn start_in(dir: Arc<tempfile::TempDir>, args: &[&str]) -> Self {
        Self::launch(dir, args, true).await
    }

    async fn launch(dir: Arc<tempfile::TempDir>, args: &[&str], fixed_capacity: bool) -> Self {
        let db_url = database_url(dir.path()).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut argv = vec![
            "ilive".to_owned(),
            "--database-url".into(),
            db_url.clone(),
            "--public-url".into(),
            format!("http://{addr}"),
            "--site-root".into(),
            site_root().display().to_string(),
        ];
        // A fixed capacity: the tests run side by side on few cores, where a start-up measurement
        // would vary with the load. `tests/capacity.rs` tests the measurement itself.
        if fixed_capacity && !args.contains(&"--max-live-sessions") {
            argv.extend(["--max-live-sessions".into(), "64".into()]);
        }
        argv.extend(args.iter().map(|s| s.to_string()));
        let cli = Cli::try_parse_from(argv).expect("valid test flags");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server::serve(cli.config, listener, async {
            let _ = rx.await;
        }));
        let server = TestServer {
            base: format!("http://{addr}"),
            db_url,
            dir,
            stop: Some(tx),
            handle: Some(handle),
        };
        // The listener is bound before serve() runs; wait only for migrations to finish.
        for _ in 0..200 {
            if let Ok(r) = reqwest::get(format!("{}/healthz", server.base)).await {
                if r.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the test server did not come up");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Graceful shutdown, as on SIGTERM.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server ran cleanly");
        }
    }

    /// A second connection to the same database (the library API, as the engine uses it).
    pub async fn db(&self) -> store::Db {
        store::connect(&self.db_url).await.expect("db")
    }

    /// Creates a tenant key through the library (as `ilive keys create` does).
    /// POSTs `body` to the managed-session route with the API key `key`.
    pub async fn managed(&self, key: &str, body: &serde_json::Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url("/api/v1/managed-session"))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a managed session that must succeed, and returns its JSON.
    pub async fn create_managed(&self, key: &str, body: &serde_json::Value) -> serde_json::Value {
        let r = self.managed(key, body).await;
        assert_eq!(
            r.status(),
            reqwest::StatusCode::CREATED,
            "creating a session"
        );
        r.json().await.expect("JSON")
    }

    /// GETs `path` and reads its JSON answer.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        reqwest::get(self.url(path))
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON")
    }

    pub async fn create_key(&self, tenant: &str) -> (String, store::tenants::Tenant) {
        let db = self.db().await;
        let (t, _) = store::tenants::find_or_create(&db, tenant).await.unwrap();
        let (_, key) = store::tenants::create_key(&db, &t.id).await.unwrap();
        (key, t)
    }
}

fn site_root() -> PathBuf {
    std::env::var_os("ILIVE_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site"))
}

/// The test fixtures (photos, clips): `bash scripts/fixtures/fetch-images.sh` and
/// `bash scripts/fixtures/make-clips.sh` fill it.
/// A capture holder (as a replica is) named `replica`, whose hold lasts `lease_secs`.
pub fn holder(replica: &str, lease_secs: i64) -> store::sessions::Holder {
    store::sessions::Holder {
        replica: replica.to_owned(),
        lease_secs,
    }
}

/// A passive session of `kind` for `tenant_id`, as the store creates it, for tests that give it a
/// verdict with [`completion`] instead of running a capture.
pub fn new_session(
    tenant_id: Option<String>,
    kind: store::sessions::SessionKind,
) -> store::sessions::NewSession {
    store::sessions::NewSession {
        tenant_id,
        kind,
        mode: app::api::Mode::Passive,
        signed_webhooks: false,
        redirect_url: None,
        webhook_url: None,
        reference_id: None,
        locale: None,
        ttl_secs: 600,
        retention_secs: 600,
    }
}

/// The end of a capture with `verdict` and, for a pass, its photo (a JPEG).
pub fn completion(
    verdict: app::api::Verdict,
    jpeg: Option<Vec<u8>>,
) -> store::sessions::Completion {
    store::sessions::Completion {
        verdict,
        confidence: 0.9,
        details: store::sessions::ResultDetails::default(),
        camera_metadata: None,
        photo: jpeg.map(|jpeg| store::sessions::Photo {
            jpeg,
            geometry: serde_json::json!({}),
        }),
    }
}

/// The PostgreSQL server the tests may use, if any (`ILIVE_TEST_POSTGRES`).
pub fn test_postgres() -> Option<String> {
    std::env::var("ILIVE_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('/').to_owned())
}

/// The database of the test server whose files are in `dir`: the SQLite file there, or on
/// PostgreSQL a database created for `dir` on first use (its name kept in `dir`, so that a
/// restarted server finds the same one).
pub async fn database_url(dir: &std::path::Path) -> String {
    let on_postgres = std::env::var("ILIVE_TEST_STORE").is_ok_and(|s| s == "postgres");
    let Some(base) = test_postgres().filter(|_| on_postgres) else {
        return format!("sqlite://{}", dir.join("ilive.db").display());
    };
    let marker = dir.join("postgres-database");
    if let Ok(name) = std::fs::read_to_string(&marker) {
        return format!("{base}/{name}");
    }
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    create_postgres_database(&base, &name).await;
    std::fs::write(&marker, &name).expect("the database's name is written");
    format!("{base}/{name}")
}

/// Creates the database `name` on the PostgreSQL server at `base`.
pub async fn create_postgres_database(base: &str, name: &str) {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("the test PostgreSQL server answers");
    // Collated for English, as a deployment's database usually is (the test server's own
    // default is C.UTF-8, which sorts text by its bytes and would hide an `ORDER BY` on text).
    let sql = format!(
        "CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .expect("a test database is created");
    admin.close().await.ok();
}

pub fn fixtures() -> PathBuf {
    models::cache_dir("ILIVE_FIXTURES_DIR", "fixtures")
}

/// A test photo from the fixtures' `images/` folder, as RGB.
pub fn photo(name: &str) -> image::RgbImage {
    let path = fixtures().join("images").join(name);
    image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run bash scripts/fixtures/fetch-images.sh",
                path.display()
            )
        })
        .to_rgb8()
}

/// Asserts an error answer: its status and its stable `detail.code`.
pub async fn expect_error(resp: reqwest::Response, status: reqwest::StatusCode, code: &str) {
    assert_eq!(resp.status(), status, "status for {code}");
    assert_eq!(error_code(resp).await, code);
}

/// The error `code` of a JSON error response.
pub async fn error_code(resp: reqwest::Response) -> String {
    let v: serde_json::Value = resp.json().await.expect("JSON error body");
    v["detail"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail.code in {v}"))
        .to_owned()
}

/// A public (never contacted) https URL that passes the address checks without DNS.
pub const PUBLIC_URL: &str = "https://93.184.216.34/return?from=ilive";
