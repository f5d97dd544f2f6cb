//! `enforcer validate`, `test`, `explain` and `schema` as a policy author runs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::repo_root as repo;

use std::path::Path;
use std::process::{Command, Output};

fn enforcer(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enforcer"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ENFORCER_ROLE_ARN")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

const FIXTURE: &str = r##"[tags.DataClassification]
values = ["Internal", "Confidential"]

[tags.ProcessOwner]
pattern = '[A-Z][A-Za-z]*'

[owners.DataEngineering]
slack_channel = "#de"

[[rule]]
name = "buckets"
resource_types = ["s3:bucket"]
require = ["DataClassification", "ProcessOwner"]

[[rule]]
name = "raw"
resource_types = ["s3:bucket"]
names = ['^(?P<team>[a-z]+)-raw-']
[rule.set]
ProcessOwner = "DataEngineering"
DataClassification = "Confidential"

[[rule]]
name = "logs"
resource_types = ["logs:log-group"]
[rule.default]
DataClassification = "Internal"
"##;

/// A policy directory `policies/` holding `p.toml` and, when given, `tests/cases.toml`.
fn fixture(policy: &str, cases: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(policies.join("tests")).unwrap();
    std::fs::write(policies.join("p.toml"), policy).unwrap();
    if let Some(cases) = cases {
        std::fs::write(policies.join("tests/cases.toml"), cases).unwrap();
    }
    dir
}

#[test]
fn validate_accepts_the_shipped_policies() {
    let output = enforcer(&repo(), &["validate"]);
    assert_eq!(
        stdout(&output),
        "policies: 1 file, 9 rules, 5 tags: 0 errors, 0 warnings\n"
    );
    assert_eq!(output.status.code(), Some(0));
    let strict = enforcer(&repo(), &["validate", "--deny-warnings", "policies"]);
    assert_eq!(strict.status.code(), Some(0));
}

