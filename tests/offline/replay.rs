//! `enforcer replay` on generated and hand-made CloudTrail trees: order, the tag model,
//! summary counts, decode errors, gzip and plain, and the JSON and HTML outputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use enforcer::act::InMemoryTagStore;
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::engine::{Decision, Outcome};
use enforcer::event::{decode_one, Location, RecordHeader, Resolution, ResolveOptions, Resolver};
use enforcer::policy::PolicySet;
use enforcer::replay::{
    order_files, quick, replay, CatalogIndex, Quick, ReplayOptions, ReplaySink, ReplaySummary,
};
use enforcer_testkit::generate::{generate, Generated, GeneratorConfig, Templates};
use serde_json::{json, Value};

/// What a replay decides with: the shipped policies, and the in-memory model of every
/// resource's tags the events build.
struct Replaying {
    resolver: Resolver,
    policies: PolicySet,
    model: InMemoryTagStore,
    runtime: tokio::runtime::Runtime,
}

impl Replaying {
    fn replay(
        &self,
        files: &[PathBuf],
        options: &ReplayOptions,
        sink: &mut dyn ReplaySink,
    ) -> std::io::Result<ReplaySummary> {
        replay(
            &self.runtime,
            &self.resolver,
            &self.policies,
            &self.model,
            files,
            options,
            sink,
        )
    }
}

fn replaying() -> Replaying {
    let policies = enforcer::policy::load(
        &[support::repo_root().join("policies")],
        KNOWN_RESOURCE_TYPES,
    )
    .unwrap();
    Replaying {
        resolver: Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default()),
        policies: policies.set,
        model: InMemoryTagStore::new(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
    }
}

#[derive(Default)]
struct Collect(Vec<Decision>, Vec<Option<i64>>);

impl ReplaySink for Collect {
    fn decision(&mut self, decision: &Decision, time: Option<i64>) -> std::io::Result<()> {
        self.0.push(decision.clone());
        self.1.push(time);
        Ok(())
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    order_files(out)
}

fn run(
    replaying: &Replaying,
    dir: &Path,
    options: ReplayOptions,
) -> (ReplaySummary, Vec<Decision>) {
    let (summary, sink) = run_collect(replaying, dir, options);
    (summary, sink.0)
}

fn run_collect(
    replaying: &Replaying,
    dir: &Path,
    options: ReplayOptions,
) -> (ReplaySummary, Collect) {
    let mut sink = Collect::default();
    let summary = replaying
        .replay(&files_under(dir), &options, &mut sink)
        .unwrap();
    (summary, sink)
}

fn options(threads: usize, every_decision: bool) -> ReplayOptions {
    ReplayOptions {
        threads,
        window_minutes: 15,
        every_decision,
        own_principals: false,
    }
}

fn ec2(name: &str, time: &str, request: Value, response: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "eventTime": time,
        "eventID": format!("{name}@{time}"),
        "awsRegion": "eu-west-1",
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333"},
        "requestParameters": request,
        "responseElements": response,
    })
}

fn create_volume(time: &str, id: &str) -> Value {
    let tags = json!([
        {"key": "DataClassification", "value": "Confidential"},
        {"key": "SourceSystems", "value": "ExternalAPI"},
        {"key": "ProcessOwner", "value": "DataEngineering"},
    ]);
    ec2(
        "CreateVolume",
        time,
        json!({"size": 10, "tagSpecificationSet": {"items": [{"resourceType": "volume", "tags": tags}]}}),
        json!({"volumeId": id}),
    )
}

fn tag_call(name: &str, time: &str, id: &str, tags: Value) -> Value {
    ec2(
        name,
        time,
        json!({"resourcesSet": {"items": [{"resourceId": id}]}, "tagSet": {"items": tags}}),
        Value::Null,
    )
}

/// Writes a CloudTrail log file under `root` in the S3 layout, named by `stamp`
/// (`YYYYMMDDTHHMMZ`), gzip-compressed.
fn write_log(root: &Path, region: &str, stamp: &str, records: &[Value]) -> PathBuf {
    let dir = root.join(format!(
        "AWSLogs/111122223333/CloudTrail/{region}/{}/{}/{}",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "111122223333_CloudTrail_{region}_{stamp}_X.json.gz"
    ));
    let body = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&body).unwrap();
    std::fs::write(&path, encoder.finish().unwrap()).unwrap();
    path
}

