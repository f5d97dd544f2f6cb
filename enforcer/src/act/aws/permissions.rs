//! The IAM actions the AWS backends need: one row per SDK call the code makes, with the actions
//! that call needs and the part of the enforcer that makes it.
//!
//! `infra/template.yaml` (the function's role) and `infra/member.yaml` (the role the function
//! assumes in member accounts) grant these actions. `tests/infra.rs` checks that both roles grant
//! every action of [`REQUIRED_IAM_ACTIONS`] their [`Scope`] asks for (and nothing beyond it and
//! the catalog's tagging actions), and that the table names every SDK call made in
//! `enforcer/src/act/aws/`, `enforcer/src/state/` and `enforcer/src/lambda/aws.rs`: a new call
//! without a row here fails that test.
//!
//! Most calls need the IAM action of the same name. The exceptions are spelled out:
//! - S3's public access block calls are `s3:GetBucketPublicAccessBlock` and
//!   `s3:PutBucketPublicAccessBlock` (the latter also for `DeletePublicAccessBlock`);
//! - the Resource Groups Tagging API's writes also need each service's own tagging action for
//!   every resource it writes: `TagResources` those of every catalogued service (generated into
//!   the templates from the catalog, see `tests/infra.rs`; the quarantinable types' are listed
//!   here too, since a quarantine record is written as tags), `UntagResources` the untag actions
//!   of the quarantinable types (the enforcer removes nothing but quarantine records).

/// Which roles need an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The function's role and the member role: the tag store and the quarantine act in every
    /// account, through the member role in member accounts.
    EveryAccount,
    /// The function's own role only: alerts go to the central topic, and member roles are
    /// assumed from the function's account.
    FunctionOnly,
}

/// The part of the enforcer that makes a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// [`AwsTagStore`](super::AwsTagStore): the Resource Groups Tagging API.
    TagStore,
    /// The services' own tagging calls the tag store falls back on
    /// ([`FALLBACK_SERVICES`](super::FALLBACK_SERVICES)).
    TagFallback,
    /// [`AwsQuarantine`](super::AwsQuarantine) of one resource type (one of
    /// [`QUARANTINE_TYPES`](super::QUARANTINE_TYPES)): prepare, isolate and release.
    Quarantine(&'static str),
    /// [`SnsNotify`](super::SnsNotify): alerts.
    Alerts,
    /// `enforcer::lambda::aws::AwsAccounts`: credentials in member accounts.
    MemberAccounts,
    /// [`DynamoStateStore`](crate::state::DynamoStateStore): the state table, whose ARN is the
    /// only resource these actions are granted on.
    StateTable,
}

impl Backend {
    /// The roles that need this backend's actions.
    pub fn scope(self) -> Scope {
        match self {
            Self::Alerts | Self::MemberAccounts | Self::StateTable => Scope::FunctionOnly,
            Self::TagStore | Self::TagFallback | Self::Quarantine(_) => Scope::EveryAccount,
        }
    }
}

/// One SDK call and the IAM actions it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamRequirement {
    /// The call, `service:Operation`: the IAM service prefix and the API's operation name
    /// (`s3:GetPublicAccessBlock`, `tag:GetResources`, `rds:DescribeDBInstances`).
    pub call: &'static str,
    /// The IAM actions it needs.
    pub actions: &'static [&'static str],
    /// Who makes it.
    pub backend: Backend,
    /// What for.
    pub purpose: &'static str,
}

/// The tag keys the enforcer removes: its quarantine records (every
/// [`QuarantineRecord`](crate::act::QuarantineRecord) key starts so). The roles grant the untag
/// actions only for these keys (`ForAllValues:StringLike` on `aws:TagKeys`).
pub const REMOVABLE_TAG_KEYS: &str = "enforcer:quarantine*";

const fn row(
    call: &'static str,
    actions: &'static [&'static str],
    backend: Backend,
    purpose: &'static str,
) -> IamRequirement {
    IamRequirement {
        call,
        actions,
        backend,
        purpose,
    }
}

use Backend::{Alerts, MemberAccounts, Quarantine, StateTable, TagFallback, TagStore};

