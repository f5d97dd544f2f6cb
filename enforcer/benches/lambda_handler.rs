//! The Lambda handler in-process with the in-memory backends: what one event costs once the
//! function is warm, without the Runtime API's HTTP exchange (`examples/lambda-harness` measures
//! the real binary, that exchange included), and what the in-process part of init costs.
//!
//! Prints p50/p99 per event over every sample event (`events/samples/*.json`), first delivery
//! (a fresh handler each round, so each event meets the resource as it arrives) and redelivery
//! (the same handler again: the remediated tags are already there), and what loading the AWS
//! configuration and building the SDK clients add to init, then runs criterion.
//!
//! ```sh
//! cargo bench --bench lambda_handler
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use enforcer::act::aws::{load_config, AwsClients};
use enforcer::act::{InMemoryNotify, InMemoryQuarantine, InMemoryTagStore, ReadRetry};
use enforcer::lambda::{prepare, Config, Handler, MemoryAccounts, Prepared};

const OWN_ACCOUNT: &str = "111122223333";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn samples() -> Vec<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("events/samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

/// The configuration `ENFORCER_BACKEND=memory ENFORCER_MODE=enforce` gives the binary.
fn config() -> Config {
    let policies = repo().join("policies").display().to_string();
    Config::from_env(|key| match key {
        "ENFORCER_POLICY_DIR" => Some(policies.clone()),
        "ENFORCER_MODE" => Some("enforce".to_owned()),
        "ENFORCER_BACKEND" => Some("memory".to_owned()),
        _ => None,
    })
    .unwrap()
}

fn handler(config: &Config) -> Handler<MemoryAccounts, InMemoryNotify> {
    // The in-memory store already holds each event's own tags, so the read never lags; no
    // retry delay can enter the figures.
    let prepared = Prepared {
        read_retry: ReadRetry::none(),
        ..prepare(config).unwrap()
    };
    Handler::new(
        config.clone(),
        prepared,
        MemoryAccounts::new(InMemoryTagStore::new(), InMemoryQuarantine::new()),
        InMemoryNotify::new(),
    )
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn report(label: &str, mut samples: Vec<u64>) {
    samples.sort_unstable();
    let mean = samples.iter().sum::<u64>() as f64 / samples.len() as f64;
    println!(
        "{label:<40} n={:>7}  p50 {:>8.2} µs  p99 {:>8.2} µs  mean {:>8.2} µs  max {:>9.2} µs",
        samples.len(),
        percentile(&samples, 0.50) as f64 / 1000.0,
        percentile(&samples, 0.99) as f64 / 1000.0,
        mean / 1000.0,
        samples.last().copied().unwrap_or(0) as f64 / 1000.0
    );
}

/// What the AWS backends add to init: the standard configuration chain and the SDK clients.
/// Static credentials and a closed endpoint: nothing here reaches the network.
fn aws_init(runtime: &tokio::runtime::Runtime) {
    for (key, value) in [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(key, value);
    }
    let (mut config_times, mut client_times) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        let start = Instant::now();
        let config = runtime.block_on(load_config());
        config_times.push(start.elapsed().as_nanos() as u64);
        let start = Instant::now();
        black_box(AwsClients::new(&config));
        client_times.push(start.elapsed().as_nanos() as u64);
    }
    report("init in-process: aws_config load", config_times);
    report("init in-process: the SDK clients", client_times);
}

fn main() {
    let events = samples();
    let config = config();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let rounds = 30;
    let (mut init, mut first, mut again) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        let handler = black_box(handler(&config));
        init.push(start.elapsed().as_nanos() as u64);
        for times in [&mut first, &mut again] {
            for event in &events {
                let start = Instant::now();
                // A retryable error cannot happen in memory; either way the work was done.
                let _ = black_box(runtime.block_on(handler.handle(event, Some(OWN_ACCOUNT))));
                times.push(start.elapsed().as_nanos() as u64);
            }
        }
    }
    println!(
        "\nLambda handler in-process, in-memory backends, {} sample events × {rounds} rounds:",
        events.len()
    );
    report("init in-process (policies, catalog)", init);
    aws_init(&runtime);
    report("per event, first delivery", first);
    report("per event, redelivery", again);
    println!();

    let handler = handler(&config);
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("lambda_handler");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("handle_every_sample_redelivered", |b| {
        b.iter(|| {
            for event in &events {
                let _ = black_box(runtime.block_on(handler.handle(event, Some(OWN_ACCOUNT))));
            }
        })
    });
    group.finish();
    criterion.final_summary();
}
