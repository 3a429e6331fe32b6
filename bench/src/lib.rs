//! Benchmarks that put flagon side by side with other session libraries.
//!
//! The crate holds three things:
//!
//! - **workload servers**, one binary per candidate (`bare-axum`, `flagon-axum`,
//!   `tower-sessions-memory`, `actix-session-cookie`, …). Each takes `--port` and serves
//!   the same four routes: `/counter` (read `n`, store `n + 1`, answer it), `/read`
//!   (answer `n`), `/put/{key}` (set `session[key] = true`) and `/keys` (the session's
//!   keys as a JSON array). Each runs on a single worker thread.
//! - **the runner** ([`runner`], binary `bench-runner`, driven by `bench/run`), which
//!   pins every server to core 0 and wrk to core 1, measures all candidates in
//!   interleaved rounds and writes one markdown table;
//! - **criterion benches** of the Flask cookie codec (`benches/codec.rs`).
//!
//! Competitors' crates are dependencies of this crate only, never of flagon.

#[cfg(feature = "actix")]
pub mod actix_app;
pub mod args;
pub mod runner;
pub mod serve;
#[cfg(feature = "tower-sessions")]
pub mod tower_app;

/// The secret every candidate signs with: 64 bytes, because actix-web's `Key` wants at
/// least that many. Benchmark use only.
pub const SECRET: &[u8; 64] = b"flagon-bench-only-secret-never-use-this-key-in-production-000001";

/// The Redis every Redis-backed candidate uses.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Error type of the server binaries: they print it and exit non-zero.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The JSON array of `keys`, as `/keys` answers it.
pub fn keys_json<S: AsRef<str>>(keys: impl IntoIterator<Item = S>) -> String {
    let list = keys
        .into_iter()
        .map(|key| serde_json::Value::String(key.as_ref().to_owned()))
        .collect();
    serde_json::Value::Array(list).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_json_is_a_json_array_of_strings() {
        assert_eq!(keys_json(["n", "a\"b"]), r#"["n","a\"b"]"#);
        assert_eq!(keys_json(Vec::<String>::new()), "[]");
    }
}
