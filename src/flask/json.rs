//! JSON as Python's `json` module reads and writes it for Flask.
//!
//! Reading accepts what `json.loads` accepts: whitespace (space, tab, CR, LF), raw
//! UTF-8 and `\u` escapes (surrogate pairs combined), `NaN`, `Infinity`, `-Infinity`,
//! integers of any size (an `i64` when it fits, else an exact [`BigInt`], never via
//! `f64`; like Python 3.11 at most 4300 digits), duplicate keys (the last wins). It
//! differs from Python on purpose in two ways: a lone surrogate escape is an error (a
//! Rust `String` cannot hold one, DV6) and nesting is capped (DV4). Every object is
//! handed to a hook as soon as it is complete, so tags are converted bottom-up in the
//! same pass.
//!
//! Writing lives in `json_write.rs`.

use crate::value::{BigInt, Map, Value};

/// What becomes of a complete JSON object (the tag conversion, or just `Value::Dict`).
pub(crate) type ObjectHook = fn(Map) -> Result<Value, &'static str>;

/// Python refuses to convert longer decimal strings to `int` (`sys.int_info`).
const MAX_INT_DIGITS: usize = 4300;

/// Parses one JSON document (surrounding whitespace allowed, nothing else).
///
/// UTF-8 is checked where it can occur: outside strings the grammar is ASCII only, and
/// each raw run inside a string is validated as it is copied, so an accepted document is
/// valid UTF-8 without a separate pass over the whole text.
pub(crate) fn parse(
    text: &[u8],
    max_depth: usize,
    hook: ObjectHook,
) -> Result<Value, &'static str> {
    let mut p = Parser {
        bytes: text,
        pos: 0,
        depth: 0,
        max_depth,
        hook,
    };
    let parsed = p.value().and_then(|value| {
        p.skip_ws();
        if p.pos == text.len() {
            Ok(value)
        } else {
            Err("extra data after the JSON value")
        }
    });
    // Python decodes the bytes before parsing: report bad UTF-8 first, as it does.
    parsed.map_err(|why| {
        if std::str::from_utf8(text).is_err() {
            "payload is not valid UTF-8"
        } else {
            why
        }
    })
}

