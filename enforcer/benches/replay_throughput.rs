//! Replay throughput against a bare `serde_json` parse of the same decompressed bytes, in one
//! run, on a generated CloudTrail tree.
//!
//! ```sh
//! cargo bench --bench replay_throughput -- --size 500M [--catalogued 0.25] [--repeat 3]
//! ```
//!
//! The tree is generated once under `$CARGO_TARGET_DIR/bench-data/` and reused; `--dir DIR`
//! reads an existing tree instead (e.g. one written by the `gen-cloudtrail` example).
//! Reported per line: median of `--repeat` runs (all runs in brackets), MB/s of decompressed
//! JSON, records/s, and the ratio to the bare `serde_json::Value` parse on one thread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use enforcer::act::InMemoryTagStore;
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::event::{read_text, ResolveOptions, Resolver};
use enforcer::replay::{order_files, replay, NoSink, ReplayOptions};
use enforcer_testkit::generate::{generate, GeneratorConfig, Templates};

struct Args {
    size: u64,
    dir: Option<PathBuf>,
    catalogued: Option<f64>,
    repeat: usize,
    threads: Vec<usize>,
}

fn parse_size(text: &str) -> u64 {
    let (digits, scale) = match text.chars().last() {
        Some('k' | 'K') => (&text[..text.len() - 1], 1e3),
        Some('m' | 'M') => (&text[..text.len() - 1], 1e6),
        Some('g' | 'G') => (&text[..text.len() - 1], 1e9),
        _ => (text, 1.0),
    };
    (digits.parse::<f64>().expect("a size like 500M") * scale) as u64
}

