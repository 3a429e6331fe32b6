//! The SQL the SQLite store runs. Times are integer UTC Unix seconds; keys are the
//! 32-byte SHA-256 of the session id.

/// Tables, created on first open.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS flagon_sessions (
    key BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS flagon_sessions_expires_at ON flagon_sessions (expires_at);
CREATE TABLE IF NOT EXISTS flagon_session_values (
    key BLOB NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (key, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS flagon_session_values_owner
    ON flagon_session_values (value) WHERE name = '_flagon_owner';
";

pub(super) const LOAD_SESSION: &str =
    "SELECT created_at, expires_at FROM flagon_sessions WHERE key = ?1 AND expires_at > ?2";
pub(super) const LOAD_VALUE: &str =
    "SELECT value FROM flagon_session_values WHERE key = ?1 AND name = ?2";
pub(super) const LOAD_VALUES: &str = "SELECT name, value FROM flagon_session_values WHERE key = ?1";
pub(super) const SESSION_EXPIRY: &str = "SELECT expires_at FROM flagon_sessions WHERE key = ?1";
pub(super) const REPLACE_SESSION: &str =
    "INSERT OR REPLACE INTO flagon_sessions (key, created_at, expires_at) VALUES (?1, ?2, ?3)";
/// Moves the expiry of a live session; 0 rows changed means it is gone.
pub(super) const EXTEND_LIVE: &str =
    "UPDATE flagon_sessions SET expires_at = ?2 WHERE key = ?1 AND expires_at > ?3";
pub(super) const CLEAR_VALUES: &str = "DELETE FROM flagon_session_values WHERE key = ?1";
pub(super) const UPSERT_VALUE: &str =
    "INSERT OR REPLACE INTO flagon_session_values (key, name, value) VALUES (?1, ?2, ?3)";
pub(super) const REMOVE_VALUE: &str =
    "DELETE FROM flagon_session_values WHERE key = ?1 AND name = ?2";
pub(super) const DELETE_SESSION: &str = "DELETE FROM flagon_sessions WHERE key = ?1";
pub(super) const MOVE_SESSION: &str =
    "UPDATE flagon_sessions SET key = ?2, expires_at = ?3 WHERE key = ?1";
pub(super) const MOVE_VALUES: &str = "UPDATE flagon_session_values SET key = ?2 WHERE key = ?1";
pub(super) const EXPIRED_KEYS: &str =
    "SELECT key FROM flagon_sessions WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2";
pub(super) const DELETE_EXPIRED: &str =
    "DELETE FROM flagon_sessions WHERE key = ?1 AND expires_at <= ?2";
/// The live sessions whose owner value row equals ?1 (the registry's index: the partial
/// index on owner rows).
pub(super) const OWNED_KEYS: &str = "SELECT s.key FROM flagon_session_values v
    JOIN flagon_sessions s ON s.key = v.key
    WHERE v.name = '_flagon_owner' AND v.value = ?1 AND s.expires_at > ?2";
