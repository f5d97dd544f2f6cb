//! `enforcer check`: one decision per input record.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use enforcer::act::InMemoryTagStore;
use enforcer::engine::{Decision, Engine};
use enforcer::event::{ResolveOptions, Resolver};
use enforcer::policy::PolicySet;
use enforcer::Tags;

use super::input::{expand_inputs, read_input};
use super::output::{write_json, write_text, Format, Style, Summary};
use super::{catalog, load_policies, EXIT_BAD_INPUT};

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
    /// ARN of the enforcer's own role; its calls are ignored (loop guard).
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
}

/// Runs `enforcer check`.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
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

/// Decodes, resolves and evaluates every record of the inputs, in order, handing each decision
/// (with the policies it was made under) to `each`. `Ok(Err(code))` when the policies or the tag
/// inventory are bad: the problems are on stderr and nothing was decided.
pub fn decide_all(
    args: &DecideArgs,
    mut each: impl FnMut(&Decision, &PolicySet) -> anyhow::Result<()>,
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
    let resolver = Resolver::new(
        catalog()?,
        ResolveOptions {
            own_principals: args.enforcer_role.clone(),
        },
    );
    let engine = Engine::new(
        resolver,
        loaded.set,
        InMemoryTagStore::with_inventory(inventory),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("cannot start the async runtime")?;
    for path in expand_inputs(&args.files) {
        for result in read_input(&path) {
            let decision = match result {
                Ok((location, event)) => runtime.block_on(engine.decide(&event, Some(&location))),
                Err(error) => Decision::decode_error(&error, engine.policies().mode),
            };
            each(&decision, engine.policies())?;
        }
    }
    Ok(Ok(()))
}

fn read_inventory(path: &PathBuf) -> anyhow::Result<BTreeMap<String, Tags>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the tag inventory {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: the tag inventory must be a JSON object {{\"arn\": {{\"key\": \"value\"}}}}",
            path.display()
        )
    })
}
