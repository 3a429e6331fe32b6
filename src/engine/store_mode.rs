//! Server-side sessions: the cookie carries a signed id, the store holds the data, and a
//! request saves its changes, never a snapshot.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use std::sync::Arc;

use http::StatusCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::sid_cookie;
use super::{
    cookie_expiry, store_expiry, Failure, FailureKind, Loaded, Opened, Origin, Outcome, Shared,
};
use crate::flask::signer::{self, Expiry};
use crate::id::{IdScheme, SessionId};
use crate::key::Purpose;
use crate::registry::SessionHandle;
use crate::session::{Lifecycle, Session, State};
use crate::store::dyn_store::DynStore;
use crate::store::{Applied, Created, Record, Renewed, StoreError};
use crate::telemetry::{self, OpenOutcome};

/// How many fresh ids to try when the store reports a collision.
const CREATE_ATTEMPTS: usize = 3;

/// The first id cookie that verifies *and* has a live record. An id that verifies but
/// has no live record is never adopted, and does not hide a later cookie of the same name
/// that does (cookie tossing: a planted or logged-out id placed first must not log the
/// user out or in). With none, the session starts empty and gets a fresh id if written.
pub(super) async fn open<'a>(
    shared: &Arc<Shared>,
    store: &dyn DynStore,
    cookie_headers: impl IntoIterator<Item = &'a [u8]> + 'a,
    now: u64,
) -> Result<Opened, StoreError> {
    // Atomic only because the future must be `Send`; nothing else touches it.
    let rejected = AtomicUsize::new(0);
    let reject = |reason: &'static str| {
        rejected.fetch_add(1, Ordering::Relaxed);
        telemetry::rejected(reason);
    };
    // Flask-Session's sid cookie (a store's own id scheme) or flagon's signed id.
    let ids = if shared.id_scheme != IdScheme::Flagon {
        Ids::FlaskSession(sid_cookie::read(shared, cookie_headers).into_iter())
    } else {
        Ids::Flagon(verified_ids(shared, cookie_headers, now, &reject))
    };
    for (id, stale_key) in ids {
        let key = id.store_key();
        let loaded = match deadline(shared, "load", store.load(&key, now)).await {
            Err(StoreError::Corrupt(why)) => {
                // A record we cannot read is not a session we can serve; the id is not adopted.
                tracing::warn!(
                    why,
                    "stored session record is corrupt; trying the next cookie or starting empty"
                );
                reject("corrupt_record");
                None
            }
            other => other?,
        };
        match loaded {
            Some(record) => {
                let span = tracing::Span::current();
                record_hash(&span, "id_hash", &id);
                telemetry::opened(
                    OpenOutcome::Loaded,
                    rejected.load(Ordering::Relaxed),
                    stale_key,
                );
                let mut state = if shared.config.strict_conflicts {
                    State::checking_reads(record.data)
                } else {
                    State::new(record.data)
                };
                state.handle = Some(SessionHandle::of(&key));
                return Ok(Opened {
                    session: Session::from_state(state, Some(shared.clone())),
                    origin: Origin::Stored(Some(Loaded {
                        id,
                        created_at: record.created_at,
                        expires_at: record.expires_at,
                        stale_key,
                    })),
                    span,
                });
            }
            None => {
                reject("unknown_id");
                tracing::debug!(
                    "session id verified but has no live record (expired, purged or unknown); \
                     trying the next cookie or starting empty"
                );
            }
        }
    }
    let rejected = rejected.into_inner();
    telemetry::opened(OpenOutcome::of(false, rejected), rejected, false);
    Ok(fresh(shared))
}

/// The verified ids of a request under one of the two id schemes.
enum Ids<F, S> {
    Flagon(F),
    FlaskSession(S),
}

impl<F, S> Iterator for Ids<F, S>
where
    F: Iterator<Item = (SessionId, bool)>,
    S: Iterator<Item = (SessionId, bool)>,
{
    type Item = (SessionId, bool);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Ids::Flagon(ids) => ids.next(),
            Ids::FlaskSession(ids) => ids.next(),
        }
    }
}

