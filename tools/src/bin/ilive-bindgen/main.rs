//! `ilive-bindgen`: the browser bundle's JS glue, from the frontend crate's WASM, for
//! `scripts/build-site.sh`. It is wasm-bindgen's own generator (`wasm-bindgen-cli-support`)
//! behind the few options the bundle uses, built in the workspace with the server:
//! - its version is the `wasm-bindgen` crate's by construction (both are pinned to one version in
//!   the workspace's `Cargo.toml`, and the glue must match the crate exactly);
//! - it compiles in the same Cargo invocation as the server, sharing its dependencies, instead of
//!   a `cargo install wasm-bindgen-cli` of its own before the first build (which also installed
//!   into `~/.cargo/bin`). README, "Timings", has what this saved on a first run.
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use wasm_bindgen_cli_support::Bindgen;

#[derive(Parser)]
#[command(about = "wasm-bindgen's JS glue (ES module for the web) for iLive's browser bundle")]
struct Cli {
    /// The frontend crate's `.wasm`, as Cargo built it for wasm32-unknown-unknown.
    input: PathBuf,
    /// Where `<name>.js` and `<name>_bg.wasm` are written.
    #[arg(long)]
    out_dir: PathBuf,
    /// The output files' stem.
    #[arg(long, default_value = "ilive")]
    out_name: String,
    /// Drop the `name` and `producers` sections (a release bundle: names only cost bytes).
    #[arg(long)]
    strip: bool,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    Bindgen::new()
        .input_path(&cli.input)
        .web(true)?
        .typescript(false)
        // `init()` without arguments finds `<name>_bg.wasm` beside the JS, as the CLI's does.
        .omit_default_module_path(false)
        .out_name(&cli.out_name)
        .remove_name_section(cli.strip)
        .remove_producers_section(cli.strip)
        .generate(&cli.out_dir)
        .with_context(|| format!("generating the JS glue for {}", cli.input.display()))
}
