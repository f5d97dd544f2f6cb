//! Why the policies decide what they decide about one resource: which rules select it and
//! which do not (and why), where every requirement, expectation, default and allowed list comes
//! from (file:line), and the final plan.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::evaluate::{applicable_rules, evaluate, selection, NotSelected, Verdict, Violation};
use crate::event::ResourceRef;
use crate::policy::{Origin, PolicySet, Rule, RuleValue};
use crate::Tags;

/// What one rule did about the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RuleStatus {
    /// The rule selects the resource and applies.
    Applies {
        /// The `names` pattern that matched, if the rule has `names`.
        name_pattern: Option<String>,
        /// Its named captures.
        captures: BTreeMap<String, String>,
    },
    /// The rule selects the resource, but a rule that also does overrides it.
    Overridden {
        /// The overriding rules.
        by: Vec<String>,
    },
    /// The rule does not select the resource.
    NotSelected {
        /// Why.
        why: NotSelected,
    },
}

/// One rule and what it did.
#[derive(Debug, Clone, Serialize)]
pub struct RuleTrace {
    /// Rule name.
    pub rule: String,
    /// Where it is written.
    pub origin: Origin,
    /// What it did.
    #[serde(flatten)]
    pub status: RuleStatus,
}

/// A value a rule contributes for a key, rendered with the rule's captures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueSource {
    /// The rule.
    pub rule: String,
    /// The value (or values, for `allow`), captures filled in.
    pub values: Vec<String>,
    /// Where it is written.
    pub origin: Origin,
}

/// Everything the applicable rules say about one tag key, and what the plan does with it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyTrace {
    /// Tag key.
    pub key: String,
    /// Current value.
    pub current: Option<String>,
    /// Where the vocabulary defines it.
    pub vocabulary: Option<Origin>,
    /// Rules requiring it.
    pub required_by: Vec<ValueSource>,
    /// Rules recommending it.
    pub recommended_by: Vec<ValueSource>,
    /// Values rules know (`set`).
    pub set_by: Vec<ValueSource>,
    /// Values rules default to.
    pub defaulted_by: Vec<ValueSource>,
    /// Narrower allowed values.
    pub allowed_by: Vec<ValueSource>,
    /// The value the plan adds.
    pub add: Option<String>,
    /// The value the plan re-cases it to.
    pub case_fix: Option<String>,
    /// The violations about this key.
    pub violations: Vec<Violation>,
}

/// The full explanation of one decision.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The resource.
    pub resource: ResourceRef,
    /// Its current tags.
    pub tags: Tags,
    /// The exemption that applies (then no rule is evaluated).
    pub exempt: Option<String>,
    /// Every rule, in policy order.
    pub rules: Vec<RuleTrace>,
    /// Every key the applicable rules or the vocabulary have something to say about.
    pub keys: Vec<KeyTrace>,
    /// The decision, as the enforcer makes it.
    pub verdict: Verdict,
}

/// Explains the decision about `resource` with `tags`.
pub fn explain(resource: &ResourceRef, tags: &Tags, policies: &PolicySet) -> Explanation {
    let verdict = evaluate(resource, tags, policies);
    if verdict.exempt.is_some() {
        return Explanation {
            resource: resource.clone(),
            tags: tags.clone(),
            exempt: verdict.exempt.clone(),
            rules: Vec::new(),
            keys: Vec::new(),
            verdict,
        };
    }
    let applicable = applicable_rules(resource, tags, policies);
    let rules = policies
        .rules
        .iter()
        .map(|rule| {
            let status = if let Some((_, by)) = applicable
                .overridden
                .iter()
                .find(|(r, _)| r.name == rule.name)
            {
                RuleStatus::Overridden {
                    by: by.iter().map(|r| r.name.clone()).collect(),
                }
            } else {
                match selection(rule, resource, tags) {
                    Ok(selected) => RuleStatus::Applies {
                        name_pattern: selected.name_pattern,
                        captures: selected.captures,
                    },
                    Err(why) => RuleStatus::NotSelected { why },
                }
            };
            RuleTrace {
                rule: rule.name.clone(),
                origin: rule.origin.clone(),
                status,
            }
        })
        .collect();
    let applied: Vec<(&Rule, &BTreeMap<String, String>)> = applicable
        .applied
        .iter()
        .map(|(rule, captures)| (*rule, captures))
        .collect();
    let mut keys: Vec<String> = Vec::new();
    let mut note = |key: &str| {
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
    };
    for spec in &policies.tags {
        let mentioned = applied.iter().any(|(rule, _)| mentions(rule, &spec.key));
        if mentioned || tags.contains_key(&spec.key) {
            note(&spec.key);
        }
    }
    for (rule, _) in &applied {
        for key in rule
            .require
            .iter()
            .chain(&rule.recommend)
            .chain(rule.set.iter().map(|v| &v.key))
            .chain(rule.default.iter().map(|v| &v.key))
            .chain(rule.allow.iter().map(|(k, _)| k))
        {
            note(key);
        }
    }
    let keys = keys
        .into_iter()
        .map(|key| {
            let by_rule = |pick: &dyn Fn(&Rule) -> bool| -> Vec<ValueSource> {
                applied
                    .iter()
                    .filter(|(rule, _)| pick(rule))
                    .map(|(rule, _)| ValueSource {
                        rule: rule.name.clone(),
                        values: Vec::new(),
                        origin: rule.origin.clone(),
                    })
                    .collect()
            };
            let values = |pick: &dyn Fn(&Rule) -> &[RuleValue]| -> Vec<ValueSource> {
                applied
                    .iter()
                    .flat_map(|(rule, captures)| {
                        pick(rule)
                            .iter()
                            .filter(|v| v.key == key)
                            .map(|v| ValueSource {
                                rule: rule.name.clone(),
                                values: vec![v
                                    .value
                                    .render(captures)
                                    .unwrap_or_else(|| v.value.text.clone())],
                                origin: v.origin.clone(),
                            })
                    })
                    .collect()
            };
            KeyTrace {
                current: tags.get(&key).cloned(),
                vocabulary: policies.tag(&key).map(|spec| spec.origin.clone()),
                required_by: by_rule(&|rule| rule.require.contains(&key)),
                recommended_by: by_rule(&|rule| rule.recommend.contains(&key)),
                set_by: values(&|rule| &rule.set),
                defaulted_by: values(&|rule| &rule.default),
                allowed_by: applied
                    .iter()
                    .filter_map(|(rule, _)| {
                        let (_, allowed) = rule.allow.iter().find(|(k, _)| *k == key)?;
                        Some(ValueSource {
                            rule: rule.name.clone(),
                            values: allowed.clone(),
                            origin: rule.origin.clone(),
                        })
                    })
                    .collect(),
                add: verdict.add_tags.get(&key).cloned(),
                case_fix: verdict.case_fixes.get(&key).cloned(),
                violations: verdict
                    .violations
                    .iter()
                    .filter(|v| v.tag == key)
                    .cloned()
                    .collect(),
                key,
            }
        })
        .collect();
    Explanation {
        resource: resource.clone(),
        tags: tags.clone(),
        exempt: None,
        rules,
        keys,
        verdict,
    }
}

fn mentions(rule: &Rule, key: &str) -> bool {
    rule.require.iter().any(|k| k == key)
        || rule.recommend.iter().any(|k| k == key)
        || rule.set.iter().any(|v| v.key == key)
        || rule.default.iter().any(|v| v.key == key)
        || rule.allow.iter().any(|(k, _)| k == key)
}
