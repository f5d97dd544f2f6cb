//! Evaluation: (resource, current tags, policies, circumstances) → verdict. Pure: no I/O, no
//! clock: the time of the decision and the caller arrive in [`Circumstances`].
//!
//! It runs in two steps: [`gather`] collects what the policies say about the resource and about
//! each tag key ([`Facts`]), [`judge`] weighs those facts against the tags ([`Verdict`]).
//! `enforcer explain` shows the facts the same [`gather`] collected, so an explanation cannot
//! drift from the decision it explains.
//!
//! The rules that apply to a resource are those that select it ([`selection`]), minus those
//! another selecting rule lists in `overrides` ([`applicable_rules`]). `enforcer validate`
//! rejects rules that can select the same resource and set different values unless one
//! overrides the other; should two applying rules still disagree, the verdict reports a
//! conflict and adds neither value.
//!
//! The plan only ever adds tags the policy knows with certainty (a rule's `set` or `default`); it
//! never changes or removes a tag a person set, except a case fix the vocabulary allows
//! (`case_fix = true`), which is reported apart from the additions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::event::{Creator, ResourceRef};
use crate::obligation::{self, ObligationViolation, ProtectionFacts};
use crate::policy::{
    days_left, judge_opt_out, unanchored_text, Classification, Exemption, Level, OptOut,
    OptOutVerdict, PolicySet, Rule, RuleValue, TagSpec, TagWriter, UnfixableAction, ValueCheck,
};
use crate::Tags;

/// What kind of problem a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// A required (or known) tag is absent.
    Missing,
    /// The value is not allowed.
    InvalidValue,
    /// Key or value differs from the standard only in case.
    WrongCase,
    /// The value differs from what the policy knows, or rules disagree.
    Conflict,
    /// The resource does not honour an obligation of its classification (`[classification.*]`:
    /// encrypted at rest, public access, allowed regions). Never fixed by adding tags.
    Obligation,
    /// The opt-out tag is invalid, expired, longer than the policy allows or not written by an
    /// approver (`tag` names it).
    Exemption,
}

/// One way a resource breaks the standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The tag key concerned.
    pub tag: String,
    /// What is wrong.
    pub kind: ViolationKind,
    /// The rule that expects it (`tags.<Key>` for the vocabulary itself).
    pub rule: String,
    /// For people.
    pub message: String,
    /// `error` counts; `warning` (a recommended tag) is reported only.
    pub level: Level,
    /// True when the plan fixes it.
    pub fixed: bool,
    /// For an [`ViolationKind::Obligation`]: which obligation, of which class, and the evidence
    /// that it is broken (the request field or the current setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obligation: Option<ObligationViolation>,
}

/// What the enforcer does about a resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Compliant, or no rule applies.
    #[default]
    None,
    /// Add tags (and fix case) and nothing else is wrong.
    Remediate,
    /// A person must fix something.
    Alert,
    /// Isolate the resource and tell the owner.
    Quarantine,
}

/// The evaluation of one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Names of the rules that apply to the resource (selected it and are not overridden).
    pub matched_rules: Vec<String>,
    /// Names of the rules that selected the resource but are overridden by another that did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) overridden_rules: Vec<String>,
    /// The exemption that applies, if any (then nothing else is evaluated).
    pub exempt: Option<String>,
    /// The resource's opt-out tag, when it applies: its violations are still reported, but it
    /// is not quarantined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<OptOut>,
    /// Every problem found.
    pub violations: Vec<Violation>,
    /// Tags to add (keys absent today).
    pub add_tags: Tags,
    /// Values to rewrite, only case fixes the vocabulary allows.
    pub case_fixes: Tags,
    /// The overall action.
    pub action: Action,
}

/// Why a rule does not select a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotSelected {
    /// The resource's type is not one of the rule's `resource_types`.
    ResourceType {
        /// The resource's type.
        resource_type: String,
    },
    /// No pattern of the rule's `names` matches the resource's name.
    Name {
        /// The resource's name.
        name: String,
    },
    /// A tag the rule tests in `when_tags` is absent.
    TagMissing {
        /// The tag key.
        key: String,
    },
    /// A tag the rule tests in `when_tags` has a value its pattern does not match.
    TagMismatch {
        /// The tag key.
        key: String,
        /// The current value.
        value: String,
        /// The pattern, as written.
        pattern: String,
    },
}

/// How a rule selects a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    /// The `names` pattern that matched, as written (`None` when the rule has no `names`).
    pub name_pattern: Option<String>,
    /// The named captures of that pattern.
    pub captures: BTreeMap<String, String>,
}

