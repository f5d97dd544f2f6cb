//! The shipped EcoMetricx standard, evaluated directly: every data-lake naming convention maps to
//! its layer, operational buckets get their classification, and the plan never touches a tag a
//! person set (a property test over random tag sets).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::collections::BTreeMap;

use enforcer::catalog::KNOWN_RESOURCE_TYPES;
use enforcer::evaluate::{Action, Circumstances, Verdict, ViolationKind};
use enforcer::event::ResourceRef;
use enforcer::policy::{self, PolicySet, ValueCheck};
use enforcer::Tags;
use proptest::prelude::*;

/// Evaluates as a scan does: no caller; the standard's verdicts here do not depend on the time.
fn evaluate(resource: &ResourceRef, tags: &Tags, policies: &PolicySet) -> Verdict {
    enforcer::evaluate::evaluate(
        resource,
        tags,
        policies,
        &Circumstances::at(jiff::Timestamp::UNIX_EPOCH),
    )
}

fn standard() -> &'static PolicySet {
    static STANDARD: std::sync::OnceLock<PolicySet> = std::sync::OnceLock::new();
    STANDARD.get_or_init(|| {
        policy::load(
            &[support::repo_root().join("policies")],
            KNOWN_RESOURCE_TYPES,
        )
        .unwrap_or_else(|d| panic!("{d:?}"))
        .set
    })
}

fn bucket(name: &str) -> ResourceRef {
    ResourceRef::from_arn(&format!("arn:aws:s3:::{name}"), None).unwrap()
}

fn layer_tags(source: &str, target: Option<&str>, owner: &str) -> Tags {
    let mut tags = Tags::from([
        ("SourceSystems".to_owned(), source.to_owned()),
        ("ProcessOwner".to_owned(), owner.to_owned()),
        ("DataClassification".to_owned(), "Confidential".to_owned()),
    ]);
    if let Some(target) = target {
        tags.insert("TargetSystems".to_owned(), target.to_owned());
    }
    tags
}

#[test]
fn every_naming_convention_maps_to_its_layer() {
    let policies = standard();
    let curated = layer_tags(
        "S3-Raw-Layer",
        Some("S3-Refined,Redshift"),
        "DataEngineering",
    );
    let refined = layer_tags(
        "S3-Curated-Layer",
        Some("Analytics,Dashboard,ML"),
        "AnalyticsTeam",
    );
    let raw_known = Tags::from([
        ("ProcessOwner".to_owned(), "DataEngineering".to_owned()),
        ("DataClassification".to_owned(), "Confidential".to_owned()),
    ]);
    let cases: [(&str, &str, &Tags); 10] = [
        ("ecometricx-prod-s3-raw-eu-west-1", "raw-layer", &raw_known),
        ("billing-dev-raw-landing", "raw-layer", &raw_known),
        ("axentra-webhook-events", "raw-layer", &raw_known),
        ("external-data-vendor-feeds", "raw-layer", &raw_known),
        (
            "ecometricx-prod-s3-curated-eu-west-1",
            "curated-layer",
            &curated,
        ),
        ("telemetry-prod-curated-daily", "curated-layer", &curated),
        ("orders-prod-processed-hourly", "curated-layer", &curated),
        (
            "ecometricx-prod-s3-refined-us-gov-west-1",
            "refined-layer",
            &refined,
        ),
        ("britbox-prod-dashboards", "refined-layer", &refined),
        (
            "ecometricx-prod-analytics-exports",
            "refined-layer",
            &refined,
        ),
    ];
    for (name, layer, expected) in cases {
        let verdict = evaluate(&bucket(name), &Tags::new(), policies);
        assert!(
            verdict.matched_rules.iter().any(|r| r == layer),
            "{name}: {:?}",
            verdict.matched_rules
        );
        assert_eq!(&verdict.add_tags, expected, "{name}");
        assert!(
            verdict
                .violations
                .iter()
                .all(|v| v.kind == ViolationKind::Missing),
            "{name}: {:?}",
            verdict.violations
        );
    }
}

#[test]
fn a_fully_tagged_layer_bucket_is_compliant_and_a_wrong_lineage_is_a_conflict() {
    let policies = standard();
    let mut tags = layer_tags(
        "S3-Raw-Layer",
        Some("S3-Refined,Redshift"),
        "DataEngineering",
    );
    tags.insert("DataDomain".to_owned(), "Telemetry".to_owned());
    let verdict = evaluate(
        &bucket("ecometricx-prod-s3-curated-eu-west-1"),
        &tags,
        policies,
    );
    assert_eq!(verdict.action, Action::None, "{:?}", verdict.violations);
    assert!(verdict.violations.is_empty());

    tags.insert("SourceSystems".to_owned(), "ExternalAPI".to_owned());
    let verdict = evaluate(
        &bucket("ecometricx-prod-s3-curated-eu-west-1"),
        &tags,
        policies,
    );
    assert_eq!(verdict.action, Action::Alert);
    assert_eq!(verdict.violations[0].kind, ViolationKind::Conflict);
    assert_eq!(verdict.violations[0].tag, "SourceSystems");
    assert!(
        verdict.add_tags.is_empty(),
        "a person's value is never overwritten"
    );
}