/// Every SDK call of the AWS backends and the IAM actions it needs.
pub const REQUIRED_IAM_ACTIONS: &[IamRequirement] = &[
    // Tag store: the Resource Groups Tagging API.
    row(
        "tag:GetResources",
        &["tag:GetResources"],
        TagStore,
        "read the tags of the resources an event touched",
    ),
    row(
        "tag:TagResources",
        &[
            "tag:TagResources",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
            "ec2:CreateTags",
            "rds:AddTagsToResource",
            "lambda:TagResource",
        ],
        TagStore,
        "add the tags the policy infers, and quarantine records (with each service's own \
         tagging action; those of every catalogued service come from the catalog)",
    ),
    row(
        "tag:UntagResources",
        &[
            "tag:UntagResources",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
            "ec2:DeleteTags",
            "rds:RemoveTagsFromResource",
            "lambda:UntagResource",
        ],
        TagStore,
        "remove a quarantine record on release, or after a failed isolation (with the \
         quarantinable types' own untag actions)",
    ),
    // The services' own tagging calls.
    row(
        "sqs:GetQueueUrl",
        &["sqs:GetQueueUrl"],
        TagFallback,
        "the queue URL the SQS tagging calls take",
    ),
    row(
        "sqs:ListQueueTags",
        &["sqs:ListQueueTags"],
        TagFallback,
        "read a queue's tags",
    ),
    row(
        "sqs:TagQueue",
        &["sqs:TagQueue"],
        TagFallback,
        "tag a queue",
    ),
    row(
        "sqs:UntagQueue",
        &["sqs:UntagQueue"],
        TagFallback,
        "remove a queue's tags",
    ),
    row(
        "redshift:DescribeTags",
        &["redshift:DescribeTags"],
        TagFallback,
        "read a cluster's tags",
    ),
    row(
        "redshift:CreateTags",
        &["redshift:CreateTags"],
        TagFallback,
        "tag a cluster",
    ),
    row(
        "redshift:DeleteTags",
        &["redshift:DeleteTags"],
        TagFallback,
        "remove a cluster's tags",
    ),
    row(
        "ecr:ListTagsForResource",
        &["ecr:ListTagsForResource"],
        TagFallback,
        "read a repository's tags",
    ),
    row(
        "ecr:TagResource",
        &["ecr:TagResource"],
        TagFallback,
        "tag a repository",
    ),
    row(
        "ecr:UntagResource",
        &["ecr:UntagResource"],
        TagFallback,
        "remove a repository's tags",
    ),
    row(
        "iam:ListRoleTags",
        &["iam:ListRoleTags"],
        TagFallback,
        "read a role's tags (the tagging API does not cover roles)",
    ),
    row("iam:TagRole", &["iam:TagRole"], TagFallback, "tag a role"),
    row(
        "iam:UntagRole",
        &["iam:UntagRole"],
        TagFallback,
        "remove a role's quarantine record",
    ),
    // Quarantine: S3 buckets.
    row(
        "s3:GetPublicAccessBlock",
        &["s3:GetBucketPublicAccessBlock"],
        Quarantine("s3:bucket"),
        "record the public access block to restore on release",
    ),
    row(
        "s3:PutPublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
        Quarantine("s3:bucket"),
        "turn the public access block on; restore it on release",
    ),
    row(
        "s3:DeletePublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
        Quarantine("s3:bucket"),
        "release: the bucket had no public access block",
    ),
    row(
        "s3:GetBucketPolicy",
        &["s3:GetBucketPolicy"],
        Quarantine("s3:bucket"),
        "keep the bucket policy's other statements",
    ),
    row(
        "s3:PutBucketPolicy",
        &["s3:PutBucketPolicy"],
        Quarantine("s3:bucket"),
        "add the deny statement; on release, remove it",
    ),
    row(
        "s3:DeleteBucketPolicy",
        &["s3:DeleteBucketPolicy"],
        Quarantine("s3:bucket"),
        "release: the deny statement was the policy's only one",
    ),
    // Quarantine: EC2 instances.
    row(
        "ec2:DescribeInstances",
        &["ec2:DescribeInstances"],
        Quarantine("ec2:instance"),
        "the instance's VPC and security groups",
    ),
    row(
        "ec2:DescribeSecurityGroups",
        &["ec2:DescribeSecurityGroups"],
        Quarantine("ec2:instance"),
        "find the VPC's isolation group",
    ),
    row(
        "ec2:CreateSecurityGroup",
        &["ec2:CreateSecurityGroup"],
        Quarantine("ec2:instance"),
        "create the VPC's isolation group",
    ),
    row(
        "ec2:RevokeSecurityGroupEgress",
        &["ec2:RevokeSecurityGroupEgress"],
        Quarantine("ec2:instance"),
        "take the new isolation group's egress rule away",
    ),
    row(
        "ec2:ModifyInstanceAttribute",
        &["ec2:ModifyInstanceAttribute"],
        Quarantine("ec2:instance"),
        "swap the instance's security groups; restore them on release",
    ),
    // Quarantine: RDS DB instances.
    row(
        "rds:DescribeDBInstances",
        &["rds:DescribeDBInstances"],
        Quarantine("rds:db"),
        "record whether the database is publicly accessible",
    ),
    row(
        "rds:ModifyDBInstance",
        &["rds:ModifyDBInstance"],
        Quarantine("rds:db"),
        "make it not publicly accessible; restore it on release",
    ),
    // Quarantine: Lambda functions.
    row(
        "lambda:GetFunctionConcurrency",
        &["lambda:GetFunctionConcurrency"],
        Quarantine("lambda:function"),
        "record the reserved concurrency to restore on release",
    ),
    row(
        "lambda:PutFunctionConcurrency",
        &["lambda:PutFunctionConcurrency"],
        Quarantine("lambda:function"),
        "reserved concurrency 0; restore it on release",
    ),
    row(
        "lambda:DeleteFunctionConcurrency",
        &["lambda:DeleteFunctionConcurrency"],
        Quarantine("lambda:function"),
        "release: the function had no reserved concurrency",
    ),
    // Quarantine: IAM roles.
    row(
        "iam:GetRolePolicy",
        &["iam:GetRolePolicy"],
        Quarantine("iam:role"),
        "is the deny-all inline policy already there",
    ),
    row(
        "iam:PutRolePolicy",
        &["iam:PutRolePolicy"],
        Quarantine("iam:role"),
        "attach the deny-all inline policy",
    ),
    row(
        "iam:DeleteRolePolicy",
        &["iam:DeleteRolePolicy"],
        Quarantine("iam:role"),
        "release: remove the deny-all inline policy",
    ),
    // The function's own account only.
    row(
        "sns:Publish",
        &["sns:Publish"],
        Alerts,
        "alerts to the topic (ENFORCER_ALERT_TOPIC_ARN)",
    ),
    row(
        "dynamodb:Query",
        &["dynamodb:Query"],
        StateTable,
        "read a resource's items (open problem, quarantine record, freshness) in one call",
    ),
    row(
        "dynamodb:UpdateItem",
        &["dynamodb:UpdateItem"],
        StateTable,
        "every conditional write: claim and confirm an alert, capture a prior state once, \
         record quarantine steps, the freshest tag version",
    ),
    row(
        "sts:AssumeRole",
        &["sts:AssumeRole"],
        MemberAccounts,
        "act in a member account through ENFORCER_MEMBER_ROLE_NAME",
    ),
];

