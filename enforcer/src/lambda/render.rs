//! The function's alerts: [`crate::alert`]'s Amazon Q Developer (Chatbot) custom notification as
//! the SNS body, with its subject and message attributes.

use crate::act::{AlertInput, AlertMessage, AlertRenderer, JsonAlert};
use crate::policy::PolicySet;

/// Renders an alert with [`crate::alert::render`]: the subject, the custom-notification JSON as
/// the body and the message attributes (`owner`, `owner_source`, `severity`, `action`,
/// `account`, `region`, `mode`, `event`). A decision whose resources have several owners is sent
/// once, for the most urgent owner's alert. Falls back to the structured JSON body
/// ([`JsonAlert`]) when the decision renders no alert (a write that failed on a compliant
/// resource, say).
#[derive(Debug, Clone)]
pub struct ChatbotAlert {
    policies: PolicySet,
}

impl ChatbotAlert {
    /// A renderer over the policies (owners, Slack channels, default owner).
    pub fn new(policies: PolicySet) -> Self {
        Self { policies }
    }
}

impl AlertRenderer for ChatbotAlert {
    fn render(&self, input: &AlertInput<'_>) -> AlertMessage {
        let alerts = crate::alert::render(input.decision, &self.policies);
        match alerts.into_iter().max_by_key(|alert| alert.severity) {
            Some(alert) => AlertMessage {
                subject: alert.subject.clone(),
                body: alert.sns_body(),
                attributes: alert.attributes,
            },
            None => JsonAlert.render(input),
        }
    }
}
