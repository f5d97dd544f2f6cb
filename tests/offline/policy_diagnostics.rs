//! Every diagnostic `enforcer validate` reports: its exact message, location (line:column) and
//! help, on small in-memory policies compiled through the same path as `policy::load`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use enforcer::catalog::KNOWN_RESOURCE_TYPES;
use enforcer::policy::{compile_sources, Diagnostic, Level, SourceFile};

/// A vocabulary and owners appended after each test's own text (so its line numbers start at 1),
/// used by a rule so that it raises no warning of its own.
const BASE: &str = r##"
[tags.DataClassification]
values = ["Public", "Internal", "Confidential", "Restricted"]
case_fix = true

[tags.ProcessOwner]
pattern = '[A-Z][A-Za-z0-9]*'

[owners.DataEngineering]
slack_channel = "#data-engineering"

[owners.AnalyticsTeam]
slack_channel = "#analytics"

[[rule]]
name = "base"
resource_types = ["dynamodb:table"]
require = ["DataClassification", "ProcessOwner"]
"##;

fn compile(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|(path, text)| SourceFile {
            path: (*path).to_owned(),
            text: Arc::new((*text).to_owned()),
        })
        .collect();
    compile_sources(&sources, KNOWN_RESOURCE_TYPES).1
}

/// Diagnostics of `text` followed by [`BASE`], as `(level, code, message, location, help)`.
fn check(text: &str) -> Vec<(Level, &'static str, String, String, Option<String>)> {
    let full = format!("{text}{BASE}");
    compile(&[("p.toml", &full)])
        .into_iter()
        .map(summary)
        .collect()
}

fn summary(d: Diagnostic) -> (Level, &'static str, String, String, Option<String>) {
    let location = d
        .location()
        .map(|l| l.trim_start_matches("p.toml:").to_owned())
        .unwrap_or_default();
    (d.level, d.code, d.message, location, d.help)
}

fn only(text: &str) -> (Level, &'static str, String, String, Option<String>) {
    let mut all = check(text);
    assert_eq!(all.len(), 1, "expected one diagnostic, got {all:#?}");
    all.remove(0)
}

fn error(
    code: &'static str,
    message: &str,
    at: &str,
    help: Option<&str>,
) -> (Level, &'static str, String, String, Option<String>) {
    (
        Level::Error,
        code,
        message.to_owned(),
        at.to_owned(),
        help.map(str::to_owned),
    )
}

fn warning(
    code: &'static str,
    message: &str,
    at: &str,
    help: Option<&str>,
) -> (Level, &'static str, String, String, Option<String>) {
    (
        Level::Warning,
        code,
        message.to_owned(),
        at.to_owned(),
        help.map(str::to_owned),
    )
}

#[test]
fn the_base_is_clean() {
    assert_eq!(check(""), vec![]);
}

#[test]
fn toml_syntax_errors_are_all_reported() {
    let all = check("[policy\nname = \"x\"\n\n[tags.A]\nvalues = [\"a\",\n");
    assert!(all.len() >= 2, "{all:#?}");
    assert!(all
        .iter()
        .all(|d| d.1 == "policy::syntax" && d.0 == Level::Error));
    assert_eq!(all[0].2, "invalid TOML: unclosed table, expected `]`");
    assert_eq!(all[0].3, "1:8");
}

#[test]
fn unknown_keys_everywhere_at_once() {
    let all = check(
        r#"[policy]
nmae = "x"

[tags.DataDomain]
valeus = ["Billing"]

[[rule]]
name = "r"
resource_types = ["s3:bucket"]
requird = ["DataClassification"]

[[exemptions]]
arn = "x"
"#,
    );
    assert_eq!(
        all,
        vec![
            error("policy::unknown-key", "unknown key `nmae` in `[policy]`", "2:1", Some("did you mean `name`?")),
            warning("policy::unused-tag", "tag `DataDomain` is defined but no rule uses it", "4:7", Some("require, recommend, set, default, allow or test it (`when_tags`) in a rule, or delete `[tags.DataDomain]`")),
            error("policy::unknown-key", "unknown key `valeus` in `[tags.DataDomain]`", "5:1", Some("did you mean `values`?")),
            error("policy::unknown-key", "unknown key `requird` in rule `r`", "10:1", Some("did you mean `require`?")),
            error("policy::wrong-type", "`exemptions` at the top level must be a table, not an array", "12:1", Some("an exemption is a `[[exemption]]` table (singular); `[exemptions]` (one table) holds the opt-out tag's settings")),
        ]
    );
}

