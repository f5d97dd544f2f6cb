//! The services' own tagging calls, for resource types the Resource Groups Tagging API reports
//! it cannot write (`FailedResourcesMap` or an error saying "not supported"), and for IAM roles,
//! which the API does not cover and which go straight to IAM.
//!
//! Each service is one file here and one variant of [`FallbackService`]; its file lists the SDK
//! calls it makes with their IAM actions ([`FallbackSpec`]). Adding one: a file, a variant, and
//! the arms the compiler then asks for in this module.

mod ecr;
mod iam;
mod redshift;
mod sqs;

pub(crate) use sqs::existing_queue_url as sqs_queue_url;

use super::permissions::IamCall;
use super::AwsClients;
use crate::act::StoreError;
use crate::catalog::Arn;
use crate::Tags;

/// Declares [`FallbackService`] and its [`ALL`](FallbackService::ALL) from one list, so that a
/// new variant is in `ALL` and every `match` on the service names the arm it lacks.
macro_rules! fallback_services {
    ($($(#[$doc:meta])* $variant:ident,)+) => {
        /// A service whose own tagging calls the tag store uses where the tagging API cannot
        /// write: one file of this module each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FallbackService {
            $($(#[$doc])* $variant,)+
        }

        impl FallbackService {
            /// Every service with a fallback.
            pub(crate) const ALL: &'static [Self] = &[$(Self::$variant,)+];
        }
    };
}

fallback_services! {
    /// SQS queues: `sqs:TagQueue`, `sqs:UntagQueue`, `sqs:ListQueueTags`.
    Sqs,
    /// Redshift clusters: `redshift:CreateTags`, `redshift:DeleteTags`, `redshift:DescribeTags`.
    Redshift,
    /// ECR repositories: `ecr:TagResource`, `ecr:UntagResource`, `ecr:ListTagsForResource`.
    Ecr,
    /// IAM roles: `iam:TagRole`, `iam:UntagRole`, `iam:ListRoleTags`.
    IamRole,
}

/// What a fallback's file declares about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FallbackSpec {
    /// The ARN service it covers, e.g. `sqs`.
    pub service: &'static str,
    /// The start of the ARN resource part it covers (`role/` for IAM); empty for all of them.
    pub(crate) resource_prefix: &'static str,
    /// True when its resources skip the tagging API altogether (it does not cover them).
    pub direct: bool,
    /// Every SDK call it makes, with the IAM actions each needs.
    pub calls: &'static [IamCall],
}

impl FallbackService {
    /// What its file declares.
    pub fn spec(self) -> &'static FallbackSpec {
        match self {
            Self::Sqs => &sqs::SPEC,
            Self::Redshift => &redshift::SPEC,
            Self::Ecr => &ecr::SPEC,
            Self::IamRole => &iam::SPEC,
        }
    }

    /// The fallback for `arn`, when its service has one.
    pub(crate) fn for_arn(arn: &str) -> Option<Self> {
        let parsed = Arn::parse(arn)?;
        Self::ALL.iter().copied().find(|service| {
            let spec = service.spec();
            spec.service == parsed.service && parsed.resource.starts_with(spec.resource_prefix)
        })
    }

    /// Every SDK call it makes, with the IAM actions each needs.
    pub fn calls(self) -> &'static [IamCall] {
        self.spec().calls
    }
}

/// Error codes meaning "no such resource": the resource has no tags to read.
const NOT_FOUND: &[&str] = &[
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ClusterNotFound",
    "ClusterNotFoundFault",
    "ResourceNotFound",
    "ResourceNotFoundFault",
    "RepositoryNotFoundException",
    "NoSuchEntity",
];

/// True for an error code meaning "no such resource".
fn not_found(code: Option<&str>) -> bool {
    code.is_some_and(|c| NOT_FOUND.contains(&c))
}

#[derive(Debug, Clone)]
pub(super) struct Fallback {
    sqs: aws_sdk_sqs::Client,
    redshift: aws_sdk_redshift::Client,
    ecr: aws_sdk_ecr::Client,
    iam: aws_sdk_iam::Client,
}

impl Fallback {
    pub(super) fn new(clients: &AwsClients) -> Self {
        Self {
            sqs: clients.sqs.clone(),
            redshift: clients.redshift.clone(),
            ecr: clients.ecr.clone(),
            iam: clients.iam.clone(),
        }
    }

    /// True for ARNs that skip the tagging API altogether (IAM roles).
    pub(super) fn direct(arn: &str) -> bool {
        FallbackService::for_arn(arn).is_some_and(|service| service.spec().direct)
    }

    /// The resource's tags; `None` when the service does not know it (or has no fallback).
    pub(super) async fn get(&self, arn: &str) -> Result<Option<Tags>, StoreError> {
        let Some(service) = FallbackService::for_arn(arn) else {
            return Ok(None);
        };
        match service {
            FallbackService::Sqs => sqs::get(&self.sqs, arn).await,
            FallbackService::Redshift => redshift::get(&self.redshift, arn).await,
            FallbackService::Ecr => ecr::get(&self.ecr, arn).await,
            FallbackService::IamRole => iam::get(&self.iam, arn).await,
        }
    }

    /// Sets `tags` on the resource through its service.
    pub(super) async fn put(&self, arn: &str, tags: &Tags) -> Result<(), StoreError> {
        match FallbackService::for_arn(arn).ok_or_else(|| unsupported(arn))? {
            FallbackService::Sqs => sqs::put(&self.sqs, arn, tags).await,
            FallbackService::Redshift => redshift::put(&self.redshift, arn, tags).await,
            FallbackService::Ecr => ecr::put(&self.ecr, arn, tags).await,
            FallbackService::IamRole => iam::put(&self.iam, arn, tags).await,
        }
    }

    /// Removes `keys` from the resource through its service.
    pub(super) async fn remove(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        match FallbackService::for_arn(arn).ok_or_else(|| unsupported(arn))? {
            FallbackService::Sqs => sqs::remove(&self.sqs, arn, keys).await,
            FallbackService::Redshift => redshift::remove(&self.redshift, arn, keys).await,
            FallbackService::Ecr => ecr::remove(&self.ecr, arn, keys).await,
            FallbackService::IamRole => iam::remove(&self.iam, arn, keys).await,
        }
    }
}

fn unsupported(arn: &str) -> StoreError {
    StoreError::permanent(
        "TagResources",
        format!("neither the tagging API nor a service fallback can tag {arn}"),
    )
    .with_code("UnsupportedResourceType")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_with_a_fallback() {
        assert_eq!(
            FallbackService::for_arn("arn:aws:sqs:eu-west-1:111122223333:q"),
            Some(FallbackService::Sqs)
        );
        assert_eq!(
            FallbackService::for_arn("arn:aws:iam::111122223333:role/ops/R"),
            Some(FallbackService::IamRole)
        );
        assert_eq!(
            FallbackService::for_arn("arn:aws:iam::111122223333:user/u"),
            None
        );
        assert_eq!(FallbackService::for_arn("arn:aws:s3:::b"), None);
        assert!(Fallback::direct("arn:aws:iam::111122223333:role/R"));
        assert!(!Fallback::direct(
            "arn:aws:ecr:eu-west-1:111122223333:repository/r"
        ));
    }
}
