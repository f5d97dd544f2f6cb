//! [`SettingsReader`] on an account: each type's protections read through its service's own
//! describe and get calls, on the clients of [`AwsClients`] (no client of its own).
//!
//! | type | encrypted at rest | public |
//! |---|---|---|
//! | `s3:bucket` | `GetBucketEncryption` | `GetPublicAccessBlock`, `GetBucketPolicyStatus.IsPublic`, `GetBucketAcl` (AllUsers/AuthenticatedUsers grants) |
//! | `rds:db` | `DescribeDBInstances.StorageEncrypted` | `DescribeDBInstances.PubliclyAccessible` |
//! | `rds:cluster` | `DescribeDBClusters.StorageEncrypted` | `DescribeDBClusters.PubliclyAccessible` (Multi-AZ DB clusters; an Aurora cluster answers none: its instances carry it) |
//! | `ec2:volume` | `DescribeVolumes.Encrypted` | never: a volume cannot be shared, no call |
//! | `ec2:snapshot` | `DescribeSnapshots.Encrypted` | `DescribeSnapshotAttribute` (`createVolumePermission` to group `all`) |
//! | `ec2:image` | `DescribeImages` (every EBS mapping encrypted) | `DescribeImages.Public` |
//! | `redshift:cluster` | `DescribeClusters.Encrypted` | `DescribeClusters.PubliclyAccessible` |
//! | `dynamodb:table` | always: DynamoDB encrypts every table at rest, no call | not read |
//! | `sqs:queue` | `GetQueueAttributes` (`SqsManagedSseEnabled`, `KmsMasterKeyId`) | not read |
//! | `sns:topic` | `GetTopicAttributes.KmsMasterKeyId` | not read |
//!
//! S3: since 5 January 2023 every bucket has default encryption (SSE-S3 at least, which cannot be
//! turned off; `DeleteBucketEncryption` resets it to SSE-S3), and `GetBucketEncryption` answers
//! it. A `ServerSideEncryptionConfigurationNotFoundError` (older emulators, or an answer from
//! before) is therefore read as encrypted with SSE-S3, the evidence saying so; objects written
//! before 2023 into a bucket without default encryption are not covered by either answer.
//! Public: a bucket is public when its policy is (`IsPublic`, unless the bucket's public access
//! block restricts public buckets) or its ACL grants AllUsers or AuthenticatedUsers (unless the
//! block ignores public ACLs). The account-level block (`s3control`, a client the enforcer does
//! not build) is not read: it can only make a bucket less public, so leaving it out may alert on
//! a bucket the account protects, never pass a public one.
//!
//! Every call is a read; [`CALLS`] lists them with the IAM actions each needs, granted by the
//! roles' discovery policies (generated from `discover::account_discovery_calls`, which includes
//! these).

use std::collections::HashMap;

use aws_sdk_ec2::types::{PermissionGroup, SnapshotAttributeName};
use aws_sdk_sqs::types::QueueAttributeName;

use super::permissions::IamCall;
use super::{arn_name, error_code, sqs_queue_url, store_error, AwsClients};
use crate::act::settings::{
    CurrentSetting, Protection, ProtectionSettings, SettingReadError, SettingsReader,
};
use crate::act::StoreError;

