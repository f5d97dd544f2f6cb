//! A person writing between the enforcer's read and its write, on moto: the enforcer re-reads
//! just before writing and writes only keys still absent, so the person's values stand. Also
//! measures the window left, from the re-read's start to the write's answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use enforcer::act::aws::AwsTagStore;
use enforcer::act::{
    apply, read_and_decide, ActSettings, InMemoryNotify, InMemoryQuarantine, ReadRetry, StoreError,
    TagStore, WriteFailures,
};
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::engine::Outcome;
use enforcer::event::{decode_text, ResolveOptions, Resolver};
use enforcer::policy::PolicySet;
use enforcer::Tags;
use serde_json::{json, Value};

use crate::support::events::{api_call, enforcer_role, person};
use crate::support::moto::{moto, REGION};

const POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/aws/policy.toml"
);

fn policies() -> PolicySet {
    enforcer::policy::load(&[POLICY.into()], KNOWN_RESOURCE_TYPES)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .set
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The AWS store, timing its calls: when each re-read started and each write answered.
struct Timed<'a> {
    inner: &'a AwsTagStore,
    reads: Mutex<Vec<Instant>>,
    writes: Mutex<Vec<(Instant, Instant)>>,
}

impl TagStore for Timed<'_> {
    async fn get_tags(&self, arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
        self.reads.lock().unwrap().push(Instant::now());
        self.inner.get_tags(arns).await
    }

    async fn put_tags(&self, arns: &[String], tags: &Tags) -> WriteFailures {
        let start = Instant::now();
        let failures = self.inner.put_tags(arns, tags).await;
        self.writes.lock().unwrap().push((start, Instant::now()));
        failures
    }

    async fn remove_tags(&self, arns: &[String], keys: &[String]) -> WriteFailures {
        self.inner.remove_tags(arns, keys).await
    }
}

fn put_bucket_tagging_event(account: &str, bucket: &str, pairs: &[(&str, &str)]) -> String {
    let tag_set: Vec<Value> = pairs
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    api_call(
        account,
        REGION,
        person(account),
        "s3.amazonaws.com",
        "PutBucketTagging",
        json!({"bucketName": bucket, "Tagging": {"TagSet": {"Tag": tag_set}}}),
        Value::Null,
    )
    .to_string()
}

#[tokio::test]
async fn a_value_a_person_sets_between_the_read_and_the_write_is_never_overwritten() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("person_between_read_and_write").await;
    let resolver = Resolver::new(
        Catalog::builtin().unwrap(),
        ResolveOptions {
            own_principals: vec![enforcer_role(&aws.account)],
        },
    );
    let policies = policies();
    let settings = ActSettings::new(&policies, true);
    let store = AwsTagStore::new(&aws.clients);
    let bucket = "nothing-lost-curated-eu-west-1";
    let first = [("DataClassification", "confidential"), ("CostCenter", "42")];
    let arn = aws.create_bucket(bucket, &first).await;
    let event = put_bucket_tagging_event(&aws.account, bucket, &first);
    let (_, input) = decode_text("event", &event).remove(0).unwrap();

    // The enforcer reads and decides: add ProcessOwner, SourceSystems, TargetSystems; re-case
    // DataClassification.
    let (decision, error) = read_and_decide(
        &store,
        &ReadRetry::none(),
        resolver.resolve(&input),
        &policies,
        policies.mode,
        None,
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(decision.outcome, Outcome::Remediate, "{decision:#?}");
    let planned = &decision.resources[0];
    assert!(
        planned.add_tags.contains_key("ProcessOwner"),
        "{planned:#?}"
    );
    assert!(planned.case_fixes.contains_key("DataClassification"));

    // A person, between the enforcer's read and its write, sets two of those keys.
    let mine = tags(&[
        ("ProcessOwner", "Finance"),
        ("DataClassification", "Restricted"),
    ]);
    aws.clients
        .tagging
        .tag_resources()
        .resource_arn_list(&arn)
        .set_tags(Some(mine.clone().into_iter().collect()))
        .send()
        .await
        .unwrap();

    let timed = Timed {
        inner: &store,
        reads: Mutex::default(),
        writes: Mutex::default(),
    };
    let report = apply(
        &decision,
        &settings,
        &timed,
        &InMemoryQuarantine::new(),
        &InMemoryNotify::new(),
    )
    .await;
    assert!(report.failures().is_empty(), "{report:#?}");
    let after = store
        .get_tags(std::slice::from_ref(&arn))
        .await
        .unwrap()
        .remove(&arn)
        .unwrap();
    assert_eq!(
        after,
        tags(&[
            ("CostCenter", "42"),
            ("DataClassification", "Restricted"),
            ("ProcessOwner", "Finance"),
            ("SourceSystems", "S3-Raw-Layer"),
            ("TargetSystems", "S3-Refined,Redshift"),
        ])
    );
    let resource = &report.resources[0];
    assert_eq!(
        resource.tags_added,
        tags(&[
            ("SourceSystems", "S3-Raw-Layer"),
            ("TargetSystems", "S3-Refined,Redshift")
        ])
    );
    assert!(resource.tags_fixed.is_empty(), "{resource:#?}");
    let note = resource.note.as_deref().unwrap();
    assert!(
        note.contains("DataClassification") && note.contains("ProcessOwner"),
        "{note}"
    );
}

/// The window left: from the start of a batch's re-read (the earliest the read may have been
/// answered from) to the answer of its write (the latest the write may have landed), over
/// repeated writes on moto. Printed for the documentation (`--nocapture`).
#[tokio::test]
async fn the_window_between_the_re_read_and_the_write_is_measured() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("person_window").await;
    let policies = policies();
    let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
    let settings = ActSettings::new(&policies, true);
    let store = AwsTagStore::new(&aws.clients);
    let timed = Timed {
        inner: &store,
        reads: Mutex::default(),
        writes: Mutex::default(),
    };
    const RUNS: usize = 30;
    for run in 0..RUNS {
        let bucket = format!("nothing-lost-window-{run}-curated-eu-west-1");
        let first = [("DataClassification", "Confidential")];
        aws.create_bucket(&bucket, &first).await;
        let event = put_bucket_tagging_event(&aws.account, &bucket, &first);
        let (_, input) = decode_text("event", &event).remove(0).unwrap();
        let (decision, _) = read_and_decide(
            &store,
            &ReadRetry::none(),
            resolver.resolve(&input),
            &policies,
            policies.mode,
            None,
        )
        .await;
        let before = timed.reads.lock().unwrap().len();
        let report = apply(
            &decision,
            &settings,
            &timed,
            &InMemoryQuarantine::new(),
            &InMemoryNotify::new(),
        )
        .await;
        assert!(
            report.written && report.failures().is_empty(),
            "{report:#?}"
        );
        assert_eq!(timed.reads.lock().unwrap().len(), before + 1);
    }
    let reads = timed.reads.lock().unwrap().clone();
    let writes = timed.writes.lock().unwrap().clone();
    assert_eq!(reads.len(), RUNS);
    assert_eq!(writes.len(), RUNS);
    let mut windows: Vec<Duration> = reads
        .iter()
        .zip(&writes)
        .map(|(read, (_, answered))| answered.duration_since(*read))
        .collect();
    // Between the re-read's answer and the write's start the enforcer awaits nothing.
    windows.sort();
    let median = windows[RUNS / 2];
    let max = windows[RUNS - 1];
    eprintln!(
        "re-read start to write answer over {RUNS} writes on moto: median {median:?}, max {max:?}"
    );
    assert!(max < Duration::from_secs(5), "{windows:?}");
}