/// Does `rule` select this resource, and if not, why not? The checks run in the order
/// type, tags, name; the first that fails is the reason.
pub fn selection(
    rule: &Rule,
    resource: &ResourceRef,
    tags: &Tags,
) -> Result<Selected, NotSelected> {
    if let Some(types) = &rule.resource_types {
        if !types.contains(&resource.resource_type) {
            return Err(NotSelected::ResourceType {
                resource_type: resource.resource_type.clone(),
            });
        }
    }
    for (key, pattern) in &rule.when_tags {
        match tags.get(key) {
            None => return Err(NotSelected::TagMissing { key: key.clone() }),
            Some(value) if !pattern.is_match(value) => {
                return Err(NotSelected::TagMismatch {
                    key: key.clone(),
                    value: value.clone(),
                    pattern: unanchored_text(pattern).to_owned(),
                })
            }
            Some(_) => {}
        }
    }
    let mut selected = Selected::default();
    if !rule.names.is_empty() {
        let (pattern, found) = rule
            .names
            .iter()
            .find_map(|pattern| Some((pattern, pattern.captures(&resource.name)?)))
            .ok_or_else(|| NotSelected::Name {
                name: resource.name.clone(),
            })?;
        selected.name_pattern = Some(pattern.as_str().to_owned());
        for name in pattern.capture_names().flatten() {
            if let Some(value) = found.name(name) {
                selected
                    .captures
                    .insert(name.to_owned(), value.as_str().to_owned());
            }
        }
    }
    Ok(selected)
}

/// Does `rule` select this resource? Returns the name pattern's captures when it does.
pub fn selects(
    rule: &Rule,
    resource: &ResourceRef,
    tags: &Tags,
) -> Option<BTreeMap<String, String>> {
    selection(rule, resource, tags).ok().map(|s| s.captures)
}

/// The rules that apply to a resource.
#[derive(Debug, Clone, Default)]
pub(crate) struct Applicable<'p> {
    /// Rules that select the resource and that no other selecting rule overrides, in policy
    /// order, with their captures.
    pub applied: Vec<(&'p Rule, BTreeMap<String, String>)>,
    /// Rules that select the resource but are overridden, with the rules that override them.
    pub overridden: Vec<(&'p Rule, Vec<&'p Rule>)>,
}

/// The rules that apply to a resource: a rule that selects it is set aside when another rule
/// that also selects it lists it in `overrides`.
pub(crate) fn applicable_rules<'p>(
    resource: &ResourceRef,
    tags: &Tags,
    policies: &'p PolicySet,
) -> Applicable<'p> {
    let selecting: Vec<(&Rule, BTreeMap<String, String>)> = policies
        .rules
        .iter()
        .filter_map(|rule| Some((rule, selects(rule, resource, tags)?)))
        .collect();
    let mut applicable = Applicable::default();
    for (rule, captures) in &selecting {
        let by: Vec<&Rule> = selecting
            .iter()
            .map(|(other, _)| *other)
            .filter(|other| other.name != rule.name && other.overrides.contains(&rule.name))
            .collect();
        if by.is_empty() {
            applicable.applied.push((rule, captures.clone()));
        } else {
            applicable.overridden.push((rule, by));
        }
    }
    applicable
}

/// A value a rule states for a key (in `set` or `default`), with the rule's captures filled in.
#[derive(Debug, Clone)]
pub struct Stated<'p> {
    /// The rule.
    pub rule: &'p Rule,
    /// The value as written.
    pub value: &'p RuleValue,
    /// The value with the captures filled in; `None` when a capture it uses took no part in the
    /// match, and then the rule states nothing for the key.
    pub rendered: Option<String>,
}

/// Everything the applicable rules and the vocabulary say about one tag key: the facts
/// [`judge`] weighs and `enforcer explain` shows.
#[derive(Debug, Clone)]
pub struct KeyFacts<'p> {
    /// The tag key.
    pub key: &'p str,
    /// The vocabulary's entry for it.
    pub spec: Option<&'p TagSpec>,
    /// Applicable rules that require it, in policy order.
    pub required_by: Vec<&'p Rule>,
    /// Applicable rules that recommend it, in policy order.
    pub recommended_by: Vec<&'p Rule>,
    /// Values applicable rules know for it (`set`), in policy order.
    pub set: Vec<Stated<'p>>,
    /// Values applicable rules default it to, in policy order.
    pub defaults: Vec<Stated<'p>>,
    /// Narrower allowed values, per applicable rule that has them, in policy order.
    pub allowed: Vec<(&'p Rule, &'p [String])>,
}

