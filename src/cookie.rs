//! Reading our cookie from `Cookie` headers and writing `Set-Cookie` headers.
//!
//! Both are small and exact on purpose: the rules for picking our cookie out of a hostile
//! header (SECURITY.md §6.A) and Werkzeug's attribute order are ours to get right, and a
//! general cookie crate would percent-decode, trim Unicode space, or reorder attributes.

use std::time::{Duration, UNIX_EPOCH};

use crate::config::SessionConfig;

/// Every value of the cookie called `name` in the given `Cookie` header fields, in order.
///
/// Names match byte for byte (case-sensitive, no quotes, no Unicode trimming); only ASCII
/// space and tab around names and values are trimmed; one pair of surrounding double
/// quotes is dropped from a value; empty values are skipped. Nothing is percent-decoded.
pub(crate) fn candidates<'h: 'n, 'n, I>(
    headers: I,
    name: &'n [u8],
) -> impl Iterator<Item = &'h [u8]> + 'n
where
    I: IntoIterator<Item = &'h [u8]>,
    I::IntoIter: 'n,
{
    headers
        .into_iter()
        .flat_map(|header| header.split(|&b| b == b';'))
        .filter_map(move |pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            (trim(&pair[..eq]) == name).then(|| unquote(trim(&pair[eq + 1..])))
        })
        .filter(|value| !value.is_empty())
}

fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

/// `Set-Cookie` values for one configuration, with everything but the value and the
/// expiry prepared once.
#[derive(Clone, Debug)]
pub(crate) struct CookieWriter {
    name: String,
    /// `; Domain=…` or empty.
    domain: String,
    /// `[; Secure][; HttpOnly]; Path=…[; SameSite=…][; Partitioned]`.
    tail: String,
    deletion: String,
}

impl CookieWriter {
    pub(crate) fn new(config: &SessionConfig) -> CookieWriter {
        let domain = config
            .domain
            .as_deref()
            .map(|d| {
                let host = d.split(':').next().unwrap_or_default();
                format!("; Domain={}", host.trim_start_matches('.'))
            })
            .unwrap_or_default();
        let mut tail = String::new();
        if config.secure || config.partitioned {
            tail.push_str("; Secure");
        }
        if config.http_only {
            tail.push_str("; HttpOnly");
        }
        tail.push_str("; Path=");
        tail.push_str(&encode_path(&config.path));
        if let Some(same_site) = config.same_site {
            tail.push_str("; SameSite=");
            tail.push_str(same_site.as_str());
        }
        if config.partitioned {
            tail.push_str("; Partitioned");
        }
        let deletion = format!(
            "{}={domain}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0{tail}",
            config.cookie_name
        );
        CookieWriter {
            name: config.cookie_name.clone(),
            domain,
            tail,
            deletion,
        }
    }

    /// `name=value[; Domain][; Expires]…` in Werkzeug's attribute order. `expires` is in
    /// Unix seconds; writes never carry `Max-Age`, as in Flask.
    pub(crate) fn set_cookie(&self, value: &str, expires: Option<u64>) -> String {
        let mut out = String::with_capacity(self.name.len() + value.len() + self.tail.len() + 48);
        self.write_set_cookie(&mut out, expires, |out| out.push_str(value));
        out
    }

    /// Appends a `Set-Cookie` value to `out`, with `write_value` writing the cookie's
    /// value in place.
    pub(crate) fn write_set_cookie(
        &self,
        out: &mut String,
        expires: Option<u64>,
        write_value: impl FnOnce(&mut String),
    ) {
        out.push_str(&self.name);
        out.push('=');
        write_value(out);
        out.push_str(&self.domain);
        if let Some(expires) = expires {
            out.push_str("; Expires=");
            // An HTTP date has four year digits: a later expiry (a lifetime of thousands
            // of years) is written as the last one instead of panicking in `httpdate`.
            let at = UNIX_EPOCH + Duration::from_secs(expires.min(LAST_HTTP_DATE));
            out.push_str(&httpdate::fmt_http_date(at));
        }
        out.push_str(&self.tail);
    }

