//! [`SessionConfig`]: keys, cookie attributes, lifetimes and limits.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;

use crate::error::ConfigError;
use crate::flask::Limits;
use crate::key::{Key, KeyRing};
use crate::store::dyn_store::DynStore;
use crate::store::SessionStore;

/// Flask's `PERMANENT_SESSION_LIFETIME` default: 31 days.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(31 * 24 * 60 * 60);

/// Werkzeug's `MAX_COOKIE_SIZE` default: the longest `Set-Cookie` value browsers keep.
pub const DEFAULT_MAX_COOKIE_SIZE: usize = 4093;

/// The `SameSite` cookie attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`: never sent on cross-site requests.
    Strict,
    /// `SameSite=Lax`: sent on top-level cross-site navigations only (flagon's default).
    Lax,
    /// `SameSite=None`: sent on every request; needs `Secure`.
    None,
}

impl SameSite {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// What to do when the session cookie would be larger than
/// [`max_cookie_size`](SessionConfig::max_cookie_size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OversizePolicy {
    /// Replace the response with a plain-text 500 naming the problem and trace the error
    /// (default). A handler that wants to react itself calls
    /// [`Session::check_size`](crate::Session::check_size) before returning.
    Error,
    /// Send the cookie anyway and trace a warning, as Flask does; browsers will likely
    /// drop it and the session is lost.
    InsecureSendAnyway,
}

/// How a cookie session (a layer without a store) is kept in its cookie.
///
/// Server-side sessions are not affected: their cookie holds only a signed random id.
///
/// | mode | writes | reads | Flask can share it |
/// |---|---|---|---|
/// | [`Signed`](Self::Signed) (default) | Flask's signed cookie | signed | yes |
/// | [`Sealed`](Self::Sealed) | sealed (encrypted) cookie | sealed | **no** |
/// | [`SealedAcceptingSigned`](Self::SealedAcceptingSigned) | sealed | sealed and signed | no |
///
/// A signed cookie is readable by its holder (base64 of JSON); a sealed one is not. See
/// [`crate::sealed`] for the format. To move a live app from signed to sealed without
/// logging anyone out, deploy `SealedAcceptingSigned` for at least the permanent
/// lifetime (every signed cookie still accepted is re-written sealed on the next request
/// that opens the session), then `Sealed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieMode {
    /// Flask's signed cookie, byte-compatible with Flask (readable by the user).
    #[default]
    Signed,
    /// Encrypted and authenticated with XChaCha20-Poly1305; signed cookies are rejected.
    Sealed,
    /// The transition window: accept signed and sealed cookies, write sealed only. A
    /// signed cookie that is accepted is re-sealed on that response.
    SealedAcceptingSigned,
}

impl CookieMode {
    /// Does this mode write sealed cookies?
    ///
    /// ```
    /// use flagon::CookieMode;
    /// assert!(CookieMode::Sealed.seals());
    /// assert!(CookieMode::SealedAcceptingSigned.seals());
    /// assert!(!CookieMode::Signed.seals());
    /// ```
    pub fn seals(self) -> bool {
        self != CookieMode::Signed
    }
}

/// Everything flagon needs to know about your sessions.
///
/// [`SessionConfig::new`] gives secure defaults (`Secure`, `HttpOnly`, `SameSite=Lax`);
/// [`SessionConfig::flask`] gives Flask's own defaults, for sharing a cookie with a Flask
/// app served over plain HTTP.
///
/// ```
/// use flagon::{Key, SameSite, SessionConfig};
/// let config = SessionConfig::new(Key::new("change me")?)
///     .cookie_name("__Host-session")
///     .same_site(Some(SameSite::Strict))
///     .permanent_lifetime(std::time::Duration::from_secs(7 * 24 * 3600));
/// # Ok::<(), flagon::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a SessionConfig does nothing until a SessionLayer or SessionMiddleware gets it, \
              and each setter returns the changed configuration: use the value it returns"]
