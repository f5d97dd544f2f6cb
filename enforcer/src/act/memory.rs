//! In-memory backends: the CLI's default and the tests' workhorse. They record what they are
//! asked to do, so a plan can be shown and checked without an account.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::record::QuarantineRecord;
use super::{
    overlay, Notify, Prepared, Quarantine, QuarantineTarget, StoreError, TagStore, WriteFailures,
};
use crate::alert::AlertMessage;
use crate::event::TagUpdate;
use crate::Tags;

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Tags kept in memory, seeded from an inventory file and from the events themselves.
#[derive(Debug, Clone, Default)]
pub struct InMemoryTagStore {
    resources: Arc<Mutex<BTreeMap<String, Tags>>>,
    writes: Arc<Mutex<usize>>,
}

impl InMemoryTagStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `inventory` (ARN → tags).
    pub fn with_inventory(inventory: BTreeMap<String, Tags>) -> Self {
        Self {
            resources: Arc::new(Mutex::new(inventory)),
            writes: Arc::default(),
        }
    }

    /// A copy of every resource's tags.
    pub fn snapshot(&self) -> BTreeMap<String, Tags> {
        locked(&self.resources).clone()
    }

    /// How many write calls (`put_tags`, `remove_tags`) were made.
    #[cfg(test)]
    pub(crate) fn write_calls(&self) -> usize {
        *locked(&self.writes)
    }
}

impl TagStore for InMemoryTagStore {
    fn observe(&self, arn: &str, update: &TagUpdate) {
        overlay(
            locked(&self.resources).entry(arn.to_owned()).or_default(),
            update,
        );
    }

    async fn get_tags(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
        let resources = locked(&self.resources);
        Ok(arns
            .iter()
            .filter_map(|arn| Some((arn.clone(), resources.get(arn)?.clone())))
            .collect())
    }

    async fn put_tags(&self, arns: &[String], tags: &Tags) -> WriteFailures {
        *locked(&self.writes) += 1;
        let mut resources = locked(&self.resources);
        for arn in arns {
            resources
                .entry(arn.clone())
                .or_default()
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        WriteFailures::new()
    }

    async fn remove_tags(&self, arns: &[String], keys: &[String]) -> WriteFailures {
        *locked(&self.writes) += 1;
        let mut resources = locked(&self.resources);
        for arn in arns {
            if let Some(current) = resources.get_mut(arn) {
                current.retain(|key, _| !keys.contains(key));
            }
        }
        WriteFailures::new()
    }
}

/// What the in-memory quarantine was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineCall {
    /// `isolate(arn)`.
    Isolate(String),
    /// `release(arn)`.
    Release(String),
}

/// A quarantine that isolates nothing and records what it was asked; supports every type.
#[derive(Debug, Clone, Default)]
pub struct InMemoryQuarantine {
    calls: Arc<Mutex<Vec<QuarantineCall>>>,
}

impl InMemoryQuarantine {
    /// A new recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<QuarantineCall> {
        locked(&self.calls).clone()
    }
}

impl Quarantine for InMemoryQuarantine {
    fn supports(&self, _resource_type: &str) -> bool {
        true
    }

    async fn prepare(&self, target: &QuarantineTarget<'_>) -> Result<Prepared, StoreError> {
        // Isolated when the last call about it was an isolation.
        let last = locked(&self.calls)
            .iter()
            .rev()
            .find_map(|call| match call {
                QuarantineCall::Isolate(arn) if arn == target.arn => Some(true),
                QuarantineCall::Release(arn) if arn == target.arn => Some(false),
                _ => None,
            });
        if last == Some(true) {
            return Ok(Prepared::AlreadyInPlace(
                "isolated (in memory) by an earlier call".to_owned(),
            ));
        }
        Ok(Prepared::Isolate(QuarantineRecord::new(
            target.resource_type,
            "isolated (in memory: nothing in an account changed)",
            BTreeMap::from([("memory".to_owned(), "true".to_owned())]),
        )))
    }

    async fn isolate(
        &self,
        target: &QuarantineTarget<'_>,
        _record: &QuarantineRecord,
    ) -> Result<(), StoreError> {
        locked(&self.calls).push(QuarantineCall::Isolate(target.arn.to_owned()));
        Ok(())
    }

    async fn release(
        &self,
        target: &QuarantineTarget<'_>,
        _record: &QuarantineRecord,
    ) -> Result<(), StoreError> {
        locked(&self.calls).push(QuarantineCall::Release(target.arn.to_owned()));
        Ok(())
    }
}

/// Keeps alerts in memory instead of sending them.
#[derive(Debug, Clone, Default)]
pub struct InMemoryNotify {
    messages: Arc<Mutex<Vec<AlertMessage>>>,
}

impl InMemoryNotify {
    /// A new recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message so far.
    pub fn messages(&self) -> Vec<AlertMessage> {
        locked(&self.messages).clone()
    }
}

impl Notify for InMemoryNotify {
    fn destination(&self) -> String {
        "memory (not sent)".to_owned()
    }

    async fn publish(&self, message: &AlertMessage) -> Result<String, StoreError> {
        let mut messages = locked(&self.messages);
        messages.push(message.clone());
        Ok(format!("memory-{}", messages.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_tags_sets_only_the_keys_given() {
        let store = InMemoryTagStore::with_inventory(BTreeMap::from([(
            "arn:a".to_owned(),
            Tags::from([
                ("Owner".to_owned(), "person".to_owned()),
                ("Keep".to_owned(), "me".to_owned()),
            ]),
        )]));
        let plan = Tags::from([
            ("Owner".to_owned(), "robot".to_owned()),
            ("New".to_owned(), "v".to_owned()),
        ]);
        let failures = store.put_tags(&["arn:a".to_owned()], &plan).await;
        assert!(failures.is_empty());
        let tags = &store.get_tags(&["arn:a".to_owned()]).await.unwrap()["arn:a"];
        assert_eq!(tags["Owner"], "robot", "TagResources semantics");
        assert_eq!(tags["Keep"], "me");
        assert_eq!(tags["New"], "v");
        store
            .remove_tags(&["arn:a".to_owned()], &["New".to_owned()])
            .await;
        let tags = &store.get_tags(&["arn:a".to_owned()]).await.unwrap()["arn:a"];
        assert!(!tags.contains_key("New"));
        assert_eq!(store.write_calls(), 2);
    }
}
