//! F-ID: fuzzer bytes as an id cookie value, or as an id and time to sign, verify and
//! tamper with. The oracle is `flagon_fuzz::id::check_id`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flagon_fuzz::id::check_id(data));
