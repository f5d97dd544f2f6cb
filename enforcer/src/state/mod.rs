//! The enforcer's own state: one table, keyed by resource, holding what the enforcer knows and
//! nobody else may forge. Resource tags are labels for people; this is the record.
//!
//! Per resource (partition key [`PARTITION_KEY`] = the ARN) the table holds up to three items,
//! told apart by the sort key [`SORT_KEY`]:
//!
//! | `record` | what | written by |
//! |---|---|---|
//! | [`ALERT_RECORD`] | the open problem: fingerprint, first/last alerted, thread id, reminder sent, and a pending claim while a message is being sent | [`alert_once`] |
//! | [`QUARANTINE_RECORD`] | the quarantine: what was done, the exact prior state (captured once, never overwritten), steps done, verified | the quarantine flow |
//! | [`FRESHNESS_RECORD`] | the freshest tag version (`aws.tag` events) and event time (CloudTrail) seen | event resolution |
//! | [`EVIDENCE_RECORD`] | per category of sensitive data Macie found in the resource, the first finding that reported it; never expires | `Macie Finding` events |
//!
//! One consistent `Query` on the ARN reads all of them ([`StateStore::load`]): one read per
//! decision. Every write is conditional, so two concurrent invocations never both claim the same
//! message and a prior state is never overwritten. Items that are done with (a resolved
//! problem, a released quarantine, freshness of a resource not seen for a while) carry an
//! expiry time in [`TTL_ATTRIBUTE`] (epoch seconds), which the table's TTL deletes. DynamoDB
//! deletes expired items lazily, up to days late; nothing here depends on the deletion (an
//! expired alert item is a resolved one, an expired quarantine item a released one).
//!
//! [`StateStore`] has two implementations: [`InMemoryStateStore`] (the CLI's default: state for
//! the run) and [`DynamoStateStore`] (the Lambda's, `ENFORCER_STATE_TABLE`; the table is
//! `StateTable` in `infra/template.yaml`).
//!
//! The alert lifecycle is the pure [`next_step`]/[`after_sent`] pair ([`lifecycle`]), and
//! [`alert_once`] runs it against a store with the claim-then-publish protocol ([`protocol`]).

mod dynamodb;
pub mod lifecycle;
mod memory;
mod problem;
pub mod protocol;

use std::collections::BTreeSet;
use std::future::Future;

use serde::Serialize;

pub use dynamodb::DynamoStateStore;
pub use lifecycle::{LifecycleSettings, DEFAULT_CLAIM_LEASE, DEFAULT_RESOLVED_RETENTION};
pub(crate) use memory::InMemoryStateStore;
pub use problem::Problem;
pub use protocol::{alert_once, AlertError, AlertOutcome};

use crate::evaluate::Action;
use crate::failure::StoreError;

/// The table's partition key: the resource's ARN (string).
pub const PARTITION_KEY: &str = "resource";
/// The table's sort key: which record of the resource (string): [`ALERT_RECORD`],
/// [`QUARANTINE_RECORD`] or [`FRESHNESS_RECORD`].
pub const SORT_KEY: &str = "record";
/// The attribute the table's TTL reads: when the item may be deleted, epoch seconds (number).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// The sort key of a resource's alert item.
pub(crate) const ALERT_RECORD: &str = "alert";
/// The sort key of a resource's quarantine item.
pub(crate) const QUARANTINE_RECORD: &str = "quarantine";
/// The sort key of a resource's freshness item.
pub(crate) const FRESHNESS_RECORD: &str = "freshness";
/// The sort key of a resource's evidence item: the sensitive data Macie found in it.
pub(crate) const EVIDENCE_RECORD: &str = "evidence";

/// How long the freshest version seen of a resource is kept after it was last seen: far longer
/// than any event can be delivered late (EventBridge and Lambda give up within 24 hours).
pub(crate) const FRESHNESS_RETENTION_SECS: u64 = 30 * 86_400;

/// A message of a problem's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// First sighting: the message that opens the thread.
    Opened,
    /// The same problem, still there after `renotify_after`: the one reminder.
    Reminder,
    /// The problem changed (other violations, or another action): an update in the thread.
    Changed,
    /// The problem is gone: the one closing message.
    Resolved,
    /// Not a thread message: the announcement of tags the enforcer added (a remediation), claimed
    /// before the tags are written and confirmed once published, so a publish that fails after
    /// the write is owed, and sent by the event's retry (see `act::remediation_notice`).
    Remediated,
}

