//! A 3-node Redis Cluster that a test starts itself on free loopback ports, and stops by
//! PID when dropped.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::redis_server::RedisServer;

/// Three masters, no replicas, all 16,384 slots assigned.
pub(crate) struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the nodes, joins them with `redis-cli --cluster create`, and waits for
    /// `cluster_state:ok` on every node.
    pub(crate) fn start() -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| RedisServer::start(&["--cluster-enabled", "yes", "--appendonly", "no"]))
            .collect();
        // Each node keeps its own cluster config file in its own temp dir (via --dir).
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run redis-cli --cluster create");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = RedisCluster { nodes };
        cluster.wait_ok();
        cluster
    }

    fn wait_ok(&self) {
        let until = Instant::now() + Duration::from_secs(30);
        for node in &self.nodes {
            loop {
                let out = Command::new("redis-cli")
                    .args(["-p", &node.port().to_string(), "cluster", "info"])
                    .output()
                    .expect("redis-cli cluster info");
                if String::from_utf8_lossy(&out.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < until,
                    "cluster never reached cluster_state:ok"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// `redis://127.0.0.1:PORT` of every node, as seeds.
    pub(crate) fn seeds(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The ports of the nodes.
    pub(crate) fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// Node `i`, to kill or restart it (a restarted node rejoins from its nodes.conf).
    pub(crate) fn node(&mut self, i: usize) -> &mut RedisServer {
        &mut self.nodes[i]
    }

    /// Waits until every node reports `cluster_state:ok` again.
    pub(crate) fn wait_healthy(&self) {
        self.wait_ok();
    }
}
