//! `server::fuzzing::url_safety`, where the checks are documented.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| server::fuzzing::url_safety(data));
