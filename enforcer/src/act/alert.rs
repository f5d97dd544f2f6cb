//! The alert messages [`Notify`](super::Notify) sends for a decision: built by an
//! [`AlertRenderer`]. [`ChatbotAlert`] (the default) publishes what [`crate::alert`] renders — one
//! Amazon Q Developer custom notification per owner, with its message attributes — plus what the
//! enforcer did and every failure; [`JsonAlert`] publishes one structured JSON body per decision.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::apply::ActReport;
use crate::engine::Decision;
use crate::policy::PolicySet;

/// How urgent an alert is; the `severity` message attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Tags were added (or would be); nothing else is wrong.
    Info,
    /// A person must fix something, or a write failed.
    Warning,
    /// The resource was (or would be) quarantined.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        })
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertMessage {
    /// Short subject (SNS: under 100 printable ASCII characters, one line).
    pub subject: String,
    /// The body.
    pub body: String,
    /// Message attributes for subscription filter policies: `owner`, `severity`, `action`,
    /// `account`.
    pub attributes: BTreeMap<String, String>,
}

/// Everything a renderer may use.
#[derive(Debug, Clone, Copy)]
pub struct AlertInput<'a> {
    /// The decision.
    pub decision: &'a Decision,
    /// The policies it was made under.
    pub policies: &'a PolicySet,
    /// What was done about it (or planned, when nothing may be written).
    pub report: &'a ActReport,
    /// The owner the alert is routed to (a `ProcessOwner` value).
    pub owner: &'a str,
    /// The owner's Slack channel, when the policy names one.
    pub slack_channel: Option<&'a str>,
    /// How urgent.
    pub severity: Severity,
    /// `remediate`, `alert` or `quarantine`.
    pub action: &'a str,
    /// The message attributes, already decided.
    pub attributes: &'a BTreeMap<String, String>,
}

/// Builds the messages of an alert.
pub trait AlertRenderer: Send + Sync + fmt::Debug {
    /// The messages for `input` (one per owner, or one in all).
    fn render(&self, input: &AlertInput<'_>) -> Vec<AlertMessage>;
}

/// Longest notification description (Slack's section limit, as [`crate::alert`] keeps it).
const MAX_DESCRIPTION: usize = 3000;

/// The alerts [`crate::alert::render`] builds (one per owner, the Amazon Q Developer custom
/// notification as body, its message attributes), with how to undo a quarantine and every
/// failure added to each notification's description.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatbotAlert;

/// What the decision's own text cannot know, as markdown lines for a notification: that nothing
/// was written (a dry run), how to undo a quarantine, and every failure.
fn act_lines(report: &ActReport) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(why) = &report.dry_run {
        lines.push(format!("*Enforcer:* nothing written ({why})"));
    }
    for resource in &report.resources {
        let name = crate::catalog::resource_name(&resource.arn);
        if let Some(record) = resource.quarantine.as_ref().and_then(|q| q.record.as_ref()) {
            lines.push(format!(
                "*Quarantine* of `{name}`: {} (undo: `enforcer release {}`)",
                record.done, resource.arn
            ));
        }
        for failure in &resource.failures {
            lines.push(format!("*Failed* on `{name}`: {}", failure.describe()));
        }
    }
    lines
}

impl AlertRenderer for ChatbotAlert {
    fn render(&self, input: &AlertInput<'_>) -> Vec<AlertMessage> {
        let lines = act_lines(input.report);
        crate::alert::render(input.decision, input.policies)
            .into_iter()
            .map(|alert| {
                let mut chatbot = alert.chatbot;
                if !lines.is_empty() {
                    let description = &mut chatbot.content.description;
                    description.push('\n');
                    description.push_str(&lines.join("\n"));
                    if description.chars().count() > MAX_DESCRIPTION {
                        let kept: String = description.chars().take(MAX_DESCRIPTION - 3).collect();
                        *description = format!("{kept}...");
                    }
                }
                AlertMessage {
                    subject: alert.subject,
                    body: serde_json::to_string(&chatbot).unwrap_or_default(),
                    attributes: alert.attributes,
                }
            })
            .collect()
    }
}

/// A structured JSON body carrying the decision and what was done.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonAlert;

#[derive(Serialize)]
struct JsonBody<'a> {
    version: &'static str,
    owner: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    slack_channel: Option<&'a str>,
    severity: Severity,
    action: &'a str,
    decision: &'a Decision,
    act: &'a ActReport,
}

impl AlertRenderer for JsonAlert {
    fn render(&self, input: &AlertInput<'_>) -> Vec<AlertMessage> {
        let decision = input.decision;
        let first = decision
            .resources
            .iter()
            .find(|r| r.action != crate::evaluate::Action::None)
            .or(decision.resources.first())
            .map(|r| crate::catalog::resource_name(&r.arn))
            .unwrap_or("resource");
        let more = decision.resources.len().saturating_sub(1);
        let subject = format!(
            "[{}] {} {}{}",
            input.severity,
            input.action,
            first,
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        let body = JsonBody {
            version: "enforcer-alert/1",
            owner: input.owner,
            slack_channel: input.slack_channel,
            severity: input.severity,
            action: input.action,
            decision,
            act: input.report,
        };
        vec![AlertMessage {
            subject: sns_subject(&subject),
            body: serde_json::to_string(&body).unwrap_or_else(|error| {
                format!("{{\"error\":\"the alert could not be serialised: {error}\"}}")
            }),
            attributes: input.attributes.clone(),
        }]
    }
}

/// `text` made a valid SNS subject: printable ASCII, one line, under 100 characters.
pub fn sns_subject(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.len() <= 99 {
        cleaned
    } else {
        format!("{}...", &cleaned[..96])
    }
}
