//! F-TAG-RT: structured session maps (see `flagon_fuzz::gen`) must survive
//! `to_tagged_json` then `from_tagged_json`; the oracle is
//! `flagon_fuzz::oracle::check_tagged_roundtrip`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(session) = flagon_fuzz::gen::session(data) {
        flagon_fuzz::oracle::check_tagged_roundtrip(&session);
    }
});
