//! The handler in-process, on the sample events, with the in-memory backends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::act::{InMemoryNotify, InMemoryQuarantine, InMemoryTagStore, WriteFailures};
use crate::evaluate::Action;
use crate::policy::Mode;

const OWN: &str = "111122223333";
const BUCKET: &str = "arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn sample(name: &str) -> serde_json::Value {
    let path = repo().join("events/samples").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn config(vars: &[(&str, &str)]) -> Config {
    // Enforce mode refuses to start without the function's own role.
    let mut all: BTreeMap<String, String> = BTreeMap::from([
        (
            "ENFORCER_POLICY_DIR".to_owned(),
            repo().join("policies").display().to_string(),
        ),
        (
            "ENFORCER_ROLE_ARN".to_owned(),
            "arn:aws:iam::111122223333:role/tag-enforcer".to_owned(),
        ),
    ]);
    for (k, v) in vars {
        all.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::from_env(|key| all.get(key).cloned()).unwrap()
}

fn handler<S, Q>(
    mode: &str,
    store: S,
    quarantine: Q,
) -> Handler<SingleAccount<S, Q>, InMemoryNotify>
where
    S: TagStore + Send + Sync,
    Q: Quarantine + Send + Sync,
{
    let config = config(&[("ENFORCER_MODE", mode)]);
    let prepared = Prepared {
        read_retry: ReadRetry::none(),
        ..prepare(&config).unwrap()
    };
    Handler::new(
        config,
        prepared,
        SingleAccount::new(store, quarantine),
        InMemoryNotify::new(),
    )
}

fn memory(mode: &str) -> Handler<MemoryAccounts, InMemoryNotify> {
    handler(mode, InMemoryTagStore::new(), InMemoryQuarantine::new())
}

fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn an_untagged_raw_bucket_gets_its_layer_tags_and_an_alert() {
    let handler = memory("enforce");
    let response = run(handler.handle(&sample("s3-CreateBucket.json"), Some(OWN))).unwrap();
    assert_eq!(response.call, "s3.amazonaws.com:CreateBucket");
    assert_eq!(response.arns, [BUCKET]);
    assert_eq!(response.mode, Mode::Enforce);
    assert_eq!(response.disposition, Disposition::Done);
    assert!(response.written, "{response:?}");
    assert!(response.failures.is_empty(), "{response:?}");
    let tags = handler.accounts().0.store.snapshot();
    let tags = &tags[BUCKET];
    assert_eq!(tags["DataClassification"], "Confidential");
    assert_eq!(tags["ProcessOwner"], "DataEngineering");
    assert_eq!(response.actions[0].tags_added, *tags);

    // The alert: the Chatbot custom notification, with the owner's routing attributes.
    assert!(response.alerted, "{response:?}");
    let messages = handler.notify().messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.attributes["owner"], "DataEngineering");
    assert_eq!(message.attributes["account"], OWN);
    assert_eq!(message.attributes["mode"], "enforce");
    let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
    assert_eq!(body["source"], "custom", "{body}");
    assert!(message.subject.contains("ecometricx-prod-s3-raw-eu-west-1"));
}

#[test]
fn the_same_event_twice_writes_once() {
    let handler = memory("enforce");
    let event = sample("s3-CreateBucket.json");
    run(handler.handle(&event, Some(OWN))).unwrap();
    let second = run(handler.handle(&event, Some(OWN))).unwrap();
    assert!(!second.written, "{second:?}");
    assert_eq!(handler.accounts().0.store.write_calls(), 1);
}

#[test]
fn audit_mode_writes_nothing_but_alerts() {
    let handler = memory("audit");
    let response = run(handler.handle(&sample("s3-CreateBucket.json"), Some(OWN))).unwrap();
    assert_eq!(response.mode, Mode::Audit);
    assert!(!response.written);
    assert_eq!(handler.accounts().0.store.write_calls(), 0);
    // Planned, not written.
    assert!(response.actions[0]
        .tags_added
        .contains_key("DataClassification"));
    let messages = handler.notify().messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].attributes["mode"], "audit");
}