/// Every SDK call the reader makes, with the IAM actions each needs (all reads).
pub const CALLS: &[IamCall] = &[
    IamCall::new(
        "s3:GetBucketEncryption",
        &["s3:GetEncryptionConfiguration"],
        "read whether a bucket is encrypted at rest (its default encryption)",
    ),
    IamCall::new(
        "s3:GetPublicAccessBlock",
        &["s3:GetBucketPublicAccessBlock"],
        "read whether a bucket's public access block neutralises its policy and ACL",
    ),
    IamCall::new(
        "s3:GetBucketPolicyStatus",
        &["s3:GetBucketPolicyStatus"],
        "read whether a bucket's policy makes it public",
    ),
    IamCall::new(
        "s3:GetBucketAcl",
        &["s3:GetBucketAcl"],
        "read whether a bucket's ACL grants AllUsers or AuthenticatedUsers",
    ),
    IamCall::new(
        "rds:DescribeDBInstances",
        &["rds:DescribeDBInstances"],
        "read a database instance's StorageEncrypted and PubliclyAccessible",
    ),
    IamCall::new(
        "rds:DescribeDBClusters",
        &["rds:DescribeDBClusters"],
        "read a database cluster's StorageEncrypted and PubliclyAccessible",
    ),
    IamCall::new(
        "ec2:DescribeVolumes",
        &["ec2:DescribeVolumes"],
        "read whether an EBS volume is encrypted",
    ),
    IamCall::new(
        "ec2:DescribeSnapshots",
        &["ec2:DescribeSnapshots"],
        "read whether an EBS snapshot is encrypted",
    ),
    IamCall::new(
        "ec2:DescribeSnapshotAttribute",
        &["ec2:DescribeSnapshotAttribute"],
        "read whether an EBS snapshot may be restored by anyone (createVolumePermission all)",
    ),
    IamCall::new(
        "ec2:DescribeImages",
        &["ec2:DescribeImages"],
        "read whether an AMI is public and its volumes encrypted",
    ),
    IamCall::new(
        "redshift:DescribeClusters",
        &["redshift:DescribeClusters"],
        "read a Redshift cluster's Encrypted and PubliclyAccessible",
    ),
    IamCall::new(
        "sqs:GetQueueUrl",
        &["sqs:GetQueueUrl"],
        "the queue URL GetQueueAttributes takes",
    ),
    IamCall::new(
        "sqs:GetQueueAttributes",
        &["sqs:GetQueueAttributes"],
        "read whether a queue is encrypted (SqsManagedSseEnabled, KmsMasterKeyId)",
    ),
    IamCall::new(
        "sns:GetTopicAttributes",
        &["sns:GetTopicAttributes"],
        "read whether a topic is encrypted (KmsMasterKeyId)",
    ),
];

