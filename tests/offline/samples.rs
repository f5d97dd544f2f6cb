//! The bundled samples: every catalogued call has one, and each resolves to exactly the ARNs,
//! violations and plan expected under the shipped EcoMetricx standard.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use enforcer::act::{read_and_decide, InMemoryTagStore, ReadRetry};
use enforcer::catalog::{base_event_name, Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::engine::{Decision, Outcome};
use enforcer::evaluate::{Action, ViolationKind};
use enforcer::event::{decode_bytes, InputEvent, Location, ResolveOptions, Resolver};
use enforcer::policy::{self, Level};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    sample: Vec<ExpectedSample>,
}

#[derive(Deserialize)]
struct ExpectedSample {
    file: String,
    outcome: Outcome,
    arns: Vec<String>,
}

fn samples_dir() -> std::path::PathBuf {
    support::repo_root().join("events/samples")
}

/// The shipped policies and the catalog, loaded once for all samples.
fn shared() -> &'static (Catalog, enforcer::policy::PolicySet) {
    static SHARED: std::sync::OnceLock<(Catalog, enforcer::policy::PolicySet)> =
        std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let loaded = policy::load(
            &[support::repo_root().join("policies")],
            KNOWN_RESOURCE_TYPES,
        )
        .unwrap_or_else(|diagnostics| panic!("shipped policies must load: {diagnostics:?}"));
        (Catalog::builtin().unwrap(), loaded.set)
    })
}

/// Deciding events as `enforcer check` does: the shared catalog and policies, one in-memory
/// store across the events.
struct Deciding {
    resolver: Resolver,
    store: InMemoryTagStore,
    runtime: tokio::runtime::Runtime,
}

