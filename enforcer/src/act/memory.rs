//! In-memory backends: the CLI's default and the tests' workhorse.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{overlay, StoreError, TagStore};
use crate::event::TagUpdate;
use crate::Tags;

/// Tags kept in memory, seeded from an inventory file and from the events themselves.
#[derive(Debug, Clone, Default)]
pub struct InMemoryTagStore {
    resources: Arc<Mutex<BTreeMap<String, Tags>>>,
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
        }
    }

    /// A copy of every resource's tags.
    pub fn snapshot(&self) -> BTreeMap<String, Tags> {
        self.resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl TagStore for InMemoryTagStore {
    fn observe(&self, arn: &str, update: &TagUpdate) {
        let mut resources = self
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        overlay(resources.entry(arn.to_owned()).or_default(), update);
    }

    async fn get_tags(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
        let resources = self
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(arns
            .iter()
            .filter_map(|arn| Some((arn.clone(), resources.get(arn)?.clone())))
            .collect())
    }

    async fn add_tags(
        &self,
        arns: &[String],
        tags: &Tags,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let mut resources = self
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for arn in arns {
            let current = resources.entry(arn.clone()).or_default();
            for (key, value) in tags {
                current.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        Ok(BTreeMap::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn add_tags_never_overwrites() {
        let store = InMemoryTagStore::with_inventory(BTreeMap::from([(
            "arn:a".to_owned(),
            Tags::from([("Owner".to_owned(), "person".to_owned())]),
        )]));
        let plan = Tags::from([
            ("Owner".to_owned(), "robot".to_owned()),
            ("New".to_owned(), "v".to_owned()),
        ]);
        store.add_tags(&["arn:a".to_owned()], &plan).await.unwrap();
        let tags = &store.get_tags(&["arn:a".to_owned()]).await.unwrap()["arn:a"];
        assert_eq!(tags["Owner"], "person");
        assert_eq!(tags["New"], "v");
    }
}
