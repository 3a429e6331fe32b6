//! F-STORE-REC: fuzzer bytes as a stored value's text, a Redis hash reply or row times.
//! The oracle is `flagon_fuzz::store_record::check_store_record`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flagon_fuzz::store_record::check_store_record(data));
