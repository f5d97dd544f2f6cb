//! RDS: a DB instance's or cluster's `publiclyAccessible` and `storageEncrypted`, and snapshots
//! shared with everyone.

use serde_json::Value;

use super::{evidence_text, CallRecord};
use crate::obligation::{Evidence, ProtectionFacts};

/// RDS's eventSource.
pub(super) const SOURCE: &str = "rds.amazonaws.com";

/// `CreateDBInstance`, `CreateDBInstanceReadReplica`, `ModifyDBInstance`, `CreateDBCluster`,
/// `ModifyDBCluster`: each flag the request sets, else the one the response states (a create
/// call's response carries the defaults the request left out: `storageEncrypted: false`).
/// `publiclyAccessible` alone decides whether the instance is reachable from the internet, so
/// `false` is a fact too.
pub(super) fn instance_or_cluster(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    if let Some((field, public)) = record.flag(&["publiclyAccessible"]) {
        facts.note_public(public, Evidence::request(field, public.to_string()));
    }
    if let Some((field, encrypted)) = record.flag(&["storageEncrypted"]) {
        facts.note_encrypted(encrypted, Evidence::request(field, encrypted.to_string()));
    }
}

/// `ModifyDBSnapshotAttribute`, `ModifyDBClusterSnapshotAttribute`: the `restore` attribute
/// given `all` makes the snapshot public (any AWS account can restore it); taking `all` away
/// makes it private.
pub(super) fn snapshot_restore_attribute(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    let restore = record
        .request_at(&["attributeName"])
        .and_then(|(_, name)| name.as_str())
        .is_some_and(|name| name.eq_ignore_ascii_case("restore"));
    if !restore {
        return;
    }
    let names_all = |values: &Value| match values {
        Value::Array(items) => items.iter().any(|v| v.as_str() == Some("all")),
        single => single.as_str() == Some("all"),
    };
    if let Some((field, added)) = record
        .request_at(&["valuesToAdd"])
        .filter(|(_, v)| names_all(v))
    {
        facts.note_public(true, Evidence::request(field, evidence_text(added)));
    } else if let Some((field, removed)) = record
        .request_at(&["valuesToRemove"])
        .filter(|(_, v)| names_all(v))
    {
        facts.note_public(false, Evidence::request(field, evidence_text(removed)));
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

    /// The RDS API reference's `CreateDBInstance` example made public and unencrypted: both
    /// facts, from the request fields.
    #[test]
    fn a_public_unencrypted_instance() {
        let request = json!({
            "dBInstanceIdentifier": "mydbinstance",
            "dBInstanceClass": "db.t3.micro",
            "engine": "mysql",
            "masterUsername": "admin",
            "allocatedStorage": 20,
            "publiclyAccessible": true,
            "storageEncrypted": false
        });
        let found = facts("CreateDBInstance", &request, None);
        assert_eq!(
            found.public.map(|f| (f.value, f.evidence)),
            Some((
                true,
                Evidence::request("requestParameters.publiclyAccessible", "true")
            ))
        );
        assert_eq!(
            found.encrypted_at_rest.map(|f| (f.value, f.evidence)),
            Some((
                false,
                Evidence::request("requestParameters.storageEncrypted", "false")
            ))
        );
    }

    /// A request that leaves the flags out: the response states the defaults.
    #[test]
    fn the_response_states_what_the_request_left_out() {
        let request = json!({"dBInstanceIdentifier": "orders", "engine": "postgres"});
        let response = json!({"dBInstanceIdentifier": "orders", "storageEncrypted": false,
            "publiclyAccessible": false, "dBInstanceArn": "arn:aws:rds:eu-west-1:111122223333:db:orders"});
        let found = facts("CreateDBInstance", &request, Some(&response));
        let encrypted = found.encrypted_at_rest.unwrap();
        assert!(!encrypted.value);
        assert_eq!(
            encrypted.evidence,
            Evidence::request("responseElements.storageEncrypted", "false")
        );
        assert!(!found.public.unwrap().value);
    }

    /// A manual snapshot shared with `all` is public; shared with an account, it is not a fact;
    /// `all` taken away makes it private.
    #[test]
    fn snapshots_shared_with_all() {
        let shared = json!({"dBSnapshotIdentifier": "mydbsnapshot", "attributeName": "restore",
            "valuesToAdd": ["all"]});
        let public = facts("ModifyDBSnapshotAttribute", &shared, None)
            .public
            .unwrap();
        assert!(public.value);
        assert_eq!(
            public.evidence,
            Evidence::request("requestParameters.valuesToAdd", "[\"all\"]")
        );
        let account = json!({"dBSnapshotIdentifier": "s", "attributeName": "restore",
            "valuesToAdd": ["444455556666"]});
        assert!(facts("ModifyDBSnapshotAttribute", &account, None).is_empty());
        let unshared = json!({"dBClusterSnapshotIdentifier": "s", "attributeName": "restore",
            "valuesToRemove": ["all"]});
        assert!(
            !facts("ModifyDBClusterSnapshotAttribute", &unshared, None)
                .public
                .unwrap()
                .value
        );
    }
}
