//! DynamoDB tables: `ListTables`, which answers names; the ARN is built from them.

use super::{paginate, Place};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const CALLS: &[IamCall] = &[IamCall::new(
    "dynamodb:ListTables",
    &["dynamodb:ListTables"],
    "list the region's tables",
)];

/// The ARNs of the tables in `place`.
pub(super) async fn tables(
    dynamodb: &aws_sdk_dynamodb::Client,
    place: &Place,
) -> Result<Vec<String>, StoreError> {
    paginate(|start| async move {
        let output = dynamodb
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .map_err(|e| store_error("ListTables", &e))?;
        let arns = output
            .table_names()
            .iter()
            .map(|name| place.arn("dynamodb", &format!("table/{name}")))
            .collect();
        Ok((arns, output.last_evaluated_table_name().map(str::to_owned)))
    })
    .await
}
