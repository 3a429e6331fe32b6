//! Flask-Login 0.6.3's login state, shared with a Flask app (feature `flask-login`).
//!
//! A Flask app that uses Flask-Login and a Rust service using this module, with the same
//! secret key and session cookie, see one login: a user who logs in on either side is
//! logged in on the other, "remember me" works across both, and logging out on either
//! side ends it for both.
//!
//! # What Flask-Login keeps, in our words
//!
//! **In the session** (the ordinary Flask session, cookie or server-side store):
//!
//! | key | value | written by |
//! |---|---|---|
//! | `_user_id` | the user's id, a string | [`login_user`], a restored remember cookie |
//! | `_fresh` | `true` right after a password login, `false` once restored from the remember cookie or flagged by session protection | [`login_user`], [`confirm_login`], protection |
//! | `_id` | the session identifier: SHA-512 hex of `"{address}\|{user agent}"`, each part printed as Python prints `bytes` (`b'10.0.0.1'`) or as `None` when missing | [`login_user`], [`confirm_login`] |
//! | `_remember` | `"set"` to send the remember cookie, `"clear"` to delete it; taken out again before the response is sent | [`login_user`], [`logout_user`], strong protection |
//! | `_remember_seconds` | the remember cookie's lifetime for this login, a float, when [`LoginOptions::duration`] was given | [`login_user`] |
//!
//! The address is Flask-Login's `_get_remote_addr`: the first comma-separated entry of
//! `X-Forwarded-For` when that header is present, else the socket peer. See
//! [`ClientAddress`] for choosing differently, and the caveat there.
//!
//! **The remember cookie** (`remember_token` unless renamed) holds `"{user_id}|{digest}"`,
//! the digest being HMAC-SHA512 of the UTF-8 user id, keyed with the secret key itself
//! (not a derived key, no salt, no timestamp), in lower-case hex. It carries no expiry of
//! its own: it is valid as long as the browser keeps it and the key is unchanged, so
//! changing the secret key is the only way to void every remember cookie. Flask-Login
//! checks it against the current key only (not `SECRET_KEY_FALLBACKS`), and so does
//! flagon. Werkzeug puts the value in double quotes with octal escapes when the id has
//! characters outside its safe set; flagon writes and reads that form too.
//!
//! # What happens on a request
//!
//! The first time a handler asks for the user ([`load_user`], or the adapters'
//! extractors), as Flask-Login's `current_user` does:
//!
//! 1. **Session protection** ([`Protection`]). When the session is not empty and its `_id`
//!    differs from this request's identifier: `Basic` (the default) marks the login not
//!    fresh; `Strong` removes Flask-Login's keys, deletes the remember cookie and treats
//!    the request as anonymous (unless the session is permanent, which gets `Basic`).
//! 2. `_user_id` in the session is the user.
//! 3. Otherwise a valid remember cookie (unless `_remember` is `"clear"`) logs the user
//!    in again, **not fresh**: `_user_id` and `_fresh = false` are written. Like
//!    Flask-Login 0.6.3, `_id` is *not* written then, so with `Strong` protection the
//!    next request of a non-permanent session logs the user out. A forged, malformed or
//!    wrong-key cookie is ignored (traced at `debug`, never its value).
//!
//! When the response goes out ([`remember_cookie_update`], run by the adapters' layer):
//! `_remember` is taken out of the session; `"set"` with a logged-in user sends the
//! remember cookie (expiring after `_remember_seconds` or the configured duration),
//! `"clear"` deletes it. With [`LoginConfig::remember_cookie_refresh_each_request`] a
//! logged-in user's cookie is re-sent on every request.
//!
//! # Use
//!
//! The functions here take the [`Session`], a [`Client`] (the request facts) and the
//! [`LoginConfig`]; they are framework-free. The adapters wrap them: with axum, put
//! [`axum::LoginLayer`] *inside* the `SessionLayer` and take [`axum::Login`] or
//! [`CurrentUser`] in handlers; actix-web has the same in [`actix`].
//!
//! ```no_run
//! # #[cfg(feature = "axum")] {
//! use axum::{routing::{get, post}, Router};
//! use flagon::axum::SessionLayer;
//! use flagon::flask_login::{axum::{Login, LoginLayer}, CurrentUser, LoginConfig, LoginOptions};
//! use flagon::{Key, SessionConfig};
//!
//! async fn login(login: Login) -> &'static str {
//!     // check the password first; then, as login_user(user, remember=True):
//!     login.login_user("42", &LoginOptions::new().remember(true));
//!     "Logged in"
//! }
//!
//! async fn profile(user: CurrentUser) -> String {
//!     format!("user {} (fresh: {})", user.id, user.fresh)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = Key::new(std::env::var("SECRET_KEY")?)?;
//! let app: Router = Router::new()
//!     .route("/login", post(login))
//!     .route("/profile", get(profile))
//!     .layer(LoginLayer::new(LoginConfig::new(key.clone()))?)
//!     .layer(SessionLayer::new(SessionConfig::flask(key))?);
//! # Ok(()) } }
//! ```
//!
//! # Differences from Flask-Login
//!
//! - There is no user loader: a `_user_id` in the session *is* the user. If your database
//!   no longer knows the id, call [`logout_user`] (Flask-Login would then try the remember
//!   cookie on that request; flagon does not).
//! - The remember cookie's deletion carries the configured `Secure`, `HttpOnly` and
//!   `SameSite` attributes; Flask-Login's deletion carries none, which browsers refuse for
//!   `__Secure-` and `__Host-` names.
//! - Of several remember cookies with the configured name, the first that verifies counts
//!   (Werkzeug takes the first one); an empty one counts as absent.
//! - A string secret key is used as its UTF-8 bytes; Flask-Login encodes a `str` key as
//!   Latin-1, so keys with characters beyond ASCII give different digests. Use an ASCII
//!   or bytes key.
//! - Flask-Login's request loader, header loader, `login_required` redirects and signals
//!   are not here; turn [`axum::LoginRejection::Unauthorized`] into your 401 page or redirect.
//!
#![doc = include_str!("../../docs/flask_login.md")]

