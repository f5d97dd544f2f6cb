//! Deciding: (resolved change, current tags, policies, mode) → [`Decision`], in [`decide`].
//!
//! Pure and synchronous: no I/O, no clock, no runtime. What decides needs from outside arrives as
//! values: the [`Change`] the resolver found in an event, and the [`CurrentTags`] of its
//! resources, read at the edge with the tag stores ([`crate::act::read`]: the read-lag retry, the
//! event laid over the read) or given (a scan's listing, a policy test case, `enforcer explain`).
//! Every decision about resources is made by [`decide`]: `enforcer check`, `scan`, `replay`,
//! `alert preview`, `test`, `explain` and the Lambda.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Arn, CallKind};
use crate::evaluate::{
    check_obligations, evaluate, Action, Circumstances, Violation, ViolationKind,
};
use crate::event::{
    Actor, Change, Creator, DecodeError, EventHeader, Location, Resolution, ResolvedBy,
    ResourceRef, TagUpdate,
};
use crate::evidence::{by_category, classification_violations, SensitiveData};
use crate::obligation::{Evidence, Fact, ProtectionFacts, SettingReadError};
use crate::policy::{Mode, OptOut, PolicySet};
use crate::Tags;

/// The outcome of one input record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every resource meets the standard.
    Compliant,
    /// Tags will be added; nothing else is wrong.
    Remediate,
    /// A person must act.
    Alert,
    /// At least one resource is to be quarantined.
    Quarantine,
    /// Deliberately not evaluated (failed or read-only call, the enforcer's own call).
    Ignored,
    /// Not a call the catalog knows.
    Unsupported,
    /// Could not be decoded or resolved, or a backend failed.
    Error,
}

impl Outcome {
    /// True when the record shows something to fix.
    pub fn needs_fixing(self) -> bool {
        matches!(self, Self::Remediate | Self::Alert | Self::Quarantine)
    }
}

/// The decision about one resource.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceDecision {
    /// Full ARN.
    pub arn: String,
    /// Resource Groups Tagging API type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The tags it has after the event.
    pub tags: Tags,
    /// Names of the rules that selected it.
    pub matched_rules: Vec<String>,
    /// The exemption that applies, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt: Option<String>,
    /// The opt-out tag that applies (`[exemptions]`): violations are reported, quarantine is
    /// withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<OptOut>,
    /// Everything wrong.
    pub violations: Vec<Violation>,
    /// Tags the plan adds.
    pub add_tags: Tags,
    /// Values the plan re-cases.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub case_fixes: Tags,
    /// What to do.
    pub action: Action,
    /// True when the tag read still lagged the event after the read retries: the tags above
    /// combine the read with the event, but a tag set before the event may be missing, so
    /// nothing is written for this resource.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stale_read: bool,
    /// The tags the store returned, before the event was laid over them (`None` when the store
    /// did not list the resource). Not printed; acting never writes a key this read holds, so a
    /// re-delivered or out-of-order event cannot overwrite what was set since.
    #[serde(skip)]
    pub read: Option<Tags>,
    /// True when the policy quarantines this resource but this change may not (not a creation
    /// or a scan): it alerts instead. Its alert thread stays the quarantine's, so the `aws.tag`
    /// echo of a quarantine's own label tags (or any later tag change) is the same problem and
    /// alerts nothing. Not printed.
    #[serde(skip)]
    pub(crate) quarantine_withheld: bool,
    /// What was known of its protection settings when it was decided: the event's facts laid
    /// over the read's ([`ProtectionFacts::overlay`]). Not printed; the violations name the
    /// evidence of what is broken, and `enforcer explain` shows the rest.
    #[serde(skip)]
    pub(crate) protection: ProtectionFacts,
    /// The protection settings its class obliges that the event did not answer and that could
    /// not be read on the resource: each obligation on one is neither met nor broken, and says
    /// why here (`access_denied` with the service's code, `failed`, `not_read`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unread_settings: Vec<SettingReadError>,
    /// The lowest class of the ranked tag the resource's lineage and Macie's evidence warrant,
    /// when its class is below it or missing (an `obligation` violation says why): what the
    /// alert's fix sets. Not printed.
    #[serde(skip)]
    pub(crate) minimum_class: Option<String>,
}

/// The decision about one input record: the unit the CLI prints and the Lambda logs.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// CloudTrail event id (or EventBridge id).
    pub event_id: Option<String>,
    /// eventSource.
    pub event_source: String,
    /// eventName as written.
    pub event_name: String,
    /// Overall outcome.
    pub outcome: Outcome,
    /// Why, for ignored, unsupported and error outcomes.
    pub reason: Option<String>,
    /// Where the record came from (`file:line`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Who made the call: the caller's ARN (the role's, for a session without one), as the
    /// record gives it; the routing key of an alert that goes to the creator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) actor: Option<String>,
    /// The person (or, when nothing names one, the role or service) behind the call, resolved
    /// from the record's `userIdentity` ([`Creator`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) creator: Option<Creator>,
    /// Account of the resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Region of the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `enforce` or `audit`.
    pub mode: Mode,
    /// Per resource.
    pub resources: Vec<ResourceDecision>,
    /// How the resources were found: `catalog` (a catalogued call or a Tag Change event), or
    /// `inferred` (a create call the catalog does not know, resolved to the ARN its response
    /// carries: alerted on, never changed or quarantined). Absent when none were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ResolvedBy>,
}

/// An inferred resource is alerted on and never written to: nothing in the catalog vouches for
/// its ARN or type, so no tag is added or fixed and it is never quarantined.
fn cap_inferred(resource: &mut ResourceDecision) {
    resource.add_tags.clear();
    resource.case_fixes.clear();
    if resource.action > Action::None {
        resource.action = Action::Alert;
    }
}

impl Decision {
    /// The decision about a record whose resources were not evaluated: `outcome` (ignored,
    /// unsupported or error) and why.
    fn without_resources(
        header: EventHeader,
        outcome: Outcome,
        reason: String,
        location: Option<&Location>,
        mode: Mode,
    ) -> Self {
        Self {
            event_id: header.event_id,
            event_source: header.event_source,
            event_name: header.event_name,
            outcome,
            reason: Some(reason),
            location: location.map(ToString::to_string),
            actor: None,
            creator: None,
            account: None,
            region: None,
            mode,
            resources: Vec::new(),
            resolution: None,
        }
    }

