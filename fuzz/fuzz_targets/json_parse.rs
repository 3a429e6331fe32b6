//! Payload JSON and F-STORE-REC: arbitrary bytes as tagged JSON, and as the stored record
//! of one session value (what the stores hand to the same parser).
//! The oracle is `flagon_fuzz::oracle::check_json`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flagon_fuzz::oracle::check_json(data));
