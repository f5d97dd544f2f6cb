//! `enforcer events`: the catalog of supported calls, coverage of a CloudTrail corpus, and the
//! EventBridge patterns that match the catalogued calls.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use enforcer::catalog::{base_event_name, event_patterns, Catalog, CatalogEntry};
use enforcer::event::{InputEvent, Resolution, ResolveOptions, ResolvedBy, Resolver};
use serde::Serialize;

use super::input::{expand_inputs, read_input};
use super::output::{write_record, Format};
use super::{catalog, CliError};

/// Arguments of `enforcer events`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    command: EventsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum EventsCommand {
    /// List the catalogued CloudTrail calls: one line (or `call` record) per call.
    List(ListArgs),
    /// Report what the enforcer makes of a corpus of events: decoded, ignored, resolved,
    /// unsupported (ranked) and unresolved records. Exits 1 when any record fails to decode or a
    /// catalogued call does not resolve.
    Coverage(CoverageArgs),
    /// Print the EventBridge event patterns that match exactly the catalogued calls: one per
    /// `source` (an EventBridge rule each), then the `Tag Change on Resource` pattern.
    Pattern(PatternArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Output format: a table, or JSON Lines (a `call` record per call, then a `summary`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, clap::Args)]
struct CoverageArgs {
    /// Files or directories of events, in any form `check` accepts (`-` for stdin).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format: a report, or JSON Lines (`decode_error`, `unresolved`, `call_count` and
    /// `ignored` records, then a `summary`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// ARN of the enforcer's own role; its calls count as ignored (loop guard).
    #[arg(long, env = "ENFORCER_ROLE_ARN")]
    enforcer_role: Vec<String>,
    /// How many unsupported calls to show in the text report (all of them in JSON).
    #[arg(long, default_value_t = 25)]
    top: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PatternFormat {
    /// A JSON array of `{"name", "event_pattern"}`, indented.
    Json,
    /// One compact `{"name", "event_pattern"}` object per line.
    Jsonl,
}

#[derive(Debug, clap::Args)]
struct PatternArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = PatternFormat::Json)]
    format: PatternFormat,
}

/// Runs `enforcer events`.
pub fn run(args: EventsArgs) -> anyhow::Result<ExitCode> {
    let catalog = catalog()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = match args.command {
        EventsCommand::List(args) => {
            list(&mut out, &catalog, args.format)?;
            ExitCode::SUCCESS
        }
        EventsCommand::Pattern(args) => {
            pattern(&mut out, &catalog, args.format)?;
            ExitCode::SUCCESS
        }
        EventsCommand::Coverage(args) => {
            let resolver = Resolver::new(
                catalog,
                ResolveOptions {
                    own_principals: args.enforcer_role.clone(),
                },
            );
            let (report, unreadable) = coverage(&resolver, &args.paths);
            let exit: u8 = if report.decode_errors.is_empty() && report.unresolved.records == 0 {
                0
            } else {
                1
            };
            match args.format {
                Format::Json => write_coverage_records(&mut out, &report, exit)?,
                Format::Text => write_coverage(&mut out, &report, args.top)?,
            }
            if unreadable > 0 {
                out.flush()?;
                return Err(CliError::UnreadableInputs(unreadable).into());
            }
            ExitCode::from(exit)
        }
    };
    out.flush()?;
    Ok(code)
}

/// One catalogued call, as `events list --format json` prints it (a `call` record).
#[derive(Debug, Serialize)]
struct ListedCall<'a> {
    event_source: &'a str,
    event_name: &'a str,
    eventbridge_source: String,
    /// `create`, `modify`, `tag`, … (named apart from the record's own `kind`).
    call_kind: &'static str,
    /// The entry's type, or `from_arn` / `by_id_prefix`.
    resource_type: &'a str,
    /// Every type the call can resolve to (several for `by_id_prefix`).
    resource_types: Vec<&'a str>,
    /// The versioned names CloudTrail writes for the call (`CreateFunction20150331`).
    cloudtrail_names: &'a [String],
    /// True for entries of `events/catalog-generated.toml`.
    generated: bool,
}

