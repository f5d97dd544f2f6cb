//! `enforcer alert preview`: the alerts events would raise, exactly as the owners will get them.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use enforcer::alert::{needs_person, render, Alert};
use enforcer::engine::{Decision, Outcome};
use serde::Serialize;

use super::check::{decide_all, DecideArgs};
use super::output::{write_record, Format, Style};
use super::Exit;

/// Arguments of `enforcer alert`.
#[derive(Debug, clap::Args)]
pub struct AlertArgs {
    #[command(subcommand)]
    command: AlertCommand,
}

#[derive(Debug, Subcommand)]
enum AlertCommand {
    /// Show the alerts the events would raise: for each decision that needs a person, the SNS
    /// subject and message attributes, the Amazon Q Developer (Chatbot) custom notification and
    /// the Slack Block Kit message.
    Preview(PreviewArgs),
}

/// Arguments of `enforcer alert preview`.
#[derive(Debug, clap::Args)]
struct PreviewArgs {
    #[command(flatten)]
    decide: DecideArgs,
    /// Output format: `text` (readable, the renderings as indented JSON) or `json` (one object
    /// per alert per line).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// One line of `--format json`.
#[derive(Serialize)]
struct PreviewLine<'a> {
    event_id: Option<&'a str>,
    event_source: &'a str,
    event_name: &'a str,
    location: Option<&'a str>,
    outcome: Outcome,
    alert: &'a Alert,
}

/// Runs `enforcer alert`.
pub fn run(args: AlertArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AlertCommand::Preview(args) => preview(args),
    }
}

fn preview(args: PreviewArgs) -> anyhow::Result<ExitCode> {
    let style = Style::for_stdout();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut records, mut needing, mut alerts, mut errors) = (0usize, 0usize, 0usize, 0usize);
    let decided = decide_all(&args.decide, |decision, policies| {
        records += 1;
        if decision.outcome == Outcome::Error {
            errors += 1;
            eprintln!(
                "error: {}: {}",
                decision.location.as_deref().unwrap_or("-"),
                decision.reason.as_deref().unwrap_or("cannot be decided")
            );
            return Ok(());
        }
        if !needs_person(decision) {
            return Ok(());
        }
        needing += 1;
        for alert in render(decision, policies) {
            alerts += 1;
            match args.format {
                Format::Json => {
                    write_record(&mut out, "alert", &line(decision, &alert))?;
                }
                Format::Text => write_text(&mut out, decision, &alert, style)?,
            }
        }
        Ok(())
    })?;
    if args.format == Format::Text {
        writeln!(
            out,
            "{records} records: {needing} need a person, {alerts} alert{}",
            if alerts == 1 { "" } else { "s" }
        )?;
    }
    out.flush()?;
    decided.into_result()?;
    Ok(if errors > 0 {
        ExitCode::from(Exit::BadInput)
    } else {
        ExitCode::SUCCESS
    })
}

fn line<'a>(decision: &'a Decision, alert: &'a Alert) -> PreviewLine<'a> {
    PreviewLine {
        event_id: decision.event_id.as_deref(),
        event_source: &decision.event_source,
        event_name: &decision.event_name,
        location: decision.location.as_deref(),
        outcome: decision.outcome,
        alert,
    }
}

fn write_text(
    out: &mut impl Write,
    decision: &Decision,
    alert: &Alert,
    style: Style,
) -> anyhow::Result<()> {
    let service = decision
        .event_source
        .strip_suffix(".amazonaws.com")
        .unwrap_or(&decision.event_source);
    writeln!(
        out,
        "{} {service} {}  ({})",
        style.outcome(decision.outcome),
        decision.event_name,
        decision.location.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "  to:         {}", alert.owner.line)?;
    writeln!(out, "  severity:   {}", alert.severity.as_str())?;
    writeln!(out, "  subject:    {}", alert.subject)?;
    let attributes: Vec<String> = alert
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    writeln!(out, "  attributes: {}", attributes.join(" "))?;
    let renderings = [
        (
            "SNS message: Amazon Q Developer (Chatbot) custom notification",
            serde_json::to_string_pretty(&alert.chatbot)?,
        ),
        (
            "Slack Block Kit",
            serde_json::to_string_pretty(&alert.slack)?,
        ),
    ];
    for (title, json) in renderings {
        writeln!(out, "  --- {title}")?;
        for json_line in json.lines() {
            writeln!(out, "  {json_line}")?;
        }
    }
    writeln!(out)?;
    Ok(())
}
