//! The EventBridge patterns of `enforcer events pattern`: each sample and each real envelope of a
//! catalogued call matches exactly one of them, near misses match none, and every pattern fits
//! EventBridge's default size quota.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;
use crate::support::event_pattern::matches;

use enforcer::catalog::{event_patterns, Catalog, EventPattern, PATTERN_BUDGET, PATTERN_QUOTA};
use serde_json::{json, Value};

fn patterns() -> Vec<EventPattern> {
    event_patterns(&Catalog::builtin().unwrap())
}

fn matching(patterns: &[EventPattern], event: &Value) -> Vec<String> {
    patterns
        .iter()
        .filter(|p| matches(&p.event_pattern, event))
        .map(|p| p.name.clone())
        .collect()
}

fn envelope(source: &str, event_source: &str, event_name: &str) -> Value {
    json!({
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "detail": {"eventSource": event_source, "eventName": event_name}
    })
}

#[test]
fn every_sample_matches_exactly_one_pattern() {
    let patterns = patterns();
    let dir = support::repo_root().join("events/samples");
    let mut checked = 0;
    let hand = std::fs::read_dir(&dir).unwrap();
    let generated = std::fs::read_dir(dir.join("generated")).unwrap();
    for entry in hand.chain(generated) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let matched = matching(&patterns, &event);
        assert_eq!(matched.len(), 1, "{}: {matched:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 1000, "{checked} samples");
}

#[test]
fn real_envelopes_of_catalogued_calls_match_with_the_source_eventbridge_set() {
    // The corpora's EventBridge envelopes carry the `source` EventBridge really set.
    let patterns = patterns();
    let catalog = Catalog::builtin().unwrap();
    let mut checked = 0;
    for folder in ["cloudtrail-real", "cloudtrail-docs"] {
        for path in support::corpus_files(folder) {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let event: Value = serde_json::from_str(line).unwrap();
                if event.get("detail-type").and_then(Value::as_str)
                    != Some("AWS API Call via CloudTrail")
                {
                    continue;
                }
                let detail = &event["detail"];
                let (Some(source), Some(name)) =
                    (detail["eventSource"].as_str(), detail["eventName"].as_str())
                else {
                    continue;
                };
                let catalogued = catalog.lookup(source, name).is_some();
                let matched = matching(&patterns, &event);
                assert_eq!(
                    matched.len(),
                    usize::from(catalogued),
                    "{}: {source} {name}: {matched:?}",
                    path.display()
                );
                checked += usize::from(catalogued);
            }
        }
    }
    assert!(checked >= 5, "{checked} real envelopes of catalogued calls");
}

#[test]
fn versioned_lambda_names_match_and_near_misses_do_not() {
    let patterns = patterns();
    for name in [
        "CreateFunction20150331",
        "UpdateFunctionConfiguration20150331v2",
        "UpdateFunctionCode20150331",
        "UpdateFunctionCode20150331v2",
        "TagResource20170331v2",
        "UntagResource20170331v2",
        "TagResource20170331",
        "AddPermission20150331",
        "AddPermission20150331v2",
        "CreateEventSourceMapping20150331",
        "UpdateEventSourceMapping20150331",
        "PublishLayerVersion20181031",
        "CreateFunction",
    ] {
        let event = envelope("aws.lambda", "lambda.amazonaws.com", name);
        assert_eq!(matching(&patterns, &event).len(), 1, "{name}");
    }
    assert_eq!(
        matching(
            &patterns,
            &envelope(
                "aws.cloudfront",
                "cloudfront.amazonaws.com",
                "UpdateDistribution2017_03_25"
            )
        )
        .len(),
        1
    );
    for (source, event_source, name) in [
        ("aws.s3", "s3.amazonaws.com", "GetObject"),
        ("aws.s3", "s3.amazonaws.com", "PutObject"),
        ("aws.s3", "s3.amazonaws.com", "CreateTags"),
        ("aws.ec2", "ec2.amazonaws.com", "DescribeInstances"),
        ("aws.ec2", "ec2.amazonaws.com", "DescribeKeyPairs"),
        (
            "aws.lambda",
            "lambda.amazonaws.com",
            "GetFunction20150331v2",
        ),
        (
            "aws.lambda",
            "lambda.amazonaws.com",
            "CreateFunctionUrlConfigs",
        ),
        (
            "aws.lambda",
            "lambda.amazonaws.com",
            "DeleteFunction20150331",
        ),
        ("aws.rds", "rds.amazonaws.com", "DescribeDBInstances"),
        ("aws.ec2", "s3.amazonaws.com", "CreateBucket"),
        ("aws.s3", "ec2.amazonaws.com", "RunInstances"),
    ] {
        let event = envelope(source, event_source, name);
        assert!(
            Catalog::builtin()
                .unwrap()
                .lookup(event_source, name)
                .is_none()
                || source != format!("aws.{}", event_source.split('.').next().unwrap()),
            "{event_source} {name} is catalogued: pick another near miss"
        );
        assert!(
            matching(&patterns, &event).is_empty(),
            "{source} {event_source} {name} must not match"
        );
    }
    let other = json!({
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "detail": {"state": "running"}
    });
    assert!(matching(&patterns, &other).is_empty());
}

