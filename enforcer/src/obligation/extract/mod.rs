//! The protection facts an event's request carries: per call, a small typed extractor that reads
//! the setting it changes and says, with the request field, what it makes of the resource
//! (encrypted at rest, public).
//!
//! [`SETTING_CALLS`] lists every call read here; each is catalogued (`events/catalog.toml`), so
//! its records resolve to their resources and reach the EventBridge patterns
//! (`setting_calls_are_catalogued` checks it). An extractor reports only what the request shows:
//! a setting it does not carry stays unknown, for the read on the resource to supply.

mod ec2;
mod policy_document;
mod rds;
mod redshift;
mod s3;
mod sagemaker;
mod secretsmanager;

use serde_json::Value;

use super::facts::ProtectionFacts;
use crate::catalog::get_key;

/// What an extractor reads of a record: its request and its response.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallRecord<'r> {
    /// `requestParameters`.
    pub request: Option<&'r Value>,
    /// `responseElements`.
    pub response: Option<&'r Value>,
}

impl<'r> CallRecord<'r> {
    /// The value at `keys` under `requestParameters`, with its path for evidence.
    fn request_at(&self, keys: &[&str]) -> Option<(String, &'r Value)> {
        at(self.request?, keys).map(|value| (path("requestParameters", keys), value))
    }

    /// The value at `keys` under `responseElements`, with its path for evidence.
    fn response_at(&self, keys: &[&str]) -> Option<(String, &'r Value)> {
        at(self.response?, keys).map(|value| (path("responseElements", keys), value))
    }

    /// A boolean setting: the request's, else the response's (a create call's response states
    /// the default the request left out), with its path.
    fn flag(&self, keys: &[&str]) -> Option<(String, bool)> {
        [self.request_at(keys), self.response_at(keys)]
            .into_iter()
            .flatten()
            .find_map(|(path, value)| Some((path, as_flag(value)?)))
    }
}

/// One call whose request changes a protection setting, and how to read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SettingCall {
    /// `eventSource`.
    pub source: &'static str,
    /// Base `eventName`.
    pub name: &'static str,
    /// Reads the facts of one record of the call.
    extract: fn(&CallRecord<'_>, &mut ProtectionFacts),
}

/// Every call whose request the extractors read, by service.
pub(crate) const SETTING_CALLS: &[SettingCall] = &[
    SettingCall {
        source: s3::SOURCE,
        name: "CreateBucket",
        extract: s3::canned_acl,
    },
    SettingCall {
        source: s3::SOURCE,
        name: "PutBucketPolicy",
        extract: s3::bucket_policy,
    },
    SettingCall {
        source: s3::SOURCE,
        name: "PutBucketAcl",
        extract: s3::bucket_acl,
    },
    SettingCall {
        source: s3::SOURCE,
        name: "PutBucketPublicAccessBlock",
        extract: s3::public_access_block,
    },
    SettingCall {
        source: s3::SOURCE,
        name: "DeleteBucketPublicAccessBlock",
        extract: s3::public_access_block_deleted,
    },
    SettingCall {
        source: s3::SOURCE,
        name: "PutBucketEncryption",
        extract: s3::bucket_encryption,
    },
    SettingCall {
        source: rds::SOURCE,
        name: "CreateDBInstance",
        extract: rds::instance_or_cluster,
    },
    SettingCall {
        source: rds::SOURCE,
        name: "CreateDBInstanceReadReplica",
        extract: rds::instance_or_cluster,
    },
    SettingCall {
        source: rds::SOURCE,
        name: "ModifyDBInstance",
        extract: rds::instance_or_cluster,
    },
    SettingCall {
        source: rds::SOURCE,
        name: "CreateDBCluster",
        extract: rds::instance_or_cluster,
    },
    SettingCall {
        source: rds::SOURCE,
        name: "ModifyDBCluster",
        extract: rds::instance_or_cluster,
    },
    SettingCall {
        source: rds::SOURCE,
        name: "ModifyDBSnapshotAttribute",
        extract: rds::snapshot_restore_attribute,
    },
    SettingCall {
        source: rds::SOURCE,
        name: "ModifyDBClusterSnapshotAttribute",
        extract: rds::snapshot_restore_attribute,
    },
    SettingCall {
        source: ec2::SOURCE,
        name: "CreateVolume",
        extract: ec2::volume_encryption,
    },
    SettingCall {
        source: ec2::SOURCE,
        name: "RunInstances",
        extract: ec2::block_device_mappings,
    },
    SettingCall {
        source: ec2::SOURCE,
        name: "ModifySnapshotAttribute",
        extract: ec2::snapshot_permission,
    },
    SettingCall {
        source: ec2::SOURCE,
        name: "ModifyImageAttribute",
        extract: ec2::image_permission,
    },
    SettingCall {
        source: redshift::SOURCE,
        name: "CreateCluster",
        extract: redshift::cluster,
    },
    SettingCall {
        source: redshift::SOURCE,
        name: "ModifyCluster",
        extract: redshift::cluster,
    },
    SettingCall {
        source: sagemaker::SOURCE,
        name: "CreateNotebookInstance",
        extract: sagemaker::notebook_internet_access,
    },
    SettingCall {
        source: secretsmanager::SOURCE,
        name: "PutResourcePolicy",
        extract: secretsmanager::resource_policy,
    },
];

