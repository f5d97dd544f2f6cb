//! Each creator form on real-shaped records: the shared corpora (`tests/corpora`) and the
//! `userIdentity` examples of AWS's documentation.

use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::event::CloudTrailRecord;

/// Line `line` (0-based) of a corpus file, decoded as the enforcer decodes records.
fn corpus_identity(file: &str, line: usize) -> UserIdentity {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpora")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let raw = text.lines().nth(line).unwrap();
    let record: CloudTrailRecord = serde_json::from_str(raw).unwrap();
    record.user_identity.unwrap()
}

fn identity(value: Value) -> UserIdentity {
    serde_json::from_value(value).unwrap()
}

fn creator(identity: &UserIdentity) -> Creator {
    Creator::resolve(identity).unwrap()
}

#[test]
fn an_iam_user_is_its_user_name() {
    // The CloudFormation guide's CreateStack, made by the IAM user Alice.
    let alice = creator(&corpus_identity(
        "cloudtrail-docs/aws-cloudformation-user-guide__cfn-api-logging-cloudtrail.jsonl",
        3,
    ));
    assert_eq!(alice.kind, CreatorKind::User);
    assert_eq!(alice.name, "Alice");
    assert_eq!(
        alice.arn.as_deref(),
        Some("arn:aws:iam::012345678910:user/Alice")
    );
    assert_eq!(alice.via, None);
    assert_eq!(alice.email, None);
    assert_eq!(alice.display(), "Alice (IAM user)");
}

#[test]
fn the_root_user_is_root() {
    let root = creator(&corpus_identity(
        "cloudtrail-docs/amazon-ec2-user-guide__monitor-with-cloudtrail.jsonl",
        1,
    ));
    assert_eq!(root.kind, CreatorKind::Root);
    assert_eq!(root.name, "root");
    assert_eq!(root.arn.as_deref(), Some("arn:aws:iam::123456789012:root"));
    assert!(root.names_principal());
}

#[test]
fn an_identity_center_session_is_the_user_it_names_with_the_email() {
    // aws-lambda-rust-runtime's fixture: a permission set's AWSReservedSSO_ role, the session
    // named after the user's email.
    let me = creator(&corpus_identity(
        "cloudtrail-real/aws-lambda-rust-runtime__lambda-events_src_fixtures_example-cloudwatch-cloudtrail-assumed-role.jsonl",
        0,
    ));
    assert_eq!(me.kind, CreatorKind::SsoUser);
    assert_eq!(me.name, "me@dev.com");
    assert_eq!(me.email.as_deref(), Some("me@dev.com"));
    assert_eq!(
        me.role.as_deref(),
        Some("AWSReservedSSO_AWSAdministratorAccess_abcdef1234567890")
    );
    assert_eq!(me.session, None, "the session name is the creator's name");
    // A user name that is not an email.
    let bob = creator(&corpus_identity(
        "cloudtrail-real/panther-analysis__rules_aws_cloudtrail_rules_aws_add_malicious_lambda_extension.jsonl",
        2,
    ));
    assert_eq!(
        (bob.kind, bob.name.as_str(), bob.email.as_deref()),
        (CreatorKind::SsoUser, "bob.ross", None)
    );
    assert_eq!(
        bob.display(),
        "bob.ross (Identity Center user, role AWSReservedSSO_DevAdmin_abc123)"
    );
}

#[test]
fn a_source_identity_is_preferred_over_the_session_name() {
    // The IAM guide's AssumeRole with a source identity: the session name (`JohnRole1`) was
    // chosen by whoever assumed the role; the source identity persists through the chain.
    let john = creator(&corpus_identity(
        "cloudtrail-docs/iam-user-guide__cloudtrail-integration.jsonl",
        0,
    ));
    assert_eq!(john.kind, CreatorKind::SourceIdentity);
    assert_eq!(john.name, "JohnDoe");
    assert_eq!(john.role.as_deref(), Some("JohnRole1"));
    assert_eq!(john.session.as_deref(), Some("JohnRole1"));
    // Even on an Identity Center role, a source identity wins.
    let chained = identity(json!({
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:alice@example.com",
        "arn": "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef", "userName": "AWSReservedSSO_Admin_0123456789abcdef"},
            "sourceIdentity": "carol@example.com"
        }
    }));
    let carol = creator(&chained);
    assert_eq!(
        (carol.kind, carol.name.as_str(), carol.email.as_deref()),
        (
            CreatorKind::SourceIdentity,
            "carol@example.com",
            Some("carol@example.com")
        )
    );
}

