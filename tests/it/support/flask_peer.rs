//! A real Flask app (tests/flask/peer_app.py) in a child process, and a tiny blocking
//! HTTP client to talk to it.
//!
//! The interpreter is `$FLAGON_PYTHON` when set, else `<repo>/.venv/bin/python` (made by
//! `tests/flask/setup.sh`), else `python3`. When none of them can import Flask the peer
//! is skipped with a loud message, except under `CI`, where that is a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const STARTUP: Duration = Duration::from_secs(20);
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A running peer app; the process is killed when this is dropped.
#[derive(Debug)]
pub(crate) struct FlaskPeer {
    child: Child,
    port: u16,
}

/// One HTTP response from the peer.
#[derive(Debug)]
pub(crate) struct PeerReply {
    pub(crate) status: u16,
    /// Header names lower-cased, in the order received.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl PeerReply {
    /// Every value of header `name` (lower-case).
    pub(crate) fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of the `name=` cookie set by this response, if any.
    pub(crate) fn set_cookie_value(&self, name: &str) -> Option<String> {
        self.header_values("set-cookie").into_iter().find_map(|h| {
            let pair = h.split(';').next()?;
            let (n, v) = pair.split_once('=')?;
            (n.trim() == name).then(|| v.trim().to_owned())
        })
    }

    /// The body as JSON; panics with the body when it is not.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "peer replied {} with non-JSON ({e}): {}",
                self.status, self.body
            )
        })
    }
}

/// The Python to use, if it can import Flask: `$FLAGON_PYTHON` when set (and then only
/// that one), else the repo's `.venv`, else `python3`.
pub(crate) fn python() -> Option<PathBuf> {
    python_with("flask, itsdangerous, markupsafe")
}

/// [`python`] for a Python that can import `modules` (a comma-separated list).
pub(crate) fn python_with(modules: &str) -> Option<PathBuf> {
    let candidates = match std::env::var_os("FLAGON_PYTHON").filter(|p| !p.is_empty()) {
        Some(chosen) => vec![PathBuf::from(chosen)],
        None => vec![
            Path::new(REPO).join(".venv/bin/python"),
            PathBuf::from("python3"),
        ],
    };
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", &format!("import {modules}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// [`python`], or a loud skip (a panic under `CI`) when there is none.
pub(crate) fn python_or_skip() -> Option<PathBuf> {
    python().or_else(|| unavailable("no Python that can `import flask`"))
}

/// Skips loudly, or fails under CI where a skipped interop test hides a regression.
pub(crate) fn unavailable<T>(why: &str) -> Option<T> {
    let message = format!(
        "Flask peer unavailable: {why}. Run tests/flask/setup.sh (or set FLAGON_PYTHON to a \
         Python with the packages in tests/flask/requirements.txt)."
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message} CI is set, so this is a failure, not a skip.");
    }
    // Straight to the process's stderr: the test harness would swallow `eprintln!` of a
    // passing test, and a skip must be seen.
    let banner = format!("\n!!!!!!!! SKIPPING Flask interop test !!!!!!!!\n!!! {message}\n\n");
    let _ = std::io::stderr().write_all(banner.as_bytes());
    None
}

impl FlaskPeer {
    /// Starts `peer_app.py --port 0 --quiet <args>` and waits until it is serving.
    ///
    /// `None` (after a loud message) when Python or Flask is missing; panics under `CI`
    /// in that case, and always when the app itself fails to start.
    pub(crate) fn start(args: &[&str]) -> Option<FlaskPeer> {
        let python = python_or_skip()?;
        FlaskPeer::start_script(&python, "peer_app.py", args)
    }

    /// Starts `tests/flask/<script>` as [`start_script`](Self::start_script) does, after
    /// checking that Python can import `modules` as well as Flask (a loud skip if not).
    pub(crate) fn start_app(script: &str, modules: &[&str], args: &[&str]) -> Option<FlaskPeer> {
        let python = python_or_skip()?;
        if !modules.is_empty() {
            let import = format!("import {}", modules.join(", "));
            let found = Command::new(&python)
                .args(["-c", &import])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                return unavailable(&format!("{} cannot `{import}`", python.display()));
            }
        }
        FlaskPeer::start_script(&python, script, args)
    }

    /// Starts `tests/flask/<script> --port 0 --quiet <args>` with `python`, as
    /// [`start`](Self::start) does.
    pub(crate) fn start_script(python: &Path, script: &str, args: &[&str]) -> Option<FlaskPeer> {
        let script = Path::new(REPO).join("tests/flask").join(script);
        let mut all = vec!["--port", "0", "--quiet"];
        all.extend_from_slice(args);
        Some(FlaskPeer::start_program(python, &script, &all, &[]))
    }

    /// Starts `python script args` with `env` added to the environment and waits for its
    /// `port N` and `ready` lines; panics when it does not start.
    pub(crate) fn start_program(
        python: &Path,
        script: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> FlaskPeer {
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        match wait_ready(stdout) {
            Ok(port) => FlaskPeer { child, port },
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not start: {why}", script.display());
            }
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Sends one request; `headers` are extra `(name, value)` pairs.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> PeerReply {
        http_request(self.port, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path} to the Flask peer failed: {e}"))
    }

    /// `GET path`, with an optional `Cookie` header.
    pub(crate) fn get(&self, path: &str, cookie: Option<&str>) -> PeerReply {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
        self.request("GET", path, &headers, b"")
    }

    /// `method path` with a JSON body and an optional `Cookie` header.
    pub(crate) fn send_json(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: &serde_json::Value,
    ) -> PeerReply {
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend(cookie.map(|c| ("Cookie", c)));
        self.request(method, path, &headers, body.to_string().as_bytes())
    }
}

impl Drop for FlaskPeer {
    fn drop(&mut self) {
        // Child::kill targets exactly this process id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `port N` then `ready` from the child's stdout, with a deadline.
fn wait_ready(stdout: std::process::ChildStdout) -> Result<u16, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut port = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("port ") {
                port = n.trim().parse::<u16>().ok();
            } else if line.trim() == "ready" {
                let _ = tx.send(port.ok_or_else(|| "`ready` before a `port N` line".to_owned()));
                return;
            }
        }
        let _ = tx.send(Err("exited before printing `ready`".to_owned()));
    });
    rx.recv_timeout(STARTUP)
        .map_err(|_| format!("no `ready` within {STARTUP:?}"))?
}

/// HTTP/1.1 with `Connection: close` to 127.0.0.1:`port`: write the request, read to
/// EOF, split it up.
pub(crate) fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<PeerReply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed HTTP response")
    })
}

fn parse_response(raw: &[u8]) -> Option<PeerReply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(PeerReply {
        status,
        headers,
        body: String::from_utf8_lossy(&raw[split + 4..]).into_owned(),
    })
}
