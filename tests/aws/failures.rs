//! Permanent failures recorded where an operator looks, through the `enforcer-lambda` binary on
//! moto: the failures queue gets the event and the reason, the log the `PermanentFailures`
//! metric line, and a queue that cannot take the record makes the invocation fail (retryable)
//! so nothing is lost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use enforcer_testkit::runtime_api::{Outcome, RuntimeApi};
use serde_json::{json, Value};

use super::lambda_binary::{policies, start};
use crate::support::moto::{moto, REGION};

/// An event the function cannot decode: a permanent failure.
fn bad_event() -> Value {
    json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": 42})
}

#[tokio::test]
async fn a_permanent_failure_goes_to_the_failures_queue_and_the_metric() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("failures_queue").await;
    let key = aws.access_key("fn").await;
    let queue = aws
        .clients
        .sqs
        .create_queue()
        .queue_name("enforcer-failures")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let api = RuntimeApi::start_as(
        Duration::from_secs(30),
        &format!(
            "arn:aws:lambda:{REGION}:{}:function:enforcer-lambda",
            aws.account
        ),
    );
    let function = start(
        &api,
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", key.0.as_str()),
            ("AWS_SECRET_ACCESS_KEY", key.1.as_str()),
            ("ENFORCER_POLICY_DIR", &policies()),
            ("ENFORCER_FAILURE_QUEUE_URL", &queue),
        ],
    );
    let id = api.invoke(&bad_event());
    let outcome = api
        .wait(&id, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no answer; log:\n{}", function.log()));
    let Outcome::Response(_) = &outcome else {
        panic!("{outcome:?}\n{}", function.log())
    };
    assert_eq!(outcome.json()["disposition"], "permanent");

    let received = aws
        .clients
        .sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    assert_eq!(messages.len(), 1, "{messages:?}\n{}", function.log());
    let body: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(body["event"], bad_event());
    assert_eq!(body["outcome"], "error");
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );

    // One embedded-metric-format line in the log: CloudWatch makes it the alarm's metric.
    let log = function.log();
    let metrics: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect();
    assert_eq!(metrics.len(), 1, "{log}");
    assert_eq!(metrics[0]["PermanentFailures"], 1);
    assert_eq!(metrics[0]["FunctionName"], "enforcer-lambda");
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "TagEnforcer"
    );
}

#[tokio::test]
async fn a_failures_queue_that_cannot_take_the_record_makes_the_event_retried() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("failures_queue_gone").await;
    let key = aws.access_key("fn").await;
    let gone = format!(
        "{}/{}/enforcer-failures-that-does-not-exist",
        moto.endpoint, aws.account
    );
    let api = RuntimeApi::start_as(
        Duration::from_secs(30),
        &format!(
            "arn:aws:lambda:{REGION}:{}:function:enforcer-lambda",
            aws.account
        ),
    );
    let function = start(
        &api,
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", key.0.as_str()),
            ("AWS_SECRET_ACCESS_KEY", key.1.as_str()),
            ("ENFORCER_POLICY_DIR", &policies()),
            ("ENFORCER_FAILURE_QUEUE_URL", &gone),
        ],
    );
    let id = api.invoke(&bad_event());
    let outcome = api
        .wait(&id, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no answer; log:\n{}", function.log()));
    let Outcome::Error { body, .. } = &outcome else {
        panic!(
            "expected an error so Lambda retries: {outcome:?}\n{}",
            function.log()
        )
    };
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body["errorType"], "Enforcer.RetryableFailure", "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("SendMessage"),
        "{body}"
    );
}

