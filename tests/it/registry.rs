//! The session registry through the axum layer, on every store that has one: three
//! clients of one user, listed, one revoked, then all but the current one.

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::routing::{get, post};
use axum::Router;
use flagon::axum::SessionLayer;
use flagon::registry::{Registry, SessionHandle, SessionRegistry};
use flagon::store::memory::MemoryStore;
use flagon::store::sqlite::SqliteStore;
use flagon::{Key, Session, SessionConfig, SessionError};
use serde::Deserialize;

use crate::support::http::{get as fetch, send};

#[derive(Deserialize)]
struct Revoke {
    handle: Option<String>,
    all_but_current: Option<String>,
}

fn app<S: SessionRegistry + std::fmt::Debug>(store: Arc<S>) -> Router {
    let config = SessionConfig::new(Key::new("registry test key").unwrap()).secure(false);
    let registry = Arc::new(Registry::new(store.clone(), &config));
    Router::new()
        .route(
            "/login/{device}",
            get(
                |session: Session, axum::extract::Path(device): axum::extract::Path<String>| async move {
                    session.renew();
                    session.set_owner("alice");
                    session.set_label("device", &device);
                    "in"
                },
            ),
        )
        .route(
            "/whoami",
            get(|session: Session| async move {
                Ok::<_, SessionError>(session.owner().unwrap_or_default())
            }),
        )
        .route(
            "/sessions",
            get(|State(registry): State<Arc<Registry<S>>>, session: Session| async move {
                let owner = session.owner().unwrap_or_default();
                let list = registry.list(&owner, session.handle().as_ref()).await.unwrap();
                list.iter()
                    .map(|s| {
                        format!(
                            "{} {} {}\n",
                            s.handle,
                            s.labels.get("device").map(String::as_str).unwrap_or("?"),
                            s.current
                        )
                    })
                    .collect::<String>()
            }),
        )
        .route(
            "/sessions/revoke",
            post(
                |State(registry): State<Arc<Registry<S>>>, session: Session, Form(form): Form<Revoke>| async move {
                    let owner = session.owner().unwrap_or_default();
                    if form.all_but_current.is_some() {
                        let n = registry.revoke_all(&owner, session.handle().as_ref()).await.unwrap();
                        return n.to_string();
                    }
                    let handle = form.handle.as_deref().and_then(SessionHandle::parse).unwrap();
                    registry.revoke(&owner, &handle).await.unwrap().to_string()
                },
            ),
        )
        .with_state(registry)
        .layer(SessionLayer::new(config).unwrap().with_store(store))
}

/// `(handle, device, current)` per line of `/sessions`.
fn parse(list: &str) -> Vec<(String, String, bool)> {
    list.lines()
        .map(|l| {
            let mut parts = l.split(' ');
            let handle = parts.next().unwrap().to_owned();
            let device = parts.next().unwrap().to_owned();
            (handle, device, parts.next() == Some("true"))
        })
        .collect()
}

