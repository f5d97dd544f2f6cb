//! IAM roles: `ListRoles`, service-linked roles left out (AWS manages them and they cannot be
//! tagged).

use super::paginate;
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const CALLS: &[IamCall] = &[IamCall::new(
    "iam:ListRoles",
    &["iam:ListRoles"],
    "list the account's roles",
)];

/// The ARNs of the account's roles, service-linked ones left out.
pub(super) async fn roles(iam: &aws_sdk_iam::Client) -> Result<Vec<String>, StoreError> {
    paginate(|marker| async move {
        let output = iam
            .list_roles()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| store_error("ListRoles", &e))?;
        let arns = output
            .roles()
            .iter()
            .filter(|role| !role.path().starts_with("/aws-service-role/"))
            .map(|role| role.arn().to_owned())
            .collect();
        let next = if output.is_truncated() {
            output.marker().map(str::to_owned)
        } else {
            None
        };
        Ok((arns, next))
    })
    .await
}
