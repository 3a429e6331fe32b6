//! The request facts Flask-Login reads (client address, user agent, remember cookie),
//! the session identifier made from them, and the remember cookie's text format.

use std::fmt;
use std::net::IpAddr;

use sha2::{Digest, Sha512};

use super::{ClientAddress, LoginConfig};
use crate::key::Key;

/// What Flask-Login looks at in a request, gathered once per request.
///
/// The adapters build it for you; build it yourself with [`Client::from_headers`] (or
/// [`Client::new`]) when you call the functions of [`flask_login`](super) directly.
/// `Debug` never shows the remember cookie.
#[derive(Clone, Default)]
pub struct Client {
    /// The address as Flask-Login would see it, raw header bytes; `None` prints "None".
    address: Option<Vec<u8>>,
    /// The raw `User-Agent` bytes, if the header is there.
    user_agent: Option<Vec<u8>>,
    /// Every non-empty value of the remember cookie, in request order.
    remember_cookies: Vec<Vec<u8>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field(
                "address",
                &self.address.as_deref().map(String::from_utf8_lossy),
            )
            .field(
                "user_agent",
                &self.user_agent.as_deref().map(String::from_utf8_lossy),
            )
            .field("remember_cookies", &self.remember_cookies.len())
            .finish()
    }
}

impl Client {
    /// A client with this address and `User-Agent` (raw header bytes) and no remember
    /// cookie. `None` stands for a missing address or header, as in Flask-Login.
    pub fn new(address: Option<&str>, user_agent: Option<&[u8]>) -> Client {
        Client {
            address: address.map(|a| a.as_bytes().to_vec()),
            user_agent: user_agent.map(<[u8]>::to_vec),
            remember_cookies: Vec::new(),
        }
    }

    /// The same client, carrying `value` as its remember cookie (as the browser sent it).
    pub fn with_remember_cookie(mut self, value: impl Into<Vec<u8>>) -> Client {
        let value = value.into();
        if !value.is_empty() {
            self.remember_cookies.push(value);
        }
        self
    }

    /// Reads a request's headers the way `config` says: the client address (see
    /// [`ClientAddress`]), `User-Agent` and the remember cookie. `peer` is the socket's
    /// remote address, when the server knows it.
    pub fn from_headers(
        headers: &http::HeaderMap,
        peer: Option<IpAddr>,
        config: &LoginConfig,
    ) -> Client {
        Client::read(
            |name| headers.get(name).map(http::HeaderValue::as_bytes),
            headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(|v| v.as_bytes()),
            peer,
            config,
        )
    }

    /// [`from_headers`](Self::from_headers) over any header map: `header(name)` gives the
    /// first field of a header, `cookies` every `Cookie` field.
    pub(crate) fn read<'h>(
        header: impl Fn(&str) -> Option<&'h [u8]>,
        cookies: impl Iterator<Item = &'h [u8]>,
        peer: Option<IpAddr>,
        config: &LoginConfig,
    ) -> Client {
        let from_header = |name: &str| header(name).map(|value| first_entry(value).to_vec());
        let peer = peer.map(|ip| ip.to_string().into_bytes());
        let address = match &config.client_address {
            ClientAddress::FlaskLogin => from_header("x-forwarded-for").or(peer),
            ClientAddress::Peer => peer,
            ClientAddress::Header(name) => from_header(name.as_str()).or(peer),
        };
        let name = config.cookie.get_cookie_name().as_bytes();
        Client {
            address,
            user_agent: header("user-agent").map(<[u8]>::to_vec),
            remember_cookies: crate::cookie::candidates(cookies, name)
                .map(<[u8]>::to_vec)
                .collect(),
        }
    }

    /// Did the request carry a remember cookie (`cookie_name in request.cookies`)?
    pub fn has_remember_cookie(&self) -> bool {
        !self.remember_cookies.is_empty()
    }

    /// The user id of the first remember cookie that verifies under `key`.
    pub(crate) fn remembered_user(&self, key: &Key) -> Option<String> {
        self.remember_cookies
            .iter()
            .find_map(|raw| decode_remember_cookie(key, &unquote(raw)?))
    }

    /// Flask-Login's session identifier (`_create_identifier`): SHA-512 hex of
    /// `"{address}|{user_agent}"`, where each part is written the way Python prints a
    /// `bytes` object (`b'127.0.0.1'`), or `None` when it is missing.
    pub fn session_identifier(&self) -> String {
        let mut base = Vec::with_capacity(64);
        py_bytes_repr(self.address.as_deref(), &mut base);
        base.push(b'|');
        py_bytes_repr(self.user_agent.as_deref(), &mut base);
        to_hex(&Sha512::digest(&base))
    }
}

