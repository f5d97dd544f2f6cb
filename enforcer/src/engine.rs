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
use crate::evaluate::{evaluate, Action, Circumstances, Violation};
use crate::event::{
    Actor, Change, DecodeError, EventHeader, Location, Resolution, ResolvedBy, ResourceRef,
    TagUpdate,
};
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
    /// Who made the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) actor: Option<String>,
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

    /// What is known of the tags of `arn`.
    pub fn get(&self, arn: &str) -> Option<&ResourceTags> {
        self.0.get(arn)
    }
}

/// The change that stands for a resource as it exists, outside any event: what `enforcer scan`
/// decides for each resource it lists, and a policy test case or `enforcer explain` given a
/// resource and its tags. `listed_in` is the account it was listed in, for ARNs that name none
/// (S3 buckets).
pub fn existing(resource: ResourceRef, listed_in: Option<&str>) -> Change {
    let parsed = Arn::parse(&resource.arn);
    let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let account = parsed
        .as_ref()
        .and_then(|arn| non_empty(arn.account))
        .or_else(|| listed_in.and_then(non_empty));
    let region = parsed.as_ref().and_then(|arn| non_empty(arn.region));
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
            } = current.0.remove(&resource.arn).unwrap_or_default();
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
            if verdict.action == Action::None && !verdict.add_tags.is_empty() {
                verdict.action = Action::Remediate;
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
        });
        let decision = decide(change, current, &policies, policies.mode, test_now(), None);
        let resource = &decision.resources[0];
        assert!(resource.stale_read);
        assert_eq!(resource.read.as_ref(), Some(&read));
        assert_eq!(resource.tags, read);
        assert_eq!(decision.account, None, "an S3 ARN names no account");
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
            stale: false,
            known: Tags::new(),
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
                stale: false,
                known: known.clone(),
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