/// The IAM actions the roles of `scope` need, sorted, each once.
pub fn required_actions(scope: Scope) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = REQUIRED_IAM_ACTIONS
        .iter()
        .filter(|r| r.backend.scope() == scope)
        .flat_map(|r| r.actions.iter().copied())
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::act::aws::QUARANTINE_TYPES;
    use crate::act::{
        QUARANTINE_AT_KEY, QUARANTINE_KEY, QUARANTINE_STATE_KEY, QUARANTINE_UNDO_KEY,
    };

    #[test]
    fn one_row_per_call_and_well_formed_names() {
        let mut calls: Vec<&str> = REQUIRED_IAM_ACTIONS.iter().map(|r| r.call).collect();
        calls.sort_unstable();
        let before = calls.len();
        calls.dedup();
        assert_eq!(calls.len(), before, "a call is listed twice");
        for row in REQUIRED_IAM_ACTIONS {
            for name in std::iter::once(&row.call).chain(row.actions) {
                let (service, action) = name.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty()
                        && action.starts_with(|c: char| c.is_ascii_uppercase())
                        && action.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{name}"
                );
            }
            assert!(
                !row.actions.is_empty() && !row.purpose.is_empty(),
                "{row:?}"
            );
        }
    }

    #[test]
    fn every_quarantine_type_has_its_calls() {
        for resource_type in QUARANTINE_TYPES {
            assert!(
                REQUIRED_IAM_ACTIONS
                    .iter()
                    .any(|r| r.backend == Backend::Quarantine(resource_type)),
                "{resource_type}"
            );
        }
        for row in REQUIRED_IAM_ACTIONS {
            if let Backend::Quarantine(resource_type) = row.backend {
                assert!(QUARANTINE_TYPES.contains(&resource_type), "{row:?}");
            }
        }
    }

    #[test]
    fn removable_keys_cover_every_record_key() {
        let prefix = REMOVABLE_TAG_KEYS.trim_end_matches('*');
        for key in [
            QUARANTINE_KEY,
            QUARANTINE_AT_KEY,
            QUARANTINE_UNDO_KEY,
            QUARANTINE_STATE_KEY,
        ] {
            assert!(key.starts_with(prefix), "{key}");
        }
    }

    #[test]
    fn function_only_actions_are_not_every_accounts() {
        assert_eq!(
            required_actions(Scope::FunctionOnly),
            [
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "sns:Publish",
                "sts:AssumeRole"
            ]
        );
        assert!(required_actions(Scope::EveryAccount).contains(&"iam:UntagRole"));
    }
}