pub struct SessionConfig {
    pub(crate) keys: KeyRing,
    pub(crate) cookie_name: String,
    pub(crate) cookie_mode: CookieMode,
    pub(crate) domain: Option<String>,
    pub(crate) path: String,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: Option<SameSite>,
    pub(crate) partitioned: bool,
    pub(crate) permanent_lifetime: Duration,
    pub(crate) refresh_each_request: bool,
    pub(crate) clock_skew: Duration,
    pub(crate) max_cookie_size: usize,
    pub(crate) oversize: OversizePolicy,
    pub(crate) limits: Limits,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) absolute_timeout: Option<Duration>,
    /// `None`: derived from the idle timeout (see [`SessionConfig::touch_interval`]).
    pub(crate) touch_interval: Option<Duration>,
    pub(crate) cache_control_private: bool,
    pub(crate) strict_conflicts: bool,
    pub(crate) store_deadline: Duration,
    pub(crate) store_failure_status: StatusCode,
    pub(crate) clock: Clock,
    /// Cookie sessions: where each owner's "not before" time is kept, if anywhere.
    pub(crate) revocations: Option<Arc<dyn DynStore>>,
    /// The `store` metric label of [`revocations`](Self::revocations).
    pub(crate) revocations_kind: &'static str,
}

/// Where flagon reads the time: the system clock unless a test sets another.
#[derive(Clone, Default)]
pub(crate) struct Clock(Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>);

impl Clock {
    /// A clock that reads `clock` instead of the system clock.
    pub(crate) fn custom(clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Clock {
        Clock(Some(Arc::new(clock)))
    }

    /// Unix seconds now.
    pub(crate) fn now(&self) -> u64 {
        let at = self.0.as_ref().map_or_else(SystemTime::now, |f| f());
        at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(custom)"
        } else {
            "Clock(system)"
        })
    }
}

impl SessionConfig {
    /// Secure defaults: cookie `session`, `Path=/`, `Secure`, `HttpOnly`, `SameSite=Lax`,
    /// 31-day permanent lifetime refreshed on every request, 4093-byte cookie limit.
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// let config = SessionConfig::new(key);
    /// // The Set-Cookie attributes a layer with this configuration sends:
    /// assert_eq!(set_cookie(&config), "session=v; Secure; HttpOnly; Path=/; SameSite=Lax");
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn new(key: Key) -> SessionConfig {
        SessionConfig {
            keys: KeyRing::new(key),
            cookie_name: "session".to_owned(),
            cookie_mode: CookieMode::Signed,
            domain: None,
            path: "/".to_owned(),
            secure: true,
            http_only: true,
            same_site: Some(SameSite::Lax),
            partitioned: false,
            permanent_lifetime: DEFAULT_LIFETIME,
            refresh_each_request: true,
            clock_skew: Duration::ZERO,
            max_cookie_size: DEFAULT_MAX_COOKIE_SIZE,
            oversize: OversizePolicy::Error,
            limits: Limits::default(),
            idle_timeout: None,
            absolute_timeout: None,
            touch_interval: None,
            cache_control_private: true,
            strict_conflicts: false,
            store_deadline: Duration::from_secs(2),
            store_failure_status: StatusCode::SERVICE_UNAVAILABLE,
            clock: Clock(None),
            revocations: None,
            revocations_kind: "none",
        }
    }

    /// Flask's own defaults: like [`new`](Self::new) but without `Secure` and without
    /// `SameSite`, exactly what a stock Flask app sends.
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// let config = SessionConfig::flask(key);
    /// assert_eq!(set_cookie(&config), "session=v; HttpOnly; Path=/"); // what Flask sends
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn flask(key: Key) -> SessionConfig {
        SessionConfig::new(key).secure(false).same_site(None)
    }