#[test]
fn unknown_key_without_a_close_match_lists_the_keys() {
    let (_, _, message, at, help) = only("[policy]\ncolour = \"blue\"\n");
    assert_eq!(message, "unknown key `colour` in `[policy]`");
    assert_eq!(at, "2:1");
    assert_eq!(
        help.as_deref(),
        Some("allowed keys: classification_tag, default_owner, description, mode, name, owner_tag, renotify_after")
    );
}

#[test]
fn wrong_types() {
    let all = check(
        r#"[[rule]]
name = "r"
resource_types = "s3:bucket"
action = 1

[tags.X]
case_fix = "yes"
"#,
    );
    assert_eq!(
        all,
        vec![
            error("policy::wrong-type", "`resource_types` in rule `r` must be an array of strings, not a string", "3:18", Some("write a list, even of one item: `resource_types = [\"…\"]`")),
            error("policy::wrong-type", "`action` in rule `r` must be one of `alert`, `quarantine`, not an integer", "4:10", Some("quote the value: `action = \"…\"`")),
            warning("policy::unused-tag", "tag `X` is defined but no rule uses it", "6:7", Some("require, recommend, set, default, allow or test it (`when_tags`) in a rule, or delete `[tags.X]`")),
            error("policy::wrong-type", "`case_fix` in `[tags.X]` must be a boolean, not a string", "7:12", Some("write `case_fix = true` or `case_fix = false`, without quotes")),
        ]
    );
}

#[test]
fn wrong_type_inside_a_rule_table() {
    let (_, code, message, at, help) = only(
        "[[rule]]\nname = \"r\"\nresource_types = [\"dynamodb:table\"]\n[rule.set]\nDataClassification = [\"Internal\"]\n",
    );
    assert_eq!(code, "policy::wrong-type");
    assert_eq!(
        message,
        "`set.DataClassification` in rule `r` must be a string, not an array"
    );
    assert_eq!(at, "5:22");
    assert_eq!(help, None);
}

#[test]
fn missing_required_key() {
    let (_, code, message, at, help) = only("[[rule]]\nresource_types = [\"s3:bucket\"]\n");
    assert_eq!(code, "policy::missing-key");
    assert_eq!(message, "`name` is required in rule #1");
    assert_eq!(at, "1:1");
    assert_eq!(help.as_deref(), Some("add `name = …` (a string)"));
}

#[test]
fn invalid_regex_says_what_is_wrong() {
    let (_, code, message, at, help) = only(
        "[[rule]]\nname = \"r\"\nresource_types = [\"dynamodb:table\"]\nnames = ['^(prod-']\n",
    );
    assert_eq!(code, "policy::invalid-regex");
    assert_eq!(message, "invalid regex `^(prod-`: error: unclosed group");
    assert_eq!(at, "4:10");
    assert_eq!(
        help.as_deref(),
        Some("patterns use Rust regex syntax: https://docs.rs/regex/#syntax")
    );
}

#[test]
fn unknown_resource_type_suggests_one() {
    let (_, code, message, at, help) =
        only("[[rule]]\nname = \"r\"\nresource_types = [\"s3:bukket\"]\n");
    assert_eq!(code, "policy::unknown-resource-type");
    assert_eq!(
        message,
        "`s3:bukket` is not a resource type the enforcer knows"
    );
    assert_eq!(at, "3:19");
    assert_eq!(help.as_deref(), Some("did you mean `s3:bucket`?"));
}

