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
