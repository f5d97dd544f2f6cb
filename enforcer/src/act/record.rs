//! The quarantine record: what was done to a resource, when, and how to undo it. The record
//! `release` restores from is the state table's ([`QuarantineRecord::to_state`]); the tags are
//! a label for people, never read back to decide anything.
//!
//! Tag values are limited to 256 characters of letters, digits, spaces and `_ . : / = + - @`
//! across AWS services, so the record uses only those: the state to restore is a `+`-separated
//! list of `key=value` pairs (lists joined with `/`), cut over numbered keys when long.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::Tags;

/// Prefix of every tag the enforcer writes for itself (never a standard tag).
#[cfg(test)]
pub(crate) const RECORD_PREFIX: &str = "enforcer:";
/// What was done, for people.
pub const QUARANTINE_KEY: &str = "enforcer:quarantine";
/// When it was done (RFC 3339, UTC).
pub const QUARANTINE_AT_KEY: &str = "enforcer:quarantined-at";
/// How to undo it, for people.
pub const QUARANTINE_UNDO_KEY: &str = "enforcer:quarantine-undo";
/// What to restore, for `enforcer release`; continued in `-2`, `-3`, … when long.
pub const QUARANTINE_STATE_KEY: &str = "enforcer:quarantine-state";

/// The longest tag value every service accepts.
const MAX_VALUE: usize = 256;

/// One quarantine: kept in the enforcer's state table (the record `release` restores from, as
/// [`to_state`](Self::to_state) JSON) and shown on the resource as tags (a label for people; never
/// read back to decide anything, since anyone with tagging rights can write them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// The resource type it was made for, e.g. `s3:bucket`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// What was done, for people.
    pub done: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// What a release restores: `key → value`, values in the tag character set without spaces.
    pub state: BTreeMap<String, String>,
}

impl QuarantineRecord {
    /// The record as the state table's `prior_state` (JSON).
    pub(crate) fn to_state(&self) -> Result<String, String> {
        serde_json::to_string(self).map_err(|e| format!("the record cannot be serialized: {e}"))
    }

    /// A record from the state table's `prior_state`.
    pub(crate) fn from_state(text: &str) -> Result<Self, String> {
        serde_json::from_str(text)
            .map_err(|e| format!("the recorded prior state is not a record: {e}"))
    }

    /// A record made now.
    pub fn new(resource_type: &str, done: &str, state: BTreeMap<String, String>) -> Self {
        Self {
            resource_type: resource_type.to_owned(),
            done: done.to_owned(),
            at: now_rfc3339(),
            state,
        }
    }

    /// The tags that keep this record on the resource `arn`.
    pub(crate) fn to_tags(&self, arn: &str) -> Tags {
        let mut tags = Tags::new();
        tags.insert(QUARANTINE_KEY.to_owned(), sanitize_tag_value(&self.done));
        tags.insert(QUARANTINE_AT_KEY.to_owned(), sanitize_tag_value(&self.at));
        let undo = format!("enforcer release {arn}");
        tags.insert(
            QUARANTINE_UNDO_KEY.to_owned(),
            if undo.len() <= MAX_VALUE && sanitize_tag_value(&undo) == undo {
                undo
            } else {
                "enforcer release with this resource's ARN".to_owned()
            },
        );
        let text = std::iter::once(format!("type={}", self.resource_type))
            .chain(self.state.iter().map(|(k, v)| format!("{k}={v}")))
            .map(|pair| clean(&pair.replace([' ', '+'], "_")))
            .collect::<Vec<_>>()
            .join("+");
        // Chunks are cut anywhere and joined back without a separator.
        let chars: Vec<char> = text.chars().collect();
        for (index, chunk) in chars.chunks(MAX_VALUE).enumerate() {
            tags.insert(state_key(index), chunk.iter().collect());
        }
        tags
    }

