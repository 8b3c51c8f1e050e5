//! `ilive-models`: converts the face networks' weights and inspects the networks.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "iLive face networks: weight conversion and checks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Convert the TF.js weights unpacked by `scripts/models/fetch-packages.sh` to safetensors.
    Convert {
        /// Directory holding `human-3.3.6/` and `face-api-1.7.15/` (the npm cache).
        #[arg(long)]
        npm_dir: PathBuf,
        /// Output directory for `<net>.safetensors`.
        #[arg(long, env = "ILIVE_MODELS_DIR")]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Convert { npm_dir, out } => {
            for f in models::convert::convert_all(&npm_dir, &out)? {
                eprintln!("wrote {}", f.display());
            }
        }
    }
    Ok(())
}
