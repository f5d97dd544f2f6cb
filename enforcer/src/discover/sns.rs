//! SNS topics: `ListTopics`.

use super::paginate;
use crate::act::aws::permissions::IamCall;
use crate::act::aws::store_error;
use crate::act::StoreError;

pub(super) const CALLS: &[IamCall] = &[IamCall::new(
    "sns:ListTopics",
    &["sns:ListTopics"],
    "list the region's topics",
)];

/// The ARNs of the topics.
pub(super) async fn topics(sns: &aws_sdk_sns::Client) -> Result<Vec<String>, StoreError> {
    paginate(|token| async move {
        let output = sns
            .list_topics()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| store_error("ListTopics", &e))?;
        let arns = output
            .topics()
            .iter()
            .filter_map(|topic| topic.topic_arn().map(str::to_owned))
            .collect();
        Ok((arns, output.next_token().map(str::to_owned)))
    })
    .await
}
