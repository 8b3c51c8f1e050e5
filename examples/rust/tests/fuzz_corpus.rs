//! The webhook signature fuzz target's checks (`ilive_example::fuzzing`) on its seed corpus in
//! `fuzz/corpus/webhook_signature/` and on a fixed set of deterministic mutations of it
//! (`fuzz/replay.rs`, the harness `server/tests/fuzz_corpus.rs` uses too): what CI runs of that
//! fuzzer, in a plain test.
use std::path::PathBuf;

use ilive_example::fuzzing;

#[path = "../../../fuzz/replay.rs"]
mod replay;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

#[test]
fn webhook_signature() {
    replay::run(&corpus(), "webhook_signature", fuzzing::verifier);
}
