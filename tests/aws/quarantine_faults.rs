//! Fault injection into every step of every quarantine kind, against moto: for each call a clean
//! quarantine (or release) makes, one run fails at that call (throttled, a 5xx, or cut off there
//! with every later call failing, as a killed process or a lost connection leaves it), then the
//! next delivery runs without faults. The end state is always whole: isolated on the resource
//! itself and recorded as verified after a quarantine, restored exactly as recorded (read back)
//! and the record closed after a release; never in between.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::act::{
    create_db, create_db_event, create_deny_policy, create_role, instance_groups, operations,
    setup_with, vpc_with_instance, Setup, EMPTY_ZIP,
};
use crate::support::events::{api_call, person};
use crate::support::moto::{moto, Fault, REGION};

use enforcer::act::aws::MAX_ATTEMPTS;
use enforcer::act::{release, QuarantineStatus};
use enforcer::state::StateStore;
use serde_json::{json, Value};

/// The quarantine kinds, each with a fixture: a fresh resource the test policy quarantines on
/// its creation event, how to tell it is isolated, and its state before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    S3,
    Ec2,
    Rds,
    Lambda,
    Iam,
}

/// A fresh resource: its ARN, its creation event, and what a release must restore.
struct Fresh {
    arn: String,
    event: String,
    before: Value,
}

/// How a run fails.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// The call is throttled on every attempt (the SDK's retries included).
    Throttle,
    /// The call answers HTTP 503 on every attempt.
    Unavailable,
    /// The call and every later one fail: the run stops there.
    Cut,
}

const FAILURES: [Failure; 3] = [Failure::Throttle, Failure::Unavailable, Failure::Cut];

fn unavailable() -> Fault {
    Fault::Json(
        503,
        r#"{"__type":"ServiceUnavailable","message":"injected"}"#.to_owned(),
    )
}

async fn setup(name: &str) -> Option<Setup> {
    // The real clock: a simulated one jumps forward on every backoff, which the SDK's stalled
    // stream protection takes for a stalled download on the next call. The test accounts'
    // first backoff is 20 ms, so a call failing on all its attempts costs well under a second.
    setup_with(moto()?.account(name).await).await
}

