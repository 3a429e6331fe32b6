//! The Lua scripts that make each write conditional on the server.
//!
//! A record is a plain Redis string holding MessagePack, with a TTL set with `EXAT`, so
//! `EXPIRETIME` gives back the exact expiry flagon wrote (or, for a record Flask-Session
//! wrote, the second its `EX` TTL ends). The scripts never decode the record: they compare
//! it byte for byte with what the Rust side read, so no Lua number ever holds a session
//! value. Times come in as the caller's `now`, so a record that is expired by the
//! caller's clock but not yet by Redis' is treated as expired.

use std::sync::LazyLock;

use redis::Script;

/// The write happened.
pub(super) const DONE: i64 = 1;
/// No record (deleted, renewed away or expired): nothing was written.
pub(super) const GONE: i64 = 0;
/// The record is not the one read any more: read again.
pub(super) const CHANGED: i64 = 2;
/// The target key of a create or renew holds a live record: nothing was written.
pub(super) const COLLISION: i64 = 3;

/// `KEYS[1]` → `{bytes, EXPIRETIME}`, or nil when there is no record.
pub(super) static LOAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('EXPIRETIME', KEYS[1])}",
    )
});

/// `KEYS[1]`, `ARGV` = bytes, now, expires_at: stores the record unless a live one
/// (by `now`) is there; an expired one is replaced whole.
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local e = redis.call('EXPIRETIME', KEYS[1])
if e == -1 or e > tonumber(ARGV[2]) then return 3 end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[3])
return 1",
    )
});

/// `KEYS[1]`, `ARGV` = bytes read, new bytes, expires_at: replaces the record only if it
/// still holds the bytes read.
pub(super) static APPLY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v ~= ARGV[1] then return 2 end
redis.call('SET', KEYS[1], ARGV[2], 'EXAT', ARGV[3])
return 1",
    )
});

/// `KEYS` = old, new; `ARGV` = bytes read from old, new bytes, now, expires_at: moves
/// the record if old still holds the bytes read and new has no live record.
pub(super) static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v ~= ARGV[1] then return 2 end
local e = redis.call('EXPIRETIME', KEYS[2])
if e == -1 or e > tonumber(ARGV[3]) then return 3 end
redis.call('SET', KEYS[2], ARGV[2], 'EXAT', ARGV[4])
redis.call('DEL', KEYS[1])
return 1",
    )
});

/// `KEYS[1]`, `ARGV` = now, expires_at: moves the expiry of a record live at `now`.
pub(super) static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local e = redis.call('EXPIRETIME', KEYS[1])
if e == -2 or (e ~= -1 and e <= tonumber(ARGV[1])) then return 0 end
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1",
    )
});
