//! Compiles policy files into a [`PolicySet`], collecting every problem rather than stopping at
//! the first.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::diagnostic::{did_you_mean, suggest, Diagnostic, SourceFile};
use super::exemption::{OptOutField, PrincipalPattern};
use super::lint::{self, PatternUse, RuleSite};
use super::model::MaciePolicy;
use super::model::{
    parse_duration, Classification, CreatorRoute, Exemption, Mode, Origin, Owner, PolicySet, Rule,
    RuleValue, TagSpec, UnfixableAction, ValueCheck, ValueTemplate, MAX_RENOTIFY_AFTER,
    MIN_RENOTIFY_AFTER,
};
use super::raw::{
    ClassificationRaw, ExemptionRaw, ExemptionsRaw, MacieRaw, OwnerRaw, PolicyFile, RuleRaw,
};
use super::routing;
use super::schema;
use crate::obligation::{ClassObligations, PublicAccess};

/// True for an AWS region code: `eu-west-1`, `us-gov-west-1`, `ap-southeast-5`,
/// `us-isob-east-1`, `cn-north-1`: a two-letter area, one or two lowercase words, a number.
fn is_region_name(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let lowercase = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [area, words @ .., number] => {
            area.len() == 2
                && lowercase(area)
                && (1..=2).contains(&words.len())
                && words.iter().all(lowercase)
                && (1..=2).contains(&number.len())
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// Most rules in one policy set: 1,000. The checks that compare rules pairwise grow with the
/// square of the rules (a thousand rules are half a million pairs); real standards have tens.
/// The rules past the limit are not compiled and the set does not validate
/// (`policy::too-many-rules`).
pub const MAX_RULES: usize = 1000;

/// The prefix of the keys the enforcer removes (its quarantine records,
/// [`crate::act::aws::REMOVABLE_TAG_KEYS`] without its `*`): no opt-out tag may start so.
const QUARANTINE_RECORD_PREFIX: &str = "enforcer:quarantine";

/// Compiles parsed files into one set. Problems go to `diagnostics`; the set is only
/// trustworthy when none of them is an error.
pub(crate) struct Compiler<'k> {
    set: PolicySet,
    diagnostics: Vec<Diagnostic>,
    mode_origin: Option<(SourceFile, Range<usize>)>,
    tag_origins: BTreeMap<String, (SourceFile, Range<usize>)>,
    rule_origins: BTreeMap<String, (SourceFile, Range<usize>)>,
    known_types: &'k [&'k str],
    /// Rules with their file, kept until every file's vocabulary is known.
    pending_rules: Vec<(SourceFile, RuleRaw)>,
    /// Owner names used by the header (`default_owner`), checked once every owner is known.
    pending_owner_refs: Vec<(SourceFile, Spanned<String>)>,
    owner_tag_origin: Option<(SourceFile, Range<usize>)>,
    renotify_after_origin: Option<(SourceFile, Range<usize>)>,
    classification_tag_origin: Option<(SourceFile, Range<usize>)>,
    /// `[classification.<Class>]` tables with their file, kept until the classification tag's
    /// vocabulary is known.
    pending_classifications: Vec<(SourceFile, Spanned<String>, ClassificationRaw)>,
    /// Where `[exemptions]` was written (it may be written once).
    exemptions_origin: Option<(SourceFile, Range<usize>)>,
    /// Per compiled rule (same index as `set.rules`): where it was written, for the checks that
    /// look at several rules at once.
    rule_sites: Vec<RuleSite>,
    /// `[macie]` tables with their file, kept until every file's vocabulary is known.
    pending_macie: Vec<(SourceFile, MacieRaw)>,
    /// Where the ranked tag's `ranked = true` was written.
    ranked_origin: Option<(SourceFile, Range<usize>)>,
}

/// Which table of a rule a value is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueSection {
    /// `set`: known with certainty.
    Set,
    /// `default`: added when absent.
    Default,
}

/// The policy format's schema, generated once.
fn policy_schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(schema::policy_schema)
}

