//! Flask-Login for actix-web: [`LoginMiddleware`], and the [`Login`] and [`CurrentUser`]
//! extractors.
//!
//! Wrap the middleware *inside* the session middleware (in actix-web, the `.wrap` call
//! before the `SessionMiddleware` one):
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use flagon::actix::SessionMiddleware;
//! use flagon::flask_login::{actix::LoginMiddleware, CurrentUser, LoginConfig};
//! use flagon::{Key, SessionConfig};
//!
//! async fn profile(user: CurrentUser) -> String {
//!     format!("Hello, user {}", user.id)
//! }
//!
//! # async fn run(key: Key) -> Result<(), Box<dyn std::error::Error>> {
//! let login = LoginMiddleware::new(LoginConfig::new(key.clone()))?;
//! let session = SessionMiddleware::new(SessionConfig::flask(key))?;
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(login.clone())
//!         .wrap(session.clone())
//!         .route("/profile", web::get().to(profile))
//! })
//! .bind(("127.0.0.1", 8080))?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! The socket peer comes from actix-web (`peer_addr`). [`CurrentUser`] rejects an
//! anonymous request with [`LoginRejection::Unauthorized`], a plain 401; take
//! `Result<CurrentUser, LoginRejection>` to answer with your own page or a redirect.
//! Everything else works as in the [axum adapter](super::axum).

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, COOKIE};
use actix_web::http::StatusCode;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

pub use super::Login;
use super::UNAUTHORIZED;
use super::{send_remember_cookie, Client, CurrentUser, LoginConfig, RequestLogin};
use crate::actix::{plain_response, SessionRejection};
use crate::engine::reply::Plain;
use crate::engine::slot::Slot;
use crate::error::ConfigError;
use crate::session::Session;

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Runs Flask-Login's per-request work for every route it wraps; see the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct LoginMiddleware {
    config: Arc<LoginConfig>,
}

impl LoginMiddleware {
    /// Middleware with `config`.
    ///
    /// # Errors
    /// The first [`ConfigError`] in the remember cookie's settings.
    pub fn new(config: LoginConfig) -> Result<LoginMiddleware, ConfigError> {
        config.validate()?;
        Ok(LoginMiddleware {
            config: Arc::new(config),
        })
    }
}

impl<S, B> Transform<S, ServiceRequest> for LoginMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = LoginMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<LoginMiddlewareService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(LoginMiddlewareService {
            service: Rc::new(service),
            config: self.config.clone(),
        }))
    }
}

/// The service [`LoginMiddleware`] wraps around your routes.
pub struct LoginMiddlewareService<S> {
    service: Rc<S>,
    config: Arc<LoginConfig>,
}

impl<S> std::fmt::Debug for LoginMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginMiddlewareService")
    }
}

impl<S, B> Service<ServiceRequest> for LoginMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<Result<ServiceResponse<B>, Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let config = self.config.clone();
        let headers = request.headers();
        let client = Client::read(
            |name| headers.get(name).map(HeaderValue::as_bytes),
            headers.get_all(COOKIE).map(HeaderValue::as_bytes),
            request.peer_addr().map(|addr| addr.ip()),
            &config,
        );
        let slot = request.extensions().get::<Slot<HeaderValue>>().cloned();
        request
            .extensions_mut()
            .insert(Arc::new(RequestLogin::new(config.clone(), client)));
        let future = self.service.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            send_remember_cookie(slot, &config, response.headers_mut()).await;
            Ok(response)
        })
    }
}

/// Why [`Login`] or [`CurrentUser`] could not be extracted in actix-web.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginRejection {
    /// No user is logged in: 401.
    Unauthorized,
    /// The route is not wrapped by [`LoginMiddleware`]: a server bug, answered with 500.
    MissingMiddleware,
    /// The session could not be opened (no session middleware, or the store failed).
    Session(SessionRejection),
}

impl std::fmt::Display for LoginRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginRejection::Unauthorized => f.write_str("not logged in: log in to see this page"),
            LoginRejection::MissingMiddleware => f.write_str(
                "flagon: Login and CurrentUser need flagon::flask_login::actix::LoginMiddleware, wrapped inside the SessionMiddleware; add `.wrap(LoginMiddleware::new(config)?)` before `.wrap(SessionMiddleware::new(..)?)`",
            ),
            LoginRejection::Session(rejection) => rejection.fmt(f),
        }
    }
}

impl std::error::Error for LoginRejection {}

impl ResponseError for LoginRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            LoginRejection::Unauthorized => StatusCode::UNAUTHORIZED,
            LoginRejection::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
            LoginRejection::Session(rejection) => rejection.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        plain_response(match self {
            LoginRejection::Unauthorized => {
                Plain::text(http::StatusCode::UNAUTHORIZED, UNAUTHORIZED)
            }
            // The fix is for the developer: in the log, not in the visitor's page.
            LoginRejection::MissingMiddleware => Plain::missing_layer(self),
            LoginRejection::Session(rejection) => return rejection.error_response(),
        })
    }
}

impl FromRequest for Login {
    type Error = LoginRejection;
    type Future = LocalBoxFuture<Result<Login, LoginRejection>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let login = request.extensions().get::<Arc<RequestLogin>>().cloned();
        let session = Session::from_request(request, payload);
        Box::pin(async move {
            let request = login.ok_or(LoginRejection::MissingMiddleware)?;
            let session = session.await.map_err(LoginRejection::Session)?;
            Ok(Login::new(session, request))
        })
    }
}

/// The logged-in user, or [`LoginRejection::Unauthorized`] (401).
impl FromRequest for CurrentUser {
    type Error = LoginRejection;
    type Future = LocalBoxFuture<Result<CurrentUser, LoginRejection>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let login = Login::from_request(request, payload);
        Box::pin(async move {
            login
                .await?
                .current_user()
                .ok_or(LoginRejection::Unauthorized)
        })
    }
}
