//! What is known of a resource's protection settings, each with where it was seen.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a fact about a resource's protection was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Evidence {
    /// In the request of the event that changed the setting.
    Request {
        /// Where in the record, e.g. `requestParameters.publiclyAccessible` or
        /// `requestParameters.bucketPolicy.Statement[0].Principal`.
        field: String,
        /// The value there, as text (JSON for objects), e.g. `true` or `"*"`.
        value: String,
    },
    /// In the setting read on the resource itself (the event did not carry it, or a scan).
    Current {
        /// The setting, e.g. `GetBucketPolicyStatus.IsPublic` or `DBInstance.StorageEncrypted`.
        setting: String,
        /// Its value, as text.
        value: String,
    },
}

impl Evidence {
    /// Evidence from the request at `field` with `value`.
    pub fn request(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Request {
            field: field.into(),
            value: value.into(),
        }
    }

    /// Evidence from the setting `setting` read on the resource, with `value`.
    pub fn current(setting: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Current {
            setting: setting.into(),
            value: value.into(),
        }
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Request { field, value } => write!(f, "the request's `{field}` is `{value}`"),
            Self::Current { setting, value } => {
                write!(f, "its current setting `{setting}` is `{value}`")
            }
        }
    }
}

/// A value known about a resource, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Fact<T> {
    /// The value.
    pub value: T,
    /// Where it was seen.
    pub evidence: Evidence,
}

impl<T> Fact<T> {
    /// A fact `value` seen in `evidence`.
    pub fn new(value: T, evidence: Evidence) -> Self {
        Self { value, evidence }
    }
}

/// What is known of one resource's protection settings. A `None` is unknown (nothing said it),
/// never "off": an obligation is only checked against a fact.
///
/// `public` is `true` when a setting makes the data reachable from outside the account (a bucket
/// policy allowing `"*"` without a restricting condition, an ACL grant to `AllUsers`, a DB
/// instance `publiclyAccessible`, a snapshot shared with `all`); `false` only where one setting
/// alone decides it (an RDS instance's `publiclyAccessible: false`), never from one of several
/// settings that together make a bucket public.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtectionFacts {
    /// Is the data encrypted at rest?
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_at_rest: Option<Fact<bool>>,
    /// Is the data reachable from outside the account?
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<Fact<bool>>,
    /// The region the resource lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Fact<String>>,
}

impl ProtectionFacts {
    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.encrypted_at_rest.is_none() && self.public.is_none() && self.region.is_none()
    }

    /// These facts (an event's) laid over `read` (what a read of the resource found): each fact
    /// the event carries wins, since the read may lag the event; the read fills the rest.
    pub fn overlay(&self, read: &ProtectionFacts) -> ProtectionFacts {
        ProtectionFacts {
            encrypted_at_rest: self
                .encrypted_at_rest
                .clone()
                .or_else(|| read.encrypted_at_rest.clone()),
            public: self.public.clone().or_else(|| read.public.clone()),
            region: self.region.clone().or_else(|| read.region.clone()),
        }
    }

    /// Records that the data is (or is not) encrypted at rest, unless already known: the first
    /// fact found stands (an unencrypted volume among encrypted ones stays unencrypted because
    /// extractors report the failing one first).
    pub fn note_encrypted(&mut self, value: bool, evidence: Evidence) {
        match &self.encrypted_at_rest {
            Some(known) if !known.value || value => {}
            _ => self.encrypted_at_rest = Some(Fact::new(value, evidence)),
        }
    }

    /// Records that the data is (or is not) public; a `true` always wins over a `false`, the
    /// first `true` found stands.
    pub fn note_public(&mut self, value: bool, evidence: Evidence) {
        match &self.public {
            Some(known) if known.value || !value => {}
            _ => self.public = Some(Fact::new(value, evidence)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event's fact wins over the read; the read fills what the event does not say.
    #[test]
    fn the_event_wins_over_the_read() {
        let mut event = ProtectionFacts::default();
        event.note_public(
            true,
            Evidence::request("requestParameters.publiclyAccessible", "true"),
        );
        let mut read = ProtectionFacts::default();
        read.note_public(
            false,
            Evidence::current("DBInstance.PubliclyAccessible", "false"),
        );
        read.note_encrypted(
            true,
            Evidence::current("DBInstance.StorageEncrypted", "true"),
        );
        let merged = event.overlay(&read);
        assert_eq!(merged.public.as_ref().map(|f| f.value), Some(true));
        assert!(matches!(
            merged.public.map(|f| f.evidence),
            Some(Evidence::Request { .. })
        ));
        assert_eq!(merged.encrypted_at_rest.map(|f| f.value), Some(true));
        assert!(merged.region.is_none());
    }

    /// A violating value, once noted, is not hidden by a compliant one noted after it.
    #[test]
    fn a_violating_fact_is_not_overwritten_by_a_compliant_one() {
        let mut facts = ProtectionFacts::default();
        facts.note_encrypted(false, Evidence::request("a", "false"));
        facts.note_encrypted(true, Evidence::request("b", "true"));
        facts.note_public(true, Evidence::request("c", "\"*\""));
        facts.note_public(false, Evidence::request("d", "false"));
        assert_eq!(
            facts.encrypted_at_rest,
            Some(Fact::new(false, Evidence::request("a", "false")))
        );
        assert_eq!(
            facts.public,
            Some(Fact::new(true, Evidence::request("c", "\"*\"")))
        );
        let mut compliant = ProtectionFacts::default();
        compliant.note_encrypted(true, Evidence::request("a", "true"));
        compliant.note_encrypted(false, Evidence::request("b", "false"));
        assert_eq!(compliant.encrypted_at_rest.map(|f| f.value), Some(false));
    }
}
