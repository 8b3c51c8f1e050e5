//! `server::fuzzing::client_message`, where the checks are documented.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| server::fuzzing::client_message(data));
