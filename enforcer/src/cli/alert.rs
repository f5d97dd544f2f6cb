//! `enforcer alert preview`: the alerts events would raise, exactly as the owners will get them.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use enforcer::alert::routing::{cloudformation, routing, Routing};
use enforcer::alert::{needs_person, render, Alert};
use enforcer::engine::{Decision, Outcome};
use serde::Serialize;

use super::aws::AlertTopicArgs;
use super::check::{decide_all, DecideArgs};
use super::output::{write_record, Format, Style};
use super::{load_policies, Exit};

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
    /// Print the CloudFormation that routes each owner with Slack ids to its own channel: per
    /// owner an alerts topic (unless it brings one), an Amazon Q Developer Slack channel
    /// configuration subscribed to it, and the function's permission to publish there. It is
    /// the `# BEGIN generated owner routes` block of infra/template.yaml.
    Cloudformation(CloudformationArgs),
}

/// Arguments of `enforcer alert cloudformation`.
#[derive(Debug, clap::Args)]
struct CloudformationArgs {
    /// Policy directory or files.
    #[arg(long, env = "ENFORCER_POLICY_DIR", default_value = "policies")]
    policies: Vec<std::path::PathBuf>,
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
    /// The topics the routing shows (otherwise the names the deployment gives them).
    #[command(flatten)]
    topics: AlertTopicArgs,
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
    routing: Routing,
}

/// Runs `enforcer alert`.
pub fn run(args: AlertArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AlertCommand::Preview(args) => preview(args),
        AlertCommand::Cloudformation(args) => {
            let loaded = load_policies(&args.policies)?;
            let yaml = cloudformation(&loaded.set)?;
            let mut out = std::io::stdout().lock();
            out.write_all(yaml.as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
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
        let topics = args.topics.topics(policies);
        for alert in render(decision, policies) {
            alerts += 1;
            let routing = routing(policies, alert.owner.route.as_deref(), topics.as_ref());
            match args.format {
                Format::Json => {
                    write_record(&mut out, "alert", &line(decision, &alert, routing))?;
                }
                Format::Text => write_text(&mut out, decision, &alert, &routing, style)?,
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

fn line<'a>(decision: &'a Decision, alert: &'a Alert, routing: Routing) -> PreviewLine<'a> {
    PreviewLine {
        event_id: decision.event_id.as_deref(),
        event_source: &decision.event_source,
        event_name: &decision.event_name,
        location: decision.location.as_deref(),
        outcome: decision.outcome,
        alert,
        routing,
    }
}

fn write_text(
    out: &mut impl Write,
    decision: &Decision,
    alert: &Alert,
    routing: &Routing,
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
    writeln!(out, "  topic:      {}", routing.topic)?;
    if let Some(slack) = &routing.slack {
        writeln!(
            out,
            "  slack:      {slack} (Q Developer, subscribed to that topic)"
        )?;
    }
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
