//! A person's writes interleaved with the enforcer's, in memory: whatever the person writes,
//! wherever it lands among the enforcer's steps (after the decision's read, before or after any
//! batch, between the parts of a split batch, after the last write), the person's value stands.
//!
//! A step is one store call, except that a batch's re-read and the write that follows it are one:
//! [`apply()`](super::apply) awaits nothing between them, so in memory nothing can land there.
//! On AWS something can: that pair is the window left, the network time from the re-read's
//! answer to the write's arrival (plus how far the tagging API's read lags), measured by
//! `tests/aws/person.rs` and documented in infra/README.md ("A person's value is never
//! overwritten"). The store below asserts that every write does follow its re-read that way.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use proptest::prelude::*;

use super::{
    apply, ActSettings, InMemoryNotify, InMemoryQuarantine, InMemoryTagStore, StoreError, TagStore,
    WriteFailures,
};
use crate::engine::{Decision, Outcome, ResourceDecision};
use crate::evaluate::Action;
use crate::policy::{Mode, PolicySet};
use crate::Tags;

const ARNS: [&str; 2] = ["arn:aws:s3:::raw-a", "arn:aws:s3:::raw-b"];

/// A person's write: before the enforcer's store call number `before`, `tags` on `ARNS[arn]`.
#[derive(Debug, Clone)]
struct PersonWrite {
    before: usize,
    arn: usize,
    tags: Tags,
}

/// The in-memory store, with a person writing in between the enforcer's calls.
struct Interleaved {
    inner: InMemoryTagStore,
    script: Vec<PersonWrite>,
    calls: AtomicUsize,
    /// Per ARN, the last value the person gave each key.
    person: Mutex<BTreeMap<String, Tags>>,
    /// The ARNs of the last call when it was a read: a write of (some of) them next is the
    /// second half of a re-read and write pair.
    last_read: Mutex<Option<Vec<String>>>,
}

impl Interleaved {
    async fn person_writes_before_call(&self) {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        self.person_writes(|write| write.before == call).await;
    }

    async fn person_writes(&self, due: impl Fn(&PersonWrite) -> bool) {
        for write in self.script.iter().filter(|w| due(w)) {
            let arn = ARNS[write.arn].to_owned();
            let failures = self
                .inner
                .put_tags(std::slice::from_ref(&arn), &write.tags)
                .await;
            assert!(failures.is_empty());
            let mut person = self.person.lock().unwrap();
            person
                .entry(arn)
                .or_default()
                .extend(write.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
}

impl TagStore for Interleaved {
    async fn get_tags(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
        self.person_writes_before_call().await;
        *self.last_read.lock().unwrap() = Some(arns.to_vec());
        self.inner.get_tags(arns).await
    }

    async fn put_tags(&self, arns: &[String], tags: &Tags) -> WriteFailures {
        let read = self.last_read.lock().unwrap().take();
        // Every write is the second half of a pair: it writes only what was just re-read.
        assert!(
            read.as_ref()
                .is_some_and(|read| arns.iter().all(|a| read.contains(a))),
            "a write of {arns:?} not right after re-reading them (last read: {read:?})"
        );
        // The person's writes due at this step land right after the pair.
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let failures = self.inner.put_tags(arns, tags).await;
        self.person_writes(|write| write.before == call).await;
        failures
    }

    async fn remove_tags(&self, arns: &[String], keys: &[String]) -> WriteFailures {
        *self.last_read.lock().unwrap() = None;
        self.person_writes_before_call().await;
        self.inner.remove_tags(arns, keys).await
    }
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "DataClassification",
        "ProcessOwner",
        "SourceSystems",
        "CostCenter",
    ])
    .prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "Confidential",
        "confidential",
        "Internal",
        "DataEngineering",
        "Finance",
        "",
    ])
    .prop_map(str::to_owned)
}

fn tag_set() -> impl Strategy<Value = Tags> {
    prop::collection::btree_map(key(), value(), 0..4)
}

fn person_write() -> impl Strategy<Value = PersonWrite> {
    (
        0usize..6,
        0usize..2,
        prop::collection::btree_map(key(), value(), 1..3),
    )
        .prop_map(|(before, arn, tags)| PersonWrite { before, arn, tags })
}

fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Two resources decided from one read, each with its own plan (additions and case fixes,
    /// so batches split on the re-read), and a person writing anywhere among the enforcer's
    /// calls: every key the person set ends with the person's last value, or that value
    /// re-cased by an allowed case fix.
    #[test]
    fn a_persons_value_is_never_changed_wherever_the_write_lands(
        current in prop::collection::vec(tag_set(), 2),
        add in prop::collection::vec(tag_set(), 2),
        fixes in prop::collection::vec(tag_set(), 2),
        script in prop::collection::vec(person_write(), 0..4),
    ) {
        let store = Interleaved {
            inner: InMemoryTagStore::with_inventory(
                ARNS.iter().zip(&current).map(|(a, t)| ((*a).to_owned(), t.clone())).collect(),
            ),
            script,
            calls: AtomicUsize::new(0),
            person: Mutex::new(BTreeMap::new()),
            last_read: Mutex::new(None),
        };
        let resources = (0..2)
            .map(|i| ResourceDecision {
                arn: ARNS[i].to_owned(),
                resource_type: "s3:bucket".to_owned(),
                tags: current[i].clone(),
                matched_rules: vec!["rule".to_owned()],
                exempt: None,
                opt_out: None,
                violations: Vec::new(),
                add_tags: add[i].clone(),
                case_fixes: fixes[i].clone(),
                action: Action::Remediate,
                stale_read: false,
                quarantine_withheld: false,
                protection: crate::obligation::ProtectionFacts::default(),
                unread_settings: Vec::new(),
                minimum_class: None,
                read: Some(current[i].clone()),
            })
            .collect();
        let decision = Decision {
            event_id: None,
            event_source: "test".to_owned(),
            event_name: "test".to_owned(),
            outcome: Outcome::Remediate,
            reason: None,
            location: None,
            actor: None,
            creator: None,
            account: None,
            region: None,
            mode: Mode::Enforce,
            resources,
            resolution: None,
        };
        let settings = ActSettings::new(&PolicySet::default(), true);
        let runtime = runtime();
        let report = runtime.block_on(apply(
            &decision,
            &settings,
            &store,
            &InMemoryQuarantine::new(),
            &InMemoryNotify::new(),
        ));
        // Writes scripted after the enforcer's last call land now.
        let calls = store.calls.load(Ordering::SeqCst);
        runtime.block_on(store.person_writes(|w| w.before >= calls));
        prop_assert!(report.failures().is_empty(), "{:?}", report);
        let after = store.inner.snapshot();
        let person = store.person.lock().unwrap().clone();
        for (index, arn) in ARNS.iter().enumerate() {
            let Some(set) = person.get(*arn) else { continue };
            let now = after.get(*arn).cloned().unwrap_or_default();
            for (key, value) in set {
                let found = now.get(key);
                prop_assert!(found.is_some(), "{arn}: the person's `{key}` was removed");
                let found = found.unwrap();
                if found != value {
                    prop_assert_eq!(Some(found), fixes[index].get(key), "{}: `{}` changed", arn, key);
                    prop_assert_eq!(fold(found), fold(value), "{}: `{}` changed", arn, key);
                }
            }
        }
    }
}
