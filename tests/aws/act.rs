//! The enforcer against the local AWS stand-in (moto's server on 127.0.0.1): for each resource
//! type, create it untagged or mis-tagged, run the enforcer on the matching event, and check the
//! account holds exactly the expected tags, the quarantine is applied and released, the alert
//! arrives on an SQS queue subscribed to the topic, a second delivery changes nothing, and
//! failures (a `FailedResourcesMap` entry, throttling) are reported, not lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::events;
use crate::support::moto;

use std::collections::BTreeMap;
use std::time::Duration;

use enforcer::act::aws::{
    AwsQuarantine, AwsTagStore, QuarantineConfig, SnsNotify, DENY_STATEMENT_SID,
    ISOLATION_GROUP_NAME, MAX_ATTEMPTS,
};
use enforcer::act::{
    apply, read_and_decide, release, ActReport, ActSettings, QuarantineStatus, ReadRetry,
    StoreError, TagStore, QUARANTINE_KEY, QUARANTINE_STATE_KEY,
};
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::engine::{Decision, Outcome};
use enforcer::event::{decode_text, ResolveOptions, Resolver};
use enforcer::policy::PolicySet;
use enforcer::state::{ConfiguredStateStore, StateStore};
use enforcer::Tags;
use events::{api_call, enforcer_identity, enforcer_role, person, tag_change};
use moto::{moto, Fault, TestAccount, REGION};
use serde_json::{json, Value};

const POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/aws/policy.toml"
);

fn policies() -> PolicySet {
    enforcer::policy::load(&[POLICY.into()], KNOWN_RESOURCE_TYPES)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .set
}

/// Where the deployment puts the enforcer-owned deny policy an IAM role quarantine attaches
/// (infra/template.yaml's `EnforcerQuarantineDenyPolicy`, path `/tag-enforcer/`).
pub(crate) fn deny_policy_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:policy/tag-enforcer/tag-enforcer-member-quarantine-deny")
}

/// Creates the deny policy as the templates do: deny everything.
pub(crate) async fn create_deny_policy(aws: &TestAccount) -> String {
    let document = json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "EnforcerQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}],
    });
    aws.clients
        .iam
        .create_policy()
        .path("/tag-enforcer/")
        .policy_name("tag-enforcer-member-quarantine-deny")
        .policy_document(document.to_string())
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

/// One test's enforcer: its own moto account, the AWS backends over it, and an alert queue.
pub(crate) struct Setup {
    pub(crate) aws: TestAccount,
    resolver: Resolver,
    policies: PolicySet,
    pub(crate) store: AwsTagStore,
    read_retry: ReadRetry,
    pub(crate) quarantine: AwsQuarantine,
    /// How it acts; its state (memory unless a test names a table) holds the alert threads and
    /// the quarantine records (the DynamoDB table itself is tested in `aws::state`).
    settings: ActSettings,
    notify: SnsNotify,
    queue_url: String,
}

async fn setup(name: &str) -> Option<Setup> {
    setup_with(moto()?.account(name).await).await
}

pub(crate) async fn setup_with(aws: TestAccount) -> Option<Setup> {
    let set = policies();
    let resolver = Resolver::new(
        Catalog::builtin().unwrap(),
        ResolveOptions {
            own_principals: vec![enforcer_role(&aws.account)],
        },
    );
    let quarantine = AwsQuarantine::new(
        &aws.clients,
        QuarantineConfig {
            break_glass_principals: set.break_glass_principals.clone(),
            enforcer_principals: vec![enforcer_role(&aws.account)],
            deny_policy_arn: Some(deny_policy_arn(&aws.account)),
        },
    );
    let settings = ActSettings::new(&set, true);
    let store = AwsTagStore::new(&aws.clients);
    let read_retry = ReadRetry {
        retries: 2,
        first_delay: Duration::from_millis(20),
    };
    let (topic, queue_url) = alert_queue(&aws, "alerts", None).await;
    let notify = SnsNotify::new(aws.clients.sns.clone(), topic);
    aws.harness.clear_calls();
    Some(Setup {
        aws,
        resolver,
        policies: set,
        store,
        read_retry,
        quarantine,
        settings,
        notify,
        queue_url,
    })
}

impl Setup {
    /// The enforcer's state table: the alert threads and the quarantine records.
    pub(crate) fn records(&self) -> &ConfiguredStateStore {
        &self.settings.state
    }

    pub(crate) fn account(&self) -> &str {
        &self.aws.account
    }

    async fn decide(&self, event: &str) -> Decision {
        let (location, input) = decode_text("event", event).remove(0).unwrap();
        let resolution = self.resolver.resolve(&input);
        let (policies, mode) = (&self.policies, self.policies.mode);
        let store = &self.store;
        read_and_decide(
            store,
            &self.read_retry,
            resolution,
            policies,
            mode,
            Some(&location),
        )
        .await
        .0
    }

    pub(crate) async fn run(&self, event: &str) -> (Decision, ActReport) {
        let decision = self.decide(event).await;
        let report = apply(
            &decision,
            &self.settings,
            &self.store,
            &self.quarantine,
            &self.notify,
        )
        .await;
        (decision, report)
    }

    pub(crate) async fn tags(&self, arn: &str) -> Tags {
        self.store
            .get_tags(&[arn.to_owned()])
            .await
            .unwrap()
            .remove(arn)
            .unwrap_or_default()
    }

    /// Every alert on the test's queue, as (attributes, body).
    async fn alerts(&self) -> Vec<(BTreeMap<String, String>, Value)> {
        received(&self.aws, &self.queue_url).await
    }

    fn calls(&self) -> Vec<String> {
        self.aws.harness.calls()
    }
}

/// An SNS topic with an SQS queue subscribed (optionally through a filter policy).
async fn alert_queue(aws: &TestAccount, name: &str, filter: Option<Value>) -> (String, String) {
    let topic = aws
        .clients
        .sns
        .create_topic()
        .name("enforcer-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let queue_url = aws
        .clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue_arn = format!("arn:aws:sqs:{REGION}:{}:{name}", aws.account);
    let mut subscribe = aws
        .clients
        .sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn);
    if let Some(filter) = filter {
        subscribe = subscribe.attributes("FilterPolicy", filter.to_string());
    }
    subscribe.send().await.unwrap();
    (topic, queue_url)
}

