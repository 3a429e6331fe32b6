//! JSON text as Flask writes it: `json.dumps(..., separators=(",", ":"),
//! ensure_ascii=True)` with Python's escapes (`\"` `\\` `\n` `\r` `\t` `\b` `\f`, else
//! lower-case `\u00XX`, surrogate pairs above U+FFFF, `/` left alone) and Python's float
//! `repr`. Objects and tags are walked in `tagged.rs`.

use std::fmt::Write as _;

/// Appends `s` as a JSON string the way `json.dumps(ensure_ascii=True)` writes it.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if matches!(b, b' '..=b'~') && b != b'"' && b != b'\\' {
            i += 1;
            continue;
        }
        // `i` is at an ASCII byte or the first byte of a character: a char boundary.
        out.push_str(s.get(run..i).unwrap_or_default());
        let c = s
            .get(i..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or('\0');
        i += c.len_utf8();
        run = i;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

/// Appends an integer in decimal.
pub(crate) fn write_int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = i.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // ASCII digits only.
    if let Ok(digits) = std::str::from_utf8(&buf[at..]) {
        out.push_str(digits);
    }
}

/// Appends `x` as Python's `repr(float)` (and `json.dumps`) writes it.
///
/// Shortest round-trip digits; positional for 1e-4 ≤ |x| < 1e16 with at least one
/// fractional digit, otherwise `d.ddde±XX`; non-finite values as `NaN`, `Infinity`,
/// `-Infinity`.
pub(crate) fn write_float(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. `-1.5e-7`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    if let Some(even) = tie_to_even(x.abs(), &digits, exp) {
        digits = even;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        positional(out, &digits, exp);
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
    }
}

/// Python's `repr` (David Gay's shortest digits) settles a tie between two shortest
/// digit strings, equally far from the exact value, on the one ending in an even digit;
/// Rust's `{:e}` takes the upper one. `167216579459618.625` is `…618.62` in Python and
/// `…618.63` in Rust: both read back as the same float, but the bytes differ.
///
/// Returns the even neighbour when `digits` (the shortest digits of `ax`, decimal
/// exponent `exp`) is the odd side of such a tie.
fn tie_to_even(ax: f64, digits: &str, exp: i32) -> Option<String> {
    let k = digits.len();
    // Two k-digit strings can both read back as `ax` only when 10^-k is below its
    // relative spacing (2^-52): k ≥ 16. And an even last digit is already Python's.
    if k < 16 || digits.as_bytes()[k - 1].is_multiple_of(2) {
        return None;
    }
    // Exact digits well past where a non-tie shows a non-zero digit (the expansion's
    // granularity is about one ulp, within 20 significant digits).
    let exact = format!("{:.40e}", ax);
    let (mantissa, e) = exact.split_once('e')?;
    if e.parse::<i32>().ok()? != exp {
        return None;
    }
    let d: Vec<u8> = mantissa.bytes().filter(|&b| b != b'.').collect();
    if d[k] != b'5' || d[k + 1..].iter().any(|&b| b != b'0') {
        return None;
    }
    let mut even = d[..k].to_vec();
    if !even[k - 1].is_multiple_of(2) {
        if even[k - 1] == b'9' {
            return None;
        }
        even[k - 1] += 1;
    }
    let even = String::from_utf8(even).ok()?;
    let text = format!("{}.{}e{exp}", &even[..1], &even[1..]);
    (text.parse::<f64>().ok()? == ax).then_some(even)
}

/// `digits` × 10^(exp − len + 1) written without an exponent (−4 ≤ exp < 16).
fn positional(out: &mut String, digits: &str, exp: i32) {
    match usize::try_from(exp) {
        Ok(e) => {
            let int_len = e + 1;
            if digits.len() <= int_len {
                out.push_str(digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
        Err(_) => {
            out.push_str("0.");
            let zeros = usize::try_from(-exp - 1).unwrap_or(0);
            out.extend(std::iter::repeat_n('0', zeros));
            out.push_str(digits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flask::json::parse;
    use crate::value::{Map, Value};

    fn float(x: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, x);
        s
    }

    fn string(s: &str) -> String {
        let mut out = String::new();
        write_str(&mut out, s);
        out
    }

    fn p(text: &str) -> Value {
        parse(text.as_bytes(), 1, |m: Map| Ok(Value::Dict(m))).unwrap()
    }

    #[allow(clippy::excessive_precision)] // exact binary values: ties between two shortest forms
    #[test]
    fn float_repr_matches_python() {
        for (x, repr) in [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.5, "1.5"),
            (1e-7, "1e-07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345.6, "123456789012345.6"),
            (1.5e300, "1.5e+300"),
            (-2.5e-300, "-2.5e-300"),
            (std::f64::consts::PI, "3.141592653589793"),
            (1.0 / 3.0, "0.3333333333333333"),
            (0.1 + 0.2, "0.30000000000000004"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
            // Ties between two shortest digit strings go to the even one, as in Python.
            // Exactly 167216579459618.625 and 1427846223293148.25: halfway between two
            // 17-digit strings.
            (167_216_579_459_618.62, "167216579459618.62"),
            (1_427_846_223_293_148.2, "1427846223293148.2"),
            (12608847320941.562, "12608847320941.562"),
            (1611120372780842.8, "1611120372780842.8"),
            (1097864108483647.8, "1097864108483647.8"),
            (850883551102002.8, "850883551102002.8"),
            (753025398965400.2, "753025398965400.2"),
            (1104486134611103.2, "1104486134611103.2"),
            (278329546869471.62, "278329546869471.62"),
            (85573699638283.12, "85573699638283.12"),
            (-1215918441116548.2, "-1215918441116548.2"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(float(x), repr, "{x:?}");
            if x.is_finite() {
                assert_eq!(p(repr), Value::Float(x), "{repr}");
            }
        }
    }

    #[test]
    fn strings_escape_like_python() {
        assert_eq!(
            string("line\nbreak\ttab\rcr\u{8}bs\u{c}ff\0nul\u{1f}us\u{7f}del"),
            r#""line\nbreak\ttab\rcr\bbs\fff\u0000nul\u001fus\u007fdel""#
        );
        assert_eq!(string("\"q\" \\ /"), r#""\"q\" \\ /""#);
        assert_eq!(string("héllo😀"), r#""h\u00e9llo\ud83d\ude00""#);
        assert_eq!(
            string("\u{ff61}\u{feff}\u{2028}"),
            r#""\uff61\ufeff\u2028""#
        );
        assert_eq!(string(""), r#""""#);
        assert_eq!(string("a\u{e9}\"\u{10000}z"), r#""a\u00e9\"\ud800\udc00z""#);
    }

    #[test]
    fn ints_are_plain_decimal() {
        for i in [0, 7, -7, 10, 421_337, -1_000_000, i64::MAX, i64::MIN] {
            let mut s = String::new();
            write_int(&mut s, i);
            assert_eq!(s, i.to_string());
        }
    }
}