#[test]
fn values_the_vocabulary_does_not_allow() {
    let all = check(
        r#"[[rule]]
name = "r"
resource_types = ["dynamodb:table"]
[rule.set]
DataClassification = "Confidental"
[rule.default]
ProcessOwner = "data engineering"

[[rule]]
name = "s"
resource_types = ["dynamodb:table"]
[rule.allow]
DataClassification = ["internal", "Secret"]
"#,
    );
    assert_eq!(
        all,
        vec![
            error("policy::invalid-value", "invalid value for `DataClassification`: `Confidental` is not one of Public, Internal, Confidential, Restricted", "5:22", Some("did you mean `Confidential`?")),
            error("policy::invalid-value", "invalid value for `ProcessOwner`: `data engineering` does not match the pattern `[A-Z][A-Za-z0-9]*`", "7:16", Some("use an allowed value, or change `[tags.ProcessOwner]` (p.toml:19)")),
            error("policy::invalid-value", "invalid value for `DataClassification`: the vocabulary spells `internal` as `Internal`", "13:23", Some("did you mean `Internal`?")),
            error("policy::invalid-value", "invalid value for `DataClassification`: `Secret` is not one of Public, Internal, Confidential, Restricted", "13:35", Some("use an allowed value, or change `[tags.DataClassification]` (p.toml:15)")),
        ]
    );
}

#[test]
fn value_a_rule_sets_but_does_not_allow() {
    let (_, code, message, at, help) = only(
        "[[rule]]\nname = \"r\"\nresource_types = [\"lambda:function\"]\n[rule.default]\nDataClassification = \"Internal\"\n[rule.allow]\nDataClassification = [\"Confidential\"]\n",
    );
    assert_eq!(code, "policy::value-not-allowed-by-rule");
    assert_eq!(
        message,
        "rule `r` defaults `DataClassification` to `Internal`, which its own `allow` excludes"
    );
    assert_eq!(at, "5:22");
    assert_eq!(
        help.as_deref(),
        Some("add `Internal` to `allow.DataClassification`, or change the value")
    );
}

#[test]
fn unknown_tag_key() {
    let (_, code, message, at, help) = only(
        "[[rule]]\nname = \"r\"\nresource_types = [\"dynamodb:table\"]\nrequire = [\"DataClasification\"]\n",
    );
    assert_eq!(code, "policy::unknown-tag");
    assert_eq!(message, "tag `DataClasification` is not in the vocabulary");
    assert_eq!(at, "4:12");
    assert_eq!(help.as_deref(), Some("did you mean `DataClassification`?"));
}

#[test]
fn default_contradicting_the_rules_own_expectation() {
    let (_, code, message, at, help) = only(
        "[[rule]]\nname = \"r\"\nresource_types = [\"dynamodb:table\"]\n[rule.set]\nDataClassification = \"Internal\"\n[rule.default]\nDataClassification = \"Confidential\"\n",
    );
    assert_eq!(code, "policy::default-contradicts-set");
    assert_eq!(
        message,
        "rule `r` sets `DataClassification` to `Internal` but defaults it to `Confidential`"
    );
    assert_eq!(at, "7:1");
    assert_eq!(
        help.as_deref(),
        Some("a rule either knows a value (`set`) or suggests one (`default`), not both")
    );
}

const TWO_LAYERS: &str = r#"[[rule]]
name = "raw"
resource_types = ["s3:bucket"]
names = ['^.+-raw-.+$']
[rule.set]
ProcessOwner = "DataEngineering"

[[rule]]
name = "refined"
resource_types = ["s3:bucket", "rds:db"]
names = ['^britbox-prod-.+$']
[rule.set]
ProcessOwner = "AnalyticsTeam"
"#;

#[test]
fn two_rules_that_can_select_the_same_resource_and_set_different_values() {
    let full = format!("{TWO_LAYERS}{BASE}");
    let all = compile(&[("p.toml", &full)]);
    assert_eq!(all.len(), 1, "{all:#?}");
    let d = &all[0];
    assert_eq!(d.code, "policy::conflicting-set");
    assert_eq!(d.level, Level::Error);
    assert_eq!(
        d.message,
        "rules `raw` and `refined` can select the same resource but set `ProcessOwner` to different values: `DataEngineering` and `AnalyticsTeam`"
    );
    assert_eq!(d.location().as_deref(), Some("p.toml:13:16"));
    assert_eq!(
        d.help.as_deref(),
        Some("both select e.g. the s3:bucket named `britbox-prod-raw-a`. Make their `names` exclusive, or say which rule wins with `overrides = [\"raw\"]` in `refined` (or the reverse)")
    );
    // Both locations: the other rule's value too.
    assert_eq!(d.related.len(), 1);
    let (source, span, label) = &d.related[0];
    assert_eq!(source.line_column(span.start), (6, 16));
    assert_eq!(label, "`raw` sets `DataEngineering` here");
    let rendered = d.render(false);
    assert!(
        rendered.contains("ProcessOwner = \"AnalyticsTeam\""),
        "{rendered}"
    );
    assert!(
        rendered.contains("also: p.toml:6:16: `raw` sets `DataEngineering` here"),
        "{rendered}"
    );
    assert!(
        rendered.contains("ProcessOwner = \"DataEngineering\""),
        "{rendered}"
    );
}