async fn received(aws: &TestAccount, queue_url: &str) -> Vec<(BTreeMap<String, String>, Value)> {
    let output = aws
        .clients
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    output
        .messages()
        .iter()
        .map(|message| {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let attributes = envelope["MessageAttributes"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let body: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            (attributes, body)
        })
        .collect()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The attributes subscriptions filter on, of those an alert carries.
fn attributes(all: &BTreeMap<String, String>) -> (&str, &str, &str, &str) {
    let get = |key: &str| all.get(key).map(String::as_str).unwrap_or_default();
    (get("owner"), get("severity"), get("action"), get("account"))
}

/// The notification's visible text.
fn description(body: &Value) -> &str {
    body["content"]["description"].as_str().unwrap()
}

fn without_record(mut tags: Tags) -> Tags {
    tags.retain(|k, _| !k.starts_with("enforcer:"));
    tags
}

pub(crate) fn operations(calls: &[String]) -> Vec<&str> {
    calls
        .iter()
        .map(|c| c.rsplit('.').next().unwrap_or_default())
        .collect()
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
}

#[tokio::test]
async fn s3_bucket_gets_exactly_the_inferable_tags_and_a_second_delivery_changes_nothing() {
    let Some(t) = setup("s3_remediate").await else {
        return;
    };
    let bucket = "acme-prod-s3-curated-eu-west-1";
    let person_tags = [("DataClassification", "confidential"), ("CostCenter", "42")];
    let arn = t.aws.create_bucket(bucket, &person_tags).await;
    let event = put_bucket_tagging_event(t.account(), bucket, &person_tags);
    t.aws.harness.clear_calls();

    let (decision, report) = t.run(&event).await;
    assert_eq!(decision.outcome, Outcome::Remediate, "{decision:#?}");
    assert!(
        report.written && report.failures().is_empty(),
        "{report:#?}"
    );
    // One remediation: read, re-read just before the write, write, publish.
    assert_eq!(
        operations(&t.calls()),
        ["GetResources", "GetResources", "TagResources", "Publish"],
        "{:?}",
        t.calls()
    );
    assert_eq!(
        t.tags(&arn).await,
        tags(&[
            ("CostCenter", "42"),
            // The one change to a person's tag the policy allows: a case fix.
            ("DataClassification", "Confidential"),
            ("ProcessOwner", "DataEngineering"),
            ("SourceSystems", "S3-Raw-Layer"),
            ("TargetSystems", "S3-Refined,Redshift"),
        ])
    );
    let alerts = t.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        attributes(&alerts[0].0),
        ("DataEngineering", "info", "remediate", t.account())
    );
    assert_eq!(alerts[0].1["metadata"]["relatedResources"][0], arn.as_str());
    assert!(description(&alerts[0].1).contains("#data-engineering"));

    // The same event delivered again: one read, nothing written, nobody alerted. (The record
    // still carries the person's old tag set, so the decision replans; what the read shows is
    // already in place.)
    t.aws.harness.clear_calls();
    let (_, report) = t.run(&event).await;
    assert!(
        report.resources.is_empty() && report.alerts.is_empty(),
        "{report:#?}"
    );
    assert_eq!(operations(&t.calls()), ["GetResources"]);
    assert!(t.alerts().await.is_empty());
}

#[tokio::test]
async fn s3_bucket_quarantine_keeps_existing_policy_statements_and_is_released() {
    let Some(t) = setup("s3_quarantine").await else {
        return;
    };
    let bucket = "unlabelled-uploads";
    let arn = t.aws.create_bucket(bucket, &[("Team", "growth")]).await;
    let theirs = json!({
        "Sid": "TheirsReadOnly",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:role/Reader", t.account())},
        "Action": "s3:GetObject",
        "Resource": format!("{arn}/*"),
    });
    t.aws
        .clients
        .s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(json!({"Version": "2012-10-17", "Statement": [theirs]}).to_string())
        .send()
        .await
        .unwrap();
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": bucket, "Host": "s3.amazonaws.com"}),
        Value::Null,
    );
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    // Read, read what to restore (the record goes to the state table), write the label tags,
    // isolate, read back to verify, publish.
    assert_eq!(
        operations(&t.calls()),
        [
            "GetResources",
            "GetPublicAccessBlock",
            "GetBucketPolicy",
            // The re-read just before the write.
            "GetResources",
            "TagResources",
            "PutPublicAccessBlock",
            "GetBucketPolicy",
            "PutBucketPolicy",
            "GetPublicAccessBlock",
            "GetBucketPolicy",
            "Publish"
        ]
    );
    assert_eq!(decision.outcome, Outcome::Quarantine, "{decision:#?}");
    let quarantine = report.resources[0].quarantine.as_ref().unwrap();
    assert_eq!(quarantine.status, QuarantineStatus::Applied, "{report:#?}");

    let s3 = &t.aws.clients.s3;
    let pab = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        [
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
    let policy: Value = serde_json::from_str(
        s3.get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[0], theirs,
        "the owner's statement is kept as it was"
    );
    assert_eq!(statements[1]["Sid"], DENY_STATEMENT_SID);
    assert_eq!(
        statements[1]["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        json!([
            "arn:aws:iam::111122223333:role/BreakGlass",
            enforcer_role(t.account())
        ])
    );
    let current = t.tags(&arn).await;
    assert_eq!(current["Team"], "growth");
    assert_eq!(current[QUARANTINE_STATE_KEY], "type=s3:bucket+pab=none");
    assert!(current[QUARANTINE_KEY].contains("public access block"));
    let alerts = t.alerts().await;
    assert_eq!(alerts.len(), 1);
    // Nobody owns the resource yet: the alert goes to the person who made the call.
    assert_eq!(
        attributes(&alerts[0].0),
        (
            format!(
                "arn:aws:sts::{}:assumed-role/Developer/alice@example.com",
                t.account()
            )
            .as_str(),
            "critical",
            "quarantine",
            t.account()
        )
    );
    assert!(description(&alerts[0].1).contains("enforcer release"));

    // A second delivery checks the bucket itself, finds it isolated, and changes nothing; the
    // problem was alerted already.
    t.aws.harness.clear_calls();
    let (_, again) = t.run(&event).await;
    assert_eq!(
        again.resources[0].quarantine.as_ref().unwrap().status,
        QuarantineStatus::AlreadyInPlace
    );
    assert_eq!(
        operations(&t.calls()),
        ["GetResources", "GetPublicAccessBlock", "GetBucketPolicy"]
    );
    assert!(again.alerts.is_empty(), "{again:#?}");

    // Release restores what was recorded.
    let released = release(&arn, true, &t.store, &t.quarantine, t.records()).await;
    assert!(released.released, "{released:#?}");
    let policy: Value = serde_json::from_str(
        s3.get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(policy["Statement"], json!([theirs]));
    let no_pab = s3.get_public_access_block().bucket(bucket).send().await;
    assert!(no_pab.is_err(), "there was no public access block before");
    assert_eq!(t.tags(&arn).await, tags(&[("Team", "growth")]));
}

/// Tags are labels anyone with tagging rights can write: a bucket carrying a forged quarantine
/// record is quarantined all the same, and `release` restores what the enforcer recorded in its
/// state table, not what the forged tag says.
#[tokio::test]
async fn a_forged_quarantine_tag_neither_bypasses_nor_steers_the_quarantine() {
    let Some(t) = setup("s3_forged_record").await else {
        return;
    };
    let bucket = "forged-record";
    let arn = t
        .aws
        .create_bucket(
            bucket,
            &[
                ("Team", "growth"),
                ("enforcer:quarantine", "isolated"),
                ("enforcer:quarantine-state", "type=s3:bucket+pab=1010"),
            ],
        )
        .await;
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": bucket, "Host": "s3.amazonaws.com"}),
        Value::Null,
    );
    let (_, report) = t.run(&event).await;
    let quarantine = report.resources[0].quarantine.as_ref().unwrap();
    assert_eq!(quarantine.status, QuarantineStatus::Applied, "{report:#?}");
    let s3 = &t.aws.clients.s3;
    let policy: Value = serde_json::from_str(
        s3.get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(policy["Statement"][0]["Sid"], "EnforcerQuarantine");
    assert_eq!(policy["Statement"][0]["Effect"], "Deny");
    // moto does not evaluate bucket policies: the statement as stored must spare AWS service
    // principals (log delivery goes on) and the break-glass role.
    let condition = &policy["Statement"][0]["Condition"];
    assert_eq!(condition["Bool"]["aws:PrincipalIsAWSService"], "false");
    assert!(condition["ArnNotLike"]["aws:PrincipalArn"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_str().unwrap().ends_with(":role/BreakGlass")));
    let pab = s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(pab.block_public_acls(), Some(true));
    assert_eq!(pab.restrict_public_buckets(), Some(true));

    // The bucket had no public access block: that is what the state table holds and what
    // release restores, whatever the forged tag said (`pab=1010`).
    let released = release(&arn, true, &t.store, &t.quarantine, t.records()).await;
    assert!(released.released, "{released:#?}");
    assert_eq!(released.record.unwrap().state["pab"], "none");
    assert!(s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .is_err());
    assert!(s3.get_bucket_policy().bucket(bucket).send().await.is_err());
}

/// Removing a classified bucket's tags is a person's change to look at, never a reason to lock
/// the bucket: it alerts, and the bucket stays as it was.
#[tokio::test]
async fn deleting_a_classified_buckets_tags_alerts_and_does_not_quarantine() {
    let Some(t) = setup("s3_untagged_classified").await else {
        return;
    };
    let bucket = "classified-then-untagged";
    t.aws.create_bucket(bucket, &[]).await;
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "DeleteBucketTagging",
        json!({"bucketName": bucket, "tagging": ""}),
        Value::Null,
    );
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    assert_eq!(decision.outcome, Outcome::Alert, "{decision:#?}");
    assert!(
        report.resources.iter().all(|r| r.quarantine.is_none()),
        "{report:#?}"
    );
    let calls = t.calls();
    let calls = operations(&calls);
    for isolating in ["PutPublicAccessBlock", "PutBucketPolicy"] {
        assert!(!calls.contains(&isolating), "{calls:?}");
    }
    assert!(t
        .aws
        .clients
        .s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .is_err());
    let alerts = t.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
}