fn names(decisions: &[Decision]) -> Vec<String> {
    decisions.iter().map(|d| d.event_name.clone()).collect()
}

#[test]
fn events_are_applied_in_event_time_order_across_files_to_the_tag_model() {
    let dir = tempfile::tempdir().unwrap();
    let vol = "vol-0aaaaaaaaaaaaaaa1";
    // Sorted by path this file comes first; by delivery time (12:35) it comes last. Within it
    // the records are out of order.
    write_log(
        dir.path(),
        "aa-first-1",
        "20240301T1235Z",
        &[
            tag_call(
                "CreateTags",
                "2024-03-01T12:30:00Z",
                vol,
                json!([{"key": "DataClassification", "value": "Internal"}]),
            ),
            tag_call(
                "DeleteTags",
                "2024-03-01T12:20:00Z",
                vol,
                json!([{"key": "DataClassification"}]),
            ),
        ],
    );
    write_log(
        dir.path(),
        "zz-last-1",
        "20240301T1205Z",
        &[create_volume("2024-03-01T12:00:00Z", vol)],
    );
    for threads in [1, 2] {
        let replaying = replaying();
        let (summary, decisions) = run(&replaying, dir.path(), options(threads, true));
        assert_eq!(
            names(&decisions),
            ["CreateVolume", "DeleteTags", "CreateTags"]
        );
        let tags = |d: &Decision| d.resources[0].tags.clone();
        assert_eq!(decisions[0].outcome, Outcome::Compliant);
        assert_eq!(tags(&decisions[0]).len(), 3);
        // The model remembers the tags set at creation; DeleteTags removed one of them.
        assert_eq!(decisions[1].outcome, Outcome::Alert, "{:?}", decisions[1]);
        assert!(!tags(&decisions[1]).contains_key("DataClassification"));
        assert_eq!(tags(&decisions[1])["ProcessOwner"], "DataEngineering");
        assert_eq!(decisions[2].outcome, Outcome::Compliant);
        assert_eq!(tags(&decisions[2])["DataClassification"], "Internal");
        let arn = format!("arn:aws:ec2:eu-west-1:111122223333:volume/{vol}");
        assert_eq!(
            replaying.model.snapshot()[&arn]["DataClassification"],
            "Internal"
        );
        assert_eq!(summary.late_records, 0);
        assert_eq!(summary.records, 3);
        assert_eq!(summary.first_event.as_deref(), Some("2024-03-01T12:00:00Z"));
        assert_eq!(summary.last_event.as_deref(), Some("2024-03-01T12:30:00Z"));
        assert_eq!(summary.daily.len(), 1);
        assert_eq!(summary.daily[0].date, "2024-03-01");
        assert_eq!(summary.daily[0].by_owner["DataEngineering"], 1);
    }
}

#[test]
fn a_record_older_than_the_window_is_applied_late_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let vol = "vol-0bbbbbbbbbbbbbbb2";
    write_log(
        dir.path(),
        "eu-west-1",
        "20240301T1300Z",
        &[
            tag_call(
                "CreateTags",
                "2024-03-01T12:00:00Z",
                vol,
                json!([{"key": "A", "value": "1"}]),
            ),
            create_volume("2024-03-01T12:58:00Z", "vol-0ddddddddddddddd4"),
        ],
    );
    write_log(
        dir.path(),
        "eu-west-1",
        "20240301T1305Z",
        &[tag_call(
            "DeleteTags",
            "2024-03-01T11:00:00Z",
            vol,
            json!([{"key": "A"}]),
        )],
    );
    // 12:00 was applied once 12:58 was read (more than 15 minutes newer); 11:00 comes after it.
    let (summary, decisions) = run(&replaying(), dir.path(), options(2, true));
    assert_eq!(
        names(&decisions),
        ["CreateTags", "DeleteTags", "CreateVolume"]
    );
    assert_eq!(summary.late_records, 1);
    assert!(summary.render_text().contains("applied late"));
    let wide = ReplayOptions {
        window_minutes: 120,
        ..options(2, true)
    };
    let (summary, decisions) = run(&replaying(), dir.path(), wide);
    assert_eq!(
        names(&decisions),
        ["DeleteTags", "CreateTags", "CreateVolume"]
    );
    assert_eq!(summary.late_records, 0);
}

