//! The class a resource must at least carry: what its lineage and Macie's evidence say about
//! the ranked classification tag (`ranked = true`, e.g. `DataClassification`: its `values` from
//! the lowest class to the highest). Pure: no I/O, no clock.
//!
//! - **Lineage**: a rule that `set`s the ranked tag for a resource knows its class from where
//!   the data comes from (a raw-layer bucket is `Confidential`). A value below it (a person
//!   lowered `Confidential` to `Public`) is an `obligation` violation naming the rule.
//! - **Macie's evidence**: a sensitive data finding on a bucket (this event's, or one the state
//!   table remembers) warrants, per category found, the class `[macie] minimum_class` gives. A
//!   classification below the highest of them is an `obligation` violation naming the finding;
//!   a missing one too, saying which class is warranted.
//!
//! Both only alert: the person must raise the classification. The enforcer never changes a
//! value a person set, and does not add a class from a finding either: Macie inspects a sample
//! of the objects and its detections can be wrong, and the class a bucket needs may be higher
//! than any finding shows, so a finding is evidence for a person, not a certainty for the plan.

use std::collections::BTreeMap;

use crate::evaluate::{applicable_rules, Violation, ViolationKind};
use crate::event::{ResourceRef, SensitiveDataEvidence};
use crate::policy::{Level, PolicySet};
use crate::Tags;

/// The `rule` of the violations Macie's evidence gives: the policy's `[macie]` table.
pub const MACIE_RULE: &str = "macie.minimum_class";

/// Sensitive data known to be in a resource, by category (`PERSONAL_INFORMATION`, …): for each,
/// the finding that reported it (this event's, or the first the state table remembers).
pub type SensitiveData = BTreeMap<String, SensitiveDataEvidence>;

/// The categories of `evidence`, each with the evidence.
pub(crate) fn by_category(evidence: &SensitiveDataEvidence) -> SensitiveData {
    evidence
        .categories
        .iter()
        .map(|category| (category.clone(), evidence.clone()))
        .collect()
}

/// The class the sensitive data warrants under the policy (the highest `[macie]
/// minimum_class` of its categories), with the evidence of the category that warrants it.
/// `None` without a ranked tag, a `[macie]` table, or a category it names.
pub fn warranted<'e>(
    sensitive: &'e SensitiveData,
    policies: &PolicySet,
) -> Option<(&'e str, usize, &'e SensitiveDataEvidence, String)> {
    let macie = policies.macie.as_ref()?;
    sensitive
        .iter()
        .filter_map(|(category, evidence)| {
            let class = macie.minimum_class.get(category)?;
            let rank = policies.rank(class)?;
            Some((category.as_str(), rank, evidence, class.clone()))
        })
        .max_by_key(|(_, rank, _, _)| *rank)
}

/// What the lineage and the evidence say of a resource's ranked tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClassificationCheck {
    /// The `obligation` violations: below the lineage, below or missing against the evidence.
    pub(crate) violations: Vec<Violation>,
    /// With violations: the lowest class that honours both (what the owner's fix sets).
    pub(crate) minimum_class: Option<String>,
}

/// The `obligation` violations of a resource's ranked tag: below its lineage (a rule's `set`),
/// below or missing against Macie's evidence. `tags` are the tags the resource will have once
/// the plan is carried out (the plan adds a `set` value when the tag is missing).
pub(crate) fn classification_violations(
    resource: &ResourceRef,
    tags: &Tags,
    sensitive: &SensitiveData,
    policies: &PolicySet,
) -> ClassificationCheck {
    let violations = violations_of(resource, tags, sensitive, policies);
    let minimum_class = if violations.is_empty() {
        None
    } else {
        let lineage = lineage_classes(resource, tags, policies);
        let warranted = warranted(sensitive, policies).map(|(_, _, _, class)| class);
        lineage
            .into_iter()
            .chain(warranted)
            .filter_map(|class| Some((policies.rank(&class)?, class)))
            .max()
            .map(|(_, class)| class)
    };
    ClassificationCheck {
        violations,
        minimum_class,
    }
}