#[test]
fn overrides_resolve_the_overlap() {
    let fixed = TWO_LAYERS.replace(
        "names = ['^.+-raw-.+$']\n",
        "names = ['^.+-raw-.+$']\noverrides = [\"refined\"]\n",
    );
    assert_eq!(check(&fixed), vec![]);
}

#[test]
fn exclusive_patterns_do_not_overlap() {
    let exclusive = TWO_LAYERS.replace("'^.+-raw-.+$'", "'^raw-.+$'");
    assert_eq!(check(&exclusive), vec![]);
    let other_types = TWO_LAYERS.replace("[\"s3:bucket\", \"rds:db\"]", "[\"rds:db\"]");
    assert_eq!(check(&other_types), vec![]);
}

#[test]
fn rules_that_test_a_tag_differently_do_not_overlap() {
    let text = r#"[[rule]]
name = "prod"
resource_types = ["dynamodb:table"]
when_tags = { DataClassification = "Confidential|Restricted" }
[rule.set]
ProcessOwner = "DataEngineering"

[[rule]]
name = "public"
resource_types = ["dynamodb:table"]
when_tags = { DataClassification = "Public" }
[rule.set]
ProcessOwner = "AnalyticsTeam"
"#;
    assert_eq!(check(text), vec![]);
    let overlapping = text.replace("\"Public\"", "\"Public|Restricted\"");
    let all = check(&overlapping);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(
        all[0].4.as_deref(),
        Some("both select e.g. any dynamodb:table tagged DataClassification=`Restricted`. Make their `names` exclusive, or say which rule wins with `overrides = [\"prod\"]` in `public` (or the reverse)")
    );
}

#[test]
fn conflicting_defaults_and_values_an_overlapping_rule_does_not_allow() {
    let all = check(
        r#"[[rule]]
name = "a"
resource_types = ["lambda:function"]
[rule.default]
DataClassification = "Internal"

[[rule]]
name = "b"
[rule.default]
DataClassification = "Confidential"
[rule.allow]
DataClassification = ["Confidential", "Restricted"]
"#,
    );
    assert_eq!(
        all,
        vec![
            error("policy::contradicts-allow", "rule `a` defaults `DataClassification` to `Internal`, but rule `b`, which can select the same resource, allows only `Confidential`, `Restricted`", "5:22", Some("both select e.g. any lambda:function. Make their `names` exclusive, or say which rule wins with `overrides = [\"a\"]` in `b` (or the reverse)")),
            error("policy::conflicting-default", "rules `a` and `b` can select the same resource but default `DataClassification` to different values: `Internal` and `Confidential` (the enforcer would add neither)", "10:22", Some("both select e.g. any lambda:function. Make their `names` exclusive, or say which rule wins with `overrides = [\"a\"]` in `b` (or the reverse)")),
        ]
    );
}

#[test]
fn owners_referenced_but_not_defined() {
    let all = check(
        r#"[policy]
default_owner = "Platfrom"

[[rule]]
name = "r"
resource_types = ["dynamodb:table"]
[rule.set]
ProcessOwner = "DataEngineerng"
[rule.allow]
ProcessOwner = ["DataEngineerng", "InfoSec"]
"#,
    );
    assert_eq!(
        all,
        vec![
            error(
                "policy::unknown-owner",
                "owner `Platfrom` is not defined",
                "2:17",
                Some("define it in an `[owners.Platfrom]` table")
            ),
            error(
                "policy::unknown-owner",
                "owner `DataEngineerng` is not defined",
                "8:16",
                Some("did you mean `DataEngineering`?")
            ),
            error(
                "policy::unknown-owner",
                "owner `DataEngineerng` is not defined",
                "10:17",
                Some("did you mean `DataEngineering`?")
            ),
            error(
                "policy::unknown-owner",
                "owner `InfoSec` is not defined",
                "10:35",
                Some("define it in an `[owners.InfoSec]` table")
            ),
        ]
    );
}

