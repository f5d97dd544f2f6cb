//! The `enforcer-lambda` binary run as Lambda runs it: the Runtime API stand-in
//! (testkit/src/runtime_api.rs) hands it events, moto's server (tests/support/moto.rs) is the
//! account. Nothing reaches AWS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::events;
use crate::support::moto;
use crate::support::repo_root;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use enforcer_testkit::runtime_api::{Outcome, RuntimeApi};
use events::{api_call, person};
use moto::{moto, REGION};
use serde_json::{json, Value};

/// The function's executable: the `bootstrap` of the deployable artifact when
/// `ENFORCER_LAMBDA_BOOTSTRAP` names it (`infra/build.sh --arch x86_64` built it; tests/README.md),
/// else the workspace's `enforcer-lambda` built with the tests.
fn lambda_bin() -> PathBuf {
    match std::env::var_os("ENFORCER_LAMBDA_BOOTSTRAP") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "ENFORCER_LAMBDA_BOOTSTRAP={}: no such file (infra/build.sh --arch x86_64 builds it)",
                path.display()
            );
            path
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_enforcer-lambda")),
    }
}

/// The function's process; killed when dropped.
pub(crate) struct Function(pub(crate) Child, tempfile::TempDir);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Function {
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.1.path().join("stdout")).unwrap_or_default()
            + &std::fs::read_to_string(self.1.path().join("stderr")).unwrap_or_default()
    }
}

/// Starts the binary with the Lambda environment and `env`, the AWS variables cleared.
pub(crate) fn start(api: &RuntimeApi, env: &[(&str, &str)]) -> Function {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(lambda_bin());
    command
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "enforcer-lambda")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/enforcer-lambda")
        .env("LAMBDA_TASK_ROOT", dir.path())
        .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.path().join("stdout")).unwrap())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap());
    for (key, value) in env {
        command.env(key, value);
    }
    Function(command.spawn().unwrap(), dir)
}

pub(super) fn policies() -> String {
    repo_root().join("policies").display().to_string()
}

/// A CreateBucket by a person in `account` (`account` and `recipientAccountId`).
pub(crate) fn create_bucket_event(account: &str, bucket: &str) -> Value {
    serde_json::from_str(&api_call(
        account,
        REGION,
        person(account),
        "s3.amazonaws.com",
        "CreateBucket",
        json!({"bucketName": bucket}),
        Value::Null,
    ))
    .unwrap()
}

/// Hands `event` to the function and returns its response (a failed invocation fails the test,
/// with the function's log).
pub(crate) fn answer(api: &RuntimeApi, function: &Function, event: &Value) -> Value {
    let id = api.invoke(event);
    let outcome = api
        .wait(&id, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no answer; log:\n{}", function.log()));
    let Outcome::Response(_) = &outcome else {
        panic!("{outcome:?}\n{}", function.log())
    };
    outcome.json()
}

#[tokio::test]
async fn the_binary_tags_an_untagged_raw_bucket_on_moto_and_alerts_through_sns() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("lambda_binary").await;
    let account = aws.account.clone();
    let key = aws.access_key("fn").await;
    let bucket = "ecometricx-prod-s3-raw-eu-west-1";
    aws.create_bucket(bucket, &[]).await;
    let topic = aws
        .clients
        .sns
        .create_topic()
        .name("tag-alerts")
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
        .queue_name("tag-alerts")
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
        .endpoint(format!("arn:aws:sqs:{REGION}:{account}:tag-alerts"))
        .send()
        .await
        .unwrap();

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
            ("ENFORCER_POLICY_DIR", &policies()),
            ("ENFORCER_MODE", "enforce"),
            ("ENFORCER_ALERT_TOPIC_ARN", &topic),
            (
                "ENFORCER_ROLE_ARN",
                &format!("arn:aws:iam::{account}:role/TagEnforcer"),
            ),
        ],
    );
    let event = create_bucket_event(&account, bucket);
    let response = answer(&api, &function, &event);
    assert_eq!(response["outcome"], "alert", "{response}");
    assert_eq!(response["disposition"], "done", "{response}");
    assert_eq!(response["written"], true, "{response}");
    assert_eq!(response["alerted"], true, "{response}");
    assert_eq!(response["arns"][0], format!("arn:aws:s3:::{bucket}"));

    // The layer's tags are on the bucket.
    let tags = aws.bucket_tags(bucket).await;
    assert_eq!(tags["DataClassification"], "Confidential", "{tags:?}");
    assert_eq!(tags["ProcessOwner"], "DataEngineering", "{tags:?}");

    // The alert reached the queue subscribed to the topic, with its routing attributes.
    let messages = aws
        .clients
        .sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(messages.messages().len(), 1);
    let envelope: Value = serde_json::from_str(messages.messages()[0].body().unwrap()).unwrap();
    let attribute = |name: &str| envelope["MessageAttributes"][name]["Value"].clone();
    assert_eq!(attribute("owner"), "DataEngineering", "{envelope}");
    assert_eq!(attribute("account"), account.as_str(), "{envelope}");
    assert_eq!(attribute("mode"), "enforce", "{envelope}");
    assert_eq!(attribute("action"), "alert", "{envelope}");
    let body: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["source"], "custom", "{body}");

    // One decision line in the log, JSON, with the queryable fields.
    let log = function.log();
    let line: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "decision")
        .unwrap_or_else(|| panic!("no decision line:\n{log}"));
    assert_eq!(line["outcome"], "alert", "{line}");
    assert_eq!(line["call"], "s3.amazonaws.com:CreateBucket", "{line}");
    assert!(line["duration_ms"].as_f64().is_some(), "{line}");

    // Delivered again: nothing more to write.
    let id = api.invoke(&event);
    let again = api.wait(&id, Duration::from_secs(60)).unwrap().json();
    assert_eq!(again["written"], false, "{again}");
}

