//! `enforcer release`: undo a quarantine from what was recorded on the resource.

use std::io::Write;
use std::process::ExitCode;

use enforcer::act::aws::QuarantineConfig;
use enforcer::act::release;

use super::aws::{runtime, AwsBackends};
use super::output::Format;
use super::EXIT_ACT_FAILED;

/// Arguments of `enforcer release`.
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// ARNs of quarantined resources.
    #[arg(required = true)]
    arns: Vec<String>,
    /// Only show what would be restored.
    #[arg(long)]
    dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Runs `enforcer release` against the AWS account of the standard configuration.
pub fn run(args: ReleaseArgs) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    let backends = runtime.block_on(AwsBackends::load(QuarantineConfig::default(), None))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for arn in &args.arns {
        let report = runtime.block_on(release(
            arn,
            !args.dry_run,
            &backends.store,
            &backends.quarantine,
            &backends.state,
        ));
        failed |= !report.failures.is_empty();
        match args.format {
            Format::Json => {
                serde_json::to_writer(&mut out, &report)?;
                writeln!(out)?;
            }
            Format::Text => {
                let status = if report.released {
                    "RELEASED"
                } else if !report.failures.is_empty() {
                    "FAILED"
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
    Ok(ExitCode::from(if failed { EXIT_ACT_FAILED } else { 0 }))
}