/// The protection facts a record of `event_source` `event_name` (the base name) carries in its
/// request (and, for a create call, its response): empty for a call no extractor reads.
pub(crate) fn request_facts(
    event_source: &str,
    event_name: &str,
    record: &CallRecord<'_>,
) -> ProtectionFacts {
    let mut facts = ProtectionFacts::default();
    for call in SETTING_CALLS
        .iter()
        .filter(|call| call.source == event_source && call.name == event_name)
    {
        (call.extract)(record, &mut facts);
    }
    facts
}

/// [`request_facts`] of a record with `request` (and `response`): the extractors' tests.
#[cfg(test)]
pub(crate) fn facts_of(
    event_source: &str,
    event_name: &str,
    request: &Value,
    response: Option<&Value>,
) -> ProtectionFacts {
    request_facts(
        event_source,
        event_name,
        &CallRecord {
            request: Some(request),
            response,
        },
    )
}

/// The value at `keys` under `root` (keys matched exactly, else ignoring ASCII case, as
/// CloudTrail spells fields both ways).
fn at<'v>(root: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    keys.iter()
        .try_fold(root, |value, key| get_key(value, key))
        .filter(|value| !value.is_null())
}

/// `root.key1.key2` for evidence.
fn path(root: &str, keys: &[&str]) -> String {
    std::iter::once(root)
        .chain(keys.iter().copied())
        .collect::<Vec<_>>()
        .join(".")
}

/// A boolean as CloudTrail writes it: `true`, or `"true"` (XML-derived records).
fn as_flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The elements of a list as CloudTrail writes it: an array, a single object standing for a
/// one-element list, or either under `items` (EC2's XML-derived JSON).
fn elements(value: &Value) -> Vec<&Value> {
    let value = get_key(value, "items").unwrap_or(value);
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    }
}

/// A value as evidence text: strings bare, anything else as compact JSON.
fn evidence_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    /// Every call an extractor reads is catalogued: its records resolve to their resources and
    /// its name reaches the EventBridge patterns generated from the catalog.
    #[test]
    fn setting_calls_are_catalogued() {
        let catalog = Catalog::builtin().unwrap();
        for call in SETTING_CALLS {
            assert!(
                catalog.lookup(call.source, call.name).is_some(),
                "{} {} is read for obligations but not catalogued",
                call.source,
                call.name
            );
        }
    }

    /// A call no extractor reads carries no facts.
    #[test]
    fn other_calls_carry_no_facts() {
        let request = serde_json::json!({"bucketName": "b", "publiclyAccessible": true});
        let facts = request_facts(
            "s3.amazonaws.com",
            "PutBucketTagging",
            &CallRecord {
                request: Some(&request),
                response: None,
            },
        );
        assert!(facts.is_empty());
    }
}
