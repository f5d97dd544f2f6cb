//! The protection settings read on resources (`enforcer::act::aws::AwsSettingsReader`) against
//! the local AWS stand-in: buckets with a public policy, a public ACL, a public access block and
//! default encryption; RDS instances and clusters, EBS volumes, snapshots and images, a Redshift
//! cluster, queues, topics and tables; each value with the call and field it was read from; a
//! denied read an error saying so, never a value; and only the protections asked for cost calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use enforcer::act::aws::AwsSettingsReader;
use enforcer::act::{Protection, ProtectionSettings, SettingReadError, SettingsReader};
use serde_json::json;

use crate::support::moto::{moto, Fault, TestAccount, REGION};

/// (holds, setting, value) of `protection`, failing the test when it was not read.
fn fact(settings: &ProtectionSettings, protection: Protection) -> (bool, String, String) {
    let setting = settings
        .get(protection)
        .unwrap_or_else(|| panic!("{protection} not read: {settings:#?}"));
    (
        setting.holds,
        setting.setting.clone(),
        setting.value.clone(),
    )
}

fn owned(holds: bool, setting: &str, value: &str) -> (bool, String, String) {
    (holds, setting.to_owned(), value.to_owned())
}

async fn read(aws: &TestAccount, arn: &str, resource_type: &str) -> ProtectionSettings {
    AwsSettingsReader::new(&aws.clients)
        .read_settings(arn, resource_type, Protection::ALL)
        .await
}

/// The public-read policy of AWS's documentation example ("Granting read-only permission to
/// public anonymous users").
fn public_read_policy(bucket: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [format!("arn:aws:s3:::{bucket}/*")]
        }]
    })
    .to_string()
}

#[tokio::test]
async fn bucket_settings_are_read_from_policy_status_acl_block_and_encryption() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("settings_buckets").await;
    let s3 = &aws.clients.s3;

    // A new bucket: private, encrypted with SSE-S3 by S3's default.
    let private = aws.create_bucket("settings-private", &[]).await;
    let settings = read(&aws, &private, "s3:bucket").await;
    assert!(settings.errors.is_empty(), "{settings:#?}");
    let (encrypted, setting, value) = fact(&settings, Protection::EncryptedAtRest);
    assert!(encrypted, "{settings:#?}");
    // S3 answers SSE-S3 (`AES256`); an emulator answering "no configuration" reads the same.
    assert!(
        (setting, value.as_str()) == ("s3:GetBucketEncryption.SSEAlgorithm".to_owned(), "AES256")
            || value.starts_with("ServerSideEncryptionConfigurationNotFoundError: SSE-S3"),
        "{settings:#?}"
    );
    assert_eq!(
        fact(&settings, Protection::Public),
        owned(
            false,
            "s3:GetBucketPolicyStatus.IsPublic, s3:GetBucketAcl.Grants",
            "false, no grant to AllUsers or AuthenticatedUsers"
        )
    );

    // A public bucket policy.
    let by_policy = aws.create_bucket("settings-public-policy", &[]).await;
    s3.put_bucket_policy()
        .bucket("settings-public-policy")
        .policy(public_read_policy("settings-public-policy"))
        .send()
        .await
        .unwrap();
    // Default encryption with KMS.
    s3.put_bucket_encryption()
        .bucket("settings-public-policy")
        .server_side_encryption_configuration(
            aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                .rules(
                    aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                                .kms_master_key_id("alias/lake")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    aws.harness.clear_calls();
    let settings = read(&aws, &by_policy, "s3:bucket").await;
    assert_eq!(
        fact(&settings, Protection::Public),
        owned(true, "s3:GetBucketPolicyStatus.IsPublic", "true")
    );
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(true, "s3:GetBucketEncryption.SSEAlgorithm", "aws:kms")
    );
    // Public by its policy: the ACL is not read.
    assert_eq!(
        aws.harness.count("GetBucketAcl"),
        0,
        "{:?}",
        aws.harness.calls()
    );

    // A public-read ACL.
    let by_acl = aws.create_bucket("settings-public-acl", &[]).await;
    s3.put_bucket_acl()
        .bucket("settings-public-acl")
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let settings = read(&aws, &by_acl, "s3:bucket").await;
    assert_eq!(
        fact(&settings, Protection::Public),
        owned(true, "s3:GetBucketAcl.Grants", "READ to AllUsers")
    );

    // The same public policy and ACL behind a public access block: not public, and neither the
    // policy status nor the ACL is read.
    let blocked = aws.create_bucket("settings-blocked", &[]).await;
    s3.put_bucket_policy()
        .bucket("settings-blocked")
        .policy(public_read_policy("settings-blocked"))
        .send()
        .await
        .unwrap();
    s3.put_bucket_acl()
        .bucket("settings-blocked")
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    s3.put_public_access_block()
        .bucket("settings-blocked")
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws.harness.clear_calls();
    let settings = AwsSettingsReader::new(&aws.clients)
        .read_settings(&blocked, "s3:bucket", &[Protection::Public])
        .await;
    assert_eq!(
        settings,
        ProtectionSettings {
            read: vec![enforcer::act::CurrentSetting::new(
                Protection::Public,
                false,
                "s3:GetPublicAccessBlock.RestrictPublicBuckets, \
                 s3:GetPublicAccessBlock.IgnorePublicAcls",
                "true, true"
            )],
            errors: Vec::new(),
        }
    );
    assert_eq!(aws.harness.calls(), ["S3.GetPublicAccessBlock"]);
}

