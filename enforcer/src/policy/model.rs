//! The compiled, ready-to-evaluate policy set. Regexes are compiled once, at load.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde::Serialize;

use super::exemption::{ExemptionSettings, PrincipalPattern};
use crate::event::Creator;
use crate::obligation::ClassObligations;

/// Where a policy element was written, for `explain` and for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// File path.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// `enforce` writes tags and quarantines; `audit` plans and alerts but writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Write tags and quarantine.
    #[default]
    Enforce,
    /// Plan and alert only.
    Audit,
}

impl Mode {
    /// Parses `enforce` or `audit`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "enforce" => Some(Self::Enforce),
            "audit" => Some(Self::Audit),
            _ => None,
        }
    }
}

/// What to do about violations that adding tags cannot fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UnfixableAction {
    /// Tell the owner.
    #[default]
    Alert,
    /// Isolate the resource (reversibly) and tell the owner.
    Quarantine,
}

/// The allowed values of one tag.
#[derive(Debug, Clone)]
pub struct TagSpec {
    /// The tag key, exact case.
    pub key: String,
    /// What it means.
    pub description: Option<String>,
    /// Closed list of allowed values.
    pub values: Option<Vec<String>>,
    /// Regex each value (or list item) must match, anchored at both ends at compile time.
    pub pattern: Option<Regex>,
    /// The pattern as the author wrote it.
    pub(crate) pattern_text: Option<String>,
    /// Separator when the value is a list.
    pub(crate) list_separator: Option<String>,
    /// The enforcer may fix a value that differs from an allowed one only in case.
    pub case_fix: bool,
    /// A removed value is written back from the state table's last known one.
    pub restore: bool,
    /// The values are ranked, lowest class first (see [`PolicySet::rank`]).
    pub ranked: bool,
    /// Where it was defined.
    pub origin: Origin,
}

/// The placeholder a rule's `default` value may use for the name of the call's creator
/// ([`crate::event::Creator`]): filled only when the event names a principal, never a service.
pub(crate) const CREATOR_PLACEHOLDER: &str = "{creator}";

/// A value a rule sets: literal text with `${capture}` references to the name pattern's named
/// groups, and (in `default` values) `{creator}`, the name of the call's creator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueTemplate {
    /// The text as written.
    pub text: String,
}

/// One piece of a [`ValueTemplate`].
enum Piece<'t> {
    Text(&'t str),
    Capture(&'t str),
    Creator,
}

impl ValueTemplate {
    /// The template's pieces, left to right: a `${` without its `}` is text.
    fn pieces(&self) -> Vec<Piece<'_>> {
        let mut pieces = Vec::new();
        let mut rest = self.text.as_str();
        loop {
            let capture = rest.find("${");
            let creator = rest.find(CREATOR_PLACEHOLDER);
            match (capture, creator) {
                (Some(at), creator) if creator.is_none_or(|c| at < c) => {
                    let after = &rest[at + 2..];
                    let Some(end) = after.find('}') else { break };
                    pieces.push(Piece::Text(&rest[..at]));
                    pieces.push(Piece::Capture(&after[..end]));
                    rest = &after[end + 1..];
                }
                (_, Some(at)) => {
                    pieces.push(Piece::Text(&rest[..at]));
                    pieces.push(Piece::Creator);
                    rest = &rest[at + CREATOR_PLACEHOLDER.len()..];
                }
                (_, None) => break,
            }
        }
        pieces.push(Piece::Text(rest));
        pieces
    }

    /// True when the value uses no capture and no `{creator}`.
    pub(crate) fn is_literal(&self) -> bool {
        self.pieces()
            .iter()
            .all(|piece| matches!(piece, Piece::Text(_)))
    }

    /// True when the value uses `{creator}`.
    pub fn uses_creator(&self) -> bool {
        self.pieces()
            .iter()
            .any(|piece| matches!(piece, Piece::Creator))
    }

    /// The capture names the value uses.
    pub fn captures(&self) -> Vec<&str> {
        self.pieces()
            .into_iter()
            .filter_map(|piece| match piece {
                Piece::Capture(name) => Some(name),
                Piece::Text(_) | Piece::Creator => None,
            })
            .collect()
    }

    /// The value with captures and the creator's name filled in, in one pass (a filled-in value
    /// is never read as a placeholder); `None` when a capture did not participate, or the value
    /// uses `{creator}` and `creator` is `None`.
    pub fn render(
        &self,
        captures: &BTreeMap<String, String>,
        creator: Option<&str>,
    ) -> Option<String> {
        let mut out = String::with_capacity(self.text.len());
        for piece in self.pieces() {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Capture(name) => out.push_str(captures.get(name)?),
                Piece::Creator => out.push_str(creator?),
            }
        }
        Some(out)
    }
}

