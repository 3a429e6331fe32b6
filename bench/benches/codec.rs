//! Criterion benches of flagon's Flask cookie codec against the floor of one HMAC-SHA1
//! over the same bytes.
//!
//! - `codec/verify_decode/{small,3k}`: `flagon::flask::verify` of a cookie Flask would
//!   send (signature, age check, base64, zlib when compressed, tagged JSON);
//! - `codec/encode_sign/{small,3k}`: `flagon::flask::sign` of the same session;
//! - `codec/hmac_sha1/{small,3k}`: one HMAC-SHA1 with a 20-byte key over the signed part
//!   of that cookie (`payload.timestamp`), the least any verifier must do.
//!
//! `small` is `{"logged_in": true}`; `3k` is a session whose cookie is about 3 KB.
//! `bench/run` reads the medians from criterion's output for its codec table.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use flagon::flask::{self, Limits};
use flagon::{Key, KeyRing, Map, Value};
use hmac::{Hmac, Mac};
use sha1::Sha1;

const SIGNED_AT: u64 = 1_700_000_000;
const NOW: u64 = SIGNED_AT + 60;
const MAX_AGE: u64 = 31 * 24 * 3600;
const SKEW: u64 = 60;

fn small() -> Map {
    Map::from([("logged_in".to_owned(), Value::Bool(true))])
}

/// Deterministic letters and digits that zlib can shrink only a little, so the cookie
/// stays about as long as the JSON.
fn noise(state: &mut u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            ALPHABET[(*state % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// A logged-in user with a CSRF token, roles and a cart: about 3 KB once signed.
fn three_kb() -> Map {
    let mut state = 0x9E37_79B9_7F4A_7C15;
    let mut session = small();
    session.insert("user_id".into(), Value::Int(421_337));
    session.insert("csrf_token".into(), Value::Str(noise(&mut state, 40)));
    let roles = ["admin", "editor", "viewer"].map(Value::from).to_vec();
    session.insert("roles".into(), Value::List(roles));
    let cart = (0..40)
        .map(|i| {
            let mut item = Map::new();
            item.insert("sku".into(), Value::Str(noise(&mut state, 64)));
            item.insert("qty".into(), Value::Int(i % 5 + 1));
            Value::Dict(item)
        })
        .collect();
    session.insert("cart".into(), Value::List(cart));
    session
}

fn sessions() -> [(&'static str, Map); 2] {
    [("small", small()), ("3k", three_kb())]
}

fn key() -> Key {
    Key::new(flagon_bench::SECRET).expect("the bench secret is a valid key")
}

/// The signed part of a cookie: everything before the last `.`.
fn signed_part(cookie: &str) -> &[u8] {
    let end = cookie.rfind('.').unwrap_or(cookie.len());
    &cookie.as_bytes()[..end]
}

fn codec(c: &mut Criterion) {
    let ring = KeyRing::new(key());
    let limits = Limits::default();
    let mut group = c.benchmark_group("codec");
    for (name, session) in sessions() {
        let cookie = flask::sign(&session, &key(), SIGNED_AT);
        assert!(
            flask::verify(cookie.as_bytes(), &ring, NOW, MAX_AGE, SKEW, &limits).is_ok(),
            "the {name} cookie verifies"
        );
        eprintln!(
            "codec: the {name} session's cookie is {} bytes",
            cookie.len()
        );
        group.bench_function(BenchmarkId::new("verify_decode", name), |b| {
            b.iter(|| {
                flask::verify(
                    black_box(cookie.as_bytes()),
                    &ring,
                    NOW,
                    MAX_AGE,
                    SKEW,
                    &limits,
                )
            })
        });
        let signing_key = key();
        group.bench_function(BenchmarkId::new("encode_sign", name), |b| {
            b.iter(|| flask::sign(black_box(&session), &signing_key, SIGNED_AT))
        });
        let mac = Hmac::<Sha1>::new_from_slice(&[0x5a; 20]).expect("HMAC takes any key length");
        let signed = signed_part(&cookie);
        group.bench_function(BenchmarkId::new("hmac_sha1", name), |b| {
            b.iter(|| {
                let mut mac = mac.clone();
                mac.update(black_box(signed));
                mac.finalize().into_bytes()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