    /// The decision for an event that touched no resource to evaluate (ignored, unsupported or
    /// unresolved); a resolved change is handed back, to be decided with its resources' current
    /// tags ([`decide`]).
    pub(crate) fn unevaluated(
        resolution: Resolution,
        location: Option<&Location>,
        mode: Mode,
    ) -> Result<Self, Box<Change>> {
        Ok(match resolution {
            Resolution::Resolved(change) => return Err(change),
            Resolution::Ignored { header, reason } => {
                Self::without_resources(header, Outcome::Ignored, reason, location, mode)
            }
            Resolution::Unsupported { header, reason } => {
                Self::without_resources(header, Outcome::Unsupported, reason, location, mode)
            }
            Resolution::Unresolved { header, reason } => {
                Self::without_resources(header, Outcome::Error, reason, location, mode)
            }
        })
    }

    /// The decision for a change every resource of which has seen a fresher event already
    /// ([`crate::act::read_fresh_and_decide`]): ignored, saying why; it must not override what
    /// the fresher event decided.
    pub fn stale(
        header: EventHeader,
        reason: String,
        location: Option<&Location>,
        mode: Mode,
    ) -> Self {
        Self::without_resources(header, Outcome::Ignored, reason, location, mode)
    }

    /// The decision for an input that could not be decoded.
    pub fn decode_error(error: &DecodeError, mode: Mode) -> Self {
        Self::without_resources(
            EventHeader::default(),
            Outcome::Error,
            error.message.clone(),
            Some(&error.location),
            mode,
        )
    }

    /// The decision for an event that could not be decided because what it needs could not be
    /// had (its resources' tags could not be read, its account's backends are out of reach):
    /// an [`Outcome::Error`] saying why.
    pub fn failed(
        header: EventHeader,
        reason: String,
        location: Option<&Location>,
        mode: Mode,
    ) -> Self {
        Self::without_resources(header, Outcome::Error, reason, location, mode)
    }
}

/// The identity of a change, for a decision about it that evaluates nothing.
pub(crate) fn event_header(change: Change) -> EventHeader {
    EventHeader {
        event_id: change.event_id,
        event_source: change.event_source,
        event_name: change.event_name,
    }
}

/// What is known of one resource's tags when an event is decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceTags {
    /// The tags it has after the event: what is judged.
    pub tags: Tags,
    /// The tags the store returned, before the event was laid over them (`None` when the store
    /// did not list the resource).
    pub read: Option<Tags>,
    /// True when the read still lagged the event after the read retries.
    pub stale: bool,
    /// The classification the enforcer's state last saw the resource carry (its vocabulary
    /// tags; empty when never seen classified, or not known: an offline `check` or `explain`
    /// keeps no history).
    pub known: Tags,
    /// The protection settings read on the resource itself (encryption at rest, public access,
    /// region), each with the setting it was read from: what the event does not carry. Empty
    /// when nothing was read; the event's own facts ([`ResourceRef::protection`]) win over it.
    pub protection: ProtectionFacts,
    /// The protection settings its class obliges that could not be read (denied, failed, not
    /// read for the type): shown in the decision, never taken as a value.
    pub unread_settings: Vec<SettingReadError>,
    /// The sensitive data the state table remembers Macie found in the resource, by category
    /// (empty when none, or not known: an offline `check` keeps no history).
    pub sensitive: SensitiveData,
}

/// The current tags of a change's resources, by ARN: what [`decide`] judges besides the
/// policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrentTags(BTreeMap<String, ResourceTags>);

impl CurrentTags {
    /// Every resource of `change`, with what `tags_of` knows of its tags.
    pub fn of(change: &Change, mut tags_of: impl FnMut(&ResourceRef) -> ResourceTags) -> Self {
        Self(
            change
                .resources
                .iter()
                .map(|resource| (resource.arn.clone(), tags_of(resource)))
                .collect(),
        )
    }

    /// Records the classification the state last saw `arn` carry ([`ResourceTags::known`]).
    pub(crate) fn set_known(&mut self, arn: &str, known: Tags) {
        if let Some(resource) = self.0.get_mut(arn) {
            resource.known = known;
        }
    }

    /// Records the protection settings read on `arn` ([`ResourceTags::protection`]) and those
    /// that could not be ([`ResourceTags::unread_settings`]).
    pub(crate) fn set_read_protection(
        &mut self,
        arn: &str,
        read: ProtectionFacts,
        unread: Vec<SettingReadError>,
    ) {
        if let Some(resource) = self.0.get_mut(arn) {
            // What was read wins; what it does not say (the region) stays as known.
            resource.protection = read.overlay(&resource.protection);
            resource.unread_settings = unread;
        }
    }

    /// Records the sensitive data the state remembers in `arn` ([`ResourceTags::sensitive`]).
    pub(crate) fn set_sensitive(&mut self, arn: &str, sensitive: SensitiveData) {
        if let Some(resource) = self.0.get_mut(arn) {
            resource.sensitive = sensitive;
        }
    }

    /// What is known of the tags of `arn`.
    pub fn get(&self, arn: &str) -> Option<&ResourceTags> {
        self.0.get(arn)
    }
}

/// The change that stands for a resource as it exists, outside any event: what `enforcer scan`
/// decides for each resource it lists, and a policy test case or `enforcer explain` given a
/// resource and its tags. `listed_in` is the account it was listed in, for ARNs that name none
/// (S3 buckets).
pub fn existing(mut resource: ResourceRef, listed_in: Option<&str>) -> Change {
    let parsed = Arn::parse(&resource.arn);
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let account = parsed
        .as_ref()
        .and_then(|arn| non_empty(arn.account))
        .or_else(|| listed_in.and_then(non_empty));
    let region = parsed.as_ref().and_then(|arn| non_empty(arn.region));
    // Where it lives is in its ARN (an S3 bucket's is not: a read of its location supplies it).
    if let Some(region) = &region {
        resource.protection.region.get_or_insert_with(|| {
            Fact::new(
                region.clone(),
                Evidence::current("ARN region", region.clone()),
            )
        });
    }
    Change {
        event_id: None,
        event_time: None,
        tag_version: None,
        event_source: SCAN_EVENT_SOURCE.to_owned(),
        event_name: "GetResources".to_owned(),
        // Nothing happened to the resource: no call changed it and no tag update is laid over
        // its tags.
        kind: CallKind::Modify,
        actor: Actor::default(),
        account,
        region,
        resources: vec![resource],
        tag_update: TagUpdate::None,
        resolved_by: None,
        evidence: None,
    }
}

