//! The results table and the verdict on the targets.

use std::fmt::Write;

use super::candidates::{Candidate, Framework};
use super::codec::Codec;
use super::measure::{Sample, Workload, ROUTES, WORKLOADS};
use super::scale::Point;

/// Medians over the rounds of one candidate on one route.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Requests per second.
    pub rps: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// Server CPU per request, µs.
    pub cpu_us: f64,
    /// Store service CPU per request, µs, for candidates with a store service.
    pub store_cpu_us: Option<f64>,
    /// Errors summed over the rounds.
    pub errors: u64,
    /// Rounds measured.
    pub rounds: usize,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[mid],
        _ => (values[mid - 1] + values[mid]) / 2.0,
    }
}

impl Stats {
    /// Medians of `samples`; `None` when there are none.
    pub fn of(samples: &[Sample]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let pick = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
        Some(Stats {
            rps: pick(|s| s.wrk.rps),
            p50_us: pick(|s| s.wrk.p50_us),
            p99_us: pick(|s| s.wrk.p99_us),
            cpu_us: pick(|s| s.cpu_us),
            store_cpu_us: samples[0]
                .store_cpu_us
                .map(|_| median(samples.iter().filter_map(|s| s.store_cpu_us).collect())),
            errors: samples.iter().map(|s| s.wrk.errors).sum(),
            rounds: samples.len(),
        })
    }
}

/// What became of one candidate.
#[derive(Clone, Debug)]
pub struct Row {
    /// The candidate.
    pub candidate: Candidate,
    /// `Set-Cookie` bytes of its first `/counter` answer.
    pub set_cookie_bytes: Option<usize>,
    /// Stats per workload (in [`WORKLOADS`] order) and route (in [`ROUTES`] order).
    pub stats: [[Option<Stats>; 2]; 2],
    /// Why it has no (or incomplete) numbers.
    pub note: Option<String>,
}

/// How the run was made, for the header.
#[derive(Clone, Debug)]
pub struct Meta {
    /// `quick`, `full` or `custom`.
    pub mode: String,
    /// UTC date and time.
    pub date: String,
    /// Git commit.
    pub commit: String,
    /// CPU model.
    pub cpu: String,
    /// Rounds.
    pub rounds: u32,
    /// Seconds per measurement.
    pub seconds: u64,
    /// wrk connections.
    pub connections: u32,
    /// Sessions of the many-sessions workload.
    pub sessions: u32,
    /// `/proc/loadavg`'s 1, 5 and 15 minute load averages when the run ended.
    pub load: String,
    /// Seconds the load runs took, start of the first server to the last measurement.
    pub elapsed_s: u64,
}

/// The stats of candidate `name` on `workload` and `route` (an index into [`ROUTES`]).
pub fn stats<'a>(
    rows: &'a [Row],
    name: &str,
    workload: Workload,
    route: usize,
) -> Option<&'a Stats> {
    rows.iter()
        .find(|r| r.candidate.name == name)?
        .get(workload, route)
}

impl Row {
    /// Its stats on `workload` and `route` (an index into [`ROUTES`]).
    pub fn get(&self, workload: Workload, route: usize) -> Option<&Stats> {
        self.stats[workload_index(workload)][route].as_ref()
    }
}

fn workload_index(workload: Workload) -> usize {
    WORKLOADS.iter().position(|w| *w == workload).unwrap_or(0)
}

/// Short name of a workload in logs and the chart: `1` or `many`.
pub fn workload_name(workload: Workload) -> &'static str {
    match workload {
        Workload::Single => "one",
        Workload::Many => "many",
    }
}

/// A workload as the tables, the chart and the verdicts name it: `one session` or
/// `10,000 sessions`.
pub fn workload_title(workload: Workload, sessions: u32) -> String {
    match workload {
        Workload::Single => "one session".into(),
        Workload::Many => format!("{} sessions", thousands(f64::from(sessions))),
    }
}

