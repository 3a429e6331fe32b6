//! Sessions shared with a Flask app that uses Flask-Session 0.8 on Redis (feature
//! `flask-session`).
//!
//! [`FlaskSessionRedisStore`] reads and writes the records Flask-Session's
//! `RedisSessionInterface` keeps, so a user logged in on the Flask side is logged in on
//! the Rust side and the other way round:
//!
//! - the cookie (Flask's `SESSION_COOKIE_NAME`, `session` unless configured) holds the
//!   sid, `secrets.token_urlsafe(32)`, as it is or signed when `SESSION_USE_SIGNER` is
//!   on (itsdangerous' `Signer`, salt `flask-session`, HMAC-SHA1 under `SECRET_KEY`);
//!   give the layer the same secret key and cookie settings as the Flask app;
//! - the record is the Redis string `SESSION_KEY_PREFIX + sid` (prefix `session:` by
//!   default) holding the session dict as msgspec's MessagePack, with a TTL;
//! - Flask-Session sets that TTL to `PERMANENT_SESSION_LIFETIME` on every save; flagon
//!   sets it to the layer's idle timeout (the permanent lifetime unless configured), so
//!   configure both sides with the same lifetime;
//! - new sessions get `_permanent: True`, as Flask-Session's `SESSION_PERMANENT` default
//!   does (see [`FlaskSessionOptions::permanent`]), and their cookie carries `Expires`;
//! - an emptied session (`session.clear()`, a logout) is deleted, and its cookie removed,
//!   on either side. Flask-Session also counts a session holding only `_permanent` as
//!   empty (it neither saves nor keeps it); flagon counts only a session with no key at
//!   all, so removing the last other key on the Rust side leaves a record holding only
//!   `_permanent`, which Flask-Session then reads as an empty session. To log out from
//!   Rust, clear or purge the session.
//!
//! # Python types
//!
//! Flask-Session encodes `dict(session)` with `msgspec.msgpack.Encoder()` and decodes
//! with a schema-less decoder, which tries MessagePack, then JSON (what
//! `SESSION_SERIALIZATION_FORMAT = "json"` writes), then pickle. flagon reads
//! MessagePack and JSON, writes MessagePack, and does not read pickle (records of
//! Flask-Session before 0.7). A value's type after a trip through the record:
//!
//! | Python value written | MessagePack | read back by Python | [`crate::Value`] in flagon | flagon writes it as |
//! |---|---|---|---|---|
//! | `None`, `bool` | nil, bool | the same | `Null`, `Bool` | the same |
//! | `int` in `-2**63 ..= 2**63-1` | int | `int` | `Int` | int |
//! | `int` in `2**63 ..= 2**64-1` | uint 64 | `int` | `BigInt` | uint 64 |
//! | `int` outside `-2**63 ..= 2**64-1` | *refused by msgspec* | — | `BigInt` | *refused: the save fails with an error naming the key* |
//! | `float` (NaN, ±inf too) | float 64 | `float` | `Float` | float 64 |
//! | `str` | str | `str` | `Str` | str |
//! | `bytes`, `bytearray`, `memoryview` | bin | `bytes` | `Bytes` | bin |
//! | `list`, `tuple`, `set`, `frozenset` | array | `list` | `List` | array (a `Tuple` too) |
//! | `dict` with `str` keys | map | `dict` | `Dict` | map, keys in code-point order |
//! | `dict` with other keys (`{1: 2}`) | map | `dict` | *not loaded: the record counts as corrupt* | — |
//! | aware `datetime` | timestamp extension | `datetime` in UTC | `DateTime` in UTC, to the nanosecond | timestamp extension (an offset is lost, the instant is kept) |
//! | naive `datetime`, `date`, `time` | ISO 8601 str | `str` | `Str` | str |
//! | `timedelta` | ISO 8601 duration str (`PT5S`) | `str` | `Str` | str |
//! | `uuid.UUID` | str (hyphenated) | `str` | `Str` | a `Uuid` is written as that str |
//! | `decimal.Decimal` | str | `str` | `Str` | str |
//! | `enum.Enum` | its value | the value | as the value | — |
//! | `markupsafe.Markup` | *refused by msgspec* | — | — | a `Markup` is written as str |
//!
//! So what does not come back as it went in: tuples and sets (lists), `bytearray`
//! (bytes), naive datetimes, dates, times, durations, UUIDs and decimals (strings),
//! datetime offsets (UTC), and on flagon's side `Tuple`, `Uuid` and `Markup` values
//! (a list, a string, a string). Flask's own cookie sessions keep tuples, UUIDs and
//! `Markup` through their tagged JSON; Flask-Session does not.
//!
//! A record written with `SESSION_SERIALIZATION_FORMAT = "json"` holds msgspec's JSON,
//! where bytes are base64 strings and datetimes RFC 3339 strings, and integers of any
//! size are numbers: flagon reads those as `Str`, `Str` and `Int`/`BigInt`. The first
//! flagon write turns the record into MessagePack, which Flask-Session reads as well.
//!
//! # Concurrent writes
//!
//! A flagon request never writes back the session it loaded: it sends its own
//! [`Changes`], and one Lua script applies them to the record as it is in Redis at that
//! moment. The script does not decode any value: it walks the top-level MessagePack map
//! by its headers, keeps every entry the request did not touch byte for byte, and puts in
//! the entries Rust encoded (Redis' Lua `cmsgpack` is not used: Lua numbers are doubles,
//! so it would round integers above 2**53). So concurrent flagon requests writing
//! different keys all keep their keys, and a write to a session that was deleted or
//! renewed meanwhile reports [`Applied::Gone`] and recreates nothing. A record the script
//! cannot walk (a JSON one) is decoded in Rust and written back with a compare-and-set
//! that retries while the record keeps changing.
//!
//! Each write rewrites the whole record, which is what the format allows, so the cost of
//! a write grows with the size of the session. The store conformance checks, whose
//! biggest part is 64 concurrent writers filling one session with 16,000 keys, took 82 s
//! on a busy 2-core machine, against 5 s for [`RedisStore`](super::redis::RedisStore),
//! which keeps one hash field per key.
//!
//! **Caveat: Flask-Session's side saves snapshots.** When a Flask request saves (every
//! request with a non-empty session while `SESSION_REFRESH_EACH_REQUEST` is on, Flask's
//! default), it `SET`s the whole dict it loaded plus its own changes. A flagon write
//! that lands between that request's load and its save is lost, and a Flask request that
//! began before a logout (on either side) writes the session back. flagon's guarantees
//! hold only between flagon requests.
//!
//! # What does not map
//!
//! - Only Flask-Session's default sid length (`SESSION_ID_LENGTH = 32`); a cookie with
//!   another length starts an empty session.
//! - Records carry no creation time, so an absolute timeout
//!   ([`SessionConfig::absolute_timeout`](crate::SessionConfig::absolute_timeout)) cannot
//!   be enforced: [`Record::created_at`] reads as the time of the load.
//! - One Redis node only: a renew moves the record between two keys in one script, which
//!   a Redis Cluster would refuse (Flask-Session's keys have no hash tag).
//! - The Redis key is the sid itself, as in Flask-Session: anyone who can list the keys
//!   can present the sessions. flagon's own [`RedisStore`](super::redis::RedisStore)
//!   stores only a hash of its ids.
//! - Sessions need Redis 7.0 or later (`EXPIRETIME`).

