//! Alerts: a [`Decision`] rendered for the people who must act on it. Pure: no I/O.
//!
//! One [`Alert`] per owner of the resources a decision names (almost always exactly one), each in
//! two renderings of the same facts:
//!
//! - [`ChatbotNotification`]: the custom-notification JSON of Amazon Q Developer in chat
//!   applications (formerly AWS Chatbot), published to the alerts SNS topic. A Slack or Teams
//!   channel subscribed to the topic through Q Developer renders it.
//! - [`SlackMessage`]: Slack Block Kit, for posting straight to Slack (`chat.postMessage` or an
//!   incoming webhook) where Q Developer is not used.
//!
//! The message attributes ([`Alert::attributes`]) let each SNS subscription filter to its own
//! alerts: `owner`, `owner_source`, `severity`, `action`, `account`, `region`, `mode`, `event`.
//!
//! # Who is alerted
//!
//! 1. The team the resource's owner tag names (the policy's `owner_tag`, `ProcessOwner` unless it
//!    says otherwise; see [`tagged_owner`]), with that owner's Slack channel from the policy's
//!    `[owners]` (the default owner's channel when it has none);
//! 2. else the owner the policy's `[creators]` gives the call's creator (the person behind it,
//!    [`crate::event::Creator`]: an IAM or Identity Center user, a source identity, a role),
//!    with that owner's channel and topic;
//! 3. else the creator itself: the principal that made the call (`owner` = its ARN, so a
//!    subscription can filter on a role's ARN prefix), posted to the default owner's channel;
//! 4. else the policy's `default_owner`.
//!
//! # Severity
//!
//! | severity | when |
//! |---|---|
//! | `critical` | the resource is (or in audit mode would be) quarantined |
//! | `high` | a person must act and the data's sensitivity is at stake: `DataClassification` is missing, invalid or in conflict, or it is `Confidential`/`Restricted` |
//! | `medium` | a person must act on any other tag |
//! | `low` | audit mode: the enforcer would add tags, but wrote nothing |
//! | `info` | enforce mode: the enforcer added the tags; nothing is left to do |
//!
//! A decision's severity is the highest of its resources'.

mod chatbot;
pub(crate) mod digest;
pub mod fix;
pub mod routing;
mod slack;
pub mod text;

use std::collections::BTreeMap;

use serde::Serialize;

pub(crate) use chatbot::{ChatbotContent, ChatbotMetadata, ChatbotNotification};
pub use slack::Block;
pub(crate) use slack::SlackMessage;

use crate::catalog::resource_name;
use crate::engine::{Decision, Outcome, ResourceDecision};
use crate::evaluate::Action;
use crate::event::{Creator, ResolvedBy, INFERRED_NOTE};
use crate::policy::{Level, Mode, PolicySet};
use crate::state::Notice;

/// The tag saying how sensitive the data is.
pub(crate) const CLASSIFICATION_TAG: &str = "DataClassification";
/// Classifications whose resources raise the severity of an alert.
pub(crate) const SENSITIVE_CLASSIFICATIONS: [&str; 2] = ["Confidential", "Restricted"];
/// Longest SNS subject (SNS's own limit).
pub(crate) const MAX_SUBJECT_CHARS: usize = 100;

/// How urgent an alert is; the `severity` message attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Tags were added; nothing to do.
    Info,
    /// Audit mode: tags would be added.
    Low,
    /// A person must fix a tag.
    Medium,
    /// A person must fix the classification of (possibly) sensitive data.
    High,
    /// The resource is quarantined.
    Critical,
}

impl Severity {
    /// `critical`, `high`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// The emoji shortcode that leads titles in chat.
    pub(crate) fn emoji(self) -> &'static str {
        match self {
            Self::Info => ":white_check_mark:",
            Self::Low => ":information_source:",
            Self::Medium => ":large_orange_diamond:",
            Self::High => ":warning:",
            Self::Critical => ":rotating_light:",
        }
    }
}

/// Where an alert's owner came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerSource {
    /// The resource's owner tag (current or planned).
    Tag,
    /// The principal that made the call.
    Creator,
    /// The policy's `default_owner`.
    Default,
    /// Nobody: no tag, no creator, no default owner.
    None,
}

