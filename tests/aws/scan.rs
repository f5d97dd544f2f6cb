//! `enforcer scan` and discovery against the local AWS stand-in: never-tagged resources are
//! found and decided, the calls a scan makes per 1,000 resources, and an organization scanned
//! through its member role with one account's role missing.
//!
//! moto has no Resource Explorer: its use is tested in `enforcer/src/discover/explorer.rs`
//! through the SDK's HTTP client extension point; here discovery uses each service's own list
//! calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use enforcer::act::aws::{AwsTagStore, GET_RESOURCES_BATCH};
use enforcer::discover::org::{self, DEFAULT_MEMBER_ROLE};
use enforcer::discover::{
    discover, AccountDiscovery, DiscoveryClients, Explorer, ExplorerChoice, Place, Source,
};
use serde_json::Value;

use crate::cli::cli;
use crate::support::moto::{moto, TestAccount, REGION};

/// The smallest valid zip file: moto stores the code, it never runs it.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

async fn create_role(aws: &TestAccount, name: &str) -> String {
    aws.clients
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(
            serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned()
}

async fn create_function(aws: &TestAccount, name: &str, role: &str) -> String {
    aws.clients
        .lambda
        .create_function()
        .function_name(name)
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
        .to_owned()
}

async fn create_table(aws: &TestAccount, name: &str) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    aws.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap()
        .table_description()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_owned()
}

async fn create_queue(aws: &TestAccount, name: &str) -> String {
    aws.clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap();
    format!("arn:aws:sqs:{REGION}:{}:{name}", aws.account)
}

async fn run_instances(aws: &TestAccount, count: i32) -> Vec<String> {
    aws.clients
        .ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(count)
        .max_count(count)
        .send()
        .await
        .unwrap()
        .instances()
        .iter()
        .map(|i| {
            format!(
                "arn:aws:ec2:{REGION}:{}:instance/{}",
                aws.account,
                i.instance_id().unwrap()
            )
        })
        .collect()
}

/// The JSON Lines of a scan: each decided resource's action by ARN (a decision holds a batch of
/// resources of one type), and the summary.
fn decisions(stdout: &str) -> (BTreeMap<String, String>, Value) {
    let mut outcomes = BTreeMap::new();
    let mut summary = Value::Null;
    for line in stdout.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        match record["kind"].as_str() {
            Some("decision") => {
                for resource in record["resources"].as_array().unwrap() {
                    outcomes.insert(
                        resource["arn"].as_str().unwrap().to_owned(),
                        resource["action"].as_str().unwrap().to_owned(),
                    );
                }
            }
            Some("summary") => summary = record,
            other => panic!("unexpected record {other:?}: {line}"),
        }
    }
    (outcomes, summary)
}

