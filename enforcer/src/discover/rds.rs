//! RDS: instances, clusters and their snapshots (`DescribeDBInstances`, `DescribeDBClusters`,
//! `DescribeDBSnapshots`, `DescribeDBClusterSnapshots`), each answer carrying the ARN.

use super::paginate;
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const INSTANCE_CALLS: &[IamCall] = &[IamCall::new(
    "rds:DescribeDBInstances",
    &["rds:DescribeDBInstances"],
    "list the region's database instances",
)];
pub(super) const CLUSTER_CALLS: &[IamCall] = &[IamCall::new(
    "rds:DescribeDBClusters",
    &["rds:DescribeDBClusters"],
    "list the region's database clusters",
)];
pub(super) const SNAPSHOT_CALLS: &[IamCall] = &[IamCall::new(
    "rds:DescribeDBSnapshots",
    &["rds:DescribeDBSnapshots"],
    "list the region's instance snapshots",
)];
pub(super) const CLUSTER_SNAPSHOT_CALLS: &[IamCall] = &[IamCall::new(
    "rds:DescribeDBClusterSnapshots",
    &["rds:DescribeDBClusterSnapshots"],
    "list the region's cluster snapshots",
)];

/// The ARNs of the database instances.
pub(super) async fn instances(rds: &aws_sdk_rds::Client) -> Result<Vec<String>, StoreError> {
    paginate(|marker| async move {
        let output = rds
            .describe_db_instances()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| store_error("DescribeDBInstances", &e))?;
        let arns = output
            .db_instances()
            .iter()
            .filter_map(|db| db.db_instance_arn().map(str::to_owned))
            .collect();
        Ok((arns, output.marker().map(str::to_owned)))
    })
    .await
}

/// The ARNs of the database clusters.
pub(super) async fn clusters(rds: &aws_sdk_rds::Client) -> Result<Vec<String>, StoreError> {
    paginate(|marker| async move {
        let output = rds
            .describe_db_clusters()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| store_error("DescribeDBClusters", &e))?;
        let arns = output
            .db_clusters()
            .iter()
            .filter_map(|cluster| cluster.db_cluster_arn().map(str::to_owned))
            .collect();
        Ok((arns, output.marker().map(str::to_owned)))
    })
    .await
}

/// The ARNs of the instance snapshots.
pub(super) async fn snapshots(rds: &aws_sdk_rds::Client) -> Result<Vec<String>, StoreError> {
    paginate(|marker| async move {
        let output = rds
            .describe_db_snapshots()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| store_error("DescribeDBSnapshots", &e))?;
        let arns = output
            .db_snapshots()
            .iter()
            .filter_map(|snapshot| snapshot.db_snapshot_arn().map(str::to_owned))
            .collect();
        Ok((arns, output.marker().map(str::to_owned)))
    })
    .await
}

/// The ARNs of the cluster snapshots.
pub(super) async fn cluster_snapshots(
    rds: &aws_sdk_rds::Client,
) -> Result<Vec<String>, StoreError> {
    paginate(|marker| async move {
        let output = rds
            .describe_db_cluster_snapshots()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| store_error("DescribeDBClusterSnapshots", &e))?;
        let arns = output
            .db_cluster_snapshots()
            .iter()
            .filter_map(|snapshot| snapshot.db_cluster_snapshot_arn().map(str::to_owned))
            .collect();
        Ok((arns, output.marker().map(str::to_owned)))
    })
    .await
}