/// A tag value a rule contributes, with where it was written.
#[derive(Debug, Clone)]
pub struct RuleValue {
    /// Tag key.
    pub key: String,
    /// Value (may use captures).
    pub value: ValueTemplate,
    /// Where it was written.
    pub origin: Origin,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Types it selects; `None` = all.
    pub resource_types: Option<Vec<String>>,
    /// Name patterns; empty = every name.
    pub names: Vec<Regex>,
    /// Tag conditions: key → regex over the current value (anchored: the whole value).
    pub when_tags: Vec<(String, Regex)>,
    /// Rules this one takes precedence over: when this rule and one of them both select a
    /// resource, that one does not apply to it.
    pub overrides: Vec<String>,
    /// Required tags.
    pub require: Vec<String>,
    /// Recommended tags.
    pub recommend: Vec<String>,
    /// Values known with certainty.
    pub set: Vec<RuleValue>,
    /// Values added when missing.
    pub default: Vec<RuleValue>,
    /// Narrower allowed values.
    pub allow: Vec<(String, Vec<String>)>,
    /// What to do about unfixable violations.
    pub action: UnfixableAction,
    /// Where the rule starts.
    pub origin: Origin,
}

/// A compiled `[classification.<Class>]`: its obligations, and what to do when one is broken.
#[derive(Debug, Clone)]
pub struct Classification {
    /// The obligations (the class's name among them).
    pub obligations: ClassObligations,
    /// What the class means.
    pub description: Option<String>,
    /// Alert, or quarantine where the enforcer may ([`crate::engine::decide`]).
    pub action: UnfixableAction,
    /// Where it was written.
    pub origin: Origin,
}

/// A resource the enforcer leaves alone: by ARN, by the caller of the event, or both (then both
/// must match).
#[derive(Debug, Clone)]
pub struct Exemption {
    /// Regex over the ARN.
    pub arn: Option<Regex>,
    /// The caller's ARN pattern: events only (a scan has no caller).
    pub(crate) principal: Option<PrincipalPattern>,
    /// Why.
    pub reason: String,
    /// Where it was written.
    pub origin: Origin,
}

/// Where one owner's alerts go.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Owner {
    /// The `ProcessOwner` value naming this owner.
    pub name: String,
    /// Slack channel, e.g. `#data-engineering`.
    pub slack_channel: Option<String>,
    /// Contact address.
    pub email: Option<String>,
    /// Slack workspace (team) id, with `slack_channel_id`: the owner's alerts get a topic and a
    /// Q Developer channel configuration of their own (see [`crate::alert::routing`]).
    pub slack_workspace_id: Option<String>,
    /// Slack channel id (`C…`, `G…`).
    pub slack_channel_id: Option<String>,
    /// The owner's own SNS topic, used instead of a generated one.
    pub sns_topic_arn: Option<String>,
}

impl Owner {
    /// True when this owner's alerts have a topic of their own: one it brings, or one the
    /// deployment generates for its Slack channel.
    pub(crate) fn has_own_topic(&self) -> bool {
        self.sns_topic_arn.is_some() || self.slack_channel_id.is_some()
    }
}

/// `[creators."<pattern>"]`: the owner whose alerts go to when a resource names no owner and its
/// creator matches `pattern`.
#[derive(Debug, Clone, Serialize)]
pub struct CreatorRoute {
    /// A creator's name, email or ARN, exact or with `*` wildcards, case-insensitive.
    pub pattern: String,
    /// The `[owners]` entry the alert goes to.
    pub owner: String,
    /// Where it was written.
    pub origin: Origin,
}

