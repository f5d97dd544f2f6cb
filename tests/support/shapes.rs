//! What a well-formed ARN of each resource type looks like: service, whether the region and
//! account segments are present (S3 buckets have neither, IAM and CloudFront no region), and the
//! resource part. Written from the services' ARN formats, independently of the catalog.

use enforcer::catalog::{resource_type_from_arn, Arn, NESTED_RESOURCE_TYPES};
use regex::Regex;

/// Region and account presence.
#[derive(Clone, Copy)]
enum Scope {
    /// `arn:p:svc:region:account:…`
    Regional,
    /// `arn:p:svc::account:…` (IAM, CloudFront)
    Global,
    /// `arn:p:s3:::bucket`
    Bare,
}

use Scope::{Bare, Global, Regional};

const SHAPES: &[(&str, Scope, &str)] = &[
    (
        "acm-pca:certificate-authority",
        Regional,
        r"^certificate-authority/[0-9A-Za-z_-]+$",
    ),
    ("acm:certificate", Regional, r"^certificate/[0-9a-f-]+$"),
    ("amplify:apps", Regional, r"^apps/[^/]+$"),
    (
        "amplify:apps/branches",
        Regional,
        r"^apps/[^/]+/branches/[^/]+$",
    ),
    ("athena:datacatalog", Regional, r"^datacatalog/[^/]+$"),
    ("athena:workgroup", Regional, r"^workgroup/[^/]+$"),
    ("backup:backup-plan", Regional, r"^backup-plan:[^:/]+$"),
    ("backup:backup-vault", Regional, r"^backup-vault:[^:/]+$"),
    (
        "cloudformation:stack",
        Regional,
        r"^stack/[^/]+/[0-9a-f-]+$",
    ),
    (
        "cloudfront:distribution",
        Global,
        r"^distribution/[A-Z0-9]+$",
    ),
    ("cloudhsm:cluster", Regional, r"^cluster/cluster-[0-9a-z]+$"),
    ("cloudtrail:trail", Regional, r"^trail/[^/]+$"),
    ("cloudwatch:alarm", Regional, r"^alarm:.+$"),
    ("datasync:location", Regional, r"^location/loc-[0-9a-f]+$"),
    ("datasync:task", Regional, r"^task/task-[0-9a-f]+$"),
    ("dax:cache", Regional, r"^cache/[^/]+$"),
    ("dynamodb:table", Regional, r"^table/[^/]+$"),
    (
        "ec2:elastic-ip",
        Regional,
        r"^elastic-ip/eipalloc-[0-9A-Za-z]+$",
    ),
    ("ec2:image", Regional, r"^image/ami-[0-9A-Za-z]+$"),
    ("ec2:instance", Regional, r"^instance/i-[0-9A-Za-z]+$"),
    (
        "ec2:launch-template",
        Regional,
        r"^launch-template/lt-[0-9A-Za-z]+$",
    ),
    (
        "ec2:network-interface",
        Regional,
        r"^network-interface/eni-[0-9A-Za-z]+$",
    ),
    (
        "ec2:security-group",
        Regional,
        r"^security-group/sg-[0-9A-Za-z]+$",
    ),
    ("ec2:snapshot", Regional, r"^snapshot/snap-[0-9A-Za-z]+$"),
    ("ec2:subnet", Regional, r"^subnet/subnet-[0-9A-Za-z]+$"),
    ("ec2:volume", Regional, r"^volume/vol-[0-9A-Za-z]+$"),
    ("ec2:vpc", Regional, r"^vpc/vpc-[0-9A-Za-z]+$"),
    (
        "ecr:repository",
        Regional,
        r"^repository/[a-z0-9][a-z0-9._/-]*$",
    ),
    ("ecs:cluster", Regional, r"^cluster/[^/]+$"),
    ("ecs:service", Regional, r"^service/([^/]+/)?[^/]+$"),
    (
        "ecs:task-definition",
        Regional,
        r"^task-definition/[^:/]+:\d+$",
    ),
    ("eks:cluster", Regional, r"^cluster/[^/]+$"),
    ("eks:nodegroup", Regional, r"^nodegroup/[^/]+/[^/]+/[^/]+$"),
    ("elasticache:cluster", Regional, r"^cluster:[a-z0-9-]+$"),
    (
        "elasticache:replicationgroup",
        Regional,
        r"^replicationgroup:[a-z0-9-]+$",
    ),
    (
        "elasticache:serverlesscache",
        Regional,
        r"^serverlesscache:[a-z0-9-]+$",
    ),
    (
        "elasticfilesystem:access-point",
        Regional,
        r"^access-point/fsap-[0-9a-f]+$",
    ),
    (
        "elasticfilesystem:file-system",
        Regional,
        r"^file-system/fs-[0-9a-f]+$",
    ),
    (
        "elasticloadbalancing:loadbalancer",
        Regional,
        r"^loadbalancer/((app|net|gwy)/[^/]+/[0-9a-f]+|[^/]+)$",
    ),
    (
        "elasticloadbalancing:targetgroup",
        Regional,
        r"^targetgroup/[^/]+/[0-9a-f]+$",
    ),
    ("es:domain", Regional, r"^domain/[a-z0-9-]+$"),
    ("events:event-bus", Regional, r"^event-bus/[^/]+$"),
    ("events:rule", Regional, r"^rule/([^/]+/)?[^/]+$"),
    (
        "firehose:deliverystream",
        Regional,
        r"^deliverystream/[^/]+$",
    ),
    ("glue:connection", Regional, r"^connection/[^/]+$"),
    ("glue:crawler", Regional, r"^crawler/[^/]+$"),
    ("glue:database", Regional, r"^database/[^/]+$"),
    ("glue:job", Regional, r"^job/[^/]+$"),
    ("glue:table", Regional, r"^table/[^/]+/[^/]+$"),
    ("glue:trigger", Regional, r"^trigger/[^/]+$"),
    ("glue:workflow", Regional, r"^workflow/[^/]+$"),
    ("iam:policy", Global, r"^policy/([^/]+/)*[^/]+$"),
    ("iam:role", Global, r"^role/([^/]+/)*[^/]+$"),
    ("iam:user", Global, r"^user/([^/]+/)*[^/]+$"),
    ("kinesis:stream", Regional, r"^stream/[^/]+$"),
    ("kms:key", Regional, r"^key/[0-9A-Za-z-]+$"),
    (
        "lambda:event-source-mapping",
        Regional,
        r"^event-source-mapping:[0-9A-Za-z-]+$",
    ),
    ("lambda:function", Regional, r"^function:[^:/]+(:[^:/]+)?$"),
    ("lambda:layer", Regional, r"^layer:[^:/]+:\d+$"),
    ("logs:log-group", Regional, r"^log-group:[^:*]+$"),
    ("mq:broker", Regional, r"^broker:[^:]+:b-[0-9a-z-]+$"),
    ("rds:cluster", Regional, r"^cluster:[a-z0-9.-]+$"),
    ("rds:cluster-pg", Regional, r"^cluster-pg:[a-z0-9.-]+$"),
    (
        "rds:cluster-snapshot",
        Regional,
        r"^cluster-snapshot:[a-z0-9.:-]+$",
    ),
    ("rds:db", Regional, r"^db:[a-z0-9.-]+$"),
    ("rds:pg", Regional, r"^pg:[a-z0-9.-]+$"),
    ("rds:snapshot", Regional, r"^snapshot:[a-z0-9.:-]+$"),
    ("rds:subgrp", Regional, r"^subgrp:[a-z0-9.-]+$"),
    (
        "redshift-serverless:namespace",
        Regional,
        r"^namespace/[0-9a-f-]+$",
    ),
    (
        "redshift-serverless:workgroup",
        Regional,
        r"^workgroup/[0-9a-f-]+$",
    ),
    ("redshift:cluster", Regional, r"^cluster:[a-z0-9-]+$"),
    (
        "redshift:parametergroup",
        Regional,
        r"^parametergroup:[a-z0-9-]+$",
    ),
    (
        "redshift:snapshot",
        Regional,
        r"^snapshot:[a-z0-9-]+/[a-z0-9-]+$",
    ),
    (
        "redshift:subnetgroup",
        Regional,
        r"^subnetgroup:[a-z0-9-]+$",
    ),
    ("rekognition:collection", Regional, r"^collection/[^/]+$"),
    (
        "rekognition:streamprocessor",
        Regional,
        r"^streamprocessor/[^/]+$",
    ),
    ("s3:bucket", Bare, r"^[^/:*]+$"),
    ("sagemaker:domain", Regional, r"^domain/d-[a-z0-9]+$"),
    ("sagemaker:endpoint", Regional, r"^endpoint/[a-z0-9-]+$"),
    (
        "sagemaker:endpoint-config",
        Regional,
        r"^endpoint-config/[a-z0-9-]+$",
    ),
    (
        "sagemaker:feature-group",
        Regional,
        r"^feature-group/[a-z0-9-]+$",
    ),
    ("sagemaker:model", Regional, r"^model/[a-z0-9-]+$"),
    (
        "sagemaker:notebook-instance",
        Regional,
        r"^notebook-instance/[a-z0-9-]+$",
    ),
    (
        "sagemaker:processing-job",
        Regional,
        r"^processing-job/[a-z0-9-]+$",
    ),
    (
        "sagemaker:training-job",
        Regional,
        r"^training-job/[a-z0-9-]+$",
    ),
    (
        "sagemaker:transform-job",
        Regional,
        r"^transform-job/[a-z0-9-]+$",
    ),
    ("secretsmanager:secret", Regional, r"^secret:[^:]+$"),
    ("sns:topic", Regional, r"^[^:/]+$"),
    ("sqs:queue", Regional, r"^[^:/]+$"),
    ("states:activity", Regional, r"^activity:[^:]+$"),
    ("states:stateMachine", Regional, r"^stateMachine:[^:]+$"),
    ("transfer:server", Regional, r"^server/s-[0-9a-f]+$"),
    ("transfer:user", Regional, r"^user/s-[0-9a-f]+/[^/]+$"),
];

