//! "No secret in any `Debug` output", through the public types a user would print: the
//! configuration, every adapter's layer or middleware (bare and with a store), the
//! Flask-Login and CSRF layers, and the stores. Each must say what it is and must not
//! show the secret or a fallback key, as text, hex or base64.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use flagon::{Key, SessionConfig};

const SECRET: &str = "debug-output-test-secret-0123456789";
const FALLBACK: &str = "debug-output-test-fallback-9876543210";

fn config() -> SessionConfig {
    SessionConfig::new(Key::new(SECRET).unwrap()).fallback_key(Key::new(FALLBACK).unwrap())
}

/// `{:?}` and `{:#?}` of `value` name `type_name` and hold no form of either key.
fn check(type_name: &str, value: &dyn std::fmt::Debug) {
    for shown in [format!("{value:?}"), format!("{value:#?}")] {
        assert!(
            shown.contains(type_name),
            "{type_name}'s Debug does not say what it is: {shown:?}"
        );
        for secret in [SECRET, FALLBACK] {
            let bytes = secret.as_bytes();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            for form in [
                secret.to_owned(),
                hex.clone(),
                hex.to_uppercase(),
                STANDARD.encode(bytes),
                URL_SAFE_NO_PAD.encode(bytes),
            ] {
                // A prefix is enough to leak most of a key; 12 characters of any form.
                assert!(
                    !shown.contains(&form[..12]),
                    "{type_name}'s Debug shows a key: {shown}"
                );
            }
        }
    }
}

#[test]
fn configuration_and_keys() {
    check("SessionConfig", &config());
    check("Key", &Key::new(SECRET).unwrap());
}

#[cfg(all(feature = "axum", feature = "memory"))]
#[test]
fn axum_layer_bare_and_with_a_store() {
    use flagon::axum::SessionLayer;
    use flagon::store::memory::MemoryStore;
    check("SessionLayer", &SessionLayer::new(config()).unwrap());
    check(
        "SessionLayer",
        &SessionLayer::new(config())
            .unwrap()
            .with_store(MemoryStore::new(10)),
    );
}

#[cfg(feature = "actix")]
#[test]
fn actix_middleware() {
    use flagon::actix::SessionMiddleware;
    check(
        "SessionMiddleware",
        &SessionMiddleware::new(config()).unwrap(),
    );
}

#[cfg(all(feature = "flask-login", feature = "csrf", feature = "axum"))]
#[test]
fn flask_login_and_csrf_layers() {
    use flagon::csrf::{axum::CsrfLayer, CsrfConfig};
    use flagon::flask_login::{axum::LoginLayer, LoginConfig};
    check(
        "LoginLayer",
        &LoginLayer::new(LoginConfig::new(Key::new(SECRET).unwrap())).unwrap(),
    );
    check(
        "CsrfLayer",
        &CsrfLayer::new(CsrfConfig::new(Key::new(SECRET).unwrap())),
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn stores() {
    use flagon::store::memory::MemoryStore;
    use flagon::store::sqlite::SqliteStore;
    check("MemoryStore", &MemoryStore::new(10));
    let dir = std::env::temp_dir().join(format!("flagon-debug-{}.db", std::process::id()));
    let store = SqliteStore::open(&dir).await.unwrap();
    check("SqliteStore", &store);
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", dir.display()));
    }
}
