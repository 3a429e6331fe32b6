//! F-SETCOOKIE: configuration strings → `SessionConfig::validate` → the `Set-Cookie`
//! values a layer sends (a write and a deletion), parsed back by a parser of our own.
//!
//! Oracle: `validate` refuses exactly what a model of the rules refuses (SECURITY.md F5,
//! F6), and an accepted configuration gives header values of printable ASCII that parse
//! back to exactly the configured attributes and no others, in Werkzeug's form (port and
//! leading dots dropped from the domain, the path percent-encoded as Werkzeug's `quote`).

use flagon::fuzz_hooks::set_cookie;
use flagon::{Key, SameSite, SessionConfig};

/// The latest instant an `Expires` attribute can name (9999-12-31T23:59:59Z): later
/// expiry times are written as this one.
pub const LAST_EXPIRES: u64 = 253_402_300_799;

/// One generated configuration.
#[derive(Clone, Debug)]
pub struct CookieCase {
    /// Cookie name.
    pub name: String,
    /// `Domain` setting.
    pub domain: Option<String>,
    /// `Path` setting.
    pub path: String,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `Partitioned`.
    pub partitioned: bool,
    /// `SameSite`.
    pub same_site: Option<SameSite>,
    /// The cookie value written (base64url and dots, as flagon's values are).
    pub value: String,
    /// The expiry time given to the writer, if any.
    pub expires: Option<u64>,
}

/// Reads the next length-prefixed chunk.
fn chunk<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let len =
        usize::from(data.first().copied().unwrap_or(0) % 48).min(data.len().saturating_sub(1));
    let out = data.get(1..1 + len).unwrap_or_default();
    *data = data.get(1 + len..).unwrap_or_default();
    out
}

/// Byte 0: flags (secure, http_only, partitioned, domain present, expires present,
/// SameSite in bits 5–6, "names from a list" in bit 7); bytes 1..9: expiry (see below); then
/// length-prefixed name, domain, path and value.
pub fn cookie_case(data: &[u8]) -> CookieCase {
    let flags = data.first().copied().unwrap_or(0);
    let mut rest = data.get(1..).unwrap_or_default();
    let mut be = [0u8; 8];
    let n = rest.len().min(8);
    be[..n].copy_from_slice(&rest[..n]);
    rest = &rest[n..];
    let raw_name = chunk(&mut rest);
    let name = if flags & 128 != 0 {
        const KNOWN: [&str; 6] = [
            "session",
            "__Host-session",
            "__Secure-s",
            "__Host-",
            "sid",
            "s",
        ];
        KNOWN[usize::from(raw_name.first().copied().unwrap_or(0)) % KNOWN.len()].to_owned()
    } else {
        String::from_utf8_lossy(raw_name).into_owned()
    };
    let domain = String::from_utf8_lossy(chunk(&mut rest)).into_owned();
    let path = String::from_utf8_lossy(chunk(&mut rest)).into_owned();
    const VALUE: &[u8; 65] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    let value = chunk(&mut rest)
        .iter()
        .map(|b| char::from(VALUE[usize::from(*b) % VALUE.len()]))
        .collect();
    CookieCase {
        name,
        domain: (flags & 8 != 0).then_some(domain),
        path,
        secure: flags & 1 != 0,
        http_only: flags & 2 != 0,
        partitioned: flags & 4 != 0,
        same_site: match (flags >> 5) & 3 {
            0 => None,
            1 => Some(SameSite::Strict),
            2 => Some(SameSite::Lax),
            _ => Some(SameSite::None),
        },
        value,
        // With the top bit set the expiry is taken as it is (far beyond year 9999);
        // otherwise it is a time HTTP dates can name, so the date writer is exercised.
        expires: (flags & 16 != 0).then(|| {
            let raw = u64::from_be_bytes(be);
            if raw >> 63 == 1 {
                raw
            } else {
                raw % (LAST_EXPIRES + 1)
            }
        }),
    }
}

fn is_tchar(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z') || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Should `validate` accept this configuration? The rules of SECURITY.md F5 and F6.
pub fn model_valid(case: &CookieCase) -> bool {
    let secure = case.secure || case.partitioned;
    let name_ok = !case.name.is_empty() && case.name.bytes().all(is_tchar);
    let domain_ok = case.domain.as_deref().is_none_or(|d| {
        d.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b';' && b != b',')
    });
    let secure_prefix = !case.name.starts_with("__Secure-") || secure;
    let host_prefix =
        !case.name.starts_with("__Host-") || (secure && case.path == "/" && case.domain.is_none());
    let same_site = case.same_site != Some(SameSite::None) || secure;
    name_ok && domain_ok && secure_prefix && host_prefix && same_site
}

/// Werkzeug's `quote(path, safe="%!$&'()*+,/:=@")` over UTF-8.
pub fn werkzeug_quote(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || "-._~%!$&'()*+,/:=@".as_bytes().contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One `Set-Cookie` value taken apart: name, value, and attributes in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Cookie name.
    pub name: String,
    /// Cookie value.
    pub value: String,
    /// `(attribute, value)`; flags have `None`.
    pub attributes: Vec<(String, Option<String>)>,
}