/// What the policies say about one resource with given tags, before anything is judged.
#[derive(Debug, Clone, Default)]
pub struct Facts<'p> {
    /// The exemption that applies (then nothing else is gathered).
    pub exemption: Option<&'p Exemption>,
    /// The rules that apply, and those overridden.
    pub(crate) applicable: Applicable<'p>,
    /// Every key the applicable rules name, in rule order (`require`, `recommend`, `set`,
    /// `default`, `allow` of each rule), then every vocabulary key the resource carries.
    pub keys: Vec<KeyFacts<'p>>,
}

/// What a decision knows besides the resource, its tags and the policies: who made the change
/// and when it is decided.
#[derive(Debug, Clone, Copy)]
pub struct Circumstances<'a> {
    /// The caller's ARNs: `userIdentity.arn` and, for a role session, the issuing role's.
    /// Empty for a scan, a policy test case given a resource, or an event without a caller.
    pub(crate) caller: &'a [&'a str],
    /// True when the change set the opt-out tag's current value: then the caller wrote it.
    pub(crate) wrote_opt_out: bool,
    /// True when the state table recorded the resource's current opt-out value as written by an
    /// approver (per resource: [`crate::engine::decide`] sets it from what the state knows).
    pub(crate) opt_out_recorded: bool,
    /// The person (or role, or service) behind the change: what `{creator}` in a `default`
    /// value stands for ([`creator_name`]). `None` outside an event.
    pub(crate) creator: Option<&'a Creator>,
    /// When the decision is made: an opt-out tag applies through its `until` day (UTC).
    pub now: jiff::Timestamp,
}

impl Circumstances<'_> {
    /// A decision outside any event (a scan, a resource case, `explain` of a resource): no
    /// caller, at `now`.
    pub fn at(now: jiff::Timestamp) -> Self {
        Circumstances {
            caller: &[],
            wrote_opt_out: false,
            opt_out_recorded: false,
            creator: None,
            now,
        }
    }
}

/// Gathers what the policies say about `resource` with `tags`: the exemption (by ARN and by
/// `caller`, the ARNs of whoever made the change), the applicable rules, and per tag key
/// everything those rules and the vocabulary say about it. `creator` is the name `{creator}`
/// stands for in `default` values ([`creator_name`]); `None`, and those values state nothing.
pub(crate) fn gather<'p>(
    resource: &ResourceRef,
    tags: &Tags,
    policies: &'p PolicySet,
    caller: &[&str],
    creator: Option<&str>,
) -> Facts<'p> {
    if let Some(exemption) = policies
        .exemptions
        .iter()
        .find(|e| e.applies(&resource.arn, caller))
    {
        return Facts {
            exemption: Some(exemption),
            ..Facts::default()
        };
    }
    let applicable = applicable_rules(resource, tags, policies);
    let mut keys: Vec<&'p str> = Vec::new();
    let mut note_key = |key: &'p str| {
        if !keys.contains(&key) {
            keys.push(key);
        }
    };
    for (rule, _) in &applicable.applied {
        let rule: &'p Rule = rule;
        for key in rule.require.iter().chain(&rule.recommend) {
            note_key(key);
        }
        for value in rule.set.iter().chain(&rule.default) {
            note_key(&value.key);
        }
        for (key, _) in &rule.allow {
            note_key(key);
        }
    }
    for spec in &policies.tags {
        if tags.contains_key(&spec.key) {
            note_key(&spec.key);
        }
    }
    let stated = |key: &str, pick: fn(&'p Rule) -> &'p [RuleValue]| -> Vec<Stated<'p>> {
        applicable
            .applied
            .iter()
            .flat_map(|(rule, captures)| {
                let rule: &'p Rule = rule;
                pick(rule)
                    .iter()
                    .filter(move |value| value.key == key)
                    .map(move |value| Stated {
                        rule,
                        value,
                        rendered: value.value.render(captures, creator),
                    })
            })
            .collect()
    };
    let keys = keys
        .into_iter()
        .map(|key| KeyFacts {
            key,
            spec: policies.tag(key),
            required_by: applicable
                .applied
                .iter()
                .map(|(rule, _)| *rule)
                .filter(|rule| rule.require.iter().any(|k| k == key))
                .collect(),
            recommended_by: applicable
                .applied
                .iter()
                .map(|(rule, _)| *rule)
                .filter(|rule| rule.recommend.iter().any(|k| k == key))
                .collect(),
            set: stated(key, |rule| &rule.set),
            defaults: stated(key, |rule| &rule.default),
            allowed: applicable
                .applied
                .iter()
                .filter_map(|(rule, _)| {
                    let (_, allowed) = rule.allow.iter().find(|(k, _)| k == key)?;
                    Some((*rule, allowed.as_slice()))
                })
                .collect(),
        })
        .collect();
    Facts {
        exemption: None,
        applicable,
        keys,
    }
}