/// The first comma-separated entry, without ASCII whitespace around it, as Flask-Login
/// cuts `X-Forwarded-For`.
fn first_entry(value: &[u8]) -> &[u8] {
    let first = value.split(|&b| b == b',').next().unwrap_or_default();
    first.trim_ascii()
}

/// Appends Python's `repr()` of `raw.decode("latin-1").encode("utf-8")`, or `None`.
///
/// Werkzeug hands header values over as Latin-1 text and Flask-Login encodes them as
/// UTF-8 before formatting, so a byte 0xE9 arrives as the two bytes `\xc3\xa9`.
fn py_bytes_repr(raw: Option<&[u8]>, out: &mut Vec<u8>) {
    let Some(raw) = raw else {
        out.extend_from_slice(b"None");
        return;
    };
    let mut bytes = Vec::with_capacity(raw.len());
    for &b in raw {
        if b < 0x80 {
            bytes.push(b);
        } else {
            bytes.push(0xC0 | (b >> 6));
            bytes.push(0x80 | (b & 0x3F));
        }
    }
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push(b'b');
    out.push(quote);
    for b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ if b == quote => out.extend_from_slice(&[b'\\', b]),
            0x20..0x7F => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(quote);
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Flask-Login's `encode_cookie`: `"{user_id}|{digest}"`, the digest being HMAC-SHA512
/// of the UTF-8 user id keyed with the secret key itself, in lower-case hex.
///
/// This is the cookie's value before Werkzeug's quoting (see the module docs).
///
/// ```
/// use flagon::{flask_login, Key};
/// let key = Key::new("interop secret")?;
/// let cookie = flask_login::encode_remember_cookie(&key, "42");
/// assert!(cookie.starts_with("42|") && cookie.len() == 3 + 128);
/// assert_eq!(flask_login::decode_remember_cookie(&key, &cookie).as_deref(), Some("42"));
/// # Ok::<(), flagon::ConfigError>(())
/// ```
pub fn encode_remember_cookie(key: &Key, user_id: &str) -> String {
    format!("{user_id}|{}", key.remember_digest(user_id.as_bytes()))
}

/// Flask-Login's `decode_cookie`: the user id when the digest after the last `|`
/// verifies (constant-time comparison), else `None`.
pub fn decode_remember_cookie(key: &Key, value: &str) -> Option<String> {
    let (user_id, digest) = value.rsplit_once('|')?;
    key.verify_remember_digest(user_id.as_bytes(), digest.as_bytes())
        .then(|| user_id.to_owned())
}

/// Werkzeug's cookie quoting (`dump_cookie`): a value with characters outside its safe
/// set is sent in double quotes, with `"` and `\` backslash-escaped and bytes 0-0x19, `,`,
/// `;` and non-ASCII bytes as three-digit octal escapes.
pub(crate) fn quote(value: &str) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"_!#$%&'()*+-./:<=>?@[]^`{|}~".contains(&b);
    if value.bytes().all(safe) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for b in value.bytes() {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x00..=0x19 | b',' | b';' | 0x7F.. => out.push_str(&format!("\\{b:03o}")),
            _ => out.push(char::from(b)),
        }
    }
    out.push('"');
    out
}

