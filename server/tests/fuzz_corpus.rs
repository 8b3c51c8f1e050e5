//! The fuzz targets' checks (`server::fuzzing`) on the seed corpus in `fuzz/corpus/` and on a
//! fixed set of deterministic mutations of it (`fuzz/replay.rs`): what CI runs of the fuzzers,
//! in a plain test with no instrumented build. The long runs are `scripts/fuzz.sh`
//! (`docs/development.md`).
use std::path::PathBuf;

use server::fuzzing;

#[path = "../../fuzz/replay.rs"]
mod replay;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

#[test]
fn frame() {
    replay::run(&corpus(), "frame", fuzzing::frame);
}

#[test]
fn client_message() {
    replay::run(&corpus(), "client_message", fuzzing::client_message);
}

#[test]
fn multipart() {
    replay::run(&corpus(), "multipart", fuzzing::multipart);
}

#[test]
fn url_safety() {
    replay::run(&corpus(), "url_safety", fuzzing::url_safety);
}
