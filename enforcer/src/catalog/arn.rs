//! ARN parsing and the few facts about ARNs the enforcer needs.

use super::types::NESTED_RESOURCE_TYPES;

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f`, `aws-eusc`.
    pub partition: &'a str,
    /// e.g. `s3`, `ec2`.
    pub service: &'a str,
    /// Empty for global services.
    pub region: &'a str,
    /// Empty for S3 buckets.
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Parses `text`; `None` when it is not an ARN.
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return None;
        }
        Some(Self {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// Region-name prefixes of every partition but `aws`, from the region patterns of the SDK's
/// `partitions.json`. No prefix is the start of another (`us-iso-` does not match `us-isob-1`).
const PARTITION_PREFIXES: &[(&str, &str)] = &[
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-iso-", "aws-iso"),
    ("us-isob-", "aws-iso-b"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("eusc-", "aws-eusc"),
];

/// The partition a region belongs to; `aws` for every region of no other partition.
pub(crate) fn partition_for_region(region: &str) -> &'static str {
    PARTITION_PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// The resource type in the Resource Groups Tagging API's naming (`service:type`), read from an
/// ARN: `arn:aws:rds:…:db:x` → `rds:db`, `arn:aws:s3:::b` → `s3:bucket`.
pub fn resource_type_from_arn(arn: &str) -> Option<String> {
    let parsed = Arn::parse(arn)?;
    if let Some(nested) = nested_type(&parsed) {
        return Some(nested);
    }
    let kind = match parsed.service {
        "s3" if !parsed.resource.contains('/') => "bucket",
        "sns" => "topic",
        "sqs" => "queue",
        _ => parsed
            .resource
            .split(['/', ':'])
            .next()
            .filter(|kind| *kind != parsed.resource)
            .unwrap_or(""),
    };
    Some(if kind.is_empty() {
        parsed.service.to_owned()
    } else {
        format!("{}:{}", parsed.service, kind)
    })
}

/// The nested type of an ARN shaped `<type>/<id>/<type>/<id>…` (an even number of `/`
/// segments, at least four) when [`NESTED_RESOURCE_TYPES`] lists it: Amplify branches
/// (`apps/<app>/branches/<branch>` → `amplify:apps/branches`), App Mesh virtual nodes, GuardDuty
/// threat-intel sets, Connect queues …
fn nested_type(parsed: &Arn<'_>) -> Option<String> {
    let segments: Vec<&str> = parsed.resource.split('/').collect();
    if segments.len() < 4 || !segments.len().is_multiple_of(2) {
        return None;
    }
    let literals: Vec<&str> = segments.iter().step_by(2).copied().collect();
    let candidate = format!("{}:{}", parsed.service, literals.join("/"));
    NESTED_RESOURCE_TYPES
        .binary_search(&candidate.as_str())
        .is_ok()
        .then_some(candidate)
}

/// The resource's own name or id: the last segment of the ARN's resource part
/// (`arn:aws:s3:::my-bucket` → `my-bucket`, `…:instance/i-1` → `i-1`, `…:function:f` → `f`).
pub fn resource_name(arn: &str) -> &str {
    match Arn::parse(arn) {
        Some(parsed) => parsed
            .resource
            .rsplit(['/', ':'])
            .find(|segment| !segment.is_empty())
            .unwrap_or(parsed.resource),
        None => arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_names_from_arns() {
        let cases = [
            ("arn:aws:s3:::my-bucket", "s3:bucket", "my-bucket"),
            (
                "arn:aws:ec2:eu-west-1:1:instance/i-1",
                "ec2:instance",
                "i-1",
            ),
            ("arn:aws:rds:eu-west-1:1:db:orders", "rds:db", "orders"),
            ("arn:aws:rds:eu-west-1:1:cluster:c1", "rds:cluster", "c1"),
            (
                "arn:aws:lambda:eu-west-1:1:function:f",
                "lambda:function",
                "f",
            ),
            ("arn:aws:sns:eu-west-1:1:alerts", "sns:topic", "alerts"),
            ("arn:aws:ecs:eu-west-1:1:service/c/s", "ecs:service", "s"),
            ("arn:aws:amplify:eu-west-1:1:apps/d1", "amplify:apps", "d1"),
            (
                "arn:aws:amplify:eu-west-1:1:apps/d1/branches/main",
                "amplify:apps/branches",
                "main",
            ),
            (
                "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f",
                "logs:log-group",
                "f",
            ),
            ("arn:aws:iam::1:role/ops/etl", "iam:role", "etl"),
            // Nested types (NESTED_RESOURCE_TYPES), and a path that only looks nested.
            (
                "arn:aws:appmesh:eu-west-1:1:mesh/m1/virtualNode/vn3",
                "appmesh:mesh/virtualNode",
                "vn3",
            ),
            (
                "arn:aws:guardduty:eu-west-1:1:detector/5ab0/threatintelset/Example",
                "guardduty:detector/threatintelset",
                "Example",
            ),
            ("arn:aws:iam::1:role/a/b/etl", "iam:role", "etl"),
            (
                "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/web/50dc6c495c0c9188",
                "elasticloadbalancing:loadbalancer",
                "50dc6c495c0c9188",
            ),
        ];
        for (arn, kind, name) in cases {
            assert_eq!(resource_type_from_arn(arn).as_deref(), Some(kind), "{arn}");
            assert_eq!(resource_name(arn), name, "{arn}");
        }
        assert_eq!(resource_type_from_arn("not-an-arn"), None);
    }

    #[test]
    fn every_partition_by_region_prefix() {
        for (region, partition) in [
            ("eu-west-1", "aws"),
            ("us-east-1", "aws"),
            ("il-central-1", "aws"),
            ("mx-central-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-gov-east-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("us-isof-east-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
        ] {
            assert_eq!(partition_for_region(region), partition, "{region}");
        }
    }
}
