//! A problem: what a thread of messages is about, with a fingerprint stable across events,
//! processes and releases.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::evaluate::{Action, Violation, ViolationKind};
use crate::obligation::ObligationName;
use crate::policy::Level;

/// A problem is (resource, the set of violations, the action). Two decisions with the same
/// problem are the same alert, however they came about: a redelivered event, the `aws.tag` echo
/// of the enforcer's own writes, a later event on an unchanged resource.
///
/// Only what a person must still fix counts: error-level violations the plan does not fix. A
/// violation the enforcer fixes itself (a tag it adds) is gone by the next event, so counting it
/// would make the echo of its own write look like a changed problem. Each violation counts as
/// (rule, tag, kind), not its message: an invalid value replaced by another invalid value is the
/// same problem, not an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The resource.
    pub arn: String,
    /// What the enforcer does about it: [`Action::Alert`] or [`Action::Quarantine`]; in audit
    /// mode, [`Action::Remediate`] too ([`Problem::planned`]).
    pub action: Action,
    /// (rule, tag, kind) of each violation a person must fix, sorted.
    pub violations: BTreeSet<(String, String, &'static str)>,
    /// The opt-out tag that withholds the quarantine, as `until` and `by`, when one applies: a
    /// new, renewed or re-signed opt-out is a changed problem, so the owner hears of it.
    pub opt_out: Option<String>,
}

/// The version of the fingerprint's canonical form; a new form gets a new version, so a stored
/// fingerprint of an older form reads as a changed problem (one update), never as a silent match.
const FINGERPRINT_VERSION: &str = "v1";

impl Problem {
    /// The problem a decision about `arn` shows; `None` when it needs no person (the action is
    /// none or remediation only): a resource with an open problem and no problem now is fixed.
    pub fn new<'v>(
        arn: &str,
        violations: impl IntoIterator<Item = &'v Violation>,
        action: Action,
    ) -> Option<Self> {
        if !matches!(action, Action::Alert | Action::Quarantine) {
            return None;
        }
        let violations = violations
            .into_iter()
            .filter(|v| v.level == Level::Error && !v.fixed)
            .map(|v| (v.rule.clone(), v.tag.clone(), problem_kind(v)))
            .collect();
        Some(Self {
            arn: arn.to_owned(),
            action,
            violations,
            opt_out: None,
        })
    }

    /// The same problem under the resource's applying opt-out, if any ([`Problem::opt_out`]).
    pub fn with_opt_out(mut self, opt_out: Option<&crate::policy::OptOut>) -> Self {
        self.opt_out = opt_out.map(|o| format!("{}\t{}", o.until, o.by.as_deref().unwrap_or("")));
        self
    }

    /// The problem of an audit-mode remediation: tags the enforcer would add but, in audit
    /// mode, does not. Nothing is written, so every later event plans the same tags again; as a
    /// problem (action `remediate`, the error-level violations the plan would fix) it is
    /// announced once, reminded once, and resolved when a person adds the tags.
    pub fn planned<'v>(arn: &str, violations: impl IntoIterator<Item = &'v Violation>) -> Self {
        Self {
            arn: arn.to_owned(),
            action: Action::Remediate,
            violations: violations
                .into_iter()
                .filter(|v| v.level == Level::Error)
                .map(|v| (v.rule.clone(), v.tag.clone(), problem_kind(v)))
                .collect(),
            opt_out: None,
        }
    }

    /// `v1:` and the first 128 bits of the SHA-256 of the canonical form, in hex: the same for
    /// the same problem in any process, and stored to compare the next decision with.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        let hex: String = digest
            .iter()
            .take(16)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{FINGERPRINT_VERSION}:{hex}")
    }

    /// One line per field, tab-separated, violations sorted: unambiguous (ARNs, rule names and
    /// tag keys hold no tab or newline) and independent of the order rules ran in.
    fn canonical(&self) -> String {
        let mut text = format!(
            "{FINGERPRINT_VERSION}\nresource\t{}\naction\t{}\n",
            self.arn,
            action_name(self.action)
        );
        for (rule, tag, kind) in &self.violations {
            text.push_str(&format!("violation\t{rule}\t{tag}\t{kind}\n"));
        }
        // Only when there is one: the fingerprints of problems without an opt-out are those of
        // the form before opt-outs existed.
        if let Some(opt_out) = &self.opt_out {
            text.push_str(&format!("opt_out\t{opt_out}\n"));
        }
        text
    }
}

