//! The policy file format as written by policy authors, with source spans kept for diagnostics.
//!
//! Every table denies unknown keys: a typo such as `requird` is an error, never silently ignored.
//! The JSON Schema of the format (`policies/policy.schema.json`) is generated from these types,
//! and [`super::schema`] checks a parsed file against that same schema before deserializing it,
//! so editors and `enforcer validate` agree on what a key is and what type it takes.
//!
//! The doc comments below become the schema's descriptions, which editors show on hover.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

/// A file of the tagging standard: settings, the tag vocabulary, rules, exemptions and owners.
/// Every `*.toml` file of the policy directory is merged into one standard.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Enforcer tagging policy")]
pub(crate) struct PolicyFile {
    /// File-wide settings.
    #[serde(default)]
    pub policy: Option<PolicyHeader>,
    /// The tag vocabulary: tag key → the values it may take.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, TagSpecRaw>")]
    pub tags: BTreeMap<Spanned<String>, TagSpecRaw>,
    /// Rules: which resources they select and what they expect of their tags.
    #[serde(default)]
    pub rule: Vec<RuleRaw>,
    /// Resources the enforcer leaves alone: by ARN, by the caller of the event, or both.
    #[serde(default)]
    pub exemption: Vec<ExemptionRaw>,
    /// The opt-out tag (an exemption a resource carries, with an expiry) and how to request an
    /// exemption.
    #[serde(default)]
    pub exemptions: Option<ExemptionsRaw>,
    /// Owners: owner-tag value (e.g. a `ProcessOwner` team) → where their alerts go.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, OwnerRaw>")]
    pub owners: BTreeMap<Spanned<String>, OwnerRaw>,
    /// How quarantines isolate resources.
    #[serde(default)]
    pub quarantine: Option<QuarantineRaw>,
    /// What each data classification obliges its resources to honour: class (a value of the
    /// classification tag, `[policy] classification_tag`) → its obligations.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, ClassificationRaw>")]
    pub classification: BTreeMap<Spanned<String>, ClassificationRaw>,
    /// What Amazon Macie's sensitive data findings oblige: category → the lowest class of the
    /// ranked classification tag a bucket holding such data may carry.
    #[serde(default)]
    pub macie: Option<MacieRaw>,
    /// Creators → owners: where the alert about a resource that names no owner goes, by who
    /// created it. The key is a creator's name (IAM or Identity Center user name, source
    /// identity, role name), email or ARN, exact or with `*` wildcards, case-insensitive; an
    /// exact key wins over a pattern, a longer pattern over a shorter one.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, CreatorRouteRaw>")]
    pub creators: BTreeMap<Spanned<String>, CreatorRouteRaw>,
}

/// `[classification.<Class>]`: what resources of one class must honour, checked against the
/// settings the events that change them carry and the settings read on the resource.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClassificationRaw {
    /// What the class means, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// `true`: the data must be encrypted at rest (an unencrypted volume, DB instance or
    /// bucket is a violation). `false`: encryption is optional. Absent: not checked.
    #[serde(default)]
    pub encrypted_at_rest: Option<bool>,
    /// `deny`: the data must never be reachable from outside the account (a public bucket
    /// policy or ACL, a publicly accessible DB instance, a snapshot shared with everyone is a
    /// violation). `allow`: public access is allowed. Absent: not checked.
    #[serde(default)]
    #[schemars(with = "Option<PublicAccessName>")]
    pub public_access: Option<Spanned<String>>,
    /// The regions resources of this class may live in, e.g. `["eu-west-1", "eu-central-1"]`
    /// (the region of the call that creates or changes them). Absent: any region.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub allowed_regions: Option<Vec<Spanned<String>>>,
    /// What to do about a broken obligation: `alert` (default) or `quarantine` (only where the
    /// enforcer may quarantine: a creation or a scan, never a protected resource).
    #[serde(default)]
    #[schemars(with = "Option<ActionName>")]
    pub action: Option<Spanned<String>>,
}

/// The `public_access` settings (schema only: the compiler reads the text, to suggest a fix for
/// a typo).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum PublicAccessName {
    /// Never public.
    Deny,
    /// Public access allowed.
    Allow,
}

/// `[macie]`: what Amazon Macie's sensitive data findings say about a bucket's classification.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MacieRaw {
    /// Category of sensitive data (`PERSONAL_INFORMATION`, `FINANCIAL_INFORMATION`,
    /// `CREDENTIALS`, `CUSTOM_IDENTIFIER`) → the lowest value of the ranked tag (`ranked = true`,
    /// e.g. `DataClassification`) a bucket where Macie found it may carry, e.g.
    /// `{ PERSONAL_INFORMATION = "Confidential", CREDENTIALS = "Restricted" }`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub minimum_class: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// `[creators."<name, email or pattern>"]`: the owner alerted about what this creator made when