/// Audit mode plans the same tags on every event (it writes none): announced once through the
/// resource's thread, not on every delivery or later call.
#[test]
fn audit_mode_announces_planned_tags_once() {
    let cluster = "arn:aws:rds:eu-west-1:111122223333:cluster:billing-orders-cluster";
    let tags = [
        ("SourceSystems", "Billing"),
        ("ProcessOwner", "DataEngineering"),
        ("DataDomain", "Finance"),
    ];
    let store = InMemoryTagStore::with_inventory(BTreeMap::from([(
        cluster.to_owned(),
        tags.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )]));
    let handler = handler("audit", store, InMemoryQuarantine::new());
    let event = sample("rds-CreateDBCluster.json");
    let first = run(handler.handle(&event, Some(OWN))).unwrap();
    assert_eq!(first.outcome, Outcome::Remediate, "{first:?}");
    assert!(first.alerted, "{first:?}");
    let again = run(handler.handle(&event, Some(OWN))).unwrap();
    assert!(!again.alerted, "{again:?}");
    // A call made after the creation (the sample's own time is earlier: it would be stale).
    let mut modify = sample("rds-ModifyDBCluster.json");
    modify["detail"]["eventTime"] = serde_json::json!("2026-11-02T10:20:00Z");
    let later = run(handler.handle(&modify, Some(OWN))).unwrap();
    assert_eq!(later.outcome, Outcome::Remediate, "{later:?}");
    assert!(!later.alerted, "{later:?}");
    let messages = handler.notify().messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0].attributes["notice"], "opened");
    assert_eq!(messages[0].attributes["mode"], "audit");
    assert_eq!(messages[0].attributes["action"], "remediate");
}

#[test]
fn a_tag_change_event_is_decided() {
    let handler = memory("enforce");
    let event = sample("tag-TagChangeOnResource-s3-bucket.json");
    let response = run(handler.handle(&event, Some(OWN))).unwrap();
    assert_ne!(response.outcome, Outcome::Error, "{response:?}");
    assert_ne!(response.outcome, Outcome::Unsupported, "{response:?}");
    assert_eq!(response.arns.len(), 1, "{response:?}");
    assert_eq!(response.disposition, Disposition::Done);
}

#[test]
fn every_sample_is_answered_without_a_retry() {
    let handler = memory("enforce");
    let mut count = 0;
    for entry in std::fs::read_dir(repo().join("events/samples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let response = run(handler.handle(&event, Some(OWN)))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            response.failures.is_empty(),
            "{}: {response:?}",
            path.display()
        );
        count += 1;
    }
    assert!(count > 300, "{count} samples");
}