impl Notice {
    /// The name stored in the table and shown to people: `opened`, `reminder`, `changed`,
    /// `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Reminder => "reminder",
            Self::Changed => "changed",
            Self::Resolved => "resolved",
            Self::Remediated => "remediated",
        }
    }

    /// The notice named `name` (see [`Notice::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Opened,
            Self::Reminder,
            Self::Changed,
            Self::Resolved,
            Self::Remediated,
        ]
        .into_iter()
        .find(|notice| notice.as_str() == name)
    }
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The problem a resource's thread is about, as last announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenProblem {
    /// [`Problem::fingerprint`] of the problem last announced.
    pub fingerprint: String,
    /// Its action.
    pub action: Action,
    /// When the thread was opened (epoch seconds).
    pub(crate) first_alerted: u64,
    /// When the last message of the thread was sent (epoch seconds): the opening, the last
    /// change or the reminder.
    pub(crate) last_alerted: u64,
    /// True once the one reminder of this problem was sent.
    pub(crate) reminder_sent: bool,
}

/// A message being sent: claimed before publishing, so no one else sends it too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The message.
    pub notice: Notice,
    /// The fingerprint of the problem it announces; `None` for [`Notice::Resolved`].
    pub fingerprint: Option<String>,
    /// Who claimed it (one invocation: the Lambda request id, or the CLI's run id).
    pub claimant: String,
    /// Until when (epoch seconds) no one else may take the claim over.
    pub lease_until: u64,
}

/// A resource's alert item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AlertState {
    /// Bumped by every write; a claim is conditional on the version it read (`0`: no item).
    pub version: u64,
    /// The Slack thread of the resource's messages (`threadId`): the resource's ARN.
    pub thread_id: String,
    /// The problem announced and not yet resolved; `None` once resolved.
    pub open: Option<OpenProblem>,
    /// When the resolved message was sent (epoch seconds).
    pub(crate) resolved_at: Option<u64>,
    /// When the table may delete the item (epoch seconds), set once resolved.
    pub expires_at: Option<u64>,
    /// The SNS message id of the last message sent.
    pub(crate) last_message_id: Option<String>,
    /// A message claimed but not confirmed sent.
    pub pending: Option<Claim>,
}

/// A resource's quarantine item: the enforcer's record of what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineState {
    /// What was done: the quarantine kind, e.g. `s3:bucket`.
    pub kind: String,
    /// The exact state before the quarantine (the kind's own serialization), captured once and
    /// never overwritten while the quarantine lasts: what `release` restores.
    pub prior_state: String,
    /// When the prior state was captured (epoch seconds).
    pub captured_at: u64,
    /// The isolation steps done so far (each kind names its own).
    pub steps_done: BTreeSet<String>,
    /// True once the isolation was verified on the resource itself.
    pub verified: bool,
    /// When the quarantine was released (epoch seconds); a released record may be replaced by a
    /// new capture.
    pub released_at: Option<u64>,
    /// When the table may delete the item (epoch seconds), set once released.
    pub expires_at: Option<u64>,
}

/// The freshest versions of a resource's tags seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Freshness {
    /// The highest `version` of an EventBridge `aws.tag` event for the resource.
    pub tag_version: Option<u64>,
    /// The latest CloudTrail `eventTime` of an event on the resource, epoch milliseconds.
    pub event_time_millis: Option<i64>,
}

/// How fresh an event is: the clock it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Seen {
    /// An `aws.tag` event's `version`.
    TagVersion(u64),
    /// A CloudTrail event's `eventTime`, epoch milliseconds.
    EventTime(i64),
}

/// Whether an event is older than what was already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FreshnessCheck {
    /// Not older than anything seen (a redelivery of the freshest event is fresh); recorded.
    Fresh,
    /// A fresher event was already seen: this one must not override it.
    Stale,
}

/// Everything the table holds about one resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ResourceState {
    /// The alert item.
    pub alert: Option<AlertState>,
    /// The quarantine item.
    pub quarantine: Option<QuarantineState>,
    /// The freshness item.
    pub freshness: Freshness,
    /// The classification the resource was last seen carrying (its vocabulary tags, kept on the
    /// freshness item): a resource with one is never "unclassified since its creation", and a
    /// removed `restore` tag is written back from it.
    pub(crate) known_tags: crate::Tags,
    /// The sensitive data Macie found in the resource, by category, each with the first finding
    /// that reported it (the evidence item): the class it warrants stays known after the
    /// finding's event, so a later lowering of the classification is caught.
    pub sensitive_data: crate::evidence::SensitiveData,
}

/// The result of claiming a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// The claim is ours: publish, then confirm.
    Won,
    /// The item changed since it was read (another invocation claimed or confirmed first).
    Lost,
}