/// the resource names no owner.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatorRouteRaw {
    /// An owner defined in `[owners]`.
    #[schemars(with = "String")]
    pub owner: Spanned<String>,
}

/// `[quarantine]`: how quarantines isolate resources.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuarantineRaw {
    /// IAM role or user ARNs a quarantine never locks out (the S3 bucket policy's exceptions),
    /// e.g. `arn:aws:iam::111122223333:role/BreakGlass`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub break_glass_principals: Vec<Spanned<String>>,
    /// Regexes searched in resource ARNs: resources never quarantined (alerted about instead),
    /// e.g. the CloudTrail bucket, whose isolation would stop the audit log.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub(crate) protect: Vec<Spanned<String>>,
}

/// `[policy]`: settings of the whole standard.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyHeader {
    /// Name of the standard.
    #[serde(default)]
    pub name: Option<String>,
    /// What the standard is for.
    #[serde(default)]
    pub description: Option<String>,
    /// `enforce` (write tags, quarantine) or `audit` (plan and alert, write nothing). Default
    /// `enforce`.
    #[serde(default)]
    #[schemars(with = "Option<ModeName>")]
    pub mode: Option<Spanned<String>>,
    /// Owner alerted when a resource names none; must be defined in `[owners]`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub default_owner: Option<Spanned<String>>,
    /// The tag whose value names the accountable owner. Default `ProcessOwner`. Every value a
    /// rule sets, defaults or allows for it must be defined in `[owners]`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub owner_tag: Option<Spanned<String>>,
    /// The tag whose value is a resource's data classification. Default `DataClassification`.
    /// Each `[classification.<Class>]` names one of its `values`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub classification_tag: Option<Spanned<String>>,
    /// How long an unchanged problem waits for its one reminder after the last message about it:
    /// a whole number and a unit, `s`, `m`, `h` or `d` (`"24h"`, `"90m"`, `"7d"`). Default
    /// `24h`; from `1m` to `365d`.
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub renotify_after: Option<Spanned<String>>,
}

/// A duration as policies write it (schema only: the compiler parses the text, to point at a
/// mistake).
#[allow(dead_code)]
struct DurationText;

impl JsonSchema for DurationText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+[smhd]$",
            "description": "A whole number and a unit: `s`, `m`, `h` or `d`, e.g. `24h`."
        })
    }
}

/// The modes (schema only: the compiler reads the text, to suggest a fix for a typo).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ModeName {
    /// Write tags and quarantine.
    Enforce,
    /// Plan and alert only.
    Audit,
}

/// The actions (schema only: the compiler reads the text, to suggest a fix for a typo).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ActionName {
    /// Tell the owner.
    Alert,
    /// Isolate the resource (reversibly) and tell the owner.
    Quarantine,
}

/// `[tags.<Key>]`: the values one tag may take.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TagSpecRaw {
    /// What the tag means, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The allowed values (a closed list). A value differing from one only in case is reported
    /// as wrong case, and fixed when `case_fix` is on.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub values: Option<Vec<Spanned<String>>>,
    /// A regex each value (or each list item) must match in full.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub pattern: Option<Spanned<String>>,
    /// Separator when the value is a list, e.g. `","`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub list: Option<Spanned<String>>,
    /// May the enforcer rewrite a value that differs from an allowed one only in case?
    #[serde(default)]
    pub case_fix: bool,
    /// When a resource the enforcer saw carry this tag loses it, write the last value seen back
    /// (kept in the state table) instead of only alerting.
    #[serde(default)]
    pub restore: bool,
    /// With `values`: the values are listed from the lowest class to the highest (`Public`,
    /// `Internal`, `Confidential`, `Restricted`). A value below what a rule `set`s for the
    /// resource, or below what Macie's findings warrant (`[macie]`), is an `obligation`
    /// violation. At most one tag is ranked.
    #[serde(default)]
    #[schemars(with = "bool")]
    pub ranked: Option<Spanned<bool>>,
}

