//! Alerts routed and gated. Routed per owner (`[owners.<name>]` with Slack ids): the `enforcer-lambda` binary
//! publishes an owner's alerts to that owner's own topic (`ENFORCER_OWNER_TOPIC_PREFIX` and the
//! owner's name, as infra/template.yaml's generated owner routes name it), never to the default
//! topic; a subscription's filter policy on the message attributes still selects. SNS topics
//! delivering to SQS queues on moto stand in for the Q Developer and e-mail subscriptions.
//! Gated: `scan --state-table` alerts a problem once, as `check` and the function do.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::lambda_binary::{answer, create_bucket_event, start};
use crate::support::events;
use crate::support::moto::{moto, TestAccount, REGION};
use crate::support::{repo_root, routed_policies};

use std::time::Duration;

use enforcer_testkit::runtime_api::RuntimeApi;
use serde_json::Value;

/// A topic and a queue subscribed to it (with `filter`, a message-attribute filter policy);
/// returns (topic ARN, queue URL).
async fn topic_with_queue(
    aws: &TestAccount,
    topic: &str,
    queue: &str,
    filter: Option<&str>,
) -> (String, String) {
    let topic_arn = aws
        .clients
        .sns
        .create_topic()
        .name(topic)
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    subscribed_queue(aws, &topic_arn, queue, filter).await
}

async fn subscribed_queue(
    aws: &TestAccount,
    topic_arn: &str,
    queue: &str,
    filter: Option<&str>,
) -> (String, String) {
    let url = aws
        .clients
        .sqs
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let mut subscribe = aws
        .clients
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{}:{queue}", aws.account));
    if let Some(filter) = filter {
        subscribe = subscribe
            .attributes("FilterPolicyScope", "MessageAttributes")
            .attributes("FilterPolicy", filter);
    }
    subscribe.send().await.unwrap();
    (topic_arn.to_owned(), url)
}

