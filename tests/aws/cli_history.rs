//! Issue 13 item 3 through the command line: `check --aws` and `scan --aws` decide as the Lambda
//! does. A stale event (an older `aws.tag` version than one already seen for the resource)
//! decides nothing; a resource the state saw classified is alerted about, never quarantined,
//! when it loses its classification, and a `restore` tag gets its last value back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};

use crate::cli::{cli, Cli};
use crate::support::events::{api_call, enforcer_role, person, tag_change};
use crate::support::moto::{moto, REGION};

/// A policy of one rule: an S3 bucket without `DataClassification` is quarantined (when that is
/// allowed at all); with `restore`, a lost `DataClassification` is written back.
fn policy_file(t: &Cli, restore: bool) -> String {
    let text = format!(
        "[policy]\nmode = \"enforce\"\n\
         [tags.DataClassification]\nvalues = [\"Public\", \"Internal\"]\nrestore = {restore}\n\
         [[rule]]\nname = \"classified\"\nresource_types = [\"s3:bucket\"]\n\
         require = [\"DataClassification\"]\naction = \"quarantine\"\n"
    );
    t.event_file(&format!("policy-restore-{restore}.toml"), &text)
}

/// A `Tag Change on Resource` event of `version` (its id unique to it).
fn tag_change_at(t: &Cli, arn: &str, version: u64, tags: &[(&str, &str)]) -> String {
    let mut event: Value =
        serde_json::from_str(&tag_change(t.account(), REGION, arn, tags)).unwrap();
    event["id"] = json!(format!("tag-change-{arn}-v{version}"));
    event["detail"]["version"] = json!(version);
    event.to_string()
}

/// The decisions of a `--format json` run (its summary line left out).
fn decisions(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| record["kind"] != "summary")
        .collect()
}

/// The older of two `Tag Change on Resource` events for one bucket, delivered after the newer
/// one, decides nothing and says it is stale: in one run with the state in memory, and across
/// two runs sharing the state table.
#[tokio::test]
async fn check_apply_decides_nothing_for_a_stale_tag_change_event() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_stale_event").await;
    let policies = policy_file(&t, false);
    let bucket = "fresh-then-stale";
    let arn = t
        .aws
        .create_bucket(bucket, &[("DataClassification", "Internal")])
        .await;
    let newer = t.event_file(
        "newer.json",
        &tag_change_at(&t, &arn, 7, &[("DataClassification", "Internal")]),
    );
    // Older: the bucket before it was classified; decided on its own it alerts.
    let older = t.event_file("older.json", &tag_change_at(&t, &arn, 3, &[]));
    let check = |state_table: Option<&str>, files: &[&str]| {
        let mut args = vec!["check", "--aws", "--apply", "--format", "json"];
        args.extend(["--policies", &policies]);
        if let Some(table) = state_table {
            args.extend(["--state-table", table]);
        }
        args.extend(files);
        t.run(&args, &[])
    };
    let assert_stale = |decision: &Value, output: &str| {
        assert_eq!(decision["outcome"], "ignored", "{output}");
        assert!(
            decision["resources"].as_array().is_none_or(Vec::is_empty),
            "{output}"
        );
        assert!(
            decision["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("stale event"),
            "{output}"
        );
    };

    // The older event decided alone is an alert: the stale one below is left out, not judged
    // compliant.
    let (_, stdout, stderr) = check(None, &[&older]);
    assert_eq!(
        decisions(&stdout)[0]["outcome"],
        "alert",
        "{stdout}\n{stderr}"
    );

    // One run, no table: the state is in memory for the run.
    let (code, stdout, stderr) = check(None, &[&newer, &older]);
    let output = format!("{stdout}\n{stderr}");
    assert_eq!(code, 0, "{output}");
    let [first, second] = decisions(&stdout).try_into().unwrap();
    assert_eq!(first["outcome"], "compliant", "{output}");
    assert_stale(&second, &output);

    // Two runs sharing the state table.
    crate::state::create_state_table(&t.aws).await;
    let table = crate::state::TABLE;
    let (code, stdout, stderr) = check(Some(table), &[&newer]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = check(Some(table), &[&older]);
    let output = format!("{stdout}\n{stderr}");
    assert_eq!(code, 0, "{output}");
    let [stale] = decisions(&stdout).try_into().unwrap();
    assert_stale(&stale, &output);
    assert_eq!(
        t.aws.bucket_tags(bucket).await["DataClassification"],
        "Internal"
    );
}

/// A bucket a first `check --aws --apply` saw classified loses its tags (`DeleteBucketTagging`):
/// the second run over that event alerts and does not quarantine; with `restore = true` it
/// writes the last value back.
#[tokio::test]
async fn check_apply_alerts_on_a_classified_buckets_deleted_tags_and_restores_when_told() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_deleted_classification").await;
    crate::state::create_state_table(&t.aws).await;
    let table = crate::state::TABLE;
    for restore in [false, true] {
        let policies = policy_file(&t, restore);
        let bucket = format!("classified-then-untagged-{restore}");
        let arn = t
            .aws
            .create_bucket(&bucket, &[("DataClassification", "Internal")])
            .await;
        let check = |file: &str| {
            t.run(
                &[
                    "check",
                    "--aws",
                    "--apply",
                    "--format",
                    "json",
                    "--policies",
                    &policies,
                    "--state-table",
                    table,
                    file,
                ],
                &[],
            )
        };
        let classified = t.event_file(
            &format!("classified-{restore}.json"),
            &tag_change_at(&t, &arn, 1, &[("DataClassification", "Internal")]),
        );
        let (code, stdout, stderr) = check(&classified);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert_eq!(decisions(&stdout)[0]["outcome"], "compliant", "{stdout}");

        t.aws
            .clients
            .s3
            .delete_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let deleted = t.event_file(
            &format!("deleted-{restore}.json"),
            &api_call(
                t.account(),
                REGION,
                person(t.account()),
                "s3.amazonaws.com",
                "DeleteBucketTagging",
                json!({"bucketName": bucket, "tagging": ""}),
                Value::Null,
            ),
        );
        let (code, stdout, stderr) = check(&deleted);
        let output = format!("{stdout}\n{stderr}");
        assert_eq!(code, 1, "{output}");
        let [decision] = decisions(&stdout).try_into().unwrap();
        let policy = t
            .aws
            .clients
            .s3
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await;
        assert!(policy.is_err(), "never quarantined: {output}");
        assert_eq!(decision["act"]["quarantined"], Value::Null, "{output}");
        let tags = t.aws.bucket_tags(&bucket).await;
        if restore {
            assert_eq!(decision["outcome"], "remediate", "{output}");
            assert_eq!(
                tags.get("DataClassification").map(String::as_str),
                Some("Internal")
            );
        } else {
            assert_eq!(decision["outcome"], "alert", "{output}");
            assert!(!tags.contains_key("DataClassification"), "{tags:?}");
        }
    }
}