fn fresh(shared: &Arc<Shared>) -> Opened {
    Opened {
        session: Session::from_state(State::default(), Some(shared.clone())),
        origin: Origin::Stored(None),
        span: tracing::Span::current(),
    }
}

/// The ids of our cookies whose signature verifies, in header order, each with "signed
/// with a fallback key". Each rejection goes to `reject` with its metric reason and is
/// traced with its reason, never the cookie.
fn verified_ids<'s, 'a: 's, I>(
    shared: &'s Shared,
    cookie_headers: I,
    now: u64,
    reject: &'s (dyn Fn(&'static str) + Sync),
) -> impl Iterator<Item = (SessionId, bool)> + use<'s, 'a, I>
where
    I: IntoIterator<Item = &'a [u8]> + 'a,
{
    let config = &shared.config;
    let expiry = Expiry {
        now,
        // The store's expiry is the authority on age; the signature only proves origin.
        max_age: u64::MAX,
        clock_skew: config.clock_skew.as_secs(),
    };
    shared.candidates(cookie_headers).filter_map(move |value| {
        let checked = signer::unsign(
            value,
            &config.keys,
            Purpose::SessionId,
            expiry,
            config.limits.max_cookie_len,
        )
        .map_err(|e| (telemetry::reason(&e), e.to_string()))
        .and_then(|unsigned| {
            let malformed = |why: &str| ("malformed", why.to_owned());
            let raw = URL_SAFE_NO_PAD
                .decode(unsigned.payload)
                .map_err(|_| malformed("id is not base64url"))?;
            let id = SessionId::from_bytes(&raw).ok_or_else(|| malformed("id has the wrong length"))?;
            Ok((id, unsigned.key_index > 0))
        });
        match checked {
            Ok(found) => Some(found),
            Err((label, reason)) => {
                reject(label);
                tracing::debug!(%reason, "session id cookie rejected; trying the next one or starting empty");
                None
            }
        }
    })
}

/// Saves what the request did and decides the cookie.
pub(super) async fn finish(
    shared: &Shared,
    store: &Arc<dyn DynStore>,
    state: State,
    loaded: Option<Loaded>,
    now: u64,
) -> Outcome {
    let mut state = state;
    if let Some(reads) = state.reads.take() {
        // Strict conflicts: the store checks what this request read before it writes.
        state.changes.expect = reads;
    }
    let vary = state.accessed;
    let result = match loaded {
        None => finish_new(shared, store, &state, now).await,
        Some(loaded) => finish_existing(shared, store, &state, loaded, now).await,
    };
    match result {
        Ok(set_cookie) => Outcome {
            vary: vary || set_cookie.is_some(),
            set_cookie,
            failure: None,
            private: false,
        },
        Err(failure) => Outcome {
            vary,
            set_cookie: None,
            failure: Some(failure),
            private: false,
        },
    }
}

type Step = Result<Option<String>, Failure>;

/// No live session came in: create one if the handler stored something.
async fn finish_new(shared: &Shared, store: &Arc<dyn DynStore>, state: &State, now: u64) -> Step {
    if state.data.is_empty() || state.lifecycle == Lifecycle::Purge {
        return Ok(state.modified.then(|| shared.writer.deletion().to_owned()));
    }
    create(shared, store, state.data.clone(), state, now).await
}