#[tokio::test]
async fn a_denied_read_is_an_error_saying_so_and_never_a_value() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("settings_denied").await;
    let bucket = aws.create_bucket("settings-denied", &[]).await;
    aws.harness.inject(
        "GetBucketPolicyStatus",
        1,
        Fault::Xml(
            403,
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>".to_owned(),
        ),
    );
    let settings = read(&aws, &bucket, "s3:bucket").await;
    assert!(settings.get(Protection::Public).is_none(), "{settings:#?}");
    assert!(settings.get(Protection::EncryptedAtRest).is_some());
    match settings.errors.as_slice() {
        [SettingReadError::AccessDenied {
            protection: Protection::Public,
            setting,
            error,
        }] => {
            assert_eq!(setting, "s3:GetBucketPolicyStatus.IsPublic");
            assert_eq!(error.code.as_deref(), Some("AccessDenied"));
            assert!(!error.retryable);
        }
        other => panic!("{other:#?}"),
    }
    let shown = settings.errors[0].to_string();
    assert!(
        shown.starts_with("public unknown: reading s3:GetBucketPolicyStatus.IsPublic was denied"),
        "{shown}"
    );

    // A type whose setting the enforcer does not read says so, and makes no call.
    aws.harness.clear_calls();
    let settings = read(
        &aws,
        &format!("arn:aws:lambda:{REGION}:{}:function:ingest", aws.account),
        "lambda:function",
    )
    .await;
    assert!(settings.read.is_empty());
    assert_eq!(settings.errors.len(), 2, "{settings:#?}");
    assert!(settings
        .errors
        .iter()
        .all(|e| matches!(e, SettingReadError::NotRead { .. })));
    // Nothing asked for, nothing read.
    let none = AwsSettingsReader::new(&aws.clients)
        .read_settings(&bucket, "s3:bucket", &[])
        .await;
    assert_eq!(none, ProtectionSettings::default());
    assert!(aws.harness.calls().is_empty(), "{:?}", aws.harness.calls());
}

