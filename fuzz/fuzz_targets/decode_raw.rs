//! F-DEC-RAW: arbitrary bytes as the session cookie value, verified with the test key.
//! The oracle is `flagon_fuzz::oracle::check_raw`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flagon_fuzz::oracle::check_raw(data));