#[test]
fn the_cloudtrail_bucket_is_internal_and_infosec_only() {
    let policies = standard();
    let verdict = evaluate(
        &bucket("ecometricx-cloudtrail-bucket"),
        &Tags::new(),
        policies,
    );
    assert_eq!(verdict.add_tags["DataClassification"], "Internal");
    assert_eq!(verdict.add_tags["ProcessOwner"], "InfoSec");
    assert_eq!(verdict.action, Action::Remediate);
    let owned_elsewhere = Tags::from([
        ("DataClassification".to_owned(), "Internal".to_owned()),
        ("ProcessOwner".to_owned(), "DataEngineering".to_owned()),
        ("SourceSystems".to_owned(), "CloudTrail".to_owned()),
    ]);
    let verdict = evaluate(
        &bucket("ecometricx-cloudtrail-bucket"),
        &owned_elsewhere,
        policies,
    );
    assert_eq!(verdict.action, Action::Alert);
    assert!(verdict
        .violations
        .iter()
        .any(|v| v.tag == "ProcessOwner" && v.kind == ViolationKind::InvalidValue));
}

#[test]
fn an_unclassifiable_bucket_is_quarantined_but_a_classified_one_is_not() {
    let policies = standard();
    let verdict = evaluate(&bucket("marketing-site-assets"), &Tags::new(), policies);
    assert_eq!(verdict.action, Action::Quarantine);
    let public = Tags::from([("DataClassification".to_owned(), "Public".to_owned())]);
    let verdict = evaluate(&bucket("marketing-site-assets"), &public, policies);
    assert_eq!(
        verdict.action,
        Action::Alert,
        "still missing SourceSystems/ProcessOwner, but classified"
    );
}

#[test]
fn key_case_mistakes_are_reported_never_duplicated() {
    let policies = standard();
    let tags = Tags::from([("dataclassification".to_owned(), "Confidential".to_owned())]);
    let verdict = evaluate(&bucket("ecometricx-prod-s3-raw-eu-west-1"), &tags, policies);
    let violation = verdict
        .violations
        .iter()
        .find(|v| v.tag == "DataClassification")
        .unwrap();
    assert_eq!(violation.kind, ViolationKind::WrongCase);
    assert!(
        !verdict.add_tags.contains_key("DataClassification"),
        "no second DataClassification key"
    );
}

#[test]
fn secrets_are_restricted_and_log_groups_internal() {
    let policies = standard();
    let secret = ResourceRef::from_arn(
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-pass-AbCdEf",
        None,
    )
    .unwrap();
    assert_eq!(
        evaluate(&secret, &Tags::new(), policies).add_tags["DataClassification"],
        "Restricted"
    );
    let logs = ResourceRef::from_arn(
        "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/ingest",
        Some("logs:log-group"),
    )
    .unwrap();
    assert_eq!(
        evaluate(&logs, &Tags::new(), policies).add_tags["DataClassification"],
        "Internal"
    );
}

fn any_tags() -> impl Strategy<Value = BTreeMap<String, String>> {
    let keys = prop::sample::select(vec![
        "DataClassification",
        "dataclassification",
        "SourceSystems",
        "TargetSystems",
        "DataDomain",
        "ProcessOwner",
        "Name",
        "CostCenter",
    ]);
    let values = prop::sample::select(vec![
        "Confidential",
        "confidential",
        "Public",
        "Secret",
        "",
        "S3-Raw-Layer",
        "ExternalAPI,CustomerUpload",
        "DataEngineering",
        "InfoSec",
        "a,,b",
        "Analytics,Dashboard,ML",
    ]);
    prop::collection::btree_map(
        keys.prop_map(str::to_owned),
        values.prop_map(str::to_owned),
        0..7,
    )
}

fn any_resource() -> impl Strategy<Value = ResourceRef> {
    prop::sample::select(vec![
        "arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1",
        "arn:aws:s3:::ecometricx-prod-s3-curated-eu-west-1",
        "arn:aws:s3:::britbox-prod-s3-raw-eu-west-1",
        "arn:aws:s3:::ecometricx-cloudtrail-bucket",
        "arn:aws:s3:::random-bucket",
        "arn:aws:rds:eu-west-1:111122223333:db:orders",
        "arn:aws:lambda:eu-west-1:111122223333:function:ingest",
        "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1",
    ])
    .prop_map(|arn| ResourceRef::from_arn(arn, None).unwrap())
}

proptest! {
    /// The plan only adds absent keys; the only rewrite is a case fix the vocabulary allows, to
    /// a value equal but for case.
    #[test]
    fn the_plan_never_changes_or_removes_a_tag_a_person_set(tags in any_tags(), resource in any_resource()) {
        let policies = standard();
        let verdict = evaluate(&resource, &tags, policies);
        for key in verdict.add_tags.keys() {
            prop_assert!(!tags.contains_key(key), "would overwrite {key}");
            prop_assert!(!tags.keys().any(|k| k.eq_ignore_ascii_case(key)), "would add a case twin of {key}");
        }
        for (key, fixed) in &verdict.case_fixes {
            let current = tags.get(key).expect("case fixes only touch present keys");
            prop_assert!(current.eq_ignore_ascii_case(fixed) && current != fixed);
            let spec = policies.tag(key).expect("a vocabulary key");
            prop_assert!(spec.case_fix);
            prop_assert_eq!(spec.check(fixed), ValueCheck::Valid);
        }
        for (key, value) in &verdict.add_tags {
            if let Some(spec) = policies.tag(key) {
                prop_assert_eq!(spec.check(value), ValueCheck::Valid, "adds only valid values");
            }
        }
        // Applying the plan and evaluating again adds nothing more: idempotent.
        let mut after = tags.clone();
        after.extend(verdict.add_tags.clone());
        after.extend(verdict.case_fixes.clone());
        let again = evaluate(&resource, &after, policies);
        prop_assert!(again.add_tags.is_empty(), "second pass adds {:?}", again.add_tags);
        prop_assert!(again.case_fixes.is_empty());
    }
}
