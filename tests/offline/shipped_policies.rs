//! The shipped EcoMetricx standard validates with zero warnings, every rule, every layer naming
//! convention and the exemption have test cases, and every case passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use enforcer::authoring::cases::{ExpectedOutcome, Subject};
use enforcer::authoring::{load_cases, run_cases};
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::policy;

fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

#[test]
fn shipped_policies_validate_without_warnings() {
    let loaded = policy::load(&[policies_dir()], KNOWN_RESOURCE_TYPES)
        .unwrap_or_else(|d| panic!("{}", d.iter().map(|d| d.render(false)).collect::<String>()));
    let warnings: String = loaded.warnings.iter().map(|d| d.render(false)).collect();
    assert!(loaded.warnings.is_empty(), "{warnings}");
    assert_eq!(loaded.set.rules.len(), 9);
}

#[test]
fn every_shipped_case_passes_and_covers_every_rule_and_layer() {
    let loaded = policy::load(&[policies_dir()], KNOWN_RESOURCE_TYPES).unwrap();
    let cases = load_cases(
        &[policies_dir().join("tests")],
        &loaded.set,
        KNOWN_RESOURCE_TYPES,
    )
    .unwrap_or_else(|d| panic!("{}", d.iter().map(|d| d.render(false)).collect::<String>()));
    let reports = run_cases(
        &cases,
        &loaded.set,
        &Catalog::builtin().unwrap(),
        jiff::Timestamp::now(),
    );
    let failed: Vec<_> = reports.iter().filter(|r| !r.passed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(reports.len() >= 50, "{} cases", reports.len());

    // Every rule is asserted to apply by at least one case.
    for rule in &loaded.set.rules {
        assert!(
            cases.cases.iter().any(|case| case
                .expect
                .matched_rules
                .as_ref()
                .is_some_and(|rules| rules.contains(&rule.name))),
            "no case expects rule `{}` to apply",
            rule.name
        );
    }
    // Every naming convention of every rule with `names` is exercised by a resource case.
    for rule in loaded.set.rules.iter().filter(|r| !r.names.is_empty()) {
        for pattern in &rule.names {
            assert!(
                cases.cases.iter().any(|case| match &case.subject {
                    Subject::Resource { resource, .. } => {
                        pattern.is_match(&resource.name)
                            && rule
                                .resource_types
                                .as_ref()
                                .is_none_or(|t| t.contains(&resource.resource_type))
                    }
                    Subject::Event { .. } => false,
                }),
                "no case names a resource matching `{}` of rule `{}`",
                pattern.as_str(),
                rule.name
            );
        }
    }
    // The exemption, and negative cases (nothing to do, or nothing selected) are covered.
    let outcomes: Vec<ExpectedOutcome> = cases.cases.iter().map(|c| c.expect.outcome).collect();
    for outcome in [
        ExpectedOutcome::Exempt,
        ExpectedOutcome::Compliant,
        ExpectedOutcome::Remediate,
        ExpectedOutcome::Alert,
        ExpectedOutcome::Quarantine,
        ExpectedOutcome::Ignored,
    ] {
        assert!(outcomes.contains(&outcome), "no case expects {outcome}");
    }
    assert!(cases
        .cases
        .iter()
        .any(|c| c.expect.matched_rules.as_ref().is_some_and(Vec::is_empty)));
}