mod msgpack;
mod scripts;

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::codec::{backend, SetupError};
use super::redis::conn::Link;
use super::redis::{single_node_link, within};
use super::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::flask::base64::encode_segment_into;
use crate::id::{IdScheme, StoreKey};
use crate::value::{Map, Value};

pub use msgpack::Unencodable;

/// How many times a write re-reads the record after another write changed it first.
const MAX_ATTEMPTS: u32 = 100;

/// Settings of a [`FlaskSessionRedisStore`], named after Flask-Session's.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FlaskSessionOptions {
    /// `SESSION_KEY_PREFIX`: text before the sid in every Redis key (default `session:`).
    pub key_prefix: String,
    /// `SESSION_USE_SIGNER`: the cookie holds the sid signed with the secret key
    /// (default `false`, as in Flask-Session).
    pub use_signer: bool,
    /// `SESSION_PERMANENT`: sessions created by flagon get `_permanent: True`, so their
    /// cookie carries `Expires` (default `true`, as in Flask-Session).
    pub permanent: bool,
    /// Longest time one Redis command may take, reconnecting included (default 500 ms).
    pub deadline: Duration,
}

impl Default for FlaskSessionOptions {
    fn default() -> Self {
        FlaskSessionOptions {
            key_prefix: "session:".to_owned(),
            use_signer: false,
            permanent: true,
            deadline: Duration::from_millis(500),
        }
    }
}