#[tokio::test]
async fn database_settings_are_read_from_describe_db_instances_and_clusters() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("settings_rds").await;
    let rds = &aws.clients.rds;
    // The RDS documentation's CreateDBInstance example, made public and left unencrypted.
    let open = rds
        .create_db_instance()
        .db_instance_identifier("settings-open-db")
        .db_instance_class("db.t3.micro")
        .engine("mysql")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("secret99")
        .publicly_accessible(true)
        .storage_encrypted(false)
        .send()
        .await
        .unwrap();
    let open = open
        .db_instance()
        .unwrap()
        .db_instance_arn()
        .unwrap()
        .to_owned();
    let closed = rds
        .create_db_instance()
        .db_instance_identifier("settings-closed-db")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("secret99")
        .publicly_accessible(false)
        .storage_encrypted(true)
        .send()
        .await
        .unwrap();
    let closed = closed
        .db_instance()
        .unwrap()
        .db_instance_arn()
        .unwrap()
        .to_owned();
    aws.harness.clear_calls();
    let settings = read(&aws, &open, "rds:db").await;
    assert!(settings.errors.is_empty(), "{settings:#?}");
    assert_eq!(
        fact(&settings, Protection::Public),
        owned(true, "rds:DescribeDBInstances.PubliclyAccessible", "true")
    );
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(false, "rds:DescribeDBInstances.StorageEncrypted", "false")
    );
    // Both from one call.
    assert_eq!(aws.harness.calls(), ["RDS.DescribeDBInstances"]);
    let settings = read(&aws, &closed, "rds:db").await;
    assert_eq!(
        (
            fact(&settings, Protection::Public).0,
            fact(&settings, Protection::EncryptedAtRest).0
        ),
        (false, true)
    );

    let cluster = rds
        .create_db_cluster()
        .db_cluster_identifier("settings-cluster")
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("secret99")
        .storage_encrypted(false)
        .send()
        .await
        .unwrap();
    let cluster = cluster
        .db_cluster()
        .unwrap()
        .db_cluster_arn()
        .unwrap()
        .to_owned();
    let settings = read(&aws, &cluster, "rds:cluster").await;
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(false, "rds:DescribeDBClusters.StorageEncrypted", "false")
    );
    // An Aurora cluster's answer carries PubliclyAccessible or not (its instances do): a value
    // when it does, a missing-field error when it does not; never a silent pass.
    match settings.get(Protection::Public) {
        Some(public) => assert_eq!(public.setting, "rds:DescribeDBClusters.PubliclyAccessible"),
        None => assert!(
            matches!(
                settings.errors.as_slice(),
                [SettingReadError::Failed { protection: Protection::Public, error, .. }]
                    if error.code.as_deref() == Some("MissingField")
            ),
            "{settings:#?}"
        ),
    }

    // A missing instance: an error, no value.
    let gone = open.replace("settings-open-db", "settings-no-such-db");
    let settings = read(&aws, &gone, "rds:db").await;
    assert!(settings.read.is_empty());
    assert_eq!(settings.errors.len(), 2, "{settings:#?}");
}