#[test]
fn on_behalf_of_names_the_identity_center_user() {
    // The CloudTrail guide's `userIdentity` for a request made on behalf of an IAM Identity
    // Center user.
    let portal = identity(json!({
        "type": "IdentityCenterUser",
        "accountId": "123456789012",
        "onBehalfOf": {
            "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
            "identityStoreArn": "arn:aws:identitystore::123456789012:identitystore/d-9067642ac7"
        },
        "credentialId": "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"
    }));
    let user = creator(&portal);
    assert_eq!(user.kind, CreatorKind::SsoUser);
    assert_eq!(user.name, "544894e8-80c1-707f-60e3-3ba6510dfac1");
    assert_eq!(user.arn, None);
    // The EMR guide's trusted identity propagation: a role session acting for a workforce user.
    let propagated = identity(json!({
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:example-user-1",
        "arn": "arn:aws:sts::111122223333:assumed-role/DataAnalystRole/example-user-1",
        "accountId": "111122223333",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::111122223333:role/DataAnalystRole", "accountId": "111122223333", "userName": "DataAnalystRole"}
        },
        "onBehalfOf": {
            "userId": "94d00cd8-e9e6-4810-b177-b08e84775435",
            "identityStoreArn": "arn:aws:identitystore::111122223333:identitystore/d-1234567890"
        }
    }));
    let analyst = creator(&propagated);
    assert_eq!(analyst.kind, CreatorKind::SsoUser);
    assert_eq!(analyst.name, "94d00cd8-e9e6-4810-b177-b08e84775435");
    assert_eq!(analyst.role.as_deref(), Some("DataAnalystRole"));
    assert_eq!(analyst.session.as_deref(), Some("example-user-1"));
}

#[test]
fn a_role_session_naming_no_person_is_the_role() {
    // The Amazon Connect guide: a role session a service invoked; the session name is kept
    // apart, never taken for a person.
    let sample = creator(&corpus_identity(
        "cloudtrail-docs/amazon-connect-admin-guide__encryption-at-rest.jsonl",
        0,
    ));
    assert_eq!(sample.kind, CreatorKind::Role);
    assert_eq!(sample.name, "SampleRole");
    assert_eq!(sample.session.as_deref(), Some("SampleUser"));
    assert_eq!(sample.via.as_deref(), Some("voiceid.amazonaws.com"));
    assert_eq!(
        sample.display(),
        "SampleRole (role, session SampleUser), via voiceid.amazonaws.com"
    );
    assert!(sample.names_principal());
}

#[test]
fn a_call_cloudformation_makes_keeps_its_principal_with_via() {
    // Panther's fixture: CloudFormation creating a user with its service role.
    let stack = creator(&corpus_identity(
        "cloudtrail-real/panther-analysis__rules_aws_cloudtrail_rules_aws_iam_entity_created_without_cloudformation.jsonl",
        0,
    ));
    assert_eq!(stack.kind, CreatorKind::Role);
    assert_eq!(stack.name, "IdentityCFNServiceRole");
    assert_eq!(stack.via.as_deref(), Some("cloudformation.amazonaws.com"));
    assert_eq!(stack.session.as_deref(), Some("tester"));
    // A stack created without a service role runs with the caller's own credentials: the IAM
    // user is the creator, CloudFormation the way.
    let mut alice = corpus_identity(
        "cloudtrail-docs/aws-cloudformation-user-guide__cfn-api-logging-cloudtrail.jsonl",
        3,
    );
    alice.invoked_by = Some("cloudformation.amazonaws.com".to_owned());
    let alice = creator(&alice);
    assert_eq!(
        (alice.kind, alice.name.as_str()),
        (CreatorKind::User, "Alice")
    );
    assert_eq!(alice.via.as_deref(), Some("cloudformation.amazonaws.com"));
    assert_eq!(
        alice.display(),
        "Alice (IAM user), via cloudformation.amazonaws.com"
    );
}

