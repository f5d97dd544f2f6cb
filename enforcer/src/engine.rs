//! The flow for one event: resolve → current tags → evaluate → decision.
//!
//! The engine is generic over the [`TagStore`], so the CLI runs it in memory and the Lambda
//! against AWS with the same code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::act::{overlay, read_lags, StoreError, TagStore};
use crate::catalog::{Arn, CallKind};
use crate::evaluate::{evaluate, Action, Verdict, Violation};
use crate::event::{
    Change, DecodeError, EventHeader, InputEvent, Location, Resolution, Resolver, ResourceRef,
};
use crate::policy::{Mode, PolicySet};
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
    pub actor: Option<String>,
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

/// How a decision's resources were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolvedBy {
    /// From the catalog entry of the call (or a Tag Change event).
    Catalog,
    /// From the response of a create call the catalog does not know (`event::infer`).
    Inferred,
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
    /// unresolved); a resolved change is handed back for [`Engine::decide_resolved`].
    pub fn unevaluated(
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
}

/// How long to wait for an eventually consistent tag read to show what an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRetry {
    /// Further reads after the first (0: never retry).
    pub retries: u32,
    /// Wait before the first retry; doubled before each next one.
    pub first_delay: Duration,
}

impl ReadRetry {
    /// One read, never retried: for tags that are not expected to show the event (a replay
    /// against today's tags).
    pub fn none() -> Self {
        Self {
            retries: 0,
            first_delay: Duration::ZERO,
        }
    }
}

impl Default for ReadRetry {
    /// Three more reads, 250 ms, 500 ms and 1 s apart: under two seconds in all.
    fn default() -> Self {
        Self {
            retries: 3,
            first_delay: Duration::from_millis(250),
        }
    }
}

/// Resolves and evaluates events against one policy set and one tag store.
#[derive(Debug)]
pub struct Engine<S> {
    resolver: Resolver,
    policies: PolicySet,
    store: S,
    read_retry: ReadRetry,
}

impl<S: TagStore> Engine<S> {
    /// An engine over the given parts.
    pub fn new(resolver: Resolver, policies: PolicySet, store: S) -> Self {
        Self {
            resolver,
            policies,
            store,
            read_retry: ReadRetry::default(),
        }
    }

    /// The same engine with another read-retry setting.
    pub fn with_read_retry(mut self, read_retry: ReadRetry) -> Self {
        self.read_retry = read_retry;
        self
    }

    /// The compiled policies.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// The tag store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The resolver.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Decides one event.
    pub async fn decide(&self, event: &InputEvent, location: Option<&Location>) -> Decision {
        self.decide_with(&self.store, event, location).await.0
    }

    /// Decides one event reading current tags from `store` instead of the engine's own (the
    /// Lambda reads another account's tags through that account's clients). When reading the
    /// tags failed, the decision is an [`Outcome::Error`] and the failure comes back beside it,
    /// so a caller can tell a retryable failure from a permanent one.
    pub async fn decide_with<T: TagStore>(
        &self,
        store: &T,
        event: &InputEvent,
        location: Option<&Location>,
    ) -> (Decision, Option<StoreError>) {
        match Decision::unevaluated(self.resolver.resolve(event), location, self.policies.mode) {
            Ok(decision) => (decision, None),
            Err(change) => self.decide_resolved_with(store, *change, location).await,
        }
    }

    /// Decides a change the resolver already found: reads the current tags, applies what the
    /// event did to them, tells the store, and evaluates each resource.
    pub async fn decide_resolved(&self, change: Change, location: Option<&Location>) -> Decision {
        self.decide_resolved_with(&self.store, change, location)
            .await
            .0
    }