impl<'k> Compiler<'k> {
    /// A compiler that knows these resource types (for checking `resource_types`).
    pub fn new(known_types: &'k [&'k str]) -> Self {
        Self {
            set: PolicySet::default(),
            diagnostics: Vec::new(),
            mode_origin: None,
            tag_origins: BTreeMap::new(),
            rule_origins: BTreeMap::new(),
            known_types,
            pending_rules: Vec::new(),
            pending_owner_refs: Vec::new(),
            owner_tag_origin: None,
            renotify_after_origin: None,
            classification_tag_origin: None,
            pending_classifications: Vec::new(),
            exemptions_origin: None,
            rule_sites: Vec::new(),
            pending_macie: Vec::new(),
            ranked_origin: None,
        }
    }

    /// Parses and adds one file. Every syntax error, unknown key and wrong type of the file is
    /// reported; the entries that are fine are compiled.
    pub(crate) fn add_file(&mut self, source: &SourceFile) {
        let Some(document) = schema::parse_checked(source, policy_schema(), &mut self.diagnostics)
        else {
            return;
        };
        let file = match PolicyFile::deserialize(toml::de::Deserializer::from(document)) {
            Ok(file) => file,
            Err(error) => {
                // The structural check catches what serde would; this is the safety net.
                let span = error.span().unwrap_or(0..0);
                let message = error.message().trim().to_owned();
                let mut diagnostic =
                    Diagnostic::error("policy::syntax", message.clone(), source, span);
                if let Some(help) = unknown_field_help(&message) {
                    diagnostic = diagnostic.with_help(help);
                }
                self.diagnostics.push(diagnostic);
                return;
            }
        };
        self.add_header(source, &file);
        for (key, raw) in file.tags {
            self.add_tag(source, key, raw);
        }
        for (name, raw) in file.owners {
            let owner = self.owner(source, &name, raw);
            self.set.owners.insert(name.get_ref().clone(), owner);
        }
        for (pattern, raw) in file.creators {
            self.add_creator_route(source, &pattern, raw.owner);
        }
        for raw in file.exemption {
            self.add_exemption(source, raw);
        }
        if let Some(exemptions) = file.exemptions {
            self.add_exemption_settings(source, exemptions);
        }
        for rule in file.rule {
            self.pending_rules.push((source.clone(), rule));
        }
        for (class, raw) in file.classification {
            self.pending_classifications
                .push((source.clone(), class, raw));
        }
        if let Some(macie) = file.macie {
            self.pending_macie.push((source.clone(), macie));
        }
        if let Some(quarantine) = file.quarantine {
            for principal in quarantine.break_glass_principals {
                let text = principal.get_ref();
                let is_principal = crate::catalog::Arn::parse(text).is_some_and(|arn| {
                    arn.service == "iam"
                        && (arn.resource.starts_with("role/") || arn.resource.starts_with("user/"))
                });
                if is_principal {
                    if !self.set.break_glass_principals.contains(text) {
                        self.set.break_glass_principals.push(text.clone());
                    }
                } else {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "policy::invalid-principal",
                            format!("`{text}` is not an IAM role or user ARN"),
                            source,
                            principal.span(),
                        )
                        .with_help("write e.g. `arn:aws:iam::111122223333:role/BreakGlass`"),
                    );
                }
            }
            for pattern in &quarantine.protect {
                if let Some(regex) = self.regex(source, pattern, false) {
                    lint::check_pattern(
                        source,
                        pattern,
                        PatternUse::ExemptionArn,
                        &mut self.diagnostics,
                    );
                    self.set.protected.push(regex);
                }
            }
        }
    }

    /// One `[[exemption]]`: an ARN regex, a caller pattern, or both.
    fn add_exemption(&mut self, source: &SourceFile, raw: ExemptionRaw) {
        let start = [raw.arn.as_ref(), raw.principal.as_ref(), Some(&raw.reason)]
            .into_iter()
            .flatten()
            .map(|s| s.span().start)
            .min()
            .unwrap_or(0);
        if raw.arn.is_none() && raw.principal.is_none() {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::empty-exemption",
                    format!(
                        "exemption `{}` names neither `arn` nor `principal`: it can never apply",
                        raw.reason.get_ref()
                    ),
                    source,
                    raw.reason.span(),
                )
                .with_help("add `arn = '<regex over the resource ARN>'` or `principal = 'arn:aws:iam::*:role/<name>'`"),
            );
            return;
        }
        let arn = raw.arn.as_ref().and_then(|pattern| {
            let regex = self.regex(source, pattern, false)?;
            lint::check_pattern(
                source,
                pattern,
                PatternUse::ExemptionArn,
                &mut self.diagnostics,
            );
            Some(regex)
        });
        let principal = match &raw.principal {
            Some(text) => match self.principal_pattern(source, text) {
                Some(pattern) => Some(pattern),
                None => return,
            },
            None => None,
        };
        if raw.arn.is_some() && arn.is_none() {
            return;
        }
        self.set.exemptions.push(Exemption {
            arn,
            principal,
            reason: raw.reason.into_inner(),
            origin: origin(source, start),
        });
    }

    /// A caller pattern (`[[exemption]] principal`, `[exemptions] approvers`), or its error.
    fn principal_pattern(
        &mut self,
        source: &SourceFile,
        text: &Spanned<String>,
    ) -> Option<PrincipalPattern> {
        match PrincipalPattern::parse(text.get_ref()) {
            Ok(pattern) => Some(pattern),
            Err(error) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::invalid-principal-pattern",
                        error.to_string(),
                        source,
                        text.span(),
                    )
                    .with_help(
                        "write an IAM ARN with `*` or `?` wildcards, e.g. \
                         `arn:aws:iam::*:role/deploy-*` (a role and its sessions) or \
                         `arn:aws:iam::111122223333:user/ci`",
                    ),
                );
                None
            }
        }
    }

    /// `[exemptions]`: the opt-out tag's settings, once in the whole set.
    fn add_exemption_settings(&mut self, source: &SourceFile, raw: ExemptionsRaw) {
        let here = raw.tag.as_ref().map_or(0..0, Spanned::span);
        if let Some((first_source, first_span)) = &self.exemptions_origin {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::exemptions-conflict",
                    "two policy files have an `[exemptions]` table",
                    source,
                    here,
                )
                .with_related(first_source, first_span.clone(), "the other one")
                .with_help("keep `[exemptions]` in one file only"),
            );
            return;
        }
        self.exemptions_origin = Some((source.clone(), here));
        let settings = &mut self.set.exemption_settings;
        if let Some(tag) = &raw.tag {
            if tag.get_ref().trim().is_empty() {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::empty-exemption-tag",
                        "the opt-out tag key is empty",
                        source,
                        tag.span(),
                    )
                    .with_help("leave `tag` out for the default, `enforcer:exempt`"),
                );
            } else if tag.get_ref().starts_with(QUARANTINE_RECORD_PREFIX) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::reserved-exemption-tag",
                        format!(
                            "`{}` is a quarantine record key: the enforcer removes those on release",
                            tag.get_ref()
                        ),
                        source,
                        tag.span(),
                    )
                    .with_help("choose another key, e.g. the default `enforcer:exempt`"),
                );
            } else {
                settings.tag = tag.get_ref().clone();
            }
        }
        for field in &raw.require {
            match OptOutField::parse(field.get_ref()) {
                Some(parsed) => {
                    if !settings.require.contains(&parsed) {
                        settings.require.push(parsed);
                    }
                }
                None => self.diagnostics.push(
                    Diagnostic::error(
                        "policy::unknown-exemption-field",
                        format!("`{}` is not a field of the opt-out tag", field.get_ref()),
                        source,
                        field.span(),
                    )
                    .with_help(suggest(
                        field.get_ref(),
                        OptOutField::ALL.map(OptOutField::name),
                        "`until`, `reason` or `by`",
                    )),
                ),
            }
        }
        settings.require.sort();
        let mut in_range = |name: &str, value: &Option<Spanned<u32>>, max: u32| {
            let value = value.as_ref()?;
            if (1..=max).contains(value.get_ref()) {
                return Some(*value.get_ref());
            }
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::out-of-range",
                    format!("`{name} = {}` is out of range", value.get_ref()),
                    source,
                    value.span(),
                )
                .with_help(format!("choose from 1 to {max} days")),
            );
            None
        };
        let max_days = in_range("max_days", &raw.max_days, 3650);
        let remind_days = in_range("remind_days", &raw.remind_days, 365);
        let settings = &mut self.set.exemption_settings;
        settings.max_days = max_days;
        settings.remind_days = remind_days;
        settings.how_to_request = raw.how_to_request;
        if let (Some(max), Some(remind)) = (&raw.max_days, &raw.remind_days) {
            if remind.get_ref() >= max.get_ref() {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "policy::reminder-before-start",
                        format!(
                            "`remind_days = {}` is not shorter than `max_days = {}`: an opt-out is reminded about as soon as it is written",
                            remind.get_ref(),
                            max.get_ref()
                        ),
                        source,
                        remind.span(),
                    )
                    .with_help("remind a few days before the end, e.g. `remind_days = 7`"),
                );
            }
        }
        let approvers: Vec<PrincipalPattern> = raw
            .approvers
            .iter()
            .filter_map(|text| self.principal_pattern(source, text))
            .collect();
        self.set.exemption_settings.approvers = approvers;
    }

    fn add_header(&mut self, source: &SourceFile, file: &PolicyFile) {
        let Some(header) = &file.policy else { return };
        if header.name.is_some() {
            self.set.name.clone_from(&header.name);
        }
        if header.description.is_some() {
            self.set.description.clone_from(&header.description);
        }
        if let Some(mode) = &header.mode {
            match Mode::parse(mode.get_ref()) {
                Some(parsed) => {
                    if let Some((first_source, first_span)) = &self.mode_origin {
                        if parsed != self.set.mode {
                            self.diagnostics.push(
                                Diagnostic::error(
                                    "policy::mode-conflict",
                                    "two policy files set different modes",
                                    source,
                                    mode.span(),
                                )
                                .with_related(first_source, first_span.clone(), "the other mode")
                                .with_help("set `mode` in one file only"),
                            );
                        }
                    }
                    self.set.mode = parsed;
                    self.mode_origin = Some((source.clone(), mode.span()));
                }
                None => self.diagnostics.push(
                    Diagnostic::error(
                        "policy::invalid-mode",
                        format!("`{}` is not a mode", mode.get_ref()),
                        source,
                        mode.span(),
                    )
                    .with_help(suggest(
                        mode.get_ref(),
                        ["enforce", "audit"],
                        "`enforce` or `audit`",
                    )),
                ),
            }
        }
        if let Some(owner_tag) = &header.owner_tag {
            if let Some((first_source, first_span)) = &self.owner_tag_origin {
                if self.set.owner_tag() != owner_tag.get_ref() {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "policy::owner-tag-conflict",
                            "two policy files name different owner tags",
                            source,
                            owner_tag.span(),
                        )
                        .with_related(first_source, first_span.clone(), "the other owner tag")
                        .with_help("set `owner_tag` in one file only"),
                    );
                }
            }
            self.set.owner_tag_override = Some(owner_tag.get_ref().clone());
            self.owner_tag_origin = Some((source.clone(), owner_tag.span()));
        }
        if let Some(tag) = &header.classification_tag {
            if let Some((first_source, first_span)) = &self.classification_tag_origin {
                if self.set.classification_tag() != tag.get_ref() {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "policy::classification-tag-conflict",
                            "two policy files name different classification tags",
                            source,
                            tag.span(),
                        )
                        .with_related(first_source, first_span.clone(), "the other one")
                        .with_help("set `classification_tag` in one file only"),
                    );
                }
            }
            self.set.classification_tag_override = Some(tag.get_ref().clone());
            self.classification_tag_origin = Some((source.clone(), tag.span()));
        }
        if let Some(renotify_after) = &header.renotify_after {
            self.add_renotify_after(source, renotify_after);
        }
        if let Some(owner) = &header.default_owner {
            self.set.default_owner = Some(owner.get_ref().clone());
            self.pending_owner_refs
                .push((source.clone(), owner.clone()));
        }
    }

    /// One `[creators."<pattern>"]` table: its owner checked once every owner is known.
    fn add_creator_route(
        &mut self,
        source: &SourceFile,
        pattern: &Spanned<String>,
        owner: Spanned<String>,
    ) {
        let text = pattern.get_ref().trim();
        if text.is_empty() || text.chars().all(|c| c == '*') {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::creator-pattern",
                    format!("`{}` matches every creator", pattern.get_ref()),
                    source,
                    pattern.span(),
                )
                .with_help(
                    "name a creator (`alice@example.com`, `ci-deploy`) or a group of them \
                     (`*@data.example.com`); the owner alerted when nothing else is known is \
                     `[policy] default_owner`",
                ),
            );
            return;
        }
        if let Some(first) = self
            .set
            .creators
            .iter()
            .find(|route| route.pattern.eq_ignore_ascii_case(text))
        {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::duplicate-creator",
                    format!(
                        "creator `{text}` is already routed to `{}` at {}",
                        first.owner, first.origin
                    ),
                    source,
                    pattern.span(),
                )
                .with_help("creator keys are compared without case: keep one"),
            );
            return;
        }
        self.set.creators.push(CreatorRoute {
            pattern: text.to_owned(),
            owner: owner.get_ref().clone(),
            origin: origin(source, pattern.span().start),
        });
        self.pending_owner_refs.push((source.clone(), owner));
    }

    /// One `[owners.<name>]` table; its routing ids checked where they are written.
    fn owner(&mut self, source: &SourceFile, name: &Spanned<String>, raw: OwnerRaw) -> Owner {
        let mut checked = |value: &Option<Spanned<String>>, id: routing::RoutingId| {
            let value = value.as_ref()?;
            if let Err(problem) = id.check(value.get_ref()) {
                self.diagnostics.push(
                    Diagnostic::error("policy::invalid-routing-id", problem, source, value.span())
                        .with_help(id.help()),
                );
                return None;
            }
            Some(value.get_ref().clone())
        };
        let workspace = checked(&raw.slack_workspace_id, routing::RoutingId::SlackWorkspace);
        let channel = checked(&raw.slack_channel_id, routing::RoutingId::SlackChannel);
        let topic = checked(&raw.sns_topic_arn, routing::RoutingId::SnsTopicArn);
        let lone = match (&raw.slack_workspace_id, &raw.slack_channel_id) {
            (Some(given), None) => Some((given, "slack_channel_id")),
            (None, Some(given)) => Some((given, "slack_workspace_id")),
            _ => None,
        };
        if let Some((given, missing)) = lone {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::incomplete-slack-route",
                    format!(
                        "owner `{}` names one Slack id without `{missing}`",
                        name.get_ref()
                    ),
                    source,
                    given.span(),
                )
                .with_help(
                    "a Q Developer channel configuration needs both the workspace id and the \
                     channel id",
                ),
            );
        }
        if raw.slack_channel_id.is_some() {
            if let Err(problem) = routing::check_topic_owner_name(name.get_ref()) {
                self.diagnostics.push(
                    Diagnostic::error("policy::owner-topic-name", problem, source, name.span())
                        .with_help(
                        "the generated topic and channel configuration are named after the owner \
                             (`<FunctionName>-owner-<owner>`): use letters, digits, `-` and `_`, \
                             at most 80",
                    ),
                );
            }
        }
        Owner {
            name: name.get_ref().clone(),
            slack_channel: raw.slack_channel,
            email: raw.email,
            slack_workspace_id: workspace.filter(|_| channel.is_some()),
            slack_channel_id: channel.filter(|_| raw.slack_workspace_id.is_some()),
            sns_topic_arn: topic,
        }
    }

    fn add_renotify_after(&mut self, source: &SourceFile, text: &Spanned<String>) {
        let Some(duration) = parse_duration(text.get_ref()) else {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::invalid-duration",
                    format!("`{}` is not a duration", text.get_ref()),
                    source,
                    text.span(),
                )
                .with_help(
                    "write a whole number and a unit, `s`, `m`, `h` or `d`: `24h`, `90m`, `7d`",
                ),
            );
            return;
        };
        if !(MIN_RENOTIFY_AFTER..=MAX_RENOTIFY_AFTER).contains(&duration) {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::renotify-out-of-range",
                    format!("renotify_after `{}` is out of range", text.get_ref()),
                    source,
                    text.span(),
                )
                .with_help("choose from `1m` to `365d`; the default is `24h`"),
            );
            return;
        }
        if let Some((first_source, first_span)) = &self.renotify_after_origin {
            if self.set.renotify_after_override != Some(duration) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::renotify-conflict",
                        "two policy files set different `renotify_after`",
                        source,
                        text.span(),
                    )
                    .with_related(first_source, first_span.clone(), "the other setting")
                    .with_help("set `renotify_after` in one file only"),
                );
            }
        }
        lint::check_renotify_after(source, text, duration, &mut self.diagnostics);
        self.set.renotify_after_override = Some(duration);
        self.renotify_after_origin = Some((source.clone(), text.span()));
    }

    fn add_tag(&mut self, source: &SourceFile, key: Spanned<String>, raw: super::raw::TagSpecRaw) {
        let name = key.get_ref().clone();
        if let Some((first_source, first_span)) = self.tag_origins.get(&name) {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::duplicate-tag",
                    format!("tag `{name}` is defined twice"),
                    source,
                    key.span(),
                )
                .with_related(first_source, first_span.clone(), "first definition")
                .with_help("keep one definition of each tag"),
            );
            return;
        }
        self.tag_origins
            .insert(name.clone(), (source.clone(), key.span()));
        let pattern_text = raw.pattern.as_ref().map(|p| p.get_ref().clone());
        let pattern = raw.pattern.as_ref().and_then(|pattern| {
            let regex = self.regex(source, pattern, true)?;
            lint::check_pattern(
                source,
                pattern,
                PatternUse::TagValue { key: &name },
                &mut self.diagnostics,
            );
            Some(regex)
        });
        let list_separator = raw.list.as_ref().and_then(|separator| {
            if separator.get_ref().is_empty() {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::empty-separator",
                        "a list separator cannot be empty",
                        source,
                        separator.span(),
                    )
                    .with_help("use `list = \",\"` for comma lists"),
                );
                None
            } else {
                Some(separator.get_ref().clone())
            }
        });
        let values = raw.values.as_ref().map(|values| {
            let mut seen = BTreeSet::new();
            for value in values {
                if !seen.insert(value.get_ref().to_lowercase()) {
                    self.diagnostics.push(Diagnostic::error(
                        "policy::duplicate-value",
                        format!(
                            "`{}` is listed twice (values compare without case)",
                            value.get_ref()
                        ),
                        source,
                        value.span(),
                    ));
                }
            }
            values
                .iter()
                .map(|v| v.get_ref().clone())
                .collect::<Vec<_>>()
        });
        if let (Some(values), Some(pattern)) = (&values, &pattern) {
            for (value, raw_value) in values.iter().zip(raw.values.iter().flatten()) {
                if !pattern.is_match(value) {
                    self.diagnostics.push(Diagnostic::error(
                        "policy::value-outside-pattern",
                        format!("allowed value `{value}` does not match the tag's own pattern"),
                        source,
                        raw_value.span(),
                    ));
                }
            }
        }
        let ranked = self.ranked(source, &name, raw.ranked.as_ref(), raw.values.is_some());
        self.set.tags.push(TagSpec {
            key: name,
            description: raw.description,
            values,
            pattern,
            pattern_text,
            list_separator,
            case_fix: raw.case_fix,
            restore: raw.restore,
            ranked,
            origin: origin(source, key.span().start),
        });
    }

    /// Whether the tag `name` is the ranked one: `ranked = true` needs `values` (the ranking is
    /// their order) and is allowed on one tag only.
    fn ranked(
        &mut self,
        source: &SourceFile,
        name: &str,
        ranked: Option<&Spanned<bool>>,
        has_values: bool,
    ) -> bool {
        let Some(ranked) = ranked.filter(|ranked| *ranked.get_ref()) else {
            return false;
        };
        if !has_values {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::ranked-without-values",
                    format!("tag `{name}` is ranked but has no `values` to rank"),
                    source,
                    ranked.span(),
                )
                .with_help(
                    "list the values from the lowest class to the highest, e.g. `values = \
                     [\"Public\", \"Internal\", \"Confidential\", \"Restricted\"]`",
                ),
            );
            return false;
        }
        if let Some((first_source, first_span)) = &self.ranked_origin {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::ranked-conflict",
                    format!("tag `{name}` is ranked, and so is another tag"),
                    source,
                    ranked.span(),
                )
                .with_related(first_source, first_span.clone(), "the other ranked tag")
                .with_help("rank one tag only: the classification"),
            );
            return false;
        }
        self.ranked_origin = Some((source.clone(), ranked.span()));
        true
    }

    /// One `[macie]` table, once the vocabulary is known: each class must be a value of the
    /// ranked tag (an error), each category one Macie reports (a warning: Macie may add one).
    fn add_macie(&mut self, source: &SourceFile, raw: MacieRaw) {
        let table_start = raw
            .minimum_class
            .keys()
            .map(|category| category.span().start)
            .min()
            .unwrap_or(0);
        if let Some(first) = &self.set.macie {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::macie-conflict",
                    "`[macie]` is written in two policy files",
                    source,
                    table_start..table_start,
                )
                .with_help(format!(
                    "keep one `[macie]` table (the other is at {})",
                    first.origin
                )),
            );
            return;
        }
        let classes: Vec<String> = self
            .set
            .ranked_tag()
            .and_then(|tag| tag.values.clone())
            .unwrap_or_default();
        let ranked_key = self.set.ranked_tag().map(|tag| tag.key.clone());
        let mut minimum_class = BTreeMap::new();
        for (category, class) in raw.minimum_class {
            if !crate::event::MACIE_CATEGORIES.contains(&category.get_ref().as_str()) {
                self.diagnostics.push(
                    Diagnostic::warning(
                        "policy::unknown-macie-category",
                        format!("`{}` is not a category Macie reports", category.get_ref()),
                        source,
                        category.span(),
                    )
                    .with_help(suggest(
                        category.get_ref(),
                        crate::event::MACIE_CATEGORIES,
                        "one of PERSONAL_INFORMATION, FINANCIAL_INFORMATION, CREDENTIALS, \
                         CUSTOM_IDENTIFIER",
                    )),
                );
            }
            let Some(key) = &ranked_key else {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::no-ranked-tag",
                        format!("`{}` names a class, but no tag is ranked", class.get_ref()),
                        source,
                        class.span(),
                    )
                    .with_help(
                        "add `ranked = true` to the classification tag (e.g. \
                         `[tags.DataClassification]`), whose `values` list the classes from the \
                         lowest to the highest",
                    ),
                );
                continue;
            };
            if !classes.contains(class.get_ref()) {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::invalid-value",
                        format!(
                            "`{}` is not a value of the ranked tag `{key}`",
                            class.get_ref()
                        ),
                        source,
                        class.span(),
                    )
                    .with_help(suggest(
                        class.get_ref(),
                        classes.iter().map(String::as_str),
                        &format!("one of {}", classes.join(", ")),
                    )),
                );
                continue;
            }
            minimum_class.insert(category.get_ref().clone(), class.get_ref().clone());
        }
        self.set.macie = Some(MaciePolicy {
            minimum_class,
            origin: origin(source, table_start),
        });
    }

    /// Finishes: compiles rules against the full vocabulary, then runs the checks that look at
    /// the whole set (owners, overrides, rules that conflict, unused vocabulary).
    pub fn finish(mut self) -> (PolicySet, Vec<Diagnostic>) {
        let pending = std::mem::take(&mut self.pending_rules);
        let total = pending.len();
        for (number, (source, raw)) in pending.into_iter().enumerate() {
            if number == MAX_RULES {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::too-many-rules",
                        format!(
                            "the policy set has {total} rules, more than {MAX_RULES} (the limit, \
                             MAX_RULES): this rule and the {} after it are not compiled",
                            total - MAX_RULES - 1
                        ),
                        &source,
                        raw.name.span(),
                    )
                    .with_help(
                        "merge rules that select the same resources; a rule can require, set and \
                         default several tags at once",
                    ),
                );
                break;
            }
            self.add_rule(&source, raw);
        }
        for (source, class, raw) in std::mem::take(&mut self.pending_classifications) {
            self.add_classification(&source, &class, raw);
        }
        // One classification: the tag whose values Macie's evidence ranks (`ranked = true`) is
        // the one whose classes oblige (`[policy] classification_tag`).
        if let (Some(ranked), Some((source, span))) = (self.set.ranked_tag(), &self.ranked_origin) {
            let classification = self.set.classification_tag();
            if ranked.key != classification {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::ranked-not-classification",
                        format!(
                            "tag `{}` is ranked, but the classification tag is `{classification}`",
                            ranked.key
                        ),
                        source,
                        span.clone(),
                    )
                    .with_help(format!(
                        "rank the classification tag, or name `{}` with `[policy] \
                         classification_tag`: the classes Macie's evidence ranks are the ones \
                         that oblige",
                        ranked.key
                    )),
                );
            }
        }
        let opt_out_tag = &self.set.exemption_settings.tag;
        if let Some((tag_source, span)) = self.tag_origins.get(opt_out_tag) {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::exemption-tag-in-vocabulary",
                    format!("`{opt_out_tag}` is the opt-out tag: it cannot be in the vocabulary"),
                    tag_source,
                    span.clone(),
                )
                .with_help(
                    "the opt-out tag is written by people, never set or defaulted by a rule: \
                     remove it from `[tags]`",
                ),
            );
        }
        for (source, owner) in std::mem::take(&mut self.pending_owner_refs) {
            lint::check_owner(&self.set, &source, &owner, &mut self.diagnostics);
        }
        for (source, macie) in std::mem::take(&mut self.pending_macie) {
            self.add_macie(&source, macie);
        }
        lint::check_set(
            &self.set,
            &self.rule_sites,
            &self.tag_origins,
            &mut self.diagnostics,
        );
        (self.set, self.diagnostics)
    }

    fn add_rule(&mut self, source: &SourceFile, raw: RuleRaw) {
        let name = raw.name.get_ref().clone();
        if let Some((first_source, first_span)) = self.rule_origins.get(&name) {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::duplicate-rule",
                    format!("rule `{name}` is defined twice"),
                    source,
                    raw.name.span(),
                )
                .with_related(first_source, first_span.clone(), "first definition")
                .with_help("rule names appear in every violation; give each rule its own"),
            );
        } else {
            self.rule_origins
                .insert(name.clone(), (source.clone(), raw.name.span()));
        }
        let resource_types = raw.resource_types.as_ref().and_then(|types| {
            if types.iter().any(|t| t.get_ref() == "*") {
                return None;
            }
            for kind in types {
                self.check_resource_type(source, kind);
            }
            Some(types.iter().map(|t| t.get_ref().clone()).collect())
        });
        let mut names: Vec<Regex> = Vec::new();
        let mut name_languages = Vec::new();
        for pattern in raw.names.iter().flatten() {
            if let Some(regex) = self.regex(source, pattern, false) {
                names.push(regex);
                name_languages.push(lint::check_pattern(
                    source,
                    pattern,
                    PatternUse::Name { rule: &name },
                    &mut self.diagnostics,
                ));
            }
        }
        let capture_names: BTreeSet<String> = names
            .iter()
            .flat_map(|regex| regex.capture_names().flatten().map(str::to_owned))
            .collect();
        let when_tags = raw
            .when_tags
            .iter()
            .filter_map(|(key, pattern)| {
                self.check_tag_key(source, key);
                Some((key.get_ref().clone(), self.regex(source, pattern, true)?))
            })
            .collect();
        for key in raw.require.iter().chain(&raw.recommend) {
            self.check_tag_key(source, key);
        }
        let set = self.rule_values(source, &raw.set, &capture_names, ValueSection::Set);
        let default = self.rule_values(source, &raw.default, &capture_names, ValueSection::Default);
        for set_value in &set {
            if let Some(default_value) = default.iter().find(|d| d.key == set_value.key) {
                if default_value.value != set_value.value {
                    if let Some((key, _)) = raw.default.get_key_value(set_value.key.as_str()) {
                        self.diagnostics.push(Diagnostic::error(
                            "policy::default-contradicts-set",
                            format!(
                                "rule `{name}` sets `{}` to `{}` but defaults it to `{}`",
                                set_value.key, set_value.value.text, default_value.value.text
                            ),
                            source,
                            key.span(),
                        ).with_help("a rule either knows a value (`set`) or suggests one (`default`), not both"));
                    }
                }
            }
        }
        let allow = raw
            .allow
            .iter()
            .map(|(key, values)| {
                self.check_tag_key(source, key);
                for value in values {
                    self.check_value(source, key.get_ref(), value);
                }
                (
                    key.get_ref().clone(),
                    values.iter().map(|v| v.get_ref().clone()).collect(),
                )
            })
            .collect::<Vec<(String, Vec<String>)>>();
        for (section, values, raw_values) in [
            ("sets", &set, &raw.set),
            ("defaults", &default, &raw.default),
        ] {
            for value in values {
                let Some((_, allowed)) = allow.iter().find(|(key, _)| *key == value.key) else {
                    continue;
                };
                let valid = self
                    .set
                    .tag(&value.key)
                    .is_none_or(|spec| spec.check(&value.value.text) == ValueCheck::Valid);
                if !value.value.is_literal() || !valid || allowed.contains(&value.value.text) {
                    continue;
                }
                if let Some((_, written)) = raw_values.get_key_value(value.key.as_str()) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "policy::value-not-allowed-by-rule",
                            format!(
                                "rule `{name}` {section} `{}` to `{}`, which its own `allow` excludes",
                                value.key, value.value.text
                            ),
                            source,
                            written.span(),
                        )
                        .with_help(format!(
                            "add `{}` to `allow.{}`, or change the value",
                            value.value.text, value.key
                        )),
                    );
                }
            }
        }
        let action = self.unfixable_action(source, raw.action.as_ref());
        self.set.rules.push(Rule {
            name,
            description: raw.description.clone(),
            resource_types,
            names,
            when_tags,
            overrides: raw.overrides.iter().map(|o| o.get_ref().clone()).collect(),
            require: raw.require.iter().map(|k| k.get_ref().clone()).collect(),
            recommend: raw.recommend.iter().map(|k| k.get_ref().clone()).collect(),
            set,
            default,
            allow,
            action,
            origin: origin(source, raw.name.span().start),
        });
        let names = raw
            .names
            .as_ref()
            .filter(|patterns| !patterns.is_empty())
            .map(|_| name_languages);
        self.rule_sites
            .push(RuleSite::new(source.clone(), raw, names));
    }

    /// One `[classification.<Class>]`: the class must be a value of the classification tag,
    /// each obligation well formed.
    fn add_classification(
        &mut self,
        source: &SourceFile,
        class: &Spanned<String>,
        raw: ClassificationRaw,
    ) {
        let name = class.get_ref();
        let tag = self.set.classification_tag().to_owned();
        let values = self.set.tag(&tag).and_then(|spec| spec.values.clone());
        match &values {
            None => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::classification-without-vocabulary",
                        format!(
                            "`[classification.{name}]` needs the classification tag `{tag}` in \
                             the vocabulary, with a closed list of `values`"
                        ),
                        source,
                        class.span(),
                    )
                    .with_help(format!(
                        "add `[tags.{tag}]` with `values = [\"{name}\", …]`, or name the \
                         classification tag with `[policy] classification_tag`"
                    )),
                );
                return;
            }
            Some(values) if !values.contains(name) => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::unknown-class",
                        format!("`{name}` is not a value of the classification tag `{tag}`"),
                        source,
                        class.span(),
                    )
                    .with_help(suggest(
                        name,
                        values.iter().map(String::as_str),
                        &format!("one of {}", values.join(", ")),
                    )),
                );
                return;
            }
            Some(_) => {}
        }
        if self.set.classification(name).is_some() {
            self.diagnostics.push(
                Diagnostic::error(
                    "policy::duplicate-class",
                    format!("`[classification.{name}]` is defined twice"),
                    source,
                    class.span(),
                )
                .with_help("state each class's obligations in one table"),
            );
            return;
        }
        let public_access = raw.public_access.as_ref().and_then(|text| {
            let parsed = PublicAccess::parse(text.get_ref());
            if parsed.is_none() {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::invalid-public-access",
                        format!("`{}` is not a public access setting", text.get_ref()),
                        source,
                        text.span(),
                    )
                    .with_help(suggest(
                        text.get_ref(),
                        ["deny", "allow"],
                        "`deny` or `allow`",
                    )),
                );
            }
            parsed
        });
        let allowed_regions = raw.allowed_regions.as_ref().map(|regions| {
            if regions.is_empty() {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::empty-regions",
                        format!("`allowed_regions` of `{name}` is empty: no resource could exist"),
                        source,
                        class.span(),
                    )
                    .with_help("list the regions, e.g. `[\"eu-west-1\"]`, or leave the key out"),
                );
            }
            let mut valid = Vec::new();
            for region in regions {
                if !is_region_name(region.get_ref()) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "policy::invalid-region",
                            format!("`{}` is not an AWS region name", region.get_ref()),
                            source,
                            region.span(),
                        )
                        .with_help("write a region code such as `eu-west-1` or `us-gov-west-1`"),
                    );
                } else if !valid.contains(region.get_ref()) {
                    valid.push(region.get_ref().clone());
                }
            }
            valid
        });
        let action = self.unfixable_action(source, raw.action.as_ref());
        let obligations = ClassObligations {
            class: name.clone(),
            encrypted_at_rest: raw.encrypted_at_rest,
            public_access,
            allowed_regions,
        };
        if obligations.stated().is_empty() {
            self.diagnostics.push(
                Diagnostic::warning(
                    "policy::classification-without-obligations",
                    format!("`[classification.{name}]` states no obligation: it checks nothing"),
                    source,
                    class.span(),
                )
                .with_help(
                    "add `encrypted_at_rest`, `public_access` or `allowed_regions`, or remove the table",
                ),
            );
        }
        self.set.classifications.push(Classification {
            obligations,
            description: raw.description,
            action,
            origin: origin(source, class.span().start),
        });
    }

    /// The action written (`alert` or `quarantine`; `alert` when absent or wrong, a wrong one
    /// reported).
    fn unfixable_action(
        &mut self,
        source: &SourceFile,
        action: Option<&Spanned<String>>,
    ) -> UnfixableAction {
        let Some(action) = action else {
            return UnfixableAction::Alert;
        };
        match action.get_ref().as_str() {
            "alert" => UnfixableAction::Alert,
            "quarantine" => UnfixableAction::Quarantine,
            other => {
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::invalid-action",
                        format!("`{other}` is not an action"),
                        source,
                        action.span(),
                    )
                    .with_help(suggest(
                        other,
                        ["alert", "quarantine"],
                        "`alert` or `quarantine`",
                    )),
                );
                UnfixableAction::Alert
            }
        }
    }

    fn rule_values(
        &mut self,
        source: &SourceFile,
        values: &BTreeMap<Spanned<String>, Spanned<String>>,
        capture_names: &BTreeSet<String>,
        section: ValueSection,
    ) -> Vec<RuleValue> {
        let mut out = Vec::new();
        for (key, value) in values {
            self.check_tag_key(source, key);
            let template = ValueTemplate {
                text: value.get_ref().clone(),
            };
            if template.uses_creator() {
                self.check_creator_value(source, key, value, section);
            }
            if template.is_literal() {
                self.check_value(source, key.get_ref(), value);
            } else {
                for capture in template.captures() {
                    if !capture_names.contains(capture) {
                        self.diagnostics.push(
                            Diagnostic::error(
                                "policy::unknown-capture",
                                format!("`${{{capture}}}` names no capture group of the rule's `names` patterns"),
                                source,
                                value.span(),
                            )
                            .with_help(match capture_names.is_empty() {
                                true if capture == "creator" => "the creator's name is `{creator}`, without `$`".to_owned(),
                                true => "add a named group such as `(?P<env>dev|prod)` to a `names` pattern".to_owned(),
                                false if capture == "creator" => format!("the groups are: {}; the creator's name is `{{creator}}`, without `$`", capture_names.iter().cloned().collect::<Vec<_>>().join(", ")),
                                false => format!("the groups are: {}", capture_names.iter().cloned().collect::<Vec<_>>().join(", ")),
                            }),
                        );
                    }
                }
            }
            out.push(RuleValue {
                key: key.get_ref().clone(),
                value: template,
                origin: origin(source, key.span().start),
            });
        }
        out
    }

    /// `{creator}` may only default a tag: a `set` value is known with certainty, and a
    /// creator's name is not (the creator may be a role, or a service names nobody); and it never
    /// names the owner, which is a team of `[owners]` (route by creator with `[creators]`).
    fn check_creator_value(
        &mut self,
        source: &SourceFile,
        key: &Spanned<String>,
        value: &Spanned<String>,
        section: ValueSection,
    ) {
        let problem = if section == ValueSection::Set {
            Some((
                "policy::creator-in-set",
                format!("`set.{}` uses `{{creator}}`", key.get_ref()),
                "move it to `default`: a `set` value is known with certainty and a different \
                 value is a conflict, but the creator is only who made the call (a role, when \
                 nothing names a person); `default` adds it when the tag is absent and never \
                 disputes a person's value"
                    .to_owned(),
            ))
        } else if key.get_ref() == self.set.owner_tag() {
            Some((
                "policy::creator-as-owner",
                format!(
                    "`default.{}` uses `{{creator}}`, but {} names an owner of `[owners]`",
                    key.get_ref(),
                    key.get_ref()
                ),
                "route the alerts about what a creator makes with `[creators.\"<name>\"] owner = \
                 \"<owner>\"`, and keep the creator in a tag of its own (`CreatedBy`)"
                    .to_owned(),
            ))
        } else {
            None
        };
        if let Some((code, message, help)) = problem {
            self.diagnostics
                .push(Diagnostic::error(code, message, source, value.span()).with_help(help));
        }
    }

    fn check_tag_key(&mut self, source: &SourceFile, key: &Spanned<String>) {
        if self.set.tag(key.get_ref()).is_some() {
            return;
        }
        let keys: Vec<String> = self.set.tags.iter().map(|t| t.key.clone()).collect();
        self.diagnostics.push(
            Diagnostic::error(
                "policy::unknown-tag",
                format!("tag `{}` is not in the vocabulary", key.get_ref()),
                source,
                key.span(),
            )
            .with_help(suggest(
                key.get_ref(),
                keys.iter().map(String::as_str),
                &format!("define it in a `[tags.{}]` table", key.get_ref()),
            )),
        );
    }

    fn check_value(&mut self, source: &SourceFile, key: &str, value: &Spanned<String>) {
        let Some(spec) = self.set.tag(key) else {
            return;
        };
        let problem = match spec.check(value.get_ref()) {
            ValueCheck::Valid => return,
            ValueCheck::WrongCase(fixed) => (
                format!(
                    "invalid value for `{key}`: the vocabulary spells `{}` as `{fixed}`",
                    value.get_ref()
                ),
                format!("did you mean `{fixed}`?"),
            ),
            ValueCheck::Invalid(reason) => {
                let help = spec
                    .values
                    .as_ref()
                    .and_then(|values| {
                        did_you_mean(value.get_ref(), values.iter().map(String::as_str))
                    })
                    .map_or_else(
                        || {
                            format!(
                                "use an allowed value, or change `[tags.{key}]` ({})",
                                spec.origin
                            )
                        },
                        |suggestion| format!("did you mean `{suggestion}`?"),
                    );
                (format!("invalid value for `{key}`: {reason}"), help)
            }
        };
        self.diagnostics.push(
            Diagnostic::error("policy::invalid-value", problem.0, source, value.span())
                .with_help(problem.1),
        );
    }

    fn check_resource_type(&mut self, source: &SourceFile, kind: &Spanned<String>) {
        let text = kind.get_ref();
        if self.known_types.contains(&text.as_str()) {
            return;
        }
        self.diagnostics.push(
            Diagnostic::error(
                "policy::unknown-resource-type",
                format!("`{text}` is not a resource type the enforcer knows"),
                source,
                kind.span(),
            )
            .with_help(suggest(
                text,
                self.known_types.iter().copied(),
                "types use the Resource Groups Tagging API's names, e.g. `s3:bucket`; `enforcer events list` shows them",
            )),
        );
    }

    /// Compiles a regex, anchored at both ends when `anchored`.
    fn regex(
        &mut self,
        source: &SourceFile,
        pattern: &Spanned<String>,
        anchored: bool,
    ) -> Option<Regex> {
        let text = if anchored {
            format!("^(?:{})$", pattern.get_ref())
        } else {
            pattern.get_ref().clone()
        };
        match Regex::new(&text) {
            Ok(regex) => Some(regex),
            Err(error) => {
                let detail = error.to_string();
                let last = detail
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or(&detail);
                self.diagnostics.push(
                    Diagnostic::error(
                        "policy::invalid-regex",
                        format!("invalid regex `{}`: {}", pattern.get_ref(), last.trim()),
                        source,
                        pattern.span(),
                    )
                    .with_help("patterns use Rust regex syntax: https://docs.rs/regex/#syntax"),
                );
                None
            }
        }
    }
}

