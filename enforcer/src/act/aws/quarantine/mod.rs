//! Quarantine per resource type: reversible isolation, checked on the resource itself (each
//! kind's `prepare` answers "already in place" only from the resource, never from its tags) and
//! recorded in the enforcer's state table.
//!
//! | type | isolation | restored on release |
//! |---|---|---|
//! | `s3:bucket` | public access block on; a bucket policy statement denying all but the break-glass principals (and the enforcer) | the previous public access block; the statement removed (other statements kept) |
//! | `ec2:instance` | its security groups replaced by an isolation group (no rules; created per VPC) | the previous groups |
//! | `rds:db` | not publicly accessible | the previous setting |
//! | `lambda:function` | reserved concurrency 0 | the previous reserved concurrency (or none) |
//! | `iam:role` | the enforcer-owned managed deny policy attached (`ENFORCER_QUARANTINE_POLICY_ARN`, in the role's account) | the policy detached |
//!
//! Each kind is one file here and one variant of [`QuarantineKind`]; its file says what it does
//! and lists the SDK calls it makes with their IAM actions ([`KindSpec`]). Adding a kind: a file,
//! a variant, and the arms the compiler then asks for in this module.

mod ec2;
mod iam;
mod lambda;
mod rds;
mod s3;

use super::permissions::{IamCall, RecordTagging};
use super::AwsClients;
use crate::act::{Prepared, Quarantine, QuarantineRecord, QuarantineTarget, StoreError};

/// Declares [`QuarantineKind`] and its [`ALL`](QuarantineKind::ALL) from one list, so that a new
/// variant is in `ALL` and every `match` on the kind names the arm it lacks.
macro_rules! quarantine_kinds {
    ($($(#[$doc:meta])* $variant:ident,)+) => {
        /// A resource type an AWS quarantine exists for: one file of this module each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum QuarantineKind {
            $($(#[$doc])* $variant,)+
        }

        impl QuarantineKind {
            /// Every kind.
            pub(crate) const ALL: &'static [Self] = &[$(Self::$variant,)+];
        }
    };
}

quarantine_kinds! {
    /// `s3:bucket`: a deny statement and the public access block.
    S3Bucket,
    /// `ec2:instance`: an isolation security group.
    Ec2Instance,
    /// `rds:db`: not publicly accessible.
    RdsDb,
    /// `lambda:function`: reserved concurrency 0.
    LambdaFunction,
    /// `iam:role`: the enforcer-owned managed deny policy.
    IamRole,
}

/// What a quarantine kind's file declares about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    /// Its Resource Groups Tagging API type, e.g. `s3:bucket`.
    pub resource_type: &'static str,
    /// Every SDK call it makes (prepare, isolate, release), with the IAM actions each needs.
    pub calls: &'static [IamCall],
    /// The service's own tagging actions the tagging API needs to write and remove its record.
    pub(crate) record_tagging: RecordTagging,
}

impl QuarantineKind {
    /// What its file declares.
    pub fn spec(self) -> &'static KindSpec {
        match self {
            Self::S3Bucket => &s3::SPEC,
            Self::Ec2Instance => &ec2::SPEC,
            Self::RdsDb => &rds::SPEC,
            Self::LambdaFunction => &lambda::SPEC,
            Self::IamRole => &iam::SPEC,
        }
    }

    /// The kind for a Resource Groups Tagging API type, when there is one.
    pub fn of(resource_type: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.resource_type() == resource_type)
    }

    /// Its Resource Groups Tagging API type, e.g. `s3:bucket`.
    pub fn resource_type(self) -> &'static str {
        self.spec().resource_type
    }

    /// Every SDK call it makes, with the IAM actions each needs.
    pub fn calls(self) -> &'static [IamCall] {
        self.spec().calls
    }

    /// The service's own tagging actions its record needs.
    pub(crate) fn record_tagging(self) -> RecordTagging {
        self.spec().record_tagging
    }
}

/// Name of the per-VPC security group isolated instances get.
pub const ISOLATION_GROUP_NAME: &str = "enforcer-quarantine";
/// `Sid` of the bucket policy statement an S3 quarantine adds.
pub const DENY_STATEMENT_SID: &str = "EnforcerQuarantine";

