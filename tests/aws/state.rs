//! The state table against the local AWS stand-in (moto's DynamoDB on 127.0.0.1): conditional
//! claims (two at once, one wins), a prior state captured once, TTL on what is done with, the
//! freshest version kept, the alert lifecycle end to end with its DynamoDB calls counted, and a
//! table that throttles, is missing or unreachable failing retryable.

use crate::support::moto;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use enforcer::act::aws::MAX_ATTEMPTS;
use enforcer::act::StoreError;
use enforcer::evaluate::{Action, Violation, ViolationKind};
use enforcer::policy::Level;
use enforcer::state::{
    alert_once, AlertError, AlertOutcome, Capture, Claim, Claimed, DynamoStateStore,
    FreshnessCheck, LifecycleSettings, Notice, Problem, Seen, StateError, StateStore,
    DEFAULT_RESOLVED_RETENTION, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE,
};
use moto::{moto, Fault, TestAccount};

const ARN: &str = "arn:aws:s3:::raw-data";
pub(crate) const TABLE: &str = "enforcer-state";
const T0: u64 = 1_800_000_000;

/// One test's account with the state table created as infra/template.yaml declares it.
async fn setup(name: &str) -> Option<(TestAccount, DynamoStateStore)> {
    let account = moto()?.account(name).await;
    let store = create_state_table(&account).await;
    Some((account, store))
}

/// Creates the state table ([`TABLE`]) in `account` as infra/template.yaml declares it (its key
/// schema; on-demand), and gives the store over it.
pub(crate) async fn create_state_table(account: &TestAccount) -> DynamoStateStore {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    account
        .dynamodb
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PARTITION_KEY, KeyType::Hash))
        .key_schema(key(SORT_KEY, KeyType::Range))
        .attribute_definitions(attribute(PARTITION_KEY))
        .attribute_definitions(attribute(SORT_KEY))
        .send()
        .await
        .unwrap();
    DynamoStateStore::new(account.dynamodb.clone(), TABLE)
}

fn problem(tags: &[&str]) -> Problem {
    let violations: Vec<Violation> = tags
        .iter()
        .map(|tag| Violation {
            tag: (*tag).to_owned(),
            kind: ViolationKind::Missing,
            rule: "raw-layer".to_owned(),
            message: format!("{tag} is missing"),
            level: Level::Error,
            fixed: false,
            obligation: None,
        })
        .collect();
    Problem::new(ARN, &violations, Action::Quarantine).unwrap()
}

/// Counts published messages; each publish takes `delay`, so concurrent runs overlap.
#[derive(Clone, Default)]
struct Publisher {
    sent: Arc<AtomicUsize>,
    delay: Duration,
}

impl Publisher {
    fn publish(
        &self,
    ) -> impl FnOnce(
        Notice,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<String, StoreError>> + Send>,
    > {
        let sent = self.sent.clone();
        let delay = self.delay;
        move |notice| {
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                let n = sent.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(format!("{notice}-{n}"))
            })
        }
    }

    fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }
}

