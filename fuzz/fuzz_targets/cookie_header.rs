//! F-HDR: fuzzer bytes as a cookie name and `Cookie` header fields; the candidates
//! flagon picks must equal a reference model's. The oracle is
//! `flagon_fuzz::header::check_header`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flagon_fuzz::header::check_header(data));