#[tokio::test]
async fn scan_finds_and_decides_never_tagged_resources() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "scan_never_tagged").await;
    let aws = &t.aws;
    let tagged = aws
        .create_bucket(
            "scan-tagged-data",
            &[
                ("DataClassification", "Internal"),
                ("SourceSystems", "Billing"),
                ("ProcessOwner", "DataEngineering"),
                ("DataDomain", "Billing"),
            ],
        )
        .await;
    let bucket = aws.create_bucket("scan-never-tagged-data", &[]).await;
    let instance = run_instances(aws, 1).await.remove(0);
    let role = create_role(aws, "scan-ingest-role").await;
    let function = create_function(aws, "scan-ingest", &role).await;
    let table = create_table(aws, "scan-sessions").await;
    let queue = create_queue(aws, "scan-orders").await;

    let html = t.aws_dir().join("scan.html");
    let (code, stdout, stderr) = t.run(
        &[
            "scan",
            "--aws",
            "--no-explorer",
            "--format",
            "json",
            "--html",
            html.to_str().unwrap(),
        ],
        &[],
    );
    let (outcomes, summary) = decisions(&stdout);
    assert_eq!(code, 1, "findings, no failure\n{stderr}\n{stdout}");
    assert_eq!(outcomes.get(&tagged).map(String::as_str), Some("none"));
    for never_tagged in [&bucket, &instance, &function, &table, &queue] {
        let outcome = outcomes
            .get(never_tagged)
            .unwrap_or_else(|| panic!("{never_tagged} not found:\n{stdout}\n{stderr}"));
        assert_ne!(outcome, "none", "{never_tagged}");
    }
    // The never-tagged bucket meets the unclassified-buckets rule: planned for quarantine.
    assert_eq!(outcomes[&bucket], "quarantine");

    // Coverage: the shipped policy selects types no lister enumerates; they are named.
    let coverage = &summary["coverage"];
    let types = coverage["types"].as_object().unwrap();
    for listed in [
        "s3:bucket",
        "ec2:instance",
        "lambda:function",
        "dynamodb:table",
        "sqs:queue",
    ] {
        assert_eq!(types[listed], "service_list", "{listed}: {coverage}");
    }
    assert_eq!(types["glue:job"], "tagged_only", "{coverage}");
    let not_enumerated: Vec<&str> = coverage["not_enumerated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(not_enumerated.contains(&"glue:job"));
    assert_eq!(
        coverage["enumerated_types"].as_u64().unwrap() as usize + not_enumerated.len(),
        coverage["selected_types"].as_u64().unwrap() as usize
    );
    assert!(
        stderr.contains(&format!(
            "covers {} of {} selected types",
            coverage["enumerated_types"], coverage["selected_types"]
        )),
        "{stderr}"
    );
    assert!(stderr.contains("glue:job"), "{stderr}");

    // The summary by owner, type, account and rule, and the same in the HTML report.
    assert!(summary["violations_by_type"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["key"] == "sqs:queue"));
    assert_eq!(
        summary["violations_by_account"][0]["key"],
        t.aws.account.as_str()
    );
    assert!(
        summary["violations_by_rule"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "data-stores"),
        "{summary}"
    );
    let report = std::fs::read_to_string(&html).unwrap();
    assert!(report.starts_with("<!DOCTYPE html>"));
    // The worst resources, 3 violations each, by ARN (moto's own EBS snapshots, over a
    // thousand, follow the table).
    assert!(
        report.contains(&table),
        "the worst resources are listed: {report}"
    );
    assert!(report.contains("<h2>By account</h2>"));
    assert!(report.contains("Coverage of the selected types"));
    assert!(report.contains("only resources that carry or once carried a tag"));
}