/// An isolation that fails half-way, and whose rollback fails too, leaves an open, unverified
/// record: the next delivery finds the bucket not isolated and completes the isolation from the
/// prior state captured the first time, instead of reporting it already in place.
#[tokio::test]
async fn a_half_done_isolation_is_completed_by_the_next_delivery() {
    let Some(t) = setup("s3_half_done").await else {
        return;
    };
    let bucket = "half-done";
    let arn = t.aws.create_bucket(bucket, &[("Team", "growth")]).await;
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": bucket, "Host": "s3.amazonaws.com"}),
        Value::Null,
    );
    // The public access block goes on, the policy write fails, and so does the rollback's
    // removal of the public access block. (S3 answers XML, so the injected JSON fault is an
    // error the SDK does not retry: one fault per call.)
    t.aws.harness.inject("PutBucketPolicy", 1, Fault::Throttle);
    t.aws
        .harness
        .inject("DeletePublicAccessBlock", 1, Fault::Throttle);
    let (_, first) = t.run(&event).await;
    let first = first.resources[0].quarantine.as_ref().unwrap();
    assert_eq!(first.status, QuarantineStatus::Failed, "{first:#?}");
    let s3 = &t.aws.clients.s3;
    assert!(s3.get_bucket_policy().bucket(bucket).send().await.is_err());
    let open = t.records().load(&arn).await.unwrap().quarantine.unwrap();
    assert!(!open.verified && open.released_at.is_none(), "{open:#?}");

    let (_, second_report) = t.run(&event).await;
    let second = second_report.resources[0].quarantine.as_ref().unwrap();
    assert_eq!(
        second.status,
        QuarantineStatus::Applied,
        "{second_report:#?} {:?}",
        t.calls()
    );
    assert!(s3.get_bucket_policy().bucket(bucket).send().await.is_ok());
    assert!(
        t.records()
            .load(&arn)
            .await
            .unwrap()
            .quarantine
            .unwrap()
            .verified
    );
    // The prior state is the one captured before anything changed: no public access block
    // (not the all-on block the half-done run left).
    let released = release(&arn, true, &t.store, &t.quarantine, t.records()).await;
    assert!(released.released, "{released:#?}");
    assert!(s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .is_err());
}

/// A person's statement named like the enforcer's is not the enforcer's isolation.
#[tokio::test]
async fn a_look_alike_deny_statement_does_not_count_as_isolated() {
    let Some(t) = setup("s3_look_alike").await else {
        return;
    };
    let bucket = "look-alike";
    t.aws.create_bucket(bucket, &[("Team", "growth")]).await;
    let s3 = &t.aws.clients.s3;
    let harmless = json!({
        "Sid": "EnforcerQuarantine",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteBucket",
        "Resource": format!("arn:aws:s3:::{bucket}"),
    });
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(json!({"Version": "2012-10-17", "Statement": [harmless]}).to_string())
        .send()
        .await
        .unwrap();
    let all_on = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(all_on)
        .send()
        .await
        .unwrap();
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": bucket, "Host": "s3.amazonaws.com"}),
        Value::Null,
    );
    let (_, report) = t.run(&event).await;
    let quarantine = report.resources[0].quarantine.as_ref().unwrap();
    assert_eq!(quarantine.status, QuarantineStatus::Applied, "{report:#?}");
    let policy: Value = serde_json::from_str(
        s3.get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(policy["Statement"][0]["Action"], "s3:*");
}

pub(crate) async fn vpc_with_instance(aws: &TestAccount) -> (String, String, Vec<String>) {
    let ec2 = &aws.clients.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned();
    let mut groups = Vec::new();
    for name in ["web", "ssh"] {
        groups.push(
            ec2.create_security_group()
                .group_name(name)
                .description(name)
                .vpc_id(&vpc)
                .send()
                .await
                .unwrap()
                .group_id()
                .unwrap()
                .to_owned(),
        );
    }
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .subnet_id(subnet)
        .set_security_group_ids(Some(groups.clone()))
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_owned();
    (vpc, instance, groups)
}

