//! F-DEC-SEALED: arbitrary bytes as a sealed cookie value, and a sealing oracle with a
//! flipped byte. The oracle is `flagon_fuzz::oracle::check_sealed`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flagon_fuzz::oracle::check_sealed(data));
