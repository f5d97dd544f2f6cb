//! One message for a burst: the alerts a batch of events raised for one owner (one topic, one
//! `owner`, one kind of notice), listed in a single Amazon Q Developer custom notification, so a
//! Terraform apply of 40 buckets is one message, not 40. Pure.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::chatbot::{MAX_DESCRIPTION, MAX_RELATED, MAX_TITLE};
use super::{ascii_subject, text, AlertMessage, Severity, NOTICE_ATTRIBUTE};

/// The message attribute counting the resources a digest lists.
pub(crate) const RESOURCES_ATTRIBUTE: &str = "resources";

/// The order of the `severity` attribute's values, lowest first.
const SEVERITIES: [Severity; 5] = [
    Severity::Info,
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// The order of the `action` attribute's values, weakest first.
const ACTIONS: [&str; 4] = ["none", "remediate", "alert", "quarantine"];

/// What one group of a batch's messages has in common: they are sent as one.
pub(crate) fn group_key(message: &AlertMessage) -> (Option<String>, String, String) {
    let attribute = |name: &str| message.attributes.get(name).cloned().unwrap_or_default();
    (
        message.route.clone(),
        attribute("owner"),
        attribute(NOTICE_ATTRIBUTE),
    )
}

/// One message listing `messages` (at least two, of one [`group_key`]): subject and title count
/// them; the description has each message's title and first line; the attributes are the ones
/// every message shares, with the highest `severity` and `action` (so a subscription filtering on
/// them still receives the digest) and `resources`, the count. The thread is the first message's.
pub(crate) fn digest(messages: &[AlertMessage]) -> AlertMessage {
    let bodies: Vec<Value> = messages
        .iter()
        .map(|m| serde_json::from_str(&m.body).unwrap_or(Value::Null))
        .collect();
    let mut attributes = common_attributes(messages);
    let severity = highest(messages, "severity", &SEVERITIES.map(Severity::as_str));
    let action = highest(messages, "action", &ACTIONS);
    if let Some(severity) = &severity {
        attributes.insert("severity".to_owned(), severity.clone());
    }
    if let Some(action) = &action {
        attributes.insert("action".to_owned(), action.clone());
    }
    attributes.insert(RESOURCES_ATTRIBUTE.to_owned(), messages.len().to_string());
    let owner = attributes.get("owner").cloned().unwrap_or_default();
    let emoji = SEVERITIES
        .iter()
        .find(|s| Some(s.as_str()) == severity.as_deref())
        .map_or("", |s| s.emoji());
    let notice = attributes
        .get(NOTICE_ATTRIBUTE)
        .map_or("alerts", String::as_str);
    let headline = format!("{} resources: {notice} ({owner})", messages.len());
    let mut lines = vec![format!(
        "*{}* alerts of one burst of calls, in one message:",
        messages.len()
    )];
    let mut related: Vec<Value> = Vec::new();
    for body in &bodies {
        let title = body["content"]["title"].as_str().unwrap_or("(no title)");
        lines.push(format!("• {title}"));
        for resource in body["metadata"]["relatedResources"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if related.len() < MAX_RELATED && !related.contains(resource) {
                related.push(resource.clone());
            }
        }
    }
    let first = bodies.first().cloned().unwrap_or(Value::Null);
    let notification = json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": text::truncate(&format!("{emoji} {}", text::escape(&headline)), MAX_TITLE),
            "description": text::truncate(&lines.join("\n"), MAX_DESCRIPTION),
            "nextSteps": first["content"]["nextSteps"].clone(),
            "keywords": ["digest"],
        },
        "metadata": {
            "threadId": first["metadata"]["threadId"].clone(),
            "summary": format!("[{}] {headline}", severity.as_deref().unwrap_or("info")),
            "eventType": "enforcer.digest",
            "relatedResources": related,
            "additionalContext": attributes.clone(),
        },
    });
    AlertMessage {
        subject: ascii_subject(&format!(
            "[{}] {headline}",
            severity.as_deref().unwrap_or("info")
        )),
        body: notification.to_string(),
        attributes,
        route: messages.first().and_then(|m| m.route.clone()),
    }
}

/// The attributes every message has with the same value.
fn common_attributes(messages: &[AlertMessage]) -> BTreeMap<String, String> {
    let Some((first, rest)) = messages.split_first() else {
        return BTreeMap::new();
    };
    first
        .attributes
        .iter()
        .filter(|(key, value)| rest.iter().all(|m| m.attributes.get(*key) == Some(value)))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// The highest value of `name` among `messages` in `order`.
fn highest(messages: &[AlertMessage], name: &str, order: &[&str]) -> Option<String> {
    messages
        .iter()
        .filter_map(|m| m.attributes.get(name))
        .max_by_key(|value| order.iter().position(|o| o == value))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(arn: &str, severity: &str, account: &str) -> AlertMessage {
        AlertMessage {
            subject: format!("[{severity}] {arn}"),
            body: json!({
                "content": {"title": format!("title of {arn}"), "nextSteps": ["fix it"]},
                "metadata": {"threadId": arn, "relatedResources": [arn]},
            })
            .to_string(),
            attributes: BTreeMap::from(
                [
                    ("owner", "DataEngineering"),
                    ("severity", severity),
                    ("action", "alert"),
                    ("account", account),
                    ("notice", "opened"),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
            ),
            route: Some("DataEngineering".to_owned()),
        }
    }

    #[test]
    fn a_digest_lists_every_resource_and_keeps_what_filters_need() {
        let messages = [
            message("arn:aws:s3:::a", "medium", "111122223333"),
            message("arn:aws:s3:::b", "high", "111122223333"),
            message("arn:aws:s3:::c", "medium", "444455556666"),
        ];
        assert_eq!(group_key(&messages[0]), group_key(&messages[2]));
        let digest = digest(&messages);
        assert_eq!(digest.attributes["owner"], "DataEngineering");
        assert_eq!(digest.attributes["severity"], "high");
        assert_eq!(digest.attributes["notice"], "opened");
        assert_eq!(digest.attributes["resources"], "3");
        assert!(!digest.attributes.contains_key("account"), "not shared");
        assert_eq!(digest.route.as_deref(), Some("DataEngineering"));
        assert!(digest.subject.starts_with("[high] 3 resources: opened"));
        let body: Value = serde_json::from_str(&digest.body).unwrap();
        let description = body["content"]["description"].as_str().unwrap();
        for arn in ["a", "b", "c"] {
            assert!(description.contains(&format!("title of arn:aws:s3:::{arn}")));
        }
        assert_eq!(body["metadata"]["threadId"], "arn:aws:s3:::a");
        assert_eq!(
            body["metadata"]["relatedResources"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    }
}
