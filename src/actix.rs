//! The actix-web adapter: [`SessionMiddleware`] and the [`Session`] extractor.
//!
//! The same engine as the axum adapter, so both frameworks behave identically.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use flagon::{actix::SessionMiddleware, Key, Session, SessionConfig};
//!
//! async fn counter(session: Session) -> actix_web::Result<String> {
//!     let n: i64 = session.get("n")?.unwrap_or(0);
//!     session.insert("n", n + 1)?;
//!     Ok((n + 1).to_string())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let middleware = SessionMiddleware::new(SessionConfig::new(Key::new("change me")?))?;
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(middleware.clone())
//!         .route("/counter", web::get().to(counter))
//! })
//! .bind(("127.0.0.1", 8080))?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, COOKIE, RETRY_AFTER, SET_COOKIE, VARY,
};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use pin_project_lite::pin_project;

use crate::engine::slot::Slot;
use crate::engine::{self, Failure, Outcome, Shared};
use crate::error::{ConfigError, SessionError};
use crate::session::Session;
use crate::store::{SessionStore, StoreError};
use crate::SessionConfig;

/// Adds sessions to an actix-web `App` or scope (`.wrap(middleware)`).
///
/// Cookie sessions by default; [`with_store`](Self::with_store) keeps the data on the server.
#[derive(Clone)]
pub struct SessionMiddleware {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMiddleware")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl SessionMiddleware {
    /// Middleware for cookie sessions with `config`.
    ///
    /// # Errors
    /// The first [`ConfigError`] in `config`.
    pub fn new(config: SessionConfig) -> Result<SessionMiddleware, ConfigError> {
        Ok(SessionMiddleware {
            shared: Arc::new(Shared::new(config)?),
        })
    }

