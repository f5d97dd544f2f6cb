//! S3 buckets: `ListBuckets`, filtered to the region scanned (`BucketRegion`), so that a scan of
//! several regions sees each bucket once.

use super::{paginate, Place};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const CALLS: &[IamCall] = &[IamCall::new(
    "s3:ListBuckets",
    &["s3:ListAllMyBuckets"],
    "list the buckets of the region scanned",
)];

/// The ARNs of the account's buckets in `place`'s region.
pub(super) async fn buckets(
    s3: &aws_sdk_s3::Client,
    place: &Place,
) -> Result<Vec<String>, StoreError> {
    let partition = place.partition();
    paginate(|token| async move {
        let output = s3
            .list_buckets()
            .bucket_region(&place.region)
            .max_buckets(1000)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| store_error("ListBuckets", &e))?;
        let arns = output
            .buckets()
            .iter()
            .filter_map(|bucket| bucket.name())
            .map(|name| format!("arn:{partition}:s3:::{name}"))
            .collect();
        Ok((arns, output.continuation_token().map(str::to_owned)))
    })
    .await
}
