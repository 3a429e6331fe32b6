//! Redis: a connection the layer gave up on (its `store_deadline` shorter than the
//! store's own deadline) is replaced, so the store answers again as soon as the network
//! does.

use std::sync::Arc;
use std::time::Duration;

use flagon::axum::SessionLayer;
use flagon::store::redis::{RedisOptions, RedisStore};
use http::StatusCode;

use crate::scenarios::routes;
use crate::stores::outage::Proxy;
use crate::support::http::get as fetch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_abandoned_by_the_layer_deadline_is_replaced() {
    let proxy = Proxy::start(6379).await;
    let options = RedisOptions::default().prefix(format!("flagon-abandon:{}:", super::run_id()));
    assert!(options.deadline > Duration::from_millis(100));
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let store = match RedisStore::connect_with(&url, options).await {
        Ok(store) => store,
        Err(e) => return super::skip_or_fail("Redis on 127.0.0.1:6379", &e),
    };
    let config = super::config().store_deadline(Duration::from_millis(100));
    let app = routes().layer(
        SessionLayer::new(config)
            .unwrap()
            .with_store(Arc::new(store)),
    );
    let cookie = fetch(&app, "/put/a", None).await.cookie_pair();

    proxy.black_hole(true);
    for _ in 0..5 {
        let reply = fetch(&app, "/keys", Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    proxy.black_hole(false);

    let mut answered = 0;
    for _ in 0..10 {
        let reply = fetch(&app, "/keys", Some(&cookie)).await;
        if reply.status == StatusCode::OK && reply.body == "a" {
            answered += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("[redis] after the network recovered: {answered} of 10 requests answered");
    assert_eq!(answered, 10, "the abandoned connection was kept");
}