#[test]
fn owner_routing_ids_are_checked_where_written() {
    let all = check(
        r##"[owners.InfoSec]
slack_workspace_id = "C0123ABCD"
slack_channel_id = "#infosec"
sns_topic_arn = "arn:aws:sns:eu-west-1:111122223333:alerts.fifo"

[owners."Data Lake"]
slack_channel_id = "C0123456789"
"##,
    );
    assert_eq!(
        all,
        vec![
            error("policy::invalid-routing-id", "`C0123ABCD` is not a Slack workspace id", "2:22", Some("the workspace (team) id as Q Developer shows it, `T` and 6 to 20 capitals or digits: `T0123ABCD`")),
            error("policy::invalid-routing-id", "`#infosec` is not a Slack channel id", "3:20", Some("the channel's id (Slack: channel details, at the bottom), `C` or `G` and 6 to 20 capitals or digits: `C0123456789`; `#name` goes in `slack_channel`")),
            error("policy::invalid-routing-id", "`arn:aws:sns:eu-west-1:111122223333:alerts.fifo` is not an SNS topic ARN", "4:17", Some("a standard topic's ARN: `arn:aws:sns:eu-west-1:111122223333:data-eng-alerts`")),
            error("policy::owner-topic-name", "owner `Data Lake` cannot name an SNS topic (letters, digits, `-`, `_`, at most 80)", "6:9", Some("the generated topic and channel configuration are named after the owner (`<FunctionName>-owner-<owner>`): use letters, digits, `-` and `_`, at most 80")),
            error("policy::incomplete-slack-route", "owner `Data Lake` names one Slack id without `slack_workspace_id`", "7:20", Some("a Q Developer channel configuration needs both the workspace id and the channel id")),
        ]
    );
}

#[test]
fn overrides_that_cannot_work() {
    let all = check(
        r#"[[rule]]
name = "a"
resource_types = ["s3:bucket"]
overrides = ["b", "a", "curatd"]

[[rule]]
name = "b"
resource_types = ["s3:bucket"]
overrides = ["a"]

[[rule]]
name = "curated"
resource_types = ["rds:db"]
overrides = ["b"]
"#,
    );
    assert_eq!(
        all,
        vec![
            error("policy::override-cycle", "rules override each other in a cycle: `a` → `b` → `a`", "4:14", Some("when every rule of a cycle selects a resource, none would apply; remove one of the `overrides`")),
            error("policy::override-cycle", "rule `a` overrides itself", "4:19", Some("remove it from `overrides`")),
            error("policy::unknown-rule", "rule `a` overrides `curatd`, which is not a rule", "4:24", Some("did you mean `curated`?")),
            warning("policy::override-unused", "rule `curated` overrides `b`, but they never select the same resource", "14:14", Some("remove `b` from `overrides`")),
        ]
    );
}

#[test]
fn rules_that_can_never_select_anything() {
    let all = check(
        r#"[[rule]]
name = "instances-by-name"
resource_types = ["ec2:instance", "s3:bucket"]
names = ['^prod-', '^a$b']
require = ["DataClassification"]

[[rule]]
name = "no-types"
resource_types = []
require = ["DataClassification"]

[[rule]]
name = "typo-in-a-tag-test"
resource_types = ["s3:bucket"]
when_tags = { DataClassification = "Confidental", ProcessOwner = "[a-z]+[^\\s\\S]" }
require = ["DataClassification"]
"#,
    );
    assert_eq!(
        all,
        vec![
            warning("policy::never-matches", "rule `instances-by-name` can never select a resource of type `ec2:instance`: its name is an id such as `i-0123456789abcdef0`, which no pattern of `names` matches", "3:19", Some("select these resources by tag with `when_tags`, or remove the type")),
            warning("policy::never-matches", "name pattern `^a$b` of rule `instances-by-name` can never match a name", "4:20", Some("fix the pattern, or delete it")),
            warning("policy::never-matches", "rule `no-types` selects no resource type: `resource_types` is empty", "8:8", Some("list the types it is for, or delete `resource_types` to select every type")),
            warning("policy::never-matches", "`when_tags.DataClassification` pattern `Confidental` of rule `typo-in-a-tag-test` matches none of the values `DataClassification` allows: the rule selects only resources whose value is invalid", "15:36", Some("did you mean `Confidential`?")),
            warning("policy::never-matches", "`when_tags.ProcessOwner` pattern `[a-z]+[^\\s\\S]` of rule `typo-in-a-tag-test` can never match a value: the rule selects nothing", "15:66", Some("fix the pattern")),
        ]
    );
}

