//! Real records: every record of a catalogued call in the shared corpora, resolved to exactly
//! the ARNs listed here. Each expectation was checked by hand against its record (ids in
//! `requestParameters`/`responseElements`/`resources`, the record's region and account, the
//! service's ARN format); multi-resource calls list every resource.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::collections::BTreeSet;

use enforcer::catalog::{base_event_name, Catalog};
use enforcer::event::{decode_one, InputEvent, Location, Resolution, ResolveOptions, Resolver};

const REAL: &str = "cloudtrail-real";
const DOCS: &str = "cloudtrail-docs";

/// (corpus folder, file, 1-based line, expected ARNs in order).
type Case = (&'static str, &'static str, usize, &'static [&'static str]);

const CASES: &[Case] = &[
    (REAL, "cloud-custodian__tests_data_cwe_event-cloud-trail-create-bucket.envelopes.jsonl", 1, &["arn:aws:s3:::custodian-create-bucket-v4"]),
    (REAL, "cloud-custodian__tests_data_cwe_event-cloud-trail-create-distribution.envelopes.jsonl", 1, &["arn:aws:cloudfront::012345678912:distribution/E53370FUHBNLK"]),
    (REAL, "cloud-custodian__tests_data_cwe_event-cloud-trail-run-instance-creator-assumed.jsonl", 1, &["arn:aws:ec2:us-east-1:644160558196:instance/i-0f7c711dc84bedda0"]),
    (REAL, "cloud-custodian__tests_data_cwe_event-cloud-trail-run-instance-creator.jsonl", 1, &["arn:aws:ec2:us-east-1:644160558196:instance/i-0f7c711dc84bedda0"]),
    (
        REAL,
        "cloud-custodian__tests_data_cwe_event-cloud-trail-run-instances.jsonl",
        1,
        &[
            "arn:aws:ec2:us-west-1:619193117841:instance/i-784cdacd",
            "arn:aws:ec2:us-west-1:619193117841:instance/i-7b4cdace",
        ],
    ),
    (REAL, "cloud-custodian__tests_data_cwe_event-cloud-trail-s3.envelopes.jsonl", 1, &["arn:aws:s3:::cwe-test"]),
    (REAL, "cloud-custodian__tests_data_cwe_event-cloud-trail-tag-distribution.envelopes.jsonl", 1, &["arn:aws:cloudfront::351936369470:distribution/E53370FUHBNLK"]),
    (REAL, "cloud-custodian__tests_data_cwe_event-cloud-trail-update-distribution.envelopes.jsonl", 1, &["arn:aws:cloudfront::012345678912:distribution/E53370FUHBNLK"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_add_malicious_lambda_extension.jsonl", 1, &["arn:aws:lambda:us-west-2:123456789012:function:production-api"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_add_malicious_lambda_extension.jsonl", 2, &["arn:aws:lambda:us-west-2:123456789012:function:my-lambda-function"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_add_malicious_lambda_extension.jsonl", 3, &["arn:aws:lambda:us-west-2:123456789012:function:production-api"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_add_malicious_lambda_extension.jsonl", 4, &["arn:aws:lambda:us-west-2:123456789012:function:production-api"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_add_malicious_lambda_extension.jsonl", 5, &["arn:aws:lambda:us-west-2:123456789012:function:my-lambda-function"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ami_modified_for_public_access.jsonl", 1, &["arn:aws:ec2:us-west-2:123456789012:image/ami-1111"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ami_modified_for_public_access.jsonl", 2, &["arn:aws:ec2:us-west-2:123456789012:image/ami-1111"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ami_modified_for_public_access.jsonl", 3, &["arn:aws:ec2:us-west-2:123456789012:image/ami-1111"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ami_modified_for_public_access.jsonl", 4, &["arn:aws:ec2:us-west-2:123456789012:image/ami-1111"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ami_modified_for_public_access.jsonl", 6, &["arn:aws:ec2:us-west-2:123456789012:image/ami-1111"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_backdoor_lambda_function.jsonl", 1, &["arn:aws:lambda:us-west-2:123456789012:function:my-lambda-function"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_backdoor_lambda_function.jsonl", 2, &["arn:aws:lambda:us-west-2:123456789012:function:my-lambda-function"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ec2_startup_script_change.jsonl", 1, &["arn:aws:ec2:us-east-2:0123456789:instance/i-012345abcde"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ec2_vpc_modified.jsonl", 1, &["arn:aws:ec2:us-west-2:123456789012:vpc/vpc-1"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ec2_vulnerable_xz_image_launched.jsonl", 1, &["arn:aws:ec2:us-west-2:123456789012:instance/i-00000000000000000"]),
    (
        REAL,
        "panther-analysis__rules_aws_cloudtrail_rules_aws_ec2_vulnerable_xz_image_launched.jsonl",
        2,
        &[
            "arn:aws:ec2:us-west-2:123456789012:instance/i-00000000000000000",
            "arn:aws:ec2:us-west-2:123456789012:instance/i-00000000000000001",
        ],
    ),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_ec2_vulnerable_xz_image_launched.jsonl", 3, &["arn:aws:ec2:us-west-2:123456789012:instance/i-00000000000000000"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_anything_changed.jsonl", 1, &["arn:aws:iam::123456789012:role/LambdaFunctionRole-1111"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_attach_admin_user_policy.jsonl", 1, &["arn:aws:iam::123456789012:user/new-user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_attach_admin_user_policy.jsonl", 2, &["arn:aws:iam::123456789012:user/new-user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_compromised_key_quarantine.jsonl", 1, &["arn:aws:iam::123456789012:user/test-user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_compromised_key_quarantine.jsonl", 2, &["arn:aws:iam::123456789012:user/test-user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_create_role.jsonl", 1, &["arn:aws:iam::123456789012:role/new-role"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_create_user.jsonl", 1, &["arn:aws:iam::123456789012:user/new-user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_entity_created_without_cloudformation.jsonl", 1, &["arn:aws:iam::123456789012:user/user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_entity_created_without_cloudformation.jsonl", 2, &["arn:aws:iam::123456789012:user/user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_entity_created_without_cloudformation.jsonl", 3, &["arn:aws:iam::123456789012:user/user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_iam_entity_created_without_cloudformation.jsonl", 4, &["arn:aws:iam::123456789012:user/user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_key_compromised.jsonl", 1, &["arn:aws:iam::123456789012:user/compromised_user"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_modify_cloud_compute_infrastructure.jsonl", 1, &["arn:aws:ec2:us-west-2:123412341234:instance/i-0690cd354a0c3850c"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_overwrite_lambda_code.jsonl", 1, &["arn:aws:lambda:us-west-2:123456789012:function:production-api"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_overwrite_lambda_code.jsonl", 2, &["arn:aws:lambda:us-west-2:123456789012:function:my-lambda-function"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_overwrite_lambda_code.jsonl", 3, &["arn:aws:lambda:us-west-2:123456789012:function:production-api"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_overwrite_lambda_code.jsonl", 4, &["arn:aws:lambda:us-west-2:123456789012:function:production-api"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_overwrite_lambda_code.jsonl", 5, &["arn:aws:lambda:us-west-2:123456789012:function:my-lambda-function"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_automated_backup_deleted.jsonl", 2, &["arn:aws:rds:us-east-1:123456789012:db:replica-instance"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_cluster_failover.jsonl", 2, &["arn:aws:rds:us-east-1:123456789012:cluster:aurora-cluster"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_deletion_protection_disabled.jsonl", 1, &["arn:aws:rds:us-east-1:123456789012:db:production-mysql"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_deletion_protection_disabled.jsonl", 2, &["arn:aws:rds:us-west-2:123456789012:cluster:aurora-production"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_deletion_protection_disabled.jsonl", 3, &["arn:aws:rds:us-east-1:123456789012:db:customer-database"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_deletion_protection_disabled.jsonl", 4, &["arn:aws:rds:us-east-1:123456789012:db:production-db"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_deletion_protection_disabled.jsonl", 5, &["arn:aws:rds:us-east-1:123456789012:db:production-db"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_iam_role_added.jsonl", 1, &["arn:aws:rds:us-east-1:123456789012:db:production-postgres"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_iam_role_added.jsonl", 2, &["arn:aws:rds:us-west-2:123456789012:cluster:aurora-cluster-prod"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_instance_made_public.jsonl", 1, &["arn:aws:rds:us-east-1:123456789012:db:production-db"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_instance_made_public.jsonl", 2, &["arn:aws:rds:us-west-2:123456789012:cluster:aurora-cluster"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_instance_made_public.jsonl", 3, &["arn:aws:rds:us-east-1:123456789012:db:production-db"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_instance_made_public.jsonl", 4, &["arn:aws:rds:us-east-1:123456789012:db:production-db"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_manual_snapshot_created.jsonl", 1, &["arn:aws:rds:us-west-2:123456789012:snapshot:exfiltration"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_manual_snapshot_created.jsonl", 2, &["arn:aws:rds:us-west-2:123456789012:snapshot:exfiltration"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_manual_snapshot_created.jsonl", 3, &["arn:aws:rds:us-west-2:123456789012:snapshot:exfiltration"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_manual_snapshot_created.jsonl", 4, &["arn:aws:rds:us-west-2:123456789012:snapshot:exfiltration"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_master_pass_updated.jsonl", 1, &["arn:aws:rds:us-west-1:123456789012:db:my-database"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_master_pass_updated.jsonl", 2, &["arn:aws:rds:us-west-1:123456789012:db:my-database"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_publicrestore.jsonl", 1, &["arn:aws:rds:us-east-1:123456789012:db:test-instance"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_publicrestore.jsonl", 2, &["arn:aws:rds:us-east-1:123456789012:db:test-instance"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_publicrestore.jsonl", 3, &["arn:aws:rds:us-east-1:123456789012:db:test-instance"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_snapshot_copied_cross_region.jsonl", 1, &["arn:aws:rds:us-west-2:123456789012:snapshot:prod-backup-2024-copy"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_snapshot_copied_cross_region.jsonl", 2, &["arn:aws:rds:eu-west-1:123456789012:cluster-snapshot:aurora-prod-backup-eu"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_snapshot_copied_cross_region.jsonl", 3, &["arn:aws:rds:us-east-1:123456789012:snapshot:copy-of-snapshot"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_snapshot_shared.jsonl", 1, &["arn:aws:rds:us-west-2:123456789012:snapshot:exfiltration"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_rds_snapshot_shared.jsonl", 2, &["arn:aws:rds:us-west-2:123456789012:snapshot:exfiltration"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl", 1, &["arn:aws:ecr:eu-west-1:112233445566:repository/community"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl", 2, &["arn:aws:s3:::example-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl", 3, &["arn:aws:s3:::example-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl", 13, &["arn:aws:secretsmanager:us-west-2:123456789012:secret:paloma/example-secret-xxxxxx"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_resource_made_public.jsonl", 14, &["arn:aws:kms:us-west-2:123456789012:key/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_root_activity.jsonl", 2, &["arn:aws:s3:::bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_delete_public_access_block.jsonl", 2, &["arn:aws:s3:::corporate-documents"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_delete_public_access_block.jsonl", 3, &["arn:aws:s3:::corporate-documents"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_disable_mfa_delete.jsonl", 1, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_disable_mfa_delete.jsonl", 3, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_disable_mfa_delete.jsonl", 5, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_disable_mfa_delete.jsonl", 6, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_security_control_disabling.jsonl", 2, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_security_control_disabling.jsonl", 3, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_security_control_disabling.jsonl", 4, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_security_control_disabling.jsonl", 5, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_security_control_disabling.jsonl", 7, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_security_control_disabling.jsonl", 8, &["arn:aws:s3:::critical-data-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_suspend_versioning.jsonl", 1, &["arn:aws:s3:::important-files-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_suspend_versioning.jsonl", 2, &["arn:aws:s3:::important-files-bucket"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_s3_suspend_versioning.jsonl", 4, &["arn:aws:s3:::important-files-bucket"]),
    (REAL, "panther-analysis__test_scenarios_compromised-root-creds_attacker_cloudtrail.jsonl", 3, &["arn:aws:iam::493859302102:user/tracy_stone"]),
    (REAL, "panther-analysis__test_scenarios_compromised-root-creds_attacker_cloudtrail.jsonl", 4, &["arn:aws:iam::493859302102:user/tracy_stone"]),
    (REAL, "panther-analysis__test_scenarios_compromised-root-creds_attacker_cloudtrail.jsonl", 5, &["arn:aws:iam::493859302102:user/tracy_stone"]),
    (REAL, "panther-analysis__test_scenarios_compromised-root-creds_attacker_cloudtrail.jsonl", 6, &["arn:aws:iam::493859302102:user/tracy_stone"]),
    (REAL, "panther-analysis__test_scenarios_compromised-root-creds_attacker_cloudtrail.jsonl", 8, &["arn:aws:ec2:us-east-1:493859302102:instance/i-05261ffb46217cdc3"]),
    (REAL, "plaso__test_data_jsonl_aws_cloudtrail.jsonl", 2, &["arn:aws:ec2:ap-southeast-2:012345678901:instance/i-01234567890123456"]),
    (REAL, "plaso__test_data_jsonl_aws_cloudtrail.jsonl", 3, &["arn:aws:ec2:ap-southeast-2:012345678901:security-group/sg-01234567890123456"]),
    (REAL, "stratus-red-team__docs_detonation-logs_aws.defense-evasion.cloudtrail-event-selectors.jsonl", 1, &["arn:aws:cloudtrail:cn-northsouth-2r:958312252124:trail/stratus-red-team-ctes-trail-khlvciwdor"]),
    (REAL, "stratus-red-team__docs_detonation-logs_aws.execution.ec2-user-data.jsonl", 2, &["arn:aws:ec2:ca-northsouth-2r:309303190113:instance/i-DDd6c7B0e18F0E35f"]),
    (REAL, "stratus-red-team__docs_detonation-logs_aws.exfiltration.ec2-share-ami.jsonl", 1, &["arn:aws:ec2:me-south-1r:118238665043:image/ami-de1fbCab6ccB03e6D"]),
    (REAL, "stratus-red-team__docs_detonation-logs_aws.exfiltration.ec2-share-ebs-snapshot.jsonl", 1, &["arn:aws:ec2:me-central-3r:756680937392:snapshot/snap-041993b54a9b3af6f"]),
    (REAL, "stratus-red-team__docs_detonation-logs_aws.persistence.lambda-layer-extension.jsonl", 1, &["arn:aws:lambda:eugov-eastcentral-1r:712967571683:function:stratus-red-team-lambda-layer-simpleLambda"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_critical_api_calls.jsonl", 1, &["arn:aws:cloudtrail:us-west-2:123456789123:trail/..."]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_critical_api_calls.jsonl", 4, &["arn:aws:s3:::..."]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_critical_api_calls.jsonl", 5, &["arn:aws:s3:::test"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_critical_api_calls.jsonl", 14, &["arn:aws:cloudtrail:us-west-2:123456789123:trail/..."]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 1, &["arn:aws:s3:::test"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 2, &["arn:aws:es:us-east-1:123456789123:domain/test"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 3, &["arn:aws:es:us-east-1:123456789123:domain/test"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 5, &["arn:aws:sqs:us-east-1:123456789123:tmp"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 6, &["arn:aws:sns:us-east-1:123456789123:test"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 7, &["arn:aws:sns:us-east-1:123456789123:test"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 8, &["arn:aws:sns:us-east-1:123456789123:test"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 9, &["arn:aws:ecr:us-east-1:123456789123:repository/test"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 10, &["arn:aws:kms:us-east-1:123456789123:key/0000000-0000-0000-0000-0000000000000"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 11, &["arn:aws:kms:us-east-1:123456789123:key/0000000-0000-0000-0000-0000000000000"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_public_resources.jsonl", 12, &["arn:aws:secretsmanager:us-east-1:123456789123:secret:test-zeCISw"]),
    (DOCS, "amazon-cloudwatch-user-guide__logging_cw_api_calls.jsonl", 2, &["arn:aws:events:us-east-1:123456789012:rule/cttest2"]),
    (DOCS, "amazon-dynamodb-developer-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:dynamodb:us-west-2:111122223333:table/Music"]),
    (DOCS, "amazon-ecr-user-guide__logging-using-cloudtrail.jsonl", 2, &["arn:aws:ecr:us-east-2:123456789012:repository/testrepo"]),
    (DOCS, "amazon-efs-user-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:elasticfilesystem:us-west-2:111122223333:file-system/fs-00112233"]),
    (DOCS, "amazon-efs-user-guide__logging-using-cloudtrail.jsonl", 2, &["arn:aws:elasticfilesystem:us-west-2:111122223333:file-system/fs-00112233"]),
    (DOCS, "amazon-efs-user-guide__logging-using-cloudtrail.jsonl", 3, &["arn:aws:elasticfilesystem:us-west-2:111122223333:file-system/fs-00112233"]),
    (DOCS, "amazon-efs-user-guide__logging-using-cloudtrail.jsonl", 4, &["arn:aws:elasticfilesystem:us-west-2:111122223333:file-system/fs-00112233"]),
    (DOCS, "amazon-eks-user-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:eks:<region-code>:111122223333:cluster/test"]),
    (DOCS, "amazon-eks-user-guide__logging-using-cloudtrail.jsonl", 2, &["arn:aws:eks:<region-code>:<your-account-id>:cluster/test"]),
    (DOCS, "amazon-eks-user-guide__logging-using-cloudtrail.jsonl", 4, &["arn:aws:eks:region-code:your-account-id:cluster/test"]),
    (DOCS, "amazon-eks-user-guide__logging-using-cloudtrail.jsonl", 5, &["arn:aws:eks:us-west-2:111122223333:cluster/test"]),
    (DOCS, "amazon-eks-user-guide__understanding-service-name-entries.jsonl", 1, &["arn:aws:eks:region-code:111122223333:cluster/test"]),
    (DOCS, "amazon-eks-user-guide__understanding-service-name-entries.jsonl", 2, &["arn:aws:eks:region-code:111122223333:cluster/test"]),
    (DOCS, "amazon-eventbridge-user-guide__event-types.envelopes.jsonl", 2, &["arn:aws:s3:::bucket-test-iad"]),
    (DOCS, "amazon-rds-user-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:rds:us-east-1:123456789012:db:test-instance"]),
    (DOCS, "amazon-rds-user-guide__logging-using-cloudtrail.jsonl", 2, &["arn:aws:rds:us-east-1:123456789012:db:test-instance"]),
    (DOCS, "amazon-s3-developer-guide__cloudtrail-logging.jsonl", 1, &["arn:aws:s3:::myawsbucket"]),
    (DOCS, "amazon-sagemaker-developer-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:sagemaker:us-west-2:123456789012:model/barkinghappy2018-01-02t15-23-32-275z-ivrdog"]),
    (DOCS, "amazon-sagemaker-developer-guide__logging-using-cloudtrail.jsonl", 2, &["arn:aws:sagemaker:us-west-2:123456789012:endpoint/exampleendpoint"]),
    (DOCS, "amazon-sns-developer-guide__sns-logging-using-cloudtrail.repaired.jsonl", 3, &["arn:aws:sns:us-west-2:123456789012:hello-topic"]),
    (DOCS, "aws-certificate-user-guide__acm-supported-actions-in-cloudtrail.jsonl", 2, &["arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"]),
    (DOCS, "aws-certificate-user-guide__acm-supported-actions-in-cloudtrail.jsonl", 6, &["arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"]),
    (DOCS, "aws-certificate-user-guide__acm-supported-actions-in-cloudtrail.jsonl", 7, &["arn:aws:acm:us-east-1:123456789012:certificate/fedcba98-7654-3210-fedc-ba9876543210"]),
    (DOCS, "aws-cloudformation-user-guide__cfn-api-logging-cloudtrail.jsonl", 2, &["arn:aws:cloudformation:us-east-1:012345678910:stack/my-test-stack/a38e6a60-b397-11e3-b0fc-08002755629e"]),
    (DOCS, "aws-cloudformation-user-guide__cfn-api-logging-cloudtrail.jsonl", 4, &["arn:aws:cloudformation:us-east-1:012345678910:stack/my-test-stack/a38e6a60-b397-11e3-b0fc-08002755629e"]),
    (DOCS, "aws-cloudformation-user-guide__cfn-api-logging-cloudtrail.jsonl", 5, &["arn:aws:cloudformation:us-east-1:012345678910:stack/my-test-stack/a38e6a60-b397-11e3-b0fc-08002755629e"]),
    (DOCS, "aws-cloudtrail-user-guide__cloudtrail-log-file-examples.jsonl", 4, &["arn:aws:iam::123456789012:user/Bob"]),
    (DOCS, "aws-kms-developer-guide__ct-createkey.jsonl", 1, &["arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"]),
    (DOCS, "aws-kms-developer-guide__ct-createkey.jsonl", 2, &["arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]),
    (DOCS, "aws-kms-developer-guide__ct-createkey.jsonl", 3, &["arn:aws:kms:us-east-1:123456789012:key/06dc80ca-1bdc-4d0b-be5b-b7009cd14f13"]),
    (DOCS, "aws-kms-developer-guide__ct-createkey.jsonl", 4, &["arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]),
    (DOCS, "aws-kms-developer-guide__ct-ec2two.jsonl", 2, &["arn:aws:ec2:us-east-1:123456789012:instance/i-81e2f56c"]),
    (DOCS, "aws-kms-developer-guide__ct-ec2two.jsonl", 3, &["arn:aws:ec2:us-west-2:111122223333:instance/i-81e2f56c"]),
    (DOCS, "aws-kms-developer-guide__ct-untagresource.jsonl", 1, &["arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]),
    (DOCS, "aws-secrets-manager-docs__monitoring.jsonl", 1, &["arn:aws:secretsmanager:us-west-2:123456789012:secret:MyDatabaseSecret"]),
    (DOCS, "aws-secrets-manager-docs__retrieve-ct-entries.jsonl", 2, &["arn:aws:secretsmanager:us-east-2:123456789012:secret:MyDatabaseSecret"]),
    (DOCS, "aws-step-functions-developer-guide__procedure-cloud-trail.jsonl", 3, &["arn:aws:states:us-east-1:123456789012:stateMachine:testUser.2016-10-27-18-17-06.bd144e18-0437-476e-9bb"]),
    (DOCS, "aws-step-functions-developer-guide__procedure-cloud-trail.jsonl", 4, &["arn:aws:states:us-east-1:123456789012:activity:OtherActivityPrefix.2016-10-27-18-16-56.894c791e-2ced-4cf4-8523-376469410c25"]),
    (REAL, "cloud-custodian__tests_data_cwe_event-cloud-trail-hsm-create-cluster.jsonl", 1, &["arn:aws:cloudhsm:us-east-1:644160558196:cluster/cluster-dqf7m6ithhc"]),
    (DOCS, "amazon-dynamodb-developer-guide__logging-using-cloudtrail.jsonl", 4, &["arn:aws:dax:us-west-2:111122223333:cache/daxcluster"]),
    (DOCS, "amazon-dynamodb-developer-guide__understanding-ddb-log-entries.jsonl", 4, &["arn:aws:dax:us-west-2:111122223333:cache/daxcluster"]),
    (DOCS, "amazon-mq-developer-guide__amazon-mq-logging-cloudtrail.jsonl", 1, &["arn:aws:mq:us-east-2:123456789012:broker:MyBroker:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9"]),
    (DOCS, "amazon-mq-developer-guide__amazon-mq-logging-cloudtrail.jsonl", 2, &["arn:aws:mq:us-east-2:123456789012:broker:MyBroker:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9"]),
    (DOCS, "amazon-mq-developer-guide__amazon-mq-logging-cloudtrail.jsonl", 3, &["arn:aws:mq:us-east-2:123456789012:broker:MyBroker:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9"]),
    (DOCS, "amazon-mq-developer-guide__security-logging-monitoring-cloudtrail.jsonl", 1, &["arn:aws:mq:us-east-2:123456789012:broker:MyBroker:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9"]),
    (DOCS, "amazon-rekognition-developer-guide__logging-using-cloudtrail.jsonl", 4, &["arn:aws:rekognition:us-east-1:012345678910:streamprocessor/ProcessorName"]),
    (DOCS, "amazon-rekognition-developer-guide__logging-using-cloudtrail.jsonl", 5, &["arn:aws:rekognition:us-east-1:111122223333:streamprocessor/ProcessorName"]),
    (DOCS, "amazon-rekognition-developer-guide__logging-using-cloudtrail.jsonl", 8, &["arn:aws:rekognition:us-east-1:012345678910:collection/8fa6aa65-cab4-4d0a-b976-7fd5df63f38a"]),
    (DOCS, "amazon-rekognition-developer-guide__logging-using-cloudtrail.jsonl", 9, &["arn:aws:rekognition:us-east-1:111122223333:collection/8fa6aa65-cab4-4d0a-b976-7fd5df63f38a"]),
    (DOCS, "aws-datasync-user-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:datasync:ap-southeast-1:123456789012:task/task-00e5db3f3f41f6cd2"]),
    (DOCS, "aws-private-ca-user-guide__CT-CreateCA.repaired.jsonl", 1, &["arn:aws:acm-pca:region:account:certificate-authority/01234567-89ab-cdef-0123-456789abcdef"]),
    (DOCS, "aws-private-ca-user-guide__CT-CreateCA.repaired.jsonl", 2, &["arn:aws:acm-pca:region:account:certificate-authority/CA_ID"]),
    (DOCS, "aws-private-ca-user-guide__CT-CreateCA.repaired.jsonl", 3, &["arn:aws:acm-pca:region:account:certificate-authority/ac5a7c2e-19c8-4258-b74e-351c2b791fe1"]),
    (DOCS, "aws-private-ca-user-guide__CT-TagPCA.jsonl", 1, &["arn:aws:acm-pca:region:account:certificate-authority/01234567-89ab-cdef-0123-456789abcdef"]),
    (DOCS, "aws-private-ca-user-guide__CT-TagPCA.jsonl", 2, &["arn:aws:acm-pca:region:account:certificate-authority/CA_ID"]),
    (DOCS, "aws-private-ca-user-guide__CT-TagPCA.jsonl", 3, &["arn:aws:acm-pca:us-east-1:account:certificate-authority/ac5a7c2e-19c8-4258-b74e-351c2b791fe1"]),
    (DOCS, "aws-private-ca-user-guide__CT-UntagPCA.jsonl", 1, &["arn:aws:acm-pca:region:account:certificate-authority/01234567-89ab-cdef-0123-456789abcdef"]),
    (DOCS, "aws-private-ca-user-guide__CT-UntagPCA.jsonl", 2, &["arn:aws:acm-pca:region:account:certificate-authority/CA_ID"]),
    (DOCS, "aws-private-ca-user-guide__CT-UntagPCA.jsonl", 3, &["arn:aws:acm-pca:us-east-1:account:certificate-authority/ac5a7c2e-19c8-4258-b74e-351c2b791fe1"]),
    (DOCS, "aws-private-ca-user-guide__CT-UpdateCA.repaired.jsonl", 1, &["arn:aws:acm-pca:region:account:certificate-authority/01234567-89ab-cdef-0123-456789abcdef"]),
    (DOCS, "aws-transfer-user-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:transfer:us-east-2:123456789102:server/s-b6118b5f29a04a9e8"]),    // Generated entries (events/catalog-generated.toml).
    (DOCS, "amazon-cloudwatch-user-guide__logging_cw_api_calls.jsonl", 5, &["arn:aws:synthetics:us-east-1:111122223333:canary:sample_canary_name"]),
    (DOCS, "amazon-cloudwatch-user-guide__logging_cw_api_calls.jsonl", 6, &["arn:aws:internetmonitor:us-east-2:444455556666:monitor/ct-onboarding-test"]),
    (DOCS, "amazon-connect-admin-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:voiceid:us-west-2:111122223333:domain/ExampleOsAjzg9xoByUatN"]),
    (DOCS, "amazon-ec2-user-guide__recycle-bin-ct.jsonl", 8, &["arn:aws:rbin:us-west-2:123456789012:rule/ABCDEF01234"]),
    (DOCS, "amazon-ec2-user-guide__recycle-bin-ct.jsonl", 9, &["arn:aws:rbin:us-west-2:123456789012:rule/ABCDEF01234"]),
    (DOCS, "amazon-ec2-user-guide__recycle-bin-ct.jsonl", 10, &["arn:aws:rbin:us-west-2:123456789012:rule/ABCDEF01234"]),
    (DOCS, "amazon-ec2-user-guide__recycle-bin-ct.jsonl", 11, &["arn:aws:rbin:us-west-2:123456789012:rule/ABCDEF01234"]),
    (DOCS, "amazon-fsx-windows-user-guide__logging-using-cloudtrail.repaired.jsonl", 1, &["arn:aws:fsx:us-east-1:111122223333:file-system/fs-ab12cd34ef56gh789"]),
    (DOCS, "amazon-guardduty-user-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:guardduty:us-west-2:444455556666:detector/5ab04b1110c865eecf516eee2435ede7/threatintelset/Example"]),
    (DOCS, "amazon-kendra-developer-guide__cloudtrail-intelligent-ranking.jsonl", 1, &["arn:aws:kendra-ranking:region:account ID:rescore-execution-plan/name"]),
    (DOCS, "amazon-transcribe-developer-guide__monitoring-transcribe-cloud-trail.jsonl", 2, &["arn:aws:transcribe:region:account id:transcription-job/job-name"]),
    (DOCS, "amazon-transcribe-developer-guide__monitoring-transcribe-cloud-trail.jsonl", 3, &["arn:aws:transcribe:region:account id:transcription-job/unique job name"]),
    (DOCS, "amazon-transcribe-developer-guide__monitoring-transcribe-cloud-trail.jsonl", 4, &["arn:aws:transcribe:region:account id:transcription-job/unique job name"]),
    (DOCS, "amazon-transcribe-developer-guide__monitoring-transcribe-cloud-trail.jsonl", 5, &["arn:aws:transcribe:region:account id:transcription-job/unique job name"]),
    (DOCS, "amazon-transcribe-developer-guide__monitoring-transcribe-cloud-trail.jsonl", 6, &["arn:aws:transcribe:us-west-2:111122223333:transcription-job/my-first-transcription-job"]),
    (DOCS, "amazon-transcribe-developer-guide__monitoring-transcribe-cloud-trail.jsonl", 7, &["arn:aws:transcribe:us-west-2:account id:transcription-job/my-first-transcription-job"]),
    (DOCS, "aws-codebuild-user-guide__cloudtrail.jsonl", 1, &["arn:aws:codebuild:region-ID:account-ID:project/codebuild-demo-project:project-ID"]),
    (DOCS, "aws-organizations-docs__orgs_monitoring.jsonl", 3, &["arn:aws:organizations::111111111111:ou/o-exampleorgid/ou-examplerootid111-exampleouid111"]),
    (DOCS, "aws-organizations-docs__orgs_security_incident-response.jsonl", 3, &["arn:aws:organizations::111111111111:ou/o-aa111bb222/ou-examplerootid111-exampleouid111"]),
    (DOCS, "aws-organizations-docs__orgs_security_incident-response.jsonl", 4, &["arn:aws:organizations::111111111111:ou/o-exampleorgid/ou-examplerootid111-exampleouid111"]),
    (DOCS, "aws-organizations-docs__orgs_security_incident-response.jsonl", 5, &["arn:aws:organizations::111111111111:ou/o-exampleorgid/ou-examplerootid111-exampleouid111"]),
    (DOCS, "aws-waf-and-shield-advanced-developer-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:waf::777777777777:rule/7237b123-7903-4d9e-8176-9d71dexample"]),
    (DOCS, "aws-waf-and-shield-advanced-developer-guide__logging-using-cloudtrail.jsonl", 2, &["arn:aws:waf::777777777777:rule/0923ab32-7229-49f0-a0e3-66c81example"]),
    (DOCS, "iam-user-guide__logging-using-cloudtrail.jsonl", 1, &["arn:aws:access-analyzer:us-west-2:111122223333:analyzer/test"]),
    // Catalogued since the generator writes the eventSource CloudTrail writes (`iotfleethub`, not
    // the endpoint `fleethub.iot`).
    (DOCS, "aws-iot-docs__iotfleethubguide_logging-using-cloudtrail.jsonl", 1, &["arn:aws:iotfleethub:us-east-1:123456789012:application/application-id"]),
    (REAL, "cloud-custodian__tests_data_cwe_event-appmesh-create-mesh.jsonl", 1, &["arn:aws:appmesh:eu-west-2:00000:mesh/m1"]),
    (REAL, "cloud-custodian__tests_data_cwe_event-appmesh-create-virtualnode.jsonl", 1, &["arn:aws:appmesh:us-east-1:659775036450:mesh/m1/virtualNode/vn3"]),
    (REAL, "panther-analysis__rules_aws_cloudtrail_rules_aws_bedrock_guardrail_update_delete.jsonl", 1, &["arn:aws:bedrock:us-west-2:123123123123:guardrail/cmy5azq5koeo"]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_critical_api_calls.jsonl", 2, &["arn:aws:guardduty:us-east-1:123456789123:detector/..."]),
    (REAL, "streamalert__rules_community_cloudwatch_events_cloudtrail_critical_api_calls.jsonl", 3, &["arn:aws:guardduty:us-east-1:123456789123:detector/00000000000000000000000000000000"]),
];

fn record_line(folder: &str, file: &str, line: usize) -> String {
    let text = std::fs::read_to_string(support::corpora().join(folder).join(file)).unwrap();
    text.lines().nth(line - 1).unwrap().to_owned()
}

#[test]
fn every_real_record_resolves_to_exactly_its_arns() {
    let resolver = Resolver::new(Catalog::builtin().unwrap(), ResolveOptions::default());
    let mut failures = Vec::new();
    for (folder, file, line, expected) in CASES {
        let location = Location {
            file: (*file).to_owned(),
            line: *line,
            index: None,
        };
        let (_, event) = decode_one(&record_line(folder, file, *line), location).unwrap();
        match resolver.resolve(&event) {
            Resolution::Resolved(change) => {
                let arns: Vec<&str> = change.resources.iter().map(|r| r.arn.as_str()).collect();
                if arns != *expected {
                    failures.push(format!(
                        "{file}:{line}: got {arns:?}, expected {expected:?}"
                    ));
                }
            }
            other => failures.push(format!("{file}:{line}: {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_catalogued_call_with_a_successful_real_record_is_in_the_table() {
    // A new record of a catalogued call in the shared corpora must be added to CASES (or, if it
    // names no resource at all, to the id-less lists in tests/support/mod.rs).
    let catalog = Catalog::builtin().unwrap();
    let listed: BTreeSet<(&str, &str, usize)> = CASES
        .iter()
        .map(|(folder, file, line, _)| (*folder, *file, *line))
        .collect();
    let mut calls_with_records = BTreeSet::new();
    let mut missing = Vec::new();
    for folder in [REAL, DOCS] {
        for path in support::corpus_files(folder) {
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, raw) in text.lines().enumerate() {
                if raw.trim().is_empty() {
                    continue;
                }
                let location = Location {
                    file: file.clone(),
                    line: at + 1,
                    index: None,
                };
                let Ok((_, InputEvent::ApiCall(call))) = decode_one(raw, location) else {
                    continue;
                };
                let record = &call.record;
                if record.error_code.is_some()
                    || catalog
                        .lookup(&record.event_source, &record.event_name)
                        .is_none()
                {
                    continue;
                }
                calls_with_records.insert((
                    record.event_source.clone(),
                    base_event_name(record.event_name.trim()).to_owned(),
                ));
                let here = format!("{file}:{}", at + 1);
                let known_idless = support::IDLESS_REAL
                    .iter()
                    .chain(support::IDLESS_DOCS)
                    .any(|idless| *idless == here);
                if !known_idless && !listed.contains(&(folder, file.as_str(), at + 1)) {
                    missing.push(format!("{folder}/{file}:{}", at + 1));
                }
            }
        }
    }
    assert!(missing.is_empty(), "records not in CASES: {missing:?}");
    assert!(
        calls_with_records.len() >= 60,
        "{} catalogued calls have real records",
        calls_with_records.len()
    );
}

/// The calls of taggable resource types the models name (`events/taggable-calls.tsv`, written
/// by tools/catalog-gen): (eventSource, name) → (kind, status).
fn taggable_calls() -> std::collections::BTreeMap<(String, String), (String, String)> {
    let text =
        std::fs::read_to_string(support::repo_root().join("events/taggable-calls.tsv")).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("event_source\t"))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "{line}");
            (
                (fields[0].to_owned(), fields[1].to_owned()),
                (fields[2].to_owned(), fields[3].to_owned()),
            )
        })
        .collect()
}

#[test]
fn nine_in_ten_successful_create_and_tag_records_of_taggable_types_are_catalogued() {
    let catalog = Catalog::builtin().unwrap();
    let taggable = taggable_calls();
    let (mut records, mut catalogued) = (0, 0);
    let mut rest = Vec::new();
    for folder in [REAL, DOCS] {
        for path in support::corpus_files(folder) {
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, raw) in text.lines().enumerate() {
                let location = Location {
                    file: file.clone(),
                    line: at + 1,
                    index: None,
                };
                let Ok((_, InputEvent::ApiCall(call))) = decode_one(raw, location) else {
                    continue;
                };
                let record = &call.record;
                let name = base_event_name(record.event_name.trim()).to_owned();
                let Some((kind, status)) = taggable.get(&(record.event_source.clone(), name))
                else {
                    continue;
                };
                if record.error_code.is_some() || kind == "modify" {
                    continue;
                }
                records += 1;
                if catalog
                    .lookup(&record.event_source, &record.event_name)
                    .is_some()
                {
                    catalogued += 1;
                } else {
                    rest.push(format!(
                        "{file}:{} {} {}: {status}",
                        at + 1,
                        record.event_source,
                        record.event_name
                    ));
                }
            }
        }
    }
    println!(
        "{catalogued} of {records} catalogued; the rest:\n{}",
        rest.join("\n")
    );
    assert!(records >= 150, "{records} records");
    assert!(
        catalogued * 10 >= records * 9,
        "{catalogued} of {records} catalogued; the rest:\n{}",
        rest.join("\n")
    );
}

/// Generated entries are listed under the eventSource CloudTrail writes, which is the service's
/// signing name, not its endpoint prefix (tools/catalog-gen: `event_source_of` and its table of
/// exceptions). A record's eventSource is the only key a lookup has, so an entry under an
/// endpoint prefix would never match a record.
#[test]
fn generated_entries_use_the_event_sources_cloudtrail_writes() {
    let catalog = Catalog::builtin().unwrap();
    let sources: BTreeSet<&str> = catalog
        .entries()
        .iter()
        .map(|entry| entry.event_source.as_str())
        .collect();
    for prefix in [
        "mq",
        "voice-chime",
        "identity-chime",
        "meetings-chime",
        "messaging-chime",
        "media-pipelines-chime",
        "models.lex",
        "models-v2-lex",
        "s3-control",
        "memory-db",
        "fleethub.iot",
        "ingest.timestream",
        "query.timestream",
        "controlplane.payment-cryptography",
        "data.qapps",
        "appstream2",
        "bedrock-agent",
        "ivsrealtime",
        "mail-manager",
    ] {
        let endpoint = format!("{prefix}.amazonaws.com");
        assert!(
            !sources.contains(endpoint.as_str()),
            "{endpoint} is an endpoint, not an eventSource CloudTrail writes"
        );
    }
    for (source, call) in [
        ("amazonmq.amazonaws.com", "CreateBroker"),
        ("chime.amazonaws.com", "CreateSipMediaApplication"),
        ("lex.amazonaws.com", "UpdateBot"),
        ("memorydb.amazonaws.com", "CreateSnapshot"),
        ("iotfleethub.amazonaws.com", "CreateApplication"),
        ("timestream.amazonaws.com", "CreateDatabase"),
        ("payment-cryptography.amazonaws.com", "CreateKey"),
        ("qapps.amazonaws.com", "TagResource"),
        ("appstream.amazonaws.com", "CreateFleet"),
        ("bedrock.amazonaws.com", "CreateAgent"),
        ("ivs.amazonaws.com", "CreateStage"),
        // The exceptions: CloudTrail names these by neither signing name nor endpoint prefix
        // alone (`mobiletargeting`, `servicecatalog`).
        ("pinpoint.amazonaws.com", "UntagResource"),
        ("servicecatalog-appregistry.amazonaws.com", "TagResource"),
    ] {
        assert!(
            catalog.lookup(source, call).is_some(),
            "{source} {call} is not catalogued"
        );
    }
}
