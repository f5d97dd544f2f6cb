//! Fuzzing, bounded for CI: random and mutated inputs through the decoders (framing, UTF-8,
//! gzip, records), the resolver and the policy loader. Every property says "no panic" and, where
//! the input's records can be counted, "one decision or one located error per record". The
//! pathological inputs found before (a gzip bomb, a record naming 100,000 resources, a JSON Lines
//! file whose first line is bad, one invalid UTF-8 byte, a gzip without its CRC trailer, a
//! thousand conflicting rules) are the regression corpus, generated here or kept small in
//! `tests/fixtures/fuzz/`.
//!
//! Case counts are fixed so that the whole file runs in seconds; `ENFORCER_FUZZ_SCALE=N`
//! multiplies them for a longer run. proptest keeps failing inputs in `fuzz.proptest-regressions`
//! beside this file: commit them, they are replayed first.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::event::{
    decode_bytes, frame_input, read_text, DecodeResult, Resolution, ResolveOptions, Resolver,
    TextProblem, MAX_INPUT_BYTES, MAX_RESOURCES_PER_RECORD,
};
use enforcer::policy::{compile_sources, Level, SourceFile, MAX_REPORTED_CONFLICTS, MAX_RULES};
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::support::{enforcer, json_lines, repo_root, stderr};

/// Cases for a property: `base` times `ENFORCER_FUZZ_SCALE` (default 1).
fn config(base: u32) -> Config {
    let scale = std::env::var("ENFORCER_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1);
    Config {
        cases: base.saturating_mul(scale),
        ..Config::default()
    }
}

fn resolver() -> &'static Resolver {
    static RESOLVER: OnceLock<Resolver> = OnceLock::new();
    RESOLVER.get_or_init(|| Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default()))
}

/// The bundled sample events, each compacted to one line of JSON.
fn samples() -> &'static [String] {
    static SAMPLES: OnceLock<Vec<String>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("events/samples"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let value: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
                serde_json::to_string(&value).unwrap()
            })
            .collect()
    })
}

fn sample() -> impl Strategy<Value = String> {
    (0..samples().len()).prop_map(|i| samples()[i].clone())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Decodes and resolves every result (the resolver must not panic either); returns the results.
fn decode_and_resolve(name: &str, bytes: &[u8]) -> Vec<DecodeResult> {
    let results = decode_bytes(name, bytes);
    for (_, event) in results.iter().flatten() {
        let _ = resolver().resolve(event);
    }
    results
}

/// Every error names the file and a line inside the text (line 0 is for unreadable files only);
/// results come in text order.
fn assert_located(name: &str, bytes: &[u8], results: &[DecodeResult]) {
    let lines = read_text(bytes).text().lines().count().max(1) + 1;
    let mut last = 0;
    for result in results {
        let location = match result {
            Ok((location, _)) => location,
            Err(error) => &error.location,
        };
        assert_eq!(location.file, name);
        assert!(
            (1..=lines).contains(&location.line),
            "line {} of {lines}: {result:?}",
            location.line
        );
        assert!(location.line >= last, "out of order: {results:?}");
        last = location.line;
    }
}

/// Byte-level mutations of a valid input: flip, insert, delete, cut.
#[derive(Debug, Clone)]
enum Mutation {
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Cut(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        any::<prop::sample::Index>().prop_map(Mutation::Cut),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        if bytes.is_empty() {
            break;
        }
        match mutation {
            Mutation::Set(i, b) => {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            Mutation::Insert(i, b) => {
                let at = i.index(bytes.len());
                bytes.insert(at, *b);
            }
            Mutation::Delete(i) => {
                let at = i.index(bytes.len());
                bytes.remove(at);
            }
            Mutation::Cut(i) => {
                let at = i.index(bytes.len());
                bytes.truncate(at);
            }
        }
    }
    bytes
}

/// A line that is not a record: any bytes but a newline, and no `[` (a first line of `[` or
/// `{"Records": [` announces a list, which is framed by its brackets rather than by lines).
fn junk_line() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_filter("no newline or [", |b| *b != b'\n' && *b != b'['),
        0..60,
    )
}

/// A line of a JSON Lines file: a record, or junk.
#[derive(Debug, Clone)]
enum Line {
    Record(String),
    Junk(Vec<u8>),
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        sample().prop_map(Line::Record),
        junk_line().prop_map(Line::Junk),
    ]
}