pub(super) fn origin(source: &SourceFile, offset: usize) -> Origin {
    Origin {
        file: source.path.clone(),
        line: source.line_column(offset).0,
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`": the closest expected field.
fn unknown_field_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, name)| name)
        .collect();
    did_you_mean(field, candidates.iter().copied()).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::super::model::parse_duration;
    use super::super::{compile_sources, DEFAULT_RENOTIFY_AFTER};
    use super::*;

    fn compile(files: &[(&str, &str)]) -> (PolicySet, Vec<(&'static str, String)>) {
        let sources: Vec<SourceFile> = files
            .iter()
            .map(|(path, text)| SourceFile {
                path: (*path).to_owned(),
                text: Arc::new((*text).to_owned()),
            })
            .collect();
        let (set, diagnostics) = compile_sources(&sources, &[]);
        let codes = diagnostics
            .into_iter()
            .map(|d| (d.code, d.message))
            .collect();
        (set, codes)
    }

    #[test]
    fn durations_are_a_whole_number_and_a_unit() {
        for (text, seconds) in [("90s", 90), ("1m", 60), ("24h", 86_400), ("7d", 604_800)] {
            assert_eq!(
                parse_duration(text),
                Some(Duration::from_secs(seconds)),
                "{text}"
            );
        }
        for text in [
            "",
            "h",
            "24",
            "1.5h",
            "-1h",
            "24H",
            "24 h",
            "1w",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(text), None, "{text}");
        }
    }

    #[test]
    fn renotify_after_defaults_to_a_day_and_is_read_from_the_header() {
        let (set, codes) = compile(&[("a.toml", "[policy]\nname = \"x\"\n")]);
        assert_eq!(
            (set.renotify_after(), codes),
            (DEFAULT_RENOTIFY_AFTER, vec![])
        );
        let (set, codes) = compile(&[("a.toml", "[policy]\nrenotify_after = \"12h\"\n")]);
        assert_eq!(set.renotify_after(), Duration::from_secs(12 * 3600));
        assert_eq!(codes, vec![]);
    }

    #[test]
    fn renotify_after_is_validated() {
        let cases = [
            ("\"1 day\"", "policy::invalid-duration"),
            ("\"30s\"", "policy::renotify-out-of-range"),
            ("\"366d\"", "policy::renotify-out-of-range"),
            ("\"30m\"", "policy::noisy-renotify"),
            ("24", "policy::wrong-type"),
        ];
        for (value, code) in cases {
            let (_, codes) =
                compile(&[("a.toml", &format!("[policy]\nrenotify_after = {value}\n"))]);
            assert_eq!(
                codes.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
                [code],
                "{value}: {codes:?}"
            );
        }
        let (set, codes) = compile(&[
            ("a.toml", "[policy]\nrenotify_after = \"24h\"\n"),
            ("b.toml", "[policy]\nrenotify_after = \"2d\"\n"),
        ]);
        assert_eq!(codes.len(), 1, "{codes:?}");
        assert_eq!(codes[0].0, "policy::renotify-conflict");
        assert_eq!(set.renotify_after(), Duration::from_secs(2 * 86_400));
        // The same value twice is no conflict.
        let (_, codes) = compile(&[
            ("a.toml", "[policy]\nrenotify_after = \"24h\"\n"),
            ("b.toml", "[policy]\nrenotify_after = \"1d\"\n"),
        ]);
        assert_eq!(codes, vec![]);
    }

    const RANKED: &str = "[tags.DataClassification]\nvalues = [\"Public\", \"Internal\", \
                          \"Confidential\", \"Restricted\"]\nranked = true\n";

    /// The codes, without the unused-tag warnings of these rule-less files.
    fn codes_of(codes: &[(&'static str, String)]) -> Vec<&'static str> {
        codes
            .iter()
            .map(|(code, _)| *code)
            .filter(|code| *code != "policy::unused-tag")
            .collect()
    }

    #[test]
    fn the_macie_table_maps_categories_to_ranked_classes() {
        let (set, codes) = compile(&[(
            "a.toml",
            &format!(
                "{RANKED}[macie]\nminimum_class = {{ PERSONAL_INFORMATION = \"Confidential\", \
                 CREDENTIALS = \"Restricted\" }}\n"
            ),
        )]);
        assert_eq!(codes_of(&codes), Vec::<&str>::new());
        let macie = set.macie.as_ref().unwrap();
        assert_eq!(macie.minimum_class["CREDENTIALS"], "Restricted");
        assert_eq!(macie.origin.line, 5);
        assert_eq!(
            set.ranked_tag().map(|t| t.key.as_str()),
            Some("DataClassification")
        );
        assert!(set.rank("Public") < set.rank("Restricted"));
        assert_eq!(set.rank("confidential"), None);
    }

    #[test]
    fn an_unknown_class_is_an_error_and_an_unknown_category_a_warning() {
        let (set, codes) = compile(&[(
            "a.toml",
            &format!(
                "{RANKED}[macie]\nminimum_class = {{ PERSONAL_INFORMATON = \"Confidential\", \
                 CREDENTIALS = \"Secret\" }}\n"
            ),
        )]);
        let mut found = codes_of(&codes);
        found.sort_unstable();
        assert_eq!(
            found,
            ["policy::invalid-value", "policy::unknown-macie-category"]
        );
        assert!(
            codes
                .iter()
                .any(|(_, message)| message.contains("`Secret`")),
            "{codes:?}"
        );
        // The category is kept (Macie may report one this version does not know); the bad class
        // is not.
        let macie = set.macie.unwrap();
        assert!(macie.minimum_class.contains_key("PERSONAL_INFORMATON"));
        assert!(!macie.minimum_class.contains_key("CREDENTIALS"));
    }

    #[test]
    fn the_ranked_tag_is_the_classification_tag() {
        let (_, codes) = compile(&[(
            "a.toml",
            "[tags.Tier]\nvalues = [\"low\", \"high\"]\nranked = true\n",
        )]);
        assert_eq!(codes_of(&codes), ["policy::ranked-not-classification"]);
        let (_, codes) = compile(&[(
            "a.toml",
            "[policy]\nclassification_tag = \"Tier\"\n[tags.Tier]\nvalues = [\"low\", \"high\"]\nranked = true\n",
        )]);
        assert_eq!(codes_of(&codes), Vec::<&str>::new());
    }

    #[test]
    fn the_ranking_needs_one_tag_with_values() {
        let (_, codes) = compile(&[(
            "a.toml",
            "[tags.DataClassification]\nvalues = [\"Public\"]\n[macie]\n\
             minimum_class = { CREDENTIALS = \"Public\" }\n",
        )]);
        assert_eq!(codes_of(&codes), ["policy::no-ranked-tag"]);
        let (_, codes) = compile(&[("a.toml", "[tags.Tier]\npattern = '[a-z]+'\nranked = true\n")]);
        assert_eq!(codes_of(&codes), ["policy::ranked-without-values"]);
        let (set, codes) = compile(&[
            ("a.toml", RANKED),
            (
                "b.toml",
                "[tags.Tier]\nvalues = [\"low\", \"high\"]\nranked = true\n",
            ),
        ]);
        assert_eq!(codes_of(&codes), ["policy::ranked-conflict"]);
        assert_eq!(
            set.ranked_tag().map(|t| t.key.as_str()),
            Some("DataClassification")
        );
        let (_, codes) = compile(&[
            ("a.toml", &format!("{RANKED}[macie]\n")),
            ("b.toml", "[macie]\n"),
        ]);
        assert_eq!(codes_of(&codes), ["policy::macie-conflict"]);
    }

    #[test]
    fn exemptions_compile_with_their_settings() {
        let (set, codes) = compile(&[(
            "a.toml",
            "[[exemption]]\nprincipal = 'arn:aws:iam::*:role/deploy-*'\narn = '^arn:aws:s3:::x'\nreason = \"r\"\n\
             [exemptions]\ntag = \"acme:optout\"\nrequire = [\"by\", \"reason\"]\nmax_days = 90\nremind_days = 7\n\
             approvers = ['arn:aws:iam::111122223333:role/Gov']\nhow_to_request = \"ask Gov\"\n",
        )]);
        assert_eq!(codes, vec![]);
        let exemption = &set.exemptions[0];
        assert!(exemption.has_principal());
        assert!(exemption.applies("arn:aws:s3:::x1", &["arn:aws:iam::1:role/deploy-a"]));
        assert!(!exemption.applies("arn:aws:s3:::y", &["arn:aws:iam::1:role/deploy-a"]));
        assert!(
            !exemption.applies("arn:aws:s3:::x1", &[]),
            "a scan has no caller"
        );
        let settings = &set.exemption_settings;
        assert_eq!(settings.tag, "acme:optout");
        assert_eq!(
            settings.require,
            [OptOutField::Until, OptOutField::Reason, OptOutField::By]
        );
        assert_eq!(
            (settings.max_days, settings.remind_days),
            (Some(90), Some(7))
        );
        assert_eq!(settings.approvers.len(), 1);
        assert_eq!(settings.how_to_request.as_deref(), Some("ask Gov"));
        // The defaults.
        let (set, _) = compile(&[("a.toml", "[policy]\nname = \"x\"\n")]);
        assert_eq!(set.exemption_settings.tag, "enforcer:exempt");
        assert_eq!(set.exemption_settings.require, [OptOutField::Until]);
    }

    #[test]
    fn exemption_mistakes_are_diagnosed_where_they_are_written() {
        let cases = [
            (
                "[[exemption]]\nprincipal = 'deploy-*'\nreason = \"r\"\n",
                "policy::invalid-principal-pattern",
                "'deploy-*'",
            ),
            (
                "[[exemption]]\nprincipal = 'arn:aws:iam::*:role/*'\nreason = \"r\"\n",
                "policy::invalid-principal-pattern",
                "'arn:aws:iam::*:role/*'",
            ),
            (
                "[[exemption]]\nreason = \"nothing\"\n",
                "policy::empty-exemption",
                "\"nothing\"",
            ),
            (
                "[exemptions]\nrequire = [\"untill\"]\n",
                "policy::unknown-exemption-field",
                "\"untill\"",
            ),
            (
                "[exemptions]\napprovers = ['arn:aws:s3:::bucket']\n",
                "policy::invalid-principal-pattern",
                "'arn:aws:s3:::bucket'",
            ),
            (
                "[exemptions]\ntag = \"\"\n",
                "policy::empty-exemption-tag",
                "\"\"",
            ),
            ("[exemptions]\nmax_days = 0\n", "policy::out-of-range", "0"),
            (
                "[exemptions]\nmax_days = 7\nremind_days = 7\n",
                "policy::reminder-before-start",
                "7",
            ),
            (
                "[tags.\"enforcer:exempt\"]\npattern = '.+'\n",
                "policy::exemption-tag-in-vocabulary",
                "\"enforcer:exempt\"",
            ),
        ];
        for (text, code, at) in cases {
            let source = SourceFile {
                path: "a.toml".to_owned(),
                text: Arc::new(text.to_owned()),
            };
            let (_, diagnostics) = compile_sources(&[source], &[]);
            let found = diagnostics.iter().find(|d| d.code == code);
            let Some(found) = found else {
                panic!("{text}: expected {code}, got {diagnostics:?}")
            };
            let span = found
                .span
                .clone()
                .unwrap_or_else(|| panic!("{code} has no span"));
            assert_eq!(&text[span], at, "{code}");
        }
        assert_eq!(
            crate::act::aws::REMOVABLE_TAG_KEYS,
            format!("{QUARANTINE_RECORD_PREFIX}*"),
            "the reserved prefix is the keys the enforcer removes"
        );
        let (_, codes) = compile(&[
            ("a.toml", "[exemptions]\nmax_days = 30\n"),
            ("b.toml", "[exemptions]\nmax_days = 60\n"),
        ]);
        assert_eq!(
            codes.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            ["policy::exemptions-conflict"]
        );
    }
}