impl Deciding {
    /// A fresh run on an empty store.
    fn new() -> Self {
        Self {
            resolver: Resolver::new(shared().0.clone(), ResolveOptions::default()),
            store: InMemoryTagStore::new(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        }
    }

    fn decide(&self, event: &InputEvent, location: &Location) -> Decision {
        let policies = &shared().1;
        let retry = ReadRetry::default();
        let decided = read_and_decide(
            &self.store,
            &retry,
            self.resolver.resolve(event),
            policies,
            policies.mode,
            Some(location),
        );
        self.runtime.block_on(decided).0
    }
}

/// Decides every record of one sample on a fresh, empty store.
fn decide(file: &str) -> Vec<Decision> {
    let path = samples_dir().join(file);
    let deciding = Deciding::new();
    decode_bytes(file, &std::fs::read(&path).unwrap())
        .into_iter()
        .map(|result| {
            let (location, event) = result.unwrap_or_else(|e| panic!("{e}"));
            deciding.decide(&event, &location)
        })
        .collect()
}

fn expected() -> Expected {
    toml::from_str(&std::fs::read_to_string(samples_dir().join("expected.toml")).unwrap()).unwrap()
}

/// The generated samples (`events/samples/generated/`, written by tools/catalog-gen): the exact
/// ARN each must resolve to. Their outcome is not pinned: it follows from the policies.
#[derive(Deserialize)]
struct ExpectedGenerated {
    sample: Vec<ExpectedGeneratedSample>,
}

#[derive(Deserialize)]
struct ExpectedGeneratedSample {
    file: String,
    arns: Vec<String>,
}

const GENERATED: &str = "generated";

fn expected_generated() -> ExpectedGenerated {
    let path = samples_dir().join(GENERATED).join("expected.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_generated_sample_resolves_to_exactly_its_arn() {
    let catalog = Catalog::builtin().unwrap();
    let mut failures = Vec::new();
    let samples = expected_generated().sample;
    assert!(samples.len() >= 500, "{} generated samples", samples.len());
    for sample in samples {
        let decisions = decide(&format!("{GENERATED}/{}", sample.file));
        let arns: Vec<String> = decisions
            .iter()
            .flat_map(|d| d.resources.iter().map(|r| r.arn.clone()))
            .collect();
        if arns != sample.arns {
            failures.push(format!(
                "{}: expected {:?}, got {:?} ({:?})",
                sample.file,
                sample.arns,
                arns,
                decisions
                    .iter()
                    .map(|d| d.reason.clone())
                    .collect::<Vec<_>>()
            ));
        }
        for decision in &decisions {
            let entry = catalog
                .lookup(&decision.event_source, &decision.event_name)
                .unwrap_or_else(|| panic!("{}: not catalogued", sample.file));
            assert!(
                entry.generated,
                "{}: a hand-written call has a generated sample",
                sample.file
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_sample_resolves_to_its_expected_arns_and_outcome() {
    let mut failures = Vec::new();
    for sample in expected().sample {
        let decisions = decide(&sample.file);
        let arns: Vec<String> = decisions
            .iter()
            .flat_map(|d| d.resources.iter().map(|r| r.arn.clone()))
            .collect();
        let outcome = decisions.iter().map(|d| d.outcome).max();
        if arns != sample.arns || outcome != Some(sample.outcome) {
            failures.push(format!(
                "{}: expected {:?} {:?}, got {:?} {:?} ({:?})",
                sample.file,
                sample.outcome,
                sample.arns,
                outcome,
                arns,
                decisions
                    .iter()
                    .map(|d| d.reason.clone())
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_sample_file_is_listed_and_every_catalogued_call_has_a_sample() {
    let listed: BTreeSet<String> = expected()
        .sample
        .into_iter()
        .map(|s| s.file)
        .chain(
            expected_generated()
                .sample
                .into_iter()
                .map(|s| format!("{GENERATED}/{}", s.file)),
        )
        .collect();
    let mut on_disk = BTreeSet::new();
    let mut calls = BTreeSet::new();
    let hand = std::fs::read_dir(samples_dir()).unwrap();
    let generated = std::fs::read_dir(samples_dir().join(GENERATED)).unwrap();
    for entry in hand.chain(generated) {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if !file.ends_with(".json") {
            continue;
        }
        let name = if path.parent().unwrap().ends_with(GENERATED) {
            format!("{GENERATED}/{file}")
        } else {
            file
        };
        on_disk.insert(name.clone());
        for result in decode_bytes(&name, &std::fs::read(Path::new(&path)).unwrap()) {
            if let Ok((_, InputEvent::ApiCall(call))) = result {
                calls.insert((
                    call.record.event_source.clone(),
                    base_event_name(call.record.event_name.trim()).to_owned(),
                ));
            }
        }
    }
    assert_eq!(
        listed, on_disk,
        "events/samples/expected.toml must list every sample, and only those"
    );
    let catalog = Catalog::builtin().unwrap();
    let missing: Vec<String> = catalog
        .entries()
        .iter()
        .filter(|e| !calls.contains(&(e.event_source.clone(), e.event_name.clone())))
        .map(|e| format!("{} {}", e.event_source, e.event_name))
        .collect();
    assert!(
        missing.is_empty(),
        "catalogued calls without a sample: {missing:?}"
    );
}

/// (tag, kind, fixed) of every error-level violation of one resource.
fn violations(decision: &Decision, arn: &str) -> Vec<(String, ViolationKind, bool)> {
    let resource = decision.resources.iter().find(|r| r.arn == arn).unwrap();
    resource
        .violations
        .iter()
        .filter(|v| v.level == Level::Error)
        .map(|v| (v.tag.clone(), v.kind, v.fixed))
        .collect()
}

fn add_tags(decision: &Decision, arn: &str) -> BTreeMap<String, String> {
    decision
        .resources
        .iter()
        .find(|r| r.arn == arn)
        .unwrap()
        .add_tags
        .clone()
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn v(tag: &str, kind: ViolationKind, fixed: bool) -> (String, ViolationKind, bool) {
    (tag.to_owned(), kind, fixed)
}

use ViolationKind::{InvalidValue, Missing, WrongCase};

#[test]
fn raw_bucket_gets_layer_tags_and_asks_for_its_sources() {
    let [decision] = decide("s3-CreateBucket.json").try_into().unwrap();
    let arn = "arn:aws:s3:::ecometricx-prod-s3-raw-eu-west-1";
    assert_eq!(
        decision.resources[0].matched_rules,
        ["data-stores", "unclassified-buckets", "raw-layer"]
    );
    assert_eq!(
        violations(&decision, arn),
        [
            v("DataClassification", Missing, true),
            v("SourceSystems", Missing, false),
            v("ProcessOwner", Missing, true)
        ]
    );
    assert_eq!(
        add_tags(&decision, arn),
        tags(&[
            ("DataClassification", "Confidential"),
            ("ProcessOwner", "DataEngineering")
        ])
    );
    // SourceSystems of a raw bucket names external systems: not inferable, so a person is asked.
    assert_eq!(decision.resources[0].action, Action::Alert);
}

#[test]
fn curated_bucket_tagging_is_completed_from_the_layer() {
    let [decision] = decide("s3-PutBucketTagging.json").try_into().unwrap();
    let arn = "arn:aws:s3:::ecometricx-prod-s3-curated-eu-west-1";
    assert_eq!(
        add_tags(&decision, arn),
        tags(&[
            ("DataClassification", "Confidential"),
            ("ProcessOwner", "DataEngineering"),
            ("TargetSystems", "S3-Refined,Redshift")
        ])
    );
    assert_eq!(
        decision.resources[0].tags,
        tags(&[
            ("DataDomain", "Telemetry"),
            ("SourceSystems", "S3-Raw-Layer")
        ])
    );
    assert_eq!(decision.outcome, Outcome::Remediate);
}

#[test]
fn refined_bucket_whose_tags_were_deleted_gets_all_layer_tags_back() {
    let [decision] = decide("s3-DeleteBucketTagging.json").try_into().unwrap();
    let arn = "arn:aws:s3:::ecometricx-prod-s3-refined-eu-west-1";
    assert_eq!(
        add_tags(&decision, arn),
        tags(&[
            ("DataClassification", "Confidential"),
            ("ProcessOwner", "AnalyticsTeam"),
            ("SourceSystems", "S3-Curated-Layer"),
            ("TargetSystems", "Analytics,Dashboard,ML"),
        ])
    );
    assert!(violations(&decision, arn)
        .iter()
        .all(|(_, _, fixed)| *fixed));
}

#[test]
fn run_instances_yields_every_instance_and_fixes_classification_case() {
    let [decision] = decide("ec2-RunInstances.json").try_into().unwrap();
    assert_eq!(decision.resources.len(), 2);
    for resource in &decision.resources {
        assert_eq!(
            resource.tags["DataClassification"], "confidential",
            "tags from the request's instance tag specification"
        );
        assert!(
            !resource.tags.contains_key("Name") || resource.tags["Name"] == "etl-worker",
            "volume tags stay on volumes"
        );
        assert_eq!(
            violations(&decision, &resource.arn),
            [v("DataClassification", WrongCase, true)]
        );
        assert_eq!(
            resource.case_fixes,
            tags(&[("DataClassification", "Confidential")])
        );
        assert!(resource.add_tags.is_empty());
        assert_eq!(resource.action, Action::Remediate);
    }
}

#[test]
fn create_volume_with_the_full_standard_is_compliant() {
    let [decision] = decide("ec2-CreateVolume.json").try_into().unwrap();
    assert_eq!(decision.outcome, Outcome::Compliant);
    assert!(decision.resources[0].violations.is_empty());
}

#[test]
fn security_groups_hold_no_data_and_match_no_rule() {
    let [decision] = decide("ec2-CreateSecurityGroup.json").try_into().unwrap();
    assert!(decision.resources[0].matched_rules.is_empty());
    assert_eq!(decision.outcome, Outcome::Compliant);
}

#[test]
fn create_tags_with_a_value_outside_the_vocabulary_alerts_for_each_resource() {
    let [decision] = decide("ec2-CreateTags.json").try_into().unwrap();
    for resource in &decision.resources {
        assert_eq!(
            violations(&decision, &resource.arn),
            [
                v("DataClassification", InvalidValue, false),
                v("SourceSystems", Missing, false),
                v("ProcessOwner", Missing, false)
            ]
        );
        assert_eq!(resource.action, Action::Alert);
    }
    assert_eq!(decision.resources[1].resource_type, "ec2:volume");
}

#[test]
fn delete_tags_removing_classification_is_caught() {
    let [decision] = decide("ec2-DeleteTags.json").try_into().unwrap();
    let arn = "arn:aws:ec2:eu-west-1:111122223333:instance/i-0a1b2c3d4e5f60002";
    assert!(violations(&decision, arn).contains(&v("DataClassification", Missing, false)));
    assert_eq!(decision.outcome, Outcome::Alert);
}

#[test]
fn public_classification_on_customer_database_is_not_allowed() {
    let [decision] = decide("rds-CreateDBInstance.json").try_into().unwrap();
    let arn = "arn:aws:rds:eu-west-1:111122223333:db:billing-orders";
    assert_eq!(
        violations(&decision, arn),
        [v("DataClassification", InvalidValue, false)]
    );
    assert!(
        add_tags(&decision, arn).is_empty(),
        "never overwrite a value a person set"
    );
}

#[test]
fn new_cluster_gets_the_declared_default_and_asks_for_the_rest() {
    let [decision] = decide("rds-CreateDBCluster.json").try_into().unwrap();
    let arn = "arn:aws:rds:eu-west-1:111122223333:cluster:billing-orders-cluster";
    assert_eq!(
        add_tags(&decision, arn),
        tags(&[("DataClassification", "Confidential")])
    );
    assert_eq!(
        violations(&decision, arn),
        [
            v("DataClassification", Missing, true),
            v("SourceSystems", Missing, false),
            v("ProcessOwner", Missing, false)
        ]
    );
}

#[test]
fn rds_tag_calls_resolve_by_arn() {
    let [added] = decide("rds-AddTagsToResource.json").try_into().unwrap();
    assert_eq!(added.resources[0].resource_type, "rds:cluster");
    assert_eq!(added.outcome, Outcome::Remediate);
    let [removed] = decide("rds-RemoveTagsFromResource.json")
        .try_into()
        .unwrap();
    assert_eq!(removed.resources[0].resource_type, "rds:db");
}

#[test]
fn lambda_calls_with_version_suffixes_resolve() {
    let [created] = decide("lambda-CreateFunction20150331.json")
        .try_into()
        .unwrap();
    assert_eq!(created.outcome, Outcome::Compliant);
    assert_eq!(created.resources[0].tags.len(), 5);
    let [untagged] = decide("lambda-UntagResource20170331v2.json")
        .try_into()
        .unwrap();
    let arn = "arn:aws:lambda:eu-west-1:111122223333:function:ingest-webhook";
    assert_eq!(
        add_tags(&untagged, arn),
        tags(&[("DataClassification", "Confidential")])
    );
}

#[test]
fn tag_changes_accumulate_across_events_in_one_run() {
    // The same store across events: create the function with full tags, then remove two.
    let deciding = Deciding::new();
    let mut outcomes = Vec::new();
    for file in [
        "lambda-CreateFunction20150331.json",
        "lambda-UntagResource20170331v2.json",
    ] {
        for result in decode_bytes(file, &std::fs::read(samples_dir().join(file)).unwrap()) {
            let (location, event) = result.unwrap();
            outcomes.push(deciding.decide(&event, &location));
        }
    }
    let after = &outcomes[1].resources[0];
    assert_eq!(
        after.tags,
        tags(&[
            ("DataDomain", "Billing"),
            ("ProcessOwner", "DataEngineering"),
            ("TargetSystems", "S3-Raw-Layer")
        ])
    );
    assert_eq!(outcomes[1].outcome, Outcome::Alert);
}

#[test]
fn tag_change_events_replace_the_tag_set_and_removed_classification_is_caught() {
    let [table] = decide("tag-TagChangeOnResource-dynamodb-table.json")
        .try_into()
        .unwrap();
    let arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/customer-sessions";
    assert_eq!(table.event_source, "aws.tag");
    assert_eq!(table.resources[0].resource_type, "dynamodb:table");
    assert!(violations(&table, arn).contains(&v("DataClassification", Missing, false)));
    assert_eq!(table.outcome, Outcome::Alert);
    let [bucket] = decide("tag-TagChangeOnResource-s3-bucket.json")
        .try_into()
        .unwrap();
    let arn = "arn:aws:s3:::ecometricx-prod-s3-curated-eu-west-1";
    assert_eq!(
        bucket.resources[0].tags,
        tags(&[
            ("DataDomain", "Telemetry"),
            ("ProcessOwner", "DataEngineering"),
            ("SourceSystems", "S3-Raw-Layer")
        ]),
        "the event's tags are the resource's whole tag set"
    );
    assert_eq!(
        add_tags(&bucket, arn),
        tags(&[
            ("DataClassification", "Confidential"),
            ("TargetSystems", "S3-Refined,Redshift")
        ])
    );
}

#[test]
fn every_sample_arn_is_well_formed_for_its_type_and_in_the_sample_account() {
    let mut failures = Vec::new();
    for sample in expected().sample {
        for decision in decide(&sample.file) {
            for resource in &decision.resources {
                if let Some(problem) =
                    support::shapes::shape_problem(&resource.resource_type, &resource.arn)
                {
                    failures.push(format!("{}: {problem}", sample.file));
                }
                let arn = enforcer::catalog::Arn::parse(&resource.arn).unwrap();
                let region_ok = ["eu-west-1", "eu-central-1", ""].contains(&arn.region);
                let account_ok = ["111122223333", "444455556666", ""].contains(&arn.account);
                if !region_ok || !account_ok {
                    failures.push(format!("{}: {} region/account", sample.file, resource.arn));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn multi_resource_calls_yield_every_resource() {
    let arns = |file: &str| -> Vec<String> {
        decide(file)
            .into_iter()
            .flat_map(|d| d.resources.into_iter().map(|r| r.arn))
            .collect()
    };
    assert_eq!(arns("ec2-RunInstances.json").len(), 2);
    assert_eq!(arns("ec2-CreateTags.json").len(), 2);
    assert_eq!(arns("ec2-CreateSnapshots.json").len(), 2);
    assert_eq!(arns("elasticloadbalancing-AddTags.json").len(), 3);
    assert_eq!(arns("tagging-TagResources.json").len(), 2);
}

#[test]
fn every_catalogued_resource_type_has_a_known_arn_shape() {
    // Generated entries' types come with the ARN format of the IAM authorization reference, and
    // each generated sample resolves to exactly the ARN built from that format (above).
    let catalog = Catalog::builtin().unwrap();
    for entry in catalog.entries().iter().filter(|e| !e.generated) {
        for kind in entry.resource_types() {
            assert!(
                kind == "from_arn" || support::shapes::has_shape(kind),
                "{} {}: no ARN shape for `{kind}` in tests/support/shapes.rs",
                entry.event_source,
                entry.event_name
            );
        }
    }
}

/// What each bundled sample of a call that changes a protection setting says of its resource's
/// protection, read by the resolver from the record (`enforcer::obligation`): `(file, encrypted
/// at rest, public)`, `None` where the record says nothing. The region is the record's
/// `awsRegion` on every one.
#[test]
fn setting_samples_carry_their_protection_facts() {
    let expected: [(&str, Option<bool>, Option<bool>); 12] = [
        // A CloudTrail delivery policy names a service: not public, and no fact either way.
        ("s3-PutBucketPolicy.json", None, None),
        // An ACL with the owner's grant only.
        ("s3-PutBucketAcl.json", None, None),
        ("s3-PutBucketPublicAccessBlock.json", None, Some(false)),
        ("s3-DeleteBucketPublicAccessBlock.json", None, Some(true)),
        ("s3-PutBucketEncryption.json", Some(true), None),
        // S3 falls back to SSE-S3: still encrypted, so no fact.
        ("s3-DeleteBucketEncryption.json", None, None),
        ("rds-CreateDBInstance.json", Some(true), Some(false)),
        ("rds-CreateDBCluster.json", Some(true), None),
        // Shared with one account, not with `all`.
        ("rds-ModifyDBSnapshotAttribute.json", None, None),
        ("ec2-CreateVolume.json", Some(true), None),
        ("redshift-CreateCluster.json", Some(true), None),
        // No `directInternetAccess`: AWS's default, Enabled.
        ("sagemaker-CreateNotebookInstance.json", None, Some(true)),
    ];
    let resolver = Resolver::new(shared().0.clone(), ResolveOptions::default());
    for (file, encrypted, public) in expected {
        let bytes = std::fs::read(samples_dir().join(file)).unwrap();
        let (_, event) = decode_bytes(file, &bytes).remove(0).unwrap();
        let enforcer::event::Resolution::Resolved(change) = resolver.resolve(&event) else {
            panic!("{file} does not resolve");
        };
        for resource in &change.resources {
            let facts = &resource.protection;
            assert_eq!(
                (
                    facts.encrypted_at_rest.as_ref().map(|f| f.value),
                    facts.public.as_ref().map(|f| f.value)
                ),
                (encrypted, public),
                "{file}: {facts:#?}"
            );
            assert_eq!(
                facts.region.as_ref().map(|f| f.value.as_str()),
                change.region.as_deref(),
                "{file}"
            );
        }
    }
}

/// Each Macie sample, decided as `enforcer check` decides it (the bucket untagged), resolves to
/// its bucket as evidence, is never quarantined (a finding is no creation), and, where the
/// class the layer rule adds is below what the finding's categories warrant (credentials:
/// Restricted), says so with the finding's id, type, categories and the class warranted.
#[test]
fn macie_samples_name_their_finding_and_the_class_it_warrants() {
    for (file, finding_type, below) in [
        (
            "macie-SensitiveData-S3Object-Personal.json",
            "SensitiveData:S3Object/Personal",
            None,
        ),
        (
            "macie-SensitiveData-S3Object-Financial.json",
            "SensitiveData:S3Object/Financial",
            None,
        ),
        (
            "macie-SensitiveData-S3Object-Credentials.json",
            "SensitiveData:S3Object/Credentials",
            Some("CREDENTIALS"),
        ),
        (
            "macie-SensitiveData-S3Object-CustomIdentifier.json",
            "SensitiveData:S3Object/CustomIdentifier",
            None,
        ),
        (
            "macie-SensitiveData-S3Object-Multiple.json",
            "SensitiveData:S3Object/Multiple",
            Some("PERSONAL_INFORMATION"),
        ),
    ] {
        let decisions = decide(file);
        let [decision] = decisions.as_slice() else {
            panic!("{file}: {decisions:?}")
        };
        assert_eq!(decision.event_source, "aws.macie", "{file}");
        assert_eq!(decision.event_name, finding_type, "{file}");
        let finding_id = decision.event_id.clone().unwrap();
        let [resource] = decision.resources.as_slice() else {
            panic!("{file}: {decision:?}")
        };
        assert_eq!(resource.resource_type, "s3:bucket");
        assert_ne!(resource.action, Action::Quarantine, "{file}");
        // The layer's lineage class is added (a rule's `set`); nothing from the finding.
        assert_eq!(
            resource
                .add_tags
                .get("DataClassification")
                .map(String::as_str),
            Some("Confidential"),
            "{file}"
        );
        let obligations: Vec<&str> = resource
            .violations
            .iter()
            .filter(|v| v.kind == ViolationKind::Obligation)
            .map(|v| v.message.as_str())
            .collect();
        match below {
            None => assert!(obligations.is_empty(), "{file}: {obligations:?}"),
            Some(category) => {
                let [message] = obligations.as_slice() else {
                    panic!("{file}: {obligations:?}")
                };
                for named in [finding_id.as_str(), finding_type, category, "`Restricted`"] {
                    assert!(message.contains(named), "{file}: {named}: {message}");
                }
            }
        }
    }
}
