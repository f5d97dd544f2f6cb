//! The EventBridge event patterns that match exactly the catalogued calls.
//!
//! EventBridge matches each field of a pattern independently, so one pattern listing every
//! source and every event name would also match, say, `CreateTags` from S3. Each pattern
//! therefore pairs every eventSource with its own names in a `detail.$or` branch, and packs as
//! many services as fit under the default 2,048-character pattern quota into one rule. Event names of services that append their API version
//! (`CreateFunction20150331`, `TagResource20170331v2`) are matched exactly and by the prefix
//! `<Name>20`, which every dated suffix starts with and no other operation name does.
//! Macie's sensitive data findings (`source: aws.macie`, `detail-type: Macie Finding`, a
//! `detail.type` starting `SensitiveData:S3Object/`) and `Tag Change on Resource` events
//! (`source: aws.tag`) get a pattern of their own each.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::Catalog;

/// `detail-type` of CloudTrail events in EventBridge.
pub(crate) const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// `detail-type` of the Resource Groups Tagging events.
pub(crate) const TAG_CHANGE_DETAIL_TYPE: &str = "Tag Change on Resource";

/// `source` of the Resource Groups Tagging events.
pub(crate) const TAG_CHANGE_SOURCE: &str = "aws.tag";

/// `detail-type` of Macie's finding events.
pub(crate) const MACIE_FINDING_DETAIL_TYPE: &str = "Macie Finding";

/// `source` of Macie's events.
pub(crate) const MACIE_SOURCE: &str = "aws.macie";

/// The prefix of the finding types that report sensitive data in an S3 object
/// (`SensitiveData:S3Object/Personal`, `/Financial`, `/Credentials`, `/CustomIdentifier`,
/// `/Multiple`); the others (`Policy:IAMUser/…`) report a bucket's settings.
pub(crate) const SENSITIVE_DATA_TYPE_PREFIX: &str = "SensitiveData:S3Object/";

/// One EventBridge rule's pattern.
#[derive(Debug, Clone, Serialize)]
pub struct EventPattern {
    /// A short name for the rule: the source without `aws.` (`s3`, `tag`).
    pub name: String,
    /// The event pattern, ready for `PutRule`'s `EventPattern`.
    pub event_pattern: Value,
}

/// EventBridge's default quota on an event pattern, in characters (adjustable to 4,096).
pub const PATTERN_QUOTA: usize = 2048;

/// What a rule's pattern may use of the quota: the deployed rules add a loop guard under
/// `detail.userIdentity` (about 200 characters with the role's ARN), which must still fit.
pub const PATTERN_BUDGET: usize = PATTERN_QUOTA - 448;

/// One EventBridge `source`'s calls: its eventSources and event-name matchers.
struct SourceCalls<'a> {
    source: String,
    event_sources: Vec<&'a str>,
    matchers: Vec<Value>,
}

/// The calls of each EventBridge `source`, sorted by source.
fn calls_by_source(catalog: &Catalog) -> Vec<SourceCalls<'_>> {
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
    grouped
        .into_iter()
        .map(|(source, event_sources)| {
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
            SourceCalls {
                source,
                event_sources: event_sources.keys().copied().collect(),
                matchers,
            }
        })
        .collect()
}

/// One `$or` branch: these event names of these eventSources.
fn branch(event_sources: &[&str], matchers: &[Value]) -> Value {
    json!({ "eventSource": event_sources, "eventName": matchers })
}

/// A rule's pattern over `branches` of `sources`.
fn rule_pattern(sources: &[String], branches: &[Value]) -> Value {
    let detail = match branches {
        [only] => only.clone(),
        _ => json!({ "$or": branches }),
    };
    json!({
        "source": sources,
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": detail,
    })
}

fn size(pattern: &Value) -> usize {
    pattern.to_string().len()
}

/// The EventBridge patterns that match exactly the catalogued calls, each within
/// [`PATTERN_BUDGET`], then the Macie sensitive data findings' pattern, then the `Tag Change on
/// Resource` pattern.
///
/// EventBridge matches each field on its own, so a pattern listing several sources' names
/// together would also match, say, `CreateTags` from S3. Each rule therefore pairs eventSources
/// with their own names in `detail.$or` branches, one per service (`source` lists the rule's
/// services). Services are packed into rules in source order while the pattern fits; a service
/// whose names alone do not fit is split across rules. Rules are named `calls-01`, `calls-02`, …
pub fn event_patterns(catalog: &Catalog) -> Vec<EventPattern> {
    let mut rules: Vec<(Vec<String>, Vec<Value>)> = Vec::new();
    let mut current: (Vec<String>, Vec<Value>) = (Vec::new(), Vec::new());
    for calls in calls_by_source(catalog) {
        let mut rest: &[Value] = &calls.matchers;
        while !rest.is_empty() {
            // The most names of this service that still fit in the current rule.
            let fits = |count: usize, rule: &(Vec<String>, Vec<Value>)| {
                let mut sources = rule.0.clone();
                if sources.last() != Some(&calls.source) {
                    sources.push(calls.source.clone());
                }
                let mut branches = rule.1.clone();
                branches.push(branch(&calls.event_sources, &rest[..count]));
                size(&rule_pattern(&sources, &branches)) <= PATTERN_BUDGET
            };
            let mut count = 0;
            while count < rest.len() && fits(count + 1, &current) {
                count += 1;
            }
            if count == 0 {
                if current.1.is_empty() {
                    // Not even one name fits an empty rule: cannot happen with real names, but
                    // emit it alone rather than loop.
                    count = 1;
                } else {
                    rules.push(std::mem::take(&mut current));
                    continue;
                }
            }
            if current.0.last() != Some(&calls.source) {
                current.0.push(calls.source.clone());
            }
            current.1.push(branch(&calls.event_sources, &rest[..count]));
            rest = &rest[count..];
        }
    }
    if !current.1.is_empty() {
        rules.push(current);
    }
    let mut patterns: Vec<EventPattern> = rules
        .iter()
        .enumerate()
        .map(|(at, (sources, branches))| EventPattern {
            name: format!("calls-{:02}", at + 1),
            event_pattern: rule_pattern(sources, branches),
        })
        .collect();
    patterns.push(EventPattern {
        name: "macie".to_owned(),
        event_pattern: json!({
            "source": [MACIE_SOURCE],
            "detail-type": [MACIE_FINDING_DETAIL_TYPE],
            "detail": {
                "type": [{ "prefix": SENSITIVE_DATA_TYPE_PREFIX }],
            },
        }),
    });
    patterns.push(EventPattern {
        name: "tag".to_owned(),
        event_pattern: json!({
            "source": [TAG_CHANGE_SOURCE],
            "detail-type": [TAG_CHANGE_DETAIL_TYPE],
        }),
    });
    patterns
}
