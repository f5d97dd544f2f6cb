//! The `enforcer` command line.

mod check;
mod input;
mod output;
mod replay;

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
    /// Replay CloudTrail history: what the policies would have said about every event, in order.
    Replay(replay::ReplayArgs),
}

/// Exit code for bad input or a bad policy.
pub const EXIT_BAD_INPUT: u8 = 2;

/// Parses the command line and runs it.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check::run(args),
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
