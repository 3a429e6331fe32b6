//! The many-sessions workload's sessions: made before the measured window, one
//! `GET /counter` without a cookie each, through the candidate's own code.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;

use super::http::{self, Jar};

/// Client threads making sessions: the server has one core, so a few are enough to keep
/// it busy while each waits for its answer.
const THREADS: u32 = 4;

/// Makes `count` new sessions on the server at `port` and returns their `Cookie` header
/// values. Fails on the first request that fails, answers other than 200, or sets no
/// cookie; gives up when `stop` is set.
pub fn make(port: u16, count: u32, stop: &AtomicBool) -> Result<Vec<String>, String> {
    let next = AtomicU32::new(0);
    let results: Vec<Result<Vec<String>, String>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let mut cookies = Vec::new();
                    while next.fetch_add(1, Ordering::Relaxed) < count {
                        if stop.load(Ordering::Relaxed) {
                            return Err("interrupted".to_owned());
                        }
                        cookies.push(one(port)?);
                    }
                    Ok(cookies)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a client thread panicked".into()))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(count as usize);
    for result in results {
        all.extend(result?);
    }
    Ok(all)
}

fn one(port: u16) -> Result<String, String> {
    let answer = http::get(port, "/counter", None).map_err(|e| format!("making a session: {e}"))?;
    if answer.status != 200 {
        return Err(format!(
            "making a session: GET /counter answered {}",
            answer.status
        ));
    }
    let mut jar = Jar::default();
    jar.update(&answer);
    jar.header()
        .ok_or_else(|| "making a session: GET /counter set no cookie".to_owned())
}

/// Appends `cookies` to `file`, one per line, for wrk's script.
pub fn append(file: &Path, cookies: &[String]) -> Result<(), String> {
    use std::io::Write;
    let mut text = String::new();
    for cookie in cookies {
        let _ = writeln!(text, "{cookie}");
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}