pub(crate) async fn instance_groups(aws: &TestAccount, instance: &str) -> Vec<String> {
    let output = aws
        .clients
        .ec2
        .describe_instances()
        .instance_ids(instance)
        .send()
        .await
        .unwrap();
    let mut groups: Vec<String> = output.reservations()[0].instances()[0]
        .security_groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_owned())
        .collect();
    groups.sort();
    groups
}

#[tokio::test]
async fn ec2_instance_is_isolated_by_security_group_and_released() {
    let Some(t) = setup("ec2_quarantine").await else {
        return;
    };
    let (vpc, instance, mut groups) = vpc_with_instance(&t.aws).await;
    groups.sort();
    let arn = format!("arn:aws:ec2:{REGION}:{}:instance/{instance}", t.account());
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "ec2.amazonaws.com",
        "RunInstances",
        json!({"instancesSet": {"items": [{"imageId": "ami-12c6146b", "minCount": 1, "maxCount": 1}]}}),
        json!({"instancesSet": {"items": [{"instanceId": instance}]}}),
    );
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    // Read, read what to restore (the record goes to the state table), write the label tags,
    // isolate, read back to verify, publish.
    assert_eq!(
        operations(&t.calls()),
        [
            "GetResources",
            "DescribeInstances",
            "DescribeSecurityGroups",
            // The re-read just before the write.
            "GetResources",
            "TagResources",
            "DescribeSecurityGroups",
            "CreateSecurityGroup",
            "RevokeSecurityGroupEgress",
            "ModifyInstanceAttribute",
            "DescribeInstances",
            "DescribeSecurityGroups",
            "Publish"
        ]
    );
    assert_eq!(decision.outcome, Outcome::Quarantine, "{decision:#?}");
    assert_eq!(
        report.resources[0].quarantine.as_ref().unwrap().status,
        QuarantineStatus::Applied,
        "{report:#?}"
    );
    let isolated = instance_groups(&t.aws, &instance).await;
    assert_eq!(isolated.len(), 1);
    let isolation = t
        .aws
        .clients
        .ec2
        .describe_security_groups()
        .group_ids(&isolated[0])
        .send()
        .await
        .unwrap();
    let isolation = &isolation.security_groups()[0];
    assert_eq!(isolation.group_name(), Some(ISOLATION_GROUP_NAME));
    assert_eq!(isolation.vpc_id(), Some(vpc.as_str()));
    assert!(isolation.ip_permissions().is_empty() && isolation.ip_permissions_egress().is_empty());
    let record = t.tags(&arn).await;
    assert!(
        record[QUARANTINE_STATE_KEY].contains(&format!("groups={}", groups.join("/")))
            || record[QUARANTINE_STATE_KEY]
                .contains(&format!("groups={}/{}", groups[1], groups[0])),
        "{record:?}"
    );
    let alerts = t.alerts().await;
    // Nobody owns the resource yet: the alert goes to the person who made the call.
    assert_eq!(
        attributes(&alerts[0].0),
        (
            format!(
                "arn:aws:sts::{}:assumed-role/Developer/alice@example.com",
                t.account()
            )
            .as_str(),
            "critical",
            "quarantine",
            t.account()
        )
    );
    assert!(description(&alerts[0].1).contains("enforcer release"));

    // A second delivery: the record says it is done; the instance keeps the isolation group.
    let (_, again) = t.run(&event).await;
    assert_eq!(
        again.resources[0].quarantine.as_ref().unwrap().status,
        QuarantineStatus::AlreadyInPlace
    );
    assert_eq!(instance_groups(&t.aws, &instance).await, isolated);

    let released = release(&arn, true, &t.store, &t.quarantine, t.records()).await;
    assert!(released.released, "{released:#?}");
    assert_eq!(instance_groups(&t.aws, &instance).await, groups);
    assert!(without_record(t.tags(&arn).await) == t.tags(&arn).await);
}

pub(crate) async fn create_db(
    aws: &TestAccount,
    id: &str,
    public: bool,
    pairs: &[(&str, &str)],
) -> String {
    let tags = pairs
        .iter()
        .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(*k).value(*v).build())
        .collect();
    aws.clients
        .rds
        .create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.t3.micro")
        .engine("mysql")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("password123")
        .publicly_accessible(public)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap()
        .db_instance()
        .unwrap()
        .db_instance_arn()
        .unwrap()
        .to_owned()
}

pub(crate) fn create_db_event(
    account: &str,
    id: &str,
    arn: &str,
    pairs: &[(&str, &str)],
) -> String {
    let tags: Vec<Value> = pairs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    api_call(
        account,
        REGION,
        person(account),
        "rds.amazonaws.com",
        "CreateDBInstance",
        json!({"dBInstanceIdentifier": id, "engine": "mysql", "tags": tags}),
        json!({"dBInstanceArn": arn, "dBInstanceIdentifier": id}),
    )
}

#[tokio::test]
async fn rds_instance_gets_the_default_owner_and_nothing_a_person_set_changes() {
    let Some(t) = setup("rds_remediate").await else {
        return;
    };
    let person_tags = [
        ("DataClassification", "Restricted"),
        ("SourceSystems", "CustomerPortal"),
        ("Backup", "daily"),
    ];
    let arn = create_db(&t.aws, "orders", false, &person_tags).await;
    let event = create_db_event(t.account(), "orders", &arn, &person_tags);
    let (decision, report) = t.run(&event).await;
    assert_eq!(decision.outcome, Outcome::Remediate, "{decision:#?}");
    assert!(report.failures().is_empty(), "{report:#?}");
    let mut expected = tags(&person_tags);
    expected.insert("ProcessOwner".to_owned(), "DataEngineering".to_owned());
    assert_eq!(t.tags(&arn).await, expected);
    let (decision, _) = t.run(&event).await;
    assert_eq!(decision.outcome, Outcome::Compliant);
    assert_eq!(t.tags(&arn).await, expected);
}

