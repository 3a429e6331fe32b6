//! A permanent cookie session that fits the input limit but whose refreshed `Set-Cookie`
//! would not (a cookie real Flask writes without a warning) must never fail a request.

use std::time::{SystemTime, UNIX_EPOCH};

use flagon::axum::SessionLayer;
use flagon::{flask, Key, Map, Value};
use http::StatusCode;

use crate::scenarios::routes;
use crate::support::http::get as fetch;

const SECRET: &str = "promises: a long enough secret for the tests";

/// A signed, permanent session whose cookie value is `min..max` bytes long: big enough
/// that the refreshed header (value plus `Expires`, `HttpOnly`, `Path`) passes 4,093.
fn big_permanent_cookie(min: usize, max: usize) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let key = Key::new(SECRET).unwrap();
    // Incompressible text, so zlib cannot shrink it out of the window.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut noise = String::new();
    while noise.len() < 4000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        noise.push(char::from(b'!' + (state % 90) as u8));
    }
    for len in (1000..4000).rev() {
        let mut data = Map::new();
        data.insert("_permanent".into(), Value::Bool(true));
        data.insert("blob".into(), Value::Str(noise[..len].to_owned()));
        let cookie = flask::sign(&data, &key, now);
        if (min..max).contains(&cookie.len()) {
            return cookie;
        }
    }
    panic!("no blob length gives a cookie of {min}..{max} bytes");
}

#[tokio::test]
async fn an_unrefreshable_cookie_never_fails_a_request() {
    let config = flagon::SessionConfig::flask(Key::new(SECRET).unwrap());
    let app = routes().layer(SessionLayer::new(config).unwrap());
    let value = big_permanent_cookie(4040, 4085);
    let cookie = format!("session={value}");
    for path in ["/untouched", "/keys", "/read"] {
        let reply = fetch(&app, path, Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        assert_eq!(
            reply.set_cookie(),
            None,
            "{path}: sent an oversized refresh"
        );
    }
    // The session is still readable: the refresh was skipped, not the session.
    assert_eq!(
        fetch(&app, "/keys", Some(&cookie)).await.body,
        "_permanent,blob"
    );
    // A write that cannot fit is still an error the app sees (the size rule).
    let write = fetch(&app, "/put/more", Some(&cookie)).await;
    assert_eq!(write.status, StatusCode::INTERNAL_SERVER_ERROR);
}