mod remember;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;

use std::sync::Arc;
use std::time::Duration;

pub use remember::{decode_remember_cookie, encode_remember_cookie, Client};

use crate::config::Clock;
use crate::cookie::CookieWriter;
use crate::error::ConfigError;
use crate::key::Key;
use crate::session::Session;
use crate::value::Value;
use crate::{SameSite, SessionConfig};

const USER_ID: &str = "_user_id";
const FRESH: &str = "_fresh";
const ID: &str = "_id";
const REMEMBER: &str = "_remember";
const REMEMBER_SECONDS: &str = "_remember_seconds";
/// Flask-Login's `SESSION_KEYS`: what strong protection removes.
const SESSION_KEYS: [&str; 6] = [USER_ID, REMEMBER, REMEMBER_SECONDS, ID, FRESH, "next"];

/// Flask-Login's `COOKIE_DURATION`: 365 days.
pub const DEFAULT_REMEMBER_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Flask-Login's session protection (`SESSION_PROTECTION`), applied when a session's
/// `_id` is not this request's identifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protection {
    /// No check (`SESSION_PROTECTION = None`).
    Off,
    /// Mark the login not fresh (Flask-Login's default).
    #[default]
    Basic,
    /// Log the user out and delete the remember cookie; a permanent session gets `Basic`.
    Strong,
}

/// Which address stands for the client in the session identifier.
///
/// Both sides must compute the same identifier, or every request that crosses from one
/// to the other trips session protection. Flask-Login itself uses the first entry of
/// `X-Forwarded-For` when the header is present and the socket peer otherwise
/// ([`ClientAddress::FlaskLogin`], the default).
///
/// **Deployment caveat.** A client can send any `X-Forwarded-For` it likes, so with the
/// default rule an attacker holding a stolen session cookie can present the victim's
/// address. Session protection is a tripwire, not authentication; if your proxy sets a
/// header the client cannot forge, name it with [`ClientAddress::Header`] on both sides
/// (Flask-Login would need its `_session_identifier_generator` replaced to match).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAddress {
    /// Flask-Login's rule: `X-Forwarded-For`'s first entry, else the socket peer.
    #[default]
    FlaskLogin,
    /// The socket peer only (what the server saw), ignoring every header.
    Peer,
    /// The first entry of this header (set by your proxy), else the socket peer.
    Header(http::HeaderName),
}

