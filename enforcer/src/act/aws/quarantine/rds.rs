//! RDS DB instance: not publicly accessible; the previous setting is restored on release.

use std::collections::BTreeMap;

use super::{state, KindSpec};
use crate::act::aws::permissions::{IamCall, RecordTagging};
use crate::act::aws::{arn_name, store_error};
use crate::act::{Prepared, QuarantineRecord, QuarantineTarget, StoreError};

/// `rds:db`, its calls and its record's tagging actions.
pub(super) const SPEC: KindSpec = KindSpec {
    resource_type: "rds:db",
    calls: &[
        IamCall::new(
            "rds:DescribeDBInstances",
            &["rds:DescribeDBInstances"],
            "record whether the database is publicly accessible; read it back after release",
        ),
        IamCall::new(
            "rds:ModifyDBInstance",
            &["rds:ModifyDBInstance"],
            "make it not publicly accessible; restore it on release",
        ),
    ],
    record_tagging: RecordTagging {
        tag: &["rds:AddTagsToResource"],
        untag: &["rds:RemoveTagsFromResource"],
    },
};

async fn set_public(rds: &aws_sdk_rds::Client, id: &str, public: bool) -> Result<(), StoreError> {
    rds.modify_db_instance()
        .db_instance_identifier(id)
        .publicly_accessible(public)
        .apply_immediately(true)
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("ModifyDBInstance", &e))
}

pub(super) async fn prepare(
    rds: &aws_sdk_rds::Client,
    target: &QuarantineTarget<'_>,
) -> Result<Prepared, StoreError> {
    let id = arn_name(target.arn);
    let output = rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(|e| store_error("DescribeDBInstances", &e))?;
    let Some(instance) = output.db_instances().first() else {
        return Err(StoreError::missing_field(
            "DescribeDBInstances",
            "DBInstances",
        ));
    };
    let Some(public) = instance.publicly_accessible() else {
        return Err(StoreError::missing_field(
            "DescribeDBInstances",
            "PubliclyAccessible",
        ));
    };
    if !public {
        // Isolated on the instance itself; `false` is never recorded as a state to restore.
        return Ok(Prepared::AlreadyInPlace(
            "the instance is not publicly accessible".to_owned(),
        ));
    }
    Ok(Prepared::Isolate(QuarantineRecord::new(
        target.resource_type,
        "made not publicly accessible",
        BTreeMap::from([("public".to_owned(), public.to_string())]),
    )))
}

pub(super) async fn isolate(
    rds: &aws_sdk_rds::Client,
    target: &QuarantineTarget<'_>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    if state(record, "public")? == "true" {
        set_public(rds, arn_name(target.arn), false).await?;
    }
    Ok(())
}

pub(super) async fn release(
    rds: &aws_sdk_rds::Client,
    target: &QuarantineTarget<'_>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    let recorded = state(record, "public")?;
    let id = arn_name(target.arn);
    if recorded == "true" {
        set_public(rds, id, true).await?;
    }
    // Verified on the instance: publicly accessible as recorded.
    let found = rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(|e| store_error("DescribeDBInstances", &e))?
        .db_instances()
        .first()
        .and_then(|db| db.publicly_accessible())
        .unwrap_or(false)
        .to_string();
    if found != recorded {
        return Err(super::not_restored("publicly accessible", recorded, &found));
    }
    Ok(())
}
