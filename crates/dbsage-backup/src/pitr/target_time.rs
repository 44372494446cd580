//! `--to`: a moment with an explicit UTC offset (`2026-12-01 10:00:00+00`, `…T10:00:00Z`,
//! `…10:00:00.250+01:00`). Parsed here, not by the server: the server being restored may be
//! the one that is gone. A time without an offset is refused, as it means different moments
//! on different machines.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

pub fn parse(text: &str) -> dbsage_core::Result<OffsetDateTime> {
    parse_inner(text.trim()).ok_or_else(|| {
        crate::config_error(
            format!("--to {text:?} is not a time with a UTC offset"),
            "write it as \"YYYY-MM-DD HH:MM:SS+00\" (or with Z, +01:00, fractions of a second)",
        )
    })
}

fn parse_inner(s: &str) -> Option<OffsetDateTime> {
    let (date, rest) = (s.get(..10)?, s.get(10..)?);
    let rest = rest.strip_prefix([' ', 'T'])?;
    let mut d = date.split('-');
    let year: i32 = d.next()?.parse().ok()?;
    let month: u8 = d.next()?.parse().ok()?;
    let day: u8 = d.next()?.parse().ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let offset_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, offset) = rest.split_at(offset_at);
    let clock = clock.trim_end();
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) => (hms, f),
        None => (clock, ""),
    };
    let mut t = hms.split(':');
    let hour: u8 = t.next()?.parse().ok()?;
    let minute: u8 = t.next()?.parse().ok()?;
    let second: u8 = t.next().unwrap_or("0").parse().ok()?;
    if t.next().is_some() || !fraction.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 9 {
        return None;
    }
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().ok()?
    };
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    let offset = parse_offset(offset)?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn parse_offset(s: &str) -> Option<UtcOffset> {
    if s.eq_ignore_ascii_case("z") {
        return Some(UtcOffset::UTC);
    }
    let sign: i8 = if s.starts_with('-') { -1 } else { 1 };
    let digits = s.get(1..)?.replace(':', "");
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i8 = digits[..2].parse().ok()?;
    let minutes: i8 = digits
        .get(2..)
        .filter(|m| !m.is_empty())
        .unwrap_or("0")
        .parse()
        .ok()?;
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

/// The moment as PostgreSQL's `recovery_target_time` reads it, in UTC.
pub fn for_postgres(moment: OffsetDateTime) -> String {
    let utc = moment.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.microsecond()
    )
}

/// RFC 3339 in UTC, for reports.
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_fractions() {
        let a = parse("2026-12-01 10:00:00+00").unwrap();
        assert_eq!(a.unix_timestamp(), 1_796_119_200);
        assert_eq!(parse("2026-12-01T11:00:00+01:00").unwrap(), a);
        assert_eq!(parse("2026-12-01 10:00:00Z").unwrap(), a);
        assert_eq!(
            for_postgres(parse("2026-12-01 05:30:00.25-04:30").unwrap()),
            "2026-12-01 10:00:00.250000+00"
        );
        assert!(parse("2026-12-01 10:00:00").is_err());
        assert!(parse("yesterday").is_err());
    }
}