    /// Adds an older key that still verifies cookies but never signs one (Flask's
    /// `SECRET_KEY_FALLBACKS`). Call once per key, oldest first.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// let old = Key::new("the key we rotated away from, 32b")?;
    /// let config = SessionConfig::new(key).fallback_key(old.clone());
    /// let mut data = Map::new();
    /// data.insert("logged_in".into(), Value::Bool(true));
    /// let cookie = format!("session={}", flagon::flask::sign(&data, &old, now));
    /// // A cookie signed with the old key still logs in:
    /// visit(&config, Some(&cookie), |session| assert!(session.is_truthy("logged_in")));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fallback_key(mut self, key: Key) -> Self {
        self.keys = self.keys.with_fallback(key);
        self
    }

    /// The cookie's name (Flask's `SESSION_COOKIE_NAME`, default `session`).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// let config = SessionConfig::new(key).cookie_name("__Host-session");
    /// assert_eq!(config.get_cookie_name(), "__Host-session");
    /// assert!(set_cookie(&config).starts_with("__Host-session=v;"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// How a cookie session is kept in its cookie: Flask's signed format (default), or
    /// sealed (encrypted), or sealed while still accepting signed cookies. A sealed cookie
    /// is not a Flask cookie; see [`CookieMode`].
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// use flagon::CookieMode;
    /// let sealed = SessionConfig::new(key).cookie_mode(CookieMode::Sealed);
    /// let response = visit(&sealed, None, |session| session.insert_value("user_id", 42));
    /// let set_cookie = response.headers()["set-cookie"].to_str()?;
    /// let value = set_cookie.split(';').next().unwrap().trim_start_matches("session=");
    /// // Not Flask's `payload.timestamp.signature`: one opaque, encrypted token.
    /// assert!(!value.contains('.'));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cookie_mode(mut self, mode: CookieMode) -> Self {
        self.cookie_mode = mode;
        self
    }

    /// The cookie's `Domain` (Flask's `SESSION_COOKIE_DOMAIN`, default none): a name,
    /// `Some(name)`, or `None` for a host-only cookie.
    ///
    /// As in Flask, a port (`:5000`) and leading dots are dropped.
    ///
    /// ```
    /// use flagon::{Key, SessionConfig};
    ///
    /// let shared = SessionConfig::new(Key::new("secret")?).domain("example.com");
    /// let from_settings: Option<String> = std::env::var("SESSION_COOKIE_DOMAIN").ok();
    /// let configured = shared.clone().domain(from_settings.as_deref());
    /// let host_only = shared.domain(None);
    /// # drop(configured);
    /// assert!(format!("{host_only:?}").contains("domain: None"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn domain<'a>(mut self, domain: impl Into<Option<&'a str>>) -> Self {
        self.domain = domain.into().map(str::to_owned);
        self
    }

    /// The cookie's `Path` (Flask's `SESSION_COOKIE_PATH`, default `/`).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// let config = SessionConfig::new(key).path("/app");
    /// assert!(set_cookie(&config).contains("; Path=/app"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The `Secure` flag (default on; Flask's default is off).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// let config = SessionConfig::new(key);
    /// assert!(set_cookie(&config).contains("; Secure"));
    /// let development = config.secure(false);     // plain http on a LAN name, never in production
    /// assert!(!set_cookie(&development).contains("Secure"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The `HttpOnly` flag (default on, as in Flask).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// let config = SessionConfig::new(key).http_only(false); // scripts may read it: rarely wise
    /// assert!(!set_cookie(&config).contains("HttpOnly"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// The `SameSite` attribute (default `Lax`; Flask's default is none).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// use flagon::SameSite;
    /// let strict = SessionConfig::new(key).same_site(Some(SameSite::Strict));
    /// assert!(set_cookie(&strict).ends_with("; SameSite=Strict"));
    /// let none = strict.same_site(None);
    /// assert!(!set_cookie(&none).contains("SameSite"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }

    /// The `Partitioned` flag (CHIPS; default off). Implies `Secure`, as in Werkzeug.
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// use flagon::SameSite;
    /// // An embedded widget's session, kept per top-level site (CHIPS):
    /// let config = SessionConfig::new(key).same_site(Some(SameSite::None)).partitioned(true);
    /// assert_eq!(config.validate(), Ok(()));
    /// assert!(set_cookie(&config).ends_with("; SameSite=None; Partitioned"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn partitioned(mut self, partitioned: bool) -> Self {
        self.partitioned = partitioned;
        self
    }

    /// How long a permanent session lives (Flask's `PERMANENT_SESSION_LIFETIME`, default
    /// 31 days). It is also the maximum age of every cookie, permanent or not, as in Flask.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// let week = std::time::Duration::from_secs(7 * 24 * 3600);
    /// let config = SessionConfig::new(key).permanent_lifetime(week);
    /// let response = visit(&config, None, |session| session.set_permanent(true));
    /// assert!(response.headers()["set-cookie"].to_str()?.contains("; Expires="));
    /// assert!(config.permanent_lifetime(std::time::Duration::ZERO).validate().is_err());
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn permanent_lifetime(mut self, lifetime: Duration) -> Self {
        self.permanent_lifetime = lifetime;
        self
    }

    /// Re-send a permanent session's cookie on every request, sliding its expiry (Flask's
    /// `SESSION_REFRESH_EACH_REQUEST`, default on).
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// let mut data = Map::new();
    /// data.insert("_permanent".into(), Value::Bool(true));
    /// let cookie = format!("session={}", flagon::flask::sign(&data, &key, now));
    /// let sliding = SessionConfig::new(key);
    /// // A request that only reads still re-sends a permanent session's cookie, moving its
    /// // expiry; without refresh, only a change does.
    /// assert!(visit(&sliding, Some(&cookie), |_| {}).headers().contains_key("set-cookie"));
    /// let fixed = sliding.refresh_each_request(false);
    /// assert!(!visit(&fixed, Some(&cookie), |_| {}).headers().contains_key("set-cookie"));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn refresh_each_request(mut self, refresh: bool) -> Self {
        self.refresh_each_request = refresh;
        self
    }

    /// Accept cookies signed up to this far in the future (default 0, as Flask). Useful
    /// when several servers with slightly different clocks share a key.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// let mut data = Map::new();
    /// data.insert("user_id".into(), Value::Int(42));
    /// // Signed by a server whose clock is 30 s ahead of ours:
    /// let cookie = format!("session={}", flagon::flask::sign(&data, &key, now + 30));
    /// let strict = SessionConfig::new(key);
    /// visit(&strict, Some(&cookie), |session| assert!(session.is_empty()));
    /// let tolerant = strict.clock_skew(std::time::Duration::from_secs(60));
    /// visit(&tolerant, Some(&cookie), |session| assert!(session.contains_key("user_id")));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// The longest `Set-Cookie` value flagon will send (default 4093, Werkzeug's limit).
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// let config = SessionConfig::new(key).max_cookie_size(200);
    /// let response = visit(&config, None, |session| {
    ///     let history: Vec<i64> = (0..100).map(|i| i * 7919 % 10007).collect();
    ///     session.insert("history", history).unwrap();
    /// });
    /// assert_eq!(response.status(), 500);          // the default OversizePolicy::Error
    /// assert!(!response.headers().contains_key("set-cookie"));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_cookie_size(mut self, bytes: usize) -> Self {
        self.max_cookie_size = bytes;
        self
    }

    /// What happens when the cookie would be larger than
    /// [`max_cookie_size`](Self::max_cookie_size) (default [`OversizePolicy::Error`]).
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// use flagon::OversizePolicy;
    /// let config = SessionConfig::new(key)
    ///     .max_cookie_size(200)
    ///     .oversize(OversizePolicy::InsecureSendAnyway); // as Flask does
    /// let response = visit(&config, None, |session| {
    ///     let history: Vec<i64> = (0..100).map(|i| i * 7919 % 10007).collect();
    ///     session.insert("history", history).unwrap();
    /// });
    /// assert_eq!(response.status(), 200);
    /// assert!(response.headers()["set-cookie"].len() > 200);
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn oversize(mut self, policy: OversizePolicy) -> Self {
        self.oversize = policy;
        self
    }

    /// Caps applied while decoding cookies.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// use flagon::flask::Limits;
    /// let mut limits = Limits::default();
    /// limits.max_cookie_len = 40;
    /// let config = SessionConfig::new(key.clone()).decode_limits(limits);
    /// let mut data = Map::new();
    /// data.insert("user_id".into(), Value::Int(42));
    /// let cookie = format!("session={}", flagon::flask::sign(&data, &key, now));
    /// // Too long to look at: an empty session, as for any bad cookie.
    /// visit(&config, Some(&cookie), |session| assert!(session.is_empty()));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Server-side stores: a session not used for this long expires (default: the
    /// permanent lifetime).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// use std::time::Duration;
    /// let config = SessionConfig::new(key).idle_timeout(Duration::from_secs(30 * 60));
    /// // The touch throttle must stay under half of it:
    /// assert_eq!(config.clone().touch_interval(Duration::from_secs(5 * 60)).validate(), Ok(()));
    /// assert!(config.touch_interval(Duration::from_secs(20 * 60)).validate().is_err());
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Server-side stores: a session expires this long after it was created, however
    /// active it is (default: none).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// use std::time::Duration;
    /// // However active, a stored session ends 8 hours after the login that created it.
    /// let config = SessionConfig::new(key)
    ///     .idle_timeout(Duration::from_secs(30 * 60))
    ///     .absolute_timeout(Duration::from_secs(8 * 3600));
    /// assert!(format!("{config:?}").contains("absolute_timeout: Some(28800s)"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = Some(timeout);
        self
    }

    /// Server-side stores: a request that only reads moves the expiry forward at most once
    /// per this interval, so reads stay cheap.
    ///
    /// The throttle costs idle time: a session whose last touch was skipped can expire
    /// `idle_timeout - touch_interval` after that request. So the guarantee is that a
    /// session stays alive while it sees a request at least every
    /// `idle_timeout - touch_interval`. The default is a tenth of the idle timeout, at
    /// most 60 s; an interval set here must be less than half the idle timeout
    /// ([`validate`](Self::validate) refuses anything longer).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// use std::time::Duration;
    /// let config = SessionConfig::new(key).idle_timeout(Duration::from_secs(600));
    /// assert_eq!(config.clone().touch_interval(Duration::from_secs(60)).validate(), Ok(()));
    /// // Half the idle timeout or more would let active users be logged out:
    /// assert!(config.touch_interval(Duration::from_secs(300)).validate().is_err());
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.touch_interval = Some(interval);
        self
    }

    /// Adds `Cache-Control: private` to a response that sets or deletes the session
    /// cookie and has no `Cache-Control` of its own (default on), so a shared cache never
    /// stores one user's cookie for another.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// let config = SessionConfig::new(key);
    /// let response = visit(&config, None, |session| session.insert_value("n", 1));
    /// assert_eq!(response.headers()["cache-control"], "private");
    /// let off = config.cache_control_private(false); // your own Cache-Control policy
    /// let response = visit(&off, None, |session| session.insert_value("n", 1));
    /// assert!(!response.headers().contains_key("cache-control"));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cache_control_private(mut self, on: bool) -> Self {
        self.cache_control_private = on;
        self
    }

    /// Server-side stores: refuse a save whose request read a key that another request
    /// changed meanwhile (default off).
    ///
    /// By default concurrent requests never lose each other's writes to *different* keys,
    /// and on the same key the last writer wins. That loses an update when a handler
    /// reads a value and writes something computed from it (a counter, a cart) while
    /// another request does the same. With strict conflicts on, the layer records what
    /// the handler read (each key and the value it saw; `keys()`, `len()` and `to_map()`
    /// read every key), the store checks those values atomically before it writes, and
    /// a request whose reads went stale saves nothing and is answered with 409 Conflict:
    /// the client may retry. Reads cost nothing extra; a save checks one value per key
    /// read. Cookie sessions are unaffected (the cookie is the whole session).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// let config = SessionConfig::new(key).strict_conflicts(true);
    /// assert!(format!("{config:?}").contains("strict_conflicts: true"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn strict_conflicts(mut self, on: bool) -> Self {
        self.strict_conflicts = on;
        self
    }

    /// The idle timeout stores apply: [`idle_timeout`](Self::idle_timeout), else the
    /// permanent lifetime.
    pub(crate) fn effective_idle(&self) -> Duration {
        self.idle_timeout.unwrap_or(self.permanent_lifetime)
    }

    /// The touch throttle in force: the configured one, else a tenth of the idle timeout
    /// capped at 60 s.
    pub(crate) fn effective_touch_interval(&self) -> Duration {
        self.touch_interval
            .unwrap_or_else(|| (self.effective_idle() / 10).min(Duration::from_secs(60)))
    }

    /// Server-side stores: the longest one store operation may take before the request gets
    /// the failure response (default 2 s).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// use std::time::Duration;
    /// let config = SessionConfig::new(key).store_deadline(Duration::from_millis(500));
    /// assert_eq!(config.validate(), Ok(()));
    /// assert!(config.store_deadline(Duration::ZERO).validate().is_err());
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn store_deadline(mut self, deadline: Duration) -> Self {
        self.store_deadline = deadline;
        self
    }

    /// Server-side stores: the status of the response when the store fails (default 503).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// // A load balancer that retries on 502 elsewhere:
    /// let config = SessionConfig::new(key).store_failure_status(http::StatusCode::BAD_GATEWAY);
    /// assert!(format!("{config:?}").contains("store_failure_status: 502"));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn store_failure_status(mut self, status: StatusCode) -> Self {
        self.store_failure_status = status;
        self
    }

    /// Cookie sessions: keep each owner's "not before" time in `store`, so
    /// [`log_out_everywhere`](crate::registry::log_out_everywhere) ends every cookie
    /// session of that owner issued before it (opt-in; default none).
    ///
    /// The cost: every request that opens a cookie session carrying an owner
    /// ([`Session::set_owner`](crate::Session::set_owner)) reads the store once, under
    /// the [`store_deadline`](Self::store_deadline); anonymous sessions cost nothing. If
    /// the store fails, the request fails with
    /// [`store_failure_status`](Self::store_failure_status) rather than let a possibly
    /// revoked session through. Any of flagon's stores will do, the one a server-side
    /// layer uses included (the records live under keys no session id can produce).
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// use flagon::store::memory::MemoryStore;
    /// let config = SessionConfig::new(key).revocation_store(MemoryStore::new(10_000));
    /// assert!(format!("{config:?}").contains("revocations_kind: \"memory\""));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn revocation_store(mut self, store: impl SessionStore) -> Self {
        self.revocations_kind = store.kind();
        self.revocations = Some(Arc::new(store));
        self
    }

    /// Reads the time from `clock` instead of the system clock: for tests that need to
    /// move time (expiry, refresh), never for production.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Map, Session, SessionConfig, Value};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    /// use std::time::{Duration, UNIX_EPOCH};
    /// // 2001-09-09 01:46:40 UTC, frozen:
    /// let config = SessionConfig::new(key)
    ///     .permanent_lifetime(Duration::from_secs(24 * 3600))
    ///     .clock(|| UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    /// let response = visit(&config, None, |session| session.set_permanent(true));
    /// let set_cookie = response.headers()["set-cookie"].to_str()?;
    /// assert!(set_cookie.contains("; Expires=Mon, 10 Sep 2001 01:46:40 GMT"));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Clock::custom(clock);
        self
    }

    /// The configured cookie name.
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// assert_eq!(SessionConfig::new(key).get_cookie_name(), "session");
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn get_cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// Checks the cookie settings against the address people open the app at, and warns
    /// when browsers would silently drop the session cookie.
    ///
    /// A `Secure` cookie (the default) is only kept by a browser from an `https://` page,
    /// or from plain `http://` on `localhost` and loopback addresses, which browsers treat
    /// as secure. Served over plain http under any other name, the login "works" and the
    /// next page finds no session. Call this once at startup with the URL (or bind
    /// address) you serve: when that is the case it logs a `warn` through `tracing` and
    /// returns the same text, for a banner.
    ///
    /// ```
    /// use flagon::{Key, SessionConfig};
    ///
    /// let config = SessionConfig::new(Key::new("secret")?);
    /// assert_eq!(config.check_served_at("http://127.0.0.1:3000/"), None);
    /// assert_eq!(config.check_served_at("https://app.example.com/"), None);
    /// let warning = config.check_served_at("http://192.168.1.20:3000/").unwrap();
    /// assert!(warning.contains("browsers drop Secure cookies"));
    /// // Development over a LAN name: turn Secure off there, never in production.
    /// let dev = config.secure(false);
    /// assert_eq!(dev.check_served_at("http://192.168.1.20:3000/"), None);
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    pub fn check_served_at(&self, url: &str) -> Option<String> {
        if !(self.secure || self.partitioned) {
            return None;
        }
        let rest = strip_prefix_ignore_case(url.trim(), "http://")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host_of(authority);
        let reach = match host_kind(host) {
            HostKind::Loopback => return None,
            HostKind::Unspecified => format!(
                "{url} listens on every interface: a browser that opens it by a name other \
                 than localhost over plain http"
            ),
            HostKind::Other => {
                format!("{url} is plain http on a name that is not localhost: a browser")
            }
        };
        let warning = format!(
            "{reach} drops the Secure session cookie silently (browsers drop Secure cookies \
             from plain http except on localhost), so logins will not stick. Serve https, \
             open the app as http://localhost, or for development only set `.secure(false)`"
        );
        tracing::warn!("{warning}");
        Some(warning)
    }

    /// Checks every setting; layers call this when they are built.
    ///
    /// ```
    /// # use flagon::{Key, SessionConfig};
    /// # let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// # let set_cookie = |c: &SessionConfig| flagon::fuzz_hooks::set_cookie(c, "v", None).0;
    /// use flagon::ConfigError;
    /// assert_eq!(SessionConfig::new(key.clone()).validate(), Ok(()));
    /// let bad = SessionConfig::new(key).cookie_name("my session");
    /// assert_eq!(bad.validate(), Err(ConfigError::CookieName("my session".into())));
    /// # Ok::<(), flagon::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let name = &self.cookie_name;
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ConfigError::CookieName(name.clone()));
        }
        if let Some(domain) = &self.domain {
            // Werkzeug IDNA-encodes; flagon asks for the ASCII (punycode) form instead.
            if domain
                .bytes()
                .any(|b| !b.is_ascii_graphic() || b == b';' || b == b',')
            {
                return Err(ConfigError::CookieAttribute {
                    attribute: "domain",
                    value: domain.clone(),
                });
            }
        }
        let secure = self.secure || self.partitioned;
        if name.starts_with("__Secure-") && !secure {
            return Err(prefix_error(name, "the Secure attribute"));
        }
        if name.starts_with("__Host-") && (!secure || self.path != "/" || self.domain.is_some()) {
            return Err(prefix_error(name, "Secure, Path=/ and no Domain"));
        }
        if self.same_site == Some(SameSite::None) && !secure {
            return Err(ConfigError::SameSiteNoneWithoutSecure);
        }
        if self.permanent_lifetime.is_zero() {
            return Err(ConfigError::Lifetime {
                what: "permanent_lifetime",
                why: "must be more than zero",
            });
        }
        if self.store_deadline.is_zero() {
            return Err(ConfigError::Lifetime {
                what: "store_deadline",
                why: "must be more than zero",
            });
        }
        if let Some(interval) = self.touch_interval {
            if interval.saturating_mul(2) >= self.effective_idle() {
                return Err(ConfigError::Lifetime {
                    what: "touch_interval",
                    why: "must be less than half the idle timeout (or the permanent lifetime when \
                          no idle timeout is set); otherwise reads stop extending a session and \
                          active users are logged out. Leave it unset for a safe default",
                });
            }
        }
        Ok(())
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// The host of a URL authority (`user@host:port`, `[::1]:port`), without brackets.
fn host_of(authority: &str) -> &str {
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default();
    }
    match host_port.rsplit_once(':') {
        // Two colons or more: an unbracketed IPv6 address, as a bind address prints.
        Some((host, _)) if !host.contains(':') => host,
        Some(_) => host_port,
        None => host_port,
    }
}

