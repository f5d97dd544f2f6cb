//! Resource types the enforcer knows, in the Resource Groups Tagging API's naming
//! (`service:type`). Policies may select any of them; the catalog resolves events to them.

/// Every known type, sorted.
pub const KNOWN_RESOURCE_TYPES: &[&str] = &[
    "acm:certificate",
    "amplify:apps",
    "amplify:apps/branches",
    "athena:workgroup",
    "backup:backup-plan",
    "backup:backup-vault",
    "cloudformation:stack",
    "cloudtrail:trail",
    "cloudwatch:alarm",
    "dynamodb:table",
    "ec2:elastic-ip",
    "ec2:image",
    "ec2:instance",
    "ec2:launch-template",
    "ec2:network-interface",
    "ec2:security-group",
    "ec2:snapshot",
    "ec2:subnet",
    "ec2:volume",
    "ec2:vpc",
    "ecr:repository",
    "ecs:cluster",
    "ecs:service",
    "ecs:task-definition",
    "eks:cluster",
    "elasticache:cluster",
    "elasticache:replicationgroup",
    "elasticfilesystem:file-system",
    "elasticloadbalancing:loadbalancer",
    "elasticloadbalancing:targetgroup",
    "es:domain",
    "events:event-bus",
    "events:rule",
    "firehose:deliverystream",
    "glue:connection",
    "glue:crawler",
    "glue:database",
    "glue:job",
    "glue:table",
    "glue:trigger",
    "glue:workflow",
    "iam:policy",
    "iam:role",
    "iam:user",
    "kinesis:stream",
    "kms:key",
    "lambda:event-source-mapping",
    "lambda:function",
    "lambda:layer",
    "logs:log-group",
    "rds:cluster",
    "rds:cluster-pg",
    "rds:cluster-snapshot",
    "rds:db",
    "rds:pg",
    "rds:snapshot",
    "rds:subgrp",
    "redshift-serverless:namespace",
    "redshift-serverless:workgroup",
    "redshift:cluster",
    "s3:bucket",
    "sagemaker:domain",
    "sagemaker:endpoint",
    "sagemaker:endpoint-config",
    "sagemaker:model",
    "sagemaker:notebook-instance",
    "sagemaker:processing-job",
    "sagemaker:training-job",
    "secretsmanager:secret",
    "sns:topic",
    "sqs:queue",
    "states:stateMachine",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_unique() {
        let mut sorted = KNOWN_RESOURCE_TYPES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, KNOWN_RESOURCE_TYPES);
    }
}
