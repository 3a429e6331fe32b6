//! Weak settings warn at startup; a touch throttle that would stop reads from extending
//! a session is refused.

use std::time::Duration;

use flagon::axum::SessionLayer;
use flagon::{ConfigError, Key, SessionConfig};

use crate::support::logs::Capture;

/// Everything `tracing` writes at `warn` and up while `f` runs on this thread.
fn logs_of(f: impl FnOnce()) -> String {
    let (capture, _guard) = Capture::start_at(tracing::Level::WARN);
    f();
    capture.text()
}

#[test]
fn a_short_key_and_no_secure_warn_once_at_startup() {
    let weak = logs_of(|| {
        SessionLayer::new(SessionConfig::new(Key::new("12345").unwrap()).secure(false)).unwrap();
    });
    assert!(weak.contains("only 5 bytes"), "{weak}");
    assert!(weak.contains("without Secure"), "{weak}");
    assert!(!weak.contains("12345"), "the key itself was logged: {weak}");
    let strong = logs_of(|| {
        SessionLayer::new(SessionConfig::new(Key::generate())).unwrap();
    });
    assert_eq!(strong, "", "a strong configuration warned");
}

#[test]
fn a_touch_interval_that_eats_the_idle_timeout_is_refused() {
    let key = || Key::generate();
    let idle = SessionConfig::new(key()).idle_timeout(Duration::from_secs(90));
    idle.clone()
        .validate()
        .expect("the default throttle fits any idle timeout");
    idle.clone()
        .touch_interval(Duration::from_secs(30))
        .validate()
        .expect("a third of the idle timeout is fine");
    for bad in [45, 60, 90, 120] {
        let err = idle
            .clone()
            .touch_interval(Duration::from_secs(bad))
            .validate()
            .expect_err("a throttle of half the idle timeout or more");
        assert!(matches!(
            err,
            ConfigError::Lifetime {
                what: "touch_interval",
                ..
            }
        ));
        assert!(
            err.to_string().contains("less than half the idle timeout"),
            "{err}"
        );
    }
}
