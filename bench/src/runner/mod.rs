//! `bench-runner`: starts every candidate pinned to core 0, loads it with wrk pinned to
//! core 1 in interleaved rounds, stops everything it started by PID (also on Ctrl-C or
//! error) and writes one markdown table.
//!
//! `bench/run` installs what is missing, builds in release mode, runs the criterion
//! codec benches and then this runner.

pub mod candidates;
pub mod chart;
pub mod cluster;
pub mod codec;
pub mod http;
pub mod measure;
pub mod options;
pub mod procs;
pub mod report;
pub mod scale;
pub mod sessions;
pub mod targets;
pub mod wrk;

use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use candidates::{Candidate, Paths, Service};
use measure::{Running, Sample, Scratch, StopFlag, Workload, ROUTES, WORKLOADS};
use options::Options;
use procs::Procs;
use report::{Meta, Row, Stats};

/// Entry point of `bench-runner`.
pub fn main() -> ExitCode {
    let result = Options::parse(std::env::args().skip(1)).and_then(|options| run(&options));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench-runner: {err}");
            ExitCode::FAILURE
        }
    }
}

fn stop_flag() -> Result<StopFlag, String> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&flag))
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    Ok(flag)
}

fn check_tools() -> Result<(), String> {
    for (tool, install) in [
        ("wrk", "apt-get install -y wrk"),
        ("taskset", "apt-get install -y util-linux"),
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|out| out.status.success());
        if !found {
            return Err(format!(
                "{tool} is not installed; run: apt-get update && {install}"
            ));
        }
    }
    Ok(())
}

/// The candidates to run: `--only`'s (from every candidate, owned variants included), or
/// the default list, with the owned variants when `registry` is set.
fn select(
    all: Vec<Candidate>,
    owned: Vec<Candidate>,
    registry: bool,
    only: Option<&Vec<String>>,
) -> Result<Vec<Candidate>, String> {
    let Some(only) = only else {
        let extra = if registry { owned } else { Vec::new() };
        return Ok(all.into_iter().chain(extra).collect());
    };
    let all: Vec<Candidate> = all.into_iter().chain(owned).collect();
    for name in only {
        if !all.iter().any(|c| &c.name == name) {
            let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
            return Err(format!(
                "no candidate {name:?}; candidates: {}",
                names.join(", ")
            ));
        }
    }
    Ok(all.into_iter().filter(|c| only.contains(&c.name)).collect())
}

fn run(options: &Options) -> Result<(), String> {
    let stop = stop_flag()?;
    check_tools()?;
    let scratch = Scratch::new().map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    let paths = Paths {
        bin_dir: options.bin_dir.clone(),
        gunicorn: options.gunicorn.clone(),
        flask_dir: options.flask_dir.clone(),
        sqlite_file: scratch.0.join("flagon.sqlite3"),
        sqlx_sqlite_file: scratch.0.join("tower-sessions.sqlite3"),
    };
    let candidates = select(
        candidates::all(&paths),
        candidates::owned(&paths),
        options.registry,
        options.only.as_ref(),
    )?;
    let script = scratch.0.join("many-sessions.lua");
    std::fs::write(&script, wrk::MANY_SESSIONS_LUA)
        .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let began = std::time::Instant::now();
    let mut procs = Procs::default();
    let cluster = match candidates
        .iter()
        .any(|c| c.needs == Some(Service::RedisCluster))
    {
        true => cluster::start(&mut procs, &scratch.0).err(),
        false => None,
    };
    let (mut rows, mut running) = start_all(&mut procs, candidates, &scratch, cluster, &stop);
    make_sessions(options, &mut running, &mut rows, &scratch, &stop);
    let samples = measure_all(options, &running, &mut rows, &script, &stop);
    let scaling = scale::run(options, &mut running, &paths, &scratch, &script, &stop);
    procs.stop_all();
    drop(scratch);
    if stop.load(Ordering::Relaxed) {
        return Err("interrupted; every server it started is stopped".into());
    }
    let rows = finish_rows(rows, &running, samples);
    publish(options, &rows, &scaling, began.elapsed().as_secs())?;
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.note.is_some())
        .map(|r| r.candidate.name.as_str())
        .collect();
    match options.strict && !failed.is_empty() {
        true => Err(format!("not measured: {}", failed.join(", "))),
        false => Ok(()),
    }
}

/// Starts every candidate; those that cannot run get a row with a note instead.
fn start_all(
    procs: &mut Procs,
    candidates: Vec<Candidate>,
    scratch: &Scratch,
    cluster: Option<String>,
    stop: &AtomicBool,
) -> (Vec<Row>, Vec<(usize, Running)>) {
    let mut rows = Vec::new();
    let mut running = Vec::new();
    for candidate in candidates {
        let log = scratch
            .0
            .join(format!("{}.log", candidate.name.replace([' ', '/'], "_")));
        let cluster_failed = match (candidate.needs, &cluster) {
            (Some(Service::RedisCluster), Some(err)) => Some(err.clone()),
            _ => None,
        };
        let started = match cluster_failed.or_else(|| candidates::unavailable(&candidate)) {
            Some(reason) => Err(reason),
            None => measure::start(procs, candidate.clone(), &log, stop),
        };
        eprintln!(
            "start {:<28} {}",
            candidate.name,
            started.as_ref().map_or_else(|e| e.as_str(), |_| "ok")
        );
        let note = started.as_ref().err().cloned();
        let set_cookie_bytes = started.as_ref().ok().map(|r| r.set_cookie_bytes);
        if let Ok(started) = started {
            running.push((rows.len(), started));
        }
        rows.push(Row {
            candidate,
            set_cookie_bytes,
            stats: Default::default(),
            note,
        });
    }
    (rows, running)
}