/// 1,000 never-tagged resources over 10 types: their tags are read with ceil(1000/100)
/// `GetResources` calls, plus the listing pages and the services' own tag reads for the types the
/// tagging API leaves to them (SQS, ECR, IAM). Prints the calls and the wall time.
#[tokio::test]
async fn a_thousand_resources_over_ten_types_take_ten_get_resources_calls() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("scan_thousand").await;
    const EACH: usize = 100;
    let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
    let lambda_role = create_role(&aws, "scan-role-0").await;
    for i in 1..EACH {
        create_role(&aws, &format!("scan-role-{i}")).await;
    }
    expected.insert("iam:role", EACH);
    for i in 0..EACH {
        aws.create_bucket(&format!("scan-thousand-{i}"), &[]).await;
        create_function(&aws, &format!("scan-fn-{i}"), &lambda_role).await;
        create_table(&aws, &format!("scan-table-{i}")).await;
        create_queue(&aws, &format!("scan-queue-{i}")).await;
        aws.clients
            .sns
            .create_topic()
            .name(format!("scan-topic-{i}"))
            .send()
            .await
            .unwrap();
        aws.clients
            .ecr
            .create_repository()
            .repository_name(format!("scan-repo-{i}"))
            .send()
            .await
            .unwrap();
    }
    run_instances(&aws, EACH as i32).await;
    // moto's DescribeSnapshots with owner `self` also answers the snapshots of its built-in
    // images (over a thousand), so RDS instances stand in for EBS snapshots here.
    for i in 0..EACH {
        aws.clients
            .rds
            .create_db_instance()
            .db_instance_identifier(format!("scan-db-{i}"))
            .db_instance_class("db.t3.micro")
            .engine("mysql")
            .allocated_storage(20)
            .master_username("admin")
            .master_user_password("password123")
            .send()
            .await
            .unwrap();
    }
    for kind in [
        "s3:bucket",
        "lambda:function",
        "dynamodb:table",
        "sqs:queue",
        "sns:topic",
        "ecr:repository",
        "ec2:instance",
        "rds:db",
    ] {
        expected.insert(kind, EACH);
    }
    // run_instances made one volume per instance, its root device: the 100 volumes.
    expected.insert("ec2:volume", EACH);
    let total: usize = expected.values().sum();
    assert_eq!(total, 1000);

    let clients = DiscoveryClients {
        aws: aws.clients.clone(),
        dynamodb: aws.dynamodb.clone(),
        explorer: aws_sdk_resourceexplorer2::Client::new(&aws.config),
    };
    let store = AwsTagStore::new(&aws.clients);
    let place = Place {
        account: aws.account.clone(),
        region: REGION.to_owned(),
        lists_global: true,
    };
    let types: BTreeSet<String> = expected.keys().map(|k| (*k).to_owned()).collect();
    aws.harness.clear_calls();
    let started = Instant::now();
    let found = discover(
        &clients,
        &store,
        &Explorer::unused("moto has no Resource Explorer"),
        &place,
        &types,
        false,
        |_| {},
    )
    .await
    .unwrap();
    let elapsed = started.elapsed();
    let calls = aws.harness.calls();

    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for (arn, tags) in &found.resources {
        assert!(tags.is_empty(), "{arn} was never tagged: {tags:?}");
        *by_type
            .entry(enforcer::catalog::resource_type_from_arn(arn).unwrap())
            .or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = expected
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(by_type, expected);
    assert!(found
        .coverage
        .types
        .values()
        .all(|source| *source == Source::ServiceList));
    assert_eq!(found.coverage.line(), "covers 10 of 10 selected types");

    // One call per 100 ARNs; IAM roles skip the tagging API (IAM answers their tags).
    let get_resources = aws.harness.count("GetResources");
    let via_tagging_api = total - expected["iam:role"];
    assert_eq!(get_resources, via_tagging_api.div_ceil(GET_RESOURCES_BATCH));
    assert!(get_resources <= total.div_ceil(GET_RESOURCES_BATCH));
    let mut per_operation: BTreeMap<&str, usize> = BTreeMap::new();
    for call in &calls {
        *per_operation
            .entry(call.rsplit('.').next().unwrap())
            .or_default() += 1;
    }
    let fallback_reads = [
        "GetQueueUrl",
        "ListQueueTags",
        "ListTagsForResource",
        "ListRoleTags",
    ];
    let listing_pages: usize = per_operation
        .iter()
        .filter(|(op, _)| **op != "GetResources" && !fallback_reads.contains(op))
        .map(|(_, n)| n)
        .sum();
    // Every listing answers up to 50–1,000 items a page: 10 types of about 100 take a page or
    // two each.
    assert!(listing_pages <= 20, "{per_operation:?}");
    eprintln!(
        "MEASURED discovery of {total} resources over {} types: {} calls in {:.2?} \
         ({get_resources} GetResources, {listing_pages} listing pages, {} fallback tag reads); \
         per operation {per_operation:?}",
        by_type.len(),
        calls.len(),
        elapsed,
        calls.len() - get_resources - listing_pages,
    );
}

/// Answers `AssumeRole` for one account's role with AccessDenied, as STS does when the role is
/// missing or does not trust the caller (moto assumes any role, existing or not).
#[derive(Debug, Clone)]
struct MissingRole {
    account: String,
}

