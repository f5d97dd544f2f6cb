//! `enforcer release`: undo a quarantine from its record in the state table.

use std::io::Write;
use std::process::ExitCode;

use enforcer::act::aws::QuarantineConfig;
use enforcer::act::release;

use super::aws::{runtime, AwsBackends, AwsSelection, StateTableArg};
use super::output::{write_record, Format};
use super::{CliError, Exit};

/// Arguments of `enforcer release`.
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// ARNs of quarantined resources.
    #[arg(required = true)]
    arns: Vec<String>,
    /// Restore the resources (otherwise only show what would be restored).
    #[arg(long)]
    apply: bool,
    #[command(flatten)]
    aws_selection: AwsSelection,
    /// The enforcer's state table, where the quarantine records are.
    #[command(flatten)]
    state_table: StateTableArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Runs `enforcer release` against the selected AWS account: a plan unless `--apply`.
pub fn run(args: ReleaseArgs) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let backends = runtime.block_on(AwsBackends::load(
        &args.aws_selection,
        QuarantineConfig::default(),
        None,
    ))?;
    let state = runtime.block_on(args.state_table.store(&args.aws_selection));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failures = 0usize;
    for arn in &args.arns {
        let report = runtime.block_on(release(
            arn,
            args.apply,
            &backends.store,
            &backends.quarantine,
            &state,
        ));
        failures += report.failures.len();
        match args.format {
            Format::Json => {
                write_record(&mut out, "release", &report)?;
            }
            Format::Text => {
                let status = if report.released {
                    "RELEASED"
                } else if !report.failures.is_empty() {
                    "FAILED"
                } else if !args.apply && report.record.is_some() {
                    "PLANNED"
                } else {
                    "UNCHANGED"
                };
                writeln!(out, "{status:<11} {arn}")?;
                if let Some(record) = &report.record {
                    let state = record
                        .state
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    writeln!(
                        out,
                        "    quarantined {}: {}; restore {state}",
                        record.at, record.done
                    )?;
                }
                if let Some(note) = &report.note {
                    writeln!(out, "    {note}")?;
                }
                for failure in &report.failures {
                    writeln!(out, "    FAILED {}", failure.describe())?;
                }
            }
        }
    }
    out.flush()?;
    if failures > 0 {
        return Err(CliError::AwsFailures(failures).into());
    }
    Ok(ExitCode::from(Exit::Clean))
}
