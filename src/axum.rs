//! The axum adapter: [`SessionLayer`] and the [`Session`] extractor.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use flagon::{axum::SessionLayer, Key, Session, SessionConfig, SessionError};
//!
//! async fn counter(session: Session) -> Result<String, SessionError> {
//!     let n: i64 = session.get("n")?.unwrap_or(0);
//!     session.insert("n", n + 1)?;
//!     Ok((n + 1).to_string())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SessionConfig::new(Key::new(std::env::var("SECRET_KEY")?)?);
//! let app: Router = Router::new()
//!     .route("/counter", get(counter))
//!     .layer(SessionLayer::new(config)?);
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use std::task::{ready, Context, Poll};

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::COOKIE;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::engine::reply::{self, Plain};
use crate::engine::slot::Slot;
use crate::engine::{Outcome, Shared};
use crate::error::{ConfigError, SessionError};
use crate::session::Session;
use crate::store::{SessionStore, StoreError};
use crate::SessionConfig;

/// Adds sessions to every route below it.
///
/// Cookie sessions by default; [`with_store`](Self::with_store) keeps the data on the server.
#[derive(Clone)]
pub struct SessionLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer")
            .field("config", &self.shared.config)
            .field("store", &self.shared.store.is_some())
            .finish()
    }
}

impl SessionLayer {
    /// A layer for cookie sessions with `config`.
    ///
    /// # Errors
    /// The first [`ConfigError`] in `config`: bad cookie name, attribute or lifetime.
    pub fn new(config: SessionConfig) -> Result<SessionLayer, ConfigError> {
        Ok(SessionLayer {
            shared: Arc::new(Shared::new(config)?),
        })
    }

    /// Keeps session data in `store`; the cookie then carries only a signed session id.
    pub fn with_store(self, store: impl SessionStore) -> SessionLayer {
        let shared = Arc::unwrap_or_clone(self.shared);
        SessionLayer {
            shared: Arc::new(shared.with_store(store)),
        }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around your routes.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let cookies = request.headers().get_all(COOKIE).iter().cloned().collect();
        let slot = Slot::new(self.shared.clone(), cookies);
        request.extensions_mut().insert(slot.clone());
        ResponseFuture {
            stage: Stage::Handling {
                future: self.inner.call(request),
                slot: Some(slot),
            },
        }
    }
}

pin_project! {
    /// The future of a [`SessionService`] call: the wrapped service's response with the
    /// session's headers added, once the session is saved.
    ///
    /// Cookie sessions finish without allocating; a store's save runs in a boxed future.
    pub struct ResponseFuture<F> {
        #[pin]
        stage: Stage<F>,
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage<F> {
        /// The wrapped service is still working.
        Handling {
            #[pin]
            future: F,
            slot: Option<Slot<HeaderValue>>,
        },
        /// The store is saving the session.
        Saving {
            future: BoxFuture<Response>,
        },
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut stage = self.project().stage;
        loop {
            let saving = match stage.as_mut().project() {
                StageProj::Handling { future, slot } => {
                    let Ok(response) = ready!(future.poll(cx));
                    let slot = slot.take().expect("ResponseFuture polled after completion");
                    if let Some(outcome) = slot.finish_now(response.status()) {
                        return Poll::Ready(Ok(respond(response, outcome)));
                    }
                    Box::pin(async move {
                        let outcome = slot.finish(response.status()).await;
                        respond(response, outcome)
                    })
                }
                StageProj::Saving { future } => return future.as_mut().poll(cx).map(Ok),
            };
            stage.set(Stage::Saving { future: saving });
        }
    }
}

/// The handler's response with the outcome applied, or the engine's replacement.
fn respond(mut response: Response, outcome: Outcome) -> Response {
    match reply::apply(outcome, response.headers_mut()) {
        Some(plain) => plain_response(plain),
        None => response,
    }
}

/// The engine's plain-text response as an axum one.
pub(crate) fn plain_response(plain: Plain) -> Response {
    let mut response = Response::new(Body::from(plain.body));
    *response.status_mut() = plain.status;
    for (name, value) in plain.headers {
        response.headers_mut().append(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

impl reply::Headers for HeaderMap {
    fn any(&self, name: &'static str, test: impl Fn(&[u8]) -> bool) -> bool {
        self.get_all(name)
            .iter()
            .any(|value| test(value.as_bytes()))
    }

    fn append(&mut self, name: &'static str, value: &str) -> bool {
        let Ok(value) = HeaderValue::try_from(value) else {
            return false;
        };
        HeaderMap::append(self, name, value);
        true
    }
}

/// Why a [`Session`] could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionRejection {
    /// The route is not below a [`SessionLayer`]: a server bug, answered with a plain
    /// 500; this text, which names the fix, goes to the log at `error`.
    MissingLayer,
    /// The session store failed to load the session: the configured failure status.
    Store {
        /// The status to answer with.
        status: StatusCode,
        /// What went wrong.
        error: StoreError,
    },
}

impl std::fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionRejection::MissingLayer => f.write_str(
                "flagon: the Session extractor needs flagon::axum::SessionLayer on this route; add `.layer(SessionLayer::new(config)?)` to the Router",
            ),
            SessionRejection::Store { error, .. } => write!(f, "flagon: {error}"),
        }
    }
}

impl std::error::Error for SessionRejection {}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        plain_response(match &self {
            SessionRejection::MissingLayer => Plain::missing_layer(&self),
            SessionRejection::Store { status, error } => Plain::load_failed(*status, error),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Session, SessionRejection> {
        let slot = parts
            .extensions
            .get::<Slot<HeaderValue>>()
            .cloned()
            .ok_or(SessionRejection::MissingLayer)?;
        slot.session()
            .await
            .map_err(|error| SessionRejection::Store {
                status: slot.shared().config.store_failure_status,
                error,
            })
    }
}

/// `Option<Session>`: `None` on routes without the layer instead of a 500.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Session>, SessionRejection> {
        if parts.extensions.get::<Slot<HeaderValue>>().is_none() {
            return Ok(None);
        }
        <Session as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

/// A session value that did not convert answers 500 with a generic text; the details
/// (key and type) go to the trace, not to the client.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        plain_response(Plain::handler_error(&self))
    }
}