impl FlaskSessionOptions {
    /// Sets [`key_prefix`](Self::key_prefix).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets [`use_signer`](Self::use_signer).
    pub fn use_signer(mut self, use_signer: bool) -> Self {
        self.use_signer = use_signer;
        self
    }

    /// Sets [`permanent`](Self::permanent).
    pub fn permanent(mut self, permanent: bool) -> Self {
        self.permanent = permanent;
        self
    }

    /// Sets [`deadline`](Self::deadline).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

/// Flask-Session 0.8's Redis sessions, shared with a Flask app (see the [module
/// docs](self) for the format, the type mapping and the caveats).
///
/// ```no_run
/// # #[cfg(feature = "axum")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use flagon::store::flask_session::{FlaskSessionOptions, FlaskSessionRedisStore};
///
/// let options = FlaskSessionOptions::default().key_prefix("myapp:");
/// let store = FlaskSessionRedisStore::connect_with("redis://127.0.0.1:6379", options).await?;
/// let key = flagon::Key::new("the Flask app's SECRET_KEY")?;
/// let layer = flagon::axum::SessionLayer::new(flagon::SessionConfig::flask(key))?.with_store(store);
/// # let _ = layer; Ok(()) }
/// ```
pub struct FlaskSessionRedisStore {
    link: Arc<Link>,
    options: FlaskSessionOptions,
}

impl std::fmt::Debug for FlaskSessionRedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlaskSessionRedisStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The record as read: its bytes and its expiry in Unix seconds.
struct Stored {
    bytes: Vec<u8>,
    expires_at: u64,
}

impl FlaskSessionRedisStore {
    /// Connects to one Redis node (`redis://[:PASSWORD@]HOST:PORT[/DB]`) with
    /// Flask-Session's default settings.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is invalid or the node does not answer in time.
    pub async fn connect(url: &str) -> Result<FlaskSessionRedisStore, StoreError> {
        FlaskSessionRedisStore::connect_with(url, FlaskSessionOptions::default()).await
    }

    /// Connects to one Redis node with `options`.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is invalid or the node does not answer in time.
    pub async fn connect_with(
        url: &str,
        options: FlaskSessionOptions,
    ) -> Result<FlaskSessionRedisStore, StoreError> {
        let link = single_node_link(url, options.deadline).await?;
        let store = FlaskSessionRedisStore { link, options };
        store.check_server().await?;
        Ok(store)
    }

    /// Fails early, with what to do, on a Redis without `EXPIRETIME` (before 7.0).
    async fn check_server(&self) -> Result<(), StoreError> {
        let mut probe = redis::cmd("EXPIRETIME");
        probe.arg(format!("{}flagon-probe", self.options.key_prefix));
        self.link
            .run(self.options.deadline, |mut conn| async move {
                match probe.query_async::<i64>(&mut conn).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.to_string().to_ascii_lowercase().contains("unknown command") => {
                        Err(backend(SetupError(
                            "the Flask-Session store needs Redis 7.0 or later (it reads expiries with EXPIRETIME); upgrade Redis",
                        )))
                    }
                    Err(e) => Err(backend(e)),
                }
            })
            .await
    }

    /// The settings this store runs with.
    pub fn options(&self) -> &FlaskSessionOptions {
        &self.options
    }

