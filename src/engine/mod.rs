//! The framework-free core: open a session from `Cookie` headers, decide what to send back.
//!
//! Adapters call [`open`] when a handler extracts the session and [`finish`] when the
//! response is ready; both take plain header bytes and a status, never framework types.
//! The only I/O is the store, and every store call runs under the configured deadline.

mod cookie_mode;
mod not_before;
pub(crate) mod reply;
mod sid_cookie;
pub(crate) mod slot;
mod store_mode;
#[cfg(test)]
mod tests;

pub(crate) use store_mode::error_chain;

use std::sync::Arc;

use http::StatusCode;
use tracing::Instrument as _;

use crate::config::{CookieMode, SessionConfig};
use crate::cookie::{candidates, CookieWriter};
use crate::error::ConfigError;
use crate::id::{IdScheme, SessionId};
use crate::session::{Host, Session, State};
use crate::store::dyn_store::DynStore;
use crate::store::{SessionStore, StoreError};
use crate::telemetry;

/// Everything a layer shares between requests.
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    pub(crate) config: SessionConfig,
    pub(crate) writer: CookieWriter,
    pub(crate) store: Option<Arc<dyn DynStore>>,
    /// How the id cookie names a session: the store's choice.
    pub(crate) id_scheme: IdScheme,
    /// The store's `store` label in metrics ([`SessionStore::kind`]).
    pub(crate) store_kind: &'static str,
}

impl Shared {
    pub(crate) fn new(config: SessionConfig) -> Result<Shared, ConfigError> {
        config.validate()?;
        warn_weak_settings(&config);
        Ok(Shared {
            writer: CookieWriter::new(&config),
            config,
            store: None,
            id_scheme: IdScheme::Flagon,
            store_kind: "none",
        })
    }

    pub(crate) fn with_store(mut self, store: impl SessionStore) -> Shared {
        self.id_scheme = store.id_scheme();
        self.store_kind = store.kind();
        self.store = Some(Arc::new(store));
        self
    }

    /// Values of our cookie in the request's `Cookie` header fields, in order.
    pub(crate) fn candidates<'h: 's, 's, I>(
        &'s self,
        headers: I,
    ) -> impl Iterator<Item = &'h [u8]> + 's
    where
        I: IntoIterator<Item = &'h [u8]>,
        I::IntoIter: 's,
    {
        candidates(headers, self.config.cookie_name.as_bytes())
    }
}

/// Keys shorter than this are accepted (Flask keys must keep working) but warned about.
const SHORT_KEY: usize = 32;

/// The startup warnings of SECURITY.md CK-1 and CR-7: settings that work but weaken
/// sessions. Once per layer, through `tracing`.
fn warn_weak_settings(config: &SessionConfig) {
    let len = config.keys.current().secret_len();
    if len < SHORT_KEY {
        tracing::warn!(
            bytes = len,
            "the session secret key is only {len} bytes: anyone who guesses it can forge \
             sessions. Use at least {SHORT_KEY} random bytes (`flagon keygen` prints a key)"
        );
    }
    if !config.secure && !config.partitioned {
        tracing::warn!(
            "session cookies are configured without Secure: browsers send them over plain \
             http too, where they can be read and replayed. Fine on localhost while \
             developing; in production serve https and keep Secure on"
        );
    }
}

/// Where an opened session came from; what [`finish`] needs besides the state.
#[derive(Debug)]
pub(crate) enum Origin {
    /// Cookie sessions; `reissue`: re-write the cookie even if unchanged (a signed
    /// cookie read while sealing).
    Cookie { reissue: bool },
    /// Server-side sessions.
    Stored(Option<Loaded>),
}

/// A session id that verified and a live record under it.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) id: SessionId,
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
    /// The id cookie was signed with a fallback key and should be re-signed.
    pub(crate) stale_key: bool,
}

/// An open session: the handle the handler uses, and where it came from.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) session: Session,
    pub(crate) origin: Origin,
    /// The session's `flagon.session` span, open until the response is decided.
    pub(crate) span: tracing::Span,
}