/// Parses `name=value(; attr[=value])*`, insisting on exactly one space after each `;`.
pub fn parse_set_cookie(header: &str) -> Result<Parsed, String> {
    if let Some(bad) = header.bytes().find(|b| !(0x20..=0x7e).contains(b)) {
        return Err(format!("byte {bad:#04x} is not printable ASCII"));
    }
    let mut parts = header.split(';');
    let first = parts.next().unwrap_or_default();
    let (name, value) = first.split_once('=').ok_or("no '=' in the first pair")?;
    let mut attributes = Vec::new();
    for part in parts {
        let part = part.strip_prefix(' ').ok_or("attribute not after '; '")?;
        if part.starts_with(' ') || part.is_empty() {
            return Err(format!("attribute {part:?} is empty or has extra space"));
        }
        match part.split_once('=') {
            Some((k, v)) => attributes.push((k.to_owned(), Some(v.to_owned()))),
            None => attributes.push((part.to_owned(), None)),
        }
    }
    Ok(Parsed {
        name: name.to_owned(),
        value: value.to_owned(),
        attributes,
    })
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as Unix seconds, the weekday checked.
pub fn parse_imf_fixdate(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 29 || &text[3..5] != ", " || &text[25..] != " GMT" {
        return None;
    }
    let num = |s: &str| -> Option<u64> {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let day = num(&text[5..7])?;
    let month = MONTHS.iter().position(|m| *m == &text[8..11])? as u64 + 1;
    let year = num(&text[12..16])?;
    let (h, m, s) = (
        num(&text[17..19])?,
        num(&text[20..22])?,
        num(&text[23..25])?,
    );
    if &text[7..8] != " " || &text[11..12] != " " || &text[16..17] != " " {
        return None;
    }
    if &text[19..20] != ":" || &text[22..23] != ":" || h > 23 || m > 59 || s > 59 {
        return None;
    }
    if year < 1970 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // Whole years since 1970 (leap days counted by the Gregorian rule), then months.
    let before = |y: u64| y / 4 - y / 100 + y / 400;
    let mut days = (year - 1970) * 365 + before(year - 1) - before(1969);
    days += (1..month).map(|mo| days_in_month(year, mo)).sum::<u64>();
    days += day - 1;
    if DAYS[(days % 7) as usize] != &text[..3] {
        return None;
    }
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

fn leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The configuration the case describes (not yet validated).
pub fn config_of(case: &CookieCase) -> SessionConfig {
    SessionConfig::new(Key::new("set-cookie fuzz key").expect("not empty"))
        .cookie_name(case.name.clone())
        .domain(case.domain.as_deref())
        .path(case.path.clone())
        .secure(case.secure)
        .http_only(case.http_only)
        .partitioned(case.partitioned)
        .same_site(case.same_site)
}

/// The attributes the configuration asks for, in Werkzeug's order, with `expires`.
fn expected_attributes(
    case: &CookieCase,
    expires: Option<&str>,
    max_age_zero: bool,
) -> Vec<(String, Option<String>)> {
    let mut want = Vec::new();
    let attr = |k: &str, v: Option<String>| (k.to_owned(), v);
    if let Some(domain) = &case.domain {
        let host = domain.split(':').next().unwrap_or_default();
        want.push(attr(
            "Domain",
            Some(host.trim_start_matches('.').to_owned()),
        ));
    }
    if let Some(expires) = expires {
        want.push(attr("Expires", Some(expires.to_owned())));
    }
    if max_age_zero {
        want.push(attr("Max-Age", Some("0".to_owned())));
    }
    if case.secure || case.partitioned {
        want.push(attr("Secure", None));
    }
    if case.http_only {
        want.push(attr("HttpOnly", None));
    }
    want.push(attr("Path", Some(werkzeug_quote(&case.path))));
    if let Some(same_site) = case.same_site {
        let text = match same_site {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        };
        want.push(attr("SameSite", Some(text.to_owned())));
    }
    if case.partitioned {
        want.push(attr("Partitioned", None));
    }
    want
}

/// F-SETCOOKIE oracle (see the module docs).
pub fn check_set_cookie(data: &[u8]) {
    let case = cookie_case(data);
    let config = config_of(&case);
    let valid = config.validate().is_ok();
    assert_eq!(
        valid,
        model_valid(&case),
        "validate disagrees with the rules: {case:?}"
    );
    if !valid {
        return;
    }
    let (write, deletion) = set_cookie(&config, &case.value, case.expires);
    let parsed = parse_set_cookie(&write).unwrap_or_else(|e| panic!("{e}: {write:?}"));
    assert_eq!(
        (parsed.name.as_str(), parsed.value.as_str()),
        (case.name.as_str(), case.value.as_str()),
        "{write:?}"
    );
    let expires_text = parsed
        .attributes
        .iter()
        .find(|(k, _)| k == "Expires")
        .and_then(|(_, v)| v.clone());
    if let Some(expires) = case.expires {
        let text = expires_text
            .as_deref()
            .unwrap_or_else(|| panic!("no Expires: {write:?}"));
        assert_eq!(
            parse_imf_fixdate(text),
            Some(expires.min(LAST_EXPIRES)),
            "{write:?}"
        );
    }
    let want = expected_attributes(&case, expires_text.as_deref(), false);
    assert_eq!(parsed.attributes, want, "{write:?} for {case:?}");

    let parsed = parse_set_cookie(&deletion).unwrap_or_else(|e| panic!("{e}: {deletion:?}"));
    assert_eq!(
        (parsed.name.as_str(), parsed.value.as_str()),
        (case.name.as_str(), "")
    );
    let epoch = "Thu, 01 Jan 1970 00:00:00 GMT";
    let want = expected_attributes(&case, Some(epoch), true);
    assert_eq!(parsed.attributes, want, "{deletion:?} for {case:?}");
}
