//! Metrics and traces an operator can alert on.
//!
//! With the `metrics` feature (on by default) flagon reports through the [`metrics`]
//! crate's facade, so whichever exporter the application installs (Prometheus, StatsD,
//! OpenTelemetry, …) receives the numbers below; with no recorder installed each report
//! costs one atomic load. Every label takes a fixed set of values: no user ids, paths,
//! cookie names or session ids, so cardinality is bounded by the table.
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `flagon_sessions_opened_total` | counter | `outcome` = `new` \| `loaded` \| `rejected` | sessions opened: no cookie came in, a cookie was accepted, cookies came in and none was accepted |
//! | `flagon_sessions_rejected_total` | counter | `reason` (below) | each session cookie turned away, with why |
//! | `flagon_sessions_fallback_key_total` | counter | | cookies accepted under a fallback key (finish a key rotation when this stays at 0) |
//! | `flagon_session_saves_total` | counter | `result` = `set` \| `deleted` \| `unchanged` \| `conflict` \| `too_large` \| `store_error` \| `handler_error` | what the end of a session's request did; `handler_error`: the handler answered 5xx and nothing was saved |
//! | `flagon_sessions_revoked_total` | counter | `how` = `logout` \| `handle` \| `all` \| `all_but_current` \| `not_before` | sessions ended: `logout` is a request ending its own session (its response deletes the session cookie: [`purge`](crate::Session::purge), or a clear that left nothing); `handle`, `all` and `all_but_current` are [`Registry`](crate::registry::Registry) revocations, one per session ended; `not_before` counts calls of [`log_out_everywhere`](crate::registry::log_out_everywhere) |
//! | `flagon_store_operation_seconds` | histogram | `store` = `memory` \| `sqlite` \| `redis` \| `postgres` \| `other`, `op` = `load` \| `create` \| `apply` \| `renew` \| `touch` \| `delete` \| `not_before` | latency of each store call the engine makes, deadline included |
//! | `flagon_store_errors_total` | counter | `store`, `op` as above, `error` = `timeout` \| `backend` \| `corrupt` | store calls that failed |
//! | `flagon_set_cookie_bytes` | histogram | | length of each session `Set-Cookie` value sent, deletions included |
//!
//! Rejection reasons:
//!
//! | `reason` | cookie sessions | server-side sessions |
//! |---|---|---|
//! | `oversize` | value over [`Limits::max_cookie_len`](crate::flask::Limits) | same |
//! | `malformed` | not Flask's (or the sealed) format, or a bad timestamp segment | not a signed id, or an id of the wrong length |
//! | `bad_signature` | no key signed it (signed), or no key opens it (sealed: tampered, wrong key, other cookie name) | no key signed the id |
//! | `expired` | older than the permanent lifetime | (the store decides: `unknown_id`) |
//! | `future` | issued further ahead than the clock skew allows | same |
//! | `bad_payload` | authentic but does not decode (someone holding the key wrote it) | |
//! | `unknown_id` | | the id verified but no live record: expired, ended or never stored |
//! | `corrupt_record` | | the record under the id does not decode |
//! | `revoked` | authentic, but its owner logged out everywhere after it was issued ([`revocation_store`](crate::SessionConfig::revocation_store)) | |
//!
//! Tracing: every session gets one span, `flagon.session` (INFO), from the moment it is
//! opened until its response is decided. Its fields: `mode` (`cookie`, `sealed` or
//! `store`), `outcome` (as above), `rejected` (how many cookies were turned away),
//! `fallback_key`, `id_hash` and `new_id_hash` (server-side sessions: 16 hex digits of
//! a SHA-256 of the id's store key, enough to follow one session through the logs and
//! useless to present as a session), and `saved` (the save result). The reasons for each
//! rejection are DEBUG events inside it. No span or event carries a cookie, an id or a
//! key.

use crate::flask::DecodeError;
use crate::store::StoreError;

/// Counter: sessions opened, by `outcome`.
pub const SESSIONS_OPENED: &str = "flagon_sessions_opened_total";
/// Counter: cookies rejected, by `reason`.
pub const SESSIONS_REJECTED: &str = "flagon_sessions_rejected_total";
/// Counter: cookies accepted under a fallback key.
pub const FALLBACK_KEY: &str = "flagon_sessions_fallback_key_total";
/// Counter: session saves, by `result`.
pub const SAVES: &str = "flagon_session_saves_total";
/// Counter: sessions ended, by `how`.
pub const REVOKED: &str = "flagon_sessions_revoked_total";
/// Histogram (seconds): store operation latency, by `store` and `op`.
pub const STORE_SECONDS: &str = "flagon_store_operation_seconds";
/// Counter: failed store operations, by `store`, `op` and `error`.
pub const STORE_ERRORS: &str = "flagon_store_errors_total";
/// Histogram (bytes): `Set-Cookie` value length.
pub const SET_COOKIE_BYTES: &str = "flagon_set_cookie_bytes";

/// Registers a description and unit for each of flagon's metrics with the installed
/// recorder, so exporters that print help text (Prometheus' `# HELP`) have it. Call once,
/// after installing the recorder; without one, or without the `metrics` feature, it does
/// nothing.
pub fn describe() {
    #[cfg(feature = "metrics")]
    describe_all();
}

