//! `enforcer test`: run the policies' own test cases, reported like `cargo test`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use enforcer::authoring::{load_cases, run_cases, CaseReport, CaseSet};

use super::output::{write_record, Format, Style};
use super::{catalog, known_types, load_policies, CliError, Exit};

/// Arguments of `enforcer test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Policy directories (every `*.toml` directly inside) or files.
    #[arg(env = "ENFORCER_POLICY_DIR", default_value = "policies")]
    paths: Vec<PathBuf>,
    /// Case files or directories [default: the `tests/` directory beside each policy path].
    #[arg(long)]
    cases: Vec<PathBuf>,
    /// Run only the cases whose `<file>::<name>` contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Output format: a report like `cargo test`, or JSON Lines (one `case` record per case,
    /// then a `summary`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Runs `enforcer test`: exit 0 when every case passes, 1 when one fails, 2 when the policies
/// or the cases do not load.
pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.paths)?;
    let case_paths = if args.cases.is_empty() {
        default_case_dirs(&args.paths)
    } else {
        args.cases.clone()
    };
    let style = Style::for_stderr();
    let mut cases = match load_cases(&case_paths, &loaded.set, &known_types()) {
        Ok(cases) => cases,
        Err(diagnostics) => {
            for diagnostic in &diagnostics {
                eprint!("{}", diagnostic.render(style.enabled()));
            }
            return Err(CliError::BadInput(
                "the test cases do not load; fix them and run `enforcer test` again".to_owned(),
            )
            .into());
        }
    };
    let total = cases.cases.len();
    if let Some(filter) = &args.filter {
        cases.cases.retain(|case| case.id.contains(filter.as_str()));
    }
    let filtered_out = total - cases.cases.len();
    let reports = run_cases(&cases, &loaded.set, &catalog()?, jiff::Timestamp::now());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let failed = reports.iter().filter(|report| !report.passed()).count();
    match args.format {
        Format::Text => write_reports(
            &mut out,
            &cases,
            &reports,
            filtered_out,
            Style::for_stdout(),
        )?,
        Format::Json => {
            for report in &reports {
                let record = serde_json::json!({
                    "id": report.id,
                    "location": report.location,
                    "passed": report.passed(),
                    "mismatches": report.mismatches,
                });
                write_record(&mut out, "case", &record)?;
            }
            let summary = serde_json::json!({
                "cases": reports.len(),
                "passed": reports.len() - failed,
                "failed": failed,
                "filtered_out": filtered_out,
            });
            write_record(&mut out, "summary", &summary)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(Exit::findings_if(failed > 0)))
}

/// `tests/` beside each policy path: inside a directory, beside a file. Missing ones are skipped.
fn default_case_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for path in paths {
        let base = if path.is_file() {
            path.parent().map(PathBuf::from).unwrap_or_default()
        } else {
            path.clone()
        };
        let dir = base.join("tests");
        if dir.is_dir() && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

fn write_reports(
    out: &mut impl Write,
    cases: &CaseSet,
    reports: &[CaseReport],
    filtered_out: usize,
    style: Style,
) -> std::io::Result<()> {
    let paint = |code: &str, text: &str| {
        if style.enabled() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    writeln!(
        out,
        "running {} test{} from {} file{}",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        cases.files.len(),
        if cases.files.len() == 1 { "" } else { "s" }
    )?;
    for report in reports {
        let status = if report.passed() {
            paint("32", "ok")
        } else {
            paint("31", "FAILED")
        };
        writeln!(out, "test {} ... {status}", report.id)?;
    }
    let failed: Vec<&CaseReport> = reports.iter().filter(|r| !r.passed()).collect();
    if !failed.is_empty() {
        writeln!(out, "\nfailures:")?;
        for report in &failed {
            writeln!(
                out,
                "\n---- {} ({}) ----\nexpected (-) and actual (+):",
                report.id, report.location
            )?;
            for mismatch in &report.mismatches {
                writeln!(out, "  {}:", mismatch.field)?;
                for line in &mismatch.common {
                    writeln!(out, "      {line}")?;
                }
                for line in &mismatch.expected {
                    writeln!(out, "    {}", paint("31", &format!("- {line}")))?;
                }
                for line in &mismatch.actual {
                    writeln!(out, "    {}", paint("32", &format!("+ {line}")))?;
                }
            }
        }
        writeln!(out, "\nfailures:")?;
        for report in &failed {
            writeln!(out, "    {}", report.id)?;
        }
    }
    let passed = reports.len() - failed.len();
    let result = if failed.is_empty() {
        paint("32", "ok")
    } else {
        paint("31", "FAILED")
    };
    writeln!(
        out,
        "\ntest result: {result}. {passed} passed; {} failed; {filtered_out} filtered out",
        failed.len()
    )
}
