//! The service control policy of infra/ that reserves the `enforcer:*` tag keys to the enforcer's
//! roles: well-formed, within the size AWS Organizations allows, and naming the roles the
//! templates create.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::infra::template;
use crate::support;

use enforcer::act::{QUARANTINE_AT_KEY, QUARANTINE_KEY, QUARANTINE_STATE_KEY, QUARANTINE_UNDO_KEY};
use serde_json::{json, Value};

const SCP: &str = "scp-enforcer-tags.json";

/// AWS Organizations' limit on one service control policy, whitespace not counted.
const SCP_MAX_CHARS: usize = 5_120;

/// The placeholder the README has replaced with `template.yaml`'s `EnforcerRoleArn` output
/// before the policy is created.
const CENTRAL_ROLE_PLACEHOLDER: &str = "${EnforcerRoleArn}";

fn scp() -> Value {
    let text = std::fs::read_to_string(support::repo_root().join("infra").join(SCP)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("infra/{SCP} is not JSON: {e}"))
}

#[test]
fn the_scp_denies_enforcer_tag_changes_to_all_but_the_enforcers_roles() {
    let scp = scp();
    assert_eq!(scp["Version"], "2012-10-17");
    let statements = scp["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    let deny = &statements[0];
    assert_eq!(deny["Effect"], "Deny");
    // Every action whose request names an `enforcer:*` key (tag, untag, and creating a resource
    // with tags): aws:TagKeys is the keys a request adds or removes.
    assert_eq!(deny["Action"], "*");
    assert_eq!(deny["Resource"], "*");
    let condition = deny["Condition"].as_object().unwrap();
    assert_eq!(condition.len(), 2, "{condition:?}");
    assert_eq!(
        deny["Condition"]["ForAnyValue:StringLike"],
        json!({"aws:TagKeys": ["enforcer:*"]})
    );
    for key in [
        QUARANTINE_KEY,
        QUARANTINE_AT_KEY,
        QUARANTINE_UNDO_KEY,
        QUARANTINE_STATE_KEY,
    ] {
        assert!(
            key.starts_with("enforcer:"),
            "{key} is not reserved by the SCP"
        );
    }
    let exempt = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        .as_array()
        .unwrap();
    // The central function's role: template.yaml names it by an output, which the README has
    // put in place of the placeholder.
    let central = template("template.yaml");
    assert_eq!(
        central["Outputs"]["EnforcerRoleArn"]["Value"],
        json!({"Fn::GetAtt": ["EnforcerRole", "Arn"]})
    );
    // The member role, by the name both templates default to.
    let member = template("member.yaml");
    let member_role = member["Parameters"]["MemberRoleName"]["Default"]
        .as_str()
        .unwrap();
    assert_eq!(
        central["Parameters"]["MemberRoleName"]["Default"],
        member_role
    );
    assert_eq!(
        member["Resources"]["MemberRole"]["Properties"]["RoleName"],
        json!({"Ref": "MemberRoleName"})
    );
    assert_eq!(
        exempt,
        &[
            json!(CENTRAL_ROLE_PLACEHOLDER),
            json!(format!("arn:*:iam::*:role/{member_role}"))
        ]
    );
    let size = scp.to_string().len();
    assert!(
        size <= SCP_MAX_CHARS,
        "{size} characters; an SCP may take {SCP_MAX_CHARS}"
    );
}

/// infra/README.md says how to attach it, with the placeholder this file carries.
#[test]
fn the_readme_says_how_to_attach_the_scp() {
    let readme =
        std::fs::read_to_string(support::repo_root().join("infra").join("README.md")).unwrap();
    for needle in [
        SCP,
        CENTRAL_ROLE_PLACEHOLDER,
        "aws organizations create-policy",
        "aws organizations attach-policy",
    ] {
        assert!(
            readme.contains(needle),
            "infra/README.md does not mention {needle}"
        );
    }
}
