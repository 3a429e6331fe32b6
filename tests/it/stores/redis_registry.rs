//! The Redis store's owner index beyond the registry conformance: leases that follow the
//! record's expiry through apply, touch and renew; entries of expired sessions that leave
//! without a sweep; deletes that tidy the index; and listings that never miss a session
//! whose lease is being raised under them. On one node and on a Cluster.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flagon::id::StoreKey;
use flagon::registry::{SessionRegistry, OWNER_KEY};
use flagon::store::conformance::{fresh_key, ok, unix_now};
use flagon::store::redis::{RedisOptions, RedisStore};
use flagon::store::{Applied, Changes, Created, Record, Renewed, SessionStore};
use flagon::{Map, Value};

use crate::support::redis_cluster::RedisCluster;
use crate::support::redis_server::{self, RedisServer};

/// Writes of the lease race.
const STEPS: u64 = 300;

const LOCAL: &str = "redis://127.0.0.1:6379";

fn options() -> RedisOptions {
    RedisOptions::default().prefix(format!("flagon-test:{}:", super::run_id()))
}

fn owner() -> String {
    format!("owner-{}", &fresh_key().to_hex()[..12])
}

fn owned_data(owner: &str) -> Map {
    let mut data = Map::new();
    data.insert(OWNER_KEY.to_owned(), Value::Str(owner.to_owned()));
    data
}

async fn create(store: &RedisStore, data: Map, now: u64, expires: u64) -> StoreKey {
    let key = fresh_key();
    let created = store.create(&key, &Record::new(data, now, expires)).await;
    assert_eq!(ok("create", created), Created::Stored);
    key
}

async fn listed(store: &RedisStore, owner: &str, now: u64) -> BTreeSet<StoreKey> {
    ok("owned", store.owned(owner, now).await)
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}

/// Apply, touch and renew that move a session's expiry far past the lease it was created
/// with: a listing after that first lease has passed still finds each of them, and one
/// after every lease has passed finds none (and needs no sweep to).
async fn leases_follow_the_expiry(store: &RedisStore) {
    let owner = owner();
    let now = unix_now();
    // Each lease starts at about now + 200.
    let a = create(store, owned_data(&owner), now, now + 100).await;
    let b = create(store, owned_data(&owner), now, now + 100).await;
    let c = create(store, owned_data(&owner), now, now + 100).await;
    let mut write = Changes::default();
    write.set.insert("n".into(), Some(Value::Int(1)));
    let applied = store.apply(&a, &write, now + 1000, now).await;
    assert_eq!(ok("apply", applied), Applied::Done);
    assert_eq!(
        ok("touch", store.touch(&b, now + 1000, now).await),
        Applied::Done
    );
    let c2 = fresh_key();
    let renewed = store
        .renew(&c, &c2, &Changes::default(), now + 1000, now)
        .await;
    assert_eq!(ok("renew", renewed), Renewed::Done);
    assert_eq!(
        listed(store, &owner, now + 500).await,
        BTreeSet::from([a, b, c2]),
        "a session outlived its index entry"
    );
    assert!(
        listed(store, &owner, now + 2001).await.is_empty(),
        "an expired session is listed"
    );
    for key in [a, b, c2] {
        ok("delete", store.delete(&key).await);
    }
}

