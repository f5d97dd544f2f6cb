//! `replay --aws`: every event judged against the tags its resources carry now.
//!
//! The account's tags do not change while a history is replayed, so [`CurrentTags`] reads each
//! resource once and answers every later event about it from that read: a 90-day history that
//! touches a bucket ten thousand times costs one `GetResources` for it, not ten thousand. It never
//! writes: a replay only says what the enforcer would have done.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::act::{StoreError, TagStore, WriteFailures};
use crate::catalog::Arn;
use crate::Tags;

/// The account and region a store's credentials read; ARNs elsewhere are refused, not read as
/// untagged (which would turn every one of them into a false violation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadScope {
    /// The credentials' account (`sts:GetCallerIdentity`); `None` reads any.
    pub account: Option<String>,
    /// The configured region; `None` reads any.
    pub region: Option<String>,
}

impl ReadScope {
    /// Why `arn` cannot be read within this scope, if it cannot.
    fn refusal(&self, arn: &str) -> Option<String> {
        let parsed = Arn::parse(arn)?;
        if let Some(account) = &self.account {
            if !parsed.account.is_empty() && parsed.account != account {
                return Some(format!(
                    "{arn} is in account {}, and --aws reads account {account}: replay each \
                     account's history with that account's credentials",
                    parsed.account
                ));
            }
        }
        if let Some(region) = &self.region {
            if !parsed.region.is_empty() && parsed.region != region {
                return Some(format!(
                    "{arn} is in region {}, and --aws reads region {region}: replay that \
                     region's history with AWS_REGION={}",
                    parsed.region, parsed.region
                ));
            }
        }
        None
    }
}

/// A read-only, read-once view of another store's current tags.
#[derive(Debug)]
pub struct CurrentTags<S> {
    store: S,
    scope: ReadScope,
    /// `None`: the store does not list the resource (untagged, or gone).
    read: Mutex<HashMap<String, Option<Tags>>>,
    reads: AtomicUsize,
}

impl<S: TagStore> CurrentTags<S> {
    /// A view of `store` limited to `scope`.
    pub fn new(store: S, scope: ReadScope) -> Self {
        Self {
            store,
            scope,
            read: Mutex::new(HashMap::new()),
            reads: AtomicUsize::new(0),
        }
    }

    /// Calls made to the underlying store so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// Distinct resources read so far.
    pub fn resources_read(&self) -> usize {
        self.read
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<S: TagStore + Sync> TagStore for CurrentTags<S> {
    async fn get_tags(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
        if let Some(refusal) = arns.iter().find_map(|arn| self.scope.refusal(arn)) {
            return Err(StoreError::permanent("GetResources", refusal));
        }
        let unread: Vec<String> = {
            let read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
            arns.iter()
                .filter(|arn| !read.contains_key(*arn))
                .cloned()
                .collect()
        };
        if !unread.is_empty() {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let mut found = self.store.get_tags(&unread).await?;
            let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
            for arn in unread {
                let tags = found.remove(&arn);
                read.insert(arn, tags);
            }
        }
        let read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(arns
            .iter()
            .filter_map(|arn| Some((arn.clone(), read.get(arn)?.clone()?)))
            .collect())
    }

    async fn put_tags(&self, arns: &[String], _tags: &Tags) -> WriteFailures {
        refuse_writes(arns, "TagResources")
    }

    async fn remove_tags(&self, arns: &[String], _keys: &[String]) -> WriteFailures {
        refuse_writes(arns, "UntagResources")
    }
}

fn refuse_writes(arns: &[String], operation: &str) -> WriteFailures {
    arns.iter()
        .map(|arn| {
            (
                arn.clone(),
                StoreError::permanent(operation, "a replay reads tags and never writes them"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::act::InMemoryTagStore;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn arns(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    const BUCKET: &str = "arn:aws:s3:::lake-raw";
    const QUEUE: &str = "arn:aws:sqs:eu-west-1:111122223333:jobs";

    fn store() -> InMemoryTagStore {
        InMemoryTagStore::with_inventory(BTreeMap::from([(
            BUCKET.to_owned(),
            tags(&[("DataLayer", "raw")]),
        )]))
    }

    #[tokio::test]
    async fn each_resource_is_read_once_listed_or_not() {
        let current = CurrentTags::new(store(), ReadScope::default());
        for _ in 0..3 {
            let found = current.get_tags(&arns(&[BUCKET, QUEUE])).await.unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[BUCKET], tags(&[("DataLayer", "raw")]));
        }
        assert_eq!(current.reads(), 1);
        assert_eq!(current.resources_read(), 2);
        current.get_tags(&arns(&[QUEUE])).await.unwrap();
        assert_eq!(current.reads(), 1, "an unlisted resource is remembered too");
    }

    #[tokio::test]
    async fn writes_are_refused_and_reach_nothing() {
        let inner = store();
        let current = CurrentTags::new(inner.clone(), ReadScope::default());
        let failures = current
            .put_tags(&arns(&[BUCKET]), &tags(&[("DataLayer", "curated")]))
            .await;
        assert!(!failures[BUCKET].retryable);
        assert!(failures[BUCKET].message.contains("never writes"));
        let failures = current.remove_tags(&arns(&[BUCKET]), &arns(&["x"])).await;
        assert_eq!(failures.len(), 1);
        assert_eq!(inner.write_calls(), 0);
        assert_eq!(inner.snapshot()[BUCKET], tags(&[("DataLayer", "raw")]));
    }

    #[tokio::test]
    async fn resources_outside_the_scope_are_refused_not_read_as_untagged() {
        let scope = ReadScope {
            account: Some("111122223333".to_owned()),
            region: Some("eu-west-1".to_owned()),
        };
        let current = CurrentTags::new(store(), scope);
        let error = current
            .get_tags(&arns(&["arn:aws:sqs:eu-west-1:999999999999:jobs"]))
            .await
            .unwrap_err();
        assert!(!error.retryable);
        assert!(error.message.contains("account 999999999999"), "{error}");
        let error = current
            .get_tags(&arns(&["arn:aws:sqs:us-east-1:111122223333:jobs"]))
            .await
            .unwrap_err();
        assert!(error.message.contains("AWS_REGION=us-east-1"), "{error}");
        // Buckets name no account or region; IAM names no region.
        current
            .get_tags(&arns(&[
                BUCKET,
                QUEUE,
                "arn:aws:iam::111122223333:role/etl",
            ]))
            .await
            .unwrap();
        assert_eq!(current.reads(), 1);
    }
}
