//! What a replay found: counts gathered while records stream past, ranked at the end.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;

use super::time::{date_of, rfc3339};
use crate::engine::{Decision, Outcome, ResourceDecision};
use crate::event::DecodeError;
use crate::policy::{Level, PolicySet};

/// How many error entries of each kind are kept (all are counted).
pub(crate) const KEPT_ERRORS: usize = 1000;
/// How many resources and principals the summary ranks.
pub(crate) const TOP: usize = 100;

/// Whom the summary counts a violation against: the owner the resource's tags name under the
/// policy's `owner_tag` ([`crate::alert::tagged_owner`], the lookup alerts route by), else the
/// policy's default owner, else [`UNOWNED`](super::UNOWNED).
#[derive(Debug, Clone)]
pub(crate) struct OwnerCounting {
    owner_tag: String,
    fallback: String,
}

impl OwnerCounting {
    /// The owner tag and default owner of `policies`.
    pub(crate) fn new(policies: &PolicySet) -> Self {
        Self {
            owner_tag: policies.owner_tag().to_owned(),
            fallback: policies
                .default_owner
                .clone()
                .unwrap_or_else(|| super::UNOWNED.to_owned()),
        }
    }

    fn owner_of<'r>(&'r self, resource: &'r ResourceDecision) -> &'r str {
        crate::alert::tagged_owner(resource, &self.owner_tag).unwrap_or(&self.fallback)
    }
}

/// Running counts. Workers fill one each for the records they count themselves; the merged
/// total becomes a [`ReplaySummary`].
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    pub(crate) files: u64,
    pub(crate) bytes_read: u64,
    pub(crate) bytes_decoded: u64,
    pub(crate) records: u64,
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
    outcomes: [u64; 7],
    violations: u64,
    fixed_by_plan: u64,
    warnings: u64,
    by_rule: HashMap<String, u64>,
    by_owner: HashMap<String, u64>,
    by_service: HashMap<String, u64>,
    by_type: HashMap<String, u64>,
    by_account: HashMap<String, u64>,
    by_principal: HashMap<String, u64>,
    resources: HashMap<String, ResourceCount>,
    daily: BTreeMap<i64, BTreeMap<String, u64>>,
    unsupported: HashMap<Box<str>, HashMap<Box<str>, u64>>,
    decode_errors: Vec<ErrorEntry>,
    decode_errors_total: u64,
    unresolved: Vec<ErrorEntry>,
    unresolved_total: u64,
    pub(crate) late_records: u64,
}

fn slot(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Compliant => 0,
        Outcome::Remediate => 1,
        Outcome::Alert => 2,
        Outcome::Quarantine => 3,
        Outcome::Ignored => 4,
        Outcome::Unsupported => 5,
        Outcome::Error => 6,
    }
}

const OUTCOMES: [Outcome; 7] = [
    Outcome::Compliant,
    Outcome::Remediate,
    Outcome::Alert,
    Outcome::Quarantine,
    Outcome::Ignored,
    Outcome::Unsupported,
    Outcome::Error,
];

impl Accumulator {
    /// Notes a record's time for the time range.
    pub(crate) fn saw_time(&mut self, time: i64) {
        self.first = Some(self.first.map_or(time, |t| t.min(time)));
        self.last = Some(self.last.map_or(time, |t| t.max(time)));
    }

    /// Counts a record the fast path ignored.
    pub(crate) fn quick_ignored(&mut self) {
        self.outcomes[slot(Outcome::Ignored)] += 1;
    }

    /// Counts a call the fast path found outside the catalog.
    pub(crate) fn quick_unsupported(&mut self, source: &str, name: &str) {
        self.outcomes[slot(Outcome::Unsupported)] += 1;
        self.count_unsupported(source, name, 1);
    }

    fn count_unsupported(&mut self, source: &str, name: &str, count: u64) {
        let names = match self.unsupported.get_mut(source) {
            Some(names) => names,
            None => self.unsupported.entry(source.into()).or_default(),
        };
        match names.get_mut(name) {
            Some(n) => *n += count,
            None => {
                names.insert(name.into(), count);
            }
        }
    }

    /// Counts an input that could not be decoded.
    pub(crate) fn decode_error(&mut self, error: &DecodeError) {
        self.outcomes[slot(Outcome::Error)] += 1;
        self.decode_errors_total += 1;
        if self.decode_errors.len() < KEPT_ERRORS {
            self.decode_errors.push(ErrorEntry {
                location: error.location.to_string(),
                message: error.message.clone(),
            });
        }
    }

