//! Driving wrk and reading its report.

use std::path::Path;
use std::process::Command;

/// What one wrk run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct WrkResult {
    /// Requests completed.
    pub requests: u64,
    /// Requests per second over the run.
    pub rps: f64,
    /// Median latency in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
    /// Non-2xx/3xx answers plus socket errors (connect, write, timeout).
    pub errors: u64,
}

/// wrk's Lua script for the many-sessions workload: reads one `Cookie` header value per
/// line from the file named after `--`, then sends each request with one of them picked
/// at random (a fixed seed, so every candidate gets the same sequence).
pub const MANY_SESSIONS_LUA: &str = r#"local cookies = {}
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
  if #cookies == 0 then error("no cookies in " .. args[1]) end
  math.randomseed(20261130)
end
function request()
  return wrk.format(nil, nil, { ["Cookie"] = cookies[math.random(#cookies)] })
end
"#;

/// Where a load's cookies come from.
#[derive(Clone, Copy, Debug)]
pub enum Cookies<'a> {
    /// No cookie (a bare server).
    None,
    /// The same `Cookie` header value (a `name=value` pair) on every request.
    One(&'a str),
    /// One of the lines of `cookies`, at random per request, by the `script`
    /// ([`MANY_SESSIONS_LUA`]).
    Many {
        /// The Lua script file.
        script: &'a Path,
        /// The file of `Cookie` header values, one per line.
        cookies: &'a Path,
    },
}

/// One wrk load: `connections` connections on one thread for `seconds` seconds against
/// `http://127.0.0.1:port{path}`, with `cookies`.
#[derive(Clone, Debug)]
pub struct Load<'a> {
    /// Server port.
    pub port: u16,
    /// Route, such as `/counter`.
    pub path: &'a str,
    /// The cookies to send.
    pub cookies: Cookies<'a>,
    /// Duration in whole seconds (wrk takes no fractions).
    pub seconds: u64,
    /// Open connections.
    pub connections: u32,
}

impl Load<'_> {
    /// The command: `taskset -c 1 wrk -t1 -cN -dS --latency [-H Cookie | -s SCRIPT] URL
    /// [-- COOKIES]`.
    pub fn command(&self) -> Command {
        let mut command = Command::new("taskset");
        command.args(["-c", "1", "wrk", "-t1", "--latency"]);
        command.arg(format!("-c{}", self.connections));
        command.arg(format!("-d{}s", self.seconds.max(1)));
        command.arg(format!("--timeout={}s", self.seconds.max(1) + 2));
        match self.cookies {
            Cookies::None => {}
            Cookies::One(cookie) => {
                command.arg("-H").arg(format!("Cookie: {cookie}"));
            }
            Cookies::Many { script, .. } => {
                command.arg("-s").arg(script);
            }
        }
        command.arg(format!("http://127.0.0.1:{}{}", self.port, self.path));
        if let Cookies::Many { cookies, .. } = self.cookies {
            command.arg("--").arg(cookies);
        }
        command
    }
}

/// Parses wrk's report (run with `--latency`).
pub fn parse(output: &str) -> Result<WrkResult, String> {
    let mut requests = None;
    let mut rps = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut errors = 0;
    for line in output.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("50%"), Some(value)) => p50 = duration_us(value),
            (Some("99%"), Some(value)) => p99 = duration_us(value),
            (Some("Requests/sec:"), Some(value)) => rps = value.parse().ok(),
            (Some(count), Some("requests")) => requests = count.parse().ok(),
            _ if line.starts_with("Non-2xx or 3xx responses:") => {
                errors += last_number(line);
            }
            _ if line.starts_with("Socket errors:") => errors += socket_errors(line),
            _ => {}
        }
    }
    let missing = |what: &str| format!("wrk printed no {what}; its output was:\n{output}");
    Ok(WrkResult {
        requests: requests.ok_or_else(|| missing("request count"))?,
        rps: rps.ok_or_else(|| missing("Requests/sec"))?,
        p50_us: p50.ok_or_else(|| missing("50% latency"))?,
        p99_us: p99.ok_or_else(|| missing("99% latency"))?,
        errors,
    })
}

/// `290.00us`, `1.23ms`, `1.00s` or `2.00m` in microseconds.
fn duration_us(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(number * scale)
}

fn last_number(line: &str) -> u64 {
    line.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Connect, write and timeout errors. Read errors are left out: a server that closes
/// the connection after each answer (gunicorn's sync worker) shows up there.
fn socket_errors(line: &str) -> u64 {
    let counts = line.trim_start_matches("Socket errors:");
    counts
        .split(',')
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let kind = words.next()?;
            let count: u64 = words.next()?.parse().ok()?;
            (kind != "read").then_some(count)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 1s test @ http://127.0.0.1:8080/counter
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   420.61us  100.20us   3.12ms   90.00%
    Req/Sec    75.12k     2.01k   78.00k    80.00%
  Latency Distribution
     50%  410.00us
     75%  450.00us
     90%  500.00us
     99%    1.05ms
  74712 requests in 1.00s, 9.05MB read
  Socket errors: connect 0, read 12, write 1, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  74665.38
Transfer/sec:      9.04MB
";

    #[test]
    fn reads_throughput_latency_and_errors() {
        let result = parse(SAMPLE).unwrap();
        assert_eq!(result.requests, 74712);
        assert!((result.rps - 74665.38).abs() < 1e-6);
        assert!((result.p50_us - 410.0).abs() < 1e-9);
        assert!((result.p99_us - 1050.0).abs() < 1e-9);
        assert_eq!(result.errors, 4 + 1 + 2);
    }

    #[test]
    fn incomplete_output_is_an_error_that_shows_it() {
        let err = parse("unable to connect to 127.0.0.1:1 Connection refused").unwrap_err();
        assert!(err.contains("Connection refused"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_us("1.50s"), Some(1.5e6));
        assert_eq!(duration_us("2.00m"), Some(120e6));
        assert_eq!(duration_us("12"), None);
        assert_eq!(duration_us("3.0parsecs"), None);
    }

    #[test]
    fn command_pins_wrk_to_core_1_and_sends_the_cookie() {
        let load = Load {
            port: 9000,
            path: "/read",
            cookies: Cookies::One("session=abc"),
            seconds: 2,
            connections: 32,
        };
        let command = load.command();
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(command.get_program(), "taskset");
        assert_eq!(&args[..3], ["-c", "1", "wrk"]);
        assert!(args.contains(&"-c32".into()) && args.contains(&"-d2s".into()));
        assert!(args.contains(&"Cookie: session=abc".into()));
        assert_eq!(args.last().unwrap(), "http://127.0.0.1:9000/read");
    }

    #[test]
    fn many_sessions_run_the_script_with_the_cookie_file() {
        let load = Load {
            port: 9000,
            path: "/counter",
            cookies: Cookies::Many {
                script: Path::new("/s/many.lua"),
                cookies: Path::new("/s/x.cookies"),
            },
            seconds: 1,
            connections: 32,
        };
        let command = load.command();
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
        let tail = &args[args.len() - 5..];
        assert_eq!(
            tail,
            [
                "-s",
                "/s/many.lua",
                "http://127.0.0.1:9000/counter",
                "--",
                "/s/x.cookies"
            ]
        );
        assert!(!args.iter().any(|a| a.starts_with("Cookie")));
    }
}