async fn three_devices_then_revoke(app: Router) {
    let mut cookies = Vec::new();
    for device in ["laptop", "phone", "tablet"] {
        let reply = fetch(&app, &format!("/login/{device}"), None).await;
        cookies.push(reply.cookie_pair());
    }
    let list = parse(&fetch(&app, "/sessions", Some(&cookies[1])).await.body);
    assert_eq!(list.len(), 3, "{list:?}");
    let current: Vec<_> = list.iter().filter(|s| s.2).map(|s| s.1.as_str()).collect();
    assert_eq!(current, ["phone"]);
    // The handle is not the session id: nothing in the cookie matches it.
    for (handle, _, _) in &list {
        assert!(!cookies.iter().any(|c| c.contains(handle.as_str())));
    }
    // The phone revokes the laptop.
    let laptop = &list.iter().find(|s| s.1 == "laptop").unwrap().0;
    let body = format!("handle={laptop}");
    let revoked = send(
        &app,
        "POST",
        "/sessions/revoke",
        &[&cookies[1]],
        Some(&body),
    )
    .await;
    assert_eq!(revoked.body, "true");
    assert_eq!(
        fetch(&app, "/whoami", Some(&cookies[0])).await.body,
        "",
        "laptop still in"
    );
    assert_eq!(
        fetch(&app, "/whoami", Some(&cookies[1])).await.body,
        "alice"
    );
    assert_eq!(
        fetch(&app, "/whoami", Some(&cookies[2])).await.body,
        "alice"
    );
    // Revoking it again finds nothing.
    let again = send(
        &app,
        "POST",
        "/sessions/revoke",
        &[&cookies[1]],
        Some(&body),
    )
    .await;
    assert_eq!(again.body, "false");
    // The tablet logs out every other device.
    let all = send(
        &app,
        "POST",
        "/sessions/revoke",
        &[&cookies[2]],
        Some("all_but_current=1"),
    )
    .await;
    assert_eq!(all.body, "1");
    assert_eq!(fetch(&app, "/whoami", Some(&cookies[1])).await.body, "");
    assert_eq!(
        fetch(&app, "/whoami", Some(&cookies[2])).await.body,
        "alice"
    );
    let list = parse(&fetch(&app, "/sessions", Some(&cookies[2])).await.body);
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].1.as_str(), list[0].2), ("tablet", true));
}

#[tokio::test]
async fn memory_store_lists_and_revokes_a_users_sessions() {
    three_devices_then_revoke(app(Arc::new(MemoryStore::new(1000)))).await;
}

