//! A three-node Redis Cluster for `flagon-axum --store redis-cluster`, started by the
//! runner on [`CLUSTER_PORTS`] (no replicas, nothing kept on disk) and stopped with every
//! other process it started.

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::candidates::{Service, CLUSTER_PORTS};
use super::procs::Procs;

fn redis_cli(args: &[String]) -> Result<String, String> {
    let out = Command::new("redis-cli")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run redis-cli: {e}"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    match out.status.success() {
        true => Ok(text),
        false => Err(format!("redis-cli {}: {text}", args.join(" "))),
    }
}

/// Starts the nodes, joins them into one cluster and waits until it serves every slot.
pub fn start(procs: &mut Procs, dir: &Path) -> Result<(), String> {
    if Service::RedisCluster.is_up() {
        return Err(format!(
            "port {} is taken; the runner starts its own Redis Cluster there",
            CLUSTER_PORTS[0]
        ));
    }
    let dir = dir.join("redis-cluster");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for port in CLUSTER_PORTS {
        let args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            &format!("nodes-{port}.conf"),
            "--dir",
            &dir.display().to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        procs
            .spawn_unpinned("redis-server", &args, &dir.join(format!("{port}.log")))
            .map_err(|e| {
                format!("cannot start redis-server (apt-get install redis-server): {e}")
            })?;
    }
    wait(|| {
        CLUSTER_PORTS
            .iter()
            .all(|p| redis_cli(&["-p".into(), p.to_string(), "ping".into()]).is_ok())
    })?;
    let mut create: Vec<String> = vec!["--cluster".into(), "create".into()];
    create.extend(CLUSTER_PORTS.iter().map(|p| format!("127.0.0.1:{p}")));
    create.extend(["--cluster-replicas", "0", "--cluster-yes"].map(String::from));
    redis_cli(&create)?;
    wait(|| {
        CLUSTER_PORTS.iter().all(|p| {
            redis_cli(&["-p".into(), p.to_string(), "cluster".into(), "info".into()])
                .is_ok_and(|info| info.contains("cluster_state:ok"))
        })
    })
}

fn wait(mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        if Instant::now() > deadline {
            return Err("the Redis Cluster was not ready within 20 s".into());
        }
        sleep(Duration::from_millis(100));
    }
    Ok(())
}
