//! EC2 instance: its security groups are replaced by an isolation group with no rules (one per
//! VPC, created when missing); the previous groups are recorded and restored on release.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};

use super::{state, KindSpec, ISOLATION_GROUP_NAME};
use crate::act::aws::permissions::{IamCall, RecordTagging};
use crate::act::aws::{arn_name, error_code, store_error};
use crate::act::{Prepared, QuarantineRecord, QuarantineTarget, StoreError};

/// `ec2:instance`, its calls and its record's tagging actions.
pub(super) const SPEC: KindSpec = KindSpec {
    resource_type: "ec2:instance",
    calls: &[
        IamCall::new(
            "ec2:DescribeInstances",
            &["ec2:DescribeInstances"],
            "the instance's VPC and security groups; read them back after release",
        ),
        IamCall::new(
            "ec2:DescribeSecurityGroups",
            &["ec2:DescribeSecurityGroups"],
            "find the VPC's isolation group",
        ),
        IamCall::new(
            "ec2:CreateSecurityGroup",
            &["ec2:CreateSecurityGroup"],
            "create the VPC's isolation group",
        ),
        IamCall::new(
            "ec2:RevokeSecurityGroupEgress",
            &["ec2:RevokeSecurityGroupEgress"],
            "take the new isolation group's egress rule away",
        ),
        IamCall::new(
            "ec2:ModifyInstanceAttribute",
            &["ec2:ModifyInstanceAttribute"],
            "swap the instance's security groups; restore them on release",
        ),
    ],
    record_tagging: RecordTagging {
        tag: &["ec2:CreateTags"],
        untag: &["ec2:DeleteTags"],
    },
};

struct Instance {
    vpc: String,
    groups: Vec<String>,
}

async fn describe(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Instance, StoreError> {
    let output = ec2
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(|e| store_error("DescribeInstances", &e))?;
    let instance = output
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| i.instance_id() == Some(id))
        .ok_or_else(|| {
            StoreError::permanent("DescribeInstances", format!("instance {id} not found"))
                .with_code("InvalidInstanceID.NotFound")
        })?;
    if instance.network_interfaces().len() > 1 {
        return Err(StoreError::permanent(
            "Quarantine",
            format!(
                "instance {id} has {} network interfaces; isolating several interfaces is not \
                 supported, a person must isolate it",
                instance.network_interfaces().len()
            ),
        )
        .with_code("UnsupportedConfiguration"));
    }
    let vpc = instance.vpc_id().map(str::to_owned).ok_or_else(|| {
        StoreError::permanent("Quarantine", format!("instance {id} is not in a VPC"))
    })?;
    // Every group is restored on release: one without an id cannot be left out silently.
    let groups = instance
        .security_groups()
        .iter()
        .map(|g| {
            g.group_id()
                .map(str::to_owned)
                .ok_or_else(|| StoreError::missing_field("DescribeInstances", "GroupId"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Instance { vpc, groups })
}

async fn find_isolation_group(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
) -> Result<Option<String>, StoreError> {
    let output = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values(ISOLATION_GROUP_NAME)
                .build(),
        )
        .send()
        .await
        .map_err(|e| store_error("DescribeSecurityGroups", &e))?;
    Ok(output
        .security_groups()
        .iter()
        .find_map(|g| g.group_id().map(str::to_owned)))
}

async fn isolation_group(ec2: &aws_sdk_ec2::Client, vpc: &str) -> Result<String, StoreError> {
    if let Some(id) = find_isolation_group(ec2, vpc).await? {
        return Ok(id);
    }
    let created = ec2
        .create_security_group()
        .group_name(ISOLATION_GROUP_NAME)
        .description("Tag enforcer quarantine: no traffic in or out")
        .vpc_id(vpc)
        .send()
        .await;
    let id = match created {
        Ok(out) => match out.group_id() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => return Err(StoreError::missing_field("CreateSecurityGroup", "GroupId")),
        },
        // Another quarantine in the same VPC created it first.
        Err(e) if error_code(&e) == Some("InvalidGroup.Duplicate") => {
            return find_isolation_group(ec2, vpc).await?.ok_or_else(|| {
                StoreError::permanent(
                    "CreateSecurityGroup",
                    format!("{ISOLATION_GROUP_NAME} exists in {vpc} but cannot be found"),
                )
            })
        }
        Err(e) => return Err(store_error("CreateSecurityGroup", &e)),
    };
    // A new group allows all egress; the isolation group allows nothing.
    ec2.revoke_security_group_egress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .map_err(|e| store_error("RevokeSecurityGroupEgress", &e))?;
    Ok(id)
}

pub(super) async fn prepare(
    ec2: &aws_sdk_ec2::Client,
    target: &QuarantineTarget<'_>,
) -> Result<Prepared, StoreError> {
    let id = arn_name(target.arn);
    let instance = describe(ec2, id).await?;
    if let Some(isolation) = find_isolation_group(ec2, &instance.vpc).await? {
        if instance.groups == [isolation.clone()] {
            return Ok(Prepared::AlreadyInPlace(format!(
                "the instance already has only the isolation group {isolation}"
            )));
        }
    }
    Ok(Prepared::Isolate(QuarantineRecord::new(
        target.resource_type,
        &format!("security groups replaced by the isolation group {ISOLATION_GROUP_NAME}"),
        BTreeMap::from([
            ("groups".to_owned(), instance.groups.join("/")),
            ("vpc".to_owned(), instance.vpc),
        ]),
    )))
}

pub(super) async fn isolate(
    ec2: &aws_sdk_ec2::Client,
    target: &QuarantineTarget<'_>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    let group = isolation_group(ec2, state(record, "vpc")?).await?;
    ec2.modify_instance_attribute()
        .instance_id(arn_name(target.arn))
        .groups(group)
        .send()
        .await
        .map_err(|e| store_error("ModifyInstanceAttribute", &e))?;
    Ok(())
}

pub(super) async fn release(
    ec2: &aws_sdk_ec2::Client,
    target: &QuarantineTarget<'_>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    let groups: Vec<String> = state(record, "groups")?
        .split('/')
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    if groups.is_empty() {
        return Err(StoreError::permanent(
            "Release",
            "the quarantine record lists no previous security group; restore them by hand",
        ));
    }
    let id = arn_name(target.arn);
    ec2.modify_instance_attribute()
        .instance_id(id)
        .set_groups(Some(groups.clone()))
        .send()
        .await
        .map_err(|e| store_error("ModifyInstanceAttribute", &e))?;
    // Verified on the instance: exactly the recorded groups (in any order).
    let mut found = describe(ec2, id).await?.groups;
    let mut wanted = groups;
    found.sort();
    wanted.sort();
    if found != wanted {
        return Err(super::not_restored(
            "the instance's security groups",
            &wanted.join("/"),
            &found.join("/"),
        ));
    }
    Ok(())
}