#[test]
fn validate_reports_every_error_with_location_source_line_and_help() {
    let bad = FIXTURE.replace("require = [", "requird = [").replace(
        "\"Confidential\"\n\n[[rule]]\nname = \"logs\"",
        "\"Confidental\"\n\n[[rule]]\nname = \"logs\"",
    );
    let dir = fixture(&bad, None);
    let output = enforcer(dir.path(), &["validate"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let expected_unknown_key = "policy::unknown-key

  × unknown key `requird` in rule `buckets`
    ╭─[policies/p.toml:13:1]
 12 │ resource_types = [\"s3:bucket\"]
 13 │ requird = [\"DataClassification\", \"ProcessOwner\"]
    · ───┬───
    ·    ╰── here
 14 │ 
    ╰────
  help: did you mean `require`?
";
    assert!(text.contains(expected_unknown_key), "{text}");
    let expected_value = "policy::invalid-value

  × invalid value for `DataClassification`: `Confidental` is not one of Internal, Confidential
    ╭─[policies/p.toml:21:22]
 20 │ ProcessOwner = \"DataEngineering\"
 21 │ DataClassification = \"Confidental\"
    ·                      ──────┬──────
    ·                            ╰── here
 22 │ 
    ╰────
  help: did you mean `Confidential`?
";
    assert!(text.contains(expected_value), "{text}");
    assert!(text.ends_with("policies: 2 errors, 0 warnings\n"), "{text}");
}

#[test]
fn validate_json_for_editors_and_ci() {
    let dir = fixture(
        &FIXTURE.replace("[\"s3:bucket\"]\nrequire", "[\"s3:bukket\"]\nrequire"),
        None,
    );
    let output = enforcer(dir.path(), &["validate", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    // JSON Lines: the diagnostics, then the summary.
    let records: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1],
        serde_json::json!({"kind": "summary", "ok": false, "errors": 1, "warnings": 0})
    );
    assert_eq!(
        records[0],
        serde_json::json!({
            "kind": "diagnostic",
            "level": "error",
            "code": "policy::unknown-resource-type",
            "message": "`s3:bukket` is not a resource type the enforcer knows",
            "file": "policies/p.toml",
            "line": 12,
            "column": 19,
            "help": "did you mean `s3:bucket`?",
            "related": [],
        })
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = fixture(
        &format!("{FIXTURE}\n[tags.CostCenter]\npattern = '[0-9]+'\n"),
        None,
    );
    let output = enforcer(dir.path(), &["validate"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.contains("⚠ tag `CostCenter` is defined but no rule uses it"),
        "{text}"
    );
    assert!(
        text.ends_with("policies: 1 file, 3 rules, 3 tags: 0 errors, 1 warning\n"),
        "{text}"
    );
    let strict = enforcer(dir.path(), &["validate", "--deny-warnings"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn validate_unreadable_path_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let output = enforcer(dir.path(), &["validate", "nowhere"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).contains("cannot read policies at nowhere"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn test_runs_the_shipped_cases() {
    let output = enforcer(&repo(), &["test"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert!(text.starts_with("running "), "{text}");
    assert!(
        text.contains("test layers::britbox-prod-raw-bucket-is-raw-not-refined ... ok\n"),
        "{text}"
    );
    assert!(
        text.contains("test events::new-raw-bucket ... ok\n"),
        "{text}"
    );
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("test result: ok. "), "{last}");
    assert!(
        last.ends_with(" passed; 0 failed; 0 filtered out"),
        "{last}"
    );
}

const CASES: &str = r#"[[case]]
name = "raw-bucket"
resource = { type = "s3:bucket", name = "sales-raw-2024" }
[case.expect]
outcome = "remediate"
matched_rules = ["buckets", "raw"]
add_tags = { DataClassification = "Confidential", ProcessOwner = "DataEngineering" }

[[case]]
name = "wrong-guess"
resource = { type = "s3:bucket", name = "sales-raw-2024" }
tags = { ProcessOwner = "AnalyticsTeam" }
[case.expect]
outcome = "remediate"
matched_rules = ["buckets"]
add_tags = { DataClassification = "Internal" }
"#;

#[test]
fn test_reports_failures_with_a_diff() {
    let dir = fixture(FIXTURE, Some(CASES));
    let output = enforcer(dir.path(), &["test"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "running 2 tests from 1 file
test cases::raw-bucket ... ok
test cases::wrong-guess ... FAILED

failures:

---- cases::wrong-guess (policies/tests/cases.toml:10) ----
expected (-) and actual (+):
  outcome:
    - remediate
    + alert
  matched_rules:
      buckets
    + raw
  add_tags:
    - DataClassification = Internal
    + DataClassification = Confidential
  violations:
    + conflict ProcessOwner (rule raw): ProcessOwner is `AnalyticsTeam`, but rule `raw` says it is `DataEngineering`; the enforcer never overwrites a tag a person set

failures:
    cases::wrong-guess

test result: FAILED. 1 passed; 1 failed; 0 filtered out
"
    );
    let filtered = enforcer(dir.path(), &["test", "--filter", "raw-bucket"]);
    assert_eq!(filtered.status.code(), Some(0));
    assert!(stdout(&filtered).ends_with("test result: ok. 1 passed; 0 failed; 1 filtered out\n"));
}

#[test]
fn test_rejects_cases_that_name_what_does_not_exist() {
    let cases = CASES
        .replace(
            "matched_rules = [\"buckets\", \"raw\"]",
            "matched_rules = [\"buckets\", \"rwa\"]",
        )
        .replace(
            "outcome = \"remediate\"\nmatched_rules = [\"buckets\"]",
            "outcome = \"remediate\"\nmatchd_rules = [\"buckets\"]",
        );
    let dir = fixture(FIXTURE, Some(&cases));
    let output = enforcer(dir.path(), &["test"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("× `rwa` is not a rule of the policies"),
        "{text}"
    );
    assert!(text.contains("help: did you mean `raw`?"), "{text}");
    assert!(
        text.contains("× unknown key `expect.matchd_rules` in case `wrong-guess`"),
        "{text}"
    );
    assert!(
        text.contains("help: did you mean `matched_rules`?"),
        "{text}"
    );
}

#[test]
fn explain_a_resource() {
    let dir = fixture(FIXTURE, None);
    let output = enforcer(
        dir.path(),
        &[
            "explain",
            "--arn",
            "arn:aws:s3:::sales-raw-2024",
            "--tags",
            "ProcessOwner=DataEngineering",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "resource arn:aws:s3:::sales-raw-2024
  type s3:bucket, name `sales-raw-2024`
  tags ProcessOwner=DataEngineering

rules
  applies      buckets  policies/p.toml:11  selects this type and every name
  applies      raw      policies/p.toml:16  name matches `^(?P<team>[a-z]+)-raw-` (team=sales)
  not selected logs     policies/p.toml:24  type `s3:bucket` is not in its resource_types (logs:log-group)

tags
  DataClassification (defined at policies/p.toml:1)
    current     (absent)
    required    by buckets (policies/p.toml:11)
    set to      `Confidential` by raw (policies/p.toml:21)
    fixed       DataClassification is missing; rule `raw` knows `Confidential`
    plan        add `Confidential`
  ProcessOwner (defined at policies/p.toml:4)
    current     `DataEngineering`
    required    by buckets (policies/p.toml:11)
    set to      `DataEngineering` by raw (policies/p.toml:20)

plan: add DataClassification=Confidential

"
    );
}

#[test]
fn explain_shows_overrides_and_why_rules_do_not_apply() {
    let output = enforcer(
        &repo(),
        &[
            "explain",
            "--arn",
            "arn:aws:s3:::britbox-prod-s3-raw-eu-west-1",
            "--tags",
            "SourceSystems=ExternalAPI,CustomerUpload",
        ],
    );
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for line in [
        "  tags SourceSystems=ExternalAPI,CustomerUpload\n",
        "  overridden   refined-layer         policies/ecometricx.toml:",
        "selects it, but `raw-layer` overrides it\n",
        "  not selected curated-layer         policies/ecometricx.toml:",
        "no pattern of its `names` matches `britbox-prod-s3-raw-eu-west-1`\n",
        "    set to      `DataEngineering` by raw-layer (policies/ecometricx.toml:",
        "plan: add DataClassification=Confidential, ProcessOwner=DataEngineering\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn explain_an_event_file() {
    let output = enforcer(
        &repo(),
        &["explain", "policies/tests/events/create-raw-bucket.json"],
    );
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.starts_with("s3.amazonaws.com CreateBucket (policies/tests/events/create-raw-bucket.json:1)\nresource arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1\n"),
        "{text}"
    );
    assert!(
        text.contains("    problem     SourceSystems is required (matching `[A-Za-z0-9][A-Za-z0-9-]*`) and cannot be inferred\n"),
        "{text}"
    );
    assert!(text.ends_with(
        "plan: add DataClassification=Confidential, ProcessOwner=DataEngineering; alert the owner\n\n"
    ));
    let json = enforcer(
        &repo(),
        &[
            "explain",
            "--format",
            "json",
            "policies/tests/events/create-raw-bucket.json",
        ],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["verdict"]["action"], "alert");
    assert_eq!(value["rules"][4]["status"], "not_selected");
}

#[test]
fn explain_rejects_bad_input() {
    let output = enforcer(&repo(), &["explain", "--arn", "not-an-arn"]);
    assert_eq!(output.status.code(), Some(2));
    let output = enforcer(
        &repo(),
        &["explain", "--arn", "arn:aws:s3:::b", "--tags", "oops"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("expected Key=value pairs"));
}

#[test]
fn schema_prints_the_committed_schemas() {
    let output = enforcer(&repo(), &["schema"]);
    assert_eq!(
        stdout(&output),
        std::fs::read_to_string(repo().join("policies/policy.schema.json")).unwrap()
    );
    let output = enforcer(&repo(), &["schema", "--tests"]);
    assert_eq!(
        stdout(&output),
        std::fs::read_to_string(repo().join("policies/policy-tests.schema.json")).unwrap()
    );
    let first_line = std::fs::read_to_string(repo().join("policies/ecometricx.toml")).unwrap();
    assert_eq!(
        first_line.lines().next(),
        Some("#:schema ./policy.schema.json")
    );
}

/// The `console` blocks of `policies/README.md` run as written: each `$ enforcer …` line is run
/// from the repository root and its output must be the lines that follow it.
#[test]
fn readme_commands_run_as_written() {
    let readme = std::fs::read_to_string(repo().join("policies/README.md")).unwrap();
    let mut commands = 0;
    let mut in_console = false;
    let mut current: Option<(String, Vec<String>)> = None;
    let run = |command: String, expected: Vec<String>| {
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let output = enforcer(&repo(), &args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{command}: {}",
            stderr(&output)
        );
        let expected = format!("{}\n", expected.join("\n"));
        assert_eq!(stdout(&output), expected, "output of `{command}` in README");
    };
    for line in readme.lines() {
        if line == "```console" {
            in_console = true;
            continue;
        }
        if !in_console {
            continue;
        }
        if line == "```" || line.starts_with("$ ") {
            if let Some((command, expected)) = current.take() {
                run(command, expected);
                commands += 1;
            }
            if line == "```" {
                in_console = false;
            } else {
                assert!(line.starts_with("$ enforcer "), "{line}");
                current = Some((line[2..].to_owned(), Vec::new()));
            }
            continue;
        }
        if let Some((_, expected)) = current.as_mut() {
            expected.push(line.to_owned());
        }
    }
    assert_eq!(commands, 3);
}

/// A policy that defaults `CreatedBy` to the creator and routes by creator.
const CREATOR_POLICY: &str = r##"[tags.CreatedBy]
pattern = '.{1,256}'

[tags.Team]
pattern = '[a-z]+'

[owners.Analytics]
slack_channel = "#analytics"

[owners.Platform]
slack_channel = "#platform"

[policy]
default_owner = "Platform"

[creators."*@dev.com"]
owner = "Analytics"

[[rule]]
name = "created-by"
resource_types = ["s3:bucket"]
require = ["Team"]
[rule.default]
CreatedBy = "{creator}"
"##;

const CREATOR_CASES: &str = r#"[[case]]
name = "identity-center-user"
event = "events/sso.json"
[case.expect]
outcome = "alert"
add_tags = { CreatedBy = "me@dev.com" }
violations = [{ tag = "Team", kind = "missing" }]

[[case]]
name = "a-persons-value-stands"
event = "events/sso.json"
[case.inventory."arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1"]
Team = "data"
CreatedBy = "someone-else"
[case.expect]
outcome = "compliant"

[[case]]
name = "a-service-names-nobody"
event = "events/service.json"
[case.inventory."arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1"]
Team = "data"
[case.expect]
outcome = "compliant"

[[case]]
name = "a-scan-names-nobody"
resource = { arn = "arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1" }
tags = { Team = "data" }
[case.expect]
outcome = "compliant"
"#;

/// The shipped CreateBucket sample made by `identity`.
fn sample_made_by(identity: serde_json::Value) -> String {
    let text = std::fs::read_to_string(repo().join("events/samples/s3-CreateBucket.json")).unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
    event["detail"]["userIdentity"] = identity;
    event.to_string()
}

/// `{creator}` through `enforcer test`, `explain` and `check`: added when the tag is absent, never
/// over a person's value, never for a service or a scan; the decision names the creator.
#[test]
fn the_creator_defaults_a_tag_and_is_shown() {
    let dir = fixture(CREATOR_POLICY, Some(CREATOR_CASES));
    let events = dir.path().join("policies/tests/events");
    std::fs::create_dir_all(&events).unwrap();
    // aws-lambda-rust-runtime's Identity Center session (tests/corpora/cloudtrail-real).
    let sso = serde_json::json!({
        "type": "AssumedRole",
        "principalId": "ZZZZZZZZZZZZZZZZZZZZZ:me@dev.com",
        "arn": "arn:aws:sts::123456789000:assumed-role/AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890/me@dev.com",
        "accountId": "123456789000",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789000:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890", "userName": "AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890"}}
    });
    std::fs::write(events.join("sso.json"), sample_made_by(sso)).unwrap();
    let service =
        serde_json::json!({"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"});
    std::fs::write(events.join("service.json"), sample_made_by(service)).unwrap();

    let output = enforcer(dir.path(), &["test"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert!(
        text.ends_with("test result: ok. 4 passed; 0 failed; 0 filtered out\n"),
        "{text}"
    );

    let output = enforcer(dir.path(), &["explain", "policies/tests/events/sso.json"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert!(
        text.contains("  created by me@dev.com (Identity Center user, role AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890)\n"),
        "{text}"
    );
    assert!(text.contains("`me@dev.com` by created-by"), "{text}");

    let output = enforcer(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "policies/tests/events/sso.json",
        ],
    );
    let text = stdout(&output);
    let record: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(record["creator"]["name"], "me@dev.com", "{text}");
    assert_eq!(record["creator"]["kind"], "sso-user", "{text}");
    assert_eq!(record["creator"]["email"], "me@dev.com", "{text}");
    assert_eq!(
        record["resources"][0]["add_tags"]["CreatedBy"], "me@dev.com",
        "{text}"
    );
}