#[test]
fn a_bad_event_is_answered_not_retried() {
    let handler = memory("enforce");
    for event in [
        serde_json::json!("just a string"),
        serde_json::json!({"detail-type": "AWS API Call via CloudTrail", "detail": 42}),
    ] {
        let response = run(handler.handle(&event, Some(OWN))).unwrap();
        assert_eq!(response.outcome, Outcome::Error, "{response:?}");
        assert_eq!(response.disposition, Disposition::Permanent);
        assert!(response.reason.is_some());
    }
    assert!(handler.notify().messages().is_empty());
    // Each is recorded in the failures queue, with the event and the reason.
    let kept = handler.failure_queue().kept();
    assert_eq!(kept.len(), 2);
    let first: serde_json::Value = serde_json::from_str(&kept[0]).unwrap();
    assert_eq!(first["event"], "just a string");
    assert!(
        first["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{first}"
    );
}

#[test]
fn the_enforcers_own_call_is_ignored() {
    let config = config(&[
        ("ENFORCER_MODE", "enforce"),
        (
            "ENFORCER_ROLE_ARN",
            "arn:aws:iam::111122223333:role/DataEngineer",
        ),
    ]);
    let prepared = prepare(&config).unwrap();
    let handler = Handler::new(
        config,
        prepared,
        SingleAccount::new(InMemoryTagStore::new(), InMemoryQuarantine::new()),
        InMemoryNotify::new(),
    );
    let response = run(handler.handle(&sample("s3-CreateBucket.json"), Some(OWN))).unwrap();
    assert_eq!(response.outcome, Outcome::Ignored);
    assert_eq!(response.disposition, Disposition::Done);
    assert_eq!(handler.accounts().0.store.write_calls(), 0);
}

#[test]
fn the_member_roles_call_in_another_account_is_ignored() {
    let config = config(&[
        ("ENFORCER_MODE", "enforce"),
        ("ENFORCER_MEMBER_ROLE_NAME", "tag-enforcer-member"),
    ]);
    let prepared = prepare(&config).unwrap();
    let handler = Handler::new(
        config,
        prepared,
        SingleAccount::new(InMemoryTagStore::new(), InMemoryQuarantine::new()),
        InMemoryNotify::new(),
    );
    // The enforcer's own write in member account 444455556666, made by the member role there.
    let member = "444455556666";
    let text = sample("s3-CreateBucket.json")
        .to_string()
        .replace(OWN, member)
        .replace(
            "assumed-role/DataEngineer/alice",
            "assumed-role/tag-enforcer-member/tag-enforcer",
        )
        .replace("role/DataEngineer", "role/tag-enforcer-member");
    let event: serde_json::Value = serde_json::from_str(&text).unwrap();
    let response = run(handler.handle(&event, Some(OWN))).unwrap();
    assert_eq!(response.outcome, Outcome::Ignored, "{response:?}");
    assert_eq!(response.disposition, Disposition::Done);
    assert_eq!(handler.accounts().0.store.write_calls(), 0);
    // A person's call in the same account is decided.
    let person: serde_json::Value = serde_json::from_str(
        &sample("s3-CreateBucket.json")
            .to_string()
            .replace(OWN, member),
    )
    .unwrap();
    let response = run(handler.handle(&person, Some(OWN))).unwrap();
    assert_ne!(response.outcome, Outcome::Ignored, "{response:?}");
}

/// A store that fails every read or every write with the given error.
#[derive(Debug)]
struct FailingStore {
    read: Option<StoreError>,
    write: Option<StoreError>,
    reads: AtomicUsize,
}

impl FailingStore {
    fn reads(error: StoreError) -> Self {
        Self {
            read: Some(error),
            write: None,
            reads: AtomicUsize::new(0),
        }
    }

    fn writes(error: StoreError) -> Self {
        Self {
            read: None,
            write: Some(error),
            reads: AtomicUsize::new(0),
        }
    }
}

impl TagStore for FailingStore {
    async fn get_tags(&self, _arns: &[String]) -> Result<BTreeMap<String, Tags>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        match &self.read {
            Some(error) => Err(error.clone()),
            None => Ok(BTreeMap::new()),
        }
    }

    async fn put_tags(&self, arns: &[String], _tags: &Tags) -> WriteFailures {
        match &self.write {
            Some(error) => arns.iter().map(|a| (a.clone(), error.clone())).collect(),
            None => WriteFailures::new(),
        }
    }

    async fn remove_tags(&self, _arns: &[String], _keys: &[String]) -> WriteFailures {
        WriteFailures::new()
    }
}

fn throttled() -> StoreError {
    StoreError {
        operation: "GetResources".to_owned(),
        message: "Rate exceeded".to_owned(),
        retryable: true,
        code: Some("ThrottlingException".to_owned()),
    }
}

fn denied() -> StoreError {
    StoreError::permanent("TagResources", "not authorized").with_code("AccessDeniedException")
}

#[test]
fn a_retryable_read_failure_returns_an_error_so_lambda_retries() {
    let handler = handler(
        "enforce",
        FailingStore::reads(throttled()),
        InMemoryQuarantine::new(),
    );
    let error = run(handler.handle(&sample("s3-CreateBucket.json"), Some(OWN))).unwrap_err();
    assert_eq!(error.0.len(), 1);
    assert_eq!(
        error.0[0].error.code.as_deref(),
        Some("ThrottlingException")
    );
    assert!(error.to_string().contains("retried"), "{error}");
    assert!(handler.notify().messages().is_empty());
}

#[test]
fn a_retryable_write_failure_returns_an_error() {
    let mut error = throttled();
    error.operation = "TagResources".to_owned();
    let handler = handler(
        "enforce",
        FailingStore::writes(error),
        InMemoryQuarantine::new(),
    );
    let error = run(handler.handle(&sample("s3-CreateBucket.json"), Some(OWN))).unwrap_err();
    assert_eq!(error.0[0].arn.as_deref(), Some(BUCKET));
}

