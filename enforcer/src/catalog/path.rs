//! A tiny path language for finding values inside CloudTrail's free-form JSON.
//!
//! `requestParameters.tagSpecificationSet.items[resourceType=instance].tags` reads: take
//! `requestParameters`, then `tagSpecificationSet`, then every element of `items` whose
//! `resourceType` is `instance`, then its `tags`. `name[]` takes every element. A segment that
//! expects an array but finds a single object takes that object: CloudTrail's XML-derived JSON
//! writes one-element lists as bare objects.
//!
//! Keys match exactly first and then ignoring ASCII case: CloudTrail spells the same field
//! `arn`, `ARN` and `aRN` depending on the service (and sometimes the record).

use std::fmt;

use serde_json::Value;

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    key: String,
    selector: Selector,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    /// `key`: the value itself.
    Value,
    /// `key[]`: every element.
    Each,
    /// `key[field=value]`: every element whose `field` equals `value`.
    Where { field: String, equals: String },
}

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path `{path}`: {reason}")]
pub struct PathError {
    path: String,
    reason: String,
}

impl JsonPath {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let fail = |reason: &str| PathError {
            path: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(fail("empty path"));
        }
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (key, selector) = match part.split_once('[') {
                None => (part, Selector::Value),
                Some((key, rest)) => {
                    let inner = rest
                        .strip_suffix(']')
                        .ok_or_else(|| fail("`[` without a closing `]` at the end of a segment"))?;
                    let selector = if inner.is_empty() {
                        Selector::Each
                    } else {
                        let (field, equals) = inner
                            .split_once('=')
                            .ok_or_else(|| fail("a filter reads `[field=value]`"))?;
                        Selector::Where {
                            field: field.to_owned(),
                            equals: equals.to_owned(),
                        }
                    };
                    (key, selector)
                }
            };
            if key.is_empty() {
                return Err(fail("empty segment"));
            }
            segments.push(Segment {
                key: key.to_owned(),
                selector,
            });
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The first segment: which top-level field of the record the path starts in.
    pub fn root(&self) -> &str {
        self.segments.first().map_or("", |s| s.key.as_str())
    }

    /// Every value the path reaches from `root_value`, which stands for the first segment's value.
    pub fn select<'v>(&self, root_value: &'v Value) -> Vec<&'v Value> {
        let mut current = Vec::new();
        if let Some(first) = self.segments.first() {
            apply_selector(&first.selector, root_value, &mut current);
        }
        for segment in self.segments.iter().skip(1) {
            let mut next = Vec::new();
            for value in current {
                if let Some(child) = get_key(value, &segment.key) {
                    apply_selector(&segment.selector, child, &mut next);
                }
            }
            current = next;
        }
        current
    }

    /// The first non-empty string (or number, as text) the path reaches.
    pub(crate) fn first_string(&self, root_value: &Value) -> Option<String> {
        self.strings(root_value).into_iter().next()
    }

    /// Every string (or number, as text) the path reaches.
    pub fn strings(&self, root_value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for value in self.select(root_value) {
            match value {
                Value::String(text) if !text.is_empty() => out.push(text.clone()),
                Value::Number(number) => out.push(number.to_string()),
                Value::Array(items) => out.extend(items.iter().filter_map(|item| match item {
                    Value::String(text) if !text.is_empty() => Some(text.clone()),
                    _ => None,
                })),
                _ => {}
            }
        }
        out
    }
}

/// The member `key` of an object: the exact key, else the first key equal ignoring ASCII case.
pub(crate) fn get_key<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    let map = value.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(key))
            .map(|(_, child)| child)
    })
}

fn apply_selector<'v>(selector: &Selector, value: &'v Value, out: &mut Vec<&'v Value>) {
    if value.is_null() {
        return;
    }
    let elements: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    match selector {
        Selector::Value => out.push(value),
        Selector::Each => out.extend(elements.into_iter().filter(|v| !v.is_null())),
        Selector::Where { field, equals } => out.extend(elements.into_iter().filter(|item| {
            get_key(item, field)
                .and_then(Value::as_str)
                .is_some_and(|actual| actual.eq_ignore_ascii_case(equals))
        })),
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_through_arrays_filters_and_single_objects() {
        let request = json!({
            "tagSpecificationSet": {"items": [
                {"resourceType": "volume", "tags": [{"key": "a", "value": "1"}]},
                {"resourceType": "instance", "tags": [{"key": "b", "value": "2"}]}
            ]},
            "resourcesSet": {"items": {"resourceId": "i-1"}}
        });
        let path = JsonPath::parse(
            "requestParameters.tagSpecificationSet.items[resourceType=instance].tags",
        )
        .unwrap();
        assert_eq!(path.root(), "requestParameters");
        assert_eq!(
            path.select(&request),
            [&json!([{"key": "b", "value": "2"}])]
        );
        let ids = JsonPath::parse("requestParameters.resourcesSet.items[].resourceId").unwrap();
        assert_eq!(ids.strings(&request), ["i-1"]);
    }

    #[test]
    fn keys_match_ignoring_case_when_no_exact_key() {
        let response = json!({"aRN": "arn:aws:es:eu-west-1:1:domain/d", "arn": "exact"});
        let path = JsonPath::parse("responseElements.arn").unwrap();
        assert_eq!(path.strings(&response), ["exact"]);
        let path = JsonPath::parse("responseElements.ARN").unwrap();
        assert_eq!(path.strings(&response), ["arn:aws:es:eu-west-1:1:domain/d"]);
        let resources = json!([{"ARN": "a", "type": "AWS::KMS::Key"}, {"arn": "b", "Type": "x"}]);
        let path = JsonPath::parse("resources[type=AWS::KMS::Key].arn").unwrap();
        assert_eq!(path.strings(&resources), ["a"]);
    }

    #[test]
    fn rejects_malformed_paths() {
        assert!(JsonPath::parse("").is_err());
        assert!(JsonPath::parse("a..b").is_err());
        assert!(JsonPath::parse("a[b").is_err());
        assert!(JsonPath::parse("a[b]").is_err());
    }
}
