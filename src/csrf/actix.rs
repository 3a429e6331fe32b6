//! Flask-WTF's CSRF protection for actix-web: [`CsrfMiddleware`] and the [`CsrfToken`]
//! extractor.
//!
//! The middleware is Flask-WTF's `CSRFProtect`: every `POST`, `PUT`, `PATCH` and `DELETE`
//! it wraps must carry a valid token, or it is answered with a 400 naming the reason
//! ([`CsrfError`]) and the handler does not run. Wrap it *inside* the session middleware:
//!
//! ```no_run
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use flagon::actix::SessionMiddleware;
//! use flagon::csrf::{actix::{CsrfMiddleware, CsrfToken}, CsrfConfig};
//! use flagon::{Key, SessionConfig};
//!
//! async fn form(CsrfToken(token): CsrfToken) -> HttpResponse {
//!     HttpResponse::Ok().content_type("text/html").body(format!(
//!         r#"<form method="post"><input type="hidden" name="csrf_token" value="{token}">
//!            <button>Send</button></form>"#
//!     ))
//! }
//!
//! # async fn run(key: Key) -> Result<(), Box<dyn std::error::Error>> {
//! let csrf = CsrfMiddleware::new(CsrfConfig::new(key.clone()));
//! let session = SessionMiddleware::new(SessionConfig::flask(key))?;
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(csrf.clone())
//!         .wrap(session.clone())
//!         .route("/form", web::get().to(form))
//!         .route("/form", web::post().to(|| async { "checked" }))
//! })
//! .bind(("127.0.0.1", 8080))?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```
//!
//! Like the axum layer it reads `application/x-www-form-urlencoded` bodies (up to
//! [`CsrfConfig::max_form_size`]) and hands the same bytes on to the handler.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{to_bytes_limited, BodyStream, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use super::{generate_csrf, token_from_form, validate_csrf, CsrfConfig, CsrfError};
use crate::actix::SessionRejection;
use crate::engine::slot::Slot;
use crate::session::Session;

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Checks the CSRF token of every unsafe request it wraps; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct CsrfMiddleware {
    config: Arc<CsrfConfig>,
}

impl CsrfMiddleware {
    /// Middleware with `config`.
    pub fn new(config: CsrfConfig) -> CsrfMiddleware {
        CsrfMiddleware {
            config: Arc::new(config),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for CsrfMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CsrfMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<CsrfMiddlewareService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CsrfMiddlewareService {
            service: Rc::new(service),
            config: self.config.clone(),
        }))
    }
}

/// The service [`CsrfMiddleware`] wraps around your routes.
pub struct CsrfMiddlewareService<S> {
    service: Rc<S>,
    config: Arc<CsrfConfig>,
}

impl<S> std::fmt::Debug for CsrfMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfMiddlewareService")
    }
}

impl<S, B> Service<ServiceRequest> for CsrfMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<Result<ServiceResponse<EitherBody<B>>, Error>>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let config = self.config.clone();
        request.extensions_mut().insert(config.clone());
        let service = self.service.clone();
        let method = http::Method::from_bytes(request.method().as_str().as_bytes()).ok();
        if !method.is_some_and(|m| config.checks(&m)) {
            let future = service.call(request);
            return Box::pin(async move { Ok(future.await?.map_into_left_body()) });
        }
        Box::pin(async move {
            match check(&mut request, &config).await {
                Ok(()) => Ok(service.call(request).await?.map_into_left_body()),
                Err(response) => Ok(request.into_response(response).map_into_right_body()),
            }
        })
    }
}

/// Checks the request's token, putting a form body back for the handler; the response
/// that replaces the handler's when the check fails.
async fn check(request: &mut ServiceRequest, config: &CsrfConfig) -> Result<(), HttpResponse> {
    let Some(slot) = request.extensions().get::<Slot<HeaderValue>>().cloned() else {
        return Err(SessionRejection::MissingMiddleware.error_response());
    };
    let mut token = None;
    if is_form(request) {
        let body = BodyStream::new(request.take_payload());
        let bytes = match to_bytes_limited(body, config.max_form_size).await {
            Ok(Ok(bytes)) => bytes,
            _ => {
                return Err(HttpResponse::PayloadTooLarge()
                    .content_type("text/plain; charset=utf-8")
                    .body("The form is too large or could not be read; send less data.\n"))
            }
        };
        token = token_from_form(&bytes, config);
        request.set_payload(Payload::from(bytes));
    }
    let token = token.or_else(|| {
        config
            .headers
            .iter()
            .filter_map(|name| request.headers().get(name.as_str())?.to_str().ok())
            .find(|value| !value.is_empty())
            .map(str::to_owned)
    });
    let session = slot.session().await.map_err(|error| {
        let status = slot.shared().config.store_failure_status;
        SessionRejection::Store { status, error }.error_response()
    })?;
    validate_csrf(&session, config, token.as_deref()).map_err(|e| e.error_response())
}

fn is_form(request: &ServiceRequest) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// 400 Bad Request with Flask-WTF's reason and what to do; the token is never shown.
impl ResponseError for CsrfError {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse {
        tracing::info!(reason = self.reason(), "CSRF check failed");
        HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body(format!("Bad Request: {self}\n"))
    }
}

/// A form token for this session (Flask-WTF's `csrf_token()` in a template).
///
/// Needs a [`CsrfMiddleware`] (for the configuration) and the session middleware.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Why [`CsrfToken`] could not be extracted in actix-web.
#[derive(Debug)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// The route is not wrapped by [`CsrfMiddleware`]: a server bug, answered with 500.
    MissingMiddleware,
    /// The session could not be opened (no session middleware, or the store failed).
    Session(SessionRejection),
}

impl std::fmt::Display for CsrfRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CsrfRejection::MissingMiddleware => f.write_str(
                "flagon: CsrfToken needs flagon::csrf::actix::CsrfMiddleware, wrapped inside the SessionMiddleware; add `.wrap(CsrfMiddleware::new(config))` before `.wrap(SessionMiddleware::new(..)?)`",
            ),
            CsrfRejection::Session(rejection) => rejection.fmt(f),
        }
    }
}

impl std::error::Error for CsrfRejection {}

impl ResponseError for CsrfRejection {
    fn status_code(&self) -> StatusCode {
        match self {
            CsrfRejection::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
            CsrfRejection::Session(rejection) => rejection.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            CsrfRejection::MissingMiddleware => {
                tracing::error!("{self}");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body(format!("{self}\n"))
            }
            CsrfRejection::Session(rejection) => rejection.error_response(),
        }
    }
}

impl FromRequest for CsrfToken {
    type Error = CsrfRejection;
    type Future = LocalBoxFuture<Result<CsrfToken, CsrfRejection>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let config = request.extensions().get::<Arc<CsrfConfig>>().cloned();
        let session = Session::from_request(request, payload);
        Box::pin(async move {
            let config = config.ok_or(CsrfRejection::MissingMiddleware)?;
            let session = session.await.map_err(CsrfRejection::Session)?;
            Ok(CsrfToken(generate_csrf(&session, &config)))
        })
    }
}
