//! Why the policies decide what they decide about one resource: which rules select it and
//! which do not (and why), where every requirement, expectation, default and allowed list comes
//! from (file:line), and the final plan.
//!
//! An explanation is made from a decision ([`crate::engine::decide`]): it shows the verdict the
//! decision holds and the facts the same [`gather`] collected from the same tags, so it cannot
//! drift from the decision it explains.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::{decide, CurrentTags, ResourceDecision};
use crate::evaluate::{
    creator_name, gather, selection, KeyFacts, NotSelected, Stated, Verdict, Violation,
};
use crate::event::{Change, Creator, ResourceRef};
use crate::obligation::{self, Evidence, ObligationName};
use crate::policy::{Origin, PolicySet, Rule, UnfixableAction};
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

/// Whether a resource honours one obligation of its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObligationResult {
    /// What is known honours it.
    Honoured,
    /// What is known breaks it (a violation of kind `obligation`).
    Broken,
    /// Nothing known says either way (the event does not carry the setting, none was read).
    Unknown,
}

/// One obligation of the resource's class, and its result.
#[derive(Debug, Clone, Serialize)]
pub struct ObligationTrace {
    /// `encrypted_at_rest`, `public_access` or `allowed_regions`.
    pub name: ObligationName,
    /// What the class requires, as the policy writes it.
    pub required: String,
    /// The result.
    pub result: ObligationResult,
    /// The fact it was weighed against, when one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// The resource's class and what it obliges.
#[derive(Debug, Clone, Serialize)]
pub struct ClassificationTrace {
    /// The class (the classification tag once the plan is carried out).
    pub class: String,
    /// Where `[classification.<class>]` is written; `None` when the policy states no
    /// obligations for the class.
    pub origin: Option<Origin>,
    /// The class's action on a broken obligation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<UnfixableAction>,
    /// Each obligation the class states, in policy order.
    pub obligations: Vec<ObligationTrace>,
}

/// The class of a decided resource and each of its obligations' results, from the facts it was
/// decided with. `None` when it has no class, or the policies state no obligations at all.
fn classification_trace(
    decided: &ResourceDecision,
    policies: &PolicySet,
) -> Option<ClassificationTrace> {
    if policies.classifications.is_empty() {
        return None;
    }
    let tag = policies.classification_tag();
    let class = decided
        .case_fixes
        .get(tag)
        .or_else(|| decided.tags.get(tag))
        .or_else(|| decided.add_tags.get(tag))?
        .clone();
    let Some(classification) = policies.classification(&class) else {
        return Some(ClassificationTrace {
            class,
            origin: None,
            action: None,
            obligations: Vec::new(),
        });
    };
    let broken = obligation::check(&classification.obligations, &decided.protection);
    let facts = &decided.protection;
    let obligations = classification
        .obligations
        .stated()
        .into_iter()
        .map(|(name, required)| {
            let known = match name {
                ObligationName::EncryptedAtRest => {
                    facts.encrypted_at_rest.as_ref().map(|f| &f.evidence)
                }
                ObligationName::PublicAccess => facts.public.as_ref().map(|f| &f.evidence),
                ObligationName::AllowedRegions => facts.region.as_ref().map(|f| &f.evidence),
            };
            let (result, evidence) = match broken.iter().find(|b| b.name == name) {
                Some(broken) => (ObligationResult::Broken, Some(broken.evidence.clone())),
                None => match known {
                    Some(evidence) => (ObligationResult::Honoured, Some(evidence.clone())),
                    None => (ObligationResult::Unknown, None),
                },
            };
            ObligationTrace {
                name,
                required,
                result,
                evidence,
            }
        })
        .collect();
    Some(ClassificationTrace {
        class,
        origin: Some(classification.origin.clone()),
        action: Some(classification.action),
        obligations,
    })
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
    /// The caller a `principal` exemption was matched against: `userIdentity.arn` (or the
    /// session issuer's ARN); `None` outside an event (a scan, a resource given by ARN), where
    /// no principal exemption can apply.
    pub caller: Option<String>,
    /// Every rule, in policy order.
    pub rules: Vec<RuleTrace>,
    /// Every key the applicable rules or the vocabulary have something to say about.
    pub keys: Vec<KeyTrace>,
    /// The resource's class and its obligations' results (absent when it has no class, or the
    /// policies state no `[classification.*]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationTrace>,
    /// The decision, as the enforcer makes it.
    pub verdict: Verdict,
    /// Who made the call (an event's), whose name fills `{creator}` in `default` values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<Creator>,
}

/// Decides `change` with its resources' current tags at `now` ([`decide`]) and explains the
/// decision about each resource.
pub fn explain_change(
    change: Change,
    current: CurrentTags,
    policies: &PolicySet,
    now: jiff::Timestamp,
) -> Vec<Explanation> {
    let resources = change.resources.clone();
    let caller = change
        .actor
        .arn
        .clone()
        .or_else(|| change.actor.session_issuer_arn.clone());
    let decision = decide(change, current, policies, policies.mode, now, None);
    resources
        .iter()
        .zip(&decision.resources)
        .map(|(resource, decided)| Explanation {
            caller: caller.clone(),
            ..explain(resource, decided, policies, decision.creator.as_ref())
        })
        .collect()
}

/// Explains the decision `decided` about `resource`: the facts [`gather`] collects from the tags
/// it was decided with (the facts the decision judged), every rule's status, and the verdict.
pub fn explain(
    resource: &ResourceRef,
    decided: &ResourceDecision,
    policies: &PolicySet,
    creator: Option<&Creator>,
) -> Explanation {
    let tags = &decided.tags;
    // The exemption, by ARN or caller, is the decision's own (`decided.exempt`): the facts are
    // gathered as for a resource without a caller.
    let facts = gather(resource, tags, policies, &[], creator_name(creator));
    let verdict = Verdict {
        matched_rules: decided.matched_rules.clone(),
        overridden_rules: facts
            .applicable
            .overridden
            .iter()
            .map(|(rule, _)| rule.name.clone())
            .collect(),
        exempt: decided.exempt.clone(),
        opt_out: decided.opt_out.clone(),
        violations: decided.violations.clone(),
        add_tags: decided.add_tags.clone(),
        case_fixes: decided.case_fixes.clone(),
        action: decided.action,
    };
    if verdict.exempt.is_some() {
        return Explanation {
            resource: resource.clone(),
            tags: tags.clone(),
            exempt: verdict.exempt.clone(),
            caller: None,
            rules: Vec::new(),
            keys: Vec::new(),
            classification: None,
            verdict,
            creator: creator.cloned(),
        };
    }
    let rules = policies
        .rules
        .iter()
        .map(|rule| {
            let status = if let Some((_, by)) = facts
                .applicable
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
    // The vocabulary's keys first, in its order; then the others, in the order the rules name
    // them.
    let mut keys: Vec<&KeyFacts<'_>> = facts.keys.iter().collect();
    keys.sort_by_key(|key| {
        policies
            .tags
            .iter()
            .position(|spec| spec.key == key.key)
            .unwrap_or(usize::MAX)
    });
    let keys = keys
        .into_iter()
        .map(|key| key_trace(key, &verdict, tags))
        .collect();
    Explanation {
        resource: resource.clone(),
        tags: tags.clone(),
        exempt: None,
        caller: None,
        rules,
        keys,
        classification: classification_trace(decided, policies),
        verdict,
        creator: creator.cloned(),
    }
}

/// One key's facts as shown, with what the verdict does about the key.
fn key_trace(facts: &KeyFacts<'_>, verdict: &Verdict, tags: &Tags) -> KeyTrace {
    let key = facts.key;
    let rules = |rules: &[&Rule]| -> Vec<ValueSource> {
        rules
            .iter()
            .map(|rule| ValueSource {
                rule: rule.name.clone(),
                values: Vec::new(),
                origin: rule.origin.clone(),
            })
            .collect()
    };
    let stated = |stated: &[Stated<'_>]| -> Vec<ValueSource> {
        stated
            .iter()
            .map(|s| ValueSource {
                rule: s.rule.name.clone(),
                // A value whose capture took no part in the match states nothing: shown as
                // written.
                values: vec![s
                    .rendered
                    .clone()
                    .unwrap_or_else(|| s.value.value.text.clone())],
                origin: s.value.origin.clone(),
            })
            .collect()
    };
    KeyTrace {
        key: key.to_owned(),
        current: tags.get(key).cloned(),
        vocabulary: facts.spec.map(|spec| spec.origin.clone()),
        required_by: rules(&facts.required_by),
        recommended_by: rules(&facts.recommended_by),
        set_by: stated(&facts.set),
        defaulted_by: stated(&facts.defaults),
        allowed_by: facts
            .allowed
            .iter()
            .map(|(rule, allowed)| ValueSource {
                rule: rule.name.clone(),
                values: allowed.to_vec(),
                origin: rule.origin.clone(),
            })
            .collect(),
        add: verdict.add_tags.get(key).cloned(),
        case_fix: verdict.case_fixes.get(key).cloned(),
        violations: verdict
            .violations
            .iter()
            .filter(|v| v.tag == key)
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::act::given_current;
    use crate::catalog::KNOWN_RESOURCE_TYPES;
    use crate::engine::existing;
    use crate::policy::{compile_sources, SourceFile};

    fn standard() -> PolicySet {
        let source = SourceFile {
            path: "policies/ecometricx.toml".to_owned(),
            text: Arc::new(include_str!("../../../policies/ecometricx.toml").to_owned()),
        };
        compile_sources(&[source], KNOWN_RESOURCE_TYPES).0
    }

    /// The explanation holds the decision's own verdict, and shows every violation of it under
    /// its key, the vocabulary's keys first.
    #[test]
    fn an_explanation_shows_the_decision_it_explains() {
        let policies = standard();
        let resource =
            ResourceRef::from_arn("arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1", None).unwrap();
        let before = Tags::from([
            ("dataclassification".to_owned(), "confidential".to_owned()),
            ("CostCentre".to_owned(), "7".to_owned()),
        ]);
        let change = existing(resource, None);
        let current = given_current(&change, |_| Some(before.clone()));
        let now = jiff::Timestamp::UNIX_EPOCH;
        let decision = decide(
            change.clone(),
            current.clone(),
            &policies,
            policies.mode,
            now,
            None,
        );
        let [explanation] = explain_change(change, current, &policies, now)
            .try_into()
            .unwrap();
        let decided = &decision.resources[0];
        assert_eq!(explanation.tags, decided.tags);
        assert_eq!(explanation.verdict.violations, decided.violations);
        assert_eq!(explanation.verdict.add_tags, decided.add_tags);
        assert_eq!(explanation.verdict.action, decided.action);
        assert!(!decided.violations.is_empty());
        let shown: Vec<&Violation> = explanation
            .keys
            .iter()
            .flat_map(|k| &k.violations)
            .collect();
        assert_eq!(shown.len(), decided.violations.len());
        let vocabulary: Vec<bool> = explanation
            .keys
            .iter()
            .map(|k| k.vocabulary.is_some())
            .collect();
        assert!(
            vocabulary.windows(2).all(|w| w[0] || !w[1]),
            "vocabulary keys first: {vocabulary:?}"
        );
    }
}