#[test]
fn tag_change_events_have_their_own_pattern() {
    let patterns = patterns();
    let event = json!({
        "detail-type": "Tag Change on Resource",
        "source": "aws.tag",
        "resources": ["arn:aws:s3:::b"],
        "detail": {"service": "s3", "resource-type": "bucket", "tags": {}}
    });
    assert_eq!(matching(&patterns, &event), ["tag"]);
    let last = patterns.last().unwrap();
    assert_eq!(
        last.event_pattern,
        json!({"source": ["aws.tag"], "detail-type": ["Tag Change on Resource"]})
    );
}

/// Macie's sensitive data findings, each finding type of the samples, match the `macie` rule
/// alone; its policy findings (a bucket's settings) and other Macie events match nothing.
#[test]
fn macie_sensitive_data_findings_have_their_own_pattern() {
    let patterns = patterns();
    let finding = |kind: &str| {
        json!({
            "detail-type": "Macie Finding",
            "source": "aws.macie",
            "resources": [],
            "detail": {"type": kind, "resourcesAffected": {"s3Bucket": {"name": "b"}}}
        })
    };
    for kind in [
        "SensitiveData:S3Object/Personal",
        "SensitiveData:S3Object/Financial",
        "SensitiveData:S3Object/Credentials",
        "SensitiveData:S3Object/CustomIdentifier",
        "SensitiveData:S3Object/Multiple",
    ] {
        assert_eq!(matching(&patterns, &finding(kind)), ["macie"], "{kind}");
    }
    for kind in [
        "Policy:IAMUser/S3BucketPublic",
        "Policy:IAMUser/S3BucketEncryptionDisabled",
    ] {
        assert!(matching(&patterns, &finding(kind)).is_empty(), "{kind}");
    }
    let mut elsewhere = finding("SensitiveData:S3Object/Personal");
    elsewhere["source"] = json!("aws.securityhub");
    assert!(matching(&patterns, &elsewhere).is_empty());
}

#[test]
fn patterns_cover_the_catalog_exactly_within_the_size_quota_and_rule_count() {
    let catalog = Catalog::builtin().unwrap();
    let patterns = patterns();
    for entry in catalog.entries() {
        let source = catalog.source_info(&entry.event_source).eventbridge_source;
        let event = envelope(&source, &entry.event_source, &entry.event_name);
        assert_eq!(
            matching(&patterns, &event).len(),
            1,
            "{} {}",
            entry.event_source,
            entry.event_name
        );
        // The same name under another catalogued service that does not list it matches nothing:
        // the patterns pair each eventSource with its own names.
        let other = if entry.event_source == "s3.amazonaws.com" {
            ("aws.sns", "sns.amazonaws.com")
        } else {
            ("aws.s3", "s3.amazonaws.com")
        };
        if catalog.lookup(other.1, &entry.event_name).is_none() {
            let event = envelope(other.0, other.1, &entry.event_name);
            assert!(
                matching(&patterns, &event).is_empty(),
                "{} {} also matches under {}",
                entry.event_source,
                entry.event_name,
                other.1
            );
        }
    }
    let mut sources = Vec::new();
    let mut largest = 0;
    for pattern in &patterns {
        let text = serde_json::to_string(&pattern.event_pattern).unwrap();
        largest = largest.max(text.len());
        assert!(
            text.len() <= PATTERN_BUDGET && PATTERN_BUDGET < PATTERN_QUOTA,
            "{}: {} characters",
            pattern.name,
            text.len()
        );
        for source in pattern.event_pattern["source"].as_array().unwrap() {
            sources.push(source.as_str().unwrap().to_owned());
        }
        if pattern.name != "tag" && pattern.name != "macie" {
            assert_eq!(
                pattern.event_pattern["detail-type"],
                json!(["AWS API Call via CloudTrail"])
            );
        }
    }
    // EventBridge's default quota is 300 rules per event bus; the enforcer keeps to a fifth of
    // it so a member account's own rules still fit (49 with the generated catalog's 267
    // eventSources).
    assert!(patterns.len() <= 60, "{} rules", patterns.len());
    assert!(largest > 1000, "rules are packed: the largest is {largest}");
    for expected in [
        "aws.s3",
        "aws.monitoring",
        "aws.es",
        "aws.elasticloadbalancing",
        "aws.states",
        "aws.redshift-serverless",
        "aws.logs",
        "aws.elasticfilesystem",
        "aws.tagging",
        "aws.kafka",
        "aws.macie",
        "aws.tag",
    ] {
        assert!(sources.iter().any(|s| s == expected), "{expected}");
    }
}