impl OwnerSource {
    /// `tag`, `creator`, `default`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tag => "tag",
            Self::Creator => "creator",
            Self::Default => "default",
            Self::None => "none",
        }
    }
}

/// Who an alert is for and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedOwner {
    /// The routing key, the `owner` message attribute: the owner tag's value, the creator's
    /// ARN, the default owner's name, or `unowned`.
    pub key: String,
    /// Where the owner came from.
    pub source: OwnerSource,
    /// For people: `DataEngineering`, `alice (role DataEngineer)`.
    pub display: String,
    /// The Slack channel the alert is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_channel: Option<String>,
    /// The owner's contact address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The policy owner whose own topic carries the alert ([`routing::route`]): `None`, the
    /// deployment's default alerts topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// One line for people: who, where it is posted and why.
    pub line: String,
}

/// One alert: a decision's resources that share an owner, rendered for people.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// Who it is for.
    pub owner: ResolvedOwner,
    /// How urgent.
    pub severity: Severity,
    /// The strongest action among its resources.
    pub action: Action,
    /// The SNS subject: ASCII, at most 100 characters.
    pub subject: String,
    /// SNS message attributes, for subscription filter policies.
    pub attributes: BTreeMap<String, String>,
    /// The Amazon Q Developer (Chatbot) custom notification: the SNS message body.
    pub chatbot: ChatbotNotification,
    /// The same alert as Slack Block Kit.
    pub slack: SlackMessage,
}

impl Alert {
    /// The SNS message body: the custom notification as compact JSON.
    #[cfg(test)]
    pub(crate) fn sns_body(&self) -> String {
        serde_json::to_string(&self.chatbot).unwrap_or_default()
    }

    /// The message to publish: this alert's subject, attributes and notification, with
    /// `act_lines` (markdown lines saying what the enforcer did and what failed, which the
    /// decision alone cannot know) added to the notification's description, within its limit.
    pub fn message(&self, act_lines: &[String]) -> AlertMessage {
        let mut chatbot = self.chatbot.clone();
        if !act_lines.is_empty() {
            let description = &mut chatbot.content.description;
            description.push('\n');
            description.push_str(&act_lines.join("\n"));
            *description = text::truncate(description, chatbot::MAX_DESCRIPTION);
        }
        AlertMessage {
            subject: self.subject.clone(),
            body: serde_json::to_string(&chatbot).unwrap_or_default(),
            attributes: self.attributes.clone(),
            route: self.owner.route.clone(),
        }
    }
}

impl Alert {
    /// This alert as the `notice` message of its resource's thread (see [`crate::state`]): the
    /// opening as rendered; a reminder or an update says so first in its subject and title. The
    /// `notice` message attribute names it, so a subscription can filter on it.
    pub(crate) fn into_notice(mut self, notice: Notice) -> Self {
        let prefix = match notice {
            Notice::Opened | Notice::Resolved | Notice::Remediated => None,
            Notice::Reminder => Some("Reminder: still open"),
            Notice::Changed => Some("Updated"),
        };
        if let Some(prefix) = prefix {
            self.subject = ascii_subject(&format!("{prefix}: {}", self.subject));
            let title = &mut self.chatbot.content.title;
            *title = text::truncate(&format!("{prefix}: {title}"), chatbot::MAX_TITLE);
        }
        self.attributes
            .insert(NOTICE_ATTRIBUTE.to_owned(), notice.as_str().to_owned());
        self.chatbot
            .metadata
            .additional_context
            .insert(NOTICE_ATTRIBUTE.to_owned(), notice.as_str().to_owned());
        self
    }
}

/// The message attribute naming which message of a resource's thread an alert is: `opened`,
/// `reminder`, `changed`, `resolved`.
pub(crate) const NOTICE_ATTRIBUTE: &str = "notice";

