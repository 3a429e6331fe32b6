//! HTTP dates for the ` d` tag.
//!
//! Writing follows Werkzeug's `http_date`: the instant in UTC as
//! `Www, DD Mmm YYYY HH:MM:SS GMT`, sub-second part truncated.
//!
//! Reading follows the main path of Python's `email.utils.parsedate_to_datetime` (which
//! Werkzeug's `parse_date` calls): an optional day name, then `DD Mon YYYY HH:MM[:SS]`
//! (day and month may swap places) and an optional zone. Zones: `+hhmm`/`-hhmm` (kept
//! as the value's offset, not converted), `GMT`, `UT`, `UTC`, `Z`, the US zones
//! `EST`…`PDT`; a missing or unknown zone and `-0000` mean UTC. Two-digit years map as
//! Python maps them (69–99 → 19xx, 0–68 → 20xx). Anything else, including dates that do
//! not exist, instants outside years 100–9999 in UTC (the writer could not write them
//! back; Flask would fail on save) and strings over 64 bytes (never parsed), yields
//! `None`, which the tag reader turns into `null` as Flask does. The rarer spellings
//! Python tolerates (RFC 850 `DD-Mon-YY`, dotted times, `+`-signed numbers) are not
//! accepted; Flask never writes them.

use std::fmt::Write as _;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Longest date string handed to the parser (SECURITY E12).
const MAX_LEN: usize = 64;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Appends `Www, DD Mmm YYYY HH:MM:SS GMT` for the instant `dt`.
pub(crate) fn write_http_date(out: &mut String, dt: OffsetDateTime) {
    let utc = dt.to_offset(UtcOffset::UTC);
    let day = DAYS[usize::from(utc.weekday().number_days_from_monday())];
    let month = MONTHS[usize::from(u8::from(utc.month()) - 1)];
    let _ = write!(
        out,
        "{day}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        utc.day(),
        utc.year(),
        utc.hour(),
        utc.minute(),
        utc.second()
    );
}

/// Parses an RFC 2822 / HTTP date as Python's `parsedate_to_datetime` does (main path).
pub(crate) fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    if text.len() > MAX_LEN {
        return None;
    }
    let mut words: Vec<&str> = text.split_ascii_whitespace().collect();
    let first = *words.first()?;
    if first.ends_with(',') || is_day_name(first) {
        words.remove(0);
    } else if let Some(comma) = first.rfind(',') {
        words[0] = &first[comma + 1..];
    }
    if words.len() == 4 {
        // `03:04:05+0100`: a zone glued to the time
        let glued = words[3].find('+').or_else(|| words[3].find('-'));
        match glued {
            Some(i) if i > 0 => {
                let (tm, tz) = words[3].split_at(i);
                words[3] = tm;
                words.push(tz);
            }
            _ => words.push(""),
        }
    }
    let [dd, mm, yy, tm, tz] = words.get(..5)?.try_into().ok()?;
    let (day, month) = match month_number(mm) {
        Some(m) => (dd, m),
        None => (mm, month_number(dd)?),
    };
    let day: u8 = number(day.strip_suffix(',').unwrap_or(day))?;
    let (yy, tm) = if yy.find(':').is_some_and(|i| i > 0) {
        (tm, yy)
    } else {
        (yy, tm)
    };
    let year = python_year(number(yy.strip_suffix(',').unwrap_or(yy))?);
    let time = parse_time(tm.strip_suffix(',').unwrap_or(tm))?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let offset = parse_zone(tz)?;
    let dt = PrimitiveDateTime::new(date, time).assume_offset(offset);
    // The writer converts to UTC: an instant outside years 100..=9999 UTC would panic
    // there (year 10000) or come back as another year ("0099" reads as 1999). Fuzz-found.
    dt.checked_to_offset(UtcOffset::UTC)
        .filter(|utc| (100..=9999).contains(&utc.year()))?;
    Some(dt)
}

fn is_day_name(word: &str) -> bool {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .any(|d| word.eq_ignore_ascii_case(d))
}

/// Month from an English name: three letters, or the full name as Python accepts.
fn month_number(word: &str) -> Option<Month> {
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let index = MONTHS
        .iter()
        .position(|m| word.eq_ignore_ascii_case(m))
        .or_else(|| FULL.iter().position(|m| word.eq_ignore_ascii_case(m)))?;
    Month::try_from(u8::try_from(index + 1).ok()?).ok()
}

/// ASCII digits only (1 to 9 of them), as the integer type `T`.
fn number<T: std::str::FromStr>(word: &str) -> Option<T> {
    if word.is_empty() || word.len() > 9 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// Python: a year below 100 is 19xx when above 68, else 20xx.
fn python_year(year: i32) -> i32 {
    match year {
        69..=99 => year + 1900,
        0..=68 => year + 2000,
        _ => year,
    }
}

/// `HH:MM` or `HH:MM:SS`.
fn parse_time(word: &str) -> Option<Time> {
    let mut parts = word.split(':');
    let hour = number(parts.next()?)?;
    let minute = number(parts.next()?)?;
    let second = parts.next().map_or(Some(0), number)?;
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms(hour, minute, second).ok()
}

/// The offset of a zone word; `None` when the offset is unusable (|offset| ≥ 24 h).
fn parse_zone(zone: &str) -> Option<UtcOffset> {
    let hours = match zone.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "ADT" => -3,
        "AST" | "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ => return numeric_zone(zone),
    };
    UtcOffset::from_whole_seconds(hours * 3600).ok()
}

