//! The policy file format as written by policy authors, with source spans kept for diagnostics.
//!
//! Every table denies unknown keys: a typo such as `requird` is an error, never silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// One policy file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// File-wide settings.
    #[serde(default)]
    pub policy: Option<PolicyHeader>,
    /// The tag vocabulary: tag key → what values it may take.
    #[serde(default)]
    pub tags: BTreeMap<Spanned<String>, TagSpecRaw>,
    /// Rules, applied in order.
    #[serde(default)]
    pub rule: Vec<RuleRaw>,
    /// Resources the enforcer leaves alone.
    #[serde(default)]
    pub exemption: Vec<ExemptionRaw>,
    /// Owners: `ProcessOwner` value → where their alerts go.
    #[serde(default)]
    pub owners: BTreeMap<Spanned<String>, OwnerRaw>,
    /// How quarantines isolate resources.
    #[serde(default)]
    pub quarantine: Option<QuarantineRaw>,
}

/// `[quarantine]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QuarantineRaw {
    /// IAM role or user ARNs a quarantine never locks out (the S3 bucket policy's exceptions).
    #[serde(default)]
    pub break_glass_principals: Vec<Spanned<String>>,
}

/// `[policy]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyHeader {
    /// Name of the standard.
    #[serde(default)]
    pub name: Option<String>,
    /// What the standard is for.
    #[serde(default)]
    pub description: Option<String>,
    /// `enforce` or `audit`.
    #[serde(default)]
    pub mode: Option<Spanned<String>>,
    /// Owner alerted when a resource names none.
    #[serde(default)]
    pub default_owner: Option<Spanned<String>>,
}

/// `[tags.<Key>]`: the values one tag may take.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TagSpecRaw {
    /// What the tag means, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The allowed values (a closed list).
    #[serde(default)]
    pub values: Option<Vec<Spanned<String>>>,
    /// A regex each value (or list item) must match in full.
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
    /// Separator when the value is a list, e.g. `","`.
    #[serde(default)]
    pub list: Option<Spanned<String>>,
    /// May the enforcer rewrite a value that differs from an allowed one only in case?
    #[serde(default)]
    pub case_fix: bool,
}

/// `[[rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRaw {
    /// Unique name, shown in every violation.
    pub name: Spanned<String>,
    /// What the rule is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Resource types it selects (Resource Groups Tagging API names); absent or `["*"]` = all.
    #[serde(default)]
    pub resource_types: Option<Vec<Spanned<String>>>,
    /// Name patterns (regex, named captures allowed); the rule selects a resource whose name
    /// matches any of them. Absent = every name.
    #[serde(default)]
    pub names: Option<Vec<Spanned<String>>>,
    /// Existing tags the resource must have for the rule to select it: key → regex.
    #[serde(default)]
    pub when_tags: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Tags that must be present.
    #[serde(default)]
    pub require: Vec<Spanned<String>>,
    /// Tags that should be present (a warning, never an action).
    #[serde(default)]
    pub recommend: Vec<Spanned<String>>,
    /// Values known with certainty: added when missing, a conflict when different.
    #[serde(default)]
    pub set: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Values added when missing; another allowed value is not a conflict.
    #[serde(default)]
    pub default: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Values narrower than the vocabulary for the resources this rule selects.
    #[serde(default)]
    pub allow: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    /// What to do when a violation cannot be fixed by adding tags: `alert` or `quarantine`.
    #[serde(default)]
    pub action: Option<Spanned<String>>,
}

/// `[[exemption]]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExemptionRaw {
    /// Regex over the resource ARN.
    #[serde(default)]
    pub arn: Option<Spanned<String>>,
    /// Why, shown in the decision.
    pub reason: String,
}

/// `[owners.<ProcessOwner>]`.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct OwnerRaw {
    /// The owner's Slack channel, e.g. `#data-engineering`.
    #[serde(default)]
    pub slack_channel: Option<String>,
    /// A contact address.
    #[serde(default)]
    pub email: Option<String>,
}
