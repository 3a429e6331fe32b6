//! The actix-web adapter: [`SessionMiddleware`] and the [`Session`] extractor.
//!
//! The same engine as the axum adapter, so both frameworks behave identically.
//!
//! - **Getting the session.** Take `session: Session` as a handler argument (an extractor
//!   that loads a server-side session from its store). Where you hold an `HttpRequest`, a
//!   `ServiceRequest` or a guard's `GuardContext` instead, [`SessionExt::get_session`]
//!   returns it without awaiting: always for cookie sessions, and with a store once an
//!   extractor of the request has loaded it.
//! - **Threads and spawned tasks.** [`Session`] is `Send + Sync` and cheap to clone; a
//!   clone may go into `actix_web::rt::spawn` or `tokio::spawn`. Changes are saved when
//!   the handler's response goes out, so a change made later by such a task is not
//!   saved; flagon logs it at `warn`. Make the changes before returning.
//! - **`Secure` on plain http.** Session cookies are `Secure` by default. Browsers keep
//!   them from `https://` pages and from plain `http://` only on `localhost` and loopback
//!   addresses; call [`SessionConfig::check_served_at`] with your address at startup to
//!   be warned otherwise, and use `.secure(false)` for development only.
//! - **How each error becomes a response.** A missing middleware is a plain 500 (`Internal
//!   Server Error`) with the fix logged at `error`. A store that fails to load answers the
//!   configured status (503 with `Retry-After: 1` by default) and `Vary: Cookie`, the
//!   reason logged at `error`. A [`SessionError`] returned by a handler is a plain 500,
//!   logged at `error`. A handler that answers 5xx saves none of its session changes
//!   (logged at `warn`). Nothing about keys, cookies or the store reaches the client.
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
use actix_web::dev::Extensions;
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::guard::GuardContext;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, COOKIE};
use actix_web::http::StatusCode as ActixStatus;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use pin_project_lite::pin_project;

use crate::engine::reply::{self, Plain};
use crate::engine::slot::Slot;
use crate::engine::{Outcome, Shared};
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

/// The handler's response with the outcome applied, or the engine's replacement.
fn respond<B>(
    mut response: ServiceResponse<B>,
    outcome: Outcome,
) -> ServiceResponse<EitherBody<B>> {
    match reply::apply(outcome, response.headers_mut()) {
        Some(plain) => response
            .into_response(plain_response(plain))
            .map_into_right_body(),
        None => response.map_into_left_body(),
    }
}

fn actix_status(status: http::StatusCode) -> ActixStatus {
    ActixStatus::from_u16(status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
}

/// The engine's plain-text response as an actix-web one.
pub(crate) fn plain_response(plain: Plain) -> HttpResponse {
    let mut builder = HttpResponse::build(actix_status(plain.status));
    for header in plain.headers {
        builder.append_header(header);
    }
    builder.body(plain.body)
}

impl reply::Headers for HeaderMap {
    fn any(&self, name: &'static str, test: impl Fn(&[u8]) -> bool) -> bool {
        self.get_all(name).any(|value| test(value.as_bytes()))
    }

    fn append(&mut self, name: &'static str, value: &str) -> bool {
        let Ok(value) = HeaderValue::try_from(value) else {
            return false;
        };
        HeaderMap::append(self, HeaderName::from_static(name), value);
        true
    }
}

/// Why a [`Session`] could not be extracted in actix-web.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionRejection {
    /// The route is not wrapped by [`SessionMiddleware`]: a server bug, answered with a
    /// plain 500; this text, which names the fix, goes to the log at `error`.
    MissingMiddleware,
    /// [`SessionExt::get_session`] was called before the session was loaded from its
    /// store: a server bug, answered like [`MissingMiddleware`](Self::MissingMiddleware).
    NotLoaded,
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
            SessionRejection::NotLoaded => f.write_str(
                "flagon: get_session() on a session kept in a store that was not loaded yet; \
                 take `Session` as a handler argument, or `req.extract::<Session>().await` in \
                 middleware, before calling it",
            ),
            SessionRejection::Store { error, .. } => write!(f, "flagon: {error}"),
        }
    }
}