/// A value some rule knows for a key.
struct Known<'a> {
    value: String,
    rule: &'a Rule,
}

/// The values of `stated` that render, with their rules.
fn rendered_values<'p>(stated: &[Stated<'p>]) -> Vec<Known<'p>> {
    stated
        .iter()
        .filter_map(|s| {
            Some(Known {
                value: s.rendered.clone()?,
                rule: s.rule,
            })
        })
        .collect()
}

/// Evaluates one resource with its current tags: [`gather`] then [`judge`], then the resource's
/// opt-out tag ([`judge_opt_out_tag`]).
pub fn evaluate(
    resource: &ResourceRef,
    tags: &Tags,
    policies: &PolicySet,
    circumstances: &Circumstances<'_>,
) -> Verdict {
    let mut verdict = judge(
        &gather(
            resource,
            tags,
            policies,
            circumstances.caller,
            creator_name(circumstances.creator),
        ),
        tags,
    );
    judge_opt_out_tag(&mut verdict, tags, policies, circumstances);
    verdict
}

/// The name `{creator}` stands for: the creator's, unless it is an AWS service acting on its
/// own (no principal: the tag is not added) or unknown.
pub(crate) fn creator_name(creator: Option<&Creator>) -> Option<&str> {
    creator
        .filter(|creator| creator.names_principal())
        .map(|creator| creator.name.as_str())
}

/// True when `spec` is the ranked tag and `value` is a higher class than `floor` (both among its
/// values, lowest first).
fn ranks_above(spec: Option<&TagSpec>, value: &str, floor: &str) -> bool {
    let Some(values) = spec
        .filter(|spec| spec.ranked)
        .and_then(|spec| spec.values.as_ref())
    else {
        return false;
    };
    let rank = |class: &str| values.iter().position(|allowed| allowed == class);
    matches!((rank(value), rank(floor)), (Some(value), Some(floor)) if value > floor)
}

/// The rule name violations of the opt-out tag report.
pub(crate) const OPT_OUT_RULE: &str = "exemptions";

/// The rule name of the reminder that an opt-out tag expires soon: a problem of its own (another
/// fingerprint than the expiry that follows it), so the state table alerts it once.
pub(crate) const OPT_OUT_REMINDER_RULE: &str = "exemptions.reminder";

/// Weighs the resource's opt-out tag, when it carries one: one that applies withholds
/// quarantine (the violations stay, and alert), and within `remind_days` of its end is a
/// reminder to the owner; one that is invalid, expired, too long or not an approver's is itself
/// a violation naming the tag, and exempts nothing. A resource an `[[exemption]]` covers is left
/// alone.
fn judge_opt_out_tag(
    verdict: &mut Verdict,
    tags: &Tags,
    policies: &PolicySet,
    circumstances: &Circumstances<'_>,
) {
    let settings = &policies.exemption_settings;
    if verdict.exempt.is_some() {
        return;
    }
    let Some(value) = tags.get(&settings.tag) else {
        return;
    };
    let writer = if circumstances.wrote_opt_out && !circumstances.caller.is_empty() {
        TagWriter::Caller(circumstances.caller)
    } else if circumstances.opt_out_recorded {
        TagWriter::Recorded
    } else {
        TagWriter::Unknown
    };
    let (message, level) = match judge_opt_out(value, settings, circumstances.now, writer) {
        OptOutVerdict::Applies(opt_out) => {
            if verdict.action == Action::Quarantine {
                verdict.action = Action::Alert;
            }
            let left = days_left(opt_out.until, circumstances.now);
            let due = settings
                .remind_days
                .is_some_and(|days| i64::from(left) <= i64::from(days));
            if due {
                verdict.violations.push(Violation {
                    tag: settings.tag.clone(),
                    kind: ViolationKind::Exemption,
                    rule: OPT_OUT_REMINDER_RULE.to_owned(),
                    message: format!(
                        "the exemption `{}` ends on {} ({}): renew it, or make the resource meet the standard",
                        settings.tag,
                        opt_out.until,
                        match left {
                            0 => "today".to_owned(),
                            1 => "in 1 day".to_owned(),
                            n => format!("in {n} days"),
                        }
                    ),
                    level: Level::Error,
                    fixed: false,
                    obligation: None,
                });
                verdict.action = verdict.action.max(Action::Alert);
            }
            verdict.opt_out = Some(opt_out);
            return;
        }
        OptOutVerdict::Rejected(message) => (message, Level::Error),
        OptOutVerdict::Unverified(message) => (message, Level::Warning),
    };
    verdict.violations.push(Violation {
        tag: settings.tag.clone(),
        kind: ViolationKind::Exemption,
        rule: OPT_OUT_RULE.to_owned(),
        message,
        level,
        fixed: false,
        obligation: None,
    });
    if level == Level::Error && verdict.action < Action::Alert {
        verdict.action = Action::Alert;
    }
}

