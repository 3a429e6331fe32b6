//! The actix-web adapter: the same behaviour as the axum one, through actix's test server.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{call_service, init_service, read_body, TestRequest};
use actix_web::{web, App, HttpResponse};
use flagon::actix::SessionMiddleware;
use flagon::{flask, Key, KeyRing, Map, Session, SessionConfig, SessionError, Value};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::save_rules::check_table;
use crate::support::http::Reply;

/// An actix response as the shared [`Reply`].
async fn reply<B: MessageBody>(response: ServiceResponse<B>) -> Reply {
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

fn request(path: &str, cookie: Option<&str>) -> actix_http::Request {
    let mut req = TestRequest::get().uri(path);
    if let Some(cookie) = cookie {
        req = req.insert_header(("cookie", cookie));
    }
    req.to_request()
}

async fn call<S, B>(app: &S, path: &str, cookie: Option<&str>) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    reply(call_service(app, request(path, cookie)).await).await
}

async fn counter(session: Session) -> Result<String, SessionError> {
    let n = session.get::<i64>("n")?.unwrap_or(0) + 1;
    session.insert("n", n)?;
    Ok(n.to_string())
}

fn config() -> SessionConfig {
    SessionConfig::flask(Key::new("actix").unwrap())
}

#[actix_web::test]
async fn counter_persists_and_headers_match_the_axum_adapter() {
    let app = init_service(
        App::new()
            .wrap(SessionMiddleware::new(config()).unwrap())
            .route("/counter", web::get().to(counter)),
    )
    .await;
    let first = call(&app, "/counter", None).await;
    assert_eq!(first.body, "1");
    assert!(first.varies_on_cookie());
    assert!(first.set_cookie().unwrap().ends_with("; HttpOnly; Path=/"));
    let second = call(&app, "/counter", Some(&first.cookie_pair())).await;
    assert_eq!(second.body, "2");
    let keys = KeyRing::new(Key::new("actix").unwrap());
    let value = second.cookie_value();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let verified = flask::verify(value.as_bytes(), &keys, now, 60, 0, &Default::default()).unwrap();
    assert_eq!(
        verified.session["n"],
        Value::Int(2),
        "a Flask cookie, signed just now"
    );
    let tampered = format!("session={}x", second.cookie_value());
    assert_eq!(
        call(&app, "/counter", Some(&tampered)).await.body,
        "1",
        "a bad cookie is an empty session"
    );
}

#[actix_web::test]
async fn every_row_of_flasks_save_table() {
    check_table(|refresh, path, cookie| async move {
        let config = SessionConfig::flask(Key::new("rules").unwrap()).refresh_each_request(refresh);
        let app = init_service(
            App::new()
                .wrap(SessionMiddleware::new(config).unwrap())
                .route("/untouched", web::get().to(HttpResponse::Ok))
                .route(
                    "/read",
                    web::get().to(|s: Session| async move {
                        let _ = s.get_value("a");
                        HttpResponse::Ok().finish()
                    }),
                )
                .route(
                    "/modify",
                    web::get().to(|s: Session| async move {
                        match s.get_value("a") {
                            Some(v) => s.insert_value("a", v),
                            None => s.clear(),
                        }
                        HttpResponse::Ok().finish()
                    }),
                ),
        )
        .await;
        call(&app, path, cookie.as_deref()).await
    })
    .await;
}

#[actix_web::test]
async fn missing_middleware_is_a_plain_500_and_the_log_names_it() {
    let app = init_service(App::new().route("/counter", web::get().to(counter))).await;
    let (logs, _guard) = crate::support::logs::Capture::start();
    let reply = call(&app, "/counter", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body, "Internal Server Error\n");
    assert!(logs.text().contains("SessionMiddleware"), "{}", logs.text());
}

async fn whoami(request: actix_web::HttpRequest) -> actix_web::Result<String> {
    use flagon::actix::SessionExt;
    let session = request.get_session()?;
    session.insert("seen", true)?;
    Ok(session.keys().join(","))
}

