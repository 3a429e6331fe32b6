//! The numeric targets, checked against a run's numbers.

use super::candidates::{Framework, FLAGON};
use super::codec::Codec;
use super::report::{Row, Stats};

const COUNTER: usize = 0;

fn verdict(met: bool) -> &'static str {
    match met {
        true => "**met**",
        false => "**not met**",
    }
}

fn counter<'a>(rows: &'a [Row], name: &str) -> Option<&'a Stats> {
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
        && !row.candidate.name.starts_with("flagon")
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
            "{bar}: {:.0} vs `{name}` {p:.0} = {:.2}× → {}{}",
            f.rps,
            f.rps / p,
            verdict(f.rps >= 1.3 * p),
            by_cpu(f, counter(rows, name)),
        ),
        _ => format!("{bar}: not judged (missing numbers)"),
    }
}

/// The same ratio by server CPU per request, which other load on the machine disturbs
/// less than req/s.
fn by_cpu(flagon: &Stats, peer: Option<&Stats>) -> String {
    match peer {
        Some(peer) if flagon.cpu_us > 0.0 => {
            format!(
                " (by server CPU per request: {:.1}×)",
                peer.cpu_us / flagon.cpu_us
            )
        }
        _ => String::new(),
    }
}

fn flask(rows: &[Row]) -> String {
    let bar = "flagon ≥ 30× Flask (req/s, /counter)";
    match (counter(rows, FLAGON), counter(rows, "flask-gunicorn")) {
        (Some(f), Some(p)) if p.rps > 0.0 => format!(
            "{bar}: {:.0} vs {:.0} = {:.1}× → {}{}",
            f.rps,
            p.rps,
            f.rps / p.rps,
            verdict(f.rps >= 30.0 * p.rps),
            by_cpu(f, Some(p)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::candidates::{all, Paths};

    fn rows(numbers: &[(&str, f64, f64)]) -> Vec<Row> {
        let paths = Paths {
            bin_dir: "/b".into(),
            gunicorn: None,
            flask_dir: "/f".into(),
            sqlite_file: "/s".into(),
        };
        all(&paths)
            .into_iter()
            .map(|candidate| {
                let stats = numbers.iter().find(|(n, _, _)| *n == candidate.name).map(
                    |&(_, rps, cpu_us)| Stats {
                        rps,
                        p50_us: 1.0,
                        p99_us: 2.0,
                        cpu_us,
                        store_cpu_us: None,
                        errors: 0,
                        rounds: 1,
                    },
                );
                Row {
                    candidate,
                    set_cookie_bytes: None,
                    stats: [stats, None],
                    note: None,
                }
            })
            .collect()
    }

    #[test]
    fn judges_each_target_from_the_numbers() {
        let rows = rows(&[
            ("bare-axum", 100_000.0, 10.0),
            ("flagon-axum", 90_000.0, 11.0),
            ("tower-sessions-memory", 60_000.0, 16.0),
            ("axum-extra-signed", 80_000.0, 14.0),
            ("bare-actix", 120_000.0, 8.0),
            ("flagon-actix", 100_000.0, 8.5),
            ("actix-session-cookie", 70_000.0, 11.5),
            ("flagon-axum --store redis", 30_000.0, 20.0),
            ("tower-sessions-redis", 20_000.0, 30.0),
            ("actix-session-redis", 25_000.0, 25.0),
            ("flask-gunicorn", 2_000.0, 400.0),
        ]);
        let lines = verdicts(&rows, None);
        // flagon costs 1 µs, the best peer (actix-session-cookie) 3.5 µs: 0.29 ≤ 1/3.
        assert!(
            lines[0].contains("`actix-session-cookie`") && lines[0].contains("**met**"),
            "{}",
            lines[0]
        );
        // 30k vs the best Redis peer's 25k is 1.2×, short of 1.3×.
        assert!(
            lines[1].contains("1.20×") && lines[1].contains("**not met**"),
            "{}",
            lines[1]
        );
        // 90k vs 2k is 45×.
        assert!(
            lines[2].contains("45.0×") && lines[2].contains("**met**"),
            "{}",
            lines[2]
        );
        assert!(lines[3].contains("not judged") && lines[4].contains("not judged"));
    }

    #[test]
    fn missing_numbers_are_not_judged() {
        let lines = verdicts(&rows(&[("bare-axum", 1.0, 1.0)]), None);
        assert_eq!(lines.len(), 5);
        assert!(
            lines.iter().all(|line| line.contains("not judged")),
            "{lines:?}"
        );
    }
}
