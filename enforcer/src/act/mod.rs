//! Acting on an account through small traits, each with an in-memory implementation (the CLI's
//! default, so the whole flow runs with no AWS account) and an AWS one ([`aws`]).
//!
//! - [`TagStore`] reads and writes resource tags;
//! - [`Quarantine`] isolates a resource reversibly and releases it again;
//! - [`Notify`] publishes the [`AlertMessage`]s [`crate::alert`] makes to the people concerned;
//! - [`SettingsReader`] reads a resource's protection settings (encrypted at rest, public), what
//!   a classification's obligations are checked on where an event does not carry them.
//!
//! [`read`] reads the current tags of an event's resources (with the read-lag retry) for the
//! pure decision core ([`crate::engine::decide`]).
//!
//! [`apply()`] carries out one [`Decision`](crate::engine::Decision)'s plan through them and
//! reports every outcome per ARN, with [`ActSettings::state`] as the state table (the alert
//! threads and the quarantine records); [`release()`] undoes a quarantine from its record in the
//! state table it is given.

mod apply;
pub mod aws;
#[cfg(test)]
mod interleavings;
mod memory;
#[cfg(test)]
mod proptests;
pub mod read;
mod record;
mod remediation_notice;
pub mod settings;

use std::collections::BTreeMap;
use std::future::Future;

pub use apply::{apply, release, ActReport, ActSettings, QuarantineStatus};

pub use memory::{InMemoryNotify, InMemoryQuarantine, InMemoryTagStore};
pub use read::{given_current, read_and_decide, read_fresh_and_decide, ReadRetry};
pub(crate) use record::QuarantineRecord;
pub use record::{QUARANTINE_AT_KEY, QUARANTINE_KEY, QUARANTINE_STATE_KEY, QUARANTINE_UNDO_KEY};
pub use settings::{
    CurrentSetting, InMemorySettings, NoSettings, Protection, ProtectionSettings, SettingReadError,
    SettingsReader,
};

use crate::alert::AlertMessage;
use crate::event::TagUpdate;
use crate::Tags;

pub use crate::failure::StoreError;

/// Per-ARN failures of a write; an empty map means every write succeeded.
pub type WriteFailures = BTreeMap<String, StoreError>;

/// Reads and writes resource tags.
///
/// Writes have the Resource Groups Tagging API's semantics: `put_tags` creates or overwrites the
/// keys it is given and leaves every other key alone. The enforcer's merge-only rule (never change
/// a tag a person set, except an allowed case fix) is kept by [`apply()`], which only ever sends
/// keys the resource lacks and the case fixes the policy allows.
pub trait TagStore {
    /// Current tags of each ARN. ARNs the backend does not list (untagged, or not yet indexed)
    /// are absent from the answer.
    fn get_tags(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Tags>, StoreError>> + Send;

    /// Sets `tags` on each ARN, leaving its other tags alone. Returns, per ARN that failed, why.
    fn put_tags(&self, arns: &[String], tags: &Tags) -> impl Future<Output = WriteFailures> + Send;

    /// Removes `keys` from each ARN. The enforcer only removes its own `enforcer:` record tags.
    fn remove_tags(
        &self,
        arns: &[String],
        keys: &[String],
    ) -> impl Future<Output = WriteFailures> + Send;

    /// Told what each event did to a resource's tags, before the tags are read. A live account
    /// already holds the change, so the default does nothing; the in-memory store records it.
    fn observe(&self, _arn: &str, _update: &TagUpdate) {}
}

/// The resource a quarantine acts on.
#[derive(Debug, Clone, Copy)]
pub struct QuarantineTarget<'a> {
    /// Full ARN.
    pub arn: &'a str,
    /// Resource Groups Tagging API type, e.g. `s3:bucket`.
    pub resource_type: &'a str,
    /// Its current tags.
    pub tags: &'a Tags,
}

/// What a quarantine found before acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// The resource is already isolated (by an earlier run); nothing to do.
    AlreadyInPlace(String),
    /// Isolate it; the record says what will be done and how to undo it.
    Isolate(QuarantineRecord),
}

/// Isolates resources reversibly, one way per resource type.
///
/// A quarantine has two steps so that its record exists before anything changes:
/// [`prepare`](Quarantine::prepare) only reads — whether the resource itself is isolated, else the
/// state to restore on release — then the caller captures the record in the state table, then
/// [`isolate`](Quarantine::isolate) changes the resource, and `prepare` read again verifies it.
pub trait Quarantine {
    /// True when this backend can quarantine resources of `resource_type`.
    fn supports(&self, resource_type: &str) -> bool;

    /// Reads what a release must restore. Changes nothing.
    fn prepare(
        &self,
        target: &QuarantineTarget<'_>,
    ) -> impl Future<Output = Result<Prepared, StoreError>> + Send;

    /// Isolates the resource as `record` says.
    fn isolate(
        &self,
        target: &QuarantineTarget<'_>,
        record: &QuarantineRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Undoes an isolation from its record. Safe to repeat, and safe after a partial isolation.
    fn release(
        &self,
        target: &QuarantineTarget<'_>,
        record: &QuarantineRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Sends alerts.
pub trait Notify {
    /// Where messages go, for reports (e.g. the topic ARN).
    fn destination(&self) -> String;

    /// Where `message` goes (its owner's topic, say); [`Notify::destination`] unless the
    /// backend routes per owner.
    fn destination_for(&self, message: &AlertMessage) -> String {
        let _ = message;
        self.destination()
    }

    /// Publishes one message; returns the backend's message id.
    fn publish(
        &self,
        message: &AlertMessage,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}

/// Applies what an event did to a resource's tags onto the tags a store returned. The record is
/// newer than an eventually consistent read, so it wins for the keys it names.
pub(crate) fn overlay(current: &mut Tags, update: &TagUpdate) {
    match update {
        TagUpdate::None => {}
        TagUpdate::Merge(tags) => {
            current.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        TagUpdate::Remove(keys) => current.retain(|key, _| !keys.contains(key)),
        TagUpdate::Replace(tags) => current.clone_from(tags),
    }
}

/// True when a read of a resource's tags does not yet show what the event says it set: the
/// index behind the read lags the call, and other tags may be missing too.
pub(crate) fn read_lags(read: Option<&Tags>, update: &TagUpdate) -> bool {
    match update {
        TagUpdate::Merge(tags) => tags
            .iter()
            .any(|(key, value)| read.and_then(|r| r.get(key)) != Some(value)),
        TagUpdate::None | TagUpdate::Remove(_) | TagUpdate::Replace(_) => false,
    }
}
