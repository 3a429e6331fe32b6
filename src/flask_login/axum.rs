//! Flask-Login for axum: [`LoginLayer`], and the [`Login`] and [`CurrentUser`] extractors.
//!
//! Put the [`LoginLayer`] *inside* the session layer (in axum, the `.layer` call before
//! the `SessionLayer` one), so every route below both has a session and a login:
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use flagon::axum::SessionLayer;
//! use flagon::flask_login::{axum::LoginLayer, CurrentUser, LoginConfig};
//! use flagon::{Key, SessionConfig};
//!
//! async fn profile(user: CurrentUser) -> String {
//!     format!("Hello, user {}", user.id)
//! }
//!
//! # fn app(key: Key) -> Result<Router, flagon::ConfigError> {
//! Ok(Router::new()
//!     .route("/profile", get(profile))
//!     .layer(LoginLayer::new(LoginConfig::new(key.clone()))?)
//!     .layer(SessionLayer::new(SessionConfig::flask(key))?))
//! # }
//! ```
//!
//! [`CurrentUser`] rejects an anonymous request with [`LoginRejection::Unauthorized`],
//! a plain 401; take `Option<CurrentUser>` (or `Result<CurrentUser, LoginRejection>`) to
//! answer with your own 401 page or a redirect to the login form.
//!
//! The layer gathers the request facts Flask-Login reads (address, `User-Agent`,
//! remember cookie) before the handler runs, and once it has answered sends or deletes
//! the remember cookie as the session asks (`_remember`). The user is looked up lazily,
//! the first time a handler extracts [`Login`] or [`CurrentUser`], as Flask-Login's
//! `current_user` is.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

pub use super::Login;
use super::UNAUTHORIZED;
use super::{send_remember_cookie, Client, CurrentUser, LoginConfig, RequestLogin};
use crate::axum::{plain_response, SessionRejection};
use crate::engine::reply::Plain;
use crate::engine::slot::Slot;
use crate::error::ConfigError;
use crate::session::Session;

/// How the layer learns the socket peer's address from a request's extensions.
type PeerFn = Arc<dyn Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync>;

/// Runs Flask-Login's per-request work for every route below it; see the
/// [module docs](self).
#[derive(Clone)]
pub struct LoginLayer {
    config: Arc<LoginConfig>,
    peer: Option<PeerFn>,
}

impl std::fmt::Debug for LoginLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLayer")
            .field("config", &self.config)
            .field("peer", &self.peer.is_some())
            .finish()
    }
}

impl LoginLayer {
    /// A layer with `config`.
    ///
    /// # Errors
    /// The first [`ConfigError`] in the remember cookie's settings.
    pub fn new(config: LoginConfig) -> Result<LoginLayer, ConfigError> {
        config.validate()?;
        Ok(LoginLayer {
            config: Arc::new(config),
            peer: None,
        })
    }

    /// Tells the layer where the socket peer's address is, for
    /// [`ClientAddress::FlaskLogin`](super::ClientAddress::FlaskLogin) without
    /// `X-Forwarded-For` and for [`ClientAddress::Peer`](super::ClientAddress::Peer).
    /// Without it the peer is unknown, which Flask-Login's identifier writes as `None`.
    ///
    /// With `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`:
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use axum::extract::ConnectInfo;
    /// # fn demo(layer: flagon::flask_login::axum::LoginLayer) {
    /// let layer = layer.peer_address(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
    /// # }
    /// ```
    pub fn peer_address(
        mut self,
        peer: impl Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    ) -> LoginLayer {
        self.peer = Some(Arc::new(peer));
        self
    }
}

impl<S> Layer<S> for LoginLayer {
    type Service = LoginService<S>;

    fn layer(&self, inner: S) -> LoginService<S> {
        LoginService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`LoginLayer`] wraps around your routes.
#[derive(Clone, Debug)]
pub struct LoginService<S> {
    inner: S,
    layer: LoginLayer,
}

impl<S, B> Service<Request<B>> for LoginService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let config = self.layer.config.clone();
        let peer = self
            .layer
            .peer
            .as_ref()
            .and_then(|f| f(request.extensions()));
        let headers = request.headers();
        let client = Client::from_headers(headers, peer, &config);
        let slot = request.extensions().get::<Slot<HeaderValue>>().cloned();
        request
            .extensions_mut()
            .insert(Arc::new(RequestLogin::new(config.clone(), client)));
        let future = self.inner.call(request);
        Box::pin(async move {
            let Ok(mut response) = future.await;
            send_remember_cookie(slot, &config, response.headers_mut()).await;
            Ok(response)
        })
    }
}

/// Why [`Login`] or [`CurrentUser`] could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginRejection {
    /// No user is logged in: 401. Turn it into your login redirect if you like.
    Unauthorized,
    /// The route is not below a [`LoginLayer`]: a server bug, answered with 500.
    MissingLayer,
    /// The session could not be opened (no session layer, or the store failed).
    Session(SessionRejection),
}

impl std::fmt::Display for LoginRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginRejection::Unauthorized => f.write_str("not logged in: log in to see this page"),
            LoginRejection::MissingLayer => f.write_str(
                "flagon: Login and CurrentUser need flagon::flask_login::axum::LoginLayer on this route, inside the SessionLayer; add `.layer(LoginLayer::new(config)?)` before `.layer(SessionLayer::new(..)?)`",
            ),
            LoginRejection::Session(rejection) => rejection.fmt(f),
        }
    }
}

impl std::error::Error for LoginRejection {}

impl IntoResponse for LoginRejection {
    fn into_response(self) -> Response {
        plain_response(match self {
            LoginRejection::Unauthorized => Plain::text(StatusCode::UNAUTHORIZED, UNAUTHORIZED),
            // The fix is for the developer: in the log, not in the visitor's page.
            LoginRejection::MissingLayer => Plain::missing_layer(&self),
            LoginRejection::Session(rejection) => return rejection.into_response(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Login {
    type Rejection = LoginRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Login, LoginRejection> {
        let request = parts
            .extensions
            .get::<Arc<RequestLogin>>()
            .cloned()
            .ok_or(LoginRejection::MissingLayer)?;
        let session = <Session as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(LoginRejection::Session)?;
        Ok(Login::new(session, request))
    }
}

/// The logged-in user, or [`LoginRejection::Unauthorized`] (401).
impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = LoginRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<CurrentUser, LoginRejection> {
        let login = Login::from_request_parts(parts, state).await?;
        login.current_user().ok_or(LoginRejection::Unauthorized)
    }
}

/// `Option<CurrentUser>`: `None` for an anonymous request; a missing layer or a store
/// failure is still an error.
impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = LoginRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<CurrentUser>, LoginRejection> {
        let login = Login::from_request_parts(parts, state).await?;
        Ok(login.current_user())
    }
}
