//! The custom-notification format of Amazon Q Developer in chat applications (formerly AWS
//! Chatbot): `version` "1.0", `source` "custom", optional `id`, `content` (`textType`
//! "client-markdown", `title`, `description`, `nextSteps`, `keywords`) and `metadata`
//! (`threadId`, `summary`, `eventType`, `relatedResources`, `additionalContext`).
//!
//! The format documents no length limits of its own, but Q Developer posts into Slack, so the
//! enforcer keeps every field inside Slack's: the title within a header's 150 characters, the
//! description within a section's 3000, and lists short.

use std::collections::BTreeMap;

use serde::Serialize;

use super::text::{escape, fit_lines, truncate};
use super::{action_name, Facts};

/// Longest title.
pub(crate) const MAX_TITLE: usize = 150;
/// Longest description.
pub(crate) const MAX_DESCRIPTION: usize = 3000;
/// Longest next step.
pub(crate) const MAX_STEP: usize = 1000;
/// Most next steps.
pub(crate) const MAX_STEPS: usize = 8;
/// Most related resources listed in the metadata.
pub(crate) const MAX_RELATED: usize = 20;

/// A custom notification, the body of the SNS message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatbotNotification {
    /// Always `1.0`.
    pub version: String,
    /// Always `custom`.
    pub source: String,
    /// Unique id: the event id and the owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What the channel shows.
    pub content: ChatbotContent,
    /// Threading and context.
    pub metadata: ChatbotMetadata,
}

/// The visible part of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotContent {
    /// Always `client-markdown`.
    pub(crate) text_type: String,
    /// One line, with a severity emoji.
    pub title: String,
    /// Markdown: owner, creator, event, then per resource what is wrong and what was done.
    pub description: String,
    /// The fix commands and how to appeal.
    pub(crate) next_steps: Vec<String>,
    /// Short tags for searching the channel.
    pub(crate) keywords: Vec<String>,
}

/// Metadata of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotMetadata {
    /// Notifications about the same resource share a thread.
    pub thread_id: String,
    /// One-line summary (the SNS subject, unabridged).
    pub summary: String,
    /// `enforcer.alert`, `enforcer.quarantine`, ….
    pub(crate) event_type: String,
    /// The ARNs concerned (at most 20).
    pub(crate) related_resources: Vec<String>,
    /// The message attributes, the event id and the actor.
    pub(crate) additional_context: BTreeMap<String, String>,
}

pub(super) fn render(facts: &Facts, attributes: &BTreeMap<String, String>) -> ChatbotNotification {
    let decision = facts.decision;
    let mut header = vec![format!("*Owner:* {}", escape(&facts.owner_line()))];
    if let Some(creator) = &facts.creator {
        header.push(format!("*Created by:* {}", escape(creator)));
    }
    let location = facts.location();
    header.push(if location.is_empty() {
        format!("*Event:* {}", escape(&facts.event()))
    } else {
        format!(
            "*Event:* {} in {}",
            escape(&facts.event()),
            escape(&location)
        )
    });
    header.push(format!(
        "*Severity:* {} · *Mode:* {}",
        facts.severity.as_str(),
        attributes.get("mode").map(String::as_str).unwrap_or("")
    ));
    let mut items = vec![header.join("\n")];
    for resource in &facts.resources {
        let mut block = vec![format!(
            "*{}* `{}`",
            escape(&resource.kind),
            escape(&resource.resource.arn)
        )];
        if !resource.problems.is_empty() {
            block.push("What is wrong:".to_owned());
            block.extend(resource.problems.iter().map(|p| format!("• {}", escape(p))));
        }
        if !resource.done.is_empty() {
            block.push(super::done_heading(decision.mode).to_owned());
            block.extend(resource.done.iter().map(|d| format!("• {}", escape(d))));
        }
        items.push(block.join("\n"));
    }
    let description = fit_lines(
        &items.iter().map(|i| format!("{i}\n")).collect::<Vec<_>>(),
        MAX_DESCRIPTION,
    )
    .trim_end()
    .to_owned();

    let mut next_steps = Vec::new();
    if facts.commands.is_empty() {
        next_steps.push("Nothing to do by hand.".to_owned());
    } else {
        next_steps.push(format!("{}:", escape(facts.fix_intro())));
        let room = MAX_STEPS - 2;
        for command in facts.commands.iter().take(room) {
            next_steps.push(truncate(&format!("`{}`", escape(command)), MAX_STEP));
        }
        if facts.commands.len() > room {
            next_steps.push(format!(
                "…and {} more commands: run `enforcer alert preview` on the event for all of them",
                facts.commands.len() - room
            ));
        }
    }
    if facts.action != crate::evaluate::Action::Remediate || !facts.commands.is_empty() {
        next_steps.push(truncate(&escape(&facts.appeal), MAX_STEP));
    }

    let mut keywords = vec![
        facts.severity.as_str().to_owned(),
        action_name(facts.action).to_owned(),
    ];
    if let Some(event) = attributes.get("event") {
        if let Some(service) = event.split(':').next() {
            keywords.push(service.to_owned());
        }
    }
    if facts.owner.source != super::OwnerSource::Creator {
        keywords.push(truncate(&facts.owner.key, 50));
    }

    let arns: Vec<String> = facts
        .resources
        .iter()
        .map(|r| r.resource.arn.clone())
        .collect();
    let thread_id = match (arns.as_slice(), &decision.event_id) {
        ([only], _) => only.clone(),
        (_, Some(id)) => id.clone(),
        (_, None) => arns.first().cloned().unwrap_or_default(),
    };
    let mut additional_context = attributes.clone();
    if let Some(id) = &decision.event_id {
        additional_context.insert("event_id".to_owned(), id.clone());
    }
    if let Some(actor) = &decision.actor {
        additional_context.insert("actor".to_owned(), actor.clone());
    }
    super::add_creator_context(decision, &mut additional_context);
    ChatbotNotification {
        version: "1.0".to_owned(),
        source: "custom".to_owned(),
        id: decision
            .event_id
            .as_ref()
            .map(|id| format!("{id}:{}", facts.owner.key)),
        content: ChatbotContent {
            text_type: "client-markdown".to_owned(),
            title: truncate(
                &format!("{} {}", facts.severity.emoji(), escape(&facts.headline)),
                MAX_TITLE,
            ),
            description,
            next_steps,
            keywords,
        },
        metadata: ChatbotMetadata {
            thread_id,
            summary: format!("[{}] {}", facts.severity.as_str(), facts.headline),
            event_type: format!("enforcer.{}", action_name(facts.action)),
            related_resources: arns.into_iter().take(MAX_RELATED).collect(),
            additional_context,
        },
    }
}
