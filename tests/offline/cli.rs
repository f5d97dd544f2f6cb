//! The `enforcer` binary as a user runs it: exit codes, output shapes, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use support::{enforcer, json_lines, stderr, stdout};

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn assert_no_panic(output: &Output) {
    assert!(!stderr(output).contains("panicked"), "{}", stderr(output));
}

#[test]
fn compliant_event_exits_zero_with_a_readable_report() {
    let output = enforcer(&["check", "events/samples/ec2-CreateVolume.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("COMPLIANT   ec2 CreateVolume"), "{text}");
    assert!(
        text.contains("arn:aws:ec2:eu-west-1:111122223333:volume/vol-0123456789abcdef0"),
        "{text}"
    );
    assert!(
        text.contains("1 records: 1 compliant, 0 remediate"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
}

#[test]
fn violations_exit_one_and_json_is_one_object_per_record() {
    let output = enforcer(&[
        "check",
        "--format",
        "json",
        "events/samples/s3-CreateBucket.json",
        "events/samples/ec2-RunInstances.json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let decisions = json_lines(&output);
    assert_eq!(decisions.len(), 2);
    for decision in &decisions {
        for key in [
            "event_id",
            "event_source",
            "event_name",
            "outcome",
            "reason",
            "resources",
        ] {
            assert!(decision.get(key).is_some(), "missing {key}: {decision}");
        }
        for resource in decision["resources"].as_array().unwrap() {
            for key in ["arn", "type", "violations", "add_tags", "action"] {
                assert!(resource.get(key).is_some(), "missing {key}: {resource}");
            }
            for violation in resource["violations"].as_array().unwrap() {
                for key in ["tag", "kind", "rule", "message"] {
                    assert!(violation.get(key).is_some(), "missing {key}: {violation}");
                }
            }
        }
    }
    assert_eq!(decisions[0]["outcome"], "alert");
    assert_eq!(
        decisions[0]["resources"][0]["add_tags"]["ProcessOwner"],
        "DataEngineering"
    );
    assert_eq!(decisions[1]["outcome"], "remediate");
    assert_eq!(decisions[1]["resources"].as_array().unwrap().len(), 2);
}

#[test]
fn a_bad_record_is_reported_with_file_and_line_and_the_others_still_run() {
    let output = enforcer(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/events/one-bad-line.jsonl",
    ]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "bad input wins the exit code"
    );
    assert_no_panic(&output);
    let decisions = json_lines(&output);
    assert_eq!(decisions.len(), 3);
    assert_eq!(
        decisions[0]["outcome"], "remediate",
        "the CloudTrail bucket gets Internal/InfoSec"
    );
    assert_eq!(
        decisions[0]["resources"][0]["add_tags"]["DataClassification"],
        "Internal"
    );
    assert_eq!(decisions[1]["outcome"], "error");
    assert_eq!(
        decisions[1]["location"],
        "tests/fixtures/events/one-bad-line.jsonl:2"
    );
    assert!(
        decisions[1]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid type")
            || decisions[1]["reason"].as_str().unwrap().contains("EOF")
    );
    assert_eq!(
        decisions[2]["outcome"], "quarantine",
        "an unclassifiable bucket is quarantined"
    );
}

#[test]
fn failed_read_only_and_unsupported_calls_say_why() {
    let output = enforcer(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/events/failed-call.json",
        "tests/fixtures/events/unsupported-and-read-only.jsonl",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let decisions = json_lines(&output);
    let outcomes: Vec<&str> = decisions
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["ignored", "ignored", "unsupported"]);
    assert!(decisions[0]["reason"]
        .as_str()
        .unwrap()
        .contains("BucketAlreadyExists"));
    assert!(decisions[1]["reason"]
        .as_str()
        .unwrap()
        .contains("read-only"));
    assert!(decisions[2]["reason"]
        .as_str()
        .unwrap()
        .contains("AssociateAddress is not in the catalog"));
}

#[test]
fn stdin_gzip_log_files_and_arrays_are_read() {
    let record = std::fs::read_to_string(
        support::repo_root().join("tests/fixtures/events/failed-call.json"),
    )
    .unwrap();
    let log = format!("{{\"Records\": [{}, {}]}}", record.trim(), record.trim());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(log.as_bytes()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir
        .path()
        .join("111122223333_CloudTrail_eu-west-1_20261102T1100Z_abc.json.gz");
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let output = enforcer(&["check", "--format", "json", gz.to_str().unwrap()]);
    assert_eq!(json_lines(&output).len(), 2, "{}", stderr(&output));

    let mut child = Command::new(support::enforcer_bin())
        .args(["check", "--format", "json", "-"])
        .current_dir(support::repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("[{}, {}]", record.trim(), record.trim()).as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let decisions = json_lines(&output);
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[1]["location"], "-:1 (record #1)");
}

#[test]
fn directories_are_walked() {
    let output = enforcer(&["check", "--format", "json", "events/samples"]);
    // The hand-written samples and, one level down, the generated ones.
    let dir = support::repo_root().join("events/samples");
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(dir.join("generated")).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    // expected.toml is not an event file and is skipped; every sample holds one event.
    assert_eq!(json_lines(&output).len(), files);
    assert!(json_lines(&output).iter().all(|d| d["outcome"] != "error"));
}

#[test]
fn an_inventory_seeds_current_tags() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("tags.json");
    std::fs::write(
        &inventory,
        r#"{"arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60002":
            {"DataClassification": "Internal", "SourceSystems": "S3-Raw-Layer", "ProcessOwner": "DataEngineering", "DataDomain": "Telemetry"}}"#,
    )
    .unwrap();
    // DeleteTags removes DataClassification from a fully tagged instance: caught.
    let output = enforcer(&[
        "check",
        "--format",
        "json",
        "--tags",
        inventory.to_str().unwrap(),
        "events/samples/ec2-DeleteTags.json",
    ]);
    let decisions = json_lines(&output);
    let violations = decisions[0]["resources"][0]["violations"]
        .as_array()
        .unwrap();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0]["tag"], "DataClassification");
    assert_eq!(violations[0]["kind"], "missing");

    std::fs::write(&inventory, "[1, 2]").unwrap();
    let output = enforcer(&[
        "check",
        "--tags",
        inventory.to_str().unwrap(),
        "events/samples/ec2-DeleteTags.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("tags.json: the tag inventory must be a JSON object"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unreadable_and_garbage_input_exit_two_without_panicking() {
    let output = enforcer(&["check", "no/such/file.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).contains("no/such/file.json"),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains("cannot read file"),
        "{}",
        stdout(&output)
    );

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, [0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]).unwrap();
    let output = enforcer(&["check", garbage.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert_no_panic(&output);
    assert!(stdout(&output).contains("not UTF-8"), "{}", stdout(&output));

    let not_cloudtrail = dir.path().join("other.json");
    std::fs::write(&not_cloudtrail, r#"{"hello": "world"}"#).unwrap();
    let output = enforcer(&["check", not_cloudtrail.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).contains("not a CloudTrail record (missing field `eventSource`"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_bad_policy_exits_two_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[tags.DataClassification]\nvalues = [\"Public\", \"Confidential\"]\n\n[[rule]]\nname = \"r\"\nresource_types = [\"s3:bucket\"]\n[rule.set]\nDataClassification = \"Confidental\"\n",
    )
    .unwrap();
    let output = enforcer(&[
        "check",
        "--policies",
        dir.path().to_str().unwrap(),
        "events/samples/s3-CreateBucket.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("bad.toml:8:22"), "{err}");
    assert!(err.contains("did you mean `Confidential`?"), "{err}");
    assert!(
        err.contains("the policies do not validate (1 error)"),
        "{err}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn the_enforcers_own_calls_are_ignored() {
    let output = Command::new(support::enforcer_bin())
        .args([
            "check",
            "--format",
            "json",
            "events/samples/s3-CreateBucket.json",
        ])
        .current_dir(support::repo_root())
        .env(
            "ENFORCER_ROLE_ARN",
            "arn:aws:iam::111122223333:role/DataEngineer",
        )
        .output()
        .unwrap();
    let decisions = json_lines(&output);
    assert_eq!(decisions[0]["outcome"], "ignored");
    assert!(decisions[0]["reason"]
        .as_str()
        .unwrap()
        .contains("loop guard"));
}
