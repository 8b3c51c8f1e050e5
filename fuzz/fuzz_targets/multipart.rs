//! `server::fuzzing::multipart`, where the checks are documented.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| server::fuzzing::multipart(data));
