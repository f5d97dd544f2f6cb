//! Alerts to an SNS topic, with message attributes for subscription filter policies.

use aws_sdk_sns::types::MessageAttributeValue;

use super::store_error;
use crate::act::{Notify, StoreError};
use crate::alert::routing::OwnerTopics;
use crate::alert::AlertMessage;

/// Publishes alerts to SNS: each to its owner's topic, else the default one.
#[derive(Debug, Clone)]
pub struct SnsNotify {
    // Named after its `AwsClients` field, as every client here: tests/offline/infra.rs attributes the
    // calls by the name.
    sns: aws_sdk_sns::Client,
    topics: OwnerTopics,
}

impl SnsNotify {
    /// Alerts go to `topic_arn`.
    pub fn new(sns: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            sns,
            topics: OwnerTopics::single(&topic_arn.into()),
        }
    }

    /// Alerts go to their owners' topics, the others to `topics`' default.
    #[must_use]
    pub fn with_owner_topics(mut self, topics: OwnerTopics) -> Self {
        self.topics = topics;
        self
    }
}

impl Notify for SnsNotify {
    fn destination(&self) -> String {
        self.topics.default_topic().to_owned()
    }

    fn destination_for(&self, message: &AlertMessage) -> String {
        self.topics.topic(message.route.as_deref()).to_owned()
    }

    async fn publish(&self, message: &AlertMessage) -> Result<String, StoreError> {
        let mut request = self
            .sns
            .publish()
            .topic_arn(self.topics.topic(message.route.as_deref()))
            .subject(&message.subject)
            .message(&message.body);
        for (name, value) in &message.attributes {
            if value.is_empty() {
                // SNS rejects empty attribute values.
                continue;
            }
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| StoreError::permanent("Publish", e.to_string()))?;
            request = request.message_attributes(name, attribute);
        }
        let output = request
            .send()
            .await
            .map_err(|e| store_error("Publish", &e))?;
        match output.message_id() {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(StoreError::missing_field("Publish", "MessageId")),
        }
    }
}
