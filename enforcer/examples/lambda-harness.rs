//! Bench helper: measures a Lambda binary on this machine with a fake Lambda Runtime API on
//! 127.0.0.1. Not part of the `enforcer` CLI.
//!
//! For each run it starts the binary with `AWS_LAMBDA_RUNTIME_API` pointing at the fake server
//! and measures:
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

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Parser;

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

#[derive(Default)]
struct State {
    first_poll: Option<Instant>,
    handed_out: usize,
    sent: HashMap<String, Instant>,
    per_event: Vec<Duration>,
    errors: usize,
    done: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    events: Vec<String>,
    limit: usize,
}

struct Request {
    method: String,
    path: String,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if name == "content-length" {
                length = value.trim().parse().unwrap_or(0);
            } else if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
    }
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
        }
    } else {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
    }
    Some(Request { method, path })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &str) -> bool {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body.as_bytes()).is_ok()
}

fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let now = Instant::now();
        if request.method == "GET" && request.path.ends_with("/runtime/invocation/next") {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.first_poll.get_or_insert(now);
            shared.changed.notify_all();
            while state.handed_out >= shared.limit && !state.done {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.done {
                return;
            }
            let n = state.handed_out;
            state.handed_out += 1;
            let id = format!("00000000-0000-4000-8000-{n:012}");
            let event = &shared.events[n % shared.events.len()];
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() + 900_000);
            state.sent.insert(id.clone(), Instant::now());
            drop(state);
            let headers = [
                ("Content-Type", "application/json".to_owned()),
                ("Lambda-Runtime-Aws-Request-Id", id),
                ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:eu-west-1:111122223333:function:enforcer".to_owned(),
                ),
                (
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
                ),
            ];
            if !respond(&mut writer, "200 OK", &headers, event) {
                return;
            }
        } else if request.method == "POST" && request.path.contains("/runtime/invocation/") {
            let id = request
                .path
                .split('/')
                .rev()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(sent) = state.sent.remove(&id) {
                state.per_event.push(now - sent);
            }
            if request.path.ends_with("/error") {
                state.errors += 1;
            }
            shared.changed.notify_all();
            drop(state);
            if !respond(&mut writer, "202 Accepted", &[], "{\"status\":\"OK\"}") {
                return;
            }
        } else {
            // init/error and anything else.
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.errors += 1;
            shared.changed.notify_all();
            drop(state);
            if !respond(&mut writer, "202 Accepted", &[], "{\"status\":\"OK\"}") {
                return;
            }
        }
    }
}

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

fn run_once(args: &Args, events: &[String]) -> Result<RunResult, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
        events: events.to_vec(),
        limit: args.events,
    });
    let accept_shared = Arc::clone(&shared);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let shared = Arc::clone(&accept_shared);
            std::thread::spawn(move || serve(stream, &shared));
        }
    });
    let mut command = Command::new(&args.bin);
    command
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
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
    let start = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", args.bin.display()))?;
    let deadline = start + Duration::from_secs(args.timeout);
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    // `--events 0` measures init alone: wait for the first poll only.
    while (state.per_event.len() < args.events || state.first_poll.is_none())
        && Instant::now() < deadline
    {
        if let Ok(Some(status)) = child.try_wait() {
            drop(state);
            return Err(format!("the function exited early: {status}"));
        }
        state = shared
            .changed
            .wait_timeout(state, Duration::from_millis(50))
            .map(|(guard, _)| guard)
            .unwrap_or_else(|e| e.into_inner().0);
    }
    let peak = peak_rss_kb(child.id());
    state.done = true;
    shared.changed.notify_all();
    let result = match state.first_poll {
        Some(first) if state.per_event.len() >= args.events => Ok(RunResult {
            init: first - start,
            per_event: std::mem::take(&mut state.per_event),
            peak_rss_kb: peak,
            errors: state.errors,
        }),
        _ => Err(format!(
            "timed out: {} of {} events answered",
            state.per_event.len(),
            args.events
        )),
    };
    drop(state);
    let _ = child.kill();
    let _ = child.wait();
    result
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
        let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/samples");
        if let Ok(entries) = std::fs::read_dir(samples) {
            paths = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
        }
        paths.sort();
    }
    let events: Vec<String> = paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|text| text.replace(['\n', '\r'], " "))
        .collect();
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
