//! SQS queues: `ListQueues`, which answers URLs; the ARN is built from the queue's name.

use super::{paginate, Place};
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const CALLS: &[IamCall] = &[IamCall::new(
    "sqs:ListQueues",
    &["sqs:ListQueues"],
    "list the region's queues",
)];

/// The ARNs of the queues in `place`.
pub(super) async fn queues(
    sqs: &aws_sdk_sqs::Client,
    place: &Place,
) -> Result<Vec<String>, StoreError> {
    paginate(|token| async move {
        let output = sqs
            .list_queues()
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| store_error("ListQueues", &e))?;
        let arns = output
            .queue_urls()
            .iter()
            .filter_map(|url| url.rsplit('/').find(|segment| !segment.is_empty()))
            .map(|name| place.arn("sqs", name))
            .collect();
        Ok((arns, output.next_token().map(str::to_owned)))
    })
    .await
}
