//! The `enforcer` command line against the local AWS stand-in, run as a user runs it: the
//! standard AWS environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, access keys), the project's own
//! policies, event files on disk.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::events;
use crate::support::moto;
use crate::support::repo_root;

use std::process::{Command, Output};

use events::{api_call, enforcer_identity, enforcer_role, person};
use moto::{moto, Moto, TestAccount, REGION};
use serde_json::{json, Value};

/// A test's account, with an access key the CLI uses to reach it.
pub(crate) struct Cli {
    pub(crate) aws: TestAccount,
    endpoint: String,
    key: (String, String),
    dir: tempfile::TempDir,
}

/// The account of the test `name`, and an access key of its user `operator`.
pub(crate) async fn cli(moto: &Moto, name: &str) -> Cli {
    let aws = moto.account(name).await;
    let key = aws.access_key("operator").await;
    Cli {
        key,
        endpoint: moto.endpoint.clone(),
        aws,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Cli {
    pub(crate) fn account(&self) -> &str {
        &self.aws.account
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_enforcer"));
        command
            .current_dir(repo_root())
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", &self.key.0)
            .env("AWS_SECRET_ACCESS_KEY", &self.key.1)
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("no-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("ENFORCER_ROLE_ARN")
            .env_remove("ENFORCER_ALERT_TOPIC_ARN");
        command
    }

    /// Runs `enforcer` with `args` and `env`: its exit code, stdout and stderr.
    pub(crate) fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut command = self.command(args);
        for (key, value) in env {
            command.env(key, value);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().unwrap();
        (
            status.code().unwrap_or(-1),
            String::from_utf8(stdout).unwrap(),
            String::from_utf8(stderr).unwrap(),
        )
    }

    /// The test's own directory, for files it writes or has the CLI write.
    pub(crate) fn aws_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub(crate) fn event_file(&self, name: &str, event: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, event).unwrap();
        path.display().to_string()
    }

    pub(crate) fn create_bucket_event(&self, bucket: &str, identity: Value) -> String {
        api_call(
            self.account(),
            REGION,
            identity,
            "s3.amazonaws.com",
            "CreateBucket",
            json!({"bucketName": bucket}),
            Value::Null,
        )
    }
}

#[tokio::test]
async fn check_plans_by_default_and_applies_and_alerts_when_asked() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_check").await;
    let bucket = "webshop-prod-s3-curated-eu-west-1";
    t.aws.create_bucket(bucket, &[("Team", "web")]).await;
    let file = t.event_file(
        "create.json",
        &t.create_bucket_event(bucket, person(t.account())),
    );
    let topic = t
        .aws
        .clients
        .sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let queue = t
        .aws
        .clients
        .sqs
        .create_queue()
        .queue_name("alerts")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    t.aws
        .clients
        .sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{}:alerts", t.account()))
        .send()
        .await
        .unwrap();

    // Without --apply: a plan, and the account is untouched.
    let (code, stdout, stderr) = t.run(&["check", "--aws", &file], &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("REMEDIATE"), "{stdout}");
    assert!(stdout.contains("plan only"), "{stdout}");
    assert!(
        stdout.contains("would add DataClassification=Confidential"),
        "{stdout}"
    );
    assert_eq!(t.aws.bucket_tags(bucket).await.len(), 1);

    // With --apply and a topic: tagged and alerted.
    let (code, stdout, stderr) = t.run(
        &["check", "--aws", "--apply", "--alert-topic", &topic, &file],
        &[],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("added DataClassification=Confidential"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("alert to {topic}")), "{stdout}");
    assert!(
        stdout.contains("acted: 1 tagged, 0 quarantined, 1 alert sent, 0 failures"),
        "{stdout}"
    );
    let tags = t.aws.bucket_tags(bucket).await;
    assert_eq!(tags["Team"], "web");
    assert_eq!(tags["TargetSystems"], "S3-Refined,Redshift");
    assert_eq!(tags.len(), 5, "{tags:?}");
    let messages = t
        .aws
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
    assert_eq!(
        envelope["MessageAttributes"]["owner"]["Value"],
        "DataEngineering"
    );
    assert_eq!(
        envelope["MessageAttributes"]["action"]["Value"],
        "remediate"
    );
    assert_eq!(
        envelope["MessageAttributes"]["account"]["Value"],
        t.account()
    );

    // Once more: nothing left to do; JSON output carries the act report.
    let (code, stdout, _) = t.run(
        &["check", "--aws", "--apply", "--format", "json", &file],
        &[],
    );
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "a decision, then the summary: {stdout}");
    assert_eq!(lines[0]["kind"], "decision");
    assert_eq!(lines[0]["outcome"], "compliant");
    assert_eq!(lines[0]["act"]["written"], true);
    assert_eq!(lines[1]["kind"], "summary");
    assert_eq!(lines[1]["act"]["aws_failures"], 0);
}