#[test]
fn a_permanent_failure_is_logged_and_answered() {
    let denying = handler(
        "enforce",
        FailingStore::writes(denied()),
        InMemoryQuarantine::new(),
    );
    let response = run(denying.handle(&sample("s3-CreateBucket.json"), Some(OWN))).unwrap();
    assert_eq!(response.disposition, Disposition::Permanent);
    assert_eq!(response.failures.len(), 1, "{response:?}");
    assert_eq!(response.failures[0].arn.as_deref(), Some(BUCKET));
    assert!(!response.failures[0].error.retryable);
    assert!(!response.written);
    // The owner still hears about it.
    assert_eq!(denying.notify().messages().len(), 1);

    let handler = handler(
        "enforce",
        FailingStore::reads(denied()),
        InMemoryQuarantine::new(),
    );
    let response = run(handler.handle(&sample("s3-CreateBucket.json"), Some(OWN))).unwrap();
    assert_eq!(response.outcome, Outcome::Error);
    assert_eq!(response.disposition, Disposition::Permanent);
}

/// Accounts that only serve the own account, and count the member accounts asked for.
#[derive(Debug, Default)]
struct OwnOnly {
    own: MemoryAccounts,
    asked: std::sync::Mutex<Vec<String>>,
    member_error: Option<StoreError>,
}

impl Default for MemoryAccounts {
    fn default() -> Self {
        SingleAccount::new(InMemoryTagStore::new(), InMemoryQuarantine::new())
    }
}

impl Accounts for OwnOnly {
    type Store = InMemoryTagStore;
    type Quarantine = InMemoryQuarantine;
    type Settings = crate::act::NoSettings;

    async fn backends(
        &self,
        account: Option<&str>,
    ) -> Result<Arc<Backends<InMemoryTagStore, InMemoryQuarantine>>, StoreError> {
        match account {
            None => Ok(self.own.0.clone()),
            Some(account) => {
                self.asked.lock().unwrap().push(account.to_owned());
                Err(self
                    .member_error
                    .clone()
                    .unwrap_or_else(|| StoreError::permanent("AssumeRole", "no member role")))
            }
        }
    }
}

#[test]
fn an_event_from_another_account_asks_for_that_accounts_backends() {
    let config = config(&[("ENFORCER_MODE", "enforce")]);
    let handler = Handler::new(
        config.clone(),
        prepare(&config).unwrap(),
        OwnOnly::default(),
        InMemoryNotify::new(),
    );
    let event = sample("s3-CreateBucket.json");
    // Own account: no member backends asked for.
    run(handler.handle(&event, Some(OWN))).unwrap();
    assert!(handler.accounts().asked.lock().unwrap().is_empty());
    // From the central account's view, 111122223333 is a member.
    let response = run(handler.handle(&event, Some("999988887777"))).unwrap();
    assert_eq!(*handler.accounts().asked.lock().unwrap(), [OWN]);
    assert_eq!(response.outcome, Outcome::Error);
    assert_eq!(response.disposition, Disposition::Permanent);
    assert!(response.reason.unwrap().contains("no member role"));

    // A throttled AssumeRole is retried.
    let handler = Handler::new(
        config.clone(),
        prepare(&config).unwrap(),
        OwnOnly {
            member_error: Some(throttled()),
            ..OwnOnly::default()
        },
        InMemoryNotify::new(),
    );
    assert!(run(handler.handle(&event, Some("999988887777"))).is_err());
}

#[test]
fn a_policy_that_does_not_validate_fails_init_with_the_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "[[rule]]\nname = \"x\"\nselect = { type = \"s3:bukket\" }\n",
    )
    .unwrap();
    let config = Config::from_env(|key| {
        (key == "ENFORCER_POLICY_DIR").then(|| dir.path().display().to_string())
    })
    .unwrap();
    let error = prepare(&config).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, InitError::Policies { .. }), "{text}");
    assert!(text.contains("broken.toml:"), "{text}");
    assert!(text.contains("do not validate"), "{text}");
}