/// The compiled standard: every policy file of a directory, merged.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Name of the standard.
    pub name: Option<String>,
    /// What the standard is for.
    pub description: Option<String>,
    /// Enforce or audit.
    pub mode: Mode,
    /// Owner alerted when a resource names none.
    pub default_owner: Option<String>,
    /// The tag naming the accountable owner, when not the default (see [`PolicySet::owner_tag`]).
    pub(crate) owner_tag_override: Option<String>,
    /// The vocabulary.
    pub tags: Vec<TagSpec>,
    /// Rules in file order.
    pub rules: Vec<Rule>,
    /// Exemptions.
    pub exemptions: Vec<Exemption>,
    /// `[exemptions]`: the opt-out tag and how to request an exemption.
    pub exemption_settings: ExemptionSettings,
    /// Owners by `ProcessOwner` value.
    pub owners: BTreeMap<String, Owner>,
    /// Owners by creator (`[creators]`), for resources that name no owner.
    pub creators: Vec<CreatorRoute>,
    /// Principals a quarantine never locks out (`[quarantine] break_glass_principals`).
    pub break_glass_principals: Vec<String>,
    /// Resources never quarantined (`[quarantine] protect`): regexes searched in the ARN.
    pub(crate) protected: Vec<Regex>,
    /// `[policy] renotify_after`, when set (see [`PolicySet::renotify_after`]).
    pub(crate) renotify_after_override: Option<Duration>,
    /// The tag naming the data classification, when not the default (see
    /// [`PolicySet::classification_tag`]).
    pub(crate) classification_tag_override: Option<String>,
    /// `[classification.<Class>]` tables, in class order.
    pub classifications: Vec<Classification>,
    /// `[macie]`, when written.
    pub macie: Option<MaciePolicy>,
}

/// `[macie]`: the lowest class of the ranked tag each category of sensitive data Macie finds
/// warrants.
#[derive(Debug, Clone)]
pub struct MaciePolicy {
    /// Category (`PERSONAL_INFORMATION`, …) → the lowest class (a value of the ranked tag).
    pub minimum_class: BTreeMap<String, String>,
    /// Where the table was written.
    pub origin: Origin,
}

/// How long an unchanged problem waits for its one reminder unless `[policy] renotify_after`
/// says otherwise: a day.
pub(crate) const DEFAULT_RENOTIFY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The shortest `renotify_after` a policy may set: a reminder a minute is already noise.
pub(crate) const MIN_RENOTIFY_AFTER: Duration = Duration::from_secs(60);

/// The longest `renotify_after` a policy may set: a year.
pub(crate) const MAX_RENOTIFY_AFTER: Duration = Duration::from_secs(365 * 86_400);

/// Parses a duration as policies write it: a whole number and a unit, `s`, `m`, `h` or `d`
/// (`24h`, `90m`, `7d`). `None` for anything else, or a number too large.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let unit_at = text.len().checked_sub(1)?;
    let (number, unit) = text.split_at(unit_at);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds_per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    let seconds = number.parse::<u64>().ok()?.checked_mul(seconds_per_unit)?;
    Some(Duration::from_secs(seconds))
}

/// The tag naming a resource's data classification unless `[policy] classification_tag` says
/// otherwise.
pub(crate) const DEFAULT_CLASSIFICATION_TAG: &str = "DataClassification";

/// The tag naming a resource's accountable owner unless `[policy] owner_tag` says otherwise.
pub(crate) const DEFAULT_OWNER_TAG: &str = "ProcessOwner";

impl Exemption {
    /// True when the exemption names a caller (it then applies to events only).
    pub fn has_principal(&self) -> bool {
        self.principal.is_some()
    }

    /// True when this exemption applies to `resource_arn` changed by a caller with the ARNs
    /// `caller` (empty for a scan: then a principal exemption never applies).
    pub(crate) fn applies(&self, resource_arn: &str, caller: &[&str]) -> bool {
        if self.arn.is_none() && self.principal.is_none() {
            return false;
        }
        self.arn.as_ref().is_none_or(|re| re.is_match(resource_arn))
            && self
                .principal
                .as_ref()
                .is_none_or(|p| p.matches_caller(caller))
    }
}

impl PolicySet {
    /// True when `[quarantine] protect` names `arn`: it is never quarantined, only alerted about.
    pub(crate) fn protects(&self, arn: &str) -> bool {
        self.protected.iter().any(|pattern| pattern.is_match(arn))
    }

    /// The tag whose value names the accountable owner (`ProcessOwner` unless configured).
    pub fn owner_tag(&self) -> &str {
        self.owner_tag_override
            .as_deref()
            .unwrap_or(DEFAULT_OWNER_TAG)
    }