/// The one message that closes a resource's thread: the problem alerted there is gone (the
/// resource complies now, or needs no person any more). Same owner routing and `threadId` (the
/// resource's ARN) as the alerts it follows.
pub fn resolved(
    decision: &Decision,
    resource: &ResourceDecision,
    policies: &PolicySet,
) -> AlertMessage {
    let owner = resolve_owner(resource, decision, policies);
    let mut attributes = attributes(decision, &owner, Severity::Info, resource.action);
    attributes.insert(
        NOTICE_ATTRIBUTE.to_owned(),
        Notice::Resolved.as_str().to_owned(),
    );
    let name = resource_name(&resource.arn);
    let kind = resource.resource_type.replacen(':', " ", 1);
    let headline = format!("Resolved: {kind} {name} needs nothing more");
    let mut description = vec![
        format!("*Owner:* {}", text::escape(&owner.line)),
        format!(
            "*{}* `{}`: the problem alerted in this thread is gone.",
            text::escape(&kind),
            text::escape(&resource.arn)
        ),
    ];
    if let Some(why) = &resource.exempt {
        description.push(format!("Exempt: {}", text::escape(why)));
    }
    description.push(format!(
        "*Seen in:* {}:{}",
        text::escape(service(decision)),
        text::escape(&decision.event_name)
    ));
    let mut additional_context = attributes.clone();
    if let Some(id) = &decision.event_id {
        additional_context.insert("event_id".to_owned(), id.clone());
    }
    if let Some(actor) = &decision.actor {
        additional_context.insert("actor".to_owned(), actor.clone());
    }
    add_creator_context(decision, &mut additional_context);
    let notification = ChatbotNotification {
        version: "1.0".to_owned(),
        source: "custom".to_owned(),
        id: decision
            .event_id
            .as_ref()
            .map(|id| format!("{id}:{}:resolved", owner.key)),
        content: ChatbotContent {
            text_type: "client-markdown".to_owned(),
            title: text::truncate(
                &format!("{} {}", Severity::Info.emoji(), text::escape(&headline)),
                chatbot::MAX_TITLE,
            ),
            description: text::truncate(&description.join("\n"), chatbot::MAX_DESCRIPTION),
            next_steps: vec!["Nothing to do.".to_owned()],
            keywords: vec!["resolved".to_owned()],
        },
        metadata: ChatbotMetadata {
            thread_id: resource.arn.clone(),
            summary: format!("[info] {headline}"),
            event_type: "enforcer.resolved".to_owned(),
            related_resources: vec![resource.arn.clone()],
            additional_context,
        },
    };
    AlertMessage {
        subject: ascii_subject(&format!("[info] {headline}")),
        body: serde_json::to_string(&notification).unwrap_or_default(),
        attributes,
        route: owner.route,
    }
}

/// The creator's name and kind in a notification's `additionalContext`, beside the `actor` ARN.
pub(crate) fn add_creator_context(decision: &Decision, context: &mut BTreeMap<String, String>) {
    if let Some(creator) = &decision.creator {
        context.insert("creator".to_owned(), creator.name.clone());
        context.insert("creator_kind".to_owned(), creator.kind.as_str().to_owned());
        if let Some(via) = &creator.via {
            context.insert("creator_via".to_owned(), via.clone());
        }
    }
}

/// One message to publish, as [`Notify`](crate::act::Notify) sends it: an [`Alert`] made
/// ready by [`Alert::message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertMessage {
    /// The SNS subject: ASCII, one line, at most [`MAX_SUBJECT_CHARS`] characters.
    pub subject: String,
    /// The body: the Amazon Q Developer custom notification as JSON.
    pub body: String,
    /// Message attributes for subscription filter policies (see [`Alert::attributes`]).
    pub attributes: BTreeMap<String, String>,
    /// The policy owner whose own topic it goes to; `None`: the default alerts topic (see
    /// [`routing::OwnerTopics`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
}

/// True when a decision needs a person: something to fix by hand, a quarantine, or (audit mode)
/// tags the enforcer would have added but did not.
pub fn needs_person(decision: &Decision) -> bool {
    match decision.outcome {
        Outcome::Alert | Outcome::Quarantine => true,
        Outcome::Remediate => decision.mode == Mode::Audit,
        Outcome::Compliant | Outcome::Ignored | Outcome::Unsupported | Outcome::Error => false,
    }
}