#[test]
fn patterns_that_match_everything() {
    let all = check(
        r#"[tags.Team]
pattern = '.*'

[[rule]]
name = "all-buckets"
resource_types = ["s3:bucket"]
names = ['.*', '^prod-']
require = ["Team"]

[[exemption]]
arn = '^arn:.+$'
reason = "oops"
"#,
    );
    assert_eq!(
        all,
        vec![
            warning("policy::matches-everything", "pattern `.*` of tag `Team` matches every value: it checks nothing", "2:11", Some("narrow the pattern, or delete `pattern` to accept any value")),
            warning("policy::matches-everything", "name pattern `.*` of rule `all-buckets` matches every name", "7:10", Some("anchor or narrow the pattern (e.g. `^prod-`), or delete `names` to select every name")),
            warning("policy::matches-everything", "exemption pattern `^arn:.+$` matches every ARN: the enforcer would leave every resource alone", "11:7", Some("narrow the pattern, e.g. `^arn:aws:s3:::scratch-`")),
        ]
    );
}

#[test]
fn exemption_that_no_arn_matches() {
    let (level, code, message, at, help) =
        only("[[exemption]]\narn = '^s3:::scratch-'\nreason = \"scratch\"\n");
    assert_eq!(level, Level::Warning);
    assert_eq!(code, "policy::never-matches");
    assert_eq!(
        message,
        "exemption pattern `^s3:::scratch-` can never match an ARN"
    );
    assert_eq!(at, "2:7");
    assert_eq!(
        help.as_deref(),
        Some("fix the pattern, or delete the exemption")
    );
}

#[test]
fn exemption_of_every_arn() {
    let (level, code, message, at, help) = only("[[exemption]]\narn = '.*'\nreason = \"all\"\n");
    assert_eq!(level, Level::Warning);
    assert_eq!(code, "policy::matches-everything");
    assert_eq!(
        message,
        "exemption pattern `.*` matches every ARN: the enforcer would leave every resource alone"
    );
    assert_eq!(at, "2:7");
    assert_eq!(
        help.as_deref(),
        Some("narrow the pattern, e.g. `^arn:aws:s3:::scratch-`")
    );
}

#[test]
fn unused_vocabulary() {
    let (level, code, message, at, help) = only("[tags.CostCenter]\npattern = '[0-9]{4}'\n");
    assert_eq!(level, Level::Warning);
    assert_eq!(code, "policy::unused-tag");
    assert_eq!(message, "tag `CostCenter` is defined but no rule uses it");
    assert_eq!(at, "1:7");
    assert_eq!(
        help.as_deref(),
        Some("require, recommend, set, default, allow or test it (`when_tags`) in a rule, or delete `[tags.CostCenter]`")
    );
}

#[test]
fn duplicates_across_files_point_at_both() {
    let all = compile(&[
        ("a.toml", BASE),
        (
            "b.toml",
            "[tags.ProcessOwner]\npattern = 'x'\n\n[[rule]]\nname = \"base\"\n",
        ),
    ]);
    let codes: Vec<(&str, Option<String>)> = all.iter().map(|d| (d.code, d.location())).collect();
    assert_eq!(
        codes,
        vec![
            ("policy::duplicate-tag", Some("b.toml:1:7".to_owned())),
            ("policy::duplicate-rule", Some("b.toml:5:8".to_owned())),
        ]
    );
    assert_eq!(all[0].related[0].0.path, "a.toml");
}