    /// The record kept in `tags`, if any. `Err` when a record is there but unreadable.
    #[cfg(test)]
    pub(crate) fn from_tags(tags: &Tags) -> Option<Result<Self, String>> {
        let first = tags.get(QUARANTINE_STATE_KEY)?;
        let mut text = first.clone();
        for index in 1.. {
            match tags.get(&state_key(index)) {
                Some(more) => text.push_str(more),
                None => break,
            }
        }
        let mut state = BTreeMap::new();
        let mut resource_type = None;
        for pair in text.split('+').filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Some(Err(format!(
                    "`{QUARANTINE_STATE_KEY}` holds `{pair}`, which is not key=value"
                )));
            };
            if key == "type" {
                resource_type = Some(value.to_owned());
            } else {
                state.insert(key.to_owned(), value.to_owned());
            }
        }
        let Some(resource_type) = resource_type else {
            return Some(Err(format!(
                "`{QUARANTINE_STATE_KEY}` does not say which resource type it was made for"
            )));
        };
        Some(Ok(Self {
            resource_type,
            done: tags.get(QUARANTINE_KEY).cloned().unwrap_or_default(),
            at: tags.get(QUARANTINE_AT_KEY).cloned().unwrap_or_default(),
            state,
        }))
    }

    /// The keys of every record tag present in `tags`.
    pub(crate) fn keys_in(tags: &Tags) -> Vec<String> {
        tags.keys()
            .filter(|key| {
                [QUARANTINE_KEY, QUARANTINE_AT_KEY, QUARANTINE_UNDO_KEY].contains(&key.as_str())
                    || key.starts_with(QUARANTINE_STATE_KEY)
            })
            .cloned()
            .collect()
    }
}

fn state_key(index: usize) -> String {
    if index == 0 {
        QUARANTINE_STATE_KEY.to_owned()
    } else {
        format!("{QUARANTINE_STATE_KEY}-{}", index + 1)
    }
}

/// `text` with every character outside the portable tag character set replaced by `_`, cut to
/// 256 characters.
pub(crate) fn sanitize_tag_value(text: &str) -> String {
    clean(text).chars().take(MAX_VALUE).collect()
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The current time as RFC 3339 in UTC, to the second: `2026-05-01T12:00:00Z`.
pub(crate) fn now_rfc3339() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_rfc3339(seconds)
}

/// Formats seconds since the Unix epoch as RFC 3339 in UTC.
fn format_rfc3339(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn record_round_trips_through_tags_and_stays_in_the_tag_charset() {
        let groups: Vec<String> = (0..20).map(|i| format!("sg-0{i:016x}")).collect();
        let record = QuarantineRecord::new(
            "ec2:instance",
            "security groups replaced by the isolation group",
            BTreeMap::from([
                ("groups".to_owned(), groups.join("/")),
                ("vpc".to_owned(), "vpc-1".to_owned()),
            ]),
        );
        let tags = record.to_tags("arn:aws:ec2:eu-west-1:111122223333:instance/i-1");
        assert!(tags.len() > 4, "a long state spills over numbered keys");
        for (key, value) in &tags {
            assert!(value.len() <= MAX_VALUE, "{key}");
            assert_eq!(&sanitize_tag_value(value), value, "{key}");
        }
        assert_eq!(
            tags[QUARANTINE_UNDO_KEY],
            "enforcer release arn:aws:ec2:eu-west-1:111122223333:instance/i-1"
        );
        let back = QuarantineRecord::from_tags(&tags).unwrap().unwrap();
        assert_eq!(back, record);
        assert_eq!(QuarantineRecord::keys_in(&tags).len(), tags.len());
    }

    #[test]
    fn no_record_and_bad_records() {
        assert!(QuarantineRecord::from_tags(&Tags::new()).is_none());
        let tags = Tags::from([(QUARANTINE_STATE_KEY.to_owned(), "pab".to_owned())]);
        assert!(QuarantineRecord::from_tags(&tags).unwrap().is_err());
    }
}
