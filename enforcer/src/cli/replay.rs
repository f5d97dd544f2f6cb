//! `enforcer replay`: what the policies would have said about every event of a CloudTrail
//! history, in `eventTime` order, over an in-memory model of each resource's tags.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use enforcer::act::aws::QuarantineConfig;
use enforcer::act::{InMemoryTagStore, TagStore};
use enforcer::engine::Decision;
use enforcer::event::{ResolveOptions, Resolver};
use enforcer::policy::PolicySet;
use enforcer::replay::current::{CurrentTags, ReadScope};
use enforcer::replay::time::rfc3339_millis;
use enforcer::replay::{self, html, order_files, Progress, ReplayOptions, ReplaySink};

use super::aws::{runtime, AwsBackends, AwsSelection};
use super::input::expand_inputs;
use super::output::{write_record, Format};
use super::{catalog, load_policies, CliError};

/// Arguments of `enforcer replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// CloudTrail history: log files or directories (an S3 tree
    /// `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`), or anything `check` reads.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Policy directory or files.
    #[arg(long, env = "ENFORCER_POLICY_DIR", default_value = "policies")]
    policies: Vec<PathBuf>,
    /// Judge each event against the account's current tags instead of the replayed model.
    #[arg(long)]
    aws: bool,
    #[command(flatten)]
    aws_selection: AwsSelection,
    /// Format of the summary on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write every decision to FILE as JSON Lines, in eventTime order (`check --format json`'s
    /// shape plus `event_time`).
    #[arg(long, value_name = "FILE")]
    decisions: Option<PathBuf>,
    /// Write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Decoding threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Records arriving up to this many minutes after newer ones are still applied in order.
    #[arg(long, value_name = "MINUTES", default_value_t = 15)]
    window: u64,
    /// ARN of the enforcer's own role; its calls are ignored (loop guard).
    #[arg(long, env = "ENFORCER_ROLE_ARN")]
    enforcer_role: Vec<String>,
}

/// Runs `enforcer replay`.
pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_policies(&args.policies)?;
    let resolver = Resolver::new(
        catalog()?,
        ResolveOptions {
            own_principals: args.enforcer_role.clone(),
        },
    );
    if args.aws {
        return replay_current_tags(&args, &resolver, &loaded.set);
    }
    let runtime = runtime()?;
    let model = InMemoryTagStore::new();
    replay_with(&args, &runtime, &resolver, &loaded.set, &model)
}

/// `replay --aws`: each event judged against its resources' tags as the account holds them now,
/// each resource read once.
fn replay_current_tags(
    args: &ReplayArgs,
    resolver: &Resolver,
    policies: &PolicySet,
) -> anyhow::Result<ExitCode> {
    let runtime = runtime()?;
    // A replay never quarantines or alerts; only the tag store is used.
    let backends = runtime.block_on(AwsBackends::load(
        &args.aws_selection,
        QuarantineConfig::default(),
        None,
    ))?;
    let account = runtime
        .block_on(backends.caller_account())
        .map_err(CliError::Aws)?;
    let scope = ReadScope {
        account: Some(account),
        region: Some(backends.region.clone()),
    };
    let store = CurrentTags::new(backends.store, scope);
    let code = replay_with(args, &runtime, resolver, policies, &store)?;
    eprintln!(
        "read the current tags of {} resources in {} calls",
        store.resources_read(),
        store.reads()
    );
    Ok(code)
}

/// Runs the replay over any tag store.
pub fn replay_with<S: TagStore>(
    args: &ReplayArgs,
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver,
    policies: &PolicySet,
    store: &S,
) -> anyhow::Result<ExitCode> {
    // A path that names nothing is a typo, not an empty history.
    for path in &args.paths {
        if let Err(source) = std::fs::metadata(path) {
            return Err(CliError::Unreadable {
                path: path.clone(),
                source,
            }
            .into());
        }
    }
    // CloudTrail-Digest files (log file validation) sit beside the logs and hold no records.
    let files = order_files(
        expand_inputs(&args.paths)
            .into_iter()
            .filter(|path| !replay::is_digest_file(path))
            .collect(),
    );
    if files.is_empty() {
        return Err(CliError::BadInput(
            "no CloudTrail files (*.json, *.jsonl, *.json.gz) under the given paths".to_owned(),
        )
        .into());
    }
    let decisions = match &args.decisions {
        Some(path) => Some(BufWriter::new(File::create(path).with_context(|| {
            format!("cannot create the decisions file {}", path.display())
        })?)),
        None => None,
    };
    let options = ReplayOptions {
        threads: args
            .threads
            .unwrap_or_else(|| ReplayOptions::default().threads),
        window_minutes: args.window,
        every_decision: decisions.is_some(),
        own_principals: !args.enforcer_role.is_empty(),
    };
    let mut sink = Sink {
        decisions,
        bar: super::progress::terminal_bar(),
        started: Instant::now(),
    };
    let summary = replay::replay(
        runtime, resolver, policies, store, &files, &options, &mut sink,
    )
    .context("the replay stopped")?;
    sink.bar.finish_and_clear();
    if let Some(mut writer) = sink.decisions.take() {
        writer.flush().context("cannot write the decisions file")?;
    }
    if let Some(path) = &args.html {
        let title = format!("Replay of {} CloudTrail records", summary.records);
        std::fs::write(path, html::render(&summary, &title))
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => write_record(&mut out, "summary", &summary)?,
        Format::Text => write!(out, "{}", summary.render_text())?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

struct Sink {
    decisions: Option<BufWriter<File>>,
    bar: indicatif::ProgressBar,
    started: Instant,
}

impl ReplaySink for Sink {
    fn decision(&mut self, decision: &Decision, time: Option<i64>) -> std::io::Result<()> {
        /// A decision as `check --format json` writes it, with the time it was replayed at.
        #[derive(serde::Serialize)]
        struct Line<'d> {
            event_time: Option<String>,
            #[serde(flatten)]
            decision: &'d Decision,
        }
        if let Some(out) = &mut self.decisions {
            let line = Line {
                event_time: time.map(rfc3339_millis),
                decision,
            };
            write_record(out, "decision", &line)?;
        }
        Ok(())
    }

    fn progress(&mut self, progress: &Progress) {
        if self.bar.is_hidden() {
            return;
        }
        self.bar.set_length(progress.bytes_total);
        self.bar.set_position(progress.bytes_done);
        let rate = progress.records as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!(
            "{}/{} files, {} records, {:.0} records/s",
            progress.files_done, progress.files_total, progress.records, rate
        ));
    }
}
