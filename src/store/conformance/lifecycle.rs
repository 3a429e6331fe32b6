//! The single-request checks on renew and expiry.

use std::time::Duration;

use super::{changes, create_at, create_live, fresh_key, load, map, ok, unix_now};
use crate::store::{Applied, Created, Record, Renewed, SessionStore};
use crate::value::{Map, Value};

/// `renew` keeps data and `created_at`, applies the changes, and the old key loads nothing.
pub async fn renew_moves_and_kills_old<S: SessionStore>(store: &S) {
    let old = create_live(store, map(&[("a", Value::Int(1)), ("b", Value::Int(2))])).await;
    let now = unix_now();
    let created_at = load(store, &old, now)
        .await
        .expect("record missing")
        .created_at;
    let new = fresh_key();
    let step = changes(
        false,
        &[("b", None), ("user", Some(Value::Str("alice".into())))],
    );
    let result = ok(
        "renew",
        store.renew(&old, &new, &step, now + 500, now).await,
    );
    assert_eq!(result, Renewed::Done);
    assert!(
        load(store, &old, now).await.is_none(),
        "the old key still loads after renew"
    );
    let moved = load(store, &new, now)
        .await
        .expect("the new key loads nothing");
    assert_eq!(
        moved.data,
        map(&[("a", Value::Int(1)), ("user", Value::Str("alice".into()))])
    );
    assert_eq!(moved.created_at, created_at, "renew must keep created_at");
    assert_eq!(moved.expires_at, now + 500);
    let late = changes(false, &[("z", Some(Value::Int(9)))]);
    assert_eq!(
        ok("apply", store.apply(&old, &late, now + 60, now).await),
        Applied::Gone
    );
    let again = ok(
        "renew",
        store.renew(&old, &fresh_key(), &late, now + 60, now).await,
    );
    assert_eq!(again, Renewed::Gone, "a renewed-away key renewed again");
}

/// `renew` onto a live key reports a collision and changes neither record.
pub async fn renew_collision_changes_nothing<S: SessionStore>(store: &S) {
    let old = create_live(store, map(&[("who", Value::Str("old".into()))])).await;
    let taken = create_live(store, map(&[("who", Value::Str("taken".into()))])).await;
    let now = unix_now();
    let step = changes(true, &[("x", Some(Value::Int(1)))]);
    let result = ok(
        "renew",
        store.renew(&old, &taken, &step, now + 60, now).await,
    );
    assert_eq!(result, Renewed::Collision, "renew overwrote a live record");
    let old_now = load(store, &old, now)
        .await
        .expect("a failed renew killed the old key");
    assert_eq!(old_now.data, map(&[("who", Value::Str("old".into()))]));
    let taken_now = load(store, &taken, now)
        .await
        .expect("collision victim vanished");
    assert_eq!(taken_now.data, map(&[("who", Value::Str("taken".into()))]));
}

/// Expiry is checked at read time: a record with `expires_at <= now` is never returned,
/// whether or not a sweep ran, and `sweep` never removes a live record.
pub async fn expired_never_returned<S: SessionStore>(store: &S) {
    let now = unix_now();
    let t = now + 3600;
    let key = create_at(store, map(&[("a", Value::Int(1))]), now, t).await;
    assert!(
        load(store, &key, t - 1).await.is_some(),
        "live one second before expiry"
    );
    assert!(
        load(store, &key, t).await.is_none(),
        "returned at expires_at == now"
    );
    assert!(
        load(store, &key, t + 1).await.is_none(),
        "returned after expiry"
    );
    assert_eq!(
        ok("touch", store.touch(&key, t + 99, t).await),
        Applied::Gone
    );
    let mut expired = Vec::new();
    for _ in 0..50 {
        expired.push(create_at(store, Map::new(), now, t).await);
    }
    let survivor = create_at(store, Map::new(), now, t + 1).await;
    ok("sweep", store.sweep(t).await);
    assert!(
        load(store, &survivor, t).await.is_some(),
        "sweep removed a live record"
    );
    for key in &expired {
        assert!(
            load(store, key, t).await.is_none(),
            "an expired record loaded"
        );
    }
    let reuse = Record::new(map(&[("n", Value::Int(2))]), t, t + 60);
    let created = ok("create", store.create(&key, &reuse).await);
    assert_eq!(created, Created::Stored, "an expired record blocked create");
    let got = load(store, &key, t)
        .await
        .expect("re-created record missing");
    assert_eq!(
        got.data,
        map(&[("n", Value::Int(2))]),
        "old data leaked into a new record"
    );
}

/// Expired records are physically removed (by `sweep`, or by the store's own TTL):
/// afterwards not even a load "in the past" finds them. Waits about two seconds.
pub async fn expired_are_cleaned_up<S: SessionStore>(store: &S) {
    let start = unix_now();
    let key = fresh_key();
    let record = Record::new(map(&[("a", Value::Int(1))]), start, start + 1);
    assert_eq!(
        ok("create", store.create(&key, &record).await),
        Created::Stored
    );
    let live = create_live(store, Map::new()).await;
    while unix_now() < start + 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ok("sweep", store.sweep(unix_now()).await);
    assert!(
        load(store, &key, start).await.is_none(),
        "an expired record was not cleaned up"
    );
    assert!(
        load(store, &live, unix_now()).await.is_some(),
        "cleanup removed a live record"
    );
}