proptest! {
    #![proptest_config(config(400))]

    /// Arbitrary bytes, plain and gzip-compressed: no panic, every result located.
    #[test]
    fn arbitrary_bytes_decode_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let results = decode_and_resolve("f", &bytes);
        prop_assert!(!results.is_empty(), "an input yields at least one result");
        assert_located("f", &bytes, &results);
        let compressed = gzip(&bytes);
        let results = decode_and_resolve("f.gz", &compressed);
        prop_assert!(!results.is_empty());
    }

    /// Sample records with a few byte mutations, bare, in a log file and in a JSON array: no
    /// panic in the decoders or the resolver, every result located.
    #[test]
    fn mutated_records_decode_and_resolve_without_panic(
        record in sample(),
        wrapping in 0..3u8,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = match wrapping {
            0 => record,
            1 => format!("{{\"Records\":[{record},{record}]}}"),
            _ => format!("[\n{record},\n{record}\n]"),
        };
        let bytes = mutate(text.into_bytes(), &mutations);
        let results = decode_and_resolve("m.json", &bytes);
        prop_assert!(!results.is_empty());
        assert_located("m.json", &bytes, &results);
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// JSON Lines with junk anywhere, the first line too: exactly one result per non-blank
    /// line, at that line, and every record line decodes.
    #[test]
    fn json_lines_yield_one_result_per_line(
        first in line(),
        rest in prop::collection::vec(line(), 0..8),
        record in sample(),
        record_at in any::<prop::sample::Index>(),
    ) {
        let mut lines = vec![first];
        lines.extend(rest);
        // At least one record, so that the file is recognisably JSON Lines.
        let at = record_at.index(lines.len() + 1);
        lines.insert(at, Line::Record(record));
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for (number, line) in lines.iter().enumerate() {
            let content = match line {
                Line::Record(text) => text.as_bytes(),
                Line::Junk(junk) => junk,
            };
            if !String::from_utf8_lossy(content).trim().is_empty() {
                expected.push((number + 1, matches!(line, Line::Record(_))));
            }
            bytes.extend_from_slice(content);
            bytes.push(b'\n');
        }
        let results = decode_and_resolve("l.jsonl", &bytes);
        let got: Vec<usize> = results
            .iter()
            .map(|r| match r {
                Ok((location, _)) => location.line,
                Err(error) => error.location.line,
            })
            .collect();
        let want: Vec<usize> = expected.iter().map(|(line, _)| *line).collect();
        prop_assert_eq!(got, want, "{:?}", results);
        for ((line, is_record), result) in expected.iter().zip(&results) {
            if *is_record {
                prop_assert!(result.is_ok(), "line {} is a record: {:?}", line, result);
            }
        }
    }

    /// A log file or array of records cut anywhere (the text, or its gzip): every record that
    /// ends before the cut decodes, in order; what the cut spoils is errors, at least one.
    #[test]
    fn a_cut_keeps_every_complete_record(
        records in prop::collection::vec(sample(), 1..6),
        log_file in any::<bool>(),
        compressed in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let text = if log_file {
            format!("{{\"Records\":[{}]}}", records.join(","))
        } else {
            format!("[\n{}\n]", records.join(",\n"))
        };
        let whole = if compressed { gzip(text.as_bytes()) } else { text.clone().into_bytes() };
        let bytes = &whole[..cut.index(whole.len())];
        let kept = read_text(bytes).text().len();
        // Where each record ends in the text.
        let mut ends = Vec::new();
        let mut from = 0;
        for record in &records {
            let start = from + text[from..].find(record.as_str()).unwrap();
            ends.push(start + record.len());
            from = start + record.len();
        }
        let complete = ends.iter().filter(|&&end| end <= kept).count();
        let results = decode_and_resolve("cut.json", bytes);
        let ok = results.iter().take_while(|r| r.is_ok()).count();
        prop_assert_eq!(ok, complete, "{:?}", results);
        prop_assert!(results[ok..].iter().all(Result::is_err), "{:?}", results);
        prop_assert!(results.len() > ok, "a cut input reports an error: {:?}", results);
        for (index, result) in results[..ok].iter().enumerate() {
            let (location, _) = result.as_ref().unwrap();
            prop_assert_eq!(location.index, Some(index));
        }
    }
}

/// The shipped policies, the start of every policy mutation.
fn shipped_policy() -> String {
    std::fs::read_to_string(repo_root().join("policies/ecometricx.toml")).unwrap()
}

