//! Flask's own cookies, decoded and re-encoded by flagon.
//!
//! The vectors come from real Flask (`tests/flask/gen_vectors.py`). The file is read
//! from `$FLAGON_VECTORS` when set, else `tests/flask/vectors.json`. Every vector gets a
//! verdict: `valid` ones must decode to what Flask saw and re-encode byte for byte,
//! `invalid` ones must be rejected, and every `lenient`/`crafted` one must appear in
//! [`DECISIONS`] with flagon's documented behaviour; each divergence from Flask has its
//! own test below.

use std::sync::OnceLock;

use flagon::flask::{self, DecodeError, Limits, Verified};
use flagon::{Key, KeyRing, Map};
use serde_json::Value as Json;

use crate::markers::{map_from_marker, map_to_marker};

/// What flagon does with a `lenient` or `crafted` vector.
#[derive(Clone, Copy, Debug)]
enum Decision {
    /// Accepted, decoding to exactly what Flask saw.
    Parity,
    /// Rejected, with an error this predicate recognises (see the named test).
    Reject(fn(&DecodeError) -> bool),
}

fn is_malformed(e: &DecodeError) -> bool {
    matches!(e, DecodeError::Malformed(_))
}
fn is_payload(e: &DecodeError) -> bool {
    matches!(e, DecodeError::Payload(_))
}
fn is_bad_timestamp(e: &DecodeError) -> bool {
    matches!(e, DecodeError::MalformedTimestamp)
}
fn is_future(e: &DecodeError) -> bool {
    matches!(e, DecodeError::FromTheFuture { .. })
}

/// flagon's decision for every non-Flask-written vector.
const DECISIONS: &[(&str, Decision)] = &[
    // DV1: canonical base64 only
    ("lenient_sig_trailing_bits", Decision::Reject(is_malformed)),
    ("lenient_sig_padding", Decision::Reject(is_malformed)),
    ("lenient_sig_double_padding", Decision::Reject(is_malformed)),
    (
        "lenient_sig_standard_alphabet",
        Decision::Reject(is_malformed),
    ),
    ("lenient_sig_two_junk_chars", Decision::Reject(is_malformed)),
    // DV3: a validly signed payload that does not decode is an error, not a 500
    ("crafted_not_json", Decision::Reject(is_payload)),
    ("crafted_dot_but_not_zlib", Decision::Reject(is_payload)),
    ("crafted_bad_base64_payload", Decision::Reject(is_payload)),
    ("crafted_empty_payload", Decision::Reject(is_payload)),
    ("crafted_trailing_json", Decision::Reject(is_payload)),
    ("crafted_invalid_utf8", Decision::Reject(is_payload)),
    ("crafted_bad_bytes_padding", Decision::Reject(is_payload)),
    ("crafted_bad_uuid", Decision::Reject(is_payload)),
    ("crafted_zlib_truncated", Decision::Reject(is_payload)),
    ("crafted_zlib_bad_checksum", Decision::Reject(is_payload)),
    // DV8: the top level must be an object
    ("crafted_top_level_array", Decision::Reject(is_payload)),
    ("crafted_top_level_string", Decision::Reject(is_payload)),
    ("crafted_top_level_number", Decision::Reject(is_payload)),
    ("crafted_top_level_pairs", Decision::Reject(is_payload)),
    ("crafted_top_level_null", Decision::Reject(is_payload)),
    // DV2: nothing after the zlib stream
    (
        "crafted_zlib_trailing_garbage",
        Decision::Reject(is_payload),
    ),
    // D1: inflate cap (256 KiB by default)
    ("crafted_inflates_past_256k", Decision::Reject(is_payload)),
    // DV4: nesting capped at 128
    ("crafted_nesting_5000", Decision::Reject(is_payload)),
    // C4 / C6: timestamps
    (
        "crafted_malformed_timestamp",
        Decision::Reject(is_bad_timestamp),
    ),
    ("crafted_far_future_timestamp", Decision::Reject(is_future)),
    // parity: what Python's reader accepts from other writers
    ("crafted_raw_utf8", Decision::Parity),
    ("crafted_whitespace_unsorted", Decision::Parity),
    ("crafted_duplicate_keys", Decision::Parity),
    ("crafted_number_overflow", Decision::Parity),
    ("crafted_bad_datetime", Decision::Parity),
    ("crafted_datetime_with_offset", Decision::Parity),
    ("crafted_uuid_dashed", Decision::Parity),
    ("crafted_uuid_upper", Decision::Parity),
    ("crafted_di_without_suffix", Decision::Parity),
    ("crafted_unknown_tag", Decision::Parity),
    ("crafted_compressed_small", Decision::Parity),
    ("crafted_zlib_level9", Decision::Parity),
    ("crafted_timestamp_leading_zeros", Decision::Parity),
];

