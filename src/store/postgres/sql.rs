//! The SQL the PostgreSQL store runs, for one table name chosen at connect time.
//!
//! Times are `bigint` UTC Unix seconds; keys are the 32-byte SHA-256 of the session id.
//! Values live one row per session key in `TABLE_values`, whose foreign key cascades
//! deletes (purge, sweep) and key updates (renew).

/// "Now" for deciding that a session is live: the later of the app's clock (`$n`) and the
/// database's. An app server whose clock is behind can then never load, extend or write
/// into a session the database already sees as expired (and so revive it for everyone);
/// one whose clock is ahead only expires sessions early, by its own skew.
fn live_after(param: &str) -> String {
    format!("GREATEST({param}, floor(extract(epoch FROM clock_timestamp()))::bigint)")
}

/// Statements with the table name filled in.
pub(super) struct Sql {
    pub(super) schema: String,
    pub(super) load: String,
    pub(super) create: String,
    pub(super) extend_live: String,
    pub(super) write_values: String,
    /// [`write_values`](Self::write_values) that writes nothing unless the session is
    /// live (`$6` is the app's now): the second statement of the pipelined apply, which
    /// is sent before the first one's answer is known.
    pub(super) write_values_if_live: String,
    pub(super) lock_live: String,
    pub(super) load_named: String,
    pub(super) lock_any: String,
    pub(super) delete: String,
    pub(super) rename: String,
    pub(super) sweep: String,
    /// The registry: keys of the live sessions whose owner row equals `$1`.
    pub(super) owned_keys: String,
}

impl Sql {
    pub(super) fn new(t: &str) -> Sql {
        Sql {
            schema: format!(
                "CREATE TABLE IF NOT EXISTS {t} (
                    key bytea PRIMARY KEY,
                    created_at bigint NOT NULL,
                    expires_at bigint NOT NULL);
                 CREATE INDEX IF NOT EXISTS {t}_expires_at ON {t} (expires_at);
                 CREATE TABLE IF NOT EXISTS {t}_values (
                    key bytea NOT NULL REFERENCES {t} (key) ON DELETE CASCADE ON UPDATE CASCADE,
                    name text NOT NULL,
                    value text NOT NULL,
                    PRIMARY KEY (key, name));
                 CREATE INDEX IF NOT EXISTS {t}_values_owner ON {t}_values (value)
                    WHERE name = '_flagon_owner';"
            ),
            load: format!(
                "SELECT s.created_at, s.expires_at, v.name, v.value FROM {t} s
                 LEFT JOIN {t}_values v ON v.key = s.key
                 WHERE s.key = $1 AND s.expires_at > {}",
                live_after("$2")
            ),
            // Inserts, or takes over an expired row; 0 rows means a live one is in the way.
            create: format!(
                "INSERT INTO {t} (key, created_at, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE
                 SET created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
                 WHERE {t}.expires_at <= EXCLUDED.created_at"
            ),
            // Also takes the row lock that orders every writer of this session.
            extend_live: format!(
                "UPDATE {t} SET expires_at = $2 WHERE key = $1 AND expires_at > {}",
                live_after("$3")
            ),
            // $2 clear, $3 names to remove, $4/$5 names and values to set. The delete never
            // touches a name being set, so the two parts change disjoint rows.
            write_values: format!(
                "WITH gone AS (
                    DELETE FROM {t}_values WHERE key = $1
                    AND ($2 OR name = ANY($3)) AND NOT (name = ANY($4)))
                 INSERT INTO {t}_values (key, name, value)
                 SELECT $1, n, v FROM unnest($4::text[], $5::text[]) AS u(n, v)
                 ON CONFLICT (key, name) DO UPDATE SET value = EXCLUDED.value"
            ),
            write_values_if_live: format!(
                "WITH live AS (
                    SELECT 1 FROM {t} WHERE key = $1 AND expires_at > {live}),
                 gone AS (
                    DELETE FROM {t}_values WHERE key = $1 AND EXISTS (SELECT 1 FROM live)
                    AND ($2 OR name = ANY($3)) AND NOT (name = ANY($4)))
                 INSERT INTO {t}_values (key, name, value)
                 SELECT $1, n, v FROM unnest($4::text[], $5::text[]) AS u(n, v)
                 WHERE EXISTS (SELECT 1 FROM live)
                 ON CONFLICT (key, name) DO UPDATE SET value = EXCLUDED.value",
                live = live_after("$6")
            ),
            lock_live: format!(
                "SELECT 1 FROM {t} WHERE key = $1 AND expires_at > {} FOR UPDATE",
                live_after("$2")
            ),
            load_named: format!(
                "SELECT name, value FROM {t}_values WHERE key = $1 AND name = ANY($2)"
            ),
            lock_any: format!("SELECT expires_at FROM {t} WHERE key = $1 FOR UPDATE"),
            delete: format!("DELETE FROM {t} WHERE key = $1"),
            rename: format!("UPDATE {t} SET key = $2, expires_at = $3 WHERE key = $1"),
            // Batched, and conditional again on the row itself, so a session extended
            // meanwhile is never removed.
            sweep: format!(
                "DELETE FROM {t} WHERE key IN (
                    SELECT key FROM {t} WHERE expires_at <= $1 LIMIT $2)
                 AND expires_at <= $1"
            ),
            owned_keys: format!(
                "SELECT s.key FROM {t}_values v JOIN {t} s ON s.key = v.key
                 WHERE v.name = '_flagon_owner' AND v.value = $1 AND s.expires_at > {}",
                live_after("$2")
            ),
        }
    }
}
