//! A minimal HTTP/1.1 client for the few requests the runner makes itself: readiness,
//! the workload check and fetching the session cookie.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// An answer: status, `Set-Cookie` header values and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Every `Set-Cookie` value, in order.
    pub set_cookies: Vec<String>,
    /// Body as text.
    pub body: String,
}

impl Answer {
    /// Bytes of all `Set-Cookie` values together.
    pub fn set_cookie_bytes(&self) -> usize {
        self.set_cookies.iter().map(String::len).sum()
    }
}

/// `GET path` on 127.0.0.1:`port` with `Connection: close`, sending `cookie` if given.
pub fn get(port: u16, path: &str, cookie: Option<&str>) -> io::Result<Answer> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(cookie) = cookie {
        request.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed HTTP answer"))
}

fn parse(raw: &[u8]) -> Option<Answer> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut set_cookies = Vec::new();
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("set-cookie") {
            set_cookies.push(value.to_owned());
        } else if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
            chunked = true;
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Some(Answer {
        status,
        set_cookies,
        body,
    })
}

fn dechunk(mut rest: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}

/// The cookies a client holds, updated from `Set-Cookie` like a browser would (a cookie
/// with `Max-Age=0` or an empty value is removed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    /// Takes in the cookies of `answer`.
    pub fn update(&mut self, answer: &Answer) {
        for header in &answer.set_cookies {
            let pair = header.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let removed = value.is_empty() || header.to_ascii_lowercase().contains("max-age=0");
            if removed {
                self.0.remove(name.trim());
            } else {
                self.0
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    /// The `Cookie` header value, or `None` when the jar is empty.
    pub fn header(&self) -> Option<String> {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_cookies_and_chunked_bodies() {
        let raw = b"HTTP/1.1 200 OK\r\nset-cookie: session=abc; Path=/; HttpOnly\r\n\
            Set-Cookie: other=1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n1\r\n!\r\n0\r\n\r\n";
        let answer = parse(raw).unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "[]!");
        assert_eq!(answer.set_cookies.len(), 2);
        assert_eq!(
            answer.set_cookie_bytes(),
            "session=abc; Path=/; HttpOnly".len() + 7
        );
    }

    #[test]
    fn jar_follows_set_cookie_and_deletion() {
        let mut jar = Jar::default();
        assert_eq!(jar.header(), None);
        let answer = |cookies: &[&str]| Answer {
            status: 200,
            set_cookies: cookies.iter().map(|c| c.to_string()).collect(),
            body: String::new(),
        };
        jar.update(&answer(&["a=1; Path=/", "b=2"]));
        assert_eq!(jar.header().as_deref(), Some("a=1; b=2"));
        jar.update(&answer(&["a=; Max-Age=0", "b=3; Max-Age=3600"]));
        assert_eq!(jar.header().as_deref(), Some("b=3"));
    }
}
