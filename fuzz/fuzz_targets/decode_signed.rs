//! F-DEC-SIGNED: fuzzer bytes become a payload and timestamp that the model signs with the test key.
//! The oracle is `flagon_fuzz::oracle::check_signed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flagon_fuzz::oracle::check_signed(data));