#[derive(Debug, Clone)]
struct Denied;

impl Storable for Denied {
    type Storer = StoreReplace<Self>;
}

impl Intercept for MissingRole {
    fn name(&self) -> &'static str {
        "MissingRole"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default());
        if body.contains("Action=AssumeRole") && body.contains(&self.account) {
            // The call must not reach moto, which would answer it.
            let uri = request.uri().to_owned();
            let origin: String = uri.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            request.set_uri(format!("{origin}/moto-api/"))?;
            cfg.interceptor_state().store_put(Denied);
        } else {
            cfg.interceptor_state().unset::<Denied>();
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Denied>().is_none() {
            return Ok(());
        }
        let body = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>AccessDenied</Code><Message>User: scanner is not \
             authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{}:role/{}\
             </Message></Error><RequestId>denied</RequestId></ErrorResponse>",
            self.account, DEFAULT_MEMBER_ROLE
        );
        let mut response =
            HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::from(body));
        response.headers_mut().insert("content-type", "text/xml");
        *context.response_mut() = response;
        Ok(())
    }
}

#[tokio::test]
async fn an_organization_is_scanned_through_the_member_role_and_a_missing_role_is_reported() {
    let Some(moto) = moto() else { return };
    let management = moto.account("scan_org_management").await;
    let (key, secret) = management.access_key("scanner").await;
    // The scanner's own credentials: moto maps the key to the management account.
    let base = moto
        .sdk_config(None)
        .await
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key, secret, None, None, "test",
        )))
        .build();
    let organizations = aws_sdk_organizations::Client::new(&base);
    organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut members = Vec::new();
    for name in ["scan-member-a", "scan-member-b", "scan-member-c"] {
        let status = organizations
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let id = status
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_owned();
        // A never-tagged bucket in each member account.
        let member = moto.account_with_id(&id).await;
        member.create_bucket(&format!("scan-org-{id}"), &[]).await;
        members.push(id);
    }
    let missing = members[2].clone();
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&base)
            .interceptor(MissingRole {
                account: missing.clone(),
            })
            .build(),
    );
    let caller = sts
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account()
        .unwrap()
        .to_owned();
    assert_eq!(caller, management.account);

    let accounts = org::accounts(&organizations).await.unwrap();
    let ids: BTreeSet<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids.len(),
        4,
        "the management account and 3 members: {accounts:?}"
    );
    assert!(members.iter().all(|m| ids.contains(m.as_str())));
    let job = AccountDiscovery {
        base,
        sts,
        caller: caller.clone(),
        member_role: DEFAULT_MEMBER_ROLE.to_owned(),
        regions: Arc::new(vec![REGION.to_owned()]),
        types: Arc::new(BTreeSet::from(["s3:bucket".to_owned()])),
        every_type: false,
        explorer: ExplorerChoice::Off("moto has no Resource Explorer".to_owned()),
        progress: Arc::new(|_: &Place, _: usize| {}),
    };
    let results = org::for_each_account(accounts, 2, |account| job.clone().run(account)).await;
    assert_eq!(results.len(), 4);
    for (account, result) in results {
        let result = result.expect("every account's discovery answers");
        if account.id == missing {
            let error = result.expect_err("the missing role fails its account");
            assert_eq!(error.operation, "AssumeRole");
            assert_eq!(error.code.as_deref(), Some("AccessDenied"), "{error:?}");
            continue;
        }
        let scans = result.unwrap_or_else(|e| panic!("{}: {e}", account.id));
        assert_eq!(scans.len(), 1);
        let arns: Vec<&str> = scans[0]
            .discovered
            .resources
            .iter()
            .map(|(arn, _)| arn.as_str())
            .collect();
        if account.id == caller {
            // The management account has no bucket of this test.
            assert!(
                !arns.iter().any(|a| a.starts_with("arn:aws:s3:::scan-org-")),
                "{arns:?}"
            );
        } else {
            assert_eq!(arns, [format!("arn:aws:s3:::scan-org-{}", account.id)]);
            assert_eq!(scans[0].place.account, account.id);
        }
    }
}

