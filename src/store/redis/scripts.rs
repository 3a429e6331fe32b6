//! The Lua scripts that make each Redis operation atomic.
//!
//! A session is one hash `PREFIX{HEX}`: field `c` is created_at, `e` expires_at (both
//! Unix seconds), `s` is present while a renew moves it away, and each session key `k` is
//! the field `v:k` holding that value's tagged JSON. The hash also carries a TTL at
//! `e`, so Redis removes expired sessions by itself. The braces make the whole key one
//! hash tag, so a script touches one key in one Cluster slot.

/// True when the hash is a live, unsealed session at time `now`.
const LIVE: &str = r"
local function live(k, now)
  local m = redis.call('HMGET', k, 'e', 's')
  return m[1] and not m[2] and tonumber(m[1]) > now
end
";

/// Writes a change set: ARGV[i] = '1' to clear, ARGV[i+1] = n, then n field/value pairs,
/// then fields to remove up to the end.
const WRITE: &str = r"
local function write(k, i)
  if ARGV[i] == '1' then
    for _, f in ipairs(redis.call('HKEYS', k)) do
      if string.sub(f, 1, 2) == 'v:' then redis.call('HDEL', k, f) end
    end
  end
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, n do
    redis.call('HSET', k, ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  while i <= #ARGV do
    redis.call('HDEL', k, ARGV[i])
    i = i + 1
  end
end
";

/// KEYS[1]; ARGV: now, created_at, expires_at, then field/value pairs.
/// 1 = stored, 0 = a live record (or one being renewed) is in the way.
const CREATE: &str = r"
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'c', ARGV[2], 'e', ARGV[3])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
";

/// KEYS[1]; ARGV: now, expires_at, then a change set. 1 = done, 0 = gone.
const APPLY: &str = r"
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
write(KEYS[1], 3)
redis.call('HSET', KEYS[1], 'e', ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
";

/// KEYS[1]; ARGV: now, expires_at. 1 = done, 0 = gone.
const TOUCH: &str = r"
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
";

/// Renew, step 1, on the old key. KEYS[1]; ARGV: now.
/// Seals the record (from now on it loads as nothing and accepts no writes) and returns
/// all its fields; an empty reply means it was gone.
const SEAL: &str = r"
if not live(KEYS[1], tonumber(ARGV[1])) then return {} end
redis.call('HSET', KEYS[1], 's', '1')
return redis.call('HGETALL', KEYS[1])
";

/// Renew, undo of step 1 after a collision on the new key. KEYS[1].
const UNSEAL: &str = r"
return redis.call('HDEL', KEYS[1], 's')
";

/// The scripts, hashed once.
pub(super) struct Scripts {
    pub(super) create: redis::Script,
    pub(super) apply: redis::Script,
    pub(super) touch: redis::Script,
    pub(super) seal: redis::Script,
    pub(super) unseal: redis::Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        Scripts {
            create: redis::Script::new(CREATE),
            apply: redis::Script::new(&format!("{LIVE}{WRITE}{APPLY}")),
            touch: redis::Script::new(&format!("{LIVE}{TOUCH}")),
            seal: redis::Script::new(&format!("{LIVE}{SEAL}")),
            unseal: redis::Script::new(UNSEAL),
        }
    }

    /// Every script, to load them all up front.
    pub(super) fn all(&self) -> [&redis::Script; 5] {
        [
            &self.create,
            &self.apply,
            &self.touch,
            &self.seal,
            &self.unseal,
        ]
    }
}
