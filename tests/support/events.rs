//! CloudTrail records and EventBridge events as the enforcer receives them, built for the
//! resources a test created.

#![allow(dead_code)]

use serde_json::{json, Value};

/// A person's identity: an SSO session of the `Developer` role.
pub fn person(account: &str) -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:alice@example.com",
        "arn": format!("arn:aws:sts::{account}:assumed-role/Developer/alice@example.com"),
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": format!("arn:aws:iam::{account}:role/Developer"),
                "accountId": account,
                "userName": "Developer"
            }
        }
    })
}

/// The enforcer's own identity: a Lambda session of its role (with a path).
pub fn enforcer_identity(account: &str) -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROAENFORCER:tag-enforcer",
        "arn": format!("arn:aws:sts::{account}:assumed-role/TagEnforcer/tag-enforcer"),
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": format!("arn:aws:iam::{account}:role/service/TagEnforcer"),
                "accountId": account,
                "userName": "TagEnforcer"
            }
        }
    })
}

/// The enforcer's role ARN, as configured.
pub fn enforcer_role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/service/TagEnforcer")
}

/// An `AWS API Call via CloudTrail` EventBridge event.
pub fn api_call(
    account: &str,
    region: &str,
    identity: Value,
    source: &str,
    name: &str,
    request: Value,
    response: Value,
) -> String {
    let service = source.trim_end_matches(".amazonaws.com");
    json!({
        "version": "0",
        "id": format!("evb-{name}-{}", request.to_string().len()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{service}"),
        "account": account,
        "time": "2026-05-01T12:00:00Z",
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": "2026-05-01T12:00:00Z",
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": request,
            "responseElements": response,
            "eventID": format!("ct-{name}-{}", request.to_string().len()),
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account
        }
    })
    .to_string()
}

/// A `Tag Change on Resource` event: the resource's full tag set after a change.
pub fn tag_change(account: &str, region: &str, arn: &str, tags: &[(&str, &str)]) -> String {
    let tags: serde_json::Map<String, Value> = tags
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    let service = arn.split(':').nth(2).unwrap_or_default();
    json!({
        "version": "0",
        "id": format!("tag-change-{arn}"),
        "detail-type": "Tag Change on Resource",
        "source": "aws.tag",
        "account": account,
        "time": "2026-05-01T12:00:00Z",
        "region": region,
        "resources": [arn],
        "detail": {
            "changed-tag-keys": tags.keys().cloned().collect::<Vec<_>>(),
            "service": service,
            "resource-type": arn.split(':').nth(5).and_then(|r| r.split(['/', ':']).next()).unwrap_or_default(),
            "version": 1,
            "tags": tags
        }
    })
    .to_string()
}