/// Stores `data` as a new session under a fresh id; its cookie.
async fn create(
    shared: &Shared,
    store: &Arc<dyn DynStore>,
    data: crate::value::Map,
    state: &State,
    now: u64,
) -> Step {
    let expires_at = store_expiry(&shared.config, now, now);
    let record = Record::new(data, now, expires_at);
    for _ in 0..CREATE_ATTEMPTS {
        let id = SessionId::generate_for(shared.id_scheme);
        let key = id.store_key();
        match deadline(shared, "create", store.create(&key, &record)).await {
            Ok(Created::Stored) => {
                record_hash(&tracing::Span::current(), "new_id_hash", &id);
                return Ok(Some(id_cookie(shared, &id, state, now)));
            }
            Ok(_) => tracing::warn!("session id collision on create; drawing another id"),
            Err(e) => {
                if matches!(e, StoreError::Timeout(_)) {
                    // The create may still land; its id was never sent, so nobody could
                    // use it. Remove it rather than leave it to expire.
                    clean_up_orphan(shared, store, key);
                }
                return Err(store_failed(shared, &e));
            }
        }
    }
    Err(Failure::store(&shared.config))
}

/// Deletes a record whose create timed out, in the background: the record is unreachable
/// (its id never reached a client), so this only reclaims space early. A failure here is
/// harmless: the record expires at its idle timeout.
fn clean_up_orphan(shared: &Shared, store: &Arc<dyn DynStore>, key: crate::id::StoreKey) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (store, limit) = (store.clone(), shared.config.store_deadline);
    runtime.spawn(async move {
        // After the late create, on the stores that order one connection's operations.
        let outcome = tokio::time::timeout(limit, store.delete(&key)).await;
        if !matches!(outcome, Ok(Ok(()))) {
            tracing::debug!(
                "could not remove a session record whose create timed out; it expires on its own"
            );
        }
    });
}

/// Does this request end the session? Only an explicit purge, or a clear that left
/// nothing. A map the handler emptied key by key does not: its view may be stale (another
/// request may have written a key meanwhile), so the store applies the removals and keeps
/// the record, and the session lives on, empty, until its idle timeout.
fn ends_session(state: &State) -> bool {
    state.lifecycle == Lifecycle::Purge
        || (state.modified && state.changes.clear && state.data.is_empty())
}

/// A live session came in: purge, renew, apply changes or touch it.
async fn finish_existing(
    shared: &Shared,
    store: &Arc<dyn DynStore>,
    state: &State,
    loaded: Loaded,
    now: u64,
) -> Step {
    let key = loaded.id.store_key();
    if ends_session(state) {
        deadline(shared, "delete", store.delete(&key))
            .await
            .map_err(|e| store_failed(shared, &e))?;
        return Ok(Some(shared.writer.deletion().to_owned()));
    }
    let expires_at = store_expiry(&shared.config, loaded.created_at, now);
    if state.lifecycle == Lifecycle::Renew {
        return renew(shared, store, state, &loaded, expires_at, now).await;
    }
    let refresh = state.is_permanent() && shared.config.refresh_each_request;
    let resend = refresh || loaded.stale_key;
    if state.modified {
        let applied = deadline(
            shared,
            "apply",
            store.apply(&key, &state.changes, expires_at, now),
        )
        .await;
        return match applied.map_err(|e| store_failed(shared, &e))? {
            Applied::Gone => Err(interrupted()),
            Applied::Conflict => Err(conflict()),
            _ => Ok(resend.then(|| id_cookie(shared, &loaded.id, state, now))),
        };
    }
    let interval = shared.config.effective_touch_interval().as_secs();
    if state.accessed && expires_at >= loaded.expires_at.saturating_add(interval) {
        // A read is activity: move the expiry, cheaply and at most once per interval.
        deadline(shared, "touch", store.touch(&key, expires_at, now))
            .await
            .map_err(|e| store_failed(shared, &e))?;
    }
    Ok((resend && state.accessed).then(|| id_cookie(shared, &loaded.id, state, now)))
}