/// Renders every alert of a decision: one per owner, each over that owner's resources that need
/// something (tags added, a fix, a quarantine). Empty when no resource does.
pub fn render(decision: &Decision, policies: &PolicySet) -> Vec<Alert> {
    let mut groups: Vec<(ResolvedOwner, Vec<&ResourceDecision>)> = Vec::new();
    for resource in decision
        .resources
        .iter()
        .filter(|r| r.action != Action::None && r.exempt.is_none())
    {
        let owner = resolve_owner(resource, decision, policies);
        match groups.iter_mut().find(|(o, _)| o.key == owner.key) {
            Some((_, resources)) => resources.push(resource),
            None => groups.push((owner, vec![resource])),
        }
    }
    groups
        .into_iter()
        .map(|(owner, resources)| build(decision, policies, owner, &resources))
        .collect()
}

fn build(
    decision: &Decision,
    policies: &PolicySet,
    owner: ResolvedOwner,
    resources: &[&ResourceDecision],
) -> Alert {
    let severity = resources
        .iter()
        .map(|r| resource_severity(r, decision.mode))
        .max()
        .unwrap_or(Severity::Info);
    let action = resources.iter().map(|r| r.action).max().unwrap_or_default();
    let facts = Facts::new(decision, policies, &owner, resources, severity, action);
    let attributes = attributes(decision, &owner, severity, action);
    Alert {
        subject: subject(&facts),
        chatbot: chatbot::render(&facts, &attributes),
        slack: slack::render(&facts),
        attributes,
        owner,
        severity,
        action,
    }
}

/// The owner a resource's tags name, under the policy's owner tag (`owner_tag`): the value the
/// plan re-cases it to, its current value, the value the plan adds, or the value of a mis-cased
/// key (`processowner`). Blank values name nobody.
///
/// The one owner lookup: alert routing and the replay summary's owner counts both use it.
pub(crate) fn tagged_owner<'r>(resource: &'r ResourceDecision, owner_tag: &str) -> Option<&'r str> {
    resource
        .case_fixes
        .get(owner_tag)
        .or_else(|| resource.tags.get(owner_tag))
        .or_else(|| resource.add_tags.get(owner_tag))
        .or_else(|| {
            resource
                .tags
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(owner_tag))
                .map(|(_, value)| value)
        })
        .map(String::as_str)
        .filter(|value| !value.trim().is_empty())
}

/// The owner of one resource: the team its owner tag names ([`tagged_owner`]), else the owner
/// the policy's `[creators]` gives the decision's creator, else the creator, else the default
/// owner.
pub(crate) fn resolve_owner(
    resource: &ResourceDecision,
    decision: &Decision,
    policies: &PolicySet,
) -> ResolvedOwner {
    let actor = decision.actor.as_deref();
    let creator = decision.creator.as_ref();
    let owner_tag = policies.owner_tag();
    let default = policies
        .default_owner
        .as_ref()
        .map(|name| (name, policies.owners.get(name)));
    let default_channel = default.and_then(|(_, o)| o.and_then(|o| o.slack_channel.clone()));
    if let Some(name) = tagged_owner(resource, owner_tag) {
        let name = name.to_owned();
        let known = policies.owners.get(&name);
        let own_channel = known.and_then(|o| o.slack_channel.clone());
        let line = match (&own_channel, &default_channel) {
            (Some(channel), _) => format!("{name} ({channel})"),
            (None, Some(channel)) => {
                format!("{name} (no Slack channel of its own in the policy; posted in {channel})")
            }
            (None, None) => name.clone(),
        };
        let route = routing::route(policies, Some(&name));
        return ResolvedOwner {
            key: name.clone(),
            source: OwnerSource::Tag,
            display: name,
            slack_channel: own_channel.or(default_channel),
            email: known.and_then(|o| o.email.clone()),
            route,
            line,
        };
    }
    let posted = |channel: &Option<String>| {
        channel
            .as_ref()
            .map(|c| format!("; posted in {c}"))
            .unwrap_or_default()
    };
    if let Some((creator, route)) =
        creator.and_then(|creator| Some((creator, policies.creator_route(creator)?)))
    {
        let name = route.owner.clone();
        let known = policies.owners.get(&name);
        let own_channel = known.and_then(|o| o.slack_channel.clone());
        let channel = own_channel.clone().or(default_channel.clone());
        let line = format!(
            "{name}{}, the owner `[creators]` gives {}, who made the call (no {owner_tag} tag)",
            channel
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default(),
            creator.name
        );
        return ResolvedOwner {
            key: name.clone(),
            source: OwnerSource::Creator,
            display: name.clone(),
            slack_channel: channel,
            email: known.and_then(|o| o.email.clone()),
            route: routing::route(policies, Some(&name)),
            line,
        };
    }
    if let Some(arn) = actor.filter(|a| !a.is_empty()) {
        let display = creator
            .filter(|c| c.arn.as_deref() == Some(arn))
            .map_or_else(|| principal_display(arn), Creator::display);
        return ResolvedOwner {
            key: arn.to_owned(),
            source: OwnerSource::Creator,
            line: format!(
                "{display}, who made the call (no {owner_tag} tag){}",
                posted(&default_channel)
            ),
            display,
            slack_channel: default_channel,
            email: None,
            route: routing::route(policies, None),
        };
    }
    match default {
        Some((name, known)) => ResolvedOwner {
            key: name.clone(),
            source: OwnerSource::Default,
            display: name.clone(),
            line: format!(
                "{name}, the default owner (no {owner_tag} tag, no known creator){}",
                posted(&default_channel)
            ),
            slack_channel: default_channel,
            email: known.and_then(|o| o.email.clone()),
            route: routing::route(policies, None),
        },
        None => ResolvedOwner {
            key: "unowned".to_owned(),
            source: OwnerSource::None,
            display: "nobody".to_owned(),
            line: format!(
                "nobody: no {owner_tag} tag, no known creator and no default owner in the policy"
            ),
            slack_channel: None,
            email: None,
            route: None,
        },
    }
}

