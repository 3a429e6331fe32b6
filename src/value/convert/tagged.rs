//! The types serde has no word for (Markup, UUID, datetime, integers beyond 128 bits) as
//! strings, and back.
//!
//! `impl Serialize for Value` writes them as strings wrapped in a newtype struct with a
//! reserved name. Every other serializer ignores the name and writes the string; ours
//! sees it and rebuilds the original variant, so `to_value(&value) == value`.

use std::fmt::{self, Write as _};

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::value::{BigInt, Value};

/// Newtype names reserved for [`Value::Markup`], [`Value::Uuid`], [`Value::DateTime`] and
/// a [`Value::BigInt`] too big for `i128`/`u128`. The `$` keeps them apart from any Rust
/// type name.
pub(super) const MARKUP: &str = "$flagon::Markup";
pub(super) const BIGINT: &str = "$flagon::BigInt";
pub(super) const UUID: &str = "$flagon::Uuid";
pub(super) const DATETIME: &str = "$flagon::DateTime";

/// Rebuilds a tagged variant from a reserved newtype name; other newtypes pass through.
pub(super) fn untag(name: &str, inner: Value) -> Value {
    let Value::Str(text) = inner else {
        return inner;
    };
    let rebuilt = match name {
        MARKUP => return Value::Markup(text),
        UUID => uuid::Uuid::try_parse(&text).ok().map(Value::Uuid),
        DATETIME => parse_rfc3339(&text).map(Value::DateTime),
        BIGINT => BigInt::parse(&text).map(Value::BigInt),
        _ => None,
    };
    rebuilt.unwrap_or(Value::Str(text))
}

/// Formats a datetime as RFC 3339 (`2024-05-01T12:30:00Z`): seconds always, a fraction
/// only when there is one, `Z` for UTC. An offset with seconds is written in UTC instead,
/// since RFC 3339 offsets stop at minutes.
pub(super) struct Rfc3339<'a>(pub(super) &'a OffsetDateTime);

impl fmt::Display for Rfc3339<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut dt = *self.0;
        if dt.offset().seconds_past_minute() != 0 {
            dt = dt.checked_to_offset(UtcOffset::UTC).unwrap_or(dt);
        }
        let (h, m, s, nanos) = dt.to_hms_nano();
        let month = u8::from(dt.month());
        write!(
            f,
            "{:04}-{month:02}-{:02}T{h:02}:{m:02}:{s:02}",
            dt.year(),
            dt.day()
        )?;
        if nanos != 0 {
            let fraction = format!("{nanos:09}");
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        let offset = dt.offset();
        if offset.is_utc() {
            return f.write_char('Z');
        }
        let sign = if offset.is_negative() { '-' } else { '+' };
        let (oh, om) = (
            offset.whole_hours().unsigned_abs(),
            offset.minutes_past_hour().unsigned_abs(),
        );
        write!(f, "{sign}{oh:02}:{om:02}")
    }
}

/// Parses what [`Rfc3339`] writes (also lowercase `t`/`z`). `None` for anything else.
pub(super) fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(num(8..10)?).ok()?).ok()?;
    let (h, m, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = frac[..digits].parse::<u32>().ok()? * 10u32.pow(9 - digits as u32);
        rest = &frac[digits..];
    }
    let time = Time::from_hms_nano(
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(s).ok()?,
        nanos,
    )
    .ok()?;
    let offset = parse_offset(rest)?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn parse_offset(text: &str) -> Option<UtcOffset> {
    if text == "Z" || text == "z" {
        return Some(UtcOffset::UTC);
    }
    let b = text.as_bytes();
    if b.len() != 6 || b[3] != b':' || !text.is_char_boundary(1) {
        return None;
    }
    let sign: i8 = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |part: &str| -> Option<i8> {
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (h, m) = (digits(text.get(1..3)?)?, digits(text.get(4..6)?)?);
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}