#[tokio::test]
async fn rds_instance_quarantine_makes_it_private_and_release_restores_it() {
    let Some(t) = setup("rds_quarantine").await else {
        return;
    };
    let arn = create_db(&t.aws, "exposed", true, &[]).await;
    let event = create_db_event(t.account(), "exposed", &arn, &[]);
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    // Read, read what to restore (the record goes to the state table), write the label tags,
    // isolate, read back to verify, publish.
    assert_eq!(
        operations(&t.calls()),
        [
            "GetResources",
            "DescribeDBInstances",
            // The re-read just before the write.
            "GetResources",
            "TagResources",
            "ModifyDBInstance",
            "DescribeDBInstances",
            "Publish"
        ]
    );
    assert_eq!(decision.outcome, Outcome::Quarantine, "{decision:#?}");
    assert_eq!(
        report.resources[0].quarantine.as_ref().unwrap().status,
        QuarantineStatus::Applied,
        "{report:#?}"
    );
    let public = |t: &Setup| {
        let rds = t.aws.clients.rds.clone();
        async move {
            rds.describe_db_instances()
                .db_instance_identifier("exposed")
                .send()
                .await
                .unwrap()
                .db_instances()[0]
                .publicly_accessible()
        }
    };
    assert_eq!(public(&t).await, Some(false));
    let current = t.tags(&arn).await;
    // The default owner is added in the same write as the record.
    assert_eq!(current["ProcessOwner"], "DataEngineering");
    assert_eq!(current[QUARANTINE_STATE_KEY], "type=rds:db+public=true");
    let released = release(&arn, true, &t.store, &t.quarantine, t.records()).await;
    assert!(released.released, "{released:#?}");
    assert_eq!(public(&t).await, Some(true));
    assert_eq!(
        t.tags(&arn).await,
        tags(&[("ProcessOwner", "DataEngineering")])
    );
}

/// An empty zip archive: enough for moto to accept a function's code.
pub(crate) const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

pub(crate) async fn create_role(aws: &TestAccount, name: &str) -> String {
    aws.clients
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned()
}

#[tokio::test]
async fn lambda_function_quarantine_sets_concurrency_zero_and_release_restores_it() {
    let Some(t) = setup("lambda_quarantine").await else {
        return;
    };
    let role = create_role(&t.aws, "ingest-role").await;
    let lambda = &t.aws.clients.lambda;
    let arn = lambda
        .create_function()
        .function_name("ingest")
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role)
        .handler("app.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(EMPTY_ZIP.to_vec()))
                .build(),
        )
        .tags("SourceSystems", "ExternalAPI")
        .send()
        .await
        .unwrap()
        .function_arn()
        .unwrap()
        .to_owned();
    lambda
        .put_function_concurrency()
        .function_name("ingest")
        .reserved_concurrent_executions(7)
        .send()
        .await
        .unwrap();
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "lambda.amazonaws.com",
        "CreateFunction20150331",
        json!({"functionName": "ingest", "tags": {"SourceSystems": "ExternalAPI"}}),
        json!({"functionName": "ingest", "functionArn": arn}),
    );
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    // Read, read what to restore (the record goes to the state table), write the label tags,
    // isolate, read back to verify, publish.
    assert_eq!(
        operations(&t.calls()),
        [
            "GetResources",
            "GetFunctionConcurrency",
            // The re-read just before the write.
            "GetResources",
            "TagResources",
            "PutFunctionConcurrency",
            "GetFunctionConcurrency",
            "Publish"
        ]
    );
    assert_eq!(decision.outcome, Outcome::Quarantine, "{decision:#?}");
    assert_eq!(
        report.resources[0].quarantine.as_ref().unwrap().status,
        QuarantineStatus::Applied,
        "{report:#?}"
    );
    let concurrency = |t: &Setup| {
        let lambda = t.aws.clients.lambda.clone();
        async move {
            lambda
                .get_function_concurrency()
                .function_name("ingest")
                .send()
                .await
                .unwrap()
                .reserved_concurrent_executions()
        }
    };
    assert_eq!(concurrency(&t).await, Some(0));
    assert_eq!(
        t.tags(&arn).await[QUARANTINE_STATE_KEY],
        "type=lambda:function+concurrency=7"
    );
    // A second delivery reads concurrency 0 on the function: already isolated, and 0 is never
    // recorded as the state to restore (the record captured first stands).
    let (_, again) = t.run(&event).await;
    let again = again.resources[0].quarantine.as_ref().unwrap();
    assert_eq!(again.status, QuarantineStatus::AlreadyInPlace);
    assert_eq!(again.record.as_ref().unwrap().state["concurrency"], "7");
    let released = release(&arn, true, &t.store, &t.quarantine, t.records()).await;
    assert!(released.released, "{released:#?}");
    assert_eq!(concurrency(&t).await, Some(7));
    assert_eq!(
        t.tags(&arn).await,
        tags(&[("SourceSystems", "ExternalAPI")])
    );
}

#[tokio::test]
async fn iam_role_quarantine_attaches_the_enforcer_owned_deny_policy_tagged_through_iam() {
    let Some(t) = setup("iam_quarantine").await else {
        return;
    };
    let arn = create_role(&t.aws, "contractor").await;
    let policy_arn = create_deny_policy(&t.aws).await;
    assert_eq!(policy_arn, deny_policy_arn(t.account()));
    // The Resource Groups Tagging API does not cover IAM roles: the enforcer reads and writes
    // their tags through IAM itself (ListRoleTags, TagRole, UntagRole). Only a creation (or a
    // scan) quarantines.
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "iam.amazonaws.com",
        "CreateRole",
        json!({"roleName": "contractor"}),
        json!({"role": {"arn": arn}}),
    );
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    // Read, read what to restore (the record goes to the state table), write the label tags,
    // isolate, read back to verify, publish.
    assert_eq!(
        operations(&t.calls()),
        [
            "ListRoleTags",
            "ListAttachedRolePolicies",
            // The re-read just before the write.
            "ListRoleTags",
            "TagRole",
            "AttachRolePolicy",
            "ListAttachedRolePolicies",
            "Publish"
        ]
    );
    assert_eq!(decision.outcome, Outcome::Quarantine, "{decision:#?}");
    assert_eq!(
        report.resources[0].quarantine.as_ref().unwrap().status,
        QuarantineStatus::Applied,
        "{report:#?}"
    );
    let iam = &t.aws.clients.iam;
    let attached = |iam: aws_sdk_iam::Client| async move {
        iam.list_attached_role_policies()
            .role_name("contractor")
            .send()
            .await
            .unwrap()
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(attached(iam.clone()).await, [policy_arn]);
    // No inline policy: the roles may not write one.
    assert!(iam
        .list_role_policies()
        .role_name("contractor")
        .send()
        .await
        .unwrap()
        .policy_names()
        .is_empty());
    assert!(operations(&t.calls()).contains(&"TagRole"));
    assert!(!operations(&t.calls()).contains(&"TagResources"));
    // A second delivery finds it attached on the role itself: nothing attached twice.
    let (_, again) = t.run(&event).await;
    assert_eq!(
        again.resources[0].quarantine.as_ref().unwrap().status,
        QuarantineStatus::AlreadyInPlace
    );
    t.aws.harness.clear_calls();
    let released = release(&arn, true, &t.store, &t.quarantine, t.records()).await;
    assert!(released.released, "{released:#?}");
    // Detached, and read back.
    assert_eq!(
        operations(&t.calls())[..2],
        ["DetachRolePolicy", "ListAttachedRolePolicies"]
    );
    assert!(attached(iam.clone()).await.is_empty());
    assert!(t.tags(&arn).await.is_empty());
}

