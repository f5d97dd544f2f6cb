//! Principal exemptions on real CloudTrail records: the root user's `CreateBucket`
//! (cloud-custodian's capture), an IAM user's `CreateDBInstance` (panther-analysis) and an
//! assumed-role session's `CreateBucket` (the bundled sample) are each matched by the pattern
//! naming their caller, and by nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use enforcer::act::given_current;
use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
use enforcer::engine::{decide, Outcome};
use enforcer::event::{decode_bytes, Resolution, ResolveOptions, Resolver};
use enforcer::policy::{compile_sources, PolicySet, SourceFile};

use crate::support::repo_root;

/// Every data store must be classified; the callers a principal exemption names are exempt.
fn policies(principal: &str) -> PolicySet {
    let text = format!(
        r#"
[tags.DataClassification]
values = ["Public", "Confidential"]

[[rule]]
name = "classified"
resource_types = ["s3:bucket", "rds:db"]
require = ["DataClassification"]

[[exemption]]
principal = '{principal}'
reason = "exempt caller"
"#
    );
    let source = SourceFile {
        path: "p.toml".to_owned(),
        text: Arc::new(text),
    };
    let (set, diagnostics) = compile_sources(&[source], KNOWN_RESOURCE_TYPES);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    set
}

/// The outcome of the first record of `file` under `policies`, and whether every resource of it
/// is exempt.
fn outcome(file: &str, policies: &PolicySet) -> (Outcome, bool) {
    let path = repo_root().join(file);
    let (_, event) = decode_bytes(file, &std::fs::read(&path).unwrap())
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
    let Resolution::Resolved(change) = resolver.resolve(&event) else {
        panic!("{file} resolves")
    };
    let current = given_current(&change, |_| None);
    let now = "2027-01-10T12:00:00Z".parse().unwrap();
    let decision = decide(*change, current, policies, policies.mode, now, None);
    let exempt = decision.resources.iter().all(|r| r.exempt.is_some());
    (decision.outcome, exempt)
}

const ROOT: &str =
    "tests/corpora/cloudtrail-real/cloud-custodian__tests_data_cwe_event-cloud-trail-create-bucket.envelopes.jsonl";
const IAM_USER: &str =
    "tests/corpora/cloudtrail-real/panther-analysis__rules_aws_cloudtrail_rules_aws_rds_publicrestore.jsonl";
const SESSION: &str = "events/samples/s3-CreateBucket.json";

#[test]
fn principal_exemptions_match_real_callers() {
    let cases = [
        // The root user, by its exact ARN.
        ("arn:aws:iam::619193117841:root", ROOT),
        // An IAM user, by a wildcard over the account.
        ("arn:aws:iam::*:user/john*", IAM_USER),
        // A role session, by the role that issued it (`sessionContext.sessionIssuer.arn`).
        ("arn:aws:iam::111122223333:role/DataEngineer", SESSION),
        // The same session by its own ARN.
        (
            "arn:aws:sts::111122223333:assumed-role/DataEngineer/*",
            SESSION,
        ),
    ];
    for (principal, file) in cases {
        let policies = policies(principal);
        for (_, other) in cases.iter().filter(|(_, f)| *f != file) {
            assert_eq!(
                outcome(other, &policies),
                (Outcome::Alert, false),
                "{principal} must not exempt {other}"
            );
        }
        assert_eq!(
            outcome(file, &policies),
            (Outcome::Compliant, true),
            "{principal} on {file}"
        );
    }
}

/// `check` (without a state table) and `replay` decide a recorded event at its own time: the
/// opt-out Data Governance wrote on 2027-01-10 applies then, whatever today is, and the same
/// event dated after its `until` finds it expired.
#[test]
fn a_recorded_event_s_opt_out_is_judged_at_the_event_s_time() {
    use enforcer::act::{read_and_decide, InMemoryTagStore, ReadRetry};
    use enforcer::evaluate::ViolationKind;

    let shipped = enforcer::policy::load(&[repo_root().join("policies")], KNOWN_RESOURCE_TYPES)
        .unwrap()
        .set;
    let decide_text = |text: &str| {
        let (location, event) = decode_bytes("event.json", text.as_bytes())
            .into_iter()
            .next()
            .unwrap()
            .unwrap();
        let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (decision, error) = runtime.block_on(read_and_decide(
            &InMemoryTagStore::new(),
            &ReadRetry::none(),
            resolver.resolve(&event),
            &shipped,
            shipped.mode,
            Some(&location),
        ));
        assert!(error.is_none(), "{error:?}");
        decision.resources.into_iter().next().unwrap()
    };
    let event = std::fs::read_to_string(
        repo_root().join("policies/tests/events/tag-opt-out-by-governance.json"),
    )
    .unwrap();
    let then = decide_text(&event);
    assert_eq!(
        then.opt_out
            .as_ref()
            .map(|o| o.until.to_string())
            .as_deref(),
        Some("2027-01-31"),
        "{then:#?}"
    );
    let late = decide_text(&event.replace("2027-01-10T10:02:07Z", "2027-02-05T10:02:07Z"));
    assert!(late.opt_out.is_none(), "{late:#?}");
    assert!(late
        .violations
        .iter()
        .any(|v| v.kind == ViolationKind::Exemption
            && v.message == "the exemption `enforcer:exempt` expired on 2027-01-31"));
}
