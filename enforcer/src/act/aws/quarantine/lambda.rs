//! Lambda function: reserved concurrency 0, so it cannot run; the previous reserved concurrency
//! (or none) is restored on release.

use std::collections::BTreeMap;

use super::{state, KindSpec};
use crate::act::aws::permissions::{IamCall, RecordTagging};
use crate::act::aws::store_error;
use crate::act::{Prepared, QuarantineRecord, QuarantineTarget, StoreError};
use crate::catalog::Arn;

/// `lambda:function`, its calls and its record's tagging actions.
pub(super) const SPEC: KindSpec = KindSpec {
    resource_type: "lambda:function",
    calls: &[
        IamCall::new(
            "lambda:GetFunctionConcurrency",
            &["lambda:GetFunctionConcurrency"],
            "record the reserved concurrency to restore on release; read it back after release",
        ),
        IamCall::new(
            "lambda:PutFunctionConcurrency",
            &["lambda:PutFunctionConcurrency"],
            "reserved concurrency 0; restore it on release",
        ),
        IamCall::new(
            "lambda:DeleteFunctionConcurrency",
            &["lambda:DeleteFunctionConcurrency"],
            "release: the function had no reserved concurrency",
        ),
    ],
    record_tagging: RecordTagging {
        tag: &["lambda:TagResource"],
        untag: &["lambda:UntagResource"],
    },
};

/// The function's name, without a version or alias qualifier.
fn function_name(arn: &str) -> &str {
    Arn::parse(arn)
        .and_then(|a| a.resource.split(':').nth(1))
        .unwrap_or(arn)
}

async fn put(lambda: &aws_sdk_lambda::Client, name: &str, value: i32) -> Result<(), StoreError> {
    lambda
        .put_function_concurrency()
        .function_name(name)
        .reserved_concurrent_executions(value)
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("PutFunctionConcurrency", &e))
}

pub(super) async fn prepare(
    lambda: &aws_sdk_lambda::Client,
    target: &QuarantineTarget<'_>,
) -> Result<Prepared, StoreError> {
    let output = lambda
        .get_function_concurrency()
        .function_name(function_name(target.arn))
        .send()
        .await
        .map_err(|e| store_error("GetFunctionConcurrency", &e))?;
    if output.reserved_concurrent_executions() == Some(0) {
        // Isolated on the function itself; 0 is never recorded as a state to restore.
        return Ok(Prepared::AlreadyInPlace(
            "the function's reserved concurrency is already 0".to_owned(),
        ));
    }
    let previous = output
        .reserved_concurrent_executions()
        .map_or_else(|| "none".to_owned(), |n| n.to_string());
    Ok(Prepared::Isolate(QuarantineRecord::new(
        target.resource_type,
        "reserved concurrency set to 0",
        BTreeMap::from([("concurrency".to_owned(), previous)]),
    )))
}

pub(super) async fn isolate(
    lambda: &aws_sdk_lambda::Client,
    target: &QuarantineTarget<'_>,
) -> Result<(), StoreError> {
    put(lambda, function_name(target.arn), 0).await
}

pub(super) async fn release(
    lambda: &aws_sdk_lambda::Client,
    target: &QuarantineTarget<'_>,
    record: &QuarantineRecord,
) -> Result<(), StoreError> {
    let name = function_name(target.arn);
    let recorded = state(record, "concurrency")?;
    match recorded {
        "none" => lambda
            .delete_function_concurrency()
            .function_name(name)
            .send()
            .await
            .map(drop)
            .map_err(|e| store_error("DeleteFunctionConcurrency", &e))?,
        value => {
            let previous: i32 = value.parse().map_err(|_| {
                StoreError::permanent(
                    "Release",
                    format!("the recorded concurrency `{value}` is not a number"),
                )
            })?;
            put(lambda, name, previous).await?;
        }
    }
    // Verified on the function: the recorded reserved concurrency (or none) is back.
    let found = lambda
        .get_function_concurrency()
        .function_name(name)
        .send()
        .await
        .map_err(|e| store_error("GetFunctionConcurrency", &e))?
        .reserved_concurrent_executions()
        .map_or_else(|| "none".to_owned(), |n| n.to_string());
    if found != recorded {
        return Err(super::not_restored(
            "the reserved concurrency",
            recorded,
            &found,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_qualifiers() {
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:111122223333:function:f"),
            "f"
        );
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:111122223333:function:f:live"),
            "f"
        );
    }
}