/// `event_source` of the changes [`existing`] makes for a scan.
pub(crate) const SCAN_EVENT_SOURCE: &str = "enforcer.scan";

/// Only a resource's creation, or a scan of what exists, may quarantine it. A tag change (a
/// removal above all: `DeleteBucketTagging` on a classified, working bucket) would otherwise
/// let anyone with tagging rights lock a resource out; it alerts instead.
fn may_quarantine(change: &Change) -> bool {
    change.kind == CallKind::Create || change.event_source == SCAN_EVENT_SOURCE
}

/// Decides a change: evaluates each of its resources with its current tags against the
/// policies at `now` (the time of the decision, read by the caller: an opt-out tag's expiry is
/// judged against it), and records the decision under `mode` (`audit` plans and writes nothing).
/// The change's caller is what a `principal` exemption matches, and, when the change set the
/// opt-out tag, who wrote it.
///
/// A resource `current` does not hold ([`CurrentTags::of`] holds every resource of the change it
/// was made for) is judged untagged and unread. The resources of an inferred change are only
/// alerted on ([`cap_inferred`]).
pub fn decide(
    change: Change,
    mut current: CurrentTags,
    policies: &PolicySet,
    mode: Mode,
    now: jiff::Timestamp,
    location: Option<&Location>,
) -> Decision {
    let inferred = change.resolved_by == Some(ResolvedBy::Inferred);
    let caller: Vec<&str> = [&change.actor.arn, &change.actor.session_issuer_arn]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let opt_out_tag = policies.exemption_settings.tag.as_str();
    let circumstances = Circumstances {
        caller: &caller,
        wrote_opt_out: match &change.tag_update {
            TagUpdate::Merge(tags) | TagUpdate::Replace(tags) => tags.contains_key(opt_out_tag),
            TagUpdate::None | TagUpdate::Remove(_) => false,
        },
        opt_out_recorded: false,
        creator: change.actor.creator.as_ref(),
        now,
    };
    let resources: Vec<ResourceDecision> = change
        .resources
        .iter()
        .map(|resource| {
            let ResourceTags {
                tags,
                read,
                stale,
                known,
                protection: read_protection,
                unread_settings,
                mut sensitive,
            } = current.0.remove(&resource.arn).unwrap_or_default();
            // This event's finding names what it found; older findings fill in the rest.
            if let Some(evidence) = &change.evidence {
                sensitive.extend(by_category(evidence));
            }
            // A `restore` tag the resource was seen carrying and has lost is written back with
            // its last known value: judged as if it were there, and added.
            let restored: Tags = known
                .iter()
                .filter(|(key, _)| {
                    !tags.contains_key(*key) && policies.tag(key).is_some_and(|spec| spec.restore)
                })
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            let mut judged = tags.clone();
            judged.extend(restored.clone());
            // The state remembers an opt-out value an approver wrote (`act::read`): the same
            // value now is vouched for, whoever the caller.
            let recorded = known.get(opt_out_tag);
            let circumstances = Circumstances {
                opt_out_recorded: recorded.is_some() && recorded == tags.get(opt_out_tag),
                ..circumstances
            };
            let mut verdict = evaluate(resource, &judged, policies, &circumstances);
            for (key, value) in restored {
                verdict.add_tags.entry(key).or_insert(value);
            }
            let mut minimum_class = None;
            if verdict.exempt.is_none() {
                // Judged as the resource will be once the plan is carried out.
                let mut planned = judged.clone();
                planned.extend(verdict.add_tags.clone());
                planned.extend(verdict.case_fixes.clone());
                let classification =
                    classification_violations(resource, &planned, &sensitive, policies);
                if classification
                    .violations
                    .iter()
                    .any(|violation| violation.kind == ViolationKind::Obligation)
                {
                    verdict.action = verdict.action.max(Action::Alert);
                }
                verdict.violations.extend(classification.violations);
                minimum_class = classification.minimum_class;
            }
            if verdict.action == Action::None && !verdict.add_tags.is_empty() {
                verdict.action = Action::Remediate;
            }
            // The class is the one the resource has once the plan is carried out.
            let mut after_plan = judged;
            after_plan.extend(verdict.add_tags.clone());
            after_plan.extend(verdict.case_fixes.clone());
            let obligations = check_obligations(resource, &after_plan, &read_protection, policies);
            if verdict.exempt.is_none() {
                obligations.apply_to(&mut verdict, policies);
            }
            let protected = policies.protects(&resource.arn);
            // Only a resource that never carried a classification may be quarantined: one the
            // state saw classified and that lost it is alerted about, whatever the event. (An
            // opt-out value the state remembers is no classification.)
            let seen_classified = known.keys().any(|key| key != opt_out_tag);
            let quarantine_withheld = verdict.action == Action::Quarantine
                && !protected
                && (!may_quarantine(&change) || seen_classified);
            if verdict.action == Action::Quarantine && (quarantine_withheld || protected) {
                verdict.action = Action::Alert;
            }
            let mut decision = ResourceDecision {
                arn: resource.arn.clone(),
                resource_type: resource.resource_type.clone(),
                tags,
                matched_rules: verdict.matched_rules,
                exempt: verdict.exempt,
                opt_out: verdict.opt_out,
                violations: verdict.violations,
                add_tags: verdict.add_tags,
                case_fixes: verdict.case_fixes,
                action: verdict.action,
                stale_read: stale,
                read,
                quarantine_withheld,
                protection: obligations.facts,
                unread_settings,
                minimum_class,
            };
            if inferred {
                cap_inferred(&mut decision);
            }
            decision
        })
        .collect();
    Decision {
        event_id: change.event_id,
        event_source: change.event_source,
        event_name: change.event_name,
        outcome: overall_outcome(&resources),
        reason: None,
        location: location.map(ToString::to_string),
        actor: change.actor.arn.or(change.actor.session_issuer_arn),
        creator: change.actor.creator,
        account: change.account,
        region: change.region,
        mode,
        resources,
        resolution: change.resolved_by,
    }
}

