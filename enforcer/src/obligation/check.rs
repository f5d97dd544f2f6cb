//! Checking a class's obligations against what is known of a resource's protection.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::facts::{Evidence, ProtectionFacts};
use super::rules::{ClassObligations, ObligationName, PublicAccess};

/// One obligation a resource does not honour, with the evidence that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObligationViolation {
    /// The obligation: `encrypted_at_rest`, `public_access` or `allowed_regions`.
    pub name: ObligationName,
    /// The resource's class, e.g. `Confidential`.
    pub class: String,
    /// What the class requires, as the policy writes it (`true`, `deny`, `eu-west-1, …`).
    pub required: String,
    /// Where the failing setting was seen.
    pub evidence: Evidence,
}

impl ObligationViolation {
    /// For people: what is wrong and where it was seen.
    pub fn message(&self) -> String {
        let class = &self.class;
        let what = match self.name {
            ObligationName::EncryptedAtRest => format!("{class} data must be encrypted at rest"),
            ObligationName::PublicAccess => format!("{class} data must never be public"),
            ObligationName::AllowedRegions => {
                format!("{class} data must stay in {}", self.required)
            }
        };
        format!("{what}, but {}", self.evidence)
    }
}

/// The obligations of `obligations` that `facts` show broken, in the order encrypted at rest,
/// public access, allowed regions. An obligation with no fact to weigh is not broken: unknown is
/// not a violation (the read on the resource supplies what an event does not carry).
pub fn check(obligations: &ClassObligations, facts: &ProtectionFacts) -> Vec<ObligationViolation> {
    let mut broken = Vec::new();
    let mut violation = |name: ObligationName, required: String, evidence: &Evidence| {
        broken.push(ObligationViolation {
            name,
            class: obligations.class.clone(),
            required,
            evidence: evidence.clone(),
        });
    };
    if obligations.encrypted_at_rest == Some(true) {
        if let Some(fact) = facts.encrypted_at_rest.as_ref().filter(|fact| !fact.value) {
            violation(
                ObligationName::EncryptedAtRest,
                "true".to_owned(),
                &fact.evidence,
            );
        }
    }
    if obligations.public_access == Some(PublicAccess::Deny) {
        if let Some(fact) = facts.public.as_ref().filter(|fact| fact.value) {
            violation(
                ObligationName::PublicAccess,
                "deny".to_owned(),
                &fact.evidence,
            );
        }
    }
    if let Some(allowed) = &obligations.allowed_regions {
        if let Some(fact) = facts
            .region
            .as_ref()
            .filter(|fact| !allowed.contains(&fact.value))
        {
            violation(
                ObligationName::AllowedRegions,
                allowed.join(", "),
                &fact.evidence,
            );
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obligation::Fact;

    fn confidential() -> ClassObligations {
        ClassObligations {
            class: "Confidential".to_owned(),
            encrypted_at_rest: Some(true),
            public_access: Some(PublicAccess::Deny),
            allowed_regions: Some(vec!["eu-west-1".to_owned()]),
        }
    }

    fn facts(
        encrypted: Option<bool>,
        public: Option<bool>,
        region: Option<&str>,
    ) -> ProtectionFacts {
        ProtectionFacts {
            encrypted_at_rest: encrypted.map(|value| {
                Fact::new(
                    value,
                    Evidence::request("requestParameters.storageEncrypted", value.to_string()),
                )
            }),
            public: public.map(|value| {
                Fact::new(
                    value,
                    Evidence::request("requestParameters.publiclyAccessible", value.to_string()),
                )
            }),
            region: region
                .map(|value| Fact::new(value.to_owned(), Evidence::request("awsRegion", value))),
        }
    }

    /// Each obligation fails on its own fact, with that fact's evidence, and only then.
    #[test]
    fn each_obligation_fails_only_on_its_own_fact() {
        let all_bad = check(
            &confidential(),
            &facts(Some(false), Some(true), Some("us-east-1")),
        );
        let names: Vec<ObligationName> = all_bad.iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            [
                ObligationName::EncryptedAtRest,
                ObligationName::PublicAccess,
                ObligationName::AllowedRegions
            ]
        );
        assert_eq!(
            all_bad[1].evidence,
            Evidence::request("requestParameters.publiclyAccessible", "true")
        );
        assert_eq!(all_bad[2].required, "eu-west-1");
        assert_eq!(
            all_bad[0].message(),
            "Confidential data must be encrypted at rest, but the request's \
             `requestParameters.storageEncrypted` is `false`"
        );
        assert_eq!(
            all_bad[2].message(),
            "Confidential data must stay in eu-west-1, but the request's `awsRegion` is `us-east-1`"
        );

        assert!(check(
            &confidential(),
            &facts(Some(true), Some(false), Some("eu-west-1"))
        )
        .is_empty());
        assert!(check(&confidential(), &ProtectionFacts::default()).is_empty());
    }

    /// `encrypted_at_rest = false` and `public_access = "allow"` check nothing.
    #[test]
    fn optional_obligations_check_nothing() {
        let public = ClassObligations {
            class: "Public".to_owned(),
            encrypted_at_rest: Some(false),
            public_access: Some(PublicAccess::Allow),
            allowed_regions: None,
        };
        assert!(check(&public, &facts(Some(false), Some(true), Some("us-east-1"))).is_empty());
    }
}
