//! The Lua scripts that make each Redis operation atomic.
//!
//! A session is one hash `PREFIX{HEX}`: field `c` is created_at, `e` expires_at (both
//! Unix seconds), `n` the nonce of the create call that made it, `s` is present (holding
//! the renew's token) while a Cluster renew moves it away, and each session key `k` is
//! the field `v:k` holding that value's tagged JSON. The hash also carries a TTL at
//! `e`, so Redis removes expired sessions by itself. The braces make the whole key one
//! hash tag, so a script touches one key in one Cluster slot.
//!
//! A session with an owner also has field `o`, the name of its owner's index (a sorted set
//! `PREFIX{owner:HASH}` of store keys, see `owners`), and `l`, its lease: the score under
//! which that index is known to hold this key. Scripts keep `e <= l`: a write that would
//! move `e` past `l` (or, in a renew, move the record to a key the index does not hold
//! yet) writes nothing and returns the index name instead, so the client can raise the
//! lease in the index first and send the write again with that grant. The index lives in
//! another Cluster slot, so no script touches it; this order is what keeps the index a
//! superset of the owner's live sessions.
//!
//! Every script keeps the invariant *TTL = `e`*: whatever sets `e` also runs `EXPIREAT`
//! with the same value. So a write whose new expiry equals the stored `e` (the common
//! case: expiries move in whole seconds, and most requests fall in the same second as the
//! one before) skips both, and the hot path of APPLY is two calls into Redis, `HMGET`
//! and one `HSET`. Each `redis.call` costs about as much as a whole command sent over the
//! network, which is why the scripts batch fields into one call instead of one per field.
//!
//! Every script is safe to run twice. The Cluster client sends a command again when the
//! connection broke before its reply came, although the first one may have run: a create
//! recognises its own nonce, and a seal its own token, so a resent step reports what the
//! first one did instead of a collision or a false "gone".
//!
//! Why not a scriptless `MULTI`/`EXEC`? A transaction cannot make its writes conditional
//! on what it reads, so a write into a record that was logged out, sealed by a renew or
//! expired would land first and have to be undone afterwards; between the two, a record
//! that had expired would load as live (its `e` was just moved forward). The scripts'
//! check-then-write is the only way Redis 7.0 offers to keep "expired records never load"
//! and "a dead record is never written into" without a window.

/// Lua that calls `CMD k T[I..J]` (`I` and `J` being Lua expressions), in chunks small
/// enough for Lua's `unpack` (which gives up at a few thousand values). Chunks have an
/// even length, so field/value pairs stay together. Inlined rather than a Lua function:
/// defining a function costs every run of the script.
fn batch(cmd: &str, table: &str, first: &str, last: &str) -> String {
    format!(
        "do
  local i, j = {first}, {last}
  while i <= j do
    local stop = math.min(j, i + 999)
    redis.call('{cmd}', k, unpack({table}, i, stop))
    i = stop + 1
  end
end
"
    )
}

/// Sets `e` and the TTL to ARGV[2] unless the stored `e` (in `e`) already equals it.
const EXPIRE: &str = r"
if e ~= ARGV[2] then
  redis.call('HSET', k, 'e', ARGV[2])
  redis.call('EXPIREAT', k, ARGV[2])
end
return 1
";

/// Binds `k` to KEYS[1], `e` to its stored expiry and `m` to its `e`, `s`, `o`, `l`
/// fields, or returns `gone` unless the hash is a live, unsealed session at time ARGV[1].
fn live(gone: &str) -> String {
    format!(
        "local k = KEYS[1]
local m = redis.call('HMGET', k, 'e', 's', 'o', 'l')
if not m[1] or m[2] or tonumber(m[1]) <= tonumber(ARGV[1]) then return {gone} end
local e = m[1]
"
    )
}

/// KEYS[1]; ARGV: now, created_at, expires_at, nonce, then field/value pairs.
/// 1 = stored (now, or by an earlier run of this same call: same nonce), 0 = a live
/// record (or one being renewed) is in the way.
fn create() -> String {
    let fields = batch("HSET", "ARGV", "5", "#ARGV");
    format!(
        "local k = KEYS[1]
local m = redis.call('HMGET', k, 'e', 'n')
if m[1] and tonumber(m[1]) > tonumber(ARGV[1]) then
  if m[2] == ARGV[4] then return 1 end
  return 0
end
redis.call('DEL', k)
redis.call('HSET', k, 'c', ARGV[2], 'e', ARGV[3], 'n', ARGV[4])
{fields}redis.call('EXPIREAT', k, ARGV[3])
return 1
"
    )
}

