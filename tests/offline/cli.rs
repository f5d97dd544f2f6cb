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
    // Problems only by default: a compliant record is counted, not listed.
    let output = enforcer(&["check", "events/samples/ec2-CreateVolume.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "\n1 records: 1 compliant, 0 remediate, 0 alert, 0 quarantine, 0 ignored, 0 unsupported, 0 error\n\
         (1 compliant or ignored record not listed; --all lists them)\n"
    );
    let output = enforcer(&["check", "--all", "events/samples/ec2-CreateVolume.json"]);
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
    // A file that cannot be read is an error on stderr, not a record on stdout.
    let output = enforcer(&[
        "check",
        "no/such/file.json",
        "events/samples/ec2-CreateVolume.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: cannot read no/such/file.json: No such file or directory (os error 2)\n\
         error: 1 input could not be read (see above)\n"
    );
    assert!(!stdout(&output).contains("no/such"), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("\n1 records: 1 compliant"),
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
fn enforcer_with(args: &[&str], dir: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(support::enforcer_bin());
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ENFORCER_ROLE_ARN")
        .env_remove("ENFORCER_POLICY_DIR");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[test]
fn replay_of_a_path_that_names_nothing_exits_two() {
    let output = enforcer(&["replay", "/typo"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert_eq!(
        stderr(&output),
        "error: cannot read /typo: No such file or directory (os error 2)\n"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn explain_reads_an_event_from_stdin() {
    let event =
        std::fs::read(support::repo_root().join("events/samples/s3-CreateBucket.json")).unwrap();
    let mut child = Command::new(support::enforcer_bin())
        .args(["explain", "-"])
        .current_dir(support::repo_root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&event).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("s3.amazonaws.com CreateBucket (-:1)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // Enough output to overrun the pipe's buffer, so the writes meet the closed end.
    let mut args = vec!["check", "--all"];
    args.extend(std::iter::repeat_n("events/samples", 20));
    let mut child = Command::new(support::enforcer_bin())
        .args(&args)
        .current_dir(support::repo_root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(&mut child.stdout.take().unwrap(), &mut first).unwrap();
    // The read end is dropped here, like `| head` exiting.
    let output = child.wait_with_output().unwrap();
    assert_eq!(stderr(&output), "");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn missing_policies_name_where_they_were_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let sample = support::repo_root().join("events/samples/s3-CreateBucket.json");
    let output = enforcer_with(&["check", sample.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        format!(
            "error: no policies at {}: give --policies DIR or set ENFORCER_POLICY_DIR \
             (see `enforcer validate --help`)\n",
            dir.path().join("policies").display()
        )
    );

    let policies = support::repo_root().join("policies");
    let output = enforcer_with(
        &["check", sample.to_str().unwrap()],
        dir.path(),
        &[("ENFORCER_POLICY_DIR", policies.to_str().unwrap())],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

/// The environment of a machine with no AWS login at all.
fn no_aws_login(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let nowhere = dir.join("absent").display().to_string();
    vec![
        ("AWS_CONFIG_FILE", nowhere.clone()),
        ("AWS_SHARED_CREDENTIALS_FILE", nowhere),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("HOME", dir.display().to_string()),
    ]
}

fn without_aws_keys(command: &mut Command) -> &mut Command {
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
    ] {
        command.env_remove(key);
    }
    command
}

#[test]
fn no_aws_credentials_is_one_line_once_and_exit_three() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["check", "--aws", "events/samples"],
        vec!["scan", "--aws"],
        vec!["release", "arn:aws:s3:::some-bucket"],
        vec!["replay", "--aws", "events/samples/s3-CreateBucket.json"],
    ] {
        let mut command = Command::new(support::enforcer_bin());
        without_aws_keys(command.args(&args).current_dir(support::repo_root()));
        for (key, value) in no_aws_login(dir.path()) {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: unable to locate AWS credentials: tried the environment"),
            "{err}"
        );
        assert!(err.contains("`aws configure`"), "{err}");
        assert!(stdout(&output).is_empty(), "{}", stdout(&output));

        // -v adds the chain of causes.
        let output = command.arg("-v").output().unwrap();
        assert!(stderr(&output).lines().count() > 1, "{}", stderr(&output));
    }
}

#[test]
fn unreachable_aws_is_exit_three_with_the_count_on_stderr_and_in_the_summary() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{closed}");
    let output = Command::new(support::enforcer_bin())
        .args([
            "check",
            "--aws",
            "--endpoint-url",
            &url,
            "--region",
            "eu-west-1",
            "events/samples/s3-CreateBucket.json",
            "events/samples/ec2-CreateVolume.json",
        ])
        .current_dir(support::repo_root())
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "error: 2 AWS calls failed (see the FAILED lines above)\n"
    );
    assert!(
        stdout(&output).contains("planned: 0 to tag, 0 to quarantine, 0 alerts sent, 2 failures"),
        "{}",
        stdout(&output)
    );
}

/// Fields every record of `kind` carries: the README's "Machine output" table, checked.
fn assert_shape(record: &serde_json::Value, fields: &[&str]) {
    for field in fields {
        assert!(record.get(*field).is_some(), "missing {field}: {record}");
    }
}

#[test]
fn json_is_json_lines_with_a_kind_and_a_summary_last() {
    let output = enforcer(&[
        "check",
        "--format",
        "json",
        "events/samples/s3-CreateBucket.json",
        "events/samples/ec2-CreateVolume.json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let records = support::json_records(&output);
    assert_eq!(records.len(), 3);
    for decision in &records[..2] {
        assert_eq!(decision["kind"], "decision");
        assert_shape(
            decision,
            &["event_id", "event_name", "outcome", "resources"],
        );
    }
    let summary = support::json_summary(&output).unwrap();
    assert_shape(
        &summary,
        &["records", "outcomes", "unreadable_inputs", "exit_code"],
    );
    assert_eq!(summary["records"], 2);
    assert_eq!(summary["outcomes"]["alert"], 1);
    assert_eq!(summary["outcomes"]["compliant"], 1);
    assert_eq!(summary["exit_code"], 1);

    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("tags.json");
    std::fs::write(
        &inventory,
        r#"{"arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1": {}}"#,
    )
    .unwrap();
    let output = enforcer(&[
        "scan",
        "--tags",
        inventory.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(json_lines(&output).len(), 1, "{}", stderr(&output));
    let summary = support::json_summary(&output).unwrap();
    assert_eq!(summary["records"], 1);
    assert_eq!(summary["exit_code"], output.status.code().unwrap());
}

#[test]
fn test_and_validate_speak_json_lines_sarif_and_junit() {
    let output = enforcer(&["test", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let cases = json_lines(&output);
    assert!(!cases.is_empty());
    for case in &cases {
        assert_eq!(case["kind"], "case");
        assert_shape(case, &["id", "location", "passed", "mismatches"]);
    }
    let summary = support::json_summary(&output).unwrap();
    assert_eq!(summary["cases"], cases.len());
    assert_eq!(summary["failed"], 0);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[tags.DataClassification]\nvalues = [\"Public\", \"Confidential\"]\n\n[[rule]]\nname = \"r\"\nresource_types = [\"s3:bucket\"]\n[rule.set]\nDataClassification = \"Confidental\"\n",
    )
    .unwrap();
    let bad = dir.path().to_str().unwrap();

    let output = enforcer(&["validate", "--format", "json", bad]);
    assert_eq!(output.status.code(), Some(1));
    let diagnostics = json_lines(&output);
    assert_eq!(diagnostics[0]["kind"], "diagnostic");
    assert_shape(
        &diagnostics[0],
        &["level", "code", "message", "file", "line", "column"],
    );
    assert_eq!(support::json_summary(&output).unwrap()["errors"], 1);

    let output = enforcer(&["validate", "--format", "sarif", bad]);
    assert_eq!(output.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["level"], "error");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(8), Some(22))
    );
    assert!(result["message"]["text"]
        .as_str()
        .unwrap()
        .contains("Confidental"));
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"],
        result["ruleId"]
    );

    let output = enforcer(&["validate", "--format", "junit", bad]);
    assert_eq!(output.status.code(), Some(1));
    let xml = stdout(&output);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"enforcer validate\" tests=\"1\" failures=\"1\">"), "{xml}");
    assert!(xml.contains(":8:22: "), "{xml}");
    assert!(
        xml.contains("&quot;Confidental&quot;") || xml.contains("`Confidental`"),
        "{xml}"
    );
    assert!(xml.trim_end().ends_with("</testsuites>"), "{xml}");
}

#[test]
fn color_is_chosen_like_other_tools() {
    let sample = "events/samples/s3-CreateBucket.json";
    // The runner sets NO_COLOR; an explicit --color always still colours, never never does.
    let always = enforcer(&["--color", "always", "check", sample]);
    assert!(
        stdout(&always).contains("\x1b[33;1mALERT"),
        "{}",
        stdout(&always)
    );
    let never = enforcer(&["check", "--color", "never", sample]);
    assert!(!stdout(&never).contains('\x1b'));
    let auto = enforcer(&["check", sample]);
    assert!(!stdout(&auto).contains('\x1b'), "not a terminal");
}

#[test]
fn completions_and_a_man_page_come_from_the_command_definition() {
    let output = enforcer(&["completions", "bash"]);
    assert_eq!(output.status.code(), Some(0));
    let script = stdout(&output);
    assert!(script.contains("_enforcer()"), "{script}");
    assert!(script.contains("--endpoint-url"), "every flag is completed");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let output = enforcer(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(stdout(&output).contains("replay"), "{shell}");
    }

    let output = enforcer(&["man"]);
    assert_eq!(output.status.code(), Some(0));
    let page = stdout(&output);
    assert!(page.contains(".TH enforcer"), "{page}");
    assert!(
        page.contains("Event\\-driven tag and data\\-classification enforcer"),
        "{page}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_in_an_input_directory_is_said_once_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        support::repo_root().join("events/samples/s3-CreateBucket.json"),
        dir.path().join("one.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    let output = enforcer(&["check", "--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(json_lines(&output).len(), 1, "{}", stderr(&output));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("warning: File system loop found"), "{err}");
}