/// The action's name as the decision output spells it.
pub(crate) fn action_name(action: Action) -> &'static str {
    match action {
        Action::None => "none",
        Action::Remediate => "remediate",
        Action::Alert => "alert",
        Action::Quarantine => "quarantine",
    }
}

/// The action named `name` (see [`action_name`]).
pub(crate) fn parse_action(name: &str) -> Option<Action> {
    [
        Action::None,
        Action::Remediate,
        Action::Alert,
        Action::Quarantine,
    ]
    .into_iter()
    .find(|action| action_name(*action) == name)
}

/// A violation's kind as the problem names it: its kind, and for an obligation which one, so that
/// a second obligation broken on the same resource is a changed problem, not the same one.
fn problem_kind(violation: &Violation) -> &'static str {
    match (
        violation.kind,
        violation.obligation.as_ref().map(|o| o.name),
    ) {
        (ViolationKind::Obligation, Some(ObligationName::EncryptedAtRest)) => {
            "obligation:encrypted_at_rest"
        }
        (ViolationKind::Obligation, Some(ObligationName::PublicAccess)) => {
            "obligation:public_access"
        }
        (ViolationKind::Obligation, Some(ObligationName::AllowedRegions)) => {
            "obligation:allowed_regions"
        }
        (kind, _) => kind_name(kind),
    }
}