/// An event from another account of the organization: the function assumes
/// `ENFORCER_MEMBER_ROLE_NAME` there through moto's STS and tags in that account, not its own.
/// The member's clients are cached, so two events make one `AssumeRole`.
///
/// moto (5.2.5) gives `AssumeRole` credentials whose access key belongs to the role's account, so
/// calls made with them act there. It neither requires the role to exist nor checks its trust
/// policy (the role is created anyway, as member.yaml does), nor evaluates IAM policies: the
/// permissions the member role needs are tests/offline/infra.rs's business.
#[tokio::test]
async fn member_account_events_are_acted_on_through_the_assumed_member_role() {
    // Its own server: the test counts the assumed roles in moto's model data.
    let Some(moto) = moto::dedicated_moto() else {
        return;
    };
    let own = moto.account("lambda_binary_central").await;
    let member = moto.account("lambda_binary_member").await;
    let (account, member_account) = (own.account.clone(), member.account.clone());
    let key = own.access_key("fn").await;
    let role_name = "tag-enforcer-member";
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:role/TagEnforcer")},
            "Action": "sts:AssumeRole",
        }],
    });
    member
        .clients
        .iam
        .create_role()
        .role_name(role_name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    // Distinct name lengths: the events' ids derive from them.
    let buckets = [
        "mbrproj-prod-s3-raw-eu-west-1",
        "mbrproj-dev-s3-raw-eu-west-1",
    ];
    for bucket in buckets {
        member.create_bucket(bucket, &[]).await;
    }

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
            ("ENFORCER_POLICY_DIR", &policies()),
            ("ENFORCER_MODE", "enforce"),
            ("ENFORCER_MEMBER_ROLE_NAME", role_name),
            (
                "ENFORCER_ROLE_ARN",
                &format!("arn:aws:iam::{account}:role/TagEnforcer"),
            ),
        ],
    );
    for bucket in buckets {
        // `account` and `recipientAccountId`: the member account.
        let response = answer(
            &api,
            &function,
            &create_bucket_event(&member_account, bucket),
        );
        assert_eq!(response["account"], member_account.as_str(), "{response}");
        assert_eq!(response["disposition"], "done", "{response}");
        assert_eq!(response["written"], true, "{response}\n{}", function.log());
    }

    for bucket in buckets {
        // In the member account (read with its own credentials)…
        let tags = member.bucket_tags(bucket).await;
        assert_eq!(
            tags.get("DataClassification").map(String::as_str),
            Some("Confidential"),
            "{bucket}: {tags:?}"
        );
        assert_eq!(
            tags.get("ProcessOwner").map(String::as_str),
            Some("DataEngineering"),
            "{bucket}: {tags:?}"
        );
        // …and not in the function's own: moto's bucket names are global, its tags per account.
        assert_eq!(own.bucket_tags(bucket).await, BTreeMap::new(), "{bucket}");
    }
    let own_tagged = own.clients.tagging.get_resources().send().await.unwrap();
    assert!(
        own_tagged.resource_tag_mapping_list().is_empty(),
        "{:?}",
        own_tagged.resource_tag_mapping_list()
    );

    // One AssumeRole of the member role, for both events: moto keeps every assumed role.
    let role_arn = format!("arn:aws:iam::{member_account}:role/{role_name}");
    let data = moto.model_data();
    let assumed: Vec<&Value> = data["sts"]["AssumedRole"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role_arn"] == role_arn.as_str())
        .collect();
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    assert_eq!(assumed[0]["session_name"], "tag-enforcer");
    assert_eq!(assumed[0]["account_id"], member_account.as_str());
}