fn args() -> Args {
    let mut args = Args {
        size: 500_000_000,
        dir: None,
        catalogued: None,
        repeat: 3,
        threads: vec![1, 2],
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        let value = raw.get(i + 1).cloned().unwrap_or_default();
        match raw[i].as_str() {
            "--size" => args.size = parse_size(&value),
            "--dir" => args.dir = Some(PathBuf::from(value)),
            "--catalogued" => args.catalogued = Some(value.parse().expect("a share")),
            "--repeat" => args.repeat = value.parse().expect("a count"),
            "--threads" => {
                args.threads = value
                    .split(',')
                    .map(|t| t.parse().expect("threads"))
                    .collect()
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    args
}

fn resolver() -> Resolver {
    Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with(".json.gz")
                || path.to_string_lossy().ends_with(".json")
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    order_files(out)
}

/// The tree to read: `--dir` as given, or one for this size and mix under
/// `$CARGO_TARGET_DIR/bench-data/`, generated when missing.
fn tree(args: &Args) -> PathBuf {
    if let Some(dir) = &args.dir {
        return dir.clone();
    }
    let dir = {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| enforcer_testkit::repo_root().join("target"));
        let mix = args
            .catalogued
            .map_or_else(|| "corpus".to_owned(), |share| format!("cat{share}"));
        target.join(format!("bench-data/ct-{}-{mix}", args.size))
    };
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let corpora =
            enforcer_testkit::CORPORA.map(|folder| enforcer_testkit::corpora_dir().join(folder));
        let templates = Templates::from_dirs(&corpora, &resolver()).unwrap();
        let config = GeneratorConfig {
            target_bytes: args.size,
            catalogued_share: args.catalogued,
            ..GeneratorConfig::default()
        };
        let start = Instant::now();
        let made = generate(&templates, &config, &dir).unwrap();
        eprintln!(
            "generated {} files, {} records, {:.1} MB JSON, {:.1} MB on disk in {:.1} s",
            made.files,
            made.records,
            made.json_bytes as f64 / 1e6,
            made.disk_bytes as f64 / 1e6,
            start.elapsed().as_secs_f64()
        );
        std::fs::write(&done, "").unwrap();
    }
    dir
}

/// CPU time of the whole process (every thread, live or ended), seconds; 10 ms resolution.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU time of the calling thread, seconds (nanosecond resolution, from the scheduler).
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

/// Wall-clock, process CPU and calling-thread CPU of one run.
#[derive(Clone, Copy)]
struct Run {
    wall: f64,
    cpu: f64,
    main: f64,
}

fn measure(work: impl FnOnce()) -> Run {
    let (cpu, main, start) = (process_cpu(), thread_cpu(), Instant::now());
    work();
    Run {
        wall: start.elapsed().as_secs_f64(),
        cpu: process_cpu() - cpu,
        main: thread_cpu() - main,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

struct Line {
    label: String,
    runs: Vec<Run>,
}

impl Line {
    fn wall(&self) -> f64 {
        median(self.runs.iter().map(|r| r.wall).collect())
    }
    fn cpu(&self) -> f64 {
        median(self.runs.iter().map(|r| r.cpu).collect())
    }
    fn main(&self) -> f64 {
        median(self.runs.iter().map(|r| r.main).collect())
    }
}

fn main() {
    let args = args();
    let dir = tree(&args);
    let files = files_under(&dir);
    let disk: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    let mut lines = Vec::new();

    // Reading and inflating alone, then the bare parses, on the same bytes held in memory.
    let mut texts: Vec<String> = Vec::new();
    let mut inflate = Vec::new();
    for round in 0..args.repeat {
        let mut held = Vec::with_capacity(files.len());
        inflate.push(measure(|| {
            for file in &files {
                let bytes = std::fs::read(file).unwrap();
                held.push(read_text(&bytes).text().to_owned());
            }
        }));
        if round == 0 {
            texts = held;
        }
    }
    let json_bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
    lines.push(Line {
        label: "read + gunzip only".into(),
        runs: inflate,
    });
    let mut value = Vec::new();
    let mut ignored = Vec::new();
    for _ in 0..args.repeat {
        value.push(measure(|| {
            for text in &texts {
                black_box(serde_json::from_str::<serde_json::Value>(text).unwrap());
            }
        }));
        ignored.push(measure(|| {
            for text in &texts {
                black_box(serde_json::from_str::<serde::de::IgnoredAny>(text).unwrap());
            }
        }));
    }
    drop(texts);
    lines.push(Line {
        label: "bare serde_json::Value parse (baseline)".into(),
        runs: value,
    });
    lines.push(Line {
        label: "bare serde_json IgnoredAny parse".into(),
        runs: ignored,
    });

    let policies = enforcer::policy::load(
        &[enforcer_testkit::repo_root().join("policies")],
        KNOWN_RESOURCE_TYPES,
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Thread counts interleaved run by run, so that a change in the machine's load hits them alike.
    let mut records = 0;
    let mut by_threads: Vec<Vec<Run>> = vec![Vec::new(); args.threads.len()];
    for _ in 0..args.repeat {
        for (slot, &threads) in args.threads.iter().enumerate() {
            let resolver = resolver();
            let model = InMemoryTagStore::new();
            let options = ReplayOptions {
                threads,
                own_principals: false,
                ..ReplayOptions::default()
            };
            let mut summary = None;
            by_threads[slot].push(measure(|| {
                let replayed = replay(
                    &runtime,
                    &resolver,
                    &policies.set,
                    &model,
                    &files,
                    &options,
                    &mut NoSink,
                );
                summary = Some(replayed.unwrap());
            }));
            let summary = summary.unwrap();
            assert_eq!(summary.bytes_decoded, json_bytes);
            records = summary.records;
        }
    }
    for (&threads, runs) in args.threads.iter().zip(by_threads) {
        lines.push(Line {
            label: format!(
                "enforcer replay, {threads} thread{}",
                if threads == 1 { "" } else { "s" }
            ),
            runs,
        });
    }

    println!(
        "\n{} files, {records} records, {:.1} MB of JSON ({:.1} MB gzip) at {}",
        files.len(),
        json_bytes as f64 / 1e6,
        disk as f64 / 1e6,
        dir.display()
    );
    let base = &lines[1];
    let (base_wall, base_cpu) = (base.wall(), base.cpu());
    println!(
        "{:<40} {:>7} {:>7} {:>7} {:>8} {:>8} {:>10} {:>7} {:>7}",
        "median of runs",
        "wall s",
        "cpu s",
        "main s",
        "MB/s",
        "MB/cpu-s",
        "records/s",
        "÷bare",
        "÷bare"
    );
    println!(
        "{:<40} {:>7} {:>7} {:>7} {:>8} {:>8} {:>10} {:>7} {:>7}",
        "", "", "", "", "wall", "", "wall", "wall", "cpu"
    );
    for line in &lines {
        let (wall, cpu) = (line.wall(), line.cpu());
        println!(
            "{:<40} {:>7.2} {:>7.2} {:>7.2} {:>8.1} {:>8.1} {:>10.0} {:>7.2} {:>7.2}",
            line.label,
            wall,
            cpu,
            line.main(),
            json_bytes as f64 / 1e6 / wall,
            json_bytes as f64 / 1e6 / cpu.max(1e-9),
            records as f64 / wall,
            base_wall / wall,
            base_cpu / cpu.max(1e-9)
        );
    }
    for line in &lines {
        let runs: Vec<String> = line
            .runs
            .iter()
            .map(|r| format!("{:.2}/{:.2}", r.wall, r.cpu))
            .collect();
        println!("  runs (wall/cpu s) {:<40} {}", line.label, runs.join("  "));
    }
    let one = lines.iter().find(|l| l.label.ends_with("1 thread"));
    let two = lines.iter().find(|l| l.label.ends_with("2 threads"));
    if let (Some(one), Some(two)) = (one, two) {
        // On an idle machine two cores finish no sooner than half the CPU work, nor sooner than
        // the consumer (the calling thread) alone.
        let bound = one.cpu() / (two.cpu() / 2.0).max(two.main());
        println!(
            "scaling 1 → 2 threads: {:.2}× wall clock; {:.2}× bound from CPU time (2-thread run: {:.2} cpu-s in all, {:.2} on the ordering thread)",
            one.wall() / two.wall(),
            bound,
            two.cpu(),
            two.main()
        );
    }
}
