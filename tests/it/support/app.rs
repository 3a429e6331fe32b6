//! One app, two frameworks: the scenario routes written once, served through axum's
//! `SessionLayer` or actix-web's `SessionMiddleware`, so every scenario runs on both.
//!
//! The routes are a framework-free function of the path ([`route`]); each framework gets a
//! catch-all handler that extracts the session only for the routes that use it, exactly
//! as a handler with a `Session` argument would, and turns the answer into its response.
//! [`on_both_frameworks!`](crate::on_both_frameworks) makes two tests of each scenario.

#[cfg(feature = "actix")]
use actix_web::{
    body::MessageBody,
    dev::ServiceResponse,
    test::{call_service, init_service, read_body, TestRequest},
    FromRequest, HttpRequest, HttpResponse, ResponseError,
};
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::IntoResponse;
use axum::Router;
#[cfg(feature = "actix")]
use flagon::actix::{SessionMiddleware, SessionRejection};
use flagon::axum::SessionLayer;
use flagon::store::SessionStore;
use flagon::{Session, SessionConfig, SessionError, Value};
#[cfg(feature = "actix")]
use http::{HeaderMap, HeaderName};
use http::{HeaderValue, StatusCode};

use super::http::Reply;

/// Which adapter serves the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framework {
    /// `flagon::axum::SessionLayer` on an axum `Router`.
    Axum,
    /// `flagon::actix::SessionMiddleware` on an actix-web `App`.
    #[cfg(feature = "actix")]
    Actix,
}

/// The scenario routes behind one framework's session adapter (or none).
pub(crate) enum App {
    Axum(Router),
    /// actix-web services are built per request from this (cheap, and it keeps `App`
    /// free of actix's unnameable service types); the middleware's state is shared.
    #[cfg(feature = "actix")]
    Actix(Option<SessionMiddleware>),
}

impl App {
    /// The routes with cookie sessions configured by `config`.
    pub(crate) fn new(framework: Framework, config: SessionConfig) -> App {
        match framework {
            Framework::Axum => App::Axum(routes().layer(SessionLayer::new(config).unwrap())),
            #[cfg(feature = "actix")]
            Framework::Actix => App::Actix(Some(SessionMiddleware::new(config).unwrap())),
        }
    }

    /// The routes with sessions kept in `store`.
    pub(crate) fn with_store(
        framework: Framework,
        config: SessionConfig,
        store: impl SessionStore,
    ) -> App {
        match framework {
            Framework::Axum => {
                App::Axum(routes().layer(SessionLayer::new(config).unwrap().with_store(store)))
            }
            #[cfg(feature = "actix")]
            Framework::Actix => App::Actix(Some(
                SessionMiddleware::new(config).unwrap().with_store(store),
            )),
        }
    }

    /// The routes without the session adapter: a server bug the tests provoke.
    pub(crate) fn without_layer(framework: Framework) -> App {
        match framework {
            Framework::Axum => App::Axum(routes()),
            #[cfg(feature = "actix")]
            Framework::Actix => App::Actix(None),
        }
    }

    /// Sends `method path` with these `Cookie` header fields and an optional form body.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        cookies: &[&str],
        form: Option<&str>,
    ) -> Reply {
        match self {
            App::Axum(router) => super::http::send(router, method, path, cookies, form).await,
            #[cfg(feature = "actix")]
            App::Actix(middleware) => {
                let mut request = TestRequest::default()
                    .method(method.parse().unwrap())
                    .uri(path);
                for cookie in cookies {
                    request = request.append_header(("cookie", *cookie));
                }
                if let Some(form) = form {
                    request = request
                        .insert_header(("content-type", "application/x-www-form-urlencoded"))
                        .set_payload(form.to_owned());
                }
                let app = actix_web::App::new().default_service(actix_web::web::to(on_actix));
                match middleware {
                    Some(middleware) => {
                        let service = init_service(app.wrap(middleware.clone())).await;
                        actix_reply(call_service(&service, request.to_request()).await).await
                    }
                    None => {
                        let service = init_service(app).await;
                        actix_reply(call_service(&service, request.to_request()).await).await
                    }
                }
            }
        }
    }

    /// `GET path` with one optional cookie pair.
    pub(crate) async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let cookies: Vec<&str> = cookie.into_iter().collect();
        self.send("GET", path, &cookies, None).await
    }
}

