//! Redshift provisioned clusters: `DescribeClusters`, which answers identifiers; the ARN is
//! built from them.

use super::{paginate, Place};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const CALLS: &[IamCall] = &[IamCall::new(
    "redshift:DescribeClusters",
    &["redshift:DescribeClusters"],
    "list the region's clusters",
)];

/// The ARNs of the clusters in `place`.
pub(super) async fn clusters(
    redshift: &aws_sdk_redshift::Client,
    place: &Place,
) -> Result<Vec<String>, StoreError> {
    paginate(|marker| async move {
        let output = redshift
            .describe_clusters()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| store_error("DescribeClusters", &e))?;
        let arns = output
            .clusters()
            .iter()
            .filter_map(|cluster| cluster.cluster_identifier())
            .map(|id| place.arn("redshift", &format!("cluster:{id}")))
            .collect();
        Ok((arns, output.marker().map(str::to_owned)))
    })
    .await
}
