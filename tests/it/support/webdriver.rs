//! Headless Chromium through chromedriver's WebDriver protocol: JSON over plain HTTP, so a
//! few lines over a `TcpStream` are the whole client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

/// The W3C key under which an element reference comes back.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one headless Chromium session in it.
pub(crate) struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: TempDir,
}

/// A directory removed on drop (Chromium's throwaway profile).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A cookie as the browser stored it.
#[derive(Debug)]
pub(crate) struct StoredCookie {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: String,
    pub(crate) expiry: Option<u64>,
}

fn find(program: &str, env: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

/// Skips loudly, or fails under CI, when the browser is missing.
fn unavailable<T>(why: &str) -> Option<T> {
    let message = format!(
        "browser unavailable: {why}. Install Debian's `chromium` and `chromium-driver` (as \
         .ci/run does), or set FLAGON_CHROMIUM / FLAGON_CHROMEDRIVER"
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}. CI is set, so this is a failure, not a skip.");
    }
    let banner = format!("\n!!!!!!!! SKIPPING browser test !!!!!!!!\n!!! {message}\n\n");
    let _ = std::io::stderr().write_all(banner.as_bytes());
    None
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile; `None` (after a
    /// loud message) when either is not installed.
    pub(crate) fn start() -> Option<Browser> {
        let Some(chromium) = find("chromium", "FLAGON_CHROMIUM") else {
            return unavailable("no `chromium` on PATH");
        };
        let Some(chromedriver) = find("chromedriver", "FLAGON_CHROMEDRIVER") else {
            return unavailable("no `chromedriver` on PATH");
        };
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = TempDir(
            std::env::temp_dir().join(format!("flagon-chromium-{}-{port}", std::process::id())),
        );
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        browser.wait_ready();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=800,600",
            &format!("--user-data-dir={}", browser._profile.0.display()),
        ];
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args},
            }}
        });
        let created = browser.call("POST", "/session", Some(capabilities));
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Some(browser)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(status) = http(self.port, "GET", "/status", None) {
                if status["value"]["ready"] == json!(true) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not become ready on port {}", self.port);
    }

    /// One WebDriver command; its `value`. Panics on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        let reply = http(self.port, method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let value = reply["value"].clone();
        if let Some(error) = value.get("error") {
            panic!("WebDriver {method} {path}: {error}: {}", value["message"]);
        }
        value
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body)
    }

    /// Opens `url` and waits for the page to load.
    pub(crate) fn open(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Types `text` into the element `css` selects.
    pub(crate) fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        let path = format!("/element/{element}/value");
        self.session_call("POST", &path, Some(json!({ "text": text })));
    }

    /// Clicks the element `css` selects (a submit button or a link) and waits until the
    /// next page has loaded: WebDriver's click may return before the navigation it
    /// starts has begun, and reading the page then would read the old one.
    pub(crate) fn click(&self, css: &str) {
        let element = self.element(css);
        let mark = json!({"script": "window.__flagonOldPage = true; return null", "args": []});
        self.session_call("POST", "/execute/sync", Some(mark));
        self.session_call(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
        let loaded = json!({
            "script": "return window.__flagonOldPage === undefined && document.readyState === 'complete'",
            "args": [],
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            // During the navigation the script may fail (no document yet): not loaded.
            let path = format!("/session/{}/execute/sync", self.session);
            let reply = http(self.port, "POST", &path, Some(loaded.clone()));
            if reply.is_ok_and(|r| r["value"] == json!(true)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css:?} loaded no new page within 15 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn element(&self, css: &str) -> String {
        let found = self.session_call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css:?}: {found}"))
            .to_owned()
    }

    /// The page's visible text.
    pub(crate) fn text(&self) -> String {
        let script = json!({"script": "return document.body.innerText", "args": []});
        let text = self.session_call("POST", "/execute/sync", Some(script));
        text.as_str().unwrap_or_default().trim().to_owned()
    }

    /// The page as a PNG.
    pub(crate) fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let encoded = self.session_call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 PNG"))
            .expect("a PNG")
    }

    /// The cookies the browser keeps for the current page.
    pub(crate) fn cookies(&self) -> Vec<StoredCookie> {
        let all = self.session_call("GET", "/cookie", None);
        all.as_array()
            .expect("a cookie list")
            .iter()
            .map(|c| StoredCookie {
                name: c["name"].as_str().unwrap_or_default().to_owned(),
                path: c["path"].as_str().unwrap_or_default().to_owned(),
                secure: c["secure"] == json!(true),
                http_only: c["httpOnly"] == json!(true),
                same_site: c["sameSite"].as_str().unwrap_or_default().to_owned(),
                expiry: c["expiry"].as_u64(),
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// One HTTP/1.1 request to chromedriver on 127.0.0.1; the JSON reply.
fn http(port: u16, method: &str, path: &str, body: Option<Json>) -> Result<Json, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open after its reply: read by Content-Length.
    let mut reply = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buffer).map_err(|e| e.to_string())?;
        reply.extend_from_slice(&buffer[..n]);
        let Some(split) = reply.windows(4).position(|w| w == b"\r\n\r\n") else {
            if n == 0 {
                return Err("connection closed before the headers ended".into());
            }
            continue;
        };
        let headers = String::from_utf8_lossy(&reply[..split]).to_ascii_lowercase();
        let content = &reply[split + 4..];
        let length = headers
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let complete = match length {
            Some(length) => content.len() >= length,
            None => n == 0,
        };
        if complete {
            let mut content = content[..length.unwrap_or(content.len())].to_vec();
            if headers.contains("transfer-encoding: chunked") {
                content = unchunk(&content)?;
            }
            return serde_json::from_slice(&content)
                .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&content)));
        }
        if n == 0 {
            return Err("connection closed before the body ended".into());
        }
    }
}

/// Decodes a chunked HTTP body.
fn unchunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .map_err(|e| e.to_string())?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("short chunk")?);
        data = data.get(size + 2..).ok_or("short chunk")?;
    }
}
