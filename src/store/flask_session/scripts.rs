//! The Lua scripts that make each write atomic on the server.
//!
//! A record is a plain Redis string holding a MessagePack map, with a TTL set with `EXAT`,
//! so `EXPIRETIME` gives back the exact expiry flagon wrote (or, for a record Flask-Session
//! wrote, the second its `EX` TTL ends). Times come in as the caller's `now`, so a record
//! that is expired by the caller's clock but not yet by Redis' is treated as expired.
//!
//! [`SPLICE`] applies a request's changes inside Redis without decoding any value: it
//! walks the top-level map entry by entry, measuring each value from its MessagePack
//! headers (lengths, never numbers: Lua numbers are doubles, so Redis' `cmsgpack` would
//! round integers above 2**53), keeps the entries the request did not touch byte for
//! byte, and puts in the entries Rust encoded. A changed key keeps its place, new keys go
//! at the end, as in a Python dict. Records it cannot walk (JSON ones, written with
//! `SESSION_SERIALIZATION_FORMAT = "json"`) are left to the compare-and-set of [`APPLY`].

use std::sync::LazyLock;

use redis::Script;

/// The record is not a MessagePack map with string keys: decode it in Rust instead.
pub(super) const NOT_MSGPACK: i64 = 4;
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

/// `KEYS` = the record (and, for a renew, the key to move it to); `ARGV` = now,
/// expires_at, `1` to clear first or `0`, then per changed key the key and its whole map
/// entry in MessagePack (key and value), or an empty string to remove it. Answers
/// [`DONE`], [`GONE`], [`COLLISION`] or [`NOT_MSGPACK`] (nothing written but `DONE`).
pub(super) static SPLICE: LazyLock<Script> = LazyLock::new(|| Script::new(SPLICE_LUA));

const SPLICE_LUA: &str = r#"
local rec = redis.call('GET', KEYS[1])
if not rec then return 0 end
local now = tonumber(ARGV[1])
local e = redis.call('EXPIRETIME', KEYS[1])
if e ~= -1 and e <= now then return 0 end
local renew = #KEYS == 2
if renew then
  local e2 = redis.call('EXPIRETIME', KEYS[2])
  if e2 == -1 or e2 > now then return 3 end
end
local byte, sub = string.byte, string.sub
local len = #rec
local function uint(p, n)
  local v = 0
  for i = p, p + n - 1 do
    local b = byte(rec, i)
    if not b then return len + 1 end
    v = v * 256 + b
  end
  return v
end
local function skip(p)
  local pending = 1
  while pending > 0 do
    if p > len then return nil end
    local m = byte(rec, p)
    pending = pending - 1
    if m <= 0x7f or m >= 0xe0 or m == 0xc0 or m == 0xc2 or m == 0xc3 then p = p + 1
    elseif m <= 0x8f then pending = pending + 2 * (m - 0x80); p = p + 1
    elseif m <= 0x9f then pending = pending + (m - 0x90); p = p + 1
    elseif m <= 0xbf then p = p + 1 + (m - 0xa0)
    elseif m == 0xc4 or m == 0xd9 then p = p + 2 + uint(p + 1, 1)
    elseif m == 0xc5 or m == 0xda then p = p + 3 + uint(p + 1, 2)
    elseif m == 0xc6 or m == 0xdb then p = p + 5 + uint(p + 1, 4)
    elseif m == 0xc7 then p = p + 3 + uint(p + 1, 1)
    elseif m == 0xc8 then p = p + 4 + uint(p + 1, 2)
    elseif m == 0xc9 then p = p + 6 + uint(p + 1, 4)
    elseif m == 0xcc or m == 0xd0 then p = p + 2
    elseif m == 0xcd or m == 0xd1 then p = p + 3
    elseif m == 0xca or m == 0xce or m == 0xd2 then p = p + 5
    elseif m == 0xcb or m == 0xcf or m == 0xd3 then p = p + 9
    elseif m == 0xd4 then p = p + 3
    elseif m == 0xd5 then p = p + 4
    elseif m == 0xd6 then p = p + 6
    elseif m == 0xd7 then p = p + 10
    elseif m == 0xd8 then p = p + 18
    elseif m == 0xdc then pending = pending + uint(p + 1, 2); p = p + 3
    elseif m == 0xdd then pending = pending + uint(p + 1, 4); p = p + 5
    elseif m == 0xde then pending = pending + 2 * uint(p + 1, 2); p = p + 3
    elseif m == 0xdf then pending = pending + 2 * uint(p + 1, 4); p = p + 5
    else return nil end
  end
  if p > len + 1 then return nil end
  return p
end
local m = byte(rec, 1)
local n, p
if m and m >= 0x80 and m <= 0x8f then n = m - 0x80; p = 2
elseif m == 0xde and len >= 3 then n = uint(2, 2); p = 4
elseif m == 0xdf and len >= 5 then n = uint(2, 4); p = 6
else return 4 end
local clear = ARGV[3] == '1'
local set, lens = {}, {}
for i = 4, #ARGV, 2 do
  set[ARGV[i]] = ARGV[i + 1]
  lens[#ARGV[i]] = true
end
local out, count, done = {}, 0, {}
local run, kept = p, 0
for _ = 1, n do
  local km = byte(rec, p)
  local ks, kl
  if not km then return 4 end
  if km >= 0xa0 and km <= 0xbf then ks = p + 1; kl = km - 0xa0
  elseif km == 0xd9 then ks = p + 2; kl = uint(p + 1, 1)
  elseif km == 0xda then ks = p + 3; kl = uint(p + 1, 2)
  elseif km == 0xdb then ks = p + 5; kl = uint(p + 1, 4)
  else return 4 end
  local v = ks + kl
  local after = skip(v)
  if not after then return 4 end
  local change
  if not clear and lens[kl] then change = set[sub(rec, ks, v - 1)] end
  if clear or change ~= nil then
    if p > run then out[#out + 1] = sub(rec, run, p - 1) end
    if change ~= nil and change ~= '' then
      local key = sub(rec, ks, v - 1)
      if not done[key] then
        out[#out + 1] = change; count = count + 1; done[key] = true
      end
    end
    run = after
  else
    kept = kept + 1
  end
  p = after
end
if p > run then out[#out + 1] = sub(rec, run, p - 1) end
count = count + kept
if p ~= len + 1 then return 4 end
for i = 4, #ARGV, 2 do
  local key, entry = ARGV[i], ARGV[i + 1]
  if entry ~= '' and not done[key] then
    out[#out + 1] = entry; count = count + 1; done[key] = true
  end
end
local head
if count < 16 then head = string.char(0x80 + count)
elseif count < 65536 then head = string.char(0xde, math.floor(count / 256), count % 256)
else head = string.char(0xdf, math.floor(count / 16777216) % 256,
  math.floor(count / 65536) % 256, math.floor(count / 256) % 256, count % 256) end
redis.call('SET', KEYS[#KEYS], head .. table.concat(out), 'EXAT', ARGV[2])
if renew then redis.call('DEL', KEYS[1]) end
return 1
"#;
