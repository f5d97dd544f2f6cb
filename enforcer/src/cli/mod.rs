//! The `enforcer` command line.

mod alert;
mod aws;
mod check;
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

use clap::{Parser, Subcommand};
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::policy::{self, Level, LoadedPolicies};

pub use output::Style;

/// Event-driven tag and data-classification enforcer for AWS.
#[derive(Debug, Parser)]
#[command(name = "enforcer", version, about, long_about = None)]
pub struct Cli {
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
}

/// Exit code for bad input or a bad policy.
pub const EXIT_BAD_INPUT: u8 = 2;

/// Exit code when an action on AWS failed (a write, a quarantine, an alert or a release).
pub const EXIT_ACT_FAILED: u8 = 3;

/// Parses the command line and runs it.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
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
    }
}

/// Loads policies for a command; prints every diagnostic to stderr. `Err` carries the exit
/// code when the policies do not validate.
pub fn load_policies(paths: &[PathBuf]) -> Result<LoadedPolicies, ExitCode> {
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
            eprintln!(
                "error: the policies do not validate ({errors} error{}); run `enforcer validate` after fixing them",
                if errors == 1 { "" } else { "s" }
            );
            Err(ExitCode::from(EXIT_BAD_INPUT))
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
