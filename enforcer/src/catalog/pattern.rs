//! The EventBridge event patterns that match exactly the catalogued calls.
//!
//! EventBridge matches each field of a pattern independently, so one pattern listing every
//! source and every event name would also match, say, `CreateTags` from S3. Patterns are
//! therefore one per `source` (one EventBridge rule each), which also keeps each under the
//! default 2,048-character pattern quota. Event names of services that append their API version
//! (`CreateFunction20150331`, `TagResource20170331v2`) are matched exactly and by the prefix
//! `<Name>20`, which every dated suffix starts with and no other operation name does.
//! `Tag Change on Resource` events (`source: aws.tag`) get a pattern of their own.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::Catalog;

/// `detail-type` of CloudTrail events in EventBridge.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// `detail-type` of the Resource Groups Tagging events.
pub const TAG_CHANGE_DETAIL_TYPE: &str = "Tag Change on Resource";

/// `source` of the Resource Groups Tagging events.
pub const TAG_CHANGE_SOURCE: &str = "aws.tag";

/// One EventBridge rule's pattern.
#[derive(Debug, Clone, Serialize)]
pub struct EventPattern {
    /// A short name for the rule: the source without `aws.` (`s3`, `tag`).
    pub name: String,
    /// The event pattern, ready for `PutRule`'s `EventPattern`.
    pub event_pattern: Value,
}

/// One pattern per EventBridge `source` that matches exactly the catalogued calls of that source,
/// sorted by source, then the `Tag Change on Resource` pattern.
pub fn event_patterns(catalog: &Catalog) -> Vec<EventPattern> {
    // EventBridge source → eventSource → names.
    let mut grouped: BTreeMap<String, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for entry in catalog.entries() {
        let info = catalog.source_info(&entry.event_source);
        grouped
            .entry(info.eventbridge_source)
            .or_default()
            .entry(entry.event_source.as_str())
            .or_default()
            .push(entry.event_name.as_str());
    }
    let mut patterns = Vec::with_capacity(grouped.len() + 1);
    for (source, event_sources) in grouped {
        let mut names: Vec<&str> = event_sources.values().flatten().copied().collect();
        names.sort_unstable();
        names.dedup();
        let versioned = event_sources
            .keys()
            .any(|event_source| catalog.source_info(event_source).versioned_names);
        let mut matchers: Vec<Value> = names.iter().map(|name| json!(name)).collect();
        if versioned {
            matchers.extend(
                names
                    .iter()
                    .map(|name| json!({ "prefix": format!("{name}20") })),
            );
        }
        let event_sources: Vec<&str> = event_sources.keys().copied().collect();
        patterns.push(EventPattern {
            name: source.strip_prefix("aws.").unwrap_or(&source).to_owned(),
            event_pattern: json!({
                "source": [source],
                "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
                "detail": {
                    "eventSource": event_sources,
                    "eventName": matchers,
                }
            }),
        });
    }
    patterns.push(EventPattern {
        name: "tag".to_owned(),
        event_pattern: json!({
            "source": [TAG_CHANGE_SOURCE],
            "detail-type": [TAG_CHANGE_DETAIL_TYPE],
        }),
    });
    patterns
}