fn listed<'a>(catalog: &Catalog, entry: &'a CatalogEntry) -> ListedCall<'a> {
    ListedCall {
        event_source: &entry.event_source,
        event_name: &entry.event_name,
        eventbridge_source: catalog.source_info(&entry.event_source).eventbridge_source,
        call_kind: entry.kind.as_str(),
        resource_type: &entry.resource_type,
        resource_types: entry.resource_types(),
        cloudtrail_names: &entry.cloudtrail_names,
        generated: entry.generated,
    }
}

fn list(out: &mut impl Write, catalog: &Catalog, format: Format) -> anyhow::Result<()> {
    let calls: Vec<ListedCall<'_>> = catalog
        .entries()
        .iter()
        .map(|entry| listed(catalog, entry))
        .collect();
    let services: BTreeSet<&str> = calls.iter().map(|c| c.event_source).collect();
    let generated = calls.iter().filter(|c| c.generated).count();
    if format == Format::Json {
        /// The closing record of `events list --format json`.
        #[derive(Serialize)]
        struct ListSummary {
            calls: usize,
            services: usize,
            hand_written: usize,
            generated: usize,
        }
        for call in &calls {
            write_record(out, "call", call)?;
        }
        write_record(
            out,
            "summary",
            &ListSummary {
                calls: calls.len(),
                services: services.len(),
                hand_written: calls.len() - generated,
                generated,
            },
        )?;
        return Ok(());
    }
    let width = |f: fn(&ListedCall<'_>) -> usize| calls.iter().map(f).max().unwrap_or(0);
    let source_width = width(|c| c.event_source.len()).max("EVENT SOURCE".len());
    let name_width = width(|c| c.event_name.len()).max("EVENT NAME".len());
    writeln!(
        out,
        "{:<source_width$}  {:<name_width$}  {:<12}  RESOURCE TYPE",
        "EVENT SOURCE", "EVENT NAME", "KIND"
    )?;
    for call in &calls {
        let kind = if call.resource_types.len() > 1 {
            call.resource_types.join(", ")
        } else {
            call.resource_type.to_owned()
        };
        writeln!(
            out,
            "{:<source_width$}  {:<name_width$}  {:<12}  {kind}",
            call.event_source, call.event_name, call.call_kind
        )?;
        // Versioned names on lines of their own, so `grep CreateFunction20150331` finds them.
        for versioned in call.cloudtrail_names {
            writeln!(
                out,
                "{:<source_width$}  {:<name_width$}  {:<12}  (the name CloudTrail writes for {})",
                call.event_source, versioned, call.call_kind, call.event_name
            )?;
        }
    }
    writeln!(
        out,
        "\n{} calls over {} services ({} hand-written, {generated} generated)",
        calls.len(),
        services.len(),
        calls.len() - generated
    )?;
    Ok(())
}

fn pattern(out: &mut impl Write, catalog: &Catalog, format: PatternFormat) -> anyhow::Result<()> {
    let patterns = event_patterns(catalog);
    match format {
        PatternFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &patterns)?;
            writeln!(out)?;
        }
        PatternFormat::Jsonl => {
            for pattern in &patterns {
                serde_json::to_writer(&mut *out, pattern)?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// What `events coverage` reports.
#[derive(Debug, Default)]
struct Coverage {
    /// Input files read.
    files: usize,
    /// Records (events) found, decodable or not.
    records: usize,
    /// Records that decoded.
    decoded: usize,
    /// Records that did not decode, with where and why.
    decode_errors: Vec<Located>,
    /// Records resolved to resources.
    resolved: Resolved,
    /// Records of create calls the catalog does not know, resolved to the ARN their response
    /// carries (alerted on, never changed): counted apart from `resolved`.
    inferred: Resolved,
    /// Records deliberately not acted on.
    ignored: Ignored,
    /// Records of calls the catalog does not know, ranked by count.
    unsupported: Unsupported,
    /// Records of catalogued calls whose resources could not be found.
    unresolved: Unresolved,
}

#[derive(Debug, Default, Serialize)]
struct Located {
    location: String,
    reason: String,
}

#[derive(Debug, Default)]
struct Resolved {
    records: usize,
    resources: usize,
    /// Distinct catalogued calls seen.
    calls: usize,
    /// Records per catalogued call, most frequent first.
    by_call: Vec<CallCount>,
}

#[derive(Debug, Default)]
struct Ignored {
    records: usize,
    by_reason: Vec<ReasonCount>,
}

#[derive(Debug, Default)]
struct Unsupported {
    records: usize,
    /// Distinct calls.
    calls: usize,
    /// Records per call, most frequent first.
    by_call: Vec<CallCount>,
}

#[derive(Debug, Default)]
struct Unresolved {
    records: usize,
    list: Vec<UnresolvedRecord>,
}

#[derive(Debug, Serialize)]
struct UnresolvedRecord {
    location: String,
    event_source: String,
    event_name: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct CallCount {
    event_source: String,
    event_name: String,
    count: usize,
}

#[derive(Debug, Serialize)]
struct ReasonCount {
    reason: String,
    count: usize,
}

/// Counts by key, ranked: most frequent first, then by key.
fn ranked<K: Ord + Clone>(counts: &BTreeMap<K, usize>) -> Vec<(K, usize)> {
    let mut ranked: Vec<(K, usize)> = counts.iter().map(|(k, n)| (k.clone(), *n)).collect();
    ranked.sort_by(|(ka, a), (kb, b)| b.cmp(a).then_with(|| ka.cmp(kb)));
    ranked
}

fn call_counts(counts: &BTreeMap<(String, String), usize>) -> Vec<CallCount> {
    ranked(counts)
        .into_iter()
        .map(|((event_source, event_name), count)| CallCount {
            event_source,
            event_name,
            count,
        })
        .collect()
}

/// The coverage of the inputs, and how many inputs could not be read (each said on stderr).
fn coverage(resolver: &Resolver, paths: &[PathBuf]) -> (Coverage, usize) {
    let mut unreadable = 0;
    let mut report = Coverage::default();
    let mut resolved_calls: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut inferred_calls: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut unsupported_calls: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
    for path in expand_inputs(paths) {
        let records = match read_input(&path) {
            Ok(records) => records,
            Err(error) => {
                eprintln!("error: {error}");
                unreadable += 1;
                continue;
            }
        };
        report.files += 1;
        for result in records {
            report.records += 1;
            let (location, event) = match result {
                Ok(decoded) => decoded,
                Err(error) => {
                    report.decode_errors.push(Located {
                        location: error.location.to_string(),
                        reason: error.message,
                    });
                    continue;
                }
            };
            report.decoded += 1;
            match resolver.resolve(&event) {
                Resolution::Resolved(change) => {
                    let (counts, calls) = if change.resolved_by == Some(ResolvedBy::Inferred) {
                        (&mut report.inferred, &mut inferred_calls)
                    } else {
                        (&mut report.resolved, &mut resolved_calls)
                    };
                    counts.records += 1;
                    counts.resources += change.resources.len();
                    let name = base_event_name(&change.event_name).to_owned();
                    *calls
                        .entry((change.event_source.clone(), name))
                        .or_default() += 1;
                }
                Resolution::Ignored { reason, .. } => {
                    report.ignored.records += 1;
                    let label = match &event {
                        InputEvent::ApiCall(call) => resolver
                            .ignored_because(&call.record)
                            .map_or(reason, |why| why.label().to_owned()),
                        _ => reason,
                    };
                    *ignored.entry(label).or_default() += 1;
                }
                Resolution::Unsupported { header, .. } => {
                    report.unsupported.records += 1;
                    let name = base_event_name(&header.event_name).to_owned();
                    *unsupported_calls
                        .entry((header.event_source, name))
                        .or_default() += 1;
                }
                Resolution::Unresolved { header, reason } => {
                    report.unresolved.records += 1;
                    report.unresolved.list.push(UnresolvedRecord {
                        location: location.to_string(),
                        event_source: header.event_source,
                        event_name: header.event_name,
                        reason,
                    });
                }
            }
        }
    }
    report.resolved.calls = resolved_calls.len();
    report.resolved.by_call = call_counts(&resolved_calls);
    report.inferred.calls = inferred_calls.len();
    report.inferred.by_call = call_counts(&inferred_calls);
    report.unsupported.calls = unsupported_calls.len();
    report.unsupported.by_call = call_counts(&unsupported_calls);
    report.ignored.by_reason = ranked(&ignored)
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, count })
        .collect();
    (report, unreadable)
}

/// `events coverage --format json`: a record per decode error, unresolved record, call count
/// and ignore reason, then the `summary` of counts.
fn write_coverage_records(
    out: &mut impl Write,
    report: &Coverage,
    exit_code: u8,
) -> std::io::Result<()> {
    /// A call's records of one status (`resolved`, `inferred` or `unsupported`).
    #[derive(Serialize)]
    struct StatusCount<'a> {
        status: &'static str,
        #[serde(flatten)]
        call: &'a CallCount,
    }
    /// Record, resource and call counts of one status.
    #[derive(Serialize)]
    struct Counts {
        records: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        resources: Option<usize>,
        #[serde(skip_serializing_if = "Option::is_none")]
        calls: Option<usize>,
    }
    /// The closing record: every category's counts.
    #[derive(Serialize)]
    struct CoverageSummary {
        files: usize,
        records: usize,
        decoded: usize,
        decode_errors: Counts,
        resolved: Counts,
        inferred: Counts,
        ignored: Counts,
        unsupported: Counts,
        unresolved: Counts,
        exit_code: u8,
    }
    let only_records = |records| Counts {
        records,
        resources: None,
        calls: None,
    };
    let resolved = |r: &Resolved| Counts {
        records: r.records,
        resources: Some(r.resources),
        calls: Some(r.calls),
    };
    for error in &report.decode_errors {
        write_record(out, "decode_error", error)?;
    }
    for record in &report.unresolved.list {
        write_record(out, "unresolved", record)?;
    }
    for (status, calls) in [
        ("resolved", &report.resolved.by_call),
        ("inferred", &report.inferred.by_call),
        ("unsupported", &report.unsupported.by_call),
    ] {
        for call in calls {
            write_record(out, "call_count", &StatusCount { status, call })?;
        }
    }
    for reason in &report.ignored.by_reason {
        write_record(out, "ignored", reason)?;
    }
    let summary = CoverageSummary {
        files: report.files,
        records: report.records,
        decoded: report.decoded,
        decode_errors: only_records(report.decode_errors.len()),
        resolved: resolved(&report.resolved),
        inferred: resolved(&report.inferred),
        ignored: only_records(report.ignored.records),
        unsupported: Counts {
            records: report.unsupported.records,
            resources: None,
            calls: Some(report.unsupported.calls),
        },
        unresolved: only_records(report.unresolved.records),
        exit_code,
    };
    write_record(out, "summary", &summary)
}

fn write_coverage(out: &mut impl Write, report: &Coverage, top: usize) -> std::io::Result<()> {
    writeln!(
        out,
        "Coverage of {} records in {} files",
        report.records, report.files
    )?;
    writeln!(out, "  decoded        {:>6}", report.decoded)?;
    writeln!(out, "  decode errors  {:>6}", report.decode_errors.len())?;
    for error in &report.decode_errors {
        writeln!(out, "    {}: {}", error.location, error.reason)?;
    }
    writeln!(
        out,
        "  resolved       {:>6}  records of {} catalogued calls, {} resources",
        report.resolved.records, report.resolved.calls, report.resolved.resources
    )?;
    writeln!(
        out,
        "  inferred       {:>6}  records of {} create calls not in the catalog, {} resources (alert only)",
        report.inferred.records, report.inferred.calls, report.inferred.resources
    )?;
    writeln!(out, "  ignored        {:>6}", report.ignored.records)?;
    for reason in &report.ignored.by_reason {
        writeln!(out, "    {:>6}  {}", reason.count, reason.reason)?;
    }
    writeln!(
        out,
        "  unsupported    {:>6}  records of {} calls not in the catalog{}",
        report.unsupported.records,
        report.unsupported.calls,
        if report.unsupported.calls > top {
            format!(" (top {top})")
        } else {
            String::new()
        }
    )?;
    for call in report.unsupported.by_call.iter().take(top) {
        writeln!(
            out,
            "    {:>6}  {} {}",
            call.count, call.event_source, call.event_name
        )?;
    }
    writeln!(out, "  unresolved     {:>6}", report.unresolved.records)?;
    for record in &report.unresolved.list {
        writeln!(out, "    {}: {}", record.location, record.reason)?;
    }
    Ok(())
}
