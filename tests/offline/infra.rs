//! The deployable templates in infra/: the EventBridge rules deliver exactly the catalogued calls
//! (and never the enforcer's own), both roles grant every IAM action the code's SDK calls need
//! (`enforcer::act::aws::REQUIRED_IAM_ACTIONS`, itself checked against the calls in the source)
//! and nothing else, the function is configured as the Lambda expects, the state table is what
//! `enforcer::state` reads and writes (its actions granted on that table only), and every skipped
//! checkov rule says why.
//!
//! cfn-lint and checkov run over the same templates in infra/check.sh (called by
//! tests/run-all.sh).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;
use crate::support::event_pattern;

use std::collections::BTreeSet;
use std::path::PathBuf;

use enforcer::act::aws::{required_actions, Scope, REMOVABLE_TAG_KEYS, REQUIRED_IAM_ACTIONS};
use enforcer::catalog::Catalog;
use serde_json::{json, Value};

use event_pattern::matches;

/// The role ARN the tests put where a template references the enforcer's own role.
const OWN_ROLE: &str = "arn:aws:iam::111122223333:role/enforcer-EnforcerRole-ABC123";

/// EventBridge's default quota on the size of one event pattern.
const MAX_PATTERN_CHARS: usize = 2048;

/// Set to rewrite the generated parts of infra/ (see [`generated_infra_is_up_to_date`]).
pub(crate) const BLESS: &str = "ENFORCER_BLESS";

fn infra(file: &str) -> PathBuf {
    support::repo_root().join("infra").join(file)
}

/// A CloudFormation YAML template as JSON, short-form intrinsics (`!GetAtt A.B`, `!Sub …`) in
/// their long form (`{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": …}`).
pub(crate) fn template(file: &str) -> Value {
    let text = std::fs::read_to_string(infra(file)).unwrap();
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"));
    to_json(yaml)
}

fn to_json(yaml: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => json!(i),
            (None, Some(f)) => json!(f),
            _ => panic!("number {n}"),
        },
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_yaml_ng::to_string(&other).unwrap().trim().to_owned(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let inner = to_json(tagged.value);
            match tag.as_str() {
                "!Ref" => json!({ "Ref": inner }),
                "!Condition" => json!({ "Condition": inner }),
                "!GetAtt" => match inner.as_str() {
                    Some(dotted) => {
                        let (resource, attribute) = dotted.split_once('.').unwrap();
                        json!({ "Fn::GetAtt": [resource, attribute] })
                    }
                    None => json!({ "Fn::GetAtt": inner }),
                },
                other => json!({ format!("Fn::{}", &other[1..]): inner }),
            }
        }
    }
}

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    let found = &template["Resources"][name];
    assert!(found.is_object(), "no resource {name}");
    found
}

/// `enforcer events pattern --format json`: `[{"name", "event_pattern"}]`, one per EventBridge
/// source and `tag` last.
fn command_patterns() -> Vec<(String, Value)> {
    let output = std::process::Command::new(support::enforcer_bin())
        .args(["events", "pattern", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    named_patterns(&serde_json::from_slice(&output.stdout).unwrap())
}

fn named_patterns(list: &Value) -> Vec<(String, Value)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["event_pattern"].clone(),
            )
        })
        .collect()
}

/// infra/event-pattern.json: what `enforcer events pattern` prints, as deployed.
fn pattern_file() -> Vec<(String, Value)> {
    named_patterns(
        &serde_json::from_str(&std::fs::read_to_string(infra("event-pattern.json")).unwrap())
            .unwrap(),
    )
}

/// The loop guard the rules add under `detail.userIdentity`.
fn guard(role: Value) -> Value {
    json!({ "$or": [
        { "sessionContext": { "sessionIssuer": { "arn": [{ "anything-but": [role] }] } } },
        { "sessionContext": { "sessionIssuer": { "arn": [{ "exists": false }] } } },
    ]})
}

/// A pattern with the loop guard on `role`; patterns of events without a caller (Tag Change on
/// Resource, Macie findings: not CloudTrail calls) stay as they are.
fn guarded(pattern: &Value, role: &Value) -> Value {
    let mut out = pattern.clone();
    if pattern["detail-type"] != json!(["AWS API Call via CloudTrail"]) {
        return out;
    }
    if let Some(detail) = out.get_mut("detail").and_then(Value::as_object_mut) {
        detail.insert("userIdentity".to_owned(), guard(role.clone()));
    }
    out
}

/// `redshift-serverless` → `RedshiftServerless`.
fn camel(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().unwrap().to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

/// The two deployments of the rules: central (to the function, guarding the function's role)
/// and member (to the central bus, guarding the member role).
struct Rules {
    file: &'static str,
    logical_prefix: &'static str,
    name_prefix: &'static str,
    role: Value,
    target: &'static str,
}

fn central() -> Rules {
    Rules {
        file: "template.yaml",
        logical_prefix: "Rule",
        name_prefix: "${FunctionName}",
        role: json!({ "Fn::GetAtt": ["EnforcerRole", "Arn"] }),
        target: "        - Id: enforcer\n          Arn: !GetAtt IntakeQueue.Arn\n          RetryPolicy:\n            MaximumRetryAttempts: 8\n            MaximumEventAgeInSeconds: !Ref MaximumEventAgeInSeconds\n          DeadLetterConfig:\n            Arn: !GetAtt DeadLetterQueue.Arn\n",
    }
}

fn member() -> Rules {
    Rules {
        file: "member.yaml",
        logical_prefix: "Forward",
        name_prefix: "${RuleNamePrefix}",
        role: json!({ "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${MemberRoleName}" }),
        target: "        - Id: central-enforcer\n          Arn: !If [HasCentralEventBusArn, !Ref CentralEventBusArn, !Sub \"arn:${AWS::Partition}:events:${AWS::Region}:${CentralAccountId}:event-bus/default\"]\n          RoleArn: !GetAtt ForwardRole.Arn\n          RetryPolicy:\n            MaximumRetryAttempts: 8\n            MaximumEventAgeInSeconds: 3600\n          DeadLetterConfig:\n            Arn: !GetAtt ForwardDeadLetterQueue.Arn\n",
    }
}

/// The YAML of every rule of a deployment.
fn render_rules(rules: &Rules, patterns: &[(String, Value)]) -> String {
    let mut out = String::new();
    for (name, pattern) in patterns {
        let json = layout(&guarded(pattern, &rules.role), 8);
        let sources: Vec<&str> = pattern["source"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let what = match sources.as_slice() {
            [only] => (*only).to_owned(),
            [first, .., last] => format!("{first} to {last}"),
            [] => panic!("{name}: a pattern without a source"),
        };
        out.push_str(&format!(
            "  {prefix}{camel}:\n    Type: AWS::Events::Rule\n    Properties:\n      Name: !Sub \"{name_prefix}-{name}\"\n      Description: \"{what} events the enforcer handles (enforcer events pattern: {name})\"\n      EventBusName: default\n      State: ENABLED\n      EventPattern:\n        {json}\n      Targets:\n{target}",
            prefix = rules.logical_prefix,
            camel = camel(name),
            name_prefix = rules.name_prefix,
            target = rules.target,
        ));
    }
    out
}

/// JSON laid out for reading in a template: a value that fits in 90 characters on one line,
/// objects one key a line, lists of names wrapped at 100 columns; `indent` spaces deep.
fn layout(value: &Value, indent: usize) -> String {
    let compact = serde_json::to_string(value)
        .unwrap()
        .replace("\",\"", "\", \"")
        .replace("\":", "\": ")
        .replace("\":  ", "\": ");
    if compact.len() <= 90 {
        return compact;
    }
    let pad = " ".repeat(indent + 2);
    match value {
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{pad}{}: {}",
                        serde_json::to_string(k).unwrap(),
                        layout(v, indent + 2)
                    )
                })
                .collect();
            format!("{{\n{}\n{}}}", entries.join(",\n"), " ".repeat(indent))
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let mut lines = vec![String::new()];
            for item in items {
                let text = serde_json::to_string(item).unwrap();
                let last = lines.last_mut().unwrap();
                if !last.is_empty() && pad.len() + last.len() + text.len() + 2 > 100 {
                    lines.push(String::new());
                }
                let last = lines.last_mut().unwrap();
                if !last.is_empty() {
                    last.push(' ');
                }
                last.push_str(&text);
                last.push(',');
            }
            let body: Vec<String> = lines.iter().map(|l| format!("{pad}{l}")).collect();
            let body = body.join("\n");
            format!("[\n{}\n{}]", body.trim_end_matches(','), " ".repeat(indent))
        }
        Value::Array(items) => {
            let entries: Vec<String> = items
                .iter()
                .map(|v| format!("{pad}{}", layout(v, indent + 2)))
                .collect();
            format!("[\n{}\n{}]", entries.join(",\n"), " ".repeat(indent))
        }
        _ => compact,
    }
}

/// IAM's limit on one customer-managed policy document (whitespace not counted).
const MANAGED_POLICY_CHARS: usize = 6_144;