#[test]
fn a_broken_policy_dir_is_an_init_error_with_the_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "[[rule]]\nname = \"x\"\nselect = { type = \"s3:bukket\" }\n",
    )
    .unwrap();
    let api = RuntimeApi::start(Duration::from_secs(5));
    let mut function = start(
        &api,
        &[
            ("ENFORCER_POLICY_DIR", &dir.path().display().to_string()),
            ("AWS_REGION", REGION),
        ],
    );
    let error = api
        .wait_init_error(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no init error; log:\n{}", function.log()));
    let body: Value = serde_json::from_slice(&error.body).unwrap();
    assert_eq!(body["errorType"], "Runtime.InvalidPolicy");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("broken.toml:"), "{message}");
    assert_eq!(error.error_type.as_deref(), Some("Runtime.InvalidPolicy"));
    let status = function.0.wait().unwrap();
    assert!(!status.success());
    assert!(
        !api.requests().iter().any(|r| r.contains("invocation/next")),
        "{:?}",
        api.requests()
    );
    assert!(
        function.log().contains("broken.toml:"),
        "{}",
        function.log()
    );
}

#[test]
fn enforce_mode_without_its_own_role_is_an_init_error() {
    let api = RuntimeApi::start(Duration::from_secs(5));
    let mut function = start(
        &api,
        &[
            ("ENFORCER_POLICY_DIR", &policies()),
            ("ENFORCER_MODE", "enforce"),
            ("AWS_REGION", REGION),
        ],
    );
    let error = api
        .wait_init_error(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no init error; log:\n{}", function.log()));
    let body: Value = serde_json::from_slice(&error.body).unwrap();
    assert_eq!(body["errorType"], "Runtime.InvalidConfiguration");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("ENFORCER_ROLE_ARN"), "{message}");
    assert!(message.contains("loop guard"), "{message}");
    assert!(!function.0.wait().unwrap().success());
    assert!(
        !api.requests().iter().any(|r| r.contains("invocation/next")),
        "{:?}",
        api.requests()
    );
}

#[test]
fn in_memory_backend_answers_every_sample_without_aws() {
    let api = RuntimeApi::start(Duration::from_secs(5));
    let function = start(
        &api,
        &[
            ("ENFORCER_POLICY_DIR", &policies()),
            ("ENFORCER_MODE", "enforce"),
            ("ENFORCER_BACKEND", "memory"),
        ],
    );
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/samples/s3-CreateBucket.json")).unwrap(),
    )
    .unwrap();
    let id = api.invoke(&event);
    let outcome = api
        .wait(&id, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no answer; log:\n{}", function.log()));
    assert_eq!(outcome.json()["outcome"], "alert", "{}", function.log());
    let id = api.invoke(&json!({"not": "an event"}));
    let outcome = api.wait(&id, Duration::from_secs(30)).unwrap();
    let Outcome::Response(_) = &outcome else {
        panic!("a bad event is answered, not failed: {outcome:?}")
    };
    assert_eq!(outcome.json()["disposition"], "permanent");
}