/// The raw alert item, as the table holds it.
async fn raw_item(
    account: &TestAccount,
    record: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    account
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key(PARTITION_KEY, AttributeValue::S(ARN.to_owned()))
        .key(SORT_KEY, AttributeValue::S(record.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn two_concurrent_claims_of_the_same_message_one_wins() {
    let Some((_account, store)) = setup("state_concurrent_claims").await else {
        return;
    };
    let claim = |claimant: &str| Claim {
        notice: Notice::Opened,
        fingerprint: Some(problem(&["DataClassification"]).fingerprint()),
        claimant: claimant.to_owned(),
        lease_until: T0 + 70,
    };
    let (a, b) = (claim("a"), claim("b"));
    // moto applies two simultaneous conditional writes without the serialisation DynamoDB
    // guarantees (both can pass their condition), so the race is staged: the second claim on the
    // same version arrives while the first is held, which is what the condition must refuse.
    let first = store.claim_alert(ARN, 0, &a).await.unwrap();
    let second = store.claim_alert(ARN, 0, &b).await.unwrap();
    assert_eq!([first, second], [Claimed::Won, Claimed::Lost]);
    let pending = store
        .load(ARN)
        .await
        .unwrap()
        .alert
        .unwrap()
        .pending
        .unwrap();
    assert_eq!(pending.claimant, "a");
    // A claim on a version that moved on loses too.
    assert_eq!(
        store.claim_alert(ARN, 0, &claim("c")).await.unwrap(),
        Claimed::Lost
    );
}

#[tokio::test]
async fn two_processes_deciding_the_same_problem_at_once_send_one_message() {
    let Some((_account, store)) = setup("state_concurrent_alerts").await else {
        return;
    };
    let settings = LifecycleSettings::default();
    let missing = problem(&["DataClassification"]);
    let publisher = Publisher {
        delay: Duration::from_millis(300),
        ..Publisher::default()
    };
    let first = alert_once(
        &store,
        ARN,
        Some(&missing),
        T0,
        "a",
        &settings,
        publisher.publish(),
    );
    // "b" decides while "a" holds its claim and publishes (moto does not serialise simultaneous
    // conditional writes as DynamoDB does, so the overlap is staged rather than left to chance).
    let second = async {
        while store
            .load(ARN)
            .await
            .unwrap()
            .alert
            .and_then(|alert| alert.pending)
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        alert_once(
            &store,
            ARN,
            Some(&missing),
            T0,
            "b",
            &settings,
            publisher.publish(),
        )
        .await
    };
    let (a, b) = tokio::join!(first, second);
    let (sent, other) = match (a, b) {
        (Ok(sent @ AlertOutcome::Sent { .. }), other)
        | (other, Ok(sent @ AlertOutcome::Sent { .. })) => (sent, other),
        other => panic!("no message sent: {other:?}"),
    };
    assert!(matches!(
        sent,
        AlertOutcome::Sent {
            notice: Notice::Opened,
            taken_over: false,
            ..
        }
    ));
    // The other one saw the live claim: retryable, and nothing once it comes back.
    let error = other.unwrap_err();
    assert!(
        matches!(error, AlertError::State(StateError::ClaimHeld { .. })) && error.retryable(),
        "{error:?}"
    );
    assert_eq!(publisher.sent(), 1);
    let retry = alert_once(
        &store,
        ARN,
        Some(&missing),
        T0 + 60,
        "b",
        &settings,
        publisher.publish(),
    )
    .await
    .unwrap();
    assert_eq!(retry, AlertOutcome::Nothing);
    assert_eq!(publisher.sent(), 1);
}

#[tokio::test]
async fn the_lifecycle_end_to_end_with_its_dynamodb_calls() {
    let Some((account, store)) = setup("state_lifecycle").await else {
        return;
    };
    let settings = LifecycleSettings::default();
    let publisher = Publisher::default();
    let missing = problem(&["DataClassification"]);
    let day = 24 * 3600;
    let run = |problem: Option<&'static Problem>, now: u64| {
        let (store, publisher) = (store.clone(), publisher.clone());
        async move {
            alert_once(
                &store,
                ARN,
                problem,
                now,
                &format!("run-{now}"),
                &settings,
                publisher.publish(),
            )
            .await
            .unwrap()
        }
    };
    let missing: &'static Problem = Box::leak(Box::new(missing));
    let changed: &'static Problem = Box::leak(Box::new(problem(&["DataClassification", "Layer"])));
    let notice = |outcome: AlertOutcome| match outcome {
        AlertOutcome::Sent { notice, .. } => Some(notice),
        AlertOutcome::Nothing => None,
    };

    account.harness.clear_calls();
    assert_eq!(notice(run(Some(missing), T0).await), Some(Notice::Opened));
    // Deciding to send: one read, the claim, the confirmation.
    assert_eq!(
        account.harness.calls(),
        [
            "DynamoDB.Query",
            "DynamoDB.UpdateItem",
            "DynamoDB.UpdateItem"
        ]
    );
    account.harness.clear_calls();
    // Redelivery, the aws.tag echo, later events: one read each, nothing sent.
    for now in [T0, T0 + 1, T0 + day - 1] {
        assert_eq!(notice(run(Some(missing), now).await), None);
    }
    assert_eq!(account.harness.calls(), ["DynamoDB.Query"; 3]);
    assert_eq!(
        notice(run(Some(missing), T0 + day).await),
        Some(Notice::Reminder)
    );
    assert_eq!(notice(run(Some(missing), T0 + 3 * day).await), None);
    assert_eq!(
        notice(run(Some(changed), T0 + 3 * day).await),
        Some(Notice::Changed)
    );
    assert_eq!(notice(run(Some(changed), T0 + 3 * day + 1).await), None);
    let open = raw_item(&account, "alert").await;
    assert_eq!(
        open.get(TTL_ATTRIBUTE),
        None,
        "an open problem never expires"
    );
    assert_eq!(open["thread_id"], AttributeValue::S(ARN.to_owned()));

    let fixed = T0 + 4 * day;
    assert_eq!(notice(run(None, fixed).await), Some(Notice::Resolved));
    assert_eq!(notice(run(None, fixed + 1).await), None);
    assert_eq!(notice(run(None, fixed + 2 * day).await), None);
    assert_eq!(publisher.sent(), 4, "opened, reminder, changed, resolved");

    let resolved = raw_item(&account, "alert").await;
    assert_eq!(
        resolved[TTL_ATTRIBUTE],
        AttributeValue::N((fixed + DEFAULT_RESOLVED_RETENTION.as_secs()).to_string()),
        "a resolved item expires by TTL"
    );
    for gone in ["fingerprint", "pending_claimant", "lease_until"] {
        assert_eq!(resolved.get(gone), None, "{gone}");
    }
}

#[tokio::test]
async fn a_crash_between_claim_and_confirmation_is_sent_after_the_lease() {
    let Some((_account, store)) = setup("state_crash").await else {
        return;
    };
    let settings = LifecycleSettings::default();
    let missing = problem(&["DataClassification"]);
    let lease_until = T0 + settings.claim_lease.as_secs();
    let crashed = Claim {
        notice: Notice::Opened,
        fingerprint: Some(missing.fingerprint()),
        claimant: "crashed".to_owned(),
        lease_until,
    };
    assert_eq!(
        store.claim_alert(ARN, 0, &crashed).await.unwrap(),
        Claimed::Won
    );
    let publisher = Publisher::default();
    let early = alert_once(
        &store,
        ARN,
        Some(&missing),
        T0 + 5,
        "retry",
        &settings,
        publisher.publish(),
    )
    .await
    .unwrap_err();
    assert!(early.retryable(), "{early:?}");
    let late = alert_once(
        &store,
        ARN,
        Some(&missing),
        lease_until,
        "retry",
        &settings,
        publisher.publish(),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            late,
            AlertOutcome::Sent {
                notice: Notice::Opened,
                ..
            }
        ),
        "{late:?}"
    );
    assert_eq!(publisher.sent(), 1);
}

#[tokio::test]
async fn a_prior_state_is_captured_once_and_never_overwritten() {
    let Some((account, store)) = setup("state_prior_state").await else {
        return;
    };
    let first = r#"{"public_access_block":null,"policy":null}"#;
    assert_eq!(
        store
            .capture_prior_state(ARN, "s3:bucket", first, T0)
            .await
            .unwrap(),
        Capture::Captured
    );
    store
        .record_quarantine_step(ARN, "deny-statement")
        .await
        .unwrap();
    // A later run reads the resource after its own isolation: that state must not replace the
    // true prior one.
    let isolated = r#"{"public_access_block":"all","policy":"deny"}"#;
    assert_eq!(
        store
            .capture_prior_state(ARN, "s3:bucket", isolated, T0 + 60)
            .await
            .unwrap(),
        Capture::Kept
    );
    store
        .record_quarantine_step(ARN, "public-access-block")
        .await
        .unwrap();
    store.set_quarantine_verified(ARN, true).await.unwrap();
    let record = store.load(ARN).await.unwrap().quarantine.unwrap();
    assert_eq!(record.prior_state, first);
    assert_eq!(record.captured_at, T0);
    assert_eq!(
        record
            .steps_done
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["deny-statement", "public-access-block"]
    );
    assert!(record.verified);

    // Released: the item expires by TTL, and a new quarantine may capture afresh.
    let expires = T0 + 3600 + DEFAULT_RESOLVED_RETENTION.as_secs();
    store
        .mark_quarantine_released(ARN, T0 + 3600, expires)
        .await
        .unwrap();
    assert_eq!(
        raw_item(&account, "quarantine").await[TTL_ATTRIBUTE],
        AttributeValue::N(expires.to_string())
    );
    let error = store.record_quarantine_step(ARN, "late").await.unwrap_err();
    assert!(matches!(error, StateError::NoLiveQuarantine { .. }) && !error.retryable());
    assert_eq!(
        store
            .capture_prior_state(ARN, "s3:bucket", isolated, T0 + 7200)
            .await
            .unwrap(),
        Capture::Captured
    );
    let again = store.load(ARN).await.unwrap().quarantine.unwrap();
    assert_eq!(
        (again.prior_state.as_str(), again.released_at),
        (isolated, None)
    );
    assert!(again.steps_done.is_empty() && again.expires_at.is_none());
}

#[tokio::test]
async fn a_stale_version_never_overrides_a_fresher_one() {
    let Some((_account, store)) = setup("state_freshness").await else {
        return;
    };
    let check = |seen| {
        let store = store.clone();
        async move { store.observe_freshness(ARN, seen, T0).await.unwrap() }
    };
    assert_eq!(check(Seen::TagVersion(5)).await, FreshnessCheck::Fresh);
    assert_eq!(check(Seen::TagVersion(3)).await, FreshnessCheck::Stale);
    assert_eq!(
        check(Seen::TagVersion(5)).await,
        FreshnessCheck::Fresh,
        "a redelivery"
    );
    assert_eq!(check(Seen::EventTime(1_000)).await, FreshnessCheck::Fresh);
    assert_eq!(check(Seen::EventTime(999)).await, FreshnessCheck::Stale);
    let freshness = store.load(ARN).await.unwrap().freshness;
    assert_eq!(
        (freshness.tag_version, freshness.event_time_millis),
        (Some(5), Some(1_000))
    );
}

#[tokio::test]
async fn a_throttling_table_is_retryable_then_one_message_after_it_recovers() {
    let Some((account, store)) = setup("state_throttled").await else {
        return;
    };
    let throttled = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Throughput exceeds the current capacity"}"#;
    let attempts = usize::try_from(MAX_ATTEMPTS).unwrap();
    account
        .harness
        .inject("Query", attempts, Fault::Json(400, throttled.to_owned()));
    let settings = LifecycleSettings::default();
    let missing = problem(&["DataClassification"]);
    let publisher = Publisher::default();
    let error = alert_once(
        &store,
        ARN,
        Some(&missing),
        T0,
        "a",
        &settings,
        publisher.publish(),
    )
    .await
    .unwrap_err();
    let AlertError::State(StateError::Store(failure)) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        failure.code.as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    assert!(error.retryable(), "{error:?}");
    assert_eq!(
        account.harness.count("Query"),
        attempts,
        "the SDK retried first"
    );
    assert_eq!(publisher.sent(), 0);
    // Recovered: the retried event sends its one message.
    let sent = alert_once(
        &store,
        ARN,
        Some(&missing),
        T0 + 60,
        "a",
        &settings,
        publisher.publish(),
    )
    .await
    .unwrap();
    assert!(matches!(
        sent,
        AlertOutcome::Sent {
            notice: Notice::Opened,
            ..
        }
    ));
    assert_eq!(publisher.sent(), 1);
}

#[tokio::test]
async fn a_missing_or_unreachable_table_is_retryable() {
    let Some((account, _store)) = setup("state_unavailable").await else {
        return;
    };
    let missing_table = DynamoStateStore::new(account.dynamodb.clone(), "no-such-table");
    let error = missing_table.load(ARN).await.unwrap_err();
    let StateError::Store(failure) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(failure.code.as_deref(), Some("ResourceNotFoundException"));
    assert!(error.retryable(), "{error:?}");
    assert!(
        failure.message.contains("ENFORCER_STATE_TABLE"),
        "{failure:?}"
    );

    // Nothing listens on the port: the connection is refused on every attempt.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&account.config)
            .endpoint_url(format!("http://127.0.0.1:{closed}"))
            .build(),
    );
    let store = DynamoStateStore::new(unreachable, TABLE);
    let settings = LifecycleSettings::default();
    let publisher = Publisher::default();
    let error = alert_once(
        &store,
        ARN,
        Some(&problem(&["DataClassification"])),
        T0,
        "a",
        &settings,
        publisher.publish(),
    )
    .await
    .unwrap_err();
    assert!(error.retryable(), "{error:?}");
    assert_eq!(publisher.sent(), 0);
}

