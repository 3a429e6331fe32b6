//! The numeric targets, checked against a run's numbers.

use super::candidates::{Framework, FLAGON};
use super::codec::Codec;
use super::measure::{Workload, WORKLOADS};
use super::report::{bare_name, thousands, workload_title, Row, Stats};

const COUNTER: usize = 0;
const READ: usize = 1;

fn verdict(met: bool) -> &'static str {
    match met {
        true => "**met**",
        false => "**not met**",
    }
}

fn find<'a>(rows: &'a [Row], name: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.candidate.name == name)
}

fn get<'a>(rows: &'a [Row], name: &str, workload: Workload, route: usize) -> Option<&'a Stats> {
    find(rows, name)?.get(workload, route)
}

fn store(name: &str) -> String {
    format!("{FLAGON} --store {name}")
}

/// Session cost (CPU µs per request over the own bare server) on `/counter`.
fn cost(rows: &[Row], row: &Row, workload: Workload) -> Option<f64> {
    let bare = bare_name(row.candidate.framework)?;
    Some(row.get(workload, COUNTER)?.cpu_us - get(rows, bare, workload, COUNTER)?.cpu_us)
}

fn is_rust_peer(row: &Row) -> bool {
    row.candidate.session
        && row.candidate.framework != Framework::Flask
        && !row.candidate.name.starts_with("flagon")
}

/// One line per target, workload and store: what was measured, the bar, met or not (or
/// why it could not be judged). `sessions` is the many-sessions workload's size.
pub fn verdicts(rows: &[Row], codec: Option<&Codec>, sessions: u32) -> Vec<String> {
    let mut lines = Vec::new();
    for workload in WORKLOADS {
        let at = workload_title(workload, sessions);
        for (framework, flagon) in [
            (Framework::Axum, FLAGON),
            (Framework::Actix, "flagon-actix"),
        ] {
            lines.push(format!(
                "{at}: {}",
                session_cost(rows, workload, framework, flagon)
            ));
        }
        let stores = [
            (
                "redis",
                &["tower-sessions-redis", "actix-session-redis"][..],
            ),
            ("sqlite", &["tower-sessions-sqlite"][..]),
            ("postgres", &["tower-sessions-postgres"][..]),
        ];
        for (name, peers) in stores {
            lines.push(format!(
                "{at}: {}",
                store_vs_peers(rows, workload, name, peers)
            ));
        }
        lines.push(format!("{at}: {}", flask(rows, workload)));
    }
    let at = workload_title(Workload::Many, sessions);
    lines.push(format!("{at}: {}", sqlite_vs_memory(rows)));
    for name in ["memory", "sqlite", "redis", "redis-cluster", "postgres"] {
        lines.push(format!("{at}: {}", tail_latency(rows, name)));
    }
    lines.extend(codec_lines(codec));
    lines
}

fn session_cost(rows: &[Row], workload: Workload, framework: Framework, flagon: &str) -> String {
    let flagon_cost = find(rows, flagon).and_then(|r| cost(rows, r, workload));
    let best = rows
        .iter()
        .filter(|r| is_rust_peer(r) && r.candidate.framework == framework)
        .filter_map(|r| Some((cost(rows, r, workload)?, r.candidate.name.as_str())))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let bar = format!(
        "`{flagon}` cookie session cost ≤ 1/3 of the best Rust peer's on {framework:?} \
         (CPU µs/req over own bare, /counter)"
    );
    match (flagon_cost, best) {
        (Some(f), Some((p, name))) if p > 0.0 => format!(
            "{bar}: flagon {f:.2} µs vs `{name}` {p:.2} µs = {:.2} → {}",
            f / p,
            verdict(f <= p / 3.0)
        ),
        _ => format!("{bar}: not judged (missing numbers)"),
    }
}

/// flagon's `name` store ≥ 1.3× the best of `peers` on `/counter` and on `/read`.
fn store_vs_peers(rows: &[Row], workload: Workload, name: &str, peers: &[&str]) -> String {
    let bar = format!(
        "flagon {name} ≥ 1.3× the best Rust peer's {name} store (req/s, /counter and /read)"
    );
    let mut parts = Vec::new();
    let mut met = true;
    for (route, path) in [(COUNTER, "/counter"), (READ, "/read")] {
        let flagon = get(rows, &store(name), workload, route);
        let best = peers
            .iter()
            .filter_map(|peer| Some((get(rows, peer, workload, route)?, *peer)))
            .max_by(|a, b| a.0.rps.total_cmp(&b.0.rps));
        let (Some(f), Some((p, peer))) = (flagon, best) else {
            return format!("{bar}: not judged (missing numbers)");
        };
        met &= f.rps >= 1.3 * p.rps;
        parts.push(format!(
            "{path} {} vs `{peer}` {} = {:.2}×{}",
            thousands(f.rps),
            thousands(p.rps),
            f.rps / p.rps,
            by_cpu(f, Some(p)),
        ));
    }
    format!("{bar}: {} → {}", parts.join("; "), verdict(met))
}