/// IAM's default quota on the managed policies attached to one role.
const MANAGED_POLICIES_PER_ROLE: usize = 10;

/// Where the catalog's tagging actions are granted in a deployment: customer-managed policies
/// `{logical_prefix}1`, `2`, … attached to `role` (the actions outgrew a role's inline policies).
struct TagPolicies {
    file: &'static str,
    logical_prefix: &'static str,
    role: &'static str,
    condition: Option<&'static str>,
}

fn central_tag_policies() -> TagPolicies {
    TagPolicies {
        file: "template.yaml",
        logical_prefix: "EnforcerTagPolicy",
        role: "EnforcerRole",
        condition: None,
    }
}

fn member_tag_policies() -> TagPolicies {
    TagPolicies {
        file: "member.yaml",
        logical_prefix: "MemberTagPolicy",
        role: "MemberRole",
        condition: Some("CreatesMemberRole"),
    }
}

/// S3 buckets' tagging actions, granted apart (`TagS3Buckets`): `PutBucketTagging` replaces the
/// whole tag set, so its request names every key of the bucket and no `aws:TagKeys` condition
/// can hold; the bucket must be the account's instead (`aws:ResourceAccount`).
pub(crate) const S3_BUCKET_TAG_ACTIONS: &[&str] = &["s3:GetBucketTagging", "s3:PutBucketTagging"];

