//! Secrets Manager: a secret's resource policy open to anyone.

use super::policy_document::{parse_policy, public_statement};
use super::{evidence_text, CallRecord};
use crate::obligation::{Evidence, ProtectionFacts};

/// Secrets Manager's eventSource.
pub(super) const SOURCE: &str = "secretsmanager.amazonaws.com";

/// `PutResourcePolicy`: the policy (a JSON document in a string) allows anyone.
pub(super) fn resource_policy(record: &CallRecord<'_>, facts: &mut ProtectionFacts) {
    let Some((field, written)) = record.request_at(&["resourcePolicy"]) else {
        return;
    };
    let Some(policy) = parse_policy(written) else {
        return;
    };
    if let Some(statement) = public_statement(&policy) {
        facts.note_public(
            true,
            Evidence::request(
                format!("{field}.Statement[{}].{}", statement.index, statement.key),
                evidence_text(statement.principal),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::obligation::extract::facts_of;

    fn facts(policy: &str) -> ProtectionFacts {
        let request = json!({"secretId": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-a1B2c3",
            "resourcePolicy": policy, "blockPublicPolicy": false});
        facts_of(SOURCE, "PutResourcePolicy", &request, None)
    }

    /// A policy allowing `{"AWS": "*"}` is public; the Secrets Manager User Guide's policy for
    /// one role is not a fact.
    #[test]
    fn resource_policies() {
        let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        let public = facts(open).public.unwrap();
        assert!(public.value);
        assert_eq!(
            public.evidence,
            Evidence::request(
                "requestParameters.resourcePolicy.Statement[0].Principal",
                "{\"AWS\":\"*\"}"
            )
        );
        let role = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/MyRole"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
        assert!(facts(role).is_empty());
    }
}
