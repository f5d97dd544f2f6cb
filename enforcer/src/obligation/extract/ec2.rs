//! EC2: volumes created unencrypted, instances launched with unencrypted volumes, snapshots and
//! images shared with everyone.

use serde_json::Value;

use super::{as_flag, elements, get_key, CallRecord};
use crate::obligation::{Evidence, ProtectionFacts};

/// EC2's eventSource.
pub(super) const SOURCE: &str = "ec2.amazonaws.com";

/// `CreateVolume`: the response's `encrypted` (what the volume is, EBS encryption by default
/// included), else the request's.
pub(super) fn volume_encryption(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    let found = [
        record.response_at(&["encrypted"]),
        record.request_at(&["encrypted"]),
    ]
    .into_iter()
    .flatten()
    .find_map(|(field, value)| Some((field, as_flag(value)?)));
    if let Some((field, encrypted)) = found {
        facts.note_encrypted(encrypted, Evidence::request(field, encrypted.to_string()));
    }
}

/// `RunInstances`: a block device mapping whose EBS volume says `encrypted: false`. A mapping
/// that says nothing takes the image's snapshot or the account's default: unknown.
pub(super) fn block_device_mappings(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    let Some((field, mappings)) = record.request_at(&["blockDeviceMapping"]) else {
        return;
    };
    let listed = get_key(mappings, "items").is_some();
    for (index, mapping) in elements(mappings).into_iter().enumerate() {
        let encrypted = get_key(mapping, "ebs")
            .and_then(|ebs| get_key(ebs, "encrypted"))
            .and_then(as_flag);
        if encrypted == Some(false) {
            let list = if listed { ".items" } else { "" };
            facts.note_encrypted(
                false,
                Evidence::request(format!("{field}{list}[{index}].ebs.encrypted"), "false"),
            );
            return;
        }
    }
}

/// `ModifySnapshotAttribute`: `createVolumePermission` given to group `all` makes the snapshot
/// public; taken from `all`, private.
pub(super) fn snapshot_permission(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    group_all(record, "createVolumePermission", facts);
}

/// `ModifyImageAttribute`: `launchPermission` given to group `all` makes the image public;
/// taken from `all`, private.
pub(super) fn image_permission(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    group_all(record, "launchPermission", facts);
}

/// A permission `add` (public) or `remove` (private) naming group `all`.
fn group_all(record: &CallRecord<'_>, permission: &str, facts: &mut ProtectionFacts) {
    for (operation, public) in [("add", true), ("remove", false)] {
        let Some((field, entries)) = record.request_at(&[permission, operation]) else {
            continue;
        };
        let all = elements(entries)
            .into_iter()
            .position(|entry| get_key(entry, "group").and_then(Value::as_str) == Some("all"));
        if let Some(index) = all {
            facts.note_public(
                public,
                Evidence::request(format!("{field}.items[{index}].group"), "all"),
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::obligation::extract::facts_of;

    fn facts(name: &str, request: &Value, response: Option<&Value>) -> ProtectionFacts {
        facts_of(SOURCE, name, request, response)
    }

    /// A `CreateVolume` record as CloudTrail writes it: the response says what the volume is.
    #[test]
    fn volumes_are_what_the_response_says() {
        let request =
            json!({"size": 100, "zone": "eu-west-1a", "volumeType": "gp3", "encrypted": false});
        let response = json!({"volumeId": "vol-0a1b2c3d4e5f60718", "size": "100",
            "availabilityZone": "eu-west-1a", "status": "creating", "encrypted": false, "volumeType": "gp3"});
        let found = facts("CreateVolume", &request, Some(&response))
            .encrypted_at_rest
            .unwrap();
        assert!(!found.value);
        assert_eq!(
            found.evidence,
            Evidence::request("responseElements.encrypted", "false")
        );
        let encrypted_by_default = json!({"volumeId": "vol-1", "encrypted": true});
        assert!(
            facts("CreateVolume", &request, Some(&encrypted_by_default))
                .encrypted_at_rest
                .unwrap()
                .value
        );
    }

    /// `RunInstances` with the EC2 API reference's block device mapping, one volume unencrypted.
    #[test]
    fn an_unencrypted_block_device_mapping() {
        let request = json!({
            "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
            "instanceType": "t3.micro",
            "blockDeviceMapping": {"items": [
                {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 8, "deleteOnTermination": true, "volumeType": "gp3", "encrypted": true}},
                {"deviceName": "/dev/sdf", "ebs": {"volumeSize": 100, "deleteOnTermination": false, "volumeType": "gp3", "encrypted": false}}
            ]}
        });
        let found = facts("RunInstances", &request, None)
            .encrypted_at_rest
            .unwrap();
        assert!(!found.value);
        assert_eq!(
            found.evidence,
            Evidence::request(
                "requestParameters.blockDeviceMapping.items[1].ebs.encrypted",
                "false"
            )
        );
        let unstated = json!({"instanceType": "t3.micro", "blockDeviceMapping": {"items": [
            {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 8}}]}});
        assert!(facts("RunInstances", &unstated, None).is_empty());
    }

    /// The EC2 User Guide's "share a snapshot publicly" and "make an AMI public" requests.
    #[test]
    fn snapshots_and_images_shared_with_all() {
        let snapshot = json!({"snapshotId": "snap-1234567890abcdef0",
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"group": "all"}]}}});
        let public = facts("ModifySnapshotAttribute", &snapshot, None)
            .public
            .unwrap();
        assert!(public.value);
        assert_eq!(
            public.evidence,
            Evidence::request(
                "requestParameters.createVolumePermission.add.items[0].group",
                "all"
            )
        );
        let image = json!({"imageId": "ami-0abcdef1234567890", "attributeType": "launchPermission",
            "launchPermission": {"add": {"items": [{"userId": "444455556666"}, {"group": "all"}]}}});
        assert!(
            facts("ModifyImageAttribute", &image, None)
                .public
                .unwrap()
                .value
        );
        let withdrawn = json!({"imageId": "ami-0abcdef1234567890", "launchPermission": {
            "remove": {"items": [{"group": "all"}]}}});
        assert!(
            !facts("ModifyImageAttribute", &withdrawn, None)
                .public
                .unwrap()
                .value
        );
        let account = json!({"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [{"userId": "444455556666"}]}}});
        assert!(facts("ModifySnapshotAttribute", &account, None).is_empty());
    }
}
