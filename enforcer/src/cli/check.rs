//! `enforcer check`: one decision per input record.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use enforcer::act::aws::QuarantineConfig;
use enforcer::act::{apply, ActSettings, InMemoryTagStore, TagStore};
use enforcer::engine::{Decision, Engine};
use enforcer::event::{ResolveOptions, Resolver};
use enforcer::Tags;

use super::aws::{runtime, AwsBackends};
use super::input::{expand_inputs, read_input};
use super::output::{
    write_act_text, write_json, write_json_with_act, write_text, ActTally, Format, Style, Summary,
};
use super::{catalog, load_policies, EXIT_ACT_FAILED, EXIT_BAD_INPUT};

/// Arguments of `enforcer check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Event files or directories (`-` for stdin): EventBridge events, CloudTrail records, JSON
    /// arrays or JSON Lines of those, CloudTrail log files (plain or .gz).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Policy directory or files.
    #[arg(long, default_value = "policies")]
    policies: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Inventory of current tags, `{"arn": {"key": "value"}}`, seeding the in-memory store.
    #[arg(long, conflicts_with = "aws")]
    tags: Option<PathBuf>,
    /// ARN of the enforcer's own role; its calls are ignored (loop guard), and an S3
    /// quarantine never locks it out.
    #[arg(long, env = "ENFORCER_ROLE_ARN")]
    enforcer_role: Vec<String>,
    /// Read current tags from AWS (standard credential chain, AWS_REGION, AWS_ENDPOINT_URL)
    /// and plan against the account; with --apply, act on it.
    #[arg(long)]
    aws: bool,
    /// With --aws: write the planned tags and quarantine (otherwise only plan). A policy in
    /// audit mode writes nothing even so.
    #[arg(long, requires = "aws")]
    apply: bool,
    /// With --aws: publish one alert per decision that needs a person to this SNS topic.
    #[arg(long, env = "ENFORCER_ALERT_TOPIC_ARN")]
    alert_topic: Option<String>,
}

/// Runs `enforcer check`.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_policies(&args.policies) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let inventory = match &args.tags {
        Some(path) => match read_inventory(path) {
            Ok(inventory) => inventory,
            Err(error) => {
                eprintln!("error: {error:#}");
                return Ok(ExitCode::from(EXIT_BAD_INPUT));
            }
        },
        None => BTreeMap::new(),
    };
    let resolver = Resolver::new(
        catalog()?,
        ResolveOptions {
            own_principals: args.enforcer_role.clone(),
        },
    );
    let runtime = runtime()?;
    if args.aws {
        let backends = runtime.block_on(AwsBackends::load(
            QuarantineConfig {
                break_glass_principals: loaded.set.break_glass_principals.clone(),
                enforcer_principals: args.enforcer_role.clone(),
            },
            args.alert_topic.as_deref(),
        ))?;
        let settings = ActSettings::new(&loaded.set, args.apply);
        let engine = Engine::new(resolver, loaded.set, backends.store.clone());
        let act = |decision: &Decision| {
            runtime.block_on(apply(
                decision,
                &settings,
                engine.store(),
                &backends.quarantine,
                &backends.notify,
            ))
        };
        return decide_all(&args, &runtime, &engine, Some(&act));
    }
    let engine = Engine::new(
        resolver,
        loaded.set,
        InMemoryTagStore::with_inventory(inventory),
    );
    decide_all(&args, &runtime, &engine, None)
}

type Act<'a> = dyn Fn(&Decision) -> enforcer::act::ActReport + 'a;

fn decide_all<S: TagStore>(
    args: &CheckArgs,
    runtime: &tokio::runtime::Runtime,
    engine: &Engine<S>,
    act: Option<&Act<'_>>,
) -> anyhow::Result<ExitCode> {
    let style = Style::for_stdout();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut summary = Summary::default();
    let mut tally = ActTally::default();
    for path in expand_inputs(&args.files) {
        for result in read_input(&path) {
            let decision = match result {
                Ok((location, event)) => runtime.block_on(engine.decide(&event, Some(&location))),
                Err(error) => Decision::decode_error(&error, engine.policies().mode),
            };
            summary.add(decision.outcome);
            let report = act.map(|act| act(&decision));
            if let Some(report) = &report {
                tally.add(report);
            }
            match (args.format, &report) {
                (Format::Json, Some(report)) => write_json_with_act(&mut out, &decision, report)?,
                (Format::Json, None) => write_json(&mut out, &decision)?,
                (Format::Text, report) => {
                    write_text(&mut out, &decision, style)?;
                    if let Some(report) = report {
                        write_act_text(&mut out, report, style)?;
                    }
                }
            }
        }
    }
    if args.format == Format::Text {
        writeln!(out, "\n{}", summary.line())?;
        if act.is_some() {
            writeln!(out, "{}", tally.line())?;
        }
    }
    out.flush()?;
    if tally.failures() > 0 {
        return Ok(ExitCode::from(EXIT_ACT_FAILED));
    }
    Ok(ExitCode::from(summary.exit_code()))
}

/// Reads a tag inventory file, `{"arn": {"key": "value"}}`.
pub fn read_inventory(path: &PathBuf) -> anyhow::Result<BTreeMap<String, Tags>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the tag inventory {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: the tag inventory must be a JSON object {{\"arn\": {{\"key\": \"value\"}}}}",
            path.display()
        )
    })
}
