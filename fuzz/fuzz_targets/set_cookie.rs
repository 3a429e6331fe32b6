//! F-SETCOOKIE: fuzzer bytes as cookie settings; `validate` and the written
//! `Set-Cookie` values must match the rules and parse back to the configured attributes.
//! The oracle is `flagon_fuzz::set_cookie::check_set_cookie`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| flagon_fuzz::set_cookie::check_set_cookie(data));