#[tokio::test]
async fn ebs_volumes_snapshots_and_images_are_read_from_ec2() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("settings_ec2").await;
    let ec2 = &aws.clients.ec2;
    let arn = |resource: &str| format!("arn:aws:ec2:{REGION}:{}:{resource}", aws.account);
    let zone = format!("{REGION}a");
    let plain = ec2
        .create_volume()
        .availability_zone(&zone)
        .size(8)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_owned();
    let sealed = ec2
        .create_volume()
        .availability_zone(&zone)
        .size(8)
        .encrypted(true)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_owned();
    let settings = read(&aws, &arn(&format!("volume/{plain}")), "ec2:volume").await;
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(false, "ec2:DescribeVolumes.Encrypted", "false")
    );
    // A volume cannot be shared: not public, read without a call.
    assert!(!fact(&settings, Protection::Public).0);
    assert_eq!(aws.harness.count("DescribeVolumes"), 1);
    let settings = read(&aws, &arn(&format!("volume/{sealed}")), "ec2:volume").await;
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(true, "ec2:DescribeVolumes.Encrypted", "true")
    );

    // A snapshot of the unencrypted volume, shared with everyone (ModifySnapshotAttribute
    // `createVolumePermission` add group `all`, as AWS's documentation example does).
    let snapshot = ec2
        .create_snapshot()
        .volume_id(&plain)
        .send()
        .await
        .unwrap()
        .snapshot_id()
        .unwrap()
        .to_owned();
    ec2.modify_snapshot_attribute()
        .snapshot_id(&snapshot)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .operation_type(aws_sdk_ec2::types::OperationType::Add)
        .group_names("all")
        .send()
        .await
        .unwrap();
    let settings = read(&aws, &arn(&format!("snapshot/{snapshot}")), "ec2:snapshot").await;
    assert!(settings.errors.is_empty(), "{settings:#?}");
    assert_eq!(
        fact(&settings, Protection::Public),
        owned(
            true,
            "ec2:DescribeSnapshotAttribute.CreateVolumePermissions",
            "group all"
        )
    );
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(false, "ec2:DescribeSnapshots.Encrypted", "false")
    );

    // An image made public (ModifyImageAttribute launchPermission add group `all`).
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_owned();
    let image = ec2
        .create_image()
        .instance_id(&instance)
        .name("settings-golden")
        .send()
        .await
        .unwrap()
        .image_id()
        .unwrap()
        .to_owned();
    let settings = read(&aws, &arn(&format!("image/{image}")), "ec2:image").await;
    assert_eq!(
        fact(&settings, Protection::Public),
        owned(false, "ec2:DescribeImages.Public", "false")
    );
    ec2.modify_image_attribute()
        .image_id(&image)
        .launch_permission(
            aws_sdk_ec2::types::LaunchPermissionModifications::builder()
                .add(
                    aws_sdk_ec2::types::LaunchPermission::builder()
                        .group(aws_sdk_ec2::types::PermissionGroup::All)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let settings = read(&aws, &arn(&format!("image/{image}")), "ec2:image").await;
    assert_eq!(
        fact(&settings, Protection::Public),
        owned(true, "ec2:DescribeImages.Public", "true")
    );
}

#[tokio::test]
async fn redshift_queues_topics_and_tables_are_read_from_their_services() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("settings_services").await;
    let cluster = aws
        .clients
        .redshift
        .create_cluster()
        .cluster_identifier("settings-warehouse")
        .node_type("ra3.xlplus")
        .master_username("admin")
        .master_user_password("Secret99")
        .publicly_accessible(true)
        .encrypted(false)
        .send()
        .await
        .unwrap();
    assert!(cluster.cluster().is_some());
    let cluster = format!(
        "arn:aws:redshift:{REGION}:{}:cluster:settings-warehouse",
        aws.account
    );
    let settings = read(&aws, &cluster, "redshift:cluster").await;
    assert!(settings.errors.is_empty(), "{settings:#?}");
    assert_eq!(
        fact(&settings, Protection::Public),
        owned(true, "redshift:DescribeClusters.PubliclyAccessible", "true")
    );
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(false, "redshift:DescribeClusters.Encrypted", "false")
    );

    // Queues: one with a KMS key, one with SSE-SQS turned off.
    let sqs = &aws.clients.sqs;
    for (name, attribute, value) in [
        ("settings-kms", "KmsMasterKeyId", "alias/aws/sqs"),
        ("settings-plain", "SqsManagedSseEnabled", "false"),
    ] {
        sqs.create_queue()
            .queue_name(name)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::from(attribute),
                value,
            )
            .send()
            .await
            .unwrap();
    }
    let queue = |name: &str| format!("arn:aws:sqs:{REGION}:{}:{name}", aws.account);
    let settings = read(&aws, &queue("settings-kms"), "sqs:queue").await;
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(
            true,
            "sqs:GetQueueAttributes.KmsMasterKeyId",
            "alias/aws/sqs"
        )
    );
    // A queue policy may make a queue public; it is not read, and says so.
    assert!(matches!(
        settings.errors.as_slice(),
        [SettingReadError::NotRead {
            protection: Protection::Public,
            ..
        }]
    ));
    let settings = read(&aws, &queue("settings-plain"), "sqs:queue").await;
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(
            false,
            "sqs:GetQueueAttributes.SqsManagedSseEnabled",
            "false"
        )
    );

    // Topics: with and without a KMS key.
    let sns = &aws.clients.sns;
    let sealed = sns
        .create_topic()
        .name("settings-sealed")
        .attributes("KmsMasterKeyId", "alias/aws/sns")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let plain = sns
        .create_topic()
        .name("settings-plain")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let settings = read(&aws, &sealed, "sns:topic").await;
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(
            true,
            "sns:GetTopicAttributes.KmsMasterKeyId",
            "alias/aws/sns"
        )
    );
    let settings = read(&aws, &plain, "sns:topic").await;
    assert_eq!(
        fact(&settings, Protection::EncryptedAtRest),
        owned(false, "sns:GetTopicAttributes.KmsMasterKeyId", "absent")
    );

    // DynamoDB encrypts every table: no call.
    aws.harness.clear_calls();
    let table = format!("arn:aws:dynamodb:{REGION}:{}:table/sessions", aws.account);
    let settings = read(&aws, &table, "dynamodb:table").await;
    assert!(fact(&settings, Protection::EncryptedAtRest).0);
    assert!(aws.harness.calls().is_empty());
}

