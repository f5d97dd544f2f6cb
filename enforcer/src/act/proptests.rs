//! Property tests of the act step: merge-only writes and idempotence, over random tag sets and
//! random plans.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use super::{
    apply, given_current, ActSettings, InMemoryNotify, InMemoryQuarantine, InMemoryTagStore,
    TagStore,
};
use crate::catalog::KNOWN_RESOURCE_TYPES;
use crate::engine::{decide, existing, Decision, Outcome, ResourceDecision};
use crate::evaluate::Action;
use crate::event::ResourceRef;
use crate::policy::{compile_sources, Mode, PolicySet, SourceFile};
use crate::Tags;

const ARN: &str = "arn:aws:s3:::bucket";

fn standard() -> PolicySet {
    let source = SourceFile {
        path: "policies/ecometricx.toml".to_owned(),
        text: Arc::new(include_str!("../../../policies/ecometricx.toml").to_owned()),
    };
    compile_sources(&[source], KNOWN_RESOURCE_TYPES).0
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "DataClassification",
        "dataclassification",
        "SourceSystems",
        "TargetSystems",
        "ProcessOwner",
        "DataDomain",
        "CostCenter",
        "enforcer:quarantine",
    ])
    .prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "Confidential",
            "confidential",
            "CONFIDENTIAL",
            "Internal",
            "internal",
            "Public",
            "Restricted",
            "DataEngineering",
            "S3-Raw-Layer",
            "s3-raw-layer, redshift",
            "",
        ])
        .prop_map(str::to_owned),
        "[A-Za-z0-9 ,-]{0,12}",
    ]
}

fn tag_set() -> impl Strategy<Value = Tags> {
    prop::collection::btree_map(key(), value(), 0..6)
}

fn bucket_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "acme-prod-s3-raw-eu-west-1",
        "acme-prod-s3-curated-eu-west-1",
        "acme-prod-s3-refined-eu-west-1",
        "ecometricx-cloudtrail-bucket",
        "britbox-prod-media",
        "scratch",
    ])
    .prop_map(str::to_owned)
}

fn decision(resource: ResourceDecision) -> Decision {
    Decision {
        event_id: None,
        event_source: "test".to_owned(),
        event_name: "test".to_owned(),
        outcome: Outcome::Remediate,
        reason: None,
        location: None,
        actor: None,
        creator: None,
        account: None,
        region: None,
        mode: Mode::Enforce,
        resources: vec![resource],
        resolution: None,
    }
}

fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Every tag `before` had is still there, with its value unchanged unless `fixes` re-cased it
/// (a value equal to the old one but for case and spacing). The `enforcer:` keys are the
/// enforcer's own record, not a person's.
fn merge_only(before: &Tags, after: &Tags, fixes: &Tags) -> Result<(), TestCaseError> {
    for (key, value) in before {
        if key.starts_with(super::record::RECORD_PREFIX) {
            continue;
        }
        let now = after.get(key);
        prop_assert!(now.is_some(), "`{key}` was removed");
        let now = now.unwrap_or(value);
        if now != value {
            prop_assert_eq!(
                Some(now),
                fixes.get(key),
                "`{}` changed without a case fix",
                key
            );
            prop_assert_eq!(
                fold(now),
                fold(value),
                "`{}` changed more than its case",
                key
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever a plan says — even one naming keys the resource has, as a stale or faulty plan
    /// might — applying it changes no tag a person set, except an allowed case fix.
    #[test]
    fn applying_any_plan_never_changes_a_persons_tag(
        current in tag_set(),
        add in tag_set(),
        fixes in tag_set(),
        quarantine in any::<bool>(),
        read_known in any::<bool>(),
    ) {
        let store = InMemoryTagStore::with_inventory(BTreeMap::from([(ARN.to_owned(), current.clone())]));
        let resource = ResourceDecision {
            arn: ARN.to_owned(),
            resource_type: "s3:bucket".to_owned(),
            tags: current.clone(),
            matched_rules: vec!["rule".to_owned()],
            exempt: None,
            opt_out: None,
            violations: Vec::new(),
            add_tags: add,
            case_fixes: fixes.clone(),
            action: if quarantine { Action::Quarantine } else { Action::Remediate },
            stale_read: false,
        quarantine_withheld: false,
        protection: crate::obligation::ProtectionFacts::default(),
        unread_settings: Vec::new(),
        minimum_class: None,
            read: read_known.then(|| current.clone()),
        };
        let settings = ActSettings::new(&PolicySet::default(), true);
        let report = runtime().block_on(apply(
            &decision(resource),
            &settings,
            &store,
            &InMemoryQuarantine::new(),
            &InMemoryNotify::new(),
        ));
        let after = store.snapshot().remove(ARN).unwrap_or_default();
        merge_only(&current, &after, &fixes)?;
        prop_assert!(report.failures().is_empty());
    }

    /// With the project's own standard: evaluating a bucket, applying the plan, and doing it all
    /// again leaves the account as once — the second pass writes nothing.
    #[test]
    fn enforcing_the_standard_twice_is_the_same_as_once(
        name in bucket_name(),
        current in tag_set(),
    ) {
        let arn = format!("arn:aws:s3:::{name}");
        let store = InMemoryTagStore::with_inventory(BTreeMap::from([(arn.clone(), current.clone())]));
        let policies = standard();
        // One state table for both passes.
        let settings = ActSettings::new(&policies, true);
        let resource = ResourceRef::from_arn(&arn, None).unwrap();
        // As `enforcer scan` decides a resource it listed.
        let decide_existing = |tags: Tags| {
            let change = existing(resource.clone(), None);
            let current = given_current(&change, |_| Some(tags.clone()));
            decide(
                change,
                current,
                &policies,
                policies.mode,
                jiff::Timestamp::UNIX_EPOCH,
                None,
            )
        };
        let runtime = runtime();
        let quarantine = InMemoryQuarantine::new();
        let notify = InMemoryNotify::new();
        let first = decide_existing(current.clone());
        let fixes = first.resources[0].case_fixes.clone();
        runtime.block_on(apply(&first, &settings, &store, &quarantine, &notify));
        let once = store.snapshot().remove(&arn).unwrap_or_default();
        merge_only(&current, &once, &fixes)?;
        let writes = store.write_calls();

        let tags = runtime.block_on(store.get_tags(std::slice::from_ref(&arn))).unwrap().remove(&arn).unwrap_or_default();
        let second = decide_existing(tags);
        let report = runtime.block_on(apply(&second, &settings, &store, &quarantine, &notify));
        prop_assert_eq!(store.snapshot().remove(&arn).unwrap_or_default(), once);
        prop_assert_eq!(store.write_calls(), writes, "the second pass wrote: {:?}", report);
        prop_assert!(second.resources[0].add_tags.is_empty());
    }
}