/// One writer keeps a session in use, moving its expiry past its lease on every other
/// write (so those raise the lease first), while listers ask again and again: every
/// listing, at a time the session is known to be live, finds it.
async fn listings_never_miss_a_session_being_extended(store: Arc<RedisStore>) {
    let owner = owner();
    let start = unix_now();
    // Lifetime 100 s, a write every 60 s: the lease (expiry + lifetime) runs short every
    // second write.
    let key = create(&store, owned_data(&owner), start, start + 100).await;
    let live_at = Arc::new(AtomicU64::new(start));
    let writer = {
        let (store, live_at) = (store.clone(), live_at.clone());
        tokio::spawn(async move {
            for step in 1..=STEPS {
                let now = start + step * 60;
                let touched = store.touch(&key, now + 100, now).await;
                assert_eq!(ok("touch", touched), Applied::Done);
                live_at.store(now, Ordering::SeqCst);
            }
        })
    };
    let mut listers = Vec::new();
    for _ in 0..4 {
        let (store, live_at, owner) = (store.clone(), live_at.clone(), owner.clone());
        listers.push(tokio::spawn(async move {
            let mut rounds = 0;
            while live_at.load(Ordering::SeqCst) < start + STEPS * 60 {
                let now = live_at.load(Ordering::SeqCst);
                let found = listed(&store, &owner, now).await;
                assert_eq!(found, BTreeSet::from([key]), "a live session was missed");
                rounds += 1;
            }
            rounds
        }));
    }
    writer.await.expect("writer panicked");
    let mut rounds = 0;
    for lister in listers {
        rounds += lister.await.expect("lister panicked");
    }
    eprintln!(
        "[redis-registry] {rounds} listings raced {} lease raises",
        STEPS / 2
    );
    ok("delete", store.delete(&key).await);
}