/// The bare server of `framework`, which session cost is measured against.
pub fn bare_name(framework: Framework) -> Option<&'static str> {
    match framework {
        Framework::Axum => Some("bare-axum"),
        Framework::Actix => Some("bare-actix"),
        Framework::Flask => None,
    }
}

/// The whole report in markdown; `chart` is the file name of the chart beside it.
pub fn render(
    meta: &Meta,
    rows: &[Row],
    scaling: &[Point],
    codec: Option<&Codec>,
    chart: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# flagon benchmark results ({} run)\n", meta.mode);
    let _ = writeln!(
        out,
        "{} · commit `{}` · {} · wrk -t1 -c{}, {} interleaved round(s) of {} s per route · \
         each server pinned to core 0 with one worker thread, wrk pinned to core 1 · \
         load average at the end {} · load runs took {} s · generated by `bench/run`\n",
        meta.date,
        meta.commit,
        meta.cpu,
        meta.connections,
        meta.rounds,
        meta.seconds,
        meta.load,
        meta.elapsed_s
    );
    if let Some(chart) = chart {
        let _ = writeln!(out, "![req/s per candidate, both workloads]({chart})\n");
    }
    for workload in WORKLOADS {
        let how = match workload {
            Workload::Single => "every request sends the same cookie",
            Workload::Many => "each request sends one of them, picked at random",
        };
        let mut title = workload_title(workload, meta.sessions);
        title[..1].make_ascii_uppercase();
        let _ = writeln!(out, "## {title}: {how}\n");
        out.push_str(&table(rows, workload));
        out.push('\n');
    }
    out.push_str(LEGEND);
    if !scaling.is_empty() {
        out.push_str(&scaling_table(scaling));
    }
    if rows
        .iter()
        .any(|r| r.candidate.name.ends_with(super::candidates::OWNED))
    {
        out.push_str(&registry_table(rows, meta.sessions));
    }
    let skipped: Vec<&Row> = rows.iter().filter(|r| r.note.is_some()).collect();
    if !skipped.is_empty() {
        out.push_str("\nNot measured or incomplete:\n\n");
        for row in skipped {
            let note = row.note.as_deref().unwrap_or_default();
            let _ = writeln!(out, "- `{}`: {note}", row.candidate.name);
        }
    }
    if let Some(codec) = codec {
        out.push_str(&codec.table());
    }
    out.push_str("\n## Targets\n\n");
    for line in super::targets::verdicts(rows, codec, meta.sessions) {
        let _ = writeln!(out, "- {line}");
    }
    out
}

const LEGEND: &str = "
*session cost* is the candidate's server CPU per request minus its own framework's bare
server's; *vs bare* and *vs flagon* divide its req/s by the bare server's and by
`flagon-axum`'s (cookie sessions) on the same route. *CPU µs/req* is the server
process's own; *store CPU µs/req* is what Redis or PostgreSQL spent over the same window
per request (an upper bound: their other clients count too).
";

fn table(rows: &[Row], workload: Workload) -> String {
    let mut out = String::from(
        "| candidate | route | req/s | p50 ms | p99 ms | CPU µs/req | session cost µs/req | \
         store CPU µs/req | Set-Cookie B | vs bare | vs flagon |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        for (route, path) in ROUTES.iter().enumerate() {
            let Some(s) = row.get(workload, route) else {
                continue;
            };
            let bare =
                bare_name(row.candidate.framework).and_then(|b| stats(rows, b, workload, route));
            let flagon = stats(rows, super::candidates::FLAGON, workload, route);
            let cost = match (row.candidate.session, bare) {
                (true, Some(b)) => format!("{:+.1}", s.cpu_us - b.cpu_us),
                _ => "—".into(),
            };
            let cookie = match (row.candidate.session, row.set_cookie_bytes) {
                (true, Some(bytes)) => bytes.to_string(),
                _ => "—".into(),
            };
            let store = s
                .store_cpu_us
                .map_or_else(|| "—".into(), |us| format!("{us:.1}"));
            let errors = match s.errors {
                0 => String::new(),
                n => format!(" ({n} errors)"),
            };
            let _ = writeln!(
                out,
                "| {} | {path} | {}{errors} | {:.2} | {:.2} | {:.1} | {cost} | {store} | {cookie} | {} | {} |",
                row.candidate.name,
                thousands(s.rps),
                s.p50_us / 1e3,
                s.p99_us / 1e3,
                s.cpu_us,
                ratio(s.rps, bare.map(|b| b.rps)),
                ratio(s.rps, flagon.map(|f| f.rps)),
            );
        }
    }
    out
}

