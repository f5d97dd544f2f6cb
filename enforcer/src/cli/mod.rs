//! The `enforcer` command line.

mod alert;
mod aws;
mod check;
mod error;
mod events;
mod explain;
mod input;
mod output;
mod progress;
mod release;
mod replay;
mod scan;
mod test_cmd;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::policy::{self, Level, LoadedPolicies};

pub use output::Style;

/// Event-driven tag and data-classification enforcer for AWS.
#[derive(Debug, Parser)]
#[command(name = "enforcer", version, about, long_about = None)]
pub struct Cli {
    /// On failure, also print the chain of causes.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// When to colour the output: `auto` (a terminal, unless NO_COLOR is set or
    /// CLICOLOR_FORCE forces it), `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t = clap::ColorChoice::Auto)]
    color: clap::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide what to do about CloudTrail events: decode, resolve, evaluate, print the plan.
    Check(check::CheckArgs),
    /// Evaluate every existing resource (the backfill for resources older than the enforcer).
    Scan(scan::ScanArgs),
    /// Undo a quarantine from what was recorded on the resource (AWS).
    Release(release::ReleaseArgs),
    /// Check policy files: every problem, with file, line, column and a fix.
    Validate(validate::ValidateArgs),
    /// Run the policies' test cases (`policies/tests/*.toml`).
    Test(test_cmd::TestArgs),
    /// Explain the decision about one resource (or the resources of an event).
    Explain(explain::ExplainArgs),
    /// Print the JSON Schema of the policy format (or of policy test files).
    Schema(validate::SchemaArgs),
    /// Preview the alerts events would raise, as the owners will get them.
    Alert(alert::AlertArgs),
    /// The catalog of supported CloudTrail calls: list it, measure a corpus against it, print the
    /// EventBridge patterns that match it.
    Events(events::EventsArgs),
    /// Replay CloudTrail history: what the policies would have said about every event, in order.
    Replay(replay::ReplayArgs),
    /// Print a shell completion script (e.g. `enforcer completions bash > /etc/bash_completion.d/enforcer`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page, in roff (`enforcer man | man -l -`).
    Man,
}

pub use error::{CliError, Exit};

/// Parses the command line, runs it, and reports a failure the way people read it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = cli.verbose;
    output::set_color(cli.color);
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => error::report(&error, verbose),
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check(args) => check::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Release(args) => release::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Test(args) => test_cmd::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Schema(args) => validate::schema(args),
        Command::Alert(args) => alert::run(args),
        Command::Events(args) => events::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut command, "enforcer", &mut out);
            Ok(ExitCode::from(Exit::Clean))
        }
        Command::Man => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            Ok(ExitCode::from(Exit::Clean))
        }
    }
}

/// Loads policies for a command; prints every diagnostic to stderr. Fails when no path exists
/// (naming where it looked) or when the policies do not validate.
pub fn load_policies(paths: &[PathBuf]) -> Result<LoadedPolicies, CliError> {
    if !paths.iter().any(|path| path.exists()) {
        let looked = paths
            .iter()
            .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.clone()))
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(CliError::NoPolicies { looked });
    }
    let style = Style::for_stderr();
    match policy::load(paths, &known_types()) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprint!("{}", warning.render(style.enabled()));
            }
            Ok(loaded)
        }
        Err(diagnostics) => {
            for diagnostic in &diagnostics {
                eprint!("{}", diagnostic.render(style.enabled()));
            }
            let errors = diagnostics
                .iter()
                .filter(|d| d.level == Level::Error)
                .count();
            Err(CliError::InvalidPolicies(errors))
        }
    }
}

/// Every resource type a policy may name.
pub fn known_types() -> Vec<&'static str> {
    KNOWN_RESOURCE_TYPES.to_vec()
}

/// The built-in catalog.
pub fn catalog() -> anyhow::Result<Catalog> {
    Ok(Catalog::builtin()?)
}
