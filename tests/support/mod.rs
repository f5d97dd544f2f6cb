//! Shared helpers of the end-to-end tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod shapes;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

/// `shared/events` beside the clone (or `$ENFORCER_SHARED_EVENTS`). The shared corpus is part of
/// the test contract: a missing folder fails the test instead of skipping it.
pub fn shared_events() -> PathBuf {
    let dir = std::env::var_os("ENFORCER_SHARED_EVENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/events"));
    assert!(
        dir.join("cloudtrail-real").is_dir() && dir.join("cloudtrail-docs").is_dir(),
        "the shared CloudTrail corpus is missing at {}; set ENFORCER_SHARED_EVENTS to its folder",
        dir.display()
    );
    dir
}

/// Every `*.jsonl` file of a shared corpus folder, sorted.
pub fn corpus_files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared_events().join(folder))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
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
    "panther-analysis__rules_aws_cloudtrail_rules_aws_key_compromised.jsonl:2",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:4",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:7",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:8",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:9",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:10",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:11",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl:12",
    "panther-analysis__rules_aws_cloudtrail_rules_aws_unauthorized_api_call.jsonl:3",
    // A generated entry's record with `requestParameters` and `responseElements` null.
    "panther-analysis__rules_aws_cloudtrail_rules_aws_codebuild_made_public.jsonl:3",
];

/// The same for the documentation corpus: its PutBucketAcl example has `"bucketName": ""`.
pub const IDLESS_DOCS: &[&str] = &[
    "amazon-s3-developer-guide__cloudtrail-logging.repaired.jsonl:1",
    // Older documentation examples of generated entries: the response names the resource by a
    // field the current model does not have (rbin `identifier`, EC2 `keyName` without
    // `keyPairId`), so the record carries none of the entry's fields.
    "amazon-ec2-user-guide__recycle-bin-ct.jsonl:1",
    "amazon-ec2-user-guide__recycle-bin-ct.jsonl:2",
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

/// Standard output as JSON Lines.
pub fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}")))
        .collect()
}