/// The result of confirming a sent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// Recorded; the claim is released.
    Recorded,
    /// Our claim was taken over after its lease ran out: the message may have been sent twice.
    TakenOver,
}

/// The result of capturing a quarantine's prior state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// Recorded now.
    Captured,
    /// A live record's prior state stands (captured by an earlier run): it was not overwritten.
    Kept,
}

/// A failure of the state table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// A call to the table failed (throttling, unavailable, denied, …).
    #[error("state table: {0}")]
    Store(#[from] StoreError),
    /// Another invocation holds a live claim on the resource's next message.
    #[error(
        "{arn}: another invocation ({claimant}) is sending the {notice} message; its claim lasts \
         until {lease_until} (epoch seconds)"
    )]
    ClaimHeld {
        /// The resource.
        arn: String,
        /// Who holds the claim.
        claimant: String,
        /// The message claimed.
        notice: Notice,
        /// When the claim may be taken over.
        lease_until: u64,
    },
    /// The item changed under every attempt to claim it.
    #[error("{arn}: the alert item changed under {attempts} claims in a row")]
    Contended {
        /// The resource.
        arn: String,
        /// Claims tried.
        attempts: u32,
    },
    /// An item the enforcer wrote cannot be read back.
    #[error("{arn}: the {record} item is malformed: {reason}")]
    Malformed {
        /// The resource.
        arn: String,
        /// The item's sort key.
        record: String,
        /// What is wrong.
        reason: String,
    },
    /// A quarantine step or verdict for a resource with no live quarantine record: the prior
    /// state must be captured first.
    #[error("{arn}: no live quarantine record (capture the prior state first)")]
    NoLiveQuarantine {
        /// The resource.
        arn: String,
    },
}

impl StateError {
    /// True when trying the event again later may succeed: the table throttled or was
    /// unavailable, or another invocation holds the claim. False for a denied call, a malformed
    /// item or a caller's mistake.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Store(error) => error.retryable,
            Self::ClaimHeld { .. } | Self::Contended { .. } => true,
            Self::Malformed { .. } | Self::NoLiveQuarantine { .. } => false,
        }
    }
}

/// The enforcer's state, per resource. Every write is conditional as its documentation says;
/// implementations must keep the same semantics (the tests run one set of expectations against
/// both).
pub trait StateStore {
    /// Everything held about `arn`, read consistently.
    fn load(&self, arn: &str) -> impl Future<Output = Result<ResourceState, StateError>> + Send;

    /// Claims the resource's next message: records `claim` as pending, if and only if the alert
    /// item is still at `expected_version` (`0`: there is no item).
    fn claim_alert(
        &self,
        arn: &str,
        expected_version: u64,
        claim: &Claim,
    ) -> impl Future<Output = Result<Claimed, StateError>> + Send;

    /// Records a sent message: replaces the confirmed part of the alert item with `confirmed`
    /// (its `version` and `pending` are ignored) and drops the claim, if and only if the pending
    /// claim is still `claimant`'s.
    fn confirm_alert(
        &self,
        arn: &str,
        claimant: &str,
        confirmed: &AlertState,
    ) -> impl Future<Output = Result<Confirmed, StateError>> + Send;