/// Flask-Login's settings: the secret key for the remember cookie, the cookie's
/// attributes (`REMEMBER_COOKIE_*`), session protection and the client address rule.
///
/// [`LoginConfig::new`] gives Flask-Login's defaults: cookie `remember_token` for 365
/// days, `Path=/`, `HttpOnly`, not `Secure`, no `SameSite`, `Basic` protection.
///
/// ```
/// use flagon::flask_login::{LoginConfig, Protection};
/// use flagon::{Key, SameSite};
/// let config = LoginConfig::new(Key::new("change me")?)
///     .remember_cookie_secure(true)
///     .remember_cookie_same_site(Some(SameSite::Lax))
///     .session_protection(Protection::Strong);
/// config.validate()?;
/// # Ok::<(), flagon::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct LoginConfig {
    key: Key,
    /// The remember cookie's name and attributes, checked by the session config's rules.
    cookie: SessionConfig,
    duration: Duration,
    refresh_each_request: bool,
    protection: Protection,
    client_address: ClientAddress,
    clock: Clock,
}

impl LoginConfig {
    /// Flask-Login's defaults, with `key` as the app's `SECRET_KEY`.
    pub fn new(key: Key) -> LoginConfig {
        let cookie = SessionConfig::flask(key.clone()).cookie_name("remember_token");
        LoginConfig {
            key,
            cookie,
            duration: DEFAULT_REMEMBER_DURATION,
            refresh_each_request: false,
            protection: Protection::Basic,
            client_address: ClientAddress::FlaskLogin,
            clock: Clock::default(),
        }
    }

    /// The remember cookie's name (`REMEMBER_COOKIE_NAME`, default `remember_token`).
    pub fn remember_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie = self.cookie.cookie_name(name);
        self
    }

    /// The remember cookie's `Domain` (`REMEMBER_COOKIE_DOMAIN`, default none).
    pub fn remember_cookie_domain(mut self, domain: Option<impl Into<String>>) -> Self {
        let domain: Option<String> = domain.map(Into::into);
        self.cookie = self.cookie.domain(domain.as_deref());
        self
    }

    /// The remember cookie's `Path` (`REMEMBER_COOKIE_PATH`, default `/`).
    pub fn remember_cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookie = self.cookie.path(path);
        self
    }

    /// The `Secure` flag (`REMEMBER_COOKIE_SECURE`, default off as in Flask-Login; turn
    /// it on when you serve over HTTPS).
    pub fn remember_cookie_secure(mut self, secure: bool) -> Self {
        self.cookie = self.cookie.secure(secure);
        self
    }

    /// The `HttpOnly` flag (`REMEMBER_COOKIE_HTTPONLY`, default on).
    pub fn remember_cookie_http_only(mut self, http_only: bool) -> Self {
        self.cookie = self.cookie.http_only(http_only);
        self
    }

    /// The `SameSite` attribute (`REMEMBER_COOKIE_SAMESITE`, default none).
    pub fn remember_cookie_same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.cookie = self.cookie.same_site(same_site);
        self
    }

    /// How long the remember cookie lasts when the login gave no duration
    /// (`REMEMBER_COOKIE_DURATION`, default 365 days).
    pub fn remember_cookie_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// Re-send a logged-in user's remember cookie on every request
    /// (`REMEMBER_COOKIE_REFRESH_EACH_REQUEST`, default off).
    pub fn remember_cookie_refresh_each_request(mut self, refresh: bool) -> Self {
        self.refresh_each_request = refresh;
        self
    }

    /// Session protection (`SESSION_PROTECTION`, default [`Protection::Basic`]).
    pub fn session_protection(mut self, protection: Protection) -> Self {
        self.protection = protection;
        self
    }

    /// Which address identifies the client (default [`ClientAddress::FlaskLogin`]).
    pub fn client_address(mut self, rule: ClientAddress) -> Self {
        self.client_address = rule;
        self
    }

    /// Reads the time from `clock` instead of the system clock (for tests).
    pub fn clock(
        mut self,
        clock: impl Fn() -> std::time::SystemTime + Send + Sync + 'static,
    ) -> Self {
        self.clock = Clock::custom(clock);
        self
    }

    /// Checks the remember cookie's name and attributes; the adapters call this when
    /// they are built.
    ///
    /// # Errors
    /// The first [`ConfigError`]: a bad cookie name, domain or prefix rule, or
    /// `SameSite=None` without `Secure`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.cookie.validate()
    }

    fn writer(&self) -> CookieWriter {
        CookieWriter::new(&self.cookie)
    }
}

