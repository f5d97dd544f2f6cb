//! The hot path on real records: decode + resolve + evaluate one record.
//!
//! Prints p50/p99 per record over every record of the corpora in `tests/corpora/` (many rounds, each record
//! timed alone), then runs criterion on the same work.
//!
//! ```sh
//! cargo bench --bench hot_path
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use enforcer::act::{read_and_decide, InMemoryTagStore, ReadRetry};
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::event::{decode_one, Location, RecordHeader, ResolveOptions, Resolver};
use enforcer::policy::PolicySet;
use enforcer::replay::{quick, CatalogIndex, Quick};

fn records() -> Vec<String> {
    let mut out = Vec::new();
    for folder in enforcer_testkit::CORPORA {
        for file in enforcer_testkit::corpus_files(folder).unwrap() {
            let text = std::fs::read_to_string(file).unwrap();
            out.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned),
            );
        }
    }
    out
}

/// What `enforcer check` decides records with: the shipped policies, an in-memory store.
struct Deciding {
    resolver: Resolver,
    policies: PolicySet,
    store: InMemoryTagStore,
}

fn engine() -> Deciding {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let policies = enforcer::policy::load(&[root.join("policies")], KNOWN_RESOURCE_TYPES).unwrap();
    Deciding {
        resolver: Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default()),
        policies: policies.set,
        store: InMemoryTagStore::new(),
    }
}

fn location() -> Location {
    Location {
        file: "corpus".to_owned(),
        line: 1,
        index: None,
    }
}

/// The work `enforcer check` and the Lambda do per record.
fn decide(engine: &Deciding, runtime: &tokio::runtime::Runtime, raw: &str) -> usize {
    match decode_one(raw, location()) {
        Ok((location, event)) => {
            let retry = ReadRetry::default();
            let decided = read_and_decide(
                &engine.store,
                &retry,
                engine.resolver.resolve(&event),
                &engine.policies,
                engine.policies.mode,
                Some(&location),
            );
            runtime.block_on(decided).0.resources.len()
        }
        Err(_) => 0,
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn report(label: &str, mut samples: Vec<u64>) {
    samples.sort_unstable();
    println!(
        "{label:<44} n={:>7}  p50 {:>8.2} µs  p99 {:>8.2} µs  max {:>9.2} µs",
        samples.len(),
        percentile(&samples, 0.50) as f64 / 1000.0,
        percentile(&samples, 0.99) as f64 / 1000.0,
        samples.last().copied().unwrap_or(0) as f64 / 1000.0
    );
}

fn percentiles(records: &[String], catalogued: &[bool]) {
    let engine = engine();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let index = CatalogIndex::new(engine.resolver.catalog());
    let rounds = 200;
    let (mut all, mut resolved, mut header) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (raw, is_catalogued) in records.iter().zip(catalogued) {
            let start = Instant::now();
            black_box(decide(&engine, &runtime, black_box(raw)));
            let took = start.elapsed().as_nanos() as u64;
            all.push(took);
            if *is_catalogued {
                resolved.push(took);
            }
            let start = Instant::now();
            if let Ok(h) = RecordHeader::parse(black_box(raw)) {
                black_box(quick(&h, &index, false));
            }
            header.push(start.elapsed().as_nanos() as u64);
        }
    }
    println!(
        "\nper record, {} real records × {rounds} rounds:",
        records.len()
    );
    report("decode + resolve + evaluate (every record)", all);
    report("decode + resolve + evaluate (catalogued only)", resolved);
    report("replay fast path: header parse + lookup", header);
    println!();
}

fn main() {
    let records = records();
    let engine = engine();
    let index = CatalogIndex::new(engine.resolver.catalog());
    let catalogued: Vec<bool> = records
        .iter()
        .map(|raw| {
            RecordHeader::parse(raw).map_or(true, |h| quick(&h, &index, false) == Quick::Decode)
        })
        .collect();
    percentiles(&records, &catalogued);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let full: Vec<&String> = records
        .iter()
        .zip(&catalogued)
        .filter_map(|(r, c)| c.then_some(r))
        .collect();
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("one_record");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("decide_every_corpus_record", |b| {
        b.iter(|| {
            records
                .iter()
                .map(|raw| decide(&engine, &runtime, raw))
                .sum::<usize>()
        })
    });
    group.throughput(Throughput::Elements(full.len() as u64));
    group.bench_function("decide_catalogued_records", |b| {
        b.iter(|| {
            full.iter()
                .map(|raw| decide(&engine, &runtime, raw))
                .sum::<usize>()
        })
    });
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("replay_header_fast_path", |b| {
        b.iter(|| {
            records
                .iter()
                .filter(|raw| {
                    RecordHeader::parse(raw)
                        .is_ok_and(|h| quick(&h, &index, false) == Quick::Decode)
                })
                .count()
        })
    });
    group.finish();
    criterion.final_summary();
}
