//! Starting the candidates, checking they do the workload, and measuring them.

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::candidates::Candidate;
use super::http::{self, Jar};
use super::procs::{cpu_ticks, cpu_ticks_named, ticks_between, Procs};
use super::sessions;
use super::wrk::{self, Cookies, Load, WrkResult};

/// The measured routes, in column order.
pub const ROUTES: [&str; 2] = ["/counter", "/read"];

/// How the load spreads over sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Every request sends the one cookie of the first `/counter`: every save queues on
    /// one record, the worst case for a store.
    Single,
    /// Every request sends one of many sessions' cookies, at random, as a site sees it.
    Many,
}

/// Both workloads, in table order.
pub const WORKLOADS: [Workload; 2] = [Workload::Single, Workload::Many];

/// A candidate that started and passed the workload check.
#[derive(Debug)]
pub struct Running {
    /// What runs.
    pub candidate: Candidate,
    /// Its port.
    pub port: u16,
    /// Its PID (the gunicorn master for Flask; CPU counts its workers too).
    pub pid: u32,
    /// `Cookie` header value for the load, from one `/counter` request.
    pub cookie: Option<String>,
    /// Size of that answer's `Set-Cookie` value(s) in bytes.
    pub set_cookie_bytes: usize,
    /// The many-sessions workload's cookie file, one `Cookie` value per line, once made.
    pub cookie_file: Option<PathBuf>,
    /// How many sessions that file holds.
    pub sessions: u32,
}

impl Running {
    /// The cookies a load of `workload` sends; `script` is wrk's many-sessions script.
    pub fn cookies<'a>(&'a self, workload: Workload, script: &'a Path) -> Cookies<'a> {
        let file = match workload {
            Workload::Many => self.cookie_file.as_deref(),
            Workload::Single => None,
        };
        self.cookies_from(file, script)
    }

    /// The cookies of the sessions listed in `file`, or the single session's cookie
    /// when there is no file.
    pub fn cookies_from<'a>(&'a self, file: Option<&'a Path>, script: &'a Path) -> Cookies<'a> {
        match (file, &self.cookie) {
            (Some(file), _) => Cookies::Many {
                script,
                cookies: file,
            },
            (None, Some(cookie)) => Cookies::One(cookie),
            (None, None) => Cookies::None,
        }
    }

    /// Grows the many-sessions cookie file to `count` sessions (made through the
    /// candidate, before any measured window). A candidate without sessions keeps none.
    pub fn grow_sessions(
        &mut self,
        count: u32,
        dir: &Path,
        stop: &AtomicBool,
    ) -> Result<(), String> {
        if !self.candidate.session || self.sessions >= count {
            return Ok(());
        }
        let file = self.cookie_file.clone().unwrap_or_else(|| {
            dir.join(format!(
                "{}.cookies",
                self.candidate.name.replace([' ', '/'], "_")
            ))
        });
        let cookies = sessions::make(self.port, count - self.sessions, stop)?;
        sessions::append(&file, &cookies)?;
        self.sessions = count;
        self.cookie_file = Some(file);
        Ok(())
    }
}

/// One measured window.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// wrk's numbers.
    pub wrk: WrkResult,
    /// Server CPU time per request in microseconds over the window.
    pub cpu_us: f64,
    /// CPU time per request of the store service (Redis, PostgreSQL), if the candidate
    /// uses one; its other clients count too, so this is an upper bound.
    pub store_cpu_us: Option<f64>,
}

/// Set by SIGINT, SIGTERM or SIGHUP: every wait checks it and gives up.
pub type StopFlag = std::sync::Arc<AtomicBool>;

fn stopped(stop: &AtomicBool) -> Result<(), String> {
    match stop.load(Ordering::Relaxed) {
        true => Err("interrupted".into()),
        false => Ok(()),
    }
}

/// A port nothing listens on right now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Starts `candidate`, waits until it answers, checks the workload and takes a cookie.
pub fn start(
    procs: &mut Procs,
    candidate: Candidate,
    log: &Path,
    stop: &AtomicBool,
) -> Result<Running, String> {
    let port = free_port()?;
    let pid = procs
        .spawn_pinned(&candidate.program, &candidate.args_for(port), log)
        .map_err(|e| format!("cannot start {}: {e}", candidate.program.display()))?;
    wait_ready(procs, pid, port, log, stop)?;
    check_workload(&candidate, port)?;
    let first = http::get(port, "/counter", None).map_err(|e| e.to_string())?;
    let mut jar = Jar::default();
    jar.update(&first);
    let cookie = jar.header();
    if candidate.session && cookie.is_none() {
        return Err("the first /counter set no cookie".into());
    }
    Ok(Running {
        candidate,
        port,
        pid,
        cookie,
        set_cookie_bytes: first.set_cookie_bytes(),
        cookie_file: None,
        sessions: 0,
    })
}

