//! ECR repositories: `DescribeRepositories`.

use super::paginate;
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const CALLS: &[IamCall] = &[IamCall::new(
    "ecr:DescribeRepositories",
    &["ecr:DescribeRepositories"],
    "list the region's repositories",
)];

/// The ARNs of the repositories.
pub(super) async fn repositories(ecr: &aws_sdk_ecr::Client) -> Result<Vec<String>, StoreError> {
    paginate(|token| async move {
        let output = ecr
            .describe_repositories()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| store_error("DescribeRepositories", &e))?;
        let arns = output
            .repositories()
            .iter()
            .filter_map(|repository| repository.repository_arn().map(str::to_owned))
            .collect();
        Ok((arns, output.next_token().map(str::to_owned)))
    })
    .await
}