enum HostKind {
    Loopback,
    Unspecified,
    Other,
}

fn host_kind(host: &str) -> HostKind {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return HostKind::Loopback;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_loopback() => HostKind::Loopback,
        Ok(ip) if ip.is_unspecified() => HostKind::Unspecified,
        _ => HostKind::Other,
    }
}

fn prefix_error(name: &str, requirement: &'static str) -> ConfigError {
    ConfigError::CookiePrefix {
        name: name.to_owned(),
        requirement,
    }
}

/// RFC 9110 `tchar`: the bytes a cookie name may hold.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::new("k").unwrap()
    }

    #[test]
    fn defaults_are_secure_and_flask_preset_is_flask() {
        let c = SessionConfig::new(key());
        assert!(c.secure && c.http_only && c.same_site == Some(SameSite::Lax));
        let f = SessionConfig::flask(key());
        assert!(!f.secure && f.http_only && f.same_site.is_none());
        assert_eq!(f.permanent_lifetime.as_secs(), 2_678_400);
        c.validate().unwrap();
        f.validate().unwrap();
    }

    #[test]
    fn bad_names_and_attributes_are_config_errors() {
        for bad in ["", "a b", "a;b", "sess\u{e9}", "\"session\"", "a=b"] {
            let err = SessionConfig::new(key()).cookie_name(bad).validate();
            assert!(matches!(err, Err(ConfigError::CookieName(_))), "{bad:?}");
        }
        SessionConfig::new(key()).path("/a b;c").validate().unwrap();
        let err = SessionConfig::new(key()).domain(Some("x\r\ny")).validate();
        assert!(matches!(err, Err(ConfigError::CookieAttribute { .. })));
    }

    #[test]
    fn same_site_none_needs_secure_and_says_so() {
        let err = SessionConfig::flask(key())
            .same_site(Some(SameSite::None))
            .validate()
            .unwrap_err();
        assert_eq!(err, ConfigError::SameSiteNoneWithoutSecure);
        assert!(err.to_string().contains(".secure(true)"), "{err}");
        SessionConfig::new(key())
            .same_site(Some(SameSite::None))
            .validate()
            .unwrap();
    }

    #[test]
    fn cookie_prefixes_are_enforced() {
        let host = SessionConfig::new(key()).cookie_name("__Host-s");
        host.clone().validate().unwrap();
        assert!(host.clone().path("/app").validate().is_err());
        assert!(host.clone().domain(Some("example.com")).validate().is_err());
        assert!(host.secure(false).validate().is_err());
        let secure = SessionConfig::flask(key()).cookie_name("__Secure-s");
        assert!(secure.clone().validate().is_err());
        secure.partitioned(true).validate().unwrap();
    }

    #[test]
    fn served_at_warns_only_where_browsers_drop_secure_cookies() {
        let config = SessionConfig::new(key());
        for fine in [
            "http://127.0.0.1:3000/",
            "HTTP://localhost:8000/login",
            "http://app.localhost/",
            "http://[::1]:3000/",
            "http://127.0.0.2",
            "https://192.168.1.20/",
            "https://example.com",
        ] {
            assert_eq!(config.check_served_at(fine), None, "{fine}");
        }
        for dropped in [
            "http://192.168.1.20:3000/",
            "http://example.com/",
            "http://user@devbox:8080/x",
            "http://0.0.0.0:3000",
            "http://[::]:3000/",
        ] {
            let warning = config.check_served_at(dropped).expect(dropped);
            assert!(warning.starts_with(dropped), "{warning}");
            assert!(warning.contains("secure(false)"), "{warning}");
        }
        let insecure = SessionConfig::flask(key());
        assert_eq!(insecure.check_served_at("http://example.com/"), None);
        let partitioned = SessionConfig::flask(key()).partitioned(true);
        assert!(partitioned.check_served_at("http://example.com/").is_some());
    }
}
