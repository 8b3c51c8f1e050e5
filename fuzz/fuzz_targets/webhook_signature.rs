//! `ilive_example::fuzzing::verifier`, where the checks are documented.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ilive_example::fuzzing::verifier(data));
