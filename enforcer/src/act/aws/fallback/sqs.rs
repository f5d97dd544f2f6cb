//! SQS queues: `TagQueue`, `UntagQueue`, `ListQueueTags`, each on the queue URL.

use std::collections::HashMap;

use super::{not_found, FallbackSpec};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::{arn_name, error_code, store_error};
use crate::act::StoreError;
use crate::catalog::Arn;
use crate::Tags;

/// SQS queues and the calls their tags take.
pub(super) const SPEC: FallbackSpec = FallbackSpec {
    service: "sqs",
    resource_prefix: "",
    direct: false,
    calls: &[
        IamCall::new(
            "sqs:GetQueueUrl",
            &["sqs:GetQueueUrl"],
            "the queue URL the SQS tagging calls take",
        ),
        IamCall::new(
            "sqs:ListQueueTags",
            &["sqs:ListQueueTags"],
            "read a queue's tags",
        ),
        IamCall::new("sqs:TagQueue", &["sqs:TagQueue"], "tag a queue"),
        IamCall::new(
            "sqs:UntagQueue",
            &["sqs:UntagQueue"],
            "remove a queue's tags",
        ),
    ],
};

/// The queue's URL; `Ok(None)` when there is no such queue.
async fn queue_url(sqs: &aws_sdk_sqs::Client, arn: &str) -> Result<Option<String>, StoreError> {
    let account = Arn::parse(arn).map(|a| a.account.to_owned());
    let output = sqs
        .get_queue_url()
        .queue_name(arn_name(arn))
        .set_queue_owner_aws_account_id(account.filter(|a| !a.is_empty()))
        .send()
        .await;
    match output {
        Ok(output) => match output.queue_url() {
            Some(url) if !url.is_empty() => Ok(Some(url.to_owned())),
            _ => Err(StoreError::missing_field("GetQueueUrl", "QueueUrl")),
        },
        Err(e) if not_found(error_code(&e)) => Ok(None),
        Err(e) => Err(store_error("GetQueueUrl", &e)),
    }
}

/// The queue's URL, or a permanent failure when there is no such queue.
pub(crate) async fn existing_queue_url(
    sqs: &aws_sdk_sqs::Client,
    arn: &str,
) -> Result<String, StoreError> {
    queue_url(sqs, arn).await?.ok_or_else(|| {
        StoreError::permanent("GetQueueUrl", format!("there is no queue {arn}"))
            .with_code("AWS.SimpleQueueService.NonExistentQueue")
    })
}

pub(super) async fn get(sqs: &aws_sdk_sqs::Client, arn: &str) -> Result<Option<Tags>, StoreError> {
    let Some(url) = queue_url(sqs, arn).await? else {
        return Ok(None);
    };
    match sqs.list_queue_tags().queue_url(url).send().await {
        Ok(out) => Ok(Some(
            out.tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        )),
        Err(e) if not_found(error_code(&e)) => Ok(None),
        Err(e) => Err(store_error("ListQueueTags", &e)),
    }
}

pub(super) async fn put(
    sqs: &aws_sdk_sqs::Client,
    arn: &str,
    tags: &Tags,
) -> Result<(), StoreError> {
    let url = existing_queue_url(sqs, arn).await?;
    sqs.tag_queue()
        .queue_url(url)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        ))
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("TagQueue", &e))
}

pub(super) async fn remove(
    sqs: &aws_sdk_sqs::Client,
    arn: &str,
    keys: &[String],
) -> Result<(), StoreError> {
    let url = existing_queue_url(sqs, arn).await?;
    sqs.untag_queue()
        .queue_url(url)
        .set_tag_keys(Some(keys.to_vec()))
        .send()
        .await
        .map(drop)
        .map_err(|e| store_error("UntagQueue", &e))
}