/// The classes the rules that apply to the resource `set` for the ranked tag.
fn lineage_classes(resource: &ResourceRef, tags: &Tags, policies: &PolicySet) -> Vec<String> {
    let Some(ranked) = policies.ranked_tag() else {
        return Vec::new();
    };
    applicable_rules(resource, tags, policies)
        .applied
        .into_iter()
        .flat_map(|(rule, captures)| {
            rule.set
                .iter()
                .filter(|stated| stated.key == ranked.key)
                .filter_map(|stated| stated.value.render(&captures, None))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn violations_of(
    resource: &ResourceRef,
    tags: &Tags,
    sensitive: &SensitiveData,
    policies: &PolicySet,
) -> Vec<Violation> {
    let Some(ranked) = policies.ranked_tag() else {
        return Vec::new();
    };
    let key = ranked.key.as_str();
    let current = tags.get(key);
    let current_rank = current.and_then(|value| policies.rank(value));
    let mut violations = Vec::new();
    if let (Some(value), Some(rank)) = (current, current_rank) {
        for (rule, captures) in applicable_rules(resource, tags, policies).applied {
            for stated in rule.set.iter().filter(|stated| stated.key == key) {
                let Some(lineage) = stated.value.render(&captures, None) else {
                    continue;
                };
                if policies.rank(&lineage).is_some_and(|known| known > rank) {
                    violations.push(Violation {
                        tag: key.to_owned(),
                        kind: ViolationKind::Obligation,
                        rule: rule.name.clone(),
                        message: format!(
                            "{key} `{value}` is below `{lineage}`, the class rule `{}` knows for \
                             this resource from its lineage: a lowered classification must be \
                             raised back to `{lineage}` or higher (the enforcer never changes a \
                             value a person set)",
                            rule.name
                        ),
                        level: Level::Error,
                        fixed: false,
                        obligation: None,
                    });
                }
            }
        }
    }
    let Some((_, warranted_rank, evidence, class)) = warranted(sensitive, policies) else {
        return violations;
    };
    let found = describe(evidence);
    let message = match (current, current_rank) {
        (None, _) => Some(format!(
            "{key} is missing, and Macie's evidence warrants at least `{class}`: {found}. Set \
             {key} to `{class}` or higher (the enforcer does not classify from a finding: a \
             person decides)"
        )),
        (Some(value), Some(rank)) if rank < warranted_rank => Some(format!(
            "{key} `{value}` is below `{class}`, the lowest class Macie's evidence warrants: \
             {found}. Raise {key} to `{class}` or higher (the enforcer never changes a value a \
             person set)"
        )),
        // At or above the warranted class; or a value that is not a class (the vocabulary
        // reports it).
        _ => None,
    };
    violations.extend(message.map(|message| Violation {
        tag: key.to_owned(),
        kind: ViolationKind::Obligation,
        rule: MACIE_RULE.to_owned(),
        message,
        level: Level::Error,
        fixed: false,
        obligation: None,
    }));
    violations
}

/// "finding F (TYPE) found PERSONAL_INFORMATION, FINANCIAL_INFORMATION in `key`".
fn describe(evidence: &SensitiveDataEvidence) -> String {
    let categories: Vec<&str> = evidence.categories.iter().map(String::as_str).collect();
    let mut text = format!(
        "finding {} ({}) found {}",
        evidence.finding_id,
        evidence.finding_type,
        categories.join(", ")
    );
    if let Some(key) = &evidence.object_key {
        text.push_str(&format!(" in `{key}`"));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::KNOWN_RESOURCE_TYPES;
    use crate::policy::{compile_sources, SourceFile};

    const POLICY: &str = r#"
[tags.DataClassification]
values = ["Public", "Internal", "Confidential", "Restricted"]
ranked = true

[[rule]]
name = "raw-layer"
resource_types = ["s3:bucket"]
names = ['-raw-']
[rule.set]
DataClassification = "Confidential"

[macie]
minimum_class = { PERSONAL_INFORMATION = "Confidential", CREDENTIALS = "Restricted" }
"#;

    fn policies() -> PolicySet {
        let source = SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(POLICY.to_owned()),
        };
        let (set, diagnostics) = compile_sources(&[source], KNOWN_RESOURCE_TYPES);
        assert!(
            diagnostics.iter().all(|d| d.level != Level::Error),
            "{diagnostics:?}"
        );
        set
    }

    fn evidence(categories: &[&str]) -> SensitiveData {
        by_category(&SensitiveDataEvidence {
            finding_id: "f-1".to_owned(),
            finding_type: "SensitiveData:S3Object/Multiple".to_owned(),
            categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            object_key: Some("customers.csv".to_owned()),
        })
    }

    fn violations(bucket: &str, class: Option<&str>, sensitive: &SensitiveData) -> Vec<Violation> {
        let resource = ResourceRef::from_arn(&format!("arn:aws:s3:::{bucket}"), None).unwrap();
        let tags: Tags = class
            .map(|class| ("DataClassification".to_owned(), class.to_owned()))
            .into_iter()
            .collect();
        classification_violations(&resource, &tags, sensitive, &policies()).violations
    }

    #[test]
    fn below_equal_above_and_missing_against_macie_evidence() {
        let personal = evidence(&["PERSONAL_INFORMATION"]);
        let below = violations("lake", Some("Internal"), &personal);
        assert_eq!(below.len(), 1, "{below:?}");
        assert_eq!(below[0].kind, ViolationKind::Obligation);
        assert_eq!(below[0].rule, MACIE_RULE);
        for named in [
            "f-1",
            "SensitiveData:S3Object/Multiple",
            "PERSONAL_INFORMATION",
            "`Confidential`",
        ] {
            assert!(
                below[0].message.contains(named),
                "{named}: {}",
                below[0].message
            );
        }
        assert!(violations("lake", Some("Confidential"), &personal).is_empty());
        assert!(violations("lake", Some("Restricted"), &personal).is_empty());
        let missing = violations("lake", None, &personal);
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].message.contains("missing"),
            "{}",
            missing[0].message
        );
        // The highest category wins; an unmapped category warrants nothing.
        let both = violations(
            "lake",
            Some("Confidential"),
            &evidence(&["CREDENTIALS", "PERSONAL_INFORMATION"]),
        );
        assert_eq!(both.len(), 1);
        assert!(
            both[0].message.contains("`Restricted`"),
            "{}",
            both[0].message
        );
        assert!(violations("lake", None, &evidence(&["CUSTOM_IDENTIFIER"])).is_empty());
        // A value that is not a class is the vocabulary's to report.
        assert!(violations("lake", Some("secret"), &personal).is_empty());
    }

    #[test]
    fn a_class_below_the_lineage_is_an_obligation_naming_the_rule() {
        let none = SensitiveData::new();
        let lowered = violations("x-raw-y", Some("Public"), &none);
        assert_eq!(lowered.len(), 1, "{lowered:?}");
        assert_eq!(lowered[0].rule, "raw-layer");
        assert!(lowered[0].message.contains("lineage"));
        assert!(violations("x-raw-y", Some("Confidential"), &none).is_empty());
        assert!(violations("x-raw-y", Some("Restricted"), &none).is_empty());
        assert!(violations("x-raw-y", None, &none).is_empty());
        // The fix sets the lowest class that honours the lineage and the evidence.
        let resource = ResourceRef::from_arn("arn:aws:s3:::x-raw-y", None).unwrap();
        let public = Tags::from([("DataClassification".to_owned(), "Public".to_owned())]);
        let check = |sensitive: &SensitiveData| {
            classification_violations(&resource, &public, sensitive, &policies()).minimum_class
        };
        assert_eq!(check(&none).as_deref(), Some("Confidential"));
        assert_eq!(
            check(&evidence(&["CREDENTIALS"])).as_deref(),
            Some("Restricted")
        );
        assert!(violations("scratch", Some("Public"), &none).is_empty());
    }

    #[test]
    fn nothing_is_ranked_without_a_ranked_tag() {
        let mut set = policies();
        for tag in &mut set.tags {
            tag.ranked = false;
        }
        let resource = ResourceRef::from_arn("arn:aws:s3:::x-raw-y", None).unwrap();
        let tags = Tags::from([("DataClassification".to_owned(), "Public".to_owned())]);
        let sensitive = evidence(&["CREDENTIALS"]);
        assert_eq!(
            classification_violations(&resource, &tags, &sensitive, &set),
            ClassificationCheck::default()
        );
    }
}
