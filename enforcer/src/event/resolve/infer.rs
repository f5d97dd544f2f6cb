//! The careful fallback for create calls the catalog does not know (issue #18): a successful
//! create whose response carries an ARN of the call's own service is resolved to that ARN.
//!
//! Nothing here knows the call, so the result is marked inferred: the engine alerts on such a
//! resource and never changes or quarantines it (see `Engine`), and `events coverage` counts it
//! apart from catalogued calls.

use serde_json::Value;

use super::super::record::CloudTrailRecord;
use super::{ResourceRef, TagUpdate};
use crate::catalog::{tags_from_value, Arn};

/// Name prefixes of calls that make a new resource. `Start*` is left out on purpose: most
/// `Start` calls act on an existing resource (`StartInstances`) and their responses name it.
const CREATE_VERBS: &[&str] = &[
    "Create",
    "Run",
    "Allocate",
    "Import",
    "Copy",
    "Register",
    "Request",
    "Provision",
    "Launch",
];

/// eventSource first labels whose resources' ARNs name another service.
const ARN_SERVICE_OF_SOURCE: &[(&str, &str)] = &[("monitoring", "cloudwatch"), ("email", "ses")];

/// True when `name` (a base event name) reads as a call that makes a new resource.
pub(crate) fn is_create_name(name: &str) -> bool {
    CREATE_VERBS.iter().any(|verb| {
        name.strip_prefix(verb)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    })
}

/// The ARN service of an eventSource: `glue.amazonaws.com` → `glue`.
fn arn_service(event_source: &str) -> &str {
    let label = event_source.split('.').next().unwrap_or(event_source);
    ARN_SERVICE_OF_SOURCE
        .iter()
        .find(|(source, _)| *source == label)
        .map_or(label, |(_, service)| service)
}

fn collect_strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(text) => out.push(text),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        Value::Object(fields) => fields.values().for_each(|item| collect_strings(item, out)),
        _ => {}
    }
}

/// The resources a create call the catalog does not know made, read from its response: every
/// ARN of the call's own service that the request does not already name (a parent or a
/// referenced resource), each once. `None` when the call is not a create, or names none.
pub(crate) fn created_resources(
    record: &CloudTrailRecord,
    base_name: &str,
) -> Option<Vec<ResourceRef>> {
    if record.error_code.is_some() || !is_create_name(base_name) {
        return None;
    }
    let service = arn_service(&record.event_source);
    let mut in_response = Vec::new();
    collect_strings(record.response_elements.as_ref()?, &mut in_response);
    let mut in_request = Vec::new();
    if let Some(request) = &record.request_parameters {
        collect_strings(request, &mut in_request);
    }
    let mut resources: Vec<ResourceRef> = Vec::new();
    for text in in_response {
        let own_service = Arn::parse(text).is_some_and(|arn| arn.service == service);
        if !own_service || in_request.contains(&text) {
            continue;
        }
        if let Some(resource) = ResourceRef::from_arn(text, None) {
            if !resources.iter().any(|seen| seen.arn == resource.arn) {
                resources.push(resource);
            }
        }
    }
    (!resources.is_empty()).then_some(resources)
}

/// The tags an unknown create call carries, when it carries them where most services put them
/// (`requestParameters.tags` or `Tags`, any shape `tags_from_value` reads).
pub(crate) fn request_tags(record: &CloudTrailRecord) -> TagUpdate {
    let found = record
        .request_parameters
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|fields| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("tags"))
        })
        .map(|(_, value)| tags_from_value(value));
    match found {
        Some(tags) if !tags.is_empty() => TagUpdate::Merge(tags),
        _ => TagUpdate::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(source: &str, name: &str, request: Value, response: Value) -> CloudTrailRecord {
        serde_json::from_value(serde_json::json!({
            "eventSource": source,
            "eventName": name,
            "requestParameters": request,
            "responseElements": response,
        }))
        .unwrap()
    }

    #[test]
    fn a_create_response_arn_of_the_own_service_is_the_resource() {
        let r = record(
            "kafka.amazonaws.com",
            "CreateClusterV2",
            serde_json::json!({"clusterName": "events", "tags": {"DataDomain": "Telemetry"}}),
            serde_json::json!({
                "clusterArn": "arn:aws:kafka:eu-west-1:111122223333:cluster/events/0a1b",
                "roleArn": "arn:aws:iam::111122223333:role/Other"
            }),
        );
        let found = created_resources(&r, "CreateClusterV2").unwrap();
        assert_eq!(
            found.iter().map(|r| r.arn.as_str()).collect::<Vec<_>>(),
            ["arn:aws:kafka:eu-west-1:111122223333:cluster/events/0a1b"]
        );
        assert_eq!(found[0].resource_type, "kafka:cluster");
        assert!(matches!(request_tags(&r), TagUpdate::Merge(tags) if tags.len() == 1));
    }

    #[test]
    fn inputs_other_services_and_non_creates_are_not_inferred() {
        let parent = "arn:aws:kafka:eu-west-1:111122223333:cluster/events/0a1b";
        let r = record(
            "kafka.amazonaws.com",
            "CreateConfiguration",
            serde_json::json!({"clusterArn": parent}),
            serde_json::json!({"clusterArn": parent}),
        );
        assert!(created_resources(&r, "CreateConfiguration").is_none());
        let r = record(
            "kafka.amazonaws.com",
            "RebootBroker",
            serde_json::json!({}),
            serde_json::json!({"clusterArn": parent}),
        );
        assert!(created_resources(&r, "RebootBroker").is_none());
        assert!(!is_create_name("Created"));
        assert!(!is_create_name("StartInstances"));
        assert_eq!(arn_service("monitoring.amazonaws.com"), "cloudwatch");
    }
}
