//! Timestamps: CloudTrail writes `eventTime` as RFC 3339 in UTC (`2024-03-01T12:34:56Z`),
//! sometimes with fractional seconds or an offset. Parsing and calendar arithmetic are jiff's;
//! the replay keeps times as milliseconds since the Unix epoch.

use jiff::{SignedDuration, Timestamp};

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp; `None` when it is not one (a
/// time without an offset is not an instant, so it is not one either).
pub(crate) fn parse_millis(text: &str) -> Option<i64> {
    text.parse::<Timestamp>()
        .ok()
        .map(Timestamp::as_millisecond)
}

/// The instant of `millis`. Every time the replay holds came from [`parse_millis`] or a file
/// name, so it lies within jiff's range (years -9999 to 9999); a computed one beyond it
/// saturates at the range's end rather than failing a report.
fn instant(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap_or(if millis < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// The date of a day number (days since 1970-01-01): (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let date = jiff::tz::Offset::UTC
        .to_datetime(instant(days.saturating_mul(86_400_000)))
        .date();
    (
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    )
}

/// `YYYY-MM-DD` of a time in milliseconds.
pub(crate) fn date_of(millis: i64) -> String {
    instant(millis).strftime("%Y-%m-%d").to_string()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a time in milliseconds, the fraction only when not zero.
pub fn rfc3339_millis(millis: i64) -> String {
    let format = if millis.rem_euclid(1000) == 0 {
        "%Y-%m-%dT%H:%M:%SZ"
    } else {
        "%Y-%m-%dT%H:%M:%S%.3fZ"
    };
    instant(millis).strftime(format).to_string()
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a time in milliseconds.
pub fn rfc3339(millis: i64) -> String {
    let whole = instant(millis) - SignedDuration::from_millis(millis.rem_euclid(1000));
    whole.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The delivery time CloudTrail writes in a log file's name
/// (`111122223333_CloudTrail_eu-west-1_20240301T1235Z_AbCd.json.gz`), else the day of the
/// `YYYY/MM/DD` folders of the S3 layout, in milliseconds.
pub(crate) fn file_time(path: &std::path::Path) -> Option<i64> {
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
        assert_eq!(date_of(-1), "1969-12-31");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        assert_eq!(civil_from_days(-1000), (1967, 4, 7));
        // No offset: not an instant.
        assert_eq!(parse_millis("2024-03-01T12:34:56"), None);
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