    /// The tag whose value is a resource's data classification (`DataClassification` unless
    /// `[policy] classification_tag` says otherwise).
    pub fn classification_tag(&self) -> &str {
        self.classification_tag_override
            .as_deref()
            .unwrap_or(DEFAULT_CLASSIFICATION_TAG)
    }

    /// The obligations of class `class` (exact case), when the policy states any.
    pub fn classification(&self, class: &str) -> Option<&Classification> {
        self.classifications
            .iter()
            .find(|classification| classification.obligations.class == class)
    }

    /// How long an unchanged problem waits for its one reminder (`[policy] renotify_after`,
    /// default [`DEFAULT_RENOTIFY_AFTER`]).
    pub fn renotify_after(&self) -> Duration {
        self.renotify_after_override
            .unwrap_or(DEFAULT_RENOTIFY_AFTER)
    }

    /// The ranked tag (`ranked = true`, e.g. `DataClassification`), when the vocabulary has one.
    pub fn ranked_tag(&self) -> Option<&TagSpec> {
        self.tags
            .iter()
            .find(|spec| spec.ranked && spec.values.is_some())
    }

    /// The rank of `value` of the ranked tag: its position in the tag's `values`, lowest class
    /// first (exact case: a value in the wrong case ranks once fixed). `None` when there is no
    /// ranked tag or the value is not one of its values.
    pub fn rank(&self, value: &str) -> Option<usize> {
        self.ranked_tag()?
            .values
            .as_ref()?
            .iter()
            .position(|allowed| allowed == value)
    }

    /// The `[creators]` entry for `creator`: an exact key before a pattern, a longer pattern
    /// before a shorter one. An AWS service acting on its own is nobody's to route.
    pub fn creator_route(&self, creator: &Creator) -> Option<&CreatorRoute> {
        if !creator.names_principal() {
            return None;
        }
        self.creators
            .iter()
            .filter(|route| creator.matches(&route.pattern))
            .min_by_key(|route| {
                (
                    route.pattern.contains('*'),
                    std::cmp::Reverse(route.pattern.len()),
                )
            })
    }

    /// The rule named `name`.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.name == name)
    }

    /// The vocabulary entry for `key` (exact case).
    pub fn tag(&self, key: &str) -> Option<&TagSpec> {
        self.tags.iter().find(|spec| spec.key == key)
    }
}

/// The pattern as the author wrote it, for a regex compiled anchored (`^(?:…)$`).
pub(crate) fn unanchored_text(regex: &Regex) -> &str {
    regex
        .as_str()
        .strip_prefix("^(?:")
        .and_then(|rest| rest.strip_suffix(")$"))
        .unwrap_or(regex.as_str())
}

/// The verdict of a tag spec on one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueCheck {
    /// Allowed as is.
    Valid,
    /// Allowed once its case is fixed to this.
    WrongCase(String),
    /// Not allowed, with the reason.
    Invalid(String),
}

impl TagSpec {
    /// Checks a value (every item of it, for list tags).
    pub fn check(&self, value: &str) -> ValueCheck {
        let items: Vec<&str> = match &self.list_separator {
            Some(separator) => value.split(separator.as_str()).map(str::trim).collect(),
            None => vec![value],
        };
        let mut fixed_items = Vec::with_capacity(items.len());
        let mut case_only = false;
        for item in items {
            if item.is_empty() {
                return ValueCheck::Invalid(if value.trim().is_empty() {
                    "the value is empty".to_owned()
                } else {
                    format!("`{value}` has an empty list item")
                });
            }
            if let Some(values) = &self.values {
                if values.iter().any(|allowed| allowed == item) {
                    fixed_items.push(item.to_owned());
                    continue;
                }
                if let Some(allowed) = values.iter().find(|a| a.eq_ignore_ascii_case(item)) {
                    case_only = true;
                    fixed_items.push(allowed.clone());
                    continue;
                }
                return ValueCheck::Invalid(format!(
                    "`{item}` is not one of {}",
                    values.join(", ")
                ));
            }
            if let Some(pattern) = &self.pattern {
                if !pattern.is_match(item) {
                    return ValueCheck::Invalid(format!(
                        "`{item}` does not match the pattern `{}`",
                        self.pattern_text.as_deref().unwrap_or_default()
                    ));
                }
            }
            fixed_items.push(item.to_owned());
        }
        if case_only {
            let separator = self.list_separator.as_deref().unwrap_or("");
            ValueCheck::WrongCase(fixed_items.join(separator))
        } else {
            ValueCheck::Valid
        }
    }
}
