//! Quarantine per resource type: reversible isolation, recorded on the resource.
//!
//! | type | isolation | restored on release |
//! |---|---|---|
//! | `s3:bucket` | public access block on; a bucket policy statement denying all but the break-glass principals (and the enforcer) | the previous public access block; the statement removed (other statements kept) |
//! | `ec2:instance` | its security groups replaced by an isolation group (no rules; created per VPC) | the previous groups |
//! | `rds:db` | not publicly accessible | the previous setting |
//! | `lambda:function` | reserved concurrency 0 | the previous reserved concurrency (or none) |
//! | `iam:role` | a deny-all inline policy | the inline policy removed |

mod ec2;
mod iam;
mod lambda;
mod rds;
mod s3;

use super::AwsClients;
use crate::act::{Prepared, Quarantine, QuarantineRecord, QuarantineTarget, StoreError};

/// Name of the per-VPC security group isolated instances get.
pub const ISOLATION_GROUP_NAME: &str = "enforcer-quarantine";
/// `Sid` of the bucket policy statement an S3 quarantine adds.
pub const DENY_STATEMENT_SID: &str = "EnforcerQuarantine";
/// Name of the inline policy an IAM role quarantine adds.
pub const DENY_POLICY_NAME: &str = "EnforcerQuarantineDenyAll";

/// Who a quarantine must never lock out.
#[derive(Debug, Clone, Default)]
pub struct QuarantineConfig {
    /// The policy's `[quarantine] break_glass_principals`.
    pub break_glass_principals: Vec<String>,
    /// The enforcer's own roles, so that it can release what it quarantined.
    pub enforcer_principals: Vec<String>,
}

impl QuarantineConfig {
    /// IAM role and user ARNs exempt from an S3 deny statement.
    fn exempt_principals(&self) -> Vec<String> {
        let mut exempt: Vec<String> = Vec::new();
        for principal in self
            .break_glass_principals
            .iter()
            .chain(&self.enforcer_principals)
        {
            let is_iam = crate::catalog::Arn::parse(principal).is_some_and(|arn| {
                arn.service == "iam"
                    && (arn.resource.starts_with("role/") || arn.resource.starts_with("user/"))
            });
            if is_iam && !exempt.contains(principal) {
                exempt.push(principal.clone());
            }
        }
        exempt
    }
}

/// The AWS [`Quarantine`].
#[derive(Debug, Clone)]
pub struct AwsQuarantine {
    s3: aws_sdk_s3::Client,
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    lambda: aws_sdk_lambda::Client,
    iam: aws_sdk_iam::Client,
    config: QuarantineConfig,
}

impl AwsQuarantine {
    /// A quarantine over the given clients.
    pub fn new(clients: &AwsClients, config: QuarantineConfig) -> Self {
        Self {
            s3: clients.s3.clone(),
            ec2: clients.ec2.clone(),
            rds: clients.rds.clone(),
            lambda: clients.lambda.clone(),
            iam: clients.iam.clone(),
            config,
        }
    }
}

/// The resource types an AWS quarantine exists for.
pub const QUARANTINE_TYPES: &[&str] = &[
    "s3:bucket",
    "ec2:instance",
    "rds:db",
    "lambda:function",
    "iam:role",
];

fn unsupported(resource_type: &str) -> StoreError {
    StoreError::permanent(
        "Quarantine",
        format!("no quarantine is defined for {resource_type} resources"),
    )
    .with_code("UnsupportedResourceType")
}

impl Quarantine for AwsQuarantine {
    fn supports(&self, resource_type: &str) -> bool {
        QUARANTINE_TYPES.contains(&resource_type)
    }

    async fn prepare(&self, target: &QuarantineTarget<'_>) -> Result<Prepared, StoreError> {
        let exempt = self.config.exempt_principals();
        match target.resource_type {
            "s3:bucket" => s3::prepare(&self.s3, target, &exempt).await,
            "ec2:instance" => ec2::prepare(&self.ec2, target).await,
            "rds:db" => rds::prepare(&self.rds, target).await,
            "lambda:function" => lambda::prepare(&self.lambda, target).await,
            "iam:role" => {
                if exempt.iter().any(|p| p == target.arn) {
                    return Err(StoreError::permanent(
                        "Quarantine",
                        "refusing to quarantine a break-glass principal or the enforcer's own role",
                    ));
                }
                iam::prepare(&self.iam, target).await
            }
            other => Err(unsupported(other)),
        }
    }

    async fn isolate(
        &self,
        target: &QuarantineTarget<'_>,
        record: &QuarantineRecord,
    ) -> Result<(), StoreError> {
        match target.resource_type {
            "s3:bucket" => s3::isolate(&self.s3, target, &self.config.exempt_principals()).await,
            "ec2:instance" => ec2::isolate(&self.ec2, target, record).await,
            "rds:db" => rds::isolate(&self.rds, target, record).await,
            "lambda:function" => lambda::isolate(&self.lambda, target).await,
            "iam:role" => iam::isolate(&self.iam, target).await,
            other => Err(unsupported(other)),
        }
    }

    async fn release(
        &self,
        target: &QuarantineTarget<'_>,
        record: &QuarantineRecord,
    ) -> Result<(), StoreError> {
        match record.resource_type.as_str() {
            "s3:bucket" => s3::release(&self.s3, target, record).await,
            "ec2:instance" => ec2::release(&self.ec2, target, record).await,
            "rds:db" => rds::release(&self.rds, target, record).await,
            "lambda:function" => lambda::release(&self.lambda, target, record).await,
            "iam:role" => iam::release(&self.iam, target).await,
            other => Err(unsupported(other)),
        }
    }
}

/// A value the record must hold, or a permanent error naming it.
fn state<'r>(record: &'r QuarantineRecord, key: &str) -> Result<&'r str, StoreError> {
    record.state.get(key).map(String::as_str).ok_or_else(|| {
        StoreError::permanent(
            "Release",
            format!("the quarantine record has no `{key}`; restore the resource by hand"),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::policy::{compile_sources, Level, SourceFile};

    fn compile(text: &str) -> (crate::policy::PolicySet, Vec<crate::policy::Diagnostic>) {
        let source = SourceFile {
            path: "p.toml".to_owned(),
            text: Arc::new(text.to_owned()),
        };
        compile_sources(&[source], crate::catalog::KNOWN_RESOURCE_TYPES)
    }

    #[test]
    fn break_glass_principals_come_from_the_policy() {
        let (set, diagnostics) = compile(
            "[quarantine]\nbreak_glass_principals = [\"arn:aws:iam::111122223333:role/BreakGlass\", \"arn:aws:iam::111122223333:user/oncall\"]\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(set.break_glass_principals.len(), 2);
        let config = QuarantineConfig {
            break_glass_principals: set.break_glass_principals,
            enforcer_principals: vec![
                "arn:aws:iam::111122223333:role/TagEnforcer".to_owned(),
                "arn:aws:sts::111122223333:assumed-role/TagEnforcer/s".to_owned(),
            ],
        };
        // Session ARNs cannot appear in aws:PrincipalArn; role and user ARNs are kept once each.
        assert_eq!(config.exempt_principals().len(), 3);
    }

    #[test]
    fn a_break_glass_entry_that_is_no_principal_is_an_error() {
        let (_, diagnostics) =
            compile("[quarantine]\nbreak_glass_principals = [\"arn:aws:s3:::bucket\"]\n");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].level, Level::Error);
        assert_eq!(diagnostics[0].code, "policy::invalid-principal");
    }
}
