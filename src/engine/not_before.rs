//! Cookie sessions: the per-owner "not before" check of
//! [`SessionConfig::revocation_store`](crate::SessionConfig::revocation_store).

use std::sync::Arc;
use std::time::Instant;

use super::cookie_mode::OpenStats;
use super::{Opened, Shared};
use crate::registry::{not_before_key, NOT_BEFORE_FIELD};
use crate::store::dyn_store::DynStore;
use crate::store::StoreError;
use crate::telemetry::{self, OpenOutcome};
use crate::value::Value;

/// Turns the session away if its owner logged out everywhere at or after the moment the
/// owner was set. Sessions without an owner pass without a store read.
///
/// # Errors
/// The store failed or timed out: the request fails rather than let a possibly revoked
/// session through.
pub(super) async fn check(
    shared: &Arc<Shared>,
    store: &dyn DynStore,
    opened: Opened,
    stats: OpenStats,
) -> Result<Opened, StoreError> {
    let Some((owner, since)) = opened.session.owner_since() else {
        stats.record();
        return Ok(opened);
    };
    let config = &shared.config;
    let now = config.clock.now();
    let limit = config.store_deadline;
    let started = Instant::now();
    let key = not_before_key(&owner);
    let loaded = match tokio::time::timeout(limit, store.load(&key, now)).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Timeout(limit)),
    };
    let seconds = started.elapsed().as_secs_f64();
    telemetry::store_call(config.revocations_kind, "not_before", seconds, &loaded);
    let not_before = loaded?.and_then(|record| match record.data.get(NOT_BEFORE_FIELD) {
        Some(Value::Int(n)) => u64::try_from(*n).ok(),
        _ => None,
    });
    match not_before {
        Some(not_before) if since <= not_before => {
            telemetry::rejected("revoked");
            tracing::debug!(
                "session cookie's owner logged out everywhere after it was issued; \
                 starting empty and deleting the cookie"
            );
            opened.session.drop_revoked();
            OpenStats {
                outcome: OpenOutcome::Rejected,
                rejected: stats.rejected + 1,
                fallback_key: stats.fallback_key,
            }
            .record();
        }
        _ => stats.record(),
    }
    Ok(opened)
}