#[actix_web::test]
async fn get_session_reaches_cookie_sessions_and_store_sessions_once_loaded() {
    let app = init_service(
        App::new()
            .wrap(SessionMiddleware::new(config()).unwrap())
            .route("/whoami", web::get().to(whoami)),
    )
    .await;
    let first = call(&app, "/whoami", None).await;
    assert_eq!(
        (first.status, first.body.as_str()),
        (StatusCode::OK, "seen")
    );
    let cookie = first.cookie_pair();
    assert_eq!(call(&app, "/whoami", Some(&cookie)).await.body, "seen");

    let store = flagon::store::memory::MemoryStore::new(100);
    let stored = init_service(
        App::new()
            .wrap(SessionMiddleware::new(config()).unwrap().with_store(store))
            .route("/whoami", web::get().to(whoami))
            .route(
                "/loaded",
                web::get().to(|_: Session, request: actix_web::HttpRequest| whoami(request)),
            ),
    )
    .await;
    let (logs, _guard) = crate::support::logs::Capture::start();
    let unloaded = call(&stored, "/whoami", None).await;
    assert_eq!(unloaded.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(logs.text().contains("not loaded yet"), "{}", logs.text());
    let loaded = call(&stored, "/loaded", None).await;
    assert_eq!(
        (loaded.status, loaded.body.as_str()),
        (StatusCode::OK, "seen")
    );
    assert!(
        loaded.set_cookie().is_some(),
        "the change made through get_session is saved"
    );
}

#[actix_web::test]
async fn changes_after_the_response_and_on_a_5xx_are_logged() {
    let app = init_service(
        App::new()
            .wrap(SessionMiddleware::new(config()).unwrap())
            .route(
                "/fail",
                web::get().to(|s: Session| async move {
                    s.insert_value("x", 1);
                    HttpResponse::InternalServerError().finish()
                }),
            )
            .route(
                "/late",
                web::get().to(|s: Session| async move {
                    actix_web::rt::spawn(async move {
                        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
                        s.insert_value("late", 1);
                    });
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let (logs, _guard) = crate::support::logs::Capture::start();
    assert_eq!(call(&app, "/fail", None).await.set_cookie(), None);
    assert!(
        logs.text().contains("are not saved"),
        "the dropped changes were not logged: {}",
        logs.text()
    );
    let late = call(&app, "/late", None).await;
    assert_eq!(late.set_cookie(), None);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        logs.text()
            .contains("session changed after its response was sent"),
        "the late change was not logged: {}",
        logs.text()
    );
}

#[actix_web::test]
async fn a_5xx_saves_nothing_and_flask_cookies_are_read() {
    let app = init_service(
        App::new()
            .wrap(SessionMiddleware::new(config()).unwrap())
            .route("/counter", web::get().to(counter))
            .route(
                "/fail",
                web::get().to(|s: Session| async move {
                    s.insert_value("x", 1);
                    HttpResponse::InternalServerError().finish()
                }),
            ),
    )
    .await;
    assert_eq!(call(&app, "/fail", None).await.set_cookie(), None);
    let mut map = Map::new();
    map.insert("n".into(), Value::Int(41));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cookie = format!(
        "session={}",
        flask::sign(&map, &Key::new("actix").unwrap(), now)
    );
    assert_eq!(call(&app, "/counter", Some(&cookie)).await.body, "42");
}

#[cfg(feature = "memory")]
#[actix_web::test]
async fn server_side_sessions_purge_and_renew() {
    use flagon::store::memory::MemoryStore;
    let middleware = SessionMiddleware::new(config())
        .unwrap()
        .with_store(MemoryStore::new(1000));
    let app = init_service(
        App::new()
            .wrap(middleware)
            .route("/counter", web::get().to(counter))
            .route(
                "/renew",
                web::get().to(|s: Session| async move {
                    s.renew();
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/purge",
                web::get().to(|s: Session| async move {
                    s.purge();
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let old = call(&app, "/counter", None).await.cookie_pair();
    let renewed = call(&app, "/renew", Some(&old)).await.cookie_pair();
    assert_ne!(renewed, old);
    assert_eq!(
        call(&app, "/counter", Some(&old)).await.body,
        "1",
        "old id is dead"
    );
    assert_eq!(call(&app, "/counter", Some(&renewed)).await.body, "2");
    let purged = call(&app, "/purge", Some(&renewed)).await;
    assert!(purged.set_cookie().unwrap().starts_with("session=;"));
    assert_eq!(call(&app, "/counter", Some(&renewed)).await.body, "1");
}
