//! Slack Block Kit: a header, the facts as fields, one section per resource, the fix commands in
//! a code block and the appeal in a context block.
//!
//! Slack's limits are enforced by cutting safely ([`super::text`]): a header's text at most 150
//! characters, a section's text 3000, a field's 2000, at most 10 fields, at most 10 context
//! elements and at most 50 blocks in a message (resources beyond that are counted in one last
//! section).

use serde::Serialize;

use super::text::{escape, fit_lines, truncate};
use super::{action_name, Facts};

/// Longest header text.
pub(crate) const MAX_HEADER: usize = 150;
/// Longest section text.
pub(crate) const MAX_SECTION: usize = 3000;
/// Longest field text.
pub(crate) const MAX_FIELD: usize = 2000;
/// Most blocks in one message.
pub(crate) const MAX_BLOCKS: usize = 50;
/// Longest fallback `text` kept (Slack shows it in notifications).
pub(crate) const MAX_FALLBACK: usize = 3000;

/// A Slack message: `chat.postMessage` arguments, or an incoming webhook's body (which ignores
/// `channel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlackMessage {
    /// The owner's channel, when the policy names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Plain fallback for notifications and screen readers.
    pub text: String,
    /// The layout.
    pub blocks: Vec<Block>,
}

/// A layout block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Large bold plain text.
    Header {
        /// Plain text, at most 150 characters.
        text: SlackText,
    },
    /// Text and/or two-column fields.
    Section {
        /// At most 3000 characters.
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<SlackText>,
        /// At most 10, each at most 2000 characters.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<SlackText>,
    },
    /// Small print.
    Context {
        /// At most 10.
        elements: Vec<SlackText>,
    },
    /// A rule.
    Divider,
}

/// A text object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum SlackText {
    /// Plain text, emoji shortcodes rendered.
    #[serde(rename = "plain_text")]
    Plain {
        /// The text.
        text: String,
        /// Render `:emoji:` shortcodes.
        emoji: bool,
    },
    /// Slack-flavoured markdown.
    #[serde(rename = "mrkdwn")]
    Markdown {
        /// The text, with `&`, `<`, `>` escaped.
        text: String,
    },
}

fn markdown(text: String, limit: usize) -> SlackText {
    SlackText::Markdown {
        text: truncate(&text, limit),
    }
}

fn section(text: String) -> Block {
    Block::Section {
        text: Some(markdown(text, MAX_SECTION)),
        fields: Vec::new(),
    }
}

pub(super) fn render(facts: &Facts) -> SlackMessage {
    let decision = facts.decision;
    let mut blocks = vec![Block::Header {
        text: SlackText::Plain {
            // Plain text: no escaping, Slack shows it as is.
            text: truncate(
                &format!("{} {}", facts.severity.emoji(), facts.headline),
                MAX_HEADER,
            ),
            emoji: true,
        },
    }];
    let mode = match decision.mode {
        crate::policy::Mode::Enforce => "enforce",
        crate::policy::Mode::Audit => "audit",
    };
    let mut fields = vec![
        format!("*Owner*\n{}", escape(&facts.owner_line())),
        format!("*Severity*\n{} ({} mode)", facts.severity.as_str(), mode),
        format!("*Action*\n{}", action_name(facts.action)),
        format!("*Event*\n{}", escape(&facts.event())),
    ];
    let location = facts.location();
    if !location.is_empty() {
        fields.push(format!("*Account / region*\n{}", escape(&location)));
    }
    if let Some(creator) = &facts.creator {
        fields.push(format!("*Created by*\n{}", escape(creator)));
    }
    blocks.push(Block::Section {
        text: None,
        fields: fields
            .into_iter()
            .take(10)
            .map(|f| markdown(f, MAX_FIELD))
            .collect(),
    });

    // Blocks after the resources: the fix and the appeal.
    let mut tail = Vec::new();
    if !facts.commands.is_empty() {
        let intro = format!("*{}*\n```", escape(facts.fix_intro()));
        let commands: Vec<String> = facts.commands.iter().map(|c| escape(c)).collect();
        let room = MAX_SECTION - intro.chars().count() - 3;
        tail.push(section(format!("{intro}{}```", fit_lines(&commands, room))));
    }
    let mut context = vec![markdown(escape(&facts.appeal), MAX_FIELD)];
    if let Some(id) = &decision.event_id {
        context.push(markdown(
            format!("CloudTrail event `{}`", escape(id)),
            MAX_FIELD,
        ));
    }
    tail.push(Block::Context { elements: context });

    let room = MAX_BLOCKS - blocks.len() - tail.len();
    let shown = if facts.resources.len() > room {
        room - 1
    } else {
        facts.resources.len()
    };
    for resource in facts.resources.iter().take(shown) {
        let mut lines = vec![
            format!("*{}* `{}`", escape(&resource.kind), escape(&resource.name)),
            format!("`{}`", escape(&resource.resource.arn)),
        ];
        lines.extend(
            resource
                .problems
                .iter()
                .map(|p| format!(":x: {}", escape(p))),
        );
        lines.extend(
            resource
                .done
                .iter()
                .map(|d| format!(":white_check_mark: {}", escape(d))),
        );
        blocks.push(section(fit_lines(&lines, MAX_SECTION)));
    }
    if shown < facts.resources.len() {
        blocks.push(section(format!(
            "…and {} more resources: run `enforcer alert preview` on the event for all of them",
            facts.resources.len() - shown
        )));
    }
    blocks.extend(tail);

    SlackMessage {
        channel: facts.owner.slack_channel.clone(),
        text: truncate(
            &escape(&format!("[{}] {}", facts.severity.as_str(), facts.headline)),
            MAX_FALLBACK,
        ),
        blocks,
    }
}
