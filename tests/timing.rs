//! A dudect-style timing test of signature verification (SECURITY.md §7.3).
//!
//! Two classes of forged cookies differ from a genuine one only in the signature: the
//! first signature byte wrong, or the last one wrong. Both inputs are made before any
//! measurement, as dudect makes them. Measurements of `flask::verify` alternate between
//! the classes in a random order; before each one the class's input is copied whole into
//! one buffer (so both classes share the allocation, its alignment and its cache lines,
//! and run the same instructions up to the timed call). Welch's t-test compares the two
//! timing distributions, as dudect does: on all samples and on the samples below several
//! percentiles of the pooled distribution (cropping drops the interrupts and preemptions
//! a shared machine adds to both classes alike).
//!
//! Why a whole copy and not two byte stores: an earlier version set the two signature
//! bytes in place with class-dependent stores, and at 10^6 samples in a release build it
//! measured |t| ≈ 6, growing with the sample count (≈ 24 at 10^7). That was the harness:
//! a store whose *position* depended on the class, into a buffer whose bytes were the
//! same for both classes (nothing left to tell apart), still gave |t| ≈ 4 at 4·10^6,
//! while whole copies of the two inputs give |t| < 1 at 8·10^6 on the same machine.
//!
//! A comparison that stops at the first differing byte shows up as a large |t|: the
//! control below runs the same harness on such a comparison and must be caught.
//!
//! `FLAGON_TIMING_SAMPLES` sets the number of measurements (default 20,000, bounded for
//! CI with a loose threshold of |t| < 10); `tests/timing/run` takes 10^6 in a release
//! build and holds them to dudect's |t| < 4.5.

use std::hint::black_box;
use std::time::Instant;

use flagon::flask::{self, Limits};
use flagon::{Key, KeyRing, Map, Value};

const NOW: u64 = 1_700_000_100;

/// Welch's t of two samples.
fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var, n)
    };
    let (ma, va, na) = stats(a);
    let (mb, vb, nb) = stats(b);
    (ma - mb) / (va / na + vb / nb).sqrt()
}

/// The largest |t| over the whole samples and the crops below these percentiles.
fn max_abs_t(first: &[f64], last: &[f64]) -> (f64, Vec<(f64, f64)>) {
    let mut pooled: Vec<f64> = first.iter().chain(last).copied().collect();
    pooled.sort_by(f64::total_cmp);
    let mut per_crop = Vec::new();
    for pct in [50.0, 75.0, 90.0, 99.0, 100.0] {
        let index = ((pooled.len() - 1) as f64 * pct / 100.0) as usize;
        let cut = pooled[index];
        let a: Vec<f64> = first.iter().copied().filter(|t| *t <= cut).collect();
        let b: Vec<f64> = last.iter().copied().filter(|t| *t <= cut).collect();
        if a.len() > 10 && b.len() > 10 {
            per_crop.push((pct, welch_t(&a, &b)));
        }
    }
    let worst = per_crop.iter().map(|(_, t)| t.abs()).fold(0.0, f64::max);
    (worst, per_crop)
}

/// The tests' fixed-seed generator (which class to measure next).
struct XorShift(u64);

impl XorShift {
    fn bit(&mut self) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 & 1 == 1
    }
}

/// Times `run` on one buffer holding the class "first" input or the class "last" one,
/// classes in random order; the times of each class, in that order.
fn measure(
    samples: usize,
    first_input: &[u8],
    last_input: &[u8],
    run: impl Fn(&[u8]) -> bool,
) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(
        first_input.len(),
        last_input.len(),
        "one buffer holds either input"
    );
    // Indexed by the class bit: `true` is "first".
    let inputs = [last_input, first_input];
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut buffer = inputs[0].to_vec();
    let (mut first, mut last) = (
        Vec::with_capacity(samples / 2),
        Vec::with_capacity(samples / 2),
    );
    // Warm caches and branch predictors before recording.
    for i in 0..samples.min(10_000) {
        buffer.copy_from_slice(inputs[i % 2]);
        black_box(run(black_box(&buffer)));
    }
    for _ in 0..samples {
        let class = rng.bit();
        buffer.copy_from_slice(inputs[usize::from(class)]);
        let start = Instant::now();
        let accepted = black_box(run(black_box(&buffer)));
        let took = start.elapsed().as_nanos() as f64;
        assert!(!accepted, "a forged signature verified");
        if class {
            first.push(took);
        } else {
            last.push(took);
        }
    }
    (first, last)
}