#[test]
fn invalid_mode_action_and_capture() {
    let all = check(
        r#"[policy]
mode = "enforse"

[[rule]]
name = "r"
resource_types = ["dynamodb:table"]
names = ['^(?P<team>[a-z]+)-']
action = "quarantaine"
[rule.set]
ProcessOwner = "${teem}"
"#,
    );
    assert_eq!(
        all,
        vec![
            error(
                "policy::invalid-mode",
                "`enforse` is not a mode",
                "2:8",
                Some("did you mean `enforce`?")
            ),
            error(
                "policy::invalid-action",
                "`quarantaine` is not an action",
                "8:10",
                Some("did you mean `quarantine`?")
            ),
            error(
                "policy::unknown-capture",
                "`${teem}` names no capture group of the rule's `names` patterns",
                "10:16",
                Some("the groups are: team")
            ),
        ]
    );
}

#[test]
fn rendered_diagnostic_shows_file_line_caret_and_help() {
    let full = format!("[[rule]]\nname = \"r\"\nresource_types = [\"s3:bukket\"]\n{BASE}");
    let all = compile(&[("policies/p.toml", &full)]);
    let rendered = all[0].render(false);
    assert!(rendered.contains("policies/p.toml:3:19"), "{rendered}");
    assert!(
        rendered.contains("resource_types = [\"s3:bukket\"]"),
        "{rendered}"
    );
    assert!(rendered.contains("─────┬─────"), "{rendered}");
    assert!(
        rendered.contains("help: did you mean `s3:bucket`?"),
        "{rendered}"
    );
    let json = all[0].to_json();
    assert_eq!(json["file"], "policies/p.toml");
    assert_eq!(json["line"], 3);
    assert_eq!(json["column"], 19);
    assert_eq!(json["level"], "error");
    assert_eq!(json["code"], "policy::unknown-resource-type");
    assert_eq!(json["help"], "did you mean `s3:bucket`?");
}

#[test]
fn tables_written_as_values() {
    let all: Vec<_> = compile(&[(
        "p.toml",
        "tags = \"DataClassification\"\n\n[rule]\nname = \"r\"\n",
    )])
    .into_iter()
    .map(summary)
    .collect();
    assert_eq!(
        all,
        vec![
            error(
                "policy::wrong-type",
                "`tags` at the top level must be a table, not a string",
                "1:8",
                Some("write it as a table: `[tags]`")
            ),
            error(
                "policy::wrong-type",
                "`rule` at the top level must be an array of tables, not a table",
                "3:1",
                Some("write each entry as a `[[rule]]` table")
            ),
        ]
    );
    let (_, _, message, at, help) = only(
        "[[rule]]\nname = \"r\"\nresource_types = [\"dynamodb:table\"]\nset = \"ProcessOwner\"\n",
    );
    assert_eq!(message, "`set` in rule `r` must be a table, not a string");
    assert_eq!(at, "4:7");
    assert_eq!(help.as_deref(), Some("write it as a table: `[rule.set]`"));
}

/// `[classification.<Class>]`: the class must be a value of the classification tag, each
/// obligation well formed; every problem is reported where it is written.
#[test]
fn classification_obligations_are_checked_where_written() {
    let all = check(
        r#"[classification.Confidental]
encrypted_at_rest = true

[classification.Restricted]
public_access = "deni"
allowed_regions = ["eu-west-1", "Europe", "eu-west-1"]
action = "quarantaine"

[classification.Internal]
allowed_regions = []

[classification.Public]
description = "nothing stated"
"#,
    );
    assert_eq!(
        all,
        vec![
            error(
                "policy::unknown-class",
                "`Confidental` is not a value of the classification tag `DataClassification`",
                "1:17",
                Some("did you mean `Confidential`?")
            ),
            error(
                "policy::invalid-public-access",
                "`deni` is not a public access setting",
                "5:17",
                Some("did you mean `deny`?")
            ),
            error(
                "policy::invalid-region",
                "`Europe` is not an AWS region name",
                "6:33",
                Some("write a region code such as `eu-west-1` or `us-gov-west-1`")
            ),
            error(
                "policy::invalid-action",
                "`quarantaine` is not an action",
                "7:10",
                Some("did you mean `quarantine`?")
            ),
            error(
                "policy::empty-regions",
                "`allowed_regions` of `Internal` is empty: no resource could exist",
                "9:17",
                Some("list the regions, e.g. `[\"eu-west-1\"]`, or leave the key out")
            ),
            warning(
                "policy::classification-without-obligations",
                "`[classification.Public]` states no obligation: it checks nothing",
                "12:17",
                Some(
                    "add `encrypted_at_rest`, `public_access` or `allowed_regions`, or remove the table"
                )
            ),
        ]
    );
}

