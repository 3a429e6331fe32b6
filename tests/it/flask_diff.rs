//! Differential tests against Flask 2.3, 3.0 and 3.1 at volume (SECURITY.md §7.2).
//!
//! `tests/flask/diff/worker.py` runs once per Flask version and phase, in batch (JSON
//! lines), in the virtualenvs `tests/flask/diff/setup.sh` makes under `.venv-diff/`:
//!
//! * sessions Flask's own `save_session` wrote are decoded by flagon: the tagged JSON must
//!   agree on every one, and flagon re-signing the session must give Flask's bytes;
//! * cookies flagon signed are opened by Flask's `open_session`: every one must load, to
//!   the tagged JSON flagon wrote, and Flask re-signing it must give flagon's bytes;
//! * random floats (half of them where two shortest digit strings tie) are written as
//!   Python's `json.dumps` writes them;
//! * a corpus of malformed and crafted inputs (mutated cookies, validly signed payloads
//!   Flask never writes, whole `Cookie` headers) gets the same accept/reject decision from
//!   both, except where a documented divergence (SECURITY.md §8, DV1–DV11) says
//!   otherwise; each divergence is counted.
//!
//! Sizes come from `FLAGON_DIFF_SESSIONS`, `FLAGON_DIFF_LOADS` and `FLAGON_DIFF_CORPUS`
//! (small defaults for CI; `tests/flask/diff/run` asks for ≥ 10,000 / 10,000 / 5,000).
//! The interpreters are `FLAGON_DIFF_PYTHONS` (`:`-separated) when set, else every
//! `.venv-diff/flask-*/bin/python`, else the interop tests' Python (one Flask version).
//! With `FLAGON_DIFF_REPORT=<file>` every figure is appended to that file as well.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use axum::routing::get;
use axum::Router;
use flagon::axum::SessionLayer;
use flagon::flask::{self, Limits};
use flagon::{BigInt, Key, KeyRing, Map, Session, SessionConfig, Value};
use serde_json::Value as Json;

use crate::support::flask_peer;
use crate::support::http::send;

const SECRET: &str = "differential secret";
const NOW: u64 = 1_700_000_100;
const MAX_AGE: u64 = 2_678_400;
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// `(label, interpreter)` for every Flask version to compare against.
fn pythons() -> Vec<(String, PathBuf)> {
    if let Some(list) = std::env::var_os("FLAGON_DIFF_PYTHONS").filter(|v| !v.is_empty()) {
        // `.venv-diff/flask-3.1/bin/python` is labelled `flask-3.1`.
        return std::env::split_paths(&list)
            .map(|p| {
                let venv = p.parent().and_then(Path::parent).and_then(Path::file_name);
                let label = venv.map_or_else(
                    || p.display().to_string(),
                    |v| v.to_string_lossy().into_owned(),
                );
                (label, p)
            })
            .collect();
    }
    let dir = Path::new(REPO).join(".venv-diff");
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            let label = entry.file_name().to_string_lossy().into_owned();
            (label, entry.path().join("bin/python"))
        })
        .filter(|(_, python)| python.exists())
        .collect();
    found.sort();
    if found.is_empty() {
        found.extend(flask_peer::python_or_skip().map(|p| ("interop venv".to_owned(), p)));
    }
    found
}

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Prints a figure, and appends it to `FLAGON_DIFF_REPORT` when set.
fn report(line: &str) {
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("FLAGON_DIFF_REPORT") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("the report file opens");
        writeln!(file, "{line}").expect("the report file takes a line");
    }
}