/// Who a quarantine must never lock out.
#[derive(Debug, Clone, Default)]
pub struct QuarantineConfig {
    /// The policy's `[quarantine] break_glass_principals`.
    pub break_glass_principals: Vec<String>,
    /// The enforcer's own roles, so that it can release what it quarantined.
    pub enforcer_principals: Vec<String>,
    /// The enforcer-owned managed deny policy an IAM role quarantine attaches
    /// (`ENFORCER_QUARANTINE_POLICY_ARN`; the deployment creates it under the same path and name
    /// in every account, and the one in the role's account is attached). Without it IAM roles
    /// are not quarantined: the roles may attach this policy and no other.
    pub deny_policy_arn: Option<String>,
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

fn unsupported(resource_type: &str) -> StoreError {
    StoreError::permanent(
        "Quarantine",
        format!("no quarantine is defined for {resource_type} resources"),
    )
    .with_code("UnsupportedResourceType")
}

fn kind_of(resource_type: &str) -> Result<QuarantineKind, StoreError> {
    QuarantineKind::of(resource_type).ok_or_else(|| unsupported(resource_type))
}

impl Quarantine for AwsQuarantine {
    fn supports(&self, resource_type: &str) -> bool {
        QuarantineKind::of(resource_type).is_some()
    }

    async fn prepare(&self, target: &QuarantineTarget<'_>) -> Result<Prepared, StoreError> {
        let exempt = self.config.exempt_principals();
        match kind_of(target.resource_type)? {
            QuarantineKind::S3Bucket => s3::prepare(&self.s3, target, &exempt).await,
            QuarantineKind::Ec2Instance => ec2::prepare(&self.ec2, target).await,
            QuarantineKind::RdsDb => rds::prepare(&self.rds, target).await,
            QuarantineKind::LambdaFunction => lambda::prepare(&self.lambda, target).await,
            QuarantineKind::IamRole => {
                iam::prepare(
                    &self.iam,
                    target,
                    &exempt,
                    self.config.deny_policy_arn.as_deref(),
                )
                .await
            }
        }
    }

    async fn isolate(
        &self,
        target: &QuarantineTarget<'_>,
        record: &QuarantineRecord,
    ) -> Result<(), StoreError> {
        match kind_of(target.resource_type)? {
            QuarantineKind::S3Bucket => {
                s3::isolate(&self.s3, target, &self.config.exempt_principals()).await
            }
            QuarantineKind::Ec2Instance => ec2::isolate(&self.ec2, target, record).await,
            QuarantineKind::RdsDb => rds::isolate(&self.rds, target, record).await,
            QuarantineKind::LambdaFunction => lambda::isolate(&self.lambda, target).await,
            QuarantineKind::IamRole => iam::isolate(&self.iam, target, record).await,
        }
    }

    async fn release(
        &self,
        target: &QuarantineTarget<'_>,
        record: &QuarantineRecord,
    ) -> Result<(), StoreError> {
        match kind_of(&record.resource_type)? {
            QuarantineKind::S3Bucket => s3::release(&self.s3, target, record).await,
            QuarantineKind::Ec2Instance => ec2::release(&self.ec2, target, record).await,
            QuarantineKind::RdsDb => rds::release(&self.rds, target, record).await,
            QuarantineKind::LambdaFunction => lambda::release(&self.lambda, target, record).await,
            QuarantineKind::IamRole => iam::release(&self.iam, target, record).await,
        }
    }
}

/// The failure of a release whose restored state, read back, is not the record's: the release
/// is reported failed (the record stays open) so that it is retried or done by hand.
fn not_restored(what: &str, recorded: &str, found: &str) -> StoreError {
    StoreError::permanent(
        "Release",
        format!("{what} read back after release is {found}, not the recorded {recorded}"),
    )
    .with_code("NotVerified")
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
    fn each_kind_has_its_own_resource_type() {
        for kind in QuarantineKind::ALL {
            assert_eq!(QuarantineKind::of(kind.resource_type()), Some(*kind));
            assert!(
                crate::catalog::KNOWN_RESOURCE_TYPES.contains(&kind.resource_type()),
                "{kind:?}"
            );
        }
        assert_eq!(QuarantineKind::of("sqs:queue"), None);
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
            deny_policy_arn: None,
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
