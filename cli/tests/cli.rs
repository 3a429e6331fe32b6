//! The `flagon` binary end to end: exit codes, stdout, stderr, and agreement with real
//! Flask through the committed vectors (tests/flask/vectors.json, made by real Flask).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

const KEY: &str = "correct horse battery staple";
/// `classic_login` in vectors.json: `{"logged_in": true}` signed by Flask at 1700000000.
const LOGIN: &str = "eyJsb2dnZWRfaW4iOnRydWV9.ZVPxAA.njuUsaCugTIOn_G8r5TAhwpI-Yw";
const T0: u64 = 1_700_000_000;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn flagon(args: &[&str], env_key: Option<&str>, stdin: &str) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flagon"));
    cmd.args(args)
        .env_remove("FLAGON_SECRET_KEY")
        .env_remove("SECRET_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(key) = env_key {
        cmd.env("FLAGON_SECRET_KEY", key);
    }
    let mut child = cmd.spawn().expect("run the flagon binary");
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    // A command that fails before reading its input closes the pipe first: not an error.
    if let Err(e) = written {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing to flagon's stdin: {e}"
        );
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().expect("exited normally"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn run(args: &[&str]) -> Run {
    flagon(args, None, "")
}

/// A misuse: exit 2, nothing on stdout, exactly one line on stderr.
fn assert_usage_error(r: &Run, needle: &str) {
    assert_eq!(r.code, 2, "stderr: {}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.lines().count(), 1, "one line: {:?}", r.stderr);
    assert!(r.stderr.starts_with("flagon: "), "{:?}", r.stderr);
    assert!(r.stderr.contains(needle), "{needle:?} in {:?}", r.stderr);
}

/// A refused cookie: exit 1, nothing on stdout, one stderr line with the reason.
fn assert_rejected(r: &Run, reason: &str) {
    assert_eq!(r.code, 1, "stdout {:?} stderr {:?}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.lines().count(), 1, "one line: {:?}", r.stderr);
    assert!(
        r.stderr.starts_with("flagon: cookie rejected: "),
        "{:?}",
        r.stderr
    );
    assert!(r.stderr.contains(reason), "{reason:?} in {:?}", r.stderr);
}

#[test]
fn decode_prints_tagged_json() {
    let now = (T0 + 100).to_string();
    let r = run(&["decode", "--secret", KEY, "--now", &now, LOGIN]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "{\"logged_in\":true}\n", "")
    );
}

#[test]
fn decode_takes_key_from_env() {
    let now = (T0 + 100).to_string();
    let r = flagon(&["decode", "--now", &now, LOGIN], Some(KEY), "");
    assert_eq!((r.code, r.stdout.as_str()), (0, "{\"logged_in\":true}\n"));
    // A flag beats the environment.
    let r = flagon(
        &["decode", "--secret", "wrong", "--now", &now, LOGIN],
        Some(KEY),
        "",
    );
    assert_rejected(&r, "bad signature");
}

#[test]
fn decode_falls_back_to_the_apps_secret_key_variable() {
    let now = (T0 + 100).to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flagon"));
    let out = cmd
        .args(["decode", "--now", &now, LOGIN])
        .env_remove("FLAGON_SECRET_KEY")
        .env("SECRET_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).as_ref()
        ),
        (Some(0), "{\"logged_in\":true}\n"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // FLAGON_SECRET_KEY wins over SECRET_KEY.
    let out = Command::new(env!("CARGO_BIN_EXE_flagon"))
        .args(["decode", "--now", &now, LOGIN])
        .env("FLAGON_SECRET_KEY", "not the key")
        .env("SECRET_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn decode_rejects_wrong_key_tampering_and_garbage() {
    let now = (T0 + 100).to_string();
    let r = run(&["decode", "--secret", "not the key", "--now", &now, LOGIN]);
    assert_rejected(&r, "bad signature");
    assert!(
        r.stderr
            .contains("a wrong key, or the cookie was tampered with"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("fallback"),
        "no rotation hint: {}",
        r.stderr
    );
    assert!(!r.stderr.contains(LOGIN) && !r.stderr.contains("not the key"));
    let tampered = LOGIN.replacen("eyJ", "eyK", 1);
    assert_rejected(
        &run(&["decode", "--secret", KEY, "--now", &now, &tampered]),
        "",
    );
    assert_rejected(&run(&["decode", "--secret", KEY, "hello"]), "malformed");
}

#[test]
fn decode_applies_max_age_and_now() {
    let at_limit = (T0 + 60).to_string();
    let r = run(&[
        "decode",
        "--secret",
        KEY,
        "--max-age",
        "60",
        "--now",
        &at_limit,
        LOGIN,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let late = (T0 + 61).to_string();
    let r = run(&[
        "decode",
        "--secret",
        KEY,
        "--max-age",
        "60",
        "--now",
        &late,
        LOGIN,
    ]);
    assert_rejected(&r, "expired");
    let early = (T0 - 1).to_string();
    assert_rejected(
        &run(&["decode", "--secret", KEY, "--now", &early, LOGIN]),
        "future",
    );
    // Default max age is 31 days, default clock is now: a 2023 cookie is long expired.
    assert_rejected(&run(&["decode", "--secret", KEY, LOGIN]), "expired");
    let day31 = (T0 + 31 * 86400).to_string();
    assert_eq!(
        run(&["decode", "--secret", KEY, "--now", &day31, LOGIN]).code,
        0
    );
}

#[test]
fn decode_accepts_fallback_keys() {
    let now = (T0 + 100).to_string();
    let signed = flagon(
        &[
            "sign",
            "--secret",
            "old key",
            "--timestamp",
            &T0.to_string(),
        ],
        None,
        "{\"a\":1}",
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let cookie = signed.stdout.trim();
    let r = run(&[
        "decode",
        "--secret",
        KEY,
        "--fallback",
        "older",
        "--fallback",
        "old key",
        "--now",
        &now,
        cookie,
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "{\"a\":1}\n"),
        "{}",
        r.stderr
    );
    // Verified by an old key: the one case where rotation is worth a note.
    assert!(
        r.stderr
            .starts_with("flagon: note: signed with a fallback key, not the current one"),
        "{:?}",
        r.stderr
    );
    let hex: String = b"old key".iter().map(|b| format!("{b:02x}")).collect();
    let r = run(&[
        "decode",
        "--secret",
        KEY,
        "--fallback-hex",
        &hex,
        "--now",
        &now,
        cookie,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_rejected(
        &run(&["decode", "--secret", KEY, "--now", &now, cookie]),
        "bad signature",
    );
}

#[test]
fn unverified_decode_warns_and_needs_no_key() {
    let r = run(&["decode", "--unverified", LOGIN]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "{\"logged_in\":true}\n"));
    assert_eq!(r.stderr.lines().count(), 1, "{:?}", r.stderr);
    assert!(r.stderr.contains("NOT checked"), "{:?}", r.stderr);
    // Even a forged signature is printed: that is what --unverified means.
    let forged = format!("{}AAAAAAAAAAAAAAAAAAAAAAAAAAA", &LOGIN[..LOGIN.len() - 27]);
    let r = flagon(&["decode", "--unverified", &forged], Some(KEY), "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_rejected(&run(&["decode", "--unverified", "garbage"]), "malformed");
}

#[test]
fn sign_then_decode_round_trips() {
    let session = r#"{"_flashes":[{" t":["message","Saved"]}],"big":1180591620717411303424,"n":NaN,"when":{" d":"Tue, 02 Jan 2024 03:04:05 GMT"}}"#;
    let ts = T0.to_string();
    let signed = flagon(&["sign", "--timestamp", &ts], Some(KEY), session);
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    assert!(signed.stdout.ends_with('\n') && signed.stdout.lines().count() == 1);
    let now = (T0 + 5).to_string();
    let back = run(&[
        "decode",
        "--secret",
        KEY,
        "--now",
        &now,
        signed.stdout.trim(),
    ]);
    assert_eq!(
        (back.code, back.stdout.trim_end()),
        (0, session),
        "{}",
        back.stderr
    );
}

#[test]
fn sign_uses_the_clock_by_default() {
    let signed = flagon(&["sign"], Some(KEY), "{\"a\":1}");
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    // Freshly signed: verifies against the real clock with the default max age.
    let back = run(&["decode", "--secret", KEY, signed.stdout.trim()]);
    assert_eq!(
        (back.code, back.stdout.as_str()),
        (0, "{\"a\":1}\n"),
        "{}",
        back.stderr
    );
}

#[test]
fn keygen_prints_distinct_64_hex_keys() {
    let a = run(&["keygen"]);
    let b = run(&["keygen"]);
    for r in [&a, &b] {
        assert_eq!((r.code, r.stderr.as_str()), (0, ""));
        let key = r.stdout.strip_suffix('\n').unwrap();
        assert_eq!(key.len(), 64, "{key}");
        assert!(key
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
    assert_ne!(a.stdout, b.stdout);
}

#[test]
fn misuse_is_exit_2_with_one_line() {
    assert_usage_error(&run(&["decode", LOGIN]), "FLAGON_SECRET_KEY");
    assert_usage_error(&flagon(&["sign"], None, "{}"), "--secret");
    let bad_json = flagon(&["sign"], Some(KEY), "{not json");
    assert_usage_error(&bad_json, "tagged-JSON");
    assert!(!bad_json.stderr.contains("signed"), "{}", bad_json.stderr);
    assert_usage_error(&flagon(&["sign"], Some(KEY), "[1,2]"), "tagged-JSON");
    assert_usage_error(&run(&["decode", "--bogus", LOGIN]), "--bogus");
    assert_usage_error(&run(&["decode"]), "COOKIE");
    assert_usage_error(&run(&[]), "flagon decode");
    assert_usage_error(&run(&["frobnicate"]), "frobnicate");
    assert_usage_error(
        &run(&["decode", "--max-age", "soon", "--secret", KEY, LOGIN]),
        "--max-age",
    );
    assert_usage_error(&run(&["decode", "--secret-hex", "xyz", LOGIN]), "hex");
    assert_usage_error(&run(&["decode", "--secret", "", LOGIN]), "--secret");
}

#[test]
fn help_and_version_exit_0() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("decode") && r.stdout.contains("keygen"));
    let r = run(&["decode", "--help"]);
    assert!(r.stdout.contains("--max-age") && r.stdout.contains("FLAGON_SECRET_KEY"));
    assert_eq!(run(&["--version"]).code, 0);
}

fn vectors() -> Vec<Json> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/flask/vectors.json");
    let text = std::fs::read_to_string(path).expect("tests/flask/vectors.json");
    let Json::Array(all) = serde_json::from_str(&text).unwrap() else {
        panic!("vectors.json is an array")
    };
    all
}

fn str_field<'a>(v: &'a Json, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{} has no {name}", v["name"]))
}

/// `--secret-hex` and `--fallback-hex` arguments for a vector's reader.
fn key_args(v: &Json) -> Vec<String> {
    let mut args = vec![
        "--secret-hex".to_owned(),
        str_field(v, "secret_key_hex").to_owned(),
    ];
    for fallback in v["fallback_keys_hex"].as_array().unwrap() {
        args.push("--fallback-hex".into());
        args.push(fallback.as_str().unwrap().to_owned());
    }
    args
}

/// Flask-written vectors flagon refuses on purpose (see tests/it/vectors.rs): an empty
/// timestamp segment is treated as malformed.
const VALID_BUT_REFUSED: &[&str] = &["timestamp_zero"];

#[test]
fn decodes_every_cookie_real_flask_wrote() {
    let (mut checked, mut failures) = (0, Vec::new());
    for v in vectors().iter().filter(|v| v["kind"] == "valid") {
        if VALID_BUT_REFUSED.contains(&str_field(v, "name")) {
            let r = run(&["decode", "--unverified", str_field(v, "cookie")]);
            assert_rejected(&r, "malformed");
            continue;
        }
        let mut args = vec!["decode".to_owned()];
        args.extend(key_args(v));
        args.extend(["--now".into(), v["verify_at"].to_string()]);
        args.extend(["--max-age".into(), v["max_age"].to_string()]);
        args.push(str_field(v, "cookie").to_owned());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&argv);
        // What flagon prints is what Flask writes back after reading the cookie.
        if r.code != 0 || r.stdout.trim_end() != str_field(v, "reencoded_tagged_json") {
            failures.push(format!(
                "{}: exit {} {:?} {:?}",
                v["name"], r.code, r.stdout, r.stderr
            ));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 50, "only {checked} valid vectors");
}

#[test]
fn signs_what_real_flask_signs() {
    let mut checked = 0;
    for v in vectors().iter().filter(|v| v["kind"] == "valid") {
        let key = str_field(v, "secret_key_hex");
        let ts = v["signed_at"].to_string();
        let r = flagon(
            &["sign", "--secret-hex", key, "--timestamp", &ts],
            None,
            str_field(v, "reencoded_tagged_json"),
        );
        if ts == "0" {
            // Flask writes it (an empty time segment); flagon refuses to make a cookie
            // its own servers would not load (see sign_refuses_timestamp_zero…).
            assert_usage_error(&r, "--timestamp 0");
            continue;
        }
        assert_eq!(r.code, 0, "{}: {}", v["name"], r.stderr);
        assert_eq!(
            r.stdout.trim_end(),
            str_field(v, "reencoded_cookie"),
            "{}",
            v["name"]
        );
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} valid vectors");
}

#[test]
fn refuses_what_real_flask_refuses() {
    let mut checked = 0;
    for v in vectors().iter().filter(|v| v["kind"] == "invalid") {
        let mut args = vec!["decode".to_owned()];
        args.extend(key_args(v));
        args.extend(["--now".into(), v["verify_at"].to_string()]);
        args.extend(["--max-age".into(), v["max_age"].to_string()]);
        args.push("--".into());
        args.push(str_field(v, "cookie").to_owned());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&argv);
        assert_eq!(
            r.code, 1,
            "{}: accepted or misused: {:?} {:?}",
            v["name"], r.stdout, r.stderr
        );
        assert_eq!(
            (r.stdout.as_str(), r.stderr.lines().count()),
            ("", 1),
            "{}",
            v["name"]
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} invalid vectors");
}

/// Every cookie `sign` prints, `decode` accepts at that time; a timestamp that would make
/// an unloadable cookie is refused up front.
#[test]
fn sign_refuses_timestamp_zero_and_round_trips_from_one() {
    let zero = flagon(&["sign", "--timestamp", "0"], Some(KEY), r#"{"a":1}"#);
    assert_usage_error(&zero, "--timestamp 0");
    let one = flagon(&["sign", "--timestamp", "1"], Some(KEY), r#"{"a":1}"#);
    assert_eq!(one.code, 0, "{}", one.stderr);
    let cookie = one.stdout.trim();
    let back = flagon(&["decode", "--now", "1", cookie], Some(KEY), "");
    assert_eq!(
        (back.code, back.stdout.as_str()),
        (0, "{\"a\":1}\n"),
        "{}",
        back.stderr
    );
}

/// A cookie browsers would drop is printed with a one-line warning.
#[test]
fn sign_warns_about_cookies_browsers_drop() {
    // Incompressible text, so zlib cannot bring it under the limit.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let blob: String = (0..6000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect();
    let big = format!(r#"{{"blob":"{blob}"}}"#);
    let out = flagon(&["sign", "--timestamp", "1700000000"], Some(KEY), &big);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.trim().len() > 4093);
    assert!(
        out.stderr.contains("browsers drop cookies over"),
        "{}",
        out.stderr
    );
    let small = flagon(
        &["sign", "--timestamp", "1700000000"],
        Some(KEY),
        r#"{"a":1}"#,
    );
    assert_eq!(small.stderr, "");
}
