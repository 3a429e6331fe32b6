//! The numeric targets, checked against a run's numbers.

use super::candidates::{Framework, FLAGON};
use super::codec::Codec;
use super::report::Row;

const COUNTER: usize = 0;

fn verdict(met: bool) -> &'static str {
    match met {
        true => "**met**",
        false => "**not met**",
    }
}

fn counter<'a>(rows: &'a [Row], name: &str) -> Option<&'a super::report::Stats> {
    rows.iter().find(|r| r.candidate.name == name)?.stats[COUNTER].as_ref()
}

/// Session cost (CPU µs per request over the own bare server) on `/counter`.
fn cost(rows: &[Row], row: &Row) -> Option<f64> {
    let bare = match row.candidate.framework {
        Framework::Axum => "bare-axum",
        Framework::Actix => "bare-actix",
        Framework::Flask => return None,
    };
    Some(row.stats[COUNTER].as_ref()?.cpu_us - counter(rows, bare)?.cpu_us)
}

fn is_rust_peer(row: &Row) -> bool {
    row.candidate.session
        && row.candidate.framework != Framework::Flask
        && !row.candidate.name.starts_with(FLAGON)
}

/// One line per target: what was measured, the bar, met or not (or why it could not be
/// judged).
pub fn verdicts(rows: &[Row], codec: Option<&Codec>) -> Vec<String> {
    let mut lines = vec![session_cost(rows), redis(rows), flask(rows)];
    lines.extend(codec_lines(codec));
    lines
}

fn session_cost(rows: &[Row]) -> String {
    let flagon = rows
        .iter()
        .find(|r| r.candidate.name == FLAGON)
        .and_then(|r| cost(rows, r));
    let best = rows
        .iter()
        .filter(|r| is_rust_peer(r))
        .filter_map(|r| Some((cost(rows, r)?, r.candidate.name.as_str())))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let bar = "flagon cookie session cost ≤ 1/3 of the best Rust peer's (CPU µs/req over own bare, /counter)";
    match (flagon, best) {
        (Some(f), Some((p, name))) if p > 0.0 => format!(
            "{bar}: flagon {f:.2} µs vs `{name}` {p:.2} µs = {:.2} → {}",
            f / p,
            verdict(f <= p / 3.0)
        ),
        _ => format!("{bar}: not judged (missing numbers)"),
    }
}

fn redis(rows: &[Row]) -> String {
    let bar = "flagon + Redis ≥ 1.3× the best Rust peer's Redis store (req/s, /counter)";
    let flagon = counter(rows, &format!("{FLAGON} --store redis"));
    let best = ["tower-sessions-redis", "actix-session-redis"]
        .iter()
        .filter_map(|name| Some((counter(rows, name)?.rps, *name)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match (flagon, best) {
        (Some(f), Some((p, name))) => format!(
            "{bar}: {:.0} vs `{name}` {p:.0} = {:.2}× → {}",
            f.rps,
            f.rps / p,
            verdict(f.rps >= 1.3 * p)
        ),
        _ => format!("{bar}: not judged (missing numbers)"),
    }
}

fn flask(rows: &[Row]) -> String {
    let bar = "flagon ≥ 30× Flask (req/s, /counter)";
    match (counter(rows, FLAGON), counter(rows, "flask-gunicorn")) {
        (Some(f), Some(p)) if p.rps > 0.0 => format!(
            "{bar}: {:.0} vs {:.0} = {:.1}× → {}",
            f.rps,
            p.rps,
            f.rps / p.rps,
            verdict(f.rps >= 30.0 * p.rps)
        ),
        _ => format!("{bar}: not judged (missing numbers)"),
    }
}

fn codec_lines(codec: Option<&Codec>) -> Vec<String> {
    [("small", 2.0), ("3k", 4.0)]
        .into_iter()
        .map(|(size, limit)| {
            let bar =
                format!("codec verify + decode, {size} session, within {limit}× one HMAC-SHA1");
            let numbers = codec
                .and_then(|c| Some((c.get("verify_decode", size)?, c.get("hmac_sha1", size)?)));
            match numbers {
                Some((v, h)) => format!(
                    "{bar}: {} vs {} = {:.2}× → {}",
                    super::codec::nanos(v),
                    super::codec::nanos(h),
                    v / h,
                    verdict(v <= limit * h)
                ),
                None => format!("{bar}: not judged (codec benches not run)"),
            }
        })
        .collect()
}
