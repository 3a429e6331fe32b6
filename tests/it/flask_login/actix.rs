//! The actix-web adapters of `flask_login` and `csrf` against the same Flask peer.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{call_service, init_service, read_body, TestRequest};
use actix_web::{web, App, HttpResponse};
use flagon::actix::SessionMiddleware;
use flagon::csrf::actix::{CsrfMiddleware, CsrfToken};
use flagon::csrf::CsrfConfig;
use flagon::flask_login::actix::{Login, LoginMiddleware};
use flagon::flask_login::{self, CurrentUser, LoginConfig, LoginOptions};
use flagon::SessionConfig;
use serde_json::json;

use super::{form_with_token, is_deletion, key, me, start_flask, Answer, Browser, HOME, INVALID};

async fn login(login: Login, form: web::Form<super::LoginForm>) -> HttpResponse {
    let options = LoginOptions::new()
        .remember(form.remember.as_deref() == Some("1"))
        .fresh(form.fresh.as_deref() != Some("0"));
    login.login_user(&form.user_id, &options);
    HttpResponse::Ok().json(json!({"ok": true}))
}

async fn logout(login: Login) -> HttpResponse {
    login.logout_user();
    HttpResponse::Ok().json(json!({"ok": true}))
}

async fn whoami(login: Login) -> HttpResponse {
    let user = login.current_user().map(|u| u.id);
    HttpResponse::Ok()
        .json(json!({"user": user, "fresh": flask_login::login_fresh(login.session())}))
}

async fn profile(user: CurrentUser) -> String {
    user.id
}

async fn token(CsrfToken(token): CsrfToken) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "token": token }))
}

macro_rules! actix_app {
    () => {
        init_service(
            App::new()
                .service(
                    web::scope("/csrf")
                        .wrap(CsrfMiddleware::new(CsrfConfig::new(key())))
                        .route("/token", web::get().to(token))
                        .route("/protected", web::post().to(|| async { HttpResponse::Ok().json(json!({"ok": true})) })),
                )
                .route("/login", web::post().to(login))
                .route("/logout", web::post().to(logout))
                .route("/whoami", web::get().to(whoami))
                .route("/profile", web::get().to(profile))
                .wrap(LoginMiddleware::new(LoginConfig::new(key())).unwrap())
                .wrap(SessionMiddleware::new(SessionConfig::flask(key())).unwrap()),
        )
        .await
    };
}

/// One request through the actix app with the browser's cookies and headers, from the
/// socket peer 127.0.0.1 (what Flask sees over loopback).
async fn call<S, B>(
    browser: &mut Browser,
    app: &S,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> Answer
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut request = match method {
        "POST" => TestRequest::post(),
        _ => TestRequest::get(),
    }
    .uri(path)
    .peer_addr("127.0.0.1:40000".parse().unwrap());
    for (name, value) in browser.headers {
        request = request.insert_header((name, value));
    }
    if !browser.jar.0.is_empty() {
        request = request.insert_header(("cookie", browser.jar.header()));
    }
    if let Some(form) = form {
        request = request
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(form.to_owned());
    }
    let response = call_service(app, request.to_request()).await;
    let status = response.status().as_u16();
    let set_cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = read_body(response).await;
    let refs: Vec<&str> = set_cookies.iter().map(String::as_str).collect();
    browser.jar.take(&refs);
    Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        set_cookies,
    }
}

#[actix_web::test]
async fn logins_and_remember_cookies_cross_with_flask() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = actix_app!();
    // Flask logs in with remember; actix sees it, then restores it from the cookie alone.
    let mut browser = Browser::new();
    browser.flask(&flask, "POST", "/login", Some("user_id=42&remember=1"));
    assert_eq!(
        call(&mut browser, &app, "GET", "/whoami", None)
            .await
            .json(),
        me(Some("42"), true)
    );
    browser.jar = browser.jar.without("session");
    assert_eq!(
        call(&mut browser, &app, "GET", "/whoami", None)
            .await
            .json(),
        me(Some("42"), false)
    );
    // actix logs out: the remember cookie goes, Flask agrees.
    let answer = call(&mut browser, &app, "POST", "/logout", None).await;
    assert!(answer.set_cookie("remember_token").is_some_and(is_deletion));
    assert_eq!(
        browser.flask(&flask, "GET", "/whoami", None).json(),
        me(None, false)
    );
    let anonymous = call(&mut browser, &app, "GET", "/profile", None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    // actix logs in with remember; Flask restores from the cookie alone.
    let mut browser = Browser::new();
    call(
        &mut browser,
        &app,
        "POST",
        "/login",
        Some("user_id=7&remember=1"),
    )
    .await;
    assert_eq!(
        call(&mut browser, &app, "GET", "/profile", None).await.body,
        "7"
    );
    browser.jar = browser.jar.without("session");
    assert_eq!(
        browser.flask(&flask, "GET", "/whoami", None).json(),
        me(Some("7"), false)
    );
}

#[actix_web::test]
async fn the_socket_peer_counts_without_forwarded_for() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = actix_app!();
    // Flask sees 127.0.0.1 as its remote address, and so does the actix test request.
    let mut browser = Browser::new();
    browser.headers = [("User-Agent", "flagon-test/1.0"), ("Accept", "*/*")];
    browser.flask(&flask, "POST", "/login", Some("user_id=42"));
    assert_eq!(
        call(&mut browser, &app, "GET", "/whoami", None)
            .await
            .json(),
        me(Some("42"), true)
    );
    browser.headers = HOME;
    let moved = call(&mut browser, &app, "GET", "/whoami", None)
        .await
        .json();
    assert_eq!(
        moved,
        me(Some("42"), false),
        "another address: basic protection"
    );
}

#[actix_web::test]
async fn csrf_tokens_cross_with_flask() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = actix_app!();
    let mut browser = Browser::new();
    let token = browser.flask(&flask, "GET", "/csrf/token", None).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = call(
        &mut browser,
        &app,
        "POST",
        "/csrf/protected",
        Some(&form_with_token(&token)),
    )
    .await;
    assert_eq!((ok.status, ok.json()), (200, json!({"ok": true})));
    let missing = call(
        &mut browser,
        &app,
        "POST",
        "/csrf/protected",
        Some("name=x"),
    )
    .await;
    assert_eq!(missing.status, 400);
    let tampered = form_with_token(&format!("{token}x"));
    let refused = call(
        &mut browser,
        &app,
        "POST",
        "/csrf/protected",
        Some(&tampered),
    )
    .await;
    assert!(
        refused.status == 400 && refused.body.contains(INVALID),
        "{}",
        refused.body
    );
    let mut browser = Browser::new();
    let token = call(&mut browser, &app, "GET", "/csrf/token", None)
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = browser.flask(
        &flask,
        "POST",
        "/csrf/protected",
        Some(&form_with_token(&token)),
    );
    assert_eq!((answer.status, answer.json()), (200, json!({"ok": true})));
}
