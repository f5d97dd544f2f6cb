//! `enforcer check`: one decision per input record; with `--aws`, against the account, and with
//! `--apply`, acted on.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use enforcer::act::aws::QuarantineConfig;
use enforcer::act::{
    apply, read_and_decide, read_fresh_and_decide, ActReport, ActSettings, InMemoryTagStore,
    NoSettings, ReadRetry, SettingsReader, TagStore,
};
use enforcer::engine::{Decision, Outcome};
use enforcer::event::{ResolveOptions, Resolver};
use enforcer::policy::PolicySet;
use enforcer::state::ConfiguredStateStore;
use enforcer::Tags;

use super::aws::AwsSelection;
use super::aws::{runtime, AlertTopicArgs, AwsBackends, StateTableArg};
use super::input::{expand_inputs, read_input};
use super::output::{
    write_act_text, write_json, write_json_with_act, write_record, write_text, ActTally, Format,
    Style, Summary,
};
use super::progress::Progress;
use super::{catalog, load_policies, CliError, Exit};

/// What every command that decides events reads: the inputs, the policies, the current tags and
/// the enforcer's own role.
#[derive(Debug, clap::Args)]
pub struct DecideArgs {
    /// Event files or directories (`-` for stdin): EventBridge events, CloudTrail records, JSON
    /// arrays or JSON Lines of those, CloudTrail log files (plain or .gz).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Policy directory or files.
    #[arg(long, env = "ENFORCER_POLICY_DIR", default_value = "policies")]
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
    /// Text output: also list compliant and ignored records (by default only the ones that
    /// need something, cannot be decided or are unsupported are listed; the summary counts all).
    #[arg(long)]
    all: bool,
    /// Read current tags from AWS and plan against the account; with --apply, act on it.
    #[arg(long, conflicts_with = "tags")]
    aws: bool,
    #[command(flatten)]
    aws_selection: AwsSelection,
    /// With --aws: write the planned tags and quarantine (otherwise only plan). A policy in
    /// audit mode writes nothing even so.
    #[arg(long, requires = "aws")]
    apply: bool,
    #[command(flatten)]
    alerts: AlertTopicArgs,
    /// With --aws: the enforcer's state table.
    #[command(flatten)]
    state_table: StateTableArg,
    /// With --aws: the enforcer-owned managed deny policy an IAM role quarantine attaches (the
    /// deployment's `EnforcerQuarantineDenyPolicy`); without it roles are not quarantined.
    #[arg(long, env = "ENFORCER_QUARANTINE_POLICY_ARN", value_name = "ARN")]
    quarantine_policy_arn: Option<String>,
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
    let mut hidden = 0usize;
    let decided = decide_all(&args.decide, |decision, _| {
        summary.add(decision.outcome);
        match args.format {
            Format::Json => write_json(&mut out, decision)?,
            Format::Text if args.all || is_problem(decision.outcome) => {
                write_text(&mut out, decision, style)?;
            }
            Format::Text => hidden += 1,
        }
        Ok(())
    })?;
    let exit = decided.exit(&summary, None);
    match args.format {
        Format::Text => {
            writeln!(out, "\n{}", summary.line())?;
            write_hidden_note(&mut out, hidden)?;
        }
        Format::Json => write_record(
            &mut out,
            "summary",
            &summary.record(exit, None, decided.unreadable_inputs),
        )?,
    }
    out.flush()?;
    decided.into_result()?;
    Ok(ExitCode::from(exit))
}

/// `check --aws`: tags read from the account, each decision acted on (or planned).
fn run_aws(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.decide.policies)?;
    let runtime = runtime()?;
    let backends = runtime.block_on(AwsBackends::load(
        &args.aws_selection,
        QuarantineConfig {
            break_glass_principals: loaded.set.break_glass_principals.clone(),
            enforcer_principals: args.decide.enforcer_role.clone(),
            deny_policy_arn: args.quarantine_policy_arn.clone(),
        },
        args.alerts.topics(&loaded.set),
    ))?;
    let settings = ActSettings::new(&loaded.set, args.apply)
        .with_state(runtime.block_on(args.state_table.store(&args.aws_selection)));
    let resolver = resolver(&args.decide)?;
    let style = Style::for_stdout();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut summary = Summary::default();
    let mut tally = ActTally::default();
    let mut hidden = 0usize;
    let inputs = &args.decide;
    // Decided as the Lambda decides: a stale event (an older `aws.tag` version or CloudTrail
    // eventTime than one already seen for the resource, in the table or earlier in this run)
    // decides nothing, and a resource the state saw classified is never quarantined.
    let decided = decide_with(
        inputs,
        &runtime,
        &resolver,
        &loaded.set,
        &backends.store,
        Some((&backends.settings, &settings.state)),
        |decision, _| {
            summary.add(decision.outcome);
            let report: ActReport = runtime.block_on(apply(
                decision,
                &settings,
                &backends.store,
                &backends.quarantine,
                &backends.notify,
            ));
            tally.add(&report);
            let shown = args.all || is_problem(decision.outcome) || !report.failures().is_empty();
            match args.format {
                Format::Json => write_json_with_act(&mut out, decision, &report)?,
                Format::Text if shown => {
                    write_text(&mut out, decision, style)?;
                    write_act_text(&mut out, &report, style)?;
                }
                Format::Text => hidden += 1,
            }
            Ok(())
        },
    )?;
    for _ in 0..decided.read_failures {
        tally.add_read_failure();
    }
    let exit = decided.exit(&summary, Some(&tally));
    match args.format {
        Format::Text => {
            writeln!(out, "\n{}", summary.line())?;
            writeln!(out, "{}", tally.line())?;
            write_hidden_note(&mut out, hidden)?;
        }
        Format::Json => write_record(
            &mut out,
            "summary",
            &summary.record(exit, Some(&tally), decided.unreadable_inputs),
        )?,
    }
    out.flush()?;
    if tally.failures() > 0 {
        return Err(CliError::AwsFailures(tally.failures()).into());
    }
    decided.into_result()?;
    Ok(ExitCode::from(summary.exit_code()))
}