/// The shipped policies: Internal, Confidential and Restricted data encrypted and never public.
fn shipped_policies() -> enforcer::policy::PolicySet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies");
    enforcer::policy::load(&[dir.into()], enforcer::catalog::KNOWN_RESOURCE_TYPES)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .set
}

/// Decides `event` as the Lambda and `check --aws` do: tags from the tagging API, settings from
/// the account, against a state (in memory here).
async fn decide_event(
    aws: &TestAccount,
    policies: &enforcer::policy::PolicySet,
    event: &str,
) -> enforcer::engine::Decision {
    use enforcer::event::{decode_text, ResolveOptions, Resolver};
    let resolver = Resolver::new(
        enforcer::catalog::Catalog::builtin().unwrap(),
        ResolveOptions::default(),
    );
    let (location, input) = decode_text("event", event).remove(0).unwrap();
    let (decision, error) = enforcer::act::read_fresh_and_decide(
        &enforcer::act::aws::AwsTagStore::new(&aws.clients),
        &AwsSettingsReader::new(&aws.clients),
        &enforcer::state::ConfiguredStateStore::default(),
        &enforcer::act::ReadRetry::none(),
        resolver.resolve(&input),
        policies,
        policies.mode,
        Some(&location),
    )
    .await;
    assert_eq!(error, None, "{decision:#?}");
    decision
}

/// The obligations broken in a decision's first resource, as (obligation, evidence).
fn broken(decision: &enforcer::engine::Decision) -> Vec<(String, serde_json::Value)> {
    let json = serde_json::to_value(&decision.resources[0]).unwrap();
    json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "obligation")
        .map(|v| {
            (
                v["obligation"]["name"].as_str().unwrap().to_owned(),
                v["obligation"]["evidence"].clone(),
            )
        })
        .collect()
}

/// A bucket made Confidential by a tag change while its policy is public: the event says nothing
/// of its settings, so they are read, once, and the public policy is a violation whose evidence
/// is the setting read. A creation whose request carries both settings costs no read.
#[tokio::test]
async fn an_event_reads_only_the_settings_its_request_does_not_carry() {
    let Some(moto) = moto() else { return };
    let aws = moto.account("settings_event").await;
    let policies = shipped_policies();
    let tags = [
        ("DataClassification", "Confidential"),
        ("SourceSystems", "CustomerPortal"),
        ("ProcessOwner", "DataEngineering"),
        ("DataDomain", "Customer"),
    ];
    let bucket = aws.create_bucket("settings-lake-customers", &tags).await;
    aws.clients
        .s3
        .put_bucket_policy()
        .bucket("settings-lake-customers")
        .policy(public_read_policy("settings-lake-customers"))
        .send()
        .await
        .unwrap();
    aws.harness.clear_calls();
    let event = crate::support::events::tag_change(&aws.account, REGION, &bucket, &tags);
    let decision = decide_event(&aws, &policies, &event).await;
    assert_eq!(
        broken(&decision),
        [(
            "public_access".to_owned(),
            json!({"source": "current", "setting": "s3:GetBucketPolicyStatus.IsPublic", "value": "true"})
        )],
        "{decision:#?}"
    );
    assert!(decision.outcome.needs_fixing(), "{decision:#?}");
    for call in [
        "GetBucketEncryption",
        "GetPublicAccessBlock",
        "GetBucketPolicyStatus",
    ] {
        assert_eq!(
            aws.harness.count(call),
            1,
            "{call}: {:?}",
            aws.harness.calls()
        );
    }
    // Public by its policy: the ACL is not read.
    assert_eq!(aws.harness.count("GetBucketAcl"), 0);

    // RDS CreateDBInstance (the documented sample, Confidential): its request says
    // storageEncrypted and publiclyAccessible, so nothing is read on the instance.
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/samples/rds-CreateDBInstance.json"
    ))
    .unwrap()
    .replacen("\"value\": \"Public\"", "\"value\": \"Confidential\"", 1);
    assert!(sample.contains("\"value\": \"Confidential\""));
    aws.harness.clear_calls();
    let decision = decide_event(&aws, &policies, &sample).await;
    assert_eq!(decision.resources.len(), 1, "{decision:#?}");
    assert!(broken(&decision).is_empty(), "{decision:#?}");
    assert!(decision.resources[0].unread_settings.is_empty());
    assert_eq!(
        aws.harness.count("DescribeDBInstances"),
        0,
        "{:?}",
        aws.harness.calls()
    );
    assert!(
        aws.harness
            .calls()
            .iter()
            .all(|c| c.starts_with("Resource Groups Tagging API.")),
        "only the tags are read: {:?}",
        aws.harness.calls()
    );
}