    /// The Redis key of a session: `SESSION_KEY_PREFIX + sid`.
    fn key(&self, key: &StoreKey) -> String {
        let mut text = String::with_capacity(self.options.key_prefix.len() + 43);
        text.push_str(&self.options.key_prefix);
        encode_segment_into(key.as_bytes(), &mut text);
        text
    }

    /// Runs one script invocation within the deadline.
    async fn run<T: redis::FromRedisValue + Send>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.link
            .run(self.options.deadline, |mut conn| async move {
                invocation.invoke_async(&mut conn).await.map_err(backend)
            })
            .await
    }

    /// The record under `key`, if Redis has it.
    async fn read(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        let reply: Option<(Vec<u8>, i64)> = self.run(scripts::LOAD.key(key)).await?;
        Ok(reply.map(|(bytes, expires)| Stored {
            bytes,
            expires_at: expiry(expires),
        }))
    }

    /// The live record under `key` at `now`, decoded, with the bytes it came from.
    async fn read_live(&self, key: &str, now: u64) -> Result<Option<(Stored, Map)>, StoreError> {
        match self.read(key).await? {
            Some(stored) if stored.expires_at > now => {
                let data = msgpack::decode(&stored.bytes).map_err(StoreError::Corrupt)?;
                Ok(Some((stored, data)))
            }
            _ => Ok(None),
        }
    }

    /// The bytes a new record holds: `data`, `_permanent` added when configured.
    fn new_record_bytes(&self, data: &Map) -> Result<Vec<u8>, StoreError> {
        if self.options.permanent && !data.contains_key(crate::session::PERMANENT_KEY) {
            let mut data = data.clone();
            data.insert(crate::session::PERMANENT_KEY.to_owned(), Value::Bool(true));
            return msgpack::encode(&data).map_err(backend);
        }
        msgpack::encode(data).map_err(backend)
    }

    /// Applies `changes` in Redis with [`scripts::SPLICE`] on `keys` (the record, and for a
    /// renew the key it moves to).
    async fn splice(
        &self,
        keys: &[&str],
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<i64, StoreError> {
        let mut invocation = scripts::SPLICE.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        invocation
            .arg(now)
            .arg(expires_at)
            .arg(if changes.clear { "1" } else { "0" });
        for (name, value) in &changes.set {
            let entry = match value {
                Some(value) => msgpack::encode_entry(name, value).map_err(backend)?,
                None => Vec::new(),
            };
            invocation.arg(name.as_str()).arg(entry);
        }
        self.run(invocation).await
    }

    /// The read, apply, compare-and-set loop of `apply` and `renew` for records
    /// [`scripts::SPLICE`] cannot walk (JSON ones). `write` runs the
    /// conditional script on the bytes read and the new bytes and answers like it.
    async fn read_apply_write<F, Fut>(
        &self,
        key: &str,
        changes: &Changes,
        now: u64,
        mut write: F,
    ) -> Result<Outcome, StoreError>
    where
        F: FnMut(Vec<u8>, Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = Result<i64, StoreError>>,
    {
        let started = Instant::now();
        for attempt in 0..MAX_ATTEMPTS {
            let Some((stored, mut data)) = self.read_live(key, now).await? else {
                return Ok(Outcome::Gone);
            };
            if !changes.expectations_hold(&data) {
                return Ok(Outcome::Conflict);
            }
            changes.apply_to(&mut data);
            let bytes = msgpack::encode(&data).map_err(backend)?;
            match write(stored.bytes, bytes).await? {
                scripts::GONE => return Ok(Outcome::Gone),
                scripts::CHANGED => {
                    if started.elapsed() > self.options.deadline {
                        break;
                    }
                    backoff(attempt).await;
                }
                scripts::COLLISION => return Ok(Outcome::Collision),
                _ => return Ok(Outcome::Done),
            }
        }
        Err(backend(Contended))
    }
}

/// How a conditional write ended.
enum Outcome {
    Done,
    Gone,
    Collision,
    /// A value the request read ([`Changes::expect`]) changed; nothing was written.
    Conflict,
}

impl Outcome {
    /// A script's answer (other than [`scripts::NOT_MSGPACK`] and [`scripts::CHANGED`]).
    fn from_code(code: i64) -> Outcome {
        match code {
            scripts::DONE => Outcome::Done,
            scripts::COLLISION => Outcome::Collision,
            _ => Outcome::Gone,
        }
    }
}

/// The record kept changing under concurrent writes until the attempts ran out.
#[derive(Debug, thiserror::Error)]
#[error("the Flask-Session record kept changing under concurrent writes and this request's changes could not be applied; retry the request, and if it keeps happening, fewer requests should write the same session at once")]
struct Contended;

/// A short pause that grows with the attempts and is jittered, so writers that collided
/// do not collide again in step.
async fn backoff(attempt: u32) {
    if attempt < 2 {
        tokio::task::yield_now().await;
        return;
    }
    let [jitter] = crate::key::random_bytes::<1>();
    let micros = 50 * u64::from(attempt.min(20)) + u64::from(jitter) * 2;
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

/// `EXPIRETIME`'s answer as Unix seconds: `-1` (no TTL) is never.
fn expiry(expires: i64) -> u64 {
    u64::try_from(expires).unwrap_or(u64::MAX)
}

impl SessionStore for FlaskSessionRedisStore {
    async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
        let found = self.read_live(&self.key(key), now).await?;
        Ok(found.map(|(stored, data)| Record::new(data, now, stored.expires_at)))
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        let bytes = self.new_record_bytes(&record.data)?;
        let key = self.key(key);
        let mut invocation = scripts::CREATE.key(&key);
        invocation
            .arg(bytes)
            .arg(record.created_at)
            .arg(record.expires_at);
        let stored: i64 = self.run(invocation).await?;
        Ok(if stored == scripts::DONE {
            Created::Stored
        } else {
            Created::Collision
        })
    }

    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let key = self.key(key);
        // Strict conflicts need the values read checked first: the compare-and-set path
        // reads the record, checks them and writes only if nothing changed meanwhile.
        let spliced = if changes.expect.is_empty() {
            self.splice(&[&key], changes, expires_at, now).await?
        } else {
            scripts::NOT_MSGPACK
        };
        let outcome = match spliced {
            scripts::NOT_MSGPACK => {
                let write = |old: Vec<u8>, new: Vec<u8>| {
                    let mut invocation = scripts::APPLY.key(&key);
                    invocation.arg(old).arg(new).arg(expires_at);
                    async move { self.run(invocation).await }
                };
                self.read_apply_write(&key, changes, now, write).await?
            }
            code => Outcome::from_code(code),
        };
        Ok(match outcome {
            Outcome::Done => Applied::Done,
            Outcome::Conflict => Applied::Conflict,
            _ => Applied::Gone,
        })
    }

    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        if old == new {
            return Ok(Renewed::Collision);
        }
        let (old, new) = (self.key(old), self.key(new));
        let steps = async {
            let spliced = if changes.expect.is_empty() {
                self.splice(&[&old, &new], changes, expires_at, now).await?
            } else {
                scripts::NOT_MSGPACK
            };
            match spliced {
                scripts::NOT_MSGPACK => {
                    let write = |read: Vec<u8>, bytes: Vec<u8>| {
                        let mut invocation = scripts::RENEW.key(&old);
                        invocation
                            .key(&new)
                            .arg(read)
                            .arg(bytes)
                            .arg(now)
                            .arg(expires_at);
                        async move { self.run(invocation).await }
                    };
                    self.read_apply_write(&old, changes, now, write).await
                }
                code => Ok(Outcome::from_code(code)),
            }
        };
        Ok(match within(self.options.deadline * 3, steps).await? {
            Outcome::Done => Renewed::Done,
            Outcome::Gone => Renewed::Gone,
            Outcome::Conflict => Renewed::Conflict,
            Outcome::Collision => Renewed::Collision,
        })
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let key = self.key(key);
        let mut invocation = scripts::TOUCH.key(&key);
        invocation.arg(now).arg(expires_at);
        let done: i64 = self.run(invocation).await?;
        Ok(if done == scripts::DONE {
            Applied::Done
        } else {
            Applied::Gone
        })
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        let key = self.key(key);
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&key);
        self.link
            .run(self.options.deadline, |mut conn| async move {
                cmd.query_async::<i64>(&mut conn).await.map_err(backend)
            })
            .await
            .map(|_| ())
    }

    /// Redis expires records itself (TTL); nothing to do.
    async fn sweep(&self, _now: u64) -> Result<u64, StoreError> {
        Ok(0)
    }

    fn id_scheme(&self) -> IdScheme {
        IdScheme::FlaskSession {
            signed: self.options.use_signer,
            permanent: self.options.permanent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flask::XorShift;
    use crate::value::BigInt;

    fn random_text(rng: &mut XorShift) -> String {
        // Lengths across fixstr, str8 and str16 headers.
        let len = [0, 5, 31, 32, 200, 255, 256, 300][rng.below(8) as usize];
        (0..len)
            .map(|i| char::from(b'a' + ((i as u64 + rng.below(26)) % 26) as u8))
            .collect()
    }

    fn random_value(rng: &mut XorShift, depth: u32) -> Value {
        let kinds = if depth == 0 { 9 } else { 11 };
        match rng.below(kinds) {
            0 => Value::Null,
            1 => Value::Bool(rng.below(2) == 0),
            2 => {
                let widths = [0, 100, 200, 40_000, 3_000_000_000, i64::MAX as u64];
                let magnitude = widths[rng.below(6) as usize] as i64;
                Value::Int(if rng.below(2) == 0 {
                    magnitude
                } else {
                    -magnitude
                })
            }
            3 => Value::BigInt(BigInt::parse("18446744073709551615").expect("u64 max")),
            4 => Value::Float(rng.below(1000) as f64 / 7.0),
            5 => Value::Str(random_text(rng)),
            6 => Value::Bytes((0..rng.below(300)).map(|b| b as u8).collect()),
            7 => {
                // Timestamps of all three sizes.
                let secs = [0, 1_704_157_445, 1 << 33, -2_208_988_800][rng.below(4) as usize];
                let nanos = [0, 123_456_000][rng.below(2) as usize];
                let at = time::OffsetDateTime::from_unix_timestamp(secs).expect("time")
                    + time::Duration::nanoseconds(nanos);
                Value::DateTime(at)
            }
            8 => Value::Str("é\u{1F600}".repeat(rng.below(3) as usize)),
            9 => {
                let n = [0, 3, 16, 20][rng.below(4) as usize];
                Value::List((0..n).map(|_| random_value(rng, depth - 1)).collect())
            }
            _ => {
                let n = [0, 2, 16, 17][rng.below(4) as usize];
                let map = (0..n)
                    .map(|i| (format!("n{i}"), random_value(rng, depth - 1)))
                    .collect();
                Value::Dict(map)
            }
        }
    }

    fn random_key(rng: &mut XorShift) -> String {
        if rng.below(4) == 0 {
            random_text(rng)
        } else {
            format!("k{}", rng.below(40))
        }
    }

    /// The Lua splice against the model (`Changes::apply_to`), on random records and
    /// changes that cover every MessagePack header the script measures.
    #[tokio::test]
    async fn splice_applies_changes_as_the_model_does() {
        let options = FlaskSessionOptions::default()
            .key_prefix(format!("fsess-unit:{}:", std::process::id()))
            .permanent(false);
        let store = match FlaskSessionRedisStore::connect_with("redis://127.0.0.1:6379", options)
            .await
        {
            Ok(store) => store,
            Err(e) if std::env::var_os("CI").is_some() => panic!("Redis is required under CI: {e}"),
            Err(e) => return eprintln!("SKIPPED: no Redis on 127.0.0.1:6379 ({e})"),
        };
        let mut rng = XorShift::new(0x5eed_f1a5);
        let now = crate::store::codec::unix_now();
        for round in 0..300 {
            let mut model: Map = (0..rng.below(24))
                .map(|_| (random_key(&mut rng), random_value(&mut rng, 2)))
                .collect();
            model.insert("anchor".into(), Value::Int(round));
            let key = crate::id::SessionId::generate().store_key();
            let record = Record::new(model.clone(), now, now + 60);
            assert_eq!(
                store.create(&key, &record).await.ok(),
                Some(Created::Stored)
            );
            for _ in 0..3 {
                let mut changes = Changes {
                    clear: rng.below(6) == 0,
                    ..Changes::default()
                };
                for _ in 0..rng.below(8) {
                    let value = (rng.below(3) != 0).then(|| random_value(&mut rng, 2));
                    changes.set.insert(random_key(&mut rng), value);
                }
                // The script itself, so a fallback to the compare-and-set cannot hide a
                // record it failed to walk.
                let name = store.key(&key);
                let spliced = store.splice(&[&name], &changes, now + 60, now).await;
                assert_eq!(spliced.ok(), Some(scripts::DONE), "round {round}");
                changes.apply_to(&mut model);
                let loaded = store.load(&key, now).await.ok().flatten();
                assert_eq!(loaded.map(|r| r.data), Some(model.clone()), "round {round}");
            }
            store.delete(&key).await.ok();
        }
    }

    /// Raw records as another writer left them: order kept, a changed key in place, new
    /// keys at the end; a record that is not a dict of string keys is an error, not data.
    #[tokio::test]
    async fn splice_keeps_python_dict_order_and_refuses_foreign_records() {
        let prefix = format!("fsess-unit-raw:{}:", std::process::id());
        let options = FlaskSessionOptions::default().key_prefix(prefix);
        let Ok(store) =
            FlaskSessionRedisStore::connect_with("redis://127.0.0.1:6379", options).await
        else {
            assert!(
                std::env::var_os("CI").is_none(),
                "Redis is required under CI"
            );
            return eprintln!("SKIPPED: no Redis on 127.0.0.1:6379");
        };
        let client = redis::Client::open("redis://127.0.0.1:6379").expect("url");
        let mut raw = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let now = crate::store::codec::unix_now();
        let key = crate::id::SessionId::generate().store_key();
        let name = store.key(&key);
        let set_raw = |bytes: &'static [u8]| {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&name).arg(bytes).arg("EX").arg(60);
            cmd
        };
        // {"b": 1, "a": 2}, in that order, as Python would insert them.
        let _: () = set_raw(b"\x82\xa1b\x01\xa1a\x02")
            .query_async(&mut raw)
            .await
            .expect("SET");
        let mut changes = Changes::default();
        changes.set.insert("a".into(), Some(Value::Int(3)));
        changes.set.insert("c".into(), Some(Value::Int(4)));
        let applied = store.apply(&key, &changes, now + 60, now).await;
        assert_eq!(applied.ok(), Some(Applied::Done));
        let bytes: Vec<u8> = redis::cmd("GET")
            .arg(&name)
            .query_async(&mut raw)
            .await
            .expect("GET");
        assert_eq!(bytes, b"\x83\xa1b\x01\xa1a\x03\xa1c\x04");
        // {1: 2}: a dict with an int key, which a flagon session cannot hold.
        let _: () = set_raw(b"\x81\x01\x02")
            .query_async(&mut raw)
            .await
            .expect("SET");
        assert!(matches!(
            store.load(&key, now).await,
            Err(StoreError::Corrupt(_))
        ));
        let applied = store.apply(&key, &changes, now + 60, now).await;
        assert!(
            matches!(applied, Err(StoreError::Corrupt(_))),
            "{applied:?}"
        );
        let kept: Vec<u8> = redis::cmd("GET")
            .arg(&name)
            .query_async(&mut raw)
            .await
            .expect("GET");
        assert_eq!(
            kept, b"\x81\x01\x02",
            "a record flagon cannot read is left alone"
        );
        store.delete(&key).await.ok();
    }
}
