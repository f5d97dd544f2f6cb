//! `enforcer check`: one decision per input record; with `--aws`, against the account, and with
//! `--apply`, acted on.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use enforcer::act::aws::QuarantineConfig;
use enforcer::act::{
    apply, read_and_decide, ActReport, ActSettings, InMemoryTagStore, ReadRetry, TagStore,
};
use enforcer::engine::Decision;
use enforcer::event::{ResolveOptions, Resolver};
use enforcer::policy::PolicySet;
use enforcer::Tags;

use super::aws::{runtime, AwsBackends};
use super::input::{expand_inputs, read_input};
use super::output::{
    write_act_text, write_json, write_json_with_act, write_text, ActTally, Format, Style, Summary,
};
use super::{catalog, load_policies, EXIT_ACT_FAILED, EXIT_BAD_INPUT};

/// What every command that decides events reads: the inputs, the policies, the current tags and
/// the enforcer's own role.
#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// Event files or directories (`-` for stdin): EventBridge events, CloudTrail records, JSON
    /// arrays or JSON Lines of those, CloudTrail log files (plain or .gz).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Policy directory or files.
    #[arg(long, default_value = "policies")]
    policies: Vec<PathBuf>,
    /// Inventory of current tags, `{"arn": {"key": "value"}}`, seeding the in-memory store.
    #[arg(long)]
    tags: Option<PathBuf>,
    /// ARN of the enforcer's own role; its calls are ignored (loop guard), and an S3
    /// quarantine never locks it out.
    #[arg(long, env = "ENFORCER_ROLE_ARN")]
    enforcer_role: Vec<String>,
}

/// Arguments of `enforcer check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    decide: DecideArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Read current tags from AWS (standard credential chain, AWS_REGION, AWS_ENDPOINT_URL)
    /// and plan against the account; with --apply, act on it.
    #[arg(long, conflicts_with = "tags")]
    aws: bool,
    /// With --aws: write the planned tags and quarantine (otherwise only plan). A policy in
    /// audit mode writes nothing even so.
    #[arg(long, requires = "aws")]
    apply: bool,
    /// With --aws: publish one alert per owner of each decision that needs one to this SNS topic.
    #[arg(long, env = "ENFORCER_ALERT_TOPIC_ARN")]
    alert_topic: Option<String>,
}

/// Runs `enforcer check`.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if args.aws {
        return run_aws(&args);
    }
    let style = Style::for_stdout();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut summary = Summary::default();
    let decided = decide_all(&args.decide, |decision, _| {
        summary.add(decision.outcome);
        match args.format {
            Format::Json => write_json(&mut out, decision)?,
            Format::Text => write_text(&mut out, decision, style)?,
        }
        Ok(())
    })?;
    if let Err(code) = decided {
        return Ok(code);
    }
    if args.format == Format::Text {
        writeln!(out, "\n{}", summary.line())?;
    }
    out.flush()?;
    Ok(ExitCode::from(summary.exit_code()))
}

/// `check --aws`: tags read from the account, each decision acted on (or planned).
fn run_aws(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_policies(&args.decide.policies) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let runtime = runtime()?;
    let backends = runtime.block_on(AwsBackends::load(
        QuarantineConfig {
            break_glass_principals: loaded.set.break_glass_principals.clone(),
            enforcer_principals: args.decide.enforcer_role.clone(),
        },
        args.alert_topic.as_deref(),
    ))?;
    let settings = ActSettings::new(&loaded.set, args.apply);
    let resolver = resolver(&args.decide)?;
    let style = Style::for_stdout();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut summary = Summary::default();
    let mut tally = ActTally::default();
    let inputs = &args.decide;
    decide_with(
        inputs,
        &runtime,
        &resolver,
        &loaded.set,
        &backends.store,
        |decision, _| {
            summary.add(decision.outcome);
            let report: ActReport = runtime.block_on(apply(
                decision,
                &settings,
                &backends.store,
                &backends.quarantine,
                &backends.notify,
                &backends.state,
            ));
            tally.add(&report);
            match args.format {
                Format::Json => write_json_with_act(&mut out, decision, &report)?,
                Format::Text => {
                    write_text(&mut out, decision, style)?;
                    write_act_text(&mut out, &report, style)?;
                }
            }
            Ok(())
        },
    )?;
    if args.format == Format::Text {
        writeln!(out, "\n{}", summary.line())?;
        writeln!(out, "{}", tally.line())?;
    }
    out.flush()?;
    if tally.failures() > 0 {
        return Ok(ExitCode::from(EXIT_ACT_FAILED));
    }
    Ok(ExitCode::from(summary.exit_code()))
}

fn resolver(args: &DecideArgs) -> anyhow::Result<Resolver> {
    Ok(Resolver::new(
        catalog()?,
        ResolveOptions {
            own_principals: args.enforcer_role.clone(),
        },
    ))
}

/// Decodes, resolves and evaluates every record of the inputs, in order, handing each decision
/// (with the policies it was made under) to `each`. `Ok(Err(code))` when the policies or the tag
/// inventory are bad: the problems are on stderr and nothing was decided.
pub fn decide_all(
    args: &DecideArgs,
    each: impl FnMut(&Decision, &PolicySet) -> anyhow::Result<()>,
) -> anyhow::Result<Result<(), ExitCode>> {
    let loaded = match load_policies(&args.policies) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(Err(code)),
    };
    let inventory = match &args.tags {
        Some(path) => match read_inventory(path) {
            Ok(inventory) => inventory,
            Err(error) => {
                eprintln!("error: {error:#}");
                return Ok(Err(ExitCode::from(EXIT_BAD_INPUT)));
            }
        },
        None => BTreeMap::new(),
    };
    let resolver = resolver(args)?;
    let store = InMemoryTagStore::with_inventory(inventory);
    let runtime = runtime()?;
    decide_with(args, &runtime, &resolver, &loaded.set, &store, each)?;
    Ok(Ok(()))
}

/// Decides every record of the inputs, in order, reading current tags from `store`.
fn decide_with<S: TagStore>(
    args: &DecideArgs,
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver,
    policies: &PolicySet,
    store: &S,
    mut each: impl FnMut(&Decision, &PolicySet) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let retry = ReadRetry::default();
    for path in expand_inputs(&args.files) {
        for result in read_input(&path) {
            let decision = match result {
                Ok((location, event)) => {
                    let decided = read_and_decide(
                        store,
                        &retry,
                        resolver.resolve(&event),
                        policies,
                        policies.mode,
                        Some(&location),
                    );
                    runtime.block_on(decided).0
                }
                Err(error) => Decision::decode_error(&error, policies.mode),
            };
            each(&decision, policies)?;
        }
    }
    Ok(())
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
