//! Replays a fuzz target's seed corpus (`fuzz/corpus/<target>/`) and a fixed set of
//! deterministic mutations of it through the target's checking function, in a plain test with no
//! instrumented build: what CI runs of the fuzzers. Shared by `server/tests/fuzz_corpus.rs` and
//! `examples/rust/tests/fuzz_corpus.rs` (included with `#[path]`); the long runs are
//! `scripts/fuzz.sh` (`docs/development.md`, "Fuzzing").
use std::{fs, path::Path};

/// Mutations run per target, spread over its seeds.
const MUTATIONS: usize = 2_000;

fn seeds(corpus: &Path, target: &str) -> Vec<Vec<u8>> {
    let dir = corpus.join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<_> = files.iter().map(|f| fs::read(f).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// xorshift64: the same mutations on every run and every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four byte-level edits, as libFuzzer's simplest mutators make them: flip a bit, set a
/// byte to an interesting value, insert or delete a byte, truncate, duplicate a span.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, b'\n', b'"', b'-'];
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len());
        match rng.below(6) {
            0 if !data.is_empty() => data[at] ^= 1 << rng.below(8),
            1 if !data.is_empty() => data[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => data.insert(at.min(data.len()), rng.next() as u8),
            3 if !data.is_empty() => {
                data.remove(at);
            }
            4 => data.truncate(at),
            _ if !data.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                let span = data[at..end].to_vec();
                let to = rng.below(data.len());
                data.splice(to..to, span);
            }
            _ => {}
        }
    }
    data
}

/// Runs `check` on every seed of `corpus/target` and on [`MUTATIONS`] mutations of them.
pub fn run(corpus: &Path, target: &str, check: fn(&[u8])) {
    let seeds = seeds(corpus, target);
    for seed in &seeds {
        check(seed);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
    for i in 0..MUTATIONS {
        let input = mutate(&seeds[i % seeds.len()], &mut rng);
        if std::panic::catch_unwind(|| check(&input)).is_err() {
            panic!("{target}: mutation {i} fails (the panic is above): {input:?}");
        }
    }
}