/// How to log a user in: Flask-Login's `login_user` arguments.
///
/// The default is `remember=False, duration=None, fresh=True`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginOptions {
    remember: bool,
    duration: Option<Duration>,
    fresh: bool,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            remember: false,
            duration: None,
            fresh: true,
        }
    }
}

impl LoginOptions {
    /// `remember=False, duration=None, fresh=True`.
    pub fn new() -> LoginOptions {
        LoginOptions::default()
    }

    /// Send the remember cookie (`remember=True`).
    pub fn remember(mut self, remember: bool) -> Self {
        self.remember = remember;
        self
    }

    /// The remember cookie's lifetime for this login (`duration=`); stored in the session
    /// as `_remember_seconds`, and only when [`remember`](Self::remember) is on.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Whether the login counts as fresh (`fresh=`, default true).
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }
}

/// The logged-in user, as far as the session says: the id and whether the login is fresh.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CurrentUser {
    /// The user's id (`current_user.get_id()`).
    pub id: String,
    /// Was this login made with a password in this session (`login_fresh()`)? False once
    /// restored from the remember cookie or flagged by session protection.
    pub fresh: bool,
}

/// Logs `user_id` in, writing the session exactly as `login_user(user, ...)` does.
///
/// Call [`Session::renew`] first if you want a new session id (Flask-Login does not).
pub fn login_user(session: &Session, client: &Client, user_id: &str, options: &LoginOptions) {
    session.insert_value(USER_ID, user_id);
    session.insert_value(FRESH, options.fresh);
    session.insert_value(ID, client.session_identifier());
    if options.remember {
        session.insert_value(REMEMBER, "set");
        if let Some(duration) = options.duration {
            session.insert_value(REMEMBER_SECONDS, Value::Float(duration.as_secs_f64()));
        }
    }
}

/// Logs the user out as `logout_user()` does: removes `_user_id`, `_fresh` and `_id`, and
/// when the request carried a remember cookie, asks for its deletion (`_remember =
/// "clear"`) and drops `_remember_seconds`. Other session keys stay.
pub fn logout_user(session: &Session, client: &Client) {
    session.remove(USER_ID);
    session.remove(FRESH);
    session.remove(ID);
    if client.has_remember_cookie() {
        session.insert_value(REMEMBER, "clear");
        session.remove(REMEMBER_SECONDS);
    }
}

/// Marks the login fresh again after the user re-entered a password (`confirm_login()`).
pub fn confirm_login(session: &Session, client: &Client) {
    session.insert_value(FRESH, true);
    session.insert_value(ID, client.session_identifier());
}

/// Is the current login fresh (`login_fresh()`)?
pub fn login_fresh(session: &Session) -> bool {
    session.get_value(FRESH).is_some_and(|v| v.is_truthy())
}