/// Opens the session of a request from its `Cookie` header fields.
///
/// # Errors
/// Only a store failure; any bad cookie is an empty session.
pub(crate) async fn open<'a>(
    shared: &Arc<Shared>,
    cookie_headers: impl IntoIterator<Item = &'a [u8]> + 'a,
) -> Result<Opened, StoreError> {
    let now = shared.config.clock.now();
    let span = telemetry::session_span(mode(shared));
    match &shared.store {
        None => {
            let (opened, stats) = span.in_scope(|| cookie_mode::open(shared, cookie_headers, now));
            let Some(revocations) = &shared.config.revocations else {
                span.in_scope(|| stats.record());
                return Ok(opened);
            };
            not_before::check(shared, revocations.as_ref(), opened, stats)
                .instrument(span)
                .await
        }
        Some(store) => {
            store_mode::open(shared, store.as_ref(), cookie_headers, now)
                .instrument(span)
                .await
        }
    }
}

/// The `mode` field of the session span.
fn mode(shared: &Shared) -> &'static str {
    match &shared.store {
        Some(_) => "store",
        None if shared.config.cookie_mode.seals() => "sealed",
        None => "cookie",
    }
}

/// Opens a cookie session, which needs no I/O (for synchronous access).
#[cfg(feature = "actix")]
pub(crate) fn open_cookie<'a>(
    shared: &Arc<Shared>,
    cookie_headers: impl IntoIterator<Item = &'a [u8]> + 'a,
) -> Opened {
    cookie_mode::open(shared, cookie_headers, shared.config.clock.now()).0
}

/// What to add to the response, or what to replace it with; [`reply::apply`] turns it
/// into header edits or a replacement response.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Add `Cookie` to `Vary`.
    pub(crate) vary: bool,
    /// A `Set-Cookie` value to append.
    pub(crate) set_cookie: Option<String>,
    /// Add `Cache-Control: private` unless the response has a `Cache-Control` already
    /// (a session cookie goes out and the layer asks for it).
    pub(crate) private: bool,
    /// Replace the response: saving failed and the client must know.
    pub(crate) failure: Option<Failure>,
}

/// A response that replaces the handler's because the session could not be saved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: &'static str,
    /// Why, for the save-result metric.
    pub(crate) kind: FailureKind,
}

/// Why a session could not be saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The store failed or did not answer in time.
    Store,
    /// The session ended elsewhere while this request ran.
    Conflict,
    /// The cookie would be over the size limit.
    TooLarge,
}

impl FailureKind {
    fn label(self) -> &'static str {
        match self {
            FailureKind::Store => "store_error",
            FailureKind::Conflict => "conflict",
            FailureKind::TooLarge => "too_large",
        }
    }
}

impl Failure {
    pub(crate) fn store(config: &SessionConfig) -> Failure {
        Failure {
            status: config.store_failure_status,
            message: reply::STORE_FAILURE_MESSAGE,
            kind: FailureKind::Store,
        }
    }
}

/// Decides what the response carries, saving to the store if there is one.
///
/// `opened` is `None` when the handler never extracted the session; Flask still re-sends
/// a permanent session's cookie then, so the cookie is opened here if that could apply.
pub(crate) async fn finish<'a>(
    shared: &Arc<Shared>,
    opened: Option<Opened>,
    cookie_headers: impl IntoIterator<Item = &'a [u8]> + 'a,
    status: StatusCode,
) -> Outcome {
    let Some(store) = &shared.store else {
        return finish_cookie(shared, opened, cookie_headers, status);
    };
    let now = shared.config.clock.now();
    let Some(opened) = opened else {
        return Outcome::default();
    };
    let span = opened.span;
    let state = opened.session.take_state();
    if status.is_server_error() {
        return span.in_scope(|| server_error(&state, status));
    }
    let outcome = async {
        let outcome = match opened.origin {
            Origin::Stored(loaded) => store_mode::finish(shared, store, state, loaded, now).await,
            Origin::Cookie { reissue } => cookie_mode::finish(shared, state, reissue, now),
        };
        record_save(shared, &outcome);
        outcome
    }
    .instrument(span)
    .await;
    mark_private(shared, outcome)
}