/// `scan --aws --apply` over a bucket the state saw classified and that lost its tags alerts
/// instead of quarantining it; a bucket never classified is still quarantined by the scan.
#[tokio::test]
async fn scan_apply_does_not_quarantine_a_bucket_the_state_saw_classified() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "cli_scan_history").await;
    crate::state::create_state_table(&t.aws).await;
    let table = crate::state::TABLE;
    let policies = policy_file(&t, false);
    // The bucket policy a quarantine writes never locks out the enforcer's role.
    let role = enforcer_role(t.account());
    let classified = "scan-classified-once";
    t.aws
        .create_bucket(classified, &[("DataClassification", "Public")])
        .await;
    let scan = || {
        t.run(
            &[
                "scan",
                "--aws",
                "--apply",
                "--resource-type",
                "s3:bucket",
                "--format",
                "json",
                "--policies",
                &policies,
                "--state-table",
                table,
            ],
            &[("ENFORCER_ROLE_ARN", &role)],
        )
    };
    let (code, stdout, stderr) = scan();
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    t.aws
        .clients
        .s3
        .delete_bucket_tagging()
        .bucket(classified)
        .send()
        .await
        .unwrap();
    let never = "scan-never-classified";
    t.aws.create_bucket(never, &[]).await;
    let (code, stdout, stderr) = scan();
    let output = format!("{stdout}\n{stderr}");
    assert_eq!(code, 1, "{output}");
    let resources: Vec<Value> = decisions(&stdout)
        .iter()
        .flat_map(|d| d["resources"].as_array().cloned().unwrap_or_default())
        .collect();
    let action_of = |bucket: &str| {
        resources
            .iter()
            .find(|r| r["arn"] == format!("arn:aws:s3:::{bucket}"))
            .map(|r| r["action"].clone())
            .unwrap_or_else(|| panic!("{bucket} not decided: {output}"))
    };
    assert_eq!(action_of(classified), "alert", "{output}");
    assert_eq!(action_of(never), "quarantine", "{output}");
    let s3 = &t.aws.clients.s3;
    let policy = s3.get_bucket_policy().bucket(classified).send().await;
    assert!(policy.is_err(), "{output}");
    let policy = s3.get_bucket_policy().bucket(never).send().await;
    assert!(policy.is_ok(), "{output}");
}
