//! The short load run the test command makes: `ilive-load` against the real server (started
//! here, on 127.0.0.1:0, with the real models) for a few users and a few seconds. One user more
//! than the server's capacity: that one is refused up front, the others stream real frames, get
//! them answered and reach verdicts, and nothing fails.
use std::{path::PathBuf, time::Duration};

use clap::Parser;
use serde_json::Value;
use server::cli::Cli;
use tokio::net::TcpListener;

/// Users, capture slots and length of the run: small enough for a debug build on two cores.
const USERS: usize = 3;
const CAPACITY: usize = 2;
const SECONDS: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_load_run_is_served_refused_up_front_and_error_free() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let site = std::env::var_os("ILIVE_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site"));
    let cli = Cli::try_parse_from([
        "ilive".to_owned(),
        "--database-url".into(),
        format!("sqlite://{}", dir.path().join("ilive.db").display()),
        "--public-url".into(),
        base.clone(),
        "--site-root".into(),
        site.display().to_string(),
        "--max-live-sessions".into(),
        CAPACITY.to_string(),
        "--direct-rate-limit".into(),
        "1000".into(),
    ])
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(cli.config, listener, async {
        let _ = stopped.await;
    }));

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ilive-load"))
        .args([
            "--url",
            &base,
            "--json",
            "--clip",
            "live_obama",
            "--start-frame",
            "109",
        ])
        .args(["--sessions", &USERS.to_string()])
        .args(["--seconds", &SECONDS.to_string()])
        .args([
            "--fps",
            "10",
            // Users start over 1 s, out of step (the third still finds both slots taken).
            "--ramp",
            "1",
            "--server-pid",
            &std::process::id().to_string(),
        ])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(SECONDS + 60), out)
        .await
        .expect("the load run ended")
        .expect("ilive-load ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_str(&stdout).expect("JSON summary");
    eprintln!("{s:#}");

    assert_eq!(s["ramp_s"], 1.0, "{s}");
    assert_eq!(s["admitted"], CAPACITY, "{s}");
    assert_eq!(s["refused"], USERS - CAPACITY, "{s}");
    assert_eq!(s["errors"], serde_json::json!({}), "{s}");
    assert_eq!(s["unplaced_replies"], 0, "{s}");
    assert!(s["answered"].as_u64().unwrap() > 0, "{s}");
    assert!(s["p50_ms"].as_f64().is_some(), "{s}");
    let verdicts: u64 = s["verdicts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(verdicts >= 1, "no capture reached its verdict: {s}");
    assert!(s["server_rss_peak_mib"].as_f64().unwrap() > 0.0, "{s}");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
