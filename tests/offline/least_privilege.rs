//! Least privilege of the roles in infra/: no escalation action is granted without a condition,
//! every tag write is limited to the policies' tag keys and the enforcer's own, account-less
//! wildcard ARNs are limited to the account, and infra/README.md lists every IAM action the
//! roles hold with its condition or the reason it has none (generated from the templates:
//! `ENFORCER_BLESS=1 cargo test --test offline least_privilege::` rewrites the table).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::infra::{tag_keys_condition, template, BLESS, S3_BUCKET_TAG_ACTIONS};
use crate::support;

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Actions that let whoever holds them grant themselves or others more (IAM policy and identity
/// writes, tags that ABAC policies may trust, resource policies) or act as another principal.
/// Each is either not granted at all or granted only under a condition.
const ESCALATION_ACTIONS: &[&str] = &[
    "iam:AddUserToGroup",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreatePolicyVersion",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PassRole",
    "iam:PutGroupPolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:TagRole",
    "iam:TagUser",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateLoginProfile",
    "kms:PutKeyPolicy",
    "lambda:AddPermission",
    "lambda:UpdateFunctionCode",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutBucketTagging",
    "sts:AssumeRole",
    "tag:TagResources",
    "tag:UntagResources",
];

/// Why a statement the roles hold has no condition, by `Sid` (a statement without one: its
/// policy's name). The README table prints these; a new unconditioned statement without a
/// reason here fails [`no_statement_is_unconditioned_without_a_reason`].
const WHY_UNCONDITIONED: &[(&str, &str)] = &[
    ("ReadTagsApi", "reads only; `tag:GetResources` has no resource-level permissions"),
    ("ReadTagsEachService", "reads only; the account's ARNs"),
    ("ReadRedshiftTags", "reads only; `redshift:DescribeTags` has no resource-level permissions"),
    ("QuarantineEc2Describe", "reads only; EC2 `Describe*` calls have no resource-level permissions"),
    (
        "QuarantineEc2",
        "broad: a quarantine must reach any instance of the account, and a tag condition would let \
         the instance's owner opt out by tagging; `ec2:ModifyInstanceAttribute` can also change \
         other attributes (the user data of a stopped instance) and no condition key limits it to \
         security groups",
    ),
    (
        "QuarantineRds",
        "broad: a quarantine must reach any database of the account; `rds:ModifyDBInstance` can \
         change any setting (the master password too) and no condition key limits it to \
         `PubliclyAccessible`",
    ),
    (
        "QuarantineLambda",
        "broad: a quarantine must reach any function of the account (reserved concurrency only)",
    ),
    ("QuarantineIamRead", "reads only; the account's roles"),
    (
        "Discover",
        "reads only: the list and describe calls of discovery (`enforcer scan`) and the reads of \
         a resource's protection settings (encryption, public access), most without \
         resource-level permissions, over every resource of the account",
    ),
    (
        "DiscoverOrganization",
        "reads only; `organizations:ListAccounts` has no resource-level permissions",
    ),
    ("InvokeEnforcer", "the enforcer's function only (the scheduled scan)"),
    ("Alerts", "the alerts topic only"),
    ("StateTable", "the state table only"),
    ("FailedEvents", "the dead-letter queue only"),
    ("IntakeQueue", "the intake queue only: receives and deletes the batches it is invoked with"),
    ("PermanentFailures", "the failures queue only"),
    ("Encryption", "the enforcer's key only"),
    ("Logs", "the function's log group only"),
    ("Traces", "X-Ray's trace writes have no resource-level permissions"),
    ("put-central-events", "the central event bus only"),
];

/// One statement of a policy a role of a template holds.
struct Held {
    file: &'static str,
    role: String,
    id: String,
    statement: Value,
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(many) => many.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

fn role_refs(properties: &Value) -> Vec<String> {
    list(&properties["Roles"])
        .iter()
        .map(|r| r["Ref"].as_str().unwrap().to_owned())
        .collect()
}

/// Every statement of every policy held by a role of both templates: the roles' own inline
/// policies, and the inline and managed policies naming them.
fn held() -> Vec<Held> {
    let mut out = Vec::new();
    for file in ["template.yaml", "member.yaml"] {
        let template = template(file);
        for (name, resource) in template["Resources"].as_object().unwrap() {
            let properties = &resource["Properties"];
            let documents: Vec<(String, Vec<String>, &Value)> = match resource["Type"].as_str() {
                Some("AWS::IAM::Role") => properties["Policies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        (
                            p["PolicyName"].as_str().unwrap().to_owned(),
                            vec![name.clone()],
                            &p["PolicyDocument"],
                        )
                    })
                    .collect(),
                Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy") => {
                    vec![(
                        name.clone(),
                        role_refs(properties),
                        &properties["PolicyDocument"],
                    )]
                }
                _ => Vec::new(),
            };
            for (policy, roles, document) in documents {
                for statement in list(&document["Statement"]) {
                    let id = statement["Sid"]
                        .as_str()
                        .map_or_else(|| policy.clone(), str::to_owned);
                    for role in &roles {
                        out.push(Held {
                            file,
                            role: role.clone(),
                            id: id.clone(),
                            statement: statement.clone(),
                        });
                    }
                }
            }
        }
    }
    assert!(out.len() > 20, "only {} statements found", out.len());
    out
}