/// The tag keys the roles may write (`aws:TagKeys`): the shipped policies' vocabulary
/// (`policies/`, what `build.sh` packages) and the enforcer's own keys.
pub(crate) fn writable_tag_keys() -> Vec<String> {
    let loaded = enforcer::policy::load(
        &[support::repo_root().join("policies")],
        enforcer::catalog::KNOWN_RESOURCE_TYPES,
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    let mut keys: Vec<String> = loaded.set.tags.iter().map(|t| t.key.clone()).collect();
    keys.sort();
    keys.push("enforcer:*".to_owned());
    keys
}

/// The condition every statement granting tag writes carries.
pub(crate) fn tag_keys_condition() -> Value {
    json!({"ForAllValues:StringLike": {"aws:TagKeys": writable_tag_keys()}})
}

/// The catalog's tagging actions the generated policies grant: all but S3 buckets'.
fn generated_tag_actions() -> BTreeSet<String> {
    support::catalog_tag_actions()
        .into_iter()
        .filter(|a| !S3_BUCKET_TAG_ACTIONS.contains(&a.as_str()))
        .collect()
}

/// The tagging statement of one generated policy, as JSON (intrinsics in their long form).
fn tag_statement(part: usize, actions: &[&String]) -> Value {
    json!({
        "Sid": format!("TagEachService{part}"),
        "Effect": "Allow",
        "Action": actions,
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:*:*:${AWS::AccountId}:*"},
        "Condition": tag_keys_condition(),
    })
}

fn policy_document(statement: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

/// The catalog's tagging actions in order, cut into policies of at most 90 % of
/// [`MANAGED_POLICY_CHARS`] each (the margin covers intrinsics resolved to longer text).
fn tag_action_parts(actions: &BTreeSet<String>) -> Vec<Vec<&String>> {
    let budget = MANAGED_POLICY_CHARS * 9 / 10;
    let mut parts: Vec<Vec<&String>> = vec![Vec::new()];
    for action in actions {
        let mut candidate = parts.last().unwrap().clone();
        candidate.push(action);
        let size = policy_document(tag_statement(parts.len(), &candidate))
            .to_string()
            .len();
        if size > budget {
            parts.push(vec![action]);
        } else {
            *parts.last_mut().unwrap() = candidate;
        }
    }
    parts
}

/// The YAML of the generated tagging policies of a deployment.
fn render_tag_policies(policies: &TagPolicies, actions: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for (index, part) in tag_action_parts(actions).iter().enumerate() {
        let number = index + 1;
        let condition = policies
            .condition
            .map(|c| format!("    Condition: {c}\n"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {prefix}{number}:\n    Type: AWS::IAM::ManagedPolicy\n{condition}    Properties:\n      Description: !Sub \"${{AWS::StackName}}: the catalog's tagging actions, part {number}\"\n      Roles: [!Ref {role}]\n      PolicyDocument:\n        Version: \"2012-10-17\"\n        Statement:\n          - Sid: TagEachService{number}\n            Effect: Allow\n            Action:\n",
            prefix = policies.logical_prefix,
            role = policies.role,
        ));
        for action in part {
            out.push_str(&format!("              - {action}\n"));
        }
        out.push_str(
            "            Resource: !Sub arn:${AWS::Partition}:*:*:${AWS::AccountId}:*\n            Condition:\n              ForAllValues:StringLike:\n                aws:TagKeys:\n",
        );
        out.push_str(&render_tag_keys(18));
    }
    out
}

/// `enforcer alert cloudformation` over the shipped policies: each owner's topic and Slack
/// channel, the template's `generated owner routes` block.
fn owner_routes() -> String {
    let output = std::process::Command::new(support::enforcer_bin())
        .args(["alert", "cloudformation", "--policies"])
        .arg(support::repo_root().join("policies"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The YAML list of [`writable_tag_keys`], indented by `indent`.
fn render_tag_keys(indent: usize) -> String {
    writable_tag_keys()
        .iter()
        .map(|key| format!("{:indent$}- {}\n", "", json!(key)))
        .collect()
}

/// The IAM actions discovering one account takes (`enforcer::discover::account_discovery_calls`),
/// sorted, each once.
fn account_discovery_actions() -> BTreeSet<String> {
    enforcer::discover::account_discovery_calls()
        .iter()
        .flat_map(|call| call.actions.iter().map(|a| (*a).to_owned()))
        .collect()
}

/// The YAML list of [`account_discovery_actions`], indented by `indent`.
fn render_discovery_actions(indent: usize) -> String {
    account_discovery_actions()
        .iter()
        .map(|action| format!("{:indent$}- {action}\n", ""))
        .collect()
}

/// Replaces what lies between `# BEGIN {what}` and `# END {what}` lines.
pub(crate) fn splice(text: &str, what: &str, body: &str) -> String {
    let begin = format!("# BEGIN {what}\n");
    let end = format!("# END {what}");
    let start = text.find(&begin).unwrap_or_else(|| panic!("no `{begin}`")) + begin.len();
    let stop = text[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("no `{end}`"))
        + start;
    let line_start = text[..stop].rfind('\n').map_or(0, |i| i + 1);
    format!("{}{body}{}", &text[..start], &text[line_start..])
}

/// The rules of a deployment, as (pattern name, resource).
fn deployed_rules(rules: &Rules) -> Vec<(String, Value)> {
    let template = template(rules.file);
    command_patterns()
        .into_iter()
        .map(|(name, _)| {
            let logical = format!("{}{}", rules.logical_prefix, camel(&name));
            (name, resource(&template, &logical).clone())
        })
        .collect()
}

/// The central rules' patterns with the role reference made concrete, for matching.
fn central_patterns(role: &str) -> Vec<(String, Value)> {
    deployed_rules(&central())
        .into_iter()
        .map(|(name, rule)| (name, resolved(&rule["Properties"]["EventPattern"], role)))
        .collect()
}

fn delivered(patterns: &[(String, Value)], event: &Value) -> Vec<String> {
    patterns
        .iter()
        .filter(|(_, p)| matches(p, event))
        .map(|(name, _)| name.clone())
        .collect()
}

/// A pattern with intrinsic functions replaced by `role` (the only reference a pattern holds).
fn resolved(value: &Value, role: &str) -> Value {
    match value {
        Value::Object(map)
            if map.len() == 1 && map.keys().all(|k| k == "Ref" || k.starts_with("Fn::")) =>
        {
            json!(role)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolved(v, role)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolved(v, role)).collect()),
        other => other.clone(),
    }
}

/// The hand-written samples, then the generated ones.
fn samples() -> Vec<(String, Value)> {
    let dir = support::repo_root().join("events/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(dir.join("generated")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&text).unwrap(),
            )
        })
        .collect()
}

fn sample(name: &str) -> Value {
    samples()
        .into_iter()
        .find(|(file, _)| file == name)
        .unwrap_or_else(|| panic!("no sample {name}"))
        .1
}

/// Events the rule must not deliver, each a sample changed in one way.
fn near_misses() -> Vec<(&'static str, Value)> {
    let bucket = sample("s3-CreateBucket.json");
    let function = sample("lambda-CreateFunction20150331.json");
    let with = |base: &Value, change: &dyn Fn(&mut Value)| {
        let mut event = base.clone();
        change(&mut event);
        event
    };
    vec![
        (
            "a read-only call",
            with(&bucket, &|e| {
                e["detail"]["eventName"] = json!("GetBucketTagging")
            }),
        ),
        (
            "a call the catalog does not know",
            with(&bucket, &|e| {
                e["detail"]["eventName"] = json!("DeleteBucket")
            }),
        ),
        (
            "a longer name sharing a versioned prefix",
            with(&function, &|e| {
                e["detail"]["eventName"] = json!("CreateFunctionUrlConfig20211031");
            }),
        ),
        (
            "another service's call name",
            with(&bucket, &|e| {
                e["source"] = json!("aws.ec2");
                e["detail"]["eventSource"] = json!("ec2.amazonaws.com");
            }),
        ),
        (
            "another detail type",
            with(&bucket, &|e| {
                e["detail-type"] = json!("AWS Service Event via CloudTrail")
            }),
        ),
        (
            "the enforcer's own call",
            with(&bucket, &|e| {
                e["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
                    json!(OWN_ROLE);
                e["detail"]["userIdentity"]["arn"] = json!(
                    "arn:aws:sts::111122223333:assumed-role/enforcer-EnforcerRole-ABC123/enforcer-lambda"
                );
            }),
        ),
    ]
}

/// Events the rule must deliver beyond the samples: other kinds of callers.
fn other_callers() -> Vec<(&'static str, Value)> {
    let bucket = sample("s3-CreateBucket.json");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut event = bucket.clone();
        change(&mut event);
        event
    };
    vec![
        (
            "an IAM user (no session)",
            with(&|e| {
                e["detail"]["userIdentity"] = json!({
                    "type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": "111122223333",
                    "arn": "arn:aws:iam::111122223333:user/ci-deployer", "userName": "ci-deployer"
                });
            }),
        ),
        (
            "an IAM user with session attributes only",
            with(&|e| {
                e["detail"]["userIdentity"] = json!({
                    "type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob",
                    "sessionContext": { "attributes": { "mfaAuthenticated": "true" } }
                });
            }),
        ),
        (
            "the root user",
            with(&|e| {
                e["detail"]["userIdentity"] = json!({
                    "type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"
                });
            }),
        ),
        (
            "a role whose name contains the enforcer's",
            with(&|e| {
                e["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
                    json!(format!("{OWN_ROLE}-copy"));
            }),
        ),
    ]
}

/// Every line of the shared CloudTrail corpora as an EventBridge event: envelopes as they are,
/// bare records wrapped the way EventBridge delivers them.
fn corpus_events() -> Vec<(String, Value)> {
    let catalog = Catalog::builtin().unwrap();
    let mut out = Vec::new();
    for folder in ["cloudtrail-real", "cloudtrail-docs"] {
        for path in support::corpus_files(folder) {
            let text = std::fs::read_to_string(&path).unwrap();
            for (index, line) in text.lines().enumerate() {
                let Ok(value) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                let location = format!("{}:{}", path.display(), index + 1);
                if value.get("detail-type").is_some() {
                    out.push((location, value));
                } else if let Some(source) = value["eventSource"].as_str() {
                    out.push((
                        location,
                        json!({
                            "version": "0",
                            "id": "00000000-0000-0000-0000-000000000000",
                            "detail-type": "AWS API Call via CloudTrail",
                            "source": catalog.source_info(source).eventbridge_source,
                            "account": value["recipientAccountId"],
                            "region": value["awsRegion"],
                            "time": value["eventTime"],
                            "resources": [],
                            "detail": value,
                        }),
                    ));
                }
            }
        }
    }
    out
}

/// The generated parts of infra/ (event-pattern.json, the rules of both templates, the tagging
/// permissions) are what the catalog and `enforcer events pattern` make of them today. After a
/// catalog change, `ENFORCER_BLESS=1 cargo test --test offline infra::` rewrites them; review the diff.
#[test]
fn generated_infra_is_up_to_date() {
    let patterns = command_patterns();
    let mut file = serde_json::to_string_pretty(
        &patterns
            .iter()
            .map(|(name, pattern)| json!({ "name": name, "event_pattern": pattern }))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    file.push('\n');
    let tag_actions = generated_tag_actions();
    let mut expected = vec![("event-pattern.json", file)];
    for (rules, policies) in [
        (central(), central_tag_policies()),
        (member(), member_tag_policies()),
    ] {
        assert_eq!(rules.file, policies.file);
        let text = std::fs::read_to_string(infra(rules.file)).unwrap();
        let text = splice(&text, "generated rules", &render_rules(&rules, &patterns));
        let text = splice(&text, "generated tag keys", &render_tag_keys(18));
        let text = splice(
            &text,
            "generated discovery actions",
            &render_discovery_actions(14),
        );
        expected.push((
            rules.file,
            splice(
                &text,
                "generated tag policies",
                &render_tag_policies(&policies, &tag_actions),
            ),
        ));
    }
    let routes = owner_routes();
    for (file, text) in &mut expected {
        if *file == "template.yaml" {
            *text = splice(text, "generated owner routes", &routes);
        }
    }
    let bless = std::env::var_os(BLESS).is_some();
    let mut stale = Vec::new();
    for (file, text) in expected {
        let current = std::fs::read_to_string(infra(file)).unwrap_or_default();
        if current != text {
            if bless {
                std::fs::write(infra(file), text).unwrap();
            } else {
                stale.push(file);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "infra/{stale:?} out of date with the catalog: run `{BLESS}=1 cargo test --test offline infra::` and review the diff"
    );
}

/// An owner with Slack ids gets its topic, named as the function's `ENFORCER_OWNER_TOPIC_PREFIX`
/// and the owner's name say, encrypted with the enforcer's key, a Q Developer channel
/// configuration on it and the function's permission to publish; an owner bringing its own topic
/// gets the permission only. Spliced into the template, every reference resolves.
#[test]
fn owner_routes_give_each_routed_owner_its_topic_and_channel() {
    let policies = support::routed_policies();
    let output = std::process::Command::new(support::enforcer_bin())
        .args(["alert", "cloudformation", "--policies"])
        .arg(policies.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let routes = String::from_utf8(output.stdout).unwrap();
    let text = splice(
        &std::fs::read_to_string(infra("template.yaml")).unwrap(),
        "generated owner routes",
        &routes,
    );
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let template = to_json(yaml);
    let topic = resource(&template, "OwnerTopicDataEngineering");
    assert_eq!(topic["Type"], "AWS::SNS::Topic");
    let prefix = resource(&template, "EnforcerFunction")["Properties"]["Environment"]["Variables"]
        ["ENFORCER_OWNER_TOPIC_PREFIX"]["Fn::Sub"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        format!("{}DataEngineering", prefix.rsplit(':').next().unwrap()),
        topic["Properties"]["TopicName"]["Fn::Sub"],
        "the function finds the topic by the prefix and the owner's name"
    );
    assert_eq!(
        topic["Properties"]["KmsMasterKeyId"],
        json!({"Ref": "EnforcerKey"})
    );
    let channel = resource(&template, "OwnerSlackChannelDataEngineering");
    assert_eq!(channel["Type"], "AWS::Chatbot::SlackChannelConfiguration");
    let channel = &channel["Properties"];
    assert_eq!(channel["SlackWorkspaceId"], "T0123ABCD");
    assert_eq!(channel["SlackChannelId"], "C0123456789");
    assert_eq!(
        channel["SnsTopicArns"],
        json!([{"Ref": "OwnerTopicDataEngineering"}])
    );
    assert_eq!(
        channel["IamRoleArn"],
        json!({"Fn::GetAtt": ["OwnerSlackChannelRole", "Arn"]})
    );
    let role = resource(&template, "OwnerSlackChannelRole");
    assert!(
        role["Properties"].get("Policies").is_none(),
        "notifications only"
    );
    assert!(template["Resources"].get("OwnerTopicInfoSec").is_none());
    let publish = &resource(&template, "OwnerTopicsPublishPolicy")["Properties"];
    assert_eq!(publish["Roles"], json!([{"Ref": "EnforcerRole"}]));
    assert_eq!(
        publish["PolicyDocument"]["Statement"][0]["Resource"],
        json!([
            {"Ref": "OwnerTopicDataEngineering"},
            "arn:aws:sns:eu-west-1:111122223333:infosec-alerts"
        ])
    );
    // Every Ref and GetAtt names a resource or parameter of the template.
    let mut names: BTreeSet<String> = template["Resources"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.extend(template["Parameters"].as_object().unwrap().keys().cloned());
    names.extend(
        [
            "AWS::NoValue",
            "AWS::Region",
            "AWS::AccountId",
            "AWS::Partition",
            "AWS::StackName",
        ]
        .map(str::to_owned),
    );
    let mut dangling = Vec::new();
    references(&template["Resources"], &mut |name| {
        if !names.contains(name) {
            dangling.push(name.to_owned());
        }
    });
    assert!(dangling.is_empty(), "{dangling:?}");
}

/// Every central rule delivers to the intake queue, which the function reads in batches (at most
/// 20 seconds of window, partial batch responses), whose failed messages come back after a
/// visibility timeout Lambda's advice allows and then land in its own encrypted dead-letter queue
/// (alarmed); the function may read and delete there and nowhere else, and only the rules may
/// send. Nothing invokes the function but the mapping.
#[test]
fn the_rules_feed_an_intake_queue_the_function_reads_in_batches() {
    let template = template("template.yaml");
    for (name, rule) in deployed_rules(&central()) {
        assert_eq!(
            rule["Properties"]["Targets"][0]["Arn"],
            json!({"Fn::GetAtt": ["IntakeQueue", "Arn"]}),
            "{name}"
        );
    }
    let queue = &resource(&template, "IntakeQueue")["Properties"];
    assert_eq!(queue["KmsMasterKeyId"], json!({"Ref": "EnforcerKey"}));
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        json!({"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]})
    );
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"], 3);
    let dead = &resource(&template, "IntakeDeadLetterQueue")["Properties"];
    assert_eq!(dead["KmsMasterKeyId"], json!({"Ref": "EnforcerKey"}));
    let mapping = &resource(&template, "IntakeMapping");
    assert_eq!(mapping["Type"], "AWS::Lambda::EventSourceMapping");
    let mapping = &mapping["Properties"];
    assert_eq!(mapping["FunctionName"], json!({"Ref": "EnforcerFunction"}));
    assert_eq!(
        mapping["EventSourceArn"],
        json!({"Fn::GetAtt": ["IntakeQueue", "Arn"]})
    );
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    let window = mapping["MaximumBatchingWindowInSeconds"].as_i64().unwrap();
    assert!(
        window <= 20,
        "one event's alert within 60 s of the call: {window}"
    );
    let timeout = resource(&template, "EnforcerFunction")["Properties"]["Timeout"]
        .as_i64()
        .unwrap();
    assert!(queue["VisibilityTimeout"].as_i64().unwrap() >= 6 * timeout + window);
    let alarm = &resource(&template, "IntakeDeadLetterQueueDepthAlarm")["Properties"];
    assert_eq!(
        alarm["Dimensions"][0]["Value"],
        json!({"Fn::GetAtt": ["IntakeDeadLetterQueue", "QueueName"]})
    );
    let run = policy_statements(&template, "EnforcerRunPolicy");
    let intake: Vec<&Value> = run
        .iter()
        .filter(|s| s["Resource"] == json!({"Fn::GetAtt": ["IntakeQueue", "Arn"]}))
        .collect();
    assert_eq!(intake.len(), 1);
    assert_eq!(
        intake[0]["Action"],
        json!([
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes"
        ])
    );
    let statements =
        &resource(&template, "IntakeQueuePolicy")["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(
        statements[0]["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(statements[0]["Action"], "sqs:SendMessage");
    let invokers: Vec<&String> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Permission")
        .map(|(name, _)| name)
        .collect();
    assert!(invokers.is_empty(), "{invokers:?}");
}

/// Calls `each` with the resource or parameter of every `Ref` and `Fn::GetAtt` under `value`.
fn references(value: &Value, each: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(name)) = map.get("Ref") {
                each(name);
            }
            if let Some(Value::Array(parts)) = map.get("Fn::GetAtt") {
                if let Some(Value::String(name)) = parts.first() {
                    each(name);
                }
            }
            map.values().for_each(|v| references(v, each));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, each)),
        _ => {}
    }
}

#[test]
fn the_pattern_file_is_what_enforcer_events_pattern_prints() {
    let file = pattern_file();
    assert_eq!(file, command_patterns());
    assert!(file.len() > 10);
    assert_eq!(file.last().unwrap().0, "tag");
}

#[test]
fn every_rule_is_its_pattern_plus_the_loop_guard_and_fits_eventbridge() {
    let file = pattern_file();
    for rules in [central(), member()] {
        let deployed = deployed_rules(&rules);
        assert_eq!(deployed.len(), file.len(), "{}", rules.file);
        for ((name, rule), (file_name, pattern)) in deployed.iter().zip(&file) {
            assert_eq!(name, file_name);
            let properties = &rule["Properties"];
            assert_eq!(rule["Type"], "AWS::Events::Rule", "{} {name}", rules.file);
            assert_eq!(
                properties["EventBusName"], "default",
                "{} {name}",
                rules.file
            );
            assert_eq!(properties["State"], "ENABLED", "{} {name}", rules.file);
            assert_eq!(
                properties["EventPattern"],
                guarded(pattern, &rules.role),
                "{} {name}: the pattern drifted from infra/event-pattern.json",
                rules.file
            );
            let target = &properties["Targets"][0];
            assert!(target["RetryPolicy"]["MaximumRetryAttempts"].is_number());
            assert!(target["DeadLetterConfig"]["Arn"].is_object());
            // Rule names are PREFIX-name: at most 64 characters with a 40-character prefix.
            assert!(name.len() <= 23, "rule name {name} is too long");
            // With a long role ARN, still inside EventBridge's pattern quota.
            let role = format!("arn:aws-us-gov:iam::111122223333:role/{}", "r".repeat(64));
            let size = serde_json::to_string(&resolved(&properties["EventPattern"], &role))
                .unwrap()
                .len();
            assert!(
                size < MAX_PATTERN_CHARS,
                "{} {name}: {size} characters",
                rules.file
            );
        }
        // Only the `macie` and `tag` rules go without a guard: Macie findings and Tag Change on
        // Resource have no caller.
        let unguarded: Vec<&String> = deployed
            .iter()
            .filter(|(_, rule)| {
                rule["Properties"]["EventPattern"]["detail"]["userIdentity"].is_null()
            })
            .map(|(name, _)| name)
            .collect();
        assert_eq!(unguarded, vec!["macie", "tag"], "{}", rules.file);
    }
}

#[test]
fn samples_are_delivered_once_and_near_misses_never() {
    let patterns = central_patterns(OWN_ROLE);
    for (file, event) in samples() {
        let by = delivered(&patterns, &event);
        assert_eq!(by.len(), 1, "sample {file} is delivered by {by:?}");
    }
    for (why, event) in other_callers() {
        assert_eq!(
            delivered(&patterns, &event).len(),
            1,
            "{why} must be delivered"
        );
    }
    for (why, event) in near_misses() {
        let by = delivered(&patterns, &event);
        assert!(by.is_empty(), "{why} must not be delivered, but {by:?} do");
    }
    // The member rules guard the member role instead.
    let member_role = "arn:aws:iam::444455556666:role/tag-enforcer-member";
    let forward: Vec<(String, Value)> = deployed_rules(&member())
        .into_iter()
        .map(|(name, rule)| {
            (
                name,
                resolved(&rule["Properties"]["EventPattern"], member_role),
            )
        })
        .collect();
    let mut by_member_role = sample("s3-CreateBucket.json");
    by_member_role["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        json!(member_role);
    assert!(delivered(&forward, &by_member_role).is_empty());
    assert_eq!(
        delivered(&forward, &sample("s3-CreateBucket.json")).len(),
        1
    );
}

#[test]
fn the_rules_deliver_exactly_the_catalogued_calls_of_the_shared_corpus() {
    let catalog = Catalog::builtin().unwrap();
    let patterns = central_patterns(OWN_ROLE);
    let events = corpus_events();
    assert!(events.len() > 400, "{} corpus events", events.len());
    let mut count = 0;
    for (location, event) in &events {
        let detail = &event["detail"];
        let event_source = detail["eventSource"].as_str().unwrap_or_default();
        let expected = if event["detail-type"] == "Tag Change on Resource" {
            event["source"] == "aws.tag"
        } else {
            event["detail-type"] == "AWS API Call via CloudTrail"
                && catalog
                    .lookup(
                        event_source,
                        detail["eventName"].as_str().unwrap_or_default(),
                    )
                    .is_some()
                && event["source"] == json!(catalog.source_info(event_source).eventbridge_source)
        };
        let by = delivered(&patterns, event);
        assert_eq!(
            by.len(),
            usize::from(expected),
            "{location}: {event_source} {} delivered by {by:?}",
            detail["eventName"]
        );
        count += usize::from(expected);
    }
    assert!(count >= 100, "only {count} corpus events are catalogued");
}

/// moto's own EventBridge matcher (the one behind its `put_events`) must agree with ours on every
/// rule and every sample, caller, near miss and corpus event. Runs where tests/run-all.sh
/// installed moto.
#[test]
fn moto_agrees_with_the_matcher() {
    let Some(server) = std::env::var_os("ENFORCER_MOTO_SERVER") else {
        eprintln!("ENFORCER_MOTO_SERVER is not set (tests/run-all.sh sets it): skipping");
        return;
    };
    let python = PathBuf::from(server).with_file_name("python");
    let patterns = central_patterns(OWN_ROLE);
    let mut events: Vec<(String, Value)> = samples();
    events.extend(other_callers().into_iter().map(|(w, e)| (w.to_owned(), e)));
    events.extend(near_misses().into_iter().map(|(w, e)| (w.to_owned(), e)));
    events.extend(corpus_events());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    std::fs::write(
        &input,
        serde_json::to_string(&json!({
            "patterns": patterns.iter().map(|(_, p)| p).collect::<Vec<_>>(),
            "events": events.iter().map(|(_, e)| e).collect::<Vec<_>>(),
        }))
        .unwrap(),
    )
    .unwrap();
    let script = "import json, sys\n\
                  from moto.events.models import EventPattern\n\
                  data = json.load(open(sys.argv[1]))\n\
                  patterns = [EventPattern.load(json.dumps(p)) for p in data['patterns']]\n\
                  print(json.dumps([[p.matches_event(e) for p in patterns] for e in data['events']]))\n";
    let output = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdicts: Vec<Vec<bool>> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdicts.len(), events.len());
    for ((what, event), moto) in events.iter().zip(verdicts) {
        let ours: Vec<bool> = patterns.iter().map(|(_, p)| matches(p, event)).collect();
        assert_eq!(ours, moto, "moto disagrees on {what}");
    }
}

fn policy_statements(template: &Value, name: &str) -> Vec<Value> {
    let policy = resource(template, name);
    assert_eq!(policy["Type"], "AWS::IAM::Policy", "{name}");
    policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .clone()
}

/// The statements of the generated tagging policies of a deployment, in order.
fn tag_policy_statements(template: &Value, policies: &TagPolicies) -> Vec<Value> {
    let mut out = Vec::new();
    for number in 1.. {
        let name = format!("{}{number}", policies.logical_prefix);
        let Some(policy) = template["Resources"].get(&name) else {
            break;
        };
        assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy", "{name}");
        assert_eq!(
            policy["Properties"]["Roles"],
            json!([{"Ref": policies.role}]),
            "{name}"
        );
        out.extend(
            policy["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
    }
    assert!(
        !out.is_empty(),
        "{}: no {}1",
        policies.file,
        policies.logical_prefix
    );
    out
}

/// The tagging and quarantine statements of a role: its inline policy and its generated
/// tagging policies.
fn tag_and_quarantine_statements(file: &str) -> Vec<Value> {
    let template = template(file);
    let (inline, policies) = if file == "template.yaml" {
        ("EnforcerTagAndQuarantinePolicy", central_tag_policies())
    } else {
        ("MemberTagAndQuarantine", member_tag_policies())
    };
    let mut statements = policy_statements(&template, inline);
    statements.extend(tag_policy_statements(&template, &policies));
    statements
}

fn actions(statements: &[Value], effect: &str) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|s| s["Effect"] == effect)
        .flat_map(|s| match &s["Action"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
            other => panic!("Action {other}"),
        })
        .collect()
}

#[test]
fn central_and_member_roles_grant_the_same_tagging_and_quarantine_actions() {
    let central = tag_and_quarantine_statements("template.yaml");
    let member = tag_and_quarantine_statements("member.yaml");
    for effect in ["Allow", "Deny"] {
        assert_eq!(
            actions(&central, effect),
            actions(&member, effect),
            "{effect}"
        );
    }
    let sids = |s: &[Value]| -> Vec<String> {
        s.iter()
            .map(|x| x["Sid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(sids(&central), sids(&member));
    // No wildcard actions (what the roles may do is checked against the code in
    // `the_roles_grant_every_action_the_code_needs_and_nothing_else`).
    for action in actions(&central, "Allow") {
        assert!(
            !action.contains('*'),
            "{action} is broader than the enforcer needs"
        );
    }
    // The enforcer may never rewrite its own roles.
    assert_eq!(
        actions(&central, "Deny"),
        BTreeSet::from([
            "iam:AttachRolePolicy".to_owned(),
            "iam:DetachRolePolicy".to_owned()
        ])
    );
}

#[test]
fn the_roles_can_tag_every_service_the_rules_forward() {
    let allowed = actions(&roles().central_tag, "Allow");
    assert!(allowed.contains("tag:TagResources") && allowed.contains("tag:GetResources"));
    // Services with no catalogued tag call (events/README.md, "Services without a tag call"):
    // the enforcer can only alert on their resources. Listed so that a change is noticed.
    let untaggable = [
        // No tag operation in the models: stacks and projects take tags only through their
        // create/update calls; EBS direct APIs make EC2 snapshots (ec2:CreateTags); Directory
        // Service Data and Verified Permissions have none.
        "cloudformation",
        "codebuild",
        "ebs",
        "ds-data",
        "verifiedpermissions",
        // Discontinued: IAM no longer knows their actions (support::RETIRED_TAG_ACTIONS).
        "evidently",
        "iotevents",
        // The tag call names the resource by an id whose type the id alone does not give
        // (datapipeline `pipelineId`, ds `ResourceId`, EMR `j-`/`es-` ids, Organizations
        // account/OU/root/policy ids, WorkSpaces ids of several types).
        "datapipeline",
        "ds",
        "elasticmapreduce",
        "organizations",
        "workspaces",
        // Elastic Beanstalk adds and removes in one `UpdateTagsForResource`; Pinpoint nests its
        // tags in `TagsModel`: shapes the generated entries do not describe.
        "elasticbeanstalk",
        "mobiletargeting",
    ];
    let mut checked = 0;
    for (name, pattern) in pattern_file() {
        // A rule's services: one branch of `detail.$or` each, or its only `detail`; the `tag`
        // rule (Tag Change on Resource) and the `macie` rule (findings, no call) have none.
        if pattern["detail-type"] != json!(["AWS API Call via CloudTrail"]) {
            continue;
        }
        let detail = &pattern["detail"];
        let branches = match detail.get("$or") {
            Some(Value::Array(branches)) => branches.clone(),
            _ if detail.is_object() => vec![detail.clone()],
            _ => Vec::new(),
        };
        for branch in branches {
            for event_source in branch["eventSource"].as_array().unwrap() {
                let prefix = support::iam_prefix(event_source.as_str().unwrap());
                let can_tag = allowed.iter().any(|action| {
                    let (service, action) = action.split_once(':').unwrap();
                    service == prefix && (action.contains("Tag") || action.starts_with("AddTags"))
                });
                assert_eq!(
                    can_tag,
                    !untaggable.contains(&prefix),
                    "{name}: tagging permission for {prefix}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "only {checked} services checked");
}

/// The roles' policies: the central function's (tagging and quarantine, and running) and the
/// member role's.
struct Roles {
    central_tag: Vec<Value>,
    central_run: Vec<Value>,
    member: Vec<Value>,
}

fn roles() -> Roles {
    let central = template("template.yaml");
    Roles {
        central_tag: tag_and_quarantine_statements("template.yaml"),
        central_run: policy_statements(&central, "EnforcerRunPolicy"),
        member: tag_and_quarantine_statements("member.yaml"),
    }
}

/// Why an action is needed: the calls of REQUIRED_IAM_ACTIONS that need it.
fn needed_by(action: &str) -> String {
    REQUIRED_IAM_ACTIONS
        .iter()
        .filter(|r| r.actions.contains(&action))
        .map(|r| format!("{} ({:?}: {})", r.call, r.backend, r.purpose))
        .collect::<Vec<_>>()
        .join("; ")
}

fn owned(actions: Vec<&str>) -> BTreeSet<String> {
    actions.into_iter().map(str::to_owned).collect()
}

/// Both roles grant every IAM action of `enforcer::act::aws::REQUIRED_IAM_ACTIONS` (the member
/// role those of [`Scope::EveryAccount`]), and their tagging and quarantine policies grant
/// nothing else but the catalog's tagging actions.
#[test]
fn the_roles_grant_every_action_the_code_needs_and_nothing_else() {
    let roles = roles();
    let every = owned(required_actions(Scope::EveryAccount));
    let function_only = owned(required_actions(Scope::FunctionOnly));
    let central: BTreeSet<String> = actions(&roles.central_tag, "Allow")
        .into_iter()
        .chain(actions(&roles.central_run, "Allow"))
        .collect();
    let member = actions(&roles.member, "Allow");
    let missing = |granted: &BTreeSet<String>, needed: &BTreeSet<String>| -> Vec<String> {
        needed
            .difference(granted)
            .map(|a| format!("{a}, for {}", needed_by(a)))
            .collect()
    };
    let all: BTreeSet<String> = every.union(&function_only).cloned().collect();
    let central_missing = missing(&central, &all);
    assert!(
        central_missing.is_empty(),
        "infra/template.yaml's EnforcerRole does not grant:\n{}",
        central_missing.join("\n")
    );
    let member_missing = missing(&member, &every);
    assert!(
        member_missing.is_empty(),
        "infra/member.yaml's MemberRole does not grant:\n{}",
        member_missing.join("\n")
    );
    // Alerts and assuming member roles happen in the function's own account only.
    for action in &function_only {
        assert!(!member.contains(action), "the member role grants {action}");
    }
    // Nothing more: the code's actions and the catalog's tagging actions.
    let expected: BTreeSet<String> = every
        .union(&support::catalog_tag_actions())
        .cloned()
        .collect();
    let tag_and_quarantine = actions(&roles.central_tag, "Allow");
    let extra: Vec<&String> = tag_and_quarantine.difference(&expected).collect();
    assert!(
        extra.is_empty(),
        "EnforcerTagAndQuarantinePolicy grants {extra:?}, which no call in \
         enforcer/src/act/aws needs (REQUIRED_IAM_ACTIONS)"
    );
    assert_eq!(tag_and_quarantine, member);
}

/// The statements of a role's discovery policy (a managed policy of its own).
fn discover_statements(file: &str) -> Vec<Value> {
    let (name, role) = if file == "template.yaml" {
        ("EnforcerDiscoverPolicy", "EnforcerRole")
    } else {
        ("MemberDiscoverPolicy", "MemberRole")
    };
    let template = template(file);
    let policy = resource(&template, name);
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy", "{file} {name}");
    assert_eq!(
        policy["Properties"]["Roles"],
        json!([{"Ref": role}]),
        "{file} {name}"
    );
    policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .clone()
}

/// Both roles may discover what `enforcer scan` discovers (`enforcer::discover`): their
/// `Discover` statement holds exactly one account's discovery actions, all of them reads; the
/// function's role, where `scan --org` runs, also lists the organization's accounts and assumes
/// the member roles (every action of `discovery_calls`); the member role does neither.
#[test]
fn the_roles_grant_every_action_discovery_needs_and_only_reads() {
    let expected = account_discovery_actions();
    assert!(
        expected.contains("s3:ListAllMyBuckets") && expected.contains("ec2:DescribeInstances"),
        "{expected:?}"
    );
    for action in &expected {
        let name = action.split_once(':').unwrap().1;
        assert!(
            ["List", "Describe", "Get", "Search"]
                .iter()
                .any(|read| name.starts_with(read)),
            "{action} is not a read; discovery only reads"
        );
    }
    let mut granted_by_file = std::collections::BTreeMap::new();
    for file in ["template.yaml", "member.yaml"] {
        let statements = discover_statements(file);
        let discover: Vec<Value> = statements
            .iter()
            .filter(|s| s["Sid"] == "Discover")
            .cloned()
            .collect();
        assert_eq!(discover.len(), 1, "{file}: one Discover statement");
        assert_eq!(actions(&discover, "Allow"), expected, "{file}");
        granted_by_file.insert(file, actions(&statements, "Allow"));
    }
    let roles = roles();
    let central: BTreeSet<String> = actions(&roles.central_tag, "Allow")
        .into_iter()
        .chain(actions(&roles.central_run, "Allow"))
        .chain(granted_by_file["template.yaml"].iter().cloned())
        .collect();
    let missing: Vec<String> = enforcer::discover::discovery_calls()
        .iter()
        .flat_map(|call| call.actions.iter())
        .filter(|action| !central.contains(**action))
        .map(|action| (*action).to_owned())
        .collect();
    assert!(
        missing.is_empty(),
        "infra/template.yaml's EnforcerRole cannot discover: {missing:?}"
    );
    assert_eq!(
        granted_by_file["template.yaml"]
            .difference(&expected)
            .collect::<Vec<_>>(),
        ["organizations:ListAccounts"]
    );
    assert_eq!(granted_by_file["member.yaml"], expected);
}

/// The scheduled scan: EventBridge Scheduler invokes the function with the payload
/// `enforcer::lambda::scan::ScanRequest` recognises, on the expression of a parameter (daily by
/// default), unless the parameter turning it off says so; its role may invoke this function
/// and nothing else, and only Scheduler of this account may assume it.
#[test]
fn the_scheduled_scan_invokes_the_function_with_the_scan_payload_and_nothing_more() {
    let template = template("template.yaml");
    let parameters = &template["Parameters"];
    assert_eq!(
        parameters["ScanScheduleExpression"]["Default"],
        "rate(1 day)"
    );
    assert_eq!(parameters["ScheduledScan"]["Default"], "enabled");
    assert_eq!(
        parameters["ScheduledScan"]["AllowedValues"],
        json!(["enabled", "disabled"])
    );
    assert_eq!(
        template["Conditions"]["HasScanSchedule"],
        json!({"Fn::Equals": [{"Ref": "ScheduledScan"}, "enabled"]})
    );
    // Audit by default: the function's mode is the template's, audit unless told otherwise.
    assert_eq!(parameters["Mode"]["Default"], "audit");
    let schedule = resource(&template, "ScanSchedule");
    assert_eq!(schedule["Type"], "AWS::Scheduler::Schedule");
    assert_eq!(schedule["Condition"], "HasScanSchedule");
    let properties = &schedule["Properties"];
    assert_eq!(
        properties["ScheduleExpression"],
        json!({"Ref": "ScanScheduleExpression"})
    );
    assert_eq!(properties["State"], "ENABLED");
    let target = &properties["Target"];
    assert_eq!(
        target["Arn"],
        json!({"Fn::GetAtt": ["EnforcerFunction", "Arn"]})
    );
    assert_eq!(
        target["RoleArn"],
        json!({"Fn::GetAtt": ["ScanScheduleRole", "Arn"]})
    );
    let input: Value = serde_json::from_str(target["Input"].as_str().unwrap()).unwrap();
    assert!(
        enforcer::lambda::scan::ScanRequest::of(&input).is_some(),
        "{input} is not a scan request"
    );
    let role = resource(&template, "ScanScheduleRole");
    assert_eq!(role["Type"], "AWS::IAM::Role");
    assert_eq!(role["Condition"], "HasScanSchedule");
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
        }])
    );
    let policies = role["Properties"]["Policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1);
    assert_eq!(
        policies[0]["PolicyDocument"]["Statement"],
        json!([{
            "Sid": "InvokeEnforcer",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["EnforcerFunction", "Arn"]}
        }])
    );
    // No other policy names the schedule's role.
    for (name, other) in template["Resources"].as_object().unwrap() {
        let roles = other["Properties"]["Roles"].to_string();
        assert!(!roles.contains("ScanScheduleRole"), "{name} grants it more");
    }
}

/// `Resource: "*"` only for actions without resource-level permissions, and the actions that
/// remove tags only for the enforcer's quarantine records.
#[test]
fn the_roles_scope_their_statements() {
    let unscoped_ok = [
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "redshift:DescribeTags",
        "tag:GetResources",
        "tag:TagResources",
        "tag:UntagResources",
    ];
    let roles = roles();
    for (file, statements) in [
        ("template.yaml", &roles.central_tag),
        ("member.yaml", &roles.member),
    ] {
        for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
            let sid = statement["Sid"].as_str().unwrap();
            let resources = match &statement["Resource"] {
                Value::Array(many) => many.clone(),
                one => vec![one.clone()],
            };
            let granted = actions(std::slice::from_ref(statement), "Allow");
            if resources.contains(&json!("*")) {
                for action in &granted {
                    assert!(
                        unscoped_ok.contains(&action.as_str()),
                        "{file} {sid}: {action} on every resource; scope it by ARN"
                    );
                }
            }
            let removes = granted.iter().any(|a| {
                let name = a.split_once(':').unwrap().1;
                name.starts_with("Untag")
                    || name.starts_with("DeleteTags")
                    || name.starts_with("RemoveTags")
            });
            if removes {
                assert_eq!(
                    statement["Condition"],
                    json!({"ForAllValues:StringLike": {"aws:TagKeys": REMOVABLE_TAG_KEYS}}),
                    "{file} {sid}: the enforcer removes only its quarantine records"
                );
            }
        }
    }
}

/// SDK clients by the names the AWS backends give them (`AwsClients`' fields), with the IAM
/// prefix of their service.
const CLIENTS: &[(&str, &str)] = &[
    ("tagging", "tag"),
    ("sns", "sns"),
    ("s3", "s3"),
    ("ec2", "ec2"),
    ("rds", "rds"),
    ("lambda", "lambda"),
    ("iam", "iam"),
    ("sqs", "sqs"),
    ("redshift", "redshift"),
    ("ecr", "ecr"),
    ("dynamodb", "dynamodb"),
];

fn rust_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `s3:get_public_access_block` and `s3:GetPublicAccessBlock` alike: `s3:getpublicaccessblock`.
fn normalized(call: &str) -> String {
    call.to_ascii_lowercase().replace('_', "")
}

/// The SDK calls in a source file, as `prefix:operation` (the operation in snake case): a
/// method called on a client named after its `AwsClients` field (`self.s3.get_bucket_policy()`,
/// `ec2\n.describe_instances()`), and `AssumeRoleProvider` (`sts:AssumeRole`). Comment lines are
/// skipped. In a file with SDK calls, every `.send()` must belong to one of them, or the scan
/// fails: a call on a client of another name would otherwise go unseen.
fn sdk_calls(path: &std::path::Path) -> Vec<String> {
    let text: String = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let names: Vec<&str> = CLIENTS.iter().map(|(name, _)| *name).collect();
    let call = regex::Regex::new(&format!(
        r"\b({})\s*\.\s*([a-z][a-z0-9_]*)\s*\(",
        names.join("|")
    ))
    .unwrap();
    let mut calls: Vec<String> = call
        .captures_iter(&text)
        .filter(|c| &c[2] != "clone")
        .map(|c| {
            let prefix = CLIENTS.iter().find(|(name, _)| *name == &c[1]).unwrap().1;
            format!("{prefix}:{}", &c[2])
        })
        .collect();
    let sends = regex::Regex::new(r"\.\s*send\(\)")
        .unwrap()
        .find_iter(&text)
        .count();
    if sends == 0 {
        // No SDK call (they all end in `.send()`): a client-named receiver is a wrapper, as in
        // lambda/aws.rs (`sns.publish(message)` on `SnsNotify`).
        calls.clear();
    }
    assert_eq!(
        sends,
        calls.len(),
        "{}: {sends} `.send()` but {} calls on clients named after AwsClients' fields ({calls:?}); \
         name every SDK client after its AwsClients field",
        path.display(),
        calls.len()
    );
    if text.contains("AssumeRoleProvider::builder") {
        calls.push("sts:AssumeRole".to_owned());
    }
    calls
}

/// Every SDK call the AWS backends make has its row in REQUIRED_IAM_ACTIONS, and every row is a
/// call the code makes.
#[test]
fn required_iam_actions_name_every_sdk_call_of_the_code() {
    let src = support::repo_root().join("enforcer/src");
    let mut files = Vec::new();
    rust_files(&src.join("act/aws"), &mut files);
    rust_files(&src.join("state"), &mut files);
    files.push(src.join("lambda/aws.rs"));
    files.push(src.join("lambda/failures.rs"));
    files.sort();
    // Normalized call → where it is made, as written there.
    let mut found: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for file in &files {
        for call in sdk_calls(file) {
            let location = format!(
                "{call} in {}",
                file.strip_prefix(&src).unwrap_or(file).display()
            );
            found.entry(normalized(&call)).or_insert(location);
        }
    }
    assert!(
        found.len() >= 30,
        "only {} calls found: {found:?}",
        found.len()
    );
    let listed: BTreeSet<String> = REQUIRED_IAM_ACTIONS
        .iter()
        .map(|r| normalized(r.call))
        .collect();
    let unlisted: Vec<&String> = found
        .iter()
        .filter(|(call, _)| !listed.contains(*call))
        .map(|(_, location)| location)
        .collect();
    assert!(
        unlisted.is_empty(),
        "SDK calls without a row in REQUIRED_IAM_ACTIONS (enforcer/src/act/aws/permissions.rs): \
         {unlisted:?}; add them with the IAM actions they need, and grant those in infra/"
    );
    let unused: Vec<&str> = REQUIRED_IAM_ACTIONS
        .iter()
        .map(|r| r.call)
        .filter(|call| !found.contains_key(&normalized(call)))
        .collect();
    assert!(
        unused.is_empty(),
        "rows of REQUIRED_IAM_ACTIONS no code calls: {unused:?}"
    );
}

#[test]
fn the_function_is_built_and_configured_as_the_lambda_expects() {
    let template = template("template.yaml");
    let function = resource(&template, "EnforcerFunction");
    assert_eq!(function["Type"], "AWS::Serverless::Function");
    // infra/Makefile builds it with the `lambda` profile, in the workspace root.
    assert_eq!(function["Metadata"]["BuildMethod"], "makefile");
    assert_eq!(function["Metadata"]["ContextPath"], "./");
    assert_eq!(function["Metadata"]["ProjectRootDirectory"], "../");
    let makefile = std::fs::read_to_string(infra("Makefile")).unwrap();
    assert!(makefile.contains("build-EnforcerFunction:"));
    assert!(makefile.contains("--profile lambda --bin enforcer-lambda"));
    let properties = &function["Properties"];
    assert_eq!(properties["Runtime"], "provided.al2023");
    assert_eq!(properties["Handler"], "bootstrap");
    assert_eq!(
        properties["Architectures"],
        json!([{"Ref": "Architecture"}])
    );
    // The workspace root: where `cargo lambda build` runs and target/lambda/ appears.
    assert_eq!(properties["CodeUri"], "../");
    let code = infra(properties["CodeUri"].as_str().unwrap());
    assert!(code.join("Cargo.toml").is_file() && code.join("enforcer").is_dir());
    assert_eq!(
        properties["ReservedConcurrentExecutions"],
        json!({"Ref": "ReservedConcurrency"})
    );
    let variables: BTreeSet<&String> = properties["Environment"]["Variables"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        variables.into_iter().cloned().collect::<Vec<_>>(),
        [
            "ENFORCER_ALERT_TOPIC_ARN",
            "ENFORCER_FAILURE_QUEUE_URL",
            "ENFORCER_MEMBER_ROLE_NAME",
            "ENFORCER_MODE",
            "ENFORCER_OWNER_TOPIC_PREFIX",
            "ENFORCER_POLICY_DIR",
            "ENFORCER_QUARANTINE_POLICY_ARN",
            "ENFORCER_ROLE_ARN",
            "ENFORCER_STATE_TABLE",
        ]
    );
    // The owners' generated topics are `${FunctionName}-owner-<owner>`: the prefix the function
    // appends the owner's name to is that name's ARN without the owner.
    assert_eq!(
        properties["Environment"]["Variables"]["ENFORCER_OWNER_TOPIC_PREFIX"],
        json!({"Fn::Sub": format!(
            "arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:${{FunctionName}}{}",
            enforcer::alert::routing::OWNER_TOPIC_INFIX
        )})
    );
    assert_eq!(
        properties["Environment"]["Variables"]["ENFORCER_ROLE_ARN"],
        json!({"Fn::GetAtt": ["EnforcerRole", "Arn"]}),
        "the loop guard and ENFORCER_ROLE_ARN name the same role"
    );
    let invoke = &properties["EventInvokeConfig"];
    assert_eq!(
        invoke["MaximumRetryAttempts"],
        json!({"Ref": "MaximumRetryAttempts"})
    );
    assert_eq!(
        invoke["MaximumEventAgeInSeconds"],
        json!({"Ref": "MaximumEventAgeInSeconds"})
    );
    assert_eq!(
        invoke["DestinationConfig"]["OnFailure"],
        json!({"Type": "SQS", "Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}})
    );
    let mode = &template["Parameters"]["Mode"];
    assert_eq!(mode["AllowedValues"], json!(["audit", "enforce"]));

    // Encrypted with the template's key: topic, queue, log group, environment.
    let key = json!({"Ref": "EnforcerKey"});
    assert_eq!(
        resource(&template, "AlertsTopic")["Properties"]["KmsMasterKeyId"],
        key
    );
    assert_eq!(
        resource(&template, "DeadLetterQueue")["Properties"]["KmsMasterKeyId"],
        key
    );
    assert!(resource(&template, "EnforcerLogGroup")["Properties"]["KmsKeyId"].is_object());
    assert!(properties["KmsKeyArn"].is_object());

    // Alarms on errors and on the dead-letter queue's depth.
    let alarms: Vec<(&str, &Value)> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|r| {
            (
                r["Properties"]["MetricName"].as_str().unwrap(),
                &r["Properties"]["Dimensions"][0]["Value"],
            )
        })
        .collect();
    assert!(
        alarms.contains(&("Errors", &json!({"Ref": "EnforcerFunction"}))),
        "{alarms:?}"
    );
    assert!(
        alarms.contains(&(
            "ApproximateNumberOfMessagesVisible",
            &json!({"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]})
        )),
        "{alarms:?}"
    );
}

/// Permanent failures are recorded where an operator looks: the function is told the failures
/// queue (encrypted with the enforcer's key), may send to that queue only, and alarms watch the
/// metric its log lines make (`enforcer::lambda::failures`) and the queue's depth.
#[test]
fn permanent_failures_have_a_queue_a_metric_and_alarms() {
    use enforcer::lambda::config::FAILURE_QUEUE_VAR;
    use enforcer::lambda::failures::{METRIC_NAMESPACE, PERMANENT_FAILURES_METRIC};

    let template = template("template.yaml");
    let queue = resource(&template, "FailuresQueue");
    assert_eq!(queue["Type"], "AWS::SQS::Queue");
    assert_eq!(
        queue["Properties"]["KmsMasterKeyId"],
        json!({"Ref": "EnforcerKey"})
    );
    let function = resource(&template, "EnforcerFunction");
    assert_eq!(
        function["Properties"]["Environment"]["Variables"][FAILURE_QUEUE_VAR],
        json!({"Ref": "FailuresQueue"})
    );
    // sqs:SendMessage on the failures queue: in one statement, on that queue alone.
    let run =
        &resource(&template, "EnforcerRunPolicy")["Properties"]["PolicyDocument"]["Statement"];
    let on_queue: Vec<&Value> = run
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Resource"] == json!({"Fn::GetAtt": ["FailuresQueue", "Arn"]}))
        .collect();
    assert_eq!(on_queue.len(), 1, "{run:#}");
    let needed: Vec<&str> = enforcer::act::aws::REQUIRED_IAM_ACTIONS
        .iter()
        .filter(|r| r.backend == enforcer::act::aws::Backend::FailureQueue)
        .flat_map(|r| r.actions.iter().copied())
        .collect();
    assert_eq!(needed, ["sqs:SendMessage"]);
    assert_eq!(on_queue[0]["Action"], needed[0]);
    assert_eq!(on_queue[0]["Effect"], "Allow");
    let alarm = |name: &str| resource(&template, name)["Properties"].clone();
    let metric = alarm("PermanentFailuresAlarm");
    assert_eq!(metric["Namespace"], METRIC_NAMESPACE);
    assert_eq!(metric["MetricName"], PERMANENT_FAILURES_METRIC);
    assert_eq!(
        metric["Dimensions"],
        json!([{"Name": "FunctionName", "Value": {"Ref": "EnforcerFunction"}}])
    );
    assert_eq!(metric["AlarmActions"], json!([{"Ref": "AlertsTopic"}]));
    let depth = alarm("FailuresQueueDepthAlarm");
    assert_eq!(depth["Namespace"], "AWS/SQS");
    assert_eq!(
        depth["Dimensions"],
        json!([{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailuresQueue", "QueueName"]}}])
    );
    assert_eq!(depth["AlarmActions"], json!([{"Ref": "AlertsTopic"}]));
}

/// The state table is what enforcer/src/state/ reads and writes (key schema, TTL attribute),
/// on demand, encrypted with the enforcer's key, recoverable to a point in time, kept when the
/// stack goes; the function is told its name, and may make exactly the state store's calls, on
/// that table only; a claim's lease outlasts the function's timeout.
#[test]
fn the_state_table_is_deployed_as_the_state_store_uses_it() {
    use enforcer::act::aws::Backend;
    use enforcer::state::{DEFAULT_CLAIM_LEASE, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};

    let template = template("template.yaml");
    let table = resource(&template, "StateTable");
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    let properties = &table["Properties"];
    assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        properties["KeySchema"],
        json!([
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ])
    );
    assert_eq!(
        properties["AttributeDefinitions"],
        json!([
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ])
    );
    assert_eq!(
        properties["TimeToLiveSpecification"],
        json!({"AttributeName": TTL_ATTRIBUTE, "Enabled": true})
    );
    assert_eq!(
        properties["SSESpecification"],
        json!({"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "EnforcerKey"}})
    );
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );

    let function = &resource(&template, "EnforcerFunction")["Properties"];
    assert_eq!(
        function["Environment"]["Variables"]["ENFORCER_STATE_TABLE"],
        json!({"Ref": "StateTable"})
    );
    let timeout = function["Timeout"].as_u64().unwrap();
    assert!(
        timeout < DEFAULT_CLAIM_LEASE.as_secs(),
        "a claim's lease ({DEFAULT_CLAIM_LEASE:?}) must outlast the function's timeout ({timeout} s): \
         a claimant still running would be overtaken and its message sent twice"
    );

    // Exactly the state store's actions, on the table's ARN, in one statement; no other
    // statement of either role grants a DynamoDB action.
    let needed: BTreeSet<String> = REQUIRED_IAM_ACTIONS
        .iter()
        .filter(|r| r.backend == Backend::StateTable)
        .flat_map(|r| r.actions.iter().map(|a| (*a).to_owned()))
        .collect();
    assert!(!needed.is_empty());
    let roles = roles();
    let mut granting = Vec::new();
    for statement in roles
        .central_tag
        .iter()
        .chain(&roles.central_run)
        .chain(&roles.member)
    {
        let granted = actions(std::slice::from_ref(statement), "Allow");
        // Tagging DynamoDB tables (`dynamodb:TagResource`, from the catalog) is no state access.
        if granted
            .iter()
            .any(|a| a.starts_with("dynamodb:") && !a.contains("Tag"))
        {
            granting.push(statement.clone());
            assert_eq!(granted, needed, "{statement}");
            assert_eq!(
                statement["Resource"],
                json!({"Fn::GetAtt": ["StateTable", "Arn"]}),
                "{statement}"
            );
        }
    }
    assert_eq!(granting.len(), 1, "{granting:?}");
}

#[test]
fn organization_and_slack_parts_are_conditional() {
    let template = template("template.yaml");
    assert_eq!(
        resource(&template, "CentralBusPolicy")["Condition"],
        "IsOrganization"
    );
    assert_eq!(resource(&template, "SlackChannel")["Condition"], "HasSlack");
    assert_eq!(
        resource(&template, "SlackChannel")["Type"],
        "AWS::Chatbot::SlackChannelConfiguration"
    );
    assert_eq!(
        resource(&template, "AlertEmailSubscription")["Condition"],
        "HasAlertEmail"
    );
    let statement = &resource(&template, "CentralBusPolicy")["Properties"]["Statement"];
    assert_eq!(
        statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        json!({"Ref": "OrganizationId"})
    );
    let member = template_member_role();
    assert_eq!(
        member["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"],
        json!({"Ref": "CentralRoleArn"})
    );
}

fn template_member_role() -> Value {
    resource(&template("member.yaml"), "MemberRole").clone()
}

#[test]
fn every_skipped_checkov_rule_says_why() {
    let mut skipped = 0;
    for file in ["template.yaml", "member.yaml"] {
        let template = template(file);
        for (name, resource) in template["Resources"].as_object().unwrap() {
            let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_array() else {
                continue;
            };
            for skip in skips {
                let id = skip["id"].as_str().unwrap();
                assert!(id.starts_with("CKV_"), "{file} {name}: {id}");
                let comment = skip["comment"].as_str().unwrap_or_default();
                assert!(
                    comment.len() > 60,
                    "{file} {name}: {id} needs a reason, not {comment:?}"
                );
                skipped += 1;
            }
        }
    }
    assert_eq!(skipped, 3, "a new skip needs a reviewer's eye");
}

#[test]
fn the_readme_test_command_runs_the_infra_checks() {
    let run_all = std::fs::read_to_string(support::repo_root().join("tests/run-all.sh")).unwrap();
    assert!(
        run_all.contains("infra/check.sh"),
        "tests/run-all.sh runs infra/check.sh"
    );
    let check = std::fs::read_to_string(infra("check.sh")).unwrap();
    for needed in [
        "cfn-lint",
        "checkov",
        "--skip-download",
        "infra/template.yaml",
        "infra/member.yaml",
    ] {
        assert!(check.contains(needed), "infra/check.sh: {needed}");
    }
}

/// IAM's limit on the inline policies of one role, together (whitespace not counted).
const ROLE_INLINE_POLICY_CHARS: usize = 10_240;

#[test]
fn each_roles_inline_policies_fit_iams_size_limit() {
    // The tagging statement grows with the catalog: fail here, not at deploy time. Intrinsics
    // (`Fn::Sub` of `${AWS::Partition}`, `${AWS::AccountId}`) are counted unresolved; resolved
    // they differ by a few characters each, so the bound keeps a 10 % margin.
    for file in ["template.yaml", "member.yaml"] {
        let template = template(file);
        let resources = template["Resources"].as_object().unwrap();
        let mut per_role: std::collections::BTreeMap<String, usize> = Default::default();
        for (name, resource) in resources {
            let properties = &resource["Properties"];
            match resource["Type"].as_str() {
                Some("AWS::IAM::Role") => {
                    let inline: usize = properties["Policies"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| p["PolicyDocument"].to_string().len())
                        .sum();
                    *per_role.entry(name.clone()).or_default() += inline;
                }
                Some("AWS::IAM::Policy") => {
                    let size = properties["PolicyDocument"].to_string().len();
                    for role in properties["Roles"].as_array().unwrap() {
                        let role = role["Ref"]
                            .as_str()
                            .unwrap_or_else(|| panic!("{name}: {role}"));
                        *per_role.entry(role.to_owned()).or_default() += size;
                    }
                }
                _ => {}
            }
        }
        assert!(!per_role.is_empty(), "{file}: no role");
        // The generated tagging policies: customer-managed, each within IAM's limit, and few
        // enough for the default quota of managed policies per role.
        let mut managed_per_role: std::collections::BTreeMap<String, usize> = Default::default();
        for (name, resource) in resources {
            if resource["Type"] != "AWS::IAM::ManagedPolicy" {
                continue;
            }
            let size = resource["Properties"]["PolicyDocument"].to_string().len();
            assert!(
                size * 10 <= MANAGED_POLICY_CHARS * 9,
                "{file}: {name} takes {size} characters; IAM allows {MANAGED_POLICY_CHARS}"
            );
            eprintln!("{file}: {name} {size} characters");
            // The quarantine deny policy is attached to no role of the enforcer's.
            for role in resource["Properties"]["Roles"]
                .as_array()
                .into_iter()
                .flatten()
            {
                *managed_per_role
                    .entry(role["Ref"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        for (role, count) in managed_per_role {
            assert!(
                count <= MANAGED_POLICIES_PER_ROLE,
                "{file}: {role} has {count} managed policies; IAM allows {MANAGED_POLICIES_PER_ROLE} by default"
            );
            eprintln!("{file}: {role} {count} managed policies");
        }
        for (role, size) in per_role {
            assert!(
                size * 10 <= ROLE_INLINE_POLICY_CHARS * 9,
                "{file}: the inline policies of {role} take {size} characters; IAM allows \
                 {ROLE_INLINE_POLICY_CHARS} per role: move statements to a managed policy"
            );
            eprintln!("{file}: {role} {size} characters");
        }
    }
}
