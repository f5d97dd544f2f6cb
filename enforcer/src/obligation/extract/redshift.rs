//! Redshift: a cluster's `encrypted` and `publiclyAccessible`.

use super::CallRecord;
use crate::obligation::{Evidence, ProtectionFacts};

/// Redshift's eventSource.
pub(super) const SOURCE: &str = "redshift.amazonaws.com";

/// `CreateCluster`, `ModifyCluster`: each flag the request sets, else the one the response
/// states.
pub(super) fn cluster(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    if let Some((field, public)) = record.flag(&["publiclyAccessible"]) {
        facts.note_public(public, Evidence::request(field, public.to_string()));
    }
    if let Some((field, encrypted)) = record.flag(&["encrypted"]) {
        facts.note_encrypted(encrypted, Evidence::request(field, encrypted.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::obligation::extract::facts_of;

    /// The Redshift API reference's `CreateCluster` example, made public and unencrypted.
    #[test]
    fn a_public_unencrypted_cluster() {
        let request = json!({"clusterIdentifier": "mycluster", "nodeType": "ra3.xlplus",
            "masterUsername": "adminuser", "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "numberOfNodes": 2, "publiclyAccessible": true, "encrypted": false});
        let found = facts_of(SOURCE, "CreateCluster", &request, None);
        assert_eq!(
            found.public.map(|f| f.evidence),
            Some(Evidence::request(
                "requestParameters.publiclyAccessible",
                "true"
            ))
        );
        assert!(!found.encrypted_at_rest.unwrap().value);
    }
}