async fn renew(
    shared: &Shared,
    store: &Arc<dyn DynStore>,
    state: &State,
    loaded: &Loaded,
    expires_at: u64,
    now: u64,
) -> Step {
    let old = loaded.id.store_key();
    for _ in 0..CREATE_ATTEMPTS {
        let id = SessionId::generate_for(shared.id_scheme);
        let renewed = deadline(
            shared,
            "renew",
            store.renew(&old, &id.store_key(), &state.changes, expires_at, now),
        )
        .await;
        match renewed.map_err(|e| store_failed(shared, &e))? {
            Renewed::Gone => return restart(shared, store, state, now).await,
            Renewed::Conflict => return Err(conflict()),
            Renewed::Collision => {
                tracing::warn!("session id collision on renew; drawing another id");
            }
            _ => {
                record_hash(&tracing::Span::current(), "new_id_hash", &id);
                return Ok(Some(id_cookie(shared, &id, state, now)));
            }
        }
    }
    Err(Failure::store(&shared.config))
}

/// A renew (a login, typically) found its session ended meanwhile (a logout or a purge
/// raced it). The request still gets a session, as it would have had it arrived a moment
/// later: a new one holding only what this request wrote, never the ended session's data.
async fn restart(shared: &Shared, store: &Arc<dyn DynStore>, state: &State, now: u64) -> Step {
    tracing::info!(
        "session ended by a concurrent request while this one renewed it; \
         starting a new session with only this request's writes"
    );
    let mut data = crate::value::Map::new();
    state.changes.apply_to(&mut data);
    if data.is_empty() {
        return Ok(Some(shared.writer.deletion().to_owned()));
    }
    create(shared, store, data, state, now).await
}

/// Records the id's log-safe hash on the session span, hashing only if anyone listens.
fn record_hash(span: &tracing::Span, field: &'static str, id: &SessionId) {
    if !span.is_disabled() {
        span.record(field, id.log_hash());
    }
}

/// `Set-Cookie` carrying the signed id.
fn id_cookie(shared: &Shared, id: &SessionId, state: &State, now: u64) -> String {
    if shared.id_scheme != IdScheme::Flagon {
        return sid_cookie::write(shared, id, state, now);
    }
    let value = id.sign_cookie(shared.config.keys.current(), now);
    shared
        .writer
        .set_cookie(&value, cookie_expiry(&shared.config, state, now))
}

/// Runs a store operation under the configured deadline, timing it for the metrics.
async fn deadline<T>(
    shared: &Shared,
    op: &'static str,
    operation: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let limit = shared.config.store_deadline;
    let started = Instant::now();
    let result = match tokio::time::timeout(limit, operation).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Timeout(limit)),
    };
    let seconds = started.elapsed().as_secs_f64();
    telemetry::store_call(shared.store_kind, op, seconds, &result);
    result
}

fn store_failed(shared: &Shared, error: &StoreError) -> Failure {
    if matches!(error, StoreError::Timeout(_)) {
        tracing::error!(
            error = error_chain(error),
            "session store did not answer in time while saving; the write may or may not have \
             been applied (outcome unknown). The cookie is unchanged; a retry is safe, as \
             every write sets absolute values"
        );
    } else {
        tracing::error!(
            error = error_chain(error),
            "session store failed while saving; nothing was saved and the cookie is unchanged"
        );
    }
    Failure::store(&shared.config)
}

/// An error with its sources, for one log field.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    crate::error::Report(error).to_string()
}

/// Strict conflicts: a key this request read was changed by another request meanwhile.
fn conflict() -> Failure {
    tracing::info!(
        "session changed by a concurrent request after this one read it (strict conflicts); \
         this request's changes were not saved"
    );
    Failure {
        status: StatusCode::CONFLICT,
        message: "This session was changed by another request while this one ran; nothing was saved. Please try again.\n",
        kind: FailureKind::Conflict,
    }
}

/// The session ended (purged or renewed elsewhere) while this request ran.
fn interrupted() -> Failure {
    tracing::info!("session ended by a concurrent request; this request's changes were not saved");
    Failure {
        kind: FailureKind::Conflict,
        status: StatusCode::CONFLICT,
        message: "This session ended while the request was running (logged out or renewed elsewhere); nothing was saved. Please sign in again.\n",
    }
}
