//! Timestamps without a date library: CloudTrail writes `eventTime` as RFC 3339 in UTC
//! (`2024-03-01T12:34:56Z`), sometimes with fractional seconds or an offset.

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp; `None` when it is not one.
pub fn parse_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let mut value = 0i64;
        for &c in b.get(range)? {
            if !c.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(c - b'0');
        }
        Some(value)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if let Some((b'.', fraction)) = rest.split_first() {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (position, c) in fraction[..digits].iter().enumerate().take(3) {
            millis += i64::from(c - b'0') * [100, 10, 1][position];
        }
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = |a: u8, b: u8| i64::from(a - b'0') * 10 + i64::from(b - b'0');
            let minutes = value(digits[0], digits[1]) * 60 + value(digits[2], digits[3]);
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a time in milliseconds.
pub fn date_of(millis: i64) -> String {
    let (y, m, d) = civil_from_days(millis.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a time in milliseconds, the fraction only when not zero.
pub fn rfc3339_millis(millis: i64) -> String {
    let seconds = rfc3339(millis);
    match millis.rem_euclid(1000) {
        0 => seconds,
        fraction => format!("{}.{fraction:03}Z", &seconds[..seconds.len() - 1]),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a time in milliseconds.
pub fn rfc3339(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The delivery time CloudTrail writes in a log file's name
/// (`111122223333_CloudTrail_eu-west-1_20240301T1235Z_AbCd.json.gz`), else the day of the
/// `YYYY/MM/DD` folders of the S3 layout, in milliseconds.
pub fn file_time(path: &std::path::Path) -> Option<i64> {
    let name = path.file_name()?.to_str()?;
    let b = name.as_bytes();
    for at in 8..b.len().saturating_sub(5) {
        if b[at] == b'T'
            && b[at + 5] == b'Z'
            && b[at - 8..at].iter().all(u8::is_ascii_digit)
            && b[at + 1..at + 5].iter().all(u8::is_ascii_digit)
        {
            let stamp = format!(
                "{}-{}-{}T{}:{}:00Z",
                &name[at - 8..at - 4],
                &name[at - 4..at - 2],
                &name[at - 2..at],
                &name[at + 1..at + 3],
                &name[at + 3..at + 5]
            );
            if let Some(millis) = parse_millis(&stamp) {
                return Some(millis);
            }
        }
    }
    let parts: Vec<&str> = path
        .parent()?
        .iter()
        .filter_map(|part| part.to_str())
        .collect();
    parts.windows(3).rev().find_map(|w| {
        let ok = w[0].len() == 4 && w[1].len() == 2 && w[2].len() == 2;
        ok.then(|| parse_millis(&format!("{}-{}-{}T00:00:00Z", w[0], w[1], w[2])))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cloudtrail_times() {
        assert_eq!(parse_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_millis("2024-03-01T12:34:56Z"),
            Some(1_709_296_496_000)
        );
        assert_eq!(
            parse_millis("2024-03-01T12:34:56.789Z"),
            Some(1_709_296_496_789)
        );
        assert_eq!(
            parse_millis("2024-03-01T13:34:56+01:00"),
            Some(1_709_296_496_000)
        );
        assert_eq!(parse_millis("2024-03-01"), None);
        assert_eq!(parse_millis("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_millis("yesterday at noon!!"), None);
        assert_eq!(rfc3339(1_709_296_496_789), "2024-03-01T12:34:56Z");
        assert_eq!(
            rfc3339_millis(1_709_296_496_789),
            "2024-03-01T12:34:56.789Z"
        );
        assert_eq!(rfc3339_millis(1_709_296_496_000), "2024-03-01T12:34:56Z");
        assert_eq!(date_of(1_709_296_496_789), "2024-03-01");
        for days in [-1000, 0, 59, 60, 365, 11_016, 19_783, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn file_times_from_names_and_folders() {
        use std::path::Path;
        let name = Path::new(
            "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/01/111122223333_CloudTrail_eu-west-1_20240301T1235Z_AbCdEf.json.gz",
        );
        assert_eq!(file_time(name), parse_millis("2024-03-01T12:35:00Z"));
        let folder = Path::new("logs/2024/03/02/export.json");
        assert_eq!(file_time(folder), parse_millis("2024-03-02T00:00:00Z"));
        assert_eq!(file_time(Path::new("events.jsonl")), None);
    }
}
