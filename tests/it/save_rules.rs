//! Flask's save decision (FORMAT.md §9.2), row by row, through the axum layer.
//!
//! accessed × modified × empty × permanent × refresh → Set-Cookie (none, write, deletion)
//! and Vary. "Not accessed" means the handler never extracted the session.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::Router;
use flagon::axum::SessionLayer;
use flagon::{flask, Key, Map, Session, SessionConfig, Value};

use crate::support::http::get as fetch;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cookie {
    None,
    Write,
    Delete,
}

struct Row {
    accessed: bool,
    modified: bool,
    empty: bool,
    permanent: bool,
    refresh: bool,
    cookie: Cookie,
    vary: bool,
}

const fn row(
    accessed: bool,
    modified: bool,
    empty: bool,
    permanent: bool,
    refresh: bool,
    cookie: Cookie,
    vary: bool,
) -> Row {
    Row {
        accessed,
        modified,
        empty,
        permanent,
        refresh,
        cookie,
        vary,
    }
}

/// Every reachable combination (modifying implies accessing; a permanent session holds
/// `_permanent`, so it is never empty), with Flask's answer.
#[rustfmt::skip]
const TABLE: &[Row] = &[
    //   accessed modified empty  perm   refresh  cookie          vary
    row(false, false, true,  false, true,  Cookie::None,   false),
    row(false, false, true,  false, false, Cookie::None,   false),
    row(true,  false, true,  false, true,  Cookie::None,   true),
    row(true,  false, true,  false, false, Cookie::None,   true),
    row(true,  true,  true,  false, true,  Cookie::Delete, true),
    row(true,  true,  true,  false, false, Cookie::Delete, true),
    row(false, false, false, false, true,  Cookie::None,   false),
    row(false, false, false, false, false, Cookie::None,   false),
    row(true,  false, false, false, true,  Cookie::None,   true),
    row(true,  false, false, false, false, Cookie::None,   true),
    row(true,  true,  false, false, true,  Cookie::Write,  true),
    row(true,  true,  false, false, false, Cookie::Write,  true),
    row(false, false, false, true,  true,  Cookie::Write,  true),
    row(false, false, false, true,  false, Cookie::None,   false),
    row(true,  false, false, true,  true,  Cookie::Write,  true),
    row(true,  false, false, true,  false, Cookie::None,   true),
    row(true,  true,  false, true,  true,  Cookie::Write,  true),
    row(true,  true,  false, true,  false, Cookie::Write,  true),
];

fn app(refresh: bool) -> Router {
    let config = SessionConfig::flask(Key::new("rules").unwrap()).refresh_each_request(refresh);
    Router::new()
        .route("/untouched", get(|| async { "" }))
        .route(
            "/read",
            get(|s: Session| async move {
                let _ = s.get_value("a");
            }),
        )
        // Modify without changing the key set: re-assign what is there, or clear if empty.
        .route(
            "/modify",
            get(|s: Session| async move {
                match s.get_value("a") {
                    Some(v) => s.insert_value("a", v),
                    None => s.clear(),
                }
            }),
        )
        .layer(SessionLayer::new(config).unwrap())
}

fn cookie(permanent: bool) -> String {
    let mut map = Map::new();
    map.insert("a".into(), Value::Int(1));
    if permanent {
        map.insert("_permanent".into(), Value::Bool(true));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "session={}",
        flask::sign(&map, &Key::new("rules").unwrap(), now)
    )
}

#[tokio::test]
async fn every_row_of_flasks_save_table() {
    check_table(|refresh, path, cookie| async move {
        fetch(&app(refresh), path, cookie.as_deref()).await
    })
    .await;
}

/// Runs every row through `fetch(refresh, path, cookie)`, a server with routes
/// `/untouched`, `/read` and `/modify` as in [`app`], key `rules`, Flask's defaults.
pub(crate) async fn check_table<F, Fut>(fetch: F)
where
    F: Fn(bool, &'static str, Option<String>) -> Fut,
    Fut: std::future::Future<Output = crate::support::http::Reply>,
{
    for (i, r) in TABLE.iter().enumerate() {
        let path = match (r.accessed, r.modified) {
            (false, _) => "/untouched",
            (true, false) => "/read",
            (true, true) => "/modify",
        };
        let cookie = (!r.empty).then(|| cookie(r.permanent));
        let reply = fetch(r.refresh, path, cookie).await;
        let got = match reply.set_cookie() {
            None => Cookie::None,
            Some(set) if set.starts_with("session=;") => Cookie::Delete,
            Some(set) => {
                assert_eq!(
                    set.contains("; Expires="),
                    r.permanent,
                    "row {i}: Expires iff permanent: {set}"
                );
                assert!(
                    !set.contains("Max-Age"),
                    "row {i}: writes never carry Max-Age"
                );
                Cookie::Write
            }
        };
        assert_eq!(got, r.cookie, "row {i}: cookie");
        assert_eq!(reply.varies_on_cookie(), r.vary, "row {i}: Vary");
    }
}