fn kind_name(kind: ViolationKind) -> &'static str {
    match kind {
        ViolationKind::Missing => "missing",
        ViolationKind::InvalidValue => "invalid_value",
        ViolationKind::WrongCase => "wrong_case",
        ViolationKind::Conflict => "conflict",
        ViolationKind::Obligation => "obligation",
        ViolationKind::Exemption => "exemption",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:s3:::raw-data";

    fn violation(tag: &str, kind: ViolationKind, fixed: bool) -> Violation {
        Violation {
            tag: tag.to_owned(),
            kind,
            rule: "raw-layer".to_owned(),
            message: format!("{tag} is wrong in some way"),
            level: Level::Error,
            fixed,
            obligation: None,
        }
    }

    #[test]
    fn the_fingerprint_is_stable_and_ignores_order_messages_and_what_the_plan_fixes() {
        let missing = violation("DataClassification", ViolationKind::Missing, false);
        let layer = violation("Layer", ViolationKind::Missing, true);
        let owner = violation("ProcessOwner", ViolationKind::InvalidValue, false);
        let first = Problem::new(ARN, [&missing, &layer, &owner], Action::Quarantine).unwrap();
        // The echo of the enforcer's own write: Layer is now there, the rest unchanged, the
        // invalid value reworded.
        let mut reworded = owner.clone();
        reworded.message = "`x` is not one of A, B".to_owned();
        let echo = Problem::new(ARN, [&reworded, &missing], Action::Quarantine).unwrap();
        assert_eq!(first.fingerprint(), echo.fingerprint());
        // Pinned: the same problem has this fingerprint in every process and release (the
        // SHA-256 of its canonical form, computed apart from this code).
        assert_eq!(first.fingerprint(), "v1:66743492dc32be7ec895f68eaabf3994");
        let warning = Violation {
            level: Level::Warning,
            ..violation("CostCenter", ViolationKind::Missing, false)
        };
        let with_warning =
            Problem::new(ARN, [&missing, &owner, &warning], Action::Quarantine).unwrap();
        assert_eq!(with_warning.fingerprint(), first.fingerprint());
    }

    /// An opt-out withholding the quarantine is part of the problem: a new one, or one renewed
    /// or signed by someone else, is a changed problem the owner hears of; the same one is not.
    #[test]
    fn a_new_or_changed_opt_out_is_another_problem() {
        let missing = violation("DataClassification", ViolationKind::Missing, false);
        let without = Problem::new(ARN, [&missing], Action::Alert).unwrap();
        let opt_out = |until: &str, by: &str| crate::policy::OptOut {
            until: until.parse().unwrap(),
            reason: Some("export".to_owned()),
            by: Some(by.to_owned()),
        };
        let with = |o: &crate::policy::OptOut| without.clone().with_opt_out(Some(o));
        let first = with(&opt_out("2027-01-31", "carol"));
        assert_eq!(
            without.clone().with_opt_out(None).fingerprint(),
            without.fingerprint()
        );
        assert_ne!(first.fingerprint(), without.fingerprint());
        assert_eq!(
            first.fingerprint(),
            with(&opt_out("2027-01-31", "carol")).fingerprint()
        );
        assert_ne!(
            first.fingerprint(),
            with(&opt_out("2027-03-31", "carol")).fingerprint()
        );
        assert_ne!(
            first.fingerprint(),
            with(&opt_out("2027-01-31", "mallory")).fingerprint()
        );
        // Its reason is not: rewording it is the same opt-out.
        let mut reworded = opt_out("2027-01-31", "carol");
        reworded.reason = Some("another reason".to_owned());
        assert_eq!(first.fingerprint(), with(&reworded).fingerprint());
    }

    #[test]
    fn another_violation_action_or_resource_is_another_problem() {
        let missing = violation("DataClassification", ViolationKind::Missing, false);
        let owner = violation("ProcessOwner", ViolationKind::InvalidValue, false);
        let base = Problem::new(ARN, [&missing], Action::Alert).unwrap();
        let others = [
            Problem::new(ARN, [&missing, &owner], Action::Alert).unwrap(),
            Problem::new(ARN, [&missing], Action::Quarantine).unwrap(),
            Problem::new("arn:aws:s3:::other", [&missing], Action::Alert).unwrap(),
            Problem::new(
                ARN,
                [&violation(
                    "DataClassification",
                    ViolationKind::InvalidValue,
                    false,
                )],
                Action::Alert,
            )
            .unwrap(),
        ];
        for other in others {
            assert_ne!(other.fingerprint(), base.fingerprint(), "{other:?}");
        }
    }

    #[test]
    fn no_person_needed_is_no_problem() {
        let layer = violation("Layer", ViolationKind::Missing, true);
        assert_eq!(Problem::new(ARN, [&layer], Action::Remediate), None);
        assert_eq!(Problem::new(ARN, [], Action::None), None);
    }

    #[test]
    fn action_names_round_trip() {
        for action in [
            Action::None,
            Action::Remediate,
            Action::Alert,
            Action::Quarantine,
        ] {
            assert_eq!(parse_action(action_name(action)), Some(action));
        }
        assert_eq!(parse_action("Alert"), None);
    }

    /// A second obligation broken on the same resource changes the problem; the same one
    /// broken again (another event's evidence) does not.
    #[test]
    fn each_broken_obligation_is_part_of_the_problem() {
        let broken = |name: ObligationName, field: &str| Violation {
            tag: "DataClassification".to_owned(),
            kind: ViolationKind::Obligation,
            rule: "classification.Confidential".to_owned(),
            message: String::new(),
            level: Level::Error,
            fixed: false,
            obligation: Some(crate::obligation::ObligationViolation {
                name,
                class: "Confidential".to_owned(),
                required: "deny".to_owned(),
                evidence: crate::obligation::Evidence::request(field, "true"),
            }),
        };
        let public = broken(
            ObligationName::PublicAccess,
            "requestParameters.publiclyAccessible",
        );
        let again = broken(
            ObligationName::PublicAccess,
            "requestParameters.bucketPolicy",
        );
        let encryption = broken(
            ObligationName::EncryptedAtRest,
            "requestParameters.storageEncrypted",
        );
        let one = Problem::new(ARN, [&public], Action::Alert).unwrap();
        let same = Problem::new(ARN, [&again], Action::Alert).unwrap();
        let two = Problem::new(ARN, [&public, &encryption], Action::Alert).unwrap();
        assert_eq!(one.fingerprint(), same.fingerprint());
        assert_ne!(one.fingerprint(), two.fingerprint());
    }
}
