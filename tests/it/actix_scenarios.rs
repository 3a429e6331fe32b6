//! What only the actix-web adapter has: synchronous access through `SessionExt`, and its
//! run of Flask's save table. The shared scenarios (`scenarios`, `store_scenarios`) run
//! through both adapters from one definition.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{call_service, init_service, TestRequest};
use actix_web::{web, App, HttpResponse};
use flagon::actix::SessionMiddleware;
use flagon::{Key, Session, SessionConfig};
use http::StatusCode;

use crate::save_rules::check_table;
use crate::support::app::actix_reply;
use crate::support::http::Reply;

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
    actix_reply(call_service(app, request(path, cookie)).await).await
}

fn config() -> SessionConfig {
    SessionConfig::flask(Key::new("actix").unwrap())
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

async fn whoami(request: actix_web::HttpRequest) -> actix_web::Result<String> {
    use flagon::actix::SessionExt;
    let session = request.get_session()?;
    session.insert("seen", true)?;
    Ok(session.keys().join(","))
}

#[cfg(feature = "memory")]
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
