//! Every record of the shared real and documentation CloudTrail corpora decodes and resolves
//! without error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use enforcer::catalog::{Arn, Catalog};
use enforcer::event::{decode_bytes, InputEvent, Resolution, ResolveOptions, Resolver};

fn walk(folder: &str) -> (usize, Vec<String>, Vec<String>) {
    let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
    let mut decoded = 0;
    let mut decode_errors = Vec::new();
    let mut resolve_errors = Vec::new();
    for path in support::corpus_files(folder) {
        let bytes = std::fs::read(&path).unwrap();
        let lines = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .count();
        let results = decode_bytes(&path.display().to_string(), &bytes);
        assert_eq!(
            results.len(),
            lines,
            "{}: one result per line",
            path.display()
        );
        for result in results {
            match result {
                Ok((location, event)) => {
                    decoded += 1;
                    match resolver.resolve(&event) {
                        Resolution::Unresolved { reason, .. } => {
                            resolve_errors.push(format!("{location}: {reason}"));
                        }
                        Resolution::Resolved(change) => {
                            for resource in &change.resources {
                                let arn = Arn::parse(&resource.arn).unwrap_or_else(|| {
                                    panic!("{location}: `{}` is not an ARN", resource.arn)
                                });
                                assert!(!arn.resource.is_empty(), "{location}");
                            }
                            if let InputEvent::ApiCall(call) = &event {
                                assert!(
                                    call.record.error_code.is_none(),
                                    "{location}: failed calls are ignored"
                                );
                            }
                        }
                        Resolution::Ignored { .. } | Resolution::Unsupported { .. } => {}
                    }
                }
                Err(error) => decode_errors.push(error.to_string()),
            }
        }
    }
    (decoded, decode_errors, resolve_errors)
}

#[test]
fn every_real_record_decodes_and_resolves() {
    let (decoded, decode_errors, resolve_errors) = walk("cloudtrail-real");
    assert!(
        decode_errors.is_empty(),
        "decode errors:\n{}",
        decode_errors.join("\n")
    );
    assert!(
        resolve_errors.is_empty(),
        "resolve errors:\n{}",
        resolve_errors.join("\n")
    );
    assert_eq!(
        decoded, 307,
        "the real corpus holds 307 records (SOURCES.md says 300 plus 7 envelopes)"
    );
}

#[test]
fn every_documentation_record_decodes_and_resolves() {
    let (decoded, decode_errors, resolve_errors) = walk("cloudtrail-docs");
    assert!(
        decode_errors.is_empty(),
        "decode errors:\n{}",
        decode_errors.join("\n")
    );
    assert!(
        resolve_errors.is_empty(),
        "resolve errors:\n{}",
        resolve_errors.join("\n")
    );
    assert_eq!(decoded, 212);
}

#[test]
fn records_without_event_version_decode() {
    // aws_lambda_events' AWSAPICall requires eventVersion; the issue counted 19 records without it,
    // the corpus as shipped today has 14. All of them must decode.
    let mut without_version = 0;
    for folder in ["cloudtrail-real", "cloudtrail-docs"] {
        for path in support::corpus_files(folder) {
            for (_, event) in decode_bytes("f", &std::fs::read(&path).unwrap())
                .into_iter()
                .map(Result::unwrap)
            {
                if let InputEvent::ApiCall(call) = event {
                    without_version += usize::from(call.record.event_version.is_none());
                }
            }
        }
    }
    assert_eq!(without_version, 14);
}
