//! EC2: instances (`DescribeInstances`, terminated ones left out), EBS volumes
//! (`DescribeVolumes`) and the account's own EBS snapshots (`DescribeSnapshots`, owner `self`:
//! not the public and shared ones).

use aws_sdk_ec2::types::InstanceStateName;

use super::{paginate, Place};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const INSTANCE_CALLS: &[IamCall] = &[IamCall::new(
    "ec2:DescribeInstances",
    &["ec2:DescribeInstances"],
    "list the region's instances",
)];
pub(super) const VOLUME_CALLS: &[IamCall] = &[IamCall::new(
    "ec2:DescribeVolumes",
    &["ec2:DescribeVolumes"],
    "list the region's volumes",
)];
pub(super) const SNAPSHOT_CALLS: &[IamCall] = &[IamCall::new(
    "ec2:DescribeSnapshots",
    &["ec2:DescribeSnapshots"],
    "list the account's own snapshots",
)];

/// The ARNs of the instances in `place` that are not terminated.
pub(super) async fn instances(
    ec2: &aws_sdk_ec2::Client,
    place: &Place,
) -> Result<Vec<String>, StoreError> {
    paginate(|token| async move {
        let output = ec2
            .describe_instances()
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| store_error("DescribeInstances", &e))?;
        let arns = output
            .reservations()
            .iter()
            .flat_map(|reservation| reservation.instances())
            .filter(|instance| {
                instance.state().and_then(|state| state.name())
                    != Some(&InstanceStateName::Terminated)
            })
            .filter_map(|instance| instance.instance_id())
            .map(|id| place.arn("ec2", &format!("instance/{id}")))
            .collect();
        Ok((arns, output.next_token().map(str::to_owned)))
    })
    .await
}

/// The ARNs of the volumes in `place`.
pub(super) async fn volumes(
    ec2: &aws_sdk_ec2::Client,
    place: &Place,
) -> Result<Vec<String>, StoreError> {
    paginate(|token| async move {
        let output = ec2
            .describe_volumes()
            .max_results(500)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| store_error("DescribeVolumes", &e))?;
        let arns = output
            .volumes()
            .iter()
            .filter_map(|volume| volume.volume_id())
            .map(|id| place.arn("ec2", &format!("volume/{id}")))
            .collect();
        Ok((arns, output.next_token().map(str::to_owned)))
    })
    .await
}

/// The ARNs of the snapshots the account owns in `place`.
pub(super) async fn snapshots(
    ec2: &aws_sdk_ec2::Client,
    place: &Place,
) -> Result<Vec<String>, StoreError> {
    paginate(|token| async move {
        let output = ec2
            .describe_snapshots()
            .owner_ids("self")
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| store_error("DescribeSnapshots", &e))?;
        let arns = output
            .snapshots()
            .iter()
            .filter_map(|snapshot| snapshot.snapshot_id())
            .map(|id| place.arn("ec2", &format!("snapshot/{id}")))
            .collect();
        Ok((arns, output.next_token().map(str::to_owned)))
    })
    .await
}
