//! Every record of the shared real and documentation CloudTrail corpora decodes, and every
//! successful record of a catalogued call resolves to well-formed ARNs that contain the ids found
//! in the record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use enforcer::catalog::{resource_name, Catalog, CatalogEntry, JsonPath};
use enforcer::event::{decode_bytes, InputEvent, Resolution, ResolveOptions, Resolver};
use serde_json::Value;

#[derive(Default)]
struct Walk {
    decoded: usize,
    decode_errors: Vec<String>,
    /// Resolved records of catalogued calls.
    resolved: usize,
    /// Catalogued, successful, unresolved records whose request names a resource: bugs.
    unresolved: Vec<String>,
    /// Catalogued, successful, unresolved records that carry no identifier at all (`file:line`).
    idless: Vec<String>,
    /// Resolved records whose ARNs are malformed or do not contain the record's ids.
    bad_arns: Vec<String>,
}

/// The last key of a catalog path: `responseElements.instancesSet.items[].instanceId` →
/// `instanceId`.
fn leaf_key(path: &JsonPath) -> String {
    let text = path.to_string();
    let last = text.rsplit('.').next().unwrap_or(&text);
    last.split('[').next().unwrap_or(last).to_owned()
}

/// True when `key` (ignoring case) holds a non-empty string or list anywhere inside `value`.
fn has_key_with_value(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| {
            (k.eq_ignore_ascii_case(key)
                && match v {
                    Value::String(s) => !s.is_empty(),
                    Value::Array(items) => !items.is_empty(),
                    Value::Number(_) => true,
                    _ => false,
                })
                || has_key_with_value(v, key)
        }),
        Value::Array(items) => items.iter().any(|v| has_key_with_value(v, key)),
        _ => false,
    }
}

/// True when the record holds none of the fields the entry reads ids or ARNs from.
fn names_nothing(entry: &CatalogEntry, record: &Value) -> bool {
    entry
        .arn_paths
        .iter()
        .chain(&entry.id_paths)
        .all(|path| !has_key_with_value(record, &leaf_key(path)))
}

fn walk(folder: &str) -> Walk {
    let catalog = Catalog::builtin().unwrap();
    let resolver = Resolver::new(catalog.clone(), ResolveOptions::default());
    let mut walk = Walk::default();
    for path in support::corpus_files(folder) {
        let bytes = std::fs::read(&path).unwrap();
        let lines = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .count();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let results = decode_bytes(&file, &bytes);
        assert_eq!(results.len(), lines, "{file}: one result per line");
        for result in results {
            let (location, event) = match result {
                Ok(ok) => ok,
                Err(error) => {
                    walk.decode_errors.push(error.to_string());
                    continue;
                }
            };
            walk.decoded += 1;
            let InputEvent::ApiCall(call) = &event else {
                continue;
            };
            let record = &call.record;
            let Some(entry) = catalog.lookup(&record.event_source, &record.event_name) else {
                continue;
            };
            let parts = serde_json::json!({
                "requestParameters": record.request_parameters,
                "responseElements": record.response_elements,
                "resources": record.resources,
            });
            match resolver.resolve(&event) {
                Resolution::Resolved(change) => {
                    assert!(
                        record.error_code.is_none(),
                        "{location}: failed calls are ignored"
                    );
                    walk.resolved += 1;
                    let text = parts.to_string().to_ascii_lowercase();
                    for resource in &change.resources {
                        if let Some(problem) =
                            support::shapes::shape_problem(&resource.resource_type, &resource.arn)
                        {
                            walk.bad_arns.push(format!("{location}: {problem}"));
                        }
                        let arn = resource.arn.to_ascii_lowercase();
                        let name = resource_name(&resource.arn).to_ascii_lowercase();
                        if !text.contains(&arn) && !text.contains(&name) {
                            walk.bad_arns.push(format!(
                                "{location}: `{}` holds no id found in the record",
                                resource.arn
                            ));
                        }
                    }
                }
                Resolution::Unresolved { reason, .. } => {
                    if names_nothing(entry, &parts) {
                        walk.idless.push(location.to_string());
                    } else {
                        walk.unresolved.push(format!("{location}: {reason}"));
                    }
                }
                Resolution::Ignored { .. } => {
                    assert!(
                        record.error_code.is_some(),
                        "{location}: a successful catalogued call is not ignored"
                    );
                }
                Resolution::Unsupported { .. } => panic!("{location}: catalogued but unsupported"),
            }
        }
    }
    walk
}

fn assert_clean(walk: &Walk) {
    assert!(
        walk.decode_errors.is_empty(),
        "decode errors:\n{}",
        walk.decode_errors.join("\n")
    );
    assert!(
        walk.unresolved.is_empty(),
        "records that name their resource but do not resolve:\n{}",
        walk.unresolved.join("\n")
    );
    assert!(
        walk.bad_arns.is_empty(),
        "malformed ARNs:\n{}",
        walk.bad_arns.join("\n")
    );
}

#[test]
fn every_real_record_decodes_and_every_catalogued_call_resolves() {
    let walk = walk("cloudtrail-real");
    assert_clean(&walk);
    assert_eq!(walk.idless, support::IDLESS_REAL);
    assert_eq!(
        walk.decoded, 307,
        "the real corpus holds 307 records (SOURCES.md says 300 plus 7 envelopes)"
    );
    assert!(walk.resolved >= 100, "{} resolved", walk.resolved);
}

#[test]
fn every_documentation_record_decodes_and_every_catalogued_call_resolves() {
    let walk = walk("cloudtrail-docs");
    assert_clean(&walk);
    assert_eq!(walk.idless, support::IDLESS_DOCS);
    assert_eq!(walk.decoded, 212);
    assert!(walk.resolved >= 30, "{} resolved", walk.resolved);
}

#[test]
fn records_without_event_version_decode() {
    // aws_lambda_events' AWSAPICall requires eventVersion; the issue counted 19 records without it,
    // the corpus as shipped today has 14. All of them must decode.
    let mut without_version = 0;
    for folder in ["cloudtrail-real", "cloudtrail-docs"] {
        for path in support::corpus_files(folder) {
            for (_, event) in decode_bytes("f", &std::fs::read(&path).unwrap())
                .into_iter()
                .map(Result::unwrap)
            {
                if let InputEvent::ApiCall(call) = event {
                    without_version += usize::from(call.record.event_version.is_none());
                }
            }
        }
    }
    assert_eq!(without_version, 14);
}

#[test]
fn the_documentation_manifest_is_not_taken_for_records() {
    // manifest.json lists where each documentation record came from; its entries name the call
    // (eventSource, eventName) and nothing else CloudTrail writes.
    let path = support::corpora().join("cloudtrail-docs/manifest.json");
    let decoded = decode_bytes("manifest.json", &std::fs::read(&path).unwrap());
    assert!(decoded.len() > 100, "{} entries", decoded.len());
    for result in &decoded {
        let Err(error) = result else {
            panic!("a manifest entry decoded as an event: {result:?}")
        };
        assert!(
            error.message.starts_with("not a CloudTrail record"),
            "{error}"
        );
    }
}
