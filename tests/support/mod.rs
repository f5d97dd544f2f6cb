//! What both test binaries (`offline/`, `aws/`) share: paths, running the CLI, and the stand-ins
//! (`moto`: the local AWS; `event_pattern`: EventBridge's pattern matching; `events`: CloudTrail
//! records as the enforcer receives them; `shapes`: well-formed ARNs).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod event_pattern;
pub mod events;
pub mod moto;
pub mod shapes;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use enforcer::catalog::{CallKind, Catalog};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

/// `tests/corpora/`: the real CloudTrail records (see its SOURCES.md), part of the repository.
/// The shipped policies with a Slack route for DataEngineering (`slack_workspace_id`
/// `T0123ABCD`, `slack_channel_id` `C0123456789`) and InfoSec's own topic
/// (`arn:aws:sns:eu-west-1:111122223333:infosec-alerts`), in a temporary directory.
pub fn routed_policies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(repo_root().join("policies/ecometricx.toml")).unwrap();
    let mut routed = shipped.clone();
    for (owner, route) in [
        (
            "[owners.DataEngineering]\nslack_channel = \"#data-engineering\"\n",
            "slack_workspace_id = \"T0123ABCD\"\nslack_channel_id = \"C0123456789\"\n",
        ),
        (
            "[owners.InfoSec]\nslack_channel = \"#infosec-alerts\"\n",
            "sns_topic_arn = \"arn:aws:sns:eu-west-1:111122223333:infosec-alerts\"\n",
        ),
    ] {
        assert!(
            shipped.contains(owner),
            "policies/ecometricx.toml: no {owner}"
        );
        routed = routed.replace(owner, &format!("{owner}{route}"));
    }
    std::fs::write(dir.path().join("ecometricx.toml"), routed).unwrap();
    dir
}

pub fn corpora() -> PathBuf {
    enforcer_testkit::corpora_dir()
}

/// Every `*.jsonl` file of a corpus folder (`cloudtrail-real`, `cloudtrail-docs`), sorted.
pub fn corpus_files(folder: &str) -> Vec<PathBuf> {
    let files = enforcer_testkit::corpus_files(folder).unwrap();
    assert!(!files.is_empty(), "no records in tests/corpora/{folder}");
    files
}

/// The built binary.
pub fn enforcer_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_enforcer"))
}

/// Records of catalogued calls in the real corpus that carry no identifier anywhere:
/// `requestParameters` and `responseElements` null, or trimmed by the repository they come from to
/// the one field its rule reads (a policy document). No catalog can resolve them; the enforcer
/// reports them as unresolved (an error), never drops them. Listed so that any change is noticed.
pub const IDLESS_REAL: &[&str] = &[
    // A generated entry's record with `requestParameters` and `responseElements` null.
    "panther-analysis__rules_aws_cloudtrail_rules_aws_codebuild_made_public.jsonl:3",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_key_compromised.jsonl:2",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:4",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:7",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:8",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:9",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:10",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:11",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:12",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_unauthorized_api_call.jsonl:3",
];

/// The same for the documentation corpus (in file order): its PutBucketAcl example has
/// `"bucketName": ""`; older documentation examples of generated entries name the resource by a
/// field the current model does not have (rbin `identifier`, EC2 `keyName` without `keyPairId`),
/// so the record carries none of the entry's fields.
pub const IDLESS_DOCS: &[&str] = &[
    "amazon-ec2-user-guide__recycle-bin-ct.jsonl:1",
    "amazon-ec2-user-guide__recycle-bin-ct.jsonl:2",
    "amazon-s3-developer-guide__cloudtrail-logging.repaired.jsonl:1",
    "aws-cloudtrail-user-guide__cloudtrail-log-file-examples.jsonl:3",
];

/// Runs the built binary from the repository root, as a user would, without colour and without
/// an enforcer role from the environment.
pub fn enforcer(args: &[&str]) -> std::process::Output {
    std::process::Command::new(enforcer_bin())
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("ENFORCER_ROLE_ARN")
        .output()
        .unwrap()
}

/// Standard output as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Every line of standard output as JSON: the machine shape of every command is JSON Lines,
/// each record an object with a `kind`, and at most one `summary` record, last.
pub fn json_records(output: &std::process::Output) -> Vec<serde_json::Value> {
    let records: Vec<serde_json::Value> = stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect();
    for record in &records {
        assert!(record.is_object(), "not an object: {record}");
        assert!(
            record["kind"].is_string(),
            "a record without a kind: {record}"
        );
    }
    let summaries = records.iter().filter(|r| r["kind"] == "summary").count();
    assert!(summaries <= 1, "{summaries} summary records");
    if summaries == 1 {
        assert_eq!(
            records.last().unwrap()["kind"],
            "summary",
            "the summary is not last"
        );
    }
    records
}

/// The records of standard output's JSON Lines before the closing summary (see [`json_records`]).
pub fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    let mut records = json_records(output);
    if records.last().is_some_and(|r| r["kind"] == "summary") {
        records.pop();
    }
    records
}

/// The closing `summary` record of standard output's JSON Lines, if there is one.
pub fn json_summary(output: &std::process::Output) -> Option<serde_json::Value> {
    json_records(output)
        .pop()
        .filter(|record| record["kind"] == "summary")
}

/// IAM action prefixes that differ from the event source's.
pub fn iam_prefix(event_source: &str) -> &str {
    match event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(event_source)
    {
        "monitoring" => "cloudwatch",
        "amazonmq" => "mq",
        "tagging" => "tag",
        // eventSources of generated entries whose IAM prefix differs: cfn-lint (W3037) rejects
        // an action under a prefix IAM does not know.
        "catalog.marketplace" | "deployment-marketplace" => "aws-marketplace",
        "pinpoint" => "mobiletargeting",
        "servicecatalog-appregistry" => "servicecatalog",
        other => other,
    }
}

/// Tag actions of generated entries that IAM no longer knows (cfn-lint W3037): CloudHSM
/// Classic's (`cloudhsm:TagResource` of CloudHSM v2 stays), and those of the discontinued
/// CloudWatch Evidently and IoT Events. Their calls stay catalogued (an event of them is still
/// checked and alerted on); the roles are not granted the actions. The generator should drop them.
pub const RETIRED_TAG_ACTIONS: &[&str] = &[
    "cloudhsm:AddTagsToResource",
    "evidently:TagResource",
    "iotevents:TagResource",
];

/// Each catalogued service's own tagging actions: the IAM actions of its catalogued tag calls
/// (CloudTrail names the call after the action), and S3's read of the tag set it replaces.
pub fn catalog_tag_actions() -> BTreeSet<String> {
    let catalog = Catalog::builtin().unwrap();
    let mut actions: BTreeSet<String> = catalog
        .entries()
        .iter()
        .filter(|e| matches!(e.kind, CallKind::Tag | CallKind::ReplaceTags))
        .map(|e| format!("{}:{}", iam_prefix(&e.event_source), e.event_name))
        .filter(|action| action != "tag:TagResources")
        .filter(|action| !RETIRED_TAG_ACTIONS.contains(&action.as_str()))
        .collect();
    actions.insert("s3:GetBucketTagging".to_owned());
    actions
}
