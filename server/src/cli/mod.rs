//! The `ilive` command line, every command in one place: `serve` (the default), the tenant and
//! key administration ([`admin`]), and the two offline evaluations, `eval` (liveness, [`eval`])
//! and `faces-eval` (face comparison, [`faces_eval`]). [`run`] is the one dispatch.
pub mod admin;
pub mod eval;
pub mod faces_eval;
mod following;
mod playback;
mod screen;
mod separation;
mod shared;

use clap::{Parser, Subcommand};
use models::FaceModels;

use crate::{
    config::Config,
    store::{self, Db},
};

pub use admin::{KeysAction, TenantsAction};

#[derive(Debug, Parser)]
#[command(
    name = "ilive",
    version,
    about = "iLive: self-hosted face liveness verification"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Run clips through the liveness engine and print BPCER/APCER (no browser needed).
    Eval(eval::EvalArgs),
    /// Score face comparison on real photos: similarity distributions, FMR and FNMR.
    FacesEval(faces_eval::FacesEvalArgs),
    /// Manage tenants (integrator accounts).
    Tenants {
        #[command(subcommand)]
        action: TenantsAction,
    },
}

/// Runs the command line's command; without one, the service.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Keys { action } => {
            on_database(&config, async |db| admin::keys(db, action).await).await
        }
        Command::Tenants { action } => {
            on_database(&config, async |db| admin::tenants(db, action).await).await
        }
        Command::Eval(args) => {
            let thresholds = config.thresholds();
            with_models(&config, move |models| eval::run(&args, models, thresholds)).await
        }
        Command::FacesEval(args) => {
            with_models(&config, move |models| faces_eval::run(&args, models)).await
        }
    }
}

/// Serves on the configured address until Ctrl-C or SIGTERM.
async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(config = ?config, "starting");
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    crate::serve(config, listener, shutdown_signal()).await
}

/// Runs an administration command against the configured database and prints what it wrote.
async fn on_database(
    config: &Config,
    command: impl AsyncFnOnce(&Db) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let db = store::connect(&config.database_url).await?;
    let out = command(&db).await?;
    db.close().await;
    print!("{out}");
    Ok(())
}

/// Loads the face models and runs an evaluation on a blocking thread (it is CPU work from start
/// to end), then prints its report.
async fn with_models(
    config: &Config,
    evaluation: impl FnOnce(&FaceModels) -> anyhow::Result<String> + Send + 'static,
) -> anyhow::Result<()> {
    let dir = config.models_dir();
    let report =
        tokio::task::spawn_blocking(move || evaluation(&FaceModels::load(&dir)?)).await??;
    print!("{report}");
    Ok(())
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