/// Issue 12, the function with `ENFORCER_STATE_TABLE`: while the table is unavailable (not
/// there yet) the event fails retryable and nothing is sent; once it is there, the retried
/// event, a second delivery and the `Tag Change on Resource` echo of the enforcer's own tag
/// write give exactly one message.
#[tokio::test]
async fn the_binary_with_a_state_table_alerts_once_and_retries_while_the_table_is_down() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("lambda_binary_state").await;
    let account = aws.account.clone();
    let key = aws.access_key("fn").await;
    let bucket = "ecometricx-stage-s3-raw-eu-west-1";
    let arn = aws.create_bucket(bucket, &[]).await;
    let topic = aws
        .clients
        .sns
        .create_topic()
        .name("tag-alerts")
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
        .queue_name("tag-alerts")
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
        .endpoint(format!("arn:aws:sqs:{REGION}:{account}:tag-alerts"))
        .send()
        .await
        .unwrap();
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
            ("ENFORCER_POLICY_DIR", &policies()),
            ("ENFORCER_MODE", "enforce"),
            ("ENFORCER_ALERT_TOPIC_ARN", &topic),
            ("ENFORCER_STATE_TABLE", crate::state::TABLE),
            (
                "ENFORCER_ROLE_ARN",
                &format!("arn:aws:iam::{account}:role/TagEnforcer"),
            ),
        ],
    );
    let event = create_bucket_event(&account, bucket);
    let id = api.invoke(&event);
    let outcome = api
        .wait(&id, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("no answer; log:\n{}", function.log()));
    assert!(
        !matches!(outcome, Outcome::Response(_)),
        "the table is missing: the event must fail, to be retried: {outcome:?}"
    );
    let log = function.log();
    assert!(log.contains("RetryableFailure"), "{log}");
    let count = || async {
        aws.clients
            .sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages()
            .iter()
            .map(|m| {
                let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                envelope["MessageAttributes"]["notice"]["Value"]
                    .as_str()
                    .unwrap_or("none")
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert!(
        count().await.is_empty(),
        "nothing is sent without the state"
    );

    // The table is back: the retry, a redelivery and the echo of the enforcer's own write.
    crate::state::create_state_table(&aws).await;
    let retried = answer(&api, &function, &event);
    assert_eq!(retried["outcome"], "alert", "{retried}");
    assert_eq!(retried["disposition"], "done", "{retried}");
    let again = answer(&api, &function, &event);
    assert_eq!(again["disposition"], "done", "{again}");
    let tags = aws.bucket_tags(bucket).await;
    let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let echo: Value =
        serde_json::from_str(&events::tag_change(&account, REGION, &arn, &pairs)).unwrap();
    let echoed = answer(&api, &function, &echo);
    assert_eq!(echoed["disposition"], "done", "{echoed}");
    assert_eq!(count().await, ["opened"]);
}

/// The scheduled scan (`{"enforcer": "scan"}`, what the template's `ScanSchedule` sends): the
/// binary discovers its own account and region as `enforcer scan --aws` does, so a bucket nobody
/// ever tagged is found and decided (quarantine planned, as the shipped policy's rule for
/// unclassified buckets says for a scan), in audit mode nothing is written, the owner is alerted
/// once, and a second scan alerts nothing again (the same state-gated thread).
#[tokio::test]
async fn a_scan_invocation_finds_and_decides_a_never_tagged_bucket() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("lambda_binary_scan").await;
    let account = aws.account.clone();
    let key = aws.access_key("fn").await;
    let bucket = "scheduled-scan-never-tagged-data";
    aws.create_bucket(bucket, &[]).await;
    let topic = aws
        .clients
        .sns
        .create_topic()
        .name("scan-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
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
            ("ENFORCER_POLICY_DIR", &policies()),
            ("ENFORCER_MODE", "audit"),
            ("ENFORCER_ALERT_TOPIC_ARN", &topic),
        ],
    );
    let payload = json!({"enforcer": "scan"});
    let started = std::time::Instant::now();
    let response = answer(&api, &function, &payload);
    let took = started.elapsed();
    assert_eq!(response["account"], account.as_str(), "{response}");
    assert_eq!(response["region"], REGION, "{response}");
    assert_eq!(response["disposition"], "done", "{response}");
    assert_eq!(
        response["written"], false,
        "audit mode writes nothing: {response}"
    );
    assert!(response["resources"].as_u64().unwrap() >= 1, "{response}");
    assert!(
        response["coverage"]
            .as_str()
            .unwrap()
            .starts_with("covers "),
        "{response}"
    );
    assert!(response["alerts_sent"].as_u64().unwrap() >= 1, "{response}");
    eprintln!(
        "scan invocation: {} resources in {} batches, {} alert messages, {:.1} s",
        response["resources"],
        response["batches"],
        response["alerts_sent"],
        took.as_secs_f64()
    );
    // Alerts meet at the intake batches' barrier: one message per owner and notice, a digest
    // listing their resources, not one per batch of 20.
    assert!(
        response["alerts_sent"].as_u64().unwrap() < response["batches"].as_u64().unwrap(),
        "{response}"
    );

    // The bucket's decision line: found although never tagged, decided as a scan decides.
    let arn = format!("arn:aws:s3:::{bucket}");
    let log = function.log();
    let line: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| {
            l["message"] == "decision"
                && l["arns"]
                    .as_str()
                    .is_some_and(|arns| arns.split(',').any(|a| a == arn))
        })
        .unwrap_or_else(|| panic!("no decision line for {arn}:\n{log}"));
    assert_eq!(line["call"], "enforcer.scan:GetResources", "{line}");
    assert_eq!(line["mode"], "audit", "{line}");
    assert_eq!(line["written"], false, "{line}");
    let actions: Value = serde_json::from_str(line["actions"].as_str().unwrap()).unwrap();
    let action = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["arn"] == arn)
        .unwrap();
    assert_eq!(action["action"], "quarantine", "{line}");
    assert!(aws.bucket_tags(bucket).await.is_empty(), "audit wrote tags");
    let scan_line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "scan")
        .unwrap_or_else(|| panic!("no scan line:\n{log}"));
    assert_eq!(scan_line["account"], account.as_str(), "{scan_line}");

    // Scanned again: the same problems, already announced.
    let again = answer(&api, &function, &payload);
    assert_eq!(again["disposition"], "done", "{again}");
    assert_eq!(again["resources"], response["resources"], "{again}");
    assert_eq!(again["alerts_sent"], 0, "{again}");
}