/// The bug: `[policy] owner_tag` was ignored and every owner lookup read `ProcessOwner`. With
/// `owner_tag = "Team"`, a bucket created with `Team=DataEngineering` is DataEngineering's in the
/// alert preview, in the alert `check --aws --apply` publishes, and in the replay summary.
#[tokio::test]
async fn owner_tag_routes_by_the_configured_tag() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_owner_tag").await;
    let policies = t.dir.path().join("team.toml");
    std::fs::write(
        &policies,
        r##"
[policy]
name = "team-owned"
mode = "enforce"
owner_tag = "Team"
default_owner = "Platform"

[tags.DataClassification]
values = ["Public", "Internal", "Confidential", "Restricted"]

[tags.Team]
pattern = '[A-Z][A-Za-z0-9]*'

[[rule]]
name = "classified"
resource_types = ["s3:bucket"]
require = ["DataClassification", "Team"]

[owners.DataEngineering]
slack_channel = "#data-engineering"

[owners.Platform]
slack_channel = "#platform"
"##,
    )
    .unwrap();
    let policies = policies.display().to_string();
    let bucket = "team-owned-unclassified";
    t.aws
        .create_bucket(
            bucket,
            &[("Team", "DataEngineering"), ("ProcessOwner", "Platform")],
        )
        .await;
    let history = t.dir.path().join("history");
    std::fs::create_dir(&history).unwrap();
    std::fs::write(
        history.join("create.json"),
        t.create_bucket_event(bucket, person(t.account())),
    )
    .unwrap();
    let file = history.join("create.json").display().to_string();

    // (a) The preview, from the bucket's tags as an inventory.
    let inventory = t.dir.path().join("tags.json");
    std::fs::write(
        &inventory,
        json!({format!("arn:aws:s3:::{bucket}"): {"Team": "DataEngineering", "ProcessOwner": "Platform"}})
            .to_string(),
    )
    .unwrap();
    let (code, stdout, stderr) = t.run(
        &[
            "alert",
            "preview",
            "--format",
            "json",
            "--policies",
            &policies,
            "--tags",
            inventory.to_str().unwrap(),
            &file,
        ],
        &[],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let preview: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        preview["alert"]["owner"]["key"], "DataEngineering",
        "{stdout}"
    );
    assert_eq!(preview["alert"]["owner"]["source"], "tag", "{stdout}");
    assert_eq!(
        preview["alert"]["owner"]["slack_channel"], "#data-engineering",
        "{stdout}"
    );

    // (b) The alert `check --aws --apply` publishes.
    let topic = t
        .aws
        .clients
        .sns
        .create_topic()
        .name("owner-alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let queue = t
        .aws
        .clients
        .sqs
        .create_queue()
        .queue_name("owner-alerts")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    t.aws
        .clients
        .sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{}:owner-alerts", t.account()))
        .send()
        .await
        .unwrap();
    let (code, stdout, stderr) = t.run(
        &[
            "check",
            "--aws",
            "--apply",
            "--policies",
            &policies,
            "--alert-topic",
            &topic,
            &file,
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("1 alert sent"), "{stdout}");
    let messages = t
        .aws
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
    assert_eq!(
        envelope["MessageAttributes"]["owner"]["Value"],
        "DataEngineering"
    );
    assert_eq!(
        envelope["MessageAttributes"]["owner_source"]["Value"],
        "tag"
    );

    // (c) The replay summary counts the violation against DataEngineering.
    let (code, stdout, stderr) = t.run(
        &[
            "replay",
            "--aws",
            "--format",
            "json",
            "--policies",
            &policies,
            history.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        summary["violations_by_owner"],
        json!([{"key": "DataEngineering", "count": 1}]),
        "{stdout}"
    );
}

#[tokio::test]
async fn check_quarantines_and_release_undoes_it() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_quarantine").await;
    let bucket = "mystery-bucket";
    let arn = t.aws.create_bucket(bucket, &[]).await;
    let file = t.event_file(
        "create.json",
        &t.create_bucket_event(bucket, person(t.account())),
    );
    let role = enforcer_role(t.account());
    // The record `release` restores from is the state table's: both runs use the same table.
    // `check` finds it in `ENFORCER_STATE_TABLE`, `release` in its `--state-table`.
    crate::state::create_state_table(&t.aws).await;
    let table = crate::state::TABLE;
    let (code, stdout, stderr) = t.run(
        &["check", "--aws", "--apply", &file],
        &[
            ("ENFORCER_ROLE_ARN", &role),
            ("ENFORCER_STATE_TABLE", table),
        ],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("QUARANTINE"), "{stdout}");
    assert!(
        stdout.contains("quarantined (public access block on"),
        "{stdout}"
    );
    let tags = t.aws.bucket_tags(bucket).await;
    assert_eq!(
        tags["enforcer:quarantine-undo"],
        format!("enforcer release {arn}")
    );
    assert!(t
        .aws
        .clients
        .s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .is_ok());

    // Like every other command, release plans unless --apply.
    let (code, stdout, stderr) = t.run(&["release", "--state-table", table, &arn], &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.starts_with("PLANNED"), "{stdout}");
    assert!(stdout.contains("restore pab=none"), "{stdout}");

    let (code, stdout, stderr) = t.run(&["release", "--apply", "--state-table", table, &arn], &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.starts_with("RELEASED"), "{stdout}");
    assert!(t.aws.bucket_tags(bucket).await.is_empty());
    assert!(t
        .aws
        .clients
        .s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .is_err());

    // The record is closed: a second release finds nothing to restore.
    let (code, stdout, _) = t.run(&["release", "--apply", "--state-table", table, &arn], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("no quarantine is recorded"), "{stdout}");
}

#[tokio::test]
async fn scan_covers_several_regions_or_all_enabled_ones_like_the_aws_cli() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_scan_regions").await;
    t.aws.create_bucket("regions-a", &[("Team", "a")]).await;

    let (code, stdout, stderr) = t.run(
        &[
            "scan",
            "--aws",
            "--resource-type",
            "s3",
            "--region",
            "eu-west-1",
            "--region",
            "us-east-1",
        ],
        &[],
    );
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    // One line per account and region: `account 1234… eu-west-1: 1 resource found; covers …`.
    let listed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" found; covers "))
        .collect();
    assert_eq!(listed.len(), 2, "{stderr}");
    assert!(
        listed[0].contains(" eu-west-1: 1 resource found"),
        "{stderr}"
    );
    assert!(
        listed[1].contains(" us-east-1: 0 resources found"),
        "{stderr}"
    );

    // `all`: the regions ec2:DescribeRegions says are enabled, each listed once.
    let (code, stdout, stderr) = t.run(
        &["scan", "--aws", "--resource-type", "s3", "--region", "all"],
        &[],
    );
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    let listed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" found; covers "))
        .collect();
    assert!(listed.len() > 2, "{stderr}");
    assert!(
        listed
            .iter()
            .any(|l| l.contains(" eu-west-1: 1 resource found")),
        "{stderr}"
    );

    // A command that talks to one region says so.
    let file = t.event_file("e.json", &t.create_bucket_event("x", person(t.account())));
    let (code, _, stderr) = t.run(
        &[
            "check",
            "--aws",
            "--region",
            "eu-west-1",
            "--region",
            "us-east-1",
            &file,
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        "error: this command talks to one region: give --region once (only `scan` takes several, or `all`)\n"
    );

    // --endpoint-url and --region win over the environment.
    let (code, stdout, stderr) = t.run(
        &[
            "check",
            "--aws",
            "--endpoint-url",
            &t.endpoint,
            "--region",
            REGION,
            &file,
        ],
        &[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_REGION", "ap-south-1"),
        ],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("planned: "), "{stdout}");
}