/// Werkzeug's reading of a cookie value: outer double quotes already gone (see
/// `cookie::candidates`), `\ooo` and `\x` escapes undone, then UTF-8. `None` when the
/// result is not UTF-8.
fn unquote(raw: &[u8]) -> Option<String> {
    if !raw.contains(&b'\\') {
        return String::from_utf8(raw.to_vec()).ok();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match &raw[i..] {
            [b'\\', a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7', ..] => {
                out.push(((a - b'0') << 6) | ((b - b'0') << 3) | (c - b'0'));
                i += 4;
            }
            [b'\\', next, ..] => {
                out.push(*next);
                i += 2;
            }
            [b, ..] => {
                out.push(*b);
                i += 1;
            }
            [] => break,
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(raw: Option<&[u8]>) -> String {
        let mut out = Vec::new();
        py_bytes_repr(raw, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bytes_repr_follows_python() {
        assert_eq!(repr(None), "None");
        assert_eq!(repr(Some(b"127.0.0.1")), "b'127.0.0.1'");
        assert_eq!(repr(Some(b"")), "b''");
        assert_eq!(repr(Some(b"it's")), "b\"it's\"");
        assert_eq!(repr(Some(b"it's \"x\"")), "b'it\\'s \"x\"'");
        assert_eq!(
            repr(Some(b"a\\b\t\r\n\x01\x7f")),
            "b'a\\\\b\\t\\r\\n\\x01\\x7f'"
        );
        assert_eq!(repr(Some(b"caf\xe9")), "b'caf\\xc3\\xa9'");
    }

    #[test]
    fn forwarded_for_takes_the_first_entry() {
        assert_eq!(first_entry(b" 10.0.0.1 , 10.0.0.2"), b"10.0.0.1");
        assert_eq!(first_entry(b""), b"");
        assert_eq!(first_entry(b",x"), b"");
    }

    #[test]
    fn identifier_matches_flask_login() {
        // Made with Flask-Login 0.6.3's _create_identifier in a test request context:
        // X-Forwarded-For "10.1.2.3, 10.9.9.9" and User-Agent "flagon-test/1.0"...
        let client = Client::new(Some("10.1.2.3"), Some(b"flagon-test/1.0"));
        assert_eq!(
            client.session_identifier(),
            "ac052da9c53e7f4c68767c59cca4cc371a18027c8e9639401002f24db948cb4185342147177d7367aa663e41034edbf7f8a1f490140b18ebeaa3a43b7b37b26f"
        );
        // ...REMOTE_ADDR "::1" and a Latin-1 User-Agent with a quote...
        let client = Client::new(Some("::1"), Some(b"caf\xe9 it's"));
        assert_eq!(
            client.session_identifier(),
            "8370922fc85674b8e1fcbb85e1a04fb409e9ad0a7b02386f1c3e298b5cf5c57b41bb76cbb33e50f33d887941881c491e24341ddd18b0eed04be79d7dc4e654a0"
        );
        // ...and hashlib.sha512(b"None|None") for neither.
        assert_eq!(
            Client::new(None, None).session_identifier(),
            "892f7fec2c15835660cba1324da22125e167e65bbe5de394d486a744c2c07be014719895f627ec258b1ab0de00d8e2b5bc9bb4e29a7e3c78329d9d2051ec0e84"
        );
    }

    #[test]
    fn remember_cookie_vector_from_flask_login() {
        // Flask-Login 0.6.3 encode_cookie("42") with SECRET_KEY "interop secret".
        let key = Key::new("interop secret").unwrap();
        assert_eq!(encode_remember_cookie(&key, "42"), REMEMBER_VECTOR);
        assert_eq!(
            decode_remember_cookie(&key, REMEMBER_VECTOR).as_deref(),
            Some("42")
        );
    }

    const REMEMBER_VECTOR: &str = "42|681b32bef9f434212e0a481f0615024442fbe80a74db193c07a157c61bec02cea154512a762f42133d99c96eda34f4853ac34d6b48e1f39aca6af9ebe11569ff";

    #[test]
    fn forged_and_malformed_remember_cookies_are_refused() {
        let key = Key::new("interop secret").unwrap();
        let other = Key::new("another secret").unwrap();
        let good = encode_remember_cookie(&key, "42");
        assert_eq!(decode_remember_cookie(&other, &good), None);
        let forged = good.replacen("42|", "43|", 1);
        assert_eq!(decode_remember_cookie(&key, &forged), None);
        for bad in ["", "42", "|", "42|", "42|zz", "42|\u{e9}"] {
            assert_eq!(decode_remember_cookie(&key, bad), None, "{bad:?}");
        }
        // the id may itself hold '|': the digest is after the last one
        let piped = encode_remember_cookie(&key, "a|b");
        assert_eq!(decode_remember_cookie(&key, &piped).as_deref(), Some("a|b"));
    }

    #[test]
    fn werkzeug_quoting_round_trips() {
        assert_eq!(quote("42|abc"), "42|abc");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(
            quote("a\"b\\c;d,\u{e9}"),
            "\"a\\\"b\\\\c\\073d\\054\\303\\251\""
        );
        for id in ["42|abc", "a b", "a\"b\\c;d,\u{e9}"] {
            let quoted = quote(id);
            let inner = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or(&quoted);
            assert_eq!(unquote(inner.as_bytes()).as_deref(), Some(id));
        }
        assert_eq!(unquote(b"\\377"), None);
    }

    #[test]
    fn debug_hides_the_remember_cookie() {
        let client = Client::new(Some("1.2.3.4"), None).with_remember_cookie("42|secretdigest");
        let shown = format!("{client:?}");
        assert!(!shown.contains("secretdigest"), "{shown}");
        assert!(client.has_remember_cookie());
    }
}