/// The user of this request, as Flask-Login's `current_user` finds it: session protection
/// first, then `_user_id`, then the remember cookie (see the module docs). May write the
/// session (protection, a restored login).
pub fn load_user(session: &Session, client: &Client, config: &LoginConfig) -> Option<CurrentUser> {
    if protection_failed(session, client, config) {
        return None;
    }
    if let Some(id) = session.get_value(USER_ID).as_ref().and_then(user_id_text) {
        return Some(CurrentUser {
            id,
            fresh: login_fresh(session),
        });
    }
    let clearing = session.get_value(REMEMBER).as_ref().and_then(Value::as_str) == Some("clear");
    if clearing || !client.has_remember_cookie() {
        return None;
    }
    let Some(id) = client.remembered_user(&config.key) else {
        tracing::debug!("remember cookie ignored: no valid digest under the current secret key");
        return None;
    };
    session.insert_value(USER_ID, id.as_str());
    session.insert_value(FRESH, false);
    Some(CurrentUser { id, fresh: false })
}

/// `_user_id` as Flask-Login's `str(...)` would write it: text, or an integer some app
/// stored.
fn user_id_text(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::BigInt(b) => Some(b.as_str().to_owned()),
        _ => None,
    }
}

/// `_session_protection_failed`: true when the request must be treated as anonymous.
fn protection_failed(session: &Session, client: &Client, config: &LoginConfig) -> bool {
    if config.protection == Protection::Off || session.is_empty() {
        return false;
    }
    let identifier = client.session_identifier();
    if session.get_value(ID).as_ref().and_then(Value::as_str) == Some(identifier.as_str()) {
        return false;
    }
    if config.protection == Protection::Basic || session.permanent() {
        if session.get_value(FRESH) != Some(Value::Bool(false)) {
            session.insert_value(FRESH, false);
        }
        tracing::debug!(
            "session protection (basic): session identifier changed, login marked not fresh"
        );
        return false;
    }
    for key in SESSION_KEYS {
        session.remove(key);
    }
    session.insert_value(REMEMBER, "clear");
    tracing::debug!("session protection (strong): session identifier changed, user logged out");
    true
}

/// What the response must do with the remember cookie, as Flask-Login's after-request
/// hook decides: takes `_remember` out of the session and returns the `Set-Cookie` value
/// that sets (`"set"` with a logged-in user) or deletes (`"clear"`) the cookie.
///
/// The adapters' layers call this once the handler has answered; call it yourself when
/// you use the functions without them.
pub fn remember_cookie_update(session: &Session, config: &LoginConfig) -> Option<String> {
    if config.refresh_each_request && !session.contains_key(REMEMBER) {
        session.insert_value(REMEMBER, "set");
    }
    let operation = session.remove(REMEMBER)?;
    match operation.as_str() {
        Some("set") => {
            let id = session.get_value(USER_ID)?;
            let id = user_id_text(&id)?;
            let lifetime = session
                .get_value(REMEMBER_SECONDS)
                .and_then(|v| seconds(&v))
                .unwrap_or(config.duration);
            let value = remember::quote(&encode_remember_cookie(&config.key, &id));
            let expires = config.clock.now().saturating_add(lifetime.as_secs());
            Some(config.writer().set_cookie(&value, Some(expires)))
        }
        Some("clear") => Some(config.writer().deletion().to_owned()),
        _ => None,
    }
}