fn actions(statement: &Value) -> Vec<String> {
    list(&statement["Action"])
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// True when the action pattern `granted` (`*`, `iam:*`, `iam:Put*`) covers `action`.
fn covers(granted: &str, action: &str) -> bool {
    match granted.strip_suffix('*') {
        Some(prefix) => action.to_lowercase().starts_with(&prefix.to_lowercase()),
        None => granted.eq_ignore_ascii_case(action),
    }
}

fn conditioned(statement: &Value) -> bool {
    statement["Condition"]
        .as_object()
        .is_some_and(|c| !c.is_empty())
}

#[test]
fn no_escalation_action_is_granted_unconditioned() {
    let mut granted = Vec::new();
    for held in held().iter().filter(|h| h.statement["Effect"] == "Allow") {
        for action in actions(&held.statement) {
            for escalation in ESCALATION_ACTIONS.iter().filter(|e| covers(&action, e)) {
                assert!(
                    conditioned(&held.statement),
                    "{} {} {}: {escalation} granted without a condition",
                    held.file,
                    held.role,
                    held.id
                );
                granted.push(*escalation);
            }
        }
    }
    // Inline policy writes are granted to no one; the rest only under their condition.
    for never in ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PassRole"] {
        assert!(!granted.contains(&never), "{never} is granted");
    }
    for conditioned_only in [
        "iam:AttachRolePolicy",
        "iam:TagRole",
        "iam:TagUser",
        "s3:PutBucketPolicy",
        "tag:TagResources",
    ] {
        assert!(granted.contains(&conditioned_only), "{conditioned_only}");
    }
}