fn templates() -> Templates {
    let shared = support::corpora();
    Templates::from_dirs(
        &[
            shared.join("cloudtrail-real"),
            shared.join("cloudtrail-docs"),
        ],
        &Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default()),
    )
    .unwrap()
}

fn small_history(dir: &Path, gzip: bool) -> Generated {
    let config = GeneratorConfig {
        seed: 11,
        target_bytes: 1_500_000,
        records_per_file: 150,
        days: 4,
        catalogued_share: Some(0.3),
        resources: 40,
        gzip,
        ..GeneratorConfig::default()
    };
    generate(&templates(), &config, dir).unwrap()
}

/// The parts of a summary that must not depend on threads, the fast path or compression.
fn comparable(summary: &ReplaySummary) -> Value {
    let mut value = serde_json::to_value(summary).unwrap();
    let object = value.as_object_mut().unwrap();
    for volatile in ["seconds", "threads", "bytes_read"] {
        object.remove(volatile);
    }
    // Locations name the temporary tree and the compression; the listing order of records that
    // could not be resolved follows the workers. Compare file name, line and message, sorted.
    for listing in ["unresolved", "decode_errors"] {
        if let Some(Value::Array(items)) = object.get_mut(listing) {
            for item in items.iter_mut() {
                if let Some(Value::String(location)) = item.get_mut("location") {
                    let name = location.rsplit('/').next().unwrap_or_default();
                    *location = name.replacen(".json.gz", ".json", 1);
                }
            }
            items.sort_by_key(ToString::to_string);
        }
    }
    value
}

#[test]
fn generated_history_gives_one_summary_whatever_the_threads_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let generated = small_history(dir.path(), true);
    assert!(generated.files >= 5, "{generated:?}");
    let (reference, _) = run(&replaying(), dir.path(), options(1, false));
    assert_eq!(reference.records, generated.records);
    assert_eq!(reference.files, generated.files as u64);
    assert_eq!(reference.bytes_decoded, generated.json_bytes);
    let outcomes: u64 = reference.outcomes.values().sum();
    assert_eq!(outcomes, generated.records);
    assert!(reference.count(Outcome::Unsupported) > 0);
    assert!(reference.count(Outcome::Ignored) > 0);
    assert!(reference.violations > 0 && !reference.violations_by_rule.is_empty());
    assert!(!reference.daily.is_empty() && reference.daily.len() <= 5);
    assert_eq!(reference.decode_errors_total, 0);
    assert_eq!(
        reference.late_records, 0,
        "a generated S3 tree is ordered exactly"
    );
    for (threads, every, own) in [
        (2, false, false),
        (2, true, false),
        (1, true, true),
        (2, false, true),
    ] {
        let options = ReplayOptions {
            own_principals: own,
            ..options(threads, every)
        };
        let (summary, sink) = run_collect(&replaying(), dir.path(), options);
        assert_eq!(
            comparable(&summary),
            comparable(&reference),
            "threads {threads}, every decision {every}, own principals {own}"
        );
        if every {
            assert_eq!(sink.0.len() as u64, generated.records);
            let times: Vec<i64> = sink.1.iter().map(|t| t.unwrap()).collect();
            assert!(
                times.windows(2).all(|w| w[0] <= w[1]),
                "decisions come in eventTime order across {} files",
                generated.files
            );
        }
    }
}

#[test]
fn gzip_and_plain_trees_give_the_same_summary() {
    let gz = tempfile::tempdir().unwrap();
    let plain = tempfile::tempdir().unwrap();
    small_history(gz.path(), true);
    small_history(plain.path(), false);
    assert!(files_under(plain.path())
        .iter()
        .all(|p| p.extension().is_some_and(|e| e == "json")));
    let (a, _) = run(&replaying(), gz.path(), options(2, false));
    let (b, _) = run(&replaying(), plain.path(), options(2, false));
    assert!(a.bytes_read < b.bytes_read);
    assert_eq!(comparable(&a), comparable(&b));
}