fn wait_ready(
    procs: &mut Procs,
    pid: u32,
    port: u16,
    log: &Path,
    stop: &AtomicBool,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        stopped(stop)?;
        if procs.has_exited(pid) {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!("exited at start: {}", tail.join(" / ")));
        }
        if http::get(port, "/read", None).is_ok_and(|a| a.status == 200) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("no answer on port {port} within 30 s"));
        }
        sleep(Duration::from_millis(50));
    }
}

/// Runs the four routes once through a cookie jar and checks every answer, so a
/// candidate that does not really keep a session cannot post a number.
fn check_workload(candidate: &Candidate, port: u16) -> Result<(), String> {
    let mut jar = Jar::default();
    let mut call = |path: &str| -> Result<String, String> {
        let answer = http::get(port, path, jar.header().as_deref()).map_err(|e| e.to_string())?;
        if answer.status != 200 {
            return Err(format!(
                "GET {path} answered {}: {}",
                answer.status, answer.body
            ));
        }
        jar.update(&answer);
        Ok(answer.body)
    };
    let want = |path: &str, got: String, want: &str| match got.trim() == want {
        true => Ok(()),
        false => Err(format!("GET {path} answered {got:?}, expected {want:?}")),
    };
    want("/counter", call("/counter")?, "1")?;
    if !candidate.session {
        return want("/read", call("/read")?, "0");
    }
    want("/counter", call("/counter")?, "2")?;
    want("/read", call("/read")?, "2")?;
    want("/put/bench", call("/put/bench")?, "ok")?;
    let keys = call("/keys")?;
    let parsed: Vec<String> = serde_json::from_str(&keys)
        .map_err(|e| format!("GET /keys answered {keys:?}, not a JSON array of strings: {e}"))?;
    match parsed.iter().any(|k| k == "n") && parsed.iter().any(|k| k == "bench") {
        true => Ok(()),
        false => Err(format!("GET /keys answered {keys:?}, expected n and bench")),
    }
}

/// Runs wrk against `running` on `path` for `seconds` with `cookies` and reads the
/// server's CPU time over the same window.
pub fn measure(
    running: &Running,
    path: &str,
    cookies: Cookies<'_>,
    seconds: u64,
    connections: u32,
    ticks_per_second: u64,
    stop: &AtomicBool,
) -> Result<Sample, String> {
    let load = Load {
        port: running.port,
        path,
        cookies,
        seconds,
        connections,
    };
    let service = running.candidate.needs.map(|s| s.process_name());
    let before = (cpu_ticks(running.pid), service.map(cpu_ticks_named));
    let wrk = run_wrk(&load, stop)?;
    let after = (cpu_ticks(running.pid), service.map(cpu_ticks_named));
    if wrk.requests == 0 {
        return Err(format!("no request completed on {path}"));
    }
    let per_request =
        |ticks: u64| ticks as f64 * 1e6 / ticks_per_second as f64 / wrk.requests as f64;
    let store_ticks = after.1.zip(before.1).map(|(a, b)| ticks_between(&b, &a));
    Ok(Sample {
        cpu_us: per_request(after.0.saturating_sub(before.0)),
        store_cpu_us: store_ticks.map(per_request),
        wrk,
    })
}

fn run_wrk(load: &Load<'_>, stop: &AtomicBool) -> Result<WrkResult, String> {
    let mut child = load
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let status = loop {
        if stopped(stop).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            return Err("interrupted".into());
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for wrk: {e}")),
        }
    };
    let mut output = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut output);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut output);
    }
    if !status.success() {
        return Err(format!("wrk failed ({status}): {output}"));
    }
    wrk::parse(&output)
}

/// Scratch directory for server logs and the SQLite file, removed by [`Scratch::drop`].
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates a fresh directory under the system temp dir.
    pub fn new() -> std::io::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("flagon-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