/// `[[rule]]`: selects resources (by type, name and existing tags) and says what their tags must
/// be.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleRaw {
    /// Unique name, shown in every violation.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the rule is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Resource types it selects, in the Resource Groups Tagging API's naming (`s3:bucket`,
    /// `rds:db`, …); absent or `["*"]` = every type.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub resource_types: Option<Vec<Spanned<String>>>,
    /// Name patterns (regex, searched anywhere in the name unless anchored with `^…$`; named
    /// captures such as `(?P<env>…)` can be used in values as `${env}`). The rule selects a
    /// resource whose name matches any of them. Absent = every name.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub names: Option<Vec<Spanned<String>>>,
    /// Existing tags the resource must have for the rule to select it: key → regex the whole
    /// value must match.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub when_tags: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Rules this one takes precedence over: when this rule and one listed here both select a
    /// resource, the listed rule does not apply to it.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub overrides: Vec<Spanned<String>>,
    /// Tags that must be present.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub require: Vec<Spanned<String>>,
    /// Tags that should be present (a warning, never an action).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub recommend: Vec<Spanned<String>>,
    /// Values known with certainty: added when missing, a conflict when different.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub set: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Values added when missing; another allowed value is not a conflict.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub default: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Values narrower than the vocabulary for the resources this rule selects.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<String>>")]
    pub allow: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    /// What to do when a violation cannot be fixed by adding tags: `alert` (default) or
    /// `quarantine`.
    #[serde(default)]
    #[schemars(with = "Option<ActionName>")]
    pub action: Option<Spanned<String>>,
}

/// `[[exemption]]`: resources the enforcer leaves alone. Give `arn`, `principal` or both (then
/// both must match).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExemptionRaw {
    /// Regex searched in the resource ARN.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub arn: Option<Spanned<String>>,
    /// The caller of the event, as an IAM ARN pattern with `ArnLike` wildcards (`*`, `?`, never
    /// crossing a `:`), e.g. `arn:aws:iam::*:role/deploy-*`. It matches the caller's
    /// `userIdentity.arn` or, for an assumed-role session, the role that issued it. Events
    /// only: a scan has no caller.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub principal: Option<Spanned<String>>,
    /// Why, shown in the decision.
    #[schemars(with = "String")]
    pub reason: Spanned<String>,
}

/// The fields of the opt-out tag (schema only: the compiler reads the text, to point at a
/// mistake).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum OptOutFieldName {
    /// The last day (UTC) the exemption applies, `YYYY-MM-DD`.
    Until,
    /// Why.
    Reason,
    /// Who approved it.
    By,
}

/// `[exemptions]`: the opt-out tag a resource may carry, `until=YYYY-MM-DD;reason=…;by=…`, and
/// how to request an exemption.
#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExemptionsRaw {
    /// The opt-out tag's key. Default `enforcer:exempt`. The enforcer never writes it.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub tag: Option<Spanned<String>>,
    /// Fields the tag's value must carry (`until` always is): any of `until`, `reason`, `by`.
    #[serde(default)]
    #[schemars(with = "Vec<OptOutFieldName>")]
    pub require: Vec<Spanned<String>>,
    /// The longest an opt-out may run: `until` at most this many days after the day of the
    /// decision. Absent = no cap.
    #[serde(default)]
    #[schemars(with = "Option<u32>", range(min = 1, max = 3650))]
    pub max_days: Option<Spanned<u32>>,
    /// Callers (IAM ARN patterns, as `[[exemption]] principal`) whose writing of the tag makes
    /// it count; absent = anyone's. A tag whose writer is not known (a scan) does not count
    /// when approvers are named.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub approvers: Vec<Spanned<String>>,
    /// Days before an opt-out expires that the scheduled scan reminds the owner, once.
    #[serde(default)]
    #[schemars(with = "Option<u32>", range(min = 1, max = 365))]
    pub remind_days: Option<Spanned<u32>>,
    /// How to request an exemption, shown in every alert about a violation, e.g. "open a
    /// ticket in the DATAGOV Jira project".
    #[serde(default)]
    pub how_to_request: Option<String>,
}

/// `[owners.<name>]`: where one owner's alerts go.
#[derive(Debug, Deserialize, Default, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OwnerRaw {
    /// The owner's Slack channel, e.g. `#data-engineering`.
    #[serde(default)]
    pub slack_channel: Option<String>,
    /// A contact address.
    #[serde(default)]
    pub email: Option<String>,
    /// The Slack workspace (team) id the owner's channel is in, as authorized in Amazon Q
    /// Developer in chat applications, e.g. `T0123ABCD`. With `slack_channel_id`, the deployment
    /// gets this owner's own alerts topic and a Q Developer channel configuration on it
    /// (`enforcer alert cloudformation`).
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[TE][A-Z0-9]{6,20}$"))]
    pub slack_workspace_id: Option<Spanned<String>>,
    /// The Slack channel id that receives the owner's alerts, e.g. `C0123456789` (public) or
    /// `G0123456789` (private): the channel's id, not its `#name`.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[CG][A-Z0-9]{6,20}$"))]
    pub slack_channel_id: Option<Spanned<String>>,
    /// An SNS topic the owner brings: its alerts are published there instead of a topic the
    /// deployment creates, e.g. `arn:aws:sns:eu-west-1:111122223333:data-eng-alerts`.
    #[serde(default)]
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")
    )]
    pub sns_topic_arn: Option<Spanned<String>>,
}