/// Valid (Flask-written) vectors flagon deliberately refuses to decode.
const VALID_BUT_REFUSED: &[&str] = &[
    // SECURITY C5: an empty timestamp segment (time 0) is malformed.
    "timestamp_zero",
];

fn vectors() -> &'static [Json] {
    static VECTORS: OnceLock<Vec<Json>> = OnceLock::new();
    VECTORS.get_or_init(|| {
        let path = std::env::var("FLAGON_VECTORS")
            .unwrap_or_else(|_| format!("{}/tests/flask/vectors.json", env!("CARGO_MANIFEST_DIR")));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the Flask vectors at {path}: {e}. Generate them with \
                 tests/flask/gen_vectors.py or point FLAGON_VECTORS at a vectors.json"
            )
        });
        let doc: Json = serde_json::from_str(&text).expect("vectors.json is not JSON");
        let list = doc
            .as_array()
            .expect("vectors.json is not an array")
            .clone();
        assert!(!list.is_empty(), "vectors.json holds no vectors");
        list
    })
}

fn of_kind(kind: &str) -> impl Iterator<Item = &'static Json> + '_ {
    vectors().iter().filter(move |v| v["kind"] == kind)
}

fn named(name: &str) -> &'static Json {
    maybe_named(name).unwrap_or_else(|| panic!("no vector named {name}"))
}

/// A vector only newer vector files have (the shared reference file is older).
fn maybe_named(name: &str) -> Option<&'static Json> {
    let found = vectors().iter().find(|v| v["name"] == name);
    if found.is_none() {
        eprintln!("vector {name} is not in this vectors.json; that part is not checked");
    }
    found
}

fn name(v: &Json) -> &str {
    v["name"].as_str().expect("vector without a name")
}

fn key_from_hex(hex: &Json) -> Key {
    let hex = hex.as_str().expect("key hex is a string");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex key"))
        .collect();
    Key::new(bytes).expect("non-empty key")
}

/// The reader's key ring: `SECRET_KEY` plus `SECRET_KEY_FALLBACKS` (oldest first).
fn ring(v: &Json) -> KeyRing {
    let fallbacks = v["fallback_keys_hex"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    fallbacks
        .iter()
        .fold(KeyRing::new(key_from_hex(&v["secret_key_hex"])), |r, k| {
            r.with_fallback(key_from_hex(k))
        })
}

fn big_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_cookie_len = 64 * 1024;
    limits
}

fn verify_with(v: &Json, limits: &Limits) -> Result<Verified, DecodeError> {
    let cookie = v["cookie"].as_str().expect("cookie is a string");
    flask::verify(
        cookie.as_bytes(),
        &ring(v),
        v["verify_at"].as_u64().expect("verify_at"),
        v["max_age"].as_u64().expect("max_age"),
        0,
        limits,
    )
}

fn verify(v: &Json) -> Result<Verified, DecodeError> {
    verify_with(v, &big_limits())
}

/// Position of the signing key in verification order (0 = `SECRET_KEY`).
fn expected_key_index(v: &Json) -> usize {
    if v["signing_key_hex"] == v["secret_key_hex"] {
        return 0;
    }
    let fallbacks = v["fallback_keys_hex"].as_array().expect("fallbacks");
    let from_oldest = fallbacks
        .iter()
        .position(|k| *k == v["signing_key_hex"])
        .expect("signing key is one of the fallbacks");
    fallbacks.len() - from_oldest
}

/// Decodes a valid vector's session, or for a refused one its tagged JSON.
fn decoded_session(v: &Json) -> Map {
    if VALID_BUT_REFUSED.contains(&name(v)) {
        let text = v["tagged_json"].as_str().expect("tagged_json");
        return flask::from_tagged_json(text.as_bytes(), &big_limits()).expect("tagged JSON");
    }
    let got = verify(v).unwrap_or_else(|e| panic!("{}: rejected: {e}", name(v)));
    assert_eq!(
        got.timestamp,
        v["expect"]["decoded_timestamp"],
        "{}",
        name(v)
    );
    assert_eq!(got.key_index, expected_key_index(v), "{}", name(v));
    got.session
}

