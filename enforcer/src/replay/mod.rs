//! Replay: what would the policies have said about every event of a CloudTrail history?
//!
//! [`replay`] reads CloudTrail log files (the S3 layout
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`, plain `.json`, or anything
//! `enforcer check` accepts), decodes them in parallel, and applies the decisions in `eventTime`
//! order to a [`TagStore`]: with the in-memory store that is a model of every resource's tags,
//! updated by each event (tags on create, `CreateTags`, `DeleteTags`, `TagResource`,
//! `PutBucketTagging`, …), so each verdict is the one the enforcer would have given at that
//! moment. Over [`current::CurrentTags`] (`replay --aws`) each event is judged against the tags
//! its resources carry today instead, each resource read once.
//!
//! # Order
//!
//! Files are taken in the order of the delivery time CloudTrail writes in their names
//! (`…_CloudTrail_<region>_YYYYMMDDTHHMMZ_….json.gz`), else of their `YYYY/MM/DD` folders, else
//! of their paths (files with no time in their path come first). Records of one file are sorted
//! by `eventTime` (a record without one keeps the time of the record before it). Across files,
//! records wait in a heap until they are more than the window `W` older than the newest record
//! read so far, and leave it oldest first. The guarantee: **the order is exact unless a record
//! is more than `W` older than a record of a file taken before its own**; such a record is
//! applied when its file is read, and counted in [`ReplaySummary::late_records`]. CloudTrail
//! delivers a file within about 5 minutes of its last event and names it by delivery time, so
//! the default `W` of 15 minutes orders an S3 tree exactly.
//!
//! # Memory
//!
//! Bounded whatever the input size: at most `threads` files are being decoded at once, at most
//! `threads × 16` decoded files wait for their turn (each reduced to its counts and its
//! catalogued records), the heap holds the records of one window (only the catalogued calls,
//! unless every decision is wanted), and the rest grows with the number of distinct resources,
//! principals, owners, days and unsupported calls, not with the number of records.
//!
//! # The fast path
//!
//! Most records are reads, failed calls or calls outside the catalog. A borrowed parse of the
//! record's header ([`RecordHeader`]) and a catalog lookup without building strings
//! ([`CatalogIndex`]) settle those; only the rest are decoded in full and resolved (see
//! [`classify`]). Asking for every decision ([`ReplayOptions::every_decision`]) sends every
//! record through the full path.

pub(crate) mod classify;
pub mod current;
pub mod html;
mod summary;
pub mod time;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{mpsc, Condvar, Mutex, PoisonError};
use std::time::Instant;

pub use classify::{quick, CatalogIndex, Quick};
pub(crate) use summary::Accumulator;
pub use summary::{CallCount, Count, ReplaySummary};

use crate::act::{read_and_decide, ReadRetry, TagStore};
use crate::engine::Decision;
use crate::event::{
    decode_one, frame_input, read_limited, read_text, Change, DecodeError, Location, RecordHeader,
    Resolution, Resolver,
};
use crate::policy::{Mode, PolicySet};
use summary::OwnerCounting;
use time::{file_time, parse_millis};

/// Files per thread that may be decoded ahead of the one being applied.
const LOOKAHEAD: usize = 16;

/// Owner named in reports when a resource has no `ProcessOwner` and the policy no default.
pub(crate) const UNOWNED: &str = "(unowned)";

/// How a replay runs.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Threads decoding files; 1 decodes on the calling thread.
    pub threads: usize,
    /// The reordering window, in minutes.
    pub window_minutes: u64,
    /// Make a [`Decision`] for every record, for [`ReplaySink::decision`]; otherwise records the
    /// header settles are only counted.
    pub every_decision: bool,
    /// Whether the resolver was given the enforcer's own principals (the loop guard). When it
    /// was, every call with a principal takes the full path so the guard applies; when it was
    /// not, setting this to `false` lets the header settle more records. Default `true`.
    pub own_principals: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            window_minutes: 15,
            every_decision: false,
            own_principals: true,
        }
    }
}

/// Where a replay stands, after each file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Files done.
    pub files_done: usize,
    /// Files in all.
    pub files_total: usize,
    /// Bytes of the files done, as on disk.
    pub bytes_done: u64,
    /// Bytes of all files, as on disk.
    pub bytes_total: u64,
    /// Records so far.
    pub records: u64,
}

/// Receives what a replay produces as it goes.
pub trait ReplaySink {
    /// Each decision, in `eventTime` order, with the time it was ordered by (milliseconds since
    /// the epoch; `None` when neither the record nor anything before it in its file had one).
    /// Every record's decision with [`ReplayOptions::every_decision`], else only the decisions
    /// about catalogued calls.
    fn decision(&mut self, _decision: &Decision, _time: Option<i64>) -> io::Result<()> {
        Ok(())
    }

    /// Called after each file.
    fn progress(&mut self, _progress: &Progress) {}
}

/// A sink that keeps nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSink;

impl ReplaySink for NoSink {}

/// True for the digest files CloudTrail writes beside the logs when log file validation is on
/// (`…/CloudTrail-Digest/…/<account>_CloudTrail-Digest_<region>_….json.gz`): they hold hashes,
/// not records.
pub fn is_digest_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.contains("_CloudTrail-Digest_"))
}

/// Sorts input files into replay order: by the time in their name or folders, then by path.
pub fn order_files(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut keyed: Vec<(Option<i64>, PathBuf)> =
        files.into_iter().map(|p| (file_time(&p), p)).collect();
    keyed.sort();
    keyed.into_iter().map(|(_, path)| path).collect()
}

/// Replays `files` (already in replay order, see [`order_files`]): each record resolved with
/// `resolver` and decided against `policies` over the tags `store` holds. The tags are read once
/// per event, never again: the in-memory model holds what each event did the moment it is told,
/// and an account's tags today would not show an old event by being read again.
///
/// `runtime` is the caller's: the one an AWS tag store's clients were built and first used on (a
/// pooled connection belongs to the runtime that opened it).
///
/// Decode errors are counted, reported in the summary with their `file:line`, and skipped.
/// Fails only when the sink fails (writing decisions).
pub fn replay<S: TagStore>(
    runtime: &tokio::runtime::Runtime,
    resolver: &Resolver,
    policies: &PolicySet,
    store: &S,
    files: &[PathBuf],
    options: &ReplayOptions,
    sink: &mut dyn ReplaySink,
) -> io::Result<ReplaySummary> {
    let start = Instant::now();
    let owners = OwnerCounting::new(policies);
    let context = Context {
        owners: &owners,
        resolver,
        index: CatalogIndex::new(resolver.catalog()),
        own_principals: options.own_principals,
        every_decision: options.every_decision,
        mode: policies.mode,
    };
    let window = i64::try_from(options.window_minutes)
        .unwrap_or(i64::MAX / 60_000)
        .saturating_mul(60_000);
    let mut consumer = Consumer {
        policies,
        store,
        runtime,
        sink,
        heap: BinaryHeap::new(),
        newest: i64::MIN,
        last_applied: i64::MIN,
        window,
        accumulator: Accumulator::default(),
        owners: &owners,
        progress: Progress {
            files_total: files.len(),
            bytes_total: files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum(),
            ..Progress::default()
        },
    };
    let threads = options.threads.max(1);
    if threads == 1 {
        for (number, path) in files.iter().enumerate() {
            consumer.take(decode_file(&context, number, path))?;
        }
    } else {
        run_parallel(&context, files, threads, &mut consumer)?;
    }
    consumer.drain(i64::MAX)?;
    Ok(consumer.accumulator.finish(
        options.window_minutes,
        start.elapsed().as_secs_f64(),
        threads,
    ))
}

/// Counts decisions made outside a replay (`enforcer scan`, one per existing resource) into the
/// same [`ReplaySummary`], so that a scan's report is the replay's: violations by rule, owner,
/// type and account, the worst resources, and the same HTML ([`html::render_scan`]).
#[derive(Debug)]
pub struct DecisionTally {
    accumulator: Accumulator,
    owners: OwnerCounting,
    started: Instant,
}

impl DecisionTally {
    /// An empty tally, counting owners as `policies` name them.
    pub fn new(policies: &PolicySet) -> Self {
        Self {
            accumulator: Accumulator::default(),
            owners: OwnerCounting::new(policies),
            started: Instant::now(),
        }
    }

    /// Counts each resource of `decision` as one decision of its own (a scan decides its
    /// resources in batches; its report counts resources).
    pub fn add(&mut self, decision: &Decision) {
        for resource in &decision.resources {
            let single = Decision {
                outcome: crate::engine::outcome_of(resource.action),
                resources: vec![resource.clone()],
                ..decision.clone()
            };
            self.accumulator.records += 1;
            self.accumulator
                .decision(&single, None, false, &self.owners);
        }
    }

    /// The summary, timed from [`DecisionTally::new`].
    pub fn finish(self) -> ReplaySummary {
        let seconds = self.started.elapsed().as_secs_f64();
        self.accumulator.finish(0, seconds, 1)
    }
}

/// Workers decode files in any order, at most `LOOKAHEAD × threads` ahead of the consumer,
/// which takes them back in file order. A decoded file waiting its turn holds only its counts
/// and its catalogued records (its text is gone), so the lookahead is cheap; it is wide so that
/// one worker descheduled on a busy machine does not stall the others.
fn run_parallel<S: TagStore>(
    context: &Context<'_>,
    files: &[PathBuf],
    threads: usize,
    consumer: &mut Consumer<'_, S>,
) -> io::Result<()> {
    let ahead = threads * LOOKAHEAD;
    let next = AtomicUsize::new(0);
    let consumed = Mutex::new(0usize);
    let advanced = Condvar::new();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, FileOutput)>();
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, consumed, advanced, stop) = (&next, &consumed, &advanced, &stop);
            scope.spawn(move || loop {
                let number = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some(path) = files.get(number) else { break };
                let mut done = consumed.lock().unwrap_or_else(PoisonError::into_inner);
                while number >= *done + ahead && !stop.load(AtomicOrdering::Relaxed) {
                    done = advanced.wait(done).unwrap_or_else(PoisonError::into_inner);
                }
                drop(done);
                if stop.load(AtomicOrdering::Relaxed) {
                    break;
                }
                if sender
                    .send((number, decode_file(context, number, path)))
                    .is_err()
                {
                    break;
                }
            });
        }
        drop(sender);
        let mut waiting = BTreeMap::new();
        let mut wanted = 0;
        let mut result = Ok(());
        'receive: for (number, output) in receiver.iter() {
            waiting.insert(number, output);
            while let Some(output) = waiting.remove(&wanted) {
                if let Err(error) = consumer.take(output) {
                    result = Err(error);
                    break 'receive;
                }
                wanted += 1;
                *consumed.lock().unwrap_or_else(PoisonError::into_inner) = wanted;
                advanced.notify_all();
            }
        }
        {
            // Under the lock: a worker checks `stop` and waits while holding it, so it cannot
            // miss this wake-up.
            let _consumed = consumed.lock().unwrap_or_else(PoisonError::into_inner);
            stop.store(true, AtomicOrdering::Relaxed);
        }
        advanced.notify_all();
        drop(receiver);
        result
    })
}

/// What the workers share: all read-only.
struct Context<'a> {
    owners: &'a OwnerCounting,
    resolver: &'a Resolver,
    index: CatalogIndex,
    own_principals: bool,
    every_decision: bool,
    mode: Mode,
}

/// A record waiting for its turn.
struct Pending {
    time: i64,
    sequence: u64,
    item: Item,
}

enum Item {
    Change(Box<Change>, Location),
    Decision(Box<Decision>, bool),
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    /// Reversed: the heap's top is the oldest record.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.sequence).cmp(&(self.time, self.sequence))
    }
}

/// One decoded file.
#[derive(Default)]
struct FileOutput {
    accumulator: Accumulator,
    pending: Vec<Pending>,
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    // At most one byte over the limit is read: `read_text` reports the input as too large.
    if path.as_os_str() == "-" {
        return read_limited(io::stdin().lock())
            .map_err(|error| format!("cannot read standard input: {error}"));
    }
    std::fs::File::open(path)
        .and_then(read_limited)
        .map_err(|error| format!("cannot read file: {error}"))
}

fn decode_file(context: &Context<'_>, number: usize, path: &Path) -> FileOutput {
    let name = path.display().to_string();
    let mut output = FileOutput::default();
    output.accumulator.files = 1;
    let fail = |output: &mut FileOutput, line: usize, message: String| {
        output.accumulator.records += 1;
        let error = DecodeError {
            location: Location {
                file: name.clone(),
                line,
                index: None,
            },
            message,
        };
        output.record_error(context, &error, i64::MIN, 0);
    };
    let bytes = match read_file(path) {
        Ok(bytes) => bytes,
        Err(message) => {
            fail(&mut output, 0, message);
            return output;
        }
    };
    output.accumulator.bytes_read = bytes.len() as u64;
    let input = read_text(&bytes);
    output.accumulator.bytes_decoded = input.text().len() as u64;
    let frames = frame_input(&name, &input);
    let file_sequence = (number as u64) << 32;
    let mut clock = file_time(path).unwrap_or(i64::MIN);
    for (position, framed) in frames.iter().enumerate() {
        let sequence = file_sequence | position as u64;
        output.accumulator.records += 1;
        let frame = match framed {
            Ok(frame) => frame,
            Err(error) => {
                output.record_error(context, error, clock, sequence);
                continue;
            }
        };
        if let Ok(header) = RecordHeader::parse(frame.raw) {
            if let Some(time) = header.event_time.as_deref().and_then(parse_millis) {
                clock = time;
                output.accumulator.saw_time(time);
            }
            if !context.every_decision {
                match quick(&header, &context.index, context.own_principals) {
                    Quick::Ignored => {
                        output.accumulator.quick_ignored();
                        continue;
                    }
                    Quick::Unsupported { source, name } => {
                        output.accumulator.quick_unsupported(source, name);
                        continue;
                    }
                    Quick::Decode => {}
                }
            }
        }
        let event = match decode_one(frame.raw, frame.location(&name)) {
            Ok(event) => event,
            Err(error) => {
                output.record_error(context, &error, clock, sequence);
                continue;
            }
        };
        let (location, event) = event;
        match Decision::unevaluated(
            context.resolver.resolve(&event),
            Some(&location),
            context.mode,
        ) {
            Ok(decision) => {
                if context.every_decision {
                    output.pending.push(Pending {
                        time: clock,
                        sequence,
                        item: Item::Decision(Box::new(decision), false),
                    });
                } else {
                    output
                        .accumulator
                        .decision(&decision, None, false, context.owners);
                }
            }
            Err(change) => {
                let time = match change.event_time.as_deref().and_then(parse_millis) {
                    Some(time) => {
                        output.accumulator.saw_time(time);
                        time
                    }
                    None => clock,
                };
                clock = time;
                output.pending.push(Pending {
                    time,
                    sequence,
                    item: Item::Change(change, location),
                });
            }
        }
    }
    // Ascending (time, sequence): `Pending`'s order is reversed for the heap.
    output.pending.sort_unstable_by(|a, b| b.cmp(a));
    output
}

impl FileOutput {
    fn record_error(
        &mut self,
        context: &Context<'_>,
        error: &DecodeError,
        time: i64,
        sequence: u64,
    ) {
        if context.every_decision {
            self.pending.push(Pending {
                time,
                sequence,
                item: Item::Decision(Box::new(Decision::decode_error(error, context.mode)), true),
            });
        } else {
            self.accumulator.decode_error(error);
        }
    }
}

/// Takes decoded files in order, applies their records in time order.
struct Consumer<'e, S> {
    policies: &'e PolicySet,
    store: &'e S,
    runtime: &'e tokio::runtime::Runtime,
    sink: &'e mut dyn ReplaySink,
    heap: BinaryHeap<Pending>,
    newest: i64,
    last_applied: i64,
    window: i64,
    accumulator: Accumulator,
    owners: &'e OwnerCounting,
    progress: Progress,
}

impl<S: TagStore> Consumer<'_, S> {
    fn take(&mut self, output: FileOutput) -> io::Result<()> {
        self.progress.files_done += 1;
        self.progress.bytes_done += output.accumulator.bytes_read;
        self.progress.records += output.accumulator.records;
        self.accumulator.merge(output.accumulator);
        for pending in output.pending {
            self.newest = self.newest.max(pending.time);
            self.heap.push(pending);
        }
        self.drain(self.newest.saturating_sub(self.window))?;
        self.sink.progress(&self.progress);
        Ok(())
    }

    /// Applies every waiting record no newer than `until`, oldest first.
    fn drain(&mut self, until: i64) -> io::Result<()> {
        while self.heap.peek().is_some_and(|top| top.time <= until) {
            let Some(pending) = self.heap.pop() else {
                break;
            };
            self.apply(pending)?;
        }
        Ok(())
    }

    fn apply(&mut self, pending: Pending) -> io::Result<()> {
        let time = (pending.time != i64::MIN).then_some(pending.time);
        if let Some(time) = time {
            if time < self.last_applied {
                self.accumulator.late_records += 1;
            } else {
                self.last_applied = time;
            }
        }
        let (decision, decode_error) = match pending.item {
            Item::Change(change, location) => {
                let retry = ReadRetry::none();
                let decided = read_and_decide(
                    self.store,
                    &retry,
                    Resolution::Resolved(change),
                    self.policies,
                    self.policies.mode,
                    Some(&location),
                );
                (self.runtime.block_on(decided).0, false)
            }
            Item::Decision(decision, decode_error) => (*decision, decode_error),
        };
        self.accumulator
            .decision(&decision, time, decode_error, self.owners);
        self.sink.decision(&decision, time)
    }
}