/// An actix response as the shared [`Reply`].
#[cfg(feature = "actix")]
pub(crate) async fn actix_reply<B: MessageBody>(response: ServiceResponse<B>) -> Reply {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        headers.append(
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let body = read_body(response).await;
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// What a route answers, before a framework turns it into a response.
pub(crate) struct Answer {
    status: StatusCode,
    /// A `Vary` value the handler sets itself.
    vary: Option<&'static str>,
    body: String,
}

fn ok(body: impl Into<String>) -> Answer {
    Answer {
        status: StatusCode::OK,
        vary: None,
        body: body.into(),
    }
}

type WithSession = Box<dyn FnOnce(Session) -> Result<Answer, SessionError> + Send>;
type WithOptional = Box<dyn FnOnce(Option<Session>) -> Answer + Send>;

/// What a path needs before it can answer.
pub(crate) enum Route {
    /// Nothing: the handler never extracts the session.
    Plain(Answer),
    /// The session, as a handler's `Session` argument.
    Session(WithSession),
    /// The session if the adapter is there (`Option<Session>`).
    Optional(WithOptional),
}

fn session(f: impl FnOnce(Session) -> Result<Answer, SessionError> + Send + 'static) -> Route {
    Route::Session(Box::new(f))
}

/// The scenario routes. `{key}`, `{on}` and `{len}` are the last path segment.
///
/// | path | does |
/// |---|---|
/// | `/read` | `n` (0 if absent) |
/// | `/counter` | `n += 1`, answers the new `n` |
/// | `/put/{key}` | `session[key] = True` |
/// | `/pop/{key}` | `session.pop(key)`, answered as `Some(value)` / `None` |
/// | `/keys` | the keys, comma-separated |
/// | `/clear`, `/purge`, `/renew` | that |
/// | `/permanent/{on}` | `session.permanent = on` |
/// | `/fail` | writes, then answers 500 |
/// | `/big/{len}`, `/big-checked/{len}` | stores `len` incompressible characters; the second checks the size and answers 413 |
/// | `/vary/accept-encoding`, `/vary/cookie` | reads, and sets `Vary` itself |
/// | `/optional` | `Option<Session>`: `true` or `false` |
/// | `/untouched` | never extracts the session |
pub(crate) fn route(path: &str) -> Route {
    let (head, last) = path.rsplit_once('/').unwrap_or(("", path));
    let last = last.to_owned();
    match (head, path) {
        (_, "/read") => session(|s| Ok(ok(s.get::<i64>("n")?.unwrap_or(0).to_string()))),
        (_, "/counter") => session(|s| {
            let n = s.get::<i64>("n")?.unwrap_or(0) + 1;
            s.insert("n", n)?;
            Ok(ok(n.to_string()))
        }),
        ("/put", _) => session(move |s| {
            s.insert(&last, true)?;
            Ok(ok("ok"))
        }),
        ("/pop", _) => session(move |s| Ok(ok(format!("{:?}", s.remove(&last))))),
        (_, "/keys") => session(|s| Ok(ok(s.keys().join(",")))),
        (_, "/clear") => session(|s| {
            Ok(ok({
                s.clear();
                ""
            }))
        }),
        (_, "/purge") => session(|s| {
            Ok(ok({
                s.purge();
                ""
            }))
        }),
        (_, "/renew") => session(|s| {
            Ok(ok({
                s.renew();
                ""
            }))
        }),
        ("/permanent", _) => session(move |s| {
            s.set_permanent(last.parse().unwrap());
            Ok(ok("ok"))
        }),
        (_, "/fail") => session(|s| {
            s.insert_value("doomed", true);
            Ok(Answer {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                ..ok("handler failed")
            })
        }),
        ("/big", _) => session(move |s| {
            s.insert_value("big", Value::Str(pseudo_random_text(last.parse().unwrap())));
            Ok(ok("ok"))
        }),
        ("/big-checked", _) => session(move |s| {
            s.insert_value("big", Value::Str(pseudo_random_text(last.parse().unwrap())));
            Ok(match s.check_size() {
                Ok(()) => ok("fits"),
                Err(e) => {
                    s.remove("big");
                    Answer {
                        status: StatusCode::PAYLOAD_TOO_LARGE,
                        ..ok(e.to_string())
                    }
                }
            })
        }),
        ("/vary", _) => session(move |s| {
            let _ = s.contains_key("x");
            let vary = if last == "cookie" {
                "cookie"
            } else {
                "Accept-Encoding"
            };
            Ok(Answer {
                vary: Some(vary),
                ..ok("ok")
            })
        }),
        (_, "/optional") => Route::Optional(Box::new(|s| ok(s.is_some().to_string()))),
        (_, "/untouched") => Route::Plain(ok("static")),
        _ => Route::Plain(Answer {
            status: StatusCode::NOT_FOUND,
            ..ok("no such scenario route")
        }),
    }
}

/// Text that zlib cannot shrink much, so cookie sizes are predictable.
pub(crate) fn pseudo_random_text(len: usize) -> String {
    let mut x: u32 = 2_463_534_242;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

/// The scenario routes as an axum `Router`, without the layer. More routes can be added
/// in front of them; they answer every other path.
pub(crate) fn routes() -> Router {
    Router::new().fallback(on_axum)
}

async fn on_axum(request: axum::extract::Request) -> axum::response::Response {
    let (mut parts, _body) = request.into_parts();
    match route(parts.uri.path()) {
        Route::Plain(answer) => answer.into_axum(),
        Route::Session(f) => {
            match <Session as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await {
                Ok(session) => match f(session) {
                    Ok(answer) => answer.into_axum(),
                    Err(error) => error.into_response(),
                },
                Err(rejection) => rejection.into_response(),
            }
        }
        Route::Optional(f) => {
            match <Session as OptionalFromRequestParts<()>>::from_request_parts(&mut parts, &())
                .await
            {
                Ok(session) => f(session).into_axum(),
                Err(rejection) => rejection.into_response(),
            }
        }
    }
}

#[cfg(feature = "actix")]
async fn on_actix(request: HttpRequest) -> HttpResponse {
    match route(request.path()) {
        Route::Plain(answer) => answer.into_actix(),
        Route::Session(f) => match Session::extract(&request).await {
            Ok(session) => match f(session) {
                Ok(answer) => answer.into_actix(),
                Err(error) => error.error_response(),
            },
            Err(rejection) => rejection.error_response(),
        },
        Route::Optional(f) => match Session::extract(&request).await {
            Ok(session) => f(Some(session)).into_actix(),
            Err(SessionRejection::MissingMiddleware) => f(None).into_actix(),
            Err(rejection) => rejection.error_response(),
        },
    }
}

impl Answer {
    fn into_axum(self) -> axum::response::Response {
        let mut response = (self.status, self.body).into_response();
        if let Some(vary) = self.vary {
            response
                .headers_mut()
                .insert(http::header::VARY, HeaderValue::from_static(vary));
        }
        response
    }

    #[cfg(feature = "actix")]
    fn into_actix(self) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(self.status.as_u16()).unwrap();
        let mut response = HttpResponse::build(status);
        response.content_type("text/plain; charset=utf-8");
        if let Some(vary) = self.vary {
            response.insert_header(("vary", vary));
        }
        response.body(self.body)
    }
}

/// Makes each `async fn name(framework: Framework)` scenario into two tests,
/// `axum_adapter::name` and `actix_adapter::name`: a scenario written once runs on both.
#[macro_export]
macro_rules! on_both_frameworks {
    ($($(#[$meta:meta])* async fn $name:ident($framework:ident: Framework) $body:block)*) => {
        $($(#[$meta])* async fn $name($framework: $crate::support::app::Framework) $body)*

        mod axum_adapter {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::support::app::Framework::Axum).await;
                }
            )*
        }

        #[cfg(feature = "actix")]
        mod actix_adapter {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::support::app::Framework::Actix).await;
                }
            )*
        }
    };
}