/// Judges the facts gathered about a resource with `tags`: every violation, the tags the plan
/// adds or re-cases, and the action.
pub fn judge(facts: &Facts<'_>, tags: &Tags) -> Verdict {
    if let Some(exemption) = facts.exemption {
        return Verdict {
            exempt: Some(format!("{} ({})", exemption.reason, exemption.origin)),
            ..Verdict::default()
        };
    }
    let matched = &facts.applicable.applied;
    let mut verdict = Verdict {
        matched_rules: matched.iter().map(|(rule, _)| rule.name.clone()).collect(),
        overridden_rules: facts
            .applicable
            .overridden
            .iter()
            .map(|(rule, _)| rule.name.clone())
            .collect(),
        ..Verdict::default()
    };
    if matched.is_empty() {
        return verdict;
    }
    let mut unfixable_actions = Vec::new();
    for facts in &facts.keys {
        let key = facts.key;
        let requiring = facts.required_by.as_slice();
        let recommending = facts.recommended_by.first().copied();
        let known = rendered_values(&facts.set);
        let defaults = rendered_values(&facts.defaults);
        let mut add =
            |verdict: &mut Verdict, violation: Violation, action: Option<UnfixableAction>| {
                if let Some(action) = action {
                    unfixable_actions.push(action);
                }
                verdict.violations.push(violation);
            };
        let action_of = |rules: &[&Rule]| {
            rules
                .iter()
                .map(|rule| rule.action)
                .max()
                .unwrap_or(UnfixableAction::Alert)
        };
        // Rules that set different values for the same key: nothing is certain.
        let disagreement = known.iter().find(|k| k.value != known[0].value);
        if let Some(other) = disagreement {
            add(
                &mut verdict,
                Violation {
                    tag: key.to_owned(),
                    kind: ViolationKind::Conflict,
                    rule: known[0].rule.name.clone(),
                    message: format!(
                        "rules `{}` ({}) and `{}` ({}) set {key} to `{}` and `{}`; the enforcer cannot tell which is right",
                        known[0].rule.name, known[0].rule.origin, other.rule.name, other.rule.origin, known[0].value, other.value
                    ),
                    level: Level::Error,
                    fixed: false,
                    obligation: None,
                },
                Some(action_of(&[known[0].rule, other.rule])),
            );
        }
        let certain = known.first().filter(|_| disagreement.is_none());
        let responsible_rule = certain
            .map(|k| k.rule)
            .or(requiring.first().copied())
            .or(defaults.first().map(|d| d.rule))
            .or(recommending);
        let rule_name =
            responsible_rule.map_or_else(|| format!("tags.{key}"), |rule| rule.name.clone());
        let spec = facts.spec;
        match tags.get(key) {
            Some(current) => {
                let mut effective = current.clone();
                if let Some(spec) = spec {
                    match spec.check(current) {
                        ValueCheck::Valid => {}
                        ValueCheck::WrongCase(fixed) => {
                            let fixable = spec.case_fix;
                            if fixable {
                                verdict.case_fixes.insert(key.to_owned(), fixed.clone());
                            }
                            add(
                                &mut verdict,
                                Violation {
                                    tag: key.to_owned(),
                                    kind: ViolationKind::WrongCase,
                                    rule: format!("tags.{key}"),
                                    message: format!(
                                        "{key} is `{current}`; the standard spells it `{fixed}`{}",
                                        if fixable {
                                            ""
                                        } else {
                                            " (this tag's case is not fixed automatically)"
                                        }
                                    ),
                                    level: Level::Error,
                                    fixed: fixable,
                                    obligation: None,
                                },
                                (!fixable).then(|| action_of(requiring)),
                            );
                            effective = fixed;
                        }
                        ValueCheck::Invalid(reason) => {
                            add(
                                &mut verdict,
                                Violation {
                                    tag: key.to_owned(),
                                    kind: ViolationKind::InvalidValue,
                                    rule: format!("tags.{key}"),
                                    message: format!("{key} is `{current}`: {reason}"),
                                    level: Level::Error,
                                    fixed: false,
                                    obligation: None,
                                },
                                Some(action_of(requiring)),
                            );
                            continue;
                        }
                    }
                }
                for (rule, allowed) in &facts.allowed {
                    if !allowed.contains(&effective) {
                        add(
                            &mut verdict,
                            Violation {
                                tag: key.to_owned(),
                                kind: ViolationKind::InvalidValue,
                                rule: rule.name.clone(),
                                message: format!(
                                    "{key} is `{current}`, but rule `{}` allows only {} here",
                                    rule.name,
                                    allowed.join(", ")
                                ),
                                level: Level::Error,
                                fixed: false,
                                obligation: None,
                            },
                            Some(rule.action),
                        );
                    }
                }
                if let Some(known) = certain {
                    // On the ranked tag (`ranked = true`: the classification), a rule's `set` is
                    // a floor: a person who classifies the resource higher than its lineage
                    // demands is stricter, never in conflict (Macie's evidence may warrant it).
                    if known.value != effective
                        && !ranks_above(facts.spec, &effective, &known.value)
                    {
                        add(
                            &mut verdict,
                            Violation {
                                tag: key.to_owned(),
                                kind: ViolationKind::Conflict,
                                rule: known.rule.name.clone(),
                                message: format!(
                                    "{key} is `{current}`, but rule `{}` says it is `{}`; the enforcer never overwrites a tag a person set",
                                    known.rule.name, known.value
                                ),
                                level: Level::Error,
                                fixed: false,
                                obligation: None,
                            },
                            Some(known.rule.action),
                        );
                    }
                }
            }
            None => {
                if let Some(actual_key) = tags.keys().find(|k| k.eq_ignore_ascii_case(key)) {
                    add(
                        &mut verdict,
                        Violation {
                            tag: key.to_owned(),
                            kind: ViolationKind::WrongCase,
                            rule: rule_name,
                            message: format!(
                                "the tag key is `{actual_key}`; the standard spells it `{key}` (re-tag by hand: the enforcer does not remove tags)"
                            ),
                            level: Level::Error,
                            fixed: false,
                            obligation: None,
                        },
                        Some(action_of(requiring)),
                    );
                    continue;
                }
                let inferred = certain
                    .map(|k| (k.value.clone(), "knows", k.rule))
                    .or_else(|| {
                        let first = defaults.first()?;
                        defaults
                            .iter()
                            .all(|d| d.value == first.value)
                            .then(|| (first.value.clone(), "defaults it to", first.rule))
                    });
                let inferred = inferred.filter(|(value, _, _)| {
                    spec.is_none_or(|spec| spec.check(value) == ValueCheck::Valid)
                });
                match inferred {
                    Some((value, how, rule)) => {
                        verdict.add_tags.insert(key.to_owned(), value.clone());
                        add(
                            &mut verdict,
                            Violation {
                                tag: key.to_owned(),
                                kind: ViolationKind::Missing,
                                rule: rule.name.clone(),
                                message: format!(
                                    "{key} is missing; rule `{}` {how} `{value}`",
                                    rule.name
                                ),
                                level: Level::Error,
                                fixed: true,
                                obligation: None,
                            },
                            None,
                        );
                    }
                    None if !requiring.is_empty() => add(
                        &mut verdict,
                        Violation {
                            tag: key.to_owned(),
                            kind: ViolationKind::Missing,
                            rule: rule_name,
                            message: format!(
                                "{key} is required{} and cannot be inferred",
                                describe_values(spec)
                            ),
                            level: Level::Error,
                            fixed: false,
                            obligation: None,
                        },
                        Some(action_of(requiring)),
                    ),
                    None if recommending.is_some() => add(
                        &mut verdict,
                        Violation {
                            tag: key.to_owned(),
                            kind: ViolationKind::Missing,
                            rule: rule_name,
                            message: format!("{key} is recommended{}", describe_values(spec)),
                            level: Level::Warning,
                            fixed: false,
                            obligation: None,
                        },
                        None,
                    ),
                    None => {}
                }
            }
        }
    }
    verdict.action = match unfixable_actions.into_iter().max() {
        Some(UnfixableAction::Quarantine) => Action::Quarantine,
        Some(UnfixableAction::Alert) => Action::Alert,
        None if !verdict.add_tags.is_empty() || !verdict.case_fixes.is_empty() => Action::Remediate,
        None => Action::None,
    };
    verdict
}