/// Who made the call, for people: the creator ([`Creator::display`]) and the caller's ARN, else
/// the ARN as [`principal_display`] reads it.
fn creator_line(decision: &Decision) -> Option<String> {
    let with_arn = |display: String, arn: Option<&str>| match arn {
        Some(arn) if display != arn => format!("{display}, {arn}"),
        _ => display,
    };
    match (&decision.creator, decision.actor.as_deref()) {
        (Some(creator), actor) => Some(with_arn(creator.display(), actor)),
        (None, Some(arn)) => Some(with_arn(principal_display(arn), Some(arn))),
        (None, None) => None,
    }
}

/// A principal's ARN for people: `alice (role DataEngineer)` for an assumed-role session, the
/// user name for an IAM user, `root` for the root user, else the ARN itself.
pub(crate) fn principal_display(arn: &str) -> String {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    let mut parts = resource.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("assumed-role"), Some(role), Some(session)) => format!("{session} (role {role})"),
        (Some("user"), Some(_), _) => resource.rsplit('/').next().unwrap_or(arn).to_owned(),
        (Some("root"), None, None) => "root".to_owned(),
        (Some("federated-user"), Some(user), None) => user.to_owned(),
        _ => arn.to_owned(),
    }
}

/// The severity of one resource (see the module documentation).
pub(crate) fn resource_severity(resource: &ResourceDecision, mode: Mode) -> Severity {
    match resource.action {
        Action::Quarantine => Severity::Critical,
        Action::Alert => {
            let classification_broken = resource
                .violations
                .iter()
                .any(|v| v.tag == CLASSIFICATION_TAG && v.level == Level::Error && !v.fixed);
            let sensitive = [&resource.case_fixes, &resource.tags, &resource.add_tags]
                .iter()
                .find_map(|tags| tags.get(CLASSIFICATION_TAG))
                .is_some_and(|value| SENSITIVE_CLASSIFICATIONS.contains(&value.as_str()));
            if classification_broken || sensitive {
                Severity::High
            } else {
                Severity::Medium
            }
        }
        Action::Remediate if mode == Mode::Audit => Severity::Low,
        Action::Remediate | Action::None => Severity::Info,
    }
}

fn attributes(
    decision: &Decision,
    owner: &ResolvedOwner,
    severity: Severity,
    action: Action,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("owner".to_owned(), owner.key.clone());
    out.insert("owner_source".to_owned(), owner.source.as_str().to_owned());
    out.insert("severity".to_owned(), severity.as_str().to_owned());
    out.insert("action".to_owned(), action_name(action).to_owned());
    out.insert("mode".to_owned(), mode_name(decision.mode).to_owned());
    out.insert(
        "event".to_owned(),
        format!("{}:{}", service(decision), decision.event_name),
    );
    if decision.resolution == Some(ResolvedBy::Inferred) {
        out.insert("resolution".to_owned(), "inferred".to_owned());
    }
    for (key, value) in [("account", &decision.account), ("region", &decision.region)] {
        if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
            out.insert(key.to_owned(), value.clone());
        }
    }
    out
}