#[tokio::test]
async fn check_ignores_the_enforcers_own_calls() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_loop_guard").await;
    t.aws.create_bucket("team-raw-exports", &[]).await;
    let file = t.event_file(
        "own.json",
        &t.create_bucket_event("team-raw-exports", enforcer_identity(t.account())),
    );
    let role = enforcer_role(t.account());
    let (code, stdout, stderr) = t.run(
        &["check", "--aws", "--apply", "--all", &file],
        &[("ENFORCER_ROLE_ARN", &role)],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("IGNORED"), "{stdout}");
    assert!(stdout.contains("(loop guard)"), "{stdout}");
    assert!(t.aws.bucket_tags("team-raw-exports").await.is_empty());
}

#[tokio::test]
async fn scan_walks_the_account_and_backfills_with_apply() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_scan").await;
    t.aws
        .create_bucket("old-prod-s3-curated-eu-west-1", &[("Team", "a")])
        .await;
    t.aws
        .create_bucket("old-prod-s3-refined-eu-west-1", &[("Team", "b")])
        .await;
    t.aws
        .create_bucket(
            "already-fine",
            &[
                ("DataClassification", "Internal"),
                ("SourceSystems", "Manual"),
                ("ProcessOwner", "Platform"),
            ],
        )
        .await;

    let (code, stdout, stderr) = t.run(
        &[
            "scan",
            "--aws",
            "--resource-type",
            "s3:bucket",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The buckets are decided as one batch (one decision, one TagResources call per identical
    // tag set), then the summary counts resources.
    assert_eq!(lines.len(), 2, "one decision, then the summary: {stdout}");
    assert_eq!(
        lines[0]["resources"].as_array().unwrap().len(),
        3,
        "{stdout}"
    );
    assert_eq!(lines[0]["act"]["written"], false);
    assert_eq!(lines[1]["kind"], "summary");
    assert_eq!(lines[1]["records"], 3);

    let (code, stdout, stderr) = t.run(&["scan", "--aws", "--resource-type", "s3", "--apply"], &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("3 resources: 1 compliant, 2 remediate"),
        "{stdout}"
    );
    assert!(stdout.contains("acted: 2 tagged"), "{stdout}");
    assert_eq!(
        t.aws.bucket_tags("old-prod-s3-refined-eu-west-1").await["ProcessOwner"],
        "AnalyticsTeam"
    );

    let (code, stdout, _) = t.run(&["scan", "--aws", "--resource-type", "s3:bucket"], &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("3 resources: 3 compliant"), "{stdout}");
}

#[test]
fn check_without_a_region_says_what_to_set() {
    let Some(moto) = moto() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = runtime.block_on(cli(moto, "cli_no_region"));
    let file = t.event_file("e.json", &t.create_bucket_event("x", person(t.account())));
    let mut command = t.command(&["check", "--aws", &file]);
    command.env_remove("AWS_REGION");
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        "error: no AWS region is configured: pass --region, set AWS_REGION, or give the profile a region\n"
    );
}

#[tokio::test]
async fn replay_with_aws_judges_history_against_todays_tags_and_writes_nothing() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_replay").await;
    // Created bare, classified since: the history alone says it was out of line.
    let fine = [
        ("DataClassification", "Internal"),
        ("SourceSystems", "Manual"),
        ("ProcessOwner", "Platform"),
    ];
    t.aws.create_bucket("classified-since", &fine).await;
    // Still bare today.
    t.aws.create_bucket("hist-prod-s3-raw-eu-west-1", &[]).await;

    let history = t.dir.path().join("history");
    std::fs::create_dir(&history).unwrap();
    let mut events = vec![
        t.create_bucket_event("classified-since", person(t.account())),
        t.create_bucket_event("hist-prod-s3-raw-eu-west-1", person(t.account())),
        // The same bucket again: answered from the first read.
        t.create_bucket_event("classified-since", person(t.account())),
    ];
    // A queue of another account: refused, not read as untagged.
    events.push(api_call(
        "999999999999",
        REGION,
        person("999999999999"),
        "sqs.amazonaws.com",
        "CreateQueue",
        json!({"queueName": "elsewhere"}),
        json!({"queueUrl": format!("https://sqs.{REGION}.amazonaws.com/999999999999/elsewhere")}),
    ));
    for (i, event) in events.iter().enumerate() {
        std::fs::write(history.join(format!("{i}.json")), event).unwrap();
    }
    let history = history.display().to_string();

    let summary = |stdout: &str| -> Value { serde_json::from_str(stdout).unwrap() };
    let (code, stdout, stderr) = t.run(&["replay", "--format", "json", &history], &[]);
    assert_eq!(code, 0, "{stderr}");
    let modelled = summary(&stdout);
    assert_eq!(modelled["records"], 4);
    assert_eq!(modelled["outcomes"]["compliant"], 0, "{stdout}");
    assert_eq!(modelled["outcomes"]["quarantine"], 2, "{stdout}");

    let (code, stdout, stderr) = t.run(&["replay", "--aws", "--format", "json", &history], &[]);
    assert_eq!(code, 0, "{stderr}");
    let current = summary(&stdout);
    assert_eq!(current["records"], 4);
    assert_eq!(current["outcomes"]["compliant"], 2, "{stdout}");
    assert_eq!(current["outcomes"]["quarantine"], 0, "{stdout}");
    assert_eq!(current["outcomes"]["alert"], 1, "{stdout}");
    assert_eq!(current["outcomes"]["error"], 1, "{stdout}");
    assert!(
        stderr.contains("read the current tags of 2 resources in 2 calls"),
        "{stderr}"
    );

    // Every decision, as JSON Lines: the refused queue says why.
    let decisions = t.dir.path().join("decisions.jsonl");
    let (code, _, stderr) = t.run(
        &[
            "replay",
            "--aws",
            "--decisions",
            decisions.to_str().unwrap(),
            &history,
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&decisions).unwrap();
    let error = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|d| d["outcome"] == "error")
        .unwrap();
    let reason = error["reason"].as_str().unwrap();
    assert!(reason.contains("account 999999999999"), "{reason}");
    assert!(
        reason.contains(&format!("reads account {}", t.account())),
        "{reason}"
    );

    // A replay plans; it never tags.
    assert!(t
        .aws
        .bucket_tags("hist-prod-s3-raw-eu-west-1")
        .await
        .is_empty());
    assert_eq!(
        t.aws.bucket_tags("classified-since").await.len(),
        fine.len()
    );
}