/// Macie's evidence on the table: one `UpdateItem` records a finding's categories, a category
/// already known keeps its first finding (`if_not_exists`), a new category is added beside it,
/// the item carries no expiry, and one `Query` reads it back with the rest.
#[tokio::test]
async fn macie_evidence_is_kept_per_category_first_finding_first() {
    let Some((account, store)) = setup("state_macie_evidence").await else {
        return;
    };
    let evidence = |id: &str, categories: &[&str]| enforcer::event::SensitiveDataEvidence {
        finding_id: id.to_owned(),
        finding_type: "SensitiveData:S3Object/Multiple".to_owned(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        object_key: Some("customers.csv".to_owned()),
    };
    account.harness.clear_calls();
    store
        .remember_sensitive_data(ARN, &evidence("f-1", &["PERSONAL_INFORMATION"]))
        .await
        .unwrap();
    assert_eq!(account.harness.calls(), ["DynamoDB.UpdateItem"]);
    store
        .remember_sensitive_data(
            ARN,
            &evidence("f-2", &["PERSONAL_INFORMATION", "CREDENTIALS"]),
        )
        .await
        .unwrap();
    // Not a category name: decided on, never an attribute.
    store
        .remember_sensitive_data(ARN, &evidence("f-3", &["bad name #1"]))
        .await
        .unwrap();
    account.harness.clear_calls();
    let state = store.load(ARN).await.unwrap();
    assert_eq!(account.harness.calls(), ["DynamoDB.Query"]);
    let found: Vec<(&str, &str)> = state
        .sensitive_data
        .iter()
        .map(|(category, evidence)| (category.as_str(), evidence.finding_id.as_str()))
        .collect();
    assert_eq!(
        found,
        [("CREDENTIALS", "f-2"), ("PERSONAL_INFORMATION", "f-1")]
    );
    assert_eq!(
        state.sensitive_data["PERSONAL_INFORMATION"]
            .object_key
            .as_deref(),
        Some("customers.csv")
    );
    let item = raw_item(&account, "evidence").await;
    assert!(!item.contains_key(TTL_ATTRIBUTE), "{item:?}");
    assert!(item.contains_key("sensitive_CREDENTIALS"), "{item:?}");
}

/// The opt-out an approver wrote is remembered in the state table (DynamoDB), so a later scan,
/// which cannot know who wrote the tag, vouches for the same value; a table without that record
/// does not, and a changed value is not vouched for.
#[tokio::test]
async fn an_approver_s_opt_out_is_remembered_for_the_scan() {
    use std::collections::BTreeMap;

    use enforcer::act::{read_fresh_and_decide, InMemoryTagStore, ReadRetry};
    use enforcer::catalog::{Catalog, KNOWN_RESOURCE_TYPES};
    use enforcer::discover::decide_listed;
    use enforcer::event::{decode_bytes, ResolveOptions, Resolver, ResourceRef};
    use enforcer::policy::{compile_sources, Mode, SourceFile};
    use enforcer::Tags;

    let Some((_account, records)) = setup("opt-out-record").await else {
        return;
    };
    let source = SourceFile {
        path: "p.toml".to_owned(),
        text: Arc::new(
            "[tags.DataClassification]\nvalues = [\"Confidential\"]\n\
             [tags.ProcessOwner]\npattern = '[A-Z][A-Za-z]*'\n\
             [[rule]]\nname = \"classified\"\nresource_types = [\"s3:bucket\"]\n\
             require = [\"DataClassification\", \"SourceSystems\"]\naction = \"quarantine\"\n\
             [tags.SourceSystems]\npattern = '[A-Za-z-]+'\n\
             [exemptions]\nmax_days = 90\napprovers = ['arn:aws:iam::*:role/DataGovernance*']\n"
                .to_owned(),
        ),
    };
    let (policies, diagnostics) = compile_sources(&[source], KNOWN_RESOURCE_TYPES);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    // The shipped case's event (PutBucketTagging by a DataGovernanceAdmin session), its opt-out
    // ending 30 days from today: the Lambda's path reads the clock.
    let today = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let until = today.saturating_add(jiff::Span::new().days(30));
    let opt_out = format!("until={until};reason=one-off export for the auditors;by=carol");
    let path =
        crate::support::repo_root().join("policies/tests/events/tag-opt-out-by-governance.json");
    let text = std::fs::read_to_string(path).unwrap().replace(
        "until=2027-01-31;reason=one-off export for the auditors;by=carol",
        &opt_out,
    );
    let (location, event) = decode_bytes("event.json", text.as_bytes())
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    let bucket = "arn:aws:s3:::ecometricx-scratch-exports";
    let after = Tags::from([
        ("DataClassification".to_owned(), "Confidential".to_owned()),
        ("ProcessOwner".to_owned(), "DataEngineering".to_owned()),
        ("enforcer:exempt".to_owned(), opt_out.clone()),
    ]);
    let store =
        InMemoryTagStore::with_inventory(BTreeMap::from([(bucket.to_owned(), after.clone())]));
    let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
    let (decision, error) = read_fresh_and_decide(
        &store,
        &enforcer::act::NoSettings,
        &records,
        &ReadRetry::none(),
        resolver.resolve(&event),
        &policies,
        Mode::Enforce,
        Some(&location),
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert!(decision.resources[0].opt_out.is_some(), "{decision:#?}");

    let scan = |tags: Tags, records: DynamoStateStore| {
        let policies = policies.clone();
        async move {
            let listing = vec![(ResourceRef::from_arn(bucket, None).unwrap(), tags)];
            let (decision, error) = decide_listed(
                listing,
                Some("111122223333"),
                &enforcer::act::NoSettings,
                &records,
                &policies,
                Mode::Enforce,
            )
            .await
            .unwrap();
            assert!(error.is_none(), "{error:?}");
            decision.resources.into_iter().next().unwrap()
        }
    };
    // Still missing SourceSystems: alerted, and not quarantined while the opt-out applies.
    let vouched = scan(after.clone(), records.clone()).await;
    assert!(vouched.opt_out.is_some(), "{vouched:#?}");
    assert_eq!(vouched.action, Action::Alert);
    // Another value (a non-approver extending it) is not what the approver wrote.
    let mut extended = after.clone();
    extended.insert(
        "enforcer:exempt".to_owned(),
        opt_out.replace(
            &until.to_string(),
            &today.saturating_add(jiff::Span::new().days(60)).to_string(),
        ),
    );
    assert!(scan(extended, records.clone()).await.opt_out.is_none());
    // A table that never saw the approver's event: the writer is unknown, the opt-out does not
    // count, and the never-classified-before bucket is quarantined.
    let other_account = moto().unwrap().account("opt-out-no-record").await;
    let fresh = create_state_table(&other_account).await;
    let unknown = scan(after, fresh).await;
    assert!(unknown.opt_out.is_none(), "{unknown:#?}");
    assert_eq!(unknown.action, Action::Quarantine, "{unknown:#?}");
}