#[tokio::test]
async fn dynamodb_table_gets_defaults_and_keeps_its_owners_tags() {
    let Some(t) = setup("dynamodb_remediate").await else {
        return;
    };
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let arn = t
        .aws
        .dynamodb
        .create_table()
        .table_name("sessions")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("SourceSystems")
                .value("LoginService")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .table_description()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_owned();
    // The catalog has no DynamoDB call yet; the tag-change event carries the same facts.
    let event = tag_change(
        t.account(),
        REGION,
        &arn,
        &[("SourceSystems", "LoginService")],
    );
    let (decision, report) = t.run(&event).await;
    assert_eq!(decision.outcome, Outcome::Remediate, "{decision:#?}");
    assert!(report.failures().is_empty(), "{report:#?}");
    let expected = tags(&[
        ("DataClassification", "Confidential"),
        ("ProcessOwner", "DataEngineering"),
        ("SourceSystems", "LoginService"),
    ]);
    assert_eq!(t.tags(&arn).await, expected);
    t.aws.harness.clear_calls();
    let (_, report) = t.run(&event).await;
    assert!(
        report.resources.is_empty() && report.alerts.is_empty(),
        "{report:#?}"
    );
    assert_eq!(operations(&t.calls()), ["GetResources"]);
    assert_eq!(t.tags(&arn).await, expected);
}

