//! Rendering decisions for a terminal (text) or for machines (JSON Lines).

use std::collections::BTreeMap;
use std::io::Write;

use enforcer::act::{ActReport, QuarantineStatus};
use enforcer::engine::{Decision, Outcome};
use enforcer::evaluate::Action;
use enforcer::event::{ResolvedBy, INFERRED_NOTE};
use enforcer::policy::Level;

use super::Exit;

/// Output format of `check` and friends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// A readable report, coloured on a terminal.
    #[default]
    Text,
    /// JSON Lines: one record per line, each with a `kind` (`decision`, …), a `summary` record
    /// last where the command has one (see the README's "Machine output").
    Json,
}

/// Applies `--color` to every stream: `auto` leaves the choice to anstream's detection
/// (a terminal, `NO_COLOR`, `CLICOLOR_FORCE`, `TERM=dumb`).
pub fn set_color(choice: clap::ColorChoice) {
    let choice = match choice {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// ANSI styling, on when `--color` and anstream's detection say so for the stream.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Detects whether to colour stdout.
    pub fn for_stdout() -> Self {
        Self::from_choice(anstream::AutoStream::choice(&std::io::stdout()))
    }

    /// Detects whether to colour stderr.
    pub fn for_stderr() -> Self {
        Self::from_choice(anstream::AutoStream::choice(&std::io::stderr()))
    }

    fn from_choice(choice: anstream::ColorChoice) -> Self {
        Self {
            enabled: !matches!(choice, anstream::ColorChoice::Never),
        }
    }

    /// True when colour is on.
    pub fn enabled(self) -> bool {
        self.enabled
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// The outcome as a fixed-width, coloured label.
    pub fn outcome(self, outcome: Outcome) -> String {
        let (code, label) = match outcome {
            Outcome::Compliant => ("32", "COMPLIANT"),
            Outcome::Remediate => ("36", "REMEDIATE"),
            Outcome::Alert => ("33;1", "ALERT"),
            Outcome::Quarantine => ("31;1", "QUARANTINE"),
            Outcome::Ignored => ("2", "IGNORED"),
            Outcome::Unsupported => ("35", "UNSUPPORTED"),
            Outcome::Error => ("31", "ERROR"),
        };
        self.paint(code, &format!("{label:<11}"))
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// Writes one decision as text.
pub fn write_text(out: &mut impl Write, decision: &Decision, style: Style) -> std::io::Result<()> {
    let service = decision
        .event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(&decision.event_source);
    let location = decision
        .location
        .as_deref()
        .map(|l| style.dim(&format!("  ({l})")))
        .unwrap_or_default();
    writeln!(
        out,
        "{} {} {}{}",
        style.outcome(decision.outcome),
        if service.is_empty() { "-" } else { service },
        if decision.event_name.is_empty() {
            "-"
        } else {
            &decision.event_name
        },
        location
    )?;
    if let Some(reason) = &decision.reason {
        writeln!(out, "    {reason}")?;
    }
    if decision.resolution == Some(ResolvedBy::Inferred) {
        writeln!(out, "    {INFERRED_NOTE}")?;
    }
    for resource in &decision.resources {
        writeln!(
            out,
            "    {} {}",
            resource.arn,
            style.dim(&format!("[{}]", resource.resource_type))
        )?;
        if let Some(exempt) = &resource.exempt {
            writeln!(out, "      exempt: {exempt}")?;
            continue;
        }
        if resource.matched_rules.is_empty() {
            writeln!(out, "      no rule applies to this resource")?;
            continue;
        }
        for violation in &resource.violations {
            let mark = match (violation.level, violation.fixed) {
                (Level::Warning, _) => style.paint("33", "warn "),
                (_, true) => style.paint("36", "fixed"),
                (_, false) => style.paint("31", "error"),
            };
            writeln!(out, "      {mark} {}", violation.message)?;
        }
        // A setting the class obliges that could not be read: no value, said so.
        for unread in &resource.unread_settings {
            writeln!(out, "      {} {unread}", style.paint("33", "warn "))?;
        }
        let mut plan = Vec::new();
        if !resource.add_tags.is_empty() {
            plan.push(format!("add {}", join_tags(&resource.add_tags)));
        }
        if !resource.case_fixes.is_empty() {
            plan.push(format!("fix case {}", join_tags(&resource.case_fixes)));
        }
        match resource.action {
            Action::Alert => plan.push("alert the owner".to_owned()),
            Action::Quarantine => plan.push("quarantine and alert the owner".to_owned()),
            Action::None | Action::Remediate => {}
        }
        if plan.is_empty() {
            writeln!(out, "      {}", style.paint("32", "meets the standard"))?;
        } else {
            writeln!(out, "      plan: {}", plan.join("; "))?;
        }
    }
    Ok(())
}

fn join_tags(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes one decision as one JSON line.
pub fn write_json(out: &mut impl Write, decision: &Decision) -> std::io::Result<()> {
    write_record(out, "decision", decision)
}

/// One JSON Lines record: `kind` first, then the fields of `body`.
#[derive(serde::Serialize)]
struct Record<'a, T: serde::Serialize> {
    kind: &'a str,
    #[serde(flatten)]
    body: &'a T,
}

/// Writes one JSON Lines record of `kind` (`decision`, `summary`, `diagnostic`, …; the README's
/// "Machine output" lists them): the one machine shape of every command.
pub fn write_record(
    out: &mut impl Write,
    kind: &str,
    body: &impl serde::Serialize,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &Record { kind, body })?;
    writeln!(out)
}

/// Counts of outcomes, for the closing summary line.
#[derive(Debug, Default)]
pub struct Summary {
    counts: BTreeMap<Outcome, usize>,
}

impl Summary {
    /// Counts one decision.
    pub fn add(&mut self, outcome: Outcome) {
        *self.counts.entry(outcome).or_default() += 1;
    }

    /// How many decisions had `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.counts.get(&outcome).copied().unwrap_or(0)
    }

    /// `12 records: 3 compliant, 4 remediate, ...`.
    pub fn line(&self) -> String {
        let total: usize = self.counts.values().sum();
        let parts: Vec<String> = [
            Outcome::Compliant,
            Outcome::Remediate,
            Outcome::Alert,
            Outcome::Quarantine,
            Outcome::Ignored,
            Outcome::Unsupported,
            Outcome::Error,
        ]
        .iter()
        .map(|outcome| format!("{} {}", self.count(*outcome), outcome_label(*outcome)))
        .collect();
        format!("{total} records: {}", parts.join(", "))
    }

    /// The closing `summary` record: counts per outcome, what was done on AWS (when anything
    /// was), inputs that could not be read, and the exit code.
    pub fn record(
        &self,
        exit: Exit,
        act: Option<&ActTally>,
        unreadable_inputs: usize,
    ) -> serde_json::Value {
        let outcomes: BTreeMap<String, usize> = self
            .counts
            .iter()
            .map(|(outcome, count)| (outcome_label(*outcome).to_owned(), *count))
            .collect();
        let mut record = serde_json::json!({
            "records": self.counts.values().sum::<usize>(),
            "outcomes": outcomes,
            "unreadable_inputs": unreadable_inputs,
            "exit_code": exit.code(),
        });
        if let (Some(act), Some(fields)) = (act, record.as_object_mut()) {
            fields.insert("act".to_owned(), act.record());
        }
        record
    }

    /// 2 when any record was bad input, 1 when any shows something to fix, else 0.
    pub fn exit_code(&self) -> Exit {
        if self.count(Outcome::Error) > 0 {
            Exit::BadInput
        } else {
            Exit::findings_if(self.counts.keys().any(|o| o.needs_fixing()))
        }
    }
}

/// A decision with what was done about it.
#[derive(serde::Serialize)]
struct WithAct<'a> {
    #[serde(flatten)]
    decision: &'a Decision,
    act: &'a ActReport,
}

/// Writes one decision and its act report as one JSON line (the decision's fields plus `act`).
pub fn write_json_with_act(
    out: &mut impl Write,
    decision: &Decision,
    act: &ActReport,
) -> std::io::Result<()> {
    write_record(out, "decision", &WithAct { decision, act })
}

/// Writes what was done (or planned) about a decision, below its text.
pub fn write_act_text(
    out: &mut impl Write,
    report: &ActReport,
    style: Style,
) -> std::io::Result<()> {
    if report.resources.is_empty() && report.alerts.is_empty() {
        return Ok(());
    }
    let header = match &report.dry_run {
        Some(why) => format!("    act ({why}):"),
        None => "    act:".to_owned(),
    };
    writeln!(out, "{}", style.dim(&header))?;
    let verb = |done: &str, planned: &str| {
        if report.written {
            done.to_owned()
        } else {
            planned.to_owned()
        }
    };
    for resource in &report.resources {
        let mut parts = Vec::new();
        if !resource.tags_added.is_empty() {
            parts.push(format!(
                "{} {}",
                verb("added", "would add"),
                join_tags(&resource.tags_added)
            ));
        }
        if !resource.tags_fixed.is_empty() {
            parts.push(format!(
                "{} {}",
                verb("re-cased", "would re-case"),
                join_tags(&resource.tags_fixed)
            ));
        }
        if let Some(quarantine) = &resource.quarantine {
            let what = quarantine
                .record
                .as_ref()
                .map(|r| format!(" ({})", r.done))
                .unwrap_or_default();
            parts.push(match quarantine.status {
                QuarantineStatus::Planned => format!("would quarantine{what}"),
                QuarantineStatus::Applied => style.paint("31;1", &format!("quarantined{what}")),
                QuarantineStatus::AlreadyInPlace => "already quarantined".to_owned(),
                QuarantineStatus::Failed => style.paint(
                    "31",
                    &format!(
                        "quarantine failed{}",
                        quarantine
                            .detail
                            .as_deref()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default()
                    ),
                ),
            });
        }
        if parts.is_empty() && resource.failures.is_empty() && resource.note.is_none() {
            continue;
        }
        writeln!(
            out,
            "      {} {}",
            resource.arn,
            if parts.is_empty() {
                String::new()
            } else {
                parts.join("; ")
            }
        )?;
        if let Some(note) = &resource.note {
            writeln!(out, "        note: {note}")?;
        }
        for failure in &resource.failures {
            writeln!(
                out,
                "        {} {}",
                style.paint("31", "FAILED"),
                failure.describe()
            )?;
        }
    }
    for alert in &report.alerts {
        let attributes = alert
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        if alert.sent && alert.destination.starts_with("memory") {
            writeln!(
                out,
                "      alert due, not sent: no --alert-topic ({attributes})"
            )?;
        } else if alert.sent {
            writeln!(out, "      alert to {} ({attributes})", alert.destination)?;
        } else if let Some(error) = &alert.error {
            writeln!(
                out,
                "      {} alert to {}: {}",
                style.paint("31", "FAILED"),
                alert.destination,
                error.describe()
            )?;
        }
    }
    Ok(())
}

/// Counts of what was done, for the closing summary.
#[derive(Debug, Default)]
pub struct ActTally {
    written: bool,
    tagged: usize,
    quarantined: usize,
    alerts: usize,
    failures: usize,
}

impl ActTally {
    /// Counts one report.
    pub fn add(&mut self, report: &ActReport) {
        self.written |= report.written;
        self.tagged += report.tag_writes();
        self.quarantined += report
            .resources
            .iter()
            .filter(|r| {
                r.quarantine.as_ref().is_some_and(|q| {
                    matches!(
                        q.status,
                        QuarantineStatus::Applied | QuarantineStatus::Planned
                    )
                })
            })
            .count();
        self.alerts += report
            .alerts
            .iter()
            .filter(|a| a.sent && !a.destination.starts_with("memory"))
            .count();
        self.failures += report.failures().len();
    }

    /// Counts a failed read of current tags (the decision was not acted on).
    pub fn add_read_failure(&mut self) {
        self.failures += 1;
    }

    /// The `act` part of a summary record.
    pub fn record(&self) -> serde_json::Value {
        serde_json::json!({
            "written": self.written,
            "tagged": self.tagged,
            "quarantined": self.quarantined,
            "alerts_sent": self.alerts,
            "aws_failures": self.failures,
        })
    }

    /// Number of failures.
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// `acted: 3 tagged, 1 quarantined, 2 alerts sent, 0 failures`.
    pub fn line(&self) -> String {
        format!(
            "{}: {} {}, {} {}, {} alert{} sent, {} failure{}",
            if self.written { "acted" } else { "planned" },
            self.tagged,
            if self.written { "tagged" } else { "to tag" },
            self.quarantined,
            if self.written {
                "quarantined"
            } else {
                "to quarantine"
            },
            self.alerts,
            if self.alerts == 1 { "" } else { "s" },
            self.failures,
            if self.failures == 1 { "" } else { "s" },
        )
    }
}

/// The lower-case name of an outcome, as the JSON output spells it.
fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Compliant => "compliant",
        Outcome::Remediate => "remediate",
        Outcome::Alert => "alert",
        Outcome::Quarantine => "quarantine",
        Outcome::Ignored => "ignored",
        Outcome::Unsupported => "unsupported",
        Outcome::Error => "error",
    }
}
