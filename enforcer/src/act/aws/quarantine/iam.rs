//! IAM role: a deny-all inline policy; removed on release.

use std::collections::BTreeMap;

use serde_json::json;

use super::{KindSpec, DENY_POLICY_NAME, DENY_STATEMENT_SID};
use crate::act::aws::permissions::{IamCall, RecordTagging};
use crate::act::aws::{arn_name, error_code, store_error};
use crate::act::{Prepared, QuarantineRecord, QuarantineTarget, StoreError};

/// `iam:role`, its calls and its record's tagging actions.
pub(super) const SPEC: KindSpec = KindSpec {
    resource_type: "iam:role",
    calls: &[
        IamCall::new(
            "iam:GetRolePolicy",
            &["iam:GetRolePolicy"],
            "is the deny-all inline policy already there",
        ),
        IamCall::new(
            "iam:PutRolePolicy",
            &["iam:PutRolePolicy"],
            "attach the deny-all inline policy",
        ),
        IamCall::new(
            "iam:DeleteRolePolicy",
            &["iam:DeleteRolePolicy"],
            "release: remove the deny-all inline policy",
        ),
    ],
    // The tagging API does not cover roles: the record goes through IAM's own TagRole and
    // UntagRole, the IAM tagging fallback's calls.
    record_tagging: RecordTagging {
        tag: &[],
        untag: &[],
    },
};

pub(super) async fn prepare(
    iam: &aws_sdk_iam::Client,
    target: &QuarantineTarget<'_>,
    exempt: &[String],
) -> Result<Prepared, StoreError> {
    if exempt.iter().any(|p| p == target.arn) {
        return Err(StoreError::permanent(
            "Quarantine",
            "refusing to quarantine a break-glass principal or the enforcer's own role",
        ));
    }
    match iam
        .get_role_policy()
        .role_name(arn_name(target.arn))
        .policy_name(DENY_POLICY_NAME)
        .send()
        .await
    {
        Ok(_) => Ok(Prepared::AlreadyInPlace(format!(
            "the role already has the inline policy {DENY_POLICY_NAME}"
        ))),
        Err(e) if error_code(&e) == Some("NoSuchEntity") => {
            Ok(Prepared::Isolate(QuarantineRecord::new(
                target.resource_type,
                &format!("deny-all inline policy {DENY_POLICY_NAME} attached"),
                BTreeMap::from([("policy".to_owned(), DENY_POLICY_NAME.to_owned())]),
            )))
        }
        Err(e) => Err(store_error("GetRolePolicy", &e)),
    }
}

pub(super) async fn isolate(
    iam: &aws_sdk_iam::Client,
    target: &QuarantineTarget<'_>,
) -> Result<(), StoreError> {
    let document = json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": DENY_STATEMENT_SID, "Effect": "Deny", "Action": "*", "Resource": "*"}],
    });
    iam.put_role_policy()
        .role_name(arn_name(target.arn))
        .policy_name(DENY_POLICY_NAME)
        .policy_document(document.to_string())
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("PutRolePolicy", &e))
}

pub(super) async fn release(
    iam: &aws_sdk_iam::Client,
    target: &QuarantineTarget<'_>,
) -> Result<(), StoreError> {
    match iam
        .delete_role_policy()
        .role_name(arn_name(target.arn))
        .policy_name(DENY_POLICY_NAME)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(store_error("DeleteRolePolicy", &e)),
    }
}