/// `_remember_seconds` as a duration; negative or non-numbers give `None`.
fn seconds(value: &Value) -> Option<Duration> {
    let secs = match value {
        Value::Float(x) => *x,
        Value::Int(i) => *i as f64,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

/// One request's login state, shared by the adapters' layer and extractors: the client,
/// the configuration, and the user once loaded (Flask-Login's `g._login_user`).
#[cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct RequestLogin {
    pub(crate) config: std::sync::Arc<LoginConfig>,
    pub(crate) client: Client,
    /// `None` until the user was looked for; then the answer.
    user: std::sync::Mutex<Option<Option<CurrentUser>>>,
}

#[cfg_attr(not(any(feature = "axum", feature = "actix")), allow(dead_code))]
impl RequestLogin {
    pub(crate) fn new(config: std::sync::Arc<LoginConfig>, client: Client) -> RequestLogin {
        RequestLogin {
            config,
            client,
            user: std::sync::Mutex::new(None),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Option<Option<CurrentUser>>> {
        // A cached answer cannot be left half-written by a panic elsewhere.
        self.user
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The user, loaded from the session (and the remember cookie) once per request.
    pub(crate) fn current_user(&self, session: &Session) -> Option<CurrentUser> {
        let mut cache = self.cache();
        cache
            .get_or_insert_with(|| load_user(session, &self.client, &self.config))
            .clone()
    }

    pub(crate) fn login_user(&self, session: &Session, user_id: &str, options: &LoginOptions) {
        login_user(session, &self.client, user_id, options);
        *self.cache() = Some(Some(CurrentUser {
            id: user_id.to_owned(),
            fresh: options.fresh,
        }));
    }

    pub(crate) fn logout_user(&self, session: &Session) {
        logout_user(session, &self.client);
        *self.cache() = Some(None);
    }

    pub(crate) fn confirm_login(&self, session: &Session) {
        confirm_login(session, &self.client);
        if let Some(Some(user)) = self.cache().as_mut() {
            user.fresh = true;
        }
    }
}

/// The request's login: Flask-Login's `login_user`, `logout_user`, `confirm_login` and
/// `current_user`, bound to this request's session and client. An extractor in both
/// frameworks ([`axum`] and [`actix`] re-export it).
///
/// ```
/// use flagon::flask_login::{Login, LoginOptions};
///
/// async fn login(login: Login) -> &'static str {
///     // after checking the password:
///     login.login_user("42", &LoginOptions::new().remember(true));
///     "Logged in"
/// }
///
/// async fn logout(login: Login) -> &'static str {
///     login.logout_user();
///     "Logged out"
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Login {
    session: Session,
    request: Arc<RequestLogin>,
}

impl Login {
    pub(crate) fn new(session: Session, request: Arc<RequestLogin>) -> Login {
        Login { session, request }
    }

    /// The logged-in user, if any (Flask-Login's `current_user`), looked up once per
    /// request: session protection, then the session, then the remember cookie.
    pub fn current_user(&self) -> Option<CurrentUser> {
        self.request.current_user(&self.session)
    }

    /// Logs `user_id` in (`login_user(user, remember, duration, fresh)`).
    pub fn login_user(&self, user_id: &str, options: &LoginOptions) {
        self.request.login_user(&self.session, user_id, options);
    }

    /// Logs the user out (`logout_user()`), deleting the remember cookie if the request
    /// carried one.
    pub fn logout_user(&self) {
        self.request.logout_user(&self.session);
    }

    /// Marks the login fresh after the user re-entered a password (`confirm_login()`).
    pub fn confirm_login(&self) {
        self.request.confirm_login(&self.session);
    }

    /// The session this login lives in.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The request facts Flask-Login reads.
    pub fn client(&self) -> &Client {
        &self.request.client
    }
}

/// What both adapters' layers do once the handler has answered: add the remember
/// cookie's `Set-Cookie` when the session asks for one. The session is only opened here
/// when a handler opened it or the cookie is refreshed on every request.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) async fn send_remember_cookie<C: AsRef<[u8]>>(
    slot: Option<crate::engine::slot::Slot<C>>,
    config: &LoginConfig,
    headers: &mut impl crate::engine::reply::Headers,
) {
    let Some(slot) = slot else {
        return;
    };
    if !slot.is_opened() && !config.refresh_each_request {
        return;
    }
    let Ok(session) = slot.session().await else {
        return;
    };
    let Some(cookie) = remember_cookie_update(&session, config) else {
        return;
    };
    if !headers.append("set-cookie", &cookie) {
        tracing::error!(
            "remember cookie is not a valid header value (control bytes in the user id?); not sent"
        );
    }
}

/// The body of the 401 for an anonymous request (Flask-Login's `login_message`).
const UNAUTHORIZED: &str = "Please log in to access this page.\n";

#[cfg(test)]
mod tests;