/// Obligations need a classification tag with a closed list of values; `[policy]
/// classification_tag` names another tag; an unknown key in a class table is an error.
#[test]
fn classification_needs_a_closed_vocabulary() {
    let all = check(
        r#"[policy]
classification_tag = "ProcessOwner"

[classification.Confidential]
encrypted_at_rest = true
"#,
    );
    assert_eq!(
        all,
        vec![error(
            "policy::classification-without-vocabulary",
            "`[classification.Confidential]` needs the classification tag `ProcessOwner` in the \
             vocabulary, with a closed list of `values`",
            "4:17",
            Some(
                "add `[tags.ProcessOwner]` with `values = [\"Confidential\", …]`, or name the \
                 classification tag with `[policy] classification_tag`"
            )
        )]
    );
    let unknown_key = check(
        r#"[classification.Confidential]
encrypted = true
"#,
    );
    assert!(
        unknown_key.contains(&error(
            "policy::unknown-key",
            "unknown key `encrypted` in `[classification.Confidential]`",
            "2:1",
            Some("allowed keys: action, allowed_regions, description, encrypted_at_rest, public_access")
        )),
        "{unknown_key:#?}"
    );
}

/// `{creator}` defaults a tag, never `set`s one nor names an owner; `${creator}` is a capture
/// and says so; `[creators]` owners must exist and a key must name someone.
#[test]
fn creator_values_and_routes_are_checked() {
    let all = check(
        r##"[tags.CreatedBy]
pattern = '.{1,256}'

[[rule]]
name = "created"
resource_types = ["dynamodb:table"]
[rule.set]
CreatedBy = "{creator}"
[rule.default]
ProcessOwner = "{creator}"

[[rule]]
name = "dollar"
resource_types = ["s3:bucket"]
[rule.default]
CreatedBy = "${creator}"

[creators."alice@example.com"]
owner = "DataEngineerng"

[creators."*"]
owner = "DataEngineering"

[creators."Bob@example.com"]
owner = "AnalyticsTeam"

[creators."bob@example.com"]
owner = "DataEngineering"
"##,
    );
    assert_eq!(
        all,
        vec![
            error(
                "policy::creator-in-set",
                "`set.CreatedBy` uses `{creator}`",
                "8:13",
                Some("move it to `default`: a `set` value is known with certainty and a different value is a conflict, but the creator is only who made the call (a role, when nothing names a person); `default` adds it when the tag is absent and never disputes a person's value"),
            ),
            error(
                "policy::creator-as-owner",
                "`default.ProcessOwner` uses `{creator}`, but ProcessOwner names an owner of `[owners]`",
                "10:16",
                Some("route the alerts about what a creator makes with `[creators.\"<name>\"] owner = \"<owner>\"`, and keep the creator in a tag of its own (`CreatedBy`)"),
            ),
            error(
                "policy::unknown-capture",
                "`${creator}` names no capture group of the rule's `names` patterns",
                "16:13",
                Some("the creator's name is `{creator}`, without `$`"),
            ),
            error(
                "policy::unknown-owner",
                "owner `DataEngineerng` is not defined",
                "19:9",
                Some("did you mean `DataEngineering`?"),
            ),
            error(
                "policy::creator-pattern",
                "`*` matches every creator",
                "21:11",
                Some("name a creator (`alice@example.com`, `ci-deploy`) or a group of them (`*@data.example.com`); the owner alerted when nothing else is known is `[policy] default_owner`"),
            ),
            error(
                "policy::duplicate-creator",
                "creator `bob@example.com` is already routed to `AnalyticsTeam` at p.toml:24",
                "27:11",
                Some("creator keys are compared without case: keep one"),
            ),
        ]
    );
    // Written right, nothing is reported.
    assert_eq!(
        check(
            r##"[tags.CreatedBy]
pattern = '.{1,256}'

[[rule]]
name = "created"
resource_types = ["dynamodb:table"]
[rule.default]
CreatedBy = "{creator}"

[creators."*@example.com"]
owner = "AnalyticsTeam"
"##
        ),
        vec![]
    );
}