/// A resource's class and what it obliges, weighed against what is known of its protection:
/// what [`crate::engine::decide`] adds to a verdict and `enforcer explain` shows.
#[derive(Debug, Clone, Default)]
pub struct ObligationCheck<'p> {
    /// The resource's class: its classification tag after the event and the plan (additions and
    /// case fixes). `None` when it has none.
    pub class: Option<String>,
    /// The policy's `[classification.<class>]`, when it states one.
    pub classification: Option<&'p Classification>,
    /// What is known of the resource's protection: the event's facts over the read's.
    pub facts: ProtectionFacts,
    /// The obligations the facts show broken: the class's, and those of a class the resource's
    /// lineage (a rule's `set`) gives it.
    pub broken: Vec<ObligationViolation>,
}

/// Checks the obligations of `resource`'s class. `tags` are its tags after the event and the
/// plan; `read` is what a read of the resource found of its protection ([`ResourceRef::protection`],
/// what the event carries, wins over it).
///
/// The tag is a label anyone with tagging rights can write: a class an applicable rule `set`s
/// for the classification tag (the resource's lineage, known with certainty) owes its
/// obligations too, so a person who labels a raw-layer bucket `Public` (a conflict with the rule)
/// does not lift `Confidential`'s. An obligation is reported once, for the first class that
/// breaks it: the label's, then the rules'.
pub fn check_obligations<'p>(
    resource: &ResourceRef,
    tags: &Tags,
    read: &ProtectionFacts,
    policies: &'p PolicySet,
) -> ObligationCheck<'p> {
    let facts = resource.protection.overlay(read);
    let tag = policies.classification_tag();
    let class = tags.get(tag).cloned();
    let classification = class
        .as_deref()
        .and_then(|class| policies.classification(class));
    let mut broken: Vec<ObligationViolation> = classification
        .map(|classification| obligation::check(&classification.obligations, &facts))
        .unwrap_or_default();
    if !policies.classifications.is_empty() {
        let lineage: Vec<String> = gather(resource, tags, policies, &[], None)
            .keys
            .iter()
            .filter(|key| key.key == tag)
            .flat_map(|key| key.set.iter().filter_map(|stated| stated.rendered.clone()))
            .filter(|known| Some(known) != class.as_ref())
            .collect();
        for known in lineage {
            let Some(owed) = policies.classification(&known) else {
                continue;
            };
            for violation in obligation::check(&owed.obligations, &facts) {
                if broken.iter().all(|b| b.name != violation.name) {
                    broken.push(violation);
                }
            }
        }
    }
    ObligationCheck {
        class,
        classification,
        facts,
        broken,
    }
}