/// True for a decision the text output lists without `--all`: one that needs something, could
/// not be decided, or is about a call the catalog does not know.
fn is_problem(outcome: Outcome) -> bool {
    !matches!(outcome, Outcome::Compliant | Outcome::Ignored)
}

/// Says how many records the text output left out, and how to list them.
fn write_hidden_note(out: &mut impl Write, hidden: usize) -> std::io::Result<()> {
    if hidden == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "({hidden} compliant or ignored record{} not listed; --all lists them)",
        if hidden == 1 { "" } else { "s" }
    )
}

fn resolver(args: &DecideArgs) -> anyhow::Result<Resolver> {
    Ok(Resolver::new(
        catalog()?,
        ResolveOptions {
            own_principals: args.enforcer_role.clone(),
        },
    ))
}

/// What deciding the inputs met besides decisions.
#[derive(Debug, Default, Clone, Copy)]
#[must_use]
pub struct Decided {
    /// Inputs that could not be read (each reported on stderr as it came).
    pub unreadable_inputs: usize,
    /// Reads of current tags that failed (each decision says why).
    pub read_failures: usize,
}

impl Decided {
    /// The run's exit code: AWS failures first, then unreadable inputs, then the decisions.
    pub fn exit(&self, summary: &Summary, tally: Option<&ActTally>) -> Exit {
        if tally.is_some_and(|tally| tally.failures() > 0) {
            Exit::AwsFailed
        } else if self.unreadable_inputs > 0 {
            Exit::BadInput
        } else {
            summary.exit_code()
        }
    }

    /// An error when some input could not be read.
    pub fn into_result(self) -> Result<(), CliError> {
        if self.unreadable_inputs > 0 {
            return Err(CliError::UnreadableInputs(self.unreadable_inputs));
        }
        Ok(())
    }
}

/// Decodes, resolves and evaluates every record of the inputs, in order, handing each decision
/// (with the policies it was made under) to `each`. Fails before deciding anything when the
/// policies or the tag inventory are bad.
pub fn decide_all(
    args: &DecideArgs,
    each: impl FnMut(&Decision, &PolicySet) -> anyhow::Result<()>,
) -> anyhow::Result<Decided> {
    let loaded = load_policies(&args.policies)?;
    let inventory = match &args.tags {
        Some(path) => read_inventory(path)?,
        None => BTreeMap::new(),
    };
    let resolver = resolver(args)?;
    let store = InMemoryTagStore::with_inventory(inventory);
    let runtime = runtime()?;
    decide_with::<_, NoSettings>(args, &runtime, &resolver, &loaded.set, &store, None, each)
}

/// Decides every record of the inputs, in order, reading current tags from `store`, and with
/// `account`'s settings reader and state (the state table, or memory for the run) against its
/// history, reading the protection settings the event did not answer
/// ([`read_fresh_and_decide`]); without `account` (offline), on the event alone. An input that
/// cannot be read is reported on stderr (it is not a record) and counted.
fn decide_with<S: TagStore + Sync, P: SettingsReader + Sync>(
    args: &DecideArgs,
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver,
    policies: &PolicySet,
    store: &S,
    account: Option<(&P, &ConfiguredStateStore)>,
    mut each: impl FnMut(&Decision, &PolicySet) -> anyhow::Result<()>,
) -> anyhow::Result<Decided> {
    let retry = ReadRetry::default();
    let mut decided = Decided::default();
    let inputs = expand_inputs(&args.files);
    let mut progress = Progress::beside_stdout();
    for (index, path) in inputs.iter().enumerate() {
        progress.bar("files checked", index, inputs.len());
        let records = match read_input(path) {
            Ok(records) => records,
            Err(error) => {
                progress.suspend(|| eprintln!("error: {error}"));
                decided.unreadable_inputs += 1;
                continue;
            }
        };
        for result in records {
            let decision = match result {
                Ok((location, event)) => {
                    let resolution = resolver.resolve(&event);
                    let (mode, location) = (policies.mode, Some(&location));
                    let (decision, failure) = match account {
                        Some((settings, state)) => runtime.block_on(read_fresh_and_decide(
                            store, settings, state, &retry, resolution, policies, mode, location,
                        )),
                        None => runtime.block_on(read_and_decide(
                            store, &retry, resolution, policies, mode, location,
                        )),
                    };
                    if failure.is_some() {
                        decided.read_failures += 1;
                    }
                    decision
                }
                Err(error) => Decision::decode_error(&error, policies.mode),
            };
            each(&decision, policies)?;
        }
    }
    progress.finish();
    Ok(decided)
}

/// Reads a tag inventory file, `{"arn": {"key": "value"}}`.
pub fn read_inventory(path: &PathBuf) -> Result<BTreeMap<String, Tags>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Unreadable {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|error| {
        CliError::BadInput(format!(
            "{}: the tag inventory must be a JSON object {{\"arn\": {{\"key\": \"value\"}}}}: {error}",
            path.display()
        ))
    })
}