fn compile_text(text: String) -> Vec<enforcer::policy::Diagnostic> {
    let source = SourceFile {
        path: "p.toml".to_owned(),
        text: Arc::new(text),
    };
    compile_sources(&[source], KNOWN_RESOURCE_TYPES).1
}

/// A generated rule: names from a small alphabet (so that rules overlap or not), tags set,
/// defaulted and allowed from a small vocabulary, `overrides` among the rules.
fn rule(count: usize) -> impl Strategy<Value = String> {
    (
        prop::collection::vec("\\^?[ab]{0,2}[.*+?]?[ab-]{0,2}\\$?", 0..3),
        prop::collection::vec(0..count, 0..3),
        prop::option::of(prop::sample::select(vec![
            "Public",
            "Internal",
            "Confidential",
        ])),
        prop::option::of(prop::sample::select(vec!["Public", "Internal"])),
        prop::option::of(prop::sample::select(vec![
            "s3:bucket",
            "ec2:instance",
            "s3:*",
        ])),
    )
        .prop_map(|(names, overrides, set, allow, kind)| {
            let mut text = String::new();
            if !names.is_empty() {
                let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                text.push_str(&format!("names = [{}]\n", quoted.join(", ")));
            }
            if let Some(kind) = kind {
                text.push_str(&format!("resource_types = [\"{kind}\"]\n"));
            }
            let targets: Vec<String> = overrides.iter().map(|i| format!("\"r{i}\"")).collect();
            text.push_str(&format!("overrides = [{}]\n", targets.join(", ")));
            if let Some(allow) = allow {
                text.push_str(&format!(
                    "allow = {{ DataClassification = [\"{allow}\"] }}\n"
                ));
            }
            if let Some(set) = set {
                text.push_str(&format!("[rule.set]\nDataClassification = \"{set}\"\n"));
            }
            text
        })
}

proptest! {
    #![proptest_config(config(150))]

    /// The shipped policy with byte mutations: no panic; every diagnostic with a place is in
    /// the file.
    #[test]
    fn mutated_policies_load_without_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        let bytes = mutate(shipped_policy().into_bytes(), &mutations);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let lines = text.lines().count() + 1;
        for diagnostic in compile_text(text) {
            if let Some(location) = diagnostic.location() {
                let line: usize = location.split(':').nth(1).unwrap().parse().unwrap();
                prop_assert!((1..=lines).contains(&line), "{location}");
            }
        }
    }

    /// Generated rule sets with overlapping names, conflicting values and overrides (cycles
    /// too): no panic.
    #[test]
    fn generated_rule_sets_validate_without_panic(rules in prop::collection::vec(rule(6), 1..6)) {
        let mut text = String::from(
            "[tags.DataClassification]\nvalues = [\"Public\", \"Internal\", \"Confidential\"]\n",
        );
        for (i, body) in rules.iter().enumerate() {
            text.push_str(&format!("\n[[rule]]\nname = \"r{i}\"\n{body}"));
        }
        let _ = compile_text(text);
    }
}

// The regression corpus: each input that once crashed, hung or lost records.

/// A gzip of about 306 KB that inflates to 300 MB (300 gzip members of 1 MiB of spaces each;
/// members concatenate): once 382 MB of peak RSS. Now read up to MAX_INPUT_BYTES.
#[test]
fn the_gzip_bomb_is_read_up_to_the_limit() {
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&vec![b' '; 1 << 20]).unwrap();
    let member = member.finish().unwrap();
    let mut bomb = gzip(br#"{"Records":["#);
    for _ in 0..300 {
        bomb.extend_from_slice(&member);
    }
    assert!(bomb.len() < 400_000, "{}", bomb.len());
    // Inflated once (a debug build inflates slowly): its text, then its frames.
    let input = read_text(&bomb);
    assert_eq!(input.text().len(), MAX_INPUT_BYTES);
    assert_eq!(
        input.cut(),
        Some(&TextProblem::TooLarge {
            limit: MAX_INPUT_BYTES
        })
    );
    let messages: Vec<String> = frame_input("bomb.json.gz", &input)
        .iter()
        .map(|r| r.as_ref().err().unwrap().to_string())
        .collect();
    assert_eq!(
        messages.last().unwrap(),
        &format!(
            "bomb.json.gz:1: {}",
            TextProblem::TooLarge {
                limit: MAX_INPUT_BYTES
            }
        )
    );
}