impl std::error::Error for SessionRejection {}

impl ResponseError for SessionRejection {
    fn status_code(&self) -> ActixStatus {
        match self {
            SessionRejection::MissingMiddleware | SessionRejection::NotLoaded => {
                ActixStatus::INTERNAL_SERVER_ERROR
            }
            SessionRejection::Store { status, .. } => actix_status(*status),
        }
    }

    fn error_response(&self) -> HttpResponse {
        plain_response(match self {
            SessionRejection::MissingMiddleware | SessionRejection::NotLoaded => {
                Plain::missing_layer(self)
            }
            SessionRejection::Store { status, error } => Plain::load_failed(*status, error),
        })
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
        plain_response(Plain::handler_error(self))
    }
}

/// The session from actix-web's request types, without awaiting (actix-session's
/// `SessionExt`).
///
/// Cookie sessions are always available: the cookie is verified on the spot. With a
/// server-side store the session must have been loaded by an extractor of this request
/// first (a handler's `Session` argument, or `req.extract::<Session>().await` in
/// middleware), since loading it means awaiting the store.
///
/// ```
/// use actix_web::{guard, test, web, App, HttpRequest, HttpResponse};
/// use flagon::actix::{SessionExt, SessionMiddleware};
/// use flagon::{Key, SessionConfig};
///
/// async fn whoami(request: HttpRequest) -> actix_web::Result<String> {
///     let session = request.get_session()?;
///     Ok(if session.is_truthy("logged_in") { "user" } else { "guest" }.to_owned())
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let config = SessionConfig::new(Key::new("0123456789abcdef0123456789abcdef")?);
/// let app = test::init_service(
///     App::new()
///         .wrap(SessionMiddleware::new(config)?)
///         // A guard sees the session too: only signed-in visitors reach /admin.
///         .route(
///             "/admin",
///             web::get()
///                 .guard(guard::fn_guard(|ctx| {
///                     ctx.get_session().is_ok_and(|s| s.is_truthy("logged_in"))
///                 }))
///                 .to(HttpResponse::Ok),
///         )
///         .route("/whoami", web::get().to(whoami)),
/// )
/// .await;
/// let reply = test::call_and_read_body(&app, test::TestRequest::get().uri("/whoami").to_request()).await;
/// assert_eq!(reply, "guest");
/// let admin = test::call_service(&app, test::TestRequest::get().uri("/admin").to_request()).await;
/// assert_eq!(admin.status(), 404);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub trait SessionExt {
    /// This request's session.
    ///
    /// # Errors
    /// [`SessionRejection::MissingMiddleware`] outside [`SessionMiddleware`], and
    /// [`SessionRejection::NotLoaded`] for a store-backed session no extractor has loaded
    /// yet. Both answer a plain 500 when returned from a handler.
    fn get_session(&self) -> Result<Session, SessionRejection>;
}

fn session_now(extensions: &Extensions) -> Result<Session, SessionRejection> {
    let slot = extensions
        .get::<Slot<HeaderValue>>()
        .ok_or(SessionRejection::MissingMiddleware)?;
    slot.session_now().ok_or(SessionRejection::NotLoaded)
}

impl SessionExt for HttpRequest {
    fn get_session(&self) -> Result<Session, SessionRejection> {
        session_now(&self.extensions())
    }
}

impl SessionExt for ServiceRequest {
    fn get_session(&self) -> Result<Session, SessionRejection> {
        session_now(&self.extensions())
    }
}

impl SessionExt for GuardContext<'_> {
    fn get_session(&self) -> Result<Session, SessionRejection> {
        session_now(&self.req_data())
    }
}