/// Returns `conflict` unless every expected field of ARGV holds the expected text (an
/// empty text: the field is absent); needs `k` bound. Binds `last`, the index of the
/// last set pair, and `elast`, of the last expected pair.
fn expect(conflict: &str) -> String {
    format!(
        "local last = 8 + 2 * tonumber(ARGV[4])
local elast = last + 2 * tonumber(ARGV[5])
for i = last + 1, elast, 2 do
  if (redis.call('HGET', k, ARGV[i]) or '') ~= ARGV[i + 1] then return {conflict} end
end
"
    )
}

/// The change set of ARGV (clear flag, counts, pairs, expectations, removals) applied to
/// the hash `k`, then the owner fields and the expiry; needs `k`, `e`, `m`, `o`, `l`,
/// `last` and `elast` bound. Returns 1.
fn changes() -> String {
    let clear = batch("HDEL", "gone", "1", "#gone");
    let sets = batch("HSET", "ARGV", "9", "last");
    let removes = batch("HDEL", "ARGV", "elast + 1", "#ARGV");
    format!(
        "if ARGV[3] == '1' then
  local gone = {{}}
  for _, f in ipairs(redis.call('HKEYS', k)) do
    if string.sub(f, 1, 2) == 'v:' then gone[#gone + 1] = f end
  end
  {clear}end
{sets}{removes}{OWNER_WRITE}{EXPIRE}"
    )
}

/// Decides the record's owner index `o` and lease `l` after this write, from the stored
/// ones (`m[3]`, `m[4]`), the write's grant (ARGV[`grant`]: an index that now holds the
/// written key at score ARGV[`grant` + 1]) and its owner action (ARGV[`action`]: `set`
/// to the granted index, `drop`, or empty). Writes nothing; returns the index name when
/// the write would move the key or its expiry where the index does not cover it.
fn owner(grant: usize, action: Option<usize>, moves: bool) -> String {
    let lease = grant + 1;
    let act = action.map_or_else(|| "''".to_owned(), |a| format!("ARGV[{a}]"));
    // A renew moves the record to a new key: only a grant for that key covers it, and
    // its lease replaces the old key's.
    let (take, uncovered) = if moves {
        (
            format!("l = ARGV[{lease}]"),
            format!("o ~= ARGV[{grant}] or "),
        )
    } else {
        (
            format!("if tonumber(ARGV[{lease}]) > tonumber(l or '0') then l = ARGV[{lease}] end"),
            String::new(),
        )
    };
    format!(
        "local o, l = m[3], m[4]
local act = {act}
if act == 'set' then o, l = ARGV[{grant}], ARGV[{lease}]
elseif act == 'drop' then o = false
elseif o and o == ARGV[{grant}] then {take} end
if o and ({uncovered}tonumber(ARGV[2]) > tonumber(l or '0')) then return o end
"
    )
}

/// Stores the owner fields `o` and `l` decided by [`owner`], if they changed.
const OWNER_WRITE: &str = r"
if o then
  if o ~= m[3] or l ~= m[4] then redis.call('HSET', k, 'o', o, 'l', l) end
elseif m[3] then
  redis.call('HDEL', k, 'o', 'l')
end
";

/// KEYS[1]; ARGV: now, expires_at, clear ('1' or '0'), n, m, grant index, grant lease,
/// owner action, then n field/value pairs, then m expected field/value pairs, then fields
/// to remove up to the end. 1 = done, 0 = gone, 2 = an expected field changed, an index
/// name = the write needs a grant on that index (nothing written in either case).
fn apply() -> String {
    format!(
        "{}{}{}{}",
        live("0"),
        expect("2"),
        owner(6, Some(8), false),
        changes()
    )
}

/// Renew on one node, in one atomic step: KEYS[1] old, KEYS[2] new; ARGV as APPLY, the
/// grant being for the new key. 1 = done, 0 = the old record is gone, 2 = a live record
/// holds the new key, 3 = an expected field changed, an index name = an owned record
/// needs a grant for the new key on that index (nothing written but in case 1).
fn renew() -> String {
    format!(
        "{}{}{}local n = redis.call('HGET', KEYS[2], 'e')
if n and tonumber(n) > tonumber(ARGV[1]) then return 2 end
redis.call('RENAME', k, KEYS[2])
k = KEYS[2]
{}",
        live("0"),
        expect("3"),
        owner(6, Some(8), true),
        changes()
    )
}

/// KEYS[1]; ARGV: now, expires_at, grant index, grant lease. 1 = done, 0 = gone, an
/// index name = the new expiry needs a grant on that index (nothing written).
fn touch() -> String {
    format!(
        "{}{}{OWNER_WRITE}{EXPIRE}",
        live("0"),
        owner(3, None, false)
    )
}

/// Cluster renew, step 1, on the old key. KEYS[1]; ARGV: now, token.
/// Seals the record with the renew's token (from now on it loads as nothing and accepts
/// no writes) and returns all its fields; an empty reply means it was gone, or sealed by
/// another renew. A record sealed with this token already is this step run again.
const SEAL: &str = r"
local k = KEYS[1]
local m = redis.call('HMGET', k, 'e', 's')
if not m[1] or tonumber(m[1]) <= tonumber(ARGV[1]) then return {} end
if m[2] and m[2] ~= ARGV[2] then return {} end
redis.call('HSET', k, 's', ARGV[2])
return redis.call('HGETALL', k)
";

/// Cluster renew, undo of step 1 after a collision on the new key. KEYS[1]; ARGV: token.
const UNSEAL: &str = r"
if redis.call('HGET', KEYS[1], 's') == ARGV[1] then return redis.call('HDEL', KEYS[1], 's') end
return 0
";

/// Delete, keeping the owner index tidy. KEYS[1]; returns the owner index `o` of the
/// deleted record (nil if none), so the client can drop the key from it: the key is dead
/// for good, as nothing writes into a deleted record.
const DELETE: &str = r"
local o = redis.call('HGET', KEYS[1], 'o')
redis.call('DEL', KEYS[1])
return o
";

/// Owner index: record that it holds a key until at least the lease. KEYS[1] the index;
/// ARGV: member (store key in hex), lease. A score only grows, and the index expires
/// with its highest score, so an entry outlives the record it stands for. Safe to
/// resend. (No `ZADD GT` or `EXPIRETIME`: they would need Redis 6.2 and 7.0.)
const GRANT: &str = r"
local k = KEYS[1]
local s = redis.call('ZSCORE', k, ARGV[1])
if not s or tonumber(s) < tonumber(ARGV[2]) then redis.call('ZADD', k, ARGV[2], ARGV[1]) end
local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
redis.call('EXPIREAT', k, top[2])
return 1
";

/// Owner index: drop the entries whose lease has passed (their records expired by then),
/// and return the rest. KEYS[1] the index; ARGV: now.
const LIST: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
";

/// The scripts, hashed once.
pub(super) struct Scripts {
    pub(super) create: redis::Script,
    pub(super) apply: redis::Script,
    pub(super) touch: redis::Script,
    pub(super) renew: redis::Script,
    pub(super) seal: redis::Script,
    pub(super) unseal: redis::Script,
    pub(super) delete: redis::Script,
    pub(super) grant: redis::Script,
    pub(super) list: redis::Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        Scripts {
            create: redis::Script::new(&create()),
            apply: redis::Script::new(&apply()),
            touch: redis::Script::new(&touch()),
            renew: redis::Script::new(&renew()),
            seal: redis::Script::new(SEAL),
            unseal: redis::Script::new(UNSEAL),
            delete: redis::Script::new(DELETE),
            grant: redis::Script::new(GRANT),
            list: redis::Script::new(LIST),
        }
    }

    /// Every script, to load them all up front.
    pub(super) fn all(&self) -> [&redis::Script; 9] {
        [
            &self.create,
            &self.apply,
            &self.touch,
            &self.renew,
            &self.seal,
            &self.unseal,
            &self.delete,
            &self.grant,
            &self.list,
        ]
    }
}
