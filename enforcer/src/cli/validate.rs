//! `enforcer validate` and `enforcer schema`: check policies before they are deployed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use enforcer::policy::{self, Diagnostic, Level};

use enforcer::replay::html::escape as xml_escape;

use super::output::{write_record, Style};
use super::{known_types, Exit};

/// Arguments of `enforcer validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Policy directories (every `*.toml` directly inside) or files.
    #[arg(env = "ENFORCER_POLICY_DIR", default_value = "policies")]
    paths: Vec<PathBuf>,
    /// Output format: diagnostics for people; JSON Lines (one `diagnostic` record each, then a
    /// `summary`); SARIF 2.1.0 or JUnit XML for CI annotations.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    format: ValidateFormat,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
}

/// Output formats of `enforcer validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    /// Diagnostics with the source line and a caret, coloured on a terminal.
    Text,
    /// JSON Lines: one `diagnostic` record per problem, then one `summary` record.
    Json,
    /// One SARIF 2.1.0 document (GitHub code scanning, GitLab, Azure DevOps annotations).
    Sarif,
    /// One JUnit XML document: a test case per policy file, a failure per error.
    Junit,
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
    let ok = errors == 0 && !(args.deny_warnings && warnings > 0);
    match args.format {
        ValidateFormat::Json => {
            for diagnostic in &diagnostics {
                write_record(&mut out, "diagnostic", &diagnostic.to_json())?;
            }
            let summary = serde_json::json!({"ok": ok, "errors": errors, "warnings": warnings});
            write_record(&mut out, "summary", &summary)?;
        }
        ValidateFormat::Sarif => {
            serde_json::to_writer_pretty(&mut out, &sarif(&diagnostics))?;
            writeln!(out)?;
        }
        ValidateFormat::Junit => write_junit(&mut out, &args.paths, &diagnostics)?,
        ValidateFormat::Text => {
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

/// The diagnostics as one SARIF 2.1.0 log: a rule per code, a result per diagnostic with its
/// file, line and column, and the fix as the message's second sentence.
fn sarif(diagnostics: &[Diagnostic]) -> serde_json::Value {
    let mut codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let results: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|diagnostic| {
            let json = diagnostic.to_json();
            let text = match &diagnostic.help {
                Some(help) => format!("{} ({help})", diagnostic.message),
                None => diagnostic.message.clone(),
            };
            let mut result = serde_json::json!({
                "ruleId": diagnostic.code,
                "level": match diagnostic.level {
                    Level::Error => "error",
                    Level::Warning => "warning",
                },
                "message": {"text": text},
            });
            if let (Some(file), Some(fields)) = (json["file"].as_str(), result.as_object_mut()) {
                let mut region = serde_json::Map::new();
                if let Some(line) = json["line"].as_u64() {
                    region.insert("startLine".to_owned(), line.into());
                }
                if let Some(column) = json["column"].as_u64() {
                    region.insert("startColumn".to_owned(), column.into());
                }
                fields.insert(
                    "locations".to_owned(),
                    serde_json::json!([{"physicalLocation": {
                        "artifactLocation": {"uri": file},
                        "region": region,
                    }}]),
                );
            }
            result
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "enforcer",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": codes.iter().map(|code| serde_json::json!({"id": code})).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}

/// The diagnostics as JUnit XML: one test case per policy file (or path, for problems with no
/// file), failing with one `<failure>` per error; warnings go to `<system-out>`.
fn write_junit(
    out: &mut impl Write,
    paths: &[PathBuf],
    diagnostics: &[Diagnostic],
) -> std::io::Result<()> {
    let mut cases: std::collections::BTreeMap<String, Vec<&Diagnostic>> =
        std::collections::BTreeMap::new();
    for diagnostic in diagnostics {
        let file = diagnostic.to_json()["file"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            });
        cases.entry(file).or_default().push(diagnostic);
    }
    let failures = count(diagnostics, Level::Error);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="enforcer validate" tests="{}" failures="{failures}">"#,
        cases.len().max(1)
    )?;
    writeln!(
        out,
        r#"  <testsuite name="policies" tests="{}" failures="{failures}">"#,
        cases.len().max(1)
    )?;
    if cases.is_empty() {
        writeln!(
            out,
            r#"    <testcase name="policies validate" classname="policies"/>"#
        )?;
    }
    for (file, found) in &cases {
        writeln!(
            out,
            r#"    <testcase name="{}" classname="policies">"#,
            xml_escape(file)
        )?;
        for diagnostic in found.iter().filter(|d| d.level == Level::Error) {
            let json = diagnostic.to_json();
            let at = match (json["line"].as_u64(), json["column"].as_u64()) {
                (Some(line), Some(column)) => format!("{file}:{line}:{column}: "),
                _ => String::new(),
            };
            writeln!(
                out,
                r#"      <failure type="{}" message="{}">{}{}</failure>"#,
                xml_escape(diagnostic.code),
                xml_escape(&diagnostic.message),
                xml_escape(&at),
                xml_escape(diagnostic.help.as_deref().unwrap_or(&diagnostic.message)),
            )?;
        }
        let warnings: Vec<String> = found
            .iter()
            .filter(|d| d.level == Level::Warning)
            .map(|d| format!("warning[{}]: {}", d.code, d.message))
            .collect();
        if !warnings.is_empty() {
            writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml_escape(&warnings.join("\n"))
            )?;
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}