#[tokio::test]
async fn sqlite_store_lists_and_revokes_a_users_sessions() {
    let path = std::env::temp_dir().join(format!("flagon-registry-{}.db", std::process::id()));
    let store = SqliteStore::open(&path).await.unwrap();
    three_devices_then_revoke(app(Arc::new(store))).await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_store_lists_and_revokes_a_users_sessions() {
    use flagon::store::postgres::{PostgresOptions, PostgresStore};
    const URL: &str = "postgres://postgres@127.0.0.1:5432/test";
    let table = format!("flagon_reg_{}", std::process::id());
    let options = PostgresOptions::default().table(table.clone());
    let store = match PostgresStore::connect_with(URL, options).await {
        Ok(store) => store,
        Err(e) => {
            crate::stores::skip_or_fail("PostgreSQL on 127.0.0.1:5432 (db test)", &e);
            return;
        }
    };
    three_devices_then_revoke(app(Arc::new(store))).await;
    let (client, conn) = tokio_postgres::connect(URL, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let sql = format!("DROP TABLE IF EXISTS {table}_values; DROP TABLE IF EXISTS {table};");
    client.batch_execute(&sql).await.unwrap();
}

/// Cookie sessions: "log out everywhere" through a per-owner "not before" time kept in
/// `store`, checked on every request that carries an owner.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_lists_and_revokes_a_users_sessions() {
    use flagon::store::redis::{RedisOptions, RedisStore};
    let prefix = format!("flagon-reg-{}:", crate::stores::run_id());
    let options = RedisOptions::default().prefix(prefix);
    let store = match RedisStore::connect_with("redis://127.0.0.1:6379", options).await {
        Ok(store) => store,
        Err(e) => {
            crate::stores::skip_or_fail("Redis on 127.0.0.1:6379", &e);
            return;
        }
    };
    three_devices_then_revoke(app(Arc::new(store))).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_store_lists_and_revokes_a_users_sessions() {
    use flagon::store::redis::{RedisOptions, RedisStore};
    if !crate::support::redis_server::available() {
        return crate::stores::skip_or_fail("redis-server", &"not installed");
    }
    let cluster = crate::support::redis_cluster::RedisCluster::start();
    let options =
        RedisOptions::default().prefix(format!("flagon-reg-{}:", crate::stores::run_id()));
    let store = RedisStore::connect_cluster_with(&cluster.seeds(), options)
        .await
        .expect("connect to the test's cluster");
    three_devices_then_revoke(app(Arc::new(store))).await;
}

async fn cookie_sessions_log_out_everywhere<S: flagon::store::SessionStore + Clone>(store: S) {
    // Real time and a short lifetime, so the records left in Redis expire within a minute.
    let clock = crate::scenarios::TestClock::at(flagon::store::conformance::unix_now());
    let config = clock.install(
        SessionConfig::new(Key::new("cookie registry key").unwrap())
            .secure(false)
            .permanent_lifetime(std::time::Duration::from_secs(50))
            .revocation_store(store.clone()),
    );
    let app = Router::new()
        .route(
            "/login",
            get(|session: Session| async move {
                session.set_owner("alice");
                "in"
            }),
        )
        .route(
            "/whoami",
            get(|session: Session| async move { session.owner().unwrap_or_default() }),
        )
        .route(
            "/anon",
            get(|session: Session| async move {
                session.insert_value("n", 1);
                "anon"
            }),
        )
        .layer(SessionLayer::new(config.clone()).unwrap());
    let mut cookies = Vec::new();
    for _ in 0..3 {
        cookies.push(fetch(&app, "/login", None).await.cookie_pair());
    }
    let anon = fetch(&app, "/anon", None).await.cookie_pair();
    for cookie in &cookies {
        assert_eq!(fetch(&app, "/whoami", Some(cookie)).await.body, "alice");
    }
    clock.advance(5);
    flagon::registry::log_out_everywhere(&store, "alice", &config)
        .await
        .unwrap();
    for cookie in &cookies {
        let reply = fetch(&app, "/whoami", Some(cookie)).await;
        assert_eq!(reply.body, "", "a cookie issued before survived");
        assert!(
            reply.set_cookie().unwrap().starts_with("session=;"),
            "cookie deleted"
        );
    }
    // Sessions without an owner are untouched; a login after the revocation works.
    assert_eq!(
        fetch(&app, "/anon", Some(&anon)).await.status,
        http::StatusCode::OK
    );
    clock.advance(1);
    let fresh = fetch(&app, "/login", None).await.cookie_pair();
    assert_eq!(fetch(&app, "/whoami", Some(&fresh)).await.body, "alice");
    // A second "log out everywhere" moves the time forward and ends that one too.
    clock.advance(1);
    flagon::registry::log_out_everywhere(&store, "alice", &config)
        .await
        .unwrap();
    assert_eq!(fetch(&app, "/whoami", Some(&fresh)).await.body, "");
}

#[tokio::test]
async fn cookie_sessions_log_out_everywhere_with_a_memory_store() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);
    cookie_sessions_log_out_everywhere(Arc::new(MemoryStore::new(100))).await;
    let counters: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            metrics_util::debugging::DebugValue::Counter(n) => {
                let key = key.key();
                let labels: Vec<String> = key.labels().map(|l| l.value().to_owned()).collect();
                Some((format!("{}{labels:?}", key.name()), n))
            }
            _ => None,
        })
        .collect();
    let count = |name: &str| {
        counters
            .iter()
            .find(|(k, _)| k == name)
            .map_or(0, |(_, n)| *n)
    };
    // Three cookies turned away after the first call, one after the second.
    assert_eq!(
        count("flagon_sessions_rejected_total[\"revoked\"]"),
        4,
        "{counters:?}"
    );
    assert_eq!(
        count("flagon_sessions_revoked_total[\"not_before\"]"),
        2,
        "{counters:?}"
    );
}

#[tokio::test]
async fn cookie_sessions_log_out_everywhere_with_a_sqlite_store() {
    let path = std::env::temp_dir().join(format!("flagon-notbefore-{}.db", std::process::id()));
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    cookie_sessions_log_out_everywhere(store).await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn cookie_sessions_log_out_everywhere_with_a_redis_store() {
    use flagon::store::redis::{RedisOptions, RedisStore};
    let prefix = format!("flagon-nb-{}:", std::process::id());
    let options = RedisOptions::default().prefix(prefix);
    let store = match RedisStore::connect_with("redis://127.0.0.1:6379", options).await {
        Ok(store) => store,
        Err(e) => {
            crate::stores::skip_or_fail("Redis on 127.0.0.1:6379", &e);
            return;
        }
    };
    cookie_sessions_log_out_everywhere(Arc::new(store)).await;
}
