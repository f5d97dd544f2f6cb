//! IAM role: the enforcer-owned managed deny policy attached; detached on release.
//!
//! The policy is created by the deployment (`EnforcerQuarantineDenyPolicy` in
//! `infra/template.yaml`, `MemberQuarantineDenyPolicy` in `infra/member.yaml`, the same path and
//! name in every account) and named by `ENFORCER_QUARANTINE_POLICY_ARN`. The roles may attach and
//! detach that policy only (`iam:PolicyARN`): writing an inline policy would let whoever controls
//! the enforcer grant any role anything.

use std::collections::BTreeMap;

use super::KindSpec;
use crate::act::aws::permissions::{IamCall, RecordTagging};
use crate::act::aws::{arn_name, error_code, store_error};
use crate::act::{Prepared, QuarantineRecord, QuarantineTarget, StoreError};
use crate::catalog::Arn;

/// `iam:role`, its calls and its record's tagging actions.
pub(super) const SPEC: KindSpec = KindSpec {
    resource_type: "iam:role",
    calls: &[
        IamCall::new(
            "iam:ListAttachedRolePolicies",
            &["iam:ListAttachedRolePolicies"],
            "is the deny policy attached (before isolating, to verify, and after release)",
        ),
        IamCall::new(
            "iam:AttachRolePolicy",
            &["iam:AttachRolePolicy"],
            "attach the enforcer-owned deny policy (that policy only: iam:PolicyARN)",
        ),
        IamCall::new(
            "iam:DetachRolePolicy",
            &["iam:DetachRolePolicy"],
            "release: detach the enforcer-owned deny policy (that policy only: iam:PolicyARN)",
        ),
    ],
    // The tagging API does not cover roles: the record goes through IAM's own TagRole and
    // UntagRole, the IAM tagging fallback's calls.
    record_tagging: RecordTagging {
        tag: &[],
        untag: &[],
    },
};

/// The record's key for the ARN of the deny policy attached.
const POLICY_ARN_KEY: &str = "policy_arn";

/// The enforcer-owned deny policy in the role's own account: the configured policy's path and
/// name, under the role's partition and account (the templates create it under the same name in
/// every account).
fn deny_policy_for(target: &QuarantineTarget<'_>, configured: &str) -> Result<String, StoreError> {
    let missing = || {
        StoreError::permanent(
            "Quarantine",
            format!(
                "ENFORCER_QUARANTINE_POLICY_ARN ({configured:?}) is not the ARN of an IAM \
                 policy, or {} is not a role ARN",
                target.arn
            ),
        )
        .with_code("InvalidConfiguration")
    };
    let policy =
        Arn::parse(configured).filter(|a| a.service == "iam" && a.resource.starts_with("policy/"));
    let role = Arn::parse(target.arn).filter(|a| a.service == "iam" && !a.account.is_empty());
    match (policy, role) {
        (Some(policy), Some(role)) => Ok(format!(
            "arn:{}:iam::{}:{}",
            role.partition, role.account, policy.resource
        )),
        _ => Err(missing()),
    }
}

/// True when `policy_arn` is attached to the role.
async fn attached(
    iam: &aws_sdk_iam::Client,
    role: &str,
    policy_arn: &str,
) -> Result<bool, StoreError> {
    let mut pages = iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| store_error("ListAttachedRolePolicies", &e))?;
        if page
            .attached_policies()
            .iter()
            .any(|p| p.policy_arn() == Some(policy_arn))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(super) async fn prepare(
    iam: &aws_sdk_iam::Client,
    target: &QuarantineTarget<'_>,
    exempt: &[String],
    deny_policy: Option<&str>,
) -> Result<Prepared, StoreError> {
    if exempt.iter().any(|p| p == target.arn) {
        return Err(StoreError::permanent(
            "Quarantine",
            "refusing to quarantine a break-glass principal or the enforcer's own role",
        ));
    }
    let Some(configured) = deny_policy else {
        return Err(StoreError::permanent(
            "Quarantine",
            "no enforcer-owned deny policy is configured (ENFORCER_QUARANTINE_POLICY_ARN, \
             `--quarantine-policy-arn`): IAM roles cannot be quarantined",
        )
        .with_code("InvalidConfiguration"));
    };
    let policy_arn = deny_policy_for(target, configured)?;
    if attached(iam, arn_name(target.arn), &policy_arn).await? {
        return Ok(Prepared::AlreadyInPlace(format!(
            "the role already has the deny policy {policy_arn} attached"
        )));
    }
    Ok(Prepared::Isolate(QuarantineRecord::new(
        target.resource_type,
        &format!("deny policy {policy_arn} attached"),
        BTreeMap::from([(POLICY_ARN_KEY.to_owned(), policy_arn)]),
    )))
}

pub(super) async fn isolate(
    iam: &aws_sdk_iam::Client,
    target: &QuarantineTarget<'_>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    let policy_arn = super::state(record, POLICY_ARN_KEY)?;
    iam.attach_role_policy()
        .role_name(arn_name(target.arn))
        .policy_arn(policy_arn)
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("AttachRolePolicy", &e))
}

pub(super) async fn release(
    iam: &aws_sdk_iam::Client,
    target: &QuarantineTarget<'_>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    let policy_arn = super::state(record, POLICY_ARN_KEY)?;
    let role = arn_name(target.arn);
    match iam
        .detach_role_policy()
        .role_name(role)
        .policy_arn(policy_arn)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if error_code(&e) == Some("NoSuchEntity") => {}
        Err(e) => return Err(store_error("DetachRolePolicy", &e)),
    }
    if attached(iam, role, policy_arn).await? {
        return Err(StoreError::permanent(
            "Release",
            format!("{policy_arn} is still attached when read back"),
        )
        .with_code("NotVerified"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tags;

    #[test]
    fn the_deny_policy_is_the_one_in_the_roles_account() {
        let tags = Tags::new();
        let target = QuarantineTarget {
            arn: "arn:aws-us-gov:iam::444455556666:role/ops/etl",
            resource_type: "iam:role",
            tags: &tags,
        };
        assert_eq!(
            deny_policy_for(
                &target,
                "arn:aws:iam::111122223333:policy/tag-enforcer/quarantine-deny"
            )
            .unwrap(),
            "arn:aws-us-gov:iam::444455556666:policy/tag-enforcer/quarantine-deny"
        );
        assert!(deny_policy_for(&target, "arn:aws:s3:::bucket").is_err());
        assert!(deny_policy_for(&target, "quarantine-deny").is_err());
    }
}