#[test]
fn a_service_catalog_launch_is_its_launch_role_via_service_catalog() {
    let launch = identity(json!({
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLELAUNCH:servicecatalog",
        "arn": "arn:aws:sts::111122223333:assumed-role/SCLaunchRole/servicecatalog",
        "accountId": "111122223333",
        "invokedBy": "servicecatalog.amazonaws.com",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLELAUNCH", "arn": "arn:aws:iam::111122223333:role/SCLaunchRole", "accountId": "111122223333", "userName": "SCLaunchRole"}
        }
    }));
    let creator = creator(&launch);
    assert_eq!(creator.kind, CreatorKind::Role);
    assert_eq!(creator.name, "SCLaunchRole");
    assert_eq!(creator.via.as_deref(), Some("servicecatalog.amazonaws.com"));
}

#[test]
fn an_aws_service_acting_alone_names_no_person() {
    let kms = creator(&corpus_identity(
        "cloudtrail-docs/amazon-connect-admin-guide__encryption-at-rest.jsonl",
        1,
    ));
    assert_eq!(kms.kind, CreatorKind::Service);
    assert_eq!(kms.name, "voiceid.amazonaws.com");
    assert_eq!((kms.arn.as_ref(), kms.via.as_ref()), (None, None));
    assert!(!kms.names_principal());
    // `AWS Internal`, with no type at all.
    let internal = identity(json!({"accountId": "123456789012", "invokedBy": "AWS Internal"}));
    assert_eq!(creator(&internal).kind, CreatorKind::Service);
    // Nothing at all: nobody.
    assert_eq!(Creator::resolve(&identity(json!({}))), None);
}

#[test]
fn federated_users_are_their_federated_names() {
    // CodeBuild's guide: GetFederationToken's federated user, issued by an IAM user.
    let federated = creator(&corpus_identity(
        "cloudtrail-docs/aws-codebuild-user-guide__cloudtrail.jsonl",
        0,
    ));
    assert_eq!(
        (federated.kind, federated.name.as_str()),
        (CreatorKind::Federated, "user-name")
    );
    // The IAM guide's AssumeRoleWithSAML and AssumeRoleWithWebIdentity.
    let saml = creator(&corpus_identity(
        "cloudtrail-docs/iam-user-guide__cloudtrail-integration.jsonl",
        2,
    ));
    assert_eq!(
        (saml.kind, saml.name.as_str()),
        (CreatorKind::Federated, "<canonical id of user>")
    );
    let web = creator(&corpus_identity(
        "cloudtrail-docs/iam-user-guide__cloudtrail-integration.repaired.jsonl",
        0,
    ));
    assert_eq!(
        (web.kind, web.name.as_str()),
        (CreatorKind::Federated, "<id of user>")
    );
}

/// Every record of both corpora resolves without panicking, and each kind the corpora hold is
/// found: the resolution is total over what CloudTrail has been seen to write.
#[test]
fn every_corpus_record_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpora");
    let mut kinds = std::collections::BTreeSet::new();
    let mut resolved = 0;
    for folder in ["cloudtrail-real", "cloudtrail-docs"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let Ok(value) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                let value = value.get("detail").cloned().unwrap_or(value);
                let Ok(record) = serde_json::from_value::<CloudTrailRecord>(value) else {
                    continue;
                };
                if let Some(creator) = record.user_identity.as_ref().and_then(Creator::resolve) {
                    assert!(!creator.name.is_empty(), "{path:?}: {creator:?}");
                    kinds.insert(creator.kind.as_str());
                    resolved += 1;
                }
            }
        }
    }
    assert!(resolved > 300, "{resolved}");
    for kind in [
        "user",
        "sso-user",
        "source-identity",
        "federated",
        "role",
        "root",
        "service",
    ] {
        assert!(kinds.contains(kind), "{kind} not found: {kinds:?}");
    }
}

#[test]
fn creator_patterns_match_name_email_or_arn_case_insensitively() {
    let me = creator(&corpus_identity(
        "cloudtrail-real/aws-lambda-rust-runtime__lambda-events_src_fixtures_example-cloudwatch-cloudtrail-assumed-role.jsonl",
        0,
    ));
    assert!(me.matches("me@dev.com"));
    assert!(me.matches("*@DEV.com"));
    assert!(me.matches("arn:aws:sts::123456789000:assumed-role/AWSReservedSSO_*"));
    assert!(!me.matches("you@dev.com"));
    assert!(!me.matches("*@example.com"));
    assert!(wildcard_match("a*b*c", "aXbYc"));
    assert!(!wildcard_match("a*b*c", "aXbY"));
    assert!(wildcard_match("*", ""));
    assert!(!wildcard_match("ab", "abc"));
    assert!(!wildcard_match("a*a", "a"));
}