#[test]
fn replay_with_aws_and_bad_credentials_stops_before_reading_anything() {
    let Some(moto) = moto() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = runtime.block_on(cli(moto, "cli_replay_no_identity"));
    let file = t.event_file("e.json", &t.create_bucket_event("x", person(t.account())));
    // Moto answers GetCallerIdentity for any key, so the failure here is a closed endpoint.
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let (code, stdout, stderr) = t.run(
        &["replay", "--aws", &file],
        &[
            ("AWS_ENDPOINT_URL", closed.as_str()),
            ("AWS_MAX_ATTEMPTS", "1"),
        ],
    );
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.starts_with("error: AWS call failed: GetCallerIdentity (retryable): "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Issue 12, through the command line with `--state-table`: an untagged bucket's CreateBucket
/// delivered twice, then its `Tag Change on Resource` event, in two runs sharing the table →
/// exactly one message on the queue subscribed to the topic. Two processes deciding a new
/// problem at once → one message. Tags fixed → one "resolved" message in the bucket's thread.
#[tokio::test]
async fn check_with_a_state_table_alerts_a_problem_once_and_resolves_it_once() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_alert_once").await;
    crate::state::create_state_table(&t.aws).await;
    let table = crate::state::TABLE;
    let topic = t
        .aws
        .clients
        .sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let queue = t
        .aws
        .clients
        .sqs
        .create_queue()
        .queue_name("alerts")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    t.aws
        .clients
        .sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{}:alerts", t.account()))
        .send()
        .await
        .unwrap();
    let received = || async {
        let output = t
            .aws
            .clients
            .sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        output
            .messages()
            .iter()
            .map(|m| {
                let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                let body: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
                (
                    envelope["MessageAttributes"]["notice"]["Value"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    body["metadata"]["threadId"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    // Plan only (no --apply): the quarantine is planned and alerted, nothing is written.
    let bucket = "once-alerted-bucket";
    let arn = t.aws.create_bucket(bucket, &[]).await;
    let create = t.event_file(
        "create.json",
        &t.create_bucket_event(bucket, person(t.account())),
    );
    let args = |file: &str| {
        [
            "check",
            "--aws",
            "--alert-topic",
            &topic,
            "--state-table",
            table,
            file,
        ]
        .map(str::to_owned)
    };
    let run = |file: &str| {
        let args = args(file);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        t.run(&args, &[])
    };
    let (code, stdout, stderr) = {
        let args = [
            "check",
            "--aws",
            "--alert-topic",
            &topic,
            "--state-table",
            table,
            &create,
            &create,
        ];
        t.run(&args, &[])
    };
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let echo = t.event_file(
        "echo.json",
        &events::tag_change(t.account(), REGION, &arn, &[]),
    );
    let (_, stdout, stderr) = run(&echo);
    assert!(!stdout.contains("alert to"), "{stdout}\n{stderr}");
    assert_eq!(received().await, [("opened".to_owned(), arn.clone())]);

    // Two processes deciding another bucket's CreateBucket at once: one message.
    let other = "once-alerted-bucket-two";
    let other_arn = t.aws.create_bucket(other, &[]).await;
    let other_create = t.event_file(
        "other.json",
        &t.create_bucket_event(other, person(t.account())),
    );
    let children: Vec<_> = (0..2)
        .map(|_| {
            let args = args(&other_create);
            t.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            !stdout.contains("permanent"),
            "a loser fails retryable at most: {stdout}"
        );
    }
    assert_eq!(received().await, [("opened".to_owned(), other_arn)]);

    // The owner fixes the first bucket's tags: one "resolved" message in its thread.
    let fixed = [
        ("DataClassification", "Internal"),
        ("SourceSystems", "Shop"),
        ("ProcessOwner", "DataEngineering"),
    ];
    let tag_set = fixed
        .iter()
        .map(|(k, v)| {
            aws_sdk_s3::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap()
        })
        .collect();
    t.aws
        .clients
        .s3
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(tag_set))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let fix = t.event_file(
        "fix.json",
        &events::tag_change(t.account(), REGION, &arn, &fixed),
    );
    let (code, stdout, stderr) = run(&fix);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (_, stdout, _) = run(&fix);
    assert!(!stdout.contains("alert to"), "{stdout}");
    assert_eq!(received().await, [("resolved".to_owned(), arn)]);
}