/// `remediate`, `alert`, `quarantine`, `none`.
pub(crate) fn action_name(action: Action) -> &'static str {
    match action {
        Action::None => "none",
        Action::Remediate => "remediate",
        Action::Alert => "alert",
        Action::Quarantine => "quarantine",
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "enforce",
        Mode::Audit => "audit",
    }
}

fn service(decision: &Decision) -> &str {
    decision
        .event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(&decision.event_source)
}

/// Everything both renderings say, worked out once.
pub struct Facts<'a> {
    /// The decision the alert is about.
    pub decision: &'a Decision,
    /// Who the alert goes to, and how that was found.
    pub owner: &'a ResolvedOwner,
    /// The resources that need something, in the decision's order.
    pub resources: Vec<ResourceFacts<'a>>,
    /// How urgent the alert is.
    pub severity: Severity,
    /// The strongest action taken or planned across the resources.
    pub action: Action,
    /// `Quarantined: s3 bucket my-bucket`.
    pub(crate) headline: String,
    /// Fix commands, for all resources.
    pub commands: Vec<String>,
    /// True when a command has a `<…>` placeholder to fill in.
    pub(crate) placeholders: bool,
    /// How to appeal.
    pub(crate) appeal: String,
    /// Who made the call, for people.
    pub creator: Option<String>,
}

/// What one resource needs.
pub struct ResourceFacts<'a> {
    /// The resource's decision.
    pub resource: &'a ResourceDecision,
    /// `s3 bucket`.
    pub kind: String,
    /// `my-bucket`.
    pub name: String,
    /// Error-level problems not fixed by the plan.
    pub problems: Vec<&'a str>,
    /// Lines saying what the enforcer did or would do.
    pub done: Vec<String>,
}

/// The heading of the `done` lines.
pub(crate) fn done_heading(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "What the enforcer did:",
        Mode::Audit => "What the enforcer would do (audit mode):",
    }
}