    /// Counts one decision. `decode_error` marks the decision made for an undecodable input;
    /// `time` is the record's, for the per-day counts; `owners` says whom each violation is
    /// counted against.
    pub(crate) fn decision(
        &mut self,
        decision: &Decision,
        time: Option<i64>,
        decode_error: bool,
        owners: &OwnerCounting,
    ) {
        self.outcomes[slot(decision.outcome)] += 1;
        match decision.outcome {
            Outcome::Unsupported => {
                self.count_unsupported(&decision.event_source, &decision.event_name, 1);
            }
            Outcome::Error => {
                let entry = ErrorEntry {
                    location: decision.location.clone().unwrap_or_default(),
                    message: decision.reason.clone().unwrap_or_default(),
                };
                let (list, total) = if decode_error {
                    (&mut self.decode_errors, &mut self.decode_errors_total)
                } else {
                    (&mut self.unresolved, &mut self.unresolved_total)
                };
                *total += 1;
                if list.len() < KEPT_ERRORS {
                    list.push(entry);
                }
            }
            _ => {}
        }
        let principal = decision.actor.as_deref().unwrap_or("(unknown)");
        for resource in &decision.resources {
            let mut errors = 0;
            for violation in &resource.violations {
                if violation.level == Level::Warning {
                    self.warnings += 1;
                    continue;
                }
                errors += 1;
                self.fixed_by_plan += u64::from(violation.fixed);
                bump(&mut self.by_rule, &violation.rule, 1);
            }
            if errors == 0 {
                continue;
            }
            self.violations += errors;
            let owner = owners.owner_of(resource);
            bump(&mut self.by_owner, owner, errors);
            let service = resource
                .resource_type
                .split(':')
                .next()
                .unwrap_or(&resource.resource_type);
            bump(&mut self.by_service, service, errors);
            bump(&mut self.by_type, &resource.resource_type, errors);
            if let Some(account) = &decision.account {
                bump(&mut self.by_account, account, errors);
            }
            bump(&mut self.by_principal, principal, errors);
            if let Some(time) = time {
                *self
                    .daily
                    .entry(time.div_euclid(86_400_000))
                    .or_default()
                    .entry(owner.to_owned())
                    .or_default() += errors;
            }
            match self.resources.get_mut(&resource.arn) {
                Some(entry) => {
                    entry.violations += errors;
                    entry.events += 1;
                    owner.clone_into(&mut entry.owner);
                }
                None => {
                    self.resources.insert(
                        resource.arn.clone(),
                        ResourceCount {
                            arn: resource.arn.clone(),
                            resource_type: resource.resource_type.clone(),
                            owner: owner.to_owned(),
                            violations: errors,
                            events: 1,
                        },
                    );
                }
            }
        }
    }

    /// Adds another accumulator's counts.
    pub(crate) fn merge(&mut self, other: Accumulator) {
        self.files += other.files;
        self.bytes_read += other.bytes_read;
        self.bytes_decoded += other.bytes_decoded;
        self.records += other.records;
        if let Some(t) = other.first {
            self.saw_time(t);
        }
        if let Some(t) = other.last {
            self.saw_time(t);
        }
        for (mine, theirs) in self.outcomes.iter_mut().zip(other.outcomes) {
            *mine += theirs;
        }
        self.violations += other.violations;
        self.fixed_by_plan += other.fixed_by_plan;
        self.warnings += other.warnings;
        for (mine, theirs) in [
            (&mut self.by_rule, other.by_rule),
            (&mut self.by_owner, other.by_owner),
            (&mut self.by_service, other.by_service),
            (&mut self.by_type, other.by_type),
            (&mut self.by_account, other.by_account),
            (&mut self.by_principal, other.by_principal),
        ] {
            for (key, count) in theirs {
                *mine.entry(key).or_default() += count;
            }
        }
        for (arn, theirs) in other.resources {
            match self.resources.get_mut(&arn) {
                Some(mine) => {
                    mine.violations += theirs.violations;
                    mine.events += theirs.events;
                }
                None => {
                    self.resources.insert(arn, theirs);
                }
            }
        }
        for (day, owners) in other.daily {
            let mine = self.daily.entry(day).or_default();
            for (owner, count) in owners {
                *mine.entry(owner).or_default() += count;
            }
        }
        for (source, names) in other.unsupported {
            for (name, count) in names {
                self.count_unsupported(&source, &name, count);
            }
        }
        for (list, total, theirs, their_total) in [
            (
                &mut self.decode_errors,
                &mut self.decode_errors_total,
                other.decode_errors,
                other.decode_errors_total,
            ),
            (
                &mut self.unresolved,
                &mut self.unresolved_total,
                other.unresolved,
                other.unresolved_total,
            ),
        ] {
            *total += their_total;
            let room = KEPT_ERRORS.saturating_sub(list.len());
            list.extend(theirs.into_iter().take(room));
        }
        self.late_records += other.late_records;
    }