/// True when a shape is known for `resource_type`. EC2 types named by id prefix only in
/// `CreateTags`/`DeleteTags` (`ec2:route-table`, …) have the generic EC2 shape.
pub fn has_shape(resource_type: &str) -> bool {
    resource_type.starts_with("ec2:") || SHAPES.iter().any(|(kind, _, _)| *kind == resource_type)
}

/// Why `arn` is not a well-formed ARN of `resource_type`, or `None` when it is.
pub fn shape_problem(resource_type: &str, arn: &str) -> Option<String> {
    let Some(parsed) = Arn::parse(arn) else {
        return Some(format!("`{arn}` is not an ARN"));
    };
    if !parsed.partition.starts_with("aws") {
        return Some(format!("`{arn}`: partition `{}`", parsed.partition));
    }
    let generic_ec2;
    let (scope, pattern) = match SHAPES.iter().find(|(kind, _, _)| *kind == resource_type) {
        Some((_, scope, pattern)) => (*scope, *pattern),
        None if resource_type.starts_with("ec2:") => {
            let kind = resource_type.trim_start_matches("ec2:");
            generic_ec2 = format!("^{kind}/[a-z]+-[0-9A-Za-z]+$");
            (Regional, generic_ec2.as_str())
        }
        // A type only generated entries use (events/catalog-generated.toml): its ARN is built
        // from the IAM authorization reference's format, and each generated sample proves that
        // build exactly (tests/offline/samples.rs). Here: the type's service, and a resource part
        // that starts with the type's name (`canary:…`, `mesh/…`); a nested type's ARN has the
        // type's segments in turn with ids (`mesh/m1/virtualNode/vn3`).
        None => {
            let (service, name) = resource_type.split_once(':').unwrap_or((resource_type, ""));
            if parsed.service != service {
                return Some(format!("`{arn}`: service is not `{service}`"));
            }
            if NESTED_RESOURCE_TYPES.contains(&resource_type) {
                let found = resource_type_from_arn(arn);
                return (found.as_deref() != Some(resource_type)).then(|| {
                    format!("`{arn}`: not shaped `{name}` with an id after each segment")
                });
            }
            let named = parsed
                .resource
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['/', ':']));
            return (!named).then(|| {
                format!("`{arn}`: resource part does not start with `{name}/` or `{name}:`")
            });
        }
    };
    let service = resource_type.split(':').next().unwrap_or_default();
    if parsed.service != service {
        return Some(format!("`{arn}`: service is not `{service}`"));
    }
    let (region_ok, account_ok) = match scope {
        Regional => (!parsed.region.is_empty(), !parsed.account.is_empty()),
        Global => (parsed.region.is_empty(), !parsed.account.is_empty()),
        Bare => (parsed.region.is_empty(), parsed.account.is_empty()),
    };
    if !region_ok || !account_ok {
        return Some(format!(
            "`{arn}`: region/account segments wrong for `{resource_type}`"
        ));
    }
    let regex = Regex::new(pattern).unwrap();
    (!regex.is_match(parsed.resource))
        .then(|| format!("`{arn}`: resource part does not match {pattern} for `{resource_type}`"))
}