struct Parser<'a> {
    /// The document; not yet known to be UTF-8.
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
    hook: ObjectHook,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, word: &[u8]) -> bool {
        let hit = self.bytes[self.pos..].starts_with(word);
        if hit {
            self.pos += word.len();
        }
        hit
    }

    fn value(&mut self) -> Result<Value, &'static str> {
        self.skip_ws();
        let (word, value): (&[u8], Value) = match self.peek() {
            Some(b'{') => return self.object(),
            Some(b'[') => return self.array(),
            Some(b'"') => return self.string().map(Value::Str),
            Some(b'0'..=b'9') => return self.number(),
            Some(b'-') if !self.bytes[self.pos..].starts_with(b"-Infinity") => {
                return self.number()
            }
            Some(b'-') => (b"-Infinity", Value::Float(f64::NEG_INFINITY)),
            Some(b'I') => (b"Infinity", Value::Float(f64::INFINITY)),
            Some(b'N') => (b"NaN", Value::Float(f64::NAN)),
            Some(b't') => (b"true", Value::Bool(true)),
            Some(b'f') => (b"false", Value::Bool(false)),
            Some(b'n') => (b"null", Value::Null),
            _ => return Err("expected a JSON value"),
        };
        if self.eat(word) {
            Ok(value)
        } else {
            Err("expected a JSON value")
        }
    }

    fn enter(&mut self) -> Result<(), &'static str> {
        self.depth += 1;
        self.pos += 1;
        if self.depth > self.max_depth {
            return Err("JSON nesting is deeper than the configured limit");
        }
        self.skip_ws();
        Ok(())
    }

    fn array(&mut self) -> Result<Value, &'static str> {
        self.enter()?;
        let mut items = Vec::new();
        if self.peek() != Some(b']') {
            loop {
                items.push(self.value()?);
                self.skip_ws();
                match self.bump() {
                    Some(b',') => {}
                    Some(b']') => break,
                    _ => return Err("expected ',' or ']' in an array"),
                }
            }
        } else {
            self.pos += 1;
        }
        self.depth -= 1;
        Ok(Value::List(items))
    }

    fn object(&mut self) -> Result<Value, &'static str> {
        self.enter()?;
        let mut map = Map::new();
        if self.peek() != Some(b'}') {
            loop {
                self.skip_ws();
                if self.peek() != Some(b'"') {
                    return Err("object keys must be strings");
                }
                let key = self.string()?;
                self.skip_ws();
                if self.bump() != Some(b':') {
                    return Err("expected ':' after an object key");
                }
                let value = self.value()?;
                map.insert(key, value);
                self.skip_ws();
                match self.bump() {
                    Some(b',') => {}
                    Some(b'}') => break,
                    _ => return Err("expected ',' or '}' in an object"),
                }
            }
        } else {
            self.pos += 1;
        }
        self.depth -= 1;
        (self.hook)(map)
    }

    /// A string; `self.pos` is at the opening quote.
    ///
    /// Runs of plain bytes are found a word at a time and validated as UTF-8 once each,
    /// as they are copied out.
    fn string(&mut self) -> Result<String, &'static str> {
        let start = self.pos + 1;
        let mut at = plain_run_end(self.bytes, start);
        if self.bytes.get(at) == Some(&b'"') {
            self.pos = at + 1;
            return utf8(&self.bytes[start..at]).map(str::to_owned);
        }
        let mut out = String::with_capacity(at - start + 16);
        let mut run = start;
        loop {
            match self.bytes.get(at) {
                Some(b'"') => {
                    out.push_str(utf8(&self.bytes[run..at])?);
                    self.pos = at + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(utf8(&self.bytes[run..at])?);
                    self.pos = at + 1;
                    self.escape(&mut out)?;
                    run = self.pos;
                }
                Some(_) => return Err("control character inside a string"),
                None => return Err("unterminated string"),
            }
            at = plain_run_end(self.bytes, run);
        }
    }

    /// One escape; `self.pos` is just after the backslash.
    fn escape(&mut self, out: &mut String) -> Result<(), &'static str> {
        let c = match self.bump() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => self.unicode_escape()?,
            _ => return Err("invalid escape in a string"),
        };
        out.push(c);
        Ok(())
    }

    /// `\uXXXX`, or a surrogate pair `\uD8XX\uDCXX`; lone surrogates are errors.
    fn unicode_escape(&mut self) -> Result<char, &'static str> {
        let first = self.hex4()?;
        let code = match first {
            0xd800..=0xdbff => {
                if !self.eat(b"\\u") {
                    return Err("lone surrogate escape in a string");
                }
                let second = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&second) {
                    return Err("lone surrogate escape in a string");
                }
                0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
            }
            0xdc00..=0xdfff => return Err("lone surrogate escape in a string"),
            _ => first,
        };
        char::from_u32(code).ok_or("invalid \\u escape")
    }

    fn hex4(&mut self) -> Result<u32, &'static str> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or("short \\u escape")?;
        let mut code = 0;
        for &d in digits {
            let v = char::from(d).to_digit(16).ok_or("invalid \\u escape")?;
            code = code * 16 + v;
        }
        self.pos += 4;
        Ok(code)
    }

    /// Python's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
    fn number(&mut self) -> Result<Value, &'static str> {
        let start = self.pos;
        self.eat(b"-");
        match self.bump() {
            Some(b'0') => {}
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err("invalid number"),
        }
        let int_end = self.pos;
        if self.peek() == Some(b'.') && self.digit_at(self.pos + 1) {
            self.pos += 1;
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.bytes.get(self.pos + 1), Some(b'+' | b'-')));
            if self.digit_at(self.pos + 1 + sign) {
                self.pos += 1 + sign;
                self.digits();
            }
        }
        let text = &self.bytes[start..self.pos];
        if self.pos == int_end {
            // Up to 18 digits always fit in an i64: no text parsing needed.
            let negative = text.first() == Some(&b'-');
            let digits = &text[usize::from(negative)..];
            if digits.len() <= 18 {
                let magnitude = digits
                    .iter()
                    .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'));
                return Ok(Value::Int(if negative { -magnitude } else { magnitude }));
            }
        }
        // The number grammar is ASCII only.
        let text = utf8(text)?;
        if self.pos != int_end {
            return text.parse().map(Value::Float).map_err(|_| "invalid number");
        }
        if let Ok(small) = text.parse::<i64>() {
            return Ok(Value::Int(small));
        }
        if text.trim_start_matches('-').len() > MAX_INT_DIGITS {
            return Err("integer has more than 4300 digits");
        }
        BigInt::parse(text)
            .map(Value::BigInt)
            .ok_or("invalid number")
    }

    fn digit_at(&self, at: usize) -> bool {
        self.bytes.get(at).is_some_and(u8::is_ascii_digit)
    }

    fn digits(&mut self) {
        while self.digit_at(self.pos) {
            self.pos += 1;
        }
    }
}