/// `+hhmm` / `-hhmm` with Python's arithmetic (`hh*3600 + mm*60`, minutes may exceed 59);
/// anything that is not a number (or `-0000`) means UTC, as for a naive datetime.
fn numeric_zone(zone: &str) -> Option<UtcOffset> {
    let (sign, digits) = match zone.as_bytes().first() {
        Some(b'-') => (-1, &zone[1..]),
        Some(b'+') => (1, &zone[1..]),
        _ => (1, zone),
    };
    // i64: nine digits times 36 overflow an i32 (fuzz-found).
    let Some(n) = number::<i64>(digits) else {
        return Some(UtcOffset::UTC);
    };
    let seconds = sign * ((n / 100) * 3600 + (n % 100) * 60);
    if seconds.abs() >= 24 * 3600 {
        return None;
    }
    UtcOffset::from_whole_seconds(i32::try_from(seconds).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn http(dt: OffsetDateTime) -> String {
        let mut s = String::new();
        write_http_date(&mut s, dt);
        s
    }

    #[test]
    fn writes_utc_truncated_to_seconds() {
        let naive = datetime!(2024-02-29 13:45:30.987654 UTC);
        assert_eq!(http(naive), "Thu, 29 Feb 2024 13:45:30 GMT");
        let aware = datetime!(2024-01-02 03:04:05 +05:30);
        assert_eq!(http(aware), "Mon, 01 Jan 2024 21:34:05 GMT");
        assert_eq!(
            http(datetime!(0999-03-04 05:06:07 UTC)),
            "Mon, 04 Mar 0999 05:06:07 GMT"
        );
        assert_eq!(
            http(OffsetDateTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn reads_http_and_rfc2822_dates() {
        let p = |s: &str| parse_http_date(s);
        assert_eq!(
            p("Thu, 29 Feb 2024 13:45:30 GMT"),
            Some(datetime!(2024-02-29 13:45:30 UTC))
        );
        let offset = p("Tue, 02 Jan 2024 03:04:05 +0100").unwrap();
        assert_eq!(offset, datetime!(2024-01-02 03:04:05 +01:00));
        assert_eq!(offset.offset(), UtcOffset::from_hms(1, 0, 0).unwrap());
        assert_eq!(
            p("2 Jan 2024 03:04 -0000"),
            Some(datetime!(2024-01-02 03:04 UTC))
        );
        assert_eq!(
            p("Jan 2 2024 03:04:05"),
            Some(datetime!(2024-01-02 03:04:05 UTC))
        );
        assert_eq!(
            p("Tue,02 Jan 24 03:04:05 EST"),
            Some(datetime!(2024-01-02 03:04:05 -5))
        );
        assert_eq!(
            p("02 Jan 99 03:04:05 pdt"),
            Some(datetime!(1999-01-02 03:04:05 -7))
        );
        assert_eq!(
            p("02 Jan 2024 03:04:05 XYZ"),
            Some(datetime!(2024-01-02 03:04:05 UTC))
        );
        assert_eq!(
            p("02 Jan 2024 03:04:05 +0160"),
            Some(datetime!(2024-01-02 03:04:05 +2))
        );
        assert_eq!(
            p("02 January 2024 03:04:05"),
            Some(datetime!(2024-01-02 03:04:05 UTC))
        );
        assert_eq!(
            p("02 Jan 2024 03:04:05-0230"),
            Some(datetime!(2024-01-02 03:04:05 -2:30))
        );
    }

    /// Every zone word of Python's `email._parseaddr._timezones` (what Werkzeug's
    /// `parse_date` uses), each at its own offset: no word may fall back to UTC or flip
    /// its sign (the crate-wide mutation sample found `ADT` untested).
    #[test]
    fn every_zone_word_has_pythons_offset() {
        for (word, hours) in [
            ("UT", 0),
            ("UTC", 0),
            ("GMT", 0),
            ("Z", 0),
            ("AST", -4),
            ("ADT", -3),
            ("EST", -5),
            ("EDT", -4),
            ("CST", -6),
            ("CDT", -5),
            ("MST", -7),
            ("MDT", -6),
            ("PST", -8),
            ("PDT", -7),
        ] {
            let parsed = parse_http_date(&format!("Tue, 02 Jan 2024 03:04:05 {word}"));
            let offset = UtcOffset::from_hms(hours, 0, 0).unwrap();
            assert_eq!(
                parsed.map(|d| d.offset()),
                Some(offset),
                "{word} is UTC{hours:+}"
            );
        }
    }

    #[test]
    fn unparsable_dates_are_none() {
        for bad in [
            "",
            "   ",
            "not a date",
            "Thu, 30 Feb 2024 13:45:30 GMT",
            "Thu, 29 Feb 2024 24:00:00 GMT",
            "Thu, 29 Feb 2024 13:45:60 GMT",
            "Thu, 29 Foo 2024 13:45:30 GMT",
            "Thu, 29 Feb 2024 13:45:30:00 GMT",
            "Thu, 29 Feb 2024 13-45-30 GMT",
            "Thu, 29 Feb 2024 13:45:30 +2400",
            "2024-02-29T13:45:30Z",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
        let long = format!("Thu, 29 Feb 2024 13:45:30 GMT{}", " ".repeat(40));
        assert_eq!(parse_http_date(&long), None);
    }
}