#[test]
fn decode_errors_are_reported_with_file_and_line_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let good = create_volume("2024-03-01T12:00:00Z", "vol-0ccccccccccccccc3");
    let gz = write_log(
        dir.path(),
        "eu-west-1",
        "20240301T1205Z",
        std::slice::from_ref(&good),
    );
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(
        dir.path().join("truncated.json.gz"),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        format!("{{\"Records\": [\n{good},\n{{\"eventSource\": 1, \"eventName\": \"X\"}}\n]}}"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.jsonl"),
        format!("{good}\n{{not json\n{good}\n"),
    )
    .unwrap();
    for every in [false, true] {
        let (summary, decisions) = run(&replaying(), dir.path(), options(2, every));
        // The truncated gzip: its record cut off, and the cut itself.
        assert_eq!(
            summary.decode_errors_total, 4,
            "{:?}",
            summary.decode_errors
        );
        let mut locations: Vec<&str> = summary
            .decode_errors
            .iter()
            .map(|e| e.location.as_str())
            .collect();
        locations.sort_unstable();
        let name = |file: &str| dir.path().join(file).display().to_string();
        assert_eq!(
            locations,
            [
                format!("{}:3 (record #1)", name("bad.json")),
                format!("{}:2", name("bad.jsonl")),
                format!("{}:1", name("truncated.json.gz")),
                format!("{}:1 (record #0)", name("truncated.json.gz")),
            ]
        );
        assert!(summary
            .decode_errors
            .iter()
            .any(|e| e.message.contains("gzip")));
        assert_eq!(summary.count(Outcome::Error), 4);
        // Four good records: one in the log file, one in bad.json, two in bad.jsonl.
        assert_eq!(summary.count(Outcome::Compliant), 4);
        assert_eq!(summary.records, 8);
        if every {
            assert_eq!(decisions.len(), 8);
        }
        assert!(summary.render_text().contains("bad.jsonl:2"));
    }
}

#[test]
fn fast_path_agrees_with_the_resolver_on_every_corpus_record() {
    let catalog = Catalog::builtin().unwrap();
    let index = CatalogIndex::new(&catalog);
    let resolver = Resolver::new(catalog, ResolveOptions::default());
    let mut settled = 0;
    for folder in ["cloudtrail-real", "cloudtrail-docs"] {
        for path in support::corpus_files(folder) {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let location = Location {
                    file: "f".into(),
                    line: 1,
                    index: None,
                };
                let decoded = decode_one(line, location);
                let Ok(header) = RecordHeader::parse(line) else {
                    continue;
                };
                let (_, event) = decoded.expect("a record whose header parses decodes");
                let resolution = resolver.resolve(&event);
                match (quick(&header, &index, false), resolution) {
                    (Quick::Decode, _) => continue,
                    (Quick::Ignored, Resolution::Ignored { .. }) => {}
                    (
                        Quick::Unsupported { source, name },
                        Resolution::Unsupported { header, .. },
                    ) => {
                        assert_eq!(
                            (source, name),
                            (header.event_source.as_str(), header.event_name.as_str())
                        );
                    }
                    (quick, resolution) => {
                        panic!("{line}: fast path {quick:?}, resolver {resolution:?}")
                    }
                }
                settled += 1;
            }
        }
    }
    // With the generated catalog, more records are catalogued or uncatalogued creates the
    // resolver may infer from their response: those take the full decode (251 settle today).
    assert!(settled > 200, "{settled}");
}