#[test]
fn the_response_is_one_json_object() {
    let handler = memory("enforce");
    let response = run(handler.handle(&sample("s3-CreateBucket.json"), Some(OWN))).unwrap();
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["outcome"], name(&response.outcome));
    assert_eq!(json["disposition"], "done");
    assert_eq!(json["actions"][0]["arn"], BUCKET);
    assert!(json["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(response.actions[0].action, Action::Alert);
}

/// A `Macie Finding` event goes through the same handler as a CloudTrail call: the bucket's tags
/// are read, a class below what the finding warrants is alerted (never changed, never
/// quarantined), and a later lowering of the class is caught from the state's memory of it.
#[test]
fn a_macie_finding_reads_the_bucket_and_alerts_a_class_below_its_evidence() {
    let refined = "arn:aws:s3:::ecometricx-prod-s3-refined-eu-west-1";
    let person: crate::Tags = [
        ("DataClassification", "Confidential"),
        ("SourceSystems", "S3-Curated-Layer"),
        ("TargetSystems", "Analytics,Dashboard,ML"),
        ("ProcessOwner", "AnalyticsTeam"),
        ("DataDomain", "Dashboards"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let store =
        InMemoryTagStore::with_inventory(BTreeMap::from([(refined.to_owned(), person.clone())]));
    let handler = handler("enforce", store, InMemoryQuarantine::new());
    let finding = sample("macie-SensitiveData-S3Object-Credentials.json");
    let response = run(handler.handle(&finding, Some(OWN))).unwrap();
    assert_eq!(response.arns, [refined]);
    assert_eq!(response.disposition, Disposition::Done);
    assert!(
        !response.written,
        "a person's class is never changed: {response:?}"
    );
    assert!(response.alerted, "{response:?}");
    assert_eq!(handler.accounts().0.store.snapshot()[refined], person);
    let messages = handler.notify().messages();
    assert_eq!(messages.len(), 1);
    let body = &messages[0].body;
    for named in [
        "5f8c2a0e9d1b4c7a8e3f000000000003",
        "SensitiveData:S3Object/Credentials",
        "CREDENTIALS",
        "Restricted",
    ] {
        assert!(body.contains(named), "{named}: {body}");
    }
    // The same finding again: the same problem, nothing more sent.
    run(handler.handle(&finding, Some(OWN))).unwrap();
    assert_eq!(handler.notify().messages().len(), 1);
    // A person lowers the class: below the remembered finding and below the layer's lineage.
    let mut lowered = person.clone();
    lowered.insert("DataClassification".to_owned(), "Internal".to_owned());
    let tag_change = serde_json::json!({
        "version": "0", "id": "tag-change-1", "detail-type": "Tag Change on Resource",
        "source": "aws.tag", "account": OWN, "time": "2026-11-03T10:00:00Z",
        "region": "eu-west-1", "resources": [refined],
        "detail": {"changed-tag-keys": ["DataClassification"], "service": "s3",
                   "resource-type": "bucket", "version": 7, "tags": lowered}
    });
    let response = run(handler.handle(&tag_change, Some(OWN))).unwrap();
    assert!(response.alerted, "{response:?}");
    assert!(!response.written, "{response:?}");
    let messages = handler.notify().messages();
    assert_eq!(messages.len(), 2);
    let body = &messages[1].body;
    for named in [
        "5f8c2a0e9d1b4c7a8e3f000000000003",
        "Restricted",
        "refined-layer",
        "lineage",
    ] {
        assert!(body.contains(named), "{named}: {body}");
    }
}

/// Through the intake queue, as deployed: an SQS batch whose bodies are a Macie finding and a
/// CloudTrail call is decided event by event, nothing retried, the finding's alert sent.
#[test]
fn a_macie_finding_in_an_intake_batch_is_decided_like_the_calls_beside_it() {
    let handler = memory("audit");
    let record = |id: &str, event: serde_json::Value| {
        serde_json::json!({
            "messageId": id,
            "receiptHandle": format!("handle-{id}"),
            "body": event.to_string(),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-1:111122223333:intake",
            "awsRegion": "eu-west-1",
        })
    };
    let batch = serde_json::json!({"Records": [
        record("m-1", sample("macie-SensitiveData-S3Object-Multiple.json")),
        record("m-2", sample("s3-CreateBucket.json")),
    ]});
    let answer = run(handler.handle_invocation(&batch, Some(OWN))).unwrap();
    assert_eq!(
        answer["batchItemFailures"],
        serde_json::json!([]),
        "{answer}"
    );
    let bodies: Vec<String> = handler
        .notify()
        .messages()
        .into_iter()
        .map(|message| message.body)
        .collect();
    assert!(
        bodies
            .iter()
            .any(|body| body.contains("5f8c2a0e9d1b4c7a8e3f000000000005")
                && body.contains("Restricted")),
        "{bodies:?}"
    );
}