fn samples() -> usize {
    std::env::var("FLAGON_TIMING_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// |t| above which the bounded run fails: far above what noise gives with random
/// interleaving, far below what a leak gives (the control reaches hundreds). The control
/// must exceed it.
const THRESHOLD: f64 = 10.0;

/// The line for the long run (10^6 samples or more): dudect's 4.5, below which it reports
/// no leak found.
const LONG_RUN_THRESHOLD: f64 = 4.5;
const LONG_RUN: usize = 1_000_000;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64url character with its top bit flipped: same position in the decoded
/// bytes, still canonical.
fn flip_top(c: u8) -> u8 {
    let i = B64
        .iter()
        .position(|&x| x == c)
        .expect("a base64url character");
    B64[i ^ 32]
}

#[test]
fn first_and_last_signature_byte_wrong_take_the_same_time() {
    let key = Key::new("timing test secret key, 32 bytes!").expect("not empty");
    let ring = KeyRing::new(key.clone());
    let mut session = Map::new();
    session.insert("user_id".into(), Value::Int(42));
    let genuine = flask::sign(&session, &key, NOW - 10).into_bytes();
    let sig_start = genuine
        .iter()
        .rposition(|&b| b == b'.')
        .expect("a signature")
        + 1;
    let last = genuine.len() - 1;
    // The last character carries the last byte's low four bits (its own low two bits are
    // unused): flipping its top bit changes only byte 19.
    let mut first_byte_wrong = genuine.clone();
    first_byte_wrong[sig_start] = flip_top(genuine[sig_start]);
    let mut last_byte_wrong = genuine.clone();
    last_byte_wrong[last] = flip_top(genuine[last]);
    let limits = Limits::default();
    let n = samples();
    let (first, last_wrong) = measure(n, &first_byte_wrong, &last_byte_wrong, |value| {
        flask::verify(value, &ring, NOW, 2_678_400, 0, &limits).is_ok()
    });
    let (worst, crops) = max_abs_t(&first, &last_wrong);
    let median = |x: &[f64]| {
        let mut v = x.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    eprintln!(
        "timing: {n} samples ({} first-byte-wrong, {} last-byte-wrong), medians {} ns / {} \
         ns, Welch t per crop (percentile, t): {crops:.2?}, max |t| {worst:.2}",
        first.len(),
        last_wrong.len(),
        median(&first),
        median(&last_wrong)
    );
    let line = if n >= LONG_RUN {
        LONG_RUN_THRESHOLD
    } else {
        THRESHOLD
    };
    assert!(
        worst < line,
        "first- and last-byte-wrong signatures are distinguishable: max |t| = {worst:.2} \
         (the line for {n} samples is {line})"
    );
}

/// The control: a comparison that returns at the first differing byte must be caught by
/// the same harness, or the test above proves nothing.
#[test]
fn the_harness_catches_an_early_exit_comparison() {
    fn early_exit_eq(a: &[u8], b: &[u8]) -> bool {
        for (x, y) in a.iter().zip(b) {
            if x != y {
                return false;
            }
        }
        a.len() == b.len()
    }
    let reference: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
    let mut first_byte_wrong = reference.clone();
    first_byte_wrong[0] ^= 1;
    let mut last_byte_wrong = reference.clone();
    last_byte_wrong[reference.len() - 1] ^= 1;
    let n = samples().min(100_000);
    let (first, last) = measure(n, &first_byte_wrong, &last_byte_wrong, |value| {
        early_exit_eq(value, &reference)
    });
    let (worst, crops) = max_abs_t(&first, &last);
    eprintln!("timing control (early-exit comparison): {n} samples, Welch t per crop: {crops:.2?}, max |t| {worst:.2}");
    assert!(
        worst > THRESHOLD,
        "the harness missed a comparison that leaks: max |t| = {worst:.2}"
    );
}