impl ObligationCheck<'_> {
    /// Adds each broken obligation to `verdict` as an [`ViolationKind::Obligation`] (never fixed
    /// by the plan), and raises its action to the strictest of the classes' that break one
    /// (alert or quarantine; whether a quarantine may happen is [`crate::engine::decide`]'s to
    /// say).
    pub(crate) fn apply_to(&self, verdict: &mut Verdict, policies: &PolicySet) {
        for broken in &self.broken {
            let Some(owed) = policies.classification(&broken.class) else {
                continue;
            };
            verdict.violations.push(Violation {
                tag: policies.classification_tag().to_owned(),
                kind: ViolationKind::Obligation,
                rule: format!("classification.{}", broken.class),
                message: broken.message(),
                level: Level::Error,
                fixed: false,
                obligation: Some(broken.clone()),
            });
            let action = match owed.action {
                UnfixableAction::Alert => Action::Alert,
                UnfixableAction::Quarantine => Action::Quarantine,
            };
            verdict.action = verdict.action.max(action);
        }
    }
}

fn describe_values(spec: Option<&crate::policy::TagSpec>) -> String {
    match spec {
        Some(spec) => match (&spec.values, &spec.pattern_text) {
            (Some(values), _) => format!(" (one of {})", values.join(", ")),
            (None, Some(pattern)) => format!(" (matching `{pattern}`)"),
            _ => String::new(),
        },
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::KNOWN_RESOURCE_TYPES;
    use crate::policy::{compile_sources, SourceFile};

    fn policies(text: &str) -> PolicySet {
        let source = SourceFile {
            path: "p.toml".into(),
            text: Arc::new(text.to_owned()),
        };
        compile_sources(&[source], KNOWN_RESOURCE_TYPES).0
    }

    const LAYERS: &str = r#"
[tags.ProcessOwner]
pattern = '[A-Z][A-Za-z]*'

[owners.DataEngineering]
[owners.AnalyticsTeam]

[[rule]]
name = "raw"
resource_types = ["s3:bucket"]
names = ['-raw-']
OVERRIDES
[rule.set]
ProcessOwner = "DataEngineering"

[[rule]]
name = "refined"
resource_types = ["s3:bucket"]
names = ['^britbox-prod-']
[rule.set]
ProcessOwner = "AnalyticsTeam"
"#;

    /// As a scan evaluates: no caller; these verdicts do not depend on the time.
    const SCAN: Circumstances<'static> = Circumstances {
        caller: &[],
        wrote_opt_out: false,
        opt_out_recorded: false,
        creator: None,
        now: jiff::Timestamp::UNIX_EPOCH,
    };

    fn bucket(name: &str) -> ResourceRef {
        ResourceRef::from_arn(&format!("arn:aws:s3:::{name}"), None).unwrap()
    }

    #[test]
    fn an_overridden_rule_does_not_apply() {
        let set = policies(&LAYERS.replace("OVERRIDES", "overrides = [\"refined\"]"));
        let verdict = evaluate(&bucket("britbox-prod-x-raw-y"), &Tags::new(), &set, &SCAN);
        assert_eq!(verdict.matched_rules, vec!["raw"]);
        assert_eq!(verdict.overridden_rules, vec!["refined"]);
        assert_eq!(verdict.add_tags["ProcessOwner"], "DataEngineering");
        // Alone, the overridden rule still applies.
        let verdict = evaluate(&bucket("britbox-prod-x"), &Tags::new(), &set, &SCAN);
        assert_eq!(verdict.matched_rules, vec!["refined"]);
        assert_eq!(verdict.add_tags["ProcessOwner"], "AnalyticsTeam");
    }

    #[test]
    fn rules_that_still_disagree_are_a_conflict_and_add_nothing() {
        let set = policies(&LAYERS.replace("OVERRIDES", ""));
        let verdict = evaluate(&bucket("britbox-prod-x-raw-y"), &Tags::new(), &set, &SCAN);
        assert_eq!(verdict.matched_rules, vec!["raw", "refined"]);
        assert!(verdict.add_tags.is_empty());
        assert_eq!(verdict.violations[0].kind, ViolationKind::Conflict);
        assert_eq!(verdict.action, Action::Alert);
    }

    /// On the ranked classification tag a rule's `set` is a floor: a person's higher class is
    /// kept without a conflict, a lower one is a conflict (and the class it owes is the set one).
    #[test]
    fn a_higher_class_than_the_lineage_is_no_conflict() {
        let set = policies(
            r#"
[tags.DataClassification]
values = ["Public", "Internal", "Confidential", "Restricted"]
ranked = true

[[rule]]
name = "raw"
resource_types = ["s3:bucket"]
names = ['-raw-']
[rule.set]
DataClassification = "Confidential"
"#,
        );
        let with = |class: &str| {
            let tags = Tags::from([("DataClassification".to_owned(), class.to_owned())]);
            evaluate(&bucket("lake-raw-eu"), &tags, &set, &SCAN)
        };
        let higher = with("Restricted");
        assert!(higher.violations.is_empty(), "{higher:#?}");
        assert_eq!(higher.action, Action::None);
        let lower = with("Internal");
        assert_eq!(
            lower.violations.iter().map(|v| v.kind).collect::<Vec<_>>(),
            [ViolationKind::Conflict]
        );
        assert!(with("Confidential").violations.is_empty());
    }

    #[test]
    fn selection_says_why_not() {
        let set = policies(&LAYERS.replace("OVERRIDES", "when_tags = { Env = 'prod' }"));
        let rule = &set.rules[0];
        let table = ResourceRef::from_arn("arn:aws:dynamodb:eu-west-1:1:table/t", None).unwrap();
        assert_eq!(
            selection(rule, &table, &Tags::new()),
            Err(NotSelected::ResourceType {
                resource_type: "dynamodb:table".into()
            })
        );
        assert_eq!(
            selection(rule, &bucket("a-raw-b"), &Tags::new()),
            Err(NotSelected::TagMissing { key: "Env".into() })
        );
        let dev = Tags::from([("Env".to_owned(), "dev".to_owned())]);
        assert_eq!(
            selection(rule, &bucket("a-raw-b"), &dev),
            Err(NotSelected::TagMismatch {
                key: "Env".into(),
                value: "dev".into(),
                pattern: "prod".into()
            })
        );
        let prod = Tags::from([("Env".to_owned(), "prod".to_owned())]);
        assert_eq!(
            selection(rule, &bucket("plain"), &prod),
            Err(NotSelected::Name {
                name: "plain".into()
            })
        );
        assert_eq!(
            selection(rule, &bucket("a-raw-b"), &prod)
                .unwrap()
                .name_pattern
                .as_deref(),
            Some("-raw-")
        );
    }
}
