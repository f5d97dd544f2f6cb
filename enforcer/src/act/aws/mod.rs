//! The AWS implementations of [`TagStore`](super::TagStore), [`Quarantine`](super::Quarantine)
//! and [`Notify`](super::Notify).
//!
//! SDK clients are built once ([`AwsClients`]) from one [`SdkConfig`] and passed in, so a Lambda
//! builds them at start and every event reuses them. Every client shares one HTTP client
//! ([`http_client`]: hyper with rustls on *ring*) and one retry policy ([`retry_config`]:
//! adaptive, so throttling slows the client down instead of failing it).
//!
//! [`AwsSettingsReader`] reads the protection settings of a resource (its own calls, in
//! [`settings`]).
//!
//! Per-service behaviour is typed: a [`QuarantineKind`] per quarantinable resource type and a
//! [`FallbackService`] per service whose own tagging calls stand in for the tagging API, each one
//! file carrying its own SDK calls. [`REQUIRED_IAM_ACTIONS`] gathers every SDK call made here and
//! the IAM actions it needs; the roles in `infra/` grant them.

mod fallback;
pub mod permissions;
mod quarantine;
pub mod settings;
mod sns;
mod tagging;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub(crate) use fallback::{sqs_queue_url, FallbackService};
pub use permissions::{required_actions, Backend, Scope, REMOVABLE_TAG_KEYS, REQUIRED_IAM_ACTIONS};
pub(crate) use quarantine::QuarantineKind;
pub use quarantine::{AwsQuarantine, QuarantineConfig, DENY_STATEMENT_SID, ISOLATION_GROUP_NAME};
pub use settings::AwsSettingsReader;
pub(crate) use settings::CALLS as SETTINGS_CALLS;
pub use sns::SnsNotify;
pub(crate) use tagging::TAG_RESOURCES_BATCH;
pub use tagging::{AwsTagStore, GET_RESOURCES_BATCH};

pub(crate) use crate::failure::error_code;
pub use crate::failure::store_error;

/// Attempts per call, the first included, before a retryable failure is reported.
pub const MAX_ATTEMPTS: u32 = 5;

/// The longest wait between two attempts (the SDK's default is 20 s; an event handler has a
/// deadline).
pub(crate) const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(5);

/// Every SDK client the enforcer uses, built once.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// Resource Groups Tagging API: reads and writes tags.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// SNS: alerts.
    pub sns: aws_sdk_sns::Client,
    /// S3: bucket quarantine.
    pub s3: aws_sdk_s3::Client,
    /// EC2: instance quarantine.
    pub ec2: aws_sdk_ec2::Client,
    /// RDS: database quarantine.
    pub rds: aws_sdk_rds::Client,
    /// Lambda: function quarantine.
    pub lambda: aws_sdk_lambda::Client,
    /// IAM: role quarantine and role tags.
    pub iam: aws_sdk_iam::Client,
    /// SQS: queue tags where the tagging API can't write them.
    pub sqs: aws_sdk_sqs::Client,
    /// Redshift: cluster tags where the tagging API can't write them.
    pub redshift: aws_sdk_redshift::Client,
    /// ECR: repository tags where the tagging API can't write them.
    pub ecr: aws_sdk_ecr::Client,
}

impl AwsClients {
    /// Every client from one configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            s3: aws_sdk_s3::Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            redshift: aws_sdk_redshift::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
        }
    }
}

/// The one HTTP client all SDK clients share: hyper 1 with rustls on *ring* and the platform's
/// trusted roots.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Adaptive retries: throttling and transient errors (5xx, timeouts) are retried with
/// exponential backoff (at most [`MAX_BACKOFF`]) and a client-side rate limiter that slows every
/// later call down once the service throttles, [`MAX_ATTEMPTS`] attempts in all.
pub fn retry_config() -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_max_backoff(MAX_BACKOFF)
}

/// The configuration from the standard sources: the credential chain (environment, profile,
/// SSO, web identity, ECS, IMDS), `AWS_REGION`, `AWS_ENDPOINT_URL`, with [`http_client`] and
/// [`retry_config`].
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry_config())
        .load()
        .await
}

/// The last `/`- or `:`-separated segment of an ARN's resource part.
pub(crate) fn arn_name(arn: &str) -> &str {
    crate::catalog::resource_name(arn)
}
