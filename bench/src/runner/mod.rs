//! `bench-runner`: starts every candidate pinned to core 0, loads it with wrk pinned to
//! core 1 in interleaved rounds, stops everything it started by PID (also on Ctrl-C or
//! error) and writes one markdown table.
//!
//! `bench/run` installs what is missing, builds in release mode, runs the criterion
//! codec benches and then this runner.

pub mod candidates;
pub mod codec;
pub mod http;
pub mod measure;
pub mod options;
pub mod procs;
pub mod report;
pub mod targets;
pub mod wrk;

use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use candidates::{Candidate, Paths};
use measure::{Running, Sample, Scratch, StopFlag, ROUTES};
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

fn select(all: Vec<Candidate>, only: Option<&Vec<String>>) -> Result<Vec<Candidate>, String> {
    let Some(only) = only else { return Ok(all) };
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
    };
    let candidates = select(candidates::all(&paths), options.only.as_ref())?;
    let began = std::time::Instant::now();
    let mut procs = Procs::default();
    let (mut rows, running) = start_all(&mut procs, candidates, &scratch, &stop);
    let samples = measure_all(options, &running, &mut rows, &stop);
    procs.stop_all();
    drop(scratch);
    if stop.load(Ordering::Relaxed) {
        return Err("interrupted; every server it started is stopped".into());
    }
    let rows = finish_rows(rows, &running, samples);
    publish(options, &rows, began.elapsed().as_secs())?;
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
    stop: &AtomicBool,
) -> (Vec<Row>, Vec<(usize, Running)>) {
    let mut rows = Vec::new();
    let mut running = Vec::new();
    for candidate in candidates {
        let log = scratch
            .0
            .join(format!("{}.log", candidate.name.replace([' ', '/'], "_")));
        let started = match candidates::unavailable(&candidate) {
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
            stats: [None, None],
            note,
        });
    }
    (rows, running)
}

type Samples = Vec<[Vec<Sample>; 2]>;

/// Warm-up, then `rounds` rounds in which every running candidate gets each route once;
/// the order rotates every round so no candidate always goes first.
fn measure_all(
    options: &Options,
    running: &[(usize, Running)],
    rows: &mut [Row],
    stop: &AtomicBool,
) -> Samples {
    let ticks = procs::ticks_per_second();
    let mut samples: Samples = running.iter().map(|_| [Vec::new(), Vec::new()]).collect();
    for (_, server) in running {
        for path in &ROUTES[..options.warmup_routes] {
            if options.warmup > 0 {
                let _ = measure::measure(
                    server,
                    path,
                    options.warmup,
                    options.connections,
                    ticks,
                    stop,
                );
            }
        }
    }
    for round in 0..options.rounds as usize {
        for k in 0..running.len() {
            let index = (k + round) % running.len();
            let (row, server) = &running[index];
            for (route, path) in ROUTES.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    return samples;
                }
                match measure::measure(
                    server,
                    path,
                    options.seconds,
                    options.connections,
                    ticks,
                    stop,
                ) {
                    Ok(sample) => {
                        eprintln!(
                            "round {}/{} {:<28} {:<8} {:>9.0} req/s {:>7.1} µs CPU/req",
                            round + 1,
                            options.rounds,
                            server.candidate.name,
                            path,
                            sample.wrk.rps,
                            sample.cpu_us
                        );
                        samples[index][route].push(sample);
                    }
                    Err(err) => rows[*row].note = Some(format!("{path}: {err}")),
                }
            }
        }
    }
    samples
}

fn finish_rows(mut rows: Vec<Row>, running: &[(usize, Running)], samples: Samples) -> Vec<Row> {
    for ((row, _), samples) in running.iter().zip(samples) {
        let [counter, read] = samples;
        rows[*row].stats = [Stats::of(&counter), Stats::of(&read)];
    }
    rows
}

fn publish(options: &Options, rows: &[Row], elapsed_s: u64) -> Result<(), String> {
    let meta = Meta {
        mode: options.mode.to_owned(),
        date: shell("date -u '+%Y-%m-%d %H:%M UTC'"),
        commit: shell("git rev-parse --short HEAD 2>/dev/null || echo unknown"),
        cpu: shell("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2; nproc | sed 's/$/ cores/'")
            .replace('\n', ", "),
        rounds: options.rounds,
        seconds: options.seconds,
        connections: options.connections,
        load: shell("cut -d' ' -f1-3 /proc/loadavg"),
        elapsed_s,
    };
    let codec = options
        .criterion_dir
        .as_deref()
        .and_then(codec::Codec::read);
    let text = report::render(&meta, rows, codec.as_ref());
    println!("{text}");
    if let Some(out) = &options.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(out, &text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
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
