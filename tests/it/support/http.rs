//! In-process HTTP for scenario tests: one request through a Router with tower's `oneshot`.

use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// What came back.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    /// Every `Set-Cookie` value.
    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The one `Set-Cookie` value, if there is exactly one; panics on more.
    pub(crate) fn set_cookie(&self) -> Option<String> {
        let all = self.set_cookies();
        assert!(all.len() <= 1, "more than one Set-Cookie: {all:?}");
        all.into_iter().next()
    }

    /// `name=value` of the Set-Cookie, ready for a `Cookie` header.
    pub(crate) fn cookie_pair(&self) -> String {
        let set = self.set_cookie().expect("a Set-Cookie");
        set.split(';').next().unwrap().to_owned()
    }

    /// The cookie value alone.
    pub(crate) fn cookie_value(&self) -> String {
        self.cookie_pair().split_once('=').unwrap().1.to_owned()
    }

    /// Does `Vary` list `Cookie`?
    pub(crate) fn varies_on_cookie(&self) -> bool {
        self.headers.get_all(http::header::VARY).iter().any(|v| {
            v.to_str()
                .unwrap()
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("cookie"))
        })
    }
}

/// Sends `method path` with the given `Cookie` header fields (and an optional form body).
pub(crate) async fn send(
    app: &Router,
    method: &str,
    path: &str,
    cookies: &[&str],
    form: Option<&str>,
) -> Reply {
    let mut builder = Request::builder().method(method).uri(path);
    for cookie in cookies {
        builder = builder.header(http::header::COOKIE, *cookie);
    }
    let body = match form {
        Some(form) => {
            builder = builder.header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
            Body::from(form.to_owned())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(builder.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `GET path` with one optional cookie pair.
pub(crate) async fn get(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    let cookies: Vec<&str> = cookie.into_iter().collect();
    send(app, "GET", path, &cookies, None).await
}