/// The messages waiting in `queue`: (owner attribute, notice attribute, threadId).
async fn received(aws: &TestAccount, queue: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    loop {
        let batch = aws
            .clients
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if batch.messages().is_empty() {
            return out;
        }
        for message in batch.messages() {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let attribute = |name: &str| {
                envelope["MessageAttributes"][name]["Value"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned()
            };
            let body: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
            out.push((
                attribute("owner"),
                attribute("notice"),
                body["metadata"]["threadId"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
            ));
            aws.clients
                .sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// An untagged bucket, delivered twice plus the `aws.tag` echo of the enforcer's own tags: one
/// message, on DataEngineering's topic only; a filter on the owner topic keeps working.
#[tokio::test]
async fn an_owners_alert_arrives_on_its_own_topic_only() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("routing_owner_topic").await;
    let account = aws.account.clone();
    let key = aws.access_key("fn").await;
    crate::state::create_state_table(&aws).await;
    let bucket = "ecometricx-prod-s3-raw-routed";
    let arn = aws.create_bucket(bucket, &[]).await;
    let (default_topic, default_queue) =
        topic_with_queue(&aws, "tag-alerts", "default-alerts", None).await;
    let prefix = format!("arn:aws:sns:{REGION}:{account}:enforcer-lambda-owner-");
    let (owner_topic, owner_queue) = topic_with_queue(
        &aws,
        "enforcer-lambda-owner-DataEngineering",
        "data-engineering-slack",
        None,
    )
    .await;
    assert_eq!(owner_topic, format!("{prefix}DataEngineering"));
    // An e-mail-like subscriber of the owner's topic that only wants quarantines, and one that
    // wants what the owner attribute names.
    let (_, critical_queue) = subscribed_queue(
        &aws,
        &owner_topic,
        "data-engineering-critical",
        Some(r#"{"severity": ["critical"]}"#),
    )
    .await;
    let (_, owner_filtered_queue) = subscribed_queue(
        &aws,
        &owner_topic,
        "data-engineering-mail",
        Some(r#"{"owner": ["DataEngineering"]}"#),
    )
    .await;

    let policies = routed_policies();
    let api = RuntimeApi::start_as(
        Duration::from_secs(30),
        &format!("arn:aws:lambda:{REGION}:{account}:function:enforcer-lambda"),
    );
    let function = start(
        &api,
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", key.0.as_str()),
            ("AWS_SECRET_ACCESS_KEY", key.1.as_str()),
            (
                "ENFORCER_POLICY_DIR",
                &policies.path().display().to_string(),
            ),
            ("ENFORCER_MODE", "enforce"),
            ("ENFORCER_ALERT_TOPIC_ARN", &default_topic),
            ("ENFORCER_OWNER_TOPIC_PREFIX", &prefix),
            ("ENFORCER_STATE_TABLE", crate::state::TABLE),
            (
                "ENFORCER_ROLE_ARN",
                &format!("arn:aws:iam::{account}:role/TagEnforcer"),
            ),
        ],
    );
    let event = create_bucket_event(&account, bucket);
    let first = answer(&api, &function, &event);
    assert_eq!(first["outcome"], "alert", "{first}");
    assert_eq!(first["alerted"], true, "{first}");
    let again = answer(&api, &function, &event);
    assert_eq!(again["disposition"], "done", "{again}");
    let tags = aws.bucket_tags(bucket).await;
    assert_eq!(tags["ProcessOwner"], "DataEngineering", "{tags:?}");
    let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let echo: Value =
        serde_json::from_str(&events::tag_change(&account, REGION, &arn, &pairs)).unwrap();
    let echoed = answer(&api, &function, &echo);
    assert_eq!(echoed["disposition"], "done", "{echoed}");

    let opened = vec![(
        "DataEngineering".to_owned(),
        "opened".to_owned(),
        arn.clone(),
    )];
    assert_eq!(
        received(&aws, &owner_queue).await,
        opened,
        "{}",
        function.log()
    );
    assert_eq!(received(&aws, &owner_filtered_queue).await, opened);
    assert_eq!(received(&aws, &critical_queue).await, []);
    assert_eq!(
        received(&aws, &default_queue).await,
        [],
        "an owner with a topic of its own is not alerted on the default topic"
    );
}

/// `scan --aws --state-table`: a backfill run twice (and a `check` of the bucket's CreateBucket
/// after it) alerts the untagged bucket's problem once, through the same state as `check` and
/// the function.
#[tokio::test]
async fn scan_with_a_state_table_alerts_a_problem_once() {
    let Some(moto) = moto() else { return };
    let t = crate::cli::cli(moto, "routing_scan_state").await;
    crate::state::create_state_table(&t.aws).await;
    let (topic, queue) = topic_with_queue(&t.aws, "alerts", "alerts", None).await;
    let bucket = "scan-gated-bucket";
    // Tagged with something: the tagging API (moto's as AWS's) lists only resources that have
    // or had tags.
    let arn = t.aws.create_bucket(bucket, &[("CostCentre", "42")]).await;
    let scan = [
        "scan",
        "--aws",
        "--resource-type",
        "s3:bucket",
        "--alert-topic",
        &topic,
        "--state-table",
        crate::state::TABLE,
    ];
    for _ in 0..2 {
        let (code, stdout, stderr) = t.run(&scan, &[]);
        assert_eq!(code, 1, "{stdout}\n{stderr}");
    }
    let create = t.event_file(
        "create.json",
        &t.create_bucket_event(bucket, events::person(t.account())),
    );
    let (code, stdout, stderr) = t.run(
        &[
            "check",
            "--aws",
            "--alert-topic",
            &topic,
            "--state-table",
            crate::state::TABLE,
            &create,
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let messages = received(&t.aws, &queue).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].1, "opened");
    assert_eq!(messages[0].2, arn);
}

/// A burst: 40 CreateBucket events sent to the intake queue within 10 s, read back from it and
/// handed to the `enforcer-lambda` binary as the event source mapping hands them (SQS events of
/// the queue's messages; here the burst straddles two batching windows, 25 then 15, the worst
/// case within 10 s of a 20 s window): at most 2 messages for the owner, listing the buckets,
/// and every bucket tagged. The state table keeps a redelivered batch silent.
#[tokio::test]
async fn a_burst_of_forty_creations_is_at_most_two_messages_per_owner() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("routing_burst").await;
    let account = aws.account.clone();
    let key = aws.access_key("fn").await;
    crate::state::create_state_table(&aws).await;
    let (topic, queue) = topic_with_queue(&aws, "tag-alerts", "alerts", None).await;
    let intake = aws
        .clients
        .sqs
        .create_queue()
        .queue_name("intake")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let buckets: Vec<String> = (0..40)
        .map(|i| format!("ecometricx-prod-s3-raw-burst-{i:02}"))
        .collect();
    let sent = std::time::Instant::now();
    for bucket in &buckets {
        aws.create_bucket(bucket, &[]).await;
        aws.clients
            .sqs
            .send_message()
            .queue_url(&intake)
            .message_body(unique_event(&account, bucket).to_string())
            .send()
            .await
            .unwrap();
    }
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "{:?}",
        sent.elapsed()
    );
    let mut records = Vec::new();
    while records.len() < buckets.len() {
        let received = aws
            .clients
            .sqs
            .receive_message()
            .queue_url(&intake)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in received.messages() {
            records.push(serde_json::json!({
                "messageId": message.message_id().unwrap(),
                "receiptHandle": message.receipt_handle().unwrap(),
                "body": message.body().unwrap(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": message.md5_of_body().unwrap(),
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{account}:intake"),
                "awsRegion": REGION,
            }));
        }
    }
    assert_eq!(records.len(), 40);

    let api = RuntimeApi::start_as(
        Duration::from_secs(30),
        &format!("arn:aws:lambda:{REGION}:{account}:function:enforcer-lambda"),
    );
    let policies = repo_root().join("policies").display().to_string();
    let function = start(
        &api,
        &[
            ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", key.0.as_str()),
            ("AWS_SECRET_ACCESS_KEY", key.1.as_str()),
            ("ENFORCER_POLICY_DIR", &policies),
            ("ENFORCER_MODE", "enforce"),
            ("ENFORCER_ALERT_TOPIC_ARN", &topic),
            ("ENFORCER_STATE_TABLE", crate::state::TABLE),
            (
                "ENFORCER_ROLE_ARN",
                &format!("arn:aws:iam::{account}:role/TagEnforcer"),
            ),
        ],
    );
    let mut took = Vec::new();
    for window in [&records[..25], &records[25..]] {
        let started = std::time::Instant::now();
        let answer = answer(&api, &function, &serde_json::json!({ "Records": window }));
        took.push(started.elapsed());
        assert_eq!(
            answer,
            serde_json::json!({"batchItemFailures": []}),
            "{}",
            function.log()
        );
    }
    eprintln!("two batches of 25 and 15 events took {took:?}");
    for bucket in &buckets {
        let tags = aws.bucket_tags(bucket).await;
        assert_eq!(
            tags.get("ProcessOwner").map(String::as_str),
            Some("DataEngineering"),
            "{bucket}: {tags:?}\n{}",
            function.log()
        );
    }
    let messages = received(&aws, &queue).await;
    let mut per_owner: std::collections::BTreeMap<&str, usize> = Default::default();
    for (owner, _, _) in &messages {
        *per_owner.entry(owner.as_str()).or_default() += 1;
    }
    assert_eq!(per_owner, [("DataEngineering", 2)].into(), "{messages:?}");

    // The first window again (a redelivery): nothing new to say.
    let again = answer(
        &api,
        &function,
        &serde_json::json!({ "Records": &records[..25] }),
    );
    assert_eq!(again, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(received(&aws, &queue).await, []);
}

/// A CreateBucket event with its own EventBridge id and CloudTrail eventID, as AWS gives each
/// event (the support helper derives them from the request's length).
fn unique_event(account: &str, bucket: &str) -> Value {
    let mut event = create_bucket_event(account, bucket);
    event["id"] = Value::String(format!("evb-{bucket}"));
    event["detail"]["eventID"] = Value::String(format!("ct-{bucket}"));
    event
}