#[cfg(feature = "metrics")]
fn describe_all() {
    use metrics::{describe_counter, describe_histogram, Unit};
    describe_counter!(
        SESSIONS_OPENED,
        "Sessions opened, by outcome: new, loaded or rejected"
    );
    describe_counter!(SESSIONS_REJECTED, "Session cookies turned away, by reason");
    describe_counter!(
        FALLBACK_KEY,
        "Session cookies accepted under a fallback key"
    );
    describe_counter!(SAVES, "Session saves at the end of a request, by result");
    describe_counter!(REVOKED, "Sessions ended, by how");
    describe_histogram!(
        STORE_SECONDS,
        Unit::Seconds,
        "Session store operation latency, by store and operation"
    );
    describe_counter!(STORE_ERRORS, "Failed session store operations");
    describe_histogram!(
        SET_COOKIE_BYTES,
        Unit::Bytes,
        "Length of the session Set-Cookie values sent"
    );
}

/// The `reason` label of a rejected cookie.
pub(crate) fn reason(error: &DecodeError) -> &'static str {
    match error {
        DecodeError::TooLong { .. } => "oversize",
        DecodeError::Malformed(_) | DecodeError::MalformedTimestamp => "malformed",
        DecodeError::BadSignature | DecodeError::BadSeal => "bad_signature",
        DecodeError::Expired { .. } => "expired",
        DecodeError::FromTheFuture { .. } => "future",
        DecodeError::Payload(_) => "bad_payload",
    }
}

/// The `error` label of a failed store call.
fn store_error(error: &StoreError) -> &'static str {
    match error {
        StoreError::Timeout(_) => "timeout",
        StoreError::Corrupt(_) => "corrupt",
        _ => "backend",
    }
}

/// How a session was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenOutcome {
    New,
    Loaded,
    Rejected,
}

impl OpenOutcome {
    /// `loaded` if a cookie was accepted, else `rejected` if any was turned away, else `new`.
    pub(crate) fn of(accepted: bool, rejected: usize) -> OpenOutcome {
        match (accepted, rejected) {
            (true, _) => OpenOutcome::Loaded,
            (false, 0) => OpenOutcome::New,
            (false, _) => OpenOutcome::Rejected,
        }
    }

    fn label(self) -> &'static str {
        match self {
            OpenOutcome::New => "new",
            OpenOutcome::Loaded => "loaded",
            OpenOutcome::Rejected => "rejected",
        }
    }
}

/// A fresh `flagon.session` span, fields to be recorded as the session goes.
pub(crate) fn session_span(mode: &'static str) -> tracing::Span {
    tracing::info_span!(
        target: "flagon",
        "flagon.session",
        mode,
        outcome = tracing::field::Empty,
        rejected = tracing::field::Empty,
        fallback_key = tracing::field::Empty,
        id_hash = tracing::field::Empty,
        new_id_hash = tracing::field::Empty,
        saved = tracing::field::Empty,
    )
}

/// One cookie turned away.
pub(crate) fn rejected(reason: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(SESSIONS_REJECTED, "reason" => reason).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = reason;
}

/// The session is open: count it and record it on the current span.
pub(crate) fn opened(outcome: OpenOutcome, rejected: usize, fallback_key: bool) {
    let span = tracing::Span::current();
    span.record("outcome", outcome.label());
    span.record("rejected", rejected);
    span.record("fallback_key", fallback_key);
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(SESSIONS_OPENED, "outcome" => outcome.label()).increment(1);
        if fallback_key {
            metrics::counter!(FALLBACK_KEY).increment(1);
        }
    }
}

/// The session's response is decided: count the save result and the cookie's size.
pub(crate) fn saved(result: &'static str, set_cookie: Option<&str>) {
    tracing::Span::current().record("saved", result);
    tracing::debug!(target: "flagon", result, "session finished");
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(SAVES, "result" => result).increment(1);
        if let Some(cookie) = set_cookie {
            metrics::histogram!(SET_COOKIE_BYTES).record(cookie.len() as f64);
        }
        if result == "deleted" {
            metrics::counter!(REVOKED, "how" => "logout").increment(1);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = set_cookie;
}

/// `count` sessions were ended through the registry.
pub(crate) fn revoked(how: &'static str, count: u64) {
    tracing::info!(target: "flagon", how, count, "sessions revoked");
    #[cfg(feature = "metrics")]
    metrics::counter!(REVOKED, "how" => how).increment(count);
}

/// A store call finished (or hit its deadline) after `seconds`.
pub(crate) fn store_call<T>(
    store: &'static str,
    op: &'static str,
    seconds: f64,
    result: &Result<T, StoreError>,
) {
    #[cfg(feature = "metrics")]
    {
        metrics::histogram!(STORE_SECONDS, "store" => store, "op" => op).record(seconds);
        if let Err(error) = result {
            metrics::counter!(
                STORE_ERRORS,
                "store" => store,
                "op" => op,
                "error" => store_error(error)
            )
            .increment(1);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (store, op, seconds, result, store_error);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_accepted_then_rejected() {
        assert_eq!(OpenOutcome::of(true, 3), OpenOutcome::Loaded);
        assert_eq!(OpenOutcome::of(false, 0), OpenOutcome::New);
        assert_eq!(OpenOutcome::of(false, 1), OpenOutcome::Rejected);
    }

    #[test]
    fn every_decode_error_has_a_documented_reason() {
        let docs = include_str!("telemetry.rs");
        for error in [
            DecodeError::TooLong { len: 1, max: 0 },
            DecodeError::Malformed("x"),
            DecodeError::MalformedTimestamp,
            DecodeError::BadSignature,
            DecodeError::BadSeal,
            DecodeError::Expired { age: 1, max_age: 0 },
            DecodeError::FromTheFuture {
                ahead: 1,
                allowed: 0,
            },
            DecodeError::Payload("x"),
        ] {
            let label = reason(&error);
            assert!(docs.contains(&format!("//! | `{label}` |")), "{label}");
        }
    }
}