    /// The ranked summary.
    pub fn finish(self, window_minutes: u64, seconds: f64, threads: usize) -> ReplaySummary {
        let outcomes = OUTCOMES
            .iter()
            .map(|o| (*o, self.outcomes[slot(*o)]))
            .collect();
        let mut unsupported: Vec<CallCount> = self
            .unsupported
            .into_iter()
            .flat_map(|(source, names)| {
                names.into_iter().map(move |(name, count)| CallCount {
                    event_source: source.to_string(),
                    event_name: name.into(),
                    count,
                })
            })
            .collect();
        unsupported.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.event_source.cmp(&b.event_source))
                .then_with(|| a.event_name.cmp(&b.event_name))
        });
        let mut top_resources: Vec<ResourceCount> = self.resources.into_values().collect();
        top_resources.sort_by(|a, b| {
            b.violations
                .cmp(&a.violations)
                .then_with(|| a.arn.cmp(&b.arn))
        });
        top_resources.truncate(TOP);
        let mut by_principal = ranked(self.by_principal);
        by_principal.truncate(TOP);
        ReplaySummary {
            files: self.files,
            bytes_read: self.bytes_read,
            bytes_decoded: self.bytes_decoded,
            records: self.records,
            first_event: self.first.map(rfc3339),
            last_event: self.last.map(rfc3339),
            outcomes,
            violations: self.violations,
            violations_fixed_by_plan: self.fixed_by_plan,
            warnings: self.warnings,
            violations_by_rule: ranked(self.by_rule),
            violations_by_owner: ranked(self.by_owner),
            violations_by_service: ranked(self.by_service),
            violations_by_type: ranked(self.by_type),
            violations_by_account: ranked(self.by_account),
            violations_by_principal: by_principal,
            top_resources,
            daily: self
                .daily
                .into_iter()
                .map(|(day, by_owner)| DayCount {
                    date: date_of(day * 86_400_000),
                    by_owner,
                })
                .collect(),
            unsupported,
            decode_errors: self.decode_errors,
            decode_errors_total: self.decode_errors_total,
            unresolved: self.unresolved,
            unresolved_total: self.unresolved_total,
            late_records: self.late_records,
            window_minutes,
            seconds,
            threads,
        }
    }
}

fn bump(map: &mut HashMap<String, u64>, key: &str, count: u64) {
    match map.get_mut(key) {
        Some(n) => *n += count,
        None => {
            map.insert(key.to_owned(), count);
        }
    }
}

fn ranked(map: HashMap<String, u64>) -> Vec<Count> {
    let mut out: Vec<Count> = map
        .into_iter()
        .map(|(key, count)| Count { key, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    out
}

/// A key and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Rule, owner, service or principal.
    pub key: String,
    /// Error-level violations.
    pub count: u64,
}

/// A call outside the catalog and how often it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallCount {
    /// eventSource.
    pub event_source: String,
    /// eventName.
    pub event_name: String,
    /// Records.
    pub count: u64,
}

/// A resource and its violations over the replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceCount {
    /// ARN.
    pub arn: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Its owner at its last violation.
    pub owner: String,
    /// Error-level violations, summed over every event that touched it.
    pub violations: u64,
    /// Events after which it was in violation.
    pub events: u64,
}

/// Violations on one day, by owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Owner → error-level violations.
    pub by_owner: BTreeMap<String, u64>,
}

/// An input that could not be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorEntry {
    /// `file:line (record #n)`.
    pub location: String,
    /// Why.
    pub message: String,
}