/// The same ratio by server CPU per request, which other load on the machine disturbs
/// less than req/s.
fn by_cpu(flagon: &Stats, peer: Option<&Stats>) -> String {
    match peer {
        Some(peer) if flagon.cpu_us > 0.0 => {
            format!(
                " (by server CPU per request: {:.2}×)",
                peer.cpu_us / flagon.cpu_us
            )
        }
        _ => String::new(),
    }
}

fn flask(rows: &[Row], workload: Workload) -> String {
    let bar = "flagon ≥ 30× Flask (req/s, /counter)";
    let numbers = (
        get(rows, FLAGON, workload, COUNTER),
        get(rows, "flask-gunicorn", workload, COUNTER),
    );
    match numbers {
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

fn sqlite_vs_memory(rows: &[Row]) -> String {
    let bar = "flagon SQLite ≥ 0.5× flagon's memory store (req/s, /counter)";
    let numbers = (
        get(rows, &store("sqlite"), Workload::Many, COUNTER),
        get(rows, &store("memory"), Workload::Many, COUNTER),
    );
    match numbers {
        (Some(s), Some(m)) if m.rps > 0.0 => format!(
            "{bar}: {} vs {} = {:.2}× → {}",
            thousands(s.rps),
            thousands(m.rps),
            s.rps / m.rps,
            verdict(s.rps >= 0.5 * m.rps)
        ),
        _ => format!("{bar}: not judged (missing numbers)"),
    }
}

fn tail_latency(rows: &[Row], name: &str) -> String {
    let bar = format!("flagon {name}: p99 ≤ 2× p50 (/counter and /read)");
    let mut parts = Vec::new();
    let mut met = true;
    for (route, path) in [(COUNTER, "/counter"), (READ, "/read")] {
        let Some(s) = get(rows, &store(name), Workload::Many, route) else {
            return format!("{bar}: not judged (missing numbers)");
        };
        met &= s.p99_us <= 2.0 * s.p50_us;
        parts.push(format!(
            "{path} p50 {:.2} ms, p99 {:.2} ms = {:.1}×",
            s.p50_us / 1e3,
            s.p99_us / 1e3,
            s.p99_us / s.p50_us
        ));
    }
    // The harness's own tail: 32 connections queue on one server thread, so even a
    // server without sessions has a p99 many times its p50.
    let floor = get(rows, "bare-axum", Workload::Many, COUNTER)
        .filter(|b| b.p50_us > 0.0)
        .map_or_else(String::new, |b| {
            format!(" (bare-axum's own /counter: {:.1}×)", b.p99_us / b.p50_us)
        });
    format!("{bar}: {}{floor} → {}", parts.join("; "), verdict(met))
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
    use crate::runner::candidates::{all, test_paths};

    /// Rows with `(name, workload, route, rps, cpu µs, p50 µs, p99 µs)` filled in.
    fn rows(numbers: &[(&str, Workload, usize, f64, f64)]) -> Vec<Row> {
        let paths = test_paths();
        let mut rows: Vec<Row> = all(&paths)
            .into_iter()
            .map(|candidate| Row {
                candidate,
                set_cookie_bytes: None,
                stats: Default::default(),
                note: None,
            })
            .collect();
        for &(name, workload, route, rps, cpu_us) in numbers {
            let row = rows.iter_mut().find(|r| r.candidate.name == name).unwrap();
            let w = WORKLOADS.iter().position(|x| *x == workload).unwrap();
            row.stats[w][route] = Some(Stats {
                rps,
                p50_us: 100.0,
                p99_us: if name.contains("postgres") {
                    300.0
                } else {
                    150.0
                },
                cpu_us,
                store_cpu_us: None,
                errors: 0,
                rounds: 1,
            });
        }
        rows
    }

    fn line<'a>(lines: &'a [String], starts: &str, has: &str) -> &'a str {
        lines
            .iter()
            .find(|l| l.starts_with(starts) && l.contains(has))
            .unwrap_or_else(|| panic!("no line {starts:?} … {has:?} in {lines:#?}"))
    }

    #[test]
    fn judges_each_target_per_workload_and_store() {
        use Workload::{Many, Single};
        let rows = rows(&[
            ("bare-axum", Single, COUNTER, 100_000.0, 10.0),
            ("flagon-axum", Single, COUNTER, 90_000.0, 11.0),
            ("tower-sessions-memory", Single, COUNTER, 60_000.0, 16.0),
            ("axum-extra-signed", Single, COUNTER, 80_000.0, 14.0),
            ("bare-actix", Single, COUNTER, 120_000.0, 8.0),
            ("flagon-actix", Single, COUNTER, 100_000.0, 8.5),
            ("actix-session-cookie", Single, COUNTER, 70_000.0, 11.5),
            ("flagon-axum --store redis", Many, COUNTER, 30_000.0, 20.0),
            ("flagon-axum --store redis", Many, READ, 50_000.0, 15.0),
            ("tower-sessions-redis", Many, COUNTER, 20_000.0, 30.0),
            ("tower-sessions-redis", Many, READ, 30_000.0, 20.0),
            ("actix-session-redis", Many, COUNTER, 25_000.0, 25.0),
            ("actix-session-redis", Many, READ, 35_000.0, 20.0),
            ("flagon-axum --store sqlite", Many, COUNTER, 40_000.0, 20.0),
            ("flagon-axum --store sqlite", Many, READ, 60_000.0, 20.0),
            ("flagon-axum --store memory", Many, COUNTER, 70_000.0, 12.0),
            ("flagon-axum --store memory", Many, READ, 80_000.0, 11.0),
            ("tower-sessions-sqlite", Many, COUNTER, 10_000.0, 90.0),
            ("tower-sessions-sqlite", Many, READ, 20_000.0, 50.0),
            ("flagon-axum --store postgres", Many, COUNTER, 9_000.0, 40.0),
            ("flagon-axum --store postgres", Many, READ, 20_000.0, 30.0),
            ("flask-gunicorn", Single, COUNTER, 2_000.0, 400.0),
        ]);
        let lines = verdicts(&rows, None, 10_000);
        // axum: flagon costs 1 µs, the best axum peer (axum-extra-signed) 4 µs: 0.25 ≤ 1/3.
        let axum = line(&lines, "one session", "on Axum");
        assert!(
            axum.contains("`axum-extra-signed`") && axum.contains("**met**"),
            "{axum}"
        );
        // actix: 0.5 µs vs actix-session-cookie's 3.5 µs.
        let actix = line(&lines, "one session", "on Actix");
        assert!(actix.contains("**met**"), "{actix}");
        // Redis: /counter 30k vs 25k is 1.2×, short of 1.3×.
        let redis = line(&lines, "10,000 sessions", "flagon redis ≥");
        assert!(
            redis.contains("1.20×") && redis.contains("**not met**"),
            "{redis}"
        );
        // SQLite: 4× and 3× the sqlx store.
        let sqlite = line(&lines, "10,000 sessions", "flagon sqlite ≥");
        assert!(
            sqlite.contains("4.00×") && sqlite.contains("**met**"),
            "{sqlite}"
        );
        let postgres = line(&lines, "10,000 sessions", "flagon postgres ≥");
        assert!(postgres.contains("not judged"), "{postgres}");
        let flask = line(&lines, "one session", "Flask");
        assert!(
            flask.contains("45.0×") && flask.contains("**met**"),
            "{flask}"
        );
        // 40k vs 70k is 0.57× ≥ 0.5×.
        let embedded = line(&lines, "10,000 sessions", "0.5× flagon's memory");
        assert!(
            embedded.contains("0.57×") && embedded.contains("**met**"),
            "{embedded}"
        );
        let tail = line(&lines, "10,000 sessions", "flagon sqlite: p99");
        assert!(tail.contains("1.5×") && tail.contains("**met**"), "{tail}");
        assert!(
            !tail.contains("bare-axum's own"),
            "no bare numbers on 10,000 sessions here"
        );
        let tail = line(&lines, "10,000 sessions", "flagon postgres: p99");
        assert!(
            tail.contains("3.0×") && tail.contains("**not met**"),
            "{tail}"
        );
        assert!(lines
            .iter()
            .filter(|l| l.contains("codec"))
            .all(|l| l.contains("not judged")));
    }

    #[test]
    fn missing_numbers_are_not_judged() {
        let lines = verdicts(&rows(&[]), None, 10);
        assert_eq!(lines.len(), 2 * 6 + 6 + 2);
        assert!(
            lines.iter().all(|line| line.contains("not judged")),
            "{lines:#?}"
        );
    }
}