/// Counts what the end of a session's request did, and records it on its span.
fn record_save(shared: &Shared, outcome: &Outcome) {
    let result = match (&outcome.failure, &outcome.set_cookie) {
        (Some(failure), _) => failure.kind.label(),
        (None, Some(cookie)) if cookie == shared.writer.deletion() => "deleted",
        (None, Some(_)) => "set",
        (None, None) => "unchanged",
    };
    telemetry::saved(result, outcome.set_cookie.as_deref());
}

/// Asks for `Cache-Control: private` when a cookie goes out (SECURITY CK-10).
fn mark_private(shared: &Shared, mut outcome: Outcome) -> Outcome {
    outcome.private = outcome.set_cookie.is_some() && shared.config.cache_control_private;
    outcome
}

/// [`finish`] for a layer without a store, which needs no `.await`: adapters call it
/// directly and spare the request a boxed future.
pub(crate) fn finish_cookie<'a>(
    shared: &Arc<Shared>,
    opened: Option<Opened>,
    cookie_headers: impl IntoIterator<Item = &'a [u8]> + 'a,
    status: StatusCode,
) -> Outcome {
    let now = shared.config.clock.now();
    let config = &shared.config;
    let opened = match opened {
        Some(opened) => opened,
        // The transition window opens every cookie, so signed ones get re-sealed.
        None if config.refresh_each_request
            || config.cookie_mode == CookieMode::SealedAcceptingSigned =>
        {
            // Refreshing the cookie of a handler that never opened the session: no
            // revocation check here (it cannot wait for a store); the next request that
            // opens the session checks it.
            let span = telemetry::session_span(mode(shared));
            span.in_scope(|| {
                let (opened, stats) = cookie_mode::open(shared, cookie_headers, now);
                stats.record();
                opened
            })
        }
        None => return Outcome::default(),
    };
    let reissue = matches!(opened.origin, Origin::Cookie { reissue: true });
    let state = opened.session.take_state();
    opened.span.in_scope(|| {
        if status.is_server_error() {
            return server_error(&state, status);
        }
        let outcome = cookie_mode::finish(shared, state, reissue, now);
        record_save(shared, &outcome);
        mark_private(shared, outcome)
    })
}

/// The handler failed: save nothing, but a cached response must still vary.
fn server_error(state: &State, status: StatusCode) -> Outcome {
    telemetry::saved("handler_error", None);
    if state.modified {
        tracing::warn!(
            status = status.as_u16(),
            "the handler answered {status}, so the session changes it made are not saved \
             (a failed request never half-saves a session)"
        );
    }
    Outcome {
        vary: state.accessed,
        ..Outcome::default()
    }
}

/// What a session needs of its layer; see [`Host`].
impl Host for Shared {
    fn now(&self) -> u64 {
        self.config.clock.now()
    }

    fn cookie_size(&self, state: &State) -> Option<(usize, usize)> {
        if self.store.is_some() {
            return None;
        }
        let size = cookie_mode::encode(self, state, self.config.clock.now()).len();
        Some((size, self.config.max_cookie_size))
    }
}

/// The expiry to give a stored session now: idle timeout, capped by the absolute one.
pub(crate) fn store_expiry(config: &SessionConfig, created_at: u64, now: u64) -> u64 {
    let mut expires = now.saturating_add(config.effective_idle().as_secs());
    if let Some(absolute) = config.absolute_timeout {
        expires = expires.min(created_at.saturating_add(absolute.as_secs()));
    }
    expires
}

/// `Expires` for a cookie: only permanent sessions have one.
pub(crate) fn cookie_expiry(config: &SessionConfig, state: &State, now: u64) -> Option<u64> {
    state
        .is_permanent()
        .then(|| now.saturating_add(config.permanent_lifetime.as_secs()))
}