fn well_formed(markup: &str) -> Result<(), String> {
    let body = markup.strip_prefix("<!DOCTYPE html>").ok_or("no doctype")?;
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(['<', '&']) {
        let (text, tail) = rest.split_at(at);
        if text.contains('>') {
            return Err(format!("stray > in {text:?}"));
        }
        if tail.starts_with('&') {
            let end = tail.find(';').ok_or("unterminated entity")?;
            let entity = &tail[1..end];
            if !["amp", "lt", "gt", "quot", "#39"].contains(&entity) {
                return Err(format!("unknown entity {entity}"));
            }
            rest = &tail[end + 1..];
            continue;
        }
        let end = tail.find('>').ok_or("unterminated tag")?;
        let tag = &tail[1..end];
        rest = &tail[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if open != name {
                return Err(format!("<{open}> closed by </{name}>"));
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or_default();
            if tag.matches('"').count() % 2 != 0 {
                return Err(format!("unbalanced quotes in <{tag}>"));
            }
            if name == "style" {
                let close = rest.find("</style>").ok_or("unclosed style")?;
                rest = &rest[close + "</style>".len()..];
                continue;
            }
            stack.push(name.to_owned());
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed {stack:?}"))
    }
}

#[test]
fn the_command_writes_a_json_summary_every_decision_and_an_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let generated = small_history(dir.path(), true);
    std::fs::write(dir.path().join("broken.json"), "{\"Records\": [").unwrap();
    let digests = dir
        .path()
        .join("AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2024/01/01");
    std::fs::create_dir_all(&digests).unwrap();
    std::fs::write(
        digests
            .join("111122223333_CloudTrail-Digest_eu-west-1_trail_us-east-1_20240101T010000Z.json"),
        r#"{"awsAccountId":"111122223333","digestStartTime":"2024-01-01T00:00:00Z","logFiles":[]}"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let decisions = out.path().join("decisions.jsonl");
    let report = out.path().join("report.html");
    let output = Command::new(support::enforcer_bin())
        .args([
            "replay",
            "--format",
            "json",
            "--threads",
            "2",
            "--decisions",
        ])
        .arg(&decisions)
        .arg("--html")
        .arg(&report)
        .arg(dir.path())
        .current_dir(support::repo_root())
        .env("NO_COLOR", "1")
        .env_remove("ENFORCER_ROLE_ARN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.is_empty(),
        "no progress bar when not a terminal: {stderr}"
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["records"], generated.records + 1);
    assert_eq!(
        summary["decode_errors_total"], 1,
        "digest files are skipped, the broken file is reported"
    );
    assert!(summary["decode_errors"][0]["location"]
        .as_str()
        .unwrap()
        .ends_with("broken.json:1"));
    for key in [
        "outcomes",
        "violations_by_rule",
        "violations_by_owner",
        "violations_by_service",
        "violations_by_principal",
        "unsupported",
        "top_resources",
        "daily",
    ] {
        assert!(summary.get(key).is_some(), "missing {key}");
    }
    let lines: Vec<Value> = std::fs::read_to_string(&decisions)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, generated.records + 1);
    let times: Vec<&str> = lines
        .iter()
        .filter_map(|line| line["event_time"].as_str())
        .collect();
    assert_eq!(
        times.len() as u64,
        generated.records,
        "every record has its time"
    );
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in eventTime order");
    let outcomes: u64 = summary["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(outcomes, lines.len() as u64);
    let html = std::fs::read_to_string(&report).unwrap();
    well_formed(&html).unwrap();
    assert!(
        html.contains("<svg") && html.contains("<rect"),
        "the chart is drawn"
    );
    assert!(html.contains("Top offending resources") && html.contains("Unsupported calls"));
    assert!(
        !html.contains("<script") && !html.contains("src=") && !html.contains("href="),
        "self-contained"
    );

    let text = Command::new(support::enforcer_bin())
        .args(["replay", "--threads", "1"])
        .arg(dir.path())
        .current_dir(support::repo_root())
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Decisions by outcome") && text.contains("Unsupported calls"),
        "{text}"
    );
    assert!(text.contains("broken.json:1"), "{text}");
}

#[test]
fn the_command_rejects_missing_input() {
    // `replay --aws` is tested against the local AWS stand-in in tests/aws/cli.rs.
    let empty = tempfile::tempdir().unwrap();
    let output = Command::new(support::enforcer_bin())
        .args(["replay"])
        .arg(empty.path())
        .current_dir(support::repo_root())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no CloudTrail files"));
}

struct Failing;

impl ReplaySink for Failing {
    fn decision(&mut self, _: &Decision, _: Option<i64>) -> std::io::Result<()> {
        Err(std::io::Error::other("disk full"))
    }
}

#[test]
fn a_failing_sink_stops_the_replay_and_every_worker() {
    let dir = tempfile::tempdir().unwrap();
    small_history(dir.path(), true);
    for threads in [1, 2, 3] {
        let error = replaying()
            .replay(
                &files_under(dir.path()),
                &options(threads, true),
                &mut Failing,
            )
            .unwrap_err();
        assert_eq!(error.to_string(), "disk full");
    }
}
