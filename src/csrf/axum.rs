//! Flask-WTF's CSRF protection for axum: [`CsrfLayer`] and the [`CsrfToken`] extractor.
//!
//! The layer is Flask-WTF's `CSRFProtect`: every `POST`, `PUT`, `PATCH` and `DELETE`
//! below it must carry a valid token, or it is answered with a 400 naming the reason
//! ([`CsrfError`]) and the handler does not run. Put it *inside* the session layer:
//!
//! ```no_run
//! use axum::{response::Html, routing::get, Form, Router};
//! use flagon::axum::SessionLayer;
//! use flagon::csrf::{axum::{CsrfLayer, CsrfToken}, CsrfConfig};
//! use flagon::{Key, SessionConfig};
//!
//! async fn form(CsrfToken(token): CsrfToken) -> Html<String> {
//!     Html(format!(
//!         r#"<form method="post"><input type="hidden" name="csrf_token" value="{token}">
//!            <button>Send</button></form>"#
//!     ))
//! }
//!
//! async fn submit() -> &'static str {
//!     "The token was checked before this handler ran."
//! }
//!
//! # fn app(key: Key) -> Result<Router, flagon::ConfigError> {
//! Ok(Router::new()
//!     .route("/form", get(form).post(submit))
//!     .layer(CsrfLayer::new(CsrfConfig::new(key.clone())))
//!     .layer(SessionLayer::new(SessionConfig::flask(key))?))
//! # }
//! ```
//!
//! The layer reads an `application/x-www-form-urlencoded` body (up to
//! [`CsrfConfig::max_form_size`]) to find the token and hands the same bytes on to the
//! handler; other bodies are left alone and the token must come in a header.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use tower_layer::Layer;
use tower_service::Service;

use super::{
    generate_csrf, token_from_form, token_from_headers, validate_csrf, CsrfConfig, CsrfError,
};
use crate::axum::SessionRejection;
use crate::engine::slot::Slot;
use crate::session::Session;

/// Checks the CSRF token of every unsafe request below it; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct CsrfLayer {
    config: Arc<CsrfConfig>,
}

impl CsrfLayer {
    /// A layer with `config`.
    pub fn new(config: CsrfConfig) -> CsrfLayer {
        CsrfLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> CsrfService<S> {
        CsrfService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`CsrfLayer`] wraps around your routes.
#[derive(Clone, Debug)]
pub struct CsrfService<S> {
    inner: S,
    config: Arc<CsrfConfig>,
}

impl<S> Service<Request<Body>> for CsrfService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let config = self.config.clone();
        request.extensions_mut().insert(config.clone());
        if !config.checks(request.method()) {
            return Box::pin(self.inner.call(request));
        }
        // The ready service answers this request; a clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            match check(request, &config).await {
                Ok(request) => inner.call(request).await,
                Err(response) => Ok(response),
            }
        })
    }
}

/// The request, its form body put back, when the token is good; else the response.
async fn check(request: Request<Body>, config: &CsrfConfig) -> Result<Request<Body>, Response> {
    let Some(slot) = request.extensions().get::<Slot<HeaderValue>>().cloned() else {
        return Err(SessionRejection::MissingLayer.into_response());
    };
    let (parts, body) = request.into_parts();
    let (body, from_form) = if is_form(&parts) {
        let bytes = match Limited::new(body, config.max_form_size).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                let message = "The form is too large or could not be read; send less data.\n";
                return Err((StatusCode::PAYLOAD_TOO_LARGE, message).into_response());
            }
        };
        let token = token_from_form(&bytes, config);
        (Body::from(bytes), token)
    } else {
        (body, None)
    };
    let token = from_form.or_else(|| token_from_headers(&parts.headers, config));
    let session = slot.session().await.map_err(|error| {
        let status = slot.shared().config.store_failure_status;
        SessionRejection::Store { status, error }.into_response()
    })?;
    validate_csrf(&session, config, token.as_deref()).map_err(IntoResponse::into_response)?;
    Ok(Request::from_parts(parts, body))
}

fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// 400 Bad Request with Flask-WTF's reason and what to do; the token is never shown.
impl IntoResponse for CsrfError {
    fn into_response(self) -> Response {
        tracing::info!(reason = self.reason(), "CSRF check failed");
        (self.status(), format!("Bad Request: {self}\n")).into_response()
    }
}

/// A form token for this session (Flask-WTF's `csrf_token()` in a template).
///
/// Needs a [`CsrfLayer`] (for the configuration) and the session layer.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Why [`CsrfToken`] could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// The route is not below a [`CsrfLayer`]: a server bug, answered with 500.
    MissingLayer,
    /// The session could not be opened (no session layer, or the store failed).
    Session(SessionRejection),
}

impl std::fmt::Display for CsrfRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CsrfRejection::MissingLayer => f.write_str(
                "flagon: CsrfToken needs flagon::csrf::axum::CsrfLayer on this route, inside the SessionLayer; add `.layer(CsrfLayer::new(config))` before `.layer(SessionLayer::new(..)?)`",
            ),
            CsrfRejection::Session(rejection) => rejection.fmt(f),
        }
    }
}

impl std::error::Error for CsrfRejection {}

impl IntoResponse for CsrfRejection {
    fn into_response(self) -> Response {
        match self {
            CsrfRejection::MissingLayer => {
                tracing::error!("{self}");
                (StatusCode::INTERNAL_SERVER_ERROR, format!("{self}\n")).into_response()
            }
            CsrfRejection::Session(rejection) => rejection.into_response(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = CsrfRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<CsrfToken, CsrfRejection> {
        let config = parts
            .extensions
            .get::<Arc<CsrfConfig>>()
            .cloned()
            .ok_or(CsrfRejection::MissingLayer)?;
        let session = <Session as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(CsrfRejection::Session)?;
        Ok(CsrfToken(generate_csrf(&session, &config)))
    }
}
