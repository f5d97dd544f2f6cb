//! Bench helper: writes a CloudTrail history in the S3 layout, built from the real records in
//! `tests/corpora/` (see `enforcer_testkit::generate`). Not part of the `enforcer` CLI.
//!
//! ```sh
//! cargo run --release --example gen-cloudtrail -- --out /tmp/ct --size 500M [--catalogued 0.25]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use enforcer::catalog::Catalog;
use enforcer::event::{ResolveOptions, Resolver};
use enforcer_testkit::generate::{generate, GeneratorConfig, Templates};

/// Writes generated CloudTrail log files.
#[derive(Debug, Parser)]
struct Args {
    /// Output directory (the `AWSLogs/` tree goes inside).
    #[arg(long)]
    out: PathBuf,
    /// JSON bytes to write before compression, e.g. `500M`, `1G`, `100000`.
    #[arg(long, default_value = "100M")]
    size: String,
    /// Share of records drawn from catalogued calls (default: every corpus record equally).
    #[arg(long)]
    catalogued: Option<f64>,
    /// Days the history spans.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Records per file.
    #[arg(long, default_value_t = 1000)]
    records_per_file: usize,
    /// Resources per kind in the pool.
    #[arg(long, default_value_t = 1000)]
    resources: usize,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Write plain `.json` instead of `.json.gz`.
    #[arg(long)]
    plain: bool,
    /// A folder holding corpora like `tests/corpora/` (`cloudtrail-real/` and `cloudtrail-docs/`
    /// of `*.jsonl` records); default: the repository's own.
    #[arg(long)]
    corpora: Option<PathBuf>,
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, scale) = match text.char_indices().last()? {
        (at, 'k' | 'K') => (&text[..at], 1_000),
        (at, 'm' | 'M') => (&text[..at], 1_000_000),
        (at, 'g' | 'G') => (&text[..at], 1_000_000_000),
        _ => (text, 1),
    };
    Some((digits.parse::<f64>().ok()? * scale as f64) as u64)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(target_bytes) = parse_size(&args.size) else {
        eprintln!("error: --size {} is not a size", args.size);
        return ExitCode::from(2);
    };
    let catalog = match Catalog::builtin() {
        Ok(catalog) => catalog,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let resolver = Resolver::new(catalog, ResolveOptions::default());
    let corpora = args
        .corpora
        .clone()
        .unwrap_or_else(enforcer_testkit::corpora_dir);
    let dirs = enforcer_testkit::CORPORA.map(|folder| corpora.join(folder));
    let templates = match Templates::from_dirs(&dirs, &resolver) {
        Ok(templates) => templates,
        Err(error) => {
            eprintln!(
                "error: cannot read the corpora in {}: {error}",
                corpora.display()
            );
            return ExitCode::from(2);
        }
    };
    let config = GeneratorConfig {
        seed: args.seed,
        target_bytes,
        records_per_file: args.records_per_file,
        days: args.days,
        catalogued_share: args.catalogued,
        resources: args.resources,
        gzip: !args.plain,
        ..GeneratorConfig::default()
    };
    match generate(&templates, &config, &args.out) {
        Ok(done) => {
            println!(
                "{} files, {} records, {} JSON bytes, {} bytes on disk ({} templates, {} catalogued)",
                done.files,
                done.records,
                done.json_bytes,
                done.disk_bytes,
                templates.all.len(),
                templates.catalogued()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