#[tokio::test]
async fn sns_topic_mis_tagged_gets_a_case_fix_and_its_missing_tags() {
    let Some(t) = setup("sns_remediate").await else {
        return;
    };
    let arn = t
        .aws
        .clients
        .sns
        .create_topic()
        .name("orders-events")
        .tags(
            aws_sdk_sns::types::Tag::builder()
                .key("DataClassification")
                .value("INTERNAL")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let event = tag_change(
        t.account(),
        REGION,
        &arn,
        &[("DataClassification", "INTERNAL")],
    );
    let (decision, report) = t.run(&event).await;
    assert_eq!(decision.outcome, Outcome::Remediate, "{decision:#?}");
    assert_eq!(
        report.resources[0].tags_fixed,
        tags(&[("DataClassification", "Internal")])
    );
    assert_eq!(
        t.tags(&arn).await,
        tags(&[
            ("DataClassification", "Internal"),
            ("ProcessOwner", "DataEngineering"),
            ("SourceSystems", "Internal"),
        ])
    );
}

#[tokio::test]
async fn alerts_carry_attributes_that_subscription_filter_policies_route_on() {
    let Some(t) = setup("alert_routing").await else {
        return;
    };
    let (_, data_engineering) = alert_queue(
        &t.aws,
        "data-engineering",
        Some(json!({"owner": ["DataEngineering"]})),
    )
    .await;
    let (_, critical_only) =
        alert_queue(&t.aws, "critical", Some(json!({"severity": ["critical"]}))).await;
    // A remediation for DataEngineering (info) and a quarantine for the default owner.
    let curated = t
        .aws
        .create_bucket("shop-dev-s3-curated-eu-west-1", &[])
        .await;
    let unlabelled = t.aws.create_bucket("scratch-space", &[]).await;
    for bucket in ["shop-dev-s3-curated-eu-west-1", "scratch-space"] {
        let event = api_call(
            t.account(),
            REGION,
            person(t.account()),
            "s3.amazonaws.com",
            "CreateBucket",
            json!({"bucketName": bucket}),
            Value::Null,
        );
        t.run(&event).await;
    }
    let routed = received(&t.aws, &data_engineering).await;
    assert_eq!(routed.len(), 1);
    assert_eq!(
        routed[0].1["metadata"]["relatedResources"][0],
        curated.as_str()
    );
    let critical = received(&t.aws, &critical_only).await;
    assert_eq!(critical.len(), 1);
    assert_eq!(
        critical[0].1["metadata"]["relatedResources"][0],
        unlabelled.as_str()
    );
    assert_eq!(critical[0].0["action"], "quarantine");
    assert_eq!(t.alerts().await.len(), 2, "the unfiltered queue gets both");
}

#[tokio::test]
async fn the_enforcers_own_calls_are_ignored() {
    let Some(t) = setup("loop_guard").await else {
        return;
    };
    let bucket = "ops-raw-feeds";
    t.aws.create_bucket(bucket, &[]).await;
    t.aws.harness.clear_calls();
    // The record of the enforcer's own TagResources call on the bucket.
    let event = api_call(
        t.account(),
        REGION,
        enforcer_identity(t.account()),
        "s3.amazonaws.com",
        "PutBucketTagging",
        json!({"bucketName": bucket, "Tagging": {"TagSet": {"Tag": []}}}),
        Value::Null,
    );
    let (decision, report) = t.run(&event).await;
    assert_eq!(decision.outcome, Outcome::Ignored);
    let reason = decision.reason.unwrap();
    assert!(reason.contains("loop guard"), "{reason}");
    assert!(reason.contains(&enforcer_role(t.account())), "{reason}");
    assert!(report.resources.is_empty() && report.alerts.is_empty());
    assert!(t.calls().is_empty(), "no AWS call at all: {:?}", t.calls());
}

#[tokio::test]
async fn a_failed_resources_map_entry_is_reported_and_alerted() {
    let Some(t) = setup("failed_resources_map").await else {
        return;
    };
    let arn = t
        .aws
        .create_bucket("billing-prod-s3-curated-eu-west-1", &[])
        .await;
    // Moto tags S3 buckets fine, so the failure is injected: the answer real AWS gives when the
    // caller may not tag the bucket.
    t.aws.harness.inject(
        "TagResources",
        1,
        Fault::Json(
            200,
            json!({"FailedResourcesMap": {arn.clone(): {
                "StatusCode": 403,
                "ErrorCode": "InvalidParameterException",
                "ErrorMessage": "AccessDenied: not authorized to perform s3:PutBucketTagging"
            }}})
            .to_string(),
        ),
    );
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": "billing-prod-s3-curated-eu-west-1"}),
        Value::Null,
    );
    let (_, report) = t.run(&event).await;
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{report:#?}");
    assert_eq!(failures[0].0, Some(arn.as_str()));
    assert_eq!(
        failures[0].1,
        &StoreError {
            operation: "TagResources".to_owned(),
            message: "AccessDenied: not authorized to perform s3:PutBucketTagging".to_owned(),
            retryable: false,
            code: Some("InvalidParameterException".to_owned()),
        }
    );
    assert!(t.tags(&arn).await.is_empty(), "nothing was written");
    let alerts = t.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert!(
        description(&alerts[0].1).contains(
            "*Failed* on `billing-prod-s3-curated-eu-west-1`: TagResources \
             (InvalidParameterException, permanent): AccessDenied"
        ),
        "{}",
        description(&alerts[0].1)
    );
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_and_reported_when_it_persists() {
    // The production retry policy (adaptive) on a simulated clock: on a real one, its backoff and
    // client-side rate limiting make this test take about two minutes.
    let Some(moto) = moto() else { return };
    let Some(t) = setup_with(moto.account_with_simulated_clock("throttling").await).await else {
        return;
    };
    let bucket = "events-dev-s3-curated-eu-west-1";
    let arn = t.aws.create_bucket(bucket, &[]).await;
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": bucket}),
        Value::Null,
    );
    // Two throttled reads, then moto answers: the SDK's retries absorb them.
    t.aws.harness.inject("GetResources", 2, Fault::Throttle);
    // Every write attempt throttled: retries run out and the failure is reported as retryable.
    t.aws
        .harness
        .inject("TagResources", usize::MAX, Fault::Throttle);
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    assert_eq!(decision.outcome, Outcome::Remediate, "{decision:#?}");
    // Three for the decision's read (two throttled), one re-read before the write.
    assert_eq!(t.aws.harness.count("GetResources"), 4);
    assert_eq!(
        t.aws.harness.count("TagResources"),
        MAX_ATTEMPTS as usize,
        "{:?}",
        t.calls()
    );
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{report:#?}");
    assert_eq!(failures[0].0, Some(arn.as_str()));
    assert!(failures[0].1.retryable);
    assert_eq!(failures[0].1.code.as_deref(), Some("ThrottlingException"));
    let alerts = t.alerts().await;
    assert!(description(&alerts[0].1).contains("TagResources (ThrottlingException, retryable)"));
}

#[tokio::test]
async fn a_lagging_read_is_retried_and_never_taken_for_untagged() {
    let Some(t) = setup("eventual_consistency").await else {
        return;
    };
    let person_tags = [
        ("DataClassification", "Restricted"),
        ("SourceSystems", "Ledger"),
        ("ProcessOwner", "Finance"),
    ];
    let arn = create_db(&t.aws, "ledger", false, &person_tags).await;
    // A person adds one more tag; the record carries only that one.
    let event = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "rds.amazonaws.com",
        "AddTagsToResource",
        json!({"resourceName": arn, "tags": [{"key": "CostCenter", "value": "7"}]}),
        Value::Null,
    );
    let mut expected = tags(&person_tags);
    expected.insert("CostCenter".to_owned(), "7".to_owned());
    t.aws
        .clients
        .rds
        .add_tags_to_resource()
        .resource_name(&arn)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("CostCenter")
                .value("7")
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The index has not caught up yet: moto is always consistent, so the lag is injected as an
    // empty first answer. The read is retried and sees everything.
    let empty = json!({"ResourceTagMappingList": [], "PaginationToken": ""}).to_string();
    t.aws
        .harness
        .inject("GetResources", 1, Fault::Json(200, empty.clone()));
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    assert_eq!(t.aws.harness.count("GetResources"), 2);
    assert!(!decision.resources[0].stale_read);
    assert_eq!(decision.outcome, Outcome::Compliant, "{decision:#?}");
    assert!(report.resources.is_empty());

    // Still empty after every retry: read alone, the database would look unclassified and
    // ownerless (a quarantine, and a default owner over Finance). Nothing is done instead.
    t.aws
        .harness
        .inject("GetResources", 3, Fault::Json(200, empty));
    t.aws.harness.clear_calls();
    let (decision, report) = t.run(&event).await;
    assert!(decision.resources[0].stale_read, "{decision:#?}");
    assert_eq!(operations(&t.calls()), ["GetResources"; 3]);
    assert!(report.resources[0].tags_added.is_empty());
    assert!(report.resources[0].quarantine.is_none());
    assert!(report.resources[0]
        .note
        .as_deref()
        .unwrap()
        .contains("lagged"));
    assert!(report.alerts.is_empty());
    assert_eq!(t.tags(&arn).await, expected);
}

#[tokio::test]
async fn types_the_tagging_api_cannot_write_are_tagged_through_their_own_service() {
    let Some(t) = setup("fallback_tagging").await else {
        return;
    };
    // Moto's tagging API answers "Service not yet supported" for SQS, ECR and Redshift, as real
    // AWS does for some types: the enforcer falls back to TagQueue, TagResource and CreateTags.
    let queue_url = t
        .aws
        .clients
        .sqs
        .create_queue()
        .queue_name("ingest-queue")
        .tags("SourceSystems", "Webhooks")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue = format!("arn:aws:sqs:{REGION}:{}:ingest-queue", t.account());
    let repository = t
        .aws
        .clients
        .ecr
        .create_repository()
        .repository_name("models")
        .send()
        .await
        .unwrap()
        .repository()
        .unwrap()
        .repository_arn()
        .unwrap()
        .to_owned();
    t.aws
        .clients
        .redshift
        .create_cluster()
        .cluster_identifier("warehouse")
        .node_type("dc2.large")
        .master_username("admin")
        .master_user_password("Password123")
        .send()
        .await
        .unwrap();
    let cluster = format!(
        "arn:aws:redshift:{REGION}:{}:cluster:warehouse",
        t.account()
    );
    for (arn, person_tags) in [
        (&queue, vec![("SourceSystems", "Webhooks")]),
        (&repository, vec![]),
        (&cluster, vec![]),
    ] {
        let event = tag_change(t.account(), REGION, arn, &person_tags);
        let (decision, report) = t.run(&event).await;
        assert_eq!(decision.outcome, Outcome::Remediate, "{decision:#?}");
        assert!(report.failures().is_empty(), "{arn}: {report:#?}");
    }
    let sqs_tags: Tags = t
        .aws
        .clients
        .sqs
        .list_queue_tags()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap()
        .tags()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        sqs_tags,
        tags(&[
            ("DataClassification", "Confidential"),
            ("ProcessOwner", "DataEngineering"),
            ("SourceSystems", "Webhooks"),
        ])
    );
    let defaults = tags(&[
        ("DataClassification", "Confidential"),
        ("ProcessOwner", "DataEngineering"),
        ("SourceSystems", "Internal"),
    ]);
    assert_eq!(t.tags(&repository).await, defaults);
    assert_eq!(t.tags(&cluster).await, defaults);
    let calls = t.calls();
    for fallback in ["TagQueue", "TagResource", "CreateTags"] {
        assert!(operations(&calls).contains(&fallback), "{calls:?}");
    }
}

