//! `enforcer events list|coverage|pattern` as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use support::{enforcer, json_lines, json_summary, stdout};

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use serde_json::Value;

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", stdout(output)))
}

/// The `summary` record of a command's JSON Lines.
fn summary(output: &Output) -> Value {
    json_summary(output).unwrap_or_else(|| panic!("no summary record: {}", stdout(output)))
}

/// The records of `kind` in a command's JSON Lines.
fn records_of(output: &Output, kind: &str) -> Vec<Value> {
    json_lines(output)
        .into_iter()
        .filter(|record| record["kind"] == kind)
        .collect()
}

/// `events coverage --format json` over both real-record corpora.
fn corpora_coverage() -> Output {
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
    enforcer(&args)
}

#[test]
fn list_prints_one_entry_per_catalogued_call() {
    let output = enforcer(&["events", "list", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let calls = records_of(&output, "call");
    assert!(calls.len() >= 120, "{}", calls.len());
    let services: BTreeSet<&str> = calls
        .iter()
        .map(|c| c["event_source"].as_str().unwrap())
        .collect();
    assert!(services.len() >= 35);
    for call in &calls {
        for field in ["event_source", "event_name", "resource_type", "call_kind"] {
            assert!(call[field].is_string(), "{call}: {field}");
        }
    }
    let totals = summary(&output);
    assert_eq!(totals["calls"], calls.len());
    assert_eq!(totals["services"], services.len());
    let generated = calls.iter().filter(|c| c["generated"] == true).count();
    assert_eq!(totals["generated"], generated);
    assert_eq!(totals["hand_written"], calls.len() - generated);
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
    let report = summary(&output);
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
    assert_eq!(report["decode_errors"]["records"], 1);
    let decode_errors = records_of(&output, "decode_error");
    assert_eq!(decode_errors.len(), 1);
    assert!(decode_errors[0]["location"]
        .as_str()
        .unwrap()
        .ends_with("one-bad-line.jsonl:2"));
    assert_eq!(report["ignored"]["records"], 2);
    let unsupported: Vec<Value> = records_of(&output, "call_count")
        .into_iter()
        .filter(|c| c["status"] == "unsupported")
        .collect();
    assert_eq!(unsupported[0]["event_name"], "AssociateAddress");
    assert_eq!(report["exit_code"], 1);
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
    let output = corpora_coverage();
    let report = summary(&output);
    assert_eq!(report["records"], 519);
    assert_eq!(report["decoded"], 519);
    assert_eq!(report["decode_errors"]["records"], 0);
    assert_eq!(
        report["unresolved"]["records"].as_u64().unwrap() as usize,
        support::IDLESS_REAL.len() + support::IDLESS_DOCS.len(),
        "only the records that name no resource at all: {}",
        report["unresolved"]
    );
    assert!(report["resolved"]["records"].as_u64().unwrap() >= 150);
    let ranked: Vec<u64> = records_of(&output, "call_count")
        .iter()
        .filter(|c| c["status"] == "unsupported")
        .map(|c| c["count"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ranked.len() as u64,
        report["unsupported"]["calls"].as_u64().unwrap()
    );
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "ranked by count");
    assert!(shared.is_dir());

    let mut args = vec!["events".to_owned(), "coverage".to_owned()];
    for folder in ["cloudtrail-real", "cloudtrail-docs"] {
        args.extend(
            support::corpus_files(folder)
                .into_iter()
                .map(|p| p.display().to_string()),
        );
    }
    let text = enforcer(&args.iter().map(String::as_str).collect::<Vec<_>>());
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
    let totals = summary(&enforcer(&["events", "list", "--format", "json"]));
    let size = format!(
        "{} calls over {} services",
        totals["calls"], totals["services"]
    );
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

    let report = summary(&corpora_coverage());
    let figures = [
        format!(
            "| read / decoded / decode errors | {} / {} / {} |",
            report["records"], report["decoded"], report["decode_errors"]["records"]
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

/// The rows of the README's "Machine output" table printed by `command` alone: kind → the
/// fields besides `kind`, as documented.
fn documented_records(command: &str) -> BTreeMap<String, BTreeSet<String>> {
    let readme = std::fs::read_to_string(support::repo_root().join("README.md")).unwrap();
    let table = readme
        .split("## Machine output")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut rows = BTreeMap::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if ticked(cells[2]) == [command] {
            for kind in ticked(cells[1]) {
                rows.insert(kind, ticked(cells[3]).into_iter().collect());
            }
        }
    }
    rows
}

/// Every line of each output is a JSON object with a documented `kind` and exactly the
/// documented fields, each output ends with its summary, and together they print every
/// documented kind.
fn assert_documented(outputs: &[&Output], command: &str) {
    let documented = documented_records(command);
    assert!(
        documented.contains_key("summary"),
        "{command}: {documented:?}"
    );
    let mut seen = BTreeSet::new();
    for output in outputs {
        let records = support::json_records(output);
        assert_eq!(records.last().unwrap()["kind"], "summary");
        for record in &records {
            let kind = record["kind"].as_str().unwrap();
            let fields = documented.get(kind).unwrap_or_else(|| {
                panic!("{command}: kind `{kind}` is not in the README: {record}")
            });
            let actual: BTreeSet<String> = record
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "kind")
                .cloned()
                .collect();
            assert_eq!(&actual, fields, "{command}: fields of `{kind}`: {record}");
            seen.insert(kind.to_owned());
        }
    }
    let documented_kinds: BTreeSet<String> = documented.into_keys().collect();
    assert_eq!(
        seen, documented_kinds,
        "{command}: every documented kind is printed"
    );
}

#[test]
fn events_json_lines_follow_the_documented_fields() {
    let list = enforcer(&["events", "list", "--format", "json"]);
    assert_eq!(list.status.code(), Some(0));
    assert_documented(&[&list], "events list");
    // The fixtures give a decode error, ignored and unsupported records; the corpora give
    // unresolved and inferred ones.
    let fixtures = enforcer(&[
        "events",
        "coverage",
        "--format",
        "json",
        "events/samples",
        "tests/fixtures/events/unsupported-and-read-only.jsonl",
        "tests/fixtures/events/one-bad-line.jsonl",
    ]);
    assert_eq!(fixtures.status.code(), Some(1));
    let corpora = corpora_coverage();
    assert_documented(&[&fixtures, &corpora], "events coverage");
    let statuses: BTreeSet<String> = records_of(&corpora, "call_count")
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["inferred", "resolved", "unsupported"]
            .map(str::to_owned)
            .into(),
    );
}
