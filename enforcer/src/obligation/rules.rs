//! The compiled obligations of one classification (`[classification.<Class>]`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One obligation a classification can carry, as the policy and the JSON output name it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ObligationName {
    /// `encrypted_at_rest = true`: the data is encrypted at rest.
    EncryptedAtRest,
    /// `public_access = "deny"`: nobody outside the account can reach the data.
    PublicAccess,
    /// `allowed_regions = [...]`: the resource lives in one of these regions.
    AllowedRegions,
}

impl ObligationName {
    /// The key that states it in a `[classification.<Class>]` table.
    pub fn key(self) -> &'static str {
        match self {
            Self::EncryptedAtRest => "encrypted_at_rest",
            Self::PublicAccess => "public_access",
            Self::AllowedRegions => "allowed_regions",
        }
    }
}

impl std::fmt::Display for ObligationName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// `public_access`: may the data be reachable from outside the account?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PublicAccess {
    /// Never public: a setting that makes it public is a violation.
    Deny,
    /// Public access is allowed (nothing is checked).
    Allow,
}

impl PublicAccess {
    /// Parses `deny` or `allow`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "deny" => Some(Self::Deny),
            "allow" => Some(Self::Allow),
            _ => None,
        }
    }

    /// The policy's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Allow => "allow",
        }
    }
}

/// What one classification obliges its resources to honour. An obligation left out (`None`) is
/// not checked; `encrypted_at_rest = false` and `public_access = "allow"` say so explicitly
/// ("encryption optional", "public allowed") and check nothing either.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClassObligations {
    /// The class: a value of the classification tag's vocabulary, e.g. `Confidential`.
    pub class: String,
    /// `encrypted_at_rest`: `true` requires encryption at rest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted_at_rest: Option<bool>,
    /// `public_access`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_access: Option<PublicAccess>,
    /// `allowed_regions`: the regions the resource may live in (never empty when present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_regions: Option<Vec<String>>,
}

impl ClassObligations {
    /// The obligations this class states, in a fixed order, with the requirement as the policy
    /// writes it (`true`, `deny`, `eu-west-1, eu-central-1`): what `enforcer explain` lists.
    pub fn stated(&self) -> Vec<(ObligationName, String)> {
        let mut stated = Vec::new();
        if let Some(encrypted) = self.encrypted_at_rest {
            stated.push((ObligationName::EncryptedAtRest, encrypted.to_string()));
        }
        if let Some(public) = self.public_access {
            stated.push((ObligationName::PublicAccess, public.as_str().to_owned()));
        }
        if let Some(regions) = &self.allowed_regions {
            stated.push((ObligationName::AllowedRegions, regions.join(", ")));
        }
        stated
    }
}