impl Kind {
    async fn fresh(self, t: &Setup, n: usize) -> Fresh {
        let account = t.account().to_owned();
        match self {
            Self::S3 => {
                let bucket = format!("faulty-{n}");
                let arn = t.aws.create_bucket(&bucket, &[("Team", "growth")]).await;
                let event = api_call(
                    &account,
                    REGION,
                    person(&account),
                    "s3.amazonaws.com",
                    "CreateBucket",
                    json!({"bucketName": bucket, "Host": "s3.amazonaws.com"}),
                    Value::Null,
                );
                let before = self.state(t, &arn).await;
                Fresh { arn, event, before }
            }
            Self::Ec2 => {
                let (_, instance, _) = vpc_with_instance(&t.aws).await;
                let arn = format!("arn:aws:ec2:{REGION}:{account}:instance/{instance}");
                let event = api_call(
                    &account,
                    REGION,
                    person(&account),
                    "ec2.amazonaws.com",
                    "RunInstances",
                    json!({"instancesSet": {"items": [{"imageId": "ami-12c6146b", "minCount": 1, "maxCount": 1}]}}),
                    json!({"instancesSet": {"items": [{"instanceId": instance}]}}),
                );
                let before = self.state(t, &arn).await;
                Fresh { arn, event, before }
            }
            Self::Rds => {
                let id = format!("exposed-{n}");
                let arn = create_db(&t.aws, &id, true, &[]).await;
                let event = create_db_event(&account, &id, &arn, &[]);
                let before = self.state(t, &arn).await;
                Fresh { arn, event, before }
            }
            Self::Lambda => {
                let name = format!("ingest-{n}");
                let role = create_role(&t.aws, &format!("{name}-role")).await;
                let lambda = &t.aws.clients.lambda;
                let arn = lambda
                    .create_function()
                    .function_name(&name)
                    .runtime(aws_sdk_lambda::types::Runtime::Python312)
                    .role(role)
                    .handler("app.handler")
                    .code(
                        aws_sdk_lambda::types::FunctionCode::builder()
                            .zip_file(aws_smithy_types::Blob::new(EMPTY_ZIP.to_vec()))
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap()
                    .function_arn()
                    .unwrap()
                    .to_owned();
                lambda
                    .put_function_concurrency()
                    .function_name(&name)
                    .reserved_concurrent_executions(7)
                    .send()
                    .await
                    .unwrap();
                let event = api_call(
                    &account,
                    REGION,
                    person(&account),
                    "lambda.amazonaws.com",
                    "CreateFunction20150331",
                    json!({"functionName": name}),
                    json!({"functionName": name, "functionArn": arn}),
                );
                let before = self.state(t, &arn).await;
                Fresh { arn, event, before }
            }
            Self::Iam => {
                let name = format!("contractor-{n}");
                let arn = create_role(&t.aws, &name).await;
                let event = api_call(
                    &account,
                    REGION,
                    person(&account),
                    "iam.amazonaws.com",
                    "CreateRole",
                    json!({"roleName": name}),
                    json!({"role": {"arn": arn}}),
                );
                let before = self.state(t, &arn).await;
                Fresh { arn, event, before }
            }
        }
    }

    /// What the quarantine changes, read on the resource itself.
    async fn state(self, t: &Setup, arn: &str) -> Value {
        let name = arn.rsplit(['/', ':']).next().unwrap();
        let clients = &t.aws.clients;
        match self {
            Self::S3 => {
                let pab = clients
                    .s3
                    .get_public_access_block()
                    .bucket(name)
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.public_access_block_configuration().cloned())
                    .map(|c| {
                        json!([
                            c.block_public_acls(),
                            c.ignore_public_acls(),
                            c.block_public_policy(),
                            c.restrict_public_buckets()
                        ])
                    });
                let statements: Vec<Value> =
                    match clients.s3.get_bucket_policy().bucket(name).send().await {
                        Ok(out) => {
                            let policy: Value =
                                serde_json::from_str(out.policy().unwrap()).unwrap();
                            policy["Statement"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|s| s["Sid"].clone())
                                .collect()
                        }
                        Err(_) => Vec::new(),
                    };
                json!({"pab": pab, "statements": statements})
            }
            Self::Ec2 => json!(instance_groups(&t.aws, name).await),
            Self::Rds => json!(clients
                .rds
                .describe_db_instances()
                .db_instance_identifier(name)
                .send()
                .await
                .unwrap()
                .db_instances()[0]
                .publicly_accessible()),
            Self::Lambda => json!(clients
                .lambda
                .get_function_concurrency()
                .function_name(name)
                .send()
                .await
                .unwrap()
                .reserved_concurrent_executions()),
            Self::Iam => {
                let mut attached: Vec<String> = clients
                    .iam
                    .list_attached_role_policies()
                    .role_name(name)
                    .send()
                    .await
                    .unwrap()
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_owned))
                    .collect();
                attached.sort();
                json!(attached)
            }
        }
    }

    /// The isolated state, where it is one value (an instance's isolation group is its own).
    fn isolated(self, t: &Setup) -> Option<Value> {
        match self {
            Self::S3 => {
                Some(json!({"pab": [true, true, true, true], "statements": ["EnforcerQuarantine"]}))
            }
            Self::Ec2 => None,
            Self::Rds => Some(json!(false)),
            Self::Lambda => Some(json!(0)),
            Self::Iam => Some(json!([crate::act::deny_policy_arn(t.account())])),
        }
    }

    async fn assert_isolated(self, t: &Setup, fresh: &Fresh, what: &str) {
        let now = self.state(t, &fresh.arn).await;
        match self.isolated(t) {
            Some(isolated) => assert_eq!(now, isolated, "{what}"),
            None => {
                // One group, none of the instance's own: the isolation group.
                let groups = now.as_array().unwrap();
                assert_eq!(groups.len(), 1, "{what}: {now}");
                assert!(
                    !fresh.before.as_array().unwrap().contains(&groups[0]),
                    "{what}: {now}"
                );
            }
        }
        let record = t.records().load(&fresh.arn).await.unwrap().quarantine;
        let record = record.unwrap_or_else(|| panic!("{what}: no quarantine record"));
        assert!(
            record.verified && record.released_at.is_none(),
            "{what}: {record:#?}"
        );
    }

    async fn assert_released(self, t: &Setup, fresh: &Fresh, what: &str) {
        assert_eq!(
            self.state(t, &fresh.arn).await,
            fresh.before,
            "{what}: not restored"
        );
        let record = t
            .records()
            .load(&fresh.arn)
            .await
            .unwrap()
            .quarantine
            .unwrap();
        assert!(record.released_at.is_some(), "{what}: {record:#?}");
        let labels: Vec<String> = t
            .tags(&fresh.arn)
            .await
            .into_keys()
            .filter(|k| k.starts_with("enforcer:"))
            .collect();
        assert!(labels.is_empty(), "{what}: label tags left: {labels:?}");
    }
}