/// The result of a replay.
#[derive(Debug, Clone, Serialize)]
pub struct ReplaySummary {
    /// Input files read.
    pub files: u64,
    /// Bytes read from disk (compressed size for `.gz`).
    pub bytes_read: u64,
    /// Bytes of JSON decoded (after decompression).
    pub bytes_decoded: u64,
    /// Records (and undecodable inputs) seen.
    pub records: u64,
    /// Earliest eventTime seen.
    pub first_event: Option<String>,
    /// Latest eventTime seen.
    pub last_event: Option<String>,
    /// Decisions by outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Error-level violations over every evaluated resource.
    pub violations: u64,
    /// Of those, how many the plan would have fixed by adding tags.
    pub(crate) violations_fixed_by_plan: u64,
    /// Warning-level findings (recommended tags).
    pub warnings: u64,
    /// Violations by rule.
    pub violations_by_rule: Vec<Count>,
    /// Violations by owner (the resource's owner tag, else the policy's default owner).
    pub violations_by_owner: Vec<Count>,
    /// Violations by service.
    pub violations_by_service: Vec<Count>,
    /// Violations by resource type.
    pub violations_by_type: Vec<Count>,
    /// Violations by account.
    pub violations_by_account: Vec<Count>,
    /// Violations by principal (the caller), top ones.
    pub violations_by_principal: Vec<Count>,
    /// Resources with the most violations.
    pub top_resources: Vec<ResourceCount>,
    /// Violations per day by owner.
    pub daily: Vec<DayCount>,
    /// Calls outside the catalog, most frequent first.
    pub unsupported: Vec<CallCount>,
    /// Inputs that could not be decoded (the first ones kept), skipped.
    pub decode_errors: Vec<ErrorEntry>,
    /// How many inputs could not be decoded.
    pub decode_errors_total: u64,
    /// Catalogued calls whose resources could not be found (the first ones kept).
    pub unresolved: Vec<ErrorEntry>,
    /// How many.
    pub(crate) unresolved_total: u64,
    /// Records applied after a later one because they arrived more than the window late.
    pub late_records: u64,
    /// The reordering window.
    pub window_minutes: u64,
    /// Wall-clock time of the replay.
    pub seconds: f64,
    /// Decoding threads used.
    pub threads: usize,
}

impl ReplaySummary {
    /// How many decisions had `outcome`.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    /// A plain-text report.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let mb = self.bytes_decoded as f64 / 1e6;
        let seconds = self.seconds.max(1e-9);
        let _ = writeln!(
            out,
            "Replayed {} records from {} files ({mb:.1} MB of JSON) in {:.2} s: {:.1} MB/s, {:.0} records/s, {} thread{}",
            self.records,
            self.files,
            self.seconds,
            mb / seconds,
            self.records as f64 / seconds,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        );
        if let (Some(first), Some(last)) = (&self.first_event, &self.last_event) {
            let _ = writeln!(out, "Events from {first} to {last}");
        }
        let _ = writeln!(out, "\nDecisions by outcome");
        for (outcome, count) in &self.outcomes {
            let label = serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(out, "  {label:<12} {count:>10}");
        }
        let _ = writeln!(
            out,
            "\nViolations: {} ({} fixed by the plan), {} warnings",
            self.violations, self.violations_fixed_by_plan, self.warnings
        );
        for (title, counts) in [
            ("by rule", &self.violations_by_rule),
            ("by owner", &self.violations_by_owner),
            ("by service", &self.violations_by_service),
            ("by principal", &self.violations_by_principal),
        ] {
            if counts.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {title}");
            for count in counts.iter().take(10) {
                let _ = writeln!(out, "    {:>10}  {}", count.count, count.key);
            }
            if counts.len() > 10 {
                let _ = writeln!(out, "    … {} more", counts.len() - 10);
            }
        }
        if !self.top_resources.is_empty() {
            let _ = writeln!(out, "\nTop offending resources");
            for resource in self.top_resources.iter().take(10) {
                let _ = writeln!(
                    out,
                    "  {:>10}  {} [{}] owner {}",
                    resource.violations, resource.arn, resource.resource_type, resource.owner
                );
            }
        }
        if !self.unsupported.is_empty() {
            let _ = writeln!(
                out,
                "\nUnsupported calls ({} kinds)",
                self.unsupported.len()
            );
            for call in self.unsupported.iter().take(15) {
                let _ = writeln!(
                    out,
                    "  {:>10}  {} {}",
                    call.count, call.event_source, call.event_name
                );
            }
        }
        for (title, total, list) in [
            (
                "Decode errors (skipped)",
                self.decode_errors_total,
                &self.decode_errors,
            ),
            ("Unresolved calls", self.unresolved_total, &self.unresolved),
        ] {
            if total == 0 {
                continue;
            }
            let _ = writeln!(out, "\n{title}: {total}");
            for error in list.iter().take(20) {
                let _ = writeln!(out, "  {}: {}", error.location, error.message);
            }
            if total > 20 {
                let _ = writeln!(out, "  … {} more", total - 20);
            }
        }
        if self.late_records > 0 {
            let _ = writeln!(
                out,
                "\n{} records arrived more than {} minutes after newer ones and were applied late",
                self.late_records, self.window_minutes
            );
        }
        out
    }
}
