//! Acting on an account through small traits, each with an in-memory implementation (the CLI's
//! default, so the whole flow runs with no AWS account) and an AWS one.

mod memory;

use std::collections::BTreeMap;
use std::future::Future;

pub use memory::InMemoryTagStore;

use crate::event::TagUpdate;
use crate::Tags;

/// A failure of a backend call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct StoreError {
    /// What was being done, e.g. `GetResources`.
    pub operation: String,
    /// What went wrong.
    pub message: String,
    /// True when trying again later may succeed (throttling, 5xx, timeouts).
    pub retryable: bool,
}

/// Reads and writes resource tags.
pub trait TagStore {
    /// Current tags of each ARN. ARNs the backend does not know are absent from the answer.
    fn get_tags(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Tags>, StoreError>> + Send;

    /// Adds `tags` to each ARN without touching its other tags. Returns, per ARN that failed,
    /// why; an empty map means every write succeeded.
    fn add_tags(
        &self,
        arns: &[String],
        tags: &Tags,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, StoreError>> + Send;

    /// Told what each event did to a resource's tags. A live account already holds the change,
    /// so the default does nothing; the in-memory store records it so later events see it.
    fn observe(&self, _arn: &str, _update: &TagUpdate) {}
}

/// Applies what an event did to a resource's tags onto the tags a store returned. The record is
/// newer than an eventually consistent read, so it wins for the keys it names.
pub fn overlay(current: &mut Tags, update: &TagUpdate) {
    match update {
        TagUpdate::None => {}
        TagUpdate::Merge(tags) => {
            current.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        TagUpdate::Remove(keys) => current.retain(|key, _| !keys.contains(key)),
        TagUpdate::Replace(tags) => current.clone_from(tags),
    }
}