    /// The cookie that deletes ours: empty value, epoch `Expires`, `Max-Age=0`, and the
    /// same attributes as a write so the browser matches it.
    pub(crate) fn deletion(&self) -> &str {
        &self.deletion
    }
}

/// 9999-12-31T23:59:59Z, the last instant an HTTP date can name.
const LAST_HTTP_DATE: u64 = 253_402_300_799;

/// Werkzeug's path quoting: everything but letters, digits and `-._~%!$&'()*+,/:=@` as `%XX`.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,/:=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SameSite;
    use crate::key::Key;

    fn found<'a>(headers: &[&'a str], name: &'a str) -> Vec<&'a str> {
        candidates(headers.iter().map(|h| h.as_bytes()), name.as_bytes())
            .map(|v| std::str::from_utf8(v).unwrap())
            .collect()
    }

    #[test]
    fn picks_our_cookie_exactly() {
        assert_eq!(found(&["a=1; session=v; b=2"], "session"), ["v"]);
        assert_eq!(found(&["session=A; session=B"], "session"), ["A", "B"]);
        assert_eq!(
            found(&["a=1", "session=B"], "session"),
            ["B"],
            "A5: split fields"
        );
        assert!(found(&["session=", "session", "=session=x"], "session").is_empty());
        assert!(found(&["\"session\"=x; SESSION=y; __host-s=z"], "session").is_empty());
        assert!(found(&["\u{a0}session=x"], "session").is_empty(), "A8");
        assert_eq!(found(&["session=\"v\""], "session"), ["v"], "A14");
        assert_eq!(found(&["session=%2Ev"], "session"), ["%2Ev"], "A15");
        assert_eq!(found(&[" \tsession =  v \t"], "session"), ["v"], "A16");
        assert_eq!(
            found(&["junk; o=%E0%A4%A; session=v"], "session"),
            ["v"],
            "A11"
        );
    }

    #[test]
    fn set_cookie_matches_werkzeug() {
        let flask = SessionConfig::flask(Key::new("k").unwrap());
        let w = CookieWriter::new(&flask);
        assert_eq!(w.set_cookie("V", None), "session=V; HttpOnly; Path=/");
        assert_eq!(
            w.set_cookie("V", Some(1_798_354_318)),
            "session=V; Expires=Sun, 27 Dec 2026 06:51:58 GMT; HttpOnly; Path=/"
        );
        assert_eq!(
            w.deletion(),
            "session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/"
        );
        let custom = SessionConfig::flask(Key::new("k").unwrap())
            .cookie_name("sid")
            .domain(Some(".ExAmple.com:5000"))
            .path("/a b;c")
            .same_site(Some(SameSite::Lax))
            .partitioned(true)
            .http_only(false);
        assert_eq!(
            CookieWriter::new(&custom).set_cookie("V", None),
            "sid=V; Domain=ExAmple.com; Secure; Path=/a%20b%3Bc; SameSite=Lax; Partitioned"
        );
    }

    #[test]
    fn expiry_beyond_year_9999_is_written_as_the_last_http_date() {
        let w = CookieWriter::new(&SessionConfig::flask(Key::new("k").unwrap()));
        for expires in [LAST_HTTP_DATE, LAST_HTTP_DATE + 1, u64::MAX] {
            assert_eq!(
                w.set_cookie("V", Some(expires)),
                "session=V; Expires=Fri, 31 Dec 9999 23:59:59 GMT; HttpOnly; Path=/"
            );
        }
    }

    #[test]
    fn secure_defaults_in_header() {
        let w = CookieWriter::new(&SessionConfig::new(Key::new("k").unwrap()));
        assert_eq!(
            w.set_cookie("V", None),
            "session=V; Secure; HttpOnly; Path=/; SameSite=Lax"
        );
    }
}
