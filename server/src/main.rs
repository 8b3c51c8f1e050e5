//! `ilive`: the command line → the runtime → [`server::cli::run`], which serves or runs one
//! command.
#![forbid(unsafe_code)]

use clap::Parser;
use server::cli::Cli;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // Frames are analysed in parallel across sessions (one pool worker per core), so each
    // analysis runs candle single-threaded: nested parallelism on a busy machine spends most of
    // its time in spin barriers (measured: 3× slower per frame on 2 loaded cores). Set before any
    // thread starts; an explicit RAYON_NUM_THREADS still wins.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(server::cli::run(cli))
}