/// A remediation whose announcement fails to publish after the tags were written: the tags
/// stay, the announcement is owed (claimed before the write, never confirmed), and the event's
/// retry — in another process, finding nothing to add — publishes it, once.
#[tokio::test]
async fn an_announcement_that_fails_after_the_write_is_sent_by_the_retry() {
    use enforcer::act::aws::{AwsTagStore, SnsNotify, MAX_ATTEMPTS};
    use enforcer::act::{apply, read_and_decide, ActSettings, InMemoryQuarantine, ReadRetry};
    use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
    use enforcer::engine::Outcome;
    use enforcer::event::{decode_text, ResolveOptions, Resolver};

    use crate::support::events::{api_call, person};
    use crate::support::moto::Fault;

    let Some(moto) = moto() else { return };
    let aws = moto.account("owed_remediation_notice").await;
    let policies = enforcer::policy::load(
        &[concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/aws/policy.toml"
        )
        .into()],
        KNOWN_RESOURCE_TYPES,
    )
    .unwrap_or_else(|d| panic!("{d:?}"))
    .set;
    let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
    let store = AwsTagStore::new(&aws.clients);
    let topic = aws
        .clients
        .sns
        .create_topic()
        .name("owed-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let queue = aws
        .clients
        .sqs
        .create_queue()
        .queue_name("owed-alerts")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    aws.clients
        .sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{}:owed-alerts", aws.account))
        .send()
        .await
        .unwrap();
    let notify = SnsNotify::new(aws.clients.sns.clone(), topic);
    let received = || async {
        aws.clients
            .sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages()
            .to_vec()
    };

    let bucket = "nothing-lost-owed-curated-eu-west-1";
    let first = [("DataClassification", "Confidential")];
    let arn = aws.create_bucket(bucket, &first).await;
    let event = api_call(
        &aws.account,
        REGION,
        person(&aws.account),
        "s3.amazonaws.com",
        "PutBucketTagging",
        json!({"bucketName": bucket,
               "Tagging": {"TagSet": {"Tag": [{"Key": "DataClassification", "Value": "Confidential"}]}}}),
        Value::Null,
    );
    let (_, input) = decode_text("event", &event).remove(0).unwrap();
    let decide = || async {
        read_and_decide(
            &store,
            &ReadRetry::none(),
            resolver.resolve(&input),
            &policies,
            policies.mode,
            None,
        )
        .await
        .0
    };

    // Delivery 1: the tags are written, every Publish attempt fails.
    let settings = ActSettings::new(&policies, true);
    aws.harness.inject(
        "Publish",
        MAX_ATTEMPTS as usize,
        Fault::Json(500, "{}".to_owned()),
    );
    let decision = decide().await;
    assert_eq!(decision.outcome, Outcome::Remediate, "{decision:#?}");
    let report = apply(
        &decision,
        &settings,
        &store,
        &InMemoryQuarantine::new(),
        &notify,
    )
    .await;
    assert!(!report.resources[0].tags_added.is_empty(), "{report:#?}");
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{report:#?}");
    assert!(failures[0].1.retryable, "{report:#?}");
    assert!(received().await.is_empty());

    // Delivery 2, the retry, in another process (another claimant) sharing the state table:
    // nothing to add, but the owed announcement goes out.
    let retry = ActSettings::new(&policies, true).with_state(settings.state.clone());
    let decision = decide().await;
    let report = apply(
        &decision,
        &retry,
        &store,
        &InMemoryQuarantine::new(),
        &notify,
    )
    .await;
    assert!(report.failures().is_empty(), "{report:#?}");
    assert!(
        report.resources.iter().all(|r| r.tags_added.is_empty()),
        "{report:#?}"
    );
    assert_eq!(report.alerts.len(), 1, "{report:#?}");
    assert!(report.alerts[0].sent);
    let messages = received().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let envelope: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    let body: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["metadata"]["relatedResources"][0],
        arn.as_str(),
        "{body}"
    );

    // Delivery 3: settled; nothing more.
    let decision = decide().await;
    let report = apply(
        &decision,
        &retry,
        &store,
        &InMemoryQuarantine::new(),
        &notify,
    )
    .await;
    assert!(report.alerts.is_empty(), "{report:#?}");
}
