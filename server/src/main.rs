//! `ilive`: configuration → database → serve, or an administration command.
#![forbid(unsafe_code)]

use clap::Parser;
use server::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // Frames are analysed in parallel across sessions (one pool worker per core), so each
    // analysis runs candle single-threaded: nested parallelism on a busy machine spends most of
    // its time in spin barriers (measured: 3× slower per frame on 2 loaded cores). Set before any
    // thread starts; an explicit RAYON_NUM_THREADS still wins.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => {
            tracing::info!(config = ?cli.config, "starting");
            let listener = tokio::net::TcpListener::bind(cli.config.addr).await?;
            server::serve(cli.config, listener, shutdown_signal()).await
        }
        Some(Command::Eval(args)) => {
            let config = cli.config;
            tokio::task::spawn_blocking(move || server::cli::run_eval(&config, &args)).await?
        }
        Some(Command::FacesEval(args)) => {
            let dir = cli.config.models_dir();
            tokio::task::spawn_blocking(move || server::api::faces::eval::run(&dir, &args)).await?
        }
        Some(admin) => server::cli::run_admin(&cli.config, admin).await,
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received");
}