/// `--apply` decides the resources of one type in batches of 20, so each batch's identical tag
/// set is one `TagResources` call: 25 never-tagged curated-layer buckets are 2 decisions, and
/// every bucket gets its tags.
#[tokio::test]
async fn scan_apply_backfills_never_tagged_resources_in_batches_of_twenty() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "scan_batches").await;
    let mut buckets = Vec::new();
    for i in 0..25 {
        let name = format!("batch{i:02}-prod-s3-curated-eu-west-1");
        t.aws.create_bucket(&name, &[]).await;
        buckets.push(name);
    }
    let (code, stdout, stderr) = t.run(
        &[
            "scan",
            "--aws",
            "--no-explorer",
            "--resource-type",
            "s3:bucket",
            "--apply",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let records: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sizes: Vec<usize> = records
        .iter()
        .filter(|r| r["kind"] == "decision")
        .map(|r| r["resources"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [20, 5], "{stdout}");
    let summary = records.last().unwrap();
    assert_eq!(summary["records"], 25);
    assert_eq!(summary["outcomes"]["remediate"], 25, "{summary}");
    assert_eq!(summary["act"]["tagged"], 25, "{summary}");
    for bucket in &buckets {
        assert_eq!(
            t.aws.bucket_tags(bucket).await["ProcessOwner"],
            "DataEngineering",
            "{bucket}"
        );
    }
}

/// `scan --aws --org` as a user runs it from the management account: each member account through
/// its member role, a closed account reported and skipped, the outcomes per account and in total.
#[tokio::test]
async fn scan_org_scans_every_active_account_and_reports_each() {
    let Some(moto) = moto() else { return };
    let t = cli(moto, "scan_org_cli").await;
    let organizations = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&t.aws.config)
            .interceptor(t.aws.harness.clone())
            .build(),
    );
    organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["scan-cli-a", "scan-cli-b", "scan-cli-closed"] {
        let status = organizations
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let id = status
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_owned();
        moto.account_with_id(&id)
            .await
            .create_bucket(&format!("scan-cli-{id}"), &[])
            .await;
        ids.push(id);
    }
    organizations
        .close_account()
        .account_id(&ids[2])
        .send()
        .await
        .unwrap();

    let (code, stdout, stderr) = t.run(
        &[
            "scan",
            "--aws",
            "--org",
            "--no-explorer",
            "--resource-type",
            "s3:bucket",
            "--format",
            "json",
        ],
        &[],
    );
    // The never-tagged buckets break the standard: findings, and no account failed.
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let (actions, summary) = decisions(&stdout);
    for id in &ids[..2] {
        assert_eq!(
            actions
                .get(&format!("arn:aws:s3:::scan-cli-{id}"))
                .map(String::as_str),
            Some("quarantine"),
            "{stdout}"
        );
        assert!(
            summary["by_account"][id]["records"].as_u64().unwrap() >= 1,
            "{summary}"
        );
        assert!(
            stderr.contains(&format!("account {id} (scan-cli-")),
            "{stderr}"
        );
    }
    assert!(!actions.contains_key(&format!("arn:aws:s3:::scan-cli-{}", ids[2])));
    assert_eq!(
        summary["skipped_accounts"][&ids[2]], "SUSPENDED",
        "{summary}"
    );
    assert!(
        stderr.contains(&format!(
            "account {} (scan-cli-closed): skipped, SUSPENDED",
            ids[2]
        )),
        "{stderr}"
    );
    assert!(summary.get("failed_accounts").is_none(), "{summary}");
    assert!(summary["violations_by_account"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["key"] == ids[0].as_str()));
}