/// `scan --aws` reads the settings of every listed resource whose class obliges them: a
/// Confidential bucket with a public policy is an `obligation` violation naming the setting read,
/// a private one is not, and a Public one is not read.
#[tokio::test]
async fn scan_finds_a_public_confidential_bucket_by_its_current_settings() {
    let Some(moto) = moto() else { return };
    let t = crate::cli::cli(moto, "settings_scan").await;
    let aws = &t.aws;
    let classified = |class: &'static str| {
        [
            ("DataClassification", class),
            ("SourceSystems", "CustomerPortal"),
            ("ProcessOwner", "DataEngineering"),
            ("DataDomain", "Customer"),
        ]
    };
    let public = aws
        .create_bucket("settings-scan-exposed", &classified("Confidential"))
        .await;
    aws.clients
        .s3
        .put_bucket_policy()
        .bucket("settings-scan-exposed")
        .policy(public_read_policy("settings-scan-exposed"))
        .send()
        .await
        .unwrap();
    let private = aws
        .create_bucket("settings-scan-private", &classified("Confidential"))
        .await;
    let open_data = aws
        .create_bucket("settings-scan-open-data", &classified("Public"))
        .await;
    aws.clients
        .s3
        .put_bucket_policy()
        .bucket("settings-scan-open-data")
        .policy(public_read_policy("settings-scan-open-data"))
        .send()
        .await
        .unwrap();

    let (code, stdout, stderr) = t.run(
        &[
            "scan",
            "--aws",
            "--no-explorer",
            "--resource-type",
            "s3:bucket",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 1, "findings, no failure\n{stderr}\n{stdout}");
    let mut resources = std::collections::BTreeMap::new();
    for line in stdout.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if record["kind"] == "decision" {
            for resource in record["resources"].as_array().unwrap() {
                resources.insert(
                    resource["arn"].as_str().unwrap().to_owned(),
                    resource.clone(),
                );
            }
        }
    }
    let obligations = |arn: &str| -> Vec<serde_json::Value> {
        resources[arn]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["kind"] == "obligation")
            .cloned()
            .collect()
    };
    let exposed = obligations(&public);
    assert_eq!(exposed.len(), 1, "{:#}", resources[&public]);
    assert_eq!(exposed[0]["obligation"]["name"], "public_access");
    assert_eq!(
        exposed[0]["obligation"]["evidence"],
        json!({"source": "current", "setting": "s3:GetBucketPolicyStatus.IsPublic", "value": "true"})
    );
    assert_eq!(
        resources[&public]["action"], "alert",
        "{:#}",
        resources[&public]
    );
    for quiet in [&private, &open_data] {
        assert!(obligations(quiet).is_empty(), "{:#}", resources[quiet]);
        assert!(resources[quiet].get("unread_settings").is_none());
    }
}