    /// [`Engine::decide_resolved`] reading through `store`, with the read failure beside the
    /// decision.
    pub async fn decide_resolved_with<T: TagStore>(
        &self,
        store: &T,
        change: Change,
        location: Option<&Location>,
    ) -> (Decision, Option<StoreError>) {
        let mode = self.policies.mode;
        match self.decide_change(store, &change).await {
            Ok(mut resources) => {
                if change.inferred {
                    resources.iter_mut().for_each(cap_inferred);
                }
                let outcome = overall_outcome(&resources);
                let decision = Decision {
                    event_id: change.event_id,
                    event_source: change.event_source,
                    event_name: change.event_name,
                    outcome,
                    reason: None,
                    location: location.map(ToString::to_string),
                    actor: change.actor.arn.or(change.actor.session_issuer_arn),
                    account: change.account,
                    region: change.region,
                    mode,
                    resources,
                    resolution: Some(if change.inferred {
                        ResolvedBy::Inferred
                    } else {
                        ResolvedBy::Catalog
                    }),
                };
                (decision, None)
            }
            Err(error) => {
                let decision = Decision::without_resources(
                    EventHeader {
                        event_id: change.event_id,
                        event_source: change.event_source,
                        event_name: change.event_name,
                    },
                    Outcome::Error,
                    format!("reading current tags failed: {error}"),
                    location,
                    mode,
                );
                (decision, Some(error))
            }
        }
    }

    async fn decide_change<T: TagStore>(
        &self,
        store: &T,
        change: &Change,
    ) -> Result<Vec<ResourceDecision>, StoreError> {
        let arns: Vec<String> = change.resources.iter().map(|r| r.arn.clone()).collect();
        for arn in &arns {
            store.observe(arn, &change.tag_update);
        }
        let mut current = store.get_tags(&arns).await?;
        // An index that lags the call does not show the event's own tags yet: read again briefly
        // rather than conclude from one answer that they are missing.
        let mut delay = self.read_retry.first_delay;
        for _ in 0..self.read_retry.retries {
            let lagging: Vec<String> = arns
                .iter()
                .filter(|arn| read_lags(current.get(*arn), &change.tag_update))
                .cloned()
                .collect();
            if lagging.is_empty() {
                break;
            }
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
            current.extend(store.get_tags(&lagging).await?);
        }
        Ok(change
            .resources
            .iter()
            .map(|resource| {
                let read = current.remove(&resource.arn);
                // A new resource has exactly the tags its create call carried, so a lagging read
                // of one is complete once the event's tags are laid over it.
                let stale =
                    read_lags(read.as_ref(), &change.tag_update) && change.kind != CallKind::Create;
                let mut tags = read.clone().unwrap_or_default();
                overlay(&mut tags, &change.tag_update);
                let verdict = evaluate(resource, &tags, &self.policies);
                let mut decision =
                    resource_decision(&resource.arn, &resource.resource_type, tags, verdict);
                decision.stale_read = stale;
                decision.read = read;
                decision
            })
            .collect())
    }

    /// Decides a resource that exists with `tags`, outside any event (`enforcer scan`).
    pub fn decide_existing(&self, resource: &ResourceRef, tags: Tags) -> Decision {
        let verdict = evaluate(resource, &tags, &self.policies);
        let mut decision = resource_decision(
            &resource.arn,
            &resource.resource_type,
            tags.clone(),
            verdict,
        );
        decision.read = Some(tags);
        let parsed = Arn::parse(&resource.arn);
        let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        Decision {
            event_id: None,
            event_source: "enforcer.scan".to_owned(),
            event_name: "GetResources".to_owned(),
            outcome: overall_outcome(std::slice::from_ref(&decision)),
            reason: None,
            location: None,
            actor: None,
            account: parsed.as_ref().and_then(|a| non_empty(a.account)),
            region: parsed.as_ref().and_then(|a| non_empty(a.region)),
            mode: self.policies.mode,
            resources: vec![decision],
            resolution: None,
        }
    }
}

fn resource_decision(
    arn: &str,
    resource_type: &str,
    tags: Tags,
    verdict: Verdict,
) -> ResourceDecision {
    ResourceDecision {
        arn: arn.to_owned(),
        resource_type: resource_type.to_owned(),
        tags,
        matched_rules: verdict.matched_rules,
        exempt: verdict.exempt,
        violations: verdict.violations,
        add_tags: verdict.add_tags,
        case_fixes: verdict.case_fixes,
        action: verdict.action,
        stale_read: false,
        read: None,
    }
}

fn overall_outcome(resources: &[ResourceDecision]) -> Outcome {
    match resources.iter().map(|r| r.action).max().unwrap_or_default() {
        Action::None => Outcome::Compliant,
        Action::Remediate => Outcome::Remediate,
        Action::Alert => Outcome::Alert,
        Action::Quarantine => Outcome::Quarantine,
    }
}