/// The enforcer's roles may attach and detach one policy: the deny policy its template creates.
#[test]
fn roles_attach_and_detach_only_the_quarantine_deny_policy() {
    for (file, role, policy) in [
        (
            "template.yaml",
            "EnforcerRole",
            "EnforcerQuarantineDenyPolicy",
        ),
        ("member.yaml", "MemberRole", "MemberQuarantineDenyPolicy"),
    ] {
        let statements: Vec<Held> = held()
            .into_iter()
            .filter(|h| h.file == file && h.role == role && h.statement["Effect"] == "Allow")
            .filter(|h| {
                actions(&h.statement)
                    .iter()
                    .any(|a| covers(a, "iam:AttachRolePolicy"))
            })
            .collect();
        assert_eq!(statements.len(), 1, "{file}");
        assert_eq!(
            statements[0].statement["Condition"],
            json!({"ArnEquals": {"iam:PolicyARN": {"Ref": policy}}}),
            "{file}"
        );
        let template = template(file);
        let deny = &template["Resources"][policy];
        assert_eq!(deny["Type"], "AWS::IAM::ManagedPolicy", "{file}");
        // The same path and name in every account: the function derives the member account's
        // ARN from its own.
        assert_eq!(deny["Properties"]["Path"], "/tag-enforcer/");
        assert_eq!(
            deny["Properties"]["ManagedPolicyName"],
            json!({"Fn::Sub": "${MemberRoleName}-quarantine-deny"})
        );
        assert_eq!(
            deny["Properties"]["PolicyDocument"]["Statement"],
            json!([{"Sid": "EnforcerQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}])
        );
        assert!(
            deny["Properties"]["Roles"].is_null(),
            "{file}: attached to a role"
        );
    }
    let template = template("template.yaml");
    assert_eq!(
        template["Resources"]["EnforcerFunction"]["Properties"]["Environment"]["Variables"]
            ["ENFORCER_QUARANTINE_POLICY_ARN"],
        json!({"Ref": "EnforcerQuarantineDenyPolicy"})
    );
}

/// True when `action` writes tags.
fn writes_tags(action: &str, catalog: &std::collections::BTreeSet<String>) -> bool {
    action == "tag:TagResources"
        || (catalog.contains(action) && !action.ends_with(":GetBucketTagging"))
}

#[test]
fn every_tag_write_is_limited_to_the_policies_tag_keys() {
    let catalog = support::catalog_tag_actions();
    let vocabulary = tag_keys_condition();
    let mut checked = 0;
    for held in held().iter().filter(|h| h.statement["Effect"] == "Allow") {
        let writes: Vec<String> = actions(&held.statement)
            .into_iter()
            .filter(|a| writes_tags(a, &catalog))
            .collect();
        if writes.is_empty() {
            continue;
        }
        checked += writes.len();
        if writes
            .iter()
            .all(|a| S3_BUCKET_TAG_ACTIONS.contains(&a.as_str()))
        {
            // PutBucketTagging names every key of the bucket: the account, not the keys.
            assert_eq!(
                held.statement["Condition"],
                json!({"StringEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}),
                "{} {}",
                held.file,
                held.id
            );
        } else {
            assert_eq!(
                held.statement["Condition"], vocabulary,
                "{} {}: {writes:?} without the policies' tag keys",
                held.file, held.id
            );
        }
    }
    assert!(checked > 400, "only {checked} tag writes checked");
}

/// A wildcard ARN without an account (`arn:…:s3:::*`, `iam::*:`) matches other accounts'
/// resources: such grants carry `aws:ResourceAccount` (or `aws:ResourceOrgID`).
#[test]
fn account_less_wildcards_are_limited_to_the_account() {
    for held in held().iter().filter(|h| h.statement["Effect"] == "Allow") {
        for resource in list(&held.statement["Resource"]) {
            let text = resource
                .get("Fn::Sub")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| resource.to_string());
            let account_less = text.contains(":::*") || text.contains("::*:");
            if account_less {
                let condition = held.statement["Condition"].to_string();
                assert!(
                    condition.contains("aws:ResourceAccount")
                        || condition.contains("aws:ResourceOrgID"),
                    "{} {}: {text} without aws:ResourceAccount",
                    held.file,
                    held.id
                );
            }
        }
    }
}

#[test]
fn no_statement_is_unconditioned_without_a_reason() {
    let reasons: BTreeMap<&str, &str> = WHY_UNCONDITIONED.iter().copied().collect();
    let mut used = std::collections::BTreeSet::new();
    for held in held().iter().filter(|h| h.statement["Effect"] == "Allow") {
        if conditioned(&held.statement) {
            continue;
        }
        assert!(
            reasons.contains_key(held.id.as_str()),
            "{} {} {}: no condition and no reason in WHY_UNCONDITIONED",
            held.file,
            held.role,
            held.id
        );
        used.insert(held.id.clone());
    }
    for id in reasons.keys() {
        assert!(
            used.contains(*id),
            "WHY_UNCONDITIONED names {id}, which has a condition or is gone"
        );
    }
}

/// A template value as the README prints it: intrinsics shortened.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        Value::Object(map) => {
            if let Some(name) = map.get("Ref").and_then(Value::as_str) {
                return match name {
                    "AWS::AccountId" => "this account".to_owned(),
                    other => format!("`{other}`"),
                };
            }
            if let Some(text) = map.get("Fn::Sub").and_then(Value::as_str) {
                return text
                    .replace("${AWS::Partition}", "<partition>")
                    .replace("${AWS::AccountId}", "<account>");
            }
            if let Some(parts) = map.get("Fn::GetAtt").and_then(Value::as_array) {
                return format!("`{}`", show(&parts[0]));
            }
            if let Some(args) = map.get("Fn::If").and_then(Value::as_array) {
                return format!(
                    "if `{}`: {}; else {}",
                    show(&args[0]),
                    show(&args[1]),
                    show(&args[2])
                );
            }
            map.iter()
                .map(|(k, v)| match v {
                    Value::Object(inner) => inner
                        .iter()
                        .map(|(key, values)| format!("{k} `{key}` = {}", show(values)))
                        .collect::<Vec<_>>()
                        .join("; "),
                    _ => format!("{k}: {}", show(v)),
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        other => other.to_string(),
    }
}

/// The README's table: one row per statement (the same statement of several roles once), every
/// action named, with its condition or why it has none.
fn render_table() -> String {
    let reasons: BTreeMap<&str, &str> = WHY_UNCONDITIONED.iter().copied().collect();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for held in held() {
        let statement = &held.statement;
        let mut names = actions(statement);
        names.sort();
        let condition = if conditioned(statement) {
            show(&statement["Condition"])
        } else if statement["Effect"] == "Deny" {
            "(a deny)".to_owned()
        } else {
            format!(
                "none: {}",
                reasons.get(held.id.as_str()).copied().unwrap_or("?")
            )
        };
        let row = format!(
            "| {} | {} | {} | {} | {} |",
            held.id,
            statement["Effect"].as_str().unwrap(),
            names
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(" "),
            show(&statement["Resource"]).replace('*', "\\*"),
            condition.replace('*', "\\*").replace('|', "\\|"),
        );
        let role = format!("{} ({})", held.role, held.file);
        match rows.iter_mut().find(|(r, _)| *r == row) {
            Some((_, roles)) => roles.push(role),
            None => rows.push((row, vec![role])),
        }
    }
    let mut out = String::from(
        "| statement | effect | actions | resources | condition, or why none | roles |\n|---|---|---|---|---|---|\n",
    );
    for (row, roles) in rows {
        out.push_str(&format!("{row} {} |\n", roles.join(", ")));
    }
    out
}

const TABLE_BEGIN: &str = "<!-- BEGIN generated iam actions -->\n";
const TABLE_END: &str = "<!-- END generated iam actions -->";

#[test]
fn the_readme_lists_every_iam_action_the_roles_hold() {
    let path = support::repo_root().join("infra").join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(TABLE_BEGIN)
        .expect("no table markers in infra/README.md")
        + TABLE_BEGIN.len();
    let stop = text[start..].find(TABLE_END).unwrap() + start;
    let expected = format!("{}{}{}", &text[..start], render_table(), &text[stop..]);
    if text != expected {
        assert!(
            std::env::var_os(BLESS).is_some(),
            "infra/README.md's IAM table is out of date with the templates: run `{BLESS}=1 cargo \
             test --test offline least_privilege::` and review the diff"
        );
        std::fs::write(&path, expected).unwrap();
    }
}