/// An EC2 `CreateTags` naming 100,000 ids: once 43 s and 460 MB (quadratic de-duplication).
/// Now an error naming the limit, in linear time.
#[test]
fn a_record_naming_100k_resources_is_an_error_in_linear_time() {
    let mut event: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("events/samples/ec2-CreateTags.json")).unwrap(),
    )
    .unwrap();
    let items: Vec<serde_json::Value> = (0..100_000)
        .map(|i| serde_json::json!({"resourceId": format!("i-{i:017x}")}))
        .collect();
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = items.into();
    let bytes = serde_json::to_vec(&event).unwrap();
    let started = Instant::now();
    let results = decode_bytes("ids.json", &bytes);
    let (_, decoded) = results[0].as_ref().unwrap();
    match resolver().resolve(decoded) {
        Resolution::Unresolved { reason, .. } => {
            assert!(reason.contains("MAX_RESOURCES_PER_RECORD"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // At the limit, every id is evaluated.
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = (0..MAX_RESOURCES_PER_RECORD)
        .map(|i| serde_json::json!({"resourceId": format!("i-{i:017x}")}))
        .collect::<Vec<_>>()
        .into();
    let results = decode_bytes("ids.json", &serde_json::to_vec(&event).unwrap());
    let (_, decoded) = results[0].as_ref().unwrap();
    let Resolution::Resolved(change) = resolver().resolve(decoded) else {
        panic!("a record at the limit resolves")
    };
    assert_eq!(change.resources.len(), MAX_RESOURCES_PER_RECORD);
}

/// A thousand rules that all set a tag differently: once 47 s, 2.35 GB and 296 MB of
/// diagnostics. Now a bounded report, summarised.
#[test]
fn a_thousand_conflicting_rules_validate_in_bounded_time() {
    let mut text = String::from("[tags.Team]\ndescription = \"team\"\n");
    for i in 0..MAX_RULES {
        text.push_str(&format!(
            "\n[[rule]]\nname = \"r{i}\"\n[rule.set]\nTeam = \"t{i}\"\n"
        ));
    }
    let started = Instant::now();
    let diagnostics = compile_text(text);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let errors = diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count();
    assert_eq!(errors, MAX_REPORTED_CONFLICTS + 1);
    let pairs = MAX_RULES * (MAX_RULES - 1) / 2;
    let summary = diagnostics
        .iter()
        .find(|d| d.code == "policy::too-many-conflicts")
        .expect("the pairs left are summarised");
    assert!(
        summary.message.starts_with(&format!(
            "… and {} more pairs of rules",
            pairs - MAX_REPORTED_CONFLICTS
        )),
        "{}",
        summary.message
    );
}

/// The small files of the corpus through `enforcer check`, as a user runs it: one output line
/// per record, decision or error, every error with `file:line`.
#[test]
fn every_record_of_a_broken_file_is_accounted_for_by_check() {
    let dir = repo_root().join("tests/fixtures/fuzz");
    let cut_gzip = {
        let text = std::fs::read(dir.join("three-records.json")).unwrap();
        let mut bytes = gzip(&text);
        bytes.truncate(bytes.len() - 8);
        let path = std::env::temp_dir().join(format!("cut-trailer-{}.json.gz", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    };
    // (file, records, errors): the errors include the gzip cut, which is no record.
    let cases: [(PathBuf, usize, usize); 3] = [
        (dir.join("bad-first-line.jsonl"), 3, 1),
        (dir.join("invalid-utf8.jsonl"), 3, 1),
        (cut_gzip.clone(), 3, 1),
    ];
    for (path, records, errors) in cases {
        let shown = path.display().to_string();
        let output = enforcer(&["check", "--format", "json", &shown]);
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
        let lines = json_lines(&output);
        assert_eq!(
            lines.len(),
            records + usize::from(path == cut_gzip),
            "{shown}: {lines:?}"
        );
        let failed: Vec<&serde_json::Value> =
            lines.iter().filter(|l| l["outcome"] == "error").collect();
        assert_eq!(failed.len(), errors, "{shown}: {lines:?}");
        for line in &failed {
            let location = line["location"].as_str().unwrap();
            let (file, number) = location.rsplit_once(':').unwrap();
            assert_eq!(file, shown);
            assert!(number.parse::<usize>().is_ok(), "{location}");
        }
    }
    std::fs::remove_file(cut_gzip).unwrap();
}