impl<'a> Facts<'a> {
    fn new(
        decision: &'a Decision,
        policies: &PolicySet,
        owner: &'a ResolvedOwner,
        resources: &[&'a ResourceDecision],
        severity: Severity,
        action: Action,
    ) -> Self {
        let audit = decision.mode == Mode::Audit;
        let resource_facts: Vec<ResourceFacts> = resources
            .iter()
            .map(|resource| ResourceFacts {
                resource,
                kind: resource.resource_type.replacen(':', " ", 1),
                name: resource_name(&resource.arn).to_owned(),
                problems: resource
                    .violations
                    .iter()
                    .filter(|v| !v.fixed && v.level == Level::Error)
                    .map(|v| v.message.as_str())
                    .collect(),
                done: done_lines(resource, audit),
            })
            .collect();
        // One command per group of resources that need the same fix.
        let mut fixes: Vec<(fix::Fix, Vec<String>)> = Vec::new();
        for resource in resources {
            let fix = fix::fix_for(resource, decision.mode, policies);
            if fix.is_empty() {
                continue;
            }
            match fixes.iter_mut().find(|(f, _)| *f == fix) {
                Some((_, arns)) => arns.push(resource.arn.clone()),
                None => fixes.push((fix, vec![resource.arn.clone()])),
            }
        }
        let placeholders = fixes.iter().any(|(f, _)| f.has_placeholders());
        let commands = fixes
            .iter()
            .flat_map(|(f, arns)| fix::commands(arns, decision.region.as_deref(), f))
            .collect();
        let first = resource_facts.first();
        let target = match (first, resource_facts.len()) {
            (Some(r), 1) => format!("{} {}", r.kind, r.name),
            (Some(r), n) => format!("{} {} and {} more", r.kind, r.name, n - 1),
            (None, _) => "no resource".to_owned(),
        };
        let verb = match (action, audit) {
            (Action::Quarantine, false) => "Quarantined",
            (Action::Quarantine, true) => "Would quarantine",
            (Action::Alert, _) => "Action needed on",
            (Action::Remediate, false) => "Tags fixed on",
            (Action::Remediate, true) => "Would fix tags on",
            (Action::None, _) => "Compliant:",
        };
        let appeal_contact = policies
            .default_owner
            .as_ref()
            .map(|name| {
                match policies
                    .owners
                    .get(name)
                    .and_then(|o| o.slack_channel.as_ref())
                {
                    Some(channel) => format!("{name} ({channel})"),
                    None => name.clone(),
                }
            })
            .unwrap_or_else(|| "the policy's maintainers".to_owned());
        Self {
            decision,
            owner,
            headline: format!("{verb} {target}"),
            resources: resource_facts,
            severity,
            action,
            commands,
            placeholders,
            appeal: match &policies.exemption_settings.how_to_request {
                Some(how) => format!("To request an exemption: {how}"),
                None => format!(
                    "To appeal: if this should not follow the tagging standard, ask {appeal_contact} for an exemption in the policy."
                ),
            },
            creator: creator_line(decision),
        }
    }

    /// `s3 CreateBucket`; for a resource found by inference, followed by
    /// [`INFERRED_NOTE`] in parentheses.
    pub fn event(&self) -> String {
        let event = format!("{} {}", service(self.decision), self.decision.event_name);
        if self.decision.resolution == Some(ResolvedBy::Inferred) {
            format!("{event} ({INFERRED_NOTE})")
        } else {
            event
        }
    }

    /// `111122223333 / eu-west-1`.
    pub fn location(&self) -> String {
        [&self.decision.account, &self.decision.region]
            .iter()
            .filter_map(|v| v.as_deref())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// `DataEngineering (#data-engineering)`.
    pub(crate) fn owner_line(&self) -> String {
        self.owner.line.clone()
    }

    /// The step that leads the fix commands.
    pub(crate) fn fix_intro(&self) -> &'static str {
        if self.placeholders {
            "Fix: set the tags, replacing each <…> with the right value"
        } else {
            "Fix: set the tags"
        }
    }
}

fn done_lines(resource: &ResourceDecision, audit: bool) -> Vec<String> {
    let mut out = Vec::new();
    let join = |tags: &crate::Tags| {
        tags.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (added, fixed) = if audit {
        ("Would add", "Would fix the case of")
    } else {
        ("Added", "Fixed the case of")
    };
    if !resource.add_tags.is_empty() {
        out.push(format!("{added} {}", join(&resource.add_tags)));
    }
    if !resource.case_fixes.is_empty() {
        out.push(format!("{fixed} {}", join(&resource.case_fixes)));
    }
    if resource.action == Action::Quarantine {
        out.push(if audit {
            "Would quarantine it (reversibly) until it is fixed".to_owned()
        } else {
            "Quarantined it (reversibly): its quarantine tag says what was done and how to undo it"
                .to_owned()
        });
    }
    if let Some(opt_out) = &resource.opt_out {
        out.push(format!(
            "Not quarantined: its opt-out tag exempts it until {}{}{}",
            opt_out.until,
            opt_out
                .by
                .as_ref()
                .map(|by| format!(", approved by {by}"))
                .unwrap_or_default(),
            opt_out
                .reason
                .as_ref()
                .map(|reason| format!(" ({reason})"))
                .unwrap_or_default()
        ));
    }
    if audit && !out.is_empty() {
        out.push("Nothing was changed: the policy runs in audit mode".to_owned());
    }
    out
}

/// The SNS subject: `[critical] Quarantined s3 bucket b`, ASCII, at most 100 characters.
fn subject(facts: &Facts) -> String {
    ascii_subject(&format!("[{}] {}", facts.severity.as_str(), facts.headline))
}

/// `raw` made a valid SNS subject: ASCII, one line, at most [`MAX_SUBJECT_CHARS`].
fn ascii_subject(raw: &str) -> String {
    let ascii: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else if c.is_whitespace() {
                ' '
            } else {
                '?'
            }
        })
        .collect();
    if ascii.len() <= MAX_SUBJECT_CHARS {
        ascii
    } else {
        format!("{}...", &ascii[..MAX_SUBJECT_CHARS - 3])
    }
}

#[cfg(test)]
mod tests;