/// The S3 error of a bucket without default encryption (not answered by S3 since 2023).
const NO_ENCRYPTION_CONFIGURATION: &str = "ServerSideEncryptionConfigurationNotFoundError";
/// The S3 error of a bucket without a public access block.
const NO_PUBLIC_ACCESS_BLOCK: &str = "NoSuchPublicAccessBlockConfiguration";
/// The S3 error of a bucket without a policy.
const NO_BUCKET_POLICY: &str = "NoSuchBucketPolicy";
/// The ACL grantees that make a bucket public.
const PUBLIC_GRANTEES: &[&str] = &[
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// The protection settings of an account's resources, read through the enforcer's clients.
#[derive(Debug, Clone)]
pub struct AwsSettingsReader {
    s3: aws_sdk_s3::Client,
    rds: aws_sdk_rds::Client,
    ec2: aws_sdk_ec2::Client,
    redshift: aws_sdk_redshift::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
}

impl AwsSettingsReader {
    /// On `clients`.
    pub fn new(clients: &AwsClients) -> Self {
        Self {
            s3: clients.s3.clone(),
            rds: clients.rds.clone(),
            ec2: clients.ec2.clone(),
            redshift: clients.redshift.clone(),
            sqs: clients.sqs.clone(),
            sns: clients.sns.clone(),
        }
    }
}

/// `true`/`false`.
fn flag(value: bool) -> String {
    value.to_string()
}

/// One boolean field of a describe call's answer, as the setting of `protection` it is.
/// `answer`: the call's answer (the field, when present) or why it failed.
fn field(
    protection: Protection,
    setting: &str,
    answer: &Answer,
) -> Result<CurrentSetting, SettingReadError> {
    match answer {
        Ok(Some(value)) => Ok(CurrentSetting::new(
            protection,
            *value,
            setting,
            flag(*value),
        )),
        Ok(None) => {
            let (operation, name) = setting.split_once('.').unwrap_or((setting, setting));
            Err(SettingReadError::of(
                protection,
                setting,
                StoreError::missing_field(operation, name),
            ))
        }
        Err(error) => Err(SettingReadError::of(protection, setting, error.clone())),
    }
}

/// The first item of a describe call's answer, or a not-found failure naming `arn`.
fn first<T: Clone>(items: &[T], operation: &str, arn: &str) -> Result<T, StoreError> {
    items.first().cloned().ok_or_else(|| {
        StoreError::permanent(operation, format!("the answer does not list {arn}"))
            .with_code("NotFound")
    })
}

impl SettingsReader for AwsSettingsReader {
    async fn read_settings(
        &self,
        arn: &str,
        resource_type: &str,
        wanted: &[Protection],
    ) -> ProtectionSettings {
        let mut settings = ProtectionSettings::default();
        if wanted.is_empty() {
            return settings;
        }
        let name = arn_name(arn);
        let wants = |protection| wanted.contains(&protection);
        match resource_type {
            "s3:bucket" => {
                if wants(Protection::EncryptedAtRest) {
                    settings.record(self.bucket_encryption(name).await);
                }
                if wants(Protection::Public) {
                    settings.record(self.bucket_public(name).await);
                }
            }
            "rds:db" => {
                let db = self.db_instance(name, arn).await;
                let (encrypted, public) = split(&db);
                record_fields(
                    &mut settings,
                    wanted,
                    &[
                        (
                            Protection::EncryptedAtRest,
                            "rds:DescribeDBInstances.StorageEncrypted",
                            encrypted,
                        ),
                        (
                            Protection::Public,
                            "rds:DescribeDBInstances.PubliclyAccessible",
                            public,
                        ),
                    ],
                );
            }
            "rds:cluster" => {
                let cluster = self.db_cluster(name, arn).await;
                let (encrypted, public) = split(&cluster);
                record_fields(
                    &mut settings,
                    wanted,
                    &[
                        (
                            Protection::EncryptedAtRest,
                            "rds:DescribeDBClusters.StorageEncrypted",
                            encrypted,
                        ),
                        (
                            Protection::Public,
                            "rds:DescribeDBClusters.PubliclyAccessible",
                            public,
                        ),
                    ],
                );
            }
            "redshift:cluster" => {
                let cluster = self.redshift_cluster(name, arn).await;
                let (encrypted, public) = split(&cluster);
                record_fields(
                    &mut settings,
                    wanted,
                    &[
                        (
                            Protection::EncryptedAtRest,
                            "redshift:DescribeClusters.Encrypted",
                            encrypted,
                        ),
                        (
                            Protection::Public,
                            "redshift:DescribeClusters.PubliclyAccessible",
                            public,
                        ),
                    ],
                );
            }
            "ec2:image" => {
                let image = self.image(name, arn).await;
                let (encrypted, public) = split(&image);
                record_fields(
                    &mut settings,
                    wanted,
                    &[
                        (
                            Protection::EncryptedAtRest,
                            "ec2:DescribeImages.BlockDeviceMappings.Ebs.Encrypted",
                            encrypted,
                        ),
                        (Protection::Public, "ec2:DescribeImages.Public", public),
                    ],
                );
            }
            "ec2:volume" => {
                if wants(Protection::EncryptedAtRest) {
                    let encrypted = self.volume_encrypted(name, arn).await;
                    settings.record(field(
                        Protection::EncryptedAtRest,
                        "ec2:DescribeVolumes.Encrypted",
                        &encrypted,
                    ));
                }
                if wants(Protection::Public) {
                    settings.record(Ok(CurrentSetting::new(
                        Protection::Public,
                        false,
                        "ec2:volume",
                        "an EBS volume cannot be shared (its snapshots can)",
                    )));
                }
            }
            "ec2:snapshot" => {
                if wants(Protection::EncryptedAtRest) {
                    let encrypted = self.snapshot_encrypted(name, arn).await;
                    settings.record(field(
                        Protection::EncryptedAtRest,
                        "ec2:DescribeSnapshots.Encrypted",
                        &encrypted,
                    ));
                }
                if wants(Protection::Public) {
                    settings.record(self.snapshot_public(name).await);
                }
            }
            "dynamodb:table" => {
                if wants(Protection::EncryptedAtRest) {
                    settings.record(Ok(CurrentSetting::new(
                        Protection::EncryptedAtRest,
                        true,
                        "dynamodb:table",
                        "DynamoDB encrypts every table at rest (an AWS owned key at least)",
                    )));
                }
                not_read(&mut settings, wanted, resource_type, &[Protection::Public]);
            }
            "sqs:queue" => {
                if wants(Protection::EncryptedAtRest) {
                    settings.record(self.queue_encryption(arn).await);
                }
                not_read(&mut settings, wanted, resource_type, &[Protection::Public]);
            }
            "sns:topic" => {
                if wants(Protection::EncryptedAtRest) {
                    settings.record(self.topic_encryption(arn).await);
                }
                not_read(&mut settings, wanted, resource_type, &[Protection::Public]);
            }
            _ => not_read(&mut settings, wanted, resource_type, Protection::ALL),
        }
        settings
    }
}

/// A describe answer's two fields (encrypted, public), each failing as the call did.
type Pair = Result<(Option<bool>, Option<bool>), StoreError>;

/// One boolean field of a describe call's answer (absent when the answer lacks it), or why the
/// call failed.
type Answer = Result<Option<bool>, StoreError>;

/// The two fields of `answer`, each its own [`Answer`].
fn split(answer: &Pair) -> (Answer, Answer) {
    match answer {
        Ok((encrypted, public)) => (Ok(*encrypted), Ok(*public)),
        Err(error) => (Err(error.clone()), Err(error.clone())),
    }
}

/// Records each of `fields` (protection, setting, answer) that is `wanted`.
fn record_fields(
    settings: &mut ProtectionSettings,
    wanted: &[Protection],
    fields: &[(Protection, &str, Answer)],
) {
    for (protection, setting, answer) in fields {
        if wanted.contains(protection) {
            settings.record(field(*protection, setting, answer));
        }
    }
}

/// Records, for each of `protections` that is `wanted`, that the enforcer does not read it on
/// `resource_type`.
fn not_read(
    settings: &mut ProtectionSettings,
    wanted: &[Protection],
    resource_type: &str,
    protections: &[Protection],
) {
    for protection in protections.iter().filter(|p| wanted.contains(p)) {
        settings.record(Err(SettingReadError::NotRead {
            protection: *protection,
            resource_type: resource_type.to_owned(),
        }));
    }
}

impl AwsSettingsReader {
    /// `GetBucketEncryption`: the default encryption's algorithm.
    async fn bucket_encryption(&self, bucket: &str) -> Result<CurrentSetting, SettingReadError> {
        const SETTING: &str = "s3:GetBucketEncryption.SSEAlgorithm";
        let protection = Protection::EncryptedAtRest;
        match self.s3.get_bucket_encryption().bucket(bucket).send().await {
            Ok(output) => {
                let algorithm = output
                    .server_side_encryption_configuration()
                    .and_then(|config| config.rules().first())
                    .and_then(|rule| rule.apply_server_side_encryption_by_default())
                    .map(|default| default.sse_algorithm().as_str().to_owned());
                match algorithm {
                    Some(algorithm) => {
                        Ok(CurrentSetting::new(protection, true, SETTING, algorithm))
                    }
                    None => Err(SettingReadError::of(
                        protection,
                        SETTING,
                        StoreError::missing_field("GetBucketEncryption", "SSEAlgorithm"),
                    )),
                }
            }
            Err(e) if error_code(&e) == Some(NO_ENCRYPTION_CONFIGURATION) => {
                Ok(CurrentSetting::new(
                    protection,
                    true,
                    "s3:GetBucketEncryption",
                    format!(
                        "{NO_ENCRYPTION_CONFIGURATION}: SSE-S3, the encryption S3 applies to \
                         every bucket since 2023-01-05"
                    ),
                ))
            }
            Err(e) => Err(SettingReadError::of(
                protection,
                SETTING,
                store_error("GetBucketEncryption", &e),
            )),
        }
    }

    /// Whether the bucket is public: its public access block, then its policy status unless the
    /// block restricts public buckets, then its ACL unless the block ignores public ACLs.
    async fn bucket_public(&self, bucket: &str) -> Result<CurrentSetting, SettingReadError> {
        let protection = Protection::Public;
        let block = match self
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => output.public_access_block_configuration().cloned(),
            Err(e) if error_code(&e) == Some(NO_PUBLIC_ACCESS_BLOCK) => None,
            Err(e) => {
                return Err(SettingReadError::of(
                    protection,
                    "s3:GetPublicAccessBlock",
                    store_error("GetPublicAccessBlock", &e),
                ))
            }
        };
        let restricts = block
            .as_ref()
            .and_then(|b| b.restrict_public_buckets())
            .unwrap_or(false);
        let ignores_acls = block
            .as_ref()
            .and_then(|b| b.ignore_public_acls())
            .unwrap_or(false);
        // What was read that says "not public", for the evidence when nothing says "public".
        let mut not_public: Vec<(&str, String)> = Vec::new();
        if restricts {
            not_public.push(("s3:GetPublicAccessBlock.RestrictPublicBuckets", flag(true)));
        } else {
            const SETTING: &str = "s3:GetBucketPolicyStatus.IsPublic";
            let is_public = match self
                .s3
                .get_bucket_policy_status()
                .bucket(bucket)
                .send()
                .await
            {
                Ok(output) => output.policy_status().and_then(|s| s.is_public()),
                Err(e) if error_code(&e) == Some(NO_BUCKET_POLICY) => Some(false),
                Err(e) => {
                    return Err(SettingReadError::of(
                        protection,
                        SETTING,
                        store_error("GetBucketPolicyStatus", &e),
                    ))
                }
            };
            match is_public {
                Some(true) => return Ok(CurrentSetting::new(protection, true, SETTING, "true")),
                Some(false) => not_public.push((SETTING, flag(false))),
                None => {
                    return Err(SettingReadError::of(
                        protection,
                        SETTING,
                        StoreError::missing_field("GetBucketPolicyStatus", "IsPublic"),
                    ))
                }
            }
        }
        if ignores_acls {
            not_public.push(("s3:GetPublicAccessBlock.IgnorePublicAcls", flag(true)));
        } else {
            const SETTING: &str = "s3:GetBucketAcl.Grants";
            let output = self
                .s3
                .get_bucket_acl()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| {
                    SettingReadError::of(protection, SETTING, store_error("GetBucketAcl", &e))
                })?;
            let public_grants: Vec<String> = output
                .grants()
                .iter()
                .filter_map(|grant| {
                    let uri = grant.grantee()?.uri()?;
                    PUBLIC_GRANTEES.contains(&uri).then(|| {
                        let group = uri.rsplit('/').next().unwrap_or(uri);
                        let permission = grant.permission().map_or("?", |p| p.as_str());
                        format!("{permission} to {group}")
                    })
                })
                .collect();
            if !public_grants.is_empty() {
                return Ok(CurrentSetting::new(
                    protection,
                    true,
                    SETTING,
                    public_grants.join(", "),
                ));
            }
            not_public.push((
                SETTING,
                "no grant to AllUsers or AuthenticatedUsers".to_owned(),
            ));
        }
        let (settings, values): (Vec<&str>, Vec<String>) = not_public.into_iter().unzip();
        Ok(CurrentSetting::new(
            protection,
            false,
            settings.join(", "),
            values.join(", "),
        ))
    }

    /// `DescribeDBInstances`: (StorageEncrypted, PubliclyAccessible).
    async fn db_instance(&self, id: &str, arn: &str) -> Pair {
        const OPERATION: &str = "DescribeDBInstances";
        let output = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| store_error(OPERATION, &e))?;
        let db = first(output.db_instances(), OPERATION, arn)?;
        Ok((db.storage_encrypted(), db.publicly_accessible()))
    }

    /// `DescribeDBClusters`: (StorageEncrypted, PubliclyAccessible).
    async fn db_cluster(&self, id: &str, arn: &str) -> Pair {
        const OPERATION: &str = "DescribeDBClusters";
        let output = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| store_error(OPERATION, &e))?;
        let cluster = first(output.db_clusters(), OPERATION, arn)?;
        Ok((cluster.storage_encrypted(), cluster.publicly_accessible()))
    }

    /// Redshift `DescribeClusters`: (Encrypted, PubliclyAccessible).
    async fn redshift_cluster(&self, id: &str, arn: &str) -> Pair {
        const OPERATION: &str = "DescribeClusters";
        let output = self
            .redshift
            .describe_clusters()
            .cluster_identifier(id)
            .send()
            .await
            .map_err(|e| store_error(OPERATION, &e))?;
        let cluster = first(output.clusters(), OPERATION, arn)?;
        Ok((cluster.encrypted(), cluster.publicly_accessible()))
    }

    /// `DescribeImages`: (every EBS mapping encrypted, Public).
    async fn image(&self, id: &str, arn: &str) -> Pair {
        const OPERATION: &str = "DescribeImages";
        let output = self
            .ec2
            .describe_images()
            .image_ids(id)
            .send()
            .await
            .map_err(|e| store_error(OPERATION, &e))?;
        let image = first(output.images(), OPERATION, arn)?;
        let volumes: Vec<Option<bool>> = image
            .block_device_mappings()
            .iter()
            .filter_map(|mapping| mapping.ebs())
            .map(|ebs| ebs.encrypted())
            .collect();
        // An image without EBS volumes (instance store) has no answer on encryption.
        let encrypted = (!volumes.is_empty()).then(|| volumes.iter().all(|e| *e == Some(true)));
        Ok((encrypted, image.public()))
    }

    /// `DescribeVolumes`: Encrypted.
    async fn volume_encrypted(&self, id: &str, arn: &str) -> Answer {
        const OPERATION: &str = "DescribeVolumes";
        let output = self
            .ec2
            .describe_volumes()
            .volume_ids(id)
            .send()
            .await
            .map_err(|e| store_error(OPERATION, &e))?;
        Ok(first(output.volumes(), OPERATION, arn)?.encrypted())
    }

    /// `DescribeSnapshots`: Encrypted.
    async fn snapshot_encrypted(&self, id: &str, arn: &str) -> Answer {
        const OPERATION: &str = "DescribeSnapshots";
        let output = self
            .ec2
            .describe_snapshots()
            .snapshot_ids(id)
            .send()
            .await
            .map_err(|e| store_error(OPERATION, &e))?;
        Ok(first(output.snapshots(), OPERATION, arn)?.encrypted())
    }

    /// `DescribeSnapshotAttribute`: public when anyone (group `all`) may create a volume from it.
    async fn snapshot_public(&self, id: &str) -> Result<CurrentSetting, SettingReadError> {
        const SETTING: &str = "ec2:DescribeSnapshotAttribute.CreateVolumePermissions";
        let output = self
            .ec2
            .describe_snapshot_attribute()
            .snapshot_id(id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .map_err(|e| {
                SettingReadError::of(
                    Protection::Public,
                    SETTING,
                    store_error("DescribeSnapshotAttribute", &e),
                )
            })?;
        let public = output
            .create_volume_permissions()
            .iter()
            .any(|permission| permission.group() == Some(&PermissionGroup::All));
        let value = if public {
            "group all"
        } else {
            "no permission to group all"
        };
        Ok(CurrentSetting::new(
            Protection::Public,
            public,
            SETTING,
            value,
        ))
    }

    /// `GetQueueAttributes`: encrypted with KMS (`KmsMasterKeyId`) or SSE-SQS
    /// (`SqsManagedSseEnabled`).
    async fn queue_encryption(&self, arn: &str) -> Result<CurrentSetting, SettingReadError> {
        const SETTING: &str = "sqs:GetQueueAttributes.SqsManagedSseEnabled";
        let protection = Protection::EncryptedAtRest;
        let url = sqs_queue_url(&self.sqs, arn)
            .await
            .map_err(|error| SettingReadError::of(protection, SETTING, error))?;
        let output = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::SqsManagedSseEnabled)
            .attribute_names(QueueAttributeName::KmsMasterKeyId)
            .send()
            .await
            .map_err(|e| {
                SettingReadError::of(protection, SETTING, store_error("GetQueueAttributes", &e))
            })?;
        let empty = HashMap::new();
        let attributes = output.attributes().unwrap_or(&empty);
        if let Some(key) = attributes
            .get(&QueueAttributeName::KmsMasterKeyId)
            .filter(|key| !key.is_empty())
        {
            return Ok(CurrentSetting::new(
                protection,
                true,
                "sqs:GetQueueAttributes.KmsMasterKeyId",
                key.clone(),
            ));
        }
        let managed = attributes
            .get(&QueueAttributeName::SqsManagedSseEnabled)
            .map(String::as_str);
        Ok(CurrentSetting::new(
            protection,
            managed == Some("true"),
            SETTING,
            managed.unwrap_or("absent"),
        ))
    }

    /// `GetTopicAttributes`: encrypted when it names a KMS key.
    async fn topic_encryption(&self, arn: &str) -> Result<CurrentSetting, SettingReadError> {
        const SETTING: &str = "sns:GetTopicAttributes.KmsMasterKeyId";
        let protection = Protection::EncryptedAtRest;
        let output = self
            .sns
            .get_topic_attributes()
            .topic_arn(arn)
            .send()
            .await
            .map_err(|e| {
                SettingReadError::of(protection, SETTING, store_error("GetTopicAttributes", &e))
            })?;
        let key = output
            .attributes()
            .and_then(|attributes| attributes.get("KmsMasterKeyId"))
            .filter(|key| !key.is_empty());
        Ok(match key {
            Some(key) => CurrentSetting::new(protection, true, SETTING, key.clone()),
            None => CurrentSetting::new(protection, false, SETTING, "absent"),
        })
    }
}
