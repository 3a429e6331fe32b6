//! The scaling table: each of flagon's stores measured at growing numbers of live
//! sessions (`--scale 1,10000,100000`), with the memory the sessions hold.
//!
//! Runs after the interleaved rounds, on the same servers. At each size the candidate
//! first gets enough sessions (made through its own `/counter`, outside any measured
//! window), then one window per route picks among exactly that many. The memory column
//! is the server's RSS; the store's own growth (Redis `used_memory`, the PostgreSQL
//! database size, the SQLite files) is divided by the sessions added since the previous
//! size.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use super::candidates::{Paths, Service, CLUSTER_PORTS, FLAGON, OWNED};
use super::measure::{self, Running, Scratch, ROUTES};
use super::options::Options;
use super::procs;
use super::report::Stats;

/// One store at one size.
#[derive(Clone, Debug)]
pub struct Point {
    /// Candidate name.
    pub candidate: String,
    /// Live sessions the load picks among.
    pub sessions: u32,
    /// One window per route, in [`ROUTES`] order.
    pub stats: [Option<Stats>; 2],
    /// Server RSS after the windows, KiB.
    pub rss_kib: Option<u64>,
    /// Store memory added per session made since the previous size, bytes (the server's
    /// RSS for the memory store).
    pub bytes_per_session: Option<f64>,
    /// What went wrong, if anything.
    pub note: Option<String>,
}

/// Whether `name` is one of flagon's server-side candidates.
fn is_flagon_store(name: &str) -> bool {
    name.starts_with(&format!("{FLAGON} --store ")) && !name.ends_with(OWNED)
}

/// Measures every running flagon store at every size of `options.scale`.
pub fn run(
    options: &Options,
    running: &mut [(usize, Running)],
    paths: &Paths,
    scratch: &Scratch,
    script: &Path,
    stop: &AtomicBool,
) -> Vec<Point> {
    let mut sizes = options.scale.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let ticks = procs::ticks_per_second();
    let mut points = Vec::new();
    for (_, server) in running.iter_mut() {
        if !is_flagon_store(&server.candidate.name) {
            continue;
        }
        let mut last = (server.sessions, memory(server, paths));
        for &size in &sizes {
            if stop.load(Ordering::Relaxed) {
                return points;
            }
            let mut point = Point {
                candidate: server.candidate.name.clone(),
                sessions: size,
                stats: [None, None],
                rss_kib: None,
                bytes_per_session: None,
                note: None,
            };
            match at_size(server, size, &scratch.0) {
                Ok(file) => {
                    let now = (server.sessions, memory(server, paths));
                    if now.0 > last.0 {
                        point.bytes_per_session = now
                            .1
                            .zip(last.1)
                            .map(|(a, b)| a.saturating_sub(b) as f64 / f64::from(now.0 - last.0));
                        last = now;
                    }
                    for (route, path) in ROUTES.iter().enumerate() {
                        let cookies = server.cookies_from(file.as_deref(), script);
                        let sample = measure::measure(
                            server,
                            path,
                            cookies,
                            options.seconds,
                            options.connections,
                            ticks,
                            stop,
                        );
                        match sample {
                            Ok(sample) => point.stats[route] = Stats::of(&[sample]),
                            Err(err) => point.note = Some(format!("{path}: {err}")),
                        }
                    }
                    point.rss_kib = procs::rss_kib(server.pid);
                }
                Err(err) => point.note = Some(err),
            }
            eprintln!(
                "scale {:<34} {:>7} sessions {:>9.0} req/s on /counter",
                point.candidate,
                size,
                point.stats[0].as_ref().map_or(f64::NAN, |s| s.rps)
            );
            points.push(point);
        }
    }
    points
}

/// Makes sure `server` has at least `size` sessions and returns the cookie file holding
/// exactly `size` of them (`None` for one session: the single-session cookie).
fn at_size(
    server: &mut Running,
    size: u32,
    dir: &Path,
) -> Result<Option<std::path::PathBuf>, String> {
    if size <= 1 {
        return Ok(None);
    }
    let never = AtomicBool::new(false);
    server.grow_sessions(size, dir, &never)?;
    let all = server
        .cookie_file
        .clone()
        .ok_or("the candidate keeps no sessions")?;
    if server.sessions == size {
        return Ok(Some(all));
    }
    let text = std::fs::read_to_string(&all).map_err(|e| format!("{}: {e}", all.display()))?;
    let head: String = text
        .lines()
        .take(size as usize)
        .flat_map(|l| [l, "\n"])
        .collect();
    let file = all.with_extension(format!("{size}.cookies"));
    std::fs::write(&file, head).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(Some(file))
}

/// The memory the candidate's sessions live in, bytes: the server's RSS for the memory
/// store, otherwise the store's own.
fn memory(server: &Running, paths: &Paths) -> Option<u64> {
    match server.candidate.needs {
        Some(Service::Redis) => redis_used_memory(&[6379]),
        Some(Service::RedisCluster) => redis_used_memory(&CLUSTER_PORTS),
        Some(Service::Postgres) => {
            let out = shell(&[
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-tAc",
                "select pg_database_size('test')",
            ])?;
            out.trim().parse().ok()
        }
        None if server.candidate.name.ends_with("sqlite") => {
            let file = &paths.sqlite_file;
            let size = |suffix: &str| {
                std::fs::metadata(format!("{}{suffix}", file.display())).map_or(0, |m| m.len())
            };
            Some(size("") + size("-wal"))
        }
        None => procs::rss_kib(server.pid).map(|kib| kib * 1024),
    }
}

fn redis_used_memory(ports: &[u16]) -> Option<u64> {
    ports
        .iter()
        .map(|port| {
            let info = shell(&["redis-cli", "-p", &port.to_string(), "info", "memory"])?;
            info.lines()
                .find_map(|l| l.strip_prefix("used_memory:"))?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum()
}

fn shell(args: &[&str]) -> Option<String> {
    let out = Command::new(args[0]).args(&args[1..]).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