    /// Keeps session data in `store`; the cookie then carries only a signed session id.
    pub fn with_store(self, store: impl SessionStore) -> SessionMiddleware {
        SessionMiddleware {
            shared: Arc::new((*self.shared).clone().with_store(store)),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = SessionMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<SessionMiddlewareService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionMiddlewareService {
            service: Rc::new(service),
            shared: self.shared.clone(),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around your routes.
pub struct SessionMiddlewareService<S> {
    service: Rc<S>,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for SessionMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionMiddlewareService")
    }
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for SessionMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let cookies = request.headers().get_all(COOKIE);
        let cookies = cookies.cloned().collect();
        let slot = Slot::new(self.shared.clone(), cookies);
        request.extensions_mut().insert(slot.clone());
        ResponseFuture {
            stage: Stage::Handling {
                future: self.service.call(request),
                slot: Some(slot),
            },
        }
    }
}

pin_project! {
    /// The future of a [`SessionMiddlewareService`] call: the wrapped service's response
    /// with the session's headers added, once the session is saved.
    ///
    /// Cookie sessions finish without allocating; a store's save runs in a boxed future.
    pub struct ResponseFuture<F, B> {
        #[pin]
        stage: Stage<F, B>,
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage<F, B> {
        /// The wrapped service is still working.
        Handling {
            #[pin]
            future: F,
            slot: Option<Slot<HeaderValue>>,
        },
        /// The store is saving the session.
        Saving {
            future: LocalBoxFuture<ServiceResponse<EitherBody<B>>>,
        },
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut stage = self.project().stage;
        loop {
            let saving = match stage.as_mut().project() {
                StageProj::Handling { future, slot } => {
                    let response = ready!(future.poll(cx))?;
                    let slot = slot.take().expect("ResponseFuture polled after completion");
                    let status = http::StatusCode::from_u16(response.status().as_u16())
                        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
                    if let Some(outcome) = slot.finish_now(status) {
                        return Poll::Ready(Ok(respond(response, outcome)));
                    }
                    Box::pin(async move {
                        let outcome = slot.finish(status).await;
                        respond(response, outcome)
                    }) as LocalBoxFuture<_>
                }
                StageProj::Saving { future } => return future.as_mut().poll(cx).map(Ok),
            };
            stage.set(Stage::Saving { future: saving });
        }
    }
}

/// The response with the outcome applied.
fn respond<B>(
    mut response: ServiceResponse<B>,
    outcome: Outcome,
) -> ServiceResponse<EitherBody<B>> {
    match apply(&mut response, outcome) {
        Some(replacement) => response.into_response(replacement).map_into_right_body(),
        None => response.map_into_left_body(),
    }
}

/// Adds the outcome's headers, or returns the response that replaces the handler's.
fn apply<B>(response: &mut ServiceResponse<B>, outcome: Outcome) -> Option<HttpResponse> {
    if let Some(failure) = outcome.failure {
        let mut replaced = failure_response(&failure);
        if outcome.vary {
            add_vary_cookie(replaced.headers_mut());
        }
        return Some(replaced);
    }
    let headers = response.headers_mut();
    if outcome.vary {
        add_vary_cookie(headers);
    }
    if outcome.private && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    }
    if let Some(cookie) = outcome.set_cookie {
        match HeaderValue::try_from(cookie) {
            Ok(value) => headers.append(SET_COOKIE, value),
            Err(_) => {
                tracing::error!("session Set-Cookie value is not a valid header; nothing sent");
                return Some(failure_response(&Failure {
                    status: http::StatusCode::INTERNAL_SERVER_ERROR,
                    message: "The session could not be saved.\n",
                    kind: engine::FailureKind::Store,
                }));
            }
        }
    }
    None
}

fn actix_status(status: http::StatusCode) -> ActixStatus {
    ActixStatus::from_u16(status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
}

fn failure_response(failure: &Failure) -> HttpResponse {
    let mut builder = HttpResponse::build(actix_status(failure.status));
    builder.content_type("text/plain; charset=utf-8");
    if failure.status == http::StatusCode::SERVICE_UNAVAILABLE {
        builder.insert_header((RETRY_AFTER, "1"));
    }
    builder.body(failure.message)
}

/// Merges `Cookie` into `Vary` unless it (or `*`) is already there.
fn add_vary_cookie(headers: &mut actix_web::http::header::HeaderMap) {
    let present = headers
        .get_all(VARY)
        .any(|value| engine::vary_covers_cookie(value.as_bytes()));
    if !present {
        headers.append(
            HeaderName::from_static("vary"),
            HeaderValue::from_static("Cookie"),
        );
    }
}

/// Why a [`Session`] could not be extracted in actix-web.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionRejection {
    /// The route is not wrapped by [`SessionMiddleware`]: a server bug, answered with 500.
    MissingMiddleware,
    /// The session store failed to load the session: the configured failure status.
    Store {
        /// The status to answer with.
        status: http::StatusCode,
        /// What went wrong.
        error: StoreError,
    },
}

impl std::fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionRejection::MissingMiddleware => f.write_str(
                "flagon: the Session extractor needs flagon::actix::SessionMiddleware; add `.wrap(SessionMiddleware::new(config)?)` to the App",
            ),
            SessionRejection::Store { error, .. } => write!(f, "flagon: {error}"),
        }
    }
}

impl std::error::Error for SessionRejection {}

impl ResponseError for SessionRejection {
    fn status_code(&self) -> ActixStatus {
        match self {
            SessionRejection::MissingMiddleware => ActixStatus::INTERNAL_SERVER_ERROR,
            SessionRejection::Store { status, .. } => actix_status(*status),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            SessionRejection::MissingMiddleware => {
                tracing::error!("{self}");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body(format!("{self}\n"))
            }
            SessionRejection::Store { status, error } => {
                tracing::error!(
                    error = engine::error_chain(error),
                    "session store failed while loading; the cookie is left unchanged"
                );
                failure_response(&Failure {
                    status: *status,
                    message: engine::STORE_FAILURE_MESSAGE,
                    kind: engine::FailureKind::Store,
                })
            }
        }
    }
}

impl FromRequest for Session {
    type Error = SessionRejection;
    type Future = LocalBoxFuture<Result<Session, SessionRejection>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let slot = request.extensions().get::<Slot<HeaderValue>>().cloned();
        Box::pin(async move {
            let slot = slot.ok_or(SessionRejection::MissingMiddleware)?;
            slot.session()
                .await
                .map_err(|error| SessionRejection::Store {
                    status: slot.shared().config.store_failure_status,
                    error,
                })
        })
    }
}

/// A session value that did not convert answers 500 with a generic text; the details go
/// to the trace, not to the client.
impl ResponseError for SessionError {
    fn status_code(&self) -> ActixStatus {
        ActixStatus::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        tracing::error!(error = %self, "session error in handler");
        HttpResponse::InternalServerError()
            .content_type("text/plain; charset=utf-8")
            .body("The session could not be read or written.\n")
    }
}
