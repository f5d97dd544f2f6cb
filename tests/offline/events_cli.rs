//! `enforcer events list|coverage|pattern` as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use support::{enforcer, stdout};

use std::process::Output;

use serde_json::Value;

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", stdout(output)))
}

#[test]
fn list_prints_one_entry_per_catalogued_call() {
    let output = enforcer(&["events", "list", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let calls = json(&output);
    let calls = calls.as_array().unwrap();
    assert!(calls.len() >= 120, "{}", calls.len());
    let services: std::collections::BTreeSet<&str> = calls
        .iter()
        .map(|c| c["event_source"].as_str().unwrap())
        .collect();
    assert!(services.len() >= 35);
    for call in calls {
        for field in ["event_source", "event_name", "resource_type", "kind"] {
            assert!(call[field].is_string(), "{call}: {field}");
        }
    }
    let run_instances = calls
        .iter()
        .find(|c| c["event_name"] == "RunInstances")
        .unwrap();
    assert_eq!(run_instances["resource_type"], "ec2:instance");
    assert_eq!(run_instances["eventbridge_source"], "aws.ec2");
    let create_tags = calls
        .iter()
        .find(|c| c["event_source"] == "ec2.amazonaws.com" && c["event_name"] == "CreateTags")
        .unwrap();
    assert!(create_tags["resource_types"]
        .as_array()
        .unwrap()
        .contains(&Value::from("ec2:volume")));

    let text = enforcer(&["events", "list"]);
    assert_eq!(text.status.code(), Some(0));
    let text = stdout(&text);
    assert!(text.starts_with("EVENT SOURCE"));
    assert!(text.contains("glue.amazonaws.com"));
    assert!(text.contains(&format!(
        "{} calls over {} services",
        calls.len(),
        services.len()
    )));
}

#[test]
fn coverage_counts_every_outcome_and_ranks_unsupported_calls() {
    let output = enforcer(&[
        "events",
        "coverage",
        "--format",
        "json",
        "events/samples",
        "tests/fixtures/events/failed-call.json",
        "tests/fixtures/events/unsupported-and-read-only.jsonl",
        "tests/fixtures/events/one-bad-line.jsonl",
    ]);
    let report = json(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a decode error makes coverage exit 1"
    );
    // The hand-written samples and the generated ones in events/samples/generated/.
    let dir = support::repo_root().join("events/samples");
    let samples = std::fs::read_dir(&dir)
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
    // Every sample resolves, and so do the two good lines of one-bad-line.jsonl (S3 calls).
    assert_eq!(report["resolved"]["records"], samples + 2);
    assert_eq!(report["decode_errors"].as_array().unwrap().len(), 1);
    assert!(report["decode_errors"][0]["location"]
        .as_str()
        .unwrap()
        .ends_with("one-bad-line.jsonl:2"));
    assert_eq!(report["ignored"]["records"], 2);
    assert_eq!(
        report["unsupported"]["by_call"][0]["event_name"],
        "AssociateAddress"
    );
    assert_eq!(report["unresolved"]["records"], 0);
    let records = report["records"].as_u64().unwrap();
    let decoded = report["decoded"].as_u64().unwrap();
    assert_eq!(records, decoded + 1);
    let parts: u64 = [
        "resolved",
        "inferred",
        "ignored",
        "unsupported",
        "unresolved",
    ]
    .iter()
    .map(|k| report[k]["records"].as_u64().unwrap())
    .sum();
    assert_eq!(parts, decoded, "every decoded record is counted once");
}

#[test]
fn coverage_over_the_shared_corpora() {
    let shared = support::corpora();
    let mut args = vec![
        "events".to_owned(),
        "coverage".to_owned(),
        "--format".to_owned(),
        "json".to_owned(),
    ];
    for folder in ["cloudtrail-real", "cloudtrail-docs"] {
        args.extend(
            support::corpus_files(folder)
                .into_iter()
                .map(|p| p.display().to_string()),
        );
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = enforcer(&args);
    let report = json(&output);
    assert_eq!(report["records"], 519);
    assert_eq!(report["decoded"], 519);
    assert!(report["decode_errors"].as_array().unwrap().is_empty());
    assert_eq!(
        report["unresolved"]["records"].as_u64().unwrap() as usize,
        support::IDLESS_REAL.len() + support::IDLESS_DOCS.len(),
        "only the records that name no resource at all: {}",
        report["unresolved"]
    );
    assert!(report["resolved"]["records"].as_u64().unwrap() >= 150);
    let ranked: Vec<u64> = report["unsupported"]["by_call"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .collect();
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "ranked by count");
    assert!(shared.is_dir());

    let text = enforcer(
        &args[..2]
            .iter()
            .chain(&args[4..])
            .copied()
            .collect::<Vec<_>>(),
    );
    let text = stdout(&text);
    assert!(text.starts_with("Coverage of 519 records in "), "{text}");
    assert!(text.contains("unsupported"));
}

#[test]
fn pattern_prints_packed_call_rules_and_the_tag_change_rule() {
    let output = enforcer(&["events", "pattern"]);
    assert_eq!(output.status.code(), Some(0));
    let rules = json(&output);
    let rules = rules.as_array().unwrap();
    assert!(rules.len() >= 10);
    // S3's branch: its eventSource paired with its own names, in a rule listing aws.s3.
    let s3 = rules
        .iter()
        .find(|r| {
            r["event_pattern"]["source"]
                .as_array()
                .is_some_and(|s| s.contains(&Value::from("aws.s3")))
        })
        .unwrap();
    let detail = &s3["event_pattern"]["detail"];
    let branches = detail["$or"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![detail.clone()]);
    let branch = branches
        .iter()
        .find(|b| b["eventSource"] == serde_json::json!(["s3.amazonaws.com"]))
        .unwrap();
    assert!(branch["eventName"]
        .as_array()
        .unwrap()
        .contains(&Value::from("PutBucketTagging")));
    assert_eq!(rules.last().unwrap()["name"], "tag");

    let lines = enforcer(&["events", "pattern", "--format", "jsonl"]);
    let lines: Vec<Value> = stdout(&lines)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), rules.len());
}

#[test]
fn the_readmes_state_the_catalog_and_coverage_as_they_are() {
    let calls = json(&enforcer(&["events", "list", "--format", "json"]));
    let calls = calls.as_array().unwrap();
    let services: std::collections::BTreeSet<&str> = calls
        .iter()
        .map(|c| c["event_source"].as_str().unwrap())
        .collect();
    let size = format!("{} calls over {} services", calls.len(), services.len());
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    let events_readme =
        std::fs::read_to_string(support::repo_root().join("events/README.md")).unwrap();
    assert!(
        readme.contains(&format!("the catalog: {size}")),
        "README.md: {size}"
    );
    assert!(
        events_readme.contains(&format!("**{size}**")),
        "events/README.md: {size}"
    );

    let mut args = vec!["events", "coverage", "--format", "json"];
    let files: Vec<String> = ["cloudtrail-real", "cloudtrail-docs"]
        .iter()
        .flat_map(|folder| support::corpus_files(folder))
        .map(|p| p.display().to_string())
        .collect();
    args.extend(files.iter().map(String::as_str));
    let report = json(&enforcer(&args));
    let figures = [
        format!(
            "| read / decoded / decode errors | {} / {} / {} |",
            report["records"],
            report["decoded"],
            report["decode_errors"].as_array().unwrap().len()
        ),
        format!(
            "| resolved | {} records of {} catalogued calls, {} resources |",
            report["resolved"]["records"],
            report["resolved"]["calls"],
            report["resolved"]["resources"]
        ),
        format!(
            "| unsupported | {} records of {} calls",
            report["unsupported"]["records"], report["unsupported"]["calls"]
        ),
        format!("| unresolved | {}, ", report["unresolved"]["records"]),
        format!("| ignored | {}: ", report["ignored"]["records"]),
    ];
    for figure in figures {
        assert!(
            events_readme.contains(&figure),
            "events/README.md: {figure}"
        );
    }
}