/// Makes the many-sessions workload's sessions on every running candidate, before any
/// measured window; a candidate that cannot make them is measured on one session only.
fn make_sessions(
    options: &Options,
    running: &mut [(usize, Running)],
    rows: &mut [Row],
    scratch: &Scratch,
    stop: &AtomicBool,
) {
    for (row, server) in running.iter_mut() {
        let began = std::time::Instant::now();
        match server.grow_sessions(options.sessions, &scratch.0, stop) {
            Ok(()) => eprintln!(
                "sessions {:<28} {} made in {:.1} s",
                server.candidate.name,
                server.sessions,
                began.elapsed().as_secs_f64()
            ),
            Err(err) => rows[*row].note = Some(format!("{} sessions: {err}", options.sessions)),
        }
    }
}

/// Whether `server` can be measured on `workload`: the many-sessions workload needs its
/// sessions made (bare servers need none).
fn ready_for(server: &Running, workload: Workload) -> bool {
    workload == Workload::Single || !server.candidate.session || server.cookie_file.is_some()
}

/// Per running candidate, per workload, per route: the samples of every round.
type Samples = Vec<[[Vec<Sample>; 2]; 2]>;

/// Warm-up, then `rounds` rounds in which every running candidate gets each workload and
/// route once; the order rotates every round so no candidate always goes first.
fn measure_all(
    options: &Options,
    running: &[(usize, Running)],
    rows: &mut [Row],
    script: &std::path::Path,
    stop: &AtomicBool,
) -> Samples {
    let ticks = procs::ticks_per_second();
    let mut samples: Samples = running.iter().map(|_| Default::default()).collect();
    for (_, server) in running {
        for workload in WORKLOADS.into_iter().filter(|w| ready_for(server, *w)) {
            for path in &ROUTES[..options.warmup_routes] {
                if options.warmup > 0 {
                    let _ = measure::measure(
                        server,
                        path,
                        server.cookies(workload, script),
                        options.warmup,
                        options.connections,
                        ticks,
                        stop,
                    );
                }
            }
        }
    }
    for round in 0..options.rounds as usize {
        for k in 0..running.len() {
            let index = (k + round) % running.len();
            let (row, server) = &running[index];
            for (w, workload) in WORKLOADS.into_iter().enumerate() {
                if !ready_for(server, workload) {
                    continue;
                }
                for (route, path) in ROUTES.iter().enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        return samples;
                    }
                    match measure::measure(
                        server,
                        path,
                        server.cookies(workload, script),
                        options.seconds,
                        options.connections,
                        ticks,
                        stop,
                    ) {
                        Ok(sample) => {
                            eprintln!(
                                "round {}/{} {:<34} {:<6} {:<8} {:>9.0} req/s {:>7.1} µs CPU/req",
                                round + 1,
                                options.rounds,
                                server.candidate.name,
                                report::workload_name(workload),
                                path,
                                sample.wrk.rps,
                                sample.cpu_us
                            );
                            samples[index][w][route].push(sample);
                        }
                        Err(err) => rows[*row].note = Some(format!("{path}: {err}")),
                    }
                }
            }
        }
    }
    samples
}

fn finish_rows(mut rows: Vec<Row>, running: &[(usize, Running)], samples: Samples) -> Vec<Row> {
    for ((row, _), samples) in running.iter().zip(samples) {
        rows[*row].stats = samples.map(|[counter, read]| [Stats::of(&counter), Stats::of(&read)]);
    }
    rows
}

fn publish(
    options: &Options,
    rows: &[Row],
    scaling: &[scale::Point],
    elapsed_s: u64,
) -> Result<(), String> {
    let meta = Meta {
        mode: options.mode.to_owned(),
        date: shell("date -u '+%Y-%m-%d %H:%M UTC'"),
        commit: shell("git rev-parse --short HEAD 2>/dev/null || echo unknown"),
        cpu: shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2; nproc | sed 's/$/ cores/'")
            .replace('\n', ", "),
        rounds: options.rounds,
        seconds: options.seconds,
        connections: options.connections,
        sessions: options.sessions,
        load: shell("cut -d' ' -f1-3 /proc/loadavg"),
        elapsed_s,
    };
    let codec = options
        .criterion_dir
        .as_deref()
        .and_then(codec::Codec::read);
    let chart_name = options
        .out
        .as_ref()
        .map(|out| out.with_extension("svg"))
        .filter(|_| {
            rows.iter()
                .any(|r| r.stats.iter().flatten().any(Option::is_some))
        });
    let chart_link = chart_name
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let text = report::render(&meta, rows, scaling, codec.as_ref(), chart_link.as_deref());
    println!("{text}");
    if let Some(out) = &options.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(out, &text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    if let Some(svg) = &chart_name {
        std::fs::write(svg, chart::render(&meta, rows))
            .map_err(|e| format!("cannot write {}: {e}", svg.display()))?;
        eprintln!("wrote {}", svg.display());
    }
    Ok(())
}

fn shell(script: &str) -> String {
    Command::new("sh")
        .args(["-c", script])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}