/// Arms `failure` at the `index`-th call of `calls` (a clean run's calls, in order).
fn arm(t: &Setup, calls: &[String], index: usize, failure: Failure) {
    let ops = operations(calls);
    let operation = ops[index];
    let earlier = ops[..index].iter().filter(|o| **o == operation).count();
    let harness = &t.aws.harness;
    match failure {
        Failure::Throttle => {
            harness.inject_at(operation, earlier, MAX_ATTEMPTS as usize, Fault::Throttle);
        }
        Failure::Unavailable => {
            harness.inject_at(operation, earlier, MAX_ATTEMPTS as usize, unavailable());
        }
        Failure::Cut => harness.cut_after(index, unavailable()),
    }
}

/// Every step of `kind`'s quarantine and release, failed every way: the next delivery (or
/// release) always ends whole.
async fn faults_at_every_step_converge(kind: Kind, name: &str) {
    let Some(t) = setup(name).await else {
        return;
    };
    if kind == Kind::Iam {
        create_deny_policy(&t.aws).await;
    }
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    // A clean run, for the calls a quarantine and a release make.
    let clean = kind.fresh(&t, next()).await;
    t.aws.harness.clear_calls();
    let (_, report) = t.run(&clean.event).await;
    let status = report.resources[0].quarantine.as_ref().unwrap().status;
    assert_eq!(status, QuarantineStatus::Applied, "{report:#?}");
    let quarantine_calls = t.aws.harness.calls();
    kind.assert_isolated(&t, &clean, "clean run").await;
    t.aws.harness.clear_calls();
    let released = release(&clean.arn, true, &t.store, &t.quarantine, t.records()).await;
    assert!(released.released, "{released:#?}");
    let release_calls = t.aws.harness.calls();
    kind.assert_released(&t, &clean, "clean release").await;
    assert!(quarantine_calls.len() >= 4 && !release_calls.is_empty());

    let mut runs = 0;
    for index in 0..quarantine_calls.len() {
        for failure in FAILURES {
            let what = format!(
                "{kind:?} quarantine, {failure:?} at call {index} ({})",
                quarantine_calls[index]
            );
            let fresh = kind.fresh(&t, next()).await;
            t.aws.harness.clear_calls();
            arm(&t, &quarantine_calls, index, failure);
            let _ = t.run(&fresh.event).await;
            t.aws.harness.heal();
            let (_, second) = t.run(&fresh.event).await;
            let status = second.resources[0].quarantine.as_ref().unwrap().status;
            assert!(
                matches!(
                    status,
                    QuarantineStatus::Applied | QuarantineStatus::AlreadyInPlace
                ),
                "{what}: {second:#?}"
            );
            kind.assert_isolated(&t, &fresh, &what).await;
            let released = release(&fresh.arn, true, &t.store, &t.quarantine, t.records()).await;
            assert!(released.released, "{what}: {released:#?}");
            kind.assert_released(&t, &fresh, &what).await;
            runs += 1;
        }
    }
    for index in 0..release_calls.len() {
        for failure in FAILURES {
            let what = format!(
                "{kind:?} release, {failure:?} at call {index} ({})",
                release_calls[index]
            );
            let fresh = kind.fresh(&t, next()).await;
            let _ = t.run(&fresh.event).await;
            kind.assert_isolated(&t, &fresh, &what).await;
            t.aws.harness.clear_calls();
            arm(&t, &release_calls, index, failure);
            let _ = release(&fresh.arn, true, &t.store, &t.quarantine, t.records()).await;
            t.aws.harness.heal();
            let again = release(&fresh.arn, true, &t.store, &t.quarantine, t.records()).await;
            assert!(again.failures.is_empty(), "{what}: {again:#?}");
            kind.assert_released(&t, &fresh, &what).await;
            runs += 1;
        }
    }
    eprintln!(
        "{kind:?}: {runs} faulted runs ({} quarantine calls, {} release calls)",
        quarantine_calls.len(),
        release_calls.len()
    );
}

#[tokio::test]
async fn s3_bucket_quarantine_converges_after_a_fault_at_every_step() {
    faults_at_every_step_converge(Kind::S3, "faults_s3").await;
}

#[tokio::test]
async fn ec2_instance_quarantine_converges_after_a_fault_at_every_step() {
    faults_at_every_step_converge(Kind::Ec2, "faults_ec2").await;
}

#[tokio::test]
async fn rds_db_quarantine_converges_after_a_fault_at_every_step() {
    faults_at_every_step_converge(Kind::Rds, "faults_rds").await;
}

#[tokio::test]
async fn lambda_function_quarantine_converges_after_a_fault_at_every_step() {
    faults_at_every_step_converge(Kind::Lambda, "faults_lambda").await;
}

#[tokio::test]
async fn iam_role_quarantine_converges_after_a_fault_at_every_step() {
    faults_at_every_step_converge(Kind::Iam, "faults_iam").await;
}
