//! `enforcer validate` and `enforcer schema`: check policies before they are deployed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use enforcer::policy::{self, Diagnostic, Level};

use super::output::{Format, Style};
use super::{known_types, Exit};

/// Arguments of `enforcer validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Policy directories (every `*.toml` directly inside) or files.
    #[arg(env = "ENFORCER_POLICY_DIR", default_value = "policies")]
    paths: Vec<PathBuf>,
    /// Output format: diagnostics for people, or one JSON document for editors and CI.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
}

/// Codes of problems with the paths themselves rather than their content.
const BAD_INPUT_CODES: &[&str] = &["policy::unreadable", "policy::no-files"];

/// Runs `enforcer validate`: exit 0 when the policies are usable (and, with `--deny-warnings`,
/// have no warning), 1 when they are not, 2 when they cannot be read.
pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let (diagnostics, summary) = match policy::load(&args.paths, &known_types()) {
        Ok(loaded) => {
            let summary = format!(
                "{} file{}, {} rule{}, {} tag{}",
                loaded.files.len(),
                plural(loaded.files.len()),
                loaded.set.rules.len(),
                plural(loaded.set.rules.len()),
                loaded.set.tags.len(),
                plural(loaded.set.tags.len()),
            );
            (loaded.warnings, Some(summary))
        }
        Err(diagnostics) => (diagnostics, None),
    };
    let errors = count(&diagnostics, Level::Error);
    let warnings = count(&diagnostics, Level::Warning);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            let document = serde_json::json!({
                "ok": errors == 0 && !(args.deny_warnings && warnings > 0),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diagnostics.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
        Format::Text => {
            let color = Style::for_stdout().enabled();
            for diagnostic in &diagnostics {
                write!(out, "{}", diagnostic.render(color))?;
            }
            let counts = format!(
                "{errors} error{}, {warnings} warning{}",
                plural(errors),
                plural(warnings)
            );
            let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
            match summary {
                Some(summary) => writeln!(out, "{}: {summary}: {counts}", paths.join(" "))?,
                None => writeln!(out, "{}: {counts}", paths.join(" "))?,
            }
        }
    }
    out.flush()?;
    let code = if diagnostics
        .iter()
        .any(|d| BAD_INPUT_CODES.contains(&d.code))
    {
        Exit::BadInput
    } else {
        Exit::findings_if(errors > 0 || (args.deny_warnings && warnings > 0))
    };
    Ok(ExitCode::from(code))
}

fn count(diagnostics: &[Diagnostic], level: Level) -> usize {
    diagnostics.iter().filter(|d| d.level == level).count()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Arguments of `enforcer schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Print the schema of policy test files (`policies/tests/*.toml`) instead.
    #[arg(long)]
    tests: bool,
}

/// Runs `enforcer schema`: prints the JSON Schema of the policy format.
pub fn schema(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    let schema = if args.tests {
        enforcer::authoring::cases_schema()
    } else {
        policy::policy_schema()
    };
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