/// Checks one valid vector; returns whether flagon's re-encoding is byte-identical.
fn check_valid(v: &Json) -> bool {
    let name = name(v);
    let session = decoded_session(v);
    assert_eq!(
        map_to_marker(&session),
        v["expect"]["flask_session"],
        "{name}: decoded value differs from what Flask saw"
    );
    assert_eq!(
        flask::to_tagged_json(&session),
        v["reencoded_tagged_json"],
        "{name}: tagged JSON"
    );
    let signed_at = v["signed_at"].as_u64().expect("signed_at");
    let current = key_from_hex(&v["secret_key_hex"]);
    let ours = flask::sign(&session, &current, signed_at);
    if v["roundtrip_stable"] == true {
        assert_eq!(flask::to_tagged_json(&session), v["tagged_json"], "{name}");
        let signer = key_from_hex(&v["signing_key_hex"]);
        assert_eq!(
            flask::sign(&session, &signer, signed_at),
            v["cookie"],
            "{name}"
        );
    }
    ours == v["reencoded_cookie"]
}

#[test]
fn valid_vectors_decode_and_reencode_byte_for_byte() {
    let mut identical = 0;
    let mut total = 0;
    let mut differing = Vec::new();
    for v in of_kind("valid") {
        total += 1;
        if check_valid(v) {
            identical += 1;
        } else {
            differing.push(name(v));
        }
    }
    let share = 100.0 * f64::from(identical) / f64::from(total);
    println!("byte-identical re-encodings: {identical}/{total} valid vectors ({share:.1}%)");
    assert!(total > 0, "no valid vectors");
    assert_eq!(differing, Vec::<&str>::new(), "not byte-identical");
}

#[test]
fn invalid_vectors_are_rejected() {
    let mut count = 0;
    for v in of_kind("invalid") {
        count += 1;
        let err = verify(v).expect_err(name(v));
        let flask_error = v["expect"]["itsdangerous_error"].as_str().unwrap_or("");
        // An empty timestamp segment (time 0) is malformed before it can be expired (C5).
        let empty_timestamp = v["cookie"].as_str().is_some_and(|c| c.contains(".."))
            && err == DecodeError::MalformedTimestamp;
        let expired = empty_timestamp
            || matches!(
                err,
                DecodeError::Expired { .. } | DecodeError::FromTheFuture { .. }
            );
        assert_eq!(
            expired,
            flask_error == "SignatureExpired",
            "{}: {err} vs {flask_error}",
            name(v)
        );
    }
    assert!(count > 0);
}

#[test]
fn every_lenient_and_crafted_vector_has_a_decision() {
    for v in of_kind("lenient").chain(of_kind("crafted")) {
        let decision = DECISIONS.iter().find(|(n, _)| *n == name(v));
        let Some((_, decision)) = decision else {
            panic!("{}: no decision recorded in DECISIONS", name(v));
        };
        match (decision, verify_with(v, &Limits::default())) {
            (Decision::Parity, Ok(got)) => assert_eq!(
                map_to_marker(&got.session),
                v["expect"]["flask_session"],
                "{}",
                name(v)
            ),
            (Decision::Reject(ok), Err(e)) => assert!(ok(&e), "{}: unexpected {e:?}", name(v)),
            (d, got) => panic!("{}: decided {d:?}, got {got:?}", name(v)),
        }
    }
}

/// Runs a named divergence: the vectors exist, Flask accepted or crashed, we refuse.
fn assert_refused(names: &[&str], why: fn(&DecodeError) -> bool) {
    for n in names {
        let v = named(n);
        let err = verify_with(v, &Limits::default()).expect_err(n);
        assert!(why(&err), "{n}: {err:?}");
    }
}

#[test]
fn dv1_lenient_base64_is_refused() {
    let lenient: Vec<&str> = of_kind("lenient").map(name).collect();
    assert!(lenient.len() >= 4, "{lenient:?}");
    for v in of_kind("lenient") {
        assert_eq!(v["expect"]["flask_outcome"], "session", "{}", name(v));
    }
    assert_refused(&lenient, is_malformed);
}