#[tokio::test]
async fn without_write_permission_nothing_is_written_but_the_plan_is_alerted() {
    let Some(mut t) = setup("plan_only").await else {
        return;
    };
    t.settings.write = false;
    let arn = t
        .aws
        .create_bucket("plans-prod-s3-curated-eu-west-1", &[])
        .await;
    let unlabelled = t.aws.create_bucket("plans-scratch", &[]).await;
    t.aws.harness.clear_calls();
    for bucket in ["plans-prod-s3-curated-eu-west-1", "plans-scratch"] {
        let event = api_call(
            t.account(),
            REGION,
            person(t.account()),
            "s3.amazonaws.com",
            "CreateBucket",
            json!({"bucketName": bucket}),
            Value::Null,
        );
        let (_, report) = t.run(&event).await;
        assert!(!report.written);
        assert!(report.dry_run.is_some());
    }
    assert_eq!(
        operations(&t.calls()),
        ["GetResources", "Publish", "GetResources", "Publish"]
    );
    assert!(t.tags(&arn).await.is_empty());
    assert!(t.tags(&unlabelled).await.is_empty());
    assert!(t
        .aws
        .clients
        .s3
        .get_bucket_policy()
        .bucket("plans-scratch")
        .send()
        .await
        .is_err());
}

/// Issue 12: a problem is alerted once. An S3 bucket classified but missing its owner and
/// source (an alert, no quarantine) created; its CreateBucket delivered twice and a later
/// `Tag Change on Resource` event on the unchanged bucket: one message, in the bucket's thread.
/// The owner then sets the tags: one "resolved" message in the same thread, and nothing more.
/// The state is the DynamoDB table; a decision that sends nothing costs one `Query`.
#[tokio::test]
async fn a_problem_is_alerted_once_and_resolved_once_in_its_thread() {
    let Some(mut t) = setup("act_alert_once").await else {
        return;
    };
    let state = crate::state::create_state_table(&t.aws).await;
    t.settings = ActSettings::new(&t.policies, true)
        .with_state(enforcer::state::ConfiguredStateStore::Dynamo(state));
    let bucket = "shop-orders-raw";
    let arn = t
        .aws
        .create_bucket(bucket, &[("DataClassification", "Internal")])
        .await;
    let create = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": bucket}),
        Value::Null,
    );
    let (decision, report) = t.run(&create).await;
    assert_eq!(decision.outcome, Outcome::Alert, "{decision:#?}");
    assert!(report.failures().is_empty(), "{report:#?}");
    let mut silent = Vec::new();
    for event in [
        create.clone(),
        tag_change(
            t.account(),
            REGION,
            &arn,
            &[("DataClassification", "Internal")],
        ),
    ] {
        t.aws.harness.clear_calls();
        let started = std::time::Instant::now();
        let (decision, report) = t.run(&event).await;
        silent.push(started.elapsed());
        assert_eq!(decision.outcome, Outcome::Alert, "{decision:#?}");
        assert!(report.alerts.is_empty(), "{report:#?}");
        let dynamodb: Vec<String> = t
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("DynamoDB."))
            .collect();
        assert_eq!(dynamodb, ["DynamoDB.Query"], "one read, nothing sent");
    }
    eprintln!("decisions that sent nothing (tag read + state Query, debug build): {silent:?}");
    // What the state adds to such a decision: its one Query.
    let mut reads = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        enforcer::state::StateStore::load(&t.settings.state, &arn)
            .await
            .unwrap();
        reads.push(started.elapsed());
    }
    eprintln!("the state's Query alone (moto, debug build): {reads:?}");
    let alerts = t.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].0["notice"], "opened");
    assert_eq!(alerts[0].1["metadata"]["threadId"], arn);

    // Fixed by its owner.
    let fixed = [
        ("DataClassification", "Internal"),
        ("SourceSystems", "Shop"),
        ("ProcessOwner", "Shop"),
    ];
    t.aws
        .clients
        .s3
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(
                    fixed
                        .iter()
                        .map(|(k, v)| {
                            aws_sdk_s3::types::Tag::builder()
                                .key(*k)
                                .value(*v)
                                .build()
                                .unwrap()
                        })
                        .collect(),
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let fix = put_bucket_tagging_event(t.account(), bucket, &fixed);
    let (decision, report) = t.run(&fix).await;
    assert_eq!(decision.outcome, Outcome::Compliant, "{decision:#?}");
    assert_eq!(report.alerts.len(), 1, "{report:#?}");
    let (_, report) = t.run(&tag_change(t.account(), REGION, &arn, &fixed)).await;
    assert!(report.alerts.is_empty(), "{report:#?}");
    let alerts = t.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].0["notice"], "resolved");
    assert_eq!(alerts[0].1["metadata"]["threadId"], arn);
}

/// Issue 12: a state table that throttles makes the event fail retryable, with nothing sent;
/// the retried event sends the one message. Two deciders of the same event at once send one.
#[tokio::test]
async fn an_unavailable_state_table_is_retryable_and_concurrent_deciders_send_once() {
    let Some(mut t) = setup("act_alert_state_down").await else {
        return;
    };
    let state = crate::state::create_state_table(&t.aws).await;
    let configured = enforcer::state::ConfiguredStateStore::Dynamo(state);
    t.settings = ActSettings::new(&t.policies, true).with_state(configured.clone());
    let bucket = "shop-events-raw";
    t.aws
        .create_bucket(bucket, &[("DataClassification", "Internal")])
        .await;
    let create = api_call(
        t.account(),
        REGION,
        person(t.account()),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": bucket}),
        Value::Null,
    );
    let attempts = usize::try_from(MAX_ATTEMPTS).unwrap();
    t.aws.harness.inject("Query", attempts, Fault::Throttle);
    let (_, report) = t.run(&create).await;
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{report:#?}");
    assert!(failures[0].1.retryable, "{report:#?}");
    assert_eq!(failures[0].1.operation, "AlertState");
    assert!(t.alerts().await.is_empty());

    // Recovered; the retry and a second process's decision of the same event, at once.
    let decision = t.decide(&create).await;
    let other = ActSettings::new(&t.policies, true).with_state(configured);
    let (first, second) = tokio::join!(
        apply(&decision, &t.settings, &t.store, &t.quarantine, &t.notify),
        apply(&decision, &other, &t.store, &t.quarantine, &t.notify),
    );
    let sent = [&first, &second]
        .iter()
        .flat_map(|r| r.alerts.iter())
        .filter(|a| a.sent)
        .count();
    assert_eq!(sent, 1, "{first:#?}\n{second:#?}");
    // The other one sent nothing: it found the message confirmed, or the claim held (retryable:
    // its retry finds the message confirmed).
    for report in [&first, &second] {
        assert!(
            report.failures().iter().all(|(_, f)| f.retryable),
            "{report:#?}"
        );
    }
    assert_eq!(t.alerts().await.len(), 1);
    let (_, again) = t.run(&create).await;
    assert!(again.alerts.is_empty(), "{again:#?}");
    assert!(t.alerts().await.is_empty());
}