fn overall_outcome(resources: &[ResourceDecision]) -> Outcome {
    outcome_of(resources.iter().map(|r| r.action).max().unwrap_or_default())
}

/// The outcome a resource's action gives (a decision's is its worst resource's).
pub fn outcome_of(action: Action) -> Outcome {
    match action {
        Action::None => Outcome::Compliant,
        Action::Remediate => Outcome::Remediate,
        Action::Alert => Outcome::Alert,
        Action::Quarantine => Outcome::Quarantine,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::KNOWN_RESOURCE_TYPES;
    use crate::evaluate::ViolationKind;
    use crate::obligation::ObligationName;
    use crate::policy::{compile_sources, SourceFile};

    fn standard() -> PolicySet {
        let source = SourceFile {
            path: "policies/ecometricx.toml".to_owned(),
            text: Arc::new(include_str!("../../policies/ecometricx.toml").to_owned()),
        };
        compile_sources(&[source], KNOWN_RESOURCE_TYPES).0
    }

    fn bucket(name: &str) -> ResourceRef {
        ResourceRef::from_arn(&format!("arn:aws:s3:::{name}"), None).unwrap()
    }

    /// The fixed clock of these tests.
    fn test_now() -> jiff::Timestamp {
        "2027-01-10T12:00:00Z".parse().unwrap()
    }

    fn with_history() -> PolicySet {
        let source = SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(
                r#"
[policy]
mode = "enforce"

[tags.DataClassification]
values = ["Public", "Confidential"]
restore = true

[tags.Team]
pattern = '.+'

[[rule]]
name = "isolate-unclassified"
resource_types = ["s3:bucket"]
require = ["DataClassification"]
action = "quarantine"

[[rule]]
name = "team"
resource_types = ["s3:bucket"]
require = ["Team"]
"#
                .to_owned(),
            ),
        };
        compile_sources(&[source], KNOWN_RESOURCE_TYPES).0
    }

    fn decide_with_known(tags: &[(&str, &str)], known: &[(&str, &str)]) -> ResourceDecision {
        let owned = |pairs: &[(&str, &str)]| -> Tags {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let policies = with_history();
        let change = existing(bucket("lake"), Some("111122223333"));
        let current = CurrentTags::of(&change, |_| ResourceTags {
            tags: owned(tags),
            read: Some(owned(tags)),
            stale: false,
            known: owned(known),
            protection: ProtectionFacts::default(),
            unread_settings: Vec::new(),
            sensitive: SensitiveData::new(),
        });
        decide(change, current, &policies, Mode::Enforce, test_now(), None)
            .resources
            .remove(0)
    }

    /// Only a resource that never carried a classification is quarantined: one the state saw
    /// classified is alerted about, and a lost `restore` tag gets its last known value back.
    #[test]
    fn the_history_of_a_classification_decides_quarantine_and_restores() {
        let never = decide_with_known(&[("Team", "data")], &[]);
        assert_eq!(never.action, Action::Quarantine);

        let restored = decide_with_known(
            &[("Team", "data")],
            &[("DataClassification", "Confidential")],
        );
        assert_eq!(restored.action, Action::Remediate, "{restored:#?}");
        assert_eq!(
            restored
                .add_tags
                .get("DataClassification")
                .map(String::as_str),
            Some("Confidential")
        );
        assert!(restored.violations.is_empty(), "{restored:#?}");

        // Seen classified before (a `Team` it no longer has, which is not restored): alerted,
        // never quarantined, and nothing invented for the keys without history.
        let lost = decide_with_known(&[], &[("Team", "data")]);
        assert_eq!(lost.action, Action::Alert, "{lost:#?}");
        assert!(lost.quarantine_withheld);
        assert!(lost.add_tags.is_empty(), "{lost:#?}");
    }

    /// Deciding is a plain function call: no runtime, no store. The mode is the one asked for,
    /// whatever the policy's, and a bucket's account is the one it was listed in.
    #[test]
    fn deciding_needs_no_runtime_and_records_the_mode_it_was_asked_for() {
        let policies = standard();
        assert_eq!(policies.mode, Mode::Enforce);
        let change = existing(
            bucket("ecometricx-prod-s3-raw-eu-west-1"),
            Some("111122223333"),
        );
        let current = CurrentTags::of(&change, |_| ResourceTags::default());
        let decision = decide(change, current, &policies, Mode::Audit, test_now(), None);
        assert_eq!(decision.mode, Mode::Audit);
        assert_eq!(decision.account.as_deref(), Some("111122223333"));
        assert_eq!(decision.event_source, "enforcer.scan");
        let [resource] = decision.resources.as_slice() else {
            panic!("one resource: {decision:?}")
        };
        assert_eq!(resource.add_tags["DataClassification"], "Confidential");
        assert_eq!(decision.outcome, overall_outcome(&decision.resources));
        assert_ne!(decision.outcome, Outcome::Compliant);
    }

    /// The shipped policy quarantines an unclassified bucket a scan finds, but never one it
    /// protects (the CloudTrail bucket), and never on a tag change: those alert.
    #[test]
    fn protected_resources_and_tag_changes_alert_instead_of_quarantining() {
        let policies = standard();
        let decide_on = |change: Change| {
            let current = CurrentTags::of(&change, |_| ResourceTags::default());
            decide(change, current, &policies, Mode::Enforce, test_now(), None).resources[0].action
        };
        // Withheld (the thread stays the quarantine's) only where the change is what stops it.
        let withheld = |change: Change| {
            let current = CurrentTags::of(&change, |_| ResourceTags::default());
            decide(change, current, &policies, Mode::Enforce, test_now(), None).resources[0]
                .quarantine_withheld
        };
        assert!(!withheld(existing(bucket("scratch"), None)));
        assert!(!withheld(existing(bucket("org-cloudtrail-logs"), None)));
        assert_eq!(
            decide_on(existing(bucket("scratch"), None)),
            Action::Quarantine
        );
        assert_eq!(
            decide_on(existing(bucket("org-cloudtrail-logs"), None)),
            Action::Alert
        );
        let mut untagged = existing(bucket("scratch"), None);
        untagged.event_source = "s3.amazonaws.com".to_owned();
        untagged.kind = CallKind::ClearTags;
        assert!(withheld(untagged.clone()));
        assert_eq!(decide_on(untagged), Action::Alert);
    }

    /// What the read side says about a resource reaches its decision as it was said.
    #[test]
    fn the_read_and_its_staleness_reach_the_decision() {
        let policies = standard();
        let change = existing(bucket("scratch"), None);
        let read = Tags::from([("Owner".to_owned(), "x".to_owned())]);
        let current = CurrentTags::of(&change, |_| ResourceTags {
            tags: read.clone(),
            read: Some(read.clone()),
            stale: true,
            known: Tags::new(),
            protection: ProtectionFacts::default(),
            unread_settings: Vec::new(),
            sensitive: SensitiveData::new(),
        });
        let decision = decide(change, current, &policies, policies.mode, test_now(), None);
        let resource = &decision.resources[0];
        assert!(resource.stale_read);
        assert_eq!(resource.read.as_ref(), Some(&read));
        assert_eq!(resource.tags, read);
        assert_eq!(decision.account, None, "an S3 ARN names no account");
    }
    /// A policy with obligations: Restricted quarantines, Confidential alerts and stays in
    /// eu-west-1; a protected bucket; an exempt one.
    fn with_obligations() -> PolicySet {
        let source = SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(
                r#"
[tags.DataClassification]
values = ["Public", "Confidential", "Restricted"]

[[rule]]
name = "lake"
resource_types = ["s3:bucket", "rds:db"]
names = ['^lake-']
[rule.set]
DataClassification = "Confidential"

[[exemption]]
arn = 'exempt-bucket'
reason = "a sandbox"

[quarantine]
protect = ['protected-bucket']

[classification.Confidential]
encrypted_at_rest = true
public_access = "deny"
allowed_regions = ["eu-west-1"]

[classification.Restricted]
public_access = "deny"
action = "quarantine"
"#
                .to_owned(),
            ),
        };
        let (set, diagnostics) = compile_sources(&[source], KNOWN_RESOURCE_TYPES);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        set
    }

    fn public_by_request() -> ProtectionFacts {
        let mut facts = ProtectionFacts::default();
        facts.note_public(
            true,
            Evidence::request("requestParameters.publiclyAccessible", "true"),
        );
        facts
    }

    /// Decides `resource` (its event facts on it) with `tags` and the `read` facts, as the
    /// change `kind` of `event_source`.
    fn decide_protection(
        resource: ResourceRef,
        tags: &[(&str, &str)],
        read: ProtectionFacts,
        kind: CallKind,
    ) -> ResourceDecision {
        let policies = with_obligations();
        let mut change = existing(resource, Some("111122223333"));
        change.event_source = "s3.amazonaws.com".to_owned();
        change.kind = kind;
        let tags: Tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let current = CurrentTags::of(&change, |_| ResourceTags {
            tags: tags.clone(),
            read: Some(tags.clone()),
            protection: read.clone(),
            unread_settings: Vec::new(),
            ..ResourceTags::default()
        });
        decide(change, current, &policies, Mode::Enforce, test_now(), None)
            .resources
            .remove(0)
    }

    fn obligations_of(decided: &ResourceDecision) -> Vec<(ObligationName, Evidence)> {
        decided
            .violations
            .iter()
            .filter(|v| v.kind == crate::evaluate::ViolationKind::Obligation)
            .map(|v| {
                let broken = v.obligation.clone().unwrap();
                assert!(!v.fixed);
                assert_eq!(v.tag, "DataClassification");
                (broken.name, broken.evidence)
            })
            .collect()
    }

    /// The event's facts win over the read (which may lag); the read supplies what the event
    /// does not carry, with its setting as evidence.
    #[test]
    fn the_events_facts_win_over_the_read() {
        let mut resource = bucket("data");
        resource.protection = public_by_request();
        let mut read = ProtectionFacts::default();
        read.note_public(
            false,
            Evidence::current("GetBucketPolicyStatus.IsPublic", "false"),
        );
        read.note_encrypted(false, Evidence::current("GetBucketEncryption", "none"));
        let decided = decide_protection(
            resource,
            &[("DataClassification", "Confidential")],
            read,
            CallKind::Modify,
        );
        assert_eq!(
            obligations_of(&decided),
            vec![
                (
                    ObligationName::EncryptedAtRest,
                    Evidence::current("GetBucketEncryption", "none")
                ),
                (
                    ObligationName::PublicAccess,
                    Evidence::request("requestParameters.publiclyAccessible", "true")
                ),
            ]
        );
        assert_eq!(decided.action, Action::Alert);
    }

    /// The class is the one the resource has once the plan adds its tags; adding the tag does
    /// not fix the obligation: the action is alert, never remediate.
    #[test]
    fn the_class_the_plan_adds_brings_its_obligations() {
        let mut resource = bucket("lake-orders");
        resource.protection = public_by_request();
        let decided =
            decide_protection(resource, &[], ProtectionFacts::default(), CallKind::Modify);
        assert_eq!(decided.add_tags["DataClassification"], "Confidential");
        assert_eq!(obligations_of(&decided).len(), 1);
        assert_eq!(decided.action, Action::Alert);
    }

    /// The region the record was made in is checked against `allowed_regions`.
    #[test]
    fn regions_outside_the_allowed_ones_are_violations() {
        let mut resource = bucket("data");
        resource.protection.region = Some(crate::obligation::Fact::new(
            "us-east-1".to_owned(),
            Evidence::request("awsRegion", "us-east-1"),
        ));
        let decided = decide_protection(
            resource,
            &[("DataClassification", "Confidential")],
            ProtectionFacts::default(),
            CallKind::Modify,
        );
        assert_eq!(
            obligations_of(&decided),
            vec![(
                ObligationName::AllowedRegions,
                Evidence::request("awsRegion", "us-east-1")
            )]
        );
    }

    /// A class's quarantine is honoured where quarantine is allowed (a creation), withheld on a
    /// later change and on a protected resource (alert); an exempt resource has no obligations;
    /// a class without obligations and an unknown fact check nothing.
    #[test]
    fn a_class_quarantine_is_honoured_only_where_quarantine_is() {
        let restricted = [("DataClassification", "Restricted")];
        let public_bucket = |name: &str| {
            let mut resource = bucket(name);
            resource.protection = public_by_request();
            resource
        };
        let created = decide_protection(
            public_bucket("secrets"),
            &restricted,
            ProtectionFacts::default(),
            CallKind::Create,
        );
        assert_eq!(created.action, Action::Quarantine);
        let modified = decide_protection(
            public_bucket("secrets"),
            &restricted,
            ProtectionFacts::default(),
            CallKind::Modify,
        );
        assert_eq!(modified.action, Action::Alert);
        assert!(modified.quarantine_withheld);
        let protected = decide_protection(
            public_bucket("protected-bucket"),
            &restricted,
            ProtectionFacts::default(),
            CallKind::Create,
        );
        assert_eq!(protected.action, Action::Alert);
        let exempt = decide_protection(
            public_bucket("exempt-bucket"),
            &restricted,
            ProtectionFacts::default(),
            CallKind::Create,
        );
        assert!(exempt.violations.is_empty(), "{exempt:#?}");
        assert_eq!(exempt.action, Action::None);
        let public = decide_protection(
            public_bucket("site"),
            &[("DataClassification", "Public")],
            ProtectionFacts::default(),
            CallKind::Create,
        );
        assert_eq!(public.action, Action::None);
        let unknown = decide_protection(
            bucket("secrets"),
            &restricted,
            ProtectionFacts::default(),
            CallKind::Create,
        );
        assert_eq!(unknown.action, Action::None);
    }

    /// A resource as it exists (a scan, a policy case, `explain --arn`) lives in its ARN's
    /// region, checked against `allowed_regions`; an S3 bucket's ARN names none, so nothing is
    /// known of it until a read says.
    #[test]
    fn an_existing_resource_lives_in_its_arns_region() {
        let table =
            ResourceRef::from_arn("arn:aws:dynamodb:us-east-1:111122223333:table/orders", None)
                .unwrap();
        let decided = decide_protection(
            table,
            &[("DataClassification", "Confidential")],
            ProtectionFacts::default(),
            CallKind::Modify,
        );
        assert_eq!(
            obligations_of(&decided),
            vec![(
                ObligationName::AllowedRegions,
                Evidence::current("ARN region", "us-east-1")
            )]
        );
        let bucket = decide_protection(
            bucket("data"),
            &[("DataClassification", "Confidential")],
            ProtectionFacts::default(),
            CallKind::Modify,
        );
        assert!(obligations_of(&bucket).is_empty());
    }

    /// A policy that defaults `CreatedBy` to the creator's name.
    fn with_created_by() -> PolicySet {
        let source = SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(
                r#"
[tags.CreatedBy]
pattern = '.{1,256}'

[tags.Team]
pattern = '[a-z]+'

[[rule]]
name = "created-by"
resource_types = ["s3:bucket"]
require = ["Team"]
[rule.default]
CreatedBy = "{creator}"
"#
                .to_owned(),
            ),
        };
        let (set, diagnostics) = compile_sources(&[source], KNOWN_RESOURCE_TYPES);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        set
    }

    /// The shipped `s3 CreateBucket` sample made by `identity`, resolved as the Lambda resolves
    /// it and decided with `tags` on the bucket.
    fn decide_created_by(identity: serde_json::Value, tags: &[(&str, &str)]) -> Decision {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../events/samples/s3-CreateBucket.json"))
                .unwrap();
        event["detail"]["userIdentity"] = identity;
        let location = Location {
            file: "s3-CreateBucket.json".to_owned(),
            line: 1,
            index: None,
        };
        let (_, input) = crate::event::decode_one(&event.to_string(), location).unwrap();
        let resolver = crate::event::Resolver::new(
            crate::catalog::Catalog::builtin().unwrap(),
            crate::event::ResolveOptions::default(),
        );
        let Resolution::Resolved(change) = resolver.resolve(&input) else {
            panic!("the sample resolves")
        };
        let tags: Tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let current = CurrentTags::of(&change, |_| ResourceTags {
            tags: tags.clone(),
            read: Some(tags.clone()),
            ..ResourceTags::default()
        });
        decide(
            *change,
            current,
            &with_created_by(),
            Mode::Enforce,
            test_now(),
            None,
        )
    }

    /// The IAM Identity Center session of aws-lambda-rust-runtime's CloudTrail fixture
    /// (tests/corpora/cloudtrail-real).
    fn identity_center_session() -> serde_json::Value {
        serde_json::json!({
            "type": "AssumedRole",
            "principalId": "ZZZZZZZZZZZZZZZZZZZZZ:me@dev.com",
            "arn": "arn:aws:sts::123456789000:assumed-role/AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890/me@dev.com",
            "accountId": "123456789000",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "ZZZZZZZZZZZZZZZZZZZZZ",
                    "arn": "arn:aws:iam::123456789000:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890",
                    "accountId": "123456789000",
                    "userName": "AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890"
                },
                "attributes": {"creationDate": "2024-07-10T16:03:25Z", "mfaAuthenticated": "false"}
            }
        })
    }

    /// `{creator}` defaults the tag to the creator's name when it is absent, and the decision
    /// names the creator beside the actor's ARN.
    #[test]
    fn a_creator_default_is_added_when_the_tag_is_absent() {
        let decision = decide_created_by(identity_center_session(), &[("Team", "data")]);
        let resource = &decision.resources[0];
        assert_eq!(resource.add_tags["CreatedBy"], "me@dev.com");
        assert_eq!(resource.action, Action::Remediate);
        let json = serde_json::to_value(&decision).unwrap();
        assert_eq!(
            json["actor"],
            "arn:aws:sts::123456789000:assumed-role/AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890/me@dev.com"
        );
        assert_eq!(json["creator"]["name"], "me@dev.com");
        assert_eq!(json["creator"]["kind"], "sso-user");
        assert_eq!(json["creator"]["email"], "me@dev.com");
    }

    /// A value a person set is never disputed by a `{creator}` default.
    #[test]
    fn a_creator_default_never_disputes_a_persons_value() {
        let decision = decide_created_by(
            identity_center_session(),
            &[("Team", "data"), ("CreatedBy", "someone-else")],
        );
        let resource = &decision.resources[0];
        assert!(resource.add_tags.is_empty(), "{resource:#?}");
        assert!(resource.violations.is_empty(), "{resource:#?}");
        assert_eq!(resource.action, Action::None);
    }

    /// An AWS service acting on its own names no person: the tag is not added and nothing else
    /// changes; nor outside any event (a scan).
    #[test]
    fn no_creator_default_for_a_service_or_a_scan() {
        let service =
            serde_json::json!({"type": "AWSService", "invokedBy": "voiceid.amazonaws.com"});
        let decision = decide_created_by(service, &[("Team", "data")]);
        assert_eq!(
            decision.creator.as_ref().map(|c| c.kind),
            Some(crate::event::CreatorKind::Service)
        );
        let resource = &decision.resources[0];
        assert!(resource.add_tags.is_empty(), "{resource:#?}");
        assert!(resource.violations.is_empty(), "{resource:#?}");
        assert_eq!(resource.action, Action::None);
        // Without the tag it requires, the same bucket is alerted about, CreatedBy still absent.
        let untagged = decide_created_by(
            serde_json::json!({"type": "AWSService", "invokedBy": "voiceid.amazonaws.com"}),
            &[],
        );
        assert_eq!(untagged.resources[0].action, Action::Alert);
        assert!(untagged.resources[0].add_tags.is_empty());

        let policies = with_created_by();
        let change = existing(bucket("lake"), Some("111122223333"));
        let current = CurrentTags::of(&change, |_| ResourceTags::default());
        let scanned = decide(change, current, &policies, Mode::Enforce, test_now(), None);
        assert!(scanned.creator.is_none());
        assert!(scanned.resources[0].add_tags.is_empty());
    }

    /// A policy with principal exemptions and an opt-out tag, over a quarantine rule.
    fn with_exemptions(approvers: &str) -> PolicySet {
        let source = SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(format!(
                r#"
[tags.DataClassification]
values = ["Public", "Confidential"]

[[rule]]
name = "isolate-unclassified"
resource_types = ["s3:bucket"]
require = ["DataClassification"]
action = "quarantine"

[[exemption]]
principal = 'arn:aws:iam::*:role/deploy-*'
reason = "the pipeline"

[[exemption]]
principal = 'arn:aws:iam::111122223333:user/ci'
arn = '^arn:aws:s3:::build-'
reason = "CI's scratch buckets"

[[exemption]]
principal = 'arn:aws:iam::111122223333:root'
reason = "the root user is watched elsewhere"

[exemptions]
require = ["until", "reason", "by"]
max_days = 30
remind_days = 7
{approvers}
"#
            )),
        };
        let (set, diagnostics) = compile_sources(&[source], KNOWN_RESOURCE_TYPES);
        assert!(
            diagnostics
                .iter()
                .all(|d| d.level != crate::policy::Level::Error),
            "{diagnostics:?}"
        );
        set
    }

    /// A bucket created by a caller: `(userIdentity.arn, sessionIssuer.arn, type)`, with `tags`
    /// in the request.
    fn created_by(
        bucket_name: &str,
        caller: (&str, Option<&str>, &str),
        tags: &[(&str, &str)],
    ) -> Change {
        let mut change = existing(bucket(bucket_name), Some("111122223333"));
        change.event_source = "s3.amazonaws.com".to_owned();
        change.event_name = "CreateBucket".to_owned();
        change.kind = CallKind::Create;
        change.actor = Actor {
            arn: Some(caller.0.to_owned()),
            identity_type: Some(caller.2.to_owned()),
            session_issuer_arn: caller.1.map(str::to_owned),
            invoked_by: None,
            creator: None,
        };
        let tags: Tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        change.tag_update = TagUpdate::Merge(tags);
        change
    }

    fn decide_at(change: Change, policies: &PolicySet, now: &str) -> ResourceDecision {
        let tags = match &change.tag_update {
            TagUpdate::Merge(tags) => tags.clone(),
            _ => Tags::new(),
        };
        let current = CurrentTags::of(&change, |_| ResourceTags {
            tags: tags.clone(),
            read: Some(tags.clone()),
            ..ResourceTags::default()
        });
        decide(
            change,
            current,
            policies,
            Mode::Enforce,
            now.parse().unwrap(),
            None,
        )
        .resources
        .remove(0)
    }

    const NOW: &str = "2027-01-10T12:00:00Z";

    /// A principal exemption matches an IAM user, an assumed-role session through the role that
    /// issued it, and the root user; never a scan, which has no caller.
    #[test]
    fn principal_exemptions_match_the_caller_of_the_event() {
        let policies = with_exemptions("");
        let session = (
            "arn:aws:sts::111122223333:assumed-role/deploy-pipeline/codebuild-7",
            Some("arn:aws:iam::111122223333:role/deploy-pipeline"),
            "AssumedRole",
        );
        let exempt = decide_at(created_by("lake", session, &[]), &policies, NOW);
        assert_eq!(exempt.action, Action::None);
        assert!(
            exempt
                .exempt
                .as_deref()
                .is_some_and(|e| e.starts_with("the pipeline")),
            "{exempt:?}"
        );

        // A session of another role is not exempt: the bucket is quarantined.
        let other = (
            "arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
            Some("arn:aws:iam::111122223333:role/DataEngineer"),
            "AssumedRole",
        );
        let judged = decide_at(created_by("lake", other, &[]), &policies, NOW);
        assert_eq!((judged.exempt, judged.action), (None, Action::Quarantine));

        // An IAM user with `arn` too: both must match.
        let ci = ("arn:aws:iam::111122223333:user/ci", None, "IAMUser");
        assert!(decide_at(created_by("build-42", ci, &[]), &policies, NOW)
            .exempt
            .is_some());
        assert!(decide_at(created_by("lake", ci, &[]), &policies, NOW)
            .exempt
            .is_none());

        let root = ("arn:aws:iam::111122223333:root", None, "Root");
        assert!(decide_at(created_by("lake", root, &[]), &policies, NOW)
            .exempt
            .is_some());
        let other_root = ("arn:aws:iam::444455556666:root", None, "Root");
        assert!(
            decide_at(created_by("lake", other_root, &[]), &policies, NOW)
                .exempt
                .is_none()
        );

        // A scan has no caller.
        let scan = existing(bucket("lake"), Some("111122223333"));
        assert_eq!(decide_at(scan, &policies, NOW).action, Action::Quarantine);
    }

    const ALICE: (&str, Option<&str>, &str) = (
        "arn:aws:sts::111122223333:assumed-role/DataEngineer/alice",
        Some("arn:aws:iam::111122223333:role/DataEngineer"),
        "AssumedRole",
    );

    const OPT_OUT: &str = "until=2027-01-31;reason=migrating to Lake Formation;by=carol";

    /// At a fixed clock: a valid opt-out withholds quarantine and keeps the violation; expired,
    /// over the cap or missing a field, it is a violation of its own and exempts nothing.
    #[test]
    fn the_opt_out_tag_is_judged_at_the_time_of_the_decision() {
        let policies = with_exemptions("");
        let with = |value: &str| created_by("lake", ALICE, &[("enforcer:exempt", value)]);

        let valid = decide_at(with(OPT_OUT), &policies, NOW);
        assert_eq!(valid.action, Action::Alert, "{valid:#?}");
        assert_eq!(
            valid.opt_out.as_ref().map(|o| o.until.to_string()),
            Some("2027-01-31".to_owned())
        );
        assert_eq!(
            valid.violations.len(),
            1,
            "the missing classification is still reported"
        );
        assert_eq!(valid.violations[0].tag, "DataClassification");

        let rejected = |decided: &ResourceDecision| {
            assert_eq!(decided.action, Action::Quarantine, "{decided:#?}");
            assert!(decided.opt_out.is_none());
            let problem = decided
                .violations
                .iter()
                .find(|v| v.kind == ViolationKind::Exemption)
                .expect("a violation naming the opt-out tag");
            assert_eq!(
                (problem.tag.as_str(), problem.rule.as_str()),
                ("enforcer:exempt", "exemptions")
            );
            problem.message.clone()
        };
        let expired = decide_at(with(OPT_OUT), &policies, "2027-02-01T00:00:00Z");
        assert_eq!(
            rejected(&expired),
            "the exemption `enforcer:exempt` expired on 2027-01-31"
        );
        let too_long = decide_at(with("until=2027-03-31;reason=r;by=carol"), &policies, NOW);
        assert!(rejected(&too_long).contains("at most 30"));
        let unsigned = decide_at(with("until=2027-01-31;reason=r"), &policies, NOW);
        assert!(rejected(&unsigned).ends_with("`by` is required"));
    }

    /// With approvers, the opt-out counts only when an approver wrote it: known from the event
    /// that set it, or from the state table's record of the value.
    #[test]
    fn with_approvers_only_an_approver_s_opt_out_counts() {
        let policies = with_exemptions("approvers = ['arn:aws:iam::*:role/DataGovernance*']");
        let carol = (
            "arn:aws:sts::111122223333:assumed-role/DataGovernanceAdmin/carol",
            Some("arn:aws:iam::111122223333:role/DataGovernanceAdmin"),
            "AssumedRole",
        );
        let by_approver = decide_at(
            created_by("lake", carol, &[("enforcer:exempt", OPT_OUT)]),
            &policies,
            NOW,
        );
        assert!(by_approver.opt_out.is_some(), "{by_approver:#?}");
        assert_eq!(by_approver.action, Action::Alert);

        let by_alice = decide_at(
            created_by("lake", ALICE, &[("enforcer:exempt", OPT_OUT)]),
            &policies,
            NOW,
        );
        assert!(by_alice.opt_out.is_none());
        assert_eq!(by_alice.action, Action::Quarantine);
        assert!(by_alice
            .violations
            .iter()
            .any(|v| v.kind == ViolationKind::Exemption
                && v.message
                    .contains("DataEngineer/alice, who is not an approver")));

        // A scan: the writer is unknown, unless the state recorded this value.
        let tagged = Tags::from([("enforcer:exempt".to_owned(), OPT_OUT.to_owned())]);
        let scan = |known: Tags| {
            let change = existing(bucket("lake"), Some("111122223333"));
            let current = CurrentTags::of(&change, |_| ResourceTags {
                tags: tagged.clone(),
                read: Some(tagged.clone()),
                known: known.clone(),
                ..ResourceTags::default()
            });
            decide(
                change,
                current,
                &policies,
                Mode::Enforce,
                NOW.parse().unwrap(),
                None,
            )
            .resources
            .remove(0)
        };
        let unknown = scan(Tags::new());
        assert!(unknown.opt_out.is_none());
        assert_eq!(unknown.action, Action::Quarantine, "{unknown:#?}");
        assert!(unknown.violations.iter().any(
            |v| v.kind == ViolationKind::Exemption && v.level == crate::policy::Level::Warning
        ));
        let recorded = scan(tagged.clone());
        assert!(recorded.opt_out.is_some(), "{recorded:#?}");
        assert_eq!(recorded.action, Action::Alert);
        assert!(!recorded.quarantine_withheld);
        let other_value = scan(Tags::from([(
            "enforcer:exempt".to_owned(),
            "until=2027-01-20;reason=r;by=carol".to_owned(),
        )]));
        assert!(other_value.opt_out.is_none());
    }

    /// Within `remind_days` of its end, an opt-out that applies carries a reminder: a violation
    /// of its own rule, alerted.
    #[test]
    fn an_opt_out_near_its_end_reminds_the_owner() {
        let policies = with_exemptions("");
        let tagged = |name: &str| {
            created_by(
                name,
                ALICE,
                &[
                    ("enforcer:exempt", OPT_OUT),
                    ("DataClassification", "Public"),
                ],
            )
        };
        let early = decide_at(tagged("lake"), &policies, NOW);
        assert_eq!(early.action, Action::None, "{early:#?}");
        let due = decide_at(tagged("lake"), &policies, "2027-01-24T08:00:00Z");
        assert_eq!(due.action, Action::Alert, "{due:#?}");
        let [reminder] = due.violations.as_slice() else {
            panic!("one reminder: {due:#?}")
        };
        assert_eq!(reminder.rule, "exemptions.reminder");
        assert_eq!(
            reminder.message,
            "the exemption `enforcer:exempt` ends on 2027-01-31 (in 7 days): renew it, or make the resource meet the standard"
        );
        let last_day = decide_at(tagged("lake"), &policies, "2027-01-31T23:00:00Z");
        assert!(last_day.violations[0].message.contains("(today)"));
    }
}