    /// Drops `claimant`'s claim after a failed publish, so the next delivery need not wait for
    /// its lease. Does nothing when the claim is no longer `claimant`'s.
    fn abandon_alert(
        &self,
        arn: &str,
        claimant: &str,
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Records a new quarantine with its prior state, unless a live (not released) record exists:
    /// then that record's prior state stands and nothing is written.
    fn capture_prior_state(
        &self,
        arn: &str,
        kind: &str,
        prior_state: &str,
        now: u64,
    ) -> impl Future<Output = Result<Capture, StateError>> + Send;

    /// Adds `step` to the live quarantine's steps done.
    fn record_quarantine_step(
        &self,
        arn: &str,
        step: &str,
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Records whether the live quarantine's isolation was verified on the resource.
    fn set_quarantine_verified(
        &self,
        arn: &str,
        verified: bool,
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Marks the live quarantine released at `now`; the item expires at `expires_at`.
    fn mark_quarantine_released(
        &self,
        arn: &str,
        now: u64,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Records `seen` unless a fresher event of the same clock was seen already.
    fn observe_freshness(
        &self,
        arn: &str,
        seen: Seen,
        now: u64,
    ) -> impl Future<Output = Result<FreshnessCheck, StateError>> + Send;

    /// Records `tags` as the classification `arn` was last seen carrying
    /// ([`ResourceState::known_tags`]), replacing what was recorded.
    fn remember_tags(
        &self,
        arn: &str,
        tags: &crate::Tags,
        now: u64,
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Records `evidence` for each of its categories `arn` has no evidence of yet
    /// ([`ResourceState::sensitive_data`]): a category already known keeps its first finding.
    /// Idempotent; one write.
    fn remember_sensitive_data(
        &self,
        arn: &str,
        evidence: &crate::event::SensitiveDataEvidence,
    ) -> impl Future<Output = Result<(), StateError>> + Send;
}

/// The store a deployment uses, chosen at start: the DynamoDB table when one is named
/// (`ENFORCER_STATE_TABLE`, `--state-table`), else memory for the process. One concrete type, so
/// [`crate::act::ActSettings`] can hold it whichever it is.
#[derive(Debug, Clone)]
pub enum ConfiguredStateStore {
    /// State for the process (the CLI's run; a Lambda without a table: per execution
    /// environment only, so a deployment must name the table).
    Memory(InMemoryStateStore),
    /// The table.
    Dynamo(DynamoStateStore),
}

impl Default for ConfiguredStateStore {
    fn default() -> Self {
        Self::Memory(InMemoryStateStore::new())
    }
}

impl ConfiguredStateStore {
    /// Where the state is kept, for logs and reports: `memory` or the table's name.
    pub fn describe(&self) -> String {
        match self {
            Self::Memory(_) => "memory (this process only)".to_owned(),
            Self::Dynamo(table) => format!("DynamoDB table {}", table.table()),
        }
    }
}

macro_rules! each_store {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Self::Memory($store) => $call.await,
            Self::Dynamo($store) => $call.await,
        }
    };
}

impl StateStore for ConfiguredStateStore {
    async fn load(&self, arn: &str) -> Result<ResourceState, StateError> {
        each_store!(self, store => store.load(arn))
    }

    async fn claim_alert(
        &self,
        arn: &str,
        expected_version: u64,
        claim: &Claim,
    ) -> Result<Claimed, StateError> {
        each_store!(self, store => store.claim_alert(arn, expected_version, claim))
    }

    async fn confirm_alert(
        &self,
        arn: &str,
        claimant: &str,
        confirmed: &AlertState,
    ) -> Result<Confirmed, StateError> {
        each_store!(self, store => store.confirm_alert(arn, claimant, confirmed))
    }

    async fn abandon_alert(&self, arn: &str, claimant: &str) -> Result<(), StateError> {
        each_store!(self, store => store.abandon_alert(arn, claimant))
    }

    async fn capture_prior_state(
        &self,
        arn: &str,
        kind: &str,
        prior_state: &str,
        now: u64,
    ) -> Result<Capture, StateError> {
        each_store!(self, store => store.capture_prior_state(arn, kind, prior_state, now))
    }

    async fn record_quarantine_step(&self, arn: &str, step: &str) -> Result<(), StateError> {
        each_store!(self, store => store.record_quarantine_step(arn, step))
    }

    async fn set_quarantine_verified(&self, arn: &str, verified: bool) -> Result<(), StateError> {
        each_store!(self, store => store.set_quarantine_verified(arn, verified))
    }

    async fn mark_quarantine_released(
        &self,
        arn: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<(), StateError> {
        each_store!(self, store => store.mark_quarantine_released(arn, now, expires_at))
    }

    async fn observe_freshness(
        &self,
        arn: &str,
        seen: Seen,
        now: u64,
    ) -> Result<FreshnessCheck, StateError> {
        each_store!(self, store => store.observe_freshness(arn, seen, now))
    }

    async fn remember_tags(
        &self,
        arn: &str,
        tags: &crate::Tags,
        now: u64,
    ) -> Result<(), StateError> {
        each_store!(self, store => store.remember_tags(arn, tags, now))
    }

    async fn remember_sensitive_data(
        &self,
        arn: &str,
        evidence: &crate::event::SensitiveDataEvidence,
    ) -> Result<(), StateError> {
        each_store!(self, store => store.remember_sensitive_data(arn, evidence))
    }
}

/// True when a category of sensitive data can be kept in the evidence item: capitals, digits
/// and `_`, at most 64 (Macie's are `PERSONAL_INFORMATION` and the like). It names an attribute,
/// and comes from the event: anything else is decided on but not remembered.
pub(crate) fn storable_category(category: &str) -> bool {
    !category.is_empty()
        && category.len() <= 64
        && category
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Seconds since the Unix epoch, for the `now` the state's functions take.
pub(crate) fn now_epoch_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
