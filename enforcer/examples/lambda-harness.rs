//! Bench helper: measures a Lambda binary on this machine against the local Lambda Runtime API
//! the tests use (`enforcer_testkit::runtime_api`) on 127.0.0.1. Not part of the `enforcer` CLI.
//!
//! For each run it starts the binary with `AWS_LAMBDA_RUNTIME_API` pointing at that server and
//! measures:
//! - **init**: process start → its first `GET /2018-06-01/runtime/invocation/next`;
//! - **per event**: the server handing an event out → the function posting its response
//!   (includes two loopback HTTP exchanges, about 0.1 ms);
//! - **peak RSS**: `VmHWM` of the process after the last event.
//!
//! ```sh
//! cargo run --release --example lambda-harness -- --bin target/release/enforcer-lambda \
//!     [--runs 20] [--events 200] [--event FILE]... [--env KEY=VALUE]...
//! ```
//! `--events 0` measures init alone (and the peak RSS at the first poll): for a function whose
//! events cannot be answered here, e.g. with its AWS backends pointed at a closed port.
//! Events default to `events/samples/*.json`, handed out in turn.

use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use enforcer_testkit::runtime_api::{Outcome, RuntimeApi};
use serde_json::Value;

/// Measures a Lambda binary's init, per-event time and peak memory.
#[derive(Debug, Parser)]
struct Args {
    /// The Lambda binary (a custom runtime: `bootstrap`).
    #[arg(long)]
    bin: PathBuf,
    /// Process starts to measure.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Events per run.
    #[arg(long, default_value_t = 200)]
    events: usize,
    /// Event files handed out in turn (default: events/samples/*.json).
    #[arg(long)]
    event: Vec<PathBuf>,
    /// Extra environment for the function, `KEY=VALUE`.
    #[arg(long)]
    env: Vec<String>,
    /// Give up on a run after this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

/// How long an invocation may run, as the function sees it (Lambda's maximum).
const INVOCATION_DEADLINE: Duration = Duration::from_secs(900);

struct RunResult {
    init: Duration,
    per_event: Vec<Duration>,
    peak_rss_kb: u64,
    errors: usize,
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Fails when the function has exited: a Lambda runtime never returns on its own.
fn still_running(child: &mut Child) -> Result<(), String> {
    match child.try_wait() {
        Ok(Some(status)) => Err(format!("the function exited early: {status}")),
        Ok(None) => Ok(()),
        Err(e) => Err(format!("cannot watch the function: {e}")),
    }
}

fn run_once(args: &Args, events: &[Value]) -> Result<RunResult, String> {
    let api = RuntimeApi::start(INVOCATION_DEADLINE);
    let mut command = Command::new(&args.bin);
    command
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "enforcer")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/enforcer")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("_HANDLER", "bootstrap")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for pair in &args.env {
        if let Some((key, value)) = pair.split_once('=') {
            command.env(key, value);
        }
    }
    // Queued before the start: each event's time runs from when the function takes it.
    let ids: Vec<String> = events
        .iter()
        .cycle()
        .take(args.events)
        .map(|event| api.invoke(event))
        .collect();
    let start = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", args.bin.display()))?;
    let result = measure(args, &api, &ids, start, &mut child);
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn measure(
    args: &Args,
    api: &RuntimeApi,
    ids: &[String],
    start: Instant,
    child: &mut Child,
) -> Result<RunResult, String> {
    const POLL: Duration = Duration::from_millis(50);
    let deadline = start + Duration::from_secs(args.timeout);
    let first_poll = loop {
        if let Some(at) = api.first_poll(POLL) {
            break at;
        }
        still_running(child)?;
        if Instant::now() >= deadline {
            return Err("timed out before the first poll".to_owned());
        }
    };
    let mut per_event = Vec::with_capacity(ids.len());
    let mut errors = 0;
    for (answered, id) in ids.iter().enumerate() {
        let outcome = loop {
            if let Some(outcome) = api.wait(id, POLL) {
                break outcome;
            }
            still_running(child)?;
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out: {answered} of {} events answered",
                    ids.len()
                ));
            }
        };
        errors += usize::from(matches!(outcome, Outcome::Error { .. }));
        per_event.extend(api.answered_in(id));
    }
    // `--events 0` measures init alone: the peak RSS is the one at the first poll.
    let peak_rss_kb = peak_rss_kb(child.id());
    errors += usize::from(api.wait_init_error(Duration::ZERO).is_some());
    Ok(RunResult {
        init: first_poll.saturating_duration_since(start),
        per_event,
        peak_rss_kb,
        errors,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut paths = args.event.clone();
    if paths.is_empty() {
        let samples = enforcer_testkit::repo_root().join("events/samples");
        if let Ok(entries) = std::fs::read_dir(samples) {
            paths = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
        }
        paths.sort();
    }
    let mut events: Vec<Value> = Vec::with_capacity(paths.len());
    for path in &paths {
        let event = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()));
        match event {
            Ok(event) => events.push(event),
            Err(error) => {
                eprintln!("error: {}: {error}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    if events.is_empty() {
        eprintln!("error: no events to hand out");
        return ExitCode::from(2);
    }
    let mut inits = Vec::new();
    let mut firsts = Vec::new();
    let mut rest = Vec::new();
    let mut peak = 0;
    let mut errors = 0;
    for run in 0..args.runs {
        match run_once(&args, &events) {
            Ok(result) => {
                inits.push(result.init);
                firsts.extend(result.per_event.first().copied());
                rest.extend(result.per_event.iter().skip(1).copied());
                peak = peak.max(result.peak_rss_kb);
                errors += result.errors;
            }
            Err(error) => {
                eprintln!("error: run {}: {error}", run + 1);
                return ExitCode::from(1);
            }
        }
    }
    for list in [&mut inits, &mut firsts, &mut rest] {
        list.sort_unstable();
    }
    let size = std::fs::metadata(&args.bin).map_or(0, |m| m.len());
    println!(
        "binary {} ({:.2} MB)",
        args.bin.display(),
        size as f64 / 1e6
    );
    println!(
        "init (start → first poll), {} runs: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        inits.len(),
        ms(percentile(&inits, 0.5)),
        ms(percentile(&inits, 0.99)),
        ms(percentile(&inits, 1.0))
    );
    if !firsts.is_empty() {
        println!(
            "first event of a run: p50 {:.3} ms, max {:.3} ms",
            ms(percentile(&firsts, 0.5)),
            ms(percentile(&firsts, 1.0))
        );
    }
    if !rest.is_empty() {
        println!(
            "per event after the first, {} events: p50 {:.3} ms, p99 {:.3} ms",
            rest.len(),
            ms(percentile(&rest, 0.5)),
            ms(percentile(&rest, 0.99))
        );
    }
    println!("peak RSS (VmHWM): {:.1} MB", peak as f64 / 1024.0);
    if errors > 0 {
        println!("the function reported {errors} errors (invocation or init errors)");
    }
    ExitCode::SUCCESS
}