/// What keeping the owner index costs: each store with every session owned against the
/// same store without owners, on the many-sessions workload.
fn registry_table(rows: &[Row], sessions: u32) -> String {
    let mut out = format!(
        "\n## The session registry's cost per request\n\n\
         Each flagon store with every session owned (`--owned`: one of 1,000 users each, \
         set on the session's first `/counter`, so the store keeps its owner index) against \
         the same store without owners, on {} sessions.\n\n\
         | store | route | req/s unowned | req/s owned | CPU µs/req unowned | CPU µs/req owned | owner cost µs/req | store CPU µs/req unowned | owned |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|\n",
        thousands(f64::from(sessions))
    );
    for row in rows {
        let Some(plain) = row.candidate.name.strip_suffix(super::candidates::OWNED) else {
            continue;
        };
        for (route, path) in ROUTES.iter().enumerate() {
            let (Some(owned), Some(base)) = (
                row.get(Workload::Many, route),
                stats(rows, plain, Workload::Many, route),
            ) else {
                continue;
            };
            let store_cpu = |s: &Stats| {
                s.store_cpu_us
                    .map_or_else(|| "—".into(), |us| format!("{us:.1}"))
            };
            let _ = writeln!(
                out,
                "| {} | {path} | {} | {} | {:.1} | {:.1} | {:+.1} | {} | {} |",
                plain.rsplit(' ').next().unwrap_or_default(),
                thousands(base.rps),
                thousands(owned.rps),
                base.cpu_us,
                owned.cpu_us,
                owned.cpu_us - base.cpu_us,
                store_cpu(base),
                store_cpu(owned),
            );
        }
    }
    out
}

fn scaling_table(points: &[Point]) -> String {
    let mut out = String::from(
        "\n## Scaling: flagon's stores from one session to many\n\n\
         One window per route and size, after the rounds above, on the same servers. \
         *RSS* is the server's; *store B/session* is the store's growth (Redis \
         `used_memory`, the PostgreSQL database, the SQLite files, the server's RSS for the \
         memory store) divided by the sessions made since the size before.\n\n\
         | store | sessions | /counter req/s | p50 ms | p99 ms | /read req/s | p50 ms | p99 ms | RSS MiB | store B/session |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for point in points {
        let route = |i: usize| match &point.stats[i] {
            Some(s) => format!(
                "{} | {:.2} | {:.2}",
                thousands(s.rps),
                s.p50_us / 1e3,
                s.p99_us / 1e3
            ),
            None => "— | — | —".into(),
        };
        let rss = point
            .rss_kib
            .map_or_else(|| "—".into(), |k| format!("{:.1}", k as f64 / 1024.0));
        let per = point
            .bytes_per_session
            .map_or_else(|| "—".into(), thousands);
        let store = point.candidate.rsplit(' ').next().unwrap_or_default();
        let note = point
            .note
            .as_ref()
            .map_or_else(String::new, |n| format!(" ({n})"));
        let _ = writeln!(
            out,
            "| {store}{note} | {} | {} | {} | {rss} | {per} |",
            thousands(f64::from(point.sessions)),
            route(0),
            route(1)
        );
    }
    out
}