/// `bytes` as `str`, or the parser's UTF-8 error.
fn utf8(bytes: &[u8]) -> Result<&str, &'static str> {
    std::str::from_utf8(bytes).map_err(|_| "payload is not valid UTF-8")
}

/// The index of the first byte at or after `at` that ends a plain run inside a string
/// (`"`, `\\` or a control character), or `bytes.len()`.
fn plain_run_end(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(word) = bytes.get(at..at + 8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let x = u64::from_le_bytes(word);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        // The classic "has a zero byte" and "has a byte below n" tests. Borrows only
        // carry upwards, so the lowest high bit set marks the first hit exactly (later
        // bytes may show false hits, which are never looked at).
        let hit = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGH;
        if hit != 0 {
            return at + (hit.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&b) = bytes.get(at) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(map: Map) -> Result<Value, &'static str> {
        Ok(Value::Dict(map))
    }

    fn p(text: &str) -> Result<Value, &'static str> {
        parse(text.as_bytes(), 128, plain)
    }
    #[test]
    fn reads_what_python_reads() {
        let v = p(" {\"b\" : 1 ,\n \"a\" : [ 1 , 2 ] }\t").unwrap();
        let Value::Dict(m) = v else { panic!() };
        assert_eq!(m["a"], Value::List(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(p(r#"{"a":1,"a":2}"#).unwrap(), p(r#"{"a":2}"#).unwrap());
        assert_eq!(
            p("\"h\u{e9}llo\u{1f600}\"").unwrap(),
            Value::from("héllo😀")
        );
        assert_eq!(
            p(r#""\ud83d\ude00\u00E9\/\b""#).unwrap(),
            Value::from("😀é/\u{8}")
        );
        assert!(matches!(p("NaN").unwrap(), Value::Float(x) if x.is_nan()));
        assert_eq!(p("-Infinity").unwrap(), Value::Float(f64::NEG_INFINITY));
        assert_eq!(p("-0").unwrap(), Value::Int(0));
        assert_eq!(p("-0.0").unwrap(), Value::Float(-0.0));
        assert_eq!(p("1E+2").unwrap(), Value::Float(100.0));
        assert_eq!(p("1e400").unwrap(), Value::Float(f64::INFINITY));
        assert_eq!(p("9223372036854775807").unwrap(), Value::Int(i64::MAX));
        let big = "-1180591620717411303424";
        assert_eq!(p(big).unwrap(), Value::BigInt(BigInt::parse(big).unwrap()));
        assert!(p(&"9".repeat(4300)).is_ok());
        assert!(p(&"9".repeat(4301)).is_err());
    }

    #[test]
    fn rejects_what_python_rejects_and_lone_surrogates() {
        for bad in [
            "",
            " ",
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "-",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "[1 2]",
            "\"\t\"",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "{} {}",
            "nul",
            "infinity",
            "\u{feff}{}",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\ud800x\"",
            "{\"a\"}",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert!(parse(b"\"\xff\"", 128, plain).is_err());
    }

    #[test]
    fn depth_is_capped_without_recursing_further() {
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(p(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(p(&deep).is_err());
        let deeper = "[{\"a\":".repeat(100_000);
        assert!(p(&deeper).is_err());
    }
}