async fn run(store: Arc<RedisStore>) {
    leases_follow_the_expiry(&store).await;
    listings_never_miss_a_session_being_extended(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_owner_index_follows_records() {
    let store = match RedisStore::connect_with(LOCAL, options()).await {
        Ok(store) => store,
        Err(e) => return super::skip_or_fail("Redis on 127.0.0.1:6379", &e),
    };
    run(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cluster_owner_index_follows_records() {
    if !redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    let cluster = RedisCluster::start();
    let store = RedisStore::connect_cluster_with(&cluster.seeds(), options())
        .await
        .expect("connect to the test's cluster");
    run(Arc::new(store)).await;
}

/// On one node, what Redis holds: an owner-less session writes no index; an owned one
/// is a member of `PREFIX{owner:HASH}` whose TTL covers its lease; a write within the
/// lease leaves the index alone; a delete removes the member, and an index whose leases
/// have all passed is gone after the next listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_owner_index_as_stored() {
    let client = redis::Client::open(LOCAL).expect("client");
    let mut raw = match client.get_multiplexed_async_connection().await {
        Ok(conn) => conn,
        Err(e) => return super::skip_or_fail("Redis on 127.0.0.1:6379", &e),
    };
    let options = options();
    let prefix = options.prefix.clone();
    let store = RedisStore::connect_with(LOCAL, options)
        .await
        .expect("connect");
    let now = unix_now();
    let indexes = |raw: &mut redis::aio::MultiplexedConnection| {
        let mut cmd = redis::cmd("KEYS");
        cmd.arg(format!("{prefix}{{owner:*"));
        let mut raw = raw.clone();
        async move {
            cmd.query_async::<Vec<String>>(&mut raw)
                .await
                .expect("KEYS")
        }
    };
    let plain = create(&store, Map::new(), now, now + 3600).await;
    assert!(
        indexes(&mut raw).await.is_empty(),
        "an owner-less write made an index"
    );

    let owner = "}{a:b* evil owner";
    let key = create(&store, owned_data(owner), now, now + 3600).await;
    let found = indexes(&mut raw).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let index = &found[0];
    assert!(index.len() == prefix.len() + "{owner:}".len() + 32);
    let score = |raw: &mut redis::aio::MultiplexedConnection| {
        let mut cmd = redis::cmd("ZSCORE");
        cmd.arg(index).arg(key.to_hex());
        let mut raw = raw.clone();
        async move {
            cmd.query_async::<Option<u64>>(&mut raw)
                .await
                .expect("ZSCORE")
        }
    };
    let lease = score(&mut raw).await.expect("member");
    assert!(lease >= now + 3600, "lease {lease} below the expiry");
    let expire_at: u64 = redis::cmd("EXPIRETIME")
        .arg(index)
        .query_async(&mut raw)
        .await
        .expect("EXPIRETIME");
    assert!(expire_at >= lease, "the index expires before its lease");
    let mut write = Changes::default();
    write.set.insert("n".into(), Some(Value::Int(1)));
    let applied = store.apply(&key, &write, now + 3600 + 5, now + 5).await;
    assert_eq!(ok("apply", applied), Applied::Done);
    assert_eq!(
        score(&mut raw).await,
        Some(lease),
        "a write within its lease went to the index"
    );

    ok("delete", store.delete(&key).await);
    assert_eq!(
        score(&mut raw).await,
        None,
        "a deleted session stayed in its index"
    );

    let short = create(&store, owned_data(owner), now, now + 2).await;
    assert_eq!(listed(&store, owner, now).await, BTreeSet::from([short]));
    assert!(listed(&store, owner, now + 3).await.is_empty());
    assert_eq!(indexes(&mut raw).await.len(), 1);
    assert!(listed(&store, owner, now + 63).await.is_empty());
    assert!(
        indexes(&mut raw).await.is_empty(),
        "an index of passed leases is still there"
    );
    ok("delete", store.delete(&plain).await);
}

/// Round trips (top-level commands a store sent) since the last reset, reset again.
async fn round_trips(raw: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(raw)
        .await
        .expect("INFO");
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(raw)
        .await
        .expect("RESETSTAT");
    // (Not DEL: scripts call it inside, and the store sends it only in a Cluster renew.)
    ["evalsha", "eval", "hgetall", "zrem"]
        .iter()
        .map(|command| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// What the index costs in round trips, counted by a Redis of the test's own: nothing on
/// a session without an owner, nothing on an owned one within its lease, one more for a
/// write that sets the owner, two more for a write past the lease, one more for deleting
/// an owned session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_owner_index_round_trips() {
    if !redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    let server = RedisServer::start(&["--appendonly", "no"]);
    let store = RedisStore::connect_with(&server.url(), options())
        .await
        .expect("connect");
    let client = redis::Client::open(server.url()).expect("client");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw");
    let now = unix_now();
    let owner = owner();
    let mut write = Changes::default();
    write.set.insert("n".into(), Some(Value::Int(1)));
    let mut login = Changes::default();
    login
        .set
        .insert(OWNER_KEY.into(), Some(Value::Str(owner.clone())));
    round_trips(&mut raw).await;
    let mut counts = Vec::new();

    let plain = create(&store, Map::new(), now, now + 3600).await;
    counts.push(("create, no owner", round_trips(&mut raw).await, 1));
    ok("load", store.load(&plain, now).await);
    ok("apply", store.apply(&plain, &write, now + 3600, now).await);
    counts.push(("load + apply, no owner", round_trips(&mut raw).await, 2));
    ok("touch", store.touch(&plain, now + 3601, now).await);
    counts.push(("touch, no owner", round_trips(&mut raw).await, 1));
    let owned = create(&store, owned_data(&owner), now, now + 3600).await;
    counts.push(("create with owner", round_trips(&mut raw).await, 2));
    ok("load", store.load(&owned, now).await);
    ok("apply", store.apply(&owned, &write, now + 3600, now).await);
    counts.push(("load + apply, owned", round_trips(&mut raw).await, 2));
    ok("apply", store.apply(&plain, &login, now + 3600, now).await);
    counts.push(("apply setting the owner", round_trips(&mut raw).await, 2));
    ok(
        "apply",
        store.apply(&owned, &write, now + 99_999, now).await,
    );
    counts.push(("apply past the lease", round_trips(&mut raw).await, 3));
    let listed = ok("owned", store.owned(&owner, now).await);
    assert_eq!(listed.len(), 2);
    counts.push(("list of 2", round_trips(&mut raw).await, 3));
    ok("delete", store.delete(&owned).await);
    counts.push(("delete, owned", round_trips(&mut raw).await, 2));
    let bare = create(&store, Map::new(), now, now + 3600).await;
    round_trips(&mut raw).await;
    ok("delete", store.delete(&bare).await);
    counts.push(("delete, no owner", round_trips(&mut raw).await, 1));
    for (what, got, _) in &counts {
        eprintln!("[redis-registry] round trips, {what}: {got}");
    }
    for (what, got, want) in counts {
        assert_eq!(got, want, "round trips of {what}");
    }
}