/// `a / b` as `0.87×`, or `—`.
pub fn ratio(a: f64, b: Option<f64>) -> String {
    match b {
        Some(b) if b > 0.0 && a.is_finite() => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

/// `75123.4` as `75,123`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(rps: f64, cpu_us: f64) -> Stats {
        Stats {
            rps,
            p50_us: 250.0,
            p99_us: 1500.0,
            cpu_us,
            store_cpu_us: None,
            errors: 0,
            rounds: 3,
        }
    }

    #[test]
    fn renders_rows_ratios_notes_and_targets() {
        let paths = super::super::candidates::test_paths();
        let mut rows: Vec<Row> = super::super::candidates::all(&paths)
            .into_iter()
            .map(|candidate| Row {
                candidate,
                set_cookie_bytes: Some(85),
                stats: Default::default(),
                note: None,
            })
            .collect();
        rows[0].stats[0] = [Some(stats(40_000.0, 8.0)), Some(stats(40_000.0, 8.0))];
        rows[1].stats[0] = [Some(stats(30_000.0, 10.5)), None];
        rows[1].stats[1] = [Some(stats(20_000.0, 12.0)), None];
        let sqlite = rows
            .iter()
            .position(|r| r.candidate.name == "flagon-axum --store sqlite")
            .unwrap();
        rows[sqlite].stats[1] = [Some(stats(10_000.0, 80.0)), None];
        let mut owned = super::super::candidates::owned(&paths)
            .into_iter()
            .find(|c| c.name == "flagon-axum --store sqlite --owned")
            .map(|candidate| Row {
                candidate,
                set_cookie_bytes: Some(107),
                stats: Default::default(),
                note: None,
            })
            .unwrap();
        owned.stats[1] = [Some(stats(9_000.0, 85.5)), None];
        rows.push(owned);
        rows[2].note = Some("exited at start".into());
        let meta = Meta {
            mode: "quick".into(),
            date: "today".into(),
            commit: "abc".into(),
            cpu: "cpu".into(),
            rounds: 3,
            seconds: 1,
            connections: 32,
            sessions: 10_000,
            load: "1 1 1".into(),
            elapsed_s: 42,
        };
        let scaling = [Point {
            candidate: "flagon-axum --store sqlite".into(),
            sessions: 100_000,
            stats: [Some(stats(9_000.0, 20.0)), None],
            rss_kib: Some(2048),
            bytes_per_session: Some(180.4),
            note: None,
        }];
        let text = render(&meta, &rows, &scaling, None, Some("latest.svg"));
        assert!(
            text.contains(
                "| bare-axum | /counter | 40,000 | 0.25 | 1.50 | 8.0 | — | — | — | 1.00× | 1.33× |"
            ),
            "{text}"
        );
        assert!(text.contains("| flagon-axum | /counter | 30,000 | 0.25 | 1.50 | 10.5 | +2.5 | — | 85 | 0.75× | 1.00× |"), "{text}");
        assert!(
            !text.contains("| flagon-axum | /read"),
            "no row without numbers"
        );
        assert!(text.contains(&format!("- `{}`: exited at start", rows[2].candidate.name)));
        assert!(text.contains("load runs took 42 s") && text.contains("## Targets"));
        assert!(text.contains("## 10,000 sessions") && text.contains("![req/s"));
        assert!(
            text.contains("| sqlite | /counter | 10,000 | 9,000 | 80.0 | 85.5 | +5.5 | — | — |"),
            "{text}"
        );
        assert!(
            text.contains("| flagon-axum | /counter | 20,000 | 0.25 | 1.50 | 12.0 | — |"),
            "the many-sessions table has its own numbers (no bare server there): {text}"
        );
        assert!(
            text.contains("| sqlite | 100,000 | 9,000 | 0.25 | 1.50 | — | — | — | 2.0 | 180 |"),
            "{text}"
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(thousands(75123.4), "75,123");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(ratio(1.0, Some(4.0)), "0.25×");
        assert_eq!(ratio(1.0, None), "—");
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