/// Runs `worker.py <args>` with `input` on stdin; its JSON lines.
fn worker(python: &Path, args: &[&str], input: &[u8]) -> Vec<Json> {
    let script = Path::new(REPO).join("tests/flask/diff/worker.py");
    let mut child = Command::new(python)
        .arg(&script)
        .args(args)
        .args(["--secret", SECRET, "--now", &NOW.to_string()])
        .args(["--max-age", &MAX_AGE.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("the worker runs");
    writer
        .join()
        .expect("the writer thread")
        .expect("the worker reads its input");
    assert!(
        output.status.success(),
        "worker.py {args:?} failed: {}",
        output.status
    );
    String::from_utf8(output.stdout)
        .expect("the worker writes UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
        .collect()
}

fn version_of(python: &Path) -> String {
    let v = &worker(python, &["version"], b"")[0];
    format!(
        "Flask {} (itsdangerous {}, Werkzeug {})",
        v["flask"].as_str().unwrap_or("?"),
        v["itsdangerous"].as_str().unwrap_or("?"),
        v["werkzeug"].as_str().unwrap_or("?")
    )
}

fn ring() -> KeyRing {
    KeyRing::new(key())
}

fn key() -> Key {
    Key::new(SECRET).expect("not empty")
}

fn text(json: &Json, field: &str) -> String {
    json[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {json}"))
        .to_owned()
}

#[test]
fn flask_written_sessions_decode_identically_in_flagon() {
    let n = count("FLAGON_DIFF_SESSIONS", 200);
    for (index, (label, python)) in pythons().iter().enumerate() {
        let version = version_of(python);
        let seed = (1000 + index).to_string();
        let cases = worker(
            python,
            &["gen", "--n", &n.to_string(), "--seed", &seed],
            b"",
        );
        assert_eq!(cases.len(), n, "{label}: the worker wrote every session");
        let (mut agree, mut same_bytes, mut failures) = (0, 0, Vec::new());
        for case in &cases {
            let cookie = text(case, "cookie");
            let want = text(case, "tagged");
            let limits = Limits::default();
            match flask::verify(cookie.as_bytes(), &ring(), NOW, MAX_AGE, 0, &limits) {
                Ok(v) if flask::to_tagged_json(&v.session) == want => {
                    agree += 1;
                    if flask::sign(&v.session, &key(), v.timestamp) == cookie {
                        same_bytes += 1;
                    } else {
                        failures.push(format!("re-signed differently: {cookie}"));
                    }
                }
                Ok(v) => failures.push(format!(
                    "{cookie}: flagon {} != Flask {want}",
                    flask::to_tagged_json(&v.session)
                )),
                Err(e) => failures.push(format!("{cookie}: flagon refused it: {e}")),
            }
        }
        report(&format!(
            "decode {label} [{version}]: {agree}/{n} sessions agree on the tagged JSON, \
             {same_bytes}/{n} re-signed byte for byte"
        ));
        assert!(
            failures.is_empty(),
            "{label}: {} disagreements, first: {:#?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );
    }
}

#[test]
fn flagon_written_cookies_load_identically_in_flask() {
    let n = count("FLAGON_DIFF_LOADS", 200);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut cases = Vec::new();
    while cases.len() < n {
        let session = random_session(&mut rng);
        let timestamp = NOW - rng.below(MAX_AGE + 1);
        let cookie = flask::sign(&session, &key(), timestamp);
        if cookie.len() <= 4000 {
            cases.push((cookie, flask::to_tagged_json(&session), timestamp));
        }
    }
    let mut input = Vec::new();
    for (cookie, _, timestamp) in &cases {
        let line = serde_json::json!({"cookie": cookie, "timestamp": timestamp});
        writeln!(input, "{line}").expect("to a Vec");
    }
    for (label, python) in pythons() {
        let version = version_of(&python);
        let replies = worker(&python, &["load"], &input);
        assert_eq!(replies.len(), n, "{label}: one reply per cookie");
        let (mut agree, mut same_bytes, mut failures) = (0, 0, Vec::new());
        for ((cookie, tagged, _), reply) in cases.iter().zip(&replies) {
            if reply["outcome"] != "accept" || reply["tagged"].as_str() != Some(tagged) {
                failures.push(format!("{cookie} ({tagged}): Flask gave {reply}"));
                continue;
            }
            agree += 1;
            if reply["resigned"].as_str() == Some(cookie) {
                same_bytes += 1;
            } else {
                failures.push(format!("{cookie}: Flask re-signed it as {reply}"));
            }
        }
        report(&format!(
            "load {label} [{version}]: {agree}/{n} flagon cookies loaded by Flask to the same \
             tagged JSON, {same_bytes}/{n} re-signed by Flask byte for byte"
        ));
        assert!(
            failures.is_empty(),
            "{label}: {} disagreements, first: {:#?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );
    }
}

#[test]
fn floats_are_written_as_python_writes_them() {
    let n = count("FLAGON_DIFF_FLOATS", 20_000);
    let (label, python) = pythons().into_iter().next_back().expect("a Python");
    let cases = worker(&python, &["floats", "--n", &n.to_string()], b"");
    let mut failures = Vec::new();
    for case in &cases {
        let bits = case["bits"].as_u64().expect("bits");
        let want = text(case, "json");
        let mut map = Map::new();
        map.insert("f".into(), Value::Float(f64::from_bits(bits)));
        let got = flask::to_tagged_json(&map);
        if got != format!("{{\"f\":{want}}}") {
            failures.push(format!("{bits:#x}: flagon {got}, Python {want}"));
        }
    }
    report(&format!(
        "floats {label}: {}/{n} written as Python's json.dumps writes them",
        n - failures.len()
    ));
    assert!(
        failures.is_empty(),
        "{:#?}",
        &failures[..failures.len().min(5)]
    );
}

/// The divergence that explains Flask accepting what flagon refuses, per family (DV7,
/// the other way round, is handled where decisions are compared).
fn divergence(family: &str) -> Option<&'static str> {
    Some(match family {
        "truncated"
        | "bit-flip"
        | "case-changed"
        | "signature-junk"
        | "inserted-byte"
        | "signature-std-alphabet"
        | "signature-stray-bits"
        | "separators"
        | "payload-lenient-base64"
        | "payload-dots"
        | "bad-tag-shape" => "DV1",
        "zlib-trailing-bytes" => "DV2",
        "deep-nesting" => "DV4",
        "big-integer" => "DV5",
        "lone-surrogate" => "DV6",
        "top-level-not-object" => "DV8",
        "future-timestamp" => "DV9",
        _ => return None,
    })
}

/// flagon's decision on a whole `Cookie` header, through the axum layer.
async fn layer_decision(app: &Router, header: &str) -> (String, Option<String>) {
    let reply = send(app, "GET", "/", &[header], None).await;
    match reply.body.strip_prefix("accept:") {
        Some(tagged) => ("accept".to_owned(), Some(tagged.to_owned())),
        None => ("reject".to_owned(), None),
    }
}

fn layer_app() -> Router {
    let config = SessionConfig::flask(key())
        .permanent_lifetime(Duration::from_secs(MAX_AGE))
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW));
    Router::new()
        .route(
            "/",
            get(|session: Session| async move {
                if session.is_empty() {
                    "reject".to_owned()
                } else {
                    format!("accept:{}", flask::to_tagged_json(&session.to_map()))
                }
            }),
        )
        .layer(SessionLayer::new(config).expect("a valid config"))
}

#[tokio::test(flavor = "current_thread")]
async fn malformed_inputs_get_flasks_decision_or_a_documented_divergence() {
    let n = count("FLAGON_DIFF_CORPUS", 400);
    let app = layer_app();
    for (index, (label, python)) in pythons().iter().enumerate() {
        let version = version_of(python);
        let seed = (2000 + index).to_string();
        let cases = worker(
            python,
            &["corpus", "--n", &n.to_string(), "--seed", &seed],
            b"",
        );
        assert_eq!(cases.len(), n, "{label}: the worker wrote every input");
        let mut same = 0;
        let mut per_dv: BTreeMap<&str, usize> = BTreeMap::new();
        let mut per_family: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut failures = Vec::new();
        for case in &cases {
            let family = text(case, "family");
            let flask_outcome = text(case, "outcome");
            let flask_tagged = case["tagged"].as_str().map(str::to_owned);
            let mut too_long = false;
            let (ours, our_tagged) = match case["value"].as_str() {
                Some(value) => {
                    let limits = Limits::default();
                    match flask::verify(value.as_bytes(), &ring(), NOW, MAX_AGE, 0, &limits) {
                        Ok(v) => ("accept".to_owned(), Some(flask::to_tagged_json(&v.session))),
                        Err(e) => {
                            too_long = matches!(e, flask::DecodeError::TooLong { .. });
                            ("reject".to_owned(), None)
                        }
                    }
                }
                None => layer_decision(&app, &text(case, "header")).await,
            };
            let entry = per_family.entry(family.clone()).or_default();
            entry.0 += 1;
            let verdict = match (flask_outcome.as_str(), ours.as_str()) {
                ("accept", "accept") if flask_tagged == our_tagged => Ok(None),
                ("reject", "reject") => Ok(None),
                // Flask answers 500 on these; flagon starts an empty session.
                ("error", "reject") => Ok(Some("DV3")),
                // SECURITY.md A3: flagon looks at no value over 4096 bytes; Flask has no cap.
                ("accept", "reject") if too_long => Ok(Some("A3")),
                ("accept", "reject") => divergence(&family).map(Some).ok_or(()),
                // Flask reads only the first cookie of the name; flagon the first that
                // verifies.
                ("reject", "accept") if family == "header-duplicate-bad-first" => Ok(Some("DV7")),
                _ => Err(()),
            };
            match verdict {
                Ok(None) => same += 1,
                Ok(Some(dv)) => {
                    *per_dv.entry(dv).or_default() += 1;
                    entry.1 += 1;
                }
                Err(()) => failures.push(format!(
                    "{family}: Flask {flask_outcome} {flask_tagged:?}, flagon {ours} \
                     {our_tagged:?}: {case}"
                )),
            }
        }
        let dvs: Vec<String> = (1..=11)
            .map(|i| format!("DV{i}"))
            .chain(["A3".to_owned()])
            .map(|name| format!("{name} {}", per_dv.get(name.as_str()).copied().unwrap_or(0)))
            .collect();
        report(&format!(
            "corpus {label} [{version}]: {n} inputs, {same} same decision (and value), {} \
             documented differences ({}), {} unexplained",
            per_dv.values().sum::<usize>(),
            dvs.join(", "),
            failures.len()
        ));
        let families: Vec<String> = per_family
            .iter()
            .map(|(f, (total, diverged))| format!("{f} {total}/{diverged}"))
            .collect();
        report(&format!(
            "corpus {label} families (inputs/divergent): {}",
            families.join(", ")
        ));
        assert!(
            failures.is_empty(),
            "{label}: {} decisions differ from Flask without a documented divergence, first: \
             {:#?}",
            failures.len(),
            &failures[..failures.len().min(8)]
        );
    }
}

/// The tests' fixed-seed generator.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, m: u64) -> u64 {
        self.next() % m
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const POOLS: [&str; 5] = [
    "abcdefghijklmnopqrstuvwxyz",
    "ABCXYZ0123456789 _-.",
    "\"\\/<>&'\u{0}\u{1}\u{1f}\u{7f}\t\n\r",
    "\u{e9}\u{ff}\u{100}\u{7ff}\u{800}\u{2028}\u{2029}\u{feff}\u{fffd}\u{ffff}",
    "\u{1f600}\u{10000}\u{10ffff}",
];
const TAG_KEYS: [&str; 11] = [
    " t", " di", " b", " m", " u", " d", " t__", " di__", " x", "$", " ",
];

fn random_string(rng: &mut XorShift) -> String {
    let len = *rng.pick(&[0usize, 1, 2, 5, 12, 40]);
    (0..len)
        .map(|_| {
            let pool: Vec<char> = rng.pick(&POOLS).chars().collect();
            *rng.pick(&pool)
        })
        .collect()
}

fn random_key(rng: &mut XorShift) -> String {
    if rng.below(4) == 0 {
        (*rng.pick(&TAG_KEYS)).to_owned()
    } else {
        random_string(rng)
    }
}

fn random_value(rng: &mut XorShift, depth: usize) -> Value {
    let kinds = if depth < 4 { 15 } else { 12 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::Int(rng.below(2001) as i64 - 1000),
        3 => match rng.below(2) {
            0 => Value::Int(rng.next() as i64),
            _ => {
                let digits = 19 + rng.below(300);
                let mut text = String::from(if rng.below(2) == 0 { "-" } else { "" });
                text.push(char::from(b'1' + rng.below(9) as u8));
                for _ in 1..digits {
                    text.push(char::from(b'0' + rng.below(10) as u8));
                }
                BigInt::parse(&text).map_or(Value::Null, Value::BigInt)
            }
        },
        4 => Value::Float(match rng.below(3) {
            0 => *rng.pick(&[
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.0,
                0.1,
                1e16,
                1e-7,
                1e22,
                5e-324,
                f64::MAX,
                123_456_789.125,
            ]),
            _ => f64::from_bits(rng.next()),
        }),
        5 | 6 => Value::Str(random_string(rng)),
        7 => Value::Bytes(
            (0..*rng.pick(&[0u64, 1, 3, 16, 40]))
                .map(|_| rng.next() as u8)
                .collect(),
        ),
        8 => Value::Markup(random_string(rng)),
        9 => Value::Uuid(uuid::Uuid::from_u64_pair(rng.next(), rng.next())),
        10 | 11 => {
            // 1000-01-01 .. 9998-12-31, whole seconds, in UTC or another offset.
            let secs = -30_610_224_000 + (rng.below(283_980_988_800) as i64);
            let utc = time::OffsetDateTime::from_unix_timestamp(secs).expect("in range");
            let offset = time::UtcOffset::from_whole_seconds(rng.below(82_800) as i32 - 41_400)
                .unwrap_or(time::UtcOffset::UTC);
            Value::DateTime(utc.to_offset(offset))
        }
        12 => Value::List(
            (0..rng.below(5))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        13 => Value::Tuple(
            (0..rng.below(5))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Dict(
            (0..rng.below(5))
                .map(|_| (random_key(rng), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

fn random_session(rng: &mut XorShift) -> Map {
    let mut session: Map = (0..1 + rng.below(5))
        .map(|_| (random_key(rng), random_value(rng, 1)))
        .collect();
    if rng.below(5) == 0 {
        session.insert("_permanent".into(), Value::Bool(true));
    }
    session
}