#[test]
fn dv2_bytes_after_the_zlib_stream_are_refused() {
    let v = named("crafted_zlib_trailing_garbage");
    assert_eq!(v["expect"]["flask_outcome"], "session");
    assert_refused(&["crafted_zlib_trailing_garbage"], is_payload);
}

#[test]
fn dv3_undecodable_payloads_are_errors_not_crashes() {
    let crashes: Vec<&str> = of_kind("crafted")
        .filter(|v| v["expect"]["flask_outcome"] == "error_500")
        .map(name)
        .filter(|n| *n != "crafted_far_future_timestamp")
        .collect();
    assert!(crashes.len() >= 5, "{crashes:?}");
    assert_refused(&crashes, is_payload);
}

#[test]
fn dv4_nesting_beyond_128_is_refused() {
    if maybe_named("crafted_nesting_5000").is_some() {
        assert_refused(&["crafted_nesting_5000"], is_payload);
    }
    // Flask's 100-deep vector is within the cap and decodes.
    if let Some(v) = maybe_named("deep_nesting_100") {
        assert!(verify(v).is_ok());
    }
}

#[test]
fn dv8_top_level_must_be_an_object() {
    for n in ["crafted_top_level_pairs", "crafted_top_level_null"] {
        assert_eq!(named(n)["expect"]["flask_outcome"], "session", "{n}");
    }
    assert_refused(
        &[
            "crafted_top_level_pairs",
            "crafted_top_level_null",
            "crafted_top_level_array",
        ],
        is_payload,
    );
}

#[test]
fn d1_inflating_past_the_cap_is_refused() {
    let Some(v) = maybe_named("crafted_inflates_past_256k") else {
        return;
    };
    assert_eq!(v["expect"]["flask_outcome"], "session");
    assert_refused(&["crafted_inflates_past_256k"], is_payload);
    let mut roomy = big_limits();
    roomy.max_inflated = 16 << 20;
    assert!(verify_with(v, &roomy).is_ok());
}

#[test]
fn c5_empty_timestamp_segment_is_refused() {
    let v = named("timestamp_zero");
    assert_eq!(v["expect"]["flask_outcome"], "session");
    assert!(v["cookie"].as_str().unwrap().contains(".."));
    assert_refused(&["timestamp_zero"], is_bad_timestamp);
    // Writing time 0 still gives Flask's bytes (checked in the valid-vector test).
}

#[test]
fn c6_absurd_future_timestamp_is_refused_without_overflow() {
    assert_eq!(
        named("crafted_far_future_timestamp")["expect"]["flask_outcome"],
        "error_500"
    );
    assert_refused(&["crafted_far_future_timestamp"], is_future);
}

#[test]
fn a3_cookies_over_4096_bytes_are_refused_by_default() {
    let v = named("oversized");
    assert!(v["cookie"].as_str().unwrap().len() > 4096);
    let err = verify_with(v, &Limits::default()).unwrap_err();
    assert!(
        matches!(err, DecodeError::TooLong { max: 4096, .. }),
        "{err:?}"
    );
    assert!(verify(v).is_ok());
}

#[test]
fn flask_boundary_cookies_match_the_spec() {
    // FORMAT.md §3 and §5, straight from the vectors.
    let v = named("classic_login");
    assert_eq!(
        v["cookie"],
        "eyJsb2dnZWRfaW4iOnRydWV9.ZVPxAA.njuUsaCugTIOn_G8r5TAhwpI-Yw"
    );
    let saves_2 = named("compression_boundary_saves_2");
    assert!(saves_2["cookie"].as_str().unwrap().starts_with(".eJ"));
    let saves_1 = named("compression_boundary_saves_1");
    assert!(saves_1["cookie"].as_str().unwrap().starts_with("eyJ"));
    for v in [v, saves_1, saves_2] {
        assert!(check_valid(v), "{}", name(v));
    }
}

#[test]
fn decoded_sessions_round_trip_through_markers() {
    for v in of_kind("valid") {
        let flask_session = &v["expect"]["flask_session"];
        let map = map_from_marker(flask_session);
        assert_eq!(&map_to_marker(&map), flask_session, "{}", name(v));
    }
}
